/* SPDX-License-Identifier: MIT */
/*
 * L5 xs: the xenstore watcher — connection, watches, turning watch events into "look at this
 * device again" marks, directory scans, and the retry timer. Judging a device is xs_device.c.
 *
 * Watch events only mark entries dirty; each process call then judges every dirty entry once,
 * so a storm of events costs one re-read per touched device, not one per event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "xs_priv.h"
#include "xs_watcher.h"

const char *const vxen_xs_kind_dir[XS_NR_KINDS] = { "virtio", "virtio_disk" };
static const char *const be_token[XS_NR_KINDS] = { "vxen-be0", "vxen-be1" };
#define REL_TOKEN "vxen-rel"
#define FE_TOKEN  "vxen-fe"

#define EVENT_BUDGET   4096 /* watch events drained per process call */
#define MAX_ENTRIES    4096 /* backend directories tracked; more is a broken toolstack */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 5000

static int xs_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* ---- retry timer ---------------------------------------------------------------------- */

/* Make the watcher fd readable after @ms (0: at once). */
static void arm_timer(vxen_xs_watcher *w, unsigned int ms)
{
	struct itimerspec its = { 0 };

	/* An all-zero it_value would disarm the timer; 1 ns means "now". */
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = ms ? (long)(ms % 1000) * 1000000L : 1;
	timerfd_settime(w->tfd, 0, &its, NULL);
}

static void drain_timer(vxen_xs_watcher *w)
{
	uint64_t ticks;

	/* Non-blocking: EAGAIN when the timer has not fired. */
	if (read(w->tfd, &ticks, sizeof(ticks)) < 0)
		return;
}

/* ---- entries -------------------------------------------------------------------------- */

static struct xs_entry *entry_find(vxen_xs_watcher *w, enum vxen_xs_kind kind, uint32_t fe,
				   uint32_t devid)
{
	for (struct xs_entry *e = w->entries; e; e = e->next)
		if (e->kind == kind && e->fe == fe && e->devid == devid)
			return e;
	return NULL;
}

static struct xs_entry *entry_get(vxen_xs_watcher *w, enum vxen_xs_kind kind, uint32_t fe,
				  uint32_t devid)
{
	struct xs_entry *e = entry_find(w, kind, fe, devid);

	if (e)
		return e;
	if (w->nr_entries >= MAX_ENTRIES) {
		vxen_log_guest(&w->rl, LOG_ERR,
			       "xs: more than %d backend directories, ignoring %s/%u/%u",
			       MAX_ENTRIES, vxen_xs_kind_dir[kind], fe, devid);
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e || asprintf(&e->bpath, "%s/%u/%u", w->root[kind], fe, devid) < 0) {
		free(e);
		vxen_log(LOG_ERR, "xs: out of memory tracking %s/%u/%u", vxen_xs_kind_dir[kind], fe,
			 devid);
		return NULL;
	}
	e->kind = kind;
	e->fe = fe;
	e->devid = devid;
	e->status = XS_ENT_NEW;
	e->next = w->entries;
	w->entries = e;
	w->nr_entries++;
	return e;
}

static void entry_free(vxen_xs_watcher *w, struct xs_entry *e)
{
	vxen_xs_entry_release(w, e);
	free(e);
	w->nr_entries--;
}

/* Mark entries of @kind (and frontend @fe, or any with fe == UINT32_MAX) dirty. */
static void mark_entries(vxen_xs_watcher *w, int kind, uint32_t fe, unsigned int bits)
{
	for (struct xs_entry *e = w->entries; e; e = e->next)
		if ((kind < 0 || e->kind == (enum vxen_xs_kind)kind) &&
		    (fe == UINT32_MAX || e->fe == fe))
			e->dirty |= bits;
}

/* ---- watch events --------------------------------------------------------------------- */

static void mark_fe_event(vxen_xs_watcher *w, const char *path)
{
	for (struct xs_entry *e = w->entries; e; e = e->next)
		if (e->fe_watch && (xs_path_is_subpath(e->fe_watch, path) ||
				    xs_path_is_subpath(path, e->fe_watch)))
			e->dirty |= XS_DIRTY_FE;
}

static void mark_be_event(vxen_xs_watcher *w, int kind, const char *path)
{
	uint32_t fe = 0, devid = 0;
	struct xs_entry *e;

	switch (vxen_xs_split_path(path, w->root[kind], &fe, &devid)) {
	case 0:
		w->scan_kind[kind] = true;
		break;
	case 1:
		w->scan_fe[kind][fe / 64] |= 1ULL << (fe % 64);
		mark_entries(w, kind, fe, XS_DIRTY_FULL);
		break;
	case 2:
		e = entry_get(w, kind, fe, devid);
		if (e)
			e->dirty |= XS_DIRTY_FULL;
		break;
	default:
		vxen_log(LOG_DEBUG, "xs: ignoring event for %s", path);
		break;
	}
}

static void mark_event(vxen_xs_watcher *w, const char *path, const char *token)
{
	w->st.events++;
	if (!strcmp(token, REL_TOKEN)) {
		for (struct xs_entry *e = w->entries; e; e = e->next)
			if (e->status == XS_ENT_ACTIVE)
				e->dirty |= XS_DIRTY_LIVE;
		return;
	}
	if (!strcmp(token, FE_TOKEN)) {
		mark_fe_event(w, path);
		return;
	}
	for (int k = 0; k < XS_NR_KINDS; k++)
		if (w->root[k] && !strcmp(token, be_token[k]))
			mark_be_event(w, k, path);
}

/* Returns 1 if the budget ran out (more may be queued), 0 when drained, -errno if broken. */
static int drain_events(vxen_xs_watcher *w)
{
	for (int n = 0; n < EVENT_BUDGET; n++) {
		char **ev = xs_check_watch(w->xs);

		if (!ev)
			return errno == EAGAIN || errno == EINTR ? 0 : xs_err();
		mark_event(w, ev[XS_WATCH_PATH], ev[XS_WATCH_TOKEN]);
		free(ev);
	}
	return 1;
}

/* ---- directory scans ------------------------------------------------------------------ */

/* List @path; 0 with the names (NULL + *n = 0 if it does not exist), or -errno. */
static int list_dir(vxen_xs_watcher *w, const char *path, char ***names, unsigned int *n)
{
	*n = 0;
	*names = xs_directory(w->xs, XBT_NULL, path, n);
	if (*names)
		return 0;
	*n = 0;
	if (errno == ENOENT)
		return 0;
	w->st.xs_errors++;
	return xs_err();
}

static int scan_kind(vxen_xs_watcher *w, int kind)
{
	char **names;
	unsigned int n;
	uint64_t fe;
	int r = list_dir(w, w->root[kind], &names, &n);

	if (r)
		return r;
	/* Every known device of this kind is re-judged: that is how vanished ones are found. */
	mark_entries(w, kind, UINT32_MAX, XS_DIRTY_FULL);
	for (unsigned int i = 0; i < n; i++)
		if (!vxen_xs_parse_dec(names[i], XS_DOMID_LIMIT - 1, &fe))
			w->scan_fe[kind][fe / 64] |= 1ULL << (fe % 64);
	free(names);
	w->scan_kind[kind] = false;
	return 0;
}

static int scan_fe(vxen_xs_watcher *w, int kind, uint32_t fe)
{
	char path[128], **names;
	unsigned int n;
	uint64_t devid;
	int r;

	snprintf(path, sizeof(path), "%s/%u", w->root[kind], fe);
	r = list_dir(w, path, &names, &n);
	if (r)
		return r;
	mark_entries(w, kind, fe, XS_DIRTY_FULL);
	for (unsigned int i = 0; i < n; i++) {
		struct xs_entry *e;

		if (vxen_xs_parse_dec(names[i], UINT32_MAX, &devid))
			continue; /* not a device directory: libxl never writes one */
		e = entry_get(w, kind, fe, (uint32_t)devid);
		if (e)
			e->dirty |= XS_DIRTY_FULL;
	}
	free(names);
	return 0;
}

static void run_scans(vxen_xs_watcher *w)
{
	for (int k = 0; k < XS_NR_KINDS; k++) {
		if (!w->root[k] || (w->scan_kind[k] && scan_kind(w, k)))
			continue;
		for (unsigned int i = 0; i < XS_FE_WORDS; i++) {
			while (w->scan_fe[k][i]) {
				unsigned int bit = (unsigned int)__builtin_ctzll(w->scan_fe[k][i]);

				if (scan_fe(w, k, i * 64 + bit))
					break; /* keep the bit: retried later */
				w->scan_fe[k][i] &= ~(1ULL << bit);
			}
		}
	}
}

/* Judge every dirty entry once; forget entries whose directory is gone. */
static void run_dirty(vxen_xs_watcher *w)
{
	struct xs_entry **pp = &w->entries;

	while (*pp) {
		struct xs_entry *e = *pp;
		unsigned int d = e->dirty;
		int r;

		if (!d) {
			pp = &e->next;
			continue;
		}
		e->dirty = 0;
		r = vxen_xs_judge(w, e, d);
		if (r < 0) {
			vxen_log_guest(&w->rl, LOG_WARNING, "xs: %s: %s (will retry)", e->bpath,
				       strerror(-r));
			e->dirty |= d;
		} else if (r == 1 && e->status != XS_ENT_ACTIVE) {
			*pp = e->next;
			entry_free(w, e);
			continue;
		}
		pp = &e->next;
	}
}

static bool work_pending(const vxen_xs_watcher *w)
{
	for (int k = 0; k < XS_NR_KINDS; k++) {
		if (w->scan_kind[k])
			return true;
		for (unsigned int i = 0; i < XS_FE_WORDS; i++)
			if (w->scan_fe[k][i])
				return true;
	}
	for (const struct xs_entry *e = w->entries; e; e = e->next)
		if (e->dirty)
			return true;
	return false;
}

VXEN_EXPORT int vxen_xs_watcher_process(vxen_xs_watcher *w)
{
	int more;

	if (w->broken)
		return -EIO;
	w->callbacks = 0;
	w->nr_live = 0;
	drain_timer(w);
	more = drain_events(w);
	if (more < 0) {
		vxen_log(LOG_ERR, "xs: reading watch events: %s", strerror(-more));
		w->broken = true;
		return more;
	}
	run_scans(w);
	run_dirty(w);
	if (more) {
		arm_timer(w, 0);
	} else if (work_pending(w)) {
		arm_timer(w, w->backoff_ms);
		w->backoff_ms = VXEN_MIN(w->backoff_ms * 2, BACKOFF_MAX_MS);
	} else {
		w->backoff_ms = BACKOFF_MIN_MS;
	}
	return w->callbacks;
}

/* ---- life cycle ----------------------------------------------------------------------- */

static int read_self(vxen_xs_watcher *w)
{
	unsigned int len;
	uint64_t id;
	char *v;
	int r;

	/* Relative path: xenstored resolves "domid" under the caller's /local/domain/<id>. */
	errno = 0;
	v = xs_read(w->xs, XBT_NULL, "domid", &len);
	if (!v) {
		if (errno != ENOENT)
			return xs_err();
		w->self = 0; /* dom0 has no such node */
		return 0;
	}
	r = strlen(v) == len ? vxen_xs_parse_dec(v, XS_DOMID_LIMIT - 1, &id) : -EINVAL;
	free(v);
	if (r) {
		vxen_log(LOG_ERR, "xs: own domid node is not a domid");
		return -EINVAL;
	}
	w->self = (uint32_t)id;
	return 0;
}

static int setup_fds(vxen_xs_watcher *w)
{
	struct epoll_event ev = { .events = EPOLLIN };

	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->xsfd = xs_fileno(w->xs);
	if (w->tfd < 0 || w->epfd < 0 || w->xsfd < 0)
		return xs_err();
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->xsfd, &ev) ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev))
		return -errno;
	return 0;
}

static int setup_watches(vxen_xs_watcher *w, unsigned int kinds)
{
	for (int k = 0; k < XS_NR_KINDS; k++) {
		if (!(kinds & (1u << k)))
			continue;
		if (asprintf(&w->root[k], "/local/domain/%u/backend/%s", w->self,
			     vxen_xs_kind_dir[k]) < 0) {
			w->root[k] = NULL;
			return -ENOMEM;
		}
		if (!xs_watch(w->xs, w->root[k], be_token[k]))
			return xs_err();
		w->scan_kind[k] = true;
	}
	return xs_watch(w->xs, "@releaseDomain", REL_TOKEN) ? 0 : xs_err();
}

static int copy_config(vxen_xs_watcher *w, const struct vxen_xs_watcher_config *cfg,
		       unsigned int *kinds)
{
	*kinds = (1u << XS_NR_KINDS) - 1;
	if (!cfg)
		return 0;
	if (cfg->version < 1 || cfg->kinds >> XS_NR_KINDS ||
	    (cfg->nr_virtio_ids && !cfg->virtio_ids))
		return -EINVAL;
	if (cfg->kinds)
		*kinds = cfg->kinds;
	if (!cfg->virtio_ids)
		return 0;
	w->ids = calloc(cfg->nr_virtio_ids ? cfg->nr_virtio_ids : 1, sizeof(*w->ids));
	if (!w->ids)
		return -ENOMEM;
	memcpy(w->ids, cfg->virtio_ids, cfg->nr_virtio_ids * sizeof(*w->ids));
	w->nr_ids = cfg->nr_virtio_ids;
	return 0;
}

static void destroy(vxen_xs_watcher *w)
{
	while (w->entries) {
		struct xs_entry *e = w->entries;

		w->entries = e->next;
		entry_free(w, e);
	}
	for (int k = 0; k < XS_NR_KINDS; k++) {
		if (w->xs && w->root[k])
			xs_unwatch(w->xs, w->root[k], be_token[k]);
		free(w->root[k]);
	}
	if (w->xs) {
		xs_unwatch(w->xs, "@releaseDomain", REL_TOKEN);
		xs_close(w->xs);
	}
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w->ids);
	free(w);
}

VXEN_EXPORT int vxen_xs_watcher_new(vxen_xs_watcher **out, const struct vxen_xs_watcher_config *cfg,
				    const struct vxen_xs_ops *ops, void *payload)
{
	vxen_xs_watcher *w;
	unsigned int kinds;
	int r;

	if (!out || !ops || ops->version < 1 || !ops->device_added)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->epfd = w->tfd = w->xsfd = -1;
	w->ops.version = VXEN_XS_OPS_VERSION;
	w->ops.device_added = ops->device_added;
	w->ops.device_removed = ops->device_removed;
	w->payload = payload;
	w->backoff_ms = BACKOFF_MIN_MS;
	r = copy_config(w, cfg, &kinds);
	if (!r) {
		w->xs = xs_open(0);
		r = w->xs ? 0 : (errno > 0 ? -errno : -ECONNREFUSED);
	}
	if (!r)
		r = read_self(w);
	if (!r)
		r = setup_fds(w);
	if (!r)
		r = setup_watches(w, kinds);
	if (r) {
		if (r != -EINVAL)
			vxen_log(LOG_ERR, "xs: cannot start watching xenstore: %s", strerror(-r));
		destroy(w);
		return r;
	}
	arm_timer(w, 0); /* the first process call scans what is already there */
	*out = w;
	return 0;
}

VXEN_EXPORT void vxen_xs_watcher_free(vxen_xs_watcher *w)
{
	if (w)
		destroy(w);
}

VXEN_EXPORT uint32_t vxen_xs_watcher_domid(const vxen_xs_watcher *w)
{
	return w->self;
}

VXEN_EXPORT int vxen_xs_watcher_fd(const vxen_xs_watcher *w)
{
	return w->epfd;
}

static int close_entry(vxen_xs_watcher *w, struct xs_entry *e)
{
	int r = vxen_xs_write_state(w, e->bpath, VXEN_XB_CLOSED);

	vxen_log(LOG_INFO, "xs: dom%u %s/%u closed", e->fe, vxen_xs_kind_dir[e->kind], e->devid);
	/* Keep the entry, marked closed, so the next event does not offer it again. */
	e->closed = true;
	vxen_xs_entry_drop_pub(e);
	if (r == -ENOENT)
		return 0;
	if (r)
		vxen_log(LOG_WARNING, "xs: %s: writing state 6: %s", e->bpath, strerror(-r));
	return r;
}

VXEN_EXPORT int vxen_xs_watcher_close_device(vxen_xs_watcher *w, const struct vxen_xs_device *dev)
{
	for (struct xs_entry *e = w->entries; e; e = e->next)
		if (&e->pub == dev && e->status == XS_ENT_ACTIVE)
			return close_entry(w, e);
	return -EINVAL;
}

VXEN_EXPORT int vxen_xs_watcher_close_all(vxen_xs_watcher *w)
{
	int first = 0;

	for (struct xs_entry *e = w->entries; e; e = e->next) {
		if (e->status == XS_ENT_ACTIVE) {
			int r = close_entry(w, e);

			if (r && !first)
				first = r;
		}
	}
	return first;
}

VXEN_EXPORT void vxen_xs_watcher_stats(const vxen_xs_watcher *w, struct vxen_xs_stats *out)
{
	*out = w->st;
}
