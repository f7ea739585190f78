/* SPDX-License-Identifier: MIT */
/*
 * hv_domain.c — domains (RAM, grant table, irq page), their lifetime, counters, fault
 * injection and the guest-side attachment.
 *
 * Lifetime follows Xen: destroying a domain tears down its event channels, ioreq servers and
 * pending accesses at once, but the domain lingers as a zombie while other domains still hold
 * mappings of its memory (grant maps, foreign maps, mapped resources); those mappings stay
 * valid until their owners unmap them, and the unmaps succeed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv_internal.h"
#include "xs_server.h"

#define GNT_TABLE_BYTES ((uint64_t)XENSIM_NR_GRANTS * sizeof(grant_entry_v1_t))
#define IRQ_PAGE_BYTES	((sizeof(struct hv_irq_page) + 4095) & ~(size_t)4095)

_Static_assert(sizeof(struct xensim_counters) % sizeof(uint64_t) == 0, "counters are u64s");
#define NR_COUNTERS (sizeof(struct xensim_counters) / sizeof(uint64_t))

static struct hv_domain *find(struct list *head, uint32_t domid)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, head)
	{
		struct hv_domain *d = container_of(pos, struct hv_domain, link);

		if (d->domid == domid)
			return d;
	}
	return NULL;
}

struct hv_domain *domain_get(struct hv_server *srv, uint32_t domid)
{
	return find(&srv->domains, domid);
}

struct hv_domain *domain_any(struct hv_server *srv, uint32_t domid)
{
	struct hv_domain *d = find(&srv->domains, domid);

	return d ? d : find(&srv->zombies, domid);
}

void domain_ref(struct hv_domain *d)
{
	d->refs++;
}

static void add_counters(struct xensim_counters *to, const struct xensim_counters *from)
{
	uint64_t *t = (uint64_t *)to;
	const uint64_t *f = (const uint64_t *)from;
	size_t i;

	for (i = 0; i < NR_COUNTERS; i++)
		t[i] += f[i];
}

static void domain_free(struct hv_domain *d)
{
	if (d->gnt)
		munmap(d->gnt, GNT_TABLE_BYTES);
	if (d->irq)
		munmap(d->irq, IRQ_PAGE_BYTES);
	if (d->ram_fd >= 0)
		close(d->ram_fd);
	if (d->gnt_fd >= 0)
		close(d->gnt_fd);
	if (d->irq_fd >= 0)
		close(d->irq_fd);
	if (d->irq_efd >= 0)
		close(d->irq_efd);
	free(d->pins_rd);
	free(d->pins_wr);
	free(d->ports);
	free(d->waits);
	free(d);
}

void domain_put(struct hv_domain *d)
{
	if (--d->refs)
		return;
	/* Cumulative counters survive in the machine-wide total; gauges are zero by now. */
	add_counters(&d->srv->grave, &d->cnt);
	list_del(&d->link);
	domain_free(d);
}

static struct hv_domain *domain_alloc(struct hv_server *srv, uint32_t domid)
{
	struct hv_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->srv = srv;
	d->domid = domid;
	d->instance = srv->next_instance++;
	d->refs = 1;
	d->ram_fd = d->gnt_fd = d->irq_fd = d->irq_efd = -1;
	list_init(&d->link);
	return d;
}

int domain_make_dom0(struct hv_server *srv)
{
	struct hv_domain *d = domain_alloc(srv, 0);

	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "Domain-0");
	d->vcpus = 1;
	list_add_tail(&srv->domains, &d->link);
	srv->dom0 = d;
	return 0;
}

static void *map_fd(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int domain_setup(struct hv_domain *d, uint64_t ram, uint32_t vcpus)
{
	d->ram_bytes = ram;
	d->vcpus = vcpus;
	d->ram_fd = hv_memfd("xensim-ram", ram);
	d->gnt_fd = hv_memfd("xensim-gnttab", GNT_TABLE_BYTES);
	d->irq_fd = hv_memfd("xensim-irq", IRQ_PAGE_BYTES);
	d->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->ram_fd < 0 || d->gnt_fd < 0 || d->irq_fd < 0 || d->irq_efd < 0)
		return -ENOMEM;
	d->gnt = map_fd(d->gnt_fd, GNT_TABLE_BYTES);
	d->irq = map_fd(d->irq_fd, IRQ_PAGE_BYTES);
	d->pins_rd = calloc(XENSIM_NR_GRANTS, sizeof(uint32_t));
	d->pins_wr = calloc(XENSIM_NR_GRANTS, sizeof(uint32_t));
	d->waits = calloc(vcpus, sizeof(*d->waits));
	if (!d->gnt || !d->irq || !d->pins_rd || !d->pins_wr || !d->waits)
		return -ENOMEM;
	return 0;
}

static int pick_domid(struct hv_server *srv, uint32_t want, uint32_t *out)
{
	uint32_t i;

	if (want) {
		if (want > HV_DOMID_MAX)
			return -EINVAL;
		if (domain_any(srv, want))
			return -EEXIST;
		*out = want;
		return 0;
	}
	/* Xen's toolstack hands out increasing domids and only reuses them after a wrap. */
	for (i = 0; i < HV_DOMID_MAX; i++) {
		uint32_t id = srv->next_domid;

		srv->next_domid = id >= HV_DOMID_MAX ? 1 : id + 1;
		if (!domain_any(srv, id)) {
			*out = id;
			return 0;
		}
	}
	return -ENOSPC;
}

void h_domain_create(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_domain_create *req = p;
	uint64_t ram = req->ram_bytes ? req->ram_bytes : 64ULL << 20;
	uint32_t vcpus = req->vcpus ? req->vcpus : 1, domid, *out;
	struct hv_domain *d;

	if (ram % XENSIM_PAGE_SIZE || ram > (1ULL << 40) || vcpus > HV_MAX_VCPUS) {
		r->rc = -EINVAL;
		return;
	}
	r->rc = pick_domid(c->srv, req->domid, &domid);
	if (r->rc)
		return;
	d = domain_alloc(c->srv, domid);
	if (!d || domain_setup(d, ram, vcpus) < 0) {
		if (d)
			domain_free(d);
		r->rc = -ENOMEM;
		return;
	}
	memcpy(d->name, req->name, sizeof(d->name) - 1);
	list_add_tail(&c->srv->domains, &d->link);
	out = reply_put(r, sizeof(*out));
	if (out)
		*out = domid;
	if (c->srv->xs)
		xs_server_domain_event(c->srv->xs, domid, 1);
}

static void domain_destroy(struct hv_domain *d)
{
	struct hv_server *srv = d->srv;
	uint32_t i;

	d->dying = true;
	list_del(&d->link);
	list_add_tail(&srv->zombies, &d->link);
	ioreq_fail_domain(d, -ESRCH);
	for (i = 0; i < HV_MAX_IOREQ_SRV; i++)
		if (d->ioreq[i])
			ioreq_destroy_server(d->ioreq[i]);
	evtchn_close_domain(d);
	if (d->guest) {
		d->guest->attached = NULL;
		d->guest = NULL;
	}
	if (srv->xs)
		xs_server_domain_event(srv->xs, d->domid, 0);
	domain_put(d);
}

void h_domain_destroy(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_domid_arg *a = p;
	struct hv_domain *d = domain_get(c->srv, a->domid);

	if (!d || d == c->srv->dom0) {
		r->rc = d ? -EPERM : -ESRCH;
		return;
	}
	domain_destroy(d);
}

void h_domain_exists(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_domid_arg *a = p;

	r->rc = domain_get(c->srv, a->domid) ? 1 : 0;
}

void domains_free_all(struct hv_server *srv)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->domains)
	{
		struct hv_domain *d = container_of(pos, struct hv_domain, link);

		if (d != srv->dom0)
			domain_destroy(d);
	}
	/* Clients are gone, so nothing holds zombies any more; free what is left regardless. */
	list_for_each_safe(pos, tmp, &srv->zombies)
		domain_free(container_of(pos, struct hv_domain, link));
	if (srv->dom0) {
		evtchn_close_domain(srv->dom0);
		domain_free(srv->dom0);
		srv->dom0 = NULL;
	}
}

/* ---- counters ---- */

void h_counters_get(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_domid_arg *a = p;
	struct xensim_counters *out = reply_put(r, sizeof(*out));
	struct hv_server *srv = c->srv;
	struct list *pos, *tmp;

	if (!out) {
		r->rc = -ENOMEM;
		return;
	}
	if (a->domid == XENSIM_DOMID_ALL) {
		*out = srv->grave;
		list_for_each_safe(pos, tmp, &srv->domains)
			add_counters(out, &container_of(pos, struct hv_domain, link)->cnt);
		list_for_each_safe(pos, tmp, &srv->zombies)
			add_counters(out, &container_of(pos, struct hv_domain, link)->cnt);
	} else {
		struct hv_domain *d = domain_any(srv, a->domid);

		if (!d) {
			r->rc = -ESRCH;
			return;
		}
		*out = d->cnt;
	}
	if (srv->xs)
		xs_server_counters(srv->xs, out);
}

static void reset_counters(struct xensim_counters *k)
{
	struct xensim_counters keep = *k;

	memset(k, 0, sizeof(*k));
	k->gnt_live_pages = keep.gnt_live_pages;
	k->evtchn_live_ports = keep.evtchn_live_ports;
	k->ioreq_servers_live = keep.ioreq_servers_live;
	k->fmem_live_pages = keep.fmem_live_pages;
	k->fmem_resource_maps_live = keep.fmem_resource_maps_live;
	k->xs_watches_live = keep.xs_watches_live;
}

void h_counters_reset(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	struct hv_server *srv = c->srv;
	struct list *pos, *tmp;

	memset(&srv->grave, 0, sizeof(srv->grave));
	list_for_each_safe(pos, tmp, &srv->domains)
		reset_counters(&container_of(pos, struct hv_domain, link)->cnt);
	list_for_each_safe(pos, tmp, &srv->zombies)
		reset_counters(&container_of(pos, struct hv_domain, link)->cnt);
	if (srv->xs)
		xs_server_counters_reset(srv->xs);
}

/* ---- faults ---- */

static bool is_xs_op(uint32_t op)
{
	return op >= XENSIM_OP_XS_READ && op < XENSIM_OP_COUNT;
}

int fault_hit(struct hv_server *srv, enum xensim_op op)
{
	struct fault **pp = &srv->faults[op];
	int hit = 0;

	/* Every armed fault counts this call; the first that reaches its nth call fires. */
	while (*pp) {
		struct fault *f = *pp;

		if (--f->remaining == 0) {
			if (!hit)
				hit = f->err;
			*pp = f->next;
			free(f);
			continue;
		}
		pp = &f->next;
	}
	return hit;
}

void h_fault_inject(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_fault *req = p;
	struct fault *f, **pp;

	if (req->op >= XENSIM_OP_COUNT || !req->nth || req->err < 0 ||
	    (!req->err && req->op != XENSIM_OP_EVTCHN_DELIVER)) {
		r->rc = -EINVAL;
		return;
	}
	if (is_xs_op(req->op)) {
		r->rc = c->srv->xs ? xs_server_fault(c->srv->xs, req->op, req->nth, req->err)
				   : -ENOSYS;
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		r->rc = -ENOMEM;
		return;
	}
	f->remaining = req->nth;
	f->err = req->err ? req->err : EIO; /* a dropped event carries no errno, but must fire */
	for (pp = &c->srv->faults[req->op]; *pp; pp = &(*pp)->next)
		;
	*pp = f;
}

void faults_free(struct hv_server *srv)
{
	unsigned int i;

	for (i = 0; i < XENSIM_OP_COUNT; i++) {
		while (srv->faults[i]) {
			struct fault *f = srv->faults[i];

			srv->faults[i] = f->next;
			free(f);
		}
	}
}

void h_fault_clear(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	faults_free(c->srv);
	if (c->srv->xs)
		xs_server_fault_clear(c->srv->xs);
}

/* ---- guest attachment ---- */

void h_guest_attach(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_domid_arg *a = p;
	struct hv_domain *d = domain_get(c->srv, a->domid);
	struct hv_attach_rep *out;

	if (!d || d == c->srv->dom0) {
		r->rc = d ? -EINVAL : -ESRCH;
		return;
	}
	if (d->guest || c->attached) {
		r->rc = -EBUSY;
		return;
	}
	out = reply_put(r, sizeof(*out));
	if (!out) {
		r->rc = -ENOMEM;
		return;
	}
	out->ram_bytes = d->ram_bytes;
	out->vcpus = d->vcpus;
	reply_fd(r, d->ram_fd);
	reply_fd(r, d->gnt_fd);
	reply_fd(r, d->irq_fd);
	reply_fd(r, d->irq_efd);
	d->guest = c;
	c->attached = d;
}

void guest_detach(struct hv_client *c)
{
	if (c->attached) {
		c->attached->guest = NULL;
		c->attached = NULL;
	}
}

void h_guest_detach(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	guest_detach(c);
}
