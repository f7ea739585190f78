/* SPDX-License-Identifier: MIT */
/*
 * The guest-side virtio-blk driver (xensim_blk) against a fake block device (frontend_fake.h)
 * backed by a RAM disk: config, request layout, data, async depth, special requests, errors.
 */
#include <linux/virtio_blk.h>
#include <stddef.h>

#include "frontend_fake.h"

#define DISK_SECTORS 2048u
#define BIT(n)	     XENSIM_VIRTIO_BIT(n)

static struct fk_dev dev;
static uint8_t disk[DISK_SECTORS * 512];
static struct {
	unsigned int nsegs, ndata;
	bool hdr_ro, status_wr, data_wr;
	uint32_t data_len[FK_SEGS];
	struct virtio_blk_discard_write_zeroes range;
	uint8_t force_status; /* 0: serve normally */
	unsigned int served;
} seen;

/* The fake device: header (16, readable), data, status (1, writable). */
static uint32_t serve(struct fk_dev *d, unsigned int q, struct fk_seg *s, unsigned int n)
{
	struct virtio_blk_outhdr h;
	uint64_t off;
	uint8_t *status = s[n - 1].p;

	memcpy(&h, s[0].p, sizeof(h));
	seen.nsegs = n;
	seen.ndata = n - 2;
	seen.hdr_ro = !s[0].wr && s[0].len == 16;
	seen.status_wr = s[n - 1].wr && s[n - 1].len == 1;
	seen.data_wr = n > 2 && s[1].wr;
	seen.served++;
	for (unsigned int i = 1; i + 1 < n; i++)
		seen.data_len[i - 1] = s[i].len;
	if (seen.force_status) {
		*status = seen.force_status;
		return 1;
	}
	off = le64toh(h.sector) * 512;
	switch (le32toh(h.type)) {
	case VIRTIO_BLK_T_IN:
		for (unsigned int i = 1; i + 1 < n; off += s[i].len, i++)
			memcpy(s[i].p, disk + off, s[i].len);
		*status = VIRTIO_BLK_S_OK;
		return (uint32_t)(off - le64toh(h.sector) * 512) + 1;
	case VIRTIO_BLK_T_OUT:
		for (unsigned int i = 1; i + 1 < n; off += s[i].len, i++)
			memcpy(disk + off, s[i].p, s[i].len);
		break;
	case VIRTIO_BLK_T_GET_ID:
		memset(s[1].p, 0, s[1].len);
		memcpy(s[1].p, "fake-blk-serial", 15);
		*status = VIRTIO_BLK_S_OK;
		return s[1].len + 1;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		memcpy(&seen.range, s[1].p, sizeof(seen.range));
		if (le32toh(h.type) == VIRTIO_BLK_T_WRITE_ZEROES)
			memset(disk + le64toh(seen.range.sector) * 512, 0,
			       le32toh(seen.range.num_sectors) * 512);
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
		return 1;
	}
	*status = VIRTIO_BLK_S_OK;
	return 1;
}

static void put_cfg(size_t off, const void *v, size_t len)
{
	memcpy(dev.config + off, v, len);
}

static void setup(void)
{
	uint64_t cap = htole64(DISK_SECTORS);
	uint32_t seg_max = htole32(8), blk_size = htole32(4096), max_seg = htole32(1);
	uint16_t nq = htole16(2);

	fk_machine_up();
	fk_init(&dev, XENSIM_VIRTIO_ID_BLOCK,
		BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |
			BIT(VIRTIO_BLK_F_MQ) | BIT(VIRTIO_BLK_F_DISCARD) |
			BIT(VIRTIO_BLK_F_WRITE_ZEROES) | BIT(XENSIM_VIRTIO_F_INDIRECT_DESC) |
			BIT(XENSIM_VIRTIO_F_EVENT_IDX),
		2, 64);
	dev.config_len = sizeof(struct virtio_blk_config);
	put_cfg(offsetof(struct virtio_blk_config, capacity), &cap, 8);
	put_cfg(offsetof(struct virtio_blk_config, seg_max), &seg_max, 4);
	put_cfg(offsetof(struct virtio_blk_config, blk_size), &blk_size, 4);
	put_cfg(offsetof(struct virtio_blk_config, num_queues), &nq, 2);
	put_cfg(offsetof(struct virtio_blk_config, max_discard_seg), &max_seg, 4);
	put_cfg(offsetof(struct virtio_blk_config, max_write_zeroes_seg), &max_seg, 4);
	dev.handler[0] = dev.handler[1] = serve;
	memset(&seen, 0, sizeof(seen));
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (uint8_t)(i * 13 + 1);
}

static void teardown(void)
{
	fk_machine_down();
}

static xensim_blk *new_blk(const struct xensim_blk_opts *opts)
{
	xensim_blk *blk = NULL;

	fk_start(&dev);
	ck_assert_int_eq(xensim_blk_new(&blk, g, 0, FK_BASE, FK_SPI, opts), 0);
	return blk;
}

static void done(xensim_blk *blk)
{
	ck_assert_int_eq(xensim_blk_free(blk), 0);
	fk_stop(&dev);
}

START_TEST(blk__probe_reads_config_and_sets_up_mq_queues)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	const struct xensim_blk_config *c;
	xensim_blk *blk;

	o.nr_queues = 4;
	blk = new_blk(&o);
	c = xensim_blk_config(blk);
	ck_assert_uint_eq(c->capacity, DISK_SECTORS);
	ck_assert_uint_eq(c->seg_max, 8);
	ck_assert_uint_eq(c->blk_size, 4096);
	ck_assert_uint_eq(c->num_queues, 2);
	ck_assert(!c->read_only);
	ck_assert_uint_eq(xensim_blk_nr_queues(blk), 2); /* capped by num_queues */
	ck_assert(dev.status & XENSIM_VIRTIO_S_DRIVER_OK);
	ck_assert_uint_eq(dev.q[1].ready, 1);
	done(blk);
}
END_TEST

START_TEST(blk__probe_rejects_other_device_types)
{
	xensim_blk *blk = NULL;

	dev.device_id = XENSIM_VIRTIO_ID_NET;
	fk_start(&dev);
	ck_assert_int_eq(xensim_blk_new(&blk, g, 0, FK_BASE, FK_SPI, NULL), -ENODEV);
	ck_assert_ptr_null(blk);
	fk_stop(&dev);
}
END_TEST

START_TEST(blk__write_then_read_round_trips_on_each_queue)
{
	xensim_blk *blk = new_blk(NULL);
	uint8_t wbuf[8192], rbuf[8192];

	for (unsigned int q = 0; q < 2; q++) {
		for (size_t i = 0; i < sizeof(wbuf); i++)
			wbuf[i] = (uint8_t)(i ^ (q * 0x55));
		ck_assert_int_eq(xensim_blk_write(blk, q, 100 + q * 16, wbuf, sizeof(wbuf), 5000),
				 0);
		ck_assert_mem_eq(disk + (100 + q * 16) * 512, wbuf, sizeof(wbuf));
		memset(rbuf, 0, sizeof(rbuf));
		ck_assert_int_eq(xensim_blk_read(blk, q, 100 + q * 16, rbuf, sizeof(rbuf), 5000),
				 0);
		ck_assert_mem_eq(rbuf, wbuf, sizeof(rbuf));
	}
	ck_assert_uint_eq(dev.notifies[0], 2);
	ck_assert_uint_eq(dev.notifies[1], 2);
	done(blk);
}
END_TEST

START_TEST(blk__request_is_header_data_status_descriptors)
{
	xensim_blk *blk = new_blk(NULL);
	uint8_t buf[1024];

	ck_assert_int_eq(xensim_blk_read(blk, 0, 0, buf, sizeof(buf), 5000), 0);
	ck_assert_uint_eq(seen.nsegs, 3);
	ck_assert(seen.hdr_ro);
	ck_assert(seen.status_wr);
	ck_assert(seen.data_wr);
	ck_assert_uint_eq(seen.data_len[0], 1024);
	ck_assert_int_eq(xensim_blk_write(blk, 0, 0, buf, sizeof(buf), 5000), 0);
	ck_assert(!seen.data_wr);
	ck_assert_int_eq(xensim_blk_flush(blk, 0, 5000), 0);
	ck_assert_uint_eq(seen.nsegs, 2); /* header + status only */
	done(blk);
}
END_TEST

START_TEST(blk__size_max_splits_data_into_segments)
{
	uint32_t size_max = htole32(4096);
	xensim_blk *blk;
	uint8_t buf[4 * 4096];

	dev.features |= BIT(VIRTIO_BLK_F_SIZE_MAX);
	put_cfg(offsetof(struct virtio_blk_config, size_max), &size_max, 4);
	blk = new_blk(NULL);
	ck_assert_uint_eq(xensim_blk_config(blk)->size_max, 4096);
	ck_assert_int_eq(xensim_blk_write(blk, 0, 8, buf, sizeof(buf), 5000), 0);
	ck_assert_uint_eq(seen.ndata, 4);
	for (unsigned int i = 0; i < 4; i++)
		ck_assert_uint_eq(seen.data_len[i], 4096);
	done(blk);
}
END_TEST

START_TEST(blk__async_keeps_32_requests_in_flight)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	struct xensim_blk_req reqs[32], *r;
	struct xensim_sg sgs[32];
	uint64_t gpa;
	xensim_blk *blk;
	unsigned int got = 0, mask_hits = 0;

	o.nr_queues = 1;
	blk = new_blk(&o);
	ck_assert_int_eq(xensim_guest_alloc_pages(g, 32, &gpa), 0);
	for (unsigned int i = 0; i < 32; i++) {
		sgs[i] = (struct xensim_sg){ gpa + i * 4096ULL, 4096 };
		reqs[i] = (struct xensim_blk_req){ .type = XENSIM_VIRTIO_BLK_T_IN,
						   .sector = i * 8ULL,
						   .sg = &sgs[i],
						   .nsg = 1,
						   .priv = &reqs[i] };
		ck_assert_int_eq(xensim_blk_submit(blk, 0, &reqs[i], false), 0);
	}
	ck_assert_uint_eq(xensim_blk_inflight(blk, 0), 32);
	ck_assert_int_eq(xensim_blk_kick(blk, 0), 1);
	while (got < 32) {
		ck_assert_int_eq(xensim_blk_complete(blk, 0, 5000, &r), 1);
		ck_assert_uint_eq(r->status, XENSIM_VIRTIO_BLK_S_OK);
		ck_assert_int_eq(r->error, 0);
		ck_assert_uint_eq(r->used_len, 4097);
		mask_hits += r->priv == r;
		got++;
	}
	ck_assert_uint_eq(mask_hits, 32);
	ck_assert_uint_eq(xensim_blk_inflight(blk, 0), 0);
	ck_assert_int_eq(xensim_blk_complete(blk, 0, 0, &r), 0);
	for (unsigned int i = 0; i < 32; i++)
		ck_assert_mem_eq(xensim_guest_ptr(g, gpa + i * 4096ULL, 4096), disk + i * 4096,
				 4096);
	done(blk);
}
END_TEST

START_TEST(blk__special_requests_carry_their_payload)
{
	xensim_blk *blk = new_blk(NULL);
	char id[XENSIM_VIRTIO_BLK_ID_BYTES];

	ck_assert_int_eq(xensim_blk_get_id(blk, 0, id, 5000), 0);
	ck_assert_mem_eq(id, "fake-blk-serial", 15);
	ck_assert_int_eq(xensim_blk_discard(blk, 0, 64, 16, 5000), 0);
	ck_assert_uint_eq(le64toh(seen.range.sector), 64);
	ck_assert_uint_eq(le32toh(seen.range.num_sectors), 16);
	ck_assert_uint_eq(le32toh(seen.range.flags), 0);
	ck_assert(!seen.data_wr);
	ck_assert_int_eq(xensim_blk_write_zeroes(blk, 0, 8, 2, true, 5000), 0);
	ck_assert_uint_eq(le32toh(seen.range.flags), XENSIM_VIRTIO_BLK_WZ_F_UNMAP);
	ck_assert_uint_eq(disk[8 * 512], 0);
	ck_assert_uint_eq(disk[10 * 512 - 1], 0);
	done(blk);
}
END_TEST

START_TEST(blk__device_status_maps_to_errno)
{
	xensim_blk *blk = new_blk(NULL);
	uint8_t buf[512];

	seen.force_status = VIRTIO_BLK_S_IOERR;
	ck_assert_int_eq(xensim_blk_read(blk, 0, 0, buf, 512, 5000), -EIO);
	seen.force_status = VIRTIO_BLK_S_UNSUPP;
	ck_assert_int_eq(xensim_blk_flush(blk, 0, 5000), -EOPNOTSUPP);
	seen.force_status = 7;
	ck_assert_int_eq(xensim_blk_read(blk, 0, 0, buf, 512, 5000), -EPROTO);
	done(blk);
}
END_TEST

START_TEST(blk__unnegotiated_requests_are_refused_locally)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	xensim_blk *blk;

	o.features &= ~(BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_FLUSH));
	blk = new_blk(&o);
	ck_assert_int_eq(xensim_blk_discard(blk, 0, 0, 8, 5000), -EOPNOTSUPP);
	ck_assert_int_eq(xensim_blk_flush(blk, 0, 5000), -EOPNOTSUPP);
	ck_assert_uint_eq(seen.served, 0);
	done(blk);
}
END_TEST

START_TEST(blk__read_only_device_refuses_writes)
{
	xensim_blk *blk;
	uint8_t buf[512] = { 0 };

	dev.features |= BIT(VIRTIO_BLK_F_RO);
	blk = new_blk(NULL);
	ck_assert(xensim_blk_config(blk)->read_only);
	ck_assert_int_eq(xensim_blk_write(blk, 0, 0, buf, 512, 5000), -EROFS);
	ck_assert_int_eq(xensim_blk_write_zeroes(blk, 0, 0, 1, false, 5000), -EROFS);
	ck_assert_int_eq(xensim_blk_read(blk, 0, 0, buf, 512, 5000), 0);
	done(blk);
}
END_TEST

START_TEST(blk__too_many_segments_rejected)
{
	struct xensim_blk_req r = { .type = XENSIM_VIRTIO_BLK_T_IN };
	struct xensim_sg sg[9];
	uint64_t gpa;
	xensim_blk *blk = new_blk(NULL);

	ck_assert_int_eq(xensim_guest_alloc_pages(g, 9, &gpa), 0);
	for (unsigned int i = 0; i < 9; i++)
		sg[i] = (struct xensim_sg){ gpa + i * 4096ULL, 512 };
	r.sg = sg;
	r.nsg = 9; /* seg_max is 8 */
	ck_assert_int_eq(xensim_blk_submit(blk, 0, &r, true), -EINVAL);
	r.nsg = 8;
	ck_assert_int_eq(xensim_blk_submit(blk, 0, &r, true), 0);
	done(blk);
}
END_TEST

START_TEST(blk__sync_request_times_out_when_device_is_silent)
{
	xensim_blk *blk;
	uint8_t buf[512];

	dev.handler[0] = NULL; /* the device never completes anything on queue 0 */
	blk = new_blk(NULL);
	ck_assert_int_eq(xensim_blk_read(blk, 0, 0, buf, 512, 100), -ETIMEDOUT);
	/* The abandoned request does not count as the caller's. */
	ck_assert_uint_eq(xensim_blk_inflight(blk, 0), 0);
	ck_assert_int_eq(xensim_blk_read(blk, 1, 0, buf, 512, 5000), 0);
	done(blk); /* frees the orphan after the reset */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("frontend_blk");
	TCase *tc = tcase_create("blk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, blk__probe_reads_config_and_sets_up_mq_queues);
	tcase_add_test(tc, blk__probe_rejects_other_device_types);
	tcase_add_test(tc, blk__write_then_read_round_trips_on_each_queue);
	tcase_add_test(tc, blk__request_is_header_data_status_descriptors);
	tcase_add_test(tc, blk__size_max_splits_data_into_segments);
	tcase_add_test(tc, blk__async_keeps_32_requests_in_flight);
	tcase_add_test(tc, blk__special_requests_carry_their_payload);
	tcase_add_test(tc, blk__device_status_maps_to_errno);
	tcase_add_test(tc, blk__unnegotiated_requests_are_refused_locally);
	tcase_add_test(tc, blk__read_only_device_refuses_writes);
	tcase_add_test(tc, blk__too_many_segments_rejected);
	tcase_add_test(tc, blk__sync_request_times_out_when_device_is_silent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
