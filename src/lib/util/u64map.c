/* u64map.c: open-addressing tables keyed by 64-bit hashes (u64map.h). */
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Puts k (not 0) in a table of size slots that has room. */
static int slot_put(uint64_t *v, size_t size, uint64_t k)
{
	for (size_t i = hash_mix64(k) & (size - 1);; i = (i + 1) & (size - 1)) {
		if (v[i] == k)
			return 0;
		if (!v[i]) {
			v[i] = k;
			return 1;
		}
	}
}

void u64set_add(struct u64set *s, uint64_t k)
{
	k = k ? k : 1;
	if ((s->n + 1) * 2 > s->size) {
		size_t size = s->size ? s->size * 2 : 1024;
		uint64_t *v = xcalloc(size, sizeof(*v));
		for (size_t i = 0; i < s->size; i++)
			if (s->v[i])
				slot_put(v, size, s->v[i]);
		free(s->v);
		s->v = v;
		s->size = size;
	}
	s->n += (size_t)slot_put(s->v, s->size, k);
}

void u64set_release(struct u64set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static size_t map_find(const uint64_t *keys, size_t size, uint64_t k)
{
	size_t i = hash_mix64(k) & (size - 1);
	while (keys[i] && keys[i] != k)
		i = (i + 1) & (size - 1);
	return i;
}

uint32_t *u64map_slot(struct u64map *m, uint64_t k, int *found)
{
	k = k ? k : 1;
	if ((m->n + 1) * 2 > m->size) {
		size_t size = m->size ? m->size * 2 : 1024;
		uint64_t *keys = xcalloc(size, sizeof(*keys));
		uint32_t *vals = xcalloc(size, sizeof(*vals));
		for (size_t i = 0; i < m->size; i++) {
			if (!m->k[i])
				continue;
			size_t j = map_find(keys, size, m->k[i]);
			keys[j] = m->k[i];
			vals[j] = m->v[i];
		}
		free(m->k);
		free(m->v);
		m->k = keys;
		m->v = vals;
		m->size = size;
	}
	size_t i = map_find(m->k, m->size, k);
	*found = m->k[i] == k;
	if (!*found) {
		m->k[i] = k;
		m->n++;
	}
	return &m->v[i];
}

int u64map_put(struct u64map *m, uint64_t k, uint32_t v)
{
	int found;
	uint32_t *slot = u64map_slot(m, k, &found);
	if (found)
		return 1;
	*slot = v;
	return 0;
}

void u64map_release(struct u64map *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
