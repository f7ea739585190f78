/* SPDX-License-Identifier: MIT */
/*
 * lib/loop_backend.c — vxen_backend: a daemon's devices from xenstore discovery (or given
 * explicitly), created through the application's factory, served by a vxen_loop, torn down when
 * the toolstack removes them, the guest dies or reboots, or the daemon shuts down.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/loop.h>

#include "internal.h"

struct be_dev {
	vxen_dev *dev;			   /* NULL once destroyed (guest gone) */
	vxen_ioreq_server *srv;		   /* reference held for the device */
	const struct vxen_xs_device *info; /* the watcher's, or &own */
	bool discovered;		   /* from the watcher (it owns info) */
	struct vxen_xs_device own;
	struct be_dev *next;
};

struct vxen_backend {
	vxen_loop *loop;
	struct vxen_backend_config cfg;
	struct vxen_dev_config tmpl;
	struct vxen_backend_ops ops;
	void *payload;
	vxen_xs_watcher *w;
	struct be_dev *devs;
	unsigned int nr_devs;
	struct vxen_backend_stats st;
};

/* ------------------------------------------------------------------------------------------ */
/* One device                                                                                  */

static struct vxen_dev_config prepare(const vxen_backend *be, const struct vxen_xs_device *info)
{
	struct vxen_dev_config c = be->tmpl;

	c.domid = info->frontend_domid;
	c.base = info->base;
	c.irq = (struct vxen_irq){ .kind = be->cfg.irq_kind, .line = info->irq };
	c.grants = info->grant_usage;
	c.name = NULL;
	c.server = NULL;
	return c;
}

static int bd_create(vxen_backend *be, struct be_dev *bd)
{
	struct vxen_dev_config c = prepare(be, bd->info);
	int r;

	r = vxen_loop_ioreq_get(be->loop, c.domid, &bd->srv);
	if (r)
		goto fail;
	c.server = bd->srv;
	r = be->ops.create(be, bd->info, &c, &bd->dev, be->payload);
	if (r)
		goto fail_put;
	r = vxen_loop_add_dev(be->loop, bd->dev);
	if (!r) {
		be->st.created++;
		return 0;
	}
	if (be->ops.destroy)
		be->ops.destroy(be, bd->dev, be->payload);
	else
		vxen_dev_free(bd->dev);
	bd->dev = NULL;
fail_put:
	vxen_loop_ioreq_put(be->loop, bd->srv);
	bd->srv = NULL;
fail:
	be->st.create_failed++;
	vxen_log(LOG_ERR, "backend: device %u of guest %u (virtio id %u) not created: %s",
		 bd->info->devid, bd->info->frontend_domid, bd->info->virtio_id, strerror(-r));
	return r;
}

static void bd_destroy(vxen_backend *be, struct be_dev *bd)
{
	if (!bd->dev)
		return;
	vxen_loop_del_dev(be->loop, bd->dev);
	if (be->ops.destroy)
		be->ops.destroy(be, bd->dev, be->payload);
	else
		vxen_dev_free(bd->dev);
	bd->dev = NULL;
	vxen_loop_ioreq_put(be->loop, bd->srv);
	bd->srv = NULL;
	be->nr_devs--;
	be->st.destroyed++;
}

static void bd_unlink(vxen_backend *be, struct be_dev *bd)
{
	struct be_dev **pp = &be->devs;

	while (*pp != bd)
		pp = &(*pp)->next;
	*pp = bd->next;
	if (!bd->discovered) {
		free((char *)bd->own.type);
		free((char *)bd->own.params);
		free((char *)bd->own.backend_path);
		free((char *)bd->own.frontend_path);
	}
	free(bd);
}

static int bd_add(vxen_backend *be, struct be_dev *bd)
{
	int r = bd_create(be, bd);

	if (r) {
		free(bd);
		return r;
	}
	bd->next = be->devs;
	be->devs = bd;
	be->nr_devs++;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Watcher and loop callbacks                                                                  */

static int xs_added(const struct vxen_xs_device *info, void **cookie, void *payload)
{
	vxen_backend *be = payload;
	struct be_dev *bd = calloc(1, sizeof(*bd));
	int r;

	if (!bd)
		return -ENOMEM;
	bd->info = info;
	bd->discovered = true;
	r = bd_add(be, bd);
	if (!r)
		*cookie = bd;
	return r;
}

static void xs_removed(const struct vxen_xs_device *info, void *cookie, void *payload)
{
	vxen_backend *be = payload;
	struct be_dev *bd = cookie;

	bd_destroy(be, bd);
	bd_unlink(be, bd);
}

static void guest_gone(vxen_loop *loop, uint32_t domid, void *payload)
{
	vxen_backend *be = payload;
	struct be_dev *bd = be->devs, *next;

	be->st.guests_gone++;
	/* Tear the devices down now; discovered ones stay listed (without device) until the
	 * watcher reports them removed, explicit ones are forgotten. */
	for (; bd; bd = next) {
		next = bd->next;
		if (bd->info->frontend_domid != domid || !bd->dev)
			continue;
		bd_destroy(be, bd);
		if (!bd->discovered)
			bd_unlink(be, bd);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */

static int start_watcher(vxen_backend *be)
{
	struct vxen_xs_watcher_config wc = VXEN_XS_WATCHER_CONFIG_INIT;
	struct vxen_xs_ops xo = { .version = VXEN_XS_OPS_VERSION,
				  .device_added = xs_added,
				  .device_removed = xs_removed };
	int r;

	wc.virtio_ids = be->cfg.virtio_ids;
	wc.nr_virtio_ids = be->cfg.nr_virtio_ids;
	wc.kinds = be->cfg.kinds;
	r = vxen_xs_watcher_new(&be->w, &wc, &xo, be);
	if (r)
		return r;
	r = vxen_loop_add_xs(be->loop, be->w);
	if (r) {
		vxen_xs_watcher_free(be->w);
		be->w = NULL;
	}
	return r;
}

VXEN_EXPORT int vxen_backend_new(vxen_backend **out, vxen_loop *loop,
				 const struct vxen_backend_config *cfg,
				 const struct vxen_backend_ops *ops, void *payload)
{
	struct vxen_backend_config dflt = VXEN_BACKEND_CONFIG_INIT;
	struct vxen_dev_config tmpl = VXEN_DEV_CONFIG_INIT;
	vxen_backend *be;
	int r;

	if (!cfg)
		cfg = &dflt;
	if (!out || !loop || !ops || ops->version != VXEN_BACKEND_OPS_VERSION || !ops->create ||
	    cfg->version != VXEN_BACKEND_CONFIG_VERSION ||
	    (cfg->dev_template && cfg->dev_template->version != VXEN_DEV_CONFIG_VERSION))
		return -EINVAL;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->loop = loop;
	be->cfg = *cfg;
	be->cfg.dev_template = NULL;
	be->tmpl = cfg->dev_template ? *cfg->dev_template : tmpl;
	be->ops = *ops;
	be->payload = payload;
	if (!cfg->no_xenstore) {
		r = start_watcher(be);
		if (r) {
			free(be);
			return r;
		}
	}
	vxen_loop_on_guest_gone(loop, guest_gone, be);
	*out = be;
	return 0;
}

VXEN_EXPORT void vxen_backend_free(vxen_backend *be)
{
	if (!be)
		return;
	for (struct be_dev *bd = be->devs; bd; bd = bd->next)
		bd_destroy(be, bd);
	while (be->devs)
		bd_unlink(be, be->devs);
	if (be->w) {
		/* Every device is down: tell the toolstack (state 6, Closed). */
		vxen_xs_watcher_close_all(be->w);
		vxen_loop_del_xs(be->loop, be->w);
		vxen_xs_watcher_free(be->w);
	}
	vxen_loop_on_guest_gone(be->loop, NULL, NULL);
	free(be);
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*fail = true;
	return d;
}

VXEN_EXPORT int vxen_backend_add(vxen_backend *be, const struct vxen_xs_device *info,
				 vxen_dev **out)
{
	struct be_dev *bd;
	bool fail = false;
	int r;

	if (!be || !info)
		return -EINVAL;
	bd = calloc(1, sizeof(*bd));
	if (!bd)
		return -ENOMEM;
	bd->own = *info;
	bd->own.type = dup_or_null(info->type, &fail);
	bd->own.params = dup_or_null(info->params, &fail);
	bd->own.backend_path = dup_or_null(info->backend_path, &fail);
	bd->own.frontend_path = dup_or_null(info->frontend_path, &fail);
	bd->info = &bd->own;
	if (fail) {
		bd->next = be->devs;
		be->devs = bd;
		bd_unlink(be, bd);
		return -ENOMEM;
	}
	r = bd_add(be, bd);
	if (!r && out)
		*out = bd->dev;
	return r;
}

VXEN_EXPORT int vxen_backend_remove(vxen_backend *be, vxen_dev *dev)
{
	struct be_dev *bd;

	for (bd = be->devs; bd && bd->dev != dev; bd = bd->next)
		;
	if (!bd || !dev)
		return -ENOENT;
	bd_destroy(be, bd);
	if (bd->discovered)
		vxen_xs_watcher_close_device(be->w, bd->info);
	bd_unlink(be, bd);
	return 0;
}

VXEN_EXPORT unsigned int vxen_backend_nr_devices(const vxen_backend *be)
{
	return be->nr_devs;
}

VXEN_EXPORT void vxen_backend_stats(const vxen_backend *be, struct vxen_backend_stats *out)
{
	*out = be->st;
}

VXEN_EXPORT vxen_loop *vxen_backend_loop(const vxen_backend *be)
{
	return be->loop;
}

VXEN_EXPORT int vxen_backend_run(vxen_backend *be)
{
	int r;

	r = vxen_loop_add_signal(be->loop, SIGTERM, NULL, NULL);
	if (r && r != -EEXIST)
		return r;
	r = vxen_loop_add_signal(be->loop, SIGINT, NULL, NULL);
	if (r && r != -EEXIST)
		return r;
	return vxen_loop_run(be->loop);
}
