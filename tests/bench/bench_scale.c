/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_scale.c — one backend process serving 8 guests x 8 virtio-blk disks.
 *
 * virtio-xen-blk runs in discovery mode (--queues 1). This program plays the toolstack (xl's
 * xenstore entries for 64 disks, each its own sparse tmpfs image) and the 8 guests (xensim's
 * virtio-blk driver probes every disk: 256-entry queue, EVENT_IDX and INDIRECT_DESC), then
 * reads 4 KiB from every disk once so each device has served a request.
 *
 * Figures:
 *  - backend_ready_s: from the first xenstore write until every backend wrote state 2
 *    (InitWait: device created, window claimed);
 *  - up_s: until every guest driver has probed its disks and read from each (DRIVER_OK, queues
 *    live, one request served);
 *  - rss_per_dev_kib: the daemon's resident memory (smaps Rss) after bring-up minus before it
 *    (daemon started, no device), divided by 64;
 *  - rss_per_dev_beyond_maps_kib: the same without the daemon's mappings of guest memory
 *    (the xensim RAM memfd: ring mappings, the ioreq page, and xensim's grant-copy window,
 *    which on Xen is not the backend's memory at all);
 *  - guest_maps_per_dev_kib: those mappings, per device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xensim-virtio.h>

#include "bench.h"

#define GUESTS	8u
#define DISKS	8u
#define NDEV	(GUESTS * DISKS)
#define BASE	0x2000000ull
#define IRQ	33u
#define WAIT_MS 10000

struct scale {
	struct bench_daemon d;
	uint32_t domid[GUESTS];
	xensim_guest *g[GUESTS];
	xensim_blk *blk[GUESTS][DISKS];
	char img[NDEV][128];
};

static int images(struct scale *s)
{
	for (unsigned int i = 0; i < NDEV; i++) {
		int fd;

		snprintf(s->img[i], sizeof(s->img[i]), "%s/vxen-bench-%d-s%u.img",
			 bench_opts.shm_dir, (int)getpid(), i);
		fd = open(s->img[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, 16 << 20)) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			return -e;
		}
		close(fd);
	}
	return 0;
}

static int toolstack(struct scale *s)
{
	int r = 0;

	for (unsigned int g = 0; g < GUESTS && !r; g++) {
		r = bench_guest_new(&s->domid[g], 16, 1);
		for (unsigned int k = 0; k < DISKS && !r; k++) {
			struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;

			d.kind = XENSIM_VIRTIO_DISK;
			d.frontend_domid = s->domid[g];
			d.devid = k;
			d.virtio_id = XENSIM_VIRTIO_ID_BLOCK;
			d.base = BASE + k * 0x200ull;
			d.irq = IRQ + k;
			d.params = s->img[g * DISKS + k];
			d.mode = "w";
			r = xensim_xl_add_virtio(bench_x, &d);
		}
	}
	return r;
}

static int backends_ready(struct scale *s)
{
	for (unsigned int g = 0; g < GUESTS; g++)
		for (unsigned int k = 0; k < DISKS; k++) {
			char p[128];
			int r;

			snprintf(p, sizeof(p), "/local/domain/0/backend/virtio_disk/%u/%u/state",
				 s->domid[g], k);
			r = xensim_xs_wait(bench_x, p, "2", WAIT_MS);
			if (r)
				return r;
		}
	return 0;
}

static int guests(struct scale *s)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	static uint8_t buf[4096];
	int r = 0;

	o.nr_queues = 1;
	for (unsigned int g = 0; g < GUESTS && !r; g++) {
		r = xensim_guest_attach(&s->g[g], bench_x, s->domid[g]);
		for (unsigned int k = 0; k < DISKS && !r; k++) {
			r = xensim_blk_new(&s->blk[g][k], s->g[g], 0, BASE + k * 0x200ull, IRQ + k,
					   &o);
			r = r ?: xensim_blk_read(s->blk[g][k], 0, 0, buf, sizeof(buf), WAIT_MS);
		}
	}
	return r;
}

static void teardown(struct scale *s)
{
	for (unsigned int g = 0; g < GUESTS; g++) {
		for (unsigned int k = 0; k < DISKS; k++)
			if (s->blk[g][k])
				xensim_blk_free(s->blk[g][k]);
		if (s->g[g])
			xensim_guest_detach(s->g[g]);
		if (s->domid[g])
			xensim_xl_destroy(bench_x, s->domid[g]);
	}
	bench_daemon_cleanup(&s->d);
	for (unsigned int i = 0; i < NDEV; i++)
		if (s->img[i][0])
			unlink(s->img[i]);
}

static int measure(struct scale *s)
{
	const char *args[] = { "--queues", "1", "-q", NULL };
	uint64_t rss0, g0, rss1, g1;
	double t0, t1, t2;
	int r;

	r = bench_daemon_start(&s->d, bench_opts.blk_daemon, args);
	if (r)
		return r == -EACCES ? -ENOENT : r;
	usleep(500000); /* let it start and watch xenstore */
	if (!bench_daemon_alive(&s->d))
		return -ECHILD;
	r = bench_rss(s->d.pid, &rss0, &g0);
	t0 = bench_now_s();
	r = r ?: toolstack(s);
	r = r ?: backends_ready(s);
	t1 = bench_now_s();
	r = r ?: guests(s);
	t2 = bench_now_s();
	r = r ?: bench_rss(s->d.pid, &rss1, &g1);
	if (r)
		return r;
	bench_put("scale.devices", NDEV, "");
	bench_put("scale.lib.backend_ready_s", t1 - t0, "s");
	bench_put("scale.lib.up_s", t2 - t0, "s");
	bench_put("scale.lib.rss_idle_kib", (double)rss0 / 1024, "KiB");
	bench_put("scale.lib.rss_per_dev_kib", (double)(rss1 - rss0) / 1024 / NDEV, "KiB");
	bench_put("scale.lib.rss_per_dev_beyond_maps_kib",
		  ((double)(rss1 - g1) - (double)(rss0 - g0)) / 1024 / NDEV, "KiB");
	bench_put("scale.lib.guest_maps_per_dev_kib", (double)(g1 - g0) / 1024 / NDEV, "KiB");
	return 0;
}

int bench_scale(void)
{
	struct scale *s;
	int r;

	if (access(bench_opts.blk_daemon, X_OK))
		return -ENOENT;
	bench_note("scale: one virtio-xen-blk (discovery mode, 1 queue per disk), %u guests x %u "
		   "disks",
		   GUESTS, DISKS);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = images(s);
	r = r ?: measure(s);
	if (r) {
		fprintf(stderr, "scale: %s\n", strerror(-r));
		bench_daemon_dump(&s->d);
	}
	teardown(s);
	free(s);
	return r;
}
