/* test_stats.c: the statistics library against known values.
 *
 * Where the expected numbers come from:
 *  - Student t quantiles: the standard t table (e.g. qt(0.975, df) in R:
 *    df=1 12.7062047361747, df=2 4.30265272974946, df=5 2.57058183563631,
 *    df=9 2.26215716279820, df=10 2.22813885198627, df=30 2.04227245630124);
 *    normal: qnorm(0.975) = 1.95996398454005.
 *  - t.test(1:10) in R: mean 5.5, 95% CI 3.334149 .. 7.665851.
 *  - Mann-Whitney exact: R's own example in ?wilcox.test (Hollander & Wolfe, p. 110):
 *    x = 0.80 0.83 1.89 1.04 1.45 1.38 1.91 1.64 0.73 1.46, y = 1.15 0.88 0.90 0.74 1.21,
 *    W = 35, one-sided ("greater") p = 0.1272, hence two-sided 0.2544122544 (also checked
 *    by enumerating all C(15,5) = 3003 arrangements). Small-table values (m=4, n=6:
 *    P(U<=5) = 18/210; m=7, n=8: P(U<=9) = 93/6435) by the same enumeration.
 *  - Mann-Whitney with ties (normal approximation, tie and continuity corrections, R's
 *    formula in wilcox.test.default): x = 1 2 2 3 4 5 5 6, y = 3 4 5 6 7 7 8 9 9:
 *    W = 10.5, z = -2.42050335756797, p = 0.0154990361611156; evaluated by hand from the
 *    formula (rank sums and tie sizes counted by a separate script).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stats/stats.h"
#include "stats/units.h"

#define assert_close(a, b, tol)                                                          \
	do {                                                                             \
		double a_ = (a), b_ = (b);                                               \
		if (!(fabs(a_ - b_) <= (tol))) {                                         \
			print_error("%s = %.15g, expected %.15g (tol %g)\n", #a, a_, b_, \
				    (double)(tol));                                      \
			fail();                                                          \
		}                                                                        \
	} while (0)

static void test_descriptive(void **state)
{
	double x[] = { 4, 1, 3, 2, 5, 10, 6, 7, 9, 8 };
	struct ks_summary s;
	ks_summarize(x, 10, &s);
	assert_int_equal(s.n, 10);
	assert_close(s.mean, 5.5, 1e-12);
	assert_close(s.stddev, 3.02765035409749, 1e-12);
	assert_close(s.min, 1, 0);
	assert_close(s.max, 10, 0);
	assert_close(s.median, 5.5, 1e-12);
	/* type 7: h = 9 * 0.95 = 8.55 -> 9 + 0.55 * 1 */
	assert_close(s.p95, 9.55, 1e-12);
	assert_close(s.p99, 9.91, 1e-12);
	/* |x - 5.5| = 4.5 3.5 2.5 1.5 .5 .5 1.5 2.5 3.5 4.5 -> median 2.5 */
	assert_close(s.mad, 2.5, 1e-12);
	/* the input is untouched */
	assert_close(x[0], 4, 0);

	ks_summarize(x, 0, &s);
	assert_int_equal(s.n, 0);
	assert_close(s.mean, 0, 0);
	double one = 7;
	ks_summarize(&one, 1, &s);
	assert_close(s.mean, 7, 0);
	assert_close(s.stddev, 0, 0);
	assert_close(s.median, 7, 0);
	assert_close(s.p99, 7, 0);
	double odd[] = { 3, 1, 2 };
	ks_summarize(odd, 3, &s);
	assert_close(s.median, 2, 0);
}

static void test_t_quantiles(void **state)
{
	assert_close(ks_t_quantile(0.975, 1), 12.7062047361747, 1e-9);
	assert_close(ks_t_quantile(0.975, 2), 4.30265272974946, 1e-10);
	assert_close(ks_t_quantile(0.975, 5), 2.57058183563631, 1e-10);
	assert_close(ks_t_quantile(0.975, 9), 2.26215716279820, 1e-10);
	assert_close(ks_t_quantile(0.975, 10), 2.22813885198627, 1e-10);
	assert_close(ks_t_quantile(0.975, 30), 2.04227245630124, 1e-10);
	/* table values at 3 decimals */
	assert_close(ks_t_quantile(0.95, 3), 2.353, 5e-4);
	assert_close(ks_t_quantile(0.995, 1), 63.657, 5e-4);
	assert_close(ks_t_quantile(0.995, 20), 2.845, 5e-4);
	assert_close(ks_t_quantile(0.9, 120), 1.289, 5e-4);
	/* symmetry, the centre, large df tends to the normal */
	assert_close(ks_t_quantile(0.025, 10), -2.22813885198627, 1e-10);
	assert_close(ks_t_quantile(0.5, 4), 0, 0);
	assert_close(ks_t_quantile(0.975, 1e7), 1.95996398454005, 1e-6);
	assert_close(ks_t_quantile(0.975, INFINITY), 1.95996398454005, 1e-10);
	/* fractional df (Welch) lies between its integer neighbours */
	double q = ks_t_quantile(0.975, 13.5);
	assert_true(q < ks_t_quantile(0.975, 13) && q > ks_t_quantile(0.975, 14));
	/* the cdf inverts the quantile */
	for (double df = 1; df < 200; df *= 1.7)
		for (double p = 0.01; p < 1; p += 0.07)
			assert_close(ks_t_cdf(ks_t_quantile(p, df), df), p, 1e-11);
	/* bad arguments */
	assert_true(isnan(ks_t_quantile(0, 5)));
	assert_true(isnan(ks_t_quantile(1, 5)));
	assert_true(isnan(ks_t_quantile(0.9, 0)));
	assert_true(isnan(ks_t_quantile(NAN, 3)));
}

static void test_normal_and_beta(void **state)
{
	assert_close(ks_norm_quantile(0.975), 1.95996398454005, 1e-12);
	assert_close(ks_norm_quantile(0.5), 0, 0);
	assert_close(ks_norm_quantile(0.001), -3.09023230616781, 1e-10);
	assert_close(ks_norm_cdf(1.959963984540054), 0.975, 1e-14);
	assert_close(ks_norm_cdf(0), 0.5, 0);
	/* I_x(a, 1) = x^a; I_x(1, b) = 1 - (1-x)^b; I_0.5(a, a) = 0.5 */
	assert_close(ks_betainc(3, 1, 0.4), pow(0.4, 3), 1e-14);
	assert_close(ks_betainc(1, 4, 0.3), 1 - pow(0.7, 4), 1e-14);
	assert_close(ks_betainc(7.5, 7.5, 0.5), 0.5, 1e-13);
	assert_close(ks_betainc(2, 3, 0), 0, 0);
	assert_close(ks_betainc(2, 3, 1), 1, 0);
	assert_true(isnan(ks_betainc(-1, 3, 0.5)));
	assert_true(isnan(ks_betainc(1, 3, 1.5)));
	/* t with 1 df is Cauchy: cdf(t) = 1/2 + atan(t)/pi */
	assert_close(ks_t_cdf(3, 1), 0.5 + atan(3) / M_PI, 1e-13);
	assert_close(ks_t_cdf(-0.7, 1), 0.5 + atan(-0.7) / M_PI, 1e-13);
	/* t with 2 df: cdf(t) = 1/2 + t / (2 sqrt(2 + t^2)) */
	assert_close(ks_t_cdf(1.3, 2), 0.5 + 1.3 / (2 * sqrt(2 + 1.69)), 1e-13);
}

static void test_mean_ci(void **state)
{
	double x[10];
	for (int i = 0; i < 10; i++)
		x[i] = i + 1;
	struct ks_interval ci = ks_mean_ci(x, 10, 0.95);
	assert_true(ci.bounded);
	assert_close(ci.lo, 3.334149, 5e-7);
	assert_close(ci.hi, 7.665851, 5e-7);
	ci = ks_mean_ci(x, 1, 0.95);
	assert_false(ci.bounded);
	ci = ks_mean_ci_from(100, 0, 5, 0.95);
	assert_true(ci.bounded);
	assert_close(ci.lo, 100, 0);
	assert_close(ci.hi, 100, 0);
	ci = ks_mean_ci(x, 10, 1.5);
	assert_false(ci.bounded);
}

static void test_ratio_ci(void **state)
{
	/* With no variance in b, Fieller reduces to ma/mb +- t_{na-1} sa / (sqrt(na) mb). */
	struct ks_interval ci = ks_ratio_ci(10, 1, 10, 5, 0, 10, 0.95);
	double half = 2.26215716279820 * 1 / sqrt(10) / 5;
	assert_true(ci.bounded);
	assert_close(ci.lo, 2 - half, 1e-9);
	assert_close(ci.hi, 2 + half, 1e-9);
	assert_close(ks_welch_df(1, 10, 0, 10), 9, 1e-12);
	/* Welch df: equal variances and sizes give 2(n-1) */
	assert_close(ks_welch_df(2, 8, 2, 8), 14, 1e-12);

	/* General case: the bounds solve (ma - R mb)^2 = t^2 (va + R^2 vb), and the interval
	 * is wider than the ratio's and contains it. */
	double ma = 21.7, sa = 0.9, mb = 11.6, sb = 0.5;
	size_t na = 12, nb = 15;
	ci = ks_ratio_ci(ma, sa, na, mb, sb, nb, 0.95);
	assert_true(ci.bounded);
	double df = ks_welch_df(sa, na, sb, nb), t = ks_t_quantile(0.975, df);
	double va = sa * sa / na, vb = sb * sb / nb;
	for (int k = 0; k < 2; k++) {
		double R = k ? ci.hi : ci.lo;
		assert_close((ma - R * mb) * (ma - R * mb), t * t * (va + R * R * vb), 1e-9);
	}
	assert_true(ci.lo < ma / mb && ci.hi > ma / mb);
	/* the delta method agrees to first order for small relative errors */
	double se = ma / mb * sqrt(va / (ma * ma) + vb / (mb * mb));
	assert_close(ci.hi - ci.lo, 2 * t * se, 0.01 * (ci.hi - ci.lo));

	/* a denominator indistinguishable from 0 gives an unbounded interval */
	ci = ks_ratio_ci(1, 1, 5, 0.1, 5, 5, 0.95);
	assert_false(ci.bounded);
	ci = ks_ratio_ci(1, 1, 1, 1, 1, 5, 0.95);
	assert_false(ci.bounded);
}

static void test_mw_exact(void **state)
{
	double x[] = { 0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46 };
	double y[] = { 1.15, 0.88, 0.90, 0.74, 1.21 };
	struct ks_mw_result r;
	assert_int_equal(ks_mann_whitney(x, 10, y, 5, &r), 0);
	assert_true(r.exact);
	assert_false(r.ties);
	assert_close(r.u, 35, 0);
	assert_close(r.p, 0.2544122544122544, 1e-12);
	/* swapped: W = 10 * 5 - 35 = 15, same two-sided p */
	assert_int_equal(ks_mann_whitney(y, 5, x, 10, &r), 0);
	assert_close(r.u, 15, 0);
	assert_close(r.p, 0.2544122544122544, 1e-12);

	assert_close(ks_mw_exact_cdf(5, 4, 6), 18.0 / 210, 1e-14);
	assert_close(ks_mw_exact_cdf(12, 4, 6), 114.0 / 210, 1e-14);
	assert_close(ks_mw_exact_cdf(9, 7, 8), 93.0 / 6435, 1e-14);
	assert_close(ks_mw_exact_cdf(-1, 7, 8), 0, 0);
	assert_close(ks_mw_exact_cdf(56, 7, 8), 1, 0);
	/* symmetry of the null distribution: P(U <= k) = P(U >= mn - k) */
	for (int k = 0; k <= 48; k++)
		assert_close(ks_mw_exact_cdf(k, 6, 8), 1 - ks_mw_exact_cdf(47 - k, 6, 8), 1e-13);
	/* complete separation, 3 vs 3: p = 2 / C(6,3) = 0.1 */
	double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
	assert_int_equal(ks_mann_whitney(a, 3, b, 3, &r), 0);
	assert_close(r.u, 0, 0);
	assert_close(r.p, 0.1, 1e-14);
	/* complete separation 20 vs 20: p = 2 / C(40,20) */
	double c[20], d[20];
	for (int i = 0; i < 20; i++)
		c[i] = i, d[i] = 100 + i;
	assert_int_equal(ks_mann_whitney(d, 20, c, 20, &r), 0);
	assert_close(r.u, 400, 0);
	assert_close(r.p / (2 / 137846528820.0), 1, 1e-9);
	assert_true(ks_mw_exact_cdf(3, 101, 5) != ks_mw_exact_cdf(3, 101, 5)); /* NaN: too big */
}

static void test_mw_normal(void **state)
{
	double x[] = { 1, 2, 2, 3, 4, 5, 5, 6 }, y[] = { 3, 4, 5, 6, 7, 7, 8, 9, 9 };
	struct ks_mw_result r;
	assert_int_equal(ks_mann_whitney(x, 8, y, 9, &r), 0);
	assert_false(r.exact);
	assert_true(r.ties);
	assert_close(r.u, 10.5, 1e-12);
	assert_close(r.z, -2.42050335756797, 1e-10);
	assert_close(r.p, 0.0154990361611156, 1e-12);

	/* large samples without ties use the normal approximation too (n >= 50) */
	double big_x[60], big_y[60];
	for (int i = 0; i < 60; i++)
		big_x[i] = 2 * i, big_y[i] = 2 * i + 1;
	assert_int_equal(ks_mann_whitney(big_x, 60, big_y, 60, &r), 0);
	assert_false(r.exact);
	/* U = sum over x = 2i of #{y < x} = i: 0 + 1 + ... + 59 = 1770; mean 1800;
	 * sigma = sqrt(60*60*121/12) = 190.525...; z = (1770 - 1800 + 0.5) / sigma */
	assert_close(r.u, 1770, 0);
	assert_close(r.z, -29.5 / sqrt(3600.0 * 121 / 12), 1e-12);
	assert_close(r.p, 2 * ks_norm_cdf(-29.5 / sqrt(3600.0 * 121 / 12)), 1e-12);

	/* all values equal: no evidence of a difference, p = 1 */
	double e[] = { 5, 5, 5, 5 };
	assert_int_equal(ks_mann_whitney(e, 4, e, 4, &r), 0);
	assert_close(r.p, 1, 0);
	/* bad input */
	double nan_v[] = { 1, NAN };
	assert_int_equal(ks_mann_whitney(nan_v, 2, e, 4, &r), -1);
	assert_int_equal(ks_mann_whitney(e, 0, e, 4, &r), -1);
}

static void test_outliers(void **state)
{
	double x[] = { 10, 10.1, 9.9, 10.2, 9.8, 10, 10.1, 9.9, 30, 10 };
	unsigned char flags[10];
	assert_int_equal(ks_outliers_mad(x, 10, KS_OUTLIER_Z, flags), 1);
	assert_int_equal(flags[8], 1);
	assert_int_equal(flags[0], 0);
	/* a clean normal sample has (almost) none */
	struct ks_rng rng;
	double n[200];
	ks_rng_seed(&rng, 7);
	for (int i = 0; i < 200; i++)
		n[i] = 100 + ks_rng_normal(&rng);
	assert_true(ks_outliers_mad(n, 200, KS_OUTLIER_Z, NULL) <= 1);
	/* MAD = 0 falls back to the mean absolute deviation */
	double y[] = { 5, 5, 5, 5, 5, 5, 5, 9 };
	assert_int_equal(ks_outliers_mad(y, 8, KS_OUTLIER_Z, flags), 1);
	assert_int_equal(flags[7], 1);
	double z[] = { 5, 5, 5, 5 };
	assert_int_equal(ks_outliers_mad(z, 4, KS_OUTLIER_Z, flags), 0);
	assert_int_equal(ks_outliers_mad(x, 2, KS_OUTLIER_Z, flags), 0);
}

/* A run time: 20 ms plus right-skewed noise (log-normal), like a real command. */
static double synthetic_time(struct ks_rng *rng, double base)
{
	return base + 0.002 * exp(0.5 * ks_rng_normal(rng));
}

static int trial_block(struct ks_rng *rng, int n, int trials)
{
	int quiet = 0;
	for (int trial = 0; trial < trials; trial++) {
		double a[60], b[60];
		struct ks_comparison c;
		for (int i = 0; i < n; i++) {
			a[i] = synthetic_time(rng, 0.020);
			b[i] = synthetic_time(rng, 0.020);
		}
		assert_int_equal(ks_compare(a, n, b, n, 0.05, &c), 0);
		quiet += c.verdict == 0;
	}
	return quiet;
}

static void test_same_command_twice(void **state)
{
	/* Two samples of the same command: Welch's test at level 5% shows no significant
	 * difference in 95 of 100 trials on average; a single block of 100 varies binomially
	 * (sd 2.2), so a block must reach 90 (2 sd below). Deterministic: a fixed seed. */
	struct ks_rng rng;
	int sizes[] = { 10, 30 };
	ks_rng_seed(&rng, 20240611);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		int quiet = trial_block(&rng, sizes[s], 100);
		print_message("n = %d: no significant difference in %d of 100 trials\n", sizes[s], quiet);
		assert_true(quiet >= 90);
	}
	/* That the rate is right and not luck of the seed: over 2000 trials per sample size
	 * the false positive rate stays at or below alpha, with 2 standard errors of slack. */
	int big[] = { 10, 30, 60 };
	for (size_t s = 0; s < sizeof(big) / sizeof(big[0]); s++) {
		int fp = 2000 - trial_block(&rng, big[s], 2000);
		print_message("n = %d: false positives in %d of 2000 trials\n", big[s], fp);
		assert_true(fp <= 120);
	}
}

static void test_real_difference_detected(void **state)
{
	/* 20 ms vs 21 ms (5% slower) with the same noise: detected as slower, ratio CI
	 * covering the true ratio. */
	struct ks_rng rng;
	double a[30], b[30];
	struct ks_comparison c;
	ks_rng_seed(&rng, 99);
	for (int i = 0; i < 30; i++) {
		a[i] = synthetic_time(&rng, 0.021);
		b[i] = synthetic_time(&rng, 0.020);
	}
	assert_int_equal(ks_compare(a, 30, b, 30, 0.05, &c), 0);
	assert_int_equal(c.verdict, 1);
	assert_true(c.p < 0.05 && c.ci.lo > 1); /* the p-value and the interval agree */
	assert_true(c.ci.lo < 1.0454 && c.ci.hi > 1.0454); /* (21 + 2.27) / (20 + 2.27) */
	assert_close(c.resolution, (c.ci.hi - c.ci.lo) / 2 / c.ratio, 1e-12);
	assert_int_equal(ks_compare(b, 30, a, 30, 0.05, &c), 0);
	assert_int_equal(c.verdict, -1);
	double zero[] = { 0, 0 };
	assert_int_equal(ks_compare(a, 30, zero, 2, 0.05, &c), -1);
	assert_int_equal(ks_compare(a, 1, b, 30, 0.05, &c), -1);
}

static void test_median_ci(void **state)
{
	/* exact binomial ranks: n = 10 -> [x2, x9] (P(Bin <= 1) = 11/1024 <= 0.025 <
	 * P(Bin <= 2) = 56/1024); n = 100 -> [x40, x61]; n = 5 cannot reach 95% (1/32 > 0.025) */
	double x[100];
	for (int i = 0; i < 100; i++)
		x[i] = i + 1;
	struct ks_interval ci = ks_median_ci_sorted(x, 10, 0.95);
	assert_true(ci.bounded && ci.lo == 2 && ci.hi == 9);
	ci = ks_median_ci_sorted(x, 100, 0.95);
	assert_true(ci.bounded && ci.lo == 40 && ci.hi == 61);
	ci = ks_median_ci_sorted(x, 6, 0.95);
	assert_true(ci.bounded && ci.lo == 1 && ci.hi == 6);
	ci = ks_median_ci_sorted(x, 5, 0.95);
	assert_false(ci.bounded);
	/* large n: the normal approximation's ranks, n/2 -+ 0.98 sqrt(n) */
	double *y = malloc(20001 * sizeof(double));
	for (int i = 0; i < 20001; i++)
		y[i] = i + 1;
	ci = ks_median_ci_sorted(y, 20001, 0.95);
	assert_true(ci.bounded && fabs(ci.lo - (10001 - 0.98 * sqrt(20001))) < 3);
	assert_true(fabs((ci.hi - 10001) - (10001 - ci.lo)) <= 1);
	free(y);
}

static void test_compare_verdict_agrees_with_p_and_ci(void **state)
{
	/* Whatever the data, the verdict, p < alpha and "1 outside the interval" are one
	 * statement (they came from two different tests before and could disagree). */
	struct ks_rng rng;
	ks_rng_seed(&rng, 7);
	for (int trial = 0; trial < 3000; trial++) {
		double a[40], b[40];
		struct ks_comparison c;
		size_t na = 2 + ks_rng_next(&rng) % 38, nb = 2 + ks_rng_next(&rng) % 38;
		double shift = 1 + 0.1 * ks_rng_normal(&rng), noise = 0.01 + 0.3 * ks_rng_uniform(&rng);
		for (size_t i = 0; i < na; i++)
			a[i] = shift * (1 + noise * ks_rng_normal(&rng));
		for (size_t i = 0; i < nb; i++)
			b[i] = 1 + noise * ks_rng_normal(&rng);
		if (ks_compare(a, na, b, nb, 0.05, &c) < 0)
			continue;
		assert_int_equal(c.verdict != 0, c.p < 0.05);
		if (c.ci.bounded)
			assert_int_equal(c.verdict != 0, c.ci.lo > 1 || c.ci.hi < 1);
	}
}

static void test_rng(void **state)
{
	struct ks_rng a, b;
	double sum = 0, sum2 = 0;
	ks_rng_seed(&a, 1);
	ks_rng_seed(&b, 1);
	for (int i = 0; i < 10; i++)
		assert_true(ks_rng_next(&a) == ks_rng_next(&b));
	for (int i = 0; i < 100000; i++) {
		double u = ks_rng_uniform(&a);
		assert_true(u > 0 && u < 1);
		double z = ks_rng_normal(&a);
		sum += z;
		sum2 += z * z;
	}
	assert_close(sum / 100000, 0, 0.02);
	assert_close(sum2 / 100000, 1, 0.02);
}

static void test_classify_and_format(void **state)
{
	struct ks_verdict v;
	char buf[512];
	ks_classify(0.100, 0.001, 0.001, -1, &v);
	assert_int_equal(v.cls, KS_RUN_WAITING);
	assert_true(v.approximate);
	ks_classify(1.0, 0.9, 0.05, -1, &v);
	assert_int_equal(v.cls, KS_RUN_CPU_USER);
	ks_classify(1.0, 0.2, 0.7, -1, &v);
	assert_int_equal(v.cls, KS_RUN_KERNEL_HEAVY);
	assert_close(v.sys_fraction, 0.7 / 0.9, 1e-12);
	/* a CPU-bound program on a busy machine: runnable but not running is not "waiting" */
	ks_classify(1.0, 0.4, 0.0, 0.55, &v);
	assert_int_equal(v.cls, KS_RUN_CPU_USER);
	ks_fmt_verdict(buf, sizeof(buf), &v, 1.0, 0.4, 0.0, 0.55);
	assert_non_null(strstr(buf, "CPU-bound in user space"));
	assert_non_null(strstr(buf, "waited 550.0 ms (55%) for a free CPU"));
	ks_classify(1.0, 0.4, 0.0, 0.05, &v);
	assert_int_equal(v.cls, KS_RUN_WAITING);
	/* parallel programs: CPU time above wall time */
	ks_classify(1.0, 1.9, 0.05, -1, &v);
	assert_int_equal(v.cls, KS_RUN_CPU_USER);
	ks_fmt_duration(buf, sizeof(buf), 0.02147);
	assert_string_equal(buf, "21.47 ms");
	ks_fmt_duration(buf, sizeof(buf), 1.5034);
	assert_string_equal(buf, "1.503 s");
	ks_fmt_duration(buf, sizeof(buf), 0.0008123);
	assert_string_equal(buf, "812.3 µs");
	ks_fmt_duration_as(buf, sizeof(buf), 0.0003, 0.02);
	assert_string_equal(buf, "0.30 ms");
	ks_fmt_bytes(buf, sizeof(buf), 1.9 * 1024 * 1024);
	assert_string_equal(buf, "1.90 MiB");
	ks_fmt_bytes(buf, sizeof(buf), 512);
	assert_string_equal(buf, "512 B");
	ks_fmt_count(buf, sizeof(buf), 1234567);
	assert_string_equal(buf, "1,234,567");
	ks_fmt_count(buf, sizeof(buf), 999);
	assert_string_equal(buf, "999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptive),
		cmocka_unit_test(test_t_quantiles),
		cmocka_unit_test(test_normal_and_beta),
		cmocka_unit_test(test_mean_ci),
		cmocka_unit_test(test_ratio_ci),
		cmocka_unit_test(test_compare_verdict_agrees_with_p_and_ci),
		cmocka_unit_test(test_median_ci),
		cmocka_unit_test(test_mw_exact),
		cmocka_unit_test(test_mw_normal),
		cmocka_unit_test(test_outliers),
		cmocka_unit_test(test_same_command_twice),
		cmocka_unit_test(test_real_difference_detected),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_classify_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
