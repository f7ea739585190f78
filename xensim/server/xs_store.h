/* SPDX-License-Identifier: MIT */
/*
 * xs_store.h — xensim xenstored's node database: the tree, permissions, and transactions with
 * C xenstored's semantics (generation counts; a transaction keeps private copies of the nodes it
 * changes and fails with EAGAIN at commit if any node it read or wrote changed meanwhile).
 *
 * No I/O and no locking here: the xenstored thread owns the store. Paths handed in are already
 * canonical and valid (absolute, no "//", no trailing '/', valid characters).
 */
#ifndef XENSIM_XS_STORE_H
#define XENSIM_XS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#define XS_P_NONE  0x0u
#define XS_P_READ  0x1u
#define XS_P_WRITE 0x2u
#define XS_P_OWNER 0x8u

#define XS_NO_TARGET	    UINT32_MAX
#define XS_STORE_MAX_NODES  65536u /* whole store: more gives ENOSPC */
#define XS_TXN_MAX_ENTRIES  8192u  /* nodes one transaction may touch */
#define XS_MAX_PERMS	    64u	   /* entries in one node's permission list */
#define XS_MAX_PERMS_UNPRIV 5u	   /* C xenstored's quota for unprivileged domains */

struct xs_perm {
	uint32_t id;
	uint32_t perms; /* XS_P_READ | XS_P_WRITE */
};

/* Who is asking: a connection's identity. */
struct xs_who {
	uint32_t domid;
	uint32_t target; /* XS_NO_TARGET, or the domain this one may act for (XS_SET_TARGET) */
	bool priv;	 /* dom0: every permission */
};

struct xs_node {
	char *path;
	char *value;
	unsigned int len;
	struct xs_perm *perms; /* perms[0]: owner and everyone else's access; then the ACL */
	unsigned int nperms;
	char **kids; /* child names, in creation order */
	unsigned int nkids, kcap;
	uint64_t gen; /* changes whenever value, perms or kids change; 0 never used */
	bool deleted; /* transaction copy: removed in this transaction */
};

/* One node change, for watch firing. */
struct xs_change {
	char *path;
	bool exact;	       /* fire only watches on exactly @path (children of a removed node) */
	struct xs_perm *perms; /* the node's permissions before the change, or NULL */
	unsigned int nperms;
};

struct xs_changes {
	struct xs_change *v;
	unsigned int n, cap;
};

struct xs_store;
struct xs_txn;

/* One operation's context: the store, the transaction (or NULL), the caller, the change sink. */
struct xs_ctx {
	struct xs_store *s;
	struct xs_txn *t;
	const struct xs_who *who;
	struct xs_changes *chg; /* NULL: the transaction's own list */
};

/** Create a store holding C xenstored's initial tree plus dom0's name/domid. 0 or -ENOMEM. */
int xs_store_new(struct xs_store **out);
void xs_store_free(struct xs_store *s);

/** Number of live nodes. */
unsigned int xs_store_count(const struct xs_store *s);

/** Live node at @path (outside any transaction), or NULL. Lent until the next change. */
const struct xs_node *xs_store_lookup(struct xs_store *s, const char *path);

/** What @who may do with a node carrying @p: XS_P_* bits. */
unsigned int xs_perm_for(const struct xs_who *who, const struct xs_perm *p, unsigned int n);

/*
 * The operations. Each returns 0 or -errno exactly as C xenstored answers: -ENOENT, -EACCES
 * (which hides ENOENT when the nearest existing ancestor does not grant the access), -EINVAL,
 * -EPERM, -ENOSPC, -ENOMEM. Changes are appended to ctx->chg (or the transaction's list).
 */
/* Node for reading (value, perms, kids); lent until the next change. */
int xs_op_get(const struct xs_ctx *c, const char *path, const struct xs_node **out);
int xs_op_write(const struct xs_ctx *c, const char *path, const void *val, unsigned int len);
int xs_op_mkdir(const struct xs_ctx *c, const char *path);
int xs_op_rm(const struct xs_ctx *c, const char *path);
int xs_op_set_perms(const struct xs_ctx *c, const char *path, const struct xs_perm *p,
		    unsigned int n);

/** Start a transaction (no store access happens until operations use it). */
int xs_txn_new(struct xs_txn **out);

/**
 * xs_txn_commit() - apply @t to the store if nothing it touched changed since; the changes to
 * fire are appended to @fire. Returns 0, -EAGAIN (conflict; nothing applied), -ENOSPC, -ENOMEM.
 * @t is left for the caller to free either way.
 */
int xs_txn_commit(struct xs_store *s, struct xs_txn *t, struct xs_changes *fire);
void xs_txn_free(struct xs_txn *t);

void xs_changes_clear(struct xs_changes *c);

/** Parse one "<r|w|b|n><domid>" permission string. 0 or -EINVAL. */
int xs_perm_parse(const char *s, struct xs_perm *out);
/** Format one permission into @buf (at least 16 bytes); returns the length without NUL. */
int xs_perm_format(const struct xs_perm *p, char *buf);

#endif /* XENSIM_XS_STORE_H */
