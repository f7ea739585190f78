/* SPDX-License-Identifier: MIT */
/*
 * test_example_blk_bench.c — virtio-xen-blk's two I/O engines compared on xensim: 4 KiB random
 * reads and writes at queue depth 1 and 32 on one queue, images on tmpfs (/dev/shm when it
 * exists). Asserts only that every request succeeded; prints the numbers.
 *
 * On a shared machine a run's speed depends on what else runs, so the engines are measured
 * side by side: two daemons (explicit mode, --io uring and --io threads) serve two guests of
 * one machine, and each configuration alternates short rounds between them (A B B A ...). The
 * output gives, per engine, the median requests per second and the daemon's CPU time per
 * request (user + system, all its threads, io_uring workers included), and the median of the
 * per-round uring/threads throughput ratio, which background load disturbs least.
 * EXBLK_BENCH_OPS=N sets the requests per engine and configuration (default 2000, a smoke run)
 * and EXBLK_BENCH_ROUNDS the rounds they are split into (default 4).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper_example_blk.h"

#define DISK	   (64ull << 20)
#define BS	   4096u
#define MAXDEPTH   32u
#define MAX_ROUNDS 64u

static struct exblk w;

struct engine {
	const char *io;
	pid_t pid;
	uint32_t domid;
	xensim_guest *g;
	xensim_blk *blk;
	char image[300];
};

static struct engine eng[2] = { { .io = "uring" }, { .io = "threads" } };

/* The daemon's CPU time so far (utime + stime of all its threads), in seconds. */
static double daemon_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
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
	double cpu;  /* daemon CPU seconds */
};

/* @n random 4 KiB requests of @type on @e, @depth in flight. */
static struct result measure(struct engine *e, uint32_t type, unsigned int depth, unsigned int n)
{
	struct xensim_blk_req reqs[MAXDEPTH], *r;
	struct xensim_sg sgs[MAXDEPTH];
	unsigned int free_slots[MAXDEPTH], nfree = depth, started = 0, done = 0;
	struct xensim_gbuf buf;
	uint32_t seed = 2463534242u + n;
	double t0, c0;

	for (unsigned int i = 0; i < depth; i++)
		free_slots[i] = i;
	ck_assert_int_eq(xensim_gbuf_alloc(e->g, MAXDEPTH * BS, &buf), 0);
	exblk_fill(buf.host, MAXDEPTH * BS, 3);
	t0 = now();
	c0 = daemon_cpu(e->pid);
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
			ck_assert_int_eq(xensim_blk_submit(e->blk, 0, &reqs[i], false), 0);
			started++;
			kick = true;
		}
		if (kick)
			ck_assert_int_ge(xensim_blk_kick(e->blk, 0), 0);
		ck_assert_int_eq(xensim_blk_complete(e->blk, 0, EXBLK_TMO, &r), 1);
		do {
			ck_assert_uint_eq(r->status, XENSIM_VIRTIO_BLK_S_OK);
			free_slots[nfree++] = (unsigned int)(r - reqs);
			done++;
		} while (xensim_blk_complete(e->blk, 0, 0, &r) == 1);
	}
	t0 = now() - t0;
	c0 = daemon_cpu(e->pid) - c0;
	xensim_gbuf_free(e->g, &buf);
	return (struct result){ n / t0, c0 };
}

/* An explicit-mode daemon serving a new guest's disk with engine e->io. */
static void engine_up(struct engine *e, unsigned int k)
{
	char domid[16], base[32], name[32];
	const char *args[] = { "--domid", domid,  "--base", base,	"--irq", "33", "--image",
			       e->image,  "--io", e->io,    "--queues", "1",	 NULL };

	snprintf(name, sizeof(name), "bench-%s.img", e->io);
	exblk_image(&w, name, DISK, 9 + k); /* written: reads hit real pages */
	snprintf(e->image, sizeof(e->image), "%s", w.image);
	e->domid = exblk_guest(&w);
	snprintf(domid, sizeof(domid), "%u", e->domid);
	snprintf(base, sizeof(base), "%#llx", EXBLK_BASE);
	w.pid = 0;
	exblk_daemon_start(&w, args);
	e->pid = w.pid;
	w.g = NULL;
	w.blk = NULL;
	exblk_attach_retry(&w, e->domid, NULL);
	e->g = w.g;
	e->blk = w.blk;
}

static void engine_down(struct engine *e)
{
	xensim_blk_free(e->blk);
	xensim_guest_detach(e->g);
	w.pid = e->pid;
	ck_assert_int_ne(exblk_daemon_wait(&w, SIGTERM, EXBLK_TMO), -1);
	unlink(e->image);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static unsigned int env_uint(const char *name, unsigned int dflt, unsigned int max)
{
	const char *s = getenv(name);
	unsigned int v = s ? (unsigned int)atoi(s) : dflt;

	return v < 1 ? 1 : v > max ? max : v;
}

START_TEST(bench__uring_and_threads_engines_side_by_side_4k_random_io_qd1_qd32)
{
	static const struct {
		const char *name;
		uint32_t type;
		unsigned int depth;
	} cfg[] = { { "randread qd1", XENSIM_VIRTIO_BLK_T_IN, 1 },
		    { "randwrite qd1", XENSIM_VIRTIO_BLK_T_OUT, 1 },
		    { "randread qd32", XENSIM_VIRTIO_BLK_T_IN, 32 },
		    { "randwrite qd32", XENSIM_VIRTIO_BLK_T_OUT, 32 } };
	unsigned int ops = env_uint("EXBLK_BENCH_OPS", 2000, 10000000);
	unsigned int rounds = env_uint("EXBLK_BENCH_ROUNDS", 4, MAX_ROUNDS);
	unsigned int per_round = ops / rounds ? ops / rounds : 1;

	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	exblk_start(&w);
	engine_up(&eng[0], 0);
	engine_up(&eng[1], 1);
	w.g = NULL; /* the engines own their guests and drivers */
	w.blk = NULL;
	for (unsigned int c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		double rate[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS], ratio[MAX_ROUNDS];

		for (unsigned int r = 0; r < rounds; r++)
			for (unsigned int k = 0; k < 2; k++) {
				unsigned int e = (r + k) % 2; /* A B, B A, ... */
				struct result x =
					measure(&eng[e], cfg[c].type, cfg[c].depth, per_round);

				rate[e][r] = x.rate;
				cpu[e][r] = x.cpu * 1e6 / per_round;
			}
		for (unsigned int r = 0; r < rounds; r++)
			ratio[r] = rate[0][r] / rate[1][r];
		printf("bench: 4k %-14s uring %7.0f req/s %6.1f us CPU/req | threads %7.0f req/s "
		       "%6.1f us CPU/req | uring/threads %.2f (%u x %u requests)\n",
		       cfg[c].name, median(rate[0], rounds), median(cpu[0], rounds),
		       median(rate[1], rounds), median(cpu[1], rounds), median(ratio, rounds),
		       rounds, per_round);
		fflush(stdout);
	}
	engine_down(&eng[0]);
	engine_down(&eng[1]);
	w.image[0] = 0; /* both images are gone */
	w.pid = 0;
	exblk_stop(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example_blk_bench");
	TCase *tc = tcase_create("bench");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 1800);
	tcase_add_test(tc, bench__uring_and_threads_engines_side_by_side_4k_random_io_qd1_qd32);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
