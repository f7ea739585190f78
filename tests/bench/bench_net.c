/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_net.c — virtio-net through the example daemon's socket backend.
 *
 * Per strategy one virtio-xen-net process serves one NIC of a fresh guest (explicit mode,
 * --socket: it connects to a SOCK_SEQPACKET socket this program listens on; one message is the
 * 12-byte virtio_net_hdr and a frame). A helper thread per daemon plays the far end of the
 * link: it counts every message it receives and, during an "rx" phase, sends frames as fast as
 * the socket takes them. This thread (the guest) runs xensim's virtio-net driver.
 *  - tx: the guest sends frames of 64 or 1500 bytes as fast as it can; frames/s is what reached
 *    the far end during the window.
 *  - rx: the far end sends; frames/s is what the guest received.
 * Crossings per frame come from xensim's per-guest counters over the same window; kicks are
 * the driver's QueueNotify writes on the queue it feeds (transmitq for tx, receiveq for rx:
 * re-posted buffers). Rounds alternate between the strategies, best round reported.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xensim-virtio.h>

#include "bench.h"

#define BASE	 0x2000000ull
#define IRQ	 33u
#define WAIT_MS	 5000
#define ROUNDS	 5
#define HDR	 12u
#define MAXFRAME 1514u

struct netw {
	struct bench_daemon d;
	uint32_t domid;
	xensim_guest *g;
	xensim_net *net;
	char path[108];
	int lfd, fd;
	pthread_t thr;
	bool thr_up;
	/* shared with the thread */
	volatile int stop;
	volatile unsigned int send_len; /* 0: do not send */
	volatile uint64_t received, sent;
};

/* The far end of the link. */
static void *peer(void *arg)
{
	struct netw *w = arg;
	uint8_t in[65600], out[HDR + MAXFRAME];

	memset(out, 0, sizeof(out));
	memset(out + HDR, 0xff, 6); /* broadcast destination */
	while (!w->stop) {
		unsigned int len = w->send_len;
		struct pollfd p = { w->fd, POLLIN | (len ? POLLOUT : 0), 0 };

		if (poll(&p, 1, 50) <= 0)
			continue;
		if (p.revents & POLLIN) {
			while (recv(w->fd, in, sizeof(in), MSG_DONTWAIT) > 0)
				w->received++;
		}
		if (len && (p.revents & POLLOUT)) {
			while (w->send_len && send(w->fd, out, HDR + len, MSG_DONTWAIT) > 0)
				w->sent++;
		}
		if (p.revents & (POLLHUP | POLLERR))
			break;
	}
	return NULL;
}

static int listen_at(struct netw *w, unsigned int i)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");

	snprintf(w->path, sizeof(w->path), "%s/vxen-bench-net-%d-%u.sock",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid(), i);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", w->path);
	unlink(w->path);
	w->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (w->lfd < 0)
		return -errno;
	if (bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(w->lfd, 1))
		return -errno;
	return 0;
}

static int accept_peer(struct netw *w)
{
	struct pollfd p = { w->lfd, POLLIN, 0 };

	for (int i = 0; i < WAIT_MS / 50; i++) {
		if (poll(&p, 1, 50) == 1) {
			w->fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			return w->fd < 0 ? -errno : 0;
		}
		if (!bench_daemon_alive(&w->d))
			return -ECHILD;
	}
	return -ETIMEDOUT;
}

static int guest_up(struct netw *w)
{
	struct xensim_net_opts o = XENSIM_NET_OPTS_INIT;
	int r = xensim_guest_attach(&w->g, bench_x, w->domid);

	if (r)
		return r;
	r = -EFAULT;
	for (int i = 0; i < WAIT_MS / 10 && r == -EFAULT; i++) {
		r = xensim_net_new(&w->net, w->g, 0, BASE, IRQ, &o);
		if (r == -EFAULT)
			usleep(10000);
	}
	return r;
}

static void netw_down(struct netw *w)
{
	w->stop = 1;
	if (w->thr_up)
		pthread_join(w->thr, NULL);
	if (w->net)
		xensim_net_free(w->net);
	if (w->g)
		xensim_guest_detach(w->g);
	if (w->domid)
		xensim_domain_destroy(bench_x, w->domid);
	if (w->d.pid > 0)
		bench_daemon_stop(&w->d, 0, 2000);
	bench_daemon_cleanup(&w->d);
	if (w->fd > 0)
		close(w->fd);
	if (w->lfd > 0)
		close(w->lfd);
	if (w->path[0])
		unlink(w->path);
	memset(w, 0, sizeof(*w));
}

static int netw_up(struct netw *w, unsigned int i)
{
	const struct bench_strategy *st;
	char dom[16], base[32], irq[16];
	const char *args[16] = { "--domid", dom,	"--base", base, "--irq",
				 irq,	    "--socket", w->path,  "-q" };
	int r;

	memset(w, 0, sizeof(*w));
	bench_strategies(&st);
	r = listen_at(w, i);
	r = r ?: bench_guest_new(&w->domid, 64, 1);
	if (r)
		return r;
	snprintf(dom, sizeof(dom), "%u", w->domid);
	snprintf(base, sizeof(base), "0x%llx", BASE);
	snprintf(irq, sizeof(irq), "%u", IRQ);
	args[9] = st[i].option;
	r = bench_daemon_start(&w->d, bench_opts.net_daemon, args);
	if (r)
		return r == -EACCES ? -ENOENT : r;
	r = accept_peer(w);
	r = r ?: guest_up(w);
	if (!r) {
		r = -pthread_create(&w->thr, NULL, peer, w);
		w->thr_up = !r;
	}
	if (r == -ECHILD && i) {
		if (bench_daemon_refused(&w->d)) {
			bench_note("net: %s refuses %s: strategy %s skipped", bench_opts.net_daemon,
				   st[i].option, st[i].name);
			return -EOPNOTSUPP;
		}
	}
	if (r)
		bench_daemon_dump(&w->d);
	return r;
}

/* ------------------------------------------------------------------------------------------ */

struct acc {
	struct xensim_counters sum;
	uint64_t kicks, frames;
	double best;
};

static uint64_t notifies(struct netw *w, unsigned int q)
{
	struct xensim_vq_stats st;

	xensim_vq_get_stats(xensim_vdev_vq(xensim_net_vdev(w->net), q), &st);
	return st.notifies;
}

/* One window of @secs; returns frames moved or -errno. */
static int64_t window(struct netw *w, bool tx, unsigned int len, double secs)
{
	static uint8_t frame[MAXFRAME], buf[65536];
	uint64_t end = bench_now_ns() + (uint64_t)(secs * 1e9), n0 = w->received, got = 0;
	int r = 0;

	memset(frame, 0xff, 6);
	if (!tx)
		w->send_len = len;
	while (!r && bench_now_ns() < end) {
		size_t flen;

		if (tx) {
			r = xensim_net_send(w->net, NULL, frame, len, WAIT_MS);
		} else {
			r = xensim_net_recv(w->net, NULL, buf, sizeof(buf), &flen, 200);
			if (r == -ETIMEDOUT)
				r = 0;
			else
				got += !r;
		}
	}
	w->send_len = 0;
	if (!tx) {
		size_t flen;

		/* Let the far end stop, then take what is still queued for the guest. */
		usleep(20000);
		while (xensim_net_recv(w->net, NULL, buf, sizeof(buf), &flen, 0) == 0)
			;
	} else {
		xensim_net_tx_reclaim(w->net);
		got = w->received - n0;
	}
	return r ? r : (int64_t)got;
}

static int round_one(struct netw *w, bool tx, unsigned int len, double secs, struct acc *a)
{
	struct xensim_counters x, y;
	uint64_t k0 = notifies(w, tx ? 1 : 0), t0;
	int64_t n;

	xensim_counters_get(bench_x, w->domid, &x);
	t0 = bench_now_ns();
	n = window(w, tx, len, secs);
	xensim_counters_get(bench_x, w->domid, &y);
	if (n < 0)
		return (int)n;
	for (size_t i = 0; i < sizeof(x) / sizeof(uint64_t); i++)
		((uint64_t *)&a->sum)[i] += ((uint64_t *)&y)[i] - ((uint64_t *)&x)[i];
	a->kicks += notifies(w, tx ? 1 : 0) - k0;
	a->frames += (uint64_t)n;
	if ((double)n / ((double)(bench_now_ns() - t0) / 1e9) > a->best)
		a->best = (double)n / ((double)(bench_now_ns() - t0) / 1e9);
	return 0;
}

static int measure(struct netw *w, const bool *up, bool tx, unsigned int len)
{
	static const struct xensim_counters zero;
	const struct bench_strategy *st;
	unsigned int ns = bench_strategies(&st);
	struct acc a[BENCH_MAX_STRATEGIES] = { 0 };
	char name[64];
	int r = 0;

	snprintf(name, sizeof(name), "net_%s_%u", tx ? "tx" : "rx", len);
	for (unsigned int i = 0; i < ns && !r; i++) {
		int64_t n = up[i] ? window(&w[i], tx, len, 0.1) : 0;

		r = n < 0 ? (int)n : 0;
	}
	for (int k = 0; k < ROUNDS && !r; k++)
		for (unsigned int i = 0; i < ns && !r; i++)
			if (up[i])
				r = round_one(&w[i], tx, len, bench_opts.duration / ROUNDS, &a[i]);
	for (unsigned int i = 0; i < ns && !r; i++) {
		struct bench_cross cr;
		char prefix[96];

		if (!up[i])
			continue;
		snprintf(prefix, sizeof(prefix), "%s.%s", name, st[i].name);
		bench_putf(a[i].best, "frames/s", "%s.frames_per_s", prefix);
		if (!a[i].frames)
			continue;
		bench_cross_diff(&cr, &zero, &a[i].sum, a[i].kicks, (double)a[i].frames);
		bench_cross_put(prefix, "frame", &cr);
	}
	if (!r)
		bench_putf(up[1] ? a[0].best / a[1].best : NAN, "x", "%s.ratio_frames_per_s", name);
	if (r)
		fprintf(stderr, "net: %s: %s\n", name, strerror(-r));
	return r;
}

int bench_net(void)
{
	static const unsigned int lens[] = { 64, 1500 };
	const struct bench_strategy *st;
	unsigned int ns = bench_strategies(&st);
	bool up[BENCH_MAX_STRATEGIES] = { false };
	struct netw *w;
	int r = 0;

	if (access(bench_opts.net_daemon, X_OK))
		return -ENOENT;
	bench_note("net: virtio-xen-net (%s), socket backend; lib vs naive (per-desc)",
		   bench_opts.net_daemon);
	w = calloc(BENCH_MAX_STRATEGIES, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (unsigned int i = 0; i < ns && !r; i++) {
		r = netw_up(&w[i], i);
		up[i] = !r;
		if (r == -EOPNOTSUPP)
			r = 0;
	}
	for (unsigned int t = 0; t < 2 && !r; t++)
		for (unsigned int l = 0; l < 2 && !r; l++)
			r = measure(w, up, t == 0, lens[l]);
	for (unsigned int i = 0; i < ns; i++)
		netw_down(&w[i]);
	free(w);
	return r;
}
