/* SPDX-License-Identifier: MIT */
/*
 * lib/vq_ring.h — split virtqueue layout (virtio 1.2 §2.7) and the notification arithmetic.
 * Internal to the library; unit tests include it to lay out rings like a driver would.
 *
 * All ring fields are little-endian. Offsets, for a queue of size Q:
 *	desc   16*Q:      Q x { le64 addr; le32 len; le16 flags; le16 next; }
 *	avail  4+2*Q (+2): le16 flags; le16 idx; le16 ring[Q]; le16 used_event (EVENT_IDX)
 *	used   4+8*Q (+2): le16 flags; le16 idx; { le32 id; le32 len; } ring[Q]; le16 avail_event
 * (the spec's 6+2*Q and 6+8*Q count the EVENT_IDX trailer always).
 */
#ifndef VXEN_VQ_RING_H
#define VXEN_VQ_RING_H

#include <stdbool.h>
#include <stdint.h>

#define VXEN_VRING_DESC_F_NEXT	   1u
#define VXEN_VRING_DESC_F_WRITE	   2u
#define VXEN_VRING_DESC_F_INDIRECT 4u

#define VXEN_VRING_AVAIL_F_NO_INTERRUPT 1u
#define VXEN_VRING_USED_F_NO_NOTIFY	1u

#define VXEN_VRING_DESC_SIZE 16u

/* Byte sizes of the three areas (with the EVENT_IDX trailers when @event_idx). */
static inline uint64_t vxen_vring_desc_bytes(uint32_t q)
{
	return 16ull * q;
}

static inline uint64_t vxen_vring_avail_bytes(uint32_t q, bool event_idx)
{
	return 4ull + 2ull * q + (event_idx ? 2 : 0);
}

static inline uint64_t vxen_vring_used_bytes(uint32_t q, bool event_idx)
{
	return 4ull + 8ull * q + (event_idx ? 2 : 0);
}

/*
 * vxen_vring_need_event() - true when moving an index from @old to @new_idx crosses @event,
 * i.e. @event is one of old, old+1, ..., new_idx-1 (mod 2^16). The same test as the virtio
 * spec's vring_need_event(); correct for any 16-bit values as long as fewer than 2^16 entries
 * separate @old and @new_idx.
 */
static inline bool vxen_vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif /* VXEN_VQ_RING_H */
