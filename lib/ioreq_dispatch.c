/* SPDX-License-Identifier: MIT */
/*
 * L4 ioreq dispatch: take requests out of the shared ioreq page, route them to ranges, answer.
 *
 * The slot protocol (xen/include/public/hvm/ioreq.h): Xen fills a vCPU's slot, issues a write
 * barrier, sets state READY and signals the vCPU's event channel. We copy the slot once, set
 * INPROCESS, handle the copy, store the read value, issue a write barrier, set IORESP_READY and
 * signal back. Xen then reads the answer after its own read barrier.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ioreq_priv.h"
#include "ioreq_server.h"

/* Requests handled per vxen_ioreq_process() call, so one busy guest cannot starve the loop. */
#define IOREQ_BUDGET 64

/* state, data_is_ptr, dir and df share the byte after _pad0; type is the last byte. */
#define STATE_BYTE (offsetof(struct ioreq, _pad0) + sizeof(uint16_t))
_Static_assert(sizeof(struct ioreq) == 32, "struct ioreq is 32 bytes");
_Static_assert(STATE_BYTE == 30 && offsetof(struct ioreq, type) == 31, "ioreq layout");

/* ---- pure helpers (ioreq_priv.h) -------------------------------------------------------- */

enum vxen_ioreq_class vxen_ioreq_classify(const struct vxen_ioreq_desc *d)
{
	switch (d->type) {
	case IOREQ_TYPE_COPY:
		break;
	case IOREQ_TYPE_INVALIDATE:
		return VXEN_IOREQ_CLASS_INVALIDATE;
	default:
		return VXEN_IOREQ_CLASS_OTHER;
	}
	/* Arm sends only single, direct accesses; rep/indirect ones name raw guest memory. */
	if (d->data_is_ptr || d->count != 1)
		return VXEN_IOREQ_CLASS_REJECT;
	switch (d->size) {
	case 1:
	case 2:
	case 4:
	case 8:
		return VXEN_IOREQ_CLASS_MMIO;
	default:
		return VXEN_IOREQ_CLASS_REJECT;
	}
}

uint64_t vxen_ioreq_size_mask(uint32_t size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

bool vxen_ioreq_access_within(uint64_t addr, uint32_t size, uint64_t base, uint64_t last)
{
	/* Written as differences so neither addr + size nor last + 1 can overflow. */
	return size >= 1 && addr >= base && addr <= last && (uint64_t)size - 1 <= last - addr;
}

/* ---- the state byte ------------------------------------------------------------------- */

static unsigned int byte_to_state(uint8_t b)
{
	struct ioreq t = { 0 };

	((uint8_t *)&t)[STATE_BYTE] = b;
	return t.state;
}

static uint8_t byte_with_state(uint8_t b, unsigned int state)
{
	struct ioreq t = { 0 };

	((uint8_t *)&t)[STATE_BYTE] = b;
	t.state = state & 0xf;
	return ((uint8_t *)&t)[STATE_BYTE];
}

static uint8_t *state_byte(struct ioreq *slot)
{
	return (uint8_t *)slot + STATE_BYTE;
}

/* ---- routing -------------------------------------------------------------------------- */

static uint64_t mmio_read(vxen_ioreq_server *srv, const struct ioreq *req)
{
	vxen_ioreq_range *r = vxen_ioreq_find_range(srv, req->addr, req->size);
	uint64_t v = ~0ULL;

	if (!r) {
		ioreq_stat_inc(srv, ST_UNCLAIMED);
		vxen_log_guest(&srv->rl, LOG_WARNING,
			       "ioreq: dom%u: read of %u bytes at 0x%" PRIx64 " hits no device",
			       srv->domid, req->size, req->addr);
		return vxen_ioreq_size_mask(req->size);
	}
	ioreq_stat_inc(srv, ST_MMIO_READS);
	/* The callback may remove its range: take what we need from it first. */
	if (r->ops.read && r->ops.read(req->addr - r->base, req->size, &v, r->payload) < 0) {
		ioreq_stat_inc(srv, ST_CALLBACK_ERRORS);
		v = ~0ULL;
	}
	return v & vxen_ioreq_size_mask(req->size);
}

static void mmio_write(vxen_ioreq_server *srv, const struct ioreq *req)
{
	vxen_ioreq_range *r = vxen_ioreq_find_range(srv, req->addr, req->size);
	uint64_t v = req->data & vxen_ioreq_size_mask(req->size);

	if (!r) {
		ioreq_stat_inc(srv, ST_UNCLAIMED);
		vxen_log_guest(&srv->rl, LOG_WARNING,
			       "ioreq: dom%u: write of %u bytes at 0x%" PRIx64 " hits no device",
			       srv->domid, req->size, req->addr);
		return;
	}
	ioreq_stat_inc(srv, ST_MMIO_WRITES);
	if (r->ops.write && r->ops.write(req->addr - r->base, req->size, v, r->payload) < 0)
		ioreq_stat_inc(srv, ST_CALLBACK_ERRORS);
}

/* Handle the private copy of one request; returns the value to answer a read with. */
static uint64_t dispatch(vxen_ioreq_server *srv, const struct ioreq *req)
{
	const struct vxen_ioreq_desc d = { .type = req->type,
					   .data_is_ptr = req->data_is_ptr,
					   .count = req->count,
					   .size = req->size };
	bool read = req->dir == IOREQ_READ;

	switch (vxen_ioreq_classify(&d)) {
	case VXEN_IOREQ_CLASS_MMIO:
		if (read)
			return mmio_read(srv, req);
		mmio_write(srv, req);
		return req->data;
	case VXEN_IOREQ_CLASS_INVALIDATE:
		/* No mapcache here, and grant-mapped rings are not Xen's to invalidate. */
		ioreq_stat_inc(srv, ST_INVALIDATES);
		return req->data;
	case VXEN_IOREQ_CLASS_OTHER:
		ioreq_stat_inc(srv, ST_OTHER_TYPES);
		vxen_log_guest(&srv->rl, LOG_DEBUG, "ioreq: dom%u: ignoring ioreq type %u",
			       srv->domid, req->type);
		break;
	case VXEN_IOREQ_CLASS_REJECT:
		ioreq_stat_inc(srv, ST_REJECTED);
		vxen_log_guest(&srv->rl, LOG_WARNING,
			       "ioreq: dom%u: rejected access at 0x%" PRIx64
			       " (size %u, count %u, data_is_ptr %u)",
			       srv->domid, req->addr, req->size, req->count, req->data_is_ptr);
		break;
	}
	return read ? vxen_ioreq_size_mask(req->size) : req->data;
}

/* ---- the slot handshake --------------------------------------------------------------- */

/* Returns 1 if a request was answered, 0 if the wake-up was spurious. */
static int handle_slot(vxen_ioreq_server *srv, unsigned int vcpu)
{
	struct ioreq *slot = ioreq_slot(srv, vcpu);
	uint8_t b = __atomic_load_n(state_byte(slot), __ATOMIC_RELAXED);
	struct ioreq req;
	uint64_t data;

	if (byte_to_state(b) != STATE_IOREQ_READY) {
		ioreq_stat_inc(srv, ST_SPURIOUS);
		return 0;
	}
	/* Pairs with Xen's write barrier between filling the slot and setting READY. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&req, slot, sizeof(req));
	__atomic_store_n(state_byte(slot), byte_with_state(b, STATE_IOREQ_INPROCESS),
			 __ATOMIC_RELAXED);
	ioreq_stat_inc(srv, ST_REQUESTS);

	data = dispatch(srv, &req);
	if (req.dir == IOREQ_READ)
		__atomic_store_n(&slot->data, data, __ATOMIC_RELAXED);
	/* Pairs with Xen's read barrier between seeing IORESP_READY and reading data. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(state_byte(slot), byte_with_state(b, STATE_IORESP_READY),
			 __ATOMIC_RELAXED);
	return 1;
}

static int cmp_port_key(const void *key, const void *elem)
{
	evtchn_port_t k = *(const evtchn_port_t *)key;
	const struct ioreq_port *e = elem;

	return k < e->port ? -1 : k > e->port;
}

static int fail(vxen_ioreq_server *srv, const char *what, int err)
{
	if (ioreq_errno_is_gone(-err)) {
		vxen_log(LOG_DEBUG, "ioreq: dom%u: %s: guest gone", srv->domid, what);
		atomic_store(&srv->dead, true);
		return -ESRCH;
	}
	vxen_log(LOG_ERR, "ioreq: dom%u: %s: %s", srv->domid, what, strerror(-err));
	return err;
}

/* One pending port: returns 1 (answered), 0 (spurious / nothing) or -errno. */
static int handle_event(vxen_ioreq_server *srv)
{
	xenevtchn_port_or_error_t p = xenevtchn_pending(srv->xe);
	evtchn_port_t port;
	const struct ioreq_port *e;
	int r;

	if (p < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return fail(srv, "evtchn pending", errno > 0 ? -errno : -EIO);
	}
	port = (evtchn_port_t)p;
	e = bsearch(&port, srv->ports, srv->nr_bound, sizeof(*srv->ports), cmp_port_key);
	/* Unmask before looking at the slot, so a request posted meanwhile re-signals. */
	if (xenevtchn_unmask(srv->xe, port))
		return fail(srv, "evtchn unmask", errno > 0 ? -errno : -EIO);
	if (!e) {
		ioreq_stat_inc(srv, ST_SPURIOUS);
		return 0;
	}
	r = handle_slot(srv, e->vcpu);
	if (r == 1 && xenevtchn_notify(srv->xe, port))
		return fail(srv, "evtchn notify", errno > 0 ? -errno : -EIO);
	return r;
}

/* 1 if an event is pending on the fd, 0 if not, -errno. Never blocks. */
static int event_ready(vxen_ioreq_server *srv)
{
	struct pollfd pfd = { .fd = srv->fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail(srv, "poll", -errno);
	if (r == 0)
		return 0;
	if (!(pfd.revents & POLLIN))
		return fail(srv, "evtchn fd", -EIO);
	return 1;
}

VXEN_EXPORT int vxen_ioreq_process(vxen_ioreq_server *srv)
{
	int handled = 0;

	if (atomic_load(&srv->dead))
		return -ESRCH;
	/*
	 * xenevtchn_pending() may block even on a non-blocking fd (see xenevtchn.h), so check
	 * readiness before each call: process never blocks, even when called with nothing pending.
	 */
	for (int budget = IOREQ_BUDGET; budget > 0; budget--) {
		int r = event_ready(srv);

		if (r <= 0)
			return r < 0 ? r : handled;
		r = handle_event(srv);
		if (r < 0)
			return r;
		handled += r;
	}
	return handled;
}
