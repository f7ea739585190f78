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
 *	Connects port 0 of each guest's virtio console (an hvc device in a Linux guest: hvc1
 *	next to Xen's PV console hvc0) to a pseudo-terminal, as xenconsoled does for PV
 *	consoles (console_port.c opens it). Attach with any terminal program,
 *	e.g. `screen /dev/pts/N` or `picocom PATH`.
 *
 *	Discovery mode (no --domid/--base/--irq): serves every virtio,device3 entry the
 *	toolstack publishes in xenstore, one pty per device, e.g. from xl.cfg (Xen >= 4.18
 *	tools; see doc/xen-setup.md)
 *
 *		virtio = [ "type=virtio,device3,transport=mmio,grant_usage=1,backend=0" ]
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
 *	Flow control: when the guest has posted no receive buffers, input waits in the pty,
 *	and nothing typed is lost. When the pty's buffer is full (a slow reader), the guest's
 *	output waits in its transmit queue, and nothing is lost either; but Linux's hvc driver
 *	spins with interrupts off until its output is taken, so if nobody reads for
 *	--max-stall seconds, output that does not fit is dropped (counted, logged) until a
 *	reader makes room; what the pty already holds (up to ~64 KiB, the oldest) is kept for
 *	whoever attaches. The daemon holds the pty's terminal side open itself, so the pty stays
 *	valid while no client is attached. Emergency writes (VIRTIO_CONSOLE_F_EMERG_WRITE) are
 *	written at once and dropped if the pty is full. MULTIPORT is not offered: one port per
 *	device.
 *
 * OPTIONS
 *	--pty-link PATH   keep a symlink to each pty (replaces an existing symlink)
 *	--stdio           explicit mode: use stdin/stdout instead of a pty
 *	--max-stall S     how long guest output waits for a reader before it is dropped
 *	                  (default 2 seconds; 0: wait for ever, never drop)
 *	plus the common options (daemon.h): --help, --version, -v, -q, --log, --domid,
 *	--base, --irq, --grant, --no-grant.
 *
 * EXIT STATUS
 *	0 stopped by SIGTERM/SIGINT (or, in explicit mode, the guest went away); 1 could not
 *	start; 2 bad command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <endian.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include <virtio-xen/virtio-xen.h>

#include "console_port.h"
#include "daemon.h"

#define RXQ		0u	   /* receiveq0: host → guest, pull mode */
#define TXQ		1u	   /* transmitq0: guest → host, push mode */
#define RX_BURST	64u	   /* buffers filled per wake-up, so other devices get their turn */
#define TX_IOV		64u	   /* iovec entries per writev (= the default max_segs) */
#define TICK_NS		500000000L /* window size and stall checks */
#define DEFAULT_STALL_S 2u
#define EMERG_WR_OFFSET offsetof(struct virtio_console_config, emerg_wr)

enum { KEY_PTY_LINK = 256, KEY_STDIO, KEY_MAX_STALL };

struct opts {
	const char *pty_link;
	bool stdio;
	bool explicit_mode;
	uint64_t max_stall_ms; /* 0: guest output waits for a reader forever */
};

/* A transmit request we hold: the FIFO link and how far its bytes are written. */
struct tx_priv {
	struct vxen_req *next;
	struct vxen_iov_cursor cur;
};

struct con {
	vxen_loop *loop;
	vxen_dev *dev;
	struct con_port port; /* in_fd, out_fd: -1 once they failed */
	bool in_reg;	      /* in_fd is polled (only while the guest has buffers) */
	bool out_reg;	     /* out_fd is polled (always, to hear of errors; EPOLLOUT if blocked) */
	bool in_always;	     /* in_fd cannot be polled (a regular file): always readable */
	uint32_t out_ev;     /* out_fd's mask */
	int timer_fd;	     /* window size and stall checks */
	bool rx_ready;	     /* the guest may have receive buffers (queue_notify) */
	bool tx_blocked;     /* the output is full: wait for EPOLLOUT */
	bool discarding;     /* nobody read for max_stall_ms: drop what does not fit */
	uint64_t blocked_at; /* when the output became full (ms), 0 if it is not */
	uint64_t max_stall_ms;
	struct vxen_req *rx; /* a buffer popped while the input had nothing */
	struct vxen_req *tx_head, **tx_tail;
	uint64_t bytes_in, bytes_out, dropped;
};

static void on_fd(vxen_loop *loop, int fd, uint32_t events, void *payload);

/* ------------------------------------------------------------------------------------------ */
/* Poll masks                                                                                  */

/* The input is polled only while wanted: a hung-up pipe reports EPOLLHUP whatever the mask. */
static void poll_in(struct con *c, bool want)
{
	int r = 0;

	if (!want) {
		vxen_loop_del_fd(c->loop, c->port.in_fd);
	} else {
		r = vxen_loop_add_fd(c->loop, c->port.in_fd, EPOLLIN, on_fd, c);
		c->in_always = r == -EPERM; /* regular files and /dev/null never block */
	}
	c->in_reg = want && r == 0;
	if (r && r != -EPERM) {
		vxd_log(LOG_WARNING, "console: %s: cannot poll the input: %s",
			vxen_dev_name(c->dev), strerror(-r));
		c->port.in_fd = -1;
	}
}

/* Read while the guest has buffers; wait for EPOLLOUT only while the output is full. */
static void set_events(struct con *c)
{
	bool in = c->port.in_fd >= 0 && c->rx_ready;
	uint32_t out = c->tx_blocked || c->discarding ? EPOLLOUT : 0;

	if (in != c->in_reg && !c->in_always)
		poll_in(c, in);
	if (in && c->in_always)
		vxen_dev_queue_wake(c->dev, RXQ); /* not pollable: read at the next turn */
	if (c->out_reg && out != c->out_ev && vxen_loop_mod_fd(c->loop, c->port.out_fd, out) == 0)
		c->out_ev = out;
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
		vxen_loop_del_fd(c->loop, c->port.out_fd);
	c->out_reg = false;
	c->port.out_fd = -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/*
 * Write held requests in order until the output is full; then the guest's requests wait.
 * Linux's hvc driver spins, interrupts off, until its output is acknowledged, so they do not
 * wait for ever: when nobody has read for max_stall_ms, what does not fit is dropped until a
 * reader makes room again.
 */
static void output(struct con *c)
{
	c->tx_blocked = false;
	while (c->tx_head) {
		struct tx_priv *p = c->tx_head->priv;
		size_t left = vxen_iov_remaining(&p->cur);
		ssize_t n =
			c->port.out_fd >= 0 ? write_cursor(c->port.out_fd, &p->cur) : (ssize_t)left;

		if (n < 0 && errno == EAGAIN && !c->discarding) {
			c->tx_blocked = true;
			c->blocked_at = c->blocked_at ? c->blocked_at : now_ms();
			break;
		}
		if (n < 0 && errno == EAGAIN) {
			n = (ssize_t)left; /* nobody reads: drop what does not fit */
			c->dropped += left;
		} else if (n <= 0) {
			output_gone(c, n ? errno : EIO); /* the loop then drops what is left */
			continue;
		} else {
			*(c->port.out_fd >= 0 ? &c->bytes_out : &c->dropped) += (uint64_t)n;
			c->blocked_at = 0;
		}
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
	if (c->in_reg)
		vxen_loop_del_fd(c->loop, c->port.in_fd);
	c->in_reg = false;
	c->port.in_fd = -1;
}

/* Fill guest buffers straight from the input until it is empty or the guest has no buffer. */
static void input(struct con *c)
{
	for (unsigned int i = 0; i < RX_BURST && c->port.in_fd >= 0; i++) {
		ssize_t n = 0;

		if (!c->rx && vxen_dev_queue_pop(c->dev, RXQ, &c->rx) != 1) {
			c->rx = NULL;
			c->rx_ready = false; /* queue_notify() tells us when buffers come */
			break;
		}
		/* A buffer without writable bytes is returned as it is. */
		if (c->rx->in_len) {
			n = readv(c->port.in_fd, c->rx->iov + c->rx->n_out, (int)c->rx->n_in);
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
	if (fd == c->port.in_fd) {
		input(c);
	} else if (fd == c->port.out_fd && (events & EPOLLOUT) && c->discarding) {
		c->discarding = false; /* someone reads again */
		vxd_log(LOG_NOTICE, "console: %s: output read again, %" PRIu64 " bytes dropped",
			vxen_dev_name(c->dev), c->dropped);
		output(c);
	} else if (fd == c->port.out_fd && c->tx_head) {
		output(c);
	} else if (fd == c->port.out_fd && (events & (EPOLLERR | EPOLLHUP))) {
		output_gone(c, EPIPE); /* nobody will read what we write */
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Config space: size and emergency write                                                      */

static void publish_size(struct con *c)
{
	uint16_t v[2] = { htole16(c->port.ws.ws_col), htole16(c->port.ws.ws_row) };

	vxen_dev_config_set(c->dev, offsetof(struct virtio_console_config, cols), v, sizeof(v));
}

static void on_timer(vxen_loop *loop, int fd, uint32_t events, void *payload)
{
	struct con *c = payload;
	struct winsize ws;
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (c->tx_blocked && c->max_stall_ms && now_ms() - c->blocked_at >= c->max_stall_ms) {
		vxd_log(LOG_WARNING,
			"console: %s: nobody reads %s: dropping guest output until "
			"someone does",
			vxen_dev_name(c->dev), c->port.pty[0] ? c->port.pty : "stdout");
		c->discarding = true;
		c->blocked_at = 0;
		output(c);
	}
	if (c->port.size_fd < 0 || ioctl(c->port.size_fd, TIOCGWINSZ, &ws) < 0 ||
	    (ws.ws_col == c->port.ws.ws_col && ws.ws_row == c->port.ws.ws_row))
		return;
	c->port.ws = ws;
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
	if (c->port.out_fd < 0 || write(c->port.out_fd, &ch, 1) != 1)
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
	c->blocked_at = 0;
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

/* The output is polled from the start (empty mask), to hear of a reader going away. */
static int poll_out(struct con *c)
{
	int r = vxen_loop_add_fd(c->loop, c->port.out_fd, 0, on_fd, c);

	c->out_reg = r == 0;
	return r == -EPERM ? 0 : r; /* regular files and /dev/null: never full */
}

static int start_timer(struct con *c)
{
	struct itimerspec its = { { 0, TICK_NS }, { 0, TICK_NS } };

	if (c->port.size_fd < 0 && !c->max_stall_ms)
		return 0;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	if (timerfd_settime(c->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return vxen_loop_add_fd(c->loop, c->timer_fd, EPOLLIN, on_timer, c);
}

static void con_close(struct con *c)
{
	if (c->timer_fd >= 0) {
		vxen_loop_del_fd(c->loop, c->timer_fd);
		close(c->timer_fd);
	}
	if (c->in_reg)
		vxen_loop_del_fd(c->loop, c->port.in_fd);
	if (c->out_reg)
		vxen_loop_del_fd(c->loop, c->port.out_fd);
	con_port_close(&c->port);
	free(c);
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

	if (c->port.size_fd >= 0)
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
	*c = (struct con){ .loop = loop, .timer_fd = -1, .max_stall_ms = o->max_stall_ms };
	c->tx_tail = &c->tx_head;
	con_port_init(&c->port);
	r = o->stdio ? con_port_open_stdio(&c->port) : con_port_open_pty(&c->port);
	if (r == 0 && o->pty_link)
		r = con_port_link(&c->port, o->pty_link, info->frontend_domid, info->devid,
				  !o->explicit_mode);
	if (r == 0)
		r = make_dev(c, cfg);
	if (r == 0)
		r = poll_out(c);
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
	snprintf(desc, desc_size, "pty %s%s%s", c->port.pty, c->port.link ? " via " : "",
		 c->port.link ? c->port.link : "");
	printf("d%" PRIu32 " dev %" PRIu32 ": %s\n", info->frontend_domid, info->devid,
	       c->port.pty);
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
	uint64_t v;

	if (key == KEY_PTY_LINK)
		o->pty_link = arg;
	else if (key == KEY_STDIO)
		o->stdio = true;
	else if (key == KEY_MAX_STALL && vxd_parse_u64("--max-stall", arg, 3600, &v) == 0)
		o->max_stall_ms = v * 1000;
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
	{ "max-stall", KEY_MAX_STALL, "SECONDS",
	  "guest output waits this long for a reader, then is dropped (default 2; 0: forever)" },
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
	struct opts o = { .max_stall_ms = DEFAULT_STALL_S * 1000 };

	signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error to handle, not a reason to die */
	return vxd_main(&con_daemon, argc, argv, &o);
}
