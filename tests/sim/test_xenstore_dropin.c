/* SPDX-License-Identifier: MIT */
/*
 * xensim's drop-in libxenstore.so.4, used exactly as a backend uses libxenstore (linked with
 * -lxenstore; LD_LIBRARY_PATH makes the drop-in win).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sys/wait.h>

#include <xenstore.h>

#include "xenstore_test.h"

START_TEST(xenstore__dropin_is_the_library_in_use)
{
	Dl_info info;

	ck_assert(dladdr((void *)xs_open, &info));
	ck_assert_msg(strstr(info.dli_fname, "/xensim/lib/") != NULL,
		      "xs_open comes from %s, not xensim's drop-in", info.dli_fname);
}
END_TEST

START_TEST(xenstore__dropin_socket_path_follows_XENSTORED_PATH)
{
	ck_assert_str_eq(xs_daemon_socket(), xst_sock);
	ck_assert_str_eq(xs_daemon_socket_ro(), xst_sock);
	setenv("XENSTORED_RUNDIR", "/run/elsewhere", 1);
	ck_assert_str_eq(xs_daemon_rundir(), "/run/elsewhere");
	unsetenv("XENSTORED_PATH");
	ck_assert_str_eq(xs_daemon_socket(), "/run/elsewhere/socket");
	ck_assert_ptr_null(xs_open(0));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(xenstore__dropin_read_write_directory_rm)
{
	struct xs_handle *h = xs_open(0);
	unsigned int len = 0, n = 0;
	char *v, **d;

	ck_assert_ptr_nonnull(h);
	ck_assert(xs_write(h, XBT_NULL, "/di/a", "1", 1));
	ck_assert(xs_write(h, XBT_NULL, "/di/b", "22", 2));
	v = xs_read(h, XBT_NULL, "/di/b", &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_str_eq(v, "22");
	free(v);
	d = xs_directory(h, XBT_NULL, "/di", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(d[0], "a");
	ck_assert_str_eq(d[1], "b");
	free(d);
	ck_assert(xs_rm(h, XBT_NULL, "/di"));
	ck_assert_ptr_null(xs_read(h, XBT_NULL, "/di/a", &len));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!xs_mkdir(h, XBT_NULL, "bad//path"));
	ck_assert_int_eq(errno, EINVAL);
	xs_close(h);
	xs_close(NULL);
}
END_TEST

START_TEST(xenstore__dropin_lists_big_directory)
{
	struct xs_handle *h = xs_open(0);
	char path[64], **d;
	unsigned int n = 0;

	for (int i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/bigdir/entry-number-%06d", i);
		ck_assert(xs_write(h, XBT_NULL, path, "", 0));
	}
	d = xs_directory(h, XBT_NULL, "/bigdir", &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 400);
	ck_assert_str_eq(d[0], "entry-number-000000");
	ck_assert_str_eq(d[399], "entry-number-000399");
	free(d);
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_fileno_is_readable_exactly_while_events_are_queued)
{
	struct xs_handle *h = xs_open(0), *o = xs_open(0);
	struct pollfd p = { .events = POLLIN };
	char **ev;

	ck_assert_ptr_null(xs_check_watch(h));
	ck_assert_int_eq(errno, EAGAIN);
	p.fd = xs_fileno(h);
	ck_assert_int_ge(p.fd, 0);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	ck_assert(xs_watch(h, "/fw", "tok"));
	ck_assert_int_eq(poll(&p, 1, 5000), 1); /* the registration event */
	ev = xs_check_watch(h);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/fw");
	ck_assert_str_eq(ev[XS_WATCH_TOKEN], "tok");
	free(ev);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	/* Written through h itself: each event precedes the write's reply on h's socket. */
	ck_assert(xs_write(h, XBT_NULL, "/fw/1", "", 0));
	ck_assert(xs_write(h, XBT_NULL, "/fw/2", "", 0));
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	free(xs_check_watch(h));
	ck_assert_int_eq(poll(&p, 1, 0), 1); /* one still queued */
	ev = xs_check_watch(h);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/fw/2");
	free(ev);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	xs_close(o);
	xs_close(h);
}
END_TEST

static void *write_later(void *arg)
{
	struct xs_handle *o = xs_open(0);

	usleep(200000);
	xs_write(o, XBT_NULL, arg, "late", 4);
	xs_close(o);
	return NULL;
}

START_TEST(xenstore__dropin_read_watch_blocks_until_an_event)
{
	struct xs_handle *h = xs_open(0);
	unsigned int num = 0;
	pthread_t t;
	char **ev;

	ck_assert(xs_watch(h, "/later", "L"));
	free(xs_read_watch(h, &num)); /* registration */
	pthread_create(&t, NULL, write_later, "/later/x");
	ev = xs_read_watch(h, &num);
	ck_assert_uint_eq(num, 2);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/later/x");
	free(ev);
	pthread_join(t, NULL);
	xs_close(h);
}
END_TEST

static void *read_one_watch(void *arg)
{
	unsigned int num;

	return xs_read_watch(arg, &num);
}

START_TEST(xenstore__dropin_read_watch_before_any_watch_leaves_handle_usable)
{
	struct xs_handle *h = xs_open(0);
	pthread_t t;
	char **ev;

	pthread_create(&t, NULL, read_one_watch, h);
	usleep(100000); /* let it block */
	ck_assert(xs_write(h, XBT_NULL, "/rw", "1", 1));
	ck_assert(xs_watch(h, "/rw", "t"));
	pthread_join(t, (void **)&ev);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/rw");
	free(ev);
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_unwatch_filter_drops_queued_events)
{
	struct xs_handle *h = xs_open(XS_UNWATCH_FILTER), *o = xs_open(0);
	struct pollfd p = { .events = POLLIN };

	ck_assert(xs_watch(h, "/uf", "t"));
	ck_assert(xs_watch(h, "/keep", "k"));
	p.fd = xs_fileno(h);
	/* The registration events follow the acks; a later reply proves they are queued. */
	free(xs_read(h, XBT_NULL, "/", NULL));
	ck_assert(xs_unwatch(h, "/uf", "t"));
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	char **ev = xs_check_watch(h);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/keep");
	free(ev);
	ck_assert_ptr_null(xs_check_watch(h));
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	xs_close(o);
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_transaction_conflict_and_retry)
{
	struct xs_handle *h = xs_open(0), *o = xs_open(0);
	xs_transaction_t t;
	unsigned int len;

	ck_assert(xs_write(h, XBT_NULL, "/dt", "0", 1));
	t = xs_transaction_start(h);
	ck_assert_uint_ne(t, XBT_NULL);
	free(xs_read(h, t, "/dt", &len));
	ck_assert(xs_write(o, XBT_NULL, "/dt", "o", 1));
	ck_assert(xs_write(h, t, "/dt", "t", 1));
	ck_assert(!xs_transaction_end(h, t, false));
	ck_assert_int_eq(errno, EAGAIN);
	t = xs_transaction_start(h);
	ck_assert(xs_write(h, t, "/dt", "t", 1));
	ck_assert(xs_transaction_end(h, t, false));
	t = xs_transaction_start(h);
	ck_assert(xs_write(h, t, "/dt", "aborted", 7));
	ck_assert(xs_transaction_end(h, t, true));
	char *v = xs_read(o, XBT_NULL, "/dt", &len);
	ck_assert_str_eq(v, "t");
	free(v);
	xs_close(o);
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_permissions_round_trip)
{
	struct xs_handle *h = xs_open(0);
	struct xs_permissions set[2] = { { .id = 3, .perms = XS_PERM_NONE },
					 { .id = 0, .perms = XS_PERM_READ | XS_PERM_WRITE } },
			      bad = { .id = 1, .perms = XS_PERM_OWNER }, *got;
	struct xs_permissions parsed[2];
	unsigned int n = 0;

	ck_assert(xs_write(h, XBT_NULL, "/pr", "", 0));
	ck_assert(xs_set_permissions(h, XBT_NULL, "/pr", set, 2));
	got = xs_get_permissions(h, XBT_NULL, "/pr", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(got[0].id, 3);
	ck_assert_uint_eq(got[0].perms, XS_PERM_NONE);
	ck_assert_uint_eq(got[1].perms, XS_PERM_READ | XS_PERM_WRITE);
	free(got);
	ck_assert(!xs_set_permissions(h, XBT_NULL, "/pr", &bad, 1));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(xs_strings_to_perms(parsed, 2, "w7\0n0\0"));
	ck_assert_uint_eq(parsed[0].perms, XS_PERM_WRITE);
	ck_assert_uint_eq(parsed[0].id, 7);
	ck_assert(!xs_strings_to_perms(parsed, 1, "q1\0"));
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_path_is_subpath_matches_the_real_library)
{
	ck_assert(xs_path_is_subpath("/a", "/a"));
	ck_assert(xs_path_is_subpath("/a", "/a/b"));
	ck_assert(!xs_path_is_subpath("/a", "/ab"));
	ck_assert(!xs_path_is_subpath("/a/b", "/a"));
	ck_assert(!xs_path_is_subpath("/", "/a")); /* quirk of the real implementation */
}
END_TEST

START_TEST(xenstore__dropin_XENSIM_DOMID_makes_the_handle_a_guest)
{
	struct xs_handle *h = xs_open(0), *g;
	unsigned int len;

	ck_assert(xs_write(h, XBT_NULL, "/dom0only", "x", 1));
	setenv("XENSIM_DOMID", "5", 1);
	g = xs_open(0);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_null(xs_read(g, XBT_NULL, "/dom0only", &len));
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_null(xs_control_command(g, "print", "x", 2));
	ck_assert_int_eq(errno, EACCES);
	xs_close(g);
	setenv("XENSIM_DOMID", "junk", 1);
	ck_assert_ptr_null(xs_open(0));
	ck_assert_int_eq(errno, EINVAL);
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_domain_calls_and_stubs)
{
	struct xs_handle *h = xs_open(0);
	char *p;

	ck_assert(!xs_is_domain_introduced(h, 9));
	ck_assert(xs_introduce_domain(h, 9, 1234, 5));
	ck_assert(xs_is_domain_introduced(h, 9));
	ck_assert(xs_resume_domain(h, 9));
	ck_assert(xs_set_target(h, 9, 3));
	ck_assert(xs_release_domain(h, 9));
	ck_assert(!xs_is_domain_introduced(h, 9));
	ck_assert(!xs_restrict(h, 1));
	p = xs_get_domain_path(h, 9);
	ck_assert_str_eq(p, "/local/domain/9");
	free(p);
	ck_assert(xs_write(h, XBT_NULL, "/local/domain/9/device/suspend/event-channel", "17", 2));
	ck_assert_int_eq(xs_suspend_evtchn_port(9), 17);
	ck_assert_int_eq(xs_suspend_evtchn_port(10), -1);
	xs_close(h);
}
END_TEST

struct hammer {
	struct xs_handle *h;
	int id;
	int failures;
};

static void *hammer_main(void *arg)
{
	struct hammer *hm = arg;
	char path[32], val[16];
	unsigned int len;

	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/ham/%d", hm->id);
		snprintf(val, sizeof(val), "%d", i);
		if (!xs_write(hm->h, XBT_NULL, path, val, (unsigned int)strlen(val)))
			hm->failures++;
		char *v = xs_read(hm->h, XBT_NULL, path, &len);

		if (!v || strcmp(v, val))
			hm->failures++;
		free(v);
	}
	return NULL;
}

START_TEST(xenstore__dropin_handle_is_safe_to_share_between_threads)
{
	struct xs_handle *h = xs_open(0);
	struct hammer hm[4];
	pthread_t t[4];

	ck_assert(xs_watch(h, "/ham", "w")); /* reader thread active too */
	for (int i = 0; i < 4; i++) {
		hm[i] = (struct hammer){ .h = h, .id = i };
		pthread_create(&t[i], NULL, hammer_main, &hm[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(hm[i].failures, 0);
	}
	xs_close(h);
}
END_TEST

START_TEST(xenstore__dropin_child_can_destroy_inherited_handle_after_fork)
{
	struct xs_handle *h = xs_open(0);
	int status;
	pid_t pid;

	ck_assert(xs_watch(h, "/fork", "f"));
	pid = fork();
	if (pid == 0) {
		struct xs_handle *c;

		xs_daemon_destroy_postfork(h);
		c = xs_open(0);
		_exit(c && xs_write(c, XBT_NULL, "/fork/child", "1", 1) ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the parent's handle still works */
	ck_assert(xs_write(h, XBT_NULL, "/fork/parent", "1", 1));
	xs_close(h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_dropin");
	TCase *tc = tcase_create("dropin");

	tcase_add_checked_fixture(tc, xst_setup, xst_teardown);
	tcase_add_test(tc, xenstore__dropin_is_the_library_in_use);
	tcase_add_test(tc, xenstore__dropin_socket_path_follows_XENSTORED_PATH);
	tcase_add_test(tc, xenstore__dropin_read_write_directory_rm);
	tcase_add_test(tc, xenstore__dropin_lists_big_directory);
	tcase_add_test(tc, xenstore__dropin_fileno_is_readable_exactly_while_events_are_queued);
	tcase_add_test(tc, xenstore__dropin_read_watch_blocks_until_an_event);
	tcase_add_test(tc, xenstore__dropin_read_watch_before_any_watch_leaves_handle_usable);
	tcase_add_test(tc, xenstore__dropin_unwatch_filter_drops_queued_events);
	tcase_add_test(tc, xenstore__dropin_transaction_conflict_and_retry);
	tcase_add_test(tc, xenstore__dropin_permissions_round_trip);
	tcase_add_test(tc, xenstore__dropin_path_is_subpath_matches_the_real_library);
	tcase_add_test(tc, xenstore__dropin_XENSIM_DOMID_makes_the_handle_a_guest);
	tcase_add_test(tc, xenstore__dropin_domain_calls_and_stubs);
	tcase_add_test(tc, xenstore__dropin_handle_is_safe_to_share_between_threads);
	tcase_add_test(tc, xenstore__dropin_child_can_destroy_inherited_handle_after_fork);
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
