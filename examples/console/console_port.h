/* SPDX-License-Identifier: MIT */
/*
 * examples/console/console_port.h — where the bytes of a virtio-xen-console device go: a new
 * pseudo-terminal (raw, 80x24, with an optional symlink to it) or the daemon's own stdin and
 * stdout. The device side (virtio-xen-console.c) polls in_fd and out_fd.
 *
 * Functions return 0 or -errno and log nothing, except con_port_link(). Single-threaded.
 */
#ifndef EXAMPLES_CONSOLE_PORT_H
#define EXAMPLES_CONSOLE_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>

struct con_port {
	int in_fd, out_fd; /* non-blocking: the pty master and a dup of it (so that each direction
			      is polled on its own), or stdin and stdout */
	int size_fd;	   /* where TIOCGWINSZ reads the window size; -1: it has none */
	struct winsize ws; /* the window size when opened */
	char pty[64];	   /* the pty's path; "" for stdio */
	char *link;	   /* the symlink made by con_port_link(), or NULL */
	int own[3];	   /* private: descriptors to close */
	int saved_fl[2];   /* private: stdin's and stdout's file status flags, to restore */
};

/** con_port_init() - an unopened port (every descriptor -1); con_port_close() is then a no-op. */
void con_port_init(struct con_port *p);

/**
 * con_port_open_pty() - open a new pty. The daemon keeps its terminal side open too, as
 * xenconsoled does, so the master never reads EIO or polls POLLHUP while no client is attached,
 * and what the guest writes waits in the kernel's buffer for whoever attaches. The terminal is
 * raw (no echo, no line editing, no CR/LF translation) and 80x24.
 */
int con_port_open_pty(struct con_port *p);

/** con_port_open_stdio() - use stdin and stdout, made non-blocking until con_port_close(). */
int con_port_open_stdio(struct con_port *p);

/**
 * con_port_link() - make a symlink to the pty at @tmpl with {domid} and {devid} replaced;
 * with @append_ids and neither in @tmpl, ".<domid>.<devid>" is appended (discovery mode:
 * devices must not share one link). An existing symlink is replaced; any other file is left
 * alone (-EEXIST). Logs failures.
 */
int con_port_link(struct con_port *p, const char *tmpl, uint32_t domid, uint32_t devid,
		  bool append_ids);

/**
 * con_port_close() - close what the port opened, restore stdin's and stdout's flags, remove
 * the link if it still points to our pty. The caller unregisters in_fd/out_fd from its loop
 * first.
 */
void con_port_close(struct con_port *p);

#endif /* EXAMPLES_CONSOLE_PORT_H */
