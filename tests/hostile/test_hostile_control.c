/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_control.c — hostile-guest catalogue rows 18-27 (control plane: every register
 * write comes from the guest), against the REAL virtio-blk device of examples/blk on the whole
 * stack. The guest writes registers directly (xensim_mmio_read/write: a vCPU trap through the
 * ioreq server). Each case asserts the register-level outcome (reads 0, write ignored, queue not
 * enabled, FEATURES_OK refused, ...) and the rejection counter of its reason, that no ring
 * mapping is left behind, then that device A still comes up and serves, that B was never
 * disturbed, and that nothing leaked (helper_hostile.h).
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <virtio-xen/mmio.h>

#include "helper_hostile.h"

#define S_ACK	  XENSIM_VIRTIO_S_ACKNOWLEDGE
#define S_DRV	  XENSIM_VIRTIO_S_DRIVER
#define S_FOK	  XENSIM_VIRTIO_S_FEATURES_OK
#define S_DOK	  XENSIM_VIRTIO_S_DRIVER_OK
#define S_FAILED  XENSIM_VIRTIO_S_FAILED
#define F_VERSION (1ULL << XENSIM_VIRTIO_F_VERSION_1)
#define F_ACCESS  (1ULL << XENSIM_VIRTIO_F_ACCESS_PLATFORM)

static uint64_t rejected(struct hw *w, enum vxen_mmio_reject why)
{
	return hw_dstats(w, &w->a).mmio.rejected[why];
}

/* The driver's part up to FEATURES_OK, by hand, accepting @features. Returns Status. */
static uint32_t negotiate(struct hw *w, uint64_t features)
{
	hw_wr(w, VXEN_MMIO_STATUS, 0);
	hw_wr(w, VXEN_MMIO_STATUS, S_ACK);
	hw_wr(w, VXEN_MMIO_STATUS, S_ACK | S_DRV);
	hw_wr(w, VXEN_MMIO_DRIVER_FEATURES_SEL, 0);
	hw_wr(w, VXEN_MMIO_DRIVER_FEATURES, (uint32_t)features);
	hw_wr(w, VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	hw_wr(w, VXEN_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	hw_wr(w, VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	return hw_status(w);
}

/* Ring memory for a queue of @num entries, as one coherent allocation. */
struct ring {
	uint64_t desc, avail, used;
};

static struct ring ring_alloc(struct hw *w, unsigned int num)
{
	struct ring r;

	r.desc = hw_buf(w, 3 * 4096, XENSIM_DMA_BIDIRECTIONAL, NULL);
	r.avail = r.desc + 16 * num;
	r.used = r.desc + 2 * 4096;
	return r;
}

static void queue_regs(struct hw *w, unsigned int q, unsigned int num, const struct ring *r)
{
	hw_wr(w, VXEN_MMIO_QUEUE_SEL, q);
	hw_wr(w, VXEN_MMIO_QUEUE_NUM, num);
	hw_wr(w, VXEN_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
	hw_wr(w, VXEN_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc >> 32));
	hw_wr(w, VXEN_MMIO_QUEUE_DRIVER_LOW, (uint32_t)r->avail);
	hw_wr(w, VXEN_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(r->avail >> 32));
	hw_wr(w, VXEN_MMIO_QUEUE_DEVICE_LOW, (uint32_t)r->used);
	hw_wr(w, VXEN_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(r->used >> 32));
}

/* No ring of A is mapped, in the library's and in Xen's view. */
static void assert_no_ring_mapped(struct hw *w, uint64_t live_before)
{
	ck_assert_uint_eq(hw_dstats(w, &w->a).gdma.ring_live, 0);
	ck_assert_uint_eq(hw_counters(w).gnt_live_pages, live_before);
}

/* A probe-only world with FEATURES_OK set by hand (the usual start of the cases below). */
static void up_negotiated(struct hw *w)
{
	struct hw_opts o = { .a_probe_only = true };

	hw_up(w, &o);
	ck_assert_uint_eq(negotiate(w, F_VERSION | F_ACCESS), S_ACK | S_DRV | S_FOK);
}

/* ---- 18 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r18_queue_sel_out_of_range_reads_0_and_ignores_writes)
{
	static const uint32_t sels[] = { 2, 16, 1024, 0xffff, 0xffffffffu };
	struct hw w;
	struct ring r;
	uint64_t live, rej;

	up_negotiated(&w);
	r = ring_alloc(&w, 8);
	live = hw_counters(&w).gnt_live_pages;
	rej = rejected(&w, VXEN_MMIO_REJ_QUEUE_SEL);
	for (unsigned int i = 0; i < 5; i++) {
		queue_regs(&w, sels[i], 8, &r); /* QueueSel, then 7 queue register writes */
		ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_NUM_MAX), 0);
		hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
		ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 0);
	}
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_QUEUE_SEL) - rej, 5 * 8);
	assert_no_ring_mapped(&w, live);
	/* The real queues were not touched. */
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_NUM_MAX), 256);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 19 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r19_notify_for_nonexistent_queue_ignored)
{
	static const uint32_t qs[] = { 2, 3, 1024, 0xffff, 0xffffffffu };
	struct hw w;
	uint64_t rej, kicks;

	hw_up(&w, NULL);
	rej = rejected(&w, VXEN_MMIO_REJ_NOTIFY);
	kicks = hw_dstats(&w, &w.a).mmio.kicks;
	for (unsigned int i = 0; i < 5; i++)
		hw_wr(&w, VXEN_MMIO_QUEUE_NOTIFY, qs[i]);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_NOTIFY) - rej, 5);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).mmio.kicks, kicks);
	hw_serve_one(&w, 0, 1);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 20 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r20_bad_queue_num_leaves_queue_disabled)
{
	static const uint32_t nums[] = { 0, 3, 6, 255, 512, 0x10000, 0xffffffffu };
	struct hw w;
	struct ring r;
	uint64_t live, rej;

	up_negotiated(&w);
	r = ring_alloc(&w, 8);
	live = hw_counters(&w).gnt_live_pages;
	rej = rejected(&w, VXEN_MMIO_REJ_QUEUE_NUM);
	for (unsigned int i = 0; i < 7; i++) {
		queue_regs(&w, 0, nums[i], &r);
		hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
		ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 0);
	}
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_QUEUE_NUM) - rej, 7);
	assert_no_ring_mapped(&w, live);
	/* The same registers with a good size work. */
	queue_regs(&w, 0, 8, &r);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 3);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 21 ---------------------------------------------------------------------------------- */

struct addr_case {
	const char *what;
	enum vxen_mmio_reject why;
	void (*mangle)(struct hw *w, struct ring *r);
};

static void m_desc_unaligned(struct hw *w, struct ring *r)
{
	r->desc += 8;
}

static void m_avail_odd(struct hw *w, struct ring *r)
{
	r->avail += 1;
}

static void m_used_unaligned(struct hw *w, struct ring *r)
{
	r->used += 2;
}

static void m_overlap(struct hw *w, struct ring *r)
{
	r->avail = r->desc;
}

static void m_used_over_avail(struct hw *w, struct ring *r)
{
	r->used = r->avail;
}

static void m_wraps(struct hw *w, struct ring *r)
{
	r->used = 0xfffffffffffffff0ull;
}

static void m_zero(struct hw *w, struct ring *r)
{
	r->desc = 0;
}

static void m_not_grant(struct hw *w, struct ring *r)
{
	r->desc = 0x100000; /* guest-physical: bit 63 clear */
}

static void m_not_granted(struct hw *w, struct ring *r)
{
	r->used = XENSIM_GRANT_DMA_BIT | 30000ull << 12;
}

static void m_read_only(struct hw *w, struct ring *r)
{
	r->used = hw_buf(w, 4096, XENSIM_DMA_TO_DEVICE, NULL); /* the device must write it */
}

static void m_revoked(struct hw *w, struct ring *r)
{
	uint64_t u = hw_buf(w, 4096, XENSIM_DMA_BIDIRECTIONAL, NULL);

	hw_buf_revoke(w, u);
	r->used = u;
}

static void m_gref_huge(struct hw *w, struct ring *r)
{
	r->desc = XENSIM_GRANT_DMA_BIT | 0xffffffffull << 12;
}

static const struct addr_case addr_cases[] = {
	{ "desc not 16-aligned", VXEN_MMIO_REJ_QUEUE_ADDR, m_desc_unaligned },
	{ "avail odd", VXEN_MMIO_REJ_QUEUE_ADDR, m_avail_odd },
	{ "used not 4-aligned", VXEN_MMIO_REJ_QUEUE_ADDR, m_used_unaligned },
	{ "desc and avail overlap", VXEN_MMIO_REJ_QUEUE_ADDR, m_overlap },
	{ "used and avail overlap", VXEN_MMIO_REJ_QUEUE_ADDR, m_used_over_avail },
	{ "used wraps 2^64", VXEN_MMIO_REJ_QUEUE_ADDR, m_wraps },
	{ "desc zero", VXEN_MMIO_REJ_QUEUE_ADDR, m_zero },
	{ "desc not a grant address", VXEN_MMIO_REJ_QUEUE_ENABLE, m_not_grant },
	{ "used never granted", VXEN_MMIO_REJ_QUEUE_ENABLE, m_not_granted },
	{ "used granted read-only", VXEN_MMIO_REJ_QUEUE_ENABLE, m_read_only },
	{ "used revoked", VXEN_MMIO_REJ_QUEUE_ENABLE, m_revoked },
	{ "desc grant range past 32 bits", VXEN_MMIO_REJ_QUEUE_ENABLE, m_gref_huge },
};

START_TEST(hostile__r21_bad_ring_addresses_leave_queue_disabled)
{
	const struct addr_case *c = &addr_cases[_i];
	struct hw w;
	struct ring r;
	uint64_t live, rej;

	up_negotiated(&w);
	r = ring_alloc(&w, 8);
	c->mangle(&w, &r);
	live = hw_counters(&w).gnt_live_pages;
	rej = rejected(&w, c->why);
	queue_regs(&w, 0, 8, &r);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_msg(hw_rd(&w, VXEN_MMIO_QUEUE_READY) == 0, "%s: queue enabled", c->what);
	ck_assert_msg(rejected(&w, c->why) - rej == 1, "%s: not counted as %s", c->what,
		      vxen_mmio_reject_name(c->why));
	assert_no_ring_mapped(&w, live);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).enabled, 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 22 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r22_queue_ready_without_addresses_refused)
{
	struct hw w;
	uint64_t rej;

	up_negotiated(&w);
	rej = rejected(&w, VXEN_MMIO_REJ_QUEUE_ADDR);
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	hw_wr(&w, VXEN_MMIO_QUEUE_NUM, 8);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_QUEUE_ADDR) - rej, 1);
	assert_no_ring_mapped(&w, hw_counters(&w).gnt_live_pages);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r22_double_ready_and_reconfiguring_while_ready_ignored)
{
	struct hw w;
	struct ring other;
	uint64_t rej, maps, live;

	hw_up(&w, NULL);
	other = ring_alloc(&w, 8);
	maps = hw_dstats(&w, &w.a).gdma.ring_maps;
	live = hw_counters(&w).gnt_live_pages;
	rej = rejected(&w, VXEN_MMIO_REJ_QUEUE_BUSY);
	/* Second QueueReady=1, then every setup register rewritten while ready. */
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	queue_regs(&w, 0, 8, &other);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_QUEUE_BUSY) - rej, 2 + 7);
	/* No new mapping, and the queue still runs on its original ring. */
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_maps, maps);
	ck_assert_uint_eq(hw_counters(&w).gnt_live_pages, live);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).size, w.raw.num);
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r22_queue_ready_bad_values_ignored)
{
	struct hw w;
	uint64_t rej;

	hw_up(&w, NULL);
	rej = rejected(&w, VXEN_MMIO_REJ_QUEUE_STATE);
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 2);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 0xffffffffu);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_QUEUE_STATE) - rej, 2);
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* Extra: disabling a ready queue (QueueReady=0) releases its ring; re-enabling maps again. */
START_TEST(hostile__queue_disable_and_reenable_releases_and_remaps)
{
	struct hw w;
	uint64_t live;

	hw_up(&w, NULL);
	live = hw_counters(&w).gnt_live_pages;
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 3); /* queue 1's rings */
	ck_assert_uint_lt(hw_counters(&w).gnt_live_pages, live);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(hw_counters(&w).gnt_live_pages, live);
	/* The device starts reading the re-enabled ring at index 0 again. */
	w.avail = 0;
	xensim_vq_raw_set_avail_idx(w.q0, 0);
	w.raw.used[1] = 0;
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 23 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r23_kick_before_driver_ok_consumes_nothing_until_driver_ok)
{
	struct hw_opts o = { .a_probe_only = true };
	struct hw w;
	uint8_t *st;
	uint16_t head;

	hw_up(&w, &o);
	ck_assert_int_eq(xensim_vdev_negotiate(w.vd, XENSIM_BLK_DEFAULT_FEATURES, NULL), 0);
	ck_assert_int_eq(xensim_vdev_setup_queues(w.vd, 2, NULL), 0);
	w.q0 = xensim_vdev_vq(w.vd, 0);
	w.q1 = xensim_vdev_vq(w.vd, 1);
	ck_assert_int_eq(xensim_vq_raw(w.q0, &w.raw), 0);
	head = hw_blk_chain(&w, 0, BLK_T_IN, 4, 512, &st, NULL);
	hw_avail(&w, head);
	hw_kick(&w);
	usleep(100000);
	ck_assert_uint_eq(hw_used_idx(&w), 0);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).vq.popped, 0);
	ck_assert_uint_eq(*st, 0xff);
	/* virtio 1.2 §3.1.1: the kick is remembered and served once the device is live. */
	ck_assert_int_eq(xensim_vdev_ready(w.vd), 0);
	hw_expect_used(&w, 0, head, 513);
	ck_assert_uint_eq(*st, BLK_S_OK);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r23_kick_after_reset_consumes_nothing)
{
	struct hw w;
	uint8_t *st;
	uint16_t head;

	hw_up(&w, NULL);
	/* The device looks at the ring once after DRIVER_OK, kick or not. Let that look happen
	 * first: if it ran late it could take the chain below, and the kick, answered after it,
	 * would leave one more turn pending that takes the second chain before the reset. */
	for (int t = 0; t < 2000 && hw_qstats(&w, &w.a, 0).turns == 0; t++)
		usleep(1000);
	ck_assert_uint_ge(hw_qstats(&w, &w.a, 0).turns, 1);
	/* First one served: now the device waits for kicks. */
	hw_serve_one(&w, 10, 1);
	head = hw_blk_chain(&w, 0, BLK_T_IN, 4, 512, &st, NULL);
	hw_avail(&w, head);
	ck_assert_int_eq(xensim_vdev_reset(w.vd), 0);
	for (uint32_t q = 0; q < 3; q++)
		hw_wr(&w, VXEN_MMIO_QUEUE_NOTIFY, q);
	usleep(100000);
	ck_assert_uint_eq(hw_used_idx(&w), 1);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).vq.popped, 1);
	ck_assert_uint_eq(*st, 0xff);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 0);
	w.q1 = NULL; /* forgotten by the reset */
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r23_kick_after_failed_consumes_nothing)
{
	struct hw w;
	uint8_t *st;
	uint16_t head;
	uint64_t rej;

	hw_up(&w, NULL);
	hw_serve_one(&w, 10, 1); /* as above: the device now only acts on kicks */
	ck_assert_int_eq(xensim_vdev_set_status(w.vd, S_FAILED), 0);
	ck_assert_uint_ne(hw_status(&w) & S_FAILED, 0);
	rej = rejected(&w, VXEN_MMIO_REJ_NOTIFY);
	head = hw_blk_chain(&w, 0, BLK_T_IN, 4, 512, &st, NULL);
	hw_avail(&w, head);
	hw_kick(&w);
	usleep(100000);
	ck_assert_uint_eq(hw_used_idx(&w), 1);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).vq.popped, 1);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_NOTIFY) - rej, 1);
	ck_assert_uint_eq(*st, 0xff);
	w.q1 = NULL; /* a FAILED device serves no queue */
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 24 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r24_status_writes_cannot_clear_skip_or_set_reserved_bits)
{
	struct hw_opts o = { .a_probe_only = true };
	struct hw w;
	uint64_t rej;

	hw_up(&w, &o);
	hw_wr(&w, VXEN_MMIO_STATUS, 0);
	rej = rejected(&w, VXEN_MMIO_REJ_STATUS);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK | S_DRV);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK); /* clearing DRIVER without a reset */
	ck_assert_uint_eq(hw_status(&w), S_ACK | S_DRV);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK | S_DRV | S_DOK); /* skipping FEATURES_OK */
	ck_assert_uint_eq(hw_status(&w), S_ACK | S_DRV);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK | S_DRV | 0x10 | 0x20 | 0x40); /* reserved, NEEDS_RESET */
	ck_assert_uint_eq(hw_status(&w), S_ACK | S_DRV);
	ck_assert_uint_ge(rejected(&w, VXEN_MMIO_REJ_STATUS) - rej, 2);
	/* FEATURES_OK then DRIVER_OK in order still work after all that. */
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES, (uint32_t)((F_VERSION | F_ACCESS) >> 32));
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(hw_status(&w), S_ACK | S_DRV | S_FOK);
	hw_wr(&w, VXEN_MMIO_STATUS, 0x4f); /* NEEDS_RESET along with DRIVER_OK: bit ignored */
	ck_assert_uint_eq(hw_status(&w) & 0x40, 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r24_failed_stops_the_device)
{
	struct hw w;
	struct ring r;
	uint64_t rej;

	up_negotiated(&w);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_FAILED);
	ck_assert_uint_ne(hw_status(&w) & S_FAILED, 0);
	r = ring_alloc(&w, 8);
	rej = rejected(&w, VXEN_MMIO_REJ_QUEUE_STATE);
	queue_regs(&w, 0, 8, &r);
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1); /* no queue comes up on a FAILED device */
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_QUEUE_STATE) - rej, 1);
	hw_wr(&w, VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_FAILED | S_DOK);
	ck_assert_uint_eq(hw_status(&w) & S_DOK, 0);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 25 ---------------------------------------------------------------------------------- */

static uint64_t dev_features;

static void get_features(void *arg)
{
	struct hw *w = arg;

	dev_features = vxen_dev_features(w->a.dev);
}

START_TEST(hostile__r25_unoffered_or_missing_required_features_refused)
{
	static const uint64_t bad[] = {
		F_VERSION | F_ACCESS | 1ULL << 23, /* device-class bit not offered */
		F_VERSION | F_ACCESS | 1ULL << 40, /* RING_RESET: never offered */
		F_VERSION | F_ACCESS | 1ULL << 63, /* far out */
		F_ACCESS,			   /* no VERSION_1 */
		F_VERSION,			   /* grant device without ACCESS_PLATFORM */
	};
	struct hw_opts o = { .a_probe_only = true };
	struct hw w;
	uint64_t rej;

	hw_up(&w, &o);
	rej = rejected(&w, VXEN_MMIO_REJ_FEATURES_REFUSED);
	for (unsigned int i = 0; i < 5; i++) {
		ck_assert_uint_eq(negotiate(&w, bad[i]) & S_FOK, 0);
		hw_call(&w, get_features, &w);
		ck_assert_uint_eq(dev_features, 0);
	}
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_FEATURES_REFUSED) - rej, 5);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r25_feature_writes_after_features_ok_ignored)
{
	struct hw w;
	uint64_t rej, before;

	up_negotiated(&w);
	hw_call(&w, get_features, &w);
	before = dev_features;
	ck_assert_uint_eq(before, F_VERSION | F_ACCESS);
	rej = rejected(&w, VXEN_MMIO_REJ_FEATURES_WRITE);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES_SEL, 0);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES, 0xffffffffu);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES, 0);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES_SEL, 7); /* no such word */
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES, 1);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_FEATURES_WRITE) - rej, 3);
	hw_call(&w, get_features, &w);
	ck_assert_uint_eq(dev_features, before);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 26 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r26_odd_control_accesses_read_0_and_writes_ignored)
{
	static const struct {
		uint64_t off;
		unsigned int size;
	} reads[] = {
		{ VXEN_MMIO_MAGIC_VALUE, 1 },
		{ VXEN_MMIO_MAGIC_VALUE, 2 },
		{ VXEN_MMIO_MAGIC_VALUE, 8 },
		{ VXEN_MMIO_MAGIC_VALUE + 1, 4 },
		{ VXEN_MMIO_MAGIC_VALUE + 2, 2 },
		{ 0x018, 4 }, /* undefined */
		{ 0x040, 4 },
		{ VXEN_MMIO_QUEUE_RESET, 4 },
		{ 0x0f8, 4 }, /* undefined */
		{ VXEN_MMIO_QUEUE_NOTIFY, 4 },
		{ VXEN_MMIO_INTERRUPT_ACK, 4 }, /* write-only */
		{ VXEN_MMIO_QUEUE_DESC_LOW, 4 },
		{ VXEN_MMIO_DRIVER_FEATURES, 4 },
	};
	struct hw w;
	uint64_t rej;

	hw_up(&w, NULL);
	rej = hw_dstats(&w, &w.a).mmio.rejected_total;
	for (unsigned int i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		ck_assert_msg(hw_rd_sized(&w, reads[i].off, reads[i].size) == 0,
			      "read of %u bytes at 0x%x", reads[i].size,
			      (unsigned int)reads[i].off);
	/* Writes of the wrong size or alignment to Status, QueueSel, QueueReady: ignored. */
	hw_wr_sized(&w, VXEN_MMIO_STATUS, 1, 0);
	hw_wr_sized(&w, VXEN_MMIO_STATUS, 2, 0);
	hw_wr_sized(&w, VXEN_MMIO_STATUS, 8, 0);
	hw_wr_sized(&w, VXEN_MMIO_STATUS + 1, 4, 0);
	hw_wr_sized(&w, VXEN_MMIO_QUEUE_SEL, 2, 1);
	hw_wr_sized(&w, VXEN_MMIO_QUEUE_READY, 1, 0);
	hw_wr(&w, VXEN_MMIO_MAGIC_VALUE, 0);	       /* read-only */
	hw_wr(&w, VXEN_MMIO_INTERRUPT_STATUS, 0xffff); /* read-only */
	hw_wr(&w, 0x0f8, 1);			       /* undefined */
	ck_assert_uint_eq(hw_status(&w), S_ACK | S_DRV | S_FOK | S_DOK);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_MAGIC_VALUE), VXEN_MMIO_MAGIC);
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 1);
	ck_assert_uint_ge(hw_dstats(&w, &w.a).mmio.rejected_total - rej,
			  sizeof(reads) / sizeof(reads[0]) + 9);
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r26_config_space_accesses_bounded_by_its_size)
{
	struct hw w;
	uint64_t cap8, cap_lo, rej;
	const unsigned int cfg = sizeof(struct virtio_blk_config); /* the device's config_size */

	hw_up(&w, NULL);
	cap8 = hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE, 8);
	ck_assert_uint_eq(cap8, HW_SECTORS);
	cap_lo = hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE, 4);
	ck_assert_uint_eq(cap_lo, HW_SECTORS);
	ck_assert_uint_eq(hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE + 1, 2),
			  (HW_SECTORS >> 8) & 0xffff);
	ck_assert_uint_eq(hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE, 1), HW_SECTORS & 0xff);
	rej = rejected(&w, VXEN_MMIO_REJ_CONFIG_ACCESS);
	/* Crossing the end of config space, past it, beyond the window's config area. */
	ck_assert_uint_eq(hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE + cfg - 4, 8), 0);
	ck_assert_uint_eq(hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE + cfg - 1, 2), 0);
	ck_assert_uint_eq(hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE + cfg, 1), 0);
	ck_assert_uint_eq(hw_rd_sized(&w, 0x1f8, 8), 0);
	ck_assert_uint_eq(rejected(&w, VXEN_MMIO_REJ_CONFIG_ACCESS) - rej, 4);
	/* virtio-blk's config is read-only to the driver here: writes ignored, capacity kept. */
	hw_wr_sized(&w, VXEN_MMIO_CONFIG_SPACE, 8, 1);
	hw_wr_sized(&w, VXEN_MMIO_CONFIG_SPACE + cfg - 2, 4, 1);
	ck_assert_uint_eq(hw_rd_sized(&w, VXEN_MMIO_CONFIG_SPACE, 8), HW_SECTORS);
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* Extra: InterruptACK of bits never set, and a storm of it, is harmless. */
START_TEST(hostile__interrupt_ack_garbage_harmless)
{
	struct hw w;

	hw_up(&w, NULL);
	for (unsigned int i = 0; i < 200; i++)
		hw_wr(&w, VXEN_MMIO_INTERRUPT_ACK, 0xffffffffu - i);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_INTERRUPT_STATUS) & ~3u, 0);
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 27 ---------------------------------------------------------------------------------- */

/* 64 reads of 64 KiB (mapped, not copied; on I/O threads) in flight when the driver resets. */
static void post_many(struct hw *w, unsigned int n, unsigned int d0)
{
	for (unsigned int i = 0; i < n; i++)
		hw_avail(w, hw_blk_chain(w, (uint16_t)(d0 + 3 * i), BLK_T_IN, 128 * i, 65536, NULL,
					 NULL));
	hw_kick(w);
}

START_TEST(hostile__r27_reset_with_requests_in_flight_releases_everything)
{
	struct hw w;
	struct vxen_dev_stats ds;

	hw_up(&w, NULL);
	post_many(&w, 64, 0);
	/* No waiting: Status = 0 races the device's work on purpose. */
	ck_assert_int_eq(xensim_vdev_reset(w.vd), 0);
	ck_assert_uint_eq(hw_status(&w), 0);
	ds = hw_dstats(&w, &w.a);
	ck_assert_uint_eq(ds.drain_timeouts, 0);
	ck_assert_uint_eq(ds.gdma.ring_live, 0);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).inflight, 0);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).gdma.live_pages, 0);
	/* Every buffer can be ended by the guest now (hw_down asserts it: no "still in use"). */
	w.q1 = NULL;
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r27_reset_storm_with_requests_in_flight)
{
	struct hw w;

	hw_up(&w, NULL);
	for (unsigned int round = 0; round < 20; round++) {
		post_many(&w, 8, 0);
		ck_assert_int_eq(xensim_vdev_reset(w.vd), 0);
		ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 0);
		ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
		w.vd = NULL;
		hw_init_a(&w, 0, NULL);
	}
	ck_assert_uint_eq(hw_dstats(&w, &w.a).drain_timeouts, 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

Suite *hostile_control_suite(void);

Suite *hostile_control_suite(void)
{
	Suite *s = suite_create("hostile_control");
	TCase *t = tcase_create("catalogue");

	tcase_add_test(t, hostile__r18_queue_sel_out_of_range_reads_0_and_ignores_writes);
	tcase_add_test(t, hostile__r19_notify_for_nonexistent_queue_ignored);
	tcase_add_test(t, hostile__r20_bad_queue_num_leaves_queue_disabled);
	tcase_add_loop_test(t, hostile__r21_bad_ring_addresses_leave_queue_disabled, 0,
			    sizeof(addr_cases) / sizeof(addr_cases[0]));
	tcase_add_test(t, hostile__r22_queue_ready_without_addresses_refused);
	tcase_add_test(t, hostile__r22_double_ready_and_reconfiguring_while_ready_ignored);
	tcase_add_test(t, hostile__r22_queue_ready_bad_values_ignored);
	tcase_add_test(t, hostile__queue_disable_and_reenable_releases_and_remaps);
	tcase_add_test(t, hostile__r23_kick_before_driver_ok_consumes_nothing_until_driver_ok);
	tcase_add_test(t, hostile__r23_kick_after_reset_consumes_nothing);
	tcase_add_test(t, hostile__r23_kick_after_failed_consumes_nothing);
	tcase_add_test(t, hostile__r24_status_writes_cannot_clear_skip_or_set_reserved_bits);
	tcase_add_test(t, hostile__r24_failed_stops_the_device);
	tcase_add_test(t, hostile__r25_unoffered_or_missing_required_features_refused);
	tcase_add_test(t, hostile__r25_feature_writes_after_features_ok_ignored);
	tcase_add_test(t, hostile__r26_odd_control_accesses_read_0_and_writes_ignored);
	tcase_add_test(t, hostile__r26_config_space_accesses_bounded_by_its_size);
	tcase_add_test(t, hostile__interrupt_ack_garbage_harmless);
	tcase_add_test(t, hostile__r27_reset_with_requests_in_flight_releases_everything);
	tcase_add_test(t, hostile__r27_reset_storm_with_requests_in_flight);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return hw_run_suite(hostile_control_suite());
}
