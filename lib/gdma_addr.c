/* SPDX-License-Identifier: MIT */
/*
 * The pure parts of gdma: grant-DMA address decoding (Linux drivers/xen/grant-dma-ops.c),
 *
 *	addr = 1 << 63 | gref << 12 | offset
 *
 * and configuration validation. Everything here is arithmetic: no Xen call, no memory touched
 * beyond the arguments, nothing logged, and every overflow a hostile address could cause is
 * checked before it happens.
 */
#include <errno.h>

#include "gdma_internal.h"

#define OFFSET_MASK    ((uint64_t)VXEN_GDMA_PAGE_SIZE - 1)
#define DOMID_RESERVED 0x7ff0u /* DOMID_FIRST_RESERVED */

VXEN_EXPORT bool vxen_gdma_is_grant(uint64_t addr)
{
	return (addr & VXEN_GDMA_GRANT_BIT) != 0;
}

VXEN_EXPORT uint64_t vxen_gdma_addr_gref(uint64_t addr)
{
	return (addr & ~VXEN_GDMA_GRANT_BIT) >> VXEN_GDMA_PAGE_SHIFT;
}

VXEN_EXPORT unsigned int vxen_gdma_addr_offset(uint64_t addr)
{
	return (unsigned int)(addr & OFFSET_MASK);
}

VXEN_EXPORT uint64_t vxen_gdma_addr_make(uint32_t gref, unsigned int offset)
{
	return VXEN_GDMA_GRANT_BIT | (uint64_t)gref << VXEN_GDMA_PAGE_SHIFT |
	       (offset & OFFSET_MASK);
}

VXEN_EXPORT uint64_t vxen_gdma_page_count(uint64_t addr, uint64_t len)
{
	uint64_t tail = (len & OFFSET_MASK) + (addr & OFFSET_MASK);

	if (!len)
		return 0; /* an empty buffer touches no page, whatever its offset */
	/*
	 * ceil((off + len) / 4096) without computing off + len, which can overflow for a len
	 * near 2^64: len = a * 4096 + b gives a + ceil((b + off) / 4096), and b + off < 8192.
	 */
	return (len >> VXEN_GDMA_PAGE_SHIFT) + ((tail + OFFSET_MASK) >> VXEN_GDMA_PAGE_SHIFT);
}

/* True if [addr, addr + len) wraps past 2^64 (len ≥ 1). */
static bool range_wraps(uint64_t addr, uint64_t len)
{
	return addr > UINT64_MAX - (len - 1);
}

VXEN_EXPORT int vxen_gdma_decode(struct vxen_gdma_range *out, enum vxen_gdma_mode mode,
				 uint64_t addr, uint64_t len, uint32_t max_pages)
{
	uint64_t first, npages;

	if (len == 0 || max_pages == 0)
		return -EINVAL;
	if (mode == VXEN_GDMA_GRANT) {
		if (!vxen_gdma_is_grant(addr))
			return -EFAULT;
		first = vxen_gdma_addr_gref(addr);
	} else {
		if (vxen_gdma_is_grant(addr))
			return -EFAULT;
		first = addr >> VXEN_GDMA_PAGE_SHIFT;
	}
	if (range_wraps(addr, len))
		return -EFAULT;
	/* A guest physical range must not run into the grant-address half of the space. */
	if (mode == VXEN_GDMA_FOREIGN && vxen_gdma_is_grant(addr + (len - 1)))
		return -EFAULT;
	npages = vxen_gdma_page_count(addr, len);
	/* The last ref is first + npages - 1; both must be 32-bit grant refs. */
	if (mode == VXEN_GDMA_GRANT &&
	    (first > VXEN_GDMA_MAX_GREF || npages - 1 > VXEN_GDMA_MAX_GREF - first))
		return -EFAULT;
	if (npages > max_pages)
		return -E2BIG;
	out->first = first;
	out->npages = (uint32_t)npages;
	out->offset = (uint16_t)vxen_gdma_addr_offset(addr);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                               */

int gdma_config_fill(struct vxen_gdma_config *c)
{
	if (c->version != VXEN_GDMA_CONFIG_VERSION || c->domid >= DOMID_RESERVED)
		return -EINVAL;
	if (c->mode != VXEN_GDMA_GRANT && c->mode != VXEN_GDMA_FOREIGN)
		return -EINVAL;
	if (c->strategy != VXEN_GDMA_BATCHED && c->strategy != VXEN_GDMA_PER_DESC)
		return -EINVAL;
	if (c->strategy == VXEN_GDMA_PER_DESC && c->mode == VXEN_GDMA_FOREIGN)
		return -EINVAL;
	if (!c->max_chain_pages)
		c->max_chain_pages = VXEN_GDMA_DEFAULT_MAX_CHAIN_PAGES;
	if (!c->max_queue_pages)
		c->max_queue_pages = VXEN_GDMA_DEFAULT_MAX_QUEUE_PAGES;
	c->max_queue_pages = VXEN_MAX(c->max_queue_pages, c->max_chain_pages);
	if (!c->bucket_shift)
		c->bucket_shift = VXEN_GDMA_DEFAULT_BUCKET_SHIFT;
	if (!c->cache_buckets)
		c->cache_buckets = VXEN_GDMA_DEFAULT_CACHE_BUCKETS;
	if (!c->max_grants)
		c->max_grants = c->max_queue_pages * 4 + 1024;
	if (c->max_chain_pages > VXEN_GDMA_MAX_CHAIN_PAGES_LIMIT ||
	    c->max_queue_pages > VXEN_GDMA_MAX_QUEUE_PAGES_LIMIT ||
	    c->copy_threshold > VXEN_GDMA_COPY_THRESHOLD_LIMIT ||
	    c->bucket_shift < VXEN_GDMA_BUCKET_SHIFT_MIN ||
	    c->bucket_shift > VXEN_GDMA_BUCKET_SHIFT_MAX ||
	    c->cache_buckets > VXEN_GDMA_CACHE_BUCKETS_LIMIT)
		return -EINVAL;
	if (c->mode == VXEN_GDMA_FOREIGN || c->strategy == VXEN_GDMA_PER_DESC)
		c->copy_threshold = 0; /* grant copy needs grants; PER_DESC is the naive path */
	return 0;
}
