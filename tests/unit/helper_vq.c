/* SPDX-License-Identifier: MIT */
/* tests/unit/helper_vq.c — the test "guest driver" of helper_vq.h. */
#include <check.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_vq.h"

static int tm_read(void *payload, uint64_t addr, void *dst, size_t len)
{
	struct tvq_mem *tm = payload;

	tm->reads++;
	if (tm->fail_read)
		return tm->fail_read;
	return vxen_vq_plain_mem_ops()->read(&tm->plain, addr, dst, len);
}

static int tm_map(void *payload, struct vxen_req *req)
{
	struct tvq_mem *tm = payload;
	int r;

	tm->map_calls++;
	if (tm->on_map)
		tm->on_map(req, tm->on_map_arg);
	if (tm->fail_map)
		return tm->fail_map;
	r = vxen_vq_plain_mem_ops()->map(&tm->plain, req);
	if (!r) {
		tm->maps++;
		tm->mapped_now++;
	}
	return r;
}

static void tm_unmap(void *payload, struct vxen_req *req, size_t written)
{
	struct tvq_mem *tm = payload;

	tm->unmaps++;
	tm->mapped_now--;
	tm->last_written = written;
	vxen_vq_plain_mem_ops()->unmap(&tm->plain, req, written);
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

struct tvq *tvq_new(uint32_t size, uint64_t features, size_t data_size)
{
	struct tvq *t = calloc(1, sizeof(*t));
	bool ev = features & TVQ_F_EVENT_IDX;
	struct vxen_vq_config cfg = VXEN_VQ_CONFIG_INIT;
	int r;

	if (!t)
		abort();
	t->size = size;
	t->features = features;
	t->desc_off = 0;
	t->avail_off = vxen_vring_desc_bytes(size);
	t->used_off = align_up(t->avail_off + vxen_vring_avail_bytes(size, ev), 4);
	t->data_off = align_up(t->used_off + vxen_vring_used_bytes(size, ev), 64);
	t->data_next = t->data_off;
	t->mem_size = t->data_off + data_size;
	if (posix_memalign((void **)&t->mem, 4096, t->mem_size))
		abort();
	memset(t->mem, 0, t->mem_size);

	t->tm.plain =
		(struct vxen_vq_plain_mem){ .host = t->mem, .base = TVQ_BASE, .size = t->mem_size };
	t->ops = (struct vxen_vq_mem_ops){ .version = VXEN_VQ_MEM_OPS_VERSION,
					   .read = tm_read,
					   .map = tm_map,
					   .unmap = tm_unmap };
	cfg.size = size;
	cfg.features = features;
	cfg.desc = t->mem + t->desc_off;
	cfg.avail = t->mem + t->avail_off;
	cfg.used = t->mem + t->used_off;
	cfg.mem = &t->ops;
	cfg.mem_payload = &t->tm;
	r = vxen_vq_new(&t->vq, &cfg);
	if (r) {
		fprintf(stderr, "tvq_new: vxen_vq_new: %d\n", r);
		abort();
	}
	return t;
}

void tvq_free(struct tvq *t)
{
	if (!t)
		return;
	vxen_vq_free(t->vq);
	free(t->mem);
	free(t);
}

void tvq_req_init(struct tvq_req *r, unsigned int desc_cap, unsigned int iov_cap)
{
	memset(&r->req, 0, sizeof(r->req));
	r->req.desc = r->desc;
	r->req.desc_cap = desc_cap;
	r->req.iov = r->iov;
	r->req.iov_cap = iov_cap;
}

void *tvq_host(struct tvq *t, uint64_t addr)
{
	return t->mem + (addr - TVQ_BASE);
}

uint64_t tvq_alloc(struct tvq *t, size_t len)
{
	size_t off = align_up(t->data_next, 16);

	if (off + len > t->mem_size) {
		fprintf(stderr, "tvq_alloc: data area exhausted\n");
		abort();
	}
	t->data_next = off + len;
	memset(t->mem + off, 0, len);
	return TVQ_BASE + off;
}

static void put_desc(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

void tvq_set_desc(struct tvq *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	put_desc(t->mem + t->desc_off + 16 * (size_t)i, addr, len, flags, next);
}

void tvq_set_table_desc(struct tvq *t, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next)
{
	put_desc(tvq_host(t, table + 16ull * i), addr, len, flags, next);
}

static uint16_t *avail16(struct tvq *t, size_t i)
{
	return (uint16_t *)(t->mem + t->avail_off) + i;
}

static uint16_t *used16(struct tvq *t, size_t i)
{
	return (uint16_t *)(t->mem + t->used_off) + i;
}

void tvq_avail_entry(struct tvq *t, uint16_t head)
{
	*avail16(t, 2 + (t->avail_idx & (t->size - 1))) = htole16(head);
}

void tvq_avail(struct tvq *t, uint16_t head)
{
	tvq_avail_entry(t, head);
	t->avail_idx++;
	/* Like the driver's virtio_wmb() + store of avail.idx. */
	__atomic_store_n(avail16(t, 1), htole16(t->avail_idx), __ATOMIC_RELEASE);
}

void tvq_set_avail_idx(struct tvq *t, uint16_t idx)
{
	t->avail_idx = idx;
	__atomic_store_n(avail16(t, 1), htole16(idx), __ATOMIC_RELEASE);
}

uint8_t tvq_pattern(uint64_t addr)
{
	return (uint8_t)(addr * 7 + (addr >> 8) * 13 + 1);
}

static void fill_pattern(struct tvq *t, uint64_t addr, uint32_t len)
{
	uint8_t *p = tvq_host(t, addr);

	for (uint32_t i = 0; i < len; i++)
		p[i] = tvq_pattern(addr + i);
}

/* Write the @n buffers of a chain as descriptors into the shared table or at @table. */
static void lay_chain(struct tvq *t, uint64_t table, uint16_t first, uint32_t wrap,
		      unsigned int n_out, unsigned int n, const uint32_t *lens)
{
	for (unsigned int k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((first + k) & (wrap - 1));
		uint16_t next = (uint16_t)((first + k + 1) & (wrap - 1));
		uint16_t flags = (k + 1 < n ? VXEN_VRING_DESC_F_NEXT : 0) |
				 (k >= n_out ? VXEN_VRING_DESC_F_WRITE : 0);
		uint64_t addr = lens[k] ? tvq_alloc(t, lens[k]) : 0;

		if (k < n_out)
			fill_pattern(t, addr, lens[k]);
		if (table)
			tvq_set_table_desc(t, table, i, addr, lens[k], flags, next);
		else
			tvq_set_desc(t, i, addr, lens[k], flags, next);
	}
}

uint16_t tvq_add(struct tvq *t, unsigned int n_out, unsigned int n, const uint32_t *lens)
{
	uint16_t head = t->next_desc;

	lay_chain(t, 0, head, t->size, n_out, n, lens);
	t->next_desc = (uint16_t)((head + n) & (t->size - 1));
	tvq_avail(t, head);
	return head;
}

uint16_t tvq_add_indirect(struct tvq *t, unsigned int n_out, unsigned int n, const uint32_t *lens)
{
	uint16_t head = t->next_desc;
	uint64_t table = tvq_alloc(t, 16 * (size_t)n);
	uint32_t wrap = 1;

	while (wrap < n)
		wrap <<= 1;
	lay_chain(t, table, 0, wrap, n_out, n, lens);
	tvq_set_desc(t, head, table, 16 * n, VXEN_VRING_DESC_F_INDIRECT, 0);
	t->next_desc = (uint16_t)((head + 1) & (t->size - 1));
	tvq_avail(t, head);
	return head;
}

uint16_t tvq_used_idx(struct tvq *t)
{
	return le16toh(__atomic_load_n(used16(t, 1), __ATOMIC_ACQUIRE));
}

uint16_t tvq_used_flags(struct tvq *t)
{
	return le16toh(*used16(t, 0));
}

void tvq_used_elem(struct tvq *t, uint16_t slot, uint32_t *id, uint32_t *len)
{
	uint32_t *e = (uint32_t *)used16(t, 2) + 2 * (size_t)(slot & (t->size - 1));

	*id = le32toh(e[0]);
	*len = le32toh(e[1]);
}

uint16_t *tvq_avail_event_ptr(struct tvq *t)
{
	return used16(t, 2 + 4 * (size_t)t->size);
}

uint16_t *tvq_used_idx_ptr(struct tvq *t)
{
	return used16(t, 1);
}

uint16_t tvq_avail_event(struct tvq *t)
{
	return le16toh(*tvq_avail_event_ptr(t));
}

void tvq_set_used_event(struct tvq *t, uint16_t v)
{
	*avail16(t, 2 + t->size) = htole16(v);
}

void tvq_set_avail_flags(struct tvq *t, uint16_t v)
{
	*avail16(t, 0) = htole16(v);
}

void tvq_pop_ok(struct tvq *t, struct tvq_req *r)
{
	ck_assert_int_eq(vxen_vq_pop(t->vq, &r->req), 1);
}
