/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen-rng — a complete virtio-rng backend for Xen guests, in one file.
 *
 *   virtio-xen-rng                                 serve every virtio,device4 entry in xenstore
 *   virtio-xen-rng --domid N --base ADDR --irq N   serve one device, no xenstore (explicit mode)
 *
 * The guest's driver posts device-writable buffers on its single queue; we fill them with bytes
 * from getrandom(2). Everything else — the ioreq server, the virtio-mmio registers, grant
 * mappings, interrupts, discovery, reset and guest death — is libvirtio-xen's job.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include <virtio-xen/virtio-xen.h>

#define VIRTIO_ID_RNG 4

/* One request: fill every device-writable byte with randomness. */
static void rng_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
{
	struct vxen_iov_cursor in;
	uint8_t buf[4096];
	size_t want, done = 0;
	ssize_t n;

	vxen_req_in_cursor(req, &in);
	while ((want = vxen_iov_remaining(&in)) > 0) {
		n = getrandom(buf, want < sizeof(buf) ? want : sizeof(buf), 0);
		if (n <= 0)
			break; /* report what we produced; the driver asks again */
		done += vxen_iov_push(&in, buf, (size_t)n);
	}
	vxen_dev_complete(req, (uint32_t)done);
}

static const struct vxen_dev_ops rng_ops = {
	.version = VXEN_DEV_OPS_VERSION,
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.handle_request = rng_request,
};

/* The backend calls this for every device the toolstack (or the command line) describes. */
static int rng_create(vxen_backend *be, const struct vxen_xs_device *info,
		      const struct vxen_dev_config *cfg, vxen_dev **out, void *payload)
{
	int r = vxen_dev_new(out, &rng_ops, cfg, NULL);

	if (r == 0) /* stderr, like the library's messages: the journal, under systemd */
		fprintf(stderr,
			"virtio-xen-rng: d%" PRIu32 ": rng at 0x%" PRIx64 " irq %" PRIu32 ", %s\n",
			info->frontend_domid, info->base, info->irq,
			cfg->grants ? "grants" : "foreign");
	return r;
}

static const struct vxen_backend_ops backend_ops = {
	.version = VXEN_BACKEND_OPS_VERSION,
	.create = rng_create,
};

/* The argument of --@name: a number up to @max (decimal or 0x-hex), or exit 2. */
static uint64_t number(const char *name, const char *s, uint64_t max)
{
	uint64_t v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max) {
		fprintf(stderr, "virtio-xen-rng: --%s: '%s' is not a valid number\n", name, s);
		exit(2);
	}
	return v;
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: virtio-xen-rng [--domid N --base ADDR --irq N [--no-grant]] [-v]\n"
		   "       virtio-xen-rng --help | --version\n"
		   "Without --domid, serves every virtio-rng device found in xenstore.\n");
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domid", required_argument, NULL, 'd' }, { "base", required_argument, NULL, 'b' },
		{ "irq", required_argument, NULL, 'i' },   { "no-grant", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },	   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	   { 0 }
	};
	struct vxen_xs_device dev = { .version = VXEN_XS_DEVICE_VERSION, .grant_usage = true };
	struct vxen_backend_config cfg = VXEN_BACKEND_CONFIG_INIT;
	uint32_t ids[] = { VIRTIO_ID_RNG };
	vxen_backend *be;
	vxen_loop *loop;
	int c, r;

	vxen_log_set_handler(vxen_log_stderr, LOG_NOTICE, NULL);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (c == 'd')
			dev.frontend_domid = (uint32_t)number("domid", optarg, 0x7fef);
		else if (c == 'b')
			dev.base = number("base", optarg, UINT64_MAX);
		else if (c == 'i')
			dev.irq = (uint32_t)number("irq", optarg, 1019);
		else if (c == 'n')
			dev.grant_usage = false;
		else if (c == 'v')
			vxen_log_set_handler(vxen_log_stderr, LOG_DEBUG, NULL);
		else if (c == 'V')
			return printf("virtio-xen-rng %s\n", vxen_version()) < 0;
		else
			return c == 'h' ? usage(stdout, 0) : usage(stderr, 2);
	}
	cfg.no_xenstore = dev.frontend_domid || dev.base || dev.irq; /* explicit mode */
	if (optind < argc)
		return usage(stderr, 2);
	if (cfg.no_xenstore && !(dev.frontend_domid && dev.base && dev.irq)) {
		fprintf(stderr, "virtio-xen-rng: explicit mode needs --domid, --base and --irq\n");
		return 2;
	}
	dev.virtio_id = VIRTIO_ID_RNG;
	cfg.virtio_ids = ids;
	cfg.nr_virtio_ids = 1;
	r = vxen_loop_new(&loop);
	if (r == 0 && (r = vxen_backend_new(&be, loop, &cfg, &backend_ops, NULL)) < 0)
		vxen_loop_free(loop);
	if (r < 0) {
		fprintf(stderr, "virtio-xen-rng: cannot start: %s\n", strerror(-r));
		return 1;
	}
	if (cfg.no_xenstore && (r = vxen_backend_add(be, &dev, NULL)) < 0)
		fprintf(stderr, "virtio-xen-rng: cannot serve the device: %s\n", strerror(-r));
	else
		r = vxen_backend_run(be); /* until SIGTERM or SIGINT */
	vxen_backend_free(be);		  /* devices torn down, xenstore state Closed */
	vxen_loop_free(loop);
	return r < 0 ? 1 : 0;
}
