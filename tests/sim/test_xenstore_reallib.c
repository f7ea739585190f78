/* SPDX-License-Identifier: MIT */
/*
 * Wire fidelity: Debian's own libxenstore.so.4 (loaded by full path, so LD_LIBRARY_PATH's
 * drop-in cannot stand in for it) works against xensim's xenstored.
 *
 * The real library calls its own exports through the PLT (xs_close -> xs_daemon_close, ...),
 * so the drop-in must not be in the process at all: main() re-executes the test without
 * $LD_LIBRARY_PATH, and, where the sanitizers allow it, RTLD_DEEPBIND adds a second guard.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>

#include <xenstore.h>

#include "xenstore_test.h"

#define REAL_LIB "/usr/lib/x86_64-linux-gnu/libxenstore.so.4"

#if defined(__SANITIZE_ADDRESS__)
#define DEEPBIND 0 /* AddressSanitizer refuses RTLD_DEEPBIND */
#else
#define DEEPBIND RTLD_DEEPBIND
#endif

static struct {
	void *dl;
	struct xs_handle *(*open)(unsigned long);
	void (*close)(struct xs_handle *);
	void *(*read)(struct xs_handle *, xs_transaction_t, const char *, unsigned int *);
	bool (*write)(struct xs_handle *, xs_transaction_t, const char *, const void *,
		      unsigned int);
	bool (*mkdir)(struct xs_handle *, xs_transaction_t, const char *);
	bool (*rm)(struct xs_handle *, xs_transaction_t, const char *);
	char **(*directory)(struct xs_handle *, xs_transaction_t, const char *, unsigned int *);
	bool (*watch)(struct xs_handle *, const char *, const char *);
	bool (*unwatch)(struct xs_handle *, const char *, const char *);
	char **(*read_watch)(struct xs_handle *, unsigned int *);
	char **(*check_watch)(struct xs_handle *);
	int (*fileno)(struct xs_handle *);
	xs_transaction_t (*t_start)(struct xs_handle *);
	bool (*t_end)(struct xs_handle *, xs_transaction_t, bool);
	struct xs_permissions *(*get_perms)(struct xs_handle *, xs_transaction_t, const char *,
					    unsigned int *);
	bool (*set_perms)(struct xs_handle *, xs_transaction_t, const char *,
			  struct xs_permissions *, unsigned int);
	char *(*control)(struct xs_handle *, const char *, void *, unsigned int);
	char *(*domain_path)(struct xs_handle *, unsigned int);
} real;

#define SYM(f, name) ck_assert_ptr_nonnull(*(void **)&real.f = dlsym(real.dl, name))

static void real_setup(void)
{
	xst_setup();
	/* DEEPBIND: the real library's calls to its own exports must not land in the drop-in. */
	real.dl = dlopen(REAL_LIB, RTLD_NOW | RTLD_LOCAL | DEEPBIND);
	ck_assert_msg(real.dl != NULL, "cannot load %s: %s", REAL_LIB, dlerror());
	SYM(open, "xs_open");
	SYM(close, "xs_close");
	SYM(read, "xs_read");
	SYM(write, "xs_write");
	SYM(mkdir, "xs_mkdir");
	SYM(rm, "xs_rm");
	SYM(directory, "xs_directory");
	SYM(watch, "xs_watch");
	SYM(unwatch, "xs_unwatch");
	SYM(read_watch, "xs_read_watch");
	SYM(check_watch, "xs_check_watch");
	SYM(fileno, "xs_fileno");
	SYM(t_start, "xs_transaction_start");
	SYM(t_end, "xs_transaction_end");
	SYM(get_perms, "xs_get_permissions");
	SYM(set_perms, "xs_set_permissions");
	SYM(control, "xs_control_command");
	SYM(domain_path, "xs_get_domain_path");
}

static void real_teardown(void)
{
	xst_teardown();
}

/* @fn lives in the file REAL_LIB names (same inode: /lib and /usr/lib may both lead there). */
static void assert_from_real_lib(void *fn)
{
	struct stat a, b;
	Dl_info info;

	ck_assert(dladdr(fn, &info));
	ck_assert_int_eq(stat(info.dli_fname, &a), 0);
	ck_assert_int_eq(stat(REAL_LIB, &b), 0);
	ck_assert_msg(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "%s is not %s",
		      info.dli_fname, REAL_LIB);
}

START_TEST(xenstore__real_libxenstore_is_the_one_loaded)
{
	assert_from_real_lib(*(void **)&real.open);
	assert_from_real_lib(*(void **)&real.close);
}
END_TEST

START_TEST(xenstore__real_libxenstore_reads_and_writes)
{
	struct xs_handle *h = real.open(0);
	unsigned int len = 0;
	char *v, *p;

	ck_assert_ptr_nonnull(h);
	ck_assert(real.write(h, XBT_NULL, "/real/key", "value", 5));
	v = real.read(h, XBT_NULL, "/real/key", &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(v, "value");
	free(v);
	ck_assert(real.mkdir(h, XBT_NULL, "/real/dir"));
	ck_assert(real.rm(h, XBT_NULL, "/real/key"));
	ck_assert_ptr_null(real.read(h, XBT_NULL, "/real/key", &len));
	ck_assert_int_eq(errno, ENOENT);
	p = real.domain_path(h, 4);
	ck_assert_str_eq(p, "/local/domain/4");
	free(p);
	real.close(h);
}
END_TEST

START_TEST(xenstore__real_libxenstore_watch_events_via_fileno_and_read_watch)
{
	struct xs_handle *h = real.open(0);
	struct xs_client *c = xst_open(0);
	struct pollfd pfd;
	unsigned int num = 0;
	char **ev;

	ck_assert(real.watch(h, "/realw", "tokA"));
	ev = real.read_watch(h, &num);
	ck_assert_uint_eq(num, 2);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/realw");
	ck_assert_str_eq(ev[XS_WATCH_TOKEN], "tokA");
	free(ev);
	ck_assert_ptr_null(real.check_watch(h));
	ck_assert_int_eq(errno, EAGAIN);
	pfd = (struct pollfd){ .fd = real.fileno(h), .events = POLLIN };
	ck_assert_int_ge(pfd.fd, 0);
	ck_assert_int_eq(xst_write(c, 0, "/realw/child", "1"), 0);
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ev = real.check_watch(h);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ev[XS_WATCH_PATH], "/realw/child");
	ck_assert_str_eq(ev[XS_WATCH_TOKEN], "tokA");
	free(ev);
	ck_assert(real.unwatch(h, "/realw", "tokA"));
	xs_client_close(c);
	real.close(h);
}
END_TEST

START_TEST(xenstore__real_libxenstore_transaction_conflict_is_EAGAIN)
{
	struct xs_handle *h = real.open(0);
	struct xs_client *c = xst_open(0);
	xs_transaction_t t;
	unsigned int len;

	ck_assert(real.write(h, XBT_NULL, "/rt", "0", 1));
	t = real.t_start(h);
	ck_assert_uint_ne(t, XBT_NULL);
	free(real.read(h, t, "/rt", &len));
	ck_assert(real.write(h, t, "/rt", "1", 1));
	ck_assert_int_eq(xst_write(c, 0, "/rt", "x"), 0);
	ck_assert(!real.t_end(h, t, false));
	ck_assert_int_eq(errno, EAGAIN);
	t = real.t_start(h);
	ck_assert(real.write(h, t, "/rt", "1", 1));
	ck_assert(real.t_end(h, t, false));
	xst_expect(c, "/rt", "1");
	xs_client_close(c);
	real.close(h);
}
END_TEST

START_TEST(xenstore__real_libxenstore_lists_big_directory_via_directory_part)
{
	struct xs_handle *h = real.open(0);
	char path[64], **d;
	unsigned int n = 0;

	for (int i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/bigdir/entry-number-%06d", i);
		ck_assert(real.write(h, XBT_NULL, path, "", 0));
	}
	d = real.directory(h, XBT_NULL, "/bigdir", &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 400);
	ck_assert_str_eq(d[0], "entry-number-000000");
	ck_assert_str_eq(d[399], "entry-number-000399");
	free(d);
	real.close(h);
}
END_TEST

START_TEST(xenstore__real_libxenstore_permissions_and_set_domid)
{
	struct xs_handle *h = real.open(0), *g = real.open(0);
	struct xs_permissions set[2] = { { .id = 0, .perms = XS_PERM_NONE },
					 { .id = 5, .perms = XS_PERM_READ } },
			      *got;
	unsigned int n = 0, len;
	char *r, *v;

	ck_assert(real.write(h, XBT_NULL, "/perm/node", "p", 1));
	ck_assert(real.write(h, XBT_NULL, "/perm/hidden", "h", 1));
	ck_assert(real.set_perms(h, XBT_NULL, "/perm/node", set, 2));
	got = real.get_perms(h, XBT_NULL, "/perm/node", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(got[0].id, 0);
	ck_assert_uint_eq(got[0].perms, XS_PERM_NONE);
	ck_assert_uint_eq(got[1].id, 5);
	ck_assert_uint_eq(got[1].perms, XS_PERM_READ);
	free(got);
	/* The xensim extension through the real library's control pass-through. */
	r = real.control(g, "set-domid", "5", 2);
	ck_assert_ptr_nonnull(r);
	free(r);
	v = real.read(g, XBT_NULL, "/perm/node", &len);
	ck_assert_ptr_nonnull(v);
	free(v);
	ck_assert_ptr_null(real.read(g, XBT_NULL, "/perm/hidden", &len));
	ck_assert_int_eq(errno, EACCES);
	real.close(g);
	real.close(h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xenstore_reallib");
	TCase *tc = tcase_create("reallib");

	tcase_add_checked_fixture(tc, real_setup, real_teardown);
	tcase_add_test(tc, xenstore__real_libxenstore_is_the_one_loaded);
	tcase_add_test(tc, xenstore__real_libxenstore_reads_and_writes);
	tcase_add_test(tc, xenstore__real_libxenstore_watch_events_via_fileno_and_read_watch);
	tcase_add_test(tc, xenstore__real_libxenstore_transaction_conflict_is_EAGAIN);
	tcase_add_test(tc, xenstore__real_libxenstore_lists_big_directory_via_directory_part);
	tcase_add_test(tc, xenstore__real_libxenstore_permissions_and_set_domid);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (!getenv("XST_REALLIB_REEXEC")) {
		setenv("XST_REALLIB_REEXEC", "1", 1);
		unsetenv("LD_LIBRARY_PATH");
		execv("/proc/self/exe", argv);
		/* exec failed: carry on, protected by RTLD_DEEPBIND alone */
	}
	sr = srunner_create(suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
