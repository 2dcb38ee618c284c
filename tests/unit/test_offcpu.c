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
	kp_add_sample(p, path(p, cpu, 2, 0), th, 0, v1);
	kp_stack_t b = 0;
	for (int i = 0; i < 5; i++)
		b = kp_stack_push(p, b, kp_frame_named(p, blk[i], strlen(blk[i]),
						       i == 3 ? KP_FRAME_KERNEL : i == 4 ? KP_FRAME_OFFCPU : 0));
	kp_add_sample(p, b, th, 1, v2);
	kp_add_sample(p, path(p, run, 3, KP_FRAME_OFFCPU), th, 2, v3);
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
	kp_add_sample(&p, path(&p, cpu2, 3, 0), 1, 3, more);
	kr_verdict(&p, &o, &sb);
	assert_string_equal(sb.buf, "CPU-bound: 65% of wall time on the CPU, mostly in inner <- compute <- main (50%); "
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_call_graph_parse),
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
