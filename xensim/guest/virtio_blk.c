// SPDX-License-Identifier: MIT
/*
 * virtio_blk.c — a minimal virtio-blk driver in the shape of Linux's drivers/block/virtio_blk.c:
 * config read at probe, one request = header (out), data segments, status byte (in), each its own
 * descriptor; several request queues with MQ; async submit/complete plus synchronous helpers.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "virtio_internal.h"

#define SLOT_BYTES  32u /* struct virtio_blk_outhdr (16) + status byte, per slot */
#define STATUS_OFF  16u
#define STATUS_NONE 0xffu /* preset: "the device wrote no status" */

struct sync_req;

struct blk_slot {
	struct xensim_blk_req *req;
	struct sync_req *sync;	   /* owned by a synchronous helper */
	bool orphan;		   /* its helper timed out: free it on completion */
	struct xensim_gbuf ranges; /* discard / write-zeroes segments */
};

struct blk_queue {
	xensim_vq *vq;
	struct xensim_gbuf slot_mem;
	struct blk_slot *slots;
	unsigned int *free_slots, nfree, nslots;
	unsigned int orphans;
};

struct xensim_blk {
	xensim_vdev *vd;
	xensim_guest *g;
	struct xensim_blk_config cfg;
	unsigned int nq;
	struct blk_queue *q;
};

/* A synchronous helper's request with its bounce buffer. */
struct sync_req {
	struct xensim_blk_req req;
	struct xensim_gbuf data;
	struct xensim_blk_range range;
	struct xensim_sg sg[];
};

static bool has(const xensim_blk *blk, unsigned int bit)
{
	return xensim_vdev_has_feature(blk->vd, bit);
}

/* ------------------------------------------------------------------------------------------ */
/* Probe                                                                                       */

#define CFG(field) offsetof(struct virtio_blk_config, field)

static int cread(xensim_blk *blk, uint32_t off, void *p, size_t len)
{
	return xensim_vdev_config_read(blk->vd, off, p, len);
}

/* Read the fields guarded by negotiated features (virtblk_probe / virtblk_update_capacity). */
static int read_config(xensim_blk *blk)
{
	struct xensim_blk_config *c = &blk->cfg;
	int rc = cread(blk, CFG(capacity), &c->capacity, 8);

	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_SIZE_MAX))
		rc = cread(blk, CFG(size_max), &c->size_max, 4);
	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_SEG_MAX))
		rc = cread(blk, CFG(seg_max), &c->seg_max, 4);
	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_GEOMETRY)) {
		rc = cread(blk, CFG(geometry.cylinders), &c->cylinders, 2);
		if (rc == 0)
			rc = cread(blk, CFG(geometry.heads), &c->heads, 1);
		if (rc == 0)
			rc = cread(blk, CFG(geometry.sectors), &c->sectors, 1);
	}
	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_BLK_SIZE))
		rc = cread(blk, CFG(blk_size), &c->blk_size, 4);
	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_TOPOLOGY)) {
		rc = cread(blk, CFG(physical_block_exp), &c->physical_block_exp, 1);
		if (rc == 0)
			rc = cread(blk, CFG(alignment_offset), &c->alignment_offset, 1);
		if (rc == 0)
			rc = cread(blk, CFG(min_io_size), &c->min_io_size, 2);
		if (rc == 0)
			rc = cread(blk, CFG(opt_io_size), &c->opt_io_size, 4);
	}
	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_DISCARD)) {
		rc = cread(blk, CFG(max_discard_sectors), &c->max_discard_sectors, 4);
		if (rc == 0)
			rc = cread(blk, CFG(max_discard_seg), &c->max_discard_seg, 4);
		if (rc == 0)
			rc = cread(blk, CFG(discard_sector_alignment), &c->discard_sector_alignment,
				   4);
	}
	if (rc == 0 && has(blk, XENSIM_VIRTIO_BLK_F_WRITE_ZEROES)) {
		rc = cread(blk, CFG(max_write_zeroes_sectors), &c->max_write_zeroes_sectors, 4);
		if (rc == 0)
			rc = cread(blk, CFG(max_write_zeroes_seg), &c->max_write_zeroes_seg, 4);
		if (rc == 0)
			rc = cread(blk, CFG(write_zeroes_may_unmap), &c->write_zeroes_may_unmap, 1);
	}
	c->read_only = has(blk, XENSIM_VIRTIO_BLK_F_RO);
	return rc;
}

/* init_vq(): how many request queues. */
static int count_queues(xensim_blk *blk, unsigned int wanted, unsigned int *nq)
{
	uint16_t n = 1;

	if (has(blk, XENSIM_VIRTIO_BLK_F_MQ)) {
		int rc = cread(blk, CFG(num_queues), &n, 2);

		if (rc < 0)
			return rc;
		if (n == 0)
			return -EINVAL; /* "MQ advertised but zero queues reported" */
	}
	blk->cfg.num_queues = n;
	wanted = wanted ? wanted : n; /* Linux: min(num_queues, nr_cpu_ids) */
	*nq = wanted < n ? wanted : n;
	if (*nq > VIRTIO_MAX_QUEUES)
		*nq = VIRTIO_MAX_QUEUES;
	return 0;
}

static int init_queue(xensim_blk *blk, unsigned int i)
{
	struct blk_queue *bq = &blk->q[i];
	int rc;

	bq->vq = xensim_vdev_vq(blk->vd, i);
	bq->nslots = xensim_vq_num(bq->vq);
	bq->slots = calloc(bq->nslots, sizeof(*bq->slots));
	bq->free_slots = calloc(bq->nslots, sizeof(*bq->free_slots));
	if (!bq->slots || !bq->free_slots)
		return -ENOMEM;
	rc = xensim_gbuf_alloc(blk->g, (size_t)bq->nslots * SLOT_BYTES, &bq->slot_mem);
	if (rc < 0)
		return rc;
	for (unsigned int s = 0; s < bq->nslots; s++)
		bq->free_slots[s] = bq->nslots - 1 - s;
	bq->nfree = bq->nslots;
	return 0;
}

static int setup(xensim_blk *blk, const struct xensim_blk_opts *o)
{
	unsigned int sizes[VIRTIO_MAX_QUEUES];
	unsigned int nq;
	int rc;

	if (xensim_vdev_device_id(blk->vd) != XENSIM_VIRTIO_ID_BLOCK)
		return -ENODEV;
	rc = xensim_vdev_negotiate(blk->vd, o->features, NULL);
	if (rc == 0)
		rc = count_queues(blk, o->nr_queues, &nq);
	for (unsigned int i = 0; rc == 0 && i < nq; i++)
		sizes[i] = o->queue_size;
	if (rc == 0)
		rc = xensim_vdev_setup_queues(blk->vd, nq, sizes);
	if (rc == 0)
		rc = read_config(blk);
	if (rc == 0) {
		blk->q = calloc(nq, sizeof(*blk->q));
		rc = blk->q ? 0 : -ENOMEM;
		blk->nq = blk->q ? nq : 0;
	}
	for (unsigned int i = 0; rc == 0 && i < nq; i++)
		rc = init_queue(blk, i);
	if (rc == 0)
		rc = xensim_vdev_ready(blk->vd);
	return rc;
}

static void free_sync(xensim_blk *blk, struct sync_req *s)
{
	xensim_gbuf_free(blk->g, &s->data);
	free(s);
}

/* Free the driver state of every queue; the vdev (and its rings) is freed separately. */
static void free_queues(xensim_blk *blk)
{
	for (unsigned int i = 0; i < blk->nq; i++) {
		struct blk_queue *bq = &blk->q[i];

		for (unsigned int s = 0; bq->slots && s < bq->nslots; s++) {
			xensim_gbuf_free(blk->g, &bq->slots[s].ranges);
			if (bq->slots[s].orphan)
				free_sync(blk, bq->slots[s].sync);
		}
		xensim_gbuf_free(blk->g, &bq->slot_mem);
		free(bq->slots);
		free(bq->free_slots);
	}
	free(blk->q);
}

int xensim_blk_new(xensim_blk **out, xensim_guest *g, uint32_t backend_domid, uint64_t base,
		   uint32_t irq, const struct xensim_blk_opts *opts)
{
	struct xensim_blk_opts defaults = XENSIM_BLK_OPTS_INIT;
	xensim_blk *blk;
	int rc;

	if (!out || !g || (opts && opts->version != XENSIM_BLK_OPTS_VERSION))
		return -EINVAL;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	blk->g = g;
	rc = xensim_vdev_probe(&blk->vd, g, backend_domid, base, irq);
	if (rc == 0)
		rc = setup(blk, opts ? opts : &defaults);
	if (rc < 0) {
		xensim_vdev_free(blk->vd);
		free_queues(blk);
		free(blk);
		return rc;
	}
	*out = blk;
	return 0;
}

int xensim_blk_free(xensim_blk *blk)
{
	int rc;

	if (!blk)
		return 0;
	/* Resetting and unmapping (vdev_free) before the slot memory goes back to the guest. */
	rc = xensim_vdev_free(blk->vd);
	free_queues(blk);
	free(blk);
	return rc;
}

const struct xensim_blk_config *xensim_blk_config(const xensim_blk *blk)
{
	return &blk->cfg;
}

unsigned int xensim_blk_nr_queues(const xensim_blk *blk)
{
	return blk->nq;
}

xensim_vdev *xensim_blk_vdev(xensim_blk *blk)
{
	return blk->vd;
}

unsigned int xensim_blk_inflight(const xensim_blk *blk, unsigned int q)
{
	const struct blk_queue *bq;

	if (!blk || q >= blk->nq)
		return 0;
	bq = &blk->q[q];
	return bq->nslots - bq->nfree - bq->orphans;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */

static bool is_write(uint32_t type)
{
	return type == XENSIM_VIRTIO_BLK_T_OUT || type == XENSIM_VIRTIO_BLK_T_DISCARD ||
	       type == XENSIM_VIRTIO_BLK_T_WRITE_ZEROES;
}

static bool data_in(uint32_t type)
{
	return type == XENSIM_VIRTIO_BLK_T_IN || type == XENSIM_VIRTIO_BLK_T_GET_ID;
}

static unsigned int seg_limit(const xensim_blk *blk)
{
	/* virtblk_probe: "We need at least one SG element, whatever they say." */
	return blk->cfg.seg_max ? blk->cfg.seg_max : 1;
}

static int check_ranges(const xensim_blk *blk, const struct xensim_blk_req *r)
{
	bool discard = r->type == XENSIM_VIRTIO_BLK_T_DISCARD;
	uint32_t max = discard ? blk->cfg.max_discard_seg : blk->cfg.max_write_zeroes_seg;

	if (!has(blk, discard ? XENSIM_VIRTIO_BLK_F_DISCARD : XENSIM_VIRTIO_BLK_F_WRITE_ZEROES))
		return -EOPNOTSUPP;
	if (!r->ranges || r->nranges == 0 || r->nranges > (max ? max : 1) || r->nsg)
		return -EINVAL;
	return 0;
}

static int check_req(const xensim_blk *blk, const struct xensim_blk_req *r)
{
	if (blk->cfg.read_only && is_write(r->type))
		return -EROFS;
	switch (r->type) {
	case XENSIM_VIRTIO_BLK_T_FLUSH:
		if (!has(blk, XENSIM_VIRTIO_BLK_F_FLUSH))
			return -EOPNOTSUPP;
		return r->nsg ? -EINVAL : 0;
	case XENSIM_VIRTIO_BLK_T_DISCARD:
	case XENSIM_VIRTIO_BLK_T_WRITE_ZEROES:
		return check_ranges(blk, r);
	case XENSIM_VIRTIO_BLK_T_IN:
	case XENSIM_VIRTIO_BLK_T_OUT:
	case XENSIM_VIRTIO_BLK_T_GET_ID:
		if (r->nsg == 0)
			return -EINVAL;
		break;
	default: /* other types pass through (device answers UNSUPP); data is device-readable */
		break;
	}
	if ((r->nsg && !r->sg) || r->nsg > seg_limit(blk))
		return -EINVAL;
	return 0;
}

static uint8_t *slot_ptr(struct blk_queue *bq, unsigned int s)
{
	return (uint8_t *)bq->slot_mem.host + (size_t)s * SLOT_BYTES;
}

static int fill_ranges(xensim_blk *blk, struct blk_slot *sl, const struct xensim_blk_req *r)
{
	struct virtio_blk_discard_write_zeroes *seg;
	int rc = xensim_gbuf_alloc(blk->g, r->nranges * sizeof(*seg), &sl->ranges);

	if (rc < 0)
		return rc;
	seg = sl->ranges.host;
	for (unsigned int i = 0; i < r->nranges; i++) {
		seg[i].sector = htole64(r->ranges[i].sector);
		seg[i].num_sectors = htole32(r->ranges[i].num_sectors);
		seg[i].flags = htole32(r->ranges[i].flags);
	}
	return 0;
}

/* Header, status preset, and the out/in lists in the order virtio_queue_rq() builds them. */
static int build(xensim_blk *blk, struct blk_queue *bq, unsigned int s,
		 const struct xensim_blk_req *r, struct xensim_sg *sg, unsigned int *nout)
{
	struct virtio_blk_outhdr *hdr = (void *)slot_ptr(bq, s);
	uint64_t hdr_gpa = bq->slot_mem.gpa + (uint64_t)s * SLOT_BYTES;
	unsigned int n = 0;
	int rc;

	hdr->type = htole32(r->type);
	hdr->ioprio = 0;
	hdr->sector = htole64(r->sector);
	slot_ptr(bq, s)[STATUS_OFF] = STATUS_NONE;
	sg[n++] = (struct xensim_sg){ hdr_gpa, sizeof(*hdr) };
	if (r->nranges) {
		rc = fill_ranges(blk, &bq->slots[s], r);
		if (rc < 0)
			return rc;
		sg[n++] = (struct xensim_sg){ bq->slots[s].ranges.gpa,
					      (uint32_t)bq->slots[s].ranges.len };
	}
	if (!data_in(r->type))
		for (unsigned int i = 0; i < r->nsg; i++)
			sg[n++] = r->sg[i];
	*nout = n;
	if (data_in(r->type))
		for (unsigned int i = 0; i < r->nsg; i++)
			sg[n++] = r->sg[i];
	sg[n++] = (struct xensim_sg){ hdr_gpa + STATUS_OFF, 1 };
	return (int)n;
}

static void put_slot(xensim_blk *blk, struct blk_queue *bq, unsigned int s)
{
	struct blk_slot *sl = &bq->slots[s];

	xensim_gbuf_free(blk->g, &sl->ranges);
	if (sl->orphan)
		bq->orphans--;
	*sl = (struct blk_slot){ 0 };
	bq->free_slots[bq->nfree++] = s;
}

static int submit(xensim_blk *blk, unsigned int q, struct xensim_blk_req *req,
		  struct sync_req *owner)
{
	struct blk_queue *bq;
	struct xensim_sg *sg;
	unsigned int s, nout;
	int n, rc;

	if (!blk || !req || q >= blk->nq)
		return -EINVAL;
	rc = check_req(blk, req);
	if (rc < 0)
		return rc;
	bq = &blk->q[q];
	if (!bq->nfree)
		return -ENOSPC;
	sg = calloc(req->nsg + 3, sizeof(*sg));
	if (!sg)
		return -ENOMEM;
	s = bq->free_slots[--bq->nfree];
	bq->slots[s] = (struct blk_slot){ .req = req, .sync = owner };
	req->slot_ = s;
	n = build(blk, bq, s, req, sg, &nout);
	rc = n < 0 ? n
		   : xensim_vq_add(bq->vq, sg, nout, sg + nout, (unsigned int)n - nout,
				   &bq->slots[s]);
	free(sg);
	if (rc < 0)
		put_slot(blk, bq, s);
	return rc;
}

int xensim_blk_submit(xensim_blk *blk, unsigned int q, struct xensim_blk_req *req, bool kick)
{
	int rc = submit(blk, q, req, NULL);

	if (rc == 0 && kick) {
		rc = xensim_vq_kick(blk->q[q].vq);
		rc = rc < 0 ? rc : 0;
	}
	return rc;
}

int xensim_blk_kick(xensim_blk *blk, unsigned int q)
{
	if (!blk || q >= blk->nq)
		return -EINVAL;
	return xensim_vq_kick(blk->q[q].vq);
}

/* Take one used entry off queue @bq: 1 with a request, 0 none, -errno. */
static int reap(xensim_blk *blk, struct blk_queue *bq, struct xensim_blk_req **req_out)
{
	struct blk_slot *sl;
	struct xensim_blk_req *req;
	void *token;
	uint32_t len;
	int rc;

	for (;;) {
		rc = xensim_vq_get_buf(bq->vq, &token, &len);
		if (rc == 0 || (rc < 0 && rc != -EBUSY))
			return rc;
		sl = token;
		req = sl->req;
		req->status = slot_ptr(bq, req->slot_)[STATUS_OFF];
		req->used_len = len;
		req->error = rc < 0 ? rc : 0;
		if (sl->orphan) { /* nobody waits for it any more */
			struct sync_req *s = sl->sync;

			put_slot(blk, bq, req->slot_);
			free_sync(blk, s);
			continue;
		}
		put_slot(blk, bq, req->slot_);
		*req_out = req;
		return 1;
	}
}

int xensim_blk_complete(xensim_blk *blk, unsigned int q, int timeout_ms,
			struct xensim_blk_req **req_out)
{
	int64_t deadline = vtime_deadline(timeout_ms);
	int rc;

	if (!blk || !req_out || q >= blk->nq)
		return -EINVAL;
	for (;;) {
		rc = reap(blk, &blk->q[q], req_out);
		if (rc != 0)
			return rc;
		if (timeout_ms == 0)
			return 0;
		rc = xensim_vq_wait(blk->q[q].vq, vtime_left(deadline, timeout_ms));
		if (rc < 0)
			return rc;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Synchronous helpers                                                                         */

static int status_errno(const struct xensim_blk_req *r)
{
	if (r->error)
		return r->error;
	switch (r->status) {
	case XENSIM_VIRTIO_BLK_S_OK:
		return 0; /* used_len may under-report (virtio 1.2 §2.7.8.2): not checked */
	case XENSIM_VIRTIO_BLK_S_IOERR:
		return -EIO;
	case XENSIM_VIRTIO_BLK_S_UNSUPP:
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}

/*
 * Submit @s and wait for it. If it is still queued when this gives up (timeout, kick or wait
 * error), it becomes an orphan owned by the driver (freed when it completes or at free) and
 * *kept is set: the caller must not touch @s any more.
 */
static int run_sync(xensim_blk *blk, unsigned int q, struct sync_req *s, int timeout_ms, bool *kept)
{
	struct blk_queue *bq;
	struct xensim_blk_req *done;
	int rc;

	*kept = false;
	if (!blk || q >= blk->nq)
		return -EINVAL;
	if (xensim_blk_inflight(blk, q))
		return -EINPROGRESS; /* its completion would be taken for someone else's */
	rc = submit(blk, q, &s->req, s);
	if (rc < 0)
		return rc;
	bq = &blk->q[q];
	rc = xensim_vq_kick(bq->vq);
	if (rc >= 0)
		rc = xensim_blk_complete(blk, q, timeout_ms, &done);
	if (rc == 1)
		return status_errno(&s->req);
	if (bq->slots[s->req.slot_].sync == s) {
		bq->slots[s->req.slot_].orphan = true;
		bq->orphans++;
		*kept = true;
	}
	return rc;
}

static struct sync_req *new_sync(xensim_blk *blk, uint32_t type, size_t len, int *err)
{
	struct sync_req *s;
	size_t chunk = len;
	unsigned int nseg = 0;

	if (len && has(blk, XENSIM_VIRTIO_BLK_F_SIZE_MAX) && blk->cfg.size_max)
		chunk = blk->cfg.size_max;
	if (len)
		nseg = (unsigned int)((len + chunk - 1) / chunk);
	s = calloc(1, sizeof(*s) + nseg * sizeof(s->sg[0]));
	*err = s ? 0 : -ENOMEM;
	if (s && len)
		*err = xensim_gbuf_alloc(blk->g, len, &s->data);
	if (*err < 0) {
		free(s);
		return NULL;
	}
	for (unsigned int i = 0; i < nseg; i++) {
		size_t off = (size_t)i * chunk;
		size_t n = len - off < chunk ? len - off : chunk;

		s->sg[i] = (struct xensim_sg){ s->data.gpa + off, (uint32_t)n };
	}
	s->req = (struct xensim_blk_req){ .type = type, .sg = s->sg, .nsg = nseg };
	return s;
}

static int rw(xensim_blk *blk, unsigned int q, uint32_t type, uint64_t sector, void *buf,
	      size_t len, int timeout_ms)
{
	struct sync_req *s;
	bool kept;
	int rc;

	if (!blk || !buf || len == 0 || len % 512 || len > UINT32_MAX)
		return -EINVAL;
	s = new_sync(blk, type, len, &rc);
	if (!s)
		return rc;
	s->req.sector = sector;
	if (type == XENSIM_VIRTIO_BLK_T_OUT)
		memcpy(s->data.host, buf, len);
	rc = run_sync(blk, q, s, timeout_ms, &kept);
	if (kept)
		return rc;
	if (rc == 0 && type == XENSIM_VIRTIO_BLK_T_IN)
		memcpy(buf, s->data.host, len);
	free_sync(blk, s);
	return rc;
}

int xensim_blk_read(xensim_blk *blk, unsigned int q, uint64_t sector, void *buf, size_t len,
		    int timeout_ms)
{
	return rw(blk, q, XENSIM_VIRTIO_BLK_T_IN, sector, buf, len, timeout_ms);
}

int xensim_blk_write(xensim_blk *blk, unsigned int q, uint64_t sector, const void *buf, size_t len,
		     int timeout_ms)
{
	return rw(blk, q, XENSIM_VIRTIO_BLK_T_OUT, sector, (void *)buf, len, timeout_ms);
}

/* A request without caller data (flush, discard, write-zeroes). */
static int simple(xensim_blk *blk, unsigned int q, uint32_t type,
		  const struct xensim_blk_range *range, int timeout_ms)
{
	struct sync_req *s;
	bool kept;
	int rc;

	if (!blk)
		return -EINVAL;
	s = new_sync(blk, type, 0, &rc);
	if (!s)
		return rc;
	if (range) {
		s->range = *range;
		s->req.ranges = &s->range;
		s->req.nranges = 1;
	}
	rc = run_sync(blk, q, s, timeout_ms, &kept);
	if (!kept)
		free_sync(blk, s);
	return rc;
}

int xensim_blk_flush(xensim_blk *blk, unsigned int q, int timeout_ms)
{
	return simple(blk, q, XENSIM_VIRTIO_BLK_T_FLUSH, NULL, timeout_ms);
}

int xensim_blk_discard(xensim_blk *blk, unsigned int q, uint64_t sector, uint32_t num_sectors,
		       int timeout_ms)
{
	struct xensim_blk_range r = { .sector = sector, .num_sectors = num_sectors };

	return simple(blk, q, XENSIM_VIRTIO_BLK_T_DISCARD, &r, timeout_ms);
}

int xensim_blk_write_zeroes(xensim_blk *blk, unsigned int q, uint64_t sector, uint32_t num_sectors,
			    bool unmap, int timeout_ms)
{
	struct xensim_blk_range r = { .sector = sector,
				      .num_sectors = num_sectors,
				      .flags = unmap ? XENSIM_VIRTIO_BLK_WZ_F_UNMAP : 0 };

	return simple(blk, q, XENSIM_VIRTIO_BLK_T_WRITE_ZEROES, &r, timeout_ms);
}

int xensim_blk_get_id(xensim_blk *blk, unsigned int q, char id[XENSIM_VIRTIO_BLK_ID_BYTES],
		      int timeout_ms)
{
	struct sync_req *s;
	bool kept;
	int rc;

	if (!blk || !id)
		return -EINVAL;
	s = new_sync(blk, XENSIM_VIRTIO_BLK_T_GET_ID, XENSIM_VIRTIO_BLK_ID_BYTES, &rc);
	if (!s)
		return rc;
	rc = run_sync(blk, q, s, timeout_ms, &kept);
	if (kept)
		return rc;
	if (rc == 0)
		memcpy(id, s->data.host, XENSIM_VIRTIO_BLK_ID_BYTES);
	free_sync(blk, s);
	return rc;
}
