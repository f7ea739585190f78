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

/* The interface vxen_vq_plain_mem_ops() returns. */
extern const struct vxen_vq_mem_ops vq_plain_ops;

#endif /* VXEN_VQ_PLAIN_H */
