/* compare.h: kiln bench's comparisons: every command against the reference, and every
 * command against its baseline. Each comparison is one test (benchfile.h: struct
 * kb_comparison) whose verdict, p-value and interval agree:
 *
 *  - commands measured in interleaved rounds (equal run counts): the anytime-valid paired
 *    sign test (stats/seqtest.h), valid however often it was looked at, so the run can stop
 *    as soon as it is settled; its estimate is the median of the per-round ratios;
 *  - otherwise (--no-interleave, a baseline): Welch's t-test with Fieller's interval
 *    (stats/stats.h ks_compare), looked at once, at the end.
 *
 * Several comparisons share the level alpha (Bonferroni): with a fixed reference there are
 * n - 1; when the reference is the fastest, chosen from the data, any of the n (n - 1) / 2
 * pairs could be the ones shown, so each is tested at alpha / (n (n - 1) / 2). Baseline
 * comparisons are each at alpha (each command is its own guard). */
#ifndef KILN_BENCH_COMPARE_H
#define KILN_BENCH_COMPARE_H
#include "stats/benchfile.h"
#include <stddef.h>

/* The reference: 0 when fixed (--reference is benchmarked first), else the lowest mean. */
size_t kb_reference_index(const struct kb_result *r, size_t n, int fixed);
/* The level of each of the comparisons among n results (see above). */
double kb_compare_level(size_t n, int fixed, double alpha);
/* Compares a with reference b at level alpha: the paired sequential test when paired and
 * both have the same number of runs, else Welch's. c->reference is left to the caller.
 * Returns 0; -1 (c->valid = 0) when a test cannot be made (fewer than 2 runs, a zero mean). */
int kb_compare_pair(const struct kb_result *a, const struct kb_result *b, int paired,
		    double alpha, struct kb_comparison *c);
/* Compares every result but ref with ref, into cmp[0..n-2] (the caller's array of n - 1);
 * returns the number filled (n - 1, or 0 when n < 2). */
size_t kb_compare_all(const struct kb_result *r, size_t n, size_t ref, int fixed, int paired,
		      double alpha, struct kb_comparison *cmp);
/* At this point of an interleaved run (n >= 2 results with equal run counts): *settled = 1
 * when every comparison with the reference is significant (the run may stop: "settled");
 * *precise = 1 when every comparison is settled or has its interval within +-precision of
 * its estimate (any difference beyond the precision would have shown: "precision met"). */
void kb_compare_state(const struct kb_result *r, size_t n, int fixed, double alpha,
		      double precision, int *settled, int *precise);
/* Compares a with its baseline entry e (Welch) at level alpha. */
int kb_compare_baseline(const struct kb_result *a, const struct kb_baseline_entry *e,
			const char *path, double alpha, struct kb_comparison *c);

#endif
