/* flame.c: merging stacks into a frame tree, laying it out, and writing it as an
 * interactive SVG (flame graph, icicle graph, flame chart, differential flame graph). */
#include "render/flame.h"
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

/* Open addressing map from a 64-bit key (never UINT64_MAX) to a 64-bit value. */
struct u64map {
	uint64_t *keys;
	uint64_t *vals;
	size_t cap, used;
};

static inline size_t u64map_slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static void u64map_grow(struct u64map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	uint64_t *nk = xmalloc(ncap * sizeof(uint64_t));
	uint64_t *nv = xmalloc(ncap * sizeof(uint64_t));
	memset(nk, 0xff, ncap * sizeof(uint64_t));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == UINT64_MAX)
			continue;
		size_t j = u64map_slot(m->keys[i], ncap);
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
static uint64_t *u64map_at(struct u64map *m, uint64_t k, int *fresh)
{
	if ((m->used + 1) * 2 > m->cap)
		u64map_grow(m);
	size_t j = u64map_slot(k, m->cap);
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

static uint64_t *u64map_find(const struct u64map *m, uint64_t k)
{
	if (!m->cap)
		return NULL;
	size_t j = u64map_slot(k, m->cap);
	while (m->keys[j] != UINT64_MAX) {
		if (m->keys[j] == k)
			return &m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

static void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------- the tree */

/* Nodes are (parent, key) pairs with parent < id; node 0 is the root ("all"). Keys are
 * frame ids of `names`, whose display text is the frame's folded name. The tree is
 * either a stack trie (merged: children are unique by key) held by `scratch`, or, for a
 * flame chart, a plain node list where a frame continues only while consecutive samples
 * share it. A single-slot tree of a profile whose frames have distinct names and no
 * thread roots borrows the profile's own trie: nothing to copy. */
struct kf_tree {
	int nslots, reverse, chart;
	const struct kp_profile *names;
	struct kp_profile scratch;
	int borrowed;                 /* node/names point into a caller's profile */
	const struct kp_stack_node *node;
	uint32_t n;
	struct kp_stack_node *chart_node; /* flame chart nodes */
	size_t chart_alloc;
	kp_stack_t *chart_path;       /* the previous sample's path (chart) */
	size_t chart_depth, chart_path_alloc;
	double chart_time;
	double *self[2];
	double *start;                /* chart: where each node starts */
	size_t vals_alloc;
	double *total[2];             /* computed on demand; NULL when stale */
	double sum[2];
	/* a borrowed tree keeps no per-node self values: they come from the samples */
	const struct kp_profile *src;
	uint32_t src_v;
	double src_scale;
};

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

static inline double sample_value(const struct kp_profile *p, size_t i, uint32_t v, double scale)
{
	double x = p->sample_values[i * p->nvalues + v] * scale;
	return isfinite(x) && x > 0 ? x : 0;
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
		t->sum[0] += sample_value(p, i, v, scale);
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
		double x = sample_value(p, i, v, scale);
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
	struct u64map memo = { 0 };
	kp_stack_t *chain = NULL;
	size_t chain_alloc = 0;
	uint64_t last_key = UINT64_MAX;
	kp_stack_t last_node = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = sample_value(p, i, v, scale);
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
			uint64_t *known = u64map_find(&memo, key);
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
					known = u64map_find(&memo, ((uint64_t)r << 32) | a);
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
					*u64map_at(&memo, ((uint64_t)r << 32) | chain[n], &fresh) = node;
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
	u64map_release(&memo);
}

/* Merged tree of reversed stacks (leaf first, then the root frame). */
static void add_reversed(struct kf_tree *t, struct frame_map *m, uint32_t v, int slot, double scale)
{
	const struct kp_profile *p = m->p;
	struct kp_profile *sp = &t->scratch;
	struct u64map sums = { 0 };
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = sample_value(p, i, v, scale);
		if (x == 0)
			continue;
		uint32_t th = p->sample_thread[i] < p->nthreads ? p->sample_thread[i] : 0;
		int fresh;
		uint64_t *val = u64map_at(&sums, ((uint64_t)m->root[th] << 32) | p->sample_stack[i], &fresh);
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
	u64map_release(&sums);
}

/* Flame chart: samples in input order; a frame continues while consecutive samples
 * share the path to it. */
static void add_chart(struct kf_tree *t, struct frame_map *m, uint32_t v, double scale)
{
	const struct kp_profile *p = m->p;
	kp_frame_t *path = NULL;
	size_t path_alloc = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = sample_value(p, i, v, scale);
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

/* Inclusive totals per node for a slot (cached until the next add). */
static const double *tree_totals(struct kf_tree *t, int slot)
{
	if (t->total[slot])
		return t->total[slot];
	double *tot;
	if (t->borrowed) {
		/* written before read: a page read first would fault twice */
		tot = big_alloc((t->n ? t->n : 1) * sizeof(double));
		memset(tot, 0, (t->n ? t->n : 1) * sizeof(double));
		for (size_t i = 0; i < t->src->nsamples; i++)
			tot[t->src->sample_stack[i]] += sample_value(t->src, i, t->src_v, t->src_scale);
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

/* ---------------------------------------------------------------- layout */

#define TITLE_MAX 4096 /* bytes of a name shown in a tooltip */

struct cand {
	uint32_t node, parent, depth;
};

/* What cmp_keep compares: candidates' widths (tot by node) and depths. */
struct keep_order {
	const double *width;
	const struct cand *cand;
};

/* Widest first; among equals the shallower, then the earlier: a prefix of this order
 * always holds a frame's parent with the frame. */
static int cmp_keep(const void *a, const void *b, void *arg)
{
	const struct keep_order *ko = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	double wx = ko->width[ko->cand[x].node], wy = ko->width[ko->cand[y].node];
	if (wx != wy)
		return wx > wy ? -1 : 1;
	if (ko->cand[x].depth != ko->cand[y].depth)
		return ko->cand[x].depth < ko->cand[y].depth ? -1 : 1;
	return (x > y) - (x < y);
}

struct key_name {
	uint32_t key;
	char *text;
	size_t len;
};

static int cmp_key_name(const void *a, const void *b)
{
	const struct key_name *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->text, y->text, n);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

/* What cmp_child compares: boxes by the name rank of their keys. */
struct child_order {
	const uint32_t *rank;
	const struct kf_box *boxes;
};

static int cmp_child(const void *a, const void *b, void *arg)
{
	const struct child_order *co = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t rx = co->rank[co->boxes[x].key], ry = co->rank[co->boxes[y].key];
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return (x > y) - (x < y);
}

void kf_layout_release(struct kf_layout *l)
{
	free(l->boxes);
	memset(l, 0, sizeof(*l));
}

/* Moves the k first (in cmp_keep order) of idx[0..n) to the front, in order. */
static void select_first(uint32_t *idx, size_t n, size_t k, struct keep_order *ko)
{
	size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
	while (hi - lo > 16 && lo < k && k < hi) {
		/* median of three as pivot, then a three-way partition */
		uint32_t a = idx[lo], b = idx[lo + (hi - lo) / 2], c = idx[hi - 1], pv;
		if (cmp_keep(&a, &b, ko) > 0) { uint32_t t = a; a = b; b = t; }
		if (cmp_keep(&b, &c, ko) > 0) { uint32_t t = b; b = c; c = t; }
		if (cmp_keep(&a, &b, ko) > 0) { uint32_t t = a; a = b; b = t; }
		pv = b;
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			int r = cmp_keep(&idx[i], &pv, ko);
			if (r < 0) {
				uint32_t t = idx[lt]; idx[lt++] = idx[i]; idx[i++] = t;
			} else if (r > 0) {
				uint32_t t = idx[--gt]; idx[gt] = idx[i]; idx[i] = t;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			break;
	}
	size_t m = k < n ? k : n;
	qsort_r(idx, m, sizeof(uint32_t), cmp_keep, ko);
}

/* Bytes a frame takes in the SVG, roughly (kf_render_svg corrects a short estimate). */
static size_t frame_cost(const struct kf_tree *t, const struct kf_opts *o, uint32_t key, double px_w)
{
	size_t n = key ? kp_str_len(t->names, t->names->frames[key].name) + 4 : 3;
	if (n > TITLE_MAX + 3)
		n = TITLE_MAX + 3;
	size_t cost = 120 + n + (o->countname ? strlen(o->countname) : 7) + (o->diff ? 60 : 0);
	double fit = floor((px_w - 3) / (o->fontsize * o->fontwidth));
	if (fit >= 3)
		cost += 40 + ((double)n < fit ? n : (size_t)fit);
	return cost;
}

/* Lays out frames at least minwidth wide; then, when keep_max or budget (bytes, by
 * frame_cost) would be exceeded, only the widest that fit. */
static int layout(struct kf_tree *t, const struct kf_opts *o, size_t keep_max, size_t budget,
		  struct kf_layout *l)
{
	memset(l, 0, sizeof(*l));
	const double *tot = tree_totals(t, 0);
	const double *tot1 = t->nslots > 1 ? tree_totals(t, 1) : NULL;
	double total = tot[0];
	if (!(total > 0))
		return kiln_error("nothing to draw: no sample has a positive value");
	double usable = o->width - 20.0;
	if (usable < 1)
		usable = 1;
	double minc = o->minwidth_percent ? total * o->minwidth / 100.0 : o->minwidth * total / usable;

	/* candidates: frames at least minwidth wide whose parent is one */
	struct cand *c = NULL;
	size_t nc = 0, c_alloc = 0;
	ALLOC_GROW(c, 1, c_alloc);
	c[0].node = 0;
	c[0].parent = 0;
	c[0].depth = 0;
	nc = 1;
	size_t cost = budget ? frame_cost(t, o, 0, usable) : 0;
	/* which nodes are candidates: a bitmap; as candidates are numbered in node order, a
	 * candidate's index is its rank in the bitmap (count per word + popcount). A full
	 * index array would be tens of MB for a big profile. */
	size_t nwords = t->n / 64 + 1;
	uint64_t *isc = xcalloc(nwords, sizeof(uint64_t));
	uint32_t *before = xmalloc(nwords * sizeof(uint32_t)); /* candidates in earlier words */
	isc[0] = 1;
	before[0] = 0;
	for (uint32_t i = 1; i < t->n; i++) {
		if (!(i & 63))
			before[i >> 6] = (uint32_t)nc;
		uint32_t par = t->node[i].parent;
		uint64_t word = isc[par >> 6];
		if (!(word >> (par & 63) & 1) || !(tot[i] > 0) || tot[i] < minc)
			continue;
		uint32_t pc = before[par >> 6] + (uint32_t)__builtin_popcountll(word & ((1ull << (par & 63)) - 1));
		ALLOC_GROW(c, nc + 1, c_alloc);
		c[nc].node = i;
		c[nc].parent = pc;
		c[nc].depth = c[pc].depth + 1;
		isc[i >> 6] |= 1ull << (i & 63);
		nc++;
		if (budget && cost <= budget)
			cost += frame_cost(t, o, t->node[i].frame, tot[i] * usable / total);
	}
	l->candidates = nc;

	/* keep the widest (a prefix of cmp_keep's order is closed under parents) */
	uint32_t *newidx = NULL;
	size_t nb = nc;
	if ((keep_max && nc > keep_max) || (budget && cost > budget)) {
		size_t want = keep_max && keep_max < nc ? keep_max : nc;
		if (budget) {
			/* no frame costs less than 120 bytes: the rest cannot fit */
			size_t most = budget / 120 + 1;
			if (most < want)
				want = most;
		}
		uint32_t *order = xmalloc(nc * sizeof(uint32_t));
		for (size_t i = 0; i < nc; i++)
			order[i] = (uint32_t)i;
		struct keep_order ko = { tot, c };
		select_first(order, nc, want, &ko);
		size_t keep = want;
		if (budget) {
			size_t used = 0;
			keep = 0;
			while (keep < want) {
				size_t fc = frame_cost(t, o, t->node[c[order[keep]].node].frame,
						       tot[c[order[keep]].node] * usable / total);
				if (keep && used + fc > budget)
					break;
				used += fc;
				keep++;
			}
		}
		newidx = xmalloc(nc * sizeof(uint32_t));
		for (size_t i = 0; i < nc; i++)
			newidx[i] = UINT32_MAX;
		for (size_t i = 0; i < keep; i++)
			newidx[order[i]] = 0;
		nb = 0;
		for (size_t i = 0; i < nc; i++)
			if (newidx[i] == 0)
				newidx[i] = (uint32_t)nb++;
		free(order);
		l->dropped_for_size = nc - nb;
	}

	struct kf_box *b = xcalloc(nb, sizeof(*b));
	size_t k = 0;
	for (size_t i = 0; i < nc; i++) {
		if (newidx && newidx[i] == UINT32_MAX)
			continue;
		uint32_t node = c[i].node;
		b[k].node = node;
		b[k].parent = newidx ? newidx[c[i].parent] : c[i].parent;
		b[k].depth = c[i].depth;
		b[k].key = t->node[node].frame;
		b[k].flags = b[k].key ? t->names->frames[b[k].key].flags : 0;
		b[k].w = tot[node];
		b[k].self = t->self[0] ? t->self[0][node] : 0;
		if (tot1) {
			b[k].w_before = tot1[node];
			b[k].self_before = t->self[1][node];
		}
		if (b[k].depth > l->max_depth)
			l->max_depth = b[k].depth;
		k++;
	}
	if (t->borrowed) {
		/* self values of the drawn frames, from the samples */
		for (size_t i = 0; i < t->src->nsamples; i++) {
			uint32_t node = t->src->sample_stack[i];
			uint64_t word = isc[node >> 6];
			if (!(word >> (node & 63) & 1))
				continue;
			uint32_t ci = before[node >> 6] + (uint32_t)__builtin_popcountll(word & ((1ull << (node & 63)) - 1));
			uint32_t bi = newidx ? newidx[ci] : ci;
			if (bi != UINT32_MAX)
				b[bi].self += sample_value(t->src, i, t->src_v, t->src_scale);
		}
	}
	free(isc);
	free(before);
	free(newidx);
	free(c);

	/* children of each box, in name order (flame chart: input order) */
	uint32_t *first = xcalloc(nb + 1, sizeof(uint32_t));
	uint32_t *kids = xmalloc((nb ? nb : 1) * sizeof(uint32_t));
	for (size_t i = 1; i < nb; i++)
		first[b[i].parent + 1]++;
	for (size_t i = 0; i < nb; i++)
		first[i + 1] += first[i];
	uint32_t *fill = xmalloc((nb + 1) * sizeof(uint32_t));
	memcpy(fill, first, (nb + 1) * sizeof(uint32_t));
	for (size_t i = 1; i < nb; i++)
		kids[fill[b[i].parent]++] = (uint32_t)i;
	free(fill);
	uint32_t *rank = NULL;
	if (!t->chart) {
		uint32_t nkeys = t->names->nframes;
		rank = xcalloc(nkeys ? nkeys : 1, sizeof(uint32_t));
		struct key_name *kn = NULL;
		size_t nkn = 0, kn_alloc = 0;
		struct strbuf sb = STRBUF_INIT;
		for (size_t i = 1; i < nb; i++) {
			uint32_t key = b[i].key;
			if (rank[key])
				continue;
			rank[key] = 1;
			strbuf_reset(&sb);
			kf_tree_name(t, key, &sb);
			ALLOC_GROW(kn, nkn + 1, kn_alloc);
			kn[nkn].key = key;
			kn[nkn].len = sb.len;
			kn[nkn].text = strbuf_detach(&sb, NULL);
			nkn++;
		}
		qsort(kn, nkn, sizeof(*kn), cmp_key_name);
		for (size_t i = 0; i < nkn; i++) {
			rank[kn[i].key] = (uint32_t)i;
			free(kn[i].text);
		}
		free(kn);
		strbuf_release(&sb);
		struct child_order co = { rank, b };
		for (size_t i = 0; i < nb; i++)
			if (first[i + 1] - first[i] > 1)
				qsort_r(kids + first[i], first[i + 1] - first[i], sizeof(uint32_t), cmp_child, &co);
	}
	/* positions: children packed from their parent's left edge (what is not drawn,
	 * the parent's own value and narrow children, is the gap on the right); flame
	 * chart frames start where their first sample is */
	b[0].x = 0;
	for (size_t i = 0; i < nb; i++) {
		double x = b[i].x;
		for (uint32_t j = first[i]; j < first[i + 1]; j++) {
			struct kf_box *ch = &b[kids[j]];
			ch->x = t->chart ? t->start[ch->node] : x;
			x += ch->w;
		}
	}
	/* boxes in depth-first order (the SVG's order: the viewer rebuilds the tree from it) */
	struct kf_box *dfs = xmalloc((nb ? nb : 1) * sizeof(*dfs));
	uint32_t *where = xmalloc((nb ? nb : 1) * sizeof(uint32_t));
	uint32_t *stack = xmalloc((nb ? nb : 1) * sizeof(uint32_t));
	uint32_t *next = xmalloc((nb ? nb : 1) * sizeof(uint32_t));
	size_t sp = 0, out = 0;
	stack[sp] = 0;
	next[sp++] = first[0];
	where[0] = 0;
	dfs[out++] = b[0];
	while (sp) {
		uint32_t top = stack[sp - 1];
		if (next[sp - 1] == first[top + 1]) {
			sp--;
			continue;
		}
		uint32_t ch = kids[next[sp - 1]++];
		where[ch] = (uint32_t)out;
		dfs[out] = b[ch];
		dfs[out].parent = where[b[ch].parent];
		out++;
		stack[sp] = ch;
		next[sp++] = first[ch];
	}
	free(stack);
	free(next);
	free(where);
	free(b);
	free(first);
	free(kids);
	free(rank);
	l->boxes = dfs;
	l->nboxes = (uint32_t)out;
	l->total = total;
	l->total_before = tot1 ? tot1[0] : 0;
	return 0;
}

int kf_layout_build(struct kf_tree *t, const struct kf_opts *o, size_t keep_max, struct kf_layout *l)
{
	return layout(t, o, keep_max, 0, l);
}

/* ---------------------------------------------------------------- colours */

static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return h;
}

static inline uint32_t rgb(double r, double g, double b)
{
	uint32_t R = r < 0 ? 0 : r > 255 ? 255 : (uint32_t)r;
	uint32_t G = g < 0 ? 0 : g > 255 ? 255 : (uint32_t)g;
	uint32_t B = b < 0 ? 0 : b > 255 ? 255 : (uint32_t)b;
	return (R << 16) | (G << 8) | B;
}

/* A shade of one of the single-hue palettes; v1..v3 in [0, 1). */
static uint32_t hue(enum kf_palette p, double v1, double v2, double v3)
{
	switch (p) {
	case KF_HOT:
		return rgb(205 + 50 * v3, 230 * v1, 55 * v2);
	case KF_MEM:
		return rgb(0, 190 + 50 * v2, 210 * v1);
	case KF_IO:
		return rgb(80 + 60 * v1, 80 + 60 * v1, 190 + 55 * v2);
	case KF_RED:
		return rgb(200 + 55 * v1, 50 + 80 * v1, 50 + 80 * v1);
	case KF_GREEN:
		return rgb(50 + 60 * v1, 200 + 55 * v1, 50 + 60 * v1);
	case KF_BLUE:
		return rgb(80 + 60 * v1, 80 + 60 * v1, 205 + 50 * v1);
	case KF_AQUA:
	case KF_WAKEUP:
		return rgb(50 + 60 * v1, 165 + 55 * v1, 165 + 55 * v1);
	case KF_YELLOW:
		return rgb(175 + 55 * v1, 175 + 55 * v1, 50 + 20 * v1);
	case KF_PURPLE:
		return rgb(190 + 65 * v1, 80 + 60 * v1, 190 + 65 * v1);
	case KF_ORANGE:
		return rgb(190 + 65 * v1, 90 + 65 * v1, 0);
	default:
		return rgb(205 + 50 * v3, 230 * v1, 55 * v2);
	}
}

static int has_sub(const char *s, size_t len, const char *sub)
{
	size_t n = strlen(sub);
	if (n > len)
		return 0;
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(s + i, sub, n))
			return 1;
	return 0;
}

static int ends_with(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len >= n && !memcmp(s + len - n, suf, n);
}

/* Language palettes: the hue tells the kind of code. */
static enum kf_palette java_kind(const char *s, size_t len, uint32_t flags)
{
	if ((flags & KP_FRAME_KERNEL) || ends_with(s, len, "_[k]"))
		return KF_ORANGE;
	if ((flags & KP_FRAME_INLINE) || ends_with(s, len, "_[i]"))
		return KF_AQUA;
	if ((flags & KP_FRAME_JIT) || ends_with(s, len, "_[j]"))
		return KF_GREEN;
	/* Java methods carry their package path: java/util/HashMap.get, Lcom/x/Y;::m */
	if (memchr(s, '/', len))
		return KF_GREEN;
	if (has_sub(s, len, "::"))
		return KF_YELLOW;
	return KF_RED;
}

static enum kf_palette js_kind(const char *s, size_t len, uint32_t flags)
{
	if ((flags & KP_FRAME_KERNEL) || ends_with(s, len, "_[k]"))
		return KF_ORANGE;
	if ((flags & KP_FRAME_JIT) || ends_with(s, len, "_[j]"))
		return KF_GREEN;
	if ((flags & KP_FRAME_INLINE) || ends_with(s, len, "_[i]"))
		return KF_AQUA;
	if (has_sub(s, len, "::"))
		return KF_YELLOW;
	/* JavaScript functions name their script: "render /app/main.js:12", "LazyCompile:*f" */
	if (memchr(s, '/', len) || has_sub(s, len, ".js"))
		return KF_GREEN;
	if (memchr(s, ':', len))
		return KF_AQUA; /* V8 builtins and stubs: "Builtin:", "Stub:" */
	if (!len || (len == 1 && s[0] == ' '))
		return KF_GREEN;
	return KF_RED;
}

int kf_is_python_name(const char *s, size_t len)
{
	/* "QUALNAME (FILE:FIRSTLINE)", FILE a .py file or a pseudo-file such as
	 * <frozen importlib._bootstrap> or <string> */
	size_t i = len, colon, open;
	if (len < 6 || s[len - 1] != ')')
		return 0;
	i = len - 1;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == len - 1 || i < 2 || s[i - 1] != ':')
		return 0;
	colon = i - 1;
	for (open = colon; open > 1 && !(s[open - 1] == '(' && s[open - 2] == ' '); open--)
		;
	if (open <= 1)
		return 0;
	return ends_with(s + open, colon - open, ".py") || (colon > open && s[open] == '<' && s[colon - 1] == '>');
}

uint32_t kf_color(const struct kf_opts *o, const char *name, size_t len, uint32_t flags, uint64_t seed)
{
	uint64_t h = hash_name(name, len);
	if (!o->hash)
		h = (h ^ seed) * 0x9e3779b97f4a7c15ull, h ^= h >> 32;
	double v1 = (double)(h & 0xffff) / 65536.0;
	double v2 = (double)((h >> 16) & 0xffff) / 65536.0;
	double v3 = (double)((h >> 32) & 0xffff) / 65536.0;
	if (flags & KP_FRAME_OFFCPU)
		return rgb(60 + 40 * v1, 90 + 50 * v1, 200 + 55 * v2); /* off the CPU: blue */
	/* Python frames are blue-green and JIT frames green in every palette: one look
	 * tells the interpreter's code from the native code around it */
	if ((flags & KP_FRAME_PY) || kf_is_python_name(name, len)) {
		/* Python's two colours: its blue, or its yellow among the bluish palettes
		 * (mem: heap flame graphs, io, wakeup, blue, aqua) */
		if (o->palette == KF_MEM || o->palette == KF_IO || o->palette == KF_WAKEUP || o->palette == KF_BLUE ||
		    o->palette == KF_AQUA)
			return rgb(225 + 30 * v1, 185 + 40 * v1, 30 + 50 * v2);
		return rgb(40 + 40 * v1, 110 + 45 * v1, 175 + 50 * v2);
	}
	if ((flags & KP_FRAME_JIT) || ends_with(name, len, "_[j]"))
		return hue(KF_GREEN, v1, v2, v3);
	enum kf_palette p = o->palette;
	if (p == KF_JAVA)
		p = java_kind(name, len, flags);
	else if (p == KF_JS)
		p = js_kind(name, len, flags);
	return hue(p, v1, v2, v3);
}

uint32_t kf_diff_color(double delta, double max)
{
	double s = max > 0 ? fabs(delta) / max : 0;
	if (s > 1)
		s = 1;
	if (delta == 0 || s == 0)
		return rgb(255, 255, 255);
	/* any change shows (at least a light tint); the square root lifts small ones */
	int fade = (int)lround(225 * (1 - sqrt(s)));
	return delta > 0 ? rgb(255, fade, fade) : rgb(fade, fade, 255);
}

/* ---------------------------------------------------------------- numbers */

static void add_grouped(struct strbuf *out, unsigned long long v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%llu", v);
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			strbuf_addch(out, ',');
		strbuf_addch(out, digits[i]);
	}
}

void kf_format_count(double v, struct strbuf *out)
{
	if (!isfinite(v)) {
		strbuf_addstr(out, "0");
		return;
	}
	if (v < 0) {
		strbuf_addch(out, '-');
		v = -v;
	}
	if (v >= 1e15) {
		strbuf_addf(out, "%.6g", v);
		return;
	}
	if (v > 0 && v < 0.001) {
		strbuf_addf(out, "%.3g", v);
		return;
	}
	double ip = floor(v);
	double frac = v - ip;
	if (frac < 0.0005 || frac > 0.9995) {
		add_grouped(out, (unsigned long long)llround(v));
		return;
	}
	char buf[16];
	snprintf(buf, sizeof(buf), "%.3f", frac);
	size_t n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0')
		n--;
	add_grouped(out, (unsigned long long)ip);
	strbuf_add(out, buf + 1, n - 1); /* ".5" */
}

static void add_pct(struct strbuf *out, double part, double whole)
{
	double pct = whole > 0 ? 100.0 * part / whole : 0;
	strbuf_addf(out, "%.2f%%", pct);
}

/* Signed count and percent change, for differential tooltips. */
static void add_delta(struct strbuf *out, double after, double before)
{
	double d = after - before;
	strbuf_addch(out, d > 0 ? '+' : d < 0 ? '-' : '+');
	kf_format_count(fabs(d), out);
	if (before > 0)
		strbuf_addf(out, ", %+.2f%%", 100.0 * d / before);
	else if (after > 0)
		strbuf_addstr(out, ", new");
}

/* ---------------------------------------------------------------- SVG */

struct geom {
	double xpad, usable, top, bottom, height, fh, fs, cw;
	double px; /* pixels per value unit */
};

static void geometry(const struct kf_opts *o, const struct kf_layout *l, struct geom *g)
{
	g->xpad = 10;
	g->usable = o->width - 2 * g->xpad;
	if (g->usable < 1)
		g->usable = 1;
	g->fh = o->frame_height;
	g->fs = o->fontsize;
	g->cw = o->fontsize * o->fontwidth;
	g->top = round(g->fs * 3) + (o->subtitle ? round(g->fs * 2) : 0);
	g->bottom = round(g->fs * 2 + 10);
	g->height = (l->max_depth + 1) * g->fh + g->top + g->bottom;
	g->px = l->total > 0 ? g->usable / l->total : 0;
}

static double box_y(const struct kf_opts *o, const struct geom *g, uint32_t depth)
{
	if (o->inverted)
		return g->top + depth * g->fh;
	return g->height - g->bottom - (depth + 1) * g->fh;
}

/* Appends number v with up to `decimals` decimals, trailing zeros dropped. */
static void add_num(struct strbuf *out, double v, int decimals)
{
	static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7 };
	char buf[48];
	int n;
	if (decimals >= 0 && decimals <= 7 && fabs(v) < 1e12) {
		/* fixed point by hand: SVGs have many numbers and printf is slow at this */
		unsigned long long scaled = (unsigned long long)llround(fabs(v) * pow10[decimals]);
		unsigned long long unit = (unsigned long long)pow10[decimals];
		unsigned long long ip = scaled / unit, frac = scaled % unit;
		char *p = buf + sizeof(buf);
		int d = decimals;
		/* fraction digits, trailing zeros dropped */
		while (d > 0 && frac % 10 == 0) {
			frac /= 10;
			d--;
		}
		if (d > 0) {
			for (int k = 0; k < d; k++) {
				*--p = (char)('0' + frac % 10);
				frac /= 10;
			}
			*--p = '.';
		}
		do {
			*--p = (char)('0' + ip % 10);
			ip /= 10;
		} while (ip);
		if (v < 0 && scaled)
			*--p = '-';
		strbuf_add(out, p, (size_t)(buf + sizeof(buf) - p));
		return;
	}
	n = snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	if (n <= 0 || (size_t)n >= sizeof(buf)) {
		strbuf_addch(out, '0');
		return;
	}
	if (memchr(buf, '.', (size_t)n)) {
		while (n > 1 && buf[n - 1] == '0')
			n--;
		if (buf[n - 1] == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0')
		n = 1, buf[0] = '0';
	strbuf_add(out, buf, (size_t)n);
}

/* Widths keep four significant digits, so that zooming far in stays exact. */
static void add_width(struct strbuf *out, double w)
{
	int decimals = w >= 1000 ? 1 : w >= 100 ? 2 : w >= 10 ? 3 : w >= 1 ? 4 : 5;
	if (w < 0.01)
		decimals = 7;
	add_num(out, w, decimals);
}

/* Number of characters (UTF-8 code points) in s. */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* Byte length of the first `chars` characters of s. */
static size_t utf8_prefix(const char *s, size_t len, size_t chars)
{
	size_t i = 0, n = 0;
	while (i < len) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == chars)
				break;
			n++;
		}
		i++;
	}
	return i;
}


/* Label text that fits w pixels: the name, or its start and "..", or nothing. */
static void add_label(struct strbuf *out, const char *name, size_t len, double w, double cw)
{
	double fit = floor((w - 3) / cw);
	if (fit < 3)
		return;
	size_t chars = utf8_chars(name, len);
	if ((double)chars <= fit) {
		strbuf_add_xml(out, name, len);
		return;
	}
	strbuf_add_xml(out, name, utf8_prefix(name, len, (size_t)fit - 2));
	strbuf_addstr(out, "..");
}

static const char *default_title(const struct kf_opts *o)
{
	if (o->diff)
		return o->inverted ? "Differential Icicle Graph" : "Differential Flame Graph";
	if (o->flamechart)
		return "Flame Chart";
	return o->inverted ? "Icicle Graph" : "Flame Graph";
}

/* JSON-ish string for the script: quotes, escapes, and no "<" or ">" (CDATA-safe). */
static void add_js_string(struct strbuf *out, const char *s)
{
	struct strbuf tmp = STRBUF_INIT;
	strbuf_add_json(&tmp, s, strlen(s));
	strbuf_addch(out, '"');
	for (size_t i = 0; i < tmp.len; i++) {
		if (tmp.buf[i] == '<')
			strbuf_addstr(out, "\\u003c");
		else if (tmp.buf[i] == '>')
			strbuf_addstr(out, "\\u003e");
		else
			strbuf_addch(out, tmp.buf[i]);
	}
	strbuf_addch(out, '"');
	strbuf_release(&tmp);
}

static const char *background(const struct kf_opts *o)
{
	if (o->diff)
		return "#e8e8e8";
	switch (o->palette) {
	case KF_MEM:
		return "#e0f0e0";
	case KF_IO:
	case KF_WAKEUP:
	case KF_BLUE:
	case KF_AQUA:
		return "#e0e0ff";
	default:
		return "#eeeeb0";
	}
}

extern const char kf_script[]; /* flame_js.c */

static void svg_header(const struct kf_opts *o, const struct geom *g, struct strbuf *out)
{
	const char *font = o->fonttype ? o->fonttype : "Verdana";
	strbuf_addf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
			 "<svg version=\"1.1\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
			 "xmlns=\"http://www.w3.org/2000/svg\">\n",
		    o->width, g->height, o->width, g->height);
	if (o->notes) {
		strbuf_addstr(out, "<desc id=\"notes\">");
		strbuf_add_xml(out, o->notes, strlen(o->notes));
		strbuf_addstr(out, "</desc>\n");
	}
	strbuf_addstr(out, "<style>\ntext{font-family:");
	/* a font name goes into CSS: keep it to characters that cannot end the rule */
	for (const char *c = font; *c; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == ' ' || *c == '-' || *c == '_' || *c == ',')
			strbuf_addch(out, *c);
	strbuf_addf(out, ",sans-serif;font-size:%gpx;fill:#000}\n", g->fs);
	strbuf_addf(out,
		    "#title{text-anchor:middle;font-size:%gpx}\n"
		    "#subtitle{text-anchor:middle;fill:#a0a0a0}\n"
		    "#matched{text-anchor:end}\n"
		    "#frames rect{rx:2px;ry:2px}\n"
		    "#frames g{cursor:pointer}\n"
		    "#frames g:hover rect{stroke:#000;stroke-width:0.5}\n"
		    "#frames text{pointer-events:none}\n"
		    "#frames g.parent{opacity:0.5}\n"
		    ".hide{display:none}\n"
		    "#unzoom,#search{cursor:pointer}\n"
		    "#sbox{fill:#fff;stroke:#999}\n"
		    "#search.on #sbox{stroke:#000;stroke-width:1.5}\n"
		    "%s"
		    "</style>\n",
		    g->fs + 5, o->diff ? "#frames rect{stroke:#d0d0d0;stroke-width:0.5}\n" : "");
	strbuf_addf(out,
		    "<defs><linearGradient id=\"bg\" x1=\"0\" x2=\"0\" y1=\"0\" y2=\"1\">"
		    "<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
		    "</linearGradient></defs>\n"
		    "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%.0f\" fill=\"url(#bg)\"/>\n",
		    background(o), o->width, g->height);
	strbuf_addf(out, "<text id=\"title\" x=\"%g\" y=\"%g\">", o->width / 2.0, g->fs * 2);
	const char *title = o->title ? o->title : default_title(o);
	strbuf_add_xml(out, title, strlen(title));
	strbuf_addstr(out, "</text>\n");
	if (o->subtitle) {
		strbuf_addf(out, "<text id=\"subtitle\" x=\"%g\" y=\"%g\">", o->width / 2.0, g->fs * 4);
		strbuf_add_xml(out, o->subtitle, strlen(o->subtitle));
		strbuf_addstr(out, "</text>\n");
	}
	strbuf_addf(out, "<text id=\"details\" x=\"%g\" y=\"%g\"> </text>\n", g->xpad, g->height - g->fs / 2 - 2);
	strbuf_addf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%g\" y=\"%g\">Reset Zoom</text>\n",
		    g->xpad, g->fs * 2);
	double sw = 200, sx = o->width - g->xpad - sw;
	strbuf_addf(out,
		    "<g id=\"search\"><rect id=\"sbox\" x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" rx=\"3\"/>"
		    "<text id=\"stext\" x=\"%g\" y=\"%g\" fill=\"#888\">Search (regex, Ctrl-F)</text></g>\n",
		    sx, g->fs * 2 - g->fs - 3, sw, g->fs + 8, sx + 4, g->fs * 2);
	strbuf_addf(out, "<text id=\"matched\" x=\"%g\" y=\"%g\"> </text>\n", o->width - g->xpad,
		    g->height - g->fs / 2 - 2);
}

static void svg_footer(const struct kf_opts *o, const struct geom *g, const struct kf_layout *l,
		       struct strbuf *out)
{
	strbuf_addf(out, "</g>\n<script><![CDATA[\nvar C={xpad:%g,W:%g,fh:%g,fs:%g,cw:%g,inv:%d,chart:%d,nametype:",
		    g->xpad, g->usable, g->fh, g->fs, g->cw, o->inverted ? 1 : 0, o->flamechart ? 1 : 0);
	add_js_string(out, o->nametype ? o->nametype : "Function:");
	strbuf_addstr(out, "};\n");
	strbuf_addstr(out, kf_script);
	strbuf_addstr(out, "]]></script>\n</svg>\n");
	(void)l;
}

/* Appends the frames; returns how many. */
static void svg_frames(struct kf_tree *t, const struct kf_opts *o, const struct geom *g,
		       const struct kf_layout *l, struct strbuf *out)
{
	struct strbuf name = STRBUF_INIT;
	const char *countname = o->countname ? o->countname : "samples";
	double maxd = 0;
	if (o->diff)
		for (uint32_t i = 0; i < l->nboxes; i++) {
			double d = fabs(l->boxes[i].self - l->boxes[i].self_before);
			if (d > maxd)
				maxd = d;
		}
	strbuf_addstr(out, "<g id=\"frames\">\n");
	for (uint32_t i = 0; i < l->nboxes; i++) {
		const struct kf_box *b = &l->boxes[i];
		strbuf_reset(&name);
		kf_tree_name(t, b->key, &name);
		double x = g->xpad + b->x * g->px, w = b->w * g->px;
		double y = box_y(o, g, b->depth);
		size_t tl = name.len > TITLE_MAX ? utf8_prefix(name.buf, TITLE_MAX, TITLE_MAX) : name.len;
		strbuf_addstr(out, "<g><title>");
		strbuf_add_xml(out, name.buf, tl);
		if (tl < name.len)
			strbuf_addstr(out, "...");
		strbuf_addstr(out, " (");
		kf_format_count(b->w, out);
		strbuf_addch(out, ' ');
		strbuf_add_xml(out, countname, strlen(countname));
		strbuf_addstr(out, ", ");
		add_pct(out, b->w, l->total);
		if (o->diff) {
			strbuf_addstr(out, "; before ");
			kf_format_count(b->w_before, out);
			strbuf_addstr(out, ", ");
			add_delta(out, b->w, b->w_before);
			if (b->self != b->self_before) {
				strbuf_addstr(out, "; self ");
				add_delta(out, b->self, b->self_before);
			}
		}
		strbuf_addstr(out, ")</title><rect x=\"");
		add_num(out, x, 2);
		strbuf_addstr(out, "\" y=\"");
		add_num(out, y, 1);
		strbuf_addstr(out, "\" width=\"");
		add_width(out, w);
		strbuf_addstr(out, "\" height=\"");
		add_num(out, g->fh - 1, 1);
		uint32_t col;
		if (o->diff)
			col = kf_diff_color((o->negate ? -1 : 1) * (b->self - b->self_before), maxd);
		else
			col = kf_color(o, name.buf, name.len, b->flags, (uint64_t)b->node * 0x9e3779b97f4a7c15ull);
		strbuf_addf(out, "\" fill=\"#%06x\"/>", col);
		size_t before = out->len;
		strbuf_addstr(out, "<text x=\"");
		add_num(out, x + 3, 2);
		strbuf_addstr(out, "\" y=\"");
		add_num(out, y + (g->fh - 1) / 2 + g->fs / 3, 1);
		strbuf_addstr(out, "\">");
		size_t mark = out->len;
		add_label(out, name.buf, name.len, w, g->cw);
		if (out->len == mark)
			strbuf_setlen(out, before); /* nothing fits: no <text>; the viewer adds it on zoom */
		else
			strbuf_addstr(out, "</text>");
		strbuf_addstr(out, "</g>\n");
	}
	strbuf_release(&name);
}

int kf_render_svg(struct kf_tree *t, const struct kf_opts *o, struct strbuf *out, struct kf_layout *st)
{
	struct kf_layout l;
	struct geom g;
	size_t base = out->len, budget = 0;
	if (o->max_size) {
		/* what the page takes besides the frames (its height hardly matters) */
		struct strbuf fixed = STRBUF_INIT;
		struct kf_layout none = { 0 };
		geometry(o, &none, &g);
		svg_header(o, &g, &fixed);
		svg_footer(o, &g, &none, &fixed);
		size_t fixed_len = fixed.len + 64;
		strbuf_release(&fixed);
		budget = o->max_size > fixed_len + 1024 ? o->max_size - fixed_len : 1024;
	}
	for (int attempt = 0;; attempt++) {
		if (layout(t, o, 0, budget, &l) < 0)
			return -1;
		geometry(o, &l, &g);
		strbuf_setlen(out, base);
		svg_header(o, &g, out);
		svg_frames(t, o, &g, &l, out);
		svg_footer(o, &g, &l, out);
		size_t len = out->len - base;
		if (!o->max_size || len <= o->max_size || l.nboxes <= 1 || attempt >= 8)
			break;
		/* the estimate was short (escaped or long names): shrink the budget */
		double ratio = (double)o->max_size / (double)len;
		budget = (size_t)((double)budget * ratio * 0.97);
		kf_layout_release(&l);
	}
	if (st) {
		*st = l;
		st->boxes = NULL;
	}
	kf_layout_release(&l);
	return 0;
}
