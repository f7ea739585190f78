/* SPDX-License-Identifier: MIT */
/*
 * xs_client.h — the client side of the xenstore wire protocol (xen/io/xs_wire.h) over a unix
 * socket: used by xensim's drop-in libxenstore.so.4 and by libxensim's toolstack helpers.
 *
 * Model (the real libxenstore's): one request in flight per connection; replies are matched to
 * the request; XS_WATCH_EVENT messages are queued. Until xs_client_start_reader() is called the
 * requesting thread reads the socket itself (queueing any event it meets); afterwards a reader
 * thread owns the socket, so events arrive without anyone asking. Every function is thread-safe
 * unless it says otherwise.
 */
#ifndef XENSIM_XS_CLIENT_H
#define XENSIM_XS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct xs_client;

/* @domid for xs_client_open(): act as $XENSIM_DOMID (dom0 when unset). */
#define XS_CLIENT_DOMID_ENV UINT32_MAX

/**
 * xs_client_open() - connect to the xenstored socket at @path (NULL: $XENSTORED_PATH, else
 * $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket) and, for a @domid other than 0, ask
 * to act as that domain (XS_CONTROL "set-domid", a xensim extension).
 * Returns 0 or -errno (-ENOENT when nothing listens there). Does not log.
 */
int xs_client_open(struct xs_client **out, const char *path, uint32_t domid);

/** xs_client_close() - stop the reader thread, drop queued messages, close. NULL is fine. */
void xs_client_close(struct xs_client *c);

/**
 * xs_client_destroy_postfork() - in a forked child: free the handle and close its descriptors
 * without touching the parent's reader thread (which does not exist in the child).
 */
void xs_client_destroy_postfork(struct xs_client *c);

/**
 * xs_client_request() - send one message of @type (payload = the @niov pieces concatenated) in
 * transaction @tx and wait for its reply.
 * @reply: receives the malloc'ed reply payload with one extra NUL byte after it (caller frees);
 *	   may be NULL to discard it.
 * @len: receives the payload length (without the extra NUL); may be NULL.
 * Returns 0, or -errno: the server's XS_ERROR mapped to its errno, -E2BIG for a payload over
 * XENSTORE_PAYLOAD_MAX, -EBADF once the connection is broken (it is then closed for good).
 */
int xs_client_request(struct xs_client *c, uint32_t type, uint32_t tx, const struct iovec *iov,
		      unsigned int niov, char **reply, unsigned int *len);

/** xs_client_req_str() - xs_client_request() with one NUL-terminated string as payload. */
int xs_client_req_str(struct xs_client *c, uint32_t type, uint32_t tx, const char *s, char **reply,
		      unsigned int *len);

/**
 * xs_client_start_reader() - from now on a thread (signals blocked) reads the socket, so watch
 * events are queued as they arrive. Idempotent. Returns 0 or -errno.
 */
int xs_client_start_reader(struct xs_client *c);

/**
 * xs_client_event_fd() - a descriptor that is readable while watch events are queued (a pipe,
 * created on first use). Returns the fd or -errno.
 */
int xs_client_event_fd(struct xs_client *c);

/**
 * xs_client_next_event() - take the oldest queued watch event.
 * @timeout_ms: 0 polls, -1 waits forever. Without a reader thread the socket is read here.
 * @body: receives the malloc'ed payload ("path\0token\0", plus an extra NUL); caller frees.
 * Returns 0, -EAGAIN when none arrived in time, -EBADF/-EINVAL when the connection is gone.
 */
int xs_client_next_event(struct xs_client *c, int timeout_ms, char **body, unsigned int *len);

/**
 * xs_client_drop_events() - forget queued events whose token is @token and whose path is @path
 * or below it (the real library's XS_UNWATCH_FILTER behaviour).
 */
void xs_client_drop_events(struct xs_client *c, const char *path, const char *token);

/** xs_client_errno() - the errno for an XS_ERROR payload string ("ENOENT" -> ENOENT). */
int xs_client_errno(const char *name);

/** xs_client_daemon_path() - the socket path the real library would use (see xs_client_open). */
const char *xs_client_daemon_path(void);
const char *xs_client_daemon_rundir(void);

/** xs_path_is_child() - true if @child is @parent or lies below it ("/" is everyone's parent). */
bool xs_path_is_child(const char *parent, const char *child);

#endif /* XENSIM_XS_CLIENT_H */
