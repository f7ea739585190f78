/* SPDX-License-Identifier: MIT */
/*
 * xs_server.h — xensim's xenstored: the real xenstore wire protocol (xen/io/xs_wire.h) over a
 * unix socket, so both real libxenstore and xensim's drop-in libxenstore talk to it.
 * Internal to xensim; the hypervisor model uses this to start it, read its counters, arm its
 * faults and tell it when a domain dies.
 */
#ifndef XENSIM_XS_SERVER_H
#define XENSIM_XS_SERVER_H

#include <stdint.h>

#include "xensim.h"

struct xs_server;

/*
 * Start serving on a new unix socket at @path, in a thread of its own. Every connection acts as
 * domain 0 unless it first sends XS_CONTROL "set-domid <n>" (xensim extension, used by
 * $XENSIM_DOMID clients). Returns 0 or -errno.
 */
int xs_server_start(struct xs_server **out, const char *path);
void xs_server_stop(struct xs_server *xs);

/* Fill the xs_* fields of @c (other fields untouched). Thread-safe. */
void xs_server_counters(struct xs_server *xs, struct xensim_counters *c);
void xs_server_counters_reset(struct xs_server *xs);

/* Arm a fault for one of the XENSIM_OP_XS_* ops (see xensim_fault_inject()). Thread-safe. */
int xs_server_fault(struct xs_server *xs, enum xensim_op op, unsigned int nth, int err);
void xs_server_fault_clear(struct xs_server *xs);

/* A domain was created / destroyed: fire @introduceDomain / @releaseDomain watches. Thread-safe. */
void xs_server_domain_event(struct xs_server *xs, uint32_t domid, int created);

#endif /* XENSIM_XS_SERVER_H */
