/* SPDX-License-Identifier: MIT */
/*
 * daemon_harness.c — see daemon_harness.h.
 */
#include <check.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon_harness.h"

int dh_tmo = 10000;

/* ---- processes ----------------------------------------------------------------------------- */

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

static const char *find_valgrind(void)
{
	static const char *const paths[] = { "/usr/bin/valgrind", "/usr/local/bin/valgrind" };

	for (unsigned int i = 0; i < 2; i++)
		if (executable(paths[i]))
			return paths[i];
	return NULL;
}

int dh_spawn(struct dh_daemon *d, const char *name, const char *const *extra, bool valgrind)
{
	const char *build = getenv("VXEN_BUILD_DIR"), *vg = find_valgrind();
	char bin[512];
	const char *argv[32];
	unsigned int n = 0;
	int fd;

	memset(d, 0, sizeof(*d));
	d->name = name;
	snprintf(bin, sizeof(bin), "%s/examples/%s/virtio-xen-%s", build ? build : ".", name, name);
	if (!executable(bin) || (valgrind && !vg))
		return -ENOENT;
	if (valgrind) {
		argv[n++] = vg;
		argv[n++] = "--error-exitcode=99";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--errors-for-leak-kinds=definite,indirect";
		argv[n++] = "--track-fds=no";
	}
	argv[n++] = bin;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	snprintf(d->log, sizeof(d->log), "%s/dh-%s-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	fd = mkstemp(d->log);
	ck_assert_int_ge(fd, 0);
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		/* A test that fails dies without dh_stop(): take the daemon along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 2);
		dup2(fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	return 0;
}

void dh_dump_log(const struct dh_daemon *d)
{
	char buf[4096];
	FILE *f = fopen(d->log, "r");

	if (!f)
		return;
	fprintf(stderr, "---- %s daemon log (%s) ----\n", d->name, d->log);
	while (fgets(buf, sizeof(buf), f))
		fputs(buf, stderr);
	fprintf(stderr, "---- end of %s daemon log ----\n", d->name);
	fclose(f);
}

bool dh_valgrind_available(void)
{
	return find_valgrind() != NULL;
}

void dh_print_matching(const struct dh_daemon *d, const char *const *needles)
{
	char buf[1024];
	FILE *f = fopen(d->log, "r");

	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		for (const char *const *n = needles; *n; n++)
			if (strstr(buf, *n)) {
				fprintf(stderr, "%s: %s", d->name, buf);
				break;
			}
	fclose(f);
}

bool dh_alive(const struct dh_daemon *d)
{
	return d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

int dh_stop(struct dh_daemon *d, int timeout_ms)
{
	int st = 0, r = -1;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int t = 0; t < timeout_ms; t++) {
		pid_t p = waitpid(d->pid, &st, WNOHANG);

		if (p == d->pid) {
			r = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		usleep(1000);
	}
	if (r == -1) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &st, 0);
	}
	if (r != 0)
		dh_dump_log(d);
	d->pid = 0;
	if (!d->keep_log)
		unlink(d->log);
	return r;
}

long dh_rss_kb(const struct dh_daemon *d)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int dh_fds(const struct dh_daemon *d)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)d->pid);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* ---- toolstack and guests ------------------------------------------------------------------ */

void dh_guest_new(xensim *x, struct dh_guest *gu, uint32_t domid)
{
	struct xensim_domain_config dc = XENSIM_DOMAIN_CONFIG_INIT;

	memset(gu, 0, sizeof(*gu));
	dc.vcpus = 2;
	dc.domid = domid;
	ck_assert_int_eq(xensim_domain_create(x, &dc, &gu->domid), 0);
	ck_assert_int_eq(xensim_guest_attach(&gu->g, x, gu->domid), 0);
	xensim_guest_set_timeout(gu->g, DH_TMO);
}

static void state_path(char *buf, size_t n, const struct xensim_virtio_dev *d)
{
	snprintf(buf, n, "/local/domain/0/backend/%s/%u/%u/state",
		 d->kind == XENSIM_VIRTIO_DISK ? "virtio_disk" : "virtio", d->frontend_domid,
		 d->devid);
}

static void wait_state(xensim *x, const struct xensim_virtio_dev *d, const char *value)
{
	char p[128];

	state_path(p, sizeof(p), d);
	ck_assert_msg(xensim_xs_wait(x, p, value, DH_TMO) == 0, "%s never became %s", p,
		      value ? value : "absent");
}

void dh_add_rng(xensim *x, struct dh_guest *gu)
{
	gu->rng = (struct xensim_virtio_dev)XENSIM_VIRTIO_DEV_INIT;
	gu->rng.kind = XENSIM_VIRTIO_GENERIC;
	gu->rng.frontend_domid = gu->domid;
	gu->rng.virtio_id = 4;
	gu->rng.base = DH_RNG_BASE;
	gu->rng.irq = DH_RNG_IRQ;
	ck_assert_int_eq(xensim_xl_add_virtio(x, &gu->rng), 0);
	gu->has_rng = true;
	wait_state(x, &gu->rng, "2");
}

static void make_image(char *path, size_t n)
{
	uint8_t img[DH_SECTORS * 512];
	int fd;

	for (uint64_t s = 0; s < DH_SECTORS; s++) {
		uint64_t le = htole64(s);

		memset(img + 512 * s, (int)(s & 0xff), 512);
		memcpy(img + 512 * s, &le, 8);
	}
	snprintf(path, n, "%s/dh-img-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
}

void dh_add_disk(xensim *x, struct dh_guest *gu)
{
	make_image(gu->img, sizeof(gu->img));
	gu->disk = (struct xensim_virtio_dev)XENSIM_VIRTIO_DEV_INIT;
	gu->disk.kind = XENSIM_VIRTIO_DISK;
	gu->disk.frontend_domid = gu->domid;
	gu->disk.virtio_id = 2;
	gu->disk.base = DH_BLK_BASE;
	gu->disk.irq = DH_BLK_IRQ;
	gu->disk.params = gu->img;
	gu->disk.mode = "w";
	ck_assert_int_eq(xensim_xl_add_virtio(x, &gu->disk), 0);
	gu->has_disk = true;
	wait_state(x, &gu->disk, "2");
}

static void free_drivers(struct dh_guest *gu, bool rng, bool blk)
{
	if (rng && gu->rng_vd) {
		xensim_guest_set_timeout(gu->g, 200); /* the device may be gone already */
		xensim_vdev_free(gu->rng_vd);
		gu->rng_vd = NULL;
	}
	if (blk && gu->blk) {
		xensim_guest_set_timeout(gu->g, 200);
		xensim_blk_free(gu->blk);
		gu->blk = NULL;
	}
	xensim_guest_set_timeout(gu->g, DH_TMO);
}

void dh_remove_rng(xensim *x, struct dh_guest *gu)
{
	char p[128];

	free_drivers(gu, true, false);
	ck_assert_int_eq(xensim_xl_remove_virtio(x, &gu->rng), 0);
	gu->has_rng = false;
	state_path(p, sizeof(p), &gu->rng);
	ck_assert_int_eq(xensim_xs_wait(x, p, NULL, DH_TMO), 0);
}

void dh_remove_disk(xensim *x, struct dh_guest *gu)
{
	char p[128];

	free_drivers(gu, false, true);
	ck_assert_int_eq(xensim_xl_remove_virtio(x, &gu->disk), 0);
	gu->has_disk = false;
	state_path(p, sizeof(p), &gu->disk);
	ck_assert_int_eq(xensim_xs_wait(x, p, NULL, DH_TMO), 0);
	unlink(gu->img);
}

void dh_rng_open(struct dh_guest *gu)
{
	ck_assert_int_eq(xensim_vdev_probe(&gu->rng_vd, gu->g, 0, DH_RNG_BASE, DH_RNG_IRQ), 0);
	ck_assert_int_eq(xensim_vdev_init(gu->rng_vd, 0, 1, 0), 0);
}

void dh_blk_open(struct dh_guest *gu)
{
	ck_assert_int_eq(xensim_blk_new(&gu->blk, gu->g, 0, DH_BLK_BASE, DH_BLK_IRQ, NULL), 0);
}

void dh_rng_read(struct dh_guest *gu, size_t len)
{
	xensim_vq *q = xensim_vdev_vq(gu->rng_vd, 0);
	struct xensim_gbuf b;
	struct xensim_sg in;
	void *token = NULL;
	uint32_t got = 0;
	const uint8_t *p;
	bool varied = false;

	ck_assert_int_eq(xensim_gbuf_alloc(gu->g, len, &b), 0);
	in = (struct xensim_sg){ b.gpa, (uint32_t)len };
	ck_assert_int_eq(xensim_vq_add(q, NULL, 0, &in, 1, &b), 0);
	ck_assert_int_ge(xensim_vq_kick(q), 0);
	ck_assert_int_eq(xensim_vq_wait(q, DH_TMO), 0);
	ck_assert_int_eq(xensim_vq_get_buf(q, &token, &got), 1);
	ck_assert_ptr_eq(token, &b);
	ck_assert_uint_eq(got, len);
	p = b.host;
	for (size_t i = 1; i < len; i++)
		varied |= p[i] != p[0];
	ck_assert(varied);
	xensim_gbuf_free(gu->g, &b);
}

void dh_rng_post(struct dh_guest *gu, size_t len)
{
	xensim_vq *q = xensim_vdev_vq(gu->rng_vd, 0);
	struct xensim_gbuf b;
	struct xensim_sg in;

	/* Leaked on purpose: the guest dies with it. */
	ck_assert_int_eq(xensim_gbuf_alloc(gu->g, len, &b), 0);
	in = (struct xensim_sg){ b.gpa, (uint32_t)len };
	ck_assert_int_eq(xensim_vq_add(q, NULL, 0, &in, 1, gu), 0);
	ck_assert_int_ge(xensim_vq_kick(q), 0);
}

void dh_blk_check(struct dh_guest *gu, uint64_t sector)
{
	uint8_t buf[8192];

	ck_assert_int_eq(xensim_blk_read(gu->blk, 0, sector, buf, sizeof(buf), DH_TMO), 0);
	for (unsigned int s = 0; s < 16; s++) {
		uint64_t le = htole64(sector + s);

		ck_assert(!memcmp(buf + 512 * s, &le, 8));
		ck_assert_uint_eq(buf[512 * s + 100], (uint8_t)((sector + s) & 0xff));
	}
}

void dh_blk_post(struct dh_guest *gu, unsigned int n)
{
	static struct xensim_sg sg[64];
	static struct xensim_blk_req reqs[64];

	ck_assert_uint_le(n, 64);
	for (unsigned int i = 0; i < n; i++) {
		struct xensim_gbuf b;

		ck_assert_int_eq(xensim_gbuf_alloc(gu->g, 4096, &b), 0);
		sg[i] = (struct xensim_sg){ b.gpa, 4096 };
		reqs[i] = (struct xensim_blk_req){ .type = XENSIM_VIRTIO_BLK_T_IN,
						   .sector = (8 * i) % (DH_SECTORS - 8),
						   .sg = &sg[i],
						   .nsg = 1 };
		if (xensim_blk_submit(gu->blk, 0, &reqs[i], i == n - 1) == -ENOSPC)
			break;
	}
}

void dh_guest_destroy(xensim *x, struct dh_guest *gu)
{
	ck_assert_int_eq(xensim_xl_destroy(x, gu->domid), 0);
	free_drivers(gu, true, true);
	xensim_guest_detach(gu->g);
	gu->g = NULL;
	if (gu->has_disk)
		unlink(gu->img);
}

bool dh_wait_idle(xensim *x, int timeout_ms, struct xensim_counters *out)
{
	struct xensim_counters c;

	for (int t = 0; t < timeout_ms; t++) {
		ck_assert_int_eq(xensim_counters_get(x, XENSIM_DOMID_ALL, &c), 0);
		if (!c.gnt_live_pages && !c.evtchn_live_ports && !c.ioreq_servers_live &&
		    !c.fmem_live_pages && !c.fmem_resource_maps_live)
			return true;
		usleep(1000);
	}
	if (out)
		*out = c;
	return false;
}
