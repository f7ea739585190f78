/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree program using an installed libvirtio-xen, as a backend author would: the
 * umbrella header, vxen_version(), and one request through a virtqueue on plain memory
 * (vxen_vq_plain_mem_ops(): no Xen needed).
 *
 *	consumer EXPECTED_VERSION
 *
 * Exit 0 when everything behaved as documented; otherwise 1 with the reason on stderr.
 * The rings are written in host byte order: virtio rings are little-endian, as are the hosts
 * this test runs on.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <virtio-xen/virtio-xen.h>

#define QSIZE	    8u
#define RAM_BASE    0x10000u
#define DESC_F_NEXT 1u

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static _Alignas(16) struct vring_desc desc[QSIZE];
static _Alignas(4) uint16_t avail[3 + QSIZE];	 /* flags, idx, ring[], used_event */
static _Alignas(4) uint32_t used[2 + 2 * QSIZE]; /* flags|idx, ring[] {id, len}, avail_event */
static char ram[4096];

static int fail(const char *what, long got)
{
	fprintf(stderr, "consumer: %s (got %ld)\n", what, got);
	return 1;
}

static int one_request(vxen_vq *vq)
{
	struct vxen_desc rdesc[4];
	struct iovec riov[4];
	struct vxen_req req = { .desc = rdesc, .desc_cap = 4, .iov = riov, .iov_cap = 4 };
	struct vxen_iov_cursor out, in;
	char buf[16] = { 0 };
	size_t n;
	int r;

	r = vxen_vq_pop(vq, &req);
	if (r != 1)
		return fail("vxen_vq_pop() did not return the available chain", r);
	if (req.out_len != 6 || req.in_len != 16)
		return fail("request lengths differ from the descriptors", (long)req.out_len);
	vxen_req_out_cursor(&req, &out);
	n = vxen_iov_pull(&out, buf, sizeof(buf));
	if (n != 6 || strcmp(buf, "hello") != 0)
		return fail("device-readable bytes differ from what the driver wrote", (long)n);
	vxen_req_in_cursor(&req, &in);
	n = vxen_iov_push(&in, "HELLO", 6);
	if (vxen_vq_push(vq, &req, (uint32_t)n) != 0)
		return fail("vxen_vq_push() failed", -1);
	if (!vxen_vq_publish(vq))
		return fail("vxen_vq_publish() did not ask for an interrupt", 0);
	if ((used[0] >> 16) != 1 || used[1] != 0 || used[2] != 6)
		return fail("used ring not updated as documented", (long)(used[0] >> 16));
	if (strcmp(ram + 0x100, "HELLO") != 0)
		return fail("device-writable buffer not written", 0);
	r = vxen_vq_pop(vq, &req);
	if (r != 0)
		return fail("vxen_vq_pop() on an empty ring did not return 0", r);
	return 0;
}

int main(int argc, char **argv)
{
	struct vxen_vq_plain_mem mem = { .host = ram, .base = RAM_BASE, .size = sizeof(ram) };
	struct vxen_vq_config cfg = VXEN_VQ_CONFIG_INIT;
	vxen_vq *vq = NULL;
	int r;

	if (argc != 2)
		return fail("usage: consumer EXPECTED_VERSION", argc);
	if (strcmp(vxen_version(), argv[1]) != 0)
		return fail("vxen_version() is not the expected version", -1);

	/* The driver side: a two-descriptor chain, "hello" to read, 16 bytes to write. */
	memcpy(ram, "hello", 6);
	desc[0] = (struct vring_desc){ RAM_BASE, 6, DESC_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ RAM_BASE + 0x100, 16, VXEN_DESC_F_WRITE, 0 };
	avail[2] = 0; /* ring[0] = head 0 */
	avail[1] = 1; /* idx */

	cfg.size = QSIZE;
	cfg.desc = desc;
	cfg.avail = avail;
	cfg.used = used;
	cfg.mem = vxen_vq_plain_mem_ops();
	cfg.mem_payload = &mem;
	r = vxen_vq_new(&vq, &cfg);
	if (r != 0)
		return fail("vxen_vq_new() failed", r);
	r = one_request(vq);
	vxen_vq_free(vq);
	vxen_vq_free(NULL);
	if (r == 0)
		printf("consumer: libvirtio-xen %s OK\n", vxen_version());
	return r;
}
