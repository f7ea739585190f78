/* SPDX-License-Identifier: MIT */
/*
 * hv_ioreq.c — ioreq servers (xen/common/ioreq.c's model) and guest MMIO/PIO accesses sent
 * through them.
 *
 * A server owns a shared page laid out as shared_iopage_t (one ioreq_t per vCPU) and, per
 * vCPU, a guest-side event channel port that is unbound and bindable by the emulator's domain
 * (vp_eport). A guest access picks the enabled server whose range covers every byte of the
 * access (highest id first, as FOR_EACH_IOREQ_SERVER does), fills the vCPU's slot, publishes
 * STATE_IOREQ_READY after a write barrier and signals vp_eport. When the backend notifies the
 * port back with STATE_IORESP_READY, the machine takes the data after a read barrier, resets
 * the slot to STATE_IOREQ_NONE and answers the guest.
 *
 * errno choices (Xen 4.17 common/ioreq.c): bufioreq != OFF is -EINVAL (non-x86), a 9th server
 * -ENOSPC, unknown server -ENOENT, not the emulator -EPERM, start > end or a bad range type
 * -EINVAL, a range overlapping one of the same server -EEXIST, unmapping a range not wholly
 * mapped -ENOENT. Overlaps between different servers are allowed, as in Xen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv_internal.h"

#define DEFAULT_TIMEOUT_MS 5000

static void server_free(struct hv_ioreq_server *s)
{
	unsigned int t;

	if (s->page)
		munmap(s->page, XENSIM_PAGE_SIZE);
	if (s->page_fd >= 0)
		close(s->page_fd);
	for (t = 0; t < 3; t++)
		free(s->ranges[t]);
	free(s->vcpu_port);
	free(s);
}

static int add_vcpu_ports(struct hv_ioreq_server *s)
{
	uint32_t v;

	for (v = 0; v < s->d->vcpus; v++) {
		struct hv_port *p;
		int rc = evtchn_alloc(s->d, &p);

		if (rc)
			return rc;
		p->state = PORT_UNBOUND;
		p->remote_dom = s->emulator;
		p->ios = s;
		p->vcpu = v;
		s->vcpu_port[v] = p->port;
		s->page->vcpu_ioreq[v].vp_eport = p->port;
	}
	return 0;
}

static void close_vcpu_ports(struct hv_ioreq_server *s)
{
	struct hv_domain *d = s->d;
	uint32_t v;

	for (v = 0; v < d->vcpus; v++) {
		uint32_t port = s->vcpu_port[v];

		if (port && port < d->nports && d->ports[port] && d->ports[port]->ios == s)
			evtchn_close(d->ports[port]);
	}
}

int ioreq_create(struct hv_client *c, struct hv_domain *d, uint32_t bufioreq, uint32_t *id)
{
	struct hv_ioreq_server *s;
	uint32_t i;
	int rc;

	/* Buffered ioreqs are x86-only; xensim models Xen/Arm (ioreq_server_create). */
	if (bufioreq)
		return -EINVAL;
	for (i = 0; i < HV_MAX_IOREQ_SRV && d->ioreq[i]; i++)
		;
	if (i == HV_MAX_IOREQ_SRV)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->id = i;
	s->emulator = c->domid;
	s->creator = c;
	s->page_fd = hv_memfd("xensim-ioreq", XENSIM_PAGE_SIZE);
	s->vcpu_port = calloc(d->vcpus, sizeof(*s->vcpu_port));
	if (s->page_fd >= 0) {
		s->page = mmap(NULL, XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			       s->page_fd, 0);
		if (s->page == MAP_FAILED)
			s->page = NULL;
	}
	rc = s->page && s->vcpu_port ? add_vcpu_ports(s) : -ENOMEM;
	if (rc) {
		if (s->vcpu_port && s->page)
			close_vcpu_ports(s);
		server_free(s);
		return rc;
	}
	d->ioreq[i] = s;
	list_add_tail(&c->servers, &s->creator_link);
	d->cnt.ioreq_servers_live++;
	*id = i;
	return 0;
}

struct hv_ioreq_server *ioreq_lookup(struct hv_client *c, struct hv_domain *d, uint32_t id,
				     int *err)
{
	struct hv_ioreq_server *s = id < HV_MAX_IOREQ_SRV ? d->ioreq[id] : NULL;

	*err = !s ? -ENOENT : s->emulator != c->domid ? -EPERM : 0;
	return *err ? NULL : s;
}

/* ---- pending accesses ---- */

static uint64_t size_mask(uint32_t size)
{
	return size >= 1 && size < 8 ? (1ULL << (size * 8)) - 1 : ~0ULL;
}

static void wait_finish(struct vcpu_wait *w, int rc)
{
	uint64_t data = w->dir == IOREQ_READ ? w->data & size_mask(w->size) : 0;

	list_del(&w->link);
	w->d->waits[w->vcpu] = NULL;
	w->c->wait = NULL;
	client_reply(w->c, rc, &data, sizeof(data));
	free(w);
}

static void slot_reset(struct hv_ioreq_server *s, uint32_t vcpu)
{
	volatile ioreq_t *slot = &s->page->vcpu_ioreq[vcpu];

	slot->state = STATE_IOREQ_NONE;
}

/* Drop server @s from every access waiting on it. */
static void forget_server(struct hv_ioreq_server *s)
{
	uint32_t v;

	for (v = 0; v < s->d->vcpus; v++) {
		struct vcpu_wait *w = s->d->waits[v];

		if (!w || !(w->mask & (1u << s->id)))
			continue;
		w->mask &= ~(1u << s->id);
		/* The server vanished under the access: like no server at all (a data abort). */
		if (!w->mask)
			wait_finish(w, -EFAULT);
	}
}

void ioreq_destroy_server(struct hv_ioreq_server *s)
{
	forget_server(s);
	close_vcpu_ports(s);
	s->d->ioreq[s->id] = NULL;
	s->d->cnt.ioreq_servers_live--;
	list_del(&s->creator_link);
	server_free(s);
}

int ioreq_destroy(struct hv_client *c, struct hv_domain *d, uint32_t id)
{
	int err;
	struct hv_ioreq_server *s = ioreq_lookup(c, d, id, &err);

	if (s)
		ioreq_destroy_server(s);
	return err;
}

int ioreq_set_state(struct hv_client *c, struct hv_domain *d, uint32_t id, bool enabled)
{
	int err;
	struct hv_ioreq_server *s = ioreq_lookup(c, d, id, &err);

	if (s)
		s->enabled = enabled;
	return err;
}

int ioreq_get_info(struct hv_client *c, struct hv_domain *d, uint32_t id, bool gfns,
		   struct hv_dm_rep *out)
{
	int err;

	if (!ioreq_lookup(c, d, id, &err))
		return err;
	/* Legacy gfn mapping of the pages into the guest is x86-only (arch_ioreq_server_map_pages).
	 */
	if (gfns)
		return -EOPNOTSUPP;
	out->r2 = 0; /* no bufioreq event channel */
	return 0;
}

void ioreq_release_client(struct hv_client *c)
{
	struct vcpu_wait *w = c->wait;

	if (w) {
		uint32_t i;

		for (i = 0; i < HV_MAX_IOREQ_SRV; i++)
			if ((w->mask & (1u << i)) && w->d->ioreq[i])
				slot_reset(w->d->ioreq[i], w->vcpu);
		list_del(&w->link);
		w->d->waits[w->vcpu] = NULL;
		c->wait = NULL;
		free(w);
	}
	/* Like a device model's privcmd fd: its servers go with it (see doc/xensim.md). */
	while (!list_empty(&c->servers))
		ioreq_destroy_server(
			container_of(c->servers.next, struct hv_ioreq_server, creator_link));
}

void ioreq_fail_domain(struct hv_domain *d, int err)
{
	uint32_t v;

	for (v = 0; v < d->vcpus; v++)
		if (d->waits && d->waits[v])
			wait_finish(d->waits[v], err);
}

void ioreq_expire(struct hv_server *srv, uint64_t now)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->waits)
	{
		struct vcpu_wait *w = container_of(pos, struct vcpu_wait, link);
		uint32_t i;

		if (w->deadline_ns > now)
			continue;
		for (i = 0; i < HV_MAX_IOREQ_SRV; i++)
			if ((w->mask & (1u << i)) && w->d->ioreq[i])
				slot_reset(w->d->ioreq[i], w->vcpu);
		wait_finish(w, -ETIMEDOUT);
	}
}

int ioreq_next_timeout_ms(struct hv_server *srv, uint64_t now)
{
	struct list *pos, *tmp;
	uint64_t min = UINT64_MAX;

	list_for_each_safe(pos, tmp, &srv->waits)
	{
		struct vcpu_wait *w = container_of(pos, struct vcpu_wait, link);

		if (w->deadline_ns < min)
			min = w->deadline_ns;
	}
	if (min == UINT64_MAX)
		return -1;
	if (min <= now)
		return 0;
	return (int)((min - now + 999999) / 1000000);
}

/* ---- ranges ---- */

static bool range_covers(const struct hv_ioreq_server *s, uint32_t t, uint64_t a, uint64_t b)
{
	uint32_t i;

	for (i = 0; i < s->nranges[t]; i++)
		if (s->ranges[t][i].start <= a && b <= s->ranges[t][i].end)
			return true;
	return false;
}

static bool range_overlaps(const struct hv_ioreq_server *s, uint32_t t, uint64_t a, uint64_t b)
{
	uint32_t i;

	for (i = 0; i < s->nranges[t]; i++)
		if (s->ranges[t][i].start <= b && a <= s->ranges[t][i].end)
			return true;
	return false;
}

static int range_add(struct hv_ioreq_server *s, uint32_t t, uint64_t a, uint64_t b)
{
	struct io_range *v;
	uint32_t i, n = s->nranges[t];

	if (n >= HV_MAX_IO_RANGES)
		return -ENOSPC;
	v = realloc(s->ranges[t], (n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->ranges[t] = v;
	for (i = n; i > 0 && v[i - 1].start > a; i--)
		v[i] = v[i - 1];
	v[i] = (struct io_range){ a, b };
	s->nranges[t] = n + 1;
	/* rangeset semantics: adjacent ranges merge into one. */
	for (i = 0; i + 1 < s->nranges[t];) {
		if (v[i].end != UINT64_MAX && v[i].end + 1 == v[i + 1].start) {
			v[i].end = v[i + 1].end;
			memmove(&v[i + 1], &v[i + 2], (s->nranges[t] - i - 2) * sizeof(*v));
			s->nranges[t]--;
		} else {
			i++;
		}
	}
	return 0;
}

static int range_remove(struct hv_ioreq_server *s, uint32_t t, uint64_t a, uint64_t b)
{
	struct io_range *v = s->ranges[t], *nv;
	uint32_t i, n = s->nranges[t];

	for (i = 0; i < n && !(v[i].start <= a && b <= v[i].end); i++)
		;
	if (i == n)
		return -ENOENT;
	if (v[i].start < a && b < v[i].end) { /* split in two */
		if (n >= HV_MAX_IO_RANGES)
			return -ENOSPC;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			return -ENOMEM;
		s->ranges[t] = v = nv;
		memmove(&v[i + 2], &v[i + 1], (n - i - 1) * sizeof(*v));
		v[i + 1] = (struct io_range){ b + 1, v[i].end };
		v[i].end = a - 1;
		s->nranges[t] = n + 1;
	} else if (v[i].start < a) {
		v[i].end = a - 1;
	} else if (b < v[i].end) {
		v[i].start = b + 1;
	} else {
		memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
		s->nranges[t] = n - 1;
	}
	return 0;
}

int ioreq_map_range(struct hv_client *c, struct hv_domain *d, uint32_t id, uint32_t type,
		    uint64_t start, uint64_t end, bool map)
{
	struct hv_ioreq_server *s;
	int err;

	if (start > end)
		return -EINVAL;
	s = ioreq_lookup(c, d, id, &err);
	if (!s)
		return err;
	if (type > 2)
		return -EINVAL;
	if (!map)
		return range_remove(s, type, start, end);
	if (range_overlaps(s, type, start, end))
		return -EEXIST;
	return range_add(s, type, start, end);
}

/* ---- guest accesses ---- */

static uint32_t select_servers(struct hv_domain *d, const struct hv_ioreq_req *q)
{
	uint64_t first, last, span;
	uint32_t i, t = q->type == IOREQ_TYPE_PIO ? 0 : 1, all = 0;

	for (i = HV_MAX_IOREQ_SRV; i-- > 0;)
		if (d->ioreq[i] && d->ioreq[i]->enabled)
			all |= 1u << i;
	/* Xen/Arm broadcasts the mapcache invalidation to every enabled server. */
	if (q->type == IOREQ_TYPE_INVALIDATE)
		return all;
	span = (uint64_t)(q->count ? q->count : 1) * q->size;
	first = q->df ? q->addr - (span - q->size) : q->addr;
	last = q->df ? q->addr + q->size - 1 : q->addr + span - 1;
	if (!q->size || last < first)
		return 0;
	for (i = HV_MAX_IOREQ_SRV; i-- > 0;)
		if ((all & (1u << i)) && range_covers(d->ioreq[i], t, first, last))
			return 1u << i;
	return 0;
}

static void post(struct hv_ioreq_server *s, uint32_t vcpu, const struct hv_ioreq_req *q)
{
	volatile ioreq_t *slot = &s->page->vcpu_ioreq[vcpu];
	struct hv_port *port = s->d->ports[s->vcpu_port[vcpu]];

	slot->addr = q->addr;
	slot->data = q->data;
	slot->count = q->count;
	slot->size = q->size;
	slot->vp_eport = s->vcpu_port[vcpu];
	slot->type = q->type;
	slot->dir = q->dir & 1;
	slot->df = q->df & 1;
	slot->data_is_ptr = q->data_is_ptr & 1;
	/* Publish the request before READY; pairs with the backend's rmb after seeing READY. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IOREQ_READY;
	s->d->cnt.ioreqs++;
	evtchn_send(s->d->srv, port);
}

static int start_access(struct hv_client *c, struct hv_domain *d, const struct hv_ioreq_req *q)
{
	struct vcpu_wait *w;
	uint32_t mask = select_servers(d, q), i;
	int ms = q->timeout_ms > 0 ? q->timeout_ms : DEFAULT_TIMEOUT_MS;

	if (!mask)
		return q->type == IOREQ_TYPE_INVALIDATE ? 0 : -EFAULT;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->d = d;
	w->vcpu = q->vcpu;
	w->c = c;
	w->mask = mask;
	w->size = q->size;
	w->dir = q->dir;
	w->deadline_ns = hv_now_ns() + (uint64_t)ms * 1000000ULL;
	list_add_tail(&c->srv->waits, &w->link);
	d->waits[q->vcpu] = w;
	c->wait = w;
	for (i = 0; i < HV_MAX_IOREQ_SRV; i++)
		if (mask & (1u << i))
			post(d->ioreq[i], q->vcpu, q);
	return 1;
}

void h_ioreq(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_ioreq_req *q = p;
	struct hv_domain *d = domain_get(c->srv, q->domid);
	uint64_t *zero;

	if (!d || d == c->srv->dom0) {
		r->rc = -ESRCH;
		return;
	}
	if (q->vcpu >= d->vcpus) {
		r->rc = -EINVAL;
		return;
	}
	if (d->waits[q->vcpu] || c->wait) {
		r->rc = -EBUSY;
		return;
	}
	r->rc = start_access(c, d, q);
	if (r->rc == 1) {
		r->rc = 0;
		r->deferred = true;
		return;
	}
	zero = reply_put(r, sizeof(*zero));
	(void)zero;
}

void ioreq_port_event(struct hv_ioreq_server *s, uint32_t vcpu)
{
	struct vcpu_wait *w = s->d->waits[vcpu];
	volatile ioreq_t *slot = &s->page->vcpu_ioreq[vcpu];

	/* A notification with nothing outstanding, or before the answer: spurious, ignore. */
	if (!w || !(w->mask & (1u << s->id)) || slot->state != STATE_IORESP_READY)
		return;
	/* Pairs with the backend's wmb before it set STATE_IORESP_READY. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (w->dir == IOREQ_READ)
		w->data = slot->data;
	slot->state = STATE_IOREQ_NONE;
	w->mask &= ~(1u << s->id);
	if (!w->mask)
		wait_finish(w, 0);
}
