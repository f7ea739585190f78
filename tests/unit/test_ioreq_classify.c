/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ioreq layer's pure helpers (lib/ioreq_priv.h): request classification
 * (virtio.md row 28), value masks, and the overflow-safe range check used for routing.
 */
#include <check.h>
#include <stdint.h>

#include <xen/hvm/ioreq.h>

#include "ioreq_priv.h"

static enum vxen_ioreq_class classify(uint8_t type, bool ptr, uint32_t count, uint32_t size)
{
	const struct vxen_ioreq_desc d = {
		.type = type, .data_is_ptr = ptr, .count = count, .size = size
	};

	return vxen_ioreq_classify(&d);
}

START_TEST(classify__single_mmio_accesses_of_1_2_4_8_bytes_are_routed)
{
	for (uint32_t size = 1; size <= 8; size *= 2)
		ck_assert_int_eq(classify(IOREQ_TYPE_COPY, false, 1, size), VXEN_IOREQ_CLASS_MMIO);
}
END_TEST

START_TEST(classify__invalidate_is_acknowledged_never_mmio)
{
	/* Whatever the other fields say (Xen sends addr 0, size 0 or garbage). */
	ck_assert_int_eq(classify(IOREQ_TYPE_INVALIDATE, false, 1, 4), VXEN_IOREQ_CLASS_INVALIDATE);
	ck_assert_int_eq(classify(IOREQ_TYPE_INVALIDATE, true, 0, 0), VXEN_IOREQ_CLASS_INVALIDATE);
	ck_assert_int_eq(classify(IOREQ_TYPE_INVALIDATE, false, 7, 3), VXEN_IOREQ_CLASS_INVALIDATE);
}
END_TEST

START_TEST(classify__other_and_unknown_types_are_not_mmio)
{
	static const uint8_t types[] = { IOREQ_TYPE_PIO,
					 IOREQ_TYPE_PCI_CONFIG,
					 IOREQ_TYPE_TIMEOFFSET,
					 3,
					 4,
					 5,
					 6,
					 9,
					 0x7f,
					 0xff };

	for (size_t i = 0; i < sizeof(types); i++)
		ck_assert_int_eq(classify(types[i], false, 1, 4), VXEN_IOREQ_CLASS_OTHER);
}
END_TEST

START_TEST(classify__data_is_ptr_is_rejected)
{
	ck_assert_int_eq(classify(IOREQ_TYPE_COPY, true, 1, 4), VXEN_IOREQ_CLASS_REJECT);
}
END_TEST

START_TEST(classify__rep_counts_other_than_1_are_rejected)
{
	static const uint32_t counts[] = { 0, 2, 16, 0x80000000u, UINT32_MAX };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		ck_assert_int_eq(classify(IOREQ_TYPE_COPY, false, counts[i], 4),
				 VXEN_IOREQ_CLASS_REJECT);
}
END_TEST

START_TEST(classify__odd_sizes_are_rejected)
{
	static const uint32_t sizes[] = { 0, 3, 5, 6, 7, 9, 16, 32, 0x100, UINT32_MAX };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		ck_assert_int_eq(classify(IOREQ_TYPE_COPY, false, 1, sizes[i]),
				 VXEN_IOREQ_CLASS_REJECT);
}
END_TEST

START_TEST(mask__covers_low_size_bytes)
{
	ck_assert_uint_eq(vxen_ioreq_size_mask(0), 0);
	ck_assert_uint_eq(vxen_ioreq_size_mask(1), 0xff);
	ck_assert_uint_eq(vxen_ioreq_size_mask(2), 0xffff);
	ck_assert_uint_eq(vxen_ioreq_size_mask(3), 0xffffff);
	ck_assert_uint_eq(vxen_ioreq_size_mask(4), 0xffffffffu);
	ck_assert_uint_eq(vxen_ioreq_size_mask(7), 0xffffffffffffffULL);
	ck_assert_uint_eq(vxen_ioreq_size_mask(8), UINT64_MAX);
	ck_assert_uint_eq(vxen_ioreq_size_mask(9), UINT64_MAX);
	ck_assert_uint_eq(vxen_ioreq_size_mask(UINT32_MAX), UINT64_MAX);
}
END_TEST

START_TEST(within__accesses_inside_and_at_the_edges)
{
	const uint64_t base = 0x2000000, last = 0x20001ff;

	ck_assert(vxen_ioreq_access_within(base, 4, base, last));
	ck_assert(vxen_ioreq_access_within(last - 7, 8, base, last));
	ck_assert(vxen_ioreq_access_within(last, 1, base, last));
	ck_assert(!vxen_ioreq_access_within(last - 3, 8, base, last)); /* runs past the end */
	ck_assert(!vxen_ioreq_access_within(base - 1, 1, base, last));
	ck_assert(!vxen_ioreq_access_within(base - 2, 4, base, last)); /* starts before */
	ck_assert(!vxen_ioreq_access_within(last + 1, 1, base, last));
	ck_assert(!vxen_ioreq_access_within(base, 0, base, last));
}
END_TEST

START_TEST(within__never_overflows_near_2_64)
{
	const uint64_t top = UINT64_MAX;

	ck_assert(vxen_ioreq_access_within(top - 7, 8, top - 0x1ff, top));
	ck_assert(vxen_ioreq_access_within(top, 1, top - 0x1ff, top));
	ck_assert(!vxen_ioreq_access_within(top, 8, top - 0x1ff, top));
	ck_assert(!vxen_ioreq_access_within(top - 3, UINT32_MAX, 0, top));
	ck_assert(vxen_ioreq_access_within(0, UINT32_MAX, 0, top));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ioreq_classify");
	TCase *tc = tcase_create("classify");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, classify__single_mmio_accesses_of_1_2_4_8_bytes_are_routed);
	tcase_add_test(tc, classify__invalidate_is_acknowledged_never_mmio);
	tcase_add_test(tc, classify__other_and_unknown_types_are_not_mmio);
	tcase_add_test(tc, classify__data_is_ptr_is_rejected);
	tcase_add_test(tc, classify__rep_counts_other_than_1_are_rejected);
	tcase_add_test(tc, classify__odd_sizes_are_rejected);
	tcase_add_test(tc, mask__covers_low_size_bytes);
	tcase_add_test(tc, within__accesses_inside_and_at_the_edges);
	tcase_add_test(tc, within__never_overflows_near_2_64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
