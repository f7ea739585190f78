/* SPDX-License-Identifier: MIT */
/*
 * xensim fidelity: event channels (drop-in libxenevtchn) and interrupt injection.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "helper_xensim.h"

static struct xt_machine m;
static xenevtchn_handle *a, *b; /* two dom0 handles, bound to each other */
static evtchn_port_t pa, pb;

static void setup(void)
{
	int rc;

	xt_machine_start(&m, 1);
	a = xenevtchn_open(NULL, 0);
	b = xenevtchn_open(NULL, 0);
	ck_assert(a && b);
	rc = xenevtchn_bind_unbound_port(a, 0);
	ck_assert_int_gt(rc, 0);
	pa = (evtchn_port_t)rc;
	rc = xenevtchn_bind_interdomain(b, 0, pa);
	ck_assert_int_gt(rc, 0);
	pb = (evtchn_port_t)rc;
}

static void teardown(void)
{
	xenevtchn_close(a);
	xenevtchn_close(b);
	xt_machine_stop(&m);
}

static bool readable(xenevtchn_handle *h, int ms)
{
	struct pollfd p = { .fd = xenevtchn_fd(h), .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

START_TEST(evtchn__notify_reaches_the_bound_peer)
{
	ck_assert(!readable(a, 0));
	ck_assert_int_eq(xenevtchn_notify(b, pb), 0);
	ck_assert(readable(a, 2000));
	ck_assert_int_eq(xenevtchn_pending(a), (int)pa);
	ck_assert_uint_eq(xt_counters(&m, 0).evtchn_notify_calls, 1);
	ck_assert_uint_eq(xt_counters(&m, 0).evtchn_deliveries, 1);
}
END_TEST

START_TEST(evtchn__delivered_port_stays_masked_and_coalesces_until_unmask)
{
	int i;

	for (i = 0; i < 100; i++)
		ck_assert_int_eq(xenevtchn_notify(b, pb), 0);
	ck_assert(readable(a, 2000));
	ck_assert_int_eq(xenevtchn_pending(a), (int)pa);
	/* 99 more notifications while masked: one pending bit, no queue. */
	ck_assert(!readable(a, 50));
	ck_assert_int_eq(xenevtchn_unmask(a, pa), 0);
	ck_assert(readable(a, 2000));
	ck_assert_int_eq(xenevtchn_pending(a), (int)pa);
	ck_assert_int_eq(xenevtchn_unmask(a, pa), 0);
	ck_assert(!readable(a, 50));
	ck_assert_uint_eq(xt_counters(&m, 0).evtchn_deliveries, 2);
}
END_TEST

START_TEST(evtchn__pending_on_nonblocking_fd_is_eagain)
{
	int fd = xenevtchn_fd(a);

	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	errno = 0;
	ck_assert_int_eq(xenevtchn_pending(a), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(evtchn__ports_of_another_handle_are_enotconn)
{
	errno = 0;
	ck_assert_int_eq(xenevtchn_notify(a, pb), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	errno = 0;
	ck_assert_int_eq(xenevtchn_unbind(a, pb), -1);
	ck_assert_int_eq(errno, ENOTCONN);
}
END_TEST

START_TEST(evtchn__bind_interdomain_checks_the_remote_port)
{
	xenevtchn_handle *c = xenevtchn_open(NULL, 0);
	int guest_port;

	ck_assert_ptr_nonnull(c);
	errno = 0;
	ck_assert_int_eq(xenevtchn_bind_interdomain(c, 0, pa), -1); /* already bound */
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(xenevtchn_bind_interdomain(c, 0, 4000), -1); /* no such port */
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(xenevtchn_bind_interdomain(c, 999, 1), -1); /* no such domain */
	ck_assert_int_eq(errno, ESRCH);
	/* A port dom0 left unbound for the guest is not bindable by dom0 itself. */
	guest_port = xenevtchn_bind_unbound_port(c, m.domid);
	ck_assert_int_gt(guest_port, 0);
	errno = 0;
	ck_assert_int_eq(xenevtchn_bind_interdomain(a, 0, (evtchn_port_t)guest_port), -1);
	ck_assert_int_eq(errno, EINVAL);
	xenevtchn_close(c);
}
END_TEST

START_TEST(evtchn__unbind_leaves_peer_unbound_and_drops_its_notifications)
{
	ck_assert_uint_eq(xt_counters(&m, 0).evtchn_live_ports, 1);
	ck_assert_int_eq(xenevtchn_unbind(a, pa), 0);
	ck_assert_uint_eq(xt_counters(&m, 0).evtchn_live_ports, 0);
	ck_assert_int_eq(xenevtchn_notify(b, pb), 0); /* silently dropped, as Xen does */
	ck_assert(!readable(a, 50));
	/* The peer went back to unbound, bindable again by our domain. */
	ck_assert_int_gt(xenevtchn_bind_interdomain(a, 0, pb), 0);
}
END_TEST

START_TEST(evtchn__closing_a_handle_closes_its_ports)
{
	xenevtchn_close(a);
	a = NULL;
	ck_assert_uint_eq(xt_counters(&m, 0).evtchn_live_ports, 0);
	ck_assert_int_eq(xenevtchn_notify(b, pb), 0);
}
END_TEST

START_TEST(evtchn__unmodelled_calls_fail_with_enosys)
{
	errno = 0;
	ck_assert_int_eq(xenevtchn_bind_virq(a, 0), -1);
	ck_assert_int_eq(errno, ENOSYS);
	errno = 0;
	ck_assert_ptr_null(xenevtchn_fdopen(NULL, 0, 0));
	ck_assert_int_eq(errno, ENOSYS);
}
END_TEST

/* ---- interrupts ---- */

START_TEST(irq__every_raise_of_an_spi_counts_as_an_edge)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	uint64_t n;

	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 33, 1), 0);
	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 33, 1), 0);
	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 33, 0), 0);
	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 33, 1), 0);
	ck_assert_int_eq(xensim_irq_count(m.g, 33, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(xensim_irq_wait(m.g, 33, 0), 3);
	ck_assert_int_eq(xensim_irq_wait(m.g, 33, 0), 0);
	ck_assert_int_eq(xensim_irq_wait(m.g, 34, 0), 0);
	ck_assert_uint_eq(xt_counters(&m, m.domid).irq_raises, 3);
	ck_assert_uint_eq(xt_counters(&m, m.domid).dm_calls, 4);
	xendevicemodel_close(dm);
}
END_TEST

START_TEST(irq__invalid_spi_or_level_is_einval)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);

	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 31, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 1020, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_irq_level(dm, m.domid, 40, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(xendevicemodel_set_isa_irq_level(dm, m.domid, 16, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(xt_counters(&m, m.domid).irq_raises, 0);
	xendevicemodel_close(dm);
}
END_TEST

static void *raise_later(void *arg)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);

	usleep(50000);
	xendevicemodel_set_irq_level(dm, m.domid, 40, 1);
	xendevicemodel_close(dm);
	return arg;
}

START_TEST(irq__wait_wakes_when_a_backend_raises)
{
	pthread_t t;
	uint64_t one;

	ck_assert_int_eq(xensim_irq_wait(m.g, 40, 10), 0); /* times out */
	ck_assert_int_eq(pthread_create(&t, NULL, raise_later, NULL), 0);
	ck_assert_int_eq(xensim_irq_wait(m.g, 40, 5000), 1);
	pthread_join(t, NULL);
	/* The guest's irq fd is an eventfd that became readable. */
	ck_assert_int_eq(read(xensim_guest_irq_fd(m.g), &one, sizeof(one)), sizeof(one));
	ck_assert_uint_ge(one, 1);
}
END_TEST

START_TEST(irq__isa_irqs_and_msis_are_counted)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	uint64_t n;

	ck_assert_int_eq(xendevicemodel_set_isa_irq_level(dm, m.domid, 5, 1), 0);
	ck_assert_int_eq(xendevicemodel_set_isa_irq_level(dm, m.domid, 5, 0), 0);
	ck_assert_int_eq(xendevicemodel_inject_msi(dm, m.domid, 0xfee00000, 0x41), 0);
	ck_assert_int_eq(xensim_isa_irq_count(m.g, 5, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(xensim_msi_count(m.g, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(xt_counters(&m, m.domid).irq_raises, 2);
	xendevicemodel_close(dm);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xensim_evtchn");
	TCase *tc = tcase_create("evtchn");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, evtchn__notify_reaches_the_bound_peer);
	tcase_add_test(tc, evtchn__delivered_port_stays_masked_and_coalesces_until_unmask);
	tcase_add_test(tc, evtchn__pending_on_nonblocking_fd_is_eagain);
	tcase_add_test(tc, evtchn__ports_of_another_handle_are_enotconn);
	tcase_add_test(tc, evtchn__bind_interdomain_checks_the_remote_port);
	tcase_add_test(tc, evtchn__unbind_leaves_peer_unbound_and_drops_its_notifications);
	tcase_add_test(tc, evtchn__closing_a_handle_closes_its_ports);
	tcase_add_test(tc, evtchn__unmodelled_calls_fail_with_enosys);
	tcase_add_test(tc, irq__every_raise_of_an_spi_counts_as_an_edge);
	tcase_add_test(tc, irq__invalid_spi_or_level_is_einval);
	tcase_add_test(tc, irq__wait_wakes_when_a_backend_raises);
	tcase_add_test(tc, irq__isa_irqs_and_msis_are_counted);
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
