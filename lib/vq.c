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
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
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
	 * points (NULL). */
	int (*read)(void *payload, uint64_t addr, void *dst, size_t len);
	int (*map)(void *payload, struct vxen_req *req);
	void (*unmap)(void *payload, struct vxen_req *req, size_t written);
	void (*read_many)(void *payload, struct vxen_vq_read *rd, unsigned int n);
	void (*map_many_end)(void *payload, struct vxen_req *const *reqs, unsigned int n, int *res);
	void (*flush)(void *payload);
	void (*discard)(void *payload);
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

/* State of one chain walk. */
struct walk {
	struct vxen_req *req;
	unsigned int n;	    /* descriptors seen; stored while n < desc_cap */
	unsigned int n_out; /* of which device-readable */
	uint64_t out_len;
	uint64_t in_len;
	const char *why; /* reason of a rejection, for the log */
};

static void decode(uint64_t w0, uint64_t w1, struct raw_desc *d)
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
static void read_shared_desc(const struct vxen_vq *vq, uint16_t i, struct raw_desc *d)
{
	const uint64_t *p = vq->desc + 2 * (size_t)i;

	decode(__atomic_load_n(&p[0], __ATOMIC_RELAXED), __atomic_load_n(&p[1], __ATOMIC_RELAXED),
	       d);
}

/* The memory interface's errors as pop reports them: anything unexpected is the guest's
 * address being refused. */
static int mem_error(int r)
{
	return r == -ENOMEM || r == -E2BIG ? r : -EFAULT;
}

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

/* The checks an INDIRECT descriptor must pass before its table is read; NULL if it passes. */
static const char *indirect_bad(const struct vxen_vq *vq, const struct raw_desc *ind)
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
	const char *bad = indirect_bad(vq, ind);
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
		r = vq->read(vq->mem_payload, ind->addr, vq->table, ind->len);
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
static void take_single(struct vxen_req *req, const struct raw_desc *d)
{
	fill_single(req, d->addr, d->len, d->flags & VXEN_DESC_F_WRITE);
}

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
		r = vq->map(vq->mem_payload, req);
	}
	if (unlikely(r)) {
		*why = "memory interface refused a buffer";
		return mem_error(r);
	}
	vq->inflight[head] = req;
	vq->n_inflight++;
	return 0;
}

/* Validate any chain of @pre into @req (the general walk). */
static __attribute__((noinline)) int take_walk(struct vxen_vq *vq, struct vxen_req *req,
					       const struct chain_pre *pre, const char **why)
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
	return take_walk(vq, req, pre, why);
}

/* Undo take_chain() for a request whose mapping failed at the batch's end (already released
 * by the memory interface). */
static void untake(struct vxen_vq *vq, const struct vxen_req *req)
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

/* Deferred copy-outs first, then the staged used elements (see used_stage). */
static void flush_staged(struct vxen_vq *vq, uint16_t from, uint16_t to)
{
	vq->flush(vq->mem_payload);
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

/* A chain was refused: count, log, and give a valid idle head back to the driver. */
static void reject(struct vxen_vq *vq, uint16_t head, int err, const char *why)
{
	count_rejection(&vq->stats, err);
	vxen_log_guest(&vq->rl, err == -ENOMEM ? LOG_ERR : LOG_WARNING,
		       "vq %u: chain at head %u rejected (%d): %s", vq->index, head, err, why);
	/* -EBUSY: the head belongs to a request still in flight; its push will return it. */
	if (err != -EBUSY && head < vq->size)
		write_used(vq, head, 0);
}

/*
 * Read avail.idx. Returns how many chains are available (0 .. size), or -EPROTO when the index
 * is impossible — more than size ahead of what we consumed, which is also how an index moving
 * backwards looks in 16-bit arithmetic — and then breaks the queue for good.
 */
static int fetch_avail(struct vxen_vq *vq)
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

/*
 * How many chains may be taken now (0 .. size): what the last avail.idx read showed, or a new
 * read once that is consumed. -EPROTO on a broken queue.
 */
static int available(struct vxen_vq *vq)
{
	if (unlikely(vq->broken))
		return -EPROTO;
	/* One avail.idx read per batch: only when everything seen so far is consumed. */
	if (vq->last_avail != vq->avail_shadow)
		return (uint16_t)(vq->avail_shadow - vq->last_avail);
	return fetch_avail(vq);
}

/* Take the next @n avail entries off the ring (their heads were read). */
static void consume_avail(struct vxen_vq *vq, unsigned int n)
{
	vq->last_avail += n;
	if (vq->event_idx && vq->kicks_on)
		/* Kicks wanted: ask for one at the next chain (see vxen_vq_kicks_enable() for the
		 * barrier that closes the race before sleeping). */
		__atomic_store_n(vq->avail_event, htole16(vq->last_avail), __ATOMIC_RELAXED);
}

static uint16_t avail_head(const struct vxen_vq *vq, unsigned int ahead)
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

/* Finish a popped request: the memory interface's batch end for a batch of one. */
static int map_end_one(struct vxen_vq *vq, struct vxen_req *req)
{
	int res = 0;

	if (vq->map_many_end) {
		vq->map_many_end(vq->mem_payload, &req, 1, &res);
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
		reject(vq, pre.head, r, why);
		return r;
	}
	vq->stats.popped++;
	return 1;
}

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

	if (indirect_bad(vq, d))
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
	if (vq->read_many) {
		vq->read_many(vq->mem_payload, b->rd, b->n_rd);
		return;
	}
	for (unsigned int i = 0; i < b->n_rd; i++)
		b->rd[i].result =
			vq->read(vq->mem_payload, b->rd[i].addr, b->rd[i].dst, b->rd[i].len);
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

	if (!vq->map_many_end || !got)
		return got;
	vq->map_many_end(vq->mem_payload, reqs, got, res);
	for (unsigned int i = 0; i < got; i++) {
		struct vxen_req *req = reqs[i];

		if (res[i]) {
			untake(vq, req);
			reject(vq, req->head, mem_error(res[i]),
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
		reject(vq, b.pre[j].head, r, why);
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
		reject(vq, pre.head, r, why);
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
		uint64_t addr, off;
		uint32_t len, wflag;
		struct raw_desc d;

		if (unlikely(head > mask || inflight[head] || !req->desc_cap || !req->iov_cap))
			break;
		decode(__atomic_load_n(&dp[0], __ATOMIC_RELAXED),
		       __atomic_load_n(&dp[1], __ATOMIC_RELAXED), &d);
		addr = d.addr;
		len = d.len;
		if (unlikely((d.flags & (VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_INDIRECT)) ||
			     !len))
			break;
		/* vq_plain_translate(), without its NULL for "outside" */
		off = addr - pm.base;
		if (unlikely(addr < pm.base || off > pm.size || len > pm.size - off)) {
			reject(vq, head, -EFAULT, "memory interface refused a buffer");
			(*rej)++;
			continue;
		}
		/* VRING_DESC_F_WRITE and VXEN_DESC_F_WRITE are the same bit (asserted above). */
		wflag = d.flags & VXEN_DESC_F_WRITE;
		fill_single(req, addr, len, wflag);
		req->head = head;
		memcpy(req->iov, &(struct iovec){ (char *)pm.host + off, len },
		       sizeof(struct iovec));
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

/* The end of a push: the head is idle again and its used entry written. */
static inline void push_done(struct vxen_vq *vq, uint16_t head, uint32_t written)
{
	vq->inflight[head] = NULL;
	vq->n_inflight--;
	write_used(vq, head, written);
}

/* A push through a memory interface that holds something for the request: unmap first, since
 * under Xen the guest revokes grants as soon as it sees the used entry. Out of line, so that a
 * push on plain memory (nothing to release) needs no stack frame. */
static __attribute__((noinline)) void push_unmap(struct vxen_vq *vq, struct vxen_req *req,
						 uint32_t written)
{
	vq->unmap(vq->mem_payload, req, written);
	push_done(vq, req->head, written);
}

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
		push_unmap(vq, req, (uint32_t)w);
	return 0;
}

VXEN_EXPORT int vxen_vq_push(vxen_vq *vq, struct vxen_req *req, uint32_t written)
{
	return push_one(vq, req, written);
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

VXEN_EXPORT bool vxen_vq_publish(vxen_vq *vq)
{
	uint16_t old = vq->used_published;
	uint16_t new_idx = vq->used_shadow;
	bool need;

	if (old == new_idx)
		return false;
	/* Written bytes the memory interface still holds reach the guest before the entries. */
	if (vq->flush)
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
	return fetch_avail(vq) != 0;
}

VXEN_EXPORT unsigned int vxen_vq_pending(vxen_vq *vq)
{
	int n;

	if (vq->broken)
		return 0;
	n = fetch_avail(vq);
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
	vq->read = cfg->mem->read;
	vq->map = cfg->mem->map;
	vq->unmap = cfg->mem->unmap;
	if (cfg->mem->version >= 2) {
		/* Fields a version 1 caller's struct does not have. */
		vq->read_many = cfg->mem->read_many;
		vq->map_many_end = cfg->mem->map_many_end;
		vq->flush = cfg->mem->flush;
		vq->discard = cfg->mem->discard;
	}
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
		vq->unmap(vq->mem_payload, req, 0);
		vq->inflight[i] = NULL;
		vq->n_inflight--;
	}
	if (vq->discard)
		vq->discard(vq->mem_payload); /* pushed, never published: dropped */
	free(vq->table);
	free(vq->used_stage);
	free(vq->inflight);
	free(vq);
}
