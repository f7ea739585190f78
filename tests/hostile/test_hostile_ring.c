/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_ring.c — hostile-guest catalogue rows 1-17 (shared/reference/virtio.md: ring and
 * data plane), against the REAL virtio-blk device of examples/blk on the whole stack (xensim
 * machine, ioreq server, grant DMA). The guest writes hostile descriptors, indices and flags
 * into the real ring of device A's queue 0 with xensim's raw ring API.
 *
 * Most rows are one table entry: a builder writes one chain, the runner publishes and kicks it,
 * then asserts the exact outcome —
 *   RETURNED  rejected and consumed: the head comes back as a used entry of length 0, the
 *             library counts it under the expected errno, the device (blk) never saw it;
 *   DROPPED   rejected and consumed without a used entry (an invalid or in-flight head);
 *   BROKEN    the ring is corrupt: queue broken, DEVICE_NEEDS_RESET, config interrupt;
 *   SERVED    a legal (if odd) chain: served with the expected used length and status byte —
 * then that queue 0 still serves a good request afterwards (proving the bad chain was consumed),
 * that queue 1 and the other device B keep serving, that a reset leaves A without any ring or
 * data mapping (xensim's live grant mappings = B's rings only), that A comes back after a
 * re-probe, and at the end that nothing leaked (helper_hostile.h).
 * Rows needing concurrency or several chains are separate tests below the table.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <virtio-xen/log.h>
#include <virtio-xen/mmio.h>

#include "helper_hostile.h"

#define GRANT(gref, off) (XENSIM_GRANT_DMA_BIT | (uint64_t)(gref) << 12 | (off))

enum outcome { RETURNED, DROPPED, BROKEN, SERVED };

struct built {
	uint16_t head;
	uint8_t *status; /* SERVED: the status byte, or NULL if the chain has none */
	uint8_t *data;	 /* SERVED reads: the data, checked against `sector` */
	uint64_t sector;
	size_t data_len;
};

struct hcase {
	const char *name;
	unsigned int q0_size;
	uint64_t features; /* 0: defaults (INDIRECT_DESC, EVENT_IDX and the blk features) */
	void (*build)(struct hw *w, struct built *b);
	enum outcome out;
	int err;	   /* RETURNED/DROPPED: the vq rejection counter that must grow */
	uint32_t used_len; /* SERVED */
	int status;	   /* SERVED: expected status byte, -1 for none */
	bool no_map;	   /* the hostile chain must cost no grant map call at all */
};

/* ------------------------------------------------------------------------------------------ */
/* Building blocks                                                                             */

static uint64_t hdr_buf(struct hw *w, uint32_t type, uint64_t sector)
{
	uint8_t *h;
	uint64_t dma = hw_buf(w, 16, XENSIM_DMA_TO_DEVICE, (void **)&h);
	uint32_t t = htole32(type);
	uint64_t s = htole64(sector);

	memcpy(h, &t, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, &s, 8);
	return dma;
}

static uint64_t st_buf(struct hw *w, struct built *b)
{
	uint64_t dma = hw_buf(w, 1, XENSIM_DMA_FROM_DEVICE, (void **)&b->status);

	*b->status = 0xff;
	return dma;
}

static uint64_t rd_buf(struct hw *w, struct built *b, size_t len, uint64_t sector)
{
	b->sector = sector;
	b->data_len = len;
	return hw_buf(w, len, XENSIM_DMA_FROM_DEVICE, (void **)&b->data);
}

/* An indirect table of @n entries in a fresh read-only buffer; fill with set_ind(). */
static uint64_t ind_table(struct hw *w, unsigned int n, uint8_t **host)
{
	return hw_buf(w, n * 16u, XENSIM_DMA_TO_DEVICE, (void **)host);
}

static void set_ind(uint8_t *t, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(t + 16 * i, &a, 8);
	memcpy(t + 16 * i + 8, &l, 4);
	memcpy(t + 16 * i + 12, &f, 2);
	memcpy(t + 16 * i + 14, &n, 2);
}

/* A read of sector 9 whose data descriptor is replaced by (@addr, @len, @flags). */
static void read_with_data(struct hw *w, struct built *b, uint64_t addr, uint32_t len,
			   uint16_t flags)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, addr, len, (uint16_t)(flags | D_NEXT), 2);
	hw_desc(w, 2, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Builders, by row                                                                            */

/* 2 */
static void b_head_eq_q(struct hw *w, struct built *b)
{
	b->head = (uint16_t)w->raw.num;
}

static void b_head_ffff(struct hw *w, struct built *b)
{
	b->head = 0xffff;
}

/* 3 */
static void b_next_eq_q(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, (uint16_t)w->raw.num);
	b->head = 0;
}

static void b_next_ffff(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, rd_buf(w, b, 512, 9), 512, D_NEXT | D_WRITE, 0xffff);
	b->head = 0;
}

/* 4 */
static void b_self_loop(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 0);
	b->head = 0;
}

/* Both readable: the loop is the only fault (a writable one would first be "readable after
 * writable" on the way round). */
static void b_two_loop(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_OUT, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 512, XENSIM_DMA_TO_DEVICE, NULL), 512, D_NEXT, 0);
	b->head = 0;
}

/* Q = 8: a chain through all 8 descriptors (header, 6 x 512 data, status): legal. */
static void b_chain_of_q(struct hw *w, struct built *b)
{
	uint8_t *d[6];

	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 16), 16, D_NEXT, 1);
	for (unsigned int i = 0; i < 6; i++)
		hw_desc(w, 1 + i, hw_buf(w, 512, XENSIM_DMA_FROM_DEVICE, (void **)&d[i]), 512,
			D_NEXT | D_WRITE, (uint16_t)(2 + i));
	hw_desc(w, 7, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
	b->data = d[0]; /* checked: the first sector; the used length covers all 6 */
	b->sector = 16;
	b->data_len = 512;
}

/* Q = 8: the 9th step must revisit a descriptor: 0 -> 1 -> ... -> 7 -> 0 (all readable, so
 * the length is the only fault). */
static void b_chain_of_q_plus_1(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_OUT, 16), 16, D_NEXT, 1);
	for (unsigned int i = 1; i < 8; i++)
		hw_desc(w, i, hw_buf(w, 512, XENSIM_DMA_TO_DEVICE, NULL), 512, D_NEXT,
			(uint16_t)((i + 1) % 8));
	b->head = 0;
}

static void b_indirect_loop(struct hw *w, struct built *b)
{
	uint8_t *t;
	uint64_t tab = ind_table(w, 3, &t);

	set_ind(t, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	set_ind(t, 1, rd_buf(w, b, 512, 9), 512, D_NEXT | D_WRITE, 2);
	set_ind(t, 2, st_buf(w, b), 1, D_NEXT | D_WRITE, 0);
	hw_desc(w, 0, tab, 48, D_INDIRECT, 0);
	b->head = 0;
}

/* An indirect table with exactly Q (8) entries: header, 6 data, status: legal. */
static void b_indirect_q_entries(struct hw *w, struct built *b)
{
	uint8_t *t;
	uint64_t tab = ind_table(w, 8, &t);

	set_ind(t, 0, hdr_buf(w, BLK_T_IN, 20), 16, D_NEXT, 1);
	set_ind(t, 1, rd_buf(w, b, 512, 20), 512, D_NEXT | D_WRITE, 2);
	for (unsigned int i = 2; i < 7; i++)
		set_ind(t, i, hw_buf(w, 512, XENSIM_DMA_FROM_DEVICE, NULL), 512, D_NEXT | D_WRITE,
			(uint16_t)(i + 1));
	set_ind(t, 7, st_buf(w, b), 1, D_WRITE, 0);
	hw_desc(w, 0, tab, 128, D_INDIRECT, 0);
	b->head = 0;
}

/* 5 */
static void b_indirect_plain(struct hw *w, struct built *b, uint32_t len_override,
			     uint16_t desc_flags, bool nest)
{
	uint8_t *t;
	uint64_t tab = ind_table(w, 3, &t);

	set_ind(t, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	set_ind(t, 1, rd_buf(w, b, 512, 9), 512, (uint16_t)(D_NEXT | (nest ? D_INDIRECT : D_WRITE)),
		2);
	set_ind(t, 2, st_buf(w, b), 1, D_WRITE, 0);
	hw_desc(w, 0, tab, len_override ? len_override : 48, desc_flags, 1);
	b->head = 0;
}

static void b_indirect_ok(struct hw *w, struct built *b)
{
	b_indirect_plain(w, b, 0, D_INDIRECT, false);
}

static void b_indirect_len0(struct hw *w, struct built *b)
{
	uint8_t *t;

	hw_desc(w, 0, ind_table(w, 3, &t), 0, D_INDIRECT, 0);
	b->head = 0;
}

static void b_indirect_len_odd(struct hw *w, struct built *b)
{
	b_indirect_plain(w, b, 40, D_INDIRECT, false);
}

static void b_indirect_over_q(struct hw *w, struct built *b)
{
	uint8_t *t;
	uint64_t tab = ind_table(w, 9, &t); /* Q = 8 */

	for (unsigned int i = 0; i < 9; i++)
		set_ind(t, i, hw_buf(w, 512, XENSIM_DMA_FROM_DEVICE, NULL), 512,
			(uint16_t)(D_WRITE | (i < 8 ? D_NEXT : 0)), (uint16_t)(i + 1));
	set_ind(t, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 0, tab, 9 * 16, D_INDIRECT, 0);
	b->head = 0;
}

static void b_indirect_nested(struct hw *w, struct built *b)
{
	b_indirect_plain(w, b, 0, D_INDIRECT, true);
}

static void b_indirect_with_next(struct hw *w, struct built *b)
{
	b_indirect_plain(w, b, 0, D_INDIRECT | D_NEXT, false);
	hw_desc(w, 1, hw_buf(w, 16, XENSIM_DMA_TO_DEVICE, NULL), 16, 0, 0);
}

/* Direct header, then one indirect descriptor holding data and status: must be handled. */
static void b_direct_then_indirect(struct hw *w, struct built *b)
{
	uint8_t *t;
	uint64_t tab = ind_table(w, 2, &t);

	set_ind(t, 0, rd_buf(w, b, 1024, 30), 1024, D_NEXT | D_WRITE, 1);
	set_ind(t, 1, st_buf(w, b), 1, D_WRITE, 0);
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 30), 16, D_NEXT, 1);
	hw_desc(w, 1, tab, 32, D_INDIRECT, 0);
	b->head = 0;
}

/* The WRITE flag of the descriptor pointing at an indirect table is ignored. */
static void b_indirect_write_flag(struct hw *w, struct built *b)
{
	b_indirect_plain(w, b, 0, D_INDIRECT | D_WRITE, false);
}

/* 6 */
static void b_zero_len_desc(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 11), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 64, XENSIM_DMA_FROM_DEVICE, NULL), 0, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, rd_buf(w, b, 512, 11), 512, D_NEXT | D_WRITE, 3);
	hw_desc(w, 3, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

static void b_addr0_len0(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 12), 16, D_NEXT, 1);
	hw_desc(w, 1, 0, 0, D_NEXT, 2); /* readable, address 0: never dereferenced */
	hw_desc(w, 2, 0, 0, D_NEXT | D_WRITE, 3);
	hw_desc(w, 3, rd_buf(w, b, 512, 12), 512, D_NEXT | D_WRITE, 4);
	hw_desc(w, 4, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

static void b_only_zero(struct hw *w, struct built *b)
{
	hw_desc(w, 0, 0, 0, 0, 0);
	b->head = 0;
}

/* 7 */
static void b_not_grant(struct hw *w, struct built *b)
{
	read_with_data(w, b, 0x40000, 512, D_WRITE); /* guest-physical, bit 63 clear */
}

/* 8 */
static void b_gref_not_granted(struct hw *w, struct built *b)
{
	read_with_data(w, b, GRANT(30000, 0), 4096, D_WRITE);
}

static void b_gref_beyond_table(struct hw *w, struct built *b)
{
	read_with_data(w, b, GRANT(HW_RING_GREF + 5, 0), 4096, D_WRITE);
}

static void b_gref_revoked(struct hw *w, struct built *b)
{
	uint64_t dma = hw_buf(w, 4096, XENSIM_DMA_FROM_DEVICE, NULL);

	hw_buf_revoke(w, dma);
	read_with_data(w, b, dma, 4096, D_WRITE);
}

static void b_ro_grant_writable_big(struct hw *w, struct built *b)
{
	read_with_data(w, b, hw_buf(w, 4096, XENSIM_DMA_TO_DEVICE, NULL), 4096, D_WRITE);
}

static void b_ro_grant_writable_small(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_FLUSH, 0), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 1, XENSIM_DMA_TO_DEVICE, NULL), 1, D_WRITE, 0);
	b->head = 0;
}

/* Two good mapped buffers, then a bad grant: nothing may stay mapped. */
static void b_bad_after_good(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 8192, XENSIM_DMA_FROM_DEVICE, NULL), 8192, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, hw_buf(w, 8192, XENSIM_DMA_FROM_DEVICE, NULL), 8192, D_NEXT | D_WRITE, 3);
	hw_desc(w, 3, GRANT(30001, 0), 8192, D_NEXT | D_WRITE, 4);
	hw_desc(w, 4, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

/* 9 */
static void b_len_4g(struct hw *w, struct built *b)
{
	read_with_data(w, b, hw_buf(w, 4096, XENSIM_DMA_FROM_DEVICE, NULL), 0xffffffffu, D_WRITE);
}

static void b_total_over_4g(struct hw *w, struct built *b)
{
	uint64_t big = hw_buf(w, 4096, XENSIM_DMA_FROM_DEVICE, NULL);

	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, big, 0x80000000u, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, big, 0x80000000u, D_NEXT | D_WRITE, 3);
	hw_desc(w, 3, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

static void b_over_chain_cap(struct hw *w, struct built *b)
{
	/* 1025 pages > VXEN_GDMA_DEFAULT_MAX_CHAIN_PAGES (1024); the grants need not exist. */
	read_with_data(w, b, GRANT(100, 0), 1025u * 4096, D_WRITE);
}

/* 10 */
static void b_addr_wraps(struct hw *w, struct built *b)
{
	read_with_data(w, b, 0xfffffffffffff800ull, 0x1000, D_WRITE);
}

static void b_gref_range_over_32(struct hw *w, struct built *b)
{
	read_with_data(w, b, GRANT(0xffffffffu, 0), 8192, D_WRITE);
}

static void b_gref_field_over_32(struct hw *w, struct built *b)
{
	read_with_data(w, b, GRANT(0x100000000ull, 0), 512, D_WRITE);
}

/* 11 */
static void b_readable_after_writable(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, rd_buf(w, b, 512, 9), 512, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, hw_buf(w, 16, XENSIM_DMA_TO_DEVICE, NULL), 16, D_NEXT, 3);
	hw_desc(w, 3, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

/* 17 */
static void b_hdr_split3(struct hw *w, struct built *b)
{
	uint8_t *h[3];
	uint8_t hdr[16] = { 0 };
	const size_t cut[4] = { 0, 5, 10, 16 };

	hdr[8] = 33; /* IN, sector 33 */
	for (unsigned int i = 0; i < 3; i++) {
		size_t n = cut[i + 1] - cut[i];

		hw_desc(w, i, hw_buf(w, n, XENSIM_DMA_TO_DEVICE, (void **)&h[i]), (uint32_t)n,
			D_NEXT, (uint16_t)(i + 1));
		memcpy(h[i], hdr + cut[i], n);
	}
	hw_desc(w, 3, rd_buf(w, b, 1024, 33), 1024, D_NEXT | D_WRITE, 4);
	hw_desc(w, 4, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

static void b_hdr_short(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 8, D_NEXT, 1);
	hw_desc(w, 1, rd_buf(w, b, 512, 9), 512, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
	b->data = NULL; /* failed: zeroed, not data */
}

static void b_no_status(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_FLUSH, 0), 16, 0, 0);
	b->head = 0;
}

static void b_data_not_sectors(struct hw *w, struct built *b)
{
	uint8_t *d;

	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 100, XENSIM_DMA_FROM_DEVICE, (void **)&d), 100, D_NEXT | D_WRITE,
		2);
	memset(d, 0xaa, 100);
	hw_desc(w, 2, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
	b->data = d; /* must come back zeroed, not stale */
	b->data_len = 100;
	b->sector = UINT64_MAX;
}

static void b_unknown_type(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, 0x7777, 0), 16, D_NEXT, 1);
	hw_desc(w, 1, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

static void b_read_past_end(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_IN, HW_SECTORS - 1), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 1024, XENSIM_DMA_FROM_DEVICE, NULL), 1024, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

static void b_write_data_writable(struct hw *w, struct built *b)
{
	hw_desc(w, 0, hdr_buf(w, BLK_T_OUT, 9), 16, D_NEXT, 1);
	hw_desc(w, 1, hw_buf(w, 512, XENSIM_DMA_FROM_DEVICE, NULL), 512, D_NEXT | D_WRITE, 2);
	hw_desc(w, 2, st_buf(w, b), 1, D_WRITE, 0);
	b->head = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The table                                                                                   */

#define NO_INDIRECT                                                                                \
	(XENSIM_BLK_DEFAULT_FEATURES & ~XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC))

/* X(test name, q0 size, features, builder, outcome, errno, used len, status, no_map) */
#define CASES(X)                                                                                   \
	X(r02_head_equal_to_queue_size_dropped, 8, 0, b_head_eq_q, DROPPED, EINVAL, 0, -1, true)   \
	X(r02_head_ffff_dropped, 0, 0, b_head_ffff, DROPPED, EINVAL, 0, -1, true)                  \
	X(r03_next_equal_to_queue_size_rejected, 8, 0, b_next_eq_q, RETURNED, EINVAL, 0, -1, true) \
	X(r03_next_ffff_rejected, 0, 0, b_next_ffff, RETURNED, EINVAL, 0, -1, true)                \
	X(r04_self_loop_rejected, 0, 0, b_self_loop, RETURNED, ELOOP, 0, -1, true)                 \
	X(r04_two_descriptor_loop_rejected, 0, 0, b_two_loop, RETURNED, ELOOP, 0, -1, true)        \
	X(r04_chain_of_queue_size_descriptors_served, 8, 0, b_chain_of_q, SERVED, 0, 6 * 512 + 1,  \
	  BLK_S_OK, false)                                                                         \
	X(r04_chain_of_queue_size_plus_1_rejected, 8, 0, b_chain_of_q_plus_1, RETURNED, ELOOP, 0,  \
	  -1, true)                                                                                \
	X(r04_loop_inside_indirect_table_rejected, 0, 0, b_indirect_loop, RETURNED, ELOOP, 0, -1,  \
	  true)                                                                                    \
	X(r04_indirect_table_of_queue_size_entries_served, 8, 0, b_indirect_q_entries, SERVED, 0,  \
	  6 * 512 + 1, BLK_S_OK, false)                                                            \
	X(r05_indirect_without_feature_rejected, 0, NO_INDIRECT, b_indirect_ok, RETURNED, EINVAL,  \
	  0, -1, true)                                                                             \
	X(r05_indirect_length_0_rejected, 0, 0, b_indirect_len0, RETURNED, EINVAL, 0, -1, true)    \
	X(r05_indirect_length_not_multiple_of_16_rejected, 0, 0, b_indirect_len_odd, RETURNED,     \
	  EINVAL, 0, -1, true)                                                                     \
	X(r05_indirect_more_than_queue_size_entries_rejected, 8, 0, b_indirect_over_q, RETURNED,   \
	  EINVAL, 0, -1, true)                                                                     \
	X(r05_nested_indirect_rejected, 0, 0, b_indirect_nested, RETURNED, EINVAL, 0, -1, true)    \
	X(r05_indirect_with_next_rejected, 0, 0, b_indirect_with_next, RETURNED, EINVAL, 0, -1,    \
	  true)                                                                                    \
	X(r05_indirect_table_served, 0, 0, b_indirect_ok, SERVED, 0, 513, BLK_S_OK, false)         \
	X(r05_direct_then_indirect_served, 0, 0, b_direct_then_indirect, SERVED, 0, 1025,          \
	  BLK_S_OK, false)                                                                         \
	X(r05_write_flag_on_indirect_descriptor_ignored, 0, 0, b_indirect_write_flag, SERVED, 0,   \
	  513, BLK_S_OK, false)                                                                    \
	X(r06_zero_length_descriptor_skipped, 0, 0, b_zero_len_desc, SERVED, 0, 513, BLK_S_OK,     \
	  false)                                                                                   \
	X(r06_address_0_length_0_never_dereferenced, 0, 0, b_addr0_len0, SERVED, 0, 513, BLK_S_OK, \
	  false)                                                                                   \
	X(r06_chain_of_one_empty_descriptor_answered_empty, 0, 0, b_only_zero, SERVED, 0, 0, -1,   \
	  true)                                                                                    \
	X(r07_guest_physical_address_on_grant_device_rejected, 0, 0, b_not_grant, RETURNED,        \
	  EFAULT, 0, -1, true)                                                                     \
	X(r08_grant_not_granted_rejected, 0, 0, b_gref_not_granted, RETURNED, EFAULT, 0, -1,       \
	  false)                                                                                   \
	X(r08_grant_beyond_grant_table_rejected, 0, 0, b_gref_beyond_table, RETURNED, EFAULT, 0,   \
	  -1, false)                                                                               \
	X(r08_revoked_grant_rejected, 0, 0, b_gref_revoked, RETURNED, EFAULT, 0, -1, false)        \
	X(r08_read_only_grant_for_writable_buffer_rejected, 0, 0, b_ro_grant_writable_big,         \
	  RETURNED, EFAULT, 0, -1, false)                                                          \
	X(r08_read_only_grant_for_small_writable_buffer_rejected, 0, 0, b_ro_grant_writable_small, \
	  RETURNED, EFAULT, 0, -1, false)                                                          \
	X(r08_bad_grant_after_good_ones_leaves_nothing_mapped, 0, 0, b_bad_after_good, RETURNED,   \
	  EFAULT, 0, -1, false)                                                                    \
	X(r09_descriptor_of_4gib_rejected_before_mapping, 0, 0, b_len_4g, RETURNED, E2BIG, 0, -1,  \
	  true)                                                                                    \
	X(r09_chain_over_4gib_rejected_before_mapping, 0, 0, b_total_over_4g, RETURNED, E2BIG, 0,  \
	  -1, true)                                                                                \
	X(r09_more_pages_than_chain_cap_rejected_before_mapping, 0, 0, b_over_chain_cap, RETURNED, \
	  E2BIG, 0, -1, true)                                                                      \
	X(r10_address_plus_length_wrapping_rejected, 0, 0, b_addr_wraps, RETURNED, EFAULT, 0, -1,  \
	  true)                                                                                    \
	X(r10_grant_range_past_32_bits_rejected, 0, 0, b_gref_range_over_32, RETURNED, EFAULT, 0,  \
	  -1, true)                                                                                \
	X(r10_grant_field_over_32_bits_rejected, 0, 0, b_gref_field_over_32, RETURNED, EFAULT, 0,  \
	  -1, true)                                                                                \
	X(r11_readable_after_writable_rejected, 0, 0, b_readable_after_writable, RETURNED, EINVAL, \
	  0, -1, true)                                                                             \
	X(r17_header_split_over_three_descriptors_served, 0, 0, b_hdr_split3, SERVED, 0, 1025,     \
	  BLK_S_OK, false)                                                                         \
	X(r17_short_header_answered_ioerr, 0, 0, b_hdr_short, SERVED, 0, 513, BLK_S_IOERR, false)  \
	X(r17_no_status_byte_returned_empty, 0, 0, b_no_status, SERVED, 0, 0, -1, false)           \
	X(r17_data_not_whole_sectors_answered_ioerr_zeroed, 0, 0, b_data_not_sectors, SERVED, 0,   \
	  101, BLK_S_IOERR, false)                                                                 \
	X(r17_unknown_type_answered_unsupp, 0, 0, b_unknown_type, SERVED, 0, 1, BLK_S_UNSUPP,      \
	  false)                                                                                   \
	X(r17_read_past_end_of_disk_answered_ioerr, 0, 0, b_read_past_end, SERVED, 0, 1025,        \
	  BLK_S_IOERR, false)                                                                      \
	X(r17_write_with_writable_data_answered_ioerr, 0, 0, b_write_data_writable, SERVED, 0,     \
	  513, BLK_S_IOERR, false)

static uint64_t rejections(const struct vxen_vq_stats *s, int err)
{
	switch (err) {
	case EINVAL:
		return s->rej_einval;
	case ELOOP:
		return s->rej_eloop;
	case E2BIG:
		return s->rej_e2big;
	case EFAULT:
		return s->rej_efault;
	case EBUSY:
		return s->rej_ebusy;
	}
	return 0;
}

static void wait_broken(struct hw *w)
{
	for (int t = 0; t < HW_TMO; t++) {
		if (hw_qstats(w, &w->a, 0).broken)
			return;
		usleep(1000);
	}
	ck_abort_msg("queue 0 never broke");
}

static void check_served(struct hw *w, const struct hcase *c, const struct built *b)
{
	hw_expect_used(w, 0, b->head, c->used_len);
	if (c->status >= 0) {
		ck_assert_ptr_nonnull(b->status);
		ck_assert_uint_eq(*b->status, (unsigned int)c->status);
	}
	if (!b->data)
		return;
	if (b->sector == UINT64_MAX) { /* failed request: its data bytes are zeroed */
		for (size_t i = 0; i < b->data_len; i++)
			ck_assert_uint_eq(b->data[i], 0);
		return;
	}
	for (size_t s = 0; s < b->data_len / 512; s++)
		ck_assert(hw_sector_ok(b->data + 512 * s, b->sector + s));
}

static void run_case(const struct hcase *c)
{
	struct hw_opts o = { .q0_size = c->q0_size, .a_features = c->features };
	struct vxen_dev_queue_stats before, after;
	struct built b = { 0 };
	struct hw w;
	uint64_t maps;
	uint16_t good_used;

	hw_up(&w, &o);
	before = hw_qstats(&w, &w.a, 0);
	c->build(&w, &b);
	maps = hw_counters(&w).gnt_map_calls;
	hw_avail(&w, b.head);
	hw_kick(&w);
	switch (c->out) {
	case BROKEN:
		wait_broken(&w);
		hw_assert_broken(&w);
		break;
	case RETURNED:
		hw_expect_used(&w, 0, b.head, 0);
		break;
	case DROPPED:
		break;
	case SERVED:
		check_served(&w, c, &b);
		break;
	}
	if (c->no_map) {
		/* The per-descriptor strategy reads an indirect table by mapping it (one map per
		 * read, as backends without the library do); no buffer of the chain is mapped. */
		uint64_t reads =
			hw_per_desc() ? hw_qstats(&w, &w.a, 0).gdma.reads - before.gdma.reads : 0;

		ck_assert_msg(hw_counters(&w).gnt_map_calls - maps <= reads,
			      "%s: the chain was mapped", c->name);
	}
	if (c->out != BROKEN) {
		/* The queue goes on: a good request right after, in the next slot. */
		good_used = c->out == DROPPED ? 0 : 1;
		ck_assert_uint_eq(hw_used_idx(&w), good_used);
		hw_serve_one(&w, (uint16_t)(w.raw.num - 3), 5);
		ck_assert_uint_eq(hw_used_idx(&w), good_used + 1);
	}
	after = hw_qstats(&w, &w.a, 0);
	if (c->out == RETURNED || c->out == DROPPED) {
		ck_assert_uint_eq(after.vq.rejected - before.vq.rejected, 1);
		ck_assert_uint_eq(rejections(&after.vq, c->err) - rejections(&before.vq, c->err),
				  1);
		ck_assert_uint_eq(after.vq.popped - before.vq.popped, 1); /* the good one */
	} else if (c->out == SERVED) {
		ck_assert_uint_eq(after.vq.rejected, before.vq.rejected);
		ck_assert_uint_eq(after.vq.popped - before.vq.popped, 2);
	}
	ck_assert_uint_eq(after.gdma.live_pages, 0);
	ck_assert_uint_eq(after.inflight, 0);
	hw_epilogue(&w);
	hw_down(&w);
}

#define TEST(n, qs, f, b, o, e, l, s, nm)                                                          \
	START_TEST(hostile__##n)                                                                   \
	{                                                                                          \
		static const struct hcase c = { .name = #n,                                        \
						.q0_size = qs,                                     \
						.features = f,                                     \
						.build = b,                                        \
						.out = o,                                          \
						.err = e,                                          \
						.used_len = l,                                     \
						.status = s,                                       \
						.no_map = nm };                                    \
		run_case(&c);                                                                      \
	}                                                                                          \
	END_TEST
CASES(TEST)

/* ------------------------------------------------------------------------------------------ */
/* Rows that need more than one chain or a concurrent guest                                    */

/* 1: avail.idx more than Q ahead of what the device consumed. */
START_TEST(hostile__r01_avail_idx_more_than_queue_size_ahead_breaks_queue)
{
	struct hw_opts o = { .q0_size = 8 };
	struct hw w;

	hw_up(&w, &o);
	xensim_vq_raw_set_avail_idx(w.q0, 9);
	hw_kick(&w);
	wait_broken(&w);
	hw_assert_broken(&w);
	ck_assert_uint_eq(hw_used_idx(&w), 0); /* nothing consumed from a corrupt ring */
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).vq.popped, 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* 1: moving backwards after the device consumed a chain. */
START_TEST(hostile__r01_avail_idx_moving_backwards_breaks_queue)
{
	struct hw_opts o = { .q0_size = 8 };
	struct hw w;

	hw_up(&w, &o);
	hw_serve_one(&w, 0, 1);
	xensim_vq_raw_set_avail_idx(w.q0, 0);
	hw_kick(&w);
	wait_broken(&w);
	hw_assert_broken(&w);
	ck_assert_uint_eq(hw_used_idx(&w), 1);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* 1 (boundary): exactly Q chains published at once are all served. */
START_TEST(hostile__r01_avail_idx_exactly_queue_size_ahead_is_served)
{
	struct hw_opts o = { .q0_size = 8 };
	uint8_t *st[8], *t;
	uint8_t *data[8];
	struct hw w;

	hw_up(&w, &o);
	for (unsigned int i = 0; i < 8; i++) {
		uint64_t tab = ind_table(&w, 3, &t);

		set_ind(t, 0, hdr_buf(&w, BLK_T_IN, 100 + i), 16, D_NEXT, 1);
		set_ind(t, 1, hw_buf(&w, 512, XENSIM_DMA_FROM_DEVICE, (void **)&data[i]), 512,
			D_NEXT | D_WRITE, 2);
		set_ind(t, 2, hw_buf(&w, 1, XENSIM_DMA_FROM_DEVICE, (void **)&st[i]), 1, D_WRITE,
			0);
		*st[i] = 0xff;
		hw_desc(&w, i, tab, 48, D_INDIRECT, 0);
		xensim_vq_raw_set_avail(w.q0, (uint16_t)i, (uint16_t)i);
	}
	xensim_vq_raw_set_avail_idx(w.q0, 8);
	w.avail = 8;
	hw_kick(&w);
	ck_assert(hw_wait_used(&w, 8, HW_TMO));
	for (unsigned int i = 0; i < 8; i++) {
		ck_assert_uint_eq(*st[i], BLK_S_OK);
		ck_assert(hw_sector_ok(data[i], 100 + i));
	}
	ck_assert(!hw_qstats(&w, &w.a, 0).broken);
	ck_assert_uint_eq(hw_status(&w) & XENSIM_VIRTIO_S_DEVICE_NEEDS_RESET, 0);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* 12: the same head made available twice while the first is still in flight. */
START_TEST(hostile__r12_head_made_available_twice_in_flight_dropped)
{
	struct hw w;
	uint8_t *st, *data;
	uint16_t head;
	struct vxen_dev_queue_stats qs;

	hw_up(&w, NULL);
	/* A read goes to an I/O thread: its completion only reaches the ring at the device
	 * thread's next turn, after both pops of this kick. */
	head = hw_blk_chain(&w, 0, BLK_T_IN, 50, 4096, &st, &data);
	hw_avail(&w, head);
	hw_avail(&w, head);
	hw_kick(&w);
	hw_expect_used(&w, 0, head, 4097);
	ck_assert_uint_eq(*st, BLK_S_OK);
	for (unsigned int s = 0; s < 8; s++)
		ck_assert(hw_sector_ok(data + 512 * s, 50 + s));
	hw_serve_one(&w, 10, 5);
	ck_assert_uint_eq(hw_used_idx(&w), 2); /* the duplicate got no used entry */
	qs = hw_qstats(&w, &w.a, 0);
	ck_assert_uint_eq(qs.vq.rej_ebusy, 1);
	ck_assert_uint_eq(qs.vq.rejected, 1);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/*
 * 13: the guest rewrites a descriptor continuously while the device works through requests
 * using it. Each request must come out as one consistent view: served with the data of the
 * 512-byte version, or refused whole (length 0) — and the 64 MiB version is never mapped.
 */
struct flipper {
	struct hw *w;
	uint64_t small, big;
	volatile bool stop;
	unsigned long flips;
};

static void *flip_main(void *arg)
{
	struct flipper *f = arg;

	while (!f->stop) {
		hw_desc(f->w, 1, f->big, 64u << 20, D_NEXT | D_WRITE, 2);
		hw_desc(f->w, 1, f->small, 512, D_NEXT | D_WRITE, 2);
		f->flips++;
	}
	return NULL;
}

START_TEST(hostile__r13_descriptor_rewritten_while_available_gives_consistent_outcomes)
{
	struct flipper f = { 0 };
	struct hw w;
	uint8_t *st, *data;
	pthread_t th;
	unsigned int served = 0, refused = 0;
	struct vxen_dev_queue_stats qs;

	hw_up(&w, NULL);
	f.w = &w;
	f.small = hw_buf(&w, 512, XENSIM_DMA_FROM_DEVICE, (void **)&data);
	f.big = GRANT(31000, 0); /* 16384 pages: over the chain cap, and never granted */
	hw_desc(&w, 0, hdr_buf(&w, BLK_T_IN, 77), 16, D_NEXT, 1);
	hw_desc(&w, 1, f.small, 512, D_NEXT | D_WRITE, 2);
	hw_desc(&w, 2, hw_buf(&w, 1, XENSIM_DMA_FROM_DEVICE, (void **)&st), 1, D_WRITE, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, flip_main, &f), 0);
	for (uint16_t i = 0; i < 300; i++) {
		uint32_t id, len;

		*st = 0xff;
		memset(data, 0, 512);
		hw_avail(&w, 0);
		hw_kick(&w);
		ck_assert(hw_wait_used(&w, (uint16_t)(i + 1), HW_TMO));
		hw_used(&w, i, &id, &len);
		ck_assert_uint_eq(id, 0);
		if (len == 0) {
			refused++;
		} else {
			ck_assert_uint_eq(len, 513);
			ck_assert_uint_eq(*st, BLK_S_OK);
			ck_assert(hw_sector_ok(data, 77));
			served++;
		}
	}
	f.stop = true;
	pthread_join(th, NULL);
	ck_assert_uint_eq(served + refused, 300);
	ck_assert_uint_gt(f.flips, 0);
	/* Refusals are the big version (over the chain cap) or a torn mix of the two (a grant
	 * that was never given): never a mapping of the big one. */
	qs = hw_qstats(&w, &w.a, 0);
	ck_assert_uint_eq(qs.vq.rej_e2big + qs.vq.rej_efault, refused);
	ck_assert_uint_eq(qs.vq.rejected, refused);
	hw_desc(&w, 1, f.small, 512, D_NEXT | D_WRITE, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* 14: the guest scribbles over the used ring and avail_event; the device keeps its own index. */
START_TEST(hostile__r14_guest_writes_to_used_ring_ignored)
{
	struct hw w;
	uint32_t *ue;

	hw_up(&w, NULL);
	hw_serve_one(&w, 0, 1);
	ue = w.raw.used_ring;
	w.raw.used[0] = htole16(0xffff);
	w.raw.used[1] = htole16(100);
	for (unsigned int i = 0; i < 4; i++)
		ue[i] = 0xdeadbeef;
	*w.raw.avail_event = htole16(0x1234);
	hw_avail(&w, hw_blk_chain(&w, 3, BLK_T_IN, 2, 512, NULL, NULL));
	hw_kick(&w);
	/* The device writes entry 1 and used.idx = 2 from its shadow, not 101. */
	for (int t = 0; t < HW_TMO && hw_used_idx(&w) != 2; t++)
		usleep(1000);
	ck_assert_uint_eq(hw_used_idx(&w), 2);
	hw_expect_used(&w, 1, 3, 513);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* 14 (extra): a data buffer aliasing the rings — the device's own used ring is the guest's
 * "buffer" for a read. The device writes into it through the data mapping and still publishes
 * a correct used entry from its shadow state. */
START_TEST(hostile__r14_data_buffer_aliasing_the_used_ring_harmless)
{
	struct hw w;
	uint8_t *st;

	hw_up(&w, NULL);
	hw_desc(&w, 0, hdr_buf(&w, BLK_T_IN, 3), 16, D_NEXT, 1);
	hw_desc(&w, 1, w.raw.used_dma, 512, D_NEXT | D_WRITE, 2);
	hw_desc(&w, 2, hw_buf(&w, 1, XENSIM_DMA_FROM_DEVICE, (void **)&st), 1, D_WRITE, 0);
	*st = 0xff;
	hw_avail(&w, 0);
	hw_kick(&w);
	hw_expect_used(&w, 0, 0, 513);
	ck_assert_uint_eq(*st, BLK_S_OK);
	hw_serve_one(&w, 5, 6);
	ck_assert_uint_eq(hw_used_idx(&w), 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/*
 * 15: poisoned used_event (EVENT_IDX) and avail.flags (without): interrupts exactly as
 * vring_need_event() says — none when the driver's event index is far away, one when the
 * publish crosses it; never more than one per publish.
 */
static uint64_t irqs_a(struct hw *w)
{
	uint64_t n = 0;

	ck_assert_int_eq(xensim_irq_count(w->g, HW_IRQ_A, &n), 0);
	return n;
}

static void served_one_more(struct hw *w, uint16_t d, uint64_t sector)
{
	uint16_t slot = w->avail;

	hw_avail(w, hw_blk_chain(w, d, BLK_T_IN, sector, 512, NULL, NULL));
	hw_kick(w);
	hw_expect_used(w, slot, d, 513);
	usleep(20000); /* an interrupt, if any, follows the used.idx store */
}

START_TEST(hostile__r15_poisoned_used_event_neither_missed_nor_stormed)
{
	struct hw w;
	uint64_t n0;

	hw_up(&w, NULL); /* EVENT_IDX negotiated */
	ck_assert(xensim_vdev_has_feature(w.vd, XENSIM_VIRTIO_F_EVENT_IDX));
	/* used_event far ahead (wrap-around distance 0x8000): no interrupt. */
	xensim_vq_raw_set_used_event(w.q0, 0x8000);
	n0 = irqs_a(&w);
	served_one_more(&w, 0, 1);
	served_one_more(&w, 3, 2);
	ck_assert_uint_eq(irqs_a(&w), n0);
	/* used_event just behind the next publish (2): the crossing interrupts, exactly once. */
	xensim_vq_raw_set_used_event(w.q0, 2);
	served_one_more(&w, 6, 3);
	ck_assert_uint_eq(irqs_a(&w), n0 + 1);
	/* used_event left behind (2, now in the past): no further interrupt, no storm. */
	served_one_more(&w, 9, 4);
	ck_assert_uint_eq(irqs_a(&w), n0 + 1);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

START_TEST(hostile__r15_garbage_avail_flags_without_event_idx)
{
	struct hw_opts o = { .a_features = XENSIM_BLK_DEFAULT_FEATURES &
					   ~XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX) };
	struct hw w;
	uint64_t n0;

	hw_up(&w, &o);
	xensim_vq_raw_set_avail_flags(w.q0, 0xffff); /* NO_INTERRUPT plus undefined bits */
	n0 = irqs_a(&w);
	served_one_more(&w, 0, 1);
	ck_assert_uint_eq(irqs_a(&w), n0);
	xensim_vq_raw_set_avail_flags(w.q0, 0xfffe); /* undefined bits only: interrupt */
	served_one_more(&w, 3, 2);
	ck_assert_uint_eq(irqs_a(&w), n0 + 1);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/*
 * 16: a guest keeps queue 0 full and floods kicks from another vCPU. The per-turn budget must
 * let queue 1 and device B be served meanwhile, promptly.
 */
struct flooder {
	struct hw *w;
	volatile bool stop;
	unsigned long kicks;
};

static void *flood_main(void *arg)
{
	struct flooder *f = arg;
	struct hw *w = f->w;
	uint16_t seen = 0;

	while (!f->stop) {
		uint16_t used = hw_used_idx(w);

		/* Re-post every head the device gave back: the ring stays full. */
		for (; seen != used; seen++) {
			uint32_t id, len;

			hw_used(w, seen, &id, &len);
			xensim_vq_raw_set_avail(w->q0, w->avail, (uint16_t)id);
			w->avail++;
		}
		xensim_vq_raw_set_avail_idx(w->q0, w->avail);
		xensim_mmio_write(w->g, 1, HW_BASE_A + VXEN_MMIO_QUEUE_NOTIFY, 4, 0);
		f->kicks++;
	}
	return NULL;
}

START_TEST(hostile__r16_full_ring_and_kick_flood_do_not_starve_others)
{
	struct flooder f = { 0 };
	struct vxen_dev_queue_stats qs;
	struct timespec t0, t1;
	pthread_t th;
	struct hw w;
	uint64_t tab;
	uint8_t *t;

	hw_up(&w, NULL);
	/* 256 GET_ID requests fill the ring (answered inline: the device always has work, and
	 * more than one turn's budget of it). They share one indirect table and its buffers. */
	tab = ind_table(&w, 3, &t);
	set_ind(t, 0, hdr_buf(&w, BLK_T_GET_ID, 0), 16, D_NEXT, 1);
	set_ind(t, 1, hw_buf(&w, 20, XENSIM_DMA_FROM_DEVICE, NULL), 20, D_NEXT | D_WRITE, 2);
	set_ind(t, 2, hw_buf(&w, 1, XENSIM_DMA_FROM_DEVICE, NULL), 1, D_WRITE, 0);
	for (uint16_t i = 0; i < w.raw.num; i++) {
		hw_desc(&w, i, tab, 48, D_INDIRECT, 0);
		xensim_vq_raw_set_avail(w.q0, w.avail++, i);
	}
	f.w = &w;
	ck_assert_int_eq(pthread_create(&th, NULL, flood_main, &f), 0);
	usleep(100000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 5; i++) {
		hw_assert_q1_serves(&w);
		hw_assert_b_serves(&w);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f.stop = true;
	pthread_join(th, NULL);
	qs = hw_qstats(&w, &w.a, 0);
	ck_assert_uint_gt(qs.vq.popped, 1000);
	ck_assert_uint_gt(qs.budget_yields, 0);
	/* 10 requests while the flood ran: well under the 5 s timeout each. */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
	ck_assert(!qs.broken);
	w.avail = xensim_vq_raw_avail_idx(w.q0);
	ck_assert(hw_wait_used(&w, w.avail, HW_TMO)); /* everything posted gets answered */
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* Extra: guest-caused log messages are rate-limited — 2000 bad chains, a handful of lines. */
static int log_lines;

static void count_log(int level, const char *msg, void *payload)
{
	if (level <= LOG_WARNING)
		__atomic_fetch_add(&log_lines, 1, __ATOMIC_RELAXED);
}

START_TEST(hostile__rejections_are_logged_rate_limited)
{
	struct hw_opts o = { .keep_log = true };
	struct hw w;

	vxen_log_set_handler(count_log, LOG_DEBUG, NULL);
	hw_up(&w, &o);
	hw_desc(&w, 0, hdr_buf(&w, BLK_T_IN, 9), 16, D_NEXT, 0); /* self loop */
	for (unsigned int i = 0; i < 2000; i++) {
		hw_avail(&w, 0);
		if (i % 64 == 63)
			hw_kick(&w);
		if (i % 128 == 127)
			ck_assert(hw_wait_used(&w, w.avail, HW_TMO));
	}
	hw_kick(&w);
	ck_assert(hw_wait_used(&w, w.avail, HW_TMO));
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).vq.rej_eloop, 2000);
	/* One burst per rate-limit window per object (vq, device): far fewer than 2000. */
	ck_assert_int_le(__atomic_load_n(&log_lines, __ATOMIC_RELAXED), 40);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* Extra: random garbage over the whole ring area never crashes; at worst the queue breaks. */
START_TEST(hostile__random_ring_garbage_is_survived)
{
	struct hw_opts o = { .q0_size = 16 };
	unsigned int seed = 1234 + (unsigned int)_i;
	struct hw w;

	hw_up(&w, &o);
	for (int round = 0; round < 20; round++) {
		uint8_t *desc = w.raw.desc;

		for (unsigned int i = 0; i < 16 * 16; i++)
			desc[i] = (uint8_t)rand_r(&seed);
		for (unsigned int i = 0; i < 16; i++) {
			/* Half the addresses are grants we own, so some chains get mapped. */
			if (rand_r(&seed) & 1)
				memcpy(desc + 16 * i, &(uint64_t){ htole64(w.raw.desc_dma) }, 8);
			xensim_vq_raw_set_avail(w.q0, (uint16_t)(w.avail + i),
						(uint16_t)(rand_r(&seed) % 20));
		}
		w.avail = (uint16_t)(w.avail + rand_r(&seed) % 17);
		xensim_vq_raw_set_avail_idx(w.q0, w.avail);
		hw_kick(&w);
		usleep(2000);
	}
	usleep(50000);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

Suite *hostile_ring_suite(void);

Suite *hostile_ring_suite(void)
{
	Suite *s = suite_create("hostile_ring");
	TCase *t = tcase_create("catalogue");

#define ADD(n, ...) tcase_add_test(t, hostile__##n);
	CASES(ADD)
	tcase_add_test(t, hostile__r01_avail_idx_more_than_queue_size_ahead_breaks_queue);
	tcase_add_test(t, hostile__r01_avail_idx_moving_backwards_breaks_queue);
	tcase_add_test(t, hostile__r01_avail_idx_exactly_queue_size_ahead_is_served);
	tcase_add_test(t, hostile__r12_head_made_available_twice_in_flight_dropped);
	tcase_add_test(t,
		       hostile__r13_descriptor_rewritten_while_available_gives_consistent_outcomes);
	tcase_add_test(t, hostile__r14_guest_writes_to_used_ring_ignored);
	tcase_add_test(t, hostile__r14_data_buffer_aliasing_the_used_ring_harmless);
	tcase_add_test(t, hostile__r15_poisoned_used_event_neither_missed_nor_stormed);
	tcase_add_test(t, hostile__r15_garbage_avail_flags_without_event_idx);
	tcase_add_test(t, hostile__r16_full_ring_and_kick_flood_do_not_starve_others);
	tcase_add_test(t, hostile__rejections_are_logged_rate_limited);
	tcase_add_loop_test(t, hostile__random_ring_garbage_is_survived, 0, 4);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return hw_run_suite(hostile_ring_suite());
}
