/* stats.c: descriptive statistics, Student t and normal distributions, confidence
 * intervals (mean, ratio of means by Fieller), Mann-Whitney U, MAD outliers, a seeded PRNG. */
#include "stats/stats.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- descriptive ---- */

double ks_mean(const double *x, size_t n)
{
	double s = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

double ks_stddev(const double *x, size_t n)
{
	double m, ss = 0;
	if (n < 2)
		return 0;
	m = ks_mean(x, n);
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	return sqrt(ss / (double)(n - 1));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void ks_sort(double *x, size_t n)
{
	if (n > 1)
		qsort(x, n, sizeof(*x), cmp_double);
}

double ks_quantile_sorted(const double *sorted, size_t n, double p)
{
	double h, f;
	size_t i;
	if (!n)
		return 0;
	if (p <= 0)
		return sorted[0];
	if (p >= 1)
		return sorted[n - 1];
	h = (double)(n - 1) * p;
	f = floor(h);
	i = (size_t)f;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (h - f) * (sorted[i + 1] - sorted[i]);
}

void ks_summarize(const double *x, size_t n, struct ks_summary *s)
{
	double *v;
	memset(s, 0, sizeof(*s));
	s->n = n;
	if (!n)
		return;
	v = xmalloc(n * sizeof(*v));
	memcpy(v, x, n * sizeof(*v));
	ks_sort(v, n);
	s->mean = ks_mean(x, n);
	s->stddev = ks_stddev(x, n);
	s->min = v[0];
	s->max = v[n - 1];
	s->median = ks_quantile_sorted(v, n, 0.5);
	s->p95 = ks_quantile_sorted(v, n, 0.95);
	s->p99 = ks_quantile_sorted(v, n, 0.99);
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(x[i] - s->median);
	ks_sort(v, n);
	s->mad = ks_quantile_sorted(v, n, 0.5);
	free(v);
}

/* ---- outliers ---- */

size_t ks_outliers_mad(const double *x, size_t n, double threshold, unsigned char *flags)
{
	struct ks_summary s;
	double scale, mean_ad = 0;
	size_t count = 0;
	if (flags)
		memset(flags, 0, n);
	if (n < 3)
		return 0;
	ks_summarize(x, n, &s);
	if (s.mad > 0) {
		scale = s.mad / 0.6745;
	} else {
		for (size_t i = 0; i < n; i++)
			mean_ad += fabs(x[i] - s.median);
		mean_ad /= (double)n;
		if (mean_ad <= 0)
			return 0;
		scale = 1.253314 * mean_ad;
	}
	for (size_t i = 0; i < n; i++) {
		if (fabs(x[i] - s.median) / scale > threshold) {
			count++;
			if (flags)
				flags[i] = 1;
		}
	}
	return count;
}

/* ---- distributions ---- */

/* Continued fraction for the incomplete beta function, evaluated by the modified
 * Lentz method; converges quickly for x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 10000; m++) {
		double m2 = 2.0 * m, num, del;
		/* even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)) */
		num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		/* odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) */
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

double ks_betainc(double a, double b, double x)
{
	double lfront;
	if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
		return NAN;
	if (x == 0)
		return 0;
	if (x == 1)
		return 1;
	lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lfront) * betacf(a, b, x) / a;
	return 1 - exp(lfront) * betacf(b, a, 1 - x) / b;
}

double ks_t_cdf(double t, double df)
{
	double x, tail;
	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(df))
		return ks_norm_cdf(t);
	if (isinf(t))
		return t > 0 ? 1 : 0;
	x = df / (df + t * t);
	tail = 0.5 * ks_betainc(df / 2, 0.5, x); /* P(T > |t|) */
	return t > 0 ? 1 - tail : tail;
}

static double t_pdf(double t, double df)
{
	return exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI) -
		   (df + 1) / 2 * log1p(t * t / df));
}

/* Solves cdf(t) = p for p > 0.5 by bracketing and safeguarded Newton steps. */
static double invert_upper(double p, double df, int normal)
{
	double lo = 0, hi = 1, t;
	while ((normal ? ks_norm_cdf(hi) : ks_t_cdf(hi, df)) < p && hi < 1e300)
		lo = hi, hi *= 2;
	t = (lo + hi) / 2;
	for (int i = 0; i < 300; i++) {
		double c = normal ? ks_norm_cdf(t) : ks_t_cdf(t, df);
		double f = normal ? exp(-t * t / 2) / sqrt(2 * M_PI) : t_pdf(t, df);
		double nt;
		if (c < p)
			lo = t;
		else
			hi = t;
		nt = f > 0 ? t - (c - p) / f : (lo + hi) / 2;
		if (!(nt > lo && nt < hi))
			nt = (lo + hi) / 2;
		if (fabs(nt - t) <= 1e-14 * fmax(1, fabs(t)) || hi - lo <= 1e-15 * fmax(1, hi))
			return nt;
		t = nt;
	}
	return t;
}

double ks_t_quantile(double p, double df)
{
	if (!(p > 0 && p < 1) || !(df > 0))
		return NAN;
	if (p == 0.5)
		return 0;
	if (p < 0.5)
		return -ks_t_quantile(1 - p, df);
	return invert_upper(p, df, isinf(df));
}

double ks_norm_cdf(double z)
{
	return 0.5 * erfc(-z / M_SQRT2);
}

double ks_norm_quantile(double p)
{
	if (!(p > 0 && p < 1))
		return NAN;
	if (p == 0.5)
		return 0;
	if (p < 0.5)
		return -ks_norm_quantile(1 - p);
	return invert_upper(p, INFINITY, 1);
}

/* ---- confidence intervals ---- */

struct ks_interval ks_mean_ci_from(double mean, double stddev, size_t n, double conf)
{
	struct ks_interval ci = { 0, 0, 0 };
	double t, half;
	if (n < 2 || !(conf > 0 && conf < 1))
		return ci;
	t = ks_t_quantile((1 + conf) / 2, (double)(n - 1));
	half = t * stddev / sqrt((double)n);
	ci.lo = mean - half;
	ci.hi = mean + half;
	ci.bounded = 1;
	return ci;
}

/* P(Bin(n, 1/2) <= k) = I_{1/2}(n - k, k + 1) */
static double binom_half_cdf(size_t k, size_t n)
{
	if (k >= n)
		return 1;
	return ks_betainc((double)(n - k), (double)k + 1, 0.5);
}

struct ks_interval ks_median_ci_sorted(const double *x, size_t n, double conf)
{
	struct ks_interval ci = { 0, 0, 0 };
	double tail = (1 - conf) / 2;
	long k;
	if (n < 2 || !(conf > 0 && conf < 1))
		return ci;
	/* start below the normal approximation, then walk up while the coverage holds */
	k = (long)floor(((double)n - ks_norm_quantile(1 - tail) * sqrt((double)n)) / 2) - 2;
	if (k < 1)
		k = 1;
	if (binom_half_cdf((size_t)k - 1, n) > tail)
		return ci; /* even [x(1), x(n)] does not reach the level */
	while ((size_t)k + 1 <= (n + 1) / 2 && binom_half_cdf((size_t)k, n) <= tail)
		k++;
	ci.lo = x[k - 1];
	ci.hi = x[n - (size_t)k];
	ci.bounded = 1;
	return ci;
}

struct ks_interval ks_mean_ci(const double *x, size_t n, double conf)
{
	return ks_mean_ci_from(ks_mean(x, n), ks_stddev(x, n), n, conf);
}

double ks_welch_df(double sa, size_t na, double sb, size_t nb)
{
	double va, vb, num, den;
	if (na < 2 || nb < 2)
		return NAN;
	va = sa * sa / (double)na;
	vb = sb * sb / (double)nb;
	num = (va + vb) * (va + vb);
	den = va * va / (double)(na - 1) + vb * vb / (double)(nb - 1);
	if (den <= 0)
		return INFINITY;
	return num / den;
}

struct ks_interval ks_ratio_ci(double ma, double sa, size_t na,
			       double mb, double sb, size_t nb, double conf)
{
	struct ks_interval ci = { 0, 0, 0 };
	double df, t, t2, va, vb, A, disc;
	if (na < 2 || nb < 2 || !(conf > 0 && conf < 1) || mb == 0)
		return ci;
	df = ks_welch_df(sa, na, sb, nb);
	t = isinf(df) ? ks_norm_quantile((1 + conf) / 2) : ks_t_quantile((1 + conf) / 2, df);
	t2 = t * t;
	va = sa * sa / (double)na;
	vb = sb * sb / (double)nb;
	A = mb * mb - t2 * vb;
	if (A <= 0)
		return ci; /* the denominator is not significantly non-zero: unbounded */
	disc = t2 * (va * A + vb * ma * ma);
	if (disc < 0)
		disc = 0;
	ci.lo = (ma * mb - sqrt(disc)) / A;
	ci.hi = (ma * mb + sqrt(disc)) / A;
	ci.bounded = 1;
	return ci;
}

/* ---- Mann-Whitney U ---- */

double ks_mw_exact_cdf(double u, size_t m, size_t n)
{
	size_t mn, width;
	double *f, total = 0, below = 0;
	long k;
	if (m > 100 || n > 100 || isnan(u))
		return NAN;
	mn = m * n;
	if (u < 0)
		return 0;
	if (u >= (double)mn)
		return 1;
	k = (long)floor(u);
	width = mn + 1;
	/* f[i * width + k]: arrangements of i x's and j y's with U = k, for the current j.
	 * f(i, j, k) = f(i, j-1, k) + f(i-1, j, k-j): the largest value is a y (adds 0)
	 * or an x (exceeds all j y's). */
	f = xcalloc((m + 1) * width, sizeof(*f));
	for (size_t i = 0; i <= m; i++)
		f[i * width] = 1; /* j = 0: only U = 0 */
	for (size_t j = 1; j <= n; j++)
		for (size_t i = 1; i <= m; i++)
			for (size_t kk = i * j + 1; kk-- > j;)
				f[i * width + kk] += f[(i - 1) * width + kk - j];
	for (size_t kk = 0; kk <= mn; kk++) {
		total += f[m * width + kk];
		if ((long)kk <= k)
			below += f[m * width + kk];
	}
	free(f);
	return below / total;
}

struct rank_item {
	double v;
	int from_x;
};

static int cmp_rank_item(const void *a, const void *b)
{
	const struct rank_item *x = a, *y = b;
	return (x->v > y->v) - (x->v < y->v);
}

int ks_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, struct ks_mw_result *r)
{
	size_t n = nx + ny, i = 0;
	struct rank_item *it;
	double rank_sum_x = 0, tie_term = 0, mean_u, p;
	memset(r, 0, sizeof(*r));
	if (!nx || !ny)
		return -1;
	it = xmalloc(n * sizeof(*it));
	for (size_t k = 0; k < nx; k++) {
		if (isnan(x[k]))
			goto bad;
		it[k].v = x[k];
		it[k].from_x = 1;
	}
	for (size_t k = 0; k < ny; k++) {
		if (isnan(y[k]))
			goto bad;
		it[nx + k].v = y[k];
		it[nx + k].from_x = 0;
	}
	qsort(it, n, sizeof(*it), cmp_rank_item);
	while (i < n) {
		size_t j = i;
		double mid;
		while (j + 1 < n && it[j + 1].v == it[i].v)
			j++;
		mid = ((double)(i + 1) + (double)(j + 1)) / 2; /* ranks i+1 .. j+1 */
		for (size_t k = i; k <= j; k++)
			if (it[k].from_x)
				rank_sum_x += mid;
		if (j > i) {
			double t = (double)(j - i + 1);
			tie_term += t * t * t - t;
			r->ties = 1;
		}
		i = j + 1;
	}
	free(it);
	r->u = rank_sum_x - (double)nx * ((double)nx + 1) / 2;
	mean_u = (double)nx * (double)ny / 2;
	if (nx < 50 && ny < 50 && !r->ties) {
		r->exact = 1;
		if (r->u > mean_u) /* P(U >= u) = P(U <= nx ny - u) by symmetry, no cancellation */
			p = ks_mw_exact_cdf((double)nx * (double)ny - r->u, nx, ny);
		else
			p = ks_mw_exact_cdf(r->u, nx, ny);
		r->p = fmin(1, 2 * p);
	} else {
		double z = r->u - mean_u;
		double sigma = sqrt((double)nx * (double)ny / 12 *
				    (((double)n + 1) - tie_term / ((double)n * ((double)n - 1))));
		double corr = z > 0 ? 0.5 : z < 0 ? -0.5 : 0;
		if (!(sigma > 0)) {
			r->p = 1;
			return 0;
		}
		z = (z - corr) / sigma;
		r->z = z;
		r->p = fmin(1, 2 * fmin(ks_norm_cdf(z), ks_norm_cdf(-z)));
	}
	return 0;
bad:
	free(it);
	return -1;
}

/* ---- comparison ---- */

int ks_compare(const double *a, size_t na, const double *b, size_t nb, double alpha,
	       struct ks_comparison *c)
{
	double ma, mb, sa, sb, se;
	memset(c, 0, sizeof(*c));
	if (na < 2 || nb < 2 || !(alpha > 0 && alpha < 1))
		return -1;
	for (size_t i = 0; i < na; i++)
		if (isnan(a[i]))
			return -1;
	for (size_t i = 0; i < nb; i++)
		if (isnan(b[i]))
			return -1;
	ma = ks_mean(a, na);
	mb = ks_mean(b, nb);
	if (!(mb > 0))
		return -1;
	sa = ks_stddev(a, na);
	sb = ks_stddev(b, nb);
	c->ratio = ma / mb;
	c->df = ks_welch_df(sa, na, sb, nb);
	se = sqrt(sa * sa / (double)na + sb * sb / (double)nb);
	if (se > 0) {
		c->t = (ma - mb) / se;
		c->p = isinf(c->df) ? 2 * ks_norm_cdf(-fabs(c->t)) : 2 * ks_t_cdf(-fabs(c->t), c->df);
	} else {
		c->t = ma > mb ? INFINITY : ma < mb ? -INFINITY : 0;
		c->p = ma == mb ? 1 : 0;
	}
	c->p = fmin(1, c->p);
	c->ci = ks_ratio_ci(ma, sa, na, mb, sb, nb, 1 - alpha);
	if (se > 0 && !c->ci.bounded)
		c->resolution = INFINITY;
	else if (se > 0)
		c->resolution = (c->ci.hi - c->ci.lo) / 2 / c->ratio;
	if (se == 0) { /* no spread at all: the interval is the point */
		c->ci.lo = c->ci.hi = c->ratio;
		c->ci.bounded = 1;
	}
	if (c->p < alpha)
		c->verdict = ma > mb ? 1 : -1;
	return 0;
}

/* ---- PRNG ---- */

void ks_rng_seed(struct ks_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t ks_rng_next(struct ks_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double ks_rng_uniform(struct ks_rng *r)
{
	/* 53 random bits, shifted off 0 */
	return ((double)(ks_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double ks_rng_normal(struct ks_rng *r)
{
	double u1 = ks_rng_uniform(r), u2 = ks_rng_uniform(r);
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}
