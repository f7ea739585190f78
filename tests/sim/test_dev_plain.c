/* SPDX-License-Identifier: MIT */
/*
 * test_dev_plain.c — the device layer (dev.h) on plain memory, without Xen: register accesses
 * through vxen_dev_mmio_read/write, rings and buffers in a test arena reached through
 * vq.h's plain memory interface, interrupts through cfg.interrupt. A small split-ring driver
 * written here plays the guest. Covers the data plane, completions from threads, budget and
 * back-pressure, pull mode, config space, reset with requests in flight, broken queues.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <virtio-xen/dev.h>
#include <virtio-xen/log.h>
#include <virtio-xen/mmio.h>

#include "helper_testdev.h"

#define ARENA_SIZE (1u << 20)
#define ARENA_BASE 0x100000ull
#define QSIZE	   32u

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct drvq {
	unsigned int num;
	struct vdesc *desc;
	uint16_t *avail; /* flags, idx, ring[num], used_event */
	uint16_t *used;	 /* flags, idx, then 8-byte elems, avail_event */
	uint16_t next_desc, last_used;
	uint64_t desc_a, avail_a, used_a;
};

struct drv {
	vxen_dev *dev;
	struct testdev *td;
	uint8_t *arena;
	size_t brk;
	struct vxen_vq_plain_mem pm;
	struct vxen_dev_mem mem;
	struct drvq q[2];
	unsigned int irqs;
	unsigned int ring_maps, ring_unmaps;
	uint64_t features;
};

static struct drv D;

/* ------------------------------------------------------------------------------------------ */
/* The test "guest": arena allocator, registers, ring driver                                  */

static uint64_t arena_alloc(size_t len, size_t align)
{
	uint64_t off = (D.brk + align - 1) / align * align;

	ck_assert_uint_le(off + len, ARENA_SIZE);
	D.brk = off + len;
	return ARENA_BASE + off;
}

static void *ptr(uint64_t addr)
{
	return D.arena + (addr - ARENA_BASE);
}

static void *ring_map(uint64_t addr, size_t len, void *payload)
{
	if (addr < ARENA_BASE || addr - ARENA_BASE + len > ARENA_SIZE)
		return NULL;
	D.ring_maps++;
	return ptr(addr);
}

static void ring_unmap(void *p, size_t len, void *payload)
{
	D.ring_unmaps++;
}

static void on_irq(vxen_dev *dev, int level, void *payload)
{
	if (level)
		D.irqs++;
}

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0;

	ck_assert_int_eq(vxen_dev_mmio_read(D.dev, off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
	ck_assert_int_eq(vxen_dev_mmio_write(D.dev, off, 4, v), 0);
}

static void setup_arena(void)
{
	D.arena = aligned_alloc(4096, ARENA_SIZE);
	memset(D.arena, 0, ARENA_SIZE);
	D.brk = 0;
	D.pm = (struct vxen_vq_plain_mem){ .host = D.arena,
					   .base = ARENA_BASE,
					   .size = ARENA_SIZE };
	D.mem = (struct vxen_dev_mem){ .version = VXEN_DEV_MEM_VERSION,
				       .ops = vxen_vq_plain_mem_ops(),
				       .payload = &D.pm,
				       .ring_map = ring_map,
				       .ring_unmap = ring_unmap };
}

static struct vxen_dev_config plain_cfg(void)
{
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;

	cfg.domid = 1;
	cfg.base = 0x2000000;
	cfg.mem = &D.mem;
	cfg.interrupt = on_irq;
	cfg.drain_timeout_ms = 2000;
	return cfg;
}

static void make_dev(const struct testdev_opts *opts)
{
	struct vxen_dev_config cfg = plain_cfg();

	memset(&D, 0, sizeof(D));
	setup_arena();
	ck_assert_int_eq(testdev_new(&D.td, &cfg, opts), 0);
	D.dev = testdev_dev(D.td);
}

static void teardown(void)
{
	testdev_free(D.td);
	free(D.arena);
	D.td = NULL;
}

static void setup_queue(unsigned int qi, unsigned int num)
{
	struct drvq *q = &D.q[qi];

	q->num = num;
	q->desc_a = arena_alloc(16 * num, 16);
	q->avail_a = arena_alloc(6 + 2 * num, 2);
	q->used_a = arena_alloc(6 + 8 * num, 4096);
	q->desc = ptr(q->desc_a);
	q->avail = ptr(q->avail_a);
	q->used = ptr(q->used_a);
	wr(VXEN_MMIO_QUEUE_SEL, qi);
	ck_assert_uint_ge(rd(VXEN_MMIO_QUEUE_NUM_MAX), num);
	wr(VXEN_MMIO_QUEUE_NUM, num);
	wr(VXEN_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc_a);
	wr(VXEN_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc_a >> 32));
	wr(VXEN_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail_a);
	wr(VXEN_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail_a >> 32));
	wr(VXEN_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used_a);
	wr(VXEN_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used_a >> 32));
	wr(VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_READY), 1);
}

static uint64_t device_features(void)
{
	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = rd(VXEN_MMIO_DEVICE_FEATURES);

	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(VXEN_MMIO_DEVICE_FEATURES) << 32;
}

/* Negotiate @want & offered; returns the Status read back after FEATURES_OK. */
static uint32_t negotiate(uint64_t want)
{
	wr(VXEN_MMIO_STATUS, 0);
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE);
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER);
	D.features = device_features() & want;
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VXEN_MMIO_DRIVER_FEATURES, (uint32_t)D.features);
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VXEN_MMIO_DRIVER_FEATURES, (uint32_t)(D.features >> 32));
	wr(VXEN_MMIO_STATUS,
	   VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER | VXEN_MMIO_S_FEATURES_OK);
	return rd(VXEN_MMIO_STATUS);
}

static void bring_up(uint64_t want)
{
	ck_assert(negotiate(want) & VXEN_MMIO_S_FEATURES_OK);
	memset(D.q, 0, sizeof(D.q));
	setup_queue(0, QSIZE);
	setup_queue(1, QSIZE);
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER |
				     VXEN_MMIO_S_FEATURES_OK | VXEN_MMIO_S_DRIVER_OK);
	vxen_dev_process(D.dev);
}

#define ALL_FEATURES (~0ULL)

/* Add a chain: @out bytes readable, then @in_len bytes writable (either may be 0). */
/* Descriptors are taken round-robin: a test never has more than QSIZE outstanding. */
static uint16_t add(unsigned int qi, const void *out, uint32_t out_len, uint32_t in_len)
{
	struct drvq *q = &D.q[qi];
	uint16_t head = q->next_desc, d = head;

	if (out_len) {
		uint64_t a = arena_alloc(out_len, 8);

		memcpy(ptr(a), out, out_len);
		q->desc[d] =
			(struct vdesc){ a, out_len, in_len ? 1 : 0, (uint16_t)((d + 1) % q->num) };
		d = (d + 1) % q->num;
	}
	if (in_len) {
		uint64_t a = arena_alloc(in_len, 8);

		memset(ptr(a), 0xee, in_len);
		q->desc[d] = (struct vdesc){ a, in_len, 2, 0 };
		d = (d + 1) % q->num;
	}
	q->next_desc = d;
	uint16_t idx = q->avail[1];

	q->avail[2 + (idx % q->num)] = head;
	__atomic_store_n(&q->avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	return head;
}

static void kick(unsigned int qi)
{
	wr(VXEN_MMIO_QUEUE_NOTIFY, qi);
}

static uint16_t used_idx(unsigned int qi)
{
	return __atomic_load_n(&D.q[qi].used[1], __ATOMIC_ACQUIRE);
}

/* Collect one used entry: 1 with id/len, 0 if none. */
static int get_used(unsigned int qi, uint32_t *id, uint32_t *len)
{
	struct drvq *q = &D.q[qi];
	uint32_t *elem;

	if (used_idx(qi) == q->last_used)
		return 0;
	elem = (uint32_t *)&q->used[2] + 2 * (q->last_used % q->num);
	*id = elem[0];
	*len = elem[1];
	q->last_used++;
	return 1;
}

static void process_until_used(unsigned int qi, uint16_t want)
{
	for (int i = 0; i < 2000 && used_idx(qi) != want; i++) {
		vxen_dev_process(D.dev);
		if (used_idx(qi) != want)
			usleep(1000);
	}
	ck_assert_uint_eq(used_idx(qi), want);
}

static bool fd_readable(void)
{
	struct pollfd p = { .fd = vxen_dev_fd(D.dev), .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                       */

START_TEST(dev__probe_shows_identity_and_transport_features)
{
	uint64_t f;

	make_dev(NULL);
	ck_assert_uint_eq(rd(VXEN_MMIO_MAGIC_VALUE), VXEN_MMIO_MAGIC);
	ck_assert_uint_eq(rd(VXEN_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_ID), TESTDEV_ID);
	f = device_features();
	ck_assert(f & (1ULL << VXEN_F_VERSION_1));
	ck_assert(f & (1ULL << VXEN_F_INDIRECT_DESC));
	ck_assert(f & (1ULL << VXEN_F_EVENT_IDX));
	ck_assert(f & (1ULL << TESTDEV_F_ECHO));
	/* Not a grant device: no ACCESS_PLATFORM. */
	ck_assert(!(f & (1ULL << VXEN_F_ACCESS_PLATFORM)));
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_NUM_MAX), VXEN_DEV_DEFAULT_QUEUE_SIZE);
	teardown();
}
END_TEST

START_TEST(dev__grant_device_offers_and_requires_access_platform)
{
	struct vxen_dev_config cfg;

	memset(&D, 0, sizeof(D));
	setup_arena();
	cfg = plain_cfg();
	cfg.grants = true;
	ck_assert_int_eq(testdev_new(&D.td, &cfg, NULL), 0);
	D.dev = testdev_dev(D.td);
	ck_assert(device_features() & (1ULL << VXEN_F_ACCESS_PLATFORM));
	/* A driver that does not accept it does not get FEATURES_OK. */
	ck_assert(!(negotiate(~(1ULL << VXEN_F_ACCESS_PLATFORM)) & VXEN_MMIO_S_FEATURES_OK));
	ck_assert(negotiate(ALL_FEATURES) & VXEN_MMIO_S_FEATURES_OK);
	teardown();
}
END_TEST

START_TEST(dev__opted_out_features_are_not_offered)
{
	struct testdev_opts o = { .features_clear = (1ULL << VXEN_F_EVENT_IDX) |
						    (1ULL << VXEN_F_INDIRECT_DESC) };

	make_dev(&o);
	ck_assert(!(device_features() & (1ULL << VXEN_F_EVENT_IDX)));
	ck_assert(!(device_features() & (1ULL << VXEN_F_INDIRECT_DESC)));
	teardown();
}
END_TEST

START_TEST(dev__device_refusal_keeps_features_ok_clear)
{
	make_dev(NULL);
	/* EXTRA without ECHO is refused by the test device's features_ok. */
	ck_assert(!(negotiate(~(1ULL << TESTDEV_F_ECHO)) & VXEN_MMIO_S_FEATURES_OK));
	teardown();
}
END_TEST

START_TEST(dev__echo_request_completes_inline_with_one_interrupt)
{
	uint32_t id, len;
	uint16_t head;

	make_dev(NULL);
	bring_up(ALL_FEATURES);
	head = add(0, "hello", 5, 16);
	kick(0);
	ck_assert(fd_readable()); /* the kick is served by the device thread, not the vCPU */
	ck_assert_int_eq(used_idx(0), 0);
	ck_assert_int_eq(vxen_dev_process(D.dev), 0);
	ck_assert_int_eq(get_used(0, &id, &len), 1);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(ptr(D.q[0].desc[(head + 1) % QSIZE].addr), "hello", 5);
	ck_assert_uint_eq(D.irqs, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_VRING);
	teardown();
}
END_TEST

START_TEST(dev__worker_completions_are_published_in_batches)
{
	struct testdev_opts o = { .mode = TESTDEV_WORKER };
	struct vxen_dev_queue_stats qs;
	uint32_t id, len;

	make_dev(&o);
	bring_up(ALL_FEATURES);
	for (int i = 0; i < 8; i++)
		add(0, "abcdefgh", 8, 8);
	kick(0);
	vxen_dev_process(D.dev);
	/* All completions arrive from the worker thread; the device thread publishes them. */
	process_until_used(0, 8);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(get_used(0, &id, &len), 1);
		ck_assert_uint_eq(len, 8);
	}
	ck_assert_int_eq(vxen_dev_queue_stats(D.dev, 0, &qs), 0);
	ck_assert_uint_eq(qs.completions, 8);
	ck_assert_uint_eq(qs.inflight, 0);
	ck_assert_uint_le(qs.vq.published, 8);
	/* Interrupts are never more than publishes, and the driver never acked: one suffices. */
	ck_assert_uint_eq(D.irqs, 1);
	teardown();
}
END_TEST

static void *complete_from_thread(void *arg)
{
	testdev_release_held(arg);
	return NULL;
}

START_TEST(dev__completion_from_another_thread_wakes_the_device_fd)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD };
	pthread_t t;

	make_dev(&o);
	bring_up(ALL_FEATURES);
	add(0, "x", 1, 1);
	kick(0);
	vxen_dev_process(D.dev);
	ck_assert(!fd_readable());
	ck_assert_int_eq(used_idx(0), 0);
	pthread_create(&t, NULL, complete_from_thread, D.td);
	pthread_join(t, NULL);
	ck_assert(fd_readable());
	ck_assert_int_eq(used_idx(0), 0); /* nothing is pushed behind the device thread's back */
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(0), 1);
	ck_assert(!fd_readable());
	teardown();
}
END_TEST

START_TEST(dev__budget_bounds_one_turn_and_leaves_fd_readable)
{
	struct testdev_opts o = { .budget = 4 };
	struct vxen_dev_queue_stats qs;

	make_dev(&o);
	bring_up(ALL_FEATURES);
	for (int i = 0; i < 12; i++)
		add(0, "z", 1, 1);
	kick(0);
	ck_assert_int_eq(vxen_dev_process(D.dev), 1);
	ck_assert_uint_eq(used_idx(0), 4);
	ck_assert(fd_readable());
	ck_assert_int_eq(vxen_dev_process(D.dev), 1);
	ck_assert_uint_eq(used_idx(0), 8);
	/* The last turn finds the ring empty after 4 and re-enables kicks. */
	ck_assert_int_eq(vxen_dev_process(D.dev), 0);
	ck_assert_uint_eq(used_idx(0), 12);
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert_uint_eq(qs.budget_yields, 2);
	teardown();
}
END_TEST

START_TEST(dev__flooded_queue_does_not_starve_the_other)
{
	struct testdev_opts o = { .budget = 2 };
	struct vxen_dev_stats s;

	make_dev(&o);
	bring_up(ALL_FEATURES);
	add(1, NULL, 0, 16);
	kick(1);
	vxen_dev_process(D.dev);
	for (unsigned int i = 0; i < QSIZE / 2; i++) /* every descriptor in use */
		add(0, "f", 1, 1);
	kick(0);
	testdev_send_event(D.td, "x", 1);
	/* One turn: queue 0 gets its budget, and queue 1 is served in the same turn. */
	ck_assert_int_eq(vxen_dev_process(D.dev), 1);
	ck_assert_uint_eq(used_idx(0), 2);
	ck_assert_uint_eq(used_idx(1), 1);
	vxen_dev_stats(D.dev, &s);
	ck_assert_uint_eq(s.mmio.kicks, 2);
	teardown();
}
END_TEST

START_TEST(dev__empty_pool_stops_popping_until_completions)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD, .max_inflight = 2 };
	struct testdev_counters c;
	struct vxen_dev_queue_stats qs;

	make_dev(&o);
	bring_up(ALL_FEATURES);
	for (int i = 0; i < 5; i++)
		add(0, "p", 1, 1);
	kick(0);
	vxen_dev_process(D.dev);
	testdev_counters(D.td, &c);
	ck_assert_uint_eq(c.requests, 2);
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert_uint_eq(qs.pool_size, 2);
	ck_assert_uint_eq(qs.inflight, 2);
	ck_assert_uint_ge(qs.pool_empty, 1);
	/* No kick needed: completions resume the queue. */
	testdev_release_held(D.td);
	vxen_dev_process(D.dev);
	testdev_counters(D.td, &c);
	ck_assert_uint_eq(c.requests, 4);
	testdev_release_held(D.td);
	vxen_dev_process(D.dev);
	testdev_release_held(D.td);
	vxen_dev_process(D.dev);
	ck_assert_uint_eq(used_idx(0), 5);
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert_uint_eq(qs.inflight_max, 2);
	teardown();
}
END_TEST

START_TEST(dev__pull_queue_fills_buffers_only_when_data_arrives)
{
	uint32_t id, len;
	uint16_t head;

	make_dev(NULL);
	bring_up(ALL_FEATURES);
	head = add(1, NULL, 0, 64);
	kick(1);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(1), 0); /* held: no data yet */
	ck_assert_int_eq(testdev_send_event(D.td, "event!", 6), 0);
	ck_assert(fd_readable());
	vxen_dev_process(D.dev);
	ck_assert_int_eq(get_used(1, &id, &len), 1);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(ptr(D.q[1].desc[head].addr), "event!", 6);
	/* A second event waits for a buffer; adding one (and kicking) delivers it. */
	testdev_send_event(D.td, "two", 3);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(1), 1);
	add(1, NULL, 0, 64);
	kick(1);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(1), 2);
	teardown();
}
END_TEST

START_TEST(dev__kick_before_driver_ok_is_served_after_it)
{
	struct testdev_counters c;

	make_dev(NULL);
	ck_assert(negotiate(ALL_FEATURES) & VXEN_MMIO_S_FEATURES_OK);
	setup_queue(0, QSIZE);
	setup_queue(1, QSIZE);
	add(0, "early", 5, 5);
	kick(0);
	vxen_dev_process(D.dev);
	testdev_counters(D.td, &c);
	ck_assert_uint_eq(c.requests, 0);
	ck_assert_int_eq(used_idx(0), 0);
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER |
				     VXEN_MMIO_S_FEATURES_OK | VXEN_MMIO_S_DRIVER_OK);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(0), 1);
	testdev_counters(D.td, &c);
	ck_assert_uint_eq(c.starts, 1);
	teardown();
}
END_TEST

START_TEST(dev__config_reads_and_generation_change_with_interrupt)
{
	uint32_t gen;

	make_dev(NULL);
	bring_up(ALL_FEATURES);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_SPACE), TESTDEV_MAGIC);
	gen = rd(VXEN_MMIO_CONFIG_GENERATION);
	testdev_set_value(D.td, 0x1122334455667788ULL);
	/* Staged from "another thread": visible at the very next access. */
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_SPACE + 8), 0x55667788);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_SPACE + 12), 0x11223344);
	ck_assert_uint_ne(rd(VXEN_MMIO_CONFIG_GENERATION), gen);
	ck_assert(rd(VXEN_MMIO_INTERRUPT_STATUS) & VXEN_MMIO_INT_CONFIG);
	ck_assert_uint_ge(D.irqs, 1);
	/* Driver writes land in the scratch field only. */
	wr(VXEN_MMIO_CONFIG_SPACE + 4, 0xabcd);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_SPACE + 4), 0xabcd);
	wr(VXEN_MMIO_CONFIG_SPACE, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_SPACE), TESTDEV_MAGIC);
	teardown();
}
END_TEST

START_TEST(dev__reset_with_requests_in_flight_cancels_drains_and_unmaps)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD };
	struct testdev_counters c;
	struct vxen_dev_stats s;

	make_dev(&o);
	bring_up(ALL_FEATURES);
	for (int i = 0; i < 3; i++)
		add(0, "r", 1, 1);
	kick(0);
	vxen_dev_process(D.dev);
	testdev_counters(D.td, &c);
	ck_assert_uint_eq(c.held, 3);
	ck_assert_uint_eq(D.ring_maps, 6);
	wr(VXEN_MMIO_STATUS, 0);
	/* By the time the Status write returns, everything is drained and released. */
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	testdev_counters(D.td, &c);
	ck_assert_uint_eq(c.held, 0);
	ck_assert_uint_eq(c.resets, 2); /* negotiate() resets first too */
	ck_assert_uint_eq(D.ring_unmaps, 6);
	vxen_dev_stats(D.dev, &s);
	ck_assert_uint_eq(s.drain_timeouts, 0);
	ck_assert_uint_eq(used_idx(0), 0); /* nothing published into a reset ring */
	/* The device comes back up cleanly. */
	bring_up(ALL_FEATURES);
	add(0, "again", 5, 5);
	kick(0);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(0), 0); /* held */
	testdev_release_held(D.td);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(used_idx(0), 1);
	teardown();
}
END_TEST

START_TEST(dev__stuck_request_after_drain_timeout_keeps_mappings_until_completed)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD, .stuck = true };
	struct vxen_dev_config cfg;
	struct vxen_dev_stats s;

	memset(&D, 0, sizeof(D));
	setup_arena();
	cfg = plain_cfg();
	cfg.drain_timeout_ms = 50;
	ck_assert_int_eq(testdev_new(&D.td, &cfg, &o), 0);
	D.dev = testdev_dev(D.td);
	bring_up(ALL_FEATURES);
	add(0, "s", 1, 1);
	kick(0);
	vxen_dev_process(D.dev);
	wr(VXEN_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	vxen_dev_stats(D.dev, &s);
	ck_assert_uint_eq(s.drain_timeouts, 1);
	/* Queue 1 had nothing in flight: released. Queue 0 keeps its rings for the stuck one. */
	ck_assert_uint_eq(D.ring_unmaps, 3);
	ck_assert_uint_eq(testdev_release_held(D.td), 1);
	vxen_dev_process(D.dev);
	ck_assert_uint_eq(D.ring_unmaps, 6);
	vxen_dev_stats(D.dev, &s);
	ck_assert_uint_eq(s.late_completions, 1);
	teardown();
}
END_TEST

START_TEST(dev__free_with_stuck_request_is_safe_and_last_completion_releases)
{
	struct testdev_opts o = { .mode = TESTDEV_HOLD, .stuck = true };
	struct vxen_dev_config cfg;

	memset(&D, 0, sizeof(D));
	setup_arena();
	cfg = plain_cfg();
	cfg.drain_timeout_ms = 20;
	ck_assert_int_eq(testdev_new(&D.td, &cfg, &o), 0);
	D.dev = testdev_dev(D.td);
	bring_up(ALL_FEATURES);
	add(0, "f", 1, 1);
	kick(0);
	vxen_dev_process(D.dev);
	/* testdev_free: vxen_dev_free times out, then the held request is completed late. */
	testdev_free(D.td);
	ck_assert_uint_eq(D.ring_unmaps, 6);
	free(D.arena);
}
END_TEST

START_TEST(dev__corrupt_ring_breaks_one_queue_and_sets_needs_reset)
{
	struct vxen_dev_queue_stats qs;
	uint32_t id, len;

	make_dev(NULL);
	bring_up(ALL_FEATURES);
	add(1, NULL, 0, 32); /* an event buffer on the healthy queue */
	kick(1);
	vxen_dev_process(D.dev);
	D.q[0].avail[1] = QSIZE + 3; /* avail.idx impossibly far ahead */
	kick(0);
	vxen_dev_process(D.dev);
	ck_assert(rd(VXEN_MMIO_STATUS) & VXEN_MMIO_S_NEEDS_RESET);
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert(qs.broken);
	ck_assert_uint_eq(qs.vq.broken, 1);
	/* The other queue still delivers. */
	testdev_send_event(D.td, "ok", 2);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(get_used(1, &id, &len), 1);
	ck_assert_uint_eq(len, 2);
	/* A reset repairs the device. */
	bring_up(ALL_FEATURES);
	ck_assert(!(rd(VXEN_MMIO_STATUS) & VXEN_MMIO_S_NEEDS_RESET));
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert(!qs.broken);
	teardown();
}
END_TEST

START_TEST(dev__rejected_chain_returns_to_driver_with_zero_length)
{
	struct vxen_dev_queue_stats qs;
	uint32_t id, len;
	struct drvq *q;

	make_dev(NULL);
	bring_up(ALL_FEATURES);
	q = &D.q[0];
	/* A descriptor pointing outside guest memory. */
	q->desc[0] = (struct vdesc){ 0xdead0000000ULL, 8, 0, 0 };
	q->next_desc = 1;
	q->avail[2] = 0;
	__atomic_store_n(&q->avail[1], 1, __ATOMIC_RELEASE);
	add(0, "fine", 4, 4);
	kick(0);
	vxen_dev_process(D.dev);
	ck_assert_int_eq(get_used(0, &id, &len), 1);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(get_used(0, &id, &len), 1);
	ck_assert_uint_eq(len, 4);
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert_uint_eq(qs.vq.rejected, 1);
	ck_assert_uint_eq(qs.vq.rej_efault, 1);
	ck_assert(!(rd(VXEN_MMIO_STATUS) & VXEN_MMIO_S_NEEDS_RESET));
	teardown();
}
END_TEST

START_TEST(dev__event_idx_suppresses_interrupts_the_driver_did_not_ask_for)
{
	make_dev(NULL);
	bring_up(ALL_FEATURES);
	ck_assert(D.features & (1ULL << VXEN_F_EVENT_IDX));
	/* used_event = 5: interrupt only when the used index passes 5. */
	D.q[0].avail[2 + QSIZE] = 5;
	for (int i = 0; i < 3; i++) {
		add(0, "e", 1, 1);
		kick(0);
		vxen_dev_process(D.dev);
	}
	ck_assert_uint_eq(used_idx(0), 3);
	ck_assert_uint_eq(D.irqs, 0);
	for (int i = 0; i < 3; i++) {
		add(0, "e", 1, 1);
		kick(0);
		vxen_dev_process(D.dev);
	}
	ck_assert_uint_eq(D.irqs, 1);
	teardown();
}
END_TEST

START_TEST(dev__rejects_invalid_ops_and_config)
{
	struct vxen_dev_queue_config q = { .size_max = 3 };
	struct vxen_dev_ops ops = { .version = VXEN_DEV_OPS_VERSION,
				    .device_id = 1,
				    .num_queues = 1,
				    .handle_request = NULL };
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;
	vxen_dev *dev = (vxen_dev *)0x1;

	memset(&D, 0, sizeof(D));
	setup_arena();
	cfg.mem = &D.mem;
	/* push queue without handle_request */
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), -EINVAL);
	ops.queue_notify = (void *)1;
	ops.queues = &q;
	q.flags = VXEN_DEV_Q_PULL;
	/* size not a power of two */
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), -EINVAL);
	q.size_max = 4;
	ops.features = 1ULL << VXEN_F_RING_PACKED; /* transport bits are the library's */
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), -EINVAL);
	ops.features = 0;
	ops.device_id = 0;
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), -EINVAL);
	ops.device_id = 1;
	ops.config_size = 0xf01;
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), -EINVAL);
	ops.config_size = 0;
	cfg.version = 99;
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), -EINVAL);
	ck_assert_ptr_eq(dev, (vxen_dev *)0x1); /* untouched */
	cfg.version = VXEN_DEV_CONFIG_VERSION;
	ck_assert_int_eq(vxen_dev_new(&dev, &ops, &cfg, NULL), 0);
	vxen_dev_free(dev);
	vxen_dev_free(NULL);
	free(D.arena);
}
END_TEST

START_TEST(dev__default_pools_fit_the_memory_budget)
{
	struct vxen_dev_queue_stats qs;

	make_dev(NULL);
	vxen_dev_queue_stats(D.dev, 0, &qs);
	ck_assert_uint_eq(qs.max_segs, VXEN_DEV_DEFAULT_MAX_SEGS);
	ck_assert_uint_ge(qs.pool_size, 4);
	ck_assert_uint_le(qs.pool_size, VXEN_DEV_DEFAULT_MAX_INFLIGHT);
	/* Two queues of this size: each request costs its descriptor and iovec arrays. */
	ck_assert_uint_le(2 * qs.pool_size * (qs.max_segs * (16 + 2 * 16) + 512),
			  VXEN_DEV_DEFAULT_POOL_BYTES);
	teardown();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dev_plain");
	TCase *tc = tcase_create("dev");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, dev__probe_shows_identity_and_transport_features);
	tcase_add_test(tc, dev__grant_device_offers_and_requires_access_platform);
	tcase_add_test(tc, dev__opted_out_features_are_not_offered);
	tcase_add_test(tc, dev__device_refusal_keeps_features_ok_clear);
	tcase_add_test(tc, dev__echo_request_completes_inline_with_one_interrupt);
	tcase_add_test(tc, dev__worker_completions_are_published_in_batches);
	tcase_add_test(tc, dev__completion_from_another_thread_wakes_the_device_fd);
	tcase_add_test(tc, dev__budget_bounds_one_turn_and_leaves_fd_readable);
	tcase_add_test(tc, dev__flooded_queue_does_not_starve_the_other);
	tcase_add_test(tc, dev__empty_pool_stops_popping_until_completions);
	tcase_add_test(tc, dev__pull_queue_fills_buffers_only_when_data_arrives);
	tcase_add_test(tc, dev__kick_before_driver_ok_is_served_after_it);
	tcase_add_test(tc, dev__config_reads_and_generation_change_with_interrupt);
	tcase_add_test(tc, dev__reset_with_requests_in_flight_cancels_drains_and_unmaps);
	tcase_add_test(tc, dev__stuck_request_after_drain_timeout_keeps_mappings_until_completed);
	tcase_add_test(tc, dev__free_with_stuck_request_is_safe_and_last_completion_releases);
	tcase_add_test(tc, dev__corrupt_ring_breaks_one_queue_and_sets_needs_reset);
	tcase_add_test(tc, dev__rejected_chain_returns_to_driver_with_zero_length);
	tcase_add_test(tc, dev__event_idx_suppresses_interrupts_the_driver_did_not_ask_for);
	tcase_add_test(tc, dev__rejects_invalid_ops_and_config);
	tcase_add_test(tc, dev__default_pools_fit_the_memory_budget);
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
