/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_proc.h"

int vt_proc_wait(pid_t *pid, int sig, int timeout_ms)
{
	int status;

	if (!*pid)
		return -1;
	if (sig)
		kill(*pid, sig);
	for (int i = 0; i <= timeout_ms / 10; i++) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = 0;
			return status;
		}
		usleep(10000);
	}
	return -1;
}

const char *vt_read_file(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}
