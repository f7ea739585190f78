/* SPDX-License-Identifier: MIT */
/*
 * examples/console/console_port.c — the pty (or stdin/stdout) behind a virtio-xen-console
 * device. See console_port.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "console_port.h"
#include "daemon.h"

#define DEFAULT_COLS 80
#define DEFAULT_ROWS 24

void con_port_init(struct con_port *p)
{
	*p = (struct con_port){ .in_fd = -1,
				.out_fd = -1,
				.size_fd = -1,
				.own = { -1, -1, -1 },
				.saved_fl = { -1, -1 } };
}

int con_port_open_pty(struct con_port *p)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct termios t;

	if (m < 0)
		return -errno;
	p->in_fd = p->size_fd = p->own[0] = m;
	p->out_fd = p->own[1] = fcntl(m, F_DUPFD_CLOEXEC, 0);
	if (p->out_fd < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, p->pty, sizeof(p->pty)))
		return -errno;
	p->own[2] = open(p->pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->own[2] < 0)
		return -errno;
	/* A byte pipe, as xenconsoled's ptys: no echo, no line editing, no CR/LF mangling. */
	if (tcgetattr(p->own[2], &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(p->own[2], TCSANOW, &t);
	}
	p->ws = (struct winsize){ .ws_row = DEFAULT_ROWS, .ws_col = DEFAULT_COLS };
	return ioctl(m, TIOCSWINSZ, &p->ws) < 0 ? -errno : 0;
}

int con_port_open_stdio(struct con_port *p)
{
	p->in_fd = STDIN_FILENO;
	p->out_fd = STDOUT_FILENO;
	for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
		p->saved_fl[fd] = fcntl(fd, F_GETFL);
		if (p->saved_fl[fd] < 0 || fcntl(fd, F_SETFL, p->saved_fl[fd] | O_NONBLOCK) < 0)
			return -errno;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &p->ws) == 0)
		p->size_fd = STDOUT_FILENO;
	return 0;
}

static char *link_path(const char *tmpl, uint32_t domid, uint32_t devid, bool append_ids)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (const char *s = tmpl; *s; s++) {
		if (strncmp(s, "{domid}", 7) && strncmp(s, "{devid}", 7)) {
			fputc(*s, f);
			continue;
		}
		fprintf(f, "%" PRIu32, s[2] == 'o' ? domid : devid);
		s += 6;
	}
	if (append_ids && !strstr(tmpl, "{domid}") && !strstr(tmpl, "{devid}"))
		fprintf(f, ".%" PRIu32 ".%" PRIu32, domid, devid);
	if (fclose(f) == 0)
		return out;
	free(out);
	return NULL;
}

int con_port_link(struct con_port *p, const char *tmpl, uint32_t domid, uint32_t devid,
		  bool append_ids)
{
	struct stat st;
	int r;

	p->link = link_path(tmpl, domid, devid, append_ids);
	if (!p->link)
		return -ENOMEM;
	r = lstat(p->link, &st) == 0 && !S_ISLNK(st.st_mode) ? -EEXIST : 0;
	if (r == 0) {
		unlink(p->link);
		r = symlink(p->pty, p->link) ? -errno : 0;
	}
	if (r) {
		vxd_log(LOG_ERR, "console: cannot create the link %s: %s", p->link,
			r == -EEXIST ? "a file that is not a symlink is in the way" : strerror(-r));
		free(p->link);
		p->link = NULL;
	}
	return r;
}

/* Remove the link only if it still names our pty: a newer device may have taken it over. */
static void unlink_ours(const char *link, const char *pty)
{
	char target[64];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n > 0) {
		target[n] = 0;
		if (!strcmp(target, pty))
			unlink(link);
	}
}

void con_port_close(struct con_port *p)
{
	for (int fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++)
		if (p->saved_fl[fd] >= 0)
			fcntl(fd, F_SETFL, p->saved_fl[fd]);
	for (int i = 0; i < 3; i++)
		if (p->own[i] >= 0)
			close(p->own[i]);
	if (p->link)
		unlink_ours(p->link, p->pty);
	free(p->link);
	con_port_init(p);
}
