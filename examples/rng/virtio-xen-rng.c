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

	if (r == 0)
		printf("rng: serving guest %" PRIu32 " at 0x%" PRIx64 " irq %" PRIu32 " (%s)\n",
		       info->frontend_domid, info->base, info->irq,
		       info->grant_usage ? "grants" : "foreign mappings");
	fflush(stdout);
	return r;
}

static const struct vxen_backend_ops backend_ops = {
	.version = VXEN_BACKEND_OPS_VERSION,
	.create = rng_create,
};

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end || *out > max) {
		fprintf(stderr, "virtio-xen-rng: %s: '%s' is not a valid number\n", opt, s);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: virtio-xen-rng [--domid N --base ADDR --irq N [--no-grant]] [-v]\n"
		   "Without --domid, serves every virtio-rng device found in xenstore.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domid", required_argument, NULL, 'd' }, { "base", required_argument, NULL, 'b' },
		{ "irq", required_argument, NULL, 'i' },   { "no-grant", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },	   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	   { 0 }
	};
	struct vxen_xs_device dev = { .version = VXEN_XS_DEVICE_VERSION, .grant_usage = true,
				      .virtio_id = VIRTIO_ID_RNG };
	struct vxen_backend_config cfg = VXEN_BACKEND_CONFIG_INIT;
	uint32_t ids[] = { VIRTIO_ID_RNG };
	uint64_t v, explicit_mode = 0;
	vxen_backend *be;
	vxen_loop *loop;
	int c, r;

	vxen_log_set_handler(vxen_log_stderr, LOG_NOTICE, NULL);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_u64("--domid", optarg, 0x7fef, &v))
				return 2;
			dev.frontend_domid = (uint32_t)v;
			explicit_mode = 1;
			break;
		case 'b':
			if (parse_u64("--base", optarg, UINT64_MAX, &dev.base))
				return 2;
			break;
		case 'i':
			if (parse_u64("--irq", optarg, 1019, &v))
				return 2;
			dev.irq = (uint32_t)v;
			break;
		case 'n': dev.grant_usage = false; break;
		case 'v': vxen_log_set_handler(vxen_log_stderr, LOG_DEBUG, NULL); break;
		case 'V': printf("virtio-xen-rng %s\n", vxen_version()); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (explicit_mode && (!dev.base || !dev.irq))) {
		fprintf(stderr, "virtio-xen-rng: explicit mode needs --domid, --base and --irq\n");
		return 2;
	}

	cfg.virtio_ids = ids;
	cfg.nr_virtio_ids = 1;
	cfg.no_xenstore = explicit_mode;
	if ((r = vxen_loop_new(&loop)) || (r = vxen_backend_new(&be, loop, &cfg, &backend_ops, NULL))) {
		fprintf(stderr, "virtio-xen-rng: cannot start: %s\n", strerror(-r));
		return 1;
	}
	if (explicit_mode && (r = vxen_backend_add(be, &dev, NULL)) < 0)
		fprintf(stderr, "virtio-xen-rng: cannot serve the device: %s\n", strerror(-r));
	else
		r = vxen_backend_run(be); /* until SIGTERM or SIGINT */
	vxen_backend_free(be);	  /* devices torn down, xenstore state Closed */
	vxen_loop_free(loop);
	return r < 0 ? 1 : 0;
}
