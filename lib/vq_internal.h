/* SPDX-License-Identifier: MIT */
/*
 * lib/vq_internal.h — the split virtqueue's state and the steps shared by lib/vq.c (one chain
 * at a time: the walk, pop, push, publish, kicks) and lib/vq_batch.c (pop_many, push_many).
 * The shared-memory discipline and the chain rules are described at the top of lib/vq.c.
 * Not installed.
 */
#ifndef VXEN_VQ_INTERNAL_H
#define VXEN_VQ_INTERNAL_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <virtio-xen/vq.h>

#include "internal.h"
#include "vq_plain.h"
#include "vq_ring.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * A used element (le32 id, le32 len) as one 8-byte store: the ring is only 4-byte aligned, and
 * volatile keeps the compiler from splitting, repeating or inventing the store to guest memory.
 */
typedef volatile uint64_t __attribute__((aligned(4))) used_elem;
_Static_assert(sizeof(used_elem) == 8, "a used element is 8 bytes");

struct vxen_vq {
	/* Ring fields, located once at creation. */
	const uint64_t *desc; /* two little-endian words per descriptor */
	uint16_t *avail_flags;
	uint16_t *avail_idx;
	uint16_t *avail_ring;
	uint16_t *used_event; /* EVENT_IDX only */
	uint16_t *used_flags;
	uint16_t *used_idx;
	used_elem *used_ring;
	uint16_t *avail_event; /* EVENT_IDX only */

	uint32_t size;
	uint16_t mask;
	uint16_t index;
	bool event_idx;
	bool indirect;
	bool kicks_on;
	bool broken;

	/* Shadow indices: the device's own truth, never re-read from the rings. */
	uint16_t last_avail;	 /* next avail slot to consume */
	uint16_t avail_shadow;	 /* avail.idx as last read */
	uint16_t used_shadow;	 /* next used slot to fill */
	uint16_t used_published; /* used.idx as last stored */

	unsigned int n_inflight;
	struct vxen_req **inflight; /* per head: the request holding it, or NULL */
	uint64_t *table;	    /* indirect scratch: size descriptors (INDIRECT only) */
	/* Used elements pushed and not yet published, when the memory interface defers
	 * copy-outs to flush(): they reach the shared ring after the flushed data, so a buffer
	 * aliasing the used ring cannot overwrite them. NULL otherwise (written at push). */
	uint64_t *used_stage;

	/* The memory interface, copied at creation; a version 1 interface has no batch entry
	 * points (left NULL). */
	struct vxen_vq_mem_ops mem;
	void *mem_payload;
	/* The library's own plain-memory interface, recognised so that one-buffer chains are
	 * translated inline and its no-op unmap is not called; NULL for any other interface. */
	const struct vxen_vq_plain_mem *plain;
	struct vxen_vq_stats stats;
	struct vxen_ratelimit rl;
};

static inline uint64_t used_value(uint16_t id, uint32_t len)
{
	return htole64((uint64_t)len << 32 | id);
}

/* A descriptor as the driver wrote it, after the one read. */
struct raw_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* A chain about to be walked: its head and head descriptor (read once, when the head was a
 * valid idle index), and its indirect table if a batch read it already. */
struct chain_pre {
	uint16_t head;
	bool valid; /* head in range and idle: @first was read */
	struct raw_desc first;
	const struct vxen_vq_read *rd;
};

static inline void decode(uint64_t w0, uint64_t w1, struct raw_desc *d)
{
	/* In memory: le64 addr | le32 len, le16 flags, le16 next. */
	w1 = le64toh(w1);
	d->addr = le64toh(w0);
	d->len = (uint32_t)w1;
	d->flags = (uint16_t)(w1 >> 32);
	d->next = (uint16_t)(w1 >> 48);
}

/* Copy descriptor @i of the shared table: each word loaded once (relaxed: ordering comes from
 * the acquire load of avail.idx that made the chain visible). */
static inline void read_shared_desc(const struct vxen_vq *vq, uint16_t i, struct raw_desc *d)
{
	const uint64_t *p = vq->desc + 2 * (size_t)i;

	decode(__atomic_load_n(&p[0], __ATOMIC_RELAXED), __atomic_load_n(&p[1], __ATOMIC_RELAXED),
	       d);
}

/* The memory interface's errors as pop reports them: anything unexpected is the guest's
 * address being refused. */
static inline int mem_error(int r)
{
	return r == -ENOMEM || r == -E2BIG ? r : -EFAULT;
}

/* Two adjacent unsigned int fields of struct vxen_req, stored as one word. */
struct u32_pair {
	unsigned int a, b;
};
_Static_assert(offsetof(struct vxen_req, n_out_desc) ==
		       offsetof(struct vxen_req, n_desc) + sizeof(unsigned int),
	       "n_desc, n_out_desc adjacent");
_Static_assert(offsetof(struct vxen_req, n_in) ==
		       offsetof(struct vxen_req, n_out) + sizeof(unsigned int),
	       "n_out, n_in adjacent");
_Static_assert(offsetof(struct vxen_req, in_len) ==
		       offsetof(struct vxen_req, out_len) + sizeof(uint64_t),
	       "out_len, in_len adjacent");
_Static_assert(VXEN_VRING_DESC_F_WRITE == VXEN_DESC_F_WRITE, "one write flag");

/*
 * The request fields of a chain of one descriptor @addr, @len (@wflag: VXEN_DESC_F_WRITE or 0), as
 * walk_chain() would set them. Built in registers and stored whole: field by field, each
 * store through req->desc could be taken to change req->desc (-fno-strict-aliasing).
 */
static inline void fill_single(struct vxen_req *req, uint64_t addr, uint32_t len, uint32_t wflag)
{
	struct vxen_desc d = { .addr = addr, .len = len, .flags = (uint16_t)wflag };
	uint64_t lens[2] = { wflag ? 0 : len, wflag ? len : 0 };

	memcpy(req->desc, &d, sizeof(d));
	memcpy(&req->n_desc, &(struct u32_pair){ 1, !wflag }, sizeof(struct u32_pair));
	memcpy(&req->out_len, lens, sizeof(lens));
}

/*
 * The common chain of one direct descriptor (network frames, console and rng buffers) without
 * the walk: the same checks, outcome and request fields as walk_chain() gives it.
 */
static inline void take_single(struct vxen_req *req, const struct raw_desc *d)
{
	fill_single(req, d->addr, d->len, d->flags & VXEN_DESC_F_WRITE);
}

/* The general walk of any chain (lib/vq.c): validate the chain of @pre into @req, map it, mark
 * it in flight. 0 or the rejection's code, *@why its reason. */
int vq_take_walk(struct vxen_vq *vq, struct vxen_req *req, const struct chain_pre *pre,
		 const char **why);
/* The checks an INDIRECT descriptor must pass before its table is read; NULL if it passes. */
const char *vq_indirect_bad(const struct vxen_vq *vq, const struct raw_desc *ind);
/* A chain was refused: count, log, and give a valid idle head back to the driver. */
void vq_reject(struct vxen_vq *vq, uint16_t head, int err, const char *why);
/* Read avail.idx: chains available (0 .. size), or -EPROTO (the queue is broken for good). */
int vq_fetch_avail(struct vxen_vq *vq);

/* Map a validated chain and mark it in flight. */
static inline int map_chain(struct vxen_vq *vq, struct vxen_req *req, uint16_t head,
			    const char **why)
{
	int r;

	req->head = head;
	/* The library's plain memory needs no call for one buffer (vq_plain.h). */
	r = vq->plain ? vq_plain_map_one(vq->plain, req) : 1;
	if (r == 1) {
		req->n_out = 0;
		req->n_in = 0;
		r = vq->mem.map(vq->mem_payload, req);
	}
	if (unlikely(r)) {
		*why = "memory interface refused a buffer";
		return mem_error(r);
	}
	vq->inflight[head] = req;
	vq->n_inflight++;
	return 0;
}

/* A chain of one direct descriptor that @req can hold, its head idle now: take_single()
 * applies. (Idle when its head descriptor was read is not enough: in a batch, an earlier chain
 * with the same head may have been taken since.) */
static inline bool is_single(const struct vxen_vq *vq, const struct vxen_req *req,
			     const struct chain_pre *pre)
{
	return pre->valid && !vq->inflight[pre->head] && req->desc_cap &&
	       !(pre->first.flags & (VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_INDIRECT));
}

/* Validate the chain of @pre into @req, map it and mark it in flight. */
static inline int take_chain(struct vxen_vq *vq, struct vxen_req *req, const struct chain_pre *pre,
			     const char **why)
{
	if (likely(is_single(vq, req, pre))) {
		take_single(req, &pre->first);
		return map_chain(vq, req, pre->head, why);
	}
	return vq_take_walk(vq, req, pre, why);
}

/* Undo take_chain() for a request whose mapping failed at the batch's end (already released
 * by the memory interface). */
static inline void untake(struct vxen_vq *vq, const struct vxen_req *req)
{
	vq->inflight[req->head] = NULL;
	vq->n_inflight--;
}

/* Fill the next used element. Visible to the driver only after vxen_vq_publish(). */
static inline void write_used(struct vxen_vq *vq, uint16_t id, uint32_t len)
{
	uint16_t at = vq->used_shadow & vq->mask;

	if (vq->used_stage)
		vq->used_stage[at] = used_value(id, len);
	else
		vq->used_ring[at] = used_value(id, len);
	vq->used_shadow++;
	vq->stats.pushed++;
}

/*
 * How many chains may be taken now (0 .. size): what the last avail.idx read showed, or a new
 * read once that is consumed. -EPROTO on a broken queue.
 */
static inline int available(struct vxen_vq *vq)
{
	if (unlikely(vq->broken))
		return -EPROTO;
	/* One avail.idx read per batch: only when everything seen so far is consumed. */
	if (vq->last_avail != vq->avail_shadow)
		return (uint16_t)(vq->avail_shadow - vq->last_avail);
	return vq_fetch_avail(vq);
}

/* Take the next @n avail entries off the ring (their heads were read). */
static inline void consume_avail(struct vxen_vq *vq, unsigned int n)
{
	vq->last_avail += n;
	if (vq->event_idx && vq->kicks_on)
		/* Kicks wanted: ask for one at the next chain (see vxen_vq_kicks_enable() for the
		 * barrier that closes the race before sleeping). */
		__atomic_store_n(vq->avail_event, htole16(vq->last_avail), __ATOMIC_RELAXED);
}

static inline uint16_t avail_head(const struct vxen_vq *vq, unsigned int ahead)
{
	uint16_t slot = (uint16_t)(vq->last_avail + ahead) & vq->mask;

	return le16toh(__atomic_load_n(&vq->avail_ring[slot], __ATOMIC_RELAXED));
}

/* Read the head descriptor of @pre if its head is a valid idle index (else take_chain()
 * rejects it without looking further). */
static inline bool read_first(const struct vxen_vq *vq, struct chain_pre *pre)
{
	pre->rd = NULL;
	pre->valid = pre->head < vq->size && !vq->inflight[pre->head];
	if (pre->valid)
		read_shared_desc(vq, pre->head, &pre->first);
	return pre->valid;
}

/* The end of a push: the head is idle again and its used entry written. */
static inline void push_done(struct vxen_vq *vq, uint16_t head, uint32_t written)
{
	vq->inflight[head] = NULL;
	vq->n_inflight--;
	write_used(vq, head, written);
}

/* Unmap @req through the memory interface, then push_done() (lib/vq.c). */
void vq_push_unmap(struct vxen_vq *vq, struct vxen_req *req, uint32_t written);

/* @written clamped to what @req can hold, if @req is in flight here; else -EINVAL. */
static inline int64_t push_check(const struct vxen_vq *vq, const struct vxen_req *req,
				 uint32_t written)
{
	uint16_t head = req->head;

	if (unlikely(head >= vq->size || vq->inflight[head] != req))
		return -EINVAL;
	return written > req->in_len ? (uint32_t)req->in_len : written;
}

static inline int push_one(struct vxen_vq *vq, struct vxen_req *req, uint32_t written)
{
	int64_t w = push_check(vq, req, written);

	if (unlikely(w < 0))
		return (int)w;
	if (vq->plain)
		push_done(vq, req->head, (uint32_t)w);
	else
		vq_push_unmap(vq, req, (uint32_t)w);
	return 0;
}

#endif /* VXEN_VQ_INTERNAL_H */
