/* SPDX-License-Identifier: MIT */
/*
 * test_example_blk.c — the virtio-xen-blk daemon as its own process on xensim, driven by the
 * guest-side virtio-blk driver: data integrity across queues and engines, flush, read-only
 * images, discard/write-zeroes, GET_ID, guest death mid-I/O, SIGTERM, explicit mode.
 * Malformed requests: test_example_blk_hostile.c; the command line: test_example_blk_cli.c.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "helper_example_blk.h"

#define MIB   (1024ull * 1024)
#define BIT   XENSIM_VIRTIO_BIT
#define NQ    2
#define DEPTH 16 /* requests in flight per queue */

static struct exblk w;

static void setup(void)
{
	exblk_start(&w);
}

static void teardown(void)
{
	exblk_stop(&w);
}

/* Discovery-mode daemon with 2 queues and engine @io, one guest with one disk, attached. */
static void up(const char *mode, const char *io, const struct xensim_blk_opts *o)
{
	const char *args[] = { "--queues", "2", "--io", io, "-v", NULL };
	uint32_t domid;

	exblk_daemon_start(&w, args);
	domid = exblk_guest(&w);
	exblk_disk(&w, domid, 0, mode);
	exblk_wait_state(&w, domid, 0, "2");
	exblk_attach(&w, domid, o);
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ------------------------------------------------------------------------------------------ */
/* Random I/O at depth over all queues                                                         */

#define CHUNK	 (64u * 1024)
#define PAGE	 4096u
#define MAX_SEGS (CHUNK / PAGE)

struct piece {
	uint64_t off;
	uint32_t len;
};

struct slot {
	struct xensim_blk_req req;
	struct xensim_sg sg[MAX_SEGS];
	struct xensim_gbuf buf;
	const struct piece *p;
	bool busy;
};

struct run {
	struct slot slots[NQ * DEPTH];
	uint8_t *shadow;
	bool write;
	uint32_t seed;
	unsigned int done[NQ], inflight[NQ], peak[NQ];
};

/* Every CHUNK of the disk cut into pieces of 1..16 pages, all shuffled: no two overlap. */
static struct piece *pieces(uint64_t disk, uint32_t seed, unsigned int *n)
{
	struct piece *p = malloc(disk / PAGE * sizeof(*p));
	unsigned int k = 0;

	ck_assert_ptr_nonnull(p);
	for (uint64_t c = 0; c < disk; c += CHUNK)
		for (uint32_t pos = 0, len; pos < CHUNK; pos += len) {
			len = PAGE * (1 + rnd(&seed) % MAX_SEGS);
			if (len > CHUNK - pos)
				len = CHUNK - pos;
			p[k++] = (struct piece){ c + pos, len };
		}
	for (unsigned int i = k - 1; i > 0; i--) {
		unsigned int j = rnd(&seed) % (i + 1);
		struct piece t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	*n = k;
	return p;
}

static void slot_start(struct run *r, struct slot *s, unsigned int q, const struct piece *p)
{
	s->p = p;
	s->busy = true;
	if (r->write) {
		exblk_fill(r->shadow + p->off, p->len, ++r->seed);
		memcpy(s->buf.host, r->shadow + p->off, p->len);
	} else {
		memset(s->buf.host, 0x5a, p->len);
	}
	for (unsigned int i = 0; i < p->len / PAGE; i++)
		s->sg[i] = (struct xensim_sg){ s->buf.gpa + i * PAGE, PAGE };
	s->req = (struct xensim_blk_req){ .type = r->write ? XENSIM_VIRTIO_BLK_T_OUT
							   : XENSIM_VIRTIO_BLK_T_IN,
					  .sector = p->off / 512,
					  .sg = s->sg,
					  .nsg = p->len / PAGE,
					  .priv = s };
	ck_assert_int_eq(xensim_blk_submit(w.blk, q, &s->req, false), 0);
	if (++r->inflight[q] > r->peak[q])
		r->peak[q] = r->inflight[q];
}

static void slot_done(struct run *r, unsigned int q, struct xensim_blk_req *req)
{
	struct slot *s = req->priv;

	ck_assert_uint_eq(req->status, XENSIM_VIRTIO_BLK_S_OK);
	ck_assert_int_eq(req->error, 0);
	ck_assert_uint_eq(req->used_len, r->write ? 1 : s->p->len + 1);
	if (!r->write)
		ck_assert_msg(exblk_hash(s->buf.host, s->p->len) ==
				      exblk_hash(r->shadow + s->p->off, s->p->len),
			      "read of %u bytes at %llu: checksum mismatch", s->p->len,
			      (unsigned long long)s->p->off);
	s->busy = false;
	r->inflight[q]--;
	r->done[q]++;
}

/* Keep DEPTH requests in flight on each queue until all @n pieces are done. */
static void pump(struct run *r, const struct piece *p, unsigned int n)
{
	xensim_vdev *vd = xensim_blk_vdev(w.blk);
	time_t deadline = time(NULL) + 120;
	unsigned int next = 0, done = 0;

	while (done < n) {
		bool kick[NQ] = { false };
		unsigned int reaped = 0;
		struct xensim_blk_req *req;

		for (unsigned int i = 0; i < NQ * DEPTH && next < n; i++) {
			if (r->slots[i].busy)
				continue;
			slot_start(r, &r->slots[i], i % NQ, &p[next++]);
			kick[i % NQ] = true;
		}
		for (unsigned int q = 0; q < NQ; q++)
			if (kick[q])
				ck_assert_int_ge(xensim_blk_kick(w.blk, q), 0);
		for (unsigned int q = 0; q < NQ; q++)
			while (xensim_blk_complete(w.blk, q, 0, &req) == 1) {
				slot_done(r, q, req);
				reaped++;
			}
		done += reaped;
		if (!reaped) {
			int e = xensim_vdev_irq_wait(vd, 100);

			ck_assert_msg(e >= 0 || e == -ETIMEDOUT, "irq wait: %d", e);
			ck_assert_msg(time(NULL) < deadline, "stuck: %u of %u done", done, n);
		}
	}
}

START_TEST(example_blk__random_io_over_64mib_on_all_queues_reads_back_what_was_written)
{
	static const char *const io[] = { "uring", "threads" };
	const uint64_t disk = 64 * MIB;
	struct run *r = calloc(1, sizeof(*r));
	struct piece *p;
	unsigned int n;
	uint8_t *file;

	ck_assert_ptr_nonnull(r);
	exblk_image(&w, "random.img", disk, 0);
	up("w", io[_i], NULL);
	ck_assert_uint_eq(xensim_blk_nr_queues(w.blk), NQ);
	r->shadow = malloc(disk);
	ck_assert_ptr_nonnull(r->shadow);
	for (unsigned int i = 0; i < NQ * DEPTH; i++)
		ck_assert_int_eq(xensim_gbuf_alloc(w.g, CHUNK, &r->slots[i].buf), 0);

	/* Write every byte of the disk once, in random pieces and order. */
	r->write = true;
	p = pieces(disk, 1234, &n);
	pump(r, p, n);
	free(p);
	ck_assert_int_eq(xensim_blk_flush(w.blk, 0, EXBLK_TMO), 0);
	file = exblk_read_image(&w);
	ck_assert_msg(exblk_hash(file, disk) == exblk_hash(r->shadow, disk),
		      "image file differs from what the guest wrote");
	free(file);

	/* Read it all back, in other pieces and another order. */
	r->write = false;
	p = pieces(disk, 4321, &n);
	pump(r, p, n);
	free(p);
	for (unsigned int q = 0; q < NQ; q++) {
		ck_assert_uint_gt(r->done[q], 1000);
		ck_assert_uint_eq(r->peak[q], DEPTH);
	}
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w),
				     _i ? ", threaded I/O, grant" : ", io_uring I/O, grant"));
	for (unsigned int i = 0; i < NQ * DEPTH; i++)
		xensim_gbuf_free(w.g, &r->slots[i].buf);
	free(r->shadow);
	free(r);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Flush, read-only, discard, GET_ID                                                           */

START_TEST(example_blk__flushed_writes_are_in_the_image_file)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	uint8_t buf[256 * 1024], *file;

	/* _i == 1: the driver does not negotiate FLUSH, so the device must write through. */
	if (_i)
		o.features &= ~BIT(XENSIM_VIRTIO_BLK_F_FLUSH);
	exblk_image(&w, "flush.img", 8 * MIB, 0);
	up("w", "uring", &o);
	exblk_fill(buf, sizeof(buf), 77);
	ck_assert_int_eq(xensim_blk_write(w.blk, 1, 2048, buf, sizeof(buf), EXBLK_TMO), 0);
	if (!_i)
		ck_assert_int_eq(xensim_blk_flush(w.blk, 1, EXBLK_TMO), 0);
	file = exblk_read_image(&w);
	ck_assert_mem_eq(file + 2048 * 512, buf, sizeof(buf));
	free(file);
}
END_TEST

START_TEST(example_blk__read_only_image_is_untouched_and_writes_fail_with_ioerr)
{
	struct xensim_blk_opts o = XENSIM_BLK_OPTS_INIT;
	const char *args[] = { "--read-only", "--queues", "2", NULL };
	uint8_t buf[8192], *before, *after;
	uint64_t offered;
	uint32_t domid;

	exblk_image(&w, "ro.img", 4 * MIB, 99);
	before = exblk_read_image(&w);
	/* The driver ignores RO, so that it sends writes at all. */
	o.features &= ~BIT(XENSIM_VIRTIO_BLK_F_RO);
	if (_i == 0) { /* xl's mode "r" */
		up("r", "uring", &o);
	} else { /* mode "w", but the daemon runs with --read-only */
		exblk_daemon_start(&w, args);
		domid = exblk_guest(&w);
		exblk_disk(&w, domid, 0, "w");
		exblk_wait_state(&w, domid, 0, "2");
		exblk_attach(&w, domid, &o);
	}
	offered = xensim_vdev_device_features(xensim_blk_vdev(w.blk));
	ck_assert(offered & BIT(XENSIM_VIRTIO_BLK_F_RO));
	ck_assert(!(offered & BIT(XENSIM_VIRTIO_BLK_F_DISCARD)));
	ck_assert(!(offered & BIT(XENSIM_VIRTIO_BLK_F_WRITE_ZEROES)));
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(xensim_blk_write(w.blk, 0, 0, buf, sizeof(buf), EXBLK_TMO), -EIO);
	ck_assert_int_eq(xensim_blk_write(w.blk, 1, 100, buf, 512, EXBLK_TMO), -EIO);
	ck_assert_int_eq(xensim_blk_flush(w.blk, 0, EXBLK_TMO), 0);
	ck_assert_int_eq(xensim_blk_read(w.blk, 0, 8, buf, sizeof(buf), EXBLK_TMO), 0);
	ck_assert_mem_eq(buf, before + 8 * 512, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), "4 MiB ro"));
	/* Stop the daemon first: nothing can still write the image when it is compared. */
	xensim_blk_free(w.blk);
	w.blk = NULL;
	ck_assert_int_ne(exblk_daemon_wait(&w, SIGTERM, EXBLK_TMO), -1);
	after = exblk_read_image(&w);
	ck_assert(exblk_hash(before, 4 * MIB) == exblk_hash(after, 4 * MIB));
	ck_assert_mem_eq(before, after, 4 * MIB);
	free(before);
	free(after);
}
END_TEST

static void expect_zeros(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(!p[i], "byte %zu is %#x, not 0", i, p[i]);
}

START_TEST(example_blk__discarded_and_zeroed_ranges_read_back_as_zeros)
{
	const uint64_t disk = 8 * MIB;
	struct xensim_blk_range ranges[3] = { { 5000, 8, 0 }, { 6000, 3, 0 }, { 7000, 100, 0 } };
	struct xensim_blk_req req = { .type = XENSIM_VIRTIO_BLK_T_DISCARD,
				      .ranges = ranges,
				      .nranges = 3 };
	struct xensim_blk_req *done;
	uint8_t *shadow, *file, buf[64 * 512];

	exblk_image(&w, "zero.img", disk, 5);
	shadow = exblk_read_image(&w);
	up("w", "uring", NULL);
	ck_assert_uint_ge(xensim_blk_config(w.blk)->max_discard_seg, 3);
	ck_assert_uint_eq(xensim_blk_config(w.blk)->write_zeroes_may_unmap, 1);

	ck_assert_int_eq(xensim_blk_discard(w.blk, 0, 64, 128, EXBLK_TMO), 0); /* 4 KiB aligned */
	ck_assert_int_eq(xensim_blk_discard(w.blk, 0, 301, 5, EXBLK_TMO), 0);  /* not aligned */
	ck_assert_int_eq(xensim_blk_write_zeroes(w.blk, 1, 1000, 9, true, EXBLK_TMO), 0);
	ck_assert_int_eq(xensim_blk_write_zeroes(w.blk, 1, 3000, 33, false, EXBLK_TMO), 0);
	ck_assert_int_eq(xensim_blk_submit(w.blk, 0, &req, true), 0);
	ck_assert_int_eq(xensim_blk_complete(w.blk, 0, EXBLK_TMO, &done), 1);
	ck_assert_uint_eq(done->status, XENSIM_VIRTIO_BLK_S_OK);
	memset(shadow + 64 * 512, 0, 128 * 512);
	memset(shadow + 301 * 512, 0, 5 * 512);
	memset(shadow + 1000 * 512, 0, 9 * 512);
	memset(shadow + 3000 * 512, 0, 33 * 512);
	for (unsigned int i = 0; i < 3; i++)
		memset(shadow + ranges[i].sector * 512, 0, ranges[i].num_sectors * 512);

	/* Through the guest: the zeros and their intact neighbours. */
	ck_assert_int_eq(xensim_blk_read(w.blk, 0, 960, buf, sizeof(buf), EXBLK_TMO), 0);
	ck_assert_mem_eq(buf, shadow + 960 * 512, sizeof(buf));
	expect_zeros(buf + 40 * 512, 9 * 512);
	ck_assert_int_eq(xensim_blk_read(w.blk, 1, 6990, buf, sizeof(buf), EXBLK_TMO), 0);
	ck_assert_mem_eq(buf, shadow + 6990 * 512, sizeof(buf));
	/* And in the file. */
	file = exblk_read_image(&w);
	ck_assert_mem_eq(file, shadow, disk);
	expect_zeros(file + 64 * 512, 128 * 512);
	free(file);
	free(shadow);
}
END_TEST

START_TEST(example_blk__get_id_returns_the_image_name_as_serial)
{
	char id[XENSIM_VIRTIO_BLK_ID_BYTES];
	char want[XENSIM_VIRTIO_BLK_ID_BYTES] = "d.img";

	if (_i) {
		exblk_image(&w, "a-rather-long-disk-image-name.img", MIB, 0);
		memcpy(want, "a-rather-long-disk-image-name.img", sizeof(want));
	} else {
		exblk_image(&w, "d.img", MIB, 0);
	}
	up("w", "uring", NULL);
	ck_assert_int_eq(xensim_blk_get_id(w.blk, 0, id, EXBLK_TMO), 0);
	ck_assert_mem_eq(id, want, sizeof(id));
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                  */

/* Submit @n 64 KiB writes on queue 0 and kick, without waiting for them. */
static void writes_in_flight(unsigned int n, struct xensim_blk_req *reqs, struct xensim_sg *sgs)
{
	uint64_t gpa;

	ck_assert_int_eq(xensim_guest_alloc_pages(w.g, n * 16, &gpa), 0);
	for (unsigned int i = 0; i < n; i++) {
		sgs[i] = (struct xensim_sg){ gpa + i * 65536ull, 65536 };
		reqs[i] = (struct xensim_blk_req){ .type = XENSIM_VIRTIO_BLK_T_OUT,
						   .sector = i * 128ull,
						   .sg = &sgs[i],
						   .nsg = 1 };
		ck_assert_int_eq(xensim_blk_submit(w.blk, 0, &reqs[i], false), 0);
	}
	ck_assert_int_ge(xensim_blk_kick(w.blk, 0), 0);
}

static void round_trip(unsigned int q, uint64_t sector, uint32_t seed)
{
	uint8_t a[16384], b[16384];

	exblk_fill(a, sizeof(a), seed);
	ck_assert_int_eq(xensim_blk_write(w.blk, q, sector, a, sizeof(a), EXBLK_TMO), 0);
	ck_assert_int_eq(xensim_blk_read(w.blk, q, sector, b, sizeof(b), EXBLK_TMO), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
}

START_TEST(example_blk__daemon_survives_guest_destroyed_mid_io_and_serves_the_next_guest)
{
	struct xensim_blk_req reqs[32];
	struct xensim_sg sgs[32];
	char line[64];
	uint32_t first, second;

	exblk_image(&w, "reboot.img", 8 * MIB, 0);
	up("w", _i ? "threads" : "uring", NULL);
	first = w.domid;
	round_trip(0, 0, 1);
	writes_in_flight(32, reqs, sgs);
	ck_assert_int_eq(xensim_xl_destroy(w.x, first), 0);
	exblk_forget_guest(&w);
	exblk_wait_clean(&w, first);
	ck_assert_int_eq(exblk_daemon_wait(&w, 0, 0), -1); /* still running */

	second = exblk_guest(&w);
	ck_assert_uint_ne(second, first);
	exblk_disk(&w, second, 0, "w");
	exblk_wait_state(&w, second, 0, "2");
	exblk_attach(&w, second, NULL);
	round_trip(1, 4096, 2);
	round_trip(0, 8, 3);
	snprintf(line, sizeof(line), "blk: d%u dev 0: gone", first);
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), line));
}
END_TEST

START_TEST(example_blk__driver_reset_mid_io_drains_and_the_device_serves_again)
{
	struct xensim_blk_req reqs[32];
	struct xensim_sg sgs[32];
	uint8_t status;

	exblk_image(&w, "reset.img", 8 * MIB, 0);
	up("w", _i ? "threads" : "uring", NULL);
	writes_in_flight(32, reqs, sgs);
	/* Status = 0 with requests in flight: Status reads 0 only once they are all done and
	 * their buffers released. */
	ck_assert_int_eq(xensim_vdev_reset(xensim_blk_vdev(w.blk)), 0);
	ck_assert_int_eq(xensim_vdev_get_status(xensim_blk_vdev(w.blk), &status), 0);
	ck_assert_uint_eq(status, 0);
	ck_assert_int_eq(xensim_blk_free(w.blk), 0); /* -EBUSY if a grant were still mapped */
	w.blk = NULL;
	ck_assert_uint_eq(xensim_guest_broken(w.g), 0);
	ck_assert_int_eq(xensim_blk_new(&w.blk, w.g, 0, EXBLK_BASE, EXBLK_IRQ, NULL), 0);
	round_trip(0, 0, 6);
	round_trip(1, 2048, 7);
}
END_TEST

START_TEST(example_blk__sigterm_exits_0_closes_the_device_and_releases_every_mapping)
{
	struct xensim_blk_req reqs[32];
	struct xensim_sg sgs[32];
	struct xensim_counters c;
	char path[128], line[512];
	int status;

	exblk_image(&w, "term.img", 8 * MIB, 0);
	up("w", _i ? "threads" : "uring", NULL);
	round_trip(0, 64, 4);
	snprintf(line, sizeof(line), "blk: d%u dev 0: %s 8 MiB rw, 2 queues", w.domid, w.image);
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), line));
	/* Requests in flight when the signal arrives are finished first. */
	writes_in_flight(32, reqs, sgs);
	status = exblk_daemon_wait(&w, SIGTERM, EXBLK_TMO);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %#x", status);
	snprintf(path, sizeof(path), "/local/domain/0/backend/virtio_disk/%u/0/state", w.domid);
	ck_assert_int_eq(xensim_xs_wait(w.x, path, "6", 0), 0);
	ck_assert_int_eq(xensim_counters_get(w.x, w.domid, &c), 0);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_uint_eq(c.fmem_live_pages, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.evtchn_live_ports, 0);
	snprintf(line, sizeof(line), "blk: d%u dev 0: gone", w.domid);
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), line));
}
END_TEST

/* A second image next to w.image, of @bytes, filled from @seed. */
static void image2(char *path, size_t n, const char *name, uint64_t bytes, uint32_t seed)
{
	struct exblk tmp = w;

	exblk_image(&tmp, name, bytes, seed);
	snprintf(path, n, "%s", tmp.image);
}

START_TEST(example_blk__serves_every_disk_of_every_guest_and_never_shares_a_writable_image)
{
	const char *args[] = { "--queues", "1", NULL };
	char b_path[300], c_path[300], state[128];
	uint8_t buf[4096], want[4096];
	xensim_guest *g2;
	xensim_blk *blk1, *blk2;
	uint32_t a, b;

	exblk_image(&w, "a0.img", 2 * MIB, 10);
	image2(b_path, sizeof(b_path), "a1.img", 3 * MIB, 11);
	image2(c_path, sizeof(c_path), "b0.img", 4 * MIB, 12);
	exblk_daemon_start(&w, args);
	a = exblk_guest(&w);
	b = exblk_guest(&w);
	exblk_disk(&w, a, 0, "w");
	exblk_disk_at(&w, a, 1, b_path, "r");
	exblk_disk_at(&w, b, 0, c_path, "w");
	exblk_wait_state(&w, a, 0, "2");
	exblk_disk(&w, b, 1, "w"); /* a0.img again, writable: refused while guest a has it */
	exblk_wait_state(&w, a, 1, "2");
	exblk_wait_state(&w, b, 0, "2");
	exblk_attach(&w, a, NULL);
	ck_assert_int_eq(xensim_blk_new(&blk1, w.g, 0, EXBLK_BASE + 0x200, EXBLK_IRQ + 1, NULL), 0);
	ck_assert_int_eq(xensim_guest_attach(&g2, w.x, b), 0);
	ck_assert_int_eq(xensim_blk_new(&blk2, g2, 0, EXBLK_BASE, EXBLK_IRQ, NULL), 0);

	ck_assert_uint_eq(xensim_blk_config(w.blk)->capacity, 2 * MIB / 512);
	ck_assert_uint_eq(xensim_blk_config(blk1)->capacity, 3 * MIB / 512);
	ck_assert(xensim_blk_config(blk1)->read_only);
	ck_assert_uint_eq(xensim_blk_config(blk2)->capacity, 4 * MIB / 512);
	exblk_fill(want, sizeof(want), 11);
	ck_assert_int_eq(xensim_blk_read(blk1, 0, 0, buf, sizeof(buf), EXBLK_TMO), 0);
	ck_assert_mem_eq(buf, want, sizeof(buf));
	exblk_fill(want, sizeof(want), 12);
	ck_assert_int_eq(xensim_blk_read(blk2, 0, 0, buf, sizeof(buf), EXBLK_TMO), 0);
	ck_assert_mem_eq(buf, want, sizeof(buf));
	round_trip(0, 16, 13);

	/* The shared image was refused: still Initialising, with the reason in the log. */
	snprintf(state, sizeof(state), "/local/domain/0/backend/virtio_disk/%u/1/state", b);
	ck_assert_int_eq(xensim_xs_wait(w.x, state, "1", 0), 0);
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), "in use by another device"));
	xensim_blk_free(blk1);
	xensim_blk_free(blk2);
	xensim_guest_detach(g2);
	unlink(b_path);
	unlink(c_path);
}
END_TEST

START_TEST(example_blk__explicit_mode_serves_one_device_until_sigterm)
{
	char base[32], domid_s[16], id[XENSIM_VIRTIO_BLK_ID_BYTES] = { 0 }, line[512];
	const char *args[] = { "--domid", domid_s,   "--base",	 base,	     "--irq",
			       "33",	  "--image", NULL,	 "--serial", "explicit-serial",
			       "--io",	  "threads", "--queues", "1",	     NULL };
	struct xensim_counters c;
	uint32_t domid;
	int status;

	exblk_image(&w, "explicit.img", 8 * MIB, 0);
	args[7] = w.image;
	domid = exblk_guest(&w);
	snprintf(domid_s, sizeof(domid_s), "%u", domid);
	snprintf(base, sizeof(base), "%#llx", EXBLK_BASE);
	exblk_daemon_start(&w, args);
	exblk_attach_retry(&w, domid, NULL);
	ck_assert_uint_eq(xensim_blk_nr_queues(w.blk), 1);
	round_trip(0, 100, 5);
	ck_assert_int_eq(xensim_blk_get_id(w.blk, 0, id, EXBLK_TMO), 0);
	ck_assert_mem_eq(id, "explicit-serial\0\0\0\0\0", sizeof(id));
	snprintf(line, sizeof(line),
		 "blk: d%u dev 0: %s 8 MiB rw, 1 queue, threaded I/O, grant, "
		 "base 0x2000000 irq 33",
		 domid, w.image);
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), line));
	status = exblk_daemon_wait(&w, SIGTERM, EXBLK_TMO);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %#x", status);
	ck_assert_int_eq(xensim_counters_get(w.x, domid, &c), 0);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
}
END_TEST

START_TEST(example_blk__io_uring_engine_falls_back_to_threads_where_io_uring_is_forbidden)
{
	exblk_image(&w, "fallback.img", 8 * MIB, 0);
	exblk_deny_io_uring = true;
	up("w", "uring", NULL);
	round_trip(0, 0, 8);
	round_trip(1, 100, 9);
	ck_assert_int_eq(xensim_blk_flush(w.blk, 0, EXBLK_TMO), 0);
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w),
				     "io_uring unavailable (Function not implemented), using I/O "
				     "threads"));
	ck_assert_ptr_nonnull(strstr(exblk_daemon_log(&w), "8 MiB rw, 2 queues, threaded I/O"));
}
END_TEST

START_TEST(example_blk__explicit_mode_exits_0_when_its_guest_is_destroyed)
{
	char base[32], domid_s[16];
	const char *args[] = { "--domid", domid_s,   "--base", base, "--irq",
			       "33",	  "--image", NULL,     NULL };
	uint32_t domid;
	int status;

	exblk_image(&w, "explicit-gone.img", 8 * MIB, 0);
	args[7] = w.image;
	domid = exblk_guest(&w);
	snprintf(domid_s, sizeof(domid_s), "%u", domid);
	snprintf(base, sizeof(base), "%#llx", EXBLK_BASE);
	exblk_daemon_start(&w, args);
	exblk_attach_retry(&w, domid, NULL);
	round_trip(0, 100, 10);
	exblk_forget_guest(&w);
	ck_assert_int_eq(xensim_domain_destroy(w.x, domid), 0);
	/* Nothing in Xen tells it; the loop's guest probe (loop.h) finds the guest gone. */
	status = exblk_daemon_wait(&w, 0, EXBLK_TMO);
	ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "wait status %#x; log:\n%s", status, exblk_daemon_log(&w));
	exblk_wait_clean(&w, domid);
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *suite(void)
{
	Suite *s = suite_create("example_blk");
	TCase *tc;

	/* One case per area, so that CK_RUN_CASE can pick one. Loops: _i 0 uring, 1 threads. */
	tc = tcase(s, "data");
	tcase_add_loop_test(
		tc, example_blk__random_io_over_64mib_on_all_queues_reads_back_what_was_written, 0,
		2);
	tcase_add_loop_test(tc, example_blk__flushed_writes_are_in_the_image_file, 0, 2);
	tcase_add_test(
		tc, example_blk__io_uring_engine_falls_back_to_threads_where_io_uring_is_forbidden);
	tc = tcase(s, "requests");
	tcase_add_loop_test(
		tc, example_blk__read_only_image_is_untouched_and_writes_fail_with_ioerr, 0, 2);
	tcase_add_test(tc, example_blk__discarded_and_zeroed_ranges_read_back_as_zeros);
	tcase_add_loop_test(tc, example_blk__get_id_returns_the_image_name_as_serial, 0, 2);
	tc = tcase(s, "lifecycle");
	tcase_add_loop_test(
		tc, example_blk__daemon_survives_guest_destroyed_mid_io_and_serves_the_next_guest,
		0, 2);
	tcase_add_loop_test(
		tc, example_blk__sigterm_exits_0_closes_the_device_and_releases_every_mapping, 0,
		2);
	tcase_add_loop_test(tc, example_blk__driver_reset_mid_io_drains_and_the_device_serves_again,
			    0, 2);
	tcase_add_test(
		tc,
		example_blk__serves_every_disk_of_every_guest_and_never_shares_a_writable_image);
	tc = tcase(s, "explicit");
	tcase_add_test(tc, example_blk__explicit_mode_serves_one_device_until_sigterm);
	tcase_add_test(tc, example_blk__explicit_mode_exits_0_when_its_guest_is_destroyed);
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
