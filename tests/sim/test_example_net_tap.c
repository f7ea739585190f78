/* SPDX-License-Identifier: MIT */
/*
 * test_example_net_tap.c — virtio-xen-net with its default backend, a real TAP device, in a
 * private network namespace. The host side of the tap is reached through AF_PACKET sockets
 * bound to the interface with PACKET_VNET_HDR, so the kernel's own view of checksum and GSO
 * metadata is checked: what the guest sends enters the host stack unchanged (still partial,
 * still one GSO frame), and what the host sends reaches the guest with its offloads kept only
 * because the daemon told the tap (TUNSETOFFLOAD) that the guest accepts them.
 *
 * Needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN for the namespace) and /dev/net/tun;
 * otherwise the program prints why and exits 77 (skipped).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "helper_example_net.h"

#define TSO_LEN 4000u /* more than two segments of 1448 */

static struct exnet w;
static uint8_t guest_mac[6];
static char ifname[IFNAMSIZ];
static int ifindex, pk_test, pk_ip; /* packet sockets: our ethertype, and IPv4 */
static uint8_t tx[70000], rx[70000];

/* An AF_PACKET socket on the tap for @proto; with the 10-byte vnet header if @vnet. */
static int packet_socket(uint16_t proto, bool vnet)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(proto),
				   .sll_ifindex = ifindex };
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));

	ck_assert_int_ge(fd, 0);
	if (vnet)
		ck_assert_int_eq(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

static void iface_up(void)
{
	struct ifreq ifr = { 0 };
	char path[128];
	int fd;

	/* No IPv6 autoconfiguration chatter on the link: only our frames cross it. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ck_assert_int_eq(write(fd, "1", 1), 1);
		close(fd);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static void setup(void)
{
	struct xensim_net_opts o = XENSIM_NET_OPTS_INIT;
	const char *args[] = { "-v", NULL };
	uint32_t domid;

	/* A private network namespace for the daemon's tap (checked possible by main()). */
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	exnet_start(&w);
	exnet_daemon_start(&w, args);
	domid = exnet_guest(&w);
	exnet_nic(&w, domid, 0);
	o.features = EXNET_ALL_OFFLOADS;
	exnet_attach(&w, domid, &o);
	ck_assert_int_eq(xensim_net_mac(w.net, guest_mac), 0);
	snprintf(ifname, sizeof(ifname), "vxen%u.0", domid); /* the daemon's default name */
	ifindex = (int)if_nametoindex(ifname);
	ck_assert_msg(ifindex > 0, "no interface %s; daemon log:\n%s", ifname,
		      exnet_daemon_log(&w));
	iface_up();
	pk_test = packet_socket(EXNET_ETHERTYPE, false);
	pk_ip = packet_socket(ETH_P_IP, true);
}

static void teardown(void)
{
	close(pk_test);
	close(pk_ip);
	exnet_stop(&w);
}

/* Receive on packet socket @fd a frame the tap's host side got (not one we sent). */
static long host_recv(int fd, struct virtio_net_hdr *vh, void *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_ll from;
	struct iovec iov[2] = { { vh, sizeof(*vh) }, { buf, cap } };
	struct msghdr m = { .msg_name = &from,
			    .msg_iov = vh ? iov : iov + 1,
			    .msg_iovlen = vh ? 2 : 1 };
	ssize_t n;

	for (;;) {
		m.msg_namelen = sizeof(from);
		if (poll(&pfd, 1, EXNET_TMO) != 1)
			return -ETIMEDOUT;
		n = recvmsg(fd, &m, 0);
		ck_assert_int_gt(n, 0);
		if (from.sll_pkttype != PACKET_OUTGOING)
			return vh ? n - (long)sizeof(*vh) : n;
	}
}

static void host_send(int fd, const struct virtio_net_hdr *vh, const void *frame, size_t len)
{
	struct iovec iov[2] = { { (void *)vh, sizeof(*vh) }, { (void *)frame, len } };
	struct msghdr m = { .msg_iov = vh ? iov : iov + 1, .msg_iovlen = vh ? 2 : 1 };

	ck_assert_int_eq(sendmsg(fd, &m, 0), (ssize_t)(len + (vh ? sizeof(*vh) : 0)));
}

/* The guest receives the next frame whose first @match bytes equal @frame's. */
static struct xensim_net_hdr guest_recv_match(const void *frame, size_t len, size_t match)
{
	struct xensim_net_hdr h;
	size_t n;

	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(xensim_net_recv(w.net, &h, rx, sizeof(rx), &n, EXNET_TMO), 0);
		if (n == len && !memcmp(rx, frame, match))
			return h;
	}
	ck_abort_msg("the frame never reached the guest");
	return h;
}

/* An IPv4/TCP frame to the guest of @len bytes, prepared for TSO as Linux does. */
static void tcp_frame(uint8_t *p, size_t len)
{
	uint8_t *ip = p + 14, *tcp = p + 34;
	uint32_t s;

	exnet_udp_frame(p, len, 7); /* Ethernet + IPv4 header with checksum + payload */
	memcpy(p, guest_mac, 6);
	ip[9] = 6; /* TCP: redo the header checksum */
	ip[10] = ip[11] = 0;
	s = 0;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ip[10] = (uint8_t)(~s >> 8);
	ip[11] = (uint8_t)~s;
	memset(tcp, 0, 20);
	tcp[1] = 80;
	tcp[3] = 81;
	tcp[12] = 5 << 4; /* data offset */
	tcp[13] = 0x18;	  /* PSH ACK */
	tcp[14] = 0xff;
}

START_TEST(net_tap__plain_frames_cross_both_ways)
{
	long n;

	for (uint32_t i = 0; i < 3; i++) {
		exnet_frame(tx, 60 + 700 * i, NULL, i, 200 + i);
		ck_assert_int_eq(xensim_net_send(w.net, NULL, tx, 60 + 700 * i, EXNET_TMO), 0);
		n = host_recv(pk_test, NULL, rx, sizeof(rx));
		ck_assert_int_eq(n, 60 + 700 * i);
		ck_assert_int_eq(memcmp(rx, tx, (size_t)n), 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		exnet_frame(tx, 60 + 700 * i, guest_mac, i, 300 + i);
		host_send(pk_test, NULL, tx, 60 + 700 * i);
		guest_recv_match(tx, 60 + 700 * i, 60 + 700 * i);
	}
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_frames"), 3);
	ck_assert_uint_eq(exnet_stat(&w, w.domid, 0, "tx_errors"), 0);
}
END_TEST

START_TEST(net_tap__checksum_offload_crosses_both_ways)
{
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .csum_start = 34,
				     .csum_offset = 6 };
	struct xensim_net_hdr h = { .flags = XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .csum_start = 34,
				    .csum_offset = 6 };
	long n;

	/* Guest → host: the host stack gets the packet still CHECKSUM_PARTIAL. */
	exnet_udp_frame(tx, 500, 400);
	ck_assert_int_eq(xensim_net_send(w.net, &h, tx, 500, EXNET_TMO), 0);
	memset(&vh, 0, sizeof(vh));
	n = host_recv(pk_ip, &vh, rx, sizeof(rx));
	ck_assert_int_eq(n, 500);
	ck_assert_int_eq(memcmp(rx, tx, 500), 0);
	ck_assert_uint_eq(vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(vh.csum_start, 34);
	ck_assert_uint_eq(vh.csum_offset, 6);

	/* Host → guest: the kernel leaves the checksum to the guest (GUEST_CSUM). */
	exnet_udp_frame(tx, 600, 401);
	memcpy(tx, guest_mac, 6);
	vh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .csum_start = 34,
				      .csum_offset = 6 };
	host_send(pk_ip, &vh, tx, 600);
	h = guest_recv_match(tx, 600, 34);
	ck_assert_uint_eq(h.flags & XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
			  XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.csum_start, 34);
	ck_assert_uint_eq(h.csum_offset, 6);
	ck_assert_int_eq(memcmp(rx, tx, 600), 0); /* the field still holds the pseudo sum */
}
END_TEST

START_TEST(net_tap__tso_frames_cross_unsegmented)
{
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				     .hdr_len = 54,
				     .gso_size = 1448,
				     .csum_start = 34,
				     .csum_offset = 16 };
	struct xensim_net_hdr h = { XENSIM_VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    XENSIM_VIRTIO_NET_HDR_GSO_TCPV4,
				    54,
				    1448,
				    34,
				    16,
				    0 };
	long n;

	/* Guest → host: one 4000-byte GSO frame enters the host stack as such. */
	tcp_frame(tx, TSO_LEN);
	ck_assert_int_eq(xensim_net_send(w.net, &h, tx, TSO_LEN, EXNET_TMO), 0);
	memset(&vh, 0, sizeof(vh));
	n = host_recv(pk_ip, &vh, rx, sizeof(rx));
	ck_assert_int_eq(n, TSO_LEN);
	ck_assert_int_eq(memcmp(rx + 14, tx + 14, TSO_LEN - 14), 0);
	ck_assert_uint_eq(vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(vh.gso_size, 1448);

	/* Host → guest: not segmented by the kernel, since the guest takes TSO4. */
	tcp_frame(tx, TSO_LEN);
	tx[TSO_LEN - 1] ^= 0x5a;
	vh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				      .hdr_len = 54,
				      .gso_size = 1448,
				      .csum_start = 34,
				      .csum_offset = 16 };
	host_send(pk_ip, &vh, tx, TSO_LEN);
	h = guest_recv_match(tx, TSO_LEN, 34);
	ck_assert_uint_eq(h.gso_type, XENSIM_VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(h.gso_size, 1448);
	ck_assert_uint_gt(h.num_buffers, 1);
	ck_assert_int_eq(memcmp(rx + 54, tx + 54, TSO_LEN - 54), 0);
}
END_TEST

/* NULL if this machine can run the test, else why not. */
static const char *tap_unavailable(void)
{
	static char why[160];
	int fd, status;
	pid_t pid;

	if (geteuid() != 0)
		return "not root (needs CAP_NET_ADMIN and a network namespace)";
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "/dev/net/tun: %s", strerror(errno));
		return why;
	}
	close(fd);
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return "cannot create a network namespace (unshare(CLONE_NEWNET))";
	return NULL;
}

int main(void)
{
	const char *why = tap_unavailable();
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (why) {
		printf("SKIPPED: the TAP test cannot run here: %s\n", why);
		return 77;
	}
	s = suite_create("example_net_tap");
	tc = tcase_create("tap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, net_tap__plain_frames_cross_both_ways);
	tcase_add_test(tc, net_tap__checksum_offload_crosses_both_ways);
	tcase_add_test(tc, net_tap__tso_frames_cross_unsegmented);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
