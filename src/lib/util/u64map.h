/* u64map.h: open-addressing tables keyed by 64-bit hashes (keys are hashes already, so
 * collisions of the keys themselves are the caller's concern). Key 0 is stored as 1.
 * Zero-initialized structs are empty tables; they grow by doubling at half full. */
#ifndef KILN_UTIL_U64MAP_H
#define KILN_UTIL_U64MAP_H
#include <stddef.h>
#include <stdint.h>

/* A set of keys. */
struct u64set {
	uint64_t *v;
	size_t n, size;
};

int u64set_has(const struct u64set *s, uint64_t k);
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
/* 1 and *out when k is in m, else 0. */
int u64map_get(const struct u64map *m, uint64_t k, uint32_t *out);
void u64map_release(struct u64map *m);

#endif
