/* SPDX-License-Identifier: MIT */
/*
 * xs_domain.c — xensim xenstored's domain requests (XS_INTRODUCE, XS_RELEASE, XS_RESUME,
 * XS_IS_DOMAIN_INTRODUCED, XS_SET_TARGET, XS_GET_DOMAIN_PATH) and XS_CONTROL with xensim's
 * "set-domid" extension. Runs on the xenstored thread with xs->lock held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_daemon.h"

/* ----------------------------------------------------------------------------------------- */
/* Domains, control                                                                           */

int xs_h_get_domain_path(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	char path[32];
	uint32_t domid;
	int rc = xs_parse_domid(xs_onearg(r), &domid);

	if (rc)
		return rc;
	xs_conn_reply(c, r, path,
		      (size_t)snprintf(path, sizeof(path), "/local/domain/%u", domid) + 1);
	return 0;
}

int xs_h_introduce(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *v[3];
	struct xs_domain *d;
	uint32_t domid;

	if (!c->who.priv)
		return -EACCES;
	if (xs_get_strings(r, v, 3) != 3 || xs_parse_domid(v[0], &domid))
		return -EINVAL;
	d = xs_domain_get(xs, domid, true);
	if (!d)
		return -ENOMEM;
	d->introduced = true;
	xs_fire_special(xs, "@introduceDomain");
	xs_conn_ack(c, r);
	return 0;
}

/* XS_RELEASE and XS_RESUME: one domid argument, the domain must be introduced. */
int xs_h_release(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	struct xs_domain *d;
	uint32_t domid;

	if (!c->who.priv)
		return -EACCES;
	if (xs_parse_domid(xs_onearg(r), &domid))
		return -EINVAL;
	d = xs_domain_get(xs, domid, false);
	if (!d || !d->introduced)
		return -ENOENT;
	if (r->hdr->type == XS_RELEASE) {
		d->introduced = false;
		xs_fire_special(xs, "@releaseDomain");
	}
	xs_conn_ack(c, r);
	return 0;
}

int xs_h_is_introduced(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	struct xs_domain *d;
	uint32_t domid;

	if (xs_parse_domid(xs_onearg(r), &domid))
		return -EINVAL;
	d = xs_domain_get(xs, domid, false);
	xs_conn_reply(c, r, (domid == 0 || (d && d->introduced)) ? "T" : "F", 2);
	return 0;
}

int xs_h_set_target(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *v[2];
	struct xs_domain *d;
	uint32_t domid, target;

	if (!c->who.priv)
		return -EACCES;
	if (xs_get_strings(r, v, 2) != 2 || xs_parse_domid(v[0], &domid) ||
	    xs_parse_domid(v[1], &target))
		return -EINVAL;
	d = xs_domain_get(xs, domid, true);
	if (!d)
		return -ENOMEM;
	d->target = target;
	for (struct xs_conn *k = xs->conns; k; k = k->next)
		if (!k->who.priv && k->who.domid == domid)
			k->who.target = target;
	xs_conn_ack(c, r);
	return 0;
}

static int set_domid(struct xs_server *xs, struct xs_conn *c, const char *arg)
{
	const struct xs_domain *d;
	uint32_t domid;

	if (xs_parse_domid(arg, &domid))
		return -EINVAL;
	d = xs_domain_get(xs, domid, false);
	c->who.domid = domid;
	c->who.priv = domid == 0;
	c->who.target = d ? d->target : XS_NO_TARGET;
	return 0;
}

int xs_h_control(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	static const char help[] = "set-domid <domid>  act as that domain (xensim)\n"
				   "print <string>\n"
				   "help\n";
	const char *v[2];
	unsigned int n = xs_get_strings(r, v, 2);
	int rc = 0;

	if (!c->who.priv)
		return -EACCES;
	if (!n)
		return -EINVAL;
	if (!strcmp(v[0], "set-domid") && n == 2)
		rc = set_domid(xs, c, v[1]);
	else if (!strncmp(v[0], "set-domid ", 10))
		rc = set_domid(xs, c, v[0] + 10);
	else if (!strcmp(v[0], "help"))
		xs_conn_reply(c, r, help, sizeof(help));
	else if (strcmp(v[0], "print"))
		rc = -EINVAL;
	if (!rc && strcmp(v[0], "help"))
		xs_conn_ack(c, r);
	return rc;
}

void xs_conn_drop_state(struct xs_server *xs, struct xs_conn *c)
{
	while (c->watches) {
		struct xs_watch *w = c->watches;

		c->watches = w->next;
		xs_watch_free(w);
	}
	c->nwatches = 0;
	while (c->txs)
		xs_tx_remove(c, c->txs);
}

int xs_h_reset_watches(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	xs_conn_drop_state(xs, c);
	xs_conn_ack(c, r);
	return 0;
}
