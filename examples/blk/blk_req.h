/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk_req.h — parsing a virtio-blk request (virtio 1.2 §5.2.6): a pure function
 * over the request's iovecs, so it can be unit-tested and fuzzed without a device.
 *
 * Layout: the device-readable part starts with the 16-byte header (type, reserved, sector),
 * possibly split over several buffers; then OUT data or DISCARD/WRITE_ZEROES segments. The
 * device-writable part holds IN/GET_ID data and ends with the 1-byte status, which is always
 * its LAST byte. Anything else is malformed and answered with VIRTIO_BLK_S_IOERR (or
 * VIRTIO_BLK_S_UNSUPP for unknown types and flags) as long as there is a status byte at all.
 */
#ifndef BLK_REQ_H
#define BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR_SHIFT 9
#define BLK_MAX_RANGES	 16 /* max_discard_seg and max_write_zeroes_seg */

/* One DISCARD/WRITE_ZEROES segment, in host byte order, validated. */
struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags; /* VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP or 0 */
};

/* What the parser checks requests against. */
struct blk_limits {
	uint64_t capacity; /* 512-byte sectors, < 2^54 */
	uint64_t features; /* negotiated VIRTIO_BLK_F_* bits */
	bool read_only;
	uint32_t max_discard_sectors, max_write_zeroes_sectors; /* per segment */
	uint32_t max_ranges;					/* ≤ BLK_MAX_RANGES */
};

enum blk_op {
	BLK_OP_ANSWER, /* nothing to do: answer with ->status at once */
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_GET_ID,
	BLK_OP_DISCARD,
	BLK_OP_WRITE_ZEROES,
};

/*
 * struct blk_request - a parsed request.
 * @op: what to do; BLK_OP_ANSWER for malformed, unsupported and empty requests.
 * @status: BLK_OP_ANSWER: the status to answer with (VIRTIO_BLK_S_*).
 * @type: the header's type (0 without a complete header).
 * @status_byte: the last writable byte, where the status goes; NULL if the request has no
 *               writable byte (it is then returned with used length 0).
 * @in_len: writable bytes, status included: the used length to report.
 * @offset, @len: READ/WRITE: byte offset in the disk and data bytes; GET_ID: @len is the
 *                buffer size.
 * @iov, @iovcnt: READ/WRITE/GET_ID: the data buffers, in the caller's @data array.
 * @range, @nr_ranges: DISCARD/WRITE_ZEROES segments.
 */
struct blk_request {
	enum blk_op op;
	uint8_t status;
	uint32_t type;
	uint8_t *status_byte;
	uint32_t in_len;
	uint64_t offset, len;
	struct iovec *iov;
	unsigned int iovcnt;
	struct blk_range range[BLK_MAX_RANGES];
	unsigned int nr_ranges;
};

/**
 * blk_parse_request() - validate one request and say what to do with it.
 * @iov: the request's buffers: @n_out device-readable entries, then @n_in writable ones.
 * @lim: the disk and the negotiated features.
 * @data: receives the data buffers (sub-ranges of @iov), at most @data_cap entries.
 * @out: the result (fully overwritten).
 *
 * Never reads or writes the buffers beyond the header and segments it copies, and never fails:
 * every outcome is described in @out. Every READ/WRITE/DISCARD/WRITE_ZEROES it accepts lies
 * inside the disk (sector + count ≤ capacity, no overflow); data lengths are multiples of 512.
 * Pure: no allocation, no logging, no global state.
 */
void blk_parse_request(const struct iovec *iov, unsigned int n_out, unsigned int n_in,
		       const struct blk_limits *lim, struct iovec *data, unsigned int data_cap,
		       struct blk_request *out);

#endif /* BLK_REQ_H */
