/* SPDX-License-Identifier: MIT */
/*
 * helper_xensim.h — scaffolding for tests/sim/test_xensim_*.c: a fresh machine with one guest,
 * and a minimal ioreq backend thread written against the real libxen API (as any backend
 * would be), so the tests exercise the drop-in libraries end to end.
 */
#ifndef TESTS_SIM_HELPER_XENSIM_H
#define TESTS_SIM_HELPER_XENSIM_H

/* The toolstack-only parts of the Xen headers (HVM_IOREQSRV_*), as xenctrl.h enables them. */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif

#include <pthread.h>
#include <stdint.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xen/hvm/ioreq.h>

#include "xensim.h"

struct xt_machine {
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *g;
};

/* Start a machine, connect, create a guest of @vcpus (64 MiB) and attach to it. Asserts. */
void xt_machine_start(struct xt_machine *m, unsigned int vcpus);
void xt_machine_stop(struct xt_machine *m);
/* Counters of @domid (asserts success). */
struct xensim_counters xt_counters(struct xt_machine *m, uint32_t domid);

/* What the backend thread saw and does. */
struct xt_backend {
	uint32_t domid;
	uint64_t base, size;
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenevtchn_handle *xe;
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page;
	ioservid_t id;
	unsigned int nvcpus;
	evtchn_port_t ports[16];
	pthread_t thread;
	int stop_fd;
	/* Device behaviour: reads return read_value ^ addr; writes are recorded. */
	uint64_t read_value;
	uint64_t last_addr, last_data;
	unsigned int last_size, last_type;
	unsigned int reads, writes, others, spurious; /* updated by the thread (atomics) */
	unsigned int delay_ms;			      /* sleep before answering */
	int no_answer;				      /* never answer (timeout tests) */
};

/*
 * xt_backend_start() - set up an ioreq server for [base, base+size) of @domid exactly as a
 * backend does (nr_vcpus, create, map_resource frame 1, set_state, bind vCPU ports, map range)
 * and serve it from a thread. Returns 0 or -errno (the failing step's errno).
 */
int xt_backend_start(struct xt_backend *b, uint32_t domid, uint64_t base, uint64_t size);
void xt_backend_stop(struct xt_backend *b);

#endif /* TESTS_SIM_HELPER_XENSIM_H */
