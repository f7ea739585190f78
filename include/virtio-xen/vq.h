/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/vq.h — L1: the device side of a virtqueue, on any memory.
 *
 * A vxen_vq walks the driver's rings and hands the device one request (a descriptor chain) at a
 * time. It never touches guest memory directly except the three ring areas, which the caller
 * maps once and passes in; buffers are reached through a small memory interface
 * (struct vxen_vq_mem_ops) that L2 implements with grant mappings, grant copy or foreign
 * mappings, and tests implement on plain memory. The same ring code therefore runs over Xen,
 * over test memory and under a fuzzer.
 *
 * Life of a request (vxen_vq_pop_many() takes several at once, with fewer crossings):
 *
 *	struct vxen_req *req = ...;            // caller-owned, arrays attached once
 *	int r = vxen_vq_pop(vq, req);          // 1: got one, 0: ring empty, <0: guest error
 *	... read req's device-readable bytes, write the device-writable ones (iov.h cursors) ...
 *	vxen_vq_push(vq, req, written);        // unmap the buffers, fill a used entry
 *	if (vxen_vq_publish(vq))               // make used entries visible (several at once)
 *		raise_interrupt();
 *
 * Guest errors. Every value read from the rings is hostile. Each descriptor is read from shared
 * memory exactly once into req->desc, and validated on that copy. A bad chain is rejected *and
 * consumed*: pop returns its -errno, the avail index moves past it, and — when its head is a
 * valid index not already in flight — the head goes back to the driver as a used entry with
 * length 0 at the next publish, so the driver gets its buffers back and nothing spins. A corrupt
 * ring (avail.idx more than the queue size ahead, or moving backwards) breaks the queue: every
 * later pop returns -EPROTO until the queue is reset; the device layer then sets
 * DEVICE_NEEDS_RESET. Rejections are counted (struct vxen_vq_stats) and logged rate-limited.
 *
 *	-EINVAL  malformed chain: head or next index ≥ queue size, readable descriptor after a
 *	         writable one, INDIRECT without the feature, INDIRECT with NEXT, nested indirect,
 *	         indirect table length 0 / not a multiple of 16 / more than queue size entries
 *	-ELOOP   descriptor loop: more than queue-size descriptors in the direct part of a chain
 *	         (counting a final INDIRECT one), or more steps inside an indirect table than it
 *	         has entries (the two parts are bounded separately, so up to 2 * size - 1 data
 *	         descriptors in all)
 *	-E2BIG   chain larger than the request's arrays (an indirect table that cannot fit is
 *	         refused before it is read), or total length ≥ 2^32 bytes; structural faults
 *	         found further along the chain take precedence
 *	-EFAULT  memory interface refused a buffer or an indirect table (bad or revoked grant,
 *	         read-only grant for a writable buffer, not a grant address on a grant device, ...)
 *	-EBUSY   the head is already in flight (the driver made it available twice); not pushed back
 *	-EPROTO  the ring is corrupt; the queue is broken
 *	-ENOMEM  the memory interface ran out of host resources (not the guest's fault; logged)
 *
 * Thread rules: one vxen_vq is used by one thread at a time. Requests may be *processed* on any
 * thread, but pop/push/publish of one queue must be serialised by the caller (L5's device layer
 * does this: workers hand completions back to the queue's thread).
 *
 * Only split rings exist today; struct vxen_vq_config.layout leaves room for packed rings behind
 * the same pop/push/publish API.
 */
#ifndef VIRTIO_XEN_VQ_H
#define VIRTIO_XEN_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits the ring code understands (virtio 1.2 §6). */
#define VXEN_F_INDIRECT_DESC   28
#define VXEN_F_EVENT_IDX       29
#define VXEN_F_VERSION_1       32
#define VXEN_F_ACCESS_PLATFORM 33
#define VXEN_F_RING_PACKED     34

#define VXEN_VQ_MAX_SIZE 32768u

/* One validated, flattened descriptor of a chain (indirect tables already expanded). */
struct vxen_desc {
	uint64_t addr;	/* device address as the guest wrote it (a grant address under Xen) */
	uint32_t len;	/* may be 0: such descriptors are kept but never mapped */
	uint16_t flags; /* VXEN_DESC_F_WRITE or 0; NEXT/INDIRECT are consumed by the walker */
	uint16_t pad;
};
#define VXEN_DESC_F_WRITE 2u

/*
 * struct vxen_req - one request: a popped descriptor chain and its mapped buffers.
 *
 * The caller owns the structure and its arrays and sets the four "arrays" fields once; pop fills
 * the rest. A request stays valid, with its buffers reachable through iov, from a successful pop
 * until vxen_vq_push(); it can be handed to another thread meanwhile.
 *
 * iov[0 .. n_out) are the device-readable buffers (mapped read-only where the memory allows),
 * iov[n_out .. n_out + n_in) the device-writable ones. A memory interface may split one
 * descriptor over several iov entries (pages that are not contiguous in this process, a
 * one-byte test translator), so n_out + n_in can exceed n_desc.
 */
struct vxen_req {
	/* arrays: set by the owner, never changed by the library */
	struct vxen_desc *desc;
	unsigned int desc_cap;
	struct iovec *iov;
	unsigned int iov_cap;

	/* filled by vxen_vq_pop() */
	uint16_t head;		 /* chain head: the id of the used entry */
	unsigned int n_desc;	 /* descriptors in desc[] (readable ones first) */
	unsigned int n_out_desc; /* how many of them are device-readable */
	unsigned int n_out;	 /* readable iov entries */
	unsigned int n_in;	 /* writable iov entries */
	uint64_t out_len;	 /* total readable bytes */
	uint64_t in_len;	 /* total writable bytes */

	void *mem_priv; /* owned by the memory interface between map and unmap */
	void *priv;	/* free for the device / application */
};

/* One read of struct vxen_vq_mem_ops.read_many(). */
struct vxen_vq_read {
	uint64_t addr; /* device address */
	void *dst;
	uint32_t len;
	int result; /* set by read_many(): 0 or -errno, as read() returns */
};

/*
 * struct vxen_vq_mem_ops - how a queue reaches buffer memory. Implemented by L2 (gdma) for Xen
 * and by tests on plain memory. Called only from the thread that pops/pushes the queue.
 */
struct vxen_vq_mem_ops {
	/* VXEN_VQ_MEM_OPS_VERSION; 1 is still accepted: an interface without the version 2
	 * fields (those are then never read). */
	unsigned int version;
	/*
	 * read - copy @len bytes of guest memory at device address @addr into @dst. Used for
	 * indirect descriptor tables, so the walker reads them once, from its own copy.
	 * Returns 0 or -errno: -EFAULT for an address the guest may not use, -E2BIG for a read
	 * larger than the interface supports, -ENOMEM; pop reports any other code as -EFAULT.
	 */
	int (*read)(void *payload, uint64_t addr, void *dst, size_t len);
	/*
	 * map - make every buffer of @req reachable: for req->desc[0 .. n_desc), fill req->iov with
	 * the readable then the writable ranges and set n_out, n_in. Zero-length descriptors are
	 * skipped. Called once per chain so an implementation can batch (one gntdev map per chain
	 * and protection). On failure it must leave nothing mapped and return -EFAULT (guest's
	 * fault), -E2BIG (too many iov entries or pages) or -ENOMEM; pop reports any other code
	 * as -EFAULT. Called with req->head, n_desc, n_out_desc, out_len and in_len set.
	 */
	int (*map)(void *payload, struct vxen_req *req);
	/*
	 * unmap - release what map did. @written is how many bytes the device produced at the
	 * start of the writable part (so bounce buffers copy out only those). Must not fail: a
	 * mapping that cannot be released is the memory interface's to log and account.
	 */
	void (*unmap)(void *payload, struct vxen_req *req, size_t written);

	/* ---- Version 2: batching across chains. Each may be NULL. ---- */
	/*
	 * read_many - do @n reads at once (the indirect tables of the chains of one
	 * vxen_vq_pop_many(): one grant copy call for all of them). Sets each entry's result
	 * to what read() would have returned for it. NULL: read() is called for each.
	 */
	void (*read_many)(void *payload, struct vxen_vq_read *rd, unsigned int n);
	/*
	 * map_many_end - vxen_vq_pop_many() maps the chains of a batch with map() and then calls
	 * this once with every chain map() accepted. Between the first map() of the batch and
	 * this call, map() may leave work pending (the copy-in of small buffers, done here for
	 * all chains with one call). Sets @res[i] to 0, or to a map() error for a chain that
	 * failed now, which the interface must already have released completely (as a failed
	 * map()). NULL: map() finishes every chain itself. Single vxen_vq_pop() calls it too,
	 * with n = 1, right after map().
	 */
	void (*map_many_end)(void *payload, struct vxen_req *const *reqs, unsigned int n, int *res);
	/*
	 * flush - unmap() may defer copying written bytes back to the guest until flush();
	 * vxen_vq_publish() calls flush(), when it has new entries, before it stores them and
	 * used.idx, so the data is in guest memory before the driver can see the used entries.
	 * NULL: unmap() finishes everything itself.
	 */
	void (*flush)(void *payload);
	/*
	 * discard - drop what unmap() left for flush() without copying it: vxen_vq_free() calls
	 * it, as entries never published must not reach guest memory the driver may have reused
	 * since (a reset). NULL: nothing to drop.
	 */
	void (*discard)(void *payload);
};
#define VXEN_VQ_MEM_OPS_VERSION 2

enum vxen_vq_layout {
	VXEN_VQ_SPLIT = 0,
};

struct vxen_vq_config {
	unsigned int version;	    /* VXEN_VQ_CONFIG_VERSION */
	enum vxen_vq_layout layout; /* VXEN_VQ_SPLIT */
	uint16_t index;		    /* queue number, for log messages */
	uint32_t size;		    /* QueueNum: power of two, 1 .. VXEN_VQ_MAX_SIZE */
	uint64_t features;	    /* negotiated features (INDIRECT_DESC, EVENT_IDX used) */
	/* The three ring areas, mapped by the caller for the queue's lifetime. Bytes the queue
	 * touches: desc 16*size, avail 4+2*size, used 4+8*size, each +2 with EVENT_IDX (the
	 * spec's 6+2*size and 6+8*size always count those 2 bytes). */
	void *desc;
	void *avail;
	void *used;
	const struct vxen_vq_mem_ops *mem;
	void *mem_payload;
};
#define VXEN_VQ_CONFIG_VERSION 1
#define VXEN_VQ_CONFIG_INIT                                                                        \
	{                                                                                          \
		.version = VXEN_VQ_CONFIG_VERSION                                                  \
	}

/* Counters of one queue; cumulative since creation. */
struct vxen_vq_stats {
	uint64_t popped;     /* chains handed to the device */
	uint64_t pushed;     /* used entries written (including rejected chains) */
	uint64_t published;  /* used.idx updates */
	uint64_t notifies;   /* publish() answers "interrupt" */
	uint64_t suppressed; /* publish() answers "no interrupt" thanks to suppression */
	uint64_t rejected;   /* all rejected chains; by reason below */
	uint64_t rej_einval, rej_eloop, rej_e2big, rej_efault, rej_ebusy, rej_enomem;
	uint64_t broken; /* 1 once the ring was found corrupt */
};

typedef struct vxen_vq vxen_vq;

/**
 * vxen_vq_new() - create the device side of a queue over already-mapped rings.
 * @out: receives the queue; free with vxen_vq_free().
 * @cfg: copied; the ring pointers and @cfg->mem must stay valid until vxen_vq_free().
 *
 * Validates the configuration (size a power of two ≤ VXEN_VQ_MAX_SIZE, ring pointers non-NULL
 * and aligned: desc 16, avail 2, used 4; mem ops complete). The device starts reading at
 * avail index 0, as after a reset.
 * Returns 0, -EINVAL for a bad configuration, -ENOMEM. Logs nothing.
 */
int vxen_vq_new(vxen_vq **out, const struct vxen_vq_config *cfg);

/**
 * vxen_vq_free() - destroy a queue. Requests still in flight are unmapped through the memory
 * interface (written = 0) without being pushed, so their structures must still be allocated
 * here; the caller must not use them afterwards. What pushed requests left for a publish that
 * never came is discarded (the memory interface's discard()). Does not touch the rings. NULL is
 * fine.
 */
void vxen_vq_free(vxen_vq *vq);

/**
 * vxen_vq_pop() - take the next available chain, validate it and map its buffers.
 * @req: caller-owned request with its arrays attached; not in flight.
 *
 * Returns 1 with @req filled and in flight, 0 if the driver has made nothing new available,
 * or a negative errno for a rejected chain (see the table at the top of this file; the chain is
 * consumed, counted and logged rate-limited; @req is not in flight). After -EPROTO the queue is
 * broken and every later call returns -EPROTO.
 * A caller that wants to serve other queues fairly pops a bounded number of chains per turn.
 */
int vxen_vq_pop(vxen_vq *vq, struct vxen_req *req);

/* Most chains one vxen_vq_pop_many() call takes. */
#define VXEN_VQ_POP_MANY_MAX 64u

/**
 * vxen_vq_pop_many() - take up to @n available chains at once: the batched vxen_vq_pop().
 * @reqs: @n caller-owned requests, none in flight. On return reqs[0 .. result) are the popped
 *        requests, in ring order; the function may reorder the pointers of the array (not the
 *        requests themselves), so a caller finds its requests again through the pointers.
 * @n: at most VXEN_VQ_POP_MANY_MAX (larger values are clamped).
 * @rejected: if non-NULL, receives how many chains were rejected and consumed in this call
 *            (their used entries await the next publish, exactly as for vxen_vq_pop()).
 *
 * Validation, rejection, counting and logging are those of vxen_vq_pop(), chain by chain (one
 * difference, for hostile guests only: a head the driver made available twice in one batch is
 * refused -EBUSY the second time even if the first chain then fails at the batch's end). What
 * differs is the cost: the indirect tables of all the chains are read with one
 * read_many() call, and a memory interface with map_many_end() copies the small buffers of all
 * the chains in with one call (under Xen: one grant copy for the batch instead of two per
 * request). A batch ends early (fewer than @n chains although more are available) at a chain
 * whose indirect table no longer fits the queue's table scratch or has more entries than the
 * smallest desc_cap of the requests before it, and around a direct chain of several
 * descriptors on a queue with INDIRECT_DESC (it could end in an indirect table that has to be
 * read on its own); the next call continues there.
 * Returns the number of requests popped (0 if nothing was available or every chain taken was
 * rejected; see @rejected), or -EPROTO if the queue is broken and nothing was popped.
 */
int vxen_vq_pop_many(vxen_vq *vq, struct vxen_req **reqs, unsigned int n, unsigned int *rejected);

/**
 * vxen_vq_push() - complete a request: unmap its buffers, then write its used entry.
 * @written: bytes the device wrote to the writable buffers, from the start; clamped to
 *           req->in_len (a device may under-report, never over-report).
 *
 * The entry becomes visible to the driver at the next vxen_vq_publish(). Buffers are always
 * unmapped before the used entry exists (Xen: the guest ends grant access as soon as it sees
 * the entry). Returns 0, or -EINVAL if @req is not in flight on this queue.
 */
int vxen_vq_push(vxen_vq *vq, struct vxen_req *req, uint32_t written);

/**
 * vxen_vq_push_many() - vxen_vq_push() for @n requests, in order: the same checks and outcome
 * as @n calls, in one call (a batch completed together costs one call, not one per request).
 * @written: bytes written for each request, or NULL for 0 each.
 *
 * Returns 0, or -EINVAL if any request was not in flight on this queue (that request is left
 * alone; the others are pushed).
 */
int vxen_vq_push_many(vxen_vq *vq, struct vxen_req *const *reqs, const uint32_t *written,
		      unsigned int n);

/**
 * vxen_vq_publish() - make every pushed used entry visible to the driver (one used.idx store).
 *
 * Returns true if the driver wants an interrupt for them (EVENT_IDX: used_event crossed,
 * wrap-safe; otherwise avail.flags NO_INTERRUPT clear), false if nothing new was pushed or the
 * driver suppressed the interrupt. Never reads back the device-owned used ring.
 */
bool vxen_vq_publish(vxen_vq *vq);

/**
 * vxen_vq_kicks_disable() - ask the driver not to notify (kick) this queue: used.flags
 * NO_NOTIFY, or with EVENT_IDX simply stop advancing avail_event. Advisory: spurious kicks are
 * still tolerated.
 */
void vxen_vq_kicks_disable(vxen_vq *vq);

/**
 * vxen_vq_kicks_enable() - ask the driver to notify again (with EVENT_IDX: avail_event = the
 * next index the device will read). Returns true if chains became available meanwhile, in which
 * case the caller must pop again instead of sleeping (closes the classic race). Also returns
 * true, once, when this re-check finds the ring corrupt, so that the next pop reports -EPROTO;
 * on a queue already broken it returns false (no busy loop).
 *
 * While kicks are enabled, each pop with EVENT_IDX also moves avail_event to the next index,
 * so a device that never disables kicks still gets one kick per new chain.
 */
bool vxen_vq_kicks_enable(vxen_vq *vq);

/**
 * vxen_vq_pending() - how many chains the driver has made available and we have not popped
 * (0 .. queue size). Reads avail.idx; if that shows the ring corrupt, the queue breaks exactly
 * as in pop (logged, counted) and 0 is returned. 0 on a broken queue.
 */
unsigned int vxen_vq_pending(vxen_vq *vq);

/** vxen_vq_inflight() - requests popped and not yet pushed. */
unsigned int vxen_vq_inflight(const vxen_vq *vq);

/** vxen_vq_broken() - true once the ring was found corrupt (-EPROTO). */
bool vxen_vq_broken(const vxen_vq *vq);

/** vxen_vq_stats() - the queue's counters; lent, valid until vxen_vq_free(). */
const struct vxen_vq_stats *vxen_vq_stats(const vxen_vq *vq);

/** vxen_vq_size() / vxen_vq_index() - the configured size and queue number. */
uint32_t vxen_vq_size(const vxen_vq *vq);
uint16_t vxen_vq_index(const vxen_vq *vq);

/*
 * Plain-memory interface: guest device addresses [base, base + size) are host memory at @host.
 * For tests, fuzzers and devices whose memory is already mapped. @max_seg > 0 splits every
 * buffer into iov entries of at most that many bytes (a "one byte at a time" translator with 1).
 */
struct vxen_vq_plain_mem {
	void *host;
	uint64_t base;
	uint64_t size;
	size_t max_seg;
};

/** vxen_vq_plain_mem_ops() - the memory interface over struct vxen_vq_plain_mem (the payload). */
const struct vxen_vq_mem_ops *vxen_vq_plain_mem_ops(void);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_VQ_H */
