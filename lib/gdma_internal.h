/* SPDX-License-Identifier: MIT */
/*
 * lib/gdma_internal.h — private structures of L2 gdma, shared by lib/gdma*.c. Not installed.
 *
 * Files:
 *	gdma_addr.c     address decoding and configuration checks (pure)
 *	gdma.c          the device context: Xen handles (the only Xen call sites), rings
 *	gdma_queue.c    per-queue pools, request slots, the vq memory interface, statistics
 *	gdma_grant.c    grant mode: plan, grant copy, batched / per-descriptor maps
 *	gdma_foreign.c  foreign mode: the bucket cache
 */
#ifndef VXEN_GDMA_INTERNAL_H
#define VXEN_GDMA_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xentoollog.h>

#include <virtio-xen/gdma.h>

#include "internal.h"

#define GDMA_NONE UINT32_MAX
/* Copy-out segments one request may keep for unmap (beyond: its small buffers get mapped). */
#define GDMA_SLOT_OUT_SEGS 8u
/* Segments one chain may put in its copy-in call (beyond: its small buffers get mapped). */
#define GDMA_CHAIN_COPY_SEGS 64u
/* Bounce bytes reserved per descriptor start, so headers the device reads are aligned. */
#define GDMA_BOUNCE_ALIGN 16u
/* Per-request bounce area: 2 * min(copy_threshold, GDMA_SMALL_COPY) bytes, enough for the
 * headers and status bytes of any request. Buffers up to copy_threshold that do not fit it
 * borrow one page-aligned "big" bounce buffer of copy_threshold bytes from a per-queue pool of
 * at most GDMA_BIG_BOUNCE_BYTES, so a large threshold does not cost 2 * threshold resident
 * bytes per request in flight; with the pool empty they are mapped. */
#define GDMA_SMALL_COPY	      512u
#define GDMA_BIG_BOUNCE_BYTES (128u * 1024)
/* Copy segments a queue gathers for one grant copy call: the copy-ins of the chains of a batch
 * (run at the batch's end) and the copy-outs of the requests completed before a publish (run
 * at the publish). A full list is run early, which costs one more call, never correctness. */
#define GDMA_PEND_SEGS 256u

struct vxen_gdma {
	atomic_uint refs;	       /* caller + rings + queues */
	struct vxen_gdma_config cfg;   /* defaults filled in */
	xengnttab_handle *xgt;	       /* grant mode */
	xenforeignmemory_handle *fmem; /* foreign mode */
	struct xentoollog_logger xtl;  /* forwards the Xen libraries' messages at LOG_DEBUG */
	size_t gnt_stride;    /* host VA distance between consecutive grants of one mapping */
	pthread_mutex_t lock; /* dstats, ring_rl */
	struct vxen_gdma_dev_stats dstats;
	struct vxen_ratelimit ring_rl;
};

struct vxen_gdma_ring {
	vxen_gdma *g;
	void *base; /* what Xen returned */
	uint32_t npages;
	void *ptr; /* base + in-page offset */
};

/* One grant mapping (exact start and count, as xengnttab_unmap wants them). */
struct gdma_map_rec {
	void *addr;
	uint32_t npages;
	uint32_t next; /* next record of the same request, or free list */
};

/* A copy-out segment prepared at map time; @pos is its place in the writable byte stream. */
struct gdma_out_seg {
	uint32_t pos;
	xengnttab_grant_copy_segment_t seg;
};

/* Per-request state; one per queue entry, found through req->mem_priv. */
struct gdma_slot {
	uint32_t next_free;
	uint32_t recs;	/* first mapping record, GDMA_NONE if none */
	uint32_t pages; /* grant pages mapped for this request */
	uint32_t n_out; /* valid entries of out[] */
	uint32_t n_pins;
	int copy_err;	  /* copy-in refused, found when the pending copy-ins ran (0: none) */
	bool busy;
	bool out_pending; /* unmapped; its copy-out waits for the next flush */
	uint32_t big;		  /* big bounce buffer borrowed, GDMA_NONE if none */
	uint32_t big_used;	  /* bytes of it planned */
	uint8_t *bounce;	  /* q->bounce_per_slot bytes */
	struct gdma_out_seg *out; /* GDMA_SLOT_OUT_SEGS entries */
	uint32_t *pins;		  /* foreign: bucket indices pinned by this request */
};

/* How map() handles one non-empty descriptor (filled by the plan pass). */
struct gdma_dplan {
	struct vxen_gdma_range r;
	uint32_t len;
	uint32_t page_idx; /* BATCHED: first page's index in its protection's mapping */
	uint32_t pos;	   /* writable: offset in the writable byte stream */
	uint8_t *host;	   /* copied: bounce bytes; mapped: start of the first page */
	bool write;
	bool copy;
};

struct gdma_bucket {
	uint64_t key;	     /* guest physical address >> bucket_shift */
	uint8_t *addr;	     /* NULL: entry unused */
	uint64_t *valid;     /* bitmap of the pages Xen did map */
	uint32_t refs;	     /* requests (and reads) using it now */
	uint32_t hnext;	     /* hash chain */
	uint32_t prev, next; /* LRU list of unpinned buckets (MRU first), or the free list */
	bool stale;	     /* flushed while pinned: unmap at the last unpin */
};

struct gdma_cache {
	struct gdma_bucket *b;
	uint32_t cap;
	uint32_t *hash; /* heads of hash chains, GDMA_NONE if empty */
	uint32_t hmask;
	uint32_t lru_head, lru_tail, free_head;
	unsigned int shift;
	uint32_t ppb; /* pages per bucket */
	xen_pfn_t *pfns;
	int *errs;
	uint64_t *valid_mem;
};

struct vxen_gdma_queue {
	vxen_gdma *g;
	uint16_t index;
	uint32_t size;
	struct gdma_slot *slots;
	uint32_t free_slot;
	uint32_t bounce_per_slot;
	uint32_t big_size, n_big, free_big; /* big bounce pool (see GDMA_BIG_BOUNCE_BYTES) */
	uint32_t *big_next;		    /* free list links, n_big entries */
	uint8_t *big_mem;
	struct gdma_map_rec *recs;
	uint32_t n_recs, free_rec;
	struct gdma_dplan *plan;	      /* max_chain_pages entries */
	uint32_t *refs;			      /* gref scratch: max_chain_pages entries */
	xengnttab_grant_copy_segment_t *segs; /* copy scratch: n_segs entries */
	uint32_t n_segs;
	uint8_t *bounce_mem;
	struct gdma_out_seg *out_mem;
	uint32_t *pins_mem;
	/* Pending grant copies (grant mode, BATCHED): see GDMA_PEND_SEGS. */
	xengnttab_grant_copy_segment_t *pin_segs, *pout_segs;
	uint32_t *pin_owner; /* slot index of each pending copy-in segment */
	uint32_t n_pin, n_pout;
	uint32_t pout_slots; /* slots waiting for the copy-out run, linked through next_free */
	struct gdma_cache cache;
	struct vxen_gdma_stats st;
	struct vxen_ratelimit rl;
};

/* gdma_addr.c: check @c and replace zero-valued fields by defaults. 0 or -EINVAL. */
int gdma_config_fill(struct vxen_gdma_config *c);

/* gdma.c: the Xen calls. Each returns 0 or -errno (errno of the failed call, never 0). */
int gdma_gnt_map(vxen_gdma *g, uint32_t *refs, uint32_t n, bool writable, void **out);
int gdma_gnt_unmap(vxen_gdma *g, void *addr, uint32_t n);
int gdma_gnt_copy(vxen_gdma *g, xengnttab_grant_copy_segment_t *segs, uint32_t n);
int gdma_fmem_map(vxen_gdma *g, const xen_pfn_t *pfns, int *errs, uint32_t n, void **out);
int gdma_fmem_unmap(vxen_gdma *g, void *addr, uint32_t n);
/* Map an errno of a failed grant map to what map() returns: host limits -ENOMEM, else -EFAULT. */
int gdma_map_err(int err);
void gdma_ref(vxen_gdma *g);
void gdma_unref(vxen_gdma *g);
void gdma_count_queue(vxen_gdma *g, int delta);
void gdma_count_unmap_error(vxen_gdma *g);

/* gdma_queue.c */
struct gdma_slot *gdma_slot_get(vxen_gdma_queue *q);
void gdma_slot_put(vxen_gdma_queue *q, struct gdma_slot *s);
/* Room for @need more bytes in @s's big bounce buffer, borrowing one if @s has none: the host
 * address, or NULL (no pool, pool empty, or no room). Returned to the pool by gdma_slot_put. */
uint8_t *gdma_big_take(vxen_gdma_queue *q, struct gdma_slot *s, uint32_t need);
int gdma_rec_add(vxen_gdma_queue *q, struct gdma_slot *s, void *addr, uint32_t npages);
void gdma_recs_release(vxen_gdma_queue *q, struct gdma_slot *s);
enum gdma_rej {
	GDMA_REJ_ADDR,	  /* failed vxen_gdma_decode() with -EFAULT */
	GDMA_REJ_TOO_BIG, /* -E2BIG */
	GDMA_REJ_FAULT,	  /* Xen refused a map or a copy */
	GDMA_REJ_NOMEM,	  /* caps or host resources */
};
/* Count a rejected chain and log it rate-limited. Returns @err. */
int gdma_reject(vxen_gdma_queue *q, int err, enum gdma_rej why, uint64_t addr);

/* gdma_grant.c */
/* Map @req into @s. Its copy-in may be left pending: gdma_copy_in_run() does it, and sets
 * s->copy_err if Xen refused it. */
int gdma_grant_map(vxen_gdma_queue *q, struct gdma_slot *s, struct vxen_req *req);
/* Unmap @s and queue its copy-out. True if the slot must wait for gdma_copy_out_run() before
 * it is free again (its bounce bytes are still to be copied). */
bool gdma_grant_unmap(vxen_gdma_queue *q, struct gdma_slot *s, size_t written);
/* Run the pending copy-ins (one call), marking the slots whose segments failed. */
void gdma_copy_in_run(vxen_gdma_queue *q);
/* Run the pending copy-outs (one call) and free the slots waiting for them; with @drop, free
 * them without copying (teardown). */
void gdma_copy_out_run(vxen_gdma_queue *q, bool drop);
void gdma_grant_read_many(vxen_gdma_queue *q, struct vxen_vq_read *rd, unsigned int n);
/* Largest read() in bytes and in pages (an indirect table of @size entries). */
uint64_t gdma_read_max(const vxen_gdma_queue *q);
uint32_t gdma_read_max_pages(const vxen_gdma_queue *q);
int gdma_grant_read(vxen_gdma_queue *q, uint64_t addr, void *dst, size_t len);

/* gdma_foreign.c */
int gdma_cache_init(vxen_gdma_queue *q);
void gdma_cache_fini(vxen_gdma_queue *q);
void gdma_cache_flush(vxen_gdma_queue *q);
int gdma_foreign_map(vxen_gdma_queue *q, struct gdma_slot *s, struct vxen_req *req);
void gdma_foreign_unmap(vxen_gdma_queue *q, struct gdma_slot *s);
int gdma_foreign_read(vxen_gdma_queue *q, uint64_t addr, void *dst, size_t len);

#endif /* VXEN_GDMA_INTERNAL_H */
