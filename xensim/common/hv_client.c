/* SPDX-License-Identifier: MIT */
/*
 * hv_client.c — connect to the hypervisor model and make blocking calls on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv_client.h"

uint32_t hvc_env_domid(void)
{
	const char *s = getenv("XENSIM_DOMID");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > HV_DOMID_MAX)
		return 0;
	return (uint32_t)v;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno == ECONNREFUSED ? ENOENT : errno;
		close(fd);
		return -err;
	}
	return fd;
}

int hvc_open(struct hvc **out, const char *path, uint32_t domid)
{
	struct hv_hello hello = { .version = HV_PROTO_VERSION, .pid = (uint32_t)getpid() };
	struct hvc *c;
	int rc;

	if (!path)
		path = getenv("XENSIM_SOCKET");
	if (!path || !*path)
		return -ENOENT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = connect_unix(path);
	if (c->fd < 0) {
		rc = c->fd;
		free(c);
		return rc;
	}
	c->domid = domid == HVC_DOMID_ENV ? hvc_env_domid() : domid;
	pthread_mutex_init(&c->lock, NULL);
	hello.domid = c->domid;
	rc = hvc_simple(c, HV_HELLO, &hello, sizeof(hello), NULL, 0);
	if (rc < 0) {
		hvc_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void hvc_close(struct hvc *c)
{
	if (!c)
		return;
	/* Like closing a Xen device fd: what the handle owned is gone when close returns. */
	hvc_simple(c, HV_BYE, NULL, 0, NULL, 0);
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int send_all(int fd, struct iovec *iov, int niov)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };

	while (mh.msg_iovlen) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void take_fds(struct msghdr *mh, struct hvc_call *call)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n, i;
		int *fds = (int *)CMSG_DATA(cm);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			if (call->nfds < HV_MAX_FDS)
				call->fds[call->nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

/* Read exactly @len bytes; the first read also collects descriptors. */
static int recv_all(int fd, void *buf, size_t len, struct hvc_call *call)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (call) {
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = sizeof(cbuf.buf);
		}
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		if (call && mh.msg_controllen)
			take_fds(&mh, call);
		got += (size_t)n;
	}
	return 0;
}

static int discard(int fd, size_t len)
{
	char tmp[4096];

	while (len) {
		size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
		int rc = recv_all(fd, tmp, n, NULL);

		if (rc < 0)
			return rc;
		len -= n;
	}
	return 0;
}

/*
 * Read one reply: header and payload in one recvmsg when the server's single sendmsg has
 * arrived whole (the usual case), with further reads only for what is missing. The server
 * only ever answers requests and the caller holds the lock, so nothing of a later message can
 * be read. Descriptors travel with the header's bytes. A payload over call->rep_cap is
 * discarded (-EPROTO); call->rep may then hold its first bytes.
 */
static int recv_reply(int fd, struct hv_rep *rep, struct hvc_call *call)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov[2] = { { rep, sizeof(*rep) }, { call->rep, call->rep_cap } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = call->rep_cap ? 2 : 1 };
	size_t body;
	ssize_t n;
	int rc;

	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : -ECONNRESET;
	if (mh.msg_controllen)
		take_fds(&mh, call);
	if ((size_t)n < sizeof(*rep)) {
		rc = recv_all(fd, (char *)rep + n, sizeof(*rep) - (size_t)n, call);
		if (rc < 0)
			return rc;
		n = sizeof(*rep);
	}
	body = (size_t)n - sizeof(*rep);
	call->rep_len = rep->len;
	if (body > rep->len)
		return -EPROTO; /* more than the reply announced: cannot happen */
	if (rep->len > call->rep_cap) {
		rc = discard(fd, rep->len - body);
		return rc < 0 ? rc : -EPROTO;
	}
	if (rep->len > body)
		return recv_all(fd, (char *)call->rep + body, rep->len - body, NULL);
	return 0;
}

static int call_locked(struct hvc *c, struct hvc_call *call)
{
	struct iovec iov[8];
	struct hv_req req = { .op = call->op };
	struct hv_rep rep;
	int i, rc;

	if (call->niov > 7)
		return -EINVAL;
	iov[0] = (struct iovec){ &req, sizeof(req) };
	for (i = 0; i < call->niov; i++) {
		iov[i + 1] = call->iov[i];
		req.len += (uint32_t)call->iov[i].iov_len;
	}
	rc = send_all(c->fd, iov, call->niov + 1);
	if (rc < 0)
		return rc;
	rc = recv_reply(c->fd, &rep, call);
	return rc < 0 ? rc : rep.rc;
}

int hvc_call(struct hvc *c, struct hvc_call *call)
{
	int rc;

	call->nfds = 0;
	call->rep_len = 0;
	pthread_mutex_lock(&c->lock);
	rc = call_locked(c, call);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int hvc_simple(struct hvc *c, uint32_t op, const void *req, size_t len, void *rep, size_t cap)
{
	struct iovec iov = { (void *)req, len };
	struct hvc_call call = {
		.op = op, .iov = &iov, .niov = len ? 1 : 0, .rep = rep, .rep_cap = cap
	};
	int rc, i;

	rc = hvc_call(c, &call);
	for (i = 0; i < call.nfds; i++)
		close(call.fds[i]);
	return rc;
}
