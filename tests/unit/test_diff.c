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
static char *three_columns(const struct kp_profile *b, const struct kp_profile *a, int normalize)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	struct kd_side sb = { b, 0, NULL, NULL }, sa = { a, 0, NULL, NULL };
	assert_int_equal(kd_folded_write(&sb, &sa, normalize, f), 0);
	fclose(f);
	return buf;
}

static void test_folded_union(void **state)
{
	struct kp_profile b, a;
	/* unsorted input, repeated stacks (summed), stacks on one side only, a zero count */
	unit_folded(&b, "main;b 3\nmain;a 1\nmain;only_before 2\nmain;b 1\nmain;zero 0\n");
	unit_folded(&a, "main;a 5\nmain;only_after 7\nmain;b 4\nmain 1\n");
	char *out = three_columns(&b, &a, 0);
	assert_string_equal(out, "main 0 1\n"
				 "main;a 1 5\n"
				 "main;b 4 4\n"
				 "main;only_after 0 7\n"
				 "main;only_before 2 0\n");
	free(out);
	/* normalized as difffolded.pl -n: int(count * 17 / 7), truncated */
	out = three_columns(&b, &a, 1);
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
	char *out = three_columns(&b, &a, 0);
	assert_string_equal(out, "x 0 2\nx;y 0.5 1.25\n");
	free(out);
	/* difffolded.pl truncates fractional counts too: int(0.5 * 3.25 / 0.5) = 3 */
	out = three_columns(&b, &a, 1);
	assert_string_equal(out, "x 0 2\nx;y 3 1.25\n");
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
	char *out = three_columns(&b, &a, 0);
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
	struct kd_side sb = { &b, 0, NULL, NULL }, sa = { &a, 0, NULL, NULL };
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
	struct kd_side sa = { &a, 0, NULL, NULL }, sb = { &b, 0, NULL, NULL };
	kd_table_build(&sa, &sb, &t);
	assert_int_equal(t.nrows, 2);
	assert_string_equal(t.rows[0].name, "init"); /* 50% -> 25% */
	assert_string_equal(t.rows[0].module, "app");
	assert_string_equal(t.rows[1].name, "init"); /* 50% -> 75% */
	assert_string_equal(t.rows[1].module, "libc.so.6");
	assert_true(fabs(t.rows[0].self_after - 25) < 1e-9 && fabs(t.rows[1].self_after - 75) < 1e-9);
	kd_table_release(&t);
	unit_folded(&f, "init 4\n");
	struct kd_side sf = { &f, 0, NULL, NULL };
	kd_table_build(&sa, &sf, &t);
	assert_int_equal(t.nrows, 1);
	assert_string_equal(t.rows[0].name, "init");
	assert_null(t.rows[0].module);
	assert_true(fabs(t.rows[0].total_before - 100) < 1e-9 && fabs(t.rows[0].total_after - 100) < 1e-9);
	kd_table_release(&t);
	kp_profile_release(&a);
	kp_profile_release(&b);
	kp_profile_release(&f);
}

/* difffolded.pl -n: int($count1 * $total2 / $total1), multiplied first, truncated */
static void test_folded_normalize_like_difffolded(void **state)
{
	struct kp_profile b, a;
	char *out;
	/* 11 * 30 / 22 = 15 exactly; 11 * (30 / 22) would be 14.999999999999998 */
	unit_folded(&b, "a;x 11\na;y 11\n");
	unit_folded(&a, "a;x 20\na;y 10\n");
	out = three_columns(&b, &a, 1);
	assert_string_equal(out, "a;x 15 20\na;y 15 10\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);
	/* truncated, not rounded: 1 * 5 / 3 = 1.67 -> 1, 2 * 5 / 3 = 3.33 -> 3 */
	unit_folded(&b, "m;a 1\nm;b 2\n");
	unit_folded(&a, "m;a 5\n");
	out = three_columns(&b, &a, 1);
	assert_string_equal(out, "m;a 1 5\nm;b 3 0\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);
	/* equal totals: left alone, fractions kept */
	unit_folded(&b, "m;a 1.5\nm;b 1\n");
	unit_folded(&a, "m;a 2.5\n");
	out = three_columns(&b, &a, 1);
	assert_string_equal(out, "m;a 1.5 2.5\nm;b 1 0\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

/* Folded suffixes become a kind; names are clean. */
static void test_table_kinds(void **state)
{
	struct kp_profile b, a;
	struct kd_table t;
	unit_folded(&b, "main;read;sys_read_[k] 2\nmain;inl_[i] 2\n");
	unit_folded(&a, "main;read;sys_read_[k] 1\nmain;inl_[i] 3\nmain;sys_read 4\n");
	struct kd_side sb = { &b, 0, NULL, NULL }, sa = { &a, 0, NULL, NULL };
	kd_table_build(&sb, &sa, &t);
	int kernel = 0, user = 0, inl = 0;
	for (size_t i = 0; i < t.nrows; i++) {
		assert_null(strstr(t.rows[i].name, "_["));
		if (!strcmp(t.rows[i].name, "sys_read")) {
			if (!strcmp(t.rows[i].kind, "kernel"))
				kernel = 1, assert_true(fabs(t.rows[i].self_before - 50) < 1e-9);
			else if (!*t.rows[i].kind)
				user = 1, assert_true(fabs(t.rows[i].self_after - 50) < 1e-9);
		}
		if (!strcmp(t.rows[i].name, "inl") && !strcmp(t.rows[i].kind, "inlined"))
			inl = 1;
	}
	assert_true(kernel && user && inl);
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_int_equal(kd_table_print(&t, 0, "b", "a", "samples", f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "kind     function\n"));
	assert_non_null(strstr(buf, "  kernel   sys_read\n"));
	assert_non_null(strstr(buf, "  -        sys_read\n"));
	assert_null(strstr(buf, "_[k]"));
	free(buf);
	kd_table_release(&t);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

/* A profile of one program: process comm, frames main and work (value w) in module path. */
static void program_profile(struct kp_profile *p, const char *comm, const char *module, double w)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	uint32_t th = kp_add_thread(p, 10, 10, comm);
	struct kp_frame fr = { 0 };
	fr.module = kp_strz(p, module);
	fr.name = kp_strz(p, "main");
	kp_frame_t f[3];
	f[0] = kp_frame(p, &fr);
	fr.name = kp_strz(p, "work");
	f[1] = kp_frame(p, &fr);
	fr.module = kp_strz(p, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	fr.name = kp_strz(p, "memcpy");
	f[2] = kp_frame(p, &fr);
	double one = 1;
	kp_add_sample(p, kp_stack_from_frames(p, f, 2), th, 0, &w);
	kp_add_sample(p, kp_stack_from_frames(p, f, 3), th, 1, &one);
}

static void test_match_programs(void **state)
{
	struct kp_profile b, a;
	struct kd_table t;
	struct kd_match m;
	/* the same path base name: nothing to match, functions pair by module base name */
	program_profile(&b, "prog", "/src/v1/prog", 3);
	program_profile(&a, "prog", "/src/v2/prog", 3);
	assert_int_equal(kd_match_programs(&b, 0, &a, 0, &m), 0);
	struct kd_side sb = { &b, 0, NULL, NULL }, sa = { &a, 0, NULL, NULL };
	kd_table_build(&sb, &sa, &t);
	assert_int_equal(t.nrows, 3);
	for (size_t i = 0; i < t.nrows; i++)
		assert_true(fabs(t.rows[i].total_after - t.rows[i].total_before) < 1e-9);
	kd_table_release(&t);
	kp_profile_release(&b);
	kp_profile_release(&a);

	/* renamed between builds: process and module are matched, libc stays itself; time
	 * in the kernel alone (no user module) does not hide the program */
	program_profile(&b, "prog-1.2", "/opt/prog-1.2", 3);
	program_profile(&a, "prog-1.3", "/opt/prog-1.3", 1);
	{
		struct kp_frame kf = { 0 };
		kf.name = kp_strz(&b, "irq");
		kf.module = kp_strz(&b, "[kernel.kallsyms]");
		kf.flags = KP_FRAME_KERNEL;
		kp_frame_t k = kp_frame(&b, &kf);
		double ten = 10;
		kp_add_sample(&b, kp_stack_from_frames(&b, &k, 1), 1, 2, &ten);
	}
	assert_int_equal(kd_match_programs(&b, 0, &a, 0, &m), 1);
	assert_string_equal(m.comm_from, "prog-1.2");
	assert_string_equal(m.comm_to, "prog-1.3");
	assert_string_equal(m.module_from, "prog-1.2");
	assert_string_equal(m.module_to, "prog-1.3");
	struct kd_side mb = { &b, 0, m.module_from, m.module_to };
	kd_table_build(&mb, &sa, &t);
	assert_int_equal(t.nrows, 4); /* main, work, memcpy, irq: no -100/+100 pairs */
	const struct kd_row *mn = row(&t, "main"), *wk = row(&t, "work");
	assert_string_equal(mn->module, "prog-1.3");
	assert_true(fabs(mn->total_before - 400.0 / 14) < 1e-9 && fabs(mn->total_after - 100) < 1e-9);
	assert_true(fabs(wk->self_before - 300.0 / 14) < 1e-9 && fabs(wk->self_after - 50) < 1e-9);
	kd_table_release(&t);
	char *out = three_columns(&b, &a, 0);
	assert_string_equal(out, "prog-1.3;irq_[k] 10 0\nprog-1.3;main;work 3 1\nprog-1.3;main;work;memcpy 1 1\n");
	free(out);
	kp_profile_release(&b);
	kp_profile_release(&a);

	/* two different programs present on both sides are left alone */
	program_profile(&b, "prog-1.2", "/opt/prog-1.2", 3);
	program_profile(&a, "prog-1.3", "/opt/prog-1.3", 3);
	kp_add_thread(&a, 11, 11, "prog-1.2");
	struct kp_frame fr = { 0 };
	fr.module = kp_strz(&a, "/opt/prog-1.2");
	fr.name = kp_strz(&a, "other");
	kp_frame(&a, &fr);
	assert_int_equal(kd_match_programs(&b, 0, &a, 0, &m), 0);
	kp_profile_release(&b);
	kp_profile_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_union),
		cmocka_unit_test(test_folded_fractional),
		cmocka_unit_test(test_folded_profile_roots),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_modules),
		cmocka_unit_test(test_folded_normalize_like_difffolded),
		cmocka_unit_test(test_table_kinds),
		cmocka_unit_test(test_match_programs),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
