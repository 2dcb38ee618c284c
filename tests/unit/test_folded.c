/* test_folded.c: the folded reader's prefix reuse and the stack trie's child index
 * (list for narrow nodes, hash for wide ones) give the same stacks as a plain walk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "profile/folded.h"
#include "util/error.h"
#include "util/input.h"
#include "util/strbuf.h"

#include "unit.h"

static void read_text(struct kp_profile *p, const char *text, struct kp_folded_stats *st)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/in.folded", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	struct kiln_input *in = kiln_input_open(path);
	assert_non_null(in);
	kp_profile_init(p);
	assert_int_equal(kp_folded_read(p, in, st), 0);
	kiln_input_close(in);
}

/* The stack of sample i as text "a;b;c". */
static void sample_text(const struct kp_profile *p, size_t i, struct strbuf *sb)
{
	kp_frame_t fr[64];
	uint32_t d = kp_stack_frames(p, p->sample_stack[i], fr, 64);
	strbuf_reset(sb);
	for (uint32_t k = 0; k < d && k < 64; k++) {
		if (k)
			strbuf_addch(sb, ';');
		strbuf_addstr(sb, kp_str_get(p, p->frames[fr[k]].name));
	}
}

static void test_prefix_reuse_edges(void **state)
{
	/* lines that share bytes but not whole frames with the line before */
	const char *text = "a;b 1\n"
			   "a;bc 2\n"
			   "a;b;c 3\n"
			   "a;;b 4\n"
			   "ab;c 5\n"
			   "a 6\n"
			   "a;b;c;d 7\n"
			   "a;b;c 8\n"
			   ";a;b; 9\n"
			   "x;y_[k] 10\n";
	const char *want[] = { "a;b", "a;bc", "a;b;c", "a;b", "ab;c", "a", "a;b;c;d", "a;b;c", "a;b", "x;y_[k]" };
	struct kp_profile p;
	struct kp_folded_stats st;
	struct strbuf sb = STRBUF_INIT;
	read_text(&p, text, &st);
	assert_int_equal(st.samples, 10);
	assert_int_equal(st.bad_lines, 0);
	for (size_t i = 0; i < 10; i++) {
		sample_text(&p, i, &sb);
		assert_string_equal(sb.buf, want[i]);
		assert_int_equal(kp_sample_value(&p, i, 0), (double)(i + 1));
	}
	/* equal stacks are one stack id */
	assert_int_equal(p.sample_stack[0], p.sample_stack[3]);
	assert_int_equal(p.sample_stack[0], p.sample_stack[8]);
	assert_int_equal(p.sample_stack[2], p.sample_stack[7]);
	/* the _[k] suffix flags the frame */
	kp_frame_t fr[2];
	kp_stack_frames(&p, p.sample_stack[9], fr, 2);
	assert_true(p.frames[fr[1]].flags & KP_FRAME_KERNEL);
	assert_false(p.frames[fr[0]].flags & KP_FRAME_KERNEL);
	/* a;b, a;bc, a;b;c, ab;c, a;b;c;d, x;y: nodes a b bc c ab c' d x y = 9 + root */
	assert_int_equal(p.nstacks, 10);
	strbuf_release(&sb);
	kp_profile_release(&p);
}

static void test_sorted_and_shuffled_agree(void **state)
{
	/* many stacks under wide nodes, read in sorted and in shuffled order */
	struct strbuf text = STRBUF_INIT, sorted = STRBUF_INIT;
	char **lines = malloc(3000 * sizeof(char *));
	size_t n = 0;
	for (int a = 0; a < 30; a++)
		for (int b = 0; b < 100; b++) {
			char buf[80];
			snprintf(buf, sizeof(buf), "root;f%02d;g%03d;leaf %d\n", a, b, a * 100 + b + 1);
			lines[n++] = strdup(buf);
		}
	for (size_t i = 0; i < n; i++)
		strbuf_addstr(&sorted, lines[i]);
	srand(7);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1);
		char *t = lines[i];
		lines[i] = lines[j];
		lines[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		strbuf_addstr(&text, lines[i]);
	struct kp_profile p1, p2;
	struct kp_folded_stats st;
	read_text(&p1, sorted.buf, &st);
	read_text(&p2, text.buf, &st);
	assert_int_equal(p1.nstacks, p2.nstacks);
	assert_int_equal(p1.nstacks, 1 + 1 + 30 + 3000 + 3000);
	/* every shuffled sample's text carries its own count */
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < p2.nsamples; i++) {
		int a, b;
		sample_text(&p2, i, &sb);
		assert_int_equal(sscanf(sb.buf, "root;f%d;g%d;leaf", &a, &b), 2);
		assert_int_equal(kp_sample_value(&p2, i, 0), (double)(a * 100 + b + 1));
		/* pushing the same path again finds the same ids (hash for wide nodes) */
		kp_frame_t fr[4];
		kp_stack_frames(&p2, p2.sample_stack[i], fr, 4);
		assert_int_equal(kp_stack_from_frames(&p2, fr, 4), p2.sample_stack[i]);
	}
	assert_int_equal(p1.nstacks, p2.nstacks);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	strbuf_release(&sb);
	strbuf_release(&text);
	strbuf_release(&sorted);
	kp_profile_release(&p1);
	kp_profile_release(&p2);
}

static void test_bad_lines_counted(void **state)
{
	struct kp_profile p;
	struct kp_folded_stats st;
	read_text(&p, "a;b 1\nno count here\na;b -3\n;;; 4\na;b x\n\na;c 2.5\n", &st);
	assert_int_equal(st.samples, 2);
	assert_int_equal(st.bad_lines, 4);
	assert_int_equal(st.first_bad, 2);
	assert_true(st.negative);
	assert_true(kp_sample_value(&p, 1, 0) == 2.5);
	kp_profile_release(&p);
}

/* kp_str_batch interns as kp_str does: duplicates inside a batch, empty strings,
 * batches longer than KP_STR_BATCH, every length the hash and compare special-case. */
static void test_str_batch(void **state)
{
	struct kp_profile p, q;
	kp_profile_init(&p);
	kp_profile_init(&q);
	enum { N = 3000 };
	char *text[N];
	const char *s[N];
	uint32_t len[N];
	kp_str_t ids[N];
	for (int i = 0; i < N; i++) {
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "%.*s%d", i % 23, "abcdefghijklmnopqrstuvwxyz", i % 1000);
		if (i % 97 == 0)
			n = 0; /* empty */
		text[i] = strndup(buf, (size_t)n);
		s[i] = text[i];
		len[i] = (uint32_t)n;
	}
	kp_str_batch(&p, s, len, ids, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(ids[i], kp_str(&q, s[i], len[i]));
		assert_int_equal(kp_str_len(&p, ids[i]), len[i]);
		assert_memory_equal(kp_str_get(&p, ids[i]), s[i], len[i]);
		if (!len[i])
			assert_int_equal(ids[i], 0);
	}
	assert_int_equal(p.strings.nr, q.strings.nr);
	/* a second pass finds every one */
	kp_str_t again[N];
	kp_str_batch(&p, s, len, again, N);
	assert_memory_equal(ids, again, sizeof(ids));
	/* strings that differ in one byte anywhere stay apart */
	for (size_t l = 1; l <= 20; l++) {
		char a[21], b[21];
		memset(a, 'x', l);
		for (size_t k = 0; k < l; k++) {
			memcpy(b, a, l);
			b[k] = 'y';
			assert_int_not_equal(kp_str(&p, a, l), kp_str(&p, b, l));
		}
	}
	for (int i = 0; i < N; i++)
		free(text[i]);
	kp_profile_release(&p);
	kp_profile_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_reuse_edges),
		cmocka_unit_test(test_sorted_and_shuffled_agree),
		cmocka_unit_test(test_bad_lines_counted),
		cmocka_unit_test(test_str_batch),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
