/* SPDX-License-Identifier: MIT */
/*
 * gdma foreign mode (grant_usage=0) against xensim: descriptors carry guest physical addresses,
 * mapped through xenforeignmemory into a per-queue LRU cache of buckets that stay mapped across
 * requests. Buckets are 64 KiB here (the smallest allowed) so tests can cross them cheaply.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <virtio-xen/gdma.h>
#include <xensim.h>

#define QSIZE  16
#define MAXD   8
#define SHIFT  16
#define BUCKET (1ull << SHIFT)

struct world {
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *guest;
	vxen_gdma *g;
	vxen_gdma_queue *q;
	const struct vxen_vq_mem_ops *ops;
};

struct treq {
	struct vxen_req r;
	struct vxen_desc d[MAXD];
	struct iovec iov[MAXD * 2];
};

static struct world w;

static void world_up(uint32_t cache_buckets)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;

	ck_assert_int_eq(xensim_server_start(&w.srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w.x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(w.x, &dc, &w.domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&w.guest, w.x, w.domid), 0);
	cfg.domid = w.domid;
	cfg.mode = VXEN_GDMA_FOREIGN;
	cfg.bucket_shift = SHIFT;
	cfg.cache_buckets = cache_buckets;
	ck_assert_int_eq(vxen_gdma_new(&w.g, &cfg), 0);
	ck_assert_int_eq(vxen_gdma_queue_new(&w.q, w.g, 0, QSIZE), 0);
	w.ops = vxen_gdma_mem_ops();
}

static void world_down(void)
{
	vxen_gdma_queue_free(w.q);
	vxen_gdma_free(w.g);
	xensim_guest_detach(w.guest);
	xensim_close(w.x);
	xensim_server_stop(w.srv);
}

static struct xensim_counters counters(void)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(w.x, w.domid, &c), 0);
	return c;
}

static const struct vxen_gdma_stats *st(void)
{
	return vxen_gdma_queue_stats(w.q);
}

/* Guest physical memory of @npages pages whose start is aligned to a bucket. */
static uint64_t galloc_bucket_aligned(size_t npages)
{
	uint64_t gpa, aligned;
	size_t extra = BUCKET / 4096;

	ck_assert_int_eq(xensim_guest_alloc_pages(w.guest, npages + extra, &gpa), 0);
	aligned = (gpa + BUCKET - 1) & ~(BUCKET - 1);
	return aligned;
}

static uint8_t *gptr(uint64_t gpa, size_t len)
{
	uint8_t *p = xensim_guest_ptr(w.guest, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void treq_init(struct treq *t)
{
	memset(t, 0, sizeof(*t));
	t->r.desc = t->d;
	t->r.desc_cap = MAXD;
	t->r.iov = t->iov;
	t->r.iov_cap = MAXD * 2;
}

static void treq_add(struct treq *t, uint64_t addr, uint32_t len, bool write)
{
	struct vxen_desc *d = &t->d[t->r.n_desc++];

	d->addr = addr;
	d->len = len;
	d->flags = write ? VXEN_DESC_F_WRITE : 0;
	if (!write)
		t->r.n_out_desc++;
}

/* Map and unmap a one-descriptor request at @gpa. */
static int touch(uint64_t gpa, uint32_t len)
{
	struct treq t;
	int rc;

	treq_init(&t);
	treq_add(&t, gpa, len, false);
	rc = w.ops->map(w.q, &t.r);
	if (!rc)
		w.ops->unmap(w.q, &t.r, 0);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */

START_TEST(foreign__maps_guest_physical_buffers_both_ways)
{
	uint64_t base;
	struct treq t;

	world_up(0);
	base = galloc_bucket_aligned(4);
	memset(gptr(base, 8192), 0x21, 8192);
	treq_init(&t);
	treq_add(&t, base + 10, 8000, false);
	treq_add(&t, base + 8192, 8192, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(w.ops->map(w.q, &t.r), 0);
	ck_assert_uint_eq(t.r.n_out, 1);
	ck_assert_uint_eq(t.r.n_in, 1);
	ck_assert_uint_eq(((uint8_t *)t.iov[0].iov_base)[7999], 0x21);
	memset(t.iov[1].iov_base, 0x43, 8192);
	w.ops->unmap(w.q, &t.r, 8192);
	ck_assert_uint_eq(gptr(base + 8192, 8192)[8191], 0x43);
	/* one bucket covers both buffers: one map call, kept after the request */
	ck_assert_uint_eq(counters().fmem_map_calls, 1);
	ck_assert_uint_eq(counters().fmem_unmap_calls, 0);
	ck_assert_uint_eq(counters().fmem_live_pages, BUCKET / 4096);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	world_down();
}
END_TEST

START_TEST(foreign__repeated_buffers_hit_the_cache)
{
	uint64_t base;

	world_up(0);
	base = galloc_bucket_aligned(1);
	xensim_counters_reset(w.x);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(touch(base, 512), 0);
	ck_assert_uint_eq(counters().fmem_map_calls, 1);
	ck_assert_uint_eq(st()->cache_misses, 1);
	ck_assert_uint_eq(st()->cache_hits, 9);
	ck_assert_uint_eq(st()->cache_buckets, 1);
	world_down();
}
END_TEST

START_TEST(foreign__rejects_grant_addresses)
{
	uint64_t base;

	world_up(0);
	base = galloc_bucket_aligned(1);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(touch(base | VXEN_GDMA_GRANT_BIT, 16), -EFAULT);
	ck_assert_int_eq(touch(vxen_gdma_addr_make(8, 0), 4096), -EFAULT);
	ck_assert_uint_eq(counters().fmem_map_calls, 0);
	ck_assert_uint_eq(st()->rej_addr, 2);
	world_down();
}
END_TEST

START_TEST(foreign__rejects_wrapping_and_oversized_ranges)
{
	world_up(0);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(touch(VXEN_GDMA_GRANT_BIT - 16, 32), -EFAULT);
	ck_assert_int_eq(touch(0x100000, UINT32_MAX), -E2BIG);
	ck_assert_uint_eq(counters().fmem_map_calls, 0);
	world_down();
}
END_TEST

START_TEST(foreign__buffer_across_bucket_boundary_gets_one_iov_per_bucket)
{
	uint64_t base, b;
	struct treq t;
	uint8_t *p;

	world_up(0);
	base = galloc_bucket_aligned(2 * BUCKET / 4096);
	b = base + BUCKET; /* a bucket boundary */
	p = gptr(b - 100, 200);
	for (int i = 0; i < 200; i++)
		p[i] = (uint8_t)i;
	treq_init(&t);
	treq_add(&t, b - 100, 200, true);
	ck_assert_int_eq(w.ops->map(w.q, &t.r), 0);
	ck_assert_uint_eq(t.r.n_in, 2);
	ck_assert_uint_eq(t.iov[0].iov_len, 100);
	ck_assert_uint_eq(t.iov[1].iov_len, 100);
	ck_assert_uint_eq(((uint8_t *)t.iov[0].iov_base)[99], 99);
	ck_assert_uint_eq(((uint8_t *)t.iov[1].iov_base)[0], 100);
	w.ops->unmap(w.q, &t.r, 0);
	ck_assert_uint_eq(st()->cache_buckets, 2);
	world_down();
}
END_TEST

START_TEST(foreign__lru_evicts_least_recently_used_bucket)
{
	uint64_t base;

	world_up(2);
	base = galloc_bucket_aligned(3 * BUCKET / 4096);
	ck_assert_int_eq(touch(base, 16), 0);		   /* A: miss */
	ck_assert_int_eq(touch(base + BUCKET, 16), 0);	   /* B: miss */
	ck_assert_int_eq(touch(base, 16), 0);		   /* A: hit, now most recent */
	ck_assert_int_eq(touch(base + 2 * BUCKET, 16), 0); /* C: miss, evicts B */
	ck_assert_uint_eq(st()->cache_evictions, 1);
	ck_assert_int_eq(touch(base, 16), 0); /* A: still cached */
	ck_assert_uint_eq(st()->cache_hits, 2);
	ck_assert_int_eq(touch(base + BUCKET, 16), 0); /* B: gone */
	ck_assert_uint_eq(st()->cache_misses, 4);
	ck_assert_uint_eq(st()->cache_buckets, 2);
	ck_assert_uint_eq(counters().fmem_live_pages, 2 * BUCKET / 4096);
	world_down();
}
END_TEST

START_TEST(foreign__buckets_in_use_are_never_evicted)
{
	uint64_t base;
	struct treq a;

	world_up(1);
	base = galloc_bucket_aligned(2 * BUCKET / 4096);
	treq_init(&a);
	treq_add(&a, base, 64, false);
	ck_assert_int_eq(w.ops->map(w.q, &a.r), 0);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(touch(base + BUCKET, 64), -ENOMEM);
	ck_assert_uint_eq(counters().fmem_map_calls, 0);
	ck_assert_uint_eq(st()->rej_nomem, 1);
	ck_assert_int_eq(touch(base + 64, 64), 0); /* the pinned bucket itself is usable */
	w.ops->unmap(w.q, &a.r, 0);
	ck_assert_int_eq(touch(base + BUCKET, 64), 0);
	ck_assert_uint_eq(st()->cache_evictions, 1);
	world_down();
}
END_TEST

START_TEST(foreign__memory_outside_guest_ram_rejected)
{
	uint64_t ram;

	world_up(0);
	ck_assert_ptr_nonnull(xensim_guest_ram(w.guest, &ram));
	ck_assert_int_eq(touch(ram - 4096, 8192), -EFAULT);
	ck_assert_int_eq(touch(ram + 16 * BUCKET, 16), -EFAULT);
	ck_assert_int_eq(touch(ram - 4096, 4096), 0); /* the last page itself is fine */
	ck_assert_uint_eq(st()->rej_fault, 2);
	ck_assert_uint_eq(st()->live_requests, 0);
	world_down();
}
END_TEST

START_TEST(foreign__flush_unmaps_idle_buckets_and_defers_busy_ones)
{
	uint64_t base;
	struct treq a;

	world_up(0);
	base = galloc_bucket_aligned(2 * BUCKET / 4096);
	ck_assert_int_eq(touch(base + BUCKET, 16), 0);
	treq_init(&a);
	treq_add(&a, base, 16, true);
	ck_assert_int_eq(w.ops->map(w.q, &a.r), 0);
	xensim_counters_reset(w.x);
	vxen_gdma_queue_flush(w.q);
	ck_assert_uint_eq(counters().fmem_unmap_calls, 1);
	*(uint8_t *)a.iov[0].iov_base = 0x99;	   /* still mapped for the request in flight */
	ck_assert_int_eq(touch(base + 16, 16), 0); /* a new lookup maps afresh */
	ck_assert_uint_eq(counters().fmem_map_calls, 1);
	w.ops->unmap(w.q, &a.r, 1);
	ck_assert_uint_eq(counters().fmem_unmap_calls, 2);
	ck_assert_uint_eq(gptr(base, 1)[0], 0x99);
	ck_assert_uint_eq(st()->cache_buckets, 1);
	world_down();
}
END_TEST

START_TEST(foreign__queue_free_unmaps_every_bucket)
{
	uint64_t base;

	world_up(0);
	base = galloc_bucket_aligned(3 * BUCKET / 4096);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(touch(base + i * BUCKET, 16), 0);
	ck_assert_uint_eq(counters().fmem_live_pages, 3 * BUCKET / 4096);
	vxen_gdma_queue_free(w.q);
	w.q = NULL;
	ck_assert_uint_eq(counters().fmem_live_pages, 0);
	world_down();
}
END_TEST

START_TEST(foreign__read_goes_through_the_cache)
{
	uint8_t dst[64];
	uint64_t base;

	world_up(0);
	base = galloc_bucket_aligned(2 * BUCKET / 4096);
	memset(gptr(base + BUCKET - 32, 64), 0x5c, 64);
	ck_assert_int_eq(w.ops->read(w.q, base + BUCKET - 32, dst, 64), 0);
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(dst[i], 0x5c);
	ck_assert_int_eq(w.ops->read(w.q, base | VXEN_GDMA_GRANT_BIT, dst, 16), -EFAULT);
	ck_assert_uint_eq(st()->cache_buckets, 2);
	ck_assert_uint_eq(counters().gnt_copy_calls, 0);
	world_down();
}
END_TEST

START_TEST(foreign__ring_mapped_by_guest_physical_address)
{
	vxen_gdma_ring *r;
	uint64_t base;

	world_up(0);
	base = galloc_bucket_aligned(2);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, base + 0x400, 6 + 8 * 256, 4), 0);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, base | VXEN_GDMA_GRANT_BIT, 64, 4), -EFAULT);
	((uint8_t *)vxen_gdma_ring_ptr(r))[5] = 0x3e;
	ck_assert_uint_eq(gptr(base + 0x405, 1)[0], 0x3e);
	ck_assert_uint_eq(counters().fmem_map_calls, 1);
	ck_assert_uint_eq(counters().fmem_live_pages, 1);
	vxen_gdma_unmap_ring(r);
	ck_assert_uint_eq(counters().fmem_live_pages, 0);
	world_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gdma_foreign");
	TCase *tc = tcase_create("foreign");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, foreign__maps_guest_physical_buffers_both_ways);
	tcase_add_test(tc, foreign__repeated_buffers_hit_the_cache);
	tcase_add_test(tc, foreign__rejects_grant_addresses);
	tcase_add_test(tc, foreign__rejects_wrapping_and_oversized_ranges);
	tcase_add_test(tc, foreign__buffer_across_bucket_boundary_gets_one_iov_per_bucket);
	tcase_add_test(tc, foreign__lru_evicts_least_recently_used_bucket);
	tcase_add_test(tc, foreign__buckets_in_use_are_never_evicted);
	tcase_add_test(tc, foreign__memory_outside_guest_ram_rejected);
	tcase_add_test(tc, foreign__flush_unmaps_idle_buckets_and_defers_busy_ones);
	tcase_add_test(tc, foreign__queue_free_unmaps_every_bucket);
	tcase_add_test(tc, foreign__read_goes_through_the_cache);
	tcase_add_test(tc, foreign__ring_mapped_by_guest_physical_address);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
