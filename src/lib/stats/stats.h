/* stats.h: the statistics behind kiln stat and kiln bench. Pure functions: no I/O,
 * no printing, no allocation except where a function says so.
 *
 * Conventions: samples are arrays of doubles (n may be 0 where stated); standard
 * deviations are sample standard deviations (divisor n-1); quantiles interpolate
 * linearly between order statistics (R's type 7, numpy's default):
 *   q(p) = x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)]),  h = (n-1) p
 * on the sorted sample x[0..n-1]. */
#ifndef KILN_STATS_STATS_H
#define KILN_STATS_STATS_H
#include <stddef.h>
#include <stdint.h>

/* ---- descriptive statistics ---- */

struct ks_summary {
	size_t n;
	double mean, stddev;      /* stddev 0 when n < 2 */
	double min, max;
	double median, p95, p99;
	double mad;               /* median absolute deviation (raw, not scaled by 1.4826) */
};

double ks_mean(const double *x, size_t n);              /* 0 for n == 0 */
double ks_stddev(const double *x, size_t n);            /* sample stddev; 0 for n < 2 */
/* Quantile p in [0,1] of an ALREADY SORTED sample (type 7 above); 0 for n == 0. */
double ks_quantile_sorted(const double *sorted, size_t n, double p);
/* Sorts x in place (ascending). */
void ks_sort(double *x, size_t n);
/* Fills s from x (x is not modified; a sorted copy is made internally). n == 0 gives zeros. */
void ks_summarize(const double *x, size_t n, struct ks_summary *s);

/* ---- outliers: modified z-score of Iglewicz and Hoaglin ----
 * M_i = 0.6745 (x_i - median) / MAD. When MAD is 0 (more than half the values equal)
 * the mean absolute deviation is used instead: M_i = (x_i - median) / (1.253314 MeanAD).
 * When both are 0 there are no outliers. A value is an outlier when |M_i| > threshold
 * (3.5 is the customary choice: KS_OUTLIER_Z). */
#define KS_OUTLIER_Z 3.5
/* Returns the number of outliers; if flags is non-NULL, flags[i] = 1 for each outlier. */
size_t ks_outliers_mad(const double *x, size_t n, double threshold, unsigned char *flags);

/* ---- distributions ---- */

/* Regularized incomplete beta function I_x(a, b), a, b > 0, x in [0,1]
 * (continued fraction, modified Lentz). Returns NaN for bad arguments. */
double ks_betainc(double a, double b, double x);
/* Student t distribution with df > 0 degrees of freedom (df need not be an integer). */
double ks_t_cdf(double t, double df);
/* Quantile: the t with P(T <= t) = p, p in (0,1). NaN for bad arguments. Accurate to ~1e-10. */
double ks_t_quantile(double p, double df);
/* Standard normal distribution. */
double ks_norm_cdf(double z);
double ks_norm_quantile(double p);

/* ---- confidence intervals ---- */

struct ks_interval {
	double lo, hi;
	int bounded;              /* 0 when the interval is unbounded (lo, hi meaningless) */
};

/* Two-sided confidence interval of the mean at level conf (e.g. 0.95), using Student's t
 * with n-1 degrees of freedom: mean +- t * s / sqrt(n). Unbounded when n < 2. */
struct ks_interval ks_mean_ci(const double *x, size_t n, double conf);
/* The same from summary figures. */
struct ks_interval ks_mean_ci_from(double mean, double stddev, size_t n, double conf);

/* Distribution-free confidence interval of the median at level conf: the order statistics
 * [x(k), x(n-k+1)] (1-based, of the ALREADY SORTED sample) with the largest k such that
 * 2 P(Bin(n, 1/2) <= k - 1) <= 1 - conf (exact binomial). Unbounded when n is too small
 * (n < 6 at 95%). Robust: a few runs delayed by another job hardly move it. */
struct ks_interval ks_median_ci_sorted(const double *sorted, size_t n, double conf);

/* Confidence interval of the ratio mean(a) / mean(b) of two INDEPENDENT samples, by
 * Fieller's theorem with Welch-Satterthwaite degrees of freedom: the set of R with
 *   (ma - R mb)^2 <= t^2 (va + R^2 vb),   va = sa^2/na, vb = sb^2/nb.
 * Unbounded when mb is not significantly different from 0 (g = t^2 vb / mb^2 >= 1)
 * or either sample has fewer than 2 values. */
struct ks_interval ks_ratio_ci(double ma, double sa, size_t na,
			       double mb, double sb, size_t nb, double conf);
/* Welch-Satterthwaite degrees of freedom for two samples (INFINITY if both variances are 0). */
double ks_welch_df(double sa, size_t na, double sb, size_t nb);

/* ---- Mann-Whitney U (Wilcoxon rank-sum) test, two-sided ----
 * Computed as R's wilcox.test(x, y, exact = NULL, correct = TRUE) does: the statistic
 * W = U_x = (sum of the ranks of x in the pooled sample) - nx (nx + 1) / 2, with mid-ranks
 * for ties. The p-value is exact when nx < 50, ny < 50 and there are no ties (the null
 * distribution of U by dynamic programming); otherwise the normal approximation with the
 * tie correction of the variance and a continuity correction of 0.5. */
struct ks_mw_result {
	double u;                 /* W = U of the first sample */
	double p;                 /* two-sided p-value in [0, 1] */
	int exact;                /* 1 if p is exact */
	double z;                 /* the normal deviate (0 when exact) */
	int ties;                 /* 1 if the pooled sample had ties */
};
/* Returns 0, or -1 (nothing printed) when a sample is empty or contains NaN. */
int ks_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, struct ks_mw_result *r);
/* P(U <= u) under the null hypothesis for sample sizes m, n (no ties), by dynamic
 * programming over the number of arrangements; m, n <= 100 (NaN beyond). */
double ks_mw_exact_cdf(double u, size_t m, size_t n);

/* ---- comparing two independent samples (kiln bench's baseline and --no-interleave test) ----
 * One test gives the verdict, the p-value and the interval, so that they always agree:
 * Welch's t-test of mean(a) = mean(b), t = (ma - mb) / sqrt(va + vb), with the
 * Welch-Satterthwaite degrees of freedom, and its inversion for the ratio R = ma / mb,
 * Fieller's interval with the same degrees of freedom (ks_ratio_ci at level 1 - alpha).
 * R = 1 lies outside the interval exactly when p < alpha. The verdict is "slower" (+1) or
 * "faster" (-1) when p < alpha, else 0, "no significant difference". With few runs on one
 * side (3 runs against a 2M-run baseline) the degrees of freedom are those of the small
 * side and the interval is wide: resolution = the half-width of the interval relative to
 * the ratio says which differences the runs could have shown at all. */
struct ks_comparison {
	double ratio;
	struct ks_interval ci;    /* Fieller, 1 - alpha; unbounded: see ks_ratio_ci */
	double t, df;             /* Welch's statistic and degrees of freedom */
	double p;                 /* two-sided p-value of Welch's test */
	double resolution;        /* (ci.hi - ci.lo) / 2 / ratio; INFINITY when unbounded */
	int verdict;
};
/* Returns 0, or -1 (nothing printed) when a sample has fewer than 2 values, contains NaN,
 * mean(b) is not positive, or alpha is not in (0, 1). */
int ks_compare(const double *a, size_t na, const double *b, size_t nb, double alpha,
	       struct ks_comparison *c);

/* ---- deterministic pseudo-random numbers (for tests and for shuffling run order) ---- */
struct ks_rng {
	uint64_t s;
};
void ks_rng_seed(struct ks_rng *r, uint64_t seed);
uint64_t ks_rng_next(struct ks_rng *r);          /* splitmix64 */
double ks_rng_uniform(struct ks_rng *r);         /* in (0, 1) */
double ks_rng_normal(struct ks_rng *r);          /* standard normal (Box-Muller) */

#endif
