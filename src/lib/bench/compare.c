/* compare.c: the comparisons of kiln bench (see compare.h). */
#include "bench/compare.h"
#include "stats/seqtest.h"
#include <math.h>
#include <string.h>

size_t kb_reference_index(const struct kb_result *r, size_t n, int fixed)
{
	size_t ref = 0;
	if (fixed)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (ks_mean(r[i].times, r[i].n) < ks_mean(r[ref].times, r[ref].n))
			ref = i;
	return ref;
}

double kb_compare_level(size_t n, int fixed, double alpha)
{
	double m;
	if (n < 3)
		return alpha;
	m = fixed ? (double)(n - 1) : (double)n * (double)(n - 1) / 2;
	return alpha / m;
}

static void from_welch(const struct ks_comparison *w, struct kb_comparison *c)
{
	c->test = KB_TEST_WELCH;
	c->ratio = c->mean_ratio = w->ratio;
	c->ci = w->ci;
	c->p = w->p;
	c->resolution = w->resolution;
	c->verdict = w->verdict;
}

int kb_compare_pair(const struct kb_result *a, const struct kb_result *b, int paired,
		    double alpha, struct kb_comparison *c)
{
	const char *ref = c->reference;
	size_t ri = c->ref_result, ai = c->result;
	memset(c, 0, sizeof(*c));
	c->reference = ref;
	c->ref_result = ri;
	c->result = ai;
	c->alpha = alpha;
	if (a->n && b->n)
		c->mean_ratio = ks_mean(a->times, a->n) / ks_mean(b->times, b->n);
	if (paired && a->n == b->n) {
		struct ks_seq_result r;
		c->test = KB_TEST_SEQUENTIAL;
		if (a->n < 2 || !(ks_mean(b->times, b->n) > 0) ||
		    ks_seq_compare(a->times, b->times, a->n, alpha, &r) < 0)
			return -1;
		c->ratio = r.ratio;
		c->ci = r.ci;
		c->p = r.p;
		c->verdict = r.verdict;
		c->resolution = r.ci.bounded ? (r.ci.hi - r.ci.lo) / 2 / r.ratio : INFINITY;
	} else {
		struct ks_comparison w;
		c->test = KB_TEST_WELCH;
		if (ks_compare(a->times, a->n, b->times, b->n, alpha, &w) < 0)
			return -1;
		from_welch(&w, c);
	}
	c->valid = 1;
	return 0;
}

size_t kb_compare_all(const struct kb_result *r, size_t n, size_t ref, int fixed, int paired,
		      double alpha, struct kb_comparison *cmp)
{
	size_t k = 0;
	double level = kb_compare_level(n, fixed, alpha);
	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (i == ref)
			continue;
		memset(&cmp[k], 0, sizeof(cmp[k]));
		cmp[k].result = i;
		cmp[k].ref_result = ref;
		cmp[k].reference = r[ref].name;
		kb_compare_pair(&r[i], &r[ref], paired, level, &cmp[k]);
		k++;
	}
	return k;
}

void kb_compare_state(const struct kb_result *r, size_t n, int fixed, double alpha,
		      double precision, int *settled, int *precise)
{
	size_t ref;
	double level = kb_compare_level(n, fixed, alpha);
	*settled = *precise = 0;
	if (n < 2)
		return;
	ref = kb_reference_index(r, n, fixed);
	*settled = *precise = 1;
	for (size_t i = 0; i < n; i++) {
		struct ks_seq_result q;
		if (i == ref)
			continue;
		if (r[i].n != r[ref].n || ks_seq_compare(r[i].times, r[ref].times, r[i].n, level, &q) < 0) {
			*settled = *precise = 0;
			return;
		}
		if (!q.verdict)
			*settled = 0;
		/* a comparison is done when settled, or when its interval is narrow enough */
		if (!q.verdict && (!q.ci.bounded || q.ci.hi / q.ratio - 1 > precision ||
				   1 - q.ci.lo / q.ratio > precision))
			*precise = 0;
	}
}

int kb_compare_baseline(const struct kb_result *a, const struct kb_baseline_entry *e,
			const char *path, double alpha, struct kb_comparison *c)
{
	struct ks_comparison w;
	memset(c, 0, sizeof(*c));
	c->reference = path;
	c->ref_result = KB_NO_RESULT;
	c->alpha = alpha;
	c->test = KB_TEST_WELCH;
	if (ks_compare(a->times, a->n, e->times, e->n, alpha, &w) < 0)
		return -1;
	from_welch(&w, c);
	c->valid = 1;
	return 0;
}
