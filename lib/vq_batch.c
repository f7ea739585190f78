/* SPDX-License-Identifier: MIT */
/*
 * lib/vq_batch.c — the batched entry points of the split virtqueue: vxen_vq_pop_many() and
 * vxen_vq_push_many() (include/virtio-xen/vq.h), built from the single-chain steps of
 * lib/vq_internal.h, with the same checks and outcomes as one chain at a time.
 *
 * A batch pops in up to three phases: a run of one-descriptor direct chains taken straight
 * through (phase 0, with a loop of its own on the library's plain memory); then, from the first
 * other chain, the plan (heads and head descriptors, indirect tables to read), one read of all
 * the tables, and the walk of each chain in ring order; then the memory interface's batch end,
 * which may still refuse a chain.
 */
#include <errno.h>
#include <stdatomic.h>

#include "vq_internal.h"

/* A batch being popped: the chains' heads and their indirect tables. */
struct batch {
	struct chain_pre pre[VXEN_VQ_POP_MANY_MAX];
	struct vxen_vq_read rd[VXEN_VQ_POP_MANY_MAX];
	unsigned int n_rd;
	uint32_t table_used; /* bytes of vq->table given to rd[] */
};

/*
 * Plan the table read of chain @j, whose head descriptor is INDIRECT. False if the batch must
 * end before it: its table does not fit what is left of vq->table, or may not fit the request
 * that will take it. @min_cap: smallest desc_cap of reqs[0 .. j], a bound for the request that
 * takes chain j (it is one of those).
 */
static bool plan_table(const struct vxen_vq *vq, struct batch *b, unsigned int j,
		       unsigned int min_cap)
{
	struct chain_pre *pre = &b->pre[j];
	const struct raw_desc *d = &pre->first;
	struct vxen_vq_read *rd;

	if (vq_indirect_bad(vq, d))
		return true; /* rejected by the walk without a read */
	/* At j == 0 neither can be true of a valid table but the first (min_cap is then the
	 * desc_cap of the request that takes it), and the walk refuses it, unread, as too big. */
	if (d->len / VXEN_VRING_DESC_SIZE > min_cap || d->len > 16u * vq->size - b->table_used)
		return j == 0;
	rd = &b->rd[b->n_rd++];
	rd->addr = d->addr;
	rd->dst = (uint8_t *)vq->table + b->table_used;
	rd->len = d->len;
	rd->result = -EFAULT;
	b->table_used += d->len;
	pre->rd = rd;
	return true;
}

/* Read the tables planned for the batch: one read_many() call, or read() each. */
static void read_tables(struct vxen_vq *vq, struct batch *b)
{
	if (!b->n_rd)
		return;
	if (vq->mem.read_many) {
		vq->mem.read_many(vq->mem_payload, b->rd, b->n_rd);
		return;
	}
	for (unsigned int i = 0; i < b->n_rd; i++)
		b->rd[i].result =
			vq->mem.read(vq->mem_payload, b->rd[i].addr, b->rd[i].dst, b->rd[i].len);
}

/* Phase 1: the heads and head descriptors of up to @n chains and their table reads; the first
 * chain's head is @first, already read. Returns how many chains the batch holds. */
static unsigned int batch_plan(struct vxen_vq *vq, struct batch *b, struct vxen_req **reqs,
			       unsigned int n, const struct chain_pre *first)
{
	unsigned int min_cap = UINT32_MAX, j;

	b->n_rd = 0;
	b->table_used = 0;
	for (j = 0; j < n; j++) {
		struct chain_pre *pre = &b->pre[j];

		min_cap = VXEN_MIN(min_cap, reqs[j]->desc_cap);
		if (j == 0) {
			*pre = *first;
		} else {
			pre->head = avail_head(vq, j);
			read_first(vq, pre);
		}
		if (!pre->valid)
			continue;
		if (pre->first.flags & VXEN_VRING_DESC_F_INDIRECT) {
			if (!plan_table(vq, b, j, min_cap))
				break;
		} else if (vq->indirect && (pre->first.flags & VXEN_VRING_DESC_F_NEXT)) {
			/* It may end in a table of its own, read into vq->table during the walk:
			 * it goes alone, in a batch that keeps nothing there. */
			if (j == 0)
				j = 1;
			break;
		}
	}
	return j;
}

/* Phase 3: the memory interface's batch end; failed chains are rejected, the others moved to
 * the front of @reqs. Returns how many remain. */
static unsigned int batch_end(struct vxen_vq *vq, struct vxen_req **reqs, unsigned int got,
			      unsigned int *rej)
{
	int res[VXEN_VQ_POP_MANY_MAX];
	unsigned int kept = 0;

	if (!vq->mem.map_many_end || !got)
		return got;
	vq->mem.map_many_end(vq->mem_payload, reqs, got, res);
	for (unsigned int i = 0; i < got; i++) {
		struct vxen_req *req = reqs[i];

		if (res[i]) {
			untake(vq, req);
			vq_reject(vq, req->head, mem_error(res[i]),
				  "memory interface refused a buffer");
			(*rej)++;
			continue;
		}
		reqs[i] = reqs[kept];
		reqs[kept++] = req;
	}
	return kept;
}

/*
 * Phase 2 for the chains left after the single-descriptor run of pop_many(): plan the batch
 * from @first on (its table reads), read the tables, walk and map in ring order; a rejected
 * chain leaves its request to the next. Returns the chains mapped into reqs[0 ..).
 */
static unsigned int pop_walked(struct vxen_vq *vq, struct vxen_req **reqs, unsigned int n,
			       const struct chain_pre *first, unsigned int *rej)
{
	unsigned int got = 0, k;
	struct batch b;

	k = batch_plan(vq, &b, reqs, n, first);
	consume_avail(vq, k);
	read_tables(vq, &b);
	for (unsigned int j = 0; j < k; j++) {
		const char *why = NULL;
		int r = take_chain(vq, reqs[got], &b.pre[j], &why);

		if (likely(!r)) {
			got++;
			continue;
		}
		vq_reject(vq, b.pre[j].head, r, why);
		(*rej)++;
	}
	return got;
}

/*
 * Phase 0 of pop_many(): chains of one direct descriptor (network frames, console and rng
 * buffers) need no table and no walk; they are taken straight through, in one pass, until the
 * first other chain or a request that cannot hold one. The same checks, outcome and request
 * fields as take_chain() gives them. Returns how many avail entries were used (taken or
 * rejected); *got_out counts the requests filled from reqs[0].
 */
static unsigned int pop_singles(struct vxen_vq *vq, struct vxen_req **reqs, unsigned int n,
				unsigned int *got_out, unsigned int *rej)
{
	unsigned int j, got = 0;

	for (j = 0; j < n; j++) {
		struct vxen_req *req = reqs[got];
		const char *why = NULL;
		struct chain_pre pre;
		int r;

		pre.head = avail_head(vq, j);
		if (!read_first(vq, &pre) || !is_single(vq, req, &pre))
			break;
		take_single(req, &pre.first);
		r = map_chain(vq, req, pre.head, &why);
		if (likely(!r)) {
			got++;
			continue;
		}
		vq_reject(vq, pre.head, r, why);
		(*rej)++;
	}
	*got_out = got;
	return j;
}

/*
 * pop_singles() on the library's plain memory without segment limit: the buffer translated in
 * place, the ring and memory bounds in locals. A zero-length buffer, which plain map() treats
 * apart, ends the run (the general path takes it). Out of line: its loop wants every register.
 */
static __attribute__((noinline)) unsigned int
pop_singles_plain(struct vxen_vq *vq, struct vxen_req **reqs, unsigned int n, unsigned int *got_out,
		  unsigned int *rej)
{
	const struct vxen_vq_plain_mem pm = *vq->plain;
	const uint16_t *ring = vq->avail_ring;
	const uint64_t *desc = vq->desc;
	struct vxen_req **inflight = vq->inflight, **next = reqs;
	uint16_t start = vq->last_avail, end = (uint16_t)(start + n), at, mask = vq->mask;

	/* (size is a power of two: head > mask is head >= size.) */
	for (at = start; at != end; at++) {
		uint16_t head = le16toh(__atomic_load_n(&ring[at & mask], __ATOMIC_RELAXED));
		struct vxen_req *req = *next;
		const uint64_t *dp = desc + 2 * (size_t)head;
		struct raw_desc d;
		uint32_t wflag;
		void *p;

		if (unlikely(head > mask || inflight[head] || !req->desc_cap || !req->iov_cap))
			break;
		decode(__atomic_load_n(&dp[0], __ATOMIC_RELAXED),
		       __atomic_load_n(&dp[1], __ATOMIC_RELAXED), &d);
		if (unlikely((d.flags & (VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_INDIRECT)) ||
			     !d.len))
			break;
		p = vq_plain_translate(&pm, d.addr, d.len);
		if (unlikely(!p)) {
			vq_reject(vq, head, -EFAULT, "memory interface refused a buffer");
			(*rej)++;
			continue;
		}
		/* VRING_DESC_F_WRITE and VXEN_DESC_F_WRITE are the same bit (asserted above). */
		wflag = d.flags & VXEN_DESC_F_WRITE;
		fill_single(req, d.addr, d.len, wflag);
		req->head = head;
		/* What vq_plain_map_one() would set, without its checks (all passed above). */
		memcpy(req->iov, &(struct iovec){ p, d.len }, sizeof(struct iovec));
		memcpy(&req->n_out, &(struct u32_pair){ 1 - wflag / 2, wflag / 2 },
		       sizeof(struct u32_pair));
		inflight[head] = req;
		next++;
	}
	vq->n_inflight += (unsigned int)(next - reqs);
	*got_out = (unsigned int)(next - reqs);
	return (uint16_t)(at - start);
}

VXEN_EXPORT int vxen_vq_pop_many(vxen_vq *vq, struct vxen_req **reqs, unsigned int n,
				 unsigned int *rejected)
{
	unsigned int got, rej = 0, j;
	struct chain_pre pre;
	int avail = available(vq);

	if (rejected)
		*rejected = 0;
	if (avail <= 0)
		return avail;
	n = VXEN_MIN(VXEN_MIN(n, VXEN_VQ_POP_MANY_MAX), (unsigned int)avail);
	if (vq->plain && !vq->plain->max_seg)
		j = pop_singles_plain(vq, reqs, n, &got, &rej);
	else
		j = pop_singles(vq, reqs, n, &got, &rej);
	consume_avail(vq, j);
	if (j < n) {
		/* The chain that ended the run, read afresh (nothing of the first look is used). */
		pre.head = avail_head(vq, 0);
		read_first(vq, &pre);
		got += pop_walked(vq, reqs + got, n - j, &pre, &rej);
	}
	got = batch_end(vq, reqs, got, &rej);
	vq->stats.popped += got;
	if (rejected)
		*rejected = rej;
	return (int)got;
}

VXEN_EXPORT int vxen_vq_push_many(vxen_vq *vq, struct vxen_req *const *reqs,
				  const uint32_t *written, unsigned int n)
{
	struct vxen_req **inflight = vq->inflight;
	used_elem *ring = vq->used_ring;
	uint16_t used = vq->used_shadow, mask = vq->mask;
	uint32_t size = vq->size;
	unsigned int done = 0;
	int rc = 0;

	if (!vq->plain) {
		for (unsigned int i = 0; i < n; i++)
			rc = push_one(vq, reqs[i], written ? written[i] : 0) ?: rc;
		return rc;
	}
	/* Plain memory (nothing to unmap, never staged): push_done() with the ring fields in
	 * locals, which each store below could otherwise be taken to change, and the counts
	 * added once. */
	for (unsigned int i = 0; i < n; i++) {
		struct vxen_req *req = reqs[i];
		uint16_t head = req->head;
		uint32_t w = written ? written[i] : 0;

		if (unlikely(head >= size || inflight[head] != req)) {
			rc = -EINVAL;
			continue;
		}
		if (w > req->in_len)
			w = (uint32_t)req->in_len;
		inflight[head] = NULL;
		ring[used++ & mask] = used_value(head, w);
		done++;
	}
	vq->used_shadow = used;
	vq->n_inflight -= done;
	vq->stats.pushed += done;
	return rc;
}
