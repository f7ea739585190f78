/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_gdma.c — grant copy vs grant map as a data path, on xensim.
 *
 * One guest, one virtqueue driven by xensim's ring driver (grants made and ended by the guest
 * for every chain, as Linux's grant-DMA layer does) and served in this process by vxen_vq over
 * vxen_gdma. Each chain is a virtio-blk request: a 16-byte header, one data buffer of S bytes,
 * a 1-byte status, in an indirect table (the guest negotiates INDIRECT_DESC, as Linux does).
 * "read": the device writes the S bytes (a disk read); "write": it reads them. The device
 * really touches every byte (memcpy through the request's iovecs). Per chain: guest add, pop,
 * device work, push, publish, guest get_buf — depth 1, so each figure is the full latency of
 * the data path. Two contexts run side by side: "map", with a 512-byte copy threshold (the
 * header and status are copied, the S-byte buffer, S ≥ 1 KiB, is grant mapped), and "copy", with
 * copy_threshold = S (it is grant copied; impossible above VXEN_GDMA_COPY_THRESHOLD_LIMIT). Rounds
 * alternate; best round reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/gdma.h>
#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>
#include <xensim-virtio.h>

#include "bench.h"

#define NUM	64u
#define ROUNDS	5
#define MAXSEG	8u
#define BACKEND 0u

struct path {
	xensim_vq *dq;
	vxen_gdma *g;
	vxen_gdma_ring *ring[3];
	vxen_gdma_queue *q;
	vxen_vq *vq;
	struct vxen_req req;
	struct vxen_desc d[MAXSEG];
	struct iovec iov[MAXSEG];
};

struct gworld {
	uint32_t domid;
	xensim_guest *g;
	struct xensim_gbuf hdr, data, status;
	uint8_t *scratch;
};

/* The "map" path: headers and status bytes copied, the data buffer (1 KiB and up) mapped. */
#define MAP_THRESHOLD 512u

static int path_new(struct path *p, struct gworld *w, uint32_t threshold)
{
	uint64_t feat = 1ull << XENSIM_VIRTIO_F_EVENT_IDX | 1ull << XENSIM_VIRTIO_F_INDIRECT_DESC;
	struct vxen_gdma_config gc = VXEN_GDMA_CONFIG_INIT;
	struct vxen_vq_config vc = VXEN_VQ_CONFIG_INIT;
	struct xensim_vq_raw raw;
	int r;

	memset(p, 0, sizeof(*p));
	gc.domid = w->domid;
	gc.copy_threshold = threshold;
	r = xensim_vq_new(&p->dq, w->g, BACKEND, NUM, feat);
	r = r ?: xensim_vq_raw(p->dq, &raw);
	r = r ?: vxen_gdma_new(&p->g, &gc);
	r = r ?: vxen_gdma_map_ring(&p->ring[0], p->g, raw.desc_dma, 16 * NUM, 16);
	r = r ?: vxen_gdma_map_ring(&p->ring[1], p->g, raw.avail_dma, 6 + 2 * NUM, 2);
	r = r ?: vxen_gdma_map_ring(&p->ring[2], p->g, raw.used_dma, 6 + 8 * NUM, 4);
	r = r ?: vxen_gdma_queue_new(&p->q, p->g, 0, NUM);
	if (r)
		return r;
	vc.size = NUM;
	vc.features = feat | 1ull << VXEN_F_VERSION_1 | 1ull << VXEN_F_ACCESS_PLATFORM;
	vc.desc = vxen_gdma_ring_ptr(p->ring[0]);
	vc.avail = vxen_gdma_ring_ptr(p->ring[1]);
	vc.used = vxen_gdma_ring_ptr(p->ring[2]);
	vxen_gdma_queue_attach(p->q, &vc);
	p->req = (struct vxen_req){
		.desc = p->d, .desc_cap = MAXSEG, .iov = p->iov, .iov_cap = MAXSEG
	};
	return vxen_vq_new(&p->vq, &vc);
}

static void path_free(struct path *p)
{
	vxen_vq_free(p->vq);
	vxen_gdma_queue_free(p->q);
	for (int i = 0; i < 3; i++)
		vxen_gdma_unmap_ring(p->ring[i]);
	vxen_gdma_free(p->g);
	xensim_vq_free(p->dq);
}

/* One request, guest to guest. */
static int one(struct path *p, struct gworld *w, size_t size, bool read)
{
	struct xensim_sg out[2] = { { w->hdr.gpa, 16 }, { w->data.gpa, (uint32_t)size } };
	struct xensim_sg in[2] = { { w->data.gpa, (uint32_t)size }, { w->status.gpa, 1 } };
	struct vxen_iov_cursor cur;
	uint32_t len, written = 0;
	void *tok;
	int r;

	if (read)
		r = xensim_vq_add(p->dq, out, 1, in, 2, w);
	else
		r = xensim_vq_add(p->dq, out, 2, in + 1, 1, w);
	if (r)
		return r;
	r = vxen_vq_pop(p->vq, &p->req);
	if (r != 1)
		return r < 0 ? r : -EPROTO;
	vxen_req_out_cursor(&p->req, &cur);
	if (read) {
		vxen_iov_pull(&cur, w->scratch, 16);
		vxen_req_in_cursor(&p->req, &cur);
		written = (uint32_t)vxen_iov_push(&cur, w->scratch, size);
	} else {
		vxen_iov_pull(&cur, w->scratch, 16 + size);
		vxen_req_in_cursor(&p->req, &cur);
	}
	written += (uint32_t)vxen_iov_push(&cur, "", 1);
	vxen_vq_push(p->vq, &p->req, written);
	vxen_vq_publish(p->vq);
	r = xensim_vq_get_buf(p->dq, &tok, &len);
	if (r != 1 || len != written)
		return r < 0 ? r : -EPROTO;
	return 0;
}

/* Requests for @secs; returns µs per request, or a negative errno. */
static double round_run(struct path *p, struct gworld *w, size_t size, bool read, double secs,
			uint64_t *count)
{
	uint64_t t0 = bench_now_ns(), end = t0 + (uint64_t)(secs * 1e9), n = 0;
	int r;

	do {
		r = one(p, w, size, read);
		if (r)
			return r;
		n++;
	} while (bench_now_ns() < end);
	*count += n;
	return (double)(bench_now_ns() - t0) / 1e3 / (double)n;
}

static void cross_add(struct xensim_counters *sum, const struct xensim_counters *a,
		      const struct xensim_counters *b)
{
	sum->gnt_map_calls += b->gnt_map_calls - a->gnt_map_calls;
	sum->gnt_unmap_calls += b->gnt_unmap_calls - a->gnt_unmap_calls;
	sum->gnt_copy_calls += b->gnt_copy_calls - a->gnt_copy_calls;
}

static void point_put(const char *dir, size_t size, int i, double us,
		      const struct xensim_counters *sum, uint64_t n)
{
	const char *how = i ? "copy" : "map";

	bench_putf(us, "us", "gdma_%s_%zuk.%s.us_per_req", dir, size / 1024, how);
	bench_putf((double)(sum->gnt_map_calls + sum->gnt_unmap_calls + sum->gnt_copy_calls) /
			   (double)n,
		   NULL, "gdma_%s_%zuk.%s.xen_calls_per_req", dir, size / 1024, how);
}

static int point(struct gworld *w, size_t size, bool read)
{
	const char *dir = read ? "read" : "write";
	int npaths = size <= VXEN_GDMA_COPY_THRESHOLD_LIMIT ? 2 : 1;
	double best[2] = { 1e18, 1e18 }, secs = bench_opts.micro_duration / ROUNDS / 2;
	struct xensim_counters sum[2] = { 0 };
	uint64_t n[2] = { 0, 0 };
	struct path p[2];
	int r;

	/* p[0]: mapped (a threshold below every S measured); p[1]: copied. */
	r = path_new(&p[0], w, MAP_THRESHOLD);
	r = r ?: path_new(&p[1], w, npaths == 2 ? (uint32_t)size : 0);
	for (int i = 0; !r && i < 2; i++) /* warm-up */
		r = one(&p[i], w, size, read);
	for (int k = 0; !r && k < ROUNDS; k++) {
		for (int i = 0; !r && i < npaths; i++) {
			struct xensim_counters a, b;
			double us;

			xensim_counters_get(bench_x, w->domid, &a);
			us = round_run(&p[i], w, size, read, secs, &n[i]);
			xensim_counters_get(bench_x, w->domid, &b);
			cross_add(&sum[i], &a, &b);
			if (us < 0)
				r = (int)us;
			else if (us < best[i])
				best[i] = us;
		}
	}
	if (!r) {
		for (int i = 0; i < npaths; i++)
			point_put(dir, size, i, best[i], &sum[i], n[i]);
		if (npaths == 2)
			bench_putf(best[1] / best[0], "x", "gdma_%s_%zuk.copy_to_map_time", dir,
				   size / 1024);
	} else {
		fprintf(stderr, "gdma: %s %zu: %s\n", dir, size, strerror(-r));
	}
	path_free(&p[0]);
	path_free(&p[1]);
	return r;
}

int bench_gdma(void)
{
	static const size_t sizes[] = { 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072 };
	struct gworld w = { 0 };
	int r;

	bench_note("gdma: grant copy vs grant map, blk-like chain (16 B hdr, S data, 1 B status), "
		   "depth 1, guest grant work included");
	r = bench_guest_new(&w.domid, 64, 1);
	r = r ?: xensim_guest_attach(&w.g, bench_x, w.domid);
	r = r ?: xensim_gbuf_alloc(w.g, 16, &w.hdr);
	r = r ?: xensim_gbuf_alloc(w.g, 131072, &w.data);
	r = r ?: xensim_gbuf_alloc(w.g, 1, &w.status);
	w.scratch = calloc(1, 131072 + 16);
	if (!r && !w.scratch)
		r = -ENOMEM;
	for (unsigned int i = 0; !r && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = point(&w, sizes[i], true);
		r = r ?: point(&w, sizes[i], false);
	}
	free(w.scratch);
	if (w.g)
		xensim_guest_detach(w.g);
	if (w.domid)
		xensim_domain_destroy(bench_x, w.domid);
	return r;
}
