/* seqtest.c: the anytime-valid paired sign test of kiln bench (see seqtest.h). */
#include "stats/seqtest.h"
#include "util/xalloc.h"
#include <math.h>
#include <string.h>

static double log_bf(size_t k, size_t n)
{
	return (double)n * M_LN2 + lgamma((double)k + 1) + lgamma((double)(n - k) + 1) - lgamma((double)n + 2);
}

double ks_sign_bf(size_t k, size_t n)
{
	if (k > n)
		return NAN;
	return exp(log_bf(k, n));
}

size_t ks_sign_kcrit(size_t n, double alpha)
{
	double lim = -log(alpha);
	size_t k = 0;
	/* E_n(k) falls as k goes from 0 to n/2 */
	while (k <= n / 2 && log_bf(k, n) >= lim)
		k++;
	return k > n / 2 && log_bf(n / 2, n) >= lim ? n / 2 + 1 : k;
}

void ks_sign_count(const double *a, const double *b, size_t n, size_t *above, size_t *untied)
{
	*above = *untied = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i] > b[i])
			(*above)++;
		if (a[i] != b[i])
			(*untied)++;
	}
}

int ks_sign_settled(const double *a, const double *b, size_t n, double alpha)
{
	size_t k, m;
	ks_sign_count(a, b, n, &k, &m);
	return m > 0 && log_bf(k, m) >= -log(alpha);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

int ks_seq_compare(const double *a, const double *b, size_t n, double alpha, struct ks_seq_result *r)
{
	double *q;
	size_t kc;
	memset(r, 0, sizeof(*r));
	if (n < 1 || !(alpha > 0 && alpha < 1))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(a[i] >= 0) || !(b[i] >= 0))
			return -1;
	q = xmalloc(n * sizeof(*q));
	for (size_t i = 0; i < n; i++)
		q[i] = a[i] == b[i] ? 1 : b[i] > 0 ? a[i] / b[i] : INFINITY;
	qsort(q, n, sizeof(*q), cmp_double);
	r->ratio = ks_quantile_sorted(q, n, 0.5);
	if (isnan(r->ratio)) /* inf - inf in the interpolation: both middle ratios infinite */
		r->ratio = INFINITY;
	ks_sign_count(a, b, n, &r->above, &r->untied);
	r->bf = r->untied ? ks_sign_bf(r->above, r->untied) : 1;
	r->p = fmin(1, 1 / r->bf);
	/* The interval: R with kcrit <= #(q > R) <= n - kcrit, i.e. [q(kc - 1), q(n - kc)]
	 * (0-based order statistics); unbounded when no count rejects. */
	kc = ks_sign_kcrit(n, alpha);
	if (kc >= 1 && kc <= n - kc + 1 && isfinite(q[n - kc])) {
		r->ci.lo = q[kc - 1];
		r->ci.hi = q[n - kc];
		r->ci.bounded = 1;
	}
	/* The verdict from the same test at R = 1; ties at exactly 1 are left out of the count,
	 * so settle any disagreement at the boundary in favour of the interval. */
	if (r->untied && log_bf(r->above, r->untied) >= -log(alpha))
		r->verdict = 2 * r->above > r->untied ? 1 : -1;
	if (r->ci.bounded && r->verdict && r->ci.lo <= 1 && r->ci.hi >= 1)
		r->verdict = 0;
	else if (r->ci.bounded && !r->verdict && (r->ci.lo > 1 || r->ci.hi < 1))
		r->verdict = r->ci.lo > 1 ? 1 : -1;
	if (r->verdict)
		r->p = fmin(r->p, alpha);
	else
		r->p = fmax(r->p, nextafter(alpha, 1));
	free(q);
	return 0;
}
