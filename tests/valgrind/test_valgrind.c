/* SPDX-License-Identifier: MIT */
/*
 * test_valgrind.c — the example daemons under valgrind (label valgrind): virtio-xen-rng and
 * virtio-xen-blk (threads I/O engine) run as separate processes under
 *	valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
 * and serve guests on a xensim machine from the test process: devices discovered from
 * xenstore, requests served, 10 guests destroyed while their requests are in flight, a device
 * removed and added again, a last guest, then SIGTERM. Each daemon must exit 0: no memory error, no
 *definite or indirect leak. The valgrind summaries are printed for the report. Exits 77 (skipped)
 * without valgrind.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_harness.h"

#define CYCLES 10

static const char *const summary[] = { "ERROR SUMMARY",	  "definitely lost",
				       "indirectly lost", "possibly lost",
				       "still reachable", "All heap blocks",
				       "in use at exit",  NULL };

static void serve_and_stop(const char *name, const char *const *args)
{
	bool rng = !strcmp(name, "rng");
	struct dh_guest g1, g2;
	struct dh_daemon dd, *d = &dd;
	xensim_server *srv;
	xensim *x;

	signal(SIGPIPE, SIG_IGN);
	dh_tmo = 60000; /* valgrind is 20-50 times slower, more on a loaded CI machine */
	ck_assert_int_eq(xensim_server_start(&srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&x, NULL), 0);
	ck_assert_int_eq(dh_spawn(d, name, args, true), 0);
	d->keep_log = true;

	/* Guests served, then destroyed with requests in flight (a short storm). */
	for (int i = 0; i < CYCLES; i++) {
		dh_guest_new(x, &g1, 0);
		if (rng) {
			dh_add_rng(x, &g1);
			dh_rng_open(&g1);
			dh_rng_read(&g1, 4096);
			dh_rng_post(&g1, 65536);
		} else {
			dh_add_disk(x, &g1);
			dh_blk_open(&g1);
			dh_blk_check(&g1, 8);
			dh_blk_post(&g1, 16);
		}
		dh_guest_destroy(x, &g1);
	}

	/* A second guest: its device removed by the toolstack, added again, then SIGTERM. */
	dh_guest_new(x, &g2, 0);
	if (rng) {
		dh_add_rng(x, &g2);
		dh_rng_open(&g2);
		dh_rng_read(&g2, 512);
		dh_remove_rng(x, &g2);
		ck_assert(dh_wait_idle(x, DH_TMO, NULL));
		dh_add_rng(x, &g2);
		dh_rng_open(&g2);
		dh_rng_read(&g2, 512);
		dh_rng_post(&g2, 4096);
	} else {
		dh_add_disk(x, &g2);
		dh_blk_open(&g2);
		dh_blk_check(&g2, 0);
		dh_blk_post(&g2, 8);
	}
	ck_assert_int_eq(dh_stop(d, 120000), 0);
	dh_print_matching(d, summary);
	unlink(d->log);
	ck_assert(dh_wait_idle(x, DH_TMO, NULL));
	dh_guest_destroy(x, &g2);
	xensim_close(x);
	xensim_server_stop(srv);
}

START_TEST(valgrind__rng_daemon_serves_guests_without_errors_or_leaks)
{
	serve_and_stop("rng", NULL);
}
END_TEST

START_TEST(valgrind__blk_daemon_serves_guests_without_errors_or_leaks)
{
	static const char *const args[] = { "--io", "threads", "--threads", "2", NULL };
	serve_and_stop("blk", args);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("valgrind");
	TCase *t = tcase_create("daemons");
	SRunner *sr;
	int failed;

	if (!dh_valgrind_available()) {
		fprintf(stderr, "valgrind not installed: skipped\n");
		return 77;
	}
	tcase_add_test(t, valgrind__rng_daemon_serves_guests_without_errors_or_leaks);
	tcase_add_test(t, valgrind__blk_daemon_serves_guests_without_errors_or_leaks);
	tcase_set_timeout(t, 600);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
