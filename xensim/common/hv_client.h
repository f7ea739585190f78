/* SPDX-License-Identifier: MIT */
/*
 * hv_client.h — client side of the hypervisor protocol (hv_proto.h), shared by the drop-in Xen
 * libraries and libxensim. Internal to xensim.
 */
#ifndef XENSIM_HV_CLIENT_H
#define XENSIM_HV_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hv_proto.h"

/* @domid for hvc_open(): act as $XENSIM_DOMID (0 when unset). */
#define HVC_DOMID_ENV UINT32_MAX

struct hvc {
	int fd;
	uint32_t domid;
	pthread_mutex_t lock; /* one call in flight per connection */
};

/* One round trip. Fill op/iov/niov/rep/rep_cap; on return rep_len and fds/nfds are set. */
struct hvc_call {
	uint32_t op;
	const struct iovec *iov;
	int niov;
	void *rep;
	size_t rep_cap;
	size_t rep_len;
	int fds[HV_MAX_FDS];
	int nfds;
};

/**
 * hvc_open() - connect to the machine at @path (NULL: $XENSIM_SOCKET) acting as @domid.
 * Returns 0 or -errno: -ENOENT when there is no machine, -EPROTO on a version mismatch.
 */
int hvc_open(struct hvc **out, const char *path, uint32_t domid);

/** hvc_close() - close the connection; the machine releases what it owned. NULL is fine. */
void hvc_close(struct hvc *c);

/**
 * hvc_call() - send one request and wait for its reply. Thread-safe (serialised).
 * Returns the reply's rc (>= 0) or -errno; transport failures give -EPIPE/-ECONNRESET/-EPROTO.
 * Received descriptors belong to the caller, even when rc < 0.
 */
int hvc_call(struct hvc *c, struct hvc_call *call);

/** hvc_simple() - hvc_call() with one request buffer, a fixed-size reply and no fds. */
int hvc_simple(struct hvc *c, uint32_t op, const void *req, size_t len, void *rep, size_t cap);

/** The identity from $XENSIM_DOMID (0 when unset or invalid). */
uint32_t hvc_env_domid(void);

/*
 * Per-handle cache of guest RAM memfds, so a domain's RAM fd crosses the socket once per
 * handle (and again only if the domain is re-created). Not thread-safe: the owner locks.
 */
struct ram_entry {
	uint32_t domid;
	int fd;
	uint64_t instance;
	uint64_t size;
	void *map; /* whole RAM mapped read-write, lazily (grant copy) */
};

struct ram_cache {
	struct ram_entry *v;
	unsigned int n;
};

/** Instance of @domid's RAM the cache holds, 0 if none. */
uint64_t ram_cache_known(const struct ram_cache *rc, uint32_t domid);

/**
 * ram_cache_update() - record what the machine said about @domid. @fd is the fd received for
 * it, or -1 when the cached instance is still current. Takes ownership of @fd.
 * Returns the entry or NULL (domain unknown / no memory).
 */
struct ram_entry *ram_cache_update(struct ram_cache *rc, uint32_t domid,
				   const struct hv_dom_info *info, int fd);

/** ram_cache_find() - the entry of @domid, or NULL. */
struct ram_entry *ram_cache_find(struct ram_cache *rc, uint32_t domid);

/** ram_cache_map() - the whole RAM of @e mapped read-write, or NULL with errno. */
void *ram_cache_map(struct ram_entry *e);

void ram_cache_free(struct ram_cache *rc);

/**
 * va_reserve() - reserve @len bytes of address space (PROT_NONE), or NULL with errno.
 * map_run() - map @len bytes of @fd at @off over [addr, addr+len) with @prot (MAP_FIXED).
 */
void *va_reserve(size_t len);
int map_run(void *addr, size_t len, int prot, int fd, uint64_t off);

#endif /* XENSIM_HV_CLIENT_H */
