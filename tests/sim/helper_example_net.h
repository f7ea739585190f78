/* SPDX-License-Identifier: MIT */
/*
 * helper_example_net.h — scaffolding for tests/sim/test_example_net*.c: a xensim machine in the
 * test process, the virtio-xen-net daemon as its own process (fork + exec of the built binary),
 * guests with virtio-net devices added the way xl does, the guest-side net driver, and the
 * "peer": the test's end of the daemon's unix socket. Every function asserts (Check) on failure
 * unless it returns a value.
 */
#ifndef TESTS_SIM_HELPER_EXAMPLE_NET_H
#define TESTS_SIM_HELPER_EXAMPLE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xensim-virtio.h>
#include <xensim.h>

#define EXNET_BASE	0x2000000ull
#define EXNET_IRQ	33u
#define EXNET_TMO	10000  /* ms */
#define EXNET_ETHERTYPE 0x88b5 /* IEEE local experimental: our test frames */
#define EXNET_GUEST_ECN 9      /* VIRTIO_NET_F_GUEST_ECN (xensim has no name for it) */
#define EXNET_HOST_ECN	13
#define EXNET_ALL_OFFLOADS                                                                         \
	(XENSIM_NET_DEFAULT_FEATURES | XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_GUEST_TSO4) |         \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_GUEST_TSO6) | XENSIM_VIRTIO_BIT(EXNET_GUEST_ECN) |  \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_HOST_TSO4) |                                        \
	 XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_NET_F_HOST_TSO6) | XENSIM_VIRTIO_BIT(EXNET_HOST_ECN))

struct exnet {
	xensim_server *srv;
	xensim *x;
	pid_t pid;     /* the daemon, 0 when not running */
	int out;       /* read end of the daemon's stdout (its "stats" lines) */
	char dir[200]; /* private temporary directory: sockets, the daemon's log */
	char log[300]; /* the daemon's stderr */
	uint32_t domid;
	xensim_guest *g;
	xensim_net *net;
	int peer; /* our end of the daemon's socket for w->domid, -1 if none */
};

/* Machine, control connection, temporary directory. */
void exnet_start(struct exnet *w);
/* Close the peer, free the driver, detach, stop the daemon (SIGKILL if needed), print its log. */
void exnet_stop(struct exnet *w);

/* Deterministic pseudo-random bytes. */
void exnet_fill(void *buf, size_t len, uint32_t seed);

/* Start the daemon with @args (NULL-terminated, without argv[0]); stderr goes to w->log. */
void exnet_daemon_start(struct exnet *w, const char *const *args);
/* Start it in discovery mode with --socket <dir>/net{domid}.{devid}.sock and -v. */
void exnet_daemon_start_socket(struct exnet *w);
/* Send @sig (0: none), wait up to @timeout_ms for the exit. Wait status, or -1 if running. */
int exnet_daemon_wait(struct exnet *w, int sig, int timeout_ms);
/* The daemon's log so far (static buffer). */
const char *exnet_daemon_log(const struct exnet *w);
/*
 * SIGUSR1, then the value of counter @key ("tx_malformed") in the stats line of device
 * @domid.@devid. Asserts the line arrives.
 */
uint64_t exnet_stat(struct exnet *w, uint32_t domid, uint32_t devid, const char *key);

/* A new guest (64 MiB, 2 vCPUs). */
uint32_t exnet_guest(struct exnet *w);
/* xl's virtio net entry (virtio id 1) for @domid/@devid, then wait for backend state 2. */
void exnet_nic(struct exnet *w, uint32_t domid, uint32_t devid);
/* Path of the daemon's socket for @domid/@devid (static buffer). */
const char *exnet_sock_path(const struct exnet *w, uint32_t domid, uint32_t devid);
/* Connect the peer to @domid's device 0 (w->peer). */
void exnet_connect(struct exnet *w, uint32_t domid);
/* Attach to @domid and probe the net device with @o (NULL: defaults): w->domid, w->g, w->net. */
void exnet_attach(struct exnet *w, uint32_t domid, const struct xensim_net_opts *o);
/* exnet_guest + exnet_nic + exnet_connect + exnet_attach, with link up. Returns the domid. */
uint32_t exnet_up(struct exnet *w, const struct xensim_net_opts *o);
/* Drop the driver and the guest handle without touching the device (the guest is dead). */
void exnet_forget_guest(struct exnet *w);

/* Peer side: send one message (@hdr NULL = zeros) + frame; receive one, waiting @timeout_ms.
 * exnet_peer_recv returns the frame length, or -ETIMEDOUT / -ECONNRESET (EOF). */
void exnet_peer_send(struct exnet *w, const struct xensim_net_hdr *hdr, const void *frame,
		     size_t len);
long exnet_peer_recv(struct exnet *w, struct xensim_net_hdr *hdr, void *buf, size_t cap,
		     int timeout_ms);

/* An Ethernet frame of @len bytes to @dst (NULL: broadcast) with EXNET_ETHERTYPE, payload from
 * exnet_fill(@seed) starting with the 4-byte big-endian @seq. */
void exnet_frame(void *buf, size_t len, const uint8_t *dst, uint32_t seq, uint32_t seed);
/* The sequence number of such a frame. */
uint32_t exnet_frame_seq(const void *buf);
/*
 * An Ethernet + IPv4 + UDP frame of @len bytes (≥ 42) with a payload from exnet_fill(@seed),
 * prepared for checksum offload as Linux does: the UDP checksum field holds the folded
 * pseudo-header sum; csum_start 34, csum_offset 6.
 */
void exnet_udp_frame(void *buf, size_t len, uint32_t seed);
/* true if the frame's UDP checksum verifies (ones-complement sum with pseudo-header = 0xffff). */
bool exnet_udp_csum_ok(const void *buf, size_t len);

#endif /* TESTS_SIM_HELPER_EXAMPLE_NET_H */
