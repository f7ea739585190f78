/* SPDX-License-Identifier: MIT */
/*
 * helper_example_blk.c — see helper_example_blk.h. Linked into every sim test: everything
 * here is prefixed exblk_ and nothing runs unless called.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper_example_blk.h"
#include "helper_proc.h"

/* Remove @dir and the files in it (images, log). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * A failed assertion ends a test process at once (Check's fork mode), without its teardown:
 * directories are named after the test process, and the next test removes those of processes
 * that no longer exist.
 */
static void remove_stale_dirs(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	char path[600];
	int pid;

	while (d && (e = readdir(d)))
		if (sscanf(e->d_name, "exblk-%d-", &pid) == 1 && pid > 0 && kill(pid, 0) &&
		    errno == ESRCH) {
			snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name);
			remove_dir(path);
		}
	if (d)
		closedir(d);
}

void exblk_start(struct exblk *w)
{
	const char *tmp = getenv("TMPDIR");

	memset(w, 0, sizeof(*w));
	if (!tmp || !*tmp)
		tmp = "/tmp";
	remove_stale_dirs(tmp);
	snprintf(w->dir, sizeof(w->dir), "%s/exblk-%d-XXXXXX", tmp, (int)getpid());
	ck_assert_ptr_nonnull(mkdtemp(w->dir));
	snprintf(w->log, sizeof(w->log), "%s/daemon.log", w->dir);
	ck_assert_int_eq(xensim_server_start(&w->srv, NULL), 0);
	ck_assert_int_eq(xensim_open(&w->x, NULL), 0);
}

void exblk_stop(struct exblk *w)
{
	const char *log;

	if (w->blk)
		xensim_blk_free(w->blk);
	if (w->g)
		xensim_guest_detach(w->g);
	w->blk = NULL;
	w->g = NULL;
	if (w->pid && exblk_daemon_wait(w, SIGTERM, 5000) == -1)
		exblk_daemon_wait(w, SIGKILL, 5000);
	log = exblk_daemon_log(w);
	if (*log) /* shown by ctest --output-on-failure */
		fprintf(stderr, "---- virtio-xen-blk log ----\n%s----\n", log);
	remove_dir(w->dir);
	xensim_close(w->x);
	xensim_server_stop(w->srv);
}

/* ------------------------------------------------------------------------------------------ */
/* Data                                                                                        */

void exblk_fill(void *buf, size_t len, uint32_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL | 1;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(p + i, &s, len - i < 8 ? len - i : 8);
	}
}

uint64_t exblk_hash(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

void exblk_image(struct exblk *w, const char *name, uint64_t bytes, uint32_t seed)
{
	int fd;

	snprintf(w->image, sizeof(w->image), "%s/%s", w->dir, name);
	w->image_bytes = bytes;
	fd = open(w->image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)bytes), 0);
	if (seed) {
		uint8_t *buf = malloc(bytes);

		ck_assert_ptr_nonnull(buf);
		exblk_fill(buf, bytes, seed);
		ck_assert_int_eq(pwrite(fd, buf, bytes, 0), (ssize_t)bytes);
		free(buf);
	}
	close(fd);
}

uint8_t *exblk_read_image(const struct exblk *w)
{
	uint8_t *buf = malloc(w->image_bytes);
	int fd = open(w->image, O_RDONLY | O_CLOEXEC);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, w->image_bytes, 0), (ssize_t)w->image_bytes);
	close(fd);
	return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* The daemon                                                                                  */

const char *exblk_daemon_path(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("VXEN_BUILD_DIR");

	ck_assert_msg(b != NULL, "VXEN_BUILD_DIR is not set (run through ctest)");
	snprintf(path, sizeof(path), "%s/examples/blk/virtio-xen-blk", b);
	ck_assert_msg(access(path, X_OK) == 0, "%s not built", path);
	return path;
}

bool exblk_deny_io_uring;

/* In the child, before exec: io_uring_setup() fails with ENOSYS from now on. */
static void deny_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(126);
}

static pid_t spawn(const char *const *args, int out_fd)
{
	const char *argv[64] = { exblk_daemon_path() };
	pid_t parent = getpid(), pid;
	unsigned int n = 1;

	for (; args && args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid)
		return pid;
	/* Child: only async-signal-safe calls until exec (the parent has threads). */
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
	if (getppid() != parent)
		_exit(127);
	if (exblk_deny_io_uring)
		deny_io_uring();
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

void exblk_daemon_start(struct exblk *w, const char *const *args)
{
	/* EXBLK_DAEMON_STDERR=1: the log goes straight to stderr (debugging failed tests, whose
	 * teardown does not run to print it). */
	bool direct = getenv("EXBLK_DAEMON_STDERR") != NULL;
	int fd = direct ? dup(2) : open(w->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	w->pid = spawn(args, fd);
	close(fd);
}

int exblk_daemon_wait(struct exblk *w, int sig, int timeout_ms)
{
	return vt_proc_wait(&w->pid, sig, timeout_ms);
}

const char *exblk_daemon_log(const struct exblk *w)
{
	return vt_read_file(w->log);
}

int exblk_run(const char *const *args, char *out, size_t outlen)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = spawn(args, p[1]);
	close(p[1]);
	while (got + 1 < outlen && (n = read(p[0], out + got, outlen - got - 1)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Guests                                                                                      */

uint32_t exblk_guest(struct exblk *w)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;
	uint32_t domid;

	dc.vcpus = 2;
	ck_assert_int_eq(xensim_domain_create(w->x, &dc, &domid), 0);
	return domid;
}

void exblk_disk(struct exblk *w, uint32_t domid, unsigned int devid, const char *mode)
{
	exblk_disk_at(w, domid, devid, w->image, mode);
}

void exblk_disk_at(struct exblk *w, uint32_t domid, unsigned int devid, const char *path,
		   const char *mode)
{
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;

	d.kind = XENSIM_VIRTIO_DISK;
	d.frontend_domid = domid;
	d.devid = devid;
	d.virtio_id = XENSIM_VIRTIO_ID_BLOCK;
	d.base = EXBLK_BASE + devid * 0x200ull;
	d.irq = EXBLK_IRQ + devid;
	d.params = path;
	d.mode = mode;
	ck_assert_int_eq(xensim_xl_add_virtio(w->x, &d), 0);
}

void exblk_wait_state(struct exblk *w, uint32_t domid, unsigned int devid, const char *state)
{
	char p[128];
	int r;

	snprintf(p, sizeof(p), "/local/domain/0/backend/virtio_disk/%u/%u/state", domid, devid);
	r = xensim_xs_wait(w->x, p, state, EXBLK_TMO);
	ck_assert_msg(r == 0, "%s never became %s (%d); daemon log:\n%s", p, state, r,
		      exblk_daemon_log(w));
}

void exblk_attach(struct exblk *w, uint32_t domid, const struct xensim_blk_opts *o)
{
	int r;

	w->domid = domid;
	ck_assert_int_eq(xensim_guest_attach(&w->g, w->x, domid), 0);
	r = xensim_blk_new(&w->blk, w->g, 0, EXBLK_BASE, EXBLK_IRQ, o);
	ck_assert_msg(r == 0, "xensim_blk_new: %d; daemon log:\n%s", r, exblk_daemon_log(w));
}

void exblk_attach_retry(struct exblk *w, uint32_t domid, const struct xensim_blk_opts *o)
{
	int r = -EFAULT;

	w->domid = domid;
	ck_assert_int_eq(xensim_guest_attach(&w->g, w->x, domid), 0);
	/* -EFAULT: no ioreq server claims the window yet (the daemon is starting). */
	for (int i = 0; i < EXBLK_TMO / 20 && r == -EFAULT; i++) {
		r = xensim_blk_new(&w->blk, w->g, 0, EXBLK_BASE, EXBLK_IRQ, o);
		if (r == -EFAULT)
			usleep(20000);
	}
	ck_assert_msg(r == 0, "xensim_blk_new: %d; daemon log:\n%s", r, exblk_daemon_log(w));
}

void exblk_forget_guest(struct exblk *w)
{
	/* The domain is gone: its device cannot be reset any more, only our memory freed. */
	xensim_blk_free(w->blk);
	xensim_guest_detach(w->g);
	w->blk = NULL;
	w->g = NULL;
}

uint32_t exblk_raw(struct exblk *w, unsigned int q, const struct xensim_sg *out, unsigned int nout,
		   const struct xensim_sg *in, unsigned int nin)
{
	xensim_vq *vq = xensim_vdev_vq(xensim_blk_vdev(w->blk), q);
	uint32_t len = 0;
	void *tok;
	int r;

	ck_assert_ptr_nonnull(vq);
	ck_assert_int_eq(xensim_vq_add(vq, out, nout, in, nin, w), 0);
	ck_assert_int_ge(xensim_vq_kick(vq), 0);
	while ((r = xensim_vq_get_buf(vq, &tok, &len)) == 0)
		ck_assert_int_eq(xensim_vq_wait(vq, EXBLK_TMO), 0);
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_eq(tok, w);
	return len;
}

void exblk_wait_clean(struct exblk *w, uint32_t domid)
{
	struct xensim_counters c = { 0 };

	for (int i = 0; i < EXBLK_TMO / 10; i++) {
		/* A destroyed domain is reaped once nothing references it: -ESRCH is clean. */
		int r = xensim_counters_get(w->x, domid, &c);

		if (r == -ESRCH)
			return;
		ck_assert_int_eq(r, 0);
		if (!c.gnt_live_pages && !c.evtchn_live_ports && !c.ioreq_servers_live &&
		    !c.fmem_resource_maps_live && !c.fmem_live_pages)
			return;
		usleep(10000);
	}
	ck_abort_msg("d%u: %llu grant pages, %llu ports, %llu ioreq servers, %llu resource maps",
		     domid, (unsigned long long)c.gnt_live_pages,
		     (unsigned long long)c.evtchn_live_ports,
		     (unsigned long long)c.ioreq_servers_live,
		     (unsigned long long)c.fmem_resource_maps_live);
}
