/* SPDX-License-Identifier: MIT */
/*
 * The batched pop over grant DMA: vxen_vq_pop_many() with the gdma memory interface, against a
 * simulated Linux guest (xensim's split-ring driver on grant-DMA, indirect tables as Linux makes
 * them for multi-buffer requests), in grant mode. What a batch costs in Xen calls (xensim's
 * counters), how a chain that fails at the batch's end leaves the others alone, when written
 * bytes reach the guest relative to used.idx, and what queue teardown does with copy-outs still
 * pending.
 *
 * Tests that need to know every grant of a chain (to revoke one, or to alias the used ring)
 * write the rings raw (Linux-like indirect tables they build themselves, or direct chains) and
 * read the used ring directly.
 *
 * To see the order of guest-visible effects inside vxen_vq_publish(), this program defines
 * xengnttab_grant_copy() itself: the library's call binds to it at link time, and it forwards to
 * the real (xensim drop-in) one found with dlsym(RTLD_NEXT), letting a test look at guest memory
 * right after each copy.
 */
#include <check.h>
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <virtio-xen/gdma.h>
#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>
#include <xengnttab.h>
#include <xensim-virtio.h>
#include <xensim.h>

#include "gdma_vq_world.h"

#define NUM	   64 /* queue size: the table scratch holds 21 three-entry tables */
#define F_INDIRECT (1ull << VXEN_F_INDIRECT_DESC)

/* ------------------------------------------------------------------------------------------ */
/* Grant copy spy                                                                              */

typedef int (*copy_fn)(xengnttab_handle *, uint32_t, xengnttab_grant_copy_segment_t *);

static struct {
	void (*after)(uint32_t count, const xengnttab_grant_copy_segment_t *segs);
} spy;

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
			 xengnttab_grant_copy_segment_t *segs)
{
	static copy_fn real;
	int rc;

	if (!real)
		real = (copy_fn)dlsym(RTLD_NEXT, "xengnttab_grant_copy");
	ck_assert_ptr_nonnull(real);
	rc = real(xgt, count, segs);
	if (spy.after)
		spy.after(count, segs);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The machine                                                                                 */

/* A queue of @num entries, rings mapped by gdma and walked by vxen_vq over the gdma queue. */
static void vq_up_num(const struct vxen_gdma_config *gcfg, uint64_t features, unsigned int num)
{
	struct vxen_vq_config vc = VXEN_VQ_CONFIG_INIT;

	memset(&spy, 0, sizeof(spy));
	machine_up_cfg(gcfg);
	rings_up(features, num, &vc);
	ck_assert_int_eq(vxen_vq_new(&w.vq, &vc), 0);
}

static void vq_up(const struct vxen_gdma_config *gcfg, uint64_t features)
{
	vq_up_num(gcfg, features, NUM);
}

/* Library default configuration (4096-byte copy threshold: a blk request maps nothing). */
static void vq_up_default(uint64_t features)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;

	vq_up(&cfg, features);
}

/* 512-byte threshold: 4 KiB data buffers are mapped, headers and status bytes copied. */
static void vq_up_mapped(uint64_t features)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;

	cfg.copy_threshold = 512;
	vq_up(&cfg, features);
}

static uint16_t used_idx(void)
{
	return le16toh(w.raw.used[1]);
}

static void used_elem(uint16_t slot, uint32_t *id, uint32_t *len)
{
	const uint32_t *e = (const uint32_t *)w.raw.used_ring + 2 * (slot % w.raw.num);

	*id = le32toh(e[0]);
	*len = le32toh(e[1]);
}

/* ------------------------------------------------------------------------------------------ */
/* virtio-blk reads through the guest driver                                                   */

/* The device's work: check the header, fill the data with tag + 1, status 0. */
static uint32_t blk_serve(struct vxen_req *r, int tag)
{
	struct vxen_iov_cursor cur;
	uint8_t hdr[16], data[4096], status = 0;

	ck_assert_uint_eq(r->n_desc, 3);
	vxen_req_out_cursor(r, &cur);
	ck_assert_uint_eq(vxen_iov_pull(&cur, hdr, sizeof(hdr)), 16);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(hdr[i], (uint8_t)tag);
	memset(data, tag + 1, sizeof(data));
	vxen_req_in_cursor(r, &cur);
	ck_assert_uint_eq(vxen_iov_push(&cur, data, sizeof(data)), 4096);
	ck_assert_uint_eq(vxen_iov_push(&cur, &status, 1), 1);
	return 4097;
}

/* The tag a popped request carries (its header's bytes). */
static int blk_tag(const struct vxen_req *r)
{
	struct vxen_iov_cursor cur;
	uint8_t b;

	vxen_req_out_cursor(r, &cur);
	ck_assert_uint_eq(vxen_iov_pull(&cur, &b, 1), 1);
	return b;
}

/* 4 KiB of @data all @fill and the status byte @status. */
static bool bytes_are(const uint8_t *data, uint8_t fill, const uint8_t *status, uint8_t st)
{
	for (int i = 0; i < 4096; i++)
		if (data[i] != fill)
			return false;
	return *status == st;
}

/* Served by blk_serve(@tag): data tag + 1, status 0. */
static bool blk_done(const struct blk *b, int tag)
{
	return bytes_are(gptr(b->data, 4096), (uint8_t)(tag + 1), gptr(b->status, 1), 0);
}

/* As the guest made it: data 0, status 0xff. */
static bool blk_untouched(const struct blk *b)
{
	return bytes_are(gptr(b->data, 4096), 0, gptr(b->status, 1), 0xff);
}

/* @n reads with tags 0 .. @n - 1, added through the guest driver. */
static void blks_add(struct blk *b, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = blk_add(i);
}

/* Serve and push the first @n popped requests: the i-th carries tag i, or with @by_head the
 * number of its head. */
static void serve_push(struct vxen_req **reqs, int n, bool by_head)
{
	for (int i = 0; i < n; i++) {
		int tag = by_head ? reqs[i]->head : i;

		ck_assert_int_eq(vxen_vq_push(w.vq, reqs[i], blk_serve(reqs[i], tag)), 0);
	}
}

/* The guest collects @n completions, each 4097 bytes, and finds the data of each. */
static void guest_collect(const struct blk *b, int n)
{
	for (int i = 0; i < n; i++) {
		void *token;
		uint32_t len;
		int tag;

		ck_assert_int_eq(xensim_vq_get_buf(w.dq, &token, &len), 1);
		tag = (int)(uintptr_t)token - 1;
		ck_assert_int_ge(tag, 0);
		ck_assert_int_lt(tag, n);
		ck_assert_uint_eq(len, 4097);
		ck_assert(blk_done(&b[tag], tag));
	}
	ck_assert_uint_eq(xensim_guest_broken(w.guest), 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Raw chains with every grant known                                                           */

struct gbuf {
	uint64_t gpa, dma;
	uint8_t *p;
	size_t len;
	bool revoked;
};

static struct gbuf gbuf_new(size_t len, enum xensim_dma_dir dir, uint8_t fill)
{
	struct gbuf b = { .len = len };

	b.gpa = galloc(len, fill);
	b.p = gptr(b.gpa, len);
	ck_assert_int_eq(xensim_dma_map(w.guest, BACKEND, b.gpa, len, dir, &b.dma), 0);
	return b;
}

/* End the guest's grant: 0 unless the backend still maps it. */
static void gbuf_end(struct gbuf *b)
{
	if (!b->revoked)
		ck_assert_int_eq(xensim_dma_unmap(w.guest, b->dma, b->len), 0);
}

static void gbuf_revoke(struct gbuf *b)
{
	ck_assert_int_eq(xensim_grant_revoke(w.guest, (uint32_t)vxen_gdma_addr_gref(b->dma)), 0);
	b->revoked = true;
}

struct rblk {
	struct gbuf tab, hdr, data, status;
};

static void put_desc(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

/* A blk read as Linux lays it out with INDIRECT_DESC: one ring descriptor @head pointing at a
 * read-only table of header, data, status. Made available in avail slot @head. */
static void rblk_add(struct rblk *b, uint16_t head, int tag)
{
	b->hdr = gbuf_new(16, XENSIM_DMA_TO_DEVICE, (uint8_t)tag);
	b->data = gbuf_new(4096, XENSIM_DMA_FROM_DEVICE, 0);
	b->status = gbuf_new(1, XENSIM_DMA_FROM_DEVICE, 0xff);
	b->tab = gbuf_new(48, XENSIM_DMA_BIDIRECTIONAL, 0);
	put_desc(b->tab.p, b->hdr.dma, 16, XENSIM_VRING_DESC_F_NEXT, 1);
	put_desc(b->tab.p + 16, b->data.dma, 4096,
		 XENSIM_VRING_DESC_F_WRITE | XENSIM_VRING_DESC_F_NEXT, 2);
	put_desc(b->tab.p + 32, b->status.dma, 1, XENSIM_VRING_DESC_F_WRITE, 0);
	ck_assert_int_eq(
		xensim_vq_raw_set_desc(w.dq, head, b->tab.dma, 48, XENSIM_VRING_DESC_F_INDIRECT, 0),
		0);
	xensim_vq_raw_set_avail(w.dq, head, head);
}

/* @n of them at heads (and with tags) 0 .. @n - 1; avail.idx is the caller's to move. */
static void rblks_add(struct rblk *b, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		rblk_add(&b[i], i, i);
}

/* The guest ends the grants of @n of them. */
static void rblks_end(struct rblk *b, int n)
{
	for (int i = 0; i < n; i++) {
		gbuf_end(&b[i].tab);
		gbuf_end(&b[i].hdr);
		gbuf_end(&b[i].data);
		gbuf_end(&b[i].status);
	}
}

static bool rblk_done(const struct rblk *b, int tag)
{
	return bytes_are(b->data.p, (uint8_t)(tag + 1), b->status.p, 0);
}

static bool rblk_untouched(const struct rblk *b)
{
	return bytes_are(b->data.p, 0, b->status.p, 0xff);
}

/* The used entry for @head among the first @n, or -1; its length in *@len. */
static int find_used(uint16_t head, uint16_t n, uint32_t *len)
{
	for (uint16_t i = 0; i < n; i++) {
		uint32_t id, l;

		used_elem(i, &id, &l);
		if (id == head) {
			*len = l;
			return i;
		}
	}
	return -1;
}

/* The failure tests' batch: four raw reads at heads 0 .. 3 and eight requests for them. */
#define RB_N 4
static struct {
	struct rblk b[RB_N];
	struct dreq d[2 * RB_N];
	struct vxen_req *reqs[2 * RB_N];
} rb;

/* rb's reads added, the grant @revoke of one of them ended by the guest, the reads made
 * available, rb's requests ready; Xen's counters zeroed. */
static void rb_offer(struct gbuf *revoke)
{
	rblks_add(rb.b, RB_N);
	gbuf_revoke(revoke);
	xensim_vq_raw_set_avail_idx(w.dq, RB_N);
	dreqs_init(rb.d, 2 * RB_N, rb.reqs);
	xensim_counters_reset(w.x);
}

/* The guest ends rb's grants; then vq_down(). */
static void rb_down(void)
{
	rblks_end(rb.b, RB_N);
	vq_down();
}

/* The gdma queue holds no request and no page. */
static void check_queue_idle(void)
{
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_requests, 0);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_pages, 0);
}

/* Pop rb's chains: all but @bad come out, in ring order; @bad is rejected. */
static void rb_pop_all_but(uint16_t bad)
{
	unsigned int rej = 0;

	ck_assert_int_eq(vxen_vq_pop_many(w.vq, rb.reqs, 2 * RB_N, &rej), RB_N - 1);
	ck_assert_uint_eq(rej, 1);
	for (uint16_t i = 0, k = 0; i < RB_N; i++)
		if (i != bad)
			ck_assert_uint_eq(rb.reqs[k++]->head, i);
}

/* Published: all of rb's heads used, @bad with length 0; the others served. */
static void rb_check_all_but_served(uint16_t bad)
{
	uint32_t len;

	ck_assert_uint_eq(used_idx(), RB_N);
	ck_assert_int_ge(find_used(bad, RB_N, &len), 0);
	ck_assert_uint_eq(len, 0);
	for (uint16_t i = 0; i < RB_N; i++)
		if (i != bad)
			ck_assert(rblk_done(&rb.b[i], i));
}

/* ... each of them with a used length of 4097. */
static void rb_check_all_but_used_4097(uint16_t bad)
{
	uint32_t len;

	for (uint16_t i = 0; i < RB_N; i++) {
		if (i == bad)
			continue;
		ck_assert_int_ge(find_used(i, RB_N, &len), 0);
		ck_assert_uint_eq(len, 4097);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Costs                                                                                       */

START_TEST(gdma_batch__eight_blk_requests_cost_one_table_read_one_copy_in_one_copy_out)
{
	struct dreq d[8];
	struct vxen_req *reqs[8];
	struct xensim_vq_stats vs;
	struct xensim_counters c;
	const struct vxen_gdma_stats *st;
	struct blk b[8];

	vq_up_default(F_INDIRECT);
	st = vxen_gdma_queue_stats(w.q);
	blks_add(b, 8);
	xensim_vq_get_stats(w.dq, &vs);
	ck_assert_uint_eq(vs.indirect, 8); /* as Linux: each request one indirect table */
	dreqs_init(d, 8, reqs);
	xensim_counters_reset(w.x);

	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, NULL), 8);
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 2); /* the 8 tables; the 8 copy-ins */
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(st->reads, 8);
	ck_assert_uint_eq(st->copy_calls, 2);
	ck_assert_uint_eq(st->requests, 8);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(blk_tag(reqs[i]), i); /* ring order */
	serve_push(reqs, 8, false);
	/* the copy-out waits for the publish */
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 2);
	ck_assert_uint_eq(used_idx(), 0);
	vxen_vq_publish(w.vq);
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 3);
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(c.gnt_unmap_calls, 0);
	ck_assert_uint_eq(used_idx(), 8);
	ck_assert_uint_eq(st->bounce_out_bytes, 8 * 4097);
	guest_collect(b, 8);
	ck_assert_uint_eq(counters().gnt_end_busy, 0);
	vq_down();
}
END_TEST

START_TEST(gdma_batch__the_same_requests_popped_one_by_one_cost_three_copies_each)
{
	struct dreq d[8];
	struct vxen_req *reqs[8];
	struct blk b[8];

	vq_up_default(F_INDIRECT);
	blks_add(b, 8);
	dreqs_init(d, 8, reqs);
	xensim_counters_reset(w.x);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(vxen_vq_pop(w.vq, reqs[i]), 1);
		ck_assert_int_eq(vxen_vq_push(w.vq, reqs[i], blk_serve(reqs[i], i)), 0);
		vxen_vq_publish(w.vq);
	}
	ck_assert_uint_eq(counters().gnt_copy_calls, 3 * 8);
	guest_collect(b, 8);
	vq_down();
}
END_TEST

START_TEST(gdma_batch__eight_blk_requests_with_mapped_data_cost_one_map_each_and_three_copies)
{
	struct dreq d[8];
	struct vxen_req *reqs[8];
	struct xensim_counters c;
	struct blk b[8];

	vq_up_mapped(F_INDIRECT);
	blks_add(b, 8);
	dreqs_init(d, 8, reqs);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, NULL), 8);
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 2);
	ck_assert_uint_eq(c.gnt_map_calls, 8);
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages() + 8);
	serve_push(reqs, 8, false);
	c = counters();
	ck_assert_uint_eq(c.gnt_unmap_calls, 8); /* unmapped at push, before any used entry */
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages());
	ck_assert_uint_eq(c.gnt_copy_calls, 2);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(counters().gnt_copy_calls, 3);
	guest_collect(b, 8);
	vq_down();
}
END_TEST

START_TEST(gdma_batch__per_desc_strategy_serves_a_batch_with_a_map_per_table_and_descriptor)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;
	struct dreq d[4];
	struct vxen_req *reqs[4];
	struct xensim_counters c;
	struct blk b[4];

	cfg.strategy = VXEN_GDMA_PER_DESC;
	vq_up(&cfg, F_INDIRECT);
	blks_add(b, 4);
	dreqs_init(d, 4, reqs);
	xensim_counters_reset(w.x);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 4, NULL), 4);
	c = counters();
	ck_assert_uint_eq(c.gnt_map_calls, 4 + 4 * 3); /* each table; each descriptor */
	ck_assert_uint_eq(c.gnt_copy_calls, 0);
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages() + 4 * 3);
	serve_push(reqs, 4, false);
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(counters().gnt_copy_calls, 0);
	guest_collect(b, 4);
	vq_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Failures inside a batch                                                                     */

START_TEST(gdma_batch__revoked_grant_in_one_chain_fails_only_that_chain)
{
	const struct vxen_gdma_stats *st;
	const struct vxen_vq_stats *vst;
	struct xensim_counters c;

	vq_up_default(F_INDIRECT);
	st = vxen_gdma_queue_stats(w.q);
	vst = vxen_vq_stats(w.vq);
	rb_offer(&rb.b[2].hdr); /* its copy-in fails in the batch's one copy call */

	rb_pop_all_but(2);
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 2);
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(st->rej_fault, 1);
	ck_assert_uint_eq(st->requests, 3);
	ck_assert_uint_eq(st->live_requests, 3);
	ck_assert_uint_eq(vst->rej_efault, 1);
	ck_assert_uint_eq(vst->popped, 3);
	ck_assert_uint_eq(vxen_vq_inflight(w.vq), 3);
	serve_push(rb.reqs, 3, true);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(counters().gnt_copy_calls, 3);
	rb_check_all_but_served(2);
	rb_check_all_but_used_4097(2);
	ck_assert(rblk_untouched(&rb.b[2]));
	/* nothing stays mapped or pending */
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	check_queue_idle();
	rb_down();
}
END_TEST

START_TEST(gdma_batch__revoked_mapped_buffer_in_one_chain_fails_only_that_chain)
{
	const struct vxen_gdma_stats *st;
	struct xensim_counters c;

	vq_up_mapped(F_INDIRECT);
	st = vxen_gdma_queue_stats(w.q);
	rb_offer(&rb.b[1].data); /* its map fails: the chain is refused by map() */

	rb_pop_all_but(1);
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, 2); /* tables; copy-ins of the three others */
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages() + 3);
	ck_assert_uint_eq(st->rej_fault, 1);
	ck_assert_uint_eq(vxen_vq_stats(w.vq)->rej_efault, 1);
	serve_push(rb.reqs, 3, true);
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	vxen_vq_publish(w.vq);
	rb_check_all_but_served(1);
	rb_check_all_but_used_4097(1);
	ck_assert_uint_eq(rb.b[1].status.p[0], 0xff);
	check_queue_idle();
	rb_down();
}
END_TEST

START_TEST(gdma_batch__unreadable_indirect_table_fails_only_that_chain)
{
	const struct vxen_gdma_stats *st;

	vq_up_default(F_INDIRECT);
	st = vxen_gdma_queue_stats(w.q);
	rb_offer(&rb.b[1].tab); /* its segment fails in the batch's one table read */

	rb_pop_all_but(1);
	ck_assert_uint_eq(counters().gnt_copy_calls, 2);
	ck_assert_uint_eq(st->reads, 4);
	ck_assert_uint_eq(st->read_errors, 1);
	ck_assert_uint_eq(vxen_vq_stats(w.vq)->rej_efault, 1);
	serve_push(rb.reqs, 3, true);
	vxen_vq_publish(w.vq);
	rb_check_all_but_served(1);
	ck_assert(rblk_untouched(&rb.b[1]));
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	rb_down();
}
END_TEST

/* A copy-in call that fails as a whole (a host problem) is tried again chain by chain: one
 * failure costs no chain. */
START_TEST(gdma_batch__failed_copy_in_call_is_retried_chain_by_chain)
{
	struct vxen_req *reqs[8];
	struct dreq d[8];
	struct rblk b[4];
	unsigned int rej = 0;
	uint64_t copies;

	vq_up_mapped(F_INDIRECT);
	rblks_add(b, 4);
	xensim_vq_raw_set_avail_idx(w.dq, 4);
	dreqs_init(d, 8, reqs);
	copies = counters().gnt_copy_calls;
	/* the second grant copy: the first reads the tables, the second copies in */
	ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_COPY, 2, ENOMEM), 0);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, &rej), 4);
	ck_assert_uint_eq(rej, 0);
	/* tables, the failed batch call, then one call per chain */
	ck_assert_uint_eq(counters().gnt_copy_calls - copies, 1 + 1 + 4);
	serve_push(reqs, 4, false);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(used_idx(), 4);
	for (uint16_t i = 0; i < 4; i++)
		ck_assert(rblk_done(&b[i], i));
	rblks_end(b, 4);
	vq_down();
}
END_TEST

/* When the retries fail too, every chain of the batch is rejected and nothing stays mapped. */
START_TEST(gdma_batch__failed_copy_in_call_rejects_every_chain_of_the_batch_and_maps_nothing)
{
	const struct vxen_gdma_stats *st;
	struct vxen_req *reqs[8];
	struct dreq d[8];
	struct rblk b[4];
	unsigned int rej = 0;
	uint32_t id, len;

	vq_up_mapped(F_INDIRECT); /* data pages mapped: they must be released again */
	st = vxen_gdma_queue_stats(w.q);
	rblks_add(b, 4);
	xensim_vq_raw_set_avail_idx(w.dq, 4);
	dreqs_init(d, 8, reqs);
	/* the second grant copy (the first reads the tables) and the four per-chain retries */
	for (unsigned int nth = 2; nth <= 6; nth++)
		ck_assert_int_eq(xensim_fault_inject(w.x, XENSIM_OP_GNT_COPY, nth, ENOMEM), 0);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, &rej), 0);
	ck_assert_uint_eq(rej, 4);
	ck_assert_uint_eq(vxen_vq_stats(w.vq)->rej_enomem, 4);
	ck_assert_uint_eq(st->rej_nomem, 4);
	check_queue_idle();
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	ck_assert_uint_eq(vxen_vq_inflight(w.vq), 0);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(used_idx(), 4);
	for (uint16_t i = 0; i < 4; i++) {
		used_elem(i, &id, &len);
		ck_assert_uint_eq(id, i);
		ck_assert_uint_eq(len, 0);
		ck_assert(rblk_untouched(&b[i]));
	}
	/* the host recovered: the same heads offered again are served */
	for (uint16_t i = 0; i < 4; i++)
		xensim_vq_raw_set_avail(w.dq, (uint16_t)(4 + i), i);
	xensim_vq_raw_set_avail_idx(w.dq, 8);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, &rej), 4);
	ck_assert_uint_eq(rej, 0);
	serve_push(reqs, 4, false);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(used_idx(), 8);
	for (uint16_t i = 0; i < 4; i++)
		ck_assert(rblk_done(&b[i], i));
	rblks_end(b, 4);
	vq_down();
}
END_TEST

/* A direct chain at descriptors 3 * i .. 3 * i + 2: header (16, read-only), data (256,
 * writable), status (1, writable), each small enough to be grant-copied: 5 copy-in segments. */
struct dblk {
	struct gbuf hdr, data, status;
};

static void dblk_add(struct dblk *b, uint16_t i)
{
	uint16_t d = (uint16_t)(3 * i);

	b->hdr = gbuf_new(16, XENSIM_DMA_TO_DEVICE, (uint8_t)i);
	b->data = gbuf_new(256, XENSIM_DMA_FROM_DEVICE, 0);
	b->status = gbuf_new(1, XENSIM_DMA_FROM_DEVICE, 0xff);
	ck_assert_int_eq(xensim_vq_raw_set_desc(w.dq, d, b->hdr.dma, 16, XENSIM_VRING_DESC_F_NEXT,
						(uint16_t)(d + 1)),
			 0);
	ck_assert_int_eq(
		xensim_vq_raw_set_desc(w.dq, (uint16_t)(d + 1), b->data.dma, 256,
				       XENSIM_VRING_DESC_F_WRITE | XENSIM_VRING_DESC_F_NEXT,
				       (uint16_t)(d + 2)),
		0);
	ck_assert_int_eq(xensim_vq_raw_set_desc(w.dq, (uint16_t)(d + 2), b->status.dma, 1,
						XENSIM_VRING_DESC_F_WRITE, 0),
			 0);
	xensim_vq_raw_set_avail(w.dq, i, d);
}

/* 64 chains of 5 copy segments: more than one grant copy call can carry (GDMA_PEND_SEGS in
 * lib/gdma_internal.h, 256), so the batch's copy-ins run in two calls; a failed segment in
 * either marks only its own chain. */
START_TEST(gdma_batch__copy_ins_beyond_one_call_still_fail_only_their_own_chain)
{
	enum { N = VXEN_VQ_POP_MANY_MAX, SEGS = 5, PEND = 256 };
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;
	static struct dreq d[N];
	static struct dblk b[N];
	struct vxen_req *reqs[N];
	const int bad[2] = { 10, 60 }; /* one in each copy call */
	unsigned int rej = 0;
	uint32_t len;

	cfg.copy_threshold = 512;
	vq_up_num(&cfg, 0, 256);
	for (uint16_t i = 0; i < N; i++)
		dblk_add(&b[i], i);
	gbuf_revoke(&b[bad[0]].hdr);
	gbuf_revoke(&b[bad[1]].hdr);
	xensim_vq_raw_set_avail_idx(w.dq, N);
	dreqs_init(d, N, reqs);
	xensim_counters_reset(w.x);

	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, N, &rej), N - 2);
	ck_assert_uint_eq(rej, 2);
	ck_assert_uint_eq(counters().gnt_copy_calls, (N * SEGS + PEND - 1) / PEND);
	ck_assert_uint_eq(counters().gnt_map_calls, 0);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->rej_fault, 2);
	for (int i = 0, k = 0; i < N; i++) {
		struct vxen_iov_cursor cur;
		uint8_t data[256], status = 0;

		if (i == bad[0] || i == bad[1])
			continue;
		ck_assert_uint_eq(reqs[k]->head, 3 * i);
		ck_assert_int_eq(blk_tag(reqs[k]), i);
		memset(data, i + 1, sizeof(data));
		vxen_req_in_cursor(reqs[k], &cur);
		ck_assert_uint_eq(vxen_iov_push(&cur, data, sizeof(data)), 256);
		ck_assert_uint_eq(vxen_iov_push(&cur, &status, 1), 1);
		ck_assert_int_eq(vxen_vq_push(w.vq, reqs[k], 257), 0);
		k++;
	}
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(used_idx(), N);
	for (int i = 0; i < N; i++) {
		bool failed = i == bad[0] || i == bad[1];

		ck_assert_int_ge(find_used((uint16_t)(3 * i), N, &len), 0);
		ck_assert_uint_eq(len, failed ? 0 : 257);
		ck_assert_uint_eq(b[i].data.p[0], failed ? 0 : (uint8_t)(i + 1));
		ck_assert_uint_eq(b[i].data.p[255], failed ? 0 : (uint8_t)(i + 1));
		ck_assert_uint_eq(b[i].status.p[0], failed ? 0xff : 0);
	}
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_requests, 0);
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	for (int i = 0; i < N; i++) {
		gbuf_end(&b[i].hdr);
		gbuf_end(&b[i].data);
		gbuf_end(&b[i].status);
	}
	vq_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Ordering                                                                                    */

/* What the guest could see right after each copy-out call (all segments towards the guest). */
static struct {
	const struct blk *b;
	int n;
	unsigned int out_calls;
	uint16_t idx_seen;
	bool data_seen, elems_empty;
} seen;

static void after_copy(uint32_t count, const xengnttab_grant_copy_segment_t *segs)
{
	for (uint32_t i = 0; i < count; i++)
		if (!(segs[i].flags & GNTCOPY_dest_gref))
			return; /* a copy-in (or a table read) */
	seen.out_calls++;
	seen.idx_seen = used_idx();
	seen.data_seen = true;
	for (int i = 0; i < seen.n; i++)
		seen.data_seen = seen.data_seen && blk_done(&seen.b[i], i);
	seen.elems_empty = true;
	for (uint16_t i = 0; i < seen.n; i++) {
		uint32_t id, len;

		used_elem(i, &id, &len);
		seen.elems_empty = seen.elems_empty && id == 0 && len == 0;
	}
}

START_TEST(gdma_batch__data_is_in_guest_memory_before_used_idx)
{
	struct dreq d[8];
	struct vxen_req *reqs[8];
	struct blk b[8];

	vq_up_default(F_INDIRECT);
	blks_add(b, 8);
	dreqs_init(d, 8, reqs);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, NULL), 8);
	serve_push(reqs, 8, false);
	/* pushed: neither the data nor the used entries have reached the guest yet */
	for (int i = 0; i < 8; i++)
		ck_assert(blk_untouched(&b[i]));
	ck_assert_uint_eq(used_idx(), 0);
	seen.b = b;
	seen.n = 8;
	spy.after = after_copy;
	ck_assert(vxen_vq_publish(w.vq));
	spy.after = NULL;
	/* one copy-out call; when it was done, the guest had every byte but no used entry */
	ck_assert_uint_eq(seen.out_calls, 1);
	ck_assert(seen.data_seen);
	ck_assert_uint_eq(seen.idx_seen, 0);
	ck_assert(seen.elems_empty);
	ck_assert_uint_eq(used_idx(), 8);
	guest_collect(b, 8);
	vq_down();
}
END_TEST

/* A hostile guest aims a writable buffer at its own used ring: the device's copy-out lands
 * there at the publish, but the used elements are written after it and stay right. */
START_TEST(gdma_batch__copy_out_aliasing_the_used_ring_cannot_corrupt_used_entries)
{
	struct vxen_req *reqs[4];
	struct dreq d[4];
	uint8_t junk[16];
	uint32_t id, len;

	vq_up_default(0);
	/* head 0: one writable buffer over used.ring[0] and [1] */
	ck_assert_int_eq(xensim_vq_raw_set_desc(w.dq, 0, w.raw.used_dma + 4, 16,
						XENSIM_VRING_DESC_F_WRITE, 0),
			 0);
	xensim_vq_raw_set_avail(w.dq, 0, 0);
	xensim_vq_raw_set_avail_idx(w.dq, 1);
	dreqs_init(d, 4, reqs);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 4, NULL), 1);
	ck_assert_uint_eq(reqs[0]->n_in, 1);
	memset(junk, 0xee, sizeof(junk));
	memcpy(reqs[0]->iov[0].iov_base, junk, sizeof(junk));
	ck_assert_int_eq(vxen_vq_push(w.vq, reqs[0], 16), 0);
	vxen_vq_publish(w.vq);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->bounce_out_bytes, 16);
	ck_assert_uint_eq(used_idx(), 1);
	used_elem(0, &id, &len);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 16);
	used_elem(1, &id, &len); /* the rest of the buffer did land */
	ck_assert_uint_eq(id, 0xeeeeeeeeu);
	ck_assert_uint_eq(len, 0xeeeeeeeeu);
	vq_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Teardown                                                                                    */

START_TEST(gdma_batch__pending_copy_outs_dropped_at_queue_free_leave_nothing_mapped)
{
	struct dreq d[8];
	struct vxen_req *reqs[8];
	struct xensim_counters c;
	struct blk b[4];
	uint64_t copies;

	vq_up_mapped(F_INDIRECT); /* data mapped: the pushed ones had pages to unmap too */
	blks_add(b, 4);
	dreqs_init(d, 8, reqs);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, NULL), 4);
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages() + 4);
	/* two completed and never published, two still in flight */
	ck_assert_int_eq(vxen_vq_push(w.vq, reqs[0], blk_serve(reqs[0], 0)), 0);
	ck_assert_int_eq(vxen_vq_push(w.vq, reqs[1], blk_serve(reqs[1], 1)), 0);
	blk_serve(reqs[2], 2);
	c = counters();
	copies = c.gnt_copy_calls;
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages() + 2);

	vq_queue_free();
	c = counters();
	ck_assert_uint_eq(c.gnt_copy_calls, copies); /* dropped, not copied */
	ck_assert_uint_eq(c.gnt_live_pages, ring_pages());
	/* the status bytes were bounce bytes: never reached the guest */
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(gptr(b[i].status, 1)[0], 0xff);
	ck_assert_uint_eq(used_idx(), 0);
	rings_unmap();
	ck_assert_uint_eq(counters().gnt_end_busy, 0);
	vq_down(); /* the guest's unmaps of the four chains find nothing mapped */
}
END_TEST

/* Default configuration: four blk requests popped, served and pushed, never published, the
 * virtqueue freed. Returns the grant copy calls made so far. */
static uint64_t four_pushed_then_vq_freed(struct blk *b)
{
	struct dreq d[8];
	struct vxen_req *reqs[8];
	uint64_t copies;

	vq_up_default(F_INDIRECT);
	blks_add(b, 4);
	dreqs_init(d, 8, reqs);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 8, NULL), 4);
	serve_push(reqs, 4, false);
	copies = counters().gnt_copy_calls;
	vxen_vq_free(w.vq);
	w.vq = NULL;
	return copies;
}

START_TEST(gdma_batch__pending_copy_outs_of_default_config_dropped_at_queue_free)
{
	struct blk b[4];
	uint64_t copies = four_pushed_then_vq_freed(b);

	vxen_gdma_queue_free(w.q);
	w.q = NULL;
	ck_assert_uint_eq(counters().gnt_copy_calls, copies);
	ck_assert_uint_eq(counters().gnt_live_pages, ring_pages());
	for (int i = 0; i < 4; i++)
		ck_assert(blk_untouched(&b[i])); /* every written byte was a bounce byte */
	vq_down();
}
END_TEST

/* vxen_vq_free() discards what its pushes left for a publish, even if the gdma queue lives on
 * (a caller re-creating its virtqueue over it): a later flush writes nothing to guest memory
 * the driver may have reused since. */
START_TEST(gdma_batch__vq_free_discards_pending_copy_outs_while_the_gdma_queue_lives_on)
{
	struct blk b[4];
	uint64_t copies = four_pushed_then_vq_freed(b);

	vxen_gdma_mem_ops()->flush(w.q);
	ck_assert_uint_eq(counters().gnt_copy_calls, copies);
	for (int i = 0; i < 4; i++)
		ck_assert(blk_untouched(&b[i]));
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_requests, 0);
	ck_assert(vxen_gdma_queue_has_room(w.q));
	vq_down();
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Room                                                                                        */

START_TEST(gdma_batch__queue_room_counts_chains_of_the_largest_size_left_in_the_page_cap)
{
	struct vxen_gdma_config cfg = VXEN_GDMA_CONFIG_INIT;
	struct dreq d[8];
	struct vxen_req *reqs[8];
	struct blk b[4];

	cfg.copy_threshold = 512; /* each blk request maps its one data page */
	cfg.max_chain_pages = 4;
	cfg.max_queue_pages = 7;
	vq_up(&cfg, F_INDIRECT);
	ck_assert_uint_eq(vxen_gdma_queue_room(w.q), 7 / 4);
	blks_add(b, 4);
	dreqs_init(d, 8, reqs);
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs, 3, NULL), 3);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_pages, 3);
	ck_assert_uint_eq(vxen_gdma_queue_room(w.q), (7 - 3) / 4);
	ck_assert(vxen_gdma_queue_has_room(w.q));
	ck_assert_int_eq(vxen_vq_pop_many(w.vq, reqs + 3, 1, NULL), 1);
	ck_assert_uint_eq(vxen_gdma_queue_stats(w.q)->live_pages, 4);
	ck_assert_uint_eq(vxen_gdma_queue_room(w.q), (7 - 4) / 4);
	ck_assert(!vxen_gdma_queue_has_room(w.q));
	serve_push(reqs, 4, false);
	ck_assert_uint_eq(vxen_gdma_queue_room(w.q), 7 / 4);
	vxen_vq_publish(w.vq);
	guest_collect(b, 4);
	vq_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gdma_batch");
	TCase *tc = tcase_create("batch");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
		       gdma_batch__eight_blk_requests_cost_one_table_read_one_copy_in_one_copy_out);
	tcase_add_test(tc, gdma_batch__the_same_requests_popped_one_by_one_cost_three_copies_each);
	tcase_add_test(
		tc,
		gdma_batch__eight_blk_requests_with_mapped_data_cost_one_map_each_and_three_copies);
	tcase_add_test(
		tc,
		gdma_batch__per_desc_strategy_serves_a_batch_with_a_map_per_table_and_descriptor);
	tcase_add_test(tc, gdma_batch__revoked_grant_in_one_chain_fails_only_that_chain);
	tcase_add_test(tc, gdma_batch__revoked_mapped_buffer_in_one_chain_fails_only_that_chain);
	tcase_add_test(tc, gdma_batch__unreadable_indirect_table_fails_only_that_chain);
	tcase_add_test(tc, gdma_batch__failed_copy_in_call_is_retried_chain_by_chain);
	tcase_add_test(
		tc,
		gdma_batch__failed_copy_in_call_rejects_every_chain_of_the_batch_and_maps_nothing);
	tcase_add_test(tc, gdma_batch__copy_ins_beyond_one_call_still_fail_only_their_own_chain);
	tcase_add_test(tc, gdma_batch__data_is_in_guest_memory_before_used_idx);
	tcase_add_test(tc, gdma_batch__copy_out_aliasing_the_used_ring_cannot_corrupt_used_entries);
	tcase_add_test(tc,
		       gdma_batch__pending_copy_outs_dropped_at_queue_free_leave_nothing_mapped);
	tcase_add_test(tc, gdma_batch__pending_copy_outs_of_default_config_dropped_at_queue_free);
	tcase_add_test(
		tc, gdma_batch__vq_free_discards_pending_copy_outs_while_the_gdma_queue_lives_on);
	tcase_add_test(
		tc, gdma_batch__queue_room_counts_chains_of_the_largest_size_left_in_the_page_cap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
