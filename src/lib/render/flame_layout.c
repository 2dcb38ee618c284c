/* flame_layout.c: which frames of a flame graph are drawn, and where: the frames at
 * least minwidth wide, cut to the widest that fit a size budget, as boxes in depth-first
 * order with children by name (flame charts: in input order). */
#include "render/flame_int.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int kf_layout_fit(struct kf_tree *t, const struct kf_opts *o, size_t keep_max, size_t budget,
		  struct kf_layout *l)
{
	memset(l, 0, sizeof(*l));
	const double *tot = kf_tree_totals(t, 0);
	const double *tot1 = t->nslots > 1 ? kf_tree_totals(t, 1) : NULL;
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
				b[bi].self += kf_sample_value(t->src, i, t->src_v, t->src_scale);
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
		if (nkn) /* kn is NULL when there is none */
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
	return kf_layout_fit(t, o, keep_max, 0, l);
}
