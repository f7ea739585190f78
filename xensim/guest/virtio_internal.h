/* SPDX-License-Identifier: MIT */
/*
 * virtio_internal.h — private state of xensim's guest-side virtio drivers (virtio_*.c).
 * Not installed. See xensim-virtio.h for the public contract.
 */
#ifndef XENSIM_VIRTIO_INTERNAL_H
#define XENSIM_VIRTIO_INTERNAL_H

#include <endian.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "xensim-virtio.h"

#define VIRTIO_MMIO_MAGIC   0x74726976u /* "virt" */
#define VIRTIO_MMIO_ALIGN   4096u	/* Linux's VIRTIO_MMIO_VRING_ALIGN (PAGE_SIZE) */
#define VIRTIO_MAX_QUEUES   64u
#define VIRTIO_MAX_QUEUE_SZ 32768u

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Barriers. The device is another thread or process sharing guest RAM through a grant mapping,
 * so these are the SMP barriers Linux uses with weak_barriers (virtio_mb/rmb/wmb).
 */
#define virtio_mb()  atomic_thread_fence(memory_order_seq_cst)
#define virtio_rmb() atomic_thread_fence(memory_order_acquire)
#define virtio_wmb() atomic_thread_fence(memory_order_release)

/* Ring memory is shared with the device: every access is a single, untorn load or store. */
#define RING_LOAD(p)	 __atomic_load_n((p), __ATOMIC_RELAXED)
#define RING_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* The descriptor table entry as the device reads it (little-endian). */
struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Driver-private shadow of one descriptor: what was mapped, never read back from the ring. */
struct desc_extra {
	uint64_t dma; /* 0: nothing mapped (the slot points at an indirect table) */
	uint32_t len;
	uint16_t flags;
	uint16_t next; /* free-list / chain link */
};

/* An indirect table: guest pages, its RO mapping, and the shadows of its entries. */
struct indir_table {
	uint64_t gpa;
	uint64_t dma;
	size_t npages;
	unsigned int n;
	struct desc_extra extra[];
};

struct desc_state {
	void *token; /* NULL: not a head in flight */
	struct indir_table *indir;
	uint16_t ndescs; /* ring descriptors used by the chain */
	uint32_t in_len; /* device-writable bytes, for used-len checks */
};

struct xensim_vq {
	xensim_vdev *vd; /* NULL for xensim_vq_new() queues */
	xensim_guest *g;
	uint32_t backend_domid;
	unsigned int index, num, vcpu;
	bool event, indirect_ok, use_indirect, broken;
	bool *dma_broken;    /* the device's "grant still in use" flag */
	bool own_dma_broken; /* storage for it when there is no device */

	/* Ring: one coherent allocation in Linux's vring_init() layout. */
	uint64_t ring_dma, ring_gpa;
	size_t ring_bytes;
	void *ring;
	struct vring_desc_le *desc;
	uint16_t *avail;      /* flags, idx, ring[num], used_event */
	uint16_t *used;	      /* flags, idx, then elements */
	uint32_t *used_elems; /* id, len pairs */
	uint16_t *avail_event;
	size_t used_off;

	/* Driver state (Linux's vring_virtqueue.split). */
	uint16_t avail_idx_shadow, avail_flags_shadow, last_used_idx, num_added;
	uint16_t free_head;
	unsigned int num_free;
	struct desc_extra *extra;
	struct desc_state *state;
	struct desc_extra **scratch; /* one chain's descriptors while adding */

	/* Recycled one-page indirect tables (their guest pages). */
	uint64_t *page_cache;
	unsigned int npage_cache;

	struct xensim_vq_stats stats;
};

struct xensim_vdev {
	xensim_guest *g;
	uint32_t backend_domid;
	uint64_t base;
	uint32_t irq;
	unsigned int vcpu;
	uint32_t version, device_id, vendor_id;
	uint64_t device_features, features;
	bool negotiated, dma_broken;
	unsigned int nvqs;
	xensim_vq **vqs;
	uint64_t config_changes;
};

/* Write one descriptor in the device's byte order. */
static inline void vring_write_desc(struct vring_desc_le *d, const struct desc_extra *x)
{
	d->addr = htole64(x->dma);
	d->len = htole32(x->len);
	d->flags = htole16(x->flags);
	d->next = htole16(x->next);
}

/* virtio_mmio.c */
int vdev_read32(xensim_vdev *vd, uint32_t off, uint32_t *val);
int vdev_write32(xensim_vdev *vd, uint32_t off, uint32_t val);

/* virtio_ring.c: ring creation/destruction on behalf of the transport. */
int vq_create(xensim_vq **out, xensim_guest *g, uint32_t backend_domid, unsigned int num,
	      uint64_t features, xensim_vdev *vd, unsigned int index);
/* Unmap queued buffers and free the ring; returns 0 or -EBUSY. */
int vq_destroy(xensim_vq *vq);
/* Linux's vring_size() for @num with the virtio-mmio alignment; offset of the used ring. */
size_t vq_ring_bytes(unsigned int num, size_t *used_off);

/* virtio_util.c */
int64_t vtime_ms(void);
/* Remaining milliseconds until @deadline_ms (-1 waits forever: returns -1). */
int vtime_left(int64_t deadline_ms, int timeout_ms);
int64_t vtime_deadline(int timeout_ms);

#endif /* XENSIM_VIRTIO_INTERNAL_H */
