/* diff.h: comparing two profiles as text: the three-column folded format of FlameGraph's
 * difffolded.pl, and the table of functions whose share of the time changed most.
 * (The differential flame graph itself is flame.h with two slots.) */
#ifndef KILN_RENDER_DIFF_H
#define KILN_RENDER_DIFF_H
#include "profile/profile.h"
#include <stdio.h>

/* One side of a comparison: a profile and the value of it to compare. */
struct kd_side {
	const struct kp_profile *p;
	uint32_t v;
};

/* Writes "STACK BEFORE AFTER" for every stack with a non-zero count in either profile,
 * sorted by byte order of STACK (as folded stacks print it: process name first for
 * profiles with threads). BEFORE counts are multiplied by scale (1, or AFTER's total
 * over BEFORE's to normalize); when every count of both inputs is a whole number,
 * scaled counts are rounded to whole numbers, as difffolded.pl prints them.
 * Returns 0, or -1 on a write error (errno set). */
int kd_folded_write(const struct kd_side *before, const struct kd_side *after, double scale, FILE *out);

/* A function's share of each profile's total, in percent. */
struct kd_row {
	char *name;        /* display name (folded form, " [module]" added when matched by module) */
	double self_before, total_before;
	double self_after, total_after;
};

struct kd_table {
	struct kd_row *rows; /* every function of either profile, largest change first */
	size_t nrows;
	double total_before, total_after;
};

/* Builds the table: change = the larger of |self after - self before| and
 * |total after - total before| (percentage points); ties by name. Functions match by
 * name, and also by module when both profiles know modules (then " [module]" is shown). */
void kd_table_build(const struct kd_side *before, const struct kd_side *after, struct kd_table *t);
void kd_table_release(struct kd_table *t);
/* Prints the first n rows as an aligned table (n 0: all). Returns 0, or -1 on a write error. */
int kd_table_print(const struct kd_table *t, size_t n, const char *before_name, const char *after_name,
		   const char *countname, FILE *out);

#endif
