/* test_bench_text.c: kiln bench's human output (bench/text.h): labels, full names or a
 * legend, aligned columns at any command length, and the line that says what ended the run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/compare.h"
#include "bench/text.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void make_result(struct kb_result *r, const char *name, double base, double slope, int stop)
{
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->command = xstrdup(name);
	for (int i = 0; i < 12; i++)
		kb_result_add(r, base * (1 + slope * (i % 4)), 0, 0, 0, 0, NULL);
	kb_result_finish(r);
	r->stop = stop;
	r->seconds = 0.5;
}

/* Display column where needle starts in line (UTF-8 code points). -1 if absent. */
static int column_of(const char *line, const char *needle)
{
	const char *p = strstr(line, needle);
	int col = 0;
	if (!p)
		return -1;
	for (const char *q = line; q < p; q++)
		col += ((unsigned char)*q & 0xC0) != 0x80;
	return col;
}


static void split_lines(char *text, char **lines, size_t *n, size_t max)
{
	char *s = text;
	*n = 0;
	while (*s && *n < max) {
		char *nl = strchr(s, '\n');
		lines[(*n)++] = s;
		if (!nl)
			break;
		*nl = '\0';
		s = nl + 1;
	}
}

static void check_aligned(char **lines, size_t n)
{
	/* every row has its ratio (x.xxx) ending in the header's "Ratio" column, and its mean
	 * ending in the "Mean" column */
	int hdr = -1;
	for (size_t i = 0; i < n; i++)
		if (strstr(lines[i], "Ratio") && strstr(lines[i], "Verdict"))
			hdr = (int)i;
	assert_true(hdr >= 0);
	int ratio_end = column_of(lines[hdr], "Ratio") + 5, mean_end = column_of(lines[hdr], "Mean") + 4;
	int rows = 0;
	for (size_t i = hdr + 1; i < n && !strncmp(lines[i], "  #", 3) && strstr(lines[i], " ms "); i++) {
		const char *ms = strstr(lines[i], " ms ");
		const char *dot;
		assert_int_equal(column_of(lines[i], " ms ") + 3, mean_end);
		dot = strstr(ms, ".");   /* the ratio: d.ddd after the mean */
		assert_non_null(dot);
		assert_int_equal(column_of(lines[i], dot) + 4, ratio_end);
		rows++;
	}
	assert_true(rows >= 2);
}

static void test_long_commands(void **state)
{
	/* two commands alike in their first 60 characters, a third of 300 */
	char long1[128], long2[128], long3[320];
	struct kb_result r[3];
	struct kb_comparison cmp[2];
	struct strbuf sb = STRBUF_INIT;
	char *lines[64];
	size_t n;
	memset(long3, 'x', sizeof(long3) - 1);
	long3[sizeof(long3) - 1] = '\0';
	snprintf(long1, sizeof(long1), "python3 -c 'import time; time.sleep(0.010)' --some-flag --other-flag=1");
	snprintf(long2, sizeof(long2), "python3 -c 'import time; time.sleep(0.010)' --some-flag --other-flag=2");
	make_result(&r[0], long1, 0.010, 0.01, KB_STOP_SETTLED);
	make_result(&r[1], long2, 0.013, 0.01, KB_STOP_SETTLED);
	make_result(&r[2], long3, 0.020, 0.01, KB_STOP_SETTLED);
	assert_false(kb_text_names_fit(r, 3));
	assert_int_equal(kb_compare_all(r, 3, 0, 0, 1, 0.05, cmp), 2);
	kb_text_comparisons(&sb, r, 3, cmp, 2, 0, 0, NULL);
	/* the legend lists every full command once, under its label */
	char *l1 = xasprintf("  #1: %s\n", long1), *l2 = xasprintf("  #2: %s\n", long2), *l3 = xasprintf("  #3: %s\n", long3);
	assert_non_null(strstr(sb.buf, l1));
	assert_non_null(strstr(sb.buf, l2));
	assert_non_null(strstr(sb.buf, l3));
	free(l1), free(l2), free(l3);
	/* the title and the sentences use labels */
	assert_non_null(strstr(sb.buf, "Comparison (reference: the fastest, #1; "));
	assert_non_null(strstr(sb.buf, "  #2 is 1.30× slower than #1 ("));
	split_lines(sb.buf, lines, &n, 64);
	check_aligned(lines, n);
	/* no table row carries a name (only the legend) */
	for (size_t i = 0; i < n; i++)
		if (!strncmp(lines[i], "  #", 3) && !strstr(lines[i], ": "))
			assert_null(strstr(lines[i], "python3"));
	strbuf_release(&sb);
	for (int i = 0; i < 3; i++)
		kb_result_release(&r[i]);
}

static void test_short_names_and_ending(void **state)
{
	struct kb_result r[2];
	struct kb_comparison cmp[1];
	struct kb_run_config cfg;
	struct strbuf sb = STRBUF_INIT;
	char *lines[64];
	size_t n;
	make_result(&r[0], "sleep 0.01", 0.010, 0.01, KB_STOP_SETTLED);
	make_result(&r[1], "sleep 0.013 ünïcode", 0.013, 0.01, KB_STOP_SETTLED);
	assert_true(kb_text_names_fit(r, 2));
	assert_int_equal(kb_compare_all(r, 2, 0, 0, 1, 0.05, cmp), 1);
	kb_text_comparisons(&sb, r, 2, cmp, 1, 0, 0, NULL);
	assert_non_null(strstr(sb.buf, "#2 'sleep 0.013 ünïcode' is 1.30× slower than #1 'sleep 0.01'"));
	assert_null(strstr(sb.buf, "  #1: "));   /* no legend */
	split_lines(sb.buf, lines, &n, 64);
	check_aligned(lines, n);
	strbuf_release(&sb);
	/* the ending says what ended the run */
	memset(&cfg, 0, sizeof(cfg));
	cfg.interleave = 1;
	cfg.precision = 0.01;
	cfg.max_time = 10;
	cfg.max_runs = 40;
	cfg.runs = 12;
	kb_text_ending(&sb, &cfg, r, 2, cmp, 1);
	assert_non_null(strstr(sb.buf, "Ended: settled: #2 'sleep 0.013 ünïcode' is 1.30× slower than #1 'sleep 0.01' (p = "));
	strbuf_reset(&sb);
	r[0].stop = r[1].stop = KB_STOP_PRECISION;
	kb_text_ending(&sb, &cfg, r, 2, cmp, 1);
	assert_non_null(strstr(sb.buf, "Ended: precision met: every comparison's CI within ±1%, after 12 runs each"));
	strbuf_reset(&sb);
	r[0].stop = r[1].stop = KB_STOP_MAX_TIME;
	kb_text_ending(&sb, &cfg, r, 2, cmp, 1);
	assert_non_null(strstr(sb.buf, "Ended: stopped by --max-time (10.00 s per command)"));
	strbuf_reset(&sb);
	r[0].stop = r[1].stop = KB_STOP_MAX_RUNS;
	kb_text_ending(&sb, &cfg, r, 2, cmp, 1);
	assert_non_null(strstr(sb.buf, "Ended: stopped by --max-runs (40)"));
	strbuf_reset(&sb);
	r[0].stop = r[1].stop = KB_STOP_RUNS;
	kb_text_ending(&sb, &cfg, r, 2, cmp, 1);
	assert_non_null(strstr(sb.buf, "Ended: --runs 12 made"));
	strbuf_reset(&sb);
	cfg.interleave = 0;
	r[0].stop = KB_STOP_PRECISION;
	r[1].stop = KB_STOP_MAX_RUNS;
	kb_text_ending(&sb, &cfg, r, 2, cmp, 1);
	assert_non_null(strstr(sb.buf, "Ended: #1 precision met: the median's 95% CI within ±1%"));
	assert_non_null(strstr(sb.buf, "; #2 stopped by --max-runs (40)"));
	strbuf_release(&sb);
	for (int i = 0; i < 2; i++)
		kb_result_release(&r[i]);
}

static void test_control_characters(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct kb_result r[1];
	make_result(&r[0], "printf 'a\nb'\t", 0.01, 0, KB_STOP_RUNS);
	assert_false(kb_text_names_fit(r, 1));
	assert_int_equal(kb_text_width("ab\n"), 4);
	assert_int_equal(kb_text_width("…x"), 2);
	kb_text_add_name(&sb, r[0].name);
	assert_string_equal(sb.buf, "printf 'a\\nb'\\t");
	strbuf_reset(&sb);
	kb_text_result(&sb, &r[0], 0);
	assert_non_null(strstr(sb.buf, "Benchmark #1: printf 'a\\nb'\\t\n"));
	strbuf_release(&sb);
	kb_result_release(&r[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_commands),
		cmocka_unit_test(test_short_names_and_ending),
		cmocka_unit_test(test_control_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
