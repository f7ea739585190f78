/* SPDX-License-Identifier: MIT */
/*
 * test_example_net.c — the virtio-xen-net daemon as its own process on xensim, with --socket:
 * the guest-side virtio-net driver on one end, the test as the socket peer on the other.
 * Frames both ways with their offload metadata, MRG_RXBUF reassembly, back-pressure both ways,
 * hostile chains, guest death, SIGTERM, explicit mode. The TAP backend: test_example_net_tap.c.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_example_net.h"

#define BIT	XENSIM_VIRTIO_BIT
#define HDR_LEN XENSIM_VIRTIO_NET_HDR_LEN
#define MRG_BUF 1536u /* the driver's mergeable buffer size (xensim_net_opts default) */
#define BIG	70000u

static struct exnet w;
static uint8_t tx[BIG], rx[BIG];

static void setup(void)
{
	exnet_start(&w);
}

static void teardown(void)
{
	exnet_stop(&w);
}

static struct xensim_net_opts opts(uint64_t features)
{
	struct xensim_net_opts o = XENSIM_NET_OPTS_INIT;

	o.features = features;
	return o;
}

static void up(uint64_t features)
{
	struct xensim_net_opts o = opts(features);

	exnet_daemon_start_socket(&w);
	exnet_up(&w, &o);
}

static void assert_hdr_eq(const struct xensim_net_hdr *got, const struct xensim_net_hdr *want)
{
	ck_assert_uint_eq(got->flags, want->flags);
	ck_assert_uint_eq(got->gso_type, want->gso_type);
	ck_assert_uint_eq(got->hdr_len, want->hdr_len);
	ck_assert_uint_eq(got->gso_size, want->gso_size);
	ck_assert_uint_eq(got->csum_start, want->csum_start);
	ck_assert_uint_eq(got->csum_offset, want->csum_offset);
}

/* The peer receives exactly @len bytes of @frame behind a header equal to @want. */
static void peer_expect(const struct xensim_net_hdr *want, const void *frame, size_t len)
{
	struct xensim_net_hdr h, zero = { 0 };
	long n = exnet_peer_recv(&w, &h, rx, sizeof(rx), EXNET_TMO);

	ck_assert_int_eq(n, (long)len);
	assert_hdr_eq(&h, want ? want : &zero);
	ck_assert_uint_eq(h.num_buffers, 0);
	ck_assert_int_eq(memcmp(rx, frame, len), 0);
}

/* The guest receives exactly @len bytes of @frame; returns the header it got. */
static struct xensim_net_hdr guest_expect(const void *frame, size_t len)
{
	struct xensim_net_hdr h;
	size_t n = 0;
	int r = xensim_net_recv(w.net, &h, rx, sizeof(rx), &n, EXNET_TMO);

	ck_assert_msg(r == 0, "recv: %d; daemon log:\n%s", r, exnet_daemon_log(&w));
	ck_assert_uint_eq(n, len);
	ck_assert_int_eq(memcmp(rx, frame, len), 0);
	return h;
}

static uint16_t bufs_for(size_t len)
{
	return (uint16_t)((HDR_LEN + len + MRG_BUF - 1) / MRG_BUF);
}

/* ------------------------------------------------------------------------------------------ */

START_TEST(net__config_has_mac_and_link_follows_peer)
{
	xensim_vdev *vd;
	uint8_t mac[6];
	uint16_t st = 0;
	uint32_t domid;
	uint64_t f;

	exnet_daemon_start_socket(&w);
	domid = exnet_guest(&w);
	exnet_nic(&w, domid, 0);
	exnet_attach(&w, domid, NULL); /* no peer yet */
	vd = xensim_net_vdev(w.net);
	f = xensim_vdev_features(vd);
	ck_assert(f & BIT(XENSIM_VIRTIO_F_VERSION_1));
	ck_assert(f & BIT(XENSIM_VIRTIO_F_ACCESS_PLATFORM));
	ck_assert(f & BIT(XENSIM_VIRTIO_F_EVENT_IDX));
	ck_assert(f & BIT(XENSIM_VIRTIO_NET_F_MRG_RXBUF));
	ck_assert(f & BIT(XENSIM_VIRTIO_NET_F_CSUM));
	ck_assert(f & BIT(XENSIM_VIRTIO_NET_F_GUEST_CSUM));
	ck_assert_int_eq(xensim_net_mac(w.net, mac), 0);
	ck_assert_mem_eq(mac, ((uint8_t[]){ 0x02, 0x16, 0x3e, domid >> 8, domid & 0xff, 0 }), 6);
	ck_assert_int_eq(xensim_net_status(w.net, &st), 0);
	ck_assert_uint_eq(st & XENSIM_VIRTIO_NET_S_LINK_UP, 0);

	exnet_connect(&w, domid);
	for (int i = 0; i < 100 && !(st & XENSIM_VIRTIO_NET_S_LINK_UP); i++) {
		xensim_vdev_irq_wait(vd, 100);
		ck_assert_int_eq(xensim_net_status(w.net, &st), 0);
	}
	ck_assert_uint_eq(st & XENSIM_VIRTIO_NET_S_LINK_UP, XENSIM_VIRTIO_NET_S_LINK_UP);
	ck_assert_uint_ge(xensim_vdev_config_changes(vd), 1);

	close(w.peer);
	w.peer = -1;
	for (int i = 0; i < 100 && (st & XENSIM_VIRTIO_NET_S_LINK_UP); i++) {
		xensim_vdev_irq_wait(vd, 100);
		ck_assert_int_eq(xensim_net_status(w.net, &st), 0);
	}
	ck_assert_uint_eq(st & XENSIM_VIRTIO_NET_S_LINK_UP, 0);
}
END_TEST

START_TEST(net__tx_carries_offload_metadata_to_peer)
{
	struct xensim_net_hdr csum = { .flags = XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .csum_start = 34,
				       .csum_offset = 6 };
	struct xensim_net_hdr tso4 = { XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       XENSIM_VIRTIO_NET_HDR_GSO_TCPV4,
				       54,
				       1448,
				       34,
				       16,
				       0 };
	struct xensim_net_hdr tso6 = { XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       XENSIM_VIRTIO_NET_HDR_GSO_TCPV6 |
					       XENSIM_VIRTIO_NET_HDR_GSO_ECN,
				       74,
				       1428,
				       54,
				       16,
				       0 };
	struct xensim_sg sg[3];
	uint64_t gpa;
	uint8_t *ram;

	up(EXNET_ALL_OFFLOADS);
	exnet_frame(tx, 60, NULL, 1, 1);
	ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 60, EXNET_TMO), 0);
	peer_expect(NULL, tx, 60);

	exnet_udp_frame(tx, 300, 2);
	ck_assert_int_eq(xensim_net_send(w.net, &csum, tx, 300, EXNET_TMO), 0);
	peer_expect(&csum, tx, 300);

	exnet_frame(tx, 3000, NULL, 3, 3);
	ck_assert_int_eq(xensim_net_send(w.net, &tso4, tx, 3000, EXNET_TMO), 0);
	peer_expect(&tso4, tx, 3000);

	exnet_frame(tx, 5000, NULL, 4, 4);
	ck_assert_int_eq(xensim_net_send(w.net, &tso6, tx, 5000, EXNET_TMO), 0);
	peer_expect(&tso6, tx, 5000);

	/* Header in its own descriptor, the frame in three pieces across pages. */
	exnet_udp_frame(tx, 1500, 5);
	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, 3, &gpa), 0);
	ram = xensim_guest_ptr(w.g, gpa, 3 * 4096);
	memcpy(ram + 4090, tx, 7);
	memcpy(ram + 4097, tx + 7, 1000);
	memcpy(ram + 8192 + 100, tx + 1007, 493);
	sg[0] = (struct xensim_sg){ gpa + 4090, 7 };
	sg[1] = (struct xensim_sg){ gpa + 4097, 1000 };
	sg[2] = (struct xensim_sg){ gpa + 8192 + 100, 493 };
	ck_assert_int_eq(xensim_net_send_sg(w.net, &csum, sg, 3, EXNET_TMO), 0);
	peer_expect(&csum, tx, 1500);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_frames"), 5);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_malformed"), 0);
}
END_TEST

START_TEST(net__rx_carries_offload_metadata_to_guest)
{
	struct xensim_net_hdr h, csum = { .flags = XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
					  .csum_start = 34,
					  .csum_offset = 6 };
	struct xensim_net_hdr valid = { .flags = XENSIM_VIRTIO_NET_HDR_F_DATA_VALID };
	struct xensim_net_hdr tso4 = { XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       XENSIM_VIRTIO_NET_HDR_GSO_TCPV4,
				       54,
				       1448,
				       34,
				       16,
				       0 };
	struct xensim_net_hdr tso6 = { XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       XENSIM_VIRTIO_NET_HDR_GSO_TCPV6 |
					       XENSIM_VIRTIO_NET_HDR_GSO_ECN,
				       74,
				       1428,
				       54,
				       16,
				       0 };
	struct xensim_net_hdr zero = { 0 };

	up(EXNET_ALL_OFFLOADS);
	exnet_frame(tx, 60, NULL, 1, 11);
	exnet_peer_send(&w, NULL, tx, 60);
	h = guest_expect(tx, 60);
	assert_hdr_eq(&h, &zero);
	ck_assert_uint_eq(h.num_buffers, 1);

	exnet_udp_frame(tx, 300, 12);
	exnet_peer_send(&w, &csum, tx, 300);
	h = guest_expect(tx, 300);
	assert_hdr_eq(&h, &csum);

	exnet_udp_frame(tx, 200, 13);
	exnet_peer_send(&w, &valid, tx, 200);
	h = guest_expect(tx, 200);
	assert_hdr_eq(&h, &valid);

	exnet_frame(tx, 3000, NULL, 4, 14);
	exnet_peer_send(&w, &tso4, tx, 3000);
	h = guest_expect(tx, 3000);
	assert_hdr_eq(&h, &tso4);
	ck_assert_uint_eq(h.num_buffers, bufs_for(3000));

	exnet_frame(tx, 5000, NULL, 5, 15);
	exnet_peer_send(&w, &tso6, tx, 5000);
	h = guest_expect(tx, 5000);
	assert_hdr_eq(&h, &tso6);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), 5);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_dropped"), 0);
}
END_TEST

START_TEST(net__rx_checksum_finished_for_guest_without_guest_csum)
{
	struct xensim_net_hdr h, csum = { .flags = XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
					  .csum_start = 34,
					  .csum_offset = 6 };
	struct xensim_net_hdr tso4 = { XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       XENSIM_VIRTIO_NET_HDR_GSO_TCPV4,
				       54,
				       1448,
				       34,
				       16,
				       0 };
	static const size_t sizes[] = { 300, 301, 9001 }; /* even, odd, over several buffers */
	size_t n;

	up(XENSIM_NET_DEFAULT_FEATURES & ~BIT(XENSIM_VIRTIO_NET_F_GUEST_CSUM));
	for (unsigned int i = 0; i < 3; i++) {
		exnet_udp_frame(tx, sizes[i], 20 + i);
		ck_assert(!exnet_udp_csum_ok(tx, sizes[i])); /* only the pseudo-header sum */
		exnet_peer_send(&w, &csum, tx, sizes[i]);
		ck_assert_int_eq(xensim_net_recv(w.net, &h, rx, sizeof(rx), &n, EXNET_TMO), 0);
		ck_assert_uint_eq(n, sizes[i]);
		ck_assert_uint_eq(h.flags, 0);
		ck_assert(exnet_udp_csum_ok(rx, n));
		/* Everything but the checksum field is as sent. */
		ck_assert_int_eq(memcmp(rx, tx, 40), 0);
		ck_assert_int_eq(memcmp(rx + 42, tx + 42, n - 42), 0);
	}
	/* GSO is not negotiated: such a frame cannot be given to this guest. */
	exnet_frame(tx, 3000, NULL, 1, 30);
	exnet_peer_send(&w, &tso4, tx, 3000);
	exnet_frame(tx, 100, NULL, 2, 31);
	exnet_peer_send(&w, NULL, tx, 100);
	guest_expect(tx, 100);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_dropped"), 1);
}
END_TEST

START_TEST(net__large_frames_span_merged_buffers)
{
	static const size_t sizes[] = { MRG_BUF - HDR_LEN, MRG_BUF - HDR_LEN + 1, 1600, 9000,
					65000 };
	struct xensim_net_hdr h;

	up(XENSIM_NET_DEFAULT_FEATURES);
	for (unsigned int i = 0; i < 5; i++) {
		exnet_frame(tx, sizes[i], NULL, i, 40 + i);
		exnet_peer_send(&w, NULL, tx, sizes[i]);
		h = guest_expect(tx, sizes[i]);
		/* The device fills each buffer before the next. */
		ck_assert_uint_eq(h.num_buffers, bufs_for(sizes[i]));
		/* A frame that fits the buffers held when it is read goes straight into them;
		 * the rest of a larger one goes through the daemon's bounce buffer. How many are
		 * held depends on the daemon's batching, but the first frame fits one buffer, and
		 * no frame is copied twice. */
		ck_assert_uint_le(exnet_stat(&w, w.domid, 0, "rx_copied"), i);
		if (i == 0)
			ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_copied"), 0);
	}
	ck_assert_uint_gt(bufs_for(65000), 40);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), 5);
}
END_TEST

START_TEST(net__frame_larger_than_buffer_without_mrg_is_dropped)
{
	struct xensim_net_hdr h;
	uint8_t big[1600];

	up(XENSIM_NET_DEFAULT_FEATURES & ~BIT(XENSIM_VIRTIO_NET_F_MRG_RXBUF));
	exnet_frame(tx, 1514, NULL, 1, 50);
	exnet_peer_send(&w, NULL, tx, 1514);
	h = guest_expect(tx, 1514);
	ck_assert_uint_eq(h.num_buffers, 1);

	exnet_frame(big, sizeof(big), NULL, 2, 51); /* more than 12 + 1518 */
	exnet_peer_send(&w, NULL, big, sizeof(big));
	exnet_frame(tx, 100, NULL, 3, 52);
	exnet_peer_send(&w, NULL, tx, 100);
	h = guest_expect(tx, 100);
	ck_assert_uint_eq(exnet_frame_seq(rx), 3);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_dropped"), 1);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), 2);
}
END_TEST

/* A peer thread sending a numbered burst (blocking sends). */
struct burst {
	pthread_t t;
	unsigned int count, len;
	atomic_int sent;
	int err;
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	uint8_t frame[2048], hdr[HDR_LEN] = { 0 };

	for (unsigned int i = 0; i < b->count; i++) {
		struct iovec iov[2] = { { hdr, HDR_LEN }, { frame, b->len } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

		exnet_frame(frame, b->len, NULL, i, 1000 + i);
		if (sendmsg(w.peer, &m, MSG_NOSIGNAL) != (ssize_t)(HDR_LEN + b->len)) {
			b->err = errno;
			break;
		}
		atomic_fetch_add(&b->sent, 1);
	}
	return NULL;
}

START_TEST(net__rx_burst_beyond_ring_waits_for_buffers)
{
	struct xensim_net_opts o = opts(XENSIM_NET_DEFAULT_FEATURES);
	struct burst b = { .count = 300, .len = 200 };
	uint64_t delivered = 0;
	size_t n;

	o.queue_size = 16; /* 16 receive buffers posted */
	exnet_daemon_start_socket(&w);
	exnet_up(&w, &o);
	ck_assert_int_eq(pthread_create(&b.t, NULL, burst_main, &b), 0);
	/* The guest does not read yet: the daemon fills the ring, then stops reading. */
	for (int i = 0; i < 200 && delivered < 16; i++) {
		usleep(20000);
		delivered = exnet_stat(&w, w.domid, 0, "rx_frames");
	}
	ck_assert_uint_eq(delivered, 16);
	usleep(100000);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), 16);
	ck_assert_uint_ge(exnet_stat(&w, w.domid, 0, "rx_stalls"), 1);
	/* Now every frame arrives, in order, as buffers are reposted. */
	for (unsigned int i = 0; i < b.count; i++) {
		ck_assert_int_eq(xensim_net_recv(w.net, NULL, rx, sizeof(rx), &n, EXNET_TMO), 0);
		ck_assert_uint_eq(n, b.len);
		ck_assert_uint_eq(exnet_frame_seq(rx), i);
		exnet_frame(tx, b.len, NULL, i, 1000 + i);
		ck_assert_int_eq(memcmp(rx, tx, n), 0);
	}
	pthread_join(b.t, NULL);
	ck_assert_int_eq(b.err, 0);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), b.count);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_dropped"), 0);
}
END_TEST

START_TEST(net__tx_waits_for_slow_peer_without_loss)
{
	unsigned int sent = 0;
	int r = 0;

	up(XENSIM_NET_DEFAULT_FEATURES);
	/* The peer does not read: the socket fills, then the daemon holds the chains, then the
	 * guest's ring fills and the driver's send times out. */
	while (sent < 5000) {
		exnet_frame(tx, 1400, NULL, sent, 2000 + sent);
		r = xensim_net_send(w.net, NULL, tx, 1400, 300);
		if (r)
			break;
		sent++;
	}
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_uint_gt(sent, 64);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_dropped"), 0);
	for (unsigned int i = 0; i < sent; i++) {
		exnet_frame(tx, 1400, NULL, i, 2000 + i);
		peer_expect(NULL, tx, 1400);
	}
	exnet_frame(tx, 80, NULL, 9, 9);
	ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 80, EXNET_TMO), 0);
	peer_expect(NULL, tx, 80);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_frames"), sent + 1);
}
END_TEST

/* A raw chain on the transmit queue: @out (header + frame) readable, @in_len writable bytes. */
static void raw_tx(xensim_vq *vq, const void *out, uint32_t out_len, uint32_t in_len, void *tok)
{
	struct xensim_sg o, in;
	uint64_t gpa;

	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, 2, &gpa), 0);
	memcpy(xensim_guest_ptr(w.g, gpa, out_len), out, out_len);
	o = (struct xensim_sg){ gpa, out_len };
	in = (struct xensim_sg){ gpa + 4096, in_len };
	ck_assert_int_eq(xensim_vq_add(vq, &o, 1, in_len ? &in : NULL, in_len ? 1 : 0, tok), 0);
}

static void put_hdr(uint8_t *b, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
		    uint16_t start, uint16_t off)
{
	uint16_t v[5] = { htole16(hdr_len), htole16(gso_size), htole16(start), htole16(off), 0 };

	b[0] = flags;
	b[1] = gso;
	memcpy(b + 2, v, sizeof(v));
}

START_TEST(net__malformed_tx_chains_are_dropped_and_counted)
{
	enum { NBAD = 6 };
	static uint8_t chains[NBAD][HDR_LEN + 200];
	static const uint32_t lens[NBAD] = {
		6, HDR_LEN + 200, HDR_LEN + 200, HDR_LEN + 200, HDR_LEN + 200, HDR_LEN + 200
	};
	xensim_vq *vq;
	unsigned int got = 0;
	uint32_t len;
	void *tok;
	int r;

	up(EXNET_ALL_OFFLOADS);
	vq = xensim_vdev_vq(xensim_net_vdev(w.net), 1);
	for (int i = 0; i < NBAD; i++)
		exnet_frame(chains[i] + HDR_LEN, 200, NULL, 100 + i, 60 + i);
	/* 0: shorter than a header. 1: a valid frame, but with a writable descriptor. */
	put_hdr(chains[0], 0, 0, 0, 0, 0, 0);
	put_hdr(chains[1], 0, 0, 0, 0, 0, 0);
	/* 2: TSO with gso_size 0. 3: checksum field beyond the frame. 4: hdr_len > frame. */
	put_hdr(chains[2], 1, XENSIM_VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16);
	put_hdr(chains[3], 1, 0, 0, 0, 190, 16);
	put_hdr(chains[4], 0, 0, 5000, 0, 0, 0);
	/* 5: UDP fragmentation offload, never offered. */
	put_hdr(chains[5], 1, XENSIM_VIRTIO_NET_HDR_GSO_UDP, 42, 1000, 34, 6);
	for (int i = 0; i < NBAD; i++)
		raw_tx(vq, chains[i], lens[i], i == 1 ? 64 : 0, (void *)(uintptr_t)(i + 1));
	ck_assert_int_ge(xensim_vq_kick(vq), 0);
	/* Every chain comes back, empty, before the driver reuses the queue. */
	while (got < NBAD) {
		r = xensim_vq_get_buf(vq, &tok, &len);
		if (r == 0) {
			ck_assert_int_eq(xensim_vq_wait(vq, EXNET_TMO), 0);
			continue;
		}
		ck_assert_int_eq(r, 1);
		ck_assert_ptr_eq(tok, (void *)(uintptr_t)(got + 1));
		ck_assert_uint_eq(len, 0);
		got++;
	}
	exnet_frame(tx, 100, NULL, 7, 70);
	ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 100, EXNET_TMO), 0);
	peer_expect(NULL, tx, 100); /* the first, and only, frame the peer sees */
	ck_assert_int_eq(exnet_peer_recv(&w, NULL, rx, sizeof(rx), 200), -ETIMEDOUT);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_malformed"), NBAD);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_frames"), 1);
}
END_TEST

START_TEST(net__unusable_rx_buffers_are_returned_and_counted)
{
	struct xensim_net_opts o = opts(XENSIM_NET_DEFAULT_FEATURES);
	struct xensim_sg rd, wr, tiny;
	struct xensim_vq_raw raw;
	xensim_vq *vq;
	uint64_t gpa;
	uint32_t len;
	void *tok, *mine[2] = { &mine[0], &mine[1] };
	int r;

	o.rx_bufs = 1; /* one buffer of the driver's, then ours */
	exnet_daemon_start_socket(&w);
	exnet_up(&w, &o);
	vq = xensim_vdev_vq(xensim_net_vdev(w.net), 0);
	/* Ours go in only once the daemon holds the driver's buffer (EVENT_IDX: avail_event
	 * moved past it); a daemon popping a batch would otherwise take all three at once and
	 * return ours before the frame's, which xensim_net_recv() cannot tell from its own. */
	ck_assert_int_eq(xensim_vq_raw(vq, &raw), 0);
	for (int t = 0; t < EXNET_TMO && le16toh(*raw.avail_event) == 0; t++)
		usleep(1000);
	ck_assert_uint_eq(le16toh(*raw.avail_event), 1);
	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, 3, &gpa), 0);
	rd = (struct xensim_sg){ gpa, 64 };
	wr = (struct xensim_sg){ gpa + 4096, MRG_BUF };
	tiny = (struct xensim_sg){ gpa + 8192, 8 };
	ck_assert_int_eq(xensim_vq_add(vq, &rd, 1, &wr, 1, mine[0]), 0);    /* readable part */
	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &tiny, 1, mine[1]), 0); /* < a header */
	ck_assert_int_ge(xensim_vq_kick(vq), 0);
	exnet_frame(tx, 100, NULL, 1, 80);
	exnet_peer_send(&w, NULL, tx, 100);
	/* The frame lands in the driver's buffer; then the daemon looks for room for the next
	 * one and pops ours, and returns them empty. */
	guest_expect(tx, 100);
	for (int i = 0; i < 2;) {
		r = xensim_vq_get_buf(vq, &tok, &len);
		if (r == 0) {
			ck_assert_int_eq(xensim_vq_wait(vq, EXNET_TMO), 0);
			continue;
		}
		ck_assert_int_eq(r, 1);
		ck_assert_ptr_eq(tok, mine[i]);
		ck_assert_uint_eq(len, 0);
		i++;
	}
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_bad_buffers"), 2);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), 1);
}
END_TEST

/*
 * A guest that floods the receive ring with unusable buffers: the daemon takes a bounded number
 * per turn (it must not sit in one call while the guest keeps posting), but it comes back for
 * the rest by itself — no kick comes for buffers it was already told about, and with nothing
 * held it is not reading the port either — so a good buffer behind 250 bad ones still gets the
 * next frame. Every bad one comes back empty.
 */
START_TEST(net__good_rx_buffer_behind_a_flood_of_unusable_ones_gets_the_frame)
{
	enum { NBAD = 250 };
	struct xensim_net_opts o = opts(XENSIM_NET_DEFAULT_FEATURES);
	static void *tok_bad[NBAD];
	struct xensim_sg sg;
	unsigned int bad = 0, good = 0;
	void *tok, *tok_good = &tok_good;
	xensim_vq *vq;
	uint64_t gpa;
	uint32_t len;
	int r;

	o.rx_bufs = 1;
	exnet_daemon_start_socket(&w);
	exnet_up(&w, &o);
	vq = xensim_vdev_vq(xensim_net_vdev(w.net), 0);
	/* The first frame fills the driver's only buffer; once its used entry is out the daemon
	 * holds nothing and has stopped reading the port. The driver posts its buffer again
	 * only when it collects the frame (below), so ours come first. */
	exnet_frame(tx, 100, NULL, 1, 80);
	exnet_peer_send(&w, NULL, tx, 100);
	for (int t = 0; t < EXNET_TMO && !xensim_vq_more_used(vq); t++)
		usleep(1000);
	ck_assert(xensim_vq_more_used(vq));
	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, 2, &gpa), 0);
	for (unsigned int i = 0; i < NBAD; i++) {
		tok_bad[i] = &tok_bad[i];
		sg = (struct xensim_sg){ gpa + 8 * (i % 64), 8 }; /* shorter than a header */
		ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &sg, 1, tok_bad[i]), 0);
	}
	sg = (struct xensim_sg){ gpa + 4096, MRG_BUF };
	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &sg, 1, tok_good), 0);
	ck_assert_int_ge(xensim_vq_kick(vq), 0);
	guest_expect(tx, 100);
	exnet_frame(tx, 200, NULL, 2, 81);
	exnet_peer_send(&w, NULL, tx, 200);
	while (bad + good < NBAD + 1) {
		r = xensim_vq_get_buf(vq, &tok, &len);
		if (r == 0) {
			ck_assert_msg(
				xensim_vq_wait(vq, EXNET_TMO) == 0,
				"waiting with %u bad and %u good buffers back; daemon log:\n%s",
				bad, good, exnet_daemon_log(&w));
			continue;
		}
		ck_assert_int_eq(r, 1);
		if (tok == tok_good) {
			ck_assert_uint_eq(len, HDR_LEN + 200);
			ck_assert_int_eq(
				memcmp((uint8_t *)xensim_guest_ptr(w.g, gpa + 4096, MRG_BUF) +
					       HDR_LEN,
				       tx, 200),
				0);
			good++;
		} else {
			ck_assert(tok >= (void *)&tok_bad[0] && tok <= (void *)&tok_bad[NBAD - 1]);
			ck_assert_uint_eq(len, 0);
			bad++;
		}
	}
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_bad_buffers"), NBAD);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "rx_frames"), 2);
}
END_TEST

/* A peer thread sending until the daemon closes the socket. */
static atomic_bool flood_stop;

static void *flood_main(void *arg)
{
	uint8_t frame[600], hdr[HDR_LEN] = { 0 };
	long sent = 0;

	exnet_frame(frame, sizeof(frame), NULL, 0, 90);
	while (!atomic_load(&flood_stop)) {
		struct iovec iov[2] = { { hdr, HDR_LEN }, { frame, sizeof(frame) } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(w.peer, &m, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN)
			break; /* the daemon closed its end */
		sent += n > 0;
		if (n < 0)
			usleep(1000);
	}
	return (void *)sent;
}

START_TEST(net__daemon_survives_guest_destroyed_mid_traffic)
{
	struct xensim_net_opts o = opts(XENSIM_NET_DEFAULT_FEATURES);
	char path[300];
	pthread_t t;
	uint32_t old;
	size_t n;
	long r;

	up(XENSIM_NET_DEFAULT_FEATURES);
	old = w.domid;
	snprintf(path, sizeof(path), "%s", exnet_sock_path(&w, old, 0));
	atomic_store(&flood_stop, false);
	ck_assert_int_eq(pthread_create(&t, NULL, flood_main, NULL), 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(xensim_net_recv(w.net, NULL, rx, sizeof(rx), &n, EXNET_TMO), 0);
		exnet_frame(tx, 500, NULL, i, 91);
		ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 500, EXNET_TMO), 0);
	}
	/* Frames still flowing into the guest's ring and out of it. */
	ck_assert_int_eq(xensim_xl_destroy(w.x, old), 0);
	exnet_forget_guest(&w);
	/* The daemon tears the device down: our socket is closed under the sender. */
	for (r = 0; r != -ECONNRESET;) {
		r = exnet_peer_recv(&w, NULL, rx, sizeof(rx), EXNET_TMO);
		ck_assert_int_ne(r, -ETIMEDOUT);
	}
	atomic_store(&flood_stop, true);
	pthread_join(t, NULL);
	close(w.peer);
	w.peer = -1;
	ck_assert_int_eq(exnet_daemon_wait(&w, 0, 0), -1); /* still running */
	ck_assert_int_eq(access(path, F_OK), -1);	   /* its socket is gone */

	exnet_up(&w, &o);
	ck_assert_uint_ne(w.domid, old);
	exnet_frame(tx, 700, NULL, 1, 92);
	exnet_peer_send(&w, NULL, tx, 700);
	guest_expect(tx, 700);
	exnet_frame(tx, 800, NULL, 2, 93);
	ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 800, EXNET_TMO), 0);
	peer_expect(NULL, tx, 800);
}
END_TEST

START_TEST(net__driver_reset_returns_held_buffers_and_device_restarts)
{
	struct xensim_counters c;

	up(XENSIM_NET_DEFAULT_FEATURES);
	exnet_frame(tx, 200, NULL, 1, 120);
	exnet_peer_send(&w, NULL, tx, 200);
	guest_expect(tx, 200);
	/* The daemon holds receive buffers, mapped, while it waits for frames. A driver reset
	 * (remove) must get every one back unmapped: no grant still in use. */
	ck_assert_int_eq(xensim_net_free(w.net), 0);
	w.net = NULL;
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	ck_assert_int_eq(xensim_counters_get(w.x, w.domid, &c), 0);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_int_eq(xensim_net_new(&w.net, w.g, 0, EXNET_BASE, EXNET_IRQ, NULL), 0);
	exnet_frame(tx, 300, NULL, 2, 121);
	exnet_peer_send(&w, NULL, tx, 300);
	guest_expect(tx, 300);
	exnet_frame(tx, 400, NULL, 3, 122);
	ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 400, EXNET_TMO), 0);
	peer_expect(NULL, tx, 400);
}
END_TEST

START_TEST(net__sigterm_exits_zero)
{
	char path[300];
	int status;

	up(XENSIM_NET_DEFAULT_FEATURES);
	snprintf(path, sizeof(path), "%s", exnet_sock_path(&w, w.domid, 0));
	exnet_frame(tx, 64, NULL, 1, 100);
	exnet_peer_send(&w, NULL, tx, 64);
	guest_expect(tx, 64);
	status = exnet_daemon_wait(&w, SIGTERM, 5000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	ck_assert_int_eq(exnet_peer_recv(&w, NULL, rx, sizeof(rx), EXNET_TMO), -ECONNRESET);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(net__socket_path_of_another_file_is_left_alone)
{
	char path[300], buf[8] = { 0 };
	const char *args[] = { "--socket", path, NULL };
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;
	uint32_t domid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/precious", w.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("keep", f);
	fclose(f);
	exnet_daemon_start(&w, args);
	domid = exnet_guest(&w);
	d.frontend_domid = domid;
	d.virtio_id = XENSIM_VIRTIO_ID_NET;
	d.base = EXNET_BASE;
	d.irq = EXNET_IRQ;
	ck_assert_int_eq(xensim_xl_add_virtio(w.x, &d), 0);
	/* The device is refused; the daemon says why and keeps running. */
	for (int i = 0; i < 500 && !strstr(exnet_daemon_log(&w), "not created"); i++)
		usleep(10000);
	ck_assert_ptr_nonnull(strstr(exnet_daemon_log(&w), "not created"));
	ck_assert_int_eq(exnet_daemon_wait(&w, 0, 0), -1);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "keep");
	unlink(path);
}
END_TEST

START_TEST(net__explicit_mode_connects_to_listening_peer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char domid_s[16], irq_s[16], base_s[32];
	const char *args[] = { "--domid", domid_s,    "--base",	   base_s,  "--irq",
			       irq_s,	  "--socket", sa.sun_path, "--mac", "02:aa:bb:cc:dd:ee",
			       NULL };
	struct pollfd pfd;
	uint8_t mac[6];
	uint32_t domid;
	int lfd, r = -EFAULT;

	domid = exnet_guest(&w);
	snprintf(domid_s, sizeof(domid_s), "%u", domid);
	snprintf(base_s, sizeof(base_s), "0x%llx", (unsigned long long)EXNET_BASE);
	snprintf(irq_s, sizeof(irq_s), "%u", EXNET_IRQ);
	ck_assert_int_lt(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/peer.sock", w.dir),
			 (int)sizeof(sa.sun_path));
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	exnet_daemon_start(&w, args);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, EXNET_TMO), 1);
	w.peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(w.peer, 0);
	close(lfd);

	w.domid = domid;
	ck_assert_int_eq(xensim_guest_attach(&w.g, w.x, domid), 0);
	/* -EFAULT: no ioreq server claims the window yet (the daemon is starting). */
	for (int i = 0; i < EXNET_TMO / 20 && r == -EFAULT; i++) {
		r = xensim_net_new(&w.net, w.g, 0, EXNET_BASE, EXNET_IRQ, NULL);
		if (r == -EFAULT)
			usleep(20000);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(xensim_net_mac(w.net, mac), 0);
	ck_assert_mem_eq(mac, ((uint8_t[]){ 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee }), 6);
	exnet_frame(tx, 333, mac, 1, 110);
	exnet_peer_send(&w, NULL, tx, 333);
	guest_expect(tx, 333);
	exnet_frame(tx, 444, NULL, 2, 111);
	ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 444, EXNET_TMO), 0);
	peer_expect(NULL, tx, 444);
	unlink(sa.sun_path);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("example_net");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, net__config_has_mac_and_link_follows_peer);
	tcase_add_test(tc, net__tx_carries_offload_metadata_to_peer);
	tcase_add_test(tc, net__rx_carries_offload_metadata_to_guest);
	tcase_add_test(tc, net__rx_checksum_finished_for_guest_without_guest_csum);
	tcase_add_test(tc, net__large_frames_span_merged_buffers);
	tcase_add_test(tc, net__frame_larger_than_buffer_without_mrg_is_dropped);
	tcase_add_test(tc, net__rx_burst_beyond_ring_waits_for_buffers);
	tcase_add_test(tc, net__tx_waits_for_slow_peer_without_loss);
	tcase_add_test(tc, net__malformed_tx_chains_are_dropped_and_counted);
	tcase_add_test(tc, net__unusable_rx_buffers_are_returned_and_counted);
	tcase_add_test(tc, net__good_rx_buffer_behind_a_flood_of_unusable_ones_gets_the_frame);
	tcase_add_test(tc, net__daemon_survives_guest_destroyed_mid_traffic);
	tcase_add_test(tc, net__driver_reset_returns_held_buffers_and_device_restarts);
	tcase_add_test(tc, net__sigterm_exits_zero);
	tcase_add_test(tc, net__explicit_mode_connects_to_listening_peer);
	tcase_add_test(tc, net__socket_path_of_another_file_is_left_alone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
