/* SPDX-License-Identifier: MIT */
/*
 * test_example_console.c — the virtio-xen-console example daemon as its own process, on a
 * simulated machine, driven by xensim's guest-side virtio-console driver: bytes both ways
 * through the pty (bursts far larger than the queues), back-pressure without spinning, window
 * size, emergency writes, the guest dying mid-I/O, --stdio, SIGTERM.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "helper_xensim.h"
#include "xensim-virtio.h"

#define BASE	   0x2000000ull
#define IRQ	   33u
#define MIB	   (1u << 20)
#define SMALL_Q	   16u /* guest queues of 16 x 4 KiB buffers: 1 MiB is 16 times a full ring */
#define TIMEOUT_MS 10000

extern char **environ;

struct world {
	struct xt_machine m;
	char dir[64];  /* temp dir: the pty link lives here */
	char link[96]; /* <dir>/con, the --pty-link argument */
	pid_t pid;     /* the daemon */
	int out_rd;    /* the daemon's stdout (pty mode) */
	xensim_console *con;
	int pty; /* the pty's terminal side, opened by the test as a client would */
};

static struct world w;

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

static const char *daemon_path(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("VXEN_BUILD_DIR");

	snprintf(path, sizeof(path), "%s/examples/console/virtio-xen-console", b ? b : ".");
	return path;
}

/* Start the daemon with @argv[1..]; its stdin/stdout are @in/@out (-1: inherit). */
static pid_t spawn(char *const argv[], int in, int out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	if (out >= 0)
		posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	ck_assert_msg(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0, "cannot run %s",
		      argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Wait up to @ms for @pid to exit; returns its wait status, or -1 if it is still running. */
static int reap(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(1000);
	}
	return -1;
}

static void add_console(uint32_t domid)
{
	struct xensim_virtio_dev d = XENSIM_VIRTIO_DEV_INIT;
	char path[128];

	d.kind = XENSIM_VIRTIO_GENERIC;
	d.frontend_domid = domid;
	d.virtio_id = XENSIM_VIRTIO_ID_CONSOLE;
	d.base = BASE;
	d.irq = IRQ;
	ck_assert_int_eq(xensim_xl_add_virtio(w.m.x, &d), 0);
	snprintf(path, sizeof(path), "/local/domain/0/backend/virtio/%u/0/state", domid);
	ck_assert_msg(xensim_xs_wait(w.m.x, path, "2", TIMEOUT_MS) == 0,
		      "the daemon did not reach InitWait");
}

static void open_guest_console(unsigned int queue_size)
{
	struct xensim_console_opts o = XENSIM_CONSOLE_OPTS_INIT;

	o.queue_size = queue_size;
	ck_assert_int_eq(xensim_console_new(&w.con, w.m.g, 0, BASE, IRQ, &o), 0);
}

/* Open the pty through the daemon's link for @domid, as a terminal program would. */
static void open_pty(uint32_t domid)
{
	char path[128];

	snprintf(path, sizeof(path), "%s.%u.0", w.link, domid);
	w.pty = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_msg(w.pty >= 0, "open %s: %s", path, strerror(errno));
}

/* A discovery-mode daemon (with @extra arguments) serving one console of the machine's guest. */
static void setup_with(const char *extra)
{
	char *argv[6] = { (char *)daemon_path(), "--pty-link", w.link };
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	w.pty = -1;
	xt_machine_start(&w.m, 1);
	strcpy(w.dir, "/tmp/vxen-con-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(w.dir));
	snprintf(w.link, sizeof(w.link), "%s/con", w.dir);
	if (extra) {
		argv[3] = "--max-stall";
		argv[4] = (char *)extra;
	}
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	w.pid = spawn(argv, -1, p[1]);
	close(p[1]);
	w.out_rd = p[0];
	add_console(w.m.domid);
	open_pty(w.m.domid);
}

static void setup(void)
{
	setup_with(NULL); /* the default --max-stall */
}

static void setup_patient(void)
{
	setup_with("0"); /* guest output waits for a reader for ever */
}

static void setup_hasty(void)
{
	setup_with("1");
}

static void teardown(void)
{
	if (w.pid > 0) {
		kill(w.pid, SIGTERM);
		if (reap(w.pid, TIMEOUT_MS) < 0)
			kill(w.pid, SIGKILL);
	}
	if (w.pty >= 0)
		close(w.pty);
	xensim_console_free(w.con);
	xt_machine_stop(&w.m);
	rmdir(w.dir);
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* Read exactly @n bytes from @fd (non-blocking or not), giving up after TIMEOUT_MS of quiet. */
static size_t read_all(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			break;
		r = read(fd, buf + got, n - got);
		if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		got += r > 0 ? (size_t)r : 0;
	}
	return got;
}

/* Read what @fd has until it stays quiet for 300 ms. */
static size_t read_quiet(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, 300) <= 0)
			break;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static size_t write_all(int fd, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return done;
}

/* Receive exactly @n bytes as the guest. */
static size_t guest_read_all(uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		long r = xensim_console_read(w.con, buf + got, n - got, TIMEOUT_MS);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

struct io_job {
	int fd;
	uint8_t *buf;
	size_t len, done;
	unsigned int delay_ms;
};

static void *reader(void *arg)
{
	struct io_job *j = arg;

	usleep(j->delay_ms * 1000);
	j->done = read_all(j->fd, j->buf, j->len);
	return NULL;
}

static void *writer(void *arg)
{
	struct io_job *j = arg;

	j->done = write_all(j->fd, j->buf, j->len);
	return NULL;
}

/* Explicit mode: start the daemon with @args and probe its console at BASE + 0x200. */
static pid_t start_explicit(char *const extra[], int in, int out)
{
	char base[32], domid[16];
	char *argv[16] = { (char *)daemon_path(), "--domid", domid, "--base", base, "--irq", "34" };
	pid_t pid;
	int r = -1, n = 7;

	snprintf(base, sizeof(base), "0x%llx", BASE + 0x200);
	snprintf(domid, sizeof(domid), "%u", w.m.domid);
	for (int i = 0; extra[i] && n < 15; i++)
		argv[n++] = extra[i];
	pid = spawn(argv, in, out);
	/* Explicit mode has no xenstore handshake: probe until the window is claimed. */
	for (int i = 0; i < 500 && r != 0; i++) {
		r = xensim_console_new(&w.con, w.m.g, 0, BASE + 0x200, 34, NULL);
		if (r)
			usleep(10 * 1000);
	}
	ck_assert_int_eq(r, 0);
	return pid;
}

/* CPU time (user + system) the daemon has used, in clock ticks. */
static unsigned long cpu_ticks(pid_t pid)
{
	unsigned long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')'); /* fields 14 and 15, counted after the command name */
	ck_assert_int_eq(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st), 2);
	return ut + st;
}

/* ------------------------------------------------------------------------------------------ */
/* Tests                                                                                       */

START_TEST(console__prints_the_pty_and_links_it)
{
	char line[128] = "", target[64] = "", path[128];
	ssize_t n;

	n = read_all(w.out_rd, (uint8_t *)line, 1);
	n += read(w.out_rd, line + n, sizeof(line) - 1 - (size_t)n);
	ck_assert_int_gt(n, 0);
	snprintf(path, sizeof(path), "%s.%u.0", w.link, w.m.domid);
	ck_assert_int_gt(readlink(path, target, sizeof(target) - 1), 0);
	snprintf(path, sizeof(path), "d%u dev 0: %s\n", w.m.domid, target);
	ck_assert_str_eq(line, path);
	ck_assert(strncmp(target, "/dev/pts/", 9) == 0);
}
END_TEST

START_TEST(console__bytes_pass_both_ways)
{
	char buf[64] = "";

	open_guest_console(0);
	ck_assert_int_eq(xensim_console_write(w.con, "hello, host\n", 12, TIMEOUT_MS), 0);
	ck_assert_uint_eq(read_all(w.pty, (uint8_t *)buf, 12), 12);
	ck_assert_str_eq(buf, "hello, host\n"); /* raw pty: no CR added */
	ck_assert_int_eq(write(w.pty, "hi guest\r\n", 10), 10);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(guest_read_all((uint8_t *)buf, 10), 10);
	ck_assert_str_eq(buf, "hi guest\r\n");
}
END_TEST

START_TEST(console__one_mib_guest_to_pty_loses_nothing)
{
	uint8_t *out = malloc(MIB), *in = calloc(1, MIB);
	struct io_job j = { .fd = w.pty, .buf = in, .len = MIB, .delay_ms = 300 };
	pthread_t t;

	fill_random(out, MIB, 1);
	open_guest_console(SMALL_Q);
	/* The reader starts late: the pty fills up first and the guest's output must wait. */
	pthread_create(&t, NULL, reader, &j);
	ck_assert_int_eq(xensim_console_write(w.con, out, MIB, 4 * TIMEOUT_MS), 0);
	pthread_join(t, NULL);
	ck_assert_uint_eq(j.done, MIB);
	ck_assert(memcmp(in, out, MIB) == 0);
	free(out);
	free(in);
}
END_TEST

START_TEST(console__one_mib_pty_to_guest_loses_nothing)
{
	uint8_t *out = malloc(MIB), *in = calloc(1, MIB);
	struct io_job j = { .fd = w.pty, .buf = out, .len = MIB };
	unsigned long before;
	pthread_t t;

	fill_random(out, MIB, 2);
	open_guest_console(SMALL_Q);
	pthread_create(&t, NULL, writer, &j);
	/* The guest reads late: its 16 buffers fill up and the daemon must stop reading the pty
	 * (not poll it in a loop). */
	usleep(200 * 1000);
	before = cpu_ticks(w.pid);
	usleep(500 * 1000);
	ck_assert_uint_le(cpu_ticks(w.pid) - before, 5);
	ck_assert_uint_eq(guest_read_all(in, MIB), MIB);
	pthread_join(t, NULL);
	ck_assert_uint_eq(j.done, MIB);
	ck_assert(memcmp(in, out, MIB) == 0);
	free(out);
	free(in);
}
END_TEST

struct guest_job {
	const uint8_t *buf;
	size_t len;
	int timeout_ms;
	int r;
};

static void *guest_writer(void *arg)
{
	struct guest_job *j = arg;

	j->r = xensim_console_write(w.con, j->buf, j->len, j->timeout_ms);
	return NULL;
}

START_TEST(console__waits_without_spinning_while_nobody_reads)
{
	uint8_t *out = malloc(MIB), *in = calloc(1, MIB);
	struct guest_job g = { out, MIB, 4 * TIMEOUT_MS, -1 };
	unsigned long before;
	pthread_t t;

	fill_random(out, MIB, 3);
	open_guest_console(SMALL_Q);
	pthread_create(&t, NULL, guest_writer, &g);
	usleep(200 * 1000); /* the pty is full by now, the daemon holds the guest's requests */
	before = cpu_ticks(w.pid);
	usleep(1000 * 1000);
	/* A spinning daemon would burn ~100 ticks in that second; an idle one none. */
	ck_assert_uint_le(cpu_ticks(w.pid) - before, 5);
	ck_assert_uint_eq(read_all(w.pty, in, MIB), MIB);
	pthread_join(t, NULL);
	ck_assert_int_eq(g.r, 0);
	ck_assert(memcmp(in, out, MIB) == 0);
	free(out);
	free(in);
}
END_TEST

START_TEST(console__unread_output_is_dropped_after_max_stall_then_flows_again)
{
	uint8_t *out = malloc(MIB), *in = calloc(1, MIB), buf[8] = "";
	struct timespec t0, t1;
	size_t got;
	long ms;

	fill_random(out, MIB, 7);
	open_guest_console(SMALL_Q);
	/* Nobody reads: after --max-stall 1 the daemon stops holding the guest's output. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(xensim_console_write(w.con, out, MIB, 4 * TIMEOUT_MS), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 900);
	/* The pty kept the oldest bytes, unchanged; the rest was dropped. */
	got = read_quiet(w.pty, in, MIB);
	ck_assert_uint_gt(got, 0);
	ck_assert_uint_lt(got, MIB);
	ck_assert(memcmp(in, out, got) == 0);
	/* A reader made room: output flows again, nothing lost. */
	ck_assert_int_eq(xensim_console_write(w.con, "after", 5, TIMEOUT_MS), 0);
	ck_assert_uint_eq(read_all(w.pty, buf, 5), 5);
	ck_assert(memcmp(buf, "after", 5) == 0);
	free(out);
	free(in);
}
END_TEST

START_TEST(console__size_follows_the_pty_window)
{
	struct winsize ws = { .ws_row = 43, .ws_col = 132 };
	uint16_t cols = 0, rows = 0;
	int i;

	open_guest_console(0);
	ck_assert_int_eq(xensim_console_size(w.con, &cols, &rows), 0);
	ck_assert_uint_eq(cols, 80);
	ck_assert_uint_eq(rows, 24);
	ck_assert_int_eq(ioctl(w.pty, TIOCSWINSZ, &ws), 0);
	for (i = 0; i < 300 && (cols != 132 || rows != 43); i++) {
		usleep(10 * 1000);
		ck_assert_int_eq(xensim_console_size(w.con, &cols, &rows), 0);
	}
	ck_assert_uint_eq(cols, 132);
	ck_assert_uint_eq(rows, 43);
	/* The change was announced with a configuration change interrupt. */
	ck_assert_int_ge(xensim_vdev_irq_wait(xensim_console_vdev(w.con), TIMEOUT_MS), 0);
	ck_assert_uint_ge(xensim_vdev_config_changes(xensim_console_vdev(w.con)), 1);
}
END_TEST

START_TEST(console__emergency_write_reaches_the_pty)
{
	char c = 0;

	open_guest_console(0);
	ck_assert_int_eq(xensim_console_emerg_write(w.con, '!'), 0);
	ck_assert_uint_eq(read_all(w.pty, (uint8_t *)&c, 1), 1);
	ck_assert_int_eq(c, '!');
}
END_TEST

START_TEST(console__survives_guest_destroyed_mid_io_and_serves_the_next)
{
	uint8_t *out = malloc(MIB), buf[8] = "";
	struct guest_job g = { out, MIB, 3000, 0 };
	struct xensim_domain_config cfg = XENSIM_DOMAIN_CONFIG_INIT;
	uint32_t old = w.m.domid;
	char path[128];
	pthread_t t;

	fill_random(out, MIB, 4);
	open_guest_console(SMALL_Q);
	ck_assert_int_eq(write(w.pty, "pending", 7), 7); /* input held for the guest too */
	pthread_create(&t, NULL, guest_writer, &g);
	usleep(200 * 1000); /* the daemon now holds transmit requests the pty cannot take */
	ck_assert_int_eq(xensim_xl_destroy(w.m.x, old), 0);
	pthread_join(t, NULL);
	ck_assert_int_ne(g.r, 0);
	xensim_console_free(w.con);
	w.con = NULL;
	xensim_guest_detach(w.m.g);
	w.m.g = NULL;
	close(w.pty);
	w.pty = -1;
	/* The device is gone: its link is removed; the daemon lives on. */
	snprintf(path, sizeof(path), "%s.%u.0", w.link, old);
	for (int i = 0; i < 500 && access(path, F_OK) == 0; i++)
		usleep(10 * 1000);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(kill(w.pid, 0), 0);

	cfg.name = "next";
	ck_assert_int_eq(xensim_domain_create(w.m.x, &cfg, &w.m.domid), 0);
	ck_assert_int_ne(w.m.domid, old);
	ck_assert_int_eq(xensim_guest_attach(&w.m.g, w.m.x, w.m.domid), 0);
	add_console(w.m.domid);
	open_pty(w.m.domid);
	open_guest_console(0);
	ck_assert_int_eq(xensim_console_write(w.con, "again", 5, TIMEOUT_MS), 0);
	ck_assert_uint_eq(read_all(w.pty, buf, 5), 5);
	ck_assert(memcmp(buf, "again", 5) == 0);
	ck_assert_int_eq(write(w.pty, "ok", 2), 2);
	ck_assert_uint_eq(guest_read_all(buf, 2), 2);
	ck_assert(memcmp(buf, "ok", 2) == 0);
	free(out);
}
END_TEST

START_TEST(console__sigterm_mid_io_exits_0_and_releases_everything)
{
	uint8_t *out = malloc(MIB);
	struct guest_job g = { out, MIB, 3000, 0 };
	struct xensim_counters c;
	char path[128];
	pthread_t t;
	int st;

	fill_random(out, MIB, 5);
	open_guest_console(SMALL_Q);
	pthread_create(&t, NULL, guest_writer, &g);
	usleep(200 * 1000);
	ck_assert_int_eq(kill(w.pid, SIGTERM), 0);
	st = reap(w.pid, TIMEOUT_MS);
	w.pid = 0;
	ck_assert_msg(st >= 0, "the daemon did not exit on SIGTERM");
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	snprintf(path, sizeof(path), "/local/domain/0/backend/virtio/%u/0/state", w.m.domid);
	ck_assert_int_eq(xensim_xs_wait(w.m.x, path, "6", TIMEOUT_MS), 0);
	snprintf(path, sizeof(path), "%s.%u.0", w.link, w.m.domid);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(xensim_counters_get(w.m.x, XENSIM_DOMID_ALL, &c), 0);
	ck_assert_uint_eq(c.gnt_live_pages, 0);
	ck_assert_uint_eq(c.fmem_live_pages, 0);
	ck_assert_uint_eq(c.fmem_resource_maps_live, 0);
	ck_assert_uint_eq(c.ioreq_servers_live, 0);
	/* The guest's pending write fails (no device any more) instead of hanging. */
	pthread_join(t, NULL);
	ck_assert_int_ne(g.r, 0);
	free(out);
}
END_TEST

START_TEST(console__stdio_mode_passes_bytes_and_survives_end_of_input)
{
	int in[2], out[2], r;
	char buf[16] = "";
	unsigned long before;
	pid_t pid;

	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	pid = start_explicit((char *[]){ "--stdio", NULL }, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	ck_assert_int_eq(xensim_console_write(w.con, "to stdout", 9, TIMEOUT_MS), 0);
	ck_assert_uint_eq(read_all(out[0], (uint8_t *)buf, 9), 9);
	ck_assert_str_eq(buf, "to stdout");
	ck_assert_int_eq(write(in[1], "from stdin", 10), 10);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(guest_read_all((uint8_t *)buf, 10), 10);
	ck_assert_str_eq(buf, "from stdin");
	close(in[1]); /* end of input: output still works, nothing spins */
	usleep(100 * 1000);
	before = cpu_ticks(pid);
	ck_assert_int_eq(xensim_console_write(w.con, "still", 5, TIMEOUT_MS), 0);
	ck_assert_uint_eq(read_all(out[0], (uint8_t *)buf, 5), 5);
	usleep(500 * 1000);
	ck_assert_uint_le(cpu_ticks(pid) - before, 5);
	kill(pid, SIGTERM);
	r = reap(pid, TIMEOUT_MS);
	ck_assert(r >= 0 && WIFEXITED(r) && WEXITSTATUS(r) == 0);
	close(out[0]);
}
END_TEST

START_TEST(console__stdio_reads_a_regular_file_to_its_end)
{
	size_t len = 300 * 1024; /* more than the guest's buffers and one wake-up's burst */
	uint8_t *data = malloc(len), *in = calloc(1, len);
	char path[96];
	int fd, null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t pid;

	fill_random(data, len, 6);
	snprintf(path, sizeof(path), "%s/input", w.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_uint_eq(write_all(fd, data, len), len);
	lseek(fd, 0, SEEK_SET);
	/* Neither a regular file nor /dev/null can be polled: both must work anyway. */
	pid = start_explicit((char *[]){ "--stdio", NULL }, fd, null);
	close(fd);
	close(null);
	ck_assert_uint_eq(guest_read_all(in, len), len);
	ck_assert(memcmp(in, data, len) == 0);
	ck_assert_int_eq(xensim_console_write(w.con, "into the void", 13, TIMEOUT_MS), 0);
	kill(pid, SIGTERM);
	fd = reap(pid, TIMEOUT_MS);
	ck_assert(fd >= 0 && WIFEXITED(fd) && WEXITSTATUS(fd) == 0);
	unlink(path);
	free(data);
	free(in);
}
END_TEST

START_TEST(console__pty_link_template_names_the_device)
{
	char tmpl[128], path[128], buf[4] = "";
	pid_t pid;
	int st;

	snprintf(tmpl, sizeof(tmpl), "%s/tty-{domid}-{devid}", w.dir);
	pid = start_explicit((char *[]){ "--pty-link", tmpl, NULL }, -1, -1);
	snprintf(path, sizeof(path), "%s/tty-%u-0", w.dir, w.m.domid);
	close(w.pty);
	w.pty = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_msg(w.pty >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(xensim_console_write(w.con, "tty", 3, TIMEOUT_MS), 0);
	ck_assert_uint_eq(read_all(w.pty, (uint8_t *)buf, 3), 3);
	ck_assert_str_eq(buf, "tty");
	kill(pid, SIGTERM);
	st = reap(pid, TIMEOUT_MS);
	ck_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_ne(access(path, F_OK), 0); /* removed with the device */
}
END_TEST

START_TEST(console__usage_errors_exit_2)
{
	char *bad[][4] = { { (char *)daemon_path(), "--stdio", NULL },
			   { (char *)daemon_path(), "--bogus", NULL },
			   { (char *)daemon_path(), "--domid", "1", NULL },
			   { (char *)daemon_path(), "--max-stall", "2s", NULL } };
	int st;

	for (unsigned int i = 0; i < 4; i++) {
		pid_t pid = spawn(bad[i], -1, -1);

		st = reap(pid, TIMEOUT_MS);
		ck_assert(st >= 0 && WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), 2);
	}
	st = reap(spawn((char *[]){ (char *)daemon_path(), "--help", NULL }, -1,
			open("/dev/null", O_WRONLY)),
		  TIMEOUT_MS);
	ck_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("example_console");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, console__prints_the_pty_and_links_it);
	tcase_add_test(tc, console__bytes_pass_both_ways);
	tcase_add_test(tc, console__one_mib_guest_to_pty_loses_nothing);
	tcase_add_test(tc, console__one_mib_pty_to_guest_loses_nothing);
	tcase_add_test(tc, console__size_follows_the_pty_window);
	tcase_add_test(tc, console__emergency_write_reaches_the_pty);
	tcase_add_test(tc, console__survives_guest_destroyed_mid_io_and_serves_the_next);
	tcase_add_test(tc, console__sigterm_mid_io_exits_0_and_releases_everything);
	tcase_add_test(tc, console__stdio_mode_passes_bytes_and_survives_end_of_input);
	tcase_add_test(tc, console__stdio_reads_a_regular_file_to_its_end);
	tcase_add_test(tc, console__pty_link_template_names_the_device);
	tcase_add_test(tc, console__usage_errors_exit_2);
	suite_add_tcase(s, tc);
	tc = tcase_create("max_stall_0");
	tcase_add_checked_fixture(tc, setup_patient, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, console__waits_without_spinning_while_nobody_reads);
	suite_add_tcase(s, tc);
	tc = tcase_create("max_stall_1");
	tcase_add_checked_fixture(tc, setup_hasty, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, console__unread_output_is_dropped_after_max_stall_then_flows_again);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	if (access(daemon_path(), X_OK) != 0) {
		fprintf(stderr, "%s is not built (target virtio-xen-console)\n", daemon_path());
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
