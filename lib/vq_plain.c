/* SPDX-License-Identifier: MIT */
/*
 * lib/vq_plain.c — the plain-memory interface of vq.h: device addresses [base, base + size)
 * are host memory at host + (addr - base). Used by tests, the fuzzer, and devices whose guest
 * memory is already mapped. Every range is bounds-checked without overflow; nothing is held
 * between map and unmap.
 */
#include <errno.h>
#include <string.h>

#include <virtio-xen/vq.h>

#include "internal.h"
#include "vq_plain.h"

static int plain_read(void *payload, uint64_t addr, void *dst, size_t len)
{
	const void *src = vq_plain_translate(payload, addr, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

/* Add [p, p + len) to req->iov as pieces of at most max_seg bytes. */
static int add_iov(const struct vxen_vq_plain_mem *m, struct vxen_req *req, unsigned int *n,
		   char *p, uint64_t len)
{
	while (len) {
		uint64_t chunk = m->max_seg && len > m->max_seg ? m->max_seg : len;

		if (*n >= req->iov_cap)
			return -E2BIG;
		req->iov[*n].iov_base = p;
		req->iov[*n].iov_len = chunk;
		(*n)++;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

static int plain_map(void *payload, struct vxen_req *req)
{
	const struct vxen_vq_plain_mem *m = payload;
	int one = vq_plain_map_one(m, req);
	unsigned int n = 0;

	if (one != 1)
		return one; /* one buffer in one piece: the common case, without the loops */
	for (unsigned int i = 0; i < req->n_desc; i++) {
		const struct vxen_desc *d = &req->desc[i];
		char *p;
		int r;

		if (i == req->n_out_desc)
			req->n_out = n;
		/* Zero-length descriptors are never translated (addr may be anything, even 0). */
		if (d->len == 0)
			continue;
		p = vq_plain_translate(m, d->addr, d->len);
		if (!p)
			return -EFAULT;
		r = add_iov(m, req, &n, p, d->len);
		if (r)
			return r;
	}
	if (req->n_out_desc >= req->n_desc)
		req->n_out = n;
	req->n_in = n - req->n_out;
	return 0;
}

static void plain_unmap(void *payload, struct vxen_req *req, size_t written)
{
	(void)payload;
	(void)req;
	(void)written;
}

const struct vxen_vq_mem_ops vq_plain_ops = {
	.version = VXEN_VQ_MEM_OPS_VERSION,
	.read = plain_read,
	.map = plain_map,
	.unmap = plain_unmap,
};

VXEN_EXPORT const struct vxen_vq_mem_ops *vxen_vq_plain_mem_ops(void)
{
	return &vq_plain_ops;
}
