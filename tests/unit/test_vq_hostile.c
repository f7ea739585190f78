/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest tests of the split virtqueue: rows 1-17 of the catalogue in
 * shared/reference/virtio.md, each with its exact outcome — error code, whether the chain was
 * consumed, whether its head came back to the driver (used entry, length 0), whether the queue
 * is broken, the counters, and that nothing stays mapped.
 *
 * Rows 7-10 are about addresses and mappings; at this layer the memory interface (here the
 * bounds-checked plain one, in L2 the grant mapper) refuses them, and what the ring code owes is
 * the reaction: rejected, consumed, returned, nothing half-mapped, refused before any mapping
 * when the walker can tell.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "helper_vq.h"
#include "internal.h"

#define Q 16

static struct tvq *t;
static struct tvq_req r1, r2;

static void setup(void)
{
	t = tvq_new(Q, TVQ_F_INDIRECT, 1 << 20);
	tvq_req_init(&r1, TVQ_REQ_CAP, TVQ_REQ_CAP);
	tvq_req_init(&r2, TVQ_REQ_CAP, TVQ_REQ_CAP);
}

static void teardown(void)
{
	tvq_free(t);
}

static const struct vxen_vq_stats *st(void)
{
	return vxen_vq_stats(t->vq);
}

/*
 * Pop the one chain the test made available and expect it rejected with @err: consumed (the next
 * pop finds nothing), counted once, nothing in flight or mapped by it, the queue not broken, and
 * the head returned with length 0 iff @returned.
 */
static void expect_rejected(int err, bool returned, uint16_t head)
{
	uint16_t used = tvq_used_idx(t);
	uint64_t rejected = st()->rejected;
	unsigned int inflight = vxen_vq_inflight(t->vq);
	unsigned int mapped = t->tm.mapped_now;
	uint32_t id, len;

	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), err);
	ck_assert_uint_eq(st()->rejected, rejected + 1);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), inflight);
	ck_assert_uint_eq(t->tm.mapped_now, mapped);
	ck_assert(!vxen_vq_broken(t->vq));
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), 0);
	vxen_vq_publish(t->vq);
	if (returned) {
		ck_assert_uint_eq(tvq_used_idx(t), (uint16_t)(used + 1));
		tvq_used_elem(t, used, &id, &len);
		ck_assert_uint_eq(id, head);
		ck_assert_uint_eq(len, 0);
	} else {
		ck_assert_uint_eq(tvq_used_idx(t), used);
	}
}

/* A readable one-descriptor chain at @i with its own 16-byte buffer. */
static void simple_desc(uint16_t i)
{
	tvq_set_desc(t, i, tvq_alloc(t, 16), 16, 0, 0);
}

/* Row 1: avail.idx too far ahead or moving backwards. */

START_TEST(hostile__avail_idx_more_than_size_ahead_breaks_the_queue)
{
	simple_desc(0);
	tvq_set_avail_idx(t, Q + 1);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EPROTO);
	ck_assert(vxen_vq_broken(t->vq));
	ck_assert_uint_eq(st()->broken, 1);
	/* Broken for good, whatever the guest does next. */
	tvq_set_avail_idx(t, 1);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EPROTO);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0);
	ck_assert(!vxen_vq_kicks_enable(t->vq));
	ck_assert_uint_eq(st()->popped, 0);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__avail_idx_exactly_size_ahead_is_accepted)
{
	static struct tvq_req rs[Q];

	for (uint16_t i = 0; i < Q; i++) {
		simple_desc(i);
		tvq_avail(t, i);
	}
	ck_assert_uint_eq(vxen_vq_pending(t->vq), Q);
	for (int i = 0; i < Q; i++) {
		tvq_req_init(&rs[i], 4, 4);
		tvq_pop_ok(t, &rs[i]);
	}
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), 0);
	ck_assert(!vxen_vq_broken(t->vq));
}
END_TEST

START_TEST(hostile__avail_idx_moving_backwards_breaks_the_queue)
{
	simple_desc(0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	vxen_vq_push(t->vq, &r1.req, 0);
	tvq_set_avail_idx(t, 0);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EPROTO);
	ck_assert(vxen_vq_broken(t->vq));
}
END_TEST

START_TEST(hostile__corrupt_avail_idx_is_detected_by_pending)
{
	tvq_set_avail_idx(t, 0x8000);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0);
	ck_assert(vxen_vq_broken(t->vq));
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EPROTO);
}
END_TEST

START_TEST(hostile__corruption_found_by_kicks_enable_sends_the_caller_to_pop_once)
{
	vxen_vq_kicks_disable(t->vq);
	tvq_set_avail_idx(t, 0xfff0);
	ck_assert(vxen_vq_kicks_enable(t->vq));
	ck_assert(vxen_vq_broken(t->vq));
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EPROTO);
	ck_assert(!vxen_vq_kicks_enable(t->vq));
}
END_TEST

START_TEST(hostile__broken_queue_still_completes_requests_in_flight)
{
	simple_desc(0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	tvq_set_avail_idx(t, 0xffff);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r2.req), -EPROTO);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 0), 0);
	ck_assert_uint_eq(t->tm.mapped_now, 0);
}
END_TEST

/* Row 2: head index out of range. */

START_TEST(hostile__head_out_of_range_is_consumed_and_not_returned)
{
	uint16_t bad[] = { Q, Q + 1, 0x8000, 0xffff };

	for (unsigned int i = 0; i < 4; i++) {
		tvq_avail(t, bad[i]);
		expect_rejected(-EINVAL, false, 0);
	}
	ck_assert_uint_eq(st()->rej_einval, 4);
	ck_assert_uint_eq(st()->pushed, 0);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__rejected_chain_does_not_block_the_next_one)
{
	simple_desc(2);
	tvq_avail(t, 0xffff);
	tvq_avail(t, 2);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EINVAL);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.head, 2);
}
END_TEST

/* Row 3: next index out of range. */

START_TEST(hostile__next_out_of_range_is_rejected_and_returned)
{
	tvq_set_desc(t, 4, tvq_alloc(t, 16), 16, VXEN_VRING_DESC_F_NEXT, Q);
	tvq_avail(t, 4);
	expect_rejected(-EINVAL, true, 4);
	tvq_set_desc(t, 4, tvq_alloc(t, 16), 16, VXEN_VRING_DESC_F_NEXT, 0xffff);
	tvq_avail(t, 4);
	expect_rejected(-EINVAL, true, 4);
	ck_assert_uint_eq(st()->rej_einval, 2);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__next_out_of_range_in_indirect_table_is_rejected)
{
	uint64_t table = tvq_alloc(t, 2 * 16);

	/* Index 2 is inside the queue size but outside this 2-entry table. */
	tvq_set_table_desc(t, table, 0, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_NEXT, 2);
	tvq_set_table_desc(t, table, 1, tvq_alloc(t, 8), 8, 0, 0);
	tvq_set_desc(t, 1, table, 32, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 1);
	expect_rejected(-EINVAL, true, 1);
}
END_TEST

/* Row 4: loops and the queue-size bound. */

START_TEST(hostile__self_loop_is_eloop)
{
	tvq_set_desc(t, 3, tvq_alloc(t, 16), 16, VXEN_VRING_DESC_F_NEXT, 3);
	tvq_avail(t, 3);
	expect_rejected(-ELOOP, true, 3);
	ck_assert_uint_eq(st()->rej_eloop, 1);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__two_descriptor_cycle_is_eloop)
{
	tvq_set_desc(t, 3, tvq_alloc(t, 16), 16, VXEN_VRING_DESC_F_NEXT, 9);
	tvq_set_desc(t, 9, tvq_alloc(t, 16), 16, VXEN_VRING_DESC_F_NEXT, 3);
	tvq_avail(t, 3);
	expect_rejected(-ELOOP, true, 3);
}
END_TEST

/* Chain 0 -> 1 -> ... -> Q-1, ending there or looping back to 0. */
static void full_chain(bool loop)
{
	for (uint16_t i = 0; i < Q; i++) {
		bool last = i == Q - 1;
		uint16_t flags = last && !loop ? 0 : VXEN_VRING_DESC_F_NEXT;

		tvq_set_desc(t, i, tvq_alloc(t, 4), 4, flags, (uint16_t)((i + 1) % Q));
	}
	tvq_avail(t, 0);
}

START_TEST(hostile__chain_of_exactly_queue_size_is_accepted)
{
	full_chain(false);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, Q);
	ck_assert_uint_eq(r1.req.out_len, 4 * Q);
}
END_TEST

START_TEST(hostile__chain_of_queue_size_plus_one_is_eloop)
{
	full_chain(true);
	expect_rejected(-ELOOP, true, 0);
}
END_TEST

START_TEST(hostile__loop_is_eloop_even_when_longer_than_the_request)
{
	/* The walk goes on validating past desc_cap, so the error names the real fault. */
	tvq_req_init(&r1, 4, 4);
	full_chain(true);
	expect_rejected(-ELOOP, true, 0);
}
END_TEST

START_TEST(hostile__well_formed_chain_longer_than_the_request_is_e2big)
{
	tvq_req_init(&r1, Q - 1, TVQ_REQ_CAP);
	full_chain(false);
	expect_rejected(-E2BIG, true, 0);
	ck_assert_uint_eq(st()->rej_e2big, 1);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

/* An indirect table at a fresh address with @n entries chained 0 -> 1 -> ... (-> 0 if @loop). */
static uint64_t indirect_chain(uint32_t n, bool loop)
{
	uint64_t table = tvq_alloc(t, 16 * (size_t)n);

	for (uint32_t i = 0; i < n; i++) {
		bool last = i == n - 1;
		uint16_t flags = last && !loop ? 0 : VXEN_VRING_DESC_F_NEXT;

		tvq_set_table_desc(t, table, i, tvq_alloc(t, 2), 2, flags, (uint16_t)((i + 1) % n));
	}
	return table;
}

START_TEST(hostile__indirect_table_of_queue_size_entries_is_accepted)
{
	tvq_set_desc(t, 5, indirect_chain(Q, false), 16 * Q, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 5);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, Q);
	ck_assert_uint_eq(t->tm.reads, 1);
}
END_TEST

START_TEST(hostile__loop_inside_indirect_table_is_eloop)
{
	tvq_set_desc(t, 5, indirect_chain(Q, true), 16 * Q, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 5);
	expect_rejected(-ELOOP, true, 5);
	/* A short cycle in a small table too. */
	tvq_set_desc(t, 5, indirect_chain(3, true), 16 * 3, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 5);
	expect_rejected(-ELOOP, true, 5);
	ck_assert_uint_eq(st()->rej_eloop, 2);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__direct_and_indirect_parts_are_bounded_separately)
{
	/* Q-1 direct descriptors, an INDIRECT one (Q direct in all), and a Q-entry table: the
	 * documented rule accepts it, 2Q-1 data descriptors. */
	for (uint16_t i = 0; i < Q - 1; i++)
		tvq_set_desc(t, i, tvq_alloc(t, 4), 4, VXEN_VRING_DESC_F_NEXT, i + 1);
	tvq_set_desc(t, Q - 1, indirect_chain(Q, false), 16 * Q, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, 2 * Q - 1);
}
END_TEST

/* Row 5: indirect misuse. */

START_TEST(hostile__indirect_without_the_feature_is_rejected)
{
	struct tvq *plain = tvq_new(Q, 0, 1 << 16);
	uint64_t table = tvq_alloc(plain, 16);

	tvq_set_table_desc(plain, table, 0, tvq_alloc(plain, 4), 4, 0, 0);
	tvq_set_desc(plain, 0, table, 16, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(plain, 0);
	ck_assert_int_eq(vxen_vq_pop(plain->vq, &r1.req), -EINVAL);
	ck_assert_uint_eq(plain->tm.reads, 0);
	ck_assert(vxen_vq_publish(plain->vq));
	ck_assert_uint_eq(tvq_used_idx(plain), 1);
	tvq_free(plain);
}
END_TEST

START_TEST(hostile__bad_indirect_table_lengths_are_rejected)
{
	uint32_t lens[] = { 0, 8, 24, 17, 16 * (Q + 1), 0xfffffff0u };

	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		tvq_set_desc(t, 6, indirect_chain(2, false), lens[i], VXEN_VRING_DESC_F_INDIRECT,
			     0);
		tvq_avail(t, 6);
		expect_rejected(-EINVAL, true, 6);
	}
	ck_assert_uint_eq(t->tm.reads, 0);
}
END_TEST

START_TEST(hostile__nested_indirect_is_rejected)
{
	uint64_t inner = indirect_chain(1, false);
	uint64_t outer = tvq_alloc(t, 16);

	tvq_set_table_desc(t, outer, 0, inner, 16, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_set_desc(t, 0, outer, 16, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	expect_rejected(-EINVAL, true, 0);
	ck_assert_uint_eq(t->tm.reads, 1);
}
END_TEST

START_TEST(hostile__indirect_with_next_is_rejected)
{
	simple_desc(1);
	tvq_set_desc(t, 0, indirect_chain(1, false), 16,
		     VXEN_VRING_DESC_F_INDIRECT | VXEN_VRING_DESC_F_NEXT, 1);
	tvq_avail(t, 0);
	expect_rejected(-EINVAL, true, 0);
	ck_assert_uint_eq(t->tm.reads, 0);
}
END_TEST

START_TEST(hostile__indirect_table_larger_than_the_request_is_e2big_unread)
{
	tvq_req_init(&r1, Q - 1, TVQ_REQ_CAP);
	tvq_set_desc(t, 0, indirect_chain(Q, false), 16 * Q, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	expect_rejected(-E2BIG, true, 0);
	ck_assert_uint_eq(t->tm.reads, 0);
}
END_TEST

START_TEST(hostile__unreadable_indirect_table_is_efault)
{
	tvq_set_desc(t, 0, TVQ_BASE + t->mem_size - 8, 16, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	expect_rejected(-EFAULT, true, 0);
	ck_assert_uint_eq(st()->rej_efault, 1);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__indirect_read_failures_keep_their_meaning)
{
	int errs[] = { -ENOMEM, -E2BIG, -EIO, -EFAULT };
	int want[] = { -ENOMEM, -E2BIG, -EFAULT, -EFAULT };

	for (unsigned int i = 0; i < 4; i++) {
		t->tm.fail_read = errs[i];
		tvq_set_desc(t, 0, indirect_chain(2, false), 32, VXEN_VRING_DESC_F_INDIRECT, 0);
		tvq_avail(t, 0);
		expect_rejected(want[i], true, 0);
	}
	ck_assert_uint_eq(st()->rej_enomem, 1);
	ck_assert_uint_eq(st()->rej_e2big, 1);
	ck_assert_uint_eq(st()->rej_efault, 2);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

/* Row 6: zero-length descriptors. */

START_TEST(hostile__zero_length_descriptors_are_kept_but_never_mapped)
{
	uint64_t buf = tvq_alloc(t, 8);

	tvq_set_desc(t, 0, 0, 0, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, buf, 8, VXEN_VRING_DESC_F_NEXT, 2);
	tvq_set_desc(t, 2, 0, 0, VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_WRITE, 3);
	tvq_set_desc(t, 3, UINT64_MAX, 0, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, 4);
	ck_assert_uint_eq(r1.req.n_out_desc, 2);
	ck_assert_uint_eq(r1.req.desc[0].addr, 0);
	ck_assert_uint_eq(r1.req.desc[0].len, 0);
	ck_assert_uint_eq(r1.req.n_out, 1);
	ck_assert_uint_eq(r1.req.n_in, 0);
	ck_assert_ptr_eq(r1.req.iov[0].iov_base, tvq_host(t, buf));
	ck_assert_uint_eq(r1.req.in_len, 0);
}
END_TEST

START_TEST(hostile__chain_of_only_zero_length_descriptors_is_harmless)
{
	tvq_set_desc(t, 0, 0, 0, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, 0, 0, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_out + r1.req.n_in, 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 100), 0);
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(t->tm.last_written, 0);
}
END_TEST

START_TEST(hostile__zero_length_self_loop_is_eloop)
{
	tvq_set_desc(t, 0, 0, 0, VXEN_VRING_DESC_F_NEXT, 0);
	tvq_avail(t, 0);
	expect_rejected(-ELOOP, true, 0);
}
END_TEST

/* Rows 7, 8, 10: addresses the memory interface refuses. */

START_TEST(hostile__address_outside_guest_memory_is_efault)
{
	tvq_set_desc(t, 0, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, TVQ_BASE - 4096, 8, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 0);
	expect_rejected(-EFAULT, true, 0);
	ck_assert_uint_eq(st()->rej_efault, 1);
	ck_assert_uint_eq(t->tm.unmaps, 0);
}
END_TEST

START_TEST(hostile__address_plus_length_wrapping_is_efault)
{
	tvq_set_desc(t, 0, UINT64_MAX - 15, 32, 0, 0);
	tvq_avail(t, 0);
	expect_rejected(-EFAULT, true, 0);
	tvq_set_desc(t, 0, TVQ_BASE + 16, 0xffffffffu, 0, 0);
	tvq_avail(t, 0);
	expect_rejected(-EFAULT, true, 0);
}
END_TEST

START_TEST(hostile__map_failure_leaves_nothing_mapped)
{
	int errs[] = { -EFAULT, -E2BIG, -ENOMEM, -EIO };
	int want[] = { -EFAULT, -E2BIG, -ENOMEM, -EFAULT };

	for (unsigned int i = 0; i < 4; i++) {
		t->tm.fail_map = errs[i];
		simple_desc(7);
		tvq_avail(t, 7);
		expect_rejected(want[i], true, 7);
	}
	ck_assert_uint_eq(st()->rej_efault, 2);
	ck_assert_uint_eq(st()->rej_e2big, 1);
	ck_assert_uint_eq(st()->rej_enomem, 1);
	ck_assert_uint_eq(t->tm.unmaps, 0);
	ck_assert_uint_eq(t->tm.mapped_now, 0);
}
END_TEST

/* Row 9: huge lengths and the per-chain caps. */

START_TEST(hostile__chain_of_4GiB_is_e2big_before_any_mapping)
{
	tvq_set_desc(t, 0, TVQ_BASE, 0x80000000u, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, TVQ_BASE, 0x80000000u, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 0);
	expect_rejected(-E2BIG, true, 0);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__chain_just_under_4GiB_reaches_the_memory_interface)
{
	/* 2^32 - 1 bytes is a legal chain; plain memory then refuses it as out of range. */
	tvq_set_desc(t, 0, TVQ_BASE, 0x80000000u, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, TVQ_BASE, 0x7fffffffu, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 0);
	expect_rejected(-EFAULT, true, 0);
	ck_assert_uint_eq(t->tm.map_calls, 1);
}
END_TEST

START_TEST(hostile__too_many_iov_entries_is_e2big)
{
	tvq_req_init(&r1, TVQ_REQ_CAP, 8);
	t->tm.plain.max_seg = 1;
	tvq_set_desc(t, 0, tvq_alloc(t, 9), 9, 0, 0);
	tvq_avail(t, 0);
	expect_rejected(-E2BIG, true, 0);
	tvq_set_desc(t, 0, tvq_alloc(t, 8), 8, 0, 0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_out, 8);
}
END_TEST

/* Row 11: readable after writable. */

START_TEST(hostile__readable_after_writable_is_rejected)
{
	tvq_set_desc(t, 0, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_WRITE, 1);
	tvq_set_desc(t, 1, tvq_alloc(t, 8), 8, 0, 0);
	tvq_avail(t, 0);
	expect_rejected(-EINVAL, true, 0);
	ck_assert_uint_eq(t->tm.map_calls, 0);
}
END_TEST

START_TEST(hostile__readable_after_writable_inside_indirect_table_is_rejected)
{
	uint64_t table = tvq_alloc(t, 32);

	tvq_set_table_desc(t, table, 0, tvq_alloc(t, 8), 8,
			   VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_WRITE, 1);
	tvq_set_table_desc(t, table, 1, tvq_alloc(t, 8), 8, 0, 0);
	tvq_set_desc(t, 0, table, 32, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	expect_rejected(-EINVAL, true, 0);
}
END_TEST

START_TEST(hostile__readable_in_table_after_writable_direct_is_rejected)
{
	tvq_set_desc(t, 0, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_WRITE, 1);
	tvq_set_desc(t, 1, indirect_chain(1, false), 16, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	expect_rejected(-EINVAL, true, 0);
}
END_TEST

START_TEST(hostile__write_flag_on_the_indirect_descriptor_is_ignored)
{
	tvq_set_desc(t, 0, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, indirect_chain(2, false), 32,
		     VXEN_VRING_DESC_F_INDIRECT | VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_out_desc, 3);
	ck_assert_uint_eq(r1.req.in_len, 0);
}
END_TEST

/* Row 12: heads made available twice. */

START_TEST(hostile__head_in_flight_made_available_again_is_ebusy_and_not_returned)
{
	simple_desc(3);
	tvq_avail(t, 3);
	tvq_pop_ok(t, &r1);
	tvq_avail(t, 3);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r2.req), -EBUSY);
	ck_assert_uint_eq(st()->rej_ebusy, 1);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 1);
	ck_assert(!vxen_vq_publish(t->vq)); /* nothing pushed back */
	ck_assert_uint_eq(tvq_used_idx(t), 0);
	/* The original request is untouched and completes normally. */
	ck_assert_uint_eq(r1.req.head, 3);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 0), 0);
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 1);
	/* And the head can be used again once it came back. */
	tvq_avail(t, 3);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(t->tm.mapped_now, 1);
}
END_TEST

START_TEST(hostile__more_heads_than_queue_size_in_flight_is_ebusy)
{
	static struct tvq_req rs[Q];

	for (uint16_t i = 0; i < Q; i++) {
		simple_desc(i);
		tvq_avail(t, i);
		tvq_req_init(&rs[i], 4, 4);
		tvq_pop_ok(t, &rs[i]);
	}
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), Q);
	for (uint16_t i = 0; i < Q; i++) {
		tvq_avail(t, i);
		ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EBUSY);
	}
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), Q);
	ck_assert_uint_eq(st()->rej_ebusy, Q);
	ck_assert(!vxen_vq_broken(t->vq));
}
END_TEST

/* Row 13: the guest rewrites descriptors while the device works on them. */

struct scribble {
	struct tvq *t;
	uint64_t table;
};

static void scribble_everything(struct vxen_req *req, void *arg)
{
	struct scribble *s = arg;

	(void)req;
	/* Make the direct descriptors loop and point out of range, and the table nested. */
	for (uint16_t i = 0; i < Q; i++)
		tvq_set_desc(s->t, i, UINT64_MAX - 3, 0xffffffffu,
			     VXEN_VRING_DESC_F_NEXT | VXEN_VRING_DESC_F_INDIRECT, i);
	for (uint32_t i = 0; i < 2; i++)
		tvq_set_table_desc(s->t, s->table, i, 0, 0, VXEN_VRING_DESC_F_INDIRECT, 7);
}

START_TEST(hostile__descriptors_changed_after_the_walk_do_not_change_the_request)
{
	uint64_t a = tvq_alloc(t, 8), table = indirect_chain(2, false);
	struct scribble s = { t, table };
	struct vxen_desc want[3];

	tvq_set_desc(t, 0, a, 8, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_desc(t, 1, table, 32, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	want[0] = (struct vxen_desc){ .addr = a, .len = 8 };
	memcpy(&want[1].addr, tvq_host(t, table), 8);
	want[1].len = 2;
	memcpy(&want[2].addr, tvq_host(t, table + 16), 8);
	want[2].len = 2;

	t->tm.on_map = scribble_everything;
	t->tm.on_map_arg = &s;
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(r1.req.desc[i].addr, want[i].addr);
		ck_assert_uint_eq(r1.req.desc[i].len, want[i].len);
		ck_assert_uint_eq(r1.req.desc[i].flags, 0);
	}
	ck_assert_uint_eq(r1.req.out_len, 12);
	ck_assert_uint_eq(r1.req.n_out, 3);
	ck_assert_ptr_eq(r1.req.iov[0].iov_base, tvq_host(t, a));
	ck_assert_uint_eq(t->tm.reads, 1);
}
END_TEST

/* Row 14: the guest writes to device-owned fields. */

START_TEST(hostile__scribbled_used_idx_is_overwritten_from_the_shadow)
{
	uint32_t id, len;

	simple_desc(0);
	for (int n = 1; n <= 3; n++) {
		tvq_avail(t, 0);
		tvq_pop_ok(t, &r1);
		*tvq_used_idx_ptr(t) = 0x1234;
		/* Also scribble on the used element the device will fill next. */
		memset(tvq_used_idx_ptr(t) + 1, 0xee, 8 * Q);
		vxen_vq_push(t->vq, &r1.req, 0);
		vxen_vq_publish(t->vq);
		ck_assert_uint_eq(tvq_used_idx(t), n);
		tvq_used_elem(t, (uint16_t)(n - 1), &id, &len);
		ck_assert_uint_eq(id, 0);
		ck_assert_uint_eq(len, 0);
	}
}
END_TEST

START_TEST(hostile__scribbled_avail_event_does_not_change_device_state)
{
	struct tvq *e = tvq_new(Q, TVQ_F_EVENT_IDX, 1 << 16);

	tvq_set_desc(e, 0, tvq_alloc(e, 8), 8, 0, 0);
	tvq_avail(e, 0);
	*tvq_avail_event_ptr(e) = 0x7777;
	*tvq_used_idx_ptr(e) = 0x5555;
	ck_assert_uint_eq(vxen_vq_pending(e->vq), 1);
	ck_assert_int_eq(vxen_vq_pop(e->vq, &r1.req), 1);
	/* pop re-publishes avail_event from its shadow while kicks are on. */
	ck_assert_uint_eq(tvq_avail_event(e), 1);
	*tvq_avail_event_ptr(e) = 0x7777;
	ck_assert(!vxen_vq_kicks_enable(e->vq));
	ck_assert_uint_eq(tvq_avail_event(e), 1);
	vxen_vq_push(e->vq, &r1.req, 0);
	vxen_vq_publish(e->vq);
	ck_assert_uint_eq(tvq_used_idx(e), 1);
	tvq_free(e);
}
END_TEST

/* Row 15: poisoned flags. (Poisoned used_event: test_vq_notify.c checks every value.) */

START_TEST(hostile__poisoned_avail_flags_only_bit0_counts)
{
	simple_desc(0);
	tvq_set_avail_flags(t, 0xfffe);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	vxen_vq_push(t->vq, &r1.req, 0);
	ck_assert(vxen_vq_publish(t->vq));
	tvq_set_avail_flags(t, 0xffff);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	vxen_vq_push(t->vq, &r1.req, 0);
	ck_assert(!vxen_vq_publish(t->vq));
	ck_assert_uint_eq(st()->notifies, 1);
	ck_assert_uint_eq(st()->suppressed, 1);
}
END_TEST

START_TEST(hostile__avail_flags_are_ignored_with_event_idx)
{
	struct tvq *e = tvq_new(Q, TVQ_F_EVENT_IDX, 1 << 16);

	tvq_set_desc(e, 0, tvq_alloc(e, 8), 8, 0, 0);
	tvq_set_avail_flags(e, 0xffff);
	tvq_set_used_event(e, 0);
	tvq_avail(e, 0);
	ck_assert_int_eq(vxen_vq_pop(e->vq, &r1.req), 1);
	vxen_vq_push(e->vq, &r1.req, 0);
	ck_assert(vxen_vq_publish(e->vq));
	tvq_free(e);
}
END_TEST

/* Row 16: a ring kept full; spurious kicks. */

START_TEST(hostile__ring_kept_full_is_served_within_the_callers_budget)
{
	int budget = 1000, popped = 0;

	simple_desc(0);
	tvq_avail(t, 0);
	/* The guest re-offers the head the moment it comes back: the ring never drains, and
	 * only the caller's budget ends the turn. Nothing accumulates meanwhile. */
	while (budget-- > 0 && vxen_vq_pop(t->vq, &r1.req) == 1) {
		popped++;
		vxen_vq_push(t->vq, &r1.req, 0);
		vxen_vq_publish(t->vq);
		tvq_avail(t, 0);
		ck_assert_uint_eq(vxen_vq_pending(t->vq), 1);
	}
	ck_assert_int_eq(popped, 1000);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 0);
	ck_assert_uint_eq(t->tm.mapped_now, 0);
	ck_assert_uint_eq(st()->rejected, 0);
}
END_TEST

START_TEST(hostile__spurious_kicks_pop_nothing_and_change_nothing)
{
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), 0);
		ck_assert(!vxen_vq_kicks_enable(t->vq));
	}
	ck_assert_uint_eq(st()->popped + st()->rejected + st()->pushed, 0);
	ck_assert(!vxen_vq_publish(t->vq));
}
END_TEST

/* Row 17: over-reported lengths. */

START_TEST(hostile__used_len_is_clamped_to_the_writable_length)
{
	uint32_t lens[] = { 4, 10, 6 };
	uint32_t id, len;

	tvq_add(t, 1, 3, lens);
	tvq_pop_ok(t, &r1);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 1000), 0);
	ck_assert_uint_eq(t->tm.last_written, 16);
	vxen_vq_publish(t->vq);
	tvq_used_elem(t, 0, &id, &len);
	ck_assert_uint_eq(len, 16);

	tvq_add(t, 1, 1, lens); /* read-only chain */
	tvq_pop_ok(t, &r1);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, UINT32_MAX), 0);
	vxen_vq_publish(t->vq);
	tvq_used_elem(t, 1, &id, &len);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* Reporting. */

static int n_logged;

static void count_log(int level, const char *msg, void *payload)
{
	(void)level;
	(void)msg;
	(void)payload;
	n_logged++;
}

START_TEST(hostile__rejections_are_logged_rate_limited)
{
	vxen_log_set_handler(count_log, LOG_DEBUG, NULL);
	for (int i = 0; i < 1000; i++) {
		tvq_avail(t, 0xffff);
		ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), -EINVAL);
	}
	vxen_log_set_handler(NULL, 0, NULL);
	ck_assert_uint_eq(st()->rejected, 1000);
	ck_assert_int_ge(n_logged, 1);
	ck_assert_int_le(n_logged, VXEN_RATELIMIT_BURST + 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq_hostile");
	TCase *tc = tcase_create("rows");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hostile__avail_idx_more_than_size_ahead_breaks_the_queue);
	tcase_add_test(tc, hostile__avail_idx_exactly_size_ahead_is_accepted);
	tcase_add_test(tc, hostile__avail_idx_moving_backwards_breaks_the_queue);
	tcase_add_test(tc, hostile__corrupt_avail_idx_is_detected_by_pending);
	tcase_add_test(tc, hostile__corruption_found_by_kicks_enable_sends_the_caller_to_pop_once);
	tcase_add_test(tc, hostile__broken_queue_still_completes_requests_in_flight);
	tcase_add_test(tc, hostile__head_out_of_range_is_consumed_and_not_returned);
	tcase_add_test(tc, hostile__rejected_chain_does_not_block_the_next_one);
	tcase_add_test(tc, hostile__next_out_of_range_is_rejected_and_returned);
	tcase_add_test(tc, hostile__next_out_of_range_in_indirect_table_is_rejected);
	tcase_add_test(tc, hostile__self_loop_is_eloop);
	tcase_add_test(tc, hostile__two_descriptor_cycle_is_eloop);
	tcase_add_test(tc, hostile__chain_of_exactly_queue_size_is_accepted);
	tcase_add_test(tc, hostile__chain_of_queue_size_plus_one_is_eloop);
	tcase_add_test(tc, hostile__loop_is_eloop_even_when_longer_than_the_request);
	tcase_add_test(tc, hostile__well_formed_chain_longer_than_the_request_is_e2big);
	tcase_add_test(tc, hostile__indirect_table_of_queue_size_entries_is_accepted);
	tcase_add_test(tc, hostile__loop_inside_indirect_table_is_eloop);
	tcase_add_test(tc, hostile__direct_and_indirect_parts_are_bounded_separately);
	tcase_add_test(tc, hostile__indirect_without_the_feature_is_rejected);
	tcase_add_test(tc, hostile__bad_indirect_table_lengths_are_rejected);
	tcase_add_test(tc, hostile__nested_indirect_is_rejected);
	tcase_add_test(tc, hostile__indirect_with_next_is_rejected);
	tcase_add_test(tc, hostile__indirect_table_larger_than_the_request_is_e2big_unread);
	tcase_add_test(tc, hostile__unreadable_indirect_table_is_efault);
	tcase_add_test(tc, hostile__indirect_read_failures_keep_their_meaning);
	tcase_add_test(tc, hostile__zero_length_descriptors_are_kept_but_never_mapped);
	tcase_add_test(tc, hostile__chain_of_only_zero_length_descriptors_is_harmless);
	tcase_add_test(tc, hostile__zero_length_self_loop_is_eloop);
	tcase_add_test(tc, hostile__address_outside_guest_memory_is_efault);
	tcase_add_test(tc, hostile__address_plus_length_wrapping_is_efault);
	tcase_add_test(tc, hostile__map_failure_leaves_nothing_mapped);
	tcase_add_test(tc, hostile__chain_of_4GiB_is_e2big_before_any_mapping);
	tcase_add_test(tc, hostile__chain_just_under_4GiB_reaches_the_memory_interface);
	tcase_add_test(tc, hostile__too_many_iov_entries_is_e2big);
	tcase_add_test(tc, hostile__readable_after_writable_is_rejected);
	tcase_add_test(tc, hostile__readable_after_writable_inside_indirect_table_is_rejected);
	tcase_add_test(tc, hostile__readable_in_table_after_writable_direct_is_rejected);
	tcase_add_test(tc, hostile__write_flag_on_the_indirect_descriptor_is_ignored);
	tcase_add_test(tc, hostile__head_in_flight_made_available_again_is_ebusy_and_not_returned);
	tcase_add_test(tc, hostile__more_heads_than_queue_size_in_flight_is_ebusy);
	tcase_add_test(tc, hostile__descriptors_changed_after_the_walk_do_not_change_the_request);
	tcase_add_test(tc, hostile__scribbled_used_idx_is_overwritten_from_the_shadow);
	tcase_add_test(tc, hostile__scribbled_avail_event_does_not_change_device_state);
	tcase_add_test(tc, hostile__poisoned_avail_flags_only_bit0_counts);
	tcase_add_test(tc, hostile__avail_flags_are_ignored_with_event_idx);
	tcase_add_test(tc, hostile__ring_kept_full_is_served_within_the_callers_budget);
	tcase_add_test(tc, hostile__spurious_kicks_pop_nothing_and_change_nothing);
	tcase_add_test(tc, hostile__used_len_is_clamped_to_the_writable_length);
	tcase_add_test(tc, hostile__rejections_are_logged_rate_limited);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
