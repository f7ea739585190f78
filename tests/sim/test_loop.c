/* SPDX-License-Identifier: MIT */
/*
 * test_loop.c — the epoll loop (loop.h) without Xen: fds, stop from threads and signal
 * handlers, signals through signalfd, removal during dispatch, devices' fds, no wake-ups when
 * idle. With xensim: the guest probe (a timerfd asking Xen about each held server) finds dead
 * guests that nothing else reports, and runs only while a server is held.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <virtio-xen/log.h>
#include <virtio-xen/loop.h>
#include <virtio-xen/mmio.h>
#include <xensim.h>

#include "helper_testdev.h"

static vxen_loop *L;

static void setup(void)
{
	ck_assert_int_eq(vxen_loop_new(&L), 0);
}

static void teardown(void)
{
	vxen_loop_free(L);
}

static int readable_efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t one = 1;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
	return fd;
}

struct hits {
	int n;
	int fd_to_delete;
	uint32_t events;
};

static void on_fd(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct hits *h = payload;
	uint64_t v;

	h->n++;
	h->events = events;
	if (read(fd, &v, sizeof(v)) < 0) { /* drained: level-triggered would fire again */
	}
	if (h->fd_to_delete >= 0)
		vxen_loop_del_fd(loop, h->fd_to_delete);
}

START_TEST(loop__fd_callback_runs_when_readable)
{
	struct hits h = { .fd_to_delete = -1 };
	int fd = readable_efd();

	ck_assert_int_eq(vxen_loop_add_fd(L, fd, EPOLLIN, on_fd, &h), 0);
	ck_assert_int_eq(vxen_loop_add_fd(L, fd, EPOLLIN, on_fd, &h), -EEXIST);
	ck_assert_int_eq(vxen_loop_run_once(L, 1000), 1);
	ck_assert_int_eq(h.n, 1);
	ck_assert(h.events & EPOLLIN);
	ck_assert_int_eq(vxen_loop_run_once(L, 0), 0); /* drained */
	ck_assert_int_eq(vxen_loop_del_fd(L, fd), 0);
	ck_assert_int_eq(vxen_loop_del_fd(L, fd), -ENOENT);
	close(fd);
}
END_TEST

START_TEST(loop__fd_removed_during_dispatch_gets_no_callback)
{
	struct hits a = { .fd_to_delete = -1 }, b = { .fd_to_delete = -1 };
	int fa = readable_efd(), fb = readable_efd();

	a.fd_to_delete = fb;
	b.fd_to_delete = fa;
	ck_assert_int_eq(vxen_loop_add_fd(L, fa, EPOLLIN, on_fd, &a), 0);
	ck_assert_int_eq(vxen_loop_add_fd(L, fb, EPOLLIN, on_fd, &b), 0);
	/* Both are ready in the same batch; whichever runs first removes the other. */
	vxen_loop_run_once(L, 1000);
	ck_assert_int_eq(a.n + b.n, 1);
	close(fa);
	close(fb);
}
END_TEST

static void *stopper(void *arg)
{
	usleep(20000);
	vxen_loop_stop(arg);
	return NULL;
}

START_TEST(loop__stop_from_another_thread_ends_run)
{
	pthread_t t;

	pthread_create(&t, NULL, stopper, L);
	ck_assert_int_eq(vxen_loop_run(L), 0);
	pthread_join(t, NULL);
	/* The request was consumed: the loop can run again. */
	ck_assert_int_eq(vxen_loop_run_once(L, 0), 0);
}
END_TEST

START_TEST(loop__stop_before_run_returns_at_once)
{
	vxen_loop_stop(L);
	ck_assert_int_eq(vxen_loop_run(L), 0);
}
END_TEST

static void on_alarm(int sig)
{
	vxen_loop_stop(L);
}

START_TEST(loop__stop_is_async_signal_safe)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);
	ualarm(20000, 0);
	ck_assert_int_eq(vxen_loop_run(L), 0);
}
END_TEST

START_TEST(loop__sigterm_through_signalfd_stops_cleanly)
{
	ck_assert_int_eq(vxen_loop_add_signal(L, SIGTERM, NULL, NULL), 0);
	ck_assert_int_eq(vxen_loop_add_signal(L, SIGTERM, NULL, NULL), -EEXIST);
	ck_assert_int_eq(vxen_loop_add_signal(L, SIGKILL, NULL, NULL), -EINVAL);
	/* Blocked and read from the signalfd: the process survives and the loop stops. */
	kill(getpid(), SIGTERM);
	ck_assert_int_eq(vxen_loop_run(L), 0);
}
END_TEST

static void on_usr1(vxen_loop *loop, int signo, void *payload)
{
	*(int *)payload = signo;
	vxen_loop_stop(loop);
}

START_TEST(loop__signal_callback_gets_the_signal)
{
	int got = 0;

	ck_assert_int_eq(vxen_loop_add_signal(L, SIGUSR1, on_usr1, &got), 0);
	kill(getpid(), SIGUSR1);
	ck_assert_int_eq(vxen_loop_run(L), 0);
	ck_assert_int_eq(got, SIGUSR1);
}
END_TEST

START_TEST(loop__free_restores_the_signal_mask)
{
	sigset_t before, after;

	pthread_sigmask(SIG_SETMASK, NULL, &before);
	ck_assert(!sigismember(&before, SIGUSR2));
	ck_assert_int_eq(vxen_loop_add_signal(L, SIGUSR2, on_usr1, NULL), 0);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	ck_assert(sigismember(&after, SIGUSR2));
	vxen_loop_free(L);
	ck_assert_int_eq(vxen_loop_new(&L), 0);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	ck_assert(!sigismember(&after, SIGUSR2));
}
END_TEST

/* A device without Xen transport: the loop runs vxen_dev_process() when its fd is readable. */
static void *send_event(void *arg)
{
	testdev_set_value(arg, 42);
	return NULL;
}

static struct vxen_vq_plain_mem pm;
static const struct vxen_dev_mem plain_mem = {
	.version = VXEN_DEV_MEM_VERSION,
	.ops = NULL, /* set in the test (not a constant expression) */
};

static void *no_ring(uint64_t addr, size_t len, void *payload)
{
	return NULL;
}

START_TEST(loop__device_fd_is_served_by_the_loop)
{
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;
	struct vxen_dev_mem mem = plain_mem;
	struct vxen_dev_stats s;
	struct testdev *td;
	pthread_t t;
	uint64_t v = 0;

	mem.ops = vxen_vq_plain_mem_ops();
	mem.payload = &pm;
	mem.ring_map = no_ring;
	cfg.mem = &mem;
	ck_assert_int_eq(testdev_new(&td, &cfg, NULL), 0);
	ck_assert_int_eq(vxen_loop_add_dev(L, testdev_dev(td)), 0);
	/* A config update from another thread is applied by the loop's process turn. */
	pthread_create(&t, NULL, send_event, td);
	pthread_join(t, NULL);
	ck_assert_int_eq(vxen_loop_run_once(L, 1000), 1);
	vxen_dev_stats(testdev_dev(td), &s);
	ck_assert_uint_eq(s.process_calls, 1);
	ck_assert_uint_eq(s.config_updates, 1);
	vxen_dev_mmio_read(testdev_dev(td), VXEN_MMIO_CONFIG_SPACE + 8, 4, &v);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(vxen_loop_run_once(L, 0), 0);
	vxen_loop_del_dev(L, testdev_dev(td));
	testdev_free(td);
}
END_TEST

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(loop__idle_loop_without_servers_never_wakes_up)
{
	uint64_t t0;

	ck_assert_int_eq(vxen_loop_set_guest_probe(NULL, 10), -EINVAL);
	/* Even with a very short probe period: nothing is held, so nothing is probed. */
	ck_assert_int_eq(vxen_loop_set_guest_probe(L, 10), 0);
	t0 = now_ms();
	ck_assert_int_eq(vxen_loop_run_once(L, 300), 0);
	ck_assert_uint_ge(now_ms() - t0, 250);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* The guest probe, against xensim                                                             */

#define PROBE_MS 50u
#define SLACK_MS 1500u /* scheduling on a loaded machine; the probe period is the real bound */

static xensim_server *machine;
static xensim *xsim;

static struct {
	unsigned int calls;
	uint32_t domids[4];
	vxen_ioreq_server *srv[4]; /* servers held per guest, put by the callback */
	uint32_t srv_domid[4];
} gone;

static uint32_t new_guest(void)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	uint32_t id;

	cfg.vcpus = 2;
	ck_assert_int_eq(xensim_domain_create(xsim, &cfg, &id), 0);
	return id;
}

static void probe_setup(void)
{
	setup();
	memset(&gone, 0, sizeof(gone));
	ck_assert_int_eq(xensim_server_start(&machine, NULL), 0);
	ck_assert_int_eq(xensim_open(&xsim, NULL), 0);
}

static void probe_teardown(void)
{
	teardown();
	xensim_close(xsim);
	xensim_server_stop(machine);
}

static struct xensim_counters counters(uint32_t domid)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(xsim, domid, &c), 0);
	return c;
}

/* Take a reference on @domid's server, remembered so the gone callback can put it. */
static vxen_ioreq_server *hold(unsigned int slot, uint32_t domid)
{
	ck_assert_int_eq(vxen_loop_ioreq_get(L, domid, &gone.srv[slot]), 0);
	gone.srv_domid[slot] = domid;
	return gone.srv[slot];
}

/* What a backend does: free everything of the dead guest (here: put its server). */
static void on_gone(vxen_loop *loop, uint32_t domid, void *payload)
{
	ck_assert_uint_lt(gone.calls, 4);
	gone.domids[gone.calls++] = domid;
	for (unsigned int i = 0; i < 4; i++) {
		if (gone.srv[i] && gone.srv_domid[i] == domid) {
			vxen_loop_ioreq_put(loop, gone.srv[i]);
			gone.srv[i] = NULL;
		}
	}
}

/* Run the loop until @n guest-gone calls were made; returns the milliseconds it took. */
static uint64_t run_until_gone(unsigned int n)
{
	uint64_t t0 = now_ms();

	while (gone.calls < n && now_ms() - t0 < PROBE_MS + SLACK_MS)
		ck_assert_int_ge(vxen_loop_run_once(L, 50), 0);
	ck_assert_uint_eq(gone.calls, n);
	return now_ms() - t0;
}

static void assert_nothing_left(void)
{
	struct xensim_counters c = counters(XENSIM_DOMID_ALL);

	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.evtchn_live_ports, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
}

START_TEST(loop__probe_runs_only_while_a_server_is_held)
{
	uint32_t a = new_guest();
	uint64_t before;

	ck_assert_int_eq(vxen_loop_set_guest_probe(L, 20), 0);
	ck_assert_int_eq(vxen_loop_run_once(L, 100), 0);
	hold(0, a);
	before = counters(a).dm_calls;
	/* One tick: one event, one DM call for the one guest. */
	ck_assert_int_eq(vxen_loop_run_once(L, 1000), 1);
	ck_assert_uint_eq(counters(a).dm_calls, before + 1);
	/* The last reference goes: the timer with it. */
	vxen_loop_ioreq_put(L, gone.srv[0]);
	gone.srv[0] = NULL;
	before = counters(a).dm_calls;
	ck_assert_int_eq(vxen_loop_run_once(L, 200), 0);
	ck_assert_uint_eq(counters(a).dm_calls, before);
	ck_assert_uint_eq(gone.calls, 0);
	assert_nothing_left();
}
END_TEST

START_TEST(loop__probe_reports_a_destroyed_idle_guest_once)
{
	uint32_t a = new_guest();
	uint64_t ms;

	vxen_loop_on_guest_gone(L, on_gone, NULL);
	ck_assert_int_eq(vxen_loop_set_guest_probe(L, PROBE_MS), 0);
	hold(0, a);
	ck_assert_int_eq(xensim_domain_destroy(xsim, a), 0);
	ms = run_until_gone(1);
	ck_assert_uint_le(ms, PROBE_MS + SLACK_MS);
	ck_assert_uint_eq(gone.domids[0], a);
	/* Reported once; with no server left, the loop sleeps again. */
	ck_assert_int_eq(vxen_loop_run_once(L, 4 * PROBE_MS), 0);
	ck_assert_uint_eq(gone.calls, 1);
	assert_nothing_left();
}
END_TEST

START_TEST(loop__probe_off_leaves_a_dead_idle_guest_unnoticed)
{
	uint32_t a = new_guest();

	vxen_loop_on_guest_gone(L, on_gone, NULL);
	ck_assert_int_eq(vxen_loop_set_guest_probe(L, 0), 0);
	hold(0, a);
	ck_assert_int_eq(xensim_domain_destroy(xsim, a), 0);
	/* The gap the probe closes: the dead guest's channels are quiet, nothing reports it. */
	ck_assert_int_eq(vxen_loop_run_once(L, 300), 0);
	ck_assert_uint_eq(gone.calls, 0);
	ck_assert_uint_eq(counters(XENSIM_DOMID_ALL).ioreq_servers_live, 0); /* Xen dropped it */
	ck_assert_uint_eq(counters(XENSIM_DOMID_ALL).fmem_resource_maps_live, 1); /* we did not */
	/* Turned on, the probe finds it. */
	ck_assert_int_eq(vxen_loop_set_guest_probe(L, PROBE_MS), 0);
	run_until_gone(1);
	ck_assert_uint_eq(gone.domids[0], a);
	assert_nothing_left();
}
END_TEST

START_TEST(loop__probe_reports_every_guest_dead_in_one_tick)
{
	uint32_t a = new_guest(), b = new_guest(), c = new_guest();

	vxen_loop_on_guest_gone(L, on_gone, NULL);
	ck_assert_int_eq(vxen_loop_set_guest_probe(L, PROBE_MS), 0);
	hold(0, a);
	hold(1, b);
	hold(2, c);
	ck_assert_int_eq(xensim_domain_destroy(xsim, a), 0);
	ck_assert_int_eq(xensim_domain_destroy(xsim, c), 0);
	run_until_gone(2);
	ck_assert(gone.domids[0] != gone.domids[1]);
	ck_assert(gone.domids[0] == a || gone.domids[0] == c);
	ck_assert(gone.domids[1] == a || gone.domids[1] == c);
	/* The live guest is still held and still probed. */
	ck_assert_ptr_nonnull(gone.srv[1]);
	ck_assert_int_eq(vxen_ioreq_server_check(gone.srv[1]), 0);
	ck_assert_int_eq(vxen_loop_run_once(L, 1000), 1);
	ck_assert_uint_eq(gone.calls, 2);
	vxen_loop_ioreq_put(L, gone.srv[1]);
	gone.srv[1] = NULL;
	assert_nothing_left();
}
END_TEST

START_TEST(loop__probe_failure_other_than_gone_keeps_the_guest)
{
	uint32_t a = new_guest();

	vxen_loop_on_guest_gone(L, on_gone, NULL);
	ck_assert_int_eq(vxen_loop_set_guest_probe(L, 20), 0);
	hold(0, a);
	ck_assert_int_eq(xensim_fault_inject(xsim, XENSIM_OP_DM_GET_IOREQ_SERVER_INFO, 1, EIO), 0);
	ck_assert_int_eq(vxen_loop_run_once(L, 1000), 1); /* the failed check */
	ck_assert_int_eq(vxen_loop_run_once(L, 1000), 1); /* the next one succeeds */
	ck_assert_uint_eq(gone.calls, 0);
	ck_assert_int_eq(vxen_ioreq_server_check(gone.srv[0]), 0);
	vxen_loop_ioreq_put(L, gone.srv[0]);
	gone.srv[0] = NULL;
	assert_nothing_left();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");
	TCase *tp = tcase_create("probe");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, loop__fd_callback_runs_when_readable);
	tcase_add_test(tc, loop__fd_removed_during_dispatch_gets_no_callback);
	tcase_add_test(tc, loop__stop_from_another_thread_ends_run);
	tcase_add_test(tc, loop__stop_before_run_returns_at_once);
	tcase_add_test(tc, loop__stop_is_async_signal_safe);
	tcase_add_test(tc, loop__sigterm_through_signalfd_stops_cleanly);
	tcase_add_test(tc, loop__signal_callback_gets_the_signal);
	tcase_add_test(tc, loop__free_restores_the_signal_mask);
	tcase_add_test(tc, loop__device_fd_is_served_by_the_loop);
	tcase_add_test(tc, loop__idle_loop_without_servers_never_wakes_up);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tp, probe_setup, probe_teardown);
	tcase_set_timeout(tp, 20);
	tcase_add_test(tp, loop__probe_runs_only_while_a_server_is_held);
	tcase_add_test(tp, loop__probe_reports_a_destroyed_idle_guest_once);
	tcase_add_test(tp, loop__probe_off_leaves_a_dead_idle_guest_unnoticed);
	tcase_add_test(tp, loop__probe_reports_every_guest_dead_in_one_tick);
	tcase_add_test(tp, loop__probe_failure_other_than_gone_keeps_the_guest);
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (getenv("VXEN_TEST_LOG"))
		vxen_log_set_handler(vxen_log_stderr, atoi(getenv("VXEN_TEST_LOG")), NULL);
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
