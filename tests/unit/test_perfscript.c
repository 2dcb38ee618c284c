/* test_perfscript.c: the `perf script` parser's rules, one by one, checked through the
 * folded text it leads to and through the profile model it fills. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/perfscript.h"
#include "profile/folded.h"
#include "profile/profile.h"
#include "util/error.h"

struct run {
	struct kp_profile p;
	struct kp_perfscript_stats st;
	char *folded;
};

static enum kp_folded_root folded_root(enum kp_ps_root r)
{
	return r == KP_PS_ROOT_TID ? KP_ROOT_TID : r == KP_PS_ROOT_PID ? KP_ROOT_PID : KP_ROOT_COMM;
}

/* Feeds text line by line (the last line may lack '\n'), then writes folded output. */
static void run_text(struct run *r, const char *text, enum kp_ps_root root, int addrs, int annotate)
{
	struct kp_perfscript_opts o = { 0 };
	struct kp_folded_opts fo = { 0 };
	size_t size = 0;
	FILE *f;
	o.root = root;
	o.addrs = addrs;
	kp_profile_init(&r->p);
	struct kp_perfscript *ps = kp_perfscript_new(&r->p, &o);
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		kp_perfscript_line(ps, s, len);
		s += len + (nl ? 1 : 0);
	}
	kp_perfscript_finish(ps);
	r->st = *kp_perfscript_stats(ps);
	kp_perfscript_free(ps);
	f = open_memstream(&r->folded, &size);
	assert_non_null(f);
	fo.value = (uint32_t)kp_find_value_type(&r->p, "period");
	fo.root = folded_root(root);
	fo.annotate = annotate;
	assert_int_equal(kp_folded_write(&r->p, &fo, f), 0);
	fclose(f);
}

static void run_free(struct run *r)
{
	kp_profile_release(&r->p);
	free(r->folded);
}

/* Collapses text and compares the folded output with want. */
static void check(const char *text, enum kp_ps_root root, int addrs, int annotate, const char *want)
{
	struct run r;
	run_text(&r, text, root, addrs, annotate);
	if (strcmp(r.folded, want))
		fail_msg("input:\n%s\nwant:\n%s\ngot:\n%s", text, want, r.folded);
	run_free(&r);
}
#define FOLD(text, want) check(text, KP_PS_ROOT_COMM, 0, 0, want)

static void test_header_formats(void **state)
{
	/* the formats perf has used over the years all give the comm and the counts */
	FOLD("dd 29776 666709.771979:   10101010 cpu-clock: \n\t 414b3b fsnotify (/vmlinux)\n\n",
	     "dd;fsnotify 10101010\n");
	FOLD("iperf 27409/28744 [000] 441995.133575: cpu-clock: \n\t59fef5 f (/bin/x)\n\n",
	     "iperf;f 1\n");
	FOLD("func_ab 15294 cpu-clock: \n\t400570 func_b (/root/func_ab)\n\n", "func_ab;func_b 1\n");
	FOLD("java 19983 cycles:\nffffffff8103d0ca native_write ([kernel.kallsyms])\n\n",
	     "java;native_write 1\n");
	FOLD("swapper     0 [001]  1333.768770: cpu-clock: \n\tffff idle ([kernel.kallsyms])\n\n",
	     "swapper;idle 1\n");
	/* a comm with spaces: the shortest prefix followed by a number */
	FOLD("V8 WorkerThread 24636/25607 [000] 94564.109216: 100 cycles:\n\t1 f (/x)\n\n",
	     "V8_WorkerThread;f 100\n");
	/* a sample header without any event at the end still counts 1 */
	FOLD("prog 12 [000] 1.5:\n\t1 f (/x)\n\n", "prog;f 1\n");
}

static void test_roots(void **state)
{
	const char *in = "V8 Worker 24636/25607 [000] 1.0: cycles:\n\t1 f (/x)\n\n"
			 "cc1 900 [001] 2.0: cycles:\n\t1 f (/x)\n\n"
			 "swapper 0/0 [001] 2.0: cycles:\n\t1 f (/x)\n\n";
	check(in, KP_PS_ROOT_COMM, 0, 0, "V8_Worker;f 1\ncc1;f 1\nswapper;f 1\n");
	/* one number is the TID and the PID is '?'; a TID of 0 counts as absent */
	check(in, KP_PS_ROOT_PID, 0, 0, "V8_Worker-24636;f 1\ncc1-?;f 1\nswapper-?;f 1\n");
	check(in, KP_PS_ROOT_TID, 0, 0,
	      "V8_Worker-24636/25607;f 1\ncc1-?/900;f 1\nswapper-?/0;f 1\n");
}

static void test_periods(void **state)
{
	/* periods add up per stack; 0 or no period counts 1 */
	FOLD("ab 1 1.0: 5 cycles:\n\t1 f (/x)\n\n"
	     "ab 1 2.0: 7 cycles:\n\t1 f (/x)\n\n"
	     "ab 1 3.0: 0 cycles:\n\t1 g (/x)\n\n"
	     "ab 1 4.0: cycles:\n\t1 g (/x)\n\n",
	     "ab;f 12\nab;g 2\n");
	/* big periods stay exact */
	FOLD("ab 1 1.0: 4000000000 cycles:\n\t1 f (/x)\n\nab 1 1.0: 4000000000 cycles:\n\t1 f (/x)\n\n",
	     "ab;f 8000000000\n");
	/* event names may contain ':' (modifiers) */
	FOLD("emulator  4152 75695.008865:          3 cycles:u: \n\t d70 _start (/ld.so)\n\n",
	     "emulator;_start 3\n");
}

static void test_first_event_only(void **state)
{
	struct run r;
	run_text(&r,
		 "ab 1 1.0: 10 cycles:\n\t1 f (/x)\n\n"
		 "ab 1 1.1: 20 instructions:\n\t1 g (/x)\n\t1 h (/x)\n\n"
		 "ab 1 1.2: 30 cycles:\n\t1 f (/x)\n\n"
		 "ab 1 1.3: 40 instructions:\n\t1 g (/x)\n\n",
		 KP_PS_ROOT_COMM, 0, 0);
	assert_string_equal(r.folded, "ab;f 40\n");
	assert_int_equal(r.st.samples, 2);
	assert_int_equal(r.st.filtered, 2);
	assert_int_equal(r.st.bad_lines, 0); /* frames of skipped samples are not junk */
	assert_string_equal(r.st.event, "cycles");
	assert_string_equal(r.st.other_event, "instructions");
	assert_string_equal(kp_meta_get(&r.p, "event"), "cycles");
	run_free(&r);
}

static void test_symbol_cleanup(void **state)
{
	/* offsets dropped (lowercase hex at the end only) */
	FOLD("ab 1 x:\n\t1 cpu_startup_entry+0x800047c022ec ([kernel.kallsyms])\n"
	     "\t2 f+0xZZ (/x)\n\n",
	     "ab;f+0xZZ;cpu_startup_entry 1\n");
	/* ';' becomes ':' and argument lists are cut */
	FOLD("ab 1 x:\n\t1 Ljava/io/PrintStream;::print (/tmp/perf-1.map)\n"
	     "\t2 JavaCalls::call_helper(JavaValue, methodHandle) const (/libjvm.so)\n\n",
	     "ab;JavaCalls::call_helper;Ljava/io/PrintStream:::print 1\n");
	/* Go method names and (anonymous namespace) keep their parentheses */
	FOLD("ab 1 x:\n\t1 main.(*Server).Serve (/go)\n"
	     "\t2 ns::(anonymous namespace)::run(int) (/cc)\n\n",
	     "ab;ns::(anonymous namespace)::run;main.(*Server).Serve 1\n");
	/* quotes are removed */
	FOLD("ab 1 x:\n\t13a80b608e0a RegExp:[&<>\\\"\\'] (/tmp/perf-7539.map)\n\n",
	     "ab;RegExp:[&<>\\\\] 1\n");
	/* a symbol starting with '(' is skipped */
	FOLD("ab 1 x:\n\t1 (something) (/x)\n\t2 main (/x)\n\n", "ab;main 1\n");
}

static void test_java_prefix(void **state)
{
	/* the L of a class name is dropped in java processes only, and only with a '/' */
	const char *frames = "\t1 Ljava/io/PrintStream;::print (/tmp/perf-9.map)\n"
			     "\t2 LBusy;::main (/tmp/perf-9.map)\n\n";
	char buf[512];
	snprintf(buf, sizeof(buf), "java 7 x:\n%snode 8 x:\n%s", frames, frames);
	FOLD(buf, "java;LBusy:::main;java/io/PrintStream:::print 1\n"
		  "node;LBusy:::main;Ljava/io/PrintStream:::print 1\n");
	check(buf, KP_PS_ROOT_PID, 0, 0,
	      "java-?;LBusy:::main;java/io/PrintStream:::print 1\n"
	      "node-?;LBusy:::main;Ljava/io/PrintStream:::print 1\n");
}

static void test_unknown_symbols(void **state)
{
	const char *in = "ab 1 x:\n"
			 "\t0 [unknown] ([unknown])\n"
			 "\tf35d [unknown] (/lib/x86_64-linux-gnu/libpthread-2.19.so)\n"
			 "\t7f08 [unknown] (/tmp/perf-10939.map)\n\n";
	check(in, KP_PS_ROOT_COMM, 0, 0,
	      "ab;[perf-10939.map];[libpthread-2.19.so];[unknown] 1\n");
	check(in, KP_PS_ROOT_COMM, 1, 0,
	      "ab;[perf-10939.map <7f08>];[libpthread-2.19.so <f35d>];[unknown <0>] 1\n");
	check(in, KP_PS_ROOT_COMM, 0, 1, "ab;[perf-10939.map]_[j];[libpthread-2.19.so];[unknown] 1\n");
}

static void test_suffixes(void **state)
{
	const char *in = "ab 1 x:\n"
			 "\t1 sys_read ([kernel.kallsyms])\n"
			 "\t2 vfs_read (/lib/modules/4.1.0/build/vmlinux)\n"
			 "\t3 LBusy;::main (/tmp/perf-19982.map)\n"
			 "\t4 foo->bar->baz (/bin/prog)\n"
			 "\t5 main (/bin/prog)\n\n";
	check(in, KP_PS_ROOT_COMM, 0, 0, "ab;main;foo;bar_[i];baz_[i];LBusy:::main;vfs_read;sys_read 1\n");
	check(in, KP_PS_ROOT_COMM, 0, KP_ANNOTATE_KERNEL,
	      "ab;main;foo;bar_[i];baz_[i];LBusy:::main;vfs_read_[k];sys_read_[k] 1\n");
	check(in, KP_PS_ROOT_COMM, 0, KP_ANNOTATE_JIT,
	      "ab;main;foo;bar_[i];baz_[i];LBusy:::main_[j];vfs_read;sys_read 1\n");
	check(in, KP_PS_ROOT_COMM, 0, KP_ANNOTATE_KERNEL | KP_ANNOTATE_JIT,
	      "ab;main;foo;bar_[i];baz_[i];LBusy:::main_[j];vfs_read_[k];sys_read_[k] 1\n");
	/* a [unknown] module is not kernel code */
	check("ab 1 x:\n\t0 f ([unknown])\n\n", KP_PS_ROOT_COMM, 0, KP_ANNOTATE_KERNEL, "ab;f 1\n");
}

static void test_sample_boundaries(void **state)
{
	struct run r;
	/* comments are skipped; the last sample counts without a blank line after it */
	run_text(&r, "# header\n#\nab 1 x:\n\t1 f (/x)\n\nab 1 x:\n\t1 g (/x)", KP_PS_ROOT_COMM, 0, 0);
	assert_string_equal(r.folded, "ab;f 1\nab;g 1\n");
	assert_int_equal(r.st.samples, 2);
	assert_int_equal(r.st.bad_lines, 0);
	run_free(&r);
	/* a sample without frames is its comm alone */
	FOLD("ab 1 x:\n\nbc 2 x:\n\n", "ab 1\nbc 1\n");
	/* empty input gives nothing */
	FOLD("", "");
	FOLD("\n\n\n", "");
}

static void test_bad_lines(void **state)
{
	struct run r;
	run_text(&r,
		 "ab 1 x:\n\t1 f (/x)\n"
		 "\tthis is not a frame\n"
		 "GARBAGE\x01\xff\n"
		 "\t1 g (/x\n"
		 "\n",
		 KP_PS_ROOT_COMM, 0, 0);
	assert_string_equal(r.folded, "ab;f 1\n");
	assert_int_equal(r.st.bad_lines, 3);
	assert_int_equal(r.st.first_bad, 3);
	assert_int_equal(r.st.lines, 6);
	run_free(&r);
	/* frame lines outside a sample are dropped */
	FOLD("\t1 f (/x)\n\nab 1 x:\n\t1 g (/x)\n\n", "ab;g 1\n");
}

static void test_model(void **state)
{
	struct run r;
	char text[16384];
	size_t n = 0;
	/* 200 samples over 2 distinct stacks: the model holds 2 aggregated samples */
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "pq %d x:\n\t1 %s (/lib/libc.so)\n\n",
				      i, i % 2 ? "read" : "write");
	text[n] = '\0';
	run_text(&r, text, KP_PS_ROOT_COMM, 0, 0);
	assert_string_equal(r.folded, "pq;read 100\npq;write 100\n");
	assert_int_equal(r.p.nsamples, 2);
	assert_true(kp_total(&r.p, 0) == 200);
	/* the process is the sample's thread (one per comm without --pid/--tid); frames
	 * keep their module */
	kp_stack_t s = r.p.sample_stack[0];
	kp_frame_t fr[1];
	assert_int_equal(kp_stack_frames(&r.p, s, fr, 1), 1);
	assert_string_equal(kp_str_get(&r.p, r.p.frames[fr[0]].module), "/lib/libc.so");
	assert_int_equal(r.p.nthreads, 2);
	assert_int_equal(r.p.sample_thread[0], 1);
	assert_string_equal(kp_str_get(&r.p, r.p.threads[1].comm), "pq");
	run_free(&r);
	/* with --tid, threads hold the PID (-1 where perf showed one number) and the TID; two
	 * threads running the same code share the stack */
	run_text(&r, "V8 W 5/6 1.0: c:\n\t1 f (/x)\n\nV8 W 5/7 1.0: c:\n\t1 f (/x)\n\ncc 9 1.0: c:\n\n",
		 KP_PS_ROOT_TID, 0, 0);
	assert_string_equal(r.folded, "V8_W-5/6;f 1\nV8_W-5/7;f 1\ncc-?/9 1\n");
	assert_int_equal(r.p.nthreads, 4);
	assert_int_equal(r.p.threads[2].pid, 5);
	assert_int_equal(r.p.threads[2].tid, 7);
	assert_int_equal(r.p.threads[3].pid, -1);
	assert_int_equal(r.p.sample_stack[0], r.p.sample_stack[1]);
	assert_int_equal(r.p.sample_stack[2], 0); /* no frames: the empty stack */
	assert_int_equal(r.p.nsamples, 3);
	run_free(&r);
	/* kernel and unknown frames are flagged in the model whatever the output options */
	run_text(&r, "ab 1 x:\n\t1 f ([kernel.kallsyms])\n\t2 [unknown] (/x)\n\n", KP_PS_ROOT_COMM, 0, 0);
	assert_int_equal(kp_stack_frames(&r.p, r.p.sample_stack[0], NULL, 0), 2);
	kp_frame_t g[2];
	kp_stack_frames(&r.p, r.p.sample_stack[0], g, 2);
	assert_true(r.p.frames[g[0]].flags & KP_FRAME_UNKNOWN);
	assert_true(r.p.frames[g[1]].flags & KP_FRAME_KERNEL);
	run_free(&r);
}

static void test_regex_corners(void **state)
{
	/* These follow the regular expressions stackcollapse-perf.pl matches lines with. */
	/* the module is the last " (...)" group; text after it is ignored */
	FOLD("ab 1 x:\n\t7f12 foo (bar baz) (m(o)d)x y\n\n", "ab;foo  1\n");
	/* no symbol: the address's last digit stands for it */
	FOLD("ab 1 x:\n\t7f12 (mod)\n\n", "ab;2 1\n");
	/* the shortest comm followed by a number; one character is a comm (here kiln differs
	 * from stackcollapse-perf.pl, whose pattern makes this "a_-?/123") */
	check("a  123 x\n\tff f1 (m)\n\n", KP_PS_ROOT_TID, 0, 0, "a-?/123;f1 1\n");
	check("a 13142   989.827120:    1001001 cpu-clock: \n\tff f1 (m)\n\n", KP_PS_ROOT_PID, 0, 0,
	      "a-?;f1 1001001\n");
	check("comm 12/34x 7 y\n\tff f3 (m)\n\n", KP_PS_ROOT_TID, 0, 0, "comm_12/34x-?/7;f3 1\n");
	/* two samples without a blank line between them merge into one stack */
	FOLD("ab 1 1.0: 2 c:\n\t1 f (/x)\nbc 1 1.0: 3 c:\n\t1 g (/x)\n\n", "bc;g;f 3\n");
}

static void test_cache_keys(void **state)
{
	/* the same frame line in java and in another process, and with different addresses
	 * under --addrs, must not share a cached result */
	const char *in = "java 1 x:\n\t1 Lx/Y;::m (/tmp/perf-1.map)\n\t5 [unknown] (/l.so)\n\n"
			 "node 2 x:\n\t1 Lx/Y;::m (/tmp/perf-1.map)\n\t6 [unknown] (/l.so)\n\n"
			 "java 1 x:\n\t1 Lx/Y;::m (/tmp/perf-1.map)\n\t5 [unknown] (/l.so)\n\n";
	check(in, KP_PS_ROOT_COMM, 1, 0, "java;[l.so <5>];x/Y:::m 2\nnode;[l.so <6>];Lx/Y:::m 1\n");
	check(in, KP_PS_ROOT_COMM, 0, 0, "java;[l.so];x/Y:::m 2\nnode;[l.so];Lx/Y:::m 1\n");
}

static void test_sorted_output(void **state)
{
	/* plain byte order: uppercase before '_' before lowercase, bytes >= 0x80 last */
	FOLD("ab 1 x:\n\t1 z (/x)\n\nab 1 x:\n\t1 \xc3\xa9t\xc3\xa9 (/x)\n\n"
	     "ab 1 x:\n\t1 _u (/x)\n\nab 1 x:\n\t1 Z (/x)\n\n",
	     "ab;Z 1\nab;_u 1\nab;z 1\nab;\xc3\xa9t\xc3\xa9 1\n");
	/* names that are prefixes of others: the text order, not the frame-by-frame order */
	FOLD("ab 1 x:\n\t1 x (/x)\n\t1 foo (/x)\n\nab 1 x:\n\t1 foo_bar (/x)\n\n"
	     "ab 1 x:\n\t1 foo-bar (/x)\n\nab 1 x:\n\t1 foo (/x)\n\n",
	     "ab;foo 1\nab;foo-bar 1\nab;foo;x 1\nab;foo_bar 1\n");
	/* different frames with the same text (here: modules) make one line */
	FOLD("ab 1 x:\n\t1 f (/x)\n\nab 1 x:\n\t1 f (/y)\n\n", "ab;f 2\n");
}

static void test_huge_and_odd_lines(void **state)
{
	/* a 2 MB symbol is kept whole (not cached); NUL bytes do not end a line */
	size_t big = 2u << 20;
	char *text = malloc(big + 64);
	int n = snprintf(text, 64, "ab 1 x:\n\t1 ");
	memset(text + n, 'q', big);
	memcpy(text + n + big, " (/x)\n\n", 8);
	struct run r;
	run_text(&r, text, KP_PS_ROOT_COMM, 0, 0);
	assert_int_equal(strlen(r.folded), 3 + big + 3); /* "ab;" name " 1\n" */
	assert_int_equal(r.st.long_lines, 1);
	run_free(&r);
	free(text);

	struct kp_profile p;
	kp_profile_init(&p);
	struct kp_perfscript *ps = kp_perfscript_new(&p, NULL);
	static const char l1[] = "ab 1 x:", l2[] = "\t1 f\0g (/x)";
	kp_perfscript_line(ps, l1, sizeof(l1) - 1);
	kp_perfscript_line(ps, l2, sizeof(l2) - 1);
	kp_perfscript_finish(ps);
	assert_int_equal(kp_perfscript_stats(ps)->samples, 1);
	assert_int_equal(kp_perfscript_stats(ps)->bad_lines, 0);
	kp_perfscript_free(ps);
	kp_profile_release(&p);
}

/* Mutated real input (bytes flipped, inserted, cut) never crashes the parser, and the
 * stats stay consistent. Run under `make SAN=1 test` for the memory checks. */
static void test_mutations(void **state)
{
	FILE *f = fopen("tests/data/flamegraph-collapse/inputs/perf-js-stacks-01.txt", "rb");
	if (!f)
		skip();
	char orig[8192];
	size_t n = fread(orig, 1, sizeof(orig), f);
	fclose(f);
	assert_true(n > 1000 && n < sizeof(orig));
	static const char alphabet[] = "\n\t ()[]:;/+-0x9aL>\"'#_\xff\x00";
	srand(12345);
	for (int iter = 0; iter < 3000; iter++) {
		char buf[8192 + 64];
		size_t len = n;
		memcpy(buf, orig, n);
		int edits = 1 + rand() % 8;
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand() % len;
			char c = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
			switch (rand() % 3) {
			case 0: buf[at] = c; break;
			case 1:
				if (len < sizeof(buf) - 1) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = c;
					len++;
				}
				break;
			default: len = at + 1; break;
			}
		}
		struct kp_profile p;
		struct kp_perfscript_opts o = { 0 };
		o.root = (enum kp_ps_root)(iter % 3);
		o.addrs = iter & 1;
		kp_profile_init(&p);
		struct kp_perfscript *ps = kp_perfscript_new(&p, &o);
		size_t start = 0;
		for (size_t i = 0; i <= len; i++)
			if (i == len || buf[i] == '\n') {
				kp_perfscript_line(ps, buf + start, i - start);
				start = i + 1;
			}
		kp_perfscript_finish(ps);
		const struct kp_perfscript_stats *st = kp_perfscript_stats(ps);
		assert_true(st->bad_lines + st->headers + st->frame_lines <= st->lines);
		assert_true(p.nsamples <= st->samples);
		char *out = NULL;
		size_t outlen = 0;
		FILE *m = open_memstream(&out, &outlen);
		struct kp_folded_opts fo = { 0 };
		fo.root = folded_root(o.root);
		fo.annotate = iter % 7;
		assert_int_equal(kp_folded_write(&p, &fo, m), 0);
		fclose(m);
		free(out);
		kp_perfscript_free(ps);
		kp_profile_release(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_formats),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_periods),
		cmocka_unit_test(test_first_event_only),
		cmocka_unit_test(test_symbol_cleanup),
		cmocka_unit_test(test_java_prefix),
		cmocka_unit_test(test_unknown_symbols),
		cmocka_unit_test(test_suffixes),
		cmocka_unit_test(test_sample_boundaries),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_regex_corners),
		cmocka_unit_test(test_cache_keys),
		cmocka_unit_test(test_sorted_output),
		cmocka_unit_test(test_huge_and_odd_lines),
		cmocka_unit_test(test_mutations),
	};
	kiln_set_quiet(1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
