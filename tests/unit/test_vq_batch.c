/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the batched pop, vxen_vq_pop_many(), and of the version 2 memory interface it
 * drives (read_many, map_many_end, flush), on plain memory.
 *
 * The queue runs over helper_vq.h's rings, but with a memory interface of this file (struct
 * fmem) that implements the version 2 entry points over the plain one and counts every call:
 * how many read()/read_many() calls and table reads, which chains map_many_end() was given in
 * each call, and when flush() ran relative to the used ring. map() and map_many_end() can be
 * made to fail for a chosen head.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "helper_vq.h"

#define FM_HEADS 256 /* heads the fake can fail: queue sizes up to 256 */
#define FM_LOG	 512 /* map_many_end() heads remembered */

struct fmem {
	struct vxen_vq_plain_mem plain;
	struct tvq *t;
	unsigned int reads;		    /* read() calls */
	unsigned int rm_calls, rm_entries;  /* read_many() calls and reads in them */
	unsigned int map_calls, maps;	    /* map() calls, successful ones */
	unsigned int unmaps;		    /* unmap() calls */
	unsigned int mapped_now;	    /* chains mapped and not released */
	unsigned int end_calls, end_last_n; /* map_many_end() calls, n of the last one */
	unsigned int end_total;		    /* chains passed to map_many_end() in all */
	unsigned int end_released;	    /* chains it failed (and released) */
	uint16_t end_heads[FM_LOG];	    /* the first heads passed to map_many_end() */
	int map_err[FM_HEADS];		    /* map() of this head returns this */
	int end_err[FM_HEADS];		    /* map_many_end() fails this head with this */
	uint64_t rd_fail_addr[3];	    /* read_many() fails reads of these addresses ... */
	int rd_fail_err[3];		    /* ... with these results */
	unsigned int flushes;
	void (*on_flush)(struct fmem *fm);
	/* on_flush of the flush test: the used.idx and new entries it must not see yet */
	uint16_t flush_idx_before;
	uint16_t flush_new;
	unsigned int flush_checked;
};

static int fm_read(void *payload, uint64_t addr, void *dst, size_t len)
{
	struct fmem *fm = payload;

	fm->reads++;
	return vxen_vq_plain_mem_ops()->read(&fm->plain, addr, dst, len);
}

static void fm_read_many(void *payload, struct vxen_vq_read *rd, unsigned int n)
{
	struct fmem *fm = payload;

	fm->rm_calls++;
	fm->rm_entries += n;
	for (unsigned int i = 0; i < n; i++) {
		rd[i].result =
			vxen_vq_plain_mem_ops()->read(&fm->plain, rd[i].addr, rd[i].dst, rd[i].len);
		for (int k = 0; k < 3; k++)
			if (fm->rd_fail_err[k] && rd[i].addr == fm->rd_fail_addr[k])
				rd[i].result = fm->rd_fail_err[k];
	}
}

static int fm_map(void *payload, struct vxen_req *req)
{
	struct fmem *fm = payload;
	int r;

	fm->map_calls++;
	ck_assert_uint_lt(req->head, FM_HEADS);
	if (fm->map_err[req->head])
		return fm->map_err[req->head];
	r = vxen_vq_plain_mem_ops()->map(&fm->plain, req);
	if (!r) {
		fm->maps++;
		fm->mapped_now++;
	}
	return r;
}

static void fm_unmap(void *payload, struct vxen_req *req, size_t written)
{
	struct fmem *fm = payload;

	fm->unmaps++;
	ck_assert_uint_gt(fm->mapped_now, 0);
	fm->mapped_now--;
	vxen_vq_plain_mem_ops()->unmap(&fm->plain, req, written);
}

static void fm_map_many_end(void *payload, struct vxen_req *const *reqs, unsigned int n, int *res)
{
	struct fmem *fm = payload;

	fm->end_calls++;
	fm->end_last_n = n;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t head = reqs[i]->head;

		if (fm->end_total < FM_LOG)
			fm->end_heads[fm->end_total] = head;
		fm->end_total++;
		res[i] = fm->end_err[head];
		if (res[i]) {
			/* a failed chain is released here, completely */
			vxen_vq_plain_mem_ops()->unmap(&fm->plain, reqs[i], 0);
			fm->mapped_now--;
			fm->end_released++;
		}
	}
}

static void fm_flush(void *payload)
{
	struct fmem *fm = payload;

	fm->flushes++;
	if (fm->on_flush)
		fm->on_flush(fm);
}

/* The fake's version 1 entry points, in an interface of version @ver. */
#define FM_OPS(ver) .version = (ver), .read = fm_read, .map = fm_map, .unmap = fm_unmap

/* Version 2 with the batch entry points, no deferred copy-out. */
static const struct vxen_vq_mem_ops ops_batch = {
	FM_OPS(VXEN_VQ_MEM_OPS_VERSION),
	.read_many = fm_read_many,
	.map_many_end = fm_map_many_end,
};

/* Version 2 with everything, flush included. */
static const struct vxen_vq_mem_ops ops_flush = {
	FM_OPS(VXEN_VQ_MEM_OPS_VERSION),
	.read_many = fm_read_many,
	.map_many_end = fm_map_many_end,
	.flush = fm_flush,
};

/* Version 2 without any batch entry point. */
static const struct vxen_vq_mem_ops ops_v2_plain = { FM_OPS(VXEN_VQ_MEM_OPS_VERSION) };

/* Entry points a version 1 interface does not have: a queue must never call them. */
static void poison_read_many(void *payload, struct vxen_vq_read *rd, unsigned int n)
{
	(void)payload;
	(void)rd;
	(void)n;
	ck_abort_msg("read_many() of a version 1 interface called");
}

static void poison_map_many_end(void *payload, struct vxen_req *const *reqs, unsigned int n,
				int *res)
{
	(void)payload;
	(void)reqs;
	(void)n;
	(void)res;
	ck_abort_msg("map_many_end() of a version 1 interface called");
}

static void poison_flush(void *payload)
{
	(void)payload;
	ck_abort_msg("flush() of a version 1 interface called");
}

/* A version 1 caller's struct: what lies beyond its fields must be ignored. */
static const struct vxen_vq_mem_ops ops_v1 = {
	FM_OPS(1),
	.read_many = poison_read_many,
	.map_many_end = poison_map_many_end,
	.flush = poison_flush,
};

static struct fmem fm;

/* helper_vq.h's rings of @size, with the queue re-created over @ops and the fake. */
static struct tvq *bq_new(uint32_t size, uint64_t features, const struct vxen_vq_mem_ops *ops)
{
	struct tvq *t = tvq_new(size, features, 1 << 20);
	struct vxen_vq_config cfg = VXEN_VQ_CONFIG_INIT;

	vxen_vq_free(t->vq);
	memset(&fm, 0, sizeof(fm));
	fm.plain = t->tm.plain;
	fm.t = t;
	cfg.size = size;
	cfg.features = features;
	cfg.desc = t->mem + t->desc_off;
	cfg.avail = t->mem + t->avail_off;
	cfg.used = t->mem + t->used_off;
	cfg.mem = ops;
	cfg.mem_payload = &fm;
	ck_assert_int_eq(vxen_vq_new(&t->vq, &cfg), 0);
	return t;
}

/* The test's requests (rq_new()), freed by bq_free(). */
static struct tvq_req *rq;

/* @n requests with @cap descriptors and iov entries each; @ptrs receives their addresses. */
static void rq_new(unsigned int n, unsigned int cap, struct vxen_req **ptrs)
{
	rq = calloc(n, sizeof(*rq));
	ck_assert_ptr_nonnull(rq);
	for (unsigned int i = 0; i < n; i++) {
		tvq_req_init(&rq[i], cap, cap);
		ptrs[i] = &rq[i].req;
	}
}

/* bq_new() and @n requests of 16 entries in @reqs. */
static struct tvq *bq_up(uint32_t size, uint64_t features, const struct vxen_vq_mem_ops *ops,
			 struct vxen_req **reqs, unsigned int n)
{
	struct tvq *t = bq_new(size, features, ops);

	rq_new(n, 16, reqs);
	return t;
}

/* Undo bq_new() and rq_new(). */
static void bq_free(struct tvq *t)
{
	free(rq);
	rq = NULL;
	tvq_free(t);
}

/* @r holds the chain at @head of @n buffers with lengths @lens, the first @n_out readable, as
 * tvq_add() / tvq_add_indirect() laid it out: descriptors, lengths, iov, readable bytes. */
static void check_req(struct tvq *t, const struct vxen_req *r, uint16_t head, unsigned int n_out,
		      unsigned int n, const uint32_t *lens)
{
	uint64_t out = 0, in = 0;

	ck_assert_uint_eq(r->head, head);
	ck_assert_uint_eq(r->n_desc, n);
	ck_assert_uint_eq(r->n_out_desc, n_out);
	ck_assert_uint_eq(r->n_out, n_out);
	ck_assert_uint_eq(r->n_in, n - n_out);
	for (unsigned int k = 0; k < n; k++) {
		const struct vxen_desc *d = &r->desc[k];
		const uint8_t *p = tvq_host(t, d->addr);

		ck_assert_uint_eq(d->len, lens[k]);
		ck_assert_uint_eq(d->flags, k < n_out ? 0 : VXEN_DESC_F_WRITE);
		ck_assert_ptr_eq(r->iov[k].iov_base, p);
		ck_assert_uint_eq(r->iov[k].iov_len, lens[k]);
		if (k < n_out) {
			out += lens[k];
			for (uint32_t i = 0; i < lens[k]; i++)
				ck_assert_uint_eq(p[i], tvq_pattern(d->addr + i));
		} else {
			in += lens[k];
		}
	}
	ck_assert_uint_eq(r->out_len, out);
	ck_assert_uint_eq(r->in_len, in);
}

/* Push the first @n requests of @reqs with 0 bytes written, then publish. */
static void push_all(struct tvq *t, struct vxen_req **reqs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		ck_assert_int_eq(vxen_vq_push(t->vq, reqs[i], 0), 0);
	vxen_vq_publish(t->vq);
}

/* Complete the first @n requests of @reqs (push_all()), then bq_free(). */
static void bq_done(struct tvq *t, struct vxen_req **reqs, unsigned int n)
{
	push_all(t, reqs, n);
	bq_free(t);
}

/* The used entry for @head among the published ones, or -1; its length in *@len. */
static int find_used(struct tvq *t, uint16_t head, uint32_t *len)
{
	uint16_t idx = tvq_used_idx(t);

	for (uint16_t i = 0; i < idx && i < t->size; i++) {
		uint32_t id, l;

		tvq_used_elem(t, i, &id, &l);
		if (id == head) {
			*len = l;
			return i;
		}
	}
	return -1;
}

/* A chain whose head descriptor is INDIRECT with table @table of @len bytes. */
static uint16_t add_indirect_raw(struct tvq *t, uint64_t table, uint32_t len)
{
	uint16_t head = t->next_desc;

	tvq_set_desc(t, head, table, len, VXEN_VRING_DESC_F_INDIRECT, 0);
	t->next_desc = (uint16_t)((head + 1) & (t->size - 1));
	tvq_avail(t, head);
	return head;
}

static const uint32_t lens1[] = { 24 };
static const uint32_t lens3[] = { 16, 512, 1 }; /* a virtio-blk request */

/* Add a one-buffer direct chain (@direct) or a virtio-blk request in an indirect table. */
static uint16_t add_req(struct tvq *t, bool direct)
{
	return direct ? tvq_add(t, 1, 1, lens1) : tvq_add_indirect(t, 1, 3, lens3);
}

/* @r holds the chain at @head that add_req(@direct) made. */
static void check_added(struct tvq *t, const struct vxen_req *r, uint16_t head, bool direct)
{
	if (direct)
		check_req(t, r, head, 1, 1, lens1);
	else
		check_req(t, r, head, 1, 3, lens3);
}

/* @n virtio-blk requests in indirect tables, their heads in @heads. */
static void add_blk_reqs(struct tvq *t, uint16_t *heads, int n)
{
	for (int i = 0; i < n; i++)
		heads[i] = tvq_add_indirect(t, 1, 3, lens3);
}

/* @reqs hold the @n chains add_blk_reqs() made at @heads. */
static void check_blk_reqs(struct tvq *t, struct vxen_req **reqs, const uint16_t *heads, int n)
{
	for (int i = 0; i < n; i++)
		check_req(t, reqs[i], heads[i], 1, 3, lens3);
}

/* The queue popped @popped chains and rejected none. */
static void check_none_rejected(struct tvq *t, uint64_t popped)
{
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->popped, popped);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->rejected, 0);
}

/* The chain at @head went back to the driver with length 0. */
static void check_returned_empty(struct tvq *t, uint16_t head)
{
	uint32_t len;

	ck_assert_int_ge(find_used(t, head, &len), 0);
	ck_assert_uint_eq(len, 0);
}

/* ------------------------------------------------------------------------------------------ */

START_TEST(vq_batch__pops_several_chains_in_ring_order)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
	uint16_t heads[6];
	unsigned int rej = 99;

	for (int i = 0; i < 6; i++)
		heads[i] = add_req(t, i % 2);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, &rej), 6);
	ck_assert_uint_eq(rej, 0);
	for (int i = 0; i < 6; i++)
		check_added(t, reqs[i], heads[i], i % 2);
	check_none_rejected(t, 6);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 6);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0);
	ck_assert_uint_eq(fm.maps, 6);
	/* completions publish the heads in push order */
	for (int i = 5; i >= 0; i--)
		ck_assert_int_eq(vxen_vq_push(t->vq, reqs[i], (uint32_t)reqs[i]->in_len), 0);
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(tvq_used_idx(t), 6);
	for (int i = 0; i < 6; i++) {
		uint32_t id, len;

		tvq_used_elem(t, (uint16_t)i, &id, &len);
		ck_assert_uint_eq(id, heads[5 - i]);
		ck_assert_uint_eq(len, (5 - i) % 2 ? 0 : 513);
	}
	ck_assert_uint_eq(fm.mapped_now, 0);
	/* and nothing more */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__reads_all_indirect_tables_with_one_read_many_call)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
	uint16_t heads[5];

	add_blk_reqs(t, heads, 5);
	tvq_add(t, 1, 1, lens1); /* a direct one among them needs no read */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 6);
	ck_assert_uint_eq(fm.rm_calls, 1);
	ck_assert_uint_eq(fm.rm_entries, 5);
	ck_assert_uint_eq(fm.reads, 0);
	check_blk_reqs(t, reqs, heads, 5);
	bq_done(t, reqs, 6);
}
END_TEST

START_TEST(vq_batch__falls_back_to_read_when_read_many_is_null)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_v2_plain, reqs, 8);
	uint16_t heads[5];

	add_blk_reqs(t, heads, 5);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 5);
	ck_assert_uint_eq(fm.reads, 5);
	ck_assert_uint_eq(fm.rm_calls, 0);
	ck_assert_uint_eq(fm.end_calls, 0);
	check_blk_reqs(t, reqs, heads, 5);
	push_all(t, reqs, 5);
	ck_assert_uint_eq(tvq_used_idx(t), 5);
	ck_assert_uint_eq(fm.mapped_now, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__version_1_ops_work_and_their_missing_fields_are_never_called)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_v1, reqs, 8);
	uint16_t heads[4];

	for (int i = 0; i < 4; i++)
		heads[i] = add_req(t, i == 2);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 4);
	ck_assert_uint_eq(fm.reads, 3);
	for (int i = 0; i < 4; i++)
		check_added(t, reqs[i], heads[i], i == 2);
	/* used entries are written at push, published without flush() */
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[0], 7), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[1], 0), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[2], 0), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[3], 0), 0);
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 4);
	/* single pops too */
	heads[0] = tvq_add_indirect(t, 1, 3, lens3);
	ck_assert_int_eq(vxen_vq_pop(t->vq, reqs[0]), 1);
	check_req(t, reqs[0], heads[0], 1, 3, lens3);
	push_all(t, reqs, 1);
	ck_assert_uint_eq(tvq_used_idx(t), 5);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__calls_map_many_end_once_per_batch_with_every_mapped_chain)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
	uint16_t heads[6];

	for (int i = 0; i < 6; i++)
		heads[i] = add_req(t, i % 3);
	fm.map_err[heads[4]] = -EFAULT; /* map() refuses this one: not in the batch end */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 5);
	ck_assert_uint_eq(fm.map_calls, 6);
	ck_assert_uint_eq(fm.end_calls, 1);
	ck_assert_uint_eq(fm.end_last_n, 5);
	ck_assert_uint_eq(fm.end_heads[0], heads[0]);
	ck_assert_uint_eq(fm.end_heads[1], heads[1]);
	ck_assert_uint_eq(fm.end_heads[2], heads[2]);
	ck_assert_uint_eq(fm.end_heads[3], heads[3]);
	ck_assert_uint_eq(fm.end_heads[4], heads[5]);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->rej_efault, 1);
	push_all(t, reqs, 5);

	/* a second batch is a second call; a single pop ends its batch of one */
	heads[0] = tvq_add(t, 1, 1, lens1);
	heads[1] = tvq_add_indirect(t, 1, 3, lens3);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 2);
	ck_assert_uint_eq(fm.end_calls, 2);
	ck_assert_uint_eq(fm.end_last_n, 2);
	heads[2] = tvq_add(t, 1, 1, lens1);
	ck_assert_int_eq(vxen_vq_pop(t->vq, reqs[2]), 1);
	ck_assert_uint_eq(fm.end_calls, 3);
	ck_assert_uint_eq(fm.end_last_n, 1);
	ck_assert_uint_eq(fm.end_heads[fm.end_total - 1], heads[2]);
	push_all(t, reqs, 3);
	ck_assert_uint_eq(fm.mapped_now, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__chain_failed_at_map_many_end_is_rejected_and_returned_with_length_0)
{
	struct vxen_req *reqs[8], *orig[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
	const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
	unsigned int rej = 0;
	uint16_t heads[5];
	uint32_t len;

	memcpy(orig, reqs, sizeof(orig));
	for (int i = 0; i < 5; i++)
		heads[i] = add_req(t, i % 2);
	fm.end_err[heads[1]] = -EFAULT;
	fm.end_err[heads[2]] = -ENOMEM;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, &rej), 3);
	ck_assert_uint_eq(rej, 2);
	/* the popped ones first, in ring order */
	check_req(t, reqs[0], heads[0], 1, 3, lens3);
	check_req(t, reqs[1], heads[3], 1, 1, lens1);
	check_req(t, reqs[2], heads[4], 1, 3, lens3);
	/* the array still holds the caller's eight requests */
	for (int i = 0; i < 8; i++) {
		int found = 0;

		for (int j = 0; j < 8; j++)
			found += reqs[j] == orig[i];
		ck_assert_int_eq(found, 1);
	}
	ck_assert_uint_eq(st->popped, 3);
	ck_assert_uint_eq(st->rejected, 2);
	ck_assert_uint_eq(st->rej_efault, 1);
	ck_assert_uint_eq(st->rej_enomem, 1);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 3);
	ck_assert_uint_eq(fm.end_released, 2);
	ck_assert_uint_eq(fm.mapped_now, 3);

	push_all(t, reqs, 3);
	ck_assert_uint_eq(tvq_used_idx(t), 5);
	check_returned_empty(t, heads[1]);
	check_returned_empty(t, heads[2]);
	ck_assert_int_ge(find_used(t, heads[0], &len), 0);
	ck_assert_int_ge(find_used(t, heads[3], &len), 0);
	ck_assert_int_ge(find_used(t, heads[4], &len), 0);

	/* the failed heads are not in flight any more: the driver may offer them again */
	fm.end_err[heads[1]] = 0;
	fm.end_err[heads[2]] = 0;
	tvq_avail(t, heads[1]);
	tvq_avail(t, heads[2]);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, &rej), 2);
	ck_assert_uint_eq(rej, 0);
	ck_assert_uint_eq(reqs[0]->head, heads[1]);
	ck_assert_uint_eq(reqs[1]->head, heads[2]);
	push_all(t, reqs, 2);
	ck_assert_uint_eq(fm.mapped_now, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__single_pop_reports_a_map_many_end_failure_and_returns_the_head)
{
	struct vxen_req *reqs[2];
	struct tvq *t = bq_up(16, 0, &ops_batch, reqs, 2);
	uint16_t h0, h1;
	uint32_t len;

	h0 = tvq_add(t, 1, 1, lens1);
	h1 = tvq_add(t, 1, 1, lens1);
	fm.end_err[h0] = -ENOMEM;
	fm.end_err[h1] = -EIO; /* anything unexpected is the guest's address refused */
	ck_assert_int_eq(vxen_vq_pop(t->vq, reqs[0]), -ENOMEM);
	ck_assert_int_eq(vxen_vq_pop(t->vq, reqs[1]), -EFAULT);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->rej_enomem, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->rej_efault, 1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->popped, 0);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 0);
	ck_assert_uint_eq(fm.mapped_now, 0);
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(tvq_used_idx(t), 2);
	ck_assert_int_eq(find_used(t, h0, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(find_used(t, h1, &len), 1);
	ck_assert_uint_eq(len, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__bad_chains_in_an_indirect_batch_are_consumed_and_counted_others_served)
{
	struct vxen_req *reqs[16];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 16);
	const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
	uint64_t buf = tvq_alloc(t, 64), loop_tab = tvq_alloc(t, 32), short_tab = tvq_alloc(t, 32);
	uint16_t good[4], loop, badlen;
	unsigned int rej = 0;

	tvq_set_table_desc(t, loop_tab, 0, buf, 8, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_table_desc(t, loop_tab, 1, buf, 8, VXEN_VRING_DESC_F_NEXT, 0);
	good[0] = tvq_add_indirect(t, 1, 3, lens3);
	tvq_avail(t, 99); /* head out of range */
	good[1] = tvq_add(t, 1, 1, lens1);
	loop = add_indirect_raw(t, loop_tab, 32);
	good[2] = tvq_add_indirect(t, 1, 3, lens3);
	badlen = add_indirect_raw(t, short_tab, 24); /* not a multiple of 16 */
	good[3] = tvq_add_indirect(t, 1, 3, lens3);

	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 16, &rej), 4);
	ck_assert_uint_eq(rej, 3);
	check_req(t, reqs[0], good[0], 1, 3, lens3);
	check_req(t, reqs[1], good[1], 1, 1, lens1);
	check_req(t, reqs[2], good[2], 1, 3, lens3);
	check_req(t, reqs[3], good[3], 1, 3, lens3);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0); /* all seven consumed */
	ck_assert_uint_eq(st->popped, 4);
	ck_assert_uint_eq(st->rejected, 3);
	ck_assert_uint_eq(st->rej_einval, 2);
	ck_assert_uint_eq(st->rej_eloop, 1);
	ck_assert_uint_eq(fm.map_calls, 4);
	ck_assert_uint_eq(fm.end_calls, 1);
	ck_assert_uint_eq(fm.end_last_n, 4);
	/* the bad chains with a valid head go back with length 0; head 99 cannot */
	ck_assert(vxen_vq_publish(t->vq));
	ck_assert_uint_eq(tvq_used_idx(t), 2);
	check_returned_empty(t, loop);
	check_returned_empty(t, badlen);
	push_all(t, reqs, 4);
	ck_assert_uint_eq(tvq_used_idx(t), 6);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__bad_chains_in_a_direct_batch_are_consumed_and_counted_others_served)
{
	struct vxen_req *reqs[16];
	struct tvq *t = bq_up(16, 0, &ops_batch, reqs, 16);
	const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
	uint64_t buf = tvq_alloc(t, 64), tab = tvq_alloc(t, 32);
	uint16_t good[3], loop, ind, order;
	unsigned int rej = 0;

	good[0] = tvq_add(t, 1, 3, lens3);
	loop = t->next_desc++; /* a descriptor that points at itself */
	tvq_set_desc(t, loop, buf, 8, VXEN_VRING_DESC_F_NEXT, loop);
	tvq_avail(t, loop);
	good[1] = tvq_add(t, 1, 1, lens1);
	ind = add_indirect_raw(t, tab, 32); /* INDIRECT without the feature */
	order = t->next_desc;		    /* readable after writable */
	tvq_set_desc(t, order, buf, 8, VXEN_VRING_DESC_F_WRITE | VXEN_VRING_DESC_F_NEXT,
		     (uint16_t)(order + 1));
	tvq_set_desc(t, (uint16_t)(order + 1), buf + 8, 8, 0, 0);
	t->next_desc = (uint16_t)(order + 2);
	tvq_avail(t, order);
	tvq_avail(t, 16); /* head out of range, by one */
	good[2] = tvq_add(t, 1, 3, lens3);

	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 16, &rej), 3);
	ck_assert_uint_eq(rej, 4);
	check_req(t, reqs[0], good[0], 1, 3, lens3);
	check_req(t, reqs[1], good[1], 1, 1, lens1);
	check_req(t, reqs[2], good[2], 1, 3, lens3);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 0);
	ck_assert_uint_eq(st->rejected, 4);
	ck_assert_uint_eq(st->rej_eloop, 1);
	ck_assert_uint_eq(st->rej_einval, 3);
	ck_assert_uint_eq(fm.maps, 3);
	ck_assert_uint_eq(fm.reads + fm.rm_entries, 0);
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(tvq_used_idx(t), 3);
	check_returned_empty(t, loop);
	check_returned_empty(t, ind);
	check_returned_empty(t, order);
	bq_done(t, reqs, 3);
}
END_TEST

/* The table address of the indirect chain at @head. */
static uint64_t table_of(struct tvq *t, uint16_t head)
{
	uint64_t a;

	memcpy(&a, t->mem + t->desc_off + 16 * (size_t)head, 8);
	return le64toh(a);
}

START_TEST(vq_batch__failed_table_read_rejects_only_that_chain)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(32, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
	const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
	unsigned int rej = 0;
	uint16_t h[6];

	add_blk_reqs(t, h, 6);
	fm.rd_fail_addr[0] = table_of(t, h[1]);
	fm.rd_fail_err[0] = -EFAULT;
	fm.rd_fail_addr[1] = table_of(t, h[3]);
	fm.rd_fail_err[1] = -ENOMEM;
	fm.rd_fail_addr[2] = table_of(t, h[4]);
	fm.rd_fail_err[2] = -E2BIG;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, &rej), 3);
	ck_assert_uint_eq(rej, 3);
	ck_assert_uint_eq(fm.rm_calls, 1);
	ck_assert_uint_eq(fm.rm_entries, 6);
	check_req(t, reqs[0], h[0], 1, 3, lens3);
	check_req(t, reqs[1], h[2], 1, 3, lens3);
	check_req(t, reqs[2], h[5], 1, 3, lens3);
	ck_assert_uint_eq(st->rej_efault, 1);
	ck_assert_uint_eq(st->rej_enomem, 1);
	ck_assert_uint_eq(st->rej_e2big, 1);
	ck_assert_uint_eq(fm.map_calls, 3);
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(tvq_used_idx(t), 3);
	for (int i = 1; i < 5; i++) {
		if (i == 2)
			continue;
		check_returned_empty(t, h[i]);
	}
	bq_done(t, reqs, 3);
}
END_TEST

START_TEST(vq_batch__batch_across_the_index_wrap_delivers_every_chain)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
	uint16_t h[8];
	uint32_t id, len;

	/* move both indices to 65533: a batch of 6 then crosses 65535 -> 0 and ring slot 15 -> 0 */
	while (t->avail_idx != 65533) {
		unsigned int k =
			(uint16_t)(65533 - t->avail_idx) < 6 ? (uint16_t)(65533 - t->avail_idx) : 6;

		for (unsigned int i = 0; i < k; i++)
			tvq_add(t, 1, 1, lens1);
		ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), (int)k);
		push_all(t, reqs, k);
		t->data_next = t->data_off; /* every buffer is back: reuse the data area */
	}
	ck_assert_uint_eq(tvq_used_idx(t), 65533);
	for (int i = 0; i < 6; i++)
		h[i] = add_req(t, i % 2);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 6);
	for (int i = 0; i < 6; i++)
		check_added(t, reqs[i], h[i], i % 2);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(vxen_vq_push(t->vq, reqs[i], (uint32_t)i), 0);
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(tvq_used_idx(t), 3);
	for (int i = 0; i < 6; i++) {
		tvq_used_elem(t, (uint16_t)(65533 + i), &id, &len);
		ck_assert_uint_eq(id, h[i]);
		ck_assert_uint_eq(len, i % 2 ? 0 : (uint32_t)i); /* clamped to in_len */
	}
	ck_assert_uint_eq(fm.mapped_now, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__duplicate_head_in_one_batch_is_ebusy)
{
	for (int indirect = 0; indirect < 2; indirect++) {
		struct vxen_req *reqs[8];
		struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 8);
		const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
		unsigned int rej = 0;
		uint16_t h, other;
		uint32_t len;

		h = add_req(t, !indirect);
		tvq_avail(t, h); /* the same head again */
		other = tvq_add(t, 1, 1, lens1);
		ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, &rej), 2);
		ck_assert_uint_eq(rej, 1);
		check_added(t, reqs[0], h, !indirect);
		check_req(t, reqs[1], other, 1, 1, lens1);
		ck_assert_uint_eq(st->rej_ebusy, 1);
		ck_assert_uint_eq(st->rejected, 1);
		ck_assert_uint_eq(vxen_vq_inflight(t->vq), 2);
		/* -EBUSY is not pushed back: the head belongs to the request in flight */
		ck_assert(!vxen_vq_publish(t->vq));
		ck_assert_uint_eq(tvq_used_idx(t), 0);
		push_all(t, reqs, 2);
		ck_assert_uint_eq(tvq_used_idx(t), 2);
		ck_assert_int_eq(find_used(t, h, &len), 0);
		ck_assert_int_eq(find_used(t, other, &len), 1);
		ck_assert_uint_eq(fm.mapped_now, 0);
		bq_free(t);
	}
}
END_TEST

/*
 * A one-descriptor chain taken in the walked part of a batch (after a multi-descriptor chain)
 * whose head comes again later in the same batch: the second is -EBUSY, although both heads were
 * idle when the batch first read them. (Regression: the one-descriptor path trusted that early
 * look and took the head twice; found by fuzz_dev.)
 */
START_TEST(vq_batch__duplicate_single_head_after_a_walked_chain_is_ebusy)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, 0, &ops_batch, reqs, 8);
	const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
	unsigned int rej = 0;
	uint16_t m, h;
	uint32_t len;

	m = tvq_add(t, 1, 3, lens3); /* direct, three descriptors: walked */
	h = tvq_add(t, 1, 1, lens1);
	tvq_avail(t, h); /* the same head again */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, &rej), 2);
	ck_assert_uint_eq(rej, 1);
	ck_assert_uint_eq(st->rej_ebusy, 1);
	check_req(t, reqs[0], m, 1, 3, lens3);
	check_req(t, reqs[1], h, 1, 1, lens1);
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 2);
	push_all(t, reqs, 2);
	ck_assert_uint_eq(tvq_used_idx(t), 2);
	ck_assert_int_eq(find_used(t, h, &len), 1);
	ck_assert_uint_eq(fm.mapped_now, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__respects_n_and_pop_many_max)
{
	enum { N = 100, R = 2 * VXEN_VQ_POP_MANY_MAX + 8 };
	struct tvq *t = bq_new(128, 0, &ops_batch);
	struct vxen_req **reqs = calloc(R, sizeof(*reqs));
	unsigned int rej = 7, at = 0;

	rq_new(R, 4, reqs);

	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(tvq_add(t, 1, 1, lens1), i);
	/* n = 0 takes nothing */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 0, &rej), 0);
	ck_assert_uint_eq(rej, 0);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), N);
	/* n smaller than what is available takes exactly n */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 3, NULL), 3);
	at = 3;
	ck_assert_uint_eq(vxen_vq_pending(t->vq), N - 3);
	/* n larger than VXEN_VQ_POP_MANY_MAX is clamped */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, R - at, NULL), VXEN_VQ_POP_MANY_MAX);
	at += VXEN_VQ_POP_MANY_MAX;
	ck_assert_uint_eq(fm.end_last_n, VXEN_VQ_POP_MANY_MAX);
	/* the rest, fewer than asked */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, R - at, NULL), N - at);
	at = N;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, R - at, NULL), 0);
	for (unsigned int i = 0; i < N; i++)
		check_req(t, reqs[i], (uint16_t)i, 1, 1, lens1);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->popped, N);
	ck_assert_uint_eq(fm.end_calls, 3);
	push_all(t, reqs, N);
	ck_assert_uint_eq(tvq_used_idx(t), N);
	bq_free(t);
	free(reqs);
}
END_TEST

START_TEST(vq_batch__direct_multi_descriptor_chain_with_indirect_feature_goes_alone)
{
	struct vxen_req *reqs[16];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 16);
	uint64_t tab = tvq_alloc(t, 32), b0 = tvq_alloc(t, 8), b1 = tvq_alloc(t, 8),
		 b2 = tvq_alloc(t, 8);
	uint16_t c[7];
	unsigned int at = 0;

	c[0] = tvq_add_indirect(t, 1, 3, lens3);
	c[1] = tvq_add(t, 1, 1, lens1);
	c[2] = tvq_add(t, 1, 3, lens3); /* direct, three descriptors */
	c[3] = tvq_add_indirect(t, 1, 3, lens3);
	c[4] = tvq_add(t, 1, 1, lens1);
	/* direct descriptor, then an indirect table of two */
	c[5] = t->next_desc;
	tvq_set_desc(t, c[5], b0, 8, VXEN_VRING_DESC_F_NEXT, (uint16_t)(c[5] + 1));
	tvq_set_desc(t, (uint16_t)(c[5] + 1), tab, 32, VXEN_VRING_DESC_F_INDIRECT, 0);
	tvq_set_table_desc(t, tab, 0, b1, 8, VXEN_VRING_DESC_F_NEXT, 1);
	tvq_set_table_desc(t, tab, 1, b2, 8, VXEN_VRING_DESC_F_WRITE, 0);
	t->next_desc = (uint16_t)(c[5] + 2);
	tvq_avail(t, c[5]);
	c[6] = tvq_add_indirect(t, 1, 3, lens3);

	/* the batch ends before c2; c2 alone; up to c5; c5 alone (its table read with read());
	 * c6 */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, 16 - at, NULL), 2);
	at += 2;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, 16 - at, NULL), 1);
	at += 1;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, 16 - at, NULL), 2);
	at += 2;
	ck_assert_uint_eq(fm.reads, 0);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, 16 - at, NULL), 1);
	at += 1;
	ck_assert_uint_eq(fm.reads, 1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, 16 - at, NULL), 1);
	at += 1;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + at, 16 - at, NULL), 0);
	ck_assert_uint_eq(fm.rm_calls, 3);
	ck_assert_uint_eq(fm.rm_entries, 3);
	ck_assert_uint_eq(fm.end_calls, 5);

	check_req(t, reqs[0], c[0], 1, 3, lens3);
	check_req(t, reqs[1], c[1], 1, 1, lens1);
	check_req(t, reqs[2], c[2], 1, 3, lens3);
	check_req(t, reqs[3], c[3], 1, 3, lens3);
	check_req(t, reqs[4], c[4], 1, 1, lens1);
	ck_assert_uint_eq(reqs[5]->head, c[5]);
	ck_assert_uint_eq(reqs[5]->n_desc, 3);
	ck_assert_uint_eq(reqs[5]->n_out_desc, 2);
	ck_assert_uint_eq(reqs[5]->desc[0].addr, b0);
	ck_assert_uint_eq(reqs[5]->desc[1].addr, b1);
	ck_assert_uint_eq(reqs[5]->desc[2].addr, b2);
	ck_assert_uint_eq(reqs[5]->desc[2].flags, VXEN_DESC_F_WRITE);
	check_req(t, reqs[6], c[6], 1, 3, lens3);
	check_none_rejected(t, 7);
	bq_done(t, reqs, 7);
}
END_TEST

/* Queue size 8: the table scratch is 8 * 16 bytes. */
static void scratch_round(struct tvq *t, struct vxen_req **reqs, unsigned int entries,
			  unsigned int per_batch)
{
	uint32_t lens[8];
	uint16_t heads[8];
	unsigned int at = 0, calls = 0, rm0 = fm.rm_calls, rme0 = fm.rm_entries;

	for (unsigned int k = 0; k < entries; k++)
		lens[k] = 16 + k;
	for (int i = 0; i < 8; i++)
		heads[i] = tvq_add_indirect(t, entries / 2, entries, lens);
	while (at < 8) {
		int k = vxen_vq_pop_many(t->vq, reqs + at, 8 - at, NULL);

		ck_assert_int_eq(k, (int)(per_batch < 8 - at ? per_batch : 8 - at));
		at += (unsigned int)k;
		calls++;
	}
	ck_assert_uint_eq(calls, (8 + per_batch - 1) / per_batch);
	ck_assert_uint_eq(fm.rm_calls - rm0, calls);
	ck_assert_uint_eq(fm.rm_entries - rme0, 8);
	for (int i = 0; i < 8; i++)
		check_req(t, reqs[i], heads[i], entries / 2, entries, lens);
	ck_assert_uint_eq(fm.reads, 0);
	push_all(t, reqs, 8);
}

START_TEST(vq_batch__tables_that_do_not_fit_the_scratch_end_the_batch_early)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_new(8, TVQ_F_INDIRECT, &ops_batch);

	rq_new(8, 8, reqs);

	scratch_round(t, reqs, 8, 1); /* 128 bytes: one table fills the scratch */
	scratch_round(t, reqs, 4, 2); /* 64 bytes: two per batch */
	scratch_round(t, reqs, 3, 2); /* 48 bytes: two, a third would not fit */
	scratch_round(t, reqs, 2, 4); /* 32 bytes: four */
	check_none_rejected(t, 32);
	bq_free(t);
}
END_TEST

static const uint32_t lens4[] = { 16, 16, 32, 32 };

/* Offered @big then @small (whose desc_cap a four-entry table does not fit), a batch takes the
 * chain at @head, which add_indirect(2, 4, lens4) made, into @big alone. */
static void pop_big_not_small(struct tvq *t, struct vxen_req *big, struct vxen_req *small,
			      uint16_t head)
{
	struct vxen_req *reqs[2] = { big, small };
	unsigned int rej = 0;

	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 2, &rej), 1);
	ck_assert_uint_eq(rej, 0);
	ck_assert_ptr_eq(reqs[0], big);
	check_req(t, big, head, 2, 4, lens4);
}

START_TEST(vq_batch__table_larger_than_a_later_request_desc_cap)
{
	struct vxen_req *ptr[4], *reqs[2];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, ptr, 4);
	const struct vxen_vq_stats *st = vxen_vq_stats(t->vq);
	static const uint32_t lens2[] = { 16, 32 };
	struct vxen_req *big1 = ptr[0], *big2 = ptr[1], *small = ptr[2], *big3 = ptr[3];
	unsigned int rej = 0, reads0;
	uint16_t c0, c1, c2, c3;

	small->desc_cap = 2;
	c0 = tvq_add_indirect(t, 2, 4, lens4);
	c1 = tvq_add_indirect(t, 2, 4, lens4);

	/* c1's table would not fit small, which might take it: the batch ends before c1 */
	pop_big_not_small(t, big1, small, c0);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 1);

	/* taken by a large request, c1 is served: neither lost nor refused */
	pop_big_not_small(t, big2, small, c1);
	ck_assert_uint_eq(st->rej_e2big, 0);

	/* a chain behind a rejected one: the batch still ends before the table that may not fit
	 * the request that would take it, and it is served at the next call */
	tvq_avail(t, 200);
	c2 = tvq_add_indirect(t, 2, 4, lens4);
	reqs[0] = big3;
	reqs[1] = small;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 2, &rej), 0);
	ck_assert_uint_eq(rej, 1);
	ck_assert_uint_eq(st->rej_einval, 1);
	ck_assert_uint_eq(vxen_vq_pending(t->vq), 1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 2, &rej), 1);
	ck_assert_ptr_eq(reqs[0], big3);
	check_req(t, big3, c2, 2, 4, lens4);
	ck_assert_uint_eq(st->rej_e2big, 0);

	/* taken by the small request it truly does not fit: -E2BIG, table never read */
	c3 = tvq_add_indirect(t, 2, 4, lens4);
	reqs[0] = small;
	reads0 = fm.reads + fm.rm_entries;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 1, &rej), 0);
	ck_assert_uint_eq(rej, 1);
	ck_assert_uint_eq(st->rej_e2big, 1);
	ck_assert_uint_eq(fm.reads + fm.rm_entries, reads0);
	/* a table of exactly its capacity fits it */
	c2 = tvq_add_indirect(t, 1, 2, lens2);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 1, &rej), 1);
	ck_assert_uint_eq(rej, 0);
	check_req(t, small, c2, 1, 2, lens2);

	ck_assert_uint_eq(st->popped, 4);
	ck_assert_int_eq(vxen_vq_push(t->vq, big1, 0), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, big2, 0), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, big3, 0), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, small, 0), 0);
	vxen_vq_publish(t->vq);
	check_returned_empty(t, c3);
	ck_assert_uint_eq(tvq_used_idx(t), 5); /* head 200 has no used entry */
	bq_free(t);
}
END_TEST

#define SENTINEL 0xa5a5a5a5u

static uint32_t *used_elems(struct tvq *t)
{
	return (uint32_t *)(t->mem + t->used_off + 4);
}

/* flush() must find used.idx and the elements of this publish as they were before it. */
static void flush_check(struct fmem *f)
{
	struct tvq *t = f->t;

	ck_assert_uint_eq(tvq_used_idx(t), f->flush_idx_before);
	for (uint16_t i = 0; i < f->flush_new; i++) {
		uint16_t slot = (uint16_t)(f->flush_idx_before + i) & (t->size - 1);

		ck_assert_uint_eq(used_elems(t)[2 * slot], SENTINEL);
		ck_assert_uint_eq(used_elems(t)[2 * slot + 1], SENTINEL);
	}
	f->flush_checked++;
}

/* Publish @n new used entries after @before: flush_check() must run (the @flushes-th flush)
 * while none of them is visible yet. */
static void publish_flushed(struct tvq *t, uint16_t before, uint16_t n, unsigned int flushes)
{
	fm.flush_idx_before = before;
	fm.flush_new = n;
	vxen_vq_publish(t->vq);
	ck_assert_uint_eq(fm.flushes, flushes);
	ck_assert_uint_eq(fm.flush_checked, flushes);
	ck_assert_uint_eq(tvq_used_idx(t), before + n);
}

START_TEST(vq_batch__flush_runs_before_used_entries_and_index_are_visible)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, 0, &ops_flush, reqs, 8);
	uint16_t heads[5], bad;
	uint32_t id, len;

	for (uint32_t i = 0; i < 2 * t->size; i++)
		used_elems(t)[i] = SENTINEL;
	fm.on_flush = flush_check;
	for (int i = 0; i < 3; i++)
		heads[i] = tvq_add(t, 0, 1, lens1); /* writable */
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vxen_vq_push(t->vq, reqs[i], (uint32_t)(10 + i)), 0);
	/* pushed, not published: nothing in the shared ring yet */
	ck_assert_uint_eq(used_elems(t)[0], SENTINEL);
	ck_assert_uint_eq(fm.flushes, 0);
	publish_flushed(t, 0, 3, 1);
	for (uint16_t i = 0; i < 3; i++) {
		tvq_used_elem(t, i, &id, &len);
		ck_assert_uint_eq(id, heads[i]);
		ck_assert_uint_eq(len, 10u + i);
	}
	/* nothing new: no flush */
	ck_assert(!vxen_vq_publish(t->vq));
	ck_assert_uint_eq(fm.flushes, 1);

	/* a second round, with a rejected chain: its entry waits for the flush too */
	heads[3] = tvq_add(t, 0, 1, lens1);
	bad = t->next_desc++;
	tvq_set_desc(t, bad, TVQ_BASE, 8, VXEN_VRING_DESC_F_NEXT, 99);
	tvq_avail(t, bad);
	heads[4] = tvq_add(t, 0, 1, lens1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 2);
	ck_assert_uint_eq(tvq_used_idx(t), 3);
	ck_assert_uint_eq(used_elems(t)[2 * 3], SENTINEL);
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[1], 5), 0);
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[0], 6), 0);
	publish_flushed(t, 3, 3, 2);
	tvq_used_elem(t, 3, &id, &len);
	ck_assert_uint_eq(id, bad);
	ck_assert_uint_eq(len, 0);
	tvq_used_elem(t, 4, &id, &len);
	ck_assert_uint_eq(id, heads[4]);
	ck_assert_uint_eq(len, 5);
	tvq_used_elem(t, 5, &id, &len);
	ck_assert_uint_eq(id, heads[3]);
	ck_assert_uint_eq(len, 6);
	ck_assert_uint_eq(used_elems(t)[2 * 6], SENTINEL); /* nothing beyond */
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__broken_ring_returns_eproto)
{
	struct vxen_req *reqs[4];
	struct tvq *t = bq_up(16, 0, &ops_batch, reqs, 4);
	unsigned int rej = 5;

	/* avail.idx more than the queue size ahead */
	tvq_set_avail_idx(t, 17);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 4, &rej), -EPROTO);
	ck_assert_uint_eq(rej, 0);
	ck_assert(vxen_vq_broken(t->vq));
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->broken, 1);
	/* for good, even once the index looks sane again */
	tvq_set_avail_idx(t, 1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 4, &rej), -EPROTO);
	ck_assert_int_eq(vxen_vq_pop(t->vq, reqs[0]), -EPROTO);
	ck_assert_uint_eq(fm.map_calls, 0);
	tvq_free(t);

	/* avail.idx moving backwards */
	t = bq_new(16, 0, &ops_batch);
	tvq_add(t, 1, 1, lens1);
	tvq_add(t, 1, 1, lens1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 4, &rej), 2);
	tvq_set_avail_idx(t, 1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + 2, 2, &rej), -EPROTO);
	ck_assert_uint_eq(rej, 0);
	ck_assert(vxen_vq_broken(t->vq));
	ck_assert_uint_eq(vxen_vq_inflight(t->vq), 2);
	/* requests in flight are still completed and unmapped */
	push_all(t, reqs, 2);
	ck_assert_uint_eq(fm.mapped_now, 0);
	bq_free(t);
}
END_TEST

START_TEST(vq_batch__empty_ring_returns_0)
{
	struct vxen_req *reqs[4];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_batch, reqs, 4);
	unsigned int rej = 5;

	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 4, &rej), 0);
	ck_assert_uint_eq(rej, 0);
	ck_assert_uint_eq(fm.map_calls + fm.end_calls + fm.rm_calls + fm.reads, 0);
	check_none_rejected(t, 0);
	ck_assert(!vxen_vq_broken(t->vq));
	/* and again once drained */
	tvq_add(t, 1, 1, lens1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 4, &rej), 1);
	rej = 5;
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs + 1, 3, &rej), 0);
	ck_assert_uint_eq(rej, 0);
	ck_assert_uint_eq(fm.map_calls, 1);
	ck_assert_uint_eq(fm.end_calls, 1);
	bq_done(t, reqs, 1);
}
END_TEST

START_TEST(vq_batch__moves_avail_event_past_the_whole_batch)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_EVENT_IDX, &ops_batch, reqs, 8);

	for (int i = 0; i < 5; i++)
		tvq_add(t, 1, 1, lens1);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 5);
	ck_assert_uint_eq(tvq_avail_event(t), 5);
	bq_done(t, reqs, 5);
}
END_TEST

START_TEST(vq_batch__free_unmaps_a_popped_batch)
{
	struct vxen_req *reqs[8];
	struct tvq *t = bq_up(16, TVQ_F_INDIRECT, &ops_flush, reqs, 8);

	for (int i = 0; i < 4; i++)
		tvq_add_indirect(t, 1, 3, lens3);
	ck_assert_int_eq(vxen_vq_pop_many(t->vq, reqs, 8, NULL), 4);
	ck_assert_int_eq(vxen_vq_push(t->vq, reqs[0], 0), 0); /* pushed, never published */
	ck_assert_uint_eq(fm.mapped_now, 3);
	vxen_vq_free(t->vq);
	t->vq = NULL;
	ck_assert_uint_eq(fm.mapped_now, 0);
	ck_assert_uint_eq(fm.unmaps, 4);
	ck_assert_uint_eq(fm.flushes, 0); /* free does not flush */
	bq_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq_batch");
	TCase *tc = tcase_create("batch");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, vq_batch__pops_several_chains_in_ring_order);
	tcase_add_test(tc, vq_batch__reads_all_indirect_tables_with_one_read_many_call);
	tcase_add_test(tc, vq_batch__falls_back_to_read_when_read_many_is_null);
	tcase_add_test(tc, vq_batch__version_1_ops_work_and_their_missing_fields_are_never_called);
	tcase_add_test(tc, vq_batch__calls_map_many_end_once_per_batch_with_every_mapped_chain);
	tcase_add_test(
		tc, vq_batch__chain_failed_at_map_many_end_is_rejected_and_returned_with_length_0);
	tcase_add_test(tc,
		       vq_batch__single_pop_reports_a_map_many_end_failure_and_returns_the_head);
	tcase_add_test(
		tc,
		vq_batch__bad_chains_in_an_indirect_batch_are_consumed_and_counted_others_served);
	tcase_add_test(
		tc, vq_batch__bad_chains_in_a_direct_batch_are_consumed_and_counted_others_served);
	tcase_add_test(tc, vq_batch__failed_table_read_rejects_only_that_chain);
	tcase_add_test(tc, vq_batch__batch_across_the_index_wrap_delivers_every_chain);
	tcase_add_test(tc, vq_batch__duplicate_head_in_one_batch_is_ebusy);
	tcase_add_test(tc, vq_batch__duplicate_single_head_after_a_walked_chain_is_ebusy);
	tcase_add_test(tc, vq_batch__respects_n_and_pop_many_max);
	tcase_add_test(tc,
		       vq_batch__direct_multi_descriptor_chain_with_indirect_feature_goes_alone);
	tcase_add_test(tc, vq_batch__tables_that_do_not_fit_the_scratch_end_the_batch_early);
	tcase_add_test(tc, vq_batch__table_larger_than_a_later_request_desc_cap);
	tcase_add_test(tc, vq_batch__flush_runs_before_used_entries_and_index_are_visible);
	tcase_add_test(tc, vq_batch__broken_ring_returns_eproto);
	tcase_add_test(tc, vq_batch__empty_ring_returns_0);
	tcase_add_test(tc, vq_batch__moves_avail_event_past_the_whole_batch);
	tcase_add_test(tc, vq_batch__free_unmaps_a_popped_batch);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
