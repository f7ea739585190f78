/* SPDX-License-Identifier: MIT */
/*
 * Logging: one process-wide handler, silent by default, and a per-object rate limit for
 * messages a guest can provoke.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "internal.h"

struct log_handler {
	vxen_log_fn fn;
	void *payload;
};

static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_handler handler;
/* Read without the lock on the fast path: -1 means "no handler", so nothing is formatted. */
static _Atomic int max_level = -1;

VXEN_EXPORT void vxen_log_set_handler(vxen_log_fn fn, int level, void *payload)
{
	pthread_mutex_lock(&handler_lock);
	handler.fn = fn;
	handler.payload = payload;
	atomic_store(&max_level, fn ? level : -1);
	pthread_mutex_unlock(&handler_lock);
}

VXEN_EXPORT void vxen_log_stderr(int level, const char *msg, void *payload)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warn",  "note",  "info", "debug" };
	const char *name = level >= 0 && level < 8 ? names[level] : "?";

	(void)payload;
	fprintf(stderr, "virtio-xen: %s: %s\n", name, msg);
}

int vxen_log_enabled(int level)
{
	return level <= atomic_load_explicit(&max_level, memory_order_relaxed);
}

void vxen_vlog(int level, const char *fmt, va_list ap)
{
	char buf[512];
	struct log_handler h;

	if (!vxen_log_enabled(level))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	pthread_mutex_lock(&handler_lock);
	h = handler;
	pthread_mutex_unlock(&handler_lock);
	if (h.fn)
		h.fn(level, buf, h.payload);
}

void vxen_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vxen_vlog(level, fmt, ap);
	va_end(ap);
}

uint64_t vxen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vxen_log_guest(struct vxen_ratelimit *rl, int level, const char *fmt, ...)
{
	va_list ap;
	uint64_t now;

	if (!vxen_log_enabled(level))
		return;
	now = vxen_now_ns();
	if (now - rl->start_ns >= VXEN_RATELIMIT_INTERVAL_NS) {
		if (rl->suppressed)
			vxen_log(level, "... %u similar guest-caused messages suppressed",
				 rl->suppressed);
		rl->start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= VXEN_RATELIMIT_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vxen_vlog(level, fmt, ap);
	va_end(ap);
}
