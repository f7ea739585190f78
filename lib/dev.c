/* SPDX-License-Identifier: MIT */
/*
 * lib/dev.c — the device object: creation and teardown, the glue between the register file
 * (L3), the ioreq range (L4) and the queues, config space, the device thread's process turn and
 * the thread-safe completion entry point. Queue internals are in dev_queue.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dev_priv.h"

__thread struct vxen_dev *vxen_dev_current;

/* Transport feature bits (24..49) belong to the library; a device type may not offer them. */
#define TRANSPORT_FEATURES    (((1ULL << 50) - 1) & ~((1ULL << 24) - 1))
#define LIB_OPTIONAL_FEATURES ((1ULL << VXEN_F_INDIRECT_DESC) | (1ULL << VXEN_F_EVENT_IDX))

/*
 * Queues are served while the driver has set DRIVER_OK and not FAILED. DEVICE_NEEDS_RESET alone
 * does not stop the healthy queues: one corrupt ring must not take the others down.
 */
bool dev_live(const struct vxen_dev *dev)
{
	uint32_t s = vxen_mmio_status(dev->mmio);

	return (s & VXEN_MMIO_S_DRIVER_OK) && !(s & VXEN_MMIO_S_FAILED);
}

/* ------------------------------------------------------------------------------------------ */
/* Wake-ups                                                                                    */

void dev_wake(struct vxen_dev *dev)
{
	uint64_t one = 1;

	/* One eventfd write per batch of wake-ups: cleared by process before it reads the fd. */
	if (atomic_exchange(&dev->signalled, true))
		return;
	if (write(dev->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vxen_log(LOG_ERR, "%s: eventfd write: %s", dev->name, strerror(errno));
}

VXEN_EXPORT void vxen_dev_wake(vxen_dev *dev)
{
	dev_wake(dev);
}

static void clear_wake(struct vxen_dev *dev)
{
	uint64_t v;

	/* Read the fd first, then clear the flag. A wake racing with us either still sees the
	 * flag set (its work was queued before, and this process call takes it) or sees it clear
	 * and writes the fd again. Clearing first would let a racing wake's write be swallowed
	 * by our read while the flag stays set: every later wake would then be skipped. */
	if (read(dev->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vxen_log(LOG_ERR, "%s: eventfd read: %s", dev->name, strerror(errno));
	atomic_store(&dev->signalled, false);
}

/* ------------------------------------------------------------------------------------------ */
/* Config space                                                                                */

static bool config_range_ok(const struct vxen_dev *dev, unsigned int off, unsigned int len)
{
	return off <= dev->ops.config_size && len <= dev->ops.config_size - off;
}

/* Device thread: bring the register file's config space up to the shadow, send owed changes. */
static void apply_config(struct vxen_dev *dev)
{
	bool changed;

	if (!atomic_load(&dev->cfg_dirty))
		return;
	pthread_mutex_lock(&dev->lock);
	atomic_store(&dev->cfg_dirty, false);
	if (dev->ops.config_size)
		vxen_mmio_config_set(dev->mmio, 0, dev->cfg_shadow, dev->ops.config_size);
	changed = dev->cfg_changed;
	dev->cfg_changed = false;
	pthread_mutex_unlock(&dev->lock);
	if (changed) {
		dev->stats.config_updates++;
		vxen_mmio_config_changed(dev->mmio);
	}
}

VXEN_EXPORT int vxen_dev_config_set(vxen_dev *dev, unsigned int offset, const void *buf,
				    unsigned int len)
{
	if (!dev || (!buf && len) || !config_range_ok(dev, offset, len))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	memcpy(dev->cfg_shadow + offset, buf, len);
	atomic_store(&dev->cfg_dirty, true);
	pthread_mutex_unlock(&dev->lock);
	if (vxen_dev_current == dev)
		apply_config(dev);
	else
		dev_wake(dev);
	return 0;
}

VXEN_EXPORT int vxen_dev_config_get(vxen_dev *dev, unsigned int offset, void *buf, unsigned int len)
{
	if (!dev || (!buf && len) || !config_range_ok(dev, offset, len))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	memcpy(buf, dev->cfg_shadow + offset, len);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

VXEN_EXPORT void vxen_dev_config_changed(vxen_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->cfg_changed = true;
	atomic_store(&dev->cfg_dirty, true);
	pthread_mutex_unlock(&dev->lock);
	if (vxen_dev_current == dev)
		apply_config(dev);
	else
		dev_wake(dev);
}

/* ------------------------------------------------------------------------------------------ */
/* Register file callbacks (device thread, inside an MMIO access)                              */

static int mmio_queue_enable(unsigned int qidx, const struct vxen_mmio_queue_info *q, void *p)
{
	return dev_queue_enable(p, qidx, q);
}

static void mmio_queue_disable(unsigned int qidx, void *p)
{
	dev_queue_disable(p, qidx);
}

static void mmio_notify(unsigned int qidx, void *p)
{
	struct vxen_dev *dev = p;
	struct dev_queue *q = &dev->queues[qidx];

	q->stats.kicks++;
	/* Serve the queue from vxen_dev_process(), not here: the guest's vCPU waits for this
	 * access to be answered. */
	if (!q->pending) {
		q->pending = true;
		dev_wake(dev);
	}
}

static void mmio_reset(void *p)
{
	struct vxen_dev *dev = p;

	dev->stats.resets++;
	dev_reset_queues(dev, true);
}

static int mmio_features_ok(uint64_t features, void *p)
{
	struct vxen_dev *dev = p;

	if (!dev->ops.features_ok)
		return 0;
	return dev->ops.features_ok(dev, features, dev->payload);
}

static void mmio_driver_ok(void *p)
{
	struct vxen_dev *dev = p;

	if (dev->ops.start)
		dev->ops.start(dev, dev->payload);
	/* Kicks that came before DRIVER_OK are replayed by the register file; pull queues also
	 * learn here that buffers may already wait. */
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		if (dev->queues[i].inst)
			dev->queues[i].pending = true;
	dev_wake(dev);
}

static int mmio_config_write(unsigned int off, const void *buf, unsigned int len, void *p)
{
	struct vxen_dev *dev = p;

	if (!dev->ops.config_write)
		return -EROFS;
	return dev->ops.config_write(dev, off, buf, len, dev->payload);
}

static void mmio_interrupt(int level, void *p)
{
	struct vxen_dev *dev = p;
	int r = 0;

	if (dev->cfg.server) {
		if (level)
			r = vxen_ioreq_irq_raise(dev->cfg.server, &dev->cfg.irq);
	} else if (dev->cfg.interrupt) {
		dev->cfg.interrupt(dev, level, dev->payload);
	}
	if (!level)
		return;
	if (r)
		dev->stats.interrupt_errors++;
	else
		dev->stats.interrupts++;
}

/* ------------------------------------------------------------------------------------------ */
/* Guest accesses                                                                              */

static int guest_access(struct vxen_dev *dev, bool write, uint64_t off, unsigned int size,
			uint64_t *val)
{
	struct vxen_dev *prev = vxen_dev_current;
	int r;

	vxen_dev_current = dev;
	/* Config updates staged by other threads must be visible to this very access. */
	apply_config(dev);
	if (write)
		r = vxen_mmio_write(dev->mmio, off, size, *val);
	else
		r = vxen_mmio_read(dev->mmio, off, size, val);
	vxen_dev_current = prev;
	return r;
}

static int range_read(uint64_t off, unsigned int size, uint64_t *val, void *p)
{
	return guest_access(p, false, off, size, val);
}

static int range_write(uint64_t off, unsigned int size, uint64_t val, void *p)
{
	return guest_access(p, true, off, size, &val);
}

static const struct vxen_ioreq_range_ops range_ops = {
	.version = VXEN_IOREQ_RANGE_OPS_VERSION,
	.read = range_read,
	.write = range_write,
};

VXEN_EXPORT int vxen_dev_mmio_read(vxen_dev *dev, uint64_t offset, unsigned int size, uint64_t *val)
{
	if (!dev || !val)
		return -EINVAL;
	return guest_access(dev, false, offset, size, val);
}

VXEN_EXPORT int vxen_dev_mmio_write(vxen_dev *dev, uint64_t offset, unsigned int size, uint64_t val)
{
	if (!dev)
		return -EINVAL;
	return guest_access(dev, true, offset, size, &val);
}

/* ------------------------------------------------------------------------------------------ */
/* Creation                                                                                    */

static bool queue_config_ok(const struct vxen_dev_ops *ops, const struct vxen_dev_queue_config *q)
{
	if (q->size_max > VXEN_VQ_MAX_SIZE || (q->size_max & (q->size_max - 1)))
		return false;
	if (q->flags & ~VXEN_DEV_Q_PULL)
		return false;
	if (q->flags & VXEN_DEV_Q_PULL)
		return ops->queue_notify != NULL;
	return ops->handle_request != NULL;
}

static const char *ops_error(const struct vxen_dev_ops *ops)
{
	static const struct vxen_dev_queue_config dflt;

	if (!ops || ops->version != VXEN_DEV_OPS_VERSION)
		return "unknown ops version";
	if (!ops->device_id)
		return "device id 0";
	if (!ops->num_queues || ops->num_queues > VXEN_MMIO_QUEUES_MAX)
		return "queue count out of range";
	if (ops->config_size > VXEN_MMIO_CONFIG_MAX)
		return "config space too large";
	if (ops->features & TRANSPORT_FEATURES)
		return "device offers transport feature bits (24..49)";
	for (unsigned int i = 0; i < ops->num_queues; i++)
		if (!queue_config_ok(ops, ops->queues ? &ops->queues[i] : &dflt))
			return "bad queue config (size, flags, or missing request callback)";
	return NULL;
}

static const char *cfg_error(const struct vxen_dev_config *cfg)
{
	if (!cfg || cfg->version != VXEN_DEV_CONFIG_VERSION)
		return "unknown config version";
	if (cfg->base > UINT64_MAX - DEV_MMIO_SIZE + 1 || (cfg->base & 3))
		return "bad MMIO base";
	if (cfg->irq.kind > VXEN_IRQ_MSI)
		return "bad interrupt kind";
	if (cfg->server && vxen_ioreq_server_domid(cfg->server) != cfg->domid)
		return "the ioreq server serves another domain";
	if (cfg->mem &&
	    (cfg->mem->version != VXEN_DEV_MEM_VERSION || !cfg->mem->ops || !cfg->mem->ring_map))
		return "bad memory interface";
	return NULL;
}

static uint64_t offered_features(const struct vxen_dev *dev)
{
	uint64_t f = dev->ops.features | (1ULL << VXEN_F_VERSION_1);

	if (dev->cfg.grants)
		f |= 1ULL << VXEN_F_ACCESS_PLATFORM;
	return f | (LIB_OPTIONAL_FEATURES & ~dev->ops.features_clear);
}

static int copy_in(struct vxen_dev *dev, const struct vxen_dev_ops *ops,
		   const struct vxen_dev_config *cfg)
{
	char buf[96];

	dev->ops = *ops;
	dev->cfg = *cfg;
	dev->nr_queues = ops->num_queues;
	dev->qcfg = calloc(ops->num_queues, sizeof(*dev->qcfg));
	if (!dev->qcfg)
		return -ENOMEM;
	if (ops->queues)
		memcpy(dev->qcfg, ops->queues, ops->num_queues * sizeof(*dev->qcfg));
	dev->ops.queues = dev->qcfg;
	dev->ops.name = NULL; /* not kept: only used for the instance name below */
	if (cfg->name)
		dev->name = strdup(cfg->name);
	else {
		snprintf(buf, sizeof(buf), "d%" PRIu32 "-%s@%#" PRIx64, cfg->domid,
			 ops->name ? ops->name : "virtio", cfg->base);
		dev->name = strdup(buf);
	}
	dev->cfg.name = dev->name;
	dev->cfg_shadow = calloc(1, ops->config_size + 1);
	if (!dev->name || !dev->cfg_shadow)
		return -ENOMEM;
	return 0;
}

static int sync_init(struct vxen_dev *dev)
{
	pthread_condattr_t ca;
	int r;

	dev->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->evfd < 0)
		return -errno;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&dev->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r)
		return -r;
	pthread_mutex_init(&dev->lock, NULL);
	return 0;
}

static int gdma_init(struct vxen_dev *dev)
{
	struct vxen_gdma_config g = VXEN_GDMA_CONFIG_INIT;

	if (dev->cfg.mem)
		return 0;
	if (dev->cfg.gdma)
		g = *dev->cfg.gdma;
	dev->cfg.gdma = NULL; /* not kept: the caller's struct need not outlive this call */
	g.domid = dev->cfg.domid;
	g.mode = dev->cfg.grants ? VXEN_GDMA_GRANT : VXEN_GDMA_FOREIGN;
	return vxen_gdma_new(&dev->gdma, &g);
}

static int mmio_init(struct vxen_dev *dev)
{
	struct vxen_mmio_config m = VXEN_MMIO_CONFIG_INIT;
	unsigned int *nums;
	int r;

	nums = calloc(dev->nr_queues, sizeof(*nums));
	if (!nums)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		nums[i] = dev->queues[i].cfg.size_max;
	m.device_id = dev->ops.device_id;
	m.vendor_id = dev->ops.vendor_id;
	m.features = dev->offered;
	m.num_queues = dev->nr_queues;
	m.queue_num_max = nums[0];
	m.queue_num_max_each = nums;
	m.config_size = dev->ops.config_size;
	m.flags = dev->cfg.grants ? VXEN_MMIO_F_GRANT : 0;
	m.name = dev->name;
	dev->mmio_ops = (struct vxen_mmio_ops){
		.version = VXEN_MMIO_OPS_VERSION,
		.queue_enable = mmio_queue_enable,
		.queue_disable = mmio_queue_disable,
		.notify = mmio_notify,
		.reset = mmio_reset,
		.features_ok = mmio_features_ok,
		.driver_ok = mmio_driver_ok,
		.config_write = mmio_config_write,
		.interrupt = mmio_interrupt,
	};
	r = vxen_mmio_new(&dev->mmio, &m, &dev->mmio_ops, dev);
	free(nums);
	return r;
}

static int dev_init(struct vxen_dev *dev, const struct vxen_dev_ops *ops,
		    const struct vxen_dev_config *cfg)
{
	const char *step = "allocation";
	int r;

	dev->evfd = -1;
	r = copy_in(dev, ops, cfg);
	if (!r) {
		step = "eventfd";
		r = sync_init(dev);
	}
	dev->offered = offered_features(dev);
	if (!r) {
		step = "grant DMA context";
		r = gdma_init(dev);
	}
	if (!r) {
		step = "request pools";
		r = dev_queues_init(dev);
	}
	if (!r) {
		step = "register file";
		r = mmio_init(dev);
	}
	if (!r && cfg->server) {
		step = "MMIO range";
		r = vxen_ioreq_add_mmio(cfg->server, cfg->base, DEV_MMIO_SIZE, &range_ops, dev,
					&dev->range);
	}
	if (r)
		vxen_log(LOG_ERR, "%s: device setup failed at %s: %s",
			 dev->name ? dev->name : "dev", step, strerror(-r));
	return r;
}

VXEN_EXPORT int vxen_dev_new(vxen_dev **out, const struct vxen_dev_ops *ops,
			     const struct vxen_dev_config *cfg, void *payload)
{
	const char *why = ops_error(ops);
	struct vxen_dev *dev;
	int r;

	if (!why)
		why = cfg_error(cfg);
	if (!out || why) {
		vxen_log(LOG_ERR, "vxen_dev_new: %s", why ? why : "NULL out");
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->payload = payload;
	r = dev_init(dev, ops, cfg);
	if (r) {
		vxen_mmio_free(dev->mmio);
		dev_destroy(dev);
		return r;
	}
	*out = dev;
	return 0;
}

/* Release what the device owns; its queues must have no ring instance left. */
void dev_destroy(struct vxen_dev *dev)
{
	dev_queues_fini(dev);
	vxen_gdma_free(dev->gdma);
	if (dev->evfd >= 0) {
		close(dev->evfd);
		pthread_cond_destroy(&dev->cond);
		pthread_mutex_destroy(&dev->lock);
	}
	free(dev->cfg_shadow);
	free(dev->qcfg);
	free(dev->name);
	free(dev);
}

/* One line when a device goes away: what it served and what the guest got wrong. */
static void log_summary(const struct vxen_dev *dev)
{
	struct vxen_dev_queue_stats qs;
	uint64_t popped = 0, rejected = 0, maps = 0, copies = 0;

	if (!vxen_log_enabled(LOG_INFO))
		return;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		if (vxen_dev_queue_stats(dev, i, &qs) == 0) {
			popped += qs.vq.popped;
			rejected += qs.vq.rejected;
			maps += qs.gdma.map_calls;
			copies += qs.gdma.copy_calls;
		}
	}
	/* The grant crossings of the data path too: on a real system the cheapest way to see
	 * what the requests cost (ring mappings are not counted). */
	vxen_log(LOG_INFO,
		 "%s: removed after %" PRIu64 " requests, %" PRIu64 " rejected chains, %" PRIu64
		 " buffer map calls, %" PRIu64 " grant copy calls, %" PRIu64 " interrupts, %" PRIu64
		 " resets",
		 dev->name, popped, rejected, maps, copies, dev->stats.interrupts,
		 dev->stats.resets);
}

VXEN_EXPORT void vxen_dev_free(vxen_dev *dev)
{
	struct vxen_dev *prev = vxen_dev_current;
	bool orphan;

	if (!dev)
		return;
	log_summary(dev);
	/* No guest access reaches the device from here on. */
	vxen_ioreq_remove(dev->range);
	dev->range = NULL;
	vxen_dev_current = dev;
	dev->stats.resets++;
	dev_reset_queues(dev, true);
	vxen_dev_current = prev;
	vxen_mmio_free(dev->mmio);
	dev->mmio = NULL;

	pthread_mutex_lock(&dev->lock);
	while (dev->done_head) {
		struct dev_req *r = dev->done_head;

		dev->done_head = r->next;
		dev_orphan_complete_locked(dev, r, r->written);
	}
	dev->done_tail = NULL;
	orphan = dev->nr_zombies > 0;
	dev->orphaned = orphan;
	pthread_mutex_unlock(&dev->lock);
	if (orphan)
		vxen_log(LOG_WARNING,
			 "%s: freed with requests in flight; their mappings stay until they "
			 "complete",
			 dev->name);
	else
		dev_destroy(dev);
}

/* ------------------------------------------------------------------------------------------ */
/* The device thread's turn, completions                                                       */

VXEN_EXPORT int vxen_dev_fd(const vxen_dev *dev)
{
	return dev->evfd;
}

VXEN_EXPORT int vxen_dev_process(vxen_dev *dev)
{
	struct vxen_dev *prev = vxen_dev_current;
	bool more;

	vxen_dev_current = dev;
	dev->stats.process_calls++;
	clear_wake(dev);
	apply_config(dev);
	dev_take_completions(dev);
	more = dev_serve_queues(dev);
	dev_publish(dev);
	vxen_dev_current = prev;
	if (more)
		dev_wake(dev);
	return more ? 1 : 0;
}

VXEN_EXPORT void vxen_dev_complete(struct vxen_req *req, uint32_t written)
{
	struct dev_req *r = dev_container_of(req, struct dev_req, req);
	struct vxen_dev *dev = r->q->dev;
	bool last;

	if (vxen_dev_current == dev) {
		dev_complete_now(dev, r, written);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	if (dev->orphaned) {
		last = dev_orphan_complete_locked(dev, r, written);
		pthread_mutex_unlock(&dev->lock);
		if (last)
			dev_destroy(dev);
		return;
	}
	r->written = written;
	r->next = NULL;
	if (dev->done_tail)
		dev->done_tail->next = r;
	else
		dev->done_head = r;
	dev->done_tail = r;
	dev->stats.wakeups++;
	if (dev->draining)
		pthread_cond_signal(&dev->cond);
	/* Under the lock: once it is released, vxen_dev_free() may take this completion and
	 * destroy the device. */
	dev_wake(dev);
	pthread_mutex_unlock(&dev->lock);
}

VXEN_EXPORT void vxen_dev_needs_reset(vxen_dev *dev)
{
	vxen_mmio_needs_reset(dev->mmio);
}

/* ------------------------------------------------------------------------------------------ */
/* Getters                                                                                     */

VXEN_EXPORT uint64_t vxen_dev_features(const vxen_dev *dev)
{
	return vxen_mmio_features(dev->mmio);
}

VXEN_EXPORT bool vxen_dev_has_feature(const vxen_dev *dev, unsigned int bit)
{
	return bit < 64 && (vxen_dev_features(dev) >> bit) & 1;
}

VXEN_EXPORT bool vxen_dev_running(const vxen_dev *dev)
{
	return vxen_mmio_running(dev->mmio);
}

VXEN_EXPORT void *vxen_dev_payload(const vxen_dev *dev)
{
	return dev->payload;
}

VXEN_EXPORT uint32_t vxen_dev_domid(const vxen_dev *dev)
{
	return dev->cfg.domid;
}

VXEN_EXPORT uint64_t vxen_dev_base(const vxen_dev *dev)
{
	return dev->cfg.base;
}

VXEN_EXPORT unsigned int vxen_dev_num_queues(const vxen_dev *dev)
{
	return dev->nr_queues;
}

VXEN_EXPORT const char *vxen_dev_name(const vxen_dev *dev)
{
	return dev->name;
}

VXEN_EXPORT vxen_ioreq_server *vxen_dev_server(const vxen_dev *dev)
{
	return dev->cfg.server;
}

VXEN_EXPORT struct vxen_mmio *vxen_dev_mmio(vxen_dev *dev)
{
	return dev->mmio;
}

VXEN_EXPORT vxen_dev *vxen_dev_req_dev(const struct vxen_req *req)
{
	return dev_container_of(req, struct dev_req, req)->q->dev;
}

VXEN_EXPORT unsigned int vxen_dev_req_queue(const struct vxen_req *req)
{
	return dev_container_of(req, struct dev_req, req)->q->index;
}

VXEN_EXPORT void vxen_dev_stats(const vxen_dev *dev, struct vxen_dev_stats *out)
{
	*out = dev->stats;
	if (dev->mmio)
		out->mmio = *vxen_mmio_stats(dev->mmio);
	if (dev->gdma)
		vxen_gdma_dev_stats(dev->gdma, &out->gdma);
}
