/* SPDX-License-Identifier: MIT */
/*
 * xs_watch.c — xensim xenstored's watches: registration, the (path, token) events C xenstored
 * sends (including the one at registration and the special @introduceDomain/@releaseDomain),
 * and who may see which event. Runs on the xenstored thread with xs->lock held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_daemon.h"

/* ----------------------------------------------------------------------------------------- */
/* Watches                                                                                    */

static void send_event(struct xs_server *xs, struct xs_conn *c, const struct xs_watch *w,
		       const char *path)
{
	char prefix[32];
	size_t plen;
	const void *data[2];
	size_t len[2];

	if (w->relative) {
		plen = (size_t)snprintf(prefix, sizeof(prefix), "/local/domain/%u", c->who.domid);
		if (!strncmp(path, prefix, plen)) {
			path += plen;
			path += *path == '/';
		}
	}
	data[0] = path;
	len[0] = strlen(path) + 1;
	data[1] = w->token;
	len[1] = strlen(w->token) + 1;
	if (len[0] + len[1] > XENSTORE_PAYLOAD_MAX)
		return; /* C xenstored drops over-long events too */
	xs_conn_send(c, XS_WATCH_EVENT, 0, 0, data, len, 2);
	xs->watch_events++;
}

/* C xenstored's is_child(): @child is @parent or below it; "/" is everyone's parent. */
static bool is_child(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (!strcmp(parent, "/"))
		return true;
	return !strncmp(child, parent, n) && (child[n] == '/' || child[n] == '\0');
}

bool xs_readable(const struct xs_who *who, const struct xs_perm *p, unsigned int n)
{
	return xs_perm_for(who, p, n) & XS_P_READ;
}

/* C xenstored's watch_permitted(): the node (as it was, or is) or its parent is readable. */
static bool watch_permitted(struct xs_server *xs, const struct xs_who *who,
			    const struct xs_change *ch)
{
	const struct xs_node *n;
	char *up, *slash;
	bool ok;

	if (who->priv || (ch->perms && xs_readable(who, ch->perms, ch->nperms)))
		return true;
	n = xs_store_lookup(xs->store, ch->path);
	if (n && xs_readable(who, n->perms, n->nperms))
		return true;
	if (!n && !ch->perms)
		return false;
	up = strdup(ch->path);
	if (!up || !strcmp(up, "/")) {
		free(up);
		return false;
	}
	slash = strrchr(up, '/');
	slash[slash == up] = '\0'; /* the parent; "/a" -> "/" */
	n = xs_store_lookup(xs->store, up);
	ok = n && xs_readable(who, n->perms, n->nperms);
	free(up);
	return ok;
}

void xs_fire_changes(struct xs_server *xs, struct xs_changes *chg)
{
	for (unsigned int i = 0; i < chg->n; i++) {
		const struct xs_change *ch = &chg->v[i];

		for (struct xs_conn *c = xs->conns; c; c = c->next) {
			if (c->dead || !c->watches || !watch_permitted(xs, &c->who, ch))
				continue;
			for (struct xs_watch *w = c->watches; w; w = w->next) {
				bool hit = ch->exact ? !strcmp(ch->path, w->path)
						     : w->path[0] == '/' &&
							       is_child(ch->path, w->path);

				if (hit)
					send_event(xs, c, w, ch->path);
			}
		}
	}
	xs_changes_clear(chg);
}

int xs_special_index(const char *name)
{
	if (!strcmp(name, "@introduceDomain"))
		return 0;
	if (!strcmp(name, "@releaseDomain"))
		return 1;
	return -1;
}

void xs_fire_special(struct xs_server *xs, const char *name)
{
	int i = xs_special_index(name);

	for (struct xs_conn *c = xs->conns; c; c = c->next) {
		if (c->dead || (i >= 0 && !xs_readable(&c->who, xs->special[i], xs->nspecial[i])))
			continue;
		for (struct xs_watch *w = c->watches; w; w = w->next)
			if (!strcmp(w->path, name))
				send_event(xs, c, w, name);
	}
}

void xs_watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

int xs_h_watch(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *v[2];
	struct xs_watch *w;
	char *path;
	int rc;

	if (xs_get_strings(r, v, 2) != 2)
		return -EINVAL;
	rc = xs_canon(c, v[0], true, &path);
	if (rc)
		return rc;
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, path) && !strcmp(w->token, v[1]))
			rc = -EEXIST;
	if (!rc && c->nwatches >= (c->who.priv ? XS_WATCHES_PRIV : XS_WATCHES_UNPRIV))
		rc = -E2BIG;
	w = rc ? NULL : calloc(1, sizeof(*w));
	if (!rc && (!w || !(w->token = strdup(v[1]))))
		rc = -ENOMEM;
	if (rc) {
		free(w);
		free(path);
		return rc;
	}
	w->path = path;
	w->relative = v[0][0] != '/' && v[0][0] != '@';
	w->next = c->watches;
	c->watches = w;
	c->nwatches++;
	xs_conn_ack(c, r);
	/* C xenstored fires once up front, with the path as the client gave it. */
	send_event(xs, c, w, path);
	return 0;
}

int xs_h_unwatch(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *v[2];
	char *path;
	int rc;

	if (xs_get_strings(r, v, 2) != 2)
		return -EINVAL;
	rc = xs_canon(c, v[0], true, &path);
	if (rc)
		return rc;
	rc = -ENOENT;
	for (struct xs_watch **pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct xs_watch *w = *pp;

		if (strcmp(w->path, path) || strcmp(w->token, v[1]))
			continue;
		*pp = w->next;
		xs_watch_free(w);
		c->nwatches--;
		rc = 0;
		break;
	}
	free(path);
	if (!rc)
		xs_conn_ack(c, r);
	return rc;
}
