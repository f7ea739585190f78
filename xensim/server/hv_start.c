/* SPDX-License-Identifier: MIT */
/*
 * hv_start.c — xensim_server_start()/stop(): the machine as two threads of this process (the
 * hypervisor model's loop and h2's xenstored), each on its own unix socket in one directory.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv_internal.h"
#include "xs_server.h"

struct xensim_server {
	struct hv_server hv;
	pthread_t thread;
	bool running, inited, own_dir;
	char dir[PATH_MAX];
	char hv_path[PATH_MAX];
	char xs_path[PATH_MAX];
};

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int hv_init(struct hv_server *srv, const char *path)
{
	int rc;

	list_init(&srv->clients);
	list_init(&srv->domains);
	list_init(&srv->zombies);
	list_init(&srv->waits);
	srv->next_domid = 1;
	srv->next_instance = 1;
	srv->next_res_id = 1;
	srv->listen_fd = srv->wake_fd = -1;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0)
		return -errno;
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_fd < 0)
		return -errno;
	srv->listen_fd = listen_unix(path);
	if (srv->listen_fd < 0)
		return srv->listen_fd;
	srv->listen_pl.kind = PK_LISTEN;
	srv->wake_pl.kind = PK_WAKE;
	rc = hv_epoll_mod(srv, srv->listen_fd, &srv->listen_pl, EPOLLIN, EPOLL_CTL_ADD);
	if (!rc)
		rc = hv_epoll_mod(srv, srv->wake_fd, &srv->wake_pl, EPOLLIN, EPOLL_CTL_ADD);
	if (!rc)
		rc = domain_make_dom0(srv);
	return rc;
}

static void hv_fini(struct hv_server *srv)
{
	hv_close_all(srv);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
}

static void *hv_thread(void *arg)
{
	struct xensim_server *s = arg;
	sigset_t all;

	/* Signals belong to the application's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	hv_loop(&s->hv);
	return NULL;
}

static int make_dir(struct xensim_server *s, const char *dir)
{
	const char *tmp = getenv("TMPDIR");

	if (dir) {
		if (snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir))
			return -ENAMETOOLONG;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	}
	snprintf(s->dir, sizeof(s->dir), "%s/xensim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(s->dir))
		return -errno;
	s->own_dir = true;
	return 0;
}

static int start(struct xensim_server *s, const char *dir)
{
	int rc = make_dir(s, dir);

	if (rc)
		return rc;
	if (snprintf(s->hv_path, sizeof(s->hv_path), "%s/hv.sock", s->dir) >=
		    (int)sizeof(s->hv_path) ||
	    snprintf(s->xs_path, sizeof(s->xs_path), "%s/xs.sock", s->dir) >=
		    (int)sizeof(s->xs_path))
		return -ENAMETOOLONG;
	rc = xs_server_start(&s->hv.xs, s->xs_path);
	if (rc)
		return rc;
	s->inited = true;
	rc = hv_init(&s->hv, s->hv_path);
	if (rc)
		return rc;
	rc = -pthread_create(&s->thread, NULL, hv_thread, s);
	if (rc)
		return rc;
	s->running = true;
	if (setenv("XENSIM_SOCKET", s->hv_path, 1) < 0 ||
	    setenv("XENSTORED_PATH", s->xs_path, 1) < 0)
		return -errno;
	return 0;
}

static void cleanup(struct xensim_server *s)
{
	if (s->inited)
		hv_fini(&s->hv);
	if (s->hv.xs)
		xs_server_stop(s->hv.xs);
	if (s->hv_path[0])
		unlink(s->hv_path);
	if (s->xs_path[0])
		unlink(s->xs_path);
	if (s->own_dir)
		rmdir(s->dir);
	free(s);
}

int xensim_server_start(xensim_server **out, const char *dir)
{
	struct xensim_server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->hv.epfd = s->hv.listen_fd = s->hv.wake_fd = -1;
	rc = start(s, dir);
	if (rc) {
		if (s->running)
			xensim_server_stop(s);
		else
			cleanup(s);
		return rc;
	}
	*out = s;
	return 0;
}

void xensim_server_stop(xensim_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->hv.wake_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write cannot fail short of overflow; the loop checks stop anyway */
	}
	pthread_join(s->thread, NULL);
	cleanup(s);
}

const char *xensim_server_socket(const xensim_server *s)
{
	return s->hv_path;
}

const char *xensim_server_xs_socket(const xensim_server *s)
{
	return s->xs_path;
}
