/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <string.h>
#include <syslog.h>

#include <virtio-xen/virtio-xen.h>

#include "internal.h"

START_TEST(version__matches_project_version)
{
	ck_assert_str_eq(vxen_version(), VXEN_VERSION_STRING);
}
END_TEST

static char last_msg[512];
static int n_msgs;

static void capture(int level, const char *msg, void *payload)
{
	(void)level;
	(void)payload;
	strncpy(last_msg, msg, sizeof(last_msg) - 1);
	n_msgs++;
}

START_TEST(log__silent_without_handler)
{
	n_msgs = 0;
	vxen_log(LOG_ERR, "nobody hears this");
	ck_assert_int_eq(n_msgs, 0);
}
END_TEST

START_TEST(log__handler_receives_formatted_message)
{
	vxen_log_set_handler(capture, LOG_DEBUG, NULL);
	vxen_log(LOG_INFO, "queue %d broken", 3);
	ck_assert_int_eq(n_msgs, 1);
	ck_assert_str_eq(last_msg, "queue 3 broken");
	vxen_log_set_handler(NULL, 0, NULL);
}
END_TEST

START_TEST(log__level_filter_drops_verbose_messages)
{
	n_msgs = 0;
	vxen_log_set_handler(capture, LOG_WARNING, NULL);
	vxen_log(LOG_DEBUG, "too chatty");
	ck_assert_int_eq(n_msgs, 0);
	vxen_log(LOG_ERR, "important");
	ck_assert_int_eq(n_msgs, 1);
}
END_TEST

START_TEST(log__guest_messages_rate_limited)
{
	struct vxen_ratelimit rl = { 0 };

	n_msgs = 0;
	vxen_log_set_handler(capture, LOG_DEBUG, NULL);
	for (int i = 0; i < 1000; i++)
		vxen_log_guest(&rl, LOG_WARNING, "bad descriptor %d", i);
	ck_assert_int_eq(n_msgs, VXEN_RATELIMIT_BURST);
	ck_assert_uint_eq(rl.suppressed, 1000 - VXEN_RATELIMIT_BURST);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, version__matches_project_version);
	tcase_add_test(tc, log__silent_without_handler);
	tcase_add_test(tc, log__handler_receives_formatted_message);
	tcase_add_test(tc, log__level_filter_drops_verbose_messages);
	tcase_add_test(tc, log__guest_messages_rate_limited);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
