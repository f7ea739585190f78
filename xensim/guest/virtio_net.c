// SPDX-License-Identifier: MIT
/*
 * virtio_net.c — a minimal virtio-net driver in the shape of Linux's drivers/net/virtio_net.c:
 * one rx/tx queue pair, rx buffers of one descriptor each (mergeable with MRG_RXBUF, "small"
 * otherwise), tx frames behind a 12-byte virtio_net_hdr carrying checksum / GSO metadata.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "virtio_internal.h"

#define HDR_LEN	      XENSIM_VIRTIO_NET_HDR_LEN
#define MRG_BUF_LEN   1536u
#define SMALL_BUF_LEN (HDR_LEN + 1518u) /* header + GOOD_PACKET_LEN */
#define MAX_TX_FRAME  65550u
#define MAX_RX_FRAME  (65535u + 14u + 4u) /* largest IP packet + Ethernet/VLAN header */
#define MAX_TX_SG     64u		  /* header + 63 fragments (MAX_SKB_FRAGS is 17) */
#define RXQ	      0u
#define TXQ	      1u

/* A buffer handed to the device: rx buffers are reposted, tx buffers freed when used. */
struct net_buf {
	struct xensim_gbuf mem;
	struct xensim_gbuf hdr; /* tx with caller sg: the header's own buffer */
};

struct xensim_net {
	xensim_vdev *vd;
	xensim_guest *g;
	xensim_vq *rx, *tx;
	bool mrg;
	unsigned int rx_buf_len;
	struct xensim_net_stats stats;
};

static void buf_free(xensim_guest *g, struct net_buf *b)
{
	xensim_gbuf_free(g, &b->mem);
	xensim_gbuf_free(g, &b->hdr);
	free(b);
}

static int post_rx(xensim_net *net, struct net_buf *b)
{
	struct xensim_sg sg = { b->mem.gpa, net->rx_buf_len };
	int rc = xensim_vq_add(net->rx, NULL, 0, &sg, 1, b);

	if (rc < 0)
		buf_free(net->g, b);
	return rc;
}

/* try_fill_recv(): post up to @n fresh buffers, then kick. */
static int fill_rx(xensim_net *net, unsigned int n)
{
	struct net_buf *b;
	int rc = 0;

	for (unsigned int i = 0; i < n && rc == 0; i++) {
		b = calloc(1, sizeof(*b));
		rc = b ? xensim_gbuf_alloc(net->g, net->rx_buf_len, &b->mem) : -ENOMEM;
		if (rc < 0)
			free(b);
		else
			rc = post_rx(net, b);
	}
	if (rc == 0)
		rc = xensim_vq_kick(net->rx);
	return rc < 0 ? rc : 0;
}

static int setup(xensim_net *net, const struct xensim_net_opts *o)
{
	unsigned int sizes[2] = { o->queue_size, o->queue_size };
	unsigned int target;
	int rc;

	if (xensim_vdev_device_id(net->vd) != XENSIM_VIRTIO_ID_NET)
		return -ENODEV;
	rc = xensim_vdev_negotiate(net->vd, o->features, NULL);
	if (rc == 0)
		rc = xensim_vdev_setup_queues(net->vd, 2, sizes);
	if (rc < 0)
		return rc;
	net->rx = xensim_vdev_vq(net->vd, RXQ);
	net->tx = xensim_vdev_vq(net->vd, TXQ);
	net->mrg = xensim_vdev_has_feature(net->vd, XENSIM_VIRTIO_NET_F_MRG_RXBUF);
	net->rx_buf_len = o->rx_buf_len ? o->rx_buf_len : net->mrg ? MRG_BUF_LEN : SMALL_BUF_LEN;
	if (net->rx_buf_len <= HDR_LEN)
		return -EINVAL;
	/* Without NAPI tx, Linux keeps tx interrupts off and reclaims on the next xmit. */
	xensim_vq_disable_cb(net->tx);
	rc = xensim_vdev_ready(net->vd);
	target = xensim_vq_num(net->rx);
	if (o->rx_bufs && o->rx_bufs < target)
		target = o->rx_bufs;
	return rc < 0 ? rc : fill_rx(net, target);
}

/* Reset, give back every buffer still queued, then remove the device. */
static int teardown(xensim_vdev *vd, xensim_guest *g)
{
	void *tok;
	int rc = 0, r;

	xensim_vdev_reset(vd);
	for (unsigned int i = 0; i < xensim_vdev_nr_vqs(vd); i++)
		while ((r = xensim_vq_detach_unused(xensim_vdev_vq(vd, i), &tok)) != 0) {
			rc = r == -EBUSY ? -EBUSY : rc;
			buf_free(g, tok);
		}
	r = xensim_vdev_free(vd);
	return rc < 0 ? rc : r;
}

int xensim_net_new(xensim_net **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		   uint32_t irq, const struct xensim_net_opts *opts)
{
	struct xensim_net_opts defaults = XENSIM_NET_OPTS_INIT;
	xensim_net *net;
	int rc;

	if (!out || !g || (opts && opts->version != XENSIM_NET_OPTS_VERSION))
		return -EINVAL;
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	net->g = g;
	rc = xensim_vdev_probe(&net->vd, g, backend_domid, base, irq);
	if (rc == 0)
		rc = setup(net, opts ? opts : &defaults);
	if (rc < 0) {
		if (net->vd)
			teardown(net->vd, g);
		free(net);
		return rc;
	}
	*out = net;
	return 0;
}

int xensim_net_free(xensim_net *net)
{
	int rc;

	if (!net)
		return 0;
	rc = teardown(net->vd, net->g);
	free(net);
	return rc;
}

xensim_vdev *xensim_net_vdev(xensim_net *net)
{
	return net->vd;
}

int xensim_net_mac(xensim_net *net, uint8_t mac[6])
{
	if (!net || !mac)
		return -EINVAL;
	if (!xensim_vdev_has_feature(net->vd, XENSIM_VIRTIO_NET_F_MAC))
		return -EOPNOTSUPP;
	/* virtio_cread_bytes(): six single-byte reads inside one generation loop. */
	return xensim_vdev_config_read(net->vd, offsetof(struct virtio_net_config, mac), mac, 6);
}

int xensim_net_status(xensim_net *net, uint16_t *status_out)
{
	uint16_t v;
	int rc;

	if (!net || !status_out)
		return -EINVAL;
	if (!xensim_vdev_has_feature(net->vd, XENSIM_VIRTIO_NET_F_STATUS))
		return -EOPNOTSUPP;
	rc = xensim_vdev_config_read(net->vd, offsetof(struct virtio_net_config, status), &v, 2);
	if (rc == 0)
		*status_out = le16toh(v);
	return rc;
}

void xensim_net_get_stats(const xensim_net *net, struct xensim_net_stats *out)
{
	*out = net->stats;
}

/* ------------------------------------------------------------------------------------------ */
/* Transmit                                                                                    */

static void put_hdr(void *p, const struct xensim_net_hdr *h)
{
	struct virtio_net_hdr_mrg_rxbuf v = { 0 };

	if (h) {
		v.hdr.flags = h->flags;
		v.hdr.gso_type = h->gso_type;
		v.hdr.hdr_len = htole16(h->hdr_len);
		v.hdr.gso_size = htole16(h->gso_size);
		v.hdr.csum_start = htole16(h->csum_start);
		v.hdr.csum_offset = htole16(h->csum_offset);
	}
	memcpy(p, &v, HDR_LEN);
}

int xensim_net_tx_reclaim(xensim_net *net)
{
	void *tok;
	int n = 0, busy = 0, rc;

	if (!net)
		return -EINVAL;
	while ((rc = xensim_vq_get_buf(net->tx, &tok, NULL)) == 1 || rc == -EBUSY) {
		busy |= rc == -EBUSY;
		buf_free(net->g, tok);
		n++;
	}
	if (rc < 0)
		return rc;
	return busy ? -EBUSY : n;
}

/* Add @out to the tx queue, waiting for room; kick. @b is consumed on failure. */
static int xmit(xensim_net *net, struct net_buf *b, const struct xensim_sg *out, unsigned int n,
		int timeout_ms)
{
	int64_t deadline = vtime_deadline(timeout_ms);
	int busy = 0, rc;

	for (;;) {
		rc = xensim_net_tx_reclaim(net);
		busy |= rc == -EBUSY;
		if (rc < 0 && rc != -EBUSY)
			break;
		rc = xensim_vq_add(net->tx, out, n, NULL, 0, b);
		if (rc != -ENOSPC)
			break;
		rc = xensim_vq_wait(net->tx, vtime_left(deadline, timeout_ms));
		xensim_vq_disable_cb(net->tx);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		buf_free(net->g, b);
		return rc;
	}
	rc = xensim_vq_kick(net->tx);
	return rc < 0 ? rc : busy ? -EBUSY : 0;
}

int xensim_net_send(xensim_net *net, const struct xensim_net_hdr *hdr, const void *frame,
		    size_t len, int timeout_ms)
{
	struct net_buf *b;
	struct xensim_sg sg;
	int rc;

	if (!net || !frame || len == 0 || len > MAX_TX_FRAME)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = xensim_gbuf_alloc(net->g, HDR_LEN + len, &b->mem);
	if (rc < 0) {
		free(b);
		return rc;
	}
	/* VERSION_1 implies ANY_LAYOUT: header pushed in front of the data, one descriptor. */
	put_hdr(b->mem.host, hdr);
	memcpy((uint8_t *)b->mem.host + HDR_LEN, frame, len);
	sg = (struct xensim_sg){ b->mem.gpa, (uint32_t)(HDR_LEN + len) };
	rc = xmit(net, b, &sg, 1, timeout_ms);
	if (rc == 0 || rc == -EBUSY) {
		net->stats.tx_frames++;
		net->stats.tx_bytes += len;
	}
	return rc;
}

int xensim_net_send_sg(xensim_net *net, const struct xensim_net_hdr *hdr,
		       const struct xensim_sg *sg, unsigned int nsg, int timeout_ms)
{
	struct xensim_sg out[MAX_TX_SG];
	struct net_buf *b;
	uint64_t bytes = 0;
	int rc;

	if (!net || !sg || nsg == 0 || nsg >= MAX_TX_SG)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = xensim_gbuf_alloc(net->g, HDR_LEN, &b->hdr);
	if (rc < 0) {
		free(b);
		return rc;
	}
	put_hdr(b->hdr.host, hdr);
	out[0] = (struct xensim_sg){ b->hdr.gpa, HDR_LEN };
	for (unsigned int i = 0; i < nsg; i++) {
		out[i + 1] = sg[i];
		bytes += sg[i].len;
	}
	rc = xmit(net, b, out, nsg + 1, timeout_ms);
	if (rc == 0 || rc == -EBUSY) {
		net->stats.tx_frames++;
		net->stats.tx_bytes += bytes;
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Receive                                                                                     */

static void get_hdr(const void *p, struct xensim_net_hdr *h)
{
	struct virtio_net_hdr_mrg_rxbuf v;

	memcpy(&v, p, HDR_LEN);
	*h = (struct xensim_net_hdr){
		.flags = v.hdr.flags,
		.gso_type = v.hdr.gso_type,
		.hdr_len = le16toh(v.hdr.hdr_len),
		.gso_size = le16toh(v.hdr.gso_size),
		.csum_start = le16toh(v.hdr.csum_start),
		.csum_offset = le16toh(v.hdr.csum_offset),
		.num_buffers = le16toh(v.num_buffers),
	};
}

/* Frame being reassembled into the caller's buffer. */
struct rx_frame {
	uint8_t *buf;
	size_t cap, len;
	bool bad;
	int busy;
};

/* Copy one used buffer's payload (@skip bytes of header first), then repost the buffer. */
static int consume(xensim_net *net, struct net_buf *b, uint32_t len, size_t skip,
		   struct rx_frame *f)
{
	if (len > net->rx_buf_len || len < skip)
		f->bad = true; /* "rx error: len %u exceeds truesize" / shorter than the header */
	if (!f->bad && f->len + (len - skip) > MAX_RX_FRAME)
		f->bad = true;
	if (!f->bad) {
		size_t n = len - skip;
		size_t room = f->cap > f->len ? f->cap - f->len : 0;

		memcpy(f->buf + f->len, (uint8_t *)b->mem.host + skip, n < room ? n : room);
		f->len += n;
	}
	net->stats.rx_reposted++;
	return post_rx(net, b);
}

/* receive_buf(): @first is the frame's first buffer. 0 delivered, -EBADMSG dropped, -errno. */
static int receive(xensim_net *net, struct net_buf *first, uint32_t len, struct xensim_net_hdr *hdr,
		   struct rx_frame *f)
{
	struct xensim_net_hdr h = { 0 };
	unsigned int nbuf = 1;
	void *tok;
	int rc, r;

	if (len >= HDR_LEN)
		get_hdr(first->mem.host, &h);
	if (net->mrg)
		nbuf = h.num_buffers;
	if (len < HDR_LEN)
		f->bad = true;
	rc = consume(net, first, len, HDR_LEN, f);
	if (rc == 0 && nbuf == 0) { /* "rxbuf: 0 buffers": nothing to reassemble */
		net->stats.rx_missing_buffers++;
		return -EBADMSG;
	}
	for (unsigned int i = 1; i < nbuf && rc == 0; i++) {
		/* The device publishes a frame's buffers together: a missing one is an error. */
		r = xensim_vq_get_buf(net->rx, &tok, &len);
		if (r == 0) {
			net->stats.rx_missing_buffers++;
			return -EBADMSG;
		}
		if (r < 0 && r != -EBUSY)
			return r;
		f->busy |= r == -EBUSY;
		rc = consume(net, tok, len, 0, f);
	}
	if (rc < 0)
		return rc;
	if (f->bad) {
		net->stats.rx_length_errors++;
		return -EBADMSG;
	}
	if (hdr)
		*hdr = h;
	return 0;
}

int xensim_net_recv(xensim_net *net, struct xensim_net_hdr *hdr, void *buf, size_t cap,
		    size_t *len_out, int timeout_ms)
{
	int64_t deadline = vtime_deadline(timeout_ms);
	struct rx_frame f;
	uint32_t len;
	void *tok;
	int rc;

	if (!net || (!buf && cap))
		return -EINVAL;
	for (;;) {
		f = (struct rx_frame){ .buf = buf, .cap = cap };
		rc = xensim_vq_get_buf(net->rx, &tok, &len);
		if (rc == 0) {
			rc = xensim_vq_wait(net->rx, vtime_left(deadline, timeout_ms));
			if (rc < 0)
				return rc;
			continue;
		}
		if (rc < 0 && rc != -EBUSY)
			return rc;
		f.busy = rc == -EBUSY;
		rc = receive(net, tok, len, hdr, &f);
		xensim_vq_kick(net->rx); /* reposted buffers */
		/* A device that keeps sending bad frames must not hold us past the deadline. */
		if (rc == -EBADMSG && vtime_left(deadline, timeout_ms) == 0)
			return -ETIMEDOUT;
		if (rc == -EBADMSG)
			continue;
		if (rc < 0)
			return rc;
		net->stats.rx_frames++;
		net->stats.rx_bytes += f.len;
		if (len_out)
			*len_out = f.len;
		return f.busy ? -EBUSY : 0;
	}
}
