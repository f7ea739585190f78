/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_util.c — results table, JSON, clocks, RSS, daemons and strace for vxen-bench.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_RESULTS 1024

static struct {
	char key[112];
	double value;
} results[MAX_RESULTS];
static unsigned int nresults;

xensim *bench_x;

/* ------------------------------------------------------------------------------------------ */
/* Results                                                                                     */

unsigned int bench_strategies(const struct bench_strategy **out)
{
	static char name[32], option[48];
	static struct bench_strategy v[BENCH_MAX_STRATEGIES] = {
		{ "lib", NULL },
		{ "naive", "--grant-strategy=per-desc" },
		{ name, option },
	};

	*out = v;
	if (!bench_opts.copy_threshold)
		return 2;
	snprintf(name, sizeof(name), "copy%u", bench_opts.copy_threshold);
	snprintf(option, sizeof(option), "--copy-threshold=%u", bench_opts.copy_threshold);
	return 3;
}

bool bench_selected(const char *name)
{
	const char *p = bench_opts.only;
	size_t n = strlen(name);

	if (!p || !*p)
		return true;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, name, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

void bench_put(const char *key, double value, const char *unit)
{
	unsigned int i;

	for (i = 0; i < nresults && strcmp(results[i].key, key); i++)
		;
	if (i == MAX_RESULTS)
		return;
	if (i == nresults) {
		snprintf(results[i].key, sizeof(results[i].key), "%s", key);
		nresults++;
	}
	results[i].value = value;
	if (isnan(value))
		printf("%-64s n/a\n", key);
	else
		printf("%-64s %14.4f %s\n", key, value, unit ? unit : "");
	fflush(stdout);
}

void bench_putf(double value, const char *unit, const char *fmt, ...)
{
	char key[112];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	bench_put(key, value, unit);
}

double bench_get(const char *key)
{
	for (unsigned int i = 0; i < nresults; i++)
		if (!strcmp(results[i].key, key))
			return results[i].value;
	return NAN;
}

void bench_target(const char *what, const char *key, bool higher_is_better, double limit)
{
	double v = bench_get(key);
	bool ok = higher_is_better ? v >= limit : v <= limit;

	if (isnan(v))
		printf("TARGET %-48s not measured (%s)\n", what, key);
	else
		printf("TARGET %-48s %.3f %s %.3f: %s\n", what, v,
		       higher_is_better ? ">=" : "<=", limit, ok ? "reached" : "MISSED");
	fflush(stdout);
}

void bench_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int bench_write_json(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\n");
	for (unsigned int i = 0; i < nresults; i++) {
		const char *sep = i + 1 < nresults ? "," : "";

		/* JSON has no NaN: a figure that could not be measured is null. */
		if (isnan(results[i].value) || isinf(results[i].value))
			fprintf(f, "  \"%s\": null%s\n", results[i].key, sep);
		else
			fprintf(f, "  \"%s\": %.6g%s\n", results[i].key, results[i].value, sep);
	}
	fprintf(f, "}\n");
	return fclose(f) ? -errno : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Time and memory                                                                             */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bench_now_s(void)
{
	return (double)bench_now_ns() / 1e9;
}

int bench_rss(pid_t pid, uint64_t *total, uint64_t *guest_maps)
{
	char path[64], line[512];
	bool guest = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	*total = *guest_maps = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;
		unsigned long lo, hi;

		/* A mapping starts with "lo-hi perms offset dev inode [path]". */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			guest = strstr(line, "memfd:xensim-") != NULL;
			continue;
		}
		if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			*total += kb * 1024;
			if (guest)
				*guest_maps += kb * 1024;
		}
	}
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Daemons                                                                                     */

static pid_t spawn(const char *path, const char *const *args, int out_fd)
{
	const char *argv[64] = { path };
	pid_t parent = getpid(), pid;
	unsigned int n = 1;

	for (; args && args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	if (pid)
		return pid;
	/* Child: only async-signal-safe calls until exec (the parent has threads). */
	if (out_fd >= 0) {
		dup2(out_fd, 1);
		dup2(out_fd, 2);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
	if (getppid() != parent)
		_exit(127);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int bench_daemon_start(struct bench_daemon *d, const char *path, const char *const *args)
{
	static unsigned int seq;
	const char *tmp = getenv("TMPDIR");
	int fd;

	if (access(path, X_OK))
		return -errno;
	snprintf(d->log, sizeof(d->log), "%s/vxen-bench-%d-%u.log", tmp && *tmp ? tmp : "/tmp",
		 (int)getpid(), seq++);
	fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	d->pid = spawn(path, args, fd);
	close(fd);
	return d->pid < 0 ? -errno : 0;
}

int bench_daemon_stop(struct bench_daemon *d, int sig, int ms)
{
	int status;

	if (d->pid <= 0)
		return -1;
	if (sig)
		kill(d->pid, sig);
	for (int i = 0; i <= ms / 5; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			d->status = status;
			return status;
		}
		usleep(5000);
	}
	return -1;
}

bool bench_daemon_alive(struct bench_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = 0;
		d->status = status;
		return false;
	}
	return true;
}

bool bench_daemon_refused(struct bench_daemon *d)
{
	if (d->pid > 0)
		bench_daemon_stop(d, 0, 200);
	return d->pid == 0 && WIFEXITED(d->status) && WEXITSTATUS(d->status) == 2;
}

void bench_daemon_dump(const struct bench_daemon *d)
{
	char buf[4096];
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);
	off_t end = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
	ssize_t n;

	if (fd < 0)
		return;
	lseek(fd, end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	fprintf(stderr, "---- %s ----\n%s----\n", d->log, buf);
}

void bench_daemon_cleanup(struct bench_daemon *d)
{
	if (d->pid > 0 && bench_daemon_stop(d, SIGTERM, 3000) == -1)
		bench_daemon_stop(d, SIGKILL, 3000);
	if (d->log[0])
		unlink(d->log);
	d->log[0] = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* strace                                                                                      */

int bench_strace_start(struct bench_strace *s, pid_t target)
{
	static unsigned int seq;
	const char *tmp = getenv("TMPDIR");
	char pid[16];
	const char *args[] = { "-c", "-f", "-q", "-o", s->out, "-p", pid, NULL };
	int devnull;

	snprintf(pid, sizeof(pid), "%d", (int)target);
	snprintf(s->out, sizeof(s->out), "%s/vxen-bench-strace-%d-%u.txt",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid(), seq++);
	if (access("/usr/bin/strace", X_OK))
		return -ENOENT;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	s->pid = spawn("/usr/bin/strace", args, devnull);
	if (devnull >= 0)
		close(devnull);
	if (s->pid < 0)
		return -errno;
	/* strace attaches to every thread before it reports anything; give it a moment. */
	usleep(300000);
	return 0;
}

static void parse_strace(FILE *f, struct bench_syscalls *out)
{
	char line[256];

	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		double pct, secs;
		unsigned long long usecs, calls, errors;
		char name[32];

		/* "% time seconds usecs/call calls [errors] syscall" */
		if (sscanf(line, "%lf %lf %llu %llu %llu %31s", &pct, &secs, &usecs, &calls,
			   &errors, name) != 6 &&
		    sscanf(line, "%lf %lf %llu %llu %31s", &pct, &secs, &usecs, &calls, name) != 5)
			continue;
		if (!strcmp(name, "total") || out->n == sizeof(out->v) / sizeof(out->v[0]))
			continue;
		snprintf(out->v[out->n].name, sizeof(out->v[0].name), "%s", name);
		out->v[out->n++].calls = calls;
		out->total += calls;
	}
}

int bench_strace_stop(struct bench_strace *s, struct bench_syscalls *out)
{
	int status;
	FILE *f;

	if (s->pid <= 0)
		return -ESRCH;
	kill(s->pid, SIGINT); /* detaches and writes the summary */
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	f = fopen(s->out, "r");
	if (!f)
		return -errno;
	parse_strace(f, out);
	fclose(f);
	unlink(s->out);
	return out->n ? 0 : -ENODATA;
}

/* ------------------------------------------------------------------------------------------ */
/* Machine                                                                                     */

int bench_guest_new(uint32_t *domid, unsigned int ram_mib, unsigned int vcpus)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;

	dc.ram_bytes = (uint64_t)ram_mib << 20;
	dc.vcpus = vcpus;
	return xensim_domain_create(bench_x, &dc, domid);
}

void bench_cross_diff(struct bench_cross *out, const struct xensim_counters *a,
		      const struct xensim_counters *b, uint64_t kicks, double n)
{
#define D(f) ((double)(b->f - a->f) / n)
	out->map = D(gnt_map_calls);
	out->unmap = D(gnt_unmap_calls);
	out->copy = D(gnt_copy_calls);
	out->notify = D(evtchn_notify_calls);
	out->deliver = D(evtchn_deliveries);
	out->dm = D(dm_calls);
	out->ioreq = D(ioreqs);
	out->irq = D(irq_raises);
#undef D
	out->kick = (double)kicks / n;
}

double bench_cross_xen_calls(const struct bench_cross *c)
{
	return c->map + c->unmap + c->copy + c->notify + c->deliver + c->dm;
}

void bench_cross_put(const char *prefix, const char *unit, const struct bench_cross *c)
{
	bench_putf(bench_cross_xen_calls(c), NULL, "%s.xen_calls_per_%s", prefix, unit);
	bench_putf(c->map, NULL, "%s.gnt_map_per_%s", prefix, unit);
	bench_putf(c->unmap, NULL, "%s.gnt_unmap_per_%s", prefix, unit);
	bench_putf(c->copy, NULL, "%s.gnt_copy_per_%s", prefix, unit);
	bench_putf(c->notify, NULL, "%s.evtchn_notify_per_%s", prefix, unit);
	bench_putf(c->deliver, NULL, "%s.evtchn_deliver_per_%s", prefix, unit);
	bench_putf(c->dm, NULL, "%s.dm_calls_per_%s", prefix, unit);
	bench_putf(c->ioreq, NULL, "%s.ioreqs_per_%s", prefix, unit);
	bench_putf(c->irq, NULL, "%s.interrupts_per_%s", prefix, unit);
	bench_putf(c->kick, NULL, "%s.kicks_per_%s", prefix, unit);
}
