/* SPDX-License-Identifier: MIT */
/*
 * xensim fidelity: grant tables through the drop-in libxengnttab (real libxen API).
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helper_xensim.h"

static struct xt_machine m;
static xengnttab_handle *gt;

static void setup(void)
{
	xt_machine_start(&m, 1);
	gt = xengnttab_open(NULL, 0);
	ck_assert_ptr_nonnull(gt);
}

static void teardown(void)
{
	xengnttab_close(gt);
	xt_machine_stop(&m);
}

/* A page of guest RAM filled with @byte, granted to dom0. */
static uint32_t grant_page(uint8_t byte, bool ro, uint64_t *gpa_out)
{
	uint64_t gpa;
	uint32_t ref;

	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, 1, &gpa), 0);
	memset(xensim_guest_ptr(m.g, gpa, 4096), byte, 4096);
	ck_assert_int_eq(xensim_grant_access(m.g, 0, gpa >> 12, ro, &ref), 0);
	if (gpa_out)
		*gpa_out = gpa;
	return ref;
}

START_TEST(gnt__map_of_granted_page_reads_guest_bytes)
{
	uint32_t ref = grant_page(0x5a, true, NULL);
	uint8_t *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ);
	struct xensim_counters c;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p[0], 0x5a);
	ck_assert_uint_eq(p[4095], 0x5a);
	c = xt_counters(&m, m.domid);
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_map_pages, 1);
	ck_assert_uint_eq(c.gnt_live_pages, 1);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	c = xt_counters(&m, m.domid);
	ck_assert_uint_eq(c.gnt_unmap_calls, 1);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
}
END_TEST

START_TEST(gnt__writable_map_writes_reach_guest_ram)
{
	uint64_t gpa;
	uint32_t ref = grant_page(0, false, &gpa);
	uint8_t *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ | PROT_WRITE);

	ck_assert_ptr_nonnull(p);
	memcpy(p + 100, "hello", 5);
	ck_assert_int_eq(memcmp(xensim_guest_ptr(m.g, gpa + 100, 5), "hello", 5), 0);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
}
END_TEST

START_TEST(gnt__ro_grant_cannot_be_mapped_writable)
{
	uint32_t ref = grant_page(1, true, NULL);

	errno = 0;
	ck_assert_ptr_null(xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ | PROT_WRITE));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 0);
}
END_TEST

START_TEST(gnt__grant_for_another_domain_is_refused)
{
	uint64_t gpa;
	uint32_t ref;

	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, 1, &gpa), 0);
	ck_assert_int_eq(xensim_grant_access(m.g, 7, gpa >> 12, false, &ref), 0);
	errno = 0;
	ck_assert_ptr_null(xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(gnt__failed_multi_ref_map_undoes_earlier_pins)
{
	uint32_t refs[3] = { grant_page(1, false, NULL), grant_page(2, false, NULL), 30000 };
	uint8_t *p;

	errno = 0;
	ck_assert_ptr_null(xengnttab_map_domain_grant_refs(gt, 3, m.domid, refs, PROT_READ));
	ck_assert_int_eq(errno, EINVAL);
	/* Nothing stays pinned: the guest can end access to the good refs. */
	ck_assert_int_eq(xensim_grant_end_access(m.g, refs[0]), 0);
	ck_assert_int_eq(xensim_grant_end_access(m.g, refs[1]), 0);
	refs[2] = grant_page(3, false, NULL);
	p = xengnttab_map_domain_grant_refs(gt, 1, m.domid, &refs[2], PROT_READ);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
}
END_TEST

START_TEST(gnt__unmap_needs_exact_start_and_count)
{
	uint32_t refs[2] = { grant_page(1, false, NULL), grant_page(2, false, NULL) };
	uint8_t *p = xengnttab_map_domain_grant_refs(gt, 2, m.domid, refs, PROT_READ);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p[4096], 2);
	errno = 0;
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(xengnttab_unmap(gt, p + 4096, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 2);
	ck_assert_uint_eq(p[0], 1); /* still mapped */
	ck_assert_int_eq(xengnttab_unmap(gt, p, 2), 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 0);
}
END_TEST

START_TEST(gnt__end_access_fails_while_mapped_and_counts_busy)
{
	uint32_t ref = grant_page(1, false, NULL);
	uint8_t *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ | PROT_WRITE);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xensim_grant_end_access(m.g, ref), -EBUSY);
	ck_assert_uint_eq(xensim_guest_broken(m.g), 1);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_end_busy, 1);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	ck_assert_int_eq(xensim_grant_end_access(m.g, ref), 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_end_busy, 1);
}
END_TEST

START_TEST(gnt__dma_unmap_of_mapped_buffer_reports_busy)
{
	uint64_t gpa, dma;
	uint32_t refs[2];
	uint8_t *p;

	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, 2, &gpa), 0);
	ck_assert_int_eq(xensim_dma_map(m.g, 0, gpa + 100, 5000, XENSIM_DMA_TO_DEVICE, &dma), 0);
	ck_assert_uint_eq(dma & 0xfff, 100);
	ck_assert(dma & XENSIM_GRANT_DMA_BIT);
	refs[0] = (uint32_t)((dma & ~XENSIM_GRANT_DMA_BIT) >> 12);
	refs[1] = refs[0] + 1;
	/* Device-readable buffers are read-only grants. */
	ck_assert_ptr_null(xengnttab_map_domain_grant_refs(gt, 2, m.domid, refs, PROT_WRITE));
	p = xengnttab_map_domain_grant_refs(gt, 2, m.domid, refs, PROT_READ);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xensim_dma_unmap(m.g, dma, 5000), -EBUSY);
	ck_assert_uint_eq(xensim_guest_broken(m.g), 2);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 2), 0);
}
END_TEST

START_TEST(gnt__revoked_grant_cannot_be_mapped)
{
	uint32_t ref = grant_page(1, false, NULL);

	ck_assert_int_eq(xensim_grant_revoke(m.g, ref), 0);
	ck_assert_ptr_null(xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(gnt__copy_reports_per_segment_status)
{
	uint32_t ref = grant_page(0x77, false, NULL);
	uint8_t buf[64] = { 0 }, out[16];
	xengnttab_grant_copy_segment_t segs[3] = {
		{ .source.foreign = { .ref = ref, .offset = 8, .domid = (uint16_t)m.domid },
		  .dest.virt = buf,
		  .len = 16,
		  .flags = GNTCOPY_source_gref },
		{ .source.foreign = { .ref = 40000, .offset = 0, .domid = (uint16_t)m.domid },
		  .dest.virt = buf + 16,
		  .len = 16,
		  .flags = GNTCOPY_source_gref },
		{ .source.virt = out,
		  .len = 16,
		  .flags = GNTCOPY_dest_gref,
		  .dest.foreign = { .ref = ref, .offset = 4000, .domid = (uint16_t)m.domid } },
	};
	struct xensim_counters c;

	memset(out, 0x11, sizeof(out));
	ck_assert_int_eq(xengnttab_grant_copy(gt, 3, segs), 0);
	ck_assert_int_eq(segs[0].status, GNTST_okay);
	ck_assert_int_eq(segs[1].status, GNTST_bad_gntref);
	ck_assert_int_eq(segs[2].status, GNTST_okay);
	ck_assert_uint_eq(buf[0], 0x77);
	ck_assert_uint_eq(buf[15], 0x77);
	ck_assert_uint_eq(buf[16], 0);
	c = xt_counters(&m, m.domid);
	ck_assert_uint_eq(c.gnt_copy_calls, 1);
	ck_assert_uint_eq(c.gnt_copy_segs, 3);
	ck_assert_uint_eq(c.gnt_copy_bytes, 32);
	ck_assert_uint_eq(c.gnt_map_calls, 0);
}
END_TEST

START_TEST(gnt__copy_into_ro_grant_is_refused)
{
	uint32_t ref = grant_page(0x77, true, NULL);
	uint8_t in[8] = { 0 };
	xengnttab_grant_copy_segment_t seg = {
		.source.virt = in,
		.len = 8,
		.flags = GNTCOPY_dest_gref,
		.dest.foreign = { .ref = ref, .offset = 0, .domid = (uint16_t)m.domid },
	};

	ck_assert_int_eq(xengnttab_grant_copy(gt, 1, &seg), 0);
	ck_assert_int_eq(seg.status, GNTST_general_error);
}
END_TEST

START_TEST(gnt__copy_segment_crossing_a_page_fails_the_call)
{
	uint32_t ref = grant_page(0x77, false, NULL);
	uint8_t buf[64];
	xengnttab_grant_copy_segment_t segs[2] = {
		{ .source.foreign = { .ref = ref, .offset = 0, .domid = (uint16_t)m.domid },
		  .dest.virt = buf,
		  .len = 8,
		  .flags = GNTCOPY_source_gref,
		  .status = 99 },
		{ .source.foreign = { .ref = ref, .offset = 4090, .domid = (uint16_t)m.domid },
		  .dest.virt = buf,
		  .len = 8,
		  .flags = GNTCOPY_source_gref,
		  .status = 99 },
	};

	errno = 0;
	ck_assert_int_eq(xengnttab_grant_copy(gt, 2, segs), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(segs[0].status, 99); /* nothing was done */
}
END_TEST

START_TEST(gnt__large_map_is_one_call_and_contiguous)
{
	enum { N = 512 };
	static uint32_t refs[N];
	uint64_t gpa;
	uint8_t *p;
	unsigned int i;

	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, N, &gpa), 0);
	for (i = 0; i < N; i++) {
		*(uint32_t *)xensim_guest_ptr(m.g, gpa + i * 4096ULL, 4) = i;
		/* Grant pages in reverse order: the mapping must still follow refs[]. */
		ck_assert_int_eq(
			xensim_grant_access(m.g, 0, (gpa >> 12) + N - 1 - i, false, &refs[i]), 0);
	}
	p = xengnttab_map_domain_grant_refs(gt, N, m.domid, refs, PROT_READ);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < N; i++)
		ck_assert_uint_eq(*(uint32_t *)(p + i * 4096ULL), N - 1 - i);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_map_calls, 1);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, N);
	ck_assert_int_eq(xengnttab_unmap(gt, p, N), 0);
}
END_TEST

START_TEST(gnt__closing_the_handle_releases_its_grants)
{
	uint32_t ref = grant_page(1, false, NULL);
	uint8_t *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ);

	ck_assert_ptr_nonnull(p);
	xengnttab_close(gt);
	gt = NULL;
	/* Like closing the gntdev fd: released by the time close returns. */
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 0);
	ck_assert_int_eq(xensim_grant_end_access(m.g, ref), 0);
}
END_TEST

START_TEST(gnt__zero_or_huge_count_is_einval)
{
	uint32_t ref = 8;

	errno = 0;
	ck_assert_ptr_null(xengnttab_map_domain_grant_refs(gt, 0, m.domid, &ref, PROT_READ));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(xengnttab_map_domain_grant_refs(gt, 65537, m.domid, &ref, PROT_READ));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(gnt__many_mappings_unmap_in_any_order)
{
	enum { N = 300 };
	static uint8_t *maps[N];
	static uint32_t refs[N];
	static uint8_t fill[N];
	unsigned int i, j, seed = 12345;

	for (i = 0; i < N; i++) {
		fill[i] = (uint8_t)(i * 7 + 1);
		refs[i] = grant_page(fill[i], false, NULL);
		maps[i] = xengnttab_map_grant_ref(gt, m.domid, refs[i], PROT_READ);
		ck_assert_ptr_nonnull(maps[i]);
	}
	/* Unmap in a pseudo-random order, checking the survivors still map their own page. */
	for (i = N; i > 0; i--) {
		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % i;
		ck_assert_uint_eq(maps[j][0], fill[j]);
		ck_assert_uint_eq(maps[j][4095], fill[j]);
		ck_assert_int_eq(xengnttab_unmap(gt, maps[j], 1), 0);
		ck_assert_int_eq(xensim_grant_end_access(m.g, refs[j]), 0);
		maps[j] = maps[i - 1];
		refs[j] = refs[i - 1];
		fill[j] = fill[i - 1];
	}
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_unmap_calls, N);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_gnttab");
	TCase *tc = tcase_create("gnttab");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, gnt__map_of_granted_page_reads_guest_bytes);
	tcase_add_test(tc, gnt__writable_map_writes_reach_guest_ram);
	tcase_add_test(tc, gnt__ro_grant_cannot_be_mapped_writable);
	tcase_add_test(tc, gnt__grant_for_another_domain_is_refused);
	tcase_add_test(tc, gnt__failed_multi_ref_map_undoes_earlier_pins);
	tcase_add_test(tc, gnt__unmap_needs_exact_start_and_count);
	tcase_add_test(tc, gnt__end_access_fails_while_mapped_and_counts_busy);
	tcase_add_test(tc, gnt__dma_unmap_of_mapped_buffer_reports_busy);
	tcase_add_test(tc, gnt__revoked_grant_cannot_be_mapped);
	tcase_add_test(tc, gnt__copy_reports_per_segment_status);
	tcase_add_test(tc, gnt__copy_into_ro_grant_is_refused);
	tcase_add_test(tc, gnt__copy_segment_crossing_a_page_fails_the_call);
	tcase_add_test(tc, gnt__large_map_is_one_call_and_contiguous);
	tcase_add_test(tc, gnt__closing_the_handle_releases_its_grants);
	tcase_add_test(tc, gnt__zero_or_huge_count_is_einval);
	tcase_add_test(tc, gnt__many_mappings_unmap_in_any_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
