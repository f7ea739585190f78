/* SPDX-License-Identifier: MIT */
/*
 * xs_client.c — xenstore wire protocol, client side (see xs_client.h).
 *
 * Lock discipline (as in the real libxenstore): req_lock serialises requests and, while there
 * is no reader thread, reading the socket; lock protects the reply slot, the event queue, the
 * event pipe and the broken flag. Order: req_lock before lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "xs_client.h"

struct msg {
	struct msg *next;
	struct xsd_sockmsg hdr;
	char *body; /* hdr.len bytes + NUL */
};

struct xs_client {
	int fd;
	bool broken;
	bool have_reader;
	pthread_t reader;
	pthread_mutex_t req_lock;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* reply arrived, event queued, or connection broke */
	struct msg *reply;
	struct msg *ev_head, **ev_tail;
	int pipe[2]; /* readable while ev_head != NULL */
	uint32_t next_req_id;
};

bool xs_path_is_child(const char *parent, const char *child)
{
	size_t n = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	return !strncmp(child, parent, n) && (child[n] == '/' || child[n] == '\0');
}

int xs_client_errno(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(name, xsd_errors[i].errstring))
			return xsd_errors[i].errnum;
	return EINVAL;
}

const char *xs_client_daemon_rundir(void)
{
	const char *s = getenv("XENSTORED_RUNDIR");

	return s ? s : "/var/run/xenstored";
}

const char *xs_client_daemon_path(void)
{
	static __thread char buf[128]; /* a unix socket path is at most 108 bytes anyway */
	const char *s = getenv("XENSTORED_PATH");

	if (s)
		return s;
	if (snprintf(buf, sizeof(buf), "%s/socket", xs_client_daemon_rundir()) >= (int)sizeof(buf))
		return NULL;
	return buf;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *data, size_t len)
{
	char *p = data;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADF; /* the daemon closed on us, as the real library reports it */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void free_msgs(struct msg *m)
{
	while (m) {
		struct msg *next = m->next;

		free(m->body);
		free(m);
		m = next;
	}
}

/* Read one whole message from the socket. */
static int read_msg(struct xs_client *c, struct msg **out)
{
	struct msg *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	rc = read_all(c->fd, &m->hdr, sizeof(m->hdr));
	if (!rc && m->hdr.len > XENSTORE_PAYLOAD_MAX)
		rc = -E2BIG;
	if (!rc) {
		m->body = malloc(m->hdr.len + 1);
		rc = m->body ? read_all(c->fd, m->body, m->hdr.len) : -ENOMEM;
	}
	if (rc) {
		free_msgs(m);
		return rc;
	}
	m->body[m->hdr.len] = '\0';
	*out = m;
	return 0;
}

static void pipe_kick(struct xs_client *c)
{
	char b = 0;

	if (c->pipe[1] >= 0)
		while (write(c->pipe[1], &b, 1) < 0 && errno == EINTR)
			;
}

static void pipe_drain(struct xs_client *c)
{
	char b;

	if (c->pipe[0] >= 0)
		while (read(c->pipe[0], &b, 1) < 0 && errno == EINTR)
			;
}

/* File a message read from the socket. Called with c->lock held. */
static int dispatch(struct xs_client *c, struct msg *m)
{
	if (m->hdr.type == XS_WATCH_EVENT) {
		if (!c->ev_head)
			pipe_kick(c);
		*c->ev_tail = m;
		c->ev_tail = &m->next;
	} else {
		if (c->reply) { /* a reply nobody asked for: the stream is out of step */
			free_msgs(m);
			return -EBADF;
		}
		c->reply = m;
	}
	pthread_cond_broadcast(&c->cond);
	return 0;
}

static void mark_broken(struct xs_client *c)
{
	c->broken = true;
	pthread_cond_broadcast(&c->cond);
}

static void *reader_main(void *arg)
{
	struct xs_client *c = arg;

	for (;;) {
		struct msg *m;
		int rc = read_msg(c, &m);

		pthread_mutex_lock(&c->lock);
		if (!rc)
			rc = dispatch(c, m);
		if (rc) {
			mark_broken(c);
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		pthread_mutex_unlock(&c->lock);
	}
}

int xs_client_start_reader(struct xs_client *c)
{
	sigset_t all, old;
	int rc = 0;

	pthread_mutex_lock(&c->req_lock);
	if (!c->have_reader) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = -pthread_create(&c->reader, NULL, reader_main, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		c->have_reader = !rc;
	}
	pthread_mutex_unlock(&c->req_lock);
	return rc;
}

/* Without a reader thread: read until a reply is there. Called with req_lock held. */
static int pump_until_reply(struct xs_client *c)
{
	for (;;) {
		struct msg *m;
		int rc;

		pthread_mutex_lock(&c->lock);
		rc = c->broken ? -EBADF : 0;
		if (!rc && c->reply) {
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
		pthread_mutex_unlock(&c->lock);
		if (rc)
			return rc;
		rc = read_msg(c, &m);
		pthread_mutex_lock(&c->lock);
		if (!rc)
			rc = dispatch(c, m);
		if (rc)
			mark_broken(c);
		pthread_mutex_unlock(&c->lock);
		if (rc)
			return rc;
	}
}

static int wait_reply(struct xs_client *c, struct msg **out)
{
	int rc = 0;

	if (!c->have_reader)
		rc = pump_until_reply(c);
	pthread_mutex_lock(&c->lock);
	while (!rc && !c->reply && !c->broken)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->reply) {
		*out = c->reply;
		c->reply = NULL;
		rc = 0;
	} else if (!rc) {
		rc = -EBADF;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int send_msg(struct xs_client *c, struct xsd_sockmsg *hdr, const struct iovec *iov,
		    unsigned int niov)
{
	int rc = write_all(c->fd, hdr, sizeof(*hdr));

	for (unsigned int i = 0; !rc && i < niov; i++)
		rc = write_all(c->fd, iov[i].iov_base, iov[i].iov_len);
	return rc;
}

/* Turn a reply into the caller's result. */
static int take_reply(struct msg *m, uint32_t type, char **reply, unsigned int *len)
{
	int rc = 0;

	if (m->hdr.type == XS_ERROR)
		rc = -xs_client_errno(m->body);
	else if (m->hdr.type != type)
		rc = -EBADF;
	if (!rc && len)
		*len = m->hdr.len;
	if (!rc && reply) {
		*reply = m->body;
		m->body = NULL;
	}
	free_msgs(m);
	return rc;
}

int xs_client_request(struct xs_client *c, uint32_t type, uint32_t tx, const struct iovec *iov,
		      unsigned int niov, char **reply, unsigned int *len)
{
	struct xsd_sockmsg hdr = { .type = type, .tx_id = tx };
	struct msg *m = NULL;
	size_t total = 0;
	int rc;

	for (unsigned int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	if (total > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	hdr.len = (uint32_t)total;
	pthread_mutex_lock(&c->req_lock);
	hdr.req_id = c->next_req_id++;
	rc = c->broken ? -EBADF : send_msg(c, &hdr, iov, niov);
	if (!rc)
		rc = wait_reply(c, &m);
	if (!rc) {
		if (m->hdr.type != XS_ERROR && m->hdr.type != type) {
			/* Out of step with the daemon: unusable from now on, like the real lib. */
			pthread_mutex_lock(&c->lock);
			mark_broken(c);
			pthread_mutex_unlock(&c->lock);
			shutdown(c->fd, SHUT_RDWR);
		}
		rc = take_reply(m, type, reply, len);
	} else if (rc != -EBADF) {
		pthread_mutex_lock(&c->lock);
		mark_broken(c);
		pthread_mutex_unlock(&c->lock);
		rc = -EBADF;
	}
	pthread_mutex_unlock(&c->req_lock);
	return rc;
}

int xs_client_req_str(struct xs_client *c, uint32_t type, uint32_t tx, const char *s, char **reply,
		      unsigned int *len)
{
	struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) + 1 };

	return xs_client_request(c, type, tx, &iov, 1, reply, len);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, rc;

	if (!path || strlen(path) >= sizeof(addr.sun_path))
		return -EINVAL;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		rc = (errno == ECONNREFUSED) ? -ENOENT : -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int env_domid(uint32_t *out)
{
	const char *s = getenv("XENSIM_DOMID");
	char *end;
	unsigned long v;

	*out = 0;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT16_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int set_domid(struct xs_client *c, uint32_t domid)
{
	char arg[16];
	struct iovec iov[2] = {
		{ .iov_base = "set-domid", .iov_len = sizeof("set-domid") },
		{ .iov_base = arg },
	};

	iov[1].iov_len = (size_t)snprintf(arg, sizeof(arg), "%u", domid) + 1;
	return xs_client_request(c, XS_CONTROL, 0, iov, 2, NULL, NULL);
}

static void init_sync(struct xs_client *c)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&c->req_lock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr,
				  CLOCK_MONOTONIC); /* deadlines come from deadline_after() */
	pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
}

int xs_client_open(struct xs_client **out, const char *path, uint32_t domid)
{
	struct xs_client *c;
	int rc = 0;

	if (domid == XS_CLIENT_DOMID_ENV)
		rc = env_domid(&domid);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = connect_unix(path ? path : xs_client_daemon_path());
	if (c->fd < 0) {
		rc = c->fd;
		free(c);
		return rc;
	}
	init_sync(c);
	c->ev_tail = &c->ev_head;
	c->pipe[0] = c->pipe[1] = -1;
	if (domid)
		rc = set_domid(c, domid);
	if (rc) {
		xs_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void free_handle(struct xs_client *c)
{
	free_msgs(c->reply);
	free_msgs(c->ev_head);
	if (c->pipe[0] >= 0) {
		close(c->pipe[0]);
		close(c->pipe[1]);
	}
	close(c->fd);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->req_lock);
	free(c);
}

void xs_client_close(struct xs_client *c)
{
	if (!c)
		return;
	if (c->have_reader) {
		/* Wakes the reader out of read(): it sees EOF, marks us broken and exits. */
		shutdown(c->fd, SHUT_RDWR);
		pthread_join(c->reader, NULL);
	}
	free_handle(c);
}

void xs_client_destroy_postfork(struct xs_client *c)
{
	if (!c)
		return;
	/* The reader thread only exists in the parent; its mutexes may be in any state here. */
	init_sync(c);
	free_handle(c);
}

int xs_client_event_fd(struct xs_client *c)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	if (c->pipe[0] < 0 && !pipe2(c->pipe, O_CLOEXEC) && c->ev_head)
		pipe_kick(c);
	rc = c->pipe[0] >= 0 ? c->pipe[0] : -errno;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static struct msg *pop_event(struct xs_client *c)
{
	struct msg *m = c->ev_head;

	if (!m)
		return NULL;
	c->ev_head = m->next;
	if (!c->ev_head) {
		c->ev_tail = &c->ev_head;
		pipe_drain(c);
	}
	m->next = NULL;
	return m;
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Without a reader thread: read the socket ourselves until an event is queued or time is up. */
static int pump_for_event(struct xs_client *c, int timeout_ms, const struct timespec *deadline)
{
	int rc = 0;

	pthread_mutex_lock(&c->req_lock);
	while (!rc && !c->have_reader) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		struct msg *m;
		int n;

		pthread_mutex_lock(&c->lock);
		n = c->ev_head || c->broken;
		pthread_mutex_unlock(&c->lock);
		if (n)
			break;
		n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms ? ms_left(deadline) : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		rc = read_msg(c, &m);
		pthread_mutex_lock(&c->lock);
		if (!rc)
			rc = dispatch(c, m);
		if (rc)
			mark_broken(c);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&c->req_lock);
	return rc;
}

int xs_client_next_event(struct xs_client *c, int timeout_ms, char **body, unsigned int *len)
{
	struct timespec deadline = { 0 };
	struct msg *m;
	int rc = 0;

	if (timeout_ms > 0)
		deadline_after(&deadline, timeout_ms);
	if (!c->have_reader)
		pump_for_event(c, timeout_ms, &deadline);
	pthread_mutex_lock(&c->lock);
	while (!c->ev_head && !c->broken && timeout_ms && rc != ETIMEDOUT) {
		if (timeout_ms < 0)
			rc = pthread_cond_wait(&c->cond, &c->lock);
		else
			rc = pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
	}
	m = pop_event(c);
	rc = m ? 0 : c->broken ? -EBADF : -EAGAIN;
	pthread_mutex_unlock(&c->lock);
	if (m) {
		*body = m->body;
		if (len)
			*len = m->hdr.len;
		m->body = NULL;
		free_msgs(m);
	}
	return rc;
}

void xs_client_drop_events(struct xs_client *c, const char *path, const char *token)
{
	struct msg **pp;
	bool had = false;

	pthread_mutex_lock(&c->lock);
	had = c->ev_head != NULL;
	for (pp = &c->ev_head; *pp;) {
		struct msg *m = *pp;
		const char *tok = m->body + strnlen(m->body, m->hdr.len) + 1;
		bool drop = tok < m->body + m->hdr.len + 1 && !strcmp(tok, token) &&
			    xs_path_is_child(path, m->body);

		if (drop) {
			*pp = m->next;
			m->next = NULL;
			free_msgs(m);
		} else {
			pp = &m->next;
		}
	}
	c->ev_tail = pp;
	if (had && !c->ev_head)
		pipe_drain(c);
	pthread_mutex_unlock(&c->lock);
}
