/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen-net — a virtio-net backend daemon for Xen guests: the guest's frames go out
 * through a TAP device (or, without privileges, a unix socket) and frames from there come in.
 *
 *   virtio-xen-net                       serve every virtio-net device xl publishes; device
 *                                        <devid> of guest <domid> gets the tap vxen<domid>.<devid>
 *   virtio-xen-net --socket /run/n{domid}.{devid}    the same on unix sockets, one per device
 *   virtio-xen-net --domid 5 --base 0x2000000 --irq 33 --tap tap5     one device, no xenstore
 *
 * A tap is created down and unconfigured: bring it up in a bridge (ip link set vxen5.0 master
 * br0 up), as xl's vif scripts do for netback. A socket peer gets one message per frame: the
 * 12-byte virtio_net_hdr, little-endian, then the frame (see net_port.h).
 *
 * This file is the daemon around the device (net.c) and its ports (net_port.c): options,
 * names, MACs, and the counters printed on SIGUSR1 (one "stats" line per device on stdout,
 * then one "queue" line per virtqueue; a device that goes away prints its last "stats" line).
 * examples/common runs everything else.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/virtio-xen.h>

#include "daemon.h"
#include "net.h"

#define VIRTIO_ID_NET 1
#define DEFAULT_TAP   "vxen{domid}.{devid}" /* 15 characters at most: IFNAMSIZ - 1 */

struct node {
	struct net *net;
	uint32_t domid, devid;
	struct node *next;
};

struct opts {
	const char *tap, *socket;
	uint8_t mac[6];
	bool mac_given, usr1;
	struct node *devs;
};

static void print_stats(uint32_t domid, uint32_t devid, const struct net_stats *s)
{
	printf("stats d%u.%u tx_frames=%" PRIu64 " tx_bytes=%" PRIu64 " tx_malformed=%" PRIu64
	       " tx_errors=%" PRIu64 " tx_dropped=%" PRIu64 " rx_frames=%" PRIu64
	       " rx_bytes=%" PRIu64 " rx_copied=%" PRIu64 " rx_dropped=%" PRIu64
	       " rx_bad_buffers=%" PRIu64 " rx_stalls=%" PRIu64 "\n",
	       domid, devid, s->tx_frames, s->tx_bytes, s->tx_malformed, s->tx_errors,
	       s->tx_dropped, s->rx_frames, s->rx_bytes, s->rx_copied, s->rx_dropped,
	       s->rx_bad_buffers, s->rx_stalls);
	fflush(stdout);
}

/* One "queue" line per virtqueue: the ring and pool counters, for diagnosing stalls. */
static void print_queue_stats(uint32_t domid, uint32_t devid, vxen_dev *dev)
{
	struct vxen_dev_queue_stats q;

	for (unsigned int i = 0; i < 2 && !vxen_dev_queue_stats(dev, i, &q); i++)
		printf("queue d%u.%u q%u kicks=%" PRIu64 " turns=%" PRIu64 " popped=%" PRIu64
		       " pushed=%" PRIu64 " published=%" PRIu64 " notifies=%" PRIu64
		       " suppressed=%" PRIu64 " completions=%" PRIu64 " inflight=%u"
		       " inflight_max=%u pool_empty=%" PRIu64 " budget_yields=%" PRIu64
		       " rejected=%" PRIu64 " gdma_rej_nomem=%" PRIu64 " live_pages=%" PRIu64
		       " broken=%d\n",
		       domid, devid, i, q.kicks, q.turns, q.vq.popped, q.vq.pushed, q.vq.published,
		       q.vq.notifies, q.vq.suppressed, q.completions, q.inflight, q.inflight_max,
		       q.pool_empty, q.budget_yields, q.vq.rejected, q.gdma.rej_nomem,
		       q.gdma.live_pages, q.broken);
	fflush(stdout);
}

static void on_usr1(vxen_loop *loop, int signo, void *payload)
{
	struct opts *o = payload;

	for (struct node *d = o->devs; d; d = d->next) {
		print_stats(d->domid, d->devid, net_stats(d->net));
		print_queue_stats(d->domid, d->devid, net_dev(d->net));
	}
}

/* Replace {domid} and {devid} in @tmpl. */
static int expand(char *out, size_t cap, const char *tmpl, uint32_t domid, uint32_t devid)
{
	size_t o = 0, k;
	char piece[16];

	while (*tmpl) {
		bool dom = !strncmp(tmpl, "{domid}", 7);

		if (dom || !strncmp(tmpl, "{devid}", 7)) {
			snprintf(piece, sizeof(piece), "%u", dom ? domid : devid);
			tmpl += 7;
		} else {
			piece[0] = *tmpl++;
			piece[1] = 0;
		}
		k = strlen(piece);
		if (o + k >= cap)
			return -ENAMETOOLONG;
		memcpy(out + o, piece, k);
		o += k;
	}
	out[o] = 0;
	return 0;
}

static int net_create(vxen_loop *loop, const struct vxen_xs_device *info,
		      const struct vxen_dev_config *cfg, vxen_dev **out, char *desc,
		      size_t desc_size, void *payload)
{
	struct opts *o = payload;
	struct net_params p = { .domid = info->frontend_domid,
				.devid = info->devid,
				.socket = o->socket != NULL,
				/* Xen's OUI, locally administered: 02:16:3e:<domid>:<devid> */
				.mac = { 0x02, 0x16, 0x3e, (uint8_t)(info->frontend_domid >> 8),
					 (uint8_t)info->frontend_domid, (uint8_t)info->devid } };
	const char *tmpl = o->socket ? o->socket : o->tap ? o->tap : DEFAULT_TAP;
	struct node *d = calloc(1, sizeof(*d));
	char where[108];
	int r;

	if (!d)
		return -ENOMEM;
	r = expand(where, sizeof(where), tmpl, p.domid, p.devid);
	p.where = where;
	if (o->mac_given)
		memcpy(p.mac, o->mac, 6);
	if (!r)
		r = net_new(&d->net, loop, cfg, &p);
	/* SIGUSR1 is blocked since main(): one sent before this point waits for the signalfd. */
	if (!r && !o->usr1 && !(r = vxen_loop_add_signal(loop, SIGUSR1, on_usr1, o)))
		o->usr1 = true;
	if (r) {
		if (d->net)
			net_free(d->net, NULL);
		free(d);
		return r;
	}
	*d = (struct node){ d->net, p.domid, p.devid, o->devs };
	o->devs = d;
	net_describe(d->net, desc, desc_size);
	*out = net_dev(d->net);
	return 0;
}

static void net_destroy(vxen_dev *dev, void *payload)
{
	struct opts *o = payload;
	struct node **pp = &o->devs, *d;
	struct net_stats last;

	while (*pp && net_dev((*pp)->net) != dev)
		pp = &(*pp)->next;
	d = *pp;
	if (!d)
		return;
	*pp = d->next;
	net_free(d->net, &last);
	print_stats(d->domid, d->devid, &last);
	free(d);
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                */

enum { KEY_TAP = 256, KEY_SOCKET, KEY_MAC };

static const struct vxd_option net_options[] = {
	{ "tap", KEY_TAP, "NAME", "TAP interface (default vxen{domid}.{devid})" },
	{ "socket", KEY_SOCKET, "PATH", "unix SOCK_SEQPACKET socket instead of a TAP" },
	{ "mac", KEY_MAC, "MAC",
	  "the guest's MAC, for every device (default 02:16:3e:<domid>:<devid>)" },
	{ NULL, 0, NULL, NULL },
};

static int hex(char c)
{
	return isdigit((unsigned char)c)    ? c - '0'
	       : isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10
					    : -1;
}

/* Exactly xx:xx:xx:xx:xx:xx, unicast. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex(s[3 * i]), lo = hi < 0 ? -1 : hex(s[3 * i + 1]);

		if (lo < 0 || s[3 * i + 2] != (i < 5 ? ':' : 0))
			return vxd_usage_error(
				"--mac: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", s);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return vxd_usage_error("--mac: '%s' is a multicast address", s);
	return 0;
}

static int net_parse(int key, const char *arg, void *payload)
{
	struct opts *o = payload;

	switch (key) {
	case KEY_TAP:
		o->tap = arg;
		return 0;
	case KEY_SOCKET:
		o->socket = arg;
		return 0;
	case KEY_MAC:
		o->mac_given = true;
		return parse_mac(arg, o->mac);
	}
	return -1;
}

static int net_check(bool explicit_mode, void *payload)
{
	struct opts *o = payload;

	if (o->tap && o->socket)
		return vxd_usage_error("--tap and --socket exclude each other");
	return 0;
}

static const uint32_t net_ids[] = { VIRTIO_ID_NET };

static const struct vxd_daemon net_daemon = {
	.prog = "virtio-xen-net",
	.tag = "net",
	.synopsis = "Serve virtio-net devices of Xen guests on TAP interfaces or unix sockets.",
	.usage = "NAME and PATH may contain {domid} and {devid}, replaced for each device.\n"
		 "--socket: connects to PATH if something listens there (once: the link stays\n"
		 "down after that peer leaves), else listens on it (one peer at a time; the link\n"
		 "is down while there is none). Each message is a 12-byte virtio_net_hdr\n"
		 "(little-endian) followed by one Ethernet frame.\n"
		 "SIGUSR1 prints each device's counters on stdout.\n",
	.virtio_ids = net_ids,
	.nr_virtio_ids = 1,
	.options = net_options,
	.parse = net_parse,
	.check = net_check,
	.create = net_create,
	.destroy = net_destroy,
};

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	sigset_t usr1;

	/* Blocked from the start: a SIGUSR1 sent before the first device exists waits for the
	 * loop's signalfd instead of killing the daemon. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	/* A reader of our stdout that went away must not kill the daemon (sockets use
	 * MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	return vxd_main(&net_daemon, argc, argv, &o);
}
