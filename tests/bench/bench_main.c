/* SPDX-License-Identifier: MIT */
/*
 * vxen-bench — libvirtio-xen's performance benchmark, on xensim (see doc/performance.md).
 *
 * One process: it starts a simulated Xen machine in its own threads, plays the guests (xensim's
 * virtio frontends) and spawns the example daemons as separate processes, the way they run on
 * Xen. Groups:
 *	ring   the ring alone on plain memory vs an unchecked floor
 *	gdma   grant copy vs grant map for one data buffer of 4 KiB .. 128 KiB
 *	blk    virtio-xen-blk, tmpfs image: 4 KiB random read/write at depth 1 and 32, 64 KiB
 *	       sequential read at depth 8 — library strategy vs per-descriptor maps
 *	net    virtio-xen-net, socket backend: 64 and 1500-byte frames each way
 *	scale  one virtio-xen-blk serving 8 guests x 8 disks: memory per device, bring-up time
 * Every figure is printed as "key value unit" and written to bench.json. Targets are reported
 * ("TARGET ... reached|MISSED"); a missed target is not a failure. Exit status: 0 when every
 * selected group ran (groups whose daemon is not built are skipped), 1 otherwise, 2 for a bad
 * command line, 3 when a group stalled (watchdog).
 *
 *	vxen-bench [--quick] [--duration S] [--micro S] [--only ring,gdma,blk,net,scale]
 *		   [--json PATH] [--no-strace] [--blk-daemon PATH] [--net-daemon PATH]
 *		   [--shm DIR] [--copy-threshold N] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <virtio-xen/gdma.h>
#include <virtio-xen/version.h>

#include "bench.h"

#ifndef VXEN_BENCH_XENSIM_LIBDIR
#error "VXEN_BENCH_XENSIM_LIBDIR must name xensim's drop-in library directory"
#endif
#ifndef VXEN_BENCH_BUILD_DIR
#error "VXEN_BENCH_BUILD_DIR must name the build directory"
#endif

struct bench_opts bench_opts = {
	.duration = 5.0,
	.micro_duration = 2.0,
	.json = "bench.json",
	.shm_dir = "/dev/shm",
	.syscalls = true,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vxen-bench [--quick] [--duration S] [--micro S] [--only GROUPS]\n"
		"                  [--json PATH] [--no-strace] [--blk-daemon PATH]\n"
		"                  [--net-daemon PATH] [--shm DIR] [--copy-threshold N] [-v]\n"
		"Groups: ring, gdma, blk, net, scale (default: all).\n"
		"Defaults: --duration 5 (s per I/O point), --micro 2 (s per micro point),\n"
		"--json bench.json, --shm /dev/shm. --quick: --duration 1.5 --micro 0.5.\n"
		"--copy-threshold N: also run the daemons with --copy-threshold=N (\"copyN\").\n");
}

static char *daemon_path(const char *rel)
{
	const char *b = getenv("VXEN_BUILD_DIR");
	char *p;

	if (asprintf(&p, "%s/examples/%s", b && *b ? b : VXEN_BENCH_BUILD_DIR, rel) < 0)
		return NULL;
	return p;
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'Q' },
		{ "duration", required_argument, NULL, 'd' },
		{ "micro", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'o' },
		{ "json", required_argument, NULL, 'j' },
		{ "no-strace", no_argument, NULL, 'S' },
		{ "blk-daemon", required_argument, NULL, 'b' },
		{ "net-daemon", required_argument, NULL, 'n' },
		{ "shm", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "copy-threshold", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'Q':
			bench_opts.duration = 1.5;
			bench_opts.micro_duration = 0.5;
			break;
		case 'd':
			bench_opts.duration = atof(optarg);
			break;
		case 'm':
			bench_opts.micro_duration = atof(optarg);
			break;
		case 'o':
			bench_opts.only = optarg;
			break;
		case 'j':
			bench_opts.json = optarg;
			break;
		case 'S':
			bench_opts.syscalls = false;
			break;
		case 'b':
			bench_opts.blk_daemon = optarg;
			break;
		case 'n':
			bench_opts.net_daemon = optarg;
			break;
		case 's':
			bench_opts.shm_dir = optarg;
			break;
		case 'v':
			bench_opts.verbose = true;
			break;
		case 'c':
			bench_opts.copy_threshold = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || bench_opts.duration <= 0 || bench_opts.micro_duration <= 0) {
		usage(stderr);
		return -1;
	}
	if (!bench_opts.blk_daemon)
		bench_opts.blk_daemon = daemon_path("blk/virtio-xen-blk");
	if (!bench_opts.net_daemon)
		bench_opts.net_daemon = daemon_path("net/virtio-xen-net");
	return 0;
}

/* Images belong on tmpfs; fall back to $TMPDIR if the directory cannot take them. */
static void check_shm(void)
{
	if (access(bench_opts.shm_dir, W_OK)) {
		const char *tmp = getenv("TMPDIR");

		fprintf(stderr, "vxen-bench: %s is not writable: images go to %s (not tmpfs?)\n",
			bench_opts.shm_dir, tmp && *tmp ? tmp : "/tmp");
		bench_opts.shm_dir = tmp && *tmp ? tmp : "/tmp";
	}
}

/*
 * The library in this process (gdma group) and the daemons must load xensim's drop-in Xen
 * libraries: put them first in LD_LIBRARY_PATH and start again, once.
 */
static void reexec_with_xensim(char **argv)
{
	const char *cur = getenv("LD_LIBRARY_PATH");
	size_t n = strlen(VXEN_BENCH_XENSIM_LIBDIR);
	char *v;

	if (cur && !strncmp(cur, VXEN_BENCH_XENSIM_LIBDIR, n) && (cur[n] == ':' || !cur[n]))
		return;
	if (getenv("VXEN_BENCH_REEXEC"))
		return; /* tried already: run with what we have */
	if (asprintf(&v, "%s%s%s", VXEN_BENCH_XENSIM_LIBDIR, cur && *cur ? ":" : "",
		     cur ? cur : "") < 0)
		return;
	setenv("LD_LIBRARY_PATH", v, 1);
	setenv("VXEN_BENCH_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	free(v); /* exec failed: go on */
}

/* The machine's load average: the benchmark shares its CPUs with whatever else runs. */
static void loadavg(const char *when)
{
	double l1 = NAN;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l1) != 1)
			l1 = NAN;
		fclose(f);
	}
	bench_putf(l1, "", "meta.loadavg_%s", when);
}

static void targets(void)
{
	printf("\n");
	bench_target("blk 4k randread qd32: library/per-desc req/s >= 3",
		     "blk_randread_4k_qd32.ratio_req_per_s", true, 3.0);
	bench_target("blk 4k randread qd32: Xen calls/req <= 0.5",
		     "blk_randread_4k_qd32.lib.xen_calls_per_req", false, 0.5);
	bench_target("blk 4k randread qd32: interrupts/req <= 0.1",
		     "blk_randread_4k_qd32.lib.interrupts_per_req", false, 0.1);
	bench_target("blk 4k randread qd32: guest kicks/req <= 0.1",
		     "blk_randread_4k_qd32.lib.kicks_per_req", false, 0.1);
	bench_target("ring 1-desc pop+push within 2x the floor",
		     "ring_pop_push_1desc.ratio_to_floor", false, 2.0);
	bench_target("resident KiB per device beyond queue mappings <= 256",
		     "scale.lib.rss_per_dev_beyond_maps_kib", false, 256.0);
}

struct group {
	const char *name;
	int (*run)(void);
};

static const char *volatile current = "start";

/*
 * A benchmark never fails on time, but it must not hang a test run either: if a group stalls
 * (a daemon or the simulator stopped answering), say where and exit.
 */
static void watchdog(int sig)
{
	static const char msg[] = "vxen-bench: stalled, no progress for too long in group: ";
	const char *g = current;
	ssize_t n = write(2, msg, sizeof(msg) - 1);

	n += write(2, g, strlen(g));
	n += write(2, "\n", 1);
	(void)n;
	_exit(3);
}

int main(int argc, char **argv)
{
	static const struct group groups[] = {
		{ "ring", bench_ring }, { "gdma", bench_gdma },	  { "blk", bench_blk },
		{ "net", bench_net },	{ "scale", bench_scale },
	};
	xensim_server *srv = NULL;
	int rc, failed = 0;

	if (parse(argc, argv))
		return 2;
	reexec_with_xensim(argv);
	check_shm();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, watchdog);
	bench_note("vxen-bench, libvirtio-xen %s; %.1f s per I/O point, %.1f s per micro point",
		   vxen_version(), bench_opts.duration, bench_opts.micro_duration);
	bench_put("meta.duration_s", bench_opts.duration, "s");
	bench_put("meta.micro_duration_s", bench_opts.micro_duration, "s");
	bench_put("meta.cpus", (double)sysconf(_SC_NPROCESSORS_ONLN), "");
	bench_put("meta.default_copy_threshold", VXEN_GDMA_DEFAULT_COPY_THRESHOLD, "B");
	loadavg("start");
	rc = xensim_server_start(&srv, NULL);
	if (!rc)
		rc = xensim_open(&bench_x, NULL);
	if (rc) {
		fprintf(stderr, "vxen-bench: cannot start the xensim machine: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned int i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		double t0 = bench_now_s();

		if (!bench_selected(groups[i].name))
			continue;
		current = groups[i].name;
		/* Generous: about ten times what the group needs. */
		alarm((unsigned int)(120 +
				     100 * (bench_opts.duration + bench_opts.micro_duration)));
		printf("\n");
		rc = groups[i].run();
		if (rc == -ENOENT) {
			bench_note("%s: skipped (a daemon it needs is not built)", groups[i].name);
		} else if (rc) {
			fprintf(stderr, "vxen-bench: %s: failed: %s\n", groups[i].name,
				strerror(-rc));
			failed++;
		}
		bench_putf(bench_now_s() - t0, "s", "meta.%s_wall_s", groups[i].name);
	}
	alarm(0);
	loadavg("end");
	targets();
	xensim_close(bench_x);
	xensim_server_stop(srv);
	rc = bench_write_json(bench_opts.json);
	if (rc) {
		fprintf(stderr, "vxen-bench: %s: %s\n", bench_opts.json, strerror(-rc));
		return 1;
	}
	printf("\nwrote %s\n", bench_opts.json);
	return failed ? 1 : 0;
}
