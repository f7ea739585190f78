/* SPDX-License-Identifier: MIT */
/*
 * xensim fidelity: ioreq servers and guest MMIO through them.
 */
#include <check.h>
#include <errno.h>
#include <sys/mman.h>

#include "helper_xensim.h"

#define BASE 0x2000000ULL

static struct xt_machine m;

static void setup(void)
{
	xt_machine_start(&m, 2);
}

static void teardown(void)
{
	xt_machine_stop(&m);
}

START_TEST(ioreq__mmio_read_is_answered_by_backend_thread)
{
	struct xt_backend b = { .read_value = 0x1234 };
	uint64_t v = 0;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE + 0x10, 4, &v), 0);
	ck_assert_uint_eq(v, (0x1234 ^ (BASE + 0x10)) & 0xffffffffu);
	ck_assert_uint_eq(b.reads, 1);
	ck_assert_uint_eq(b.last_size, 4);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__mmio_write_carries_data_to_backend)
{
	struct xt_backend b = { 0 };

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_mmio_write(m.g, 1, BASE + 0x50, 4, 0xdeadbeef), 0);
	ck_assert_uint_eq(b.writes, 1);
	ck_assert_uint_eq(b.last_data, 0xdeadbeef);
	ck_assert_uint_eq(b.last_addr, BASE + 0x50);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__access_outside_any_range_faults)
{
	struct xt_backend b = { 0 };
	uint64_t v;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE + 0x200, 4, &v), -EFAULT);
	/* Straddling the end of the range: not every byte is claimed. */
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE + 0x1fe, 4, &v), -EFAULT);
	xt_backend_stop(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_ioreq");
	TCase *tc = tcase_create("ioreq");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ioreq__mmio_read_is_answered_by_backend_thread);
	tcase_add_test(tc, ioreq__mmio_write_carries_data_to_backend);
	tcase_add_test(tc, ioreq__access_outside_any_range_faults);
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
