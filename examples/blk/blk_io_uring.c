/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk_io_uring.c — the io_uring engine of virtio-xen-blk (see blk_io.h).
 *
 * Reads, writes and flushes are submitted from the loop thread, one io_uring_enter per
 * request; the ring signals completions on an eventfd polled by the device's loop, whose
 * callback reaps every CQE and completes the requests on the loop thread. DISCARD and
 * WRITE_ZEROES go to a one-thread pool: their fallbacks (ZERO_RANGE, then writing zeros) are
 * sequential and rare, not worth a state machine here.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "blk_io.h"
#include "daemon.h"

#ifdef VXD_HAVE_LIBURING
#include <liburing.h>
#include <sys/eventfd.h>

struct uring {
	struct blk_io io;
	struct io_uring ring;
	int fd, efd;
	vxen_loop *loop;
	unsigned int inflight; /* SQEs submitted or queued, CQE not reaped yet */
	struct blk_io *helper; /* DISCARD / WRITE_ZEROES */
};

static void prep(struct uring *u, struct blk_io_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	unsigned int cnt = r->iovcnt < IOV_MAX ? r->iovcnt : IOV_MAX;

	if (!sqe) {
		/* The SQ is full of unsubmitted entries (a failed submit): push them first. */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (!sqe) {
		blk_io_submit(u->helper, r);
		return;
	}
	if (r->op == BLK_OP_READ) {
		io_uring_prep_readv(sqe, u->fd, r->iov, cnt, r->offset);
	} else if (r->op == BLK_OP_WRITE) {
		io_uring_prep_writev(sqe, u->fd, r->iov, cnt, r->offset);
		sqe->rw_flags = r->dsync ? RWF_DSYNC : 0;
	} else {
		io_uring_prep_fsync(sqe, u->fd, IORING_FSYNC_DATASYNC);
	}
	io_uring_sqe_set_data(sqe, r);
	u->inflight++;
}

static void reap(struct uring *u);

static void uring_submit(struct blk_io *io, struct blk_io_req *r)
{
	struct uring *u = (struct uring *)io;

	if (r->op == BLK_OP_DISCARD || r->op == BLK_OP_WRITE_ZEROES) {
		blk_io_submit(u->helper, r);
		return;
	}
	prep(u, r);
	/* A failed submit leaves the SQEs queued; the next submit or reap pushes them. */
	io_uring_submit(&u->ring);
	/*
	 * Page-cache hits complete inside io_uring_enter(): finish them now, while we are in the
	 * device's callback, so the library pushes them in this batch instead of after another
	 * trip through the event loop.
	 */
	reap(u);
}

/* One CQE: finish its request, or continue it after a short transfer. */
static void complete(struct uring *u, struct io_uring_cqe *cqe)
{
	struct blk_io_req *r = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&u->ring, cqe);
	u->inflight--;
	if (res == -EAGAIN || res == -EINTR) {
		prep(u, r);
		return;
	}
	if (res > 0 && r->op != BLK_OP_FLUSH) {
		blk_io_advance(r, (size_t)res);
		if (r->len) {
			prep(u, r);
			return;
		}
		res = 0;
	} else if (res == 0 && r->op != BLK_OP_FLUSH && r->len) {
		res = -EIO; /* end of file: the image shrank under us */
	}
	r->result = res;
	r->done(r);
}

static void reap(struct uring *u)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0)
		complete(u, cqe);
	if (io_uring_sq_ready(&u->ring))
		io_uring_submit(&u->ring);
}

static void on_event(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	uint64_t v;

	/* Clear the eventfd before reaping: a CQE posted after the reap signals it again. */
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vxd_log(LOG_ERR, "blk: io_uring eventfd: %s", strerror(errno));
	reap(payload);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reap until nothing is in flight or @deadline (ms, CLOCK_MONOTONIC; < 0: never) passes. */
static void wait_all(struct uring *u, int64_t deadline)
{
	while (u->inflight) {
		int64_t left = deadline < 0 ? 1000 : deadline - now_ms();
		struct __kernel_timespec ts = { left / 1000, (left % 1000) * 1000000 };
		struct io_uring_cqe *cqe;

		if (left <= 0)
			return;
		if (io_uring_sq_ready(&u->ring))
			io_uring_submit(&u->ring);
		if (!io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts))
			reap(u);
	}
}

static int uring_drain(struct blk_io *io, unsigned int timeout_ms)
{
	struct uring *u = (struct uring *)io;
	int64_t deadline = now_ms() + timeout_ms;
	int64_t left;

	wait_all(u, deadline);
	left = deadline - now_ms();
	if (blk_io_drain(u->helper, left > 0 ? (unsigned int)left : 0) || u->inflight)
		return -ETIMEDOUT;
	return 0;
}

static void uring_free(struct blk_io *io)
{
	struct uring *u = (struct uring *)io;

	/* Requests the device gave up on are still completed: the library allows it and needs
	 * it to release their buffers. */
	wait_all(u, -1);
	vxen_loop_del_fd(u->loop, u->efd);
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	blk_io_free(u->helper);
	free(u);
}

static const struct blk_io_ops uring_ops = {
	.submit = uring_submit,
	.drain = uring_drain,
	.free = uring_free,
};

static int setup(struct uring *u, const struct blk_io_params *p)
{
	unsigned int entries = 8;
	int r;

	while (entries < p->depth && entries < 4096)
		entries *= 2;
	r = io_uring_queue_init(entries, &u->ring, 0);
	if (r)
		return r;
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r = u->efd < 0 ? -errno : io_uring_register_eventfd(&u->ring, u->efd);
	if (!r)
		r = vxen_loop_add_fd(p->loop, u->efd, EPOLLIN, on_event, u);
	if (!r)
		r = blk_io_threads_new(&u->helper, p->fd, 1);
	if (!r)
		return 0;
	if (u->efd >= 0) {
		vxen_loop_del_fd(p->loop, u->efd);
		close(u->efd);
	}
	io_uring_queue_exit(&u->ring);
	return r;
}

int blk_io_uring_new(struct blk_io **out, const struct blk_io_params *p)
{
	struct uring *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->io = (struct blk_io){ &uring_ops, BLK_IO_URING };
	u->fd = p->fd;
	u->loop = p->loop;
	u->efd = -1;
	r = setup(u, p);
	if (r) {
		free(u);
		return r;
	}
	*out = &u->io;
	return 0;
}

#else /* !VXD_HAVE_LIBURING */

int blk_io_uring_new(struct blk_io **out, const struct blk_io_params *p)
{
	return -ENOSYS; /* built without liburing */
}

#endif
