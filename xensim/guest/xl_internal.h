/* SPDX-License-Identifier: MIT */
/*
 * xl_internal.h — the simulated toolstack's hooks for the rest of libxensim.
 *
 * xensim_domain_create()/xensim_domain_destroy() call these so that xenstore carries what libxl
 * writes when it builds or tears down a domain. Each call opens its own short-lived xenstore
 * connection (as dom0) to $XENSTORED_PATH, so it may be called from any thread, including the
 * machine's own threads, but never from the xenstored thread itself.
 */
#ifndef XENSIM_XL_INTERNAL_H
#define XENSIM_XL_INTERNAL_H

#include <stdint.h>

/**
 * xensim__xl_domain_created() - write what libxl__domain_make writes for a new domain, in one
 * transaction (retried on EAGAIN): /local/domain/<id> (owner dom0, readable by <id>), its
 * "device" directory (same permissions), "name" (if @name is not NULL) and "domid" (inheriting
 * them), and /libxl/<id> (dom0 only).
 * Returns 0, or -errno (-ENOENT: no xenstored reachable at $XENSTORED_PATH).
 * Does not log.
 */
int xensim__xl_domain_created(uint32_t domid, const char *name);

/**
 * xensim__xl_domain_destroyed() - remove /local/domain/<id> and /libxl/<id>, as libxl does after
 * its device teardown. Nodes that are already gone are fine. Returns 0 or -errno. Does not log.
 */
int xensim__xl_domain_destroyed(uint32_t domid);

#endif /* XENSIM_XL_INTERNAL_H */
