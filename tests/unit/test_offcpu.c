/* test_offcpu.c: off-CPU intervals (collect/offcpu.c), --call-graph parsing
 * (collect/unwind_dwarf.c) and the report's verdict and time split (report/verdict.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "collect/offcpu.h"
#include "collect/unwind_dwarf.h"
#include "report/verdict.h"

/* a profile with the value types `kiln record --off-cpu` writes */
static void init_prof(struct kp_profile *p)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_add_value_type(p, "cpu_ns", "nanoseconds");
	kp_add_value_type(p, "off_cpu_ns", "nanoseconds");
	kp_add_value_type(p, "wall_ns", "nanoseconds");
	p->default_value = 3;
}

static kp_stack_t path(struct kp_profile *p, const char *const *names, int n, uint32_t last_flags)
{
	kp_stack_t s = 0;
	for (int i = 0; i < n; i++)
		s = kp_stack_push(p, s, kp_frame_named(p, names[i], strlen(names[i]), i == n - 1 ? last_flags : 0));
	return s;
}

static const char *leaf_name(const struct kp_profile *p, size_t i)
{
	return kp_str_get(p, p->frames[p->stacks[p->sample_stack[i]].frame].name);
}

static void test_intervals(void **state)
{
	(void)state;
	struct kp_profile p;
	init_prof(&p);
	uint32_t th = kp_add_thread(&p, 5, 5, "prog");
	static const char *const blk[] = { "main", "consume", "read" };
	kp_stack_t s = path(&p, blk, 3, 0);
	struct kc_offcpu_values v = { 0, 2, 3 };
	struct kc_offcpu *o = kc_offcpu_new(&p, &v);

	/* blocked: sample then switch-out record, back in 1000 ns later */
	kc_offcpu_out_stack(o, 5, th, 100, s);
	kc_offcpu_out(o, 5, th, 101, 0);
	kc_offcpu_in(o, 5, 1100);
	assert_int_equal(p.nsamples, 1);
	assert_true(kp_sample_value(&p, 0, 2) == 1000);
	assert_true(kp_sample_value(&p, 0, 3) == 1000);
	assert_true(kp_sample_value(&p, 0, 1) == 0);
	assert_string_equal(leaf_name(&p, 0), KC_OFFCPU_BLOCKED);
	assert_int_equal(p.stacks[p.sample_stack[0]].parent, s);
	assert_true(p.frames[p.stacks[p.sample_stack[0]].frame].flags & KP_FRAME_OFFCPU);

	/* preempted: runnable marker; a switch-in without a switch-out adds nothing */
	kc_offcpu_out_stack(o, 5, th, 2000, s);
	kc_offcpu_out(o, 5, th, 2000, 1);
	kc_offcpu_in(o, 5, 2500);
	kc_offcpu_in(o, 5, 2600);
	assert_int_equal(p.nsamples, 2);
	assert_string_equal(leaf_name(&p, 1), KC_OFFCPU_RUNNABLE);
	assert_true(kp_sample_value(&p, 1, 2) == 500);

	/* switch-out record without its sample (lost): the marker alone, at the root */
	kc_offcpu_out(o, 5, th, 3000, 0);
	kc_offcpu_in(o, 5, 3010);
	assert_int_equal(p.nsamples, 3);
	assert_int_equal(p.stacks[p.sample_stack[2]].parent, 0);

	/* an exited thread waits no more; one still off the CPU at the end waits until then */
	kc_offcpu_out_stack(o, 5, th, 4000, s);
	kc_offcpu_exit(o, 5);
	uint32_t th2 = kp_add_thread(&p, 5, 6, "worker");
	kc_offcpu_out_stack(o, 6, th2, 4000, s);
	kc_offcpu_finish(o, 9000);
	assert_int_equal(p.nsamples, 4);
	assert_int_equal(p.sample_thread[3], th2);
	assert_true(kp_sample_value(&p, 3, 2) == 5000);
	assert_int_equal(kc_offcpu_count(o), 4);
	kc_offcpu_free(o);
	kp_profile_release(&p);
}

static void test_many_threads(void **state)
{
	(void)state;
	struct kp_profile p;
	init_prof(&p);
	uint32_t th = kp_add_thread(&p, 1, 1, "x");
	struct kc_offcpu_values v = { 0, 2, 3 };
	struct kc_offcpu *o = kc_offcpu_new(&p, &v);
	for (int t = 1; t <= 1000; t++)
		kc_offcpu_out(o, t, th, (uint64_t)t, 0);
	for (int t = 1; t <= 1000; t++)
		kc_offcpu_in(o, t, (uint64_t)t + 10);
	assert_int_equal(p.nsamples, 1000);
	assert_true(kp_total(&p, 2) == 10000);
	kc_offcpu_free(o);
	kp_profile_release(&p);
}

static void test_call_graph_parse(void **state)
{
	(void)state;
	int mode;
	uint32_t size;
	assert_int_equal(kc_call_graph_parse("fp", &mode, &size), 0);
	assert_int_equal(mode, KC_CG_FP);
	assert_int_equal(size, 0);
	assert_int_equal(kc_call_graph_parse("dwarf", &mode, &size), 0);
	assert_int_equal(mode, KC_CG_DWARF);
	assert_int_equal(kc_call_graph_parse("dwarf,8192", &mode, &size), 0);
	assert_int_equal(size, 8192);
	assert_int_equal(kc_call_graph_parse("auto,32K", &mode, &size), 0);
	assert_int_equal(mode, KC_CG_AUTO);
	assert_int_equal(size, 32768);
	assert_int_equal(kc_call_graph_parse("dwarf,100", &mode, &size), 0);
	assert_int_equal(size, 104); /* rounded up to 8 */
	assert_int_equal(kc_call_graph_parse("fp,4096", &mode, &size), -1);
	assert_int_equal(kc_call_graph_parse("dwarf,", &mode, &size), -1);
	assert_int_equal(kc_call_graph_parse("dwarf,0", &mode, &size), -1);
	assert_int_equal(kc_call_graph_parse("dwarf,1M", &mode, &size), -1);
	assert_int_equal(kc_call_graph_parse("lbr", &mode, &size), -1);
	assert_int_equal(kc_call_graph_parse("", &mode, &size), -1);
	assert_int_equal(kc_call_graph_parse("dwarfx", &mode, &size), -1);
}

static void test_splice(void **state)
{
	(void)state;
	/* CFI walk: ip, a, b (copy ran out); FP chain: ip, x, b, c, d (x wrong: a frameless leaf) */
	uint64_t out[8] = { 0x10, 0xa, 0xb };
	const uint64_t fp[] = { 0x10, 0x99, 0xb, 0xc, 0xd };
	assert_int_equal(kc_splice_fp(out, 3, fp, 5, 8), 5);
	assert_true(out[0] == 0x10 && out[1] == 0xa && out[2] == 0xb && out[3] == 0xc && out[4] == 0xd);
	/* max caps the result */
	uint64_t out2[8] = { 0x10, 0xa, 0xb };
	assert_int_equal(kc_splice_fp(out2, 3, fp, 5, 4), 4);
	assert_true(out2[3] == 0xc);
	/* no common frame, or nothing after it, or only the ip in common: no splice */
	uint64_t out3[8] = { 0x10, 0xa, 0xe };
	const uint64_t fp3[] = { 0x10, 0x77, 0x78 };
	assert_int_equal(kc_splice_fp(out3, 3, fp3, 3, 8), -1);
	const uint64_t fp4[] = { 0x10, 0xa, 0xe };
	assert_int_equal(kc_splice_fp(out3, 3, fp4, 3, 8), -1);
	uint64_t out5[8] = { 0x10 };
	assert_int_equal(kc_splice_fp(out5, 1, fp, 5, 8), -1);
	/* the last CFI frame was a wrong guess: the chain takes over from the one before */
	uint64_t out6[8] = { 0x10, 0xa, 0xb, 0xbad };
	assert_int_equal(kc_splice_fp(out6, 4, fp, 5, 8), 5);
	assert_true(out6[3] == 0xc && out6[4] == 0xd);
}

/* 30 ns on the CPU in main;compute, 60 blocked in main;consume;read (+ kernel frames),
 * 10 runnable in main;compute */
static void build_mixed(struct kp_profile *p)
{
	init_prof(p);
	uint32_t th = kp_add_thread(p, 7, 7, "prog");
	static const char *const cpu[] = { "main", "compute" };
	static const char *const blk[] = { "main", "consume", "read", "schedule", KC_OFFCPU_BLOCKED };
	static const char *const run[] = { "main", "compute", KC_OFFCPU_RUNNABLE };
	double v1[4] = { 1, 30, 0, 30 }, v2[4] = { 1, 0, 60, 60 }, v3[4] = { 1, 0, 10, 10 };
	/* on the clock: CPU [0, 30), blocked [30, 90), runnable [90, 100) */
	kp_add_sample(p, path(p, cpu, 2, 0), th, 30, v1);
	kp_stack_t b = 0;
	for (int i = 0; i < 5; i++)
		b = kp_stack_push(p, b, kp_frame_named(p, blk[i], strlen(blk[i]),
						       i == 3 ? KP_FRAME_KERNEL : i == 4 ? KP_FRAME_OFFCPU : 0));
	kp_add_sample(p, b, th, 30, v2);
	kp_add_sample(p, path(p, run, 3, KP_FRAME_OFFCPU), th, 90, v3);
}

static void test_verdict(void **state)
{
	(void)state;
	struct kp_profile p;
	struct kr_opts o;
	struct strbuf sb = STRBUF_INIT;
	struct kr_split sp;
	build_mixed(&p);
	memset(&o, 0, sizeof(o));
	o.value = 3;
	o.count_value = 0;
	assert_true(kr_is_offcpu(&p));
	kr_split_sum(&p, &o, (uint32_t)-1, &sp);
	assert_true(sp.running == 30 && sp.blocked == 60 && sp.runnable == 10 && sp.wall == 100);
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "waiting: 60% of wall time blocked, mostly in read <- consume <- main (60%); 30% on the CPU");
	strbuf_release(&sb);
	/* more on the CPU than off it: CPU-bound, with the hottest on-CPU path */
	double more[4] = { 1, 100, 0, 100 };
	static const char *const cpu2[] = { "main", "compute", "inner" };
	kp_add_sample(&p, path(&p, cpu2, 3, 0), 1, 200, more); /* CPU [100, 200) */
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "CPU-bound: 65% of wall time on the CPU, mostly in inner <- compute <- main (77% of the CPU time); "
				    "30% blocked, 5% waiting for a CPU");
	strbuf_release(&sb);
	/* a thread filter: only thread 2 (no samples) */
	uint8_t keep[4] = { 0, 0, 0, 0 };
	o.keep = keep;
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "no time recorded");
	strbuf_release(&sb);
	o.keep = NULL;
	kp_profile_release(&p);

	/* a plain CPU profile */
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	uint32_t th = kp_add_thread(&p, 1, 1, "x");
	static const char *const a[] = { "main", "work", "hot", "spin" };
	static const char *const b[] = { "main", "other" };
	double one = 1;
	for (int i = 0; i < 3; i++)
		kp_add_sample(&p, path(&p, a, 4, 0), th, 0, &one);
	kp_add_sample(&p, path(&p, b, 2, 0), th, 0, &one);
	memset(&o, 0, sizeof(o));
	assert_false(kr_is_offcpu(&p));
	/* no kind (folded text): no claim about what was recorded */
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "hottest path spin <- hot <- work (75.0% of samples)");
	strbuf_release(&sb);
	kp_meta_set(&p, "kind", "cpu");
	kr_verdict(&p, &o, &sb);
	assert_non_null(strstr(sb.buf, "on-CPU profile"));
	assert_non_null(strstr(sb.buf, "spin <- hot <- work (75.0% of samples)"));
	strbuf_release(&sb);
	kp_profile_release(&p);

	/* empty */
	init_prof(&p);
	memset(&o, 0, sizeof(o));
	o.value = 3;
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "no time recorded");
	strbuf_release(&sb);
	kp_profile_release(&p);
}

/* A thread named comm of process pid; adds an on-CPU span [t - len, t) in frames names
 * or an off-CPU interval [t, t + len) (marker != NULL). */
static void span(struct kp_profile *p, uint32_t th, const char *const *names, int n, const char *marker,
		 uint64_t t, double len)
{
	kp_stack_t s = 0;
	for (int i = 0; i < n; i++) {
		int kernel = !strncmp(names[i], "k:", 2);
		const char *nm = kernel ? names[i] + 2 : names[i];
		s = kp_stack_push(p, s, kp_frame_named(p, nm, strlen(nm), kernel ? KP_FRAME_KERNEL : 0));
	}
	double v[4] = { 1, marker ? 0 : len, marker ? len : 0, len };
	if (marker)
		s = kp_stack_push(p, s, kp_frame_named(p, marker, strlen(marker), KP_FRAME_OFFCPU));
	kp_add_sample(p, s, th, t, v);
}

/* `sh -c 'prog | ...'`: the shell waits in wait4 for its children all along; while a
 * child computes the run is CPU-bound, and the shell's wait is not "waiting". */
static void test_verdict_child_wait(void **state)
{
	(void)state;
	struct kp_profile p;
	struct kr_opts o;
	struct strbuf sb = STRBUF_INIT;
	struct kr_split sp;
	struct kr_run run;
	static const char *const shw[] = { "main", "waitforjob", "wait4", "k:do_syscall_64", "k:do_wait", "k:schedule" };
	static const char *const work[] = { "main", "deflate" };
	static const char *const rd[] = { "main", "fill_window", "read", "k:anon_pipe_read", "k:schedule" };
	init_prof(&p);
	uint32_t sh = kp_add_thread(&p, 10, 10, "sh"), gz = kp_add_thread(&p, 11, 11, "gzip");
	span(&p, sh, shw, 6, KC_OFFCPU_BLOCKED, 0, 1000);
	for (uint64_t t = 100; t <= 800; t += 100)
		span(&p, gz, work, 2, NULL, t, 100); /* gzip on the CPU [0, 800) */
	span(&p, gz, rd, 5, KC_OFFCPU_BLOCKED, 800, 200); /* then blocked reading [800, 1000) */
	memset(&o, 0, sizeof(o));
	o.value = 3;
	kr_split_sum(&p, &o, (uint32_t)-1, &sp);
	assert_true(sp.running == 800 && sp.blocked == 1200 && sp.child_wait == 1000);
	kr_run_timeline(&p, &o, &run, NULL);
	assert_true(run.running == 800 && run.blocked == 200 && run.runnable == 0 && run.child == 0 && run.wall == 1000);
	assert_true(run.child_wait == 1000);
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "CPU-bound: 80% of wall time on the CPU, mostly in deflate <- main (gzip, 100% of the CPU time); "
				    "20% blocked, 0% waiting for a CPU");
	strbuf_release(&sb);
	/* the shell alone (its children not recorded): it waits, for children */
	uint8_t keep[10] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	o.keep = keep;
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "waiting: 100% of wall time waiting for child processes that were not recorded, "
				    "mostly in wait4 <- waitforjob <- main (100%); 0% on the CPU");
	strbuf_release(&sb);
	kp_profile_release(&p);
}

/* A pipeline: the consumer blocks on the pipe while the producer computes (the run is
 * busy); a program blocked on input from outside the run, with nothing else running,
 * is waiting. Two blocked threads share the time they wait together. */
static void test_verdict_pipe(void **state)
{
	(void)state;
	struct kp_profile p;
	struct kr_opts o;
	struct strbuf sb = STRBUF_INIT;
	struct kr_run run;
	static const char *const prod[] = { "main", "produce" };
	static const char *const cons[] = { "main", "consume" };
	static const char *const rd[] = { "main", "read" };
	static const char *const sl[] = { "main", "nanosleep" };
	init_prof(&p);
	uint32_t a = kp_add_thread(&p, 20, 20, "tar"), b = kp_add_thread(&p, 21, 21, "gzip");
	for (uint64_t t = 50; t <= 1000; t += 50)
		span(&p, a, prod, 2, NULL, t, 50); /* tar computes [0, 1000) */
	span(&p, b, rd, 2, KC_OFFCPU_BLOCKED, 0, 600); /* gzip waits on the pipe [0, 600) */
	for (uint64_t t = 700; t <= 1000; t += 100)
		span(&p, b, cons, 2, NULL, t, 100);
	memset(&o, 0, sizeof(o));
	o.value = 3;
	kr_run_timeline(&p, &o, &run, NULL);
	assert_true(run.running == 1000 && run.wall == 1000 && run.blocked == 0);
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "CPU-bound: 100% of wall time on the CPU, mostly in produce <- main (tar, 71% of the CPU time); "
				    "0% blocked, 0% waiting for a CPU");
	strbuf_release(&sb);
	kp_profile_release(&p);

	/* cat reading from a writer outside the run: 900 blocked, 100 on the CPU; a second
	 * thread sleeps through [500, 1000), sharing that half of the wait */
	init_prof(&p);
	a = kp_add_thread(&p, 30, 30, "cat");
	b = kp_add_thread(&p, 30, 31, "timer");
	span(&p, a, cons, 2, NULL, 100, 100);
	span(&p, a, rd, 2, KC_OFFCPU_BLOCKED, 100, 900);
	span(&p, b, sl, 2, KC_OFFCPU_BLOCKED, 500, 500);
	memset(&o, 0, sizeof(o));
	o.value = 3;
	double share[3];
	kr_run_timeline(&p, &o, &run, share);
	assert_true(run.running == 100 && run.blocked == 900 && run.wall == 1000);
	assert_true(share[0] == 0 && share[1] == 650 && share[2] == 250);
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "waiting: 90% of wall time blocked, mostly in read <- main (cat, 65%); 10% on the CPU");
	strbuf_release(&sb);
	kp_profile_release(&p);
}

/* A timer period that ends after a wait counts only CPU time: the span is clipped to
 * after the wait, so the run's wall is not counted twice. */
static void test_timeline_clip(void **state)
{
	(void)state;
	struct kp_profile p;
	struct kr_opts o;
	struct kr_run run;
	static const char *const w[] = { "main", "work" };
	static const char *const rd[] = { "main", "read" };
	init_prof(&p);
	uint32_t a = kp_add_thread(&p, 40, 40, "prog");
	span(&p, a, w, 2, NULL, 100, 100);                 /* [0, 100) */
	span(&p, a, rd, 2, KC_OFFCPU_BLOCKED, 130, 200);  /* [130, 330) */
	span(&p, a, w, 2, NULL, 400, 100);                 /* 30 before the wait, 70 after: [330, 400) */
	memset(&o, 0, sizeof(o));
	o.value = 3;
	kr_run_timeline(&p, &o, &run, NULL);
	assert_true(run.running == 170 && run.blocked == 200 && run.wall == 370);
	kp_profile_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_call_graph_parse),
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_verdict_child_wait),
		cmocka_unit_test(test_verdict_pipe),
		cmocka_unit_test(test_timeline_clip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
