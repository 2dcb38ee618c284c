/* test_findings.c: each finding of `kiln report` appears when the profile shows it and
 * not when it does not (report/findings.c), on profiles built in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/findings.h"

/* A profile of n samples: share[i] of them in leaf i (named names[i], flags[i]) under
 * root;main; "samples" is the only value. */
struct spec {
	const char *name;
	double share;
	uint32_t flags;
	const char *root; /* outermost frame, default "_start" */
};

static void build(struct kp_profile *p, const struct spec *sp, int nspec, double n)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	uint32_t th = kp_add_thread(p, 1, 1, "prog");
	for (int i = 0; i < nspec; i++) {
		struct kp_frame f = { 0 };
		f.module = kp_strz(p, "/usr/bin/prog");
		f.name = kp_strz(p, sp[i].root ? sp[i].root : "_start");
		f.flags = sp[i].flags & KP_FRAME_TRUNCATED;
		kp_frame_t root = kp_frame(p, &f);
		f.flags = 0;
		f.name = kp_strz(p, "main");
		kp_frame_t fmain = kp_frame(p, &f);
		f.name = kp_strz(p, sp[i].name);
		f.flags = sp[i].flags & ~KP_FRAME_TRUNCATED;
		kp_frame_t leaf = kp_frame(p, &f);
		kp_frame_t st[] = { root, fmain, leaf };
		kp_stack_t s = kp_stack_from_frames(p, st, 3);
		double v = round(sp[i].share * n);
		kp_add_sample(p, s, th, 0, &v);
	}
}

static const struct kr_finding *find(const struct kr_findings *fs, const char *kind, const char *name)
{
	for (uint32_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].kind, kind) && (!name || (fs->f[i].name && !strcmp(fs->f[i].name, name))))
			return &fs->f[i];
	return NULL;
}

static void findings(const struct kp_profile *p, struct kr_findings *fs)
{
	struct kr_opts o;
	memset(&o, 0, sizeof(o));
	o.value = 0;
	o.count_value = 0;
	kr_findings_build(p, &o, fs);
}

static void test_wilson(void **state)
{
	(void)state;
	double lo, hi;
	kr_wilson(50, 100, &lo, &hi);
	assert_true(fabs(lo - 0.4038) < 0.001 && fabs(hi - 0.5962) < 0.001);
	kr_wilson(0, 10, &lo, &hi);
	assert_true(lo < 1e-4 && hi > 0.25 && hi < 0.35);
	kr_wilson(10, 10, &lo, &hi);
	assert_true(hi > 0.9999 && lo > 0.65 && lo < 0.75);
}

static void test_hotspot(void **state)
{
	(void)state;
	struct spec sp[] = { { "a", 0.60, 0, 0 }, { "b", 0.26, 0, 0 }, { "c", 0.10, 0, 0 }, { "d", 0.04, 0, 0 } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, sp, 4, 10000);
	findings(&p, &fs);
	const struct kr_finding *a = find(&fs, "hotspot", "a");
	assert_non_null(a);
	assert_true(fabs(a->share - 0.6) < 1e-9);
	assert_true(a->ci_lo < 0.6 && a->ci_hi > 0.6 && a->ci_hi - a->ci_lo < 0.03);
	assert_true(fabs(a->max_speedup - 2.5) < 1e-9);
	assert_non_null(find(&fs, "hotspot", "b"));
	assert_non_null(find(&fs, "hotspot", "c"));
	assert_null(find(&fs, "hotspot", "d"));    /* 4%: below 5% */
	assert_null(find(&fs, "hotspot", "main")); /* no self time */
	assert_null(find(&fs, "few_samples", NULL));
	assert_null(find(&fs, "debug_build", NULL));
	assert_null(find(&fs, "no_symbols", NULL));
	assert_null(find(&fs, "truncated_stacks", NULL));
	assert_null(find(&fs, "waiting", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

/* one leaf reached by two paths: each path above 5% is a hotspot of its own */
static void test_hot_paths(void **state)
{
	(void)state;
	struct spec one[] = { { "a", 0.7, 0, 0 }, { "b", 0.3, 0, 0 } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, one, 2, 10000);
	findings(&p, &fs);
	for (uint32_t i = 0; i < fs.n; i++)
		assert_null(fs.f[i].path); /* one path per leaf: the function rows say it all */
	kr_findings_release(&fs);
	/* the same leaf "a" under a second root: two paths */
	struct kp_frame f = { 0 };
	f.module = kp_strz(&p, "/usr/bin/prog");
	f.name = kp_strz(&p, "stray_root");
	kp_frame_t sr = kp_frame(&p, &f);
	f.name = kp_strz(&p, "a");
	kp_frame_t sa = kp_frame(&p, &f);
	kp_frame_t sst[] = { sr, sa };
	double sv = 200; /* 2.8% of a's time on another path: the main path restates a's row */
	kp_add_sample(&p, kp_stack_from_frames(&p, sst, 2), 1, 0, &sv);
	findings(&p, &fs);
	for (uint32_t i = 0; i < fs.n; i++)
		assert_null(fs.f[i].path);
	kr_findings_release(&fs);
	f.module = kp_strz(&p, "/usr/bin/prog");
	f.name = kp_strz(&p, "other_root");
	kp_frame_t r = kp_frame(&p, &f);
	f.name = kp_strz(&p, "caller2");
	kp_frame_t c2 = kp_frame(&p, &f);
	f.name = kp_strz(&p, "a");
	kp_frame_t a = kp_frame(&p, &f);
	kp_frame_t st[] = { r, c2, a };
	double v = 2000;
	kp_add_sample(&p, kp_stack_from_frames(&p, st, 3), 1, 0, &v);
	findings(&p, &fs);
	int paths = 0;
	for (uint32_t i = 0; i < fs.n; i++)
		if (fs.f[i].path) {
			paths++;
			assert_string_equal(fs.f[i].name, "a");
			assert_true(!strcmp(fs.f[i].path, "a <- main <- _start") ||
				    !strcmp(fs.f[i].path, "a <- caller2 <- other_root"));
		}
	assert_int_equal(paths, 2);
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

static void test_debug_build(void **state)
{
	(void)state;
	struct spec yes[] = { { "a", 0.9, 0, 0 }, { "slow", 0.1, KP_FRAME_UNOPT, 0 } };
	struct spec no[] = { { "a", 0.97, 0, 0 }, { "slow", 0.03, KP_FRAME_UNOPT, 0 } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, yes, 2, 10000);
	findings(&p, &fs);
	const struct kr_finding *f = find(&fs, "debug_build", NULL);
	assert_non_null(f);
	assert_true(fabs(f->share - 0.1) < 1e-9);
	assert_string_equal(f->modules, "prog");
	kr_findings_release(&fs);
	kp_profile_release(&p);
	build(&p, no, 2, 10000);
	findings(&p, &fs);
	assert_null(find(&fs, "debug_build", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

static void test_no_symbols(void **state)
{
	(void)state;
	struct spec yes[] = { { "a", 0.8, 0, 0 }, { "prog+0x1000", 0.12, KP_FRAME_NOSYM, 0 },
			      { "[prog]", 0.08, KP_FRAME_UNKNOWN, 0 } };
	struct spec no[] = { { "a", 0.95, 0, 0 }, { "prog+0x1000", 0.05, KP_FRAME_NOSYM, 0 } };
	struct spec jit[] = { { "a", 0.5, 0, 0 }, { "[unknown]", 0.5, KP_FRAME_UNKNOWN | KP_FRAME_JIT, 0 } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, yes, 3, 10000);
	findings(&p, &fs);
	const struct kr_finding *f = find(&fs, "no_symbols", NULL);
	assert_non_null(f);
	assert_true(fabs(f->share - 0.2) < 1e-9);
	assert_non_null(strstr(f->message, "prog"));
	kr_findings_release(&fs);
	kp_profile_release(&p);
	build(&p, no, 2, 10000);
	findings(&p, &fs);
	assert_null(find(&fs, "no_symbols", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
	build(&p, jit, 2, 10000);
	findings(&p, &fs);
	assert_null(find(&fs, "no_symbols", NULL)); /* JIT code has no ELF symbols to install */
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

static void test_truncated_and_frame_pointers(void **state)
{
	(void)state;
	struct spec trunc[] = { { "a", 0.9, 0, 0 }, { "b", 0.1, KP_FRAME_TRUNCATED, "[truncated]" } };
	struct spec fewtrunc[] = { { "a", 0.98, 0, 0 }, { "b", 0.02, KP_FRAME_TRUNCATED, "[truncated]" } };
	struct spec nofp[] = { { "a", 0.5, 0, 0 }, { "b", 0.5, 0, "b_caller" } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, trunc, 2, 10000);
	findings(&p, &fs);
	assert_non_null(find(&fs, "truncated_stacks", NULL));
	assert_null(find(&fs, "no_frame_pointers", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
	build(&p, fewtrunc, 2, 10000);
	findings(&p, &fs);
	assert_null(find(&fs, "truncated_stacks", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
	/* stacks that stop short of the entry: a frame-pointer recording says so, a DWARF
	 * one does not (its incomplete stacks are marked truncated instead) */
	build(&p, nofp, 2, 10000);
	kp_meta_set(&p, "call_graph", "fp");
	findings(&p, &fs);
	assert_non_null(find(&fs, "no_frame_pointers", NULL));
	kr_findings_release(&fs);
	kp_meta_set(&p, "call_graph", "dwarf");
	findings(&p, &fs);
	assert_null(find(&fs, "no_frame_pointers", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
	build(&p, trunc + 0, 1, 10000); /* all from _start */
	kp_meta_set(&p, "call_graph", "fp");
	findings(&p, &fs);
	assert_null(find(&fs, "no_frame_pointers", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

static void test_few_samples(void **state)
{
	(void)state;
	struct spec sp[] = { { "a", 0.6, 0, 0 }, { "b", 0.4, 0, 0 } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, sp, 2, 50);
	findings(&p, &fs);
	const struct kr_finding *f = find(&fs, "few_samples", NULL);
	assert_non_null(f);
	assert_non_null(strstr(f->message, "only 50 samples"));
	kr_findings_release(&fs);
	kp_profile_release(&p);
	build(&p, sp, 2, 5000);
	findings(&p, &fs);
	assert_null(find(&fs, "few_samples", NULL));
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

static void test_waiting(void **state)
{
	(void)state;
	struct spec sp[] = { { "a", 1, 0, 0 } };
	struct kp_profile p;
	struct kr_findings fs;
	build(&p, sp, 1, 1000);
	kp_meta_set(&p, "kind", "cpu");
	kp_meta_set(&p, "event", "cpu-clock");
	kp_meta_set(&p, "frequency", "1000");
	kp_meta_set(&p, "duration_ns", "10000000000"); /* 10 s of wall time, 1 s of CPU */
	findings(&p, &fs);
	const struct kr_finding *f = find(&fs, "waiting", NULL);
	assert_non_null(f);
	assert_true(fabs(f->share - 0.1) < 1e-9);
	assert_non_null(strstr(f->message, "--off-cpu"));
	kr_findings_release(&fs);
	kp_meta_set(&p, "duration_ns", "1200000000"); /* 1.2 s of wall time: CPU-bound */
	findings(&p, &fs);
	assert_null(find(&fs, "waiting", NULL));
	kr_findings_release(&fs);
	kp_meta_set(&p, "duration_ns", "10000000000");
	kp_meta_set(&p, "lost_samples", "9000"); /* the samples were lost, not the CPU time */
	findings(&p, &fs);
	assert_null(find(&fs, "waiting", NULL));
	kr_findings_release(&fs);
	/* the target's own CPU time (rusage) wins over the estimate from samples */
	kp_meta_set(&p, "lost_samples", "0");
	kp_meta_set(&p, "target_cpu_ns", "9000000000");
	findings(&p, &fs);
	assert_null(find(&fs, "waiting", NULL));
	kr_findings_release(&fs);
	kp_meta_set(&p, "target_cpu_ns", "2000000000");
	findings(&p, &fs);
	f = find(&fs, "waiting", NULL);
	assert_non_null(f);
	assert_true(fabs(f->share - 0.2) < 1e-9);
	assert_non_null(strstr(f->message, "I/O"));
	kr_findings_release(&fs);
	/* on a busy machine it says the wait may be for a CPU */
	kp_meta_set(&p, "loadavg", "8.50");
	kp_meta_set(&p, "online_cpus", "2");
	findings(&p, &fs);
	f = find(&fs, "waiting", NULL);
	assert_non_null(f);
	assert_non_null(strstr(f->message, "load 8.5 on 2 CPUs"));
	kr_findings_release(&fs);
	kp_profile_release(&p);
}

static void test_json(void **state)
{
	(void)state;
	struct spec sp[] = { { "a\"q", 0.9, KP_FRAME_UNOPT, 0 }, { "b", 0.1, KP_FRAME_NOSYM, 0 } };
	struct kp_profile p;
	struct kr_opts o;
	struct strbuf sb = STRBUF_INIT;
	build(&p, sp, 2, 30);
	memset(&o, 0, sizeof(o));
	strbuf_addch(&sb, '{');
	strbuf_addstr(&sb, "\"x\":1");
	kr_json_findings(&p, &o, &sb);
	strbuf_addch(&sb, '}');
	json_error_t err;
	json_t *j = json_loads(sb.buf, 0, &err);
	assert_non_null(j);
	json_t *arr = json_object_get(j, "findings");
	assert_true(json_is_array(arr) && json_array_size(arr) >= 3);
	int hot = 0, dbg = 0, few = 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *f = json_array_get(arr, i);
		const char *k = json_string_value(json_object_get(f, "kind"));
		assert_non_null(json_string_value(json_object_get(f, "message")));
		if (!strcmp(k, "hotspot")) {
			hot++;
			assert_true(json_is_array(json_object_get(f, "ci95")));
			assert_true(json_is_number(json_object_get(f, "max_speedup")));
		}
		dbg += !strcmp(k, "debug_build");
		few += !strcmp(k, "few_samples");
	}
	assert_int_equal(hot, 2);
	assert_int_equal(dbg, 1);
	assert_int_equal(few, 1);
	json_decref(j);
	strbuf_release(&sb);
	kp_profile_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wilson),
		cmocka_unit_test(test_hotspot),
		cmocka_unit_test(test_hot_paths),
		cmocka_unit_test(test_debug_build),
		cmocka_unit_test(test_no_symbols),
		cmocka_unit_test(test_truncated_and_frame_pointers),
		cmocka_unit_test(test_few_samples),
		cmocka_unit_test(test_waiting),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
