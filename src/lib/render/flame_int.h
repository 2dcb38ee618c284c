/* flame_int.h: what the flame graph modules share inside the library (not an API):
 * the frame tree (flame.c), its layout (flame_layout.c), the colours (flame_color.c) and
 * the SVG writer (flame_svg.c). */
#ifndef KILN_RENDER_FLAME_INT_H
#define KILN_RENDER_FLAME_INT_H
#include "render/flame.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define TITLE_MAX 4096 /* bytes of a name shown in a tooltip */

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

/* Value v of sample i of p, times scale; what is not a positive finite number counts 0. */
static inline double kf_sample_value(const struct kp_profile *p, size_t i, uint32_t v, double scale)
{
	double x = p->sample_values[i * p->nvalues + v] * scale;
	return isfinite(x) && x > 0 ? x : 0;
}

/* Inclusive totals per node for a slot (cached until the next add). */
const double *kf_tree_totals(struct kf_tree *t, int slot);

/* Lays out frames at least minwidth wide; then, when keep_max or budget (bytes of SVG,
 * estimated per frame) would be exceeded, only the widest that fit. */
int kf_layout_fit(struct kf_tree *t, const struct kf_opts *o, size_t keep_max, size_t budget,
		  struct kf_layout *l);

#endif
