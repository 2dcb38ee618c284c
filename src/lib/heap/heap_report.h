/* heap_report.h: the heap-specific part of `kiln report` for profiles written by
 * `kiln heap` (meta "kind" = "heap"): the summary (totals, peak and when, leaks,
 * temporaries, allocation rate) and the top stacks for each question. `kiln report`
 * calls this first for heap profiles and prints its generic table only when it
 * returns KILN_HEAP_REPORT_UNHANDLED. */
#ifndef KILN_HEAP_REPORT_H
#define KILN_HEAP_REPORT_H
#include "profile/profile.h"
#include <stdio.h>

#define KILN_HEAP_REPORT_UNHANDLED (-2)

struct heap_report_opts {
	const char *value; /* --value NAME, or NULL for the default summary + all questions */
	int top;           /* --top N (0 = default) */
	int json;          /* --json */
	const uint8_t *keep; /* sample filter from --pid/--tid/--comm, or NULL */
};

/* Prints the heap report; returns 0, -1 on error (printed), or KILN_HEAP_REPORT_UNHANDLED. */
int heap_report_print(const struct kp_profile *p, const struct heap_report_opts *o, FILE *out);

#endif
