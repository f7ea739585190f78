/* SPDX-License-Identifier: MIT */
/*
 * examples/demo/demo_work.c — what the simulated guest does with each device, and the host's
 * side of it: a disk image, the net daemon's socket peer (or a packet socket on its TAP), and a
 * terminal program on the console's pty. Every byte is checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "demo.h"

#define BLK_CHUNK  (64u << 10) /* bytes per request */
#define BLK_DEPTH  8u	       /* requests in flight */
#define NET_FRAMES 64u	       /* each way */
#define NET_BATCH  16u
#define NET_HDR	   12u	   /* struct virtio_net_hdr_mrg_rxbuf, the socket's framing */
#define ETH_TYPE   0x88b5u /* IEEE 802 local experimental: the demo's frames */
#define CON_ROUNDS 16u
#define CON_CHUNK  1024u

static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* Wait up to DEMO_TIMEOUT_MS for @fd to be ready for @events. */
static bool ready(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, DEMO_TIMEOUT_MS) == 1;
}

/* ------------------------------------------------------------------------------------------ */
/* virtio-blk: random data across the whole disk, written and read back by 64 KiB requests     */

struct blk_slot {
	struct xensim_blk_req req;
	struct xensim_gbuf buf;
	struct xensim_sg sg;
	size_t off;
};

int demo_disk_create(struct demo *d)
{
	int fd;

	snprintf(d->image, sizeof(d->image), "%s/disk.img", d->dir);
	fd = open(d->image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, DEMO_DISK_BYTES) < 0)
		return demo_fail(d, "cannot create the disk image %s: %s", d->image,
				 strerror(errno));
	close(fd);
	return 0;
}

/* Queue the next chunk in @s, reading or writing. */
static int blk_submit(struct demo *d, struct blk_slot *s, size_t off, bool write,
		      const uint8_t *src)
{
	s->off = off;
	if (write)
		memcpy(s->buf.host, src + off, BLK_CHUNK);
	s->req = (struct xensim_blk_req){ .type = write ? XENSIM_VIRTIO_BLK_T_OUT
							: XENSIM_VIRTIO_BLK_T_IN,
					  .sector = off >> 9,
					  .sg = &s->sg,
					  .nsg = 1,
					  .priv = s };
	return xensim_blk_submit(d->blk, 0, &s->req, false);
}

/* One pass over the disk with BLK_DEPTH requests in flight: one kick per batch, as Linux. */
static int blk_pass(struct demo *d, struct blk_slot *slots, bool write, const uint8_t *src,
		    uint8_t *dst)
{
	struct blk_slot *free_slots[BLK_DEPTH], *s;
	unsigned int nfree = BLK_DEPTH;
	size_t next = 0, done = 0;
	struct xensim_blk_req *req;
	int r;

	for (unsigned int i = 0; i < BLK_DEPTH; i++)
		free_slots[i] = &slots[i];
	while (done < DEMO_DISK_BYTES) {
		bool queued = false;

		for (; nfree && next < DEMO_DISK_BYTES; next += BLK_CHUNK, queued = true) {
			r = blk_submit(d, free_slots[--nfree], next, write, src);
			if (r)
				return demo_fail(d, "blk: submit: %s", strerror(-r));
		}
		if (queued && (r = xensim_blk_kick(d->blk, 0)) < 0)
			return demo_fail(d, "blk: kick: %s", strerror(-r));
		r = xensim_blk_complete(d->blk, 0, DEMO_TIMEOUT_MS, &req);
		if (r != 1)
			return demo_fail(d, "blk: no completion: %s", strerror(r ? -r : ETIMEDOUT));
		s = req->priv;
		if (req->status != XENSIM_VIRTIO_BLK_S_OK || req->error)
			return demo_fail(d, "blk: %s at byte %zu: status %u, %s",
					 write ? "write" : "read", s->off, req->status,
					 req->error ? strerror(-req->error) : "no unmap error");
		if (!write)
			memcpy(dst + s->off, s->buf.host, BLK_CHUNK);
		free_slots[nfree++] = s;
		done += BLK_CHUNK;
	}
	return 0;
}

/* Compare chunk by chunk; then the image file itself, read on the host. */
static int blk_verify(struct demo *d, const uint8_t *wrote, const uint8_t *read_back)
{
	unsigned int n = 0;
	uint8_t *file;
	ssize_t got;
	int fd;

	for (size_t off = 0; off < DEMO_DISK_BYTES; off += BLK_CHUNK, n++)
		if (fnv1a(wrote + off, BLK_CHUNK) != fnv1a(read_back + off, BLK_CHUNK))
			return demo_fail(d, "blk: checksum mismatch at byte %zu", off);
	file = malloc(DEMO_DISK_BYTES);
	fd = open(d->image, O_RDONLY | O_CLOEXEC);
	got = file && fd >= 0 ? pread(fd, file, DEMO_DISK_BYTES, 0) : -1;
	if (fd >= 0)
		close(fd);
	if (got != DEMO_DISK_BYTES ||
	    fnv1a(file, DEMO_DISK_BYTES) != fnv1a(wrote, DEMO_DISK_BYTES)) {
		free(file);
		return demo_fail(d, "blk: the image file does not hold what the guest wrote");
	}
	free(file);
	snprintf(d->devs[DEV_BLK].work, sizeof(d->devs[DEV_BLK].work),
		 "%u MiB of random data across the disk, read back: %u/%u checksums match, "
		 "image file too",
		 DEMO_DISK_BYTES >> 20, n, n);
	return 0;
}

int demo_blk_work(struct demo *d)
{
	struct blk_slot slots[BLK_DEPTH] = { 0 };
	uint8_t *wrote = malloc(DEMO_DISK_BYTES), *read_back = malloc(DEMO_DISK_BYTES);
	int r = wrote && read_back ? 0 : demo_fail(d, "out of memory");

	for (unsigned int i = 0; i < BLK_DEPTH && !r; i++) {
		r = xensim_gbuf_alloc(d->g, BLK_CHUNK, &slots[i].buf);
		slots[i].sg = (struct xensim_sg){ slots[i].buf.gpa, BLK_CHUNK };
		if (r)
			r = demo_fail(d, "guest memory: %s", strerror(-r));
	}
	if (!r) {
		fill_random(wrote, DEMO_DISK_BYTES, 1);
		r = blk_pass(d, slots, true, wrote, NULL);
	}
	if (!r)
		r = blk_pass(d, slots, false, NULL, read_back);
	if (!r)
		r = blk_verify(d, wrote, read_back);
	d->devs[DEV_BLK].bytes = 2ull * DEMO_DISK_BYTES;
	for (unsigned int i = 0; i < BLK_DEPTH; i++)
		xensim_gbuf_free(d->g, &slots[i].buf);
	free(wrote);
	free(read_back);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* virtio-net: frames both ways between the guest and the host side                            */

int demo_net_listen(struct demo *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (d->o.tap)
		return 0;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/net.sock", d->dir);
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(d->listen_fd, 1) < 0)
		return demo_fail(d, "cannot listen on %s: %s", a.sun_path, strerror(errno));
	return 0;
}

/* --tap: bring the interface up and open a packet socket on it for the demo's ethertype. */
static int tap_open(struct demo *d)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_TYPE) };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->o.tap);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		if (s >= 0)
			close(s);
		return demo_fail(d, "net: cannot bring %s up: %s (--tap needs root)", d->o.tap,
				 strerror(errno));
	}
	close(s);
	a.sll_ifindex = (int)if_nametoindex(d->o.tap);
	d->net_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_TYPE));
	if (d->net_fd < 0 || bind(d->net_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return demo_fail(d, "net: packet socket on %s: %s", d->o.tap, strerror(errno));
	return 0;
}

int demo_net_connect(struct demo *d)
{
	if (d->o.tap)
		return tap_open(d);
	if (!ready(d->listen_fd, POLLIN))
		return demo_fail(d, "net: the daemon did not connect to its socket");
	d->net_fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (d->net_fd < 0)
		return demo_fail(d, "net: accept: %s", strerror(errno));
	return 0;
}

/* Frame @seq of direction @dir: broadcast, the demo's ethertype, a tag, then random bytes. */
static size_t make_frame(uint8_t *f, unsigned int seq, uint8_t dir, const uint8_t src[6])
{
	size_t len = 60 + (seq * 997u) % 1455u; /* 60 .. 1514 bytes */

	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_TYPE >> 8;
	f[13] = ETH_TYPE & 0xff;
	memcpy(f + 14, "VXEN", 4);
	f[18] = dir;
	memcpy(f + 19, &seq, sizeof(seq));
	fill_random(f + 23, len - 23, seq * 2u + dir);
	return len;
}

static bool is_demo_frame(const uint8_t *f, size_t len, uint8_t dir)
{
	return len >= 23 && f[12] == ETH_TYPE >> 8 && f[13] == (ETH_TYPE & 0xff) &&
	       !memcmp(f + 14, "VXEN", 4) && f[18] == dir;
}

static int host_send(struct demo *d, const uint8_t *f, size_t len)
{
	uint8_t hdr[NET_HDR] = { 0 };
	struct iovec iov[2] = { { hdr, NET_HDR }, { (void *)f, len } };
	struct msghdr m = { .msg_iov = d->o.tap ? iov + 1 : iov, .msg_iovlen = d->o.tap ? 1 : 2 };

	return sendmsg(d->net_fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receive the next frame of the demo's own (a TAP also carries the kernel's traffic). */
static ssize_t host_recv(struct demo *d, uint8_t *f, size_t cap)
{
	uint8_t hdr[NET_HDR];
	struct iovec iov[2] = { { hdr, NET_HDR }, { f, cap } };
	struct msghdr m = { .msg_iov = d->o.tap ? iov + 1 : iov, .msg_iovlen = d->o.tap ? 1 : 2 };
	ssize_t n;

	do {
		if (!ready(d->net_fd, POLLIN))
			return -ETIMEDOUT;
		n = recvmsg(d->net_fd, &m, 0);
		if (n < 0)
			return -errno;
		n -= d->o.tap ? 0 : NET_HDR;
	} while (n < 0 || !is_demo_frame(f, (size_t)n, 'G'));
	return n;
}

static int guest_recv(struct demo *d, uint8_t *f, size_t cap, size_t *len)
{
	int r;

	do
		r = xensim_net_recv(d->net, NULL, f, cap, len, DEMO_TIMEOUT_MS);
	while (r == 0 && !is_demo_frame(f, *len, 'H'));
	return r;
}

static int net_batch_out(struct demo *d, unsigned int first, const uint8_t mac[6])
{
	uint8_t want[1514], got[2048];
	size_t len;
	ssize_t n;
	int r;

	for (unsigned int i = first; i < first + NET_BATCH; i++) {
		len = make_frame(want, i, 'G', mac);
		r = xensim_net_send(d->net, NULL, want, len, DEMO_TIMEOUT_MS);
		if (r)
			return demo_fail(d, "net: guest send: %s", strerror(-r));
		d->devs[DEV_NET].bytes += len;
	}
	for (unsigned int i = first; i < first + NET_BATCH; i++) {
		len = make_frame(want, i, 'G', mac);
		n = host_recv(d, got, sizeof(got));
		if (n < 0)
			return demo_fail(d, "net: host receive: %s", strerror((int)-n));
		if ((size_t)n != len || memcmp(got, want, len))
			return demo_fail(d, "net: frame %u arrived changed (%zd bytes)", i, n);
	}
	return 0;
}

static int net_batch_in(struct demo *d, unsigned int first)
{
	static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint8_t want[1514], got[2048];
	size_t len, n;
	int r;

	for (unsigned int i = first; i < first + NET_BATCH; i++) {
		len = make_frame(want, i, 'H', host_mac);
		r = host_send(d, want, len);
		if (r)
			return demo_fail(d, "net: host send: %s", strerror(-r));
		d->devs[DEV_NET].bytes += len;
	}
	for (unsigned int i = first; i < first + NET_BATCH; i++) {
		len = make_frame(want, i, 'H', host_mac);
		r = guest_recv(d, got, sizeof(got), &n);
		if (r)
			return demo_fail(d, "net: guest receive: %s", strerror(-r));
		if (n != len || memcmp(got, want, len))
			return demo_fail(d, "net: frame %u arrived changed (%zu bytes)", i, n);
	}
	return 0;
}

/* Collect every completed transmit buffer, so that the request count is complete. */
static int net_reclaim(struct demo *d)
{
	xensim_vq *tx = xensim_vdev_vq(xensim_net_vdev(d->net), 1);

	for (int t = 0; t < DEMO_TIMEOUT_MS; t++) {
		int r = xensim_net_tx_reclaim(d->net);

		if (r < 0)
			return demo_fail(d, "net: reclaiming sent buffers: %s", strerror(-r));
		if (xensim_vq_num_free(tx) == xensim_vq_num(tx))
			return 0;
		usleep(1000);
	}
	return demo_fail(d, "net: the device did not return every sent buffer");
}

int demo_net_work(struct demo *d)
{
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 2 };
	int r = 0;

	xensim_net_mac(d->net, mac); /* the device's, when it offers one */
	for (unsigned int i = 0; i < NET_FRAMES && !r; i += NET_BATCH)
		r = net_batch_out(d, i, mac);
	for (unsigned int i = 0; i < NET_FRAMES && !r; i += NET_BATCH)
		r = net_batch_in(d, i);
	if (!r)
		r = net_reclaim(d);
	if (!r)
		snprintf(d->devs[DEV_NET].work, sizeof(d->devs[DEV_NET].work),
			 "%u frames guest->host, %u host->guest (60-1514 bytes), every byte "
			 "checked",
			 NET_FRAMES, NET_FRAMES);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* virtio-console: text echoed guest -> pty -> guest                                          */

int demo_console_open(struct demo *d)
{
	char link[PATH_MAX + 32];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/console.%u.%u", d->dir, d->domid, d->devs[DEV_CON].devid);
	n = readlink(link, d->pty_name, sizeof(d->pty_name) - 1);
	if (n <= 0)
		return demo_fail(d, "console: no pty link %s: %s", link, strerror(errno));
	d->pty_name[n] = 0;
	d->pty = open(link, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (d->pty < 0)
		return demo_fail(d, "console: cannot open %s: %s", d->pty_name, strerror(errno));
	return 0;
}

static size_t make_text(char *buf, unsigned int round)
{
	size_t n = 0;

	for (unsigned int line = 0; n + 80 < CON_CHUNK; line++)
		n += (size_t)snprintf(buf + n, CON_CHUNK - n,
				      "round %2u line %2u: hello from the guest's hvc0, %08x\r\n",
				      round, line,
				      (unsigned int)fnv1a(&line, sizeof(line)) ^ round);
	return n;
}

/* The host side as a terminal program: read what the guest wrote, send it back. */
static int pty_echo(struct demo *d, size_t len)
{
	char buf[CON_CHUNK];
	size_t got = 0;

	while (got < len) {
		ssize_t n = ready(d->pty, POLLIN) ? read(d->pty, buf + got, len - got) : -1;

		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			return demo_fail(d, "console: reading %s: %s", d->pty_name,
					 n ? strerror(errno) : "end of file");
		got += n > 0 ? (size_t)n : 0;
	}
	return write(d->pty, buf, len) == (ssize_t)len
		       ? 0
		       : demo_fail(d, "console: writing %s: %s", d->pty_name, strerror(errno));
}

static int console_round(struct demo *d, unsigned int round)
{
	char text[CON_CHUNK], back[CON_CHUNK];
	size_t len = make_text(text, round), got = 0;
	long n;
	int r = xensim_console_write(d->con, text, len, DEMO_TIMEOUT_MS);

	if (r)
		return demo_fail(d, "console: guest write: %s", strerror(-r));
	if (pty_echo(d, len))
		return -1;
	while (got < len) {
		n = xensim_console_read(d->con, back + got, len - got, DEMO_TIMEOUT_MS);
		if (n < 0)
			return demo_fail(d, "console: guest read: %s", strerror((int)-n));
		got += (size_t)n;
	}
	if (memcmp(text, back, len))
		return demo_fail(d, "console: round %u came back changed", round);
	d->devs[DEV_CON].bytes += 2 * len;
	return 0;
}

int demo_console_work(struct demo *d)
{
	int r = 0;

	for (unsigned int i = 0; i < CON_ROUNDS && !r; i++)
		r = console_round(d, i);
	if (!r)
		snprintf(d->devs[DEV_CON].work, sizeof(d->devs[DEV_CON].work),
			 "%" PRIu64
			 " bytes of text echoed guest -> %s -> guest, every byte checked",
			 d->devs[DEV_CON].bytes / 2, d->pty_name);
	return r;
}
