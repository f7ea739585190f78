/* SPDX-License-Identifier: MIT */
/*
 * tests/sim/test_gdma_world.h — shared setup of the gdma grant-mode sim tests: a fresh xensim
 * machine with one guest, a gdma context and queue for it, and helpers that build guest buffers
 * granted with grant-DMA (read-only for device-readable ones) and hand-filled requests.
 * Included by one test program each (static state); not a test program itself.
 */
#ifndef TEST_GDMA_WORLD_H
#define TEST_GDMA_WORLD_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <virtio-xen/gdma.h>
#include <xensim.h>

#define QSIZE	64
#define MAXD	16
#define BACKEND 0 /* this process acts as dom0 */

struct world {
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *guest;
	vxen_gdma *g;
	vxen_gdma_queue *q;
	const struct vxen_vq_mem_ops *ops;
};

struct treq {
	struct vxen_req r;
	struct vxen_desc d[MAXD];
	struct iovec iov[MAXD];
};

struct gbuf {
	uint64_t gpa, dma;
	uint8_t *p;
	size_t len;
};

static struct world w;

static inline void world_up_cfg(struct vxen_gdma_config *cfg)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;

	ck_assert_int_eq(xensim_server_start(&w.srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w.x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(w.x, &dc, &w.domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&w.guest, w.x, w.domid), 0);
	cfg->domid = w.domid;
	ck_assert_int_eq(vxen_gdma_new(&w.g, cfg), 0);
	ck_assert_int_eq(vxen_gdma_queue_new(&w.q, w.g, 0, QSIZE), 0);
	w.ops = vxen_gdma_mem_ops();
}

/*
 * The gdma tests were written for a 512-byte copy threshold: a 4 KiB buffer is mapped, headers
 * and status bytes are grant-copied. world_up() sets it explicitly, so the tests keep asserting
 * that path whatever the library default is; tests of the default use world_up_cfg() with
 * VXEN_GDMA_CONFIG_INIT.
 */
#define WORLD_COPY_THRESHOLD 512u

static inline void world_up(enum vxen_gdma_strategy strategy)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;

	cfg.strategy = strategy;
	cfg.copy_threshold = WORLD_COPY_THRESHOLD;
	world_up_cfg(&cfg);
}

static inline void world_down(void)
{
	vxen_gdma_queue_free(w.q);
	vxen_gdma_free(w.g);
	xensim_guest_detach(w.guest);
	xensim_close(w.x);
	xensim_server_stop(w.srv);
}

static inline struct xensim_counters counters(void)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(w.x, w.domid, &c), 0);
	return c;
}

/* A guest buffer at in-page offset @off, filled with @fill, granted for @dir to us. */
static inline struct gbuf gbuf_new(size_t off, size_t len, enum xensim_dma_dir dir, uint8_t fill)
{
	struct gbuf b = { .len = len };
	size_t npages = (off + len + 4095) / 4096;

	ck_assert_int_eq(xensim_guest_alloc_pages(w.guest, npages, &b.gpa), 0);
	b.gpa += off;
	b.p = xensim_guest_ptr(w.guest, b.gpa, len);
	ck_assert_ptr_nonnull(b.p);
	memset(b.p, fill, len);
	ck_assert_int_eq(xensim_dma_map(w.guest, BACKEND, b.gpa, len, dir, &b.dma), 0);
	return b;
}

static inline void treq_init(struct treq *t)
{
	memset(t, 0, sizeof(*t));
	t->r.desc = t->d;
	t->r.desc_cap = MAXD;
	t->r.iov = t->iov;
	t->r.iov_cap = MAXD;
}

static inline void treq_add(struct treq *t, uint64_t addr, uint32_t len, bool write)
{
	struct vxen_desc *d = &t->d[t->r.n_desc++];

	d->addr = addr;
	d->len = len;
	d->flags = write ? VXEN_DESC_F_WRITE : 0;
	if (write) {
		t->r.in_len += len;
	} else {
		t->r.n_out_desc++;
		t->r.out_len += len;
	}
}

static inline void pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static inline bool has_pattern(const uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + i * 7))
			return false;
	return true;
}

static inline bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* What vxen_vq_pop() does with a memory interface: map(), then the batch end for one chain. */
static inline int mem_map(vxen_gdma_queue *q, struct vxen_req *r)
{
	struct vxen_req *one = r;
	int rc = w.ops->map(q, r), res = 0;

	if (!rc)
		w.ops->map_many_end(q, &one, 1, &res);
	return rc ? rc : res;
}

/* What vxen_vq_push() and vxen_vq_publish() do: unmap(), then flush the copy-out. */
static inline void mem_unmap(vxen_gdma_queue *q, struct vxen_req *r, size_t written)
{
	w.ops->unmap(q, r, written);
	w.ops->flush(q);
}

static inline int do_map(struct treq *t)
{
	return mem_map(w.q, &t->r);
}

static inline void do_unmap(struct treq *t, size_t written)
{
	mem_unmap(w.q, &t->r, written);
}

/* Nothing of the guest is mapped by us, in Xen's view and in ours. */
static inline void assert_nothing_mapped(void)
{
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_pages, 0);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_requests, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* The crossing test                                                                           */

struct blk {
	struct gbuf hdr, data, status;
	struct treq t;
};

/* A virtio-blk request: 16-byte header (readable), one 4 KiB data buffer, 1-byte status. */
static inline void blk_build(struct blk *b, bool data_writable)
{
	b->hdr = gbuf_new(0, 16, XENSIM_DMA_TO_DEVICE, 0);
	pattern(b->hdr.p, 16, 0x40);
	b->data =
		gbuf_new(0, 4096, data_writable ? XENSIM_DMA_FROM_DEVICE : XENSIM_DMA_TO_DEVICE, 0);
	pattern(b->data.p, 4096, 0x50);
	b->status = gbuf_new(0, 1, XENSIM_DMA_FROM_DEVICE, 0xff);
	treq_init(&b->t);
	treq_add(&b->t, b->hdr.dma, 16, false);
	treq_add(&b->t, b->data.dma, 4096, data_writable);
	treq_add(&b->t, b->status.dma, 1, true);
}

#endif /* TEST_GDMA_WORLD_H */
