/* test_diff.c: comparing two profiles: difffolded's three columns (union, order,
 * normalization, rounding, thread roots) and the table of changed functions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "profile/folded.h"
#include "render/diff.h"
#include "util/error.h"
#include "util/input.h"

#include "unit.h"

/* kd_folded_write's output as a string (caller frees). */
static char *three_columns(const struct kp_profile *b, const struct kp_profile *a, double scale)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	struct kd_side sb = { b, 0 }, sa = { a, 0 };
	assert_int_equal(kd_folded_write(&sb, &sa, scale, f), 0);
	fclose(f);
	return buf;
}

static void test_folded_union(void **state)
{
	struct kp_profile b, a;
	/* unsorted input, repeated stacks (summed), stacks on one side only, a zero count */
	unit_folded(&b, "main;b 3\nmain;a 1\nmain;only_before 2\nmain;b 1\nmain;zero 0\n");
	unit_folded(&a, "main;a 5\nmain;only_after 7\nmain;b 4\nmain 1\n");
	char *out = three_columns(&b, &a, 1);
	assert_string_equal(out, "main 0 1\n"
				 "main;a 1 5\n"
				 "main;b 4 4\n"
				 "main;only_after 0 7\n"
				 "main;only_before 2 0\n");
	free(out);
	/* normalized: BEFORE scaled by 17/8, rounded as the inputs are whole numbers */
	out = three_columns(&b, &a, 17.0 / 8.0);
	assert_string_equal(out, "main 0 1\n"
				 "main;a 2 5\n"
				 "main;b 9 4\n"
				 "main;only_after 0 7\n"
				 "main;only_before 4 0\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

static void test_folded_fractional(void **state)
{
	struct kp_profile b, a;
	unit_folded(&b, "x;y 0.5\n");
	unit_folded(&a, "x;y 1.25\nx 2\n");
	char *out = three_columns(&b, &a, 3);
	assert_string_equal(out, "x 0 2\nx;y 1.5 1.25\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

static void test_folded_profile_roots(void **state)
{
	struct kp_profile b, a;
	unit_folded(&b, "my_prog;main;work 2\n");
	kp_profile_init(&a);
	kp_add_value_type(&a, "samples", "count");
	uint32_t th = kp_add_thread(&a, 1, 1, "my prog");
	kp_frame_t f[3] = { kp_frame_named(&a, "main", 4, 0), kp_frame_named(&a, "work", 4, 0),
			    kp_frame_named(&a, "sys_write", 9, KP_FRAME_KERNEL) };
	double v = 3;
	kp_add_sample(&a, kp_stack_from_frames(&a, f, 2), th, 0, &v);
	kp_add_sample(&a, kp_stack_from_frames(&a, f, 3), th, 1, &v);
	char *out = three_columns(&b, &a, 1);
	assert_string_equal(out, "my_prog;main;work 2 3\nmy_prog;main;work;sys_write_[k] 0 3\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

static const struct kd_row *row(const struct kd_table *t, const char *name)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (!strcmp(t->rows[i].name, name))
			return &t->rows[i];
	fail_msg("no row %s", name);
	return NULL;
}

static void test_table(void **state)
{
	struct kp_profile b, a;
	struct kd_table t;
	/* before: 10 samples; after: 20 */
	unit_folded(&b, "main;work 6\nmain;io 2\nmain;rec;rec 2\n");
	unit_folded(&a, "main;work 4\nmain;io 12\nmain;rec;rec 2\nmain 2\n");
	struct kd_side sb = { &b, 0 }, sa = { &a, 0 };
	kd_table_build(&sb, &sa, &t);
	assert_true(t.total_before == 10 && t.total_after == 20);
	assert_int_equal(t.nrows, 4);
	const struct kd_row *io = row(&t, "io"), *work = row(&t, "work"), *mn = row(&t, "main"),
			    *rec = row(&t, "rec");
	assert_true(fabs(io->self_before - 20) < 1e-9 && fabs(io->self_after - 60) < 1e-9);
	assert_true(fabs(work->total_before - 60) < 1e-9 && fabs(work->total_after - 20) < 1e-9);
	assert_true(fabs(mn->total_before - 100) < 1e-9 && fabs(mn->self_after - 10) < 1e-9);
	/* recursion counted once in total */
	assert_true(fabs(rec->total_before - 20) < 1e-9 && fabs(rec->total_after - 10) < 1e-9);
	/* largest change first: io +40, work -40 (ties by name), then main +10, rec -10 */
	assert_string_equal(t.rows[0].name, "io");
	assert_string_equal(t.rows[1].name, "work");
	assert_string_equal(t.rows[2].name, "main");
	assert_string_equal(t.rows[3].name, "rec");

	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_int_equal(kd_table_print(&t, 2, "b.folded", "a.folded", "samples", f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "before: b.folded (10 samples)\n"));
	assert_non_null(strstr(buf, "after:  a.folded (20 samples)\n"));
	assert_non_null(strstr(buf, "   20.00    20.00     60.00    60.00    +40.00   +40.00  io\n"));
	assert_non_null(strstr(buf, "   60.00    60.00     20.00    20.00    -40.00   -40.00  work\n"));
	assert_null(strstr(buf, "  main\n"));
	free(buf);
	kd_table_release(&t);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

/* A profile with modules: two "init"s apart against another profile, one "init"
 * (by name) against folded text. */
static void test_table_modules(void **state)
{
	struct kp_profile a, b, f;
	struct kd_table t;
	for (int k = 0; k < 2; k++) {
		struct kp_profile *p = k ? &b : &a;
		kp_profile_init(p);
		kp_add_value_type(p, "samples", "count");
		struct kp_frame fr = { 0 };
		fr.name = kp_strz(p, "init");
		fr.module = kp_strz(p, "/usr/lib/libc.so.6");
		kp_frame_t libc = kp_frame(p, &fr);
		fr.module = kp_strz(p, "/opt/app/bin/app");
		kp_frame_t app = kp_frame(p, &fr);
		double one = 1, three = 3;
		kp_add_sample(p, kp_stack_from_frames(p, &libc, 1), 0, 0, k ? &three : &one);
		kp_add_sample(p, kp_stack_from_frames(p, &app, 1), 0, 0, &one);
	}
	struct kd_side sa = { &a, 0 }, sb = { &b, 0 };
	kd_table_build(&sa, &sb, &t);
	assert_int_equal(t.nrows, 2);
	assert_string_equal(t.rows[0].name, "init [app]"); /* 50% -> 25% */
	assert_string_equal(t.rows[1].name, "init [libc.so.6]"); /* 50% -> 75% */
	assert_true(fabs(t.rows[0].self_after - 25) < 1e-9 && fabs(t.rows[1].self_after - 75) < 1e-9);
	kd_table_release(&t);
	unit_folded(&f, "init 4\n");
	struct kd_side sf = { &f, 0 };
	kd_table_build(&sa, &sf, &t);
	assert_int_equal(t.nrows, 1);
	assert_string_equal(t.rows[0].name, "init");
	assert_true(fabs(t.rows[0].total_before - 100) < 1e-9 && fabs(t.rows[0].total_after - 100) < 1e-9);
	kd_table_release(&t);
	kp_profile_release(&a);
	kp_profile_release(&b);
	kp_profile_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_union),
		cmocka_unit_test(test_folded_fractional),
		cmocka_unit_test(test_folded_profile_roots),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_modules),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
