/* SPDX-License-Identifier: MIT */
/*
 * The gdma device context: configuration, the Xen handles and every libxengnttab /
 * libxenforeignmemory call of the library (converted from -1 + errno to -errno here, once),
 * and the ring mappings that live as long as a queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gdma_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Xen calls                                                                                   */

/* errno after a failed Xen call, never 0 (a library that forgot to set it still fails). */
static int xen_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

int gdma_gnt_map(vxen_gdma *g, uint32_t *refs, uint32_t n, bool writable, void **out)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *p = xengnttab_map_domain_grant_refs(g->xgt, n, g->cfg.domid, refs, prot);

	if (!p)
		return xen_errno();
	*out = p;
	return 0;
}

int gdma_gnt_unmap(vxen_gdma *g, void *addr, uint32_t n)
{
	return xengnttab_unmap(g->xgt, addr, n) ? xen_errno() : 0;
}

int gdma_gnt_copy(vxen_gdma *g, xengnttab_grant_copy_segment_t *segs, uint32_t n)
{
	return xengnttab_grant_copy(g->xgt, n, segs) ? xen_errno() : 0;
}

int gdma_fmem_map(vxen_gdma *g, const xen_pfn_t *pfns, int *errs, uint32_t n, void **out)
{
	void *p =
		xenforeignmemory_map(g->fmem, g->cfg.domid, PROT_READ | PROT_WRITE, n, pfns, errs);

	if (!p)
		return xen_errno();
	*out = p;
	return 0;
}

int gdma_fmem_unmap(vxen_gdma *g, void *addr, uint32_t n)
{
	return xenforeignmemory_unmap(g->fmem, addr, n) ? xen_errno() : 0;
}

int gdma_map_err(int err)
{
	switch (-err) {
	case ENOMEM:
	case ENOSPC:
	case E2BIG:
	case EMFILE:
	case ENFILE:
		return -ENOMEM; /* the host ran out (maptrack, gntdev limit, VA): not the guest */
	default:
		return -EFAULT; /* refused grant: the guest's doing */
	}
}

/* libxengnttab and libxenforeignmemory log failed maps to stderr by default; a guest can
 * provoke those, so their messages go to our handler at debug level instead. */
static void xtl_vmessage(struct xentoollog_logger *l, xentoollog_level level, int errnoval,
			 const char *context, const char *fmt, va_list al)
{
	char buf[256];

	(void)l;
	(void)level;
	if (!vxen_log_enabled(LOG_DEBUG))
		return;
	vsnprintf(buf, sizeof(buf), fmt, al);
	vxen_log(LOG_DEBUG, "gdma: %s: %s%s%s", context ? context : "xen", buf,
		 errnoval >= 0 ? ": " : "", errnoval >= 0 ? strerror(errnoval) : "");
}

static void xtl_destroy(struct xentoollog_logger *l)
{
	(void)l; /* embedded in the context */
}

/* ------------------------------------------------------------------------------------------ */
/* Context                                                                                     */

static int handles_open(vxen_gdma *g)
{
	if (g->cfg.mode == VXEN_GDMA_FOREIGN) {
		g->fmem = xenforeignmemory_open(&g->xtl, 0);
		if (!g->fmem) {
			int r = xen_errno();

			vxen_log(LOG_ERR, "gdma: xenforeignmemory_open: %s", strerror(-r));
			return r;
		}
		return 0;
	}
	g->xgt = xengnttab_open(&g->xtl, 0);
	if (!g->xgt) {
		int r = xen_errno();

		vxen_log(LOG_ERR, "gdma: xengnttab_open: %s", strerror(-r));
		return r;
	}
	/* Must come right after open (libxengnttab's rule); kernels without the ioctl ignore it,
	 * and a refusal only limits how much we can map, so it is not fatal. */
	if (xengnttab_set_max_grants(g->xgt, g->cfg.max_grants))
		vxen_log(LOG_WARNING, "gdma: xengnttab_set_max_grants(%u): %s", g->cfg.max_grants,
			 strerror(-xen_errno()));
	return 0;
}

VXEN_EXPORT int vxen_gdma_new(vxen_gdma **out, const struct vxen_gdma_config *cfg)
{
	vxen_gdma *g;
	long pg;
	int r;

	if (!out || !cfg)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->cfg = *cfg;
	r = gdma_config_fill(&g->cfg);
	if (r) {
		free(g);
		return r;
	}
	pg = sysconf(_SC_PAGESIZE);
	g->gnt_stride = pg > 0 ? (size_t)pg : VXEN_GDMA_PAGE_SIZE;
	g->xtl.vmessage = xtl_vmessage;
	g->xtl.destroy = xtl_destroy;
	atomic_init(&g->refs, 1);
	pthread_mutex_init(&g->lock, NULL);
	r = handles_open(g);
	if (r) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return r;
	}
	*out = g;
	return 0;
}

void gdma_ref(vxen_gdma *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void gdma_unref(vxen_gdma *g)
{
	/* acq_rel: the last owner must see every other owner's writes before closing. */
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (g->xgt)
		xengnttab_close(g->xgt);
	if (g->fmem)
		xenforeignmemory_close(g->fmem);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

VXEN_EXPORT void vxen_gdma_free(vxen_gdma *g)
{
	if (g)
		gdma_unref(g);
}

VXEN_EXPORT uint32_t vxen_gdma_domid(const vxen_gdma *g)
{
	return g->cfg.domid;
}

VXEN_EXPORT enum vxen_gdma_mode vxen_gdma_mode(const vxen_gdma *g)
{
	return g->cfg.mode;
}

void gdma_count_queue(vxen_gdma *g, int delta)
{
	pthread_mutex_lock(&g->lock);
	g->dstats.queues_live += (uint64_t)(int64_t)delta;
	pthread_mutex_unlock(&g->lock);
}

void gdma_count_unmap_error(vxen_gdma *g)
{
	pthread_mutex_lock(&g->lock);
	g->dstats.unmap_errors++;
	pthread_mutex_unlock(&g->lock);
}

VXEN_EXPORT void vxen_gdma_dev_stats(const vxen_gdma *g, struct vxen_gdma_dev_stats *out)
{
	vxen_gdma *mg = (vxen_gdma *)g; /* the lock is not part of the logical state */

	pthread_mutex_lock(&mg->lock);
	*out = g->dstats;
	pthread_mutex_unlock(&mg->lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Rings                                                                                       */

static int ring_map_grant(vxen_gdma *g, const struct vxen_gdma_range *r, void **base)
{
	uint32_t refs[VXEN_GDMA_RING_MAX_BYTES / VXEN_GDMA_PAGE_SIZE + 1];

	for (uint32_t i = 0; i < r->npages; i++)
		refs[i] = (uint32_t)(r->first + i);
	return gdma_gnt_map(g, refs, r->npages, true, base);
}

static int ring_map_foreign(vxen_gdma *g, const struct vxen_gdma_range *r, void **base)
{
	xen_pfn_t pfns[VXEN_GDMA_RING_MAX_BYTES / VXEN_GDMA_PAGE_SIZE + 1];
	int errs[VXEN_ARRAY_SIZE(pfns)];
	int rc;

	for (uint32_t i = 0; i < r->npages; i++)
		pfns[i] = (xen_pfn_t)(r->first + i);
	rc = gdma_fmem_map(g, pfns, errs, r->npages, base);
	if (rc)
		return rc;
	/* With an error array the mapping may succeed partly: a ring needs every page. */
	for (uint32_t i = 0; i < r->npages; i++) {
		if (errs[i]) {
			if (gdma_fmem_unmap(g, *base, r->npages))
				gdma_count_unmap_error(g);
			return -EFAULT;
		}
	}
	return 0;
}

static int ring_map(vxen_gdma *g, uint64_t addr, size_t len, size_t align, void **base,
		    struct vxen_gdma_range *r)
{
	int rc;

	if (!len || len > VXEN_GDMA_RING_MAX_BYTES || !align || (align & (align - 1)) ||
	    (addr & (align - 1)))
		return -EINVAL;
	rc = vxen_gdma_decode(r, g->cfg.mode, addr, len, UINT32_MAX);
	if (rc)
		return rc;
	if (g->cfg.mode == VXEN_GDMA_FOREIGN)
		return ring_map_foreign(g, r, base);
	rc = ring_map_grant(g, r, base);
	return rc ? gdma_map_err(rc) : 0;
}

static void ring_count(vxen_gdma *g, int rc, uint64_t addr, uint32_t npages)
{
	pthread_mutex_lock(&g->lock);
	if (rc) {
		g->dstats.ring_map_fails++;
		vxen_log_guest(&g->ring_rl, LOG_WARNING,
			       "gdma: dom%u: cannot map ring area at %#llx: %s", g->cfg.domid,
			       (unsigned long long)addr, strerror(-rc));
	} else {
		g->dstats.ring_maps++;
		g->dstats.ring_live++;
		g->dstats.ring_live_pages += npages;
	}
	pthread_mutex_unlock(&g->lock);
}

VXEN_EXPORT int vxen_gdma_map_ring(vxen_gdma_ring **out, vxen_gdma *g, uint64_t addr, size_t len,
				   size_t align)
{
	struct vxen_gdma_range r;
	vxen_gdma_ring *ring;
	void *base;
	int rc;

	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	rc = ring_map(g, addr, len, align, &base, &r);
	ring_count(g, rc, addr, rc ? 0 : r.npages);
	if (rc) {
		free(ring);
		return rc;
	}
	gdma_ref(g);
	ring->g = g;
	ring->base = base;
	ring->npages = r.npages;
	ring->ptr = (uint8_t *)base + r.offset;
	*out = ring;
	return 0;
}

VXEN_EXPORT void *vxen_gdma_ring_ptr(const vxen_gdma_ring *ring)
{
	return ring->ptr;
}

VXEN_EXPORT void vxen_gdma_unmap_ring(vxen_gdma_ring *ring)
{
	vxen_gdma *g;
	int rc;

	if (!ring)
		return;
	g = ring->g;
	if (g->cfg.mode == VXEN_GDMA_FOREIGN)
		rc = gdma_fmem_unmap(g, ring->base, ring->npages);
	else
		rc = gdma_gnt_unmap(g, ring->base, ring->npages);
	pthread_mutex_lock(&g->lock);
	g->dstats.ring_unmaps++;
	g->dstats.ring_live--;
	g->dstats.ring_live_pages -= ring->npages;
	if (rc)
		g->dstats.unmap_errors++;
	pthread_mutex_unlock(&g->lock);
	if (rc)
		vxen_log(LOG_ERR, "gdma: dom%u: unmapping a ring area failed: %s", g->cfg.domid,
			 strerror(-rc));
	free(ring);
	gdma_unref(g);
}
