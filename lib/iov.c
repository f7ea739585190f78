/* SPDX-License-Identifier: MIT */
/*
 * lib/iov.c — iovec cursors (include/virtio-xen/iov.h).
 *
 * Invariant: either idx == n, or off < iov[idx].iov_len. Zero-length entries (which memory
 * interfaces may produce and guests may request) are stepped over eagerly, so every copy loop
 * makes progress and "at the end" is simply idx == n.
 */
#include <string.h>

#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>

#include "internal.h"

/* Skip empty entries so the invariant holds. */
static void settle(struct vxen_iov_cursor *cur)
{
	while (cur->idx < cur->n && cur->off >= cur->iov[cur->idx].iov_len) {
		cur->idx++;
		cur->off = 0;
	}
}

VXEN_EXPORT void vxen_iov_cursor_init(struct vxen_iov_cursor *cur, const struct iovec *iov,
				      unsigned int n)
{
	cur->iov = iov;
	cur->n = iov ? n : 0;
	cur->idx = 0;
	cur->off = 0;
	settle(cur);
}

/*
 * Advance over up to @len bytes, copying each contiguous piece from @buf into the iovec
 * (@to_iov) or from the iovec into @buf; a NULL @buf only skips. Returns the bytes covered.
 */
static size_t walk(struct vxen_iov_cursor *cur, void *buf, size_t len, int to_iov)
{
	size_t done = 0;

	while (done < len && cur->idx < cur->n) {
		const struct iovec *v = &cur->iov[cur->idx];
		size_t chunk = VXEN_MIN(v->iov_len - cur->off, len - done);
		char *p = (char *)v->iov_base + cur->off;

		if (buf && to_iov)
			memcpy(p, (const char *)buf + done, chunk);
		else if (buf)
			memcpy((char *)buf + done, p, chunk);
		done += chunk;
		cur->off += chunk;
		settle(cur);
	}
	return done;
}

VXEN_EXPORT size_t vxen_iov_pull(struct vxen_iov_cursor *cur, void *dst, size_t len)
{
	return walk(cur, dst, len, 0);
}

VXEN_EXPORT size_t vxen_iov_push(struct vxen_iov_cursor *cur, const void *src, size_t len)
{
	/* walk() only reads @src when copying towards the iovec. */
	return walk(cur, (void *)(uintptr_t)src, len, 1);
}

VXEN_EXPORT size_t vxen_iov_skip(struct vxen_iov_cursor *cur, size_t len)
{
	return walk(cur, NULL, len, 0);
}

VXEN_EXPORT size_t vxen_iov_remaining(const struct vxen_iov_cursor *cur)
{
	size_t total;

	if (cur->idx >= cur->n)
		return 0;
	total = cur->iov[cur->idx].iov_len - cur->off;
	return total + vxen_iov_total(cur->iov + cur->idx + 1, cur->n - cur->idx - 1);
}

VXEN_EXPORT size_t vxen_iov_total(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

VXEN_EXPORT void vxen_req_out_cursor(const struct vxen_req *req, struct vxen_iov_cursor *cur)
{
	vxen_iov_cursor_init(cur, req->iov, req->n_out);
}

VXEN_EXPORT void vxen_req_in_cursor(const struct vxen_req *req, struct vxen_iov_cursor *cur)
{
	vxen_iov_cursor_init(cur, req->iov ? req->iov + req->n_out : NULL, req->n_in);
}
