/* SPDX-License-Identifier: MIT */
/*
 * vxen-demo — the example backends serving a simulated Xen guest, end to end, in a few seconds.
 *
 * SYNOPSIS
 *	vxen-demo [--keep] [--verbose] [--tap NAME] [--daemon-dir DIR] [--xensim-libdir DIR]
 *
 * DESCRIPTION
 *	1. Starts a xensim machine (a simulated Xen hypervisor and xenstored) in this process.
 *	2. Runs virtio-xen-blk, virtio-xen-net and virtio-xen-console as separate processes in
 *	   discovery mode, each with LD_LIBRARY_PATH pointing at xensim's drop-in Xen libraries:
 *	   the same binaries run unchanged in dom0 on real Xen.
 *	3. Creates a guest and, as `xl` would, a virtio disk (a temporary raw image), a virtio-net
 *	   device (on a unix socket this program serves as the host side, or on a TAP with
 *	   --tap) and a virtio console; each daemon finds its device in xenstore and reaches
 *	   InitWait.
 *	4. As the guest, with xensim's Linux-like grant-DMA virtio drivers: writes random data
 *	   across the disk and reads it back, exchanges frames both ways, echoes text through the
 *	   console's pty. Every byte is checked.
 *	5. Reports what ran and what every request cost in hypervisor and kernel crossings, as
 *	   counted by xensim; unplugs the devices and checks the backends released every
 *	   mapping, event channel and ioreq server; stops the daemons with SIGTERM and checks
 *	   they exit 0.
 *
 * OPTIONS
 *	-k, --keep               keep the temporary directory (image, sockets, daemon logs)
 *	-v, --verbose            the daemons log verbosely to this terminal
 *	--tap NAME               put the net device on TAP interface NAME (needs root)
 *	--daemon-dir DIR         run the daemons from DIR (default: the build tree when run
 *	                         from it, else the install location; env VXEN_DEMO_DAEMON_DIR)
 *	--xensim-libdir DIR      xensim's drop-in libraries (env VXEN_XENSIM_LIBDIR)
 *	-h, --help, -V, --version
 *
 * EXIT STATUS
 *	0 every check passed; 1 a check failed (the reason and the daemons' logs are printed,
 *	the files are kept); 2 bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

static const char *const dev_names[NR_DEVS] = { "blk", "net", "console" };

int demo_fail(struct demo *d, const char *fmt, ...)
{
	va_list ap;

	if (d->err[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------------------------ */
/* The guest and its devices                                                                   */

static const char *state_path(const struct demo *d, const struct demo_dev *v, char *buf, size_t n)
{
	snprintf(buf, n, "/local/domain/0/backend/%s/%u/%u/state",
		 v->kind == XENSIM_VIRTIO_DISK ? "virtio_disk" : "virtio", d->domid, v->devid);
	return buf;
}

/* Wait for backend state 2 (InitWait), noticing a daemon that died meanwhile. */
static int wait_initwait(struct demo *d, int i)
{
	char path[128];

	state_path(d, &d->devs[i], path, sizeof(path));
	for (int t = 0; t < DEMO_TIMEOUT_MS / 100; t++) {
		if (xensim_xs_wait(d->x, path, "2", 100) == 0)
			return 0;
		if (demo_daemon_reaped(&d->daemons[i], WNOHANG))
			return demo_daemon_failed(d, &d->daemons[i]);
	}
	return demo_fail(d, "%s did not take its device (%s is not 2 after %d ms)",
			 d->daemons[i].name, path, DEMO_TIMEOUT_MS);
}

static void describe_devices(struct demo *d)
{
	static const struct {
		enum xensim_virtio_kind kind;
		uint32_t devid, virtio_id;
	} place[NR_DEVS] = { { XENSIM_VIRTIO_DISK, 0, XENSIM_VIRTIO_ID_BLOCK },
			     { XENSIM_VIRTIO_GENERIC, 0, XENSIM_VIRTIO_ID_NET },
			     { XENSIM_VIRTIO_GENERIC, 1, XENSIM_VIRTIO_ID_CONSOLE } };

	for (int i = 0; i < NR_DEVS; i++) {
		struct demo_dev *v = &d->devs[i];

		/* Arm's virtio-mmio region and SPIs, as libxl allocates them. */
		*v = (struct demo_dev){ .name = dev_names[i],
					.kind = place[i].kind,
					.devid = place[i].devid,
					.virtio_id = place[i].virtio_id,
					.base = 0x2000000 + 0x200u * (unsigned int)i,
					.irq = 33 + (uint32_t)i };
	}
}

/* The device as the toolstack describes it in xenstore. */
static struct xensim_virtio_dev xl_dev(const struct demo *d, int i)
{
	struct xensim_virtio_dev x = XENSIM_VIRTIO_DEV_INIT;
	const struct demo_dev *v = &d->devs[i];

	x.kind = v->kind;
	x.frontend_domid = d->domid;
	x.devid = v->devid;
	x.virtio_id = v->virtio_id;
	x.base = v->base;
	x.irq = v->irq;
	x.params = v->kind == XENSIM_VIRTIO_DISK ? d->image : NULL;
	x.mode = v->kind == XENSIM_VIRTIO_DISK ? "w" : NULL;
	return x;
}

static int add_devices(struct demo *d)
{
	for (int i = 0; i < NR_DEVS; i++) {
		struct xensim_virtio_dev x = xl_dev(d, i);
		int r = xensim_xl_add_virtio(d->x, &x);

		if (r)
			return demo_fail(d, "xl: adding the %s device: %s", d->devs[i].name,
					 strerror(-r));
	}
	for (int i = 0; i < NR_DEVS; i++)
		if (wait_initwait(d, i))
			return -1;
	return 0;
}

static int start_guest(struct demo *d)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	int r;

	r = xensim_server_start(&d->srv, d->dir);
	if (!r)
		r = xensim_open(&d->x, NULL);
	if (r)
		return demo_fail(d, "cannot start the xensim machine: %s", strerror(-r));
	cfg.name = "vxen-demo";
	cfg.ram_bytes = DEMO_GUEST_RAM;
	r = xensim_domain_create(d->x, &cfg, &d->domid);
	if (!r)
		r = xensim_guest_attach(&d->g, d->x, d->domid);
	return r ? demo_fail(d, "cannot create the guest: %s", strerror(-r)) : 0;
}

/* The guest boots: its virtio drivers probe the three devices. */
static int probe_devices(struct demo *d)
{
	struct xensim_blk_opts bo = XENSIM_BLK_OPTS_INIT;
	struct demo_dev *v = d->devs;
	uint8_t mac[6];
	int r;

	bo.nr_queues = 1;
	r = xensim_blk_new(&d->blk, d->g, 0, v[DEV_BLK].base, v[DEV_BLK].irq, &bo);
	if (r)
		return demo_fail(d, "guest: virtio-blk probe: %s", strerror(-r));
	r = xensim_net_new(&d->net, d->g, 0, v[DEV_NET].base, v[DEV_NET].irq, NULL);
	if (r)
		return demo_fail(d, "guest: virtio-net probe: %s", strerror(-r));
	r = xensim_console_new(&d->con, d->g, 0, v[DEV_CON].base, v[DEV_CON].irq, NULL);
	if (r)
		return demo_fail(d, "guest: virtio-console probe: %s", strerror(-r));
	snprintf(v[DEV_BLK].detail, sizeof(v[DEV_BLK].detail), "%" PRIu64 " MiB image, writable",
		 xensim_blk_config(d->blk)->capacity >> 11);
	if (xensim_net_mac(d->net, mac) == 0)
		snprintf(v[DEV_NET].detail, sizeof(v[DEV_NET].detail),
			 "mac %02x:%02x:%02x:%02x:%02x:%02x, ", mac[0], mac[1], mac[2], mac[3],
			 mac[4], mac[5]);
	snprintf(v[DEV_NET].detail + strlen(v[DEV_NET].detail),
		 sizeof(v[DEV_NET].detail) - strlen(v[DEV_NET].detail), "%s %s",
		 d->o.tap ? "tap" : "unix socket", d->o.tap ? d->o.tap : "net.sock");
	snprintf(v[DEV_CON].detail, sizeof(v[DEV_CON].detail), "pty %s", d->pty_name);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Measuring                                                                                   */

static xensim_vdev *dev_vdev(struct demo *d, int i)
{
	return i == DEV_BLK   ? xensim_blk_vdev(d->blk)
	       : i == DEV_NET ? xensim_net_vdev(d->net)
			      : xensim_console_vdev(d->con);
}

/* Used entries collected and notifications sent, over every queue of device @i. */
static void vq_totals(struct demo *d, int i, uint64_t *used, uint64_t *notifies)
{
	xensim_vdev *vd = dev_vdev(d, i);
	struct xensim_vq_stats s;

	*used = *notifies = 0;
	for (unsigned int q = 0; q < xensim_vdev_nr_vqs(vd); q++) {
		xensim_vq_get_stats(xensim_vdev_vq(vd, q), &s);
		*used += s.used;
		*notifies += s.notifies;
	}
}

/* Run device @i's work alone, counting its crossings and requests. */
static int measure(struct demo *d, int i, int (*work)(struct demo *))
{
	struct demo_dev *v = &d->devs[i];
	uint64_t used0, kicks0;
	int r;

	vq_totals(d, i, &used0, &kicks0);
	r = xensim_counters_reset(d->x);
	if (r)
		return demo_fail(d, "xensim counters: %s", strerror(-r));
	if (work(d))
		return -1;
	r = xensim_counters_get(d->x, d->domid, &v->cnt);
	if (r)
		return demo_fail(d, "xensim counters: %s", strerror(-r));
	vq_totals(d, i, &v->requests, &v->kicks);
	v->requests -= used0;
	v->kicks -= kicks0;
	printf("  %-8s %s\n", v->name, v->work);
	return 0;
}

static void print_size(char *buf, size_t n, uint64_t bytes)
{
	if (bytes >= 1u << 20)
		snprintf(buf, n, "%.1f MiB", bytes / 1048576.0);
	else
		snprintf(buf, n, "%.1f KiB", bytes / 1024.0);
}

static void print_costs(const struct demo *d)
{
	printf("\ncrossings, as counted by xensim (per request below each total):\n"
	       "  %-8s %8s %10s %8s %8s %8s %8s %8s %8s %8s\n",
	       "device", "requests", "bytes", "gnt-map", "gnt-unmap", "gnt-copy", "ioreq", "kick",
	       "irq", "notify");
	for (int i = 0; i < NR_DEVS; i++) {
		const struct demo_dev *v = &d->devs[i];
		const struct xensim_counters *c = &v->cnt;
		const uint64_t val[] = {
			c->gnt_map_calls, c->gnt_unmap_calls, c->gnt_copy_calls,     c->ioreqs,
			v->kicks,	  c->irq_raises,      c->evtchn_notify_calls
		};
		double per = v->requests ? (double)v->requests : 1;
		char size[32];

		print_size(size, sizeof(size), v->bytes);
		printf("  %-8s %8" PRIu64 " %10s", v->name, v->requests, size);
		for (unsigned int k = 0; k < sizeof(val) / sizeof(val[0]); k++)
			printf(" %8" PRIu64, val[k]);
		printf("\n  %-8s %8s %10s", "", "", "");
		for (unsigned int k = 0; k < sizeof(val) / sizeof(val[0]); k++)
			printf(" %8.2f", val[k] / per);
		printf("\n");
	}
	printf("  gnt-map/unmap: gntdev map and unmap calls; gnt-copy: grant copy calls (small "
	       "buffers);\n  ioreq: guest MMIO accesses the backend served (kicks, interrupt "
	       "status and ack);\n  kick: QueueNotify writes; irq: interrupts injected; notify: "
	       "event channel notifications.\n");
}

/* ------------------------------------------------------------------------------------------ */
/* Shutting down, checking that nothing is left                                                */

static int live_total(const struct xensim_counters *c)
{
	return c->gnt_live_pages || c->evtchn_live_ports || c->ioreq_servers_live ||
	       c->fmem_live_pages || c->fmem_resource_maps_live;
}

static int wait_released(struct demo *d, uint32_t domid, struct xensim_counters *c)
{
	for (int t = 0; t < DEMO_TIMEOUT_MS / 10; t++) {
		int r = xensim_counters_get(d->x, domid, c);

		if (r)
			return demo_fail(d, "xensim counters: %s", strerror(-r));
		if (!live_total(c))
			return 0;
		usleep(10 * 1000);
	}
	return demo_fail(d,
			 "still held after %d ms: %" PRIu64 " grant pages, %" PRIu64
			 " event channels, %" PRIu64 " ioreq servers, %" PRIu64
			 " foreign pages, %" PRIu64 " resource maps",
			 DEMO_TIMEOUT_MS, c->gnt_live_pages, c->evtchn_live_ports,
			 c->ioreq_servers_live, c->fmem_live_pages, c->fmem_resource_maps_live);
}

/* The guest removes its drivers; the toolstack unplugs the devices and destroys the guest. */
static int unplug(struct demo *d)
{
	struct xensim_counters c;
	int r = xensim_blk_free(d->blk), rn = xensim_net_free(d->net),
	    rc = xensim_console_free(d->con);

	d->blk = NULL;
	d->net = NULL;
	d->con = NULL;
	if (r || rn || rc || xensim_guest_broken(d->g))
		return demo_fail(d,
				 "guest: removing the drivers failed (%d %d %d; %" PRIu64
				 " grants still in use by a backend)",
				 r, rn, rc, xensim_guest_broken(d->g));
	for (int i = 0; i < NR_DEVS; i++) {
		struct xensim_virtio_dev x = xl_dev(d, i);

		r = xensim_xl_remove_virtio(d->x, &x);
		if (r)
			return demo_fail(d, "xl: removing %s: %s", d->devs[i].name, strerror(-r));
	}
	/* While the guest still exists: only the backends themselves can have released it. */
	if (wait_released(d, d->domid, &c))
		return -1;
	printf("  guest drivers removed (no grant still in use), devices unplugged: the backends "
	       "released\n  every grant mapping, event channel, ioreq server and foreign map "
	       "(xensim: 0 live)\n");
	xensim_guest_detach(d->g);
	d->g = NULL;
	r = xensim_xl_destroy(d->x, d->domid);
	return r ? demo_fail(d, "xl destroy: %s", strerror(-r)) : 0;
}

static int stop_all(struct demo *d)
{
	struct xensim_counters c;

	for (int i = 0; i < NR_DEVS; i++) {
		struct demo_daemon *dm = &d->daemons[i];

		if (!demo_daemon_stop(dm, DEMO_TIMEOUT_MS))
			return demo_fail(d, "%s did not exit within %d ms of SIGTERM", dm->name,
					 DEMO_TIMEOUT_MS);
		if (!WIFEXITED(dm->status) || WEXITSTATUS(dm->status))
			return demo_daemon_failed(d, dm);
	}
	if (wait_released(d, XENSIM_DOMID_ALL, &c))
		return -1;
	printf("  guest destroyed; daemons stopped with SIGTERM: exit status 0, 0, 0; "
	       "machine-wide 0 live\n");
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Main                                                                                        */

static void print_setup(const struct demo *d)
{
	printf("machine   xensim, in this process; sockets and files in %s\n", d->dir);
	for (int i = 0; i < NR_DEVS; i++)
		printf("%-9s %-19s pid %-7d%s\n", i ? "" : "daemons", d->daemons[i].name,
		       (int)d->daemons[i].pid,
		       d->daemons[i].args[0] ? d->daemons[i].args + 1 : "(no options)");
	printf("          (separate processes, discovery mode, LD_LIBRARY_PATH=%s)\n",
	       d->o.xensim_libdir);
	printf("guest     domain %u, %u MiB, grant-DMA virtio drivers (as Linux "
	       "CONFIG_XEN_VIRTIO)\n",
	       d->domid, DEMO_GUEST_RAM >> 20);
	for (int i = 0; i < NR_DEVS; i++)
		printf("%-9s virtio-%-8s base 0x%08" PRIx64 "  irq %u  %s\n", i ? "" : "devices",
		       d->devs[i].name, d->devs[i].base, d->devs[i].irq, d->devs[i].detail);
	printf("          (added through xenstore as xl does; every backend reached InitWait)\n\n"
	       "work\n");
}

static int make_dir(struct demo *d)
{
	const char *tmp = getenv("TMPDIR");

	size_t n = (size_t)snprintf(d->dir, sizeof(d->dir), "%s/vxen-demo.XXXXXX",
				    tmp && *tmp ? tmp : "/tmp");

	if (n >= sizeof(d->dir)) {
		d->dir[0] = 0;
		return demo_fail(d, "TMPDIR is too long for unix socket paths");
	}
	if (mkdtemp(d->dir))
		return 0;
	d->dir[0] = 0;
	return demo_fail(d, "cannot create a temporary directory: %s", strerror(errno));
}

static int run(struct demo *d)
{
	if (demo_find_files(d) || make_dir(d) || demo_disk_create(d) || start_guest(d) ||
	    demo_start_daemons(d) || demo_net_listen(d))
		return -1;
	describe_devices(d);
	if (add_devices(d) || demo_net_connect(d) || demo_console_open(d) || probe_devices(d))
		return -1;
	print_setup(d);
	if (measure(d, DEV_BLK, demo_blk_work) || measure(d, DEV_NET, demo_net_work) ||
	    measure(d, DEV_CON, demo_console_work))
		return -1;
	print_costs(d);
	printf("\nshutdown\n");
	return unplug(d) || stop_all(d) ? -1 : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(struct demo *d, bool failed)
{
	const int fds[] = { d->pty, d->net_fd, d->listen_fd };

	xensim_console_free(d->con);
	xensim_net_free(d->net);
	xensim_blk_free(d->blk);
	xensim_guest_detach(d->g);
	for (int i = 0; i < NR_DEVS; i++) {
		if (demo_daemon_stop(&d->daemons[i], 2000))
			continue;
		kill(d->daemons[i].pid, SIGKILL);
		demo_daemon_reaped(&d->daemons[i], 0);
	}
	if (failed && !d->o.verbose)
		for (int i = 0; i < NR_DEVS; i++)
			demo_daemon_log_tail(&d->daemons[i]);
	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	xensim_close(d->x);
	xensim_server_stop(d->srv);
	if (!d->dir[0])
		return;
	if (failed || d->o.keep)
		fprintf(failed ? stderr : stdout, "vxen-demo: files kept in %s\n", d->dir);
	else if (nftw(d->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "vxen-demo: cannot remove %s: %s\n", d->dir, strerror(errno));
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vxen-demo [OPTION]...\n"
		"Run the example backends (virtio-xen-blk, -net, -console) as separate processes "
		"on a\nsimulated Xen machine, drive a simulated guest's disk, network and console "
		"through them,\nand report what every request cost in hypervisor and kernel "
		"crossings.\n\n"
		"  -k, --keep               keep the temporary directory (image, sockets, logs)\n"
		"  -v, --verbose            the daemons log verbosely to this terminal\n"
		"      --tap NAME           put the net device on TAP interface NAME (needs root)\n"
		"      --daemon-dir DIR     where the daemons are (env VXEN_DEMO_DAEMON_DIR;\n"
		"                           default: the build tree, or %s when installed)\n"
		"      --xensim-libdir DIR  xensim's drop-in Xen libraries (env "
		"VXEN_XENSIM_LIBDIR;\n"
		"                           default: the build tree's, or %s)\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n\n"
		"Exit status: 0 if every check passed, 1 if one failed, 2 for a bad command "
		"line.\n",
		VXEN_DEMO_SBINDIR, VXEN_DEMO_XENSIM_LIBDIR);
}

/* Returns -1 for a usage error, 1 to exit 0 at once, 0 to run. */
static int parse(struct demo_opts *o, int argc, char **argv)
{
	enum { KEY_TAP = 256, KEY_DAEMON_DIR, KEY_LIBDIR };
	static const struct option opts[] = {
		{ "keep", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "tap", required_argument, NULL, KEY_TAP },
		{ "daemon-dir", required_argument, NULL, KEY_DAEMON_DIR },
		{ "xensim-libdir", required_argument, NULL, KEY_LIBDIR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":kvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->keep = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case KEY_TAP:
			o->tap = optarg;
			break;
		case KEY_DAEMON_DIR:
			o->daemon_dir = optarg;
			break;
		case KEY_LIBDIR:
			o->xensim_libdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("vxen-demo (libvirtio-xen %s)\n", VXEN_DEMO_VERSION);
			return 1;
		case ':':
			fprintf(stderr, "vxen-demo: '%s' needs an argument\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "vxen-demo: unknown option '%s'\nTry 'vxen-demo --help'.\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vxen-demo: unexpected argument '%s'\nTry 'vxen-demo --help'.\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct demo d = { .net_fd = -1, .listen_fd = -1, .pty = -1 };
	double t0 = now();
	int r = parse(&d.o, argc, argv);

	if (r)
		return r < 0 ? 2 : 0;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vxen-demo: libvirtio-xen %s example backends serving a simulated Xen guest\n\n",
	       VXEN_DEMO_VERSION);
	r = run(&d);
	cleanup(&d, r != 0);
	if (r) {
		fprintf(stderr, "vxen-demo: FAILED: %s\n", d.err);
		return 1;
	}
	printf("\nvxen-demo: OK, every check passed (%.1f s)\n", now() - t0);
	return 0;
}
