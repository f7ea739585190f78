/* SPDX-License-Identifier: MIT */
/*
 * lib/mmio_internal.h — the virtio-mmio register file's state, shared by lib/mmio.c (the
 * register accesses and the status state machine) and lib/mmio_device.c (the device side,
 * getters, life cycle). Not installed.
 */
#ifndef VXEN_MMIO_INTERNAL_H
#define VXEN_MMIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <virtio-xen/mmio.h>

#include "internal.h"

struct mmio_queue {
	uint32_t num;
	uint32_t num_max;
	uint64_t desc;
	uint64_t driver;
	uint64_t device;
	bool ready;
	bool kick_pending; /* kicked before DRIVER_OK: deliver at DRIVER_OK */
};

struct vxen_mmio {
	const struct vxen_mmio_ops *ops;
	void *payload;
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t offered;
	unsigned int flags;
	unsigned int num_queues;
	unsigned int config_size;

	uint32_t status;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t driver_features; /* as being written by the driver */
	uint64_t features;	  /* negotiated: valid once FEATURES_OK is set */
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t isr;
	uint32_t generation;

	struct mmio_queue *queues;
	uint8_t *config;
	struct vxen_mmio_stats stats;
	struct vxen_ratelimit rl;
	char name[48];
};

static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* FAILED stops the device; NEEDS_RESET does not (the device decides what it still serves). */
static inline bool stopped(const vxen_mmio *m)
{
	return m->status & VXEN_MMIO_S_FAILED;
}

/* Set InterruptStatus bit @bit and, if it was clear, raise the interrupt (lib/mmio.c). */
void mmio_raise_bit(vxen_mmio *m, uint32_t bit);
/* The device changed its configuration: ConfigGeneration moves on (lib/mmio.c). */
void mmio_bump_generation(vxen_mmio *m);

#endif /* VXEN_MMIO_INTERNAL_H */
