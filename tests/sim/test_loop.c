/* SPDX-License-Identifier: MIT */
/*
 * test_loop.c — the epoll loop (loop.h) without Xen: fds, stop from threads and signal
 * handlers, signals through signalfd, removal during dispatch, devices' fds.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <virtio-xen/log.h>
#include <virtio-xen/loop.h>
#include <virtio-xen/mmio.h>

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

static Suite *suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");

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
	suite_add_tcase(s, tc);
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
