/* SPDX-License-Identifier: MIT */
/*
 * examples/net/net.c — the virtio-net device of virtio-xen-net: frames between a guest and a
 * port (net_port.h: a TAP device, or a unix socket). main.c runs it as a daemon.
 *
 * The two queues, and who does what:
 *  - transmitq (1), push mode: each chain is a 12-byte virtio_net_hdr and a frame, in any split
 *    over the descriptors. We copy and check the header (the guest may change its own copy at any
 *    time), then writev() the checked header and the guest's frame buffers to the port: no copy
 *    of the frame. The header carries the guest's checksum/GSO requests to the tap's kernel.
 *    When the port is full the chains wait here, in order, until it has room (tx_request()).
 *  - receiveq (0), pull mode: the guest's buffers are held until a frame arrives. See rx_read()
 *    for how a frame of unknown size is read into them without a copy in the common case, and
 *    rx_run() for back-pressure: when the guest has no buffer we stop reading the port, so
 *    frames wait in the tap's (or socket's) queue instead of being lost here.
 * The library does the rest: virtio-mmio registers, grant mappings, interrupts, EVENT_IDX,
 * INDIRECT_DESC, ACCESS_PLATFORM, reset and guest death.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include <virtio-xen/virtio-xen.h>

#include "daemon.h"
#include "net.h"
#include "net_port.h"

#define RXQ	  0
#define TXQ	  1
#define HDR_LEN	  12u		    /* struct virtio_net_hdr_mrg_rxbuf: always, with VERSION_1 */
#define FRAME_MAX (65535u + 18u)    /* largest IP packet + Ethernet header + VLAN tag */
#define RX_TARGET (HDR_LEN + 1518u) /* MRG: buffer space to hold before reading a frame */
#define RX_POOL	  128u		    /* receive buffers held at most: a 64 KiB frame in 1.5 KiB */
/* Receive buffers taken per pop: enough to share one grant copy among many frames, few enough
 * that held buffers do not exhaust the queue's 32 page-sized bounce buffers (gdma.h). */
#define RX_BATCH  16u
#define TX_POOL	  64u	/* transmit chains in flight at most */
#define RX_BUDGET 64u	/* frames read per turn, so other devices get theirs */
#define NET_IOV	  1024u /* UIO_MAXIOV */
#define BIT(n)	  (1ULL << (n))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

#define NET_FEATURES                                                                               \
	(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_MAC) |           \
	 BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |                             \
	 BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | \
	 BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS))

/* virtio_net_hdr in host byte order. */
struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

/* A frame being placed into guest buffers (MRG_RXBUF: it may wait for more of them). */
struct rx_frame {
	bool active;
	struct vnet_hdr hdr;
	size_t len;	   /* frame bytes, without the header */
	size_t placed;	   /* bytes already in guest buffers */
	size_t direct;	   /* bytes the read put in guest buffers; the rest is in the bounce */
	unsigned int next; /* first held buffer not filled yet */
};

struct net {
	vxen_dev *dev;
	uint32_t domid, devid;
	struct net_port port;
	char where[108]; /* tap name or socket path */
	uint8_t mac[6];
	uint64_t feat; /* negotiated features */
	bool rx_wait;  /* RX waits for the port to be readable */
	/* receive */
	struct vxen_req *held[RX_POOL]; /* guest buffers popped, oldest first */
	unsigned int nheld;
	size_t room; /* bytes of the held buffers */
	struct rx_frame frame;
	uint8_t rx_hdr[HDR_LEN];
	struct iovec rxv[NET_IOV];
	unsigned int rx_cnt;
	uint8_t *bounce; /* FRAME_MAX bytes: what did not fit the held buffers */
	/* transmit: chains waiting for the port to take them, in order */
	struct vxen_req *txq[TX_POOL];
	unsigned int tx_head, tx_n;
	uint8_t tx_hdr[HDR_LEN];
	struct iovec txv[NET_IOV];
	/* guest-caused log lines: at most 5 a second */
	time_t log_sec;
	unsigned int log_n;
	struct net_stats st;
};

static bool has(const struct net *n, unsigned int bit)
{
	return n->feat & BIT(bit);
}

static bool guest_log_ok(struct net *n)
{
	time_t now = time(NULL);

	if (now != n->log_sec) {
		n->log_sec = now;
		n->log_n = 0;
	}
	return n->log_n++ < 5;
}

#define guest_err(n, ...)                                                                          \
	do {                                                                                       \
		if (guest_log_ok(n))                                                               \
			vxd_log(LOG_INFO, __VA_ARGS__);                                            \
	} while (0)

static void hdr_get(struct vnet_hdr *h, const uint8_t *b)
{
	struct virtio_net_hdr_mrg_rxbuf v;

	memcpy(&v, b, HDR_LEN);
	*h = (struct vnet_hdr){ v.hdr.flags,
				v.hdr.gso_type,
				le16toh(v.hdr.hdr_len),
				le16toh(v.hdr.gso_size),
				le16toh(v.hdr.csum_start),
				le16toh(v.hdr.csum_offset),
				le16toh(v.num_buffers) };
}

static void hdr_put(uint8_t *b, const struct vnet_hdr *h)
{
	struct virtio_net_hdr_mrg_rxbuf v = {
		.hdr = { h->flags, h->gso_type, htole16(h->hdr_len), htole16(h->gso_size),
			 htole16(h->csum_start), htole16(h->csum_offset) },
		.num_buffers = htole16(h->num_buffers),
	};

	memcpy(b, &v, HDR_LEN);
}

/* GSO types this direction may carry: TX needs the HOST_ features, RX the GUEST_ ones. */
static bool gso_ok(const struct net *n, uint8_t type, bool tx)
{
	uint8_t base = type & ~VIRTIO_NET_HDR_GSO_ECN;

	if ((type & VIRTIO_NET_HDR_GSO_ECN) &&
	    !has(n, tx ? VIRTIO_NET_F_HOST_ECN : VIRTIO_NET_F_GUEST_ECN))
		return false;
	if (base == VIRTIO_NET_HDR_GSO_TCPV4)
		return has(n, tx ? VIRTIO_NET_F_HOST_TSO4 : VIRTIO_NET_F_GUEST_TSO4);
	if (base == VIRTIO_NET_HDR_GSO_TCPV6)
		return has(n, tx ? VIRTIO_NET_F_HOST_TSO6 : VIRTIO_NET_F_GUEST_TSO6);
	return false; /* UFO/USO are not offered; NONE with the ECN bit is nonsense */
}

/* Is @h a sane header for a frame of @len bytes going in this direction? (flags masked) */
static bool hdr_ok(const struct net *n, const struct vnet_hdr *h, size_t len, bool tx)
{
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (len < ETH_HLEN || len > FRAME_MAX || h->hdr_len > len)
		return false;
	if (csum && (size_t)h->csum_start + h->csum_offset + 2 > len)
		return false;
	if (csum && tx && !has(n, VIRTIO_NET_F_CSUM))
		return false;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return true;
	return csum && h->gso_size && gso_ok(n, h->gso_type, tx);
}

/* ------------------------------------------------------------------------------------------ */
/* The port's news, and the link state                                                         */

static void tx_release(struct net *n);
static void tx_flush(struct net *n);

static void port_update(struct net *n)
{
	net_port_want(&n->port, n->rx_wait, n->tx_n > 0);
}

static void link_set(struct net *n, bool up)
{
	uint16_t status = htole16(up ? VIRTIO_NET_S_LINK_UP : 0);

	vxen_dev_config_set(n->dev, offsetof(struct virtio_net_config, status), &status, 2);
	vxen_dev_config_changed(n->dev);
}

static void port_readable(void *payload)
{
	struct net *n = payload;

	/* Read inside the receive queue's turn (net_queue_notify): the frames read there reach
	 * the guest in one batch, with one interrupt. */
	n->rx_wait = false;
	port_update(n);
	vxen_dev_queue_wake(n->dev, RXQ);
}

static void port_writable(void *payload)
{
	tx_flush(payload);
}

static void port_link(bool up, const char *why, void *payload)
{
	struct net *n = payload;

	vxd_log(LOG_NOTICE, "net: d%u dev %u: %s: %s, link %s", n->domid, n->devid, n->where, why,
		up ? "up" : "down");
	if (!up)
		tx_release(n); /* frames waiting for room go nowhere now */
	link_set(n, up);
}

static const struct net_port_ops port_ops = {
	.readable = port_readable,
	.writable = port_writable,
	.link = port_link,
};

/* ------------------------------------------------------------------------------------------ */
/* Transmit: guest → port                                                                      */

/* Build txv = [checked header copy][the guest's frame buffers]. Returns the entry count, or
 * -EINVAL for a malformed chain. */
static int tx_iov(struct net *n, struct vxen_req *req)
{
	struct vxen_iov_cursor c;
	struct vnet_hdr h;
	unsigned int cnt = 1;

	if (req->n_in)
		return -EINVAL; /* transmit buffers are device-readable only */
	vxen_req_out_cursor(req, &c);
	if (vxen_iov_pull(&c, n->tx_hdr, HDR_LEN) != HDR_LEN)
		return -EINVAL;
	hdr_get(&h, n->tx_hdr);
	h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM; /* the device ignores the other flags */
	if (!hdr_ok(n, &h, vxen_iov_remaining(&c), true))
		return -EINVAL;
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		h.gso_size = 0;
	h.num_buffers = 0;
	hdr_put(n->tx_hdr, &h);
	n->txv[0] = (struct iovec){ n->tx_hdr, HDR_LEN };
	for (unsigned int i = c.idx; i < c.n; i++) {
		size_t off = i == c.idx ? c.off : 0;

		if (c.iov[i].iov_len == off)
			continue;
		if (cnt == NET_IOV)
			return -EINVAL;
		n->txv[cnt++] = (struct iovec){ (uint8_t *)c.iov[i].iov_base + off,
						c.iov[i].iov_len - off };
	}
	return (int)cnt;
}

/* Send one chain. Returns false if the port is full (the caller keeps @req for later). */
static bool tx_send(struct net *n, struct vxen_req *req)
{
	int cnt = tx_iov(n, req);
	ssize_t r;

	if (cnt < 0) {
		n->st.tx_malformed++;
		guest_err(n, "net: d%u dev %u: malformed transmit chain dropped", n->domid,
			  n->devid);
		vxen_dev_complete(req, 0);
		return true;
	}
	r = net_port_send(&n->port, n->txv, (unsigned int)cnt);
	if (r == -EAGAIN)
		return false;
	if (r >= (ssize_t)HDR_LEN) {
		n->st.tx_frames++;
		n->st.tx_bytes += (uint64_t)r - HDR_LEN;
	} else if (r == -ENOTCONN) {
		n->st.tx_dropped++;
	} else {
		n->st.tx_errors++; /* e.g. the tap's kernel refused the header */
	}
	vxen_dev_complete(req, 0);
	return true;
}

static void tx_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
{
	struct net *n = payload;

	/* Frames already waiting for room go first. The pool bounds the wait list: when every
	 * request is in flight the library stops popping, and the guest's ring fills up. */
	if (n->tx_n == 0 && tx_send(n, req))
		return;
	if (n->tx_n == TX_POOL) { /* cannot happen with a pool of TX_POOL; never overflow */
		n->st.tx_dropped++;
		vxen_dev_complete(req, 0);
		return;
	}
	n->txq[(n->tx_head + n->tx_n++) % TX_POOL] = req;
	port_update(n);
}

static void tx_flush(struct net *n)
{
	while (n->tx_n && tx_send(n, n->txq[n->tx_head])) {
		n->tx_head = (n->tx_head + 1) % TX_POOL;
		n->tx_n--;
	}
	port_update(n);
}

static void tx_release(struct net *n)
{
	for (; n->tx_n; n->tx_n--, n->tx_head = (n->tx_head + 1) % TX_POOL) {
		n->st.tx_dropped++;
		vxen_dev_complete(n->txq[n->tx_head], 0);
	}
	port_update(n);
}

/* ------------------------------------------------------------------------------------------ */
/* Receive: port → guest                                                                       */

/* Pop guest buffers onto the held list, up to RX_BATCH at once (one batch costs the crossings
 * of one). false: none available now. */
static bool rx_take(struct net *n)
{
	struct vxen_req *req[RX_BATCH];
	bool took = false;

	/* Bounded: a guest posting only unusable buffers must not keep us here. */
	for (unsigned int tries = 0; !took && n->nheld < RX_POOL; tries++) {
		int k;

		if (tries == RX_POOL / RX_BATCH) {
			/* More may be waiting, and no kick will say so (the driver saw us take
			 * these): come back on the next turn of the loop. */
			vxen_dev_queue_wake(n->dev, RXQ);
			return false;
		}
		k = vxen_dev_queue_pop_many(n->dev, RXQ, req, MIN(RX_BATCH, RX_POOL - n->nheld));
		if (k <= 0)
			return false;
		for (int i = 0; i < k; i++) {
			/* Receive buffers are device-writable and hold a header (5.1.6.3.1). */
			if (req[i]->n_out || req[i]->in_len < HDR_LEN) {
				n->st.rx_bad_buffers++;
				guest_err(n, "net: d%u dev %u: unusable receive buffer", n->domid,
					  n->devid);
				vxen_dev_complete(req[i], 0);
				continue;
			}
			n->held[n->nheld++] = req[i];
			n->room += req[i]->in_len;
			took = true;
		}
	}
	return took;
}

/* The most buffers we can ever hold at once: a frame needing more can never be delivered. */
static unsigned int rx_limit(struct net *n)
{
	struct vxen_dev_queue_stats st;

	if (vxen_dev_queue_stats(n->dev, RXQ, &st))
		return 0;
	return MIN(MIN(st.size, st.pool_size), RX_POOL);
}

static void rx_drop(struct net *n, const char *why)
{
	n->st.rx_dropped++;
	vxd_log(LOG_DEBUG, "net: d%u dev %u: frame dropped: %s", n->domid, n->devid, why);
}

/* The frame fills held[0 ..]: write its header (num_buffers) and give the buffers back. */
static void rx_complete(struct net *n)
{
	struct rx_frame *f = &n->frame;
	size_t left = HDR_LEN + f->len, w;
	struct vxen_iov_cursor c;
	uint8_t raw[HDR_LEN];
	unsigned int k = 0;

	/* Buffers were filled in order, each to the brim, so their count follows from sizes. */
	for (; left && k < n->nheld; k++)
		left -= MIN(n->held[k]->in_len, left);
	f->hdr.num_buffers = (uint16_t)k;
	hdr_put(raw, &f->hdr);
	vxen_req_in_cursor(n->held[0], &c);
	vxen_iov_push(&c, raw, HDR_LEN);
	left = HDR_LEN + f->len;
	for (unsigned int i = 0; i < k; i++) {
		w = MIN(n->held[i]->in_len, left);
		left -= w;
		n->room -= n->held[i]->in_len;
		vxen_dev_complete(n->held[i], (uint32_t)w);
	}
	n->nheld -= k;
	memmove(n->held, n->held + k, n->nheld * sizeof(n->held[0]));
	n->st.rx_frames++;
	n->st.rx_bytes += f->len;
	f->active = false;
}

/* MRG_RXBUF: copy what the read left in the bounce buffer into more guest buffers. Returns
 * false while the guest has none to give (the frame waits; so does the port). */
static bool rx_finish(struct net *n)
{
	struct rx_frame *f = &n->frame;
	struct vxen_iov_cursor c;

	while (f->placed < f->len) {
		if (f->next == n->nheld && !rx_take(n)) {
			if (n->nheld < rx_limit(n)) {
				n->st.rx_stalls++;
				return false;
			}
			rx_drop(n, "larger than the guest's whole receive ring");
			f->active = false;
			return true;
		}
		vxen_req_in_cursor(n->held[f->next], &c);
		vxen_iov_skip(&c, f->next++ == 0 ? HDR_LEN : 0);
		f->placed +=
			vxen_iov_push(&c, n->bounce + (f->placed - f->direct), f->len - f->placed);
	}
	rx_complete(n);
	return true;
}

/* rxv = [header scratch][held buffers, the first after room for the header][bounce]. Only
 * whole buffers go in (without MRG only the first); @cap receives their frame capacity. */
static unsigned int rx_iov(struct net *n, size_t *cap, unsigned int *nbufs)
{
	unsigned int cnt = 1, i, last = has(n, VIRTIO_NET_F_MRG_RXBUF) ? n->nheld : 1;
	struct vxen_iov_cursor c;

	n->rxv[0] = (struct iovec){ n->rx_hdr, HDR_LEN };
	*cap = 0;
	for (i = 0; i < last; i++) {
		vxen_req_in_cursor(n->held[i], &c);
		vxen_iov_skip(&c, i == 0 ? HDR_LEN : 0);
		if (cnt + (c.n - c.idx) + 1 > NET_IOV)
			break;
		*cap += vxen_iov_remaining(&c);
		for (unsigned int j = c.idx; j < c.n; j++) {
			size_t off = j == c.idx ? c.off : 0;

			n->rxv[cnt++] = (struct iovec){ (uint8_t *)c.iov[j].iov_base + off,
							c.iov[j].iov_len - off };
		}
	}
	*nbufs = i;
	n->rxv[cnt++] = (struct iovec){ n->bounce, FRAME_MAX };
	return cnt;
}

static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/*
 * NEEDS_CSUM for a guest without GUEST_CSUM: finish the checksum here, as the kernel's
 * skb_checksum_help() does — the field holds the pseudo-header sum; fold the sum from
 * csum_start to the end into it. Checked by hdr_ok(): csum_start + csum_offset + 2 <= len.
 */
static void csum_fill(struct net *n, const struct vnet_hdr *h, size_t len)
{
	size_t left = len - h->csum_start, k = 1;
	struct vxen_iov_cursor c;
	uint8_t buf[512]; /* even: only the last piece may have an odd length */
	uint64_t sum = 0;
	uint16_t v;

	vxen_iov_cursor_init(&c, n->rxv + 1, n->rx_cnt - 1);
	vxen_iov_skip(&c, h->csum_start);
	while (left && k) {
		k = vxen_iov_pull(&c, buf, MIN(left, sizeof(buf)));
		sum = csum_add(sum, buf, k);
		left -= k;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	v = htons((uint16_t)~sum ? (uint16_t)~sum : 0xffff); /* UDP: 0 means "none" */
	vxen_iov_cursor_init(&c, n->rxv + 1, n->rx_cnt - 1);
	vxen_iov_skip(&c, (size_t)h->csum_start + h->csum_offset);
	vxen_iov_push(&c, &v, 2);
}

/*
 * Read one frame. Its size is unknown until it is read (a tap cannot be peeked), so the read
 * goes to [our header scratch][the held guest buffers][a 64 KiB bounce buffer]: a frame that
 * fits the held buffers — the common case, as rx_run() holds room for a full-size Ethernet
 * frame first — lands in guest memory with no copy at all; with MRG_RXBUF the rest of a larger
 * one (GSO) is copied from the bounce into more buffers by rx_finish(); without MRG_RXBUF one
 * buffer must hold the whole frame, else the frame is dropped and the buffer kept for the next.
 * The header is checked on our copy, fixed for the guest's features and written last.
 * Returns 0 (delivered or dropped), -ENOBUFS (waiting for guest buffers), or the port's -errno.
 */
static int rx_read(struct net *n)
{
	struct rx_frame *f = &n->frame;
	unsigned int nbufs;
	struct vnet_hdr h;
	size_t cap, len;
	ssize_t r;

	n->rx_cnt = rx_iov(n, &cap, &nbufs);
	r = net_port_recv(&n->port, n->rxv, n->rx_cnt);
	if (r == -EMSGSIZE || (r >= 0 && r < (ssize_t)HDR_LEN))
		return rx_drop(n, r < 0 ? "too long" : "shorter than a header"), 0;
	if (r < 0)
		return (int)r;
	len = (size_t)r - HDR_LEN;
	hdr_get(&h, n->rx_hdr);
	h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if (!hdr_ok(n, &h, len, false))
		return rx_drop(n, "bad size or offload the guest did not accept"), 0;
	if (len > cap && !has(n, VIRTIO_NET_F_MRG_RXBUF))
		return rx_drop(n, "larger than a receive buffer"), 0;
	if (!has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			csum_fill(n, &h, len);
		h.flags = 0;
		h.csum_start = h.csum_offset = 0;
	}
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		h.gso_size = 0;
	*f = (struct rx_frame){ .active = true, .hdr = h, .len = len, .next = nbufs };
	f->placed = f->direct = MIN(len, cap);
	n->st.rx_copied += len > cap;
	return rx_finish(n) ? 0 : -ENOBUFS;
}

/* Deliver frames while the guest has buffers and the port has frames, up to the budget. */
static void rx_run(struct net *n)
{
	size_t want = has(n, VIRTIO_NET_F_MRG_RXBUF) ? RX_TARGET : 1;
	int r = 0;

	for (unsigned int i = 0; i < RX_BUDGET && r == 0; i++) {
		if (n->frame.active && !rx_finish(n))
			return; /* still waiting for buffers: the port waits too */
		while (n->room < want && rx_take(n))
			;
		if (!n->nheld) {
			/* Back-pressure: leave the frames in the port until the guest posts
			 * buffers; the pop that found none re-arms net_queue_notify(). */
			n->st.rx_stalls++;
			return;
		}
		r = rx_read(n);
	}
	if (r == -ENOBUFS)
		return;
	if (r && r != -EAGAIN && r != -ENOTCONN)
		vxd_log(LOG_WARNING, "net: d%u dev %u: %s: read: %s", n->domid, n->devid, n->where,
			strerror(-r));
	/* Nothing to read, or the budget is spent: come back when the port is readable. */
	n->rx_wait = true;
	port_update(n);
}

/* Give the guest back every held buffer, empty. */
static void rx_release(struct net *n)
{
	if (n->frame.active)
		rx_drop(n, "device reset");
	n->frame.active = false;
	for (unsigned int i = 0; i < n->nheld; i++)
		vxen_dev_complete(n->held[i], 0);
	n->nheld = 0;
	n->room = 0;
	n->rx_wait = false;
	port_update(n);
}

/* ------------------------------------------------------------------------------------------ */
/* The device                                                                                  */

static void net_queue_notify(vxen_dev *dev, unsigned int q, void *payload)
{
	rx_run(payload);
}

static int net_features_ok(vxen_dev *dev, uint64_t f, void *payload)
{
	/* virtio 1.2 §5.1.3.1: offloads the driver may not take without their base feature. */
	static const struct {
		unsigned int bit;
		uint64_t needs;
	} deps[] = {
		{ VIRTIO_NET_F_GUEST_TSO4, BIT(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_TSO6, BIT(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_ECN,
		  BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) },
		{ VIRTIO_NET_F_HOST_TSO4, BIT(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_TSO6, BIT(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_ECN,
		  BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) },
	};
	struct net *n = payload;
	int r;

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		if ((f & BIT(deps[i].bit)) && !(f & deps[i].needs)) {
			guest_err(n, "net: d%u dev %u: feature %u without its dependency", n->domid,
				  n->devid, deps[i].bit);
			return -EINVAL;
		}
	r = net_port_set_offload(&n->port, f);
	if (r) {
		vxd_log(LOG_ERR, "net: d%u dev %u: %s: offloads: %s", n->domid, n->devid, n->where,
			strerror(-r));
		return r;
	}
	n->feat = f;
	return 0;
}

static void net_reset(vxen_dev *dev, void *payload)
{
	struct net *n = payload;

	rx_release(n);
	tx_release(n);
	n->feat = 0;
	/* Frames already queued in the tap may still carry offloads: rx_read() fixes them. */
	net_port_set_offload(&n->port, 0);
}

static void net_queue_stop(vxen_dev *dev, unsigned int q, void *payload)
{
	if (q == RXQ)
		rx_release(payload);
	else
		tx_release(payload);
}

static const struct vxen_dev_queue_config net_queues[] = {
	[RXQ] = { .size_max = 256,
		  .max_inflight = RX_POOL,
		  .max_segs = 20,
		  .flags = VXEN_DEV_Q_PULL },
	[TXQ] = { .size_max = 256, .max_inflight = TX_POOL },
};

static const struct vxen_dev_ops net_ops = {
	.version = VXEN_DEV_OPS_VERSION,
	.name = "net",
	.device_id = 1, /* virtio-net */
	.features = NET_FEATURES,
	.num_queues = 2,
	.queues = net_queues,
	/* mac, status, max_virtqueue_pairs */
	.config_size = offsetof(struct virtio_net_config, mtu),
	.handle_request = tx_request,
	.queue_notify = net_queue_notify,
	.features_ok = net_features_ok,
	.reset = net_reset,
	.queue_stop = net_queue_stop,
};

/* ------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                  */

/* Config space: the MAC, the link status, one queue pair. */
static void net_config(struct net *n)
{
	uint16_t pairs = htole16(1);

	vxen_dev_config_set(n->dev, offsetof(struct virtio_net_config, mac), n->mac, 6);
	vxen_dev_config_set(n->dev, offsetof(struct virtio_net_config, max_virtqueue_pairs), &pairs,
			    2);
	link_set(n, net_port_up(&n->port));
}

void net_free(struct net *n, struct net_stats *last)
{
	vxen_dev_free(n->dev); /* a reset: net_reset() gives the held buffers back */
	if (last)
		*last = n->st;
	net_port_close(&n->port);
	free(n->bounce);
	free(n);
}

int net_new(struct net **out, vxen_loop *loop, const struct vxen_dev_config *cfg,
	    const struct net_params *p)
{
	struct net *n = calloc(1, sizeof(*n));
	int r;

	if (!n || !(n->bounce = malloc(FRAME_MAX))) {
		free(n);
		return -ENOMEM;
	}
	net_port_init(&n->port);
	n->domid = p->domid;
	n->devid = p->devid;
	memcpy(n->mac, p->mac, 6);
	snprintf(n->where, sizeof(n->where), "%s", p->where);
	r = p->socket ? net_port_open_socket(&n->port, p->where)
		      : net_port_open_tap(&n->port, p->where);
	if (r)
		vxd_log(LOG_ERR, "net: d%u dev %u: %s %s: %s", n->domid, n->devid,
			p->socket ? "socket" : "tap", p->where, strerror(-r));
	if (!r)
		r = vxen_dev_new(&n->dev, &net_ops, cfg, n);
	if (!r)
		r = net_port_start(&n->port, loop, &port_ops, n);
	if (r) {
		net_free(n, NULL);
		return r;
	}
	net_config(n);
	*out = n;
	return 0;
}

vxen_dev *net_dev(const struct net *n)
{
	return n->dev;
}

void net_describe(const struct net *n, char *buf, size_t len)
{
	const uint8_t *m = n->mac;

	snprintf(buf, len, "%s %s%s, mac %02x:%02x:%02x:%02x:%02x:%02x",
		 n->port.tap ? "tap" : "socket", n->where,
		 n->port.listen_fd >= 0 ? " (listening)" : "", m[0], m[1], m[2], m[3], m[4], m[5]);
}

const struct net_stats *net_stats(const struct net *n)
{
	return &n->st;
}
