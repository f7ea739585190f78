/* SPDX-License-Identifier: MIT */
/*
 * lib/ioreq_server.h — the ioreq server object, shared by lib/ioreq.c (life cycle, ranges,
 * interrupts) and lib/ioreq_dispatch.c (request handling). Not installed.
 */
#ifndef VXEN_IOREQ_SERVER_H
#define VXEN_IOREQ_SERVER_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>

#include <virtio-xen/ioreq.h>

#include "internal.h"

/* Indices into vxen_ioreq_server.stats, in the order of struct vxen_ioreq_stats. */
enum ioreq_stat {
	ST_REQUESTS,
	ST_MMIO_READS,
	ST_MMIO_WRITES,
	ST_INVALIDATES,
	ST_OTHER_TYPES,
	ST_REJECTED,
	ST_UNCLAIMED,
	ST_CALLBACK_ERRORS,
	ST_SPURIOUS,
	ST_IRQS,
	ST_IRQ_ERRORS,
	ST_COUNT
};

struct vxen_ioreq_range {
	vxen_ioreq_server *srv;
	uint64_t base;
	uint64_t last; /* inclusive, as Xen's range ops take it */
	struct vxen_ioreq_range_ops ops;
	void *payload;
	struct vxen_ioreq_range *next; /* sorted by base */
};

/* Local event-channel port -> vCPU, kept sorted by port for bsearch. */
struct ioreq_port {
	evtchn_port_t port;
	unsigned int vcpu;
};

struct vxen_ioreq_server {
	uint32_t domid;
	unsigned int nr_vcpus;

	xendevicemodel_handle *dm;
	xendevicemodel_handle *dm_irq; /* interrupts only: used from any thread */
	xenforeignmemory_handle *fm;
	xenevtchn_handle *xe;
	int fd;

	/* Set-up progress, so one teardown routine undoes exactly what was done. */
	bool created;
	bool enabled;
	ioservid_t id;
	xenforeignmemory_resource_handle *fres;
	shared_iopage_t *page;
	struct ioreq_port *ports; /* nr_bound entries, sorted by port */
	evtchn_port_t *vcpu_port; /* local port per vCPU, valid for bound vCPUs */
	unsigned int nr_bound;

	struct vxen_ioreq_range *ranges;
	_Atomic bool dead; /* some call saw the guest gone: process returns -ESRCH */

	struct vxen_ratelimit rl; /* guest-caused messages of the processing thread */
	pthread_mutex_t irq_rl_lock;
	struct vxen_ratelimit irq_rl;

	_Atomic uint64_t stats[ST_COUNT];
};

/* vCPU @vcpu's slot in the shared page (shared_iopage_t declares a one-element array). */
static inline struct ioreq *ioreq_slot(vxen_ioreq_server *srv, unsigned int vcpu)
{
	return (struct ioreq *)srv->page + vcpu;
}

/* Bump a counter written by the processing thread only (no locked instruction needed). */
static inline void ioreq_stat_inc(vxen_ioreq_server *srv, enum ioreq_stat s)
{
	uint64_t v = atomic_load_explicit(&srv->stats[s], memory_order_relaxed);

	atomic_store_explicit(&srv->stats[s], v + 1, memory_order_relaxed);
}

/* Bump a counter that several threads write (interrupt injection). */
static inline void ioreq_stat_inc_mt(vxen_ioreq_server *srv, enum ioreq_stat s)
{
	atomic_fetch_add_explicit(&srv->stats[s], 1, memory_order_relaxed);
}

/* The range covering [addr, addr + size), or NULL. */
struct vxen_ioreq_range *vxen_ioreq_find_range(vxen_ioreq_server *srv, uint64_t addr,
					       uint32_t size);

/* True for the errno values Xen and the kernel report once the guest domain is gone. */
static inline bool ioreq_errno_is_gone(int err)
{
	return err == ESRCH || err == ENOENT;
}

#endif /* VXEN_IOREQ_SERVER_H */
