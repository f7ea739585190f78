/* SPDX-License-Identifier: MIT */
/*
 * guest.c — a simulated guest kernel's memory side: attach to a domain (map its RAM, grant
 * table and interrupt page), a page allocator, grants and Linux grant-DMA mappings.
 *
 * Grants are written straight into the shared grant table, like Linux's
 * gnttab_update_entry_v1() (domid and frame, write barrier, flags); ending access is Linux's
 * gnttab_end_foreign_access_ref_v1(): a cmpxchg of flags to 0 that fails while the machine
 * holds GTF_reading/GTF_writing for a backend mapping. A failure is reported to the machine
 * (gnt_end_busy) and counted as "device broken" here; the refs stay allocated, as Linux leaks
 * them. Refs 0-7 are reserved (GNTTAB_NR_RESERVED_ENTRIES); guest page 0 is never handed out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_internal.h"

#define PAGE		  XENSIM_PAGE_SIZE
#define NR_RESERVED_GREFS 8u
#define GNT_BYTES	  ((size_t)XENSIM_NR_GRANTS * sizeof(grant_entry_v1_t))
#define IRQ_BYTES	  ((sizeof(struct hv_irq_page) + PAGE - 1) & ~(size_t)(PAGE - 1))

int bitmap_alloc_run(uint64_t *m, uint64_t lo, uint64_t size, uint64_t n, uint64_t *hint,
		     uint64_t *out)
{
	uint64_t start = *hint < lo || *hint >= size ? lo : *hint, i, run = 0, pass;

	if (!n || n > size - lo)
		return -EINVAL;
	/* Two passes: from the hint to the end, then from the bottom (runs may not wrap). */
	for (pass = 0; pass < 2; pass++) {
		run = 0;
		for (i = pass ? lo : start; i < size; i++) {
			run = bit_test(m, i) ? 0 : run + 1;
			if (run == n) {
				uint64_t first = i + 1 - n, j;

				for (j = first; j <= i; j++)
					bit_set(m, j);
				*hint = i + 1;
				*out = first;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

/* ---- attach ---- */

static void *map_shared(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int guest_map(xensim_guest *g, const struct hv_attach_rep *rep, const int *fds)
{
	g->ram_bytes = rep->ram_bytes;
	g->vcpus = rep->vcpus;
	g->npages = g->ram_bytes / PAGE;
	g->ram = map_shared(fds[0], g->ram_bytes);
	g->gnt = map_shared(fds[1], GNT_BYTES);
	g->irq = map_shared(fds[2], IRQ_BYTES);
	g->irq_efd = fds[3];
	g->gref_map = calloc(XENSIM_NR_GRANTS / 64, sizeof(uint64_t));
	g->page_map = calloc((g->npages + 63) / 64, sizeof(uint64_t));
	g->irq_seen = calloc(HV_NR_SPIS, sizeof(uint64_t));
	g->vcpu_conn = calloc(g->vcpus, sizeof(*g->vcpu_conn));
	if (!g->ram || !g->gnt || !g->irq || !g->gref_map || !g->page_map || !g->irq_seen ||
	    !g->vcpu_conn)
		return -ENOMEM;
	for (uint32_t i = 0; i < NR_RESERVED_GREFS; i++)
		bit_set(g->gref_map, i);
	bit_set(g->page_map, 0);
	/* Interrupts raised before the attach are history, not news. */
	for (uint32_t i = 0; i < HV_NR_SPIS; i++)
		g->irq_seen[i] = __atomic_load_n(&g->irq->spi_count[i], __ATOMIC_RELAXED);
	return 0;
}

static int attach(xensim_guest *g, xensim *x, uint32_t domid)
{
	struct hv_domid_arg a = { .domid = domid };
	struct iovec iov = { &a, sizeof(a) };
	struct hv_attach_rep rep;
	struct hvc_call call = {
		.op = HV_GUEST_ATTACH, .iov = &iov, .niov = 1, .rep = &rep, .rep_cap = sizeof(rep)
	};
	int rc = hvc_open(&g->c, x->path, 0), i;

	if (rc)
		return rc;
	rc = hvc_call(g->c, &call);
	if (rc >= 0 && (call.nfds != 4 || call.rep_len != sizeof(rep) || !rep.vcpus))
		rc = -EPROTO;
	if (rc >= 0)
		rc = guest_map(g, &rep, call.fds);
	/* The mappings hold the memfds; only the irq eventfd stays open. */
	for (i = 0; i < call.nfds; i++)
		if (rc < 0 || i != 3)
			close(call.fds[i]);
	if (rc < 0)
		g->irq_efd = -1;
	return rc;
}

int xensim_guest_attach(xensim_guest **out, xensim *x, uint32_t domid)
{
	xensim_guest *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return -ENOMEM;
	g->x = x;
	g->domid = domid;
	g->irq_efd = -1;
	g->timeout_ms = 5000;
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->irq_lock, NULL);
	pthread_mutex_init(&g->vcpu_lock, NULL);
	rc = attach(g, x, domid);
	if (rc) {
		xensim_guest_detach(g);
		return rc;
	}
	*out = g;
	return 0;
}

void xensim_guest_detach(xensim_guest *g)
{
	uint32_t i;

	if (!g)
		return;
	for (i = 0; g->vcpu_conn && i < g->vcpus; i++)
		hvc_close(g->vcpu_conn[i]);
	hvc_close(g->c);
	if (g->ram)
		munmap(g->ram, g->ram_bytes);
	if (g->gnt)
		munmap(g->gnt, GNT_BYTES);
	if (g->irq)
		munmap(g->irq, IRQ_BYTES);
	if (g->irq_efd >= 0)
		close(g->irq_efd);
	free(g->gref_map);
	free(g->page_map);
	free(g->irq_seen);
	free(g->vcpu_conn);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->irq_lock);
	pthread_mutex_destroy(&g->vcpu_lock);
	free(g);
}

uint32_t xensim_guest_domid(const xensim_guest *g)
{
	return g->domid;
}

void *xensim_guest_ram(xensim_guest *g, uint64_t *size_out)
{
	if (size_out)
		*size_out = g->ram_bytes;
	return g->ram;
}

void *xensim_guest_ptr(xensim_guest *g, uint64_t gpa, size_t len)
{
	if (gpa > g->ram_bytes || len > g->ram_bytes - gpa)
		return NULL;
	return g->ram + gpa;
}

int xensim_guest_alloc_pages(xensim_guest *g, size_t npages, uint64_t *gpa_out)
{
	uint64_t first;
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = bitmap_alloc_run(g->page_map, 1, g->npages, npages, &g->page_hint, &first);
	pthread_mutex_unlock(&g->lock);
	if (rc)
		return rc == -EINVAL && npages ? -ENOMEM : rc;
	memset(g->ram + first * PAGE, 0, npages * PAGE);
	*gpa_out = first * PAGE;
	return 0;
}

void xensim_guest_free_pages(xensim_guest *g, uint64_t gpa, size_t npages)
{
	uint64_t i, first = gpa / PAGE;

	if (gpa % PAGE || first >= g->npages || npages > g->npages - first)
		return;
	pthread_mutex_lock(&g->lock);
	for (i = first ? first : 1; i < first + npages; i++)
		bit_clear(g->page_map, i);
	pthread_mutex_unlock(&g->lock);
}

/* ---- grants ---- */

static int gref_alloc(xensim_guest *g, uint32_t n, uint32_t *first)
{
	uint64_t hint, out;
	int rc;

	pthread_mutex_lock(&g->lock);
	hint = g->gref_hint;
	rc = bitmap_alloc_run(g->gref_map, NR_RESERVED_GREFS, XENSIM_NR_GRANTS, n, &hint, &out);
	g->gref_hint = (uint32_t)hint;
	pthread_mutex_unlock(&g->lock);
	if (rc)
		return rc == -EINVAL ? -ENOSPC : rc;
	*first = (uint32_t)out;
	return 0;
}

static void gref_free(xensim_guest *g, uint32_t ref)
{
	pthread_mutex_lock(&g->lock);
	bit_clear(g->gref_map, ref);
	pthread_mutex_unlock(&g->lock);
}

static bool gref_allocated(xensim_guest *g, uint32_t ref)
{
	bool r;

	if (ref < NR_RESERVED_GREFS || ref >= XENSIM_NR_GRANTS)
		return false;
	pthread_mutex_lock(&g->lock);
	r = bit_test(g->gref_map, ref);
	pthread_mutex_unlock(&g->lock);
	return r;
}

static void grant_write(xensim_guest *g, uint32_t ref, uint32_t domid, uint64_t gfn, bool ro)
{
	grant_entry_v1_t *e = &g->gnt[ref];

	e->domid = (domid_t)domid;
	e->frame = (uint32_t)gfn;
	/* wmb() in gnttab_update_entry_v1; pairs with the machine's acquire of {flags,domid}. */
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

int xensim_grant_access(xensim_guest *g, uint32_t backend_domid, uint64_t gfn, bool readonly,
			uint32_t *gref_out)
{
	uint32_t ref;
	int rc;

	if (gfn >= g->npages || backend_domid > HV_DOMID_MAX)
		return -EINVAL;
	rc = gref_alloc(g, 1, &ref);
	if (rc)
		return rc;
	grant_write(g, ref, backend_domid, gfn, readonly);
	*gref_out = ref;
	return 0;
}

/* gnttab_end_foreign_access_ref_v1(): true if access ended, false if still mapped. */
static bool end_access(xensim_guest *g, uint32_t ref)
{
	uint16_t *flags = &g->gnt[ref].flags;
	uint16_t old = __atomic_load_n(flags, __ATOMIC_ACQUIRE);

	do {
		if (old & (GTF_reading | GTF_writing))
			return false;
	} while (!__atomic_compare_exchange_n(flags, &old, 0, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return true;
}

static void report_busy(xensim_guest *g, uint32_t ref)
{
	struct hv_domid_arg a = { .domid = g->domid, .arg = ref };

	/* "Grant still in use by backend domain, disabled for further use" */
	__atomic_fetch_add(&g->broken, 1, __ATOMIC_RELAXED);
	hvc_simple(g->c, HV_GNT_END_BUSY, &a, sizeof(a), NULL, 0);
}

int xensim_grant_end_access(xensim_guest *g, uint32_t gref)
{
	if (!gref_allocated(g, gref))
		return -EINVAL;
	if (!end_access(g, gref)) {
		report_busy(g, gref);
		return -EBUSY;
	}
	gref_free(g, gref);
	return 0;
}

int xensim_grant_revoke(xensim_guest *g, uint32_t gref)
{
	if (!gref_allocated(g, gref))
		return -EINVAL;
	__atomic_store_n(&g->gnt[gref].flags, 0, __ATOMIC_RELEASE);
	gref_free(g, gref);
	return 0;
}

uint64_t xensim_guest_broken(const xensim_guest *g)
{
	return __atomic_load_n(&g->broken, __ATOMIC_RELAXED);
}

/* ---- grant DMA (drivers/xen/grant-dma-ops.c) ---- */

static uint64_t dma_pages(uint64_t off, size_t len)
{
	return (off + len + PAGE - 1) / PAGE;
}

int xensim_dma_map(xensim_guest *g, uint32_t backend_domid, uint64_t gpa, size_t len,
		   enum xensim_dma_dir dir, uint64_t *dma_out)
{
	uint64_t off = gpa % PAGE, n = dma_pages(off, len), i;
	uint32_t first;
	int rc;

	if (!len || !xensim_guest_ptr(g, gpa, len) || backend_domid > HV_DOMID_MAX ||
	    dir > XENSIM_DMA_BIDIRECTIONAL)
		return -EINVAL;
	if (n > XENSIM_NR_GRANTS)
		return -ENOSPC;
	rc = gref_alloc(g, (uint32_t)n, &first);
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		grant_write(g, first + (uint32_t)i, backend_domid, gpa / PAGE + i,
			    dir == XENSIM_DMA_TO_DEVICE);
	*dma_out = XENSIM_GRANT_DMA_BIT | (uint64_t)first << XENSIM_PAGE_SHIFT | off;
	return 0;
}

int xensim_dma_unmap(xensim_guest *g, uint64_t dma, size_t len)
{
	uint64_t off = dma % PAGE, first = (dma & ~XENSIM_GRANT_DMA_BIT) >> XENSIM_PAGE_SHIFT;
	uint64_t n = dma_pages(off, len), i;
	int rc = 0;

	if (!(dma & XENSIM_GRANT_DMA_BIT) || !len || first + n > XENSIM_NR_GRANTS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!gref_allocated(g, (uint32_t)(first + i)))
			return -EINVAL;
	/* Unlike Linux (which stops at the first busy ref), end every ref, as xensim.h says. */
	for (i = 0; i < n; i++) {
		uint32_t ref = (uint32_t)(first + i);

		if (end_access(g, ref)) {
			gref_free(g, ref);
		} else {
			report_busy(g, ref);
			rc = -EBUSY;
		}
	}
	return rc;
}

int xensim_dma_alloc(xensim_guest *g, uint32_t backend_domid, size_t len, uint64_t *dma_out,
		     uint64_t *gpa_out, void **host_out)
{
	uint64_t gpa;
	size_t n = (len + PAGE - 1) / PAGE;
	int rc;

	if (!len)
		return -EINVAL;
	rc = xensim_guest_alloc_pages(g, n, &gpa);
	if (rc)
		return rc;
	rc = xensim_dma_map(g, backend_domid, gpa, n * PAGE, XENSIM_DMA_BIDIRECTIONAL, dma_out);
	if (rc) {
		xensim_guest_free_pages(g, gpa, n);
		return rc;
	}
	*gpa_out = gpa;
	if (host_out)
		*host_out = g->ram + gpa;
	return 0;
}

int xensim_dma_free(xensim_guest *g, uint64_t dma, uint64_t gpa, size_t len)
{
	size_t n = (len + PAGE - 1) / PAGE;
	int rc = xensim_dma_unmap(g, dma, n * PAGE);

	/* Like xen_grant_dma_free(): pages still granted to a backend are leaked, not reused. */
	if (rc == 0)
		xensim_guest_free_pages(g, gpa, n);
	return rc;
}
