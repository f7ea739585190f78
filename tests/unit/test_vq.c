/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the split virtqueue, happy paths and API contract: pop/push/publish on plain
 * memory, readable/writable split, indirect tables, the one-byte translator, in-flight
 * accounting, 16-bit index wrap-around, vxen_vq_new() validation and vxen_vq_free().
 * Hostile-guest rows are in test_vq_hostile.c, notification logic in test_vq_notify.c.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helper_vq.h"

static struct tvq *t;
static struct tvq_req r1, r2, r3;

static void setup(void)
{
	t = tvq_new(16, TVQ_F_INDIRECT, 1 << 20);
	tvq_req_init(&r1, TVQ_REQ_CAP, TVQ_REQ_CAP);
	tvq_req_init(&r2, TVQ_REQ_CAP, TVQ_REQ_CAP);
	tvq_req_init(&r3, TVQ_REQ_CAP, TVQ_REQ_CAP);
}

static void teardown(void)
{
	tvq_free(t);
}

/* Every readable byte the cursor yields matches the pattern at its guest address. */
static void check_out_data(struct tvq_req *r, uint64_t len)
{
	uint64_t seen = 0;

	for (unsigned int i = 0; i < r->req.n_out; i++) {
		const uint8_t *p = r->req.iov[i].iov_base;
		uint64_t addr = TVQ_BASE + (uint64_t)(p - t->mem);

		for (size_t k = 0; k < r->req.iov[i].iov_len; k++)
			ck_assert_uint_eq(p[k], tvq_pattern(addr + k));
		seen += r->req.iov[i].iov_len;
	}
	ck_assert_uint_eq(seen, len);
}

START_TEST(vq__pops_nothing_from_an_empty_ring)
{
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), 0);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 0);
	ck_assert(!vxen_vq_publish(t->vq));
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->published, 0);
}
END_TEST

START_TEST(vq__pops_a_single_readable_descriptor)
{
	uint32_t lens[] = { 100 };
	uint16_t head = tvq_add(t, 1, 1, lens);

	ck_assert_uint_eq(vxen_vq_pending(t->vq), 1);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.head, head);
	ck_assert_uint_eq(r1.req.n_desc, 1);
	ck_assert_uint_eq(r1.req.n_out_desc, 1);
	ck_assert_uint_eq(r1.req.n_out, 1);
	ck_assert_uint_eq(r1.req.n_in, 0);
	ck_assert_uint_eq(r1.req.out_len, 100);
	ck_assert_uint_eq(r1.req.in_len, 0);
	ck_assert_uint_eq(r1.req.desc[0].flags, 0);
	check_out_data(&r1, 100);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 1);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0);
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r2.req), 0);
}
END_TEST

START_TEST(vq__splits_readable_and_writable_parts)
{
	uint32_t lens[] = { 16, 512, 1 };
	struct vxen_iov_cursor in;

	tvq_add(t, 2, 3, lens);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, 3);
	ck_assert_uint_eq(r1.req.n_out_desc, 2);
	ck_assert_uint_eq(r1.req.n_out, 2);
	ck_assert_uint_eq(r1.req.n_in, 1);
	ck_assert_uint_eq(r1.req.out_len, 528);
	ck_assert_uint_eq(r1.req.in_len, 1);
	ck_assert_uint_eq(r1.req.desc[2].flags, VXEN_DESC_F_WRITE);
	check_out_data(&r1, 528);
	vxen_req_in_cursor(&r1.req, &in);
	ck_assert_uint_eq(vxen_iov_push(&in, "\x42", 1), 1);
	ck_assert_uint_eq(*(uint8_t *)tvq_host(t, r1.req.desc[2].addr), 0x42);
}
END_TEST

START_TEST(vq__push_and_publish_return_the_head_with_its_length)
{
	uint32_t lens[] = { 8, 64 };
	uint32_t id, len;
	uint16_t head = tvq_add(t, 1, 2, lens);

	tvq_pop_ok(t, &r1);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 10), 0);
	ck_assert_uint_eq(t->tm.unmaps, 1);
	ck_assert_uint_eq(t->tm.last_written, 10);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 0);
	/* Not visible before publish. */
	ck_assert_uint_eq(tvq_used_idx(t), 0);
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 1);
	tvq_used_elem(t, 0, &id, &len);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->popped, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->pushed, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->published, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->notifies, 1);
}
END_TEST

START_TEST(vq__pops_an_indirect_table)
{
	uint32_t lens[] = { 16, 33, 200, 7 };
	uint16_t head = tvq_add_indirect(t, 2, 4, lens);

	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.head, head);
	ck_assert_uint_eq(r1.req.n_desc, 4);
	ck_assert_uint_eq(r1.req.n_out_desc, 2);
	ck_assert_uint_eq(r1.req.out_len, 49);
	ck_assert_uint_eq(r1.req.in_len, 207);
	ck_assert_uint_eq(r1.req.n_out, 2);
	ck_assert_uint_eq(r1.req.n_in, 2);
	ck_assert_uint_eq(t->tm.reads, 1);
	check_out_data(&r1, 49);
}
END_TEST

START_TEST(vq__pops_direct_descriptors_followed_by_an_indirect_table)
{
	uint64_t table = tvq_alloc(t, 2 * 16);
	uint64_t hdr = tvq_alloc(t, 8), data = tvq_alloc(t, 64), st = tvq_alloc(t, 1);

	tvq_set_desc(t, 3, hdr, 8, VXEN_VRING_DESC_F_NEXT, 9);
	/* The WRITE flag of the descriptor pointing at the table is ignored (spec 2.7.5.3.2). */
	tvq_set_desc(t, 9, table, 32, VXEN_VRING_DESC_F_INDIRECT | VXEN_VRING_DESC_F_WRITE, 0);
	tvq_set_table_desc(t, table, 0, data, 64, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_table_desc(t, table, 1, st, 1, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_avail(t, 3);

	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.head, 3);
	ck_assert_uint_eq(r1.req.n_desc, 3);
	ck_assert_uint_eq(r1.req.n_out_desc, 2);
	ck_assert_uint_eq(r1.req.desc[0].addr, hdr);
	ck_assert_uint_eq(r1.req.desc[1].addr, data);
	ck_assert_uint_eq(r1.req.desc[2].addr, st);
	ck_assert_uint_eq(r1.req.desc[2].flags, VXEN_DESC_F_WRITE);
	ck_assert_uint_eq(r1.req.out_len, 72);
	ck_assert_uint_eq(r1.req.in_len, 1);
}
END_TEST

START_TEST(vq__indirect_table_chain_follows_next_links_in_any_order)
{
	uint64_t table = tvq_alloc(t, 3 * 16);
	uint64_t b0 = tvq_alloc(t, 10), b1 = tvq_alloc(t, 20), b2 = tvq_alloc(t, 30);

	/* The walk starts at entry 0 (spec) and then follows next: 0 -> 2 -> 1. */
	tvq_set_table_desc(t, table, 0, b0, 10, VXEN_VRING_DESC_F_NEXT, 2);
	tvq_set_table_desc(t, table, 2, b2, 30, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_table_desc(t, table, 1, b1, 20, VXEN_VRING_DESC_F_WRITE, 0);
	tvq_set_desc(t, 0, table, 48, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_avail(t, 0);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, 3);
	ck_assert_uint_eq(r1.req.desc[0].addr, b0);
	ck_assert_uint_eq(r1.req.desc[1].addr, b2);
	ck_assert_uint_eq(r1.req.desc[2].addr, b1);
	ck_assert_uint_eq(r1.req.out_len, 40);
	ck_assert_uint_eq(r1.req.in_len, 20);
}
END_TEST

START_TEST(vq__one_byte_translator_delivers_the_same_bytes)
{
	uint32_t lens[] = { 13, 7, 20 };
	struct vxen_iov_cursor out, in;
	uint8_t buf[32], wbuf[20];

	t->tm.plain.max_seg = 1;
	tvq_add(t, 2, 3, lens);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_desc, 3);
	ck_assert_uint_eq(r1.req.n_out, 20);
	ck_assert_uint_eq(r1.req.n_in, 20);
	for (unsigned int i = 0; i < 40; i++)
		ck_assert_uint_eq(r1.req.iov[i].iov_len, 1);
	check_out_data(&r1, 20);

	vxen_req_out_cursor(&r1.req, &out);
	ck_assert_uint_eq(vxen_iov_pull(&out, buf, sizeof(buf)), 20);
	for (unsigned int i = 0; i < 13; i++)
		ck_assert_uint_eq(buf[i], tvq_pattern(r1.req.desc[0].addr + i));
	for (unsigned int i = 0; i < 7; i++)
		ck_assert_uint_eq(buf[13 + i], tvq_pattern(r1.req.desc[1].addr + i));

	for (unsigned int i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(0xa0 + i);
	vxen_req_in_cursor(&r1.req, &in);
	ck_assert_uint_eq(vxen_iov_push(&in, wbuf, sizeof(wbuf)), 20);
	ck_assert_int_eq(memcmp(tvq_host(t, r1.req.desc[2].addr), wbuf, 20), 0);
}
END_TEST

START_TEST(vq__translator_split_respects_max_seg)
{
	uint32_t lens[] = { 10, 9 };

	t->tm.plain.max_seg = 4;
	tvq_add(t, 1, 2, lens);
	tvq_pop_ok(t, &r1);
	ck_assert_uint_eq(r1.req.n_out, 3); /* 4 + 4 + 2 */
	ck_assert_uint_eq(r1.req.n_in, 3);  /* 4 + 4 + 1 */
	ck_assert_uint_eq(r1.req.iov[2].iov_len, 2);
	ck_assert_uint_eq(r1.req.iov[5].iov_len, 1);
}
END_TEST

START_TEST(vq__several_requests_in_flight_complete_out_of_order)
{
	uint32_t lens[] = { 4 };
	uint32_t id, len;
	uint16_t h1 = tvq_add(t, 0, 1, lens);
	uint16_t h2 = tvq_add(t, 0, 1, lens);
	uint16_t h3 = tvq_add(t, 0, 1, lens);

	tvq_pop_ok(t, &r1);
	tvq_pop_ok(t, &r2);
	tvq_pop_ok(t, &r3);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 3);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r2.req, 2), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r3.req, 3), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 4), 0);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 0);
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 3);
	tvq_used_elem(t, 0, &id, &len);
	ck_assert_uint_eq(id, h2);
	ck_assert_uint_eq(len, 2);
	tvq_used_elem(t, 1, &id, &len);
	ck_assert_uint_eq(id, h3);
	tvq_used_elem(t, 2, &id, &len);
	ck_assert_uint_eq(id, h1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->published, 1);
}
END_TEST

START_TEST(vq__push_of_a_request_not_in_flight_is_refused)
{
	uint32_t lens[] = { 4 };

	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 0), -EINVAL);
	tvq_add(t, 0, 1, lens);
	tvq_pop_ok(t, &r1);
	/* Another request structure with the same head is not the one in flight. */
	r2.req.head = r1.req.head;
	ck_assert_int_eq(vxen_vq_push(t->vq, &r2.req, 0), -EINVAL);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 0), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 0), -EINVAL);
	ck_assert_uint_eq(t->tm.unmaps, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->pushed, 1);
}
END_TEST

START_TEST(vq__head_is_reusable_after_push)
{
	tvq_set_desc(t, 5, tvq_alloc(t, 4), 4, 0, 0);
	for (int i = 0; i < 100; i++) {
		tvq_avail(t, 5);
		tvq_pop_ok(t, &r1);
		ck_assert_uint_eq(r1.req.head, 5);
		ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, 0), 0);
		vxen_vq_publish(t->vq);
	}
	ck_assert_uint_eq(tvq_used_idx(t), 100);
	ck_assert_uint_eq(t->tm.maps, 100);
	ck_assert_uint_eq(t->tm.unmaps, 100);
}
END_TEST

START_TEST(vq__indices_wrap_around_at_65536)
{
	uint64_t buf = tvq_alloc(t, 32), wbuf = tvq_alloc(t, 8);
	uint32_t id, len;

	/* A two-descriptor chain at head 7, reused for every request. */
	tvq_set_desc(t, 7, buf, 32, VXEN_VRING_DESC_F_NEXT, 11);
	tvq_set_desc(t, 11, wbuf, 8, VXEN_VRING_DESC_F_WRITE, 0);
	for (uint32_t n = 0; n < 65536 + 40; n++) {
		tvq_avail(t, 7);
		tvq_pop_ok(t, &r1);
		ck_assert_uint_eq(r1.req.head, 7);
		ck_assert_uint_eq(r1.req.out_len, 32);
		ck_assert_int_eq(vxen_vq_push(t->vq, &r1.req, n & 7), 0);
		vxen_vq_publish(t->vq);
		ck_assert_uint_eq(tvq_used_idx(t), (uint16_t)(n + 1));
		tvq_used_elem(t, (uint16_t)n, &id, &len);
		ck_assert_uint_eq(id, 7);
		ck_assert_uint_eq(len, n & 7);
	}
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->popped, 65536 + 40);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->rejected, 0);
}
END_TEST

START_TEST(vq__batch_across_the_wrap_delivers_every_chain)
{
	uint32_t lens[] = { 4, 4 };
	static struct tvq_req rs[16];
	uint16_t heads[16];

	/* Move both indices to 65530, then make 12 chains available in one go. */
	tvq_set_desc(t, 0, tvq_alloc(t, 4), 4, 0, 0);
	for (int n = 0; n < 65530; n++) {
		tvq_avail(t, 0);
		tvq_pop_ok(t, &r1);
		vxen_vq_push(t->vq, &r1.req, 0);
	}
	vxen_vq_publish(t->vq);
	t->next_desc = 0;
	for (int i = 0; i < 12; i++)
		heads[i] = tvq_add(t, 1, 1, lens);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 12);
	for (int i = 0; i < 12; i++) {
		tvq_req_init(&rs[i], 4, 4);
		tvq_pop_ok(t, &rs[i]);
		ck_assert_uint_eq(rs[i].req.head, heads[i]);
	}
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r1.req), 0);
	for (int i = 0; i < 12; i++)
		vxen_vq_push(t->vq, &rs[i].req, 0);
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), (uint16_t)(65530 + 12));
}
END_TEST

START_TEST(vq__avail_idx_is_read_once_per_batch)
{
	uint32_t lens[] = { 4 };

	tvq_add(t, 1, 1, lens);
	tvq_add(t, 1, 1, lens);
	tvq_pop_ok(t, &r1);
	/* The second chain was announced by the index already read: a later change of avail.idx
	 * is not looked at until the batch is consumed. */
	tvq_set_avail_idx(t, 0x8000);
	tvq_pop_ok(t, &r2);
	ck_assert(!vxen_vq_broken(t->vq));
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r3.req), -EPROTO);
}
END_TEST

START_TEST(vq__largest_queue_takes_a_chain_of_32768_descriptors)
{
	const uint32_t q = VXEN_VQ_MAX_SIZE;
	struct tvq *big = tvq_new(q, 0, 4096);
	uint64_t buf = tvq_alloc(big, 1);
	struct vxen_req req = { 0 };

	req.desc_cap = q;
	req.iov_cap = q;
	req.desc = calloc(q, sizeof(*req.desc));
	req.iov = calloc(q, sizeof(*req.iov));
	ck_assert_ptr_nonnull(req.desc);
	ck_assert_ptr_nonnull(req.iov);
	/* All descriptors name the same byte: legal, and it keeps the test small. */
	for (uint32_t i = 0; i < q; i++)
		tvq_set_desc(big, (uint16_t)i, buf, 1, i + 1 < q ? VXEN_VRING_DESC_F_NEXT : 0,
			     (uint16_t)(i + 1));
	tvq_avail(big, 0);
	ck_assert_int_eq(vxen_vq_pop(big->vq, &req), 1);
	ck_assert_uint_eq(req.n_desc, q);
	ck_assert_uint_eq(req.out_len, q);
	ck_assert_int_eq(vxen_vq_push(big->vq, &req, 0), 0);
	/* Close the ring: one more step than the queue size. */
	tvq_set_desc(big, (uint16_t)(q - 1), buf, 1, VXEN_VRING_DESC_F_NEXT, 0);
	tvq_avail(big, 0);
	ck_assert_int_eq(vxen_vq_pop(big->vq, &req), -ELOOP);
	free(req.desc);
	free(req.iov);
	tvq_free(big);
}
END_TEST

START_TEST(vq__free_unmaps_requests_still_in_flight)
{
	uint32_t lens[] = { 4 };

	tvq_add(t, 0, 1, lens);
	tvq_add(t, 0, 1, lens);
	tvq_add(t, 1, 1, lens);
	tvq_pop_ok(t, &r1);
	tvq_pop_ok(t, &r2);
	tvq_pop_ok(t, &r3);
	vxen_vq_push(t->vq, &r2.req, 0);
	ck_assert_uint_eq(t->tm.mapped_now, 2);
	vxen_vq_free(t->vq);
	t->vq = NULL;
	ck_assert_uint_eq(t->tm.maps, 3);
	ck_assert_uint_eq(t->tm.unmaps, 3);
	ck_assert_uint_eq(t->tm.mapped_now, 0);
	ck_assert_uint_eq(t->tm.last_written, 0);
}
END_TEST

START_TEST(vq__free_accepts_null)
{
	vxen_vq_free(NULL);
}
END_TEST

START_TEST(vq__reports_size_and_index)
{
	ck_assert_uint_eq(vxen_vq_size(t->vq), 16);
	ck_assert_uint_eq(vxen_vq_index(t->vq), 0);
	ck_assert(!vxen_vq_broken(t->vq));
}
END_TEST

/* vxen_vq_new() validation. */
static uint8_t ring_mem[65536] __attribute__((aligned(4096)));
static struct vxen_vq_plain_mem pm = { .host = ring_mem, .base = 0, .size = sizeof(ring_mem) };

static struct vxen_vq_config good_config(void)
{
	struct vxen_vq_config cfg = VXEN_VQ_CONFIG_INIT;

	cfg.size = 256;
	cfg.desc = ring_mem;
	cfg.avail = ring_mem + 4096;
	cfg.used = ring_mem + 8192;
	cfg.mem = vxen_vq_plain_mem_ops();
	cfg.mem_payload = &pm;
	return cfg;
}

static int try_new(struct vxen_vq_config cfg)
{
	vxen_vq *vq = (vxen_vq *)0x1;
	int r = vxen_vq_new(&vq, &cfg);

	if (r)
		ck_assert_ptr_eq(vq, (vxen_vq *)0x1); /* untouched on failure */
	else
		vxen_vq_free(vq);
	return r;
}

START_TEST(vq__new_accepts_a_good_configuration)
{
	struct vxen_vq_config cfg = good_config();

	ck_assert_int_eq(try_new(cfg), 0);
	cfg.size = 1;
	ck_assert_int_eq(try_new(cfg), 0);
	cfg.features = TVQ_F_EVENT_IDX | TVQ_F_INDIRECT;
	cfg.size = 512;
	ck_assert_int_eq(try_new(cfg), 0);
}
END_TEST

START_TEST(vq__new_rejects_bad_sizes)
{
	struct vxen_vq_config cfg = good_config();
	uint32_t bad[] = { 0, 3, 100, 65536, VXEN_VQ_MAX_SIZE + 1, 0x80000000u };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.size = bad[i];
		ck_assert_int_eq(try_new(cfg), -EINVAL);
	}
}
END_TEST

START_TEST(vq__new_rejects_misaligned_or_missing_rings)
{
	struct vxen_vq_config cfg = good_config();

	cfg.desc = ring_mem + 8;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg = good_config();
	cfg.avail = ring_mem + 4097;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg = good_config();
	cfg.used = ring_mem + 8194;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg = good_config();
	cfg.used = NULL;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
}
END_TEST

START_TEST(vq__new_rejects_bad_versions_layouts_and_ops)
{
	struct vxen_vq_config cfg = good_config();
	struct vxen_vq_mem_ops ops = *vxen_vq_plain_mem_ops();
	vxen_vq *vq = NULL;

	ck_assert_int_eq(vxen_vq_new(&vq, NULL), -EINVAL);
	ck_assert_int_eq(vxen_vq_new(NULL, &cfg), -EINVAL);
	cfg.version = 0;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg = good_config();
	cfg.layout = (enum vxen_vq_layout)1;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg = good_config();
	cfg.features = 1ull << VXEN_F_RING_PACKED;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg = good_config();
	cfg.mem = NULL;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	cfg.mem = &ops;
	ops.map = NULL;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	ops = *vxen_vq_plain_mem_ops();
	ops.version = VXEN_VQ_MEM_OPS_VERSION + 1;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	ops.version = 0;
	ck_assert_int_eq(try_new(cfg), -EINVAL);
	ops.version = 1; /* the interface before the batch entry points: still accepted */
	ck_assert_int_eq(try_new(cfg), 0);
}
END_TEST

START_TEST(vq__new_resets_the_device_owned_used_header)
{
	struct vxen_vq_config cfg = good_config();
	vxen_vq *vq;

	memset(ring_mem, 0xff, sizeof(ring_mem));
	cfg.features = TVQ_F_EVENT_IDX;
	ck_assert_int_eq(vxen_vq_new(&vq, &cfg), 0);
	ck_assert_uint_eq(*(uint16_t *)(ring_mem + 8192), 0);
	ck_assert_uint_eq(*(uint16_t *)(ring_mem + 8194), 0);
	ck_assert_uint_eq(*(uint16_t *)(ring_mem + 8192 + 4 + 8 * 256), 0);
	vxen_vq_free(vq);
}
END_TEST

/* Plain memory interface. */
START_TEST(vq_plain__read_is_bounds_checked)
{
	const struct vxen_vq_mem_ops *ops = vxen_vq_plain_mem_ops();
	uint8_t host[64], dst[64];
	struct vxen_vq_plain_mem m = { .host = host, .base = 0x1000, .size = sizeof(host) };

	memset(host, 0x5a, sizeof(host));
	ck_assert_int_eq(ops->read(&m, 0x1000, dst, 64), 0);
	ck_assert_uint_eq(dst[63], 0x5a);
	ck_assert_int_eq(ops->read(&m, 0x1030, dst, 16), 0);
	ck_assert_int_eq(ops->read(&m, 0x1040, dst, 0), 0);
	ck_assert_int_eq(ops->read(&m, 0x1031, dst, 16), -EFAULT);
	ck_assert_int_eq(ops->read(&m, 0x0fff, dst, 1), -EFAULT);
	ck_assert_int_eq(ops->read(&m, 0x1041, dst, 0), -EFAULT);
	ck_assert_int_eq(ops->read(&m, UINT64_MAX - 4, dst, 16), -EFAULT);
}
END_TEST

START_TEST(vq_plain__map_rejects_out_of_range_and_overflowing_buffers)
{
	const struct vxen_vq_mem_ops *ops = vxen_vq_plain_mem_ops();
	uint8_t host[64];
	struct vxen_vq_plain_mem m = { .host = host, .base = 0x1000, .size = sizeof(host) };
	struct vxen_desc d[2] = { { .addr = 0x1000, .len = 64 }, { .addr = 0, .len = 0 } };
	struct iovec iov[4];
	struct vxen_req req = {
		.desc = d, .desc_cap = 2, .iov = iov, .iov_cap = 4, .n_desc = 2, .n_out_desc = 2
	};

	ck_assert_int_eq(ops->map(&m, &req), 0);
	ck_assert_uint_eq(req.n_out, 1);
	ck_assert_uint_eq(req.n_in, 0);
	ck_assert_ptr_eq(iov[0].iov_base, host);
	d[0].len = 65;
	ck_assert_int_eq(ops->map(&m, &req), -EFAULT);
	d[0].addr = UINT64_MAX - 3;
	d[0].len = 8;
	ck_assert_int_eq(ops->map(&m, &req), -EFAULT);
	d[0].addr = 0x1000;
	d[0].len = 64;
	m.max_seg = 16;
	ck_assert_int_eq(ops->map(&m, &req), 0);
	ck_assert_uint_eq(req.n_out, 4);
	m.max_seg = 15;
	ck_assert_int_eq(ops->map(&m, &req), -E2BIG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq");
	TCase *tc = tcase_create("core");
	TCase *tn = tcase_create("new");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, vq__pops_nothing_from_an_empty_ring);
	tcase_add_test(tc, vq__pops_a_single_readable_descriptor);
	tcase_add_test(tc, vq__splits_readable_and_writable_parts);
	tcase_add_test(tc, vq__push_and_publish_return_the_head_with_its_length);
	tcase_add_test(tc, vq__pops_an_indirect_table);
	tcase_add_test(tc, vq__pops_direct_descriptors_followed_by_an_indirect_table);
	tcase_add_test(tc, vq__indirect_table_chain_follows_next_links_in_any_order);
	tcase_add_test(tc, vq__one_byte_translator_delivers_the_same_bytes);
	tcase_add_test(tc, vq__translator_split_respects_max_seg);
	tcase_add_test(tc, vq__several_requests_in_flight_complete_out_of_order);
	tcase_add_test(tc, vq__push_of_a_request_not_in_flight_is_refused);
	tcase_add_test(tc, vq__head_is_reusable_after_push);
	tcase_add_test(tc, vq__indices_wrap_around_at_65536);
	tcase_add_test(tc, vq__batch_across_the_wrap_delivers_every_chain);
	tcase_add_test(tc, vq__avail_idx_is_read_once_per_batch);
	tcase_add_test(tc, vq__largest_queue_takes_a_chain_of_32768_descriptors);
	tcase_add_test(tc, vq__free_unmaps_requests_still_in_flight);
	tcase_add_test(tc, vq__free_accepts_null);
	tcase_add_test(tc, vq__reports_size_and_index);
	suite_add_tcase(s, tc);

	tcase_add_test(tn, vq__new_accepts_a_good_configuration);
	tcase_add_test(tn, vq__new_rejects_bad_sizes);
	tcase_add_test(tn, vq__new_rejects_misaligned_or_missing_rings);
	tcase_add_test(tn, vq__new_rejects_bad_versions_layouts_and_ops);
	tcase_add_test(tn, vq__new_resets_the_device_owned_used_header);
	tcase_add_test(tn, vq_plain__read_is_bounds_checked);
	tcase_add_test(tn, vq_plain__map_rejects_out_of_range_and_overflowing_buffers);
	suite_add_tcase(s, tn);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
