/* SPDX-License-Identifier: MIT */
/*
 * xenevtchn.c — xensim's drop-in libxenevtchn.so.1.
 *
 * Each handle has its own notification socket from the machine; xenevtchn_fd() returns it.
 * As with Linux's /dev/xen/evtchn: it is readable when a port is pending, xenevtchn_pending()
 * reads one port (blocking unless the caller made the fd non-blocking: then -1/EAGAIN), and
 * xenevtchn_unmask() writes the port back. Bind, unbind and notify are requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <xenevtchn.h>

#include "dropin.h"

struct xenevtchn_handle {
	struct hvc *c;
	int fd;
};

DROPIN_EXPORT xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	xenevtchn_handle *h = DROPIN_OPEN(xenevtchn_handle);
	struct hvc_call call = { .op = HV_EVTCHN_OPEN };
	int rc;

	if (!h)
		return NULL;
	rc = hvc_call(h->c, &call);
	if (rc >= 0 && call.nfds != 1)
		rc = -EPROTO;
	if (rc < 0) {
		while (call.nfds)
			close(call.fds[--call.nfds]);
		hvc_close(h->c);
		free(h);
		errno = -rc;
		return NULL;
	}
	h->fd = call.fds[0];
	if (flags & XENEVTCHN_NO_CLOEXEC)
		fcntl(h->fd, F_SETFD, 0);
	return h;
}

DROPIN_EXPORT xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd,
						 unsigned open_flags)
{
	errno = ENOSYS;
	return NULL;
}

DROPIN_EXPORT int xenevtchn_close(xenevtchn_handle *h)
{
	if (!h)
		return 0;
	close(h->fd);
	hvc_close(h->c);
	free(h);
	return 0;
}

DROPIN_EXPORT int xenevtchn_fd(xenevtchn_handle *h)
{
	return h->fd;
}

static int port_call(xenevtchn_handle *h, uint32_t op, uint32_t domid, uint32_t port)
{
	struct hv_evtchn_req req = { .domid = domid, .port = port };
	uint32_t out = 0;
	int rc = hvc_simple(h->c, op, &req, sizeof(req), &out, sizeof(out));

	if (rc < 0)
		return dropin_ret(rc);
	return op == HV_EVTCHN_BIND_UNBOUND || op == HV_EVTCHN_BIND_INTERDOMAIN ? (int)out : 0;
}

DROPIN_EXPORT int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	return port_call(h, HV_EVTCHN_NOTIFY, 0, port);
}

DROPIN_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h,
								    uint32_t domid)
{
	return port_call(h, HV_EVTCHN_BIND_UNBOUND, domid, 0);
}

DROPIN_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h,
								   uint32_t domid,
								   evtchn_port_t remote_port)
{
	return port_call(h, HV_EVTCHN_BIND_INTERDOMAIN, domid, remote_port);
}

DROPIN_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	return port_call(h, HV_EVTCHN_UNBIND, 0, port);
}

DROPIN_EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
	uint32_t port;
	ssize_t n;

	do
		n = recv(h->fd, &port, sizeof(port), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n != sizeof(port)) {
		errno = n ? EPROTO : ECONNRESET;
		return -1;
	}
	return (xenevtchn_port_or_error_t)port;
}

DROPIN_EXPORT int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	uint32_t p = port;

	for (;;) {
		ssize_t n = send(h->fd, &p, sizeof(p), MSG_NOSIGNAL);
		struct pollfd pfd = { .fd = h->fd, .events = POLLOUT };

		if (n == sizeof(p))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		/* A write to /dev/xen/evtchn never blocks; wait out a full socket if the caller
		 * made the fd non-blocking. */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			poll(&pfd, 1, -1);
			continue;
		}
		return -1;
	}
}

DROPIN_EXPORT int xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	return dropin_ret(-ENOSYS);
}
