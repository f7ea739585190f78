/* SPDX-License-Identifier: MIT */
/*
 * L3: the device's side of the virtio-mmio register file (include/virtio-xen/mmio.h): used
 * buffer and configuration interrupts, NEEDS_RESET, the configuration space, getters, and
 * creation. The guest's accesses are in lib/mmio.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio_internal.h"

/* ---- device side ---- */

VXEN_EXPORT void vxen_mmio_signal_used(vxen_mmio *m)
{
	if (m->status & VXEN_MMIO_S_DRIVER_OK)
		mmio_raise_bit(m, VXEN_MMIO_INT_VRING);
}

VXEN_EXPORT void vxen_mmio_config_changed(vxen_mmio *m)
{
	mmio_bump_generation(m);
	if (m->status & VXEN_MMIO_S_DRIVER_OK)
		mmio_raise_bit(m, VXEN_MMIO_INT_CONFIG);
}

VXEN_EXPORT void vxen_mmio_needs_reset(vxen_mmio *m)
{
	if (!m->status || (m->status & VXEN_MMIO_S_NEEDS_RESET))
		return;
	m->status |= VXEN_MMIO_S_NEEDS_RESET;
	vxen_log(LOG_WARNING, "%s: device needs reset", m->name);
	if (m->status & VXEN_MMIO_S_DRIVER_OK)
		mmio_raise_bit(m, VXEN_MMIO_INT_CONFIG);
}

static bool config_range_ok(const vxen_mmio *m, unsigned int offset, unsigned int len)
{
	return offset <= m->config_size && len <= m->config_size - offset;
}

VXEN_EXPORT int vxen_mmio_config_set(vxen_mmio *m, unsigned int offset, const void *buf,
				     unsigned int len)
{
	if (!config_range_ok(m, offset, len) || (len && !buf))
		return -EINVAL;
	if (len && memcmp(m->config + offset, buf, len)) {
		memcpy(m->config + offset, buf, len);
		mmio_bump_generation(m);
	}
	return 0;
}

VXEN_EXPORT int vxen_mmio_config_get(const vxen_mmio *m, unsigned int offset, void *buf,
				     unsigned int len)
{
	if (!config_range_ok(m, offset, len) || (len && !buf))
		return -EINVAL;
	if (len)
		memcpy(buf, m->config + offset, len);
	return 0;
}

/* ---- getters ---- */

VXEN_EXPORT uint32_t vxen_mmio_status(const vxen_mmio *m)
{
	return m->status;
}

VXEN_EXPORT bool vxen_mmio_running(const vxen_mmio *m)
{
	return (m->status & VXEN_MMIO_S_DRIVER_OK) && !stopped(m);
}

VXEN_EXPORT uint64_t vxen_mmio_features(const vxen_mmio *m)
{
	return (m->status & VXEN_MMIO_S_FEATURES_OK) ? m->features : 0;
}

VXEN_EXPORT uint32_t vxen_mmio_interrupt_status(const vxen_mmio *m)
{
	return m->isr;
}

VXEN_EXPORT uint32_t vxen_mmio_config_generation(const vxen_mmio *m)
{
	return m->generation;
}

VXEN_EXPORT unsigned int vxen_mmio_num_queues(const vxen_mmio *m)
{
	return m->num_queues;
}

VXEN_EXPORT int vxen_mmio_queue(const vxen_mmio *m, unsigned int qidx,
				struct vxen_mmio_queue_info *out)
{
	const struct mmio_queue *q;

	if (qidx >= m->num_queues)
		return -ENOENT;
	q = &m->queues[qidx];
	*out = (struct vxen_mmio_queue_info){
		.num = q->num,
		.num_max = q->num_max,
		.desc = q->desc,
		.driver = q->driver,
		.device = q->device,
		.ready = q->ready,
	};
	return 0;
}

VXEN_EXPORT const struct vxen_mmio_stats *vxen_mmio_stats(const vxen_mmio *m)
{
	return &m->stats;
}

/* ---- life cycle ---- */

static bool queue_max_ok(unsigned int n)
{
	return is_pow2(n) && n <= VXEN_MMIO_QUEUE_NUM_MAX_LIMIT;
}

/* Returns NULL if @cfg and @ops describe a device this transport can offer, else why not. */
static const char *check_config(const struct vxen_mmio_config *cfg, const struct vxen_mmio_ops *ops)
{
	if (cfg->version != VXEN_MMIO_CONFIG_VERSION || ops->version != VXEN_MMIO_OPS_VERSION)
		return "unknown config or ops version";
	if (!ops->queue_enable || !ops->reset)
		return "ops lack queue_enable or reset";
	if (!cfg->device_id)
		return "device id 0";
	if (!cfg->num_queues || cfg->num_queues > VXEN_MMIO_QUEUES_MAX)
		return "number of queues out of range";
	if (cfg->config_size > VXEN_MMIO_CONFIG_MAX)
		return "config space too large";
	if (!(cfg->features & (1ULL << VXEN_F_VERSION_1)))
		return "VERSION_1 not offered";
	if ((cfg->flags & VXEN_MMIO_F_GRANT) && !(cfg->features & (1ULL << VXEN_F_ACCESS_PLATFORM)))
		return "grant device without ACCESS_PLATFORM";
	if (cfg->features & VXEN_MMIO_FEATURES_UNSUPPORTED)
		return "offers transport features virtio-mmio here does not implement";
	if (cfg->flags & ~VXEN_MMIO_F_GRANT)
		return "unknown flags";
	if (cfg->queue_num_max_each) {
		for (unsigned int i = 0; i < cfg->num_queues; i++)
			if (!queue_max_ok(cfg->queue_num_max_each[i]))
				return "a QueueNumMax is not a power of two <= 32768";
	} else if (!queue_max_ok(cfg->queue_num_max)) {
		return "QueueNumMax is not a power of two <= 32768";
	}
	return NULL;
}

VXEN_EXPORT int vxen_mmio_new(vxen_mmio **out, const struct vxen_mmio_config *cfg,
			      const struct vxen_mmio_ops *ops, void *payload)
{
	const char *why = (!out || !cfg || !ops) ? "NULL argument" : check_config(cfg, ops);
	vxen_mmio *m;

	if (why) {
		vxen_log(LOG_ERR, "mmio: refusing device: %s", why);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->queues = calloc(cfg->num_queues, sizeof(*m->queues));
	/* One spare byte so a zero-sized config space still has a valid buffer. */
	m->config = calloc(cfg->config_size + 1, 1);
	if (!m->queues || !m->config) {
		vxen_mmio_free(m);
		return -ENOMEM;
	}
	m->ops = ops;
	m->payload = payload;
	m->device_id = cfg->device_id;
	m->vendor_id = cfg->vendor_id;
	m->offered = cfg->features;
	m->flags = cfg->flags;
	m->num_queues = cfg->num_queues;
	m->config_size = cfg->config_size;
	for (unsigned int i = 0; i < cfg->num_queues; i++)
		m->queues[i].num_max =
			cfg->queue_num_max_each ? cfg->queue_num_max_each[i] : cfg->queue_num_max;
	snprintf(m->name, sizeof(m->name), "%s", cfg->name ? cfg->name : "mmio");
	*out = m;
	return 0;
}

VXEN_EXPORT void vxen_mmio_free(vxen_mmio *m)
{
	if (!m)
		return;
	free(m->queues);
	free(m->config);
	free(m);
}
