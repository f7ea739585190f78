/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ring's shortcuts on the library's own plain memory and of the batched push:
 *
 * - On vxen_vq_plain_mem_ops() the queue translates one-buffer chains itself (no map() call)
 *   and never calls unmap(); vxen_vq_push_many() writes used entries without per-request calls.
 *   These paths must give exactly what the general paths give. The differential tests run one
 *   random, hostile operation sequence twice, on identical guest memory: once over the plain
 *   interface (the shortcuts) and once over helper_vq.h's counting wrapper of it (which the
 *   queue cannot recognise, so every chain goes through map()/unmap()), and compare after every
 *   step: return values, rejections by kind, every request field (iov as offsets into the
 *   memory), the used ring, avail_event, the counters.
 * - vxen_vq_push_many() against the same number of vxen_vq_push() calls: order, clamping,
 *   NULL lengths, requests not in flight, unmap before the entry on a non-plain interface.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "helper_vq.h"

#define NREQ	  48 /* requests per side: more than a batch can take of a 32-entry ring */
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* One side of a differential run: a queue and its requests. */
struct side {
	struct tvq *t;
	struct tvq_req *rq;
	struct vxen_req *free[NREQ], *busy[NREQ];
	unsigned int n_free, n_busy;
};

/* The queue of @s re-created over the library's own plain interface (the shortcuts). */
static void side_plain(struct side *s)
{
	struct vxen_vq_config cfg = VXEN_VQ_CONFIG_INIT;
	struct tvq *t = s->t;

	vxen_vq_free(t->vq);
	cfg.size = t->size;
	cfg.features = t->features;
	cfg.desc = t->mem + t->desc_off;
	cfg.avail = t->mem + t->avail_off;
	cfg.used = t->mem + t->used_off;
	cfg.mem = vxen_vq_plain_mem_ops();
	cfg.mem_payload = &t->tm.plain;
	ck_assert_int_eq(vxen_vq_new(&t->vq, &cfg), 0);
}

/* Check records every passing assertion (its location goes through a file): the comparisons
 * below run millions of times, so only a difference calls into it. */
#define SAME(x, y)                                                                                 \
	do {                                                                                       \
		uint64_t x_ = (uint64_t)(x), y_ = (uint64_t)(y);                                   \
		if (x_ != y_)                                                                      \
			ck_abort_msg("%s (%" PRIu64 ") != %s (%" PRIu64 ")", #x, x_, #y, y_);      \
	} while (0)

/* The requests of the two sides, allocated once (side_new() re-initialises them). */
static struct tvq_req rq_store[2][NREQ];

static void side_new(struct side *s, uint32_t size, uint64_t features, bool plain,
		     unsigned int desc_cap, unsigned int iov_cap, size_t max_seg)
{
	memset(s, 0, sizeof(*s));
	s->t = tvq_new(size, features, 1 << 16);
	s->t->tm.plain.max_seg = max_seg;
	if (plain)
		side_plain(s);
	s->rq = rq_store[plain];
	for (unsigned int i = 0; i < NREQ; i++) {
		/* A few requests that cannot hold even one buffer. */
		tvq_req_init(&s->rq[i], i % 17 == 5 ? 0 : desc_cap, i % 13 == 7 ? 0 : iov_cap);
		s->free[s->n_free++] = &s->rq[i].req;
	}
}

static void side_free(struct side *s)
{
	tvq_free(s->t);
}

/* The two requests hold the same chain, with iov entries at the same memory offsets. */
static void same_req(const struct side *a, const struct vxen_req *x, const struct side *b,
		     const struct vxen_req *y)
{
	SAME(x->head, y->head);
	SAME(x->n_desc, y->n_desc);
	SAME(x->n_out_desc, y->n_out_desc);
	SAME(x->n_out, y->n_out);
	SAME(x->n_in, y->n_in);
	SAME(x->out_len, y->out_len);
	SAME(x->in_len, y->in_len);
	for (unsigned int i = 0; i < x->n_desc && i < x->desc_cap; i++) {
		SAME(x->desc[i].addr, y->desc[i].addr);
		SAME(x->desc[i].len, y->desc[i].len);
		SAME(x->desc[i].flags, y->desc[i].flags);
		SAME(x->desc[i].pad, 0);
		SAME(y->desc[i].pad, 0);
	}
	for (unsigned int i = 0; i < x->n_out + x->n_in; i++) {
		SAME((uint8_t *)x->iov[i].iov_base - a->t->mem,
		     (uint8_t *)y->iov[i].iov_base - b->t->mem);
		SAME(x->iov[i].iov_len, y->iov[i].iov_len);
	}
}

/* Everything the driver and the caller can see of the two queues is the same. */
static void same_state(const struct side *a, const struct side *b)
{
	const struct vxen_vq_stats *x = vxen_vq_stats(a->t->vq), *y = vxen_vq_stats(b->t->vq);
	uint32_t size = a->t->size;

	SAME(x->popped, y->popped);
	SAME(x->pushed, y->pushed);
	SAME(x->published, y->published);
	SAME(x->rejected, y->rejected);
	SAME(x->rej_einval, y->rej_einval);
	SAME(x->rej_eloop, y->rej_eloop);
	SAME(x->rej_e2big, y->rej_e2big);
	SAME(x->rej_ebusy, y->rej_ebusy);
	SAME(x->rej_efault, y->rej_efault);
	SAME(x->rej_enomem, y->rej_enomem);
	SAME(x->broken, y->broken);
	SAME(vxen_vq_inflight(a->t->vq), vxen_vq_inflight(b->t->vq));
	SAME(tvq_used_idx(a->t), tvq_used_idx(b->t));
	SAME(tvq_used_flags(a->t), tvq_used_flags(b->t));
	SAME(tvq_avail_event(a->t), tvq_avail_event(b->t));
	for (uint16_t i = 0; i < size; i++) {
		uint32_t id[2], len[2];

		tvq_used_elem(a->t, i, &id[0], &len[0]);
		tvq_used_elem(b->t, i, &id[1], &len[1]);
		SAME(id[0], id[1]);
		SAME(len[0], len[1]);
	}
}

/* A hostile descriptor: addresses in, across and outside the memory, lengths from 0 to huge,
 * every flag combination, any next. */
static void random_desc(struct tvq *t, uint16_t i, unsigned int *rnd)
{
	static const uint32_t lens[] = { 0, 1, 16, 24, 512, 4096, 65536, 0xffffffffu };
	static const uint16_t flags[] = { 0, VXEN_VRING_DESC_F_WRITE, VXEN_VRING_DESC_F_NEXT,
					  VXEN_VRING_DESC_F_WRITE | VXEN_VRING_DESC_F_NEXT,
					  VXEN_VRING_DESC_F_INDIRECT };
	uint64_t data = TVQ_BASE + t->data_off, end = TVQ_BASE + t->mem_size;
	unsigned int k = (unsigned int)rand_r(rnd);
	uint64_t addr;
	uint32_t len;
	uint16_t flag;

	len = lens[(k >> 3) % 8];
	switch (k % 10) {
	case 0:
		addr = 0;
		break;
	case 1:
		addr = TVQ_BASE - 8; /* starts before the memory */
		break;
	case 2:
		addr = end - 8; /* runs past its end unless short */
		break;
	case 3:
		addr = UINT64_MAX - 4;
		break;
	case 4:
		addr = end - len; /* ends exactly at the end */
		break;
	case 5:
		addr = end - len + 1; /* one byte past it */
		break;
	default:
		addr = data + (uint64_t)rand_r(rnd) % (end - data - 4096);
		break;
	}
	/* Mostly well-formed one-buffer chains, which the shortcuts take. */
	flag = (k >> 6) % 4 ? flags[(k >> 6) % 2] : flags[(k >> 8) % 5];
	tvq_set_desc(t, i, addr, len, flag, (uint16_t)((k >> 11) % (t->size + 2)));
}

/* Make some chains available: random heads (some out of range, some repeated), random
 * descriptors behind them. The same values go to both sides. */
static void guest_step(struct side *a, struct side *b, unsigned int *rnd)
{
	unsigned int n = 1 + (unsigned int)rand_r(rnd) % 12;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int seed = (unsigned int)rand_r(rnd), s2 = seed;
		uint16_t d = (uint16_t)(seed % a->t->size);
		uint16_t head = seed % 29 == 0 ? (uint16_t)(a->t->size + seed % 7) : d;

		/* The descriptor may be one a request in flight still uses: the device has its
		 * own copy, which is the point. */
		random_desc(a->t, d, &seed);
		random_desc(b->t, d, &s2);
		tvq_avail(a->t, head);
		tvq_avail(b->t, head);
	}
}

/*
 * Pop @target chains off side @s into the last @n requests of its free list, in order, with
 * vxen_vq_pop() (@single) or vxen_vq_pop_many() calls, until @target chains were taken or
 * rejected, the requests ran out, or the ring is empty or broken. How a side batches may differ
 * (a batch may end early), what it delivers may not: each chain takes the next unused request
 * or is rejected. The popped requests go to @got and to the busy list; returns how many.
 */
static unsigned int pop_side(struct side *s, bool single, unsigned int n, unsigned int target,
			     struct vxen_req **got, unsigned int *rejected)
{
	struct vxen_req **cand = &s->free[s->n_free - n];
	unsigned int used = 0, consumed = 0;

	*rejected = 0;
	while (consumed < target && used < n) {
		unsigned int want = MIN(n - used, target - consumed), rej = 0;
		int r;

		if (single) {
			r = vxen_vq_pop(s->t->vq, cand[used]);
			if (r < 0 && r != -EPROTO) {
				rej = 1;
				r = 0;
			}
		} else {
			r = vxen_vq_pop_many(s->t->vq, &cand[used], want, &rej);
		}
		if (r < 0 || (r == 0 && rej == 0))
			break;
		ck_assert_uint_le((unsigned int)r + rej, want);
		for (int i = 0; i < r; i++)
			got[used + (unsigned int)i] = cand[used + (unsigned int)i];
		used += (unsigned int)r;
		consumed += (unsigned int)r + rej;
		*rejected += rej;
	}
	/* cand[0 .. used) are popped: to the busy list, the rest stay free, in order. */
	for (unsigned int i = 0; i < used; i++)
		s->busy[s->n_busy++] = cand[i];
	memmove(cand, cand + used, (n - used) * sizeof(*cand));
	s->n_free -= used;
	return used;
}

/* Pop on both sides the same way: @target chains by single pops or batches of random n. */
static void pop_step(struct side *a, struct side *b, unsigned int *rnd)
{
	unsigned int k = (unsigned int)rand_r(rnd), n = 1 + k % 40, rej[2], got[2];
	struct vxen_req *reqs[2][NREQ];
	unsigned int target;

	n = MIN(n, a->n_free);
	target = MIN(n + (k >> 10) % 4, vxen_vq_pending(a->t->vq));
	ck_assert_uint_eq(vxen_vq_pending(a->t->vq), vxen_vq_pending(b->t->vq));
	if (!n)
		return;
	got[0] = pop_side(a, k & 0x100, n, target, reqs[0], &rej[0]);
	got[1] = pop_side(b, k & 0x100, n, target, reqs[1], &rej[1]);
	ck_assert_uint_eq(got[0], got[1]);
	ck_assert_uint_eq(rej[0], rej[1]);
	for (unsigned int i = 0; i < got[0]; i++)
		same_req(a, reqs[0][i], b, reqs[1][i]);
}

/*
 * Complete some busy requests on both sides: side a with one vxen_vq_push() each, side b with
 * one vxen_vq_push_many() (same order, same lengths or NULL for 0, and sometimes a request
 * that is not in flight in the middle).
 */
static void push_step(struct side *a, struct side *b, unsigned int *rnd)
{
	unsigned int k = (unsigned int)rand_r(rnd), n = k % (a->n_busy + 1), m = 0;
	bool null_written = k & 0x20000;
	struct vxen_req *list[NREQ + 1];
	uint32_t written[NREQ + 1];
	int ra = 0, rb;

	for (unsigned int i = 0; i < n; i++) {
		/* From the front or the back: completions come in any order. */
		unsigned int at = (k >> (i % 16)) & 1 ? 0 : a->n_busy - 1;
		uint32_t w = null_written ? 0 : (uint32_t)rand_r(rnd) % 9000;

		if (i == n / 2 && (k & 0x10000) && a->n_free) {
			ra = vxen_vq_push(a->t->vq, a->free[0], w) ?: ra;
			list[m] = b->free[0];
			written[m++] = w;
		}
		ra = vxen_vq_push(a->t->vq, a->busy[at], w) ?: ra;
		list[m] = b->busy[at];
		written[m++] = w;
		a->free[a->n_free++] = a->busy[at];
		b->free[b->n_free++] = b->busy[at];
		a->busy[at] = a->busy[--a->n_busy];
		b->busy[at] = b->busy[--b->n_busy];
	}
	rb = vxen_vq_push_many(b->t->vq, list, null_written ? NULL : written, m);
	ck_assert_int_eq(ra, rb);
	ck_assert_int_eq(rb, (k & 0x10000) && n && m > n ? -EINVAL : 0);
}

/* One random run of @steps operations on a ring of @size, configuration and sequence drawn
 * from @seed: side a over the counting wrapper, side b over the plain interface itself. */
static void differential_run(unsigned int seed, uint32_t size, unsigned int steps)
{
	uint64_t features = (seed & 1 ? TVQ_F_INDIRECT : 0) | (seed & 2 ? TVQ_F_EVENT_IDX : 0);
	static const unsigned int caps[] = { 1, 2, 4, 16 };
	static const size_t segs[] = { 0, 0, 0, 100 };
	unsigned int rnd = seed, dcap = caps[(seed >> 2) % 4], icap = caps[(seed >> 4) % 4];
	size_t max_seg = segs[(seed >> 6) % 4];
	struct side a, b;

	side_new(&a, size, features, false, dcap, icap, max_seg);
	side_new(&b, size, features, true, dcap, icap, max_seg);
	for (unsigned int i = 0; i < steps; i++) {
		unsigned int op = (unsigned int)rand_r(&rnd) % 16;

		if (op < 4) {
			guest_step(&a, &b, &rnd);
		} else if (op < 9) {
			pop_step(&a, &b, &rnd);
		} else if (op < 13) {
			push_step(&a, &b, &rnd);
		} else if (op == 13) {
			ck_assert_int_eq(vxen_vq_publish(a.t->vq), vxen_vq_publish(b.t->vq));
		} else if (op == 14) {
			ck_assert_int_eq(vxen_vq_kicks_enable(a.t->vq),
					 vxen_vq_kicks_enable(b.t->vq));
		} else if (rand_r(&rnd) % 64 == 0) {
			/* Rarely: an impossible avail.idx breaks both queues for good. */
			tvq_set_avail_idx(a.t, (uint16_t)(a.t->avail_idx + size + 1));
			tvq_set_avail_idx(b.t, (uint16_t)(b.t->avail_idx + size + 1));
		} else {
			vxen_vq_kicks_disable(a.t->vq);
			vxen_vq_kicks_disable(b.t->vq);
		}
		same_state(&a, &b);
	}
	/* Freeing with requests in flight releases every mapping of the counting side. */
	vxen_vq_free(a.t->vq);
	a.t->vq = NULL;
	ck_assert_uint_eq(a.t->tm.mapped_now, 0);
	side_free(&a);
	side_free(&b);
}

START_TEST(vq_fast__plain_shortcuts_match_the_general_paths_on_hostile_rings)
{
	/* _i: the ring size for this run (1 .. 256), the seeds below the rest. */
	uint32_t size = 1u << (_i % 9);

	for (unsigned int seed = 0; seed < 300; seed++)
		differential_run(seed * 7919u + (unsigned int)_i, size, 400);
}
END_TEST

/* Push_many over an interface that is not the plain one: every request unmapped once, before
 * its used entry is published, with the clamped length; the same entries as single pushes. */
START_TEST(vq_fast__push_many_unmaps_each_request_on_other_interfaces)
{
	static const uint32_t lens[] = { 16, 100 };
	struct tvq *t = tvq_new(8, TVQ_F_EVENT_IDX, 1 << 16);
	struct tvq_req r[4];
	struct vxen_req *list[5];
	uint32_t written[5] = { 7, 1000, 0, 50, 3 };
	uint16_t head[4];

	for (int i = 0; i < 4; i++) {
		head[i] = tvq_add(t, 1, 2, lens);
		tvq_req_init(&r[i], 4, 4);
		tvq_pop_ok(t, &r[i]);
		ck_assert_uint_eq(r[i].req.head, head[i]);
	}
	ck_assert_uint_eq(t->tm.mapped_now, 4);
	/* In completion order 2, 0, 3, 1 with one request twice (not in flight the second time). */
	list[0] = &r[2].req;
	list[1] = &r[0].req;
	list[2] = &r[3].req;
	list[3] = &r[2].req;
	list[4] = &r[1].req;
	ck_assert_int_eq(vxen_vq_push_many(t->vq, list, written, 5), -EINVAL);
	ck_assert_uint_eq(t->tm.unmaps, 4);
	ck_assert_uint_eq(t->tm.mapped_now, 0);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 0);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->pushed, 4);
	ck_assert_int_eq(vxen_vq_publish(t->vq), true);
	ck_assert_uint_eq(tvq_used_idx(t), 4);
	{
		static const int order[4] = { 2, 0, 3, 1 };
		/* 1000 clamped to in_len; the duplicate's 50 goes nowhere */
		static const uint32_t want_len[4] = { 7, 100, 0, 3 };

		for (uint16_t i = 0; i < 4; i++) {
			uint32_t id, len;

			tvq_used_elem(t, i, &id, &len);
			ck_assert_uint_eq(id, head[order[i]]);
			ck_assert_uint_eq(len, want_len[i]);
		}
	}
	tvq_free(t);
}
END_TEST

/* Push_many on plain memory: nothing pushed twice, entries in call order, NULL lengths are 0,
 * n = 0 is a no-op, and each pushed head can be popped again. */
START_TEST(vq_fast__push_many_on_plain_memory)
{
	static const uint32_t lens[] = { 64 };
	struct side s;
	struct vxen_req *list[3];
	uint16_t head[2];

	side_new(&s, 4, 0, true, 4, 4, 0);
	for (int i = 0; i < 2; i++) {
		head[i] = tvq_add(s.t, 0, 1, lens);
		ck_assert_int_eq(vxen_vq_pop(s.t->vq, &s.rq[i].req), 1);
	}
	ck_assert_int_eq(vxen_vq_push_many(s.t->vq, list, NULL, 0), 0);
	ck_assert_uint_eq(vxen_vq_stats(s.t->vq)->pushed, 0);
	list[0] = &s.rq[1].req;
	list[1] = &s.rq[1].req;
	list[2] = &s.rq[0].req;
	ck_assert_int_eq(vxen_vq_push_many(s.t->vq, list, NULL, 3), -EINVAL);
	ck_assert_uint_eq(vxen_vq_stats(s.t->vq)->pushed, 2);
	ck_assert_uint_eq(vxen_vq_inflight(s.t->vq), 0);
	vxen_vq_publish(s.t->vq);
	for (uint16_t i = 0; i < 2; i++) {
		uint32_t id, len;

		tvq_used_elem(s.t, i, &id, &len);
		ck_assert_uint_eq(id, head[1 - i]);
		ck_assert_uint_eq(len, 0);
	}
	/* The heads are idle again: the driver may reuse them. */
	tvq_avail(s.t, head[0]);
	ck_assert_int_eq(vxen_vq_pop(s.t->vq, &s.rq[2].req), 1);
	ck_assert_uint_eq(s.rq[2].req.head, head[0]);
	side_free(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq_fast");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, vq_fast__plain_shortcuts_match_the_general_paths_on_hostile_rings,
			    0, 9);
	tcase_add_test(tc, vq_fast__push_many_unmaps_each_request_on_other_interfaces);
	tcase_add_test(tc, vq_fast__push_many_on_plain_memory);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
