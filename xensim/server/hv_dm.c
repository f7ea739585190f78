/* SPDX-License-Identifier: MIT */
/*
 * hv_dm.c — device-model operations (libxendevicemodel), interrupt injection and foreign
 * memory (libxenforeignmemory: guest frames and resources).
 *
 * Interrupts: set_irq_level takes SPIs 32..1019 and levels 0/1, else -EINVAL (Xen/Arm's
 * XEN_DMOP_set_irq_level). libxl describes virtio-mmio SPIs as edge-rising and Xen/Arm's vGIC
 * injects on every level-1 call, so every call with level 1 counts as one edge (raise) even if
 * the line was already high; level 0 only records the level. ISA IRQs (0..15) count every
 * level-1 call the same way; every MSI counts.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hv_internal.h"

#include <xen/memory.h>

/* ---- interrupts ---- */

static void irq_notify(struct hv_domain *d)
{
	uint64_t one = 1;

	/*
	 * Publish the count before the sequence number; waiters read seq then counts (acquire).
	 * seq_cst on the seq/waiters pair: the guest increments waiters then checks seq, we bump
	 * seq then check waiters, so one of us always sees the other.
	 */
	__atomic_fetch_add(&d->irq->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&d->irq->waiters, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &d->irq->seq, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	if (write(d->irq_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN only if the counter is about to overflow: the guest is not reading it */
	}
}

static int set_irq_level(struct hv_domain *d, uint32_t irq, uint64_t level)
{
	if (irq < HV_FIRST_SPI || irq >= HV_NR_SPIS || level > 1)
		return -EINVAL;
	d->spi_level[irq] = (uint8_t)level;
	if (level) {
		__atomic_fetch_add(&d->irq->spi_count[irq], 1, __ATOMIC_RELAXED);
		d->cnt.irq_raises++;
		irq_notify(d);
	}
	return 0;
}

static int set_isa_irq_level(struct hv_domain *d, uint32_t irq, uint64_t level)
{
	if (irq > 15)
		return -EINVAL;
	d->isa_level[irq] = level ? 1 : 0;
	if (level) {
		__atomic_fetch_add(&d->irq->isa_count[irq], 1, __ATOMIC_RELAXED);
		d->cnt.irq_raises++;
		irq_notify(d);
	}
	return 0;
}

static int inject_msi(struct hv_domain *d)
{
	__atomic_fetch_add(&d->irq->msi_count, 1, __ATOMIC_RELAXED);
	d->cnt.irq_raises++;
	irq_notify(d);
	return 0;
}

/* ---- DM ops ---- */

static const enum xensim_op dm_fault_op[] = {
	[HV_DM_NR_VCPUS] = XENSIM_OP_DM_NR_VCPUS,
	[HV_DM_CREATE] = XENSIM_OP_DM_CREATE_IOREQ_SERVER,
	[HV_DM_GET_INFO] = XENSIM_OP_DM_GET_IOREQ_SERVER_INFO,
	[HV_DM_SET_STATE] = XENSIM_OP_DM_SET_IOREQ_SERVER_STATE,
	[HV_DM_MAP_RANGE] = XENSIM_OP_DM_MAP_IO_RANGE,
	[HV_DM_UNMAP_RANGE] = XENSIM_OP_DM_UNMAP_IO_RANGE,
	[HV_DM_DESTROY] = XENSIM_OP_DM_DESTROY_IOREQ_SERVER,
	[HV_DM_SET_IRQ_LEVEL] = XENSIM_OP_DM_SET_IRQ_LEVEL,
	[HV_DM_SET_ISA_IRQ_LEVEL] = XENSIM_OP_DM_SET_IRQ_LEVEL,
	[HV_DM_INJECT_MSI] = XENSIM_OP_DM_SET_IRQ_LEVEL,
};

static int dm_op(struct hv_client *c, struct hv_domain *d, const struct hv_dm_req *q,
		 struct hv_dm_rep *out)
{
	uint32_t id;
	int rc;

	switch (q->sub) {
	case HV_DM_NR_VCPUS:
		out->r0 = d->vcpus;
		return 0;
	case HV_DM_CREATE:
		rc = ioreq_create(c, d, q->a, &id);
		out->r0 = id;
		return rc;
	case HV_DM_GET_INFO:
		return ioreq_get_info(c, d, q->id, q->a, out);
	case HV_DM_SET_STATE:
		return ioreq_set_state(c, d, q->id, q->a != 0);
	case HV_DM_MAP_RANGE:
	case HV_DM_UNMAP_RANGE:
		return ioreq_map_range(c, d, q->id, q->a, q->b, q->c, q->sub == HV_DM_MAP_RANGE);
	case HV_DM_DESTROY:
		return ioreq_destroy(c, d, q->id);
	case HV_DM_SET_IRQ_LEVEL:
		return set_irq_level(d, q->a, q->b);
	case HV_DM_SET_ISA_IRQ_LEVEL:
		return set_isa_irq_level(d, q->a, q->b);
	case HV_DM_INJECT_MSI:
		return inject_msi(d);
	}
	return -EOPNOTSUPP;
}

void h_dm(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_dm_req *q = p;
	struct hv_domain *d = domain_get(c->srv, q->domid);
	struct hv_dm_rep *out;
	int err;

	if (q->sub > HV_DM_INJECT_MSI) {
		r->rc = -EOPNOTSUPP;
		return;
	}
	/* rcu_lock_remote_domain_by_id(): unknown -ESRCH; dom0 is not a DM target here. */
	if (!d || d == c->srv->dom0) {
		r->rc = d ? -EPERM : -ESRCH;
		return;
	}
	d->cnt.dm_calls++;
	err = fault_hit(c->srv, dm_fault_op[q->sub]);
	if (err) {
		r->rc = -err;
		return;
	}
	out = reply_put(r, sizeof(*out));
	if (!out) {
		r->rc = -ENOMEM;
		return;
	}
	r->rc = dm_op(c, d, q, out);
}

/* ---- foreign memory ---- */

static void fmap_free(struct fmem_mapping *m)
{
	m->d->cnt.fmem_live_pages -= m->live;
	domain_put(m->d);
	free(m);
}

void h_fmem_map(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_fmem_map *q = p;
	const uint64_t *pfns = (const void *)(q + 1);
	struct hv_domain *d = domain_get(c->srv, q->dom.domid);
	struct fmem_mapping *m;
	struct hv_dom_info *info;
	int32_t *errs;
	uint64_t i, pages;
	int err;

	if (!q->count || len < sizeof(*q) + q->count * sizeof(*pfns) || !q->vaddr ||
	    hmap_get(&c->fmaps, q->vaddr)) {
		r->rc = -EINVAL;
		return;
	}
	if (!d || d->ram_fd < 0) {
		r->rc = -ESRCH;
		return;
	}
	d->cnt.fmem_map_calls++;
	err = fault_hit(c->srv, XENSIM_OP_FMEM_MAP);
	m = err ? NULL : calloc(1, sizeof(*m));
	info = m ? reply_put(r, sizeof(*info)) : NULL;
	errs = info ? reply_put(r, q->count * sizeof(*errs)) : NULL;
	if (!errs || hmap_put(&c->fmaps, q->vaddr, m) < 0) {
		free(m);
		r->rc = err ? -err : -ENOMEM;
		r->len = 0;
		return;
	}
	info = (void *)r->buf;
	errs = (void *)(r->buf + sizeof(*info));
	reply_dom_info(c->srv, &q->dom, info, r);
	pages = d->ram_bytes / XENSIM_PAGE_SIZE;
	for (i = 0; i < q->count; i++) {
		/* Xen/Arm refuses a gfn with no RAM behind it (XENMAPSPACE_gmfn_foreign). */
		errs[i] = pfns[i] < pages ? 0 : -EINVAL;
		m->live += !errs[i];
	}
	m->vaddr = q->vaddr;
	m->count = q->count;
	m->d = d;
	domain_ref(d);
	d->cnt.fmem_map_pages += m->live;
	d->cnt.fmem_live_pages += m->live;
}

void h_fmem_unmap(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_fmem_unmap *q = p;
	struct fmem_mapping *m = hmap_del(&c->fmaps, q->vaddr);

	/* privcmd unmaps are plain munmap()s: unknown ranges are fine, nothing to release. */
	if (!m)
		return;
	m->d->cnt.fmem_unmap_calls++;
	fmap_free(m);
}

static void resmap_free(struct res_mapping *m)
{
	m->d->cnt.fmem_resource_maps_live--;
	domain_put(m->d);
	free(m);
}

void fmem_release_all(struct hv_client *c)
{
	while (c->fmaps.n) {
		size_t pos = 0;
		long i = hmap_next(&c->fmaps, &pos);
		struct fmem_mapping *m = c->fmaps.slots[i].val;

		hmap_del(&c->fmaps, m->vaddr);
		fmap_free(m);
	}
	hmap_free(&c->fmaps);
	while (c->resmaps.n) {
		size_t pos = 0;
		long i = hmap_next(&c->resmaps, &pos);
		struct res_mapping *m = c->resmaps.slots[i].val;

		hmap_del(&c->resmaps, m->id);
		resmap_free(m);
	}
	hmap_free(&c->resmaps);
}

/* Find the memfd and offset backing frames [frame, frame + nr) of a resource. */
static int resource_locate(struct hv_client *c, struct hv_domain *d, const struct hv_res_req *q,
			   int *fd, uint64_t *off)
{
	struct hv_ioreq_server *s;
	int err;

	switch (q->type) {
	case XENMEM_resource_ioreq_server:
		s = ioreq_lookup(c, d, q->id, &err);
		if (!s)
			return err;
		/* ioreq_server_get_frame(): frame 0 is the bufioreq page (none here: -ENOENT). */
		if (q->frame == XENMEM_resource_ioreq_server_frame_bufioreq)
			return -ENOENT;
		if (q->frame != XENMEM_resource_ioreq_server_frame_ioreq(0) || q->nr != 1)
			return -EINVAL;
		*fd = s->page_fd;
		*off = 0;
		return 0;
	case XENMEM_resource_grant_table:
		if (q->id != XENMEM_resource_grant_table_id_shared)
			return -EINVAL; /* status frames exist only for v2 tables */
		if (q->frame + q->nr > XENSIM_NR_GRANTS * sizeof(grant_entry_v1_t) / 4096)
			return -EINVAL;
		*fd = d->gnt_fd;
		*off = q->frame * XENSIM_PAGE_SIZE;
		return 0;
	}
	return -EOPNOTSUPP;
}

void h_fmem_map_resource(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_res_req *q = p;
	struct hv_domain *d = domain_get(c->srv, q->domid);
	struct res_mapping *m;
	struct hv_res_rep *out;
	uint64_t off = 0;
	int fd = -1, err;

	if (!d || d == c->srv->dom0) {
		r->rc = d ? -EPERM : -ESRCH;
		return;
	}
	err = fault_hit(c->srv, XENSIM_OP_FMEM_MAP_RESOURCE);
	r->rc = err ? -err : !q->nr ? -EINVAL : resource_locate(c, d, q, &fd, &off);
	if (r->rc)
		return;
	m = calloc(1, sizeof(*m));
	out = m ? reply_put(r, sizeof(*out)) : NULL;
	if (!out || hmap_put(&c->resmaps, c->srv->next_res_id, m) < 0) {
		free(m);
		r->rc = -ENOMEM;
		r->len = 0;
		return;
	}
	m->id = c->srv->next_res_id++;
	m->d = d;
	domain_ref(d);
	d->cnt.fmem_resource_maps_live++;
	out->res_id = m->id;
	out->offset = off;
	reply_fd(r, fd);
}

void h_fmem_unmap_resource(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const uint64_t *id = p;
	struct res_mapping *m = hmap_del(&c->resmaps, *id);

	if (!m) {
		r->rc = -EINVAL;
		return;
	}
	resmap_free(m);
}

void h_fmem_resource_size(struct hv_client *c, const void *p, size_t len, struct hv_reply *r)
{
	const struct hv_res_req *q = p;
	struct hv_domain *d = domain_get(c->srv, q->domid);
	uint64_t *out;
	int err;

	if (!d || d == c->srv->dom0) {
		r->rc = d ? -EPERM : -ESRCH;
		return;
	}
	out = reply_put(r, sizeof(*out));
	if (!out) {
		r->rc = -ENOMEM;
		return;
	}
	if (q->type == XENMEM_resource_ioreq_server) {
		r->rc = ioreq_lookup(c, d, q->id, &err) ? 0 : err;
		*out = 2 * XENSIM_PAGE_SIZE; /* bufioreq frame + one ioreq frame */
	} else if (q->type == XENMEM_resource_grant_table &&
		   q->id == XENMEM_resource_grant_table_id_shared) {
		*out = XENSIM_NR_GRANTS * sizeof(grant_entry_v1_t);
	} else {
		r->rc = -EOPNOTSUPP;
	}
}
