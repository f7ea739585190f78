/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/helper_vq.h — a tiny split-ring *driver* for vq tests: lays out the desc table,
 * avail and used rings and a data area in one plain buffer, and adds chains like a guest.
 *
 * Guest device addresses start at TVQ_BASE (so address 0 is never valid memory). The queue under
 * test uses counting memory ops wrapping vxen_vq_plain_mem_ops(): every read/map/unmap is
 * counted, and a map can be made to fail, so tests can assert "nothing mapped" exactly.
 */
#ifndef TESTS_HELPER_VQ_H
#define TESTS_HELPER_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>

#include "vq_ring.h"

#define TVQ_BASE	0x10000000ull
#define TVQ_F_INDIRECT	(1ull << VXEN_F_INDIRECT_DESC)
#define TVQ_F_EVENT_IDX (1ull << VXEN_F_EVENT_IDX)

/* Memory interface that counts and can fail: wraps the plain one. */
struct tvq_mem {
	struct vxen_vq_plain_mem plain;
	unsigned int reads, map_calls, maps, unmaps; /* maps: successful ones */
	unsigned int mapped_now;		     /* maps minus unmaps */
	size_t last_written;			     /* @written of the last unmap */
	int fail_map;				     /* if non-zero, map returns this */
	int fail_read;				     /* if non-zero, read returns this */
	/* Called inside map before translating: lets a test play a guest racing the device. */
	void (*on_map)(struct vxen_req *req, void *arg);
	void *on_map_arg;
};

struct tvq {
	uint32_t size;
	uint64_t features;
	uint8_t *mem; /* host view of [TVQ_BASE, TVQ_BASE + mem_size) */
	size_t mem_size;
	size_t desc_off, avail_off, used_off, data_off;
	size_t data_next;   /* bump allocator inside the data area */
	uint16_t avail_idx; /* the driver's shadow of avail.idx */
	uint16_t next_desc; /* next free descriptor for tvq_add() */
	struct tvq_mem tm;
	struct vxen_vq_mem_ops ops;
	vxen_vq *vq;
};

/* A request with room for @TVQ_REQ_CAP descriptors and iov entries. */
#define TVQ_REQ_CAP 1024
struct tvq_req {
	struct vxen_req req;
	struct vxen_desc desc[TVQ_REQ_CAP];
	struct iovec iov[TVQ_REQ_CAP];
};

/* Create a ring of @size with @features and @data_size bytes of data area; aborts on failure
 * (test setup). The queue is created with counting ops over the whole buffer. */
struct tvq *tvq_new(uint32_t size, uint64_t features, size_t data_size);
void tvq_free(struct tvq *t);

/* Caps default to TVQ_REQ_CAP; tests shrink them to provoke -E2BIG. */
void tvq_req_init(struct tvq_req *r, unsigned int desc_cap, unsigned int iov_cap);

/* Host pointer for device address @addr (no checks: test code). */
void *tvq_host(struct tvq *t, uint64_t addr);
/* Allocate @len zeroed bytes in the data area; returns the device address. */
uint64_t tvq_alloc(struct tvq *t, size_t len);

/* Write descriptor @i of the shared table / of an indirect table at device address @table. */
void tvq_set_desc(struct tvq *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next);
void tvq_set_table_desc(struct tvq *t, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next);

/* Put @head in the avail ring and publish avail.idx (with a release store, like virtio_wmb). */
void tvq_avail(struct tvq *t, uint16_t head);
/* Put @head in the avail ring slot for the current index without publishing. */
void tvq_avail_entry(struct tvq *t, uint16_t head);
/* Store a raw avail.idx value (hostile guests) and make it the driver's shadow. */
void tvq_set_avail_idx(struct tvq *t, uint16_t idx);

/*
 * Add a chain of @n buffers with lengths @lens; the first @n_out are device-readable, the rest
 * writable. Uses consecutive free descriptors (wrapping), fills readable buffers with the byte
 * pattern tvq_pattern(addr offset), makes the chain available. Returns the head.
 */
uint16_t tvq_add(struct tvq *t, unsigned int n_out, unsigned int n, const uint32_t *lens);
/* Same, inside one indirect table placed in the data area (one direct INDIRECT descriptor). */
uint16_t tvq_add_indirect(struct tvq *t, unsigned int n_out, unsigned int n, const uint32_t *lens);
uint8_t tvq_pattern(uint64_t addr);

/* Driver-side views of device-owned fields. */
uint16_t tvq_used_idx(struct tvq *t);
uint16_t tvq_used_flags(struct tvq *t);
void tvq_used_elem(struct tvq *t, uint16_t slot, uint32_t *id, uint32_t *len);
uint16_t tvq_avail_event(struct tvq *t);
/* Driver-owned fields the device reads. */
void tvq_set_used_event(struct tvq *t, uint16_t v);
void tvq_set_avail_flags(struct tvq *t, uint16_t v);
/* Raw pointers into the rings, for scribbling. */
uint16_t *tvq_used_idx_ptr(struct tvq *t);
uint16_t *tvq_avail_event_ptr(struct tvq *t);

/* Pop, asserting that a chain was delivered. */
void tvq_pop_ok(struct tvq *t, struct tvq_req *r);

#endif /* TESTS_HELPER_VQ_H */
