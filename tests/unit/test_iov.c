/* SPDX-License-Identifier: MIT */
/* Unit tests of the iovec cursors (include/virtio-xen/iov.h). */
#include <check.h>
#include <string.h>

#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>

static char a[5], b[1], c[7];
/* Five entries, two of them empty: 5 + 0 + 1 + 0 + 7 = 13 bytes. */
static struct iovec vec[5];

static void setup(void)
{
	memcpy(a, "hello", 5);
	b[0] = ' ';
	memcpy(c, "world!!", 7);
	vec[0] = (struct iovec){ a, 5 };
	vec[1] = (struct iovec){ NULL, 0 };
	vec[2] = (struct iovec){ b, 1 };
	vec[3] = (struct iovec){ c, 0 };
	vec[4] = (struct iovec){ c, 7 };
}

START_TEST(iov__pull_crosses_entries_and_skips_empty_ones)
{
	struct vxen_iov_cursor cur;
	char out[32] = { 0 };

	vxen_iov_cursor_init(&cur, vec, 5);
	ck_assert_uint_eq(vxen_iov_pull(&cur, out, 3), 3);
	ck_assert_uint_eq(vxen_iov_pull(&cur, out + 3, 6), 6);
	ck_assert_str_eq(out, "hello wor");
	ck_assert_uint_eq(vxen_iov_remaining(&cur), 4);
}
END_TEST

START_TEST(iov__pull_past_end_returns_short_count)
{
	struct vxen_iov_cursor cur;
	char out[32] = { 0 };

	vxen_iov_cursor_init(&cur, vec, 5);
	ck_assert_uint_eq(vxen_iov_pull(&cur, out, sizeof(out)), 13);
	ck_assert_str_eq(out, "hello world!!");
	ck_assert_uint_eq(vxen_iov_remaining(&cur), 0);
	ck_assert_uint_eq(vxen_iov_pull(&cur, out, 1), 0);
	ck_assert_uint_eq(cur.idx, 5);
}
END_TEST

START_TEST(iov__push_writes_across_entries)
{
	struct vxen_iov_cursor cur;

	vxen_iov_cursor_init(&cur, vec, 5);
	ck_assert_uint_eq(vxen_iov_skip(&cur, 4), 4);
	ck_assert_uint_eq(vxen_iov_push(&cur, "XYZW", 4), 4);
	ck_assert_int_eq(memcmp(a, "hellX", 5), 0);
	ck_assert_int_eq(b[0], 'Y');
	ck_assert_int_eq(memcmp(c, "ZWrld!!", 7), 0);
	ck_assert_uint_eq(vxen_iov_push(&cur, "0123456789", 10), 5);
	ck_assert_int_eq(memcmp(c, "ZW01234", 7), 0);
}
END_TEST

START_TEST(iov__skip_is_bounded_by_the_end)
{
	struct vxen_iov_cursor cur;

	vxen_iov_cursor_init(&cur, vec, 5);
	ck_assert_uint_eq(vxen_iov_skip(&cur, 100), 13);
	ck_assert_uint_eq(vxen_iov_skip(&cur, 1), 0);
	ck_assert_uint_eq(vxen_iov_remaining(&cur), 0);
}
END_TEST

START_TEST(iov__zero_length_calls_do_nothing)
{
	struct vxen_iov_cursor cur;

	vxen_iov_cursor_init(&cur, vec, 5);
	ck_assert_uint_eq(vxen_iov_pull(&cur, NULL, 0), 0);
	ck_assert_uint_eq(vxen_iov_push(&cur, NULL, 0), 0);
	ck_assert_uint_eq(vxen_iov_remaining(&cur), 13);
}
END_TEST

START_TEST(iov__empty_array_and_all_empty_entries)
{
	struct iovec empties[3] = { { a, 0 }, { NULL, 0 }, { c, 0 } };
	struct vxen_iov_cursor cur;
	char x;

	vxen_iov_cursor_init(&cur, NULL, 0);
	ck_assert_uint_eq(vxen_iov_remaining(&cur), 0);
	ck_assert_uint_eq(vxen_iov_pull(&cur, &x, 1), 0);
	vxen_iov_cursor_init(&cur, empties, 3);
	ck_assert_uint_eq(cur.idx, 3);
	ck_assert_uint_eq(vxen_iov_pull(&cur, &x, 1), 0);
}
END_TEST

START_TEST(iov__total_sums_lengths)
{
	ck_assert_uint_eq(vxen_iov_total(vec, 5), 13);
	ck_assert_uint_eq(vxen_iov_total(vec, 0), 0);
}
END_TEST

START_TEST(iov__cursor_copy_remembers_a_position)
{
	struct vxen_iov_cursor cur, saved;
	char x[4] = { 0 };

	vxen_iov_cursor_init(&cur, vec, 5);
	vxen_iov_skip(&cur, 5);
	saved = cur;
	vxen_iov_skip(&cur, 3);
	ck_assert_uint_eq(vxen_iov_pull(&saved, x, 3), 3);
	ck_assert_str_eq(x, " wo");
}
END_TEST

START_TEST(iov__request_cursors_split_readable_and_writable)
{
	struct iovec iov[3] = { { a, 5 }, { b, 1 }, { c, 7 } };
	struct vxen_req req = { .iov = iov, .iov_cap = 3, .n_out = 2, .n_in = 1 };
	struct vxen_iov_cursor out, in;
	char buf[16] = { 0 };

	vxen_req_out_cursor(&req, &out);
	vxen_req_in_cursor(&req, &in);
	ck_assert_uint_eq(vxen_iov_remaining(&out), 6);
	ck_assert_uint_eq(vxen_iov_remaining(&in), 7);
	ck_assert_uint_eq(vxen_iov_pull(&out, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "hello ");
	ck_assert_uint_eq(vxen_iov_push(&in, "abcdefgh", 8), 7);
	ck_assert_int_eq(memcmp(c, "abcdefg", 7), 0);
}
END_TEST

START_TEST(iov__request_without_writable_part_has_empty_in_cursor)
{
	struct iovec iov[1] = { { a, 5 } };
	struct vxen_req req = { .iov = iov, .iov_cap = 1, .n_out = 1, .n_in = 0 };
	struct vxen_iov_cursor in;

	vxen_req_in_cursor(&req, &in);
	ck_assert_uint_eq(vxen_iov_remaining(&in), 0);
	ck_assert_uint_eq(vxen_iov_push(&in, "x", 1), 0);
	ck_assert_int_eq(memcmp(a, "hello", 5), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("iov");
	TCase *tc = tcase_create("cursor");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, iov__pull_crosses_entries_and_skips_empty_ones);
	tcase_add_test(tc, iov__pull_past_end_returns_short_count);
	tcase_add_test(tc, iov__push_writes_across_entries);
	tcase_add_test(tc, iov__skip_is_bounded_by_the_end);
	tcase_add_test(tc, iov__zero_length_calls_do_nothing);
	tcase_add_test(tc, iov__empty_array_and_all_empty_entries);
	tcase_add_test(tc, iov__total_sums_lengths);
	tcase_add_test(tc, iov__cursor_copy_remembers_a_position);
	tcase_add_test(tc, iov__request_cursors_split_readable_and_writable);
	tcase_add_test(tc, iov__request_without_writable_part_has_empty_in_cursor);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
