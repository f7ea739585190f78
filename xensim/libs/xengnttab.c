/* SPDX-License-Identifier: MIT */
/*
 * xengnttab.c — xensim's drop-in libxengnttab.so.1.
 *
 * A map is what gntdev does, in two crossings: one request to the machine (validation, pins,
 * counters; the IOCTL_GNTDEV_MAP_GRANT_REF + grant-map hypercall of real Xen) and real mmap()s
 * of the granting domain's RAM memfd with exactly the requested protection: one mmap when the
 * frames are one contiguous run (the usual case), else one per run into a range reserved for
 * them. The machine knows a mapping by a per-handle key, not its address, so the address can
 * be chosen after the frames are known. An unmap needs the exact
 * start and count of a map (EINVAL otherwise), then tells the machine and munmap()s.
 * A grant copy is one request validating every segment, then memcpy() through this handle's
 * cached mapping of the domain's RAM. The xengntshr_* and dmabuf functions are not modelled.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xengnttab.h>

#include "dropin.h"
#include "hmap.h"

#define PAGE	      4096u
#define MAX_COPY_DOMS 64u

struct xengntdev_handle {
	struct hvc *c;
	pthread_mutex_t lock; /* maps and ram, across the request and the mmaps */
	struct ram_cache ram;
	struct hmap maps;  /* start address -> key << MAP_KEY_SHIFT | page count */
	uint64_t next_key; /* keys of mappings for the machine: 1, 2, ... */
};
#define MAP_KEY_SHIFT 20 /* > log2(HV_MAX_MAP_PAGES) */

DROPIN_EXPORT xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	xengnttab_handle *h = DROPIN_OPEN(xengnttab_handle);

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

DROPIN_EXPORT int xengnttab_close(xengnttab_handle *h)
{
	if (!h)
		return 0;
	/* Like closing the gntdev fd: existing mappings stay mapped in this process. */
	hvc_close(h->c);
	ram_cache_free(&h->ram);
	hmap_free(&h->maps);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

DROPIN_EXPORT int xengnttab_fd(xengnttab_handle *h)
{
	return h->c->fd;
}

DROPIN_EXPORT int xengnttab_set_max_grants(xengnttab_handle *h, uint32_t nr_grants)
{
	return 0; /* modern gntdev ignores it too */
}

/* Distinct domains of a request: doms[] plus, per ref, its index. */
struct dom_table {
	struct hv_dom_ref *doms;
	uint16_t *index;
	uint32_t n;
};

static int dom_table_build(struct dom_table *t, struct ram_cache *ram, uint32_t count,
			   const uint32_t *domids, uint32_t max)
{
	uint32_t i, j;

	t->doms = calloc(count < max ? count : max, sizeof(*t->doms));
	t->index = calloc(count, sizeof(*t->index));
	if (!t->doms || !t->index)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		for (j = 0; j < t->n && t->doms[j].domid != domids[i]; j++)
			;
		if (j == t->n) {
			if (t->n == max)
				return -EINVAL;
			t->doms[t->n].domid = domids[i];
			t->doms[t->n].known_instance = ram_cache_known(ram, domids[i]);
			t->n++;
		}
		t->index[i] = (uint16_t)j;
	}
	return 0;
}

static void dom_table_free(struct dom_table *t)
{
	free(t->doms);
	free(t->index);
}

/* Bring the RAM cache up to date from a reply; fds come in doms[] order, for stale ones. */
static int absorb_fds(struct ram_cache *ram, const struct dom_table *t,
		      const struct hv_dom_info *info, struct hvc_call *call)
{
	int next = 0, rc = 0;
	uint32_t i;

	for (i = 0; i < t->n; i++) {
		int fd = -1;

		if (info[i].instance != t->doms[i].known_instance && next < call->nfds)
			fd = call->fds[next++];
		if (!ram_cache_update(ram, t->doms[i].domid, &info[i], fd))
			rc = -EIO;
	}
	while (next < call->nfds)
		close(call->fds[next++]);
	return rc;
}

static int map_frames(xengnttab_handle *h, uint8_t *base, const struct dom_table *t,
		      const uint64_t *frames, uint32_t count, int prot)
{
	uint32_t i = 0;

	while (i < count) {
		struct ram_entry *e = ram_cache_find(&h->ram, t->doms[t->index[i]].domid);
		uint32_t n = 1;
		int rc;

		/* Coalesce a run of contiguous frames of one domain into one mmap. */
		while (i + n < count && t->index[i + n] == t->index[i] &&
		       frames[i + n] == frames[i] + n)
			n++;
		if (!e)
			return -EIO;
		rc = map_run(base + (size_t)i * PAGE, (size_t)n * PAGE, prot, e->fd,
			     frames[i] * PAGE);
		if (rc)
			return rc;
		i += n;
	}
	return 0;
}

static int rpc_unmap(xengnttab_handle *h, uint64_t key, uint32_t count)
{
	struct hv_gnt_unmap req = { .vaddr = key, .count = count };

	return hvc_simple(h->c, HV_GNT_UNMAP, &req, sizeof(req), NULL, 0);
}

struct map_args {
	uint32_t count;
	const uint32_t *domids;
	const uint32_t *refs;
	int prot;
	uint32_t notify_flags, notify_offset, notify_port;
};

static int map_rpc(xengnttab_handle *h, struct map_args *a, uint64_t key, const struct dom_table *t,
		   void *rep, size_t rep_len)
{
	struct hv_gnt_map req = {
		.vaddr = key,
		.count = a->count,
		.prot = (uint32_t)a->prot,
		.ndoms = t->n,
		.notify_flags = a->notify_flags,
		.notify_offset = a->notify_offset,
		.notify_port = a->notify_port,
	};
	struct iovec iov[4] = {
		{ &req, sizeof(req) },
		{ t->doms, t->n * sizeof(*t->doms) },
		{ (void *)a->refs, a->count * sizeof(uint32_t) },
		{ t->index, a->count * sizeof(uint16_t) },
	};
	struct hvc_call call = { .op = HV_GNT_MAP,
				 .iov = iov,
				 .niov = t->n > 1 ? 4 : 3,
				 .rep = rep,
				 .rep_cap = rep_len };
	int rc = hvc_call(h->c, &call);

	if (rc >= 0 && call.rep_len != rep_len)
		rc = -EPROTO;
	if (rc >= 0)
		rc = absorb_fds(&h->ram, t, rep, &call);
	else
		while (call.nfds)
			close(call.fds[--call.nfds]);
	return rc;
}

/* Map the frames the machine returned: one mmap for a single run, else reserve and fill. */
static int map_all(xengnttab_handle *h, const struct dom_table *t, const uint64_t *frames,
		   uint32_t count, int prot, uint8_t **base)
{
	size_t len = (size_t)count * PAGE;
	struct ram_entry *e = ram_cache_find(&h->ram, t->doms[t->index[0]].domid);
	uint32_t n = 1;
	int rc;

	while (n < count && t->index[n] == t->index[0] && frames[n] == frames[0] + n)
		n++;
	if (!e)
		return -EIO;
	if (n == count) {
		void *p = mmap(NULL, len, prot, MAP_SHARED, e->fd, (off_t)(frames[0] * PAGE));

		if (p == MAP_FAILED)
			return -errno;
		*base = p;
		return 0;
	}
	*base = va_reserve(len);
	if (!*base)
		return -ENOMEM;
	rc = map_frames(h, *base, t, frames, count, prot);
	if (rc) {
		munmap(*base, len);
		*base = NULL;
	}
	return rc;
}

static void *map_locked(xengnttab_handle *h, struct map_args *a)
{
	struct dom_table t = { 0 };
	size_t info_len, len = (size_t)a->count * PAGE;
	uint8_t *base = NULL, *rep = NULL;
	uint64_t key = ++h->next_key;
	int rc;

	rc = dom_table_build(&t, &h->ram, a->count, a->domids, a->count);
	info_len = t.n * sizeof(struct hv_dom_info);
	if (!rc) {
		rep = malloc(info_len + a->count * sizeof(uint64_t));
		rc = rep ? 0 : -ENOMEM;
	}
	if (!rc)
		rc = map_rpc(h, a, key, &t, rep, info_len + a->count * sizeof(uint64_t));
	if (!rc) {
		rc = map_all(h, &t, (uint64_t *)(rep + info_len), a->count, a->prot, &base);
		if (rc)
			rpc_unmap(h, key, a->count);
	}
	if (!rc && hmap_put(&h->maps, (uintptr_t)base,
			    (void *)(uintptr_t)(key << MAP_KEY_SHIFT | a->count)) < 0) {
		rpc_unmap(h, key, a->count);
		rc = -ENOMEM;
	}
	if (rc && base)
		munmap(base, len);
	dom_table_free(&t);
	free(rep);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	return base;
}

static void *map_common(xengnttab_handle *h, struct map_args *a)
{
	void *p;
	int err;

	/* gntdev_test_page_count(): 0 or more than the module's limit is EINVAL. */
	if (!a->count || a->count > HV_MAX_MAP_PAGES) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&h->lock);
	p = map_locked(h, a);
	err = errno;
	pthread_mutex_unlock(&h->lock);
	errno = err;
	return p;
}

DROPIN_EXPORT void *xengnttab_map_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t *domids,
					     uint32_t *refs, int prot)
{
	struct map_args a = { .count = count, .domids = domids, .refs = refs, .prot = prot };

	return map_common(h, &a);
}

DROPIN_EXPORT void *xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count,
						    uint32_t domid, uint32_t *refs, int prot)
{
	uint32_t *domids, i;
	void *p;

	if (!count || count > HV_MAX_MAP_PAGES) {
		errno = EINVAL;
		return NULL;
	}
	domids = malloc(count * sizeof(*domids));
	if (!domids)
		return NULL;
	for (i = 0; i < count; i++)
		domids[i] = domid;
	p = xengnttab_map_grant_refs(h, count, domids, refs, prot);
	i = (uint32_t)errno;
	free(domids);
	errno = (int)i;
	return p;
}

DROPIN_EXPORT void *xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t domid, uint32_t ref,
					    int prot)
{
	return xengnttab_map_grant_refs(h, 1, &domid, &ref, prot);
}

DROPIN_EXPORT void *xengnttab_map_grant_ref_notify(xengnttab_handle *h, uint32_t domid,
						   uint32_t ref, int prot, uint32_t notify_offset,
						   evtchn_port_t notify_port)
{
	struct map_args a = { .count = 1, .domids = &domid, .refs = &ref, .prot = prot };

	if (notify_offset != (uint32_t)-1) {
		a.notify_flags |= HV_GNT_MAP_NOTIFY_BYTE;
		a.notify_offset = notify_offset;
	}
	if (notify_port != (evtchn_port_t)-1) {
		a.notify_flags |= HV_GNT_MAP_NOTIFY_EVENT;
		a.notify_port = notify_port;
	}
	return map_common(h, &a);
}

DROPIN_EXPORT int xengnttab_unmap(xengnttab_handle *h, void *start, uint32_t count)
{
	uintptr_t have;
	int rc;

	pthread_mutex_lock(&h->lock);
	have = (uintptr_t)hmap_get(&h->maps, (uintptr_t)start);
	/* libxengnttab: the mapping's count must match (GET_OFFSET_FOR_VADDR), else EINVAL. */
	if (!have || (have & ((1u << MAP_KEY_SHIFT) - 1)) != count) {
		rc = -EINVAL;
	} else {
		rc = rpc_unmap(h, have >> MAP_KEY_SHIFT, count);
		if (!rc) {
			munmap(start, (size_t)count * PAGE);
			hmap_del(&h->maps, (uintptr_t)start);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return dropin_ret(rc);
}

/* ---- grant copy ---- */

static int copy_prepare(xengnttab_handle *h, uint32_t count, xengnttab_grant_copy_segment_t *s,
			struct dom_table *t, struct hv_copy_seg *out)
{
	uint32_t *domids = malloc((size_t)count * 2 * sizeof(*domids)), n = 0, i, k = 0;
	int rc;

	if (!domids)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		if (s[i].flags & GNTCOPY_source_gref)
			domids[n++] = s[i].source.foreign.domid;
		if (s[i].flags & GNTCOPY_dest_gref)
			domids[n++] = s[i].dest.foreign.domid;
	}
	rc = dom_table_build(t, &h->ram, n ? n : 1, n ? domids : (uint32_t[]){ 0 }, MAX_COPY_DOMS);
	for (i = 0; !rc && i < count; i++) {
		out[i] = (struct hv_copy_seg){ .flags = s[i].flags, .len = s[i].len };
		if (s[i].flags & GNTCOPY_source_gref) {
			out[i].src_ref = s[i].source.foreign.ref;
			out[i].src_off = s[i].source.foreign.offset;
			out[i].src_dom = t->index[k++];
		}
		if (s[i].flags & GNTCOPY_dest_gref) {
			out[i].dst_ref = s[i].dest.foreign.ref;
			out[i].dst_off = s[i].dest.foreign.offset;
			out[i].dst_dom = t->index[k++];
		}
	}
	free(domids);
	return rc;
}

static void *copy_ptr(xengnttab_handle *h, const struct dom_table *t, uint16_t dom, uint64_t frame,
		      uint16_t off)
{
	struct ram_entry *e = ram_cache_find(&h->ram, t->doms[dom].domid);
	uint8_t *ram = e ? ram_cache_map(e) : NULL;

	return ram ? ram + frame * PAGE + off : NULL;
}

static void copy_do(xengnttab_handle *h, uint32_t count, xengnttab_grant_copy_segment_t *s,
		    const struct dom_table *t, const struct hv_copy_seg *q,
		    const struct hv_copy_res *res)
{
	uint32_t i;

	for (i = 0; i < count; i++) {
		void *src = s[i].source.virt, *dst = s[i].dest.virt;

		s[i].status = (int16_t)res[i].status;
		if (res[i].status != GNTST_okay)
			continue;
		if (q[i].flags & GNTCOPY_source_gref)
			src = copy_ptr(h, t, q[i].src_dom, res[i].src_frame, q[i].src_off);
		if (q[i].flags & GNTCOPY_dest_gref)
			dst = copy_ptr(h, t, q[i].dst_dom, res[i].dst_frame, q[i].dst_off);
		if (!src || !dst)
			s[i].status = GNTST_general_error;
		else
			memcpy(dst, src, s[i].len);
	}
}

static int copy_locked(xengnttab_handle *h, uint32_t count, xengnttab_grant_copy_segment_t *s)
{
	struct dom_table t = { 0 };
	struct hv_copy_seg *q = malloc((size_t)count * sizeof(*q));
	struct hv_gnt_copy req = { .count = count };
	struct hvc_call call = { .op = HV_GNT_COPY };
	struct iovec iov[3];
	size_t info_len = 0, rep_len = 0;
	uint8_t *rep = NULL;
	int rc = q ? copy_prepare(h, count, s, &t, q) : -ENOMEM;

	if (!rc) {
		info_len = t.n * sizeof(struct hv_dom_info);
		rep_len = info_len + (size_t)count * sizeof(struct hv_copy_res);
		rep = malloc(rep_len);
		rc = rep ? 0 : -ENOMEM;
	}
	if (!rc) {
		req.ndoms = t.n;
		iov[0] = (struct iovec){ &req, sizeof(req) };
		iov[1] = (struct iovec){ t.doms, t.n * sizeof(*t.doms) };
		iov[2] = (struct iovec){ q, (size_t)count * sizeof(*q) };
		call.iov = iov;
		call.niov = 3;
		call.rep = rep;
		call.rep_cap = rep_len;
		rc = hvc_call(h->c, &call);
		if (rc >= 0 && call.rep_len != rep_len)
			rc = -EPROTO;
		if (rc >= 0)
			absorb_fds(&h->ram, &t, (void *)rep, &call);
		else
			while (call.nfds)
				close(call.fds[--call.nfds]);
	}
	if (!rc)
		copy_do(h, count, s, &t, q, (void *)(rep + info_len));
	dom_table_free(&t);
	free(q);
	free(rep);
	return rc;
}

DROPIN_EXPORT int xengnttab_grant_copy(xengnttab_handle *h, uint32_t count,
				       xengnttab_grant_copy_segment_t *segs)
{
	int rc;

	if (!count)
		return 0;
	pthread_mutex_lock(&h->lock);
	rc = copy_locked(h, count, segs);
	pthread_mutex_unlock(&h->lock);
	return dropin_ret(rc);
}

/* ---- not modelled ---- */

DROPIN_EXPORT int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *h, uint32_t domid,
						 uint32_t flags, uint32_t count,
						 const uint32_t *refs, uint32_t *fd)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *h, uint32_t fd,
						     uint32_t wait_to_ms)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *h, uint32_t domid, uint32_t fd,
					       uint32_t count, uint32_t *refs)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xengnttab_dmabuf_imp_release(xengnttab_handle *h, uint32_t fd)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	errno = ENOSYS;
	return NULL;
}

DROPIN_EXPORT int xengntshr_close(xengntshr_handle *h)
{
	return 0;
}

DROPIN_EXPORT int xengntshr_fd(xengntshr_handle *h)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT void *xengntshr_share_pages(xengntshr_handle *h, uint32_t domid, int count,
					  uint32_t *refs, int writable)
{
	errno = ENOSYS;
	return NULL;
}

DROPIN_EXPORT void *xengntshr_share_page_notify(xengntshr_handle *h, uint32_t domid, uint32_t *ref,
						int writable, uint32_t notify_offset,
						evtchn_port_t notify_port)
{
	errno = ENOSYS;
	return NULL;
}

DROPIN_EXPORT int xengntshr_unshare(xengntshr_handle *h, void *start, uint32_t count)
{
	return dropin_ret(-ENOSYS);
}
