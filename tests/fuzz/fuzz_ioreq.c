/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ioreq layer's handling of one request slot (lib/ioreq_priv.h): the
 * guest's vCPU trap fills a struct ioreq, which L4 copies, classifies, routes to the device
 * window covering it and answers. Every field is hostile (an x86 guest's rep movs gives
 * data_is_ptr and count > 1; a broken or malicious Xen-side peer can put anything there).
 *
 * Each input is a sequence of 26-byte slot records. For each, the target
 *  - classifies it with vxen_ioreq_classify() and compares with a reference built from the Xen
 *    ABI constants (xen/hvm/ioreq.h) and the rules in ioreq.h;
 *  - compares vxen_ioreq_size_mask() and vxen_ioreq_access_within() with 128-bit references;
 *  - dispatches it as lib/ioreq_dispatch.c does to two device windows — a real virtio-mmio
 *    register file (L3, a grant device with 2 queues) and a window ending at 2^64 - 1 — and
 *    checks the answer: reads carry exactly `size` bytes (all-ones when unclaimed or rejected),
 *    nothing outside a window is ever handed to its device, offsets stay inside the window.
 *
 * Record: addr le64, data le64, count le32, size le32, type u8, flags u8 (bit 0 dir = read,
 * bit 1 data_is_ptr). A shorter tail is ignored.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <virtio-xen/log.h>
#include <virtio-xen/mmio.h>
#include <xen/hvm/ioreq.h>

#include "ioreq_priv.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define REC	  26
#define WIN_SIZE  0x200u
#define MMIO_BASE 0x2000000ULL
#define TOP_BASE  (UINT64_MAX - 0xfffULL) /* a window touching the end of the address space */
#define F(bit)	  (1ULL << (bit))
#define FEATURES  (F(VXEN_F_VERSION_1) | F(VXEN_F_ACCESS_PLATFORM))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct slot {
	uint64_t addr, data;
	uint32_t count, size;
	uint8_t type;
	bool read, data_is_ptr;
};

static struct {
	vxen_mmio *m;
	unsigned int top_calls;
} w;

static int q_enable(unsigned int qidx, const struct vxen_mmio_queue_info *q, void *p)
{
	return 0;
}

static void reset(void *p)
{
}

static const struct vxen_mmio_ops mmio_ops = {
	.version = VXEN_MMIO_OPS_VERSION,
	.queue_enable = q_enable,
	.reset = reset,
};

/* ---- references ---------------------------------------------------------------------------- */

static enum vxen_ioreq_class ref_classify(const struct slot *s)
{
	if (s->type == IOREQ_TYPE_INVALIDATE)
		return VXEN_IOREQ_CLASS_INVALIDATE;
	if (s->type != IOREQ_TYPE_COPY)
		return VXEN_IOREQ_CLASS_OTHER;
	if (s->data_is_ptr || s->count != 1)
		return VXEN_IOREQ_CLASS_REJECT;
	if (s->size != 1 && s->size != 2 && s->size != 4 && s->size != 8)
		return VXEN_IOREQ_CLASS_REJECT;
	return VXEN_IOREQ_CLASS_MMIO;
}

static uint64_t ref_mask(uint32_t size)
{
	unsigned __int128 one = 1;

	if (size >= 8)
		return UINT64_MAX;
	return (uint64_t)((one << (8 * size)) - 1);
}

static bool ref_within(uint64_t addr, uint32_t size, uint64_t base, uint64_t last)
{
	unsigned __int128 end = (unsigned __int128)addr + size; /* exclusive */

	return size >= 1 && addr >= base && end <= (unsigned __int128)last + 1;
}

/* ---- dispatch, as lib/ioreq_dispatch.c does it, on the library's helpers -------------------- */

static uint64_t dispatch_read(const struct slot *s)
{
	uint64_t v = 0;

	if (vxen_ioreq_access_within(s->addr, s->size, MMIO_BASE, MMIO_BASE + WIN_SIZE - 1)) {
		uint64_t off = s->addr - MMIO_BASE;

		CHECK(off + s->size <= WIN_SIZE);
		CHECK(vxen_mmio_read(w.m, off, s->size, &v) == 0);
		/* The register file zero-extends: nothing above the access's bytes. */
		CHECK((v & ~ref_mask(s->size)) == 0);
		return v & vxen_ioreq_size_mask(s->size);
	}
	if (vxen_ioreq_access_within(s->addr, s->size, TOP_BASE, UINT64_MAX)) {
		CHECK(s->addr >= TOP_BASE && s->addr - TOP_BASE <= 0xfffULL - (s->size - 1));
		w.top_calls++;
		return 0x1122334455667788ULL & vxen_ioreq_size_mask(s->size);
	}
	return vxen_ioreq_size_mask(s->size); /* unclaimed: all-ones */
}

static void dispatch_write(const struct slot *s)
{
	uint64_t v = s->data & vxen_ioreq_size_mask(s->size);

	if (vxen_ioreq_access_within(s->addr, s->size, MMIO_BASE, MMIO_BASE + WIN_SIZE - 1))
		CHECK(vxen_mmio_write(w.m, s->addr - MMIO_BASE, s->size, v) == 0);
	else if (vxen_ioreq_access_within(s->addr, s->size, TOP_BASE, UINT64_MAX))
		w.top_calls++;
}

static void one_slot(const struct slot *s)
{
	enum vxen_ioreq_class c;
	const struct vxen_ioreq_desc d = {
		.type = s->type, .data_is_ptr = s->data_is_ptr, .count = s->count, .size = s->size
	};
	uint64_t answer;

	c = vxen_ioreq_classify(&d);
	CHECK(c == ref_classify(s));
	CHECK(vxen_ioreq_size_mask(s->size) == ref_mask(s->size));
	CHECK(vxen_ioreq_access_within(s->addr, s->size, MMIO_BASE, MMIO_BASE + WIN_SIZE - 1) ==
	      ref_within(s->addr, s->size, MMIO_BASE, MMIO_BASE + WIN_SIZE - 1));
	CHECK(vxen_ioreq_access_within(s->addr, s->size, TOP_BASE, UINT64_MAX) ==
	      ref_within(s->addr, s->size, TOP_BASE, UINT64_MAX));
	/* A window given as (base, last) with the access compared against the data value. */
	CHECK(vxen_ioreq_access_within(s->addr, s->size, s->data, s->data + (s->count & 0xfff)) ==
	      (s->data + (s->count & 0xfff) >= s->data &&
	       ref_within(s->addr, s->size, s->data, s->data + (s->count & 0xfff))));

	if (c != VXEN_IOREQ_CLASS_MMIO) {
		/* Acknowledged without a device: a read answers all-ones in its bytes. */
		answer = s->read ? vxen_ioreq_size_mask(s->size) : s->data;
		CHECK(!s->read || (answer & ~ref_mask(s->size)) == 0);
		return;
	}
	if (s->read) {
		answer = dispatch_read(s);
		CHECK((answer & ~ref_mask(s->size)) == 0);
	} else {
		dispatch_write(s);
	}
}

static void parse(const uint8_t *p, struct slot *s)
{
	memcpy(&s->addr, p, 8);
	memcpy(&s->data, p + 8, 8);
	memcpy(&s->count, p + 16, 4);
	memcpy(&s->size, p + 20, 4);
	s->type = p[24];
	s->read = p[25] & 1;
	s->data_is_ptr = p[25] & 2;
	/* Bias towards the interesting values so short runs reach the register file. */
	if (p[25] & 0x80) {
		s->addr = MMIO_BASE + (s->addr & 0x1ff);
		s->type = IOREQ_TYPE_COPY;
		s->count = 1;
		s->size = 1u << (s->size & 3);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vxen_mmio_config cfg = VXEN_MMIO_CONFIG_INIT;
	struct slot s;

	cfg.device_id = 4;
	cfg.features = FEATURES;
	cfg.num_queues = 2;
	cfg.queue_num_max = 64;
	cfg.config_size = 8;
	cfg.flags = VXEN_MMIO_F_GRANT;
	memset(&w, 0, sizeof(w));
	CHECK(vxen_mmio_new(&w.m, &cfg, &mmio_ops, NULL) == 0);
	for (size_t off = 0; off + REC <= size; off += REC) {
		parse(data + off, &s);
		one_slot(&s);
	}
	vxen_mmio_free(w.m);
	return 0;
}
