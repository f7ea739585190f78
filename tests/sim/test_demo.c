/* SPDX-License-Identifier: MIT */
/*
 * test_demo.c — vxen-demo, the README's main job, run as a newcomer runs it: the built program
 * with no arguments and no LD_LIBRARY_PATH. It must pass every check, exit 0 within a few
 * seconds, print the report's key lines and leave nothing behind; and fail clearly when it
 * cannot run.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX	   (64u << 10)
#define TIMEOUT_MS 60000

extern char **environ;

static char out[OUT_MAX];

static const char *demo_path(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("VXEN_BUILD_DIR");

	snprintf(path, sizeof(path), "%s/examples/vxen-demo", b ? b : ".");
	return path;
}

/* Our environment without LD_LIBRARY_PATH (ctest sets it; a newcomer's shell does not). */
static char **clean_env(void)
{
	static char *env[512];
	size_t k = 0;

	for (size_t i = 0; environ[i] && k < 511; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) &&
		    strncmp(environ[i], "XENSIM_SOCKET=", 14) &&
		    strncmp(environ[i], "XENSTORED_PATH=", 15))
			env[k++] = environ[i];
	env[k] = NULL;
	return env;
}

/* Run vxen-demo with @args; its stdout and stderr go to out[]. Returns the wait status. */
static int run_demo(const char *const *args, double *secs)
{
	char *argv[8] = { (char *)demo_path() };
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	size_t len = 0;
	int p[2], st = -1;
	pid_t pid;

	for (int i = 0; args && args[i] && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, clean_env()), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			break;
		n = read(p[0], out + len, OUT_MAX - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = 0;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (secs)
		*secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	fputs(out, stderr); /* shown by ctest --output-on-failure */
	return st;
}

static void assert_line(const char *text)
{
	ck_assert_msg(strstr(out, text), "the report lacks \"%s\"", text);
}

/* The directory named by the report's machine line. */
static void report_dir(char *dir, size_t n)
{
	const char *p = strstr(out, "sockets and files in ");
	size_t k = 0;

	ck_assert_ptr_nonnull(p);
	p += strlen("sockets and files in ");
	while (p[k] && p[k] != '\n' && k + 1 < n)
		k++;
	memcpy(dir, p, k);
	dir[k] = 0;
}

/* Total and per-request figures of the report row of @dev (requests, then 7 crossings). */
static void report_row(const char *dev, unsigned long *requests, unsigned long tot[7],
		       double per[7])
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\n  %-8s ", dev);
	p = strstr(strstr(out, "crossings, as counted by xensim"), key);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p,
				" %*s %lu %*s %*s %lu %lu %lu %lu %lu %lu %lu %lf %lf %lf %lf "
				"%lf %lf %lf",
				requests, &tot[0], &tot[1], &tot[2], &tot[3], &tot[4], &tot[5],
				&tot[6], &per[0], &per[1], &per[2], &per[3], &per[4], &per[5],
				&per[6]),
			 15);
}

START_TEST(demo__default_run_passes_every_check_and_reports)
{
	static const char *const devs[] = { "blk", "net", "console" };
	char dir[PATH_MAX];
	double secs;
	int st = run_demo(NULL, &secs);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "vxen-demo failed (status %d)", st);
	ck_assert_msg(secs < 20, "vxen-demo took %.1f s", secs);
	assert_line("daemons   virtio-xen-blk      pid ");
	assert_line("          virtio-xen-net      pid ");
	assert_line("          virtio-xen-console  pid ");
	assert_line("guest     domain 1,");
	assert_line("devices   virtio-blk      base 0x02000000  irq 33");
	assert_line("          virtio-net      base 0x02000200  irq 34");
	assert_line("          virtio-console  base 0x02000400  irq 35  pty /dev/pts/");
	assert_line("every backend reached InitWait");
	assert_line("4 MiB of random data across the disk, read back: 64/64 checksums match, image "
		    "file too");
	assert_line("64 frames guest->host, 64 host->guest");
	assert_line(" -> guest, every byte checked");
	assert_line("the backends released\n  every grant mapping, event channel, ioreq server "
		    "and foreign map (xensim: 0 live)");
	assert_line("daemons stopped with SIGTERM: exit status 0, 0, 0; machine-wide 0 live");
	assert_line("vxen-demo: OK, every check passed");
	/* The table is the counters, divided: each per-request figure is its total / requests. */
	for (unsigned int i = 0; i < 3; i++) {
		unsigned long req, tot[7];
		double per[7];

		report_row(devs[i], &req, tot, per);
		ck_assert_uint_gt(req, 0);
		for (int k = 0; k < 7; k++)
			ck_assert_double_eq_tol(per[k], (double)tot[k] / req, 0.006);
		/* Every request of these devices carries data: some map or copy moved it. */
		ck_assert_uint_gt(tot[0] + tot[2], 0);
	}
	/* blk: the 4 MiB disk written and read in 64 KiB requests. */
	{
		unsigned long req, tot[7];
		double per[7];

		report_row("blk", &req, tot, per);
		ck_assert_uint_eq(req, 2 * (4u << 20) / (64u << 10));
	}
	report_dir(dir, sizeof(dir));
	ck_assert_msg(access(dir, F_OK) != 0, "%s was left behind", dir);
}
END_TEST

START_TEST(demo__keep_leaves_the_image_and_logs)
{
	static const char *const args[] = { "--keep", NULL };
	static const char *const files[] = { "disk.img", "virtio-xen-blk.log", "virtio-xen-net.log",
					     "virtio-xen-console.log" };
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int st = run_demo(args, NULL);
	struct stat sb;

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	report_dir(dir, sizeof(dir));
	assert_line("vxen-demo: files kept in ");
	for (unsigned int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));
		unlink(path);
	}
	ck_assert_int_eq(stat(dir, &sb), 0);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

START_TEST(demo__missing_daemons_fail_clearly)
{
	static const char *const args[] = { "--daemon-dir", "/nonexistent", NULL };
	int st = run_demo(args, NULL);

	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	assert_line("vxen-demo: FAILED: /nonexistent/virtio-xen-blk: No such file or directory");
}
END_TEST

START_TEST(demo__help_exits_0_and_bad_options_exit_2)
{
	static const char *const help[] = { "--help", NULL };
	static const char *const bad[] = { "--bogus", NULL };
	static const char *const extra[] = { "extra", NULL };
	int st = run_demo(help, NULL);

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_line("Usage: vxen-demo [OPTION]...");
	st = run_demo(bad, NULL);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	st = run_demo(extra, NULL);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("demo");
	TCase *tc = tcase_create("vxen-demo");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, demo__default_run_passes_every_check_and_reports);
	tcase_add_test(tc, demo__keep_leaves_the_image_and_logs);
	tcase_add_test(tc, demo__missing_daemons_fail_clearly);
	tcase_add_test(tc, demo__help_exits_0_and_bad_options_exit_2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (access(demo_path(), X_OK) != 0) {
		fprintf(stderr, "%s is not built (target vxen-demo)\n", demo_path());
		return EXIT_FAILURE;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
