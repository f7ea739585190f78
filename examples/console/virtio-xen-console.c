/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen-console — a virtio-console backend daemon for Xen guests.
 *
 * SYNOPSIS
 *	virtio-xen-console [--pty-link PATH] [-v|-q] [--log stderr|syslog]
 *	virtio-xen-console --domid N --base ADDR --irq N [--grant|--no-grant]
 *			   [--stdio | --pty-link PATH]
 *
 * DESCRIPTION
 *	Connects port 0 of each guest's virtio console (the hvc0 of a Linux guest) to a
 *	pseudo-terminal, as xenconsoled does for PV consoles. Attach with any terminal program,
 *	e.g. `screen /dev/pts/N` or `picocom PATH`.
 *
 *	Discovery mode (no --domid/--base/--irq): serves every virtio,device3 entry the
 *	toolstack publishes in xenstore, one pty per device, e.g. from xl.cfg
 *
 *		virtio = [ 'type=virtio,device3, transport=mmio, backend=0' ]
 *
 *	Each pty's path is printed on stdout as "d<domid> dev <devid>: /dev/pts/N" and logged.
 *	With --pty-link PATH the daemon also keeps a symlink to it. PATH may contain {domid}
 *	and {devid}; in discovery mode a PATH without them gets ".<domid>.<devid>" appended.
 *	The link is removed with the device. The pty is raw (cfmakeraw) and starts at
 *	80x24; when a client changes its window size the guest sees the new size (checked twice
 *	a second; VIRTIO_CONSOLE_F_SIZE).
 *
 *	Explicit mode serves one device; with --stdio it uses the daemon's stdin and stdout
 *	instead of a pty (input is passed as it comes: a terminal stays in its own mode).
 *
 *	Nothing is lost in either direction: when the pty's buffer is full (nobody reads it),
 *	the guest's output waits in its transmit queue; when the guest has posted no receive
 *	buffers, input waits in the pty. The daemon holds the pty's terminal side open itself,
 *	so the pty stays valid while no client is attached. Emergency writes
 *	(VIRTIO_CONSOLE_F_EMERG_WRITE) are written at once and dropped if the pty is full.
 *	MULTIPORT is not offered: one port per device.
 *
 * OPTIONS
 *	--pty-link PATH   keep a symlink to each pty (replaces an existing symlink)
 *	--stdio           explicit mode: use stdin/stdout instead of a pty
 *	plus the common options (daemon.h): --help, --version, -v, -q, --log, --domid,
 *	--base, --irq, --grant, --no-grant.
 *
 * EXIT STATUS
 *	0 stopped by SIGTERM/SIGINT (or, in explicit mode, the guest went away); 1 could not
 *	start; 2 bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include <endian.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include <virtio-xen/virtio-xen.h>

#include "daemon.h"

#define RXQ		0u  /* receiveq0: host → guest, pull mode */
#define TXQ		1u  /* transmitq0: guest → host, push mode */
#define RX_BURST	64u /* buffers filled per wake-up, so other devices get their turn */
#define TX_IOV		64u /* iovec entries per writev (= the default max_segs) */
#define WINSZ_PERIOD_NS 500000000L
#define DEFAULT_COLS	80
#define DEFAULT_ROWS	24
#define EMERG_WR_OFFSET offsetof(struct virtio_console_config, emerg_wr)

enum { KEY_PTY_LINK = 256, KEY_STDIO };

struct opts {
	const char *pty_link;
	bool stdio;
	bool explicit_mode;
};

/* A transmit request we hold: the FIFO link and how far its bytes are written. */
struct tx_priv {
	struct vxen_req *next;
	struct vxen_iov_cursor cur;
};

struct con {
	vxen_loop *loop;
	vxen_dev *dev;
	int master, slave; /* pty mode (the slave side is held open, see the manual); else -1 */
	int in_fd, out_fd; /* master and master, or stdin and stdout; -1 once gone */
	bool in_reg;	   /* in_fd registered with the loop (pty: the master, both ways) */
	bool out_reg;	   /* stdio: stdout registered (it is not when it cannot be polled) */
	bool in_always;	   /* stdio: stdin cannot be polled (a regular file): always ready */
	uint32_t in_ev, out_ev;
	int size_fd;	     /* where the window size comes from (-1: no VIRTIO_CONSOLE_F_SIZE) */
	int timer_fd;	     /* window size check */
	bool rx_ready;	     /* the guest may have receive buffers (queue_notify) */
	bool tx_blocked;     /* the output is full: wait for EPOLLOUT */
	struct vxen_req *rx; /* a buffer popped while the input had nothing */
	struct vxen_req *tx_head, **tx_tail;
	struct winsize ws;
	int saved_fl[2]; /* stdio: file status flags to restore */
	char pty[64];
	char *link;
	uint64_t bytes_in, bytes_out, dropped;
};

static void on_fd(vxen_loop *loop, int fd, uint32_t events, void *payload);

/* ------------------------------------------------------------------------------------------ */
/* Poll masks                                                                                  */

static void set_mask(struct con *c, int fd, uint32_t want, uint32_t *have)
{
	if (want != *have && vxen_loop_mod_fd(c->loop, fd, want) == 0)
		*have = want;
}

/* stdin is registered only while wanted: a hung-up pipe reports EPOLLHUP whatever the mask. */
static void poll_stdin(struct con *c, bool want)
{
	int r;

	if (want == c->in_reg || c->in_always)
		return;
	if (!want) {
		vxen_loop_del_fd(c->loop, c->in_fd);
		c->in_reg = false;
		return;
	}
	r = vxen_loop_add_fd(c->loop, c->in_fd, EPOLLIN, on_fd, c);
	c->in_reg = r == 0;
	c->in_always = r == -EPERM; /* regular files and /dev/null never block */
	if (r && r != -EPERM) {
		vxd_log(LOG_WARNING, "console: %s: cannot poll stdin: %s", vxen_dev_name(c->dev),
			strerror(-r));
		c->in_fd = -1;
	}
}

/* Ask for input only while the guest has buffers, for output only while it is blocked. */
static void set_events(struct con *c)
{
	uint32_t in = c->in_fd >= 0 && c->rx_ready ? EPOLLIN : 0;
	uint32_t out = c->out_fd >= 0 && c->tx_blocked ? EPOLLOUT : 0;

	if (c->master < 0) {
		if (c->in_fd >= 0)
			poll_stdin(c, in);
		if (c->out_reg)
			set_mask(c, c->out_fd, out, &c->out_ev);
		if (c->in_always && in)
			vxen_dev_queue_wake(c->dev, RXQ); /* read again at the next turn */
		return;
	}
	if (c->in_reg && c->in_fd < 0 && c->out_fd < 0) {
		vxen_loop_del_fd(c->loop, c->master); /* broken both ways: stop polling */
		c->in_reg = false;
	}
	if (c->in_reg)
		set_mask(c, c->master, in | out, &c->in_ev);
}

/* ------------------------------------------------------------------------------------------ */
/* Guest → host                                                                                */

static void tx_complete_head(struct con *c)
{
	struct vxen_req *req = c->tx_head;

	c->tx_head = ((struct tx_priv *)req->priv)->next;
	if (!c->tx_head)
		c->tx_tail = &c->tx_head;
	vxen_dev_complete(req, 0);
}

/* writev() from the cursor's position, without copying the guest's bytes. */
static ssize_t write_cursor(int fd, const struct vxen_iov_cursor *cur)
{
	struct iovec iov[TX_IOV];
	unsigned int n = 0;

	for (unsigned int i = cur->idx; i < cur->n && n < TX_IOV; i++, n++)
		iov[n] = cur->iov[i];
	if (n) {
		iov[0].iov_base = (char *)iov[0].iov_base + cur->off;
		iov[0].iov_len -= cur->off;
	}
	return writev(fd, iov, (int)n);
}

static void output_gone(struct con *c, int err)
{
	vxd_log(LOG_WARNING, "console: %s: output failed (%s): guest output is discarded",
		vxen_dev_name(c->dev), strerror(err));
	if (c->out_reg)
		vxen_loop_del_fd(c->loop, c->out_fd);
	c->out_reg = false;
	c->out_fd = -1;
}

/* Write held requests in order until the output is full. */
static void output(struct con *c)
{
	c->tx_blocked = false;
	while (c->tx_head) {
		struct tx_priv *p = c->tx_head->priv;
		size_t left = vxen_iov_remaining(&p->cur);
		ssize_t n = c->out_fd >= 0 ? write_cursor(c->out_fd, &p->cur) : (ssize_t)left;

		if (n < 0 && errno == EAGAIN) {
			c->tx_blocked = true;
			break;
		}
		if (n <= 0 && (n == 0 || errno != EINTR))
			output_gone(c, n ? errno : EIO); /* the loop then drops what is left */
		if (n <= 0)
			continue;
		*(c->out_fd >= 0 ? &c->bytes_out : &c->dropped) += (uint64_t)n;
		vxen_iov_skip(&p->cur, (size_t)n);
		if ((size_t)n == left)
			tx_complete_head(c);
	}
	set_events(c);
}

static void con_request(vxen_dev *dev, unsigned int q, struct vxen_req *req, void *payload)
{
	struct con *c = payload;
	struct tx_priv *p = req->priv;

	/* Only the transmit queue is in push mode; a chain without readable bytes is done. */
	vxen_req_out_cursor(req, &p->cur);
	if (!vxen_iov_remaining(&p->cur)) {
		vxen_dev_complete(req, 0);
		return;
	}
	p->next = NULL;
	*c->tx_tail = req;
	c->tx_tail = &p->next;
	if (!c->tx_blocked)
		output(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Host → guest                                                                                */

static void input_gone(struct con *c, ssize_t n)
{
	if (n == 0)
		vxd_log(LOG_INFO, "console: %s: end of input", vxen_dev_name(c->dev));
	else
		vxd_log(LOG_WARNING, "console: %s: input failed (%s)", vxen_dev_name(c->dev),
			strerror(errno));
	if (c->master < 0 && c->in_reg)
		vxen_loop_del_fd(c->loop, c->in_fd);
	if (c->master < 0)
		c->in_reg = false;
	c->in_fd = -1;
}

/* Fill guest buffers straight from the input until it is empty or the guest has no buffer. */
static void input(struct con *c)
{
	for (unsigned int i = 0; i < RX_BURST && c->in_fd >= 0; i++) {
		ssize_t n = 0;

		if (!c->rx && vxen_dev_queue_pop(c->dev, RXQ, &c->rx) != 1) {
			c->rx = NULL;
			c->rx_ready = false; /* queue_notify() tells us when buffers come */
			break;
		}
		/* A buffer without writable bytes is returned as it is. */
		if (c->rx->in_len) {
			n = readv(c->in_fd, c->rx->iov + c->rx->n_out, (int)c->rx->n_in);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break; /* keep the buffer for the next wake-up */
			if (n <= 0) {
				input_gone(c, n);
				break;
			}
		}
		c->bytes_in += (uint64_t)n;
		vxen_dev_complete(c->rx, (uint32_t)n);
		c->rx = NULL;
	}
	set_events(c);
}

static void con_queue_notify(vxen_dev *dev, unsigned int q, void *payload)
{
	struct con *c = payload;

	c->rx_ready = true;
	if (c->in_always)
		input(c);
	else
		set_events(c);
}

static void on_fd(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct con *c = payload;

	/* Errors and hang-ups surface through read and write, whose handlers act on them. */
	if (fd == c->out_fd && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->tx_head)
		output(c);
	if (fd == c->in_fd && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		input(c);
	else if (fd == c->out_fd && c->master < 0 && (events & (EPOLLERR | EPOLLHUP)))
		output_gone(c, EPIPE); /* stdout's reader is gone */
}

/* ------------------------------------------------------------------------------------------ */
/* Config space: size and emergency write                                                      */

static void publish_size(struct con *c)
{
	uint16_t v[2] = { htole16(c->ws.ws_col), htole16(c->ws.ws_row) };

	vxen_dev_config_set(c->dev, offsetof(struct virtio_console_config, cols), v, sizeof(v));
}

static void on_timer(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct con *c = payload;
	struct winsize ws;
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (ioctl(c->size_fd, TIOCGWINSZ, &ws) < 0 ||
	    (ws.ws_col == c->ws.ws_col && ws.ws_row == c->ws.ws_row))
		return;
	c->ws = ws;
	publish_size(c);
	vxen_dev_config_changed(c->dev);
	vxd_log(LOG_INFO, "console: %s: size %ux%u", vxen_dev_name(c->dev), ws.ws_col, ws.ws_row);
}

static int con_config_write(vxen_dev *dev, unsigned int offset, const void *buf, unsigned int len,
			    void *payload)
{
	struct con *c = payload;
	uint8_t ch = *(const uint8_t *)buf; /* little-endian: the low byte comes first */

	if (offset != EMERG_WR_OFFSET)
		return -EPERM; /* cols, rows, max_nr_ports are the device's */
	if (c->out_fd < 0 || write(c->out_fd, &ch, 1) != 1)
		c->dropped++;
	else
		c->bytes_out++;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Reset                                                                                       */

static void drop_rx(struct con *c)
{
	if (c->rx)
		vxen_dev_complete(c->rx, 0);
	c->rx = NULL;
	c->rx_ready = false;
}

static void drop_tx(struct con *c)
{
	while (c->tx_head)
		tx_complete_head(c);
	c->tx_blocked = false;
}

static void con_reset(vxen_dev *dev, void *payload)
{
	struct con *c = payload;

	drop_rx(c);
	drop_tx(c);
	set_events(c);
}

static void con_queue_stop(vxen_dev *dev, unsigned int q, void *payload)
{
	struct con *c = payload;

	if (q == RXQ)
		drop_rx(c);
	else
		drop_tx(c);
	set_events(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Devices                                                                                     */

static int open_pty(struct con *c)
{
	struct termios t;

	c->master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (c->master < 0)
		return -errno;
	c->in_fd = c->out_fd = c->size_fd = c->master;
	if (grantpt(c->master) || unlockpt(c->master) ||
	    ptsname_r(c->master, c->pty, sizeof(c->pty)))
		return -errno;
	c->slave = open(c->pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->slave < 0)
		return -errno;
	/* A byte pipe, as xenconsoled's ptys: no echo, no line editing, no CR/LF mangling. */
	if (tcgetattr(c->slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(c->slave, TCSANOW, &t);
	}
	c->ws = (struct winsize){ .ws_row = DEFAULT_ROWS, .ws_col = DEFAULT_COLS };
	return ioctl(c->master, TIOCSWINSZ, &c->ws) < 0 ? -errno : 0;
}

/*
 * The link's path: @tmpl with {domid} and {devid} replaced. In discovery mode a template naming
 * neither gets ".<domid>.<devid>" appended, so that devices do not fight over one link.
 */
static char *link_path(const char *tmpl, const struct vxen_xs_device *info, bool explicit_mode)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (const char *p = tmpl; *p; p++) {
		if (strncmp(p, "{domid}", 7) && strncmp(p, "{devid}", 7)) {
			fputc(*p, f);
			continue;
		}
		fprintf(f, "%" PRIu32, p[2] == 'o' ? info->frontend_domid : info->devid);
		p += 6;
	}
	if (!explicit_mode && !strstr(tmpl, "{domid}") && !strstr(tmpl, "{devid}"))
		fprintf(f, ".%" PRIu32 ".%" PRIu32, info->frontend_domid, info->devid);
	if (fclose(f) == 0)
		return out;
	free(out);
	return NULL;
}

/* Replace a symlink (never another kind of file) with one to our pty. */
static int make_link(struct con *c, const char *tmpl, const struct vxen_xs_device *info,
		     bool explicit_mode)
{
	struct stat st;
	int r;

	c->link = link_path(tmpl, info, explicit_mode);
	if (!c->link)
		return -ENOMEM;
	r = lstat(c->link, &st) == 0 && !S_ISLNK(st.st_mode) ? -EEXIST : 0;
	if (r == 0) {
		unlink(c->link);
		r = symlink(c->pty, c->link) ? -errno : 0;
	}
	if (r) {
		vxd_log(LOG_ERR, "console: cannot create the link %s: %s", c->link,
			r == -EEXIST ? "a file that is not a symlink is in the way" : strerror(-r));
		free(c->link);
		c->link = NULL;
	}
	return r;
}

static int open_stdio(struct con *c)
{
	int r;

	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
		c->saved_fl[fd] = fcntl(fd, F_GETFL);
		if (c->saved_fl[fd] < 0 || fcntl(fd, F_SETFL, c->saved_fl[fd] | O_NONBLOCK) < 0)
			return -errno;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &c->ws) == 0)
		c->size_fd = STDOUT_FILENO;
	/* stdout is polled from the start (empty mask) to hear of a reader going away. */
	r = vxen_loop_add_fd(c->loop, STDOUT_FILENO, 0, on_fd, c);
	c->out_reg = r == 0;
	return r == -EPERM ? 0 : r; /* regular files and /dev/null: never block */
}

static int start_timer(struct con *c)
{
	struct itimerspec its = { { 0, WINSZ_PERIOD_NS }, { 0, WINSZ_PERIOD_NS } };

	if (c->size_fd < 0)
		return 0;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	if (timerfd_settime(c->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return vxen_loop_add_fd(c->loop, c->timer_fd, EPOLLIN, on_timer, c);
}

static void unlink_ours(const char *link, const char *pty)
{
	char target[64];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	/* Remove the link only if it still names our pty (a newer device may have taken it). */
	if (n > 0) {
		target[n] = 0;
		if (!strcmp(target, pty))
			unlink(link);
	}
}

static void con_close(struct con *c)
{
	if (c->timer_fd >= 0) {
		vxen_loop_del_fd(c->loop, c->timer_fd);
		close(c->timer_fd);
	}
	if (c->in_reg)
		vxen_loop_del_fd(c->loop, c->master >= 0 ? c->master : STDIN_FILENO);
	if (c->out_reg)
		vxen_loop_del_fd(c->loop, STDOUT_FILENO);
	for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++)
		if (c->saved_fl[fd] >= 0)
			fcntl(fd, F_SETFL, c->saved_fl[fd]);
	if (c->master >= 0)
		close(c->master);
	if (c->slave >= 0)
		close(c->slave);
	if (c->link)
		unlink_ours(c->link, c->pty);
	free(c->link);
	free(c);
}

static int register_pty(struct con *c)
{
	int r = vxen_loop_add_fd(c->loop, c->master, 0, on_fd, c);

	c->in_reg = r == 0;
	return r;
}

static int make_dev(struct con *c, const struct vxen_dev_config *cfg)
{
	static const struct vxen_dev_queue_config queues[] = {
		[RXQ] = { .flags = VXEN_DEV_Q_PULL },
		[TXQ] = { .priv_size = sizeof(struct tx_priv) },
	};
	struct vxen_dev_ops ops = {
		.version = VXEN_DEV_OPS_VERSION,
		.name = "console",
		.device_id = VIRTIO_ID_CONSOLE,
		.features = 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE,
		.num_queues = 2,
		.queues = queues,
		.config_size = sizeof(struct virtio_console_config),
		.handle_request = con_request,
		.queue_notify = con_queue_notify,
		.reset = con_reset,
		.queue_stop = con_queue_stop,
		.config_write = con_config_write,
	};
	int r;

	if (c->size_fd >= 0)
		ops.features |= 1ull << VIRTIO_CONSOLE_F_SIZE;
	r = vxen_dev_new(&c->dev, &ops, cfg, c);
	if (r == 0)
		publish_size(c);
	return r;
}

static int con_create(vxen_loop *loop, const struct vxen_xs_device *info,
		      const struct vxen_dev_config *cfg, vxen_dev **out, char *desc,
		      size_t desc_size, void *payload)
{
	const struct opts *o = payload;
	struct con *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	*c = (struct con){ .loop = loop,
			   .master = -1,
			   .slave = -1,
			   .in_fd = -1,
			   .out_fd = -1,
			   .size_fd = -1,
			   .timer_fd = -1,
			   .saved_fl = { -1, -1 } };
	c->tx_tail = &c->tx_head;
	r = o->stdio ? open_stdio(c) : open_pty(c);
	if (r == 0 && o->pty_link)
		r = make_link(c, o->pty_link, info, o->explicit_mode);
	if (r == 0)
		r = make_dev(c, cfg);
	if (r == 0 && !o->stdio)
		r = register_pty(c);
	if (r == 0)
		r = start_timer(c);
	if (r) {
		vxen_dev_free(c->dev);
		con_close(c);
		return r;
	}
	*out = c->dev;
	if (o->stdio) {
		snprintf(desc, desc_size, "stdin/stdout");
		return 0;
	}
	snprintf(desc, desc_size, "pty %s%s%s", c->pty, c->link ? " via " : "",
		 c->link ? c->link : "");
	printf("d%" PRIu32 " dev %" PRIu32 ": %s\n", info->frontend_domid, info->devid, c->pty);
	fflush(stdout);
	return 0;
}

static void con_destroy(vxen_dev *dev, void *payload)
{
	struct con *c = vxen_dev_payload(dev);
	uint32_t domid = vxen_dev_domid(dev);

	vxen_dev_free(dev); /* resets: every held request is returned first */
	vxd_log(LOG_INFO,
		"console: d%" PRIu32 ": %" PRIu64 " bytes out, %" PRIu64 " in, %" PRIu64 " dropped",
		domid, c->bytes_out, c->bytes_in, c->dropped);
	con_close(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                                */

static int con_parse(int key, const char *arg, void *payload)
{
	struct opts *o = payload;

	if (key == KEY_PTY_LINK)
		o->pty_link = arg;
	else if (key == KEY_STDIO)
		o->stdio = true;
	else
		return -1;
	return 0;
}

static int con_check(bool explicit_mode, void *payload)
{
	struct opts *o = payload;

	o->explicit_mode = explicit_mode;
	if (o->stdio && !explicit_mode)
		return vxd_usage_error(
			"--stdio serves one device: it needs --domid, --base, --irq");
	if (o->stdio && o->pty_link)
		return vxd_usage_error("--stdio and --pty-link exclude each other");
	return 0;
}

static const struct vxd_option con_options[] = {
	{ "pty-link", KEY_PTY_LINK, "PATH",
	  "keep a symlink to each pty; PATH may contain {domid}, {devid}" },
	{ "stdio", KEY_STDIO, NULL, "explicit mode: use stdin/stdout instead of a pty" },
	{ NULL, 0, NULL, NULL },
};

static const uint32_t con_ids[] = { VIRTIO_ID_CONSOLE };

static const struct vxd_daemon con_daemon = {
	.prog = "virtio-xen-console",
	.tag = "console",
	.synopsis = "Serve virtio consoles of Xen guests on pseudo-terminals.",
	.usage = "Each pty's path is printed on stdout as \"d<domid> dev <devid>: /dev/pts/N\".\n",
	.virtio_ids = con_ids,
	.nr_virtio_ids = 1,
	.kinds = 1u << VXEN_XS_KIND_GENERIC,
	.options = con_options,
	.parse = con_parse,
	.check = con_check,
	.create = con_create,
	.destroy = con_destroy,
};

int main(int argc, char **argv)
{
	struct opts o = { 0 };

	signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error to handle, not a reason to die */
	return vxd_main(&con_daemon, argc, argv, &o);
}
