/* SPDX-License-Identifier: MIT */
/*
 * hv_server.c — the hypervisor model's event loop: accept clients, read requests, dispatch
 * them to the hv_*.c handlers, queue replies. One thread; never blocks on a client.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hv_internal.h"

uint64_t hv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int sock_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int hv_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int hv_epoll_mod(struct hv_server *srv, int fd, struct pollable *pl, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = pl };

	return epoll_ctl(srv->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

/* ---- replies ---- */

void *reply_put(struct hv_reply *r, size_t len)
{
	void *p;

	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		uint8_t *b;

		while (cap < r->len + len)
			cap *= 2;
		b = realloc(r->buf, cap);
		if (!b)
			return NULL;
		r->buf = b;
		r->cap = cap;
	}
	p = r->buf + r->len;
	memset(p, 0, len);
	r->len += len;
	return p;
}

void reply_fd(struct hv_reply *r, int fd)
{
	if (r->nfds < HV_MAX_FDS)
		r->fds[r->nfds++] = fd;
}

static void update_events(struct hv_client *c)
{
	uint32_t ev = (c->busy ? 0 : EPOLLIN) | (c->out ? EPOLLOUT : 0);

	if (ev != c->events && !c->dead) {
		hv_epoll_mod(c->srv, c->fd, &c->pl, ev, EPOLL_CTL_MOD);
		c->events = ev;
	}
}

static void kill_client(struct hv_client *c)
{
	c->dead = true;
}

static int queue_out(struct hv_client *c, const uint8_t *data, size_t len, const int *fds, int nfds)
{
	struct outbuf *o = malloc(sizeof(*o) + len);
	int i;

	if (!o)
		return -ENOMEM;
	memcpy(o->data, data, len);
	o->len = len;
	o->off = 0;
	o->next = NULL;
	o->nfds = 0;
	/* The descriptors' owners may close them before the queue drains. */
	for (i = 0; i < nfds; i++) {
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);

		if (fd >= 0)
			o->fds[o->nfds++] = fd;
	}
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out = o;
	c->out_tail = o;
	return 0;
}

static ssize_t send_fds(int fd, struct iovec *iov, int niov, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };

	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void send_reply(struct hv_client *c, int32_t rc, const void *data, size_t len,
		       const int *fds, int nfds)
{
	struct hv_rep hdr = { .rc = rc, .len = (uint32_t)len, .nfds = (uint32_t)nfds };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)data, len } };
	size_t total = sizeof(hdr) + len;
	ssize_t n = 0;

	if (c->dead)
		return;
	if (!c->out) {
		n = send_fds(c->fd, iov, len ? 2 : 1, fds, nfds);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			kill_client(c);
			return;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == total)
			return;
	}
	/* Partial or blocked: queue the rest (descriptors went with the first byte if n > 0). */
	if ((size_t)n < sizeof(hdr)) {
		if (queue_out(c, (uint8_t *)&hdr + n, sizeof(hdr) - (size_t)n, fds, n ? 0 : nfds) <
			    0 ||
		    (len && queue_out(c, data, len, NULL, 0) < 0))
			kill_client(c);
	} else if (queue_out(c, (const uint8_t *)data + (n - (ssize_t)sizeof(hdr)),
			     total - (size_t)n, NULL, 0) < 0) {
		kill_client(c);
	}
	update_events(c);
}

void client_reply(struct hv_client *c, int32_t rc, const void *data, size_t len)
{
	c->busy = false;
	send_reply(c, rc, data, len, NULL, 0);
	update_events(c);
}

static void flush_out(struct hv_client *c)
{
	while (c->out) {
		struct outbuf *o = c->out;
		struct iovec iov = { o->data + o->off, o->len - o->off };
		ssize_t n = send_fds(c->fd, &iov, 1, o->fds, o->nfds);
		int i;

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				kill_client(c);
			break;
		}
		for (i = 0; i < o->nfds; i++)
			close(o->fds[i]);
		o->nfds = 0;
		o->off += (size_t)n;
		if (o->off < o->len)
			break;
		c->out = o->next;
		if (!c->out)
			c->out_tail = NULL;
		free(o);
	}
	update_events(c);
}

/* ---- requests ---- */

static void h_hello(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_hello *h = p;

	if (h->version != HV_PROTO_VERSION) {
		r->rc = -EPROTO;
		return;
	}
	c->domid = h->domid;
	c->pid = (pid_t)h->pid;
	c->hello = true;
}

/* Release what the connection owns; the connection itself goes when the client closes it. */
static void release_all(struct hv_client *c)
{
	ioreq_release_client(c);
	guest_detach(c);
	gnt_release_all(c);
	fmem_release_all(c);
	evtchn_release_client(c);
}

static void h_bye(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	release_all(c);
}

static const struct {
	hv_handler fn;
	uint32_t min;
} handlers[HV_OP_MAX] = {
	[HV_HELLO] = { h_hello, sizeof(struct hv_hello) },
	[HV_DOMAIN_CREATE] = { h_domain_create, sizeof(struct hv_domain_create) },
	[HV_DOMAIN_DESTROY] = { h_domain_destroy, sizeof(struct hv_domid_arg) },
	[HV_DOMAIN_EXISTS] = { h_domain_exists, sizeof(struct hv_domid_arg) },
	[HV_COUNTERS_GET] = { h_counters_get, sizeof(struct hv_domid_arg) },
	[HV_COUNTERS_RESET] = { h_counters_reset, 0 },
	[HV_FAULT_INJECT] = { h_fault_inject, sizeof(struct hv_fault) },
	[HV_FAULT_CLEAR] = { h_fault_clear, 0 },
	[HV_GUEST_ATTACH] = { h_guest_attach, sizeof(struct hv_domid_arg) },
	[HV_GUEST_DETACH] = { h_guest_detach, sizeof(struct hv_domid_arg) },
	[HV_GNT_END_BUSY] = { h_gnt_end_busy, sizeof(struct hv_domid_arg) },
	[HV_IOREQ] = { h_ioreq, sizeof(struct hv_ioreq_req) },
	[HV_GNT_MAP] = { h_gnt_map, sizeof(struct hv_gnt_map) },
	[HV_GNT_UNMAP] = { h_gnt_unmap, sizeof(struct hv_gnt_unmap) },
	[HV_GNT_COPY] = { h_gnt_copy, sizeof(struct hv_gnt_copy) },
	[HV_EVTCHN_OPEN] = { h_evtchn_open, 0 },
	[HV_EVTCHN_BIND_UNBOUND] = { h_evtchn_bind_unbound, sizeof(struct hv_evtchn_req) },
	[HV_EVTCHN_BIND_INTERDOMAIN] = { h_evtchn_bind_interdomain, sizeof(struct hv_evtchn_req) },
	[HV_EVTCHN_UNBIND] = { h_evtchn_unbind, sizeof(struct hv_evtchn_req) },
	[HV_EVTCHN_NOTIFY] = { h_evtchn_notify, sizeof(struct hv_evtchn_req) },
	[HV_DM] = { h_dm, sizeof(struct hv_dm_req) },
	[HV_FMEM_MAP] = { h_fmem_map, sizeof(struct hv_fmem_map) },
	[HV_FMEM_UNMAP] = { h_fmem_unmap, sizeof(struct hv_fmem_unmap) },
	[HV_FMEM_MAP_RESOURCE] = { h_fmem_map_resource, sizeof(struct hv_res_req) },
	[HV_FMEM_UNMAP_RESOURCE] = { h_fmem_unmap_resource, sizeof(uint64_t) },
	[HV_FMEM_RESOURCE_SIZE] = { h_fmem_resource_size, sizeof(struct hv_res_req) },
	[HV_BYE] = { h_bye, 0 },
};

static void dispatch(struct hv_client *c)
{
	struct hv_reply r = { .owned_fd = -1 };
	uint32_t op = c->hdr.op;

	if (!c->hello && op != HV_HELLO) {
		kill_client(c);
		return;
	}
	if (op >= HV_OP_MAX || !handlers[op].fn)
		r.rc = -ENOSYS;
	else if (c->hdr.len < handlers[op].min)
		r.rc = -EINVAL;
	else
		handlers[op].fn(c, c->in, c->hdr.len, &r);
	if (r.deferred)
		c->busy = true;
	else
		send_reply(c, r.rc, r.buf, r.len, r.fds, r.nfds);
	if (r.owned_fd >= 0)
		close(r.owned_fd);
	free(r.buf);
	update_events(c);
}

/* 1: a whole request is in c->hdr / c->in; 0: progress, read on; -1: would block or dead. */
static int read_some(struct hv_client *c)
{
	uint8_t *dst;
	size_t want;
	ssize_t n;

	if (c->hdr_got == sizeof(c->hdr) && c->in_got == c->hdr.len)
		return 1;
	if (c->hdr_got < sizeof(c->hdr)) {
		dst = (uint8_t *)&c->hdr + c->hdr_got;
		want = sizeof(c->hdr) - c->hdr_got;
	} else {
		dst = c->in + c->in_got;
		want = c->hdr.len - c->in_got;
	}
	n = recv(c->fd, dst, want, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		kill_client(c);
	if (n <= 0)
		return -1;
	if (c->hdr_got < sizeof(c->hdr)) {
		c->hdr_got += (size_t)n;
		if (c->hdr_got < sizeof(c->hdr) || !c->hdr.len)
			return 0;
		if (c->hdr.len > HV_MAX_PAYLOAD || !(c->in = malloc(c->hdr.len))) {
			kill_client(c);
			return -1;
		}
		return 0;
	}
	c->in_got += (size_t)n;
	return 0;
}

static void client_readable(struct hv_client *c)
{
	int done = 0;

	/*
	 * Bounded per wakeup so a busy client cannot starve the others, but only ever stopped at a
	 * request boundary: bytes already read are never left waiting for a wakeup that epoll
	 * (level-triggered on the socket, now drained) would not deliver.
	 */
	while (done < 16 && !c->dead && !c->busy) {
		int st = read_some(c);

		if (st < 0)
			break;
		if (st == 0)
			continue;
		dispatch(c);
		free(c->in);
		c->in = NULL;
		c->in_got = 0;
		c->hdr_got = 0;
		done++;
	}
}

static void accept_clients(struct hv_server *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hv_client *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->pl.kind = PK_CLIENT;
		c->evpl.kind = PK_EVSOCK;
		c->srv = srv;
		c->fd = fd;
		c->evfd = -1;
		c->events = EPOLLIN;
		list_init(&c->ports);
		list_init(&c->servers);
		list_add_tail(&srv->clients, &c->link);
		if (hv_epoll_mod(srv, fd, &c->pl, EPOLLIN, EPOLL_CTL_ADD) < 0)
			kill_client(c);
	}
}

static void client_free(struct hv_client *c)
{
	struct outbuf *o;
	int i;

	release_all(c);
	epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->evfd >= 0) {
		epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->evfd, NULL);
		close(c->evfd);
	}
	while ((o = c->out)) {
		c->out = o->next;
		for (i = 0; i < o->nfds; i++)
			close(o->fds[i]);
		free(o);
	}
	free(c->evq);
	free(c->in);
	list_del(&c->link);
	free(c);
}

static void reap(struct hv_server *srv)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->clients)
	{
		struct hv_client *c = container_of(pos, struct hv_client, link);

		if (c->dead)
			client_free(c);
	}
}

static void client_event(struct hv_client *c, uint32_t ev)
{
	if (ev & EPOLLOUT)
		flush_out(c);
	if (ev & EPOLLIN)
		client_readable(c);
	else if (ev & (EPOLLHUP | EPOLLERR))
		kill_client(c);
}

void hv_loop(struct hv_server *srv)
{
	struct epoll_event evs[64];

	while (!srv->stop) {
		int timeout = ioreq_next_timeout_ms(srv, hv_now_ns());
		int n = epoll_wait(srv->epfd, evs, 64, timeout), i;

		for (i = 0; i < n; i++) {
			struct pollable *pl = evs[i].data.ptr;

			switch (pl->kind) {
			case PK_LISTEN:
				accept_clients(srv);
				break;
			case PK_WAKE:
				srv->stop = true;
				break;
			case PK_CLIENT:
				client_event(container_of(pl, struct hv_client, pl), evs[i].events);
				break;
			case PK_EVSOCK:
				evsock_event(container_of(pl, struct hv_client, evpl),
					     evs[i].events);
				break;
			}
		}
		ioreq_expire(srv, hv_now_ns());
		reap(srv);
	}
}

void hv_close_all(struct hv_server *srv)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->clients)
		client_free(container_of(pos, struct hv_client, link));
	domains_free_all(srv);
	faults_free(srv);
}
