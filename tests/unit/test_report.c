/* test_report.c: report aggregation: the function table, filters, call tree, threads, JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

/* A profile of two processes, three threads:
 *   prog  pid 10 tid 10: main;work;hot  x6   (cpu_ns 6000)
 *   prog  pid 10 tid 11: main;work      x1   thread "worker"
 *   prog  pid 10 tid 11: main;rec;rec   x2   (recursion)
 *   other pid 20 tid 20: main;sys_read[k] x1 */
static void build(struct kp_profile *p)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_add_value_type(p, "cpu_ns", "nanoseconds");
	uint32_t t10 = kp_add_thread(p, 10, 10, "prog");
	uint32_t t11 = kp_add_thread(p, 10, 11, "worker");
	uint32_t t20 = kp_add_thread(p, 20, 20, "other");
	struct kp_frame f = { 0 };
	f.module = kp_strz(p, "/usr/bin/prog");
	f.name = kp_strz(p, "main");
	kp_frame_t fmain = kp_frame(p, &f);
	f.name = kp_strz(p, "work");
	kp_frame_t fwork = kp_frame(p, &f);
	f.name = kp_strz(p, "hot");
	f.line = 12;
	kp_frame_t fhot12 = kp_frame(p, &f);
	f.line = 13;
	kp_frame_t fhot13 = kp_frame(p, &f); /* another line: the same function */
	f.line = 0;
	f.name = kp_strz(p, "rec");
	kp_frame_t frec = kp_frame(p, &f);
	f.name = kp_strz(p, "sys_read");
	f.module = kp_strz(p, "[kernel.kallsyms]");
	f.flags = KP_FRAME_KERNEL;
	kp_frame_t fsys = kp_frame(p, &f);

	kp_frame_t s_hot12[] = { fmain, fwork, fhot12 }, s_hot13[] = { fmain, fwork, fhot13 };
	kp_frame_t s_work[] = { fmain, fwork }, s_rec[] = { fmain, frec, frec }, s_sys[] = { fmain, fsys };
	double v[2] = { 1, 1000 };
	for (int i = 0; i < 6; i++)
		kp_add_sample(p, kp_stack_from_frames(p, i < 4 ? s_hot12 : s_hot13, 3), t10, (uint64_t)i, v);
	kp_add_sample(p, kp_stack_from_frames(p, s_work, 2), t11, 6, v);
	kp_add_sample(p, kp_stack_from_frames(p, s_rec, 3), t11, 7, v);
	kp_add_sample(p, kp_stack_from_frames(p, s_rec, 3), t11, 8, v);
	v[1] = 500; /* a different weight: shares by cpu_ns differ from shares by samples */
	kp_add_sample(p, kp_stack_from_frames(p, s_sys, 2), t20, 9, v);
}

static const struct kr_row *row(const struct kp_profile *p, const struct kr_table *t, const char *name)
{
	for (uint32_t i = 0; i < t->nrows; i++)
		if (!strcmp(kp_str_get(p, t->rows[i].name), name))
			return &t->rows[i];
	return NULL;
}

static struct kr_opts opts(void)
{
	struct kr_opts o;
	memset(&o, 0, sizeof(o));
	o.value = 0;
	o.count_value = 0;
	return o;
}

static void test_table_self_total(void **state)
{
	struct kp_profile p;
	struct kr_table t;
	struct kr_opts o = opts();
	build(&p);
	kr_table_build(&p, &o, &t);
	assert_true(t.grand_total == 10);
	assert_true(t.grand_n == 10);
	assert_int_equal(t.nrows, 5);
	assert_int_equal(t.hidden, 0);
	/* two lines of hot are one function */
	assert_true(row(&p, &t, "hot")->self == 6 && row(&p, &t, "hot")->total == 6);
	assert_true(row(&p, &t, "main")->self == 0 && row(&p, &t, "main")->total == 10);
	assert_true(row(&p, &t, "work")->self == 1 && row(&p, &t, "work")->total == 7);
	assert_true(row(&p, &t, "rec")->total == 2); /* once per sample despite recursion */
	assert_true(row(&p, &t, "sys_read")->flags & KP_FRAME_KERNEL);
	/* sorted by self: hot first, ties broken by the other column then name */
	assert_string_equal(kp_str_get(&p, t.rows[0].name), "hot");
	assert_string_equal(kp_str_get(&p, t.rows[1].name), "rec");
	kr_table_release(&t);

	o.sort_total = 1;
	kr_table_build(&p, &o, &t);
	assert_string_equal(kp_str_get(&p, t.rows[0].name), "main");
	assert_string_equal(kp_str_get(&p, t.rows[1].name), "work");
	kr_table_release(&t);
	kp_profile_release(&p);
}

static void test_table_other_value_and_limits(void **state)
{
	struct kp_profile p;
	struct kr_table t;
	struct kr_opts o = opts();
	build(&p);
	o.value = 1; /* cpu_ns */
	kr_table_build(&p, &o, &t);
	assert_true(t.grand_total == 9500);
	assert_true(t.grand_n == 10);
	assert_true(row(&p, &t, "sys_read")->self == 500);
	assert_true(row(&p, &t, "sys_read")->self_n == 1);
	kr_table_release(&t);

	/* top and percent limit: functions whose total is below 15% go (sys_read 5.3%);
	 * callers with no self time stay, after the others */
	o.percent_limit = 15;
	kr_table_build(&p, &o, &t);
	assert_int_equal(t.nrows, 4);
	assert_int_equal(t.hidden, 1);
	assert_null(row(&p, &t, "sys_read"));
	assert_string_equal(kp_str_get(&p, t.rows[3].name), "main");
	kr_table_release(&t);
	o.percent_limit = 0;
	o.top = 1;
	kr_table_build(&p, &o, &t);
	assert_int_equal(t.nrows, 1);
	assert_int_equal(t.hidden, 4);
	kr_table_release(&t);
	kp_profile_release(&p);
}

static void test_filters(void **state)
{
	struct kp_profile p;
	struct kr_table t;
	struct kr_opts o = opts();
	size_t kept;
	build(&p);
	assert_null(kr_filter(&p, NULL, 0, NULL, 0, NULL, 0, &kept));
	assert_int_equal(kept, 10);

	int tid = 11;
	uint8_t *keep = kr_filter(&p, NULL, 0, &tid, 1, NULL, 0, &kept);
	assert_int_equal(kept, 3);
	o.keep = keep;
	kr_table_build(&p, &o, &t);
	assert_true(t.grand_total == 3);
	assert_null(row(&p, &t, "hot")); /* no sample of tid 11 has it */
	assert_true(row(&p, &t, "rec")->total == 2);
	kr_table_release(&t);
	free(keep);

	int pid = 10;
	char *comm[] = { (char *)"prog", (char *)"other" };
	keep = kr_filter(&p, &pid, 1, NULL, 0, comm, 2, &kept); /* pid 10 AND comm prog|other */
	assert_int_equal(kept, 6);
	free(keep);
	keep = kr_filter(&p, NULL, 0, NULL, 0, comm + 1, 1, &kept);
	assert_int_equal(kept, 1);
	free(keep);
	int none = 99;
	keep = kr_filter(&p, &none, 1, NULL, 0, NULL, 0, &kept);
	assert_int_equal(kept, 0);
	free(keep);
	kp_profile_release(&p);
}

static uint32_t child_named(const struct kp_profile *p, const struct kr_tree *t, uint32_t parent, const char *name)
{
	for (uint32_t c = t->nodes[parent].first_child; c; c = t->nodes[c].next_sibling)
		if (!strcmp(kp_str_get(p, t->nodes[c].name), name))
			return c;
	return 0;
}

static void test_tree(void **state)
{
	struct kp_profile p;
	struct kr_tree t;
	struct kr_opts o = opts();
	build(&p);
	kr_tree_build(&p, &o, &t);
	assert_true(t.grand_total == 10);
	/* roots are process (thread) names, by decreasing total */
	uint32_t r0 = t.nodes[0].first_child;
	assert_string_equal(kp_str_get(&p, t.nodes[r0].name), "prog");
	assert_true(t.nodes[r0].flags & KP_FRAME_ROOT);
	assert_true(t.nodes[r0].total == 6);
	uint32_t worker = child_named(&p, &t, 0, "worker");
	assert_true(t.nodes[worker].total == 3);
	uint32_t other = child_named(&p, &t, 0, "other");
	assert_true(t.nodes[other].total == 1);
	/* prog;main;work;hot: the two lines of hot are one node */
	uint32_t m = child_named(&p, &t, r0, "main");
	uint32_t w = child_named(&p, &t, m, "work");
	uint32_t h = child_named(&p, &t, w, "hot");
	assert_true(t.nodes[h].self == 6 && t.nodes[h].total == 6);
	assert_int_equal(t.nodes[h].first_child, 0);
	/* worker;main: work (1) and rec;rec (2), children by decreasing total */
	uint32_t wm = child_named(&p, &t, worker, "main");
	uint32_t first = t.nodes[wm].first_child;
	assert_string_equal(kp_str_get(&p, t.nodes[first].name), "rec");
	uint32_t rec2 = child_named(&p, &t, first, "rec");
	assert_true(t.nodes[first].total == 2 && t.nodes[rec2].self == 2);
	kr_tree_release(&t);

	/* a filter keeps one thread */
	size_t kept;
	int tid = 20;
	uint8_t *keep = kr_filter(&p, NULL, 0, &tid, 1, NULL, 0, &kept);
	o.keep = keep;
	kr_tree_build(&p, &o, &t);
	assert_true(t.grand_total == 1);
	assert_int_equal(t.nodes[t.nodes[0].first_child].next_sibling, 0);
	kr_tree_release(&t);
	free(keep);
	kp_profile_release(&p);
}

static void test_threads(void **state)
{
	struct kp_profile p;
	struct kr_thread_row *rows;
	struct kr_opts o = opts();
	build(&p);
	uint32_t n = kr_threads(&p, &o, &rows);
	assert_int_equal(n, 3);
	assert_int_equal(p.threads[rows[0].thread].tid, 10);
	assert_true(rows[0].value == 6 && rows[0].n == 6);
	assert_int_equal(p.threads[rows[2].thread].tid, 20);
	free(rows);
	kp_profile_release(&p);
}

/* Prints to a memory stream and returns the text (caller frees). */
static char *capture(const struct kp_profile *p, const struct kr_opts *o, int what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = what == 0 ? kr_print_table(p, o, f) : what == 1 ? kr_print_tree(p, o, f) : kr_print_json(p, o, what == 3, f);
	assert_int_equal(rc, 0);
	fclose(f);
	return buf;
}

static void test_json(void **state)
{
	struct kp_profile p;
	struct kr_opts o = opts();
	json_error_t err;
	build(&p);
	kp_meta_set(&p, "event", "cpu-clock");
	o.source = "x \"quoted\".prof";
	char *text = capture(&p, &o, 2);
	json_t *j = json_loads(text, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "kiln-report");
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "source")), "x \"quoted\".prof");
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 10);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "meta"), "event")), "cpu-clock");
	json_t *fn = json_object_get(j, "functions");
	assert_int_equal(json_array_size(fn), 5);
	json_t *hot = json_array_get(fn, 0);
	assert_string_equal(json_string_value(json_object_get(hot, "name")), "hot");
	assert_string_equal(json_string_value(json_object_get(hot, "module")), "/usr/bin/prog");
	assert_true(json_number_value(json_object_get(hot, "self_percent")) == 60.0);
	assert_int_equal(json_integer_value(json_object_get(hot, "total_samples")), 6);
	assert_true(json_is_false(json_object_get(hot, "kernel")));
	assert_int_equal(json_array_size(json_object_get(j, "threads")), 3);
	json_decref(j);
	free(text);

	text = capture(&p, &o, 3);
	j = json_loads(text, 0, &err);
	assert_non_null(j);
	json_t *tree = json_object_get(j, "tree");
	assert_int_equal(json_array_size(tree), 3);
	json_t *prog = json_array_get(tree, 0);
	assert_string_equal(json_string_value(json_object_get(prog, "name")), "prog");
	assert_true(json_is_true(json_object_get(prog, "process")));
	json_t *main_n = json_array_get(json_object_get(prog, "children"), 0);
	assert_string_equal(json_string_value(json_object_get(main_n, "name")), "main");
	assert_int_equal(json_integer_value(json_object_get(main_n, "total")), 6);
	json_decref(j);
	free(text);
	kp_profile_release(&p);
}

static void test_text(void **state)
{
	struct kp_profile p;
	struct kr_opts o = opts();
	build(&p);
	o.source = "t.prof";
	char *text = capture(&p, &o, 0);
	assert_non_null(strstr(text, "t.prof: 10 samples"));
	assert_non_null(strstr(text, "3 threads in 2 processes"));
	assert_non_null(strstr(text, " 60.00%  60.00%         6  prog               hot\n"));
	assert_non_null(strstr(text, "[kernel.kallsyms]  sys_read"));
	free(text);
	o.percent_limit = 50;
	text = capture(&p, &o, 1);
	assert_non_null(strstr(text, " 60.00%   0.00%  prog\n"));
	assert_non_null(strstr(text, " 60.00%  60.00%        └─ hot  [prog]\n"));
	assert_null(strstr(text, "worker"));
	assert_non_null(strstr(text, "(2 branches below 50% not shown"));
	free(text);
	kp_profile_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_self_total),
		cmocka_unit_test(test_table_other_value_and_limits),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
