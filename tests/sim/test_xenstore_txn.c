/* SPDX-License-Identifier: MIT */
/* xensim xenstored: transactions (isolation, optimistic commit, EAGAIN, watches at commit). */
#include "xenstore_test.h"

#define NONE 200

START_TEST(xenstore__transaction_writes_are_invisible_until_commit)
{
	struct xs_client *c = xst_open(0), *o = xst_open(0);
	uint32_t t = xst_txn(c);
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, t, "/t/a", "1"), 0);
	ck_assert_int_eq(xst_read(c, t, "/t/a", &v), 0);
	ck_assert_str_eq(v, "1");
	free(v);
	ck_assert_int_eq(xst_read(o, 0, "/t/a", &v), -ENOENT);
	ck_assert_int_eq(xst_end(c, t, true), 0);
	xst_expect(o, "/t/a", "1");
	xs_client_close(o);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__conflicting_write_makes_commit_EAGAIN_then_retry_succeeds)
{
	struct xs_client *c = xst_open(0), *o = xst_open(0);
	uint32_t t;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/n", "0"), 0);
	t = xst_txn(c);
	ck_assert_int_eq(xst_read(c, t, "/n", &v), 0);
	free(v);
	ck_assert_int_eq(xst_write(c, t, "/n", "from-txn"), 0);
	ck_assert_int_eq(xst_write(o, 0, "/n", "other"), 0);
	ck_assert_int_eq(xst_end(c, t, true), -EAGAIN);
	xst_expect(o, "/n", "other");
	/* the failed transaction is gone */
	ck_assert_int_eq(xst_write(c, t, "/n", "x"), -ENOENT);
	/* retry, as libxl does */
	t = xst_txn(c);
	ck_assert_int_eq(xst_write(c, t, "/n", "from-txn"), 0);
	ck_assert_int_eq(xst_end(c, t, true), 0);
	xst_expect(o, "/n", "from-txn");
	xs_client_close(o);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__node_only_read_in_transaction_also_conflicts)
{
	struct xs_client *c = xst_open(0), *o = xst_open(0);
	uint32_t t;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/in", "1"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/out", "1"), 0);
	t = xst_txn(c);
	ck_assert_int_eq(xst_read(c, t, "/in", &v), 0);
	free(v);
	ck_assert_int_eq(xst_write(c, t, "/out", "2"), 0);
	ck_assert_int_eq(xst_write(o, 0, "/in", "changed"), 0);
	ck_assert_int_eq(xst_end(c, t, true), -EAGAIN);
	xst_expect(o, "/out", "1");
	xs_client_close(o);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__disjoint_transactions_both_commit)
{
	struct xs_client *c = xst_open(0), *o = xst_open(0);
	uint32_t t1, t2;

	ck_assert_int_eq(xst_write(c, 0, "/j/x", "0"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/j/y", "0"), 0);
	t1 = xst_txn(c);
	t2 = xst_txn(o);
	ck_assert_int_eq(xst_write(c, t1, "/j/x", "1"), 0);
	ck_assert_int_eq(xst_write(o, t2, "/j/y", "2"), 0);
	ck_assert_int_eq(xst_end(o, t2, true), 0);
	ck_assert_int_eq(xst_end(c, t1, true), 0);
	xst_expect(c, "/j/x", "1");
	xst_expect(c, "/j/y", "2");
	xs_client_close(o);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__creating_a_node_created_meanwhile_conflicts)
{
	struct xs_client *c = xst_open(0), *o = xst_open(0);
	uint32_t t = xst_txn(c);

	ck_assert_int_eq(xst_write(c, t, "/race/new", "mine"), 0);
	ck_assert_int_eq(xst_write(o, 0, "/race/new", "theirs"), 0);
	ck_assert_int_eq(xst_end(c, t, true), -EAGAIN);
	xst_expect(c, "/race/new", "theirs");
	xs_client_close(o);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__abort_discards_changes)
{
	struct xs_client *c = xst_open(0);
	uint32_t t;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/keep", "k"), 0);
	t = xst_txn(c);
	ck_assert_int_eq(xst_write(c, t, "/ab/new", "1"), 0);
	ck_assert_int_eq(xst_simple(c, XS_RM, t, "/keep"), 0);
	ck_assert_int_eq(xst_read(c, t, "/keep", &v), -ENOENT);
	ck_assert_int_eq(xst_end(c, t, false), 0);
	ck_assert_int_eq(xst_read(c, 0, "/ab/new", &v), -ENOENT);
	xst_expect(c, "/keep", "k");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__watches_fire_at_commit_in_change_order)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);
	uint32_t t;

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/dev", "t"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/dev|t");
	t = xst_txn(c);
	ck_assert_int_eq(xst_write(c, t, "/dev/a", "1"), 0);
	ck_assert_int_eq(xst_write(c, t, "/dev/b", "2"), 0);
	ck_assert_str_eq(xst_event(w, NONE), "");
	ck_assert_int_eq(xst_end(c, t, true), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/dev/a|t");
	ck_assert_str_eq(xst_event(w, 2000), "/dev/b|t");
	/* an aborted transaction fires nothing */
	t = xst_txn(c);
	ck_assert_int_eq(xst_write(c, t, "/dev/c", "3"), 0);
	ck_assert_int_eq(xst_end(c, t, false), 0);
	ck_assert_str_eq(xst_event(w, NONE), "");
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__rm_and_recreate_in_transaction_commits)
{
	struct xs_client *c = xst_open(0);
	uint32_t t;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/rr/a/b", "old"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/rr/a/c", "old"), 0);
	t = xst_txn(c);
	ck_assert_int_eq(xst_simple(c, XS_RM, t, "/rr/a"), 0);
	ck_assert_int_eq(xst_write(c, t, "/rr/a/b", "new"), 0);
	ck_assert_int_eq(xst_end(c, t, true), 0);
	xst_expect(c, "/rr/a/b", "new");
	ck_assert_int_eq(xst_read(c, 0, "/rr/a/c", &v), -ENOENT);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__transaction_end_errors)
{
	struct xs_client *c = xst_open(0);
	uint32_t t = xst_txn(c);

	ck_assert_int_eq(xst_simple(c, XS_TRANSACTION_END, 0, "T"), -ENOENT);
	ck_assert_int_eq(xst_simple(c, XS_TRANSACTION_END, t, "X"), -EINVAL);
	ck_assert_int_eq(xst_simple(c, XS_TRANSACTION_START, t, ""), -EBUSY);
	ck_assert_int_eq(xst_end(c, t, true), 0);
	ck_assert_int_eq(xst_end(c, t, true), -ENOENT);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__more_than_ten_open_transactions_is_ENOSPC)
{
	struct xs_client *c = xst_open(0);
	struct xensim_counters k = { 0 };

	for (int i = 0; i < 10; i++)
		xst_txn(c);
	ck_assert_int_eq(xst_simple(c, XS_TRANSACTION_START, 0, ""), -ENOSPC);
	xs_server_counters(xst_srv, &k);
	ck_assert_uint_eq(k.xs_transactions, 10);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__transaction_ids_are_per_connection)
{
	struct xs_client *c = xst_open(0), *o = xst_open(0);
	uint32_t t = xst_txn(c);

	ck_assert_int_eq(xst_write(o, t, "/x", "v"), -ENOENT);
	ck_assert_int_eq(xst_end(c, t, false), 0);
	xs_client_close(o);
	xs_client_close(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_txn");
	TCase *tc = tcase_create("txn");

	tcase_add_checked_fixture(tc, xst_setup, xst_teardown);
	tcase_add_test(tc, xenstore__transaction_writes_are_invisible_until_commit);
	tcase_add_test(tc, xenstore__conflicting_write_makes_commit_EAGAIN_then_retry_succeeds);
	tcase_add_test(tc, xenstore__node_only_read_in_transaction_also_conflicts);
	tcase_add_test(tc, xenstore__disjoint_transactions_both_commit);
	tcase_add_test(tc, xenstore__creating_a_node_created_meanwhile_conflicts);
	tcase_add_test(tc, xenstore__abort_discards_changes);
	tcase_add_test(tc, xenstore__watches_fire_at_commit_in_change_order);
	tcase_add_test(tc, xenstore__rm_and_recreate_in_transaction_commits);
	tcase_add_test(tc, xenstore__transaction_end_errors);
	tcase_add_test(tc, xenstore__more_than_ten_open_transactions_is_ENOSPC);
	tcase_add_test(tc, xenstore__transaction_ids_are_per_connection);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
