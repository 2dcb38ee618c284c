/* idmap.h: a map from non-zero 64-bit ids to 32-bit indexes (open addressing), for the
 * format readers and writers. Zero-initialize a struct idmap to start; idmap_free() it. */
#ifndef KILN_FORMATS_IDMAP_H
#define KILN_FORMATS_IDMAP_H
#include "util/xalloc.h"
#include <stdint.h>
#include <stdlib.h>

struct idmap {
	uint64_t *keys;
	uint32_t *vals;
	size_t size, used;
};

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static inline void idmap_grow(struct idmap *m)
{
	size_t nsize = m->size ? m->size * 2 : 64;
	uint64_t *nk = xcalloc(nsize, sizeof(*nk));
	uint32_t *nv = xmalloc(nsize * sizeof(*nv));
	for (size_t i = 0; i < m->size; i++) {
		if (!m->keys[i])
			continue;
		size_t j = mix64(m->keys[i]) & (nsize - 1);
		while (nk[j])
			j = (j + 1) & (nsize - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->size = nsize;
}

/* Returns 0, or 1 when the key was already there (duplicate id). */
static inline int idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
	if ((m->used + 1) * 2 > m->size)
		idmap_grow(m);
	size_t j = mix64(key) & (m->size - 1);
	while (m->keys[j]) {
		if (m->keys[j] == key)
			return 1;
		j = (j + 1) & (m->size - 1);
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->used++;
	return 0;
}

static inline int idmap_get(const struct idmap *m, uint64_t key, uint32_t *val)
{
	if (!m->size || !key)
		return 0;
	size_t j = mix64(key) & (m->size - 1);
	while (m->keys[j]) {
		if (m->keys[j] == key) {
			*val = m->vals[j];
			return 1;
		}
		j = (j + 1) & (m->size - 1);
	}
	return 0;
}

static inline void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
}

#endif
