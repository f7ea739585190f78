/* SPDX-License-Identifier: MIT */
/*
 * xensim-virtio.h — guest-side virtio frontend drivers for a simulated Xen guest.
 *
 * A small, faithful model of what a Linux domU with CONFIG_XEN_VIRTIO does with a virtio-mmio
 * device: drivers/virtio/virtio_mmio.c (probe, negotiation, queue setup, config space, interrupt),
 * drivers/virtio/virtio_ring.c (split ring driver side) on top of drivers/xen/grant-dma-ops.c
 * (every address the device sees is 1<<63 | gref<<12 | offset), and minimal virtio-blk,
 * virtio-net and virtio-console drivers. Tests, benchmarks and demos drive a backend with it.
 *
 * Layers, each usable on its own:
 *   xensim_vdev  - one virtio-mmio device of one guest (transport).
 *   xensim_vq    - one split virtqueue, driver side. Also usable without a device
 *                  (xensim_vq_new()): tests then play the device themselves.
 *   xensim_blk / xensim_net / xensim_console - device drivers built on the two above.
 *
 * Memory: buffers are described by guest physical ranges (struct xensim_sg) in the guest's RAM
 * (xensim_guest_alloc_pages(), xensim_guest_ptr()). Every buffer added to a queue is mapped with
 * xensim_dma_map() (read-only grant for device-readable buffers, read-write for device-writable
 * ones) and unmapped with xensim_dma_unmap() when the used entry is collected; rings are coherent
 * xensim_dma_alloc() allocations that stay granted until the queue is deleted. When an unmap finds
 * a grant still mapped by the backend ("Grant still in use by backend domain"), the call reports
 * -EBUSY, the event is counted, and — as in Linux's grant-dma-ops — the device is broken for good:
 * later adds fail with -EIO.
 *
 * Conventions: functions return 0 or a negative errno (documented exceptions return a count or
 * 1/0/-errno); constructors leave *out untouched on failure; _free(NULL) is fine; nothing aborts
 * on anything a device does; nothing logs. Every wait has a timeout and reports -ETIMEDOUT.
 * MMIO errors from xensim (-EFAULT no device, -ETIMEDOUT backend did not answer, -ESRCH domain
 * gone) are passed through unchanged.
 *
 * Threads: not thread-safe. A vdev, its queues and the driver on top are used by one thread at
 * a time (the caller serialises), like one CPU holding the driver's lock. Different devices of one
 * guest may be driven from different threads if each uses its own vCPU for its MMIO accesses
 * (xensim_vdev_set_vcpu(), xensim_vq_set_vcpu(); an access blocks its vCPU until answered).
 */
#ifndef XENSIM_VIRTIO_H
#define XENSIM_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xensim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Constants (virtio 1.2; same values as <linux/virtio_*.h>)                                   */

#define XENSIM_VIRTIO_BIT(n) (1ULL << (n))

/* Transport feature bits the ring driver implements or the transport requires. */
#define XENSIM_VIRTIO_F_INDIRECT_DESC	28
#define XENSIM_VIRTIO_F_EVENT_IDX	29
#define XENSIM_VIRTIO_F_VERSION_1	32
#define XENSIM_VIRTIO_F_ACCESS_PLATFORM 33
#define XENSIM_VIRTIO_F_ORDER_PLATFORM	36
/* Always required (Linux's xen grant-dma refuses devices without them). */
#define XENSIM_VIRTIO_REQUIRED_FEATURES                                                            \
	(XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_VERSION_1) |                                            \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_ACCESS_PLATFORM))

/* Device ids. */
#define XENSIM_VIRTIO_ID_NET	 1
#define XENSIM_VIRTIO_ID_BLOCK	 2
#define XENSIM_VIRTIO_ID_CONSOLE 3
#define XENSIM_VIRTIO_ID_RNG	 4

/* Device status bits. */
#define XENSIM_VIRTIO_S_ACKNOWLEDGE	   1
#define XENSIM_VIRTIO_S_DRIVER		   2
#define XENSIM_VIRTIO_S_DRIVER_OK	   4
#define XENSIM_VIRTIO_S_FEATURES_OK	   8
#define XENSIM_VIRTIO_S_DEVICE_NEEDS_RESET 64
#define XENSIM_VIRTIO_S_FAILED		   128

/* InterruptStatus bits. */
#define XENSIM_VIRTIO_INT_VRING	 1
#define XENSIM_VIRTIO_INT_CONFIG 2

/* Split ring descriptor / ring flags. */
#define XENSIM_VRING_DESC_F_NEXT	  1
#define XENSIM_VRING_DESC_F_WRITE	  2
#define XENSIM_VRING_DESC_F_INDIRECT	  4
#define XENSIM_VRING_AVAIL_F_NO_INTERRUPT 1
#define XENSIM_VRING_USED_F_NO_NOTIFY	  1

/* ------------------------------------------------------------------------------------------ */
/* Buffers                                                                                     */

/** One guest physical range: a scatter-gather element (Linux's struct scatterlist). */
struct xensim_sg {
	uint64_t gpa; /* guest physical address, inside the guest's RAM */
	uint32_t len; /* bytes; 0 is refused (-EINVAL) */
};

/* ------------------------------------------------------------------------------------------ */
/* xensim_vdev: a virtio-mmio (version 2) device                                               */

typedef struct xensim_vdev xensim_vdev;
typedef struct xensim_vq xensim_vq;

/**
 * xensim_vdev_probe() - find and reset a virtio-mmio device, as virtio_mmio_probe() does.
 * @out: receives the device; free with xensim_vdev_free().
 * @g: the guest; lent, must outlive the device.
 * @backend_domid: the domain serving the device: every grant is made to it.
 * @base: MMIO window base (guest physical), @irq: its SPI.
 *
 * Reads MagicValue, Version, DeviceID and VendorID; resets the device (Status 0, then waits for
 * Status to read 0); sets ACKNOWLEDGE. Control accesses use vCPU 0 (xensim_vdev_set_vcpu()).
 * Returns 0; -ENODEV if the magic is wrong or DeviceID is 0 (placeholder); -EPROTONOSUPPORT for
 * Version 1 (legacy cannot carry grant addresses) or any version other than 2; -ETIMEDOUT if
 * the reset never completes; MMIO errors.
 */
int xensim_vdev_probe(xensim_vdev **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		      uint32_t irq);

/**
 * xensim_vdev_negotiate() - the feature handshake (virtio_dev_probe + vm_finalize_features).
 * @wanted: feature bits the driver supports; XENSIM_VIRTIO_REQUIRED_FEATURES are always added.
 * @accepted_out: receives the negotiated set (may be NULL).
 *
 * Sets DRIVER, reads the 64-bit DeviceFeatures (selector 0 and 1), accepts
 * offered & (wanted | required) restricted to what the ring driver implements (device-class bits
 * are passed as they are), writes DriverFeatures, sets FEATURES_OK and re-reads Status.
 * Returns 0; -EOPNOTSUPP (Status FAILED set) if VERSION_1 or ACCESS_PLATFORM is not offered;
 * -EIO (FAILED set) if the device did not keep FEATURES_OK; -EALREADY if called twice; MMIO errors.
 */
int xensim_vdev_negotiate(xensim_vdev *vd, uint64_t wanted, uint64_t *accepted_out);

/**
 * xensim_vdev_setup_queues() - create queues 0..@nr-1 (vm_find_vqs / vm_setup_vq).
 * @sizes: per-queue size wish, or NULL; an entry of 0 (or a NULL array) means QueueNumMax, as
 * Linux does; a wish is capped at QueueNumMax. The chosen size must be a power of two; if the
 * ring cannot be allocated it is halved and retried, as vring_alloc_queue_split() does.
 *
 * For each queue: QueueSel; QueueReady must read 0 (else -ENOENT); QueueNumMax (0 = -ENOENT);
 * allocates the ring with xensim_dma_alloc() in Linux's vring_create_virtqueue layout
 * (desc at 0, avail after 16*num with used_event, used at the next 4 KiB boundary with
 * avail_event); writes QueueNum and the Desc/Driver/Device Low/High grant addresses; writes
 * QueueReady 1 and reads it back (-EIO if it is not 1). Call after negotiate, before ready.
 * On failure, queues set up so far are deleted again. Returns 0; -EINVAL (@nr 0 or > 64, size not
 * a power of two); -EALREADY (queues exist); -EPROTO (before negotiate); -ENOMEM; MMIO errors.
 */
int xensim_vdev_setup_queues(xensim_vdev *vd, unsigned int nr, const unsigned int *sizes);

/** xensim_vdev_ready() - set DRIVER_OK (virtio_device_ready()). */
int xensim_vdev_ready(xensim_vdev *vd);

/**
 * xensim_vdev_init() - negotiate(@wanted), setup_queues(@nr, NULL or all @queue_size) and ready,
 * in one call. @queue_size 0 means QueueNumMax.
 */
int xensim_vdev_init(xensim_vdev *vd, uint64_t wanted, unsigned int nr, unsigned int queue_size);

/** Queue @index (lent, valid until xensim_vdev_free()), or NULL if it does not exist. */
xensim_vq *xensim_vdev_vq(xensim_vdev *vd, unsigned int index);
unsigned int xensim_vdev_nr_vqs(const xensim_vdev *vd);

/** Identity and negotiated state (no MMIO). */
uint32_t xensim_vdev_device_id(const xensim_vdev *vd);
uint32_t xensim_vdev_vendor_id(const xensim_vdev *vd);
uint64_t xensim_vdev_device_features(const xensim_vdev *vd); /* offered (after negotiate) */
uint64_t xensim_vdev_features(const xensim_vdev *vd);	     /* negotiated */
bool xensim_vdev_has_feature(const xensim_vdev *vd, unsigned int bit);
uint64_t xensim_vdev_base(const xensim_vdev *vd);
uint32_t xensim_vdev_irq(const xensim_vdev *vd);
uint32_t xensim_vdev_backend_domid(const xensim_vdev *vd);
xensim_guest *xensim_vdev_guest(xensim_vdev *vd);

/**
 * xensim_vdev_set_vcpu() - vCPU used for register accesses from now on (default 0), including the
 * QueueNotify writes of every queue (override per queue with xensim_vq_set_vcpu()).
 */
void xensim_vdev_set_vcpu(xensim_vdev *vd, unsigned int vcpu);

/** xensim_vdev_get_status() / set_status() - read the Status register / OR bits into it. */
int xensim_vdev_get_status(xensim_vdev *vd, uint8_t *status_out);
int xensim_vdev_set_status(xensim_vdev *vd, uint8_t bits);

/**
 * xensim_vdev_config_read() - read @len bytes of device config space at @off into @buf, inside
 * the ConfigGeneration loop (read generation, read, re-read generation, retry on change).
 * Access sizes follow Linux's vm_get(): @len 1, 2 and 4 are one access of that size, 8 is two
 * 32-bit accesses (low then high); any other @len is read byte by byte. Values are stored in the
 * device's (little-endian) byte order. Returns 0; -EINVAL if @off + @len > 0xf00; -EIO if the
 * generation still changed after 64 retries; MMIO errors.
 */
int xensim_vdev_config_read(xensim_vdev *vd, uint32_t off, void *buf, size_t len);

/** xensim_vdev_config_write() - write config space; access sizes as for config_read. */
int xensim_vdev_config_write(xensim_vdev *vd, uint32_t off, const void *buf, size_t len);

/** xensim_vdev_config_generation() - read ConfigGeneration. */
int xensim_vdev_config_generation(xensim_vdev *vd, uint32_t *gen_out);

/**
 * xensim_vdev_irq_wait() - wait for the device's interrupt, then handle it as vm_interrupt():
 * read InterruptStatus and write the same bits to InterruptACK.
 * @timeout_ms: 0 polls, -1 waits forever.
 * Returns the InterruptStatus bits (≥ 0; 0 for a spurious edge); -ETIMEDOUT if no interrupt
 * came; MMIO errors. A config-change bit is also counted (xensim_vdev_config_changes()).
 */
int xensim_vdev_irq_wait(xensim_vdev *vd, int timeout_ms);

/** Number of config-change interrupts seen so far. */
uint64_t xensim_vdev_config_changes(const xensim_vdev *vd);

/**
 * xensim_vdev_reset() - write Status 0 and wait (≤ 1000 polls of the register, 1 ms apart) for
 * it to read 0. Queues are kept but must not be used again until the vdev is freed: a reset
 * device has forgotten them (Linux reprobes). Buffers still queued can be reclaimed with
 * xensim_vq_detach_unused(). Returns 0, -ETIMEDOUT, MMIO errors.
 */
int xensim_vdev_reset(xensim_vdev *vd);

/**
 * xensim_vdev_free() - remove the device as virtio_dev_remove() + vm_del_vqs() do: reset it, for
 * each queue write QueueReady 0, detach and unmap every buffer still queued, free the rings
 * (ending access to their grants). Always frees everything; NULL is fine.
 * Returns 0; -EBUSY if any grant (ring or buffer) was still mapped by the backend (the machine
 * counted gnt_end_busy); otherwise the first MMIO error of the reset (the device may be gone).
 */
int xensim_vdev_free(xensim_vdev *vd);

/* ------------------------------------------------------------------------------------------ */
/* xensim_vq: split virtqueue, driver side                                                     */

/**
 * xensim_vq_new() - a queue not attached to any device, for tests that play the device.
 * @num: queue size, a power of two in 1..32768. @features: ring features in effect
 * (XENSIM_VIRTIO_F_INDIRECT_DESC, XENSIM_VIRTIO_F_EVENT_IDX bits; others ignored).
 * The ring is allocated exactly as for a device queue. xensim_vq_notify() on such a queue does no
 * MMIO: it only counts the notification. Free with xensim_vq_free().
 */
int xensim_vq_new(xensim_vq **out, xensim_guest *g, uint32_t backend_domid, unsigned int num,
		  uint64_t features);

/**
 * xensim_vq_free() - free a queue made by xensim_vq_new(): unmap buffers still queued, free the
 * ring. Returns 0 or -EBUSY (a grant still mapped by the backend). NULL is fine. Queues of a
 * vdev are freed by xensim_vdev_free() only (-EINVAL here, nothing freed).
 */
int xensim_vq_free(xensim_vq *vq);

/**
 * xensim_vq_add() - expose one buffer chain to the device (virtqueue_add_sgs()).
 * @out/@nout: device-readable ranges, mapped XENSIM_DMA_TO_DEVICE (read-only grants).
 * @in/@nin: device-writable ranges, mapped XENSIM_DMA_FROM_DEVICE (read-write grants).
 * @token: non-NULL cookie returned by xensim_vq_get_buf() for this chain.
 *
 * Each range is one descriptor with one mapping (consecutive grant refs). With INDIRECT_DESC
 * negotiated (and not disabled with xensim_vq_set_indirect()) a chain of more than one
 * descriptor goes into an indirect table (itself a read-only mapped buffer) taking one ring
 * slot; otherwise descriptors come from the free list. The head is published in the avail ring
 * after a write barrier; the device is not notified (see xensim_vq_kick()), except, as in Linux,
 * when 65535 adds have accumulated without a kick.
 * Returns 0; -EINVAL (NULL token, no ranges, a zero-length range, nout + nin > 65535);
 * -ENOSPC (not enough free descriptors: nothing was mapped); -EIO (queue broken, or the device
 * broken by an earlier "grant still in use"); -ENOMEM or the errno of xensim_dma_map() (all
 * mappings made so far are undone).
 */
int xensim_vq_add(xensim_vq *vq, const struct xensim_sg *out, unsigned int nout,
		  const struct xensim_sg *in, unsigned int nin, void *token);

/**
 * xensim_vq_kick_prepare() - decide whether the device must be notified about the chains added
 * since the last call (virtqueue_kick_prepare_split): after a full barrier, with EVENT_IDX
 * vring_need_event(avail_event, new, old), otherwise !(used.flags & NO_NOTIFY).
 * Returns true if xensim_vq_notify() is needed. Counts suppressed kicks.
 */
bool xensim_vq_kick_prepare(xensim_vq *vq);

/** xensim_vq_notify() - write the queue index to QueueNotify (vm_notify). Counts notifies. */
int xensim_vq_notify(xensim_vq *vq);

/** xensim_vq_kick() - kick_prepare + notify. Returns 1 if notified, 0 if suppressed, -errno. */
int xensim_vq_kick(xensim_vq *vq);

/**
 * xensim_vq_get_buf() - collect one used entry (virtqueue_get_buf()).
 * @token_out: the chain's token; @len_out: the used length the device wrote (may be NULL).
 *
 * After a read barrier, reads used.ring[last_used], validates the id (an id ≥ num or not in
 * flight breaks the queue: -EIO, as Linux's BAD_RING), unmaps every buffer of the chain (and the
 * indirect table) with xensim_dma_unmap(), returns the descriptors to the free list, and while
 * callbacks are enabled publishes used_event = last_used (as Linux, whether or not EVENT_IDX was
 * negotiated: the device only reads it with EVENT_IDX).
 * Returns 1 with a chain; 0 if no used entry is pending; -EBUSY with a chain (*token_out and
 * *len_out are set) when a grant was still mapped by the backend — the device is broken from now
 * on; -EIO if the queue is broken.
 */
int xensim_vq_get_buf(xensim_vq *vq, void **token_out, uint32_t *len_out);

/** xensim_vq_more_used() - true if used.idx moved past the last collected entry. */
bool xensim_vq_more_used(xensim_vq *vq);

/**
 * xensim_vq_disable_cb() - ask the device not to interrupt (virtqueue_disable_cb_split):
 * avail.flags NO_INTERRUPT, or with EVENT_IDX the shadow flag only (used_event left as is,
 * Linux writes 0 there once).
 */
void xensim_vq_disable_cb(xensim_vq *vq);

/**
 * xensim_vq_enable_cb() - re-enable interrupts (virtqueue_enable_cb): clear NO_INTERRUPT or
 * publish used_event = last_used, then after a full barrier check for used entries that raced.
 * Returns false if there are pending used entries (the caller must collect them), true otherwise.
 */
bool xensim_vq_enable_cb(xensim_vq *vq);

/**
 * xensim_vq_enable_cb_delayed() - like enable_cb but, with EVENT_IDX, ask for an interrupt only
 * after 3/4 of the outstanding chains completed (virtqueue_enable_cb_delayed, used for tx).
 */
bool xensim_vq_enable_cb_delayed(xensim_vq *vq);

/**
 * xensim_vq_wait() - wait until a used entry is pending: enable callbacks, then wait for the
 * device's interrupt (xensim_vdev_irq_wait(), which reads and ACKs InterruptStatus), re-checking
 * the ring after every interrupt. Callbacks stay enabled on return.
 * Returns 0 when xensim_vq_more_used() is true, -ETIMEDOUT, -EIO (broken), MMIO errors;
 * -ENODEV for a queue without a device (poll the ring instead).
 */
int xensim_vq_wait(xensim_vq *vq, int timeout_ms);

/**
 * xensim_vq_detach_unused() - after a reset, take back one chain the device never returned
 * (virtqueue_detach_unused_buf), unmapping its buffers. Returns 1 with *token_out, 0 when none
 * are left, -EBUSY with a chain if a grant was still mapped.
 */
int xensim_vq_detach_unused(xensim_vq *vq, void **token_out);

/** xensim_vq_set_indirect() - allow (default when negotiated) or forbid indirect tables. */
void xensim_vq_set_indirect(xensim_vq *vq, bool on);

/** xensim_vq_set_vcpu() - vCPU used for this queue's QueueNotify writes (default: the vdev's). */
void xensim_vq_set_vcpu(xensim_vq *vq, unsigned int vcpu);

unsigned int xensim_vq_index(const xensim_vq *vq);
unsigned int xensim_vq_num(const xensim_vq *vq);      /* queue size */
unsigned int xensim_vq_num_free(const xensim_vq *vq); /* free descriptors */
bool xensim_vq_is_broken(const xensim_vq *vq);
xensim_vdev *xensim_vq_vdev(xensim_vq *vq); /* NULL for xensim_vq_new() queues */

struct xensim_vq_stats {
	uint64_t added;		   /* chains added */
	uint64_t indirect;	   /* of which through an indirect table */
	uint64_t kicks;		   /* kick_prepare calls that said "notify" */
	uint64_t kicks_suppressed; /* kick_prepare calls that said "don't" */
	uint64_t notifies;	   /* QueueNotify writes (or counted notifies without a device) */
	uint64_t used;		   /* chains collected by get_buf */
	uint64_t irq_waits;	   /* interrupts waited for by xensim_vq_wait() */
	uint64_t unmap_busy;	   /* chains whose unmap found a grant still mapped */
	uint64_t bad_used;	   /* used entries with a bad id (queue broken) */
	uint64_t len_overflow;	   /* used len larger than the chain's writable bytes */
};
void xensim_vq_get_stats(const xensim_vq *vq, struct xensim_vq_stats *out);

/*
 * Raw ring access for hostile-guest tests: write any descriptor, avail entry, index or flag into
 * the real ring memory the device reads, bypassing the driver's bookkeeping. Descriptor
 * addresses are taken as given (tests build grant addresses with xensim_dma_map()). Once a test
 * has written raw entries the driver's own view may be inconsistent with the ring: collect
 * results by reading the used ring directly, and do not mix with xensim_vq_add()/get_buf() on
 * that queue unless the test restores consistency itself.
 */
struct xensim_vq_raw {
	unsigned int num;
	/* Host pointers into the ring (guest RAM), little-endian virtio layout: */
	void *desc;		  /* struct { le64 addr; le32 len; le16 flags; le16 next; }[num] */
	volatile uint16_t *avail; /* [0] flags, [1] idx, [2 + i] ring[i], [2 + num] used_event */
	volatile uint16_t *used;  /* [0] flags, [1] idx; elements follow (used_elem) */
	void *used_ring;	  /* struct { le32 id; le32 len; }[num] */
	volatile uint16_t *avail_event; /* after used.ring[num] */
	/* Device addresses (grant addresses) written to the Queue{Desc,Driver,Device} registers: */
	uint64_t desc_dma, avail_dma, used_dma;
	uint64_t ring_gpa; /* guest physical address of the whole ring allocation */
	size_t ring_bytes;
};

/** xensim_vq_raw() - describe the queue's ring memory (pointers lent until the queue is freed). */
int xensim_vq_raw(xensim_vq *vq, struct xensim_vq_raw *out);

/** xensim_vq_raw_set_desc() - write descriptor @i (i < num, else -EINVAL) verbatim. */
int xensim_vq_raw_set_desc(xensim_vq *vq, unsigned int i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next);

/** xensim_vq_raw_set_avail() - write avail.ring[@slot % num] = @head verbatim. */
void xensim_vq_raw_set_avail(xensim_vq *vq, uint16_t slot, uint16_t head);

/**
 * xensim_vq_raw_set_avail_idx() - publish avail.idx = @idx after a write barrier (so entries
 * written before are visible first), without any validation.
 */
void xensim_vq_raw_set_avail_idx(xensim_vq *vq, uint16_t idx);

/** avail.idx as the ring holds it now. */
uint16_t xensim_vq_raw_avail_idx(xensim_vq *vq);

/** xensim_vq_raw_set_avail_flags() / set_used_event() - write those fields verbatim. */
void xensim_vq_raw_set_avail_flags(xensim_vq *vq, uint16_t flags);
void xensim_vq_raw_set_used_event(xensim_vq *vq, uint16_t val);

/* ------------------------------------------------------------------------------------------ */
/* Guest bounce buffers: guest RAM for test data                                               */

/**
 * xensim_gbuf - a page-aligned, zeroed run of guest RAM with its host pointer, for tests that
 * need request data in guest memory. Alloc/free via xensim_guest_alloc_pages().
 */
struct xensim_gbuf {
	uint64_t gpa;
	void *host;
	size_t len;    /* as requested */
	size_t npages; /* allocated */
};
int xensim_gbuf_alloc(xensim_guest *g, size_t len, struct xensim_gbuf *out);
void xensim_gbuf_free(xensim_guest *g, struct xensim_gbuf *b); /* zero-length b is fine */

/* ------------------------------------------------------------------------------------------ */
/* virtio-blk                                                                                  */

/* Feature bits. */
#define XENSIM_VIRTIO_BLK_F_SIZE_MAX	 1
#define XENSIM_VIRTIO_BLK_F_SEG_MAX	 2
#define XENSIM_VIRTIO_BLK_F_GEOMETRY	 4
#define XENSIM_VIRTIO_BLK_F_RO		 5
#define XENSIM_VIRTIO_BLK_F_BLK_SIZE	 6
#define XENSIM_VIRTIO_BLK_F_FLUSH	 9
#define XENSIM_VIRTIO_BLK_F_TOPOLOGY	 10
#define XENSIM_VIRTIO_BLK_F_CONFIG_WCE	 11
#define XENSIM_VIRTIO_BLK_F_MQ		 12
#define XENSIM_VIRTIO_BLK_F_DISCARD	 13
#define XENSIM_VIRTIO_BLK_F_WRITE_ZEROES 14

/* Everything the driver implements, plus the ring's INDIRECT_DESC and EVENT_IDX. */
#define XENSIM_BLK_DEFAULT_FEATURES                                                                \
	(XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_SIZE_MAX) |                                         \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_SEG_MAX) |                                          \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_GEOMETRY) |                                         \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_RO) |                                               \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_BLK_SIZE) |                                         \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_FLUSH) |                                            \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_TOPOLOGY) |                                         \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_MQ) |                                               \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_DISCARD) |                                          \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_BLK_F_WRITE_ZEROES) |                                     \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC) |                                        \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX))

/* Request types and status values (struct virtio_blk_outhdr / status byte). */
#define XENSIM_VIRTIO_BLK_T_IN		 0
#define XENSIM_VIRTIO_BLK_T_OUT		 1
#define XENSIM_VIRTIO_BLK_T_FLUSH	 4
#define XENSIM_VIRTIO_BLK_T_GET_ID	 8
#define XENSIM_VIRTIO_BLK_T_DISCARD	 11
#define XENSIM_VIRTIO_BLK_T_WRITE_ZEROES 13
#define XENSIM_VIRTIO_BLK_S_OK		 0
#define XENSIM_VIRTIO_BLK_S_IOERR	 1
#define XENSIM_VIRTIO_BLK_S_UNSUPP	 2
#define XENSIM_VIRTIO_BLK_ID_BYTES	 20
#define XENSIM_VIRTIO_BLK_WZ_F_UNMAP	 1 /* discard/write-zeroes segment flag */

typedef struct xensim_blk xensim_blk;

struct xensim_blk_opts {
	unsigned int version;	 /* XENSIM_BLK_OPTS_VERSION */
	uint64_t features;	 /* driver features to offer in negotiation */
	unsigned int nr_queues;	 /* wanted request queues; 0 = all the device offers (num_queues
				    with MQ, else 1), as Linux with enough vCPUs */
	unsigned int queue_size; /* 0 = QueueNumMax */
};
#define XENSIM_BLK_OPTS_VERSION 1
#define XENSIM_BLK_OPTS_INIT                                                                       \
	{                                                                                          \
		.version = XENSIM_BLK_OPTS_VERSION, .features = XENSIM_BLK_DEFAULT_FEATURES        \
	}

/** Device configuration as read at probe (fields whose feature was not negotiated are 0). */
struct xensim_blk_config {
	uint64_t capacity; /* 512-byte sectors */
	uint32_t size_max, seg_max, blk_size;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint16_t num_queues; /* as the device reports with MQ, else 1 */
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	bool read_only; /* VIRTIO_BLK_F_RO negotiated */
};

/**
 * xensim_blk_new() - probe and initialise a virtio-blk device (virtblk_probe): negotiate
 * @opts->features (NULL opts = XENSIM_BLK_OPTS_INIT), read the config, set up the request
 * queues, DRIVER_OK. Returns 0; -ENODEV if the device is not a block device; the errors of
 * xensim_vdev_probe/negotiate/setup_queues.
 */
int xensim_blk_new(xensim_blk **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		   uint32_t irq, const struct xensim_blk_opts *opts);

/** xensim_blk_free() - remove the device (see xensim_vdev_free(); same returns). NULL is fine. */
int xensim_blk_free(xensim_blk *blk);

const struct xensim_blk_config *xensim_blk_config(const xensim_blk *blk);
unsigned int xensim_blk_nr_queues(const xensim_blk *blk);
xensim_vdev *xensim_blk_vdev(xensim_blk *blk);

/** One discard / write-zeroes range (struct virtio_blk_discard_write_zeroes). */
struct xensim_blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags; /* XENSIM_VIRTIO_BLK_WZ_F_UNMAP */
};

/**
 * struct xensim_blk_req - one asynchronous request, owned by the caller until completed.
 * Descriptors are laid out as Linux's virtio_queue_rq(): the 16-byte header (device-readable),
 * then the data segments (device-readable for OUT/DISCARD/WRITE_ZEROES, writable for IN/GET_ID),
 * then the 1-byte status (writable) — each its own descriptor (an indirect table when
 * negotiated). Header, status and range table live in driver memory, not in @sg.
 */
struct xensim_blk_req {
	/* in */
	uint32_t type;		    /* XENSIM_VIRTIO_BLK_T_* */
	uint64_t sector;	    /* IN/OUT; 0 otherwise */
	const struct xensim_sg *sg; /* data (IN/OUT/GET_ID), in guest RAM */
	unsigned int nsg;
	const struct xensim_blk_range *ranges; /* DISCARD/WRITE_ZEROES */
	unsigned int nranges;
	void *priv; /* caller's */
	/* out, valid after completion */
	uint8_t status;	   /* XENSIM_VIRTIO_BLK_S_*, 0xff if the device wrote none */
	uint32_t used_len; /* used length the device reported */
	int error;	   /* 0, or -EBUSY from the unmap ("grant still in use") */
	/* private to the driver */
	unsigned int slot_;
};

/**
 * xensim_blk_submit() - queue @req on request queue @q; with @kick, kick the queue
 * (notification suppression applies). Types other than the XENSIM_VIRTIO_BLK_T_* above are sent
 * as they are, with their data device-readable (to see the device answer UNSUPP).
 * Returns 0; -EINVAL (bad @q, more data segments than seg_max (1 without SEG_MAX), IN/OUT/GET_ID
 * without data, FLUSH with data, DISCARD/WRITE_ZEROES without ranges or with more than
 * max_*_seg); -EOPNOTSUPP (FLUSH/DISCARD/WRITE_ZEROES not negotiated); -EROFS (write to a
 * read-only device); -ENOSPC (queue full: complete some first); the errors of xensim_vq_add().
 * If the kick fails the request stays queued and the kick's error is returned.
 */
int xensim_blk_submit(xensim_blk *blk, unsigned int q, struct xensim_blk_req *req, bool kick);

/** xensim_blk_kick() - kick request queue @q. Returns 1 notified, 0 suppressed, -errno. */
int xensim_blk_kick(xensim_blk *blk, unsigned int q);

/**
 * xensim_blk_complete() - collect one completed request of queue @q, waiting up to
 * @timeout_ms (0: don't wait) for the device's interrupt. Fills the request's out fields.
 * Returns 1 with *req_out; 0 if nothing completed and @timeout_ms was 0; -ETIMEDOUT; -EIO.
 * A completion whose unmap failed is returned normally with req->error = -EBUSY.
 */
int xensim_blk_complete(xensim_blk *blk, unsigned int q, int timeout_ms,
			struct xensim_blk_req **req_out);

/** Requests submitted on queue @q and not completed yet. */
unsigned int xensim_blk_inflight(const xensim_blk *blk, unsigned int q);

/*
 * Synchronous helpers (submit + wait), on queue @q, with the data bounced through fresh guest
 * pages (split into size_max-sized segments when SIZE_MAX is negotiated). They return 0 when the
 * status is OK, -EIO for S_IOERR, -EOPNOTSUPP for S_UNSUPP (or the feature not negotiated),
 * -EPROTO for an unknown status or a status byte the device did not write, -EBUSY from the unmap,
 * -ETIMEDOUT after @timeout_ms (the request is left to the driver, which frees it when the
 * device completes it or at xensim_blk_free()), -EINPROGRESS if asynchronous requests are in
 * flight on @q (their completions would be mixed up), -EINVAL (@len 0 or not a multiple of 512,
 * too many segments).
 */
int xensim_blk_read(xensim_blk *blk, unsigned int q, uint64_t sector, void *buf, size_t len,
		    int timeout_ms);
int xensim_blk_write(xensim_blk *blk, unsigned int q, uint64_t sector, const void *buf, size_t len,
		     int timeout_ms);
int xensim_blk_flush(xensim_blk *blk, unsigned int q, int timeout_ms);
int xensim_blk_discard(xensim_blk *blk, unsigned int q, uint64_t sector, uint32_t num_sectors,
		       int timeout_ms);
int xensim_blk_write_zeroes(xensim_blk *blk, unsigned int q, uint64_t sector, uint32_t num_sectors,
			    bool unmap, int timeout_ms);
/** @id receives XENSIM_VIRTIO_BLK_ID_BYTES bytes (not necessarily NUL-terminated). */
int xensim_blk_get_id(xensim_blk *blk, unsigned int q, char id[XENSIM_VIRTIO_BLK_ID_BYTES],
		      int timeout_ms);

/* ------------------------------------------------------------------------------------------ */
/* virtio-net                                                                                  */

#define XENSIM_VIRTIO_NET_F_CSUM       0
#define XENSIM_VIRTIO_NET_F_GUEST_CSUM 1
#define XENSIM_VIRTIO_NET_F_MTU	       3
#define XENSIM_VIRTIO_NET_F_MAC	       5
#define XENSIM_VIRTIO_NET_F_GUEST_TSO4 7
#define XENSIM_VIRTIO_NET_F_GUEST_TSO6 8
#define XENSIM_VIRTIO_NET_F_HOST_TSO4  11
#define XENSIM_VIRTIO_NET_F_HOST_TSO6  12
#define XENSIM_VIRTIO_NET_F_MRG_RXBUF  15
#define XENSIM_VIRTIO_NET_F_STATUS     16

#define XENSIM_NET_DEFAULT_FEATURES                                                                \
	(XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_CSUM) |                                             \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_GUEST_CSUM) |                                       \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_MTU) | XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_MAC) | \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_MRG_RXBUF) |                                        \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_STATUS) |                                           \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC) |                                        \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX))

#define XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define XENSIM_VIRTIO_NET_HDR_F_DATA_VALID 2
#define XENSIM_VIRTIO_NET_HDR_GSO_NONE	   0
#define XENSIM_VIRTIO_NET_HDR_GSO_TCPV4	   1
#define XENSIM_VIRTIO_NET_HDR_GSO_UDP	   3
#define XENSIM_VIRTIO_NET_HDR_GSO_TCPV6	   4
#define XENSIM_VIRTIO_NET_HDR_GSO_ECN	   0x80
#define XENSIM_VIRTIO_NET_S_LINK_UP	   1
#define XENSIM_VIRTIO_NET_HDR_LEN	   12 /* struct virtio_net_hdr_mrg_rxbuf (VERSION_1) */

/** struct virtio_net_hdr_v1 in host byte order. */
struct xensim_net_hdr {
	uint8_t flags;	  /* XENSIM_VIRTIO_NET_HDR_F_* */
	uint8_t gso_type; /* XENSIM_VIRTIO_NET_HDR_GSO_* */
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint16_t num_buffers; /* rx: buffers the frame used; ignored on tx (sent as 0) */
};

typedef struct xensim_net xensim_net;

struct xensim_net_opts {
	unsigned int version; /* XENSIM_NET_OPTS_VERSION */
	uint64_t features;
	unsigned int queue_size; /* 0 = QueueNumMax */
	unsigned int rx_buf_len; /* bytes per rx buffer incl. header; 0 = 1536 with MRG_RXBUF,
				    12 + 1518 without (Linux's "small" buffers) */
	unsigned int rx_bufs;	 /* buffers kept posted; 0 = queue size */
};
#define XENSIM_NET_OPTS_VERSION 1
#define XENSIM_NET_OPTS_INIT                                                                       \
	{                                                                                          \
		.version = XENSIM_NET_OPTS_VERSION, .features = XENSIM_NET_DEFAULT_FEATURES        \
	}

/**
 * xensim_net_new() - probe a virtio-net device: negotiate, set up receiveq0 (0) and
 * transmitq0 (1), DRIVER_OK, then post rx buffers (one descriptor each) and kick.
 * Control queue and multiqueue are not implemented (never negotiated).
 * Returns 0, -ENODEV (not a net device), probe/negotiate/setup errors, -ENOMEM.
 */
int xensim_net_new(xensim_net **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		   uint32_t irq, const struct xensim_net_opts *opts);
int xensim_net_free(xensim_net *net); /* as xensim_vdev_free() */

xensim_vdev *xensim_net_vdev(xensim_net *net);

/** MAC from config space (-EOPNOTSUPP unless VIRTIO_NET_F_MAC was negotiated). */
int xensim_net_mac(xensim_net *net, uint8_t mac[6]);

/** Status from config space (-EOPNOTSUPP unless VIRTIO_NET_F_STATUS was negotiated). */
int xensim_net_status(xensim_net *net, uint16_t *status_out);

/**
 * xensim_net_send() - transmit one frame: the 12-byte header (flags, gso and csum fields from
 * @hdr, NULL = all zero) and the frame in one device-readable buffer, as Linux does with
 * VERSION_1 when the header fits in front of the data. Completed transmissions are reclaimed
 * first; if the queue is full, waits up to @timeout_ms for room (-ETIMEDOUT).
 * Kicks (subject to suppression). Returns 0, -EINVAL (@len 0 or > 65550), -EBUSY (a previous tx
 * buffer's grant was still mapped; the frame was still sent), vq errors.
 */
int xensim_net_send(xensim_net *net, const struct xensim_net_hdr *hdr, const void *frame,
		    size_t len, int timeout_ms);

/**
 * xensim_net_send_sg() - transmit a frame already in guest RAM: the header in its own
 * descriptor (from driver memory), then one descriptor per @sg element (1..63 elements, else
 * -EINVAL; an indirect table when negotiated). Otherwise as xensim_net_send().
 */
int xensim_net_send_sg(xensim_net *net, const struct xensim_net_hdr *hdr,
		       const struct xensim_sg *sg, unsigned int nsg, int timeout_ms);

/**
 * xensim_net_tx_reclaim() - collect completed tx buffers without sending. Returns the number
 * reclaimed (≥ 0), or -EBUSY if any unmap found a grant still mapped.
 */
int xensim_net_tx_reclaim(xensim_net *net);

/**
 * xensim_net_recv() - receive one frame, waiting up to @timeout_ms.
 * Copies the frame (without the header) into @buf (at most @cap bytes; the rest is dropped and
 * *len_out still reports the full length), fills @hdr (may be NULL). With MRG_RXBUF a frame
 * spanning num_buffers buffers is reassembled; each consumed buffer is reposted.
 * Malformed frames (used len shorter than the header, num_buffers 0 or more than arrive, total
 * beyond 65535 + header) are dropped and counted (xensim_net_get_stats()), as Linux does, and
 * the wait continues. Returns 0, -ETIMEDOUT, -EBUSY (an rx buffer's grant was still mapped: the
 * frame is still delivered), vq errors.
 */
int xensim_net_recv(xensim_net *net, struct xensim_net_hdr *hdr, void *buf, size_t cap,
		    size_t *len_out, int timeout_ms);

struct xensim_net_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t rx_length_errors;   /* buffer shorter than the header / frame too long */
	uint64_t rx_missing_buffers; /* num_buffers promised more buffers than arrived / 0 */
	uint64_t rx_reposted;
};
void xensim_net_get_stats(const xensim_net *net, struct xensim_net_stats *out);

/* ------------------------------------------------------------------------------------------ */
/* virtio-console                                                                              */

#define XENSIM_VIRTIO_CONSOLE_F_SIZE	    0
#define XENSIM_VIRTIO_CONSOLE_F_MULTIPORT   1
#define XENSIM_VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define XENSIM_CONSOLE_DEFAULT_FEATURES                                                            \
	(XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_CONSOLE_F_SIZE) |                                         \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_CONSOLE_F_EMERG_WRITE) |                                  \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX))

typedef struct xensim_console xensim_console;

struct xensim_console_opts {
	unsigned int version; /* XENSIM_CONSOLE_OPTS_VERSION */
	uint64_t features;    /* MULTIPORT is never negotiated (not implemented) */
	unsigned int queue_size;
	unsigned int rx_buf_len; /* 0 = 4096 (Linux posts PAGE_SIZE buffers) */
	unsigned int rx_bufs;	 /* 0 = queue size */
};
#define XENSIM_CONSOLE_OPTS_VERSION 1
#define XENSIM_CONSOLE_OPTS_INIT                                                                   \
	{                                                                                          \
		.version = XENSIM_CONSOLE_OPTS_VERSION,                                            \
		.features = XENSIM_CONSOLE_DEFAULT_FEATURES                                        \
	}

/**
 * xensim_console_new() - probe a virtio-console device: receiveq0 (0), transmitq0 (1),
 * DRIVER_OK, post receive buffers and kick. Returns as xensim_net_new().
 */
int xensim_console_new(xensim_console **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		       uint32_t irq, const struct xensim_console_opts *opts);
int xensim_console_free(xensim_console *con);

xensim_vdev *xensim_console_vdev(xensim_console *con);

/**
 * xensim_console_write() - send @len bytes on port 0 (in chunks of at most 4096 bytes, one
 * descriptor each) and wait until the device has used them, as hvc's put_chars does.
 * Returns 0, -ETIMEDOUT, -EBUSY (grant still mapped), vq errors.
 */
int xensim_console_write(xensim_console *con, const void *buf, size_t len, int timeout_ms);

/**
 * xensim_console_read() - read up to @cap bytes received on port 0, waiting up to @timeout_ms
 * for the first byte. Returns the number of bytes copied (> 0), -ETIMEDOUT, vq errors.
 * Buffers are reposted once fully consumed.
 */
long xensim_console_read(xensim_console *con, void *buf, size_t cap, int timeout_ms);

/** Console size from config (-EOPNOTSUPP unless VIRTIO_CONSOLE_F_SIZE was negotiated). */
int xensim_console_size(xensim_console *con, uint16_t *cols, uint16_t *rows);

/** Emergency write of one character (-EOPNOTSUPP unless EMERG_WRITE was negotiated). */
int xensim_console_emerg_write(xensim_console *con, uint32_t ch);

#ifdef __cplusplus
}
#endif

#endif /* XENSIM_VIRTIO_H */
