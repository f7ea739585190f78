/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_blk.c — virtio-blk through the example daemon, per strategy.
 *
 * For each strategy ("lib": the library's default, batched maps and grant copy for small
 * buffers; "naive": --grant-strategy per-desc, one map and unmap per descriptor as backends
 * without the library do) one virtio-xen-blk process serves one disk (a tmpfs image, one
 * request queue, default I/O engine) to a fresh guest, in explicit mode. This process is the
 * guest: xensim's virtio-blk driver, asynchronous submit/complete. A workload keeps `depth`
 * requests in flight: it collects every completed request after an interrupt, resubmits as many
 * and kicks once (Linux blk-mq's commit at the end of a batch; the kick is suppressed when
 * EVENT_IDX says the device is still draining).
 *
 * Figures per workload and strategy: requests/s, and per request the backend's Xen library
 * calls by kind (xensim's per-guest counters: grant map/unmap/copy, event-channel notifies and
 * deliveries, device-model ops), ioreqs, interrupts (irq raises) and guest kicks (QueueNotify
 * writes, counted by the driver). System calls by kind come from a separate short run of the
 * same workload with `strace -c -f` attached to the daemon (tracing slows the daemon, which
 * changes batching a little: those counts are per request of the traced run).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xensim-virtio.h>

#include "bench.h"

#define BASE	  0x2000000ull
#define IRQ	  33u
#define IMAGE_MIB 128u
#define MAX_DEPTH 32u
#define WAIT_MS	  5000
#define WARMUP_S  0.2

struct workload {
	const char *name;
	uint32_t type; /* XENSIM_VIRTIO_BLK_T_IN / _OUT */
	size_t size;
	unsigned int depth;
	bool sequential;
};

static const struct workload workloads[] = {
	{ "blk_randread_4k_qd1", XENSIM_VIRTIO_BLK_T_IN, 4096, 1, false },
	{ "blk_randread_4k_qd32", XENSIM_VIRTIO_BLK_T_IN, 4096, 32, false },
	{ "blk_randwrite_4k_qd1", XENSIM_VIRTIO_BLK_T_OUT, 4096, 1, false },
	{ "blk_randwrite_4k_qd32", XENSIM_VIRTIO_BLK_T_OUT, 4096, 32, false },
	{ "blk_seqread_64k_qd8", XENSIM_VIRTIO_BLK_T_IN, 65536, 8, true },
};
#define NWL (sizeof(workloads) / sizeof(workloads[0]))

struct slot {
	struct xensim_blk_req req;
	struct xensim_sg sg;
	struct xensim_gbuf buf;
};

struct blkw {
	struct bench_daemon d;
	uint32_t domid;
	xensim_guest *g;
	xensim_blk *blk;
	xensim_vq *vq;
	struct slot slots[MAX_DEPTH];
	uint64_t rng, next_sector, sectors;
};

/* One image per daemon: a writable image is locked by the device that serves it. */
static char image[BENCH_MAX_STRATEGIES][256];

static int image_create(char *path, size_t len, unsigned int i)
{
	int fd, r;

	snprintf(path, len, "%s/vxen-bench-%d-%u.img", bench_opts.shm_dir, (int)getpid(), i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* Real pages (not holes), so reads copy memory like a cached disk would. */
	r = posix_fallocate(fd, 0, (off_t)IMAGE_MIB << 20);
	close(fd);
	return -r;
}

/* ------------------------------------------------------------------------------------------ */
/* Daemon and guest                                                                            */

static int attach(struct blkw *w)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	int r;

	o.nr_queues = 1;
	r = xensim_guest_attach(&w->g, bench_x, w->domid);
	if (r)
		return r;
	r = -EFAULT;
	/* -EFAULT: no ioreq server claims the window yet (the daemon is starting). */
	for (int i = 0; i < WAIT_MS / 10 && r; i++) {
		r = xensim_blk_new(&w->blk, w->g, 0, BASE, IRQ, &o);
		if (r == -EFAULT) {
			if (!bench_daemon_alive(&w->d))
				return -ECHILD;
			usleep(10000);
		} else if (r) {
			return r;
		}
	}
	if (r)
		return r;
	w->vq = xensim_vdev_vq(xensim_blk_vdev(w->blk), 0);
	w->sectors = xensim_blk_config(w->blk)->capacity;
	for (unsigned int i = 0; i < MAX_DEPTH; i++) {
		r = xensim_gbuf_alloc(w->g, 65536, &w->slots[i].buf);
		if (r)
			return r;
	}
	return 0;
}

static void blkw_down(struct blkw *w)
{
	if (w->blk)
		xensim_blk_free(w->blk);
	if (w->g)
		xensim_guest_detach(w->g);
	if (w->domid)
		xensim_domain_destroy(bench_x, w->domid);
	/* Explicit mode: the daemon exits when its guest is gone (noticed within a second). */
	if (w->d.pid > 0) {
		double t0 = bench_now_s();

		if (bench_daemon_stop(&w->d, 0, 5000) == -1)
			bench_note(
				"blk: daemon still running %.1f s after its guest was destroyed; "
				"stopping it",
				bench_now_s() - t0);
		else if (bench_opts.verbose)
			bench_note("blk: daemon exited %.2f s after its guest", bench_now_s() - t0);
	}
	bench_daemon_cleanup(&w->d);
	memset(w, 0, sizeof(*w));
}

static int blkw_up(struct blkw *w, const struct bench_strategy *s, const char *img)
{
	char dom[16], base[32], irq[16];
	const char *args[16] = { "--domid", dom, "--base",   base, "--irq", irq,
				 "--image", img, "--queues", "1",  "-q" };
	unsigned int n = 11;
	int r;

	memset(w, 0, sizeof(*w));
	w->rng = 0x9e3779b97f4a7c15ull;
	r = bench_guest_new(&w->domid, 64, 2);
	if (r)
		return r;
	snprintf(dom, sizeof(dom), "%u", w->domid);
	snprintf(base, sizeof(base), "0x%llx", BASE);
	snprintf(irq, sizeof(irq), "%u", IRQ);
	if (s->option)
		args[n++] = s->option;
	r = bench_daemon_start(&w->d, bench_opts.blk_daemon, args);
	if (r)
		return r == -ENOENT || r == -EACCES ? -ENOENT : r;
	r = attach(w);
	if (r == -ECHILD) {
		if (s->option && bench_daemon_refused(&w->d)) {
			bench_note("blk: %s refuses %s (not supported yet): strategy %s skipped",
				   bench_opts.blk_daemon, s->option, s->name);
			r = -EOPNOTSUPP;
		} else {
			bench_daemon_dump(&w->d);
		}
	} else if (r) {
		bench_daemon_dump(&w->d);
	}
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Workloads                                                                                   */

static void prepare(struct blkw *w, const struct workload *wl, struct slot *s)
{
	uint64_t span = w->sectors - wl->size / 512;

	if (wl->sequential) {
		if (w->next_sector > span)
			w->next_sector = 0;
		s->req.sector = w->next_sector;
		w->next_sector += wl->size / 512;
	} else {
		/* 4 KiB-aligned random offsets over the whole image. */
		s->req.sector = bench_rand(&w->rng) % (span / 8 + 1) * 8;
	}
	s->req.type = wl->type;
	s->sg = (struct xensim_sg){ s->buf.gpa, (uint32_t)wl->size };
	s->req.sg = &s->sg;
	s->req.nsg = 1;
	s->req.priv = s;
}

struct run {
	uint64_t done, errors;
	double secs;
};

/* Keep wl->depth requests in flight for @secs, then let them finish. */
static int run(struct blkw *w, const struct workload *wl, double secs, struct run *out)
{
	uint64_t end, t0 = bench_now_ns();
	unsigned int inflight = 0;
	int r = 0;

	end = t0 + (uint64_t)(secs * 1e9);
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < wl->depth && !r; i++) {
		prepare(w, wl, &w->slots[i]);
		r = xensim_blk_submit(w->blk, 0, &w->slots[i].req, false);
		inflight += !r;
	}
	r = r ?: xensim_blk_kick(w->blk, 0) < 0;
	while (!r && inflight) {
		struct xensim_blk_req *done;
		bool more = bench_now_ns() < end;
		unsigned int resubmit = 0;
		int c = xensim_blk_complete(w->blk, 0, WAIT_MS, &done);

		/* Everything that completed: the first waited for, the rest already there. */
		while (c == 1) {
			struct slot *s = done->priv;

			inflight--;
			out->done++;
			out->errors += done->status != XENSIM_VIRTIO_BLK_S_OK || done->error;
			if (more) {
				prepare(w, wl, s);
				r = xensim_blk_submit(w->blk, 0, &s->req, false);
				if (r)
					break;
				inflight++;
				resubmit++;
			}
			c = xensim_blk_complete(w->blk, 0, 0, &done);
		}
		if (c < 0)
			r = c;
		if (!r && resubmit)
			r = xensim_blk_kick(w->blk, 0) < 0;
	}
	out->secs = (double)(bench_now_ns() - t0) / 1e9;
	return r;
}

static uint64_t kicks(struct blkw *w)
{
	struct xensim_vq_stats st;

	xensim_vq_get_stats(w->vq, &st);
	return st.notifies;
}

#define ROUNDS 5

/* Accumulated over the rounds of one workload and strategy. */
struct acc {
	struct xensim_counters sum;
	uint64_t kicks, done;
	double best; /* req/s of the best round */
};

static void acc_add(struct acc *a, const struct xensim_counters *x, const struct xensim_counters *y)
{
	uint64_t *s = (uint64_t *)&a->sum;
	const uint64_t *p = (const uint64_t *)x, *q = (const uint64_t *)y;

	for (size_t i = 0; i < sizeof(a->sum) / sizeof(uint64_t); i++)
		s[i] += q[i] - p[i];
}

static int round_one(struct blkw *w, const struct workload *wl, double secs, struct acc *a)
{
	struct xensim_counters x, y;
	struct run rr;
	uint64_t k0 = kicks(w);
	int r;

	xensim_counters_get(bench_x, w->domid, &x);
	r = run(w, wl, secs, &rr);
	xensim_counters_get(bench_x, w->domid, &y);
	if (r)
		return r;
	if (rr.errors) {
		fprintf(stderr, "blk: %s: %llu requests failed\n", wl->name,
			(unsigned long long)rr.errors);
		return -EIO;
	}
	acc_add(a, &x, &y);
	a->kicks += kicks(w) - k0;
	a->done += rr.done;
	if ((double)rr.done / rr.secs > a->best)
		a->best = (double)rr.done / rr.secs;
	return 0;
}

static void acc_put(const struct workload *wl, const char *strat, const struct acc *a)
{
	static const struct xensim_counters zero;
	struct bench_cross cr;
	char prefix[96];

	snprintf(prefix, sizeof(prefix), "%s.%s", wl->name, strat);
	bench_putf(a->best, "req/s", "%s.req_per_s", prefix);
	bench_putf(a->best * (double)wl->size / 1048576.0, "MiB/s", "%s.mib_per_s", prefix);
	bench_cross_diff(&cr, &zero, &a->sum, a->kicks, (double)a->done);
	bench_cross_put(prefix, "req", &cr);
}

/*
 * Every strategy's daemon runs at once; rounds alternate between them so that the machine's
 * other load hits both alike. req/s is the best round's; crossings add up every round.
 */
static int measure(struct blkw *w, const bool *up, const struct workload *wl)
{
	const struct bench_strategy *st;
	unsigned int ns = bench_strategies(&st);
	struct acc a[BENCH_MAX_STRATEGIES] = { 0 };
	int r = 0;

	for (unsigned int i = 0; i < ns && !r; i++) {
		struct run rr;

		if (up[i])
			r = run(&w[i], wl, WARMUP_S, &rr);
	}
	for (int k = 0; k < ROUNDS && !r; k++)
		for (unsigned int i = 0; i < ns && !r; i++)
			if (up[i])
				r = round_one(&w[i], wl, bench_opts.duration / ROUNDS, &a[i]);
	for (unsigned int i = 0; i < ns && !r; i++)
		if (up[i])
			acc_put(wl, st[i].name, &a[i]);
	return r;
}

/* A short run with strace -c -f attached to the daemon: system calls per request by kind. */
static int syscalls(struct blkw *w, const struct workload *wl, const char *strat)
{
	struct bench_syscalls sc;
	struct bench_strace st;
	struct run rr;
	double secs = bench_opts.duration / 3 < 1.0 ? bench_opts.duration / 3 : 1.0;
	int r = bench_strace_start(&st, w->d.pid);

	if (r)
		return r;
	r = run(w, wl, secs, &rr);
	if (bench_strace_stop(&st, &sc) || r || !rr.done)
		return r ?: -ENODATA;
	bench_putf((double)sc.total / (double)rr.done, NULL, "%s.%s.syscalls_per_req", wl->name,
		   strat);
	for (unsigned int i = 0; i < sc.n; i++) {
		double per = (double)sc.v[i].calls / (double)rr.done;

		if (per >= 0.01)
			bench_putf(per, NULL, "%s.%s.sys.%s_per_req", wl->name, strat,
				   sc.v[i].name);
	}
	return 0;
}

static int run_all(struct blkw *w)
{
	const struct bench_strategy *st;
	unsigned int ns = bench_strategies(&st);
	bool up[BENCH_MAX_STRATEGIES] = { false };
	int r = 0;

	for (unsigned int i = 0; i < ns && !r; i++) {
		r = blkw_up(&w[i], &st[i], image[i]);
		up[i] = !r;
		if (r == -EOPNOTSUPP && i)
			r = 0;
	}
	for (unsigned int i = 0; i < NWL && !r; i++) {
		r = measure(w, up, &workloads[i]);
		for (unsigned int j = 0; j < ns && !r && bench_opts.syscalls; j++) {
			int e = up[j] ? syscalls(&w[j], &workloads[i], st[j].name) : 0;

			if (e)
				bench_note("blk: %s %s: no syscall counts (%s)", workloads[i].name,
					   st[j].name, strerror(-e));
		}
		for (unsigned int j = 0; j < ns && r; j++)
			if (up[j])
				bench_daemon_dump(&w[j].d);
	}
	for (unsigned int i = 0; i < ns; i++)
		blkw_down(&w[i]);
	return r;
}

static double req_per_s(const char *wl, const char *strat)
{
	char key[112];

	snprintf(key, sizeof(key), "%s.%s.req_per_s", wl, strat);
	return bench_get(key);
}

int bench_blk(void)
{
	struct blkw *w;
	int r;

	bench_note("blk: virtio-xen-blk (%s), tmpfs image, 1 queue; lib vs naive (per-desc)",
		   bench_opts.blk_daemon);
	for (unsigned int i = 0; i < BENCH_MAX_STRATEGIES; i++) {
		r = image_create(image[i], sizeof(image[i]), i);
		if (r) {
			fprintf(stderr, "blk: %s: %s\n", image[i], strerror(-r));
			while (i--)
				unlink(image[i]);
			return r;
		}
	}
	w = calloc(BENCH_MAX_STRATEGIES, sizeof(*w));
	r = w ? run_all(w) : -ENOMEM;
	free(w);
	for (unsigned int i = 0; i < BENCH_MAX_STRATEGIES; i++)
		unlink(image[i]);
	if (r)
		return r;
	for (unsigned int i = 0; i < NWL; i++) {
		double lib = req_per_s(workloads[i].name, "lib");
		double naive = req_per_s(workloads[i].name, "naive");

		bench_putf(isnan(naive) ? NAN : lib / naive, "x", "%s.ratio_req_per_s",
			   workloads[i].name);
		if (bench_opts.copy_threshold) {
			const struct bench_strategy *st;

			bench_strategies(&st);
			bench_putf(req_per_s(workloads[i].name, st[2].name) / lib, "x",
				   "%s.%s_to_lib_req_per_s", workloads[i].name, st[2].name);
		}
	}
	return 0;
}
