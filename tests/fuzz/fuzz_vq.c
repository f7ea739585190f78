/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vq — libFuzzer target for the split virtqueue (lib/vq.c) over plain memory.
 *
 * Input layout (fixed offsets, so mutations stay meaningful):
 *	[0]      queue size: 1 << (b % 6)  (1 .. 32); bit 6: the batch entry points; bit 7: the
 *	         queue runs on vxen_vq_plain_mem_ops() itself (its shortcuts: one-buffer chains
 *	         translated in place, no unmap), without the counting wrapper and map failures
 *	[1]      bit0 INDIRECT_DESC, bit1 EVENT_IDX, bits 2-3 max_seg {0, 1, 3, 64},
 *	         bits 4-5 desc_cap {1, 3, 16, 64}, bits 6-7 iov_cap {1, 4, 32, 256}
 *	[2]      map failure: 0 none, else fail every map whose count % b == 0 with an errno
 *	[3..7]   reserved
 *	[8..71]  32 operations of two bytes (op, arg)
 *	[72..]   the guest memory image, MEM_SIZE bytes (zero-filled when short): descriptor
 *	         table at 0, avail ring at 512, used ring at 1024, free space for indirect tables
 *	         and buffers after 2048. Device addresses are offsets into the image.
 *
 * The operations are the device API calls (pop, pop_many, push with a length, push_many,
 * publish, kicks on/off, pending) and guest actions (advance avail.idx, scribble on memory, even
 *from inside map). After every step the harness checks the invariants the ring code promises:
 *popped heads are below the size and never in flight twice, requests respect their caps, iov
 *entries lie inside guest memory and add up to the chain lengths, used lengths never exceed in_len,
 *used.idx equals the pushes, a broken queue stays broken, counters add up. ASan checks every
 *access.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>

#include "vq_ring.h"

#define MEM_SIZE  8192
#define DESC_OFF  0
#define AVAIL_OFF 512
#define USED_OFF  1024
#define HDR_SIZE  8
#define N_OPS	  32
#define MAX_Q	  32
#define MAX_CAP	  256
#define MIN(a, b) ((a) < (b) ? (a) : (b))

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_vq: invariant failed: %s (line %d)\n", #c,           \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct slot {
	struct vxen_req req;
	struct vxen_desc desc[MAX_CAP];
	struct iovec iov[MAX_CAP];
	bool busy;
};

struct harness {
	uint8_t *mem;
	uint32_t size;
	struct vxen_vq_plain_mem plain;
	struct vxen_vq_mem_ops ops;
	unsigned int fail_every, maps, mapped, ends;
	uint8_t scribble; /* non-zero: map flips a byte of the descriptor table first */
	vxen_vq *vq;
	struct slot slots[MAX_Q];
	unsigned int n_busy;
	uint64_t pushed_ok; /* successful pushes of popped requests */
	bool broken;
	bool direct; /* the plain interface itself: map()/unmap() are not seen here */
};

static int h_read(void *payload, uint64_t addr, void *dst, size_t len)
{
	struct harness *h = payload;

	return vxen_vq_plain_mem_ops()->read(&h->plain, addr, dst, len);
}

static int h_map(void *payload, struct vxen_req *req)
{
	static const int errs[] = { -EFAULT, -ENOMEM, -E2BIG, -EIO };
	struct harness *h = payload;
	int r;

	h->maps++;
	if (h->scribble) /* a guest racing the device: the request must not change */
		h->mem[DESC_OFF + (h->maps * 7 + h->scribble) % (16 * h->size)] ^= h->scribble;
	if (h->fail_every && h->maps % h->fail_every == 0)
		return errs[h->maps % 4];
	r = vxen_vq_plain_mem_ops()->map(&h->plain, req);
	if (!r)
		h->mapped++;
	return r;
}

static void h_unmap(void *payload, struct vxen_req *req, size_t written)
{
	struct harness *h = payload;

	CHECK(h->mapped > 0);
	CHECK(written <= req->in_len);
	h->mapped--;
}

static void h_read_many(void *payload, struct vxen_vq_read *rd, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		rd[i].result = h_read(payload, rd[i].addr, rd[i].dst, rd[i].len);
}

/* A batch end that fails some chains, releasing them as the contract says. */
static void h_map_many_end(void *payload, struct vxen_req *const *reqs, unsigned int n, int *res)
{
	struct harness *h = payload;

	CHECK(n >= 1 && n <= VXEN_VQ_POP_MANY_MAX);
	for (unsigned int i = 0; i < n; i++) {
		res[i] = 0;
		CHECK(reqs[i]->head < h->size);
		if (!h->fail_every || ++h->ends % (h->fail_every + 1))
			continue;
		res[i] = h->ends & 1 ? -EFAULT : -ENOMEM;
		CHECK(h->mapped > 0);
		h->mapped--;
	}
}

static bool inside(const struct harness *h, const struct iovec *v)
{
	const uint8_t *p = v->iov_base;

	return p >= h->mem && v->iov_len <= MEM_SIZE && p + v->iov_len <= h->mem + MEM_SIZE;
}

/* Everything a successful pop promises about @s. */
static void check_popped(struct harness *h, struct slot *s)
{
	struct vxen_req *req = &s->req;
	uint64_t out = 0, in = 0;

	CHECK(req->head < h->size);
	for (unsigned int i = 0; i < MAX_Q; i++)
		CHECK(&h->slots[i] == s || !h->slots[i].busy || h->slots[i].req.head != req->head);
	CHECK(req->n_desc <= req->desc_cap);
	CHECK(req->n_out_desc <= req->n_desc);
	CHECK(req->n_out + req->n_in <= req->iov_cap);
	CHECK(req->out_len + req->in_len <= UINT32_MAX);
	for (unsigned int i = 0; i < req->n_desc; i++)
		CHECK(req->desc[i].flags == (i < req->n_out_desc ? 0 : VXEN_DESC_F_WRITE));
	for (unsigned int i = 0; i < req->n_out + req->n_in; i++) {
		CHECK(inside(h, &req->iov[i]));
		CHECK(!h->plain.max_seg || req->iov[i].iov_len <= h->plain.max_seg);
		if (i < req->n_out)
			out += req->iov[i].iov_len;
		else
			in += req->iov[i].iov_len;
	}
	CHECK(out == req->out_len);
	CHECK(in == req->in_len);
}

/* Touch every byte the device may read (ASan checks the bounds). */
static void touch_out(struct slot *s)
{
	struct vxen_iov_cursor cur;
	uint8_t buf[64];

	vxen_req_out_cursor(&s->req, &cur);
	while (vxen_iov_pull(&cur, buf, sizeof(buf)))
		;
}

static void do_pop(struct harness *h, uint8_t arg)
{
	struct slot *s = &h->slots[arg % MAX_Q];
	int r;

	if (s->busy)
		return;
	r = vxen_vq_pop(h->vq, &s->req);
	if (h->broken)
		CHECK(r == -EPROTO);
	if (r == 1) {
		check_popped(h, s);
		s->busy = true;
		h->n_busy++;
		touch_out(s);
		return;
	}
	if (r == 0)
		CHECK(vxen_vq_pending(h->vq) == 0);
	CHECK(r == 0 || r == -EINVAL || r == -ELOOP || r == -E2BIG || r == -EFAULT || r == -EBUSY ||
	      r == -ENOMEM || r == -EPROTO);
	if (r == -EPROTO) {
		h->broken = true;
		CHECK(vxen_vq_broken(h->vq));
	}
}

/* Pop a batch into up to 1 + arg % MAX_Q free slots. */
static void do_pop_many(struct harness *h, uint8_t arg)
{
	struct vxen_req *reqs[MAX_Q];
	unsigned int n = 0, rej = 0;
	int r;

	for (unsigned int i = 0; i < MAX_Q && n < 1u + arg % MAX_Q; i++)
		if (!h->slots[i].busy)
			reqs[n++] = &h->slots[i].req;
	if (!n)
		return;
	r = vxen_vq_pop_many(h->vq, reqs, n, &rej);
	if (h->broken)
		CHECK(r == -EPROTO);
	if (r == -EPROTO) {
		h->broken = true;
		CHECK(vxen_vq_broken(h->vq));
		return;
	}
	CHECK(r >= 0 && (unsigned int)r <= n && rej <= n);
	for (int i = 0; i < r; i++) {
		struct slot *s = (struct slot *)((char *)reqs[i] - offsetof(struct slot, req));

		CHECK(!s->busy);
		check_popped(h, s);
		s->busy = true;
		h->n_busy++;
		touch_out(s);
	}
	if (r == 0 && rej == 0)
		CHECK(vxen_vq_pending(h->vq) == 0);
}

/* Slot @s was pushed with @written as the @nth used entry: check the entry. */
static void pushed(struct harness *h, struct slot *s, uint32_t written, uint64_t nth)
{
	const uint32_t *e = (const uint32_t *)(h->mem + USED_OFF + 4) + 2 * (nth & (h->size - 1));

	s->busy = false;
	h->n_busy--;
	h->pushed_ok++;
	CHECK(le32toh(e[0]) == s->req.head);
	CHECK(le32toh(e[1]) == (written < s->req.in_len ? written : s->req.in_len));
}

static void do_push(struct harness *h, uint8_t arg)
{
	struct slot *s = &h->slots[arg % MAX_Q];
	struct vxen_iov_cursor cur;
	uint32_t written = (uint32_t)arg * 97u;
	uint8_t fill[64];

	if (!s->busy) {
		CHECK(vxen_vq_push(h->vq, &s->req, written) == -EINVAL);
		return;
	}
	memset(fill, arg, sizeof(fill));
	vxen_req_in_cursor(&s->req, &cur);
	for (uint32_t left = written; left;) {
		size_t n = vxen_iov_push(&cur, fill, left < sizeof(fill) ? left : sizeof(fill));

		if (!n)
			break;
		left -= (uint32_t)n;
	}
	CHECK(vxen_vq_push(h->vq, &s->req, written) == 0);
	pushed(h, s, written, vxen_vq_stats(h->vq)->pushed - 1);
}

/*
 * Complete up to 1 + (arg >> 5) busy slots from slot arg % MAX_Q on in one push_many() call
 * (arg & 0x10: NULL lengths). When arg % 3 == 0 the first idle slot met goes in too: the call
 * returns -EINVAL and pushes the others all the same.
 */
static void do_push_many(struct harness *h, uint8_t arg)
{
	struct vxen_req *reqs[MAX_Q + 1];
	struct slot *which[MAX_Q + 1];
	uint32_t written[MAX_Q + 1];
	unsigned int n = 0, want = 1 + (arg >> 5), stray = MAX_Q;
	uint64_t first = vxen_vq_stats(h->vq)->pushed;
	int r;

	for (unsigned int i = 0; i < MAX_Q && n < want; i++) {
		struct slot *s = &h->slots[(arg + i) % MAX_Q];

		if (!s->busy) {
			if (stray == MAX_Q && arg % 3 == 0)
				stray = n;
			else
				continue;
		}
		which[n] = s;
		reqs[n] = &s->req;
		written[n++] = (uint32_t)(arg + i) * 131u;
	}
	if (!n)
		return;
	r = vxen_vq_push_many(h->vq, reqs, arg & 0x10 ? NULL : written, n);
	CHECK(r == (stray < n ? -EINVAL : 0));
	for (unsigned int i = 0; i < n; i++) {
		if (i == stray)
			continue;
		pushed(h, which[i], arg & 0x10 ? 0 : written[i], first++);
	}
	CHECK(vxen_vq_stats(h->vq)->pushed == first);
}

static void check_counters(struct harness *h)
{
	const struct vxen_vq_stats *st = vxen_vq_stats(h->vq);

	CHECK(st->rejected == st->rej_einval + st->rej_eloop + st->rej_e2big + st->rej_efault +
				      st->rej_ebusy + st->rej_enomem);
	CHECK(st->popped == h->pushed_ok + h->n_busy);
	CHECK(vxen_vq_inflight(h->vq) == h->n_busy);
	CHECK(h->direct || h->mapped == h->n_busy);
	CHECK(st->pushed >= h->pushed_ok);
	CHECK(st->broken == h->broken);
}

static void step(struct harness *h, uint8_t op, uint8_t arg)
{
	uint16_t *avail_idx = (uint16_t *)(h->mem + AVAIL_OFF + 2);

	switch (op % 10) {
	case 0:
		do_pop(h, arg);
		break;
	case 1:
		/* One in four pushes completes a group of slots in one call. */
		if ((arg & 0x0c) == 0x0c)
			do_push_many(h, arg);
		else
			do_push(h, arg);
		break;
	case 2: {
		uint64_t published = vxen_vq_stats(h->vq)->published;

		vxen_vq_publish(h->vq);
		/* A publish with news stores used.idx from the shadow, whatever the guest wrote
		 * there; one without news stores nothing (the guest may have scribbled, op 7). */
		if (vxen_vq_stats(h->vq)->published != published)
			CHECK(le16toh(*(uint16_t *)(h->mem + USED_OFF + 2)) ==
			      (uint16_t)vxen_vq_stats(h->vq)->pushed);
		break;
	}
	case 3: {
		bool was_broken = vxen_vq_broken(h->vq);

		CHECK(!vxen_vq_kicks_enable(h->vq) || !was_broken);
		break;
	}
	case 4:
		vxen_vq_kicks_disable(h->vq);
		break;
	case 5:
		CHECK(vxen_vq_pending(h->vq) <= h->size);
		h->broken = vxen_vq_broken(h->vq);
		break;
	case 6: /* the guest makes chains available */
		*avail_idx = htole16((uint16_t)(le16toh(*avail_idx) + arg % (h->size + 2)));
		break;
	case 7: /* the guest scribbles anywhere */
		h->mem[(arg * 331u + h->maps) % MEM_SIZE] ^= (uint8_t)(arg | 1);
		break;
	case 8: /* the guest writes a raw avail.idx */
		*avail_idx = htole16((uint16_t)(arg * 257u));
		break;
	case 9: /* drain: pop into every free slot, one by one or in a batch */
		if (arg & 1) {
			do_pop_many(h, arg >> 1);
			break;
		}
		for (unsigned int i = 0; i < MAX_Q; i++)
			do_pop(h, (uint8_t)(arg + i));
		break;
	}
	if (vxen_vq_broken(h->vq))
		h->broken = true;
	check_counters(h);
}

static bool setup(struct harness *h, const uint8_t *data, size_t size)
{
	static const size_t segs[] = { 0, 1, 3, 64 };
	static const unsigned int dcaps[] = { 1, 3, 16, 64 };
	static const unsigned int icaps[] = { 1, 4, 32, 256 };
	struct vxen_vq_config cfg = VXEN_VQ_CONFIG_INIT;
	uint8_t f = data[1];

	h->mem = calloc(1, MEM_SIZE); /* exactly MEM_SIZE: ASan flags any byte beyond */
	if (!h->mem)
		return false;
	if (size > HDR_SIZE + 2 * N_OPS)
		memcpy(h->mem, data + HDR_SIZE + 2 * N_OPS,
		       MIN(size - HDR_SIZE - 2 * N_OPS, MEM_SIZE));
	h->size = 1u << (data[0] % 6);
	h->plain = (struct vxen_vq_plain_mem){ .host = h->mem,
					       .size = MEM_SIZE,
					       .max_seg = segs[(f >> 2) & 3] };
	h->ops = (struct vxen_vq_mem_ops){
		.version = VXEN_VQ_MEM_OPS_VERSION, .read = h_read, .map = h_map, .unmap = h_unmap
	};
	if (data[0] & 0x40) { /* the batch entry points (else vq falls back to read()) */
		h->ops.read_many = h_read_many;
		h->ops.map_many_end = h_map_many_end;
	}
	h->fail_every = data[2];
	h->scribble = data[3];
	for (unsigned int i = 0; i < MAX_Q; i++) {
		h->slots[i].req.desc = h->slots[i].desc;
		h->slots[i].req.desc_cap = dcaps[(f >> 4) & 3];
		h->slots[i].req.iov = h->slots[i].iov;
		h->slots[i].req.iov_cap = icaps[(f >> 6) & 3];
	}
	cfg.size = h->size;
	cfg.features =
		(f & 1 ? 1ull << VXEN_F_INDIRECT_DESC : 0) | (f & 2 ? 1ull << VXEN_F_EVENT_IDX : 0);
	cfg.desc = h->mem + DESC_OFF;
	cfg.avail = h->mem + AVAIL_OFF;
	cfg.used = h->mem + USED_OFF;
	cfg.mem = &h->ops;
	cfg.mem_payload = h;
	if (data[0] & 0x80) {
		h->direct = true;
		cfg.mem = vxen_vq_plain_mem_ops();
		cfg.mem_payload = &h->plain;
	}
	CHECK(vxen_vq_new(&h->vq, &cfg) == 0);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;

	if (size < HDR_SIZE)
		return 0;
	/* Reset all but the slots' big arrays (pop fills what it hands out). */
	memset(&h, 0, offsetof(struct harness, slots));
	for (unsigned int i = 0; i < MAX_Q; i++)
		h.slots[i].busy = false;
	h.n_busy = 0;
	h.pushed_ok = 0;
	h.broken = false;
	if (!setup(&h, data, size))
		return 0;
	for (unsigned int i = 0; i < N_OPS && HDR_SIZE + 2 * i + 1 < size; i++)
		step(&h, data[HDR_SIZE + 2 * i], data[HDR_SIZE + 2 * i + 1]);
	/* Freeing with requests in flight unmaps them all. */
	vxen_vq_free(h.vq);
	CHECK(h.mapped == 0);
	free(h.mem);
	return 0;
}
