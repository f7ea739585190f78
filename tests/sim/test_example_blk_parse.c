/* SPDX-License-Identifier: MIT */
/*
 * test_example_blk_parse.c — virtio-xen-blk's request parser (examples/blk/blk_req.c) on
 * hand-made iovec arrays: layouts a guest may legally choose, and every malformed one.
 * The parser is pure, so it is compiled into this test directly.
 */
#include <check.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>

#include "../../examples/blk/blk_req.c"

#define CAP   2048u /* sectors: a 1 MiB disk */
#define BITF  (1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES)
#define NDATA 8

static struct blk_limits lim;
static struct virtio_blk_outhdr hdr;
static uint8_t data[8192], status[4];
static struct iovec iov[64], out_iov[NDATA];
static struct blk_request r;

static void setup(void)
{
	lim = (struct blk_limits){ .capacity = CAP,
				   .features = BITF,
				   .max_discard_sectors = 1024,
				   .max_write_zeroes_sectors = 1024,
				   .max_ranges = 4 };
	memset(status, 0xee, sizeof(status));
	memset(&r, 0xaa, sizeof(r));
}

static void set_hdr(uint32_t type, uint64_t sector)
{
	hdr = (struct virtio_blk_outhdr){ .type = htole32(type), .sector = htole64(sector) };
}

static struct iovec v(void *p, size_t len)
{
	return (struct iovec){ p, len };
}

static void parse(unsigned int n_out, unsigned int n_in)
{
	blk_parse_request(iov, n_out, n_in, &lim, out_iov, NDATA, &r);
}

/* hdr | data[0..len) writable | status */
static void read_req(uint64_t sector, size_t len)
{
	set_hdr(VIRTIO_BLK_T_IN, sector);
	iov[0] = v(&hdr, 16);
	iov[1] = v(data, len);
	iov[2] = v(status, 1);
	parse(1, 3 - 1);
}

static void expect_answer(uint8_t st)
{
	ck_assert_int_eq(r.op, BLK_OP_ANSWER);
	ck_assert_uint_eq(r.status, st);
}

START_TEST(parse__read_with_header_data_status_descriptors)
{
	read_req(8, 1024);
	ck_assert_int_eq(r.op, BLK_OP_READ);
	ck_assert_uint_eq(r.offset, 8 * 512);
	ck_assert_uint_eq(r.len, 1024);
	ck_assert_uint_eq(r.iovcnt, 1);
	ck_assert_ptr_eq(r.iov[0].iov_base, data);
	ck_assert_uint_eq(r.iov[0].iov_len, 1024);
	ck_assert_ptr_eq(r.status_byte, status);
	ck_assert_uint_eq(r.in_len, 1025);
}
END_TEST

START_TEST(parse__header_split_into_one_byte_buffers_is_read)
{
	set_hdr(VIRTIO_BLK_T_OUT, 3);
	for (unsigned int i = 0; i < 16; i++)
		iov[i] = v((uint8_t *)&hdr + i, 1);
	iov[16] = v(data, 100);
	iov[17] = v(data + 100, 412);
	iov[18] = v(status, 1);
	parse(18, 1);
	ck_assert_int_eq(r.op, BLK_OP_WRITE);
	ck_assert_uint_eq(r.offset, 3 * 512);
	ck_assert_uint_eq(r.iovcnt, 2);
	ck_assert_uint_eq(r.iov[0].iov_len + r.iov[1].iov_len, 512);
}
END_TEST

START_TEST(parse__header_and_data_sharing_a_buffer_are_split)
{
	static uint8_t buf[16 + 512];

	set_hdr(VIRTIO_BLK_T_OUT, 0);
	memcpy(buf, &hdr, 16);
	iov[0] = v(buf, sizeof(buf));
	iov[1] = v(status, 1);
	parse(1, 1);
	ck_assert_int_eq(r.op, BLK_OP_WRITE);
	ck_assert_uint_eq(r.iovcnt, 1);
	ck_assert_ptr_eq(r.iov[0].iov_base, buf + 16);
	ck_assert_uint_eq(r.iov[0].iov_len, 512);
}
END_TEST

START_TEST(parse__status_is_the_last_byte_of_a_shared_writable_buffer)
{
	set_hdr(VIRTIO_BLK_T_IN, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v(data, 513);
	iov[2] = v(status, 0); /* empty entries after it do not count */
	parse(1, 2);
	ck_assert_int_eq(r.op, BLK_OP_READ);
	ck_assert_uint_eq(r.len, 512);
	ck_assert_uint_eq(r.iov[0].iov_len, 512);
	ck_assert_ptr_eq(r.status_byte, data + 512);
	ck_assert_uint_eq(r.in_len, 513);
}
END_TEST

START_TEST(parse__no_writable_byte_leaves_nothing_to_answer)
{
	set_hdr(VIRTIO_BLK_T_IN, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v(data, 0);
	parse(1, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
	ck_assert_ptr_null(r.status_byte);
	ck_assert_uint_eq(r.in_len, 0);
}
END_TEST

START_TEST(parse__short_or_missing_header_is_ioerr)
{
	set_hdr(VIRTIO_BLK_T_IN, 0);
	iov[0] = v(&hdr, 15);
	iov[1] = v(status, 1);
	parse(1, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
	ck_assert_ptr_eq(r.status_byte, status);
	parse(0, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(parse__data_in_the_wrong_direction_is_ioerr)
{
	/* IN with readable data after the header */
	set_hdr(VIRTIO_BLK_T_IN, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v(data, 512);
	iov[2] = v(data + 512, 512);
	iov[3] = v(status, 1);
	parse(2, 2);
	expect_answer(VIRTIO_BLK_S_IOERR);
	/* OUT with writable bytes before the status */
	set_hdr(VIRTIO_BLK_T_OUT, 0);
	parse(2, 2);
	expect_answer(VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(r.in_len, 513);
	/* FLUSH with data */
	set_hdr(VIRTIO_BLK_T_FLUSH, 0);
	iov[2] = v(status, 1);
	parse(2, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
	iov[1] = v(status, 1);
	parse(1, 1);
	ck_assert_int_eq(r.op, BLK_OP_FLUSH);
}
END_TEST

START_TEST(parse__data_not_a_multiple_of_512_is_ioerr)
{
	read_req(0, 100);
	expect_answer(VIRTIO_BLK_S_IOERR);
	read_req(0, 513);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(parse__sectors_outside_the_disk_are_ioerr)
{
	read_req(CAP - 1, 512);
	ck_assert_int_eq(r.op, BLK_OP_READ);
	ck_assert_uint_eq(r.offset, (CAP - 1) * 512ull);
	read_req(CAP - 1, 1024);
	expect_answer(VIRTIO_BLK_S_IOERR);
	read_req(CAP, 512);
	expect_answer(VIRTIO_BLK_S_IOERR);
	read_req(1ULL << 55, 512); /* sector * 512 wraps to 0 */
	expect_answer(VIRTIO_BLK_S_IOERR);
	read_req(UINT64_MAX, 512);
	expect_answer(VIRTIO_BLK_S_IOERR);
	read_req(CAP, 0); /* empty, at the end: nothing to do */
	expect_answer(VIRTIO_BLK_S_OK);
	read_req(CAP + 1, 0);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(parse__writes_to_a_read_only_disk_are_ioerr)
{
	lim.read_only = true;
	set_hdr(VIRTIO_BLK_T_OUT, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v(data, 512);
	iov[2] = v(status, 1);
	parse(2, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
	read_req(0, 512);
	ck_assert_int_eq(r.op, BLK_OP_READ);
}
END_TEST

START_TEST(parse__unknown_types_are_unsupp)
{
	uint32_t types[] = { 2, 3, 5, 10, 14, 99, 0x80000000u };

	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		set_hdr(types[i], 0);
		iov[0] = v(&hdr, 16);
		iov[1] = v(status, 1);
		parse(1, 1);
		expect_answer(VIRTIO_BLK_S_UNSUPP);
	}
}
END_TEST

static void ranges_req(uint32_t type, const struct virtio_blk_discard_write_zeroes *s, size_t bytes)
{
	set_hdr(type, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v((void *)s, bytes);
	iov[2] = v(status, 1);
	parse(2, 1);
}

static struct virtio_blk_discard_write_zeroes seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){ htole64(sector), htole32(n),
							 htole32(flags) };
}

START_TEST(parse__discard_and_write_zeroes_segments_are_validated)
{
	struct virtio_blk_discard_write_zeroes s[5] = { seg(10, 20, 0), seg(100, 8, 0) };

	ranges_req(VIRTIO_BLK_T_DISCARD, s, 2 * sizeof(s[0]));
	ck_assert_int_eq(r.op, BLK_OP_DISCARD);
	ck_assert_uint_eq(r.nr_ranges, 2);
	ck_assert_uint_eq(r.range[1].sector, 100);
	ck_assert_uint_eq(r.range[1].num_sectors, 8);
	s[1] = seg(100, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	ranges_req(VIRTIO_BLK_T_WRITE_ZEROES, s, 2 * sizeof(s[0]));
	ck_assert_int_eq(r.op, BLK_OP_WRITE_ZEROES);
	ck_assert_uint_eq(r.range[1].flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	/* §5.2.6.2: UNMAP on a discard, and unknown flags, are UNSUPP */
	ranges_req(VIRTIO_BLK_T_DISCARD, s, 2 * sizeof(s[0]));
	expect_answer(VIRTIO_BLK_S_UNSUPP);
	s[1] = seg(100, 8, 2);
	ranges_req(VIRTIO_BLK_T_WRITE_ZEROES, s, 2 * sizeof(s[0]));
	expect_answer(VIRTIO_BLK_S_UNSUPP);
	/* limits, the disk's end, framing */
	s[1] = seg(100, 1025, 0);
	ranges_req(VIRTIO_BLK_T_DISCARD, s, 2 * sizeof(s[0]));
	expect_answer(VIRTIO_BLK_S_IOERR);
	s[1] = seg(CAP - 1, 2, 0);
	ranges_req(VIRTIO_BLK_T_DISCARD, s, 2 * sizeof(s[0]));
	expect_answer(VIRTIO_BLK_S_IOERR);
	s[1] = seg(UINT64_MAX, 1, 0);
	ranges_req(VIRTIO_BLK_T_WRITE_ZEROES, s, 2 * sizeof(s[0]));
	expect_answer(VIRTIO_BLK_S_IOERR);
	ranges_req(VIRTIO_BLK_T_DISCARD, s, 5 * sizeof(s[0])); /* max_ranges is 4 */
	expect_answer(VIRTIO_BLK_S_IOERR);
	ranges_req(VIRTIO_BLK_T_DISCARD, s, sizeof(s[0]) + 8);
	expect_answer(VIRTIO_BLK_S_IOERR);
	ranges_req(VIRTIO_BLK_T_DISCARD, s, 0);
	expect_answer(VIRTIO_BLK_S_IOERR);
	/* not negotiated */
	lim.features = 0;
	ranges_req(VIRTIO_BLK_T_DISCARD, s, sizeof(s[0]));
	expect_answer(VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(parse__get_id_needs_a_writable_buffer_before_the_status)
{
	set_hdr(VIRTIO_BLK_T_GET_ID, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v(data, 8);
	iov[2] = v(status, 1);
	parse(1, 2);
	ck_assert_int_eq(r.op, BLK_OP_GET_ID);
	ck_assert_uint_eq(r.len, 8);
	parse(1, 1); /* the buffer's last byte is the status: 7 bytes of ID */
	ck_assert_int_eq(r.op, BLK_OP_GET_ID);
	ck_assert_uint_eq(r.len, 7);
	ck_assert_ptr_eq(r.status_byte, data + 7);
	iov[1] = v(status, 1);
	parse(1, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(parse__more_data_buffers_than_the_array_holds_is_ioerr)
{
	set_hdr(VIRTIO_BLK_T_IN, 0);
	iov[0] = v(&hdr, 16);
	for (unsigned int i = 0; i < NDATA + 1; i++)
		iov[1 + i] = v(data + i * 512, 512);
	iov[NDATA + 2] = v(status, 1);
	parse(1, NDATA + 2);
	expect_answer(VIRTIO_BLK_S_IOERR);
	iov[NDATA + 1] = v(status, 1); /* exactly NDATA data buffers: they fit */
	parse(1, NDATA + 1);
	ck_assert_int_eq(r.op, BLK_OP_READ);
	ck_assert_uint_eq(r.iovcnt, NDATA);
}
END_TEST

START_TEST(parse__impossible_lengths_are_refused_without_touching_them)
{
	set_hdr(VIRTIO_BLK_T_IN, 0);
	iov[0] = v(&hdr, 16);
	iov[1] = v((void *)16, SIZE_MAX / 2); /* never dereferenced */
	iov[2] = v((void *)16, SIZE_MAX / 2);
	iov[3] = v((void *)16, SIZE_MAX / 2);
	parse(1, 3);
	ck_assert_int_eq(r.op, BLK_OP_ANSWER);
	ck_assert_ptr_null(r.status_byte); /* sum saturated, above 2^32: no status */
	iov[1] = v(&hdr, 16);
	iov[4] = v(status, 1);
	parse(4, 1); /* readable total saturates: not the 16-byte header only */
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(parse__accepted_requests_always_lie_inside_the_disk)
{
	uint32_t s = 12345;

	for (unsigned int i = 0; i < 200000; i++) {
		uint64_t sector;
		size_t len;

		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		sector = (i & 1) ? s % (CAP + 8) : (uint64_t)s << (s % 40);
		len = (s >> 7) % 9 * 512;
		read_req(sector, len);
		if (r.op == BLK_OP_READ)
			ck_assert_uint_le(r.offset + r.len, CAP * 512ull);
		else
			ck_assert_int_eq(r.op, BLK_OP_ANSWER);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example_blk_parse");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, parse__read_with_header_data_status_descriptors);
	tcase_add_test(tc, parse__header_split_into_one_byte_buffers_is_read);
	tcase_add_test(tc, parse__header_and_data_sharing_a_buffer_are_split);
	tcase_add_test(tc, parse__status_is_the_last_byte_of_a_shared_writable_buffer);
	tcase_add_test(tc, parse__no_writable_byte_leaves_nothing_to_answer);
	tcase_add_test(tc, parse__short_or_missing_header_is_ioerr);
	tcase_add_test(tc, parse__data_in_the_wrong_direction_is_ioerr);
	tcase_add_test(tc, parse__data_not_a_multiple_of_512_is_ioerr);
	tcase_add_test(tc, parse__sectors_outside_the_disk_are_ioerr);
	tcase_add_test(tc, parse__writes_to_a_read_only_disk_are_ioerr);
	tcase_add_test(tc, parse__unknown_types_are_unsupp);
	tcase_add_test(tc, parse__discard_and_write_zeroes_segments_are_validated);
	tcase_add_test(tc, parse__get_id_needs_a_writable_buffer_before_the_status);
	tcase_add_test(tc, parse__more_data_buffers_than_the_array_holds_is_ioerr);
	tcase_add_test(tc, parse__impossible_lengths_are_refused_without_touching_them);
	tcase_add_test(tc, parse__accepted_requests_always_lie_inside_the_disk);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
