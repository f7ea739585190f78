/* SPDX-License-Identifier: MIT */
/*
 * gdma under a real virtqueue: a simulated Linux guest (xensim's split-ring driver on
 * grant-DMA) lays out the rings in granted memory and adds requests; the device side maps the
 * rings with vxen_gdma_map_ring(), walks them with vxen_vq and reaches buffers through the gdma
 * queue. The guest collects used entries and ends grant access exactly as Linux does, so a
 * mapping kept past completion would show up as a broken device.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <virtio-xen/gdma.h>
#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>
#include <xensim-virtio.h>
#include <xensim.h>

#include "gdma_vq_world.h"

#define NUM 8

/* Written for a 512-byte copy threshold: 4 KiB data buffers are mapped. */
static void machine_up(enum vxen_gdma_strategy strategy)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;

	cfg.strategy = strategy;
	cfg.copy_threshold = 512;
	machine_up_cfg(&cfg);
}

/* A queue of NUM entries with rings mapped by gdma and walked by vxen_vq. */
static void vq_up(enum vxen_gdma_strategy strategy, uint64_t features)
{
	struct vxen_vq_config vc = VXEN_VQ_CONFIG_INIT;

	machine_up(strategy);
	rings_up(features, NUM, &vc);
	ck_assert_ptr_eq(vc.mem, vxen_gdma_mem_ops());
	ck_assert_ptr_eq(vc.mem_payload, w.q);
	ck_assert_int_eq(vxen_vq_new(&w.vq, &vc), 0);
}

/* The rings tests: no queue, only the gdma context to free. */
static void machine_down(void)
{
	vxen_gdma_free(w.g);
	machine_stop();
}

/* The device's work: check the header, fill the data, set the status; returns bytes written. */
static uint32_t blk_serve(struct dreq *d, int tag)
{
	struct vxen_iov_cursor cur;
	uint8_t hdr[16], data[4096], status = 0;

	vxen_req_out_cursor(&d->r, &cur);
	ck_assert_uint_eq(vxen_iov_pull(&cur, hdr, sizeof(hdr)), 16);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(hdr[i], (uint8_t)tag);
	memset(data, tag + 1, sizeof(data));
	vxen_req_in_cursor(&d->r, &cur);
	ck_assert_uint_eq(vxen_iov_push(&cur, data, sizeof(data)), 4096);
	ck_assert_uint_eq(vxen_iov_push(&cur, &status, 1), 1);
	return 4097;
}

static void guest_collect(int tag, uint32_t want_len)
{
	void *token;
	uint32_t len;

	ck_assert_int_eq(xensim_vq_get_buf(w.dq, &token, &len), 1);
	ck_assert_ptr_eq(token, (void *)(uintptr_t)(tag + 1));
	ck_assert_uint_eq(len, want_len);
}

/* ------------------------------------------------------------------------------------------ */

START_TEST(vq__blk_request_costs_one_map_one_unmap_two_copies)
{
	struct xensim_counters c;
	struct dreq d;
	struct blk b;

	vq_up(VXEN_GDMA_BATCHED, 0);
	b = blk_add(5);
	dreq_init(&d);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_vq_pop(w.vq, &d.r), 1);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_copy_calls, 1);
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages() + 1);
	ck_assert_int_eq(vxen_vq_push(w.vq, &d.r, blk_serve(&d, 5)), 0);
	/* unmapped at push; the copy-out waits for the publish, which does it before the used
	 * entry and index are visible */
	c = counters();
	ck_assert_uint_eq(c.gnt_unmap_calls, 1);
	ck_assert_uint_eq(c.gnt_copy_calls, 1);
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages());
	ck_assert_uint_eq(le16toh(w.raw.used[1]), 0); /* used.idx: not yet visible */
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(counters().gnt_copy_calls, 2);
	guest_collect(5, 4097);
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	ck_assert_uint_eq(gptr(b.data, 4096)[4095], 6);
	ck_assert_uint_eq(gptr(b.status, 1)[0], 0);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(c.gnt_unmap_calls, 1);
	ck_assert_uint_eq(c.gnt_copy_calls, 2);
	vq_down();
}
END_TEST

START_TEST(vq__per_desc_blk_request_costs_three_maps_three_unmaps)
{
	struct xensim_counters c;
	struct dreq d;

	vq_up(VXEN_GDMA_PER_DESC, 0);
	blk_add(7);
	dreq_init(&d);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_vq_pop(w.vq, &d.r), 1);
	ck_assert_int_eq(vxen_vq_push(w.vq, &d.r, blk_serve(&d, 7)), 0);
	vxen_vq_publish(w.vq);
	guest_collect(7, 4097);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 3);
	ck_assert_uint_eq(c.gnt_unmap_calls, 3);
	ck_assert_uint_eq(c.gnt_copy_calls, 0);
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	vq_down();
}
END_TEST

START_TEST(vq__crossings_per_request_stay_constant_over_many_requests)
{
	const int n = 100;
	struct xensim_counters c;
	struct dreq d;

	vq_up(VXEN_GDMA_BATCHED, 1ull << VXEN_F_EVENT_IDX);
	xensim_counters_reset(w.x);
	for (int i = 0; i < n; i++) {
		blk_add(i & 0x7f);
		dreq_init(&d);
		ck_assert_int_eq(vxen_vq_pop(w.vq, &d.r), 1);
		ck_assert_int_eq(vxen_vq_push(w.vq, &d.r, blk_serve(&d, i & 0x7f)), 0);
		vxen_vq_publish(w.vq);
		guest_collect(i & 0x7f, 4097);
	}
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, n);
	ck_assert_uint_eq(c.gnt_unmap_calls, n);
	ck_assert_uint_eq(c.gnt_copy_calls, 2 * n);
	ck_assert_uint_eq(c.gnt_end_busy, 0);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->requests, n);
	vq_down();
}
END_TEST

START_TEST(vq__indirect_table_read_with_one_grant_copy)
{
	struct xensim_counters c;
	struct dreq d;

	vq_up(VXEN_GDMA_BATCHED, 1ull << VXEN_F_INDIRECT_DESC);
	blk_add(3);
	dreq_init(&d);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_vq_pop(w.vq, &d.r), 1);
	ck_assert_uint_eq(d.r.n_desc, 3);
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 2); /* the table, then header + status probe */
	ck_assert_uint_eq(c.gnt_map_calls, 1);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->reads, 1);
	ck_assert_int_eq(vxen_vq_push(w.vq, &d.r, blk_serve(&d, 3)), 0);
	vxen_vq_publish(w.vq);
	guest_collect(3, 4097);
	vq_down();
}
END_TEST

START_TEST(vq__ro_grant_on_writable_descriptor_rejects_chain_nothing_mapped)
{
	struct xensim_counters c;
	uint64_t gpa, ro;
	struct dreq d;

	vq_up(VXEN_GDMA_BATCHED, 0);
	gpa = galloc(4096, 0);
	ck_assert_int_eq(xensim_dma_map(w.guest, BACKEND, gpa, 4096, XENSIM_DMA_TO_DEVICE, &ro), 0);
	ck_assert_int_eq(xensim_vq_raw_set_desc(w.dq, 0, ro, 4096, XENSIM_VRING_DESC_F_WRITE, 0),
			 0);
	xensim_vq_raw_set_avail(w.dq, 0, 0);
	xensim_vq_raw_set_avail_idx(w.dq, 1);
	dreq_init(&d);
	ck_assert_int_eq(vxen_vq_pop(w.vq, &d.r), -EFAULT);
	c = counters();
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages());
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_fault, 1);
	ck_assert_int_eq(xensim_dma_unmap(w.guest, ro, 4096), 0);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(w.raw.used[1], 1); /* handed back with length 0 */
	vq_down();
}
END_TEST

START_TEST(vq__free_with_request_in_flight_unmaps_it)
{
	struct dreq d;

	vq_up(VXEN_GDMA_BATCHED, 0);
	blk_add(1);
	dreq_init(&d);
	ck_assert_int_eq(vxen_vq_pop(w.vq, &d.r), 1);
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages() + 1);
	vq_queue_free();
	rings_unmap();
	vq_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Rings                                                                                       */

START_TEST(rings__mapped_read_write_until_unmapped)
{
	struct vxen_gdma_dev_stats ds;
	vxen_gdma_ring *r;
	uint64_t dma, gpa;
	void *host;
	uint8_t *p;

	machine_up(VXEN_GDMA_BATCHED);
	ck_assert_int_eq(xensim_dma_alloc(w.guest, BACKEND, 8192, &dma, &gpa, &host), 0);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma + 0x400, 6 + 8 * 256, 4), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 1);
	ck_assert_uint_eq(counters().gnt_live_pages, 1);
	p = vxen_gdma_ring_ptr(r);
	p[0] = 0xab;
	p[6 + 8 * 255] = 0xcd;
	ck_assert_uint_eq(((uint8_t *)host)[0x400], 0xab);
	ck_assert_uint_eq(((uint8_t *)host)[0x400 + 6 + 8 * 255], 0xcd);
	((uint8_t *)host)[0x401] = 0x77;
	ck_assert_uint_eq(p[1], 0x77);
	vxen_gdma_dev_stats(w.g, &ds);
	ck_assert_uint_eq(ds.ring_live, 1);
	ck_assert_uint_eq(ds.ring_live_pages, 1);
	vxen_gdma_unmap_ring(r);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	ck_assert_int_eq(xensim_dma_free(w.guest, dma, gpa, 8192), 0);
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	machine_down();
}
END_TEST

START_TEST(rings__spanning_pages_mapped_with_one_call)
{
	vxen_gdma_ring *r;
	uint64_t dma, gpa;
	void *host;

	machine_up(VXEN_GDMA_BATCHED);
	ck_assert_int_eq(xensim_dma_alloc(w.guest, BACKEND, 4 * 4096, &dma, &gpa, &host), 0);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma + 4096 - 16, 16 * 512, 16), 0);
	ck_assert_uint_eq(counters().gnt_map_calls, 1);
	ck_assert_uint_eq(counters().gnt_map_pages, 3);
	((uint8_t *)host)[4096 - 16 + 16 * 511] = 0x42;
	ck_assert_uint_eq(((uint8_t *)vxen_gdma_ring_ptr(r))[16 * 511], 0x42);
	vxen_gdma_unmap_ring(r);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 1);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	machine_down();
}
END_TEST

START_TEST(rings__rejects_bad_alignment_length_and_addresses)
{
	struct vxen_gdma_dev_stats ds;
	vxen_gdma_ring *r = (vxen_gdma_ring *)0x1;
	uint64_t dma, gpa, ro;
	void *host;

	machine_up(VXEN_GDMA_BATCHED);
	ck_assert_int_eq(xensim_dma_alloc(w.guest, BACKEND, 4096, &dma, &gpa, &host), 0);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma + 2, 128, 16), -EINVAL);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma + 2, 128, 4), -EINVAL);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma, 128, 3), -EINVAL);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma, 128, 0), -EINVAL);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma, 0, 16), -EINVAL);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, dma, VXEN_GDMA_RING_MAX_BYTES + 1, 16),
			 -EINVAL);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, gpa, 128, 16), -EFAULT); /* no bit 63 */
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, UINT64_MAX & ~15ull, 128, 16), -EFAULT);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, vxen_gdma_addr_make(25000, 0), 128, 16),
			 -EFAULT);
	/* a ring granted read-only cannot be mapped writable */
	ck_assert_int_eq(xensim_guest_alloc_pages(w.guest, 1, &gpa), 0);
	ck_assert_int_eq(xensim_dma_map(w.guest, BACKEND, gpa, 4096, XENSIM_DMA_TO_DEVICE, &ro), 0);
	ck_assert_int_eq(vxen_gdma_map_ring(&r, w.g, ro, 128, 16), -EFAULT);
	ck_assert_ptr_eq(r, (vxen_gdma_ring *)0x1);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	vxen_gdma_dev_stats(w.g, &ds);
	ck_assert_uint_eq(ds.ring_map_fails, 10);
	ck_assert_uint_eq(ds.ring_live, 0);
	machine_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gdma_vq");
	TCase *tv = tcase_create("vq");
	TCase *tr = tcase_create("rings");
	SRunner *sr;
	int failed;

	tcase_add_test(tv, vq__blk_request_costs_one_map_one_unmap_two_copies);
	tcase_add_test(tv, vq__per_desc_blk_request_costs_three_maps_three_unmaps);
	tcase_add_test(tv, vq__crossings_per_request_stay_constant_over_many_requests);
	tcase_add_test(tv, vq__indirect_table_read_with_one_grant_copy);
	tcase_add_test(tv, vq__ro_grant_on_writable_descriptor_rejects_chain_nothing_mapped);
	tcase_add_test(tv, vq__free_with_request_in_flight_unmaps_it);
	tcase_add_test(tr, rings__mapped_read_write_until_unmapped);
	tcase_add_test(tr, rings__spanning_pages_mapped_with_one_call);
	tcase_add_test(tr, rings__rejects_bad_alignment_length_and_addresses);
	suite_add_tcase(s, tv);
	suite_add_tcase(s, tr);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
