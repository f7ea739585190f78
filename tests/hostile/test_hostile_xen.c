/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_xen.c — hostile-guest catalogue rows 28 and 29 (Xen level: ioreq slot contents,
 * spurious wake-ups) and the foreign-mapping half of row 7, against the REAL virtio-blk device
 * of examples/blk on the whole stack (helper_hostile.h). Row 30 (guest death, xenstore removal,
 * domid reuse) is in test_hostile_lifecycle.c.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <virtio-xen/ioreq.h>
#include <virtio-xen/mmio.h>
#include <xen/hvm/ioreq.h>

#include "helper_hostile.h"

/* ---- 28 ---------------------------------------------------------------------------------- */

struct srv_args {
	struct hw *w;
	struct vxen_ioreq_stats st;
};

static void get_srv_stats(void *arg)
{
	struct srv_args *a = arg;

	vxen_ioreq_server_stats(a->w->a.srv, &a->st);
}

static struct vxen_ioreq_stats srv_stats(struct hw *w)
{
	struct srv_args a = { .w = w };

	hw_call(w, get_srv_stats, &a);
	return a.st;
}

struct raw_case {
	const char *what;
	uint8_t type, data_is_ptr;
	uint32_t count, size;
	uint64_t answer; /* to a read of Status (0xf) */
	bool rejected;	 /* counted as rejected MMIO (else as another type) */
};

/*
 * ioreq.h: not handled by a device -> a read answers all-ones in its low `size` bytes. (Port
 * I/O and accesses of size 0 are not routed to an MMIO ioreq server by Xen — nor by xensim, which
 * fails them with -EFAULT in the guest — so they cannot reach the backend; the classification of
 * such slots is covered by tests/unit/test_ioreq_classify.c and tests/fuzz/fuzz_ioreq.c.)
 */
static const struct raw_case raw_cases[] = {
	{ "rep count 2", IOREQ_TYPE_COPY, 0, 2, 4, 0xffffffffu, true },
	{ "rep count 0", IOREQ_TYPE_COPY, 0, 0, 4, 0xffffffffu, true },
	{ "data_is_ptr", IOREQ_TYPE_COPY, 1, 1, 4, 0xffffffffu, true },
	{ "size 3", IOREQ_TYPE_COPY, 0, 1, 3, 0xffffffu, true },
	{ "size 16", IOREQ_TYPE_COPY, 0, 1, 16, ~0ULL, true },
	{ "PCI config", IOREQ_TYPE_PCI_CONFIG, 0, 1, 4, 0xffffffffu, false },
	{ "timeoffset", IOREQ_TYPE_TIMEOFFSET, 0, 1, 4, 0xffffffffu, false },
	{ "unknown type 0x55", 0x55, 0, 1, 2, 0xffff, false },
};

START_TEST(hostile__r28_malformed_ioreq_answered_without_touching_the_device)
{
	const struct raw_case *c = &raw_cases[_i];
	struct xensim_ioreq rq = { 0 };
	struct vxen_ioreq_stats s0, s1;
	uint64_t v = 0x5a5a;
	struct hw w;

	hw_up(&w, NULL);
	s0 = srv_stats(&w);
	rq.addr = HW_BASE_A + VXEN_MMIO_STATUS;
	rq.type = c->type;
	rq.data_is_ptr = c->data_is_ptr;
	rq.count = c->count;
	rq.size = c->size;
	rq.dir = IOREQ_READ;
	ck_assert_int_eq(xensim_ioreq_raw(w.g, 0, &rq, &v), 0);
	ck_assert_msg(v == c->answer, "%s: read answered 0x%llx", c->what, (unsigned long long)v);
	/* The same as a write of 0 (a reset) must not reach the register file. */
	rq.dir = IOREQ_WRITE;
	rq.data = 0;
	ck_assert_int_eq(xensim_ioreq_raw(w.g, 0, &rq, &v), 0);
	ck_assert_uint_eq(hw_status(&w), 0xf);
	s1 = srv_stats(&w);
	ck_assert_uint_eq(s1.requests - s0.requests, 3);
	ck_assert_uint_eq(s1.rejected - s0.rejected, c->rejected ? 2 : 0);
	ck_assert_uint_eq(s1.other_types - s0.other_types, c->rejected ? 0 : 2);
	ck_assert_uint_eq(s1.mmio_writes, s0.mmio_writes);
	ck_assert_uint_eq(s1.mmio_reads - s0.mmio_reads, 1); /* the Status read above */
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* An access that starts in the window and runs past its end belongs to no device. */
START_TEST(hostile__r28_access_straddling_the_window_end_unclaimed)
{
	struct vxen_ioreq_stats s0, s1;
	struct hw w;
	uint64_t v = 0;

	hw_up(&w, NULL);
	s0 = srv_stats(&w);
	ck_assert_int_eq(xensim_mmio_read(w.g, 0, HW_BASE_A + 0x1fc, 8, &v), 0);
	ck_assert_uint_eq(v, ~0ULL);
	ck_assert_int_eq(xensim_mmio_write(w.g, 0, HW_BASE_A + 0x1fe, 4, 0), 0);
	s1 = srv_stats(&w);
	ck_assert_uint_eq(s1.unclaimed - s0.unclaimed, 2);
	ck_assert_uint_eq(s1.mmio_reads + s1.mmio_writes, s0.mmio_reads + s0.mmio_writes);
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* IOREQ_TYPE_INVALIDATE is acknowledged and flushes nothing: the rings stay mapped, the queue
 * keeps working without remapping. */
START_TEST(hostile__r28_invalidate_acknowledged_rings_kept)
{
	struct xensim_ioreq rq = { 0 };
	struct vxen_ioreq_stats s0, s1;
	struct hw w;
	uint64_t v, maps;

	hw_up(&w, NULL);
	hw_serve_one(&w, 0, 1);
	s0 = srv_stats(&w);
	maps = hw_dstats(&w, &w.a).gdma.ring_maps;
	rq.type = IOREQ_TYPE_INVALIDATE;
	rq.count = 1;
	rq.size = 8;
	rq.dir = IOREQ_WRITE;
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(xensim_ioreq_raw(w.g, (unsigned int)i % HW_VCPUS, &rq, &v), 0);
	s1 = srv_stats(&w);
	ck_assert_uint_eq(s1.invalidates - s0.invalidates, 10);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_maps, maps);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 6);
	hw_serve_one(&w, 3, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 29 ---------------------------------------------------------------------------------- */

START_TEST(hostile__r29_wakeup_with_slot_not_ready_ignored)
{
	struct vxen_ioreq_stats s0, s1;
	struct hw w;
	uint64_t v;

	hw_up(&w, NULL);
	s0 = srv_stats(&w);
	/* The backend thread is busy; the guest's access times out and Xen takes the slot back,
	 * leaving an event whose slot is no longer READY. */
	hw_block(&w);
	xensim_guest_set_timeout(w.g, 100);
	ck_assert_int_eq(xensim_mmio_read(w.g, 0, HW_BASE_A + VXEN_MMIO_MAGIC_VALUE, 4, &v),
			 -ETIMEDOUT);
	hw_unblock(&w);
	xensim_guest_set_timeout(w.g, HW_TMO);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_MAGIC_VALUE), VXEN_MMIO_MAGIC);
	s1 = srv_stats(&w);
	ck_assert_uint_ge(s1.spurious - s0.spurious, 1);
	ck_assert_uint_eq(s1.mmio_reads - s0.mmio_reads, 1); /* only the second Magic read */
	hw_serve_one(&w, 0, 2);
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* Accesses from every vCPU at once, while one vCPU's answer is late: nothing is mixed up. */
START_TEST(hostile__r29_many_vcpus_interleaved_accesses_answered_correctly)
{
	struct hw w;

	hw_up(&w, NULL);
	for (unsigned int round = 0; round < 50; round++)
		for (unsigned int cpu = 0; cpu < HW_VCPUS; cpu++) {
			uint64_t v = 0;

			ck_assert_int_eq(
				xensim_mmio_read(w.g, cpu, HW_BASE_A + VXEN_MMIO_DEVICE_ID, 4, &v),
				0);
			ck_assert_uint_eq(v, 2);
		}
	hw_epilogue(&w);
	hw_down(&w);
}
END_TEST

/* ---- 7 (foreign mode) -------------------------------------------------------------------- */

/* A driver for A by hand: no ACCESS_PLATFORM, rings and buffers at guest-physical addresses. */
struct fring {
	uint64_t gpa;
	uint8_t *desc;
	uint16_t *avail, *used;
};

static void fdesc(struct fring *r, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	uint8_t *d = r->desc + 16 * i;
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
}

static uint64_t fbuf(struct hw *w, uint8_t **host)
{
	uint64_t gpa;

	ck_assert_int_eq(xensim_guest_alloc_pages(w->g, 1, &gpa), 0);
	*host = xensim_guest_ptr(w->g, gpa, 4096);
	return gpa;
}

static void fpublish(struct hw *w, struct fring *r, uint16_t *idx, uint16_t head)
{
	r->avail[2 + *idx % 8] = htole16(head);
	__atomic_store_n(&r->avail[1], htole16((uint16_t)(*idx + 1)), __ATOMIC_RELEASE);
	(*idx)++;
	hw_wr(w, VXEN_MMIO_QUEUE_NOTIFY, 0);
}

static bool fwait(struct fring *r, uint16_t idx)
{
	for (int t = 0; t < HW_TMO; t++) {
		if (le16toh(__atomic_load_n(&r->used[1], __ATOMIC_ACQUIRE)) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

START_TEST(hostile__r07_grant_address_on_foreign_mapping_device_rejected)
{
	struct hw_opts o = { .a_foreign = true, .a_queues = 1 };
	const uint64_t f_version = 1ULL << XENSIM_VIRTIO_F_VERSION_1;
	struct hw w;
	struct fring r;
	uint8_t *hdr, *st, *data;
	uint64_t hdr_gpa, st_gpa, data_gpa;
	uint16_t idx = 0;
	uint32_t *ue;

	hw_up(&w, &o);
	/* Not offered to a foreign-mapping device: ACCESS_PLATFORM. */
	hw_wr(&w, VXEN_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_DEVICE_FEATURES) & 2, 0);
	hw_wr(&w, VXEN_MMIO_STATUS, 0);
	hw_wr(&w, VXEN_MMIO_STATUS, 3);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	hw_wr(&w, VXEN_MMIO_DRIVER_FEATURES, (uint32_t)(f_version >> 32));
	hw_wr(&w, VXEN_MMIO_STATUS, 0xb);
	ck_assert_uint_eq(hw_status(&w), 0xb);
	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, 2, &r.gpa), 0);
	r.desc = xensim_guest_ptr(w.g, r.gpa, 8192);
	r.avail = (uint16_t *)(r.desc + 128);
	r.used = (uint16_t *)(r.desc + 4096);
	hw_wr(&w, VXEN_MMIO_QUEUE_SEL, 0);
	hw_wr(&w, VXEN_MMIO_QUEUE_NUM, 8);
	hw_wr(&w, VXEN_MMIO_QUEUE_DESC_LOW, (uint32_t)r.gpa);
	hw_wr(&w, VXEN_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(r.gpa + 128));
	hw_wr(&w, VXEN_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(r.gpa + 4096));
	hw_wr(&w, VXEN_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(hw_rd(&w, VXEN_MMIO_QUEUE_READY), 1);
	hw_wr(&w, VXEN_MMIO_STATUS, 0xf);
	ue = (uint32_t *)(r.used + 2);

	hdr_gpa = fbuf(&w, &hdr);
	st_gpa = fbuf(&w, &st);
	data_gpa = fbuf(&w, &data);
	memset(hdr, 0, 16);
	hdr[8] = 21; /* IN, sector 21 */
	/* A grant-DMA address on a device that takes guest-physical ones: refused. */
	fdesc(&r, 0, hdr_gpa, 16, XENSIM_VRING_DESC_F_NEXT, 1);
	fdesc(&r, 1, XENSIM_GRANT_DMA_BIT | 7ull << 12, 512,
	      XENSIM_VRING_DESC_F_NEXT | XENSIM_VRING_DESC_F_WRITE, 2);
	fdesc(&r, 2, st_gpa, 1, XENSIM_VRING_DESC_F_WRITE, 0);
	*st = 0xff;
	fpublish(&w, &r, &idx, 0);
	ck_assert(fwait(&r, 1));
	ck_assert_uint_eq(le32toh(ue[0]), 0);
	ck_assert_uint_eq(le32toh(ue[1]), 0);
	ck_assert_uint_eq(*st, 0xff);
	ck_assert_uint_eq(hw_qstats(&w, &w.a, 0).vq.rej_efault, 1);
	/* The same request with the guest-physical address is served through foreign mapping. */
	fdesc(&r, 1, data_gpa, 512, XENSIM_VRING_DESC_F_NEXT | XENSIM_VRING_DESC_F_WRITE, 2);
	fpublish(&w, &r, &idx, 0);
	ck_assert(fwait(&r, 2));
	ck_assert_uint_eq(le32toh(ue[3]), 513);
	ck_assert_uint_eq(*st, 0);
	ck_assert(hw_sector_ok(data, 21));
	hw_assert_b_serves(&w);
	/* Reset: no foreign mapping of A's guest memory is left (B uses grants). */
	hw_wr(&w, VXEN_MMIO_STATUS, 0);
	ck_assert_uint_eq(hw_status(&w), 0);
	ck_assert_uint_eq(hw_counters(&w).fmem_live_pages, 0);
	ck_assert_uint_eq(hw_dstats(&w, &w.a).gdma.ring_live, 0);
	xensim_guest_free_pages(w.g, r.gpa, 2);
	xensim_guest_free_pages(w.g, hdr_gpa, 1);
	xensim_guest_free_pages(w.g, st_gpa, 1);
	xensim_guest_free_pages(w.g, data_gpa, 1);
	hw_down(&w);
}
END_TEST

Suite *hostile_xen_suite(void);

Suite *hostile_xen_suite(void)
{
	Suite *s = suite_create("hostile_xen");
	TCase *t = tcase_create("catalogue");

	tcase_add_loop_test(t, hostile__r28_malformed_ioreq_answered_without_touching_the_device, 0,
			    sizeof(raw_cases) / sizeof(raw_cases[0]));
	tcase_add_test(t, hostile__r28_access_straddling_the_window_end_unclaimed);
	tcase_add_test(t, hostile__r28_invalidate_acknowledged_rings_kept);
	tcase_add_test(t, hostile__r29_wakeup_with_slot_not_ready_ignored);
	tcase_add_test(t, hostile__r29_many_vcpus_interleaved_accesses_answered_correctly);
	tcase_add_test(t, hostile__r07_grant_address_on_foreign_mapping_device_rejected);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return hw_run_suite(hostile_xen_suite());
}
