/* SPDX-License-Identifier: MIT */
/*
 * xs_server.c — xensim's xenstored: the unix socket, its thread, client connections (framing,
 * bounded non-blocking output), counters and fault injection. Request semantics are in
 * xs_ops.c, the node database in xs_store.c.
 *
 * Threading: one thread runs the poll loop; it holds xs->lock except while in poll(). The
 * public xs_server_* calls take xs->lock, so they may come from any thread; a call that queues
 * output (xs_server_domain_event) wakes the loop through xs->wake so it gets flushed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_daemon.h"

void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *const *data, const size_t *len, unsigned int n)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id, .tx_id = tx_id };
	struct xs_out *o;
	size_t total = 0, off = sizeof(hdr);

	if (c->dead)
		return;
	for (unsigned int i = 0; i < n; i++)
		total += len[i];
	if (total > XENSTORE_PAYLOAD_MAX || c->out_bytes + total > XS_OUT_MAX) {
		/* Oversized (a bug on our side) or a client that never reads: drop it. */
		c->dead = true;
		return;
	}
	o = malloc(sizeof(*o) + sizeof(hdr) + total);
	if (!o) {
		c->dead = true;
		return;
	}
	hdr.len = (uint32_t)total;
	memcpy(o->data, &hdr, sizeof(hdr));
	for (unsigned int i = 0; i < n; i++) {
		memcpy(o->data + off, data[i], len[i]);
		off += len[i];
	}
	o->next = NULL;
	o->len = off;
	o->off = 0;
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += off;
}

void xs_conn_reply(struct xs_conn *c, const struct xs_req *r, const void *data, size_t len)
{
	xs_conn_send(c, r->hdr->type, r->hdr->req_id, r->hdr->tx_id, &data, &len, 1);
}

void xs_conn_ack(struct xs_conn *c, const struct xs_req *r)
{
	xs_conn_reply(c, r, "OK", 3);
}

void xs_conn_error(struct xs_conn *c, const struct xs_req *r, int err)
{
	const char *name = "EIO";
	const void *data;
	size_t len;

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			name = xsd_errors[i].errstring;
	data = name;
	len = strlen(name) + 1;
	xs_conn_send(c, XS_ERROR, r->hdr->req_id, r->hdr->tx_id, &data, &len, 1);
}

int xs_fault_check(struct xs_server *xs, enum xensim_op op)
{
	uint64_t now = ++xs->calls[op];

	for (unsigned int i = 0; i < xs->nfaults; i++) {
		int err = xs->faults[i].err;

		if (xs->faults[i].op != op || xs->faults[i].at != now)
			continue;
		xs->faults[i] = xs->faults[--xs->nfaults];
		return err;
	}
	return 0;
}

struct xs_domain *xs_domain_get(struct xs_server *xs, uint32_t domid, bool create)
{
	struct xs_domain *d;

	for (unsigned int i = 0; i < xs->ndoms; i++)
		if (xs->doms[i].domid == domid)
			return &xs->doms[i];
	if (!create || xs->ndoms >= XS_MAX_DOMAINS)
		return NULL;
	d = realloc(xs->doms, (xs->ndoms + 1) * sizeof(*d));
	if (!d)
		return NULL;
	xs->doms = d;
	d = &xs->doms[xs->ndoms++];
	*d = (struct xs_domain){ .domid = domid, .target = XS_NO_TARGET };
	return d;
}

static void conn_free(struct xs_server *xs, struct xs_conn *c)
{
	xs_conn_drop_state(xs, c);
	while (c->out_head) {
		struct xs_out *o = c->out_head;

		c->out_head = o->next;
		free(o);
	}
	close(c->fd);
	free(c);
}

static void accept_clients(struct xs_server *xs)
{
	for (;;) {
		int fd = accept4(xs->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct xs_conn *c;

		if (fd < 0) {
			/* Out of descriptors: stop polling the listener for a moment, or poll()
			 * would report it readable again at once and the loop would spin. */
			xs->accept_backoff = errno == EMFILE || errno == ENFILE;
			return;
		}
		c = xs->nconns < XS_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++xs->next_conn_id;
		c->who = (struct xs_who){ .domid = 0, .target = XS_NO_TARGET, .priv = true };
		c->out_tail = &c->out_head;
		c->next_tx = 1;
		c->next = xs->conns;
		xs->conns = c;
		xs->nconns++;
	}
}

static void flush_out(struct xs_conn *c)
{
	while (c->out_head && !c->dead) {
		struct xs_out *o = c->out_head;
		ssize_t n =
			send(c->fd, o->data + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				c->dead = true;
			return;
		}
		o->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (o->off < o->len)
			return;
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = &c->out_head;
		free(o);
	}
}

/* Bytes still missing from the request being received. */
static size_t in_want(const struct xs_conn *c)
{
	size_t hdr = sizeof(struct xsd_sockmsg);

	return c->in_len < hdr ? hdr - c->in_len : hdr + c->in.hdr.len - c->in_len;
}

/* Read and handle up to XS_MSGS_PER_ROUND requests from @c. */
static void read_requests(struct xs_server *xs, struct xs_conn *c)
{
	unsigned int handled = 0;

	while (!c->dead && handled < XS_MSGS_PER_ROUND && c->out_bytes < XS_OUT_PAUSE) {
		ssize_t n = read(c->fd, c->in.raw + c->in_len, in_want(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				c->dead = true;
			return;
		}
		c->in_len += (size_t)n;
		if (c->in_len == sizeof(struct xsd_sockmsg) &&
		    c->in.hdr.len > XENSTORE_PAYLOAD_MAX) {
			/* C xenstored ignores such a client from then on; we hang up. */
			c->dead = true;
			return;
		}
		if (in_want(c))
			continue;
		c->in.raw[c->in_len] = '\0';
		xs_handle_request(xs, c);
		c->in_len = 0;
		handled++;
	}
}

static void reap_dead(struct xs_server *xs)
{
	struct xs_conn **pp = &xs->conns;

	while (*pp) {
		struct xs_conn *c = *pp;

		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		xs->nconns--;
		conn_free(xs, c);
	}
}

/* Fill @pfd for poll(); returns the count. */
static unsigned int build_poll(struct xs_server *xs, struct pollfd *pfd, struct xs_conn **who)
{
	unsigned int n = 2;

	pfd[0] = (struct pollfd){ .fd = xs->wake[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = xs->accept_backoff ? -1 : xs->lfd, .events = POLLIN };
	for (struct xs_conn *c = xs->conns; c; c = c->next, n++) {
		pfd[n].fd = c->fd;
		pfd[n].events =
			(c->out_bytes < XS_OUT_PAUSE ? POLLIN : 0) | (c->out_head ? POLLOUT : 0);
		pfd[n].revents = 0;
		who[n] = c;
	}
	return n;
}

static void serve_round(struct xs_server *xs, struct pollfd *pfd, struct xs_conn **who,
			unsigned int n)
{
	char buf[64];

	if (pfd[0].revents & POLLIN)
		while (read(xs->wake[0], buf, sizeof(buf)) > 0)
			;
	if (pfd[1].revents & POLLIN)
		accept_clients(xs);
	for (unsigned int i = 2; i < n; i++) {
		struct xs_conn *c = who[i];

		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			read_requests(xs, c);
		flush_out(c);
	}
	/* Events queued for clients not in this round's set (or by other threads). */
	for (struct xs_conn *c = xs->conns; c; c = c->next)
		flush_out(c);
	reap_dead(xs);
}

static void *server_main(void *arg)
{
	struct xs_server *xs = arg;
	struct pollfd *pfd = calloc(XS_MAX_CONNS + 2, sizeof(*pfd));
	struct xs_conn **who = calloc(XS_MAX_CONNS + 2, sizeof(*who));

	pthread_mutex_lock(&xs->lock);
	while (!xs->stop && pfd && who) {
		unsigned int n = build_poll(xs, pfd, who);
		int rc;

		pthread_mutex_unlock(&xs->lock);
		rc = poll(pfd, n, xs->accept_backoff ? 50 : -1);
		pthread_mutex_lock(&xs->lock);
		xs->accept_backoff = false;
		if (rc < 0)
			continue;
		serve_round(xs, pfd, who, n);
	}
	pthread_mutex_unlock(&xs->lock);
	free(pfd);
	free(who);
	return NULL;
}

static void kick(struct xs_server *xs)
{
	char b = 0;

	if (write(xs->wake[1], &b, 1) < 0) {
		/* Full pipe: the loop is due to wake anyway. */
	}
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 128)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void server_free(struct xs_server *xs)
{
	while (xs->conns) {
		struct xs_conn *c = xs->conns;

		xs->conns = c->next;
		conn_free(xs, c);
	}
	if (xs->lfd >= 0) {
		close(xs->lfd);
		unlink(xs->path);
	}
	if (xs->wake[0] >= 0) {
		close(xs->wake[0]);
		close(xs->wake[1]);
	}
	xs_store_free(xs->store);
	pthread_mutex_destroy(&xs->lock);
	free(xs->doms);
	free(xs->path);
	free(xs);
}

int xs_server_start(struct xs_server **out, const char *path)
{
	struct xs_server *xs = calloc(1, sizeof(*xs));
	sigset_t all, old;
	int rc;

	if (!xs)
		return -ENOMEM;
	xs->lfd = xs->wake[0] = xs->wake[1] = -1;
	/* @introduceDomain/@releaseDomain: owned by dom0, nobody else may see them (C default). */
	xs->nspecial[0] = xs->nspecial[1] = 1;
	pthread_mutex_init(&xs->lock, NULL);
	xs->path = strdup(path);
	rc = xs->path ? xs_store_new(&xs->store) : -ENOMEM;
	if (!rc && pipe2(xs->wake, O_NONBLOCK | O_CLOEXEC))
		rc = -errno;
	if (!rc) {
		int fd = listen_on(path);

		if (fd < 0)
			rc = fd;
		else
			xs->lfd = fd;
	}
	if (!rc) {
		/* Signals belong to the application's threads. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = -pthread_create(&xs->thread, NULL, server_main, xs);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc) {
		server_free(xs);
		return rc;
	}
	*out = xs;
	return 0;
}

void xs_server_stop(struct xs_server *xs)
{
	if (!xs)
		return;
	pthread_mutex_lock(&xs->lock);
	xs->stop = true;
	kick(xs);
	pthread_mutex_unlock(&xs->lock);
	pthread_join(xs->thread, NULL);
	server_free(xs);
}

void xs_server_counters(struct xs_server *xs, struct xensim_counters *c)
{
	uint64_t live = 0;

	pthread_mutex_lock(&xs->lock);
	for (struct xs_conn *k = xs->conns; k; k = k->next)
		live += k->nwatches;
	c->xs_ops = xs->ops;
	c->xs_watches_live = live;
	c->xs_transactions = xs->transactions;
	c->xs_watch_events = xs->watch_events;
	pthread_mutex_unlock(&xs->lock);
}

void xs_server_counters_reset(struct xs_server *xs)
{
	pthread_mutex_lock(&xs->lock);
	xs->ops = xs->transactions = xs->watch_events = 0;
	pthread_mutex_unlock(&xs->lock);
}

int xs_server_fault(struct xs_server *xs, enum xensim_op op, unsigned int nth, int err)
{
	int rc = 0;

	if (op < XENSIM_OP_XS_READ || op > XENSIM_OP_XS_TRANSACTION_END || !nth || err <= 0)
		return -EINVAL;
	pthread_mutex_lock(&xs->lock);
	if (xs->nfaults < XS_MAX_FAULTS)
		xs->faults[xs->nfaults++] =
			(struct xs_fault){ .op = op, .at = xs->calls[op] + nth, .err = err };
	else
		rc = -ENOSPC;
	pthread_mutex_unlock(&xs->lock);
	return rc;
}

void xs_server_fault_clear(struct xs_server *xs)
{
	pthread_mutex_lock(&xs->lock);
	xs->nfaults = 0;
	pthread_mutex_unlock(&xs->lock);
}

void xs_server_domain_event(struct xs_server *xs, uint32_t domid, int created)
{
	struct xs_domain *d;

	pthread_mutex_lock(&xs->lock);
	d = xs_domain_get(xs, domid, created);
	if (d)
		d->introduced = created;
	xs_fire_special(xs, created ? "@introduceDomain" : "@releaseDomain");
	kick(xs);
	pthread_mutex_unlock(&xs->lock);
}
