/* SPDX-License-Identifier: MIT */
/*
 * lib/internal.h — helpers shared by the library's modules. Not installed.
 *
 * Functions declared here are hidden (not exported from libvirtio-xen.so); only definitions
 * marked VXEN_EXPORT are part of the ABI.
 */
#ifndef VXEN_INTERNAL_H
#define VXEN_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

#include <virtio-xen/log.h>

#define VXEN_EXPORT __attribute__((visibility("default")))

#define VXEN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VXEN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VXEN_MAX(a, b) ((a) > (b) ? (a) : (b))

#define VXEN_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Log one message through the application's handler (no rate limit: library/host events). */
void vxen_log(int level, const char *fmt, ...) VXEN_PRINTF(2, 3);
void vxen_vlog(int level, const char *fmt, va_list ap);

/*
 * Rate limit for guest-caused messages, one per object that a guest can make noisy (a queue, a
 * device's register file). A burst of VXEN_RATELIMIT_BURST messages passes per interval; the
 * rest are counted and summarised ("... N similar messages suppressed") when the next interval
 * lets a message through. Not thread-safe: each object is used by one thread at a time.
 */
#define VXEN_RATELIMIT_BURST 10
#define VXEN_RATELIMIT_INTERVAL_NS (5ULL * 1000000000ULL)

struct vxen_ratelimit {
	uint64_t start_ns;
	unsigned int printed;
	unsigned int suppressed;
};

/* Log a guest-caused event at @level through @rl. Always cheap when the handler is unset. */
void vxen_log_guest(struct vxen_ratelimit *rl, int level, const char *fmt, ...) VXEN_PRINTF(3, 4);

/* True when a message at @level would reach a handler (lets callers skip costly formatting). */
int vxen_log_enabled(int level);

/* Monotonic clock in nanoseconds. */
uint64_t vxen_now_ns(void);

#endif /* VXEN_INTERNAL_H */
