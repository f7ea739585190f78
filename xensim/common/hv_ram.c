/* SPDX-License-Identifier: MIT */
/*
 * hv_ram.c — client-side cache of guest RAM memfds and the mmap helpers that make grant and
 * foreign mappings real mappings of guest memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv_client.h"

uint64_t ram_cache_known(const struct ram_cache *rc, uint32_t domid)
{
	unsigned int i;

	for (i = 0; i < rc->n; i++)
		if (rc->v[i].domid == domid)
			return rc->v[i].instance;
	return 0;
}

struct ram_entry *ram_cache_find(struct ram_cache *rc, uint32_t domid)
{
	unsigned int i;

	for (i = 0; i < rc->n; i++)
		if (rc->v[i].domid == domid)
			return &rc->v[i];
	return NULL;
}

static void entry_drop(struct ram_entry *e)
{
	if (e->map)
		munmap(e->map, e->size);
	if (e->fd >= 0)
		close(e->fd);
	e->map = NULL;
	e->fd = -1;
}

struct ram_entry *ram_cache_update(struct ram_cache *rc, uint32_t domid,
				   const struct hv_dom_info *info, int fd)
{
	struct ram_entry *e = ram_cache_find(rc, domid);

	if (fd < 0)
		return e && e->instance == info->instance && info->instance ? e : NULL;
	if (!e) {
		struct ram_entry *v = realloc(rc->v, (rc->n + 1) * sizeof(*v));

		if (!v) {
			close(fd);
			return NULL;
		}
		rc->v = v;
		e = &v[rc->n++];
		*e = (struct ram_entry){ .domid = domid, .fd = -1 };
	}
	/* A re-created domain: earlier page mappings keep the old memfd alive on their own. */
	entry_drop(e);
	e->fd = fd;
	e->instance = info->instance;
	e->size = info->ram_bytes;
	return e;
}

void *ram_cache_map(struct ram_entry *e)
{
	void *p;

	if (e->map)
		return e->map;
	p = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	e->map = p;
	return p;
}

void ram_cache_free(struct ram_cache *rc)
{
	unsigned int i;

	for (i = 0; i < rc->n; i++)
		entry_drop(&rc->v[i]);
	free(rc->v);
	rc->v = NULL;
	rc->n = 0;
}

void *va_reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int map_run(void *addr, size_t len, int prot, int fd, uint64_t off)
{
	void *p = mmap(addr, len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off);

	return p == MAP_FAILED ? -errno : 0;
}
