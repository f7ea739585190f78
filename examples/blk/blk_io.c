/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk_io.c — synchronous execution of one disk operation, the worker-thread
 * engine, and engine selection. See blk_io.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/virtio_blk.h>

#include "blk_io.h"
#include "daemon.h"

/* ------------------------------------------------------------------------------------------ */
/* One operation, synchronously                                                                */

void blk_io_advance(struct blk_io_req *r, size_t n)
{
	r->offset += n;
	r->len -= n;
	while (r->iovcnt && n >= r->iov->iov_len) {
		n -= r->iov->iov_len;
		r->iov++;
		r->iovcnt--;
	}
	if (r->iovcnt) {
		r->iov->iov_base = (char *)r->iov->iov_base + n;
		r->iov->iov_len -= n;
	}
}

static int rw(int fd, struct blk_io_req *r)
{
	while (r->len) {
		int cnt = r->iovcnt < IOV_MAX ? (int)r->iovcnt : IOV_MAX;
		ssize_t n = r->op == BLK_OP_READ ? preadv(fd, r->iov, cnt, (off_t)r->offset)
						 : pwritev2(fd, r->iov, cnt, (off_t)r->offset,
							    r->dsync ? RWF_DSYNC : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) /* the image shrank under us */
			return -EIO;
		blk_io_advance(r, (size_t)n);
	}
	return 0;
}

static int falloc(int fd, int mode, uint64_t off, uint64_t len)
{
	while (fallocate(fd, mode, (off_t)off, (off_t)len))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[64 * 1024];

	while (len) {
		ssize_t n =
			pwrite(fd, zeros, len < sizeof(zeros) ? len : sizeof(zeros), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * Make [off, off + len) read as zeros: deallocate it if @unmap allows (punch a hole), else
 * zero it in place (ZERO_RANGE keeps the blocks allocated), else write zeros — filesystems
 * and block devices differ in what they support.
 */
static int zero_range(int fd, uint64_t off, uint64_t len, bool unmap)
{
	int r = -EOPNOTSUPP;

	if (!len)
		return 0;
	if (unmap)
		r = falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (r == -EOPNOTSUPP || r == -ENOSYS)
		r = falloc(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (r == -EOPNOTSUPP || r == -ENOSYS)
		r = write_zeros(fd, off, len);
	return r;
}

static int zero_ranges(int fd, const struct blk_io_req *r)
{
	for (unsigned int i = 0; i < r->nr_ranges; i++) {
		const struct blk_range *g = &r->range[i];
		/* A discard may deallocate; write-zeroes only when the driver allows it. */
		bool unmap =
			r->op == BLK_OP_DISCARD || g->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		int e = zero_range(fd, g->sector << BLK_SECTOR_SHIFT,
				   (uint64_t)g->num_sectors << BLK_SECTOR_SHIFT, unmap);

		if (e)
			return e;
	}
	return r->dsync && fdatasync(fd) ? -errno : 0;
}

int blk_io_exec(int fd, struct blk_io_req *r)
{
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		return rw(fd, r);
	case BLK_OP_FLUSH:
		return fdatasync(fd) ? -errno : 0;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		return zero_ranges(fd, r);
	default:
		return -EINVAL;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Worker threads                                                                              */

struct pool {
	struct blk_io io;
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t work; /* queue not empty, or stop */
	pthread_cond_t idle; /* inflight reached 0 */
	struct blk_io_req *head, **tail;
	unsigned int inflight, nthreads;
	bool stop;
	pthread_t th[];
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	struct blk_io_req *r;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		r = p->head;
		if (!r)
			break;
		p->head = r->next;
		if (!p->head)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->lock);
		r->result = blk_io_exec(p->fd, r);
		r->done(r);
		pthread_mutex_lock(&p->lock);
		if (!--p->inflight)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pool_submit(struct blk_io *io, struct blk_io_req *r)
{
	struct pool *p = (struct pool *)io;

	r->next = NULL;
	pthread_mutex_lock(&p->lock);
	p->inflight++;
	*p->tail = r;
	p->tail = &r->next;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

static int pool_drain(struct blk_io *io, unsigned int timeout_ms)
{
	struct pool *p = (struct pool *)io;
	struct timespec dl;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (p->inflight && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&p->idle, &p->lock, &dl);
	r = p->inflight ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void pool_free(struct blk_io *io)
{
	struct pool *p = (struct pool *)io;

	/* Workers finish what is queued before they see stop. */
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct blk_io_ops pool_ops = {
	.submit = pool_submit,
	.drain = pool_drain,
	.free = pool_free,
};

static void pool_init_sync(struct pool *p)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, &ca);
	pthread_condattr_destroy(&ca);
}

int blk_io_threads_new(struct blk_io **out, int fd, unsigned int threads)
{
	struct pool *p = calloc(1, sizeof(*p) + threads * sizeof(pthread_t));
	sigset_t all, old;
	int r = 0;

	if (!p || !threads) {
		free(p);
		return p ? -EINVAL : -ENOMEM;
	}
	p->io = (struct blk_io){ &pool_ops, BLK_IO_THREADS };
	p->fd = fd;
	p->tail = &p->head;
	pool_init_sync(p);
	/* Workers never take signals: SIGTERM must reach the loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->nthreads < threads && !r; p->nthreads++)
		r = -pthread_create(&p->th[p->nthreads], NULL, worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		p->nthreads--;
		vxd_log(LOG_ERR, "blk: cannot start I/O threads: %s", strerror(-r));
		pool_free(&p->io);
		return r;
	}
	*out = &p->io;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Dispatch                                                                                    */

int blk_io_new(struct blk_io **out, const struct blk_io_params *p)
{
	if (p->kind == BLK_IO_URING) {
		int r = blk_io_uring_new(out, p);

		if (!r)
			return 0;
		vxd_log(LOG_WARNING, "blk: io_uring unavailable (%s), using I/O threads",
			strerror(-r));
	}
	return blk_io_threads_new(out, p->fd, p->threads);
}

void blk_io_free(struct blk_io *io)
{
	if (io)
		io->ops->free(io);
}

void blk_io_submit(struct blk_io *io, struct blk_io_req *r)
{
	io->ops->submit(io, r);
}

int blk_io_drain(struct blk_io *io, unsigned int timeout_ms)
{
	return io->ops->drain(io, timeout_ms);
}

enum blk_io_kind blk_io_kind(const struct blk_io *io)
{
	return io->kind;
}
