/* SPDX-License-Identifier: MIT */
/* xensim xenstored: watches, with the (path, token) pairs C xenstored sends. */
#include "xenstore_test.h"

#define NONE 200 /* ms to wait when expecting no event */

START_TEST(xenstore__watch_fires_once_on_registration_with_path_and_token)
{
	struct xs_client *c = xst_open(0);

	ck_assert_int_eq(xst_two(c, XS_WATCH, "/w/not/yet", "tok1"), 0);
	ck_assert_str_eq(xst_event(c, 2000), "/w/not/yet|tok1");
	ck_assert_str_eq(xst_event(c, NONE), "");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__watch_event_arrives_on_the_wire_after_the_ack)
{
	static char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	int fd = xst_raw_connect();

	xst_raw_send(fd, XS_WATCH, 9, 0, "/a\0tk\0", 6);
	ck_assert_int_eq(xst_raw_recv(fd, &h, buf, 5000), 0);
	ck_assert_uint_eq(h.type, XS_WATCH);
	ck_assert_uint_eq(h.req_id, 9);
	ck_assert_mem_eq(buf, "OK\0", 3);
	ck_assert_int_eq(xst_raw_recv(fd, &h, buf, 5000), 0);
	ck_assert_uint_eq(h.type, XS_WATCH_EVENT);
	ck_assert_uint_eq(h.req_id, 0);
	ck_assert_uint_eq(h.len, 6);
	ck_assert_mem_eq(buf, "/a\0tk\0", 6);
	close(fd);
}
END_TEST

START_TEST(xenstore__watch_fires_for_node_and_children_with_changed_path)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/be", "T"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/be|T");
	ck_assert_int_eq(xst_write(c, 0, "/be/1/0/state", "2"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/be/1/0/state|T");
	ck_assert_int_eq(xst_write(c, 0, "/be", "v"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/be|T");
	/* a sibling sharing the prefix is not a child */
	ck_assert_int_eq(xst_write(c, 0, "/bee", "v"), 0);
	ck_assert_str_eq(xst_event(w, NONE), "");
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__rm_fires_top_node_and_watches_on_removed_children)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);

	ck_assert_int_eq(xst_write(c, 0, "/x/y/z", "1"), 0);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/x/y/z", "deep"), 0);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/x", "top"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/x/y/z|deep");
	ck_assert_str_eq(xst_event(w, 2000), "/x|top");
	ck_assert_int_eq(xst_simple(c, XS_RM, 0, "/x"), 0);
	/* children first (exact match only), then the removed node for its ancestors' watches */
	ck_assert_str_eq(xst_event(w, 2000), "/x/y/z|deep");
	ck_assert_str_eq(xst_event(w, 2000), "/x|top");
	ck_assert_str_eq(xst_event(w, NONE), "");
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__unwatch_stops_events_and_unknown_unwatch_is_ENOENT)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/u", "t"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/u|t");
	ck_assert_int_eq(xst_two(w, XS_UNWATCH, "/u", "t"), 0);
	ck_assert_int_eq(xst_write(c, 0, "/u", "1"), 0);
	ck_assert_str_eq(xst_event(w, NONE), "");
	ck_assert_int_eq(xst_two(w, XS_UNWATCH, "/u", "t"), -ENOENT);
	ck_assert_int_eq(xst_two(w, XS_UNWATCH, "/u", "other"), -ENOENT);
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__same_path_and_token_twice_is_EEXIST)
{
	struct xs_client *w = xst_open(0);

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/d", "t"), 0);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/d", "t"), -EEXIST);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/d", "t2"), 0);
	xs_client_close(w);
}
END_TEST

START_TEST(xenstore__relative_watch_reports_relative_paths)
{
	struct xs_client *c = xst_open(0), *d;

	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/local/domain/3/device"), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/local/domain/3/device", "n0", "r3"), 0);
	d = xst_open(3);
	ck_assert_int_eq(xst_two(d, XS_WATCH, "device", "rel"), 0);
	ck_assert_str_eq(xst_event(d, 2000), "device|rel");
	ck_assert_int_eq(xst_write(c, 0, "/local/domain/3/device/virtio/0/state", "1"), 0);
	ck_assert_str_eq(xst_event(d, 2000), "device/virtio/0/state|rel");
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__watch_quota_of_unprivileged_domain_is_E2BIG)
{
	struct xs_client *d = xst_open(4);
	char tok[16];
	int i, rc = 0;

	for (i = 0; i < 1000 && !rc; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		rc = xst_two(d, XS_WATCH, "/q", tok);
	}
	ck_assert_int_eq(rc, -E2BIG);
	ck_assert_int_eq(i - 1, 128);
	xs_client_close(d);
}
END_TEST

START_TEST(xenstore__release_and_introduce_domain_events_fire)
{
	struct xs_client *w = xst_open(0);

	ck_assert_int_eq(xst_two(w, XS_WATCH, "@releaseDomain", "rel"), 0);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "@introduceDomain", "intro"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "@releaseDomain|rel");
	ck_assert_str_eq(xst_event(w, 2000), "@introduceDomain|intro");
	xs_server_domain_event(xst_srv, 7, 1);
	ck_assert_str_eq(xst_event(w, 2000), "@introduceDomain|intro");
	xs_server_domain_event(xst_srv, 7, 0);
	ck_assert_str_eq(xst_event(w, 2000), "@releaseDomain|rel");
	ck_assert_str_eq(xst_event(w, NONE), "");
	xs_client_close(w);
}
END_TEST

START_TEST(xenstore__release_domain_needs_permission_for_guests)
{
	struct xs_client *c = xst_open(0), *d = xst_open(9);

	ck_assert_int_eq(xst_two(d, XS_WATCH, "@releaseDomain", "r"), 0);
	ck_assert_str_eq(xst_event(d, 2000), "@releaseDomain|r");
	xs_server_domain_event(xst_srv, 7, 0);
	ck_assert_str_eq(xst_event(d, NONE), "");
	ck_assert_int_eq(xst_set_perms(c, 0, "@releaseDomain", "n0", "r9"), 0);
	xs_server_domain_event(xst_srv, 7, 0);
	ck_assert_str_eq(xst_event(d, 2000), "@releaseDomain|r");
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__xs_release_fires_release_domain)
{
	struct xs_client *c = xst_open(0);
	struct iovec iov[3] = { { "8", 2 }, { "1234", 5 }, { "3", 2 } };
	char *v = NULL;

	ck_assert_int_eq(xst_two(c, XS_WATCH, "@releaseDomain", "r"), 0);
	ck_assert_str_eq(xst_event(c, 2000), "@releaseDomain|r");
	ck_assert_int_eq(xst_simple(c, XS_RELEASE, 0, "8"), -ENOENT);
	ck_assert_int_eq(xs_client_request(c, XS_INTRODUCE, 0, iov, 3, NULL, NULL), 0);
	ck_assert_int_eq(xs_client_req_str(c, XS_IS_DOMAIN_INTRODUCED, 0, "8", &v, NULL), 0);
	ck_assert_str_eq(v, "T");
	free(v);
	ck_assert_int_eq(xst_simple(c, XS_RELEASE, 0, "8"), 0);
	ck_assert_str_eq(xst_event(c, 2000), "@releaseDomain|r");
	ck_assert_int_eq(xs_client_req_str(c, XS_IS_DOMAIN_INTRODUCED, 0, "8", &v, NULL), 0);
	ck_assert_str_eq(v, "F");
	free(v);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__guest_gets_no_event_for_node_it_cannot_read)
{
	struct xs_client *c = xst_open(0), *d = xst_open(6);

	ck_assert_int_eq(xst_write(c, 0, "/pub", ""), 0);
	ck_assert_int_eq(xst_set_perms(c, 0, "/pub", "n0", "r6"), 0);
	ck_assert_int_eq(xst_two(d, XS_WATCH, "/", "all"), 0);
	ck_assert_str_eq(xst_event(d, 2000), "/|all");
	ck_assert_int_eq(xst_write(c, 0, "/private/deep/x", "s"), 0);
	ck_assert_str_eq(xst_event(d, NONE), "");
	ck_assert_int_eq(xst_write(c, 0, "/pub/k", "v"), 0);
	ck_assert_str_eq(xst_event(d, 2000), "/pub/k|all");
	xs_client_close(d);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__set_perms_and_mkdir_fire_watches)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/sp", "t"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/sp|t");
	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/sp"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/sp|t");
	ck_assert_int_eq(xst_simple(c, XS_MKDIR, 0, "/sp"), 0); /* exists: no change, no event */
	ck_assert_int_eq(xst_set_perms(c, 0, "/sp", "n0", "r1"), 0);
	ck_assert_str_eq(xst_event(w, 2000), "/sp|t");
	ck_assert_str_eq(xst_event(w, NONE), "");
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__reset_watches_removes_all_watches)
{
	struct xs_client *c = xst_open(0), *w = xst_open(0);
	struct xensim_counters k = { 0 };

	ck_assert_int_eq(xst_two(w, XS_WATCH, "/r1", "a"), 0);
	ck_assert_int_eq(xst_two(w, XS_WATCH, "/r2", "b"), 0);
	xs_server_counters(xst_srv, &k);
	ck_assert_uint_eq(k.xs_watches_live, 2);
	ck_assert_int_eq(xst_simple(w, XS_RESET_WATCHES, 0, ""), 0);
	xs_server_counters(xst_srv, &k);
	ck_assert_uint_eq(k.xs_watches_live, 0);
	xst_event(w, 2000);
	xst_event(w, 2000);
	ck_assert_int_eq(xst_write(c, 0, "/r1", "x"), 0);
	ck_assert_str_eq(xst_event(w, NONE), "");
	xs_client_close(w);
	xs_client_close(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_watch");
	TCase *tc = tcase_create("watch");

	tcase_add_checked_fixture(tc, xst_setup, xst_teardown);
	tcase_add_test(tc, xenstore__watch_fires_once_on_registration_with_path_and_token);
	tcase_add_test(tc, xenstore__watch_event_arrives_on_the_wire_after_the_ack);
	tcase_add_test(tc, xenstore__watch_fires_for_node_and_children_with_changed_path);
	tcase_add_test(tc, xenstore__rm_fires_top_node_and_watches_on_removed_children);
	tcase_add_test(tc, xenstore__unwatch_stops_events_and_unknown_unwatch_is_ENOENT);
	tcase_add_test(tc, xenstore__same_path_and_token_twice_is_EEXIST);
	tcase_add_test(tc, xenstore__relative_watch_reports_relative_paths);
	tcase_add_test(tc, xenstore__watch_quota_of_unprivileged_domain_is_E2BIG);
	tcase_add_test(tc, xenstore__release_and_introduce_domain_events_fire);
	tcase_add_test(tc, xenstore__release_domain_needs_permission_for_guests);
	tcase_add_test(tc, xenstore__xs_release_fires_release_domain);
	tcase_add_test(tc, xenstore__guest_gets_no_event_for_node_it_cannot_read);
	tcase_add_test(tc, xenstore__set_perms_and_mkdir_fire_watches);
	tcase_add_test(tc, xenstore__reset_watches_removes_all_watches);
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
