/* SPDX-License-Identifier: MIT */
/*
 * lib/loop.c — the optional epoll loop: fds, signals (signalfd), per-guest refcounted ioreq
 * servers, devices and xenstore watchers. The backend on top is in loop_backend.c.
 *
 * Entries are heap objects referenced by epoll's data.ptr. Removing one during a dispatch batch
 * only marks it dead and parks it on a graveyard freed after the batch, so an event fetched for
 * it in the same batch is skipped instead of touching freed memory.
 *
 * Guest death: a timerfd, armed only while some live guest's server is held, makes the loop
 * probe every such server with vxen_ioreq_server_check() once per period.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <virtio-xen/loop.h>

#include "internal.h"

#define MAX_EVENTS 64

enum entry_kind { E_FD, E_STOP, E_SIGNAL, E_PROBE, E_IOREQ, E_DEV, E_XS };

struct guest;

struct entry {
	int fd;
	enum entry_kind kind;
	bool dead;
	vxen_loop_fd_fn fn;
	void *payload;
	void *obj;		    /* E_DEV: vxen_dev, E_IOREQ: struct guest, E_XS: watcher */
	vxen_ioreq_server *srv_ref; /* E_DEV made by vxen_loop_dev_new(): reference to put */
	struct entry *next_dead;
};

struct guest {
	uint32_t domid;
	vxen_ioreq_server *srv;
	unsigned int refs;
	bool dead;   /* found gone (or failed): no longer polled nor probed */
	bool notify; /* dead, and the guest-gone callback is still owed */
	struct entry *e;
	struct guest *next;
};

struct sig {
	vxen_loop_signal_fn fn;
	void *payload;
	bool set;
};

struct vxen_loop {
	int epfd;
	int stopfd;
	bool stopping;
	int error; /* returned by vxen_loop_run() after an internal stop */

	struct entry **by_fd; /* live entries indexed by fd */
	int nr_fd;
	struct entry *graveyard;
	unsigned int depth; /* dispatch nesting */

	struct guest *guests;
	vxen_loop_guest_fn guest_fn;
	void *guest_payload;

	int probefd;		     /* timerfd of the guest probe */
	unsigned int probe_ms;	     /* configured period, 0: off */
	unsigned int probe_armed_ms; /* period the timer runs with now, 0: disarmed */
	struct vxen_ratelimit probe_rl;

	int sigfd;
	sigset_t sigmask, orig_mask;
	bool mask_saved;
	struct sig sigs[_NSIG];
};

/* ------------------------------------------------------------------------------------------ */
/* Entries                                                                                     */

static struct entry *lookup(const vxen_loop *loop, int fd)
{
	return fd >= 0 && fd < loop->nr_fd ? loop->by_fd[fd] : NULL;
}

static int grow(vxen_loop *loop, int fd)
{
	int n = loop->nr_fd ? loop->nr_fd : 64;
	struct entry **p;

	while (n <= fd)
		n *= 2;
	if (n == loop->nr_fd)
		return 0;
	p = realloc(loop->by_fd, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + loop->nr_fd, 0, (n - loop->nr_fd) * sizeof(*p));
	loop->by_fd = p;
	loop->nr_fd = n;
	return 0;
}

static int add_entry(vxen_loop *loop, int fd, uint32_t events, enum entry_kind kind,
		     struct entry **out)
{
	struct epoll_event ev = { .events = events };
	struct entry *e = NULL;
	int r;

	if (fd < 0)
		return -EINVAL;
	if (lookup(loop, fd))
		return -EEXIST;
	r = grow(loop, fd);
	if (r)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->kind = kind;
	ev.data.ptr = e;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		free(e);
		return r;
	}
	loop->by_fd[fd] = e;
	*out = e;
	return 0;
}

static void del_entry(vxen_loop *loop, struct entry *e)
{
	/* The fd may already be closed (its owner freed it): ENOENT/EBADF are fine. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	loop->by_fd[e->fd] = NULL;
	e->dead = true;
	if (loop->depth) {
		e->next_dead = loop->graveyard;
		loop->graveyard = e;
	} else {
		free(e);
	}
}

static void bury(vxen_loop *loop)
{
	while (loop->graveyard) {
		struct entry *e = loop->graveyard;

		loop->graveyard = e->next_dead;
		free(e);
	}
}

VXEN_EXPORT int vxen_loop_add_fd(vxen_loop *loop, int fd, uint32_t events, vxen_loop_fd_fn fn,
				 void *payload)
{
	struct entry *e = NULL;
	int r;

	if (!loop || !fn)
		return -EINVAL;
	r = add_entry(loop, fd, events, E_FD, &e);
	if (r)
		return r;
	e->fn = fn;
	e->payload = payload;
	return 0;
}

VXEN_EXPORT int vxen_loop_mod_fd(vxen_loop *loop, int fd, uint32_t events)
{
	struct entry *e = lookup(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!e)
		return -ENOENT;
	ev.data.ptr = e;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

VXEN_EXPORT int vxen_loop_del_fd(vxen_loop *loop, int fd)
{
	struct entry *e = lookup(loop, fd);

	if (!e)
		return -ENOENT;
	del_entry(loop, e);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Creation, stop                                                                              */

VXEN_EXPORT int vxen_loop_new(vxen_loop **out)
{
	vxen_loop *loop = calloc(1, sizeof(*loop));
	struct entry *e = NULL;
	int r;

	if (!loop)
		return -ENOMEM;
	loop->sigfd = -1;
	loop->stopfd = -1;
	loop->probefd = -1;
	loop->probe_ms = VXEN_LOOP_GUEST_PROBE_DEFAULT_MS;
	sigemptyset(&loop->sigmask);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		r = -errno;
		free(loop);
		return r;
	}
	loop->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r = loop->stopfd < 0 ? -errno : add_entry(loop, loop->stopfd, EPOLLIN, E_STOP, &e);
	if (!r) {
		loop->probefd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		r = loop->probefd < 0 ? -errno
				      : add_entry(loop, loop->probefd, EPOLLIN, E_PROBE, &e);
	}
	if (r) {
		vxen_loop_free(loop);
		return r;
	}
	*out = loop;
	return 0;
}

VXEN_EXPORT void vxen_loop_stop(vxen_loop *loop)
{
	uint64_t one = 1;
	ssize_t r;

	/* Only write(2): async-signal-safe, and an eventfd counter cannot block at this rate. */
	r = write(loop->stopfd, &one, sizeof(one));
	(void)r;
}

static void drain_signals(vxen_loop *loop)
{
	struct signalfd_siginfo si;

	while (read(loop->sigfd, &si, sizeof(si)) == sizeof(si))
		;
}

static bool have_live_guest(const vxen_loop *loop)
{
	for (const struct guest *g = loop->guests; g; g = g->next)
		if (!g->dead)
			return true;
	return false;
}

/* Run the probe timer iff it has something to probe: an idle loop must not wake up. */
static int probe_update(vxen_loop *loop)
{
	unsigned int ms = have_live_guest(loop) ? loop->probe_ms : 0;
	struct itimerspec its = { 0 };

	if (ms == loop->probe_armed_ms)
		return 0;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	its.it_interval = its.it_value; /* all zero: disarm (and drop expirations not yet read) */
	if (timerfd_settime(loop->probefd, 0, &its, NULL) < 0) {
		int r = -errno;

		vxen_log(LOG_ERR, "loop: guest probe timer: %s", strerror(-r));
		return r;
	}
	loop->probe_armed_ms = ms;
	return 0;
}

static void free_guest(vxen_loop *loop, struct guest *g)
{
	struct guest **pp = &loop->guests;

	while (*pp != g)
		pp = &(*pp)->next;
	*pp = g->next;
	if (g->e)
		del_entry(loop, g->e);
	vxen_ioreq_server_free(g->srv);
	free(g);
	probe_update(loop);
}

VXEN_EXPORT void vxen_loop_free(vxen_loop *loop)
{
	if (!loop)
		return;
	while (loop->guests)
		free_guest(loop, loop->guests);
	for (int fd = 0; fd < loop->nr_fd; fd++)
		if (loop->by_fd[fd])
			del_entry(loop, loop->by_fd[fd]);
	bury(loop);
	if (loop->sigfd >= 0) {
		/* Consume what is pending so unblocking does not deliver it with its default
		 * action (which would kill the process). */
		drain_signals(loop);
		close(loop->sigfd);
	}
	if (loop->mask_saved)
		pthread_sigmask(SIG_SETMASK, &loop->orig_mask, NULL);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	if (loop->probefd >= 0)
		close(loop->probefd);
	close(loop->epfd);
	free(loop->by_fd);
	free(loop);
}

/* ------------------------------------------------------------------------------------------ */
/* Signals                                                                                     */

VXEN_EXPORT int vxen_loop_add_signal(vxen_loop *loop, int signo, vxen_loop_signal_fn fn,
				     void *payload)
{
	sigset_t one;
	struct entry *e = NULL;
	int fd, r;

	if (!loop || signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP)
		return -EINVAL;
	if (loop->sigs[signo].set)
		return -EEXIST;
	sigemptyset(&one);
	sigaddset(&one, signo);
	r = pthread_sigmask(SIG_BLOCK, &one, loop->mask_saved ? NULL : &loop->orig_mask);
	if (r)
		return -r;
	loop->mask_saved = true;
	sigaddset(&loop->sigmask, signo);
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		r = add_entry(loop, fd, EPOLLIN, E_SIGNAL, &e);
		if (r)
			return r;
	}
	loop->sigs[signo] = (struct sig){ .fn = fn, .payload = payload, .set = true };
	return 0;
}

static void dispatch_signals(vxen_loop *loop)
{
	struct signalfd_siginfo si;

	while (read(loop->sigfd, &si, sizeof(si)) == sizeof(si)) {
		struct sig *s = si.ssi_signo < _NSIG ? &loop->sigs[si.ssi_signo] : NULL;

		if (!s || !s->set)
			continue;
		if (s->fn)
			s->fn(loop, (int)si.ssi_signo, s->payload);
		else
			loop->stopping = true;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* ioreq servers, one per guest                                                                */

VXEN_EXPORT void vxen_loop_on_guest_gone(vxen_loop *loop, vxen_loop_guest_fn fn, void *payload)
{
	loop->guest_fn = fn;
	loop->guest_payload = payload;
}

VXEN_EXPORT int vxen_loop_set_guest_probe(vxen_loop *loop, unsigned int period_ms)
{
	if (!loop)
		return -EINVAL;
	loop->probe_ms = period_ms;
	loop->probe_armed_ms = UINT_MAX; /* force a re-arm: the new period starts now */
	return probe_update(loop);
}

/* Stop polling a guest found gone (or failed); its callback is owed (notify_gone()). */
static void guest_dead(vxen_loop *loop, struct guest *g, int err)
{
	/* A dead guest's channels, or a failed handle, would make the fd readable forever. */
	if (err == -ESRCH)
		vxen_log(LOG_INFO, "guest %u is gone", g->domid);
	else
		vxen_log(LOG_ERR, "guest %u: ioreq server failed: %s", g->domid, strerror(-err));
	g->dead = true;
	g->notify = true;
	del_entry(loop, g->e);
	g->e = NULL;
}

/*
 * Call the guest-gone callback for every guest that owes it. The callback may free any guest
 * (and add new ones), so the list is searched again from its head after each call.
 */
static void notify_gone(vxen_loop *loop)
{
	for (;;) {
		struct guest *g = loop->guests;

		while (g && !g->notify)
			g = g->next;
		if (!g)
			break;
		g->notify = false;
		if (loop->guest_fn)
			loop->guest_fn(loop, g->domid, loop->guest_payload);
	}
	probe_update(loop);
}

/* The probe timer expired: ask Xen about every live guest, then report the dead ones. */
static void dispatch_probe(vxen_loop *loop)
{
	uint64_t expirations;

	/* Nothing to read: the timer was re-armed or disarmed since the event was fetched. */
	if (read(loop->probefd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	for (struct guest *g = loop->guests; g; g = g->next) {
		int r;

		if (g->dead)
			continue;
		r = vxen_ioreq_server_check(g->srv);
		if (r == -ESRCH)
			guest_dead(loop, g, r);
		else if (r < 0) /* says nothing about the guest; rate-limited: it may persist */
			vxen_log_guest(&loop->probe_rl, LOG_WARNING,
				       "guest %u: liveness check failed: %s", g->domid,
				       strerror(-r));
	}
	notify_gone(loop);
}

VXEN_EXPORT int vxen_loop_ioreq_get(vxen_loop *loop, uint32_t domid, vxen_ioreq_server **out)
{
	struct guest *g;
	int r;

	if (!loop || !out)
		return -EINVAL;
	for (g = loop->guests; g; g = g->next)
		if (g->domid == domid && !g->dead) {
			g->refs++;
			*out = g->srv;
			return 0;
		}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	r = vxen_ioreq_server_new(&g->srv, domid, NULL);
	if (!r)
		r = add_entry(loop, vxen_ioreq_fd(g->srv), EPOLLIN, E_IOREQ, &g->e);
	if (r) {
		vxen_ioreq_server_free(g->srv);
		free(g);
		return r;
	}
	g->e->obj = g;
	g->domid = domid;
	g->refs = 1;
	g->next = loop->guests;
	loop->guests = g;
	/* A failure is logged; the guest is still served, only its death would go unseen. */
	probe_update(loop);
	*out = g->srv;
	return 0;
}

VXEN_EXPORT void vxen_loop_ioreq_put(vxen_loop *loop, vxen_ioreq_server *srv)
{
	struct guest *g;

	if (!srv)
		return;
	for (g = loop->guests; g && g->srv != srv; g = g->next)
		;
	if (!g) {
		vxen_log(LOG_ERR, "vxen_loop_ioreq_put: unknown server");
		return;
	}
	if (--g->refs == 0)
		free_guest(loop, g);
}

static void dispatch_ioreq(vxen_loop *loop, struct guest *g)
{
	int r = vxen_ioreq_process(g->srv);

	if (r >= 0)
		return;
	guest_dead(loop, g, r);
	notify_gone(loop);
}

/* ------------------------------------------------------------------------------------------ */
/* Devices and watchers                                                                        */

VXEN_EXPORT int vxen_loop_add_dev(vxen_loop *loop, vxen_dev *dev)
{
	struct entry *e = NULL;
	int r;

	if (!loop || !dev)
		return -EINVAL;
	r = add_entry(loop, vxen_dev_fd(dev), EPOLLIN, E_DEV, &e);
	if (!r)
		e->obj = dev;
	return r;
}

VXEN_EXPORT void vxen_loop_del_dev(vxen_loop *loop, vxen_dev *dev)
{
	if (dev)
		vxen_loop_del_fd(loop, vxen_dev_fd(dev));
}

VXEN_EXPORT int vxen_loop_dev_new(vxen_loop *loop, vxen_dev **out, const struct vxen_dev_ops *ops,
				  const struct vxen_dev_config *cfg, void *payload)
{
	struct vxen_dev_config c;
	vxen_ioreq_server *ref = NULL;
	vxen_dev *dev;
	int r;

	if (!loop || !out || !cfg)
		return -EINVAL;
	c = *cfg;
	if (!c.server && !c.mem) {
		r = vxen_loop_ioreq_get(loop, c.domid, &ref);
		if (r)
			return r;
		c.server = ref;
	}
	r = vxen_dev_new(&dev, ops, &c, payload);
	if (!r) {
		r = vxen_loop_add_dev(loop, dev);
		if (r)
			vxen_dev_free(dev);
	}
	if (r) {
		vxen_loop_ioreq_put(loop, ref);
		return r;
	}
	lookup(loop, vxen_dev_fd(dev))->srv_ref = ref;
	*out = dev;
	return 0;
}

VXEN_EXPORT void vxen_loop_dev_free(vxen_loop *loop, vxen_dev *dev)
{
	struct entry *e = NULL;
	vxen_ioreq_server *ref;

	if (!dev)
		return;
	e = lookup(loop, vxen_dev_fd(dev));
	ref = e ? e->srv_ref : NULL;
	vxen_loop_del_dev(loop, dev);
	/* The device unclaims its range on the server first; then the server may go. */
	vxen_dev_free(dev);
	vxen_loop_ioreq_put(loop, ref);
}

VXEN_EXPORT int vxen_loop_add_xs(vxen_loop *loop, vxen_xs_watcher *w)
{
	struct entry *e = NULL;
	int r;

	if (!loop || !w)
		return -EINVAL;
	r = add_entry(loop, vxen_xs_watcher_fd(w), EPOLLIN, E_XS, &e);
	if (!r)
		e->obj = w;
	return r;
}

VXEN_EXPORT void vxen_loop_del_xs(vxen_loop *loop, vxen_xs_watcher *w)
{
	if (w)
		vxen_loop_del_fd(loop, vxen_xs_watcher_fd(w));
}

static void dispatch_xs(vxen_loop *loop, struct entry *e)
{
	int r = vxen_xs_watcher_process(e->obj);

	if (r >= 0)
		return;
	vxen_log(LOG_ERR, "xenstore watcher failed: %s; stopping the loop", strerror(-r));
	del_entry(loop, e);
	loop->error = r;
	loop->stopping = true;
}

/* ------------------------------------------------------------------------------------------ */
/* Running                                                                                     */

static void dispatch(vxen_loop *loop, struct entry *e, uint32_t events)
{
	uint64_t v;

	switch (e->kind) {
	case E_FD:
		e->fn(loop, e->fd, events, e->payload);
		break;
	case E_STOP:
		if (read(e->fd, &v, sizeof(v)) == sizeof(v))
			loop->stopping = true;
		break;
	case E_SIGNAL:
		dispatch_signals(loop);
		break;
	case E_PROBE:
		dispatch_probe(loop);
		break;
	case E_IOREQ:
		dispatch_ioreq(loop, e->obj);
		break;
	case E_DEV:
		vxen_dev_process(e->obj);
		break;
	case E_XS:
		dispatch_xs(loop, e);
		break;
	}
}

VXEN_EXPORT int vxen_loop_run_once(vxen_loop *loop, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n;

	n = epoll_wait(loop->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return -errno;
	loop->depth++;
	for (int i = 0; i < n; i++) {
		struct entry *e = evs[i].data.ptr;

		if (!e->dead)
			dispatch(loop, e, evs[i].events);
	}
	if (--loop->depth == 0)
		bury(loop);
	if (loop->stopping) {
		loop->stopping = false;
		return -ECANCELED;
	}
	return n;
}

VXEN_EXPORT int vxen_loop_run(vxen_loop *loop)
{
	int r;

	for (;;) {
		r = vxen_loop_run_once(loop, -1);
		if (r == -ECANCELED) {
			r = loop->error;
			loop->error = 0;
			return r;
		}
		if (r < 0 && r != -EINTR)
			return r;
	}
}
