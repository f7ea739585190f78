/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench.h — shared pieces of vxen-bench: results, clocks, daemons, counters.
 *
 * vxen-bench measures; it never judges. Every figure is recorded with bench_put() under a key
 * "<workload>.<strategy>.<figure>" (or "<workload>.<figure>"), printed as one line and written
 * to bench.json at the end. Targets are reported beside the figures (bench_target()), never
 * turned into a failure: the program fails only when it could not run.
 */
#ifndef VXEN_BENCH_H
#define VXEN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xensim.h>

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */

struct bench_opts {
	double duration;	     /* seconds per measured point (I/O workloads) */
	double micro_duration;	     /* seconds per micro-benchmark point */
	const char *json;	     /* output file */
	const char *only;	     /* comma-separated group filter (ring,gdma,blk,net,scale) */
	const char *blk_daemon;	     /* virtio-xen-blk binary */
	const char *net_daemon;	     /* virtio-xen-net binary */
	const char *shm_dir;	     /* where images live (tmpfs) */
	bool syscalls;		     /* strace -c runs of the daemons */
	unsigned int copy_threshold; /* > 0: a third strategy, the library with this threshold */
	bool verbose;
};

extern struct bench_opts bench_opts;

/*
 * Strategies the daemons are run with, side by side: "lib" (the library's defaults), "naive"
 * (--grant-strategy=per-desc) and, with --copy-threshold N, "copyN" (--copy-threshold=N).
 */
#define BENCH_MAX_STRATEGIES 3
struct bench_strategy {
	const char *name;
	const char *option; /* daemon option, or NULL */
};
unsigned int bench_strategies(const struct bench_strategy **out);

/* Whether group @name was selected (--only). */
bool bench_selected(const char *name);

/* ------------------------------------------------------------------------------------------ */
/* Results                                                                                     */

/* Record figure @key = @value (printed at once with @unit, kept for bench.json). */
void bench_put(const char *key, double value, const char *unit);
/* Like bench_put() with a printf-built key. */
void bench_putf(double value, const char *unit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Value recorded under @key, or NAN. */
double bench_get(const char *key);
/* Report a target: "@what: measured @value @cmp @limit: reached|MISSED" (never fails). */
void bench_target(const char *what, const char *key, bool higher_is_better, double limit);
/* A line of commentary (not a figure). */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write every figure to @path as one flat JSON object. Returns 0 or -errno. */
int bench_write_json(const char *path);

/* ------------------------------------------------------------------------------------------ */
/* Time and memory                                                                             */

uint64_t bench_now_ns(void);
double bench_now_s(void);
/* Resident bytes of process @pid: total, and the part in guest-memory mappings (xensim memfds:
 * grant and ring mappings, ioreq pages, the RAM window grant copy uses). */
int bench_rss(pid_t pid, uint64_t *total, uint64_t *guest_maps);

/* Deterministic pseudo-random numbers (xorshift64*). */
static inline uint64_t bench_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Daemons                                                                                     */

struct bench_daemon {
	pid_t pid;  /* 0 once reaped */
	int status; /* wait status once reaped */
	char log[256];
};

/* Start @path with @args (NULL-terminated, argv[0] excluded); stdout/stderr to a log file. */
int bench_daemon_start(struct bench_daemon *d, const char *path, const char *const *args);
/* Send @sig and wait up to @ms for it to exit; returns the wait status or -1. */
int bench_daemon_stop(struct bench_daemon *d, int sig, int ms);
/* True if it is still running (reaps it otherwise). */
bool bench_daemon_alive(struct bench_daemon *d);
/* True if it has exited with the usage-error status 2 (an option it does not know). */
bool bench_daemon_refused(struct bench_daemon *d);
/* Print the last bytes of its log to stderr (on trouble). */
void bench_daemon_dump(const struct bench_daemon *d);
/* Remove the log. */
void bench_daemon_cleanup(struct bench_daemon *d);

/*
 * strace -c -f attached to a daemon for the duration of a short run: bench_strace_start()
 * before, bench_strace_stop() after; the summary gives calls by syscall name.
 */
struct bench_strace {
	pid_t pid;
	char out[256];
};
int bench_strace_start(struct bench_strace *s, pid_t target);
struct bench_syscalls {
	unsigned int n;
	struct {
		char name[32];
		uint64_t calls;
	} v[96];
	uint64_t total;
};
int bench_strace_stop(struct bench_strace *s, struct bench_syscalls *out);

/* ------------------------------------------------------------------------------------------ */
/* The machine and per-guest crossings                                                         */

extern xensim *bench_x;

/* A new guest domain with @ram_mib MiB and @vcpus vCPUs. */
int bench_guest_new(uint32_t *domid, unsigned int ram_mib, unsigned int vcpus);

/* Crossings of the backend side towards one guest, as xensim counts them. */
struct bench_cross {
	double map, unmap, copy, notify, deliver, dm, ioreq, irq, kick;
};
/* @b - @a per @n operations (kicks are given separately: they are counted by the driver). */
void bench_cross_diff(struct bench_cross *out, const struct xensim_counters *a,
		      const struct xensim_counters *b, uint64_t kicks, double n);
/* Sum of the backend's Xen library calls (map + unmap + copy + notify + deliver + dm). */
double bench_cross_xen_calls(const struct bench_cross *c);
/* Record every field under "<prefix>.<field>_per_<unit>" plus xen_calls_per_<unit>. */
void bench_cross_put(const char *prefix, const char *unit, const struct bench_cross *c);

/* ------------------------------------------------------------------------------------------ */
/* Groups                                                                                      */

int bench_ring(void);
int bench_gdma(void);
int bench_blk(void);
int bench_net(void);
int bench_scale(void);

#endif /* VXEN_BENCH_H */
