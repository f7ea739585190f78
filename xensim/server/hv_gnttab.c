/* SPDX-License-Identifier: MIT */
/*
 * hv_gnttab.c — grant mapping, unmapping and copy validation against guests' v1 grant tables.
 *
 * The guest writes its grant entries in shared memory; like Xen (_set_status_v1) the machine
 * validates and pins an entry with one cmpxchg on its 32-bit {flags, domid} word, setting
 * GTF_reading (and GTF_writing for writable maps) while any mapping exists, so a guest's
 * gnttab_end_foreign_access_ref() cmpxchg fails exactly when Xen's would.
 *
 * errno choices (Linux gntdev + libxengnttab): any per-grant failure of a map makes mmap fail
 * with EINVAL (gntdev_map_grant_pages turns every non-okay status into -EINVAL); a count of 0
 * or above 65,536 is EINVAL (gntdev_test_page_count); a grant-copy segment crossing a 4 KiB
 * page on a grant side, or with no grant side, fails the whole call with EINVAL before any
 * copy (gntdev_grant_copy_seg); per-segment statuses are Xen's: GNTST_bad_gntref,
 * GNTST_bad_domain, GNTST_general_error (wrong domid, not permitted, read-only for a write),
 * GNTST_bad_page (frame outside the guest's RAM).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv_internal.h"

/* The {flags, domid} pair of a v1 entry as the one word Xen cmpxchg's. */
static uint32_t *entry_word(struct hv_domain *d, uint32_t ref)
{
	return (uint32_t *)&d->gnt[ref];
}

static int16_t check_word(uint32_t w, uint32_t mapper, bool write)
{
	uint16_t flags = (uint16_t)w, domid = (uint16_t)(w >> 16);
	uint16_t mask = GTF_type_mask | (write ? GTF_readonly : 0);

	if ((flags & mask) != GTF_permit_access || domid != mapper)
		return GNTST_general_error;
	return GNTST_okay;
}

static int16_t frame_of(struct hv_domain *d, uint32_t ref, uint64_t *frame)
{
	/* Pairs with the guest's release store of flags after it wrote frame (wmb). */
	uint32_t f = __atomic_load_n(&d->gnt[ref].frame, __ATOMIC_ACQUIRE);

	if ((uint64_t)f >= d->ram_bytes / XENSIM_PAGE_SIZE)
		return GNTST_bad_page;
	*frame = f;
	return GNTST_okay;
}

/* Validate and pin one grant for a mapping. */
static int16_t pin(struct hv_domain *d, uint32_t ref, uint32_t mapper, bool write, uint64_t *frame)
{
	uint32_t *word, old, new;
	int16_t st;

	if (ref >= XENSIM_NR_GRANTS)
		return GNTST_bad_gntref;
	word = entry_word(d, ref);
	old = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	do {
		st = check_word(old, mapper, write);
		if (st != GNTST_okay)
			return st;
		new = old | GTF_reading | (write ? GTF_writing : 0);
	} while (!__atomic_compare_exchange_n(word, &old, new, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	d->pins_rd[ref]++;
	if (write)
		d->pins_wr[ref]++;
	st = frame_of(d, ref, frame);
	return st;
}

static void unpin(struct hv_domain *d, uint32_t ref, bool write)
{
	uint32_t *word = entry_word(d, ref);

	if (write && d->pins_wr[ref] && !--d->pins_wr[ref])
		__atomic_fetch_and(word, ~(uint32_t)GTF_writing, __ATOMIC_RELEASE);
	if (d->pins_rd[ref] && !--d->pins_rd[ref])
		__atomic_fetch_and(word, ~(uint32_t)GTF_reading, __ATOMIC_RELEASE);
}

int reply_dom_info(struct hv_server *srv, const struct hv_dom_ref *ref, struct hv_dom_info *out,
		   struct hv_reply *r)
{
	struct hv_domain *d = domain_get(srv, ref->domid);

	if (!d || d->ram_fd < 0)
		return -ESRCH;
	out->instance = d->instance;
	out->ram_bytes = d->ram_bytes;
	if (ref->known_instance != d->instance)
		reply_fd(r, d->ram_fd);
	return 0;
}

static void mapping_free(struct gnt_mapping *m)
{
	uint32_t i;

	if (m->doms)
		for (i = 0; i < m->ndoms; i++)
			if (m->doms[i])
				domain_put(m->doms[i]);
	free(m->doms);
	free(m->dom_index);
	free(m->refs);
	free(m);
}

static struct hv_domain *ref_dom(const struct gnt_mapping *m, uint32_t i)
{
	return m->doms[m->dom_index ? m->dom_index[i] : 0];
}

/* Undo the pins of refs [0, n). */
static void unpin_range(struct gnt_mapping *m, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		unpin(ref_dom(m, i), m->refs[i], m->writable);
}

/* Parse the request into @m (refs, doms). Returns 0 or -errno. */
static int parse_map(struct hv_client *c, const void *p, size_t len, struct gnt_mapping *m,
		     const struct hv_dom_ref **doms)
{
	const struct hv_gnt_map *req = p;
	size_t need;
	uint32_t i;

	if (!req->count || req->count > HV_MAX_MAP_PAGES || !req->ndoms ||
	    req->ndoms > req->count || !req->vaddr)
		return -EINVAL;
	need = sizeof(*req) + req->ndoms * sizeof(struct hv_dom_ref) + req->count * 4ULL +
	       (req->ndoms > 1 ? req->count * 2ULL : 0);
	if (len < need)
		return -EINVAL;
	*doms = (const void *)(req + 1);
	m->vaddr = req->vaddr;
	m->count = req->count;
	m->writable = req->prot & PROT_WRITE;
	m->ndoms = req->ndoms;
	m->refs = malloc(m->count * sizeof(*m->refs));
	m->doms = calloc(m->ndoms, sizeof(*m->doms));
	if (!m->refs || !m->doms)
		return -ENOMEM;
	memcpy(m->refs, *doms + m->ndoms, m->count * sizeof(*m->refs));
	if (m->ndoms > 1) {
		m->dom_index = malloc(m->count * sizeof(*m->dom_index));
		if (!m->dom_index)
			return -ENOMEM;
		memcpy(m->dom_index, (const uint8_t *)(*doms + m->ndoms) + m->count * 4ULL,
		       m->count * sizeof(*m->dom_index));
		for (i = 0; i < m->count; i++)
			if (m->dom_index[i] >= m->ndoms)
				return -EINVAL;
	}
	return 0;
}

static int check_notify(struct hv_client *c, const struct hv_gnt_map *req, struct gnt_mapping *m)
{
	m->notify_flags = req->notify_flags;
	m->notify_offset = req->notify_offset;
	m->notify_port = req->notify_port;
	/* gntdev: a clear-byte notification needs a writable mapping
	 * (IOCTL_GNTDEV_SET_UNMAP_NOTIFY). */
	if ((m->notify_flags & HV_GNT_MAP_NOTIFY_BYTE) &&
	    (!m->writable || m->notify_offset >= m->count * XENSIM_PAGE_SIZE))
		return -EINVAL;
	return 0;
}

/* Pin every ref and fill the reply's info + frames. */
static int map_pin_all(struct hv_client *c, struct gnt_mapping *m, const struct hv_dom_ref *doms,
		       struct hv_reply *r)
{
	struct hv_dom_info *info = reply_put(r, m->ndoms * sizeof(*info));
	uint64_t *frames = reply_put(r, m->count * sizeof(*frames));
	uint32_t i;
	int rc;

	if (!info || !frames)
		return -ENOMEM;
	info = (void *)r->buf; /* reply_put may have moved the buffer */
	frames = (void *)(r->buf + m->ndoms * sizeof(*info));
	for (i = 0; i < m->ndoms; i++) {
		/* A dead or unknown domain: GNTST_bad_domain, hence EINVAL from gntdev. */
		if (reply_dom_info(c->srv, &doms[i], &info[i], r) < 0)
			return -EINVAL;
		m->doms[i] = domain_get(c->srv, doms[i].domid);
		domain_ref(m->doms[i]);
		m->doms[i]->cnt.gnt_map_calls++;
	}
	for (i = 0; i < m->count; i++) {
		rc = pin(ref_dom(m, i), m->refs[i], c->domid, m->writable, &frames[i]);
		if (rc != GNTST_okay) {
			unpin_range(m, rc == GNTST_bad_page ? i + 1 : i);
			return -EINVAL;
		}
	}
	return 0;
}

void h_gnt_map(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	struct gnt_mapping *m = calloc(1, sizeof(*m));
	const struct hv_dom_ref *doms;
	uint32_t i, err;
	int rc;

	if (!m) {
		r->rc = -ENOMEM;
		return;
	}
	rc = parse_map(c, p, len, m, &doms);
	if (!rc)
		rc = check_notify(c, p, m);
	if (!rc && hmap_get(&c->gmaps, m->vaddr))
		rc = -EINVAL;
	if (!rc && (err = (uint32_t)fault_hit(c->srv, XENSIM_OP_GNT_MAP))) {
		rc = -(int)err;
		for (i = 0; i < m->ndoms; i++) {
			struct hv_domain *d = domain_get(c->srv, doms[i].domid);

			if (d)
				d->cnt.gnt_map_calls++;
		}
	}
	if (!rc)
		rc = map_pin_all(c, m, doms, r);
	if (!rc)
		rc = hmap_put(&c->gmaps, m->vaddr, m);
	if (rc) {
		mapping_free(m);
		r->rc = rc;
		r->nfds = 0;
		r->len = 0;
		return;
	}
	for (i = 0; i < m->count; i++) {
		ref_dom(m, i)->cnt.gnt_map_pages++;
		ref_dom(m, i)->cnt.gnt_live_pages++;
	}
}

static void notify_on_unmap(struct hv_client *c, struct gnt_mapping *m)
{
	if (m->notify_flags & HV_GNT_MAP_NOTIFY_BYTE) {
		uint32_t idx = m->notify_offset / XENSIM_PAGE_SIZE;
		struct hv_domain *d = ref_dom(m, idx);
		uint64_t frame = d->gnt[m->refs[idx]].frame;
		uint8_t zero = 0;

		/* The kernel clears the byte through its own mapping; we write the RAM memfd. */
		if (frame < d->ram_bytes / XENSIM_PAGE_SIZE &&
		    pwrite(d->ram_fd, &zero, 1,
			   (off_t)(frame * XENSIM_PAGE_SIZE +
				   m->notify_offset % XENSIM_PAGE_SIZE)) < 0) {
			/* nothing to report to: gntdev ignores this too */
		}
	}
	if (m->notify_flags & HV_GNT_MAP_NOTIFY_EVENT) {
		struct hv_domain *self = domain_get(c->srv, c->domid);

		if (self && m->notify_port < self->nports && self->ports[m->notify_port])
			evtchn_send(c->srv, self->ports[m->notify_port]);
	}
}

static void release_mapping(struct hv_client *c, struct gnt_mapping *m)
{
	uint32_t i;

	notify_on_unmap(c, m);
	unpin_range(m, m->count);
	for (i = 0; i < m->ndoms; i++)
		m->doms[i]->cnt.gnt_unmap_calls++;
	for (i = 0; i < m->count; i++) {
		ref_dom(m, i)->cnt.gnt_unmap_pages++;
		ref_dom(m, i)->cnt.gnt_live_pages--;
	}
	mapping_free(m);
}

void h_gnt_unmap(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_gnt_unmap *req = p;
	struct gnt_mapping *m = hmap_get(&c->gmaps, req->vaddr);
	int err;

	/* libxengnttab: GET_OFFSET_FOR_VADDR finds no mapping, or its count differs: EINVAL. */
	if (!m || m->count != req->count) {
		r->rc = -EINVAL;
		return;
	}
	err = fault_hit(c->srv, XENSIM_OP_GNT_UNMAP);
	if (err) {
		r->rc = -err;
		return;
	}
	hmap_del(&c->gmaps, req->vaddr);
	release_mapping(c, m);
}

void gnt_release_all(struct hv_client *c)
{
	while (c->gmaps.n) {
		size_t pos = 0;
		long i = hmap_next(&c->gmaps, &pos);
		struct gnt_mapping *m = c->gmaps.slots[i].val;

		hmap_del(&c->gmaps, m->vaddr);
		release_mapping(c, m);
	}
	hmap_free(&c->gmaps);
}

/* ---- grant copy ---- */

static int16_t copy_check(struct hv_server *srv, struct hv_domain *d, uint32_t ref, uint32_t mapper,
			  bool write, uint64_t *frame)
{
	int16_t st;

	if (!d)
		return GNTST_bad_domain;
	if (ref >= XENSIM_NR_GRANTS)
		return GNTST_bad_gntref;
	st = check_word(__atomic_load_n(entry_word(d, ref), __ATOMIC_ACQUIRE), mapper, write);
	if (st == GNTST_okay)
		st = frame_of(d, ref, frame);
	return st;
}

static bool copy_seg_valid(const struct hv_copy_seg *s, uint32_t ndoms)
{
	if (!(s->flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)))
		return false;
	if ((s->flags & GNTCOPY_source_gref) &&
	    ((uint32_t)s->src_off + s->len > XENSIM_PAGE_SIZE || s->src_dom >= ndoms))
		return false;
	if ((s->flags & GNTCOPY_dest_gref) &&
	    ((uint32_t)s->dst_off + s->len > XENSIM_PAGE_SIZE || s->dst_dom >= ndoms))
		return false;
	return true;
}

static void copy_one(struct hv_client *c, struct hv_domain **d, const struct hv_copy_seg *s,
		     struct hv_copy_res *res)
{
	int16_t st = GNTST_okay;

	if (s->flags & GNTCOPY_source_gref)
		st = copy_check(c->srv, d[s->src_dom], s->src_ref, c->domid, false,
				&res->src_frame);
	if (st == GNTST_okay && (s->flags & GNTCOPY_dest_gref))
		st = copy_check(c->srv, d[s->dst_dom], s->dst_ref, c->domid, true, &res->dst_frame);
	res->status = st;
	if (s->flags & GNTCOPY_source_gref && d[s->src_dom]) {
		d[s->src_dom]->cnt.gnt_copy_segs++;
		if (st == GNTST_okay)
			d[s->src_dom]->cnt.gnt_copy_bytes += s->len;
	} else if (s->flags & GNTCOPY_dest_gref && d[s->dst_dom]) {
		d[s->dst_dom]->cnt.gnt_copy_segs++;
		if (st == GNTST_okay)
			d[s->dst_dom]->cnt.gnt_copy_bytes += s->len;
	}
}

static int copy_all(struct hv_client *c, const struct hv_gnt_copy *req,
		    const struct hv_dom_ref *doms, const struct hv_copy_seg *segs,
		    struct hv_reply *r)
{
	struct hv_domain *d[64] = { 0 };
	struct hv_dom_info *info;
	struct hv_copy_res *res;
	uint32_t i;
	int err;

	for (i = 0; i < req->count; i++)
		if (!copy_seg_valid(&segs[i], req->ndoms))
			return -EINVAL;
	info = reply_put(r, req->ndoms * sizeof(*info));
	res = reply_put(r, req->count * sizeof(*res));
	if (!info || !res)
		return -ENOMEM;
	info = (void *)r->buf;
	res = (void *)(r->buf + req->ndoms * sizeof(*info));
	for (i = 0; i < req->ndoms; i++) {
		if (reply_dom_info(c->srv, &doms[i], &info[i], r) == 0)
			d[i] = domain_get(c->srv, doms[i].domid);
		if (d[i])
			d[i]->cnt.gnt_copy_calls++;
	}
	err = fault_hit(c->srv, XENSIM_OP_GNT_COPY);
	if (err)
		return -err;
	for (i = 0; i < req->count; i++)
		copy_one(c, d, &segs[i], &res[i]);
	return 0;
}

void h_gnt_copy(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_gnt_copy *req = p;
	const struct hv_dom_ref *doms = (const void *)(req + 1);
	const struct hv_copy_seg *segs = (const void *)(doms + req->ndoms);

	if (req->ndoms > 64 ||
	    len < sizeof(*req) + req->ndoms * sizeof(*doms) + (size_t)req->count * sizeof(*segs)) {
		r->rc = -EINVAL;
		return;
	}
	r->rc = copy_all(c, req, doms, segs, r);
	if (r->rc) {
		r->len = 0;
		r->nfds = 0;
	}
}

void h_gnt_end_busy(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_domid_arg *a = p;
	struct hv_domain *d = domain_any(c->srv, a->domid);

	if (!d) {
		r->rc = -ESRCH;
		return;
	}
	d->cnt.gnt_end_busy++;
}
