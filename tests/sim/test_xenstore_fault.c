/* SPDX-License-Identifier: MIT */
/* xensim xenstored: fault injection for the XENSIM_OP_XS_* ops, and the xs_* counters. */
#include "xenstore_test.h"

/* Issue one call of @op (in transaction @t where the op needs one). */
static int call_op(struct xs_client *c, enum xensim_op op, uint32_t t)
{
	char *v = NULL;
	int rc;

	switch (op) {
	case XENSIM_OP_XS_READ:
		rc = xst_read(c, 0, "/f/node", &v);
		free(v);
		return rc;
	case XENSIM_OP_XS_WRITE:
		return xst_write(c, 0, "/f/node", "w");
	case XENSIM_OP_XS_DIRECTORY:
		return xst_simple(c, XS_DIRECTORY, 0, "/f");
	case XENSIM_OP_XS_MKDIR:
		return xst_simple(c, XS_MKDIR, 0, "/f/dir");
	case XENSIM_OP_XS_RM:
		return xst_simple(c, XS_RM, 0, "/f/dir");
	case XENSIM_OP_XS_WATCH:
		return xst_two(c, XS_WATCH, "/f", "tok");
	case XENSIM_OP_XS_TRANSACTION_START:
		return xst_simple(c, XS_TRANSACTION_START, 0, "");
	case XENSIM_OP_XS_TRANSACTION_END:
		return xst_end(c, t, true);
	default:
		return -999;
	}
}

static const enum xensim_op ops[] = {
	XENSIM_OP_XS_READ,
	XENSIM_OP_XS_WRITE,
	XENSIM_OP_XS_DIRECTORY,
	XENSIM_OP_XS_MKDIR,
	XENSIM_OP_XS_RM,
	XENSIM_OP_XS_WATCH,
	XENSIM_OP_XS_TRANSACTION_START,
	XENSIM_OP_XS_TRANSACTION_END,
};

START_TEST(xenstore__armed_fault_fails_next_call_of_each_op_once)
{
	enum xensim_op op = ops[_i];
	struct xs_client *c = xst_open(0);
	uint32_t t1, t2;

	ck_assert_int_eq(xst_write(c, 0, "/f/node", "v"), 0);
	t1 = xst_txn(c);
	t2 = xst_txn(c);
	ck_assert_int_eq(xs_server_fault(xst_srv, op, 1, EIO), 0);
	ck_assert_int_eq(call_op(c, op, t1), -EIO);
	if (op == XENSIM_OP_XS_WATCH)
		ck_assert_int_eq(xst_two(c, XS_WATCH, "/f", "tok2"), 0);
	else
		ck_assert_int_eq(call_op(c, op, t2), 0);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__fault_hits_the_nth_call_only)
{
	struct xs_client *c = xst_open(0);

	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_WRITE, 3, EACCES), 0);
	ck_assert_int_eq(xst_write(c, 0, "/n1", "1"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/n2", "2"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/n3", "3"), -EACCES);
	ck_assert_int_eq(xst_write(c, 0, "/n4", "4"), 0);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__two_faults_on_one_op_fire_at_their_own_calls)
{
	struct xs_client *c = xst_open(0);
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/r", "1"), 0);
	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_READ, 1, ENOENT), 0);
	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_READ, 2, EAGAIN), 0);
	ck_assert_int_eq(xst_read(c, 0, "/r", &v), -ENOENT);
	ck_assert_int_eq(xst_read(c, 0, "/r", &v), -EAGAIN);
	ck_assert_int_eq(xst_read(c, 0, "/r", &v), 0);
	free(v);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__injected_EAGAIN_at_commit_discards_transaction_and_retry_works)
{
	struct xs_client *c = xst_open(0);
	uint32_t t = xst_txn(c);
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, t, "/tx", "1"), 0);
	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_TRANSACTION_END, 1, EAGAIN), 0);
	ck_assert_int_eq(xst_end(c, t, true), -EAGAIN);
	ck_assert_int_eq(xst_read(c, 0, "/tx", &v), -ENOENT);
	ck_assert_int_eq(xst_end(c, t, true), -ENOENT);
	t = xst_txn(c);
	ck_assert_int_eq(xst_write(c, t, "/tx", "1"), 0);
	ck_assert_int_eq(xst_end(c, t, true), 0);
	xst_expect(c, "/tx", "1");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__fault_clear_disarms_pending_faults)
{
	struct xs_client *c = xst_open(0);

	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_MKDIR, 1, EIO), 0);
	xs_server_fault_clear(xst_srv);
	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/ok"), 0);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__fault_rejects_non_xenstore_ops_and_bad_arguments)
{
	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_GNT_MAP, 1, EIO), -EINVAL);
	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_READ, 0, EIO), -EINVAL);
	ck_assert_int_eq(xs_server_fault(xst_srv, XENSIM_OP_XS_READ, 1, 0), -EINVAL);
}
END_TEST

START_TEST(xenstore__counters_count_ops_watches_transactions_and_events)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);
	struct xensim_counters k = { 0 };
	uint32_t t;

	xs_server_counters_reset(xst_srv);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/cnt", "t"), 0); /* op 1, event 1 */
	ck_assert_str_eq(xst_event(w, 2000), "/cnt|t");
	ck_assert_int_eq(xst_write(c, 0, "/cnt/a", "1"), 0); /* op 2, event 2 */
	ck_assert_str_eq(xst_event(w, 2000), "/cnt/a|t");
	t = xst_txn(c);				   /* op 3 */
	ck_assert_int_eq(xst_end(c, t, false), 0); /* op 4 */
	xs_server_counters(xst_srv, &k);
	ck_assert_uint_eq(k.xs_ops, 4);
	ck_assert_uint_eq(k.xs_watches_live, 1);
	ck_assert_uint_eq(k.xs_transactions, 1);
	ck_assert_uint_eq(k.xs_watch_events, 2);
	xs_server_counters_reset(xst_srv);
	xs_server_counters(xst_srv, &k);
	ck_assert_uint_eq(k.xs_ops, 0);
	ck_assert_uint_eq(k.xs_transactions, 0);
	ck_assert_uint_eq(k.xs_watch_events, 0);
	ck_assert_uint_eq(k.xs_watches_live, 1); /* a gauge: kept */
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__closing_a_connection_drops_its_watches)
{
	struct xs_client *w = xst_open(0);
	struct xensim_counters k = { 0 };

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/a", "1"), 0);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/b", "2"), 0);
	xs_client_close(w);
	for (int i = 0; i < 200; i++) {
		xs_server_counters(xst_srv, &k);
		if (!k.xs_watches_live)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(k.xs_watches_live, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_fault");
	TCase *tc = tcase_create("fault");

	tcase_add_checked_fixture(tc, xst_setup, xst_teardown);
	tcase_add_loop_test(tc, xenstore__armed_fault_fails_next_call_of_each_op_once, 0,
			    (int)(sizeof(ops) / sizeof(ops[0])));
	tcase_add_test(tc, xenstore__fault_hits_the_nth_call_only);
	tcase_add_test(tc, xenstore__two_faults_on_one_op_fire_at_their_own_calls);
	tcase_add_test(tc,
		       xenstore__injected_EAGAIN_at_commit_discards_transaction_and_retry_works);
	tcase_add_test(tc, xenstore__fault_clear_disarms_pending_faults);
	tcase_add_test(tc, xenstore__fault_rejects_non_xenstore_ops_and_bad_arguments);
	tcase_add_test(tc, xenstore__counters_count_ops_watches_transactions_and_events);
	tcase_add_test(tc, xenstore__closing_a_connection_drops_its_watches);
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
