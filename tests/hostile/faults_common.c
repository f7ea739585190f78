/* SPDX-License-Identifier: MIT */
/*
 * faults_common.c — see faults_common.h.
 */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif

#include <check.h>
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <virtio-xen/iov.h>
#include <virtio-xen/log.h>
#include <virtio-xen/loop.h>
#include <virtio-xen/mmio.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xensim-virtio.h>

#include "faults_common.h"
#include "helper_hostile.h"

#define BASE	0x2000000ull
#define IRQ	33u
#define GTMO	150 /* guest-side waits in faulted runs: a lost answer costs this much */
#define QSIZE	8u
#define PATTERN 0x5a

/* ------------------------------------------------------------------------------------------ */
/* Counting wrappers: the library's Xen calls, forwarded to the drop-in libraries              */

static unsigned long calls[XENSIM_OP_COUNT];

unsigned long fs_calls(enum xensim_op op)
{
	return __atomic_load_n(&calls[op], __ATOMIC_RELAXED);
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		abort(); /* a drop-in library is missing: nothing can work */
	return f;
}

#define COUNT(op) __atomic_fetch_add(&calls[op], 1, __ATOMIC_RELAXED)
#define FORWARD(fn, op, ...)                                                                       \
	do {                                                                                       \
		static __typeof__(fn) *next;                                                       \
		if (!next)                                                                         \
			next = (__typeof__(fn) *)real(#fn);                                        \
		COUNT(op);                                                                         \
		return next(__VA_ARGS__);                                                          \
	} while (0)

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t domid,
				      uint32_t *refs, int prot)
{
	FORWARD(xengnttab_map_domain_grant_refs, XENSIM_OP_GNT_MAP, xgt, count, domid, refs, prot);
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	FORWARD(xengnttab_unmap, XENSIM_OP_GNT_UNMAP, xgt, start_address, count);
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
			 xengnttab_grant_copy_segment_t *segs)
{
	FORWARD(xengnttab_grant_copy, XENSIM_OP_GNT_COPY, xgt, count, segs);
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
						     evtchn_port_t remote_port)
{
	FORWARD(xenevtchn_bind_interdomain, XENSIM_OP_EVTCHN_BIND_INTERDOMAIN, xce, domid,
		remote_port);
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	FORWARD(xenevtchn_notify, XENSIM_OP_EVTCHN_NOTIFY, xce, port);
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid, unsigned int *vcpus)
{
	FORWARD(xendevicemodel_nr_vcpus, XENSIM_OP_DM_NR_VCPUS, dmod, domid, vcpus);
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
				       int handle_bufioreq, ioservid_t *id)
{
	FORWARD(xendevicemodel_create_ioreq_server, XENSIM_OP_DM_CREATE_IOREQ_SERVER, dmod, domid,
		handle_bufioreq, id);
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id,
					 xen_pfn_t *ioreq_gfn, xen_pfn_t *bufioreq_gfn,
					 evtchn_port_t *bufioreq_port)
{
	FORWARD(xendevicemodel_get_ioreq_server_info, XENSIM_OP_DM_GET_IOREQ_SERVER_INFO, dmod,
		domid, id, ioreq_gfn, bufioreq_gfn, bufioreq_port);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id,
					  int enabled)
{
	FORWARD(xendevicemodel_set_ioreq_server_state, XENSIM_OP_DM_SET_IOREQ_SERVER_STATE, dmod,
		domid, id, enabled);
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						ioservid_t id, int is_mmio, uint64_t start,
						uint64_t end)
{
	FORWARD(xendevicemodel_map_io_range_to_ioreq_server, XENSIM_OP_DM_MAP_IO_RANGE, dmod, domid,
		id, is_mmio, start, end);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						    ioservid_t id, int is_mmio, uint64_t start,
						    uint64_t end)
{
	FORWARD(xendevicemodel_unmap_io_range_from_ioreq_server, XENSIM_OP_DM_UNMAP_IO_RANGE, dmod,
		domid, id, is_mmio, start, end);
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id)
{
	FORWARD(xendevicemodel_destroy_ioreq_server, XENSIM_OP_DM_DESTROY_IOREQ_SERVER, dmod, domid,
		id);
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid, unsigned int irq,
				 unsigned int level)
{
	FORWARD(xendevicemodel_set_irq_level, XENSIM_OP_DM_SET_IRQ_LEVEL, dmod, domid, irq, level);
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
			   const xen_pfn_t arr[], int err[])
{
	FORWARD(xenforeignmemory_map, XENSIM_OP_FMEM_MAP, fmem, dom, prot, pages, arr, err);
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
			      unsigned int id, unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	FORWARD(xenforeignmemory_map_resource, XENSIM_OP_FMEM_MAP_RESOURCE, fmem, domid, type, id,
		frame, nr_frames, paddr, prot, flags);
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	FORWARD(xs_read, XENSIM_OP_XS_READ, h, t, path, len);
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
	      unsigned int len)
{
	FORWARD(xs_write, XENSIM_OP_XS_WRITE, h, t, path, data, len);
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num)
{
	FORWARD(xs_directory, XENSIM_OP_XS_DIRECTORY, h, t, path, num);
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	FORWARD(xs_watch, XENSIM_OP_XS_WATCH, h, path, token);
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	FORWARD(xs_transaction_start, XENSIM_OP_XS_TRANSACTION_START, h);
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	FORWARD(xs_transaction_end, XENSIM_OP_XS_TRANSACTION_END, h, t, abort);
}

/* ------------------------------------------------------------------------------------------ */
/* The device: rng-like, one queue; fills every writable byte with PATTERN                     */

static void frng_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
{
	static const uint8_t pat[1024] = { [0 ... 1023] = PATTERN };
	struct vxen_iov_cursor in;
	size_t done = 0, n;

	vxen_req_in_cursor(req, &in);
	while ((n = vxen_iov_push(&in, pat, sizeof(pat))) > 0)
		done += n;
	vxen_dev_complete(req, (uint32_t)done);
}

static const struct vxen_dev_queue_config frng_queue = { .size_max = QSIZE };

static const struct vxen_dev_ops frng_ops = {
	.version = VXEN_DEV_OPS_VERSION,
	.name = "frng",
	.device_id = 4,
	.num_queues = 1,
	.queues = &frng_queue,
	.handle_request = frng_request,
};

/* ------------------------------------------------------------------------------------------ */
/* One run                                                                                     */

struct world {
	enum fs_scenario s;
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *g;
	struct testloop *loop;
	vxen_dev *dev;
	vxen_backend *be;
	int fds;
	uint64_t watches; /* machine-wide live xenstore watches before the backend */
};

struct result {
	int create_err;	     /* device / backend creation */
	int guest_err;	     /* first failure the guest saw, 0 if everything was served */
	unsigned long calls; /* calls of the op's function during the run */
};

static void quiet(int level, const char *msg, void *payload)
{
}

struct call {
	struct world *w;
	int r;
};

static void do_dev_create(void *arg)
{
	struct call *c = arg;
	struct world *w = c->w;
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;

	cfg.domid = w->domid;
	cfg.base = BASE;
	cfg.irq = (struct vxen_irq){ .kind = VXEN_IRQ_SPI, .line = IRQ };
	cfg.grants = w->s != FS_FOREIGN;
	cfg.drain_timeout_ms = 500;
	c->r = vxen_loop_dev_new(testloop_loop(w->loop), &w->dev, &frng_ops, &cfg, NULL);
}

static void do_dev_free(void *arg)
{
	struct world *w = arg;

	vxen_loop_dev_free(testloop_loop(w->loop), w->dev);
	w->dev = NULL;
}

static int be_create(vxen_backend *be, const struct vxen_xs_device *info,
		     const struct vxen_dev_config *cfg, vxen_dev **out, void *payload)
{
	return vxen_dev_new(out, &frng_ops, cfg, NULL);
}

static void do_be_new(void *arg)
{
	static const uint32_t ids[] = { 4 };
	static const struct vxen_backend_ops ops = { .version = VXEN_BACKEND_OPS_VERSION,
						     .create = be_create };
	struct vxen_backend_config cfg = VXEN_BACKEND_CONFIG_INIT;
	struct call *c = arg;

	cfg.virtio_ids = ids;
	cfg.nr_virtio_ids = 1;
	c->r = vxen_backend_new(&c->w->be, testloop_loop(c->w->loop), &cfg, &ops, NULL);
}

static void do_be_devices(void *arg)
{
	struct call *c = arg;

	c->r = (int)vxen_backend_nr_devices(c->w->be);
}

static void do_be_free(void *arg)
{
	struct world *w = arg;

	vxen_backend_free(w->be);
	w->be = NULL;
}

/* ---- guest drivers ---- */

static int grant_request(xensim_guest *g, xensim_vq *q, size_t len)
{
	struct xensim_gbuf b;
	struct xensim_sg in;
	void *token = NULL;
	uint32_t got = 0;
	int r;

	r = xensim_gbuf_alloc(g, len, &b);
	if (r)
		return r;
	in = (struct xensim_sg){ b.gpa, (uint32_t)len };
	r = xensim_vq_add(q, NULL, 0, &in, 1, &b);
	if (r == 0)
		r = xensim_vq_kick(q);
	if (r >= 0)
		r = xensim_vq_wait(q, GTMO);
	if (r == 0)
		r = xensim_vq_get_buf(q, &token, &got);
	if (r == 1)
		r = got == len && ((uint8_t *)b.host)[len - 1] == PATTERN ? 0 : -EIO;
	xensim_gbuf_free(g, &b);
	return r;
}

static int guest_grant(struct world *w)
{
	xensim_vdev *vd;
	int r = xensim_vdev_probe(&vd, w->g, 0, BASE, IRQ), r2;

	if (r)
		return r;
	r = xensim_vdev_init(vd, 0, 1, QSIZE);
	if (!r)
		r = grant_request(w->g, xensim_vdev_vq(vd, 0), 64); /* grant copy */
	if (!r)
		r = grant_request(w->g, xensim_vdev_vq(vd, 0), 8192); /* grant map */
	/* After a failure the backend may not answer at all (a server it had to give up): do
	 * not wait a full timeout for each access of the driver's teardown. */
	if (r)
		xensim_guest_set_timeout(w->g, 10);
	r2 = xensim_vdev_free(vd);
	return r ? r : r2;
}

/* Foreign mode: ring and buffers at guest-physical addresses, registers by hand. */
static int mmio_wr(struct world *w, uint64_t off, uint32_t v)
{
	return xensim_mmio_write(w->g, 0, BASE + off, 4, v);
}

static int foreign_request(struct world *w, uint8_t *ring, uint64_t buf, uint8_t *host,
			   uint32_t len, uint16_t idx)
{
	uint16_t *avail = (uint16_t *)(ring + 16 * QSIZE), *used = (uint16_t *)(ring + 4096);
	uint64_t a = htole64(buf);
	uint32_t l = htole32(len);
	uint16_t f = htole16(XENSIM_VRING_DESC_F_WRITE);
	int r;

	memcpy(ring, &a, 8);
	memcpy(ring + 8, &l, 4);
	memcpy(ring + 12, &f, 2);
	avail[2 + idx % QSIZE] = 0;
	__atomic_store_n(&avail[1], htole16((uint16_t)(idx + 1)), __ATOMIC_RELEASE);
	r = mmio_wr(w, VXEN_MMIO_QUEUE_NOTIFY, 0);
	for (int t = 0; r == 0 && t < GTMO; t++) {
		if (le16toh(__atomic_load_n(&used[1], __ATOMIC_ACQUIRE)) == idx + 1)
			return host[len - 1] == PATTERN ? 0 : -EIO;
		usleep(1000);
	}
	return r ? r : -ETIMEDOUT;
}

static int guest_foreign(struct world *w)
{
	uint64_t ring, buf;
	uint8_t *rp, *bp;
	int r;

	if (xensim_guest_alloc_pages(w->g, 2, &ring) || xensim_guest_alloc_pages(w->g, 2, &buf))
		return -ENOMEM;
	rp = xensim_guest_ptr(w->g, ring, 8192);
	bp = xensim_guest_ptr(w->g, buf, 8192);
	memset(rp, 0, 8192);
	r = mmio_wr(w, VXEN_MMIO_STATUS, 0);
	static const uint32_t seq[][2] = {
		{ VXEN_MMIO_STATUS, 1 },
		{ VXEN_MMIO_STATUS, 3 },
		{ VXEN_MMIO_DRIVER_FEATURES_SEL, 1 },
		{ VXEN_MMIO_DRIVER_FEATURES, 1 },
		{ VXEN_MMIO_STATUS, 0xb },
		{ VXEN_MMIO_QUEUE_SEL, 0 },
		{ VXEN_MMIO_QUEUE_NUM, QSIZE },
	};
	for (unsigned int i = 0; !r && i < sizeof(seq) / sizeof(seq[0]); i++)
		r = mmio_wr(w, seq[i][0], seq[i][1]);
	if (!r)
		r = mmio_wr(w, VXEN_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	if (!r)
		r = mmio_wr(w, VXEN_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(ring + 16 * QSIZE));
	if (!r)
		r = mmio_wr(w, VXEN_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(ring + 4096));
	if (!r)
		r = mmio_wr(w, VXEN_MMIO_QUEUE_READY, 1);
	if (!r)
		r = mmio_wr(w, VXEN_MMIO_STATUS, 0xf);
	if (!r)
		r = foreign_request(w, rp, buf, bp, 64, 0);
	if (!r)
		r = foreign_request(w, rp, buf + 100, bp + 100, 6000, 1);
	if (r)
		xensim_guest_set_timeout(w->g, 10); /* as in guest_grant() */
	if (mmio_wr(w, VXEN_MMIO_STATUS, 0) && !r)
		r = -EIO;
	xensim_guest_free_pages(w->g, ring, 2);
	xensim_guest_free_pages(w->g, buf, 2);
	return r;
}

/* ---- the world ---- */

static void world_up(struct world *w, enum fs_scenario s)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->fds = hw_count_fds();
	dc.vcpus = 2;
	ck_assert_int_eq(xensim_server_start(&w->srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w->x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(w->x, &dc, &w->domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&w->g, w->x, w->domid), 0);
	xensim_guest_set_timeout(w->g, GTMO);
	ck_assert_int_eq(testloop_start(&w->loop), 0);
	if (s == FS_XENSTORE) {
		struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;
		struct xensim_counters c;

		d.kind = XENSIM_VIRTIO_GENERIC;
		d.frontend_domid = w->domid;
		d.virtio_id = 4;
		d.base = BASE;
		d.irq = IRQ;
		ck_assert_int_eq(xensim_xl_add_virtio(w->x, &d), 0);
		ck_assert_int_eq(xensim_counters_get(w->x, XENSIM_DOMID_ALL, &c), 0);
		w->watches = c.xs_watches_live;
	}
}

static void assert_nothing_live(struct world *w, const char *what)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(w->x, w->domid, &c), 0);
	ck_assert_msg(
		!c.gnt_live_pages && !c.evtchn_live_ports && !c.ioreq_servers_live &&
			!c.fmem_live_pages && !c.fmem_resource_maps_live,
		"%s: leaked: %llu grant pages, %llu ports, %llu servers, %llu foreign pages, "
		"%llu resource maps",
		what, (unsigned long long)c.gnt_live_pages, (unsigned long long)c.evtchn_live_ports,
		(unsigned long long)c.ioreq_servers_live, (unsigned long long)c.fmem_live_pages,
		(unsigned long long)c.fmem_resource_maps_live);
	if (w->s == FS_XENSTORE) {
		ck_assert_int_eq(xensim_counters_get(w->x, XENSIM_DOMID_ALL, &c), 0);
		ck_assert_msg(c.xs_watches_live == w->watches, "%s: %llu xenstore watches leaked",
			      what, (unsigned long long)(c.xs_watches_live - w->watches));
	}
}

static void world_down(struct world *w, const char *what)
{
	testloop_stop(w->loop);
	ck_assert_int_eq(xensim_fault_clear(w->x), 0);
	assert_nothing_live(w, what);
	xensim_guest_detach(w->g);
	xensim_close(w->x);
	xensim_server_stop(w->srv);
	ck_assert_msg(hw_count_fds() == w->fds, "%s: %d fds leaked", what, hw_count_fds() - w->fds);
}

static void wait_backend_device(struct world *w)
{
	struct call c = { .w = w };

	/* One fault costs at most one retry back-off (50 ms): 500 ms is plenty. */
	for (int t = 0; t < 500; t++) {
		testloop_call(w->loop, do_be_devices, &c);
		if (c.r == 1)
			return;
		usleep(1000);
	}
}

/* The scenario, with an optional fault armed right before the backend starts. */
static struct result run(enum fs_scenario s, enum xensim_op op, unsigned int nth, int err,
			 const char *what)
{
	struct result res = { 0 };
	unsigned long before;
	struct call c;
	struct world w;

	world_up(&w, s);
	before = fs_calls(op);
	c.w = &w;
	if (nth)
		ck_assert_int_eq(xensim_fault_inject(w.x, op, nth, err), 0);
	testloop_call(w.loop, s == FS_XENSTORE ? do_be_new : do_dev_create, &c);
	res.create_err = c.r;
	if (!c.r) {
		if (s == FS_XENSTORE)
			wait_backend_device(&w);
		res.guest_err = s == FS_FOREIGN ? guest_foreign(&w) : guest_grant(&w);
	}
	if (w.dev)
		testloop_call(w.loop, do_dev_free, &w);
	if (w.be)
		testloop_call(w.loop, do_be_free, &w);
	res.calls = fs_calls(op) - before;
	world_down(&w, what);
	return res;
}

/* ------------------------------------------------------------------------------------------ */
/* The sweep                                                                                   */

static const char *const op_names[XENSIM_OP_COUNT] = {
	[XENSIM_OP_GNT_MAP] = "gnttab map",
	[XENSIM_OP_GNT_UNMAP] = "gnttab unmap",
	[XENSIM_OP_GNT_COPY] = "gnttab copy",
	[XENSIM_OP_EVTCHN_BIND_INTERDOMAIN] = "evtchn bind_interdomain",
	[XENSIM_OP_EVTCHN_NOTIFY] = "evtchn notify",
	[XENSIM_OP_DM_NR_VCPUS] = "dm nr_vcpus",
	[XENSIM_OP_DM_CREATE_IOREQ_SERVER] = "dm create_ioreq_server",
	[XENSIM_OP_DM_GET_IOREQ_SERVER_INFO] = "dm get_ioreq_server_info",
	[XENSIM_OP_DM_SET_IOREQ_SERVER_STATE] = "dm set_ioreq_server_state",
	[XENSIM_OP_DM_MAP_IO_RANGE] = "dm map_io_range",
	[XENSIM_OP_DM_UNMAP_IO_RANGE] = "dm unmap_io_range",
	[XENSIM_OP_DM_DESTROY_IOREQ_SERVER] = "dm destroy_ioreq_server",
	[XENSIM_OP_DM_SET_IRQ_LEVEL] = "dm set_irq_level",
	[XENSIM_OP_FMEM_MAP] = "foreignmemory map",
	[XENSIM_OP_FMEM_MAP_RESOURCE] = "foreignmemory map_resource",
	[XENSIM_OP_XS_READ] = "xs read",
	[XENSIM_OP_XS_WRITE] = "xs write",
	[XENSIM_OP_XS_DIRECTORY] = "xs directory",
	[XENSIM_OP_XS_WATCH] = "xs watch",
	[XENSIM_OP_XS_TRANSACTION_START] = "xs transaction_start",
	[XENSIM_OP_XS_TRANSACTION_END] = "xs transaction_end",
};

void fs_sweep(enum fs_scenario s, enum xensim_op op, const int *errs, unsigned int nerr)
{
	struct result r;
	char what[160];

	vxen_log_set_handler(quiet, LOG_DEBUG, NULL); /* format every message: catches bad args */
	snprintf(what, sizeof(what), "%s, no fault", op_names[op]);
	r = run(s, op, 0, 0, what);
	ck_assert_msg(r.create_err == 0 && r.guest_err == 0, "%s: creation %d, guest %d", what,
		      r.create_err, r.guest_err);
	ck_assert_msg(r.calls > 0, "%s: the scenario never calls it", op_names[op]);
	for (unsigned int e = 0; e < nerr; e++) {
		/* N = 1, 2, ... until a run makes fewer than N calls: the operation completed
		 * without meeting the fault. */
		for (unsigned long n = 1; n < 4096; n++) {
			snprintf(what, sizeof(what), "%s fails with %s at call %lu", op_names[op],
				 strerror(errs[e]), n);
			r = run(s, op, (unsigned int)n, errs[e], what);
			if (getenv("FS_VERBOSE"))
				fprintf(stderr, "%s: %lu calls, creation %d, guest %d\n", what,
					r.calls, r.create_err, r.guest_err);
			/* A failed creation reports exactly the injected error. */
			ck_assert_msg(r.create_err == 0 || r.create_err == -errs[e],
				      "%s: creation failed with %d", what, r.create_err);
			if (r.calls >= n)
				continue;
			ck_assert_msg(r.create_err == 0 && r.guest_err == 0,
				      "%s: the fault never fired, yet creation %d, guest %d", what,
				      r.create_err, r.guest_err);
			break;
		}
	}
	vxen_log_set_handler(NULL, 0, NULL);
}
