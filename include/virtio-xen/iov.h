/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/iov.h — cursors over iovec arrays: read a request's device-readable bytes and write
 * its device-writable ones without caring how the memory interface split them.
 *
 * A popped request (vq.h) carries its buffers as iov[0 .. n_out) (readable) and
 * iov[n_out .. n_out + n_in) (writable). A header may be split across descriptors, a memory
 * interface may split one descriptor into many entries, and entries may have length 0, so a
 * device never indexes iov directly: it walks a cursor.
 *
 *	struct vxen_iov_cursor out, in;
 *	struct virtio_blk_outhdr hdr;
 *
 *	vxen_req_out_cursor(req, &out);
 *	if (vxen_iov_pull(&out, &hdr, sizeof(hdr)) != sizeof(hdr))
 *		... too short: fail the request ...
 *	vxen_req_in_cursor(req, &in);
 *	... vxen_iov_push(&in, data, n) ...
 *
 * A cursor only reads the iovec array (it never changes it) and keeps a position: the entry
 * index and the offset inside it. Cursors are plain values: copy one to remember a position.
 * None of these functions log, allocate or fail; a cursor is used by one thread at a time.
 */
#ifndef VIRTIO_XEN_IOV_H
#define VIRTIO_XEN_IOV_H

#include <stddef.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vxen_req;

/* A position in an iovec array. Fields are read-only for users; set them with the functions. */
struct vxen_iov_cursor {
	const struct iovec *iov; /* the array (lent: must outlive the cursor's use) */
	unsigned int n;		 /* number of entries */
	unsigned int idx;	 /* current entry; == n at the end */
	size_t off;		 /* offset inside iov[idx], always < iov[idx].iov_len */
};

/**
 * vxen_iov_cursor_init() - place @cur at the start of @iov[0 .. @n).
 * @iov: lent; may be NULL when @n is 0.
 */
void vxen_iov_cursor_init(struct vxen_iov_cursor *cur, const struct iovec *iov, unsigned int n);

/**
 * vxen_iov_pull() - copy up to @len bytes from the cursor's position into @dst and advance.
 * Returns the number of bytes copied: @len, or fewer when the array ends first.
 */
size_t vxen_iov_pull(struct vxen_iov_cursor *cur, void *dst, size_t len);

/**
 * vxen_iov_push() - copy up to @len bytes from @src to the cursor's position and advance.
 * Returns the number of bytes copied: @len, or fewer when the array ends first.
 * Writing through a cursor over device-readable buffers is a device bug (they may be mapped
 * read-only).
 */
size_t vxen_iov_push(struct vxen_iov_cursor *cur, const void *src, size_t len);

/**
 * vxen_iov_skip() - advance the cursor by up to @len bytes without copying.
 * Returns the number of bytes skipped: @len, or fewer when the array ends first.
 */
size_t vxen_iov_skip(struct vxen_iov_cursor *cur, size_t len);

/** vxen_iov_remaining() - bytes between the cursor's position and the end of the array. */
size_t vxen_iov_remaining(const struct vxen_iov_cursor *cur);

/** vxen_iov_total() - the sum of the lengths of @iov[0 .. @n). */
size_t vxen_iov_total(const struct iovec *iov, unsigned int n);

/**
 * vxen_req_out_cursor() - place @cur at the start of @req's device-readable buffers
 * (req->iov[0 .. n_out)). @req must be in flight (popped, not yet pushed).
 */
void vxen_req_out_cursor(const struct vxen_req *req, struct vxen_iov_cursor *cur);

/**
 * vxen_req_in_cursor() - place @cur at the start of @req's device-writable buffers
 * (req->iov[n_out .. n_out + n_in)). Bytes pushed through it are what vxen_vq_push()'s
 * @written counts, from the start.
 */
void vxen_req_in_cursor(const struct vxen_req *req, struct vxen_iov_cursor *cur);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_IOV_H */
