/* SPDX-License-Identifier: MIT */
/*
 * L5 xs: judging one backend directory — read its values, decide whether the device should be
 * served, and announce the change (device_added / device_removed, backend state writes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_priv.h"
#include "xs_watcher.h"

#define DOMID_MAX (XS_DOMID_LIMIT - 1)

enum key {
	K_ONLINE,
	K_STATE,
	K_FRONTEND,
	K_FRONTEND_ID,
	K_BASE,
	K_IRQ,
	K_TRANSPORT,
	K_GRANT_USAGE,
	K_TYPE,	  /* generic only */
	K_PARAMS, /* disk only */
	K_MODE,	  /* disk only */
	K_COUNT,
	K_FIRST_CONFIG = K_FRONTEND, /* keys from here on describe the device, not its state */
};

static const char *const key_name[K_COUNT] = {
	[K_ONLINE] = "online",	     [K_STATE] = "state",
	[K_FRONTEND] = "frontend",   [K_FRONTEND_ID] = "frontend-id",
	[K_BASE] = "base",	     [K_IRQ] = "irq",
	[K_TRANSPORT] = "transport", [K_GRANT_USAGE] = "grant_usage",
	[K_TYPE] = "type",	     [K_PARAMS] = "params",
	[K_MODE] = "mode",
};

/* The values of one backend directory as read (NULL = absent). */
struct raw {
	char *v[K_COUNT];
	bool bad[K_COUNT]; /* present but malformed (embedded NUL) */
};

/* The parsed configuration of a valid device. */
struct parsed {
	uint32_t virtio_id;
	uint32_t irq;
	uint64_t base;
	bool grants;
	bool writable;
	bool online;
	enum vxen_xenbus_state be_state;
};

static bool key_applies(enum vxen_xs_kind kind, enum key k)
{
	if (k == K_TYPE)
		return kind == VXEN_XS_KIND_GENERIC;
	if (k == K_PARAMS || k == K_MODE)
		return kind == VXEN_XS_KIND_DISK;
	return true;
}

/* Read one node; 0 with *out (NULL if absent), 1 if malformed, -errno if the read failed. */
static int read_node(vxen_xs_watcher *w, const char *path, char **out)
{
	unsigned int len = 0;
	char *v;

	errno = 0;
	v = xs_read(w->xs, XBT_NULL, path, &len);
	if (!v) {
		if (errno == ENOENT) {
			*out = NULL;
			return 0;
		}
		w->st.xs_errors++;
		return errno > 0 ? -errno : -EIO;
	}
	/* xenstore values are byte strings: an embedded NUL would silently truncate. */
	if (strlen(v) != len) {
		free(v);
		*out = NULL;
		return 1;
	}
	*out = v;
	return 0;
}

int vxen_xs_read_key(vxen_xs_watcher *w, const char *dir, const char *key, char **out)
{
	char path[256];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, key);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return read_node(w, path, out);
}

static void raw_free(struct raw *raw)
{
	for (int k = 0; k < K_COUNT; k++)
		free(raw->v[k]);
}

static int raw_read(vxen_xs_watcher *w, struct xs_entry *e, struct raw *raw)
{
	for (int k = 0; k < K_COUNT; k++) {
		int r;

		if (!key_applies(e->kind, k))
			continue;
		r = vxen_xs_read_key(w, e->bpath, key_name[k], &raw->v[k]);
		if (r < 0)
			return r;
		raw->bad[k] = r == 1;
	}
	return 0;
}

/* The configuration values joined into one string, to notice any change. */
static char *fingerprint(const struct raw *raw)
{
	size_t len = 1;
	char *fp, *p;

	for (int k = K_FIRST_CONFIG; k < K_COUNT; k++)
		len += (raw->v[k] ? strlen(raw->v[k]) : 0) + 2;
	fp = p = malloc(len);
	if (!fp)
		return NULL;
	for (int k = K_FIRST_CONFIG; k < K_COUNT; k++) {
		/* \x1e marks "absent" or "malformed", \x1f separates values. */
		p = stpcpy(p, raw->v[k] ? raw->v[k] : raw->bad[k] ? "\x1e\x1e" : "\x1e");
		*p++ = '\x1f';
	}
	*p = '\0';
	return fp;
}

/* Parse and check every configuration value; *why names the first bad key. */
static int parse_config(vxen_xs_watcher *w, const struct xs_entry *e, const struct raw *raw,
			struct parsed *p, const char **why)
{
	const char *const *v = (const char *const *)raw->v;
	const char *kdir = vxen_xs_kind_dir[e->kind];
	uint64_t n;

	for (int k = 0; k < K_COUNT; k++)
		if (raw->bad[k])
			return *why = key_name[k], -EINVAL;
	if (vxen_xs_parse_dec(v[K_FRONTEND_ID], DOMID_MAX, &n) || n != e->fe)
		return *why = "frontend-id", -EINVAL;
	if (vxen_xs_check_frontend(v[K_FRONTEND], e->fe, kdir, e->devid))
		return *why = "frontend", -EINVAL;
	if (vxen_xs_parse_addr(v[K_BASE], &p->base) || p->base > UINT64_MAX - VXEN_XS_MMIO_SIZE)
		return *why = "base", -EINVAL;
	if (vxen_xs_parse_dec(v[K_IRQ], UINT32_MAX, &n))
		return *why = "irq", -EINVAL;
	p->irq = (uint32_t)n;
	if (vxen_xs_parse_transport(v[K_TRANSPORT]))
		return *why = "transport", -EINVAL;
	if (vxen_xs_parse_grant_usage(v[K_GRANT_USAGE], w->self, &p->grants))
		return *why = "grant_usage", -EINVAL;
	p->writable = false;
	if (e->kind == VXEN_XS_KIND_GENERIC) {
		if (vxen_xs_parse_type(v[K_TYPE], &p->virtio_id))
			return *why = "type", -EINVAL;
	} else {
		p->virtio_id = 2; /* VIRTIO_ID_BLOCK */
		if (!v[K_PARAMS])
			return *why = "params", -EINVAL;
		if (vxen_xs_parse_mode(v[K_MODE], &p->writable))
			return *why = "mode", -EINVAL;
	}
	if (v[K_ONLINE] && vxen_xs_parse_dec(v[K_ONLINE], 1, &n))
		return *why = "online", -EINVAL;
	p->online = v[K_ONLINE] && n == 1;
	if (v[K_STATE] && vxen_xs_parse_state(v[K_STATE], &p->be_state))
		return *why = "state", -EINVAL;
	if (!v[K_STATE])
		p->be_state = VXEN_XB_UNKNOWN;
	return 0;
}

static bool served(const vxen_xs_watcher *w, uint32_t virtio_id)
{
	if (!w->ids)
		return true;
	for (unsigned int i = 0; i < w->nr_ids; i++)
		if (w->ids[i] == virtio_id)
			return true;
	return false;
}

/* Watch <frontend>/state (the value was checked to be this device's own frontend path). */
static int ensure_fe_watch(vxen_xs_watcher *w, struct xs_entry *e, const char *frontend)
{
	char *path;

	if (asprintf(&path, "%s/state", frontend) < 0)
		return -ENOMEM;
	if (e->fe_watch && !strcmp(e->fe_watch, path)) {
		free(path);
		return 0;
	}
	if (e->fe_watch)
		xs_unwatch(w->xs, e->fe_watch, "vxen-fe");
	free(e->fe_watch);
	e->fe_watch = NULL;
	if (!xs_watch(w->xs, path, "vxen-fe")) {
		int err = errno > 0 ? -errno : -EIO;

		w->st.xs_errors++;
		free(path);
		return err;
	}
	e->fe_watch = path;
	return 0;
}

/* Frontend side: NULL if the device may be served, else why not; -errno via *err. */
static const char *frontend_reason(vxen_xs_watcher *w, struct xs_entry *e, int *err)
{
	enum vxen_xenbus_state st;
	char *v = NULL;
	int r;

	*err = 0;
	r = e->fe_watch ? read_node(w, e->fe_watch, &v) : 0;
	if (r < 0) {
		*err = r;
		return NULL;
	}
	if (!v && r == 0)
		return "frontend state node gone";
	/* The guest writes this node: anything unparseable is just "not closing". */
	r = v ? vxen_xs_parse_state(v, &st) : -EINVAL;
	free(v);
	if (!r && (st == VXEN_XB_CLOSING || st == VXEN_XB_CLOSED))
		return "frontend closing";
	r = vxen_xs_domain_alive(w, e->fe);
	if (r < 0) {
		*err = r;
		return NULL;
	}
	return r ? NULL : "frontend domain gone";
}

/* NULL if a valid, served device should be active, else why not; -errno via *err. */
static const char *inactive_reason(vxen_xs_watcher *w, struct xs_entry *e, const struct parsed *p,
				   int *err)
{
	*err = 0;
	if (!p->online)
		return "offline";
	if (p->be_state < VXEN_XB_INITIALISING || p->be_state > VXEN_XB_CONNECTED)
		return "backend state not active";
	return frontend_reason(w, e, err);
}

void vxen_xs_entry_drop_pub(struct xs_entry *e)
{
	free(e->type);
	free(e->params);
	free(e->fpath);
	e->type = e->params = e->fpath = NULL;
	memset(&e->pub, 0, sizeof(e->pub));
	e->cookie = NULL;
	e->state_written = false;
	e->status = XS_ENT_PASSIVE;
}

void vxen_xs_entry_release(vxen_xs_watcher *w, struct xs_entry *e)
{
	if (e->fe_watch && w->xs)
		xs_unwatch(w->xs, e->fe_watch, "vxen-fe");
	free(e->fe_watch);
	e->fe_watch = NULL;
	vxen_xs_entry_drop_pub(e);
	free(e->fingerprint);
	e->fingerprint = NULL;
	free(e->bpath);
	e->bpath = NULL;
}

static void do_remove(vxen_xs_watcher *w, struct xs_entry *e, const char *why, bool write_closed)
{
	vxen_log(LOG_INFO, "xs: dom%u %s/%u removed: %s", e->fe, vxen_xs_kind_dir[e->kind],
		 e->devid, why);
	if (w->ops.device_removed)
		w->ops.device_removed(&e->pub, e->cookie, w->payload);
	w->callbacks++;
	w->st.removed++;
	vxen_xs_entry_drop_pub(e);
	if (write_closed) {
		int r = vxen_xs_write_state(w, e->bpath, VXEN_XB_CLOSED);

		if (r && r != -ENOENT)
			vxen_log(LOG_WARNING, "xs: %s: writing state 6: %s", e->bpath,
				 strerror(-r));
	}
}

/* Offer the device; on acceptance announce InitWait. Takes the strings it keeps from @raw. */
static int do_add(vxen_xs_watcher *w, struct xs_entry *e, struct raw *raw, const struct parsed *p)
{
	void *cookie = NULL;
	int r;

	e->type = raw->v[K_TYPE];
	e->params = raw->v[K_PARAMS];
	e->fpath = raw->v[K_FRONTEND];
	raw->v[K_TYPE] = raw->v[K_PARAMS] = raw->v[K_FRONTEND] = NULL;
	e->pub = (struct vxen_xs_device){
		.version = VXEN_XS_DEVICE_VERSION,
		.kind = e->kind,
		.id = ++w->next_id,
		.backend_domid = w->self,
		.frontend_domid = e->fe,
		.devid = e->devid,
		.virtio_id = p->virtio_id,
		.base = p->base,
		.irq = p->irq,
		.grant_usage = p->grants,
		.writable = p->writable,
		.type = e->type,
		.params = e->params,
		.backend_path = e->bpath,
		.frontend_path = e->fpath,
	};
	r = w->ops.device_added(&e->pub, &cookie, w->payload);
	w->callbacks++;
	if (r) {
		vxen_log(LOG_WARNING, "xs: dom%u %s/%u refused by the application: %s", e->fe,
			 vxen_xs_kind_dir[e->kind], e->devid, strerror(r < 0 ? -r : EINVAL));
		w->st.refused++;
		vxen_xs_entry_drop_pub(e);
		/* -EAGAIN: a transient shortage; offered again after the retry back-off. */
		e->refused = r != -EAGAIN;
		return r == -EAGAIN ? r : 0;
	}
	vxen_log(LOG_INFO, "xs: dom%u %s/%u added (virtio id %u, base 0x%" PRIx64 ", irq %u)",
		 e->fe, vxen_xs_kind_dir[e->kind], e->devid, p->virtio_id, p->base, p->irq);
	w->st.added++;
	e->ours = true;
	e->cookie = cookie;
	e->status = XS_ENT_ACTIVE;
	e->refused = false;
	r = vxen_xs_write_state(w, e->bpath, VXEN_XB_INITWAIT);
	e->state_written = r == 0;
	/* -ENOENT: the directory vanished meanwhile; its watch event will remove the device. */
	return r == -ENOENT ? 0 : r;
}

/* Keep the latest fingerprint; true if it differs from the previous one. */
static bool fingerprint_update(struct xs_entry *e, char *fp)
{
	bool changed = !e->fingerprint || !fp || strcmp(e->fingerprint, fp);

	free(e->fingerprint);
	e->fingerprint = fp;
	return changed;
}

/* A device that is not (or no longer) to be served. */
static void set_passive(vxen_xs_watcher *w, struct xs_entry *e, const char *why, bool closed)
{
	if (e->status == XS_ENT_ACTIVE)
		do_remove(w, e, why, closed);
	e->status = XS_ENT_PASSIVE;
}

/*
 * A valid, served device: decide whether it should be active now, and make it so. @changed says
 * whether its configuration differs from the last judgement.
 */
static int settle(vxen_xs_watcher *w, struct xs_entry *e, struct raw *raw, const struct parsed *p,
		  bool changed)
{
	const char *reason;
	bool recreated, was_active;
	int r = ensure_fe_watch(w, e, raw->v[K_FRONTEND]);

	if (r)
		return r;
	reason = inactive_reason(w, e, p, &r);
	if (r)
		return r;
	/* The toolstack put state back to 1 under a device we moved to 2 or closed: a new one. */
	recreated = p->be_state == VXEN_XB_INITIALISING &&
		    ((e->status == XS_ENT_ACTIVE && e->state_written) || e->closed);
	if (recreated)
		e->closed = e->refused = e->ours = false;
	was_active = e->status == XS_ENT_ACTIVE;
	if (was_active && reason)
		do_remove(w, e, reason, true);
	else if (was_active && (recreated || changed))
		do_remove(w, e, recreated ? "re-created" : "changed", false);
	if (reason) {
		/* The toolstack asks for Closing on a device we served: it waits for Closed. */
		if (!was_active && e->ours && p->be_state == VXEN_XB_CLOSING)
			vxen_xs_write_state(w, e->bpath, VXEN_XB_CLOSED);
		e->status = XS_ENT_PASSIVE;
		return 0;
	}
	if (e->status == XS_ENT_ACTIVE) {
		if (e->state_written)
			return 0;
		r = vxen_xs_write_state(w, e->bpath, VXEN_XB_INITWAIT);
		e->state_written = r == 0;
		return r == -ENOENT ? 0 : r;
	}
	if (e->closed || (e->refused && !changed))
		return 0;
	return do_add(w, e, raw, p);
}

/* Full judgement after a change in the backend directory. */
static int judge_full(vxen_xs_watcher *w, struct xs_entry *e)
{
	struct raw raw = { 0 };
	struct parsed p;
	const char *why = NULL;
	bool changed;
	int r;

	w->st.scans++;
	r = raw_read(w, e, &raw);
	if (r < 0)
		goto out;
	if (!raw.v[K_STATE] && !raw.v[K_ONLINE] && !raw.v[K_FRONTEND] && !raw.bad[K_STATE]) {
		set_passive(w, e, "backend directory removed", false);
		r = 1;
		goto out;
	}
	changed = fingerprint_update(e, fingerprint(&raw));
	if (parse_config(w, e, &raw, &p, &why)) {
		if (changed) {
			w->st.invalid++;
			vxen_log_guest(&w->rl, LOG_WARNING, "xs: %s: invalid %s, device skipped",
				       e->bpath, why);
		}
		set_passive(w, e, "invalid values", true);
	} else if (!served(w, p.virtio_id)) {
		if (changed) {
			w->st.ignored++;
			vxen_log(LOG_DEBUG, "xs: %s: virtio id %u not served", e->bpath,
				 p.virtio_id);
		}
		set_passive(w, e, "no longer served", true);
	} else {
		r = settle(w, e, &raw, &p, changed);
	}
out:
	raw_free(&raw);
	return r;
}

/* A served device whose frontend state changed or whose domain may have died. */
static int judge_frontend(vxen_xs_watcher *w, struct xs_entry *e)
{
	int r;
	const char *reason = frontend_reason(w, e, &r);

	if (r)
		return r;
	if (reason)
		set_passive(w, e, reason, true);
	return 0;
}

int vxen_xs_judge(vxen_xs_watcher *w, struct xs_entry *e, unsigned int dirty)
{
	if (dirty & XS_DIRTY_FULL || e->status != XS_ENT_ACTIVE)
		return judge_full(w, e);
	return judge_frontend(w, e);
}

/* Does @state_path (read in transaction @t) say "Initialising", i.e. a device just created? */
static bool fresh_device(vxen_xs_watcher *w, xs_transaction_t t, const char *state_path)
{
	unsigned int len;
	char *v = xs_read(w->xs, t, state_path, &len);
	bool fresh = v && len == 1 && v[0] == '1';

	free(v);
	return fresh;
}

static int state_txn(vxen_xs_watcher *w, const char *bpath, const char *val, bool closing)
{
	char path[256];
	unsigned int len;
	xs_transaction_t t = xs_transaction_start(w->xs);
	char *v;

	if (t == XBT_NULL)
		return errno > 0 ? -errno : -EIO;
	snprintf(path, sizeof(path), "%s/frontend-id", bpath);
	v = xs_read(w->xs, t, path, &len);
	if (!v) {
		int err = errno > 0 ? -errno : -EIO;

		xs_transaction_end(w->xs, t, true);
		return err;
	}
	free(v);
	snprintf(path, sizeof(path), "%s/state", bpath);
	if (closing && fresh_device(w, t, path)) {
		/* The toolstack removed the device and created it again while we tore the old
		 * one down: this directory is a new device (state 1). Our Closed is not its. */
		xs_transaction_end(w->xs, t, true);
		return 0;
	}
	if (!xs_write(w->xs, t, path, val, strlen(val))) {
		int err = errno > 0 ? -errno : -EIO;

		xs_transaction_end(w->xs, t, true);
		return err;
	}
	if (!xs_transaction_end(w->xs, t, false))
		return errno > 0 ? -errno : -EIO;
	return 0;
}

int vxen_xs_write_state(vxen_xs_watcher *w, const char *bpath, int state)
{
	char val[4];
	int r = -EAGAIN;

	snprintf(val, sizeof(val), "%d", state);
	/* EAGAIN from transaction end means someone else wrote meanwhile: try again. */
	for (int tries = 0; tries < 8 && r == -EAGAIN; tries++)
		r = state_txn(w, bpath, val, state == VXEN_XB_CLOSED);
	if (r && r != -ENOENT)
		w->st.xs_errors++;
	return r;
}

int vxen_xs_domain_alive(vxen_xs_watcher *w, uint32_t domid)
{
	bool alive;

	for (unsigned int i = 0; i < w->nr_live; i++)
		if (w->live_domid[i] == domid)
			return w->live_alive[i];
	/* libxenstore answers false both for "not introduced" and for a failed request; only
	 * the latter sets errno. */
	errno = 0;
	alive = xs_is_domain_introduced(w->xs, domid);
	if (!alive && errno) {
		w->st.xs_errors++;
		return -errno;
	}
	if (w->nr_live < VXEN_ARRAY_SIZE(w->live_domid)) {
		w->live_domid[w->nr_live] = domid;
		w->live_alive[w->nr_live++] = alive;
	}
	return alive;
}
