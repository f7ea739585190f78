/* SPDX-License-Identifier: MIT */
/*
 * lib/vq.c — device side of the split virtqueue (include/virtio-xen/vq.h).
 *
 * Shared memory discipline. The three ring areas are guest memory that the guest can change at
 * any moment, from another CPU. Every field is read with one atomic load into a local, and only
 * the local is validated and used; nothing is read twice. Descriptors are copied (two 64-bit
 * loads each) before they are looked at; indirect tables are copied whole into a per-queue
 * scratch table with mem->read. Device-owned fields (used.idx, used.flags, avail_event) are
 * written from shadow copies and never read back.
 *
 * Chain rules (vq.h lists the error codes). A chain is a direct part in the descriptor table —
 * at most queue-size descriptors, including an optional final INDIRECT descriptor — followed by
 * at most one indirect table of at most queue-size entries, of which at most the table's own
 * entry count are followed. The two bounds are separate: a chain of queue-size direct
 * descriptors is accepted, one more step is -ELOOP; likewise inside a table of n entries. The
 * spec bounds a chain by the queue size and a table by its own length, and requires devices to
 * accept direct descriptors followed by a table, so a combined bound could refuse a chain the
 * spec allows; Linux drivers never mix the two, so the choice never bites them.
 * A walk that outgrows the request's desc array keeps validating without storing, so a loop is
 * still reported as -ELOOP and only a well-formed, too-long chain is -E2BIG. An indirect table
 * that cannot fit is refused before it is read (no copy amplification).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "vq_internal.h"

/* State of one chain walk. */
struct walk {
	struct vxen_req *req;
	unsigned int n;	    /* descriptors seen; stored while n < desc_cap */
	unsigned int n_out; /* of which device-readable */
	uint64_t out_len;
	uint64_t in_len;
	const char *why; /* reason of a rejection, for the log */
};

static int fail(struct walk *w, int err, const char *why)
{
	w->why = why;
	return err;
}

/* Append one data descriptor to the walk. */
static int add_desc(struct walk *w, const struct raw_desc *d)
{
	bool wr = d->flags & VXEN_VRING_DESC_F_WRITE;

	if (!wr && w->n > w->n_out)
		return fail(w, -EINVAL, "readable descriptor after a writable one");
	if (w->n < w->req->desc_cap) {
		struct vxen_desc *o = &w->req->desc[w->n];

		o->addr = d->addr;
		o->len = d->len;
		o->flags = wr ? VXEN_DESC_F_WRITE : 0;
		o->pad = 0;
	}
	w->n++;
	if (wr) {
		w->in_len += d->len;
	} else {
		w->out_len += d->len;
		w->n_out++;
	}
	return 0;
}

const char *vq_indirect_bad(const struct vxen_vq *vq, const struct raw_desc *ind)
{
	if (!vq->indirect)
		return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
	if (ind->flags & VXEN_VRING_DESC_F_NEXT)
		return "indirect descriptor with NEXT";
	if (ind->len == 0 || ind->len % VXEN_VRING_DESC_SIZE ||
	    ind->len / VXEN_VRING_DESC_SIZE > vq->size)
		return "bad indirect table length";
	return NULL;
}

/*
 * Walk the indirect table described by @ind (the last descriptor of the direct part). @rd is
 * the table as a batch already read it, or NULL to read it now into vq->table (a batch never
 * leaves a table to be read here while it keeps other tables in vq->table: see pop_many).
 */
static int walk_indirect(struct vxen_vq *vq, struct walk *w, const struct raw_desc *ind,
			 const struct vxen_vq_read *rd)
{
	uint32_t n = ind->len / VXEN_VRING_DESC_SIZE;
	const char *bad = vq_indirect_bad(vq, ind);
	const uint64_t *table = vq->table;
	struct raw_desc d;
	uint16_t i = 0;
	int r;

	if (bad)
		return fail(w, -EINVAL, bad);
	if (w->n + n > w->req->desc_cap)
		return fail(w, -E2BIG, "indirect table larger than the request's descriptor array");
	if (rd) {
		r = rd->result;
		table = rd->dst;
	} else {
		r = vq->mem.read(vq->mem_payload, ind->addr, vq->table, ind->len);
	}
	if (r)
		return fail(w, mem_error(r), "indirect table unreadable");

	/* The table is our private copy now: plain loads are fine. */
	for (uint32_t steps = 1;; steps++) {
		if (steps > n)
			return fail(w, -ELOOP, "descriptor loop in indirect table");
		decode(table[2 * i], table[2 * i + 1], &d);
		if (d.flags & VXEN_VRING_DESC_F_INDIRECT)
			return fail(w, -EINVAL, "nested indirect table");
		r = add_desc(w, &d);
		if (r)
			return r;
		if (!(d.flags & VXEN_VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return fail(w, -EINVAL, "next index out of range in indirect table");
		i = d.next;
	}
}

/* Walk the chain of @pre in the shared descriptor table (its head descriptor already read). */
static int walk_chain(struct vxen_vq *vq, struct walk *w, const struct chain_pre *pre)
{
	struct raw_desc d = pre->first;
	uint16_t i = pre->head;
	int r;

	for (uint32_t steps = 1;; steps++) {
		if (steps > vq->size)
			return fail(w, -ELOOP, "descriptor loop");
		if (steps > 1)
			read_shared_desc(vq, i, &d);
		if (d.flags & VXEN_VRING_DESC_F_INDIRECT)
			return walk_indirect(vq, w, &d, steps == 1 ? pre->rd : NULL);
		r = add_desc(w, &d);
		if (r)
			return r;
		if (!(d.flags & VXEN_VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return fail(w, -EINVAL, "next index out of range");
		i = d.next;
	}
}

/* Validate any chain of @pre into @req (the general walk). */
int vq_take_walk(struct vxen_vq *vq, struct vxen_req *req, const struct chain_pre *pre,
		 const char **why)
{
	uint16_t head = pre->head;
	struct walk w = { .req = req };
	int r;

	if (head >= vq->size)
		r = fail(&w, -EINVAL, "head index out of range");
	else if (vq->inflight[head])
		r = fail(&w, -EBUSY, "head already in flight");
	else
		r = walk_chain(vq, &w, pre);
	if (!r && w.n > req->desc_cap)
		r = fail(&w, -E2BIG, "chain longer than the request's descriptor array");
	if (!r && w.out_len + w.in_len > UINT32_MAX)
		r = fail(&w, -E2BIG, "chain of 4 GiB or more");
	if (r) {
		*why = w.why;
		return r;
	}
	req->n_desc = w.n;
	req->n_out_desc = w.n_out;
	req->out_len = w.out_len;
	req->in_len = w.in_len;
	return map_chain(vq, req, head, why);
}

/* Deferred copy-outs first, then the staged used elements (see used_stage). */
static void flush_staged(struct vxen_vq *vq, uint16_t from, uint16_t to)
{
	vq->mem.flush(vq->mem_payload);
	for (uint16_t i = from; i != to; i++) {
		uint16_t at = i & vq->mask;

		vq->used_ring[at] = vq->used_stage[at];
	}
}

static void count_rejection(struct vxen_vq_stats *st, int err)
{
	st->rejected++;
	switch (err) {
	case -EINVAL:
		st->rej_einval++;
		break;
	case -ELOOP:
		st->rej_eloop++;
		break;
	case -E2BIG:
		st->rej_e2big++;
		break;
	case -EBUSY:
		st->rej_ebusy++;
		break;
	case -ENOMEM:
		st->rej_enomem++;
		break;
	default:
		st->rej_efault++;
		break;
	}
}

void vq_reject(struct vxen_vq *vq, uint16_t head, int err, const char *why)
{
	count_rejection(&vq->stats, err);
	vxen_log_guest(&vq->rl, err == -ENOMEM ? LOG_ERR : LOG_WARNING,
		       "vq %u: chain at head %u rejected (%d): %s", vq->index, head, err, why);
	/* -EBUSY: the head belongs to a request still in flight; its push will return it. */
	if (err != -EBUSY && head < vq->size)
		write_used(vq, head, 0);
}

/* An impossible avail.idx is more than size ahead of what we consumed, which is also how an
 * index moving backwards looks in 16-bit arithmetic. */
int vq_fetch_avail(struct vxen_vq *vq)
{
	/* Acquire: pairs with the driver's virtio_wmb() before it stores avail.idx
	 * (virtqueue_add_split), so the ring entries and descriptors it published before that
	 * store are visible to the loads that follow this one. */
	uint16_t idx = le16toh(__atomic_load_n(vq->avail_idx, __ATOMIC_ACQUIRE));
	uint16_t n = idx - vq->last_avail;

	if (unlikely(n > vq->size)) {
		vq->broken = true;
		vq->stats.broken = 1;
		vxen_log_guest(&vq->rl, LOG_ERR,
			       "vq %u: avail.idx %u is %u entries past %u (queue size %u): "
			       "ring corrupt, queue broken",
			       vq->index, idx, n, vq->last_avail, vq->size);
		return -EPROTO;
	}
	vq->avail_shadow = idx;
	return n;
}

/* Finish a popped request: the memory interface's batch end for a batch of one. */
static int map_end_one(struct vxen_vq *vq, struct vxen_req *req)
{
	int res = 0;

	if (vq->mem.map_many_end) {
		vq->mem.map_many_end(vq->mem_payload, &req, 1, &res);
		if (res)
			untake(vq, req);
	}
	return res ? mem_error(res) : 0;
}

VXEN_EXPORT int vxen_vq_pop(vxen_vq *vq, struct vxen_req *req)
{
	const char *why = "memory interface refused a buffer";
	struct chain_pre pre;
	int r = available(vq);

	if (r <= 0)
		return r;
	pre.head = avail_head(vq, 0);
	consume_avail(vq, 1);
	read_first(vq, &pre);
	r = take_chain(vq, req, &pre, &why);
	if (!r)
		r = map_end_one(vq, req);
	if (unlikely(r)) {
		vq_reject(vq, pre.head, r, why);
		return r;
	}
	vq->stats.popped++;
	return 1;
}

/* Unmap first: under Xen the guest revokes grants as soon as it sees the used entry. Out of
 * line, so that a push on plain memory (nothing to release) needs no stack frame. */
void vq_push_unmap(struct vxen_vq *vq, struct vxen_req *req, uint32_t written)
{
	vq->mem.unmap(vq->mem_payload, req, written);
	push_done(vq, req->head, written);
}

VXEN_EXPORT int vxen_vq_push(vxen_vq *vq, struct vxen_req *req, uint32_t written)
{
	return push_one(vq, req, written);
}

VXEN_EXPORT bool vxen_vq_publish(vxen_vq *vq)
{
	uint16_t old = vq->used_published;
	uint16_t new_idx = vq->used_shadow;
	bool need;

	if (old == new_idx)
		return false;
	/* Written bytes the memory interface still holds reach the guest before the entries. */
	if (vq->mem.flush)
		flush_staged(vq, old, new_idx);
	/* Release: the used elements written by push are visible before the new index; pairs
	 * with the driver's virtio_rmb() after it reads used.idx (virtqueue_get_buf_ctx_split). */
	__atomic_store_n(vq->used_idx, htole16(new_idx), __ATOMIC_RELEASE);
	vq->used_published = new_idx;
	vq->stats.published++;
	/* Full barrier: the used.idx store must be globally visible before we read used_event or
	 * avail.flags. Pairs with the driver's virtio_mb() between writing used_event (or clearing
	 * NO_INTERRUPT) and re-reading used.idx (virtqueue_enable_cb → virtqueue_poll): either it
	 * sees our entries, or we see its request for an interrupt. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx)
		need = vxen_vring_need_event(
			le16toh(__atomic_load_n(vq->used_event, __ATOMIC_RELAXED)), new_idx, old);
	else
		need = !(le16toh(__atomic_load_n(vq->avail_flags, __ATOMIC_RELAXED)) &
			 VXEN_VRING_AVAIL_F_NO_INTERRUPT);
	if (need)
		vq->stats.notifies++;
	else
		vq->stats.suppressed++;
	return need;
}

VXEN_EXPORT void vxen_vq_kicks_disable(vxen_vq *vq)
{
	vq->kicks_on = false;
	/* With EVENT_IDX there is nothing to write: avail_event simply stops moving. */
	if (!vq->event_idx)
		__atomic_store_n(vq->used_flags, htole16(VXEN_VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
}

VXEN_EXPORT bool vxen_vq_kicks_enable(vxen_vq *vq)
{
	vq->kicks_on = true;
	if (vq->event_idx)
		__atomic_store_n(vq->avail_event, htole16(vq->last_avail), __ATOMIC_RELAXED);
	else
		__atomic_store_n(vq->used_flags, 0, __ATOMIC_RELAXED);
	/* Full barrier: our store above must be visible before we re-read avail.idx. Pairs with
	 * the driver's virtio_mb() between storing avail.idx and reading avail_event / used.flags
	 * (virtqueue_kick_prepare_split): either it sees that we want a kick, or we see its new
	 * chains here. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->broken)
		return false;
	/* Finding the ring corrupt here also says "pop again": that pop reports -EPROTO. */
	return vq_fetch_avail(vq) != 0;
}

VXEN_EXPORT unsigned int vxen_vq_pending(vxen_vq *vq)
{
	int n;

	if (vq->broken)
		return 0;
	n = vq_fetch_avail(vq);
	return n > 0 ? (unsigned int)n : 0;
}

VXEN_EXPORT unsigned int vxen_vq_inflight(const vxen_vq *vq)
{
	return vq->n_inflight;
}

VXEN_EXPORT bool vxen_vq_broken(const vxen_vq *vq)
{
	return vq->broken;
}

VXEN_EXPORT const struct vxen_vq_stats *vxen_vq_stats(const vxen_vq *vq)
{
	return &vq->stats;
}

VXEN_EXPORT uint32_t vxen_vq_size(const vxen_vq *vq)
{
	return vq->size;
}

VXEN_EXPORT uint16_t vxen_vq_index(const vxen_vq *vq)
{
	return vq->index;
}

static bool mem_ops_ok(const struct vxen_vq_mem_ops *mem)
{
	return mem && (mem->version == 1 || mem->version == VXEN_VQ_MEM_OPS_VERSION) && mem->read &&
	       mem->map && mem->unmap;
}

static bool config_ok(const struct vxen_vq_config *cfg)
{
	if (!cfg || cfg->version != VXEN_VQ_CONFIG_VERSION || cfg->layout != VXEN_VQ_SPLIT)
		return false;
	if (cfg->size == 0 || cfg->size > VXEN_VQ_MAX_SIZE || (cfg->size & (cfg->size - 1)))
		return false;
	if (cfg->features & (1ull << VXEN_F_RING_PACKED))
		return false;
	if (!cfg->desc || !cfg->avail || !cfg->used)
		return false;
	if ((uintptr_t)cfg->desc % 16 || (uintptr_t)cfg->avail % 2 || (uintptr_t)cfg->used % 4)
		return false;
	return mem_ops_ok(cfg->mem);
}

/* Point the queue at its ring fields. */
static void locate_rings(struct vxen_vq *vq, const struct vxen_vq_config *cfg)
{
	uint16_t *avail = cfg->avail;
	uint16_t *used = cfg->used;

	vq->desc = cfg->desc;
	vq->avail_flags = &avail[0];
	vq->avail_idx = &avail[1];
	vq->avail_ring = &avail[2];
	vq->used_event = &avail[2 + cfg->size];
	vq->used_flags = &used[0];
	vq->used_idx = &used[1];
	vq->used_ring = (used_elem *)&used[2];
	vq->avail_event = (uint16_t *)(vq->used_ring + cfg->size);
}

VXEN_EXPORT int vxen_vq_new(vxen_vq **out, const struct vxen_vq_config *cfg)
{
	struct vxen_vq *vq;

	if (!out || !config_ok(cfg))
		return -EINVAL;
	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return -ENOMEM;
	vq->inflight = calloc(cfg->size, sizeof(*vq->inflight));
	vq->indirect = cfg->features & (1ull << VXEN_F_INDIRECT_DESC);
	if (vq->indirect)
		vq->table = malloc(VXEN_VRING_DESC_SIZE * (size_t)cfg->size);
	if (cfg->mem->version >= 2 && cfg->mem->flush)
		vq->used_stage = malloc(sizeof(uint64_t) * cfg->size);
	if (!vq->inflight || (vq->indirect && !vq->table) ||
	    (cfg->mem->version >= 2 && cfg->mem->flush && !vq->used_stage)) {
		free(vq->inflight);
		free(vq->table);
		free(vq->used_stage);
		free(vq);
		return -ENOMEM;
	}
	locate_rings(vq, cfg);
	vq->size = cfg->size;
	vq->mask = (uint16_t)(cfg->size - 1);
	vq->index = cfg->index;
	vq->event_idx = cfg->features & (1ull << VXEN_F_EVENT_IDX);
	vq->kicks_on = true;
	/* A version 1 caller's struct ends before the batch entry points. */
	memcpy(&vq->mem, cfg->mem,
	       cfg->mem->version >= 2 ? sizeof(vq->mem)
				      : offsetof(struct vxen_vq_mem_ops, read_many));
	vq->mem_payload = cfg->mem_payload;
	if (cfg->mem == &vq_plain_ops)
		vq->plain = cfg->mem_payload;

	/* The device owns the used ring header: start it as after a reset (no used entries,
	 * kicks wanted at the first chain). */
	__atomic_store_n(vq->used_flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(vq->used_idx, 0, __ATOMIC_RELAXED);
	if (vq->event_idx)
		__atomic_store_n(vq->avail_event, 0, __ATOMIC_RELAXED);
	*out = vq;
	return 0;
}

VXEN_EXPORT void vxen_vq_free(vxen_vq *vq)
{
	if (!vq)
		return;
	for (uint32_t i = 0; i < vq->size && vq->n_inflight; i++) {
		struct vxen_req *req = vq->inflight[i];

		if (!req)
			continue;
		vq->mem.unmap(vq->mem_payload, req, 0);
		vq->inflight[i] = NULL;
		vq->n_inflight--;
	}
	if (vq->mem.discard)
		vq->mem.discard(vq->mem_payload); /* pushed, never published: dropped */
	free(vq->table);
	free(vq->used_stage);
	free(vq->inflight);
	free(vq);
}
