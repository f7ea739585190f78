/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for a whole device (L5 dev over L3 mmio and L1 vq): a vxen_dev without a
 * server, on a plain-memory vxen_dev_mem, driven by guest register accesses and ring contents
 * from the input, with the device side (completions now or later, pull-mode pops, config
 * updates, needs_reset) also chosen by the input.
 *
 * The device has two queues: 0 in push mode (QueueNumMax 16, pool 4, budget 4, 8 segments) and
 * 1 in pull mode (QueueNumMax 8, pool 2), and 12 bytes of config space of which bytes 4..7 are
 * driver-writable. Guest memory is a 64 KiB arena at guest address ARENA_BASE; the "init" op lays
 * the rings out at fixed offsets (below) so the fuzzer reaches the data plane quickly, while raw
 * register writes can put them anywhere.
 *
 * Checked after every operation: the device never holds more requests than its pools, the
 * library's in-flight count covers the requests the device holds, Status never shows bits a
 * driver cannot cause, a broken queue implies DEVICE_NEEDS_RESET, no used entry is published
 * without its buffers unmapped first. After a final reset: no request in flight, no drain
 * timeout, and after vxen_dev_free() every ring and buffer mapping made through the memory
 * interface has been released. ASan/UBSan check every access.
 *
 * Input: a sequence of 8-byte records: op, then 7 argument bytes a[0..6] (see step()).
 * FUZZ_DEV_VERBOSE=1 prints the queue counters an input reached (to check what seeds cover).
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/dev.h>
#include <virtio-xen/iov.h>
#include <virtio-xen/mmio.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_dev: invariant failed: %s (line %d)\n", #cond,       \
				__LINE__);                                                         \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

#define ARENA_SIZE (64u * 1024)
#define ARENA_BASE 0x10000ULL
#define MAX_OPS	   512
#define MAX_HELD   8
#define CFG_SIZE   12

/* Ring layout of the init op, offsets into the arena. */
static const struct {
	uint32_t num, desc, avail, used;
} layout[2] = { { 16, 0x0000, 0x0200, 0x0400 }, { 8, 0x0800, 0x0900, 0x0a00 } };
#define BUF_AREA 0x1000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vxen_dev_queue_config queues[2] = {
	{ .size_max = 16, .max_inflight = 4, .max_segs = 8, .budget = 4 },
	{ .size_max = 8, .max_inflight = 2, .max_segs = 4, .flags = VXEN_DEV_Q_PULL },
};

static struct {
	uint8_t *arena;
	vxen_dev *dev;
	struct vxen_vq_plain_mem pm;
	struct vxen_vq_mem_ops ops;
	struct vxen_dev_mem mem;
	struct vxen_req *held[MAX_HELD];
	unsigned int nheld, held_q[2];
	uint8_t policy;	     /* bit 0: hold push requests; bits 1-7: written = policy * 37 */
	bool pull_on_notify; /* pop queue 1 from inside queue_notify */
	long ring_maps, buf_maps;
	uint16_t avail_idx[2];
} w;

/* ---- memory interface: plain memory, with its mappings counted ------------------------------ */

static int mem_read(void *p, uint64_t addr, void *dst, size_t len)
{
	return vxen_vq_plain_mem_ops()->read(&w.pm, addr, dst, len);
}

static int mem_map(void *p, struct vxen_req *req)
{
	int r = vxen_vq_plain_mem_ops()->map(&w.pm, req);

	if (r == 0)
		w.buf_maps++;
	return r;
}

static void mem_unmap(void *p, struct vxen_req *req, size_t written)
{
	CHECK(written <= req->in_len);
	vxen_vq_plain_mem_ops()->unmap(&w.pm, req, written);
	w.buf_maps--;
	CHECK(w.buf_maps >= 0);
}

static void *ring_map(uint64_t addr, size_t len, void *p)
{
	if (addr < ARENA_BASE || addr - ARENA_BASE > ARENA_SIZE || len > ARENA_SIZE ||
	    addr - ARENA_BASE + len > ARENA_SIZE)
		return NULL;
	w.ring_maps++;
	return w.arena + (addr - ARENA_BASE);
}

static void ring_unmap(void *ptr, size_t len, void *p)
{
	w.ring_maps--;
	CHECK(w.ring_maps >= 0);
}

/* ---- the device ------------------------------------------------------------------------------ */

static void hold(unsigned int q, struct vxen_req *req)
{
	CHECK(w.nheld < MAX_HELD);
	w.held[w.nheld++] = req;
	w.held_q[q]++;
}

static void complete_held(unsigned int i, uint32_t written)
{
	struct vxen_req *req = w.held[i];

	w.held_q[vxen_dev_req_queue(req)]--;
	w.held[i] = w.held[--w.nheld];
	vxen_dev_complete(req, written);
}

/* Fill the writable bytes with a pattern, then complete with the policy's length. */
static void answer(struct vxen_req *req)
{
	struct vxen_iov_cursor in, out;
	uint8_t buf[64];
	size_t n;

	vxen_req_out_cursor(req, &out);
	n = vxen_iov_pull(&out, buf, sizeof(buf));
	vxen_req_in_cursor(req, &in);
	vxen_iov_push(&in, buf, n);
	vxen_dev_complete(req, (uint32_t)(w.policy >> 1) * 37u);
}

static void on_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *p)
{
	CHECK(q == 0 && vxen_dev_req_queue(req) == 0 && vxen_dev_req_dev(req) == dev);
	CHECK(req->n_out_desc <= req->n_desc && req->n_desc <= queues[0].max_segs);
	if ((w.policy & 1) && w.nheld < MAX_HELD)
		hold(q, req);
	else
		answer(req);
}

static void pop_pull(void)
{
	struct vxen_req *req;

	while (w.nheld < MAX_HELD && vxen_dev_queue_pop(w.dev, 1, &req) == 1) {
		CHECK(vxen_dev_req_queue(req) == 1);
		hold(1, req);
	}
}

static void on_notify(vxen_dev *dev, unsigned int q, void *p)
{
	CHECK(q == 1);
	if (w.pull_on_notify)
		pop_pull();
}

static void on_reset(vxen_dev *dev, void *p)
{
	while (w.nheld)
		complete_held(0, 0);
}

static void on_queue_stop(vxen_dev *dev, unsigned int q, void *p)
{
	for (unsigned int i = 0; i < w.nheld;)
		if (vxen_dev_req_queue(w.held[i]) == q)
			complete_held(i, 0);
		else
			i++;
}

static int on_config_write(vxen_dev *dev, unsigned int off, const void *buf, unsigned int len,
			   void *p)
{
	CHECK(off < CFG_SIZE && len <= CFG_SIZE - off);
	if (off < 4 || off + len > 8)
		return -EPERM;
	return vxen_dev_config_set(dev, off, buf, len);
}

static const struct vxen_dev_ops ops = {
	.version = VXEN_DEV_OPS_VERSION,
	.name = "fuzz",
	.device_id = 0x7e57,
	.features = 1ULL << 0 | 1ULL << 5,
	.num_queues = 2,
	.queues = queues,
	.config_size = CFG_SIZE,
	.handle_request = on_request,
	.queue_notify = on_notify,
	.reset = on_reset,
	.queue_stop = on_queue_stop,
	.config_write = on_config_write,
};

/* ---- the guest ------------------------------------------------------------------------------- */

static void wr(uint64_t off, uint32_t v)
{
	CHECK(vxen_dev_mmio_write(w.dev, off, 4, v) == 0);
}

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0;

	CHECK(vxen_dev_mmio_read(w.dev, off, 4, &v) == 0);
	CHECK(v <= UINT32_MAX);
	return (uint32_t)v;
}

static void setup_queue(unsigned int q, uint32_t num)
{
	uint64_t d = ARENA_BASE + layout[q].desc, a = ARENA_BASE + layout[q].avail,
		 u = ARENA_BASE + layout[q].used;

	wr(VXEN_MMIO_QUEUE_SEL, q);
	wr(VXEN_MMIO_QUEUE_NUM, num);
	wr(VXEN_MMIO_QUEUE_DESC_LOW, (uint32_t)d);
	wr(VXEN_MMIO_QUEUE_DESC_HIGH, (uint32_t)(d >> 32));
	wr(VXEN_MMIO_QUEUE_DRIVER_LOW, (uint32_t)a);
	wr(VXEN_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
	wr(VXEN_MMIO_QUEUE_DEVICE_LOW, (uint32_t)u);
	wr(VXEN_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(u >> 32));
	wr(VXEN_MMIO_QUEUE_READY, 1);
}

/* The whole driver bring-up; @a[0] picks the features, @a[1..2] the queue sizes. */
static void init(const uint8_t *a)
{
	uint64_t want = (uint64_t)(a[0] & 0x7f) | 1ULL << VXEN_F_VERSION_1;

	if (a[0] & 0x80)
		want |= 1ULL << VXEN_F_INDIRECT_DESC | 1ULL << VXEN_F_EVENT_IDX;
	memset(w.arena, 0, BUF_AREA);
	w.avail_idx[0] = w.avail_idx[1] = 0;
	wr(VXEN_MMIO_STATUS, 0);
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE);
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER);
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VXEN_MMIO_DRIVER_FEATURES, (uint32_t)want);
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VXEN_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	wr(VXEN_MMIO_STATUS,
	   VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER | VXEN_MMIO_S_FEATURES_OK);
	setup_queue(0, 1u << (a[1] % 5));
	setup_queue(1, 1u << (a[2] % 4));
	wr(VXEN_MMIO_STATUS, VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER |
				     VXEN_MMIO_S_FEATURES_OK | VXEN_MMIO_S_DRIVER_OK);
}

static void put16(uint32_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(w.arena + off, &v, 2);
}

/* Descriptor @a[1] of queue @a[0]&1: a buffer in the buffer area, or an indirect table. */
static void write_desc(const uint8_t *a)
{
	unsigned int q = a[0] & 1, i = a[1] % layout[q].num;
	uint64_t addr =
		ARENA_BASE + BUF_AREA + (uint32_t)(a[2] | a[3] << 8) % (ARENA_SIZE - BUF_AREA);
	uint32_t len = a[4] | (a[5] & 0x1f) << 8;
	uint16_t flags = a[6] & 7, next = a[6] >> 3;
	uint8_t *d = w.arena + layout[q].desc + 16 * i;

	if (a[0] & 2)
		addr = (uint64_t)a[2] << 56 | addr; /* hostile high bits */
	addr = htole64(addr);
	len = htole32(len);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &(uint16_t){ htole16(flags) }, 2);
	memcpy(d + 14, &(uint16_t){ htole16(next) }, 2);
}

/* Make head @a[1] available on queue @a[0]&1 and (bit 1) kick. */
static void make_avail(const uint8_t *a)
{
	unsigned int q = a[0] & 1, num = layout[q].num;

	put16(layout[q].avail + 4 + 2 * (w.avail_idx[q] % num), a[1]);
	w.avail_idx[q] += a[0] & 4 ? a[2] : 1; /* bit 2: jump by a[2] (corrupt index) */
	put16(layout[q].avail + 2, w.avail_idx[q]);
	if (a[0] & 2)
		wr(VXEN_MMIO_QUEUE_NOTIFY, a[0] & 8 ? a[3] : q);
}

static void invariants(void)
{
	struct vxen_dev_queue_stats qs;
	uint32_t st = vxen_mmio_status(vxen_dev_mmio(w.dev));

	CHECK(!(st & 0x30));
	for (unsigned int q = 0; q < 2; q++) {
		CHECK(vxen_dev_queue_stats(w.dev, q, &qs) == 0);
		CHECK(qs.inflight <= qs.pool_size && qs.pool_size <= queues[q].max_inflight);
		CHECK(qs.inflight >= w.held_q[q]);
		if (qs.broken && st)
			CHECK(st & VXEN_MMIO_S_NEEDS_RESET);
		CHECK(qs.vq.popped <= qs.vq.pushed + qs.inflight);
	}
	CHECK(w.ring_maps <= 6);
}

static void step(uint8_t op, const uint8_t *a)
{
	uint32_t v32 = a[1] | a[2] << 8 | a[3] << 16 | (uint32_t)a[4] << 24;
	uint8_t b8[8] = { 0 };
	uint64_t v = 0;

	switch (op % 16) {
	case 0:
		wr((a[0] % 64) * 4u, v32);
		break;
	case 1:
		vxen_dev_mmio_read(w.dev, (a[0] | a[1] << 8) % 0x220, 1u << (a[2] & 3), &v);
		break;
	case 2:
		vxen_dev_mmio_write(w.dev, (a[0] | a[1] << 8) % 0x220, a[2] % 9, v32);
		break;
	case 3:
		memcpy(w.arena + (a[0] | a[1] << 8) % (ARENA_SIZE - 4), a + 2, 4);
		break;
	case 4:
		vxen_dev_process(w.dev);
		break;
	case 5:
		if (w.nheld)
			complete_held(a[0] % w.nheld, v32 % 4096);
		break;
	case 6:
		init(a);
		break;
	case 7:
		write_desc(a);
		break;
	case 8:
		make_avail(a);
		break;
	case 9:
		w.policy = a[0];
		w.pull_on_notify = a[1] & 1;
		break;
	case 10:
		pop_pull();
		break;
	case 11:
		memcpy(b8, a + 1, 6);
		vxen_dev_config_set(w.dev, a[0] % 16, b8, a[5] % 9);
		break;
	case 12:
		vxen_dev_config_changed(w.dev);
		break;
	case 13:
		vxen_dev_needs_reset(w.dev);
		break;
	case 14:
		vxen_dev_queue_wake(w.dev, a[0] % 3);
		break;
	default:
		rd(VXEN_MMIO_INTERRUPT_STATUS);
		wr(VXEN_MMIO_INTERRUPT_ACK, a[0]);
		break;
	}
	invariants();
}

static void report(void)
{
	struct vxen_dev_queue_stats qs;

	for (unsigned int q = 0; q < 2; q++) {
		vxen_dev_queue_stats(w.dev, q, &qs);
		fprintf(stderr,
			"q%u: enabled %d size %u popped %" PRIu64 " pushed %" PRIu64
			" rejected %" PRIu64 " broken %d kicks %" PRIu64 " held %u\n",
			q, qs.enabled, qs.size, qs.vq.popped, qs.vq.pushed, qs.vq.rejected,
			qs.broken, qs.kicks, w.held_q[q]);
	}
	fprintf(stderr, "status 0x%x\n", vxen_mmio_status(vxen_dev_mmio(w.dev)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;
	struct vxen_dev_stats ds;
	struct vxen_dev_queue_stats qs;
	unsigned int n = 0;

	memset(&w, 0, sizeof(w));
	w.arena = calloc(1, ARENA_SIZE);
	if (!w.arena)
		return 0;
	w.pm = (struct vxen_vq_plain_mem){ .host = w.arena,
					   .base = ARENA_BASE,
					   .size = ARENA_SIZE };
	w.ops = (struct vxen_vq_mem_ops){ .version = VXEN_VQ_MEM_OPS_VERSION,
					  .read = mem_read,
					  .map = mem_map,
					  .unmap = mem_unmap };
	w.mem = (struct vxen_dev_mem){ .version = VXEN_DEV_MEM_VERSION,
				       .ops = &w.ops,
				       .ring_map = ring_map,
				       .ring_unmap = ring_unmap };
	cfg.domid = 1;
	cfg.base = 0x2000000;
	cfg.mem = &w.mem;
	cfg.drain_timeout_ms = 1; /* a request left in flight is a finding, not a wait */
	CHECK(vxen_dev_new(&w.dev, &ops, &cfg, NULL) == 0);

	for (size_t off = 0; off + 8 <= size && n < MAX_OPS; off += 8, n++)
		step(data[off], data + off + 1);

	if (getenv("FUZZ_DEV_VERBOSE")) /* to see what a seed reaches */
		report();
	/* Give back what the device holds, then reset: nothing may stay in flight. */
	while (w.nheld)
		complete_held(0, 0);
	vxen_dev_process(w.dev);
	wr(VXEN_MMIO_STATUS, 0);
	vxen_dev_stats(w.dev, &ds);
	CHECK(ds.drain_timeouts == 0);
	for (unsigned int q = 0; q < 2; q++) {
		CHECK(vxen_dev_queue_stats(w.dev, q, &qs) == 0);
		CHECK(qs.inflight == 0 && !qs.enabled && !qs.broken);
	}
	CHECK(w.ring_maps == 0 && w.buf_maps == 0);
	vxen_dev_free(w.dev);
	CHECK(w.ring_maps == 0 && w.buf_maps == 0);
	free(w.arena);
	return 0;
}
