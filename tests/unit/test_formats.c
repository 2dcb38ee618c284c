/* test_formats.c: the format modules: pprof, speedscope and .cpuprofile round trips in
 * memory, content sniffing, damaged input, the JSON pull reader, value choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "formats/formats.h"
#include "formats/jsonr.h"
#include "profile/folded.h"
#include "util/strbuf.h"
#include "unit.h"

/* A profile of two threads with kernel and inlined frames, modules and lines. */
static void make_profile(struct kp_profile *p)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_add_value_type(p, "cpu_ns", "nanoseconds");
	uint32_t t1 = kp_add_thread(p, 10, 10, "main");
	uint32_t t2 = kp_add_thread(p, 10, 11, "worker");
	struct kp_frame fm = { 0 }, fa = { 0 }, fi = { 0 }, fk = { 0 };
	fm.name = kp_strz(p, "main");
	fm.module = kp_strz(p, "/usr/bin/app");
	fm.file = kp_strz(p, "app.c");
	fm.line = 3;
	fa.name = kp_strz(p, "work");
	fa.module = fm.module;
	fa.line = 10;
	fi.name = kp_strz(p, "helper");
	fi.module = fm.module;
	fi.flags = KP_FRAME_INLINE;
	fk.name = kp_strz(p, "do_syscall_64");
	fk.module = kp_strz(p, "[kernel.kallsyms]");
	fk.flags = KP_FRAME_KERNEL;
	kp_frame_t m = kp_frame(p, &fm), a = kp_frame(p, &fa), i = kp_frame(p, &fi), k = kp_frame(p, &fk);
	kp_frame_t s1[] = { m, a, i }, s2[] = { m, a, k }, s3[] = { m };
	kp_stack_t st1 = kp_stack_from_frames(p, s1, 3), st2 = kp_stack_from_frames(p, s2, 3),
		   st3 = kp_stack_from_frames(p, s3, 1);
	double v1[] = { 1, 1000000 }, v3[] = { 3, 3000000 };
	for (int n = 0; n < 5; n++)
		kp_add_sample(p, st1, t1, (uint64_t)n * 1000000, v1);
	kp_add_sample(p, st2, t2, 2000000, v1);
	kp_add_sample(p, st3, t2, 3000000, v3);
}

static char *folded(const struct kp_profile *p, uint32_t v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct kp_folded_opts o = { v, KP_ROOT_TID, 1, NULL };
	assert_int_equal(kp_folded_write(p, &o, f), 0);
	fclose(f);
	return buf;
}

static char *write_to_mem(int (*w)(const struct kp_profile *, const struct kf_write_opts *, FILE *),
			  const struct kp_profile *p, int gzip, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct kf_write_opts o = { "test", -1, 0, gzip };
	assert_int_equal(w(p, &o, f), 0);
	fclose(f);
	return buf;
}

static void test_pprof_round_trip(void **state)
{
	struct kp_profile p, q;
	size_t len;
	(void)state;
	make_profile(&p);
	char *pb = write_to_mem(kf_pprof_write, &p, 0, &len);
	assert_int_equal(kf_sniff(pb, len < 4096 ? len : 4096), KF_PPROF);
	kp_profile_init(&q);
	assert_int_equal(kf_pprof_read(&q, pb, len, "t"), 0);
	assert_int_equal(q.nvalues, 2);
	for (uint32_t v = 0; v < 2; v++) {
		char *a = folded(&p, v), *b = folded(&q, v);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	/* every (stack, thread) once: 3 samples */
	assert_int_equal(q.nsamples, 3);
	/* lines, files and modules come back */
	int found = 0;
	for (uint32_t f = 1; f < q.nframes; f++)
		if (!strcmp(kp_str_get(&q, q.frames[f].name), "main")) {
			assert_string_equal(kp_str_get(&q, q.frames[f].file), "app.c");
			assert_string_equal(kp_str_get(&q, q.frames[f].module), "/usr/bin/app");
			assert_int_equal(q.frames[f].line, 3);
			found = 1;
		}
	assert_true(found);
	free(pb);
	kp_profile_release(&p);
	kp_profile_release(&q);
}

static void test_pprof_damage(void **state)
{
	struct kp_profile p, q;
	size_t len;
	(void)state;
	make_profile(&p);
	char *pb = write_to_mem(kf_pprof_write, &p, 0, &len);
	/* every cut is an error, never a crash or a partial profile */
	for (size_t cut = 1; cut < len; cut += 7) {
		kp_profile_init(&q);
		if (kf_pprof_read(&q, pb, cut, "t") == 0)
			assert_true(q.nsamples <= p.nsamples);
		kp_profile_release(&q);
	}
	/* flipped bytes likewise */
	for (size_t i = 0; i < len; i += 3) {
		char save = pb[i];
		pb[i] = (char)(pb[i] ^ 0x5a);
		kp_profile_init(&q);
		kf_pprof_read(&q, pb, len, "t");
		kp_profile_release(&q);
		pb[i] = save;
	}
	free(pb);
	kp_profile_release(&p);
}

static void test_pprof_refuses_fractions(void **state)
{
	struct kp_profile p;
	char *buf = NULL;
	size_t len = 0;
	(void)state;
	unit_folded(&p, "a;b 0.5\n");
	FILE *f = open_memstream(&buf, &len);
	struct kf_write_opts o = { "t", -1, 0, 1 };
	assert_int_equal(kf_pprof_write(&p, &o, f), -2);
	fclose(f);
	assert_int_equal(len, 0); /* nothing written */
	free(buf);
	kp_profile_release(&p);
}

static void test_speedscope_round_trip(void **state)
{
	struct kp_profile p, q;
	size_t len;
	(void)state;
	make_profile(&p);
	char *js = write_to_mem(kf_speedscope_write, &p, 0, &len);
	assert_int_equal(kf_sniff(js, len), KF_JSON);
	kp_profile_init(&q);
	assert_int_equal(kf_json_read(&q, js, len, "t"), 0);
	for (uint32_t v = 0; v < 2; v++) {
		char *a = folded(&p, v), *b = folded(&q, v);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	free(js);
	kp_profile_release(&p);
	kp_profile_release(&q);
}

/* A function and an inlined copy of it under the same name (call_init and call_init_[i]
 * in ld.so's start-up stacks) are two functions in speedscope and Chrome too: each
 * comes back as it was. */
static void test_inline_twin_round_trip(void **state)
{
	struct kp_profile p, q;
	size_t len;
	(void)state;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	uint32_t t = kp_add_thread(&p, 1, 1, "app");
	struct kp_frame fr = { 0 }, fi = { 0 };
	fr.name = fi.name = kp_strz(&p, "call_init");
	fr.module = fi.module = kp_strz(&p, "ld-linux-x86-64.so.2");
	fi.flags = KP_FRAME_INLINE;
	kp_frame_t a = kp_frame(&p, &fr), b = kp_frame(&p, &fi);
	kp_frame_t s1[] = { a, b }, s2[] = { b, a };
	double v[] = { 1 };
	kp_add_sample(&p, kp_stack_from_frames(&p, s1, 2), t, 0, v);
	kp_add_sample(&p, kp_stack_from_frames(&p, s2, 2), t, 1000000, v);
	char *want = folded(&p, 0);
	assert_non_null(strstr(want, "call_init;call_init_[i] 1"));
	int (*writers[])(const struct kp_profile *, const struct kf_write_opts *, FILE *) = { kf_speedscope_write,
											      kf_chrome_write };
	for (int w = 0; w < 2; w++) {
		char *js = write_to_mem(writers[w], &p, 0, &len);
		kp_profile_init(&q);
		assert_int_equal(kf_json_read(&q, js, len, "t"), 0);
		char *got = folded(&q, 0);
		if (w == 1) /* a .cpuprofile has no threads: compare the stacks under them */
			assert_non_null(strstr(got, ";call_init;call_init_[i] 1\n"));
		else
			assert_string_equal(want, got);
		assert_non_null(strstr(got, ";call_init_[i];call_init 1\n"));
		free(got);
		free(js);
		kp_profile_release(&q);
	}
	free(want);
	kp_profile_release(&p);
}

static void test_chrome_round_trip(void **state)
{
	struct kp_profile p, q;
	size_t len;
	(void)state;
	make_profile(&p);
	char *js = write_to_mem(kf_chrome_write, &p, 0, &len);
	kp_profile_init(&q);
	assert_int_equal(kf_json_read(&q, js, len, "t"), 0);
	assert_int_equal(kp_total(&q, 0), kp_total(&p, 0));
	/* one thread: stacks without the thread root match */
	struct kp_folded_opts o = { 0, KP_ROOT_NONE, 1, NULL };
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);
	assert_int_equal(kp_folded_write(&p, &o, fa), 0);
	assert_int_equal(kp_folded_write(&q, &o, fb), 0);
	fclose(fa);
	fclose(fb);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(js);
	kp_profile_release(&p);
	kp_profile_release(&q);
}

/* The top-level array key of a JSON document: its number of elements. */
static size_t json_array_len(const char *doc, size_t len, const char *want)
{
	struct jsonr r;
	const char *key;
	size_t klen, n = (size_t)-1;
	jsonr_init(&r, doc, len);
	assert_int_equal(jsonr_enter_object(&r), 1);
	while (jsonr_next_key(&r, &key, &klen) == 1) {
		if (jsonr_key_is(key, klen, want) && jsonr_enter_array(&r) == 1) {
			n = 0;
			while (jsonr_next_elem(&r) == 1) {
				assert_int_equal(jsonr_skip(&r), 0);
				n++;
			}
		} else {
			assert_int_equal(jsonr_skip(&r), 0);
		}
	}
	assert_null(r.err);
	assert_int_equal(jsonr_peek(&r), JSONR_END);
	return n;
}

static void test_firefox_and_json_writers(void **state)
{
	struct kp_profile p;
	size_t len;
	(void)state;
	make_profile(&p);
	/* gecko: one thread per kiln thread, valid JSON, a string table per thread */
	char *ff = write_to_mem(kf_firefox_write, &p, 0, &len);
	assert_int_equal(json_array_len(ff, len, "threads"), 2);
	assert_non_null(strstr(ff, "\"name\":\"worker (10/11)\""));
	assert_non_null(strstr(ff, "\"stringTable\":["));
	free(ff);
	/* kiln's JSON: every frame and thread */
	char *js = write_to_mem(kf_json_write, &p, 0, &len);
	assert_int_equal(json_array_len(js, len, "frames"), p.nframes - 1);
	assert_int_equal(json_array_len(js, len, "threads"), p.nthreads - 1);
	assert_int_equal(json_array_len(js, len, "stacks"), p.nstacks - 1);
	assert_non_null(strstr(js, "\"flags\":[\"kernel\"]"));
	free(js);
	kp_profile_release(&p);
}

/* The start of a recording, as the exports write it */
static void test_start_time(void **state)
{
	struct kp_profile p;
	size_t len;
	(void)state;
	make_profile(&p);
	assert_int_equal(kf_start_time_s(&p), 0); /* none recorded */
	kp_meta_set(&p, "start_time", "2026-12-06T08:00:00Z");
	assert_int_equal(kf_start_time_s(&p), 1796544000);
	char *ff = write_to_mem(kf_firefox_write, &p, 0, &len);
	assert_non_null(strstr(ff, "\"startTime\":1796544000000"));
	free(ff);
	/* another form, trailing text, a date before 1970: none */
	kp_meta_set(&p, "start_time", "2026-12-06 08:00:00");
	assert_int_equal(kf_start_time_s(&p), 0);
	kp_meta_set(&p, "start_time", "2026-12-06T08:00:00Zx");
	assert_int_equal(kf_start_time_s(&p), 0);
	kp_meta_set(&p, "start_time", "1960-01-01T00:00:00Z");
	assert_int_equal(kf_start_time_s(&p), 0);
	kp_profile_release(&p);
}

static void test_one_value_formats(void **state)
{
	struct kp_profile p;
	struct kf_write_opts o = { "t", -1, 0, 1 };
	(void)state;
	kp_profile_init(&p);
	kp_add_value_type(&p, "alloc_bytes", "bytes");
	double v = 4096;
	kp_add_sample(&p, kp_stack_push(&p, 0, kp_frame_named(&p, "f", 1, 0)), 0, 0, &v);
	assert_int_equal(kf_pick_count_value(&p, &o, "x", 1), -1);
	o.value = 0;
	o.value_given = 1;
	assert_int_equal(kf_pick_count_value(&p, &o, "x", 1), 0);
	kp_profile_release(&p);
}

static void test_sniff(void **state)
{
	(void)state;
	assert_int_equal(kf_sniff("PERFILE2....", 12), KF_PERFDATA);
	assert_int_equal(kf_sniff("  {\n \"nodes\": []}", 18), KF_JSON);
	assert_int_equal(kf_sniff("main;a 1\n", 9), KF_NONE);
	assert_int_equal(kf_sniff("Hello;world 5\n", 14), KF_NONE);
	assert_int_equal(kf_sniff("\n\nmain;a 1\n", 11), KF_NONE);
	assert_int_equal(kf_sniff("{a;b} 3\n", 8), KF_NONE);
	/* Go's order: time_nanos first, then sample_type */
	const unsigned char go[] = { 0x48, 0x01, 0x0a, 0x04, 0x08, 0x01, 0x10, 0x02 };
	assert_int_equal(kf_sniff(go, sizeof(go)), KF_PPROF);
	assert_int_equal(kf_format_from_name("cpuprofile"), KF_CHROME);
	assert_int_equal(kf_format_from_name("svg"), KF_NONE);
}

static void test_jsonr(void **state)
{
	struct jsonr r;
	struct strbuf sb = STRBUF_INIT;
	const char *key;
	size_t klen;
	double x;
	(void)state;
	const char *doc = " {\"a\": [1, -2.5e3, {\"x\": \"q\\\"\\u00e9\\ud83d\\ude00\"}], \"b\": true, \"c\": null} ";
	jsonr_init(&r, doc, strlen(doc));
	assert_int_equal(jsonr_enter_object(&r), 1);
	assert_int_equal(jsonr_next_key(&r, &key, &klen), 1);
	assert_true(jsonr_key_is(key, klen, "a"));
	assert_int_equal(jsonr_enter_array(&r), 1);
	assert_int_equal(jsonr_next_elem(&r), 1);
	assert_int_equal(jsonr_number(&r, &x), 0);
	assert_true(x == 1);
	assert_int_equal(jsonr_next_elem(&r), 1);
	assert_int_equal(jsonr_number(&r, &x), 0);
	assert_true(x == -2500);
	assert_int_equal(jsonr_next_elem(&r), 1);
	assert_int_equal(jsonr_enter_object(&r), 1);
	assert_int_equal(jsonr_next_key(&r, &key, &klen), 1);
	assert_int_equal(jsonr_string(&r, &sb), 0);
	assert_string_equal(sb.buf, "q\"\xc3\xa9\xf0\x9f\x98\x80");
	assert_int_equal(jsonr_next_key(&r, &key, &klen), 0);
	assert_int_equal(jsonr_next_elem(&r), 0);
	assert_int_equal(jsonr_next_key(&r, &key, &klen), 1);
	assert_int_equal(jsonr_skip(&r), 0);
	assert_int_equal(jsonr_next_key(&r, &key, &klen), 1);
	assert_int_equal(jsonr_skip(&r), 0);
	assert_int_equal(jsonr_next_key(&r, &key, &klen), 0);
	assert_int_equal(jsonr_peek(&r), JSONR_END);
	/* malformed documents: skip fails, never reads past the end */
	const char *bad[] = { "[1,", "{\"a\" 1}", "[01x]", "\"abc", "[1 2]", "{\"a\":}", "[tru]", "{,}", "[-]", "[1.]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jsonr_init(&r, bad[i], strlen(bad[i]));
		assert_int_equal(jsonr_skip(&r), -1);
		assert_non_null(r.err);
	}
	/* deep nesting without recursion */
	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&deep, '[');
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&deep, ']');
	jsonr_init(&r, deep.buf, deep.len);
	assert_int_equal(jsonr_skip(&r), 0);
	r.trusted = 1;
	jsonr_init(&r, deep.buf, deep.len);
	r.trusted = 1;
	assert_int_equal(jsonr_skip(&r), 0);
	strbuf_release(&deep);
	strbuf_release(&sb);
}

static void test_bad_json_profiles(void **state)
{
	struct kp_profile q;
	(void)state;
	const char *bad[] = {
		"{\"shared\":{\"frames\":[{\"name\":\"a\"}]},\"profiles\":[{\"type\":\"sampled\",\"unit\":\"none\",\"samples\":[[0],[1]],\"weights\":[1,1]}]}",
		"{\"shared\":{\"frames\":[{\"name\":\"a\"}]},\"profiles\":[{\"type\":\"sampled\",\"unit\":\"none\",\"samples\":[[0]],\"weights\":[]}]}",
		"{\"shared\":{\"frames\":[{\"name\":\"a\"}]},\"profiles\":[{\"type\":\"evented\",\"unit\":\"none\",\"events\":[{\"type\":\"O\",\"frame\":0,\"at\":1}]}]}",
		"{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"a\"},\"children\":[1]}],\"samples\":[1],\"timeDeltas\":[0]}",
		"{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"a\"}}],\"samples\":[2],\"timeDeltas\":[0]}",
		"{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"a\"}}],\"samples\":[1],\"timeDeltas\":[0,1]}",
		"{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"a\"}}],\"samples\":[1]} trailing",
		"{\"meta\":{},\"threads\":[]}",
		"{\"x\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kp_profile_init(&q);
		assert_int_equal(kf_json_read(&q, bad[i], strlen(bad[i]), "t"), -1);
		kp_profile_release(&q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pprof_round_trip),
		cmocka_unit_test(test_pprof_damage),
		cmocka_unit_test(test_pprof_refuses_fractions),
		cmocka_unit_test(test_speedscope_round_trip),
		cmocka_unit_test(test_inline_twin_round_trip),
		cmocka_unit_test(test_chrome_round_trip),
		cmocka_unit_test(test_firefox_and_json_writers),
		cmocka_unit_test(test_start_time),
		cmocka_unit_test(test_one_value_formats),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_jsonr),
		cmocka_unit_test(test_bad_json_profiles),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
