/* SPDX-License-Identifier: MIT */
/*
 * examples/demo/demo_daemons.c — vxen-demo's example daemons: finding them (and xensim's drop-in
 * libraries), running each as its own process with LD_LIBRARY_PATH set, stopping them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

extern char **environ;

static const char *const daemon_names[NR_DEVS] = { "virtio-xen-blk", "virtio-xen-net",
						   "virtio-xen-console" };
/* Their build directories, under <build>/examples. */
static const char *const subdirs[NR_DEVS] = { "blk", "net", "console" };

/* ------------------------------------------------------------------------------------------ */
/* Where things are                                                                            */

/* Run from the build tree (build/examples/vxen-demo)? Then use the build tree's daemons. */
static bool in_build_tree(void)
{
	char self[PATH_MAX], build[PATH_MAX];
	char *slash;

	if (!realpath("/proc/self/exe", self) || !realpath(VXEN_DEMO_BUILD_BINDIR, build))
		return false;
	slash = strrchr(self, '/');
	*slash = 0;
	return !strcmp(self, build);
}

int demo_find_files(struct demo *d)
{
	const char *env = getenv("VXEN_DEMO_DAEMON_DIR"), *libs = getenv("VXEN_XENSIM_LIBDIR");
	bool build = in_build_tree();
	char probe[PATH_MAX + 32];

	if (!d->o.daemon_dir)
		d->o.daemon_dir = env ? env : build ? NULL : VXEN_DEMO_SBINDIR;
	if (!d->o.xensim_libdir)
		d->o.xensim_libdir = libs    ? libs
				     : build ? VXEN_DEMO_BUILD_XENSIM_LIBDIR
					     : VXEN_DEMO_XENSIM_LIBDIR;
	for (int i = 0; i < NR_DEVS; i++) {
		struct demo_daemon *dm = &d->daemons[i];

		dm->name = daemon_names[i];
		if (d->o.daemon_dir)
			snprintf(dm->path, sizeof(dm->path), "%s/%s", d->o.daemon_dir, dm->name);
		else
			snprintf(dm->path, sizeof(dm->path), "%s/%s/%s", VXEN_DEMO_BUILD_BINDIR,
				 subdirs[i], dm->name);
		if (access(dm->path, X_OK))
			return demo_fail(d, "%s: %s (build it, or see --daemon-dir)", dm->path,
					 strerror(errno));
	}
	snprintf(probe, sizeof(probe), "%s/libxenstore.so.4", d->o.xensim_libdir);
	if (access(probe, R_OK))
		return demo_fail(d,
				 "xensim's drop-in libraries are not in %s (see --xensim-libdir)",
				 d->o.xensim_libdir);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The daemons                                                                                 */

/* Our environment with xensim's drop-in libraries first in LD_LIBRARY_PATH. */
static char **daemon_env(const struct demo *d)
{
	const char *old = getenv("LD_LIBRARY_PATH");
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16))
			env[k++] = environ[i];
	if (asprintf(&env[k], "LD_LIBRARY_PATH=%s%s%s", d->o.xensim_libdir, old ? ":" : "",
		     old ? old : "") < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env)
{
	size_t k = 0;

	if (!env)
		return;
	while (env[k + 1])
		k++;
	free(env[k]); /* the LD_LIBRARY_PATH entry we made is the last one */
	free(env);
}

static int spawn_daemon(struct demo *d, struct demo_daemon *dm, char **env, char *const args[])
{
	posix_spawn_file_actions_t fa;
	char *argv[8] = { dm->path };
	int r;

	for (int i = 0; args[i] && i < 6; i++) {
		argv[i + 1] = args[i];
		snprintf(dm->args + strlen(dm->args), sizeof(dm->args) - strlen(dm->args), " %s",
			 args[i]);
	}
	snprintf(dm->log, sizeof(dm->log), "%s/%s.log", d->dir, dm->name);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, dm->log, O_WRONLY | O_CREAT | O_APPEND,
					 0600);
	if (!d->o.verbose)
		posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	r = posix_spawn(&dm->pid, dm->path, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		dm->pid = 0;
		return demo_fail(d, "cannot run %s: %s", dm->path, strerror(r));
	}
	return 0;
}

int demo_start_daemons(struct demo *d)
{
	char net_where[PATH_MAX + 16], con_link[PATH_MAX + 16];
	char *verbose = d->o.verbose ? "-v" : NULL;
	char **env = daemon_env(d);
	int r;

	if (!env)
		return demo_fail(d, "out of memory");
	snprintf(net_where, sizeof(net_where), "%s/net.sock", d->dir);
	snprintf(con_link, sizeof(con_link), "%s/console", d->dir);
	r = spawn_daemon(d, &d->daemons[DEV_BLK], env, (char *[]){ verbose, NULL });
	if (!r)
		r = spawn_daemon(d, &d->daemons[DEV_NET], env,
				 (char *[]){ d->o.tap ? "--tap" : "--socket",
					     d->o.tap ? (char *)d->o.tap : net_where, verbose,
					     NULL });
	if (!r)
		r = spawn_daemon(d, &d->daemons[DEV_CON], env,
				 (char *[]){ "--pty-link", con_link, verbose, NULL });
	free_env(env);
	return r;
}

/* Reap @dm if it exited; true if it is gone. */
bool demo_daemon_reaped(struct demo_daemon *dm, int flags)
{
	if (dm->pid <= 0)
		return true;
	if (waitpid(dm->pid, &dm->status, flags) != dm->pid)
		return false;
	dm->pid = 0;
	return true;
}

int demo_daemon_failed(struct demo *d, struct demo_daemon *dm)
{
	return demo_fail(d, "%s stopped early (%s %d)", dm->name,
			 WIFEXITED(dm->status) ? "exit status" : "signal",
			 WIFEXITED(dm->status) ? WEXITSTATUS(dm->status) : WTERMSIG(dm->status));
}

/* SIGTERM, then wait up to @ms for the exit. */
bool demo_daemon_stop(struct demo_daemon *dm, int ms)
{
	if (dm->pid > 0)
		kill(dm->pid, SIGTERM);
	for (int i = 0; i < ms / 10; i++) {
		if (demo_daemon_reaped(dm, WNOHANG))
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* The last lines of a daemon's log, to show why it failed. */
void demo_daemon_log_tail(const struct demo_daemon *dm)
{
	char buf[4096];
	const char *p;
	ssize_t n;
	int fd, lines = 0;

	fd = dm->log[0] ? open(dm->log, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1,
		  lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf) - 1
			  ? lseek(fd, 0, SEEK_END) - (off_t)sizeof(buf) + 1
			  : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (p = buf + n - 1; p > buf && lines < 13; p--)
		lines += *p == '\n';
	fprintf(stderr, "--- %s (%s):\n%s", dm->name, dm->log, p == buf ? p : p + 2);
}
