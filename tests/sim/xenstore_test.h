/* SPDX-License-Identifier: MIT */
/*
 * xenstore_test.h — shared scaffolding for tests/sim/test_xenstore_*.c: a private xenstored
 * (xs_server) per test, a raw wire-protocol client (independent of xs_client.c, so the tests
 * check the bytes on the socket), and xs_client shorthands. Header-only: static inline.
 */
#ifndef TESTS_SIM_XENSTORE_TEST_H
#define TESTS_SIM_XENSTORE_TEST_H

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "../../xensim/common/xs_client.h"
#include "../../xensim/server/xs_server.h"

static struct xs_server *xst_srv;
static char xst_dir[64];
static char xst_sock[100];

/* Start a fresh xenstored for this test and point $XENSTORED_PATH at it. */
static inline void xst_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	/* unix socket paths are short: fall back to /tmp if $TMPDIR is long */
	if (!tmp || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(xst_dir, sizeof(xst_dir), "%s/xst-XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(xst_dir));
	snprintf(xst_sock, sizeof(xst_sock), "%s/socket", xst_dir);
	ck_assert_int_eq(xs_server_start(&xst_srv, xst_sock), 0);
	setenv("XENSTORED_PATH", xst_sock, 1);
	unsetenv("XENSIM_DOMID");
}

static inline void xst_teardown(void)
{
	xs_server_stop(xst_srv);
	xst_srv = NULL;
	rmdir(xst_dir);
}

/* ---- raw wire client ---------------------------------------------------------------------- */

static inline int xst_raw_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(a.sun_path, xst_sock, strlen(xst_sock) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static inline void xst_raw_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx,
				const void *payload, uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx, .len = len };

	ck_assert_int_eq(send(fd, &h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
	if (len)
		ck_assert_int_eq(send(fd, payload, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read exactly @len bytes within @ms; 0, or -1 on EOF/timeout. */
static inline int xst_raw_read(int fd, void *buf, size_t len, int ms)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receive one message (payload NUL-terminated into @buf, at least 4097 bytes). */
static inline int xst_raw_recv(int fd, struct xsd_sockmsg *h, char *buf, int ms)
{
	if (xst_raw_read(fd, h, sizeof(*h), ms) || h->len > XENSTORE_PAYLOAD_MAX ||
	    xst_raw_read(fd, buf, h->len, ms))
		return -1;
	buf[h->len] = '\0';
	return 0;
}

/* Send a request and receive the next message that is not a watch event. */
static inline void xst_raw_call(int fd, uint32_t type, uint32_t tx, const void *payload,
				uint32_t len, struct xsd_sockmsg *h, char *buf)
{
	static uint32_t req = 100;
	uint32_t id = req++;

	xst_raw_send(fd, type, id, tx, payload, len);
	do {
		ck_assert_int_eq(xst_raw_recv(fd, h, buf, 5000), 0);
	} while (h->type == XS_WATCH_EVENT);
	ck_assert_uint_eq(h->req_id, id);
}

/* ---- xs_client shorthands ----------------------------------------------------------------- */

static inline struct xs_client *xst_open(uint32_t domid)
{
	struct xs_client *c = NULL;

	ck_assert_int_eq(xs_client_open(&c, xst_sock, domid), 0);
	return c;
}

static inline int xst_write(struct xs_client *c, uint32_t tx, const char *path, const char *v)
{
	struct iovec iov[2] = { { (void *)path, strlen(path) + 1 }, { (void *)v, strlen(v) } };

	return xs_client_request(c, XS_WRITE, tx, iov, 2, NULL, NULL);
}

/* Read @path; returns 0 and *val (malloc'ed), or -errno. */
static inline int xst_read(struct xs_client *c, uint32_t tx, const char *path, char **val)
{
	return xs_client_req_str(c, XS_READ, tx, path, val, NULL);
}

static inline void xst_expect(struct xs_client *c, const char *path, const char *want)
{
	char *v = NULL;

	ck_assert_int_eq(xst_read(c, 0, path, &v), 0);
	ck_assert_str_eq(v, want);
	free(v);
}

static inline int xst_simple(struct xs_client *c, uint32_t type, uint32_t tx, const char *arg)
{
	return xs_client_req_str(c, type, tx, arg, NULL, NULL);
}

static inline int xst_two(struct xs_client *c, uint32_t type, const char *a, const char *b)
{
	struct iovec iov[2] = { { (void *)a, strlen(a) + 1 }, { (void *)b, strlen(b) + 1 } };

	return xs_client_request(c, type, 0, iov, 2, NULL, NULL);
}

static inline int xst_set_perms(struct xs_client *c, uint32_t tx, const char *path, const char *p1,
				const char *p2)
{
	struct iovec iov[3] = { { (void *)path, strlen(path) + 1 },
				{ (void *)p1, strlen(p1) + 1 },
				{ (void *)p2, p2 ? strlen(p2) + 1 : 0 } };

	return xs_client_request(c, XS_SET_PERMS, tx, iov, p2 ? 3 : 2, NULL, NULL);
}

/* Next watch event within @ms as "path|token", or "" if none. */
static inline const char *xst_event(struct xs_client *c, int ms)
{
	static char out[4200];
	char *body = NULL;
	unsigned int len = 0;

	out[0] = '\0';
	if (xs_client_next_event(c, ms, &body, &len))
		return out;
	snprintf(out, sizeof(out), "%s|%s", body, body + strlen(body) + 1);
	free(body);
	return out;
}

static inline uint32_t xst_txn(struct xs_client *c)
{
	char *id = NULL;
	uint32_t t;

	ck_assert_int_eq(xs_client_req_str(c, XS_TRANSACTION_START, 0, "", &id, NULL), 0);
	t = (uint32_t)strtoul(id, NULL, 10);
	free(id);
	ck_assert_uint_ne(t, 0);
	return t;
}

static inline int xst_end(struct xs_client *c, uint32_t tx, bool commit)
{
	return xst_simple(c, XS_TRANSACTION_END, tx, commit ? "T" : "F");
}

#endif /* TESTS_SIM_XENSTORE_TEST_H */
