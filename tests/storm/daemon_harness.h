/* SPDX-License-Identifier: MIT */
/*
 * daemon_harness.h — the example daemons as real separate processes on a xensim machine: spawn
 * them (optionally under valgrind), look at their memory and fds, stop them with SIGTERM; play
 * the toolstack (xl) and the guests (xensim's drivers) from the test process.
 *
 * The machine runs in the test process (xensim_server_start()); daemons inherit its socket
 * paths through the environment and find xensim's drop-in Xen libraries through
 * LD_LIBRARY_PATH, exactly as an unmodified binary would on a real dom0 with the real ones.
 * Daemon binaries come from $VXEN_BUILD_DIR (set by ctest).
 */
#ifndef DAEMON_HARNESS_H
#define DAEMON_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <xensim-virtio.h>
#include <xensim.h>

/* Every wait of the harness (xenstore states, guest MMIO and I/O, teardown): 10 s, or more for
 * daemons under valgrind (set dh_tmo before starting). */
extern int dh_tmo;
#define DH_TMO dh_tmo

struct dh_daemon {
	const char *name; /* "rng", "blk" */
	pid_t pid;
	char log[256]; /* its stderr */
	bool keep_log; /* dh_stop() leaves the log file (the caller reads and removes it) */
};

/**
 * dh_spawn() - start the example daemon @name (examples/<name>/virtio-xen-<name>) in discovery
 * mode with @extra arguments (NULL-terminated, may be NULL). With @valgrind, under
 * `valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect`.
 * Returns 0, or -ENOENT if the binary (or valgrind) is not there.
 */
int dh_spawn(struct dh_daemon *d, const char *name, const char *const *extra, bool valgrind);

/** dh_stop() - SIGTERM, then wait up to @timeout_ms; returns the exit status, or -1 if it had to
 * be killed, or 128 + signal if it died of one. Prints its log on a non-zero result. */
int dh_stop(struct dh_daemon *d, int timeout_ms);

/** dh_valgrind_available() - valgrind is installed. */
bool dh_valgrind_available(void);

/** dh_print_matching() - print the lines of the daemon's log containing one of @needles
 * (NULL-terminated) to stderr, prefixed with its name. */
void dh_print_matching(const struct dh_daemon *d, const char *const *needles);

/** dh_alive() - the daemon has not exited. */
bool dh_alive(const struct dh_daemon *d);

/** /proc/<pid>/status VmRSS in KiB, and the number of open fds. */
long dh_rss_kb(const struct dh_daemon *d);
int dh_fds(const struct dh_daemon *d);

/** dh_dump_log() - print the daemon's stderr (for failures). */
void dh_dump_log(const struct dh_daemon *d);

/* ---- toolstack and guests ------------------------------------------------------------------- */

#define DH_RNG_BASE 0x2000000ull
#define DH_RNG_IRQ  33u
#define DH_BLK_BASE 0x2000200ull
#define DH_BLK_IRQ  34u
#define DH_SECTORS  128u /* small images: 64 KiB */

struct dh_guest {
	uint32_t domid;
	xensim_guest *g;
	struct xensim_virtio_dev rng, disk;
	bool has_rng, has_disk;
	char img[64];
	xensim_vdev *rng_vd;
	xensim_blk *blk;
};

/** dh_guest_new() - create a domain (@domid 0: the next free one) and attach to it. */
void dh_guest_new(xensim *x, struct dh_guest *gu, uint32_t domid);

/** dh_add_rng() / dh_add_disk() - publish the device as libxl does and wait until the daemon
 * took it (backend state 2). dh_add_disk() makes a fresh image (sector s holds le64 s). */
void dh_add_rng(xensim *x, struct dh_guest *gu);
void dh_add_disk(xensim *x, struct dh_guest *gu);

/** dh_remove_rng() / dh_remove_disk() - libxl device removal; waits for the backend directory
 * to be gone. The guest's driver for it is freed first (its MMIO may fail). */
void dh_remove_rng(xensim *x, struct dh_guest *gu);
void dh_remove_disk(xensim *x, struct dh_guest *gu);

/** dh_rng_open() / dh_blk_open() - probe and initialise the guest's driver. */
void dh_rng_open(struct dh_guest *gu);
void dh_blk_open(struct dh_guest *gu);

/** dh_rng_read() - @len random bytes through the rng device, checked non-constant. */
void dh_rng_read(struct dh_guest *gu, size_t len);

/** dh_rng_post() - post a request of @len bytes and kick, without waiting for it. */
void dh_rng_post(struct dh_guest *gu, size_t len);

/** dh_blk_check() - read 8 KiB at @sector and check the image pattern. */
void dh_blk_check(struct dh_guest *gu, uint64_t sector);

/** dh_blk_post() - submit @n reads of 4 KiB (queue 0), kicked, not collected. */
void dh_blk_post(struct dh_guest *gu, unsigned int n);

/** dh_guest_destroy() - `xl destroy` while whatever was posted is in flight; drivers freed,
 * guest detached, image unlinked. */
void dh_guest_destroy(xensim *x, struct dh_guest *gu);

/**
 * dh_wait_idle() - wait until the machine has no live grant mapping, event channel port, ioreq
 * server or foreign mapping of any guest (the daemons released everything). Returns true if it
 * got there within @timeout_ms; on false *@out holds the last counters.
 */
bool dh_wait_idle(xensim *x, int timeout_ms, struct xensim_counters *out);

#endif /* DAEMON_HARNESS_H */
