/* SPDX-License-Identifier: MIT */
/*
 * examples/common/daemon.c — command line, logging and the main loop of the example daemons.
 * See daemon.h.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <virtio-xen/log.h>
#include <virtio-xen/version.h>

#include "daemon.h"

enum {
	KEY_DOMID = VXD_KEY_BASE,
	KEY_BASE,
	KEY_IRQ,
	KEY_GRANT,
	KEY_NO_GRANT,
	KEY_LOG,
	KEY_GRANT_STRATEGY,
	KEY_COPY_THRESHOLD,
};

#define MAX_OPTIONS 64

/* Xen reserves domids from 0x7ff0 (DOMID_FIRST_RESERVED); GIC SPIs end at 1019. */
#define MAX_DOMID 0x7fefu
#define MAX_IRQ	  1019u

static const struct vxd_option common_options[] = {
	{ "help", 'h', NULL, "show this help and exit" },
	{ "version", 'V', NULL, "show the version and exit" },
	{ "verbose", 'v', NULL, "more messages (twice: debug)" },
	{ "quiet", 'q', NULL, "only warnings and errors" },
	{ "log", KEY_LOG, "stderr|syslog", "where messages go (default stderr)" },
	{ "domid", KEY_DOMID, "N", "explicit mode: the guest's domain id" },
	{ "base", KEY_BASE, "ADDR", "explicit mode: MMIO window base (decimal or 0x-hex)" },
	{ "irq", KEY_IRQ, "N", "explicit mode: the device's interrupt (Arm SPI)" },
	{ "grant", KEY_GRANT, NULL, "explicit mode: guest uses grant-DMA addresses (default)" },
	{ "no-grant", KEY_NO_GRANT, NULL, "explicit mode: guest-physical addresses (dom0 only)" },
	{ "grant-strategy", KEY_GRANT_STRATEGY, "batched|per-desc",
	  "grant mappings: one per chain (default) or one per descriptor (for comparisons)" },
	{ "copy-threshold", KEY_COPY_THRESHOLD, "BYTES",
	  "grant-copy buffers up to BYTES instead of mapping them (default 512, 0: never)" },
	{ NULL, 0, NULL, NULL },
};

struct dev_rec {
	vxen_dev *dev;
	uint32_t domid, devid;
	struct dev_rec *next;
};

static struct {
	const char *prog;
	bool syslog;
	int level;
} sink = { .prog = "virtio-xen", .level = LOG_NOTICE };

struct state {
	const struct vxd_daemon *d;
	void *payload;
	vxen_loop *loop;
	bool explicit_mode, grant_given;
	unsigned int explicit_given; /* bit per --domid/--base/--irq */
	struct vxen_xs_device info;  /* explicit mode */
	struct dev_rec *devs;
	/* --grant-strategy, --copy-threshold: every device's defaults (tmpl points at gdma) */
	bool gdma_given;
	struct vxen_gdma_config gdma;
	struct vxen_dev_config tmpl;
};

/* ------------------------------------------------------------------------------------------ */
/* Logging                                                                                     */

static void emit(int level, const char *msg)
{
	if (sink.syslog)
		syslog(level, "%s", msg);
	else
		fprintf(stderr, "%s: %s%s\n", sink.prog,
			level <= LOG_ERR       ? "error: "
			: level == LOG_WARNING ? "warning: "
					       : "",
			msg);
}

static void lib_log(int level, const char *msg, void *payload)
{
	emit(level, msg);
}

void vxd_log(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (level > sink.level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit(level, buf);
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                */

int vxd_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sink.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", sink.prog);
	return -1;
}

int vxd_parse_u64(const char *opt, const char *arg, uint64_t max, uint64_t *out)
{
	bool hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X');
	const char *digits = hex ? arg + 2 : arg;
	unsigned long long v;
	char *end;

	/* strtoull accepts signs and blanks, and "0x" with no digits: refuse those first. */
	if (!(hex ? isxdigit((unsigned char)*digits) : isdigit((unsigned char)*digits)))
		return vxd_usage_error("%s: '%s' is not a number", opt, arg);
	errno = 0;
	v = strtoull(digits, &end, hex ? 16 : 10);
	if (*end)
		return vxd_usage_error("%s: '%s' is not a number", opt, arg);
	if (errno == ERANGE || v > max)
		return vxd_usage_error("%s: '%s' is out of range (max %" PRIu64 ")", opt, arg, max);
	*out = v;
	return 0;
}

static void print_options(const struct vxd_option *o)
{
	for (; o && o->name; o++) {
		char left[64];
		int n = 0;

		if (o->key < 256)
			n = snprintf(left, sizeof(left), "-%c, ", o->key);
		snprintf(left + n, sizeof(left) - n, "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		printf("  %-28s %s\n", left, o->help);
	}
}

static void help(const struct vxd_daemon *d)
{
	printf("Usage: %s [OPTION]...\n%s\n\nOptions:\n", d->prog, d->synopsis);
	print_options(d->options);
	print_options(common_options);
	printf("\nWithout --domid/--base/--irq, serves the devices xl publishes in xenstore.\n");
	if (d->usage)
		printf("\n%s", d->usage);
}

static int add_options(struct option *lo, int n, char *shorts, const struct vxd_option *o)
{
	for (; o && o->name && n < MAX_OPTIONS; o++, n++) {
		lo[n] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
					 o->key };
		if (o->key < 256) {
			size_t len = strlen(shorts);

			shorts[len++] = (char)o->key;
			if (o->arg)
				shorts[len++] = ':';
			shorts[len] = 0;
		}
	}
	return n;
}

static int parse_common(struct state *st, int key, const char *arg)
{
	uint64_t v;

	switch (key) {
	case 'v':
		sink.level = sink.level < LOG_INFO ? LOG_INFO : LOG_DEBUG;
		return 0;
	case 'q':
		sink.level = LOG_WARNING;
		return 0;
	case KEY_LOG:
		if (strcmp(arg, "stderr") && strcmp(arg, "syslog"))
			return vxd_usage_error("--log: '%s' is neither stderr nor syslog", arg);
		sink.syslog = !strcmp(arg, "syslog");
		return 0;
	case KEY_GRANT:
	case KEY_NO_GRANT:
		st->grant_given = true;
		st->info.grant_usage = key == KEY_GRANT;
		return 0;
	case KEY_DOMID:
		st->explicit_given |= 1;
		if (vxd_parse_u64("--domid", arg, MAX_DOMID, &v))
			return -1;
		st->info.frontend_domid = (uint32_t)v;
		return 0;
	case KEY_BASE:
		st->explicit_given |= 2;
		return vxd_parse_u64("--base", arg, UINT64_MAX - VXEN_XS_MMIO_SIZE, &st->info.base);
	case KEY_IRQ:
		st->explicit_given |= 4;
		if (vxd_parse_u64("--irq", arg, MAX_IRQ, &v))
			return -1;
		st->info.irq = (uint32_t)v;
		return 0;
	case KEY_GRANT_STRATEGY:
		if (strcmp(arg, "batched") && strcmp(arg, "per-desc"))
			return vxd_usage_error(
				"--grant-strategy: '%s' is neither batched nor per-desc", arg);
		st->gdma_given = true;
		st->gdma.strategy = strcmp(arg, "batched") ? VXEN_GDMA_PER_DESC : VXEN_GDMA_BATCHED;
		return 0;
	case KEY_COPY_THRESHOLD:
		if (vxd_parse_u64("--copy-threshold", arg, VXEN_GDMA_COPY_THRESHOLD_LIMIT, &v))
			return -1;
		st->gdma_given = true;
		st->gdma.copy_threshold = (uint32_t)v;
		return 0;
	}
	return st->d->parse ? st->d->parse(key, arg, st->payload) : -1;
}

/* Returns -1 to exit with VXD_EXIT_USAGE, 1 to exit 0 (--help, --version), 0 to run. */
static int parse(struct state *st, int argc, char **argv)
{
	struct option lo[MAX_OPTIONS + 1] = { 0 };
	char shorts[2 * MAX_OPTIONS + 2] = ":";
	int n = add_options(lo, 0, shorts, common_options), key;

	add_options(lo, n, shorts, st->d->options);
	opterr = 0; /* our own messages, in our format */
	while ((key = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (key == 'h' || key == 'V') {
			if (key == 'h')
				help(st->d);
			else
				printf("%s (libvirtio-xen %s)\n", st->d->prog, vxen_version());
			return 1;
		}
		if (key == '?' && optopt)
			return vxd_usage_error("unknown option '-%c'", optopt);
		if (key == '?' || key == ':')
			return vxd_usage_error(
				"%s '%s'", key == ':' ? "missing argument for" : "unknown option",
				argv[optind - 1]);
		if (parse_common(st, key, optarg))
			return -1;
	}
	if (optind < argc)
		return vxd_usage_error("unexpected argument '%s'", argv[optind]);
	st->explicit_mode = st->explicit_given != 0;
	if (st->explicit_mode && st->explicit_given != 7)
		return vxd_usage_error("--domid, --base and --irq go together");
	if (!st->explicit_mode && st->grant_given)
		return vxd_usage_error("--grant/--no-grant need --domid, --base and --irq");
	return st->d->check ? st->d->check(st->explicit_mode, st->payload) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Devices                                                                                     */

static int be_create(vxen_backend *be, const struct vxen_xs_device *info,
		     const struct vxen_dev_config *cfg, vxen_dev **out, void *payload)
{
	struct state *st = payload;
	struct dev_rec *rec = calloc(1, sizeof(*rec));
	char desc[256] = "";
	int r;

	if (!rec)
		return -ENOMEM;
	r = st->d->create(st->loop, info, cfg, out, desc, sizeof(desc), st->payload);
	if (r) {
		vxd_log(LOG_ERR, "%s: d%u dev %u: not created: %s", st->d->tag,
			info->frontend_domid, info->devid, strerror(-r));
		free(rec);
		return r;
	}
	*rec = (struct dev_rec){ *out, info->frontend_domid, info->devid, st->devs };
	st->devs = rec;
	vxd_log(LOG_NOTICE, "%s: d%u dev %u: %s, %s, base 0x%" PRIx64 " irq %u", st->d->tag,
		info->frontend_domid, info->devid, desc, cfg->grants ? "grant" : "foreign",
		info->base, info->irq);
	return 0;
}

static void be_destroy(vxen_backend *be, vxen_dev *dev, void *payload)
{
	struct state *st = payload;
	struct dev_rec **pp = &st->devs, *rec;

	while (*pp && (*pp)->dev != dev)
		pp = &(*pp)->next;
	st->d->destroy(dev, st->payload);
	rec = *pp;
	if (!rec)
		return;
	*pp = rec->next;
	vxd_log(LOG_NOTICE, "%s: d%u dev %u: gone", st->d->tag, rec->domid, rec->devid);
	free(rec);
	/* An explicit-mode daemon serves one guest: when it is gone, so is the daemon. */
	if (st->explicit_mode && !st->devs)
		vxen_loop_stop(st->loop);
}

static int start(struct state *st, vxen_backend **be)
{
	struct vxen_backend_config bc = VXEN_BACKEND_CONFIG_INIT;
	struct vxen_backend_ops ops = { .version = VXEN_BACKEND_OPS_VERSION,
					.create = be_create,
					.destroy = be_destroy };
	int r;

	bc.virtio_ids = st->d->virtio_ids;
	bc.nr_virtio_ids = st->d->nr_virtio_ids;
	bc.kinds = st->d->kinds;
	bc.no_xenstore = st->explicit_mode;
	if (st->gdma_given) {
		/* The backend copies the template; st (and so st->gdma) outlives the backend. */
		st->tmpl = (struct vxen_dev_config)VXEN_DEV_CONFIG_INIT;
		st->tmpl.gdma = &st->gdma;
		bc.dev_template = &st->tmpl;
	}
	r = vxen_backend_new(be, st->loop, &bc, &ops, st);
	if (r) {
		vxd_log(LOG_ERR, "cannot start%s: %s",
			st->explicit_mode ? "" : " watching xenstore", strerror(-r));
		return r;
	}
	if (!st->explicit_mode) {
		vxd_log(LOG_INFO, "serving %s devices from xenstore", st->d->tag);
		return 0;
	}
	st->info.version = VXEN_XS_DEVICE_VERSION;
	st->info.virtio_id = st->d->nr_virtio_ids ? st->d->virtio_ids[0] : 0;
	if (st->d->explicit_device)
		st->d->explicit_device(&st->info, st->payload);
	r = vxen_backend_add(*be, &st->info, NULL);
	if (r) {
		vxen_backend_free(*be);
		*be = NULL;
	}
	return r;
}

static int run(struct state *st)
{
	vxen_backend *be = NULL;
	int r;

	r = vxen_loop_new(&st->loop);
	if (r) {
		vxd_log(LOG_ERR, "cannot create the event loop: %s", strerror(-r));
		return VXD_EXIT_FAILURE;
	}
	/* Block the signals before any device (and its threads) exists. */
	r = vxen_loop_add_signal(st->loop, SIGTERM, NULL, NULL);
	if (!r)
		r = vxen_loop_add_signal(st->loop, SIGINT, NULL, NULL);
	if (!r)
		r = start(st, &be);
	if (!r) {
		r = vxen_backend_run(be);
		if (r)
			vxd_log(LOG_ERR, "event loop failed: %s", strerror(-r));
		vxen_backend_free(be);
	}
	vxen_loop_free(st->loop);
	return r ? VXD_EXIT_FAILURE : 0;
}

int vxd_main(const struct vxd_daemon *d, int argc, char **argv, void *payload)
{
	struct state st = {
		.d = d, .payload = payload, .info.grant_usage = true, .gdma = VXEN_GDMA_CONFIG_INIT
	};
	int r;

	sink.prog = d->prog;
	r = parse(&st, argc, argv);
	if (r)
		return r < 0 ? VXD_EXIT_USAGE : 0;
	if (sink.syslog)
		openlog(d->prog, LOG_PID, LOG_DAEMON);
	vxen_log_set_handler(lib_log, sink.level, NULL);
	r = run(&st);
	vxd_log(LOG_INFO, "exiting (%d)", r);
	vxen_log_set_handler(NULL, 0, NULL);
	if (sink.syslog)
		closelog();
	return r;
}
