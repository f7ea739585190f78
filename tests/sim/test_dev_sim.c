/* SPDX-License-Identifier: MIT */
/*
 * test_dev_sim.c — the device layer on the whole stack: xensim machine, the guest's ioreq
 * server from a vxen_loop on a backend thread, grant DMA, the test device; the guest side is
 * xensim's Linux-like virtio-mmio driver on grant DMA, on the test thread. Each test starts
 * its own machine.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <virtio-xen/dev.h>
#include <virtio-xen/log.h>
#include <virtio-xen/loop.h>
#include <xensim-virtio.h>
#include <xensim.h>

#include "helper_testdev.h"

#define BASE 0x2000000ull
#define IRQ  33u
#define TMO  5000

static struct {
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *g;
	struct testloop *tl;
	struct testdev *td;
	xensim_vdev *vd;
} w;

static void machine_up(const struct testdev_opts *opts)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;

	memset(&w, 0, sizeof(w));
	dc.vcpus = 2;
	ck_assert_int_eq(xensim_server_start(&w.srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w.x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(w.x, &dc, &w.domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&w.g, w.x, w.domid), 0);
	ck_assert_int_eq(testloop_start(&w.tl), 0);
	ck_assert_int_eq(testloop_add_testdev(w.tl, w.domid, BASE, IRQ, opts, &w.td), 0);
}

static void machine_down(void)
{
	testloop_del_testdev(w.tl, w.td);
	testloop_stop(w.tl);
	xensim_guest_detach(w.g);
	xensim_close(w.x);
	xensim_server_stop(w.srv);
}

static struct xensim_counters counters(void)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(w.x, w.domid, &c), 0);
	return c;
}

static void probe_and_init(void)
{
	uint64_t acc = 0;

	ck_assert_int_eq(xensim_vdev_probe(&w.vd, w.g, 0, BASE, IRQ), 0);
	ck_assert_uint_eq(xensim_vdev_device_id(w.vd), TESTDEV_ID);
	ck_assert_int_eq(
		xensim_vdev_negotiate(w.vd,
				      XENSIM_VIRTIO_BIT(TESTDEV_F_ECHO) |
					      XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX) |
					      XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC),
				      &acc),
		0);
	ck_assert(acc & XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_VERSION_1));
	ck_assert(acc & XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_ACCESS_PLATFORM));
	ck_assert(acc & XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX));
	ck_assert_int_eq(xensim_vdev_setup_queues(w.vd, 2, NULL), 0);
	ck_assert_int_eq(xensim_vdev_ready(w.vd), 0);
}

/* Guest buffers: @n bytes at a fresh page run; returns the guest physical address. */
static uint64_t gbuf(size_t n, const void *fill)
{
	uint64_t gpa;

	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, (n + 4095) / 4096, &gpa), 0);
	if (fill)
		memcpy(xensim_guest_ptr(w.g, gpa, n), fill, n);
	return gpa;
}

/* Send one echo request with @len bytes of @data and a @cap-byte reply buffer; wait for it. */
static uint32_t echo(xensim_vq *q, const void *data, uint32_t len, uint32_t cap, void **reply)
{
	struct xensim_sg out = { gbuf(len, data), len }, in = { gbuf(cap, NULL), cap };
	void *tok = NULL;
	uint32_t used = 0;

	ck_assert_int_eq(xensim_vq_add(q, &out, 1, &in, 1, &in), 0);
	ck_assert_int_ge(xensim_vq_kick(q), 0);
	ck_assert_int_eq(xensim_vq_wait(q, TMO), 0);
	ck_assert_int_eq(xensim_vq_get_buf(q, &tok, &used), 1);
	ck_assert_ptr_eq(tok, &in);
	*reply = xensim_guest_ptr(w.g, in.gpa, cap);
	return used;
}

static struct {
	struct vxen_dev_stats dev;
	struct vxen_dev_queue_stats q[2];
} st;

static void read_stats(void *arg)
{
	vxen_dev_stats(testdev_dev(w.td), &st.dev);
	vxen_dev_queue_stats(testdev_dev(w.td), 0, &st.q[0]);
	vxen_dev_queue_stats(testdev_dev(w.td), 1, &st.q[1]);
}

START_TEST(dev_sim__guest_negotiates_and_does_io_on_both_queues)
{
	struct testdev_counters tc;
	struct xensim_sg ev;
	void *reply, *tok;
	uint32_t len;
	uint64_t evgpa;

	machine_up(NULL);
	probe_and_init();
	/* queue 0: echo, several sizes (grant copy and grant map paths of gdma) */
	ck_assert_uint_eq(echo(xensim_vdev_vq(w.vd, 0), "hello", 5, 64, &reply), 5);
	ck_assert_mem_eq(reply, "hello", 5);
	{
		static char big[3 * 4096 + 100];

		memset(big, 'b', sizeof(big));
		ck_assert_uint_eq(
			echo(xensim_vdev_vq(w.vd, 0), big, sizeof(big), sizeof(big), &reply),
			sizeof(big));
		ck_assert_mem_eq(reply, big, sizeof(big));
	}
	/* queue 1: the device holds the buffer until it has an event */
	evgpa = gbuf(128, NULL);
	ev = (struct xensim_sg){ evgpa, 128 };
	ck_assert_int_eq(xensim_vq_add(xensim_vdev_vq(w.vd, 1), NULL, 0, &ev, 1, &ev), 0);
	ck_assert_int_ge(xensim_vq_kick(xensim_vdev_vq(w.vd, 1)), 0);
	usleep(20000);
	ck_assert(!xensim_vq_more_used(xensim_vdev_vq(w.vd, 1)));
	ck_assert_int_eq(testdev_send_event(w.td, "evt", 3), 0);
	ck_assert_int_eq(xensim_vq_wait(xensim_vdev_vq(w.vd, 1), TMO), 0);
	ck_assert_int_eq(xensim_vq_get_buf(xensim_vdev_vq(w.vd, 1), &tok, &len), 1);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(xensim_guest_ptr(w.g, evgpa, 3), "evt", 3);

	testdev_counters(w.td, &tc);
	ck_assert_uint_eq(tc.completed, 2);
	ck_assert_uint_eq(tc.events_sent, 1);
	/* Counters of every layer through the device API (read on the loop thread). */
	testloop_call(w.tl, read_stats, NULL);
	ck_assert_uint_eq(st.dev.gdma.ring_live, 6); /* 3 areas x 2 queues, mapped once */
	ck_assert_uint_eq(st.dev.mmio.kicks, st.q[0].kicks + st.q[1].kicks);
	/* The event on queue 1 needs an interrupt; the echoes may be collected by polling when
	 * the completion is already there (EVENT_IDX then rightly suppresses theirs). */
	ck_assert_uint_ge(st.dev.interrupts, 1);
	ck_assert_uint_eq(st.q[0].vq.popped, 2);
	ck_assert_uint_eq(st.q[0].gdma.requests, 2);
	ck_assert_uint_ge(st.q[0].gdma.map_calls, 1);  /* the 12 KiB buffer is mapped... */
	ck_assert_uint_ge(st.q[0].gdma.copy_calls, 1); /* ...the 5-byte one grant-copied */
	ck_assert_uint_eq(st.q[0].gdma.live_requests, 0);
	ck_assert_uint_eq(st.q[1].vq.popped, 1);
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	machine_down();
}
END_TEST

START_TEST(dev_sim__config_read_spans_a_generation_change)
{
	uint32_t magic = 0, gen0, gen1;
	uint64_t value = 0;
	int bits;

	machine_up(NULL);
	probe_and_init();
	ck_assert_int_eq(xensim_vdev_config_read(w.vd, 0, &magic, 4), 0);
	ck_assert_uint_eq(magic, TESTDEV_MAGIC);
	ck_assert_int_eq(xensim_vdev_config_generation(w.vd, &gen0), 0);
	/* The device changes its config from another thread (not the loop). */
	testdev_set_value(w.td, 0x0102030405060708ULL);
	bits = xensim_vdev_irq_wait(w.vd, TMO);
	ck_assert_int_ge(bits, 0);
	ck_assert(bits & XENSIM_VIRTIO_INT_CONFIG);
	ck_assert_uint_eq(xensim_vdev_config_changes(w.vd), 1);
	ck_assert_int_eq(xensim_vdev_config_generation(w.vd, &gen1), 0);
	ck_assert_uint_ne(gen0, gen1);
	/* 8-byte field read as two 32-bit accesses inside the generation loop. */
	ck_assert_int_eq(xensim_vdev_config_read(w.vd, 8, &value, 8), 0);
	ck_assert_uint_eq(value, 0x0102030405060708ULL);
	/* The driver-writable field. */
	magic = 0x5a5a;
	ck_assert_int_eq(xensim_vdev_config_write(w.vd, 4, &magic, 4), 0);
	magic = 0;
	ck_assert_int_eq(xensim_vdev_config_read(w.vd, 4, &magic, 4), 0);
	ck_assert_uint_eq(magic, 0x5a5a);
	ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
	machine_down();
}
END_TEST

START_TEST(dev_sim__worker_thread_completions_reach_the_guest)
{
	struct testdev_opts o = { .mode = TESTDEV_WORKER, .delay_us = 200 };
	enum { N = 24 };
	struct xensim_sg out[N], in[N];
	xensim_vq *q;
	int got = 0;

	machine_up(&o);
	probe_and_init();
	q = xensim_vdev_vq(w.vd, 0);
	for (int i = 0; i < N; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "req-%02d", i);
		out[i] = (struct xensim_sg){ gbuf(7, msg), 7 };
		in[i] = (struct xensim_sg){ gbuf(16, NULL), 16 };
		ck_assert_int_eq(xensim_vq_add(q, &out[i], 1, &in[i], 1, &in[i]), 0);
	}
	ck_assert_int_ge(xensim_vq_kick(q), 0);
	while (got < N) {
		void *tok;
		uint32_t len;
		int r;

		ck_assert_int_eq(xensim_vq_wait(q, TMO), 0);
		while ((r = xensim_vq_get_buf(q, &tok, &len)) == 1) {
			struct xensim_sg *sg = tok;
			char want[32];

			snprintf(want, sizeof(want), "req-%02ld", (long)(sg - in));
			ck_assert_uint_eq(len, 7);
			ck_assert_mem_eq(xensim_guest_ptr(w.g, sg->gpa, 7), want, 7);
			got++;
		}
		ck_assert_int_eq(r, 0);
	}
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	machine_down();
}
END_TEST

START_TEST(dev_sim__reset_with_requests_in_flight_releases_every_mapping)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD };
	struct testdev_counters tc;
	struct xensim_sg out, in;
	xensim_vq *q;
	uint8_t status = 0xff;
	void *tok;

	machine_up(&o);
	probe_and_init();
	q = xensim_vdev_vq(w.vd, 0);
	for (int i = 0; i < 4; i++) {
		/* Larger than the grant copy threshold: real data mappings stay in flight. */
		out = (struct xensim_sg){ gbuf(8192, NULL), 8192 };
		in = (struct xensim_sg){ gbuf(8192, NULL), 8192 };
		ck_assert_int_eq(xensim_vq_add(q, &out, 1, &in, 1, (void *)(uintptr_t)(i + 1)), 0);
	}
	ck_assert_int_ge(xensim_vq_kick(q), 0);
	for (int i = 0; i < 200; i++) {
		testdev_counters(w.td, &tc);
		if (tc.held == 4)
			break;
		usleep(5000);
	}
	ck_assert_uint_eq(tc.held, 4);
	ck_assert_uint_gt(counters().gnt_live_pages, 0);
	/* Status = 0 returns only once every request was cancelled and every page unmapped. */
	ck_assert_int_eq(xensim_vdev_reset(w.vd), 0);
	ck_assert_int_eq(xensim_vdev_get_status(w.vd, &status), 0);
	ck_assert_uint_eq(status, 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	testdev_counters(w.td, &tc);
	ck_assert_uint_eq(tc.held, 0);
	/* The driver takes its buffers back without any grant still in use. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(xensim_vq_detach_unused(q, &tok), 1);
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	machine_down();
}
END_TEST

START_TEST(dev_sim__device_comes_back_after_reset)
{
	void *reply;

	machine_up(NULL);
	probe_and_init();
	ck_assert_uint_eq(echo(xensim_vdev_vq(w.vd, 0), "one", 3, 8, &reply), 3);
	ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	/* A second probe (as after a guest driver reload) negotiates again and works. */
	probe_and_init();
	ck_assert_uint_eq(echo(xensim_vdev_vq(w.vd, 0), "two", 3, 8, &reply), 3);
	ck_assert_mem_eq(reply, "two", 3);
	ck_assert_int_eq(xensim_vdev_free(w.vd), 0);
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	machine_down();
}
END_TEST

/* Submit @n 8 KiB echo requests and wait until the (HOLD) device holds them all. */
static void submit_held(unsigned int n)
{
	xensim_vq *q = xensim_vdev_vq(w.vd, 0);
	struct testdev_counters tc;

	for (unsigned int i = 0; i < n; i++) {
		struct xensim_sg out = { gbuf(8192, NULL), 8192 }, in = { gbuf(8192, NULL), 8192 };

		ck_assert_int_eq(xensim_vq_add(q, &out, 1, &in, 1, (void *)(uintptr_t)(i + 1)), 0);
	}
	ck_assert_int_ge(xensim_vq_kick(q), 0);
	for (int i = 0; i < 400; i++) {
		testdev_counters(w.td, &tc);
		if (tc.held == n)
			return;
		usleep(5000);
	}
	ck_abort_msg("device holds %lu of %u requests", (unsigned long)tc.held, n);
}

/* The machine reaps a destroyed domain once nothing references it: wait for that. */
static void wait_reaped(void)
{
	struct xensim_counters c;

	for (int i = 0; i < 400; i++) {
		if (xensim_counters_get(w.x, w.domid, &c) == -ESRCH)
			return;
		usleep(5000);
	}
	ck_abort_msg("dead guest still referenced: %lu grant pages, %lu ports, %lu servers",
		     (unsigned long)c.gnt_live_pages, (unsigned long)c.evtchn_live_ports,
		     (unsigned long)c.ioreq_servers_live);
}

START_TEST(dev_sim__requests_completing_after_guest_death_are_safe)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD, .stuck = _i == 1, .drain_timeout_ms = 50 };

	machine_up(&o);
	probe_and_init();
	submit_held(3);
	/* The guest dies with requests (and their grant mappings) held by the device. */
	ck_assert_int_eq(xensim_domain_destroy(w.x, w.domid), 0);
	xensim_vdev_free(w.vd); /* only frees the guest-side memory now: the domain is gone */
	xensim_guest_detach(w.g);
	w.g = NULL;
	/* _i == 0: the reset hook cancels them; _i == 1: the device is stuck, vxen_dev_free
	 * gives up waiting, and testdev_free completes them after the device is gone. Either
	 * way every mapping is released and the machine can reap the domain. */
	testloop_del_testdev(w.tl, w.td);
	w.td = NULL;
	wait_reaped();
	testloop_stop(w.tl);
	xensim_close(w.x);
	xensim_server_stop(w.srv);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dev_sim");
	TCase *tc = tcase_create("dev_sim");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dev_sim__guest_negotiates_and_does_io_on_both_queues);
	tcase_add_test(tc, dev_sim__config_read_spans_a_generation_change);
	tcase_add_test(tc, dev_sim__worker_thread_completions_reach_the_guest);
	tcase_add_test(tc, dev_sim__reset_with_requests_in_flight_releases_every_mapping);
	tcase_add_test(tc, dev_sim__device_comes_back_after_reset);
	tcase_add_loop_test(tc, dev_sim__requests_completing_after_guest_death_are_safe, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (getenv("VXEN_TEST_LOG"))
		vxen_log_set_handler(vxen_log_stderr, atoi(getenv("VXEN_TEST_LOG")), NULL);
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
