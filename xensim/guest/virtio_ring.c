// SPDX-License-Identifier: MIT
/*
 * virtio_ring.c — driver side of the split virtqueue, modelled on Linux's
 * drivers/virtio/virtio_ring.c (split ring) running over Xen grant-DMA.
 *
 * The driver keeps its own shadow of everything it exposes (desc_extra, desc_state, shadow
 * indices and flags) and never trusts values read back from ring memory other than the used
 * ring entries and used.idx/flags/avail_event, which it validates.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_mmio.h>

#include "virtio_internal.h"

#define INDIR_PAGE_CACHE 64u

/* Linux's vring_need_event(): does moving from @old to @new_idx cross @event_idx? */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

size_t vq_ring_bytes(unsigned int num, size_t *used_off)
{
	/* desc[num], avail {flags, idx, ring[num], used_event}, align, used {.., avail_event} */
	size_t avail_end = 16u * num + 2u * (3u + num);
	size_t uoff = (avail_end + VIRTIO_MMIO_ALIGN - 1) & ~(size_t)(VIRTIO_MMIO_ALIGN - 1);

	if (used_off)
		*used_off = uoff;
	return uoff + 2u * 3u + 8u * num;
}

static void ring_pointers(xensim_vq *vq)
{
	uint8_t *base = vq->ring;

	vq->desc = (struct vring_desc_le *)base;
	vq->avail = (uint16_t *)(base + 16u * vq->num);
	vq->used = (uint16_t *)(base + vq->used_off);
	vq->used_elems = (uint32_t *)(base + vq->used_off + 4);
	vq->avail_event = (uint16_t *)(base + vq->used_off + 4 + 8u * vq->num);
}

static int alloc_state(xensim_vq *vq)
{
	vq->extra = calloc(vq->num, sizeof(*vq->extra));
	vq->state = calloc(vq->num, sizeof(*vq->state));
	vq->scratch = calloc(vq->num, sizeof(*vq->scratch));
	vq->page_cache = calloc(INDIR_PAGE_CACHE, sizeof(*vq->page_cache));
	if (!vq->extra || !vq->state || !vq->scratch || !vq->page_cache)
		return -ENOMEM;
	/* Free list threads every descriptor in order, as vring_alloc_desc_extra() does. */
	for (unsigned int i = 0; i + 1 < vq->num; i++)
		vq->extra[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = vq->num;
	return 0;
}

static void free_state(xensim_vq *vq)
{
	for (unsigned int i = 0; i < vq->npage_cache; i++)
		xensim_guest_free_pages(vq->g, vq->page_cache[i], 1);
	free(vq->page_cache);
	free(vq->extra);
	free(vq->state);
	free(vq->scratch);
	free(vq);
}

int vq_create(xensim_vq **out, xensim_guest *g, uint32_t backend_domid, unsigned int num,
	      uint64_t features, xensim_vdev *vd, unsigned int index)
{
	xensim_vq *vq;
	int rc;

	if (!g || num == 0 || num > VIRTIO_MAX_QUEUE_SZ || (num & (num - 1)))
		return -EINVAL;
	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return -ENOMEM;
	vq->g = g;
	vq->vd = vd;
	vq->backend_domid = backend_domid;
	vq->index = index;
	vq->num = num;
	vq->vcpu = 0;
	vq->event = features & XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX);
	vq->indirect_ok = features & XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC);
	vq->use_indirect = vq->indirect_ok;
	vq->dma_broken = vd ? &vd->dma_broken : &vq->own_dma_broken;
	rc = alloc_state(vq);
	if (rc == 0) {
		vq->ring_bytes = vq_ring_bytes(num, &vq->used_off);
		rc = xensim_dma_alloc(g, backend_domid, vq->ring_bytes, &vq->ring_dma,
				      &vq->ring_gpa, &vq->ring);
	}
	if (rc < 0) {
		free_state(vq);
		return rc;
	}
	ring_pointers(vq);
	*out = vq;
	return 0;
}

int xensim_vq_new(xensim_vq **out, xensim_guest *g, uint32_t backend_domid, unsigned int num,
		  uint64_t features)
{
	if (!out)
		return -EINVAL;
	return vq_create(out, g, backend_domid, num, features, NULL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Unmapping (detach_buf_split)                                                                */

static int unmap_one(xensim_vq *vq, uint64_t dma, uint32_t len)
{
	int rc = xensim_dma_unmap(vq->g, dma, len);

	if (rc == -EBUSY)
		*vq->dma_broken = true; /* grant-dma-ops marks the device broken for good */
	return rc;
}

static void put_indir_pages(xensim_vq *vq, struct indir_table *t)
{
	if (t->npages == 1 && vq->npage_cache < INDIR_PAGE_CACHE)
		vq->page_cache[vq->npage_cache++] = t->gpa;
	else
		xensim_guest_free_pages(vq->g, t->gpa, t->npages);
	free(t);
}

static int unmap_indir(xensim_vq *vq, struct indir_table *t)
{
	int rc = 0, r;

	for (unsigned int i = 0; i < t->n; i++) {
		r = unmap_one(vq, t->extra[i].dma, t->extra[i].len);
		if (r < 0 && rc == 0)
			rc = r;
	}
	r = unmap_one(vq, t->dma, t->n * (uint32_t)sizeof(struct vring_desc_le));
	if (r < 0 && rc == 0)
		rc = r;
	/* A still-mapped table must not be reused: the backend may still read it. */
	if (r == -EBUSY)
		free(t);
	else
		put_indir_pages(vq, t);
	return rc;
}

/* Unmap the chain at @head and put its descriptors back on the free list. 0 or -EBUSY. */
static int detach_buf(xensim_vq *vq, uint16_t head)
{
	struct desc_state *st = &vq->state[head];
	uint16_t i = head, last = head;
	int rc = 0, r;

	for (unsigned int n = 0; n < st->ndescs; n++) {
		if (vq->extra[i].dma) {
			r = unmap_one(vq, vq->extra[i].dma, vq->extra[i].len);
			if (r < 0 && rc == 0)
				rc = r;
		}
		last = i;
		i = vq->extra[i].next;
	}
	if (st->indir) {
		r = unmap_indir(vq, st->indir);
		if (r < 0 && rc == 0)
			rc = r;
	}
	vq->extra[last].next = vq->free_head;
	vq->free_head = head;
	vq->num_free += st->ndescs;
	memset(st, 0, sizeof(*st));
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Adding buffers (virtqueue_add_split)                                                        */

static struct indir_table *alloc_indir(xensim_vq *vq, unsigned int total)
{
	size_t bytes = (size_t)total * sizeof(struct vring_desc_le);
	size_t npages = (bytes + XENSIM_PAGE_SIZE - 1) / XENSIM_PAGE_SIZE;
	struct indir_table *t = calloc(1, sizeof(*t) + total * sizeof(t->extra[0]));

	if (!t)
		return NULL;
	t->n = total;
	t->npages = npages;
	if (npages == 1 && vq->npage_cache)
		t->gpa = vq->page_cache[--vq->npage_cache];
	else if (xensim_guest_alloc_pages(vq->g, npages, &t->gpa) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

static int map_sg(xensim_vq *vq, const struct xensim_sg *sg, bool in, struct desc_extra *x)
{
	enum xensim_dma_dir dir = in ? XENSIM_DMA_FROM_DEVICE : XENSIM_DMA_TO_DEVICE;
	int rc = xensim_dma_map(vq->g, vq->backend_domid, sg->gpa, sg->len, dir, &x->dma);

	if (rc < 0) {
		x->dma = 0;
		/* Keep -ENOSPC for "ring full"; a grant table that is full is a mapping error. */
		return rc == -ENOSPC ? -ENOMEM : rc;
	}
	x->len = sg->len;
	x->flags = in ? XENSIM_VRING_DESC_F_WRITE : 0;
	return 0;
}

/* Map every range into @x[0..total-1] (chain links already in x[].next); undo on failure. */
static int map_all(xensim_vq *vq, const struct xensim_sg *out, unsigned int nout,
		   const struct xensim_sg *in, unsigned int nin, struct desc_extra **x)
{
	unsigned int total = nout + nin, k;
	int rc = 0;

	for (k = 0; k < total && rc == 0; k++) {
		bool is_in = k >= nout;

		rc = map_sg(vq, is_in ? &in[k - nout] : &out[k], is_in, x[k]);
		if (rc == 0 && k + 1 < total)
			x[k]->flags |= XENSIM_VRING_DESC_F_NEXT;
	}
	if (rc == 0)
		return 0;
	for (unsigned int j = 0; j + 1 < k; j++)
		xensim_dma_unmap(vq->g, x[j]->dma, x[j]->len);
	return rc;
}

static int add_indirect(xensim_vq *vq, const struct xensim_sg *out, unsigned int nout,
			const struct xensim_sg *in, unsigned int nin, struct indir_table *t)
{
	unsigned int total = nout + nin;
	struct desc_extra **xs = vq->scratch, *head;
	struct vring_desc_le *tab;
	int rc;

	for (unsigned int k = 0; k < total; k++) {
		xs[k] = &t->extra[k];
		t->extra[k].next = (uint16_t)(k + 1);
	}
	rc = map_all(vq, out, nout, in, nin, xs);
	if (rc < 0)
		return rc;
	tab = xensim_guest_ptr(vq->g, t->gpa, total * sizeof(*tab));
	if (!tab)
		rc = -EFAULT;
	for (unsigned int k = 0; tab && k < total; k++)
		vring_write_desc(&tab[k], &t->extra[k]);
	/* The table is written before it is mapped read-only, as vring_map_single() after kmalloc.
	 */
	if (rc == 0)
		rc = xensim_dma_map(vq->g, vq->backend_domid, t->gpa, total * sizeof(*tab),
				    XENSIM_DMA_TO_DEVICE, &t->dma);
	if (rc < 0) {
		for (unsigned int k = 0; k < total; k++)
			xensim_dma_unmap(vq->g, t->extra[k].dma, t->extra[k].len);
		return rc == -ENOSPC ? -ENOMEM : rc;
	}
	/* The ring slot points at the table; its shadow maps nothing (t owns the mapping). */
	head = &vq->extra[vq->free_head];
	head->dma = 0;
	head->len = total * (uint32_t)sizeof(*tab);
	head->flags = XENSIM_VRING_DESC_F_INDIRECT;
	vring_write_desc(
		&vq->desc[vq->free_head],
		&(struct desc_extra){ .dma = t->dma, .len = head->len, .flags = head->flags });
	return 0;
}

static int add_direct(xensim_vq *vq, const struct xensim_sg *out, unsigned int nout,
		      const struct xensim_sg *in, unsigned int nin)
{
	unsigned int total = nout + nin;
	struct desc_extra **xs = vq->scratch;
	uint16_t i = vq->free_head;
	int rc;

	for (unsigned int k = 0; k < total; k++) {
		xs[k] = &vq->extra[i];
		i = vq->extra[i].next;
	}
	rc = map_all(vq, out, nout, in, nin, xs);
	if (rc < 0)
		return rc;
	i = vq->free_head;
	for (unsigned int k = 0; k < total; k++) {
		vring_write_desc(&vq->desc[i], xs[k]);
		i = vq->extra[i].next;
	}
	return 0;
}

static int check_add(xensim_vq *vq, const struct xensim_sg *out, unsigned int nout,
		     const struct xensim_sg *in, unsigned int nin, void *token)
{
	unsigned int total = nout + nin;

	if (!token || total == 0 || nout > 65535 || nin > 65535 || total > vq->num)
		return -EINVAL;
	if ((nout && !out) || (nin && !in))
		return -EINVAL;
	for (unsigned int k = 0; k < total; k++)
		if ((k < nout ? out[k].len : in[k - nout].len) == 0)
			return -EINVAL;
	if (vq->broken || *vq->dma_broken)
		return -EIO;
	return 0;
}

static uint32_t sum_len(const struct xensim_sg *sg, unsigned int n)
{
	uint64_t s = 0;

	for (unsigned int k = 0; k < n; k++)
		s += sg[k].len;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* Publish @head in the avail ring (the tail of virtqueue_add_split). */
static void publish(xensim_vq *vq, uint16_t head)
{
	uint16_t slot = vq->avail_idx_shadow & (vq->num - 1);

	RING_STORE(&vq->avail[2 + slot], htole16(head));
	/*
	 * Descriptors and the ring entry must be visible before the index that exposes them;
	 * pairs with the device's read barrier between reading avail.idx and the entries.
	 */
	virtio_wmb();
	vq->avail_idx_shadow++;
	RING_STORE(&vq->avail[1], htole16(vq->avail_idx_shadow));
	vq->num_added++;
	vq->stats.added++;
}

int xensim_vq_add(xensim_vq *vq, const struct xensim_sg *out, unsigned int nout,
		  const struct xensim_sg *in, unsigned int nin, void *token)
{
	unsigned int total = nout + nin, used_descs = total;
	struct indir_table *t = NULL;
	uint16_t head;
	int rc;

	if (!vq)
		return -EINVAL;
	rc = check_add(vq, out, nout, in, nin, token);
	if (rc < 0)
		return rc;
	if (vq->use_indirect && total > 1 && vq->num_free)
		t = alloc_indir(vq, total); /* on failure fall back to direct, as Linux */
	if (t)
		used_descs = 1;
	if (vq->num_free < used_descs) {
		if (t)
			put_indir_pages(vq, t);
		return -ENOSPC;
	}
	head = vq->free_head;
	rc = t ? add_indirect(vq, out, nout, in, nin, t) : add_direct(vq, out, nout, in, nin);
	if (rc < 0) {
		if (t)
			put_indir_pages(vq, t);
		return rc;
	}
	if (t)
		vq->stats.indirect++;
	/* Advance the free list past the chain. */
	for (unsigned int k = 0; k < used_descs; k++)
		vq->free_head = vq->extra[vq->free_head].next;
	vq->num_free -= used_descs;
	vq->state[head] = (struct desc_state){ .token = token,
					       .indir = t,
					       .ndescs = (uint16_t)used_descs,
					       .in_len = sum_len(in, nin) };
	publish(vq, head);
	/* Linux kicks when 2^16-1 adds piled up, so old/new in kick_prepare stay meaningful. */
	if (vq->num_added == 0xffff)
		xensim_vq_kick(vq);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Notification                                                                                */

bool xensim_vq_kick_prepare(xensim_vq *vq)
{
	uint16_t new_idx, old;
	bool needs;

	/*
	 * Expose the new avail.idx before reading avail_event / used.flags; pairs with the device's
	 * full barrier between publishing avail_event (or NO_NOTIFY) and re-reading avail.idx.
	 */
	virtio_mb();
	new_idx = vq->avail_idx_shadow;
	old = (uint16_t)(new_idx - vq->num_added);
	vq->num_added = 0;
	if (vq->event)
		needs = need_event(le16toh(RING_LOAD(vq->avail_event)), new_idx, old);
	else
		needs = !(le16toh(RING_LOAD(&vq->used[0])) & XENSIM_VRING_USED_F_NO_NOTIFY);
	if (needs)
		vq->stats.kicks++;
	else
		vq->stats.kicks_suppressed++;
	return needs;
}

int xensim_vq_notify(xensim_vq *vq)
{
	int rc = 0;

	if (!vq)
		return -EINVAL;
	if (vq->broken)
		return -EIO;
	if (vq->vd) {
		rc = xensim_mmio_write(vq->g, vq->vcpu, vq->vd->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
				       vq->index);
		/* As virtqueue_notify(): a transport that cannot notify breaks the queue. */
		if (rc < 0) {
			vq->broken = true;
			return rc;
		}
	}
	vq->stats.notifies++;
	return 0;
}

int xensim_vq_kick(xensim_vq *vq)
{
	int rc;

	if (!vq)
		return -EINVAL;
	if (!xensim_vq_kick_prepare(vq))
		return 0;
	rc = xensim_vq_notify(vq);
	return rc < 0 ? rc : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Collecting used buffers                                                                     */

bool xensim_vq_more_used(xensim_vq *vq)
{
	return vq->last_used_idx != le16toh(RING_LOAD(&vq->used[1]));
}

static int bad_used(xensim_vq *vq)
{
	vq->broken = true;
	vq->stats.bad_used++;
	return -EIO;
}

int xensim_vq_get_buf(xensim_vq *vq, void **token_out, uint32_t *len_out)
{
	uint16_t slot;
	uint32_t id, len;
	void *token;
	int rc;

	if (!vq || !token_out)
		return -EINVAL;
	if (vq->broken)
		return -EIO;
	if (!xensim_vq_more_used(vq))
		return 0;
	/* Read the entry only after seeing used.idx; pairs with the device's write barrier. */
	virtio_rmb();
	slot = vq->last_used_idx & (vq->num - 1);
	id = le32toh(RING_LOAD(&vq->used_elems[2 * slot]));
	len = le32toh(RING_LOAD(&vq->used_elems[2 * slot + 1]));
	if (id >= vq->num || !vq->state[id].token)
		return bad_used(vq);
	token = vq->state[id].token;
	if (len > vq->state[id].in_len)
		vq->stats.len_overflow++;
	rc = detach_buf(vq, (uint16_t)id);
	vq->last_used_idx++;
	/*
	 * Ask for the next interrupt at the next entry; the full barrier orders this store before
	 * the caller's next read of used.idx, pairing with the device's barrier between writing
	 * used.idx and reading used_event.
	 */
	if (!(vq->avail_flags_shadow & XENSIM_VRING_AVAIL_F_NO_INTERRUPT)) {
		RING_STORE(&vq->avail[2 + vq->num], htole16(vq->last_used_idx));
		virtio_mb();
	}
	vq->stats.used++;
	if (rc == -EBUSY)
		vq->stats.unmap_busy++;
	*token_out = token;
	if (len_out)
		*len_out = len;
	return rc < 0 ? rc : 1;
}

void xensim_vq_disable_cb(xensim_vq *vq)
{
	if (vq->avail_flags_shadow & XENSIM_VRING_AVAIL_F_NO_INTERRUPT)
		return;
	vq->avail_flags_shadow |= XENSIM_VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->event)
		RING_STORE(&vq->avail[2 + vq->num], 0); /* Linux's "hack": used_event = 0 */
	else
		RING_STORE(&vq->avail[0], htole16(vq->avail_flags_shadow));
}

static void clear_no_interrupt(xensim_vq *vq)
{
	if (!(vq->avail_flags_shadow & XENSIM_VRING_AVAIL_F_NO_INTERRUPT))
		return;
	vq->avail_flags_shadow &= ~XENSIM_VRING_AVAIL_F_NO_INTERRUPT;
	if (!vq->event)
		RING_STORE(&vq->avail[0], htole16(vq->avail_flags_shadow));
}

/* Publish used_event = @ev, then re-check used.idx: false if more than @ahead entries wait. */
static bool arm_and_poll(xensim_vq *vq, uint16_t ev, uint16_t ahead)
{
	RING_STORE(&vq->avail[2 + vq->num], htole16(ev));
	/*
	 * The used_event/flags store must be visible before used.idx is re-read; pairs with the
	 * device's barrier between writing used.idx and reading used_event/flags.
	 */
	virtio_mb();
	return (uint16_t)(le16toh(RING_LOAD(&vq->used[1])) - vq->last_used_idx) <= ahead;
}

bool xensim_vq_enable_cb(xensim_vq *vq)
{
	clear_no_interrupt(vq);
	return arm_and_poll(vq, vq->last_used_idx, 0);
}

bool xensim_vq_enable_cb_delayed(xensim_vq *vq)
{
	uint16_t bufs;

	clear_no_interrupt(vq);
	bufs = (uint16_t)((uint16_t)(vq->avail_idx_shadow - vq->last_used_idx) * 3 / 4);
	if (!vq->event)
		bufs = 0;
	return arm_and_poll(vq, (uint16_t)(vq->last_used_idx + bufs), bufs);
}

int xensim_vq_wait(xensim_vq *vq, int timeout_ms)
{
	int64_t deadline = vtime_deadline(timeout_ms);
	int left, rc;

	if (!vq)
		return -EINVAL;
	if (!vq->vd)
		return -ENODEV;
	for (;;) {
		if (vq->broken)
			return -EIO;
		if (xensim_vq_more_used(vq))
			return 0;
		if (!xensim_vq_enable_cb(vq))
			continue; /* an entry raced in while re-enabling */
		left = vtime_left(deadline, timeout_ms);
		if (left == 0)
			return -ETIMEDOUT;
		rc = xensim_vdev_irq_wait(vq->vd, left);
		if (rc == -ETIMEDOUT)
			return xensim_vq_more_used(vq) ? 0 : -ETIMEDOUT;
		if (rc < 0)
			return rc;
		vq->stats.irq_waits++;
	}
}

int xensim_vq_detach_unused(xensim_vq *vq, void **token_out)
{
	if (!vq || !token_out)
		return -EINVAL;
	for (unsigned int i = 0; i < vq->num; i++) {
		void *token = vq->state[i].token;
		int rc;

		if (!token)
			continue;
		rc = detach_buf(vq, (uint16_t)i);
		if (rc == -EBUSY)
			vq->stats.unmap_busy++;
		*token_out = token;
		return rc < 0 ? rc : 1;
	}
	return 0;
}

int vq_destroy(xensim_vq *vq)
{
	void *token;
	int rc = 0, r;

	while ((r = xensim_vq_detach_unused(vq, &token)) != 0)
		if (r == -EBUSY)
			rc = -EBUSY;
	r = xensim_dma_free(vq->g, vq->ring_dma, vq->ring_gpa, vq->ring_bytes);
	if (r == -EBUSY)
		rc = -EBUSY;
	free_state(vq);
	return rc;
}

int xensim_vq_free(xensim_vq *vq)
{
	if (!vq)
		return 0;
	if (vq->vd)
		return -EINVAL;
	return vq_destroy(vq);
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                   */

void xensim_vq_set_indirect(xensim_vq *vq, bool on)
{
	vq->use_indirect = on && vq->indirect_ok;
}

void xensim_vq_set_vcpu(xensim_vq *vq, unsigned int vcpu)
{
	vq->vcpu = vcpu;
}

unsigned int xensim_vq_index(const xensim_vq *vq)
{
	return vq->index;
}

unsigned int xensim_vq_num(const xensim_vq *vq)
{
	return vq->num;
}

unsigned int xensim_vq_num_free(const xensim_vq *vq)
{
	return vq->num_free;
}

bool xensim_vq_is_broken(const xensim_vq *vq)
{
	return vq->broken;
}

xensim_vdev *xensim_vq_vdev(xensim_vq *vq)
{
	return vq->vd;
}

void xensim_vq_get_stats(const xensim_vq *vq, struct xensim_vq_stats *out)
{
	*out = vq->stats;
}
