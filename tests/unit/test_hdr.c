/* test_hdr.c: the log-linear histogram (stats/hdr.h) on known data.
 *
 * Expected values: bucket bounds follow from the definition (32 buckets below 32, then
 * 32 equal buckets per power of two); quantiles are the midpoint of the bucket of rank
 * ceil(q * n), clamped to [min, max], so they are checked against the exact order
 * statistic within the bucket's relative width (1/32). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include "stats/hdr.h"

static void test_buckets(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 64; v++)
		assert_int_equal(hdr_bucket(v), v);
	assert_int_equal(hdr_bucket(64), 64);
	assert_int_equal(hdr_bucket(65), 64);
	assert_int_equal(hdr_bucket(66), 65);
	/* every bucket's bounds contain exactly its values, contiguously */
	for (unsigned b = 0; b + 1 < HDR_BUCKETS; b++) {
		uint64_t lo = hdr_bucket_low(b), hi = hdr_bucket_high(b);
		assert_true(lo <= hi);
		assert_int_equal(hdr_bucket(lo), b);
		assert_int_equal(hdr_bucket(hi), b);
		assert_int_equal(hdr_bucket_low(b + 1), hi + 1);
		if (lo >= 64)
			assert_true((double)(hi - lo + 1) / (double)lo <= 1.0 / 32 + 1e-12);
	}
	assert_int_equal(hdr_bucket(UINT64_MAX), HDR_BUCKETS - 1);
	/* 1 ms and 10 ms, 2 us and 20 us land apart */
	assert_true(hdr_bucket(1000000) != hdr_bucket(10000000));
	assert_true(hdr_bucket(1000000) != hdr_bucket(1100000));
}

static void test_quantiles_modes(void **state)
{
	struct hdr_hist h;
	(void)state;
	hdr_init(&h);
	assert_int_equal(hdr_quantile(&h, 0.5), 0);
	/* 975 x 1 ms, 20 x 10 ms, 5 x 50 ms */
	hdr_add_n(&h, 1000000, 975);
	hdr_add_n(&h, 10000000, 20);
	for (int i = 0; i < 5; i++)
		hdr_add(&h, 50000000);
	assert_int_equal(h.count, 1000);
	assert_int_equal(h.min, 1000000);
	assert_int_equal(h.max, 50000000);
	assert_true(fabs(hdr_mean(&h) - (975e6 + 200e6 + 250e6) / 1000) < 1e-6);
	assert_true(fabs((double)hdr_quantile(&h, 0.5) - 1e6) <= 1e6 / 32);
	assert_true(fabs((double)hdr_quantile(&h, 0.975) - 1e6) <= 1e6 / 32);   /* rank 975 */
	assert_true(fabs((double)hdr_quantile(&h, 0.976) - 1e7) <= 1e7 / 32);   /* rank 976 */
	assert_true(fabs((double)hdr_quantile(&h, 0.99) - 1e7) <= 1e7 / 32);
	assert_true(fabs((double)hdr_quantile(&h, 0.999) - 5e7) <= 5e7 / 32);
	assert_int_equal(hdr_quantile(&h, 1.0), 50000000);
	assert_int_equal(hdr_quantile(&h, 0), 1000000);
	hdr_release(&h);
}

static void test_quantiles_uniform(void **state)
{
	struct hdr_hist h, m;
	(void)state;
	hdr_init(&h);
	hdr_init(&m);
	/* 1..100000: the value of rank ceil(q n) is ceil(q n) itself */
	for (uint64_t v = 1; v <= 100000; v++)
		hdr_add(v <= 50000 ? &h : &m, v);
	hdr_merge(&h, &m);
	assert_int_equal(h.count, 100000);
	assert_int_equal(h.min, 1);
	assert_int_equal(h.max, 100000);
	static const double qs[] = { 0.01, 0.1, 0.5, 0.9, 0.99, 0.999 };
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double exact = ceil(qs[i] * 100000);
		assert_true(fabs((double)hdr_quantile(&h, qs[i]) - exact) <= exact / 32 + 1);
	}
	/* small values are exact */
	hdr_release(&h);
	hdr_init(&h);
	for (uint64_t v = 0; v < 10; v++)
		hdr_add(&h, v);
	assert_int_equal(hdr_quantile(&h, 0.5), 4);
	assert_int_equal(hdr_quantile(&h, 0.95), 9);
	hdr_release(&h);
	hdr_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_quantiles_modes),
		cmocka_unit_test(test_quantiles_uniform),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
