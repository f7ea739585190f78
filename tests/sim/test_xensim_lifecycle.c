/* SPDX-License-Identifier: MIT */
/*
 * xensim fidelity: domain lifetime, ownership of handles' resources, counters, foreign memory.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "helper_xensim.h"

#include <xen/memory.h>

#define BASE 0x2000000ULL

static struct xt_machine m;

static void setup(void)
{
	xt_machine_start(&m, 1);
}

static void teardown(void)
{
	xt_machine_stop(&m);
}

static uint32_t grant_page(xensim_guest *g, uint8_t byte)
{
	uint64_t gpa;
	uint32_t ref;

	ck_assert_int_eq(xensim_guest_alloc_pages(g, 1, &gpa), 0);
	memset(xensim_guest_ptr(g, gpa, 4096), byte, 4096);
	ck_assert_int_eq(xensim_grant_access(g, 0, gpa >> 12, false, &ref), 0);
	return ref;
}

/* Wait until the machine has processed a handle's disappearance. */
static struct xensim_counters settle(uint32_t domid, uint64_t struct_offset)
{
	struct xensim_counters c;

	for (int i = 0; i < 2000; i++) {
		c = xt_counters(&m, domid);
		if (!*(uint64_t *)((char *)&c + struct_offset))
			break;
		usleep(1000);
	}
	return c;
}

START_TEST(lifecycle__destroy_tears_down_everything)
{
	struct xt_backend b = { 0 };
	xengnttab_handle *gt = xengnttab_open(NULL, 0);
	uint32_t ref = grant_page(m.g, 0x42);
	uint8_t *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ);
	xen_pfn_t pfn = 1;
	void *f;
	struct xensim_counters c;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	f = xenforeignmemory_map(b.fm, m.domid, PROT_READ, 1, &pfn, NULL);
	ck_assert_ptr_nonnull(f);
	c = xt_counters(&m, m.domid);
	ck_assert_uint_eq(c.ioreq_servers_live, 1);
	ck_assert_uint_eq(c.evtchn_live_ports, 1);
	ck_assert_uint_eq(c.gnt_live_pages, 1);
	ck_assert_uint_eq(c.fmem_live_pages, 1);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 1);

	ck_assert_int_eq(xensim_domain_destroy(m.x, m.domid), 0);
	ck_assert_int_eq(xensim_domain_exists(m.x, m.domid), 0);
	c = xt_counters(&m, m.domid); /* a dying domain lingers while mapped */
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.evtchn_live_ports, 0);
	ck_assert_uint_eq(c.gnt_live_pages, 1);
	/* As on Xen, the backend's mapping stays valid until it unmaps, and the unmap works. */
	ck_assert_uint_eq(p[0], 0x42);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	ck_assert_int_eq(xenforeignmemory_unmap(b.fm, f, 1), 0);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_destroy_ioreq_server(b.dm, m.domid, b.id), -1);
	ck_assert_int_eq(errno, ESRCH);
	xt_backend_stop(&b);
	xengnttab_close(gt);
	/* Every mapping gone: the domain is freed; the machine-wide gauges are back to zero. */
	{
		struct xensim_counters tmp;

		ck_assert_int_eq(xensim_counters_get(m.x, m.domid, &tmp), -ESRCH);
	}
	c = xt_counters(&m, XENSIM_DOMID_ALL);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_uint_eq(c.evtchn_live_ports, 0);
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.fmem_live_pages, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
	ck_assert_uint_eq(c.gnt_map_calls, 1); /* history survives the domain */
	ck_assert_int_eq(xensim_domain_destroy(m.x, m.domid), -ESRCH);
}
END_TEST

START_TEST(lifecycle__backend_process_exit_releases_everything)
{
	uint32_t ref = grant_page(m.g, 1);
	int pipefd[2], status;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct xt_backend b = { 0 };
		xengnttab_handle *gt = xengnttab_open(NULL, 0);
		void *p = gt ? xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ) : NULL;

		if (!p || xt_backend_start(&b, m.domid, BASE, 0x200))
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause(); /* killed below, with everything still open */
		_exit(0);
	}
	close(pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	ck_assert_uint_eq(xt_counters(&m, m.domid).ioreq_servers_live, 1);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	settle(m.domid, offsetof(struct xensim_counters, gnt_live_pages));
	settle(m.domid, offsetof(struct xensim_counters, ioreq_servers_live));
	settle(m.domid, offsetof(struct xensim_counters, evtchn_live_ports));
	settle(m.domid, offsetof(struct xensim_counters, fmem_resource_maps_live));
	{
		struct xensim_counters k = xt_counters(&m, m.domid);

		ck_assert_uint_eq(k.gnt_live_pages, 0);
		ck_assert_uint_eq(k.ioreq_servers_live, 0);
		ck_assert_uint_eq(k.evtchn_live_ports, 0);
		ck_assert_uint_eq(k.fmem_resource_maps_live, 0);
	}
	ck_assert_int_eq(xensim_grant_end_access(m.g, ref), 0);
}
END_TEST

START_TEST(lifecycle__dying_domid_is_not_reusable_until_unmapped)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	xengnttab_handle *gt = xengnttab_open(NULL, 0);
	xensim_guest *g;
	uint32_t id, ref;
	void *p;

	cfg.domid = 50;
	ck_assert_int_eq(xensim_domain_create(m.x, &cfg, &id), 0);
	ck_assert_uint_eq(id, 50);
	ck_assert_int_eq(xensim_domain_create(m.x, &cfg, &id), -EEXIST);
	ck_assert_int_eq(xensim_guest_attach(&g, m.x, 50), 0);
	ref = grant_page(g, 9);
	p = xengnttab_map_grant_ref(gt, 50, ref, PROT_READ);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xensim_domain_destroy(m.x, 50), 0);
	ck_assert_int_eq(xensim_domain_create(m.x, &cfg, &id), -EEXIST);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	ck_assert_int_eq(xensim_domain_create(m.x, &cfg, &id), 0);
	xensim_guest_detach(g);
	xengnttab_close(gt);
}
END_TEST

START_TEST(lifecycle__automatic_domids_are_not_reused)
{
	uint32_t a, b;

	ck_assert_int_eq(xensim_domain_create(m.x, NULL, &a), 0);
	ck_assert_int_eq(xensim_domain_destroy(m.x, a), 0);
	ck_assert_int_eq(xensim_domain_create(m.x, NULL, &b), 0);
	ck_assert_uint_gt(b, a);
	ck_assert_uint_gt(a, m.domid);
}
END_TEST

START_TEST(lifecycle__guest_attach_is_exclusive)
{
	xensim_guest *g2;

	ck_assert_int_eq(xensim_guest_attach(&g2, m.x, m.domid), -EBUSY);
	xensim_guest_detach(m.g);
	m.g = NULL;
	ck_assert_int_eq(xensim_guest_attach(&m.g, m.x, m.domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&g2, m.x, 999), -ESRCH);
}
END_TEST

START_TEST(lifecycle__counters_reset_keeps_live_gauges)
{
	xengnttab_handle *gt = xengnttab_open(NULL, 0);
	void *p = xengnttab_map_grant_ref(gt, m.domid, grant_page(m.g, 1), PROT_READ);
	struct xensim_counters c;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xensim_counters_reset(m.x), 0);
	c = xt_counters(&m, m.domid);
	ck_assert_uint_eq(c.gnt_map_calls, 0);
	ck_assert_uint_eq(c.gnt_map_pages, 0);
	ck_assert_uint_eq(c.gnt_live_pages, 1);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	xengnttab_close(gt);
}
END_TEST

START_TEST(lifecycle__machine_wide_counters_sum_the_domains)
{
	xengnttab_handle *gt = xengnttab_open(NULL, 0);
	xensim_guest *g2;
	uint32_t d2;
	void *p1, *p2, *p3;
	struct xensim_counters all;

	ck_assert_int_eq(xensim_domain_create(m.x, NULL, &d2), 0);
	ck_assert_int_eq(xensim_guest_attach(&g2, m.x, d2), 0);
	p1 = xengnttab_map_grant_ref(gt, m.domid, grant_page(m.g, 1), PROT_READ);
	p2 = xengnttab_map_grant_ref(gt, d2, grant_page(g2, 2), PROT_READ);
	p3 = xengnttab_map_grant_ref(gt, d2, grant_page(g2, 3), PROT_READ);
	ck_assert(p1 && p2 && p3);
	ck_assert_uint_eq(((uint8_t *)p2)[0], 2);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_map_calls, 1);
	ck_assert_uint_eq(xt_counters(&m, d2).gnt_map_calls, 2);
	all = xt_counters(&m, XENSIM_DOMID_ALL);
	ck_assert_uint_eq(all.gnt_map_calls, 3);
	ck_assert_uint_eq(all.gnt_live_pages, 3);
	xengnttab_close(gt);
	xensim_guest_detach(g2);
}
END_TEST

START_TEST(lifecycle__no_machine_means_enoent)
{
	xensim *x;

	unsetenv("XENSIM_SOCKET");
	ck_assert_int_eq(xensim_open(&x, NULL), -ENOENT);
	errno = 0;
	ck_assert_ptr_null(xengnttab_open(NULL, 0));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(xensim_open(&x, "/nonexistent/hv.sock"), -ENOENT);
}
END_TEST

START_TEST(lifecycle__domain_create_writes_its_xenstore_entries)
{
	struct xs_handle *xs = xs_open(0);
	char path[64];
	unsigned int len;
	char *v;

	ck_assert_ptr_nonnull(xs);
	snprintf(path, sizeof(path), "/local/domain/%u/name", m.domid);
	v = xs_read(xs, XBT_NULL, path, &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "guest");
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%u/domid", m.domid);
	v = xs_read(xs, XBT_NULL, path, &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(strtoul(v, NULL, 10), m.domid);
	free(v);
	xs_close(xs);
}
END_TEST

/* ---- foreign memory ---- */

START_TEST(fmem__map_reads_guest_ram_and_reports_bad_frames)
{
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	uint64_t gpa, size;
	xen_pfn_t pfns[3];
	int err[3];
	uint8_t *p;

	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, 2, &gpa), 0);
	memset(xensim_guest_ptr(m.g, gpa, 8192), 0xab, 8192);
	xensim_guest_ram(m.g, &size);
	pfns[0] = gpa >> 12;
	pfns[1] = size >> 12; /* beyond RAM */
	pfns[2] = (gpa >> 12) + 1;
	p = xenforeignmemory_map(fm, m.domid, PROT_READ | PROT_WRITE, 3, pfns, err);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(err[0], 0);
	ck_assert_int_eq(err[1], -EINVAL);
	ck_assert_int_eq(err[2], 0);
	ck_assert_uint_eq(p[0], 0xab);
	ck_assert_uint_eq(p[8192], 0xab);
	p[8193] = 1;
	ck_assert_uint_eq(*(uint8_t *)xensim_guest_ptr(m.g, gpa + 4097, 1), 1);
	ck_assert_uint_eq(xt_counters(&m, m.domid).fmem_live_pages, 2);
	ck_assert_int_eq(xenforeignmemory_unmap(fm, p, 3), 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).fmem_live_pages, 0);
	/* Without an err array, any bad page fails the whole call. */
	errno = 0;
	ck_assert_ptr_null(xenforeignmemory_map(fm, m.domid, PROT_READ, 3, pfns, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(xt_counters(&m, m.domid).fmem_live_pages, 0);
	xenforeignmemory_close(fm);
}
END_TEST

START_TEST(fmem__restrict_limits_the_handle_to_one_domain)
{
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	xen_pfn_t pfn = 1;

	ck_assert_int_eq(xenforeignmemory_restrict(fm, (domid_t)(m.domid + 1)), 0);
	errno = 0;
	ck_assert_ptr_null(xenforeignmemory_map(fm, m.domid, PROT_READ, 1, &pfn, NULL));
	ck_assert_int_eq(errno, EPERM);
	xenforeignmemory_close(fm);
}
END_TEST

START_TEST(fmem__grant_table_resource_shows_the_guests_grants)
{
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	grant_entry_v1_t *t = NULL;
	xenforeignmemory_resource_handle *r;
	uint32_t ref = grant_page(m.g, 1);
	size_t size;

	r = xenforeignmemory_map_resource(fm, m.domid, XENMEM_resource_grant_table,
					  XENMEM_resource_grant_table_id_shared, 0, 64, (void **)&t,
					  PROT_READ, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(t[ref].flags & GTF_permit_access, GTF_permit_access);
	ck_assert_uint_eq(t[ref].domid, 0);
	ck_assert_int_eq(xenforeignmemory_unmap_resource(fm, r), 0);
	ck_assert_int_eq(xenforeignmemory_resource_size(fm, m.domid, XENMEM_resource_grant_table,
							XENMEM_resource_grant_table_id_shared,
							&size),
			 0);
	ck_assert_uint_eq(size, 64 * 4096);
	xenforeignmemory_close(fm);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_lifecycle");
	TCase *tc = tcase_create("lifecycle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, lifecycle__destroy_tears_down_everything);
	tcase_add_test(tc, lifecycle__backend_process_exit_releases_everything);
	tcase_add_test(tc, lifecycle__dying_domid_is_not_reusable_until_unmapped);
	tcase_add_test(tc, lifecycle__automatic_domids_are_not_reused);
	tcase_add_test(tc, lifecycle__guest_attach_is_exclusive);
	tcase_add_test(tc, lifecycle__counters_reset_keeps_live_gauges);
	tcase_add_test(tc, lifecycle__machine_wide_counters_sum_the_domains);
	tcase_add_test(tc, lifecycle__no_machine_means_enoent);
	tcase_add_test(tc, lifecycle__domain_create_writes_its_xenstore_entries);
	tcase_add_test(tc, fmem__map_reads_guest_ram_and_reports_bad_frames);
	tcase_add_test(tc, fmem__restrict_limits_the_handle_to_one_domain);
	tcase_add_test(tc, fmem__grant_table_resource_shows_the_guests_grants);
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
	return failed ? 1 : 0;
}
