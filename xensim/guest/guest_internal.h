/* SPDX-License-Identifier: MIT */
/*
 * guest_internal.h — libxensim's control and guest handles. Internal to xensim.
 */
#ifndef XENSIM_GUEST_INTERNAL_H
#define XENSIM_GUEST_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "hv_client.h"
#include "xensim.h"

struct xensim {
	struct hvc *c;
	char *path; /* hypervisor socket, for the guest handles' own connections */
};

struct xensim_guest {
	xensim *x;
	uint32_t domid;
	uint32_t vcpus;
	struct hvc *c; /* holds the attachment; grant end-busy reports */
	uint8_t *ram;
	uint64_t ram_bytes;
	grant_entry_v1_t *gnt;
	struct hv_irq_page *irq;
	int irq_efd;
	int timeout_ms;
	uint64_t broken; /* atomic */

	pthread_mutex_t lock; /* the allocators below */
	uint64_t *gref_map;   /* XENSIM_NR_GRANTS bits: 1 = in use */
	uint32_t gref_hint;
	uint64_t *page_map; /* one bit per RAM page: 1 = allocated */
	uint64_t npages, page_hint;

	pthread_mutex_t irq_lock;
	uint64_t *irq_seen; /* per SPI: edges already returned by xensim_irq_wait() */

	pthread_mutex_t vcpu_lock; /* creation of vcpu_conn[] entries */
	struct hvc **vcpu_conn;	   /* one connection per vCPU: accesses block */
};

/* Bitmap helpers over uint64_t words. */
static inline bool bit_test(const uint64_t *m, uint64_t i)
{
	return m[i / 64] & (1ULL << (i % 64));
}

static inline void bit_set(uint64_t *m, uint64_t i)
{
	m[i / 64] |= 1ULL << (i % 64);
}

static inline void bit_clear(uint64_t *m, uint64_t i)
{
	m[i / 64] &= ~(1ULL << (i % 64));
}

/* Find @n consecutive clear bits in [lo, size), searching from *hint and wrapping; sets them. */
int bitmap_alloc_run(uint64_t *m, uint64_t lo, uint64_t size, uint64_t n, uint64_t *hint,
		     uint64_t *out);

#endif /* XENSIM_GUEST_INTERNAL_H */
