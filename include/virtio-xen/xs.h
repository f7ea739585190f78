/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/xs.h — L5: discovering virtio devices that the toolstack (libxl) publishes in
 * xenstore, and the backend side of the xenbus state handshake.
 *
 * A vxen_xs_watcher watches this domain's backend directories
 *
 *	/local/domain/<self>/backend/virtio/<frontend-domid>/<devid>/       (xl.cfg virtio=[...])
 *	/local/domain/<self>/backend/virtio_disk/<frontend-domid>/<devid>/  (disk=[...])
 *
 * plus each device's frontend state node and @releaseDomain, and reports devices appearing and
 * going away through two callbacks, for many devices of many guests in one watcher:
 *
 *	static int added(const struct vxen_xs_device *d, void **cookie, void *payload)
 *	{	// set up the device (ioreq range, ...) for d->frontend_domid at d->base, d->irq
 *		*cookie = my_dev; return 0; }
 *	static void removed(const struct vxen_xs_device *d, void *cookie, void *payload)
 *	{	// tear my_dev = cookie down }
 *
 *	struct vxen_xs_ops ops = { .version = VXEN_XS_OPS_VERSION, .device_added = added,
 *				   .device_removed = removed };
 *	vxen_xs_watcher_new(&w, NULL, &ops, app);
 *	// loop: poll vxen_xs_watcher_fd(w) for POLLIN, then vxen_xs_watcher_process(w)
 *
 * Life of a device:
 *  - added: its backend directory is complete and valid, `online` is 1, the backend `state` is 1
 *    (Initialising) or 2, the frontend `state` node exists and is not 5/6, the frontend domain
 *    is alive, and its virtio device id is one the application serves. device_added() is called;
 *    if it returns 0 the watcher writes backend `state` = 2 (InitWait). It never writes 4
 *    (Connected): libxl expects the backend to stay in InitWait.
 *  - removed: the backend directory vanishes, `online` becomes 0, the backend `state` is set to
 *    5/6 by the toolstack, the frontend `state` becomes 5/6 or vanishes, or the frontend domain
 *    dies (@releaseDomain). device_removed() is called; then, if the backend directory still
 *    exists, the watcher writes backend `state` = 6 (Closed), which libxl's device removal
 *    waits for.
 *  - re-created: a guest reboot is a new domid whose devices are simply added. A domid reused
 *    after a destroy, or a device whose backend state the toolstack resets to 1, is a new device:
 *    the old one is removed first, then the new one is added (with a new id).
 *  - closed by the application (orderly shutdown): vxen_xs_watcher_close_device() writes
 *    `state` = 6 and forgets the device.
 * State writes are made in a transaction that first checks the backend directory still exists,
 * so a write never re-creates a directory the toolstack has just removed.
 *
 * Hostile or broken values: every value is parsed strictly (no trailing junk, no overflow, no
 * sign). A device whose values are invalid is logged (rate-limited) and skipped; other devices
 * keep working, and the device is looked at again when its directory changes. Watch storms are
 * coalesced: each process call re-reads each touched device once. A failed xenstore read is
 * retried after a short back-off (the fd also becomes readable then).
 *
 * Thread rules: a watcher is used by one thread at a time; callbacks run inside
 * vxen_xs_watcher_process() on that thread and must not call any vxen_xs_watcher_* function
 * except the getters. Fork: not usable in a child.
 */
#ifndef VIRTIO_XEN_XS_H
#define VIRTIO_XEN_XS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vxen_xs_watcher vxen_xs_watcher;

/* Which backend directory a device lives in. */
enum vxen_xs_kind {
	VXEN_XS_KIND_GENERIC = 0, /* backend/virtio: any virtio device, id from `type` */
	VXEN_XS_KIND_DISK = 1,	  /* backend/virtio_disk: a block device (virtio id 2) */
};

/* Size of the MMIO window libxl reserves for each virtio-mmio device (its device-tree node). */
#define VXEN_XS_MMIO_SIZE 0x200u

/**
 * struct vxen_xs_device - one device as published by the toolstack (read-only to the app).
 * @version: VXEN_XS_DEVICE_VERSION of the library that filled it; fields are only appended.
 * @kind: backend directory kind.
 * @id: unique within the watcher; a re-created device (re-add, domid reuse) gets a new id.
 * @backend_domid: this domain.
 * @frontend_domid: the guest.
 * @devid: the device number under the frontend (directory name).
 * @virtio_id: virtio device id (net 1, blk 2, console 3, rng 4, ...): for generic devices from
 *             `type` "virtio,device<N>" (N in lower-case hex, as in the device-tree binding);
 *             0 when `type` is just "virtio,device" (the application decides what it is). Always
 *             2 for disks.
 * @base: guest-physical base of the MMIO window (`base`, decimal or 0x-hex).
 * @irq: the interrupt (`irq`, decimal): a GIC SPI on Arm.
 * @grant_usage: the guest uses grant-DMA addresses (`grant_usage`; when absent, true iff this
 *               backend is not dom0, as libxl decides).
 * @writable: disks: `mode` is "w"; false for "r" and for generic devices.
 * @type: generic devices: the raw `type` string; NULL for disks.
 * @params: disks: the raw `params` string (the backing target); NULL for generic devices.
 * @backend_path: /local/domain/<be>/backend/<kind>/<fe>/<devid>.
 * @frontend_path: the backend's `frontend` value (/local/domain/<fe>/device/<kind>/<devid>).
 *
 * Lifetime: the struct and its strings belong to the watcher and stay valid and unchanged from
 * device_added() until device_removed() returns or vxen_xs_watcher_close_device() /
 * vxen_xs_watcher_free() is called for it; the pointer itself identifies the device meanwhile.
 */
struct vxen_xs_device {
	unsigned int version;
	enum vxen_xs_kind kind;
	uint64_t id;
	uint32_t backend_domid;
	uint32_t frontend_domid;
	uint32_t devid;
	uint32_t virtio_id;
	uint64_t base;
	uint32_t irq;
	bool grant_usage;
	bool writable;
	const char *type;
	const char *params;
	const char *backend_path;
	const char *frontend_path;
};
#define VXEN_XS_DEVICE_VERSION 1

/**
 * struct vxen_xs_watcher_config - which devices the application serves.
 * @version: VXEN_XS_WATCHER_CONFIG_VERSION.
 * @virtio_ids: the virtio device ids served, or NULL for all. Include 0 to be offered generic
 *              devices whose `type` names no id. Devices of other ids are ignored silently
 *              (LOG_DEBUG), so e.g. a block daemon and a net daemon can share a backend domain.
 *              The array is copied.
 * @nr_virtio_ids: entries in @virtio_ids.
 * @kinds: bit mask of (1u << VXEN_XS_KIND_*) to watch; 0 means both.
 *
 * NULL config = everything. Initialise with VXEN_XS_WATCHER_CONFIG_INIT.
 */
struct vxen_xs_watcher_config {
	unsigned int version;
	const uint32_t *virtio_ids;
	unsigned int nr_virtio_ids;
	unsigned int kinds;
};
#define VXEN_XS_WATCHER_CONFIG_VERSION 1
/* clang-format off */
#define VXEN_XS_WATCHER_CONFIG_INIT { .version = VXEN_XS_WATCHER_CONFIG_VERSION }
/* clang-format on */

/**
 * struct vxen_xs_ops - the application's device callbacks.
 * @version: VXEN_XS_OPS_VERSION.
 * @device_added: a device to serve. Store anything in *@cookie (NULL before the call); it is
 *                handed back to device_removed(). Return 0 to accept (the watcher then writes
 *                state 2), or a negative errno to refuse: the watcher logs it, writes nothing,
 *                and offers the device again only when its backend directory changes — except
 *                for -EAGAIN (a transient shortage), after which it is offered again after a
 *                back-off (50 ms doubling up to 5 s) without any change.
 * @device_removed: the device went away (see the life cycle above); release what device_added()
 *                  set up. Called once per accepted device, never for refused ones. May be NULL.
 * @payload (last argument of each): the pointer given to vxen_xs_watcher_new().
 */
struct vxen_xs_ops {
	unsigned int version;
	int (*device_added)(const struct vxen_xs_device *dev, void **cookie, void *payload);
	void (*device_removed)(const struct vxen_xs_device *dev, void *cookie, void *payload);
};
#define VXEN_XS_OPS_VERSION 1

/**
 * struct vxen_xs_stats - watcher counters (cumulative).
 * @events: watch events read.
 * @scans: device directories (re-)read.
 * @added, @removed: device_added() accepted / device_removed() calls.
 * @refused: device_added() calls that returned an error.
 * @invalid: device directories skipped for invalid values.
 * @ignored: valid devices skipped because their id or kind is not served.
 * @xs_errors: xenstore operations that failed (and were retried or given up).
 */
struct vxen_xs_stats {
	uint64_t events;
	uint64_t scans;
	uint64_t added;
	uint64_t removed;
	uint64_t refused;
	uint64_t invalid;
	uint64_t ignored;
	uint64_t xs_errors;
};

/**
 * vxen_xs_watcher_new() - connect to xenstore and start watching this domain's backend dirs.
 * @out: receives the watcher, owned by the caller (vxen_xs_watcher_free()). Untouched on error.
 * @cfg: filter, or NULL for all devices.
 * @ops: callbacks (copied); device_added is required.
 * @payload: passed to the callbacks.
 *
 * Reads the own domid (relative node `domid`; absent in dom0, which means 0) and registers the
 * watches. No callback is called here: devices already present are reported by the first
 * vxen_xs_watcher_process() (the fd is readable at once).
 *
 * Returns 0, -EINVAL (bad cfg/ops), -ENOENT/-ECONNREFUSED (no xenstore), -ENOMEM, or the -errno of
 * the failing xenstore call (logged at LOG_ERR).
 */
int vxen_xs_watcher_new(vxen_xs_watcher **out, const struct vxen_xs_watcher_config *cfg,
			const struct vxen_xs_ops *ops, void *payload);

/**
 * vxen_xs_watcher_free() - unwatch, disconnect and free; NULL is fine. Devices still known are
 * forgotten without callbacks and without state writes (call vxen_xs_watcher_close_all() first
 * for an orderly shutdown). Does not log.
 */
void vxen_xs_watcher_free(vxen_xs_watcher *w);

/** vxen_xs_watcher_domid() - this (the backend) domain's id. */
uint32_t vxen_xs_watcher_domid(const vxen_xs_watcher *w);

/**
 * vxen_xs_watcher_fd() - the file descriptor to poll for POLLIN. Lent, valid until free.
 * Readable when watch events are queued or a retry is due (it is an epoll fd combining the
 * xenstore connection and a retry timer).
 */
int vxen_xs_watcher_fd(const vxen_xs_watcher *w);

/**
 * vxen_xs_watcher_process() - read the queued watch events, re-read the touched devices and run
 * the callbacks. Never blocks (beyond xenstore round trips).
 *
 * Returns the number of callbacks run (≥ 0), or -errno when the xenstore connection failed for
 * good (-EIO, -ECONNRESET: the watcher is unusable; free it). Invalid devices and transient read
 * failures are not errors of this call: they are logged, counted and skipped or retried.
 */
int vxen_xs_watcher_process(vxen_xs_watcher *w);

/**
 * vxen_xs_watcher_close_device() - orderly shutdown of one device: write its backend `state` = 6
 * (Closed) if the directory still exists, and forget it. device_removed() is NOT called: the
 * application is already tearing the device down. @dev must be a device currently known to @w;
 * it is invalid afterwards.
 *
 * Returns 0, or the -errno of the state write (logged; the device is forgotten anyway).
 */
int vxen_xs_watcher_close_device(vxen_xs_watcher *w, const struct vxen_xs_device *dev);

/**
 * vxen_xs_watcher_close_all() - vxen_xs_watcher_close_device() for every known device, without
 * callbacks. Returns 0 or the first -errno met (every device is closed regardless).
 */
int vxen_xs_watcher_close_all(vxen_xs_watcher *w);

/** vxen_xs_watcher_stats() - copy the counters. Same thread rules as the watcher; no logging. */
void vxen_xs_watcher_stats(const vxen_xs_watcher *w, struct vxen_xs_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_XS_H */
