/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/loop.h — L5: an optional epoll event loop, and a "backend" that runs a daemon's
 * devices from xenstore discovery. Applications with their own event loop do not need this
 * header.
 *
 * Two ways to drive devices:
 *
 *  1. Your own loop (libuv, glib, a hand-written epoll...). Poll these fds for POLLIN,
 *     level-triggered, and call the matching function from ONE thread per guest (the device
 *     thread, see dev.h):
 *	vxen_ioreq_fd(srv)         → vxen_ioreq_process(srv)     one server per guest (ioreq.h)
 *	vxen_dev_fd(dev)           → vxen_dev_process(dev)       one per device (dev.h)
 *	vxen_xs_watcher_fd(w)      → vxen_xs_watcher_process(w)  discovery (xs.h), if wanted
 *     vxen_ioreq_process() returning -ESRCH means the guest is gone: stop polling the server and
 *     free its devices, then the server.
 *
 *  2. This loop. It polls all of the above plus your own fds and signals:
 *
 *	vxen_loop *loop;
 *	vxen_loop_new(&loop);
 *	vxen_loop_add_signal(loop, SIGTERM, NULL, NULL);   // NULL callback: stop the loop
 *	vxen_loop_add_signal(loop, SIGINT, NULL, NULL);
 *	vxen_loop_dev_new(loop, &dev, &my_ops, &cfg, state); // gets the guest's ioreq server
 *	vxen_loop_run(loop);                                 // until vxen_loop_stop()
 *	vxen_loop_dev_free(loop, dev);
 *	vxen_loop_free(loop);
 *
 *     Or, for a daemon serving whatever the toolstack configures, a vxen_backend (below): it
 *     runs the xenstore watcher and calls your factory for each device of the types you serve.
 *
 * ioreq servers are per guest and shared: vxen_loop_ioreq_get() creates a guest's server on
 * first use and counts references; vxen_loop_ioreq_put() frees it with the last one.
 *
 * Guest death. Xen does not tell a device model that its guest died: the guest's event channels
 * just go quiet, while our ring mappings pin its memory and keep it a zombie domain. So while
 * the loop holds at least one server it probes them: every period (default
 * VXEN_LOOP_GUEST_PROBE_DEFAULT_MS, see vxen_loop_set_guest_probe()) a timerfd wakes the loop and
 * each live server is asked vxen_ioreq_server_check() — one hypercall per guest per period.
 * A guest found gone (there, or by vxen_ioreq_process() returning -ESRCH) stops being polled and
 * is reported to the vxen_loop_on_guest_gone() callback (a vxen_backend destroys its devices,
 * releasing every mapping). This works without xenstore; with it, the watcher's @releaseDomain
 * handling (xs.h) usually reports the death first. With no server held the timer is disarmed:
 * an idle loop does not wake up. Servers the application created itself are not probed: call
 * vxen_ioreq_server_check() on them from your own timer.
 *
 * Thread rules: a loop and everything registered with it belong to the thread that runs it;
 * all callbacks run on that thread (which is therefore the device thread of its devices).
 * Exceptions: vxen_loop_stop() (thread-safe and async-signal-safe). To scale over cores, run
 * one loop per thread and give each its own guests. Callbacks may add and remove fds, devices
 * and servers (including their own) freely.
 *
 * Fork: a loop is not usable in a child process.
 */
#ifndef VIRTIO_XEN_LOOP_H
#define VIRTIO_XEN_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h> /* EPOLLIN, EPOLLOUT... for event masks */

#include <virtio-xen/dev.h>
#include <virtio-xen/ioreq.h>
#include <virtio-xen/xs.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vxen_loop vxen_loop;

/** vxen_loop_fd_fn - @fd is ready: @events is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLHUP...). */
typedef void (*vxen_loop_fd_fn)(vxen_loop *loop, int fd, uint32_t events, void *payload);

/** vxen_loop_signal_fn - signal @signo was received (through a signalfd, not a handler). */
typedef void (*vxen_loop_signal_fn)(vxen_loop *loop, int signo, void *payload);

/** vxen_loop_guest_fn - guest @domid is gone (its ioreq server reported -ESRCH). */
typedef void (*vxen_loop_guest_fn)(vxen_loop *loop, uint32_t domid, void *payload);

/**
 * vxen_loop_new() - create an empty loop (an epoll fd, a stop eventfd and the guest probe's
 * timerfd, disarmed until a server is held).
 * Returns 0, -ENOMEM, or the -errno of epoll_create1/eventfd/timerfd_create. Does not log.
 */
int vxen_loop_new(vxen_loop **out);

/**
 * vxen_loop_free() - free the loop; NULL is fine. Everything still registered is unregistered
 * but not freed (devices, servers, watchers belong to whoever created them — except servers
 * obtained with vxen_loop_ioreq_get(), which are freed). Restores the signal mask changes made
 * by vxen_loop_add_signal() in the calling thread.
 */
void vxen_loop_free(vxen_loop *loop);

/**
 * vxen_loop_run() - dispatch events until vxen_loop_stop(). Returns 0 when stopped, or the
 * -errno of a failed epoll_wait (EINTR is retried). A stop requested before the call makes it
 * return at once; the stop request is consumed, so the loop can be run again.
 */
int vxen_loop_run(vxen_loop *loop);

/**
 * vxen_loop_run_once() - wait up to @timeout_ms (-1: forever, 0: poll) for events and dispatch
 * those ready. Returns the number of events dispatched (≥ 0), -ECANCELED if a stop was requested
 * (consumed), or the -errno of epoll_wait (-EINTR included).
 */
int vxen_loop_run_once(vxen_loop *loop, int timeout_ms);

/**
 * vxen_loop_stop() - make vxen_loop_run() return soon. Thread-safe and async-signal-safe (one
 * write(2) to an eventfd).
 */
void vxen_loop_stop(vxen_loop *loop);

/**
 * vxen_loop_add_fd() - call @fn(loop, fd, events, @payload) whenever @fd is ready for @events
 * (EPOLLIN, EPOLLOUT...; level-triggered unless EPOLLET is included). The fd stays owned by the
 * caller. Returns 0, -EEXIST (already registered), -EINVAL, -ENOMEM, or epoll_ctl's -errno.
 */
int vxen_loop_add_fd(vxen_loop *loop, int fd, uint32_t events, vxen_loop_fd_fn fn, void *payload);

/** vxen_loop_mod_fd() - change the events of a registered fd. Returns 0, -ENOENT, -errno. */
int vxen_loop_mod_fd(vxen_loop *loop, int fd, uint32_t events);

/**
 * vxen_loop_del_fd() - unregister @fd; no callback for it runs afterwards, even for an event
 * already fetched in the current batch. Returns 0 or -ENOENT.
 */
int vxen_loop_del_fd(vxen_loop *loop, int fd);

/**
 * vxen_loop_add_signal() - receive @signo through the loop: it is blocked in the calling thread
 * (block it in other threads too, e.g. by creating them afterwards) and read from a signalfd.
 * @fn: called on the loop thread; NULL means "stop the loop" (clean shutdown on SIGTERM/SIGINT).
 * Returns 0, -EINVAL (bad signal, SIGKILL/SIGSTOP), -EEXIST, or -errno.
 */
int vxen_loop_add_signal(vxen_loop *loop, int signo, vxen_loop_signal_fn fn, void *payload);

/**
 * vxen_loop_on_guest_gone() - set the callback for guests found gone: their ioreq server
 * (one obtained with vxen_loop_ioreq_get()) reported -ESRCH to vxen_ioreq_process() or to the
 * periodic vxen_ioreq_server_check() ("Guest death" at the top of loop.h), or failed for good.
 * @fn: called once per dead server, on the loop thread; NULL to clear (one callback per loop).
 * @payload: passed to @fn.
 *
 * The server's fd is no longer polled by then, nor probed; the callback should free the
 * guest's devices (vxen_loop_dev_free), which puts the server: until then the guest's memory
 * stays mapped. The callback may free devices and servers of any guest (a dead guest whose
 * last server reference is dropped before its turn is not reported). A vxen_backend sets this
 * for itself.
 */
void vxen_loop_on_guest_gone(vxen_loop *loop, vxen_loop_guest_fn fn, void *payload);

/* Default period of the guest probe ("Guest death" at the top of loop.h). */
#define VXEN_LOOP_GUEST_PROBE_DEFAULT_MS 1000u

/**
 * vxen_loop_set_guest_probe() - set how often the loop checks that its guests still exist.
 * @period_ms: the period in milliseconds (default VXEN_LOOP_GUEST_PROBE_DEFAULT_MS); 0 turns
 *             the probe off (then a guest's death goes unnoticed unless xenstore or a failing
 *             call reports it).
 *
 * A dead guest is noticed at most about one period after it died. Each period costs one
 * wake-up of the loop and one hypercall per guest whose server the loop holds; none while it
 * holds no server. The new period starts now. Loop thread. Returns 0, -EINVAL (NULL @loop), or
 * the -errno of timerfd_settime (also logged at LOG_ERR).
 */
int vxen_loop_set_guest_probe(vxen_loop *loop, unsigned int period_ms);

/**
 * vxen_loop_ioreq_get() - the ioreq server of guest @domid, created (and polled by the loop) on
 * first use; every successful call takes a reference. Lent until the matching put.
 * Returns 0, or the -errno of vxen_ioreq_server_new() (-ESRCH: no such guest; -ENOSYS...).
 */
int vxen_loop_ioreq_get(vxen_loop *loop, uint32_t domid, vxen_ioreq_server **out);

/** vxen_loop_ioreq_put() - drop a reference; the last one frees the server. NULL is fine. */
void vxen_loop_ioreq_put(vxen_loop *loop, vxen_ioreq_server *srv);

/**
 * vxen_loop_add_dev() - poll @dev's fd and run vxen_dev_process() when it is readable.
 * @dev stays owned by the caller; unregister it with vxen_loop_del_dev() before freeing it.
 * Returns 0 or the errors of vxen_loop_add_fd().
 */
int vxen_loop_add_dev(vxen_loop *loop, vxen_dev *dev);

/** vxen_loop_del_dev() - stop polling @dev. NULL is fine. */
void vxen_loop_del_dev(vxen_loop *loop, vxen_dev *dev);

/**
 * vxen_loop_dev_new() - create a device served by this loop: get the ioreq server of
 * @cfg->domid (unless @cfg->server is already set), vxen_dev_new(), vxen_loop_add_dev().
 * On failure everything done is undone (the server reference is dropped).
 * Returns 0 or the first error. Free the device with vxen_loop_dev_free().
 */
int vxen_loop_dev_new(vxen_loop *loop, vxen_dev **out, const struct vxen_dev_ops *ops,
		      const struct vxen_dev_config *cfg, void *payload);

/**
 * vxen_loop_dev_free() - vxen_loop_del_dev(), vxen_dev_free() (drains in-flight requests, see
 * dev.h), then drop the server reference taken by vxen_loop_dev_new(). NULL is fine.
 */
void vxen_loop_dev_free(vxen_loop *loop, vxen_dev *dev);

/**
 * vxen_loop_add_xs() - poll a xenstore watcher and run vxen_xs_watcher_process() when ready.
 * If processing fails for good, the watcher is unregistered, the failure logged, and the loop
 * stopped with vxen_loop_run() returning that error. Returns 0 or vxen_loop_add_fd()'s errors.
 */
int vxen_loop_add_xs(vxen_loop *loop, vxen_xs_watcher *w);

/** vxen_loop_del_xs() - stop polling @w. NULL is fine. */
void vxen_loop_del_xs(vxen_loop *loop, vxen_xs_watcher *w);

/* ------------------------------------------------------------------------------------------ */
/* Backend: a daemon's devices, from xenstore discovery or given explicitly                    */

typedef struct vxen_backend vxen_backend;

/**
 * struct vxen_backend_ops - the application's device factory.
 * @version: VXEN_BACKEND_OPS_VERSION.
 * @create: make the device described by @info (kind, domids, devid, virtio id, base, irq,
 *          grant usage, params and mode for disks: see struct vxen_xs_device). @cfg is prepared
 *          by the backend (domid, base, irq, grants, the guest's server); pass it to
 *          vxen_dev_new() as it is or copy and adjust it. Return 0 with *@out set, or -errno to
 *          refuse (logged; the device is offered again when its xenstore entry changes). Do not
 *          register the device with the loop: the backend does.
 * @destroy: the device is gone (removed, guest destroyed or rebooted, backend shut down).
 *           Free it with vxen_dev_free() and release your state. Optional: NULL just calls
 *           vxen_dev_free().
 * @payload (last argument): the pointer given to vxen_backend_new().
 */
struct vxen_backend_ops {
	unsigned int version;
	int (*create)(vxen_backend *be, const struct vxen_xs_device *info,
		      const struct vxen_dev_config *cfg, vxen_dev **out, void *payload);
	void (*destroy)(vxen_backend *be, vxen_dev *dev, void *payload);
};
#define VXEN_BACKEND_OPS_VERSION 1

/**
 * struct vxen_backend_config - what the backend serves. Start from VXEN_BACKEND_CONFIG_INIT.
 * @virtio_ids, @nr_virtio_ids, @kinds: the xenstore filter (see struct vxen_xs_watcher_config).
 * @no_xenstore: explicit mode: no watcher; devices come only from vxen_backend_add(). A dead
 *               guest's devices are then destroyed when the loop's guest probe finds it gone
 *               (within a period: vxen_loop_set_guest_probe()).
 * @irq_kind: how "irq" values from xenstore are injected (default VXEN_IRQ_SPI, as on Arm).
 * @dev_template: optional defaults copied into every prepared struct vxen_dev_config
 *                (drain timeout, gdma settings...); its placement fields (domid, base, irq,
 *                grants, server, name) are overwritten. The struct is copied; what its
 *                pointers point to (gdma, mem) must outlive the backend.
 */
struct vxen_backend_config {
	unsigned int version;
	const uint32_t *virtio_ids;
	unsigned int nr_virtio_ids;
	unsigned int kinds;
	bool no_xenstore;
	enum vxen_irq_kind irq_kind;
	const struct vxen_dev_config *dev_template;
};
#define VXEN_BACKEND_CONFIG_VERSION 1
/* clang-format off */
#define VXEN_BACKEND_CONFIG_INIT { .version = VXEN_BACKEND_CONFIG_VERSION, .irq_kind = VXEN_IRQ_SPI }
/* clang-format on */

/**
 * vxen_backend_new() - start serving devices on @loop.
 * @loop: lent; must outlive the backend. The backend sets the loop's guest-gone callback.
 * @cfg: copied (NULL: defaults). @ops: copied; create is required.
 *
 * Unless @cfg->no_xenstore, creates the xenstore watcher and registers it: existing devices
 * are created on the loop's first turn, later ones as they appear. Devices of a guest that dies
 * or reboots are destroyed (new domids are new devices); a device whose creation fails is
 * refused with nothing left behind (no server reference, no mapping, no state write) while the
 * others keep running. Returns 0, -EINVAL, -ENOMEM, or the watcher's error.
 */
int vxen_backend_new(vxen_backend **out, vxen_loop *loop, const struct vxen_backend_config *cfg,
		     const struct vxen_backend_ops *ops, void *payload);

/**
 * vxen_backend_free() - orderly shutdown: destroy every device, write backend state 6 (Closed)
 * for the xenstore ones, free the watcher. NULL is fine.
 */
void vxen_backend_free(vxen_backend *be);

/**
 * vxen_backend_add() - explicit mode (or in addition to xenstore): serve the device described by
 * @info (frontend_domid, base, irq, grant_usage, virtio_id, ... — copied; backend_path and
 * frontend_path may be NULL). Calls ops->create like a discovered device.
 * @out: receives the device (may be NULL). Returns 0 or the error of the server or factory.
 */
int vxen_backend_add(vxen_backend *be, const struct vxen_xs_device *info, vxen_dev **out);

/** vxen_backend_remove() - destroy a device of this backend (explicit or discovered). */
int vxen_backend_remove(vxen_backend *be, vxen_dev *dev);

/** vxen_backend_nr_devices() - devices alive now. */
unsigned int vxen_backend_nr_devices(const vxen_backend *be);

/* Backend counters, cumulative. */
struct vxen_backend_stats {
	uint64_t created;	/* devices created (factory succeeded and registered) */
	uint64_t create_failed; /* devices refused: server setup, factory or registration failed */
	uint64_t destroyed;	/* devices torn down, for any reason */
	uint64_t guests_gone;	/* guests whose ioreq server reported them gone */
};

/** vxen_backend_stats() - copy the counters. Loop thread. */
void vxen_backend_stats(const vxen_backend *be, struct vxen_backend_stats *out);

/**
 * vxen_backend_run() - the daemon's main loop: stop on SIGTERM and SIGINT (added to the loop if
 * not yet there), vxen_loop_run(). Returns its result; call vxen_backend_free() afterwards.
 */
int vxen_backend_run(vxen_backend *be);

/** vxen_backend_loop() - the loop the backend runs on. */
vxen_loop *vxen_backend_loop(const vxen_backend *be);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_LOOP_H */
