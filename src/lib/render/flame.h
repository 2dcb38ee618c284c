/* flame.h: flame graphs as self-contained interactive SVG: flame graphs, icicle graphs,
 * flame charts and differential flame graphs, from one or two profiles.
 *
 *   struct kf_opts o; kf_opts_init(&o);
 *   struct kf_tree *t = kf_tree_new(&o, 1);
 *   kf_tree_add(t, profile, value_index, 0, 1.0);
 *   struct strbuf svg = STRBUF_INIT;
 *   if (kf_render_svg(t, &o, &svg, NULL) == 0) ... write svg.buf ...
 *   kf_tree_free(t);
 *
 * The tree merges stacks by the text of their frames (name and _[k]/_[i]/_[j] suffix,
 * as folded stacks print them), so a kiln profile and its folded export draw the same
 * graph. Frames from a profile's threads are rooted at the process name. */
#ifndef KILN_RENDER_FLAME_H
#define KILN_RENDER_FLAME_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>

struct strbuf;

enum kf_palette {
	KF_HOT, KF_MEM, KF_IO, KF_WAKEUP, KF_RED, KF_GREEN, KF_BLUE, KF_AQUA, KF_YELLOW,
	KF_PURPLE, KF_ORANGE, KF_JAVA, KF_JS,
	KF_NPALETTES
};

/* Returns the palette named name ("hot", "java", ...), or -1. */
int kf_palette_parse(const char *name);
const char *kf_palette_name(enum kf_palette p);
/* 1 when a frame name has the form of a Python frame, "QUALNAME (FILE.py:LINE)" or
 * "QUALNAME (<frozen x>:LINE)" (folded text keeps no flags). */
int kf_is_python_name(const char *s, size_t len);

struct kf_opts {
	const char *title;     /* NULL: "Flame Graph", "Icicle Graph", "Flame Chart", ... */
	const char *subtitle;  /* NULL: none */
	const char *notes;     /* NULL: none; kept in the SVG's <desc> */
	const char *countname; /* NULL: "samples" */
	const char *nametype;  /* NULL: "Function:" */
	const char *fonttype;  /* NULL: "Verdana" */
	double fontsize;       /* text size in pixels (12) */
	double fontwidth;      /* average character width as a fraction of fontsize (0.59) */
	int width;             /* image width in pixels (1200) */
	int frame_height;      /* pixels per frame (16) */
	double minwidth;       /* frames narrower than this many pixels are not drawn (0.1)... */
	int minwidth_percent;  /* ...or, when set, narrower than minwidth % of the total */
	size_t max_size;       /* bytes the SVG may take (2 MiB; 0: no limit): narrower frames go first */
	int inverted;          /* icicle graph: roots at the top */
	int reverse;           /* reverse each stack (leaf first) before merging */
	int flamechart;        /* input order, no sorting: x is time */
	int hash;              /* colour by name only (the same name, the same colour) */
	enum kf_palette palette;
	int diff;              /* differential: colour by the change from slot 1 to slot 0 */
	int negate;            /* differential: blue for growth, red for shrinking */
};

/* Fills the defaults above. */
void kf_opts_init(struct kf_opts *o);

/* The frames of one or two profiles, merged into a tree (or for flame charts, a
 * sequence of trees in input order). */
struct kf_tree;

/* A new empty tree; reverse and flamechart are taken from o. nslots is 1, or 2 for a
 * differential graph (slot 0: the graph's shape, slot 1: what it is compared with). */
struct kf_tree *kf_tree_new(const struct kf_opts *o, int nslots);
/* Adds value v of every sample of p, times scale, to slot. p must outlive the tree (a
 * single-slot tree may refer to p's stack trie instead of copying it). Samples of threads
 * with a name are rooted at it (spaces and ';' in it become '_' and ':'). */
void kf_tree_add(struct kf_tree *t, const struct kp_profile *p, uint32_t v, int slot, double scale);
/* Sum of the values added to a slot. */
double kf_tree_total(const struct kf_tree *t, int slot);
void kf_tree_free(struct kf_tree *t);

/* One drawn frame. x and w are in value units (slot 0) from the left edge. */
struct kf_box {
	uint32_t node;     /* node in the tree */
	uint32_t parent;   /* index of the parent box (0 for the root box itself) */
	uint32_t depth;    /* 0: the root "all" */
	uint32_t key;      /* frame name key: kf_tree_name() */
	uint32_t flags;    /* KP_FRAME_* of the frame */
	double x, w;       /* slot 0 */
	double self;       /* slot 0 value of the frame itself (not its children) */
	double w_before;   /* slot 1 total (diff) */
	double self_before;
};

struct kf_layout {
	struct kf_box *boxes; /* boxes[0] is the root; a parent comes before its children */
	uint32_t nboxes;
	uint32_t max_depth;
	double total;          /* slot 0 total */
	double total_before;   /* slot 1 total */
	size_t candidates;     /* frames at least minwidth wide */
	size_t dropped_for_size; /* of those, frames left out to keep the SVG within max_size */
};

/* Lays out the frames wider than o->minwidth, children in name order (flame charts: in
 * input order). keep_max limits the boxes to the widest keep_max (0: no limit; parents
 * always come with their children). Returns 0, or -1 after an error (nothing to draw). */
int kf_layout_build(struct kf_tree *t, const struct kf_opts *o, size_t keep_max, struct kf_layout *l);
void kf_layout_release(struct kf_layout *l);
/* Appends the display name of key (as folded stacks print it). */
void kf_tree_name(const struct kf_tree *t, uint32_t key, struct strbuf *out);

/* Writes the whole SVG into out (appended). Keeps it within o->max_size by leaving out
 * the narrowest frames. st, when not NULL, receives the layout's counts (boxes freed).
 * Returns 0, or -1 after an error (nothing to draw). */
int kf_render_svg(struct kf_tree *t, const struct kf_opts *o, struct strbuf *out, struct kf_layout *st);

/* The fill colour (0xRRGGBB) of a frame named name (len bytes) with flags; seed varies
 * the shade between frames of one name unless o->hash is set. Deterministic. */
uint32_t kf_color(const struct kf_opts *o, const char *name, size_t len, uint32_t flags, uint64_t seed);
/* Differential colour: white for 0, to full red (delta > 0) or blue (< 0) at |delta| = max. */
uint32_t kf_diff_color(double delta, double max);

/* Formats a count as the SVG shows it: "1,234", "12.5", "0.25". */
void kf_format_count(double v, struct strbuf *out);

#endif
