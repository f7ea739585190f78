/* SPDX-License-Identifier: MIT */
/*
 * hv_internal.h — xensim's hypervisor model: domains, grant tables, event channels, ioreq
 * servers, interrupts and foreign mappings, served to clients over hv_proto.h.
 *
 * Threading: everything here runs on the one server thread (hv_server.c's loop), so the model
 * has no locks. Memory shared with clients (grant tables, ioreq pages, irq pages) is accessed
 * with atomics and barriers as Xen does. Only xs_server_*() calls cross to another thread.
 */
#ifndef XENSIM_HV_INTERNAL_H
#define XENSIM_HV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/hvm/ioreq.h>

#include "hmap.h"
#include "hv_proto.h"
#include "xensim.h"

/* ---- intrusive lists ---- */
struct list {
	struct list *next, *prev;
};

static inline void list_init(struct list *l)
{
	l->next = l->prev = l;
}

static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

static inline void list_add_tail(struct list *l, struct list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void list_del(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))
#define list_for_each_safe(pos, tmp, head)                                                         \
	for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)

/* ---- objects ---- */
struct hv_server;
struct hv_client;
struct hv_domain;
struct hv_ioreq_server;

enum pollkind { PK_LISTEN, PK_WAKE, PK_CLIENT, PK_EVSOCK };

struct pollable {
	enum pollkind kind;
};

/* A reply being built by a request handler. */
struct hv_reply {
	int32_t rc;
	bool deferred; /* the handler answers later (client_reply()) */
	uint8_t *buf;
	size_t len, cap;
	int fds[HV_MAX_FDS];
	int nfds;
	int owned_fd; /* closed once the reply is sent (-1: none) */
};

struct outbuf {
	struct outbuf *next;
	size_t len, off;
	int fds[HV_MAX_FDS];
	int nfds; /* dup'ed: sent with the first byte */
	uint8_t data[];
};

enum port_state { PORT_UNBOUND = 1, PORT_INTERDOMAIN };

struct hv_port {
	struct hv_domain *d;
	uint32_t port;
	uint8_t state;
	uint32_t remote_dom; /* unbound: who may bind; interdomain: the peer's domain */
	uint32_t remote_port;
	uint32_t attr_dom;	 /* domain the binding is counted against */
	struct hv_client *owner; /* NULL: owned by the hypervisor (ioreq vCPU port) */
	struct list owner_link;
	struct hv_ioreq_server *ios; /* hypervisor ports: the server and vCPU */
	uint32_t vcpu;
	bool masked, pending, queued; /* client ports: /dev/xen/evtchn semantics */
};

/* An MMIO/PIO access of one vCPU waiting for the ioreq server(s). */
struct vcpu_wait {
	struct list link; /* srv->waits */
	struct hv_domain *d;
	uint32_t vcpu;
	struct hv_client *c;
	uint32_t mask; /* servers that still have to answer */
	uint64_t deadline_ns;
	uint64_t data;
	uint32_t size;
	uint8_t dir;
};

struct hv_domain {
	struct list link; /* srv->domains or srv->zombies */
	struct hv_server *srv;
	uint32_t domid;
	uint64_t instance;
	char name[64];
	unsigned int refs; /* 1 while alive + one per mapping record naming it */
	bool dying;
	uint64_t ram_bytes;
	uint32_t vcpus;
	int ram_fd, gnt_fd, irq_fd, irq_efd;
	grant_entry_v1_t *gnt;
	uint32_t *pins_rd, *pins_wr;
	struct hv_irq_page *irq;
	uint8_t spi_level[HV_NR_SPIS];
	uint8_t isa_level[16];
	struct hv_port **ports;
	uint32_t nports; /* capacity of ports[] */
	struct hv_ioreq_server *ioreq[HV_MAX_IOREQ_SRV];
	struct vcpu_wait **waits; /* [vcpus] */
	struct hv_client *guest;
	struct xensim_counters cnt;
};

struct io_range {
	uint64_t start, end; /* inclusive */
};

struct hv_ioreq_server {
	struct list creator_link;
	struct hv_domain *d;
	uint32_t id;
	uint32_t emulator; /* domid of the creator */
	struct hv_client *creator;
	bool enabled;
	int page_fd;
	shared_iopage_t *page;
	uint32_t *vcpu_port;
	struct io_range *ranges[3]; /* XEN_DMOP_IO_RANGE_PORT, _MEMORY, _PCI */
	uint32_t nranges[3];
};

struct gnt_mapping {
	uint64_t vaddr;
	uint32_t count;
	bool writable;
	uint32_t ndoms;
	struct hv_domain **doms;
	uint16_t *dom_index; /* NULL when ndoms == 1 */
	uint32_t *refs;
	uint32_t notify_flags, notify_offset, notify_port;
};

struct fmem_mapping {
	uint64_t vaddr;
	uint64_t count, live;
	struct hv_domain *d;
};

struct res_mapping {
	uint64_t id;
	struct hv_domain *d;
};

struct hv_client {
	struct pollable pl;   /* PK_CLIENT */
	struct pollable evpl; /* PK_EVSOCK */
	struct hv_server *srv;
	struct list link;
	int fd, evfd;
	uint32_t domid;
	pid_t pid;
	bool hello, dead, busy;
	/* input */
	struct hv_req hdr;
	size_t hdr_got;
	uint8_t *in;
	size_t in_got;
	/* output */
	struct outbuf *out, *out_tail;
	uint32_t events; /* epoll events registered for fd */
	/* event channel handle */
	uint32_t *evq;
	uint32_t evq_n, evq_cap;
	bool ev_out;
	struct list ports;
	/* owned resources */
	struct hmap gmaps, fmaps, resmaps;
	struct list servers;
	struct hv_domain *attached;
	struct vcpu_wait *wait;
};

struct fault {
	struct fault *next;
	unsigned int remaining;
	int err;
};

struct xs_server;

struct hv_server {
	int epfd, listen_fd, wake_fd;
	struct pollable listen_pl, wake_pl;
	bool stop;
	struct list clients, domains, zombies, waits;
	struct hv_domain *dom0;
	struct xs_server *xs;
	uint32_t next_domid;
	uint64_t next_instance, next_res_id;
	struct xensim_counters grave; /* cumulative counters of freed domains */
	struct fault *faults[XENSIM_OP_COUNT];
};

/* ---- hv_server.c ---- */
void hv_loop(struct hv_server *srv);	  /* run until srv->stop */
void hv_close_all(struct hv_server *srv); /* free every client and domain */
typedef void (*hv_handler)(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void *reply_put(struct hv_reply *r, size_t len); /* zeroed space at the end, NULL: -ENOMEM */
void reply_fd(struct hv_reply *r, int fd);	 /* lent: sent (dup'ed when queued) */
void client_reply(struct hv_client *c, int32_t rc, const void *data, size_t len);
int sock_set_nonblock(int fd);
uint64_t hv_now_ns(void);
int hv_epoll_mod(struct hv_server *srv, int fd, struct pollable *pl, uint32_t events, int op);
int hv_memfd(const char *name, uint64_t size);

/* ---- hv_domain.c ---- */
struct hv_domain *domain_get(struct hv_server *srv, uint32_t domid); /* alive only */
struct hv_domain *domain_any(struct hv_server *srv, uint32_t domid); /* alive or zombie */
int domain_make_dom0(struct hv_server *srv);
void domain_ref(struct hv_domain *d);
void domain_put(struct hv_domain *d);
void domains_free_all(struct hv_server *srv);
/* Returns 0 or the positive errno of an armed fault that fires now for @op. */
int fault_hit(struct hv_server *srv, enum xensim_op op);
void faults_free(struct hv_server *srv);
void h_domain_create(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_domain_destroy(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_domain_exists(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_counters_get(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_counters_reset(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fault_inject(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fault_clear(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_guest_attach(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_guest_detach(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void guest_detach(struct hv_client *c);

/* ---- hv_gnttab.c ---- */
void h_gnt_map(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_gnt_unmap(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_gnt_copy(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_gnt_end_busy(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void gnt_release_all(struct hv_client *c);
/* Add the RAM info (and fd, if the client's copy is stale) of @ref's domain to @r. */
int reply_dom_info(struct hv_server *srv, const struct hv_dom_ref *ref, struct hv_dom_info *out,
		   struct hv_reply *r);

/* ---- hv_evtchn.c ---- */
int evtchn_alloc(struct hv_domain *d, struct hv_port **out);
void evtchn_close(struct hv_port *p);
void evtchn_send(struct hv_server *srv, struct hv_port *from);
void evtchn_close_domain(struct hv_domain *d);
void evtchn_release_client(struct hv_client *c);
void evsock_event(struct hv_client *c, uint32_t events);
void h_evtchn_open(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_evtchn_bind_unbound(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_evtchn_bind_interdomain(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_evtchn_unbind(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_evtchn_notify(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);

/* ---- hv_ioreq.c ---- */
int ioreq_create(struct hv_client *c, struct hv_domain *d, uint32_t bufioreq, uint32_t *id);
int ioreq_destroy(struct hv_client *c, struct hv_domain *d, uint32_t id);
int ioreq_set_state(struct hv_client *c, struct hv_domain *d, uint32_t id, bool enabled);
int ioreq_map_range(struct hv_client *c, struct hv_domain *d, uint32_t id, uint32_t type,
		    uint64_t start, uint64_t end, bool map);
int ioreq_get_info(struct hv_client *c, struct hv_domain *d, uint32_t id, bool gfns,
		   struct hv_dm_rep *out);
struct hv_ioreq_server *ioreq_lookup(struct hv_client *c, struct hv_domain *d, uint32_t id,
				     int *err);
void ioreq_destroy_server(struct hv_ioreq_server *s);
void ioreq_port_event(struct hv_ioreq_server *s, uint32_t vcpu);
void ioreq_release_client(struct hv_client *c);
void ioreq_fail_domain(struct hv_domain *d, int err);
void ioreq_expire(struct hv_server *srv, uint64_t now);
int ioreq_next_timeout_ms(struct hv_server *srv, uint64_t now);
void h_ioreq(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);

/* ---- hv_dm.c ---- */
void h_dm(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fmem_map(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fmem_unmap(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fmem_map_resource(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fmem_unmap_resource(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void h_fmem_resource_size(struct hv_client *c, const void *p, size_t len, struct hv_reply *r);
void fmem_release_all(struct hv_client *c);

#endif /* XENSIM_HV_INTERNAL_H */
