/* SPDX-License-Identifier: MIT */
/*
 * xs_ops.c — xensim xenstored's request decoding and dispatch, node operations and
 * per-connection transactions, answering as C xenstored (tools/xenstored) does: same replies,
 * same error strings. Watches are in xs_watch.c, domain and control requests in xs_domain.c.
 * Runs on the xenstored thread with xs->lock held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_daemon.h"

/* ----------------------------------------------------------------------------------------- */
/* Request decoding                                                                           */

/* Split the payload into up to @max NUL-terminated strings; returns how many there are. */
unsigned int xs_get_strings(const struct xs_req *r, const char **v, unsigned int max)
{
	const char *p = r->body, *end = r->body + r->hdr->len;
	unsigned int n = 0;

	while (n < max && p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul)
			break;
		v[n++] = p;
		p = nul + 1;
	}
	return n;
}

/* The single string argument, or NULL unless the payload is exactly one string. */
const char *xs_onearg(const struct xs_req *r)
{
	size_t len = r->hdr->len;

	if (!len || strnlen(r->body, len) != len - 1)
		return NULL;
	return r->body;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno || *end || *out > max) ? -EINVAL : 0;
}

int xs_parse_domid(const char *s, uint32_t *out)
{
	unsigned long v;
	int rc = parse_uint(s, UINT16_MAX, &v);

	if (!rc)
		*out = (uint32_t)v;
	return rc;
}

static bool valid_chars(const char *p)
{
	for (; *p; p++) {
		char ch = *p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-/_@", ch)))
			return false;
	}
	return true;
}

/* C xenstored's is_valid_nodename(). */
static bool valid_path(const struct xs_conn *c, const char *p)
{
	size_t len = strlen(p);
	unsigned int domid;
	int off = 0;

	if (p[0] != '/' || (len > 1 && p[len - 1] == '/') || strstr(p, "//"))
		return false;
	if (len > XENSTORE_ABS_PATH_MAX)
		return false;
	if (sscanf(p, "/local/domain/%5u/%n", &domid, &off) != 1)
		off = 0;
	if (!c->who.priv && len - (size_t)off > XENSTORE_REL_PATH_MAX)
		return false;
	return valid_chars(p);
}

/*
 * Canonical form of a client's path: relative paths are under /local/domain/<its domid>.
 * @special: "@..." event names are accepted (watches, permissions).
 */
int xs_canon(const struct xs_conn *c, const char *in, bool special, char **out)
{
	*out = NULL;
	if (in[0] == '@') {
		if (!special || strlen(in) > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		*out = strdup(in);
		return *out ? 0 : -ENOMEM;
	}
	if (in[0] == '/')
		*out = strdup(in);
	else if (asprintf(out, "/local/domain/%u/%s", c->who.domid, in) < 0)
		*out = NULL;
	if (!*out)
		return -ENOMEM;
	if (valid_path(c, *out))
		return 0;
	free(*out);
	*out = NULL;
	return -EINVAL;
}

static struct xs_ctx op_ctx(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r,
			    struct xs_changes *chg)
{
	return (struct xs_ctx){ .s = xs->store,
				.t = r->tx ? r->tx->t : NULL,
				.who = &c->who,
				.chg = r->tx ? NULL : chg };
}

/* ----------------------------------------------------------------------------------------- */
/* Node operations                                                                            */

/* Run a modifying operation on @path; fire its watches (now, or at commit) and ack. */
static int modify(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r,
		  const char *in_path,
		  int (*op)(const struct xs_ctx *, const char *, const void *, unsigned int),
		  const void *val, unsigned int len)
{
	struct xs_changes chg = { 0 };
	struct xs_ctx ctx = op_ctx(xs, c, r, &chg);
	char *path;
	int rc = xs_canon(c, in_path, false, &path);

	if (!rc)
		rc = op(&ctx, path, val, len);
	free(path);
	xs_fire_changes(xs, &chg);
	if (!rc)
		xs_conn_ack(c, r);
	return rc;
}

static int op_write(const struct xs_ctx *c, const char *p, const void *v, unsigned int len)
{
	return xs_op_write(c, p, v, len);
}

static int op_mkdir(const struct xs_ctx *c, const char *p, const void *v, unsigned int len)
{
	return xs_op_mkdir(c, p);
}

static int op_rm(const struct xs_ctx *c, const char *p, const void *v, unsigned int len)
{
	return xs_op_rm(c, p);
}

static int h_write(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	size_t plen = strnlen(r->body, r->hdr->len);

	if (plen == r->hdr->len)
		return -EINVAL;
	return modify(xs, c, r, r->body, op_write, r->body + plen + 1,
		      (unsigned int)(r->hdr->len - plen - 1));
}

static int h_mkdir(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *p = xs_onearg(r);

	return p ? modify(xs, c, r, p, op_mkdir, NULL, 0) : -EINVAL;
}

static int h_rm(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *p = xs_onearg(r);

	return p ? modify(xs, c, r, p, op_rm, NULL, 0) : -EINVAL;
}

/* Look up the node named by the request's first string, for reading. */
static int read_node(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r,
		     const char *in_path, const struct xs_node **out)
{
	struct xs_ctx ctx = op_ctx(xs, c, r, NULL);
	char *path;
	int rc;

	if (!in_path)
		return -EINVAL;
	rc = xs_canon(c, in_path, false, &path);
	if (!rc)
		rc = xs_op_get(&ctx, path, out);
	free(path);
	return rc;
}

static int h_read(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const struct xs_node *n;
	int rc = read_node(xs, c, r, xs_onearg(r), &n);

	if (!rc)
		xs_conn_reply(c, r, n->value ? n->value : "", n->len);
	return rc;
}

/* The children list as C xenstored stores it: each name NUL-terminated. */
static char *kids_blob(const struct xs_node *n, size_t *len)
{
	size_t total = 0, off = 0;
	char *b;

	for (unsigned int i = 0; i < n->nkids; i++)
		total += strlen(n->kids[i]) + 1;
	b = malloc(total + 1);
	for (unsigned int i = 0; b && i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]) + 1;

		memcpy(b + off, n->kids[i], l);
		off += l;
	}
	*len = total;
	return b;
}

static int h_directory(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const struct xs_node *n;
	size_t len;
	char *b;
	int rc = read_node(xs, c, r, xs_onearg(r), &n);

	if (rc)
		return rc;
	b = kids_blob(n, &len);
	if (!b)
		return -ENOMEM;
	if (len > XENSTORE_PAYLOAD_MAX)
		rc = -E2BIG; /* the client falls back to XS_DIRECTORY_PART */
	else
		xs_conn_reply(c, r, b, len);
	free(b);
	return rc;
}

/* XS_DIRECTORY_PART <path> <byte offset>: "<generation>\0" + as many names as fit. */
static int h_directory_part(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *v[2];
	const struct xs_node *n;
	unsigned long off;
	size_t len, genlen, take = 0, max;
	char gen[24], *b, *out;
	int rc;

	if (xs_get_strings(r, v, 2) != 2 || parse_uint(v[1], UINT32_MAX, &off))
		return -EINVAL;
	rc = read_node(xs, c, r, v[0], &n);
	b = rc ? NULL : kids_blob(n, &len);
	if (!b)
		return rc ? rc : -ENOMEM;
	genlen = (size_t)snprintf(gen, sizeof(gen), "%" PRIu64, n->gen) + 1;
	max = XENSTORE_PAYLOAD_MAX - genlen - 1;
	while (off < len && off + take < len) {
		size_t l = strlen(b + off + take) + 1;

		if (take + l > max)
			break;
		take += l;
	}
	out = malloc(genlen + take + 1);
	if (out) {
		memcpy(out, gen, genlen);
		if (take)
			memcpy(out + genlen, b + off, take);
		/* An empty string marks the end of the list. */
		out[genlen + take] = '\0';
		xs_conn_reply(c, r, out, genlen + take + (off >= len || off + take == len));
	}
	free(out);
	free(b);
	return out ? 0 : -ENOMEM;
}

static int reply_perms(struct xs_conn *c, const struct xs_req *r, const struct xs_perm *p,
		       unsigned int n)
{
	char *b = malloc((size_t)n * 16), *q = b;

	if (!b)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		q += xs_perm_format(&p[i], q) + 1;
	if (q - b > XENSTORE_PAYLOAD_MAX) {
		free(b);
		return -E2BIG;
	}
	xs_conn_reply(c, r, b, (size_t)(q - b));
	free(b);
	return 0;
}

static int h_get_perms(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *p = xs_onearg(r);
	const struct xs_node *n;
	int i, rc;

	if (p && p[0] == '@') {
		i = xs_special_index(p);
		if (i < 0)
			return -ENOENT;
		if (!xs_readable(&c->who, xs->special[i], xs->nspecial[i]))
			return -EACCES;
		return reply_perms(c, r, xs->special[i], xs->nspecial[i]);
	}
	rc = read_node(xs, c, r, p, &n);
	return rc ? rc : reply_perms(c, r, n->perms, n->nperms);
}

static int set_special_perms(struct xs_server *xs, struct xs_conn *c, const char *name,
			     const struct xs_perm *p, unsigned int n)
{
	const unsigned int need = XS_P_WRITE | XS_P_OWNER;
	int i = xs_special_index(name);

	if (i < 0)
		return -ENOENT;
	if ((xs_perm_for(&c->who, xs->special[i], xs->nspecial[i]) & need) != need)
		return -EACCES;
	memcpy(xs->special[i], p, n * sizeof(*p));
	xs->nspecial[i] = n;
	return 0;
}

static int op_set_perms(const struct xs_ctx *c, const char *p, const void *v, unsigned int n)
{
	return xs_op_set_perms(c, p, v, n);
}

static int h_set_perms(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *v[XS_MAX_PERMS + 2];
	struct xs_perm perms[XS_MAX_PERMS];
	unsigned int n = xs_get_strings(r, v, XS_MAX_PERMS + 2), i;
	int rc = 0;

	if (n < 2)
		return -EINVAL;
	if (n > XS_MAX_PERMS + 1)
		return -ENOSPC;
	for (i = 1; !rc && i < n; i++)
		rc = xs_perm_parse(v[i], &perms[i - 1]);
	if (rc)
		return rc;
	if (v[0][0] != '@')
		return modify(xs, c, r, v[0], op_set_perms, perms, n - 1);
	rc = set_special_perms(xs, c, v[0], perms, n - 1);
	if (!rc)
		xs_conn_ack(c, r);
	return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* Transactions                                                                               */

void xs_tx_remove(struct xs_conn *c, struct xs_tx *tx)
{
	for (struct xs_tx **pp = &c->txs; *pp; pp = &(*pp)->next) {
		if (*pp != tx)
			continue;
		*pp = tx->next;
		c->ntxs--;
		xs_txn_free(tx->t);
		free(tx);
		return;
	}
}

static bool tx_id_used(const struct xs_conn *c, uint32_t id)
{
	for (const struct xs_tx *t = c->txs; t; t = t->next)
		if (t->id == id)
			return true;
	return false;
}

static int h_txn_start(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	struct xs_tx *tx;
	char id[16];
	int rc;

	if (r->tx)
		return -EBUSY;
	if (c->ntxs >= XS_TXS_PER_CONN)
		return -ENOSPC;
	tx = calloc(1, sizeof(*tx));
	rc = tx ? xs_txn_new(&tx->t) : -ENOMEM;
	if (rc) {
		free(tx);
		return rc;
	}
	while (!c->next_tx || tx_id_used(c, c->next_tx))
		c->next_tx++;
	tx->id = c->next_tx++;
	tx->next = c->txs;
	c->txs = tx;
	c->ntxs++;
	xs->transactions++;
	xs_conn_reply(c, r, id, (size_t)snprintf(id, sizeof(id), "%u", tx->id) + 1);
	return 0;
}

static int h_txn_end(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r)
{
	const char *arg = xs_onearg(r);
	struct xs_changes chg = { 0 };
	int rc = 0;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return -EINVAL;
	if (!r->tx)
		return -ENOENT;
	if (!strcmp(arg, "T"))
		rc = xs_txn_commit(xs->store, r->tx->t, &chg);
	/* Committed, aborted or failed: the transaction is over either way. */
	xs_tx_remove(c, r->tx);
	xs_fire_changes(xs, &chg);
	if (!rc)
		xs_conn_ack(c, r);
	return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* Dispatch                                                                                   */

static const struct {
	xs_handler fn;
	int op; /* enum xensim_op for fault injection, or -1 */
} handlers[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { xs_h_control, -1 },
	[XS_DIRECTORY] = { h_directory, XENSIM_OP_XS_DIRECTORY },
	[XS_READ] = { h_read, XENSIM_OP_XS_READ },
	[XS_GET_PERMS] = { h_get_perms, -1 },
	[XS_WATCH] = { xs_h_watch, XENSIM_OP_XS_WATCH },
	[XS_UNWATCH] = { xs_h_unwatch, -1 },
	[XS_TRANSACTION_START] = { h_txn_start, XENSIM_OP_XS_TRANSACTION_START },
	[XS_TRANSACTION_END] = { h_txn_end, XENSIM_OP_XS_TRANSACTION_END },
	[XS_INTRODUCE] = { xs_h_introduce, -1 },
	[XS_RELEASE] = { xs_h_release, -1 },
	[XS_GET_DOMAIN_PATH] = { xs_h_get_domain_path, -1 },
	[XS_WRITE] = { h_write, XENSIM_OP_XS_WRITE },
	[XS_MKDIR] = { h_mkdir, XENSIM_OP_XS_MKDIR },
	[XS_RM] = { h_rm, XENSIM_OP_XS_RM },
	[XS_SET_PERMS] = { h_set_perms, -1 },
	[XS_IS_DOMAIN_INTRODUCED] = { xs_h_is_introduced, -1 },
	[XS_RESUME] = { xs_h_release, -1 },
	[XS_SET_TARGET] = { xs_h_set_target, -1 },
	[XS_RESET_WATCHES] = { xs_h_reset_watches, -1 },
	[XS_DIRECTORY_PART] = { h_directory_part, XENSIM_OP_XS_DIRECTORY },
};

static struct xs_tx *find_tx(struct xs_conn *c, uint32_t id)
{
	for (struct xs_tx *t = c->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

void xs_handle_request(struct xs_server *xs, struct xs_conn *c)
{
	struct xs_req r = { .hdr = &c->in.hdr, .body = c->in.raw + sizeof(struct xsd_sockmsg) };
	uint32_t type = r.hdr->type;
	int rc = 0;

	xs->ops++;
	if (type >= XS_TYPE_COUNT || !handlers[type].fn) {
		xs_conn_error(c, &r, EINVAL);
		return;
	}
	if (r.hdr->tx_id) {
		r.tx = find_tx(c, r.hdr->tx_id);
		if (!r.tx)
			rc = -ENOENT;
	}
	if (!rc && handlers[type].op >= 0)
		rc = -xs_fault_check(xs, (enum xensim_op)handlers[type].op);
	/* An injected failure of TRANSACTION_END ends the transaction, as a real EAGAIN does. */
	if (rc && r.tx && type == XS_TRANSACTION_END)
		xs_tx_remove(c, r.tx);
	if (!rc)
		rc = handlers[type].fn(xs, c, &r);
	if (rc)
		xs_conn_error(c, &r, -rc);
}
