/* SPDX-License-Identifier: MIT */
/*
 * L3: the virtio-mmio version 2 register file and device status state machine.
 *
 * Shape after kvmtool's virtio/mmio-modern.c: one flat switch for control register reads, one
 * for writes; everything a register write sets off lives in a small helper below. The rules
 * and every rejection outcome are documented in include/virtio-xen/mmio.h.
 */
#include <errno.h>
#include <string.h>

#include "mmio_internal.h"

#define VIRTIO_MMIO_VERSION_MODERN 2u
#define VIRTIO_F_EVENT_IDX	   29

/* Status bits the driver may set; NEEDS_RESET (device-owned) and 0x30 (reserved) are not. */
#define DRIVER_BITS                                                                                \
	(VXEN_MMIO_S_ACKNOWLEDGE | VXEN_MMIO_S_DRIVER | VXEN_MMIO_S_FEATURES_OK |                  \
	 VXEN_MMIO_S_DRIVER_OK | VXEN_MMIO_S_FAILED)

static const char *const reject_names[VXEN_MMIO_REJ__COUNT] = {
	[VXEN_MMIO_REJ_BAD_ACCESS] = "bad_access",
	[VXEN_MMIO_REJ_BAD_REGISTER] = "bad_register",
	[VXEN_MMIO_REJ_CONFIG_ACCESS] = "config_access",
	[VXEN_MMIO_REJ_CONFIG_WRITE] = "config_write",
	[VXEN_MMIO_REJ_FEATURES_WRITE] = "features_write",
	[VXEN_MMIO_REJ_FEATURES_REFUSED] = "features_refused",
	[VXEN_MMIO_REJ_STATUS] = "status",
	[VXEN_MMIO_REJ_QUEUE_SEL] = "queue_sel",
	[VXEN_MMIO_REJ_QUEUE_BUSY] = "queue_busy",
	[VXEN_MMIO_REJ_QUEUE_STATE] = "queue_state",
	[VXEN_MMIO_REJ_QUEUE_NUM] = "queue_num",
	[VXEN_MMIO_REJ_QUEUE_ADDR] = "queue_addr",
	[VXEN_MMIO_REJ_QUEUE_ENABLE] = "queue_enable",
	[VXEN_MMIO_REJ_NOTIFY] = "notify",
};

/*
 * Count a guest-caused rejection and log it through the object's rate limit. A macro so the
 * message is formatted only when the rate limit lets it through.
 */
#define REJECT(m, why, fmt, ...)                                                                   \
	do {                                                                                       \
		(m)->stats.rejected[why]++;                                                        \
		(m)->stats.rejected_total++;                                                       \
		vxen_log_guest(&(m)->rl, LOG_WARNING, "%s: " fmt " (%s)", (m)->name,               \
			       ##__VA_ARGS__, reject_names[why]);                                  \
	} while (0)

static struct mmio_queue *selected(vxen_mmio *m)
{
	return m->queue_sel < m->num_queues ? &m->queues[m->queue_sel] : NULL;
}

static void set_low(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
}

/* ---- interrupts ---- */

void mmio_raise_bit(vxen_mmio *m, uint32_t bit)
{
	if (m->isr & bit)
		return;
	m->isr |= bit;
	m->stats.interrupts++;
	if (m->ops->interrupt)
		m->ops->interrupt(1, m->payload);
}

static void clear_bits(vxen_mmio *m, uint32_t bits)
{
	uint32_t old = m->isr;

	m->isr &= ~bits;
	if (old && !m->isr && m->ops->interrupt)
		m->ops->interrupt(0, m->payload);
}

void mmio_bump_generation(vxen_mmio *m)
{
	m->generation++;
	m->stats.config_generation++;
}

/* ---- features and status ---- */

static uint32_t device_features_word(const vxen_mmio *m)
{
	if (m->dev_features_sel > 1)
		return 0;
	return (uint32_t)(m->offered >> (32 * m->dev_features_sel));
}

static void write_driver_features(vxen_mmio *m, uint32_t v)
{
	uint32_t st = m->status;

	if (!(st & VXEN_MMIO_S_DRIVER) || (st & VXEN_MMIO_S_FEATURES_OK) || stopped(m)) {
		REJECT(m, VXEN_MMIO_REJ_FEATURES_WRITE, "DriverFeatures written in status 0x%x",
		       st);
		return;
	}
	if (m->drv_features_sel == 0)
		set_low(&m->driver_features, v);
	else if (m->drv_features_sel == 1)
		set_high(&m->driver_features, v);
	else
		REJECT(m, VXEN_MMIO_REJ_FEATURES_WRITE, "DriverFeaturesSel %u",
		       m->drv_features_sel);
}

/* The driver sets FEATURES_OK: true if its accepted set is one this device can run with. */
static bool accept_features(vxen_mmio *m)
{
	uint64_t f = m->driver_features;
	int r;

	if (f & ~m->offered) {
		REJECT(m, VXEN_MMIO_REJ_FEATURES_REFUSED,
		       "driver accepted unoffered features 0x%llx",
		       (unsigned long long)(f & ~m->offered));
		return false;
	}
	if (!(f & (1ULL << VXEN_F_VERSION_1))) {
		REJECT(m, VXEN_MMIO_REJ_FEATURES_REFUSED, "driver did not accept VERSION_1");
		return false;
	}
	if ((m->flags & VXEN_MMIO_F_GRANT) && !(f & (1ULL << VXEN_F_ACCESS_PLATFORM))) {
		REJECT(m, VXEN_MMIO_REJ_FEATURES_REFUSED,
		       "driver did not accept ACCESS_PLATFORM on a grant device");
		return false;
	}
	r = m->ops->features_ok ? m->ops->features_ok(f, m->payload) : 0;
	if (r < 0) {
		REJECT(m, VXEN_MMIO_REJ_FEATURES_REFUSED, "device refused features 0x%llx: %s",
		       (unsigned long long)f, strerror(-r));
		return false;
	}
	m->features = f;
	return true;
}

static void deliver_kick(vxen_mmio *m, unsigned int qidx)
{
	m->stats.kicks++;
	if (m->ops->notify)
		m->ops->notify(qidx, m->payload);
}

static void set_driver_ok(vxen_mmio *m)
{
	m->status |= VXEN_MMIO_S_DRIVER_OK;
	if (m->ops->driver_ok)
		m->ops->driver_ok(m->payload);
	/*
	 * Kicks that came before activation are processed now (virtio 1.2 §3.1.1). The callbacks
	 * may stop the device or disable queues meanwhile, so re-check before each one.
	 */
	for (unsigned int i = 0; i < m->num_queues; i++) {
		struct mmio_queue *q = &m->queues[i];

		if (!q->kick_pending)
			continue;
		q->kick_pending = false;
		if (q->ready && vxen_mmio_running(m))
			deliver_kick(m, i);
	}
}

static void do_reset(vxen_mmio *m)
{
	/* Status reads 0 during the callback, so late signal_used() calls are dropped. */
	m->status = 0;
	m->stats.resets++;
	m->ops->reset(m->payload);
	for (unsigned int i = 0; i < m->num_queues; i++) {
		uint32_t num_max = m->queues[i].num_max;

		m->queues[i] = (struct mmio_queue){ .num_max = num_max };
	}
	clear_bits(m, m->isr);
	m->dev_features_sel = 0;
	m->drv_features_sel = 0;
	m->driver_features = 0;
	m->features = 0;
	m->queue_sel = 0;
	m->shm_sel = 0;
}

/* Apply the bits a Status write adds, in the order of the initialisation sequence. */
static void add_status_bits(vxen_mmio *m, uint32_t add)
{
	if (add & VXEN_MMIO_S_ACKNOWLEDGE)
		m->status |= VXEN_MMIO_S_ACKNOWLEDGE;
	if (add & VXEN_MMIO_S_DRIVER) {
		if (!(m->status & VXEN_MMIO_S_ACKNOWLEDGE))
			goto skipped;
		m->status |= VXEN_MMIO_S_DRIVER;
	}
	if (add & VXEN_MMIO_S_FEATURES_OK) {
		if (!(m->status & VXEN_MMIO_S_DRIVER))
			goto skipped;
		if (!accept_features(m))
			return;
		m->status |= VXEN_MMIO_S_FEATURES_OK;
	}
	if (add & VXEN_MMIO_S_DRIVER_OK) {
		if (!(m->status & VXEN_MMIO_S_FEATURES_OK))
			goto skipped;
		set_driver_ok(m);
	}
	return;
skipped:
	REJECT(m, VXEN_MMIO_REJ_STATUS, "status 0x%x skips a step (status 0x%x)", add, m->status);
}

static void write_status(vxen_mmio *m, uint32_t v)
{
	uint32_t add;

	if (v == 0) {
		do_reset(m);
		return;
	}
	if (m->status & DRIVER_BITS & ~v) {
		REJECT(m, VXEN_MMIO_REJ_STATUS, "status 0x%x would clear bits of 0x%x", v,
		       m->status);
		return;
	}
	/* A driver may write back NEEDS_RESET as it read it; setting it, or 0x30, is not its. */
	if (v & ~(DRIVER_BITS | (m->status & VXEN_MMIO_S_NEEDS_RESET)))
		REJECT(m, VXEN_MMIO_REJ_STATUS, "reserved status bits 0x%x ignored",
		       v & ~(DRIVER_BITS | (m->status & VXEN_MMIO_S_NEEDS_RESET)));
	add = v & DRIVER_BITS & ~m->status & ~VXEN_MMIO_S_FAILED;
	if (add && stopped(m))
		REJECT(m, VXEN_MMIO_REJ_STATUS, "status 0x%x on a stopped device (status 0x%x)", v,
		       m->status);
	else if (add)
		add_status_bits(m, add);
	/* FAILED is accepted at any time, after the other bits of the same write. */
	m->status |= v & VXEN_MMIO_S_FAILED;
}

/* ---- queues ---- */

/* The selected queue if its setup registers may be written now, else NULL (rejected). */
static struct mmio_queue *writable_queue(vxen_mmio *m)
{
	struct mmio_queue *q = selected(m);

	if (!q) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_SEL, "queue register write for queue %u of %u",
		       m->queue_sel, m->num_queues);
		return NULL;
	}
	if (q->ready) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_BUSY, "queue %u reconfigured while ready",
		       m->queue_sel);
		return NULL;
	}
	return q;
}

struct area {
	uint64_t addr;
	uint64_t len;
	uint64_t align;
	const char *what;
};

static bool overlap(const struct area *a, const struct area *b)
{
	return a->addr < b->addr + b->len && b->addr < a->addr + a->len;
}

/* Ring addresses: set, aligned, not wrapping, not overlapping (split ring sizes). */
static bool queue_addrs_ok(vxen_mmio *m, unsigned int qidx, const struct mmio_queue *q)
{
	uint64_t ev = (m->features & (1ULL << VIRTIO_F_EVENT_IDX)) ? 2 : 0;
	struct area a[3] = {
		{ q->desc, 16ULL * q->num, 16, "descriptor table" },
		{ q->driver, 4 + 2ULL * q->num + ev, 2, "driver area" },
		{ q->device, 4 + 8ULL * q->num + ev, 4, "device area" },
	};

	for (unsigned int i = 0; i < 3; i++) {
		if (!a[i].addr || (a[i].addr & (a[i].align - 1)) ||
		    a[i].addr + a[i].len < a[i].addr) {
			REJECT(m, VXEN_MMIO_REJ_QUEUE_ADDR, "queue %u: bad %s address 0x%llx", qidx,
			       a[i].what, (unsigned long long)a[i].addr);
			return false;
		}
	}
	if (overlap(&a[0], &a[1]) || overlap(&a[0], &a[2]) || overlap(&a[1], &a[2])) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_ADDR, "queue %u: ring areas overlap", qidx);
		return false;
	}
	return true;
}

static void enable_queue(vxen_mmio *m, unsigned int qidx, struct mmio_queue *q)
{
	struct vxen_mmio_queue_info info;
	int r;

	if (!(m->status & VXEN_MMIO_S_FEATURES_OK) || stopped(m)) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_STATE, "queue %u enabled in status 0x%x", qidx,
		       m->status);
		return;
	}
	if (!is_pow2(q->num) || q->num > q->num_max) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_NUM, "queue %u: size %u (max %u)", qidx, q->num,
		       q->num_max);
		return;
	}
	if (!queue_addrs_ok(m, qidx, q))
		return;
	vxen_mmio_queue(m, qidx, &info);
	r = m->ops->queue_enable(qidx, &info, m->payload);
	if (r < 0) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_ENABLE, "queue %u: device refused the rings: %s",
		       qidx, strerror(-r));
		return;
	}
	q->ready = true;
}

static void write_queue_ready(vxen_mmio *m, uint32_t v)
{
	struct mmio_queue *q = selected(m);

	if (!q) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_SEL, "QueueReady for queue %u of %u", m->queue_sel,
		       m->num_queues);
	} else if (v == 0) {
		if (!q->ready)
			return;
		q->ready = false;
		q->kick_pending = false;
		if (m->ops->queue_disable)
			m->ops->queue_disable(m->queue_sel, m->payload);
	} else if (v != 1) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_STATE, "QueueReady value %u", v);
	} else if (q->ready) {
		REJECT(m, VXEN_MMIO_REJ_QUEUE_BUSY, "queue %u made ready twice", m->queue_sel);
	} else {
		enable_queue(m, m->queue_sel, q);
	}
}

static void queue_notify(vxen_mmio *m, uint32_t qidx)
{
	struct mmio_queue *q;

	if (qidx >= m->num_queues) {
		REJECT(m, VXEN_MMIO_REJ_NOTIFY, "kick for queue %u of %u", qidx, m->num_queues);
		return;
	}
	q = &m->queues[qidx];
	if (!q->ready || stopped(m)) {
		REJECT(m, VXEN_MMIO_REJ_NOTIFY, "kick for queue %u: %s", qidx,
		       q->ready ? "device stopped" : "queue not ready");
		return;
	}
	if (!(m->status & VXEN_MMIO_S_DRIVER_OK)) {
		q->kick_pending = true;
		m->stats.kicks_deferred++;
		return;
	}
	deliver_kick(m, qidx);
}

/* ---- the register file ---- */

static uint32_t reg_read(vxen_mmio *m, unsigned int off)
{
	const struct mmio_queue *q = selected(m);

	switch (off) {
	case VXEN_MMIO_MAGIC_VALUE:
		return VXEN_MMIO_MAGIC;
	case VXEN_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VXEN_MMIO_DEVICE_ID:
		return m->device_id;
	case VXEN_MMIO_VENDOR_ID:
		return m->vendor_id;
	case VXEN_MMIO_DEVICE_FEATURES:
		return device_features_word(m);
	case VXEN_MMIO_QUEUE_NUM_MAX:
		return q ? q->num_max : 0;
	case VXEN_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VXEN_MMIO_INTERRUPT_STATUS:
		return m->isr;
	case VXEN_MMIO_STATUS:
		return m->status;
	case VXEN_MMIO_SHM_LEN_LOW:
	case VXEN_MMIO_SHM_LEN_HIGH:
	case VXEN_MMIO_SHM_BASE_LOW:
	case VXEN_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: length (and base) all-ones, virtio 1.2 §4.2.2. */
		return 0xffffffffu;
	case VXEN_MMIO_CONFIG_GENERATION:
		return m->generation;
	default:
		/* Write-only registers, QueueReset (no RING_RESET) and holes. */
		REJECT(m, VXEN_MMIO_REJ_BAD_REGISTER, "read of register 0x%03x", off);
		return 0;
	}
}

static void reg_write(vxen_mmio *m, unsigned int off, uint32_t v)
{
	struct mmio_queue *q;

	switch (off) {
	case VXEN_MMIO_DEVICE_FEATURES_SEL:
		m->dev_features_sel = v;
		break;
	case VXEN_MMIO_DRIVER_FEATURES:
		write_driver_features(m, v);
		break;
	case VXEN_MMIO_DRIVER_FEATURES_SEL:
		m->drv_features_sel = v;
		break;
	case VXEN_MMIO_QUEUE_SEL:
		m->queue_sel = v;
		break;
	case VXEN_MMIO_QUEUE_NUM:
		if ((q = writable_queue(m)))
			q->num = v;
		break;
	case VXEN_MMIO_QUEUE_READY:
		write_queue_ready(m, v);
		break;
	case VXEN_MMIO_QUEUE_NOTIFY:
		queue_notify(m, v);
		break;
	case VXEN_MMIO_INTERRUPT_ACK:
		clear_bits(m, v);
		break;
	case VXEN_MMIO_STATUS:
		write_status(m, v);
		break;
	case VXEN_MMIO_QUEUE_DESC_LOW:
		if ((q = writable_queue(m)))
			set_low(&q->desc, v);
		break;
	case VXEN_MMIO_QUEUE_DESC_HIGH:
		if ((q = writable_queue(m)))
			set_high(&q->desc, v);
		break;
	case VXEN_MMIO_QUEUE_DRIVER_LOW:
		if ((q = writable_queue(m)))
			set_low(&q->driver, v);
		break;
	case VXEN_MMIO_QUEUE_DRIVER_HIGH:
		if ((q = writable_queue(m)))
			set_high(&q->driver, v);
		break;
	case VXEN_MMIO_QUEUE_DEVICE_LOW:
		if ((q = writable_queue(m)))
			set_low(&q->device, v);
		break;
	case VXEN_MMIO_QUEUE_DEVICE_HIGH:
		if ((q = writable_queue(m)))
			set_high(&q->device, v);
		break;
	case VXEN_MMIO_SHM_SEL:
		m->shm_sel = v;
		break;
	default:
		/* Read-only registers, QueueReset (no RING_RESET) and holes. */
		REJECT(m, VXEN_MMIO_REJ_BAD_REGISTER, "write of 0x%x to register 0x%03x", v, off);
		break;
	}
}

/* Control registers are 32 bits wide and only aligned 32-bit accesses reach them. */
static bool control_access_ok(vxen_mmio *m, uint64_t off, unsigned int size, const char *dir)
{
	if (size == 4 && !(off & 3))
		return true;
	REJECT(m, VXEN_MMIO_REJ_BAD_ACCESS, "%u-byte %s at control offset 0x%03llx", size, dir,
	       (unsigned long long)off);
	return false;
}

/* @rel is relative to the config space; true if [rel, rel + size) lies inside it. */
static bool config_access_ok(vxen_mmio *m, uint64_t rel, unsigned int size, const char *dir)
{
	if ((size == 1 || size == 2 || size == 4 || size == 8) && rel <= m->config_size &&
	    size <= m->config_size - rel)
		return true;
	REJECT(m, VXEN_MMIO_REJ_CONFIG_ACCESS, "%u-byte config %s at 0x%llx (config size %u)", size,
	       dir, (unsigned long long)rel, m->config_size);
	return false;
}

static uint64_t config_read(vxen_mmio *m, uint64_t rel, unsigned int size)
{
	uint64_t v = 0;

	if (!config_access_ok(m, rel, size, "read"))
		return 0;
	/* virtio config space is little-endian whatever the host. */
	for (unsigned int i = size; i-- > 0;)
		v = v << 8 | m->config[rel + i];
	return v;
}

static void config_write(vxen_mmio *m, uint64_t rel, unsigned int size, uint64_t v)
{
	uint8_t buf[8];
	int r;

	if (!config_access_ok(m, rel, size, "write"))
		return;
	if (!m->ops->config_write) {
		REJECT(m, VXEN_MMIO_REJ_CONFIG_WRITE, "write to read-only config at 0x%llx",
		       (unsigned long long)rel);
		return;
	}
	for (unsigned int i = 0; i < size; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	r = m->ops->config_write((unsigned int)rel, buf, size, m->payload);
	if (r < 0)
		REJECT(m, VXEN_MMIO_REJ_CONFIG_WRITE, "config write at 0x%llx refused: %s",
		       (unsigned long long)rel, strerror(-r));
}

VXEN_EXPORT int vxen_mmio_read(vxen_mmio *m, uint64_t offset, unsigned int size, uint64_t *val)
{
	if (!m || !val)
		return -EINVAL;
	if (offset >= VXEN_MMIO_CONFIG_SPACE)
		*val = config_read(m, offset - VXEN_MMIO_CONFIG_SPACE, size);
	else if (control_access_ok(m, offset, size, "read"))
		*val = reg_read(m, (unsigned int)offset);
	else
		*val = 0;
	return 0;
}

VXEN_EXPORT int vxen_mmio_write(vxen_mmio *m, uint64_t offset, unsigned int size, uint64_t val)
{
	if (!m)
		return -EINVAL;
	if (offset >= VXEN_MMIO_CONFIG_SPACE)
		config_write(m, offset - VXEN_MMIO_CONFIG_SPACE, size, val);
	else if (control_access_ok(m, offset, size, "write"))
		reg_write(m, (unsigned int)offset, (uint32_t)val);
	return 0;
}

VXEN_EXPORT const char *vxen_mmio_reject_name(enum vxen_mmio_reject reason)
{
	if ((unsigned int)reason >= VXEN_MMIO_REJ__COUNT)
		return "?";
	return reject_names[reason];
}
