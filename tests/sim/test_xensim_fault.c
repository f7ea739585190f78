/* SPDX-License-Identifier: MIT */
/*
 * xensim fidelity: every fault-injection op makes the matching libxen call fail with the
 * armed errno, once, on the nth call.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenstore.h>

#include "helper_xensim.h"

#include <xen/memory.h>

#define BASE 0x3000000ULL

static struct xt_machine m;
static xengnttab_handle *gt;
static xenevtchn_handle *ea, *eb;
static xendevicemodel_handle *dm;
static xenforeignmemory_handle *fm;
static struct xs_handle *xs;
static uint32_t ref;
static evtchn_port_t pb, pa;
static ioservid_t id;
static char name_path[64];

static void setup(void)
{
	uint64_t gpa;
	int p;

	xt_machine_start(&m, 1);
	gt = xengnttab_open(NULL, 0);
	ea = xenevtchn_open(NULL, 0);
	eb = xenevtchn_open(NULL, 0);
	dm = xendevicemodel_open(NULL, 0);
	fm = xenforeignmemory_open(NULL, 0);
	xs = xs_open(0);
	ck_assert(gt && ea && eb && dm && fm && xs);
	ck_assert_int_eq(xensim_guest_alloc_pages(m.g, 1, &gpa), 0);
	ck_assert_int_eq(xensim_grant_access(m.g, 0, gpa >> 12, false, &ref), 0);
	p = xenevtchn_bind_unbound_port(ea, 0);
	ck_assert_int_gt(p, 0);
	pa = (evtchn_port_t)p;
	p = xenevtchn_bind_interdomain(eb, 0, pa);
	ck_assert_int_gt(p, 0);
	pb = (evtchn_port_t)p;
	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &id), 0);
	snprintf(name_path, sizeof(name_path), "/local/domain/%u/name", m.domid);
}

static void teardown(void)
{
	xs_close(xs);
	xenforeignmemory_close(fm);
	xendevicemodel_close(dm);
	xenevtchn_close(ea);
	xenevtchn_close(eb);
	xengnttab_close(gt);
	xt_machine_stop(&m);
}

/* Each returns 0 on success or the errno of the failure; cleans up after itself. */
static int op_gnt_map(void)
{
	void *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ);

	if (!p)
		return errno;
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	return 0;
}

static int op_gnt_copy(void)
{
	uint8_t buf[8];
	xengnttab_grant_copy_segment_t seg = {
		.source.foreign = { .ref = ref, .domid = (uint16_t)m.domid },
		.dest.virt = buf,
		.len = 8,
		.flags = GNTCOPY_source_gref,
	};

	return xengnttab_grant_copy(gt, 1, &seg) ? errno : 0;
}

static int op_bind_interdomain(void)
{
	int p = xenevtchn_bind_unbound_port(ea, 0), q;

	ck_assert_int_gt(p, 0);
	q = xenevtchn_bind_interdomain(eb, 0, (evtchn_port_t)p);
	return q < 0 ? errno : 0;
}

static int op_bind_unbound(void)
{
	return xenevtchn_bind_unbound_port(ea, 0) < 0 ? errno : 0;
}

static int op_notify(void)
{
	return xenevtchn_notify(eb, pb) ? errno : 0;
}

static int op_nr_vcpus(void)
{
	unsigned int n;

	return xendevicemodel_nr_vcpus(dm, m.domid, &n) ? errno : 0;
}

static int op_create(void)
{
	ioservid_t x;

	if (xendevicemodel_create_ioreq_server(dm, m.domid, 0, &x))
		return errno;
	ck_assert_int_eq(xendevicemodel_destroy_ioreq_server(dm, m.domid, x), 0);
	return 0;
}

static int op_get_info(void)
{
	evtchn_port_t port;

	return xendevicemodel_get_ioreq_server_info(dm, m.domid, id, NULL, NULL, &port) ? errno : 0;
}

static int op_set_state(void)
{
	return xendevicemodel_set_ioreq_server_state(dm, m.domid, id, 1) ? errno : 0;
}

static int op_map_range(void)
{
	if (xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, id, 1, BASE, BASE + 0xff))
		return errno;
	ck_assert_int_eq(xendevicemodel_unmap_io_range_from_ioreq_server(dm, m.domid, id, 1, BASE,
									 BASE + 0xff),
			 0);
	return 0;
}

static int op_unmap_range(void)
{
	ck_assert_int_eq(
		xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, id, 1, BASE, BASE + 0xff),
		0);
	if (xendevicemodel_unmap_io_range_from_ioreq_server(dm, m.domid, id, 1, BASE,
							    BASE + 0xff)) {
		int err = errno;

		ck_assert_int_eq(xendevicemodel_unmap_io_range_from_ioreq_server(dm, m.domid, id, 1,
										 BASE, BASE + 0xff),
				 0);
		return err;
	}
	return 0;
}

static int op_destroy(void)
{
	ioservid_t x;

	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &x), 0);
	return xendevicemodel_destroy_ioreq_server(dm, m.domid, x) ? errno : 0;
}

static int op_irq(void)
{
	return xendevicemodel_set_irq_level(dm, m.domid, 33, 1) ? errno : 0;
}

static int op_fmem_map(void)
{
	xen_pfn_t pfn = 1;
	void *p = xenforeignmemory_map(fm, m.domid, PROT_READ, 1, &pfn, NULL);

	if (!p)
		return errno;
	ck_assert_int_eq(xenforeignmemory_unmap(fm, p, 1), 0);
	return 0;
}

static int op_fmem_map_resource(void)
{
	void *addr = NULL;
	xenforeignmemory_resource_handle *r = xenforeignmemory_map_resource(
		fm, m.domid, XENMEM_resource_ioreq_server, id, 1, 1, &addr, PROT_READ, 0);

	if (!r)
		return errno;
	ck_assert_int_eq(xenforeignmemory_unmap_resource(fm, r), 0);
	return 0;
}

static int op_xs_read(void)
{
	unsigned int len;
	char *v = xs_read(xs, XBT_NULL, name_path, &len);

	free(v);
	return v ? 0 : errno;
}

static int op_xs_write(void)
{
	return xs_write(xs, XBT_NULL, "/test/a", "1", 1) ? 0 : errno;
}

static int op_xs_directory(void)
{
	unsigned int n;
	char **v = xs_directory(xs, XBT_NULL, "/local/domain", &n);

	free(v);
	return v ? 0 : errno;
}

static int op_xs_mkdir(void)
{
	return xs_mkdir(xs, XBT_NULL, "/test/dir") ? 0 : errno;
}

static int op_xs_rm(void)
{
	ck_assert(xs_write(xs, XBT_NULL, "/test/gone", "x", 1));
	return xs_rm(xs, XBT_NULL, "/test/gone") ? 0 : errno;
}

static int op_xs_watch(void)
{
	if (!xs_watch(xs, "/test", "tok"))
		return errno;
	ck_assert(xs_unwatch(xs, "/test", "tok"));
	return 0;
}

static int op_xs_transaction_start(void)
{
	xs_transaction_t t = xs_transaction_start(xs);

	if (t == XBT_NULL)
		return errno;
	ck_assert(xs_transaction_end(xs, t, true));
	return 0;
}

static int op_xs_transaction_end(void)
{
	xs_transaction_t t = xs_transaction_start(xs);

	ck_assert(t != XBT_NULL);
	return xs_transaction_end(xs, t, false) ? 0 : errno;
}

static const struct {
	enum xensim_op op;
	int (*fn)(void);
	const char *name;
} ops[] = {
	{ XENSIM_OP_GNT_MAP, op_gnt_map, "gnt_map" },
	{ XENSIM_OP_GNT_COPY, op_gnt_copy, "gnt_copy" },
	{ XENSIM_OP_EVTCHN_BIND_INTERDOMAIN, op_bind_interdomain, "bind_interdomain" },
	{ XENSIM_OP_EVTCHN_BIND_UNBOUND, op_bind_unbound, "bind_unbound" },
	{ XENSIM_OP_EVTCHN_NOTIFY, op_notify, "notify" },
	{ XENSIM_OP_DM_NR_VCPUS, op_nr_vcpus, "nr_vcpus" },
	{ XENSIM_OP_DM_CREATE_IOREQ_SERVER, op_create, "create_ioreq_server" },
	{ XENSIM_OP_DM_GET_IOREQ_SERVER_INFO, op_get_info, "get_ioreq_server_info" },
	{ XENSIM_OP_DM_SET_IOREQ_SERVER_STATE, op_set_state, "set_ioreq_server_state" },
	{ XENSIM_OP_DM_MAP_IO_RANGE, op_map_range, "map_io_range" },
	{ XENSIM_OP_DM_UNMAP_IO_RANGE, op_unmap_range, "unmap_io_range" },
	{ XENSIM_OP_DM_DESTROY_IOREQ_SERVER, op_destroy, "destroy_ioreq_server" },
	{ XENSIM_OP_DM_SET_IRQ_LEVEL, op_irq, "set_irq_level" },
	{ XENSIM_OP_FMEM_MAP, op_fmem_map, "fmem_map" },
	{ XENSIM_OP_FMEM_MAP_RESOURCE, op_fmem_map_resource, "fmem_map_resource" },
	{ XENSIM_OP_XS_READ, op_xs_read, "xs_read" },
	{ XENSIM_OP_XS_WRITE, op_xs_write, "xs_write" },
	{ XENSIM_OP_XS_DIRECTORY, op_xs_directory, "xs_directory" },
	{ XENSIM_OP_XS_MKDIR, op_xs_mkdir, "xs_mkdir" },
	{ XENSIM_OP_XS_RM, op_xs_rm, "xs_rm" },
	{ XENSIM_OP_XS_WATCH, op_xs_watch, "xs_watch" },
	{ XENSIM_OP_XS_TRANSACTION_START, op_xs_transaction_start, "xs_transaction_start" },
	{ XENSIM_OP_XS_TRANSACTION_END, op_xs_transaction_end, "xs_transaction_end" },
};
#define NOPS (int)(sizeof(ops) / sizeof(ops[0]))

START_TEST(fault__each_op_fails_once_with_the_armed_errno)
{
	int err = _i % 2 ? EIO : EAGAIN;

	ck_assert_msg(ops[_i].fn() == 0, "%s fails before any fault", ops[_i].name);
	ck_assert_int_eq(xensim_fault_inject(m.x, ops[_i].op, 1, err), 0);
	ck_assert_msg(ops[_i].fn() == err, "%s does not fail with the armed errno", ops[_i].name);
	ck_assert_msg(ops[_i].fn() == 0, "%s fault is not one-shot", ops[_i].name);
}
END_TEST

START_TEST(fault__nth_call_fails_and_earlier_ones_succeed)
{
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_GNT_MAP, 3, ENOMEM), 0);
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_GNT_MAP, 1, EIO), 0);
	ck_assert_int_eq(op_gnt_map(), EIO);
	ck_assert_int_eq(op_gnt_map(), 0);
	ck_assert_int_eq(op_gnt_map(), ENOMEM);
	ck_assert_int_eq(op_gnt_map(), 0);
}
END_TEST

START_TEST(fault__gnt_unmap_failure_leaves_the_mapping_intact)
{
	uint8_t *p = xengnttab_map_grant_ref(gt, m.domid, ref, PROT_READ | PROT_WRITE);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_GNT_UNMAP, 1, EIO), 0);
	errno = 0;
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), -1);
	ck_assert_int_eq(errno, EIO);
	p[0] = 1; /* still mapped */
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 1);
	ck_assert_int_eq(xengnttab_unmap(gt, p, 1), 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).gnt_live_pages, 0);
}
END_TEST

START_TEST(fault__evtchn_deliver_drops_one_event)
{
	struct pollfd p = { .fd = xenevtchn_fd(ea), .events = POLLIN };

	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_EVTCHN_DELIVER, 1, 0), 0);
	ck_assert_int_eq(xenevtchn_notify(eb, pb), 0);
	ck_assert_int_eq(poll(&p, 1, 50), 0);
	ck_assert_int_eq(xenevtchn_notify(eb, pb), 0);
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	ck_assert_int_eq(xenevtchn_pending(ea), (int)pa);
}
END_TEST

START_TEST(fault__isa_irq_and_msi_share_the_irq_fault)
{
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_DM_SET_IRQ_LEVEL, 1, EIO), 0);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_inject_msi(dm, m.domid, 0xfee00000, 1), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_DM_SET_IRQ_LEVEL, 1, EIO), 0);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_isa_irq_level(dm, m.domid, 3, 1), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_uint_eq(xt_counters(&m, m.domid).irq_raises, 0);
}
END_TEST

START_TEST(fault__clear_disarms_everything)
{
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_GNT_MAP, 1, EIO), 0);
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_XS_READ, 1, EIO), 0);
	ck_assert_int_eq(xensim_fault_clear(m.x), 0);
	ck_assert_int_eq(op_gnt_map(), 0);
	ck_assert_int_eq(op_xs_read(), 0);
}
END_TEST

START_TEST(fault__bad_arguments_are_einval)
{
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_COUNT, 1, EIO), -EINVAL);
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_GNT_MAP, 0, EIO), -EINVAL);
	ck_assert_int_eq(xensim_fault_inject(m.x, XENSIM_OP_GNT_MAP, 1, 0), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_fault");
	TCase *tc = tcase_create("fault");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, fault__each_op_fails_once_with_the_armed_errno, 0, NOPS);
	tcase_add_test(tc, fault__nth_call_fails_and_earlier_ones_succeed);
	tcase_add_test(tc, fault__gnt_unmap_failure_leaves_the_mapping_intact);
	tcase_add_test(tc, fault__evtchn_deliver_drops_one_event);
	tcase_add_test(tc, fault__isa_irq_and_msi_share_the_irq_fault);
	tcase_add_test(tc, fault__clear_disarms_everything);
	tcase_add_test(tc, fault__bad_arguments_are_einval);
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
