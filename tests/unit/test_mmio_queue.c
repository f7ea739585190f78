/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of L3 mmio, part 2: queue setup (catalogue rows 18, 20-22), notifications
 * (rows 19, 23), interrupts, reset (rows 24, 27), counters and logging.
 */
#include "test_mmio.h"

/* ---------------------------------------------------------------- queues, rows 18, 20-22 */

/* Field by field: the structures have padding. */
static void assert_queue_eq(const struct vxen_mmio_queue_info *a,
			    const struct vxen_mmio_queue_info *b)
{
	ck_assert_uint_eq(a->num, b->num);
	ck_assert_uint_eq(a->num_max, b->num_max);
	ck_assert_uint_eq(a->desc, b->desc);
	ck_assert_uint_eq(a->driver, b->driver);
	ck_assert_uint_eq(a->device, b->device);
	ck_assert_int_eq(a->ready, b->ready);
}

START_TEST(mmio__queue_sel_out_of_range_reads_zero_and_ignores_writes)
{
	static const uint32_t sels[] = { NQ, NQ + 1, 0x8000, 0xffffffff };
	struct vxen_mmio_queue_info q0, q1, q;

	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	vxen_mmio_queue(m, 0, &q0);
	vxen_mmio_queue(m, 1, &q1);
	for (unsigned int i = 0; i < VXEN_ARRAY_SIZE(sels); i++) {
		wr(VXEN_MMIO_QUEUE_SEL, sels[i]);
		ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_NUM_MAX), 0);
		ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
		queue_regs(sels[i], 16, GRANT(1), GRANT(2), GRANT(3)); /* 7 register writes */
		wr(VXEN_MMIO_QUEUE_READY, 1);
	}
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_SEL), 8 * VXEN_ARRAY_SIZE(sels));
	ck_assert_int_eq(r.enable, 0);
	vxen_mmio_queue(m, 0, &q);
	assert_queue_eq(&q, &q0);
	vxen_mmio_queue(m, 1, &q);
	assert_queue_eq(&q, &q1);
	ck_assert_int_eq(vxen_mmio_queue(m, NQ, &q), -ENOENT);
}
END_TEST

START_TEST(mmio__queue_num_invalid_leaves_queue_not_ready)
{
	static const uint32_t nums[] = { 0, 3, 100, 255, QMAX * 2, 0x80000000, 0xffffffff };

	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	for (unsigned int i = 0; i < VXEN_ARRAY_SIZE(nums); i++)
		ck_assert_msg(setup_queue(0, nums[i]) == 0, "num %u", nums[i]);
	ck_assert_int_eq(r.enable, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_NUM), VXEN_ARRAY_SIZE(nums));
	ck_assert_uint_eq(setup_queue(0, 1), 1);
	ck_assert_uint_eq(setup_queue(1, QMAX), 1);
}
END_TEST

START_TEST(mmio__queue_ready_without_addresses_refused)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	queue_regs(0, QMAX, 0, GRANT(11), GRANT(12));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	queue_regs(0, QMAX, GRANT(10), 0, GRANT(12));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	queue_regs(0, QMAX, GRANT(10), GRANT(11), 0);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	wr(VXEN_MMIO_QUEUE_SEL, 1); /* never programmed */
	wr(VXEN_MMIO_QUEUE_NUM, QMAX);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
	wr(VXEN_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_int_eq(r.enable, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_ADDR), 4);
}
END_TEST

START_TEST(mmio__queue_ready_with_misaligned_addresses_refused)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	queue_regs(0, QMAX, GRANT(10) + 8, GRANT(11), GRANT(12));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	queue_regs(0, QMAX, GRANT(10), GRANT(11) + 1, GRANT(12));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	queue_regs(0, QMAX, GRANT(10), GRANT(11), GRANT(12) + 2);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_int_eq(r.enable, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_ADDR), 3);
	/* exactly the required alignment is enough */
	queue_regs(0, QMAX, GRANT(20) + 16, GRANT(22) + 2, GRANT(24) + 4);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_int_eq(r.enable, 1);
}
END_TEST

START_TEST(mmio__queue_ready_with_overlapping_or_wrapping_areas_refused)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	/* descriptor table (4096 bytes for 256) overlapping the driver area */
	queue_regs(0, QMAX, GRANT(10), GRANT(10) + 4094, GRANT(12));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	/* the same address for all three */
	queue_regs(0, QMAX, GRANT(10), GRANT(10), GRANT(10));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	/* a used ring that would wrap around 2^64 */
	queue_regs(0, QMAX, GRANT(10), GRANT(11), 0xfffffffffffffff0ULL);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_int_eq(r.enable, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_ADDR), 3);
}
END_TEST

/*
 * Area sizes follow the negotiated layout: with EVENT_IDX the driver area is 6 + 2*num bytes
 * (used_event at its end), without it 4 + 2*num. A device area placed right after 4 + 2*num
 * bytes is fine only without EVENT_IDX.
 */
START_TEST(mmio__queue_area_sizes_follow_event_idx)
{
	uint64_t drv = GRANT(11), dev = GRANT(11) + 4 + 2 * 16;

	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	queue_regs(0, 16, GRANT(10), drv, dev);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_ADDR), 1);
	ck_assert_uint_eq(negotiate(WANTED & ~F_EVENT_IDX), S_ACK | S_DRV | S_FOK);
	queue_regs(0, 16, GRANT(10), drv, dev);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 1);
}
END_TEST

START_TEST(mmio__queue_ready_before_features_ok_refused)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_ACK);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	ck_assert_uint_eq(setup_queue(0, QMAX), 0);
	ck_assert_int_eq(r.enable, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_STATE), 1);
}
END_TEST

START_TEST(mmio__queue_enable_gets_exact_registers_and_its_refusal_keeps_ready_zero)
{
	uint64_t desc = 0x8000000123456000ULL, drv = 0x8000000123457000ULL,
		 dev = 0x8000000123458004ULL;

	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	r.enable_ret = -EFAULT;
	queue_regs(1, 64, desc, drv, dev);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_int_eq(r.enable, 1);
	ck_assert_uint_eq(r.last_q.num, 64);
	ck_assert_uint_eq(r.last_q.num_max, QMAX);
	ck_assert_uint_eq(r.last_q.desc, desc);
	ck_assert_uint_eq(r.last_q.driver, drv);
	ck_assert_uint_eq(r.last_q.device, dev);
	ck_assert(!r.last_q.ready);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_ENABLE), 1);
	r.enable_ret = 0;
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_str_eq(r.events, "RE1E1");
}
END_TEST

START_TEST(mmio__queue_registers_ignored_while_ready)
{
	struct vxen_mmio_queue_info before, after;

	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	vxen_mmio_queue(m, 0, &before);
	queue_regs(0, 16, GRANT(50), GRANT(51), GRANT(52)); /* 7 writes while ready */
	vxen_mmio_queue(m, 0, &after);
	assert_queue_eq(&before, &after);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_BUSY), 7);
}
END_TEST

START_TEST(mmio__queue_double_ready_ignored)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_int_eq(r.enable, 1);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_BUSY), 1);
}
END_TEST

START_TEST(mmio__queue_ready_zero_disables_and_allows_reprogramming)
{
	make_grant();
	bring_up();
	wr(VXEN_MMIO_QUEUE_SEL, 1);
	wr(VXEN_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_int_eq(r.disable, 1);
	wr(VXEN_MMIO_QUEUE_READY, 0); /* already disabled: nothing happens */
	ck_assert_int_eq(r.disable, 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[1], 0);
	ck_assert_uint_eq(setup_queue(1, 32), 1);
	ck_assert_uint_eq(r.last_q.num, 32);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[1], 1);
	ck_assert_str_eq(r.events, "RE0E1DX1E1N1");
}
END_TEST

START_TEST(mmio__queue_ready_values_other_than_0_and_1_ignored)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	queue_regs(0, QMAX, GRANT(10), GRANT(11), GRANT(12));
	wr(VXEN_MMIO_QUEUE_READY, 2);
	wr(VXEN_MMIO_QUEUE_READY, 0xffffffff);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_int_eq(r.enable, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_STATE), 2);
}
END_TEST

/* ---------------------------------------------------------------- notify, rows 19, 23 */

START_TEST(mmio__notify_for_nonexistent_queue_ignored)
{
	make_grant();
	bring_up();
	wr(VXEN_MMIO_QUEUE_NOTIFY, NQ);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0xffffffff);
	ck_assert_int_eq(r.notify[0] + r.notify[1], 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_NOTIFY), 2);
}
END_TEST

START_TEST(mmio__notify_for_not_ready_queue_ignored)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	wr(VXEN_MMIO_STATUS, S_UP);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[1], 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_NOTIFY), 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(r.notify[0], 1);
	ck_assert_uint_eq(vxen_mmio_stats(m)->kicks, 1);
}
END_TEST

START_TEST(mmio__kick_before_driver_ok_deferred_until_driver_ok)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	ck_assert_uint_eq(setup_queue(1, QMAX), 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[1], 0);
	ck_assert_uint_eq(vxen_mmio_stats(m)->kicks_deferred, 2);
	wr(VXEN_MMIO_STATUS, S_UP);
	/* after driver_ok, once, only for the queue that was kicked */
	ck_assert_str_eq(r.events, "RE0E1DN1");
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

START_TEST(mmio__deferred_kick_forgotten_when_queue_disabled)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	wr(VXEN_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	wr(VXEN_MMIO_STATUS, S_UP);
	ck_assert_int_eq(r.notify[0], 0);
}
END_TEST

START_TEST(mmio__deferred_kick_forgotten_by_reset)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	bring_up();
	ck_assert_int_eq(r.notify[0], 0);
}
END_TEST

START_TEST(mmio__deferred_kick_dropped_when_failed_before_driver_ok)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK | VXEN_MMIO_S_FAILED);
	wr(VXEN_MMIO_STATUS, S_UP | VXEN_MMIO_S_FAILED);
	ck_assert_int_eq(r.driver_ok, 0);
	ck_assert_int_eq(r.notify[0], 0);
}
END_TEST

START_TEST(mmio__kick_after_reset_ignored)
{
	make_grant();
	bring_up();
	wr(VXEN_MMIO_STATUS, 0);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[0] + r.notify[1], 0);
	ck_assert_uint_eq(vxen_mmio_stats(m)->kicks_deferred, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_NOTIFY), 2);
}
END_TEST

START_TEST(mmio__notify_callback_may_signal_used)
{
	make_grant();
	bring_up();
	r.signal_in_notify = true;
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_VRING);
	ck_assert_int_eq(r.irq_up, 1);
}
END_TEST

/* ---------------------------------------------------------------- interrupts */

START_TEST(mmio__signal_used_sets_bit0_and_raises_on_each_new_bit)
{
	make_grant();
	bring_up();
	vxen_mmio_signal_used(m);
	vxen_mmio_signal_used(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_VRING);
	ck_assert_int_eq(r.irq_up, 1);
	wr(VXEN_MMIO_INTERRUPT_ACK, VXEN_MMIO_INT_VRING);
	ck_assert_int_eq(r.irq_down, 1);
	vxen_mmio_signal_used(m);
	ck_assert_int_eq(r.irq_up, 2);
	ck_assert_uint_eq(vxen_mmio_stats(m)->interrupts, 2);
}
END_TEST

START_TEST(mmio__signal_used_ignored_before_driver_ok)
{
	make_grant();
	vxen_mmio_signal_used(m);
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	vxen_mmio_signal_used(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(r.irq_up, 0);
}
END_TEST

START_TEST(mmio__interrupt_ack_clears_written_bits_and_lowers_line_at_zero)
{
	make_grant();
	bring_up();
	vxen_mmio_signal_used(m);
	vxen_mmio_config_changed(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), 3);
	ck_assert_int_eq(r.irq_up, 2); /* bit 1 is new even though bit 0 was pending */
	wr(VXEN_MMIO_INTERRUPT_ACK, VXEN_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_CONFIG);
	ck_assert_int_eq(r.irq_down, 0);
	wr(VXEN_MMIO_INTERRUPT_ACK, 0xfffffffc); /* no such bits: nothing changes */
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_CONFIG);
	wr(VXEN_MMIO_INTERRUPT_ACK, 0xffffffff);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(r.irq_down, 1);
}
END_TEST

/* ---------------------------------------------------------------- reset, rows 24, 27 */

START_TEST(mmio__reset_calls_reset_first_then_clears_the_register_file)
{
	uint8_t b = 0x42;
	struct vxen_mmio_queue_info q;

	make_grant();
	bring_up();
	ck_assert_int_eq(vxen_mmio_config_set(m, 3, &b, 1), 0);
	vxen_mmio_signal_used(m);
	wr(VXEN_MMIO_QUEUE_SEL, 1);
	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(VXEN_MMIO_STATUS, 0);
	/* during the callback: status already 0, queues still as they were */
	ck_assert_int_eq(r.reset, 2);
	ck_assert_uint_eq(r.status_in_reset, 0);
	ck_assert(r.q_in_reset.ready);
	ck_assert_uint_eq(r.q_in_reset.desc, GRANT(10));
	/* after: everything the driver set is gone */
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(r.irq_down, 1);
	ck_assert_uint_eq(vxen_mmio_features(m), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED); /* sel back to 0 */
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_NUM_MAX), QMAX);
	for (unsigned int i = 0; i < NQ; i++) {
		ck_assert_int_eq(vxen_mmio_queue(m, i, &q), 0);
		ck_assert(!q.ready);
		ck_assert_uint_eq(q.num, 0);
		ck_assert_uint_eq(q.desc | q.driver | q.device, 0);
		ck_assert_uint_eq(q.num_max, QMAX);
	}
	ck_assert_int_eq(r.disable, 0); /* reset covers the queues */
	/* config space and its generation are the device's: kept */
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 3, 1), 0x42);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 1);
	ck_assert_uint_eq(vxen_mmio_stats(m)->resets, 2);
}
END_TEST

START_TEST(mmio__reset_callback_cannot_raise_interrupts)
{
	make_grant();
	bring_up();
	r.signal_in_reset = true;
	wr(VXEN_MMIO_STATUS, 0);
	ck_assert_uint_eq(r.isr_after_reset_signal, 0);
	ck_assert_int_eq(r.irq_up, 0);
}
END_TEST

START_TEST(mmio__reset_then_full_reinitialisation_works)
{
	make_grant();
	for (int i = 0; i < 3; i++) {
		bring_up();
		wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
		ck_assert_int_eq(r.notify[0], i + 1);
	}
	ck_assert_int_eq(r.reset, 3);
	ck_assert_int_eq(r.enable, 6);
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

/* ---------------------------------------------------------------- logging and counters */

static int n_msgs;

static void count_msgs(int level, const char *msg, void *payload)
{
	(void)level;
	(void)msg;
	(void)payload;
	n_msgs++;
}

START_TEST(mmio__rejections_counted_each_logged_rate_limited)
{
	make_grant();
	vxen_log_set_handler(count_msgs, LOG_DEBUG, NULL);
	for (int i = 0; i < 1000; i++)
		wr(VXEN_MMIO_QUEUE_NOTIFY, 7);
	ck_assert_int_eq(n_msgs, VXEN_RATELIMIT_BURST);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_NOTIFY), 1000);
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 1000);
	vxen_log_set_handler(NULL, 0, NULL);
}
END_TEST

START_TEST(mmio__reject_names_are_distinct_and_bounded)
{
	for (int i = 0; i < VXEN_MMIO_REJ__COUNT; i++) {
		ck_assert_str_ne(vxen_mmio_reject_name(i), "?");
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(vxen_mmio_reject_name(i), vxen_mmio_reject_name(j));
	}
	ck_assert_str_eq(vxen_mmio_reject_name(VXEN_MMIO_REJ__COUNT), "?");
	ck_assert_str_eq(vxen_mmio_reject_name((enum vxen_mmio_reject) - 1), "?");
	ck_assert_int_le(VXEN_MMIO_REJ__COUNT, VXEN_MMIO_REJ_SLOTS);
}
END_TEST

START_TEST(mmio__minimal_ops_without_optional_callbacks_work)
{
	static const struct vxen_mmio_ops min_ops = {
		.version = VXEN_MMIO_OPS_VERSION,
		.queue_enable = cb_queue_enable,
		.reset = cb_reset,
	};
	struct vxen_mmio_config c = grant_cfg();

	make(&c, &min_ops);
	bring_up();
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	vxen_mmio_signal_used(m);
	vxen_mmio_config_changed(m);
	wr(VXEN_MMIO_INTERRUPT_ACK, 3);
	wr(VXEN_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(vxen_mmio_stats(m)->kicks, 1);
	ck_assert_uint_eq(vxen_mmio_stats(m)->interrupts, 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mmio_queue");
	TCase *que = tcase_create("queues"), *kick = tcase_create("notify"),
	      *irq = tcase_create("interrupts"), *rst = tcase_create("reset"),
	      *misc = tcase_create("misc");
	TCase *all[] = { que, kick, irq, rst, misc };

	add(que, mmio__queue_sel_out_of_range_reads_zero_and_ignores_writes);
	add(que, mmio__queue_num_invalid_leaves_queue_not_ready);
	add(que, mmio__queue_ready_without_addresses_refused);
	add(que, mmio__queue_ready_with_misaligned_addresses_refused);
	add(que, mmio__queue_ready_with_overlapping_or_wrapping_areas_refused);
	add(que, mmio__queue_area_sizes_follow_event_idx);
	add(que, mmio__queue_ready_before_features_ok_refused);
	add(que, mmio__queue_enable_gets_exact_registers_and_its_refusal_keeps_ready_zero);
	add(que, mmio__queue_registers_ignored_while_ready);
	add(que, mmio__queue_double_ready_ignored);
	add(que, mmio__queue_ready_zero_disables_and_allows_reprogramming);
	add(que, mmio__queue_ready_values_other_than_0_and_1_ignored);
	add(kick, mmio__notify_for_nonexistent_queue_ignored);
	add(kick, mmio__notify_for_not_ready_queue_ignored);
	add(kick, mmio__kick_before_driver_ok_deferred_until_driver_ok);
	add(kick, mmio__deferred_kick_forgotten_when_queue_disabled);
	add(kick, mmio__deferred_kick_forgotten_by_reset);
	add(kick, mmio__deferred_kick_dropped_when_failed_before_driver_ok);
	add(kick, mmio__kick_after_reset_ignored);
	add(kick, mmio__notify_callback_may_signal_used);
	add(irq, mmio__signal_used_sets_bit0_and_raises_on_each_new_bit);
	add(irq, mmio__signal_used_ignored_before_driver_ok);
	add(irq, mmio__interrupt_ack_clears_written_bits_and_lowers_line_at_zero);
	add(rst, mmio__reset_calls_reset_first_then_clears_the_register_file);
	add(rst, mmio__reset_callback_cannot_raise_interrupts);
	add(rst, mmio__reset_then_full_reinitialisation_works);
	add(misc, mmio__rejections_counted_each_logged_rate_limited);
	add(misc, mmio__reject_names_are_distinct_and_bounded);
	add(misc, mmio__minimal_ops_without_optional_callbacks_work);
	return run_suite(s, all, VXEN_ARRAY_SIZE(all));
}
