/* SPDX-License-Identifier: MIT */
/*
 * test_example_blk_cli.c — virtio-xen-blk's command line: --help and --version exit 0, every
 * usage error prints one clear line naming the option and exits 2, failures to start exit 1.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "helper_example_blk.h"

static char out[16384];

static int run(const char *const *args)
{
	int status = exblk_run(args, out, sizeof(out));

	ck_assert_msg(WIFEXITED(status), "killed: %#x; output:\n%s", status, out);
	return WEXITSTATUS(status);
}

START_TEST(cli__help_and_version_exit_0)
{
	const char *help[] = { "--help", NULL }, *version[] = { "-V", NULL };

	ck_assert_int_eq(run(help), 0);
	ck_assert_ptr_nonnull(strstr(out, "Usage: virtio-xen-blk [OPTION]..."));
	ck_assert_ptr_nonnull(strstr(out, "--image PATH"));
	ck_assert_ptr_nonnull(strstr(out, "--domid N"));
	ck_assert_int_eq(run(version), 0);
	ck_assert_ptr_nonnull(strstr(out, "virtio-xen-blk (libvirtio-xen "));
}
END_TEST

static const struct {
	const char *args[12];
	const char *message;
} usage_errors[] = {
	{ { "--irq", "x1" }, "virtio-xen-blk: --irq: 'x1' is not a number\n" },
	{ { "--irq", "1020" }, "virtio-xen-blk: --irq: '1020' is out of range (max 1019)\n" },
	{ { "--domid", "-1" }, "virtio-xen-blk: --domid: '-1' is not a number\n" },
	{ { "--domid", "32752" }, "virtio-xen-blk: --domid: '32752' is out of range" },
	{ { "--base", "0x" }, "virtio-xen-blk: --base: '0x' is not a number\n" },
	{ { "--base", "0x2000000g" }, "virtio-xen-blk: --base: '0x2000000g' is not a number\n" },
	{ { "--base", " 12" }, "virtio-xen-blk: --base: ' 12' is not a number\n" },
	{ { "--base", "99999999999999999999999" }, "--base: '99999999999999999999999' is out of" },
	{ { "--domid", "5" }, "virtio-xen-blk: --domid, --base and --irq go together\n" },
	{ { "--domid", "5", "--base", "0x2000000", "--irq", "33" },
	  "virtio-xen-blk: explicit mode (--domid/--base/--irq) needs --image\n" },
	{ { "--image", "/x.img" }, "virtio-xen-blk: --image needs --domid, --base and --irq\n" },
	{ { "--no-grant" }, "virtio-xen-blk: --grant/--no-grant need --domid, --base and --irq\n" },
	{ { "--queues", "0" }, "virtio-xen-blk: --queues: must be at least 1\n" },
	{ { "--queues", "17" }, "virtio-xen-blk: --queues: '17' is out of range (max 16)\n" },
	{ { "--threads", "many" }, "virtio-xen-blk: --threads: 'many' is not a number\n" },
	{ { "--io", "aio" }, "virtio-xen-blk: --io: 'aio' is neither uring nor threads\n" },
	{ { "--log", "file" }, "virtio-xen-blk: --log: 'file' is neither stderr nor syslog\n" },
	{ { "--serial", "123456789012345678901" },
	  "virtio-xen-blk: --serial: '123456789012345678901' is longer than 20 bytes\n" },
	{ { "--bogus" }, "virtio-xen-blk: unknown option '--bogus'\n" },
	{ { "-z" }, "virtio-xen-blk: unknown option '-z'\n" },
	{ { "--queues" }, "virtio-xen-blk: missing argument for '--queues'\n" },
	{ { "extra" }, "virtio-xen-blk: unexpected argument 'extra'\n" },
};

START_TEST(cli__usage_errors_name_the_option_and_exit_2)
{
	ck_assert_int_eq(run(usage_errors[_i].args), 2);
	ck_assert_msg(strstr(out, usage_errors[_i].message), "expected \"%s\", got \"%s\"",
		      usage_errors[_i].message, out);
	ck_assert_ptr_nonnull(strstr(out, "Try 'virtio-xen-blk --help' for more information.\n"));
	ck_assert_ptr_null(strstr(strchr(out, '\n') + 1, "virtio-xen-blk: ")); /* one line */
}
END_TEST

START_TEST(cli__cannot_start_exits_1)
{
	struct exblk w;
	const char *no_guest[] = { "--domid", "77",	 "--base", "0x2000000", "--irq",
				   "33",      "--image", NULL,	   NULL };
	const char *no_image[] = { "--domid", NULL, "--base",  "0x2000000",
				   "--irq",   "33", "--image", "/nonexistent/disk.img",
				   NULL };
	char domid[16];

	/* No xenstore, no machine: discovery mode cannot start. (Pointing at nothing rather
	 * than unsetting, so no default path can lead to a real xenstored.) */
	setenv("XENSTORED_PATH", "/nonexistent/xenstored/socket", 1);
	setenv("XENSIM_SOCKET", "/nonexistent/xensim/socket", 1);
	ck_assert_int_eq(run((const char *[]){ NULL }), 1);
	ck_assert_ptr_nonnull(strstr(out, "error:"));

	exblk_start(&w);
	exblk_image(&w, "x.img", 1 << 20, 0);
	no_guest[7] = w.image;
	ck_assert_int_eq(run(no_guest), 1); /* domain 77 does not exist */
	snprintf(domid, sizeof(domid), "%u", exblk_guest(&w));
	no_image[1] = domid;
	ck_assert_int_eq(run(no_image), 1);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent/disk.img: No such file or directory"));
	exblk_stop(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example_blk_cli");
	TCase *tc = tcase_create("cli");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, cli__help_and_version_exit_0);
	tcase_add_loop_test(tc, cli__usage_errors_name_the_option_and_exit_2, 0,
			    sizeof(usage_errors) / sizeof(usage_errors[0]));
	tcase_add_test(tc, cli__cannot_start_exits_1);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
