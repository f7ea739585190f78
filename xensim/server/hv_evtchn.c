/* SPDX-License-Identifier: MIT */
/*
 * hv_evtchn.c — event channels: per-domain port tables, interdomain binding, sending, and
 * delivery to client handles with Linux /dev/xen/evtchn semantics.
 *
 * Delivery: each xenevtchn handle has a SOCK_SEQPACKET socket; a delivered event is one 4-byte
 * message carrying the port. As in Linux's evtchn driver, a port is masked once delivered and
 * stays masked until the handle writes the port back (xenevtchn_unmask()); events arriving in
 * between set one pending bit, delivered at unmask. So a port has at most one message
 * outstanding and a flood cannot grow any queue.
 *
 * errno choices: Xen's for binding (-ESRCH unknown domain, -EINVAL bad or not-bindable remote
 * port, -ENOSPC no free port), Linux's for ports the handle does not own (-ENOTCONN for notify
 * and unbind). Notifying a port whose peer closed is silently dropped, as in evtchn_send().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv_internal.h"

static struct hv_port *lookup(struct hv_domain *d, uint32_t port)
{
	if (!d || port >= d->nports)
		return NULL;
	return d->ports[port];
}

int evtchn_alloc(struct hv_domain *d, struct hv_port **out)
{
	struct hv_port *p;
	uint32_t i;

	/* Port 0 is never valid; take the lowest free one, as Xen's get_free_port() does. */
	for (i = 1; i < d->nports && d->ports[i]; i++)
		;
	if (i >= HV_MAX_EVTCHN)
		return -ENOSPC;
	if (i >= d->nports) {
		uint32_t n = d->nports ? d->nports * 2 : 64;
		struct hv_port **v = realloc(d->ports, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (uint32_t j = d->nports; j < n; j++)
			v[j] = NULL;
		d->ports = v;
		d->nports = n;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->d = d;
	p->port = i;
	list_init(&p->owner_link);
	d->ports[i] = p;
	*out = p;
	return 0;
}

static void live_adjust(struct hv_server *srv, uint32_t domid, int delta)
{
	struct hv_domain *d = domain_any(srv, domid);

	if (d)
		d->cnt.evtchn_live_ports += (uint64_t)(int64_t)delta;
}

void evtchn_close(struct hv_port *p)
{
	struct hv_server *srv = p->d->srv;

	if (p->state == PORT_INTERDOMAIN) {
		struct hv_port *peer = lookup(domain_any(srv, p->remote_dom), p->remote_port);

		/* Xen's evtchn_close(): the peer goes back to unbound, bindable by us again. */
		if (peer && peer->state == PORT_INTERDOMAIN && peer->remote_port == p->port &&
		    peer->remote_dom == p->d->domid) {
			peer->state = PORT_UNBOUND;
			peer->remote_dom = p->d->domid;
		}
		live_adjust(srv, p->attr_dom, -1);
	}
	p->d->ports[p->port] = NULL;
	list_del(&p->owner_link);
	free(p);
}

void evtchn_close_domain(struct hv_domain *d)
{
	uint32_t i;

	for (i = 0; i < d->nports; i++)
		if (d->ports[i])
			evtchn_close(d->ports[i]);
}

void evtchn_release_client(struct hv_client *c)
{
	while (!list_empty(&c->ports))
		evtchn_close(container_of(c->ports.next, struct hv_port, owner_link));
}

/* ---- delivery to handles ---- */

static void ev_want_out(struct hv_client *c, bool on)
{
	if (c->ev_out == on || c->evfd < 0)
		return;
	c->ev_out = on;
	hv_epoll_mod(c->srv, c->evfd, &c->evpl, EPOLLIN | (on ? EPOLLOUT : 0), EPOLL_CTL_MOD);
}

static void count_delivery(struct hv_port *to)
{
	struct hv_domain *d = domain_any(to->d->srv, to->remote_dom);

	(d ? d : to->d)->cnt.evtchn_deliveries++;
}

static void ev_send(struct hv_client *c, struct hv_port *to)
{
	uint32_t port = to->port;

	count_delivery(to);
	if (!c->evq_n && send(c->evfd, &port, sizeof(port), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return;
	if (errno != EAGAIN && errno != EWOULDBLOCK && !c->evq_n)
		return; /* the handle is going away */
	/* Bounded: a queued port is masked, so each port is queued at most once. */
	if (c->evq_n == c->evq_cap) {
		uint32_t n = c->evq_cap ? c->evq_cap * 2 : 64;
		uint32_t *q = realloc(c->evq, n * sizeof(*q));

		if (!q)
			return;
		c->evq = q;
		c->evq_cap = n;
	}
	c->evq[c->evq_n++] = port;
	ev_want_out(c, true);
}

static void deliver(struct hv_port *to)
{
	struct hv_client *c = to->owner;

	if (!c) {
		if (to->ios)
			ioreq_port_event(to->ios, to->vcpu);
		return;
	}
	if (c->dead || c->evfd < 0)
		return;
	if (fault_hit(c->srv, XENSIM_OP_EVTCHN_DELIVER))
		return;
	if (to->masked) {
		to->pending = true;
		return;
	}
	to->masked = true;
	ev_send(c, to);
}

void evtchn_send(struct hv_server *srv, struct hv_port *from)
{
	struct hv_port *to;

	if (from->state != PORT_INTERDOMAIN)
		return;
	to = lookup(domain_get(srv, from->remote_dom), from->remote_port);
	if (to)
		deliver(to);
}

static void unmask(struct hv_client *c, uint32_t port)
{
	struct hv_port *p = lookup(domain_get(c->srv, c->domid), port);

	if (!p || p->owner != c || !p->masked)
		return;
	p->masked = false;
	if (p->pending) {
		p->pending = false;
		p->masked = true;
		ev_send(c, p);
	}
}

static void flush_evq(struct hv_client *c)
{
	uint32_t i = 0, j;

	while (i < c->evq_n &&
	       send(c->evfd, &c->evq[i], sizeof(uint32_t), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		i++;
	for (j = 0; i < c->evq_n; i++, j++)
		c->evq[j] = c->evq[i];
	c->evq_n = j;
	if (!j)
		ev_want_out(c, false);
}

void evsock_event(struct hv_client *c, uint32_t events)
{
	uint32_t buf[256];

	if (c->dead)
		return;
	if (events & EPOLLOUT)
		flush_evq(c);
	if (events & EPOLLIN) {
		ssize_t n = recv(c->evfd, buf, sizeof(buf), MSG_DONTWAIT);

		for (ssize_t i = 0; i + 4 <= n; i += 4)
			unmask(c, buf[i / 4]);
		if (n > 0)
			return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* The handle's socket end is gone; stop watching it (level-triggered). */
		epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, c->evfd, NULL);
		close(c->evfd);
		c->evfd = -1;
		c->evq_n = 0;
	}
}

/* ---- requests ---- */

void h_evtchn_open(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	int sv[2];

	if (c->evfd >= 0) {
		r->rc = -EBUSY;
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r->rc = -errno;
		return;
	}
	sock_set_nonblock(sv[0]);
	if (hv_epoll_mod(c->srv, sv[0], &c->evpl, EPOLLIN, EPOLL_CTL_ADD) < 0) {
		close(sv[0]);
		close(sv[1]);
		r->rc = -ENOMEM;
		return;
	}
	c->evfd = sv[0];
	reply_fd(r, sv[1]);
	r->owned_fd = sv[1];
}

static struct hv_domain *local_domain(struct hv_client *c, int *err)
{
	struct hv_domain *d = domain_get(c->srv, c->domid);

	*err = !d ? -ESRCH : c->evfd < 0 ? -EBADF : 0;
	return *err ? NULL : d;
}

static void reply_port(struct hv_reply *r, uint32_t port)
{
	uint32_t *out = reply_put(r, sizeof(*out));

	if (out)
		*out = port;
	else
		r->rc = -ENOMEM;
}

void h_evtchn_bind_unbound(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_evtchn_req *req = p;
	struct hv_domain *ld = local_domain(c, &r->rc);
	struct hv_port *port;
	int err;

	if (!ld)
		return;
	err = fault_hit(c->srv, XENSIM_OP_EVTCHN_BIND_UNBOUND);
	if (err) {
		r->rc = -err;
		return;
	}
	r->rc = evtchn_alloc(ld, &port);
	if (r->rc)
		return;
	port->state = PORT_UNBOUND;
	port->remote_dom = req->domid == DOMID_SELF ? c->domid : req->domid;
	port->owner = c;
	list_add_tail(&c->ports, &port->owner_link);
	reply_port(r, port->port);
}

void h_evtchn_bind_interdomain(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_evtchn_req *req = p;
	struct hv_domain *ld = local_domain(c, &r->rc), *rd;
	struct hv_port *rp, *lp;
	int err;

	if (!ld)
		return;
	err = fault_hit(c->srv, XENSIM_OP_EVTCHN_BIND_INTERDOMAIN);
	if (err) {
		r->rc = -err;
		return;
	}
	rd = domain_get(c->srv, req->domid == DOMID_SELF ? c->domid : req->domid);
	if (!rd) {
		r->rc = -ESRCH;
		return;
	}
	rp = lookup(rd, req->port);
	if (!rp || rp->state != PORT_UNBOUND || rp->remote_dom != c->domid) {
		r->rc = -EINVAL;
		return;
	}
	r->rc = evtchn_alloc(ld, &lp);
	if (r->rc)
		return;
	lp->state = rp->state = PORT_INTERDOMAIN;
	lp->remote_dom = rd->domid;
	lp->remote_port = rp->port;
	rp->remote_dom = ld->domid;
	rp->remote_port = lp->port;
	lp->attr_dom = rp->attr_dom = rd->domid;
	lp->owner = c;
	list_add_tail(&c->ports, &lp->owner_link);
	live_adjust(c->srv, rd->domid, 1);
	reply_port(r, lp->port);
}

static struct hv_port *own_port(struct hv_client *c, uint32_t port)
{
	struct hv_port *p = lookup(domain_get(c->srv, c->domid), port);

	return p && p->owner == c ? p : NULL;
}

void h_evtchn_unbind(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_evtchn_req *req = p;
	struct hv_port *port = own_port(c, req->port);

	if (!port) {
		r->rc = -ENOTCONN;
		return;
	}
	evtchn_close(port);
}

void h_evtchn_notify(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_evtchn_req *req = p;
	struct hv_port *port = own_port(c, req->port);
	struct hv_domain *target;
	int err;

	if (!port) {
		r->rc = -ENOTCONN;
		return;
	}
	err = fault_hit(c->srv, XENSIM_OP_EVTCHN_NOTIFY);
	if (err) {
		r->rc = -err;
		return;
	}
	target = domain_any(c->srv, port->remote_dom);
	(target ? target : port->d)->cnt.evtchn_notify_calls++;
	evtchn_send(c->srv, port);
}
