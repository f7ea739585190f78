/* SPDX-License-Identifier: MIT */
/*
 * examples/demo/demo.h — vxen-demo's shared state: the machine, the daemons, the guest and its
 * three devices, and what was measured. vxen-demo.c runs the show; demo_work.c is the guest's
 * work on each device and the host's side of it.
 */
#ifndef VXEN_DEMO_H
#define VXEN_DEMO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <xensim-virtio.h>
#include <xensim.h>

#define DEMO_TIMEOUT_MS 5000
#define DEMO_DISK_BYTES (4u << 20)
#define DEMO_GUEST_RAM	(64u << 20)

enum { DEV_BLK, DEV_NET, DEV_CON, NR_DEVS };

struct demo_opts {
	bool keep, verbose;
	const char *tap;	   /* --tap NAME: the net device on a TAP interface */
	const char *daemon_dir;	   /* where virtio-xen-{blk,net,console} are */
	const char *xensim_libdir; /* xensim's drop-in Xen libraries */
};

/* One example daemon, run as its own process. */
struct demo_daemon {
	const char *name; /* "virtio-xen-blk" */
	char path[PATH_MAX];
	char log[PATH_MAX];  /* its stdout and stderr */
	char args[PATH_MAX]; /* the arguments, for the report */
	pid_t pid;	     /* 0 once reaped */
	int status;	     /* wait status once reaped */
};

/* One device of the guest: where it is, what was done with it, what it cost. */
struct demo_dev {
	const char *name; /* "blk" */
	enum xensim_virtio_kind kind;
	uint32_t devid, virtio_id, irq;
	uint64_t base;
	char detail[160];  /* for the device list */
	char work[200];	   /* what the guest did, for the report */
	uint64_t bytes;	   /* payload bytes moved, both directions */
	uint64_t requests; /* chains the device completed (used entries the guest collected) */
	uint64_t kicks;	   /* QueueNotify writes by the guest */
	struct xensim_counters cnt; /* crossings during the device's work */
};

struct demo {
	struct demo_opts o;
	char dir[96];	 /* private temporary directory (short: unix socket paths live in it) */
	char image[112]; /* the disk image, in dir */
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	xensim_guest *g;
	struct demo_daemon daemons[NR_DEVS];
	struct demo_dev devs[NR_DEVS];
	xensim_blk *blk;
	xensim_net *net;
	xensim_console *con;
	int net_fd;    /* host side of the net device: the daemon's socket peer, or AF_PACKET */
	int listen_fd; /* socket mode: where the daemon connects */
	int pty;       /* the console's pty, opened as a terminal program would */
	char pty_name[64];
	char err[1024];
};

/** demo_fail() - record why the demo failed (the first reason wins). Returns -1. */
int demo_fail(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Find the daemons and xensim's drop-in libraries (options, environment, defaults). */
int demo_find_files(struct demo *d);
/** Run the three daemons in discovery mode, their output in <dir>/<name>.log. */
int demo_start_daemons(struct demo *d);
/** Reap @dm if it exited (@flags: WNOHANG or 0); true if it is gone. */
bool demo_daemon_reaped(struct demo_daemon *dm, int flags);
/** demo_fail() with how @dm ended. */
int demo_daemon_failed(struct demo *d, struct demo_daemon *dm);
/** SIGTERM, then wait up to @ms for the exit; true if it exited. */
bool demo_daemon_stop(struct demo_daemon *dm, int ms);
/** Print the last lines of @dm's log to stderr. */
void demo_daemon_log_tail(const struct demo_daemon *dm);

/** Host side of the devices, before the guest probes them. Return 0 or demo_fail(). */
int demo_disk_create(struct demo *d);
int demo_net_listen(struct demo *d);
int demo_net_connect(struct demo *d);
int demo_console_open(struct demo *d);

/** The guest's work on each device, checked on the host side. Return 0 or demo_fail(). */
int demo_blk_work(struct demo *d);
int demo_net_work(struct demo *d);
int demo_console_work(struct demo *d);

#endif /* VXEN_DEMO_H */
