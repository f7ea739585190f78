/* SPDX-License-Identifier: MIT */
/*
 * helper_testdev.c — the sim tests' virtio test device (see helper_testdev.h). Written as an
 * example backend would be: only public headers.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <virtio-xen/iov.h>
#include <virtio-xen/loop.h>

#include "helper_testdev.h"

#define EVENT_MAX     256u
#define EVENTS_QUEUED 64u

struct event {
	size_t len;
	uint8_t data[EVENT_MAX];
};

struct testdev {
	vxen_dev *dev;
	struct testdev_opts opts;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t worker;
	bool worker_started, stop;
	struct vxen_req **work; /* WORKER: queue to the worker; HOLD: held requests */
	unsigned int nwork, work_cap;
	struct event events[EVENTS_QUEUED];
	unsigned int ev_head, ev_count;
	struct testdev_counters c;
};

/* Echo: copy the readable bytes into the writable ones. Returns bytes written. */
static uint32_t echo(struct vxen_req *req)
{
	struct vxen_iov_cursor out, in;
	uint8_t buf[512];
	uint32_t total = 0;
	size_t n;

	vxen_req_out_cursor(req, &out);
	vxen_req_in_cursor(req, &in);
	while ((n = vxen_iov_pull(&out, buf, sizeof(buf))) > 0) {
		size_t w = vxen_iov_push(&in, buf, n);

		total += (uint32_t)w;
		if (w < n)
			break;
	}
	return total;
}

static void finish(struct testdev *td, struct vxen_req *req)
{
	uint32_t n = echo(req);

	pthread_mutex_lock(&td->lock);
	td->c.completed++;
	td->c.echoed_bytes += n;
	pthread_mutex_unlock(&td->lock);
	vxen_dev_complete(req, n);
}

static void *worker_main(void *arg)
{
	struct testdev *td = arg;

	pthread_mutex_lock(&td->lock);
	for (;;) {
		while (!td->stop && !td->nwork)
			pthread_cond_wait(&td->cond, &td->lock);
		if (!td->nwork && td->stop)
			break;
		struct vxen_req *req = td->work[0];

		memmove(td->work, td->work + 1, --td->nwork * sizeof(*td->work));
		pthread_mutex_unlock(&td->lock);
		if (td->opts.delay_us)
			usleep(td->opts.delay_us);
		finish(td, req);
		pthread_mutex_lock(&td->lock);
	}
	pthread_mutex_unlock(&td->lock);
	return NULL;
}

static void handle_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
{
	struct testdev *td = payload;

	pthread_mutex_lock(&td->lock);
	td->c.requests++;
	if (td->opts.mode == TESTDEV_INLINE) {
		pthread_mutex_unlock(&td->lock);
		finish(td, req);
		return;
	}
	/* work_cap ≥ the pool size: the library never hands out more requests than that. */
	td->work[td->nwork++] = req;
	if (td->opts.mode == TESTDEV_HOLD)
		td->c.held = td->nwork;
	pthread_cond_signal(&td->cond);
	pthread_mutex_unlock(&td->lock);
}

/* Device thread: fill event buffers while events and buffers last. */
static void deliver_events(struct testdev *td)
{
	struct vxen_req *req;
	struct vxen_iov_cursor in;

	pthread_mutex_lock(&td->lock);
	while (td->ev_count) {
		struct event *e = &td->events[td->ev_head];

		if (vxen_dev_queue_pop(td->dev, TESTDEV_Q_EVENTS, &req) != 1)
			break;
		vxen_req_in_cursor(req, &in);
		size_t n = vxen_iov_push(&in, e->data, e->len);

		td->ev_head = (td->ev_head + 1) % EVENTS_QUEUED;
		td->ev_count--;
		td->c.events_sent++;
		pthread_mutex_unlock(&td->lock);
		vxen_dev_complete(req, (uint32_t)n);
		pthread_mutex_lock(&td->lock);
	}
	pthread_mutex_unlock(&td->lock);
}

static void queue_notify(vxen_dev *dev, unsigned int q, void *payload)
{
	struct testdev *td = payload;

	pthread_mutex_lock(&td->lock);
	td->c.notifies++;
	pthread_mutex_unlock(&td->lock);
	deliver_events(td);
}

static int features_ok(vxen_dev *dev, uint64_t f, void *payload)
{
	if ((f >> TESTDEV_F_EXTRA & 1) && !(f >> TESTDEV_F_ECHO & 1))
		return -EINVAL;
	return 0;
}

static void start(vxen_dev *dev, void *payload)
{
	struct testdev *td = payload;

	pthread_mutex_lock(&td->lock);
	td->c.starts++;
	pthread_mutex_unlock(&td->lock);
}

static void reset(vxen_dev *dev, void *payload)
{
	struct testdev *td = payload;
	uint32_t zero = 0;

	pthread_mutex_lock(&td->lock);
	td->c.resets++;
	td->ev_count = 0;
	pthread_mutex_unlock(&td->lock);
	/* Held requests are cancelled (written 0) unless the test wants a stuck device. Worker
	 * mode needs nothing: the worker completes what it has. */
	if (td->opts.mode == TESTDEV_HOLD && !td->opts.stuck) {
		pthread_mutex_lock(&td->lock);
		while (td->nwork) {
			struct vxen_req *req = td->work[--td->nwork];

			td->c.held = td->nwork;
			pthread_mutex_unlock(&td->lock);
			vxen_dev_complete(req, 0);
			pthread_mutex_lock(&td->lock);
		}
		pthread_mutex_unlock(&td->lock);
	}
	vxen_dev_config_set(dev, 4, &zero, sizeof(zero));
}

static int config_write(vxen_dev *dev, unsigned int off, const void *buf, unsigned int len,
			void *payload)
{
	struct testdev *td = payload;

	if (off < 4 || off + len > 8)
		return -EPERM;
	pthread_mutex_lock(&td->lock);
	td->c.scratch_writes++;
	pthread_mutex_unlock(&td->lock);
	return vxen_dev_config_set(dev, off, buf, len);
}

static int td_init(struct testdev *td, const struct vxen_dev_config *cfg)
{
	struct vxen_dev_queue_config q[2] = {
		{ .size_max = td->opts.queue_size,
		  .max_inflight = td->opts.max_inflight,
		  .budget = td->opts.budget },
		{ .size_max = td->opts.queue_size,
		  .max_inflight = td->opts.max_inflight,
		  .flags = VXEN_DEV_Q_PULL },
	};
	struct vxen_dev_ops ops = {
		.version = VXEN_DEV_OPS_VERSION,
		.name = "testdev",
		.device_id = TESTDEV_ID,
		.features = (1ULL << TESTDEV_F_ECHO) | (1ULL << TESTDEV_F_EXTRA),
		.features_clear = td->opts.features_clear,
		.num_queues = 2,
		.queues = q,
		.config_size = TESTDEV_CONFIG_SIZE,
		.handle_request = handle_request,
		.queue_notify = queue_notify,
		.features_ok = features_ok,
		.start = start,
		.reset = reset,
		.config_write = config_write,
	};
	uint32_t magic = htole32(TESTDEV_MAGIC);
	int r;

	td->work_cap = 32768;
	td->work = calloc(td->work_cap, sizeof(*td->work));
	if (!td->work)
		return -ENOMEM;
	struct vxen_dev_config c = *cfg;

	if (td->opts.drain_timeout_ms)
		c.drain_timeout_ms = td->opts.drain_timeout_ms;
	r = vxen_dev_new(&td->dev, &ops, &c, td);
	if (r)
		return r;
	vxen_dev_config_set(td->dev, 0, &magic, sizeof(magic));
	if (td->opts.mode == TESTDEV_WORKER) {
		r = -pthread_create(&td->worker, NULL, worker_main, td);
		td->worker_started = !r;
	}
	return r;
}

int testdev_new(struct testdev **out, const struct vxen_dev_config *cfg,
		const struct testdev_opts *opts)
{
	struct testdev *td = calloc(1, sizeof(*td));
	int r;

	if (!td)
		return -ENOMEM;
	if (opts)
		td->opts = *opts;
	pthread_mutex_init(&td->lock, NULL);
	pthread_cond_init(&td->cond, NULL);
	r = td_init(td, cfg);
	if (r) {
		testdev_free(td);
		return r;
	}
	*out = td;
	return 0;
}

void testdev_free(struct testdev *td)
{
	if (!td)
		return;
	vxen_dev_free(td->dev);
	if (td->worker_started) {
		pthread_mutex_lock(&td->lock);
		td->stop = true;
		pthread_cond_signal(&td->cond);
		pthread_mutex_unlock(&td->lock);
		pthread_join(td->worker, NULL);
	}
	/* A stuck HOLD device may still hold requests: release them now (late completions of a
	 * freed device must be safe). */
	testdev_release_held(td);
	pthread_mutex_destroy(&td->lock);
	pthread_cond_destroy(&td->cond);
	free(td->work);
	free(td);
}

vxen_dev *testdev_dev(struct testdev *td)
{
	return td->dev;
}

int testdev_send_event(struct testdev *td, const void *data, size_t len)
{
	struct event *e;

	if (len > EVENT_MAX)
		return -EINVAL;
	pthread_mutex_lock(&td->lock);
	if (td->ev_count == EVENTS_QUEUED) {
		pthread_mutex_unlock(&td->lock);
		return -ENOSPC;
	}
	e = &td->events[(td->ev_head + td->ev_count++) % EVENTS_QUEUED];
	memcpy(e->data, data, len);
	e->len = len;
	pthread_mutex_unlock(&td->lock);
	/* Deliver on the device thread: a pull-mode pop must happen there. */
	vxen_dev_queue_wake(td->dev, TESTDEV_Q_EVENTS);
	return 0;
}

unsigned int testdev_release_held(struct testdev *td)
{
	unsigned int n = 0;

	if (td->opts.mode != TESTDEV_HOLD)
		return 0;
	pthread_mutex_lock(&td->lock);
	while (td->nwork) {
		struct vxen_req *req = td->work[0];

		memmove(td->work, td->work + 1, --td->nwork * sizeof(*td->work));
		td->c.held = td->nwork;
		pthread_mutex_unlock(&td->lock);
		finish(td, req);
		n++;
		pthread_mutex_lock(&td->lock);
	}
	pthread_mutex_unlock(&td->lock);
	return n;
}

void testdev_set_value(struct testdev *td, uint64_t value)
{
	uint64_t le = htole64(value);

	vxen_dev_config_set(td->dev, 8, &le, sizeof(le));
	vxen_dev_config_changed(td->dev);
}

void testdev_counters(struct testdev *td, struct testdev_counters *out)
{
	pthread_mutex_lock(&td->lock);
	*out = td->c;
	pthread_mutex_unlock(&td->lock);
}

int testdev_create(vxen_dev **out, const struct vxen_dev_config *cfg)
{
	struct testdev *td;
	int r = testdev_new(&td, cfg, NULL);

	if (!r)
		*out = td->dev;
	return r;
}

struct testdev *testdev_of(vxen_dev *dev)
{
	return vxen_dev_payload(dev);
}

/* ------------------------------------------------------------------------------------------ */
/* testloop                                                                                    */

struct testloop {
	vxen_loop *loop;
	pthread_t th;
	int callfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void (*fn)(void *);
	void *arg;
	bool ready, done;
	int err;
};

static void on_call(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct testloop *tl = payload;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	tl->fn(tl->arg);
	pthread_mutex_lock(&tl->lock);
	tl->done = true;
	pthread_cond_broadcast(&tl->cond);
	pthread_mutex_unlock(&tl->lock);
}

static void *loop_main(void *arg)
{
	struct testloop *tl = arg;
	int r = vxen_loop_new(&tl->loop);

	if (!r)
		r = vxen_loop_add_fd(tl->loop, tl->callfd, EPOLLIN, on_call, tl);
	pthread_mutex_lock(&tl->lock);
	tl->err = r;
	tl->ready = true;
	pthread_cond_broadcast(&tl->cond);
	pthread_mutex_unlock(&tl->lock);
	if (!r)
		vxen_loop_run(tl->loop);
	return NULL;
}

int testloop_start(struct testloop **out)
{
	struct testloop *tl = calloc(1, sizeof(*tl));
	int r;

	if (!tl)
		return -ENOMEM;
	pthread_mutex_init(&tl->lock, NULL);
	pthread_cond_init(&tl->cond, NULL);
	tl->callfd = eventfd(0, EFD_CLOEXEC);
	r = pthread_create(&tl->th, NULL, loop_main, tl);
	if (r) {
		close(tl->callfd);
		free(tl);
		return -r;
	}
	pthread_mutex_lock(&tl->lock);
	while (!tl->ready)
		pthread_cond_wait(&tl->cond, &tl->lock);
	pthread_mutex_unlock(&tl->lock);
	if (tl->err) {
		r = tl->err;
		pthread_join(tl->th, NULL);
		vxen_loop_free(tl->loop);
		close(tl->callfd);
		free(tl);
		return r;
	}
	*out = tl;
	return 0;
}

void testloop_post(struct testloop *tl, void (*fn)(void *arg), void *arg)
{
	uint64_t one = 1;

	pthread_mutex_lock(&tl->lock);
	tl->fn = fn;
	tl->arg = arg;
	tl->done = false;
	if (write(tl->callfd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_mutex_unlock(&tl->lock);
}

void testloop_wait(struct testloop *tl)
{
	pthread_mutex_lock(&tl->lock);
	while (!tl->done)
		pthread_cond_wait(&tl->cond, &tl->lock);
	pthread_mutex_unlock(&tl->lock);
}

void testloop_call(struct testloop *tl, void (*fn)(void *arg), void *arg)
{
	testloop_post(tl, fn, arg);
	testloop_wait(tl);
}

void testloop_stop(struct testloop *tl)
{
	if (!tl)
		return;
	vxen_loop_stop(tl->loop);
	pthread_join(tl->th, NULL);
	vxen_loop_free(tl->loop);
	close(tl->callfd);
	free(tl);
}

vxen_loop *testloop_loop(struct testloop *tl)
{
	return tl->loop;
}

struct add_args {
	struct testloop *tl;
	uint32_t domid;
	uint64_t base;
	uint32_t irq;
	const struct testdev_opts *opts;
	struct testdev *td;
	int r;
};

static void do_add(void *arg)
{
	struct add_args *a = arg;
	struct vxen_dev_config cfg = VXEN_DEV_CONFIG_INIT;
	vxen_ioreq_server *srv;

	a->r = vxen_loop_ioreq_get(a->tl->loop, a->domid, &srv);
	if (a->r)
		return;
	cfg.domid = a->domid;
	cfg.base = a->base;
	cfg.irq = (struct vxen_irq){ .kind = VXEN_IRQ_SPI, .line = a->irq };
	cfg.grants = true;
	cfg.server = srv;
	a->r = testdev_new(&a->td, &cfg, a->opts);
	if (!a->r)
		a->r = vxen_loop_add_dev(a->tl->loop, a->td->dev);
	if (a->r) {
		testdev_free(a->td);
		a->td = NULL;
		vxen_loop_ioreq_put(a->tl->loop, srv);
	}
}

int testloop_add_testdev(struct testloop *tl, uint32_t domid, uint64_t base, uint32_t irq,
			 const struct testdev_opts *opts, struct testdev **out)
{
	struct add_args a = { tl, domid, base, irq, opts, NULL, 0 };

	testloop_call(tl, do_add, &a);
	if (!a.r)
		*out = a.td;
	return a.r;
}

struct del_args {
	struct testloop *tl;
	struct testdev *td;
};

static void do_del(void *arg)
{
	struct del_args *a = arg;
	vxen_ioreq_server *srv = vxen_dev_server(a->td->dev);

	vxen_loop_del_dev(a->tl->loop, a->td->dev);
	testdev_free(a->td);
	vxen_loop_ioreq_put(a->tl->loop, srv);
}

void testloop_del_testdev(struct testloop *tl, struct testdev *td)
{
	struct del_args a = { tl, td };

	if (td)
		testloop_call(tl, do_del, &a);
}
