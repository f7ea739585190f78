// SPDX-License-Identifier: MIT
/*
 * virtio_mmio.c — the virtio-mmio (version 2) transport, driver side, modelled on Linux's
 * drivers/virtio/virtio_mmio.c and the generic parts of drivers/virtio/virtio.c, as a Xen guest
 * with CONFIG_XEN_VIRTIO uses it: every queue address written to the device is a grant address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_mmio.h>

#include "virtio_internal.h"

#define CONFIG_SPACE_LEN   0xf00u /* 0x100..0xfff */
#define CONFIG_GEN_RETRIES 64
#define RESET_POLLS	   1000

/*
 * Transport features the ring driver implements. Bits 24..49 are the transport / queue range
 * (virtio 1.2 §6): only those we implement are accepted; device-class bits pass through.
 */
#define RING_FEATURES                                                                              \
	(XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC) |                                        \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX) | XENSIM_VIRTIO_REQUIRED_FEATURES |          \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_ORDER_PLATFORM))
#define TRANSPORT_MASK (((1ULL << 50) - 1) & ~((1ULL << 24) - 1))

int vdev_read32(xensim_vdev *vd, uint32_t off, uint32_t *val)
{
	uint64_t v = 0;
	int rc = xensim_mmio_read(vd->g, vd->vcpu, vd->base + off, 4, &v);

	*val = (uint32_t)v;
	return rc;
}

int vdev_write32(xensim_vdev *vd, uint32_t off, uint32_t val)
{
	return xensim_mmio_write(vd->g, vd->vcpu, vd->base + off, 4, val);
}

int xensim_vdev_get_status(xensim_vdev *vd, uint8_t *status_out)
{
	uint32_t v;
	int rc = vdev_read32(vd, VIRTIO_MMIO_STATUS, &v);

	if (rc == 0)
		*status_out = (uint8_t)v;
	return rc;
}

/* virtio_add_status(): read-modify-write, as Linux does. */
int xensim_vdev_set_status(xensim_vdev *vd, uint8_t bits)
{
	uint8_t st;
	int rc = xensim_vdev_get_status(vd, &st);

	return rc < 0 ? rc : vdev_write32(vd, VIRTIO_MMIO_STATUS, st | bits);
}

int xensim_vdev_reset(xensim_vdev *vd)
{
	struct timespec ms = { 0, 1000000 };
	uint8_t st;
	int rc = vdev_write32(vd, VIRTIO_MMIO_STATUS, 0);

	/* virtio 1.2 §2.4.1: wait for the status to read back 0 before reinitialising. */
	for (int i = 0; rc == 0 && i < RESET_POLLS; i++) {
		rc = xensim_vdev_get_status(vd, &st);
		if (rc == 0 && st == 0)
			return 0;
		nanosleep(&ms, NULL);
	}
	return rc < 0 ? rc : -ETIMEDOUT;
}

static int identify(xensim_vdev *vd)
{
	uint32_t magic;
	int rc = vdev_read32(vd, VIRTIO_MMIO_MAGIC_VALUE, &magic);

	if (rc == 0 && magic != VIRTIO_MMIO_MAGIC)
		return -ENODEV;
	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_VERSION, &vd->version);
	/* Legacy (version 1) takes page frame numbers: it cannot carry grant addresses. */
	if (rc == 0 && vd->version != 2)
		return -EPROTONOSUPPORT;
	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_DEVICE_ID, &vd->device_id);
	/* Device id 0 is a placeholder slot (virtio_mmio_probe: -ENODEV). */
	if (rc == 0 && vd->device_id == 0)
		return -ENODEV;
	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_VENDOR_ID, &vd->vendor_id);
	return rc;
}

int xensim_vdev_probe(xensim_vdev **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		      uint32_t irq)
{
	xensim_vdev *vd;
	int rc;

	if (!out || !g)
		return -EINVAL;
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	*vd = (struct xensim_vdev){
		.g = g, .backend_domid = backend_domid, .base = base, .irq = irq
	};
	rc = identify(vd);
	if (rc == 0)
		rc = xensim_vdev_reset(vd);
	if (rc == 0)
		rc = xensim_vdev_set_status(vd, XENSIM_VIRTIO_S_ACKNOWLEDGE);
	if (rc < 0) {
		free(vd);
		return rc;
	}
	*out = vd;
	return 0;
}

static int read_device_features(xensim_vdev *vd, uint64_t *out)
{
	uint32_t hi = 0, lo = 0;
	int rc = vdev_write32(vd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);

	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_DEVICE_FEATURES, &hi);
	if (rc == 0)
		rc = vdev_write32(vd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_DEVICE_FEATURES, &lo);
	*out = (uint64_t)hi << 32 | lo;
	return rc;
}

static int write_driver_features(xensim_vdev *vd, uint64_t f)
{
	int rc = vdev_write32(vd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);

	if (rc == 0)
		rc = vdev_write32(vd, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	if (rc == 0)
		rc = vdev_write32(vd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	if (rc == 0)
		rc = vdev_write32(vd, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	return rc;
}

/* What the driver accepts: offered ∩ wanted, transport bits limited to what we implement. */
static uint64_t accept_features(uint64_t offered, uint64_t wanted)
{
	uint64_t want = wanted | XENSIM_VIRTIO_REQUIRED_FEATURES;

	want = (want & ~TRANSPORT_MASK) | (want & RING_FEATURES);
	return offered & want;
}

/* Mark the device FAILED (virtio_dev_probe's error path) and return @err. */
static int fail(xensim_vdev *vd, int err)
{
	xensim_vdev_set_status(vd, XENSIM_VIRTIO_S_FAILED);
	return err;
}

int xensim_vdev_negotiate(xensim_vdev *vd, uint64_t wanted, uint64_t *accepted_out)
{
	uint8_t st;
	int rc;

	if (!vd)
		return -EINVAL;
	if (vd->negotiated)
		return -EALREADY;
	rc = xensim_vdev_set_status(vd, XENSIM_VIRTIO_S_DRIVER);
	if (rc == 0)
		rc = read_device_features(vd, &vd->device_features);
	if (rc < 0)
		return rc;
	/* Linux's xen grant-dma (virtio_features_ok) refuses devices without these two. */
	if ((vd->device_features & XENSIM_VIRTIO_REQUIRED_FEATURES) !=
	    XENSIM_VIRTIO_REQUIRED_FEATURES)
		return fail(vd, -EOPNOTSUPP);
	vd->features = accept_features(vd->device_features, wanted);
	rc = write_driver_features(vd, vd->features);
	if (rc == 0)
		rc = xensim_vdev_set_status(vd, XENSIM_VIRTIO_S_FEATURES_OK);
	if (rc == 0)
		rc = xensim_vdev_get_status(vd, &st);
	if (rc < 0)
		return rc;
	if (!(st & XENSIM_VIRTIO_S_FEATURES_OK))
		return fail(vd, -EIO); /* "virtio: device refuses features" */
	vd->negotiated = true;
	if (accepted_out)
		*accepted_out = vd->features;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Queues (vm_setup_vq / vm_del_vq)                                                            */

static int write64(xensim_vdev *vd, uint32_t lo_off, uint64_t v)
{
	int rc = vdev_write32(vd, lo_off, (uint32_t)v);

	return rc < 0 ? rc : vdev_write32(vd, lo_off + 4, (uint32_t)(v >> 32));
}

static int choose_size(xensim_vdev *vd, unsigned int index, unsigned int wish, unsigned int *num)
{
	uint32_t ready, max;
	int rc = vdev_write32(vd, VIRTIO_MMIO_QUEUE_SEL, index);

	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_QUEUE_READY, &ready);
	if (rc == 0 && ready)
		return -ENOENT; /* "already in use" */
	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_QUEUE_NUM_MAX, &max);
	if (rc < 0)
		return rc;
	if (max == 0)
		return -ENOENT;
	*num = (wish && wish < max) ? wish : max;
	if (*num > VIRTIO_MAX_QUEUE_SZ || (*num & (*num - 1)))
		return -EINVAL; /* vring_alloc_queue_split: "Bad virtqueue length" */
	return 0;
}

/* Allocate the ring, halving the size on allocation failure like vring_alloc_queue_split. */
static int create_ring(xensim_vdev *vd, unsigned int index, unsigned int num, xensim_vq **vq)
{
	int rc;

	for (;;) {
		rc = vq_create(vq, vd->g, vd->backend_domid, num, vd->features, vd, index);
		if (rc != -ENOMEM || vq_ring_bytes(num, NULL) <= XENSIM_PAGE_SIZE)
			return rc;
		num /= 2;
	}
}

static int activate(xensim_vdev *vd, xensim_vq *vq)
{
	uint32_t ready;
	int rc = vdev_write32(vd, VIRTIO_MMIO_QUEUE_NUM, vq->num);

	if (rc == 0)
		rc = write64(vd, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->ring_dma);
	if (rc == 0)
		rc = write64(vd, VIRTIO_MMIO_QUEUE_AVAIL_LOW, vq->ring_dma + 16u * vq->num);
	if (rc == 0)
		rc = write64(vd, VIRTIO_MMIO_QUEUE_USED_LOW, vq->ring_dma + vq->used_off);
	if (rc == 0)
		rc = vdev_write32(vd, VIRTIO_MMIO_QUEUE_READY, 1);
	if (rc == 0)
		rc = vdev_read32(vd, VIRTIO_MMIO_QUEUE_READY, &ready);
	if (rc == 0 && ready != 1)
		rc = -EIO;
	return rc;
}

static int setup_vq(xensim_vdev *vd, unsigned int index, unsigned int wish)
{
	xensim_vq *vq;
	unsigned int num;
	int rc = choose_size(vd, index, wish, &num);

	if (rc == 0)
		rc = create_ring(vd, index, num, &vq);
	if (rc < 0)
		return rc;
	vq->vcpu = vd->vcpu;
	vd->vqs[index] = vq;
	vd->nvqs = index + 1;
	return activate(vd, vq);
}

/* vm_del_vq: QueueReady 0 (read back), then free the ring. 0, -EBUSY or the MMIO error. */
static int del_vqs(xensim_vdev *vd)
{
	int rc = 0, r;
	uint32_t ready;

	for (unsigned int i = 0; i < vd->nvqs; i++) {
		if (!vd->vqs[i])
			continue;
		r = vdev_write32(vd, VIRTIO_MMIO_QUEUE_SEL, i);
		if (r == 0)
			r = vdev_write32(vd, VIRTIO_MMIO_QUEUE_READY, 0);
		if (r == 0)
			r = vdev_read32(vd, VIRTIO_MMIO_QUEUE_READY, &ready);
		r = vq_destroy(vd->vqs[i]);
		if (r == -EBUSY)
			rc = -EBUSY;
		vd->vqs[i] = NULL;
	}
	free(vd->vqs);
	vd->vqs = NULL;
	vd->nvqs = 0;
	return rc;
}

int xensim_vdev_setup_queues(xensim_vdev *vd, unsigned int nr, const unsigned int *sizes)
{
	int rc = 0;

	if (!vd || nr == 0 || nr > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	if (vd->vqs)
		return -EALREADY;
	if (!vd->negotiated)
		return -EPROTO;
	vd->vqs = calloc(nr, sizeof(*vd->vqs));
	if (!vd->vqs)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr && rc == 0; i++)
		rc = setup_vq(vd, i, sizes ? sizes[i] : 0);
	if (rc < 0)
		del_vqs(vd);
	return rc;
}

int xensim_vdev_ready(xensim_vdev *vd)
{
	if (!vd)
		return -EINVAL;
	return xensim_vdev_set_status(vd, XENSIM_VIRTIO_S_DRIVER_OK);
}

int xensim_vdev_init(xensim_vdev *vd, uint64_t wanted, unsigned int nr, unsigned int queue_size)
{
	unsigned int sizes[VIRTIO_MAX_QUEUES];
	int rc;

	if (!vd || nr == 0 || nr > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++)
		sizes[i] = queue_size;
	rc = xensim_vdev_negotiate(vd, wanted, NULL);
	if (rc == 0)
		rc = xensim_vdev_setup_queues(vd, nr, sizes);
	if (rc == 0)
		rc = xensim_vdev_ready(vd);
	return rc;
}

int xensim_vdev_free(xensim_vdev *vd)
{
	int rc, r;

	if (!vd)
		return 0;
	/* virtio_dev_remove: reset first so the device stops touching buffers and rings. */
	rc = xensim_vdev_reset(vd);
	r = del_vqs(vd);
	if (r == -EBUSY)
		rc = -EBUSY;
	free(vd);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Config space, interrupts                                                                    */

int xensim_vdev_config_generation(xensim_vdev *vd, uint32_t *gen_out)
{
	return vdev_read32(vd, VIRTIO_MMIO_CONFIG_GENERATION, gen_out);
}

/* One field access as vm_get()/vm_set(): 1, 2, 4 natural, 8 as two 32-bit halves. */
static int cfg_access(xensim_vdev *vd, uint32_t off, uint8_t *p, unsigned int size, bool wr)
{
	uint64_t addr = vd->base + VIRTIO_MMIO_CONFIG + off, v = 0;
	int rc;

	if (size == 8) {
		rc = cfg_access(vd, off, p, 4, wr);
		return rc < 0 ? rc : cfg_access(vd, off + 4, p + 4, 4, wr);
	}
	if (wr) {
		memcpy(&v, p, size); /* little-endian host, little-endian device */
		return xensim_mmio_write(vd->g, vd->vcpu, addr, size, v);
	}
	rc = xensim_mmio_read(vd->g, vd->vcpu, addr, size, &v);
	if (rc == 0)
		memcpy(p, &v, size);
	return rc;
}

static int cfg_rw(xensim_vdev *vd, uint32_t off, uint8_t *buf, size_t len, bool wr)
{
	int rc = 0;

	if (len == 1 || len == 2 || len == 4 || len == 8)
		return cfg_access(vd, off, buf, (unsigned int)len, wr);
	for (size_t i = 0; i < len && rc == 0; i++)
		rc = cfg_access(vd, off + (uint32_t)i, buf + i, 1, wr);
	return rc;
}

int xensim_vdev_config_read(xensim_vdev *vd, uint32_t off, void *buf, size_t len)
{
	uint32_t gen, gen2;
	int rc;

	if (!vd || !buf || off > CONFIG_SPACE_LEN || len > CONFIG_SPACE_LEN - off)
		return -EINVAL;
	for (int tries = 0; tries < CONFIG_GEN_RETRIES; tries++) {
		rc = xensim_vdev_config_generation(vd, &gen);
		if (rc == 0)
			rc = cfg_rw(vd, off, buf, len, false);
		if (rc == 0)
			rc = xensim_vdev_config_generation(vd, &gen2);
		if (rc < 0)
			return rc;
		if (gen == gen2)
			return 0;
	}
	return -EIO;
}

int xensim_vdev_config_write(xensim_vdev *vd, uint32_t off, const void *buf, size_t len)
{
	if (!vd || !buf || off > CONFIG_SPACE_LEN || len > CONFIG_SPACE_LEN - off)
		return -EINVAL;
	return cfg_rw(vd, off, (uint8_t *)buf, len, true);
}

int xensim_vdev_irq_wait(xensim_vdev *vd, int timeout_ms)
{
	uint32_t status;
	int rc;

	if (!vd)
		return -EINVAL;
	rc = xensim_irq_wait(vd->g, vd->irq, timeout_ms);
	if (rc == 0)
		return -ETIMEDOUT;
	if (rc < 0)
		return rc;
	/* vm_interrupt(): read the cause, acknowledge exactly what was read. */
	rc = vdev_read32(vd, VIRTIO_MMIO_INTERRUPT_STATUS, &status);
	if (rc == 0 && status)
		rc = vdev_write32(vd, VIRTIO_MMIO_INTERRUPT_ACK, status);
	if (rc < 0)
		return rc;
	if (status & XENSIM_VIRTIO_INT_CONFIG)
		vd->config_changes++;
	return (int)(status & 0x7fffffff);
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                   */

xensim_vq *xensim_vdev_vq(xensim_vdev *vd, unsigned int index)
{
	return vd && index < vd->nvqs ? vd->vqs[index] : NULL;
}

unsigned int xensim_vdev_nr_vqs(const xensim_vdev *vd)
{
	return vd->nvqs;
}

uint32_t xensim_vdev_device_id(const xensim_vdev *vd)
{
	return vd->device_id;
}

uint32_t xensim_vdev_vendor_id(const xensim_vdev *vd)
{
	return vd->vendor_id;
}

uint64_t xensim_vdev_device_features(const xensim_vdev *vd)
{
	return vd->device_features;
}

uint64_t xensim_vdev_features(const xensim_vdev *vd)
{
	return vd->features;
}

bool xensim_vdev_has_feature(const xensim_vdev *vd, unsigned int bit)
{
	return bit < 64 && (vd->features & XENSIM_VIRTIO_BIT(bit));
}

uint64_t xensim_vdev_base(const xensim_vdev *vd)
{
	return vd->base;
}

uint32_t xensim_vdev_irq(const xensim_vdev *vd)
{
	return vd->irq;
}

uint32_t xensim_vdev_backend_domid(const xensim_vdev *vd)
{
	return vd->backend_domid;
}

xensim_guest *xensim_vdev_guest(xensim_vdev *vd)
{
	return vd->g;
}

void xensim_vdev_set_vcpu(xensim_vdev *vd, unsigned int vcpu)
{
	vd->vcpu = vcpu;
	for (unsigned int i = 0; i < vd->nvqs; i++)
		if (vd->vqs[i])
			vd->vqs[i]->vcpu = vcpu;
}

uint64_t xensim_vdev_config_changes(const xensim_vdev *vd)
{
	return vd->config_changes;
}
