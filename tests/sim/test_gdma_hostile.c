/* SPDX-License-Identifier: MIT */
/*
 * gdma grant mode against xensim, hostile guests and failures: bad addresses refused before any
 * Xen call (rows 7, 9, 10 of the hostile catalogue), grants Xen refuses (row 8: not granted to
 * us, revoked, read-only for a writable buffer), injected faults, caps, and teardown — each
 * leaving nothing mapped, as the machine sees it.
 */
#include "test_gdma_world.h"

/* ------------------------------------------------------------------------------------------ */
/* Hostile chains: rejected, nothing left mapped                                               */

START_TEST(hostile__ro_grant_on_writable_descriptor_maps_nothing)
{
	struct treq t;
	struct gbuf good, ro;

	world_up(VXEN_GDMA_BATCHED);
	good = gbuf_new(0, 8192, XENSIM_DMA_TO_DEVICE, 0);
	ro = gbuf_new(0, 8192, XENSIM_DMA_TO_DEVICE, 0); /* read-only grant... */
	treq_init(&t);
	treq_add(&t, good.dma, 8192, false);
	treq_add(&t, ro.dma, 8192, true); /* ...used as a writable buffer */
	ck_assert_int_eq(do_map(&t), -EFAULT);
	assert_nothing_mapped();
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_fault, 1);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_requests, 0);
	world_down();
}
END_TEST

START_TEST(hostile__ro_grant_on_small_writable_descriptor_rejected_at_map)
{
	struct treq t;
	struct gbuf hdr, ro;

	world_up(VXEN_GDMA_BATCHED);
	hdr = gbuf_new(0, 16, XENSIM_DMA_TO_DEVICE, 0);
	ro = gbuf_new(0, 1, XENSIM_DMA_TO_DEVICE, 0x5a);
	treq_init(&t);
	treq_add(&t, hdr.dma, 16, false);
	treq_add(&t, ro.dma, 1, true);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	ck_assert_uint_eq(ro.p[0], 0x5a);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(hostile__ro_grant_on_writable_descriptor_per_desc_undoes_earlier_maps)
{
	struct treq t;
	struct gbuf a, b, ro;

	world_up(VXEN_GDMA_PER_DESC);
	a = gbuf_new(0, 16, XENSIM_DMA_TO_DEVICE, 0);
	b = gbuf_new(0, 4096, XENSIM_DMA_FROM_DEVICE, 0);
	ro = gbuf_new(0, 1, XENSIM_DMA_TO_DEVICE, 0);
	treq_init(&t);
	treq_add(&t, a.dma, 16, false);
	treq_add(&t, b.dma, 4096, true);
	treq_add(&t, ro.dma, 1, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	ck_assert_uint_eq(counters().gnt_map_calls, 3);
	ck_assert_uint_eq(counters().gnt_unmap_calls, 2);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(hostile__revoked_grant_rejected)
{
	struct treq t;
	struct gbuf a, b;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	b = gbuf_new(0, 3 * 4096, XENSIM_DMA_FROM_DEVICE, 0);
	ck_assert_int_eq(xensim_grant_revoke(w.guest, (uint32_t)vxen_gdma_addr_gref(b.dma) + 2), 0);
	treq_init(&t);
	treq_add(&t, a.dma, 4096, false);
	treq_add(&t, b.dma, 3 * 4096, true);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(hostile__revoked_small_grant_rejected_by_copy_status)
{
	struct treq t;
	struct gbuf a;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 16, XENSIM_DMA_TO_DEVICE, 0);
	ck_assert_int_eq(xensim_grant_revoke(w.guest, (uint32_t)vxen_gdma_addr_gref(a.dma)), 0);
	treq_init(&t);
	treq_add(&t, a.dma, 16, false);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_fault, 1);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(hostile__grant_to_another_domain_rejected)
{
	struct treq t;
	struct gbuf b = { .len = 4096 };

	world_up(VXEN_GDMA_BATCHED);
	ck_assert_int_eq(xensim_guest_alloc_pages(w.guest, 1, &b.gpa), 0);
	/* granted to domain 7, not to us */
	ck_assert_int_eq(xensim_dma_map(w.guest, 7, b.gpa, 4096, XENSIM_DMA_FROM_DEVICE, &b.dma),
			 0);
	treq_init(&t);
	treq_add(&t, b.dma, 4096, true);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	treq_init(&t);
	treq_add(&t, b.dma, 16, true); /* small: through grant copy */
	ck_assert_int_eq(do_map(&t), -EFAULT);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(hostile__ungranted_ref_rejected)
{
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	treq_init(&t);
	treq_add(&t, vxen_gdma_addr_make(20000, 0), 4096, true);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	assert_nothing_mapped();
	world_down();
}
END_TEST

/* Rows 7, 9, 10: refused by validation, before any Xen call. */
static void expect_rejected_without_crossing(uint64_t addr, uint32_t len, int err)
{
	struct gbuf good = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	struct xensim_counters c;
	struct treq t;

	treq_init(&t);
	treq_add(&t, good.dma, 4096, false); /* a good buffer first: still no map */
	treq_add(&t, addr, len, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), err);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(c.gnt_copy_calls, 0);
	assert_nothing_mapped();
}

START_TEST(hostile__address_without_bit63_rejected_before_mapping)
{
	world_up(VXEN_GDMA_BATCHED);
	expect_rejected_without_crossing(0x10000, 4096, -EFAULT);
	expect_rejected_without_crossing(0x10000, 1, -EFAULT);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_addr, 2);
	world_down();
}
END_TEST

START_TEST(hostile__huge_len_rejected_before_mapping)
{
	world_up(VXEN_GDMA_BATCHED);
	expect_rejected_without_crossing(vxen_gdma_addr_make(100, 0), UINT32_MAX, -E2BIG);
	expect_rejected_without_crossing(vxen_gdma_addr_make(100, 0),
					 (VXEN_GDMA_DEFAULT_MAX_CHAIN_PAGES + 1) * 4096, -E2BIG);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_too_big, 2);
	world_down();
}
END_TEST

START_TEST(hostile__chain_over_page_cap_rejected_before_mapping)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;
	struct gbuf a, b;
	struct treq t;

	cfg.max_chain_pages = 4;
	world_up_cfg(&cfg);
	a = gbuf_new(0, 2 * 4096, XENSIM_DMA_TO_DEVICE, 0);
	b = gbuf_new(1, 2 * 4096, XENSIM_DMA_FROM_DEVICE, 0); /* 3 pages with the offset */
	treq_init(&t);
	treq_add(&t, a.dma, 2 * 4096, false);
	treq_add(&t, b.dma, 2 * 4096, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), -E2BIG);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	/* exactly at the cap is fine */
	treq_init(&t);
	treq_add(&t, a.dma, 2 * 4096, false);
	treq_add(&t, b.dma, 4096 - 1, true);
	treq_add(&t, b.dma, 1, true);
	ck_assert_int_eq(do_map(&t), 0);
	do_unmap(&t, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(hostile__wrapping_and_overflowing_ranges_rejected_before_mapping)
{
	world_up(VXEN_GDMA_BATCHED);
	expect_rejected_without_crossing(UINT64_MAX - 100, 4096, -EFAULT);
	expect_rejected_without_crossing(vxen_gdma_addr_make(UINT32_MAX, 0), 8192, -EFAULT);
	expect_rejected_without_crossing(VXEN_GDMA_GRANT_BIT | 1ull << 50, 16, -EFAULT);
	world_down();
}
END_TEST

START_TEST(hostile__too_many_iov_entries_rejected)
{
	struct gbuf a;
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	treq_init(&t);
	for (int i = 0; i < 4; i++)
		treq_add(&t, a.dma, 4096, false);
	t.r.iov_cap = 3;
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t), -E2BIG);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Faults and caps                                                                             */

START_TEST(fault__failed_second_map_undoes_first)
{
	struct gbuf a, b;
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	b = gbuf_new(0, 4096, XENSIM_DMA_FROM_DEVICE, 0);
	treq_init(&t);
	treq_add(&t, a.dma, 4096, false);
	treq_add(&t, b.dma, 4096, true);
	ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_MAP, 2, EINVAL), 0);
	ck_assert_int_eq(do_map(&t), -EFAULT);
	assert_nothing_mapped();
	/* the same chain maps fine afterwards */
	ck_assert_int_eq(do_map(&t), 0);
	do_unmap(&t, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(fault__host_out_of_memory_is_enomem)
{
	struct gbuf a;
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	treq_init(&t);
	treq_add(&t, a.dma, 4096, false);
	ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_MAP, 1, ENOMEM), 0);
	ck_assert_int_eq(do_map(&t), -ENOMEM);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_nomem, 1);
	assert_nothing_mapped();
	world_down();
}
END_TEST

/* A copy-in call that fails as a whole is tried once more for the chain; failing again, the
 * chain is rejected and nothing stays mapped. */
START_TEST(fault__failed_copy_call_rejects_chain)
{
	struct blk b;

	world_up(VXEN_GDMA_BATCHED);
	blk_build(&b, true);
	ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_COPY, 1, EINVAL), 0);
	ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_COPY, 2, EINVAL), 0);
	ck_assert_int_eq(do_map(&b.t), -EFAULT);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(fault__failed_copy_call_once_is_retried)
{
	struct blk b;

	world_up(VXEN_GDMA_BATCHED);
	blk_build(&b, true);
	ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_COPY, 1, EINVAL), 0);
	ck_assert_int_eq(do_map(&b.t), 0);
	ck_assert(has_pattern(b.t.iov[0].iov_base, 16, 0x40));
	do_unmap(&b.t, 4097);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(fault__revoked_before_copy_out_is_counted_not_fatal)
{
	struct blk b;

	world_up(VXEN_GDMA_BATCHED);
	blk_build(&b, true);
	ck_assert_int_eq(do_map(&b.t), 0);
	*(uint8_t *)b.t.iov[2].iov_base = 0;
	ck_assert_int_eq(xensim_grant_revoke(w.guest, (uint32_t)vxen_gdma_addr_gref(b.status.dma)),
			 0);
	do_unmap(&b.t, 4097);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->copy_out_errors, 1);
	ck_assert_uint_eq(b.status.p[0], 0xff);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(cap__queue_page_cap_rejects_with_enomem_and_has_room_says_so)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;
	struct treq t1, t2;
	struct gbuf a, b;

	cfg.max_chain_pages = 4;
	cfg.max_queue_pages = 6;
	world_up_cfg(&cfg);
	a = gbuf_new(0, 4 * 4096, XENSIM_DMA_FROM_DEVICE, 0);
	b = gbuf_new(0, 4 * 4096, XENSIM_DMA_FROM_DEVICE, 0);
	ck_assert(vxen_gdma_queue_has_room(w.q));
	treq_init(&t1);
	treq_add(&t1, a.dma, 4 * 4096, true);
	ck_assert_int_eq(do_map(&t1), 0);
	ck_assert(!vxen_gdma_queue_has_room(w.q));
	treq_init(&t2);
	treq_add(&t2, b.dma, 4 * 4096, true);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(do_map(&t2), -ENOMEM);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	do_unmap(&t1, 0);
	ck_assert(vxen_gdma_queue_has_room(w.q));
	ck_assert_int_eq(do_map(&t2), 0);
	do_unmap(&t2, 0);
	assert_nothing_mapped();
	world_down();
}
END_TEST

START_TEST(cap__requests_in_flight_bounded_by_queue_size)
{
	static struct treq t[QSIZE + 1];
	struct gbuf a;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 16, XENSIM_DMA_TO_DEVICE, 0);
	for (int i = 0; i < QSIZE; i++) {
		treq_init(&t[i]);
		treq_add(&t[i], a.dma, 16, false);
		ck_assert_int_eq(do_map(&t[i]), 0);
	}
	ck_assert(!vxen_gdma_queue_has_room(w.q));
	treq_init(&t[QSIZE]);
	treq_add(&t[QSIZE], a.dma, 16, false);
	ck_assert_int_eq(do_map(&t[QSIZE]), -ENOMEM);
	for (int i = 0; i < QSIZE; i++)
		do_unmap(&t[i], 0);
	ck_assert(vxen_gdma_queue_has_room(w.q));
	world_down();
}
END_TEST

START_TEST(teardown__queue_free_releases_mappings_left_behind)
{
	struct gbuf a, b;
	struct treq t1, t2;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 8192, XENSIM_DMA_TO_DEVICE, 0);
	b = gbuf_new(0, 4096, XENSIM_DMA_FROM_DEVICE, 0);
	treq_init(&t1);
	treq_add(&t1, a.dma, 8192, false);
	treq_init(&t2);
	treq_add(&t2, b.dma, 4096, true);
	ck_assert_int_eq(do_map(&t1), 0);
	ck_assert_int_eq(do_map(&t2), 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 3);
	vxen_gdma_queue_free(w.q);
	w.q = NULL;
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	ck_assert_int_eq(xensim_dma_unmap(w.guest, a.dma, 8192), 0);
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	world_down();
}
END_TEST

START_TEST(teardown__context_outlives_its_queue)
{
	/* vxen_gdma_free() first: the queue keeps the handles alive until it goes. */
	struct gbuf a;
	struct treq t;

	world_up(VXEN_GDMA_BATCHED);
	a = gbuf_new(0, 4096, XENSIM_DMA_TO_DEVICE, 0);
	vxen_gdma_free(w.g);
	w.g = NULL;
	treq_init(&t);
	treq_add(&t, a.dma, 4096, false);
	ck_assert_int_eq(do_map(&t), 0);
	do_unmap(&t, 0);
	ck_assert_uint_eq(counters().gnt_live_pages, 0);
	world_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Random chains                                                                               */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64: deterministic, so a failure reproduces */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* One random descriptor: mostly parts of real buffers (with either protection), sometimes
 * garbage of every kind the catalogue lists. */
static void random_desc(struct treq *t, const struct gbuf *bufs, int nbufs)
{
	const struct gbuf *b = &bufs[rnd() % nbufs];
	uint64_t off = rnd() % b->len;
	bool write = rnd() & 1;

	switch (rnd() % 8) {
	default:
		treq_add(t, b->dma + off, (uint32_t)(1 + rnd() % (b->len - off)), write);
		break;
	case 4:
		treq_add(t, rnd(), (uint32_t)rnd(), write);
		break;
	case 5:
		treq_add(t, vxen_gdma_addr_make((uint32_t)(rnd() % 64), (unsigned int)rnd()),
			 (uint32_t)(rnd() % 20000), write);
		break;
	case 6:
		treq_add(t, rnd(), 0, write);
		break;
	case 7:
		treq_add(t, UINT64_MAX - rnd() % 8192, (uint32_t)(1 + rnd() % 8192), write);
		break;
	}
}

START_TEST(hostile__random_chains_never_leave_anything_mapped)
{
	static const size_t lens[] = { 16, 1, 3 * 4096 + 5, 600, 8192, 4096 };
	struct gbuf bufs[12];
	int mapped = 0;

	world_up(_i ? VXEN_GDMA_PER_DESC : VXEN_GDMA_BATCHED);
	for (int i = 0; i < 12; i++)
		bufs[i] = gbuf_new((size_t)i * 300 % 4096, lens[i % 6],
				   i < 6 ? XENSIM_DMA_TO_DEVICE : XENSIM_DMA_FROM_DEVICE, 0);
	for (int iter = 0; iter < 400; iter++) {
		unsigned int n = (unsigned int)(rnd() % MAXD);
		struct treq t;
		int rc;

		treq_init(&t);
		for (unsigned int k = 0; k < n; k++)
			random_desc(&t, bufs, 12);
		rc = do_map(&t);
		ck_assert_msg(rc == 0 || rc == -EFAULT || rc == -E2BIG || rc == -ENOMEM,
			      "iteration %d: %d", iter, rc);
		if (!rc) {
			ck_assert_uint_le(t.r.n_out + t.r.n_in, t.r.iov_cap);
			for (unsigned int k = t.r.n_out; k < t.r.n_out + t.r.n_in; k++)
				memset(t.iov[k].iov_base, iter, t.iov[k].iov_len);
			do_unmap(&t, rnd() % (t.r.in_len + 1));
			mapped++;
		}
		assert_nothing_mapped();
	}
	ck_assert_int_gt(mapped, 20); /* the mix really exercises the success path too */
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(xensim_dma_unmap(w.guest, bufs[i].dma, bufs[i].len), 0);
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
	world_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gdma_hostile");
	TCase *host = tcase_create("hostile");
	TCase *fault = tcase_create("faults");
	SRunner *sr;
	int failed;

	tcase_add_test(host, hostile__ro_grant_on_writable_descriptor_maps_nothing);
	tcase_add_test(host, hostile__ro_grant_on_small_writable_descriptor_rejected_at_map);
	tcase_add_test(host, hostile__ro_grant_on_writable_descriptor_per_desc_undoes_earlier_maps);
	tcase_add_test(host, hostile__revoked_grant_rejected);
	tcase_add_test(host, hostile__revoked_small_grant_rejected_by_copy_status);
	tcase_add_test(host, hostile__grant_to_another_domain_rejected);
	tcase_add_test(host, hostile__ungranted_ref_rejected);
	tcase_add_test(host, hostile__address_without_bit63_rejected_before_mapping);
	tcase_add_test(host, hostile__huge_len_rejected_before_mapping);
	tcase_add_test(host, hostile__chain_over_page_cap_rejected_before_mapping);
	tcase_add_test(host, hostile__wrapping_and_overflowing_ranges_rejected_before_mapping);
	tcase_add_test(host, hostile__too_many_iov_entries_rejected);
	tcase_add_loop_test(host, hostile__random_chains_never_leave_anything_mapped, 0, 2);
	tcase_add_test(fault, fault__failed_second_map_undoes_first);
	tcase_add_test(fault, fault__host_out_of_memory_is_enomem);
	tcase_add_test(fault, fault__failed_copy_call_rejects_chain);
	tcase_add_test(fault, fault__failed_copy_call_once_is_retried);
	tcase_add_test(fault, fault__revoked_before_copy_out_is_counted_not_fatal);
	tcase_add_test(fault, cap__queue_page_cap_rejects_with_enomem_and_has_room_says_so);
	tcase_add_test(fault, cap__requests_in_flight_bounded_by_queue_size);
	tcase_add_test(fault, teardown__queue_free_releases_mappings_left_behind);
	tcase_add_test(fault, teardown__context_outlives_its_queue);
	suite_add_tcase(s, host);
	suite_add_tcase(s, fault);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
