/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/mmio.h — L3: the virtio-mmio (version 2, "modern") register file and the device
 * status state machine.
 *
 * A vxen_mmio is the guest-visible face of one virtio device: the 32-bit control registers at
 * window offsets 0x000-0x0ff and the device configuration space from 0x100. It knows nothing
 * about Xen: L4 hands it every trapped access with vxen_mmio_read() / vxen_mmio_write(); it
 * answers, runs feature negotiation and the status machine, keeps the queue setup registers,
 * InterruptStatus and ConfigGeneration, and tells the device layer (L5) what happened through a
 * table of callbacks (struct vxen_mmio_ops). Legacy virtio-mmio (version 1) is not offered: it
 * cannot carry 64-bit grant addresses.
 *
 * Every value the guest writes is hostile. The register file never fails an access: a rejected
 * access reads 0 or is ignored, is counted by reason (struct vxen_mmio_stats) and logged through
 * vxen_log_guest() with one rate limit per object. The outcomes, each covered by a unit test:
 *
 *   Control registers (offset < 0x100) accept only aligned 32-bit accesses; any other size or
 *   alignment reads 0 / is ignored (BAD_ACCESS). Undefined offsets, reads of write-only and
 *   writes of read-only registers read 0 / are ignored (BAD_REGISTER). QueueReset (0x0c0) is
 *   undefined because VIRTIO_F_RING_RESET is never offered. SHMLen/SHMBase read 0xffffffff
 *   ("no shared memory region"), whatever SHMSel holds.
 *
 *   DeviceFeatures shows word DeviceFeaturesSel (0 or 1) of the offered features; other words
 *   read 0. DriverFeatures is accepted only while Status has DRIVER and not FEATURES_OK, for
 *   DriverFeaturesSel 0 or 1 (FEATURES_WRITE otherwise).
 *
 *   Status: writing 0 resets (see below). Any other write may only add bits: a write that would
 *   clear a driver-set bit is ignored as a whole (STATUS). The bits are taken in the order
 *   ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, each only if its predecessor is set, so skipping
 *   a step leaves the later bits clear (STATUS). FEATURES_OK is refused — the bit stays clear on
 *   re-read, as the spec asks — if the driver accepted a bit that was not offered, did not accept
 *   VIRTIO_F_VERSION_1, or on a grant device did not accept VIRTIO_F_ACCESS_PLATFORM, or if
 *   ops->features_ok() refuses (FEATURES_REFUSED). FAILED may be set at any time. Reserved bits
 *   (0x10, 0x20) are ignored, and so is bit 0x40: DEVICE_NEEDS_RESET is set by the device only.
 *   After FAILED the device is "stopped": Status changes only by reset, queues cannot be enabled
 *   and no notify() callback is made. DEVICE_NEEDS_RESET does not stop the transport: it tells
 *   the driver, while kicks still reach the device, which decides what it still serves (L5
 *   keeps healthy queues running when one ring is corrupt).
 *
 *   Queues: QueueSel may hold any value; for an index >= the number of queues, QueueNumMax and
 *   QueueReady read 0 and queue register writes are ignored (QUEUE_SEL). While a queue is ready
 *   its QueueNum and address registers ignore writes and a second QueueReady=1 is ignored
 *   (QUEUE_BUSY). QueueReady=1 enables the queue only if Status has FEATURES_OK and the device is
 *   not stopped (QUEUE_STATE); QueueNum is a power of two in 1..QueueNumMax (QUEUE_NUM); the three
 *   ring addresses are non-zero, aligned (descriptor table 16, driver area 2, device area 4
 *   bytes), do not wrap around 2^64 and do not overlap, with the sizes of the negotiated layout
 *   (QUEUE_ADDR); and ops->queue_enable() succeeds (QUEUE_ENABLE). Otherwise QueueReady stays 0.
 *   QueueReady=0 on a ready queue calls ops->queue_disable() and forgets a deferred kick; any
 *   value other than 0 and 1 is ignored (QUEUE_STATE).
 *
 *   QueueNotify names a queue index (VIRTIO_F_NOTIFICATION_DATA is never offered). A kick for a
 *   nonexistent or not-ready queue, or while the device is stopped, is ignored (NOTIFY). A kick
 *   that arrives before DRIVER_OK is remembered (one per queue) and delivered through
 *   ops->notify() right after DRIVER_OK is set, as the spec requires; reset or disabling the
 *   queue forgets it.
 *
 *   InterruptACK clears the bits written. Reset (Status = 0) first calls ops->reset(), then
 *   clears InterruptStatus, every queue's registers and readiness (without queue_disable()
 *   calls: reset covers them), deferred kicks, the feature selectors and the driver and
 *   negotiated features. ConfigGeneration and the config space contents survive a reset (the
 *   device restores what it wants in ops->reset()).
 *
 * Config space is a byte buffer owned by the register file, filled by the device with
 * vxen_mmio_config_set(). Guest accesses of 1, 2, 4 or 8 bytes at any alignment within
 * [0x100, 0x100 + config_size) are served from it (little-endian, as virtio requires). An access
 * of another size, or one that is not entirely inside the config space — including one that
 * crosses its end — reads 0 in all its bytes and is ignored for writes (CONFIG_ACCESS); the
 * buffer is never read or written out of bounds. Guest writes are not stored by the library:
 * they go to ops->config_write(), which decides and stores what it accepts with
 * vxen_mmio_config_set(). Without that callback config space is read-only (CONFIG_WRITE).
 *
 * Interrupts. ops->interrupt(1) is called whenever InterruptStatus gains a bit (a bit goes from
 * 0 to 1); ops->interrupt(0) whenever InterruptStatus becomes 0 (InterruptACK, reset). An
 * edge-style injector (Xen's set_irq_level(1)) acts on 1 and ignores 0; a level-triggered line
 * follows both. Because a newly set bit always raises, a config change arriving while the
 * driver's handler is between reading InterruptStatus and acknowledging it is not lost.
 *
 * Thread rules: no internal locking. All calls on one object — accesses, device-side calls,
 * getters, free — must come from one thread at a time, in practice the device's ioreq
 * dispatcher thread; a device completing requests on other threads marshals signal_used() back
 * to it (L5 does this). Callbacks run synchronously on the calling thread. Inside a callback the
 * device may call the device-side functions and getters of the same object (signal_used(),
 * config_changed(), needs_reset(), config_set(), ...), but not vxen_mmio_read(),
 * vxen_mmio_write() or vxen_mmio_free().
 */
#ifndef VIRTIO_XEN_MMIO_H
#define VIRTIO_XEN_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* virtio-mmio version 2 register offsets within the device's window (virtio 1.2 §4.2.2). */
#define VXEN_MMIO_MAGIC_VALUE	      0x000
#define VXEN_MMIO_VERSION	      0x004
#define VXEN_MMIO_DEVICE_ID	      0x008
#define VXEN_MMIO_VENDOR_ID	      0x00c
#define VXEN_MMIO_DEVICE_FEATURES     0x010
#define VXEN_MMIO_DEVICE_FEATURES_SEL 0x014
#define VXEN_MMIO_DRIVER_FEATURES     0x020
#define VXEN_MMIO_DRIVER_FEATURES_SEL 0x024
#define VXEN_MMIO_QUEUE_SEL	      0x030
#define VXEN_MMIO_QUEUE_NUM_MAX	      0x034
#define VXEN_MMIO_QUEUE_NUM	      0x038
#define VXEN_MMIO_QUEUE_READY	      0x044
#define VXEN_MMIO_QUEUE_NOTIFY	      0x050
#define VXEN_MMIO_INTERRUPT_STATUS    0x060
#define VXEN_MMIO_INTERRUPT_ACK	      0x064
#define VXEN_MMIO_STATUS	      0x070
#define VXEN_MMIO_QUEUE_DESC_LOW      0x080
#define VXEN_MMIO_QUEUE_DESC_HIGH     0x084
#define VXEN_MMIO_QUEUE_DRIVER_LOW    0x090
#define VXEN_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VXEN_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VXEN_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VXEN_MMIO_SHM_SEL	      0x0ac
#define VXEN_MMIO_SHM_LEN_LOW	      0x0b0
#define VXEN_MMIO_SHM_LEN_HIGH	      0x0b4
#define VXEN_MMIO_SHM_BASE_LOW	      0x0b8
#define VXEN_MMIO_SHM_BASE_HIGH	      0x0bc
#define VXEN_MMIO_QUEUE_RESET	      0x0c0
#define VXEN_MMIO_CONFIG_GENERATION   0x0fc
#define VXEN_MMIO_CONFIG_SPACE	      0x100

#define VXEN_MMIO_MAGIC		      0x74726976u /* "virt" */
#define VXEN_MMIO_CONFIG_MAX	      0xf00u	  /* largest device config space */
#define VXEN_MMIO_QUEUES_MAX	      1024u	  /* most queues one device may have */
#define VXEN_MMIO_QUEUE_NUM_MAX_LIMIT 32768u

/* Device status bits (virtio 1.2 §2.1). */
#define VXEN_MMIO_S_ACKNOWLEDGE 1u
#define VXEN_MMIO_S_DRIVER	2u
#define VXEN_MMIO_S_DRIVER_OK	4u
#define VXEN_MMIO_S_FEATURES_OK 8u
#define VXEN_MMIO_S_NEEDS_RESET 64u
#define VXEN_MMIO_S_FAILED	128u

/* InterruptStatus bits. */
#define VXEN_MMIO_INT_VRING  1u /* used buffer notification */
#define VXEN_MMIO_INT_CONFIG 2u /* configuration change notification */

/* Transport feature bits (virtio 1.2 §6); same values as in vq.h. */
#ifndef VXEN_F_VERSION_1
#define VXEN_F_VERSION_1 32
#endif
#ifndef VXEN_F_ACCESS_PLATFORM
#define VXEN_F_ACCESS_PLATFORM 33
#endif
#ifndef VXEN_F_NOTIFICATION_DATA
#define VXEN_F_NOTIFICATION_DATA 38
#endif
#ifndef VXEN_F_RING_RESET
#define VXEN_F_RING_RESET 40
#endif

/*
 * Feature bits this transport does not implement; a configuration offering any of them is
 * refused: NOTIFICATION_DATA (38), NOTIF_CONFIG_DATA (39), RING_RESET (40), ADMIN_VQ (41).
 */
#define VXEN_MMIO_FEATURES_UNSUPPORTED (0xfULL << 38)

/* struct vxen_mmio_config.flags */
#define VXEN_MMIO_F_GRANT 1u /* guest uses Xen grant-DMA addresses (see config) */

/*
 * struct vxen_mmio_config - what the device offers. Copied by vxen_mmio_new(); start from
 * VXEN_MMIO_CONFIG_INIT so fields added in later versions get their defaults.
 */
struct vxen_mmio_config {
	unsigned int version; /* VXEN_MMIO_CONFIG_VERSION */
	uint32_t device_id;   /* virtio device id, non-zero (net 1, blk 2, console 3, rng 4...) */
	uint32_t vendor_id;   /* any; read by the driver as VendorID */
	/*
	 * Offered features. Must contain VXEN_F_VERSION_1, and VXEN_F_ACCESS_PLATFORM when
	 * VXEN_MMIO_F_GRANT is set; must not contain VXEN_MMIO_FEATURES_UNSUPPORTED.
	 */
	uint64_t features;
	unsigned int num_queues; /* 1 .. VXEN_MMIO_QUEUES_MAX */
	/* QueueNumMax of every queue: a power of two, 1 .. VXEN_MMIO_QUEUE_NUM_MAX_LIMIT. */
	unsigned int queue_num_max;
	/*
	 * Optional per-queue QueueNumMax, num_queues entries with the same rules; overrides
	 * queue_num_max. Copied; may be NULL.
	 */
	const unsigned int *queue_num_max_each;
	unsigned int config_size; /* bytes of device config space, 0 .. VXEN_MMIO_CONFIG_MAX */
	/*
	 * VXEN_MMIO_F_GRANT: the guest's ring and buffer addresses are Xen grant-DMA addresses.
	 * Its driver must then accept VIRTIO_F_ACCESS_PLATFORM, or FEATURES_OK is refused.
	 */
	unsigned int flags;
	/* Prefix of log messages, e.g. "d3 blk0"; copied (up to 47 bytes); NULL → "mmio". */
	const char *name;
};
#define VXEN_MMIO_CONFIG_VERSION 1
/* clang-format off */
#define VXEN_MMIO_CONFIG_INIT { .version = VXEN_MMIO_CONFIG_VERSION }
/* clang-format on */

/* A queue's registers as the driver set them (struct vxen_mmio_ops.queue_enable, getters). */
struct vxen_mmio_queue_info {
	uint32_t num;	  /* QueueNum */
	uint32_t num_max; /* QueueNumMax */
	uint64_t desc;	  /* QueueDesc: descriptor table */
	uint64_t driver;  /* QueueDriver: available ring */
	uint64_t device;  /* QueueDevice: used ring */
	bool ready;	  /* QueueReady */
};

/*
 * struct vxen_mmio_ops - how the register file tells the device what the driver did. Fill with
 * designated initializers and .version = VXEN_MMIO_OPS_VERSION. Every callback gets the
 * @payload given to vxen_mmio_new() as its last argument and runs on the thread that made the
 * access. Only queue_enable and reset are required.
 */
struct vxen_mmio_ops {
	unsigned int version; /* VXEN_MMIO_OPS_VERSION */
	/*
	 * queue_enable - the driver wrote QueueReady=1 and @q passed the checks above (size a power
	 * of two ≤ QueueNumMax, addresses non-zero, aligned, non-overlapping, features
	 * negotiated). Map and validate the rings here. Return 0 to make the queue ready, or
	 * -errno to refuse: QueueReady stays 0, the refusal is counted (QUEUE_ENABLE) and logged.
	 */
	int (*queue_enable)(unsigned int qidx, const struct vxen_mmio_queue_info *q, void *payload);
	/*
	 * queue_disable - the driver wrote QueueReady=0 on a ready queue: stop using it and release
	 * its rings. Not called at reset (reset() covers every queue). Optional.
	 */
	void (*queue_disable)(unsigned int qidx, void *payload);
	/*
	 * notify - the driver kicked ready queue @qidx while DRIVER_OK is set and the device is not
	 * stopped (or a kick deferred from before DRIVER_OK is being delivered). Optional.
	 */
	void (*notify)(unsigned int qidx, void *payload);
	/*
	 * reset - the driver wrote 0 to Status. Drain or cancel in-flight requests, release every
	 * queue's rings and data mappings, reset device state (and config space fields the driver
	 * may have changed). During the call vxen_mmio_status() already reads 0, so signal_used()
	 * and config_changed() are ignored, while the queue getters still report the queues as they
	 * were, so the callback can see which ones to tear down. Called on every write of 0, even
	 * when Status was already 0.
	 */
	void (*reset)(void *payload);
	/*
	 * features_ok - the driver is setting FEATURES_OK with @features, which already passed the
	 * transport's checks. Return 0 to accept, -errno to refuse (FEATURES_OK stays clear).
	 * Optional: NULL accepts every offered subset.
	 */
	int (*features_ok)(uint64_t features, void *payload);
	/*
	 * driver_ok - DRIVER_OK has just been set; the device is live. Kicks deferred from before
	 * are delivered through notify() right after this returns. Optional.
	 */
	void (*driver_ok)(void *payload);
	/*
	 * config_write - the driver wrote @len (1, 2, 4 or 8) bytes at config offset @offset, all
	 * inside the config space. Nothing is stored by the library: accept by storing what the
	 * device wants with vxen_mmio_config_set() and returning 0, or return -errno to refuse
	 * (counted as CONFIG_WRITE and logged). Optional: NULL makes config space read-only.
	 */
	int (*config_write)(unsigned int offset, const void *buf, unsigned int len, void *payload);
	/*
	 * interrupt - @level 1: InterruptStatus gained a bit, inject the interrupt. @level 0:
	 * InterruptStatus is now 0, a level-triggered line may be lowered. Optional (NULL for a
	 * device without interrupts, e.g. in tests).
	 */
	void (*interrupt)(int level, void *payload);
};
#define VXEN_MMIO_OPS_VERSION 1

/* Reasons a guest access was rejected (indices into struct vxen_mmio_stats.rejected). */
enum vxen_mmio_reject {
	VXEN_MMIO_REJ_BAD_ACCESS = 0, /* control register access not aligned 32-bit */
	VXEN_MMIO_REJ_BAD_REGISTER,   /* undefined offset, read of W/O, write of R/O register */
	VXEN_MMIO_REJ_CONFIG_ACCESS,  /* config access of bad size or not inside config space */
	VXEN_MMIO_REJ_CONFIG_WRITE,   /* config write refused (or no config_write callback) */
	VXEN_MMIO_REJ_FEATURES_WRITE, /* DriverFeatures write outside DRIVER..FEATURES_OK / sel>1 */
	VXEN_MMIO_REJ_FEATURES_REFUSED, /* FEATURES_OK refused */
	VXEN_MMIO_REJ_STATUS,		/* Status write clearing bits, skipping steps, stopped */
	VXEN_MMIO_REJ_QUEUE_SEL,	/* queue register write with QueueSel out of range */
	VXEN_MMIO_REJ_QUEUE_BUSY,	/* queue register write or QueueReady=1 while ready */
	VXEN_MMIO_REJ_QUEUE_STATE,	/* QueueReady=1 before FEATURES_OK / stopped; bad value */
	VXEN_MMIO_REJ_QUEUE_NUM,	/* QueueNum 0, not a power of two, > QueueNumMax */
	VXEN_MMIO_REJ_QUEUE_ADDR,   /* ring address missing, misaligned, wrapping, overlapping */
	VXEN_MMIO_REJ_QUEUE_ENABLE, /* ops->queue_enable() refused */
	VXEN_MMIO_REJ_NOTIFY,	    /* kick for nonexistent / not-ready queue, or stopped */
	VXEN_MMIO_REJ__COUNT
};

/* Room reserved in struct vxen_mmio_stats.rejected for reasons added later. */
#define VXEN_MMIO_REJ_SLOTS 32

/* Counters of one register file, cumulative since creation (not cleared by reset). */
struct vxen_mmio_stats {
	uint64_t rejected[VXEN_MMIO_REJ_SLOTS]; /* by enum vxen_mmio_reject */
	uint64_t rejected_total;
	uint64_t resets;	    /* writes of 0 to Status */
	uint64_t kicks;		    /* notify() callbacks made */
	uint64_t kicks_deferred;    /* kicks remembered before DRIVER_OK */
	uint64_t interrupts;	    /* interrupt(1) callbacks made */
	uint64_t config_generation; /* how often ConfigGeneration changed */
};

typedef struct vxen_mmio vxen_mmio;

/**
 * vxen_mmio_new() - create a register file in the reset state (Status 0).
 * @out: receives the object on success (untouched on failure); free with vxen_mmio_free().
 * @cfg: what the device offers; copied (including queue_num_max_each and name).
 * @ops: callbacks; not copied — must stay valid until vxen_mmio_free().
 * @payload: passed as the last argument of every callback.
 *
 * Returns 0, -EINVAL for a bad @cfg or @ops (unknown version, device_id 0, num_queues or a
 * QueueNumMax out of range or not a power of two, config_size > VXEN_MMIO_CONFIG_MAX, features
 * without VERSION_1, a grant device without ACCESS_PLATFORM, unsupported transport features,
 * queue_enable or reset missing), or -ENOMEM. Logs the reason of an -EINVAL (vxen_log, LOG_ERR).
 * The config space starts zero-filled.
 */
int vxen_mmio_new(vxen_mmio **out, const struct vxen_mmio_config *cfg,
		  const struct vxen_mmio_ops *ops, void *payload);

/**
 * vxen_mmio_free() - destroy a register file. Makes no callbacks: the device tears down its own
 * queues. NULL is fine.
 */
void vxen_mmio_free(vxen_mmio *m);

/**
 * vxen_mmio_read() - a guest read of @size bytes at @offset within the device's window.
 * @offset: relative to the window base; any value (beyond the config space reads 0).
 * @size: access width in bytes as trapped (1, 2, 4, 8; anything else reads 0).
 * @val: receives the value, zero-extended.
 *
 * Returns 0 — also for accesses that were rejected (then *val is 0; counted, logged
 * rate-limited). -EINVAL only if @m or @val is NULL. Makes no callbacks.
 */
int vxen_mmio_read(vxen_mmio *m, uint64_t offset, unsigned int size, uint64_t *val);

/**
 * vxen_mmio_write() - a guest write of the low @size bytes of @val at @offset.
 *
 * Returns 0 — also for ignored writes (counted, logged rate-limited); -EINVAL only if @m is
 * NULL. May call any callback of struct vxen_mmio_ops, synchronously.
 */
int vxen_mmio_write(vxen_mmio *m, uint64_t offset, unsigned int size, uint64_t val);

/**
 * vxen_mmio_signal_used() - the device put buffers in a used ring: set InterruptStatus bit 0
 * and, if it was clear, call interrupt(1). Ignored unless Status has DRIVER_OK (a device must
 * not notify before activation or after reset). Does not log.
 */
void vxen_mmio_signal_used(vxen_mmio *m);

/**
 * vxen_mmio_config_changed() - the device changed its config space: ConfigGeneration changes;
 * if Status has DRIVER_OK, InterruptStatus bit 1 is set and, if it was clear, interrupt(1) is
 * called. Does not log.
 */
void vxen_mmio_config_changed(vxen_mmio *m);

/**
 * vxen_mmio_needs_reset() - the device hit an unrecoverable error (e.g. a corrupt ring): set
 * DEVICE_NEEDS_RESET (it does not stop the transport: see the top of this file), and if DRIVER_OK
 * is set send a config change interrupt (InterruptStatus bit 1; ConfigGeneration is not changed).
 * Ignored while Status is 0 or the bit is already set. Logs at LOG_WARNING (not rate-limited: at
 * most once per reset).
 */
void vxen_mmio_needs_reset(vxen_mmio *m);

/**
 * vxen_mmio_config_set() - store @len bytes at config offset @offset (device side).
 *
 * ConfigGeneration changes if any byte changed, so a driver never sees a torn multi-access
 * read; no interrupt is sent (call vxen_mmio_config_changed() for that). Allowed inside any
 * callback. Returns 0, or -EINVAL if [@offset, @offset + @len) is not inside the config space.
 * Does not log.
 */
int vxen_mmio_config_set(vxen_mmio *m, unsigned int offset, const void *buf, unsigned int len);

/**
 * vxen_mmio_config_get() - copy @len bytes at config offset @offset into @buf.
 * Returns 0, or -EINVAL if the range is not inside the config space. Does not log.
 */
int vxen_mmio_config_get(const vxen_mmio *m, unsigned int offset, void *buf, unsigned int len);

/** vxen_mmio_status() - the Status register as the driver reads it. */
uint32_t vxen_mmio_status(const vxen_mmio *m);

/**
 * vxen_mmio_running() - true if Status has DRIVER_OK and not FAILED: the device may process its
 * queues (DEVICE_NEEDS_RESET does not change this; the device decides which queues it still
 * serves).
 */
bool vxen_mmio_running(const vxen_mmio *m);

/**
 * vxen_mmio_features() - the negotiated features: the driver's accepted set once FEATURES_OK is
 * set, 0 before (and after a reset).
 */
uint64_t vxen_mmio_features(const vxen_mmio *m);

/** vxen_mmio_interrupt_status() - the InterruptStatus register. */
uint32_t vxen_mmio_interrupt_status(const vxen_mmio *m);

/** vxen_mmio_config_generation() - the ConfigGeneration register. */
uint32_t vxen_mmio_config_generation(const vxen_mmio *m);

/** vxen_mmio_num_queues() - the configured number of queues. */
unsigned int vxen_mmio_num_queues(const vxen_mmio *m);

/**
 * vxen_mmio_queue() - copy queue @qidx's registers into @out.
 * Returns 0, or -ENOENT if @qidx ≥ the number of queues (@out untouched).
 */
int vxen_mmio_queue(const vxen_mmio *m, unsigned int qidx, struct vxen_mmio_queue_info *out);

/** vxen_mmio_stats() - the counters; lent, valid until vxen_mmio_free(). */
const struct vxen_mmio_stats *vxen_mmio_stats(const vxen_mmio *m);

/** vxen_mmio_reject_name() - a short constant name for @reason ("queue_num"), "?" if unknown. */
const char *vxen_mmio_reject_name(enum vxen_mmio_reject reason);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_MMIO_H */
