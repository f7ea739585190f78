/* SPDX-License-Identifier: MIT */
/*
 * Notification tests: used-buffer interrupts (publish) and driver kicks (kicks_enable/disable),
 * with and without EVENT_IDX. The EVENT_IDX crossing arithmetic is checked against a
 * brute-force reference model: an interrupt is due iff used_event is one of the indices
 * old, old+1, ..., new-1 that this publish moved used.idx across (mod 2^16).
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "helper_vq.h"

#define Q 16

static struct tvq *t;
static struct tvq_req rs[Q];

static void setup_event_idx(void)
{
	t = tvq_new(Q, TVQ_F_EVENT_IDX, 1 << 16);
	for (int i = 0; i < Q; i++)
		tvq_req_init(&rs[i], 4, 4);
	for (uint16_t i = 0; i < Q; i++)
		tvq_set_desc(t, i, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_WRITE, 0);
}

static void setup_flags(void)
{
	t = tvq_new(Q, 0, 1 << 16);
	for (int i = 0; i < Q; i++)
		tvq_req_init(&rs[i], 4, 4);
	for (uint16_t i = 0; i < Q; i++)
		tvq_set_desc(t, i, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_WRITE, 0);
}

static void teardown(void)
{
	tvq_free(t);
}

/* The reference: walk the crossed indices one by one. */
static bool model_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	for (uint16_t i = old; i != new_idx; i++)
		if (i == event)
			return true;
	return false;
}

/* The guest offers @n one-descriptor chains; the device pops and pushes them all. */
static void complete(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		tvq_avail(t, (uint16_t)i);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[i].req), 1);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_int_eq(vxen_vq_push(t->vq, &rs[i].req, 1), 0);
}

/* Millions of comparisons: count mismatches locally (a Check assertion per case is slow) and
 * report the first one. */
static unsigned long mismatches;
static uint16_t bad_ev, bad_new, bad_old;

static void check_need_event(uint16_t ev, uint16_t new_idx, uint16_t old)
{
	if (vxen_vring_need_event(ev, new_idx, old) == model_need_event(ev, new_idx, old))
		return;
	if (!mismatches++) {
		bad_ev = ev;
		bad_new = new_idx;
		bad_old = old;
	}
}

static void report_mismatches(void)
{
	ck_assert_msg(mismatches == 0, "%lu mismatches, first: event %u new %u old %u", mismatches,
		      bad_ev, bad_new, bad_old);
}

START_TEST(notify__need_event_matches_the_model_for_every_event_near_the_wrap)
{
	/* Every old index within 64 of the 16-bit wrap and of the sign boundary, every batch of
	 * 0..64 entries, and every event within 80 of old. */
	static const uint16_t centres[] = { 0, 0x8000 };

	for (unsigned int c = 0; c < 2; c++) {
		for (int d = -64; d <= 64; d++) {
			uint16_t old = (uint16_t)(centres[c] + d);

			for (uint16_t b = 0; b <= 64; b++) {
				uint16_t new_idx = (uint16_t)(old + b);

				for (int e = -80; e <= 80; e++) {
					uint16_t ev = (uint16_t)(old + e);

					check_need_event(ev, new_idx, old);
				}
			}
		}
	}
	report_mismatches();
}
END_TEST

START_TEST(notify__need_event_matches_the_model_for_every_event_value)
{
	/* Every one of the 65536 used_event values (the poisoned ones included) for a few old
	 * indices and every batch of 0..Q. */
	static const uint16_t olds[] = { 0, 1, 0x7fff, 0x8000, 0xfff0, 0xffff };

	for (unsigned int o = 0; o < sizeof(olds) / sizeof(olds[0]); o++)
		for (uint16_t b = 0; b <= Q; b++)
			for (uint32_t ev = 0; ev <= 0xffff; ev++) {
				uint16_t old = olds[o], new_idx = (uint16_t)(old + b);

				check_need_event((uint16_t)ev, new_idx, old);
			}
	report_mismatches();
}
END_TEST

START_TEST(notify__publish_follows_the_model_through_the_wrap)
{
	/* Drive the real queue over 70000 used indices (crossing 65535 -> 0) in batches of 0..Q,
	 * with used_event chosen around the batch and sometimes anywhere (poisoned), and compare
	 * every publish decision with the model. */
	uint32_t rng = 12345;
	uint16_t old = 0;
	uint32_t total = 0;
	uint64_t notifies = 0, suppressed = 0;

	while (total < 70000) {
		unsigned int b;
		uint16_t ev;
		bool want, got;

		rng = rng * 1103515245u + 12345u;
		b = (rng >> 16) % (Q + 1);
		rng = rng * 1103515245u + 12345u;
		if ((rng >> 16) % 8 == 0)
			ev = (uint16_t)(rng >> 8);
		else
			ev = (uint16_t)(old + (int)((rng >> 16) % (2 * Q + 3)) - Q - 1);
		tvq_set_used_event(t, ev);
		complete(b);
		want = model_need_event(ev, (uint16_t)(old + b), old);
		got = vxen_vq_publish(t->vq);
		ck_assert_msg(got == want, "old %u batch %u event %u: got %d want %d", old, b, ev,
			      got, want);
		ck_assert_uint_eq(tvq_used_idx(t), (uint16_t)(old + b));
		if (b) {
			notifies += want;
			suppressed += !want;
		}
		old = (uint16_t)(old + b);
		total += b;
	}
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->notifies, notifies);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->suppressed, suppressed);
}
END_TEST

START_TEST(notify__publish_batches_several_pushes_into_one_decision)
{
	tvq_set_used_event(t, 2); /* interrupt when entry 2 is crossed */
	complete(1);
	ck_assert(!vxen_vq_publish(t->vq));
	complete(4); /* 1..4 crosses 2 */
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 5);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->published, 2);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->pushed, 5);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->notifies, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->suppressed, 1);
	/* Nothing new: no decision, no store. */
	*tvq_used_idx_ptr(t) = 0x4444;
	ck_assert(!vxen_vq_publish(t->vq));
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->published, 2);
}
END_TEST

START_TEST(notify__rejected_chains_are_published_like_completions)
{
	tvq_set_used_event(t, 0);
	tvq_avail(t, 0xffff); /* not returned */
	ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[0].req), -EINVAL);
	ck_assert(!vxen_vq_publish(t->vq));
	tvq_set_desc(t, 3, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_NEXT, 3); /* loop: returned */
	tvq_avail(t, 3);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[0].req), -ELOOP);
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 1);
}
END_TEST

START_TEST(notify__pop_moves_avail_event_while_kicks_are_enabled)
{
	complete(3);
	ck_assert_uint_eq(tvq_avail_event(t), 3);
	vxen_vq_kicks_disable(t->vq);
	tvq_avail(t, 5);
	tvq_avail(t, 6);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[5].req), 1);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[6].req), 1);
	ck_assert_uint_eq(tvq_avail_event(t), 3);
	/* With EVENT_IDX, used.flags stay 0. */
	ck_assert_uint_eq(tvq_used_flags(t), 0);
	ck_assert(!vxen_vq_kicks_enable(t->vq));
	ck_assert_uint_eq(tvq_avail_event(t), 5);
}
END_TEST

START_TEST(notify__kicks_enable_reports_chains_that_raced_in)
{
	vxen_vq_kicks_disable(t->vq);
	complete(2);
	/* The driver adds a chain while kicks are off (it would not kick). */
	tvq_avail(t, 9);
	ck_assert(vxen_vq_kicks_enable(t->vq));
	ck_assert_uint_eq(tvq_avail_event(t), 2);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[9].req), 1);
	ck_assert(!vxen_vq_kicks_enable(t->vq));
	ck_assert_uint_eq(tvq_avail_event(t), 3);
}
END_TEST

START_TEST(notify__driver_kicks_exactly_when_crossing_avail_event)
{
	/* Driver-side view of the protocol: after kicks_enable, the driver's vring_need_event
	 * check on its next avail.idx update fires exactly once. */
	uint16_t ev;

	complete(4);
	ck_assert(!vxen_vq_kicks_enable(t->vq));
	ev = tvq_avail_event(t);
	ck_assert(vxen_vring_need_event(ev, 5, 4));  /* first new chain kicks */
	ck_assert(!vxen_vring_need_event(ev, 6, 5)); /* second does not */
}
END_TEST

START_TEST(notify__flags_mode_uses_no_interrupt_and_no_notify)
{
	complete(1);
	ck_assert(vxen_vq_publish(t->vq));
	tvq_set_avail_flags(t, VXEN_VRING_AVAIL_F_NO_INTERRUPT);
	complete(1);
	ck_assert(!vxen_vq_publish(t->vq));
	tvq_set_avail_flags(t, 0);
	complete(1);
	ck_assert(vxen_vq_publish(t->vq));

	ck_assert_uint_eq(tvq_used_flags(t), 0);
	vxen_vq_kicks_disable(t->vq);
	ck_assert_uint_eq(tvq_used_flags(t), VXEN_VRING_USED_F_NO_NOTIFY);
	tvq_avail(t, 2);
	ck_assert(vxen_vq_kicks_enable(t->vq));
	ck_assert_uint_eq(tvq_used_flags(t), 0);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &rs[2].req), 1);
	ck_assert(!vxen_vq_kicks_enable(t->vq));
}
END_TEST

START_TEST(notify__flags_mode_restores_no_notify_the_guest_cleared)
{
	vxen_vq_kicks_disable(t->vq);
	*(tvq_used_idx_ptr(t) - 1) = 0; /* guest clears used.flags */
	vxen_vq_kicks_disable(t->vq);
	ck_assert_uint_eq(tvq_used_flags(t), VXEN_VRING_USED_F_NO_NOTIFY);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq_notify");
	TCase *te = tcase_create("event_idx");
	TCase *tf = tcase_create("flags");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(te, setup_event_idx, teardown);
	tcase_set_timeout(te, 120);
	tcase_add_test(te, notify__need_event_matches_the_model_for_every_event_near_the_wrap);
	tcase_add_test(te, notify__need_event_matches_the_model_for_every_event_value);
	tcase_add_test(te, notify__publish_follows_the_model_through_the_wrap);
	tcase_add_test(te, notify__publish_batches_several_pushes_into_one_decision);
	tcase_add_test(te, notify__rejected_chains_are_published_like_completions);
	tcase_add_test(te, notify__pop_moves_avail_event_while_kicks_are_enabled);
	tcase_add_test(te, notify__kicks_enable_reports_chains_that_raced_in);
	tcase_add_test(te, notify__driver_kicks_exactly_when_crossing_avail_event);
	suite_add_tcase(s, te);

	tcase_add_checked_fixture(tf, setup_flags, teardown);
	tcase_add_test(tf, notify__flags_mode_uses_no_interrupt_and_no_notify);
	tcase_add_test(tf, notify__flags_mode_restores_no_notify_the_guest_cleared);
	suite_add_tcase(s, tf);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
