/* SPDX-License-Identifier: MIT */
/*
 * hv_proto.h — the wire protocol between xensim's hypervisor model (server/hv_*.c) and its
 * clients (the drop-in Xen libraries and libxensim).
 *
 * Transport: a SOCK_STREAM unix socket ($XENSIM_SOCKET). Every request is a struct hv_req
 * header followed by hdr.len payload bytes; every request gets exactly one reply, a struct
 * hv_rep header followed by rep.len payload bytes, with rep.nfds descriptors attached
 * (SCM_RIGHTS) to the reply's first byte. Requests on one connection are answered in order;
 * a client has at most one request in flight per connection. All integers are host-endian:
 * both ends always run on the same machine.
 *
 * Event channels use a second, per-handle SOCK_SEQPACKET socket (HV_EVTCHN_OPEN): the server
 * sends one 4-byte port per delivered event, the client writes 4-byte ports to unmask them,
 * exactly like reads and writes on Linux's /dev/xen/evtchn.
 */
#ifndef XENSIM_HV_PROTO_H
#define XENSIM_HV_PROTO_H

#include <stdint.h>

#include "xensim.h"

#define HV_PROTO_VERSION 1
#define HV_MAX_PAYLOAD	 (64u << 20) /* larger requests drop the connection */
#define HV_MAX_FDS	 8
#define HV_MAX_MAP_PAGES 65536u /* Linux gntdev's default per-call limit */
#define HV_MAX_EVTCHN	 4096u	/* 2-level event channel ABI on 64-bit */
#define HV_MAX_IOREQ_SRV 8u	/* MAX_NR_IOREQ_SERVERS */
#define HV_MAX_IO_RANGES 256u	/* MAX_NR_IO_RANGES per server and type */
#define HV_MAX_VCPUS	 128u	/* one shared ioreq page */
#define HV_NR_SPIS	 1020u	/* valid SPIs are 32..1019 (GICv2/v3 without ESPI) */
#define HV_FIRST_SPI	 32u
#define HV_DOMID_MAX	 0x7fefu /* DOMID_FIRST_RESERVED - 1 */

enum hv_op {
	HV_HELLO = 1,
	/* control */
	HV_DOMAIN_CREATE,
	HV_DOMAIN_DESTROY,
	HV_DOMAIN_EXISTS,
	HV_COUNTERS_GET,
	HV_COUNTERS_RESET,
	HV_FAULT_INJECT,
	HV_FAULT_CLEAR,
	/* guest side */
	HV_GUEST_ATTACH,
	HV_GUEST_DETACH,
	HV_GNT_END_BUSY,
	HV_IOREQ,
	/* libxengnttab */
	HV_GNT_MAP,
	HV_GNT_UNMAP,
	HV_GNT_COPY,
	/* libxenevtchn */
	HV_EVTCHN_OPEN,
	HV_EVTCHN_BIND_UNBOUND,
	HV_EVTCHN_BIND_INTERDOMAIN,
	HV_EVTCHN_UNBIND,
	HV_EVTCHN_NOTIFY,
	/* libxendevicemodel */
	HV_DM,
	/* libxenforeignmemory */
	HV_FMEM_MAP,
	HV_FMEM_UNMAP,
	HV_FMEM_MAP_RESOURCE,
	HV_FMEM_UNMAP_RESOURCE,
	HV_FMEM_RESOURCE_SIZE,
	/* release everything the connection owns now; the client closes next */
	HV_BYE,
	HV_OP_MAX
};

struct hv_req {
	uint32_t op;
	uint32_t len;
};

struct hv_rep {
	int32_t rc; /* 0 / positive result, or -errno */
	uint32_t len;
	uint32_t nfds;
	uint32_t pad;
};

struct hv_hello {
	uint32_t version;
	uint32_t domid; /* the identity this connection acts as */
	uint32_t pid;
	uint32_t pad;
};

struct hv_domain_create {
	uint64_t ram_bytes;
	uint32_t vcpus;
	uint32_t domid;
	char name[64];
};

struct hv_domid_arg {
	uint32_t domid;
	uint32_t arg;
};

struct hv_fault {
	uint32_t op;
	uint32_t nth;
	int32_t err;
	uint32_t pad;
};

/* HV_GUEST_ATTACH reply; fds: RAM memfd, grant table memfd, irq page memfd, irq eventfd. */
struct hv_attach_rep {
	uint64_t ram_bytes;
	uint32_t vcpus;
	uint32_t pad;
};

/* Interrupt state shared with the attached guest (the irq page memfd). */
struct hv_irq_page {
	uint32_t seq;	  /* futex word: bumped after every injection */
	uint32_t waiters; /* guests sleeping on seq */
	uint64_t msi_count;
	uint64_t isa_count[16];
	uint64_t spi_count[HV_NR_SPIS];
};

struct hv_ioreq_req {
	uint32_t domid;
	uint32_t vcpu;
	int32_t timeout_ms;
	uint32_t pad;
	uint64_t addr, data;
	uint32_t count, size;
	uint8_t dir, type, data_is_ptr, df;
	uint32_t pad2;
};

/*
 * A domain whose RAM the client needs. The client says which instance of the domain's RAM
 * memfd it has cached (0: none); the reply carries the current instance and, when they differ,
 * the memfd itself (fds are attached in the order of the doms array, skipping matches).
 */
struct hv_dom_ref {
	uint32_t domid;
	uint32_t pad;
	uint64_t known_instance;
};

struct hv_dom_info {
	uint64_t instance; /* 0: no such domain */
	uint64_t ram_bytes;
};

/*
 * HV_GNT_MAP: struct hv_gnt_map, doms[ndoms], uint32_t refs[count], and when ndoms > 1,
 * uint16_t dom_index[count]. Reply: struct hv_dom_info info[ndoms], uint64_t frames[count].
 */
#define HV_GNT_MAP_NOTIFY_BYTE	(1u << 0)
#define HV_GNT_MAP_NOTIFY_EVENT (1u << 1)
struct hv_gnt_map {
	uint64_t vaddr; /* key of the mapping: where the client will map it */
	uint32_t count;
	uint32_t prot;
	uint32_t ndoms;
	uint32_t notify_flags;
	uint32_t notify_offset;
	uint32_t notify_port;
};

struct hv_gnt_unmap {
	uint64_t vaddr;
	uint32_t count;
	uint32_t pad;
};

/*
 * HV_GNT_COPY: struct hv_gnt_copy, doms[ndoms], struct hv_copy_seg segs[count].
 * Reply: struct hv_dom_info info[ndoms], struct hv_copy_res res[count].
 * The segments' grant sides are validated by the machine; the client copies.
 */
struct hv_gnt_copy {
	uint32_t count;
	uint32_t ndoms;
};

struct hv_copy_seg {
	uint32_t flags; /* GNTCOPY_source_gref, GNTCOPY_dest_gref */
	uint32_t src_ref, dst_ref;
	uint16_t src_off, dst_off, len;
	uint16_t src_dom, dst_dom; /* index into doms */
	uint16_t pad;
};

struct hv_copy_res {
	uint64_t src_frame, dst_frame;
	int32_t status; /* GNTST_* */
	uint32_t pad;
};

struct hv_evtchn_req {
	uint32_t domid; /* remote domain (bind) */
	uint32_t port;	/* remote port (bind_interdomain) or local port */
};

enum hv_dm_op {
	HV_DM_NR_VCPUS,
	HV_DM_CREATE,
	HV_DM_GET_INFO,
	HV_DM_SET_STATE,
	HV_DM_MAP_RANGE,
	HV_DM_UNMAP_RANGE,
	HV_DM_DESTROY,
	HV_DM_SET_IRQ_LEVEL,
	HV_DM_SET_ISA_IRQ_LEVEL,
	HV_DM_INJECT_MSI,
};

struct hv_dm_req {
	uint32_t sub; /* enum hv_dm_op */
	uint32_t domid;
	uint32_t id; /* ioreq server id */
	uint32_t a;
	uint64_t b, c;
};

struct hv_dm_rep {
	uint64_t r0, r1, r2;
};

/* HV_FMEM_MAP: struct hv_fmem_map, uint64_t pfns[count]. Reply: info, int32_t err[count]. */
struct hv_fmem_map {
	uint64_t vaddr;
	uint32_t count;
	uint32_t prot;
	struct hv_dom_ref dom;
};

struct hv_fmem_unmap {
	uint64_t vaddr;
	uint64_t count;
};

struct hv_res_req {
	uint32_t domid, type, id, prot;
	uint64_t frame, nr;
};

/* Reply of HV_FMEM_MAP_RESOURCE; one fd: map nr pages of it at @offset. */
struct hv_res_rep {
	uint64_t res_id;
	uint64_t offset;
};

#endif /* XENSIM_HV_PROTO_H */
