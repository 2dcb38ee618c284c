/* diff.h: comparing two profiles as text: the three-column folded format of FlameGraph's
 * difffolded.pl, and the table of functions whose share of the time changed most.
 * (The differential flame graph itself is flame.h with two slots.) */
#ifndef KILN_RENDER_DIFF_H
#define KILN_RENDER_DIFF_H
#include "profile/profile.h"
#include <stdio.h>

/* One side of a comparison: a profile and the value of it to compare. module_from and
 * module_to (both or neither) say that functions of the module whose base name is
 * module_from are matched and shown as of module_to (a program renamed between builds,
 * see kd_match_programs). */
struct kd_side {
	const struct kp_profile *p;
	uint32_t v;
	const char *module_from, *module_to;
};

/* Writes "STACK BEFORE AFTER" for every stack with a non-zero count in either profile,
 * sorted by byte order of STACK (as folded stacks print it: process name first for
 * profiles with threads). With normalize, when the totals differ, each BEFORE count
 * becomes int(count * total_after / total_before), truncated toward zero and computed in
 * that order, exactly as difffolded.pl -n does (totals are the sums of each side's
 * lines). Returns 0, or -1 on a write error (errno set). */
int kd_folded_write(const struct kd_side *before, const struct kd_side *after, int normalize, FILE *out);

/* Two builds of one program may have different file names (prog-1.2, prog-1.3): their
 * process names and program modules would then never pair. The program of a profile is
 * the process name (comm) holding most of value v, and the module of the outermost
 * user frame holding most of it. When BEFORE's program name is absent from AFTER and
 * AFTER's from BEFORE, BEFORE's threads of that name are renamed to AFTER's (so stacks
 * rooted at the process name pair), and *module_from / *module_to are set to the two
 * module base names (pointers into the profiles' strings) when those differ likewise.
 * Returns 1 when anything was matched (the caller says so), else 0. */
struct kd_match {
	const char *comm_from, *comm_to;     /* NULL when the process names were left alone */
	const char *module_from, *module_to; /* NULL when the modules were left alone */
};
int kd_match_programs(struct kp_profile *before, uint32_t vb, const struct kp_profile *after, uint32_t va,
		      struct kd_match *m);

/* A function's share of each profile's total, in percent. */
struct kd_row {
	char *name;        /* the function's name, without folded suffixes such as _[k] */
	char *module;      /* module base name ("kernel" for the kernel) when both profiles
			    * know modules, else NULL */
	const char *kind;  /* "kernel", "inlined", "jit", "off-cpu" or "" (static) */
	double self_before, total_before;
	double self_after, total_after;
};

struct kd_table {
	struct kd_row *rows; /* every function of either profile, largest change first */
	size_t nrows;
	double total_before, total_after;
	const char *note;    /* a line kd_table_print adds under the totals (caller's), or NULL */
};

/* Builds the table: change = the larger of |self after - self before| and
 * |total after - total before| (percentage points); ties by name. Functions match by
 * name and kind, and also by module base name when both profiles know modules (a side's
 * module_from counts as module_to), so builds of one program at different paths pair. */
void kd_table_build(const struct kd_side *before, const struct kd_side *after, struct kd_table *t);
void kd_table_release(struct kd_table *t);
/* Prints the first n rows as an aligned table (n 0: all): the shares, the changes, then
 * a module column (when the rows have modules), a kind column (when a row is not plain
 * user code: kernel, inlined, jit, off-cpu; "-" for plain code) and the clean function
 * name. Returns 0, or -1 on a write error. */
int kd_table_print(const struct kd_table *t, size_t n, const char *before_name, const char *after_name,
		   const char *countname, FILE *out);

#endif
