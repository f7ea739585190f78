/* SPDX-License-Identifier: MIT */
/*
 * xs_store.c — xenstored's node database (see xs_store.h).
 *
 * Nodes live in a search tree keyed by full path (tsearch); a node lists its children by name.
 * A transaction has an overlay tree of private node copies (tombstones for removals) and a tree
 * of the generations it observed, as C xenstored keeps them.
 */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_store.h"

struct xs_store {
	void *live;
	unsigned int count;
	uint64_t gen;
};

struct xs_txn {
	void *overlay; /* struct xs_node copies, keyed by path */
	void *seen;    /* struct xs_node with only path and gen: what the transaction observed */
	unsigned int entries;
	struct xs_changes chg;
};

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct xs_node *)a)->path, ((const struct xs_node *)b)->path);
}

static struct xs_node *find(void *root, const char *path)
{
	struct xs_node key = { .path = (char *)path };
	void **p = tfind(&key, &root, cmp_path);

	return p ? *p : NULL;
}

static void node_free(void *p)
{
	struct xs_node *n = p;

	if (!n)
		return;
	for (unsigned int i = 0; i < n->nkids; i++)
		free(n->kids[i]);
	free(n->kids);
	free(n->perms);
	free(n->value);
	free(n->path);
	free(n);
}

static struct xs_node *node_new(const char *path, const struct xs_perm *p, unsigned int np)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->perms = np ? malloc(np * sizeof(*p)) : NULL;
	if (!n->path || (np && !n->perms)) {
		node_free(n);
		return NULL;
	}
	if (np)
		memcpy(n->perms, p, np * sizeof(*p));
	n->nperms = np;
	return n;
}

static struct xs_node *node_dup(const struct xs_node *src)
{
	struct xs_node *n = node_new(src->path, src->perms, src->nperms);

	if (!n)
		return NULL;
	n->gen = src->gen;
	n->len = src->len;
	n->value = src->len ? malloc(src->len) : NULL;
	n->kids = src->nkids ? calloc(src->nkids, sizeof(char *)) : NULL;
	if ((src->len && !n->value) || (src->nkids && !n->kids)) {
		node_free(n);
		return NULL;
	}
	if (src->len)
		memcpy(n->value, src->value, src->len);
	n->kcap = src->nkids;
	for (; n->nkids < src->nkids; n->nkids++) {
		n->kids[n->nkids] = strdup(src->kids[n->nkids]);
		if (!n->kids[n->nkids]) {
			node_free(n);
			return NULL;
		}
	}
	return n;
}

static int kid_add(struct xs_node *n, const char *name)
{
	if (n->nkids == n->kcap) {
		unsigned int cap = n->kcap ? 2 * n->kcap : 4;
		char **k = realloc(n->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		n->kids = k;
		n->kcap = cap;
	}
	n->kids[n->nkids] = strdup(name);
	if (!n->kids[n->nkids])
		return -ENOMEM;
	n->nkids++;
	return 0;
}

static void kid_del(struct xs_node *n, const char *name)
{
	for (unsigned int i = 0; i < n->nkids; i++) {
		if (strcmp(n->kids[i], name))
			continue;
		free(n->kids[i]);
		memmove(&n->kids[i], &n->kids[i + 1], (n->nkids - i - 1) * sizeof(char *));
		n->nkids--;
		return;
	}
}

static const char *basename_of(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* Parent path of @path (not "/"), malloc'ed. */
static char *parent_of(const char *path)
{
	size_t n = (size_t)(strrchr(path, '/') - path);

	return n ? strndup(path, n) : strdup("/");
}

static char *child_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", name) < 0)
		return NULL;
	return p;
}

static int insert(void **root, struct xs_node *n)
{
	void **p = tsearch(n, root, cmp_path);

	if (!p)
		return -ENOMEM;
	if (*p != n) { /* replace an older entry (a tombstone) */
		node_free(*p);
		*p = n;
	}
	return 0;
}

/* Remember that the transaction saw @path at generation @gen (0: absent). */
static int note_seen(struct xs_txn *t, const char *path, uint64_t gen)
{
	struct xs_node *n;
	int rc;

	if (find(t->seen, path))
		return 0;
	if (t->entries >= XS_TXN_MAX_ENTRIES)
		return -ENOSPC;
	n = node_new(path, NULL, 0);
	if (!n)
		return -ENOMEM;
	n->gen = gen;
	rc = insert(&t->seen, n);
	if (rc)
		node_free(n);
	else
		t->entries++;
	return rc;
}

/* The node at @path as the context sees it, without permission checks (*out NULL: absent). */
static int get(const struct xs_ctx *c, const char *path, struct xs_node **out)
{
	struct xs_node *n;

	if (c->t) {
		n = find(c->t->overlay, path);
		if (n) {
			*out = n->deleted ? NULL : n;
			return 0;
		}
	}
	n = find(c->s->live, path);
	*out = n;
	return c->t ? note_seen(c->t, path, n ? n->gen : 0) : 0;
}

/* Make @n (from get()) modifiable: the live node, or the transaction's private copy. */
static int writable(const struct xs_ctx *c, struct xs_node **n)
{
	struct xs_node *copy;
	int rc;

	if (!c->t) {
		(*n)->gen = ++c->s->gen;
		return 0;
	}
	if (find(c->t->overlay, (*n)->path) == *n)
		return 0;
	if (c->t->entries >= XS_TXN_MAX_ENTRIES)
		return -ENOSPC;
	copy = node_dup(*n);
	if (!copy)
		return -ENOMEM;
	rc = insert(&c->t->overlay, copy);
	if (rc) {
		node_free(copy);
		return rc;
	}
	c->t->entries++;
	*n = copy;
	return 0;
}

static int note_change(const struct xs_ctx *c, const char *path, bool exact,
		       const struct xs_node *old)
{
	struct xs_changes *l = c->chg ? c->chg : &c->t->chg;
	struct xs_change *ch;

	if (l->n == l->cap) {
		unsigned int cap = l->cap ? 2 * l->cap : 8;
		struct xs_change *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	ch = &l->v[l->n];
	*ch = (struct xs_change){ .path = strdup(path), .exact = exact };
	if (old) {
		ch->perms = malloc(old->nperms * sizeof(*ch->perms));
		ch->nperms = ch->perms ? old->nperms : 0;
		if (ch->perms)
			memcpy(ch->perms, old->perms, old->nperms * sizeof(*ch->perms));
	}
	if (!ch->path) {
		free(ch->perms);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

void xs_changes_clear(struct xs_changes *c)
{
	for (unsigned int i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].perms);
	}
	free(c->v);
	*c = (struct xs_changes){ 0 };
}

unsigned int xs_perm_for(const struct xs_who *who, const struct xs_perm *p, unsigned int n)
{
	const unsigned int all = XS_P_READ | XS_P_WRITE | XS_P_OWNER;
	bool tgt = who->target != XS_NO_TARGET;

	if (who->priv || !n || p[0].id == who->domid || (tgt && p[0].id == who->target))
		return all;
	for (unsigned int i = 1; i < n; i++)
		if (p[i].id == who->domid || (tgt && p[i].id == who->target))
			return p[i].perms & (XS_P_READ | XS_P_WRITE);
	return p[0].perms & (XS_P_READ | XS_P_WRITE);
}

/* C xenstored's errno_from_parents(): hide ENOENT unless the nearest ancestor grants @perm. */
static int errno_from_parents(const struct xs_ctx *c, const char *path, int err, unsigned int perm)
{
	char *p = strdup(path);
	struct xs_node *n = NULL;
	int rc = p ? 0 : -ENOMEM;

	while (!rc && !n && strcmp(p, "/")) {
		char *up = parent_of(p);

		free(p);
		p = up;
		rc = p ? get(c, p, &n) : -ENOMEM;
	}
	free(p);
	if (rc)
		return rc;
	return (n && (xs_perm_for(c->who, n->perms, n->nperms) & perm)) ? err : -EACCES;
}

/* C xenstored's get_node(): the node if it exists and grants @perm. */
static int get_checked(const struct xs_ctx *c, const char *path, unsigned int perm,
		       struct xs_node **out)
{
	int rc = get(c, path, out);

	if (rc)
		return rc;
	if (*out && (xs_perm_for(c->who, (*out)->perms, (*out)->nperms) & perm) == perm)
		return 0;
	return errno_from_parents(c, path, *out ? -EACCES : -ENOENT, perm);
}

int xs_op_get(const struct xs_ctx *c, const char *path, const struct xs_node **out)
{
	struct xs_node *n;
	int rc = get_checked(c, path, XS_P_READ, &n);

	if (!rc)
		*out = n;
	return rc;
}

/* How many nodes creating @path adds (itself and missing ancestors). */
static int nodes_needed(const struct xs_ctx *c, const char *path, unsigned int *need)
{
	char *p = strdup(path);
	struct xs_node *n = NULL;
	int rc = p ? 0 : -ENOMEM;

	*need = 1;
	while (!rc && strcmp(p, "/")) {
		char *up = parent_of(p);

		free(p);
		p = up;
		rc = p ? get(c, p, &n) : -ENOMEM;
		if (rc || n)
			break;
		(*need)++;
	}
	free(p);
	return rc;
}

/* Insert a new node as the context sees it. */
static int add_node(const struct xs_ctx *c, struct xs_node *n)
{
	int rc;

	if (c->t) {
		if (c->t->entries >= XS_TXN_MAX_ENTRIES)
			return -ENOSPC;
		rc = insert(&c->t->overlay, n);
		c->t->entries += !rc;
		return rc;
	}
	n->gen = ++c->s->gen;
	rc = insert(&c->s->live, n);
	c->s->count += !rc;
	return rc;
}

/* C xenstored's construct_node(): create @path and missing ancestors, inheriting permissions. */
static int construct(const struct xs_ctx *c, const char *path, struct xs_node **out)
{
	char *up = parent_of(path);
	struct xs_node *parent = NULL, *n;
	int rc = up ? get(c, up, &parent) : -ENOMEM;

	if (!rc && !parent)
		rc = construct(c, up, &parent);
	if (!rc)
		rc = writable(c, &parent);
	free(up);
	if (rc)
		return rc;
	n = node_new(path, parent->perms, parent->nperms);
	if (!n)
		return -ENOMEM;
	/* Unprivileged domains own what they create. */
	if (!c->who->priv)
		n->perms[0].id = c->who->domid;
	rc = kid_add(parent, basename_of(path));
	if (!rc) {
		rc = add_node(c, n);
		if (rc)
			kid_del(parent, basename_of(path));
	}
	if (rc) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* The node to write @path into: existing and writable, or newly created. */
static int node_for_write(const struct xs_ctx *c, const char *path, struct xs_node **out,
			  bool *created)
{
	unsigned int need;
	int rc = get_checked(c, path, XS_P_WRITE, out);

	*created = false;
	if (!rc)
		return writable(c, out);
	if (rc != -ENOENT)
		return rc;
	rc = nodes_needed(c, path, &need);
	if (!rc && c->s->count + need > XS_STORE_MAX_NODES)
		rc = -ENOSPC;
	if (!rc)
		rc = construct(c, path, out);
	*created = !rc;
	return rc;
}

int xs_op_write(const struct xs_ctx *c, const char *path, const void *val, unsigned int len)
{
	struct xs_node *n;
	bool created;
	void *copy = len ? malloc(len) : NULL;
	int rc = (len && !copy) ? -ENOMEM : node_for_write(c, path, &n, &created);

	if (rc) {
		free(copy);
		return rc;
	}
	if (len)
		memcpy(copy, val, len);
	free(n->value);
	n->value = copy;
	n->len = len;
	return note_change(c, path, false, NULL);
}

int xs_op_mkdir(const struct xs_ctx *c, const char *path)
{
	struct xs_node *n;
	bool created;
	int rc = get_checked(c, path, XS_P_WRITE, &n);

	if (rc != -ENOENT) /* exists already (fine, nothing changes) or forbidden */
		return rc;
	rc = node_for_write(c, path, &n, &created);
	return rc ? rc : note_change(c, path, false, NULL);
}

/* Remove a node as the context sees it (children are gone already). */
static int drop_node(const struct xs_ctx *c, struct xs_node *n)
{
	struct xs_node *tomb;

	if (!c->t) {
		tdelete(n, &c->s->live, cmp_path);
		c->s->count--;
		node_free(n);
		return 0;
	}
	if (find(c->t->overlay, n->path) != n) {
		if (c->t->entries >= XS_TXN_MAX_ENTRIES)
			return -ENOSPC;
		tomb = node_new(n->path, NULL, 0);
		if (!tomb || insert(&c->t->overlay, tomb)) {
			node_free(tomb);
			return -ENOMEM;
		}
		c->t->entries++;
		n = tomb;
	}
	n->deleted = true;
	return 0;
}

/* C xenstored's delete_node(): children first; watches on them fire only on exact match. */
static int delete_tree(const struct xs_ctx *c, struct xs_node *n, bool top)
{
	int rc = 0;

	while (!rc && n->nkids) {
		char *kp = child_path(n->path, n->kids[n->nkids - 1]);
		struct xs_node *kid = NULL;

		rc = kp ? get(c, kp, &kid) : -ENOMEM;
		free(kp);
		if (!rc && kid)
			rc = delete_tree(c, kid, false);
		if (!rc) {
			/* The kid list is ours to edit only in a private copy or the live node. */
			rc = writable(c, &n);
			if (!rc) {
				free(n->kids[n->nkids - 1]);
				n->nkids--;
			}
		}
	}
	if (!rc)
		rc = note_change(c, n->path, !top, n);
	return rc ? rc : drop_node(c, n);
}

int xs_op_rm(const struct xs_ctx *c, const char *path)
{
	char *up;
	struct xs_node *n, *parent = NULL;
	int rc = get_checked(c, path, XS_P_WRITE, &n);

	if (rc && rc != -ENOENT)
		return rc;
	if (!strcmp(path, "/"))
		return -EINVAL;
	up = parent_of(path);
	if (!up)
		return -ENOMEM;
	rc = get(c, up, &parent);
	free(up);
	if (rc)
		return rc;
	if (!n) /* already gone: fine if the parent exists */
		return parent ? 0 : -ENOENT;
	rc = writable(c, &parent);
	if (!rc)
		rc = delete_tree(c, n, true);
	if (!rc)
		kid_del(parent, basename_of(path));
	return rc;
}

int xs_op_set_perms(const struct xs_ctx *c, const char *path, const struct xs_perm *p,
		    unsigned int np)
{
	struct xs_node *n;
	struct xs_perm *copy;
	int rc;

	if (!np || np > XS_MAX_PERMS || (!c->who->priv && np > XS_MAX_PERMS_UNPRIV))
		return np ? -ENOSPC : -EINVAL;
	rc = get_checked(c, path, XS_P_WRITE | XS_P_OWNER, &n);
	if (rc)
		return rc;
	/* Unprivileged domains may not give their nodes away. */
	if (!c->who->priv && p[0].id != n->perms[0].id)
		return -EPERM;
	rc = note_change(c, path, false, n);
	if (!rc)
		rc = writable(c, &n);
	copy = rc ? NULL : malloc(np * sizeof(*p));
	if (!copy)
		return rc ? rc : -ENOMEM;
	memcpy(copy, p, np * sizeof(*p));
	free(n->perms);
	n->perms = copy;
	n->nperms = np;
	return 0;
}

int xs_perm_parse(const char *s, struct xs_perm *out)
{
	static const char letters[] = "nrwb";
	const char *l = s[0] ? strchr(letters, s[0]) : NULL;
	char *end;
	unsigned long id;

	if (!l || s[1] < '0' || s[1] > '9')
		return -EINVAL;
	errno = 0;
	id = strtoul(s + 1, &end, 10);
	if (errno || *end || id > UINT32_MAX)
		return -EINVAL;
	out->id = (uint32_t)id;
	out->perms = (unsigned int)(l - letters); /* n=0, r=1, w=2, b=3 */
	return 0;
}

int xs_perm_format(const struct xs_perm *p, char *buf)
{
	return sprintf(buf, "%c%u", "nrwb"[p->perms & 3], p -> id);
}

int xs_txn_new(struct xs_txn **out)
{
	struct xs_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	*out = t;
	return 0;
}

void xs_txn_free(struct xs_txn *t)
{
	if (!t)
		return;
	tdestroy(t->overlay, node_free);
	tdestroy(t->seen, node_free);
	xs_changes_clear(&t->chg);
	free(t);
}

/* Append every change of @from to @to (which takes ownership). */
static int changes_move(struct xs_changes *to, struct xs_changes *from)
{
	struct xs_change *v;

	if (!from->n)
		return 0;
	v = realloc(to->v, (to->n + from->n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v + to->n, from->v, from->n * sizeof(*v));
	to->v = v;
	to->n += from->n;
	to->cap = to->n;
	free(from->v);
	*from = (struct xs_changes){ 0 };
	return 0;
}

struct commit {
	struct xs_store *s;
	int rc;
	int added;
};

static void check_seen(const void *np, VISIT v, void *arg)
{
	const struct xs_node *seen = *(struct xs_node *const *)np;
	struct commit *cm = arg;
	const struct xs_node *n;

	if (v != postorder && v != leaf)
		return;
	n = find(cm->s->live, seen->path);
	if ((n ? n->gen : 0) != seen->gen)
		cm->rc = -EAGAIN;
}

static void count_new(const void *np, VISIT v, void *arg)
{
	const struct xs_node *o = *(struct xs_node *const *)np;
	struct commit *cm = arg;
	bool live = find(cm->s->live, o->path) != NULL;

	if (v == postorder || v == leaf)
		cm->added += o->deleted ? -(int)live : !live;
}

/* Move one overlay entry into the live tree (the overlay keeps the old content to free). */
static void apply_one(const void *np, VISIT v, void *arg)
{
	struct xs_node *o = *(struct xs_node *const *)np;
	struct commit *cm = arg;
	struct xs_node *n, tmp;
	char *opath = o->path;

	if (v != postorder && v != leaf)
		return;
	n = find(cm->s->live, o->path);
	if (o->deleted) {
		if (n) {
			tdelete(n, &cm->s->live, cmp_path);
			cm->s->count--;
			node_free(n);
		}
		return;
	}
	if (!n) {
		n = node_new(o->path, NULL, 0);
		if (!n || insert(&cm->s->live, n)) {
			node_free(n);
			cm->rc = -ENOMEM;
			return;
		}
		cm->s->count++;
	}
	/* Swap contents: the live node takes the new value, perms and kids; the overlay entry
	 * keeps the old ones (and its own key) for xs_txn_free(). */
	tmp = *n;
	*n = *o;
	n->path = tmp.path;
	*o = tmp;
	o->path = opath;
	n->gen = ++cm->s->gen;
}

int xs_txn_commit(struct xs_store *s, struct xs_txn *t, struct xs_changes *fire)
{
	struct commit cm = { .s = s };

	twalk_r(t->seen, check_seen, &cm);
	if (cm.rc)
		return cm.rc;
	twalk_r(t->overlay, count_new, &cm);
	if (cm.added > 0 && s->count + (unsigned int)cm.added > XS_STORE_MAX_NODES)
		return -ENOSPC;
	twalk_r(t->overlay, apply_one, &cm);
	if (!cm.rc)
		cm.rc = changes_move(fire, &t->chg);
	return cm.rc;
}

unsigned int xs_store_count(const struct xs_store *s)
{
	return s->count;
}

const struct xs_node *xs_store_lookup(struct xs_store *s, const char *path)
{
	return find(s->live, path);
}

void xs_store_free(struct xs_store *s)
{
	if (!s)
		return;
	tdestroy(s->live, node_free);
	free(s);
}

int xs_store_new(struct xs_store **out)
{
	static const struct {
		const char *path, *value;
	} init[] = {
		/* C xenstored's own nodes, then what xen-init-dom0 writes. */
		{ "/tool/xenstored", "" },
		{ "/local/domain/0/name", "Domain-0" },
		{ "/local/domain/0/domid", "0" },
	};
	const struct xs_perm dom0 = { .id = 0, .perms = XS_P_NONE };
	const struct xs_who root = { .domid = 0, .target = XS_NO_TARGET, .priv = true };
	struct xs_changes chg = { 0 };
	struct xs_store *s = calloc(1, sizeof(*s));
	struct xs_ctx c = { .s = s, .who = &root, .chg = &chg };
	struct xs_node *n = node_new("/", &dom0, 1);
	int rc = (s && n) ? insert(&s->live, n) : -ENOMEM;

	if (!rc) {
		n->gen = ++s->gen;
		s->count = 1;
		n = NULL;
	}
	for (size_t i = 0; !rc && i < sizeof(init) / sizeof(init[0]); i++)
		rc = xs_op_write(&c, init[i].path, init[i].value,
				 (unsigned int)strlen(init[i].value));
	xs_changes_clear(&chg);
	node_free(n);
	if (rc) {
		xs_store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}
