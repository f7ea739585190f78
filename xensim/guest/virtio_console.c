// SPDX-License-Identifier: MIT
/*
 * virtio_console.c — port 0 of a virtio-console without MULTIPORT, in the shape of Linux's
 * drivers/char/virtio_console.c as used by hvc: receiveq0 with page-sized input buffers,
 * transmitq0 written synchronously (put_chars), optional size and emergency write in config.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_console.h>

#include "virtio_internal.h"

#define RXQ	     0u
#define TXQ	     1u
#define RX_BUF_LEN   4096u
#define TX_CHUNK_MAX 4096u

struct con_buf {
	struct xensim_gbuf mem;
};

struct xensim_console {
	xensim_vdev *vd;
	xensim_guest *g;
	xensim_vq *rx, *tx;
	unsigned int rx_buf_len;
	struct con_buf *cur; /* received buffer being read */
	uint32_t cur_len, cur_off;
};

static void buf_free(xensim_guest *g, struct con_buf *b)
{
	if (!b)
		return;
	xensim_gbuf_free(g, &b->mem);
	free(b);
}

static int post_rx(xensim_console *con, struct con_buf *b)
{
	struct xensim_sg sg = { b->mem.gpa, con->rx_buf_len };
	int rc = xensim_vq_add(con->rx, NULL, 0, &sg, 1, b);

	if (rc < 0)
		buf_free(con->g, b);
	return rc;
}

/* fill_queue(): post @n page-sized input buffers, then kick. */
static int fill_rx(xensim_console *con, unsigned int n)
{
	struct con_buf *b;
	int rc = 0;

	for (unsigned int i = 0; i < n && rc == 0; i++) {
		b = calloc(1, sizeof(*b));
		rc = b ? xensim_gbuf_alloc(con->g, con->rx_buf_len, &b->mem) : -ENOMEM;
		if (rc < 0)
			free(b);
		else
			rc = post_rx(con, b);
	}
	if (rc == 0)
		rc = xensim_vq_kick(con->rx);
	return rc < 0 ? rc : 0;
}

static int setup(xensim_console *con, const struct xensim_console_opts *o)
{
	unsigned int sizes[2] = { o->queue_size, o->queue_size };
	uint64_t f = o->features & ~XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_CONSOLE_F_MULTIPORT);
	unsigned int target;
	int rc;

	if (xensim_vdev_device_id(con->vd) != XENSIM_VIRTIO_ID_CONSOLE)
		return -ENODEV;
	con->rx_buf_len = o->rx_buf_len ? o->rx_buf_len : RX_BUF_LEN;
	rc = xensim_vdev_negotiate(con->vd, f, NULL);
	if (rc == 0)
		rc = xensim_vdev_setup_queues(con->vd, 2, sizes);
	if (rc < 0)
		return rc;
	con->rx = xensim_vdev_vq(con->vd, RXQ);
	con->tx = xensim_vdev_vq(con->vd, TXQ);
	rc = xensim_vdev_ready(con->vd);
	target = xensim_vq_num(con->rx);
	if (o->rx_bufs && o->rx_bufs < target)
		target = o->rx_bufs;
	return rc < 0 ? rc : fill_rx(con, target);
}

static int teardown(xensim_console *con)
{
	void *tok;
	int rc = 0, r;

	xensim_vdev_reset(con->vd);
	for (unsigned int i = 0; i < xensim_vdev_nr_vqs(con->vd); i++)
		while ((r = xensim_vq_detach_unused(xensim_vdev_vq(con->vd, i), &tok)) != 0) {
			rc = r == -EBUSY ? -EBUSY : rc;
			buf_free(con->g, tok);
		}
	buf_free(con->g, con->cur);
	r = xensim_vdev_free(con->vd);
	return rc < 0 ? rc : r;
}

int xensim_console_new(xensim_console **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		       uint32_t irq, const struct xensim_console_opts *opts)
{
	struct xensim_console_opts defaults = XENSIM_CONSOLE_OPTS_INIT;
	xensim_console *con;
	int rc;

	if (!out || !g || (opts && opts->version != XENSIM_CONSOLE_OPTS_VERSION))
		return -EINVAL;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->g = g;
	rc = xensim_vdev_probe(&con->vd, g, backend_domid, base, irq);
	if (rc == 0)
		rc = setup(con, opts ? opts : &defaults);
	if (rc < 0) {
		if (con->vd)
			teardown(con);
		free(con);
		return rc;
	}
	*out = con;
	return 0;
}

int xensim_console_free(xensim_console *con)
{
	int rc;

	if (!con)
		return 0;
	rc = teardown(con);
	free(con);
	return rc;
}

xensim_vdev *xensim_console_vdev(xensim_console *con)
{
	return con->vd;
}

/* ------------------------------------------------------------------------------------------ */
/* Output                                                                                      */

/* Send one chunk and wait until the device used it (put_chars / __send_to_port). */
static int send_chunk(xensim_console *con, const uint8_t *p, size_t n, int64_t deadline,
		      int timeout_ms)
{
	struct con_buf *b = calloc(1, sizeof(*b));
	struct xensim_sg sg;
	void *tok;
	int busy = 0, rc = b ? xensim_gbuf_alloc(con->g, n, &b->mem) : -ENOMEM;

	if (rc < 0) {
		free(b);
		return rc;
	}
	memcpy(b->mem.host, p, n);
	sg = (struct xensim_sg){ b->mem.gpa, (uint32_t)n };
	rc = xensim_vq_add(con->tx, &sg, 1, NULL, 0, b);
	if (rc < 0) {
		buf_free(con->g, b);
		return rc;
	}
	rc = xensim_vq_kick(con->tx);
	/* On timeout the chunk stays queued and is freed when it comes back or at teardown. */
	while (rc >= 0) {
		rc = xensim_vq_get_buf(con->tx, &tok, NULL);
		if (rc == 0) {
			rc = xensim_vq_wait(con->tx, vtime_left(deadline, timeout_ms));
			continue;
		}
		if (rc < 0 && rc != -EBUSY)
			break;
		busy |= rc == -EBUSY;
		rc = tok == b ? 1 : 0;
		buf_free(con->g, tok); /* ours, or an earlier chunk that timed out */
		if (rc == 1)
			return busy ? -EBUSY : 0;
	}
	return rc;
}

int xensim_console_write(xensim_console *con, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = vtime_deadline(timeout_ms);
	const uint8_t *p = buf;
	int busy = 0, rc = 0;

	if (!con || (!buf && len))
		return -EINVAL;
	for (size_t off = 0; off < len && rc >= 0; off += TX_CHUNK_MAX) {
		size_t n = len - off < TX_CHUNK_MAX ? len - off : TX_CHUNK_MAX;

		rc = send_chunk(con, p + off, n, deadline, timeout_ms);
		busy |= rc == -EBUSY;
		rc = rc == -EBUSY ? 0 : rc;
	}
	return rc < 0 ? rc : busy ? -EBUSY : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Input                                                                                       */

/* Copy from the current buffer; repost it once it is fully read. Returns bytes copied. */
static size_t drain_cur(xensim_console *con, uint8_t *dst, size_t room)
{
	size_t n = con->cur_len - con->cur_off;

	n = n < room ? n : room;
	memcpy(dst, (uint8_t *)con->cur->mem.host + con->cur_off, n);
	con->cur_off += (uint32_t)n;
	if (con->cur_off == con->cur_len) {
		post_rx(con, con->cur);
		xensim_vq_kick(con->rx);
		con->cur = NULL;
	}
	return n;
}

long xensim_console_read(xensim_console *con, void *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = vtime_deadline(timeout_ms);
	size_t copied = 0;
	uint32_t len;
	void *tok;
	int rc;

	if (!con || !buf || cap == 0)
		return -EINVAL;
	for (unsigned int round = 0;; round++) {
		if (con->cur)
			copied += drain_cur(con, (uint8_t *)buf + copied, cap - copied);
		if (copied == cap)
			return (long)copied;
		/* Empty buffers streamed by the device must not hold us past the deadline. */
		if (!copied && round && vtime_left(deadline, timeout_ms) == 0)
			return -ETIMEDOUT;
		rc = xensim_vq_get_buf(con->rx, &tok, &len);
		if (rc == 1 || rc == -EBUSY) {
			con->cur = tok;
			/* Never trust the device's length beyond the buffer it was given. */
			con->cur_len = len < con->rx_buf_len ? len : con->rx_buf_len;
			con->cur_off = 0;
			continue;
		}
		if (rc < 0)
			return rc;
		if (copied)
			return (long)copied;
		rc = xensim_vq_wait(con->rx, vtime_left(deadline, timeout_ms));
		if (rc < 0)
			return rc;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Config                                                                                      */

int xensim_console_size(xensim_console *con, uint16_t *cols, uint16_t *rows)
{
	uint16_t c, r;
	int rc;

	if (!con || !cols || !rows)
		return -EINVAL;
	if (!xensim_vdev_has_feature(con->vd, XENSIM_VIRTIO_CONSOLE_F_SIZE))
		return -EOPNOTSUPP;
	rc = xensim_vdev_config_read(con->vd, offsetof(struct virtio_console_config, cols), &c, 2);
	if (rc == 0)
		rc = xensim_vdev_config_read(con->vd, offsetof(struct virtio_console_config, rows),
					     &r, 2);
	if (rc == 0) {
		*cols = le16toh(c);
		*rows = le16toh(r);
	}
	return rc;
}

int xensim_console_emerg_write(xensim_console *con, uint32_t ch)
{
	uint32_t v = htole32(ch);

	if (!con)
		return -EINVAL;
	if (!xensim_vdev_has_feature(con->vd, XENSIM_VIRTIO_CONSOLE_F_EMERG_WRITE))
		return -EOPNOTSUPP;
	return xensim_vdev_config_write(con->vd, offsetof(struct virtio_console_config, emerg_wr),
					&v, 4);
}
