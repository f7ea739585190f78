/* SPDX-License-Identifier: MIT */
/*
 * Sim tests of L5 xs discovery against xensim's xenstored and toolstack helpers: devices added
 * with the right parsed fields and the InitWait handshake, removal on every path (xl remove,
 * xl destroy, bare domain death, frontend closing, online=0), reboot and domid reuse, malformed
 * devices skipped, type filtering, orderly close, refusal, fault injection on xenstore
 * operations during discovery, and watch storms.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#include <virtio-xen/xs.h>
#include <xensim.h>

#define WAIT_MS 3000

/* ---- fixture -------------------------------------------------------------------------- */

static xensim_server *machine;
static xensim *xsim;

static void world_up(void)
{
	ck_assert_int_eq(xensim_server_start(&machine, NULL), 0);
	ck_assert_int_eq(xensim_open(&xsim, NULL), 0);
}

static void world_down(void)
{
	xensim_close(xsim);
	xensim_server_stop(machine);
}

static uint32_t guest_new(uint32_t domid)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	uint32_t id = 0;

	cfg.vcpus = 2;
	cfg.domid = domid;
	ck_assert_int_eq(xensim_domain_create(xsim, &cfg, &id), 0);
	return id;
}

static struct xensim_virtio_dev generic_dev(uint32_t fe, uint32_t devid, uint32_t virtio_id)
{
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;

	d.kind = XENSIM_VIRTIO_GENERIC;
	d.frontend_domid = fe;
	d.devid = devid;
	d.virtio_id = virtio_id;
	d.base = 0x2000000 + 0x200ull * devid;
	d.irq = 33 + devid;
	return d;
}

static struct xensim_virtio_dev disk_dev(uint32_t fe, uint32_t devid, const char *mode)
{
	struct xensim_virtio_dev d = generic_dev(fe, devid, 2);

	d.kind = XENSIM_VIRTIO_DISK;
	d.params = "/srv/disk.img";
	d.mode = mode;
	return d;
}

static void backend_path(char *buf, size_t n, const struct xensim_virtio_dev *d, const char *key)
{
	snprintf(buf, n, "/local/domain/0/backend/%s/%u/%u/%s",
		 d->kind == XENSIM_VIRTIO_DISK ? "virtio_disk" : "virtio", d->frontend_domid,
		 d->devid, key);
}

static void xs_set(const char *path, const char *val)
{
	struct xs_handle *h = xs_open(0);

	ck_assert_ptr_nonnull(h);
	ck_assert(xs_write(h, XBT_NULL, path, val, strlen(val)));
	xs_close(h);
}

static void backend_set(const struct xensim_virtio_dev *d, const char *key, const char *val)
{
	char path[160];

	backend_path(path, sizeof(path), d, key);
	xs_set(path, val);
}

/* ---- recording callbacks --------------------------------------------------------------- */

#define MAX_LIVE 32

struct rec {
	int added, removed;
	int refuse;					 /* returned by device_added */
	int refuse_once, refused_calls;			 /* refuse the next offer only */
	const struct xensim_virtio_dev *remove_in_added; /* toolstack removal racing the add */
	struct vxen_xs_device last; /* copy of the last added device, strings copied below */
	char type[64], params[64], bpath[128], fpath[128];
	uint64_t removed_id;
	const struct vxen_xs_device *live[MAX_LIVE];
	uint64_t live_id[MAX_LIVE];
	int cookie_mismatch;
};

static void copy_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "(null)");
}

static int on_added(const struct vxen_xs_device *dev, void **cookie, void *payload)
{
	struct rec *r = payload;

	if (r->refuse_once) {
		int rc = r->refuse_once;

		r->refuse_once = 0;
		r->refused_calls++;
		return rc;
	}
	if (r->refuse)
		return r->refuse;
	r->added++;
	r->last = *dev;
	copy_str(r->type, sizeof(r->type), dev->type);
	copy_str(r->params, sizeof(r->params), dev->params);
	copy_str(r->bpath, sizeof(r->bpath), dev->backend_path);
	copy_str(r->fpath, sizeof(r->fpath), dev->frontend_path);
	for (int i = 0; i < MAX_LIVE; i++) {
		if (!r->live[i]) {
			r->live[i] = dev;
			r->live_id[i] = dev->id;
			break;
		}
	}
	*cookie = (void *)(uintptr_t)dev->id;
	if (r->remove_in_added)
		ck_assert_int_eq(xensim_xl_remove_virtio(xsim, r->remove_in_added), 0);
	return 0;
}

static void on_removed(const struct vxen_xs_device *dev, void *cookie, void *payload)
{
	struct rec *r = payload;

	r->removed++;
	r->removed_id = dev->id;
	if ((uintptr_t)cookie != dev->id)
		r->cookie_mismatch++;
	for (int i = 0; i < MAX_LIVE; i++)
		if (r->live[i] == dev)
			r->live[i] = NULL;
}

static const struct vxen_xs_ops rec_ops = {
	.version = VXEN_XS_OPS_VERSION,
	.device_added = on_added,
	.device_removed = on_removed,
};

static vxen_xs_watcher *watcher_new(struct rec *r, const struct vxen_xs_watcher_config *cfg)
{
	vxen_xs_watcher *w = NULL;

	ck_assert_int_eq(vxen_xs_watcher_new(&w, cfg, &rec_ops, r), 0);
	return w;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the watcher's loop until *counter >= want (1) or @ms passed (0). */
static int pump_until(vxen_xs_watcher *w, const int *counter, int want, int ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = vxen_xs_watcher_fd(w), .events = POLLIN };

		if (counter && *counter >= want)
			return 1;
		if (now_ms() >= end)
			return 0;
		if (poll(&pfd, 1, 20) > 0)
			ck_assert_int_ge(vxen_xs_watcher_process(w), 0);
	}
}

/* Run the loop for @ms whatever happens (to see that nothing more happens). */
static void pump_for(vxen_xs_watcher *w, int ms)
{
	pump_until(w, NULL, 0, ms);
}

/* 1 if backend node @key of @d holds @val (absent when @val is NULL), 0 if not. */
static int backend_is(const struct xensim_virtio_dev *d, const char *key, const char *val)
{
	struct xs_handle *h = xs_open(0);
	unsigned int len = 0;
	char path[160], *v;
	int match;

	ck_assert_ptr_nonnull(h);
	backend_path(path, sizeof(path), d, key);
	v = xs_read(h, XBT_NULL, path, &len);
	match = val ? v && !strcmp(v, val) : !v;
	free(v);
	xs_close(h);
	return match;
}

/*
 * Wait until backend node @key of @d holds @val (absent when NULL), running the watcher's loop
 * meanwhile (a failed write is retried from there). Returns 0, or -ETIMEDOUT.
 */
static int backend_wait(vxen_xs_watcher *w, const struct xensim_virtio_dev *d, const char *key,
			const char *val)
{
	int64_t end = now_ms() + WAIT_MS;

	while (!backend_is(d, key, val)) {
		if (now_ms() >= end)
			return -ETIMEDOUT;
		pump_for(w, 20);
	}
	return 0;
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(xs__generic_device_added_with_parsed_fields_and_initwait)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	uint32_t fe;
	struct xensim_virtio_dev d;

	world_up();
	fe = guest_new(0);
	d = generic_dev(fe, 0, 4);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_int_eq(r.last.version, VXEN_XS_DEVICE_VERSION);
	ck_assert_int_eq(r.last.kind, VXEN_XS_KIND_GENERIC);
	ck_assert_uint_eq(r.last.backend_domid, 0);
	ck_assert_uint_eq(r.last.frontend_domid, fe);
	ck_assert_uint_eq(r.last.devid, 0);
	ck_assert_uint_eq(r.last.virtio_id, 4);
	ck_assert_uint_eq(r.last.base, 0x2000000);
	ck_assert_uint_eq(r.last.irq, 33);
	ck_assert(r.last.grant_usage);
	ck_assert(!r.last.writable);
	ck_assert_str_eq(r.type, "virtio,device4");
	ck_assert_str_eq(r.params, "(null)");
	ck_assert_str_eq(r.bpath, "/local/domain/0/backend/virtio/1/0");
	ck_assert_str_eq(r.fpath, "/local/domain/1/device/virtio/0");
	ck_assert_int_eq(backend_wait(w, &d, "state", "2"), 0);
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.removed, 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__hex_base_and_hex_type_id_are_parsed)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 3, 34); /* virtio-i2c: "virtio,device22" */
	d.base = 0x2000a00;
	d.base_hex = true;
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_uint_eq(r.last.base, 0x2000a00);
	ck_assert_uint_eq(r.last.virtio_id, 34);
	ck_assert_uint_eq(r.last.devid, 3);
	ck_assert_uint_eq(r.last.irq, 36);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__disk_device_added_with_params_and_mode)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d, ro;
	uint32_t fe;

	world_up();
	fe = guest_new(0);
	d = disk_dev(fe, 0, "w");
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_int_eq(r.last.kind, VXEN_XS_KIND_DISK);
	ck_assert_uint_eq(r.last.virtio_id, 2);
	ck_assert(r.last.writable);
	ck_assert_str_eq(r.params, "/srv/disk.img");
	ck_assert_str_eq(r.type, "(null)");
	ck_assert_str_eq(r.bpath, "/local/domain/0/backend/virtio_disk/1/0");
	ck_assert_int_eq(backend_wait(w, &d, "state", "2"), 0);

	ro = disk_dev(fe, 1, "r");
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &ro), 0);
	ck_assert(pump_until(w, &r.added, 2, WAIT_MS));
	ck_assert(!r.last.writable);
	ck_assert_uint_eq(r.last.devid, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__absent_grant_usage_means_no_grants_for_a_dom0_backend)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	d.grant_usage = -1;
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert(!r.last.grant_usage);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__own_domid_is_0_in_dom0)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;

	world_up();
	w = watcher_new(&r, NULL);
	ck_assert_uint_eq(vxen_xs_watcher_domid(w), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__removed_after_xl_remove_virtio)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_int_eq(xensim_xl_remove_virtio(xsim, &d), 0);
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	ck_assert_uint_eq(r.removed_id, r.last.id);
	ck_assert_int_eq(r.cookie_mismatch, 0);
	/* The directory is gone: nothing may re-create it by writing a state into it. */
	ck_assert_int_eq(backend_wait(w, &d, "state", NULL), 0);
	pump_for(w, 200);
	ck_assert_int_eq(backend_wait(w, &d, "state", NULL), 0);
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.removed, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__state_write_never_recreates_a_directory_removed_meanwhile)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	r.remove_in_added = &d; /* the toolstack removes it while we set the device up */
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	pump_for(w, 200);
	ck_assert(backend_is(&d, "state", NULL));
	ck_assert(backend_is(&d, "frontend", NULL));
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.removed, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__removed_after_xl_destroy)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_int_eq(xensim_xl_destroy(xsim, d.frontend_domid), 0);
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	pump_for(w, 200);
	ck_assert_int_eq(r.removed, 1);
	ck_assert_int_eq(r.added, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__removed_when_the_domain_dies_without_the_toolstack)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	/* Only @releaseDomain tells: the xenstore entries stay. */
	ck_assert_int_eq(xensim_domain_destroy(xsim, d.frontend_domid), 0);
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	ck_assert_int_eq(backend_wait(w, &d, "state", "6"), 0);
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__reboot_with_a_new_domid_is_another_added_device)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d, d2;
	uint64_t first_id;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	first_id = r.last.id;
	ck_assert_int_eq(xensim_xl_destroy(xsim, d.frontend_domid), 0);
	d2 = generic_dev(guest_new(0), 0, 1);
	ck_assert_uint_ne(d2.frontend_domid, d.frontend_domid);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d2), 0);
	ck_assert(pump_until(w, &r.added, 2, WAIT_MS));
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	ck_assert_uint_eq(r.removed_id, first_id);
	ck_assert_uint_eq(r.last.frontend_domid, d2.frontend_domid);
	ck_assert_uint_ne(r.last.id, first_id);
	ck_assert_int_eq(backend_wait(w, &d2, "state", "2"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__reused_domid_is_removed_then_added_as_a_new_device)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	uint64_t first_id;
	uint32_t fe;

	world_up();
	fe = guest_new(0);
	d = generic_dev(fe, 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	first_id = r.last.id;
	/* Destroy and re-create with the same domid and entries before the watcher looks. */
	ck_assert_int_eq(xensim_xl_destroy(xsim, fe), 0);
	ck_assert_uint_eq(guest_new(fe), fe);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	ck_assert(pump_until(w, &r.added, 2, WAIT_MS));
	ck_assert_int_eq(r.removed, 1);
	ck_assert_uint_eq(r.removed_id, first_id);
	ck_assert_uint_ne(r.last.id, first_id);
	ck_assert_int_eq(backend_wait(w, &d, "state", "2"), 0);
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 2);
	ck_assert_int_eq(r.removed, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__malformed_device_is_skipped_while_a_good_one_is_reported)
{
	static const struct {
		const char *key, *val;
	} bad[] = {
		{ "base", "0x" },
		{ "base", "12abc" },
		{ "base", "-1" },
		{ "base", "0x1ffffffffffffffff" },
		{ "irq", "33 " },
		{ "irq", "4294967296" },
		{ "type", "virtio,deviceXYZ" },
		{ "type", "virtio-mmio" },
		{ "transport", "pci" },
		{ "grant_usage", "2" },
		{ "frontend-id", "7" },
		{ "frontend", "/local/domain/0" },
		{ "online", "yes" },
	};
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev good, evil;
	struct vxen_xs_stats st;
	uint32_t fe;
	int i = _i;

	world_up();
	fe = guest_new(0);
	good = generic_dev(fe, 0, 1);
	evil = generic_dev(fe, 1, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &good), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &evil), 0);
	backend_set(&evil, bad[i].key, bad[i].val);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 1);
	ck_assert_uint_eq(r.last.devid, 0);
	vxen_xs_watcher_stats(w, &st);
	ck_assert_uint_eq(st.invalid, 1);
	/* Never announced: its state stays Initialising. */
	ck_assert_int_eq(backend_wait(w, &evil, "state", "1"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__malformed_device_is_added_once_fixed)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	backend_set(&d, "irq", "thirty-three");
	w = watcher_new(&r, NULL);
	pump_for(w, 300);
	ck_assert_int_eq(r.added, 0);
	backend_set(&d, "irq", "40");
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_uint_eq(r.last.irq, 40);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__unserved_virtio_ids_are_ignored)
{
	static const uint32_t blk_only[] = { 2 };
	struct vxen_xs_watcher_config cfg = VXEN_XS_WATCHER_CONFIG_INIT;
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev net, blk, disk;
	struct vxen_xs_stats st;
	uint32_t fe;

	world_up();
	fe = guest_new(0);
	net = generic_dev(fe, 0, 1);
	blk = generic_dev(fe, 1, 2);
	disk = disk_dev(fe, 2, "w");
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &net), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &blk), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &disk), 0);
	cfg.virtio_ids = blk_only;
	cfg.nr_virtio_ids = 1;
	w = watcher_new(&r, &cfg);
	ck_assert(pump_until(w, &r.added, 2, WAIT_MS));
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 2);
	vxen_xs_watcher_stats(w, &st);
	ck_assert_uint_eq(st.ignored, 1);
	ck_assert_int_eq(backend_wait(w, &net, "state", "1"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__kind_filter_watches_only_the_chosen_directory)
{
	struct vxen_xs_watcher_config cfg = VXEN_XS_WATCHER_CONFIG_INIT;
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev gen, disk;
	uint32_t fe;

	world_up();
	fe = guest_new(0);
	gen = generic_dev(fe, 0, 2);
	disk = disk_dev(fe, 1, "w");
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &gen), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &disk), 0);
	cfg.kinds = 1u << VXEN_XS_KIND_DISK;
	w = watcher_new(&r, &cfg);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.last.kind, VXEN_XS_KIND_DISK);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__frontend_closing_removes_and_writes_closed)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	char path[128];

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	snprintf(path, sizeof(path), "/local/domain/%u/device/virtio/0/state", d.frontend_domid);
	xs_set(path, _i ? "6" : "5");
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	ck_assert_int_eq(backend_wait(w, &d, "state", "6"), 0);
	/* The guest flipping its state back does not resurrect a closed backend. */
	xs_set(path, "1");
	pump_for(w, 300);
	ck_assert_int_eq(r.added, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__frontend_state_vanishing_removes_the_device)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	struct xs_handle *h;
	char path[128];

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	snprintf(path, sizeof(path), "/local/domain/%u/device/virtio/0", d.frontend_domid);
	h = xs_open(0);
	ck_assert(xs_rm(h, XBT_NULL, path));
	xs_close(h);
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	ck_assert_int_eq(backend_wait(w, &d, "state", "6"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__online_0_removes_and_writes_closed)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	struct xs_handle *h;
	xs_transaction_t t;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	/* libxl's device removal: online 0 and state 5 in one transaction, then it waits for 6. */
	h = xs_open(0);
	ck_assert_ptr_nonnull(h);
	do {
		char p[160];

		t = xs_transaction_start(h);
		ck_assert_uint_ne(t, XBT_NULL);
		backend_path(p, sizeof(p), &d, "online");
		ck_assert(xs_write(h, t, p, "0", 1));
		backend_path(p, sizeof(p), &d, "state");
		ck_assert(xs_write(h, t, p, "5", 1));
	} while (!xs_transaction_end(h, t, false) && errno == EAGAIN);
	xs_close(h);
	ck_assert(pump_until(w, &r.removed, 1, WAIT_MS));
	ck_assert_int_eq(backend_wait(w, &d, "state", "6"), 0);
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 1);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__close_device_writes_closed_and_is_not_offered_again)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	const struct vxen_xs_device *dev;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	dev = r.live[0];
	ck_assert_ptr_nonnull(dev);
	ck_assert_int_eq(vxen_xs_watcher_close_device(w, dev), 0);
	ck_assert_int_eq(backend_wait(w, &d, "state", "6"), 0);
	pump_for(w, 300);
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.removed, 0); /* closing is the application's own teardown */
	ck_assert_int_eq(vxen_xs_watcher_close_device(w, dev), -EINVAL);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__close_all_closes_every_device)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev a, b;
	uint32_t fe;

	world_up();
	fe = guest_new(0);
	a = generic_dev(fe, 0, 1);
	b = disk_dev(fe, 1, "w");
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &a), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &b), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 2, WAIT_MS));
	ck_assert_int_eq(vxen_xs_watcher_close_all(w), 0);
	ck_assert_int_eq(backend_wait(w, &a, "state", "6"), 0);
	ck_assert_int_eq(backend_wait(w, &b, "state", "6"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__refused_device_is_offered_again_only_after_a_change)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	struct vxen_xs_stats st;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	r.refuse = -ENOSPC;
	w = watcher_new(&r, NULL);
	pump_for(w, 300);
	vxen_xs_watcher_stats(w, &st);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_int_eq(backend_wait(w, &d, "state", "1"), 0);
	r.refuse = 0;
	backend_set(&d, "online", "1"); /* same value: not a change */
	pump_for(w, 300);
	ck_assert_int_eq(r.added, 0);
	backend_set(&d, "irq", "41");
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_uint_eq(r.last.irq, 41);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__device_refused_with_eagain_is_offered_again_without_a_change)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	r.refuse_once = -EAGAIN;
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_int_eq(r.refused_calls, 1);
	ck_assert_int_eq(backend_wait(w, &d, "state", "2"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

/* Faults that discovery of one device meets: (operation, nth call, errno). */
static const struct {
	enum xensim_op op;
	unsigned int nth;
	int err;
} discovery_faults[] = {
	{ XENSIM_OP_XS_READ, 1, EIO },
	{ XENSIM_OP_XS_READ, 2, EIO },
	{ XENSIM_OP_XS_READ, 3, EACCES },
	{ XENSIM_OP_XS_READ, 5, EIO },
	{ XENSIM_OP_XS_READ, 8, ENOMEM },
	{ XENSIM_OP_XS_DIRECTORY, 1, EIO },
	{ XENSIM_OP_XS_DIRECTORY, 2, EIO },
	{ XENSIM_OP_XS_DIRECTORY, 3, EIO },
	{ XENSIM_OP_XS_WRITE, 1, EIO },
	{ XENSIM_OP_XS_WATCH, 1, ENOSPC },
	{ XENSIM_OP_XS_TRANSACTION_START, 1, EIO },
	{ XENSIM_OP_XS_TRANSACTION_END, 1, EIO },
	{ XENSIM_OP_XS_TRANSACTION_END, 1, EAGAIN }, /* "retry": handled inside the write */
};

START_TEST(xs__faults_during_discovery_are_retried)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	struct vxen_xs_stats st;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert_int_eq(xensim_fault_inject(xsim, discovery_faults[_i].op,
					     discovery_faults[_i].nth, discovery_faults[_i].err),
			 0);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	ck_assert_int_eq(backend_wait(w, &d, "state", "2"), 0);
	pump_for(w, 200);
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.removed, 0);
	vxen_xs_watcher_stats(w, &st);
	if (discovery_faults[_i].err != EAGAIN)
		ck_assert_uint_ge(st.xs_errors, 1); /* the fault was met, and survived */
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__watcher_creation_fails_cleanly_on_xenstore_faults)
{
	static const struct {
		enum xensim_op op;
		unsigned int nth;
	} faults[] = { { XENSIM_OP_XS_READ, 1 },
		       { XENSIM_OP_XS_WATCH, 1 },
		       { XENSIM_OP_XS_WATCH, 2 },
		       { XENSIM_OP_XS_WATCH, 3 } };
	struct rec r = { 0 };
	vxen_xs_watcher *w = (vxen_xs_watcher *)&r; /* must stay untouched */
	struct xensim_counters before, after;

	world_up();
	ck_assert_int_eq(xensim_counters_get(xsim, XENSIM_DOMID_ALL, &before), 0);
	ck_assert_int_eq(xensim_fault_inject(xsim, faults[_i].op, faults[_i].nth, EIO), 0);
	ck_assert_int_eq(vxen_xs_watcher_new(&w, NULL, &rec_ops, &r), -EIO);
	ck_assert_ptr_eq(w, (vxen_xs_watcher *)&r);
	ck_assert_int_eq(xensim_counters_get(xsim, XENSIM_DOMID_ALL, &after), 0);
	ck_assert_uint_eq(after.xs_watches_live, before.xs_watches_live);
	world_down();
}
END_TEST

START_TEST(xs__watch_storm_causes_no_spurious_callbacks)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	struct xs_handle *h;
	char path[128];

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	h = xs_open(0);
	ck_assert_ptr_nonnull(h);
	snprintf(path, sizeof(path), "/local/domain/%u/device/virtio/0/state", d.frontend_domid);
	for (int i = 0; i < 500; i++) {
		char junk[160], v[16];

		/* The guest's own (non-closing) state churning, and unrelated backend keys. */
		ck_assert(xs_write(h, XBT_NULL, path, i & 1 ? "3" : "4", 1));
		backend_path(junk, sizeof(junk), &d, "junk");
		snprintf(v, sizeof(v), "%d", i);
		ck_assert(xs_write(h, XBT_NULL, junk, v, strlen(v)));
		if (i % 50 == 0)
			ck_assert_int_ge(vxen_xs_watcher_process(w), 0);
	}
	xs_close(h);
	pump_for(w, 500);
	ck_assert_int_eq(r.added, 1);
	ck_assert_int_eq(r.removed, 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__many_devices_of_many_guests_in_one_watcher)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d[3][2];
	uint32_t fe[3];

	world_up();
	for (int g = 0; g < 3; g++) {
		fe[g] = guest_new(0);
		d[g][0] = generic_dev(fe[g], 0, 1);
		d[g][1] = disk_dev(fe[g], 1, "w");
		ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d[g][0]), 0);
	}
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 3, WAIT_MS));
	for (int g = 0; g < 3; g++) /* hot-plugged while running */
		ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d[g][1]), 0);
	ck_assert(pump_until(w, &r.added, 6, WAIT_MS));
	ck_assert_int_eq(xensim_xl_destroy(xsim, fe[1]), 0);
	ck_assert(pump_until(w, &r.removed, 2, WAIT_MS));
	pump_for(w, 200);
	ck_assert_int_eq(r.removed, 2);
	ck_assert_int_eq(r.added, 6);
	for (int g = 0; g < 3; g += 2)
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(backend_wait(w, &d[g][k], "state", "2"), 0);
	vxen_xs_watcher_free(w);
	world_down();
}
END_TEST

START_TEST(xs__free_releases_every_watch)
{
	struct rec r = { 0 };
	vxen_xs_watcher *w;
	struct xensim_virtio_dev d;
	struct xensim_counters before, after;

	world_up();
	d = generic_dev(guest_new(0), 0, 1);
	ck_assert_int_eq(xensim_xl_add_virtio(xsim, &d), 0);
	ck_assert_int_eq(xensim_counters_get(xsim, XENSIM_DOMID_ALL, &before), 0);
	w = watcher_new(&r, NULL);
	ck_assert(pump_until(w, &r.added, 1, WAIT_MS));
	vxen_xs_watcher_free(w);
	vxen_xs_watcher_free(NULL);
	ck_assert_int_eq(xensim_counters_get(xsim, XENSIM_DOMID_ALL, &after), 0);
	ck_assert_uint_eq(after.xs_watches_live, before.xs_watches_live);
	world_down();
}
END_TEST

START_TEST(xs__bad_arguments_are_refused)
{
	struct rec r = { 0 };
	struct vxen_xs_ops no_added = { .version = VXEN_XS_OPS_VERSION };
	struct vxen_xs_watcher_config cfg = VXEN_XS_WATCHER_CONFIG_INIT;
	vxen_xs_watcher *w = NULL;

	world_up();
	ck_assert_int_eq(vxen_xs_watcher_new(&w, NULL, NULL, &r), -EINVAL);
	ck_assert_int_eq(vxen_xs_watcher_new(&w, NULL, &no_added, &r), -EINVAL);
	cfg.kinds = 4;
	ck_assert_int_eq(vxen_xs_watcher_new(&w, &cfg, &rec_ops, &r), -EINVAL);
	cfg.kinds = 0;
	cfg.nr_virtio_ids = 2;
	ck_assert_int_eq(vxen_xs_watcher_new(&w, &cfg, &rec_ops, &r), -EINVAL);
	cfg = (struct vxen_xs_watcher_config){ 0 };
	ck_assert_int_eq(vxen_xs_watcher_new(&w, &cfg, &rec_ops, &r), -EINVAL);
	ck_assert_ptr_null(w);
	world_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xs");
	TCase *tc = tcase_create("discovery");
	TCase *tl = tcase_create("lifecycle");
	TCase *th = tcase_create("hostile");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_set_timeout(tl, 60);
	tcase_set_timeout(th, 60);
	tcase_add_test(tc, xs__generic_device_added_with_parsed_fields_and_initwait);
	tcase_add_test(tc, xs__hex_base_and_hex_type_id_are_parsed);
	tcase_add_test(tc, xs__disk_device_added_with_params_and_mode);
	tcase_add_test(tc, xs__absent_grant_usage_means_no_grants_for_a_dom0_backend);
	tcase_add_test(tc, xs__own_domid_is_0_in_dom0);
	tcase_add_test(tc, xs__unserved_virtio_ids_are_ignored);
	tcase_add_test(tc, xs__kind_filter_watches_only_the_chosen_directory);
	tcase_add_test(tc, xs__many_devices_of_many_guests_in_one_watcher);
	tcase_add_test(tc, xs__bad_arguments_are_refused);
	suite_add_tcase(s, tc);
	tcase_add_test(tl, xs__removed_after_xl_remove_virtio);
	tcase_add_test(tl, xs__state_write_never_recreates_a_directory_removed_meanwhile);
	tcase_add_test(tl, xs__removed_after_xl_destroy);
	tcase_add_test(tl, xs__removed_when_the_domain_dies_without_the_toolstack);
	tcase_add_test(tl, xs__reboot_with_a_new_domid_is_another_added_device);
	tcase_add_test(tl, xs__reused_domid_is_removed_then_added_as_a_new_device);
	tcase_add_loop_test(tl, xs__frontend_closing_removes_and_writes_closed, 0, 2);
	tcase_add_test(tl, xs__frontend_state_vanishing_removes_the_device);
	tcase_add_test(tl, xs__online_0_removes_and_writes_closed);
	tcase_add_test(tl, xs__close_device_writes_closed_and_is_not_offered_again);
	tcase_add_test(tl, xs__close_all_closes_every_device);
	tcase_add_test(tl, xs__refused_device_is_offered_again_only_after_a_change);
	tcase_add_test(tl, xs__device_refused_with_eagain_is_offered_again_without_a_change);
	tcase_add_test(tl, xs__free_releases_every_watch);
	suite_add_tcase(s, tl);
	tcase_add_loop_test(th, xs__malformed_device_is_skipped_while_a_good_one_is_reported, 0,
			    13);
	tcase_add_test(th, xs__malformed_device_is_added_once_fixed);
	tcase_add_loop_test(th, xs__faults_during_discovery_are_retried, 0,
			    sizeof(discovery_faults) / sizeof(discovery_faults[0]));
	tcase_add_loop_test(th, xs__watcher_creation_fails_cleanly_on_xenstore_faults, 0, 4);
	tcase_add_test(th, xs__watch_storm_causes_no_spurious_callbacks);
	suite_add_tcase(s, th);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
