/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the L3 mmio unit tests (test_mmio.c, test_mmio_queue.c): a recording device
 * behind struct vxen_mmio_ops, and helpers that play the driver's side of the register file.
 */
#ifndef VXEN_TEST_MMIO_H
#define VXEN_TEST_MMIO_H

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <virtio-xen/mmio.h>

#include "internal.h"

#define F(bit)	       (1ULL << (bit))
#define F_EVENT_IDX    F(29)
#define BLK_F_SIZE_MAX F(1)
#define GRANT(gref)    ((1ULL << 63) | ((uint64_t)(gref) << 12))

#define S_ACK VXEN_MMIO_S_ACKNOWLEDGE
#define S_DRV VXEN_MMIO_S_DRIVER
#define S_FOK VXEN_MMIO_S_FEATURES_OK
#define S_DOK VXEN_MMIO_S_DRIVER_OK
#define S_UP  (S_ACK | S_DRV | S_FOK | S_DOK)

#define NQ	 2
#define QMAX	 256
#define CFG_SIZE 24
#define OFFERED	 (F(VXEN_F_VERSION_1) | F(VXEN_F_ACCESS_PLATFORM) | F_EVENT_IDX | BLK_F_SIZE_MAX)
#define WANTED	 OFFERED

/* What the callbacks saw. Each test runs in its own forked process, so globals are fresh. */
struct rec {
	int enable, disable, reset, features_ok, driver_ok, config_write, irq_up, irq_down;
	int notify[NQ + 1];
	char events[256]; /* order of callbacks: R reset, D driver_ok, N<q> notify, E<q>, X<q> */
	struct vxen_mmio_queue_info last_q;
	uint64_t last_features;
	unsigned int last_cfg_off, last_cfg_len;
	uint8_t last_cfg_buf[8];
	int enable_ret, features_ok_ret, config_write_ret;
	bool store_config_writes, signal_in_notify, signal_in_reset;
	uint32_t status_in_reset;
	struct vxen_mmio_queue_info q_in_reset;
	uint32_t isr_after_reset_signal;
};

static struct rec r;
static vxen_mmio *m;

static inline void ev(const char *fmt, unsigned int arg)
{
	size_t n = strlen(r.events);

	snprintf(r.events + n, sizeof(r.events) - n, fmt, arg);
}

static int cb_queue_enable(unsigned int qidx, const struct vxen_mmio_queue_info *q, void *p)
{
	ck_assert_ptr_eq(p, &r);
	r.enable++;
	r.last_q = *q;
	ev("E%u", qidx);
	return r.enable_ret;
}

static void cb_queue_disable(unsigned int qidx, void *p)
{
	ck_assert_ptr_eq(p, &r);
	r.disable++;
	ev("X%u", qidx);
}

static void cb_notify(unsigned int qidx, void *p)
{
	ck_assert_ptr_eq(p, &r);
	ck_assert_uint_lt(qidx, NQ);
	r.notify[qidx]++;
	ev("N%u", qidx);
	if (r.signal_in_notify)
		vxen_mmio_signal_used(m);
}

static void cb_reset(void *p)
{
	ck_assert_ptr_eq(p, &r);
	r.reset++;
	ev("R", 0);
	r.status_in_reset = vxen_mmio_status(m);
	vxen_mmio_queue(m, 0, &r.q_in_reset);
	if (r.signal_in_reset) {
		vxen_mmio_signal_used(m);
		r.isr_after_reset_signal = vxen_mmio_interrupt_status(m);
	}
}

static int cb_features_ok(uint64_t features, void *p)
{
	ck_assert_ptr_eq(p, &r);
	r.features_ok++;
	r.last_features = features;
	return r.features_ok_ret;
}

static void cb_driver_ok(void *p)
{
	ck_assert_ptr_eq(p, &r);
	r.driver_ok++;
	ev("D", 0);
}

static int cb_config_write(unsigned int off, const void *buf, unsigned int len, void *p)
{
	ck_assert_ptr_eq(p, &r);
	ck_assert_uint_le(off + len, CFG_SIZE);
	r.config_write++;
	r.last_cfg_off = off;
	r.last_cfg_len = len;
	memcpy(r.last_cfg_buf, buf, len);
	if (r.store_config_writes && r.config_write_ret == 0)
		ck_assert_int_eq(vxen_mmio_config_set(m, off, buf, len), 0);
	return r.config_write_ret;
}

static void cb_interrupt(int level, void *p)
{
	ck_assert_ptr_eq(p, &r);
	if (level)
		r.irq_up++;
	else
		r.irq_down++;
}

static const struct vxen_mmio_ops ops = {
	.version = VXEN_MMIO_OPS_VERSION,
	.queue_enable = cb_queue_enable,
	.queue_disable = cb_queue_disable,
	.notify = cb_notify,
	.reset = cb_reset,
	.features_ok = cb_features_ok,
	.driver_ok = cb_driver_ok,
	.config_write = cb_config_write,
	.interrupt = cb_interrupt,
};

static inline struct vxen_mmio_config grant_cfg(void)
{
	struct vxen_mmio_config c = VXEN_MMIO_CONFIG_INIT;

	c.device_id = 2;
	c.vendor_id = 0x554d4551;
	c.features = OFFERED;
	c.num_queues = NQ;
	c.queue_num_max = QMAX;
	c.config_size = CFG_SIZE;
	c.flags = VXEN_MMIO_F_GRANT;
	c.name = "test";
	return c;
}

static inline void make(const struct vxen_mmio_config *c, const struct vxen_mmio_ops *o)
{
	memset(&r, 0, sizeof(r));
	m = NULL;
	ck_assert_int_eq(vxen_mmio_new(&m, c, o, &r), 0);
	ck_assert_ptr_nonnull(m);
}

static inline void make_grant(void)
{
	struct vxen_mmio_config c = grant_cfg();

	make(&c, &ops);
}

static inline uint32_t rd(uint64_t off)
{
	uint64_t v = 0xdeadbeef;

	ck_assert_int_eq(vxen_mmio_read(m, off, 4, &v), 0);
	return (uint32_t)v;
}

static inline uint64_t rdn(uint64_t off, unsigned int size)
{
	uint64_t v = 0xdeadbeefdeadbeefULL;

	ck_assert_int_eq(vxen_mmio_read(m, off, size, &v), 0);
	return v;
}

static inline void wr(uint64_t off, uint32_t v)
{
	ck_assert_int_eq(vxen_mmio_write(m, off, 4, v), 0);
}

static inline uint64_t rejected(enum vxen_mmio_reject why)
{
	return vxen_mmio_stats(m)->rejected[why];
}

static inline void write_driver_features(uint64_t f)
{
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VXEN_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VXEN_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* reset, ACKNOWLEDGE, DRIVER, write @f, FEATURES_OK: returns Status as re-read. */
static inline uint32_t negotiate(uint64_t f)
{
	wr(VXEN_MMIO_STATUS, 0);
	wr(VXEN_MMIO_STATUS, S_ACK);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features(f);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	return rd(VXEN_MMIO_STATUS);
}

static inline void queue_regs(unsigned int q, uint32_t num, uint64_t desc, uint64_t drv,
			      uint64_t dev)
{
	wr(VXEN_MMIO_QUEUE_SEL, q);
	wr(VXEN_MMIO_QUEUE_NUM, num);
	wr(VXEN_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VXEN_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VXEN_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv);
	wr(VXEN_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
	wr(VXEN_MMIO_QUEUE_DEVICE_LOW, (uint32_t)dev);
	wr(VXEN_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(dev >> 32));
}

/* Program queue @q with a valid grant layout and write QueueReady=1; returns QueueReady. */
static inline uint32_t setup_queue(unsigned int q, uint32_t num)
{
	queue_regs(q, num, GRANT(10 + 3 * q), GRANT(11 + 3 * q), GRANT(12 + 3 * q));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	return rd(VXEN_MMIO_QUEUE_READY);
}

/* The whole driver initialisation sequence; the device ends up running. */
static inline void bring_up(void)
{
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(setup_queue(0, QMAX), 1);
	ck_assert_uint_eq(setup_queue(1, QMAX), 1);
	wr(VXEN_MMIO_STATUS, S_UP);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP);
}

static inline void add(TCase *tc, const TTest *t)
{
	tcase_add_test(tc, t);
}

/* Runs in the test's process (checked fixture), so leak checkers see every object freed. */
static inline void teardown(void)
{
	vxen_mmio_free(m);
	m = NULL;
}

/* Give every case the teardown, run the suite in fork mode; returns the exit code. */
static inline int run_suite(Suite *s, TCase **tcs, unsigned int n)
{
	SRunner *sr;
	int failed;

	for (unsigned int i = 0; i < n; i++) {
		tcase_add_checked_fixture(tcs[i], NULL, teardown);
		suite_add_tcase(s, tcs[i]);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif /* VXEN_TEST_MMIO_H */
