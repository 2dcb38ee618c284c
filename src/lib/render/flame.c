/* flame.c: flame graph options and the frame tree: stacks of one or two profiles merged
 * by frame text (flame_layout.c lays it out, flame_svg.c writes it as SVG). */
#include "render/flame_int.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---------------------------------------------------------------- options */

static const char *const palette_names[KF_NPALETTES] = {
	"hot", "mem", "io", "wakeup", "red", "green", "blue", "aqua", "yellow",
	"purple", "orange", "java", "js",
};

int kf_palette_parse(const char *name)
{
	for (int i = 0; i < KF_NPALETTES; i++)
		if (!strcmp(name, palette_names[i]))
			return i;
	return -1;
}

const char *kf_palette_name(enum kf_palette p)
{
	return (unsigned)p < KF_NPALETTES ? palette_names[p] : "hot";
}

void kf_opts_init(struct kf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->fontsize = 12;
	o->fontwidth = 0.59;
	o->width = 1200;
	o->frame_height = 16;
	o->minwidth = 0.1;
	o->max_size = 2u << 20;
	o->palette = KF_HOT;
}

/* ---------------------------------------------------------------- big arrays */

/* Allocates a large per-node array on transparent huge pages where the system allows
 * (madvise mode): faulting tens of MB in 4 KiB pages costs more than filling them.
 * Freed with free(). */
static void *big_alloc(size_t size)
{
	const size_t huge = 2u << 20;
	void *p;
	if (size < 4 * huge)
		return xmalloc(size ? size : 1);
	if (posix_memalign(&p, huge, size))
		return xmalloc(size);
	madvise(p, size & ~(huge - 1), MADV_HUGEPAGE);
	return p;
}

/* ---------------------------------------------------------------- small hash map */

/* Open addressing map from a 64-bit key (any but UINT64_MAX, 0 included) to a 64-bit value:
 * util/u64map.h keeps 32-bit values and takes key 0 for 1, which the sums below cannot. */
struct kv64 {
	uint64_t *keys;
	uint64_t *vals;
	size_t cap, used;
};

static inline size_t kv64_slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static void kv64_grow(struct kv64 *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	uint64_t *nk = xmalloc(ncap * sizeof(uint64_t));
	uint64_t *nv = xmalloc(ncap * sizeof(uint64_t));
	memset(nk, 0xff, ncap * sizeof(uint64_t));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == UINT64_MAX)
			continue;
		size_t j = kv64_slot(m->keys[i], ncap);
		while (nk[j] != UINT64_MAX)
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
}

/* Returns the value slot for k, inserting it (value 0) when absent; *fresh says which. */
static uint64_t *kv64_at(struct kv64 *m, uint64_t k, int *fresh)
{
	if ((m->used + 1) * 2 > m->cap)
		kv64_grow(m);
	size_t j = kv64_slot(k, m->cap);
	while (m->keys[j] != UINT64_MAX) {
		if (m->keys[j] == k) {
			*fresh = 0;
			return &m->vals[j];
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = k;
	m->vals[j] = 0;
	m->used++;
	*fresh = 1;
	return &m->vals[j];
}

static uint64_t *kv64_find(const struct kv64 *m, uint64_t k)
{
	if (!m->cap)
		return NULL;
	size_t j = kv64_slot(k, m->cap);
	while (m->keys[j] != UINT64_MAX) {
		if (m->keys[j] == k)
			return &m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

static void kv64_release(struct kv64 *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------- the tree */

struct kf_tree *kf_tree_new(const struct kf_opts *o, int nslots)
{
	struct kf_tree *t = xcalloc(1, sizeof(*t));
	t->nslots = nslots == 2 ? 2 : 1;
	t->reverse = o->reverse;
	t->chart = o->flamechart;
	kp_profile_init(&t->scratch);
	t->names = &t->scratch;
	t->node = t->scratch.stacks;
	t->n = 1;
	if (t->chart) {
		t->chart_alloc = 1024;
		t->chart_node = xcalloc(t->chart_alloc, sizeof(*t->chart_node));
		t->node = t->chart_node;
	}
	return t;
}

void kf_tree_free(struct kf_tree *t)
{
	if (!t)
		return;
	kp_profile_release(&t->scratch);
	free(t->chart_node);
	free(t->chart_path);
	for (int s = 0; s < 2; s++) {
		free(t->self[s]);
		free(t->total[s]);
	}
	free(t->start);
	free(t);
}

double kf_tree_total(const struct kf_tree *t, int slot)
{
	return slot >= 0 && slot < 2 ? t->sum[slot] : 0;
}

void kf_tree_name(const struct kf_tree *t, uint32_t key, struct strbuf *out)
{
	if (!key) {
		strbuf_addstr(out, "all");
		return;
	}
	kp_frame_folded_name(t->names, key, 1, out);
}

/* Makes room for values of nodes below n. */
static void tree_reserve(struct kf_tree *t, size_t n)
{
	if (n <= t->vals_alloc)
		return;
	size_t old = t->vals_alloc, a = old;
	ALLOC_GROW(t->self[0], n, a);
	for (int s = 0; s < t->nslots; s++) {
		if (s)
			t->self[s] = xreallocarray(t->self[s], a, sizeof(double));
		memset(t->self[s] + old, 0, (a - old) * sizeof(double));
	}
	if (t->chart) {
		t->start = xreallocarray(t->start, a, sizeof(double));
		memset(t->start + old, 0, (a - old) * sizeof(double));
	}
	t->vals_alloc = a;
}

static void tree_stale(struct kf_tree *t)
{
	for (int s = 0; s < 2; s++) {
		free(t->total[s]);
		t->total[s] = NULL;
	}
}

/* Frame of p -> frame of the tree's name table, by display text and flags. */
struct frame_map {
	const struct kp_profile *p;
	kp_frame_t *map; /* p frame -> scratch frame, 0: not mapped yet */
	kp_frame_t *root; /* p thread -> scratch root frame (0: none) */
	struct strbuf sb;
};

#define KF_FLAG_MASK (KP_FRAME_KERNEL | KP_FRAME_INLINE | KP_FRAME_JIT | KP_FRAME_OFFCPU | KP_FRAME_ROOT | KP_FRAME_PY)

static void frame_map_init(struct frame_map *m, struct kf_tree *t, const struct kp_profile *p)
{
	m->p = p;
	m->map = xcalloc(p->nframes ? p->nframes : 1, sizeof(kp_frame_t));
	m->root = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(kp_frame_t));
	strbuf_init(&m->sb, 64);
	for (uint32_t th = 1; th < p->nthreads; th++) {
		if (!p->threads[th].comm)
			continue;
		strbuf_reset(&m->sb);
		strbuf_addstr(&m->sb, kp_str_get(p, p->threads[th].comm));
		for (size_t i = 0; i < m->sb.len; i++)
			if (m->sb.buf[i] == ' ' || m->sb.buf[i] == ';')
				m->sb.buf[i] = m->sb.buf[i] == ' ' ? '_' : ':';
		m->root[th] = kp_frame_named(&t->scratch, m->sb.buf, m->sb.len, KP_FRAME_ROOT);
	}
}

static kp_frame_t frame_map_get(struct frame_map *m, struct kf_tree *t, kp_frame_t f)
{
	if (!m->map[f]) {
		strbuf_reset(&m->sb);
		kp_frame_folded_name(m->p, f, 1, &m->sb);
		m->map[f] = kp_frame_named(&t->scratch, m->sb.buf, m->sb.len,
					   m->p->frames[f].flags & KF_FLAG_MASK);
	}
	return m->map[f];
}

static void frame_map_release(struct frame_map *m)
{
	free(m->map);
	free(m->root);
	strbuf_release(&m->sb);
}

/* 1 when p's own trie can serve as the tree: no thread roots, distinct display names. */
static int can_borrow(const struct kp_profile *p)
{
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->sample_thread[i] && p->sample_thread[i] < p->nthreads &&
		    p->threads[p->sample_thread[i]].comm)
			return 0;
	struct kp_profile seen;
	struct strbuf sb = STRBUF_INIT;
	int ok = 1;
	kp_profile_init(&seen);
	/* frames that print alike (a kernel and a user "foo" print apart) would merge */
	for (kp_frame_t f = 1; f < p->nframes && ok; f++) {
		strbuf_reset(&sb);
		kp_frame_folded_name(p, f, 1, &sb);
		uint32_t before = seen.strings.nr;
		kp_str(&seen, sb.buf, sb.len);
		if (seen.strings.nr == before)
			ok = 0;
	}
	kp_profile_release(&seen);
	strbuf_release(&sb);
	return ok;
}

static void add_borrowed(struct kf_tree *t, const struct kp_profile *p, uint32_t v, double scale)
{
	t->borrowed = 1;
	t->names = p;
	t->node = p->stacks;
	t->n = p->nstacks;
	t->src = p;
	t->src_v = v;
	t->src_scale = scale;
	for (size_t i = 0; i < p->nsamples; i++)
		t->sum[0] += kf_sample_value(p, i, v, scale);
}

/* Merged tree, stacks root first, when no sample has a root frame: the source trie maps
 * node by node (parents first), no memo needed. */
static void add_trie_plain(struct kf_tree *t, struct frame_map *m, uint32_t v, int slot, double scale)
{
	const struct kp_profile *p = m->p;
	struct kp_profile *sp = &t->scratch;
	kp_stack_t *map = big_alloc((p->nstacks ? p->nstacks : 1) * sizeof(kp_stack_t));
	map[0] = 0;
	for (kp_stack_t s = 1; s < p->nstacks; s++)
		map[s] = kp_stack_push(sp, map[p->stacks[s].parent], frame_map_get(m, t, p->stacks[s].frame));
	tree_reserve(t, sp->nstacks);
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = kf_sample_value(p, i, v, scale);
		t->self[slot][map[p->sample_stack[i]]] += x;
		t->sum[slot] += x;
	}
	free(map);
	t->node = sp->stacks;
	t->n = sp->nstacks;
}

/* Merged tree, stacks root first: node of (root frame, stack) is memoised. */
static void add_trie(struct kf_tree *t, struct frame_map *m, uint32_t v, int slot, double scale)
{
	const struct kp_profile *p = m->p;
	struct kp_profile *sp = &t->scratch;
	int roots = 0;
	for (size_t i = 0; i < p->nsamples && !roots; i++)
		roots = p->sample_thread[i] < p->nthreads && m->root[p->sample_thread[i]];
	if (!roots) {
		add_trie_plain(t, m, v, slot, scale);
		return;
	}
	struct kv64 memo = { 0 };
	kp_stack_t *chain = NULL;
	size_t chain_alloc = 0;
	uint64_t last_key = UINT64_MAX;
	kp_stack_t last_node = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = kf_sample_value(p, i, v, scale);
		if (x == 0)
			continue;
		uint32_t th = p->sample_thread[i] < p->nthreads ? p->sample_thread[i] : 0;
		kp_frame_t r = m->root[th];
		kp_stack_t s = p->sample_stack[i];
		uint64_t key = ((uint64_t)r << 32) | s;
		kp_stack_t node;
		if (key == last_key) {
			node = last_node;
		} else {
			uint64_t *known = kv64_find(&memo, key);
			if (known) {
				node = (kp_stack_t)*known;
			} else {
				/* walk up to a known node (or the root), then intern the way down */
				size_t n = 0;
				kp_stack_t a = s;
				node = 0;
				for (;;) {
					if (!a) {
						node = r ? kp_stack_push(sp, 0, r) : 0;
						break;
					}
					known = kv64_find(&memo, ((uint64_t)r << 32) | a);
					if (known) {
						node = (kp_stack_t)*known;
						break;
					}
					ALLOC_GROW(chain, n + 1, chain_alloc);
					chain[n++] = a;
					a = p->stacks[a].parent;
				}
				while (n--) {
					int fresh;
					node = kp_stack_push(sp, node, frame_map_get(m, t, p->stacks[chain[n]].frame));
					*kv64_at(&memo, ((uint64_t)r << 32) | chain[n], &fresh) = node;
				}
			}
			last_key = key;
			last_node = node;
		}
		tree_reserve(t, sp->nstacks);
		t->self[slot][node] += x;
		t->sum[slot] += x;
	}
	t->node = sp->stacks;
	t->n = sp->nstacks;
	tree_reserve(t, t->n);
	free(chain);
	kv64_release(&memo);
}

/* Merged tree of reversed stacks (leaf first, then the root frame). */
static void add_reversed(struct kf_tree *t, struct frame_map *m, uint32_t v, int slot, double scale)
{
	const struct kp_profile *p = m->p;
	struct kp_profile *sp = &t->scratch;
	struct kv64 sums = { 0 };
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = kf_sample_value(p, i, v, scale);
		if (x == 0)
			continue;
		uint32_t th = p->sample_thread[i] < p->nthreads ? p->sample_thread[i] : 0;
		int fresh;
		uint64_t *val = kv64_at(&sums, ((uint64_t)m->root[th] << 32) | p->sample_stack[i], &fresh);
		double d;
		memcpy(&d, val, sizeof(d));
		if (fresh)
			d = 0;
		d += x;
		memcpy(val, &d, sizeof(d));
	}
	for (size_t j = 0; j < sums.cap; j++) {
		if (sums.keys[j] == UINT64_MAX)
			continue;
		double x;
		memcpy(&x, &sums.vals[j], sizeof(x));
		kp_frame_t r = (kp_frame_t)(sums.keys[j] >> 32);
		kp_stack_t node = 0;
		for (kp_stack_t a = (kp_stack_t)sums.keys[j]; a; a = p->stacks[a].parent)
			node = kp_stack_push(sp, node, frame_map_get(m, t, p->stacks[a].frame));
		if (r)
			node = kp_stack_push(sp, node, r);
		tree_reserve(t, sp->nstacks);
		t->self[slot][node] += x;
		t->sum[slot] += x;
	}
	t->node = sp->stacks;
	t->n = sp->nstacks;
	tree_reserve(t, t->n);
	kv64_release(&sums);
}

/* Flame chart: samples in input order; a frame continues while consecutive samples
 * share the path to it. */
static void add_chart(struct kf_tree *t, struct frame_map *m, uint32_t v, double scale)
{
	const struct kp_profile *p = m->p;
	kp_frame_t *path = NULL;
	size_t path_alloc = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = kf_sample_value(p, i, v, scale);
		if (x == 0)
			continue;
		uint32_t th = p->sample_thread[i] < p->nthreads ? p->sample_thread[i] : 0;
		kp_frame_t r = m->root[th];
		kp_stack_t s = p->sample_stack[i];
		uint32_t depth = kp_stack_depth(p, s);
		size_t n = depth + (r ? 1 : 0);
		ALLOC_GROW(path, n + 1, path_alloc);
		/* root first: r, then the stack's frames */
		size_t k = n;
		for (kp_stack_t a = s; a; a = p->stacks[a].parent)
			path[--k] = frame_map_get(m, t, p->stacks[a].frame);
		if (r)
			path[0] = r;
		if (t->reverse)
			for (size_t a = 0, b = n ? n - 1 : 0; a < b; a++, b--) {
				kp_frame_t tmp = path[a];
				path[a] = path[b];
				path[b] = tmp;
			}
		/* follow the previous sample's path while it matches */
		ALLOC_GROW(t->chart_path, n + 1, t->chart_path_alloc);
		kp_stack_t node = 0;
		size_t d = 0;
		while (d < n && d < t->chart_depth && t->chart_node[t->chart_path[d]].frame == path[d]) {
			node = t->chart_path[d];
			d++;
		}
		for (; d < n; d++) {
			if (t->n == t->chart_alloc) {
				ALLOC_GROW(t->chart_node, t->n + 1, t->chart_alloc);
				t->node = t->chart_node;
			}
			kp_stack_t id = t->n++;
			t->chart_node[id].parent = node;
			t->chart_node[id].frame = path[d];
			tree_reserve(t, t->n);
			t->start[id] = t->chart_time;
			t->chart_path[d] = id;
			node = id;
		}
		t->chart_depth = n;
		tree_reserve(t, t->n);
		t->self[0][node] += x;
		t->sum[0] += x;
		t->chart_time += x;
	}
	t->node = t->chart_node;
	free(path);
}

void kf_tree_add(struct kf_tree *t, const struct kp_profile *p, uint32_t v, int slot, double scale)
{
	struct frame_map m;
	if (slot < 0 || slot >= t->nslots || v >= p->nvalues)
		return;
	tree_stale(t);
	if (t->borrowed)
		return; /* a borrowed tree takes one profile (kf_tree_new with nslots 1) */
	if (t->nslots == 1 && !t->chart && !t->reverse && t->n == 1 && t->scratch.nframes == 1 &&
	    can_borrow(p)) {
		add_borrowed(t, p, v, scale);
		return;
	}
	frame_map_init(&m, t, p);
	if (t->chart)
		add_chart(t, &m, v, scale);
	else if (t->reverse)
		add_reversed(t, &m, v, slot, scale);
	else
		add_trie(t, &m, v, slot, scale);
	frame_map_release(&m);
}

const double *kf_tree_totals(struct kf_tree *t, int slot)
{
	if (t->total[slot])
		return t->total[slot];
	double *tot;
	if (t->borrowed) {
		/* written before read: a page read first would fault twice */
		tot = big_alloc((t->n ? t->n : 1) * sizeof(double));
		memset(tot, 0, (t->n ? t->n : 1) * sizeof(double));
		for (size_t i = 0; i < t->src->nsamples; i++)
			tot[t->src->sample_stack[i]] += kf_sample_value(t->src, i, t->src_v, t->src_scale);
	} else {
		tot = xcalloc(t->n ? t->n : 1, sizeof(double));
		if (t->self[slot]) /* NULL when nothing was added */
			memcpy(tot, t->self[slot], t->n * sizeof(double));
	}
	for (uint32_t i = t->n - 1; i > 0; i--)
		tot[t->node[i].parent] += tot[i];
	t->total[slot] = tot;
	return tot;
}
