/* test_profile.c: the profile model and the kiln.prof format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "profile/profile.h"
#include "profile/profile_io.h"
#include "util/error.h"
#include "util/strbuf.h"

#include "unit.h"

static void test_strings_interned(void **state)
{
	struct kp_profile p;
	kp_profile_init(&p);
	kp_str_t a = kp_strz(&p, "main"), b = kp_strz(&p, "work"), c = kp_strz(&p, "main");
	assert_int_equal(a, c);
	assert_int_not_equal(a, b);
	assert_int_equal(kp_strz(&p, ""), 0);
	assert_string_equal(kp_str_get(&p, b), "work");
	assert_int_equal(kp_str_find(&p, "work", 4), b);
	assert_int_equal(kp_str_find(&p, "nope", 4), 0);
	/* many strings force rehashing; all stay findable */
	char buf[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		kp_strz(&p, buf);
	}
	for (int i = 0; i < 20000; i += 997) {
		snprintf(buf, sizeof(buf), "s%d", i);
		assert_string_equal(kp_str_get(&p, kp_str_find(&p, buf, strlen(buf))), buf);
	}
	kp_profile_release(&p);
}

static void build_sample_profile(struct kp_profile *p)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_add_value_type(p, "cpu_ns", "nanoseconds");
	kp_frame_t f_main = kp_frame_named(p, "main", 4, 0);
	kp_frame_t f_a = kp_frame_named(p, "a", 1, 0);
	kp_frame_t f_b = kp_frame_named(p, "b", 1, 0);
	kp_frame_t f_k = kp_frame_named(p, "sys_read", 8, KP_FRAME_KERNEL);
	kp_frame_t s1[] = { f_main, f_a };
	kp_frame_t s2[] = { f_main, f_b, f_k };
	uint32_t t = kp_add_thread(p, 100, 101, "prog one");
	kp_stack_t a = kp_stack_from_frames(p, s1, 2), b = kp_stack_from_frames(p, s2, 3);
	for (int i = 0; i < 300; i++) {
		double v[2] = { 1, 1000000.5 * (i % 3 == 0) + 7 };
		kp_add_sample(p, (i % 3 == 0) ? b : a, t, (uint64_t)i * 1000000, v);
	}
	kp_meta_set(p, "command", "./prog one");
}

static void test_stack_trie_and_sums(void **state)
{
	struct kp_profile p;
	build_sample_profile(&p);
	assert_int_equal(p.nstacks, 5); /* root, main, main;a, main;b, main;b;sys_read */
	for (uint32_t s = 1; s < p.nstacks; s++)
		assert_true(p.stacks[s].parent < s);
	double *self, *total;
	kp_stack_sums(&p, 0, NULL, &self, &total);
	assert_true(total[0] == 300);
	kp_stack_t main_s = kp_stack_push(&p, 0, p.stacks[1].frame);
	assert_int_equal(main_s, 1);
	assert_true(total[1] == 300);
	assert_true(self[1] == 0);
	free(self);
	free(total);
	assert_true(kp_total(&p, 0) == 300);
	kp_profile_release(&p);
}

static void test_roundtrip(void **state)
{
	struct kp_profile p, q;
	struct kp_load_info info;
	char path[300];
	build_sample_profile(&p);
	snprintf(path, sizeof(path), "%s/rt.prof", tmpdir);
	assert_int_equal(kp_profile_save(&p, path), 0);
	assert_int_equal(kp_profile_load(&q, path, &info), 0);
	assert_true(info.complete);
	assert_false(info.corrupt || info.truncated);
	assert_int_equal(q.nsamples, p.nsamples);
	assert_int_equal(q.nstacks, p.nstacks);
	assert_int_equal(q.nframes, p.nframes);
	assert_int_equal(q.nthreads, 2);
	assert_int_equal(q.nvalues, 2);
	assert_string_equal(kp_str_get(&q, q.value_types[1].name), "cpu_ns");
	assert_string_equal(kp_str_get(&q, q.threads[1].comm), "prog one");
	assert_int_equal(q.threads[1].tid, 101);
	assert_string_equal(kp_meta_get(&q, "command"), "./prog one");
	for (size_t i = 0; i < p.nsamples; i++) {
		assert_int_equal(q.sample_stack[i], p.sample_stack[i]);
		assert_true(q.sample_time[i] == p.sample_time[i]);
		assert_true(kp_sample_value(&q, i, 1) == kp_sample_value(&p, i, 1));
	}
	assert_true(q.frames[4].flags & KP_FRAME_KERNEL);
	kp_profile_release(&p);
	kp_profile_release(&q);
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A writer that flushes several times and is cut at every possible length loads what was
 * complete, never crashes, and never loads more samples than were written. */
static void test_incremental_and_truncation(void **state)
{
	struct kp_profile p, q;
	struct kp_load_info info;
	char path[300], cut[300];
	snprintf(path, sizeof(path), "%s/inc.prof", tmpdir);
	snprintf(cut, sizeof(cut), "%s/cut.prof", tmpdir);
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	struct kp_writer *w = kp_writer_open(path);
	assert_non_null(w);
	double one = 1;
	size_t written = 0;
	for (int round = 0; round < 4; round++) {
		char name[16];
		snprintf(name, sizeof(name), "fn%d", round);
		kp_frame_t f = kp_frame_named(&p, name, strlen(name), 0);
		uint32_t t = kp_add_thread(&p, 1, round + 1, "t");
		for (int i = 0; i < 50; i++)
			kp_add_sample(&p, kp_stack_push(&p, 0, f), t, (uint64_t)(round * 50 + i), &one);
		written += 50;
		assert_int_equal(kp_writer_flush(w, &p, 1), 0);
		assert_int_equal(p.nsamples, 0);
	}
	assert_int_equal(kp_writer_close(w, &p), 0);
	assert_int_equal(kp_profile_load(&q, path, &info), 0);
	assert_true(info.complete);
	assert_int_equal(q.nsamples, written);
	assert_int_equal(q.nthreads, 5);
	kp_profile_release(&q);

	FILE *f = fopen(path, "rb");
	long size = file_size(path);
	assert_true(size > 16 && size < (1 << 24));
	char *buf = malloc(size > 0 && size < (1 << 24) ? (size_t)size : 1);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	size_t prev = 0;
	for (long len = 16; len < size; len += 7) {
		f = fopen(cut, "wb");
		fwrite(buf, 1, (size_t)len, f);
		fclose(f);
		assert_int_equal(kp_profile_load(&q, cut, &info), 0);
		assert_false(info.complete);
		assert_true(q.nsamples <= written);
		assert_true(q.nsamples >= prev); /* longer prefixes never load less */
		prev = q.nsamples;
		kp_profile_release(&q);
	}
	/* corrupt a byte in the middle: loading stops there, reports corruption */
	buf[size / 2] ^= 0x5a;
	f = fopen(cut, "wb");
	fwrite(buf, 1, (size_t)size, f);
	fclose(f);
	assert_int_equal(kp_profile_load(&q, cut, &info), 0);
	assert_true(info.corrupt);
	assert_true(q.nsamples < written);
	kp_profile_release(&q);
	free(buf);
	kp_profile_release(&p);
}

static void test_bad_files(void **state)
{
	struct kp_profile q;
	struct kp_load_info info;
	char path[300];
	snprintf(path, sizeof(path), "%s/bad.prof", tmpdir);
	FILE *f = fopen(path, "wb");
	fputs("this is not a profile at all\n", f);
	fclose(f);
	assert_int_equal(kp_profile_load(&q, path, &info), -1);
	kp_profile_release(&q);
	/* newer major version */
	f = fopen(path, "wb");
	fwrite("KILNPROF\x09\x00\x00\x00\x00\x00\x00\x00", 1, 16, f);
	fclose(f);
	assert_int_equal(kp_profile_load(&q, path, &info), -1);
	kp_profile_release(&q);
	/* empty */
	f = fopen(path, "wb");
	fclose(f);
	assert_int_equal(kp_profile_load(&q, path, &info), -1);
	kp_profile_release(&q);
	/* missing */
	snprintf(path, sizeof(path), "%s/missing.prof", tmpdir);
	assert_int_equal(kp_profile_load(&q, path, &info), -1);
	kp_profile_release(&q);
}

static void test_writer_keeps_old(void **state)
{
	struct kp_profile p;
	char path[300], old[310];
	snprintf(path, sizeof(path), "%s/keep.prof", tmpdir);
	snprintf(old, sizeof(old), "%s.old", path);
	FILE *f = fopen(path, "wb");
	fputs("previous", f);
	fclose(f);
	kp_profile_init(&p);
	struct kp_writer *w = kp_writer_open(path);
	assert_non_null(w);
	assert_int_equal(kp_writer_close(w, &p), 0);
	assert_int_equal(file_size(old), 8);
	kp_profile_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_interned),
		cmocka_unit_test(test_stack_trie_and_sums),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_incremental_and_truncation),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_writer_keeps_old),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
