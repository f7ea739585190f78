/* SPDX-License-Identifier: MIT */
/*
 * xensim xenstored: node operations and permissions, checked on the wire (raw socket) and
 * through xs_client.
 */
#include "xenstore_test.h"

static char buf[XENSTORE_PAYLOAD_MAX + 1];
static struct xsd_sockmsg h;

START_TEST(xenstore__read_replies_value_bytes_without_nul)
{
	int fd = xst_raw_connect();

	xst_raw_call(fd, XS_WRITE, 0, "/a\0hello", 8, &h, buf);
	xst_raw_call(fd, XS_READ, 0, "/a", 3, &h, buf);
	ck_assert_uint_eq(h.type, XS_READ);
	ck_assert_uint_eq(h.len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	close(fd);
}
END_TEST

START_TEST(xenstore__write_acks_OK_echoing_type_req_and_tx)
{
	int fd = xst_raw_connect();

	xst_raw_send(fd, XS_WRITE, 0xabcd, 0, "/a\0v", 4);
	ck_assert_int_eq(xst_raw_recv(fd, &h, buf, 5000), 0);
	ck_assert_uint_eq(h.type, XS_WRITE);
	ck_assert_uint_eq(h.req_id, 0xabcd);
	ck_assert_uint_eq(h.tx_id, 0);
	ck_assert_uint_eq(h.len, 3);
	ck_assert_mem_eq(buf, "OK\0", 3);
	close(fd);
}
END_TEST

START_TEST(xenstore__read_of_missing_node_is_XS_ERROR_ENOENT)
{
	int fd = xst_raw_connect();

	xst_raw_call(fd, XS_READ, 0, "/nope", 6, &h, buf);
	ck_assert_uint_eq(h.type, XS_ERROR);
	ck_assert_uint_eq(h.len, 7);
	ck_assert_mem_eq(buf, "ENOENT\0", 7);
	close(fd);
}
END_TEST

START_TEST(xenstore__write_of_empty_value_reads_back_empty)
{
	struct xs_client *c = xst_open(0);
	unsigned int len = 99;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/e", ""), 0);
	ck_assert_int_eq(xs_client_req_str(c, XS_READ, 0, "/e", &v, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(v);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__write_creates_missing_parents_copying_parent_perms)
{
	struct xs_client *c = xst_open(0);
	char *p = NULL;
	unsigned int len;

	ck_assert_int_eq(xst_write(c, 0, "/top", ""), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/top", "n0", "r5"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/top/b/c/d", "x"), 0);
	xst_expect(c, "/top/b/c/d", "x");
	xst_expect(c, "/top/b", "");
	ck_assert_int_eq(xs_client_req_str(c, XS_GET_PERMS, 0, "/top/b/c", &p, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(p, "n0\0r5\0", 6);
	free(p);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__unprivileged_creator_owns_new_nodes)
{
	struct xs_client *c = xst_open(0), *d;
	char *p = NULL;
	unsigned int len;

	ck_assert_int_eq(xst_write(c, 0, "/shared", ""), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/shared", "n0", "b5"), 0);
	d = xst_open(5);
	ck_assert_int_eq(xst_write(d, 0, "/shared/mine", "1"), 0);
	ck_assert_int_eq(xs_client_req_str(c, XS_GET_PERMS, 0, "/shared/mine", &p, &len), 0);
	ck_assert_mem_eq(p, "n5\0b5\0", 6);
	free(p);
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__mkdir_creates_empty_node_and_existing_is_fine)
{
	struct xs_client *c = xst_open(0);

	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/m/n"), 0);
	xst_expect(c, "/m/n", "");
	ck_assert_int_eq(xst_write(c, 0, "/m/n", "keep"), 0);
	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/m/n"), 0);
	xst_expect(c, "/m/n", "keep");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__rm_removes_whole_subtree)
{
	struct xs_client *c = xst_open(0);
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/r/a/b", "1"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/r/a/c", "2"), 0);
	ck_assert_int_eq(xst_simple(c, XS_RM, 0, "/r/a"), 0);
	ck_assert_int_eq(xst_read(c, 0, "/r/a/b", &v), -ENOENT);
	ck_assert_int_eq(xst_read(c, 0, "/r/a", &v), -ENOENT);
	xst_expect(c, "/r", "");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__rm_of_missing_node_is_ok_only_if_parent_exists)
{
	struct xs_client *c = xst_open(0);

	ck_assert_int_eq(xst_write(c, 0, "/p", ""), 0);
	ck_assert_int_eq(xst_simple(c, XS_RM, 0, "/p/gone"), 0);
	ck_assert_int_eq(xst_simple(c, XS_RM, 0, "/nothere/gone"), -ENOENT);
	ck_assert_int_eq(xst_simple(c, XS_RM, 0, "/"), -EINVAL);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__directory_lists_children_in_creation_order)
{
	int fd = xst_raw_connect();

	xst_raw_call(fd, XS_WRITE, 0, "/d/zeta\0", 8, &h, buf);
	xst_raw_call(fd, XS_WRITE, 0, "/d/alpha\0", 9, &h, buf);
	xst_raw_call(fd, XS_MKDIR, 0, "/d/mid", 7, &h, buf);
	xst_raw_call(fd, XS_DIRECTORY, 0, "/d", 3, &h, buf);
	ck_assert_uint_eq(h.type, XS_DIRECTORY);
	ck_assert_uint_eq(h.len, 15);
	ck_assert_mem_eq(buf, "zeta\0alpha\0mid\0", 15);
	xst_raw_call(fd, XS_DIRECTORY, 0, "/d/mid", 7, &h, buf);
	ck_assert_uint_eq(h.type, XS_DIRECTORY);
	ck_assert_uint_eq(h.len, 0);
	close(fd);
}
END_TEST

START_TEST(xenstore__big_directory_is_E2BIG_and_directory_part_pages_it)
{
	struct xs_client *c = xst_open(0);
	char path[64], *r = NULL, *all = calloc(1, 20000);
	unsigned int len, total = 0, o = 0;
	int fd = xst_raw_connect();

	/* 300 children of 20 characters: ~6300 bytes of names, more than one message. */
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/big/child-%014d", i);
		ck_assert_int_eq(xst_write(c, 0, path, ""), 0);
	}
	ck_assert_int_eq(xs_client_req_str(c, XS_DIRECTORY, 0, "/big", &r, &len), -E2BIG);
	for (;;) {
		char req[32];
		int n = snprintf(req, sizeof(req), "/big%c%u", 0, o);
		size_t glen;

		xst_raw_call(fd, XS_DIRECTORY_PART, 0, req, (uint32_t)n + 1, &h, buf);
		ck_assert_uint_eq(h.type, XS_DIRECTORY_PART);
		glen = strlen(buf) + 1; /* generation */
		memcpy(all + total, buf + glen, h.len - glen);
		total += h.len - (unsigned int)glen;
		o = total;
		if (h.len - glen <= 1 || buf[h.len - 2] == '\0')
			break;
	}
	/* 300 names of 20 bytes + NUL, then the empty string that ends the list. */
	ck_assert_uint_eq(total, 300 * 21 + 1);
	ck_assert_str_eq(all, "child-00000000000000");
	ck_assert_str_eq(all + 299 * 21, "child-00000000000299");
	free(all);
	close(fd);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__relative_paths_resolve_under_own_domain_dir)
{
	struct xs_client *c = xst_open(0), *d;

	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/local/domain/5"), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/local/domain/5", "n5", NULL), 0);
	d = xst_open(5);
	ck_assert_int_eq(xst_write(d, 0, "data/x", "rel"), 0);
	xst_expect(c, "/local/domain/5/data/x", "rel");
	xst_expect(d, "data/x", "rel");
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__invalid_paths_are_EINVAL)
{
	struct xs_client *c = xst_open(0);
	char *longp = malloc(XENSTORE_ABS_PATH_MAX + 8);

	ck_assert_int_eq(xst_write(c, 0, "/a//b", "v"), -EINVAL);
	ck_assert_int_eq(xst_write(c, 0, "/a/b/", "v"), -EINVAL);
	ck_assert_int_eq(xst_write(c, 0, "/a b", "v"), -EINVAL);
	ck_assert_int_eq(xst_write(c, 0, "@special", "v"), -EINVAL);
	longp[0] = '/';
	memset(longp + 1, 'x', XENSTORE_ABS_PATH_MAX + 1);
	longp[XENSTORE_ABS_PATH_MAX + 2] = '\0';
	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, longp), -EINVAL);
	free(longp);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__unprivileged_domain_cannot_read_node_without_permission)
{
	struct xs_client *c = xst_open(0), *d;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/secret", "s"), 0); /* inherits "/": n0 */
	ck_assert_int_eq(xst_write(c, 0, "/open", "o"), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/open", "n0", "r5"), 0);
	d = xst_open(5);
	ck_assert_int_eq(xst_read(d, 0, "/secret", &v), -EACCES);
	ck_assert_int_eq(xst_write(d, 0, "/secret", "x"), -EACCES);
	ck_assert_int_eq(xst_read(d, 0, "/open", &v), 0);
	ck_assert_str_eq(v, "o");
	free(v);
	ck_assert_int_eq(xst_write(d, 0, "/open", "x"), -EACCES);
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__missing_node_under_unreadable_parent_is_EACCES_not_ENOENT)
{
	struct xs_client *c = xst_open(0), *d;
	char *v = NULL;

	ck_assert_int_eq(xst_write(c, 0, "/vis", ""), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/vis", "r0", NULL), 0); /* others: read */
	d = xst_open(7);
	ck_assert_int_eq(xst_read(d, 0, "/hidden/x", &v), -EACCES);
	ck_assert_int_eq(xst_read(d, 0, "/vis/x", &v), -ENOENT);
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__set_perms_needs_ownership_and_owner_cannot_give_away)
{
	struct xs_client *c = xst_open(0), *d;

	ck_assert_int_eq(xst_write(c, 0, "/o", ""), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/o", "n0", "b5"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/o/his", ""), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/o/his", "n5", NULL), 0);
	d = xst_open(5);
	ck_assert_int_eq(xst_set_perms(d, 0, "/o", "n5", NULL), -EACCES);
	ck_assert_int_eq(xst_set_perms(d, 0, "/o/his", "n6", NULL), -EPERM);
	ck_assert_int_eq(xst_set_perms(d, 0, "/o/his", "n5", "r6"), 0);
	ck_assert_int_eq(xst_set_perms(d, 0, "/o/his", "x5", NULL), -EINVAL);
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__get_domain_path_and_dom0_identity)
{
	struct xs_client *c = xst_open(0);
	char *v = NULL;

	ck_assert_int_eq(xs_client_req_str(c, XS_GET_DOMAIN_PATH, 0, "12", &v, NULL), 0);
	ck_assert_str_eq(v, "/local/domain/12");
	free(v);
	ck_assert_int_eq(xs_client_req_str(c, XS_GET_DOMAIN_PATH, 0, "x", &v, NULL), -EINVAL);
	xst_expect(c, "/local/domain/0/name", "Domain-0");
	xst_expect(c, "/local/domain/0/domid", "0");
	ck_assert_int_eq(xs_client_req_str(c, XS_IS_DOMAIN_INTRODUCED, 0, "0", &v, NULL), 0);
	ck_assert_str_eq(v, "T");
	free(v);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__control_is_refused_to_unprivileged_connections)
{
	struct xs_client *d = xst_open(5);
	struct iovec iov[2] = { { "set-domid", 10 }, { "0", 2 } };

	/* Once a connection is a guest it cannot make itself dom0 again. */
	ck_assert_int_eq(xs_client_request(d, XS_CONTROL, 0, iov, 2, NULL, NULL), -EACCES);
	ck_assert_int_eq(xst_write(d, 0, "/x", "v"), -EACCES);
	xs_client_close(d);
}
END_TEST

START_TEST(xenstore__unknown_transaction_id_is_ENOENT)
{
	struct xs_client *c = xst_open(0);
	char *v = NULL;

	ck_assert_int_eq(xst_read(c, 77, "/local", &v), -ENOENT);
	ck_assert_int_eq(xst_write(c, 77, "/x", "v"), -ENOENT);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__oversized_request_is_refused_by_client_before_sending)
{
	struct xs_client *c = xst_open(0);
	char *big = malloc(XENSTORE_PAYLOAD_MAX + 1);

	memset(big, 'v', XENSTORE_PAYLOAD_MAX);
	big[XENSTORE_PAYLOAD_MAX] = '\0';
	ck_assert_int_eq(xst_write(c, 0, "/big", big), -E2BIG);
	/* The largest value that fits with "/big\0" goes through. */
	big[XENSTORE_PAYLOAD_MAX - 5] = '\0';
	ck_assert_int_eq(xst_write(c, 0, "/big", big), 0);
	xst_expect(c, "/big", big);
	free(big);
	xs_client_close(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_basic");
	TCase *tc = tcase_create("ops");

	tcase_add_checked_fixture(tc, xst_setup, xst_teardown);
	tcase_add_test(tc, xenstore__read_replies_value_bytes_without_nul);
	tcase_add_test(tc, xenstore__write_acks_OK_echoing_type_req_and_tx);
	tcase_add_test(tc, xenstore__read_of_missing_node_is_XS_ERROR_ENOENT);
	tcase_add_test(tc, xenstore__write_of_empty_value_reads_back_empty);
	tcase_add_test(tc, xenstore__write_creates_missing_parents_copying_parent_perms);
	tcase_add_test(tc, xenstore__unprivileged_creator_owns_new_nodes);
	tcase_add_test(tc, xenstore__mkdir_creates_empty_node_and_existing_is_fine);
	tcase_add_test(tc, xenstore__rm_removes_whole_subtree);
	tcase_add_test(tc, xenstore__rm_of_missing_node_is_ok_only_if_parent_exists);
	tcase_add_test(tc, xenstore__directory_lists_children_in_creation_order);
	tcase_add_test(tc, xenstore__big_directory_is_E2BIG_and_directory_part_pages_it);
	tcase_add_test(tc, xenstore__relative_paths_resolve_under_own_domain_dir);
	tcase_add_test(tc, xenstore__invalid_paths_are_EINVAL);
	tcase_add_test(tc, xenstore__unprivileged_domain_cannot_read_node_without_permission);
	tcase_add_test(tc, xenstore__missing_node_under_unreadable_parent_is_EACCES_not_ENOENT);
	tcase_add_test(tc, xenstore__set_perms_needs_ownership_and_owner_cannot_give_away);
	tcase_add_test(tc, xenstore__get_domain_path_and_dom0_identity);
	tcase_add_test(tc, xenstore__control_is_refused_to_unprivileged_connections);
	tcase_add_test(tc, xenstore__unknown_transaction_id_is_ENOENT);
	tcase_add_test(tc, xenstore__oversized_request_is_refused_by_client_before_sending);
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
