/* SPDX-License-Identifier: MIT */
/*
 * test_example_blk_hostile.c — virtio-xen-blk (its own process) against a guest that builds
 * its own descriptor chains on queue 1: malformed framing, requests outside the disk, unknown
 * types and flags, and legal but unusual layouts. Each request must get the status the spec
 * asks for in its last writable byte, never touch the image outside what is allowed, and leave
 * the device working.
 */
#include <check.h>
#include <endian.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <linux/virtio_blk.h>

#include "helper_example_blk.h"

#define SECTORS 2048u /* 1 MiB image */
#define RAW	1     /* the queue the blk driver never uses */

static struct exblk w;
static struct xensim_gbuf m;
static uint8_t *H, *D, *S, *R; /* header, data, status, ranges: guest RAM */
static uint8_t *image0;	       /* the image as created */

static void setup(void)
{
	const char *args[] = { "--queues", "2", NULL };
	uint32_t domid;

	exblk_start(&w);
	exblk_image(&w, "hostile.img", SECTORS * 512ull, 42);
	image0 = exblk_read_image(&w);
	exblk_daemon_start(&w, args);
	domid = exblk_guest(&w);
	exblk_disk(&w, domid, 0, "w");
	exblk_wait_state(&w, domid, 0, "2");
	exblk_attach(&w, domid, NULL);
	ck_assert_uint_eq(xensim_blk_nr_queues(w.blk), 2);
	ck_assert_int_eq(xensim_gbuf_alloc(w.g, 8 * 4096, &m), 0);
	H = m.host;
	D = H + 4096;
	S = H + 3 * 4096;
	R = H + 4 * 4096;
}

static void teardown(void)
{
	free(image0);
	exblk_stop(&w);
}

static struct xensim_sg sg(const void *p, uint32_t len)
{
	return (struct xensim_sg){ m.gpa + (uint64_t)((const uint8_t *)p - H), len };
}

static void hdr(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };

	memcpy(H, &h, sizeof(h));
}

/* header | @out_data readable bytes of D | @in_data writable bytes of D | status (1 byte) */
static uint32_t req(uint32_t type, uint64_t sector, uint32_t out_data, uint32_t in_data)
{
	struct xensim_sg out[2] = { sg(H, 16), sg(D, out_data) };
	struct xensim_sg in[2] = { sg(D + out_data, in_data), sg(S, 1) };

	hdr(type, sector);
	*S = 0xee;
	return exblk_raw(&w, RAW, out, out_data ? 2 : 1, in_data ? in : in + 1, in_data ? 2 : 1);
}

/* The device still serves ordinary requests, and the image holds @image. */
static void still_works(const uint8_t *image)
{
	uint8_t buf[4096], *file;

	ck_assert_int_eq(xensim_blk_read(w.blk, 0, 8, buf, sizeof(buf), EXBLK_TMO), 0);
	ck_assert_mem_eq(buf, image + 8 * 512, sizeof(buf));
	file = exblk_read_image(&w);
	ck_assert_mem_eq(file, image, SECTORS * 512);
	free(file);
	ck_assert_int_eq(exblk_daemon_wait(&w, 0, 0), -1);
}

START_TEST(hostile__malformed_framing_is_answered_ioerr_and_the_device_keeps_working)
{
	struct xensim_sg out[2], in[2];

	/* header shorter than 16 bytes */
	hdr(VIRTIO_BLK_T_IN, 0);
	out[0] = sg(H, 8);
	in[0] = sg(S, 1);
	*S = 0xee;
	ck_assert_uint_eq(exblk_raw(&w, RAW, out, 1, in, 1), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	/* no writable byte at all: nothing to answer, the chain comes back empty */
	out[0] = sg(H, 16);
	ck_assert_uint_eq(exblk_raw(&w, RAW, out, 1, NULL, 0), 0);
	/* IN with readable data after the header */
	memset(D, 0xaa, 1024);
	ck_assert_uint_eq(req(VIRTIO_BLK_T_IN, 0, 512, 512), 513);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	/* IN data not a multiple of 512 */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_IN, 0, 0, 100), 101);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	/* OUT with writable bytes besides the status */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_OUT, 0, 512, 7), 8);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	/* FLUSH with data */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_FLUSH, 0, 512, 0), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	/* GET_ID without room for the ID */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_GET_ID, 0, 0, 0), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	/* DISCARD whose segment bytes are not whole segments */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_DISCARD, 0, 24, 0), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	still_works(image0);
}
END_TEST

START_TEST(hostile__error_answers_zero_the_writable_bytes)
{
	/* A refused read hands back zeros, never the buffer's (or anyone's) old contents. */
	memset(D, 0xaa, 2048);
	ck_assert_uint_eq(req(VIRTIO_BLK_T_IN, SECTORS, 0, 2048), 2049);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	for (unsigned int i = 0; i < 2048; i++)
		ck_assert_uint_eq(D[i], 0);
}
END_TEST

static void set_range(unsigned int i, uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes s = { htole64(sector), htole32(n), htole32(flags) };

	memcpy(R + i * sizeof(s), &s, sizeof(s));
}

/* DISCARD/WRITE_ZEROES with @n segments from R. */
static uint32_t ranges(uint32_t type, unsigned int n)
{
	struct xensim_sg out[2] = { sg(H, 16), sg(R, n * 16) }, in[1] = { sg(S, 1) };

	hdr(type, 0);
	*S = 0xee;
	return exblk_raw(&w, RAW, out, 2, in, 1);
}

START_TEST(hostile__requests_outside_the_disk_are_ioerr_and_leave_the_image_unchanged)
{
	static const uint64_t bad[] = { SECTORS,	  SECTORS - 1, 1ULL << 55,
					(1ULL << 55) + 1, UINT64_MAX,  UINT64_MAX - 1 };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(D, 0x77, 1024);
		ck_assert_uint_eq(req(VIRTIO_BLK_T_OUT, bad[i], 1024, 0), 1);
		ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
		ck_assert_uint_eq(req(VIRTIO_BLK_T_IN, bad[i], 0, 1024), 1025);
		ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
		set_range(0, bad[i], 2, 0);
		ck_assert_uint_eq(ranges(VIRTIO_BLK_T_DISCARD, 1), 1);
		ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
		set_range(0, bad[i], 2, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		ck_assert_uint_eq(ranges(VIRTIO_BLK_T_WRITE_ZEROES, 1), 1);
		ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	}
	/* The last sector itself is fine. */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_IN, SECTORS - 1, 0, 512), 513);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(D, image0 + (SECTORS - 1) * 512ull, 512);
	/* Too many segments, and a segment over max_discard_sectors. */
	for (unsigned int i = 0; i < 17; i++)
		set_range(i, i * 8, 8, 0);
	ck_assert_uint_eq(ranges(VIRTIO_BLK_T_DISCARD, 17), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	set_range(0, 0, xensim_blk_config(w.blk)->max_discard_sectors + 1, 0);
	ck_assert_uint_eq(ranges(VIRTIO_BLK_T_DISCARD, 1), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_IOERR);
	still_works(image0);
}
END_TEST

START_TEST(hostile__unknown_types_and_flags_are_unsupp)
{
	static const uint32_t types[] = { 2, 3, 5, 10, 14, 0x80000000u, 0xffffffffu };

	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ck_assert_uint_eq(req(types[i], 0, 0, 0), 1);
		ck_assert_uint_eq(*S, VIRTIO_BLK_S_UNSUPP);
	}
	set_range(0, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP); /* UNMAP: write-zeroes only */
	ck_assert_uint_eq(ranges(VIRTIO_BLK_T_DISCARD, 1), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_UNSUPP);
	set_range(0, 0, 8, 4);
	ck_assert_uint_eq(ranges(VIRTIO_BLK_T_WRITE_ZEROES, 1), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_UNSUPP);
	still_works(image0);
}
END_TEST

START_TEST(hostile__refusals_are_logged_rate_limited)
{
	const char *log;
	unsigned int lines = 0;

	for (unsigned int i = 0; i < 200; i++) {
		ck_assert_uint_eq(req(99, 0, 0, 0), 1);
		ck_assert_uint_eq(*S, VIRTIO_BLK_S_UNSUPP);
	}
	log = exblk_daemon_log(&w);
	for (const char *p = log; (p = strstr(p, "answered UNSUPP")); p++)
		lines++;
	ck_assert_uint_ge(lines, 1);
	ck_assert_uint_le(lines, 10);
}
END_TEST

START_TEST(hostile__unusual_but_legal_layouts_are_served)
{
	struct xensim_sg out[18], in[2];
	uint8_t *image = malloc(SECTORS * 512);
	char id[20];

	memcpy(image, image0, SECTORS * 512);
	/* OUT whose header comes in 16 one-byte descriptors */
	hdr(VIRTIO_BLK_T_OUT, 100);
	for (unsigned int i = 0; i < 16; i++)
		out[i] = sg(H + i, 1);
	exblk_fill(D, 1024, 7);
	out[16] = sg(D, 512);
	out[17] = sg(D + 512, 512);
	in[0] = sg(S, 1);
	*S = 0xee;
	ck_assert_uint_eq(exblk_raw(&w, RAW, out, 18, in, 1), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_OK);
	memcpy(image + 100 * 512, D, 1024);
	/* IN whose data and status share one descriptor */
	hdr(VIRTIO_BLK_T_IN, 100);
	out[0] = sg(H, 16);
	memset(D + 2048, 0, 1025);
	in[0] = sg(D + 2048, 1025);
	ck_assert_uint_eq(exblk_raw(&w, RAW, out, 1, in, 1), 1025);
	ck_assert_uint_eq(D[2048 + 1024], VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(D + 2048, D, 1024);
	/* Header and OUT data in one descriptor */
	hdr(VIRTIO_BLK_T_OUT, 200);
	exblk_fill(H + 16, 512, 8);
	out[0] = sg(H, 16 + 512);
	in[0] = sg(S, 1);
	*S = 0xee;
	ck_assert_uint_eq(exblk_raw(&w, RAW, out, 1, in, 1), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_OK);
	memcpy(image + 200 * 512, H + 16, 512);
	/* GET_ID into 8 bytes: the ID's first 8 */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_GET_ID, 0, 0, 8), 9);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(D, "hostile.", 8);
	ck_assert_int_eq(xensim_blk_get_id(w.blk, 0, id, EXBLK_TMO), 0);
	ck_assert_mem_eq(id, "hostile.img\0\0\0\0\0\0\0\0\0", 20);
	/* Empty read and write: nothing to move, OK */
	ck_assert_uint_eq(req(VIRTIO_BLK_T_IN, 5, 0, 0), 1);
	ck_assert_uint_eq(*S, VIRTIO_BLK_S_OK);
	still_works(image);
	free(image);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example_blk_hostile");
	TCase *tc = tcase_create("hostile");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
		       hostile__malformed_framing_is_answered_ioerr_and_the_device_keeps_working);
	tcase_add_test(tc, hostile__error_answers_zero_the_writable_bytes);
	tcase_add_test(tc,
		       hostile__requests_outside_the_disk_are_ioerr_and_leave_the_image_unchanged);
	tcase_add_test(tc, hostile__unknown_types_and_flags_are_unsupp);
	tcase_add_test(tc, hostile__refusals_are_logged_rate_limited);
	tcase_add_test(tc, hostile__unusual_but_legal_layouts_are_served);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
