/* SPDX-License-Identifier: MIT */
/*
 * xensim.h — the simulated Xen machine: control, toolstack and guest-side API.
 *
 * xensim has two halves:
 *  - the *machine*: a hypervisor model (domains, RAM, grant tables, event channels, ioreq
 *    servers, interrupt lines) and a xenstored speaking the real xenstore wire protocol. It runs
 *    as the `xensimd` daemon or as threads inside a test process (xensim_server_start()).
 *  - drop-in replacements for libxengnttab.so.1, libxenevtchn.so.1, libxendevicemodel.so.1,
 *    libxenforeignmemory.so.1 and libxenstore.so.4 that talk to the machine. A backend binary
 *    linked against Debian's libxen runs on xensim with LD_LIBRARY_PATH alone.
 *
 * This header is the other side: what a test, a simulated guest or a simulated toolstack uses.
 *
 * Finding the machine: every handle (ours and the drop-in libraries') connects to the hypervisor
 * socket named by $XENSIM_SOCKET and to the xenstore socket named by $XENSTORED_PATH (the same
 * variable real libxenstore honours). xensim_server_start() sets both in this process.
 *
 * Identity: a client acts as domain $XENSIM_DOMID (default 0, i.e. dom0). Grants are checked
 * against the mapping client's domain, as on real Xen.
 *
 * Conventions: functions return 0 or a negative errno unless documented otherwise; constructors
 * leave *out untouched on failure; nothing here aborts or logs to stderr. Handles are not
 * thread-safe: use one handle per thread (they are cheap), except where a function says so.
 */
#ifndef XENSIM_H
#define XENSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XENSIM_PAGE_SIZE 4096u
#define XENSIM_PAGE_SHIFT 12
/* Bit 63 marks a grant-DMA address: 1<<63 | gref<<12 | offset (Linux grant-dma-ops). */
#define XENSIM_GRANT_DMA_BIT (1ULL << 63)
#define XENSIM_NR_GRANTS 32768u /* 64 grant-table frames of v1 entries, Xen's default */

/* ------------------------------------------------------------------------------------------ */
/* The machine                                                                                 */

typedef struct xensim_server xensim_server;

/**
 * xensim_server_start() - run a fresh simulated machine in background threads of this process.
 * @out: receives the server; stop it with xensim_server_stop().
 * @dir: directory for the two sockets, or NULL for a new private directory under $TMPDIR.
 *
 * Sets XENSIM_SOCKET and XENSTORED_PATH in this process's environment, so handles opened
 * afterwards (ours and the drop-in libraries') reach this machine. Child processes inherit them.
 */
int xensim_server_start(xensim_server **out, const char *dir);

/** xensim_server_stop() - stop the machine, close every client, remove the sockets. NULL is fine. */
void xensim_server_stop(xensim_server *srv);

/** Path of the hypervisor socket and of the xenstore socket; lent, valid until stop. */
const char *xensim_server_socket(const xensim_server *srv);
const char *xensim_server_xs_socket(const xensim_server *srv);

/* ------------------------------------------------------------------------------------------ */
/* Control connection                                                                          */

typedef struct xensim xensim;

/**
 * xensim_open() - connect to the machine (control + toolstack + counters + faults).
 * @socket_path: hypervisor socket, or NULL for $XENSIM_SOCKET.
 * Returns -ENOENT when there is no machine to connect to.
 */
int xensim_open(xensim **out, const char *socket_path);
void xensim_close(xensim *x);

struct xensim_domain_config {
	unsigned int version;	  /* XENSIM_DOMAIN_CONFIG_VERSION */
	const char *name;	  /* for xenstore /local/domain/<id>/name; may be NULL */
	uint64_t ram_bytes;	  /* guest RAM, multiple of 4 KiB; 0 means 64 MiB */
	unsigned int vcpus;	  /* 0 means 1; at most 128 (one ioreq page) */
	uint32_t domid;		  /* 0 = next free domid (never reused until wrap) */
};
#define XENSIM_DOMAIN_CONFIG_VERSION 1
#define XENSIM_DOMAIN_CONFIG_INIT { .version = XENSIM_DOMAIN_CONFIG_VERSION }

/**
 * xensim_domain_create() - create a domain (paused state is not modelled: it runs at once, and
 * only does what its guest-side handle is told to do).
 * @domid_out: the new domain's id (≥ 1).
 * Also writes /local/domain/<id>/{name,domid} in xenstore, as the toolstack would.
 */
int xensim_domain_create(xensim *x, const struct xensim_domain_config *cfg, uint32_t *domid_out);

/**
 * xensim_domain_destroy() - destroy a domain as the hypervisor does: its event channels close
 * (peers see them as unbound), its ioreq servers vanish, waiting MMIO accesses fail with
 * -ESRCH, and xenstore fires @releaseDomain. As on Xen, grant and foreign mappings of its pages
 * held by backends stay valid until the backends unmap them (the unmaps succeed); the dying
 * domain lingers until then (its domid cannot be reused, its counters stay readable).
 * Does NOT remove xenstore device entries: that is the toolstack's job (xensim_xl_destroy()).
 */
int xensim_domain_destroy(xensim *x, uint32_t domid);

/** xensim_domain_exists() - 1 if the domain exists, 0 if not, -errno on error. */
int xensim_domain_exists(xensim *x, uint32_t domid);

/* ------------------------------------------------------------------------------------------ */
/* Simulated toolstack (libxl's xenstore writes for virtio devices)                            */

enum xensim_virtio_kind {
	XENSIM_VIRTIO_GENERIC, /* backend/virtio/<fe>/<devid>, type "virtio,device<N>" */
	XENSIM_VIRTIO_DISK,    /* backend/virtio_disk/<fe>/<devid>, with params and mode */
};

struct xensim_virtio_dev {
	unsigned int version;	 /* XENSIM_VIRTIO_DEV_VERSION */
	enum xensim_virtio_kind kind;
	uint32_t backend_domid;	 /* usually 0 */
	uint32_t frontend_domid;
	uint32_t devid;		 /* 0, 1, ... */
	uint32_t virtio_id;	 /* virtio device id: net 1, blk 2, console 3, rng 4 */
	uint64_t base;		 /* MMIO window base (guest physical) */
	uint32_t irq;		 /* SPI number */
	int grant_usage;	 /* 1, 0, or -1 to omit the key (older tools) */
	const char *params;	 /* disks: backing file path */
	const char *mode;	 /* disks: "w" or "r" */
	bool base_hex;		 /* write base as 0x-hex instead of decimal */
};
#define XENSIM_VIRTIO_DEV_VERSION 1
#define XENSIM_VIRTIO_DEV_INIT { .version = XENSIM_VIRTIO_DEV_VERSION, .grant_usage = 1 }

/**
 * xensim_xl_add_virtio() - write a device's backend and frontend xenstore entries exactly as
 * libxl does on Arm (see doc/xensim.md): backend dir with frontend, frontend-id, online, state=1,
 * irq, base, type, transport=mmio, grant_usage (and params/mode for disks); frontend dir
 * /local/domain/<fe>/device/<kind>/<devid> with backend, backend-id, state=1.
 * Permissions: backend dir owned by the backend domain, readable by the frontend.
 */
int xensim_xl_add_virtio(xensim *x, const struct xensim_virtio_dev *dev);

/** xensim_xl_remove_virtio() - remove both directories of one device (libxl device removal). */
int xensim_xl_remove_virtio(xensim *x, const struct xensim_virtio_dev *dev);

/**
 * xensim_xl_destroy() - what `xl destroy` does: remove the domain's device entries from every
 * backend, remove /local/domain/<id>, then destroy the domain.
 */
int xensim_xl_destroy(xensim *x, uint32_t domid);

/**
 * xensim_xs_wait() - wait until xenstore node @path has value @value (or, with @value NULL,
 * until it does not exist). Returns 0, or -ETIMEDOUT after @timeout_ms.
 */
int xensim_xs_wait(xensim *x, const char *path, const char *value, int timeout_ms);

/* ------------------------------------------------------------------------------------------ */
/* Counters: every crossing the backend side makes, counted by the machine.                    */

struct xensim_counters {
	/* libxengnttab (the domain is the granting one) */
	uint64_t gnt_map_calls, gnt_map_pages, gnt_unmap_calls, gnt_unmap_pages;
	uint64_t gnt_copy_calls, gnt_copy_segs, gnt_copy_bytes;
	uint64_t gnt_live_pages;	/* pages of this domain mapped by others right now */
	uint64_t gnt_end_busy;		/* guest ended access while mapped ("still in use") */
	/* libxenevtchn */
	uint64_t evtchn_notify_calls;	/* backend -> guest-side notifications */
	uint64_t evtchn_deliveries;	/* events delivered to backend handles */
	uint64_t evtchn_live_ports;	/* bound ports involving this domain right now */
	/* libxendevicemodel */
	uint64_t dm_calls;		/* every DM op, any kind */
	uint64_t ioreq_servers_live;
	uint64_t ioreqs;		/* accesses sent through an ioreq server */
	uint64_t irq_raises;		/* set_irq_level(.., 1) / isa level 1 / inject_msi */
	/* libxenforeignmemory */
	uint64_t fmem_map_calls, fmem_map_pages, fmem_unmap_calls, fmem_live_pages;
	uint64_t fmem_resource_maps_live;
	/* libxenstore (whole machine; not per domain) */
	uint64_t xs_ops, xs_watches_live, xs_transactions, xs_watch_events;
};

#define XENSIM_DOMID_ALL 0xffffffffu

/**
 * xensim_counters_get() - read the counters for one guest domain (operations that target it),
 * or for the whole machine with XENSIM_DOMID_ALL.
 */
int xensim_counters_get(xensim *x, uint32_t domid, struct xensim_counters *out);

/** xensim_counters_reset() - zero the cumulative counters (live gauges are kept). */
int xensim_counters_reset(xensim *x);

/* ------------------------------------------------------------------------------------------ */
/* Fault injection                                                                             */

enum xensim_op {
	XENSIM_OP_GNT_MAP,		/* xengnttab_map_* */
	XENSIM_OP_GNT_UNMAP,
	XENSIM_OP_GNT_COPY,		/* whole call fails */
	XENSIM_OP_EVTCHN_BIND_INTERDOMAIN,
	XENSIM_OP_EVTCHN_BIND_UNBOUND,
	XENSIM_OP_EVTCHN_NOTIFY,
	XENSIM_OP_EVTCHN_DELIVER,	/* the event is silently dropped (err ignored) */
	XENSIM_OP_DM_NR_VCPUS,
	XENSIM_OP_DM_CREATE_IOREQ_SERVER,
	XENSIM_OP_DM_GET_IOREQ_SERVER_INFO,
	XENSIM_OP_DM_SET_IOREQ_SERVER_STATE,
	XENSIM_OP_DM_MAP_IO_RANGE,
	XENSIM_OP_DM_UNMAP_IO_RANGE,
	XENSIM_OP_DM_DESTROY_IOREQ_SERVER,
	XENSIM_OP_DM_SET_IRQ_LEVEL,	/* also set_isa_irq_level and inject_msi */
	XENSIM_OP_FMEM_MAP,
	XENSIM_OP_FMEM_MAP_RESOURCE,
	XENSIM_OP_XS_READ,
	XENSIM_OP_XS_WRITE,
	XENSIM_OP_XS_DIRECTORY,
	XENSIM_OP_XS_MKDIR,
	XENSIM_OP_XS_RM,
	XENSIM_OP_XS_WATCH,
	XENSIM_OP_XS_TRANSACTION_START,
	XENSIM_OP_XS_TRANSACTION_END,	/* EAGAIN here is the classic "retry" */
	XENSIM_OP_COUNT
};

/**
 * xensim_fault_inject() - make the @nth next call of @op (1 = the very next) fail with @err
 * (a positive errno, as the real library would leave in errno). One-shot; several may be armed
 * for the same op with different @nth. Applies to calls from any client of the machine.
 */
int xensim_fault_inject(xensim *x, enum xensim_op op, unsigned int nth, int err);

/** xensim_fault_clear() - disarm every pending fault. */
int xensim_fault_clear(xensim *x);

/* ------------------------------------------------------------------------------------------ */
/* Guest side: one domain's "kernel" as seen by a test                                         */

typedef struct xensim_guest xensim_guest;

/**
 * xensim_guest_attach() - become the kernel of domain @domid: map its RAM and grant table into
 * this process. At most one guest handle per domain at a time (-EBUSY otherwise).
 */
int xensim_guest_attach(xensim_guest **out, xensim *x, uint32_t domid);
void xensim_guest_detach(xensim_guest *g);

uint32_t xensim_guest_domid(const xensim_guest *g);

/** Guest RAM as mapped in this process (guest physical address 0 is ram[0]). */
void *xensim_guest_ram(xensim_guest *g, uint64_t *size_out);

/** Allocate / free zeroed, page-aligned guest RAM (a simple guest page allocator). */
int xensim_guest_alloc_pages(xensim_guest *g, size_t npages, uint64_t *gpa_out);
void xensim_guest_free_pages(xensim_guest *g, uint64_t gpa, size_t npages);

/* Host pointer for a guest physical address range, or NULL if outside RAM. */
void *xensim_guest_ptr(xensim_guest *g, uint64_t gpa, size_t len);

/*
 * Grants. The grant table lives in memory shared with the machine, as on real Xen: granting and
 * ending access are plain writes (cmpxchg) by the guest, no round trip.
 */

/** xensim_grant_access() - grant @backend_domid access to guest frame @gfn; returns the ref. */
int xensim_grant_access(xensim_guest *g, uint32_t backend_domid, uint64_t gfn, bool readonly,
			uint32_t *gref_out);

/**
 * xensim_grant_end_access() - end access like Linux's gnttab_end_foreign_access_ref():
 * fails with -EBUSY if the grant is still mapped by the backend; the machine then counts
 * gnt_end_busy and the guest marks the device broken (xensim_guest_broken()); the ref stays
 * allocated (Linux leaks it). A grant copy in progress is not detected (see doc/xensim.md).
 * -EINVAL if @gref is not a ref this guest handle allocated.
 */
int xensim_grant_end_access(xensim_guest *g, uint32_t gref);

/** xensim_grant_revoke() - clear the grant entry regardless of mappings (hostile/fault case). */
int xensim_grant_revoke(xensim_guest *g, uint32_t gref);

/** Number of "grant still in use by backend" events this guest has seen. */
uint64_t xensim_guest_broken(const xensim_guest *g);

/*
 * Grant-DMA (Linux drivers/xen/grant-dma-ops.c): buffers get n consecutive grant refs and the
 * device sees 1<<63 | first_gref<<12 | offset.
 */
enum xensim_dma_dir {
	XENSIM_DMA_TO_DEVICE,	  /* device reads: granted read-only */
	XENSIM_DMA_FROM_DEVICE,	  /* device writes: granted read-write */
	XENSIM_DMA_BIDIRECTIONAL, /* read-write */
};

/**
 * xensim_dma_map() - grant the guest buffer at guest physical @gpa, @len bytes, to
 * @backend_domid with consecutive refs, and return the device address.
 */
int xensim_dma_map(xensim_guest *g, uint32_t backend_domid, uint64_t gpa, size_t len,
		   enum xensim_dma_dir dir, uint64_t *dma_out);

/**
 * xensim_dma_unmap() - end access to every ref of a mapping made by xensim_dma_map(). Ends all
 * refs even if some fail; returns -EBUSY if any was still mapped by the backend.
 */
int xensim_dma_unmap(xensim_guest *g, uint64_t dma, size_t len);

/**
 * xensim_dma_alloc() - allocate zeroed pages and map them bidirectionally (a coherent
 * allocation, as used for vrings). *host_out points at the memory in this process.
 */
int xensim_dma_alloc(xensim_guest *g, uint32_t backend_domid, size_t len, uint64_t *dma_out,
		     uint64_t *gpa_out, void **host_out);
int xensim_dma_free(xensim_guest *g, uint64_t dma, uint64_t gpa, size_t len);

/*
 * MMIO: accesses travel exactly like a vCPU trap: the machine finds the ioreq server whose
 * range covers @addr, fills that vCPU's slot in the server's shared page, marks it READY and
 * signals the vCPU's event channel; the call returns when the backend has set IORESP_READY and
 * notified. -EFAULT if no server claims the address (an Arm guest would take a data abort),
 * -ETIMEDOUT after the guest's timeout (default 5000 ms), -ESRCH if the domain died, -EBUSY if
 * the vCPU already has an access outstanding, -EINVAL for a bad vCPU or size (1, 2, 4, 8).
 * Blocking: the backend must run in another thread or process. Accesses on different vCPUs
 * may run concurrently from different threads (each vCPU has its own connection).
 */
int xensim_mmio_read(xensim_guest *g, unsigned int vcpu, uint64_t addr, unsigned int size,
		     uint64_t *val_out);
int xensim_mmio_write(xensim_guest *g, unsigned int vcpu, uint64_t addr, unsigned int size,
		      uint64_t val);
/* Timeout of this guest's accesses in ms; <= 0 restores the default (5000). */
void xensim_guest_set_timeout(xensim_guest *g, int timeout_ms);

/**
 * xensim_ioreq_raw() - send an arbitrary request (hostile-guest tests: data_is_ptr, count > 1,
 * unknown types, odd sizes) through the vCPU slot and wait for the answer like an MMIO access.
 */
struct xensim_ioreq {
	uint64_t addr, data;
	uint32_t count, size;
	uint8_t dir, type, data_is_ptr, df;
};
int xensim_ioreq_raw(xensim_guest *g, unsigned int vcpu, const struct xensim_ioreq *req,
		     uint64_t *data_out);

/**
 * Interrupts. The machine counts, per guest, SPI rising edges (set_irq_level 0->1 or 1->1 on an
 * edge-triggered line), ISA IRQ level-high events and MSIs.
 *
 * xensim_irq_wait() - wait for at least one interrupt on SPI @spi; consumes and returns the
 * number of edges seen since the last call (≥ 1), 0 on timeout, or -errno.
 * @timeout_ms: 0 polls, -1 waits forever.
 */
int xensim_irq_wait(xensim_guest *g, uint32_t spi, int timeout_ms);

/** Total SPI edges / ISA raises / MSIs injected into this guest (not consumed by waits). */
int xensim_irq_count(xensim_guest *g, uint32_t spi, uint64_t *count_out);
int xensim_isa_irq_count(xensim_guest *g, uint32_t isa_irq, uint64_t *count_out);
int xensim_msi_count(xensim_guest *g, uint64_t *count_out);

/** A pollable fd that becomes readable when an interrupt for this guest arrives. */
int xensim_guest_irq_fd(xensim_guest *g);

#ifdef __cplusplus
}
#endif

#endif /* XENSIM_H */
