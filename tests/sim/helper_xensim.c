/* SPDX-License-Identifier: MIT */
/*
 * helper_xensim.c — see helper_xensim.h.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "helper_xensim.h"

#include <xen/hvm/dm_op.h>
#include <xen/memory.h>

void xt_machine_start(struct xt_machine *m, unsigned int vcpus)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;

	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(xensim_server_start(&m->srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&m->x, NULL), 0);
	cfg.name = "guest";
	cfg.vcpus = vcpus;
	ck_assert_int_eq(xensim_domain_create(m->x, &cfg, &m->domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&m->g, m->x, m->domid), 0);
}

void xt_machine_stop(struct xt_machine *m)
{
	xensim_guest_detach(m->g);
	xensim_close(m->x);
	xensim_server_stop(m->srv);
	memset(m, 0, sizeof(*m));
}

struct xensim_counters xt_counters(struct xt_machine *m, uint32_t domid)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(m->x, domid, &c), 0);
	return c;
}

static int find_vcpu(struct xt_backend *b, evtchn_port_t port)
{
	unsigned int i;

	for (i = 0; i < b->nvcpus; i++)
		if (b->ports[i] == port)
			return (int)i;
	return -1;
}

static void handle(struct xt_backend *b, ioreq_t *req)
{
	if (b->delay_ms)
		usleep(b->delay_ms * 1000);
	__atomic_store_n(&b->last_addr, req->addr, __ATOMIC_RELAXED);
	__atomic_store_n(&b->last_size, req->size, __ATOMIC_RELAXED);
	__atomic_store_n(&b->last_type, req->type, __ATOMIC_RELAXED);
	if (req->type != IOREQ_TYPE_COPY) {
		__atomic_fetch_add(&b->others, 1, __ATOMIC_RELAXED);
	} else if (req->dir == IOREQ_READ) {
		req->data = b->read_value ^ req->addr;
		__atomic_fetch_add(&b->reads, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&b->last_data, req->data, __ATOMIC_RELAXED);
		__atomic_fetch_add(&b->writes, 1, __ATOMIC_RELAXED);
	}
}

/* One pending port: the READY -> INPROCESS -> IORESP_READY handshake. */
static void serve_port(struct xt_backend *b, evtchn_port_t port)
{
	int vcpu = find_vcpu(b, port);
	ioreq_t *slot, req;

	xenevtchn_unmask(b->xe, port);
	if (vcpu < 0)
		return;
	slot = &b->page->vcpu_ioreq[vcpu];
	if (slot->state != STATE_IOREQ_READY) {
		__atomic_fetch_add(&b->spurious, 1, __ATOMIC_RELAXED);
		return;
	}
	/* Pairs with the hypervisor's write barrier before READY. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	req = *slot;
	slot->state = STATE_IOREQ_INPROCESS;
	if (b->no_answer)
		return;
	handle(b, &req);
	slot->data = req.data;
	/* Publish the data before IORESP_READY; pairs with the hypervisor's read barrier. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IORESP_READY;
	xenevtchn_notify(b->xe, port);
}

static void *backend_main(void *arg)
{
	struct xt_backend *b = arg;
	struct pollfd p[2] = { { .fd = xenevtchn_fd(b->xe), .events = POLLIN },
			       { .fd = b->stop_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int port = xenevtchn_pending(b->xe);

			if (port >= 0)
				serve_port(b, (evtchn_port_t)port);
		}
	}
	return NULL;
}

static int setup(struct xt_backend *b)
{
	void *addr = NULL;
	unsigned int i;
	int port;

	if (xendevicemodel_nr_vcpus(b->dm, (domid_t)b->domid, &b->nvcpus) < 0)
		return -errno;
	if (b->nvcpus > 16)
		return -E2BIG;
	if (xendevicemodel_create_ioreq_server(b->dm, (domid_t)b->domid, HVM_IOREQSRV_BUFIOREQ_OFF,
					       &b->id) < 0)
		return -errno;
	b->res = xenforeignmemory_map_resource(
		b->fm, (domid_t)b->domid, XENMEM_resource_ioreq_server, b->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr, PROT_READ | PROT_WRITE, 0);
	if (!b->res)
		return -errno;
	b->page = addr;
	if (xendevicemodel_set_ioreq_server_state(b->dm, (domid_t)b->domid, b->id, 1) < 0)
		return -errno;
	for (i = 0; i < b->nvcpus; i++) {
		port = xenevtchn_bind_interdomain(b->xe, b->domid, b->page->vcpu_ioreq[i].vp_eport);
		if (port < 0)
			return -errno;
		b->ports[i] = (evtchn_port_t)port;
	}
	if (xendevicemodel_map_io_range_to_ioreq_server(b->dm, (domid_t)b->domid, b->id, 1, b->base,
							b->base + b->size - 1) < 0)
		return -errno;
	return 0;
}

int xt_backend_start(struct xt_backend *b, uint32_t domid, uint64_t base, uint64_t size)
{
	int rc;

	b->domid = domid;
	b->base = base;
	b->size = size;
	b->dm = xendevicemodel_open(NULL, 0);
	b->fm = xenforeignmemory_open(NULL, 0);
	b->xe = xenevtchn_open(NULL, 0);
	b->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!b->dm || !b->fm || !b->xe || b->stop_fd < 0)
		return -errno;
	rc = setup(b);
	if (rc)
		return rc;
	return -pthread_create(&b->thread, NULL, backend_main, b);
}

void xt_backend_stop(struct xt_backend *b)
{
	uint64_t one = 1;

	if (b->thread) {
		ck_assert_int_eq(write(b->stop_fd, &one, sizeof(one)), sizeof(one));
		pthread_join(b->thread, NULL);
	}
	xenforeignmemory_unmap_resource(b->fm, b->res);
	xenevtchn_close(b->xe);
	xenforeignmemory_close(b->fm);
	xendevicemodel_close(b->dm);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	memset(b, 0, sizeof(*b));
}
