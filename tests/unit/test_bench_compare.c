/* test_bench_compare.c: kiln bench's comparisons (bench/compare.h): the reference, the
 * Bonferroni level, the paired sequential test for interleaved runs, Welch's test for
 * baselines, and the case: a 2M-run baseline against 3 slower runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/compare.h"
#include "stats/seqtest.h"
#include "util/xalloc.h"

static void make_result(struct kb_result *r, const char *name, const double *t, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->command = xstrdup(name);
	for (size_t i = 0; i < n; i++)
		kb_result_add(r, t[i], 0, 0, 0, 0, NULL);
	kb_result_finish(r);
}

static void test_reference_and_level(void **state)
{
	struct kb_result r[3];
	double a[4] = { 3, 3.1, 2.9, 3 }, b[4] = { 1, 1.1, 0.9, 1 }, c[4] = { 2, 2.1, 1.9, 2 };
	make_result(&r[0], "a", a, 4);
	make_result(&r[1], "b", b, 4);
	make_result(&r[2], "c", c, 4);
	assert_int_equal(kb_reference_index(r, 3, 0), 1);  /* the fastest */
	assert_int_equal(kb_reference_index(r, 3, 1), 0);  /* --reference is first */
	assert_true(kb_compare_level(2, 0, 0.05) == 0.05);
	assert_true(fabs(kb_compare_level(3, 1, 0.05) - 0.025) < 1e-15);   /* 2 comparisons */
	assert_true(fabs(kb_compare_level(3, 0, 0.05) - 0.05 / 3) < 1e-15); /* 3 pairs */
	assert_true(fabs(kb_compare_level(5, 0, 0.05) - 0.005) < 1e-15);   /* 10 pairs */
	for (int i = 0; i < 3; i++)
		kb_result_release(&r[i]);
}

static void test_paired_sequential(void **state)
{
	/* 12 interleaved rounds, #1 1.3x #2 in every round: settled, the median ratio and its
	 * interval from the sign test; the mean ratio kept apart for the JSON's "ratio" */
	double a[12], b[12];
	struct kb_result r[2];
	struct kb_comparison cmp[1];
	int settled, precise;
	for (int i = 0; i < 12; i++) {
		b[i] = 0.010 * (1 + 0.02 * ((i * 7) % 5));
		a[i] = 1.3 * b[i] * (1 + 0.01 * ((i * 3) % 4));
	}
	make_result(&r[0], "slow", a, 12);
	make_result(&r[1], "fast", b, 12);
	assert_int_equal(kb_compare_all(r, 2, 1, 0, 1, 0.05, cmp), 1);
	assert_int_equal(cmp[0].result, 0);
	assert_int_equal(cmp[0].ref_result, 1);
	assert_string_equal(cmp[0].reference, "fast");
	assert_int_equal(cmp[0].test, KB_TEST_SEQUENTIAL);
	assert_int_equal(cmp[0].valid, 1);
	assert_int_equal(cmp[0].verdict, 1);
	assert_true(cmp[0].p <= 0.05 && cmp[0].ci.bounded && cmp[0].ci.lo > 1);
	assert_true(cmp[0].ratio >= 1.3 && cmp[0].ratio <= 1.3 * 1.03);
	assert_true(fabs(cmp[0].mean_ratio - ks_mean(a, 12) / ks_mean(b, 12)) < 1e-12);
	kb_compare_state(r, 2, 0, 0.05, 0.01, &settled, &precise);
	assert_int_equal(settled, 1);
	/* unpaired (--no-interleave): Welch's test on the same data */
	assert_int_equal(kb_compare_all(r, 2, 1, 0, 0, 0.05, cmp), 1);
	assert_int_equal(cmp[0].test, KB_TEST_WELCH);
	assert_int_equal(cmp[0].verdict, 1);
	assert_true(cmp[0].ratio == cmp[0].mean_ratio);
	/* the same command twice: not settled, never a difference */
	kb_result_release(&r[0]);
	make_result(&r[0], "fast again", b, 12);
	kb_compare_state(r, 2, 0, 0.05, 0.01, &settled, &precise);
	assert_int_equal(settled, 0);
	assert_int_equal(kb_compare_all(r, 2, 1, 0, 1, 0.05, cmp), 1);
	assert_int_equal(cmp[0].verdict, 0);
	assert_true(cmp[0].p > 0.05);
	/* one run each: no test */
	kb_result_release(&r[0]);
	kb_result_release(&r[1]);
	make_result(&r[0], "x", a, 1);
	make_result(&r[1], "y", b, 1);
	assert_int_equal(kb_compare_all(r, 2, 1, 0, 1, 0.05, cmp), 1);
	assert_int_equal(cmp[0].valid, 0);
	kb_result_release(&r[0]);
	kb_result_release(&r[1]);
}

/* The issue: "a 2M-entry baseline against 3 slower runs prints p < 0.0001 beside no
 * significant difference". The baseline's times have a coarse resolution (98% of them the
 * same 10.0 ms, the rest 9.9 or 10.1 ms: a baseline rounded to 0.1 ms); the 3 new runs are all slower than all of it but far
 * apart. The rank test behind the old p-value (Mann-Whitney, normal approximation with
 * the tie correction) calls that p < 0.0001; the ratio's interval, from 3 runs, cannot
 * exclude 1. Now one test (Welch's, dual to Fieller's interval) gives both: no
 * significant difference, p well above alpha, and how large a difference 3 runs could
 * have shown at all. */
static void test_two_million_against_three(void **state)
{
	const size_t nbase = 2000000;
	struct kb_baseline_entry e;
	struct kb_result now;
	struct kb_comparison c;
	struct ks_mw_result mw;
	double runs[3] = { 0.0102, 0.0110, 0.0130 };
	struct ks_rng rng;
	e.name = (char *)"work";
	e.n = nbase;
	e.times = xmalloc(nbase * sizeof(double));
	ks_rng_seed(&rng, 2000000);
	for (size_t i = 0; i < nbase; i++)
		e.times[i] = ks_rng_uniform(&rng) < 0.98 ? 0.0100 : 0.0099 + 0.0002 * (double)(i % 2);
	e.mean = ks_mean(e.times, nbase);
	make_result(&now, "work", runs, 3);
	/* the old contradiction, for the record */
	assert_int_equal(ks_mann_whitney(now.times, 3, e.times, nbase, &mw), 0);
	assert_true(mw.p < 0.0001);
	/* the comparison now */
	assert_int_equal(kb_compare_baseline(&now, &e, "base.json", 0.05, &c), 0);
	assert_int_equal(c.valid, 1);
	assert_int_equal(c.test, KB_TEST_WELCH);
	assert_int_equal(c.verdict, 0);
	assert_true(c.p > 0.05 && c.p < 0.5);
	assert_true(c.ci.bounded && c.ci.lo < 1 && c.ci.hi > 1);
	assert_true(c.ratio > 1.13 && c.ratio < 1.15);      /* 11.4 ms / 10.0 ms */
	/* 3 runs (t with ~2 degrees of freedom: 4.30) resolve only differences beyond ~35% */
	assert_true(c.resolution > 0.3 && c.resolution < 0.4);
	/* three runs that agree with each other, 50% slower: significant, in agreement */
	double tight[3] = { 0.0150, 0.0151, 0.0149 };
	kb_result_release(&now);
	make_result(&now, "work", tight, 3);
	assert_int_equal(kb_compare_baseline(&now, &e, "base.json", 0.05, &c), 0);
	assert_int_equal(c.verdict, 1);
	assert_true(c.p < 0.05 && c.ci.lo > 1);
	kb_result_release(&now);
	free(e.times);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_and_level),
		cmocka_unit_test(test_paired_sequential),
		cmocka_unit_test(test_two_million_against_three),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
