/* SPDX-License-Identifier: MIT */
/*
 * Sim tests of L4 ioreq against xensim: server set-up and teardown leave nothing behind (also
 * with a fault at every set-up step), routing by address, access sizes, INVALIDATE and hostile
 * requests answered without callbacks (virtio.md row 28), stale wake-ups ignored (row 29),
 * interrupts (SPI, ISA, MSI; from several threads), guest death with a request in flight
 * (row 30), and the liveness check that finds a dead guest without xenstore.
 *
 * Each test runs in its own process (Check's fork mode) with a fresh machine: one guest with
 * two vCPUs, attached as this process's "kernel"; the backend loop runs in a thread, the test
 * plays the guest with xensim_mmio_read/write, which block until the backend answers.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xen/hvm/ioreq.h>

#include <virtio-xen/ioreq.h>
#include <xensim.h>

#define BASE_A 0x2000000ull
#define BASE_B 0x2000200ull
#define WIN    0x200ull

/* ---- fixture -------------------------------------------------------------------------- */

static xensim_server *machine;
static xensim *xsim;
static xensim_guest *guest;
static uint32_t domid;

static void world_up(void)
{
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;

	ck_assert_int_eq(xensim_server_start(&machine, NULL), 0);
	ck_assert_int_eq(xensim_open(&xsim, NULL), 0);
	cfg.vcpus = 2;
	ck_assert_int_eq(xensim_domain_create(xsim, &cfg, &domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&guest, xsim, domid), 0);
	xensim_guest_set_timeout(guest, 3000);
}

static void world_down(void)
{
	xensim_guest_detach(guest);
	xensim_close(xsim);
	xensim_server_stop(machine);
}

static struct xensim_counters counters(uint32_t id)
{
	struct xensim_counters c;

	ck_assert_int_eq(xensim_counters_get(xsim, id, &c), 0);
	return c;
}

/* Nothing of an ioreq server is left anywhere in the machine. */
static void assert_nothing_left(void)
{
	struct xensim_counters c = counters(XENSIM_DOMID_ALL);

	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	ck_assert_uint_eq(c.evtchn_live_ports, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
}

/* ---- a register window that records what reaches it ---------------------------------- */

struct tdev {
	uint64_t tag; /* reads return tag << 32 | offset unless read_value is set */
	uint64_t read_value;
	int read_rc;
	_Atomic int reads, writes;
	uint64_t last_off, last_val;
	unsigned int last_size;
	vxen_ioreq_range *range;
	bool remove_self_on_write;
};

static int tdev_read(uint64_t off, unsigned int size, uint64_t *val, void *payload)
{
	struct tdev *t = payload;

	t->reads++;
	t->last_off = off;
	t->last_size = size;
	if (t->read_rc)
		return t->read_rc;
	*val = t->read_value ? t->read_value : t->tag << 32 | off;
	return 0;
}

static int tdev_write(uint64_t off, unsigned int size, uint64_t val, void *payload)
{
	struct tdev *t = payload;

	t->writes++;
	t->last_off = off;
	t->last_size = size;
	t->last_val = val;
	if (t->remove_self_on_write) {
		vxen_ioreq_remove(t->range);
		t->range = NULL;
	}
	return 0;
}

static const struct vxen_ioreq_range_ops tdev_ops = {
	.version = VXEN_IOREQ_RANGE_OPS_VERSION,
	.read = tdev_read,
	.write = tdev_write,
};

static vxen_ioreq_server *server_new(void)
{
	vxen_ioreq_server *srv = NULL;

	ck_assert_int_eq(vxen_ioreq_server_new(&srv, domid, NULL), 0);
	return srv;
}

static void add(vxen_ioreq_server *srv, struct tdev *t, uint64_t base)
{
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, base, WIN, &tdev_ops, t, &t->range), 0);
}

/* ---- the backend loop thread ---------------------------------------------------------- */

struct loop {
	vxen_ioreq_server *srv;
	int stopfd;
	pthread_t th;
	_Atomic int error; /* first negative process() result */
};

static void *loop_main(void *arg)
{
	struct loop *l = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = vxen_ioreq_fd(l->srv), .events = POLLIN },
				       { .fd = l->stopfd, .events = POLLIN } };

		if (poll(p, 2, 100) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		if (p[0].revents & POLLIN) {
			int r = vxen_ioreq_process(l->srv);

			if (r < 0 && !l->error)
				l->error = r;
			if (r < 0)
				usleep(1000);
		}
	}
}

static void loop_start(struct loop *l, vxen_ioreq_server *srv)
{
	l->srv = srv;
	l->error = 0;
	l->stopfd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(l->stopfd, 0);
	ck_assert_int_eq(pthread_create(&l->th, NULL, loop_main, l), 0);
}

static void loop_stop(struct loop *l)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(l->stopfd, &one, sizeof(one)), sizeof(one));
	pthread_join(l->th, NULL);
	close(l->stopfd);
}

/* ---- a guest vCPU blocked in one access, in a thread ---------------------------------- */

struct access {
	unsigned int vcpu;
	struct xensim_ioreq req;
	bool raw;
	pthread_t th;
	int rc;
	uint64_t val;
};

static void *access_main(void *arg)
{
	struct access *a = arg;

	if (a->raw)
		a->rc = xensim_ioreq_raw(guest, a->vcpu, &a->req, &a->val);
	else
		a->rc = xensim_mmio_read(guest, a->vcpu, a->req.addr, a->req.size, &a->val);
	return NULL;
}

static void access_start(struct access *a)
{
	ck_assert_int_eq(pthread_create(&a->th, NULL, access_main, a), 0);
}

static void access_join(struct access *a)
{
	pthread_join(a->th, NULL);
}

/* Wait until the server's event-channel fd is readable (a request has been signalled). */
static void wait_pending(vxen_ioreq_server *srv)
{
	struct pollfd p = { .fd = vxen_ioreq_fd(srv), .events = POLLIN };

	ck_assert_int_eq(poll(&p, 1, 3000), 1);
}

/* ---- life cycle ----------------------------------------------------------------------- */

START_TEST(ioreq__setup_and_teardown_leave_nothing_behind)
{
	vxen_ioreq_server *srv;
	struct xensim_counters c;
	struct tdev a = { .tag = 0xa };

	world_up();
	srv = server_new();
	ck_assert_uint_eq(vxen_ioreq_server_domid(srv), domid);
	ck_assert_uint_eq(vxen_ioreq_server_nr_vcpus(srv), 2);
	ck_assert_int_ge(vxen_ioreq_fd(srv), 0);
	add(srv, &a, BASE_A);
	c = counters(domid);
	ck_assert_uint_eq(c.ioreq_servers_live, 1);
	ck_assert_uint_eq(c.evtchn_live_ports, 2);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 1);
	vxen_ioreq_server_free(srv); /* with a range still added */
	vxen_ioreq_server_free(NULL);
	assert_nothing_left();
	/* And a new server for the same guest can be made again. */
	srv = server_new();
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

/* Each set-up step failing: (operation, nth call, errno). */
static const struct {
	enum xensim_op op;
	unsigned int nth;
	int err;
} setup_faults[] = {
	{ XENSIM_OP_DM_NR_VCPUS, 1, EIO },
	{ XENSIM_OP_DM_CREATE_IOREQ_SERVER, 1, ENOSYS }, /* Xen/Arm without IOREQ_SERVER */
	{ XENSIM_OP_DM_CREATE_IOREQ_SERVER, 1, ENOSPC },
	{ XENSIM_OP_FMEM_MAP_RESOURCE, 1, ENOMEM },
	{ XENSIM_OP_DM_SET_IOREQ_SERVER_STATE, 1, EIO },
	{ XENSIM_OP_EVTCHN_BIND_INTERDOMAIN, 1, ENOSPC },
	{ XENSIM_OP_EVTCHN_BIND_INTERDOMAIN, 2, ENOSPC }, /* second vCPU */
};

START_TEST(ioreq__setup_fault_at_each_step_unwinds_everything)
{
	vxen_ioreq_server *srv = (vxen_ioreq_server *)&machine; /* must stay untouched */

	world_up();
	ck_assert_int_eq(xensim_fault_inject(xsim, setup_faults[_i].op, setup_faults[_i].nth,
					     setup_faults[_i].err),
			 0);
	ck_assert_int_eq(vxen_ioreq_server_new(&srv, domid, NULL), -setup_faults[_i].err);
	ck_assert_ptr_eq(srv, (vxen_ioreq_server *)&machine);
	assert_nothing_left();
	srv = server_new();
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

START_TEST(ioreq__range_map_fault_returns_errno_and_nothing_is_routed)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	vxen_ioreq_range *r = (vxen_ioreq_range *)&a;
	uint64_t v;

	world_up();
	srv = server_new();
	ck_assert_int_eq(xensim_fault_inject(xsim, XENSIM_OP_DM_MAP_IO_RANGE, 1, EIO), 0);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A, WIN, &tdev_ops, &a, &r), -EIO);
	ck_assert_ptr_eq(r, (vxen_ioreq_range *)&a);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A, 4, &v), -EFAULT);
	/* The failed range left no trace locally either: the same window can be added. */
	add(srv, &a, BASE_A);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

START_TEST(ioreq__bad_arguments_are_refused)
{
	struct vxen_ioreq_server_config cfg = VXEN_IOREQ_SERVER_CONFIG_INIT;
	struct vxen_ioreq_range_ops noversion = { .read = tdev_read };
	vxen_ioreq_server *srv = NULL;
	struct tdev a = { 0 };

	world_up();
	cfg.flags = 1;
	ck_assert_int_eq(vxen_ioreq_server_new(&srv, domid, &cfg), -EINVAL);
	cfg = (struct vxen_ioreq_server_config){ 0 };
	ck_assert_int_eq(vxen_ioreq_server_new(&srv, domid, &cfg), -EINVAL);
	ck_assert_int_eq(vxen_ioreq_server_new(&srv, 0x7ff0, NULL), -EINVAL);
	ck_assert_int_eq(vxen_ioreq_server_new(&srv, domid + 100, NULL), -ESRCH);
	ck_assert_ptr_null(srv);
	assert_nothing_left();
	srv = server_new();
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A, 0, &tdev_ops, &a, NULL), -EINVAL);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, UINT64_MAX - 0xff, WIN, &tdev_ops, &a, NULL),
			 -EINVAL);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A, WIN, NULL, &a, NULL), -EINVAL);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A, WIN, &noversion, &a, NULL), -EINVAL);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__overlapping_ranges_are_refused_adjacent_ones_accepted)
{
	vxen_ioreq_server *srv;
	struct tdev a = { 0 }, b = { 0 };

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A, WIN, &tdev_ops, &b, NULL), -EEXIST);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A + 0x100, WIN, &tdev_ops, &b, NULL),
			 -EEXIST);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A - 0x100, WIN, &tdev_ops, &b, NULL),
			 -EEXIST);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A + WIN - 1, 1, &tdev_ops, &b, NULL),
			 -EEXIST);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A - 8, 0x1000, &tdev_ops, &b, NULL),
			 -EEXIST);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A + WIN, WIN, &tdev_ops, &b, NULL), 0);
	ck_assert_int_eq(vxen_ioreq_add_mmio(srv, BASE_A - WIN, WIN, &tdev_ops, &b, NULL), 0);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

/* ---- routing -------------------------------------------------------------------------- */

START_TEST(ioreq__accesses_are_routed_to_the_range_covering_the_address)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa }, b = { .tag = 0xb };
	struct loop l;
	uint64_t v = 0;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	add(srv, &b, BASE_B);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A + 0x10, 4, &v), 0);
	ck_assert_uint_eq(v, 0xa00000010ull & 0xffffffff);
	ck_assert_int_eq(xensim_mmio_read(guest, 1, BASE_B + 0x1f8, 8, &v), 0);
	ck_assert_uint_eq(v, 0xb000001f8ull);
	ck_assert_int_eq(xensim_mmio_write(guest, 1, BASE_B + 0x70, 4, 0x1234), 0);
	ck_assert_int_eq(b.writes, 1);
	ck_assert_uint_eq(b.last_off, 0x70);
	ck_assert_uint_eq(b.last_val, 0x1234);
	ck_assert_int_eq(xensim_mmio_write(guest, 0, BASE_A, 1, 0x5a), 0);
	ck_assert_int_eq(a.writes, 1);
	ck_assert_uint_eq(a.last_off, 0);
	ck_assert_int_eq(a.reads, 1);
	ck_assert_int_eq(b.reads, 1);
	/* Outside every range: Xen refuses it before it reaches us. */
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_B + WIN, 4, &v), -EFAULT);
	loop_stop(&l);
	ck_assert_int_eq(l.error, 0);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__reads_of_1_2_4_8_bytes_return_the_low_bytes)
{
	static const uint64_t want[] = { 0x88, 0x7788, 0, 0x55667788, 0, 0, 0, 0x1122334455667788 };
	vxen_ioreq_server *srv;
	struct tdev a = { .read_value = 0x1122334455667788ull };
	struct loop l;
	unsigned int size = 1u << _i;
	uint64_t v = 0;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A + 0x40, size, &v), 0);
	ck_assert_uint_eq(v, want[size - 1]);
	ck_assert_uint_eq(a.last_size, size);
	ck_assert_uint_eq(a.last_off, 0x40);
	loop_stop(&l);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__writes_of_1_2_4_8_bytes_pass_the_low_bytes)
{
	static const uint64_t want[] = { 0xa8, 0xa7a8, 0, 0xa5a6a7a8, 0, 0, 0, 0xa1a2a3a4a5a6a7a8 };
	vxen_ioreq_server *srv;
	struct tdev a = { 0 };
	struct loop l;
	unsigned int size = 1u << _i;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_write(guest, 1, BASE_A + 0x100, size, 0xa1a2a3a4a5a6a7a8ull),
			 0);
	ck_assert_int_eq(a.writes, 1);
	ck_assert_uint_eq(a.last_val, want[size - 1]);
	ck_assert_uint_eq(a.last_size, size);
	/* Even if the slot carries junk above the access size, only the low bytes pass. */
	{
		struct xensim_ioreq req = { .addr = BASE_A + 0x108,
					    .data = 0xa1a2a3a4a5a6a7a8ull,
					    .count = 1,
					    .size = size,
					    .dir = IOREQ_WRITE,
					    .type = IOREQ_TYPE_COPY };
		uint64_t v;

		ck_assert_int_eq(xensim_ioreq_raw(guest, 0, &req, &v), 0);
		ck_assert_int_eq(a.writes, 2);
		ck_assert_uint_eq(a.last_val, want[size - 1]);
	}
	loop_stop(&l);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__both_vcpus_are_served_concurrently)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa }, b = { .tag = 0xb };
	struct loop l;
	struct access acc[2];

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	add(srv, &b, BASE_B);
	loop_start(&l, srv);
	for (int round = 0; round < 100; round++) {
		for (unsigned int i = 0; i < 2; i++) {
			acc[i] = (struct access){ .vcpu = i };
			acc[i].req.addr = (i ? BASE_B : BASE_A) + 4u * (unsigned int)(round % 64);
			acc[i].req.size = 4;
			access_start(&acc[i]);
		}
		for (unsigned int i = 0; i < 2; i++) {
			access_join(&acc[i]);
			ck_assert_int_eq(acc[i].rc, 0);
			ck_assert_uint_eq(acc[i].val, (acc[i].req.addr - (i ? BASE_B : BASE_A)));
		}
	}
	ck_assert_int_eq(a.reads, 100);
	ck_assert_int_eq(b.reads, 100);
	loop_stop(&l);
	ck_assert_int_eq(l.error, 0);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__removed_range_is_no_longer_routed)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa }, b = { .tag = 0xb };
	struct loop l;
	uint64_t v;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	add(srv, &b, BASE_B);
	vxen_ioreq_remove(a.range);
	vxen_ioreq_remove(NULL);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A, 4, &v), -EFAULT);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_B, 4, &v), 0);
	ck_assert_int_eq(a.reads, 0);
	loop_stop(&l);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__a_callback_may_remove_its_own_range)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa, .remove_self_on_write = true };
	struct loop l;
	uint64_t v;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_write(guest, 0, BASE_A + 0x70, 4, 0), 0);
	ck_assert_ptr_null(a.range);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A, 4, &v), -EFAULT);
	loop_stop(&l);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

START_TEST(ioreq__a_failing_read_callback_reads_all_ones)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .read_rc = -EIO };
	struct vxen_ioreq_stats st;
	struct loop l;
	uint64_t v = 0;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A, 2, &v), 0);
	ck_assert_uint_eq(v, 0xffff);
	loop_stop(&l);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.callback_errors, 1);
	ck_assert_uint_eq(st.mmio_reads, 1);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__access_to_a_range_removed_while_in_flight_reads_all_ones)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	struct vxen_ioreq_stats st;
	struct access acc = { .vcpu = 0 };

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	acc.req.addr = BASE_A + 8;
	acc.req.size = 4;
	access_start(&acc);
	wait_pending(srv);
	vxen_ioreq_remove(a.range); /* the device goes away with the request posted */
	ck_assert_int_eq(vxen_ioreq_process(srv), 1);
	access_join(&acc);
	ck_assert_int_eq(acc.rc, 0);
	ck_assert_uint_eq(acc.val, 0xffffffff);
	ck_assert_int_eq(a.reads, 0);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.unclaimed, 1);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

/* ---- what is not a plain MMIO access (rows 28, 29) ------------------------------------ */

START_TEST(ioreq__invalidate_is_acknowledged_without_any_callback)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	struct vxen_ioreq_stats st;
	struct xensim_ioreq req = { .type = IOREQ_TYPE_INVALIDATE, .size = 4, .count = 1 };
	struct loop l;
	uint64_t v = 0;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_ioreq_raw(guest, 0, &req, &v), 0);
	ck_assert_int_eq(xensim_mmio_read(guest, 1, BASE_A + 4, 4, &v), 0); /* still working */
	ck_assert_uint_eq(v, 4);
	loop_stop(&l);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.invalidates, 1);
	ck_assert_uint_eq(st.requests, 2);
	ck_assert_int_eq(a.reads, 1);
	ck_assert_int_eq(a.writes, 0);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

/* Hostile requests inside a claimed window: (type, dir, data_is_ptr, count, size, answer). */
static const struct {
	uint8_t type, dir, ptr;
	uint32_t count, size;
	uint64_t answer; /* for reads */
	int rejected, other;
} hostile[] = {
	{ IOREQ_TYPE_COPY, IOREQ_READ, 1, 1, 4, 0xffffffffull, 1, 0 },
	{ IOREQ_TYPE_COPY, IOREQ_WRITE, 1, 1, 4, 0, 1, 0 },
	{ IOREQ_TYPE_COPY, IOREQ_READ, 0, 2, 4, 0xffffffffull, 1, 0 },
	{ IOREQ_TYPE_COPY, IOREQ_WRITE, 0, 16, 2, 0, 1, 0 },
	{ IOREQ_TYPE_COPY, IOREQ_READ, 0, 1, 3, 0xffffffull, 1, 0 },
	{ IOREQ_TYPE_COPY, IOREQ_READ, 0, 1, 16, ~0ull, 1, 0 },
	{ IOREQ_TYPE_COPY, IOREQ_WRITE, 0, 1, 5, 0, 1, 0 },
	{ IOREQ_TYPE_PCI_CONFIG, IOREQ_READ, 0, 1, 4, 0xffffffffull, 0, 1 },
	{ IOREQ_TYPE_TIMEOFFSET, IOREQ_WRITE, 0, 1, 8, 0, 0, 1 },
	{ 0x42, IOREQ_READ, 0, 1, 2, 0xffffull, 0, 1 },
	{ 0xff, IOREQ_WRITE, 0, 1, 4, 0, 0, 1 },
};

START_TEST(ioreq__hostile_requests_are_answered_without_callbacks)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	struct vxen_ioreq_stats st;
	struct xensim_ioreq req = { .addr = BASE_A + 0x20, .data = 0x1111222233334444ull };
	struct loop l;
	uint64_t v = 0;

	req.type = hostile[_i].type;
	req.dir = hostile[_i].dir;
	req.data_is_ptr = hostile[_i].ptr;
	req.count = hostile[_i].count;
	req.size = hostile[_i].size;
	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_ioreq_raw(guest, 0, &req, &v), 0);
	if (req.dir == IOREQ_READ)
		ck_assert_uint_eq(v, hostile[_i].answer);
	/* The device still serves ordinary accesses afterwards. */
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A + 0x30, 4, &v), 0);
	ck_assert_uint_eq(v, 0x30);
	loop_stop(&l);
	ck_assert_int_eq(l.error, 0);
	ck_assert_int_eq(a.writes, 0);
	ck_assert_int_eq(a.reads, 1);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.rejected, (uint64_t)hostile[_i].rejected);
	ck_assert_uint_eq(st.other_types, (uint64_t)hostile[_i].other);
	ck_assert_uint_eq(st.requests, 2);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__stale_wakeup_with_slot_not_ready_is_ignored)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	struct vxen_ioreq_stats st;
	uint64_t v;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	/* Nobody answers: the guest's access times out and Xen resets the slot, leaving the
	 * event pending with a slot that is no longer READY. */
	xensim_guest_set_timeout(guest, 50);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A, 4, &v), -ETIMEDOUT);
	wait_pending(srv);
	ck_assert_int_eq(vxen_ioreq_process(srv), 0);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.spurious, 1);
	ck_assert_uint_eq(st.requests, 0);
	ck_assert_int_eq(a.reads, 0);
	/* Nothing pending now: process returns at once. */
	ck_assert_int_eq(vxen_ioreq_process(srv), 0);
	/* The channel was unmasked: the next request is seen. */
	{
		struct access acc = { .vcpu = 0 };

		xensim_guest_set_timeout(guest, 3000);
		acc.req.addr = BASE_A + 0xc;
		acc.req.size = 4;
		access_start(&acc);
		wait_pending(srv);
		ck_assert_int_eq(vxen_ioreq_process(srv), 1);
		access_join(&acc);
		ck_assert_int_eq(acc.rc, 0);
		ck_assert_uint_eq(acc.val, 0xc);
	}
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__process_with_nothing_pending_returns_0_at_once)
{
	vxen_ioreq_server *srv;

	world_up();
	srv = server_new();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vxen_ioreq_process(srv), 0);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

/* ---- interrupts ----------------------------------------------------------------------- */

START_TEST(ioreq__spi_raise_is_seen_by_the_guest)
{
	vxen_ioreq_server *srv;
	const struct vxen_irq irq = { .kind = VXEN_IRQ_SPI, .line = 33 };
	struct vxen_ioreq_stats st;
	uint64_t n = 0;

	world_up();
	srv = server_new();
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), 0);
	ck_assert_int_eq(xensim_irq_wait(guest, 33, 2000), 1);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), 0);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), 0);
	ck_assert_int_eq(xensim_irq_count(guest, 33, &n), 0);
	ck_assert_uint_eq(n, 3); /* edge-rising: every raise injects, no lowering needed */
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.irqs, 3);
	ck_assert_uint_eq(st.irq_errors, 0);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__isa_and_msi_raises_reach_the_guest)
{
	vxen_ioreq_server *srv;
	const struct vxen_irq isa = { .kind = VXEN_IRQ_ISA, .line = 5 };
	const struct vxen_irq msi = { .kind = VXEN_IRQ_MSI,
				      .msi_addr = 0xfee00000,
				      .msi_data = 0x41 };
	const struct vxen_irq none = { .kind = VXEN_IRQ_NONE };
	const struct vxen_irq bad_isa = { .kind = VXEN_IRQ_ISA, .line = 16 };
	const struct vxen_irq bad_kind = { .kind = (enum vxen_irq_kind)7 };
	uint64_t n = 0;

	world_up();
	srv = server_new();
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &isa), 0);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &isa), 0);
	ck_assert_int_eq(xensim_isa_irq_count(guest, 5, &n), 0);
	ck_assert_uint_eq(n, 2); /* a pulse each time: the line was lowered in between */
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &msi), 0);
	ck_assert_int_eq(xensim_msi_count(guest, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &none), 0);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &bad_isa), -EINVAL);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &bad_kind), -EINVAL);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

struct raiser {
	vxen_ioreq_server *srv;
	int n, fails;
	pthread_t th;
};

static void *raiser_main(void *arg)
{
	struct raiser *r = arg;
	const struct vxen_irq irq = { .kind = VXEN_IRQ_SPI, .line = 40 };

	for (int i = 0; i < r->n; i++)
		if (vxen_ioreq_irq_raise(r->srv, &irq))
			r->fails++;
	return NULL;
}

START_TEST(ioreq__irq_raise_is_thread_safe_alongside_processing)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	struct raiser r[4];
	struct loop l;
	uint64_t n = 0, v;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	loop_start(&l, srv);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct raiser){ .srv = srv, .n = 250 };
		ck_assert_int_eq(pthread_create(&r[i].th, NULL, raiser_main, &r[i]), 0);
	}
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(xensim_mmio_read(guest, (unsigned int)i & 1, BASE_A, 4, &v), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(r[i].th, NULL);
		ck_assert_int_eq(r[i].fails, 0);
	}
	loop_stop(&l);
	ck_assert_int_eq(xensim_irq_count(guest, 40, &n), 0);
	ck_assert_uint_eq(n, 1000);
	ck_assert_int_eq(a.reads, 200);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

START_TEST(ioreq__irq_fault_is_reported_and_counted)
{
	vxen_ioreq_server *srv;
	const struct vxen_irq irq = { .kind = VXEN_IRQ_SPI, .line = 33 };
	struct vxen_ioreq_stats st;

	world_up();
	srv = server_new();
	ck_assert_int_eq(xensim_fault_inject(xsim, XENSIM_OP_DM_SET_IRQ_LEVEL, 1, EINVAL), 0);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), -EINVAL);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), 0);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.irq_errors, 1);
	ck_assert_uint_eq(st.irqs, 1);
	vxen_ioreq_server_free(srv);
	world_down();
}
END_TEST

/* ---- guest death (row 30) ------------------------------------------------------------- */

START_TEST(ioreq__guest_destroyed_with_a_request_in_flight)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	const struct vxen_irq irq = { .kind = VXEN_IRQ_SPI, .line = 33 };
	struct access acc = { .vcpu = 1 };

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	acc.req.addr = BASE_A + 0x10;
	acc.req.size = 4;
	access_start(&acc);
	wait_pending(srv);
	ck_assert_int_eq(xensim_domain_destroy(xsim, domid), 0);
	access_join(&acc);
	ck_assert_int_eq(acc.rc, -ESRCH);
	/* The stale request is still answered into our own mapping, without harm. */
	ck_assert_int_eq(vxen_ioreq_process(srv), 1);
	ck_assert_int_eq(a.reads, 1);
	/* Interrupt injection learns that the guest is gone; processing stops from then on. */
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), -ESRCH);
	ck_assert_int_eq(vxen_ioreq_process(srv), -ESRCH);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

START_TEST(ioreq__free_after_guest_death_releases_everything)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa }, b = { .tag = 0xb };
	struct loop l;
	uint64_t v;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	add(srv, &b, BASE_B);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A, 4, &v), 0);
	ck_assert_int_eq(xensim_xl_destroy(xsim, domid), 0);
	loop_stop(&l);
	vxen_ioreq_remove(b.range); /* unmapping from a dead guest fails quietly */
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

/* ---- liveness check ------------------------------------------------------------------- */

START_TEST(ioreq__check_of_a_live_guest_costs_one_dm_call_and_maps_nothing)
{
	vxen_ioreq_server *srv;
	struct xensim_counters before, after;

	world_up();
	srv = server_new();
	before = counters(domid);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), 0);
	after = counters(domid);
	ck_assert_uint_eq(after.dm_calls, before.dm_calls + 1);
	ck_assert_uint_eq(after.fmem_resource_maps_live, before.fmem_resource_maps_live);
	ck_assert_uint_eq(after.fmem_live_pages, before.fmem_live_pages);
	ck_assert_int_eq(vxen_ioreq_server_check(NULL), -EINVAL);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

START_TEST(ioreq__check_finds_an_idle_guest_destroyed)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), 0);
	/* Nothing pending, nothing to inject: only the check can tell. */
	ck_assert_int_eq(xensim_domain_destroy(xsim, domid), 0);
	ck_assert_int_eq(vxen_ioreq_process(srv), 0);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), -ESRCH);
	ck_assert_int_eq(vxen_ioreq_process(srv), -ESRCH);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), -ESRCH);
	ck_assert_int_eq(a.reads + a.writes, 0);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

/*
 * Real Xen destroys a killed guest's ioreq servers at once but keeps the domain findable while
 * mappings pin it (a zombie): the check then gets ENOENT. xensim reaps at once (ESRCH), so the
 * zombie's answer is injected.
 */
START_TEST(ioreq__check_treats_enoent_as_gone_and_stops_injecting)
{
	vxen_ioreq_server *srv;
	const struct vxen_irq irq = { .kind = VXEN_IRQ_SPI, .line = 33 };
	struct xensim_counters before, after;
	struct vxen_ioreq_stats st;

	world_up();
	srv = server_new();
	ck_assert_int_eq(xensim_fault_inject(xsim, XENSIM_OP_DM_GET_IOREQ_SERVER_INFO, 1, ENOENT),
			 0);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), -ESRCH);
	ck_assert_int_eq(vxen_ioreq_process(srv), -ESRCH);
	/* Dead is final: no further DM call, no interrupt reaches the (still existing) domain. */
	before = counters(domid);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), -ESRCH);
	ck_assert_int_eq(vxen_ioreq_irq_raise(srv, &irq), -ESRCH);
	after = counters(domid);
	ck_assert_uint_eq(after.dm_calls, before.dm_calls);
	ck_assert_uint_eq(after.irq_raises, before.irq_raises);
	vxen_ioreq_server_stats(srv, &st);
	ck_assert_uint_eq(st.irq_errors, 1);
	ck_assert_uint_eq(st.irqs, 0);
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

START_TEST(ioreq__check_failing_otherwise_leaves_the_server_alive)
{
	vxen_ioreq_server *srv;
	struct tdev a = { .tag = 0xa };
	struct loop l;
	uint64_t v;

	world_up();
	srv = server_new();
	add(srv, &a, BASE_A);
	ck_assert_int_eq(xensim_fault_inject(xsim, XENSIM_OP_DM_GET_IOREQ_SERVER_INFO, 1, EIO), 0);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), -EIO);
	ck_assert_int_eq(vxen_ioreq_server_check(srv), 0);
	loop_start(&l, srv);
	ck_assert_int_eq(xensim_mmio_read(guest, 0, BASE_A + 8, 4, &v), 0);
	loop_stop(&l);
	ck_assert_int_eq(l.error, 0);
	ck_assert_uint_eq(v, 8); /* the low 4 bytes of tag << 32 | offset */
	vxen_ioreq_server_free(srv);
	assert_nothing_left();
	world_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ioreq");
	TCase *tl = tcase_create("lifecycle");
	TCase *tr = tcase_create("routing");
	TCase *th = tcase_create("hostile");
	TCase *ti = tcase_create("irq");
	TCase *td = tcase_create("death");
	TCase *tc = tcase_create("check");
	SRunner *sr;
	int failed;

	tcase_add_test(tl, ioreq__setup_and_teardown_leave_nothing_behind);
	tcase_add_loop_test(tl, ioreq__setup_fault_at_each_step_unwinds_everything, 0,
			    sizeof(setup_faults) / sizeof(setup_faults[0]));
	tcase_add_test(tl, ioreq__range_map_fault_returns_errno_and_nothing_is_routed);
	tcase_add_test(tl, ioreq__bad_arguments_are_refused);
	tcase_add_test(tl, ioreq__overlapping_ranges_are_refused_adjacent_ones_accepted);
	suite_add_tcase(s, tl);
	tcase_add_test(tr, ioreq__accesses_are_routed_to_the_range_covering_the_address);
	tcase_add_loop_test(tr, ioreq__reads_of_1_2_4_8_bytes_return_the_low_bytes, 0, 4);
	tcase_add_loop_test(tr, ioreq__writes_of_1_2_4_8_bytes_pass_the_low_bytes, 0, 4);
	tcase_add_test(tr, ioreq__both_vcpus_are_served_concurrently);
	tcase_add_test(tr, ioreq__removed_range_is_no_longer_routed);
	tcase_add_test(tr, ioreq__a_callback_may_remove_its_own_range);
	tcase_add_test(tr, ioreq__a_failing_read_callback_reads_all_ones);
	tcase_add_test(tr, ioreq__access_to_a_range_removed_while_in_flight_reads_all_ones);
	suite_add_tcase(s, tr);
	tcase_add_test(th, ioreq__invalidate_is_acknowledged_without_any_callback);
	tcase_add_loop_test(th, ioreq__hostile_requests_are_answered_without_callbacks, 0,
			    sizeof(hostile) / sizeof(hostile[0]));
	tcase_add_test(th, ioreq__stale_wakeup_with_slot_not_ready_is_ignored);
	tcase_add_test(th, ioreq__process_with_nothing_pending_returns_0_at_once);
	suite_add_tcase(s, th);
	tcase_add_test(ti, ioreq__spi_raise_is_seen_by_the_guest);
	tcase_add_test(ti, ioreq__isa_and_msi_raises_reach_the_guest);
	tcase_add_test(ti, ioreq__irq_raise_is_thread_safe_alongside_processing);
	tcase_add_test(ti, ioreq__irq_fault_is_reported_and_counted);
	suite_add_tcase(s, ti);
	tcase_add_test(td, ioreq__guest_destroyed_with_a_request_in_flight);
	tcase_add_test(td, ioreq__free_after_guest_death_releases_everything);
	suite_add_tcase(s, td);
	tcase_add_test(tc, ioreq__check_of_a_live_guest_costs_one_dm_call_and_maps_nothing);
	tcase_add_test(tc, ioreq__check_finds_an_idle_guest_destroyed);
	tcase_add_test(tc, ioreq__check_treats_enoent_as_gone_and_stops_injecting);
	tcase_add_test(tc, ioreq__check_failing_otherwise_leaves_the_server_alive);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
