/* SPDX-License-Identifier: MIT */
/*
 * examples/net/net_port.c — the TAP and unix-socket ends of virtio-xen-net. See net_port.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "net_port.h"

#define VNET_HDR_LEN 12 /* struct virtio_net_hdr_mrg_rxbuf */
#define BIT(n)	     (1ULL << (n))

void net_port_init(struct net_port *p)
{
	*p = (struct net_port){ .fd = -1, .listen_fd = -1 };
}

static int tap_setup(int fd, const char *ifname)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = VNET_HDR_LEN, le = 1;

	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	/* virtio 1.x headers are little-endian; tun uses host order unless told (Linux ≥ 4.2). */
	if (ioctl(fd, TUNSETVNETLE, &le) < 0 && (BYTE_ORDER != LITTLE_ENDIAN || errno != EINVAL))
		return -errno;
	/* No offloads until a driver negotiates some: the kernel hands us finished frames. */
	return ioctl(fd, TUNSETOFFLOAD, 0) < 0 ? -errno : 0;
}

int net_port_open_tap(struct net_port *p, const char *ifname)
{
	int fd, r;

	net_port_init(p);
	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = tap_setup(fd, ifname);
	if (r) {
		close(fd);
		return r;
	}
	p->fd = fd;
	p->tap = true;
	return 0;
}

static int unix_socket(const char *path, struct sockaddr_un *sa)
{
	int fd;

	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	strcpy(sa->sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* A full backlog fails with -EAGAIN rather than blocking the daemon: the device is offered
 * again later. */
static int try_connect(struct net_port *p, const char *path)
{
	struct sockaddr_un sa;
	int fd = unix_socket(path, &sa), r;

	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		p->fd = fd;
		return 0;
	}
	r = -errno;
	close(fd);
	return r;
}

static int start_listening(struct net_port *p, const char *path)
{
	struct sockaddr_un sa;
	int fd = unix_socket(path, &sa), r;

	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Backlog 1: one peer at a time; the next waits until the current one leaves. */
	if (listen(fd, 1) < 0)
		r = -errno;
	else
		r = (p->path = strdup(path)) ? 0 : -ENOMEM;
	if (r) {
		close(fd);
		unlink(path);
		return r;
	}
	p->listen_fd = fd;
	return 0;
}

int net_port_open_socket(struct net_port *p, const char *path)
{
	struct stat st;
	int r;

	net_port_init(p);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	r = try_connect(p, path);
	if (r != -ENOENT && r != -ECONNREFUSED)
		return r;
	/* Refused: a socket nobody listens on any more (a daemon that died) — or not a socket
	 * at all, which we must not remove. */
	if (r == -ECONNREFUSED && (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)))
		return -ENOTSOCK;
	if (r == -ECONNREFUSED && unlink(path) < 0)
		return -errno;
	return start_listening(p, path);
}

/* ------------------------------------------------------------------------------------------ */
/* Polling                                                                                     */

static void on_listen(vxen_loop *loop, int fd, uint32_t events, void *payload);
static void on_data(vxen_loop *loop, int fd, uint32_t events, void *payload);

/* The peer left (or the tap failed): stop polling it, listen for the next one. */
static void hangup(struct net_port *p, const char *why)
{
	vxen_loop_del_fd(p->loop, p->fd);
	close(p->fd);
	p->fd = -1;
	if (p->listen_fd >= 0)
		vxen_loop_add_fd(p->loop, p->listen_fd, EPOLLIN, on_listen, p);
	p->ops->link(false, why, p->payload);
}

static void on_listen(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct net_port *p = payload;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return; /* the peer gave up meanwhile */
	/* One peer at a time: the next one waits in the backlog until this one leaves. */
	vxen_loop_del_fd(loop, fd);
	p->fd = c;
	if (vxen_loop_add_fd(loop, c, p->events, on_data, p)) {
		hangup(p, "cannot be polled");
		return;
	}
	p->ops->link(true, "peer connected", p->payload);
}

static void on_data(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct net_port *p = payload;

	if (events & EPOLLOUT)
		p->ops->writable(p->payload);
	if (events & EPOLLIN)
		p->ops->readable(p->payload); /* an end of stream is found by reading */
	else if (events & (EPOLLHUP | EPOLLERR))
		hangup(p, "hung up");
}

int net_port_start(struct net_port *p, vxen_loop *loop, const struct net_port_ops *ops,
		   void *payload)
{
	p->loop = loop;
	p->ops = ops;
	p->payload = payload;
	if (p->fd >= 0)
		return vxen_loop_add_fd(loop, p->fd, p->events, on_data, p);
	return vxen_loop_add_fd(loop, p->listen_fd, EPOLLIN, on_listen, p);
}

void net_port_want(struct net_port *p, bool in, bool out)
{
	uint32_t ev = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);

	if (p->loop && p->fd >= 0 && ev != p->events)
		vxen_loop_mod_fd(p->loop, p->fd, ev);
	p->events = ev;
}

bool net_port_up(const struct net_port *p)
{
	return p->fd >= 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Frames                                                                                      */

int net_port_set_offload(struct net_port *p, uint64_t f)
{
	unsigned int off = 0;

	if (!p->tap)
		return 0;
	/* tun only honours TSO flags together with CSUM, as virtio requires of the guest. */
	if (f & BIT(VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		off |= f & BIT(VIRTIO_NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0;
		off |= f & BIT(VIRTIO_NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & BIT(VIRTIO_NET_F_GUEST_ECN)))
			off |= TUN_F_TSO_ECN;
	}
	return ioctl(p->fd, TUNSETOFFLOAD, off) < 0 ? -errno : 0;
}

static size_t iov_bytes(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

ssize_t net_port_recv(struct net_port *p, const struct iovec *iov, unsigned int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t r;

	if (p->fd < 0)
		return -ENOTCONN;
	if (p->tap) {
		r = readv(p->fd, iov, (int)n);
		/* tun returns the frame's full length even when it had to cut it to fit. */
		if (r > 0 && (size_t)r > iov_bytes(iov, n))
			return -EMSGSIZE;
		return r < 0 ? -errno : r;
	}
	r = recvmsg(p->fd, &m, MSG_DONTWAIT);
	/* 0 is the end of the stream: our protocol has no empty messages. */
	if (r == 0 || (r < 0 && errno == ECONNRESET)) {
		hangup(p, "closed");
		return -ENOTCONN;
	}
	if (r > 0 && (m.msg_flags & MSG_TRUNC))
		return -EMSGSIZE;
	return r < 0 ? -errno : r;
}

ssize_t net_port_send(struct net_port *p, const struct iovec *iov, unsigned int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t r;

	if (p->fd < 0)
		return -ENOTCONN;
	if (p->tap)
		r = writev(p->fd, iov, (int)n);
	else
		r = sendmsg(p->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r >= 0)
		return r;
	/* A peer that left: the hangup comes through the loop (EPOLLHUP), not from in here. */
	return errno == EPIPE || errno == ECONNRESET ? -ENOTCONN : -errno;
}

void net_port_close(struct net_port *p)
{
	if (p->fd >= 0) {
		if (p->loop)
			vxen_loop_del_fd(p->loop, p->fd);
		close(p->fd);
	}
	p->fd = -1;
	if (p->listen_fd >= 0) {
		if (p->loop)
			vxen_loop_del_fd(p->loop, p->listen_fd);
		close(p->listen_fd);
	}
	p->listen_fd = -1;
	if (p->path)
		unlink(p->path);
	free(p->path);
	p->path = NULL;
}
