/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/gdma_vq_world.h — shared setup of the sim tests that run a real virtqueue over gdma:
 * a fresh xensim machine with one guest and a gdma context for it; xensim's split-ring driver
 * (a simulated Linux guest on grant-DMA) on the guest side; on the device side the rings mapped
 * with vxen_gdma_map_ring(), a gdma queue and a vxen_vq walking the rings over it. Also guest
 * memory helpers and virtio-blk reads added through the guest driver.
 * Included by one test program each (static state); not a test program itself.
 */
#ifndef GDMA_VQ_WORLD_H
#define GDMA_VQ_WORLD_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <virtio-xen/gdma.h>
#include <virtio-xen/vq.h>
#include <xensim-virtio.h>
#include <xensim.h>

#define BACKEND 0 /* this process acts as dom0 */
#define MAXD	16

struct world {
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *guest;
	vxen_gdma *g;
	vxen_gdma_queue *q;
	xensim_vq *dq; /* driver side */
	struct xensim_vq_raw raw;
	vxen_gdma_ring *ring[3];
	vxen_vq *vq;
};

struct dreq {
	struct vxen_req r;
	struct vxen_desc d[MAXD];
	struct iovec iov[MAXD];
};

static struct world w;

/* The machine, its guest and a gdma context configured by @gcfg (its domid filled in). */
static inline void machine_up_cfg(const struct vxen_gdma_config *gcfg)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;
	struct vxen_gdma_config cfg = *gcfg;

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(xensim_server_start(&w.srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w.x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(w.x, &dc, &w.domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&w.guest, w.x, w.domid), 0);
	cfg.domid = w.domid;
	ck_assert_int_eq(vxen_gdma_new(&w.g, &cfg), 0);
}

/* Detach from the guest and stop the machine (the gdma context is freed already). */
static inline void machine_stop(void)
{
	xensim_guest_detach(w.guest);
	xensim_close(w.x);
	xensim_server_stop(w.srv);
}

/* The guest's queue of @num entries with @features, its rings mapped by gdma, a gdma queue
 * attached to @vc: what remains is vxen_vq_new(&w.vq, vc). */
static inline void rings_up(uint64_t features, unsigned int num, struct vxen_vq_config *vc)
{
	unsigned int ev = features & (1ull << VXEN_F_EVENT_IDX) ? 2 : 0;

	ck_assert_int_eq(xensim_vq_new(&w.dq, w.guest, BACKEND, num, features), 0);
	ck_assert_int_eq(xensim_vq_raw(w.dq, &w.raw), 0);
	ck_assert_int_eq(vxen_gdma_map_ring(&w.ring[0], w.g, w.raw.desc_dma, 16 * num, 16), 0);
	ck_assert_int_eq(vxen_gdma_map_ring(&w.ring[1], w.g, w.raw.avail_dma, 4 + 2 * num + ev, 2),
			 0);
	ck_assert_int_eq(vxen_gdma_map_ring(&w.ring[2], w.g, w.raw.used_dma, 4 + 8 * num + ev, 4),
			 0);
	ck_assert_int_eq(vxen_gdma_queue_new(&w.q, w.g, 0, (uint32_t)num), 0);
	vc->size = num;
	vc->features = features | 1ull << VXEN_F_VERSION_1 | 1ull << VXEN_F_ACCESS_PLATFORM;
	vc->desc = vxen_gdma_ring_ptr(w.ring[0]);
	vc->avail = vxen_gdma_ring_ptr(w.ring[1]);
	vc->used = vxen_gdma_ring_ptr(w.ring[2]);
	vxen_gdma_queue_attach(w.q, vc);
}

/* Device side first (vq, gdma queue, rings), then the guest's queue. */
static inline void vq_down(void)
{
	vxen_vq_free(w.vq);
	vxen_gdma_queue_free(w.q);
	for (int i = 0; i < 3; i++)
		vxen_gdma_unmap_ring(w.ring[i]);
	vxen_gdma_free(w.g);
	ck_assert_int_eq(xensim_vq_free(w.dq), 0); /* -EBUSY if a grant were still mapped */
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	machine_stop();
}

static inline struct xensim_counters counters(void)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(w.x, w.domid, &c), 0);
	return c;
}

static inline uint64_t ring_pages(void)
{
	struct vxen_gdma_dev_stats ds;

	vxen_gdma_dev_stats(w.g, &ds);
	return ds.ring_live_pages;
}

/* Free the device's vq, which releases every request it holds (only the rings stay mapped),
 * then its gdma queue; vq_down() skips both. */
static inline void vq_queue_free(void)
{
	vxen_vq_free(w.vq);
	w.vq = NULL;
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_requests, 0);
	vxen_gdma_queue_free(w.q);
	w.q = NULL;
}

/* Unmap the rings too: nothing of the guest stays mapped; vq_down() skips them. */
static inline void rings_unmap(void)
{
	for (int i = 0; i < 3; i++) {
		vxen_gdma_unmap_ring(w.ring[i]);
		w.ring[i] = NULL;
	}
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
}

static inline void dreq_init(struct dreq *d)
{
	memset(d, 0, sizeof(*d));
	d->r.desc = d->d;
	d->r.desc_cap = MAXD;
	d->r.iov = d->iov;
	d->r.iov_cap = MAXD;
}

/* @n requests of @d, their addresses in @ptrs. */
static inline void dreqs_init(struct dreq *d, unsigned int n, struct vxen_req **ptrs)
{
	for (unsigned int i = 0; i < n; i++) {
		dreq_init(&d[i]);
		ptrs[i] = &d[i].r;
	}
}

static inline uint64_t galloc(size_t len, uint8_t fill)
{
	uint64_t gpa;

	ck_assert_int_eq(xensim_guest_alloc_pages(w.guest, (len + 4095) / 4096, &gpa), 0);
	memset(xensim_guest_ptr(w.guest, gpa, len), fill, len);
	return gpa;
}

static inline uint8_t *gptr(uint64_t gpa, size_t len)
{
	return xensim_guest_ptr(w.guest, gpa, len);
}

/* A virtio-blk read: header (16, readable), data (4096, writable), status (1, writable). */
struct blk {
	uint64_t hdr, data, status;
};

/* Added through the guest driver with token @tag + 1, the header filled with @tag. */
static inline struct blk blk_add(int tag)
{
	struct blk b = { galloc(16, (uint8_t)tag), galloc(4096, 0), galloc(1, 0xff) };
	struct xensim_sg out[] = { { b.hdr, 16 } };
	struct xensim_sg in[] = { { b.data, 4096 }, { b.status, 1 } };

	ck_assert_int_eq(xensim_vq_add(w.dq, out, 1, in, 2, (void *)(uintptr_t)(tag + 1)), 0);
	return b;
}

#endif /* GDMA_VQ_WORLD_H */
