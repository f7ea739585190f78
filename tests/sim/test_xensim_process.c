/* SPDX-License-Identifier: MIT */
/*
 * xensim across processes: this process is the machine and the guest; the backend is a
 * separate program built against the REAL libxen (tests/xensim/xensim_test_backend.c) that
 * runs on xensim's drop-ins through LD_LIBRARY_PATH alone.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_xensim.h"

#define BASE 0x2000000ULL
#define SPI  33

static struct xt_machine m;

static void setup(void)
{
	xt_machine_start(&m, 2);
}

static void teardown(void)
{
	xt_machine_stop(&m);
}

static pid_t spawn_backend(uint32_t gref, int *out_fd)
{
	const char *build = getenv("VXEN_BUILD_DIR");
	char path[PATH_MAX], domid[16], base[32], spi[16], ref[16];
	int p[2];
	pid_t pid;

	ck_assert_msg(build != NULL, "VXEN_BUILD_DIR is not set (run through ctest)");
	snprintf(path, sizeof(path), "%s/tests/xensim/xensim_test_backend", build);
	snprintf(domid, sizeof(domid), "%u", m.domid);
	snprintf(base, sizeof(base), "0x%llx", BASE);
	snprintf(spi, sizeof(spi), "%u", SPI);
	snprintf(ref, sizeof(ref), "%u", gref);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execl(path, path, domid, base, spi, ref, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

static void read_line(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ck_assert_msg(poll(&pf, 1, 10000) == 1, "backend did not get ready");
		n = read(fd, buf + got, 1);
		ck_assert_int_eq(n, 1);
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = 0;
}

START_TEST(process__real_libxen_backend_serves_a_guest_in_another_process)
{
	const char *libdir = getenv("LD_LIBRARY_PATH");
	uint64_t gpa, val = 0;
	uint32_t gref;
	char line[PATH_MAX + 16];
	int fd, status;
	pid_t pid;
	struct xensim_counters c;

	ck_assert_msg(libdir && *libdir, "LD_LIBRARY_PATH must name xensim's drop-in libraries");
	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, 1, &gpa), 0);
	memcpy(xensim_guest_ptr(m.g, gpa, 8), "xensim!!", 8);
	ck_assert_int_eq(xensim_grant_access(m.g, 0, gpa >> 12, true, &gref), 0);

	pid = spawn_backend(gref, &fd);
	read_line(fd, line, sizeof(line));
	/* The unmodified binary resolved libxengnttab.so.1 to xensim's drop-in. */
	ck_assert_msg(strncmp(line, "ready ", 6) == 0, "backend said: %s", line);
	ck_assert_msg(strstr(line, "xensim/lib/libxengnttab.so.1") != NULL, "backend runs on %s",
		      line + 6);

	/* The guest's MMIO read is answered by the backend process with the granted bytes. */
	ck_assert_int_eq(xensim_mmio_read(m.g, 1, BASE, 8, &val), 0);
	ck_assert_int_eq(memcmp(&val, "xensim!!", 8), 0);
	/* ... and the backend's interrupt reaches the guest. */
	ck_assert_int_ge(xensim_irq_wait(m.g, SPI, 5000), 1);
	ck_assert_int_eq(xensim_mmio_write(m.g, 0, BASE + 4, 4, 1), 0);

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(fd);
	c = xt_counters(&m, m.domid);
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_unmap_calls, 1);
	ck_assert_uint_eq(c.irq_raises, 1);
	ck_assert_uint_eq(c.ioreqs, 2);
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_int_eq(xensim_grant_end_access(m.g, gref), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_process");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, process__real_libxen_backend_serves_a_guest_in_another_process);
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
	return failed ? 1 : 0;
}
