/* SPDX-License-Identifier: MIT */
/*
 * lib/ioreq_priv.h — pure helpers of the ioreq layer (request classification and value
 * masking), shared between lib/ioreq.c and the unit tests. Not installed, not exported.
 */
#ifndef VXEN_IOREQ_PRIV_H
#define VXEN_IOREQ_PRIV_H

#include <stdbool.h>
#include <stdint.h>

/* What to do with one request, decided on the backend's private copy of the slot. */
enum vxen_ioreq_class {
	VXEN_IOREQ_CLASS_MMIO,	     /* single MMIO access of 1/2/4/8 bytes: route it */
	VXEN_IOREQ_CLASS_INVALIDATE, /* IOREQ_TYPE_INVALIDATE: acknowledge only */
	VXEN_IOREQ_CLASS_OTHER,	     /* PIO, PCI config, TIMEOFFSET, unknown: acknowledge only */
	VXEN_IOREQ_CLASS_REJECT,     /* MMIO with data_is_ptr, count != 1 or a bad size */
};

/* The fields of struct ioreq that classification looks at (no Xen header needed by tests). */
struct vxen_ioreq_desc {
	uint8_t type;
	bool data_is_ptr;
	uint32_t count;
	uint32_t size;
};

/* Classify a request. Pure. */
enum vxen_ioreq_class vxen_ioreq_classify(const struct vxen_ioreq_desc *d);

/* Mask of the low @size bytes of a 64-bit value: 0 for size 0, all-ones for size >= 8. Pure. */
uint64_t vxen_ioreq_size_mask(uint32_t size);

/*
 * True if the access [@addr, @addr + @size) lies inside [@base, @last] (inclusive @last),
 * without overflowing for windows or accesses near 2^64. @size must be >= 1. Pure.
 */
bool vxen_ioreq_access_within(uint64_t addr, uint32_t size, uint64_t base, uint64_t last);

#endif /* VXEN_IOREQ_PRIV_H */
