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
	const char *suppressions; /* --suppressions FILE (LeakSanitizer's format), or NULL */
};

/* Prints the heap report; returns 0, -1 on error (printed), or KILN_HEAP_REPORT_UNHANDLED.
 * Leaks matched by a suppression (built-in, the profile's own from kiln heap
 * --suppressions, and o->suppressions) are left out of the leak figures and counted
 * apart (heap_suppress.h). */
int heap_report_print(const struct kp_profile *p, const struct heap_report_opts *o, FILE *out);

/* The same suppressions as a sample filter: *keep (malloc'd, p->nsamples entries) is 0
 * for the samples of suppressed stacks, when value is leaked_count or leaked_bytes; NULL
 * otherwise. base filters further (or NULL). Returns 0, or -1 after a one-line error. */
int heap_leak_keep(const struct kp_profile *p, int value, const char *supp_file, const uint8_t *base,
		   uint8_t **keep);

/* Suppressed leaks (count and bytes), for kiln heap's summary, of the leaked values per
 * stack of p leaked_count[] and leaked_bytes[] (p->nstacks entries each: the
 * recording's final values, heap_agg_leaked; a profile being written keeps only its
 * latest samples). Returns 0, or -1 after a one-line error. */
int heap_leaks_suppressed(const struct kp_profile *p, const char *supp_file, double *leaked_count,
			  double *leaked_bytes, double *count, double *bytes);

#endif
