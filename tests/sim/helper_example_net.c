/* SPDX-License-Identifier: MIT */
/*
 * helper_example_net.c — see helper_example_net.h. Linked into every sim test: everything here
 * is prefixed exnet_ and nothing runs unless called.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_example_net.h"
#include "helper_proc.h"

#define HDR_LEN XENSIM_VIRTIO_NET_HDR_LEN

void exnet_start(struct exnet *w)
{
	const char *tmp = getenv("TMPDIR");

	memset(w, 0, sizeof(*w));
	w->out = w->peer = -1;
	snprintf(w->dir, sizeof(w->dir), "%s/exnet-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(w->dir));
	snprintf(w->log, sizeof(w->log), "%s/daemon.log", w->dir);
	ck_assert_int_eq(xensim_server_start(&w->srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w->x, NULL), 0);
}

void exnet_stop(struct exnet *w)
{
	const char *log;

	if (w->peer >= 0)
		close(w->peer);
	w->peer = -1;
	if (w->net)
		xensim_net_free(w->net);
	if (w->g)
		xensim_guest_detach(w->g);
	w->net = NULL;
	w->g = NULL;
	if (w->pid && exnet_daemon_wait(w, SIGTERM, 5000) == -1)
		exnet_daemon_wait(w, SIGKILL, 5000);
	if (w->out >= 0)
		close(w->out);
	log = exnet_daemon_log(w);
	if (*log) /* shown by ctest --output-on-failure */
		fprintf(stderr, "---- virtio-xen-net log ----\n%s----\n", log);
	unlink(w->log);
	rmdir(w->dir);
	xensim_close(w->x);
	xensim_server_stop(w->srv);
}

void exnet_fill(void *buf, size_t len, uint32_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL | 1;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(p + i, &s, len - i < 8 ? len - i : 8);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* The daemon                                                                                  */

static const char *daemon_path(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("VXEN_BUILD_DIR");

	ck_assert_msg(b != NULL, "VXEN_BUILD_DIR is not set (run through ctest)");
	snprintf(path, sizeof(path), "%s/examples/net/virtio-xen-net", b);
	ck_assert_msg(access(path, X_OK) == 0, "%s not built", path);
	return path;
}

void exnet_daemon_start(struct exnet *w, const char *const *args)
{
	const char *argv[64] = { daemon_path() };
	int log = open(w->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), p[2];
	pid_t parent = getpid();
	unsigned int n = 1;

	ck_assert_int_ge(log, 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (; args && args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	w->pid = fork();
	ck_assert_int_ge(w->pid, 0);
	if (w->pid == 0) {
		/* Child: only async-signal-safe calls until exec (the parent has threads). */
		dup2(p[1], 1);
		dup2(log, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		if (getppid() != parent)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	close(log);
	w->out = p[0];
}

void exnet_daemon_start_socket(struct exnet *w)
{
	char path[300];
	const char *args[] = { "--socket", path, "-v", NULL };

	snprintf(path, sizeof(path), "%s/net{domid}.{devid}.sock", w->dir);
	exnet_daemon_start(w, args);
}

int exnet_daemon_wait(struct exnet *w, int sig, int timeout_ms)
{
	return vt_proc_wait(&w->pid, sig, timeout_ms);
}

const char *exnet_daemon_log(const struct exnet *w)
{
	return vt_read_file(w->log);
}

/* Read one line from the daemon's stdout, waiting up to EXNET_TMO. */
static bool read_line(struct exnet *w, char *line, size_t cap)
{
	struct pollfd pfd = { .fd = w->out, .events = POLLIN };
	size_t n = 0;
	char c;

	while (n + 1 < cap) {
		if (poll(&pfd, 1, EXNET_TMO) != 1 || read(w->out, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = 0;
	return true;
}

uint64_t exnet_stat(struct exnet *w, uint32_t domid, uint32_t devid, const char *key)
{
	char line[1024], prefix[64], want[64];
	const char *p;

	snprintf(prefix, sizeof(prefix), "stats d%u.%u ", domid, devid);
	snprintf(want, sizeof(want), " %s=", key);
	ck_assert_int_eq(kill(w->pid, SIGUSR1), 0);
	for (;;) {
		ck_assert_msg(read_line(w, line, sizeof(line)), "no stats line for d%u.%u", domid,
			      devid);
		if (strncmp(line, prefix, strlen(prefix)))
			continue; /* another device's, or an older line */
		p = strstr(line, want);
		ck_assert_msg(p != NULL, "no %s in '%s'", key, line);
		return strtoull(p + strlen(want), NULL, 10);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Guests                                                                                      */

uint32_t exnet_guest(struct exnet *w)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;
	uint32_t domid;

	dc.vcpus = 2;
	ck_assert_int_eq(xensim_domain_create(w->x, &dc, &domid), 0);
	return domid;
}

void exnet_nic(struct exnet *w, uint32_t domid, uint32_t devid)
{
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;
	char p[128];
	int r;

	d.kind = XENSIM_VIRTIO_GENERIC;
	d.frontend_domid = domid;
	d.devid = devid;
	d.virtio_id = XENSIM_VIRTIO_ID_NET;
	d.base = EXNET_BASE + devid * 0x200ull;
	d.irq = EXNET_IRQ + devid;
	ck_assert_int_eq(xensim_xl_add_virtio(w->x, &d), 0);
	snprintf(p, sizeof(p), "/local/domain/0/backend/virtio/%u/%u/state", domid, devid);
	r = xensim_xs_wait(w->x, p, "2", EXNET_TMO);
	ck_assert_msg(r == 0, "%s never became 2 (%d); daemon log:\n%s", p, r, exnet_daemon_log(w));
}

const char *exnet_sock_path(const struct exnet *w, uint32_t domid, uint32_t devid)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s/net%u.%u.sock", w->dir, domid, devid);
	return path;
}

void exnet_connect(struct exnet *w, uint32_t domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_lt(
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", exnet_sock_path(w, domid, 0)),
		(int)sizeof(sa.sun_path));
	/* The device (and its listening socket) exists once the backend state is 2. */
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
		      sa.sun_path, strerror(errno));
	w->peer = fd;
}

void exnet_attach(struct exnet *w, uint32_t domid, const struct xensim_net_opts *o)
{
	int r;

	w->domid = domid;
	ck_assert_int_eq(xensim_guest_attach(&w->g, w->x, domid), 0);
	r = xensim_net_new(&w->net, w->g, 0, EXNET_BASE, EXNET_IRQ, o);
	ck_assert_msg(r == 0, "xensim_net_new: %d; daemon log:\n%s", r, exnet_daemon_log(w));
}

uint32_t exnet_up(struct exnet *w, const struct xensim_net_opts *o)
{
	uint32_t domid = exnet_guest(w);
	uint16_t status = 0;

	exnet_nic(w, domid, 0);
	exnet_connect(w, domid);
	exnet_attach(w, domid, o);
	/* The daemon accepts the peer in its own time: wait for the link. */
	for (int i = 0; i < EXNET_TMO / 10 && !(status & XENSIM_VIRTIO_NET_S_LINK_UP); i++) {
		ck_assert_int_eq(xensim_net_status(w->net, &status), 0);
		if (!(status & XENSIM_VIRTIO_NET_S_LINK_UP))
			usleep(10000);
	}
	ck_assert_msg(status & XENSIM_VIRTIO_NET_S_LINK_UP, "link never came up");
	return domid;
}

void exnet_forget_guest(struct exnet *w)
{
	/* The domain is gone: its device cannot be reset any more, only our memory freed. */
	xensim_net_free(w->net);
	xensim_guest_detach(w->g);
	w->net = NULL;
	w->g = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The peer                                                                                    */

static void hdr_put(uint8_t *b, const struct xensim_net_hdr *h)
{
	struct xensim_net_hdr z = { 0 };
	uint16_t v[5];

	if (!h)
		h = &z;
	b[0] = h->flags;
	b[1] = h->gso_type;
	v[0] = htole16(h->hdr_len);
	v[1] = htole16(h->gso_size);
	v[2] = htole16(h->csum_start);
	v[3] = htole16(h->csum_offset);
	v[4] = htole16(h->num_buffers);
	memcpy(b + 2, v, sizeof(v));
}

static void hdr_get(struct xensim_net_hdr *h, const uint8_t *b)
{
	uint16_t v[5];

	memcpy(v, b + 2, sizeof(v));
	*h = (struct xensim_net_hdr){ b[0],	     b[1],	    le16toh(v[0]), le16toh(v[1]),
				      le16toh(v[2]), le16toh(v[3]), le16toh(v[4]) };
}

void exnet_peer_send(struct exnet *w, const struct xensim_net_hdr *hdr, const void *frame,
		     size_t len)
{
	uint8_t raw[HDR_LEN];
	struct iovec iov[2] = { { raw, HDR_LEN }, { (void *)frame, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	hdr_put(raw, hdr);
	ck_assert_int_eq(sendmsg(w->peer, &m, MSG_NOSIGNAL), (ssize_t)(HDR_LEN + len));
}

long exnet_peer_recv(struct exnet *w, struct xensim_net_hdr *hdr, void *buf, size_t cap,
		     int timeout_ms)
{
	struct pollfd pfd = { .fd = w->peer, .events = POLLIN };
	uint8_t raw[HDR_LEN];
	struct iovec iov[2] = { { raw, HDR_LEN }, { buf, cap } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	n = recvmsg(w->peer, &m, 0);
	/* ECONNRESET: the daemon closed its end with our frames still unread. */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return -ECONNRESET;
	ck_assert_int_ge(n, HDR_LEN);
	ck_assert(!(m.msg_flags & MSG_TRUNC));
	if (hdr)
		hdr_get(hdr, raw);
	return n - HDR_LEN;
}

/* ------------------------------------------------------------------------------------------ */
/* Frames                                                                                      */

void exnet_frame(void *buf, size_t len, const uint8_t *dst, uint32_t seq, uint32_t seed)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0xbe, 0xef };
	uint8_t *p = buf;

	ck_assert_uint_ge(len, 18);
	memcpy(p, dst ? dst : bcast, 6);
	memcpy(p + 6, src, 6);
	p[12] = EXNET_ETHERTYPE >> 8;
	p[13] = EXNET_ETHERTYPE & 0xff;
	exnet_fill(p + 18, len - 18, seed);
	p[14] = (uint8_t)(seq >> 24);
	p[15] = (uint8_t)(seq >> 16);
	p[16] = (uint8_t)(seq >> 8);
	p[17] = (uint8_t)seq;
}

uint32_t exnet_frame_seq(const void *buf)
{
	const uint8_t *p = buf;

	return (uint32_t)p[14] << 24 | (uint32_t)p[15] << 16 | (uint32_t)p[16] << 8 | p[17];
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sum of the UDP pseudo-header: addresses, protocol, UDP length. */
static uint32_t pseudo_sum(const uint8_t *ip, size_t udp_len)
{
	return sum16(0, ip + 12, 8) + 17 + (uint32_t)udp_len;
}

void exnet_udp_frame(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf, *ip = p + 14, *udp = p + 34;
	size_t udp_len = len - 34;
	uint16_t s;

	ck_assert_uint_ge(len, 42);
	exnet_frame(buf, len, NULL, 0, seed);
	p[12] = 0x08; /* IPv4 */
	p[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	s = ~fold(sum16(0, ip, 20));
	ip[10] = (uint8_t)(s >> 8);
	ip[11] = (uint8_t)s;
	udp[0] = 0x30; /* ports 12345 -> 12346 */
	udp[1] = 0x39;
	udp[2] = 0x30;
	udp[3] = 0x3a;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not complemented. */
	s = fold(pseudo_sum(ip, udp_len));
	udp[6] = (uint8_t)(s >> 8);
	udp[7] = (uint8_t)s;
}

bool exnet_udp_csum_ok(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t udp_len = len - 34;

	return fold(sum16(pseudo_sum(p + 14, udp_len), p + 34, udp_len)) == 0xffff;
}
