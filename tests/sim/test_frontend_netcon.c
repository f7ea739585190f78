/* SPDX-License-Identifier: MIT */
/*
 * The guest-side virtio-net and virtio-console drivers (xensim_net, xensim_console) against fake
 * devices (frontend_fake.h): config, tx framing, rx (mergeable and small buffers), console I/O.
 */
#include <linux/virtio_console.h>
#include <linux/virtio_net.h>
#include <stddef.h>

#include "frontend_fake.h"

#define BIT(n) XENSIM_VIRTIO_BIT(n)

static struct fk_dev dev;
static xengnttab_handle *xgt; /* the test thread's device-side handle (injection) */
static struct {
	unsigned int nsegs;
	uint8_t data[70000];
	uint32_t len, seg0_len;
	bool any_writable;
	unsigned int count;
} tx;

/* Record what the device received on a transmit queue, concatenated. */
static uint32_t sink(struct fk_dev *d, unsigned int q, struct fk_seg *s, unsigned int n)
{
	tx.nsegs = n;
	tx.len = 0;
	tx.seg0_len = s[0].len;
	for (unsigned int i = 0; i < n; i++) {
		tx.any_writable |= s[i].wr;
		if (tx.len + s[i].len <= sizeof(tx.data))
			memcpy(tx.data + tx.len, s[i].p, s[i].len);
		tx.len += s[i].len;
	}
	tx.count++;
	return 0;
}

static void setup(void)
{
	fk_machine_up();
	memset(&tx, 0, sizeof(tx));
	xgt = xengnttab_open(NULL, 0);
	ck_assert_ptr_nonnull(xgt);
}

static void teardown(void)
{
	xengnttab_close(xgt);
	fk_machine_down();
}

/* ------------------------------------------------------------------------------------------ */
/* virtio-net                                                                                  */

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void net_device(uint64_t features)
{
	uint16_t st = htole16(VIRTIO_NET_S_LINK_UP);

	fk_init(&dev, XENSIM_VIRTIO_ID_NET,
		features | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
			BIT(XENSIM_VIRTIO_F_EVENT_IDX) | BIT(XENSIM_VIRTIO_F_INDIRECT_DESC),
		2, 64);
	dev.config_len = sizeof(struct virtio_net_config);
	memcpy(dev.config + offsetof(struct virtio_net_config, mac), mac, 6);
	memcpy(dev.config + offsetof(struct virtio_net_config, status), &st, 2);
	dev.handler[1] = sink;
}

static xensim_net *new_net(const struct xensim_net_opts *o)
{
	xensim_net *net = NULL;

	fk_start(&dev);
	ck_assert_int_eq(xensim_net_new(&net, g, 0, FK_BASE, FK_SPI, o), 0);
	return net;
}

static void net_done(xensim_net *net)
{
	ck_assert_int_eq(xensim_net_free(net), 0);
	fk_stop(&dev);
}

/* Inject a frame with a mergeable header claiming @nbuf buffers, into at most @max buffers. */
static int inject_frame(const void *frame, size_t len, uint16_t nbuf, unsigned int max)
{
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr.flags = VIRTIO_NET_HDR_F_DATA_VALID,
					      .num_buffers = htole16(nbuf) };

	return fk_inject(&dev, xgt, 0, &h, sizeof(h), frame, len, max);
}

START_TEST(net__config_mac_and_link_status)
{
	xensim_net *net;
	uint8_t m[6];
	uint16_t st = 0;

	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF));
	net = new_net(NULL);
	ck_assert_int_eq(xensim_net_mac(net, m), 0);
	ck_assert_mem_eq(m, mac, 6);
	ck_assert_int_eq(xensim_net_status(net, &st), 0);
	ck_assert_uint_eq(st, XENSIM_VIRTIO_NET_S_LINK_UP);
	ck_assert(dev.status & XENSIM_VIRTIO_S_DRIVER_OK);
	net_done(net);
}
END_TEST

START_TEST(net__send_puts_v1_header_before_frame_in_one_descriptor)
{
	struct xensim_net_hdr h = { .flags = XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = XENSIM_VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = 54,
				    .gso_size = 1448,
				    .csum_start = 34,
				    .csum_offset = 16 };
	struct virtio_net_hdr_mrg_rxbuf got;
	uint8_t frame[3000];
	xensim_net *net;
	struct xensim_net_stats st;

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 3);
	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CSUM));
	net = new_net(NULL);
	ck_assert_int_eq(xensim_net_send(net, &h, frame, sizeof(frame), 5000), 0);
	ck_assert_uint_eq(tx.count, 1);
	ck_assert_uint_eq(tx.nsegs, 1);
	ck_assert(!tx.any_writable);
	ck_assert_uint_eq(tx.len, 12 + sizeof(frame));
	memcpy(&got, tx.data, 12);
	ck_assert_uint_eq(got.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(got.hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(le16toh(got.hdr.hdr_len), 54);
	ck_assert_uint_eq(le16toh(got.hdr.gso_size), 1448);
	ck_assert_uint_eq(le16toh(got.hdr.csum_start), 34);
	ck_assert_uint_eq(le16toh(got.hdr.csum_offset), 16);
	ck_assert_uint_eq(le16toh(got.num_buffers), 0);
	ck_assert_mem_eq(tx.data + 12, frame, sizeof(frame));
	ck_assert_int_eq(xensim_net_tx_reclaim(net), 1);
	xensim_net_get_stats(net, &st);
	ck_assert_uint_eq(st.tx_frames, 1);
	ck_assert_uint_eq(st.tx_bytes, sizeof(frame));
	net_done(net);
}
END_TEST

START_TEST(net__send_sg_keeps_header_in_its_own_descriptor)
{
	xensim_net *net;
	struct xensim_sg sg[2];
	uint64_t gpa;

	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF));
	net = new_net(NULL);
	ck_assert_int_eq(xensim_guest_alloc_pages(g, 2, &gpa), 0);
	memset(xensim_guest_ptr(g, gpa, 8192), 0xab, 8192);
	sg[0] = (struct xensim_sg){ gpa, 60 };
	sg[1] = (struct xensim_sg){ gpa + 4096, 1000 };
	ck_assert_int_eq(xensim_net_send_sg(net, NULL, sg, 2, 5000), 0);
	ck_assert_uint_eq(tx.nsegs, 3);
	ck_assert_uint_eq(tx.seg0_len, 12);
	ck_assert_uint_eq(tx.len, 12 + 60 + 1000);
	ck_assert_uint_eq(tx.data[12], 0xab);
	net_done(net);
}
END_TEST

START_TEST(net__many_sends_reuse_the_ring)
{
	uint8_t frame[100] = { 1 };
	xensim_net *net;

	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF));
	net = new_net(NULL);
	for (int i = 0; i < 500; i++)
		ck_assert_int_eq(xensim_net_send(net, NULL, frame, sizeof(frame), 5000), 0);
	ck_assert_uint_eq(tx.count, 500);
	net_done(net);
}
END_TEST

START_TEST(net__recv_reassembles_mergeable_frame)
{
	uint8_t frame[4000], buf[5000];
	struct xensim_net_hdr h;
	struct xensim_net_stats st;
	xensim_net *net;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 3);
	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF));
	net = new_net(NULL); /* 1536-byte buffers */
	/* 12 + 4000 bytes over 1536-byte buffers: 3 buffers. */
	ck_assert_int_eq(inject_frame(frame, sizeof(frame), 3, 3), 3);
	ck_assert_int_eq(xensim_net_recv(net, &h, buf, sizeof(buf), &len, 5000), 0);
	ck_assert_uint_eq(len, sizeof(frame));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	ck_assert_uint_eq(h.num_buffers, 3);
	ck_assert_uint_eq(h.flags, XENSIM_VIRTIO_NET_HDR_F_DATA_VALID);
	xensim_net_get_stats(net, &st);
	ck_assert_uint_eq(st.rx_frames, 1);
	ck_assert_uint_eq(st.rx_reposted, 3);
	ck_assert_int_eq(xensim_net_recv(net, &h, buf, sizeof(buf), &len, 50), -ETIMEDOUT);
	net_done(net);
}
END_TEST

START_TEST(net__recv_small_buffers_without_mrg_rxbuf)
{
	uint8_t frame[1514], buf[2000];
	xensim_net *net;
	size_t len = 0;

	memset(frame, 0x42, sizeof(frame));
	net_device(0);
	net = new_net(NULL);
	ck_assert(!xensim_vdev_has_feature(xensim_net_vdev(net), XENSIM_VIRTIO_NET_F_MRG_RXBUF));
	ck_assert_int_eq(inject_frame(frame, sizeof(frame), 0, 1), 1);
	ck_assert_int_eq(xensim_net_recv(net, NULL, buf, sizeof(buf), &len, 5000), 0);
	ck_assert_uint_eq(len, sizeof(frame));
	ck_assert_mem_eq(buf, frame, sizeof(frame));
	net_done(net);
}
END_TEST

START_TEST(net__recv_drops_frame_with_missing_buffers)
{
	uint8_t frame[100], buf[200];
	struct xensim_net_stats st;
	xensim_net *net;
	size_t len = 0;

	memset(frame, 0x11, sizeof(frame));
	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF));
	net = new_net(NULL);
	ck_assert_int_eq(inject_frame(frame, sizeof(frame), 3, 1), 1); /* claims 3, sends 1 */
	ck_assert_int_eq(xensim_net_recv(net, NULL, buf, sizeof(buf), &len, 100), -ETIMEDOUT);
	xensim_net_get_stats(net, &st);
	ck_assert_uint_eq(st.rx_missing_buffers, 1);
	ck_assert_uint_eq(st.rx_frames, 0);
	/* The next good frame still arrives. */
	memset(frame, 0x22, sizeof(frame));
	ck_assert_int_eq(inject_frame(frame, sizeof(frame), 1, 1), 1);
	ck_assert_int_eq(xensim_net_recv(net, NULL, buf, sizeof(buf), &len, 5000), 0);
	ck_assert_uint_eq(len, 100);
	ck_assert_uint_eq(buf[0], 0x22);
	net_done(net);
}
END_TEST

START_TEST(net__recv_drops_frame_with_zero_num_buffers)
{
	uint8_t frame[100], buf[200];
	struct xensim_net_stats st;
	xensim_net *net;
	size_t len;

	memset(frame, 0x11, sizeof(frame));
	net_device(BIT(VIRTIO_NET_F_MRG_RXBUF));
	net = new_net(NULL);
	ck_assert_int_eq(inject_frame(frame, sizeof(frame), 0, 1), 1);
	ck_assert_int_eq(xensim_net_recv(net, NULL, buf, sizeof(buf), &len, 100), -ETIMEDOUT);
	xensim_net_get_stats(net, &st);
	ck_assert_uint_eq(st.rx_missing_buffers, 1);
	ck_assert_uint_eq(st.rx_frames, 0);
	net_done(net);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* virtio-console                                                                              */

static void con_device(uint64_t features)
{
	struct virtio_console_config c = { .cols = htole16(132), .rows = htole16(43) };

	fk_init(&dev, XENSIM_VIRTIO_ID_CONSOLE, features | BIT(XENSIM_VIRTIO_F_EVENT_IDX), 2, 32);
	dev.config_len = sizeof(c);
	memcpy(dev.config, &c, sizeof(c));
	dev.handler[1] = sink;
}

static xensim_console *new_con(void)
{
	xensim_console *con = NULL;

	fk_start(&dev);
	ck_assert_int_eq(xensim_console_new(&con, g, 0, FK_BASE, FK_SPI, NULL), 0);
	return con;
}

static void con_done(xensim_console *con)
{
	ck_assert_int_eq(xensim_console_free(con), 0);
	fk_stop(&dev);
}

START_TEST(console__write_sends_bytes_on_transmitq)
{
	xensim_console *con;
	static char big[10000];

	con_device(0);
	con = new_con();
	ck_assert_int_eq(xensim_console_write(con, "hello, xen\n", 11, 5000), 0);
	ck_assert_uint_eq(tx.len, 11);
	ck_assert_mem_eq(tx.data, "hello, xen\n", 11);
	ck_assert(!tx.any_writable);
	/* Large writes go out in page-sized chunks. */
	memset(big, 'x', sizeof(big));
	tx.count = 0;
	ck_assert_int_eq(xensim_console_write(con, big, sizeof(big), 5000), 0);
	ck_assert_uint_eq(tx.count, 3);
	ck_assert_uint_eq(tx.len, sizeof(big) - 2 * 4096);
	con_done(con);
}
END_TEST

START_TEST(console__read_returns_received_bytes_in_order)
{
	xensim_console *con;
	char buf[64];

	con_device(0);
	con = new_con();
	ck_assert_int_eq(fk_inject(&dev, xgt, 0, NULL, 0, "abcdef", 6, 1), 1);
	ck_assert_int_eq(fk_inject(&dev, xgt, 0, NULL, 0, "ghij", 4, 1), 1);
	ck_assert_int_eq(xensim_console_read(con, buf, 4, 5000), 4);
	ck_assert_mem_eq(buf, "abcd", 4);
	ck_assert_int_eq(xensim_console_read(con, buf, sizeof(buf), 5000), 6);
	ck_assert_mem_eq(buf, "efghij", 6);
	ck_assert_int_eq(xensim_console_read(con, buf, sizeof(buf), 50), -ETIMEDOUT);
	con_done(con);
}
END_TEST

START_TEST(console__reposts_buffers_so_input_never_runs_dry)
{
	xensim_console *con;
	char buf[8];

	con_device(0);
	con = new_con(); /* 32 buffers posted */
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(fk_inject(&dev, xgt, 0, NULL, 0, "z", 1, 1), 1);
		ck_assert_int_eq(xensim_console_read(con, buf, sizeof(buf), 5000), 1);
	}
	con_done(con);
}
END_TEST

START_TEST(console__size_and_emergency_write_follow_features)
{
	xensim_console *con;
	uint16_t cols = 0, rows = 0;
	uint32_t emerg;

	con_device(BIT(VIRTIO_CONSOLE_F_SIZE) | BIT(VIRTIO_CONSOLE_F_EMERG_WRITE));
	con = new_con();
	ck_assert_int_eq(xensim_console_size(con, &cols, &rows), 0);
	ck_assert_uint_eq(cols, 132);
	ck_assert_uint_eq(rows, 43);
	ck_assert_int_eq(xensim_console_emerg_write(con, '!'), 0);
	memcpy(&emerg, dev.config + offsetof(struct virtio_console_config, emerg_wr), 4);
	ck_assert_uint_eq(le32toh(emerg), '!');
	con_done(con);
}
END_TEST

START_TEST(console__size_needs_the_feature)
{
	xensim_console *con;
	uint16_t cols, rows;

	con_device(0);
	con = new_con();
	ck_assert_int_eq(xensim_console_size(con, &cols, &rows), -EOPNOTSUPP);
	ck_assert_int_eq(xensim_console_emerg_write(con, 'x'), -EOPNOTSUPP);
	con_done(con);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("frontend_netcon");
	TCase *tn = tcase_create("net"), *tc = tcase_create("console");

	tcase_add_checked_fixture(tn, setup, teardown);
	tcase_set_timeout(tn, 30);
	tcase_add_test(tn, net__config_mac_and_link_status);
	tcase_add_test(tn, net__send_puts_v1_header_before_frame_in_one_descriptor);
	tcase_add_test(tn, net__send_sg_keeps_header_in_its_own_descriptor);
	tcase_add_test(tn, net__many_sends_reuse_the_ring);
	tcase_add_test(tn, net__recv_reassembles_mergeable_frame);
	tcase_add_test(tn, net__recv_small_buffers_without_mrg_rxbuf);
	tcase_add_test(tn, net__recv_drops_frame_with_missing_buffers);
	tcase_add_test(tn, net__recv_drops_frame_with_zero_num_buffers);
	suite_add_tcase(s, tn);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, console__write_sends_bytes_on_transmitq);
	tcase_add_test(tc, console__read_returns_received_bytes_in_order);
	tcase_add_test(tc, console__reposts_buffers_so_input_never_runs_dry);
	tcase_add_test(tc, console__size_and_emergency_write_follow_features);
	tcase_add_test(tc, console__size_needs_the_feature);
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
