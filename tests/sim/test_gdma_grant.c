/* SPDX-License-Identifier: MIT */
/*
 * gdma grant mode against xensim, the data path: the memory interface called directly with
 * hand-filled requests whose buffers a simulated Linux guest granted with grant-DMA. Checks the
 * bytes that move and the crossings the machine counted (THE crossing test is here), not only
 * the library's own statistics. Every test runs on a fresh machine (Check's fork mode).
 */
#include <pthread.h>

#include "test_gdma_world.h"

/* ------------------------------------------------------------------------------------------ */
/* Data through maps and copies                                                                */

START_TEST(grant__maps_large_readable_buffer_read_only)
{
	struct treq t;
	struct gbuf b;

	world_up(VXEN_GDMA_BATCHED);
	b = gbuf_new(100, 3 * 4096, XENSIM_DMA_TO_DEVICE, 0);
	pattern(b.p, b.len, 3);
	treq_init(&t);
	treq_add(&t, b.dma, (uint32_t)b.len, false);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(t.r.n_out, 1);
	ck_assert_uint_eq(t.r.n_in, 0);
	ck_assert_uint_eq(t.iov[0].iov_len, b.len);
	ck_assert(has_pattern(t.iov[0].iov_base, b.len, 3));
	ck_assert_uint_eq(counters().gnt_map_calls, 1);
	ck_assert_uint_eq(counters().gnt_map_pages, 4); /* the offset adds a page */
	ck_assert_uint_eq(counters().gnt_live_pages, 4);
	do_unmap(&t, 0);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 1);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__writes_reach_guest_through_map)
{
	struct treq t;
	struct gbuf b;

	world_up(VXEN_GDMA_BATCHED);
	b = gbuf_new(0, 8192, XENSIM_DMA_FROM_DEVICE, 0);
	treq_init(&t);
	treq_add(&t, b.dma, 8192, true);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(t.r.n_in, 1);
	pattern(t.iov[0].iov_base, 8192, 9);
	do_unmap(&t, 8192);
	ck_assert(has_pattern(b.p, 8192, 9));
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__copies_small_readable_buffer_without_mapping)
{
	struct treq t;
	struct gbuf b;

	world_up(VXEN_GDMA_BATCHED);
	b = gbuf_new(40, 16, XENSIM_DMA_TO_DEVICE, 0);
	pattern(b.p, 16, 1);
	treq_init(&t);
	treq_add(&t, b.dma, 16, false);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(t.iov[0].iov_len, 16);
	ck_assert(has_pattern(t.iov[0].iov_base, 16, 1));
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	ck_assert_uint_eq(counters().gnt_copy_calls, 1);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	do_unmap(&t, 0);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 0);
	ck_assert_uint_eq(counters().gnt_copy_calls, 1); /* nothing to copy out */
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__small_writable_buffer_copies_out_only_written_bytes)
{
	struct treq t;
	struct gbuf b;

	world_up(VXEN_GDMA_BATCHED);
	b = gbuf_new(8, 64, XENSIM_DMA_FROM_DEVICE, 0xee);
	treq_init(&t);
	treq_add(&t, b.dma, 64, true);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	memset(t.iov[0].iov_base, 0x11, 64);
	/* the write probe at map time left guest memory as it was */
	ck_assert(all_bytes(b.p, 64, 0xee));
	xensim_counters_reset(w.x);
	do_unmap(&t, 10);
	ck_assert_uint_eq(counters().gnt_copy_calls, 1);
	ck_assert(all_bytes(b.p, 10, 0x11));
	ck_assert(all_bytes(b.p + 10, 54, 0xee));
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->bounce_out_bytes, 10);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__small_buffers_crossing_a_page_are_split_per_grant_page)
{
	struct treq t;
	struct gbuf in, out;

	world_up(VXEN_GDMA_BATCHED);
	in = gbuf_new(4096 - 10, 32, XENSIM_DMA_TO_DEVICE, 0);
	out = gbuf_new(4096 - 5, 20, XENSIM_DMA_FROM_DEVICE, 0);
	pattern(in.p, 32, 5);
	treq_init(&t);
	treq_add(&t, in.dma, 32, false);
	treq_add(&t, out.dma, 20, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	ck_assert_uint_eq(counters().gnt_copy_calls, 1);
	/* readable: 2 pieces; writable: 2 pieces in, 2 probes */
	ck_assert_uint_eq(counters().gnt_copy_segs, 6);
	ck_assert(has_pattern(t.iov[0].iov_base, 32, 5));
	pattern(t.iov[1].iov_base, 20, 77);
	do_unmap(&t, 20);
	ck_assert(has_pattern(out.p, 20, 77));
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__zero_length_descriptors_are_skipped)
{
	struct treq t;
	struct gbuf b;

	world_up(VXEN_GDMA_BATCHED);
	b = gbuf_new(0, 4096, XENSIM_DMA_FROM_DEVICE, 0);
	treq_init(&t);
	treq_add(&t, 0, 0, false);
	treq_add(&t, b.dma, 4096, true);
	treq_add(&t, 0x1234, 0, true); /* not even a grant address: never looked at */
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(t.r.n_out, 0);
	ck_assert_uint_eq(t.r.n_in, 1);
	do_unmap(&t, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__many_large_buffers_share_one_map_per_protection)
{
	static const size_t rl[] = { 4096, 3 * 4096 + 17 };
	static const size_t wl[] = { 8192, 4096, 12288 };
	struct gbuf r[2], wb[3];
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	treq_init(&t);
	for (int i = 0; i < 2; i++) {
		r[i] = gbuf_new(i * 512, rl[i], XENSIM_DMA_TO_DEVICE, 0);
		pattern(r[i].p, rl[i], (uint8_t)(20 + i));
		treq_add(&t, r[i].dma, (uint32_t)rl[i], false);
	}
	for (int i = 0; i < 3; i++) {
		wb[i] = gbuf_new(0, wl[i], XENSIM_DMA_FROM_DEVICE, 0);
		treq_add(&t, wb[i].dma, (uint32_t)wl[i], true);
	}
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 2);
	ck_assert_uint_eq(t.r.n_out, 2);
	ck_assert_uint_eq(t.r.n_in, 3);
	for (int i = 0; i < 2; i++)
		ck_assert(has_pattern(t.iov[i].iov_base, rl[i], (uint8_t)(20 + i)));
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(t.iov[2 + i].iov_len, wl[i]);
		pattern(t.iov[2 + i].iov_base, wl[i], (uint8_t)(40 + i));
	}
	do_unmap(&t, 8192 + 4096 + 12288);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 2);
	for (int i = 0; i < 3; i++)
		ck_assert(has_pattern(wb[i].p, wl[i], (uint8_t)(40 + i)));
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__many_small_buffers_share_one_copy_in_and_one_copy_out)
{
	struct gbuf r[4], wb[4];
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	treq_init(&t);
	for (int i = 0; i < 4; i++) {
		r[i] = gbuf_new(i * 100, 24, XENSIM_DMA_TO_DEVICE, 0);
		pattern(r[i].p, 24, (uint8_t)i);
		treq_add(&t, r[i].dma, 24, false);
	}
	for (int i = 0; i < 4; i++) {
		wb[i] = gbuf_new(0, 8, XENSIM_DMA_FROM_DEVICE, 0);
		treq_add(&t, wb[i].dma, 8, true);
	}
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(counters().gnt_copy_calls, 1);
	for (int i = 0; i < 4; i++) {
		ck_assert(has_pattern(t.iov[i].iov_base, 24, (uint8_t)i));
		pattern(t.iov[4 + i].iov_base, 8, (uint8_t)(10 + i));
	}
	do_unmap(&t, 20); /* the first two writable buffers and half of the third */
	ck_assert_uint_eq(counters().gnt_copy_calls, 2);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	ck_assert(has_pattern(wb[0].p, 8, 10));
	ck_assert(has_pattern(wb[1].p, 8, 11));
	ck_assert(has_pattern(wb[2].p, 4, 12));
	ck_assert(all_bytes(wb[2].p + 4, 4, 0));
	ck_assert(all_bytes(wb[3].p, 8, 0));
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__small_buffers_beyond_the_bounce_budget_are_mapped)
{
	struct gbuf r[3];
	struct treq t;

	world_up(VXEN_GDMA_BATCHED); /* threshold 512: 1024 bounce bytes, no pool */
	treq_init(&t);
	for (int i = 0; i < 3; i++) {
		r[i] = gbuf_new(0, 400, XENSIM_DMA_TO_DEVICE, 0);
		pattern(r[i].p, 400, (uint8_t)(i + 1));
		treq_add(&t, r[i].dma, 400, false);
	}
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), 0);
	ck_assert_uint_eq(counters().gnt_copy_calls, 1);
	ck_assert_uint_eq(counters().gnt_map_calls, 1);
	for (int i = 0; i < 3; i++)
		ck_assert(has_pattern(t.iov[i].iov_base, 400, (uint8_t)(i + 1)));
	do_unmap(&t, 0);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 1);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__copy_threshold_0_maps_everything)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;
	struct blk b;

	cfg.copy_threshold = 0;
	world_up_cfg(&cfg);
	blk_build(&b, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&b.t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 2); /* header; data and status */
	ck_assert_uint_eq(counters().gnt_copy_calls, 0);
	*(uint8_t *)b.t.iov[2].iov_base = 0;
	do_unmap(&b.t, 4097);
	ck_assert_uint_eq(b.status.p[0], 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* The crossing test: a virtio-blk chain costs one map, one unmap and two copies; PER_DESC one  */
/* map and one unmap per descriptor                                                            */

START_TEST(crossing__blk_read_costs_one_map_one_unmap_two_copies)
{
	struct xensim_counters c;
	struct blk b;

	world_up(VXEN_GDMA_BATCHED);
	blk_build(&b, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&b.t), 0);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_map_pages, 1);
	ck_assert_uint_eq(c.gnt_copy_calls, 1); /* header in, status probed */
	ck_assert_uint_eq(c.gnt_unmap_calls, 0);
	ck_assert(has_pattern(b.t.iov[0].iov_base, 16, 0x40));
	pattern(b.t.iov[1].iov_base, 4096, 0x60);
	*(uint8_t *)b.t.iov[2].iov_base = 0; /* VIRTIO_BLK_S_OK */
	do_unmap(&b.t, 4097);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_unmap_calls, 1);
	ck_assert_uint_eq(c.gnt_copy_calls, 2); /* status out */
	ck_assert(has_pattern(b.data.p, 4096, 0x60));
	ck_assert_uint_eq(b.status.p[0], 0);
	assert_nothing_mapped();
	/* the library's statistics agree with the machine */
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->map_calls, 1);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->unmap_calls, 1);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->copy_calls, 2);
	world_down();
}
END_TEST

/* A blk write (the device reads 4 KiB) through a queue made by @up; the data page costs
 * @maps map and unmap calls, header and status one grant copy each way. */
static void blk_write_crossings(void (*up)(void), uint64_t maps)
{
	struct xensim_counters c;
	struct blk b;

	up();
	blk_build(&b, false);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&b.t), 0);
	ck_assert_uint_eq(b.t.r.n_out, 2);
	ck_assert(has_pattern(b.t.iov[1].iov_base, 4096, 0x50));
	*(uint8_t *)b.t.iov[2].iov_base = 0;
	do_unmap(&b.t, 1);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, maps);
	ck_assert_uint_eq(c.gnt_unmap_calls, maps);
	ck_assert_uint_eq(c.gnt_copy_calls, 2);
	ck_assert_uint_eq(b.status.p[0], 0);
	assert_nothing_mapped();
	world_down();
}

static void up_batched(void)
{
	world_up(VXEN_GDMA_BATCHED);
}

START_TEST(crossing__blk_write_costs_one_map_one_unmap_two_copies)
{
	blk_write_crossings(up_batched, 1);
}
END_TEST

/* The same chains under the library's default threshold (one page): nothing is mapped. */
static void world_up_default(void)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;

	ck_assert_uint_eq(cfg.copy_threshold, 4096);
	world_up_cfg(&cfg);
}

START_TEST(crossing__default_threshold_blk_read_costs_no_map_and_two_copies)
{
	struct xensim_counters c;
	struct blk b;

	world_up_default();
	blk_build(&b, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&b.t), 0);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(c.gnt_copy_calls, 1); /* header and data in, data and status probed */
	ck_assert(has_pattern(b.t.iov[0].iov_base, 16, 0x40));
	ck_assert_uint_eq(b.t.iov[1].iov_len, 4096);
	pattern(b.t.iov[1].iov_base, 4096, 0x60);
	*(uint8_t *)b.t.iov[2].iov_base = 0;
	do_unmap(&b.t, 4097);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(c.gnt_unmap_calls, 0);
	ck_assert_uint_eq(c.gnt_copy_calls, 2); /* data and status out */
	ck_assert(has_pattern(b.data.p, 4096, 0x60));
	ck_assert_uint_eq(b.status.p[0], 0);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->copy_calls, 2);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->map_calls, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(crossing__default_threshold_blk_write_costs_no_map_and_two_copies)
{
	blk_write_crossings(world_up_default, 0);
}
END_TEST

/* gdma.h: a per-queue pool of at most 128 KiB of threshold-sized buffers, one per request. */
#define BIG_POOL (128 * 1024 / 4096)

START_TEST(grant__page_sized_buffers_beyond_the_bounce_pool_are_mapped)
{
	static struct blk b[BIG_POOL + 2];
	struct xensim_counters c;

	world_up_default();
	for (int i = 0; i < BIG_POOL + 2; i++)
		blk_build(&b[i], true);
	xensim_counters_reset(w.x);
	for (int i = 0; i < BIG_POOL; i++)
		ck_assert_int_eq(do_map(&b[i].t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	ck_assert_int_eq(do_map(&b[BIG_POOL].t), 0); /* pool empty: data mapped */
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_map_pages, 1);
	for (int i = 0; i <= BIG_POOL; i++) {
		pattern(b[i].t.iov[1].iov_base, 4096, (uint8_t)i);
		*(uint8_t *)b[i].t.iov[2].iov_base = (uint8_t)i;
	}
	do_unmap(&b[0].t, 4097); /* returns its buffer to the pool */
	ck_assert_int_eq(do_map(&b[BIG_POOL + 1].t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 1);
	pattern(b[BIG_POOL + 1].t.iov[1].iov_base, 4096, 0x77);
	*(uint8_t *)b[BIG_POOL + 1].t.iov[2].iov_base = 0x77;
	for (int i = 1; i < BIG_POOL + 2; i++)
		do_unmap(&b[i].t, 4097);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 1);
	for (int i = 0; i <= BIG_POOL; i++) {
		ck_assert(has_pattern(b[i].data.p, 4096, (uint8_t)i));
		ck_assert_uint_eq(b[i].status.p[0], (uint8_t)i);
	}
	ck_assert(has_pattern(b[BIG_POOL + 1].data.p, 4096, 0x77));
	ck_assert_uint_eq(b[BIG_POOL + 1].status.p[0], 0x77);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(grant__rejected_chains_return_their_bounce_buffer)
{
	static struct blk b[BIG_POOL];
	struct treq bad;
	struct gbuf data;

	world_up_default();
	data = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	for (int i = 0; i < 2 * BIG_POOL; i++) {
		/* the page-sized buffer is planned for a pool buffer, then the chain is refused */
		treq_init(&bad);
		treq_add(&bad, data.dma, 4096, false);
		treq_add(&bad, 0x1000, 16, false); /* bit 63 clear */
		ck_assert_int_eq(do_map(&bad), -EFAULT);
	}
	for (int i = 0; i < BIG_POOL; i++)
		blk_build(&b[i], true);
	xensim_counters_reset(w.x);
	for (int i = 0; i < BIG_POOL; i++)
		ck_assert_int_eq(do_map(&b[i].t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 0); /* the whole pool is still there */
	for (int i = 0; i < BIG_POOL; i++)
		do_unmap(&b[i].t, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(crossing__per_desc_costs_one_map_and_unmap_per_descriptor)
{
	struct xensim_counters c;
	struct blk b;

	world_up(VXEN_GDMA_PER_DESC);
	blk_build(&b, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&b.t), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 3);
	ck_assert(has_pattern(b.t.iov[0].iov_base, 16, 0x40));
	pattern(b.t.iov[1].iov_base, 4096, 0x61);
	*(uint8_t *)b.t.iov[2].iov_base = 0;
	do_unmap(&b.t, 4097);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 3);
	ck_assert_uint_eq(c.gnt_map_pages, 3);
	ck_assert_uint_eq(c.gnt_unmap_calls, 3);
	ck_assert_uint_eq(c.gnt_copy_calls, 0);
	ck_assert(has_pattern(b.data.p, 4096, 0x61));
	ck_assert_uint_eq(b.status.p[0], 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(crossing__guest_ends_access_cleanly_after_unmap)
{
	struct blk b;

	world_up(VXEN_GDMA_BATCHED);
	blk_build(&b, true);
	ck_assert_int_eq(do_map(&b.t), 0);
	do_unmap(&b.t, 4097);
	ck_assert_int_eq(xensim_dma_unmap(w.guest, b.hdr.dma, 16), 0);
	ck_assert_int_eq(xensim_dma_unmap(w.guest, b.data.dma, 4096), 0);
	ck_assert_int_eq(xensim_dma_unmap(w.guest, b.status.dma, 1), 0);
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	ck_assert_uint_eq(counters().gnt_end_busy, 0);
	world_down();
}
END_TEST

START_TEST(crossing__ending_access_while_mapped_is_detected)
{
	/* Control for the test above: the machine does see a grant still mapped. */
	struct blk b;

	world_up(VXEN_GDMA_BATCHED);
	blk_build(&b, true);
	ck_assert_int_eq(do_map(&b.t), 0);
	ck_assert_int_eq(xensim_dma_unmap(w.guest, b.data.dma, 4096), -EBUSY);
	ck_assert_uint_ne(xensim_guest_broken(w.guest), 0);
	do_unmap(&b.t, 0);
	world_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* read(): indirect tables                                                                     */

START_TEST(read__copies_table_across_pages_in_one_call)
{
	uint8_t dst[48];
	struct gbuf a;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(4096 - 32, 48, XENSIM_DMA_TO_DEVICE, 0);
	pattern(a.p, 48, 0x33);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(w.ops->read(w.q, a.dma, dst, sizeof(dst)), 0);
	ck_assert(has_pattern(dst, 48, 0x33));
	ck_assert_uint_eq(counters().gnt_copy_calls, 1);
	ck_assert_uint_eq(counters().gnt_copy_segs, 2);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	world_down();
}
END_TEST

START_TEST(read__per_desc_maps_and_unmaps)
{
	uint8_t dst[48];
	struct gbuf a;

	world_up(VXEN_GDMA_PER_DESC);
	a = gbuf_new(4096 - 32, 48, XENSIM_DMA_TO_DEVICE, 0);
	pattern(a.p, 48, 0x34);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(w.ops->read(w.q, a.dma, dst, sizeof(dst)), 0);
	ck_assert(has_pattern(dst, 48, 0x34));
	ck_assert_uint_eq(counters().gnt_map_calls, 1);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 1);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	world_down();
}
END_TEST

START_TEST(read__rejects_bad_addresses_and_sizes)
{
	uint8_t dst[64];
	struct gbuf a;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 64, XENSIM_DMA_TO_DEVICE, 0);
	ck_assert_int_eq(w.ops->read(w.q, a.gpa, dst, 16), -EFAULT);
	ck_assert_int_eq(w.ops->read(w.q, vxen_gdma_addr_make(30000, 0), dst, 16), -EFAULT);
	ck_assert_int_eq(w.ops->read(w.q, a.dma, dst, 0), -E2BIG);
	ck_assert_int_eq(w.ops->read(w.q, a.dma, NULL, 16 * QSIZE + 1), -E2BIG);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->read_errors, 4);
	world_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Threads                                                                                     */

#define THREAD_ROUNDS 200

struct thr {
	vxen_gdma_queue *q;
	struct blk b;
	int failures;
};

/* One queue's thread: blk-shaped requests mapped and unmapped (no Check asserts off-thread). */
static void *thr_run(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < THREAD_ROUNDS; i++) {
		struct treq r = t->b.t;

		r.r.desc = r.d;
		r.r.iov = r.iov;
		if (mem_map(t->q, &r.r) || !has_pattern(r.iov[0].iov_base, 16, 0x40)) {
			t->failures++;
			continue;
		}
		*(uint8_t *)r.iov[2].iov_base = (uint8_t)i;
		mem_unmap(t->q, &r.r, 4097);
	}
	return NULL;
}

START_TEST(threads__queues_of_one_device_run_on_separate_threads)
{
	struct xensim_counters c;
	struct thr t[2];
	pthread_t tid[2];

	world_up(VXEN_GDMA_BATCHED);
	t[0].q = w.q;
	ck_assert_int_eq(vxen_gdma_queue_new(&t[1].q, w.g, 1, QSIZE), 0);
	for (int i = 0; i < 2; i++) {
		blk_build(&t[i].b, true);
		t[i].failures = 0;
	}
	xensim_counters_reset(w.x);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL, thr_run, &t[i]), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
	ck_assert_int_eq(t[0].failures + t[1].failures, 0);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 2 * THREAD_ROUNDS);
	ck_assert_uint_eq(c.gnt_unmap_calls, 2 * THREAD_ROUNDS);
	ck_assert_uint_eq(c.gnt_copy_calls, 4 * THREAD_ROUNDS);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	for (int i = 0; i < 2; i++)
		ck_assert_uint_eq(t[i].b.status.p[0], THREAD_ROUNDS - 1);
	vxen_gdma_queue_free(t[1].q);
	world_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gdma_grant");
	TCase *data = tcase_create("data");
	TCase *cross = tcase_create("crossing");
	TCase *rd = tcase_create("read");
	TCase *threads = tcase_create("threads");
	SRunner *sr;
	int failed;

	tcase_add_test(data, grant__maps_large_readable_buffer_read_only);
	tcase_add_test(data, grant__writes_reach_guest_through_map);
	tcase_add_test(data, grant__copies_small_readable_buffer_without_mapping);
	tcase_add_test(data, grant__small_writable_buffer_copies_out_only_written_bytes);
	tcase_add_test(data, grant__small_buffers_crossing_a_page_are_split_per_grant_page);
	tcase_add_test(data, grant__zero_length_descriptors_are_skipped);
	tcase_add_test(data, grant__many_large_buffers_share_one_map_per_protection);
	tcase_add_test(data, grant__many_small_buffers_share_one_copy_in_and_one_copy_out);
	tcase_add_test(data, grant__small_buffers_beyond_the_bounce_budget_are_mapped);
	tcase_add_test(data, grant__copy_threshold_0_maps_everything);
	tcase_add_test(cross, crossing__blk_read_costs_one_map_one_unmap_two_copies);
	tcase_add_test(cross, crossing__blk_write_costs_one_map_one_unmap_two_copies);
	tcase_add_test(cross, crossing__default_threshold_blk_read_costs_no_map_and_two_copies);
	tcase_add_test(cross, crossing__default_threshold_blk_write_costs_no_map_and_two_copies);
	tcase_add_test(data, grant__page_sized_buffers_beyond_the_bounce_pool_are_mapped);
	tcase_add_test(data, grant__rejected_chains_return_their_bounce_buffer);
	tcase_add_test(cross, crossing__per_desc_costs_one_map_and_unmap_per_descriptor);
	tcase_add_test(cross, crossing__guest_ends_access_cleanly_after_unmap);
	tcase_add_test(cross, crossing__ending_access_while_mapped_is_detected);
	tcase_add_test(rd, read__copies_table_across_pages_in_one_call);
	tcase_add_test(rd, read__per_desc_maps_and_unmaps);
	tcase_add_test(rd, read__rejects_bad_addresses_and_sizes);
	tcase_add_test(threads, threads__queues_of_one_device_run_on_separate_threads);
	suite_add_tcase(s, data);
	suite_add_tcase(s, cross);
	suite_add_tcase(s, rd);
	suite_add_tcase(s, threads);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
