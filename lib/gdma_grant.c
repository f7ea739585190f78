/* SPDX-License-Identifier: MIT */
/*
 * Grant mode: a descriptor chain to iovecs with the fewest crossings.
 *
 * map() runs in three steps, and the first makes no Xen call at all:
 *  1. plan: decode and validate every non-empty descriptor into q->plan (bit 63, wraps, gref
 *     overflow, the chain's page cap, iov capacity, the queue's page cap), and decide for each
 *     one whether it is copied (small, and the request's bounce area and segment budgets still
 *     have room) or mapped;
 *  2. copy in: one xengnttab_grant_copy() for every copied descriptor: readable bytes into the
 *     bounce area, and for writable ones their current bytes plus a one-byte write-back probe
 *     per grant page, so a read-only or revoked grant on a writable buffer is refused now, at
 *     map time, not silently at completion. The probe writes back the byte just read (the
 *     segments of one call are processed in order), so guest memory does not change;
 *  3. map: BATCHED maps every remaining readable page in one call (PROT_READ) and every
 *     writable page in another (PROT_READ|PROT_WRITE); PER_DESC maps each descriptor alone.
 * Any failure releases what the steps before did, so nothing stays mapped.
 *
 * unmap() copies the bounce bytes the device wrote back (one call, clipped to @written), then
 * unmaps every mapping with its exact start and count.
 */
#include <errno.h>
#include <string.h>

#include "gdma_internal.h"

#define PAGE	       VXEN_GDMA_PAGE_SIZE
#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))

/* What the plan pass found out about the whole chain. */
struct chain_totals {
	uint32_t n;	       /* plan entries: the non-empty descriptors */
	uint32_t pages;	       /* pages of all of them */
	uint32_t map_pages[2]; /* [write] pages to map (BATCHED: one call each) */
	uint32_t n_iov[2];     /* [write] iov entries */
	uint32_t bounce;       /* bounce bytes used */
	uint32_t in_segs;      /* segments of the copy-in call */
	uint32_t out_segs;     /* copy-out records kept in the slot */
	uint32_t wpos;	       /* writable bytes so far */
};

/* Length of the piece of a buffer in its @i-th grant page. */
static uint16_t piece_len(const struct gdma_dplan *p, uint32_t i, uint32_t done)
{
	uint32_t off = i ? 0 : p->r.offset;

	return (uint16_t)VXEN_MIN(PAGE - off, p->len - done);
}

static void seg_from_guest(xengnttab_grant_copy_segment_t *sg, const vxen_gdma *g, uint32_t ref,
			   uint16_t off, void *dst, uint16_t len)
{
	memset(sg, 0, sizeof(*sg));
	sg->source.foreign.ref = ref;
	sg->source.foreign.offset = off;
	sg->source.foreign.domid = (uint16_t)g->cfg.domid;
	sg->dest.virt = dst;
	sg->len = len;
	sg->flags = GNTCOPY_source_gref;
}

static void seg_to_guest(xengnttab_grant_copy_segment_t *sg, const vxen_gdma *g, uint32_t ref,
			 uint16_t off, void *src, uint16_t len)
{
	memset(sg, 0, sizeof(*sg));
	sg->source.virt = src;
	sg->dest.foreign.ref = ref;
	sg->dest.foreign.offset = off;
	sg->dest.foreign.domid = (uint16_t)g->cfg.domid;
	sg->len = len;
	sg->flags = GNTCOPY_dest_gref;
}

/* One grant copy call over q->segs[0 .. n). Returns 0, -EFAULT (a segment or the call was
 * refused) or -ENOMEM (host resources). */
static int copy_run(vxen_gdma_queue *q, uint32_t n)
{
	int rc = gdma_gnt_copy(q->g, q->segs, n);

	q->st.copy_calls++;
	q->st.copy_segs += n;
	if (rc)
		return rc == -ENOMEM ? -ENOMEM : -EFAULT;
	for (uint32_t i = 0; i < n; i++)
		if (q->segs[i].status != GNTST_okay)
			return -EFAULT;
	return 0;
}

static int q_map(vxen_gdma_queue *q, uint32_t n, bool write, void **base)
{
	int rc = gdma_gnt_map(q->g, q->refs, n, write, base);

	q->st.map_calls++;
	if (rc)
		return gdma_map_err(rc);
	q->st.map_pages += n;
	return 0;
}

/* Pages of a mapped buffer are contiguous in our address space only with 4 KiB host pages. */
static uint32_t mapped_iov_count(const vxen_gdma_queue *q, const struct gdma_dplan *p)
{
	return q->g->gnt_stride == PAGE ? 1 : p->r.npages;
}

/* ------------------------------------------------------------------------------------------ */
/* 1. plan                                                                                     */

static bool plan_copy(vxen_gdma_queue *q, struct chain_totals *t, struct gdma_slot *s,
		      struct gdma_dplan *p)
{
	uint32_t need = ALIGN_UP(p->len, GDMA_BOUNCE_ALIGN);
	uint32_t in = p->write ? 2 * p->r.npages : p->r.npages;
	uint32_t out = p->write ? p->r.npages : 0;

	if (p->len > q->g->cfg.copy_threshold || in > GDMA_CHAIN_COPY_SEGS - t->in_segs ||
	    out > GDMA_SLOT_OUT_SEGS - t->out_segs)
		return false;
	if (need <= q->bounce_per_slot - t->bounce) {
		p->host = s->bounce + t->bounce;
		t->bounce += need;
	} else if (!(p->host = gdma_big_take(q, s, need))) {
		return false;
	}
	t->in_segs += in;
	t->out_segs += out;
	return true;
}

static int plan_desc(vxen_gdma_queue *q, struct chain_totals *t, struct gdma_slot *s,
		     const struct vxen_desc *d)
{
	uint32_t max = q->g->cfg.max_chain_pages;
	struct gdma_dplan *p = &q->plan[t->n];
	int rc;

	/* Every entry has a page, so a full plan means a full page budget. */
	if (t->n >= max)
		return gdma_reject(q, -E2BIG, GDMA_REJ_TOO_BIG, d->addr);
	rc = vxen_gdma_decode(&p->r, VXEN_GDMA_GRANT, d->addr, d->len, max);
	if (rc)
		return gdma_reject(q, rc, rc == -E2BIG ? GDMA_REJ_TOO_BIG : GDMA_REJ_ADDR, d->addr);
	if (p->r.npages > max - t->pages)
		return gdma_reject(q, -E2BIG, GDMA_REJ_TOO_BIG, d->addr);
	t->pages += p->r.npages;
	p->len = d->len;
	p->write = d->flags & VXEN_DESC_F_WRITE;
	p->pos = t->wpos;
	if (p->write)
		t->wpos += d->len; /* ≤ 2^16 pages: cannot overflow */
	p->copy = plan_copy(q, t, s, p);
	if (p->copy) {
		t->n_iov[p->write]++;
	} else {
		p->page_idx = t->map_pages[p->write];
		t->map_pages[p->write] += p->r.npages;
		t->n_iov[p->write] += mapped_iov_count(q, p);
	}
	t->n++;
	return 0;
}

static int plan_chain(vxen_gdma_queue *q, struct gdma_slot *s, const struct vxen_req *req,
		      struct chain_totals *t)
{
	const struct vxen_gdma_config *c = &q->g->cfg;
	unsigned int n = VXEN_MIN(req->n_desc, req->desc_cap);
	int rc;

	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < n; i++) {
		if (!req->desc[i].len)
			continue; /* kept by the walker, never mapped */
		rc = plan_desc(q, t, s, &req->desc[i]);
		if (rc)
			return rc;
	}
	if (t->n_iov[0] + t->n_iov[1] > req->iov_cap)
		return gdma_reject(q, -E2BIG, GDMA_REJ_TOO_BIG, req->desc[0].addr);
	if (t->map_pages[0] + t->map_pages[1] > c->max_queue_pages - q->st.live_pages)
		return gdma_reject(q, -ENOMEM, GDMA_REJ_NOMEM, req->desc[0].addr);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* 2. copy in                                                                                  */

/* Append @p's segments to q->segs from @n on (and its copy-out records to @s); returns the
 * new count. Budgets were checked by plan_copy(). */
static uint32_t add_copy_segs(vxen_gdma_queue *q, struct gdma_slot *s, const struct gdma_dplan *p,
			      uint32_t n)
{
	uint32_t done = 0;

	for (uint32_t i = 0; done < p->len; i++) {
		uint32_t ref = (uint32_t)(p->r.first + i);
		uint16_t off = i ? 0 : p->r.offset;
		uint16_t len = piece_len(p, i, done);
		struct gdma_out_seg *o;

		seg_from_guest(&q->segs[n++], q->g, ref, off, p->host + done, len);
		if (p->write) {
			seg_to_guest(&q->segs[n++], q->g, ref, off, p->host + done, 1);
			o = &s->out[s->n_out++];
			o->pos = p->pos + done;
			seg_to_guest(&o->seg, q->g, ref, off, p->host + done, len);
		}
		done += len;
	}
	return n;
}

static int copy_in(vxen_gdma_queue *q, struct gdma_slot *s, const struct chain_totals *t)
{
	uint32_t n = 0;
	uint64_t bytes = 0;
	int rc;

	for (uint32_t k = 0; k < t->n; k++) {
		if (!q->plan[k].copy)
			continue;
		n = add_copy_segs(q, s, &q->plan[k], n);
		bytes += q->plan[k].len;
	}
	if (!n)
		return 0;
	rc = copy_run(q, n);
	if (rc)
		return gdma_reject(q, rc, rc == -ENOMEM ? GDMA_REJ_NOMEM : GDMA_REJ_FAULT, 0);
	q->st.bounce_in_bytes += bytes;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* 3. map                                                                                      */

static int map_batch(vxen_gdma_queue *q, struct gdma_slot *s, const struct chain_totals *t,
		     bool write)
{
	uint32_t n = 0;
	void *base;
	int rc;

	if (!t->map_pages[write])
		return 0;
	for (uint32_t k = 0; k < t->n; k++) {
		const struct gdma_dplan *p = &q->plan[k];

		for (uint32_t i = 0; !p->copy && p->write == write && i < p->r.npages; i++)
			q->refs[n++] = (uint32_t)(p->r.first + i);
	}
	rc = q_map(q, n, write, &base);
	if (!rc && gdma_rec_add(q, s, base, n)) {
		gdma_gnt_unmap(q->g, base, n); /* cannot happen: the pool is sized for it */
		rc = -ENOMEM;
	}
	if (rc)
		return gdma_reject(q, rc, rc == -ENOMEM ? GDMA_REJ_NOMEM : GDMA_REJ_FAULT,
				   vxen_gdma_addr_make(q->refs[0], 0));
	for (uint32_t k = 0; k < t->n; k++) {
		struct gdma_dplan *p = &q->plan[k];

		if (!p->copy && p->write == write)
			p->host = (uint8_t *)base + (size_t)p->page_idx * q->g->gnt_stride;
	}
	return 0;
}

static int map_per_desc(vxen_gdma_queue *q, struct gdma_slot *s, const struct chain_totals *t)
{
	for (uint32_t k = 0; k < t->n; k++) {
		struct gdma_dplan *p = &q->plan[k];
		void *base;
		int rc;

		for (uint32_t i = 0; i < p->r.npages; i++)
			q->refs[i] = (uint32_t)(p->r.first + i);
		rc = q_map(q, p->r.npages, p->write, &base);
		if (!rc && gdma_rec_add(q, s, base, p->r.npages)) {
			gdma_gnt_unmap(q->g, base, p->r.npages);
			rc = -ENOMEM;
		}
		if (rc)
			return gdma_reject(q, rc, rc == -ENOMEM ? GDMA_REJ_NOMEM : GDMA_REJ_FAULT,
					   vxen_gdma_addr_make((uint32_t)p->r.first, p->r.offset));
		p->host = base;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* iov                                                                                         */

static unsigned int iov_add(const vxen_gdma_queue *q, struct iovec *iov, const struct gdma_dplan *p)
{
	uint32_t done = 0, i;

	if (p->copy || q->g->gnt_stride == PAGE) {
		iov->iov_base = p->host + (p->copy ? 0 : p->r.offset);
		iov->iov_len = p->len;
		return 1;
	}
	for (i = 0; done < p->len; i++) {
		uint16_t len = piece_len(p, i, done);

		iov[i].iov_base = p->host + (size_t)i * q->g->gnt_stride + (i ? 0 : p->r.offset);
		iov[i].iov_len = len;
		done += len;
	}
	return i;
}

/* Readable buffers first, then writable ones, each in descriptor order. */
static void fill_iov(const vxen_gdma_queue *q, struct vxen_req *req, const struct chain_totals *t)
{
	unsigned int n = 0;

	for (int w = 0; w < 2; w++) {
		for (uint32_t k = 0; k < t->n; k++)
			if (q->plan[k].write == w)
				n += iov_add(q, &req->iov[n], &q->plan[k]);
		if (!w)
			req->n_out = n;
	}
	req->n_in = n - req->n_out;
}

int gdma_grant_map(vxen_gdma_queue *q, struct gdma_slot *s, struct vxen_req *req)
{
	struct chain_totals t;
	int rc;

	rc = plan_chain(q, s, req, &t);
	if (rc)
		return rc;
	rc = copy_in(q, s, &t);
	if (rc)
		return rc;
	if (q->g->cfg.strategy == VXEN_GDMA_PER_DESC)
		rc = map_per_desc(q, s, &t);
	else if (!(rc = map_batch(q, s, &t, false)))
		rc = map_batch(q, s, &t, true);
	if (rc) {
		gdma_recs_release(q, s);
		return rc;
	}
	fill_iov(q, req, &t);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* unmap                                                                                       */

static void copy_out(vxen_gdma_queue *q, struct gdma_slot *s, size_t written)
{
	uint32_t n = 0, bad = 0;
	uint64_t bytes = 0;
	int rc;

	for (uint32_t j = 0; j < s->n_out; j++) {
		const struct gdma_out_seg *o = &s->out[j];
		xengnttab_grant_copy_segment_t *sg;

		if (o->pos >= written)
			continue; /* the device did not get that far */
		sg = &q->segs[n++];
		*sg = o->seg;
		if (written - o->pos < sg->len)
			sg->len = (uint16_t)(written - o->pos);
	}
	s->n_out = 0;
	if (!n)
		return;
	rc = copy_run(q, n);
	for (uint32_t i = 0; i < n; i++) {
		if (rc || q->segs[i].status != GNTST_okay)
			bad++;
		else
			bytes += q->segs[i].len;
	}
	q->st.bounce_out_bytes += bytes;
	q->st.copy_out_errors += bad;
	if (bad)
		vxen_log_guest(&q->rl, LOG_WARNING,
			       "gdma: dom%u q%u: %u copy-out segments refused (grant revoked?)",
			       q->g->cfg.domid, q->index, bad);
}

void gdma_grant_unmap(vxen_gdma_queue *q, struct gdma_slot *s, size_t written)
{
	/* Both before the used entry exists: vq calls unmap first. */
	copy_out(q, s, written);
	gdma_recs_release(q, s);
}

/* ------------------------------------------------------------------------------------------ */
/* read                                                                                        */

/* PER_DESC reads the way per-descriptor backends do: map, copy, unmap. */
static int read_mapped(vxen_gdma_queue *q, const struct gdma_dplan *p, uint8_t *dst)
{
	uint32_t done = 0;
	uint8_t *base;
	int rc;

	for (uint32_t i = 0; i < p->r.npages; i++)
		q->refs[i] = (uint32_t)(p->r.first + i);
	rc = q_map(q, p->r.npages, false, (void **)&base);
	if (rc)
		return rc;
	for (uint32_t i = 0; done < p->len; i++) {
		uint16_t len = piece_len(p, i, done);

		memcpy(dst + done, base + (size_t)i * q->g->gnt_stride + (i ? 0 : p->r.offset),
		       len);
		done += len;
	}
	rc = gdma_gnt_unmap(q->g, base, p->r.npages);
	q->st.unmap_calls++;
	q->st.unmap_pages += p->r.npages;
	if (rc) {
		q->st.unmap_errors++;
		gdma_count_unmap_error(q->g);
		vxen_log(LOG_ERR, "gdma: dom%u q%u: xengnttab_unmap: %s", q->g->cfg.domid, q->index,
			 strerror(-rc));
	}
	return 0;
}

int gdma_grant_read(vxen_gdma_queue *q, uint64_t addr, void *dst, size_t len)
{
	struct gdma_dplan p = { .len = (uint32_t)len };
	uint32_t done = 0, n = 0;
	int rc;

	rc = vxen_gdma_decode(&p.r, VXEN_GDMA_GRANT, addr, len, gdma_read_max_pages(q));
	if (rc)
		return rc;
	if (q->g->cfg.strategy == VXEN_GDMA_PER_DESC)
		return read_mapped(q, &p, dst);
	for (uint32_t i = 0; done < p.len; i++) {
		uint16_t plen = piece_len(&p, i, done);

		seg_from_guest(&q->segs[n++], q->g, (uint32_t)(p.r.first + i), i ? 0 : p.r.offset,
			       (uint8_t *)dst + done, plen);
		done += plen;
	}
	return copy_run(q, n);
}
