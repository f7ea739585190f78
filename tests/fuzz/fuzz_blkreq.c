/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the virtio-blk request parser of the blk example
 * (examples/blk/blk_req.c): the guest chooses the buffer layout (how many descriptors, their
 * lengths, where the header is split) and every byte of the header and of the DISCARD /
 * WRITE_ZEROES segments; the disk and the negotiated features come from the input too.
 *
 * Checked after each parse, from blk_req.h's contract:
 *  - the buffers are never written, and never read beyond what the parser needs (each buffer is
 *    its own exact-size allocation; a "huge" descriptor claims up to 4 GiB but is backed by
 *    only 512 bytes, so reading past the header and segments is an ASan report);
 *  - status_byte is the last writable byte (NULL iff there are no writable bytes or more than
 *    4 GiB of them), in_len the writable total;
 *  - an accepted READ/WRITE lies inside the disk, moves a non-zero multiple of 512 bytes,
 *    its data entries are non-empty sub-ranges of the right buffers adding up to len, a READ's
 *    never include the status byte, a WRITE's never include the header;
 *  - DISCARD/WRITE_ZEROES only when negotiated, never on a read-only disk, every range inside
 *    the disk with valid flags; WRITE never on a read-only disk; FLUSH/GET_ID shapes exact;
 *  - unknown types are UNSUPP.
 *
 * Input: 32-byte header (see struct hdr below), then for each descriptor a le16 length (bit 15
 * set: "huge", length = (value & 0x7fff) << 17, backed by 512 bytes), then the buffer bytes.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/virtio_blk.h>

#include "blk_req.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_IOV	  16
#define HUGE_BACK 512u
#define DATA_CAP  (2 * MAX_IOV + 8)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct hdr {
	uint8_t n_out, n_in, flags, data_cap, max_ranges, pad[3];
	uint64_t capacity, features;
	uint32_t max_discard, max_wz;
};
_Static_assert(sizeof(struct hdr) == 32, "header layout");

static struct {
	struct iovec iov[MAX_IOV];
	uint8_t *copy[MAX_IOV];
	size_t backed[MAX_IOV];
	unsigned int n;
} b;

static uint64_t sum(unsigned int first, unsigned int n)
{
	uint64_t t = 0;

	for (unsigned int i = first; i < first + n; i++)
		t += b.iov[i].iov_len; /* ≤ 16 * 2^32: no overflow */
	return t;
}

static const uint8_t *last_writable(unsigned int n_out, unsigned int n_in)
{
	for (unsigned int i = n_out + n_in; i-- > n_out;)
		if (b.iov[i].iov_len)
			return (const uint8_t *)b.iov[i].iov_base + b.iov[i].iov_len - 1;
	return NULL;
}

/*
 * The data entries must be exactly bytes [skip, skip + len) of iov[first .. first + n), in
 * order, without empty entries (a reference walk; buffers claiming more than they hold may
 * overlap in the address space, so positions are compared entry by entry, not by address).
 */
static void check_data(const struct blk_request *r, unsigned int first, unsigned int n,
		       uint64_t skip, const struct iovec *data, unsigned int cap)
{
	uint64_t len = r->len;
	unsigned int k = 0;

	CHECK(r->iov == data && r->iovcnt <= cap);
	for (unsigned int i = first; i < first + n && len; i++) {
		uint64_t l = b.iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		CHECK(k < r->iovcnt);
		CHECK(r->iov[k].iov_base == (uint8_t *)b.iov[i].iov_base + skip);
		CHECK(r->iov[k].iov_len == l);
		k++;
		len -= l;
		skip = 0;
	}
	CHECK(len == 0 && k == r->iovcnt);
}

static bool known_type(uint32_t t)
{
	return t == VIRTIO_BLK_T_IN || t == VIRTIO_BLK_T_OUT || t == VIRTIO_BLK_T_FLUSH ||
	       t == VIRTIO_BLK_T_GET_ID || t == VIRTIO_BLK_T_DISCARD ||
	       t == VIRTIO_BLK_T_WRITE_ZEROES;
}

static void check(const struct blk_request *r, const struct hdr *h, const struct blk_limits *lim,
		  const struct iovec *data, unsigned int cap)
{
	unsigned int n_out = h->n_out, n_in = h->n_in;
	uint64_t out_len = sum(0, n_out), in_len = sum(n_out, n_in);
	uint64_t disk = lim->capacity << BLK_SECTOR_SHIFT;

	if (!in_len || in_len > UINT32_MAX) {
		CHECK(r->op == BLK_OP_ANSWER && !r->status_byte);
		return;
	}
	CHECK(r->status_byte == last_writable(n_out, n_in) && r->in_len == in_len);
	if (out_len < 16) {
		CHECK(r->op == BLK_OP_ANSWER && r->status == VIRTIO_BLK_S_IOERR);
		return;
	}
	switch (r->op) {
	case BLK_OP_ANSWER:
		CHECK(r->status == VIRTIO_BLK_S_IOERR || r->status == VIRTIO_BLK_S_UNSUPP ||
		      (r->status == VIRTIO_BLK_S_OK &&
		       (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT)));
		if (!known_type(r->type))
			CHECK(r->status == VIRTIO_BLK_S_UNSUPP);
		break;
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		CHECK(r->type == (r->op == BLK_OP_READ ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT));
		CHECK(r->status == VIRTIO_BLK_S_OK && r->len && r->len % 512 == 0);
		CHECK(r->offset % 512 == 0 && r->offset <= disk && r->len <= disk - r->offset);
		if (r->op == BLK_OP_READ) {
			CHECK(out_len == 16 && r->len == in_len - 1);
			check_data(r, n_out, n_in, 0, data, cap);
		} else {
			CHECK(!lim->read_only && in_len == 1 && r->len == out_len - 16);
			check_data(r, 0, n_out, 16, data, cap);
		}
		break;
	case BLK_OP_FLUSH:
		CHECK(r->type == VIRTIO_BLK_T_FLUSH && out_len == 16 && in_len == 1);
		break;
	case BLK_OP_GET_ID:
		CHECK(r->type == VIRTIO_BLK_T_GET_ID && out_len == 16 && r->len == in_len - 1);
		check_data(r, n_out, n_in, 0, data, cap);
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES: {
		bool wz = r->op == BLK_OP_WRITE_ZEROES;
		uint32_t max = wz ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;

		CHECK(!lim->read_only && in_len == 1 && r->status == VIRTIO_BLK_S_OK);
		CHECK(lim->features &
		      (1ULL << (wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD)));
		CHECK(r->nr_ranges >= 1 && r->nr_ranges <= lim->max_ranges &&
		      r->nr_ranges <= BLK_MAX_RANGES && out_len == 16 + 16ULL * r->nr_ranges);
		for (unsigned int i = 0; i < r->nr_ranges; i++) {
			const struct blk_range *g = &r->range[i];

			CHECK(g->num_sectors <= max && g->sector <= lim->capacity &&
			      g->num_sectors <= lim->capacity - g->sector);
			CHECK(wz ? !(g->flags & ~1u) : !g->flags);
		}
		break;
	}
	default:
		CHECK(0);
	}
}

/* Build the buffers; returns the bytes of input used, or 0 if the input is too short. */
static size_t build(const struct hdr *h, const uint8_t *p, size_t left)
{
	size_t used = 0;

	b.n = h->n_out + h->n_in;
	for (unsigned int i = 0; i < b.n; i++) {
		uint16_t l;
		size_t len, back;

		if (left - used < 2)
			l = 0;
		else
			memcpy(&l, p + used, 2), used += 2;
		len = l & 0x8000 ? (size_t)(l & 0x7fff) << 17 : l & 0xfff;
		back = l & 0x8000 ? HUGE_BACK : len;
		b.iov[i].iov_base = malloc(back ? back : 1);
		b.iov[i].iov_len = len;
		b.backed[i] = back;
		for (size_t k = 0; k < back; k++)
			((uint8_t *)b.iov[i].iov_base)[k] = used + k < left ? p[used + k] : 0;
		used += back < left - used ? back : left - used;
		b.copy[i] = malloc(back ? back : 1);
		memcpy(b.copy[i], b.iov[i].iov_base, back);
	}
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec out_data[DATA_CAP];
	struct blk_request r;
	struct blk_limits lim;
	struct hdr h;
	unsigned int cap;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	h.n_out %= 9;
	h.n_in %= 9;
	if (h.n_out + h.n_in > MAX_IOV)
		return 0;
	cap = h.data_cap % (DATA_CAP + 1);
	lim = (struct blk_limits){
		.capacity = h.capacity & ((1ULL << 54) - 1),
		.features = h.features,
		.read_only = h.flags & 1,
		.max_discard_sectors = h.max_discard,
		.max_write_zeroes_sectors = h.max_wz,
		.max_ranges = h.max_ranges % (BLK_MAX_RANGES + 1),
	};
	if (h.flags & 2)
		lim.capacity &= 0xffff; /* small disks make in-range requests likely */
	build(&h, data + sizeof(h), size - sizeof(h));

	blk_parse_request(b.iov, h.n_out, h.n_in, &lim, out_data, cap, &r);
	check(&r, &h, &lim, out_data, cap);

	for (unsigned int i = 0; i < b.n; i++) {
		CHECK(!memcmp(b.copy[i], b.iov[i].iov_base, b.backed[i])); /* never written */
		free(b.iov[i].iov_base);
		free(b.copy[i]);
	}
	return 0;
}
