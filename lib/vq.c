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
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/vq.h>

#include "internal.h"
#include "vq_ring.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

struct vxen_vq {
	/* Ring fields, located once at creation. */
	const uint64_t *desc; /* two little-endian words per descriptor */
	uint16_t *avail_flags;
	uint16_t *avail_idx;
	uint16_t *avail_ring;
	uint16_t *used_event; /* EVENT_IDX only */
	uint16_t *used_flags;
	uint16_t *used_idx;
	uint32_t *used_ring;   /* two words (id, len) per element */
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

	const struct vxen_vq_mem_ops *mem;
	void *mem_payload;
	struct vxen_vq_stats stats;
	struct vxen_ratelimit rl;
};

/* A descriptor as the driver wrote it, after the one read. */
struct raw_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
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

/* Walk the indirect table described by @ind (the last descriptor of the direct part). */
static int walk_indirect(struct vxen_vq *vq, struct walk *w, const struct raw_desc *ind)
{
	uint32_t n = ind->len / VXEN_VRING_DESC_SIZE;
	struct raw_desc d;
	uint16_t i = 0;
	int r;

	if (!vq->indirect)
		return fail(w, -EINVAL, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
	if (ind->flags & VXEN_VRING_DESC_F_NEXT)
		return fail(w, -EINVAL, "indirect descriptor with NEXT");
	if (n == 0 || ind->len % VXEN_VRING_DESC_SIZE || n > vq->size)
		return fail(w, -EINVAL, "bad indirect table length");
	if (w->n + n > w->req->desc_cap)
		return fail(w, -E2BIG, "indirect table larger than the request's descriptor array");
	r = vq->mem->read(vq->mem_payload, ind->addr, vq->table, ind->len);
	if (r)
		return fail(w, mem_error(r), "indirect table unreadable");

	/* The table is our private copy now: plain loads are fine. */
	for (uint32_t steps = 1;; steps++) {
		if (steps > n)
			return fail(w, -ELOOP, "descriptor loop in indirect table");
		decode(vq->table[2 * i], vq->table[2 * i + 1], &d);
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

/* Walk the chain starting at @head in the shared descriptor table. */
static int walk_chain(struct vxen_vq *vq, struct walk *w, uint16_t head)
{
	struct raw_desc d;
	uint16_t i = head;
	int r;

	for (uint32_t steps = 1;; steps++) {
		if (steps > vq->size)
			return fail(w, -ELOOP, "descriptor loop");
		read_shared_desc(vq, i, &d);
		if (d.flags & VXEN_VRING_DESC_F_INDIRECT)
			return walk_indirect(vq, w, &d);
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

/* Validate the chain at @head into @req, map it and mark it in flight. */
static int take_chain(struct vxen_vq *vq, struct vxen_req *req, uint16_t head, const char **why)
{
	struct walk w = { .req = req };
	int r;

	if (head >= vq->size)
		r = fail(&w, -EINVAL, "head index out of range");
	else if (vq->inflight[head])
		r = fail(&w, -EBUSY, "head already in flight");
	else
		r = walk_chain(vq, &w, head);
	if (!r && w.n > req->desc_cap)
		r = fail(&w, -E2BIG, "chain longer than the request's descriptor array");
	if (!r && w.out_len + w.in_len > UINT32_MAX)
		r = fail(&w, -E2BIG, "chain of 4 GiB or more");
	if (r) {
		*why = w.why;
		return r;
	}

	req->head = head;
	req->n_desc = w.n;
	req->n_out_desc = w.n_out;
	req->out_len = w.out_len;
	req->in_len = w.in_len;
	req->n_out = 0;
	req->n_in = 0;
	r = vq->mem->map(vq->mem_payload, req);
	if (r) {
		*why = "memory interface refused a buffer";
		return mem_error(r);
	}
	vq->inflight[head] = req;
	vq->n_inflight++;
	vq->stats.popped++;
	return 0;
}

/* Fill the next used element. Visible to the driver only after vxen_vq_publish(). */
static void write_used(struct vxen_vq *vq, uint16_t id, uint32_t len)
{
	uint32_t *e = vq->used_ring + 2 * (size_t)(vq->used_shadow & vq->mask);

	__atomic_store_n(&e[0], htole32(id), __ATOMIC_RELAXED);
	__atomic_store_n(&e[1], htole32(len), __ATOMIC_RELAXED);
	vq->used_shadow++;
	vq->stats.pushed++;
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

VXEN_EXPORT int vxen_vq_pop(vxen_vq *vq, struct vxen_req *req)
{
	const char *why = NULL;
	uint16_t head;
	int r;

	if (unlikely(vq->broken))
		return -EPROTO;
	/* One avail.idx read per batch: only when everything seen so far is consumed. */
	if (vq->last_avail == vq->avail_shadow) {
		r = fetch_avail(vq);
		if (r <= 0)
			return r;
	}
	head = le16toh(
		__atomic_load_n(&vq->avail_ring[vq->last_avail & vq->mask], __ATOMIC_RELAXED));
	vq->last_avail++;
	if (vq->event_idx && vq->kicks_on)
		/* Kicks wanted: ask for one at the next chain (see vxen_vq_kicks_enable() for the
		 * barrier that closes the race before sleeping). */
		__atomic_store_n(vq->avail_event, htole16(vq->last_avail), __ATOMIC_RELAXED);

	r = take_chain(vq, req, head, &why);
	if (unlikely(r)) {
		reject(vq, head, r, why);
		return r;
	}
	return 1;
}

VXEN_EXPORT int vxen_vq_push(vxen_vq *vq, struct vxen_req *req, uint32_t written)
{
	uint16_t head = req->head;

	if (head >= vq->size || vq->inflight[head] != req)
		return -EINVAL;
	if (written > req->in_len)
		written = (uint32_t)req->in_len;
	/* Unmap first: under Xen the guest revokes grants as soon as it sees the used entry. */
	vq->mem->unmap(vq->mem_payload, req, written);
	vq->inflight[head] = NULL;
	vq->n_inflight--;
	write_used(vq, head, written);
	return 0;
}

VXEN_EXPORT bool vxen_vq_publish(vxen_vq *vq)
{
	uint16_t old = vq->used_published;
	uint16_t new_idx = vq->used_shadow;
	bool need;

	if (old == new_idx)
		return false;
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
	return mem && mem->version == VXEN_VQ_MEM_OPS_VERSION && mem->read && mem->map &&
	       mem->unmap;
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
	vq->used_ring = (uint32_t *)&used[2];
	vq->avail_event = (uint16_t *)(vq->used_ring + 2 * (size_t)cfg->size);
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
	if (!vq->inflight || (vq->indirect && !vq->table)) {
		free(vq->inflight);
		free(vq->table);
		free(vq);
		return -ENOMEM;
	}
	locate_rings(vq, cfg);
	vq->size = cfg->size;
	vq->mask = (uint16_t)(cfg->size - 1);
	vq->index = cfg->index;
	vq->event_idx = cfg->features & (1ull << VXEN_F_EVENT_IDX);
	vq->kicks_on = true;
	vq->mem = cfg->mem;
	vq->mem_payload = cfg->mem_payload;

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
		vq->mem->unmap(vq->mem_payload, req, 0);
		vq->inflight[i] = NULL;
		vq->n_inflight--;
	}
	free(vq->table);
	free(vq->inflight);
	free(vq);
}
