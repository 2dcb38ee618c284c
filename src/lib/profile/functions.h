/* functions.h: per-function self and total values of a profile (perf report's
 * "children" view), shared by `kiln report` and `kiln diff --top`.
 *
 * A function is a (name, module) pair: frames at different lines of one function are one
 * function; an inlined function is its own function. self = value of samples whose leaf
 * frame is the function; total = value of samples with the function anywhere on the stack,
 * counted once per sample even when it recurses. */
#ifndef KILN_PROFILE_FUNCTIONS_H
#define KILN_PROFILE_FUNCTIONS_H
#include "profile/profile.h"

struct kp_func {
	kp_str_t name;
	kp_str_t module;
	uint32_t flags;   /* flags of the first frame seen (KP_FRAME_KERNEL, _INLINE, ...) */
	double self;
	double total;
};

struct kp_func_table {
	struct kp_func *funcs;
	uint32_t nfuncs;
	uint32_t *frame_func; /* frame id -> index in funcs (nframes entries; [0] unused) */
	double grand_total;   /* sum of the value over the counted samples */
};

/* Builds the table for value v over samples i with keep[i] (all when keep is NULL).
 * Functions that occur in no counted sample have zero self and total. */
void kp_func_table_build(const struct kp_profile *p, uint32_t v, const uint8_t *keep,
			 struct kp_func_table *t);
/* Sorts funcs by total (by_total) or self, descending, ties by name; frame_func stays valid. */
void kp_func_table_sort(const struct kp_profile *p, struct kp_func_table *t, int by_total);
void kp_func_table_release(struct kp_func_table *t);

#endif
