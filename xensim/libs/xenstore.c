/* SPDX-License-Identifier: MIT */
/*
 * xenstore.c — xensim's drop-in libxenstore.so.4: Debian's ABI (every symbol, node VERS_4.0)
 * over xs_client.c, talking the real wire protocol to the xenstored at $XENSTORED_PATH.
 *
 * Behaviour follows the real tools/libs/store/xs.c: results are malloc'ed for the caller to
 * free; errors are NULL/false with errno; one request in flight per handle (thread-safe); watch
 * events are read by a thread started on the first xs_watch() and xs_fileno() is a pipe that is
 * readable while events are queued; the identity is $XENSIM_DOMID (xensim's addition).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "xs_client.h"

#define XS_EXPORT __attribute__((visibility("default")))

struct xs_handle {
	struct xs_client *c;
	bool unwatch_filter;
};

/* Turn a -errno into the library's convention: NULL/false with errno set. */
static void *fail(int rc)
{
	errno = -rc;
	return NULL;
}

static unsigned int count_strings(const char *s, unsigned int len)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < len; i++)
		n += s[i] == '\0';
	return n;
}

XS_EXPORT struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return fail(-ENOMEM);
	/* XS_OPEN_READONLY is ignored by the real library too; there is no xenbus device here. */
	rc = xs_client_open(&h->c, xs_client_daemon_path(), XS_CLIENT_DOMID_ENV);
	if (rc) {
		free(h);
		return fail(rc);
	}
	h->unwatch_filter = flags & XS_UNWATCH_FILTER;
	return h;
}

XS_EXPORT struct xs_handle *xs_daemon_open(void)
{
	return xs_open(0);
}

XS_EXPORT struct xs_handle *xs_daemon_open_readonly(void)
{
	return xs_open(0);
}

XS_EXPORT struct xs_handle *xs_domain_open(void)
{
	return xs_open(0);
}

XS_EXPORT void xs_daemon_close(struct xs_handle *h)
{
	xs_client_close(h->c);
	free(h);
}

XS_EXPORT void xs_close(struct xs_handle *h)
{
	if (h)
		xs_daemon_close(h);
}

XS_EXPORT void xs_daemon_destroy_postfork(struct xs_handle *h)
{
	xs_client_destroy_postfork(h->c);
	free(h);
}

/* One request with one string argument; returns the reply (caller frees) or NULL/errno. */
static char *single(struct xs_handle *h, xs_transaction_t t, uint32_t type, const char *s,
		    unsigned int *len)
{
	char *reply = NULL;
	int rc = xs_client_req_str(h->c, type, t, s, &reply, len);

	return rc ? fail(rc) : reply;
}

static bool ok(int rc)
{
	if (rc)
		errno = -rc;
	return !rc;
}

static bool single_ok(struct xs_handle *h, xs_transaction_t t, uint32_t type, const char *s)
{
	return ok(xs_client_req_str(h->c, type, t, s, NULL, NULL));
}

/* Pointers to each string of @strings, in one allocation with a copy of them (caller frees). */
static char **string_array(const char *strings, unsigned int len, unsigned int *num)
{
	unsigned int n = count_strings(strings, len);
	char **ret = malloc(n * sizeof(char *) + len + 1);
	char *p;

	if (!ret)
		return fail(-ENOMEM);
	p = (char *)&ret[n];
	memcpy(p, strings, len);
	p[len] = '\0';
	for (unsigned int i = 0; i < n; i++, p += strlen(p) + 1)
		ret[i] = p;
	*num = n;
	return ret;
}

/* XS_DIRECTORY_PART loop for directories whose list exceeds one message (as the real lib). */
static char **directory_part(struct xs_handle *h, xs_transaction_t t, const char *path,
			     unsigned int *num)
{
	char gen[24] = "", offstr[16], *all = NULL, **ret;
	unsigned int off = 0;

	for (;;) {
		struct iovec iov[2] = { { (void *)path, strlen(path) + 1 }, { offstr, 0 } };
		char *res = NULL, *grown;
		unsigned int rlen, glen;
		int rc;

		iov[1].iov_len = (size_t)snprintf(offstr, sizeof(offstr), "%u", off) + 1;
		rc = xs_client_request(h->c, XS_DIRECTORY_PART, t, iov, 2, &res, &rlen);
		if (rc) {
			free(all);
			return fail(rc == -ENOSYS ? -E2BIG : rc);
		}
		glen = (unsigned int)strnlen(res, rlen) + 1;
		if (off && strcmp(gen, res)) { /* the directory changed: start over */
			free(res);
			off = 0;
			continue;
		}
		snprintf(gen, sizeof(gen), "%s", res);
		rlen = rlen > glen ? rlen - glen : 0;
		grown = realloc(all, off + rlen + 1);
		if (!grown) {
			free(res);
			free(all);
			return fail(-ENOMEM);
		}
		all = grown;
		memcpy(all + off, res + glen, rlen);
		free(res);
		off += rlen;
		if (off <= 1 || all[off - 2] == '\0')
			break;
	}
	if (off > 1)
		off--; /* the empty string that ends the list */
	ret = string_array(all ? all : "", all ? off : 0, num);
	free(all);
	return ret;
}

XS_EXPORT char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
			      unsigned int *num)
{
	unsigned int len;
	char *s = single(h, t, XS_DIRECTORY, path, &len);
	char **ret;

	if (!s)
		return errno == E2BIG ? directory_part(h, t, path, num) : NULL;
	ret = string_array(s, len, num);
	free(s);
	return ret;
}

XS_EXPORT void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
			unsigned int *len)
{
	return single(h, t, XS_READ, path, len);
}

XS_EXPORT bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
			unsigned int len)
{
	struct iovec iov[2] = { { (void *)path, strlen(path) + 1 }, { (void *)data, len } };

	return ok(xs_client_request(h->c, XS_WRITE, t, iov, 2, NULL, NULL));
}

XS_EXPORT bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return single_ok(h, t, XS_MKDIR, path);
}

XS_EXPORT bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return single_ok(h, t, XS_RM, path);
}

XS_EXPORT bool xs_restrict(struct xs_handle *h, unsigned domid)
{
	return false; /* removed in Xen 4.9; the real library answers false as well */
}

XS_EXPORT bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num,
				   const char *strings)
{
	const char *p = strings;

	for (unsigned int i = 0; i < num; i++, p += strlen(p) + 1) {
		switch (*p) {
		case 'w':
			perms[i].perms = XS_PERM_WRITE;
			break;
		case 'r':
			perms[i].perms = XS_PERM_READ;
			break;
		case 'b':
			perms[i].perms = XS_PERM_READ | XS_PERM_WRITE;
			break;
		case 'n':
			perms[i].perms = XS_PERM_NONE;
			break;
		default:
			errno = EINVAL;
			return false;
		}
		perms[i].id = (unsigned int)strtol(p + 1, NULL, 0);
	}
	return true;
}

XS_EXPORT struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t,
						    const char *path, unsigned int *num)
{
	unsigned int len, n;
	char *s = single(h, t, XS_GET_PERMS, path, &len);
	struct xs_permissions *ret;

	if (!s)
		return NULL;
	n = count_strings(s, len);
	ret = malloc((n ? n : 1) * sizeof(*ret));
	if (ret && !xs_strings_to_perms(ret, n, s)) {
		free(ret);
		ret = NULL;
	} else if (!ret) {
		errno = ENOMEM;
	}
	free(s);
	if (ret)
		*num = n;
	return ret;
}

static int perm_letter(unsigned int perms)
{
	switch (perms & ~XS_PERM_IGNORE) {
	case XS_PERM_WRITE:
		return 'w';
	case XS_PERM_READ:
		return 'r';
	case XS_PERM_READ | XS_PERM_WRITE:
		return 'b';
	case XS_PERM_NONE:
		return 'n';
	default:
		return -1;
	}
}

XS_EXPORT bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
				  struct xs_permissions *perms, unsigned int num_perms)
{
	struct iovec *iov = calloc(num_perms + 1, sizeof(*iov));
	char *buf = calloc(num_perms ? num_perms : 1, 16);
	bool ret = false;
	unsigned int i;

	if (!iov || !buf) {
		errno = ENOMEM;
		goto out;
	}
	iov[0] = (struct iovec){ (void *)path, strlen(path) + 1 };
	for (i = 0; i < num_perms; i++) {
		int l = perm_letter(perms[i].perms);

		if (l < 0) {
			errno = EINVAL;
			goto out;
		}
		iov[i + 1].iov_base = buf + 16 * i;
		iov[i + 1].iov_len = (size_t)snprintf(buf + 16 * i, 16, "%c%u", l, perms[i].id) + 1;
	}
	ret = ok(xs_client_request(h->c, XS_SET_PERMS, t, iov, num_perms + 1, NULL, NULL));
out:
	free(iov);
	free(buf);
	return ret;
}

XS_EXPORT bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	struct iovec iov[2] = { { (void *)path, strlen(path) + 1 },
				{ (void *)token, strlen(token) + 1 } };
	int rc = xs_client_start_reader(h->c);

	return ok(rc ? rc : xs_client_request(h->c, XS_WATCH, 0, iov, 2, NULL, NULL));
}

XS_EXPORT int xs_fileno(struct xs_handle *h)
{
	int fd = xs_client_event_fd(h->c);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

static char **read_watch(struct xs_handle *h, unsigned int *num, int timeout_ms)
{
	char *body = NULL, **ret;
	unsigned int len;
	int rc = xs_client_next_event(h->c, timeout_ms, &body, &len);

	if (rc)
		return fail(rc == -EBADF ? -EINVAL : rc);
	ret = string_array(body, len, num);
	free(body);
	return ret;
}

XS_EXPORT char **xs_check_watch(struct xs_handle *h)
{
	unsigned int num;

	return read_watch(h, &num, 0);
}

XS_EXPORT char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
	/* Block on the event queue, not on the socket: other threads keep using the handle
	 * (the real library waits on its condition variable the same way). */
	int rc = xs_client_start_reader(h->c);

	if (rc)
		return fail(rc);
	return read_watch(h, num, -1);
}

XS_EXPORT bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	struct iovec iov[2] = { { (void *)path, strlen(path) + 1 },
				{ (void *)token, strlen(token) + 1 } };
	bool ret = ok(xs_client_request(h->c, XS_UNWATCH, 0, iov, 2, NULL, NULL));
	int saved = errno;

	if (h->unwatch_filter)
		xs_client_drop_events(h->c, path, token);
	errno = saved;
	return ret;
}

XS_EXPORT xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	char *id = single(h, XBT_NULL, XS_TRANSACTION_START, "", NULL);
	xs_transaction_t t;

	if (!id)
		return XBT_NULL;
	t = (xs_transaction_t)strtoul(id, NULL, 0);
	free(id);
	return t;
}

XS_EXPORT bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	return single_ok(h, t, XS_TRANSACTION_END, abort ? "F" : "T");
}

/* Send @n decimal numbers as strings. */
static bool numbers_ok(struct xs_handle *h, uint32_t type, const unsigned long *v, unsigned int n)
{
	char buf[3][24];
	struct iovec iov[3];

	for (unsigned int i = 0; i < n; i++)
		iov[i] =
			(struct iovec){ buf[i],
					(size_t)snprintf(buf[i], sizeof(buf[i]), "%lu", v[i]) + 1 };
	return ok(xs_client_request(h->c, type, XBT_NULL, iov, n, NULL, NULL));
}

XS_EXPORT bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
				   unsigned int eventchn)
{
	const unsigned long v[3] = { domid, mfn, eventchn };

	return numbers_ok(h, XS_INTRODUCE, v, 3);
}

XS_EXPORT bool xs_set_target(struct xs_handle *h, unsigned int domid, unsigned int target)
{
	const unsigned long v[2] = { domid, target };

	return numbers_ok(h, XS_SET_TARGET, v, 2);
}

XS_EXPORT bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
	const unsigned long v[1] = { domid };

	return numbers_ok(h, XS_RELEASE, v, 1);
}

XS_EXPORT bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
	const unsigned long v[1] = { domid };

	return numbers_ok(h, XS_RESUME, v, 1);
}

XS_EXPORT char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", domid);
	return single(h, XBT_NULL, XS_GET_DOMAIN_PATH, s, NULL);
}

XS_EXPORT bool xs_path_is_subpath(const char *parent, const char *child)
{
	size_t clen = strlen(child), plen = strlen(parent);

	/* Exactly the real library's test (note: "/" is not a parent of "/a" here). */
	if (clen < plen || memcmp(child, parent, plen))
		return false;
	return clen == plen || child[plen] == '/';
}

XS_EXPORT bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
	char s[16], *r;
	bool ret;

	snprintf(s, sizeof(s), "%u", domid);
	r = single(h, XBT_NULL, XS_IS_DOMAIN_INTRODUCED, s, NULL);
	if (!r)
		return false;
	ret = strcmp(r, "F") != 0;
	free(r);
	return ret;
}

XS_EXPORT char *xs_control_command(struct xs_handle *h, const char *cmd, void *data,
				   unsigned int len)
{
	struct iovec iov[2] = { { (void *)cmd, strlen(cmd) + 1 }, { data, len } };
	char *reply = NULL;
	int rc = xs_client_request(h->c, XS_CONTROL, XBT_NULL, iov, 2, &reply, NULL);

	return rc ? fail(rc) : reply;
}

XS_EXPORT char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
	return xs_control_command(h, cmd, data, len);
}

XS_EXPORT int xs_suspend_evtchn_port(int domid)
{
	struct xs_handle *h = xs_daemon_open();
	char path[128], *s;
	unsigned int len = 0;
	int port = -1;

	if (!h)
		return -1;
	snprintf(path, sizeof(path), "/local/domain/%d/device/suspend/event-channel", domid);
	s = xs_read(h, XBT_NULL, path, &len);
	xs_daemon_close(h);
	if (s && len)
		port = atoi(s);
	free(s);
	return port;
}

XS_EXPORT const char *xs_daemon_rundir(void)
{
	return xs_client_daemon_rundir();
}

XS_EXPORT const char *xs_daemon_socket(void)
{
	return xs_client_daemon_path();
}

XS_EXPORT const char *xs_daemon_socket_ro(void)
{
	return xs_daemon_socket();
}

XS_EXPORT bool xs_write_all(int fd, const void *data, unsigned int len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (unsigned int)n;
	}
	return true;
}
