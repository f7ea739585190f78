/* SPDX-License-Identifier: MIT */
/*
 * lib/vq_plain.h — the plain-memory interface's translation, shared by lib/vq_plain.c and the
 * walker in lib/vq.c, which inlines it for one-buffer chains on plain memory (no call through
 * the interface). Not installed.
 */
#ifndef VXEN_VQ_PLAIN_H
#define VXEN_VQ_PLAIN_H

#include <stddef.h>
#include <stdint.h>

#include <virtio-xen/vq.h>

/* Host address of [addr, addr + len) or NULL when any byte of it lies outside the memory. */
static inline void *vq_plain_translate(const struct vxen_vq_plain_mem *m, uint64_t addr,
				       uint64_t len)
{
	uint64_t off;

	if (addr < m->base)
		return NULL;
	off = addr - m->base;
	if (off > m->size || len > m->size - off)
		return NULL;
	return (char *)m->host + off;
}

/*
 * map() of the plain-memory interface for its common case, one non-empty buffer in one piece:
 * 0, -EFAULT (outside the memory), or 1 when @req is not that case (use the general map()).
 */
static inline int vq_plain_map_one(const struct vxen_vq_plain_mem *m, struct vxen_req *req)
{
	void *p;

	if (req->n_desc != 1 || m->max_seg || !req->desc[0].len || !req->iov_cap)
		return 1;
	p = vq_plain_translate(m, req->desc[0].addr, req->desc[0].len);
	if (!p)
		return -EFAULT;
	req->iov[0] = (struct iovec){ p, req->desc[0].len };
	req->n_out = req->n_out_desc;
	req->n_in = 1 - req->n_out_desc;
	return 0;
}

/* The interface vxen_vq_plain_mem_ops() returns. */
extern const struct vxen_vq_mem_ops vq_plain_ops;

#endif /* VXEN_VQ_PLAIN_H */
