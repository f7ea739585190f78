/* SPDX-License-Identifier: MIT */
/*
 * lib/dev_priv.h — internals of the device object (dev.c: object, control plane; dev_queue.c:
 * request pools, ring instances, data plane, completion, drain). Not installed.
 *
 * Objects:
 *  - struct vxen_dev: one device. Owns the register file, the grant-DMA context, the queues,
 *    the wake-up eventfd and the lock that guards what other threads touch (the completion
 *    list, the staged config, the orphan flag).
 *  - struct dev_queue: one virtqueue slot of the device type, alive as long as the device: its
 *    settings, its request pool, its counters, and the ring instance the driver enabled.
 *  - struct qinst: one enabled ring: the three ring mappings, the gdma queue and the vxen_vq.
 *    Created at QueueReady=1, destroyed at reset/disable once none of its requests is in
 *    flight. An instance with requests still in flight after the drain timeout becomes a
 *    "zombie": detached from its queue slot, kept (mappings included) until its last request
 *    is completed. Requests point at their instance, not at the slot.
 *  - struct dev_req: a pool slot: the public struct vxen_req plus bookkeeping.
 */
#ifndef VXEN_DEV_PRIV_H
#define VXEN_DEV_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-xen/dev.h>
#include <virtio-xen/gdma.h>
#include <virtio-xen/mmio.h>

#include "internal.h"

#define DEV_MMIO_SIZE  0x200u
#define DEV_RING_AREAS 3 /* descriptor table, driver (avail) area, device (used) area */

#define dev_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct dev_queue;

struct qinst {
	struct dev_queue *q;
	vxen_vq *vq;
	vxen_gdma_queue *gq;		      /* NULL with a custom memory interface */
	vxen_gdma_ring *ring[DEV_RING_AREAS]; /* grant DMA ring mappings */
	void *ring_ptr[DEV_RING_AREAS];	      /* custom memory ring mappings */
	size_t ring_len[DEV_RING_AREAS];
	unsigned int inflight; /* its requests owned by the device */
	bool dirty;	       /* pushed entries not yet published */
	bool zombie;
	struct qinst *next_zombie;
};

struct dev_req {
	struct vxen_req req; /* what the device sees */
	struct dev_queue *q;
	struct qinst *inst;   /* ring instance it was popped from; NULL while free */
	struct dev_req *next; /* free list or completion list */
	void *priv_area;      /* priv_size bytes of device context, or NULL */
	uint32_t written;     /* set by a queued completion */
};

struct dev_queue {
	struct vxen_dev *dev;
	unsigned int index;
	struct vxen_dev_queue_config cfg; /* effective settings (defaults applied) */
	unsigned int iov_cap;

	/* request pool: one allocation holding the slots and every array */
	struct dev_req *slots;
	struct dev_req *free_list;
	unsigned int nr_free;

	struct qinst *inst; /* ring enabled by the driver, or NULL */
	atomic_bool wake;   /* vxen_dev_queue_wake() from another thread */
	bool pending;	    /* serve at the next turn: kicked, budget left work, slots freed */
	bool blocked;	    /* stopped on an empty pool: a completion makes it pending */
	bool broken;	    /* ring corrupt (until the next reset) */

	struct vxen_dev_queue_stats stats; /* vq part: instances already destroyed */
};

struct vxen_dev {
	struct vxen_dev_ops ops;
	struct vxen_dev_queue_config *qcfg; /* copy of ops.queues */
	struct vxen_dev_config cfg;
	char *name;
	void *payload;

	vxen_mmio *mmio;
	struct vxen_mmio_ops mmio_ops;
	vxen_gdma *gdma;	 /* NULL with a custom memory interface */
	vxen_ioreq_range *range; /* NULL without a server */
	uint64_t offered;	 /* features offered */

	unsigned int nr_queues;
	struct dev_queue *queues;
	struct qinst *zombies;
	unsigned int nr_zombies;

	int evfd;
	atomic_bool signalled;	 /* an eventfd write is pending: later wakes skip the syscall */
	atomic_bool queue_wakes; /* some queue's wake flag is set */
	atomic_bool cfg_dirty;	 /* staged config waits to be applied (checked per MMIO access) */

	/* guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dev_req *done_head, *done_tail; /* completions queued from other threads */
	uint8_t *cfg_shadow;		       /* config space as the device set it */
	bool cfg_changed;		       /* a config change interrupt is owed */
	bool draining;			       /* a drain waits on cond */
	bool orphaned;			       /* freed by the app; completions free what is left */

	bool resetting; /* inside a reset/teardown: no pops, no notifications */
	bool dirty;	/* some instance needs a publish */
	struct vxen_dev_stats stats;
	struct vxen_ratelimit rl;
};

/* The device whose callback is running on this thread (set around every entry point). */
extern __thread struct vxen_dev *vxen_dev_current;

/* dev_queue.c */
int dev_queues_init(struct vxen_dev *dev);
void dev_queues_fini(struct vxen_dev *dev);
int dev_queue_enable(struct vxen_dev *dev, unsigned int qidx,
		     const struct vxen_mmio_queue_info *info);
void dev_queue_disable(struct vxen_dev *dev, unsigned int qidx);
void dev_reset_queues(struct vxen_dev *dev, bool call_hook);
void dev_take_completions(struct vxen_dev *dev);
bool dev_serve_queues(struct vxen_dev *dev);
void dev_publish(struct vxen_dev *dev);
void dev_complete_now(struct vxen_dev *dev, struct dev_req *r, uint32_t written);
bool dev_orphan_complete_locked(struct vxen_dev *dev, struct dev_req *r, uint32_t written);
void dev_queue_accumulate(struct vxen_dev_queue_stats *st, const struct qinst *inst);

/* dev.c */
bool dev_live(const struct vxen_dev *dev);
void dev_wake(struct vxen_dev *dev);
void dev_destroy(struct vxen_dev *dev);

#endif /* VXEN_DEV_PRIV_H */
