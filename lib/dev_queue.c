/* SPDX-License-Identifier: MIT */
/*
 * lib/dev_queue.c — the data plane of a device: request pools, ring instances (mapped at
 * QueueReady=1), serving kicks within a budget, pull-mode pops, completions, publishing with one
 * interrupt per batch, and the drain at reset/teardown.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev_priv.h"

#define PRIV_ALIGN	     16u
#define MIN_DEFAULT_INFLIGHT 4u

/* ------------------------------------------------------------------------------------------ */
/* Request pools                                                                               */

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/*
 * iovec entries per request (gdma.h): grant DMA makes one per non-empty descriptor on hosts with
 * 4 KiB pages, but one per grant page of a mapped buffer on hosts with larger pages; foreign
 * mode one per cache bucket a buffer touches; a custom interface may split as it likes.
 */
static unsigned int iov_cap_for(const struct vxen_dev *dev, unsigned int max_segs)
{
	if (sysconf(_SC_PAGESIZE) > (long)VXEN_GDMA_PAGE_SIZE)
		return max_segs + VXEN_GDMA_DEFAULT_MAX_CHAIN_PAGES;
	if (!dev->cfg.mem && dev->cfg.grants)
		return max_segs;
	return max_segs * 2 + 8;
}

static size_t req_bytes(const struct vxen_dev *dev, const struct vxen_dev_queue_config *c)
{
	return sizeof(struct dev_req) + c->max_segs * sizeof(struct vxen_desc) +
	       iov_cap_for(dev, c->max_segs) * sizeof(struct iovec) +
	       round_up(c->priv_size, PRIV_ALIGN);
}

/* Fill zero fields with defaults; pools without an explicit size share the memory budget. */
static void apply_defaults(struct vxen_dev *dev)
{
	size_t fixed = 0, left, share;
	unsigned int n_default = 0;

	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct vxen_dev_queue_config *c = &dev->qcfg[i];

		if (!c->size_max)
			c->size_max = VXEN_DEV_DEFAULT_QUEUE_SIZE;
		if (!c->max_segs)
			c->max_segs = VXEN_DEV_DEFAULT_MAX_SEGS;
		if (!c->budget)
			c->budget = VXEN_DEV_DEFAULT_BUDGET;
		if (c->max_inflight)
			fixed += c->max_inflight * req_bytes(dev, c);
		else
			n_default++;
	}
	left = fixed < VXEN_DEV_DEFAULT_POOL_BYTES ? VXEN_DEV_DEFAULT_POOL_BYTES - fixed : 0;
	share = n_default ? left / n_default : 0;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct vxen_dev_queue_config *c = &dev->qcfg[i];
		size_t n = share / req_bytes(dev, c);

		if (!c->max_inflight)
			c->max_inflight = (uint32_t)VXEN_MIN(VXEN_MAX(n, MIN_DEFAULT_INFLIGHT),
							     VXEN_DEV_DEFAULT_MAX_INFLIGHT);
		c->max_inflight = VXEN_MIN(c->max_inflight, c->size_max);
	}
}

static int pool_init(struct dev_queue *q)
{
	const struct vxen_dev_queue_config *c = &q->cfg;
	size_t priv = round_up(c->priv_size, PRIV_ALIGN);
	size_t n = c->max_inflight;
	size_t desc_off = round_up(n * sizeof(struct dev_req), PRIV_ALIGN);
	size_t iov_off = desc_off + n * c->max_segs * sizeof(struct vxen_desc);
	size_t priv_off = iov_off + n * q->iov_cap * sizeof(struct iovec);
	char *mem = calloc(1, priv_off + n * priv);

	if (!mem)
		return -ENOMEM;
	q->slots = (struct dev_req *)mem;
	for (size_t i = 0; i < n; i++) {
		struct dev_req *r = &q->slots[i];

		r->q = q;
		r->req.desc = (struct vxen_desc *)(mem + desc_off) + i * c->max_segs;
		r->req.desc_cap = c->max_segs;
		r->req.iov = (struct iovec *)(mem + iov_off) + i * q->iov_cap;
		r->req.iov_cap = q->iov_cap;
		r->priv_area = priv ? mem + priv_off + i * priv : NULL;
		r->next = q->free_list;
		q->free_list = r;
	}
	q->nr_free = (unsigned int)n;
	q->stats.pool_size = c->max_inflight;
	q->stats.max_segs = c->max_segs;
	q->stats.pull = c->flags & VXEN_DEV_Q_PULL;
	return 0;
}

int dev_queues_init(struct vxen_dev *dev)
{
	apply_defaults(dev);
	dev->queues = calloc(dev->nr_queues, sizeof(*dev->queues));
	if (!dev->queues)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct dev_queue *q = &dev->queues[i];
		int r;

		q->dev = dev;
		q->index = i;
		q->cfg = dev->qcfg[i];
		q->iov_cap = iov_cap_for(dev, q->cfg.max_segs);
		r = pool_init(q);
		if (r)
			return r;
	}
	return 0;
}

void dev_queues_fini(struct vxen_dev *dev)
{
	if (!dev->queues)
		return;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		free(dev->queues[i].slots);
	free(dev->queues);
	dev->queues = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Ring instances                                                                              */

_Static_assert(sizeof(struct vxen_vq_stats) % sizeof(uint64_t) == 0, "vq stats are u64s");
_Static_assert(sizeof(struct vxen_gdma_stats) % sizeof(uint64_t) == 0, "gdma stats are u64s");

/* Add @n uint64_t counters of @src to @dst. */
static void add_u64s(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

/* Fold a ring instance's counters into @st (both stats structs are made of uint64_t only). */
void dev_queue_accumulate(struct vxen_dev_queue_stats *st, const struct qinst *inst)
{
	if (inst->vq)
		add_u64s((uint64_t *)&st->vq, (const uint64_t *)vxen_vq_stats(inst->vq),
			 sizeof(st->vq) / sizeof(uint64_t));
	if (inst->gq)
		add_u64s((uint64_t *)&st->gdma, (const uint64_t *)vxen_gdma_queue_stats(inst->gq),
			 sizeof(st->gdma) / sizeof(uint64_t));
}

static void inst_destroy(struct vxen_dev *dev, struct qinst *inst)
{
	const struct vxen_dev_mem *mem = dev->cfg.mem;

	dev_queue_accumulate(&inst->q->stats, inst);
	/* Order from gdma.h: the virtqueue (it unmaps requests still in flight: none here), then
	 * the gdma queue and the rings. */
	vxen_vq_free(inst->vq);
	vxen_gdma_queue_free(inst->gq);
	for (int i = 0; i < DEV_RING_AREAS; i++) {
		vxen_gdma_unmap_ring(inst->ring[i]);
		if (inst->ring_ptr[i] && mem && mem->ring_unmap)
			mem->ring_unmap(inst->ring_ptr[i], inst->ring_len[i], mem->payload);
	}
	free(inst);
}

static int map_area(struct vxen_dev *dev, struct qinst *inst, int i, uint64_t addr, size_t len,
		    size_t align)
{
	const struct vxen_dev_mem *mem = dev->cfg.mem;
	int r;

	inst->ring_len[i] = len;
	if (!mem) {
		r = vxen_gdma_map_ring(&inst->ring[i], dev->gdma, addr, len, align);
		if (!r)
			inst->ring_ptr[i] = NULL;
		return r;
	}
	inst->ring_ptr[i] = mem->ring_map(addr, len, mem->payload);
	return inst->ring_ptr[i] ? 0 : -EFAULT;
}

static void *area_ptr(const struct qinst *inst, int i)
{
	return inst->ring[i] ? vxen_gdma_ring_ptr(inst->ring[i]) : inst->ring_ptr[i];
}

/*
 * What gdma must preallocate for: never more requests in flight than our pool holds, and
 * indirect tables (gdma reads up to 16 bytes per slot) never longer than a request may be —
 * so a big ring does not cost gdma bounce memory for requests that can never exist.
 */
static uint32_t gdma_slots(const struct dev_queue *q, uint32_t num)
{
	return VXEN_MIN(num, VXEN_MAX(q->cfg.max_inflight, q->cfg.max_segs));
}

static int inst_create(struct vxen_dev *dev, struct qinst *inst, unsigned int qidx,
		       const struct vxen_mmio_queue_info *info)
{
	struct vxen_vq_config vc = VXEN_VQ_CONFIG_INIT;
	uint64_t features = vxen_mmio_features(dev->mmio);
	size_t ev = (features >> VXEN_F_EVENT_IDX) & 1 ? 2 : 0;
	size_t n = info->num;
	int r;

	r = map_area(dev, inst, 0, info->desc, 16 * n, 16);
	if (!r)
		r = map_area(dev, inst, 1, info->driver, 6 + 2 * n + ev, 2);
	if (!r)
		r = map_area(dev, inst, 2, info->device, 6 + 8 * n + ev, 4);
	if (r)
		return r;
	vc.index = (uint16_t)qidx;
	vc.size = info->num;
	vc.features = features;
	vc.desc = area_ptr(inst, 0);
	vc.avail = area_ptr(inst, 1);
	vc.used = area_ptr(inst, 2);
	if (dev->cfg.mem) {
		vc.mem = dev->cfg.mem->ops;
		vc.mem_payload = dev->cfg.mem->payload;
	} else {
		r = vxen_gdma_queue_new(&inst->gq, dev->gdma, (uint16_t)qidx,
					gdma_slots(&dev->queues[qidx], info->num));
		if (r)
			return r;
		vxen_gdma_queue_attach(inst->gq, &vc);
	}
	return vxen_vq_new(&inst->vq, &vc);
}

int dev_queue_enable(struct vxen_dev *dev, unsigned int qidx,
		     const struct vxen_mmio_queue_info *info)
{
	struct dev_queue *q = &dev->queues[qidx];
	struct qinst *inst;
	int r;

	if (q->inst) /* the register file never enables a ready queue twice; be safe anyway */
		return -EBUSY;
	inst = calloc(1, sizeof(*inst));
	if (!inst)
		return -ENOMEM;
	inst->q = q;
	r = inst_create(dev, inst, qidx, info);
	if (r) {
		q->stats.enable_errors++;
		vxen_log_guest(&dev->rl, LOG_WARNING, "%s: queue %u not enabled: %s", dev->name,
			       qidx, strerror(-r));
		inst_destroy(dev, inst);
		return r;
	}
	q->inst = inst;
	q->pending = q->blocked = q->broken = false;
	q->stats.enables++;
	q->stats.size = info->num;
	q->stats.enabled = true;
	/* One line per enable: the addresses show at a glance whether the guest uses grant DMA. */
	vxen_log(LOG_INFO,
		 "%s: queue %u enabled: size %u desc 0x%" PRIx64 " avail 0x%" PRIx64
		 " used 0x%" PRIx64,
		 dev->name, qidx, info->num, info->desc, info->driver, info->device);
	return 0;
}

/* Detach the queue's instance: destroy it now, or keep it as a zombie until its last request. */
static void inst_detach(struct vxen_dev *dev, struct dev_queue *q)
{
	struct qinst *inst = q->inst;

	q->inst = NULL;
	q->pending = q->blocked = q->broken = false;
	q->stats.size = 0;
	q->stats.enabled = false;
	if (!inst)
		return;
	if (!inst->inflight) {
		inst_destroy(dev, inst);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	inst->zombie = true;
	inst->next_zombie = dev->zombies;
	dev->zombies = inst;
	dev->nr_zombies++;
	pthread_mutex_unlock(&dev->lock);
}

static void zombie_destroy(struct vxen_dev *dev, struct qinst *inst)
{
	struct qinst **pp = &dev->zombies;

	while (*pp && *pp != inst)
		pp = &(*pp)->next_zombie;
	if (*pp)
		*pp = inst->next_zombie;
	dev->nr_zombies--;
	inst_destroy(dev, inst);
}

/* ------------------------------------------------------------------------------------------ */
/* Completion                                                                                  */

/* Push one completed request. Device thread, or an orphaned device under its lock. */
static bool push_one(struct vxen_dev *dev, struct dev_req *r, uint32_t written)
{
	struct qinst *inst = r->inst;
	struct dev_queue *q = r->q;

	/* Unmaps the buffers before the used entry exists (vq.h). */
	vxen_vq_push(inst->vq, &r->req, written);
	inst->inflight--;
	q->stats.inflight--;
	q->stats.completions++;
	r->inst = NULL;
	r->next = q->free_list;
	q->free_list = r;
	q->nr_free++;
	if (!inst->zombie) {
		inst->dirty = true;
		dev->dirty = true;
		if (q->blocked) {
			q->blocked = false;
			q->pending = true;
		}
		return false;
	}
	dev->stats.late_completions++;
	return inst->inflight == 0;
}

void dev_complete_now(struct vxen_dev *dev, struct dev_req *r, uint32_t written)
{
	struct qinst *inst = r->inst;

	if (push_one(dev, r, written)) {
		pthread_mutex_lock(&dev->lock);
		zombie_destroy(dev, inst);
		pthread_mutex_unlock(&dev->lock);
	}
}

bool dev_orphan_complete_locked(struct vxen_dev *dev, struct dev_req *r, uint32_t written)
{
	struct qinst *inst = r->inst;

	if (push_one(dev, r, written))
		zombie_destroy(dev, inst);
	return dev->nr_zombies == 0;
}

void dev_take_completions(struct vxen_dev *dev)
{
	struct dev_req *r;

	pthread_mutex_lock(&dev->lock);
	r = dev->done_head;
	dev->done_head = dev->done_tail = NULL;
	pthread_mutex_unlock(&dev->lock);
	while (r) {
		struct dev_req *next = r->next;

		dev_complete_now(dev, r, r->written);
		r = next;
	}
}

void dev_publish(struct vxen_dev *dev)
{
	bool irq = false;

	if (!dev->dirty || dev->resetting)
		return;
	dev->dirty = false;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct qinst *inst = dev->queues[i].inst;

		if (inst && inst->dirty) {
			inst->dirty = false;
			irq |= vxen_vq_publish(inst->vq);
		}
	}
	/* One interrupt for the whole batch, all queues together. */
	if (irq)
		vxen_mmio_signal_used(dev->mmio);
}

/* ------------------------------------------------------------------------------------------ */
/* Serving queues                                                                              */

static void break_queue(struct vxen_dev *dev, struct dev_queue *q)
{
	q->broken = true;
	dev->stats.queue_breaks++;
	vxen_mmio_needs_reset(dev->mmio);
}

/* How many chains a batch may take now: free slots, and gdma's own cap on mapped pages (stop
 * before a pop would fail with -ENOMEM, so the guest's request waits in its ring instead of
 * being failed). */
static unsigned int batch_room(const struct dev_queue *q, unsigned int want)
{
	unsigned int n = VXEN_MIN(want, q->nr_free);

	return q->inst->gq ? VXEN_MIN(n, vxen_gdma_queue_room(q->inst->gq)) : n;
}

/* A popped slot leaves the free list (pop_batch() took it from anywhere in it). */
static void slot_taken(struct dev_queue *q, struct qinst *inst, struct dev_req *r)
{
	struct dev_req **pp = &q->free_list;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	q->nr_free--;
	r->next = NULL;
	r->inst = inst;
	inst->inflight++;
	q->stats.inflight++;
	q->stats.inflight_max = VXEN_MAX(q->stats.inflight_max, q->stats.inflight);
	/* The device may have repointed priv while it owned the slot last time. */
	r->req.priv = r->priv_area;
	if (r->priv_area)
		memset(r->priv_area, 0, q->cfg.priv_size);
}

/*
 * Pop up to @want chains at once (vxen_vq_pop_many(): one crossing per batch where the memory
 * interface allows). Returns how many were popped into @out, -ENOBUFS (no free slot: the queue
 * is marked blocked) or -EPROTO (ring corrupt: the queue is broken); *@rej: chains rejected.
 */
static int pop_batch(struct vxen_dev *dev, struct dev_queue *q, unsigned int want,
		     struct dev_req **out, unsigned int *rej)
{
	struct vxen_req *reqs[VXEN_VQ_POP_MANY_MAX];
	unsigned int room = batch_room(q, VXEN_MIN(want, VXEN_VQ_POP_MANY_MAX)), n = 0;
	struct dev_req *r;
	int k;

	*rej = 0;
	if (!room) {
		q->blocked = true;
		q->stats.pool_empty++;
		return -ENOBUFS;
	}
	for (r = q->free_list; n < room; r = r->next)
		reqs[n++] = &r->req;
	k = vxen_vq_pop_many(q->inst->vq, reqs, n, rej);
	if (k == -EPROTO) {
		break_queue(dev, q);
		return k;
	}
	if (*rej)
		q->inst->dirty = dev->dirty = true;
	for (int i = 0; i < k; i++) {
		out[i] = dev_container_of(reqs[i], struct dev_req, req);
		slot_taken(q, q->inst, out[i]);
	}
	return k;
}

/* Hand a popped batch to the device. If the device declares itself broken meanwhile, the
 * requests it was not given complete empty, so nothing stays in flight for a dead device. */
static bool handle_batch(struct vxen_dev *dev, struct dev_queue *q, struct dev_req **r, int k)
{
	for (int i = 0; i < k; i++) {
		if (!dev_live(dev)) {
			dev_complete_now(dev, r[i], 0);
			continue;
		}
		dev->ops.handle_request(dev, q->index, &r[i]->req, dev->payload);
	}
	return dev_live(dev);
}

/* Push mode: serve one queue for at most its budget. Returns true if work is left. */
static bool pump(struct vxen_dev *dev, struct dev_queue *q)
{
	struct dev_req *got[VXEN_VQ_POP_MANY_MAX];
	unsigned int n = 0, rej;
	int k;

	/* No kicks while we drain: we will look at the ring again anyway. */
	vxen_vq_kicks_disable(q->inst->vq);
	for (;;) {
		while (n < q->cfg.budget) {
			k = pop_batch(dev, q, q->cfg.budget - n, got, &rej);
			if (k == -ENOBUFS || k == -EPROTO)
				return false; /* a completion or a reset brings us back */
			if (k == 0 && rej == 0)
				break;
			n += (unsigned int)k + rej; /* rejected chains count too: a flood is work */
			if (!handle_batch(dev, q, got, k)) /* the device declared itself broken */
				return false;
		}
		if (n >= q->cfg.budget && vxen_vq_pending(q->inst->vq)) {
			/* Kicks stay off: the next turn comes from the wake-up, not the guest. */
			q->stats.budget_yields++;
			return true;
		}
		/* Re-arm kicks, then look once more: chains added meanwhile are served now. */
		if (!vxen_vq_kicks_enable(q->inst->vq))
			return false;
		vxen_vq_kicks_disable(q->inst->vq);
	}
}

VXEN_EXPORT int vxen_dev_queue_wake(vxen_dev *dev, unsigned int qidx)
{
	if (!dev || qidx >= dev->nr_queues)
		return -EINVAL;
	atomic_store(&dev->queues[qidx].wake, true);
	atomic_store(&dev->queue_wakes, true);
	dev_wake(dev);
	return 0;
}

static void take_queue_wakes(struct vxen_dev *dev)
{
	if (!atomic_exchange(&dev->queue_wakes, false))
		return;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		if (atomic_exchange(&dev->queues[i].wake, false))
			dev->queues[i].pending = true;
}

bool dev_serve_queues(struct vxen_dev *dev)
{
	bool more = false;

	take_queue_wakes(dev);

	if (dev->resetting || !dev_live(dev))
		return false;
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		struct dev_queue *q = &dev->queues[i];

		if (!q->pending || !q->inst || q->broken)
			continue;
		q->pending = false;
		q->stats.turns++;
		if (q->cfg.flags & VXEN_DEV_Q_PULL) {
			dev->ops.queue_notify(dev, i, dev->payload);
		} else if (pump(dev, q)) {
			q->pending = true;
			more = true;
		}
	}
	return more;
}

/* Pull mode: pop until chains come (at most @n), handling rejections and the kick re-arm race.
 * Returns how many were popped into @out. */
static int queue_pop(struct vxen_dev *dev, struct dev_queue *q, struct vxen_req **out,
		     unsigned int n)
{
	struct dev_req *got[VXEN_VQ_POP_MANY_MAX];
	unsigned int rejected = 0, rej;
	int k;

	for (;;) {
		k = pop_batch(dev, q, n, got, &rej);
		if (k > 0) {
			for (int i = 0; i < k; i++)
				out[i] = &got[i]->req;
			return k;
		}
		if (k == -ENOBUFS || k == -EPROTO)
			return 0;
		rejected += rej;
		if (rej && rejected < q->cfg.budget)
			continue;
		if (rej) {
			/* A flood of bad chains: let other work run, come back next turn. */
			q->pending = true;
			dev_wake(dev);
			return 0;
		}
		/* Empty: ask for a kick, and close the race with chains added meanwhile. */
		if (!vxen_vq_kicks_enable(q->inst->vq))
			return 0;
	}
}

VXEN_EXPORT int vxen_dev_queue_pop_many(vxen_dev *dev, unsigned int qidx, struct vxen_req **out,
					unsigned int n)
{
	struct dev_queue *q;
	int rc;

	if (!dev || !out || qidx >= dev->nr_queues || !n)
		return -EINVAL;
	q = &dev->queues[qidx];
	if (!(q->cfg.flags & VXEN_DEV_Q_PULL))
		return -EINVAL;
	if (dev->resetting || !q->inst || q->broken || !dev_live(dev))
		return 0;
	rc = queue_pop(dev, q, out, VXEN_MIN(n, VXEN_VQ_POP_MANY_MAX));
	/* Outside a process turn, rejected chains' used entries still need a publish. */
	if (dev->dirty && vxen_dev_current != dev)
		dev_wake(dev);
	return rc;
}

VXEN_EXPORT int vxen_dev_queue_pop(vxen_dev *dev, unsigned int qidx, struct vxen_req **out)
{
	return vxen_dev_queue_pop_many(dev, qidx, out, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Reset and drain                                                                             */

static unsigned int inflight_of(const struct vxen_dev *dev, const struct qinst *only)
{
	unsigned int n = 0;

	if (only)
		return only->inflight;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		if (dev->queues[i].inst)
			n += dev->queues[i].inst->inflight;
	return n;
}

static struct timespec deadline_after(unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Wait until the requests of @only (NULL: of every live instance) are completed, or timeout.
 * Runs completions meanwhile. Returns true if none is left. */
static bool drain(struct vxen_dev *dev, const struct qinst *only)
{
	unsigned int ms = dev->cfg.drain_timeout_ms ? dev->cfg.drain_timeout_ms
						    : VXEN_DEV_DEFAULT_DRAIN_TIMEOUT_MS;
	struct timespec dl = deadline_after(ms);
	int r = 0;

	for (;;) {
		dev_take_completions(dev);
		if (!inflight_of(dev, only))
			return true;
		if (r == ETIMEDOUT)
			return false;
		pthread_mutex_lock(&dev->lock);
		dev->draining = true;
		while (!dev->done_head && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&dev->cond, &dev->lock, &dl);
		dev->draining = false;
		pthread_mutex_unlock(&dev->lock);
	}
}

static void drain_report(struct vxen_dev *dev, bool ok)
{
	if (ok)
		return;
	dev->stats.drain_timeouts++;
	vxen_log(LOG_WARNING,
		 "%s: requests still in flight after the drain timeout; their mappings stay "
		 "until the device completes them",
		 dev->name);
}

void dev_reset_queues(struct vxen_dev *dev, bool call_hook)
{
	dev->resetting = true;
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		dev->queues[i].pending = dev->queues[i].blocked = false;
	if (call_hook && dev->ops.reset)
		dev->ops.reset(dev, dev->payload);
	drain_report(dev, drain(dev, NULL));
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		inst_detach(dev, &dev->queues[i]);
	dev->dirty = false;
	dev->resetting = false;
}

void dev_queue_disable(struct vxen_dev *dev, unsigned int qidx)
{
	struct dev_queue *q = &dev->queues[qidx];

	if (!q->inst)
		return;
	q->pending = q->blocked = false;
	/* Keep the queue from being served while its requests are cancelled. */
	q->broken = true;
	if (dev->ops.queue_stop)
		dev->ops.queue_stop(dev, qidx, dev->payload);
	drain_report(dev, drain(dev, q->inst));
	inst_detach(dev, q);
	/* Completions of other queues taken during the drain still need their publish. */
	if (dev->dirty)
		dev_wake(dev);
}

VXEN_EXPORT int vxen_dev_queue_stats(const vxen_dev *dev, unsigned int qidx,
				     struct vxen_dev_queue_stats *out)
{
	const struct dev_queue *q;

	if (!dev || !out || qidx >= dev->nr_queues)
		return -ENOENT;
	q = &dev->queues[qidx];
	*out = q->stats;
	if (q->inst)
		dev_queue_accumulate(out, q->inst);
	out->broken = q->broken;
	return 0;
}
