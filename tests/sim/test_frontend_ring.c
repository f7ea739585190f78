/* SPDX-License-Identifier: MIT */
/*
 * The guest-side split ring driver (xensim_vq) against a device played by the test itself:
 * the test acts as dom0, maps the guest's grants with (xensim's drop-in) libxengnttab exactly as
 * a backend would, reads the ring through that mapping, and publishes used entries.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xengnttab.h>

#include "xensim-virtio.h"

#define BIT63 (1ULL << 63)
#define PAGE  4096u

static xensim_server *srv;
static xensim *xs;
static xensim_guest *g;
static uint32_t domid;
static xengnttab_handle *xgt;
static xensim_vq *vqs[8]; /* freed by teardown unless a test freed them */
static unsigned int nvqs;

static void setup(void)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;

	cfg.ram_bytes = 32u << 20;
	ck_assert_int_eq(xensim_server_start(&srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&xs, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(xs, &cfg, &domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&g, xs, domid), 0);
	xgt = xengnttab_open(NULL, 0);
	ck_assert_ptr_nonnull(xgt);
}

static void teardown(void)
{
	for (unsigned int i = 0; i < nvqs; i++)
		xensim_vq_free(vqs[i]);
	xengnttab_close(xgt);
	xensim_guest_detach(g);
	xensim_close(xs);
	xensim_server_stop(srv);
}

/* ------------------------------------------------------------------------------------------ */
/* The device side, as a grant-mapping backend does it                                         */

struct dmap {
	uint8_t *base; /* page-aligned mapping */
	uint32_t n;
	uint8_t *p; /* base + in-page offset */
};

/* Map the buffer at grant address @dma (consecutive refs, as grant-dma-ops promises). */
static bool dev_map(uint64_t dma, size_t len, int prot, struct dmap *m)
{
	uint32_t gref = (uint32_t)((dma & ~BIT63) >> 12), off = dma & 0xfff;
	uint32_t n = (uint32_t)((off + len + PAGE - 1) / PAGE);
	uint32_t refs[64];

	ck_assert(dma & BIT63);
	ck_assert_uint_le(n, 64);
	for (uint32_t i = 0; i < n; i++)
		refs[i] = gref + i;
	m->base = xengnttab_map_domain_grant_refs(xgt, n, domid, refs, prot);
	m->n = n;
	m->p = m->base ? m->base + off : NULL;
	return m->base != NULL;
}

static void dev_unmap(struct dmap *m)
{
	ck_assert_int_eq(xengnttab_unmap(xgt, m->base, m->n), 0);
}

/* The ring as the device sees it: mapped from the addresses the driver would program. */
struct dring {
	struct xensim_vq_raw raw;
	struct dmap map;
	uint8_t *desc;
	uint16_t *avail, *used;
	uint32_t *elems;
	uint16_t *avail_event;
	uint16_t used_idx;
};

static void dring_open(xensim_vq *vq, struct dring *r)
{
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(xensim_vq_raw(vq, &r->raw), 0);
	ck_assert(dev_map(r->raw.desc_dma, r->raw.ring_bytes, PROT_READ | PROT_WRITE, &r->map));
	r->desc = r->map.p;
	r->avail = (uint16_t *)(r->map.p + (r->raw.avail_dma - r->raw.desc_dma));
	r->used = (uint16_t *)(r->map.p + (r->raw.used_dma - r->raw.desc_dma));
	r->elems = (uint32_t *)(r->used + 2);
	r->avail_event = (uint16_t *)(r->elems + 2 * r->raw.num);
}

struct ddesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct ddesc desc_at(const uint8_t *table, unsigned int i)
{
	struct ddesc d;

	memcpy(&d.addr, table + 16 * i, 8);
	memcpy(&d.len, table + 16 * i + 8, 4);
	memcpy(&d.flags, table + 16 * i + 12, 2);
	memcpy(&d.next, table + 16 * i + 14, 2);
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.flags = le16toh(d.flags);
	d.next = le16toh(d.next);
	return d;
}

static uint16_t avail_idx(struct dring *r)
{
	return le16toh(__atomic_load_n(&r->avail[1], __ATOMIC_ACQUIRE));
}

static uint16_t avail_head(struct dring *r, uint16_t slot)
{
	return le16toh(r->avail[2 + (slot & (r->raw.num - 1))]);
}

static uint16_t used_event(struct dring *r)
{
	return le16toh(__atomic_load_n(&r->avail[2 + r->raw.num], __ATOMIC_ACQUIRE));
}

/* Publish one used entry: element first, then (release) used.idx. */
static void dev_push(struct dring *r, uint32_t id, uint32_t len)
{
	uint16_t slot = r->used_idx & (r->raw.num - 1);

	r->elems[2 * slot] = htole32(id);
	r->elems[2 * slot + 1] = htole32(len);
	r->used_idx++;
	__atomic_store_n(&r->used[1], htole16(r->used_idx), __ATOMIC_RELEASE);
}

/* Guest RAM for data. */
static uint64_t galloc(size_t npages)
{
	uint64_t gpa;

	ck_assert_int_eq(xensim_guest_alloc_pages(g, npages, &gpa), 0);
	return gpa;
}

static xensim_vq *new_vq(unsigned int num, uint64_t features)
{
	xensim_vq *vq = NULL;

	ck_assert_int_eq(xensim_vq_new(&vq, g, 0, num, features), 0);
	ck_assert_uint_lt(nvqs, 8);
	vqs[nvqs++] = vq;
	return vq;
}

/* Free @vq now (the test checks the result); teardown must not free it again. */
static int free_vq(xensim_vq *vq)
{
	for (unsigned int i = 0; i < nvqs; i++)
		if (vqs[i] == vq)
			vqs[i] = NULL;
	return xensim_vq_free(vq);
}

#define F_INDIRECT XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_INDIRECT_DESC)
#define F_EVENT	   XENSIM_VIRTIO_BIT(XENSIM_VIRTIO_F_EVENT_IDX)

/* ------------------------------------------------------------------------------------------ */
/* Ring layout                                                                                 */

START_TEST(vq__ring_layout_matches_linux_vring_for_64_entries)
{
	xensim_vq *vq = new_vq(64, F_EVENT);
	struct xensim_vq_raw raw;

	ck_assert_int_eq(xensim_vq_raw(vq, &raw), 0);
	/* Seen on real Xen (reference/xen.md): desc=..8000 avail=..8400 used=..9000, 64 entries. */
	ck_assert(raw.desc_dma & BIT63);
	ck_assert_uint_eq(raw.desc_dma & 0xfff, 0);
	ck_assert_uint_eq(raw.avail_dma - raw.desc_dma, 0x400);
	ck_assert_uint_eq(raw.used_dma - raw.desc_dma, 0x1000);
	/* used: flags, idx, 64 elements of 8 bytes, avail_event. */
	ck_assert_uint_eq(raw.ring_bytes, 0x1000 + 4 + 64 * 8 + 2);
	ck_assert_ptr_eq((uint8_t *)raw.avail_event, (uint8_t *)raw.used + 4 + 64 * 8);
	ck_assert_ptr_eq((uint8_t *)raw.used_ring, (uint8_t *)raw.used + 4);
	ck_assert_int_eq(free_vq(vq), 0);
}
END_TEST

START_TEST(vq__ring_layout_aligns_used_ring_to_4k_for_256_entries)
{
	xensim_vq *vq = new_vq(256, 0);
	struct xensim_vq_raw raw;

	ck_assert_int_eq(xensim_vq_raw(vq, &raw), 0);
	/* avail at 16*256; avail ends at 4096 + 6 + 2*256 = 4614 -> used at 8192. */
	ck_assert_uint_eq(raw.avail_dma - raw.desc_dma, 4096);
	ck_assert_uint_eq(raw.used_dma - raw.desc_dma, 8192);
	ck_assert_int_eq(free_vq(vq), 0);
}
END_TEST

START_TEST(vq__new_rejects_size_not_power_of_two)
{
	xensim_vq *vq = (xensim_vq *)&vq;

	ck_assert_int_eq(xensim_vq_new(&vq, g, 0, 48, 0), -EINVAL);
	ck_assert_int_eq(xensim_vq_new(&vq, g, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(xensim_vq_new(&vq, g, 0, 65536, 0), -EINVAL);
	ck_assert_ptr_eq(vq, (xensim_vq *)&vq); /* untouched */
}
END_TEST

START_TEST(vq__ring_is_granted_read_write_to_backend)
{
	xensim_vq *vq = new_vq(64, 0);
	struct dring r;

	dring_open(vq, &r); /* maps PROT_READ|PROT_WRITE */
	dev_unmap(&r.map);
	ck_assert_int_eq(free_vq(vq), 0);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Adding buffers                                                                              */

START_TEST(vq__add_direct_chain_writes_grant_descriptors_and_avail)
{
	xensim_vq *vq = new_vq(16, 0);
	uint64_t out_gpa = galloc(3) + 100, in_gpa = galloc(1) + 8;
	struct xensim_sg out = { out_gpa, 2 * PAGE }, in = { in_gpa, 512 };
	int token;
	struct dring r;
	struct ddesc d0, d1;
	uint16_t head;

	ck_assert_int_eq(xensim_vq_add(vq, &out, 1, &in, 1, &token), 0);
	dring_open(vq, &r);
	ck_assert_uint_eq(avail_idx(&r), 1);
	head = avail_head(&r, 0);
	ck_assert_uint_lt(head, 16);
	d0 = desc_at(r.desc, head);
	ck_assert(d0.addr & BIT63);
	ck_assert_uint_eq(d0.addr & 0xfff, out_gpa & 0xfff); /* in-page offset is kept */
	ck_assert_uint_eq(d0.len, 2 * PAGE);
	ck_assert_uint_eq(d0.flags, XENSIM_VRING_DESC_F_NEXT);
	d1 = desc_at(r.desc, d0.next);
	ck_assert(d1.addr & BIT63);
	ck_assert_uint_eq(d1.addr & 0xfff, 8);
	ck_assert_uint_eq(d1.len, 512);
	ck_assert_uint_eq(d1.flags, XENSIM_VRING_DESC_F_WRITE);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 14);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__multi_page_buffer_uses_consecutive_refs)
{
	xensim_vq *vq = new_vq(16, 0);
	uint64_t gpa = galloc(4) + 0x234;
	size_t len = 3 * PAGE; /* spans 4 pages because of the offset */
	uint8_t *host = xensim_guest_ptr(g, gpa, len);
	struct xensim_sg out = { gpa, (uint32_t)len };
	struct dring r;
	struct dmap m;
	int token;

	for (size_t i = 0; i < len; i++)
		host[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(xensim_vq_add(vq, &out, 1, NULL, 0, &token), 0);
	dring_open(vq, &r);
	/* dev_map maps gref..gref+3: the data read through them must be the buffer. */
	ck_assert(dev_map(desc_at(r.desc, avail_head(&r, 0)).addr, len, PROT_READ, &m));
	ck_assert_uint_eq(m.n, 4);
	ck_assert_mem_eq(m.p, host, len);
	dev_unmap(&m);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__out_buffers_granted_read_only_in_buffers_writable)
{
	xensim_vq *vq = new_vq(16, 0);
	struct xensim_sg out = { galloc(1), 64 }, in = { galloc(1), 64 };
	struct dring r;
	struct dmap m;
	struct ddesc d0, d1;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, &out, 1, &in, 1, &token), 0);
	dring_open(vq, &r);
	d0 = desc_at(r.desc, avail_head(&r, 0));
	d1 = desc_at(r.desc, d0.next);
	/* "Mapping an RO grant writable fails" (reference/xen.md). */
	ck_assert(!dev_map(d0.addr, d0.len, PROT_READ | PROT_WRITE, &m));
	ck_assert(dev_map(d0.addr, d0.len, PROT_READ, &m));
	dev_unmap(&m);
	ck_assert(dev_map(d1.addr, d1.len, PROT_READ | PROT_WRITE, &m));
	dev_unmap(&m);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__indirect_chain_takes_one_slot_and_a_read_only_table)
{
	xensim_vq *vq = new_vq(16, F_INDIRECT);
	struct xensim_sg out[2] = { { galloc(1), 16 }, { galloc(1), 4096 } };
	struct xensim_sg in = { galloc(1), 1 };
	struct xensim_vq_stats st;
	struct dring r;
	struct dmap m;
	struct ddesc top, e;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, out, 2, &in, 1, &token), 0);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 15);
	dring_open(vq, &r);
	top = desc_at(r.desc, avail_head(&r, 0));
	ck_assert_uint_eq(top.flags, XENSIM_VRING_DESC_F_INDIRECT);
	ck_assert_uint_eq(top.len, 3 * 16);
	ck_assert(!dev_map(top.addr, top.len, PROT_READ | PROT_WRITE, &m));
	ck_assert(dev_map(top.addr, top.len, PROT_READ, &m));
	for (unsigned int i = 0; i < 3; i++) {
		e = desc_at(m.p, i);
		ck_assert(e.addr & BIT63);
		ck_assert_uint_eq(e.len, i < 2 ? out[i].len : 1);
		ck_assert_uint_eq(e.flags & XENSIM_VRING_DESC_F_NEXT,
				  i < 2 ? XENSIM_VRING_DESC_F_NEXT : 0);
		ck_assert_uint_eq(e.flags & XENSIM_VRING_DESC_F_WRITE,
				  i == 2 ? XENSIM_VRING_DESC_F_WRITE : 0);
		if (i < 2)
			ck_assert_uint_eq(e.next, i + 1);
	}
	dev_unmap(&m);
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.indirect, 1);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__single_descriptor_never_goes_indirect)
{
	xensim_vq *vq = new_vq(16, F_INDIRECT);
	struct xensim_sg in = { galloc(1), 100 };
	struct dring r;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &in, 1, &token), 0);
	dring_open(vq, &r);
	ck_assert_uint_eq(desc_at(r.desc, avail_head(&r, 0)).flags, XENSIM_VRING_DESC_F_WRITE);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__indirect_can_be_turned_off)
{
	xensim_vq *vq = new_vq(16, F_INDIRECT);
	struct xensim_sg out[2] = { { galloc(1), 16 }, { galloc(1), 16 } };
	int token;

	xensim_vq_set_indirect(vq, false);
	ck_assert_int_eq(xensim_vq_add(vq, out, 2, NULL, 0, &token), 0);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 14);
}
END_TEST

START_TEST(vq__add_rejects_bad_arguments)
{
	xensim_vq *vq = new_vq(4, 0);
	struct xensim_sg sg[5] = { { galloc(1), 8 },
				   { galloc(1), 8 },
				   { galloc(1), 8 },
				   { galloc(1), 8 },
				   { galloc(1), 8 } };
	struct xensim_sg zero = { galloc(1), 0 };
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, sg, 1, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, NULL, 0, &token), -EINVAL);
	ck_assert_int_eq(xensim_vq_add(vq, &zero, 1, NULL, 0, &token), -EINVAL);
	/* A chain longer than the queue is never valid (virtio 1.2 §2.7.5.3.1). */
	ck_assert_int_eq(xensim_vq_add(vq, sg, 5, NULL, 0, &token), -EINVAL);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 4);
}
END_TEST

START_TEST(vq__add_reports_enospc_when_descriptors_run_out)
{
	xensim_vq *vq = new_vq(4, 0);
	struct xensim_sg sg[3] = { { galloc(1), 8 }, { galloc(1), 8 }, { galloc(1), 8 } };
	struct dring r;
	int t1, t2;

	ck_assert_int_eq(xensim_vq_add(vq, sg, 2, NULL, 0, &t1), 0);
	ck_assert_int_eq(xensim_vq_add(vq, sg, 3, NULL, 0, &t2), -ENOSPC);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 2);
	dring_open(vq, &r);
	ck_assert_uint_eq(avail_idx(&r), 1);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__failed_mapping_leaves_ring_untouched)
{
	xensim_vq *vq = new_vq(8, 0);
	uint64_t ram;
	struct xensim_sg sg[2];
	struct dring r;
	int token;

	xensim_guest_ram(g, &ram);
	sg[0] = (struct xensim_sg){ galloc(1), 8 };
	sg[1] = (struct xensim_sg){ ram + 16 * PAGE, 8 }; /* outside guest RAM */
	ck_assert_int_lt(xensim_vq_add(vq, sg, 2, NULL, 0, &token), 0);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 8);
	dring_open(vq, &r);
	ck_assert_uint_eq(avail_idx(&r), 0);
	dev_unmap(&r.map);
	/* The queue still works afterwards. */
	ck_assert_int_eq(xensim_vq_add(vq, sg, 1, NULL, 0, &token), 0);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Collecting used buffers                                                                     */

START_TEST(vq__get_buf_returns_token_len_and_ends_grants)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_sg out = { galloc(1), 16 }, in = { galloc(1), 256 };
	struct xensim_vq_stats st;
	struct dring r;
	struct dmap m;
	struct ddesc d0, d1;
	void *tok = NULL;
	uint32_t len = 0;
	int token;

	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, &len), 0);
	ck_assert_int_eq(xensim_vq_add(vq, &out, 1, &in, 1, &token), 0);
	dring_open(vq, &r);
	d0 = desc_at(r.desc, avail_head(&r, 0));
	d1 = desc_at(r.desc, d0.next);
	ck_assert(!xensim_vq_more_used(vq));
	dev_push(&r, avail_head(&r, 0), 200);
	ck_assert(xensim_vq_more_used(vq));
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, &len), 1);
	ck_assert_ptr_eq(tok, &token);
	ck_assert_uint_eq(len, 200);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 8);
	/* Access ended: the backend can no longer map either buffer. */
	ck_assert(!dev_map(d0.addr, d0.len, PROT_READ, &m));
	ck_assert(!dev_map(d1.addr, d1.len, PROT_READ, &m));
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, &len), 0);
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.used, 1);
	ck_assert_uint_eq(st.unmap_busy, 0);
	ck_assert_uint_eq(st.len_overflow, 0);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__get_buf_ends_access_to_indirect_table_and_its_buffers)
{
	xensim_vq *vq = new_vq(8, F_INDIRECT);
	struct xensim_sg out = { galloc(1), 16 }, in = { galloc(1), 32 };
	struct dring r;
	struct dmap m;
	struct ddesc top, e0;
	void *tok;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, &out, 1, &in, 1, &token), 0);
	dring_open(vq, &r);
	top = desc_at(r.desc, avail_head(&r, 0));
	ck_assert(dev_map(top.addr, top.len, PROT_READ, &m));
	e0 = desc_at(m.p, 0);
	dev_unmap(&m);
	dev_push(&r, avail_head(&r, 0), 32);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
	ck_assert(!dev_map(top.addr, top.len, PROT_READ, &m));
	ck_assert(!dev_map(e0.addr, e0.len, PROT_READ, &m));
	ck_assert_uint_eq(xensim_vq_num_free(vq), 8);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__get_buf_reports_ebusy_when_backend_still_maps_buffer)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_sg in = { galloc(1), 256 }, more = { galloc(1), 8 };
	struct xensim_vq_stats st;
	struct dring r;
	struct dmap m;
	void *tok = NULL;
	uint32_t len = 0;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &in, 1, &token), 0);
	dring_open(vq, &r);
	ck_assert(
		dev_map(desc_at(r.desc, avail_head(&r, 0)).addr, 256, PROT_READ | PROT_WRITE, &m));
	dev_push(&r, avail_head(&r, 0), 256); /* published while still mapped: the classic bug */
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, &len), -EBUSY);
	ck_assert_ptr_eq(tok, &token);
	ck_assert_uint_eq(len, 256);
	ck_assert_uint_ge(xensim_guest_broken(g), 1);
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.unmap_busy, 1);
	/* grant-dma-ops: the device is broken for good, later mappings are refused. */
	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &more, 1, &token), -EIO);
	dev_unmap(&m);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__get_buf_breaks_queue_on_used_id_out_of_range)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_sg in = { galloc(1), 8 };
	struct xensim_vq_stats st;
	struct dring r;
	void *tok = NULL;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &in, 1, &token), 0);
	dring_open(vq, &r);
	dev_push(&r, 8, 0);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), -EIO);
	ck_assert(xensim_vq_is_broken(vq));
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.bad_used, 1);
	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &in, 1, &token), -EIO);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__get_buf_breaks_queue_on_id_not_in_flight)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_sg in = { galloc(1), 8 };
	struct dring r;
	void *tok = NULL;
	int token;
	uint16_t head;

	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &in, 1, &token), 0);
	dring_open(vq, &r);
	head = avail_head(&r, 0);
	dev_push(&r, (head + 1) % 8, 0);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), -EIO);
	ck_assert(xensim_vq_is_broken(vq));
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__used_len_beyond_writable_bytes_is_counted)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_sg in = { galloc(1), 8 };
	struct xensim_vq_stats st;
	struct dring r;
	void *tok;
	uint32_t len;
	int token;

	ck_assert_int_eq(xensim_vq_add(vq, NULL, 0, &in, 1, &token), 0);
	dring_open(vq, &r);
	dev_push(&r, avail_head(&r, 0), 9);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, &len), 1);
	ck_assert_uint_eq(len, 9);
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.len_overflow, 1);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__out_of_order_completion_recycles_descriptors)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_sg sg[2] = { { galloc(1), 8 }, { galloc(1), 8 } };
	int tokens[4];
	uint16_t heads[4];
	struct dring r;
	void *tok;

	dring_open(vq, &r);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(xensim_vq_add(vq, sg, 1, sg + 1, 1, &tokens[i]), 0);
			heads[i] = avail_head(&r, (uint16_t)(avail_idx(&r) - 1));
		}
		ck_assert_uint_eq(xensim_vq_num_free(vq), 0);
		/* Complete in the order 2, 0, 3, 1. */
		static const int order[4] = { 2, 0, 3, 1 };
		for (int k = 0; k < 4; k++) {
			dev_push(&r, heads[order[k]], 0);
			ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
			ck_assert_ptr_eq(tok, &tokens[order[k]]);
		}
		ck_assert_uint_eq(xensim_vq_num_free(vq), 8);
	}
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__detach_unused_returns_every_queued_token)
{
	xensim_vq *vq = new_vq(8, F_INDIRECT);
	struct xensim_sg sg[2] = { { galloc(1), 8 }, { galloc(1), 8 } };
	int tokens[3], seen = 0;
	void *tok;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(xensim_vq_add(vq, sg, 1 + (i & 1), NULL, 0, &tokens[i]), 0);
	while (xensim_vq_detach_unused(vq, &tok) == 1)
		for (int i = 0; i < 3; i++)
			seen |= tok == &tokens[i] ? 1 << i : 0;
	ck_assert_int_eq(seen, 7);
	ck_assert_uint_eq(xensim_vq_num_free(vq), 8);
	ck_assert_int_eq(free_vq(vq), 0);
}
END_TEST

START_TEST(vq__free_reports_ebusy_while_backend_maps_ring)
{
	xensim_vq *vq = new_vq(8, 0);
	struct dring r;

	dring_open(vq, &r);
	ck_assert_int_eq(free_vq(vq), -EBUSY);
	dev_unmap(&r.map);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Notification suppression                                                                    */

static void add_one(xensim_vq *vq, int *token)
{
	struct xensim_sg sg = { galloc(1), 8 };

	ck_assert_int_eq(xensim_vq_add(vq, &sg, 1, NULL, 0, token), 0);
}

START_TEST(vq__kick_honours_used_no_notify_without_event_idx)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_vq_stats st;
	struct dring r;
	int t[2];

	dring_open(vq, &r);
	r.used[0] = htole16(XENSIM_VRING_USED_F_NO_NOTIFY);
	add_one(vq, &t[0]);
	ck_assert_int_eq(xensim_vq_kick(vq), 0);
	r.used[0] = 0;
	add_one(vq, &t[1]);
	ck_assert_int_eq(xensim_vq_kick(vq), 1);
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.kicks_suppressed, 1);
	ck_assert_uint_eq(st.kicks, 1);
	ck_assert_uint_eq(st.notifies, 1);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__kick_with_event_idx_notifies_only_when_crossing_avail_event)
{
	xensim_vq *vq = new_vq(16, F_EVENT);
	struct dring r;
	int t[8];

	dring_open(vq, &r);
	/* avail_event 0, idx 0 -> 1: the device asked to hear about entry 0. */
	add_one(vq, &t[0]);
	ck_assert(xensim_vq_kick_prepare(vq));
	/* Device wants a kick once entry 4 is added; 1 -> 3 does not reach it. */
	*r.avail_event = htole16(4);
	add_one(vq, &t[1]);
	add_one(vq, &t[2]);
	ck_assert(!xensim_vq_kick_prepare(vq));
	/* 3 -> 4 does not cross it either (entry 4 is the 5th); 4 -> 5 does. */
	add_one(vq, &t[3]);
	ck_assert(!xensim_vq_kick_prepare(vq));
	add_one(vq, &t[4]);
	ck_assert(xensim_vq_kick_prepare(vq));
	/* A stale avail_event behind the batch does not ask again. */
	add_one(vq, &t[5]);
	ck_assert(!xensim_vq_kick_prepare(vq));
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__kick_with_event_idx_is_wrap_safe)
{
	xensim_vq *vq = new_vq(2, F_EVENT);
	struct xensim_sg sg = { galloc(1), 8 };
	struct dring r;
	void *tok;
	int t[2];

	dring_open(vq, &r);
	/* Move avail.idx to 65534 (one add + one completion per step). */
	for (unsigned int i = 0; i < 65534; i++) {
		ck_assert_int_eq(xensim_vq_add(vq, &sg, 1, NULL, 0, &t[0]), 0);
		dev_push(&r, avail_head(&r, (uint16_t)i), 0);
		ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
	}
	xensim_vq_kick_prepare(vq); /* forget the 65534 adds */
	ck_assert_uint_eq(avail_idx(&r), 65534);
	/* The device asks for entry 65535; 65534 -> 0 (wrapping) crosses it. */
	*r.avail_event = htole16(65535);
	ck_assert_int_eq(xensim_vq_add(vq, &sg, 1, NULL, 0, &t[0]), 0);
	ck_assert_int_eq(xensim_vq_add(vq, &sg, 1, NULL, 0, &t[1]), 0);
	ck_assert_uint_eq(avail_idx(&r), 0);
	ck_assert(xensim_vq_kick_prepare(vq));
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__get_buf_publishes_used_event_with_event_idx)
{
	xensim_vq *vq = new_vq(8, F_EVENT);
	struct dring r;
	void *tok;
	int t[2];

	dring_open(vq, &r);
	add_one(vq, &t[0]);
	add_one(vq, &t[1]);
	dev_push(&r, avail_head(&r, 0), 0);
	dev_push(&r, avail_head(&r, 1), 0);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
	ck_assert_uint_eq(used_event(&r), 1);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
	ck_assert_uint_eq(used_event(&r), 2);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__disable_enable_cb_toggle_avail_flags_without_event_idx)
{
	xensim_vq *vq = new_vq(8, 0);
	struct dring r;
	void *tok;
	int t;

	dring_open(vq, &r);
	ck_assert_uint_eq(le16toh(r.avail[0]), 0);
	xensim_vq_disable_cb(vq);
	ck_assert_uint_eq(le16toh(r.avail[0]), XENSIM_VRING_AVAIL_F_NO_INTERRUPT);
	ck_assert(xensim_vq_enable_cb(vq));
	ck_assert_uint_eq(le16toh(r.avail[0]), 0);
	/* With a used entry pending, enable_cb tells the caller to collect it first. */
	xensim_vq_disable_cb(vq);
	add_one(vq, &t);
	dev_push(&r, avail_head(&r, 0), 0);
	ck_assert(!xensim_vq_enable_cb(vq));
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
	ck_assert(xensim_vq_enable_cb(vq));
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__enable_cb_with_event_idx_sets_used_event_and_keeps_flags_clear)
{
	xensim_vq *vq = new_vq(8, F_EVENT);
	struct dring r;
	void *tok;
	int t[3];

	dring_open(vq, &r);
	for (int i = 0; i < 3; i++)
		add_one(vq, &t[i]);
	dev_push(&r, avail_head(&r, 0), 0);
	xensim_vq_disable_cb(vq);
	ck_assert_uint_eq(le16toh(r.avail[0]), 0); /* flags are not used with EVENT_IDX */
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, NULL), 1);
	ck_assert_uint_eq(used_event(&r), 0); /* callbacks off: not advanced */
	ck_assert(xensim_vq_enable_cb(vq));
	ck_assert_uint_eq(used_event(&r), 1);
	ck_assert_uint_eq(le16toh(r.avail[0]), 0);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__enable_cb_delayed_asks_after_three_quarters)
{
	xensim_vq *vq = new_vq(8, F_EVENT);
	struct dring r;
	int t[8];

	dring_open(vq, &r);
	for (int i = 0; i < 8; i++)
		add_one(vq, &t[i]);
	xensim_vq_disable_cb(vq);
	ck_assert(xensim_vq_enable_cb_delayed(vq));
	/* 8 outstanding: interrupt after 3/4 of them, i.e. at used_event 0 + 6. */
	ck_assert_uint_eq(used_event(&r), 6);
	dev_unmap(&r.map);
}
END_TEST

START_TEST(vq__notify_without_device_only_counts)
{
	xensim_vq *vq = new_vq(8, 0);
	struct xensim_vq_stats st;

	ck_assert_int_eq(xensim_vq_notify(vq), 0);
	xensim_vq_get_stats(vq, &st);
	ck_assert_uint_eq(st.notifies, 1);
	ck_assert_int_eq(xensim_vq_wait(vq, 0), -ENODEV);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Raw access                                                                                  */

START_TEST(vq__raw_writes_reach_the_device_verbatim)
{
	xensim_vq *vq = new_vq(8, 0);
	struct dring r;
	struct ddesc d;

	dring_open(vq, &r);
	ck_assert_int_eq(xensim_vq_raw_set_desc(vq, 3, 0x1234, 0xffffffffu, 0x7, 9), 0);
	ck_assert_int_eq(xensim_vq_raw_set_desc(vq, 8, 0, 0, 0, 0), -EINVAL);
	xensim_vq_raw_set_avail(vq, 5, 77);
	xensim_vq_raw_set_avail_idx(vq, 300);
	xensim_vq_raw_set_avail_flags(vq, 0xabcd);
	xensim_vq_raw_set_used_event(vq, 4321);
	d = desc_at(r.desc, 3);
	ck_assert_uint_eq(d.addr, 0x1234);
	ck_assert_uint_eq(d.len, 0xffffffffu);
	ck_assert_uint_eq(d.flags, 7);
	ck_assert_uint_eq(d.next, 9);
	ck_assert_uint_eq(avail_head(&r, 5), 77);
	ck_assert_uint_eq(avail_idx(&r), 300);
	ck_assert_uint_eq(xensim_vq_raw_avail_idx(vq), 300);
	ck_assert_uint_eq(le16toh(r.avail[0]), 0xabcd);
	ck_assert_uint_eq(used_event(&r), 4321);
	dev_unmap(&r.map);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("frontend_ring");
	TCase *tc = tcase_create("vq");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, vq__ring_layout_matches_linux_vring_for_64_entries);
	tcase_add_test(tc, vq__ring_layout_aligns_used_ring_to_4k_for_256_entries);
	tcase_add_test(tc, vq__new_rejects_size_not_power_of_two);
	tcase_add_test(tc, vq__ring_is_granted_read_write_to_backend);
	tcase_add_test(tc, vq__add_direct_chain_writes_grant_descriptors_and_avail);
	tcase_add_test(tc, vq__multi_page_buffer_uses_consecutive_refs);
	tcase_add_test(tc, vq__out_buffers_granted_read_only_in_buffers_writable);
	tcase_add_test(tc, vq__indirect_chain_takes_one_slot_and_a_read_only_table);
	tcase_add_test(tc, vq__single_descriptor_never_goes_indirect);
	tcase_add_test(tc, vq__indirect_can_be_turned_off);
	tcase_add_test(tc, vq__add_rejects_bad_arguments);
	tcase_add_test(tc, vq__add_reports_enospc_when_descriptors_run_out);
	tcase_add_test(tc, vq__failed_mapping_leaves_ring_untouched);
	tcase_add_test(tc, vq__get_buf_returns_token_len_and_ends_grants);
	tcase_add_test(tc, vq__get_buf_ends_access_to_indirect_table_and_its_buffers);
	tcase_add_test(tc, vq__get_buf_reports_ebusy_when_backend_still_maps_buffer);
	tcase_add_test(tc, vq__get_buf_breaks_queue_on_used_id_out_of_range);
	tcase_add_test(tc, vq__get_buf_breaks_queue_on_id_not_in_flight);
	tcase_add_test(tc, vq__used_len_beyond_writable_bytes_is_counted);
	tcase_add_test(tc, vq__out_of_order_completion_recycles_descriptors);
	tcase_add_test(tc, vq__detach_unused_returns_every_queued_token);
	tcase_add_test(tc, vq__free_reports_ebusy_while_backend_maps_ring);
	tcase_add_test(tc, vq__kick_honours_used_no_notify_without_event_idx);
	tcase_add_test(tc, vq__kick_with_event_idx_notifies_only_when_crossing_avail_event);
	tcase_add_test(tc, vq__kick_with_event_idx_is_wrap_safe);
	tcase_add_test(tc, vq__get_buf_publishes_used_event_with_event_idx);
	tcase_add_test(tc, vq__disable_enable_cb_toggle_avail_flags_without_event_idx);
	tcase_add_test(tc, vq__enable_cb_with_event_idx_sets_used_event_and_keeps_flags_clear);
	tcase_add_test(tc, vq__enable_cb_delayed_asks_after_three_quarters);
	tcase_add_test(tc, vq__notify_without_device_only_counts);
	tcase_add_test(tc, vq__raw_writes_reach_the_device_verbatim);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
