/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the transmit path of the net example (examples/net/net.c): a guest's
 * transmit chain — its 12-byte virtio_net_hdr, in any split over the descriptors, then the frame
 * — is checked and turned into the iovec written to the port (tx_iov()). The header fields, the
 * split, the buffer sizes, device-writable parts and the negotiated features all come from the
 * input. net.c is compiled into this target (it is #included) to reach its static functions.
 *
 * Checked for every accepted chain, from virtio 1.2 §5.1.6.2 and net.c's contract:
 *  - the header passed on is the checked copy (never the guest's buffer, which the guest may
 *    rewrite at any time), flags reduced to NEEDS_CSUM, num_buffers 0, gso_size 0 without GSO;
 *  - the frame is Ethernet-sized (ETH_HLEN .. FRAME_MAX) and hdr_len fits in it; with
 *    NEEDS_CSUM the checksum field lies inside it and CSUM was negotiated; GSO only with
 *    NEEDS_CSUM, a non-zero gso_size and the HOST_TSO4/6 (and HOST_ECN) feature of its type;
 *  - the frame entries are exactly the guest's bytes after the header, in order, none empty;
 * and every refused chain is one of: device-writable buffers, short header, bad header. ASan
 * checks that nothing is read beyond the header (the frame bytes are never read).
 *
 * Input: byte 0 number of readable buffers (% 9), byte 1 writable ones (% 3), bytes 2-9 the
 * negotiated features (le64), then per buffer a le16 length (bit 15: "large", length
 * (v & 0x7fff) * 16, backed by only 64 bytes: the device must not read frame bytes), then the
 * bytes of the buffers.
 */
#include "../../examples/net/net.c"

#include <stdint.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_BUFS   10
#define LARGE_BACK 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct net *N;

static void check_accepted(const struct net *n, int cnt, const struct iovec *iov,
			   unsigned int n_out, uint64_t out_len)
{
	struct vnet_hdr h;
	uint64_t frame = 0;
	unsigned int k = 1;
	uint64_t skip = HDR_LEN;

	CHECK(cnt >= 1 && (unsigned int)cnt <= NET_IOV);
	CHECK(n->txv[0].iov_base == n->tx_hdr && n->txv[0].iov_len == HDR_LEN);
	hdr_get(&h, n->tx_hdr);
	CHECK(!(h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) && h.num_buffers == 0);
	for (int i = 1; i < cnt; i++)
		frame += n->txv[i].iov_len;
	CHECK(frame == out_len - HDR_LEN);
	CHECK(frame >= ETH_HLEN && frame <= FRAME_MAX && h.hdr_len <= frame);
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		CHECK((uint64_t)h.csum_start + h.csum_offset + 2 <= frame);
		CHECK(has(n, VIRTIO_NET_F_CSUM));
	}
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		CHECK(h.gso_size == 0);
	} else {
		uint8_t base = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

		CHECK((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h.gso_size);
		CHECK((base == VIRTIO_NET_HDR_GSO_TCPV4 && has(n, VIRTIO_NET_F_HOST_TSO4)) ||
		      (base == VIRTIO_NET_HDR_GSO_TCPV6 && has(n, VIRTIO_NET_F_HOST_TSO6)));
		CHECK(!(h.gso_type & VIRTIO_NET_HDR_GSO_ECN) || has(n, VIRTIO_NET_F_HOST_ECN));
	}
	/* The frame entries: the guest's bytes after the header, in order, none empty. */
	for (unsigned int i = 0; i < n_out; i++) {
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		CHECK(k < (unsigned int)cnt);
		CHECK(n->txv[k].iov_base == (uint8_t *)iov[i].iov_base + skip);
		CHECK(n->txv[k].iov_len == l - skip);
		k++;
		skip = 0;
	}
	CHECK(k == (unsigned int)cnt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec iov[MAX_BUFS];
	uint8_t *back[MAX_BUFS] = { 0 };
	struct vxen_req req = { 0 };
	unsigned int n_out, n_in, nb;
	uint64_t out_len = 0, feat;
	size_t used = 10;
	int cnt;

	if (size < 10)
		return 0;
	if (!N && !(N = calloc(1, sizeof(*N))))
		return 0;
	n_out = data[0] % 9;
	n_in = data[1] % 3;
	nb = n_out + n_in;
	memcpy(&feat, data + 2, 8);
	N->feat = le64toh(feat);
	for (unsigned int i = 0; i < nb; i++) {
		uint16_t l = 0;
		size_t len, b;

		if (size - used >= 2)
			memcpy(&l, data + used, 2), used += 2;
		l = le16toh(l);
		len = l & 0x8000 ? (size_t)(l & 0x7fff) * 16 : l & 0x7ff;
		b = l & 0x8000 ? LARGE_BACK : len;
		back[i] = malloc(b ? b : 1);
		for (size_t k = 0; k < b; k++)
			back[i][k] = used + k < size ? data[used + k] : 0;
		used += b < size - used ? b : size - used;
		iov[i] = (struct iovec){ back[i], len };
		if (i < n_out)
			out_len += len;
	}
	req.iov = iov;
	req.iov_cap = MAX_BUFS;
	req.n_out = n_out;
	req.n_in = n_in;
	req.out_len = out_len;

	cnt = tx_iov(N, &req);
	if (cnt >= 0)
		check_accepted(N, cnt, iov, n_out, out_len);
	else
		CHECK(cnt == -EINVAL);
	if (n_in)
		CHECK(cnt < 0); /* transmit buffers are device-readable only */
	if (out_len < HDR_LEN)
		CHECK(cnt < 0);

	for (unsigned int i = 0; i < nb; i++)
		free(back[i]);
	return 0;
}
