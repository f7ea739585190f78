/* SPDX-License-Identifier: MIT */
/*
 * lib/xs_watcher.h — the xenstore watcher object, shared by lib/xs.c (connection, watches,
 * scanning, the retry timer) and lib/xs_device.c (reading, judging and announcing one device).
 * Not installed.
 */
#ifndef VXEN_XS_WATCHER_H
#define VXEN_XS_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore.h>

#include <virtio-xen/xs.h>

#include "internal.h"

#define XS_NR_KINDS    2
#define XS_DOMID_LIMIT 0x7ff0u /* DOMID_FIRST_RESERVED */
#define XS_FE_WORDS    (XS_DOMID_LIMIT / 64 + 1)

/* Why an entry must be looked at again (bits). */
#define XS_DIRTY_FULL 1u /* something in its backend directory changed: re-read all */
#define XS_DIRTY_FE   2u /* its frontend state node changed */
#define XS_DIRTY_LIVE 4u /* some domain died: is its frontend still alive? */

enum xs_entry_status {
	XS_ENT_NEW,	/* never judged */
	XS_ENT_ACTIVE,	/* accepted by the application; pub and cookie valid */
	XS_ENT_PASSIVE, /* known but not served: gone, invalid, offline, ignored, refused, closed */
};

/* One backend directory <root>/<fe>/<devid> the watcher knows about. */
struct xs_entry {
	struct vxen_xs_device pub; /* valid while ACTIVE */
	enum vxen_xs_kind kind;
	uint32_t fe;
	uint32_t devid;
	enum xs_entry_status status;
	unsigned int dirty; /* XS_DIRTY_* */
	bool state_written; /* InitWait written for the current instance */
	bool refused;	    /* the application refused this config: offer again on change */
	bool closed;	    /* closed by the application: never re-offered until it is gone */
	bool ours;	    /* this instance was accepted once: answer Closing with Closed */
	char *fingerprint;  /* config values last judged (change detection, log dedup) */
	char *fe_watch;	    /* "<frontend>/state" being watched, or NULL */
	void *cookie;
	char *type, *params, *bpath, *fpath; /* storage behind pub's strings */
	struct xs_entry *next;
};

struct vxen_xs_watcher {
	struct xs_handle *xs;
	uint32_t self;
	struct vxen_xs_ops ops;
	void *payload;
	uint32_t *ids; /* served virtio ids, NULL = all */
	unsigned int nr_ids;
	char *root[XS_NR_KINDS]; /* /local/domain/<self>/backend/<kind>, NULL if not watched */

	bool scan_kind[XS_NR_KINDS];		    /* list the whole kind directory */
	uint64_t scan_fe[XS_NR_KINDS][XS_FE_WORDS]; /* list <root>/<fe> */

	struct xs_entry *entries;
	unsigned int nr_entries;
	uint64_t next_id;

	int epfd, tfd, xsfd;
	unsigned int backoff_ms;
	bool broken;
	struct vxen_ratelimit rl;
	struct vxen_xs_stats st;
	int callbacks; /* run during the current process call */

	/* Frontend liveness answers, valid for one process call (one query per domain). */
	uint32_t live_domid[16];
	bool live_alive[16];
	unsigned int nr_live;
};

extern const char *const vxen_xs_kind_dir[XS_NR_KINDS];

/*
 * Read <dir>/<key>. Returns 0 with *out malloc'ed (NULL when the node does not exist), 1 when
 * the value is malformed (embedded NUL), or -errno for a failed read (counted).
 */
int vxen_xs_read_key(vxen_xs_watcher *w, const char *dir, const char *key, char **out);

/* Judge one entry (XS_DIRTY_* in e->dirty, already cleared by the caller). Returns 0, 1 if the
 * entry is gone and may be deleted, or -errno for a transient failure (retry later). */
int vxen_xs_judge(vxen_xs_watcher *w, struct xs_entry *e, unsigned int dirty);

/* Forget what an entry announced (pub, cookie, its strings); it becomes PASSIVE. */
void vxen_xs_entry_drop_pub(struct xs_entry *e);

/* Forget an entry's resources (frontend watch, strings); does not unlink or free it. */
void vxen_xs_entry_release(vxen_xs_watcher *w, struct xs_entry *e);

/*
 * Write <bpath>/state = @state in a transaction, only if the directory still exists.
 * Returns 0, -ENOENT (directory gone: nothing written) or -errno.
 */
int vxen_xs_write_state(vxen_xs_watcher *w, const char *bpath, int state);

/* Liveness of a frontend domain, cached for the current process call: 1 alive, 0 gone, -errno. */
int vxen_xs_domain_alive(vxen_xs_watcher *w, uint32_t domid);

#endif /* VXEN_XS_WATCHER_H */
