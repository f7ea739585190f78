/* SPDX-License-Identifier: MIT */
/*
 * xs_daemon.h — xensim xenstored internals shared by xs_server.c (sockets, connections,
 * counters, faults), xs_ops.c (decoding, node requests, transactions), xs_watch.c and
 * xs_domain.c. Everything here runs on the xenstored thread with xs->lock held, unless noted.
 */
#ifndef XENSIM_XS_DAEMON_H
#define XENSIM_XS_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "xs_server.h"
#include "xs_store.h"

#define XS_MAX_CONNS	  1024u
#define XS_WATCHES_UNPRIV 128u	       /* C xenstored's default watch quota */
#define XS_WATCHES_PRIV	  8192u	       /* dom0 has no quota in C xenstored; we keep a sane bound */
#define XS_TXS_PER_CONN	  10u	       /* C xenstored's default transaction quota */
#define XS_OUT_PAUSE	  (64u * 1024) /* stop reading requests while this much output waits */
#define XS_OUT_MAX	  (1024u * 1024) /* drop a client that lets this much output pile up */
#define XS_MSGS_PER_ROUND 64u		 /* requests handled per client per poll round (fairness) */
#define XS_MAX_FAULTS	  64u
#define XS_MAX_DOMAINS	  4096u

struct xs_watch {
	struct xs_watch *next;
	char *path; /* canonical path, or "@introduceDomain"/"@releaseDomain"/"@..." */
	char *token;
	bool relative; /* registered relative: events carry paths relative to the domain dir */
};

struct xs_tx {
	struct xs_tx *next;
	uint32_t id;
	struct xs_txn *t;
};

struct xs_out {
	struct xs_out *next;
	size_t len, off;
	char data[];
};

struct xs_conn {
	struct xs_conn *next;
	int fd;
	unsigned int id;
	struct xs_who who;
	/* Request being received: header then payload. */
	union {
		struct xsd_sockmsg hdr;
		char raw[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX + 1];
	} in;
	size_t in_len;
	struct xs_out *out_head, **out_tail;
	size_t out_bytes;
	struct xs_watch *watches;
	unsigned int nwatches;
	struct xs_tx *txs;
	unsigned int ntxs;
	uint32_t next_tx;
	bool dead;
};

struct xs_domain {
	uint32_t domid;
	uint32_t target; /* XS_NO_TARGET */
	bool introduced;
};

struct xs_fault {
	enum xensim_op op;
	uint64_t at; /* fires on this call number of op */
	int err;
};

struct xs_server {
	pthread_t thread;
	pthread_mutex_t lock;
	int lfd;
	int wake[2];
	char *path;
	bool stop;
	bool accept_backoff; /* accept() ran out of descriptors: retry after a pause */
	struct xs_store *store;
	struct xs_conn *conns;
	unsigned int nconns, next_conn_id;
	struct xs_domain *doms;
	unsigned int ndoms;
	struct xs_perm special[2][XS_MAX_PERMS]; /* @introduceDomain, @releaseDomain */
	unsigned int nspecial[2];
	/* counters (cumulative; watches_live is summed on demand) */
	uint64_t ops, transactions, watch_events;
	/* fault injection */
	uint64_t calls[XENSIM_OP_COUNT];
	struct xs_fault faults[XS_MAX_FAULTS];
	unsigned int nfaults;
};

/* One decoded request. */
struct xs_req {
	const struct xsd_sockmsg *hdr;
	const char *body; /* hdr->len bytes, followed by a NUL we added */
	struct xs_tx *tx; /* the transaction named by hdr->tx_id, or NULL */
};

/* xs_server.c */
/* Queue a message on @c (payload = the @n pieces). Marks @c dead if its queue overflows. */
void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *const *data, const size_t *len, unsigned int n);
void xs_conn_reply(struct xs_conn *c, const struct xs_req *r, const void *data, size_t len);
void xs_conn_ack(struct xs_conn *c, const struct xs_req *r);
void xs_conn_error(struct xs_conn *c, const struct xs_req *r, int err);
/* The errno for a fault armed on the call now being made to @op, or 0. Counts the call. */
int xs_fault_check(struct xs_server *xs, enum xensim_op op);
struct xs_domain *xs_domain_get(struct xs_server *xs, uint32_t domid, bool create);

typedef int (*xs_handler)(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);

/* xs_ops.c: decoding and dispatch */
void xs_handle_request(struct xs_server *xs, struct xs_conn *c);
/* Split the payload into up to @max NUL-terminated strings; returns how many there are. */
unsigned int xs_get_strings(const struct xs_req *r, const char **v, unsigned int max);
/* The single string argument, or NULL unless the payload is exactly one string. */
const char *xs_onearg(const struct xs_req *r);
int xs_parse_domid(const char *s, uint32_t *out);
/* Canonical absolute path (relative ones are under the caller's domain dir), validated as C
 * xenstored does; @special admits "@..." names. *out is malloc'ed (NULL on error). */
int xs_canon(const struct xs_conn *c, const char *in, bool special, char **out);
void xs_tx_remove(struct xs_conn *c, struct xs_tx *tx);

/* xs_watch.c */
int xs_h_watch(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_unwatch(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
/* Send the events for @chg to every watcher allowed to see them; empties @chg. */
void xs_fire_changes(struct xs_server *xs, struct xs_changes *chg);
void xs_fire_special(struct xs_server *xs, const char *name);
/* 0 for @introduceDomain, 1 for @releaseDomain, -1 otherwise. */
int xs_special_index(const char *name);
bool xs_readable(const struct xs_who *who, const struct xs_perm *p, unsigned int n);
void xs_watch_free(struct xs_watch *w);

/* xs_domain.c */
int xs_h_get_domain_path(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_introduce(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_release(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_is_introduced(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_set_target(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_control(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
int xs_h_reset_watches(struct xs_server *xs, struct xs_conn *c, const struct xs_req *r);
/* Forget @c's watches and transactions (XS_RESET_WATCHES, hang-up). */
void xs_conn_drop_state(struct xs_server *xs, struct xs_conn *c);

#endif /* XENSIM_XS_DAEMON_H */
