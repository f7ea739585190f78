/* SPDX-License-Identifier: MIT */
/*
 * hmap.h — a small open-addressing hash map from non-zero uint64_t keys to pointers
 * (mapping addresses → mapping records). Not thread-safe. Internal to xensim.
 */
#ifndef XENSIM_HMAP_H
#define XENSIM_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	uint64_t key; /* 0: empty */
	void *val;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

/** Value for @key, or NULL. */
void *hmap_get(const struct hmap *m, uint64_t key);
/** Insert (key must be non-zero and absent). Returns 0 or -ENOMEM. */
int hmap_put(struct hmap *m, uint64_t key, void *val);
/** Remove @key; returns its value or NULL. */
void *hmap_del(struct hmap *m, uint64_t key);
/** Iterate: returns the next slot index >= *pos holding an entry, or -1 at the end. */
long hmap_next(const struct hmap *m, size_t *pos);
void hmap_free(struct hmap *m);

#endif /* XENSIM_HMAP_H */
