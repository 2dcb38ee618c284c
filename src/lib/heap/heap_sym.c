/* heap_sym.c: symbolization of heap stacks (see heap_sym.h). */
#include "heap/heap_sym.h"
#include "symbols/symbols.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INLINE 32

struct hs_space {
	int pid;
	uint32_t gen; /* address-space instance: changes at fork into and exec of pid */
};

struct hs_cache_ent {
	uint64_t key;   /* ip */
	uint32_t gen;
	uint32_t first; /* index in frames */
	uint32_t n;
};

struct heap_sym {
	struct kp_profile *p;
	struct ks_session *ks;
	struct hs_space *spaces;
	size_t nspaces, spaces_alloc;
	uint32_t next_gen;
	struct hs_cache_ent *cache;
	size_t cache_cap, cache_n;
	kp_frame_t *frames;       /* cached frame lists, innermost first */
	size_t nframes, frames_alloc;
	kp_frame_t *tmp;
	size_t tmp_alloc;
};

struct heap_sym *heap_sym_new(struct kp_profile *p)
{
	struct heap_sym *hs = xcalloc(1, sizeof(*hs));
	hs->p = p;
	hs->next_gen = 1;
	{
		struct ks_options o;
		memset(&o, 0, sizeof(o));
		o.no_kernel = 1;
		hs->ks = ks_session_new(&o);
	}
	return hs;
}

void heap_sym_free(struct heap_sym *hs)
{
	if (!hs)
		return;
	ks_session_free(hs->ks);
	free(hs->spaces);
	free(hs->cache);
	free(hs->frames);
	free(hs->tmp);
	free(hs);
}

static struct hs_space *space(struct heap_sym *hs, int pid, int create)
{
	for (size_t i = 0; i < hs->nspaces; i++)
		if (hs->spaces[i].pid == pid)
			return &hs->spaces[i];
	if (!create)
		return NULL;
	ALLOC_GROW(hs->spaces, hs->nspaces + 1, hs->spaces_alloc);
	hs->spaces[hs->nspaces].pid = pid;
	hs->spaces[hs->nspaces].gen = hs->next_gen++;
	return &hs->spaces[hs->nspaces++];
}

void heap_sym_module(struct heap_sym *hs, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		     const char *path, const unsigned char *build_id, size_t build_id_len, int prot)
{
	struct hs_space *sp = space(hs, pid, 1);
	/* a mapping can change what cached addresses mean (dlclose, then dlopen) */
	sp->gen = hs->next_gen++;
	ks_mmap(hs->ks, pid, start, len, pgoff, path, build_id, build_id_len, prot);
}

void heap_sym_fork(struct heap_sym *hs, int ppid, int pid)
{
	struct hs_space *sp = space(hs, pid, 1);
	sp->gen = hs->next_gen++;
	ks_exec(hs->ks, pid);
	ks_fork(hs->ks, ppid, pid);
}

void heap_sym_exec(struct heap_sym *hs, int pid)
{
	struct hs_space *sp = space(hs, pid, 1);
	sp->gen = hs->next_gen++;
	ks_exec(hs->ks, pid);
}

static void cache_grow(struct heap_sym *hs)
{
	size_t cap = hs->cache_cap ? hs->cache_cap * 2 : 4096;
	struct hs_cache_ent *c = xcalloc(cap, sizeof(*c));
	for (size_t i = 0; i < hs->cache_cap; i++) {
		struct hs_cache_ent *e = &hs->cache[i];
		if (!e->gen)
			continue;
		size_t j = (size_t)((e->key * 0x9E3779B97F4A7C15ull) ^ e->gen) & (cap - 1);
		while (c[j].gen)
			j = (j + 1) & (cap - 1);
		c[j] = *e;
	}
	free(hs->cache);
	hs->cache = c;
	hs->cache_cap = cap;
}

/* Frames of one address (innermost inlined first); returns the count and sets *out. */
static uint32_t resolve(struct heap_sym *hs, int pid, uint32_t gen, uint64_t ip, const kp_frame_t **out)
{
	struct hs_cache_ent *e;
	size_t j;
	kp_frame_t buf[MAX_INLINE];
	int n;
	if ((hs->cache_n + 1) * 2 > hs->cache_cap)
		cache_grow(hs);
	for (j = (size_t)((ip * 0x9E3779B97F4A7C15ull) ^ gen) & (hs->cache_cap - 1);; j = (j + 1) & (hs->cache_cap - 1)) {
		e = &hs->cache[j];
		if (!e->gen)
			break;
		if (e->key == ip && e->gen == gen) {
			*out = hs->frames + e->first;
			return e->n;
		}
	}
	n = ks_resolve(hs->ks, hs->p, pid, ip - 1, 0, buf, MAX_INLINE);
	if (n < 1) {
		buf[0] = kp_frame_named(hs->p, "[unknown]", 9, KP_FRAME_UNKNOWN);
		n = 1;
	}
	ALLOC_GROW(hs->frames, hs->nframes + (size_t)n, hs->frames_alloc);
	memcpy(hs->frames + hs->nframes, buf, (size_t)n * sizeof(buf[0]));
	e->key = ip;
	e->gen = gen;
	e->first = (uint32_t)hs->nframes;
	e->n = (uint32_t)n;
	hs->nframes += (size_t)n;
	hs->cache_n++;
	*out = hs->frames + e->first;
	return (uint32_t)n;
}

kp_stack_t heap_sym_stack(struct heap_sym *hs, int pid, const uint64_t *ips, size_t n)
{
	struct hs_space *sp = space(hs, pid, 1);
	kp_stack_t s = 0;
	/* outermost first: walk ips from the end, each address's frames outer to inner */
	for (size_t i = n; i-- > 0;) {
		const kp_frame_t *f;
		uint32_t k = resolve(hs, pid, sp->gen, ips[i], &f);
		while (k-- > 0)
			s = kp_stack_push(hs->p, s, f[k]);
	}
	return s;
}
