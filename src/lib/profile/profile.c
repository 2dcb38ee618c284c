/* profile.c: the profile model: interning of strings, frames and stacks; samples. */
#include "profile/profile.h"
#include "util/hash.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

/* ---- arena for strings ---- */
struct kp_arena {
	struct kp_arena *next;
	size_t used, size;
	char data[];
};

static char *arena_alloc(struct kp_arena **a, size_t n)
{
	struct kp_arena *cur = *a;
	if (!cur || cur->size - cur->used < n) {
		size_t size = n > (1u << 20) ? n : (1u << 20);
		struct kp_arena *na = xmalloc(sizeof(*na) + size);
		na->size = size;
		na->used = 0;
		na->next = cur;
		*a = na;
		cur = na;
	}
	char *r = cur->data + cur->used;
	cur->used += n;
	return r;
}

static void arena_free(struct kp_arena *a)
{
	while (a) {
		struct kp_arena *n = a->next;
		free(a);
		a = n;
	}
}

/* ---- hashing ---- */
static inline uint64_t load8(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline uint32_t load4(const unsigned char *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

static inline uint64_t hash_bytes(const void *data, size_t len)
{
	/* FNV-style over 8-byte words (the last word overlapping the one before, so no
	 * byte loop), then a final mix: fast and good enough for interning */
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ len, w;
	if (len >= 8) {
		const unsigned char *last = p + len - 8;
		for (; p < last; p += 8) {
			h = (h ^ load8(p)) * 0x100000001b3ull;
			h ^= h >> 29;
		}
		w = load8(last);
	} else if (len >= 4) {
		w = load4(p) | (uint64_t)load4(p + len - 4) << 32;
	} else {
		w = len ? p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16 : 0;
	}
	h = (h ^ w) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t hash_u64(uint64_t x)
{
	return hash_mix64(x);
}

/* ---- strings ---- */
/* memcmp(a, b, len) == 0 for the short names interning sees most, without a call. */
static inline int bytes_equal(const char *a, const char *b, size_t len)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	if (len >= 8) {
		for (size_t i = 0; i + 8 < len; i += 8)
			if (load8(x + i) != load8(y + i))
				return 0;
		return load8(x + len - 8) == load8(y + len - 8);
	}
	if (len >= 4)
		return load4(x) == load4(y) && load4(x + len - 4) == load4(y + len - 4);
	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static void strtab_rehash(struct kp_strtab *t)
{
	uint32_t size = t->hash_size ? t->hash_size * 2 : 1024;
	uint32_t *h = xcalloc(size, sizeof(*h));
	for (uint32_t id = 1; id < t->nr; id++) {
		uint32_t i = (uint32_t)hash_bytes(t->strs[id], t->lens[id]) & (size - 1);
		while (h[i])
			i = (i + 1) & (size - 1);
		h[i] = id + 1;
	}
	free(t->hash);
	t->hash = h;
	t->hash_size = size;
}

static kp_str_t strtab_find(const struct kp_strtab *t, const char *s, size_t len, uint32_t *slot)
{
	uint32_t mask = t->hash_size - 1;
	uint32_t i = (uint32_t)hash_bytes(s, len) & mask;
	while (t->hash[i]) {
		uint32_t id = t->hash[i] - 1;
		if (t->lens[id] == len && bytes_equal(t->strs[id], s, len))
			return id;
		i = (i + 1) & mask;
	}
	if (slot)
		*slot = i;
	return 0;
}

/* Adds s (not present, slot from strtab_find) and returns its id. */
static kp_str_t strtab_add(struct kp_strtab *t, const char *s, size_t len, uint32_t slot)
{
	if (t->nr == t->alloc) {
		size_t a = t->alloc;
		ALLOC_GROW(t->strs, t->nr + 1, a);
		t->lens = xreallocarray(t->lens, a, sizeof(*t->lens));
		t->alloc = (uint32_t)a;
	}
	char *copy = arena_alloc(&t->arena, len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	kp_str_t id = t->nr++;
	t->strs[id] = copy;
	t->lens[id] = (uint32_t)len;
	t->hash[slot] = id + 1;
	return id;
}

kp_str_t kp_str(struct kp_profile *p, const char *s, size_t len)
{
	struct kp_strtab *t = &p->strings;
	uint32_t slot;
	kp_str_t id;
	if (!len)
		return 0;
	if ((t->nr + 1) * 2 > t->hash_size)
		strtab_rehash(t);
	id = strtab_find(t, s, len, &slot);
	if (id)
		return id;
	return strtab_add(t, s, len, slot);
}

void kp_str_batch(struct kp_profile *p, const char *const *s, const uint32_t *len, kp_str_t *out, size_t n)
{
	struct kp_strtab *t = &p->strings;
	uint32_t h[KP_STR_BATCH];
	while (n) {
		size_t m = n < KP_STR_BATCH ? n : KP_STR_BATCH;
		while ((t->nr + m) * 2 > t->hash_size)
			strtab_rehash(t);
		uint32_t mask = t->hash_size - 1;
		/* the lookups of a batch overlap: hash all and fetch their slots, then the
		 * strings the slots point at, then compare */
		for (size_t k = 0; k < m; k++) {
			h[k] = (uint32_t)hash_bytes(s[k], len[k]) & mask;
			__builtin_prefetch(&t->hash[h[k]]);
		}
		for (size_t k = 0; k < m; k++) {
			uint32_t e = t->hash[h[k]];
			if (e)
				__builtin_prefetch(t->strs[e - 1]);
		}
		for (size_t k = 0; k < m; k++) {
			uint32_t i = h[k];
			kp_str_t id = 0;
			if (!len[k]) {
				out[k] = 0;
				continue;
			}
			while (t->hash[i]) {
				uint32_t cand = t->hash[i] - 1;
				if (t->lens[cand] == len[k] && bytes_equal(t->strs[cand], s[k], len[k])) {
					id = cand;
					break;
				}
				i = (i + 1) & mask;
			}
			out[k] = id ? id : strtab_add(t, s[k], len[k], i);
		}
		s += m;
		len += m;
		out += m;
		n -= m;
	}
}

kp_str_t kp_strz(struct kp_profile *p, const char *s)
{
	return kp_str(p, s, strlen(s));
}

kp_str_t kp_str_find(const struct kp_profile *p, const char *s, size_t len)
{
	if (!len || !p->strings.hash_size)
		return 0;
	return strtab_find(&p->strings, s, len, NULL);
}

/* ---- profile ---- */
void kp_profile_init(struct kp_profile *p)
{
	memset(p, 0, sizeof(*p));
	/* string 0 is "" */
	p->strings.alloc = 64;
	p->strings.strs = xmalloc(64 * sizeof(*p->strings.strs));
	p->strings.lens = xmalloc(64 * sizeof(*p->strings.lens));
	p->strings.hash_size = 1024;
	p->strings.hash = xcalloc(1024, sizeof(uint32_t));
	p->strings.strs[0] = (char *)"";
	p->strings.lens[0] = 0;
	p->strings.nr = 1;
	/* frame 0 unused, stack 0 root, thread 0 none */
	ALLOC_GROW(p->frames, 1, p->frames_alloc);
	memset(&p->frames[0], 0, sizeof(p->frames[0]));
	p->nframes = 1;
	p->stacks_alloc = 1024;
	p->stacks = xmalloc(p->stacks_alloc * sizeof(*p->stacks));
	p->stack_child = xmalloc(p->stacks_alloc * sizeof(uint32_t));
	p->stack_next = xmalloc(p->stacks_alloc * sizeof(uint32_t));
	p->stacks[0].parent = 0;
	p->stacks[0].frame = 0;
	p->stack_child[0] = 0;
	p->stack_next[0] = 0;
	p->nstacks = 1;
	ALLOC_GROW(p->threads, 1, p->threads_alloc);
	memset(&p->threads[0], 0, sizeof(p->threads[0]));
	p->nthreads = 1;
}

void kp_profile_release(struct kp_profile *p)
{
	arena_free(p->strings.arena);
	free(p->strings.strs);
	free(p->strings.lens);
	free(p->strings.hash);
	free(p->frames);
	free(p->frame_hash);
	free(p->stacks);
	free(p->stack_hash);
	free(p->stack_child);
	free(p->stack_next);
	free(p->threads);
	free(p->sample_stack);
	free(p->sample_thread);
	free(p->sample_time);
	free(p->sample_values);
	free(p->meta);
	memset(p, 0, sizeof(*p));
}

int kp_add_value_type(struct kp_profile *p, const char *name, const char *unit)
{
	if (p->nvalues >= KP_MAX_VALUES)
		return -1;
	if (p->nsamples) {
		/* widen existing samples with zeros */
		uint32_t nv = p->nvalues + 1;
		double *nvals = xcalloc(p->samples_alloc ? p->samples_alloc : 1, nv * sizeof(double));
		for (size_t i = 0; i < p->nsamples; i++)
			memcpy(nvals + i * nv, p->sample_values + i * p->nvalues, p->nvalues * sizeof(double));
		free(p->sample_values);
		p->sample_values = nvals;
	} else if (p->sample_values) {
		free(p->sample_values);
		p->sample_values = xcalloc(p->samples_alloc ? p->samples_alloc : 1,
					   (p->nvalues + 1) * sizeof(double));
	}
	p->value_types[p->nvalues].name = kp_strz(p, name);
	p->value_types[p->nvalues].unit = kp_strz(p, unit ? unit : "");
	return (int)p->nvalues++;
}

int kp_find_value_type(const struct kp_profile *p, const char *name)
{
	for (uint32_t i = 0; i < p->nvalues; i++)
		if (!strcmp(kp_str_get(p, p->value_types[i].name), name))
			return (int)i;
	return -1;
}

static uint64_t frame_hash(const struct kp_frame *f)
{
	uint64_t h = hash_u64(((uint64_t)f->name << 32) ^ f->module);
	h = hash_u64(h ^ (((uint64_t)f->file << 32) | f->line));
	h = hash_u64(h ^ f->flags ^ (f->addr * 0x9e3779b97f4a7c15ull));
	return h;
}

static int frame_eq(const struct kp_frame *a, const struct kp_frame *b)
{
	return a->name == b->name && a->module == b->module && a->file == b->file &&
	       a->line == b->line && a->flags == b->flags && a->addr == b->addr;
}

static void frames_rehash(struct kp_profile *p)
{
	uint32_t size = p->frame_hash_size ? p->frame_hash_size * 2 : 1024;
	uint32_t *h = xcalloc(size, sizeof(*h));
	for (uint32_t id = 1; id < p->nframes; id++) {
		uint32_t i = (uint32_t)frame_hash(&p->frames[id]) & (size - 1);
		while (h[i])
			i = (i + 1) & (size - 1);
		h[i] = id;
	}
	free(p->frame_hash);
	p->frame_hash = h;
	p->frame_hash_size = size;
}

kp_frame_t kp_frame(struct kp_profile *p, const struct kp_frame *f)
{
	uint32_t mask, i;
	if ((p->nframes + 1) * 2 > p->frame_hash_size)
		frames_rehash(p);
	mask = p->frame_hash_size - 1;
	i = (uint32_t)frame_hash(f) & mask;
	while (p->frame_hash[i]) {
		uint32_t id = p->frame_hash[i];
		if (frame_eq(&p->frames[id], f))
			return id;
		i = (i + 1) & mask;
	}
	ALLOC_GROW(p->frames, p->nframes + 1, p->frames_alloc);
	p->frames[p->nframes] = *f;
	p->frame_hash[i] = p->nframes;
	return p->nframes++;
}

kp_frame_t kp_frame_named(struct kp_profile *p, const char *name, size_t len, uint32_t flags)
{
	struct kp_frame f = { 0 };
	f.name = kp_str(p, name, len);
	f.flags = flags;
	return kp_frame(p, &f);
}

static inline uint64_t stack_key(kp_stack_t parent, kp_frame_t frame)
{
	return hash_u64(((uint64_t)parent << 32) | frame);
}

/* Children of a node are found by a short list walk while the node has at most
 * STACK_LIST_MAX children (most nodes: a trie of call stacks is narrow), else by the
 * hash table, which holds only the children of such wide nodes. A new node's list is
 * empty, so a stack that leaves the known trie costs no lookups below that point, and
 * the newest child is tried first (sorted input continues the previous line). */
#define STACK_LIST_MAX 12
#define STACK_WIDE 0x80000000u

static void stack_hash_insert(struct kp_profile *p, kp_stack_t id)
{
	uint32_t mask = p->stack_hash_size - 1;
	uint32_t i = (uint32_t)stack_key(p->stacks[id].parent, p->stacks[id].frame) & mask;
	while (p->stack_hash[i])
		i = (i + 1) & mask;
	p->stack_hash[i] = id;
	p->stack_hash_used++;
}

static void stacks_rehash(struct kp_profile *p)
{
	uint32_t size = p->stack_hash_size ? p->stack_hash_size * 2 : 1024;
	uint32_t *old = p->stack_hash, old_size = p->stack_hash_size;
	p->stack_hash = xcalloc(size, sizeof(uint32_t));
	p->stack_hash_size = size;
	p->stack_hash_used = 0;
	for (uint32_t i = 0; i < old_size; i++)
		if (old[i])
			stack_hash_insert(p, old[i]);
	free(old);
}

static kp_stack_t stack_new(struct kp_profile *p, kp_stack_t parent, kp_frame_t frame)
{
	kp_stack_t id = p->nstacks;
	if (id >= STACK_WIDE - 1)
		abort(); /* 2^31 stack nodes: far beyond any memory this could run in */
	if (id >= p->stacks_alloc) {
		size_t a = p->stacks_alloc;
		ALLOC_GROW(p->stacks, id + 1, a);
		p->stack_child = xreallocarray(p->stack_child, a, sizeof(uint32_t));
		p->stack_next = xreallocarray(p->stack_next, a, sizeof(uint32_t));
		p->stacks_alloc = (uint32_t)a;
	}
	p->stacks[id].parent = parent;
	p->stacks[id].frame = frame;
	p->stack_child[id] = 0;
	p->stack_next[id] = p->stack_child[parent] & ~STACK_WIDE;
	p->stack_child[parent] = id | (p->stack_child[parent] & STACK_WIDE);
	p->nstacks++;
	return id;
}

kp_stack_t kp_stack_push(struct kp_profile *p, kp_stack_t parent, kp_frame_t frame)
{
	uint32_t head = p->stack_child[parent];
	kp_stack_t id;
	if (!(head & STACK_WIDE)) {
		uint32_t n = 0;
		for (id = head; id; id = p->stack_next[id], n++)
			if (p->stacks[id].frame == frame)
				return id;
		id = stack_new(p, parent, frame);
		if (n + 1 > STACK_LIST_MAX) {
			/* the node became wide: index all its children */
			p->stack_child[parent] |= STACK_WIDE;
			for (kp_stack_t c = id; c; c = p->stack_next[c]) {
				if ((p->stack_hash_used + 1) * 2 > p->stack_hash_size)
					stacks_rehash(p);
				stack_hash_insert(p, c);
			}
		}
		return id;
	}
	if ((p->stack_hash_used + 1) * 2 > p->stack_hash_size)
		stacks_rehash(p);
	uint32_t mask = p->stack_hash_size - 1;
	uint32_t i = (uint32_t)stack_key(parent, frame) & mask;
	while ((id = p->stack_hash[i])) {
		if (p->stacks[id].parent == parent && p->stacks[id].frame == frame)
			return id;
		i = (i + 1) & mask;
	}
	id = stack_new(p, parent, frame);
	p->stack_hash[i] = id;
	p->stack_hash_used++;
	return id;
}

kp_stack_t kp_stack_from_frames(struct kp_profile *p, const kp_frame_t *frames, size_t n)
{
	kp_stack_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = kp_stack_push(p, s, frames[i]);
	return s;
}

uint32_t kp_stack_depth(const struct kp_profile *p, kp_stack_t s)
{
	uint32_t d = 0;
	while (s) {
		d++;
		s = p->stacks[s].parent;
	}
	return d;
}

uint32_t kp_stack_frames(const struct kp_profile *p, kp_stack_t s, kp_frame_t *out, uint32_t max)
{
	uint32_t d = kp_stack_depth(p, s);
	uint32_t i = d;
	while (s) {
		i--;
		if (i < max)
			out[i] = p->stacks[s].frame;
		s = p->stacks[s].parent;
	}
	return d;
}

uint32_t kp_add_thread(struct kp_profile *p, int32_t pid, int32_t tid, const char *comm)
{
	ALLOC_GROW(p->threads, p->nthreads + 1, p->threads_alloc);
	p->threads[p->nthreads].pid = pid;
	p->threads[p->nthreads].tid = tid;
	p->threads[p->nthreads].comm = comm ? kp_strz(p, comm) : 0;
	return p->nthreads++;
}

void kp_add_sample(struct kp_profile *p, kp_stack_t stack, uint32_t thread, uint64_t time_ns,
		   const double *values)
{
	if (p->nsamples == p->samples_alloc) {
		size_t n = p->samples_alloc ? p->samples_alloc * 2 : 1024;
		p->sample_stack = xreallocarray(p->sample_stack, n, sizeof(*p->sample_stack));
		p->sample_thread = xreallocarray(p->sample_thread, n, sizeof(*p->sample_thread));
		p->sample_time = xreallocarray(p->sample_time, n, sizeof(*p->sample_time));
		p->sample_values = xreallocarray(p->sample_values, n,
						 (p->nvalues ? p->nvalues : 1) * sizeof(double));
		p->samples_alloc = n;
	}
	size_t i = p->nsamples++;
	p->sample_stack[i] = stack;
	p->sample_thread[i] = thread;
	p->sample_time[i] = time_ns;
	if (p->nvalues)
		memcpy(p->sample_values + i * p->nvalues, values, p->nvalues * sizeof(double));
}

void kp_meta_set(struct kp_profile *p, const char *key, const char *value)
{
	kp_str_t k = kp_strz(p, key), v = kp_strz(p, value);
	for (uint32_t i = 0; i < p->nmeta; i++)
		if (p->meta[i].key == k) {
			p->meta[i].value = v;
			return;
		}
	ALLOC_GROW(p->meta, p->nmeta + 1, p->meta_alloc);
	p->meta[p->nmeta].key = k;
	p->meta[p->nmeta].value = v;
	p->nmeta++;
}

const char *kp_meta_get(const struct kp_profile *p, const char *key)
{
	kp_str_t k = kp_str_find(p, key, strlen(key));
	if (!k)
		return NULL;
	for (uint32_t i = 0; i < p->nmeta; i++)
		if (p->meta[i].key == k)
			return kp_str_get(p, p->meta[i].value);
	return NULL;
}

double kp_total(const struct kp_profile *p, uint32_t v)
{
	double t = 0;
	if (v >= p->nvalues)
		return 0;
	for (size_t i = 0; i < p->nsamples; i++)
		t += p->sample_values[i * p->nvalues + v];
	return t;
}

void kp_stack_sums(const struct kp_profile *p, uint32_t v, const uint8_t *keep,
		   double **self_out, double **total_out)
{
	double *self = xcalloc(p->nstacks, sizeof(double));
	if (v < p->nvalues)
		for (size_t i = 0; i < p->nsamples; i++)
			if (!keep || keep[i])
				self[p->sample_stack[i]] += p->sample_values[i * p->nvalues + v];
	if (total_out) {
		double *total = xmalloc(p->nstacks * sizeof(double));
		memcpy(total, self, p->nstacks * sizeof(double));
		for (uint32_t s = p->nstacks - 1; s > 0; s--)
			total[p->stacks[s].parent] += total[s];
		*total_out = total;
	}
	if (self_out)
		*self_out = self;
	else
		free(self);
}

void kp_frame_folded_name(const struct kp_profile *p, kp_frame_t f, int annotate, struct strbuf *out)
{
	const struct kp_frame *fr = &p->frames[f];
	const char *name = kp_str_get(p, fr->name);
	size_t len = kp_str_len(p, fr->name), start = out->len;
	strbuf_add(out, name, len);
	for (size_t i = start; i < out->len; i++)
		if (out->buf[i] == ';')
			out->buf[i] = ':';
	const char *suffix = NULL;
	if (fr->flags & KP_FRAME_INLINE)
		suffix = "_[i]";
	else if ((annotate & (1 | KP_ANNOTATE_KERNEL)) && (fr->flags & KP_FRAME_KERNEL))
		suffix = "_[k]";
	else if ((annotate & (1 | KP_ANNOTATE_JIT)) && (fr->flags & KP_FRAME_JIT))
		suffix = "_[j]";
	/* names read from folded text keep their suffix: do not add it twice */
	if (suffix && !(len >= 4 && !memcmp(name + len - 4, suffix, 4)))
		strbuf_addstr(out, suffix);
}
