/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of xs's pure parsers (lib/xs_priv.h) with the values libxl writes and with hostile
 * ones: signs, spaces, trailing junk, overflow, octal-looking numbers, wrong case, embedded
 * separators, empty and absent values. Every failure must leave the output untouched.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "xs_priv.h"

#define MARK64 0xa5a5a5a5a5a5a5a5ULL
#define MARK32 0xa5a5a5a5u

/* ---- decimal -------------------------------------------------------------------------- */

START_TEST(dec__accepts_canonical_decimal)
{
	uint64_t v = MARK64;

	ck_assert_int_eq(vxen_xs_parse_dec("0", 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(vxen_xs_parse_dec("33", 1019, &v), 0);
	ck_assert_uint_eq(v, 33);
	ck_assert_int_eq(vxen_xs_parse_dec("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(dec__rejects_garbage_and_leaves_output_untouched)
{
	static const char *const bad[] = { "",	  " 1",	  "1 ", "+1",  "-1",  "1a",
					   "a1",  "0x10", "01", "00",  "1.0", "1e3",
					   "1\n", "\t",	  "１", "1/2", "1,2" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = MARK64;

		ck_assert_msg(vxen_xs_parse_dec(bad[i], UINT64_MAX, &v) == -EINVAL, "'%s'", bad[i]);
		ck_assert_uint_eq(v, MARK64);
	}
}
END_TEST

START_TEST(dec__rejects_null)
{
	uint64_t v = MARK64;

	ck_assert_int_eq(vxen_xs_parse_dec(NULL, 10, &v), -EINVAL);
	ck_assert_uint_eq(v, MARK64);
}
END_TEST

START_TEST(dec__rejects_overflow_and_values_over_max)
{
	uint64_t v = MARK64;

	ck_assert_int_eq(vxen_xs_parse_dec("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(vxen_xs_parse_dec("99999999999999999999999999", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(vxen_xs_parse_dec("11", 10, &v), -ERANGE);
	ck_assert_int_eq(vxen_xs_parse_dec("4294967296", UINT32_MAX, &v), -ERANGE);
	ck_assert_uint_eq(v, MARK64);
	ck_assert_int_eq(vxen_xs_parse_dec("10", 10, &v), 0);
	ck_assert_uint_eq(v, 10);
}
END_TEST

/* ---- base (address) ------------------------------------------------------------------- */

START_TEST(addr__accepts_decimal_and_hex_forms_libxl_writes)
{
	uint64_t v = MARK64;

	ck_assert_int_eq(vxen_xs_parse_addr("33554432", &v), 0);
	ck_assert_uint_eq(v, 0x2000000);
	ck_assert_int_eq(vxen_xs_parse_addr("0x2000000", &v), 0);
	ck_assert_uint_eq(v, 0x2000000);
	ck_assert_int_eq(vxen_xs_parse_addr("0X2000A00", &v), 0);
	ck_assert_uint_eq(v, 0x2000a00);
	ck_assert_int_eq(vxen_xs_parse_addr("0x0000000002000200", &v), 0);
	ck_assert_uint_eq(v, 0x2000200);
	ck_assert_int_eq(vxen_xs_parse_addr("0xffffffffffffffff", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(vxen_xs_parse_addr("0", &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(addr__rejects_garbage_trailing_junk_and_overflow)
{
	static const char *const bad[] = {
		"",	     "0x",	    "0x-1",
		"0x 10",     "0x10g",	    "0xx10",
		"x10",	     "10x",	    "033554432" /* octal to strtoul(.., 0) */,
		"-33554432", "+33554432",   "33554432 ",
		" 33554432", "0x2000000\n", "0b101",
		"2e6",	     "0x1_0"
	};
	uint64_t v = MARK64;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vxen_xs_parse_addr(bad[i], &v) == -EINVAL, "'%s'", bad[i]);
	ck_assert_int_eq(vxen_xs_parse_addr("0x10000000000000000", &v), -ERANGE);
	ck_assert_int_eq(vxen_xs_parse_addr("18446744073709551616", &v), -ERANGE);
	ck_assert_int_eq(vxen_xs_parse_addr(NULL, &v), -EINVAL);
	ck_assert_uint_eq(v, MARK64);
}
END_TEST

/* ---- type ----------------------------------------------------------------------------- */

START_TEST(type__reads_virtio_id_as_lowercase_hex)
{
	uint32_t id = MARK32;

	ck_assert_int_eq(vxen_xs_parse_type("virtio,device2", &id), 0);
	ck_assert_uint_eq(id, 2);
	ck_assert_int_eq(vxen_xs_parse_type("virtio,device4", &id), 0);
	ck_assert_uint_eq(id, 4);
	/* The device-tree binding's id is hex: virtio-i2c (34) is "virtio,device22". */
	ck_assert_int_eq(vxen_xs_parse_type("virtio,device22", &id), 0);
	ck_assert_uint_eq(id, 34);
	ck_assert_int_eq(vxen_xs_parse_type("virtio,device1a", &id), 0);
	ck_assert_uint_eq(id, 26);
	ck_assert_int_eq(vxen_xs_parse_type("virtio,deviceffffffff", &id), 0);
	ck_assert_uint_eq(id, 0xffffffffu);
}
END_TEST

START_TEST(type__without_id_gives_0)
{
	uint32_t id = MARK32;

	ck_assert_int_eq(vxen_xs_parse_type("virtio,device", &id), 0);
	ck_assert_uint_eq(id, 0);
}
END_TEST

START_TEST(type__rejects_other_strings)
{
	static const char *const bad[] = {
		"",
		"virtio",
		"virtio,device-1",
		"virtio,device 2",
		"virtio,device2 ",
		"virtio,device1A",
		"virtio,device0x2",
		"virtio,deviceg",
		"virtio,device123456789" /* 9 digits */,
		"Virtio,device2",
		"virtio,mmio",
		"virtio, device2",
		"virtio,device2\n",
		"xen,virtio,device2",
		"virtio,device+2",
	};
	uint32_t id = MARK32;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vxen_xs_parse_type(bad[i], &id) == -EINVAL, "'%s'", bad[i]);
	ck_assert_int_eq(vxen_xs_parse_type(NULL, &id), -EINVAL);
	ck_assert_uint_eq(id, MARK32);
}
END_TEST

/* ---- transport, grant_usage, mode, state ---------------------------------------------- */

START_TEST(transport__only_mmio)
{
	ck_assert_int_eq(vxen_xs_parse_transport("mmio"), 0);
	ck_assert_int_eq(vxen_xs_parse_transport("pci"), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_transport("MMIO"), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_transport("mmio "), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_transport(""), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_transport(NULL), -EINVAL);
}
END_TEST

START_TEST(grant_usage__explicit_values)
{
	bool g = true;

	ck_assert_int_eq(vxen_xs_parse_grant_usage("0", 5, &g), 0);
	ck_assert(!g);
	ck_assert_int_eq(vxen_xs_parse_grant_usage("1", 0, &g), 0);
	ck_assert(g);
}
END_TEST

START_TEST(grant_usage__absent_means_grants_iff_backend_not_dom0)
{
	bool g = true;

	ck_assert_int_eq(vxen_xs_parse_grant_usage(NULL, 0, &g), 0);
	ck_assert(!g);
	ck_assert_int_eq(vxen_xs_parse_grant_usage(NULL, 3, &g), 0);
	ck_assert(g);
}
END_TEST

START_TEST(grant_usage__rejects_other_values)
{
	static const char *const bad[] = { "", "2", "01", "true", "yes", " 1", "1 ", "-1", "10" };
	bool g = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vxen_xs_parse_grant_usage(bad[i], 0, &g) == -EINVAL, "'%s'", bad[i]);
	ck_assert(g);
}
END_TEST

START_TEST(mode__w_and_r_only)
{
	static const char *const bad[] = { "", "rw", "W", "R", "w ", "wr", "ro", "x" };
	bool wr = false;

	ck_assert_int_eq(vxen_xs_parse_mode("w", &wr), 0);
	ck_assert(wr);
	ck_assert_int_eq(vxen_xs_parse_mode("r", &wr), 0);
	ck_assert(!wr);
	wr = true;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vxen_xs_parse_mode(bad[i], &wr) == -EINVAL, "'%s'", bad[i]);
	ck_assert_int_eq(vxen_xs_parse_mode(NULL, &wr), -EINVAL);
	ck_assert(wr);
}
END_TEST

START_TEST(state__xenbus_states_0_to_8)
{
	enum vxen_xenbus_state st = VXEN_XB_CONNECTED;

	ck_assert_int_eq(vxen_xs_parse_state("2", &st), 0);
	ck_assert_int_eq(st, VXEN_XB_INITWAIT);
	ck_assert_int_eq(vxen_xs_parse_state("6", &st), 0);
	ck_assert_int_eq(st, VXEN_XB_CLOSED);
	ck_assert_int_eq(vxen_xs_parse_state("0", &st), 0);
	ck_assert_int_eq(st, VXEN_XB_UNKNOWN);
	st = VXEN_XB_CONNECTED;
	ck_assert_int_eq(vxen_xs_parse_state("9", &st), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_state("-1", &st), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_state("04", &st), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_state("4294967300", &st), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_state("", &st), -EINVAL);
	ck_assert_int_eq(vxen_xs_parse_state(NULL, &st), -EINVAL);
	ck_assert_int_eq(st, VXEN_XB_CONNECTED);
}
END_TEST

/* ---- frontend path -------------------------------------------------------------------- */

START_TEST(frontend__accepts_the_devices_own_path)
{
	ck_assert_int_eq(vxen_xs_check_frontend("/local/domain/5/device/virtio/0", 5, "virtio", 0),
			 0);
	ck_assert_int_eq(vxen_xs_check_frontend("/local/domain/12/device/virtio_disk/3", 12,
						"virtio_disk", 3),
			 0);
}
END_TEST

START_TEST(frontend__rejects_other_domains_devices_and_paths)
{
	static const char *const bad[] = {
		"/local/domain/6/device/virtio/0",    /* another domain */
		"/local/domain/5/device/virtio/1",    /* another device */
		"/local/domain/5/device/vif/0",	      /* another kind */
		"/local/domain/0/backend/virtio/5/0", /* our own backend area */
		"/local/domain/5/device/virtio/0/",   /* trailing slash */
		"/local/domain/5/device/virtio/0/../../../../0",
		"local/domain/5/device/virtio/0",   /* relative */
		"/local/domain/05/device/virtio/0", /* non-canonical */
		"",
		"/",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vxen_xs_check_frontend(bad[i], 5, "virtio", 0) == -EINVAL, "'%s'",
			      bad[i]);
	ck_assert_int_eq(vxen_xs_check_frontend(NULL, 5, "virtio", 0), -EINVAL);
}
END_TEST

/* ---- watch paths ---------------------------------------------------------------------- */

#define ROOT "/local/domain/0/backend/virtio"

START_TEST(split__depths_of_backend_paths)
{
	uint32_t fe = MARK32, devid = MARK32;

	ck_assert_int_eq(vxen_xs_split_path(ROOT, ROOT, &fe, &devid), 0);
	ck_assert_int_eq(vxen_xs_split_path(ROOT "/7", ROOT, &fe, &devid), 1);
	ck_assert_uint_eq(fe, 7);
	ck_assert_int_eq(vxen_xs_split_path(ROOT "/7/3", ROOT, &fe, &devid), 2);
	ck_assert_uint_eq(fe, 7);
	ck_assert_uint_eq(devid, 3);
	fe = devid = 0;
	ck_assert_int_eq(vxen_xs_split_path(ROOT "/8/0/state", ROOT, &fe, &devid), 2);
	ck_assert_uint_eq(fe, 8);
	ck_assert_uint_eq(devid, 0);
	ck_assert_int_eq(vxen_xs_split_path(ROOT "/8/0/a/b/c", ROOT, &fe, &devid), 2);
}
END_TEST

START_TEST(split__rejects_paths_outside_root_and_bad_components)
{
	static const char *const bad[] = {
		"/local/domain/0/backend/virtio_disk/1/0", /* a sibling sharing the prefix */
		"/local/domain/0/backend/virtiox",
		"/local/domain/0/backend",
		ROOT "/",
		ROOT "//0",
		ROOT "/x/0",
		ROOT "/01/0",
		ROOT "/1/00",
		ROOT "/1/-1",
		ROOT "/32752/0", /* DOMID_FIRST_RESERVED */
		ROOT "/1/4294967296",
		ROOT "/1/0x1",
		"",
	};
	uint32_t fe = MARK32, devid = MARK32;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vxen_xs_split_path(bad[i], ROOT, &fe, &devid) == -EINVAL, "'%s'",
			      bad[i]);
	ck_assert_int_eq(vxen_xs_split_path(NULL, ROOT, &fe, &devid), -EINVAL);
	ck_assert_int_eq(vxen_xs_split_path(ROOT "/32751/4294967295", ROOT, &fe, &devid), 2);
	ck_assert_uint_eq(fe, 32751);
	ck_assert_uint_eq(devid, UINT32_MAX);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xs_parse");
	TCase *tc = tcase_create("numbers");
	TCase *tv = tcase_create("values");
	TCase *tp = tcase_create("paths");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, dec__accepts_canonical_decimal);
	tcase_add_test(tc, dec__rejects_garbage_and_leaves_output_untouched);
	tcase_add_test(tc, dec__rejects_null);
	tcase_add_test(tc, dec__rejects_overflow_and_values_over_max);
	tcase_add_test(tc, addr__accepts_decimal_and_hex_forms_libxl_writes);
	tcase_add_test(tc, addr__rejects_garbage_trailing_junk_and_overflow);
	suite_add_tcase(s, tc);
	tcase_add_test(tv, type__reads_virtio_id_as_lowercase_hex);
	tcase_add_test(tv, type__without_id_gives_0);
	tcase_add_test(tv, type__rejects_other_strings);
	tcase_add_test(tv, transport__only_mmio);
	tcase_add_test(tv, grant_usage__explicit_values);
	tcase_add_test(tv, grant_usage__absent_means_grants_iff_backend_not_dom0);
	tcase_add_test(tv, grant_usage__rejects_other_values);
	tcase_add_test(tv, mode__w_and_r_only);
	tcase_add_test(tv, state__xenbus_states_0_to_8);
	suite_add_tcase(s, tv);
	tcase_add_test(tp, frontend__accepts_the_devices_own_path);
	tcase_add_test(tp, frontend__rejects_other_domains_devices_and_paths);
	tcase_add_test(tp, split__depths_of_backend_paths);
	tcase_add_test(tp, split__rejects_paths_outside_root_and_bad_components);
	suite_add_tcase(s, tp);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
