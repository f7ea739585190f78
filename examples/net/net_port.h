/* SPDX-License-Identifier: MIT */
/*
 * examples/net/net_port.h — where virtio-xen-net's frames go: a TAP device or a unix socket.
 *
 * Both carry the same unit: one frame behind the 12-byte struct virtio_net_hdr_mrg_rxbuf
 * (little-endian, as in virtio 1.x), so the guest's checksum and segmentation metadata pass
 * through untouched.
 *  - TAP: /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, TUNSETVNETHDRSZ 12 and
 *    TUNSETVNETLE. The kernel reads the header on write (NEEDS_CSUM, GSO) and writes one on read,
 *    using only the offloads allowed by TUNSETOFFLOAD (net_port_set_offload()).
 *  - socket: AF_UNIX SOCK_SEQPACKET, one message per frame. If something listens on the path we
 *    connect to it; otherwise we listen there and take one peer at a time. For unprivileged use
 *    and tests.
 *
 * The port polls its fds on the device's vxen_loop (net_port_start()) and reports through
 * struct net_port_ops: "frames to read", "room to send" (each only while asked for with
 * net_port_want()), and the link coming up or going down as a socket peer comes and goes.
 * Functions return 0 / a byte count, or -errno. They do not log. Loop thread only.
 */
#ifndef EXAMPLES_NET_PORT_H
#define EXAMPLES_NET_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <virtio-xen/loop.h>

/* What the port tells its device. Called on the loop thread, never from inside a port call
 * except link(false) from net_port_recv() when it finds the peer gone. */
struct net_port_ops {
	void (*readable)(void *payload); /* frames wait to be read (while wanted) */
	void (*writable)(void *payload); /* there is room to send again (while wanted) */
	void (*link)(bool up, const char *why, void *payload); /* a peer came or went */
};

struct net_port {
	int fd;	       /* frames: the tap, or the connected socket; -1 while there is no peer */
	int listen_fd; /* socket mode, waiting for a peer; -1 otherwise */
	bool tap;
	char *path; /* the socket path we bound (removed at close), or NULL */
	vxen_loop *loop;
	const struct net_port_ops *ops;
	void *payload;
	uint32_t events; /* asked for p->fd */
};

/** net_port_init() - an unopened port (net_port_close() is then a no-op). */
void net_port_init(struct net_port *p);

/**
 * net_port_open_tap() - create the TAP interface @ifname, or attach to an existing one of that
 * name (a persistent tap made with `ip tuntap add`), with the 12-byte vnet header.
 * Returns 0, -ENAMETOOLONG (≥ IFNAMSIZ), or the -errno of open/ioctl (-EPERM without
 * CAP_NET_ADMIN, -EBUSY when another process holds a single-queue tap of that name).
 */
int net_port_open_tap(struct net_port *p, const char *ifname);

/**
 * net_port_open_socket() - connect to the SOCK_SEQPACKET socket at @path, or, if nothing is
 * listening there (no file, or a stale socket left by a dead process), listen on it.
 * Returns 0, -ENAMETOOLONG, -ENOTSOCK (@path is some other file: left alone), -EAGAIN (the
 * listener's backlog is full), or the -errno of socket/connect/bind/listen.
 */
int net_port_open_socket(struct net_port *p, const char *path);

/**
 * net_port_start() - poll the port's fds on @loop and report to @ops (lent, as is @loop) with
 * @payload. Returns 0 or the error of vxen_loop_add_fd().
 */
int net_port_start(struct net_port *p, vxen_loop *loop, const struct net_port_ops *ops,
		   void *payload);

/** net_port_want() - ask for ops->readable (@in) and ops->writable (@out), or stop asking. */
void net_port_want(struct net_port *p, bool in, bool out);

/** net_port_up() - a peer is there (always, for a tap). */
bool net_port_up(const struct net_port *p);

/**
 * net_port_set_offload() - tell the tap which offloads the reader (the guest) accepts, from
 * the virtio-net features it negotiated (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN); the kernel
 * completes checksums and segments everything else before we read it. No-op for sockets.
 */
int net_port_set_offload(struct net_port *p, uint64_t guest_features);

/**
 * net_port_recv() - read one header + frame into @iov[0 .. @n).
 * Returns its length; -EAGAIN (nothing to read), -ENOTCONN (no peer, or it just left:
 * ops->link(false) was called), -EMSGSIZE (larger than @iov: dropped), other -errno.
 */
ssize_t net_port_recv(struct net_port *p, const struct iovec *iov, unsigned int n);

/**
 * net_port_send() - write one header + frame from @iov[0 .. @n). Never raises SIGPIPE.
 * Returns the length; -EAGAIN (full: want @out and wait for ops->writable), -ENOTCONN (no peer),
 * other -errno (e.g. -EINVAL: the kernel refused the frame).
 */
ssize_t net_port_send(struct net_port *p, const struct iovec *iov, unsigned int n);

/** net_port_close() - stop polling, close every fd, remove the socket we bound. Idempotent. */
void net_port_close(struct net_port *p);

#endif /* EXAMPLES_NET_PORT_H */
