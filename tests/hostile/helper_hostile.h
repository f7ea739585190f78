/* SPDX-License-Identifier: MIT */
/*
 * helper_hostile.h — the world of the hostile-guest suite: a xensim machine with one guest, a
 * backend thread running a vxen_loop that serves two REAL virtio-blk devices of the blk example
 * (examples/blk: blk_create(), linked in-process, threads I/O engine, image files in $TMPDIR),
 * and the guest side:
 *
 *   device A (HW_BASE_A, SPI HW_IRQ_A, 2 request queues): the device under attack. Its driver is
 *            xensim's generic virtio-mmio driver (w->vd); queue 0 is driven through xensim's raw
 *            ring API (hostile descriptors, indices, flags), queue 1 through the normal driver,
 *            to prove the other queue keeps being served.
 *   device B (HW_BASE_B, SPI HW_IRQ_B, 1 queue): a bystander with xensim's virtio-blk driver,
 *            to prove other devices keep being served.
 *
 * hw_down() checks that nothing leaked: every grant mapping, event channel port, ioreq server and
 * foreign mapping of the guest gone (xensim's live counters), no "grant still in use" seen by the
 * guest, every buffer the test granted can be ended (the backend holds none), and the process has
 * as many fds as before hw_up().
 *
 * Everything asserts (Check); tests run in Check's fork mode, one world per test.
 */
#ifndef HELPER_HOSTILE_H
#define HELPER_HOSTILE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-xen/dev.h>
#include <virtio-xen/loop.h>
#include <xensim-virtio.h>
#include <xensim.h>

#include "helper_testdev.h" /* the backend thread: struct testloop (tests/sim) */

#define HW_BASE_A    0x2000000ull
#define HW_IRQ_A     33u
#define HW_BASE_B    0x2000200ull
#define HW_IRQ_B     34u
#define HW_TMO	     5000
#define HW_SECTORS   8192u /* 4 MiB images */
#define HW_MAX_BUFS  512u
#define HW_VCPUS     4u
#define HW_RING_GREF 32768u /* xensim grant table size: refs from here on are never granted */

/* Descriptor flags (split ring). */
#define D_NEXT	   XENSIM_VRING_DESC_F_NEXT
#define D_WRITE	   XENSIM_VRING_DESC_F_WRITE
#define D_INDIRECT XENSIM_VRING_DESC_F_INDIRECT

/* virtio-blk request types and status values (virtio 1.2 §5.2.6). */
#define BLK_T_IN     0u
#define BLK_T_OUT    1u
#define BLK_T_FLUSH  4u
#define BLK_T_GET_ID 8u
#define BLK_S_OK     0u
#define BLK_S_IOERR  1u
#define BLK_S_UNSUPP 2u

/** hw_make_image() - a 4 MiB image in $TMPDIR whose sector s holds le64 s then bytes s & 0xff;
 * its path into @path (@n bytes). The caller unlinks it. */
void hw_make_image(char *path, size_t n);

struct hw_dev {
	vxen_dev *dev;
	vxen_ioreq_server *srv;
	char img[64];
	void *opts; /* struct blk_opts, kept for blk_destroy() */
};

struct hw_opts {
	unsigned int a_queues; /* request queues of A (default 2) */
	unsigned int q0_size;  /* QueueNum of A's queue 0 (0: QueueNumMax, 256) */
	uint64_t a_features;   /* driver features for A (0: xensim's blk defaults) */
	bool a_probe_only;     /* A: probe (reset + ACKNOWLEDGE) only, no negotiation */
	bool a_foreign;	       /* A uses guest-physical addresses (grant_usage=0) */
	bool no_b;	       /* no bystander device */
	bool allow_end_busy;   /* do not require gnt_end_busy == 0 at the end */
	bool keep_log;	       /* do not install the library log handler */
};

struct hw {
	struct hw_opts o;
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *g;
	struct testloop *loop; /* the backend thread */
	int blockfd;	       /* hw_block(): the callback sleeps reading this eventfd */
	struct hw_dev a, b;
	xensim_vdev *vd;	  /* A's transport driver */
	xensim_vq *q0, *q1;	  /* A's queues (after hw_init_a) */
	struct xensim_vq_raw raw; /* queue 0's ring memory */
	uint16_t avail;		  /* next avail index the test publishes on queue 0 */
	xensim_blk *bdrv;	  /* B's driver */
	int fds_before;
	unsigned int nbufs;
	struct {
		struct xensim_gbuf gb;
		uint64_t dma;
		size_t len;
		bool mapped;
	} bufs[HW_MAX_BUFS];
};

/* ---- world ---------------------------------------------------------------------------------- */

/** hw_per_desc() - true when the catalogue runs with the per-descriptor grant strategy. */
bool hw_per_desc(void);

/** hw_up() - machine, guest, backend thread, devices A and B, B's driver; A initialised (all
 * queues, DRIVER_OK) unless @o->a_probe_only. @o may be NULL. */
void hw_up(struct hw *w, const struct hw_opts *o);

/** hw_init_a() - negotiate @features (0: the defaults), set up A's queues (@sizes may be NULL:
 * all at QueueNumMax) and set DRIVER_OK; fills w->q0, w->q1, w->raw. */
void hw_init_a(struct hw *w, uint64_t features, const unsigned int *sizes);

/** hw_down() - tear everything down and assert that nothing leaked (see the top). */
void hw_down(struct hw *w);

/** hw_counters() - xensim's counters for the guest. */
struct xensim_counters hw_counters(struct hw *w);

/** Run @fn(@arg) on the backend thread and wait for it. */
void hw_call(struct hw *w, void (*fn)(void *arg), void *arg);

/** Device and queue counters of @d (run on the backend thread). */
struct vxen_dev_stats hw_dstats(struct hw *w, struct hw_dev *d);
struct vxen_dev_queue_stats hw_qstats(struct hw *w, struct hw_dev *d, unsigned int q);

/** Make the backend thread sleep in a callback until hw_unblock() (it answers nothing). */
void hw_block(struct hw *w);
void hw_unblock(struct hw *w);

/* ---- registers of A ------------------------------------------------------------------------ */

uint32_t hw_rd(struct hw *w, uint64_t off);
void hw_wr(struct hw *w, uint64_t off, uint32_t v);
/* Any size (1, 2, 4, 8, or others through xensim_ioreq_raw), any offset; returns the value. */
uint64_t hw_rd_sized(struct hw *w, uint64_t off, unsigned int size);
void hw_wr_sized(struct hw *w, uint64_t off, unsigned int size, uint64_t v);
uint32_t hw_status(struct hw *w);

/* ---- guest buffers and queue 0's raw ring --------------------------------------------------- */

/** hw_buf() - @len bytes of fresh guest RAM granted with xensim_dma_map(@dir); returns the
 * device address and the host pointer (@host may be NULL). Ended at hw_down(), asserting the
 * backend no longer maps them. */
uint64_t hw_buf(struct hw *w, size_t len, enum xensim_dma_dir dir, void **host);

/** hw_buf_revoke() - revoke every grant of the buffer at @dma (hostile: regardless of use). */
void hw_buf_revoke(struct hw *w, uint64_t dma);

void hw_desc(struct hw *w, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
	     uint16_t next);
/** hw_avail() - append @head to queue 0's avail ring and publish avail.idx + 1. */
void hw_avail(struct hw *w, uint16_t head);
/** hw_kick() - QueueNotify for queue 0. */
void hw_kick(struct hw *w);
uint16_t hw_used_idx(struct hw *w);
void hw_used(struct hw *w, uint16_t i, uint32_t *id, uint32_t *len);
/** hw_wait_used() - wait until queue 0's used.idx reaches @idx (true) or @ms pass (false). */
bool hw_wait_used(struct hw *w, uint16_t idx, int ms);

/**
 * hw_blk_chain() - a virtio-blk request in descriptors @d (header, device-readable),
 * @d + 1 (data: @data_len bytes, device-writable for IN/GET_ID, readable for OUT; omitted when
 * @data_len is 0) and the next one (1-byte status, writable). Returns the head @d.
 * *@status (may be NULL) points at the status byte, preset to 0xff; *@data at the data.
 */
uint16_t hw_blk_chain(struct hw *w, uint16_t d, uint32_t type, uint64_t sector, size_t data_len,
		      uint8_t **status, uint8_t **data);

/** hw_expect_used() - wait for used entry number @i and assert its id and length. */
void hw_expect_used(struct hw *w, uint16_t i, uint32_t id, uint32_t len);

/** hw_serve_one() - a good 1-sector read on queue 0 (descriptors @d..@d+2), served and checked
 * as the next used entry; proves every chain published before it was consumed. Call when every
 * earlier chain has been answered or dropped. */
void hw_serve_one(struct hw *w, uint16_t d, uint64_t sector);

/** hw_sector_ok() - @buf holds image sector @sector's pattern. */
bool hw_sector_ok(const uint8_t *buf, uint64_t sector);

/* ---- outcome checks ------------------------------------------------------------------------ */

/** hw_assert_q1_serves() - a read on A's queue 1 through the driver completes with the data. */
void hw_assert_q1_serves(struct hw *w);

/** hw_assert_b_serves() - the bystander device B serves a read. */
void hw_assert_b_serves(struct hw *w);

/** hw_assert_broken() - queue 0 of A is broken, Status has DEVICE_NEEDS_RESET and the driver
 * got a configuration change interrupt. */
void hw_assert_broken(struct hw *w);

/**
 * hw_assert_reset_clean() - reset A from the guest and assert: Status reads 0, A holds no ring
 * or data mapping and no request (its counters), and the guest's live grant mappings are
 * exactly B's ring pages. Then A can be initialised again with hw_init_a().
 */
void hw_assert_reset_clean(struct hw *w);

/** hw_epilogue() - what every data-plane case ends with: A's queue 1 and B still serve, then
 * hw_assert_reset_clean(), then A is brought up again and serves on queue 0. */
void hw_epilogue(struct hw *w);

/** Count open fds of this process. */
int hw_count_fds(void);

/* ---- main() -------------------------------------------------------------------------------- */

/** hw_run_suite() - run @s (Check's fork mode, CK_NORMAL output) and free it; returns main()'s
 * status: EXIT_SUCCESS when every test passed, else EXIT_FAILURE. */
int hw_run_suite(Suite *s);

/** hw_run_tests() - hw_run_suite() of suite @suite with one test case @tcase of the @n @tests
 * (a timeout of @timeout seconds each; 0: Check's default). HW_TESTS(t, ...) gives @tests, @n. */
int hw_run_tests(const char *suite, const char *tcase, unsigned int timeout,
		 const TTest *const *tests, size_t n);
#define HW_TESTS(...)                                                                              \
	(const TTest *[]){ __VA_ARGS__ }, sizeof((const TTest *[]){ __VA_ARGS__ }) / sizeof(TTest *)

#endif /* HELPER_HOSTILE_H */
