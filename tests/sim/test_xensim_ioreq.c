/* SPDX-License-Identifier: MIT */
/*
 * xensim fidelity: ioreq servers and guest MMIO through them.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "helper_xensim.h"

#include <xen/hvm/dm_op.h>
#include <xen/memory.h>

#define BASE 0x2000000ULL

static struct xt_machine m;

static void setup(void)
{
	xt_machine_start(&m, 2);
}

static void teardown(void)
{
	xt_machine_stop(&m);
}

START_TEST(ioreq__mmio_read_is_answered_by_backend_thread)
{
	struct xt_backend b = { .read_value = 0x1234 };
	uint64_t v = 0;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE + 0x10, 4, &v), 0);
	ck_assert_uint_eq(v, (0x1234 ^ (BASE + 0x10)) & 0xffffffffu);
	ck_assert_uint_eq(b.reads, 1);
	ck_assert_uint_eq(b.last_size, 4);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__mmio_write_carries_data_to_backend)
{
	struct xt_backend b = { 0 };

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_mmio_write(m.g, 1, BASE + 0x50, 4, 0xdeadbeef), 0);
	ck_assert_uint_eq(b.writes, 1);
	ck_assert_uint_eq(b.last_data, 0xdeadbeef);
	ck_assert_uint_eq(b.last_addr, BASE + 0x50);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__access_outside_any_range_faults)
{
	struct xt_backend b = { 0 };
	uint64_t v;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE + 0x200, 4, &v), -EFAULT);
	/* Straddling the end of the range: not every byte is claimed. */
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE + 0x1fe, 4, &v), -EFAULT);
	xt_backend_stop(&b);
}
END_TEST

/* ---- the handshake, step by step, with the test playing the backend ---- */

struct guest_call {
	pthread_t t;
	unsigned int vcpu;
	uint64_t addr, val;
	int rc;
};

static void *guest_read(void *arg)
{
	struct guest_call *gc = arg;

	gc->rc = xensim_mmio_read(m.g, gc->vcpu, gc->addr, 4, &gc->val);
	return NULL;
}

struct manual {
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenevtchn_handle *xe;
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page;
	ioservid_t id;
	evtchn_port_t port[2];
};

static void manual_setup(struct manual *b)
{
	void *addr = NULL;
	unsigned int n, i;
	int port;

	b->dm = xendevicemodel_open(NULL, 0);
	b->fm = xenforeignmemory_open(NULL, 0);
	b->xe = xenevtchn_open(NULL, 0);
	ck_assert(b->dm && b->fm && b->xe);
	ck_assert_int_eq(xendevicemodel_nr_vcpus(b->dm, m.domid, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(xendevicemodel_create_ioreq_server(b->dm, m.domid, 0, &b->id), 0);
	b->res = xenforeignmemory_map_resource(b->fm, m.domid, XENMEM_resource_ioreq_server, b->id,
					       1, 1, &addr, PROT_READ | PROT_WRITE, 0);
	ck_assert_ptr_nonnull(b->res);
	b->page = addr;
	ck_assert_int_eq(xendevicemodel_set_ioreq_server_state(b->dm, m.domid, b->id, 1), 0);
	for (i = 0; i < 2; i++) {
		port = xenevtchn_bind_interdomain(b->xe, m.domid, b->page->vcpu_ioreq[i].vp_eport);
		ck_assert_int_gt(port, 0);
		b->port[i] = (evtchn_port_t)port;
	}
	ck_assert_int_eq(xendevicemodel_map_io_range_to_ioreq_server(b->dm, m.domid, b->id, 1, BASE,
								     BASE + 0xfff),
			 0);
}

static int wait_pending(xenevtchn_handle *xe, int ms)
{
	struct pollfd p = { .fd = xenevtchn_fd(xe), .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return xenevtchn_pending(xe);
}

START_TEST(ioreq__ready_inprocess_iorespready_handshake)
{
	struct manual b = { 0 };
	struct guest_call gc = { .vcpu = 1, .addr = BASE + 0x44 };
	volatile ioreq_t *slot;
	int port;

	manual_setup(&b);
	slot = &b.page->vcpu_ioreq[1];
	ck_assert_uint_eq(slot->state, STATE_IOREQ_NONE);
	ck_assert_int_eq(pthread_create(&gc.t, NULL, guest_read, &gc), 0);
	port = wait_pending(b.xe, 5000);
	ck_assert_int_eq(port, (int)b.port[1]);
	ck_assert_int_eq(xenevtchn_unmask(b.xe, (evtchn_port_t)port), 0);
	ck_assert_uint_eq(slot->state, STATE_IOREQ_READY);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	ck_assert_uint_eq(slot->addr, BASE + 0x44);
	ck_assert_uint_eq(slot->size, 4);
	ck_assert_uint_eq(slot->count, 1);
	ck_assert_uint_eq(slot->dir, IOREQ_READ);
	ck_assert_uint_eq(slot->type, IOREQ_TYPE_COPY);
	ck_assert_uint_eq(slot->data_is_ptr, 0);
	ck_assert_uint_eq(slot->vp_eport, b.page->vcpu_ioreq[1].vp_eport);
	slot->state = STATE_IOREQ_INPROCESS;
	/* A notification before IORESP_READY is not an answer: the vCPU keeps waiting. */
	ck_assert_int_eq(xenevtchn_notify(b.xe, b.port[1]), 0);
	usleep(20000);
	ck_assert_uint_eq(slot->state, STATE_IOREQ_INPROCESS);
	slot->data = 0x1122334455667788ULL;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IORESP_READY;
	ck_assert_int_eq(xenevtchn_notify(b.xe, b.port[1]), 0);
	pthread_join(gc.t, NULL);
	ck_assert_int_eq(gc.rc, 0);
	ck_assert_uint_eq(gc.val, 0x55667788); /* a 4-byte read gets the low 4 bytes */
	ck_assert_uint_eq(slot->state, STATE_IOREQ_NONE);
	ck_assert_uint_eq(xt_counters(&m, m.domid).ioreqs, 1);
	xenforeignmemory_unmap_resource(b.fm, b.res);
	xenevtchn_close(b.xe);
	xenforeignmemory_close(b.fm);
	xendevicemodel_close(b.dm);
}
END_TEST

START_TEST(ioreq__unanswered_access_times_out_and_resets_slot)
{
	struct xt_backend b = { .no_answer = 1 };
	uint64_t v;
	struct timespec t0, t1;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	xensim_guest_set_timeout(m.g, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE, 4, &v), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 190);
	ck_assert_uint_eq(b.page->vcpu_ioreq[0].state, STATE_IOREQ_NONE);
	/* The vCPU is free again. */
	b.no_answer = 0;
	ck_assert_int_eq(xensim_mmio_write(m.g, 0, BASE, 4, 5), 0);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__invalidate_is_sent_with_addr_zero)
{
	struct xt_backend b = { 0 };
	struct xensim_ioreq r = {
		.addr = 0, .size = 4, .count = 1, .dir = 0, .type = 8, .data = ~0ULL
	};

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_ioreq_raw(m.g, 0, &r, NULL), 0);
	ck_assert_uint_eq(b.others, 1);
	ck_assert_uint_eq(b.last_type, IOREQ_TYPE_INVALIDATE);
	ck_assert_uint_eq(b.last_addr, 0);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__hostile_raw_request_reaches_backend)
{
	struct xt_backend b = { 0 };
	struct xensim_ioreq r = {
		.addr = BASE + 8, .size = 4, .count = 2, .dir = 1, .type = 1, .data_is_ptr = 1
	};

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xensim_ioreq_raw(m.g, 0, &r, NULL), 0);
	ck_assert_uint_eq(b.reads, 1);
	ck_assert_uint_eq(b.page->vcpu_ioreq[0].data_is_ptr, 1);
	ck_assert_uint_eq(b.page->vcpu_ioreq[0].count, 2);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__disabled_server_receives_nothing)
{
	struct xt_backend b = { 0 };
	uint64_t v;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(xendevicemodel_set_ioreq_server_state(b.dm, m.domid, b.id, 0), 0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE, 4, &v), -EFAULT);
	ck_assert_uint_eq(b.reads, 0);
	xt_backend_stop(&b);
}
END_TEST

static void *slow_write(void *arg)
{
	struct guest_call *gc = arg;

	gc->rc = xensim_mmio_write(m.g, gc->vcpu, gc->addr, 4, 1);
	return NULL;
}

START_TEST(ioreq__vcpus_trap_concurrently)
{
	struct xt_backend b = { .delay_ms = 50 };
	struct guest_call gc[2] = { { .vcpu = 0, .addr = BASE }, { .vcpu = 1, .addr = BASE + 4 } };
	int i;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&gc[i].t, NULL, slow_write, &gc[i]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(gc[i].t, NULL);
		ck_assert_int_eq(gc[i].rc, 0);
	}
	ck_assert_uint_eq(b.writes, 2);
	xt_backend_stop(&b);
}
END_TEST

static void *destroy_later(void *arg)
{
	usleep(50000);
	ck_assert_int_eq(xensim_domain_destroy(m.x, m.domid), 0);
	return arg;
}

START_TEST(ioreq__waiting_access_fails_with_esrch_when_domain_dies)
{
	struct xt_backend b = { .no_answer = 1 };
	pthread_t t;
	uint64_t v;

	ck_assert_int_eq(xt_backend_start(&b, m.domid, BASE, 0x200), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, destroy_later, NULL), 0);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE, 4, &v), -ESRCH);
	pthread_join(t, NULL);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE, 4, &v), -ESRCH);
	xt_backend_stop(&b);
}
END_TEST

START_TEST(ioreq__bad_vcpu_or_size_is_einval)
{
	uint64_t v;

	ck_assert_int_eq(xensim_mmio_read(m.g, 2, BASE, 4, &v), -EINVAL);
	ck_assert_int_eq(xensim_mmio_read(m.g, 0, BASE, 3, &v), -EINVAL);
	ck_assert_int_eq(xensim_mmio_write(m.g, 0, BASE, 16, 0), -EINVAL);
}
END_TEST

/* ---- device model: servers, ranges, resource frames ---- */

START_TEST(dm__resource_frame_1_is_the_ioreq_page)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page = NULL;
	ioservid_t id;

	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &id), 0);
	res = xenforeignmemory_map_resource(fm, m.domid, XENMEM_resource_ioreq_server, id,
					    XENMEM_resource_ioreq_server_frame_ioreq(0), 1,
					    (void **)&page, PROT_READ | PROT_WRITE, 0);
	ck_assert_ptr_nonnull(res);
	ck_assert_uint_ne(page->vcpu_ioreq[0].vp_eport, 0);
	ck_assert_uint_ne(page->vcpu_ioreq[1].vp_eport, 0);
	ck_assert_uint_ne(page->vcpu_ioreq[0].vp_eport, page->vcpu_ioreq[1].vp_eport);
	ck_assert_uint_eq(page->vcpu_ioreq[0].state, STATE_IOREQ_NONE);
	ck_assert_uint_eq(xt_counters(&m, m.domid).fmem_resource_maps_live, 1);
	ck_assert_int_eq(xenforeignmemory_unmap_resource(fm, res), 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).fmem_resource_maps_live, 0);
	xenforeignmemory_close(fm);
	xendevicemodel_close(dm);
}
END_TEST

START_TEST(dm__resource_frame_0_fails_without_bufioreq)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	void *addr = NULL;
	ioservid_t id;

	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &id), 0);
	errno = 0;
	ck_assert_ptr_null(xenforeignmemory_map_resource(fm, m.domid, XENMEM_resource_ioreq_server,
							 id, 0, 1, &addr, PROT_READ, 0));
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_ptr_null(xenforeignmemory_map_resource(fm, m.domid, XENMEM_resource_ioreq_server,
							 id, 2, 1, &addr, PROT_READ, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(xenforeignmemory_map_resource(fm, m.domid, XENMEM_resource_ioreq_server,
							 id + 1, 1, 1, &addr, PROT_READ, 0));
	ck_assert_int_eq(errno, ENOENT);
	xenforeignmemory_close(fm);
	xendevicemodel_close(dm);
}
END_TEST

START_TEST(dm__server_limits_and_errnos_follow_xen)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	ioservid_t id[8], extra;
	int i;

	errno = 0;
	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 1, &extra), -1);
	ck_assert_int_eq(errno, EINVAL); /* buffered ioreqs: x86 only */
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &id[i]), 0);
		ck_assert_uint_eq(id[i], i);
	}
	errno = 0;
	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &extra), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(xt_counters(&m, m.domid).ioreq_servers_live, 8);
	ck_assert_int_eq(xendevicemodel_destroy_ioreq_server(dm, m.domid, id[3]), 0);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_destroy_ioreq_server(dm, m.domid, id[3]), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &extra), 0);
	ck_assert_uint_eq(extra, 3);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_ioreq_server_state(dm, 999, 0, 1), -1);
	ck_assert_int_eq(errno, ESRCH);
	xendevicemodel_close(dm);
}
END_TEST

START_TEST(dm__io_ranges_follow_rangeset_rules)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	ioservid_t a, b;

	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &a), 0);
	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &b), 0);
	ck_assert_int_eq(
		xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, a, 1, 0x1000, 0x1fff), 0);
	errno = 0;
	ck_assert_int_eq(
		xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, a, 1, 0x1800, 0x27ff), -1);
	ck_assert_int_eq(errno, EEXIST);
	errno = 0;
	ck_assert_int_eq(
		xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, a, 1, 0x3000, 0x2fff), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Different servers may overlap (Xen checks each server's own rangeset only). */
	ck_assert_int_eq(
		xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, b, 1, 0x1800, 0x27ff), 0);
	/* Port I/O ranges are separate from MMIO. */
	ck_assert_int_eq(
		xendevicemodel_map_io_range_to_ioreq_server(dm, m.domid, a, 0, 0x1000, 0x1fff), 0);
	/* Part of a range can be unmapped; a range never mapped cannot. */
	ck_assert_int_eq(
		xendevicemodel_unmap_io_range_from_ioreq_server(dm, m.domid, a, 1, 0x1400, 0x17ff),
		0);
	errno = 0;
	ck_assert_int_eq(
		xendevicemodel_unmap_io_range_from_ioreq_server(dm, m.domid, a, 1, 0x1400, 0x14ff),
		-1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(
		xendevicemodel_unmap_io_range_from_ioreq_server(dm, m.domid, a, 1, 0x1000, 0x13ff),
		0);
	xendevicemodel_close(dm);
}
END_TEST

START_TEST(dm__only_the_emulator_domain_may_use_a_server)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0), *other;
	ioservid_t id;

	ck_assert_int_eq(xendevicemodel_create_ioreq_server(dm, m.domid, 0, &id), 0);
	setenv("XENSIM_DOMID", "5", 1);
	other = xendevicemodel_open(NULL, 0);
	unsetenv("XENSIM_DOMID");
	ck_assert_ptr_nonnull(other);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_ioreq_server_state(other, m.domid, id, 1), -1);
	ck_assert_int_eq(errno, EPERM);
	xendevicemodel_close(other);
	xendevicemodel_close(dm);
}
END_TEST

START_TEST(dm__unmodelled_operations_fail_with_enosys)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);

	errno = 0;
	ck_assert_int_eq(xendevicemodel_modified_memory(dm, m.domid, 0, 1), -1);
	ck_assert_int_eq(errno, ENOSYS);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_shutdown(dm, m.domid, 0), -1);
	ck_assert_int_eq(errno, ENOSYS);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_track_dirty_vram(dm, m.domid, 0, 1, NULL), -1);
	ck_assert_int_eq(errno, ENOSYS);
	ck_assert_uint_eq(xt_counters(&m, m.domid).dm_calls, 0);
	xendevicemodel_close(dm);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_ioreq");
	TCase *tc = tcase_create("ioreq");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ioreq__mmio_read_is_answered_by_backend_thread);
	tcase_add_test(tc, ioreq__mmio_write_carries_data_to_backend);
	tcase_add_test(tc, ioreq__access_outside_any_range_faults);
	tcase_add_test(tc, ioreq__ready_inprocess_iorespready_handshake);
	tcase_add_test(tc, ioreq__unanswered_access_times_out_and_resets_slot);
	tcase_add_test(tc, ioreq__invalidate_is_sent_with_addr_zero);
	tcase_add_test(tc, ioreq__hostile_raw_request_reaches_backend);
	tcase_add_test(tc, ioreq__disabled_server_receives_nothing);
	tcase_add_test(tc, ioreq__vcpus_trap_concurrently);
	tcase_add_test(tc, ioreq__waiting_access_fails_with_esrch_when_domain_dies);
	tcase_add_test(tc, ioreq__bad_vcpu_or_size_is_einval);
	suite_add_tcase(s, tc);
	tc = tcase_create("dm");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, dm__resource_frame_1_is_the_ioreq_page);
	tcase_add_test(tc, dm__resource_frame_0_fails_without_bufioreq);
	tcase_add_test(tc, dm__server_limits_and_errnos_follow_xen);
	tcase_add_test(tc, dm__io_ranges_follow_rangeset_rules);
	tcase_add_test(tc, dm__only_the_emulator_domain_may_use_a_server);
	tcase_add_test(tc, dm__unmodelled_operations_fail_with_enosys);
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
