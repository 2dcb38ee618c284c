/* test_latency.c: pairing entries with returns (latency/lat_pair.h), function specs and
 * suggestions (latency/lat_funcs.h), on hand-made sequences with known answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "latency/lat_funcs.h"
#include "latency/lat_pair.h"
#include "util/error.h"

struct counts {
	unsigned never, progress;
	uint32_t last_func;
};

static void on_abandon(void *ctx, int32_t tid, const struct lat_frame *f, int why)
{
	struct counts *c = ctx;
	(void)tid;
	if (why == LAT_IN_PROGRESS)
		c->progress++;
	else
		c->never++;
	c->last_func = f->func;
}

static struct lat_pairer *mk(struct counts *c)
{
	static const struct lat_pair_ops ops = { on_abandon };
	memset(c, 0, sizeof(*c));
	return lat_pairer_new(&ops, c);
}

static void test_recursion(void **state)
{
	struct counts c;
	struct lat_pairer *p = mk(&c);
	struct lat_frame f;
	(void)state;
	/* f(3) -> f(2) -> f(1): each level 0x40 bytes deeper */
	for (int i = 0; i < 3; i++)
		lat_pair_entry(p, 7, 0, 0x1000 - 0x40 * (uint64_t)i, 100 + (uint64_t)i, (uint64_t)i);
	for (int i = 2; i >= 0; i--) {
		assert_int_equal(lat_pair_return(p, 7, 0, 0x1000 - 0x40 * (uint64_t)i + 8, &f), 1);
		assert_int_equal(f.t, 100 + (uint64_t)i);
		assert_int_equal(f.data, (uint64_t)i);
	}
	assert_int_equal(lat_pair_open(p), 0);
	assert_int_equal(c.never, 0);
	lat_pairer_free(p);
}

static void test_longjmp_and_unmatched(void **state)
{
	struct counts c;
	struct lat_pairer *p = mk(&c);
	struct lat_frame f;
	(void)state;
	/* outer(0) at 0x2000, a(1) at 0x1f00, b(2) at 0x1e00; longjmp back into outer's
	 * caller level: the next return is outer's, with a and b abandoned */
	lat_pair_entry(p, 1, 0, 0x2000, 1, 0);
	lat_pair_entry(p, 1, 1, 0x1f00, 2, 0);
	lat_pair_entry(p, 1, 2, 0x1e00, 3, 0);
	assert_int_equal(lat_pair_return(p, 1, 0, 0x2008, &f), 1);
	assert_int_equal(f.func, 0);
	assert_int_equal(c.never, 2);
	/* a return with no entry: unmatched, nothing abandoned */
	assert_int_equal(lat_pair_return(p, 1, 5, 0x3008, &f), 0);
	assert_int_equal(c.never, 2);
	/* a call re-entered at a shallower level after a longjmp abandons the deeper one */
	lat_pair_entry(p, 1, 1, 0x1f00, 4, 0);
	lat_pair_entry(p, 1, 1, 0x1f80, 5, 0);
	assert_int_equal(c.never, 3);
	assert_int_equal(lat_pair_return(p, 1, 1, 0x1f88, &f), 1);
	assert_int_equal(f.t, 5);
	lat_pairer_free(p);
}

static void test_threads_and_end(void **state)
{
	struct counts c;
	struct lat_pairer *p = mk(&c);
	struct lat_frame f;
	(void)state;
	/* 200 threads, each with one open call: tables grow */
	for (int32_t tid = 1; tid <= 200; tid++)
		lat_pair_entry(p, tid, 3, 0x7000, (uint64_t)tid, 0);
	assert_int_equal(lat_pair_open(p), 200);
	/* thread 5 returns; thread 6 ends inside (exit): never returned */
	assert_int_equal(lat_pair_return(p, 5, 3, 0x7008, &f), 1);
	assert_int_equal(f.t, 5);
	lat_pair_thread_end(p, 6);
	assert_int_equal(c.never, 1);
	/* the wrong function at the right depth does not match */
	assert_int_equal(lat_pair_return(p, 7, 4, 0x7008, &f), 0);
	/* a tail call: two entries at one stack pointer, both return there */
	lat_pair_entry(p, 900, 1, 0x5000, 1, 0);
	lat_pair_entry(p, 900, 2, 0x5000, 2, 0);
	assert_int_equal(lat_pair_return(p, 900, 2, 0x5008, &f), 1);
	assert_int_equal(lat_pair_return(p, 900, 1, 0x5008, &f), 1);
	lat_pair_finish(p, 0);
	assert_int_equal(c.progress, 198);
	assert_int_equal(lat_pair_open(p), 0);
	lat_pairer_free(p);
}

static void test_specs(void **state)
{
	char **v;
	(void)state;
	v = lat_split_spec("a, b ,ns::f(int, char),libc:malloc,,");
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "ns::f(int, char)");
	assert_string_equal(v[3], "libc:malloc");
	assert_null(v[4]);
	for (int i = 0; v[i]; i++)
		free(v[i]);
	free(v);
	v = lat_split_spec("");
	assert_null(v[0]);
	free(v);
	assert_int_equal(lat_edit_distance("slow_op", "slow_op", 3), 0);
	assert_int_equal(lat_edit_distance("slow_opp", "slow_op", 3), 1);
	assert_int_equal(lat_edit_distance("kitten", "sitting", 5), 3);
	assert_int_equal(lat_edit_distance("a", "abcdefgh", 2), 3); /* capped */
}

static void test_resolve(void **state)
{
	struct lat_fn *fns = NULL;
	size_t n = 0, alloc = 0;
	(void)state;
	/* functions of the test binary itself: exact name and a pattern */
	assert_int_equal(lat_funcs_resolve("test_specs", "/proc/self/exe", 0, &fns, &n, &alloc), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fns[0].name, "test_specs");
	assert_true(fns[0].offset > 0);
	assert_int_equal(lat_funcs_resolve("test_thread*", "/proc/self/exe", 0, &fns, &n, &alloc), 0);
	assert_int_equal(n, 2);
	kiln_set_quiet(1);
	assert_int_equal(lat_funcs_resolve("no_such_function_kiln", "/proc/self/exe", 0, &fns, &n, &alloc), -1);
	lat_funcs_free(fns, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_longjmp_and_unmatched),
		cmocka_unit_test(test_threads_and_end),
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
