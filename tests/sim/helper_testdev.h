/* SPDX-License-Identifier: MIT */
/*
 * helper_testdev.h — a small virtio device for sim tests, built on the public dev.h API only.
 *
 * Device id TESTDEV_ID, two queues, 16 bytes of config space:
 *
 *  queue 0 "echo" (push mode): each chain's device-readable bytes are copied into its
 *          device-writable bytes (as many as fit); the used length is the number copied.
 *          Completion happens inline, on a worker thread, or is held (struct testdev_opts.mode).
 *  queue 1 "events" (pull mode): the device holds the driver's writable buffers and fills one
 *          per event sent with testdev_send_event() (from any thread), like a console's RX.
 *
 *  config: le32 magic TESTDEV_MAGIC at 0 (read-only), le32 "scratch" at 4 (driver-writable:
 *          stored as written), le64 "value" at 8 (device-owned; testdev_set_value() changes it
 *          and sends a config change interrupt).
 *
 * Feature bits: TESTDEV_F_ECHO (bit 0) and TESTDEV_F_EXTRA (bit 1) are offered; features_ok
 * refuses EXTRA without ECHO (to exercise a device refusing FEATURES_OK).
 *
 * Thread rules: testdev_new/free on the device thread; testdev_send_event, testdev_release_held,
 * testdev_set_value and the counters from any thread.
 */
#ifndef HELPER_TESTDEV_H
#define HELPER_TESTDEV_H

#include <stdint.h>

#include <virtio-xen/dev.h>
#include <virtio-xen/loop.h>

#define TESTDEV_ID	    0x7e57u
#define TESTDEV_MAGIC	    0x74736574u /* "test" */
#define TESTDEV_CONFIG_SIZE 16u
#define TESTDEV_F_ECHO	    0
#define TESTDEV_F_EXTRA	    1
#define TESTDEV_Q_ECHO	    0
#define TESTDEV_Q_EVENTS    1

enum testdev_mode {
	TESTDEV_INLINE = 0, /* complete inside handle_request */
	TESTDEV_WORKER,	    /* a worker thread completes, after delay_us */
	TESTDEV_HOLD,	    /* held until testdev_release_held() (or reset, unless stuck) */
};

struct testdev_opts {
	enum testdev_mode mode;
	unsigned int delay_us;	 /* WORKER: sleep before each completion */
	uint32_t queue_size;	 /* QueueNumMax of both queues; 0: library default */
	uint32_t max_inflight;	 /* pool size of both queues; 0: library default */
	uint32_t budget;	 /* echo queue budget; 0: library default */
	uint64_t features_clear; /* library features to withhold */
	bool stuck;		 /* HOLD: reset does not release held requests (drain timeout) */
	unsigned int drain_timeout_ms; /* overrides cfg->drain_timeout_ms when non-zero */
};

struct testdev_counters {
	uint64_t requests;  /* echo requests received */
	uint64_t completed; /* echo requests completed */
	uint64_t echoed_bytes;
	uint64_t events_sent; /* events written into event buffers */
	uint64_t notifies;    /* queue_notify calls */
	uint64_t resets;      /* reset hook calls */
	uint64_t starts;      /* DRIVER_OK */
	uint64_t held;	      /* requests held right now */
	uint64_t scratch_writes;
};

struct testdev;

/**
 * testdev_new() - create the device (vxen_dev_new with @cfg) and its worker thread.
 * @opts may be NULL (inline mode, defaults). Returns 0 or the -errno of vxen_dev_new.
 */
int testdev_new(struct testdev **out, const struct vxen_dev_config *cfg,
		const struct testdev_opts *opts);

/** testdev_free() - vxen_dev_free, then stop the worker; NULL is fine. */
void testdev_free(struct testdev *td);

vxen_dev *testdev_dev(struct testdev *td);

/** testdev_send_event() - queue an event (≤ 256 bytes) for the events queue. Any thread. */
int testdev_send_event(struct testdev *td, const void *data, size_t len);

/** testdev_release_held() - complete every held echo request (from the calling thread). */
unsigned int testdev_release_held(struct testdev *td);

/** testdev_set_value() - set the config "value" field and signal a config change. Any thread. */
void testdev_set_value(struct testdev *td, uint64_t value);

void testdev_counters(struct testdev *td, struct testdev_counters *out);

/**
 * Factory signature suited to a backend's create callback: a test device with default options
 * for @cfg. testdev_of() finds the testdev of a device created that way (its payload).
 */
int testdev_create(vxen_dev **out, const struct vxen_dev_config *cfg);
struct testdev *testdev_of(vxen_dev *dev);

/*
 * testloop — a vxen_loop running on its own thread (the "backend"), for tests whose guest side
 * blocks in MMIO accesses on the test thread. Everything touching the loop or its devices runs
 * on the loop thread through testloop_call().
 */
struct testloop;

/** testloop_start() - create a loop and run it on a new thread. Returns 0 or -errno. */
int testloop_start(struct testloop **out);

/** testloop_stop() - stop the loop, join the thread, free the loop. NULL is fine. */
void testloop_stop(struct testloop *tl);

vxen_loop *testloop_loop(struct testloop *tl);

/** testloop_call() - run @fn(@arg) on the loop thread and wait for it to return. */
void testloop_call(struct testloop *tl, void (*fn)(void *arg), void *arg);

/**
 * testloop_post() - start @fn(@arg) on the loop thread without waiting for it; testloop_wait()
 * waits until it has returned. One call at a time: no other testloop_call()/testloop_post() on
 * @tl before testloop_wait() (e.g. to keep the loop thread busy in a callback meanwhile).
 */
void testloop_post(struct testloop *tl, void (*fn)(void *arg), void *arg);
void testloop_wait(struct testloop *tl);

/**
 * testloop_add_testdev() - on the loop thread: get guest @domid's ioreq server from the loop,
 * create a test device at @base / SPI @irq (grant device) and register it. Returns 0 or -errno
 * (nothing left behind on failure).
 */
int testloop_add_testdev(struct testloop *tl, uint32_t domid, uint64_t base, uint32_t irq,
			 const struct testdev_opts *opts, struct testdev **out);

/** testloop_del_testdev() - on the loop thread: unregister, free, drop the server reference. */
void testloop_del_testdev(struct testloop *tl, struct testdev *td);

#endif /* HELPER_TESTDEV_H */
