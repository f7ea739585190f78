/* SPDX-License-Identifier: MIT */
/*
 * xensimd — run a simulated Xen machine (hypervisor model + xenstored) as a daemon.
 *
 *   eval "$(xensimd)"                 # start in the background, export its sockets
 *   LD_LIBRARY_PATH=<build>/xensim/lib ./my-backend
 *   kill "$XENSIM_PID"
 *
 * Prints shell assignments (XENSIM_SOCKET, XENSTORED_PATH, XENSIM_PID) on stdout once the
 * machine accepts connections, then runs until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xensim.h"

#define XENSIMD_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xensimd [--dir DIR] [--foreground]\n"
		"Run a simulated Xen machine for backends linked against libxen.\n\n"
		"  -d, --dir DIR      put hv.sock and xs.sock in DIR (created if missing;\n"
		"                     default: a new directory under $TMPDIR or /tmp)\n"
		"  -f, --foreground   do not detach; stop with SIGTERM or Ctrl-C\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n\n"
		"Prints XENSIM_SOCKET, XENSTORED_PATH and XENSIM_PID as shell assignments.\n"
		"Run backends with LD_LIBRARY_PATH pointing at xensim's drop-in Xen libraries.\n");
}

/* Single-quote @s for the shell. */
static void put_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

static void print_env(const xensim_server *srv, pid_t pid)
{
	fputs("XENSIM_SOCKET=", stdout);
	put_quoted(xensim_server_socket(srv));
	fputs("; export XENSIM_SOCKET;\nXENSTORED_PATH=", stdout);
	put_quoted(xensim_server_xs_socket(srv));
	printf("; export XENSTORED_PATH;\nXENSIM_PID=%ld; export XENSIM_PID;\n", (long)pid);
	fflush(stdout);
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before the server's threads start, so only sigwait() sees them. */
	return sigwait(&set, &sig) ? -1 : sig;
}

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static int run(const char *dir, int ready_fd)
{
	xensim_server *srv;
	int rc = xensim_server_start(&srv, dir);

	if (rc) {
		fprintf(stderr, "xensimd: cannot start the machine: %s\n", strerror(-rc));
		return 1;
	}
	print_env(srv, getpid());
	if (ready_fd >= 0) {
		int null = open("/dev/null", O_RDWR);

		/* Let "$(xensimd)" see end-of-file: a daemon keeps no terminal or pipe open. */
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
		/* Tell the parent we are up; it exits and the shell gets its prompt back. */
		if (write(ready_fd, "1", 1) < 0) {
			/* the parent died: keep serving anyway */
		}
		close(ready_fd);
	}
	wait_for_signal();
	xensim_server_stop(srv);
	return 0;
}

static int daemonize(const char *dir)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		return perror("xensimd: pipe"), 1;
	pid = fork();
	if (pid < 0)
		return perror("xensimd: fork"), 1;
	if (pid > 0) {
		close(p[1]);
		/* The child prints the assignments; we only wait until it is ready. */
		if (read(p[0], &c, 1) != 1) {
			fprintf(stderr, "xensimd: the machine did not start\n");
			return 1;
		}
		return 0;
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0) {
		/* harmless: only relative paths would be affected, and they are resolved below */
	}
	{
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
	}
	exit(run(dir, p[1]));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *dir = NULL;
	int fg = 0, o;

	while ((o = getopt_long(argc, argv, "d:fhV", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			dir = realpath(optarg, NULL);
			if (!dir && mkdir(optarg, 0700) == 0)
				dir = realpath(optarg, NULL);
			if (!dir) {
				fprintf(stderr, "xensimd: --dir %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case 'f':
			fg = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xensimd %s\n", XENSIMD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xensimd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	block_signals();
	return fg ? run(dir, -1) : daemonize(dir);
}
