/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/ioreq.h — L4: a Xen ioreq server, MMIO dispatch and interrupt injection.
 *
 * One vxen_ioreq_server serves one guest domain and is shared by all of that guest's devices
 * (Xen allows at most 8 ioreq servers per domain, so one per device would not scale). Each
 * device registers its MMIO window as a range with read/write callbacks; the server routes every
 * guest access to the range that covers its address.
 *
 *	vxen_ioreq_server *srv;
 *	vxen_ioreq_server_new(&srv, domid, NULL);
 *	vxen_ioreq_add_mmio(srv, base, 0x200, &my_range_ops, dev, &range);
 *	// in the event loop: poll vxen_ioreq_fd(srv) for POLLIN, then
 *	int r = vxen_ioreq_process(srv);       // runs read/write callbacks
 *	...
 *	vxen_ioreq_irq_raise(srv, &irq);       // from any thread
 *	vxen_ioreq_remove(range);
 *	vxen_ioreq_server_free(srv);
 *
 * What the guest sends is hostile. A request slot is copied once out of the shared page and
 * classified on that copy:
 *  - MMIO (IOREQ_TYPE_COPY) with count == 1, data_is_ptr == 0 and size 1, 2, 4 or 8: routed to the
 *    range covering addr; the callback gets the offset from the range base. An access that starts
 *    inside a range but runs past its end is rejected, like one to no range.
 *  - IOREQ_TYPE_INVALIDATE (Xen/Arm sends it; it asks a mapcache user to drop its cache): only
 *    acknowledged and counted. Nothing is flushed: this library keeps no mapcache, and ring
 *    mappings are grant mappings that the guest's invalidate does not concern.
 *  - any other type (PIO, PCI config, TIMEOFFSET, unknown): acknowledged and counted, never
 *    treated as MMIO.
 *  - MMIO with data_is_ptr, count != 1 (x86 rep string instructions) or a size not in
 *    {1, 2, 4, 8}: "rejected" — answered without calling any callback, counted, logged
 *    (rate-limited). A grant-only backend cannot honour data_is_ptr (it names raw guest memory).
 *  - an access to no range ("unclaimed"): answered, counted, logged (rate-limited).
 * Answer to anything not handled by a callback: reads return all-ones in the low `size` bytes
 * (what a read of an unbacked bus returns; size clamped to 8), writes are dropped. The answer
 * to a read always carries the value in the low `size` bytes and zeros above.
 *
 * Event channels: one per vCPU, all bound on one xenevtchn handle whose fd is vxen_ioreq_fd().
 * A wake-up whose slot is not READY is spurious (normal when a kernel ioeventfd shares the
 * channel) and is ignored after counting.
 *
 * Thread rules, unless a function says otherwise: a server and its ranges are used by one thread
 * at a time (the event-loop thread): new/free, add/remove and process must not run concurrently.
 * A callback may call vxen_ioreq_remove() on any range of its own server, including its own
 * (the server does not touch the range after the callback returns), but must not call
 * vxen_ioreq_process() or vxen_ioreq_server_free(). vxen_ioreq_irq_raise() and
 * vxen_ioreq_server_stats() are thread-safe and may be called from worker threads while the
 * loop thread processes requests.
 *
 * Fork: a server's handles are not usable in a child process; the child must not free it
 * either (it would tear down the parent's server).
 *
 * Guest death: Xen does not signal it on the ioreq event channels (a dead peer's channel just
 * goes quiet). Two things notice it: xenstore's @releaseDomain (see xs.h), and
 * vxen_ioreq_server_check(), a cheap question to Xen that needs no xenstore and that an event
 * loop asks periodically (loop.h does, once a second by default). Once any call of this server
 * sees Xen fail with ESRCH/ENOENT (vxen_ioreq_server_check(), vxen_ioreq_irq_raise(), an evtchn
 * call inside vxen_ioreq_process()), the server is marked dead: vxen_ioreq_process() and
 * vxen_ioreq_server_check() return -ESRCH from then on, and vxen_ioreq_irq_raise() fails with
 * -ESRCH without calling Xen. Requests already posted when the guest died are answered
 * harmlessly into our own mapping of the page. Until its devices are freed, a dead guest stays
 * a zombie domain in Xen (our grant mappings pin its memory), so free them, then the server,
 * soon. vxen_ioreq_server_free() releases every local resource in any case; failures of the
 * hypervisor-side teardown are logged at LOG_DEBUG and swallowed.
 */
#ifndef VIRTIO_XEN_IOREQ_H
#define VIRTIO_XEN_IOREQ_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One ioreq server for one guest domain. Hidden. */
typedef struct vxen_ioreq_server vxen_ioreq_server;
/* One MMIO window registered with a server. Hidden; owned by its server. */
typedef struct vxen_ioreq_range vxen_ioreq_range;

/**
 * struct vxen_ioreq_server_config - options for vxen_ioreq_server_new().
 * @version: VXEN_IOREQ_SERVER_CONFIG_VERSION.
 * @flags: none defined yet; must be 0.
 *
 * Initialise with VXEN_IOREQ_SERVER_CONFIG_INIT; later versions only append fields.
 */
struct vxen_ioreq_server_config {
	unsigned int version;
	unsigned int flags;
};
#define VXEN_IOREQ_SERVER_CONFIG_VERSION 1
/* clang-format off */
#define VXEN_IOREQ_SERVER_CONFIG_INIT { .version = VXEN_IOREQ_SERVER_CONFIG_VERSION }
/* clang-format on */

/**
 * struct vxen_ioreq_range_ops - what a range does with the guest's accesses.
 * @version: VXEN_IOREQ_RANGE_OPS_VERSION.
 * @read: a guest load of @size bytes (1, 2, 4 or 8) at @offset from the range base; store the
 *        value in *@val (only the low @size bytes are used). Return 0, or a negative errno to
 *        make the guest read all-ones (counted as a callback error; not logged here — a
 *        callback that fails because of the guest logs that itself). May be NULL: reads
 *        return all-ones.
 * @write: a guest store of @size bytes; @val holds the value in its low @size bytes, zeros above.
 *         Return 0 or a negative errno (counted; the write is over either way). May be NULL.
 * @payload (last argument of each): the pointer given to vxen_ioreq_add_mmio().
 *
 * Callbacks run on the thread calling vxen_ioreq_process(), with the guest's vCPU stalled until
 * they return: do not block. An access always lies entirely inside the range.
 */
struct vxen_ioreq_range_ops {
	unsigned int version;
	int (*read)(uint64_t offset, unsigned int size, uint64_t *val, void *payload);
	int (*write)(uint64_t offset, unsigned int size, uint64_t val, void *payload);
};
#define VXEN_IOREQ_RANGE_OPS_VERSION 1

/**
 * struct vxen_ioreq_stats - per-server counters (cumulative since creation).
 * @requests: READY slots taken (every request, whatever its type).
 * @mmio_reads, @mmio_writes: MMIO accesses handed to a range's callback.
 * @invalidates: IOREQ_TYPE_INVALIDATE requests acknowledged.
 * @other_types: PIO, PCI config, TIMEOFFSET and unknown types acknowledged.
 * @rejected: MMIO with data_is_ptr, count != 1 or a size not in {1, 2, 4, 8}.
 * @unclaimed: well-formed MMIO accesses that no range covers.
 * @callback_errors: read/write callbacks that returned a negative errno.
 * @spurious: event-channel wake-ups whose slot was not READY (or whose port was not ours).
 * @irqs: interrupts injected successfully; @irq_errors: injections that failed.
 */
struct vxen_ioreq_stats {
	uint64_t requests;
	uint64_t mmio_reads;
	uint64_t mmio_writes;
	uint64_t invalidates;
	uint64_t other_types;
	uint64_t rejected;
	uint64_t unclaimed;
	uint64_t callback_errors;
	uint64_t spurious;
	uint64_t irqs;
	uint64_t irq_errors;
};

/**
 * vxen_ioreq_server_new() - create and enable an ioreq server for guest @domid.
 * @out: receives the server, owned by the caller (vxen_ioreq_server_free()). Untouched on error.
 * @domid: the guest domain.
 * @cfg: options, or NULL for defaults.
 *
 * Does, in order: open the devicemodel, foreignmemory and evtchn handles; read the guest's vCPU
 * count; create the server without buffered ioreqs (HVM_IOREQSRV_BUFIOREQ_OFF); map its
 * synchronous ioreq page (resource frame ioreq(0)); enable it; bind one event channel per vCPU.
 * If a step fails, every earlier step is undone (ports unbound, state 0, page unmapped, server
 * destroyed, handles closed): nothing is left behind in Xen or in the process.
 *
 * The server receives nothing until a range is added. The guest must not run before that
 * (toolstacks create it paused).
 *
 * Returns 0, -EINVAL (bad @cfg, vCPU count 0 or more than one ioreq page holds), -ENOSYS (the
 * hypervisor has no ioreq server support: Xen/Arm without CONFIG_IOREQ_SERVER), -ESRCH (no such
 * domain), -ENOMEM, or the -errno of the failing Xen call. Logs the failing step at LOG_ERR.
 */
int vxen_ioreq_server_new(vxen_ioreq_server **out, uint32_t domid,
			  const struct vxen_ioreq_server_config *cfg);

/**
 * vxen_ioreq_server_free() - tear the server down and free it; NULL is fine.
 *
 * Unmaps every remaining range (freeing the range objects: their pointers become invalid), then
 * unbinds the ports, disables the server, unmaps the page, destroys the server and closes the
 * handles. Never fails: if the guest is already gone, the hypervisor-side steps fail with
 * ESRCH/ENOENT and are logged at LOG_DEBUG; other failures at LOG_WARNING. Local resources are
 * released in every case. No callback is called.
 */
void vxen_ioreq_server_free(vxen_ioreq_server *srv);

/** vxen_ioreq_server_domid() - the guest domain the server serves. Thread-safe. */
uint32_t vxen_ioreq_server_domid(const vxen_ioreq_server *srv);

/** vxen_ioreq_server_nr_vcpus() - the guest's vCPU count (one event channel each). Thread-safe. */
unsigned int vxen_ioreq_server_nr_vcpus(const vxen_ioreq_server *srv);

/**
 * vxen_ioreq_add_mmio() - claim the guest-physical window [@base, @base + @size) and route the
 * accesses to it to @ops.
 * @out: receives the range, owned by @srv; may be NULL if the caller never removes it before
 *       freeing the server. Untouched on error.
 * @ops: callbacks; the struct is copied.
 * @payload: passed to the callbacks.
 *
 * Maps the range to the server in Xen (inclusive end @base + @size - 1) before it becomes
 * routable. Returns 0, -EINVAL (@size 0, window wrapping 2^64, NULL @ops or bad version),
 * -EEXIST (overlaps a range already added to this server), -ENOMEM, or the -errno of the map
 * call (-EEXIST too when Xen says another server claims the window). Logs Xen failures.
 */
int vxen_ioreq_add_mmio(vxen_ioreq_server *srv, uint64_t base, uint64_t size,
			const struct vxen_ioreq_range_ops *ops, void *payload,
			vxen_ioreq_range **out);

/**
 * vxen_ioreq_remove() - unmap the window from the server and free the range; NULL is fine.
 *
 * After it returns no callback of the range runs. Failure to unmap in Xen (guest gone) is logged
 * at LOG_DEBUG and otherwise ignored: the range is gone locally either way.
 */
void vxen_ioreq_remove(vxen_ioreq_range *range);

/**
 * vxen_ioreq_fd() - the file descriptor to poll for POLLIN (the evtchn handle's fd). Lent: valid
 * until vxen_ioreq_server_free(). Level-triggered: readable while events are pending.
 */
int vxen_ioreq_fd(const vxen_ioreq_server *srv);

/**
 * vxen_ioreq_process() - handle the requests whose events are pending, without blocking.
 *
 * For each pending port (at most a fixed budget per call, so one busy guest cannot starve the
 * loop; call again while the fd stays readable): find its vCPU, unmask the port, and if the slot
 * is READY take the request, run the callback, publish the answer (IORESP_READY) and notify the
 * vCPU. Safe to call when nothing is pending (returns 0).
 *
 * Returns the number of requests answered (≥ 0), -ESRCH when the guest is known to be gone
 * (the server is dead from then on: free it), or another -errno when the evtchn handle failed
 * (logged at LOG_ERR).
 * Guest misbehaviour never makes it fail: such requests are answered, counted and logged
 * rate-limited.
 */
int vxen_ioreq_process(vxen_ioreq_server *srv);

/**
 * vxen_ioreq_server_check() - ask Xen whether the guest still exists and still has this server.
 * @srv: the server.
 *
 * One device-model call (get_ioreq_server_info, without frame numbers, so nothing is mapped):
 * the cost of one hypercall. It fails with ENOENT once the guest has been killed (Xen destroys
 * a dying domain's ioreq servers at once, even while the domain lingers as a zombie because
 * its memory is still mapped) and with ESRCH once the domain no longer exists. Both mean gone:
 * the server is marked dead, as for any other ESRCH ("Guest death" at the top of ioreq.h). A
 * server already marked dead is answered without calling Xen. The domain id alone is not asked
 * about on purpose: Xen still finds a zombie domain by id, so the guest would look alive for
 * as long as our own mappings keep it a zombie.
 *
 * Thread rules: the processing thread, like vxen_ioreq_process() (it may run while other
 * threads raise interrupts).
 *
 * Returns 0 (alive), -ESRCH (gone: stop polling the server, free its devices, then the server),
 * -EINVAL (NULL @srv), or another -errno of the call, which says nothing about the guest (try
 * again later). Logs only the discovery of a dead guest, at LOG_DEBUG.
 */
int vxen_ioreq_server_check(vxen_ioreq_server *srv);

/**
 * vxen_ioreq_server_stats() - copy the counters into *@out. Thread-safe (each counter is read
 * atomically; the set is not a snapshot). Does not log.
 */
void vxen_ioreq_server_stats(const vxen_ioreq_server *srv, struct vxen_ioreq_stats *out);

/* Kinds of device interrupt. */
enum vxen_irq_kind {
	VXEN_IRQ_NONE = 0, /* the device has no interrupt: raise is a no-op returning 0 */
	VXEN_IRQ_SPI,	   /* Arm: GIC SPI number (libxl's virtio-mmio "irq", e.g. 33) */
	VXEN_IRQ_ISA,	   /* x86: ISA IRQ 0-15 */
	VXEN_IRQ_MSI,	   /* x86: an MSI address/data pair */
};

/**
 * struct vxen_irq - how one device interrupts its guest.
 * @kind: which of the fields below apply.
 * @line: SPI number (VXEN_IRQ_SPI) or ISA IRQ (VXEN_IRQ_ISA).
 * @msi_addr, @msi_data: the message (VXEN_IRQ_MSI).
 */
struct vxen_irq {
	enum vxen_irq_kind kind;
	uint32_t line;
	uint64_t msi_addr;
	uint32_t msi_data;
};

/**
 * vxen_ioreq_irq_raise() - inject @irq into the guest (one edge / one message).
 *
 * SPI: set_irq_level(spi, 1) — one hypercall. libxl describes virtio-mmio interrupts as
 * edge-rising SPIs, where raising is what injects and lowering does nothing, so the line is not
 * lowered again. ISA: set_isa_irq_level(irq, 1) then (irq, 0) — a pulse, two hypercalls. MSI:
 * inject_msi. The caller sets the device's InterruptStatus before raising.
 *
 * Thread-safe: may be called from any thread, concurrently with vxen_ioreq_process() and with
 * itself (Linux DM ops are independent privcmd ioctls; the server uses a handle dedicated to
 * interrupts). Not from a thread racing with vxen_ioreq_server_free().
 *
 * Returns 0, -EINVAL (bad kind, ISA IRQ > 15), -ESRCH (guest gone; once the server is marked
 * dead, without calling Xen) or the -errno of the DM op. Failures are counted (irq_errors) and
 * logged rate-limited.
 */
int vxen_ioreq_irq_raise(vxen_ioreq_server *srv, const struct vxen_irq *irq);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_IOREQ_H */
