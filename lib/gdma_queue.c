/* SPDX-License-Identifier: MIT */
/*
 * The per-queue side of gdma: preallocated pools (request slots with their bounce areas and
 * copy-out records, mapping records, scratch arrays), the struct vxen_vq_mem_ops entry points
 * that dispatch to grant or foreign mode, and the queue's statistics.
 *
 * Nothing here allocates after vxen_gdma_queue_new(): a request takes a slot from a free list
 * (at most queue-size requests are in flight, so one slot per queue entry is enough) and its
 * mapping records from a pool sized for the strategy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdma_internal.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) / (a) * (a))

/* ------------------------------------------------------------------------------------------ */
/* Slots and mapping records                                                                   */

struct gdma_slot *gdma_slot_get(vxen_gdma_queue *q)
{
	struct gdma_slot *s;

	if (q->free_slot == GDMA_NONE && q->pout_slots != GDMA_NONE)
		gdma_copy_out_run(q, false); /* slots kept only for their copy-out */
	if (q->free_slot == GDMA_NONE)
		return NULL;
	s = &q->slots[q->free_slot];
	q->free_slot = s->next_free;
	s->busy = true;
	s->recs = GDMA_NONE;
	s->pages = 0;
	s->n_out = 0;
	s->n_pins = 0;
	s->big = GDMA_NONE;
	s->big_used = 0;
	s->copy_err = 0;
	return s;
}

void gdma_slot_put(vxen_gdma_queue *q, struct gdma_slot *s)
{
	if (s->big != GDMA_NONE) {
		q->big_next[s->big] = q->free_big;
		q->free_big = s->big;
		s->big = GDMA_NONE;
	}
	s->busy = false;
	s->next_free = q->free_slot;
	q->free_slot = (uint32_t)(s - q->slots);
}

uint8_t *gdma_big_take(vxen_gdma_queue *q, struct gdma_slot *s, uint32_t need)
{
	uint8_t *p;

	if (s->big == GDMA_NONE) {
		if (q->free_big == GDMA_NONE && q->pout_slots != GDMA_NONE)
			gdma_copy_out_run(q, false); /* buffers kept only for their copy-out */
		if (q->free_big == GDMA_NONE || need > q->big_size)
			return NULL;
		s->big = q->free_big;
		q->free_big = q->big_next[s->big];
		s->big_used = 0;
	}
	if (need > q->big_size - s->big_used)
		return NULL;
	p = q->big_mem + (size_t)s->big * q->big_size + s->big_used;
	s->big_used += need;
	return p;
}

int gdma_rec_add(vxen_gdma_queue *q, struct gdma_slot *s, void *addr, uint32_t npages)
{
	struct gdma_map_rec *rec;
	uint32_t i = q->free_rec;

	if (i == GDMA_NONE)
		return -ENOMEM;
	rec = &q->recs[i];
	q->free_rec = rec->next;
	rec->addr = addr;
	rec->npages = npages;
	rec->next = s->recs;
	s->recs = i;
	s->pages += npages;
	q->st.live_pages += npages;
	return 0;
}

/* Unmap every mapping of @s with its exact start and count, and return the records. */
void gdma_recs_release(vxen_gdma_queue *q, struct gdma_slot *s)
{
	while (s->recs != GDMA_NONE) {
		struct gdma_map_rec *rec = &q->recs[s->recs];
		uint32_t next = rec->next;
		int rc = gdma_gnt_unmap(q->g, rec->addr, rec->npages);

		q->st.unmap_calls++;
		q->st.unmap_pages += rec->npages;
		q->st.live_pages -= rec->npages;
		if (rc) {
			/* Nothing better is possible: the pages stay mapped until the handle
			 * closes. */
			q->st.unmap_errors++;
			gdma_count_unmap_error(q->g);
			vxen_log(LOG_ERR, "gdma: dom%u q%u: xengnttab_unmap(%u pages): %s",
				 q->g->cfg.domid, q->index, rec->npages, strerror(-rc));
		}
		rec->next = q->free_rec;
		q->free_rec = s->recs;
		s->recs = next;
	}
	s->pages = 0;
}

int gdma_reject(vxen_gdma_queue *q, int err, enum gdma_rej why, uint64_t addr)
{
	static const char *const what[] = {
		[GDMA_REJ_ADDR] = "bad buffer address",
		[GDMA_REJ_TOO_BIG] = "chain too large",
		[GDMA_REJ_FAULT] = "Xen refused the buffer",
		[GDMA_REJ_NOMEM] = "out of mapping resources",
	};
	uint64_t *ctr[] = {
		[GDMA_REJ_ADDR] = &q->st.rej_addr,
		[GDMA_REJ_TOO_BIG] = &q->st.rej_too_big,
		[GDMA_REJ_FAULT] = &q->st.rej_fault,
		[GDMA_REJ_NOMEM] = &q->st.rej_nomem,
	};

	(*ctr[why])++;
	vxen_log_guest(&q->rl, LOG_WARNING, "gdma: dom%u q%u: chain rejected: %s (%#llx): %s",
		       q->g->cfg.domid, q->index, what[why], (unsigned long long)addr,
		       strerror(-err));
	return err;
}

/* ------------------------------------------------------------------------------------------ */
/* The vq memory interface                                                                     */

static bool is_foreign(const vxen_gdma_queue *q)
{
	return q->g->cfg.mode == VXEN_GDMA_FOREIGN;
}

static int ops_map(void *payload, struct vxen_req *req)
{
	vxen_gdma_queue *q = payload;
	struct gdma_slot *s = gdma_slot_get(q);
	int rc;

	if (!s)
		return gdma_reject(q, -ENOMEM, GDMA_REJ_NOMEM, 0);
	req->n_out = 0;
	req->n_in = 0;
	rc = is_foreign(q) ? gdma_foreign_map(q, s, req) : gdma_grant_map(q, s, req);
	if (rc) {
		gdma_slot_put(q, s);
		return rc;
	}
	req->mem_priv = s;
	q->st.requests++;
	q->st.live_requests++;
	return 0;
}

/* The slot of @req, or NULL if @req was not mapped by @q (a caller bug: never trust it). */
static struct gdma_slot *req_slot(vxen_gdma_queue *q, const struct vxen_req *req)
{
	struct gdma_slot *s = req->mem_priv;

	if (!s || s < q->slots || s >= q->slots + q->size || !s->busy || s->out_pending)
		return NULL;
	return s;
}

/* Unmap @s; its copy-out (grant mode) waits for the next flush, or is dropped with @written 0. */
static void slot_release(vxen_gdma_queue *q, struct gdma_slot *s, size_t written)
{
	bool pending = false;

	if (is_foreign(q))
		gdma_foreign_unmap(q, s);
	else
		pending = gdma_grant_unmap(q, s, written);
	if (!pending)
		gdma_slot_put(q, s);
	q->st.live_requests--;
}

static void ops_unmap(void *payload, struct vxen_req *req, size_t written)
{
	vxen_gdma_queue *q = payload;
	struct gdma_slot *s = req_slot(q, req);

	if (!s) {
		vxen_log(LOG_ERR, "gdma: q%u: unmap of a request this queue did not map", q->index);
		return;
	}
	slot_release(q, s, written);
	req->mem_priv = NULL;
}

static int ops_read(void *payload, uint64_t addr, void *dst, size_t len)
{
	vxen_gdma_queue *q = payload;
	int rc;

	q->st.reads++;
	if (!len || len > gdma_read_max(q))
		rc = -E2BIG;
	else if (is_foreign(q))
		rc = gdma_foreign_read(q, addr, dst, len);
	else
		rc = gdma_grant_read(q, addr, dst, len);
	if (rc) {
		q->st.read_errors++;
		vxen_log_guest(
			&q->rl, LOG_WARNING, "gdma: dom%u q%u: cannot read %zu bytes at %#llx: %s",
			q->g->cfg.domid, q->index, len, (unsigned long long)addr, strerror(-rc));
	}
	return rc;
}

static void ops_read_many(void *payload, struct vxen_vq_read *rd, unsigned int n)
{
	vxen_gdma_queue *q = payload;

	if (is_foreign(q) || q->g->cfg.strategy == VXEN_GDMA_PER_DESC) {
		for (unsigned int i = 0; i < n; i++)
			rd[i].result = ops_read(q, rd[i].addr, rd[i].dst, rd[i].len);
		return;
	}
	q->st.reads += n;
	gdma_grant_read_many(q, rd, n);
	for (unsigned int i = 0; i < n; i++) {
		if (!rd[i].result)
			continue;
		q->st.read_errors++;
		vxen_log_guest(&q->rl, LOG_WARNING,
			       "gdma: dom%u q%u: cannot read %u bytes at %#llx: %s",
			       q->g->cfg.domid, q->index, rd[i].len, (unsigned long long)rd[i].addr,
			       strerror(-rd[i].result));
	}
}

/* The batch's copy-ins in one call; chains whose copy Xen refused are released and failed. */
static void ops_map_many_end(void *payload, struct vxen_req *const *reqs, unsigned int n, int *res)
{
	vxen_gdma_queue *q = payload;

	gdma_copy_in_run(q);
	for (unsigned int i = 0; i < n; i++) {
		struct gdma_slot *s = req_slot(q, reqs[i]);

		res[i] = 0;
		if (!s || !s->copy_err)
			continue;
		res[i] = gdma_reject(q, s->copy_err,
				     s->copy_err == -ENOMEM ? GDMA_REJ_NOMEM : GDMA_REJ_FAULT, 0);
		slot_release(q, s, 0);
		reqs[i]->mem_priv = NULL;
		q->st.requests--;
	}
}

static void ops_flush(void *payload)
{
	vxen_gdma_queue *q = payload;

	if (q->pout_slots != GDMA_NONE)
		gdma_copy_out_run(q, false);
}

static void ops_discard(void *payload)
{
	vxen_gdma_queue *q = payload;

	if (q->pout_slots != GDMA_NONE)
		gdma_copy_out_run(q, true);
}

static const struct vxen_vq_mem_ops gdma_ops = {
	.version = VXEN_VQ_MEM_OPS_VERSION,
	.read = ops_read,
	.map = ops_map,
	.unmap = ops_unmap,
	.read_many = ops_read_many,
	.map_many_end = ops_map_many_end,
	.flush = ops_flush,
	.discard = ops_discard,
};

VXEN_EXPORT const struct vxen_vq_mem_ops *vxen_gdma_mem_ops(void)
{
	return &gdma_ops;
}

VXEN_EXPORT void vxen_gdma_queue_attach(vxen_gdma_queue *q, struct vxen_vq_config *vcfg)
{
	vcfg->mem = &gdma_ops;
	vcfg->mem_payload = q;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                   */

uint64_t gdma_read_max(const vxen_gdma_queue *q)
{
	return 16ull * q->size;
}

uint32_t gdma_read_max_pages(const vxen_gdma_queue *q)
{
	/* the worst in-page offset */
	return (uint32_t)vxen_gdma_page_count(VXEN_GDMA_PAGE_SIZE - 1, gdma_read_max(q));
}

static uint32_t rec_count(const vxen_gdma_queue *q)
{
	const struct vxen_gdma_config *c = &q->g->cfg;

	if (c->mode == VXEN_GDMA_FOREIGN)
		return 0;
	/* BATCHED: one map per protection per request. PER_DESC: every mapping has at least a
	 * page and live pages never exceed max_queue_pages. */
	return c->strategy == VXEN_GDMA_BATCHED ? 2 * q->size : c->max_queue_pages;
}

/* Grant mode only: the plan, gref and copy-segment scratch of one chain. */
static int scratch_alloc(vxen_gdma_queue *q)
{
	const struct vxen_gdma_config *c = &q->g->cfg;

	q->n_segs = VXEN_MAX(GDMA_CHAIN_COPY_SEGS, gdma_read_max_pages(q));
	q->plan = calloc(c->max_chain_pages, sizeof(*q->plan));
	/* grefs of one map call: a chain's pages, or an indirect table read by PER_DESC */
	q->refs = calloc(VXEN_MAX(c->max_chain_pages, gdma_read_max_pages(q)), sizeof(*q->refs));
	q->segs = calloc(q->n_segs, sizeof(*q->segs));
	if (!q->plan || !q->refs || !q->segs)
		return -ENOMEM;
	if (!c->copy_threshold || c->strategy != VXEN_GDMA_BATCHED)
		return 0;
	q->pin_segs = calloc(GDMA_PEND_SEGS, sizeof(*q->pin_segs));
	q->pout_segs = calloc(GDMA_PEND_SEGS, sizeof(*q->pout_segs));
	q->pin_owner = calloc(GDMA_PEND_SEGS, sizeof(*q->pin_owner));
	return q->pin_segs && q->pout_segs && q->pin_owner ? 0 : -ENOMEM;
}

/*
 * Grant mode, thresholds over GDMA_SMALL_COPY: the big bounce pool. Page-aligned buffers, so a
 * page-sized buffer touches one page; the pool's pages become resident only once used.
 */
static int big_alloc(vxen_gdma_queue *q)
{
	uint32_t t = q->g->cfg.copy_threshold;

	if (t <= GDMA_SMALL_COPY)
		return 0;
	q->big_size = ALIGN_UP(t, GDMA_BOUNCE_ALIGN);
	q->n_big = VXEN_MAX(1u, VXEN_MIN(q->size, GDMA_BIG_BOUNCE_BYTES / q->big_size));
	q->big_next = calloc(q->n_big, sizeof(*q->big_next));
	q->big_mem = aligned_alloc(4096, ALIGN_UP((size_t)q->n_big * q->big_size, 4096));
	return q->big_next && q->big_mem ? 0 : -ENOMEM;
}

static int pools_alloc(vxen_gdma_queue *q)
{
	const struct vxen_gdma_config *c = &q->g->cfg;
	size_t n = q->size;

	q->bounce_per_slot =
		ALIGN_UP(2 * VXEN_MIN(c->copy_threshold, GDMA_SMALL_COPY), GDMA_BOUNCE_ALIGN);
	q->n_recs = rec_count(q);
	q->slots = calloc(n, sizeof(*q->slots));
	q->recs = q->n_recs ? calloc(q->n_recs, sizeof(*q->recs)) : NULL;
	q->bounce_mem =
		q->bounce_per_slot ? aligned_alloc(64, ALIGN_UP(n * q->bounce_per_slot, 64)) : NULL;
	q->out_mem = c->copy_threshold ? calloc(n * GDMA_SLOT_OUT_SEGS, sizeof(*q->out_mem)) : NULL;
	if (!q->slots || (q->n_recs && !q->recs) || (q->bounce_per_slot && !q->bounce_mem) ||
	    (c->copy_threshold && !q->out_mem))
		return -ENOMEM;
	if (c->mode != VXEN_GDMA_GRANT)
		return 0;
	return big_alloc(q) ?: scratch_alloc(q);
}

static void pools_link(vxen_gdma_queue *q)
{
	for (uint32_t i = 0; i < q->size; i++) {
		struct gdma_slot *s = &q->slots[i];

		s->next_free = i + 1 < q->size ? i + 1 : GDMA_NONE;
		s->recs = GDMA_NONE;
		s->big = GDMA_NONE;
		if (q->bounce_mem)
			s->bounce = q->bounce_mem + (size_t)i * q->bounce_per_slot;
		if (q->out_mem)
			s->out = q->out_mem + (size_t)i * GDMA_SLOT_OUT_SEGS;
	}
	q->free_slot = 0;
	for (uint32_t i = 0; i < q->n_recs; i++)
		q->recs[i].next = i + 1 < q->n_recs ? i + 1 : GDMA_NONE;
	q->free_rec = q->n_recs ? 0 : GDMA_NONE;
	for (uint32_t i = 0; i < q->n_big; i++)
		q->big_next[i] = i + 1 < q->n_big ? i + 1 : GDMA_NONE;
	q->free_big = q->n_big ? 0 : GDMA_NONE;
	q->pout_slots = GDMA_NONE;
}

static void pools_free(vxen_gdma_queue *q)
{
	gdma_cache_fini(q);
	free(q->slots);
	free(q->plan);
	free(q->refs);
	free(q->segs);
	free(q->pin_segs);
	free(q->pout_segs);
	free(q->pin_owner);
	free(q->recs);
	free(q->bounce_mem);
	free(q->out_mem);
	free(q->big_next);
	free(q->big_mem);
	free(q);
}

VXEN_EXPORT int vxen_gdma_queue_new(vxen_gdma_queue **out, vxen_gdma *g, uint16_t index,
				    uint32_t size)
{
	vxen_gdma_queue *q;
	int rc;

	if (!out || !g || !size || size > VXEN_VQ_MAX_SIZE)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->g = g;
	q->index = index;
	q->size = size;
	rc = pools_alloc(q);
	if (!rc && g->cfg.mode == VXEN_GDMA_FOREIGN)
		rc = gdma_cache_init(q);
	if (rc) {
		pools_free(q);
		return rc;
	}
	pools_link(q);
	gdma_ref(g);
	gdma_count_queue(g, 1);
	*out = q;
	return 0;
}

VXEN_EXPORT void vxen_gdma_queue_free(vxen_gdma_queue *q)
{
	vxen_gdma *g;
	unsigned int leaked = 0;

	if (!q)
		return;
	g = q->g;
	/* Copy-outs of requests never published: the guest will not look for them. */
	q->n_pin = 0;
	gdma_copy_out_run(q, true);
	for (uint32_t i = 0; i < q->size; i++) {
		if (!q->slots[i].busy)
			continue;
		/* A request the virtqueue never unmapped: release it, but copy nothing out. */
		slot_release(q, &q->slots[i], 0);
		leaked++;
	}
	if (leaked)
		vxen_log(LOG_ERR, "gdma: dom%u q%u: freed with %u requests still mapped",
			 g->cfg.domid, q->index, leaked);
	pools_free(q);
	gdma_count_queue(g, -1);
	gdma_unref(g);
}

VXEN_EXPORT unsigned int vxen_gdma_queue_room(const vxen_gdma_queue *q)
{
	const struct vxen_gdma_config *c = &q->g->cfg;

	/* Slots waiting only for their copy-out are free for the asking (gdma_slot_get()). */
	if (q->free_slot == GDMA_NONE && q->pout_slots == GDMA_NONE)
		return 0;
	if (c->mode == VXEN_GDMA_FOREIGN)
		return q->size;
	return (unsigned int)VXEN_MIN((uint64_t)q->size,
				      (c->max_queue_pages - q->st.live_pages) / c->max_chain_pages);
}

VXEN_EXPORT bool vxen_gdma_queue_has_room(const vxen_gdma_queue *q)
{
	return vxen_gdma_queue_room(q) > 0;
}

VXEN_EXPORT void vxen_gdma_queue_flush(vxen_gdma_queue *q)
{
	if (is_foreign(q))
		gdma_cache_flush(q);
}

VXEN_EXPORT const struct vxen_gdma_stats *vxen_gdma_queue_stats(const vxen_gdma_queue *q)
{
	return &q->st;
}
