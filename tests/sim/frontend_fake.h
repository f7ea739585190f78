/* SPDX-License-Identifier: MIT */
/*
 * frontend_fake.h — a tiny virtio-mmio device for the frontend tests (test_frontend_*.c), so the
 * guest-side drivers can be exercised before and independently of the library's device layer.
 *
 * The device is a register file served through the library's L4 ioreq server (vxen_ioreq_*) on
 * a thread of the test process, acting as dom0. Its queues are served, when a test installs a
 * handler, by a minimal ring walker that maps each buffer's grants with libxengnttab (consecutive
 * refs, PROT_READ for device-readable buffers), calls the handler, unmaps, and only then
 * publishes the used entry — the order Linux's grant-dma requires. It trusts the driver under
 * test (no hostile-ring hardening: that is the library's job, tested elsewhere).
 *
 * Included by the test files only (static functions, one device per test).
 */
#ifndef FRONTEND_FAKE_H
#define FRONTEND_FAKE_H

#include <check.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xengnttab.h>
#include <virtio-xen/ioreq.h>

#include "xensim-virtio.h"

#define FK_BIT63 (1ULL << 63)
#define FK_PAGE	 4096u
#define FK_BASE	 0x2000000ULL /* MMIO window of the fake device */
#define FK_SPI	 33u
#define FK_NQ	 4u
#define FK_LOG	 4096u
#define FK_SEGS	 64u
/* Not every test file uses every helper. */
#define FK_MAYBE_UNUSED __attribute__((unused))

/* ------------------------------------------------------------------------------------------ */
/* Machine fixture                                                                             */

static xensim_server *fk_srv;
static xensim *fk_x;
static xensim_guest *g;
static uint32_t domid;

static void fk_machine_up(void)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;

	cfg.ram_bytes = 64u << 20;
	ck_assert_int_eq(xensim_server_start(&fk_srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&fk_x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(fk_x, &cfg, &domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&g, fk_x, domid), 0);
	xensim_guest_set_timeout(g, 5000);
}

static void fk_machine_down(void)
{
	xensim_guest_detach(g);
	xensim_close(fk_x);
	xensim_server_stop(fk_srv);
}

/* ------------------------------------------------------------------------------------------ */
/* Grant mappings (the device's view)                                                          */

struct fk_map {
	uint8_t *base;
	uint32_t n;
	uint8_t *p;
};

FK_MAYBE_UNUSED static bool fk_map(xengnttab_handle *xgt, uint64_t dma, size_t len, bool wr,
				   struct fk_map *m)
{
	uint32_t gref = (uint32_t)((dma & ~FK_BIT63) >> 12), off = dma & 0xfff;
	uint32_t n = (uint32_t)((off + len + FK_PAGE - 1) / FK_PAGE);
	uint32_t *refs;

	m->base = NULL;
	if (!(dma & FK_BIT63) || len == 0)
		return false;
	refs = calloc(n, sizeof(*refs));
	for (uint32_t i = 0; i < n; i++)
		refs[i] = gref + i;
	m->base = xengnttab_map_domain_grant_refs(xgt, n, domid, refs,
						  PROT_READ | (wr ? PROT_WRITE : 0));
	free(refs);
	m->n = n;
	m->p = m->base ? m->base + off : NULL;
	return m->base != NULL;
}

FK_MAYBE_UNUSED static void fk_unmap(xengnttab_handle *xgt, struct fk_map *m)
{
	if (m->base)
		xengnttab_unmap(xgt, m->base, m->n);
	m->base = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The register file                                                                           */

struct fk_queue {
	uint32_t num_max, num, ready;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx;
};

struct fk_access {
	uint32_t off, size;
	uint64_t val;
	bool wr;
};

/* One request as the handler sees it: every buffer mapped. */
struct fk_seg {
	uint8_t *p;
	uint32_t len;
	bool wr;
};

struct fk_dev;
/* Serve one chain; return the used length to publish. Runs with d->lock held. */
typedef uint32_t (*fk_handler)(struct fk_dev *d, unsigned int q, struct fk_seg *s, unsigned int n);

struct fk_dev {
	pthread_mutex_t lock;
	uint32_t magic, version, device_id, vendor_id;
	uint64_t features, drv_features;
	uint32_t dev_sel, drv_sel, queue_sel, status, isr, gen;
	bool refuse_features_ok;
	bool stuck_reset;	/* writing 0 to Status does not take effect */
	unsigned int gen_storm; /* bump the generation on this many config reads */
	struct fk_queue q[FK_NQ];
	unsigned int nq;
	uint8_t config[256];
	uint32_t config_len;
	struct fk_access log[FK_LOG];
	unsigned int nlog;
	uint32_t notifies[FK_NQ];
	fk_handler handler[FK_NQ];
	void *priv;
	xengnttab_handle *xgt; /* the device thread's */
	vxen_ioreq_server *srv;
	struct vxen_irq irq;
	pthread_t thr;
	atomic_bool stop;
};

static void fk_log(struct fk_dev *d, uint64_t off, unsigned int size, uint64_t val, bool wr)
{
	if (d->nlog < FK_LOG)
		d->log[d->nlog++] = (struct fk_access){ (uint32_t)off, size, val, wr };
}

static void fk_reset(struct fk_dev *d)
{
	d->status = 0;
	d->isr = 0;
	d->drv_features = 0;
	for (unsigned int i = 0; i < FK_NQ; i++) {
		struct fk_queue *q = &d->q[i];

		*q = (struct fk_queue){ .num_max = q->num_max };
	}
}

static uint64_t fk_reg_read(struct fk_dev *d, uint64_t off)
{
	struct fk_queue *q = d->queue_sel < FK_NQ ? &d->q[d->queue_sel] : NULL;

	switch (off) {
	case 0x000:
		return d->magic;
	case 0x004:
		return d->version;
	case 0x008:
		return d->device_id;
	case 0x00c:
		return d->vendor_id;
	case 0x010:
		return d->dev_sel < 2 ? (uint32_t)(d->features >> (32 * d->dev_sel)) : 0;
	case 0x034:
		return q ? q->num_max : 0;
	case 0x044:
		return q ? q->ready : 0;
	case 0x060:
		return d->isr;
	case 0x070:
		return d->status;
	case 0x0fc:
		return d->gen;
	default:
		return 0;
	}
}

static void fk_set_half(uint64_t *v, bool high, uint64_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | val << 32;
	else
		*v = (*v & ~0xffffffffULL) | (uint32_t)val;
}

static void fk_process(struct fk_dev *d, unsigned int qi);

static void fk_reg_write(struct fk_dev *d, uint64_t off, uint64_t val)
{
	struct fk_queue *q = d->queue_sel < FK_NQ ? &d->q[d->queue_sel] : NULL;

	switch (off) {
	case 0x014:
		d->dev_sel = (uint32_t)val;
		break;
	case 0x020:
		if (d->drv_sel < 2)
			fk_set_half(&d->drv_features, d->drv_sel, val);
		break;
	case 0x024:
		d->drv_sel = (uint32_t)val;
		break;
	case 0x030:
		d->queue_sel = (uint32_t)val;
		break;
	case 0x038:
		if (q)
			q->num = (uint32_t)val;
		break;
	case 0x044:
		if (q)
			q->ready = (uint32_t)val;
		break;
	case 0x050:
		if (val < FK_NQ) {
			d->notifies[val]++;
			fk_process(d, (unsigned int)val);
		}
		break;
	case 0x064:
		d->isr &= ~(uint32_t)val;
		break;
	case 0x070:
		if (val == 0 && !d->stuck_reset)
			fk_reset(d);
		else if (val == 0)
			break;
		else if ((val & XENSIM_VIRTIO_S_FEATURES_OK) && d->refuse_features_ok)
			d->status = (uint32_t)val & ~XENSIM_VIRTIO_S_FEATURES_OK;
		else
			d->status = (uint32_t)val;
		break;
	case 0x080:
	case 0x084:
		if (q)
			fk_set_half(&q->desc, off & 4, val);
		break;
	case 0x090:
	case 0x094:
		if (q)
			fk_set_half(&q->avail, off & 4, val);
		break;
	case 0x0a0:
	case 0x0a4:
		if (q)
			fk_set_half(&q->used, off & 4, val);
		break;
	default:
		break;
	}
}

static int fk_read(uint64_t off, unsigned int size, uint64_t *val, void *payload)
{
	struct fk_dev *d = payload;

	pthread_mutex_lock(&d->lock);
	*val = 0;
	if (off >= 0x100) {
		if (off - 0x100 + size <= d->config_len)
			memcpy(val, d->config + off - 0x100, size);
		if (d->gen_storm) {
			d->gen_storm--;
			d->gen++;
		}
	} else {
		*val = fk_reg_read(d, off);
	}
	fk_log(d, off, size, *val, false);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int fk_write(uint64_t off, unsigned int size, uint64_t val, void *payload)
{
	struct fk_dev *d = payload;

	pthread_mutex_lock(&d->lock);
	fk_log(d, off, size, val, true);
	if (off >= 0x100) {
		if (off - 0x100 + size <= d->config_len)
			memcpy(d->config + off - 0x100, &val, size);
	} else {
		fk_reg_write(d, off, val);
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void *fk_thread(void *arg)
{
	struct fk_dev *d = arg;
	struct pollfd pfd = { .fd = vxen_ioreq_fd(d->srv), .events = POLLIN };

	while (!atomic_load(&d->stop)) {
		if (poll(&pfd, 1, 20) > 0)
			vxen_ioreq_process(d->srv);
	}
	return NULL;
}

static const struct vxen_ioreq_range_ops fk_ops = {
	.version = VXEN_IOREQ_RANGE_OPS_VERSION,
	.read = fk_read,
	.write = fk_write,
};

/* A version-2 device of type @device_id offering VERSION_1 | ACCESS_PLATFORM | @features. */
static void fk_init(struct fk_dev *d, uint32_t device_id, uint64_t features, unsigned int nq,
		    uint32_t num_max)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->magic = 0x74726976;
	d->version = 2;
	d->device_id = device_id;
	d->vendor_id = 0x554d4551;
	d->features = features | XENSIM_VIRTIO_REQUIRED_FEATURES;
	d->nq = nq;
	for (unsigned int i = 0; i < nq; i++)
		d->q[i].num_max = num_max;
	d->irq = (struct vxen_irq){ .kind = VXEN_IRQ_SPI, .line = FK_SPI };
}

static void fk_start(struct fk_dev *d)
{
	d->xgt = xengnttab_open(NULL, 0);
	ck_assert_ptr_nonnull(d->xgt);
	ck_assert_int_eq(vxen_ioreq_server_new(&d->srv, domid, NULL), 0);
	ck_assert_int_eq(vxen_ioreq_add_mmio(d->srv, FK_BASE, 0x200, &fk_ops, d, NULL), 0);
	ck_assert_int_eq(pthread_create(&d->thr, NULL, fk_thread, d), 0);
}

static void fk_stop(struct fk_dev *d)
{
	atomic_store(&d->stop, true);
	pthread_join(d->thr, NULL);
	vxen_ioreq_server_free(d->srv);
	xengnttab_close(d->xgt);
}

/* Raise the device interrupt with @bits in InterruptStatus (any thread). */
FK_MAYBE_UNUSED static void fk_interrupt(struct fk_dev *d, uint32_t bits)
{
	pthread_mutex_lock(&d->lock);
	d->isr |= bits;
	pthread_mutex_unlock(&d->lock);
	ck_assert_int_eq(vxen_ioreq_irq_raise(d->srv, &d->irq), 0);
}

/* Number of logged accesses matching @off / @wr (a register's write or read count). */
FK_MAYBE_UNUSED static unsigned int fk_count(struct fk_dev *d, uint32_t off, bool wr)
{
	unsigned int n = 0;

	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < d->nlog; i++)
		n += d->log[i].off == off && d->log[i].wr == wr;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Serving a queue (called with d->lock held)                                                  */

struct fk_ring {
	struct fk_map map;
	uint8_t *desc;
	uint16_t *avail, *used;
	uint32_t *elems;
	uint16_t *avail_event;
	unsigned int num;
};

static bool fk_ring_map(struct fk_dev *d, xengnttab_handle *xgt, unsigned int qi, struct fk_ring *r)
{
	struct fk_queue *q = &d->q[qi];
	size_t len = (size_t)(q->used - q->desc) + 6 + 8 * q->num;

	if (!q->ready || !(d->status & XENSIM_VIRTIO_S_DRIVER_OK) || q->used < q->desc)
		return false;
	if (!fk_map(xgt, q->desc, len, true, &r->map))
		return false;
	r->num = q->num;
	r->desc = r->map.p;
	r->avail = (uint16_t *)(r->map.p + (q->avail - q->desc));
	r->used = (uint16_t *)(r->map.p + (q->used - q->desc));
	r->elems = (uint32_t *)(r->used + 2);
	r->avail_event = (uint16_t *)(r->elems + 2 * q->num);
	return true;
}

struct fk_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct fk_desc fk_desc_at(const uint8_t *t, unsigned int i)
{
	struct fk_desc x;

	memcpy(&x, t + 16 * i, 16);
	return (struct fk_desc){ le64toh(x.addr), le32toh(x.len), le16toh(x.flags),
				 le16toh(x.next) };
}

/* Walk the chain at @head into @dd (following one indirect table). Returns the count. */
static unsigned int fk_walk(xengnttab_handle *xgt, struct fk_ring *r, uint16_t head,
			    struct fk_desc *dd)
{
	struct fk_desc x = fk_desc_at(r->desc, head);
	struct fk_map tm;
	unsigned int n = 0;

	if (x.flags & XENSIM_VRING_DESC_F_INDIRECT) {
		ck_assert(fk_map(xgt, x.addr, x.len, false, &tm));
		for (unsigned int i = 0; i < x.len / 16 && n < FK_SEGS;
		     i = fk_desc_at(tm.p, i).next) {
			dd[n++] = fk_desc_at(tm.p, i);
			if (!(dd[n - 1].flags & XENSIM_VRING_DESC_F_NEXT))
				break;
		}
		fk_unmap(xgt, &tm);
		return n;
	}
	for (;;) {
		dd[n++] = x;
		if (!(x.flags & XENSIM_VRING_DESC_F_NEXT) || n == FK_SEGS)
			return n;
		x = fk_desc_at(r->desc, x.next);
	}
}

static void fk_push_used(struct fk_dev *d, unsigned int qi, struct fk_ring *r, uint32_t id,
			 uint32_t len)
{
	struct fk_queue *q = &d->q[qi];
	uint16_t slot = q->used_idx & (r->num - 1);

	r->elems[2 * slot] = htole32(id);
	r->elems[2 * slot + 1] = htole32(len);
	q->used_idx++;
}

static void fk_publish(struct fk_dev *d, unsigned int qi, struct fk_ring *r)
{
	/* Entries before the index; pairs with the driver's read barrier in get_buf. */
	__atomic_store_n(&r->used[1], htole16(d->q[qi].used_idx), __ATOMIC_RELEASE);
}

/* Serve every available chain of queue @qi with its handler, then interrupt. */
static void fk_process(struct fk_dev *d, unsigned int qi)
{
	struct fk_desc dd[FK_SEGS];
	struct fk_seg segs[FK_SEGS];
	struct fk_map maps[FK_SEGS];
	struct fk_queue *q = &d->q[qi];
	struct fk_ring r;
	bool any = false;

	if (!d->handler[qi] || !fk_ring_map(d, d->xgt, qi, &r))
		return;
	while (q->last_avail != le16toh(__atomic_load_n(&r.avail[1], __ATOMIC_ACQUIRE))) {
		uint16_t head = le16toh(r.avail[2 + (q->last_avail++ & (r.num - 1))]);
		unsigned int n = fk_walk(d->xgt, &r, head, dd);
		uint32_t len;

		for (unsigned int i = 0; i < n; i++) {
			bool wr = dd[i].flags & XENSIM_VRING_DESC_F_WRITE;

			ck_assert(fk_map(d->xgt, dd[i].addr, dd[i].len, wr, &maps[i]));
			segs[i] = (struct fk_seg){ maps[i].p, dd[i].len, wr };
		}
		len = d->handler[qi](d, qi, segs, n);
		for (unsigned int i = 0; i < n; i++) /* unmap before publishing used */
			fk_unmap(d->xgt, &maps[i]);
		fk_push_used(d, qi, &r, head, len);
		any = true;
	}
	fk_publish(d, qi, &r);
	/* EVENT_IDX: ask for a kick at the next new entry (harmless without the feature). */
	__atomic_store_n(r.avail_event, htole16(q->last_avail), __ATOMIC_SEQ_CST);
	fk_unmap(d->xgt, &r.map);
	if (any) {
		d->isr |= XENSIM_VIRTIO_INT_VRING;
		vxen_ioreq_irq_raise(d->srv, &d->irq);
	}
}

/*
 * Device-initiated input (net rx, console rx): write @hdr_len bytes of @hdr then @len bytes of
 * @data into the available buffers of queue @qi, spread over at most @max_bufs buffers (the
 * caller puts the right num_buffers in @hdr). Runs on the test thread with its own gnttab
 * handle. Returns the number of buffers used, -ENOSPC if not enough were posted (nothing
 * published), -ENODEV if the queue is not live.
 */
FK_MAYBE_UNUSED static int fk_inject(struct fk_dev *d, xengnttab_handle *xgt, unsigned int qi,
				     const void *hdr, size_t hdr_len, const void *data, size_t len,
				     unsigned int max_bufs)
{
	struct fk_queue *q = &d->q[qi];
	struct fk_desc dd[FK_SEGS];
	struct fk_ring r;
	size_t done = 0;
	uint16_t first_avail;
	int nb = 0;

	pthread_mutex_lock(&d->lock);
	if (!fk_ring_map(d, xgt, qi, &r)) {
		pthread_mutex_unlock(&d->lock);
		return -ENODEV;
	}
	first_avail = q->last_avail;
	while (done < hdr_len + len || nb == 0) {
		uint16_t avail_idx = le16toh(__atomic_load_n(&r.avail[1], __ATOMIC_ACQUIRE));
		uint16_t head;
		struct fk_map m;
		size_t n, off = 0;

		if (q->last_avail == avail_idx || nb == (int)max_bufs) {
			q->last_avail = first_avail; /* put them back */
			q->used_idx -= (uint16_t)nb;
			nb = -ENOSPC;
			break;
		}
		head = le16toh(r.avail[2 + (q->last_avail++ & (r.num - 1))]);
		ck_assert_uint_eq(fk_walk(xgt, &r, head, dd), 1);
		ck_assert(dd[0].flags & XENSIM_VRING_DESC_F_WRITE);
		ck_assert(fk_map(xgt, dd[0].addr, dd[0].len, true, &m));
		n = hdr_len + len - done;
		n = n < dd[0].len ? n : dd[0].len;
		if (done < hdr_len) { /* the header goes first, in the first buffer */
			memcpy(m.p, hdr, hdr_len);
			off = hdr_len;
		}
		memcpy(m.p + off, (const uint8_t *)data + (done + off - hdr_len), n - off);
		done += n;
		fk_unmap(xgt, &m);
		fk_push_used(d, qi, &r, head, (uint32_t)n);
		nb++;
	}
	if (nb > 0)
		fk_publish(d, qi, &r);
	fk_unmap(xgt, &r.map);
	pthread_mutex_unlock(&d->lock);
	if (nb > 0)
		fk_interrupt(d, XENSIM_VIRTIO_INT_VRING);
	return nb;
}

#endif /* FRONTEND_FAKE_H */
