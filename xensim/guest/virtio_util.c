// SPDX-License-Identifier: MIT
/*
 * virtio_util.c — small helpers of the guest-side virtio drivers: deadlines and guest bounce
 * buffers.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "virtio_internal.h"

int64_t vtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vtime_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : vtime_ms() + timeout_ms;
}

int vtime_left(int64_t deadline_ms, int timeout_ms)
{
	int64_t left;

	if (timeout_ms < 0)
		return -1;
	left = deadline_ms - vtime_ms();
	return left <= 0 ? 0 : (int)left;
}

int xensim_gbuf_alloc(xensim_guest *g, size_t len, struct xensim_gbuf *out)
{
	size_t npages = (len + XENSIM_PAGE_SIZE - 1) / XENSIM_PAGE_SIZE;
	uint64_t gpa;
	void *host;
	int rc;

	if (!g || !out || len == 0)
		return -EINVAL;
	rc = xensim_guest_alloc_pages(g, npages, &gpa);
	if (rc < 0)
		return rc;
	host = xensim_guest_ptr(g, gpa, npages * XENSIM_PAGE_SIZE);
	if (!host) {
		xensim_guest_free_pages(g, gpa, npages);
		return -EFAULT;
	}
	*out = (struct xensim_gbuf){ .gpa = gpa, .host = host, .len = len, .npages = npages };
	return 0;
}

void xensim_gbuf_free(xensim_guest *g, struct xensim_gbuf *b)
{
	if (!b || !b->npages)
		return;
	xensim_guest_free_pages(g, b->gpa, b->npages);
	memset(b, 0, sizeof(*b));
}
