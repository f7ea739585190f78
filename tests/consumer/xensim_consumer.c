/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree program using an installed xensim, as a backend author testing a backend
 * would: start a simulated machine in this process (libxensim, pkg-config xensim), create a
 * guest, and read the guest's name through the ordinary libxenstore API — which only works when
 * the process runs on xensim's drop-in Xen libraries
 * (LD_LIBRARY_PATH=$(pkg-config --variable=dropin_libdir xensim)).
 *
 * Exit 0 on success; otherwise 1 with the reason on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xensim.h>
#include <xenstore.h>

static int fail(const char *what, long got)
{
	fprintf(stderr, "xensim_consumer: %s (got %ld)\n", what, got);
	return 1;
}

static int read_name(uint32_t domid)
{
	struct xs_handle *xs = xs_open(0);
	char path[64];
	unsigned int len = 0;
	char *name;
	int ok;

	if (!xs)
		return fail("xs_open() failed: not running on the drop-in libxenstore?", 0);
	snprintf(path, sizeof(path), "/local/domain/%" PRIu32 "/name", domid);
	name = xs_read(xs, XBT_NULL, path, &len);
	ok = name && strcmp(name, "consumer-guest") == 0;
	free(name);
	xs_close(xs);
	return ok ? 0 : fail("xenstore does not hold the guest's name", (long)len);
}

int main(void)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	xensim_server *srv = NULL;
	xensim *x = NULL;
	uint32_t domid = 0;
	int r;

	r = xensim_server_start(&srv, NULL);
	if (r != 0)
		return fail("xensim_server_start() failed", r);
	r = xensim_open(&x, NULL);
	if (r != 0) {
		xensim_server_stop(srv);
		return fail("xensim_open() failed", r);
	}
	cfg.name = "consumer-guest";
	r = xensim_domain_create(x, &cfg, &domid);
	if (r != 0)
		r = fail("xensim_domain_create() failed", r);
	else if (xensim_domain_exists(x, domid) != 1)
		r = fail("the new domain does not exist", domid);
	else
		r = read_name(domid);
	xensim_close(x);
	xensim_server_stop(srv);
	if (r == 0)
		printf("xensim_consumer: guest d%" PRIu32
		       " created and seen through libxenstore OK\n",
		       domid);
	return r;
}
