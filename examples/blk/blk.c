/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk.c — a virtio-blk device (virtio 1.2 §5.2) backed by an image file or a
 * block device, on libvirtio-xen.
 *
 * The library pops each request on the device thread and calls blk_handle(). The request is
 * parsed (blk_req.c); what needs the disk goes to the I/O engine (blk_io.c, blk_io_uring.c);
 * the status is written and the request completed from wherever the I/O finished —
 * vxen_dev_complete() is thread-safe. Every request has a status byte: malformed ones are
 * answered IOERR/UNSUPP, and their writable bytes are zeroed rather than handed back stale.
 *
 * Features: SEG_MAX, SIZE_MAX, BLK_SIZE, FLUSH, MQ, and RO or (DISCARD, WRITE_ZEROES); the
 * library adds VERSION_1, ACCESS_PLATFORM, INDIRECT_DESC and EVENT_IDX. A read-only device has
 * its image opened O_RDONLY: nothing can write it. Without FLUSH negotiated the device is
 * write-through (RWF_DSYNC), so an acknowledged write is always as durable as the guest assumes.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <virtio-xen/dev.h>
#include <virtio-xen/iov.h>

#include "blk.h"
#include "blk_req.h"
#include "daemon.h"

#define BIT(n) (1ULL << (n))

#define BLK_QUEUE_SIZE 256
#define BLK_INFLIGHT   128		      /* requests in flight per queue */
#define BLK_SEG_MAX    56		      /* data segments per request ... */
#define BLK_SIZE_MAX   (64u * 1024)	      /* ... of at most 64 KiB: 3.5 MiB per request, */
#define BLK_MAX_SEGS   (BLK_SEG_MAX + 2)      /* within the library's 1024 grant pages */
#define BLK_DATA_IOV   (2 * BLK_MAX_SEGS + 8) /* data iovecs one request may need */
#define BLK_ZERO_MAX   (32u * 1024 * 1024 >> BLK_SECTOR_SHIFT) /* sectors per discard segment */
#define BLK_DRAIN_MS   10000

struct blk {
	vxen_dev *dev;
	struct blk_io *io;
	int fd;
	char *path;
	uint64_t size; /* bytes */
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];
	char name[64];	       /* the device's, kept for I/O finishing after vxen_dev_free() */
	struct blk_limits lim; /* features: set at FEATURES_OK (device thread) */
	uint64_t bad;	       /* malformed requests (device thread) */
	atomic_uint_fast64_t errors; /* failed I/O (any thread) */
};

/* Per-request context: req->priv, zeroed by the library at every pop. */
struct blk_req {
	struct blk *blk;
	struct vxen_req *req;
	struct blk_request p;
	struct blk_io_req io;
	struct iovec iov[BLK_DATA_IOV];
};

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */

static void push_zeros(struct vxen_iov_cursor *c, size_t n)
{
	static const char zeros[4096];

	while (n && vxen_iov_remaining(c)) {
		size_t k = vxen_iov_push(c, zeros, n < sizeof(zeros) ? n : sizeof(zeros));

		n -= k;
	}
}

/* Write the status, then give the request back; @br is invalid afterwards. Any thread. */
static void blk_complete(struct blk_req *br, uint8_t status)
{
	struct vxen_req *req = br->req;
	uint32_t in_len = br->p.in_len;
	struct vxen_iov_cursor c;

	if (!br->p.status_byte) {
		vxen_dev_complete(req, 0);
		return;
	}
	if (status != VIRTIO_BLK_S_OK && in_len > 1) {
		vxen_req_in_cursor(req, &c);
		push_zeros(&c, in_len - 1);
	}
	*br->p.status_byte = status;
	/* The status is the last writable byte: report everything up to it as written. */
	vxen_dev_complete(req, in_len);
}

static void blk_io_done(struct blk_io_req *io)
{
	struct blk_req *br = (struct blk_req *)((char *)io - offsetof(struct blk_req, io));
	struct blk *b = br->blk;

	if (io->result) {
		uint64_t n = atomic_fetch_add(&b->errors, 1) + 1;

		if (n <= 10 || n % 1000 == 0)
			vxd_log(LOG_ERR, "%s: %s: I/O error (%" PRIu64 " so far): %s", b->name,
				b->path, n, strerror(-io->result));
	}
	blk_complete(br, io->result ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void blk_get_id(struct blk *b, struct blk_req *br)
{
	struct vxen_iov_cursor c;

	/* NUL-padded, not necessarily NUL-terminated (§5.2.6: 20 bytes). */
	vxen_iov_cursor_init(&c, br->p.iov, br->p.iovcnt);
	vxen_iov_push(&c, b->serial, sizeof(b->serial));
	push_zeros(&c, vxen_iov_remaining(&c));
	blk_complete(br, VIRTIO_BLK_S_OK);
}

/* A guest-caused refusal: counted, logged rate-limited. */
static void blk_refused(struct blk *b, unsigned int q, const struct blk_request *p)
{
	if (++b->bad <= 10 || b->bad % 1000 == 0)
		vxd_log(LOG_WARNING,
			"%s: queue %u: request type %u answered %s (%" PRIu64 " so far)", b->name,
			q, p->type, p->status == VIRTIO_BLK_S_UNSUPP ? "UNSUPP" : "IOERR", b->bad);
}

static void blk_handle(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
{
	struct blk *b = payload;
	struct blk_req *br = req->priv;
	struct blk_request *p = &br->p;

	br->blk = b;
	br->req = req;
	blk_parse_request(req->iov, req->n_out, req->n_in, &b->lim, br->iov, BLK_DATA_IOV, p);
	switch (p->op) {
	case BLK_OP_ANSWER:
		if (p->status != VIRTIO_BLK_S_OK)
			blk_refused(b, q, p);
		blk_complete(br, p->status);
		return;
	case BLK_OP_GET_ID:
		blk_get_id(b, br);
		return;
	default:
		br->io = (struct blk_io_req){
			.op = p->op,
			.dsync = !(b->lim.features & BIT(VIRTIO_BLK_F_FLUSH)),
			.iov = p->iov,
			.iovcnt = p->iovcnt,
			.offset = p->offset,
			.len = p->len,
			.range = p->range,
			.nr_ranges = p->nr_ranges,
			.done = blk_io_done,
		};
		blk_io_submit(b->io, &br->io);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Device                                                                                      */

static int blk_features_ok(vxen_dev *dev, uint64_t features, void *payload)
{
	struct blk *b = payload;

	b->lim.features = features;
	return 0;
}

static void blk_reset(vxen_dev *dev, void *payload)
{
	struct blk *b = payload;

	/* Disk I/O cannot be cancelled: let it finish, so every request is completed. */
	if (blk_io_drain(b->io, BLK_DRAIN_MS))
		vxd_log(LOG_WARNING, "%s: %s: I/O still running after %u ms", b->name, b->path,
			BLK_DRAIN_MS);
	b->lim.features = 0;
}

static uint64_t blk_features(const struct blk *b)
{
	uint64_t f = BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) |
		     BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_MQ);

	if (b->read_only)
		return f | BIT(VIRTIO_BLK_F_RO);
	return f | BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
}

static void blk_config(const struct blk *b, unsigned int queues, struct virtio_blk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->lim.capacity);
	c->size_max = htole32(BLK_SIZE_MAX);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(1u << BLK_SECTOR_SHIFT);
	c->num_queues = htole16((uint16_t)queues);
	if (b->read_only)
		return;
	c->max_discard_sectors = htole32(BLK_ZERO_MAX);
	c->max_discard_seg = htole32(BLK_MAX_RANGES);
	/* Holes are punched in whole pages; smaller discards only zero. */
	c->discard_sector_alignment = htole32(4096 >> BLK_SECTOR_SHIFT);
	c->max_write_zeroes_sectors = htole32(BLK_ZERO_MAX);
	c->max_write_zeroes_seg = htole32(BLK_MAX_RANGES);
	c->write_zeroes_may_unmap = 1;
}

static int blk_dev_new(struct blk *b, const struct vxen_dev_config *cfg, unsigned int queues)
{
	struct vxen_dev_queue_config qc[BLK_MAX_QUEUES];
	struct vxen_dev_ops ops = {
		.version = VXEN_DEV_OPS_VERSION,
		.name = "blk",
		.device_id = VIRTIO_ID_BLOCK,
		.features = blk_features(b),
		.num_queues = queues,
		.queues = qc,
		.config_size = sizeof(struct virtio_blk_config),
		.handle_request = blk_handle,
		.features_ok = blk_features_ok,
		.reset = blk_reset,
	};
	struct virtio_blk_config c;
	int r;

	for (unsigned int i = 0; i < queues; i++)
		qc[i] = (struct vxen_dev_queue_config){ .size_max = BLK_QUEUE_SIZE,
							.max_inflight = BLK_INFLIGHT,
							.max_segs = BLK_MAX_SEGS,
							.priv_size = sizeof(struct blk_req) };
	r = vxen_dev_new(&b->dev, &ops, cfg, b);
	if (r)
		return r;
	snprintf(b->name, sizeof(b->name), "%s", vxen_dev_name(b->dev));
	blk_config(b, queues, &c);
	return vxen_dev_config_set(b->dev, 0, &c, sizeof(c));
}

/* ------------------------------------------------------------------------------------------ */
/* Image                                                                                       */

static int image_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	return -EINVAL;
}

static int blk_open(struct blk *b, const char *path)
{
	int r;

	b->path = strdup(path);
	if (!b->path)
		return -ENOMEM;
	b->fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	r = b->fd < 0 ? -errno : image_size(b->fd, &b->size);
	/* Two writers of one image corrupt it: refuse to share it with another writer. */
	if (!r && flock(b->fd, (b->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB))
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (r) {
		vxd_log(LOG_ERR, "blk: %s: %s", path,
			r == -EINVAL  ? "not a regular file or block device"
			: r == -EBUSY ? "in use by another device"
				      : strerror(-r));
		return r;
	}
	if (b->size % 512)
		vxd_log(LOG_WARNING, "blk: %s: last %u bytes are not a whole sector: not visible",
			path, (unsigned int)(b->size % 512));
	b->lim.capacity = b->size >> BLK_SECTOR_SHIFT;
	return 0;
}

static void blk_set_serial(struct blk *b, const char *serial)
{
	const char *base = strrchr(b->path, '/');
	size_t n;

	if (!serial)
		serial = base ? base + 1 : b->path;
	n = strlen(serial);
	/* NUL-padded, and not NUL-terminated when 20 bytes long. */
	memset(b->serial, 0, sizeof(b->serial));
	memcpy(b->serial, serial, n < sizeof(b->serial) ? n : sizeof(b->serial));
}

static void blk_describe(const struct blk *b, unsigned int queues, char *desc, size_t n)
{
	static const char units[][4] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b->size;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(desc, n, "%s %.*f %s %s, %u queue%s, %s I/O", b->path, v == (uint64_t)v ? 0 : 1, v,
		 units[u], b->read_only ? "ro" : "rw", queues, queues > 1 ? "s" : "",
		 blk_io_kind(b->io) == BLK_IO_URING ? "io_uring" : "threaded");
}

static void blk_free(struct blk *b)
{
	vxen_dev_free(b->dev); /* resets the device: blk_reset() waits for its I/O */
	blk_io_free(b->io);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b);
}

int blk_create(vxen_loop *loop, const struct vxen_xs_device *info,
	       const struct vxen_dev_config *cfg, vxen_dev **out, char *desc, size_t desc_size,
	       void *payload)
{
	const struct blk_opts *o = payload;
	struct blk_io_params iop = { .kind = o->io,
				     .threads = o->threads,
				     .depth = o->queues * BLK_INFLIGHT,
				     .loop = loop };
	struct blk *b;
	int r;

	if (!info->params || !info->params[0]) {
		vxd_log(LOG_ERR, "blk: d%u dev %u: no image (params)", info->frontend_domid,
			info->devid);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->read_only = o->read_only || !info->writable;
	b->lim.read_only = b->read_only;
	b->lim.max_discard_sectors = b->lim.max_write_zeroes_sectors = BLK_ZERO_MAX;
	b->lim.max_ranges = BLK_MAX_RANGES;
	r = blk_open(b, info->params);
	iop.fd = b->fd;
	if (!r) {
		blk_set_serial(b, o->serial);
		r = blk_io_new(&b->io, &iop);
	}
	if (!r)
		r = blk_dev_new(b, cfg, o->queues);
	if (r) {
		blk_free(b);
		return r;
	}
	blk_describe(b, o->queues, desc, desc_size);
	*out = b->dev;
	return 0;
}

void blk_destroy(vxen_dev *dev, void *payload)
{
	blk_free(vxen_dev_payload(dev));
}
