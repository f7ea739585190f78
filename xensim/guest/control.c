/* SPDX-License-Identifier: MIT */
/*
 * control.c — libxensim's control connection: domains, counters, fault injection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_internal.h"
#include "xl_internal.h"

int xensim_open(xensim **out, const char *socket_path)
{
	xensim *x;
	int rc;

	if (!socket_path)
		socket_path = getenv("XENSIM_SOCKET");
	if (!socket_path || !*socket_path)
		return -ENOENT;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->path = strdup(socket_path);
	rc = x->path ? hvc_open(&x->c, socket_path, HVC_DOMID_ENV) : -ENOMEM;
	if (rc) {
		free(x->path);
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void xensim_close(xensim *x)
{
	if (!x)
		return;
	hvc_close(x->c);
	free(x->path);
	free(x);
}

int xensim_domain_create(xensim *x, const struct xensim_domain_config *cfg, uint32_t *domid_out)
{
	struct hv_domain_create req = { 0 };
	char name[64];
	uint32_t domid = 0;
	int rc;

	if (cfg && cfg->version != XENSIM_DOMAIN_CONFIG_VERSION)
		return -EINVAL;
	if (cfg) {
		req.ram_bytes = cfg->ram_bytes;
		req.vcpus = cfg->vcpus;
		req.domid = cfg->domid;
		if (cfg->name && strlen(cfg->name) >= sizeof(req.name))
			return -ENAMETOOLONG;
		if (cfg->name)
			strcpy(req.name, cfg->name);
	}
	rc = hvc_simple(x->c, HV_DOMAIN_CREATE, &req, sizeof(req), &domid, sizeof(domid));
	if (rc < 0)
		return rc;
	/* What libxl__domain_make writes; the guest's own view of xenstore starts here. */
	snprintf(name, sizeof(name), "%s", req.name[0] ? req.name : "");
	rc = xensim__xl_domain_created(domid, name[0] ? name : NULL);
	if (rc < 0) {
		struct hv_domid_arg a = { .domid = domid };

		hvc_simple(x->c, HV_DOMAIN_DESTROY, &a, sizeof(a), NULL, 0);
		return rc;
	}
	if (domid_out)
		*domid_out = domid;
	return 0;
}

int xensim_domain_destroy(xensim *x, uint32_t domid)
{
	struct hv_domid_arg a = { .domid = domid };

	return hvc_simple(x->c, HV_DOMAIN_DESTROY, &a, sizeof(a), NULL, 0);
}

int xensim_domain_exists(xensim *x, uint32_t domid)
{
	struct hv_domid_arg a = { .domid = domid };

	return hvc_simple(x->c, HV_DOMAIN_EXISTS, &a, sizeof(a), NULL, 0);
}

int xensim_counters_get(xensim *x, uint32_t domid, struct xensim_counters *out)
{
	struct hv_domid_arg a = { .domid = domid };
	struct xensim_counters tmp;
	int rc = hvc_simple(x->c, HV_COUNTERS_GET, &a, sizeof(a), &tmp, sizeof(tmp));

	if (rc < 0)
		return rc;
	*out = tmp;
	return 0;
}

int xensim_counters_reset(xensim *x)
{
	return hvc_simple(x->c, HV_COUNTERS_RESET, NULL, 0, NULL, 0);
}

int xensim_fault_inject(xensim *x, enum xensim_op op, unsigned int nth, int err)
{
	struct hv_fault f = { .op = (uint32_t)op, .nth = nth, .err = err };

	/* The dropped-event fault has no errno; every other op needs a positive one. */
	if ((unsigned int)op >= XENSIM_OP_COUNT || !nth || err < 0 ||
	    (!err && op != XENSIM_OP_EVTCHN_DELIVER))
		return -EINVAL;
	return hvc_simple(x->c, HV_FAULT_INJECT, &f, sizeof(f), NULL, 0);
}

int xensim_fault_clear(xensim *x)
{
	return hvc_simple(x->c, HV_FAULT_CLEAR, NULL, 0, NULL, 0);
}
