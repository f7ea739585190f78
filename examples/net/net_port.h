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
 * Every fd is non-blocking; the caller polls them (net_port_fd(), net_port_listen_fd()).
 * Functions return 0 / a byte count, or -errno. They do not log. Single-threaded.
 */
#ifndef EXAMPLES_NET_PORT_H
#define EXAMPLES_NET_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct net_port {
	int fd;	       /* frames: the tap, or the connected socket; -1 while there is no peer */
	int listen_fd; /* socket mode, waiting for a peer; -1 otherwise */
	bool tap;
	char *path; /* the socket path we bound (removed at close), or NULL */
};

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
 * Returns 0, -ENAMETOOLONG, or the -errno of socket/connect/bind/listen.
 */
int net_port_open_socket(struct net_port *p, const char *path);

/** net_port_accept() - listen_fd is readable: take the peer (its fd becomes p->fd). */
int net_port_accept(struct net_port *p);

/** net_port_hangup() - drop the peer (socket mode); listening goes on if we were listening. */
void net_port_hangup(struct net_port *p);

/**
 * net_port_set_offload() - tell the tap which offloads the reader (the guest) accepts, from
 * the virtio-net features it negotiated (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN); the kernel
 * completes checksums and segments everything else before we read it. No-op for sockets.
 */
int net_port_set_offload(struct net_port *p, uint64_t guest_features);

/**
 * net_port_recv() - read one header + frame into @iov[0 .. @n).
 * Returns its length; -EAGAIN (nothing to read), -ENOTCONN (no peer), -EMSGSIZE (larger than
 * @iov: dropped), -ECONNRESET (the peer closed: call net_port_hangup()), other -errno.
 */
ssize_t net_port_recv(struct net_port *p, const struct iovec *iov, unsigned int n);

/**
 * net_port_send() - write one header + frame from @iov[0 .. @n). Never raises SIGPIPE.
 * Returns the length; -EAGAIN (full: try again when p->fd is writable), -ENOTCONN,
 * -ECONNRESET (the peer is gone), other -errno (e.g. -EINVAL: the kernel refused the frame).
 */
ssize_t net_port_send(struct net_port *p, const struct iovec *iov, unsigned int n);

/** net_port_close() - close every fd, remove the socket we bound. Idempotent. */
void net_port_close(struct net_port *p);

#endif /* EXAMPLES_NET_PORT_H */
