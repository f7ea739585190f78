/* SPDX-License-Identifier: MIT */
/*
 * faults_common.h — the fault-injection sweep (label sim): for every Xen call the library
 * makes, fail its Nth call (N = 1, 2, ... one past the last call the scenario makes) with each
 * errno the real call can plausibly return, and check that the library reports a clean error
 * and leaks nothing.
 *
 * Three scenarios, each on a fresh xensim machine:
 *  - FS_DEVICE: a backend loop creates a small rng-like device for a grant-DMA guest
 *    (vxen_loop_dev_new: ioreq server, grant DMA, MMIO range); the guest probes it, sets up its
 *    queue and has two requests served (one through grant copy, one through a grant mapping,
 *    with an interrupt each); then everything is torn down.
 *  - FS_FOREIGN: the same device for a guest without grant DMA (foreign mappings), driven by a
 *    hand-written driver (guest-physical ring and buffers).
 *  - FS_XENSTORE: the rng device served from xenstore discovery (vxen_backend, as the example
 *    daemons run it) for a disk... for a virtio,device4 entry written as libxl does, then the
 *    backend is shut down (state Closed).
 *
 * The sweep first runs the scenario without a fault and counts the calls it makes to the op's
 * function (the library's calls are counted by wrappers in faults_common.c that forward to the
 * drop-in libraries), then runs it once per (errno, N). Every run must: return a clean error
 * (a creation failure reports exactly the injected -errno, or a documented translation), leave
 * no live grant mapping, event channel, ioreq server or foreign mapping of the guest, and leave
 * the process with the fds it had. The run with N one past the count must succeed completely
 * (the fault never fires).
 */
#ifndef FAULTS_COMMON_H
#define FAULTS_COMMON_H

#include <stdbool.h>

#include <xensim.h>

enum fs_scenario {
	FS_DEVICE,
	FS_FOREIGN,
	FS_XENSTORE,
};

/** fs_sweep() - sweep @op over @nerr errnos in scenario @s (asserts; see above). */
void fs_sweep(enum fs_scenario s, enum xensim_op op, const int *errs, unsigned int nerr);

/** fs_calls() - calls of @op's function made by the library so far (all threads). */
unsigned long fs_calls(enum xensim_op op);

#define FS_ERRS(...)                                                                               \
	(const int[]){ __VA_ARGS__ }, sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int)

#endif /* FAULTS_COMMON_H */
