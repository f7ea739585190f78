/* SPDX-License-Identifier: MIT */
/*
 * xensim's simulated toolstack: the xenstore entries libxl writes for domains and for virtio
 * devices (libxl__device_generic_add + libxl_virtio.c / libxl_disk.c), key by key.
 */
#include <pthread.h>

#include "xensim.h"
#include "../../xensim/guest/xl_internal.h"
#include "xenstore_test.h"

/* "key=value;" for each child of @dir, in directory order. */
static const char *dump(struct xs_client *c, const char *dir)
{
	static char out[4096];
	char *kids = NULL;
	unsigned int len = 0;
	size_t o = 0;

	out[0] = '\0';
	if (xs_client_req_str(c, XS_DIRECTORY, 0, dir, &kids, &len))
		return "(missing)";
	for (char *k = kids; k < kids + len; k += strlen(k) + 1) {
		char path[256], *v = NULL;

		snprintf(path, sizeof(path), "%s/%s", dir, k);
		ck_assert_int_eq(xst_read(c, 0, path, &v), 0);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s=%s;", k, v);
		free(v);
	}
	free(kids);
	return out;
}

/* Permissions of @path as "n0,r1". */
static const char *perms(struct xs_client *c, const char *path)
{
	static char out[128];
	char *p = NULL;
	unsigned int len = 0;
	size_t o = 0;

	ck_assert_int_eq(xs_client_req_str(c, XS_GET_PERMS, 0, path, &p, &len), 0);
	for (char *s = p; s < p + len; s += strlen(s) + 1)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? "," : "", s);
	free(p);
	return out;
}

static bool exists(struct xs_client *c, const char *path)
{
	char *v = NULL;
	int rc = xst_read(c, 0, path, &v);

	free(v);
	return rc == 0;
}

static struct xensim_virtio_dev generic_dev(void)
{
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;

	d.kind = XENSIM_VIRTIO_GENERIC;
	d.backend_domid = 0;
	d.frontend_domid = 1;
	d.devid = 0;
	d.virtio_id = 4;
	d.base = 0x2000000;
	d.irq = 33;
	return d;
}

static struct xensim_virtio_dev disk_dev(void)
{
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;

	d.kind = XENSIM_VIRTIO_DISK;
	d.backend_domid = 0;
	d.frontend_domid = 1;
	d.devid = 51712; /* xvda */
	d.virtio_id = 2;
	d.base = 0x2000200;
	d.irq = 34;
	d.grant_usage = 0;
	d.params = "/srv/disk.img";
	d.mode = "w";
	d.base_hex = true;
	return d;
}

static void xl_setup(void)
{
	xst_setup();
	ck_assert_int_eq(xensim__xl_domain_created(1, "guest1"), 0);
}

START_TEST(xenstore__domain_created_writes_libxl_domain_dir)
{
	struct xs_client *c = xst_open(0);

	xst_expect(c, "/local/domain/1/name", "guest1");
	xst_expect(c, "/local/domain/1/domid", "1");
	ck_assert_str_eq(perms(c, "/local/domain/1"), "n0,r1");
	ck_assert_str_eq(perms(c, "/local/domain/1/name"), "n0,r1");
	ck_assert_str_eq(perms(c, "/local/domain/1/domid"), "n0,r1");
	ck_assert_str_eq(perms(c, "/local/domain/1/device"), "n0,r1");
	ck_assert_str_eq(perms(c, "/local/domain/1/data"), "n1");
	ck_assert_str_eq(perms(c, "/libxl/1"), "n0");
	ck_assert_int_eq(xensim__xl_domain_destroyed(1), 0);
	ck_assert(!exists(c, "/local/domain/1"));
	ck_assert(!exists(c, "/libxl/1"));
	ck_assert_int_eq(xensim__xl_domain_destroyed(1), 0); /* already gone: fine */
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__add_virtio_generic_writes_libxl_entries)
{
	struct xs_client *c = xst_open(0);
	struct xensim_virtio_dev d = generic_dev();
	const char *be = "/local/domain/0/backend/virtio/1/0";
	const char *fe = "/local/domain/1/device/virtio/0";

	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d), 0);
	ck_assert_str_eq(dump(c, be), "frontend=/local/domain/1/device/virtio/0;frontend-id=1;"
				      "online=1;state=1;irq=33;base=33554432;type=virtio,device4;"
				      "transport=mmio;grant_usage=1;");
	ck_assert_str_eq(perms(c, be), "n0,r1");
	ck_assert_str_eq(perms(c, "/local/domain/0/backend/virtio/1/0/state"), "n0,r1");
	ck_assert_str_eq(dump(c, fe), "backend=/local/domain/0/backend/virtio/1/0;backend-id=0;"
				      "state=1;");
	ck_assert_str_eq(perms(c, fe), "n1,r0");
	ck_assert_str_eq(perms(c, "/local/domain/1/device/virtio/0/state"), "n1,r0");
	ck_assert_str_eq(dump(c, "/libxl/1/device/virtio/0"),
			 "frontend=/local/domain/1/device/virtio/0;"
			 "backend=/local/domain/0/backend/virtio/1/0;frontend-id=1;online=1;"
			 "state=1;irq=33;base=33554432;type=virtio,device4;transport=mmio;"
			 "grant_usage=1;");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__add_virtio_disk_writes_libxl_entries)
{
	struct xs_client *c = xst_open(0);
	struct xensim_virtio_dev d = disk_dev();
	const char *be = "/local/domain/0/backend/virtio_disk/1/51712";
	const char *fe = "/local/domain/1/device/virtio_disk/51712";

	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d), 0);
	ck_assert_str_eq(
		dump(c, be),
		"frontend=/local/domain/1/device/virtio_disk/51712;params=/srv/disk.img;"
		"frontend-id=1;online=1;removable=0;bootable=1;state=1;dev=xvda;"
		"type=standalone;mode=w;device-type=disk;discard-enable=1;"
		"specification=virtio;transport=mmio;base=0x2000200;irq=34;grant_usage=0;");
	ck_assert_str_eq(perms(c, be), "n0,r1");
	ck_assert_str_eq(dump(c, fe), "backend=/local/domain/0/backend/virtio_disk/1/51712;"
				      "backend-id=0;state=1;virtual-device=51712;device-type=disk;"
				      "trusted=1;");
	ck_assert_str_eq(perms(c, fe), "n1,r0");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__add_virtio_options_change_the_right_keys)
{
	struct xs_client *c = xst_open(0);
	struct xensim_virtio_dev d = generic_dev(), k = disk_dev();

	d.devid = 3;
	d.grant_usage = -1;
	d.base_hex = true;
	d.virtio_id = 0x22;
	d.backend_domid = 2;
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d), 0);
	ck_assert_str_eq(dump(c, "/local/domain/2/backend/virtio/1/3"),
			 "frontend=/local/domain/1/device/virtio/3;frontend-id=1;online=1;"
			 "state=1;irq=33;base=0x2000000;type=virtio,device22;transport=mmio;");
	ck_assert_str_eq(perms(c, "/local/domain/2/backend/virtio/1/3"), "n2,r1");
	ck_assert_str_eq(perms(c, "/local/domain/1/device/virtio/3"), "n1,r2");
	k.devid = 51728; /* xvdb */
	k.mode = "r";
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &k), 0);
	xst_expect(c, "/local/domain/0/backend/virtio_disk/1/51728/dev", "xvdb");
	xst_expect(c, "/local/domain/0/backend/virtio_disk/1/51728/mode", "r");
	xst_expect(c, "/local/domain/0/backend/virtio_disk/1/51728/discard-enable", "0");
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__add_virtio_twice_is_EEXIST_and_bad_config_EINVAL)
{
	struct xensim_virtio_dev d = generic_dev(), bad = disk_dev();

	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d), -EEXIST);
	bad.params = NULL;
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &bad), -EINVAL);
	bad = disk_dev();
	bad.version = 99;
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &bad), -EINVAL);
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(xenstore__backend_watch_sees_the_device_complete)
{
	struct xs_client *c = xst_open(0);
	struct xensim_virtio_dev d = generic_dev();
	char *v = NULL;

	ck_assert_int_eq(xst_two(c, XS_WATCH, "/local/domain/0/backend/virtio", "be"), 0);
	ck_assert_str_eq(xst_event(c, 2000), "/local/domain/0/backend/virtio|be");
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d), 0);
	/* The first event arrives after the commit: every key is already there. */
	ck_assert_str_ne(xst_event(c, 2000), "");
	ck_assert_int_eq(xst_read(c, 0, "/local/domain/0/backend/virtio/1/0/grant_usage", &v), 0);
	free(v);
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__remove_virtio_removes_dirs_and_emptied_parents)
{
	struct xs_client *c = xst_open(0);
	struct xensim_virtio_dev d0 = generic_dev(), d1 = generic_dev();

	d1.devid = 1;
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d0), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(NULL, &d1), 0);
	ck_assert_int_eq(xensim_xl_remove_virtio(NULL, &d0), 0);
	ck_assert(!exists(c, "/local/domain/0/backend/virtio/1/0"));
	ck_assert(!exists(c, "/local/domain/1/device/virtio/0"));
	ck_assert(!exists(c, "/libxl/1/device/virtio/0"));
	ck_assert(exists(c, "/local/domain/0/backend/virtio/1/1/state"));
	ck_assert_int_eq(xensim_xl_remove_virtio(NULL, &d1), 0);
	/* libxl__xs_path_cleanup: empty parents go too, up to a non-empty one */
	ck_assert(!exists(c, "/local/domain/0/backend"));
	ck_assert(!exists(c, "/local/domain/1/device/virtio"));
	ck_assert(exists(c, "/local/domain/0/name"));
	ck_assert(exists(c, "/local/domain/1/name"));
	xs_client_close(c);
}
END_TEST

static void *write_after(void *arg)
{
	struct xs_client *c = xst_open(0);

	usleep(150000);
	if (arg)
		xst_write(c, 0, "/wait/node", "4");
	else
		xst_simple(c, XS_RM, 0, "/wait/node");
	xs_client_close(c);
	return NULL;
}

START_TEST(xenstore__xs_wait_returns_when_the_value_appears_or_times_out)
{
	struct xs_client *c = xst_open(0);
	pthread_t t;

	ck_assert_int_eq(xst_write(c, 0, "/wait/node", "2"), 0);
	ck_assert_int_eq(xensim_xs_wait(NULL, "/wait/node", "2", 0), 0);
	ck_assert_int_eq(xensim_xs_wait(NULL, "/wait/node", "4", 100), -ETIMEDOUT);
	pthread_create(&t, NULL, write_after, "set");
	ck_assert_int_eq(xensim_xs_wait(NULL, "/wait/node", "4", 5000), 0);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, write_after, NULL);
	ck_assert_int_eq(xensim_xs_wait(NULL, "/wait/node", NULL, 5000), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(xensim_xs_wait(NULL, NULL, "x", 10), -EINVAL);
	xs_client_close(c);
}
END_TEST

/* ---- against the whole machine (hypervisor model + xenstored) ---------------------------- */

static xensim_server *msrv;
static xensim *mx;

static void machine_setup(void)
{
	ck_assert_int_eq(xensim_server_start(&msrv, NULL), 0);
	ck_assert_int_eq(xensim_open(&mx, NULL), 0);
	snprintf(xst_sock, sizeof(xst_sock), "%s", xensim_server_xs_socket(msrv));
}

static void machine_teardown(void)
{
	xensim_close(mx);
	xensim_server_stop(msrv);
}

START_TEST(xenstore__xl_destroy_removes_devices_and_domain_dir_then_the_domain)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	struct xensim_virtio_dev d = generic_dev(), k = disk_dev(), dd = generic_dev();
	struct xs_client *c = xst_open(0);
	uint32_t fe, drv;
	char p[128];

	cfg.name = "driver";
	ck_assert_int_eq(xensim_domain_create(mx, &cfg, &drv), 0);
	cfg.name = "guest";
	ck_assert_int_eq(xensim_domain_create(mx, &cfg, &fe), 0);
	snprintf(p, sizeof(p), "/local/domain/%u/name", fe);
	xst_expect(c, p, "guest");
	d.frontend_domid = k.frontend_domid = dd.frontend_domid = fe;
	dd.backend_domid = drv; /* a device served from a driver domain */
	dd.devid = 1;
	ck_assert_int_eq(xensim_xl_add_virtio(mx, &d), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(mx, &k), 0);
	ck_assert_int_eq(xensim_xl_add_virtio(mx, &dd), 0);
	ck_assert_int_eq(xst_two(c, XS_WATCH, "@releaseDomain", "rel"), 0);
	ck_assert_str_eq(xst_event(c, 2000), "@releaseDomain|rel");

	ck_assert_int_eq(xensim_xl_destroy(mx, fe), 0);
	snprintf(p, sizeof(p), "/local/domain/0/backend/virtio/%u", fe);
	ck_assert(!exists(c, p));
	snprintf(p, sizeof(p), "/local/domain/0/backend/virtio_disk/%u", fe);
	ck_assert(!exists(c, p));
	snprintf(p, sizeof(p), "/local/domain/%u/backend/virtio/%u", drv, fe);
	ck_assert(!exists(c, p));
	snprintf(p, sizeof(p), "/local/domain/%u", fe);
	ck_assert(!exists(c, p));
	snprintf(p, sizeof(p), "/libxl/%u", fe);
	ck_assert(!exists(c, p));
	snprintf(p, sizeof(p), "/local/domain/%u/name", drv);
	xst_expect(c, p, "driver");
	ck_assert_int_eq(xensim_domain_exists(mx, fe), 0);
	ck_assert_str_eq(xst_event(c, 5000), "@releaseDomain|rel");
	xs_client_close(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_xl");
	TCase *tc = tcase_create("toolstack");

	tcase_add_checked_fixture(tc, xl_setup, xst_teardown);
	tcase_add_test(tc, xenstore__domain_created_writes_libxl_domain_dir);
	tcase_add_test(tc, xenstore__add_virtio_generic_writes_libxl_entries);
	tcase_add_test(tc, xenstore__add_virtio_disk_writes_libxl_entries);
	tcase_add_test(tc, xenstore__add_virtio_options_change_the_right_keys);
	tcase_add_test(tc, xenstore__add_virtio_twice_is_EEXIST_and_bad_config_EINVAL);
	tcase_add_test(tc, xenstore__backend_watch_sees_the_device_complete);
	tcase_add_test(tc, xenstore__remove_virtio_removes_dirs_and_emptied_parents);
	tcase_add_test(tc, xenstore__xs_wait_returns_when_the_value_appears_or_times_out);
	suite_add_tcase(s, tc);
	tc = tcase_create("machine");
	tcase_add_checked_fixture(tc, machine_setup, machine_teardown);
	tcase_add_test(tc, xenstore__xl_destroy_removes_devices_and_domain_dir_then_the_domain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
