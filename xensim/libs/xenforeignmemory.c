/* SPDX-License-Identifier: MIT */
/*
 * xenforeignmemory.c — xensim's drop-in libxenforeignmemory.so.1.
 *
 * Foreign maps are one request to the machine (validation, per-page errors, counters) and
 * real mmap()s of the guest's RAM memfd, coalescing contiguous frames; pages that failed stay
 * inaccessible (PROT_NONE) where Linux's privcmd would fault them. Resources (the ioreq
 * server page, grant table frames) are memfds received from the machine and mmap()ed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenforeignmemory.h>

#include "dropin.h"

#define PAGE 4096u

struct xenforeignmemory_handle {
	struct hvc *c;
	pthread_mutex_t lock;
	struct ram_cache ram;
	struct dropin_restriction rs;
};

struct xenforeignmemory_resource_handle {
	uint64_t id;
	void *addr;
	size_t len;
};

DROPIN_EXPORT xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
							     unsigned open_flags)
{
	xenforeignmemory_handle *h = DROPIN_OPEN(xenforeignmemory_handle);

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

DROPIN_EXPORT int xenforeignmemory_close(xenforeignmemory_handle *h)
{
	if (!h)
		return 0;
	hvc_close(h->c);
	ram_cache_free(&h->ram);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

DROPIN_EXPORT int xenforeignmemory_restrict(xenforeignmemory_handle *h, domid_t domid)
{
	return dropin_restrict(&h->rs, domid);
}

static void *reserve(void *addr, size_t len, int flags)
{
	void *p = mmap(addr, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (flags & MAP_FIXED), -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int map_valid(int fd, uint8_t *base, const xen_pfn_t *arr, const int *err, size_t n,
		     int prot)
{
	size_t i = 0;

	while (i < n) {
		size_t k = 1;
		int rc;

		if (err[i]) {
			i++;
			continue;
		}
		while (i + k < n && !err[i + k] && arr[i + k] == arr[i] + k)
			k++;
		rc = map_run(base + i * PAGE, k * PAGE, prot, fd, (uint64_t)arr[i] * PAGE);
		if (rc)
			return rc;
		i += k;
	}
	return 0;
}

static int map_rpc(xenforeignmemory_handle *h, uint32_t dom, uint8_t *base, int prot, size_t pages,
		   const xen_pfn_t *arr, int *err, struct ram_entry **entry)
{
	struct hv_fmem_map q = { .vaddr = (uintptr_t)base,
				 .count = (uint32_t)pages,
				 .prot = (uint32_t)prot,
				 .dom = { .domid = dom,
					  .known_instance = ram_cache_known(&h->ram, dom) } };
	size_t rep_len = sizeof(struct hv_dom_info) + pages * sizeof(int32_t);
	uint8_t *rep = malloc(rep_len);
	struct iovec iov[2] = { { &q, sizeof(q) }, { (void *)arr, pages * sizeof(uint64_t) } };
	struct hvc_call call = {
		.op = HV_FMEM_MAP, .iov = iov, .niov = 2, .rep = rep, .rep_cap = rep_len
	};
	int rc;

	_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t), "xen_pfn_t is 64-bit");
	if (!rep)
		return -ENOMEM;
	rc = hvc_call(h->c, &call);
	if (rc >= 0 && call.rep_len != rep_len)
		rc = -EPROTO;
	for (int i = rc >= 0 ? 1 : 0; i < call.nfds; i++)
		close(call.fds[i]);
	if (rc >= 0) {
		*entry = ram_cache_update(&h->ram, dom, (void *)rep, call.nfds ? call.fds[0] : -1);
		memcpy(err, rep + sizeof(struct hv_dom_info), pages * sizeof(int32_t));
		rc = *entry ? 0 : -EIO;
	}
	free(rep);
	return rc;
}

static void *map_locked(xenforeignmemory_handle *h, uint32_t dom, void *addr, int prot, int flags,
			size_t pages, const xen_pfn_t arr[], int err[])
{
	size_t len = pages * PAGE;
	uint8_t *base = reserve(addr, len, flags);
	struct ram_entry *e = NULL;
	int rc;

	if (!base)
		return NULL;
	rc = map_rpc(h, dom, base, prot, pages, arr, err, &e);
	if (!rc) {
		rc = map_valid(e->fd, base, arr, err, pages, prot);
		if (rc) {
			struct hv_fmem_unmap u = { .vaddr = (uintptr_t)base, .count = pages };

			hvc_simple(h->c, HV_FMEM_UNMAP, &u, sizeof(u), NULL, 0);
		}
	}
	if (rc) {
		munmap(base, len);
		errno = -rc;
		return NULL;
	}
	return base;
}

DROPIN_EXPORT void *xenforeignmemory_map2(xenforeignmemory_handle *h, uint32_t dom, void *addr,
					  int prot, int flags, size_t pages, const xen_pfn_t arr[],
					  int err[])
{
	int *own = NULL, saved;
	void *p;
	size_t i;

	if (dropin_forbidden(&h->rs, dom)) {
		errno = EPERM;
		return NULL;
	}
	if (!pages || pages > UINT32_MAX / PAGE) {
		errno = EINVAL;
		return NULL;
	}
	if (!err && !(err = own = calloc(pages, sizeof(*err))))
		return NULL;
	pthread_mutex_lock(&h->lock);
	p = map_locked(h, dom, addr, prot, flags, pages, arr, err);
	pthread_mutex_unlock(&h->lock);
	/* Without an err array any failed page fails the call (libxenforeignmemory core.c). */
	for (i = 0; p && own && i < pages; i++) {
		if (own[i]) {
			saved = -own[i];
			xenforeignmemory_unmap(h, p, pages);
			p = NULL;
			errno = saved;
		}
	}
	saved = errno;
	free(own);
	errno = saved;
	return p;
}

DROPIN_EXPORT void *xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom, int prot,
					 size_t pages, const xen_pfn_t arr[], int err[])
{
	return xenforeignmemory_map2(h, dom, NULL, prot, 0, pages, arr, err);
}

DROPIN_EXPORT int xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr, size_t pages)
{
	struct hv_fmem_unmap u = { .vaddr = (uintptr_t)addr, .count = pages };

	hvc_simple(h->c, HV_FMEM_UNMAP, &u, sizeof(u), NULL, 0);
	return munmap(addr, pages * PAGE);
}

DROPIN_EXPORT xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *h, domid_t domid, unsigned int type,
			      unsigned int id, unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	struct hv_res_req q = { .domid = domid,
				.type = type,
				.id = id,
				.prot = (uint32_t)prot,
				.frame = frame,
				.nr = nr_frames };
	struct iovec iov = { &q, sizeof(q) };
	struct hv_res_rep rep;
	struct hvc_call call = { .op = HV_FMEM_MAP_RESOURCE,
				 .iov = &iov,
				 .niov = 1,
				 .rep = &rep,
				 .rep_cap = sizeof(rep) };
	xenforeignmemory_resource_handle *res;
	void *p = MAP_FAILED;
	int rc;

	if (dropin_forbidden(&h->rs, domid))
		return errno = EPERM, NULL;
	rc = hvc_call(h->c, &call);
	if (rc >= 0 && (call.nfds != 1 || call.rep_len != sizeof(rep)))
		rc = -EPROTO;
	if (rc >= 0) {
		p = mmap(paddr ? *paddr : NULL, nr_frames * PAGE, prot, MAP_SHARED | flags,
			 call.fds[0], (off_t)rep.offset);
		rc = p == MAP_FAILED ? -errno : 0;
	}
	while (call.nfds)
		close(call.fds[--call.nfds]);
	res = rc ? NULL : calloc(1, sizeof(*res));
	if (!res) {
		if (rc >= 0) {
			rc = -ENOMEM;
			munmap(p, nr_frames * PAGE);
		}
		if (call.rep_len == sizeof(rep) && rep.res_id)
			hvc_simple(h->c, HV_FMEM_UNMAP_RESOURCE, &rep.res_id, sizeof(rep.res_id),
				   NULL, 0);
		errno = -rc;
		return NULL;
	}
	res->id = rep.res_id;
	res->addr = p;
	res->len = nr_frames * PAGE;
	if (paddr)
		*paddr = p;
	return res;
}

DROPIN_EXPORT int xenforeignmemory_unmap_resource(xenforeignmemory_handle *h,
						  xenforeignmemory_resource_handle *res)
{
	int rc;

	if (!res)
		return 0;
	rc = munmap(res->addr, res->len);
	hvc_simple(h->c, HV_FMEM_UNMAP_RESOURCE, &res->id, sizeof(res->id), NULL, 0);
	free(res);
	return rc;
}

DROPIN_EXPORT int xenforeignmemory_resource_size(xenforeignmemory_handle *h, domid_t domid,
						 unsigned int type, unsigned int id, size_t *size)
{
	struct hv_res_req q = { .domid = domid, .type = type, .id = id };
	uint64_t out = 0;
	int rc = hvc_simple(h->c, HV_FMEM_RESOURCE_SIZE, &q, sizeof(q), &out, sizeof(out));

	if (rc < 0)
		return dropin_ret(rc);
	*size = (size_t)out;
	return 0;
}
