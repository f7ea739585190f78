/* SPDX-License-Identifier: MIT */
/*
 * xensim xenstored against broken or hostile clients: bad lengths, garbage, unterminated
 * strings, clients that never read. The server must answer with errors or hang up, never crash
 * or stall other clients.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>

#include "xenstore_test.h"

static char buf[XENSTORE_PAYLOAD_MAX + 1];
static struct xsd_sockmsg h;

/* The server still serves a fresh, well-behaved client. */
static void assert_server_alive(void)
{
	struct xs_client *c = xst_open(0);

	ck_assert_int_eq(xst_write(c, 0, "/alive", "yes"), 0);
	xst_expect(c, "/alive", "yes");
	xs_client_close(c);
}

/* True if the server closed @fd (EOF seen within @ms, other data discarded). */
static bool hung_up(int fd, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 10) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n == 0 || (n < 0 && errno == ECONNRESET))
				return true;
		}
	}
	return false;
}

START_TEST(xenstore__length_over_payload_max_gets_client_disconnected)
{
	int fd = xst_raw_connect();
	struct xsd_sockmsg bad = { .type = XS_READ, .len = XENSTORE_PAYLOAD_MAX + 1 };

	ck_assert_int_eq(send(fd, &bad, sizeof(bad), MSG_NOSIGNAL), (ssize_t)sizeof(bad));
	ck_assert(hung_up(fd, 5000));
	close(fd);
	assert_server_alive();
}
END_TEST

START_TEST(xenstore__unknown_or_reply_only_types_get_EINVAL)
{
	static const uint32_t
		types[] = { XS_WATCH_EVENT, XS_ERROR,	 XS_TYPE_COUNT,
			    0xffff,	    0xffffffffu, 20 /* removed XS_RESTRICT */ };
	int fd = xst_raw_connect();

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		xst_raw_call(fd, types[i], 0, "/x", 3, &h, buf);
		ck_assert_uint_eq(h.type, XS_ERROR);
		ck_assert_str_eq(buf, "EINVAL");
	}
	close(fd);
}
END_TEST

START_TEST(xenstore__unterminated_or_missing_strings_get_EINVAL)
{
	int fd = xst_raw_connect();

	xst_raw_call(fd, XS_READ, 0, "/a", 2, &h, buf); /* no NUL */
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_READ, 0, "/a\0/b", 6, &h, buf); /* two strings */
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_READ, 0, NULL, 0, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_WRITE, 0, "/nonul", 6, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_WATCH, 0, "/only-path", 11, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_SET_PERMS, 0, "/a", 3, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_TRANSACTION_END, 0, "T", 1, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_DIRECTORY_PART, 0, "/\0abc\0", 6, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	xst_raw_call(fd, XS_GET_DOMAIN_PATH, 0, "99999999999\0", 12, &h, buf);
	ck_assert_str_eq(buf, "EINVAL");
	close(fd);
	assert_server_alive();
}
END_TEST

START_TEST(xenstore__half_a_message_then_hangup_is_harmless)
{
	int fd = xst_raw_connect();
	struct xsd_sockmsg m = { .type = XS_WRITE, .len = 100 };

	ck_assert_int_eq(send(fd, &m, sizeof(m), MSG_NOSIGNAL), (ssize_t)sizeof(m));
	ck_assert_int_eq(send(fd, "/half\0", 6, MSG_NOSIGNAL), 6);
	close(fd);
	fd = xst_raw_connect();
	ck_assert_int_eq(send(fd, &m, 7, MSG_NOSIGNAL), 7); /* half a header */
	close(fd);
	assert_server_alive();
}
END_TEST

START_TEST(xenstore__random_garbage_never_crashes_the_server)
{
	unsigned int seed = 1234;
	int fd = xst_raw_connect();

	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 2000; i++) {
		struct xsd_sockmsg m = { .type = (uint32_t)rand_r(&seed) % (XS_TYPE_COUNT + 2),
					 .req_id = (uint32_t)i,
					 .tx_id = (uint32_t)rand_r(&seed) % 3,
					 .len = (uint32_t)rand_r(&seed) % 64 };
		char junk[64];

		for (unsigned int j = 0; j < m.len; j++) {
			int r = rand_r(&seed) % 8;

			/* mostly path-like bytes, with NULs and junk mixed in */
			junk[j] = r == 0 ? '\0' : r == 1 ? (char)rand_r(&seed) : "/ab@-_"[r % 6];
		}
		if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0 ||
		    send(fd, junk, m.len, MSG_NOSIGNAL) < 0)
			break; /* the server may hang up on us: fine */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	close(fd);
	assert_server_alive();
}
END_TEST

START_TEST(xenstore__pipelined_requests_are_answered_in_order)
{
	int fd = xst_raw_connect();

	for (uint32_t i = 0; i < 200; i++)
		xst_raw_send(fd, XS_WRITE, 1000 + i, 0, "/pipe\0v", 7);
	for (uint32_t i = 0; i < 200; i++) {
		ck_assert_int_eq(xst_raw_recv(fd, &h, buf, 5000), 0);
		ck_assert_uint_eq(h.type, XS_WRITE);
		ck_assert_uint_eq(h.req_id, 1000 + i);
	}
	close(fd);
}
END_TEST

START_TEST(xenstore__client_that_never_reads_is_dropped)
{
	struct xs_client *c = xst_open(0);
	struct xensim_counters k = { 0 };
	int fd = xst_raw_connect(), small = 4096, i;
	char path[2100];

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	xst_raw_send(fd, XS_WATCH, 1, 0, "/\0flood\0", 8);
	memset(path, 'p', sizeof(path));
	memcpy(path, "/flood/", 7);
	/* Each write queues a ~2 KiB event for the sleeper; the server caps its queue. */
	for (i = 0; i < 5000; i++) {
		snprintf(path + 2000, 20, "%d", i);
		ck_assert_int_eq(xst_write(c, 0, path, ""), 0);
		if (i % 50)
			continue;
		xs_server_counters(xst_srv, &k);
		if (!k.xs_watches_live)
			break;
	}
	ck_assert_uint_eq(k.xs_watches_live, 0);
	ck_assert_int_lt(i, 5000);
	ck_assert(hung_up(fd, 5000));
	close(fd);
	assert_server_alive();
	xs_client_close(c);
}
END_TEST

START_TEST(xenstore__transaction_start_ignores_its_payload)
{
	int fd = xst_raw_connect();

	xst_raw_call(fd, XS_TRANSACTION_START, 0, NULL, 0, &h, buf);
	ck_assert_uint_eq(h.type, XS_TRANSACTION_START);
	ck_assert_str_eq(buf, "1");
	close(fd);
}
END_TEST

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

START_TEST(xenstore__running_out_of_descriptors_does_not_spin_the_server)
{
	struct rlimit old, low;
	int fds[128], n = 0;
	double before;

	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 48;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Client sockets and the server's accepted ones share this process's descriptors. */
	while (n < 128) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		memcpy(a.sun_path, xst_sock, strlen(xst_sock) + 1);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			close(fd);
			break;
		}
		fds[n++] = fd;
		usleep(2000);
	}
	usleep(100000);
	before = cpu_seconds();
	usleep(400000);
	ck_assert_double_lt(cpu_seconds() - before, 0.2);
	while (n)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	assert_server_alive();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_hostile");
	TCase *tc = tcase_create("hostile");

	tcase_add_checked_fixture(tc, xst_setup, xst_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, xenstore__length_over_payload_max_gets_client_disconnected);
	tcase_add_test(tc, xenstore__unknown_or_reply_only_types_get_EINVAL);
	tcase_add_test(tc, xenstore__unterminated_or_missing_strings_get_EINVAL);
	tcase_add_test(tc, xenstore__half_a_message_then_hangup_is_harmless);
	tcase_add_test(tc, xenstore__random_garbage_never_crashes_the_server);
	tcase_add_test(tc, xenstore__pipelined_requests_are_answered_in_order);
	tcase_add_test(tc, xenstore__client_that_never_reads_is_dropped);
	tcase_add_test(tc, xenstore__transaction_start_ignores_its_payload);
	tcase_add_test(tc, xenstore__running_out_of_descriptors_does_not_spin_the_server);
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
