/* SPDX-License-Identifier: MIT */
/*
 * examples/net/net.h — the virtio-net device of virtio-xen-net (net.c), as main.c uses it.
 * Loop thread only.
 */
#ifndef EXAMPLES_NET_NET_H
#define EXAMPLES_NET_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <virtio-xen/virtio-xen.h>

struct net;

/* A device's counters (cumulative). */
struct net_stats {
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_malformed; /* guest chains refused: bad header, writable part, ... */
	uint64_t tx_errors;    /* the port refused the frame */
	uint64_t tx_dropped;   /* no peer, or dropped at reset while waiting for room */
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_copied;	 /* frames partly copied through the bounce buffer (MRG) */
	uint64_t rx_dropped;	 /* port frames the guest cannot take (size, offloads) */
	uint64_t rx_bad_buffers; /* guest receive buffers refused */
	uint64_t rx_stalls;	 /* times reading stopped for want of guest buffers */
};

/* One device: where its frames go and what the guest is told. */
struct net_params {
	uint32_t domid, devid; /* for messages */
	const char *where;     /* the tap's name, or the socket's path */
	bool socket;	       /* @where is a unix socket path */
	uint8_t mac[6];
};

/**
 * net_new() - open the tap or socket, create the device with @cfg (as prepared by the
 * vxen_backend) and poll the port on @loop. Returns 0 with *@out set, or -errno (logged).
 */
int net_new(struct net **out, vxen_loop *loop, const struct vxen_dev_config *cfg,
	    const struct net_params *p);

/**
 * net_free() - free the device (a reset: the guest gets every held buffer back), close the
 * port. @last (may be NULL) receives the counters as they were at the very end.
 */
void net_free(struct net *n, struct net_stats *last);

/** net_dev() - the library's device. */
vxen_dev *net_dev(const struct net *n);

/** net_describe() - "tap vxen5.0, mac 02:16:3e:00:05:00" for the daemon's log line. */
void net_describe(const struct net *n, char *buf, size_t len);

/** net_stats() - the device's counters (lent). */
const struct net_stats *net_stats(const struct net *n);

#endif /* EXAMPLES_NET_NET_H */
