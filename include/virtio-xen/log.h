/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/log.h — how the library reports what it sees.
 *
 * The library never writes to stderr or syslog on its own: it is silent until the application
 * installs a handler. Messages caused by guest behaviour (bad descriptors, bad register values)
 * are rate-limited per object before they reach the handler, so a hostile guest cannot flood the
 * application's log. Levels are syslog(3) priorities (LOG_ERR = 3 ... LOG_DEBUG = 7).
 */
#ifndef VIRTIO_XEN_LOG_H
#define VIRTIO_XEN_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vxen_log_fn - receives one formatted message (no trailing newline).
 * @level: syslog priority of the message.
 * @msg: NUL-terminated text, valid only during the call.
 * @payload: the pointer given to vxen_log_set_handler().
 *
 * Called from whichever thread produced the message; the handler must be thread-safe if the
 * application uses the library from several threads.
 */
typedef void (*vxen_log_fn)(int level, const char *msg, void *payload);

/**
 * vxen_log_set_handler() - install the process-wide log handler.
 * @fn: handler, or NULL to silence the library again (the default).
 * @max_level: messages with a level numerically greater than this are dropped before
 *             formatting (e.g. LOG_INFO drops LOG_DEBUG).
 * @payload: passed to every call of @fn.
 *
 * Thread rules: may be called at any time; a message racing with the change goes to either the
 * old or the new handler. Does not log.
 */
void vxen_log_set_handler(vxen_log_fn fn, int max_level, void *payload);

/**
 * vxen_log_stderr() - a ready-made handler printing "virtio-xen: <level>: <msg>" to stderr.
 * @payload: ignored.
 */
void vxen_log_stderr(int level, const char *msg, void *payload);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_LOG_H */
