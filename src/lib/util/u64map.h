/* u64map.h: open-addressing tables keyed by 64-bit hashes (keys are hashes already, so
 * collisions of the keys themselves are the caller's concern). Key 0 is stored as 1.
 * Zero-initialized structs are empty tables; they grow by doubling at half full. */
#ifndef KILN_UTIL_U64MAP_H
#define KILN_UTIL_U64MAP_H
#include <stddef.h>
#include <stdint.h>

#include "util/hash.h"

/* A set of keys. */
struct u64set {
	uint64_t *v;
	size_t n, size;
};

static inline int u64set_has(const struct u64set *s, uint64_t k)
{
	if (!s->size)
		return 0;
	k = k ? k : 1;
	for (size_t i = hash_mix64(k) & (s->size - 1);; i = (i + 1) & (s->size - 1)) {
		if (s->v[i] == k)
			return 1;
		if (!s->v[i])
			return 0;
	}
}

void u64set_add(struct u64set *s, uint64_t k);
void u64set_release(struct u64set *s);

/* A map from keys to 32-bit values. */
struct u64map {
	uint64_t *k;
	uint32_t *v;
	size_t n, size;
};

/* The value slot of k, added (its value 0) when absent; *found says which. The pointer
 * is valid until the next u64map_slot. */
uint32_t *u64map_slot(struct u64map *m, uint64_t k, int *found);
/* Adds k with value v and returns 0; returns 1, changing nothing, when k is there. */
int u64map_put(struct u64map *m, uint64_t k, uint32_t v);
/* 1 and *out when k is in m, else 0. */
static inline int u64map_get(const struct u64map *m, uint64_t k, uint32_t *out)
{
	if (!m->size)
		return 0;
	k = k ? k : 1;
	for (size_t i = hash_mix64(k) & (m->size - 1);; i = (i + 1) & (m->size - 1)) {
		if (m->k[i] == k) {
			*out = m->v[i];
			return 1;
		}
		if (!m->k[i])
			return 0;
	}
}
void u64map_release(struct u64map *m);

#endif
