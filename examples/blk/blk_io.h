/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk_io.h — the disk I/O engine of virtio-xen-blk: runs reads, writes, flushes,
 * discards and write-zeroes on the image without ever blocking the event loop.
 *
 * Two engines behind one interface:
 *  - threads: a pool of workers doing preadv/pwritev2/fdatasync/fallocate; completions run on
 *    the workers.
 *  - uring: an io_uring submitted from the loop thread, its completions reaped on the loop
 *    thread through an eventfd; DISCARD/WRITE_ZEROES (rare, and possibly long when they fall
 *    back to writing zeros) go to one helper worker.
 * blk_io_new() falls back to threads when io_uring is unavailable (old kernel, seccomp, a
 * container that forbids it), and says so in the log.
 *
 * Results are complete: short transfers are continued, a read hitting the end of the file is
 * -EIO. A write with dsync set is on stable storage when it completes (RWF_DSYNC).
 */
#ifndef BLK_IO_H
#define BLK_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <virtio-xen/loop.h>

#include "blk_req.h"

enum blk_io_kind {
	BLK_IO_THREADS,
	BLK_IO_URING,
};

/*
 * struct blk_io_req - one operation, owned by the caller until done() is called.
 * @op: BLK_OP_READ, _WRITE, _FLUSH, _DISCARD or _WRITE_ZEROES.
 * @dsync: WRITE: stable when complete (write-through, when the guest did not negotiate FLUSH).
 * @iov, @iovcnt, @offset, @len: READ/WRITE buffers and position. The engine advances @iov in
 *                               place on short transfers.
 * @range, @nr_ranges: DISCARD/WRITE_ZEROES; each range reads back as zeros afterwards.
 * @result: set before done(): 0 or -errno.
 * @done: called once, on a worker thread (threads) or the loop thread (uring).
 */
struct blk_io_req {
	enum blk_op op;
	bool dsync;
	struct iovec *iov;
	unsigned int iovcnt;
	uint64_t offset, len;
	const struct blk_range *range;
	unsigned int nr_ranges;
	int result;
	void (*done)(struct blk_io_req *r);
	struct blk_io_req *next; /* engine's */
};

/*
 * struct blk_io_params - @fd: the image (lent; must outlive the engine). @threads: workers of
 * the threads engine. @depth: most requests in flight at once (sizes the ring). @loop: the
 * loop the uring engine's eventfd is polled by (the device's loop).
 */
struct blk_io_params {
	enum blk_io_kind kind;
	int fd;
	unsigned int threads;
	unsigned int depth;
	vxen_loop *loop;
};

struct blk_io;

/** blk_io_new() - start an engine. Returns 0 or -errno (logged). */
int blk_io_new(struct blk_io **out, const struct blk_io_params *p);

/** blk_io_free() - stop the engine; call blk_io_drain() first. NULL is fine. Loop thread. */
void blk_io_free(struct blk_io *io);

/** blk_io_submit() - start @r; done() follows, maybe before this returns. Loop thread. */
void blk_io_submit(struct blk_io *io, struct blk_io_req *r);

/**
 * blk_io_drain() - wait until every submitted request's done() has returned, at most
 * @timeout_ms. Returns 0 or -ETIMEDOUT. Loop thread.
 */
int blk_io_drain(struct blk_io *io, unsigned int timeout_ms);

/** blk_io_kind() - the engine actually running (after a fallback). */
enum blk_io_kind blk_io_kind(const struct blk_io *io);

/** blk_io_exec() - run @r synchronously on @fd (what a worker does); returns its result. */
int blk_io_exec(int fd, struct blk_io_req *r);

/** blk_io_advance() - account @n bytes of @r transferred: move its offset and iovecs on. */
void blk_io_advance(struct blk_io_req *r, size_t n);

/* Engines (blk_io.c: threads; blk_io_uring.c: uring). */
struct blk_io_ops {
	void (*submit)(struct blk_io *io, struct blk_io_req *r);
	int (*drain)(struct blk_io *io, unsigned int timeout_ms);
	void (*free)(struct blk_io *io);
};

struct blk_io {
	const struct blk_io_ops *ops;
	enum blk_io_kind kind;
};

int blk_io_threads_new(struct blk_io **out, int fd, unsigned int threads);
int blk_io_uring_new(struct blk_io **out, const struct blk_io_params *p);

#endif /* BLK_IO_H */
