/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/dev.h — L5: a virtio device object, the API a backend author lives in.
 *
 * A vxen_dev is one virtio device of one guest. The author describes the device type in a
 * struct vxen_dev_ops (device id, features, queues, config space, callbacks) and the library
 * does the rest: the virtio-mmio register file (L3) behind an ioreq range at the device's base
 * (L4), interrupts on its irq, ring mappings made through grant DMA when the driver enables a
 * queue (L2), the ring walker (L1) over them, a preallocated request pool per queue, batching of
 * completions and interrupts, reset and teardown. A device file is a few hundred lines:
 *
 *	static void echo_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
 *	{
 *		struct vxen_iov_cursor in, out;
 *		char buf[256];
 *		size_t n;
 *
 *		vxen_req_out_cursor(req, &out);
 *		vxen_req_in_cursor(req, &in);
 *		n = vxen_iov_pull(&out, buf, sizeof(buf));
 *		vxen_dev_complete(req, vxen_iov_push(&in, buf, n));
 *	}
 *
 *	static const struct vxen_dev_queue_config echo_queues[] = { { .size_max = 256 },
 *								   { .size_max = 256 } };
 *	static const struct vxen_dev_ops echo_ops = {
 *		.version = VXEN_DEV_OPS_VERSION,
 *		.name = "echo",
 *		.device_id = 42,
 *		.num_queues = 2,
 *		.queues = echo_queues,
 *		.handle_request = echo_request,
 *	};
 *
 *	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;
 *	cfg.domid = 5; cfg.base = 0x2000000; cfg.irq.kind = VXEN_IRQ_SPI; cfg.irq.line = 33;
 *	cfg.grants = true; cfg.server = srv;        // the guest's ioreq server (ioreq.h)
 *	vxen_dev_new(&dev, &echo_ops, &cfg, state);
 *	// event loop: poll vxen_ioreq_fd(srv) and vxen_dev_fd(dev) for POLLIN; when readable call
 *	// vxen_ioreq_process(srv) / vxen_dev_process(dev). Or let loop.h do all of this.
 *
 * Features. The library offers ops->features plus VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM
 * (grant devices only: the guest then sends grant-DMA addresses), VIRTIO_F_INDIRECT_DESC and
 * VIRTIO_F_EVENT_IDX; a device opts out of the last two with ops->features_clear. The negotiated
 * set is vxen_dev_features().
 *
 * Two ways to consume requests, chosen per queue:
 *  - push (default): when the driver kicks, the library pops chains — at most the queue's budget
 *    per turn, so a guest keeping a ring full cannot starve other queues and devices — and hands
 *    each to ops->handle_request(). The device owns the request until vxen_dev_complete().
 *  - pull (VXEN_DEV_Q_PULL): for devices that hold buffers until they have data (net RX, console
 *    RX). ops->queue_notify() says "the driver made buffers available"; the device takes them
 *    with vxen_dev_queue_pop() when it wants them.
 * Either way each queue has a pool of max_inflight preallocated requests (struct vxen_req with
 * its descriptor and iovec arrays and, optionally, priv_size bytes of device context at
 * req->priv). When the pool is empty the queue stops popping until completions free slots
 * (back-pressure: the guest's buffers simply wait in its ring). With the defaults all request
 * pools of a device fit in VXEN_DEV_DEFAULT_POOL_BYTES (256 KiB); grant DMA adds its own
 * per-queue bounce and scratch memory (gdma.h), sized by the same in-flight limits.
 *
 * Completion. vxen_dev_complete(req, written) may be called from any thread. On the device thread
 * inside a callback it pushes at once; from elsewhere it queues the request under a lock and
 * wakes the device thread through vxen_dev_fd(). Either way the library unmaps the buffers
 * before writing the used entry (Xen: the guest ends grant access when it sees the entry),
 * publishes each queue's used index once per batch and sends one interrupt per batch, only if
 * the driver asked for one (EVENT_IDX). While it drains a queue the library suppresses the
 * driver's kicks and re-enables them with a re-check, so no kick is lost.
 *
 * Reset. When the driver writes Status = 0, or when the device is freed (also after its guest
 * died: see loop.h for who notices), the library stops popping, calls ops->reset() so the device
 * cancels or hurries what it holds, waits (up to cfg->drain_timeout_ms) for every in-flight
 * request to be completed, releases every data and ring mapping, and only then lets Status read 0.
 * Requests still not completed after the timeout keep their mappings until they are completed (the
 * library never unmaps memory a device may still be writing); completing them later is always
 * safe, even after vxen_dev_free() and after the guest died.
 *
 * Hostile guests. A corrupt ring breaks only its queue: the library sets DEVICE_NEEDS_RESET
 * (vxen_mmio_needs_reset()) and stops popping that queue; requests in flight on every queue are
 * still completed, and the other queues keep being served, kicks included (only FAILED stops
 * the register file, see mmio.h), until the driver resets the device. Other devices are
 * unaffected.
 * Rejected chains are counted (struct vxen_dev_queue_stats) and logged rate-limited.
 *
 * The device thread. Every device has one: the thread that runs the ioreq server of its guest
 * (vxen_ioreq_process(), which calls the register file and thus the device's control-plane
 * callbacks) and vxen_dev_process(). These must be one thread, or serialised by the caller.
 * All callbacks run there. Functions are device-thread-only unless their comment says
 * "Thread-safe". The thread-safe ones are: vxen_dev_complete(), vxen_dev_fd(),
 * vxen_dev_config_set(), vxen_dev_config_get(), vxen_dev_config_changed(), vxen_dev_wake(),
 * vxen_dev_queue_wake() and the getters of immutable properties (vxen_dev_payload, _domid,
 * _base, _num_queues, _name, _server, vxen_dev_req_dev, vxen_dev_req_queue).
 *
 * Without Xen. With cfg->server == NULL there is no ioreq range: the caller feeds register
 * accesses with vxen_dev_mmio_read()/write() and gets interrupts through cfg->interrupt. With
 * cfg->mem set, rings and buffers are reached through that interface instead of grant DMA. Tests
 * and fuzzers use both to run a whole device on plain memory.
 */
#ifndef VIRTIO_XEN_DEV_H
#define VIRTIO_XEN_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-xen/gdma.h>
#include <virtio-xen/ioreq.h>
#include <virtio-xen/mmio.h>
#include <virtio-xen/vq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vxen_dev vxen_dev;

/* Queue flags (struct vxen_dev_queue_config.flags). */
#define VXEN_DEV_Q_PULL 1u /* pull mode: queue_notify() + vxen_dev_queue_pop() */

/* Defaults used for zero fields of struct vxen_dev_queue_config. */
#define VXEN_DEV_DEFAULT_QUEUE_SIZE	  256u
#define VXEN_DEV_DEFAULT_MAX_SEGS	  64u
#define VXEN_DEV_DEFAULT_MAX_INFLIGHT	  32u
#define VXEN_DEV_DEFAULT_BUDGET		  64u
#define VXEN_DEV_DEFAULT_DRAIN_TIMEOUT_MS 3000u
/* Zero max_inflight fields are scaled down so all pools of a device fit in this many bytes. */
#define VXEN_DEV_DEFAULT_POOL_BYTES (256u * 1024u)

/**
 * struct vxen_dev_queue_config - one queue of a device type. Zero fields take the defaults.
 * @size_max: QueueNumMax, a power of two 1 .. 32768 (default 256).
 * @max_inflight: size of the request pool: requests popped and not yet completed at once
 *                (default: 32, scaled down for devices with many queues, never above size_max).
 * @max_segs: descriptors one request may have (its chain, indirect tables expanded); a longer
 *            chain is rejected and returned to the driver with length 0 (default 64). A device
 *            that advertises a limit (virtio-blk seg_max) derives it from this.
 * @priv_size: bytes of device context per request, zeroed at every pop, at req->priv (0: none,
 *             req->priv is then NULL and free for the device to use).
 * @budget: push mode: chains popped per turn before other queues get their turn (default 64).
 * @flags: VXEN_DEV_Q_PULL.
 */
struct vxen_dev_queue_config {
	uint32_t size_max;
	uint32_t max_inflight;
	uint32_t max_segs;
	uint32_t priv_size;
	uint32_t budget;
	unsigned int flags;
};

/**
 * struct vxen_dev_ops - a device type. Fill with designated initializers and
 * .version = VXEN_DEV_OPS_VERSION. Copied by vxen_dev_new() (with its queue array), so it may be
 * built at run time (e.g. a queue count from the command line).
 *
 * Every callback gets the device first and the payload given to vxen_dev_new() last, and runs
 * on the device thread. Only handle_request (if a queue is in push mode) and queue_notify (if
 * one is in pull mode) are required.
 */
struct vxen_dev_ops {
	unsigned int version; /* VXEN_DEV_OPS_VERSION */
	const char *name;     /* short type name for log messages ("blk"); copied; may be NULL */
	uint32_t device_id;   /* virtio device id (net 1, blk 2, console 3, rng 4, ...), non-zero */
	uint32_t vendor_id;   /* VendorID register; 0 is fine */
	/* Device-specific feature bits offered (bits 0..23 and 50..63; transport bits are added
	 * by the library). */
	uint64_t features;
	/* Library-offered bits to withhold: (1ULL << VXEN_F_INDIRECT_DESC) and/or
	 * (1ULL << VXEN_F_EVENT_IDX). Other bits are ignored. */
	uint64_t features_clear;
	unsigned int num_queues;		    /* 1 .. 1024 */
	const struct vxen_dev_queue_config *queues; /* num_queues entries; NULL: all defaults */
	unsigned int config_size;		    /* bytes of config space, ≤ 0xf00 */

	/*
	 * handle_request - push mode: the driver made @req available on queue @q. The device owns
	 * @req (and may hand it to another thread) until it calls vxen_dev_complete(); it may do
	 * so before returning. Must not block for long: other queues and devices wait.
	 */
	void (*handle_request)(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload);
	/*
	 * queue_notify - pull mode: queue @q may have buffers (the driver kicked, the queue just
	 * started, or pool slots were freed while buffers were waiting). Pop with
	 * vxen_dev_queue_pop() now or later; a pop that returns 0 re-arms this callback.
	 */
	void (*queue_notify)(vxen_dev *dev, unsigned int q, void *payload);
	/*
	 * features_ok - the driver is accepting @features (already checked against the offer and
	 * the transport's rules). Return 0 to accept, -errno to refuse FEATURES_OK. Optional.
	 */
	int (*features_ok)(vxen_dev *dev, uint64_t features, void *payload);
	/* start - DRIVER_OK was set: the device is live. Optional. */
	void (*start)(vxen_dev *dev, void *payload);
	/*
	 * reset - the device is being reset (Status = 0, vxen_dev_free(), guest death). Complete
	 * every request you hold (pull-mode buffers: with written 0) and make in-flight I/O finish
	 * soon; completions may arrive from other threads, and also from this one inside the call.
	 * If your completions are produced by this thread's own event loop (e.g. an io_uring polled
	 * there), wait for them here: the library waits for completions without returning to the
	 * event loop. Then restore the device's initial state (config fields the driver changed).
	 * Queues are already stopped: no request arrives during or after the call until the driver
	 * sets up the device again. Optional.
	 */
	void (*reset)(vxen_dev *dev, void *payload);
	/*
	 * queue_stop - the driver disabled queue @q alone (QueueReady = 0): as reset, for the
	 * requests of that queue only. Optional; without it the library just waits (bounded) for
	 * them.
	 */
	void (*queue_stop)(vxen_dev *dev, unsigned int q, void *payload);
	/*
	 * config_write - the driver wrote @len bytes (1, 2, 4 or 8) at config offset @offset.
	 * Store what you accept with vxen_dev_config_set() and return 0, or return -errno to refuse
	 * (counted and logged). Optional: NULL makes config space read-only.
	 */
	int (*config_write)(vxen_dev *dev, unsigned int offset, const void *buf, unsigned int len,
			    void *payload);
};
#define VXEN_DEV_OPS_VERSION 1

/*
 * struct vxen_dev_mem - a memory interface replacing grant DMA (cfg->mem): for tests, fuzzers
 * and hosts where guest memory is already mapped. All calls come from the device thread.
 */
struct vxen_dev_mem {
	unsigned int version; /* VXEN_DEV_MEM_VERSION */
	/* buffers: as for a vxen_vq (vq.h) */
	const struct vxen_vq_mem_ops *ops;
	void *payload;
	/* ring_map - a host pointer for [@addr, @addr + @len) of ring memory, or NULL to refuse
	 * the queue (-EFAULT). ring_unmap may be NULL. */
	void *(*ring_map)(uint64_t addr, size_t len, void *payload);
	void (*ring_unmap)(void *ptr, size_t len, void *payload);
};
#define VXEN_DEV_MEM_VERSION 1

/**
 * struct vxen_dev_config - where one device instance lives. Start from VXEN_DEV_CONFIG_INIT.
 * Copied by vxen_dev_new().
 */
struct vxen_dev_config {
	unsigned int version; /* VXEN_DEV_CONFIG_VERSION */
	uint32_t domid;	      /* the guest (frontend) domain */
	uint64_t base;	      /* guest-physical base of the 0x200-byte virtio-mmio window */
	struct vxen_irq irq;  /* the device's interrupt (ioreq.h); kind VXEN_IRQ_NONE: none */
	/*
	 * true: the guest uses grant-DMA addresses (xenstore grant_usage=1; Linux
	 * CONFIG_XEN_VIRTIO): ACCESS_PLATFORM is offered and required, buffers are grant mapped
	 * or copied. false: addresses are guest-physical, reached by foreign mapping (needs a
	 * privileged backend).
	 */
	bool grants;
	/* The guest's ioreq server (shared by its devices; see loop.h for a refcounted one). Lent:
	 * must outlive the device. NULL: no Xen transport (vxen_dev_mmio_read/write). */
	vxen_ioreq_server *server;
	/* Name for log messages; copied. NULL: "d<domid>-<ops->name>@<base>". */
	const char *name;
	/* Longest wait for in-flight requests at reset/free; 0: VXEN_DEV_DEFAULT_DRAIN_TIMEOUT_MS.
	 */
	unsigned int drain_timeout_ms;
	/*
	 * Grant-DMA settings (gdma.h: strategy, copy_threshold, max_chain_pages, foreign-mode
	 * cache...), or NULL for the defaults. Copied at creation; its domid and mode are
	 * ignored (taken from @domid and @grants).
	 */
	const struct vxen_gdma_config *gdma;
	/* Memory interface replacing grant DMA, or NULL. Lent: must outlive the device. */
	const struct vxen_dev_mem *mem;
	/* Interrupt callback used instead of the ioreq server (or NULL): @level as in
	 * struct vxen_mmio_ops.interrupt. Runs on the thread that raised it (the device thread). */
	void (*interrupt)(vxen_dev *dev, int level, void *payload);
};
#define VXEN_DEV_CONFIG_VERSION 1
/* clang-format off */
#define VXEN_DEV_CONFIG_INIT { .version = VXEN_DEV_CONFIG_VERSION }
/* clang-format on */

/**
 * vxen_dev_new() - create a device and make it visible to the guest.
 * @out: receives the device, owned by the caller (vxen_dev_free()); untouched on error.
 * @ops: the device type; copied.
 * @cfg: the instance; copied.
 * @payload: passed as the last argument of every callback; vxen_dev_payload().
 *
 * Validates @ops and @cfg, allocates every request pool, creates the register file (Status 0)
 * and, with a server, claims [base, base + 0x200) on it. If a step fails, the earlier ones are
 * undone. Call it before the guest runs (toolstacks create guests paused).
 *
 * Returns 0, -EINVAL (bad @ops/@cfg: unknown version, device id 0, queue count or sizes out of
 * range, config_size > 0xf00, a push queue without handle_request, a pull queue without
 * queue_notify, grants without a server or mem interface...), -ENOMEM, or the error of the
 * lower layers (e.g. -EEXIST: the window is already claimed). Logs the reason at LOG_ERR.
 */
int vxen_dev_new(vxen_dev **out, const struct vxen_dev_ops *ops, const struct vxen_dev_config *cfg,
		 void *payload);

/**
 * vxen_dev_free() - remove the device: unclaim its window, reset it as for Status = 0 (ops->reset,
 * bounded wait for in-flight requests, release every mapping) and free it. NULL is fine.
 * Requests still in flight after the drain timeout stay valid: completing them later is safe;
 * the last completion frees what remains (logged at LOG_WARNING). Device thread only, not from
 * inside one of the device's own callbacks. Unregister the device from any loop first.
 */
void vxen_dev_free(vxen_dev *dev);

/**
 * vxen_dev_fd() - an fd that is readable (POLLIN) when vxen_dev_process() has work: completions
 * from other threads, kicks, queues left with work after their budget, config updates.
 * Lent, valid until vxen_dev_free(). Thread-safe.
 */
int vxen_dev_fd(const vxen_dev *dev);

/**
 * vxen_dev_process() - do the device's pending work, without blocking: push queued completions,
 * serve kicked queues (each up to its budget), publish used entries and send at most one
 * interrupt. Call when vxen_dev_fd() is readable; calling it otherwise is harmless.
 * Returns 0 when the device is idle, 1 when work is left (the fd stays readable, so a
 * level-triggered loop comes back after serving others). Device thread only. Does not log
 * except for guest errors (rate-limited).
 */
int vxen_dev_process(vxen_dev *dev);

/**
 * vxen_dev_wake() - make vxen_dev_fd() readable, so the device thread runs vxen_dev_process()
 * (e.g. after queueing work for it). Thread-safe, async-signal-safe.
 */
void vxen_dev_wake(vxen_dev *dev);

/**
 * vxen_dev_complete() - finish a request: @written bytes were produced at the start of its
 * device-writable buffers (clamped to req->in_len: a device may under-report, not over-report).
 * @req must be a request this library gave the device and not completed yet; it is invalid
 * after the call.
 *
 * Thread-safe: from the device thread inside a callback the request is pushed at once (and
 * published at the end of the batch); from any other thread (or outside a callback) it is
 * queued and the device thread woken. Completing after a reset or after vxen_dev_free() is safe
 * (the buffers are released; no used entry reaches a reset ring). Never fails; does not log.
 */
void vxen_dev_complete(struct vxen_req *req, uint32_t written);

/**
 * vxen_dev_queue_pop() - pull mode: take the next buffer chain of queue @q.
 * @out: receives the request, owned by the device until vxen_dev_complete().
 *
 * Returns 1 with *@out set; 0 if none is available now — the ring is empty, the pool is
 * exhausted, or the queue is not running — in which case ops->queue_notify() will be called
 * when that changes; -EINVAL if @q is not a pull queue of @dev. Guest errors are handled
 * inside (bad chains are rejected and skipped; a corrupt ring breaks the queue and returns 0).
 * Device thread only.
 */
int vxen_dev_queue_pop(vxen_dev *dev, unsigned int q, struct vxen_req **out);

/**
 * vxen_dev_queue_pop_many() - pull mode: take up to @n buffer chains of queue @q at once.
 * @out: receives the requests (out[0 .. result)), each owned by the device until
 *       vxen_dev_complete().
 * @n: at most VXEN_VQ_POP_MANY_MAX are taken (larger values are clamped).
 *
 * vxen_dev_queue_pop() for a batch, with the batch's crossings (vxen_vq_pop_many(): under Xen
 * one grant copy for the whole batch where single pops make one each). Takes what is available
 * now, up to @n, the free request slots and the memory interface's room. A device that holds
 * buffers ahead of need (a network receive queue) fills its stash with one call; each buffer
 * held keeps its bounce memory until completed, so hold about as many as it will use soon.
 * Returns how many were taken, 0 exactly as vxen_dev_queue_pop() does, or -EINVAL if @q is not
 * a pull queue of @dev or @n is 0. Device thread only.
 */
int vxen_dev_queue_pop_many(vxen_dev *dev, unsigned int q, struct vxen_req **out, unsigned int n);

/**
 * vxen_dev_queue_wake() - have the device thread serve queue @q at its next turn: call
 * ops->queue_notify() for a pull queue (e.g. data for the guest arrived on another thread and
 * needs a buffer), or pop a push queue. Ignored while the queue is not running. Thread-safe.
 * Returns 0, or -EINVAL if @q is out of range.
 */
int vxen_dev_queue_wake(vxen_dev *dev, unsigned int q);

/** vxen_dev_req_dev() / vxen_dev_req_queue() - the device and queue of a request. Thread-safe. */
vxen_dev *vxen_dev_req_dev(const struct vxen_req *req);
unsigned int vxen_dev_req_queue(const struct vxen_req *req);

/**
 * vxen_dev_config_set() - store @len bytes at config space offset @offset (device side; the
 * driver sees them on its next read, with ConfigGeneration changed if a byte changed). No
 * interrupt: call vxen_dev_config_changed() for that. Thread-safe: from another thread the
 * update is applied by the device thread, in order, before the next config change interrupt.
 * Returns 0, or -EINVAL if the range is outside the config space. Does not log.
 */
int vxen_dev_config_set(vxen_dev *dev, unsigned int offset, const void *buf, unsigned int len);

/** vxen_dev_config_get() - copy config bytes as last set by the device. Thread-safe. */
int vxen_dev_config_get(vxen_dev *dev, unsigned int offset, void *buf, unsigned int len);

/**
 * vxen_dev_config_changed() - tell the driver the config changed: ConfigGeneration changes and,
 * once the device is live, a configuration change interrupt is sent. Thread-safe.
 */
void vxen_dev_config_changed(vxen_dev *dev);

/**
 * vxen_dev_needs_reset() - the device hit an unrecoverable error: set DEVICE_NEEDS_RESET and
 * notify the driver (virtio 1.2 §2.1.2). Requests in flight may still be completed. Logs once.
 */
void vxen_dev_needs_reset(vxen_dev *dev);

/** vxen_dev_features() - the negotiated features (0 before FEATURES_OK and after a reset). */
uint64_t vxen_dev_features(const vxen_dev *dev);

/** vxen_dev_has_feature() - whether feature bit @bit was negotiated. */
bool vxen_dev_has_feature(const vxen_dev *dev, unsigned int bit);

/**
 * vxen_dev_running() - DRIVER_OK is set and the driver has not set FAILED. A device with
 * DEVICE_NEEDS_RESET set is still running: its healthy queues are served until the reset.
 */
bool vxen_dev_running(const vxen_dev *dev);

/** Immutable properties. Thread-safe. vxen_dev_name() is lent until vxen_dev_free(). */
void *vxen_dev_payload(const vxen_dev *dev);
uint32_t vxen_dev_domid(const vxen_dev *dev);
uint64_t vxen_dev_base(const vxen_dev *dev);
unsigned int vxen_dev_num_queues(const vxen_dev *dev);
const char *vxen_dev_name(const vxen_dev *dev);

/** vxen_dev_server() - the ioreq server the device was created on (cfg->server), or NULL. */
vxen_ioreq_server *vxen_dev_server(const vxen_dev *dev);

/**
 * vxen_dev_mmio() - the device's register file (mmio.h), lent until vxen_dev_free(): for its
 * counters and getters. Do not call its device-side functions behind the device's back.
 */
struct vxen_mmio *vxen_dev_mmio(vxen_dev *dev);

/**
 * vxen_dev_mmio_read() / vxen_dev_mmio_write() - a driver access to the device's window at
 * @offset (0 .. 0x1ff), for devices without a server (cfg->server == NULL): tests, fuzzers,
 * other transports. Same semantics as an access trapped through the ioreq server. Returns 0
 * (also for accesses the register file rejects), -EINVAL for a NULL argument. Device thread.
 */
int vxen_dev_mmio_read(vxen_dev *dev, uint64_t offset, unsigned int size, uint64_t *val);
int vxen_dev_mmio_write(vxen_dev *dev, uint64_t offset, unsigned int size, uint64_t val);

/* Device counters, cumulative since creation. */
struct vxen_dev_stats {
	uint64_t resets;	   /* resets done (Status = 0 writes, plus the final one at free) */
	uint64_t drain_timeouts;   /* resets that left requests in flight after the timeout */
	uint64_t interrupts;	   /* interrupts raised (after batching) */
	uint64_t interrupt_errors; /* injections that failed */
	uint64_t process_calls;	   /* vxen_dev_process() turns */
	uint64_t wakeups;	   /* completions queued from other threads */
	uint64_t late_completions; /* requests completed after their queue was reset */
	uint64_t queue_breaks;	   /* queues found corrupt (-EPROTO) */
	uint64_t config_updates;   /* config changes sent to the driver */
	struct vxen_mmio_stats mmio;	 /* the register file: rejected accesses by reason, ... */
	struct vxen_gdma_dev_stats gdma; /* ring mappings (zero with a custom memory interface) */
};

/*
 * Queue counters. The vq and gdma counters add up every ring instance the queue had since
 * creation (the gdma gauges — live_requests, live_pages, cache_buckets — are current values).
 */
struct vxen_dev_queue_stats {
	struct vxen_vq_stats vq;     /* ring walker: popped, pushed, rejected by reason, ... */
	struct vxen_gdma_stats gdma; /* buffer memory: maps, unmaps, copies, rejections, ... */
	uint64_t kicks;		     /* driver notifications received */
	uint64_t turns;		     /* times the queue was served */
	uint64_t budget_yields;	     /* turns ended by the budget with work left */
	uint64_t pool_empty;	     /* turns ended because every request was in flight */
	uint64_t completions;	     /* vxen_dev_complete() calls */
	uint64_t enables;	     /* times the driver enabled the queue */
	uint64_t enable_errors;	     /* enables refused (ring unmappable, ...) */
	uint32_t size;		     /* current QueueNum, 0 when not enabled */
	uint32_t inflight;	     /* requests owned by the device right now */
	uint32_t inflight_max;	     /* high-water mark */
	uint32_t pool_size;	     /* max_inflight in effect */
	uint32_t max_segs;	     /* max_segs in effect */
	bool enabled;		     /* QueueReady */
	bool broken;		     /* ring found corrupt; until the next reset */
	bool pull;		     /* pull mode */
};

/** vxen_dev_stats() - copy the device counters. Device thread (or a racy snapshot). */
void vxen_dev_stats(const vxen_dev *dev, struct vxen_dev_stats *out);

/**
 * vxen_dev_queue_stats() - copy queue @q's counters. Returns 0 or -ENOENT. Device thread.
 */
int vxen_dev_queue_stats(const vxen_dev *dev, unsigned int q, struct vxen_dev_queue_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_DEV_H */
