/* test_seqtest.c: the anytime-valid paired sign test (stats/seqtest.h).
 *
 * Exact values: E_n(k) = 2^n k! (n-k)! / (n+1)!, e.g. E_10(10) = 1024/11 = 93.0909...,
 * E_10(5) = 1024 * 120 * 120 / 39916800 = 0.369408..., E_10(1) = 1024 * 362880 / 39916800
 * = 9.309090...; so at alpha = 0.05 (1/alpha = 20) ten rounds settle only 10 of 10.
 * The simulations use seeded, deterministic data from known distributions and the rule
 * kiln bench uses: look after every round from the 10th (--min-runs), stop at the first
 * p <= alpha, or give up at a budget of rounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stats/seqtest.h"

#define assert_close(a, b, tol)                                                          \
	do {                                                                             \
		double a_ = (a), b_ = (b);                                               \
		if (!(fabs(a_ - b_) <= (tol) * fmax(1, fabs(b_)))) {                     \
			print_error("%s = %.15g, expected %.15g (tol %g)\n", #a, a_, b_, \
				    (double)(tol));                                      \
			fail();                                                          \
		}                                                                        \
	} while (0)

static void test_evalue_values(void **state)
{
	assert_close(ks_sign_bf(10, 10), 1024.0 / 11, 1e-12);
	assert_close(ks_sign_bf(0, 10), 1024.0 / 11, 1e-12);
	assert_close(ks_sign_bf(5, 10), 0.369408369408369, 1e-12);
	assert_close(ks_sign_bf(1, 10), 9.30909090909091, 1e-12);
	assert_close(ks_sign_bf(0, 0), 1, 1e-12);
	assert_true(isnan(ks_sign_bf(3, 2)));
	assert_int_equal(ks_sign_kcrit(10, 0.05), 1);    /* 0 and 10 reject, 1..9 do not */
	assert_int_equal(ks_sign_kcrit(4, 0.05), 0);     /* 16/5 < 20: four rounds never settle */
	assert_int_equal(ks_sign_kcrit(1, 0.05), 0);
	/* the e-value is a martingale under the null: its mean over all 2^n outcomes is 1 */
	for (size_t n = 1; n <= 30; n += 7) {
		double mean = 0, binom = 1;
		for (size_t k = 0; k <= n; k++) {
			mean += binom * ks_sign_bf(k, n) / pow(2, (double)n);
			binom = binom * (double)(n - k) / (double)(k + 1);
		}
		assert_close(mean, 1, 1e-9);
	}
	/* kcrit is the boundary: kcrit - 1 rejects, kcrit does not (from n = 8: 256/9 >= 20) */
	for (size_t n = 8; n < 3000; n = n * 3 / 2) {
		size_t kc = ks_sign_kcrit(n, 0.05);
		assert_true(kc >= 1);
		assert_true(ks_sign_bf(kc - 1, n) >= 20);
		assert_true(ks_sign_bf(kc, n) < 20);
	}
}

static void test_compare_agrees(void **state)
{
	/* a 1.3x b plus noise: the ratio, a settled verdict, the CI and p agree */
	double a[12], b[12], z[3] = { 0, 0, 0 }, neg[2] = { 1, -1 };
	struct ks_seq_result r;
	for (int i = 0; i < 12; i++) {
		b[i] = 0.010 + 0.0002 * ((i * 7) % 5);
		a[i] = 1.3 * 0.010 + 0.0002 * ((i * 3) % 5);
	}
	assert_int_equal(ks_seq_compare(a, b, 12, 0.05, &r), 0);
	assert_int_equal(r.verdict, 1);
	assert_int_equal(r.above, 12);
	assert_true(r.p <= 0.05 && r.ci.bounded && r.ci.lo > 1);
	assert_true(r.ci.lo <= r.ratio && r.ratio <= r.ci.hi);
	assert_true(r.ratio > 1.2 && r.ratio < 1.4);
	assert_true(ks_sign_settled(a, b, 12, 0.05));
	assert_int_equal(ks_seq_compare(b, a, 12, 0.05, &r), 0);
	assert_int_equal(r.verdict, -1);
	assert_true(r.ci.hi < 1);
	/* identical runs: all ties, p = 1, ratio 1 */
	assert_int_equal(ks_seq_compare(a, a, 12, 0.05, &r), 0);
	assert_int_equal(r.verdict, 0);
	assert_true(r.p > 0.05 && r.ratio == 1 && r.ci.lo <= 1 && r.ci.hi >= 1);
	assert_false(ks_sign_settled(a, a, 12, 0.05));
	/* ten rounds can settle only if all ten agree */
	double c[10], d[10];
	for (int i = 0; i < 10; i++)
		c[i] = 2, d[i] = 1;
	d[3] = 3;
	assert_int_equal(ks_seq_compare(c, d, 10, 0.05, &r), 0);
	assert_int_equal(r.verdict, 0);
	d[3] = 1;
	assert_int_equal(ks_seq_compare(c, d, 10, 0.05, &r), 0);
	assert_int_equal(r.verdict, 1);
	/* zeros: a zero reference under a positive time is an infinite ratio, not a crash */
	assert_int_equal(ks_seq_compare(a, z, 3, 0.05, &r), 0);
	assert_int_equal(ks_seq_compare(neg, a, 2, 0.05, &r), -1);
	assert_int_equal(ks_seq_compare(a, b, 0, 0.05, &r), -1);
}

/* A run time of a command whose typical time is base: log-normal noise (sigma 0.1), and in
 * 5% of the runs a delay from another job (exponential, mean 3 times base: a heavy tail).
 * drift is shared by both commands of a round (the machine slowing down). */
static double run_time(struct ks_rng *rng, double base, double drift)
{
	double t = base * exp(0.1 * ks_rng_normal(rng));
	if (ks_rng_uniform(rng) < 0.05)
		t += -3 * base * log(ks_rng_uniform(rng));
	return t * drift;
}

#define BUDGET 500
/* One benchmark: rounds from 10 to BUDGET; returns the round at which the test settled
 * (its sign in *verdict; *covered: the interval at the stop holds the true median ratio),
 * or 0 when it never did. */
static int one_trial(struct ks_rng *rng, double ratio, int *verdict, int *covered)
{
	static double a[BUDGET], b[BUDGET];
	struct ks_seq_result r;
	double drift = 1;
	size_t above = 0, untied = 0;
	int round;
	*verdict = 0;
	for (round = 1; round <= BUDGET; round++) {
		drift *= exp(0.01 * ks_rng_normal(rng));
		a[round - 1] = run_time(rng, 0.010 * ratio, drift);
		b[round - 1] = run_time(rng, 0.010, drift);
		above += a[round - 1] > b[round - 1];
		untied += a[round - 1] != b[round - 1];
		if (round >= 10 && ks_sign_bf(above, untied) >= 20)
			break;
	}
	if (round > BUDGET)
		round = BUDGET;
	ks_seq_compare(a, b, (size_t)round, 0.05, &r);
	*verdict = r.verdict;
	*covered = !r.ci.bounded || (r.ci.lo <= ratio && ratio <= r.ci.hi);
	return r.verdict ? round : 0;
}

static void test_false_positive_rate(void **state)
{
	/* The same command twice, looked at after every round up to 500 rounds: the share of
	 * trials that ever claim a difference stays at or below alpha = 0.05, with 3 binomial
	 * standard errors of slack (sd of a rate 0.05 over 4000 trials: 0.0034). */
	struct ks_rng rng;
	int trials = 4000, fp = 0, v, cov, uncovered = 0;
	double se = sqrt(0.05 * 0.95 / trials);
	ks_rng_seed(&rng, 20261206);
	for (int i = 0; i < trials; i++) {
		if (one_trial(&rng, 1.0, &v, &cov))
			fp++;
		uncovered += !cov;
	}
	print_message("identical commands: %d of %d trials claimed a difference (%.4f; alpha 0.05)\n",
		      fp, trials, (double)fp / trials);
	assert_true((double)fp / trials <= 0.05 + 3 * se);
	/* the interval at the stop holds the true median ratio (1) as often */
	assert_true((double)uncovered / trials <= 0.05 + 3 * se);
	/* and a naive fixed-n test repeated after every round would not: the reason for the
	 * sequential test. A two-sided sign test at 5% (|z| > 1.96) looked at every round
	 * claims a difference in far more than 5% of the trials. */
	int naive = 0;
	ks_rng_seed(&rng, 20261207);
	for (int i = 0; i < 1000; i++) {
		size_t above = 0;
		for (int round = 1; round <= BUDGET; round++) {
			above += run_time(&rng, 0.010, 1) > run_time(&rng, 0.010, 1);
			if (round >= 10 && fabs(((double)above - round / 2.0) / sqrt(round / 4.0)) > 1.96) {
				naive++;
				break;
			}
		}
	}
	print_message("a fixed-n test at every round: %d of 1000 trials claimed a difference\n", naive);
	assert_true(naive > 150);
}

static void test_detects_ten_percent(void **state)
{
	/* A real 10% difference (either way) is settled, the right way round, in every one of
	 * 500 trials within 500 rounds, and the interval at the stop holds the true median
	 * ratio (1.1 or 1/1.1: the noise is the same for both) as often as promised. */
	struct ks_rng rng;
	int trials = 500, found = 0, wrong = 0, v, cov, uncovered = 0;
	long rounds = 0;
	ks_rng_seed(&rng, 42);
	for (int i = 0; i < trials; i++) {
		double ratio = i % 2 ? 1.1 : 1 / 1.1;
		int at = one_trial(&rng, ratio, &v, &cov);
		if (at) {
			found++;
			rounds += at;
			wrong += v != (ratio > 1 ? 1 : -1);
		}
		uncovered += !cov;
	}
	print_message("10%% difference: settled in %d of %d trials, after %.1f rounds on average; "
		      "%d wrong way round; %d intervals missed the ratio\n", found, trials,
		      found ? (double)rounds / found : 0.0, wrong, uncovered);
	assert_int_equal(found, trials);
	assert_int_equal(wrong, 0);
	assert_true((double)uncovered / trials <= 0.05 + 3 * sqrt(0.05 * 0.95 / trials));
	/* a 30% difference settles within 20 rounds (10 is the first look) */
	int early = 0;
	for (int i = 0; i < 200; i++) {
		int at = one_trial(&rng, 1.3, &v, &cov);
		early += at && at <= 20 && v == 1;
	}
	print_message("30%% difference: settled within 20 rounds in %d of 200 trials\n", early);
	assert_true(early >= 190);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evalue_values),
		cmocka_unit_test(test_compare_agrees),
		cmocka_unit_test(test_false_positive_rate),
		cmocka_unit_test(test_detects_ten_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
