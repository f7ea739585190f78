/* SPDX-License-Identifier: MIT */
/*
 * xensim_test_backend — a tiny backend built against the REAL libxen (pkg-config), used by
 * tests/sim/test_xensim_process.c as a separate process running on xensim's drop-ins via
 * LD_LIBRARY_PATH. It does what a virtio-mmio backend does, nothing more:
 *
 *   xensim_test_backend DOMID BASE SPI GREF
 *
 * - creates an ioreq server for [BASE, BASE+0xfff] and binds every vCPU's event channel;
 * - maps grant GREF of DOMID read-only and keeps its first 8 bytes;
 * - prints "ready <path of the libxengnttab it runs on>" and serves accesses:
 *   a read of BASE returns those 8 bytes and then raises SPI; a write to BASE+4 ends it;
 * - tears everything down in the documented order and exits 0 (1 on any error).
 */
#define __XEN_TOOLS__ 1

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#define MAX_VCPUS 16

struct be {
	uint32_t domid, spi;
	uint64_t base, value;
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenevtchn_handle *xe;
	xengnttab_handle *gt;
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page;
	ioservid_t id;
	unsigned int nvcpus;
	evtchn_port_t ports[MAX_VCPUS];
};

#define CHECK(cond, what)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "xensim_test_backend: %s: %s\n", what, strerror(errno));   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static void setup(struct be *b)
{
	void *addr = NULL;
	unsigned int i;

	CHECK(xendevicemodel_nr_vcpus(b->dm, b->domid, &b->nvcpus) == 0, "nr_vcpus");
	CHECK(b->nvcpus <= MAX_VCPUS, "too many vcpus");
	CHECK(xendevicemodel_create_ioreq_server(b->dm, b->domid, HVM_IOREQSRV_BUFIOREQ_OFF,
						 &b->id) == 0,
	      "create_ioreq_server");
	b->res = xenforeignmemory_map_resource(b->fm, b->domid, XENMEM_resource_ioreq_server, b->id,
					       XENMEM_resource_ioreq_server_frame_ioreq(0), 1,
					       &addr, PROT_READ | PROT_WRITE, 0);
	CHECK(b->res, "map_resource");
	b->page = addr;
	CHECK(xendevicemodel_set_ioreq_server_state(b->dm, b->domid, b->id, 1) == 0, "set_state");
	for (i = 0; i < b->nvcpus; i++) {
		int port = xenevtchn_bind_interdomain(b->xe, b->domid,
						      b->page->vcpu_ioreq[i].vp_eport);

		CHECK(port >= 0, "bind_interdomain");
		b->ports[i] = (evtchn_port_t)port;
	}
	CHECK(xendevicemodel_map_io_range_to_ioreq_server(b->dm, b->domid, b->id, 1, b->base,
							  b->base + 0xfff) == 0,
	      "map_io_range");
}

static void teardown(struct be *b)
{
	unsigned int i;

	CHECK(xendevicemodel_unmap_io_range_from_ioreq_server(b->dm, b->domid, b->id, 1, b->base,
							      b->base + 0xfff) == 0,
	      "unmap_io_range");
	for (i = 0; i < b->nvcpus; i++)
		CHECK(xenevtchn_unbind(b->xe, b->ports[i]) == 0, "unbind");
	CHECK(xendevicemodel_set_ioreq_server_state(b->dm, b->domid, b->id, 0) == 0, "state 0");
	CHECK(xenforeignmemory_unmap_resource(b->fm, b->res) == 0, "unmap_resource");
	CHECK(xendevicemodel_destroy_ioreq_server(b->dm, b->domid, b->id) == 0, "destroy");
}

/* Serve one pending event; returns 1 when told to stop. */
static int serve(struct be *b)
{
	int port = xenevtchn_pending(b->xe), stop = 0, raise = 0;
	unsigned int v;
	ioreq_t *slot;

	CHECK(port >= 0, "pending");
	CHECK(xenevtchn_unmask(b->xe, (evtchn_port_t)port) == 0, "unmask");
	for (v = 0; v < b->nvcpus && b->ports[v] != (evtchn_port_t)port; v++)
		;
	if (v == b->nvcpus)
		return 0;
	slot = &b->page->vcpu_ioreq[v];
	if (slot->state != STATE_IOREQ_READY)
		return 0;			 /* spurious */
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* pairs with Xen's wmb before READY */
	slot->state = STATE_IOREQ_INPROCESS;
	if (slot->type == IOREQ_TYPE_COPY && slot->dir == IOREQ_READ && slot->addr == b->base) {
		slot->data = b->value;
		raise = 1;
	} else if (slot->type == IOREQ_TYPE_COPY && slot->dir == IOREQ_WRITE &&
		   slot->addr == b->base + 4) {
		stop = 1;
	} else if (slot->dir == IOREQ_READ) {
		slot->data = 0;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE); /* pairs with Xen's rmb after IORESP_READY */
	slot->state = STATE_IORESP_READY;
	CHECK(xenevtchn_notify(b->xe, (evtchn_port_t)port) == 0, "notify");
	if (raise)
		CHECK(xendevicemodel_set_irq_level(b->dm, b->domid, b->spi, 1) == 0, "irq");
	return stop;
}

int main(int argc, char **argv)
{
	struct be b = { 0 };
	uint32_t gref;
	uint8_t *page;
	Dl_info info;

	if (argc != 5) {
		fprintf(stderr, "usage: xensim_test_backend DOMID BASE SPI GREF\n");
		return 2;
	}
	b.domid = (uint32_t)strtoul(argv[1], NULL, 0);
	b.base = strtoull(argv[2], NULL, 0);
	b.spi = (uint32_t)strtoul(argv[3], NULL, 0);
	gref = (uint32_t)strtoul(argv[4], NULL, 0);
	b.dm = xendevicemodel_open(NULL, 0);
	b.fm = xenforeignmemory_open(NULL, 0);
	b.xe = xenevtchn_open(NULL, 0);
	b.gt = xengnttab_open(NULL, 0);
	CHECK(b.dm && b.fm && b.xe && b.gt, "open");
	setup(&b);
	page = xengnttab_map_grant_ref(b.gt, b.domid, gref, PROT_READ);
	CHECK(page, "map_grant_ref");
	memcpy(&b.value, page, sizeof(b.value));
	CHECK(xengnttab_unmap(b.gt, page, 1) == 0, "unmap");
	CHECK(dladdr((void *)xengnttab_open, &info) && info.dli_fname, "dladdr");
	printf("ready %s\n", info.dli_fname);
	fflush(stdout);
	while (!serve(&b))
		;
	teardown(&b);
	xengnttab_close(b.gt);
	xenevtchn_close(b.xe);
	xenforeignmemory_close(b.fm);
	xendevicemodel_close(b.dm);
	return 0;
}
