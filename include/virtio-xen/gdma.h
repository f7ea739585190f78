/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/gdma.h — L2: grant-DMA addresses to host memory.
 *
 * A Xen guest using Linux's grant-DMA layer (CONFIG_XEN_VIRTIO) never shows the device a guest
 * physical address. Every buffer address is a *grant-DMA address*
 *
 *	1 << 63 | gref << 12 | offset		(offset < 4096)
 *
 * where gref is the first of n consecutive grant references covering the buffer,
 * n = ceil((offset + len) / 4096). This module turns such addresses into host memory with the
 * fewest kernel and hypervisor crossings per request:
 *
 *  - ring areas (descriptor table, avail and used rings) are mapped once, read-write, for the
 *    queue's lifetime (vxen_gdma_map_ring());
 *  - every request's data buffers are reached through a per-queue memory interface
 *    (vxen_gdma_queue, plugged into vxen_vq_config) that, per descriptor chain:
 *      * validates every descriptor first (bit 63, overflows, page caps) so a hostile chain
 *        costs no mapping at all;
 *      * copies small buffers (≤ copy_threshold bytes) with grant copy: the small
 *        device-readable bytes *and* a write-permission probe of every small device-writable
 *        buffer of ALL the chains of one vxen_vq_pop_many() batch in ONE
 *        xengnttab_grant_copy() call at the batch's end; the device writes small writable
 *        buffers into a bounce area that is copied back to the guest, only the bytes the
 *        device reported written, for ALL the requests completed before a vxen_vq_publish()
 *        in ONE grant copy call at that publish, before the used entries become visible;
 *      * reads the indirect tables of all the chains of a batch with ONE grant copy call;
 *      * maps all other buffers of the chain with ONE xengnttab_map_domain_grant_refs() call per
 *        protection (device-readable ones PROT_READ only, as the guest grants them read-only;
 *        writable ones PROT_READ|PROT_WRITE), and unmaps them before the request's used entry is
 *        published (Linux ends foreign access as soon as it sees the used entry, and declares
 *        the device broken if the grant is still mapped);
 *      * on any failure leaves nothing mapped.
 *    A chain therefore costs at most two maps and two unmaps, whatever its number of
 *    descriptors, plus its share of three grant copy calls per batch (tables, copy-in,
 *    copy-out): with the default 4096-byte threshold a virtio-blk request of one page (16-byte
 *    header, 4 KiB of data, 1-byte status, in an indirect table) costs no mapping at all, and a
 *    batch of 32 of them costs three calls (a 4 KiB grant copy also costs about half of a map
 *    and unmap even on xensim, and avoids the mmap, munmap and TLB shootdown on Xen:
 *    doc/performance.md). Each request has a bounce area of 2 * min(copy_threshold, 512)
 *    bytes for headers and status bytes; a larger small buffer borrows a page-aligned
 *    copy_threshold-byte buffer from a per-queue pool of at most 128 KiB (at most one per
 *    request; 32 at the default threshold), so bounce memory stays bounded however deep the
 *    queue. Small buffers that fit neither (pool empty) are mapped instead.
 *  - foreign mode (grant_usage=0: dom0 backends of guests without grant-DMA) maps plain guest
 *    physical addresses with xenforeignmemory_map() into a per-queue LRU cache of large
 *    buckets that stay mapped across requests.
 *
 * Ownership and lifetime: a vxen_gdma (one per device and guest) owns the Xen handles. Rings and
 * queues hold a reference on it, so vxen_gdma_free() may come before or after them; the handles
 * close when the caller's reference and every ring and queue are gone. Tear down in this order:
 *vxen_vq_free() (it unmaps requests still in flight through the queue's memory interface), then
 *vxen_gdma_queue_free() and vxen_gdma_unmap_ring(), then vxen_gdma_free().
 *
 * Thread rules: a vxen_gdma may be used from several threads (ring mapping, queue creation and
 * the device counters are serialised internally). A vxen_gdma_queue belongs to the thread that
 * pops and pushes its virtqueue, as the vxen_vq does; different queues of one device may run on
 * different threads at once.
 *
 * Logging: host failures (opening handles, unmap failures) are logged with vxen_log(); anything
 * a guest can provoke (bad addresses, failed maps and copies) is counted in the queue's
 * statistics and logged rate-limited per queue. Messages of the Xen libraries themselves are
 * forwarded at LOG_DEBUG instead of being printed to stderr.
 *
 * Units: grant arithmetic is always in 4 KiB Xen pages, whatever the host page size. On hosts
 * with larger pages, gntdev places consecutive grants of one mapping one host page apart; a
 * mapped buffer then becomes one iov entry per grant page (untested: no such host here).
 */
#ifndef VIRTIO_XEN_GDMA_H
#define VIRTIO_XEN_GDMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtio-xen/vq.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Address decoding                                                                            */

#define VXEN_GDMA_GRANT_BIT  (1ULL << 63) /* marks a grant-DMA address */
#define VXEN_GDMA_PAGE_SHIFT 12		  /* Xen page: grant and frame arithmetic unit */
#define VXEN_GDMA_PAGE_SIZE  4096u
#define VXEN_GDMA_MAX_GREF   UINT32_MAX /* grant refs are 32 bits */

enum vxen_gdma_mode {
	VXEN_GDMA_GRANT = 0,   /* addresses are grant-DMA addresses (grant_usage=1) */
	VXEN_GDMA_FOREIGN = 1, /* addresses are guest physical addresses (grant_usage=0) */
};

/*
 * struct vxen_gdma_range - a validated buffer: @npages consecutive Xen pages starting at
 * @first (a grant ref in grant mode, a guest frame number in foreign mode), the buffer starting
 * @offset bytes into the first page.
 */
struct vxen_gdma_range {
	uint64_t first;	 /* first gref (≤ VXEN_GDMA_MAX_GREF) or first gfn */
	uint32_t npages; /* ≥ 1; includes the in-page offset */
	uint16_t offset; /* < VXEN_GDMA_PAGE_SIZE */
};

/** vxen_gdma_is_grant() - true if @addr has bit 63 set (a grant-DMA address). Pure. */
bool vxen_gdma_is_grant(uint64_t addr);

/**
 * vxen_gdma_addr_gref() - the grant ref field of a grant-DMA address: bits 12..62 of @addr.
 * The result can exceed 32 bits for a hostile address; vxen_gdma_decode() rejects those. Pure.
 */
uint64_t vxen_gdma_addr_gref(uint64_t addr);

/** vxen_gdma_addr_offset() - offset of @addr inside its 4 KiB page (0..4095). Pure. */
unsigned int vxen_gdma_addr_offset(uint64_t addr);

/**
 * vxen_gdma_addr_make() - encode a grant-DMA address: 1<<63 | @gref<<12 | (@offset & 0xfff).
 * The inverse of the two accessors above; for tests and simulated guests. Pure.
 */
uint64_t vxen_gdma_addr_make(uint32_t gref, unsigned int offset);

/**
 * vxen_gdma_page_count() - number of 4 KiB pages a buffer of @len bytes at @addr touches,
 * counting the in-page offset: ceil(((@addr & 0xfff) + @len) / 4096); 0 for @len 0. Exact for
 * every 64-bit @len (no overflow). Pure.
 */
uint64_t vxen_gdma_page_count(uint64_t addr, uint64_t len);

/**
 * vxen_gdma_decode() - validate a guest buffer and decode it into a page range.
 * @out: receives the range on success; untouched on failure.
 * @mode: what kind of address the device expects.
 * @addr: device address as the guest wrote it.
 * @len: buffer length in bytes.
 * @max_pages: cap on the page count (1 .. UINT32_MAX).
 *
 * Checks, in this order:
 *  -EINVAL  @len is 0 (callers skip empty descriptors before asking), or @max_pages is 0;
 *  -EFAULT  wrong kind of address (bit 63 clear in grant mode, set in foreign mode);
 *  -EFAULT  @addr + @len wraps past 2^64; foreign mode: the range reaches bit 63;
 *  -EFAULT  grant mode: the first or the last grant ref of the range does not fit 32 bits;
 *  -E2BIG   more than @max_pages pages.
 * Returns 0 on success. Touches no memory, makes no Xen call, logs nothing. Pure.
 */
int vxen_gdma_decode(struct vxen_gdma_range *out, enum vxen_gdma_mode mode, uint64_t addr,
		     uint64_t len, uint32_t max_pages);

/* ------------------------------------------------------------------------------------------ */
/* Device context                                                                              */

typedef struct vxen_gdma vxen_gdma;

enum vxen_gdma_strategy {
	/* The library's best: grant copy for small buffers, one map call per chain and protection,
	 * one unmap per map call. */
	VXEN_GDMA_BATCHED = 0,
	/* What existing backends do: map and unmap every descriptor separately (one map and one
	 * unmap call per non-empty descriptor, no grant copy; indirect tables mapped too). Correct,
	 * slower; for benchmarks that compare both in one run. Grant mode only. */
	VXEN_GDMA_PER_DESC = 1,
};

/* Defaults used for zero-valued fields of struct vxen_gdma_config (see there). */
#define VXEN_GDMA_DEFAULT_MAX_CHAIN_PAGES 1024u	 /* 4 MiB per request */
#define VXEN_GDMA_DEFAULT_MAX_QUEUE_PAGES 16384u /* 64 MiB mapped per queue */
#define VXEN_GDMA_DEFAULT_COPY_THRESHOLD  4096u /* one page: see doc/performance.md */
#define VXEN_GDMA_DEFAULT_BUCKET_SHIFT	  21u /* 2 MiB buckets */
#define VXEN_GDMA_DEFAULT_CACHE_BUCKETS	  64u /* 128 MiB of guest space per queue */
/* Hard limits of the fields. */
#define VXEN_GDMA_MAX_CHAIN_PAGES_LIMIT 65536u	   /* gntdev maps at most 65536 grants per call */
#define VXEN_GDMA_MAX_QUEUE_PAGES_LIMIT (1u << 20) /* 4 GiB mapped per queue */
#define VXEN_GDMA_COPY_THRESHOLD_LIMIT	65536u
#define VXEN_GDMA_BUCKET_SHIFT_MIN	16u
#define VXEN_GDMA_BUCKET_SHIFT_MAX	24u
#define VXEN_GDMA_CACHE_BUCKETS_LIMIT	65536u

/*
 * struct vxen_gdma_config - how to reach one guest's memory. Start from VXEN_GDMA_CONFIG_INIT
 * and set what differs; fields added in later versions will be zero-valued in older callers'
 * structs and mean "default".
 */
struct vxen_gdma_config {
	unsigned int version;		  /* VXEN_GDMA_CONFIG_VERSION */
	uint32_t domid;			  /* the guest (frontend) domain: 0 .. 0x7fef */
	enum vxen_gdma_mode mode;	  /* GRANT (grant_usage=1) or FOREIGN (grant_usage=0) */
	enum vxen_gdma_strategy strategy; /* BATCHED (default) or PER_DESC */
	/* Pages one descriptor chain may reference, all descriptors together, in-page offsets
	 * included. Larger chains are rejected (-E2BIG) before any mapping. 0 = default;
	 * at most VXEN_GDMA_MAX_CHAIN_PAGES_LIMIT. */
	uint32_t max_chain_pages;
	/* Grant pages one queue may have mapped at once (requests in flight together). A chain
	 * that would exceed it is rejected with -ENOMEM; vxen_gdma_queue_has_room() lets the
	 * device stop popping before that happens. 0 = default; raised to max_chain_pages if
	 * smaller; at most VXEN_GDMA_MAX_QUEUE_PAGES_LIMIT. Grant mode only. */
	uint32_t max_queue_pages;
	/* Buffers of at most this many bytes are moved with grant copy instead of being mapped
	 * (BATCHED only). 0 disables grant copy for data buffers. VXEN_GDMA_CONFIG_INIT sets
	 * VXEN_GDMA_DEFAULT_COPY_THRESHOLD. At most VXEN_GDMA_COPY_THRESHOLD_LIMIT. Each queue
	 * keeps 2 * min(copy_threshold, 512) bounce bytes per queue entry plus, for thresholds
	 * over 512, a pool of at most 128 KiB of copy_threshold-byte buffers. */
	uint32_t copy_threshold;
	/* Foreign mode: log2 of the bucket size (guest physical bytes mapped per cache entry),
	 * VXEN_GDMA_BUCKET_SHIFT_MIN .. _MAX; 0 = default (2 MiB). */
	uint32_t bucket_shift;
	/* Foreign mode: buckets cached per queue; 0 = default. Buckets in use by requests in
	 * flight are pinned; a chain that needs a new bucket while all are pinned is rejected
	 * with -ENOMEM. */
	uint32_t cache_buckets;
	/* Passed to xengnttab_set_max_grants() right after opening (older kernels need it;
	 * modern ones ignore it). 0 = max_queue_pages * 4 + 1024. */
	uint32_t max_grants;
};
#define VXEN_GDMA_CONFIG_VERSION 1
#define VXEN_GDMA_CONFIG_INIT                                                                      \
	{                                                                                          \
		.version = VXEN_GDMA_CONFIG_VERSION,                                               \
		.copy_threshold = VXEN_GDMA_DEFAULT_COPY_THRESHOLD,                                \
	}

/**
 * vxen_gdma_new() - create the memory context of one device of one guest.
 * @out: receives the context; release with vxen_gdma_free(). Untouched on failure.
 * @cfg: copied.
 *
 * Grant mode opens a gntdev handle (xengnttab_open, then xengnttab_set_max_grants at once);
 * foreign mode opens a privcmd handle (xenforeignmemory_open). Opening happens here, once.
 * Returns 0; -EINVAL for a bad configuration (unknown version, mode or strategy, a reserved
 * domid (≥ 0x7ff0), PER_DESC with FOREIGN, a field over its limit); -ENOMEM; or the errno of
 * the failed open (e.g. -ENOENT without /dev/xen/gntdev), which is also logged.
 * Thread rules: none (the object is new).
 */
int vxen_gdma_new(vxen_gdma **out, const struct vxen_gdma_config *cfg);

/**
 * vxen_gdma_free() - drop the caller's reference. The Xen handles close when the last ring and
 * queue of the context are gone too. NULL is fine. Does not log.
 */
void vxen_gdma_free(vxen_gdma *g);

/** vxen_gdma_domid() / vxen_gdma_mode() - the configured guest and mode. Pure getters. */
uint32_t vxen_gdma_domid(const vxen_gdma *g);
enum vxen_gdma_mode vxen_gdma_mode(const vxen_gdma *g);

/* ------------------------------------------------------------------------------------------ */
/* Ring mappings                                                                               */

typedef struct vxen_gdma_ring vxen_gdma_ring;

#define VXEN_GDMA_RING_MAX_BYTES (1u << 20) /* > 16 * VXEN_VQ_MAX_SIZE, the largest ring area */

/**
 * vxen_gdma_map_ring() - map one ring area read-write for the queue's lifetime.
 * @out: receives the mapping; release with vxen_gdma_unmap_ring(). Untouched on failure.
 * @g: the device's context; the ring holds a reference on it.
 * @addr: the area's device address as the driver wrote it (QueueDesc, QueueDriver or
 *        QueueDevice): a grant-DMA address in grant mode, a guest physical address in foreign
 *        mode.
 * @len: bytes to map: desc 16*size, avail 6+2*size, used 6+8*size; the caller adds the 2
 *       EVENT_IDX bytes when that feature was negotiated.
 * @align: required alignment of @addr (a power of two: 16 for desc, 2 for avail, 4 for used).
 *
 * Grant mode: one xengnttab_map_domain_grant_refs() call of the area's consecutive grant refs,
 * PROT_READ|PROT_WRITE. Foreign mode: one xenforeignmemory_map() of its frames (not through
 * the bucket cache, so it is never evicted).
 * Returns 0; -EINVAL for @len 0 or over VXEN_GDMA_RING_MAX_BYTES, @align not a power of two or
 * @addr not aligned to it; -EFAULT for an address of the wrong kind or range, or when Xen
 * refuses the mapping (ring not granted, granted read-only, revoked); -ENOMEM when the host
 * runs out of mapping resources. The caller (the mmio layer) leaves the queue disabled then.
 * Guest-caused failures are logged rate-limited. Thread-safe.
 */
int vxen_gdma_map_ring(vxen_gdma_ring **out, vxen_gdma *g, uint64_t addr, size_t len, size_t align);

/** vxen_gdma_ring_ptr() - host address of the ring area's first byte (@addr of the map). */
void *vxen_gdma_ring_ptr(const vxen_gdma_ring *ring);

/**
 * vxen_gdma_unmap_ring() - unmap a ring area (queue reset or teardown) and drop its reference
 * on the context. The pointer from vxen_gdma_ring_ptr() is dead afterwards. NULL is fine.
 * An unmap refused by Xen is logged and counted (nothing else can be done). Thread-safe.
 */
void vxen_gdma_unmap_ring(vxen_gdma_ring *ring);

/*
 * struct vxen_gdma_dev_stats - device-wide counters (ring mappings). Cumulative except the
 * "live" gauges.
 */
struct vxen_gdma_dev_stats {
	uint64_t ring_maps;	 /* successful vxen_gdma_map_ring() */
	uint64_t ring_map_fails; /* refused by validation or by Xen */
	uint64_t ring_unmaps;
	uint64_t ring_live;	  /* ring areas mapped now */
	uint64_t ring_live_pages; /* their pages */
	uint64_t unmap_errors;	  /* Xen refused an unmap (host problem; logged) */
	uint64_t queues_live;	  /* vxen_gdma_queue objects alive */
};

/** vxen_gdma_dev_stats() - copy the device counters into @out. Thread-safe; does not log. */
void vxen_gdma_dev_stats(const vxen_gdma *g, struct vxen_gdma_dev_stats *out);

/* ------------------------------------------------------------------------------------------ */
/* Per-queue memory interface                                                                  */

typedef struct vxen_gdma_queue vxen_gdma_queue;

/**
 * vxen_gdma_queue_new() - create the memory interface of one virtqueue.
 * @out: receives the queue; free with vxen_gdma_queue_free(). Untouched on failure.
 * @g: the device's context; the queue holds a reference on it.
 * @index: queue number, for log messages.
 * @size: the queue size (QueueNum): at most @size requests are in flight at once, which sizes
 *        the preallocated pools (1 .. VXEN_VQ_MAX_SIZE).
 *
 * Everything a request needs (bounce areas, mapping records, grant copy segments, gref
 * scratch) is allocated here, so map/unmap never allocate. Memory per queue, in bytes:
 *	grant, BATCHED:  size * (336 + 2 * min(copy_threshold, 512)) + 52 * max_chain_pages
 *	                 + (copy_threshold > 512 ? min(size, 128 KiB / copy_threshold) *
 *	                    (copy_threshold + 4) : 0)
 *	                 + (copy_threshold ? 13 KiB of pending copy segments : 0) + ~2 KiB
 *	grant, PER_DESC: size * 48 + 16 * max_queue_pages + 52 * max_chain_pages + ~2 KiB
 *	foreign:         size * (48 + 4 * min(cache_buckets, max_chain_pages))
 *	                 + cache_buckets * (56 + pages_per_bucket / 8) + 12 * pages_per_bucket
 * With the defaults and size 256: about 535 KiB (BATCHED), 320 KiB (PER_DESC), 90 KiB
 * (foreign; plus the mapped buckets' address space) of address space, resident only as used.
 * The device context itself is under 1 KiB, a ring mapping 48 bytes. Returns 0, -EINVAL
 * (size 0 or too large), -ENOMEM. Does not log. Thread-safe.
 */
int vxen_gdma_queue_new(vxen_gdma_queue **out, vxen_gdma *g, uint16_t index, uint32_t size);

/**
 * vxen_gdma_queue_free() - free a queue. Call after vxen_vq_free() of the virtqueue using it,
 * which unmaps the requests still in flight. Requests still mapped anyway (a caller bug) are
 * unmapped here without copy-out and logged. Drops the queue's reference on the context.
 * NULL is fine.
 */
void vxen_gdma_queue_free(vxen_gdma_queue *q);

/**
 * vxen_gdma_mem_ops() - the struct vxen_vq_mem_ops implemented by this module; its payload is
 * a vxen_gdma_queue *. The functions behave as documented in vq.h, with these specifics:
 *
 * map():   validates every descriptor (vxen_gdma_decode with max_chain_pages over the whole
 *          chain) before any Xen call, then makes at most one map call for the
 *          device-readable and one for the device-writable mapped buffers (BATCHED), or one
 *          map per descriptor (PER_DESC). The copy-in of its small buffers (and their write
 *          probes) is queued for map_many_end(), which vq calls after the last map() of a
 *          batch (after every map() of a single vxen_vq_pop()): one grant copy call for the
 *          batch; a chain whose copy Xen refuses fails there with -EFAULT and is released (a
 *          call that fails as a whole, a host problem, is tried again chain by chain).
 *          One iov entry per non-empty descriptor (foreign mode: one per bucket touched; hosts
 *          with pages larger than 4 KiB: one per grant page of a mapped buffer).
 *          Returns 0; -EFAULT (bad address kind/range, grant refused by Xen: not granted to
 *          us, revoked, read-only grant on a writable buffer, a failed copy segment; or guest
 *          memory foreign mode cannot map); -E2BIG (chain over max_chain_pages, or more iov
 *          entries than req->iov_cap); -ENOMEM (max_queue_pages reached, no free request slot,
 *          all cache buckets pinned, or the host ran out of grant-map resources).
 * unmap(): unmaps every mapping with its exact start and count, and queues the copy-out of
 *          the first @written bytes of the writable part that live in bounce areas; flush()
 *          (called by vxen_vq_publish() before it makes the used entries visible) copies all
 *          queued bytes out with one grant copy call. The request's bounce memory stays
 *          reserved until then (a queue short of slots or pool buffers runs the copy-out
 *          early). Guest-caused copy-out failures (grant revoked meanwhile) are counted and
 *          logged rate-limited; the data is dropped. Copy-outs never published (queue freed
 *          first) are dropped.
 * read():  one grant copy call (PER_DESC: map, copy, unmap) for up to 16 * size bytes
 *          (an indirect table); foreign mode reads through the bucket cache.
 *          Returns 0, -EFAULT, -E2BIG (len 0 or over 16 * size), -ENOMEM.
 * read_many(): the reads of a batch with one grant copy call (more only if their pages
 *          exceed the queue's segment scratch); PER_DESC and foreign mode read each.
 */
const struct vxen_vq_mem_ops *vxen_gdma_mem_ops(void);

/**
 * vxen_gdma_queue_attach() - plug @q into a virtqueue configuration: sets @vcfg->mem to
 * vxen_gdma_mem_ops() and @vcfg->mem_payload to @q. Does nothing else.
 */
void vxen_gdma_queue_attach(vxen_gdma_queue *q, struct vxen_vq_config *vcfg);

/**
 * vxen_gdma_queue_has_room() - true if a chain of the largest allowed size could be mapped
 * now: a request slot is free (or only waits for its copy-out, which then runs at once) and
 * max_queue_pages leaves room for max_chain_pages more pages.
 * A device that stops popping while this is false never sees -ENOMEM from the page cap.
 * Queue thread only; does not log.
 */
bool vxen_gdma_queue_has_room(const vxen_gdma_queue *q);

/**
 * vxen_gdma_queue_room() - how many chains of the largest allowed size could be mapped now,
 * one after the other (at most the queue size): what a device popping a batch with
 * vxen_vq_pop_many() may ask for without any of them failing on max_queue_pages. Request
 * slots are not counted beyond "one is free or only waits for its copy-out": a queue created
 * with the virtqueue's size has one per entry, and chains in flight hold distinct heads; a
 * caller that created it smaller (fewer requests in flight) must also bound its batches by
 * what it allows in flight, as the device layer does.
 * vxen_gdma_queue_has_room() is vxen_gdma_queue_room() > 0. Queue thread only; does not log.
 */
unsigned int vxen_gdma_queue_room(const vxen_gdma_queue *q);

/**
 * vxen_gdma_queue_flush() - foreign mode: unmap every cached bucket not used by a request in
 * flight; buckets in use are unmapped when their last request completes. Use when the guest's
 * memory map may have changed (an ioreq INVALIDATE). Grant mode: no effect.
 * Queue thread only; does not log.
 */
void vxen_gdma_queue_flush(vxen_gdma_queue *q);

/*
 * struct vxen_gdma_stats - counters of one queue, cumulative since creation except the gauges
 * marked "now". "calls" are Xen library calls (each one a kernel crossing at least).
 */
struct vxen_gdma_stats {
	uint64_t requests;  /* chains mapped successfully */
	uint64_t map_calls; /* xengnttab_map_domain_grant_refs / xenforeignmemory_map */
	uint64_t map_pages;
	uint64_t unmap_calls; /* xengnttab_unmap / xenforeignmemory_unmap */
	uint64_t unmap_pages;
	uint64_t copy_calls; /* xengnttab_grant_copy */
	uint64_t copy_segs;
	uint64_t bounce_in_bytes;  /* guest -> bounce (readable small buffers) */
	uint64_t bounce_out_bytes; /* bounce -> guest at flush (written bytes only) */
	uint64_t reads;		   /* read() calls (indirect tables) */
	uint64_t cache_hits;	   /* foreign: bucket lookups that found a mapped bucket */
	uint64_t cache_misses;	   /* foreign: lookups that had to map one */
	uint64_t cache_evictions;
	/* chains rejected by map(), by reason */
	uint64_t rej_addr;    /* wrong address kind, wrap, gref overflow (-EFAULT, no Xen call) */
	uint64_t rej_too_big; /* over max_chain_pages or req->iov_cap (-E2BIG) */
	uint64_t rej_fault;   /* Xen refused a map or a copy segment (-EFAULT) */
	uint64_t rej_nomem;   /* queue caps or host resources (-ENOMEM) */
	uint64_t read_errors; /* read() failures */
	uint64_t copy_out_errors; /* copy-out segments Xen refused at flush (data dropped) */
	uint64_t unmap_errors;	  /* unmaps Xen refused (host problem; logged) */
	uint64_t live_requests;	  /* now: requests mapped */
	uint64_t live_pages;	  /* now: grant pages mapped for requests (grant mode) or pages
				     of cached buckets (foreign mode) */
	uint64_t cache_buckets;	  /* now: buckets mapped (foreign) */
};

/** vxen_gdma_queue_stats() - the queue's counters; lent, valid until the queue is freed. */
const struct vxen_gdma_stats *vxen_gdma_queue_stats(const vxen_gdma_queue *q);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_GDMA_H */
