/* SPDX-License-Identifier: MIT */
/*
 * helper_example_blk.h — scaffolding for tests/sim/test_example_blk*.c: a xensim machine in
 * the test process, the virtio-xen-blk daemon as its own process (fork + exec of the built
 * binary), guests with virtio disks added the way xl does, and the guest-side blk driver.
 * Every function asserts (Check) on failure unless it returns a value.
 */
#ifndef TESTS_SIM_HELPER_EXAMPLE_BLK_H
#define TESTS_SIM_HELPER_EXAMPLE_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xensim-virtio.h>
#include <xensim.h>

#define EXBLK_BASE 0x2000000ull
#define EXBLK_IRQ  33u
#define EXBLK_TMO  10000 /* ms */

struct exblk {
	xensim_server *srv;
	xensim *x;
	pid_t pid;     /* the daemon, 0 when not running */
	char dir[256]; /* private temporary directory */
	char log[300]; /* the daemon's stderr */
	char image[300];
	uint64_t image_bytes;
	uint32_t domid;
	xensim_guest *g;
	xensim_blk *blk;
};

/* Machine, control connection and a temporary directory. */
void exblk_start(struct exblk *w);
/* Free the driver, detach, stop the daemon (SIGKILL if needed), print its log, stop all. */
void exblk_stop(struct exblk *w);

/* Create w->image (@bytes, content from exblk_fill(@seed) or zeros if @seed is 0). */
void exblk_image(struct exblk *w, const char *name, uint64_t bytes, uint32_t seed);
/* Deterministic pseudo-random bytes. */
void exblk_fill(void *buf, size_t len, uint32_t seed);
/* Read the whole image file (from a descriptor of the test's own); caller frees. */
uint8_t *exblk_read_image(const struct exblk *w);
/* 64-bit FNV-1a. */
uint64_t exblk_hash(const void *buf, size_t len);

/* Path of the daemon binary ($VXEN_BUILD_DIR/examples/blk/virtio-xen-blk). */
const char *exblk_daemon_path(void);
/* Start the daemon with @args (NULL-terminated, without argv[0]); stderr goes to w->log. */
void exblk_daemon_start(struct exblk *w, const char *const *args);
/*
 * Set before exblk_daemon_start(): the daemon runs under a seccomp filter that makes
 * io_uring_setup() fail with ENOSYS, as in containers that forbid io_uring.
 */
extern bool exblk_deny_io_uring;
/*
 * Send @sig (0: none) and wait up to @timeout_ms for the daemon to exit. Returns its wait
 * status, or -1 if it is still running.
 */
int exblk_daemon_wait(struct exblk *w, int sig, int timeout_ms);
/* The daemon's log so far (static buffer). */
const char *exblk_daemon_log(const struct exblk *w);
/*
 * Run the daemon to completion with @args; stdout and stderr go to @out (NUL-terminated).
 * Returns its wait status.
 */
int exblk_run(const char *const *args, char *out, size_t outlen);

/* A new guest (64 MiB, 2 vCPUs). */
uint32_t exblk_guest(struct exblk *w);
/* xl's virtio_disk entry for @domid, device @devid (base/irq from EXBLK_*), mode "w"/"r". */
void exblk_disk(struct exblk *w, uint32_t domid, unsigned int devid, const char *mode);
/* The same for image @path. */
void exblk_disk_at(struct exblk *w, uint32_t domid, unsigned int devid, const char *path,
		   const char *mode);
/* Wait for backend/virtio_disk/@domid/@devid/state == @state. */
void exblk_wait_state(struct exblk *w, uint32_t domid, unsigned int devid, const char *state);
/* Attach to @domid and probe the blk device with @o (NULL: defaults): w->g, w->blk. */
void exblk_attach(struct exblk *w, uint32_t domid, const struct xensim_blk_opts *o);
/* Like exblk_attach, retrying the probe while no backend answers yet (explicit mode). */
void exblk_attach_retry(struct exblk *w, uint32_t domid, const struct xensim_blk_opts *o);
/* Drop the driver and the guest handle without touching the device (the guest is dead). */
void exblk_forget_guest(struct exblk *w);

/*
 * One raw descriptor chain on queue @q, which the blk driver must never use otherwise:
 * device-readable @out, device-writable @in (guest RAM). Waits for the used entry and returns
 * its length.
 */
uint32_t exblk_raw(struct exblk *w, unsigned int q, const struct xensim_sg *out, unsigned int nout,
		   const struct xensim_sg *in, unsigned int nin);

/* Wait until the machine holds nothing of @domid any more (mappings, ports, servers). */
void exblk_wait_clean(struct exblk *w, uint32_t domid);

#endif /* TESTS_SIM_HELPER_EXAMPLE_BLK_H */
