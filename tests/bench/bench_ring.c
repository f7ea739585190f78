/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_ring.c — the ring alone, on plain memory: ns per pop + push of the library's
 * vxen_vq (with vxen_vq_plain_mem_ops) next to an unchecked minimal consumer of the same split
 * ring layout (no validation at all: the floor for this memory layout), for chains of 1 and 4
 * descriptors, direct and indirect.
 *
 * Method: a ring of 256 entries. Untimed, the "driver" makes a batch of chains available (the
 * descriptors and indirect tables never change, only the avail ring and index are written);
 * timed, the device pops and pushes every chain of the batch one after the other and publishes
 * once. Both consumers see identical memory and do the same work a device needs: read each
 * descriptor, turn addresses into iovecs, write the used entry, publish with EVENT_IDX. Kicks
 * are disabled during the run (as the device layer does while draining), so neither writes
 * avail_event. A third consumer is the library over a trivial memory interface (no bounds
 * checks), which separates the ring walker's cost from the plain-memory interface's. Rounds
 * alternate between the consumers; each figure is the best round (the least disturbed by the
 * other tenants of the machine).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/vq.h>

#include "bench.h"

#define NUM	256u
#define MAXSEG	8u
#define ROUNDS	7
#define F_NEXT	1u
#define F_WRITE 2u
#define F_INDIR 4u

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vused {
	uint32_t id, len;
};

/* Guest memory: rings, indirect tables, data; guest address = offset in mem. */
struct layout {
	uint8_t *mem;
	size_t size;
	struct vdesc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[NUM], used_event */
	volatile uint16_t *used;  /* flags, idx, then used elements, then avail_event */
	struct vused *used_ring;
	uint16_t avail_idx;
	unsigned int per_batch; /* chains one batch makes available */
	uint16_t heads[NUM];
};

#define OFF_DESC  0u
#define OFF_AVAIL (16u * NUM)
#define OFF_USED  (OFF_AVAIL + 4096u)
#define OFF_INDIR (OFF_USED + 4096u)
#define OFF_DATA  (OFF_INDIR + NUM * MAXSEG * 16u)
#define MEM_SIZE  (OFF_DATA + 8192u)

/* Segment @i of a @k-descriptor chain: blk-like [R 16, W 4096 ..., W 1] for k > 1. */
static void seg(unsigned int k, unsigned int i, uint64_t *addr, uint32_t *len, uint16_t *flags)
{
	*addr = OFF_DATA;
	if (k == 1) {
		*len = 4096;
		*flags = 0;
	} else if (i == 0) {
		*len = 16;
		*flags = 0;
	} else if (i + 1 == k) {
		*addr += 4096;
		*len = 1;
		*flags = F_WRITE;
	} else {
		*len = 4096;
		*flags = F_WRITE;
	}
}

static int layout_new(struct layout *l, unsigned int k, bool indirect)
{
	memset(l, 0, sizeof(*l));
	l->size = MEM_SIZE;
	if (posix_memalign((void **)&l->mem, 4096, l->size))
		return -ENOMEM;
	memset(l->mem, 0, l->size);
	l->desc = (struct vdesc *)(l->mem + OFF_DESC);
	l->avail = (volatile uint16_t *)(l->mem + OFF_AVAIL);
	l->used = (volatile uint16_t *)(l->mem + OFF_USED);
	l->used_ring = (struct vused *)(l->mem + OFF_USED + 4);
	/* used_event far away, so publish never asks for an interrupt (as under load). */
	l->avail[2 + NUM] = 0x8000;
	l->per_batch = indirect ? NUM : NUM / k;
	for (unsigned int c = 0; c < l->per_batch; c++) {
		struct vdesc *t = indirect ? (struct vdesc *)(l->mem + OFF_INDIR) + c * MAXSEG
					   : &l->desc[c * k];

		for (unsigned int i = 0; i < k; i++) {
			seg(k, i, &t[i].addr, &t[i].len, &t[i].flags);
			t[i].flags |= i + 1 < k ? F_NEXT : 0;
			t[i].next = (uint16_t)(indirect ? i + 1 : c * k + i + 1);
		}
		if (indirect) {
			l->desc[c] = (struct vdesc){ .addr = OFF_INDIR + (uint64_t)c * MAXSEG * 16,
						     .len = k * 16,
						     .flags = F_INDIR };
		}
		l->heads[c] = (uint16_t)(indirect ? c : c * k);
	}
	return 0;
}

/* Untimed driver work: make one batch available. */
static void driver_fill(struct layout *l)
{
	for (unsigned int c = 0; c < l->per_batch; c++)
		l->avail[2 + (uint16_t)(l->avail_idx + c) % NUM] = l->heads[c];
	l->avail_idx = (uint16_t)(l->avail_idx + l->per_batch);
	__atomic_store_n(&l->avail[1], l->avail_idx, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------------------------ */
/* The floor: an unchecked consumer                                                            */

struct floor {
	struct layout *l;
	uint16_t last_avail, used_idx, last_published;
	struct iovec iov[MAXSEG];
	unsigned int n_out, n_in;
};

static inline int floor_pop(struct floor *f, uint16_t *head)
{
	struct layout *l = f->l;
	const struct vdesc *t, *d;
	uint16_t i;

	if (f->last_avail == __atomic_load_n(&l->avail[1], __ATOMIC_ACQUIRE))
		return 0;
	*head = l->avail[2 + f->last_avail++ % NUM];
	d = &l->desc[*head];
	t = l->desc;
	i = *head;
	if (d->flags & F_INDIR) {
		t = (const struct vdesc *)(l->mem + d->addr);
		i = 0;
	}
	f->n_out = f->n_in = 0;
	for (;;) {
		d = &t[i];
		f->iov[f->n_out + f->n_in] = (struct iovec){ l->mem + d->addr, d->len };
		if (d->flags & F_WRITE)
			f->n_in++;
		else
			f->n_out++;
		if (!(d->flags & F_NEXT))
			return 1;
		i = d->next;
	}
}

static inline void floor_push(struct floor *f, uint16_t head, uint32_t len)
{
	f->l->used_ring[f->used_idx++ % NUM] = (struct vused){ head, len };
}

static inline bool floor_publish(struct floor *f)
{
	struct layout *l = f->l;
	uint16_t old = f->last_published, new = f->used_idx, ev;

	__atomic_store_n(&l->used[1], new, __ATOMIC_RELEASE);
	f->last_published = new;
	atomic_thread_fence(memory_order_seq_cst);
	ev = l->avail[2 + NUM];
	return (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
}

static volatile bool floor_sink; /* keeps the answer of publish alive */

static uint64_t floor_batch(struct floor *f)
{
	uint64_t t0 = bench_now_ns();
	uint16_t head;

	while (floor_pop(f, &head))
		floor_push(f, head, 0);
	floor_sink = floor_publish(f);
	return bench_now_ns() - t0;
}

/* ------------------------------------------------------------------------------------------ */
/* The library                                                                                 */

/*
 * The least a memory interface can do (no bounds checks: the bench's own addresses are valid):
 * separates the walker's cost from the plain-memory interface's.
 */
static int trivial_read(void *payload, uint64_t addr, void *dst, size_t len)
{
	memcpy(dst, (uint8_t *)payload + addr, len);
	return 0;
}

static int trivial_map(void *payload, struct vxen_req *req)
{
	unsigned int i;

	for (i = 0; i < req->n_desc; i++)
		req->iov[i] =
			(struct iovec){ (uint8_t *)payload + req->desc[i].addr, req->desc[i].len };
	req->n_out = req->n_out_desc;
	req->n_in = req->n_desc - req->n_out_desc;
	return 0;
}

static void trivial_unmap(void *payload, struct vxen_req *req, size_t written)
{
}

static const struct vxen_vq_mem_ops trivial_ops = {
	.version = VXEN_VQ_MEM_OPS_VERSION,
	.read = trivial_read,
	.map = trivial_map,
	.unmap = trivial_unmap,
};

#define BATCH VXEN_VQ_POP_MANY_MAX

struct lib {
	vxen_vq *vq;
	struct vxen_vq_plain_mem pm;
	struct vxen_req req[BATCH];
	struct vxen_req *reqs[BATCH];
	struct vxen_desc d[BATCH][MAXSEG];
	struct iovec iov[BATCH][MAXSEG];
	enum { BY_BATCH, PUSH_EACH, SINGLE } way;
};

static int lib_new(struct lib *b, struct layout *l, bool trivial)
{
	struct vxen_vq_config c = VXEN_VQ_CONFIG_INIT;

	memset(b, 0, sizeof(*b));
	b->pm = (struct vxen_vq_plain_mem){ .host = l->mem, .base = 0, .size = l->size };
	c.size = NUM;
	c.features =
		1ull << VXEN_F_INDIRECT_DESC | 1ull << VXEN_F_EVENT_IDX | 1ull << VXEN_F_VERSION_1;
	c.desc = l->desc;
	c.avail = (void *)l->avail;
	c.used = (void *)l->used;
	c.mem = trivial ? &trivial_ops : vxen_vq_plain_mem_ops();
	c.mem_payload = trivial ? (void *)l->mem : (void *)&b->pm;
	for (unsigned int i = 0; i < BATCH; i++) {
		b->req[i] = (struct vxen_req){
			.desc = b->d[i], .desc_cap = MAXSEG, .iov = b->iov[i], .iov_cap = MAXSEG
		};
		b->reqs[i] = &b->req[i];
	}
	if (vxen_vq_new(&b->vq, &c))
		return -EINVAL;
	vxen_vq_kicks_disable(b->vq);
	return 0;
}

/*
 * Pop every chain, complete it, publish once per batch of the ring: BY_BATCH pops and pushes
 * a batch per call (vxen_vq_pop_many(), vxen_vq_push_many()), PUSH_EACH pops batches and
 * pushes each request on its own, SINGLE pops and pushes one at a time.
 */
static uint64_t lib_batch(struct lib *b, int *err)
{
	uint64_t t0 = bench_now_ns();
	int r;

	if (b->way == SINGLE) {
		while ((r = vxen_vq_pop(b->vq, &b->req[0])) == 1)
			vxen_vq_push(b->vq, &b->req[0], 0);
	} else if (b->way == PUSH_EACH) {
		while ((r = vxen_vq_pop_many(b->vq, b->reqs, BATCH, NULL)) > 0)
			for (int i = 0; i < r; i++)
				vxen_vq_push(b->vq, b->reqs[i], 0);
	} else {
		while ((r = vxen_vq_pop_many(b->vq, b->reqs, BATCH, NULL)) > 0)
			vxen_vq_push_many(b->vq, b->reqs, NULL, (unsigned int)r);
	}
	vxen_vq_publish(b->vq);
	if (r < 0)
		*err = r;
	return bench_now_ns() - t0;
}

/* ------------------------------------------------------------------------------------------ */

/* One round: batches for @secs; returns ns per chain. */
static double round_run(struct layout *l, struct lib *b, struct floor *f, double secs, int *err)
{
	uint64_t ns = 0, chains = 0, end = bench_now_ns() + (uint64_t)(secs * 1e9);

	while (bench_now_ns() < end) {
		driver_fill(l);
		ns += b ? lib_batch(b, err) : floor_batch(f);
		chains += l->per_batch;
	}
	return (double)ns / (double)chains;
}

/* The library's consumers, then the floor (index NLIB). */
#define NLIB 4
static const char *const lib_name[NLIB + 1] = { "lib", "lib_push_each", "lib_single",
						"lib_trivial_mem", "floor" };

static int ring_point(unsigned int k, bool indirect)
{
	const char *kind = indirect ? "indirect" : "direct";
	double best[NLIB + 1], secs = bench_opts.micro_duration / ROUNDS / (NLIB + 1);
	struct layout l[NLIB + 1];
	struct floor f = { .l = &l[NLIB] };
	static struct lib b[NLIB];
	int err = 0;

	memset(b, 0, sizeof(b));
	for (int i = 0; i <= NLIB; i++) {
		best[i] = 1e18;
		if (layout_new(&l[i], k, indirect))
			err = -ENOMEM;
	}
	for (int i = 0; i < NLIB && !err; i++) {
		err = lib_new(&b[i], &l[i], i == 3);
		b[i].way = i == 1 ? PUSH_EACH : i == 2 ? SINGLE : BY_BATCH;
	}
	/* Warm up (caches, branch predictors), then alternate between the consumers. */
	for (int i = 0; i <= NLIB && !err; i++)
		round_run(&l[i], i < NLIB ? &b[i] : NULL, &f, secs / 4, &err);
	for (int r = 0; r < ROUNDS && !err; r++)
		for (int i = 0; i <= NLIB; i++) {
			double ns = round_run(&l[i], i < NLIB ? &b[i] : NULL, &f, secs, &err);

			best[i] = ns < best[i] ? ns : best[i];
		}
	for (int i = 0; i < NLIB && !err; i++)
		if (vxen_vq_stats(b[i].vq)->rejected)
			err = -EPROTO;
	if (err) {
		fprintf(stderr, "ring: %s\n", strerror(-err));
	} else {
		for (int i = 0; i <= NLIB; i++)
			bench_putf(best[i], "ns", "ring_pop_push_%udesc_%s.%s.ns_per_op", k, kind,
				   lib_name[i]);
		bench_putf(best[0] / best[NLIB], "x", "ring_pop_push_%udesc_%s.ratio_to_floor", k,
			   kind);
	}
	for (int i = 0; i < NLIB; i++)
		vxen_vq_free(b[i].vq);
	for (int i = 0; i <= NLIB; i++)
		free(l[i].mem);
	return err;
}

int bench_ring(void)
{
	static const unsigned int ks[] = { 1, 4 };
	int rc = 0;

	bench_note("ring alone on plain memory: pop + push per chain, library vs unchecked floor");
	for (unsigned int i = 0; i < 2; i++)
		for (int ind = 0; ind < 2; ind++)
			rc = ring_point(ks[i], ind) ?: rc;
	/* The headline key of the issue: 1-descriptor direct chains. */
	bench_put("ring_pop_push_1desc.ratio_to_floor",
		  bench_get("ring_pop_push_1desc_direct.ratio_to_floor"), "x");
	return rc;
}
