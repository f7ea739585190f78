// SPDX-License-Identifier: MIT
/*
 * virtio_ring_raw.c — raw access to a queue's ring memory for hostile-guest tests: whatever a
 * test writes here reaches the device verbatim, bypassing the driver's bookkeeping.
 */
#include <endian.h>
#include <errno.h>

#include "virtio_internal.h"

int xensim_vq_raw(xensim_vq *vq, struct xensim_vq_raw *out)
{
	if (!vq || !out)
		return -EINVAL;
	*out = (struct xensim_vq_raw){
		.num = vq->num,
		.desc = vq->desc,
		.avail = vq->avail,
		.used = vq->used,
		.used_ring = vq->used_elems,
		.avail_event = vq->avail_event,
		.desc_dma = vq->ring_dma,
		.avail_dma = vq->ring_dma + 16u * vq->num,
		.used_dma = vq->ring_dma + vq->used_off,
		.ring_gpa = vq->ring_gpa,
		.ring_bytes = vq->ring_bytes,
	};
	return 0;
}

int xensim_vq_raw_set_desc(xensim_vq *vq, unsigned int i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	if (!vq || i >= vq->num)
		return -EINVAL;
	vring_write_desc(
		&vq->desc[i],
		&(struct desc_extra){ .dma = addr, .len = len, .flags = flags, .next = next });
	return 0;
}

void xensim_vq_raw_set_avail(xensim_vq *vq, uint16_t slot, uint16_t head)
{
	RING_STORE(&vq->avail[2 + (slot & (vq->num - 1))], htole16(head));
}

void xensim_vq_raw_set_avail_idx(xensim_vq *vq, uint16_t idx)
{
	/* Entries written before must be visible first; pairs with the device's read barrier. */
	virtio_wmb();
	RING_STORE(&vq->avail[1], htole16(idx));
}

uint16_t xensim_vq_raw_avail_idx(xensim_vq *vq)
{
	return le16toh(RING_LOAD(&vq->avail[1]));
}

void xensim_vq_raw_set_avail_flags(xensim_vq *vq, uint16_t flags)
{
	RING_STORE(&vq->avail[0], htole16(flags));
}

void xensim_vq_raw_set_used_event(xensim_vq *vq, uint16_t val)
{
	RING_STORE(&vq->avail[2 + vq->num], htole16(val));
}
