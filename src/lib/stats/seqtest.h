/* seqtest.h: an anytime-valid comparison of two commands measured in paired rounds.
 *
 * kiln bench runs its commands in rounds (one run of each, in a shuffled order), so run k of
 * A and run k of B form a pair. When A and B are the same command, the pair is exchangeable:
 * A is the slower of the two with probability 1/2, whatever the distribution of the times,
 * whatever the load of the machine in that round. The test counts the rounds in which A was
 * slower (k of n, ties left out) and weighs "P(A slower) = 1/2" against "some other
 * probability, uniform a priori" with the mixture likelihood ratio (a Bayes factor)
 *
 *   E_n = 2^n * B(k + 1, n - k + 1) = 2^n * k! (n - k)! / (n + 1)!
 *
 * which is a nonnegative martingale with mean 1 under the null hypothesis (Robbins 1970,
 * "Statistical methods related to the law of the iterated logarithm", Ann. Math. Statist.
 * 41; the mixture SPRT; Johari, Koomen, Pekelis and Walsh 2017, "Peeking at A/B tests",
 * KDD). By Ville's inequality P(E_n >= 1/alpha for some n) <= alpha, so:
 *
 *  - p_n = min(1, 1/E_n) is a p-value valid at any stopping time, however often the data
 *    were looked at and whatever made the run stop;
 *  - the comparison is settled when p_n <= alpha;
 *  - inverting the test gives a confidence sequence for the median of the per-round ratio
 *    a_k / b_k ("in a typical round A takes R times as long as B"): the R for which the
 *    count of ratios above R does not reject. It is an interval between two order statistics
 *    of the ratios. Its estimate is their median.
 *
 * The verdict, the p-value and the interval come from this one test and agree: 1 lies
 * outside the interval exactly when p <= alpha. The test needs no assumption about the
 * distribution of the times (a run delayed 50-fold by another job counts as one round, not
 * as a huge variance) beyond exchangeability within a round, which the shuffled order gives. */
#ifndef KILN_STATS_SEQTEST_H
#define KILN_STATS_SEQTEST_H
#include "stats/stats.h"
#include <stddef.h>

/* The e-value E_n above for k of n pairs in which a was slower. NaN if k > n. */
double ks_sign_bf(size_t k, size_t n);
/* The smallest count k with E_n(k) < 1/alpha: counts in [kcrit, n - kcrit] do not reject.
 * 0 when no count rejects (too few pairs to ever settle at alpha: n with 2^n / (n+1) <
 * 1/alpha). */
size_t ks_sign_kcrit(size_t n, double alpha);

/* Counts the pairs with a[i] > b[i] (*above) and a[i] != b[i] (*untied). */
void ks_sign_count(const double *a, const double *b, size_t n, size_t *above, size_t *untied);
/* 1 when the pairs so far settle the comparison at level alpha (cheap: no sorting). */
int ks_sign_settled(const double *a, const double *b, size_t n, double alpha);

struct ks_seq_result {
	double ratio;             /* median of a[i] / b[i] */
	struct ks_interval ci;    /* confidence sequence for that median at 1 - alpha */
	size_t above, untied;     /* pairs with a slower; pairs not tied */
	double bf;                /* the e-value at ratio 1 */
	double p;                 /* min(1, 1/bf): anytime-valid p-value */
	int verdict;              /* +1 a slower, -1 a faster (p <= alpha), 0 not settled */
};
/* Compares a with b over n pairs. Times are >= 0; a pair of zeros is a tie (ratio 1), a
 * zero b under a positive a a ratio of +infinity. Allocates a scratch array.
 * Returns 0, or -1 when n < 1, a value is NaN or negative, or alpha is not in (0, 1). */
int ks_seq_compare(const double *a, const double *b, size_t n, double alpha, struct ks_seq_result *r);

#endif
