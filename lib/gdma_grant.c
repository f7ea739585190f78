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

/* One grant copy call over @segs[0 .. n). Returns 0 (look at each segment's status), or
 * -EFAULT / -ENOMEM when the call itself failed (no segment was done). */
static int copy_call(vxen_gdma_queue *q, xengnttab_grant_copy_segment_t *segs, uint32_t n)
{
	int rc = gdma_gnt_copy(q->g, segs, n);

	q->st.copy_calls++;
	q->st.copy_segs += n;
	return rc ? (rc == -ENOMEM ? -ENOMEM : -EFAULT) : 0;
}

/* The result of segment @sg of a call that returned @rc. */
static int seg_result(int rc, const xengnttab_grant_copy_segment_t *sg)
{
	return rc ? rc : sg->status == GNTST_okay ? 0 : -EFAULT;
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

/* Append @p's segments to q->pin_segs from @n on (and its copy-out records to @s); returns the
 * new count. Budgets were checked by plan_copy(). */
static uint32_t add_copy_segs(vxen_gdma_queue *q, struct gdma_slot *s, const struct gdma_dplan *p,
			      uint32_t n)
{
	xengnttab_grant_copy_segment_t *segs = q->pin_segs;

	uint32_t done = 0;

	for (uint32_t i = 0; done < p->len; i++) {
		uint32_t ref = (uint32_t)(p->r.first + i);
		uint16_t off = i ? 0 : p->r.offset;
		uint16_t len = piece_len(p, i, done);
		struct gdma_out_seg *o;

		seg_from_guest(&segs[n++], q->g, ref, off, p->host + done, len);
		if (p->write) {
			seg_to_guest(&segs[n++], q->g, ref, off, p->host + done, 1);
			o = &s->out[s->n_out++];
			o->pos = p->pos + done;
			seg_to_guest(&o->seg, q->g, ref, off, p->host + done, len);
		}
		done += len;
	}
	return n;
}

/*
 * Queue the chain's copy-in segments; they run with those of the other chains of the batch at
 * its end (gdma_copy_in_run()), so a batch costs one call. The segments of one chain stay in
 * one call: each write probe must follow the read of its byte.
 */
static void copy_in(vxen_gdma_queue *q, struct gdma_slot *s, const struct chain_totals *t)
{
	uint32_t n;

	if (!t->in_segs)
		return;
	if (t->in_segs > GDMA_PEND_SEGS - q->n_pin)
		gdma_copy_in_run(q);
	n = q->n_pin;
	for (uint32_t k = 0; k < t->n; k++)
		if (q->plan[k].copy)
			n = add_copy_segs(q, s, &q->plan[k], n);
	for (uint32_t i = q->n_pin; i < n; i++)
		q->pin_owner[i] = (uint32_t)(s - q->slots);
	q->n_pin = n;
}

/* Results of the pending copy-ins [from, to) after one call that returned @rc. */
static void copy_in_results(vxen_gdma_queue *q, uint32_t from, uint32_t to, int rc)
{
	for (uint32_t i = from; i < to; i++) {
		const xengnttab_grant_copy_segment_t *sg = &q->pin_segs[i];
		struct gdma_slot *s = &q->slots[q->pin_owner[i]];
		int r = seg_result(rc, sg);

		if (r && !s->copy_err)
			s->copy_err = r;
		else if (!r && (sg->flags & GNTCOPY_source_gref))
			q->st.bounce_in_bytes += sg->len;
	}
}

/*
 * One call for every pending copy-in. If the call itself fails (a host problem such as
 * -ENOMEM; a guest's bad grant fails only its own segments), each chain's segments are tried
 * again on their own, so one failure does not cost every chain of the batch.
 */
void gdma_copy_in_run(vxen_gdma_queue *q)
{
	uint32_t n = q->n_pin;
	int rc;

	if (!n)
		return;
	q->n_pin = 0;
	rc = copy_call(q, q->pin_segs, n);
	if (!rc) {
		copy_in_results(q, 0, n, 0);
		return;
	}
	for (uint32_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && q->pin_owner[j] == q->pin_owner[i]; j++)
			;
		copy_in_results(q, i, j, copy_call(q, q->pin_segs + i, j - i));
	}
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
	if (q->g->cfg.strategy == VXEN_GDMA_PER_DESC)
		rc = map_per_desc(q, s, &t);
	else if (!(rc = map_batch(q, s, &t, false)))
		rc = map_batch(q, s, &t, true);
	if (rc) {
		gdma_recs_release(q, s);
		s->n_out = 0;
		return rc;
	}
	copy_in(q, s, &t); /* last: nothing can fail after its segments are queued */
	fill_iov(q, req, &t);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* unmap                                                                                       */

/* Queue the copy-out of the first @written writable bytes of @s; returns the segments queued. */
static uint32_t copy_out_queue(vxen_gdma_queue *q, struct gdma_slot *s, size_t written)
{
	uint32_t n0 = q->n_pout;

	for (uint32_t j = 0; j < s->n_out; j++) {
		const struct gdma_out_seg *o = &s->out[j];
		xengnttab_grant_copy_segment_t *sg;

		if (o->pos >= written)
			continue; /* the device did not get that far */
		sg = &q->pout_segs[q->n_pout++];
		*sg = o->seg;
		if (written - o->pos < sg->len)
			sg->len = (uint16_t)(written - o->pos);
	}
	s->n_out = 0;
	return q->n_pout - n0;
}

void gdma_copy_out_run(vxen_gdma_queue *q, bool drop)
{
	uint32_t n = q->n_pout, bad = 0;
	int rc = 0;

	q->n_pout = 0;
	if (n && !drop)
		rc = copy_call(q, q->pout_segs, n);
	if (rc && !drop) /* the call failed (host resources): the data is worth one more try */
		rc = copy_call(q, q->pout_segs, n);
	for (uint32_t i = 0; i < n && !drop; i++) {
		if (seg_result(rc, &q->pout_segs[i]))
			bad++;
		else
			q->st.bounce_out_bytes += q->pout_segs[i].len;
	}
	while (q->pout_slots != GDMA_NONE) {
		struct gdma_slot *s = &q->slots[q->pout_slots];

		q->pout_slots = s->next_free;
		s->out_pending = false;
		gdma_slot_put(q, s);
	}
	q->st.copy_out_errors += bad;
	if (bad)
		vxen_log_guest(&q->rl, LOG_WARNING,
			       "gdma: dom%u q%u: %u copy-out segments refused (grant revoked?)",
			       q->g->cfg.domid, q->index, bad);
}

bool gdma_grant_unmap(vxen_gdma_queue *q, struct gdma_slot *s, size_t written)
{
	/* Both before the used entry is published: vq unmaps first and flushes before publish. */
	gdma_recs_release(q, s);
	if (!written) {
		s->n_out = 0;
		return false; /* nothing to copy out (teardown, rejected chains) */
	}
	if (s->n_out > GDMA_PEND_SEGS - q->n_pout) /* at most n_out segments are queued */
		gdma_copy_out_run(q, false);
	if (!copy_out_queue(q, s, written))
		return false;
	s->out_pending = true;
	s->next_free = q->pout_slots;
	q->pout_slots = (uint32_t)(s - q->slots);
	return true;
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

/* Segments reading @p into @dst, written to @segs; returns their count. */
static uint32_t read_segs(const vxen_gdma_queue *q, const struct gdma_dplan *p, uint8_t *dst,
			  xengnttab_grant_copy_segment_t *segs)
{
	uint32_t done = 0, n = 0;

	for (uint32_t i = 0; done < p->len; i++) {
		uint16_t plen = piece_len(p, i, done);

		seg_from_guest(&segs[n++], q->g, (uint32_t)(p->r.first + i), i ? 0 : p->r.offset,
			       dst + done, plen);
		done += plen;
	}
	return n;
}

int gdma_grant_read(vxen_gdma_queue *q, uint64_t addr, void *dst, size_t len)
{
	struct gdma_dplan p = { .len = (uint32_t)len };
	uint32_t n;
	int rc;

	rc = vxen_gdma_decode(&p.r, VXEN_GDMA_GRANT, addr, len, gdma_read_max_pages(q));
	if (rc)
		return rc;
	if (q->g->cfg.strategy == VXEN_GDMA_PER_DESC)
		return read_mapped(q, &p, dst);
	n = read_segs(q, &p, dst, q->segs);
	rc = copy_call(q, q->segs, n);
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = seg_result(rc, &q->segs[i]);
	return rc;
}

/* Results of the reads rd[from .. to) whose segments are q->segs[0 .. n), after one call. */
static void read_many_run(vxen_gdma_queue *q, struct vxen_vq_read *rd, const uint32_t *nsegs,
			  unsigned int from, unsigned int to, uint32_t n)
{
	int rc = n ? copy_call(q, q->segs, n) : 0;
	uint32_t k = 0;

	for (unsigned int i = from; i < to; i++) {
		if (rd[i].result != 1)
			continue; /* refused before the call */
		rd[i].result = 0;
		for (uint32_t e = k + nsegs[i - from]; k < e; k++)
			if (!rd[i].result)
				rd[i].result = seg_result(rc, &q->segs[k]);
	}
}

/*
 * BATCHED: the reads of @rd with as few grant copy calls as q->segs allows (one, for the
 * indirect tables of a batch of small requests). A read's result is 1 while it waits for its
 * call.
 */
void gdma_grant_read_many(vxen_gdma_queue *q, struct vxen_vq_read *rd, unsigned int n)
{
	uint32_t nsegs[VXEN_VQ_POP_MANY_MAX];
	unsigned int from = 0;
	uint32_t used = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct gdma_dplan p = { .len = rd[i].len };
		int rc = !rd[i].len || rd[i].len > gdma_read_max(q)
				 ? -E2BIG
				 : vxen_gdma_decode(&p.r, VXEN_GDMA_GRANT, rd[i].addr, rd[i].len,
						    gdma_read_max_pages(q));

		if (i - from == VXEN_VQ_POP_MANY_MAX || (!rc && p.r.npages > q->n_segs - used)) {
			read_many_run(q, rd, nsegs, from, i, used);
			from = i;
			used = 0;
		}
		nsegs[i - from] = 0;
		rd[i].result = rc ? rc : 1;
		if (!rc) {
			nsegs[i - from] = read_segs(q, &p, rd[i].dst, q->segs + used);
			used += nsegs[i - from];
		}
	}
	read_many_run(q, rd, nsegs, from, n, used);
}
