/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for L3 mmio: the input is a sequence of guest accesses (and a few device-side
 * events) against a grant device with 2 queues (QueueNumMax 256 and 16) and a 24-byte config
 * space. The callbacks and a check after every step assert the register file's invariants; any
 * violation traps.
 *
 * Record format, 7 bytes each (a shorter tail is ignored):
 *   byte 0  bit 0     0 read, 1 write
 *           bits 1-2  size 1, 2, 4, 8
 *           bit 3     "register mode": offset = (byte 1 & 0x3f) * 4, size 4 (reaches the control
 *                     registers without the fuzzer having to discover alignment)
 *           bits 4-6  device event before the access: 1 signal_used, 2 config_changed,
 *                     3 needs_reset, 4 config_set of byte 2 at offset byte 1 % 24; else none
 *           bit 7     when set, the next queue_enable() callback refuses (-EFAULT)
 *   bytes 1-2 offset, little-endian (0 .. 0xffff: the window, config space and far beyond)
 *   bytes 3-6 value, little-endian; an 8-byte write repeats it in both halves
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <virtio-xen/log.h>
#include <virtio-xen/mmio.h>

#define NQ	 2
#define CFG_SIZE 24
#define F(bit)	 (1ULL << (bit))
#define OFFERED	 (F(VXEN_F_VERSION_1) | F(VXEN_F_ACCESS_PLATFORM) | F(29) | F(28) | F(0) | F(5))
#define DRIVER_OK_CHAIN                                                                            \
	(VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER | VXEN_MMIO_S_FEATURES_OK |                  \
	 VXEN_MMIO_S_DRIVER_OK)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned int queue_max[NQ] = { 256, 16 };

/* The device's own view, kept from the callbacks only; compared with the register file. */
static struct {
	vxen_mmio *m;
	bool ready[NQ];
	bool refuse_next_enable;
	bool line;  /* interrupt level as last signalled */
	int resets; /* reset callbacks during the current step */
} dev;

static bool stopped(uint32_t st)
{
	return st & VXEN_MMIO_S_FAILED;
}

static int queue_enable(unsigned int qidx, const struct vxen_mmio_queue_info *q, void *p)
{
	uint32_t st = vxen_mmio_status(dev.m);

	CHECK(p == &dev && qidx < NQ && !dev.ready[qidx]);
	CHECK((st & VXEN_MMIO_S_FEATURES_OK) && !stopped(st));
	CHECK(q->num && !(q->num & (q->num - 1)) && q->num <= queue_max[qidx]);
	CHECK(q->num_max == queue_max[qidx] && !q->ready);
	CHECK(q->desc && !(q->desc & 15) && q->driver && !(q->driver & 1) && q->device &&
	      !(q->device & 3));
	if (dev.refuse_next_enable) {
		dev.refuse_next_enable = false;
		return -EFAULT;
	}
	dev.ready[qidx] = true;
	return 0;
}

static void queue_disable(unsigned int qidx, void *p)
{
	CHECK(p == &dev && qidx < NQ && dev.ready[qidx]);
	dev.ready[qidx] = false;
}

static void notify(unsigned int qidx, void *p)
{
	CHECK(p == &dev && qidx < NQ && dev.ready[qidx]);
	CHECK(vxen_mmio_running(dev.m));
	/* a real device completes work here, which may interrupt */
	if (qidx == 0)
		vxen_mmio_signal_used(dev.m);
}

static void reset(void *p)
{
	CHECK(p == &dev && vxen_mmio_status(dev.m) == 0);
	memset(dev.ready, 0, sizeof(dev.ready));
	dev.resets++;
	vxen_mmio_signal_used(dev.m); /* must be ignored: status is 0 */
}

static int features_ok(uint64_t f, void *p)
{
	CHECK(p == &dev && !(f & ~OFFERED));
	CHECK((f & F(VXEN_F_VERSION_1)) && (f & F(VXEN_F_ACCESS_PLATFORM)));
	return (f & F(5)) ? -ENOTSUP : 0; /* the device cannot do feature 5 after all */
}

static void driver_ok(void *p)
{
	CHECK(p == &dev);
	CHECK((vxen_mmio_status(dev.m) & DRIVER_OK_CHAIN) == DRIVER_OK_CHAIN);
}

static int config_write(unsigned int off, const void *buf, unsigned int len, void *p)
{
	CHECK(p == &dev && (len == 1 || len == 2 || len == 4 || len == 8));
	CHECK(off < CFG_SIZE && len <= CFG_SIZE - off);
	if (off >= 16)
		return -EPERM; /* a read-only field */
	CHECK(vxen_mmio_config_set(dev.m, off, buf, len) == 0);
	return 0;
}

static void interrupt(int level, void *p)
{
	uint32_t isr = vxen_mmio_interrupt_status(dev.m);

	CHECK(p == &dev);
	CHECK(level ? isr != 0 : isr == 0);
	CHECK(!level || (vxen_mmio_status(dev.m) & VXEN_MMIO_S_DRIVER_OK));
	dev.line = level;
}

static const struct vxen_mmio_ops ops = {
	.version = VXEN_MMIO_OPS_VERSION,
	.queue_enable = queue_enable,
	.queue_disable = queue_disable,
	.notify = notify,
	.reset = reset,
	.features_ok = features_ok,
	.driver_ok = driver_ok,
	.config_write = config_write,
	.interrupt = interrupt,
};

static void device_event(unsigned int what, const uint8_t *rec)
{
	switch (what) {
	case 1:
		vxen_mmio_signal_used(dev.m);
		break;
	case 2:
		vxen_mmio_config_changed(dev.m);
		break;
	case 3:
		vxen_mmio_needs_reset(dev.m);
		break;
	case 4:
		CHECK(vxen_mmio_config_set(dev.m, rec[1] % CFG_SIZE, &rec[2], 1) == 0);
		break;
	}
}

/* Invariants that hold after every step. */
static void check_state(uint32_t old_status)
{
	uint32_t st = vxen_mmio_status(dev.m);
	uint32_t drv = st & ~(uint32_t)(VXEN_MMIO_S_FAILED | VXEN_MMIO_S_NEEDS_RESET);
	struct vxen_mmio_queue_info q;

	CHECK(!(st & ~0xcfu)); /* reserved bits never set */
	/* each step implies all earlier ones */
	CHECK(!(drv & VXEN_MMIO_S_DRIVER_OK) || (drv & VXEN_MMIO_S_FEATURES_OK));
	CHECK(!(drv & VXEN_MMIO_S_FEATURES_OK) || (drv & VXEN_MMIO_S_DRIVER));
	CHECK(!(drv & VXEN_MMIO_S_DRIVER) || (drv & VXEN_MMIO_S_ACKNOWLEDGE));
	/* bits are only cleared by a reset */
	CHECK(dev.resets || (old_status & ~st) == 0);
	CHECK(!(vxen_mmio_features(dev.m) & ~OFFERED));
	CHECK(!(vxen_mmio_interrupt_status(dev.m) & ~3u));
	CHECK(dev.line == (vxen_mmio_interrupt_status(dev.m) != 0));
	for (unsigned int i = 0; i < NQ; i++) {
		CHECK(vxen_mmio_queue(dev.m, i, &q) == 0);
		CHECK(q.ready == dev.ready[i]);
	}
	CHECK(vxen_mmio_queue(dev.m, NQ, &q) == -ENOENT);
}

static void step(const uint8_t *rec)
{
	unsigned int size = 1u << ((rec[0] >> 1) & 3);
	uint64_t off = rec[1] | (uint64_t)rec[2] << 8;
	uint64_t val =
		rec[3] | (uint64_t)rec[4] << 8 | (uint64_t)rec[5] << 16 | (uint64_t)rec[6] << 24;
	uint32_t old_status = vxen_mmio_status(dev.m);

	dev.resets = 0;
	if (rec[0] & 0x80)
		dev.refuse_next_enable = true;
	if (rec[0] & 8) {
		off = (rec[1] & 0x3f) * 4u;
		size = 4;
	}
	device_event((rec[0] >> 4) & 7, rec);
	if (rec[0] & 1) {
		CHECK(vxen_mmio_write(dev.m, off, size, val | val << 32) == 0);
	} else {
		uint64_t got = ~0ULL;

		CHECK(vxen_mmio_read(dev.m, off, size, &got) == 0);
		CHECK(size == 8 || got >> (8 * size) == 0);
		CHECK(off != VXEN_MMIO_MAGIC_VALUE || size != 4 || got == VXEN_MMIO_MAGIC);
	}
	check_state(old_status);
}

/* Messages are formatted (up to the rate limit) so their arguments are exercised too. */
static void log_sink(int level, const char *msg, void *payload)
{
	(void)level;
	(void)msg;
	(void)payload;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vxen_mmio_config cfg = VXEN_MMIO_CONFIG_INIT;

	vxen_log_set_handler(log_sink, 7 /* LOG_DEBUG */, NULL);

	cfg.device_id = 2;
	cfg.vendor_id = 0x58454e56;
	cfg.features = OFFERED;
	cfg.num_queues = NQ;
	cfg.queue_num_max_each = queue_max;
	cfg.config_size = CFG_SIZE;
	cfg.flags = VXEN_MMIO_F_GRANT;
	memset(&dev, 0, sizeof(dev));
	CHECK(vxen_mmio_new(&dev.m, &cfg, &ops, &dev) == 0);
	for (size_t i = 0; i + 7 <= size; i += 7)
		step(data + i);
	vxen_mmio_free(dev.m);
	return 0;
}
