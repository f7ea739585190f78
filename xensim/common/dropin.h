/* SPDX-License-Identifier: MIT */
/*
 * dropin.h — helpers for xensim's drop-in Xen libraries (libs/<name>.c). Internal to xensim.
 *
 * Conventions of the real libraries are kept: failures return NULL or -1 with errno set;
 * close(NULL) returns 0; the logger argument of open() is accepted and ignored.
 */
#ifndef XENSIM_DROPIN_H
#define XENSIM_DROPIN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "hv_client.h"

#define DROPIN_EXPORT __attribute__((visibility("default")))

/* Return -1 with errno from a 0/-errno result; 0 passes. */
static inline int dropin_ret(int rc)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

/* Connect as $XENSIM_DOMID; NULL with errno on failure (ENOENT: no machine). */
static inline struct hvc *dropin_connect(void)
{
	struct hvc *c;
	int rc;

	/* Grant and foreign mappings are made of 4 KiB pages of guest RAM memfds. */
	if (sysconf(_SC_PAGESIZE) != 4096) {
		errno = ENOSYS;
		return NULL;
	}
	rc = hvc_open(&c, NULL, HVC_DOMID_ENV);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return c;
}

/*
 * dropin_open() - a zeroed handle of @size bytes whose struct hvc * member at @conn_off is
 * connected with dropin_connect(); NULL with errno on failure. Use DROPIN_OPEN(type): the
 * handle type's connection member is named c.
 */
static inline void *dropin_open(size_t size, size_t conn_off)
{
	char *h = calloc(1, size);
	struct hvc *c;
	int err;

	if (!h)
		return NULL;
	c = dropin_connect();
	if (!c) {
		err = errno;
		free(h);
		errno = err;
		return NULL;
	}
	*(struct hvc **)(h + conn_off) = c;
	return h;
}
#define DROPIN_OPEN(type) ((type *)dropin_open(sizeof(type), offsetof(type, c)))

/* xendevicemodel_restrict()/xenforeignmemory_restrict(), kept locally as privcmd keeps it:
 * once set, operations on any other domain fail with EPERM. */
struct dropin_restriction {
	bool on;
	uint32_t domid;
};

static inline int dropin_restrict(struct dropin_restriction *r, uint32_t domid)
{
	r->on = true;
	r->domid = domid;
	return 0;
}

/* Whether @r forbids an operation on @domid. */
static inline bool dropin_forbidden(const struct dropin_restriction *r, uint32_t domid)
{
	return r->on && domid != r->domid;
}

#endif /* XENSIM_DROPIN_H */
