/* SPDX-License-Identifier: MIT */
/* helper_proc.h — child-process helpers shared by the sim tests that run daemons. */
#ifndef VXEN_TEST_HELPER_PROC_H
#define VXEN_TEST_HELPER_PROC_H

#include <sys/types.h>

/*
 * Send @sig (0: none) to *@pid and reap it within @timeout_ms. Returns the wait status and
 * clears *@pid, or -1 if there is no child or it did not exit in time.
 */
int vt_proc_wait(pid_t *pid, int sig, int timeout_ms);

/* The first 64 KiB of the file at @path as a string (empty if unreadable); a static buffer. */
const char *vt_read_file(const char *path);

#endif
