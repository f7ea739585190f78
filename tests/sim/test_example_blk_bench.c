/* SPDX-License-Identifier: MIT */
/*
 * test_example_blk_bench.c — virtio-xen-blk's two I/O engines compared on xensim: 4 KiB random
 * reads and writes at queue depth 1 and 32 on one queue, image on tmpfs (/dev/shm when it
 * exists). Prints requests per second for each; asserts only that every request succeeded.
 * Besides wall-clock requests per second (noisy on a shared machine) it prints the daemon's CPU
 * time per request (user + system, all its threads, io_uring workers included), which contention
 * disturbs much less. EXBLK_BENCH_OPS=N sets the requests per measurement (default 2000: a quick
 * smoke run).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "helper_example_blk.h"

#define DISK	 (64ull << 20)
#define BS	 4096u
#define MAXDEPTH 32u

static struct exblk w;

/* The daemon's CPU time so far (utime + stime of all its threads), in seconds. */
static double daemon_cpu(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)w.pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')'); /* the command name may contain spaces */
	ck_assert_int_eq(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st),
		2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	double rate; /* requests per second */
	double cpu;  /* daemon CPU microseconds per request */
};

/* @n random 4 KiB requests of @type, @depth in flight. */
static struct result measure(uint32_t type, unsigned int depth, unsigned int n)
{
	struct xensim_blk_req reqs[MAXDEPTH], *r;
	struct xensim_sg sgs[MAXDEPTH];
	unsigned int free_slots[MAXDEPTH], nfree = depth, started = 0, done = 0;
	struct xensim_gbuf buf;
	uint32_t seed = 2463534242u;
	double t0, c0;

	for (unsigned int i = 0; i < depth; i++)
		free_slots[i] = i;
	ck_assert_int_eq(xensim_gbuf_alloc(w.g, MAXDEPTH * BS, &buf), 0);
	exblk_fill(buf.host, MAXDEPTH * BS, 3);
	t0 = now();
	c0 = daemon_cpu();
	while (done < n) {
		bool kick = false;

		while (nfree && started < n) {
			unsigned int i = free_slots[--nfree];

			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			sgs[i] = (struct xensim_sg){ buf.gpa + i * BS, BS };
			reqs[i] =
				(struct xensim_blk_req){ .type = type,
							 .sector = seed % (DISK / BS) * (BS / 512),
							 .sg = &sgs[i],
							 .nsg = 1 };
			ck_assert_int_eq(xensim_blk_submit(w.blk, 0, &reqs[i], false), 0);
			started++;
			kick = true;
		}
		if (kick)
			ck_assert_int_ge(xensim_blk_kick(w.blk, 0), 0);
		ck_assert_int_eq(xensim_blk_complete(w.blk, 0, EXBLK_TMO, &r), 1);
		do {
			ck_assert_uint_eq(r->status, XENSIM_VIRTIO_BLK_S_OK);
			free_slots[nfree++] = (unsigned int)(r - reqs);
			done++;
		} while (xensim_blk_complete(w.blk, 0, 0, &r) == 1);
	}
	t0 = now() - t0;
	c0 = daemon_cpu() - c0;
	xensim_gbuf_free(w.g, &buf);
	return (struct result){ n / t0, c0 * 1e6 / n };
}

START_TEST(bench__engines_4k_random_io_at_depth_1_and_32)
{
	static const char *const io[] = { "uring", "threads" };
	const char *args[] = { "--queues", "1", "--io", io[_i], NULL };
	const char *env = getenv("EXBLK_BENCH_OPS");
	unsigned int n = env ? (unsigned int)atoi(env) : 2000;
	static const struct {
		const char *name;
		uint32_t type;
		unsigned int depth;
	} cfg[] = { { "randread qd1", XENSIM_VIRTIO_BLK_T_IN, 1 },
		    { "randwrite qd1", XENSIM_VIRTIO_BLK_T_OUT, 1 },
		    { "randread qd32", XENSIM_VIRTIO_BLK_T_IN, 32 },
		    { "randwrite qd32", XENSIM_VIRTIO_BLK_T_OUT, 32 } };
	uint32_t domid;

	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	exblk_start(&w);
	exblk_image(&w, "bench.img", DISK, 9); /* written: reads hit real pages */
	exblk_daemon_start(&w, args);
	domid = exblk_guest(&w);
	exblk_disk(&w, domid, 0, "w");
	exblk_wait_state(&w, domid, 0, "2");
	exblk_attach(&w, domid, NULL);
	for (unsigned int i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		struct result r = measure(cfg[i].type, cfg[i].depth, n);

		printf("bench: --io %-7s 4k %-14s %7.0f req/s %6.1f us CPU/req (%u requests)\n",
		       io[_i], cfg[i].name, r.rate, r.cpu, n);
	}
	fflush(stdout);
	exblk_stop(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example_blk_bench");
	TCase *tc = tcase_create("bench");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, bench__engines_4k_random_io_at_depth_1_and_32, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
