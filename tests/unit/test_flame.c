/* test_flame.c: flame graph trees, layout (widths, merging, order, minwidth, size
 * budget, flame charts, reversed and inverted graphs), colours and SVG output. */
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
#include "profile/profile_io.h"
#include "render/flame.h"
#include "util/error.h"
#include "util/input.h"
#include "util/strbuf.h"

#include "unit.h"

/* Layout of text under options o (NULL: defaults). */
static struct kf_tree *lay(const char *text, const struct kf_opts *o, struct kp_profile *p, struct kf_layout *l)
{
	struct kf_opts def;
	kf_opts_init(&def);
	if (!o)
		o = &def;
	unit_folded(p, text);
	struct kf_tree *t = kf_tree_new(o, 1);
	kf_tree_add(t, p, 0, 0, 1.0);
	assert_int_equal(kf_layout_build(t, o, 0, l), 0);
	return t;
}

/* "name@depth:x+w" for every box, in the layout's (depth-first) order. */
static void describe(struct kf_tree *t, const struct kf_layout *l, struct strbuf *out)
{
	strbuf_reset(out);
	for (uint32_t i = 0; i < l->nboxes; i++) {
		const struct kf_box *b = &l->boxes[i];
		if (i)
			strbuf_addch(out, ' ');
		kf_tree_name(t, b->key, out);
		strbuf_addf(out, "@%u:%g+%g", b->depth, b->x, b->w);
	}
}

static void test_merge_and_order(void **state)
{
	struct kp_profile p;
	struct kf_layout l;
	struct strbuf sb = STRBUF_INIT;
	/* unsorted input, a repeated stack, children out of name order */
	struct kf_tree *t = lay("main;zeta 4\n"
				"main;alpha;x 2\n"
				"other 1\n"
				"main;alpha;x 3\n"
				"main 1\n"
				"main;alpha 1\n",
				NULL, &p, &l);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+12 main@1:0+11 alpha@2:0+6 x@3:0+5 zeta@2:6+4 other@1:11+1");
	assert_int_equal(l.max_depth, 3);
	assert_true(l.total == 12);
	/* parents come before children and point back */
	for (uint32_t i = 1; i < l.nboxes; i++) {
		assert_true(l.boxes[i].parent < i);
		assert_int_equal(l.boxes[l.boxes[i].parent].depth + 1, l.boxes[i].depth);
	}
	assert_true(l.boxes[1].self == 1); /* main's own sample */
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&sb);
}

static void test_fractional_counts(void **state)
{
	struct kp_profile p;
	struct kf_layout l;
	struct strbuf sb = STRBUF_INIT;
	struct kf_tree *t = lay("a;b 0.25\na;c 0.5\na 1.25\n", NULL, &p, &l);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+2 a@1:0+2 b@2:0+0.25 c@2:0.25+0.5");
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&sb);
}

static void test_minwidth(void **state)
{
	struct kp_profile p;
	struct kf_layout l;
	struct kf_opts o;
	struct strbuf sb = STRBUF_INIT;
	kf_opts_init(&o);
	/* usable width 1180 px for 11800 samples: 0.1 px per sample */
	o.minwidth = 0.3;
	struct kf_tree *t = lay("a;big 11795\na;tiny 2\na;edge 3\n", &o, &p, &l);
	describe(t, &l, &sb);
	/* tiny is 0.2 px: left out; edge is exactly 0.3 px: kept; a keeps its full width */
	assert_string_equal(sb.buf, "all@0:0+11800 a@1:0+11800 big@2:0+11795 edge@2:11795+3");
	assert_int_equal(l.candidates, 4);
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);

	/* percent form: 1% of 200 = 2 */
	o.minwidth = 1;
	o.minwidth_percent = 1;
	t = lay("x;y 1\nx;z 2\nx 197\n", &o, &p, &l);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+200 x@1:0+200 z@2:0+2");
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&sb);
}

static void test_keep_max(void **state)
{
	struct kp_profile p;
	struct kf_layout l;
	struct kf_opts o;
	struct strbuf sb = STRBUF_INIT;
	kf_opts_init(&o);
	unit_folded(&p, "a;b;c 5\na;d 3\ne 2\n");
	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, 0, 0, 1.0);
	/* the widest 4: all(10) a(8) b(5) c(5): c ties with b and is deeper, so it goes last */
	assert_int_equal(kf_layout_build(t, &o, 4, &l), 0);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+10 a@1:0+8 b@2:0+5 c@3:0+5");
	assert_int_equal(l.dropped_for_size, 2);
	kf_layout_release(&l);
	assert_int_equal(kf_layout_build(t, &o, 3, &l), 0);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+10 a@1:0+8 b@2:0+5");
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&sb);
}

static void test_flamechart(void **state)
{
	struct kp_profile p;
	struct kf_layout l;
	struct kf_opts o;
	struct strbuf sb = STRBUF_INIT;
	kf_opts_init(&o);
	o.flamechart = 1;
	/* input order kept (z before a); b splits where a sample leaves it */
	struct kf_tree *t = lay("z 1\na;b 2\na;b 1\na 1\na;b 1\n", &o, &p, &l);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+6 z@1:0+1 a@1:1+5 b@2:1+3 b@2:5+1");
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&sb);
}

static void test_reverse(void **state)
{
	struct kp_profile p;
	struct kf_layout l;
	struct kf_opts o;
	struct strbuf sb = STRBUF_INIT;
	kf_opts_init(&o);
	o.reverse = 1;
	struct kf_tree *t = lay("a;b;c 2\nx;c 1\na;b 4\n", &o, &p, &l);
	describe(t, &l, &sb);
	assert_string_equal(sb.buf, "all@0:0+7 b@1:0+4 a@2:0+4 c@1:4+3 b@2:4+2 a@3:4+2 x@2:6+1");
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&sb);
}

/* The profile's threads root its stacks; the same stacks from folded text with the
 * process name first lay out the same. */
static void test_profile_roots(void **state)
{
	struct kp_profile p, q;
	struct kf_opts o;
	struct kf_layout l1, l2;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	kf_opts_init(&o);
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	uint32_t t1 = kp_add_thread(&p, 10, 10, "my prog");
	uint32_t t2 = kp_add_thread(&p, 10, 11, "my prog");
	uint32_t t3 = kp_add_thread(&p, 20, 20, "sh");
	struct kp_frame f = { 0 };
	f.name = kp_strz(&p, "main");
	kp_frame_t fmain = kp_frame(&p, &f);
	f.line = 12; /* another line of main: same function, one frame in the graph */
	kp_frame_t fmain12 = kp_frame(&p, &f);
	f.name = kp_strz(&p, "sys_read");
	f.line = 0;
	f.flags = KP_FRAME_KERNEL;
	kp_frame_t fk = kp_frame(&p, &f);
	kp_frame_t s1[] = { fmain, fk }, s2[] = { fmain12, fk }, s3[] = { fmain };
	double one = 1, two = 2;
	kp_add_sample(&p, kp_stack_from_frames(&p, s1, 2), t1, 0, &one);
	kp_add_sample(&p, kp_stack_from_frames(&p, s2, 2), t2, 1, &two);
	kp_add_sample(&p, kp_stack_from_frames(&p, s3, 1), t3, 2, &one);
	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, 0, 0, 1.0);
	assert_int_equal(kf_layout_build(t, &o, 0, &l1), 0);
	describe(t, &l1, &a);
	assert_string_equal(a.buf, "all@0:0+4 my_prog@1:0+3 main@2:0+3 sys_read_[k]@3:0+3 sh@1:3+1 main@2:3+1");
	assert_true(l1.boxes[3].flags & KP_FRAME_KERNEL);
	assert_true(l1.boxes[1].flags & KP_FRAME_ROOT);

	unit_folded(&q, "my_prog;main;sys_read_[k] 3\nsh;main 1\n");
	struct kf_tree *u = kf_tree_new(&o, 1);
	kf_tree_add(u, &q, 0, 0, 1.0);
	assert_int_equal(kf_layout_build(u, &o, 0, &l2), 0);
	describe(u, &l2, &b);
	assert_string_equal(a.buf, b.buf);
	kf_layout_release(&l1);
	kf_layout_release(&l2);
	kf_tree_free(t);
	kf_tree_free(u);
	kp_profile_release(&p);
	kp_profile_release(&q);
	strbuf_release(&a);
	strbuf_release(&b);
}

static void test_zero_total(void **state)
{
	struct kp_profile p;
	struct kf_opts o;
	struct kf_layout l;
	struct strbuf svg = STRBUF_INIT;
	kf_opts_init(&o);
	unit_folded(&p, "a;b 0\nc 0\n");
	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, 0, 0, 1.0);
	assert_true(kf_tree_total(t, 0) == 0);
	assert_int_equal(kf_layout_build(t, &o, 0, &l), -1);
	assert_int_equal(kf_render_svg(t, &o, &svg, NULL), -1);
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&svg);
}

static void test_diff_tree(void **state)
{
	struct kp_profile before, after;
	struct kf_opts o;
	struct kf_layout l;
	struct strbuf sb = STRBUF_INIT;
	kf_opts_init(&o);
	o.diff = 1;
	unit_folded(&before, "m;grow 2\nm;shrink 6\nm;gone 4\n");
	unit_folded(&after, "m;grow 8\nm;shrink 3\nm;new 1\n");
	struct kf_tree *t = kf_tree_new(&o, 2);
	kf_tree_add(t, &after, 0, 0, 1.0);
	kf_tree_add(t, &before, 0, 1, 0.5);
	assert_true(kf_tree_total(t, 0) == 12);
	assert_true(kf_tree_total(t, 1) == 6);
	assert_int_equal(kf_layout_build(t, &o, 0, &l), 0);
	describe(t, &l, &sb);
	/* the shape of AFTER: "gone" is not drawn */
	assert_string_equal(sb.buf, "all@0:0+12 m@1:0+12 grow@2:0+8 new@2:8+1 shrink@2:9+3");
	assert_true(l.boxes[1].w_before == 6);
	assert_true(l.boxes[2].self_before == 1 && l.boxes[2].self == 8);
	assert_true(l.boxes[3].self_before == 0);
	assert_true(l.boxes[4].self_before == 3 && l.boxes[4].self == 3);
	kf_layout_release(&l);
	kf_tree_free(t);
	kp_profile_release(&before);
	kp_profile_release(&after);
	strbuf_release(&sb);
}

static void test_colors(void **state)
{
	struct kf_opts o;
	kf_opts_init(&o);
	o.hash = 1;
	/* --hash: one name, one colour, whatever the frame */
	uint32_t c1 = kf_color(&o, "do_work", 7, 0, 1), c2 = kf_color(&o, "do_work", 7, 0, 999);
	assert_int_equal(c1, c2);
	assert_int_equal(c1, kf_color(&o, "do_work", 7, 0, 1));
	/* hot: red high, blue low */
	assert_true((c1 >> 16) >= 205 && (c1 & 0xff) <= 55);
	/* without --hash frames of one name vary, deterministically */
	o.hash = 0;
	int differ = 0;
	for (uint64_t s = 1; s < 10; s++) {
		assert_int_equal(kf_color(&o, "f", 1, 0, s), kf_color(&o, "f", 1, 0, s));
		if (kf_color(&o, "f", 1, 0, s) != kf_color(&o, "f", 1, 0, s + 1))
			differ = 1;
	}
	assert_true(differ);
	/* java: kind of code by name and flags */
	o.palette = KF_JAVA;
	o.hash = 1;
	uint32_t k = kf_color(&o, "sys_write_[k]", 13, KP_FRAME_KERNEL, 0);
	assert_true((k & 0xff) == 0 && (k >> 16) >= 190); /* orange */
	uint32_t in = kf_color(&o, "foo_[i]", 7, KP_FRAME_INLINE, 0);
	assert_true(((in >> 8) & 0xff) >= 165 && (in & 0xff) >= 165 && (in >> 16) <= 110); /* aqua */
	uint32_t j = kf_color(&o, "java/util/HashMap:::get", 23, 0, 0);
	assert_true(((j >> 8) & 0xff) >= 200 && (j >> 16) <= 110); /* green */
	uint32_t cpp = kf_color(&o, "std::vector::push", 17, 0, 0);
	assert_true((cpp >> 16) >= 175 && ((cpp >> 8) & 0xff) >= 175 && (cpp & 0xff) <= 70); /* yellow */
	uint32_t nat = kf_color(&o, "malloc", 6, 0, 0);
	assert_true((nat >> 16) >= 200 && ((nat >> 8) & 0xff) <= 130); /* red */
	/* js */
	o.palette = KF_JS;
	uint32_t js = kf_color(&o, "render /app/main.js:12", 22, 0, 0);
	assert_true(((js >> 8) & 0xff) >= 200 && (js >> 16) <= 110);
	/* off-CPU time is blue whatever the palette */
	o.palette = KF_HOT;
	uint32_t off = kf_color(&o, "[sleep]", 7, KP_FRAME_OFFCPU, 0);
	assert_true((off & 0xff) >= 200 && (off >> 16) <= 100);
	/* differential */
	assert_int_equal(kf_diff_color(0, 10), 0xffffff);
	assert_int_equal(kf_diff_color(10, 10), 0xff0000);
	assert_int_equal(kf_diff_color(-10, 10), 0x0000ff);
	assert_int_equal(kf_diff_color(-20, 10), 0x0000ff);
	/* a quarter of the largest change: 225 * (1 - sqrt(0.25)) = 112.5 */
	uint32_t quarter = kf_diff_color(2.5, 10);
	assert_true((quarter >> 16) == 255 && ((quarter >> 8) & 0xff) >= 112 && ((quarter >> 8) & 0xff) <= 113);
	assert_int_equal(quarter & 0xff, (quarter >> 8) & 0xff);
	/* the smallest change still shows */
	uint32_t tiny = kf_diff_color(-1e-9, 10);
	assert_true((tiny & 0xff) == 255 && (tiny >> 16) <= 225);
	assert_int_equal(kf_palette_parse("mem"), KF_MEM);
	assert_int_equal(kf_palette_parse("nope"), -1);
}

static void test_format_count(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	const struct { double v; const char *want; } cases[] = {
		{ 0, "0" }, { 7, "7" }, { 1234, "1,234" }, { 1234567, "1,234,567" },
		{ 2.5, "2.5" }, { 0.25, "0.25" }, { 1234.125, "1,234.125" }, { 1e-5, "1e-05" },
		{ 99.9999, "100" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&sb);
		kf_format_count(cases[i].v, &sb);
		assert_string_equal(sb.buf, cases[i].want);
	}
	strbuf_release(&sb);
}

/* Pulls attribute attr of the rect of the frame titled "name (" out of svg. */
static double rect_attr(const char *svg, const char *name, const char *attr)
{
	char key[128], a[32];
	snprintf(key, sizeof(key), "<title>%s (", name);
	const char *g = strstr(svg, key);
	assert_non_null(g);
	const char *r = strstr(g, "<rect ");
	assert_non_null(r);
	snprintf(a, sizeof(a), " %s=\"", attr);
	const char *v = strstr(r, a);
	assert_non_null(v);
	return atof(v + strlen(a));
}

static void test_svg(void **state)
{
	struct kp_profile p;
	struct kf_opts o;
	struct strbuf svg = STRBUF_INIT;
	kf_opts_init(&o);
	o.title = "a <title> & more";
	o.countname = "ms";
	unit_folded(&p, "main;work 3\nmain;idle 1\nlong_function_name_that_will_not_fit_in_a_small_box_at_all 1\n");
	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, 0, 0, 1.0);
	assert_int_equal(kf_render_svg(t, &o, &svg, NULL), 0);
	assert_non_null(strstr(svg.buf, "<title>work (3 ms, 60.00%)</title>"));
	assert_non_null(strstr(svg.buf, ">a &lt;title&gt; &amp; more</text>"));
	assert_non_null(strstr(svg.buf, "<script><![CDATA["));
	/* flame: the root is at the bottom */
	double y_all = rect_attr(svg.buf, "all", "y"), y_main = rect_attr(svg.buf, "main", "y");
	assert_true(y_main < y_all);
	assert_true(fabs(rect_attr(svg.buf, "work", "width") - 1180 * 3 / 5.0) < 0.01);
	/* idle sorts before work: it starts where main does, after "long_function..." */
	assert_true(fabs(rect_attr(svg.buf, "idle", "x") - rect_attr(svg.buf, "main", "x")) < 0.01);
	assert_true(rect_attr(svg.buf, "main", "x") > 200);
	/* a long name in a narrow box: cut with ".." */
	assert_non_null(strstr(svg.buf, "..</text>"));
	strbuf_release(&svg);
	/* inverted: the root at the top */
	o.inverted = 1;
	o.title = NULL;
	assert_int_equal(kf_render_svg(t, &o, &svg, NULL), 0);
	assert_true(rect_attr(svg.buf, "main", "y") > rect_attr(svg.buf, "all", "y"));
	assert_non_null(strstr(svg.buf, ">Icicle Graph</text>"));
	strbuf_release(&svg);
	kf_tree_free(t);
	kp_profile_release(&p);
}

/* Many frames against a small budget: the SVG fits and keeps the widest frames. */
static void test_size_budget(void **state)
{
	struct kp_profile p;
	struct kf_opts o;
	struct kf_layout st;
	struct strbuf text = STRBUF_INIT, svg = STRBUF_INIT;
	kf_opts_init(&o);
	o.max_size = 64 * 1024;
	o.minwidth = 0;
	for (int i = 0; i < 3000; i++)
		strbuf_addf(&text, "root;mid%d;leaf%d 1\n", i % 50, i);
	strbuf_addstr(&text, "root;hot 100000\n");
	unit_folded(&p, text.buf);
	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, 0, 0, 1.0);
	assert_int_equal(kf_render_svg(t, &o, &svg, &st), 0);
	assert_true(svg.len <= o.max_size);
	assert_true(svg.len > o.max_size / 2);
	assert_true(st.dropped_for_size > 0);
	assert_int_equal(st.candidates, 1 + 1 + 50 + 3000 + 1);
	assert_non_null(strstr(svg.buf, "<title>hot ("));
	assert_non_null(strstr(svg.buf, "<title>all ("));
	assert_non_null(strstr(svg.buf, "</svg>\n"));
	strbuf_release(&svg);
	o.max_size = 0;
	assert_int_equal(kf_render_svg(t, &o, &svg, &st), 0);
	assert_int_equal(st.dropped_for_size, 0);
	assert_non_null(strstr(svg.buf, "<title>leaf2999 ("));
	kf_tree_free(t);
	kp_profile_release(&p);
	strbuf_release(&svg);
	strbuf_release(&text);
}

/* Test helper for the end-to-end tests (there is no `kiln record` to make profiles with):
 *   test_flame --save-profile IN.folded OUT.prof
 * turns folded stacks "comm;f1;...;fn COUNT" into a kiln profile: a thread named comm,
 * frames f1..fn (an _[k] suffix becomes the kernel flag), values "samples" (COUNT) and
 * "cpu_ns" (COUNT * 1000000, unit nanoseconds). */
static int save_profile(const char *in, const char *out)
{
	struct kp_profile src, p;
	struct kp_folded_stats st;
	struct kiln_input *input = kiln_input_open(in);
	if (!input)
		return 1;
	kp_profile_init(&src);
	if (kp_folded_read(&src, input, &st) < 0)
		return 1;
	kiln_input_close(input);
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	kp_add_value_type(&p, "cpu_ns", "nanoseconds");
	kp_meta_set(&p, "command", "test_flame --save-profile");
	for (size_t i = 0; i < src.nsamples; i++) {
		kp_frame_t fr[512], out_fr[512];
		uint32_t d = kp_stack_frames(&src, src.sample_stack[i], fr, 512);
		if (d < 2 || d > 512)
			continue;
		const char *comm = kp_str_get(&src, src.frames[fr[0]].name);
		uint32_t th = 0;
		for (uint32_t t = 1; t < p.nthreads; t++)
			if (!strcmp(kp_str_get(&p, p.threads[t].comm), comm))
				th = t;
		if (!th)
			th = kp_add_thread(&p, (int32_t)p.nthreads * 100, (int32_t)p.nthreads * 100, comm);
		for (uint32_t k = 1; k < d; k++) {
			const char *name = kp_str_get(&src, src.frames[fr[k]].name);
			size_t len = strlen(name);
			uint32_t flags = 0;
			if (len > 4 && !strcmp(name + len - 4, "_[k]"))
				flags = KP_FRAME_KERNEL, len -= 4;
			out_fr[k - 1] = kp_frame_named(&p, name, len, flags);
		}
		double v[2] = { kp_sample_value(&src, i, 0), kp_sample_value(&src, i, 0) * 1e6 };
		kp_add_sample(&p, kp_stack_from_frames(&p, out_fr, d - 1), th, i * 1000, v);
	}
	int rc = kp_profile_save(&p, out) < 0;
	kp_profile_release(&p);
	kp_profile_release(&src);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--save-profile"))
		return save_profile(argv[2], argv[3]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_and_order),
		cmocka_unit_test(test_fractional_counts),
		cmocka_unit_test(test_minwidth),
		cmocka_unit_test(test_keep_max),
		cmocka_unit_test(test_flamechart),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_profile_roots),
		cmocka_unit_test(test_zero_total),
		cmocka_unit_test(test_diff_tree),
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_format_count),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_size_budget),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
