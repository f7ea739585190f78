/* SPDX-License-Identifier: MIT */
/*
 * helper_hostile.c — see helper_hostile.h.
 */
#include <check.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <virtio-xen/log.h>
#include <virtio-xen/mmio.h>

#include "blk.h"
#include "helper_hostile.h"

/* ------------------------------------------------------------------------------------------ */
/* The backend thread                                                                          */

void hw_call(struct hw *w, void (*fn)(void *arg), void *arg)
{
	testloop_call(w->loop, fn, arg);
}

static void do_block(void *arg)
{
	struct hw *w = arg;
	uint64_t v;

	ck_assert_int_eq(read(w->blockfd, &v, sizeof(v)), sizeof(v));
}

void hw_block(struct hw *w)
{
	testloop_post(w->loop, do_block, w);
}

void hw_unblock(struct hw *w)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(w->blockfd, &one, sizeof(one)), sizeof(one));
	/* Wait until the blocked call has returned, so the next hw_call() cannot race it. */
	testloop_wait(w->loop);
}

/* ------------------------------------------------------------------------------------------ */
/* Devices: the blk example, created on the backend thread                                     */

struct dev_args {
	struct hw *w;
	struct hw_dev *d;
	uint64_t base;
	uint32_t irq;
	unsigned int queues;
	bool grants;
	int r;
};

void hw_make_image(char *path, size_t n)
{
	size_t size = (size_t)HW_SECTORS * 512;
	uint8_t *img = malloc(size);
	int fd;

	ck_assert_ptr_nonnull(img);
	for (uint64_t s = 0; s < HW_SECTORS; s++) {
		uint64_t le = htole64(s);

		memset(img + 512 * s, (int)(s & 0xff), 512);
		memcpy(img + 512 * s, &le, sizeof(le));
	}
	snprintf(path, n, "%s/hw-img-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, size), (ssize_t)size);
	close(fd);
	free(img);
}

bool hw_sector_ok(const uint8_t *buf, uint64_t sector)
{
	uint64_t le = htole64(sector);

	if (memcmp(buf, &le, sizeof(le)))
		return false;
	for (unsigned int i = 8; i < 512; i++)
		if (buf[i] != (uint8_t)(sector & 0xff))
			return false;
	return true;
}

/*
 * The grant strategy under test: VXEN_HOSTILE_GDMA=per-desc (map every descriptor), =map (a
 * 512-byte copy threshold: data buffers mapped, batched), or unset / =batched (the default:
 * everything up to a page copied, batched). ctest runs the catalogue with each. Devices in
 * foreign mode (grant_usage=0) have one strategy and keep the defaults.
 */
static const struct vxen_gdma_config *gdma_under_test(struct vxen_gdma_config *gc, bool grants)
{
	const char *s = getenv("VXEN_HOSTILE_GDMA");

	*gc = (struct vxen_gdma_config)VXEN_GDMA_CONFIG_INIT;
	if (!grants || !s || !strcmp(s, "batched")) /* foreign mode has one strategy */
		return gc;
	if (!strcmp(s, "per-desc"))
		gc->strategy = VXEN_GDMA_PER_DESC;
	else if (!strcmp(s, "map"))
		gc->copy_threshold = 512;
	else
		ck_abort_msg("VXEN_HOSTILE_GDMA=%s: batched, per-desc or map", s);
	return gc;
}

bool hw_per_desc(void)
{
	const char *s = getenv("VXEN_HOSTILE_GDMA");

	return s && !strcmp(s, "per-desc");
}

static void do_dev_new(void *arg)
{
	struct dev_args *a = arg;
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;
	struct vxen_gdma_config gc;
	struct vxen_xs_device info = { .version = VXEN_XS_DEVICE_VERSION };
	vxen_loop *loop = testloop_loop(a->w->loop);
	struct blk_opts *o = calloc(1, sizeof(*o));
	char desc[256];

	*o = (struct blk_opts){ .queues = a->queues, .threads = 2, .io = BLK_IO_THREADS };
	a->d->opts = o;
	a->r = vxen_loop_ioreq_get(loop, a->w->domid, &a->d->srv);
	if (a->r)
		return;
	info.kind = VXEN_XS_KIND_DISK;
	info.frontend_domid = a->w->domid;
	info.virtio_id = 2;
	info.base = a->base;
	info.irq = a->irq;
	info.grant_usage = a->grants;
	info.writable = true;
	info.params = a->d->img;
	cfg.domid = a->w->domid;
	cfg.base = a->base;
	cfg.irq = (struct vxen_irq){ .kind = VXEN_IRQ_SPI, .line = a->irq };
	cfg.grants = a->grants;
	cfg.server = a->d->srv;
	cfg.gdma = gdma_under_test(&gc, a->grants);
	a->r = blk_create(loop, &info, &cfg, &a->d->dev, desc, sizeof(desc), o);
	if (!a->r)
		a->r = vxen_loop_add_dev(loop, a->d->dev);
}

static void dev_new(struct hw *w, struct hw_dev *d, uint64_t base, uint32_t irq,
		    unsigned int queues, bool grants)
{
	struct dev_args a = { w, d, base, irq, queues, grants, 0 };

	hw_make_image(d->img, sizeof(d->img));
	hw_call(w, do_dev_new, &a);
	ck_assert_msg(a.r == 0, "blk_create: %s", strerror(-a.r));
}

static void do_dev_free(void *arg)
{
	struct dev_args *a = arg;
	vxen_loop *loop = testloop_loop(a->w->loop);

	if (a->d->dev) {
		vxen_loop_del_dev(loop, a->d->dev);
		blk_destroy(a->d->dev, a->d->opts);
	}
	vxen_loop_ioreq_put(loop, a->d->srv);
}

static void dev_free(struct hw *w, struct hw_dev *d)
{
	struct dev_args a = { .w = w, .d = d };

	if (!d->srv)
		return;
	hw_call(w, do_dev_free, &a);
	free(d->opts);
	unlink(d->img);
	memset(d, 0, sizeof(*d));
}

struct stats_args {
	struct hw_dev *d;
	unsigned int q;
	struct vxen_dev_stats ds;
	struct vxen_dev_queue_stats qs;
	int r;
};

static void do_stats(void *arg)
{
	struct stats_args *a = arg;

	vxen_dev_stats(a->d->dev, &a->ds);
	a->r = vxen_dev_queue_stats(a->d->dev, a->q, &a->qs);
}

struct vxen_dev_stats hw_dstats(struct hw *w, struct hw_dev *d)
{
	struct stats_args a = { .d = d };

	hw_call(w, do_stats, &a);
	return a.ds;
}

struct vxen_dev_queue_stats hw_qstats(struct hw *w, struct hw_dev *d, unsigned int q)
{
	struct stats_args a = { .d = d, .q = q };

	hw_call(w, do_stats, &a);
	ck_assert_int_eq(a.r, 0);
	return a.qs;
}

/* ------------------------------------------------------------------------------------------ */
/* World                                                                                       */

int hw_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void quiet_log(int level, const char *msg, void *payload)
{
	(void)level, (void)msg, (void)payload;
}

struct xensim_counters hw_counters(struct hw *w)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(w->x, w->domid, &c), 0);
	return c;
}

void hw_init_a(struct hw *w, uint64_t features, const unsigned int *sizes)
{
	unsigned int nq = w->o.a_queues;

	if (!features)
		features = XENSIM_BLK_DEFAULT_FEATURES;
	if (!w->vd)
		ck_assert_int_eq(xensim_vdev_probe(&w->vd, w->g, 0, HW_BASE_A, HW_IRQ_A), 0);
	ck_assert_int_eq(xensim_vdev_negotiate(w->vd, features, NULL), 0);
	ck_assert_int_eq(xensim_vdev_setup_queues(w->vd, nq, sizes), 0);
	ck_assert_int_eq(xensim_vdev_ready(w->vd), 0);
	w->q0 = xensim_vdev_vq(w->vd, 0);
	w->q1 = nq > 1 ? xensim_vdev_vq(w->vd, 1) : NULL;
	ck_assert_int_eq(xensim_vq_raw(w->q0, &w->raw), 0);
	w->avail = 0;
}

void hw_up(struct hw *w, const struct hw_opts *o)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;
	unsigned int sizes[2] = { 0, 0 };

	memset(w, 0, sizeof(*w));
	if (o)
		w->o = *o;
	if (!w->o.a_queues)
		w->o.a_queues = 2;
	if (!w->o.keep_log)
		vxen_log_set_handler(quiet_log, LOG_DEBUG, NULL); /* formats every message */
	w->fds_before = hw_count_fds();
	dc.vcpus = HW_VCPUS;
	ck_assert_int_eq(xensim_server_start(&w->srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w->x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(w->x, &dc, &w->domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&w->g, w->x, w->domid), 0);
	xensim_guest_set_timeout(w->g, HW_TMO);
	w->blockfd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(w->blockfd, 0);
	ck_assert_int_eq(testloop_start(&w->loop), 0);
	dev_new(w, &w->a, HW_BASE_A, HW_IRQ_A, w->o.a_queues, !w->o.a_foreign);
	if (!w->o.no_b) {
		dev_new(w, &w->b, HW_BASE_B, HW_IRQ_B, 1, true);
		ck_assert_int_eq(xensim_blk_new(&w->bdrv, w->g, 0, HW_BASE_B, HW_IRQ_B, NULL), 0);
	}
	if (w->o.a_foreign)
		return; /* the test drives A's registers itself */
	ck_assert_int_eq(xensim_vdev_probe(&w->vd, w->g, 0, HW_BASE_A, HW_IRQ_A), 0);
	sizes[0] = w->o.q0_size;
	if (!w->o.a_probe_only)
		hw_init_a(w, w->o.a_features, sizes);
}

void hw_down(struct hw *w)
{
	struct xensim_counters c;

	if (w->bdrv)
		ck_assert_int_eq(xensim_blk_free(w->bdrv), 0);
	if (w->vd)
		ck_assert_int_eq(xensim_vdev_free(w->vd), 0);
	/* Every buffer the test granted must be free of backend mappings by now. */
	for (unsigned int i = 0; i < w->nbufs; i++) {
		if (w->bufs[i].mapped)
			ck_assert_msg(xensim_dma_unmap(w->g, w->bufs[i].dma, w->bufs[i].len) == 0,
				      "buffer %u still mapped by the backend", i);
		xensim_gbuf_free(w->g, &w->bufs[i].gb);
	}
	dev_free(w, &w->a);
	dev_free(w, &w->b);
	testloop_stop(w->loop);
	close(w->blockfd);
	c = hw_counters(w);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_uint_eq(c.evtchn_live_ports, 0);
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.fmem_live_pages, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
	if (!w->o.allow_end_busy) {
		ck_assert_uint_eq(c.gnt_end_busy, 0);
		ck_assert_uint_eq(xensim_guest_broken(w->g), 0);
	}
	xensim_guest_detach(w->g);
	xensim_close(w->x);
	xensim_server_stop(w->srv);
	vxen_log_set_handler(NULL, 0, NULL);
	ck_assert_int_eq(hw_count_fds(), w->fds_before);
}

/* ------------------------------------------------------------------------------------------ */
/* Registers                                                                                   */

uint64_t hw_rd_sized(struct hw *w, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	ck_assert_int_eq(xensim_mmio_read(w->g, 0, HW_BASE_A + off, size, &v), 0);
	return v;
}

void hw_wr_sized(struct hw *w, uint64_t off, unsigned int size, uint64_t v)
{
	ck_assert_int_eq(xensim_mmio_write(w->g, 0, HW_BASE_A + off, size, v), 0);
}

uint32_t hw_rd(struct hw *w, uint64_t off)
{
	return (uint32_t)hw_rd_sized(w, off, 4);
}

void hw_wr(struct hw *w, uint64_t off, uint32_t v)
{
	hw_wr_sized(w, off, 4, v);
}

uint32_t hw_status(struct hw *w)
{
	return hw_rd(w, VXEN_MMIO_STATUS);
}

/* ------------------------------------------------------------------------------------------ */
/* Buffers and the raw ring                                                                    */

uint64_t hw_buf(struct hw *w, size_t len, enum xensim_dma_dir dir, void **host)
{
	unsigned int i = w->nbufs++;

	ck_assert_uint_lt(i, HW_MAX_BUFS);
	ck_assert_int_eq(xensim_gbuf_alloc(w->g, len, &w->bufs[i].gb), 0);
	ck_assert_int_eq(xensim_dma_map(w->g, 0, w->bufs[i].gb.gpa, len, dir, &w->bufs[i].dma), 0);
	w->bufs[i].len = len;
	w->bufs[i].mapped = true;
	if (host)
		*host = w->bufs[i].gb.host;
	return w->bufs[i].dma;
}

void hw_buf_revoke(struct hw *w, uint64_t dma)
{
	for (unsigned int i = 0; i < w->nbufs; i++) {
		uint64_t first = (w->bufs[i].dma & ~XENSIM_GRANT_DMA_BIT) >> 12;
		size_t pages = (w->bufs[i].dma % 4096 + w->bufs[i].len + 4095) / 4096;

		if (w->bufs[i].dma != dma)
			continue;
		for (size_t p = 0; p < pages; p++)
			ck_assert_int_eq(xensim_grant_revoke(w->g, (uint32_t)(first + p)), 0);
		w->bufs[i].mapped = false;
		return;
	}
	ck_abort_msg("no such buffer");
}

void hw_desc(struct hw *w, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
	     uint16_t next)
{
	ck_assert_int_eq(xensim_vq_raw_set_desc(w->q0, i, addr, len, flags, next), 0);
}

void hw_avail(struct hw *w, uint16_t head)
{
	xensim_vq_raw_set_avail(w->q0, w->avail, head);
	w->avail++;
	xensim_vq_raw_set_avail_idx(w->q0, w->avail);
}

void hw_kick(struct hw *w)
{
	ck_assert_int_eq(xensim_vq_notify(w->q0), 0);
}

uint16_t hw_used_idx(struct hw *w)
{
	return le16toh(__atomic_load_n(&w->raw.used[1], __ATOMIC_ACQUIRE));
}

void hw_used(struct hw *w, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint32_t *e = (const uint32_t *)w->raw.used_ring + 2 * (i % w->raw.num);

	*id = le32toh(__atomic_load_n(&e[0], __ATOMIC_RELAXED));
	*len = le32toh(__atomic_load_n(&e[1], __ATOMIC_RELAXED));
}

bool hw_wait_used(struct hw *w, uint16_t idx, int ms)
{
	for (int t = 0; t <= ms; t++) {
		if ((uint16_t)(hw_used_idx(w) - idx) < 0x8000)
			return true;
		usleep(1000);
	}
	return false;
}

void hw_expect_used(struct hw *w, uint16_t i, uint32_t id, uint32_t len)
{
	uint32_t got_id, got_len;

	ck_assert_msg(hw_wait_used(w, (uint16_t)(i + 1), HW_TMO), "used entry %u never came",
		      (unsigned int)i);
	hw_used(w, i, &got_id, &got_len);
	ck_assert_uint_eq(got_id, id);
	ck_assert_uint_eq(got_len, len);
}

uint16_t hw_blk_chain(struct hw *w, uint16_t d, uint32_t type, uint64_t sector, size_t data_len,
		      uint8_t **status, uint8_t **data)
{
	uint8_t *hdr, *st, *buf = NULL;
	uint64_t hdr_dma = hw_buf(w, 16, XENSIM_DMA_TO_DEVICE, (void **)&hdr);
	uint64_t st_dma = hw_buf(w, 1, XENSIM_DMA_FROM_DEVICE, (void **)&st);
	uint32_t t = htole32(type);
	uint64_t s = htole64(sector);
	uint16_t n = d + 1;

	memcpy(hdr, &t, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &s, 8);
	*st = 0xff;
	if (data_len) {
		bool out = type == BLK_T_OUT;
		uint64_t dd =
			hw_buf(w, data_len, out ? XENSIM_DMA_TO_DEVICE : XENSIM_DMA_FROM_DEVICE,
			       (void **)&buf);

		hw_desc(w, n, dd, (uint32_t)data_len, (uint16_t)(D_NEXT | (out ? 0 : D_WRITE)),
			(uint16_t)(n + 1));
		n++;
	}
	hw_desc(w, d, hdr_dma, 16, D_NEXT, d + 1);
	hw_desc(w, n, st_dma, 1, D_WRITE, 0);
	if (status)
		*status = st;
	if (data)
		*data = buf;
	return d;
}

void hw_serve_one(struct hw *w, uint16_t d, uint64_t sector)
{
	uint8_t *st, *data;
	uint16_t head = hw_blk_chain(w, d, BLK_T_IN, sector, 512, &st, &data);
	uint16_t u = hw_used_idx(w); /* everything before was answered (or dropped) */

	hw_avail(w, head);
	hw_kick(w);
	hw_expect_used(w, u, head, 513);
	ck_assert_uint_eq(*st, BLK_S_OK);
	ck_assert(hw_sector_ok(data, sector));
}

/* ------------------------------------------------------------------------------------------ */
/* Outcome checks                                                                              */

static int blk_req_q1(struct hw *w, uint64_t sector)
{
	struct xensim_gbuf b;
	uint8_t *hdr, *st, *data;
	struct xensim_sg out, in[2];
	void *token = NULL;
	uint32_t len = 0;
	int r;

	ck_assert_int_eq(xensim_gbuf_alloc(w->g, 4096 + 512, &b), 0);
	hdr = b.host;
	st = hdr + 16;
	data = (uint8_t *)b.host + 4096;
	memset(hdr, 0, 16);
	hdr[8] = (uint8_t)sector; /* sector < 256, type 0 (IN) */
	*st = 0xff;
	out = (struct xensim_sg){ b.gpa, 16 };
	in[0] = (struct xensim_sg){ b.gpa + 4096, 512 };
	in[1] = (struct xensim_sg){ b.gpa + 16, 1 };
	ck_assert_int_eq(xensim_vq_add(w->q1, &out, 1, in, 2, &b), 0);
	ck_assert_int_ge(xensim_vq_kick(w->q1), 0);
	r = xensim_vq_wait(w->q1, HW_TMO);
	if (r == 0)
		r = xensim_vq_get_buf(w->q1, &token, &len);
	if (r == 1) {
		ck_assert_ptr_eq(token, &b);
		ck_assert_uint_eq(len, 513);
		ck_assert_uint_eq(*st, BLK_S_OK);
		ck_assert(hw_sector_ok(data, sector));
		r = 0;
	}
	xensim_gbuf_free(w->g, &b);
	return r;
}

void hw_assert_q1_serves(struct hw *w)
{
	ck_assert_ptr_nonnull(w->q1);
	ck_assert_int_eq(blk_req_q1(w, 7), 0);
}

void hw_assert_b_serves(struct hw *w)
{
	uint8_t buf[4096];

	if (!w->bdrv)
		return;
	ck_assert_int_eq(xensim_blk_read(w->bdrv, 0, 40, buf, sizeof(buf), HW_TMO), 0);
	for (unsigned int s = 0; s < 8; s++)
		ck_assert(hw_sector_ok(buf + 512 * s, 40 + s));
}

void hw_assert_broken(struct hw *w)
{
	struct vxen_dev_queue_stats qs = hw_qstats(w, &w->a, 0);
	struct vxen_dev_stats ds = hw_dstats(w, &w->a);

	ck_assert(qs.broken);
	ck_assert_uint_eq(qs.vq.broken, 1);
	ck_assert_uint_ge(ds.queue_breaks, 1);
	ck_assert_uint_ne(hw_status(w) & XENSIM_VIRTIO_S_DEVICE_NEEDS_RESET, 0);
	/* The driver was told: a configuration change interrupt (virtio 1.2 §2.1.2). */
	ck_assert_uint_ne(hw_rd(w, VXEN_MMIO_INTERRUPT_STATUS) & XENSIM_VIRTIO_INT_CONFIG, 0);
}

static uint64_t b_ring_pages(struct hw *w)
{
	return w->b.dev ? hw_dstats(w, &w->b).gdma.ring_live_pages : 0;
}

void hw_assert_reset_clean(struct hw *w)
{
	struct vxen_dev_stats ds;

	ck_assert_int_eq(xensim_vdev_reset(w->vd), 0);
	ck_assert_uint_eq(hw_status(w), 0);
	ds = hw_dstats(w, &w->a);
	ck_assert_uint_eq(ds.gdma.ring_live, 0);
	ck_assert_uint_eq(ds.gdma.ring_live_pages, 0);
	ck_assert_uint_eq(ds.drain_timeouts, 0);
	for (unsigned int q = 0; q < w->o.a_queues; q++) {
		struct vxen_dev_queue_stats qs = hw_qstats(w, &w->a, q);

		ck_assert(!qs.enabled && !qs.broken);
		ck_assert_uint_eq(qs.inflight, 0);
		ck_assert_uint_eq(qs.gdma.live_requests, 0);
		ck_assert_uint_eq(qs.gdma.live_pages, 0);
	}
	/* Xen's view: what is still mapped in the guest is exactly B's rings. */
	ck_assert_uint_eq(hw_counters(w).gnt_live_pages, b_ring_pages(w));
}

void hw_epilogue(struct hw *w)
{
	if (w->q1)
		hw_assert_q1_serves(w);
	hw_assert_b_serves(w);
	hw_assert_reset_clean(w);
	/* A Linux driver re-probes after a reset: a fresh vdev, same device. */
	ck_assert_int_eq(xensim_vdev_free(w->vd), 0);
	w->vd = NULL;
	hw_init_a(w, w->o.a_features, NULL);
	hw_serve_one(w, 0, 3);
	hw_assert_q1_serves(w);
}

/* ------------------------------------------------------------------------------------------ */
/* main()                                                                                      */

int hw_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int hw_run_tests(const char *suite, const char *tcase, unsigned int timeout,
		 const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(suite);
	TCase *t = tcase_create(tcase);

	for (size_t i = 0; i < n; i++)
		tcase_add_test(t, tests[i]);
	if (timeout)
		tcase_set_timeout(t, timeout);
	suite_add_tcase(s, t);
	return hw_run_suite(s);
}
