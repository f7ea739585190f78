/* SPDX-License-Identifier: MIT */
/*
 * L4 ioreq server: life cycle (the six set-up steps every working backend does, undone in
 * reverse), MMIO ranges and interrupt injection. Request handling is in ioreq_dispatch.c.
 */
/* HVM_IOREQSRV_BUFIOREQ_OFF and the resource ids are tools-only interfaces. */
#define __XEN_TOOLS__ 1

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>

#include "ioreq_priv.h"
#include "ioreq_server.h"

/* One page of 32-byte slots: the most vCPUs a single synchronous ioreq page can serve. */
#define IOREQ_MAX_VCPUS (4096u / sizeof(struct ioreq))

/* Xen calls report -1 with errno set; convert once, never returning 0 for a failure. */
static int xen_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Log a teardown failure: expected (debug) when the guest is already gone, a warning otherwise. */
static void log_teardown(vxen_ioreq_server *srv, const char *what, int err)
{
	int level = ioreq_errno_is_gone(-err) || srv->dead ? LOG_DEBUG : LOG_WARNING;

	vxen_log(level, "ioreq: dom%u: %s failed during teardown: %s", srv->domid, what,
		 strerror(-err));
}

static void unmap_range_in_xen(vxen_ioreq_range *r)
{
	vxen_ioreq_server *srv = r->srv;

	if (xendevicemodel_unmap_io_range_from_ioreq_server(srv->dm, srv->domid, srv->id, 1,
							    r->base, r->last))
		log_teardown(srv, "unmap_io_range", xen_err());
}

static void unbind_ports(vxen_ioreq_server *srv)
{
	for (unsigned int i = 0; i < srv->nr_bound; i++)
		if (xenevtchn_unbind(srv->xe, srv->ports[i].port))
			log_teardown(srv, "evtchn unbind", xen_err());
	srv->nr_bound = 0;
}

/* Undo whatever set-up reached, in reverse order. Used by both a failed new() and free(). */
static void teardown(vxen_ioreq_server *srv)
{
	while (srv->ranges) {
		vxen_ioreq_range *r = srv->ranges;

		srv->ranges = r->next;
		unmap_range_in_xen(r);
		free(r);
	}
	unbind_ports(srv);
	if (srv->enabled && xendevicemodel_set_ioreq_server_state(srv->dm, srv->domid, srv->id, 0))
		log_teardown(srv, "set_ioreq_server_state(0)", xen_err());
	srv->enabled = false;
	if (srv->fres && xenforeignmemory_unmap_resource(srv->fm, srv->fres))
		log_teardown(srv, "unmap_resource", xen_err());
	srv->fres = NULL;
	srv->page = NULL;
	if (srv->created && xendevicemodel_destroy_ioreq_server(srv->dm, srv->domid, srv->id))
		log_teardown(srv, "destroy_ioreq_server", xen_err());
	srv->created = false;
}

static void close_handles(vxen_ioreq_server *srv)
{
	if (srv->xe)
		xenevtchn_close(srv->xe);
	if (srv->fm)
		xenforeignmemory_close(srv->fm);
	if (srv->dm_irq)
		xendevicemodel_close(srv->dm_irq);
	if (srv->dm)
		xendevicemodel_close(srv->dm);
	pthread_mutex_destroy(&srv->irq_rl_lock);
	free(srv->ports);
	free(srv->vcpu_port);
	free(srv);
}

static int open_handles(vxen_ioreq_server *srv)
{
	srv->dm = xendevicemodel_open(NULL, 0);
	if (!srv->dm)
		return xen_err();
	srv->dm_irq = xendevicemodel_open(NULL, 0);
	if (!srv->dm_irq)
		return xen_err();
	srv->fm = xenforeignmemory_open(NULL, 0);
	if (!srv->fm)
		return xen_err();
	srv->xe = xenevtchn_open(NULL, 0);
	if (!srv->xe)
		return xen_err();
	srv->fd = xenevtchn_fd(srv->xe);
	return srv->fd < 0 ? xen_err() : 0;
}

/* Steps 1 and 2: how many slots the page has; create the server, synchronous ioreqs only. */
static int create_server(vxen_ioreq_server *srv)
{
	unsigned int n = 0;

	if (xendevicemodel_nr_vcpus(srv->dm, srv->domid, &n))
		return xen_err();
	if (n == 0 || n > IOREQ_MAX_VCPUS) {
		vxen_log(LOG_ERR, "ioreq: dom%u: %u vCPUs, one ioreq page serves 1-%zu", srv->domid,
			 n, IOREQ_MAX_VCPUS);
		return -EINVAL;
	}
	srv->nr_vcpus = n;
	srv->ports = calloc(n, sizeof(*srv->ports));
	srv->vcpu_port = calloc(n, sizeof(*srv->vcpu_port));
	if (!srv->ports || !srv->vcpu_port)
		return -ENOMEM;
	/* Buffered ioreqs exist only on x86 and carry writes we could not validate per vCPU. */
	if (xendevicemodel_create_ioreq_server(srv->dm, srv->domid, HVM_IOREQSRV_BUFIOREQ_OFF,
					       &srv->id))
		return xen_err();
	srv->created = true;
	return 0;
}

/* Step 3: map the synchronous ioreq page (frame 0 of the resource is the bufioreq page). */
static int map_page(vxen_ioreq_server *srv)
{
	void *addr = NULL;

	srv->fres = xenforeignmemory_map_resource(
		srv->fm, srv->domid, XENMEM_resource_ioreq_server, srv->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr, PROT_READ | PROT_WRITE, 0);
	if (!srv->fres)
		return xen_err();
	srv->page = addr;
	return 0;
}

/* Step 4: enable. Xen fills in each slot's vp_eport only once the server is enabled. */
static int enable_server(vxen_ioreq_server *srv)
{
	if (xendevicemodel_set_ioreq_server_state(srv->dm, srv->domid, srv->id, 1))
		return xen_err();
	srv->enabled = true;
	return 0;
}

static int cmp_port(const void *a, const void *b)
{
	const struct ioreq_port *pa = a, *pb = b;

	return pa->port < pb->port ? -1 : pa->port > pb->port;
}

/* Step 5: one interdomain channel per vCPU, bound to the port Xen put in that vCPU's slot. */
static int bind_ports(vxen_ioreq_server *srv)
{
	for (unsigned int i = 0; i < srv->nr_vcpus; i++) {
		/* Written by Xen when the server was enabled; read it once. */
		evtchn_port_t remote =
			__atomic_load_n(&ioreq_slot(srv, i)->vp_eport, __ATOMIC_RELAXED);
		xenevtchn_port_or_error_t p =
			xenevtchn_bind_interdomain(srv->xe, srv->domid, remote);

		if (p < 0)
			return xen_err();
		srv->ports[srv->nr_bound].port = (evtchn_port_t)p;
		srv->ports[srv->nr_bound].vcpu = i;
		srv->nr_bound++;
		srv->vcpu_port[i] = (evtchn_port_t)p;
	}
	qsort(srv->ports, srv->nr_bound, sizeof(*srv->ports), cmp_port);
	return 0;
}

static int setup(vxen_ioreq_server *srv)
{
	static const struct {
		const char *name;
		int (*fn)(vxen_ioreq_server *srv);
	} steps[] = {
		{ "open Xen handles", open_handles },  { "create ioreq server", create_server },
		{ "map ioreq page", map_page },	       { "enable ioreq server", enable_server },
		{ "bind event channels", bind_ports },
	};

	for (size_t i = 0; i < VXEN_ARRAY_SIZE(steps); i++) {
		int r = steps[i].fn(srv);

		if (r) {
			vxen_log(LOG_ERR, "ioreq: dom%u: %s: %s", srv->domid, steps[i].name,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

VXEN_EXPORT int vxen_ioreq_server_new(vxen_ioreq_server **out, uint32_t domid,
				      const struct vxen_ioreq_server_config *cfg)
{
	vxen_ioreq_server *srv;
	int r;

	if (!out || domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	if (cfg && (cfg->version < 1 || cfg->flags))
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->domid = domid;
	srv->fd = -1;
	pthread_mutex_init(&srv->irq_rl_lock, NULL);
	r = setup(srv);
	if (r) {
		teardown(srv);
		close_handles(srv);
		return r;
	}
	*out = srv;
	return 0;
}

VXEN_EXPORT void vxen_ioreq_server_free(vxen_ioreq_server *srv)
{
	if (!srv)
		return;
	teardown(srv);
	close_handles(srv);
}

VXEN_EXPORT uint32_t vxen_ioreq_server_domid(const vxen_ioreq_server *srv)
{
	return srv->domid;
}

VXEN_EXPORT unsigned int vxen_ioreq_server_nr_vcpus(const vxen_ioreq_server *srv)
{
	return srv->nr_vcpus;
}

VXEN_EXPORT int vxen_ioreq_fd(const vxen_ioreq_server *srv)
{
	return srv->fd;
}

VXEN_EXPORT int vxen_ioreq_server_check(vxen_ioreq_server *srv)
{
	int r;

	if (!srv)
		return -EINVAL;
	if (atomic_load(&srv->dead))
		return -ESRCH;
	/*
	 * Not nr_vcpus: Xen finds a dying domain by id for as long as mappings pin it. Its ioreq
	 * servers are destroyed when it is killed, so this one answers ENOENT from then on. NULL
	 * frame pointers make the library pass XEN_DMOP_no_gfns: nothing gets mapped.
	 */
	if (!xendevicemodel_get_ioreq_server_info(srv->dm, srv->domid, srv->id, NULL, NULL, NULL))
		return 0;
	r = xen_err();
	if (!ioreq_errno_is_gone(-r))
		return r;
	atomic_store(&srv->dead, true);
	vxen_log(LOG_DEBUG, "ioreq: dom%u: server check: guest gone (%s)", srv->domid,
		 strerror(-r));
	return -ESRCH;
}

/* ---- ranges ---------------------------------------------------------------------------- */

struct vxen_ioreq_range *vxen_ioreq_find_range(vxen_ioreq_server *srv, uint64_t addr, uint32_t size)
{
	/* A guest has a handful of devices: a sorted list beats anything cleverer. */
	for (vxen_ioreq_range *r = srv->ranges; r && r->base <= addr; r = r->next)
		if (vxen_ioreq_access_within(addr, size, r->base, r->last))
			return r;
	return NULL;
}

/* Where a new range [base, last] goes in the sorted list, or NULL if it overlaps one. */
static vxen_ioreq_range **insert_point(vxen_ioreq_server *srv, uint64_t base, uint64_t last)
{
	vxen_ioreq_range **pp = &srv->ranges;

	for (; *pp && (*pp)->base <= last; pp = &(*pp)->next)
		if ((*pp)->last >= base)
			return NULL;
	return pp;
}

VXEN_EXPORT int vxen_ioreq_add_mmio(vxen_ioreq_server *srv, uint64_t base, uint64_t size,
				    const struct vxen_ioreq_range_ops *ops, void *payload,
				    vxen_ioreq_range **out)
{
	vxen_ioreq_range **pp, *r;
	uint64_t last = base + size - 1;

	if (!srv || !ops || ops->version < 1 || size == 0 || last < base)
		return -EINVAL;
	pp = insert_point(srv, base, last);
	if (!pp)
		return -EEXIST;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (vxen_ioreq_range){ .srv = srv, .base = base, .last = last, .payload = payload };
	r->ops.version = VXEN_IOREQ_RANGE_OPS_VERSION;
	r->ops.read = ops->read;
	r->ops.write = ops->write;
	if (xendevicemodel_map_io_range_to_ioreq_server(srv->dm, srv->domid, srv->id, 1, base,
							last)) {
		int err = xen_err();

		vxen_log(LOG_ERR, "ioreq: dom%u: map MMIO 0x%" PRIx64 "-0x%" PRIx64 ": %s",
			 srv->domid, base, last, strerror(-err));
		free(r);
		return err;
	}
	r->next = *pp;
	*pp = r;
	if (out)
		*out = r;
	return 0;
}

VXEN_EXPORT void vxen_ioreq_remove(vxen_ioreq_range *range)
{
	vxen_ioreq_server *srv;

	if (!range)
		return;
	srv = range->srv;
	for (vxen_ioreq_range **pp = &srv->ranges; *pp; pp = &(*pp)->next) {
		if (*pp == range) {
			*pp = range->next;
			break;
		}
	}
	unmap_range_in_xen(range);
	free(range);
}

/* ---- interrupts ------------------------------------------------------------------------ */

static int raise_one(vxen_ioreq_server *srv, const struct vxen_irq *irq)
{
	xendevicemodel_handle *dm = srv->dm_irq;

	switch (irq->kind) {
	case VXEN_IRQ_SPI:
		/* Edge-rising SPI (libxl's virtio-mmio lines): raising injects; no lowering. */
		return xendevicemodel_set_irq_level(dm, srv->domid, irq->line, 1) ? xen_err() : 0;
	case VXEN_IRQ_ISA:
		if (xendevicemodel_set_isa_irq_level(dm, srv->domid, (uint8_t)irq->line, 1))
			return xen_err();
		/* A pulse: leave the line low so the next raise is a new edge. */
		return xendevicemodel_set_isa_irq_level(dm, srv->domid, (uint8_t)irq->line, 0)
			       ? xen_err()
			       : 0;
	case VXEN_IRQ_MSI:
		return xendevicemodel_inject_msi(dm, srv->domid, irq->msi_addr, irq->msi_data)
			       ? xen_err()
			       : 0;
	default:
		return -EINVAL;
	}
}

VXEN_EXPORT int vxen_ioreq_irq_raise(vxen_ioreq_server *srv, const struct vxen_irq *irq)
{
	int r;

	if (!srv || !irq)
		return -EINVAL;
	if (irq->kind == VXEN_IRQ_NONE)
		return 0;
	if (irq->kind == VXEN_IRQ_ISA && irq->line > 15)
		return -EINVAL;
	/* A dead guest stays dead: spare workers completing late requests a hypercall each. */
	r = atomic_load_explicit(&srv->dead, memory_order_relaxed) ? -ESRCH : raise_one(srv, irq);
	if (!r) {
		ioreq_stat_inc_mt(srv, ST_IRQS);
		return 0;
	}
	ioreq_stat_inc_mt(srv, ST_IRQ_ERRORS);
	if (ioreq_errno_is_gone(-r)) {
		/* Tell the processing thread too: nothing of this guest will work again. */
		atomic_store(&srv->dead, true);
		r = -ESRCH;
	}
	pthread_mutex_lock(&srv->irq_rl_lock);
	vxen_log_guest(&srv->irq_rl, r == -ESRCH ? LOG_DEBUG : LOG_WARNING,
		       "ioreq: dom%u: interrupt kind %d line %u: %s", srv->domid, (int)irq->kind,
		       irq->line, strerror(-r));
	pthread_mutex_unlock(&srv->irq_rl_lock);
	return r;
}

VXEN_EXPORT void vxen_ioreq_server_stats(const vxen_ioreq_server *srv, struct vxen_ioreq_stats *out)
{
	uint64_t v[ST_COUNT];

	for (int i = 0; i < ST_COUNT; i++)
		v[i] = atomic_load_explicit(&srv->stats[i], memory_order_relaxed);
	*out = (struct vxen_ioreq_stats){
		.requests = v[ST_REQUESTS],
		.mmio_reads = v[ST_MMIO_READS],
		.mmio_writes = v[ST_MMIO_WRITES],
		.invalidates = v[ST_INVALIDATES],
		.other_types = v[ST_OTHER_TYPES],
		.rejected = v[ST_REJECTED],
		.unclaimed = v[ST_UNCLAIMED],
		.callback_errors = v[ST_CALLBACK_ERRORS],
		.spurious = v[ST_SPURIOUS],
		.irqs = v[ST_IRQS],
		.irq_errors = v[ST_IRQ_ERRORS],
	};
}
