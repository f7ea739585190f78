/* SPDX-License-Identifier: MIT */
/*
 * Foreign mode (grant_usage=0): descriptors carry guest physical addresses, which a privileged
 * backend maps with xenforeignmemory_map(). Mapping per request would cost a crossing each
 * time, so each queue keeps a bounded LRU cache of large buckets (2^bucket_shift bytes of guest
 * physical space each) that stay mapped across requests, as QEMU's mapcache does.
 *
 * A bucket in use by a request in flight (or by a read in progress) is pinned: it is not on the
 * LRU list and cannot be evicted. Buckets are looked up in a small chained hash table. Xen may
 * map a bucket only partly (guest RAM ends, holes): a per-bucket bitmap records which pages did
 * map, and a buffer touching any other page is refused with -EFAULT.
 *
 * A buffer crossing a bucket boundary becomes one iov entry per bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdma_internal.h"

static uint64_t bucket_bytes(const struct gdma_cache *c)
{
	return 1ull << c->shift;
}

static uint32_t valid_words(const struct gdma_cache *c)
{
	return (c->ppb + 63) / 64;
}

static uint32_t hash_of(const struct gdma_cache *c, uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & c->hmask;
}

static uint32_t pins_per_slot(const vxen_gdma_queue *q)
{
	/* A request pins at most one bucket per page it touches, and no more than exist. */
	return VXEN_MIN(q->g->cfg.cache_buckets, q->g->cfg.max_chain_pages);
}

/* ------------------------------------------------------------------------------------------ */
/* Lists                                                                                       */

static void lru_unlink(struct gdma_cache *c, uint32_t i)
{
	struct gdma_bucket *b = &c->b[i];

	if (b->prev != GDMA_NONE)
		c->b[b->prev].next = b->next;
	else
		c->lru_head = b->next;
	if (b->next != GDMA_NONE)
		c->b[b->next].prev = b->prev;
	else
		c->lru_tail = b->prev;
	b->prev = b->next = GDMA_NONE;
}

static void lru_push(struct gdma_cache *c, uint32_t i)
{
	struct gdma_bucket *b = &c->b[i];

	b->prev = GDMA_NONE;
	b->next = c->lru_head;
	if (c->lru_head != GDMA_NONE)
		c->b[c->lru_head].prev = i;
	else
		c->lru_tail = i;
	c->lru_head = i;
}

static void hash_remove(struct gdma_cache *c, uint32_t i)
{
	uint32_t *link = &c->hash[hash_of(c, c->b[i].key)];

	while (*link != GDMA_NONE && *link != i)
		link = &c->b[*link].hnext;
	if (*link == i)
		*link = c->b[i].hnext;
}

static uint32_t hash_find(const struct gdma_cache *c, uint64_t key)
{
	uint32_t i = c->hash[hash_of(c, key)];

	while (i != GDMA_NONE && c->b[i].key != key)
		i = c->b[i].hnext;
	return i;
}

/* ------------------------------------------------------------------------------------------ */
/* Buckets                                                                                     */

static void bucket_unmap(vxen_gdma_queue *q, uint32_t i)
{
	struct gdma_cache *c = &q->cache;
	struct gdma_bucket *b = &c->b[i];
	int rc = gdma_fmem_unmap(q->g, b->addr, c->ppb);

	q->st.unmap_calls++;
	q->st.unmap_pages += c->ppb;
	q->st.live_pages -= c->ppb;
	q->st.cache_buckets--;
	if (rc) {
		q->st.unmap_errors++;
		gdma_count_unmap_error(q->g);
		vxen_log(LOG_ERR, "gdma: dom%u q%u: xenforeignmemory_unmap: %s", q->g->cfg.domid,
			 q->index, strerror(-rc));
	}
	if (!b->stale)
		hash_remove(c, i); /* stale buckets left the table when they were flushed */
	b->addr = NULL;
	b->stale = false;
	b->next = c->free_head;
	c->free_head = i;
}

/* An entry to map a new bucket into: a free one, or the least recently used unpinned one. */
static int bucket_take(vxen_gdma_queue *q, uint32_t *out)
{
	struct gdma_cache *c = &q->cache;
	uint32_t i;

	if (c->free_head == GDMA_NONE) {
		if (c->lru_tail == GDMA_NONE)
			return -ENOMEM; /* every bucket is pinned by requests in flight */
		i = c->lru_tail;
		lru_unlink(c, i);
		bucket_unmap(q, i);
		q->st.cache_evictions++;
	}
	i = c->free_head;
	c->free_head = c->b[i].next;
	*out = i;
	return 0;
}

static int bucket_map(vxen_gdma_queue *q, uint32_t i, uint64_t key)
{
	struct gdma_cache *c = &q->cache;
	struct gdma_bucket *b = &c->b[i];
	uint64_t gfn0 = key << (c->shift - VXEN_GDMA_PAGE_SHIFT);
	void *addr;
	int rc;

	for (uint32_t p = 0; p < c->ppb; p++)
		c->pfns[p] = (xen_pfn_t)(gfn0 + p);
	rc = gdma_fmem_map(q->g, c->pfns, c->errs, c->ppb, &addr);
	q->st.map_calls++;
	if (rc) {
		b->next = c->free_head;
		c->free_head = i;
		return gdma_map_err(rc);
	}
	memset(b->valid, 0, valid_words(c) * sizeof(uint64_t));
	for (uint32_t p = 0; p < c->ppb; p++)
		if (!c->errs[p])
			b->valid[p / 64] |= 1ull << (p % 64);
	b->key = key;
	b->addr = addr;
	b->refs = 0;
	b->stale = false;
	b->prev = b->next = GDMA_NONE;
	b->hnext = c->hash[hash_of(c, key)];
	c->hash[hash_of(c, key)] = i;
	q->st.map_pages += c->ppb;
	q->st.live_pages += c->ppb;
	q->st.cache_buckets++;
	return 0;
}

/* Find or map the bucket of @key and pin it. */
static int bucket_get(vxen_gdma_queue *q, uint64_t key, uint32_t *out)
{
	struct gdma_cache *c = &q->cache;
	uint32_t i = hash_find(c, key);
	int rc;

	if (i != GDMA_NONE) {
		q->st.cache_hits++;
		if (!c->b[i].refs)
			lru_unlink(c, i);
	} else {
		q->st.cache_misses++;
		rc = bucket_take(q, &i);
		if (!rc)
			rc = bucket_map(q, i, key);
		if (rc)
			return rc;
	}
	c->b[i].refs++;
	*out = i;
	return 0;
}

static void bucket_put(vxen_gdma_queue *q, uint32_t i)
{
	struct gdma_bucket *b = &q->cache.b[i];

	if (--b->refs)
		return;
	if (b->stale)
		bucket_unmap(q, i);
	else
		lru_push(&q->cache, i);
}

/* True if every page of [off, off + len) inside bucket @i was mapped by Xen. */
static bool bucket_valid(const struct gdma_cache *c, uint32_t i, uint64_t off, uint64_t len)
{
	const uint64_t *v = c->b[i].valid;

	for (uint64_t p = off >> VXEN_GDMA_PAGE_SHIFT; p <= (off + len - 1) >> VXEN_GDMA_PAGE_SHIFT;
	     p++)
		if (!(v[p / 64] & (1ull << (p % 64))))
			return false;
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                   */

static int cache_alloc(vxen_gdma_queue *q)
{
	struct gdma_cache *c = &q->cache;
	uint32_t hsize = 1;

	while (hsize < 2 * c->cap)
		hsize <<= 1;
	c->hmask = hsize - 1;
	c->hash = malloc(hsize * sizeof(*c->hash));
	c->b = calloc(c->cap, sizeof(*c->b));
	c->valid_mem = calloc((size_t)c->cap * valid_words(c), sizeof(uint64_t));
	c->pfns = calloc(c->ppb, sizeof(*c->pfns));
	c->errs = calloc(c->ppb, sizeof(*c->errs));
	q->pins_mem = calloc((size_t)q->size * pins_per_slot(q), sizeof(*q->pins_mem));
	if (!c->hash || !c->b || !c->valid_mem || !c->pfns || !c->errs || !q->pins_mem)
		return -ENOMEM;
	return 0;
}

int gdma_cache_init(vxen_gdma_queue *q)
{
	struct gdma_cache *c = &q->cache;
	int rc;

	c->cap = q->g->cfg.cache_buckets;
	c->shift = q->g->cfg.bucket_shift;
	c->ppb = 1u << (c->shift - VXEN_GDMA_PAGE_SHIFT);
	rc = cache_alloc(q);
	if (rc)
		return rc;
	memset(c->hash, 0xff, (c->hmask + 1) * sizeof(*c->hash)); /* GDMA_NONE */
	for (uint32_t i = 0; i < c->cap; i++) {
		c->b[i].valid = c->valid_mem + (size_t)i * valid_words(c);
		c->b[i].next = i + 1 < c->cap ? i + 1 : GDMA_NONE;
		c->b[i].prev = GDMA_NONE;
	}
	c->free_head = 0;
	c->lru_head = c->lru_tail = GDMA_NONE;
	for (uint32_t i = 0; i < q->size; i++)
		q->slots[i].pins = q->pins_mem + (size_t)i * pins_per_slot(q);
	return 0;
}

void gdma_cache_fini(vxen_gdma_queue *q)
{
	struct gdma_cache *c = &q->cache;

	for (uint32_t i = 0; c->b && i < c->cap; i++)
		if (c->b[i].addr)
			bucket_unmap(q, i);
	free(c->hash);
	free(c->b);
	free(c->valid_mem);
	free(c->pfns);
	free(c->errs);
	free(q->pins_mem);
	memset(c, 0, sizeof(*c));
	q->pins_mem = NULL;
}

void gdma_cache_flush(vxen_gdma_queue *q)
{
	struct gdma_cache *c = &q->cache;

	for (uint32_t i = 0; i < c->cap; i++) {
		struct gdma_bucket *b = &c->b[i];

		if (!b->addr || b->stale)
			continue;
		if (!b->refs) {
			lru_unlink(c, i);
			bucket_unmap(q, i);
		} else {
			/* In use: new lookups must miss it; the last request unmaps it. */
			hash_remove(c, i);
			b->stale = true;
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */

/* Number of buckets [addr, addr + len) touches (len ≥ 1, no wrap: checked by decode). */
static uint64_t bucket_span(const struct gdma_cache *c, uint64_t addr, uint64_t len)
{
	return ((addr + len - 1) >> c->shift) - (addr >> c->shift) + 1;
}

/* Validate every descriptor before any mapping (no Xen call). */
static int plan_chain(vxen_gdma_queue *q, const struct vxen_req *req)
{
	uint32_t max = q->g->cfg.max_chain_pages;
	unsigned int n = VXEN_MIN(req->n_desc, req->desc_cap);
	uint64_t pages = 0, iovs = 0;

	for (unsigned int i = 0; i < n; i++) {
		const struct vxen_desc *d = &req->desc[i];
		struct vxen_gdma_range r;
		int rc;

		if (!d->len)
			continue;
		rc = vxen_gdma_decode(&r, VXEN_GDMA_FOREIGN, d->addr, d->len, max);
		if (rc)
			return gdma_reject(q, rc, rc == -E2BIG ? GDMA_REJ_TOO_BIG : GDMA_REJ_ADDR,
					   d->addr);
		pages += r.npages;
		iovs += bucket_span(&q->cache, d->addr, d->len);
		if (pages > max)
			return gdma_reject(q, -E2BIG, GDMA_REJ_TOO_BIG, d->addr);
	}
	if (iovs > req->iov_cap)
		return gdma_reject(q, -E2BIG, GDMA_REJ_TOO_BIG, req->desc[0].addr);
	return 0;
}

/* Pin the bucket of @key for request @s, once per request. */
static int slot_pin(vxen_gdma_queue *q, struct gdma_slot *s, uint64_t key, uint32_t *out)
{
	int rc;

	for (uint32_t j = 0; j < s->n_pins; j++) {
		if (q->cache.b[s->pins[j]].key == key) {
			*out = s->pins[j];
			return 0;
		}
	}
	if (s->n_pins >= pins_per_slot(q))
		return -ENOMEM;
	rc = bucket_get(q, key, out);
	if (!rc)
		s->pins[s->n_pins++] = *out;
	return rc;
}

static int map_desc(vxen_gdma_queue *q, struct gdma_slot *s, const struct vxen_desc *d,
		    struct iovec *iov, unsigned int *n)
{
	uint64_t addr = d->addr, left = d->len, mask = bucket_bytes(&q->cache) - 1;

	while (left) {
		uint64_t off = addr & mask, len = VXEN_MIN(left, mask + 1 - off);
		uint32_t i;
		int rc = slot_pin(q, s, addr >> q->cache.shift, &i);

		if (rc)
			return gdma_reject(q, rc == -ENOMEM ? -ENOMEM : -EFAULT,
					   rc == -ENOMEM ? GDMA_REJ_NOMEM : GDMA_REJ_FAULT, addr);
		if (!bucket_valid(&q->cache, i, off, len))
			return gdma_reject(q, -EFAULT, GDMA_REJ_FAULT, addr);
		iov[*n].iov_base = q->cache.b[i].addr + off;
		iov[*n].iov_len = len;
		(*n)++;
		addr += len;
		left -= len;
	}
	return 0;
}

void gdma_foreign_unmap(vxen_gdma_queue *q, struct gdma_slot *s)
{
	for (uint32_t j = 0; j < s->n_pins; j++)
		bucket_put(q, s->pins[j]);
	s->n_pins = 0;
}

int gdma_foreign_map(vxen_gdma_queue *q, struct gdma_slot *s, struct vxen_req *req)
{
	unsigned int n_desc = VXEN_MIN(req->n_desc, req->desc_cap), n = 0;
	int rc = plan_chain(q, req);

	/* Readable buffers first, then writable ones, each in descriptor order. */
	for (int w = 0; !rc && w < 2; w++) {
		for (unsigned int i = 0; !rc && i < n_desc; i++) {
			const struct vxen_desc *d = &req->desc[i];

			if (d->len && !!(d->flags & VXEN_DESC_F_WRITE) == w)
				rc = map_desc(q, s, d, req->iov, &n);
		}
		if (!w)
			req->n_out = n;
	}
	if (rc) {
		gdma_foreign_unmap(q, s);
		req->n_out = 0;
		return rc;
	}
	req->n_in = n - req->n_out;
	return 0;
}

int gdma_foreign_read(vxen_gdma_queue *q, uint64_t addr, void *dst, size_t len)
{
	uint64_t mask = bucket_bytes(&q->cache) - 1, left = len;
	struct vxen_gdma_range r;
	uint8_t *out = dst;
	int rc = vxen_gdma_decode(&r, VXEN_GDMA_FOREIGN, addr, len, gdma_read_max_pages(q));

	while (!rc && left) {
		uint64_t off = addr & mask, n = VXEN_MIN(left, mask + 1 - off);
		uint32_t i;

		rc = bucket_get(q, addr >> q->cache.shift, &i);
		if (rc)
			break;
		if (bucket_valid(&q->cache, i, off, n))
			memcpy(out, q->cache.b[i].addr + off, n);
		else
			rc = -EFAULT;
		bucket_put(q, i);
		out += n;
		addr += n;
		left -= n;
	}
	return rc;
}
