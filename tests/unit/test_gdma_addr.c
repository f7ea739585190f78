/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of gdma's pure parts: grant-DMA address decoding and range validation at every
 * edge, and configuration validation (which never reaches Xen).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <virtio-xen/gdma.h>

#define G     VXEN_GDMA_GRANT
#define F     VXEN_GDMA_FOREIGN
#define BIT63 VXEN_GDMA_GRANT_BIT

/* Fill a range with a marker, to check that failures leave the output untouched. */
static void mark(struct vxen_gdma_range *r)
{
	memset(r, 0xa5, sizeof(*r));
}

static bool untouched(const struct vxen_gdma_range *r)
{
	unsigned char m[sizeof(*r)];

	memset(m, 0xa5, sizeof(m));
	return memcmp(r, m, sizeof(m)) == 0;
}

/* decode() must fail with @err and leave its output alone. */
static void expect_fail(enum vxen_gdma_mode mode, uint64_t addr, uint64_t len, uint32_t max,
			int err)
{
	struct vxen_gdma_range r;

	mark(&r);
	ck_assert_int_eq(vxen_gdma_decode(&r, mode, addr, len, max), err);
	ck_assert(untouched(&r));
}

static struct vxen_gdma_range expect_ok(enum vxen_gdma_mode mode, uint64_t addr, uint64_t len,
					uint32_t max)
{
	struct vxen_gdma_range r;

	mark(&r);
	ck_assert_int_eq(vxen_gdma_decode(&r, mode, addr, len, max), 0);
	return r;
}

START_TEST(addr__bit63_marks_grant_addresses)
{
	ck_assert(!vxen_gdma_is_grant(0));
	ck_assert(!vxen_gdma_is_grant(BIT63 - 1));
	ck_assert(vxen_gdma_is_grant(BIT63));
	ck_assert(vxen_gdma_is_grant(UINT64_MAX));
}
END_TEST

START_TEST(addr__make_and_accessors_round_trip)
{
	static const uint32_t grefs[] = { 0, 1, 8, 0x12345678, UINT32_MAX - 1, UINT32_MAX };
	static const unsigned int offs[] = { 0, 1, 16, 2048, 4095 };

	for (size_t i = 0; i < sizeof(grefs) / sizeof(grefs[0]); i++) {
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			uint64_t a = vxen_gdma_addr_make(grefs[i], offs[j]);

			ck_assert(vxen_gdma_is_grant(a));
			ck_assert_uint_eq(vxen_gdma_addr_gref(a), grefs[i]);
			ck_assert_uint_eq(vxen_gdma_addr_offset(a), offs[j]);
		}
	}
}
END_TEST

START_TEST(addr__make_matches_linux_encoding)
{
	/* Seen on real Xen/arm64: desc ring of a 64-entry queue at gref 8. */
	ck_assert_uint_eq(vxen_gdma_addr_make(8, 0), 0x8000000000008000ull);
	ck_assert_uint_eq(vxen_gdma_addr_make(8, 0x400), 0x8000000000008400ull);
	ck_assert_uint_eq(vxen_gdma_addr_make(9, 0), 0x8000000000009000ull);
	/* the offset is masked to the page */
	ck_assert_uint_eq(vxen_gdma_addr_make(1, 4096), vxen_gdma_addr_make(1, 0));
}
END_TEST

START_TEST(addr__gref_field_is_51_bits_and_ignores_bit63)
{
	ck_assert_uint_eq(vxen_gdma_addr_gref(UINT64_MAX), (1ull << 51) - 1);
	ck_assert_uint_eq(vxen_gdma_addr_gref(BIT63 | 1ull << 44), 1ull << 32);
	ck_assert_uint_eq(vxen_gdma_addr_gref(0x5000), 5);
	ck_assert_uint_eq(vxen_gdma_addr_offset(UINT64_MAX), 4095);
}
END_TEST

START_TEST(addr__page_count_includes_in_page_offset)
{
	ck_assert_uint_eq(vxen_gdma_page_count(0, 0), 0);
	ck_assert_uint_eq(vxen_gdma_page_count(4095, 0), 0);
	ck_assert_uint_eq(vxen_gdma_page_count(0, 1), 1);
	ck_assert_uint_eq(vxen_gdma_page_count(0, 4096), 1);
	ck_assert_uint_eq(vxen_gdma_page_count(0, 4097), 2);
	ck_assert_uint_eq(vxen_gdma_page_count(4095, 1), 1);
	ck_assert_uint_eq(vxen_gdma_page_count(4095, 2), 2);
	ck_assert_uint_eq(vxen_gdma_page_count(1, 4095), 1);
	ck_assert_uint_eq(vxen_gdma_page_count(1, 4096), 2);
	ck_assert_uint_eq(vxen_gdma_page_count(4095, 4096 + 1), 2);
	ck_assert_uint_eq(vxen_gdma_page_count(4095, 4096 + 2), 3);
	ck_assert_uint_eq(vxen_gdma_page_count(BIT63 | 0x10, 8192), 3);
}
END_TEST

START_TEST(addr__page_count_never_overflows)
{
	/* ceil((2^64 - 1) / 4096) = 2^52; with offset 4095 the buffer reaches one page more. */
	ck_assert_uint_eq(vxen_gdma_page_count(0, UINT64_MAX), 1ull << 52);
	ck_assert_uint_eq(vxen_gdma_page_count(4095, UINT64_MAX), (1ull << 52) + 1);
	ck_assert_uint_eq(vxen_gdma_page_count(1, UINT64_MAX - 4095), 1ull << 52);
	ck_assert_uint_eq(vxen_gdma_page_count(0, 1ull << 32), 1ull << 20);
}
END_TEST

START_TEST(decode__one_page_buffer)
{
	struct vxen_gdma_range r = expect_ok(G, vxen_gdma_addr_make(42, 16), 100, 1);

	ck_assert_uint_eq(r.first, 42);
	ck_assert_uint_eq(r.npages, 1);
	ck_assert_uint_eq(r.offset, 16);
}
END_TEST

START_TEST(decode__buffer_ending_exactly_on_page_boundary_is_one_page)
{
	struct vxen_gdma_range r = expect_ok(G, vxen_gdma_addr_make(7, 4095), 1, 1);

	ck_assert_uint_eq(r.npages, 1);
	r = expect_ok(G, vxen_gdma_addr_make(7, 0), 4096, 1);
	ck_assert_uint_eq(r.npages, 1);
}
END_TEST

START_TEST(decode__multi_page_buffer_counts_offset)
{
	struct vxen_gdma_range r = expect_ok(G, vxen_gdma_addr_make(100, 4095), 4098, 16);

	ck_assert_uint_eq(r.first, 100);
	ck_assert_uint_eq(r.npages, 3);
	ck_assert_uint_eq(r.offset, 4095);
}
END_TEST

START_TEST(decode__rejects_len_0)
{
	expect_fail(G, vxen_gdma_addr_make(1, 0), 0, 16, -EINVAL);
	/* len 0 is checked first, whatever the address */
	expect_fail(G, 0, 0, 16, -EINVAL);
	expect_fail(F, BIT63, 0, 16, -EINVAL);
}
END_TEST

START_TEST(decode__rejects_max_pages_0)
{
	expect_fail(G, vxen_gdma_addr_make(1, 0), 1, 0, -EINVAL);
}
END_TEST

START_TEST(decode__grant_mode_rejects_address_without_bit63)
{
	expect_fail(G, 0, 1, 16, -EFAULT);
	expect_fail(G, 0x1000, 4096, 16, -EFAULT);
	expect_fail(G, BIT63 - 1, 1, 16, -EFAULT);
}
END_TEST

START_TEST(decode__foreign_mode_rejects_grant_address)
{
	expect_fail(F, BIT63, 1, 16, -EFAULT);
	expect_fail(F, vxen_gdma_addr_make(5, 0), 4096, 16, -EFAULT);
	expect_fail(F, UINT64_MAX, 1, 16, -EFAULT);
}
END_TEST

START_TEST(decode__foreign_mode_decodes_frames)
{
	struct vxen_gdma_range r = expect_ok(F, 0x40001010, 8192, 16);

	ck_assert_uint_eq(r.first, 0x40001);
	ck_assert_uint_eq(r.npages, 3);
	ck_assert_uint_eq(r.offset, 0x10);
	/* the highest byte below bit 63 is a valid guest physical address */
	r = expect_ok(F, BIT63 - 1, 1, 1);
	ck_assert_uint_eq(r.first, (1ull << 51) - 1);
	ck_assert_uint_eq(r.offset, 4095);
}
END_TEST

START_TEST(decode__rejects_range_wrapping_2_64)
{
	/* grant addresses: the end passes 2^64 */
	expect_fail(G, UINT64_MAX, 2, UINT32_MAX, -EFAULT);
	expect_fail(G, UINT64_MAX - 4095, 8192, UINT32_MAX, -EFAULT);
	/* foreign: a huge len from a low address */
	expect_fail(F, 0x1000, UINT64_MAX, UINT32_MAX, -EFAULT);
	expect_fail(F, BIT63 - 1, UINT64_MAX, UINT32_MAX, -EFAULT);
	/* the very last byte of the address space does not wrap (but has no 32-bit gref) */
	expect_fail(G, UINT64_MAX, 1, UINT32_MAX, -EFAULT);
}
END_TEST

START_TEST(decode__foreign_range_must_stay_below_bit63)
{
	/* ends exactly at the last byte below 2^63: fine */
	struct vxen_gdma_range r = expect_ok(F, BIT63 - 4096, 4096, 1);

	ck_assert_uint_eq(r.npages, 1);
	/* one byte further is in grant-address space */
	expect_fail(F, BIT63 - 4096, 4097, 2, -EFAULT);
	expect_fail(F, BIT63 - 16, 32, 2, -EFAULT);
	expect_fail(F, 0, UINT64_MAX, UINT32_MAX, -EFAULT);
}
END_TEST

START_TEST(decode__foreign_range_is_page_capped)
{
	expect_fail(F, 0, BIT63, UINT32_MAX, -E2BIG);
}
END_TEST

START_TEST(decode__last_32bit_gref_is_accepted)
{
	struct vxen_gdma_range r = expect_ok(G, vxen_gdma_addr_make(UINT32_MAX, 0), 4096, 1);

	ck_assert_uint_eq(r.first, UINT32_MAX);
	ck_assert_uint_eq(r.npages, 1);
	r = expect_ok(G, vxen_gdma_addr_make(UINT32_MAX - 1, 0), 8192, 2);
	ck_assert_uint_eq(r.npages, 2);
	r = expect_ok(G, vxen_gdma_addr_make(UINT32_MAX, 4095), 1, 1);
	ck_assert_uint_eq(r.offset, 4095);
}
END_TEST

START_TEST(decode__rejects_gref_range_overflowing_32_bits)
{
	/* last gref would be 2^32 */
	expect_fail(G, vxen_gdma_addr_make(UINT32_MAX, 0), 4097, 16, -EFAULT);
	expect_fail(G, vxen_gdma_addr_make(UINT32_MAX, 4095), 2, 16, -EFAULT);
	expect_fail(G, vxen_gdma_addr_make(UINT32_MAX - 1, 1), 8192, 16, -EFAULT);
	/* first gref itself beyond 32 bits */
	expect_fail(G, BIT63 | 1ull << 44, 1, 16, -EFAULT);
	expect_fail(G, BIT63 | ((1ull << 51) - 1) << 12, 1, 16, -EFAULT);
}
END_TEST

START_TEST(decode__overflow_checked_before_page_cap)
{
	/* A range that is both too large and overflowing reports the overflow. */
	expect_fail(G, vxen_gdma_addr_make(UINT32_MAX, 0), 1ull << 32, 1, -EFAULT);
}
END_TEST

START_TEST(decode__rejects_more_pages_than_cap)
{
	expect_fail(G, vxen_gdma_addr_make(1, 0), 4097, 1, -E2BIG);
	expect_fail(G, vxen_gdma_addr_make(1, 4095), 2, 1, -E2BIG);
	expect_ok(G, vxen_gdma_addr_make(1, 0), 4096 * 16, 16);
	expect_fail(G, vxen_gdma_addr_make(1, 1), 4096 * 16, 16, -E2BIG);
	expect_fail(F, 0x1000, 4096 * 17, 16, -E2BIG);
}
END_TEST

START_TEST(decode__rejects_huge_len)
{
	/* 4 GiB - 1 (the largest descriptor) and 4 GiB, against a realistic cap */
	expect_fail(G, vxen_gdma_addr_make(0, 0), UINT32_MAX, 1024, -E2BIG);
	expect_fail(G, vxen_gdma_addr_make(0, 0), 1ull << 32, 1024, -E2BIG);
	expect_fail(G, vxen_gdma_addr_make(0, 0), 1ull << 45, UINT32_MAX, -EFAULT);
}
END_TEST

START_TEST(decode__largest_cap_counts_all_pages)
{
	/* 4 GiB - 1 bytes at offset 1 is exactly 2^20 pages */
	struct vxen_gdma_range r = expect_ok(G, vxen_gdma_addr_make(0, 1), UINT32_MAX, UINT32_MAX);

	ck_assert_uint_eq(r.npages, 1u << 20);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Configuration validation (rejected before any Xen handle is opened)                         */

static void expect_bad_config(const struct vxen_gdma_config *cfg)
{
	vxen_gdma *g = (vxen_gdma *)0x1;

	ck_assert_int_eq(vxen_gdma_new(&g, cfg), -EINVAL);
	ck_assert_ptr_eq(g, (vxen_gdma *)0x1);
}

START_TEST(config__rejects_unknown_version)
{
	struct vxen_gdma_config c = VXEN_GDMA_CONFIG_INIT;

	c.domid = 1;
	c.version = 0;
	expect_bad_config(&c);
	c.version = VXEN_GDMA_CONFIG_VERSION + 1;
	expect_bad_config(&c);
}
END_TEST

START_TEST(config__rejects_reserved_domid)
{
	struct vxen_gdma_config c = VXEN_GDMA_CONFIG_INIT;

	c.domid = 0x7ff0; /* DOMID_FIRST_RESERVED */
	expect_bad_config(&c);
	c.domid = 0x7ff2; /* DOMID_IO */
	expect_bad_config(&c);
	c.domid = UINT32_MAX;
	expect_bad_config(&c);
}
END_TEST

START_TEST(config__rejects_unknown_mode_and_strategy)
{
	struct vxen_gdma_config c = VXEN_GDMA_CONFIG_INIT;

	c.domid = 1;
	c.mode = (enum vxen_gdma_mode)2;
	expect_bad_config(&c);
	c.mode = VXEN_GDMA_GRANT;
	c.strategy = (enum vxen_gdma_strategy)2;
	expect_bad_config(&c);
}
END_TEST

START_TEST(config__rejects_per_desc_in_foreign_mode)
{
	struct vxen_gdma_config c = VXEN_GDMA_CONFIG_INIT;

	c.domid = 1;
	c.mode = VXEN_GDMA_FOREIGN;
	c.strategy = VXEN_GDMA_PER_DESC;
	expect_bad_config(&c);
}
END_TEST

START_TEST(config__rejects_fields_over_their_limits)
{
	struct vxen_gdma_config base = VXEN_GDMA_CONFIG_INIT, c;

	base.domid = 1;
	c = base;
	c.max_chain_pages = VXEN_GDMA_MAX_CHAIN_PAGES_LIMIT + 1;
	expect_bad_config(&c);
	c = base;
	c.max_queue_pages = VXEN_GDMA_MAX_QUEUE_PAGES_LIMIT + 1;
	expect_bad_config(&c);
	c = base;
	c.copy_threshold = VXEN_GDMA_COPY_THRESHOLD_LIMIT + 1;
	expect_bad_config(&c);
	c = base;
	c.bucket_shift = VXEN_GDMA_BUCKET_SHIFT_MIN - 1;
	expect_bad_config(&c);
	c = base;
	c.bucket_shift = VXEN_GDMA_BUCKET_SHIFT_MAX + 1;
	expect_bad_config(&c);
	c = base;
	c.cache_buckets = VXEN_GDMA_CACHE_BUCKETS_LIMIT + 1;
	expect_bad_config(&c);
}
END_TEST

START_TEST(config__rejects_null_arguments)
{
	struct vxen_gdma_config c = VXEN_GDMA_CONFIG_INIT;
	vxen_gdma *g = NULL;

	ck_assert_int_eq(vxen_gdma_new(NULL, &c), -EINVAL);
	ck_assert_int_eq(vxen_gdma_new(&g, NULL), -EINVAL);
	ck_assert_ptr_null(g);
}
END_TEST

START_TEST(free__null_is_fine)
{
	vxen_gdma_free(NULL);
	vxen_gdma_queue_free(NULL);
	vxen_gdma_unmap_ring(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gdma_addr");
	TCase *tc = tcase_create("addr");
	TCase *tcc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, addr__bit63_marks_grant_addresses);
	tcase_add_test(tc, addr__make_and_accessors_round_trip);
	tcase_add_test(tc, addr__make_matches_linux_encoding);
	tcase_add_test(tc, addr__gref_field_is_51_bits_and_ignores_bit63);
	tcase_add_test(tc, addr__page_count_includes_in_page_offset);
	tcase_add_test(tc, addr__page_count_never_overflows);
	tcase_add_test(tc, decode__one_page_buffer);
	tcase_add_test(tc, decode__buffer_ending_exactly_on_page_boundary_is_one_page);
	tcase_add_test(tc, decode__multi_page_buffer_counts_offset);
	tcase_add_test(tc, decode__rejects_len_0);
	tcase_add_test(tc, decode__rejects_max_pages_0);
	tcase_add_test(tc, decode__grant_mode_rejects_address_without_bit63);
	tcase_add_test(tc, decode__foreign_mode_rejects_grant_address);
	tcase_add_test(tc, decode__foreign_mode_decodes_frames);
	tcase_add_test(tc, decode__rejects_range_wrapping_2_64);
	tcase_add_test(tc, decode__foreign_range_must_stay_below_bit63);
	tcase_add_test(tc, decode__foreign_range_is_page_capped);
	tcase_add_test(tc, decode__last_32bit_gref_is_accepted);
	tcase_add_test(tc, decode__rejects_gref_range_overflowing_32_bits);
	tcase_add_test(tc, decode__overflow_checked_before_page_cap);
	tcase_add_test(tc, decode__rejects_more_pages_than_cap);
	tcase_add_test(tc, decode__rejects_huge_len);
	tcase_add_test(tc, decode__largest_cap_counts_all_pages);
	suite_add_tcase(s, tc);
	tcase_add_test(tcc, config__rejects_unknown_version);
	tcase_add_test(tcc, config__rejects_reserved_domid);
	tcase_add_test(tcc, config__rejects_unknown_mode_and_strategy);
	tcase_add_test(tcc, config__rejects_per_desc_in_foreign_mode);
	tcase_add_test(tcc, config__rejects_fields_over_their_limits);
	tcase_add_test(tcc, config__rejects_null_arguments);
	tcase_add_test(tcc, free__null_is_fine);
	suite_add_tcase(s, tcc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
