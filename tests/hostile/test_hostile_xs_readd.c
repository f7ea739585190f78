/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_xs_readd.c — regression test for a xenstore race found by the storm tests
 * (tests/storm: "device entries removed and re-added"): the toolstack force-removes a device
 * (libxl__device_destroy: frontend and backend directories removed, no Closing handshake) and
 * adds it again, while the backend is still tearing the old one down. The watcher's "state = 6
 * (Closed)" write for the OLD device must not land in the NEW device's directory: that would
 * leave the new device Closed, never served, and libxl waiting for InitWait forever.
 *
 * Deterministic reproduction: the frontend's state node disappears first (the watcher removes
 * the device and writes Closed because the backend directory still exists); the application's
 * device_removed() callback stands for a slow teardown during which the toolstack destroys and
 * re-creates the device. After that the new device must be served (backend state 2), not stay
 * at the Closed written for its predecessor.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <virtio-xen/xs.h>
#include <xenstore.h>
#include <xensim.h>

#include "helper_hostile.h"

static struct {
	xensim_server *srv;
	xensim *x;
	uint32_t domid;
	struct xensim_virtio_dev dev;
	unsigned int added, removed;
	bool readd_in_teardown;
} T;

static int on_added(const struct vxen_xs_device *d, void **cookie, void *payload)
{
	T.added++;
	return 0;
}

static void on_removed(const struct vxen_xs_device *d, void *cookie, void *payload)
{
	T.removed++;
	if (!T.readd_in_teardown)
		return;
	/* A slow teardown: meanwhile the toolstack destroys the device and adds it again. */
	T.readd_in_teardown = false;
	ck_assert_int_eq(xensim_xl_remove_virtio(T.x, &T.dev), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(T.x, &T.dev), 0);
}

static char *read_node(const char *path)
{
	struct xs_handle *h = xs_open(0);
	unsigned int len;
	char *v;

	ck_assert_ptr_nonnull(h);
	v = xs_read(h, XBT_NULL, path, &len);
	xs_close(h);
	return v;
}

static void process(vxen_xs_watcher *w, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		ck_assert_int_ge(vxen_xs_watcher_process(w), 0);
		usleep(5000);
	}
}

START_TEST(xs__forced_readd_during_teardown_is_not_closed_by_the_old_device)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;
	struct vxen_xs_ops ops = { .version = VXEN_XS_OPS_VERSION,
				   .device_added = on_added,
				   .device_removed = on_removed };
	char state[128], fe_state[128];
	struct xs_handle *h;
	vxen_xs_watcher *w;
	char *v;

	memset(&T, 0, sizeof(T));
	ck_assert_int_eq(xensim_server_start(&T.srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&T.x, NULL), 0);
	ck_assert_int_eq(xensim_domain_create(T.x, &dc, &T.domid), 0);
	T.dev = (struct xensim_virtio_dev)XENSIM_VIRTIO_DEV_INIT;
	T.dev.frontend_domid = T.domid;
	T.dev.virtio_id = 4;
	T.dev.base = 0x2000000;
	T.dev.irq = 33;
	ck_assert_int_eq(xensim_xl_add_virtio(T.x, &T.dev), 0);
	snprintf(state, sizeof(state), "/local/domain/0/backend/virtio/%u/0/state", T.domid);
	snprintf(fe_state, sizeof(fe_state), "/local/domain/%u/device/virtio/0/state", T.domid);

	ck_assert_int_eq(vxen_xs_watcher_new(&w, NULL, &ops, NULL), 0);
	process(w, 3);
	ck_assert_uint_eq(T.added, 1);
	v = read_node(state);
	ck_assert_str_eq(v, "2");
	free(v);

	/* The frontend goes first; its removal makes the watcher tear the device down. */
	T.readd_in_teardown = true;
	h = xs_open(0);
	ck_assert(xs_rm(h, XBT_NULL, fe_state));
	xs_close(h);
	process(w, 10);
	ck_assert_uint_eq(T.removed, 1);

	/* The re-added device is a new one: served, in InitWait. */
	v = read_node(state);
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(!strcmp(v, "2"),
		      "the re-added device's backend state is %s (expected 2: "
		      "the old device's Closed landed in the new directory)",
		      v);
	free(v);
	ck_assert_uint_eq(T.added, 2);

	vxen_xs_watcher_free(w);
	xensim_close(T.x);
	xensim_server_stop(T.srv);
}
END_TEST

int main(void)
{
	return hw_run_tests(
		"hostile_xs_readd", "regression", 0,
		HW_TESTS(xs__forced_readd_during_teardown_is_not_closed_by_the_old_device));
}
