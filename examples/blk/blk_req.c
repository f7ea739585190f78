/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk_req.c — virtio-blk request parsing; see blk_req.h. Every length here comes
 * from the guest: sums saturate, sector arithmetic is checked before it is multiplied.
 */
#include <endian.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <virtio-xen/iov.h>

#include "blk_req.h"

#define HDR_LEN	    sizeof(struct virtio_blk_outhdr)
#define SEGMENT_LEN sizeof(struct virtio_blk_discard_write_zeroes)
#define SECTOR	    (1u << BLK_SECTOR_SHIFT)

/* Sum of the lengths, saturating at UINT64_MAX (a fuzzer can make it overflow). */
static uint64_t total(const struct iovec *iov, unsigned int n)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > UINT64_MAX - t)
			return UINT64_MAX;
		t += iov[i].iov_len;
	}
	return t;
}

/* The last byte of @iov[0 .. n), skipping empty entries at the end. */
static uint8_t *last_byte(const struct iovec *iov, unsigned int n)
{
	while (n-- > 0)
		if (iov[n].iov_len)
			return (uint8_t *)iov[n].iov_base + iov[n].iov_len - 1;
	return NULL;
}

/*
 * Describe the bytes [skip, skip + len) of @iov in @data, without empty entries.
 * Returns the number of entries, or -1 if more than @cap would be needed.
 */
static int slice(const struct iovec *iov, unsigned int n, uint64_t skip, uint64_t len,
		 struct iovec *data, unsigned int cap)
{
	unsigned int cnt = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		if (cnt == cap)
			return -1;
		data[cnt++] = (struct iovec){ (char *)iov[i].iov_base + skip, l };
		len -= l;
		skip = 0;
	}
	return (int)cnt;
}

/* [sector, sector + count) lies inside the disk; never overflows. */
static bool in_disk(const struct blk_limits *lim, uint64_t sector, uint64_t count)
{
	return sector <= lim->capacity && count <= lim->capacity - sector;
}

/*
 * The parsers below return the status to answer with; when they accept the request they set
 * out->op and return VIRTIO_BLK_S_OK.
 */

/* IN/OUT: @len data bytes starting @skip bytes into @iov go to/from @sector. */
static uint8_t parse_rw(struct blk_request *out, const struct blk_limits *lim, enum blk_op op,
			uint64_t sector, const struct iovec *iov, unsigned int n, uint64_t skip,
			uint64_t len, struct iovec *data, unsigned int cap)
{
	int cnt;

	if (len % SECTOR || !in_disk(lim, sector, len >> BLK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (!len)
		return VIRTIO_BLK_S_OK; /* nothing to move: answered at once */
	cnt = slice(iov, n, skip, len, data, cap);
	if (cnt < 0)
		return VIRTIO_BLK_S_IOERR;
	out->op = op;
	out->offset = sector << BLK_SECTOR_SHIFT;
	out->len = len;
	out->iov = data;
	out->iovcnt = (unsigned int)cnt;
	return VIRTIO_BLK_S_OK;
}

/* One DISCARD/WRITE_ZEROES segment; returns the status it deserves. */
static uint8_t check_range(const struct blk_limits *lim, const struct blk_range *r, bool wz)
{
	uint32_t max = wz ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;

	/* §5.2.6.2: unknown flags, and UNMAP on a discard, are UNSUPP. */
	if (r->flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP || (!wz && r->flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (r->num_sectors > max || !in_disk(lim, r->sector, r->num_sectors))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t parse_ranges(struct blk_request *out, const struct blk_limits *lim, bool wz,
			    struct vxen_iov_cursor *cur, uint64_t out_len, uint64_t in_len)
{
	unsigned int feature = wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
	unsigned int max = lim->max_ranges < BLK_MAX_RANGES ? lim->max_ranges : BLK_MAX_RANGES;
	uint64_t bytes = out_len - HDR_LEN;

	if (!(lim->features & (1ULL << feature)))
		return VIRTIO_BLK_S_UNSUPP;
	if (in_len != 1 || lim->read_only || !bytes || bytes % SEGMENT_LEN ||
	    bytes / SEGMENT_LEN > max)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < bytes / SEGMENT_LEN; i++) {
		struct virtio_blk_discard_write_zeroes seg;
		struct blk_range *r = &out->range[i];
		uint8_t status;

		vxen_iov_pull(cur, &seg, sizeof(seg)); /* cannot be short: out_len counted it */
		*r = (struct blk_range){ le64toh(seg.sector), le32toh(seg.num_sectors),
					 le32toh(seg.flags) };
		status = check_range(lim, r, wz);
		if (status != VIRTIO_BLK_S_OK)
			return status;
	}
	out->op = wz ? BLK_OP_WRITE_ZEROES : BLK_OP_DISCARD;
	out->nr_ranges = (unsigned int)(bytes / SEGMENT_LEN);
	return VIRTIO_BLK_S_OK;
}

static uint8_t parse_get_id(struct blk_request *out, const struct iovec *iov, unsigned int n,
			    uint64_t in_len, struct iovec *data, unsigned int cap)
{
	int cnt = slice(iov, n, 0, in_len - 1, data, cap);

	if (in_len == 1 || cnt < 0)
		return VIRTIO_BLK_S_IOERR;
	out->op = BLK_OP_GET_ID;
	out->len = in_len - 1;
	out->iov = data;
	out->iovcnt = (unsigned int)cnt;
	return VIRTIO_BLK_S_OK;
}

void blk_parse_request(const struct iovec *iov, unsigned int n_out, unsigned int n_in,
		       const struct blk_limits *lim, struct iovec *data, unsigned int data_cap,
		       struct blk_request *out)
{
	uint64_t out_len = total(iov, n_out), in_len = total(iov + n_out, n_in), sector;
	const struct iovec *in = iov + n_out;
	struct virtio_blk_outhdr hdr;
	struct vxen_iov_cursor cur;
	uint8_t st = VIRTIO_BLK_S_IOERR;

	memset(out, 0, sizeof(*out));
	out->op = BLK_OP_ANSWER;
	out->status = VIRTIO_BLK_S_IOERR;
	/* No status byte: nothing can be answered. The chain goes back with used length 0. */
	if (!in_len || in_len > UINT32_MAX)
		return;
	out->status_byte = last_byte(in, n_in);
	out->in_len = (uint32_t)in_len;
	vxen_iov_cursor_init(&cur, iov, n_out);
	if (vxen_iov_pull(&cur, &hdr, HDR_LEN) != HDR_LEN)
		return;
	out->type = le32toh(hdr.type);
	sector = le64toh(hdr.sector);
	switch (out->type) {
	case VIRTIO_BLK_T_IN:
		if (out_len == HDR_LEN)
			st = parse_rw(out, lim, BLK_OP_READ, sector, in, n_in, 0, in_len - 1, data,
				      data_cap);
		break;
	case VIRTIO_BLK_T_OUT:
		if (in_len == 1 && !lim->read_only)
			st = parse_rw(out, lim, BLK_OP_WRITE, sector, iov, n_out, HDR_LEN,
				      out_len - HDR_LEN, data, data_cap);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (out_len == HDR_LEN && in_len == 1) {
			out->op = BLK_OP_FLUSH;
			st = VIRTIO_BLK_S_OK;
		}
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (out_len == HDR_LEN)
			st = parse_get_id(out, in, n_in, in_len, data, data_cap);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = parse_ranges(out, lim, out->type == VIRTIO_BLK_T_WRITE_ZEROES, &cur, out_len,
				  in_len);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
	}
	out->status = st;
}
