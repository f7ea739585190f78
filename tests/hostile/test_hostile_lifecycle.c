/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_lifecycle.c — hostile-guest catalogue row 30: a guest destroyed while its
 * requests are in flight, its backend xenstore directory removed, its domid reused after a
 * reboot. The backend is what the blk daemon runs: a vxen_backend discovering disks in
 * xenstore (written by xensim's toolstack exactly as libxl does) and creating REAL virtio-blk
 * devices of examples/blk for them, on a loop thread. Two guests: the victim and a bystander.
 *
 * Each case asserts that everything of the victim is torn down (xensim's live counters for its
 * domid: grant mappings, event channel ports, ioreq servers, foreign mappings), that the
 * bystander keeps being served, and at the end that nothing leaked (all counters zero, fds back
 * to where they were).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <virtio-xen/log.h>
#include <virtio-xen/loop.h>

#include "blk.h"
#include "helper_hostile.h"

#define NG 2

struct guest {
	uint32_t domid;
	xensim_guest *g;
	xensim_blk *blk;
	char img[64];
	struct xensim_virtio_dev dev;
};

static struct {
	xensim_server *srv;
	xensim *x;
	struct testloop *loop;
	vxen_backend *be;
	struct blk_opts opts;
	struct guest gs[NG];
	int fds_before;
	int fds_up;	 /* with both devices */
	int fds_per_dev; /* what one guest's device costs the backend process */
} L;

static void quiet(int level, const char *msg, void *payload)
{
}

/* ---- the backend (loop thread) ------------------------------------------------------------- */

static int be_create(vxen_backend *be, const struct vxen_xs_device *info,
		     const struct vxen_dev_config *cfg, vxen_dev **out, void *payload)
{
	char desc[256];

	return blk_create(vxen_backend_loop(be), info, cfg, out, desc, sizeof(desc), payload);
}

static void be_destroy(vxen_backend *be, vxen_dev *dev, void *payload)
{
	blk_destroy(dev, payload);
}

static void do_be_new(void *arg)
{
	static const uint32_t ids[] = { 2 };
	static const struct vxen_backend_ops ops = {
		.version = VXEN_BACKEND_OPS_VERSION,
		.create = be_create,
		.destroy = be_destroy,
	};
	struct vxen_backend_config cfg = VXEN_BACKEND_CONFIG_INIT;

	cfg.virtio_ids = ids;
	cfg.nr_virtio_ids = 1;
	*(int *)arg = vxen_backend_new(&L.be, testloop_loop(L.loop), &cfg, &ops, &L.opts);
}

static void do_be_free(void *arg)
{
	vxen_backend_free(L.be);
	L.be = NULL;
}

struct stats_args {
	struct vxen_backend_stats st;
	unsigned int nr;
};

static void do_be_stats(void *arg)
{
	struct stats_args *a = arg;

	vxen_backend_stats(L.be, &a->st);
	a->nr = vxen_backend_nr_devices(L.be);
}

static struct vxen_backend_stats be_stats(unsigned int *nr)
{
	struct stats_args a;

	testloop_call(L.loop, do_be_stats, &a);
	if (nr)
		*nr = a.nr;
	return a.st;
}

/* ---- guests -------------------------------------------------------------------------------- */

static char state_path[128];

static const char *backend_state(const struct guest *gu)
{
	snprintf(state_path, sizeof(state_path), "/local/domain/0/backend/virtio_disk/%u/0/state",
		 gu->domid);
	return state_path;
}

static void guest_create(struct guest *gu, uint32_t domid)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;

	dc.vcpus = 2;
	dc.domid = domid;
	ck_assert_int_eq(xensim_domain_create(L.x, &dc, &gu->domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&gu->g, L.x, gu->domid), 0);
	xensim_guest_set_timeout(gu->g, HW_TMO);
}

static void disk_add(struct guest *gu)
{
	gu->dev = (struct xensim_virtio_dev)XENSIM_VIRTIO_DEV_INIT;
	gu->dev.kind = XENSIM_VIRTIO_DISK;
	gu->dev.frontend_domid = gu->domid;
	gu->dev.virtio_id = 2;
	gu->dev.base = HW_BASE_A;
	gu->dev.irq = HW_IRQ_A;
	gu->dev.params = gu->img;
	gu->dev.mode = "w";
	ck_assert_int_eq(xensim_xl_add_virtio(L.x, &gu->dev), 0);
	ck_assert_int_eq(xensim_xs_wait(L.x, backend_state(gu), "2", HW_TMO), 0);
	ck_assert_int_eq(xensim_blk_new(&gu->blk, gu->g, 0, HW_BASE_A, HW_IRQ_A, NULL), 0);
}

static void assert_reads(struct guest *gu)
{
	uint8_t buf[8192];

	ck_assert_int_eq(xensim_blk_read(gu->blk, 0, 64, buf, sizeof(buf), HW_TMO), 0);
	for (unsigned int s = 0; s < 16; s++)
		ck_assert(hw_sector_ok(buf + 512 * s, 64 + s));
}

static bool live(const struct xensim_counters *c)
{
	return c->gnt_live_pages || c->evtchn_live_ports || c->ioreq_servers_live ||
	       c->fmem_live_pages || c->fmem_resource_maps_live;
}

/*
 * Everything the backend had for @domid is gone (waits for the teardown to happen). For a domain
 * that no longer exists Xen has no per-domain view: then the machine-wide live counters must be
 * exactly the other guests' ones.
 */
static void assert_domain_clean(uint32_t domid)
{
	struct xensim_counters c, all, o;
	uint64_t rest[5];

	for (int t = 0; t < HW_TMO; t++) {
		if (xensim_counters_get(L.x, domid, &c) == 0) {
			if (!live(&c))
				return;
		} else {
			ck_assert_int_eq(xensim_counters_get(L.x, XENSIM_DOMID_ALL, &all), 0);
			memset(rest, 0, sizeof(rest));
			for (unsigned int i = 0; i < NG; i++) {
				if (!L.gs[i].g || L.gs[i].domid == domid)
					continue;
				ck_assert_int_eq(xensim_counters_get(L.x, L.gs[i].domid, &o), 0);
				rest[0] += o.gnt_live_pages;
				rest[1] += o.evtchn_live_ports;
				rest[2] += o.ioreq_servers_live;
				rest[3] += o.fmem_live_pages;
				rest[4] += o.fmem_resource_maps_live;
			}
			if (all.gnt_live_pages == rest[0] && all.evtchn_live_ports == rest[1] &&
			    all.ioreq_servers_live == rest[2] && all.fmem_live_pages == rest[3] &&
			    all.fmem_resource_maps_live == rest[4])
				return;
			c = all;
		}
		usleep(1000);
	}
	ck_abort_msg("d%u: %llu grant pages, %llu ports, %llu ioreq servers, %llu foreign pages "
		     "still live",
		     domid, (unsigned long long)c.gnt_live_pages,
		     (unsigned long long)c.evtchn_live_ports,
		     (unsigned long long)c.ioreq_servers_live,
		     (unsigned long long)c.fmem_live_pages);
}

static void wait_devices(unsigned int n)
{
	unsigned int nr = ~0u;

	for (int t = 0; t < HW_TMO; t++) {
		be_stats(&nr);
		if (nr == n)
			return;
		usleep(1000);
	}
	ck_abort_msg("backend has %u devices, expected %u", nr, n);
}

/* The guest's driver side after its device vanished: free it (its MMIO may fail). */
static void guest_forget(struct guest *gu)
{
	xensim_blk_free(gu->blk);
	gu->blk = NULL;
}

static void guest_detach(struct guest *gu)
{
	if (gu->blk)
		guest_forget(gu);
	xensim_guest_detach(gu->g);
	gu->g = NULL;
}

static void world_up(void)
{
	int r = -1;

	memset(&L, 0, sizeof(L));
	vxen_log_set_handler(quiet, LOG_DEBUG, NULL);
	L.fds_before = hw_count_fds();
	L.opts = (struct blk_opts){ .queues = 2, .threads = 2, .io = BLK_IO_THREADS };
	ck_assert_int_eq(xensim_server_start(&L.srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&L.x, NULL), 0);
	ck_assert_int_eq(testloop_start(&L.loop), 0);
	testloop_call(L.loop, do_be_new, &r);
	ck_assert_int_eq(r, 0);
	for (unsigned int i = 0; i < NG; i++) {
		int fds = hw_count_fds();

		hw_make_image(L.gs[i].img, sizeof(L.gs[i].img));
		guest_create(&L.gs[i], 0);
		disk_add(&L.gs[i]);
		wait_devices(i + 1);
		L.fds_per_dev = hw_count_fds() - fds;
	}
	L.fds_up = hw_count_fds();
}

/* The victim's device and its guest are gone: so are the fds they cost. */
static void assert_fds_released(void)
{
	for (int t = 0; t < HW_TMO && hw_count_fds() != L.fds_up - L.fds_per_dev; t++)
		usleep(1000);
	ck_assert_int_eq(hw_count_fds(), L.fds_up - L.fds_per_dev);
}

static void world_down(void)
{
	for (unsigned int i = 0; i < NG; i++) {
		if (!L.gs[i].blk)
			continue;
		ck_assert_int_eq(xensim_blk_free(L.gs[i].blk), 0);
		L.gs[i].blk = NULL;
	}
	testloop_call(L.loop, do_be_free, NULL);
	testloop_stop(L.loop);
	for (unsigned int i = 0; i < NG; i++) {
		if (L.gs[i].g) {
			assert_domain_clean(L.gs[i].domid);
			guest_detach(&L.gs[i]);
		}
		unlink(L.gs[i].img);
	}
	xensim_close(L.x);
	xensim_server_stop(L.srv);
	vxen_log_set_handler(NULL, 0, NULL);
	ck_assert_int_eq(hw_count_fds(), L.fds_before);
}

/* 32 reads of 64 KiB each submitted and kicked, none collected. */
static struct xensim_blk_req reqs[32];
static struct xensim_sg sgs[32];

static void submit_many(struct guest *gu)
{
	for (unsigned int i = 0; i < 32; i++) {
		struct xensim_gbuf b;

		ck_assert_int_eq(xensim_gbuf_alloc(gu->g, 65536, &b), 0);
		sgs[i] = (struct xensim_sg){ b.gpa, 65536 };
		reqs[i] = (struct xensim_blk_req){
			.type = XENSIM_VIRTIO_BLK_T_IN, .sector = 128 * i, .sg = &sgs[i], .nsg = 1
		};
		ck_assert_int_eq(xensim_blk_submit(gu->blk, i % 2, &reqs[i], true), 0);
	}
}

/* ---- cases --------------------------------------------------------------------------------- */

START_TEST(hostile__r30_guest_destroyed_with_requests_in_flight_torn_down)
{
	struct guest *victim = &L.gs[0], *other = &L.gs[1];
	struct vxen_backend_stats st;
	uint32_t domid;

	world_up();
	assert_reads(victim);
	submit_many(victim);
	domid = victim->domid;
	ck_assert_int_eq(xensim_xl_destroy(L.x, domid), 0);
	wait_devices(1);
	assert_domain_clean(domid);
	guest_detach(victim);
	assert_fds_released();
	assert_reads(other);
	st = be_stats(NULL);
	ck_assert_uint_eq(st.created, 2);
	ck_assert_uint_eq(st.destroyed, 1);
	world_down();
}
END_TEST

START_TEST(hostile__r30_guest_destroyed_without_toolstack_cleanup_torn_down)
{
	struct guest *victim = &L.gs[0], *other = &L.gs[1];
	uint32_t domid;

	world_up();
	submit_many(victim);
	domid = victim->domid;
	/* The hypervisor kills the domain; xenstore still lists its disk (no xl involved). */
	ck_assert_int_eq(xensim_domain_destroy(L.x, domid), 0);
	wait_devices(1);
	assert_domain_clean(domid);
	guest_detach(victim);
	assert_fds_released();
	assert_reads(other);
	/* The toolstack's late cleanup of the entries changes nothing. */
	ck_assert_int_eq(xensim_xl_remove_virtio(L.x, &victim->dev), 0);
	usleep(50000);
	wait_devices(1);
	assert_reads(other);
	world_down();
}
END_TEST

START_TEST(hostile__r30_backend_directory_removed_tears_device_down)
{
	struct guest *victim = &L.gs[1], *other = &L.gs[0];
	uint64_t v = 0;

	world_up();
	submit_many(victim);
	ck_assert_int_eq(xensim_xl_remove_virtio(L.x, &victim->dev), 0);
	wait_devices(1);
	assert_domain_clean(victim->domid);
	/* The window is no longer claimed: the guest's access faults, as on real Xen. */
	ck_assert_int_eq(xensim_mmio_read(victim->g, 0, HW_BASE_A, 4, &v), -EFAULT);
	guest_forget(victim);
	assert_reads(other);
	/* Added again: a new device, served. */
	disk_add(victim);
	wait_devices(2);
	assert_reads(victim);
	assert_reads(other);
	world_down();
}
END_TEST

START_TEST(hostile__r30_domid_reused_after_reboot_gets_a_fresh_device)
{
	struct guest *victim = &L.gs[0], *other = &L.gs[1];
	struct vxen_backend_stats st;
	uint32_t domid;

	world_up();
	submit_many(victim);
	domid = victim->domid;
	ck_assert_int_eq(xensim_xl_destroy(L.x, domid), 0);
	wait_devices(1);
	assert_domain_clean(domid);
	guest_detach(victim);
	/* Same domid, same device, new guest. */
	guest_create(victim, domid);
	ck_assert_uint_eq(victim->domid, domid);
	disk_add(victim);
	wait_devices(2);
	assert_reads(victim);
	assert_reads(other);
	st = be_stats(NULL);
	ck_assert_uint_eq(st.created, 3);
	ck_assert_uint_eq(st.destroyed, 1);
	world_down();
}
END_TEST

Suite *hostile_lifecycle_suite(void);

Suite *hostile_lifecycle_suite(void)
{
	Suite *s = suite_create("hostile_lifecycle");
	TCase *t = tcase_create("catalogue");

	tcase_add_test(t, hostile__r30_guest_destroyed_with_requests_in_flight_torn_down);
	tcase_add_test(t, hostile__r30_guest_destroyed_without_toolstack_cleanup_torn_down);
	tcase_add_test(t, hostile__r30_backend_directory_removed_tears_device_down);
	tcase_add_test(t, hostile__r30_domid_reused_after_reboot_gets_a_fresh_device);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return hw_run_suite(hostile_lifecycle_suite());
}
