/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of L3 mmio, part 1: identity, access rules (catalogue row 26), config space,
 * feature negotiation and the status machine (rows 24, 25). Part 2 is test_mmio_queue.c.
 */
#include "test_mmio.h"

/* ---------------------------------------------------------------- creation and identity */

START_TEST(mmio__identity_registers_read_magic_version2_ids)
{
	make_grant();
	ck_assert_uint_eq(rd(VXEN_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VXEN_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_ID), 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_VENDOR_ID), 0x554d4551);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 0);
	ck_assert_uint_eq(vxen_mmio_num_queues(m), NQ);
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

START_TEST(mmio__device_features_word_chosen_by_sel_others_read_zero)
{
	make_grant();
	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_FEATURES), (uint32_t)(OFFERED >> 32));
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_FEATURES), 3); /* VERSION_1 | ACCESS_PLATFORM */
	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_FEATURES), 0);
	wr(VXEN_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_FEATURES), 0);
}
END_TEST

static int try_new(const struct vxen_mmio_config *c, const struct vxen_mmio_ops *o)
{
	vxen_mmio *sentinel = (vxen_mmio *)&r;
	vxen_mmio *out = sentinel;
	int ret = vxen_mmio_new(&out, c, o, &r);

	if (ret)
		ck_assert_ptr_eq(out, sentinel); /* untouched on failure */
	else
		vxen_mmio_free(out);
	return ret;
}

START_TEST(mmio__new_refuses_invalid_configs_and_leaves_out_untouched)
{
	static const unsigned int bad_max[] = { 0, 3, 100, 65536, 1u << 31 };
	struct vxen_mmio_config c = grant_cfg();
	struct vxen_mmio_ops o = ops;

	ck_assert_int_eq(try_new(&c, &ops), 0);
	c.features &= ~F(VXEN_F_ACCESS_PLATFORM); /* grant device must offer it */
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	c = grant_cfg();
	c.features &= ~F(VXEN_F_VERSION_1);
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	for (unsigned int i = 0; i < VXEN_ARRAY_SIZE(bad_max); i++) {
		c = grant_cfg();
		c.queue_num_max = bad_max[i];
		ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	}
	c = grant_cfg();
	c.num_queues = 0;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	c.num_queues = VXEN_MMIO_QUEUES_MAX + 1;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	c = grant_cfg();
	c.config_size = VXEN_MMIO_CONFIG_MAX + 1;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	c.config_size = VXEN_MMIO_CONFIG_MAX;
	ck_assert_int_eq(try_new(&c, &ops), 0);
	c = grant_cfg();
	c.device_id = 0;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	for (unsigned int bit = 38; bit <= 41; bit++) {
		c = grant_cfg();
		c.features |= F(bit);
		ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	}
	c = grant_cfg();
	c.flags |= 0x80;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	c = grant_cfg();
	c.version = 99;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
	c = grant_cfg();
	o.queue_enable = NULL;
	ck_assert_int_eq(try_new(&c, &o), -EINVAL);
	o = ops;
	o.reset = NULL;
	ck_assert_int_eq(try_new(&c, &o), -EINVAL);
	o = ops;
	o.version = 0;
	ck_assert_int_eq(try_new(&c, &o), -EINVAL);
	ck_assert_int_eq(vxen_mmio_new(NULL, &c, &ops, NULL), -EINVAL);
	vxen_mmio_free(NULL);
}
END_TEST

START_TEST(mmio__per_queue_max_sizes_read_back_by_queue_sel)
{
	unsigned int each[NQ] = { 1024, 64 };
	struct vxen_mmio_config c = grant_cfg();

	c.queue_num_max_each = each;
	make(&c, &ops);
	each[0] = 3; /* copied at creation */
	wr(VXEN_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_NUM_MAX), 1024);
	wr(VXEN_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_NUM_MAX), 64);
	each[0] = 1024;
	each[1] = 48;
	ck_assert_int_eq(try_new(&c, &ops), -EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- row 26: access rules */

START_TEST(mmio__control_register_non_32bit_access_reads_zero_write_ignored)
{
	static const unsigned int sizes[] = { 1, 2, 8, 0, 3, 16 };

	make_grant();
	for (unsigned int i = 0; i < VXEN_ARRAY_SIZE(sizes); i++) {
		ck_assert_uint_eq(rdn(VXEN_MMIO_MAGIC_VALUE, sizes[i]), 0);
		ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_STATUS, sizes[i], S_ACK), 0);
		ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	}
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_BAD_ACCESS), 2 * VXEN_ARRAY_SIZE(sizes));
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 2 * VXEN_ARRAY_SIZE(sizes));
}
END_TEST

START_TEST(mmio__control_register_unaligned_access_reads_zero_write_ignored)
{
	make_grant();
	for (unsigned int off = 1; off < 4; off++) {
		ck_assert_uint_eq(rdn(VXEN_MMIO_MAGIC_VALUE + off, 4), 0);
		ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_STATUS + off, 4, S_ACK), 0);
	}
	/* a 4-byte access straddling the control/config boundary */
	ck_assert_uint_eq(rdn(0xfe, 4), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_BAD_ACCESS), 7);
}
END_TEST

static bool readable_reg(unsigned int off)
{
	switch (off) {
	case VXEN_MMIO_MAGIC_VALUE:
	case VXEN_MMIO_VERSION:
	case VXEN_MMIO_DEVICE_ID:
	case VXEN_MMIO_VENDOR_ID:
	case VXEN_MMIO_DEVICE_FEATURES:
	case VXEN_MMIO_QUEUE_NUM_MAX:
	case VXEN_MMIO_QUEUE_READY:
	case VXEN_MMIO_INTERRUPT_STATUS:
	case VXEN_MMIO_STATUS:
	case VXEN_MMIO_SHM_LEN_LOW:
	case VXEN_MMIO_SHM_LEN_HIGH:
	case VXEN_MMIO_SHM_BASE_LOW:
	case VXEN_MMIO_SHM_BASE_HIGH:
	case VXEN_MMIO_CONFIG_GENERATION:
		return true;
	}
	return false;
}

START_TEST(mmio__write_only_and_undefined_registers_read_zero)
{
	unsigned int n = 0;

	make_grant();
	bring_up();
	/* make the write-only registers hold something non-zero first */
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VXEN_MMIO_QUEUE_SEL, 1);
	wr(VXEN_MMIO_SHM_SEL, 7);
	for (unsigned int off = 0; off < VXEN_MMIO_CONFIG_SPACE; off += 4) {
		if (readable_reg(off))
			continue;
		ck_assert_msg(rd(off) == 0, "offset 0x%x", off);
		n++;
	}
	/* 64 words minus the 14 readable registers; QueueReset (0xc0) among the undefined */
	ck_assert_uint_eq(n, 50);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_BAD_REGISTER), n);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_RESET), 0);
}
END_TEST

START_TEST(mmio__read_only_and_undefined_registers_ignore_writes)
{
	static const unsigned int ro[] = {
		VXEN_MMIO_MAGIC_VALUE,
		VXEN_MMIO_VERSION,
		VXEN_MMIO_DEVICE_ID,
		VXEN_MMIO_VENDOR_ID,
		VXEN_MMIO_DEVICE_FEATURES,
		VXEN_MMIO_QUEUE_NUM_MAX,
		VXEN_MMIO_INTERRUPT_STATUS,
		VXEN_MMIO_SHM_LEN_LOW,
		VXEN_MMIO_SHM_BASE_HIGH,
		VXEN_MMIO_CONFIG_GENERATION,
		VXEN_MMIO_QUEUE_RESET,
		0x018,
		0x0f8,
	};

	make_grant();
	bring_up();
	vxen_mmio_signal_used(m);
	for (unsigned int i = 0; i < VXEN_ARRAY_SIZE(ro); i++)
		wr(ro[i], 0x5a5a5a5a);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_BAD_REGISTER), VXEN_ARRAY_SIZE(ro));
	ck_assert_uint_eq(rd(VXEN_MMIO_MAGIC_VALUE), VXEN_MMIO_MAGIC);
	ck_assert_uint_eq(rd(VXEN_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_DEVICE_ID), 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_VENDOR_ID), 0x554d4551);
	ck_assert_uint_eq(rd(VXEN_MMIO_QUEUE_NUM_MAX), QMAX);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP);
}
END_TEST

START_TEST(mmio__shm_registers_report_no_region)
{
	make_grant();
	for (uint32_t sel = 0; sel < 3; sel++) {
		wr(VXEN_MMIO_SHM_SEL, sel);
		ck_assert_uint_eq(rd(VXEN_MMIO_SHM_LEN_LOW), 0xffffffff);
		ck_assert_uint_eq(rd(VXEN_MMIO_SHM_LEN_HIGH), 0xffffffff);
		ck_assert_uint_eq(rd(VXEN_MMIO_SHM_BASE_LOW), 0xffffffff);
		ck_assert_uint_eq(rd(VXEN_MMIO_SHM_BASE_HIGH), 0xffffffff);
	}
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

START_TEST(mmio__null_arguments_return_einval)
{
	uint64_t v;

	make_grant();
	ck_assert_int_eq(vxen_mmio_read(NULL, 0, 4, &v), -EINVAL);
	ck_assert_int_eq(vxen_mmio_read(m, 0, 4, NULL), -EINVAL);
	ck_assert_int_eq(vxen_mmio_write(NULL, 0, 4, 0), -EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- config space */

static void fill_config(void)
{
	uint8_t pat[CFG_SIZE];

	for (unsigned int i = 0; i < CFG_SIZE; i++)
		pat[i] = (uint8_t)(0x10 + i);
	ck_assert_int_eq(vxen_mmio_config_set(m, 0, pat, CFG_SIZE), 0);
}

/* The little-endian value of config bytes [off, off + size) of the fill_config() pattern. */
static uint64_t pattern_value(unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = size; i-- > 0;)
		v = v << 8 | (uint8_t)(0x10 + off + i);
	return v;
}

START_TEST(mmio__config_reads_little_endian_for_sizes_1_2_4_8)
{
	make_grant();
	fill_config();
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE, 1), 0x10);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE, 2), 0x1110);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 4, 4), 0x17161514);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 8, 8), 0x1f1e1d1c1b1a1918ULL);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 3, 4), 0x16151413); /* unaligned is fine */
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

START_TEST(mmio__config_read_near_end_inside_returns_bytes_crossing_returns_zero)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	uint64_t bad = 0;

	make_grant();
	fill_config();
	for (unsigned int s = 0; s < VXEN_ARRAY_SIZE(sizes); s++) {
		unsigned int size = sizes[s];

		for (unsigned int off = CFG_SIZE - 10; off <= CFG_SIZE + 2; off++) {
			uint64_t got = rdn(VXEN_MMIO_CONFIG_SPACE + off, size);

			if (off + size <= CFG_SIZE) {
				ck_assert_msg(got == pattern_value(off, size), "size %u off %u",
					      size, off);
			} else {
				ck_assert_msg(got == 0, "size %u off %u read 0x%llx", size, off,
					      (unsigned long long)got);
				bad++;
			}
		}
	}
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_CONFIG_ACCESS), bad);
	/* for each size s, offsets 25 - s .. 26 cross or pass the end: s + 2 of them */
	ck_assert_uint_eq(bad, (1 + 2) + (2 + 2) + (4 + 2) + (8 + 2));
}
END_TEST

START_TEST(mmio__config_write_near_end_reaches_device_only_when_inside)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	int calls = 0;
	uint64_t bad = 0;

	make_grant();
	for (unsigned int s = 0; s < VXEN_ARRAY_SIZE(sizes); s++) {
		unsigned int size = sizes[s];

		for (unsigned int off = CFG_SIZE - 10; off <= CFG_SIZE + 2; off++) {
			ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_CONFIG_SPACE + off, size,
							 0x8877665544332211ULL),
					 0);
			if (off + size <= CFG_SIZE) {
				calls++;
				ck_assert_int_eq(r.config_write, calls);
				ck_assert_uint_eq(r.last_cfg_off, off);
				ck_assert_uint_eq(r.last_cfg_len, size);
				ck_assert_mem_eq(r.last_cfg_buf, "\x11\x22\x33\x44\x55\x66\x77\x88",
						 size);
			} else {
				ck_assert_int_eq(r.config_write, calls);
				bad++;
			}
		}
	}
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_CONFIG_ACCESS), bad);
}
END_TEST

START_TEST(mmio__config_access_of_bad_size_or_far_offset_reads_zero)
{
	static const unsigned int sizes[] = { 0, 3, 5, 6, 7, 16 };

	make_grant();
	fill_config();
	for (unsigned int i = 0; i < VXEN_ARRAY_SIZE(sizes); i++) {
		ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE, sizes[i]), 0);
		ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_CONFIG_SPACE, sizes[i], 1), 0);
	}
	ck_assert_uint_eq(rdn(0x1ff, 1), 0);
	ck_assert_uint_eq(rdn(0x1000, 4), 0);
	ck_assert_uint_eq(rdn(UINT64_MAX, 1), 0);
	ck_assert_uint_eq(rdn(UINT64_MAX - 3, 8), 0);
	ck_assert_int_eq(vxen_mmio_write(m, UINT64_MAX, 8, 1), 0);
	ck_assert_int_eq(r.config_write, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_CONFIG_ACCESS), 2 * VXEN_ARRAY_SIZE(sizes) + 5);
}
END_TEST

START_TEST(mmio__config_space_of_size_zero_reads_zero_everywhere)
{
	struct vxen_mmio_config c = grant_cfg();
	uint8_t b = 1;

	c.config_size = 0;
	make(&c, &ops);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE, 1), 0);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE, 8), 0);
	ck_assert_int_eq(vxen_mmio_config_set(m, 0, &b, 1), -EINVAL);
	ck_assert_int_eq(vxen_mmio_config_set(m, 0, &b, 0), 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_CONFIG_ACCESS), 2);
}
END_TEST

START_TEST(mmio__config_is_read_only_without_config_write_callback)
{
	struct vxen_mmio_config c = grant_cfg();
	struct vxen_mmio_ops o = ops;

	o.config_write = NULL;
	make(&c, &o);
	fill_config();
	ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_CONFIG_SPACE, 4, 0), 0);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE, 4), pattern_value(0, 4));
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_CONFIG_WRITE), 1);
}
END_TEST

START_TEST(mmio__config_write_stored_only_by_the_device)
{
	make_grant();
	fill_config();
	/* the device sees the write but does not store it: the guest reads the old bytes */
	ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_CONFIG_SPACE + 4, 2, 0xabcd), 0);
	ck_assert_int_eq(r.config_write, 1);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 4, 2), pattern_value(4, 2));
	/* the device stores it */
	r.store_config_writes = true;
	ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_CONFIG_SPACE + 4, 2, 0xabcd), 0);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 4, 2), 0xabcd);
	/* the device refuses it: counted */
	r.config_write_ret = -EPERM;
	ck_assert_int_eq(vxen_mmio_write(m, VXEN_MMIO_CONFIG_SPACE + 4, 2, 0x1111), 0);
	ck_assert_uint_eq(rdn(VXEN_MMIO_CONFIG_SPACE + 4, 2), 0xabcd);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_CONFIG_WRITE), 1);
}
END_TEST

START_TEST(mmio__config_set_changes_generation_only_when_bytes_change)
{
	uint8_t b[4] = { 1, 2, 3, 4 }, out[4];

	make_grant();
	ck_assert_int_eq(vxen_mmio_config_set(m, 20, b, 4), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 1);
	ck_assert_int_eq(vxen_mmio_config_set(m, 20, b, 4), 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 1);
	ck_assert_int_eq(vxen_mmio_config_get(m, 20, out, 4), 0);
	ck_assert_mem_eq(out, b, 4);
	ck_assert_int_eq(vxen_mmio_config_set(m, 21, b, 4), -EINVAL);
	ck_assert_int_eq(vxen_mmio_config_set(m, UINT32_MAX, b, 2), -EINVAL);
	ck_assert_int_eq(vxen_mmio_config_get(m, 21, out, 4), -EINVAL);
	ck_assert_int_eq(vxen_mmio_config_get(m, 1, out, UINT32_MAX), -EINVAL);
	ck_assert_uint_eq(r.irq_up, 0); /* config_set never interrupts */
}
END_TEST

START_TEST(mmio__config_changed_bumps_generation_interrupts_only_after_driver_ok)
{
	make_grant();
	vxen_mmio_config_changed(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(r.irq_up, 0);
	bring_up();
	vxen_mmio_config_changed(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 2);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_CONFIG);
	ck_assert_int_eq(r.irq_up, 1);
	vxen_mmio_config_changed(m); /* bit already set: generation moves, no new raise */
	ck_assert_uint_eq(rd(VXEN_MMIO_CONFIG_GENERATION), 3);
	ck_assert_int_eq(r.irq_up, 1);
	ck_assert_uint_eq(vxen_mmio_stats(m)->config_generation, 3);
}
END_TEST

/* ---------------------------------------------------------------- negotiation, rows 24-25 */

START_TEST(mmio__grant_device_happy_path_negotiation)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, 0);
	ck_assert_int_eq(r.reset, 1);
	wr(VXEN_MMIO_STATUS, S_ACK);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV);
	write_driver_features(F(VXEN_F_VERSION_1) | F(VXEN_F_ACCESS_PLATFORM) | F_EVENT_IDX);
	ck_assert_uint_eq(vxen_mmio_features(m), 0); /* not negotiated yet */
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	ck_assert_int_eq(r.features_ok, 1);
	ck_assert_uint_eq(r.last_features,
			  F(VXEN_F_VERSION_1) | F(VXEN_F_ACCESS_PLATFORM) | F_EVENT_IDX);
	ck_assert_uint_eq(vxen_mmio_features(m), r.last_features);
	ck_assert_uint_eq(setup_queue(0, 128), 1);
	ck_assert_uint_eq(r.last_q.num, 128);
	ck_assert_uint_eq(setup_queue(1, QMAX), 1);
	ck_assert(!vxen_mmio_running(m));
	wr(VXEN_MMIO_STATUS, S_UP);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP);
	ck_assert_int_eq(r.driver_ok, 1);
	ck_assert(vxen_mmio_running(m));
	ck_assert_str_eq(r.events, "RE0E1D");
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

START_TEST(mmio__driver_features_ignored_outside_driver_to_features_ok)
{
	make_grant();
	write_driver_features(WANTED); /* status 0: ignored */
	wr(VXEN_MMIO_STATUS, S_ACK);
	write_driver_features(WANTED); /* ACKNOWLEDGE only: ignored */
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_WRITE), 4);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	/* nothing was stored: FEATURES_OK fails for lack of VERSION_1 */
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV);
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	write_driver_features(F(VXEN_F_VERSION_1) | F(VXEN_F_ACCESS_PLATFORM));
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_WRITE), 6);
	ck_assert_uint_eq(vxen_mmio_features(m), WANTED);
}
END_TEST

START_TEST(mmio__driver_features_sel_above_one_ignored)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_ACK);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features(WANTED);
	wr(VXEN_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VXEN_MMIO_DRIVER_FEATURES, 0xffffffff);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_WRITE), 1);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(vxen_mmio_features(m), WANTED);
}
END_TEST

START_TEST(mmio__features_ok_refused_for_unoffered_bits)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED | F(5)), S_ACK | S_DRV);
	ck_assert_uint_eq(negotiate(WANTED | F(63)), S_ACK | S_DRV);
	ck_assert_int_eq(r.features_ok, 0); /* the device is never asked */
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_REFUSED), 2);
	ck_assert_uint_eq(vxen_mmio_features(m), 0);
}
END_TEST

START_TEST(mmio__features_ok_refused_without_version_1)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED & ~F(VXEN_F_VERSION_1)), S_ACK | S_DRV);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_REFUSED), 1);
}
END_TEST

START_TEST(mmio__features_ok_refused_without_access_platform_on_grant_device)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED & ~F(VXEN_F_ACCESS_PLATFORM)), S_ACK | S_DRV);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_REFUSED), 1);
	/* the driver may retry after a reset */
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
}
END_TEST

START_TEST(mmio__features_ok_without_access_platform_fine_on_foreign_device)
{
	struct vxen_mmio_config c = grant_cfg();

	c.flags = 0;
	c.features &= ~F(VXEN_F_ACCESS_PLATFORM);
	make(&c, &ops);
	ck_assert_uint_eq(negotiate(F(VXEN_F_VERSION_1)), S_ACK | S_DRV | S_FOK);
	ck_assert_uint_eq(vxen_mmio_features(m), F(VXEN_F_VERSION_1));
}
END_TEST

START_TEST(mmio__features_ok_refused_by_device_callback)
{
	make_grant();
	r.features_ok_ret = -ENOTSUP;
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV);
	ck_assert_int_eq(r.features_ok, 1);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_FEATURES_REFUSED), 1);
	ck_assert_uint_eq(vxen_mmio_features(m), 0);
}
END_TEST

START_TEST(mmio__status_bits_never_cleared_except_by_reset)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	wr(VXEN_MMIO_STATUS, S_ACK);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	/* clearing one bit while adding another: the whole write is ignored */
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	ck_assert_int_eq(r.driver_ok, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_STATUS), 2);
	ck_assert_int_eq(r.reset, 1); /* the one from negotiate() */
}
END_TEST

START_TEST(mmio__status_skipping_a_step_leaves_later_bits_clear)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_DRV); /* without ACKNOWLEDGE */
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	wr(VXEN_MMIO_STATUS, S_ACK);
	write_driver_features(WANTED); /* rejected: no DRIVER */
	wr(VXEN_MMIO_STATUS, S_ACK | S_FOK);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features(WANTED);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | S_DOK); /* DRIVER_OK without FEATURES_OK */
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV);
	ck_assert_int_eq(r.driver_ok, 0);
	ck_assert_int_eq(r.features_ok, 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_STATUS), 3);
}
END_TEST

START_TEST(mmio__status_several_bits_in_one_write_taken_in_order)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV);
	write_driver_features(WANTED);
	wr(VXEN_MMIO_STATUS, S_UP);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP);
	ck_assert_int_eq(r.features_ok, 1);
	ck_assert_int_eq(r.driver_ok, 1);
	ck_assert_uint_eq(vxen_mmio_stats(m)->rejected_total, 0);
}
END_TEST

START_TEST(mmio__status_refused_features_ok_stops_a_combined_driver_ok)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV);
	write_driver_features(WANTED | F(5));
	wr(VXEN_MMIO_STATUS, S_UP);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV);
	ck_assert_int_eq(r.driver_ok, 0);
}
END_TEST

START_TEST(mmio__status_reserved_and_device_bits_ignored)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_ACK | 0x10 | 0x20 | 0x100);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK);
	wr(VXEN_MMIO_STATUS, S_ACK | VXEN_MMIO_S_NEEDS_RESET); /* the device's bit */
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_STATUS), 2);
}
END_TEST

START_TEST(mmio__failed_stops_the_device)
{
	make_grant();
	bring_up();
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(r.notify[0], 1);
	wr(VXEN_MMIO_STATUS, S_UP | VXEN_MMIO_S_FAILED);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP | VXEN_MMIO_S_FAILED);
	ck_assert(!vxen_mmio_running(m));
	wr(VXEN_MMIO_QUEUE_NOTIFY, 0);
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[0], 1);
	ck_assert_int_eq(r.notify[1], 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_NOTIFY), 2);
	/* a failed device cannot be made ready again without a reset */
	wr(VXEN_MMIO_QUEUE_SEL, 0);
	wr(VXEN_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(setup_queue(0, QMAX), 0);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_QUEUE_STATE), 1);
	wr(VXEN_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	bring_up();
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[1], 1);
}
END_TEST

START_TEST(mmio__failed_during_init_blocks_further_steps)
{
	make_grant();
	wr(VXEN_MMIO_STATUS, S_ACK | VXEN_MMIO_S_FAILED);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | VXEN_MMIO_S_FAILED);
	wr(VXEN_MMIO_STATUS, S_ACK | S_DRV | VXEN_MMIO_S_FAILED);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | VXEN_MMIO_S_FAILED);
	ck_assert_uint_eq(rejected(VXEN_MMIO_REJ_STATUS), 1);
}
END_TEST

/*
 * DEVICE_NEEDS_RESET informs the driver; it does not stop the transport, so a device can keep
 * serving its healthy queues (the driver may never reset: Linux does not).
 */
START_TEST(mmio__needs_reset_sets_bit_and_interrupts_after_driver_ok_kicks_still_delivered)
{
	make_grant();
	vxen_mmio_needs_reset(m); /* status 0: ignored */
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
	bring_up();
	vxen_mmio_needs_reset(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP | VXEN_MMIO_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), VXEN_MMIO_INT_CONFIG);
	ck_assert_int_eq(r.irq_up, 1);
	vxen_mmio_needs_reset(m); /* already set: no second interrupt */
	ck_assert_int_eq(r.irq_up, 1);
	ck_assert(vxen_mmio_running(m));
	wr(VXEN_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(r.notify[1], 1);
	/* the driver writing back what it read (with the device's bit) plus FAILED is fine */
	wr(VXEN_MMIO_STATUS, S_UP | VXEN_MMIO_S_NEEDS_RESET | VXEN_MMIO_S_FAILED);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS),
			  S_UP | VXEN_MMIO_S_NEEDS_RESET | VXEN_MMIO_S_FAILED);
	ck_assert(!vxen_mmio_running(m));
	wr(VXEN_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), 0);
}
END_TEST

START_TEST(mmio__needs_reset_before_driver_ok_sends_no_interrupt)
{
	make_grant();
	ck_assert_uint_eq(negotiate(WANTED), S_ACK | S_DRV | S_FOK);
	vxen_mmio_needs_reset(m);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_ACK | S_DRV | S_FOK | VXEN_MMIO_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(VXEN_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_int_eq(r.irq_up, 0);
	/* the driver may still finish initialisation; the bit stays */
	wr(VXEN_MMIO_STATUS, S_UP | VXEN_MMIO_S_NEEDS_RESET);
	ck_assert_int_eq(r.driver_ok, 1);
	ck_assert_uint_eq(rd(VXEN_MMIO_STATUS), S_UP | VXEN_MMIO_S_NEEDS_RESET);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mmio");
	TCase *ident = tcase_create("identity"), *acc = tcase_create("access"),
	      *cfg = tcase_create("config"), *neg = tcase_create("negotiation");
	TCase *all[] = { ident, acc, cfg, neg };

	add(ident, mmio__identity_registers_read_magic_version2_ids);
	add(ident, mmio__device_features_word_chosen_by_sel_others_read_zero);
	add(ident, mmio__new_refuses_invalid_configs_and_leaves_out_untouched);
	add(ident, mmio__per_queue_max_sizes_read_back_by_queue_sel);
	add(acc, mmio__control_register_non_32bit_access_reads_zero_write_ignored);
	add(acc, mmio__control_register_unaligned_access_reads_zero_write_ignored);
	add(acc, mmio__write_only_and_undefined_registers_read_zero);
	add(acc, mmio__read_only_and_undefined_registers_ignore_writes);
	add(acc, mmio__shm_registers_report_no_region);
	add(acc, mmio__null_arguments_return_einval);
	add(cfg, mmio__config_reads_little_endian_for_sizes_1_2_4_8);
	add(cfg, mmio__config_read_near_end_inside_returns_bytes_crossing_returns_zero);
	add(cfg, mmio__config_write_near_end_reaches_device_only_when_inside);
	add(cfg, mmio__config_access_of_bad_size_or_far_offset_reads_zero);
	add(cfg, mmio__config_space_of_size_zero_reads_zero_everywhere);
	add(cfg, mmio__config_is_read_only_without_config_write_callback);
	add(cfg, mmio__config_write_stored_only_by_the_device);
	add(cfg, mmio__config_set_changes_generation_only_when_bytes_change);
	add(cfg, mmio__config_changed_bumps_generation_interrupts_only_after_driver_ok);
	add(neg, mmio__grant_device_happy_path_negotiation);
	add(neg, mmio__driver_features_ignored_outside_driver_to_features_ok);
	add(neg, mmio__driver_features_sel_above_one_ignored);
	add(neg, mmio__features_ok_refused_for_unoffered_bits);
	add(neg, mmio__features_ok_refused_without_version_1);
	add(neg, mmio__features_ok_refused_without_access_platform_on_grant_device);
	add(neg, mmio__features_ok_without_access_platform_fine_on_foreign_device);
	add(neg, mmio__features_ok_refused_by_device_callback);
	add(neg, mmio__status_bits_never_cleared_except_by_reset);
	add(neg, mmio__status_skipping_a_step_leaves_later_bits_clear);
	add(neg, mmio__status_several_bits_in_one_write_taken_in_order);
	add(neg, mmio__status_refused_features_ok_stops_a_combined_driver_ok);
	add(neg, mmio__status_reserved_and_device_bits_ignored);
	add(neg, mmio__failed_stops_the_device);
	add(neg, mmio__failed_during_init_blocks_further_steps);
	add(neg, mmio__needs_reset_sets_bit_and_interrupts_after_driver_ok_kicks_still_delivered);
	add(neg, mmio__needs_reset_before_driver_ok_sends_no_interrupt);
	return run_suite(s, all, VXEN_ARRAY_SIZE(all));
}
