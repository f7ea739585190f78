/* SPDX-License-Identifier: MIT */
/*
 * dropin.h — helpers for xensim's drop-in Xen libraries (libs/<name>.c). Internal to xensim.
 *
 * Conventions of the real libraries are kept: failures return NULL or -1 with errno set;
 * close(NULL) returns 0; the logger argument is accepted and ignored.
 */
#ifndef XENSIM_DROPIN_H
#define XENSIM_DROPIN_H

#include <errno.h>
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

#endif /* XENSIM_DROPIN_H */
