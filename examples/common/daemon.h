/* SPDX-License-Identifier: MIT */
/*
 * examples/common/daemon.h — the scaffolding every example daemon (blk, net, console) shares:
 * command line, logging, and running a vxen_backend until SIGTERM. Copy this directory along
 * with the example you start from.
 *
 * A daemon describes itself in a struct vxd_daemon and hands main() over:
 *
 *	int main(int argc, char **argv)
 *	{
 *		return vxd_main(&my_daemon, argc, argv, &my_state);
 *	}
 *
 * Options every daemon understands:
 *	-h, --help            usage, then exit 0
 *	-V, --version         version, then exit 0
 *	-v, --verbose         more log messages (twice: debug)
 *	-q, --quiet           warnings and errors only
 *	--log stderr|syslog   where messages go (default stderr)
 *	--domid N --base ADDR --irq N [--grant|--no-grant]
 *	                      explicit mode: serve one device of guest N at ADDR (decimal or
 *	                      0x-hex) with interrupt N (Arm SPI), without xenstore. The guest uses
 *	                      grant-DMA addresses unless --no-grant.
 *	--grant-strategy batched|per-desc
 *	                      how buffers are mapped (gdma.h): one map call per chain and
 *	                      protection with grant copy for small buffers (default), or one map
 *	                      and unmap per descriptor, as backends without the library do (for
 *	                      comparisons: tests/bench runs each daemon both ways)
 *	--copy-threshold BYTES
 *	                      grant-copy buffers of at most BYTES instead of mapping them
 *	                      (default 512; 0: map everything)
 * Without --domid/--base/--irq the daemon runs in discovery mode: it serves every device with
 * one of its virtio ids that the toolstack (xl) publishes in xenstore, for every guest, until
 * SIGTERM or SIGINT, then closes them (backend state 6) and exits 0. In explicit mode it also
 * exits 0 once its guest is gone (Xen does not announce that without xenstore: the loop probes
 * its guests, every second by default; see loop.h).
 * Usage errors print one line naming the option and exit 2; a failure to start exits 1.
 *
 * Threads: vxd_main() blocks SIGTERM and SIGINT before any device exists, so threads created
 * by devices inherit the mask and the signals reach the loop's signalfd.
 */
#ifndef VXD_DAEMON_H
#define VXD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-xen/loop.h>

#define VXD_EXIT_FAILURE 1 /* could not start (no xenstore, device refused in explicit mode) */
#define VXD_EXIT_USAGE	 2 /* bad command line */

/* Keys from VXD_KEY_BASE up are the common options'; daemons use letters or 256 .. 0xfff. */
#define VXD_KEY_BASE 0x1000

/**
 * struct vxd_option - one daemon-specific option. Tables end with an entry whose name is NULL.
 * @name: long name without "--".
 * @key: short option letter, or 256 .. 0xfff for a long-only option; passed to parse().
 * @arg: argument name shown by --help, or NULL if the option takes no argument.
 * @help: one line for --help.
 */
struct vxd_option {
	const char *name;
	int key;
	const char *arg;
	const char *help;
};

/**
 * struct vxd_daemon - what a daemon adds to the scaffolding. Callbacks get the payload given to
 * vxd_main() last; all run on the main thread, which is the loop (device) thread.
 * @prog: program name for messages ("virtio-xen-blk").
 * @tag: short device type for the device lines ("blk").
 * @synopsis: --help: one line on what the daemon does.
 * @usage: --help: text printed after the options (may be NULL).
 * @virtio_ids, @nr_virtio_ids, @kinds: devices served in discovery mode (loop.h).
 * @options: the daemon's own options (may be NULL).
 * @parse: called for each of them: return 0, or vxd_usage_error()'s value.
 * @check: after parsing, with the mode chosen: cross-option checks; 0 or vxd_usage_error().
 * @explicit_device: explicit mode: complete @info (params, writable, ...) before it is created.
 * @create: make the device described by @info (see struct vxen_backend_ops.create); pass @cfg to
 *          vxen_dev_new(). On success write a short description for the log line into @desc
 *          ("/srv/disk.img 64 MiB rw"). On failure log why and return -errno.
 * @destroy: free a device made by @create.
 */
struct vxd_daemon {
	const char *prog;
	const char *tag;
	const char *synopsis;
	const char *usage;
	const uint32_t *virtio_ids;
	unsigned int nr_virtio_ids;
	unsigned int kinds;
	const struct vxd_option *options;
	int (*parse)(int key, const char *arg, void *payload);
	int (*check)(bool explicit_mode, void *payload);
	void (*explicit_device)(struct vxen_xs_device *info, void *payload);
	int (*create)(vxen_loop *loop, const struct vxen_xs_device *info,
		      const struct vxen_dev_config *cfg, vxen_dev **out, char *desc,
		      size_t desc_size, void *payload);
	void (*destroy)(vxen_dev *dev, void *payload);
};

/**
 * vxd_main() - parse the command line, set up logging, serve devices until told to stop.
 * Returns the process exit code: 0, VXD_EXIT_FAILURE or VXD_EXIT_USAGE.
 */
int vxd_main(const struct vxd_daemon *d, int argc, char **argv, void *payload);

/**
 * vxd_usage_error() - print "<prog>: <message>" and a hint to stderr. Returns -1, the value
 * parse() and check() return for a usage error.
 */
int vxd_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * vxd_parse_u64() - parse @arg, the argument of option @opt ("--irq"), as a decimal or 0x-hex
 * number in 0 .. @max, strictly (no sign, no trailing junk). Returns 0, or -1 after printing
 * "<prog>: --irq: 'x1' is not a number" (or "... is out of range (max M)").
 */
int vxd_parse_u64(const char *opt, const char *arg, uint64_t max, uint64_t *out);

/**
 * vxd_log() - log a message at syslog @level to the daemon's sink (stderr or syslog).
 * Thread-safe.
 */
void vxd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* VXD_DAEMON_H */
