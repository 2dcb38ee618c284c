/* report.h: the generic part of `kiln report`: the flat function table (self and total,
 * perf report's "children" view), the call tree, the per-thread summary, and their JSON
 * form (docs/kiln-report.md documents the output). Works for any value type.
 *
 * Build functions compute, print functions format; builds are unit-tested apart from
 * the text. */
#ifndef KILN_REPORT_REPORT_H
#define KILN_REPORT_REPORT_H
#include "profile/profile.h"
#include <stdio.h>

struct kr_opts {
	uint32_t value;         /* value index the percentages use */
	int count_value;        /* value index of sample counts ("samples"), or -1 */
	int sort_total;         /* sort the table by total (else by self) */
	unsigned top;           /* at most this many rows (0: all) */
	double percent_limit;   /* hide functions and tree nodes whose total is below this % */
	const uint8_t *keep;    /* sample filter, or NULL for all */
	const char *source;     /* the profile's name, for the header */
	int no_findings;        /* leave out "what to do next" (report/findings.h) */
};

/* ---- per-sample filters ---- */

/* A keep[] mask (nsamples entries) for samples whose thread matches: pid in pids (when
 * npids), tid in tids (when ntids), comm in comms (when ncomms). Returns NULL when no
 * filter is given; the caller frees. *kept gets the number of samples kept. */
uint8_t *kr_filter(const struct kp_profile *p, const int *pids, size_t npids, const int *tids,
		   size_t ntids, char *const *comms, size_t ncomms, size_t *kept);

/* ---- the flat table ---- */

struct kr_row {
	kp_str_t name, module;
	uint32_t flags;            /* KP_FRAME_* of the function's first frame */
	double self, total;        /* in the chosen value */
	double self_n, total_n;    /* sample counts (0 without a count value) */
};

struct kr_table {
	struct kr_row *rows;       /* sorted, limited by top and percent_limit */
	uint32_t nrows;
	uint32_t hidden;           /* functions with a value that the limits left out */
	double grand_total;        /* the chosen value over the kept samples */
	double grand_n;            /* sample count over the kept samples */
};

void kr_table_build(const struct kp_profile *p, const struct kr_opts *o, struct kr_table *t);
void kr_table_release(struct kr_table *t);

/* ---- the call tree (callers first, rooted at the process name) ---- */

struct kr_node {
	uint32_t parent;           /* node index; the root (index 0) is its own parent */
	kp_str_t name, module;     /* for process-name nodes: the comm, module 0 */
	uint32_t flags;            /* KP_FRAME_ROOT for process-name nodes */
	double self, total;
	double total_n;
	uint32_t first_child, next_sibling; /* children by decreasing total; 0 = none */
};

struct kr_tree {
	struct kr_node *nodes;     /* nodes[0]: an invisible root above the process names */
	uint32_t nnodes;
	double grand_total;
};

void kr_tree_build(const struct kp_profile *p, const struct kr_opts *o, struct kr_tree *t);
void kr_tree_release(struct kr_tree *t);

/* ---- threads ---- */

struct kr_thread_row {
	uint32_t thread;           /* index in p->threads */
	double value, n;
};

/* Per-thread sums of the kept samples, by decreasing value; returns the count. */
uint32_t kr_threads(const struct kp_profile *p, const struct kr_opts *o, struct kr_thread_row **rows);

/* ---- output ---- */

/* The human report: header, thread summary (when more than one thread), table.
 * Returns 0 or -1 on a write error. */
int kr_print_table(const struct kp_profile *p, const struct kr_opts *o, FILE *out);
/* The text tree indents 3 columns per level down to this depth; deeper lines keep that
 * indentation and show their depth as "[N] " before the name, so that a 100,000-frame
 * stack prints 100,000 lines of bounded width rather than gigabytes of blanks. */
#define KR_TREE_INDENT_MAX 64

/* The call tree with total and self percentages, pruned by percent_limit. */
int kr_print_tree(const struct kp_profile *p, const struct kr_opts *o, FILE *out);
/* The JSON form: the table, or with tree set the call tree (docs/kiln-report.md). */
int kr_print_json(const struct kp_profile *p, const struct kr_opts *o, int tree, FILE *out);

#endif
