/* SPDX-License-Identifier: MIT */
/*
 * The guest-side virtio-mmio transport (xensim_vdev) against a register-level fake device
 * (frontend_fake.h): probe, feature negotiation, queue setup, config space, interrupts, reset.
 */
#include "frontend_fake.h"

static struct fk_dev dev;

static void setup(void)
{
	fk_machine_up();
	fk_init(&dev, XENSIM_VIRTIO_ID_BLOCK, 0, 2, 256);
}

static void teardown(void)
{
	fk_machine_down();
}

#define BIT(n) XENSIM_VIRTIO_BIT(n)

/* Status values the driver wrote, in order. */
static unsigned int status_writes(uint32_t *out, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < dev.nlog && n < max; i++)
		if (dev.log[i].off == 0x70 && dev.log[i].wr)
			out[n++] = (uint32_t)dev.log[i].val;
	return n;
}

/* Last value written to register @off (asserts there was one). */
static uint64_t last_write(uint32_t off)
{
	for (unsigned int i = dev.nlog; i-- > 0;)
		if (dev.log[i].off == off && dev.log[i].wr)
			return dev.log[i].val;
	ck_abort_msg("no write to 0x%x", off);
	return 0;
}

static xensim_vdev *probe(void)
{
	xensim_vdev *vd = NULL;

	fk_start(&dev);
	ck_assert_int_eq(xensim_vdev_probe(&vd, g, 0, FK_BASE, FK_SPI), 0);
	return vd;
}

/* ------------------------------------------------------------------------------------------ */
/* Probe                                                                                       */

START_TEST(vdev__probe_reads_identity_resets_and_acknowledges)
{
	xensim_vdev *vd = probe();
	uint32_t st[8];

	ck_assert_uint_eq(xensim_vdev_device_id(vd), XENSIM_VIRTIO_ID_BLOCK);
	ck_assert_uint_eq(xensim_vdev_vendor_id(vd), 0x554d4551);
	ck_assert_uint_eq(status_writes(st, 8), 2);
	ck_assert_uint_eq(st[0], 0); /* reset */
	ck_assert_uint_eq(st[1], XENSIM_VIRTIO_S_ACKNOWLEDGE);
	ck_assert_uint_eq(dev.status, XENSIM_VIRTIO_S_ACKNOWLEDGE);
	ck_assert_int_eq(xensim_vdev_free(vd), 0);
	fk_stop(&dev);
}
END_TEST

static int probe_err(void)
{
	xensim_vdev *vd = (xensim_vdev *)&vd;
	int rc;

	fk_start(&dev);
	rc = xensim_vdev_probe(&vd, g, 0, FK_BASE, FK_SPI);
	ck_assert_ptr_eq(vd, (xensim_vdev *)&vd); /* untouched on failure */
	fk_stop(&dev);
	return rc;
}

START_TEST(vdev__probe_rejects_bad_magic)
{
	dev.magic = 0x12345678;
	ck_assert_int_eq(probe_err(), -ENODEV);
}
END_TEST

START_TEST(vdev__probe_rejects_legacy_version_1)
{
	dev.version = 1;
	ck_assert_int_eq(probe_err(), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(vdev__probe_rejects_placeholder_device_id_0)
{
	dev.device_id = 0;
	ck_assert_int_eq(probe_err(), -ENODEV);
}
END_TEST

START_TEST(vdev__probe_without_device_reports_efault)
{
	xensim_vdev *vd = NULL;

	ck_assert_int_eq(xensim_vdev_probe(&vd, g, 0, FK_BASE, FK_SPI), -EFAULT);
	ck_assert_ptr_null(vd);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Negotiation                                                                                 */

START_TEST(vdev__negotiate_accepts_wanted_offered_and_implemented_bits)
{
	xensim_vdev *vd;
	uint64_t acc = 0;
	uint32_t st[8];
	unsigned int n;

	/* Offered: two device bits, INDIRECT, EVENT_IDX, RING_PACKED (34, not implemented). */
	dev.features |= BIT(5) | BIT(7) | BIT(XENSIM_VIRTIO_F_INDIRECT_DESC) |
			BIT(XENSIM_VIRTIO_F_EVENT_IDX) | BIT(34);
	vd = probe();
	ck_assert_int_eq(
		xensim_vdev_negotiate(
			vd, BIT(5) | BIT(9) | BIT(XENSIM_VIRTIO_F_EVENT_IDX) | BIT(34), &acc),
		0);
	ck_assert_uint_eq(acc, BIT(5) | BIT(XENSIM_VIRTIO_F_EVENT_IDX) |
				       XENSIM_VIRTIO_REQUIRED_FEATURES);
	ck_assert_uint_eq(dev.drv_features, acc);
	ck_assert_uint_eq(xensim_vdev_features(vd), acc);
	ck_assert_uint_eq(xensim_vdev_device_features(vd), dev.features);
	ck_assert(xensim_vdev_has_feature(vd, XENSIM_VIRTIO_F_ACCESS_PLATFORM));
	n = status_writes(st, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(st[2], XENSIM_VIRTIO_S_ACKNOWLEDGE | XENSIM_VIRTIO_S_DRIVER);
	ck_assert_uint_eq(st[3], XENSIM_VIRTIO_S_ACKNOWLEDGE | XENSIM_VIRTIO_S_DRIVER |
					 XENSIM_VIRTIO_S_FEATURES_OK);
	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), -EALREADY);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__negotiate_requires_access_platform)
{
	xensim_vdev *vd;

	dev.features = BIT(XENSIM_VIRTIO_F_VERSION_1);
	vd = probe();
	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), -EOPNOTSUPP);
	ck_assert(dev.status & XENSIM_VIRTIO_S_FAILED);
	ck_assert(!(dev.status & XENSIM_VIRTIO_S_FEATURES_OK));
	ck_assert_uint_eq(fk_count(&dev, 0x20, true), 0); /* nothing accepted */
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__negotiate_requires_version_1)
{
	xensim_vdev *vd;

	dev.features = BIT(XENSIM_VIRTIO_F_ACCESS_PLATFORM);
	vd = probe();
	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), -EOPNOTSUPP);
	ck_assert(dev.status & XENSIM_VIRTIO_S_FAILED);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__negotiate_fails_when_device_refuses_features_ok)
{
	xensim_vdev *vd;

	dev.refuse_features_ok = true;
	vd = probe();
	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), -EIO);
	ck_assert(dev.status & XENSIM_VIRTIO_S_FAILED);
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 1, NULL), -EPROTO);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Queues                                                                                      */

START_TEST(vdev__setup_queues_programs_grant_addresses_size_and_ready)
{
	unsigned int sizes[2] = { 64, 0 };
	struct xensim_vq_raw raw[2];
	xensim_vdev *vd = probe();

	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), 0);
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 2, sizes), 0);
	ck_assert_uint_eq(xensim_vdev_nr_vqs(vd), 2);
	for (unsigned int i = 0; i < 2; i++) {
		ck_assert_int_eq(xensim_vq_raw(xensim_vdev_vq(vd, i), &raw[i]), 0);
		ck_assert_uint_eq(dev.q[i].ready, 1);
		ck_assert_uint_eq(dev.q[i].desc, raw[i].desc_dma);
		ck_assert_uint_eq(dev.q[i].avail, raw[i].avail_dma);
		ck_assert_uint_eq(dev.q[i].used, raw[i].used_dma);
		ck_assert(dev.q[i].desc & FK_BIT63);
		ck_assert(dev.q[i].avail & FK_BIT63);
		ck_assert(dev.q[i].used & FK_BIT63);
		ck_assert_uint_eq(xensim_vq_index(xensim_vdev_vq(vd, i)), i);
	}
	ck_assert_uint_eq(dev.q[0].num, 64);  /* the wish, below QueueNumMax */
	ck_assert_uint_eq(dev.q[1].num, 256); /* 0: QueueNumMax, as Linux */
	ck_assert_ptr_null(xensim_vdev_vq(vd, 2));
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 1, NULL), -EALREADY);
	ck_assert_int_eq(xensim_vdev_free(vd), 0);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__setup_queues_caps_wish_at_queue_num_max)
{
	unsigned int sizes[1] = { 1024 };
	xensim_vdev *vd = probe();

	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), 0);
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 1, sizes), 0);
	ck_assert_uint_eq(dev.q[0].num, 256);
	ck_assert_uint_eq(xensim_vq_num(xensim_vdev_vq(vd, 0)), 256);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__setup_queues_fails_on_missing_queue_and_undoes_earlier_ones)
{
	xensim_vdev *vd = probe();

	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), 0);
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 3, NULL), -ENOENT); /* device has 2 */
	ck_assert_uint_eq(xensim_vdev_nr_vqs(vd), 0);
	ck_assert_uint_eq(dev.q[0].ready, 0); /* queue 0 was disabled again */
	ck_assert_int_eq(xensim_vdev_free(vd), 0);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__setup_queues_refuses_queue_already_ready)
{
	xensim_vdev *vd = probe();

	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), 0);
	dev.q[0].ready = 1;
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 1, NULL), -ENOENT);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__setup_queues_rejects_size_not_power_of_two)
{
	xensim_vdev *vd;

	dev.q[0].num_max = 100;
	vd = probe();
	ck_assert_int_eq(xensim_vdev_negotiate(vd, 0, NULL), 0);
	ck_assert_int_eq(xensim_vdev_setup_queues(vd, 1, NULL), -EINVAL);
	ck_assert_uint_eq(dev.q[0].ready, 0);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__init_ends_with_driver_ok)
{
	xensim_vdev *vd = probe();
	uint8_t st = 0;

	ck_assert_int_eq(xensim_vdev_init(vd, 0, 2, 0), 0);
	ck_assert_int_eq(xensim_vdev_get_status(vd, &st), 0);
	ck_assert_uint_eq(st, XENSIM_VIRTIO_S_ACKNOWLEDGE | XENSIM_VIRTIO_S_DRIVER |
				      XENSIM_VIRTIO_S_FEATURES_OK | XENSIM_VIRTIO_S_DRIVER_OK);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__reset_times_out_when_status_never_reads_zero)
{
	xensim_vdev *vd = probe();

	dev.stuck_reset = true;
	ck_assert_int_eq(xensim_vdev_reset(vd), -ETIMEDOUT);
	dev.stuck_reset = false;
	ck_assert_int_eq(xensim_vdev_reset(vd), 0);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__free_resets_and_disables_every_queue)
{
	xensim_vdev *vd = probe();
	unsigned int before;

	ck_assert_int_eq(xensim_vdev_init(vd, 0, 2, 16), 0);
	before = fk_count(&dev, 0x44, true);
	ck_assert_int_eq(xensim_vdev_free(vd), 0);
	ck_assert_uint_eq(dev.status, 0);
	ck_assert_uint_eq(fk_count(&dev, 0x44, true) - before, 2); /* QueueReady 0, each queue */
	ck_assert_uint_eq(last_write(0x44), 0);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__free_reports_ebusy_when_backend_still_maps_a_ring)
{
	xensim_vdev *vd = probe();
	struct xensim_vq_raw raw;
	xengnttab_handle *xgt = xengnttab_open(NULL, 0);
	struct fk_map m;

	ck_assert_int_eq(xensim_vdev_init(vd, 0, 1, 16), 0);
	ck_assert_int_eq(xensim_vq_raw(xensim_vdev_vq(vd, 0), &raw), 0);
	ck_assert(fk_map(xgt, raw.desc_dma, raw.ring_bytes, true, &m));
	ck_assert_int_eq(xensim_vdev_free(vd), -EBUSY);
	fk_unmap(xgt, &m);
	xengnttab_close(xgt);
	fk_stop(&dev);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Config space                                                                                */

START_TEST(vdev__config_read_uses_linux_access_sizes)
{
	xensim_vdev *vd = probe();
	uint64_t cap = 0;
	uint8_t mac[6];
	unsigned int first;

	dev.config_len = 64;
	for (unsigned int i = 0; i < 64; i++)
		dev.config[i] = (uint8_t)(0xa0 + i);
	first = dev.nlog;
	ck_assert_int_eq(xensim_vdev_config_read(vd, 0, &cap, 8), 0);
	ck_assert_uint_eq(cap, 0xa7a6a5a4a3a2a1a0ULL);
	/* generation, two 32-bit halves (low first), generation */
	ck_assert_uint_eq(dev.nlog - first, 4);
	ck_assert_uint_eq(dev.log[first].off, 0xfc);
	ck_assert_uint_eq(dev.log[first + 1].off, 0x100);
	ck_assert_uint_eq(dev.log[first + 1].size, 4);
	ck_assert_uint_eq(dev.log[first + 2].off, 0x104);
	ck_assert_uint_eq(dev.log[first + 2].size, 4);
	ck_assert_uint_eq(dev.log[first + 3].off, 0xfc);
	first = dev.nlog;
	ck_assert_int_eq(xensim_vdev_config_read(vd, 10, mac, 6), 0);
	ck_assert_uint_eq(mac[0], 0xaa);
	ck_assert_uint_eq(mac[5], 0xaf);
	ck_assert_uint_eq(dev.nlog - first, 8); /* gen, 6 single bytes, gen */
	for (unsigned int i = 0; i < 6; i++)
		ck_assert_uint_eq(dev.log[first + 1 + i].size, 1);
	ck_assert_int_eq(xensim_vdev_config_read(vd, 0xf00, mac, 1), -EINVAL);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__config_read_retries_while_generation_changes)
{
	xensim_vdev *vd = probe();
	uint32_t v = 0;

	dev.config_len = 8;
	dev.gen_storm = 3; /* the first three config reads race with a config change */
	ck_assert_int_eq(xensim_vdev_config_read(vd, 0, &v, 4), 0);
	/* Three torn attempts plus the clean one: 4 config reads, 8 generation reads. */
	ck_assert_uint_eq(fk_count(&dev, 0x100, false), 4);
	ck_assert_uint_eq(fk_count(&dev, 0xfc, false), 8);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__config_read_gives_up_on_endless_generation_changes)
{
	xensim_vdev *vd = probe();
	uint32_t v;

	dev.config_len = 8;
	dev.gen_storm = 1000000;
	ck_assert_int_eq(xensim_vdev_config_read(vd, 0, &v, 4), -EIO);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__config_write_reaches_device)
{
	xensim_vdev *vd = probe();
	uint32_t v = 0x11223344;

	dev.config_len = 16;
	ck_assert_int_eq(xensim_vdev_config_write(vd, 8, &v, 4), 0);
	ck_assert_mem_eq(dev.config + 8, &v, 4);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Interrupts and notification                                                                 */

START_TEST(vdev__irq_wait_reads_and_acks_interrupt_status)
{
	xensim_vdev *vd = probe();

	fk_interrupt(&dev, XENSIM_VIRTIO_INT_VRING | XENSIM_VIRTIO_INT_CONFIG);
	ck_assert_int_eq(xensim_vdev_irq_wait(vd, 2000), 3);
	ck_assert_uint_eq(last_write(0x64), 3);
	ck_assert_uint_eq(dev.isr, 0);
	ck_assert_uint_eq(xensim_vdev_config_changes(vd), 1);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vdev__irq_wait_times_out)
{
	xensim_vdev *vd = probe();

	ck_assert_int_eq(xensim_vdev_irq_wait(vd, 50), -ETIMEDOUT);
	ck_assert_int_eq(xensim_vdev_irq_wait(vd, 0), -ETIMEDOUT);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

START_TEST(vq__kick_writes_queue_index_to_queue_notify)
{
	xensim_vdev *vd = probe();
	struct xensim_sg sg;
	uint64_t gpa;
	int token;

	ck_assert_int_eq(xensim_vdev_init(vd, 0, 2, 16), 0);
	ck_assert_int_eq(xensim_guest_alloc_pages(g, 1, &gpa), 0);
	sg = (struct xensim_sg){ gpa, 64 };
	ck_assert_int_eq(xensim_vq_add(xensim_vdev_vq(vd, 1), &sg, 1, NULL, 0, &token), 0);
	ck_assert_int_eq(xensim_vq_kick(xensim_vdev_vq(vd, 1)), 1);
	ck_assert_uint_eq(dev.notifies[1], 1);
	ck_assert_uint_eq(dev.notifies[0], 0);
	ck_assert_uint_eq(last_write(0x50), 1);
	xensim_vdev_free(vd);
	fk_stop(&dev);
}
END_TEST

/* Echo handler: report the writable bytes as used. */
static uint32_t echo(struct fk_dev *d, unsigned int q, struct fk_seg *s, unsigned int n)
{
	uint32_t len = 0;

	for (unsigned int i = 0; i < n; i++)
		if (s[i].wr) {
			memset(s[i].p, 0x5a, s[i].len);
			len += s[i].len;
		}
	return len;
}

START_TEST(vq__wait_returns_once_device_completes_and_interrupts)
{
	xensim_vdev *vd;
	xensim_vq *vq;
	struct xensim_sg out, in;
	uint64_t gpa;
	uint8_t *host;
	void *tok;
	uint32_t len;
	int token;

	dev.handler[0] = echo;
	dev.features |= BIT(XENSIM_VIRTIO_F_INDIRECT_DESC);
	vd = probe();
	ck_assert_int_eq(xensim_vdev_init(vd, BIT(XENSIM_VIRTIO_F_INDIRECT_DESC), 1, 16), 0);
	vq = xensim_vdev_vq(vd, 0);
	ck_assert_int_eq(xensim_guest_alloc_pages(g, 2, &gpa), 0);
	host = xensim_guest_ptr(g, gpa + FK_PAGE, 100);
	out = (struct xensim_sg){ gpa, 16 };
	in = (struct xensim_sg){ gpa + FK_PAGE, 100 };
	ck_assert_int_eq(xensim_vq_add(vq, &out, 1, &in, 1, &token), 0);
	ck_assert_int_eq(xensim_vq_kick(vq), 1);
	ck_assert_int_eq(xensim_vq_wait(vq, 5000), 0);
	ck_assert_int_eq(xensim_vq_get_buf(vq, &tok, &len), 1);
	ck_assert_ptr_eq(tok, &token);
	ck_assert_uint_eq(len, 100);
	ck_assert_uint_eq(host[99], 0x5a);
	ck_assert_int_eq(xensim_vq_wait(vq, 50), -ETIMEDOUT);
	ck_assert_int_eq(xensim_vdev_free(vd), 0);
	fk_stop(&dev);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("frontend_mmio");
	TCase *tc = tcase_create("vdev");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, vdev__probe_reads_identity_resets_and_acknowledges);
	tcase_add_test(tc, vdev__probe_rejects_bad_magic);
	tcase_add_test(tc, vdev__probe_rejects_legacy_version_1);
	tcase_add_test(tc, vdev__probe_rejects_placeholder_device_id_0);
	tcase_add_test(tc, vdev__probe_without_device_reports_efault);
	tcase_add_test(tc, vdev__negotiate_accepts_wanted_offered_and_implemented_bits);
	tcase_add_test(tc, vdev__negotiate_requires_access_platform);
	tcase_add_test(tc, vdev__negotiate_requires_version_1);
	tcase_add_test(tc, vdev__negotiate_fails_when_device_refuses_features_ok);
	tcase_add_test(tc, vdev__setup_queues_programs_grant_addresses_size_and_ready);
	tcase_add_test(tc, vdev__setup_queues_caps_wish_at_queue_num_max);
	tcase_add_test(tc, vdev__setup_queues_fails_on_missing_queue_and_undoes_earlier_ones);
	tcase_add_test(tc, vdev__setup_queues_refuses_queue_already_ready);
	tcase_add_test(tc, vdev__setup_queues_rejects_size_not_power_of_two);
	tcase_add_test(tc, vdev__init_ends_with_driver_ok);
	tcase_add_test(tc, vdev__reset_times_out_when_status_never_reads_zero);
	tcase_add_test(tc, vdev__free_resets_and_disables_every_queue);
	tcase_add_test(tc, vdev__free_reports_ebusy_when_backend_still_maps_a_ring);
	tcase_add_test(tc, vdev__config_read_uses_linux_access_sizes);
	tcase_add_test(tc, vdev__config_read_retries_while_generation_changes);
	tcase_add_test(tc, vdev__config_read_gives_up_on_endless_generation_changes);
	tcase_add_test(tc, vdev__config_write_reaches_device);
	tcase_add_test(tc, vdev__irq_wait_reads_and_acks_interrupt_status);
	tcase_add_test(tc, vdev__irq_wait_times_out);
	tcase_add_test(tc, vq__kick_writes_queue_index_to_queue_notify);
	tcase_add_test(tc, vq__wait_returns_once_device_completes_and_interrupts);
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
