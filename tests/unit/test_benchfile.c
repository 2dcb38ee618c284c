/* test_benchfile.c: kiln bench's JSON/CSV/Markdown exports and baseline loading. */
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
#include <jansson.h>
#include "stats/benchfile.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#include "unit.h"

static char *write_tmp(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void make_result(struct kb_result *r, const char *name, double base)
{
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->command = xstrdup(name);
	for (int i = 0; i < 5; i++)
		kb_result_add(r, base + 0.001 * i, 0.0001, 0.0002, 1024 * 1024, 0, NULL);
	kb_result_finish(r);
}

static void test_json_roundtrip(void **state)
{
	struct kb_result r[2];
	struct kb_settings set = { "sh", 0.0005, 0.05, 0.01, 1, 0, (1ULL << 53) - 1 }; /* the largest seed */
	struct strbuf sb = STRBUF_INIT;
	struct kb_baseline b;
	json_error_t err;
	make_result(&r[0], "sleep \"0.02\"", 0.020);
	make_result(&r[1], "sleep 0.04", 0.040);
	kb_write_json(&sb, &set, r, 2, NULL, 0);
	/* valid JSON with hyperfine's fields */
	json_t *root = json_loads(sb.buf, 0, &err);
	assert_non_null(root);
	json_t *res0 = json_array_get(json_object_get(root, "results"), 0);
	assert_string_equal(json_string_value(json_object_get(res0, "command")), "sleep \"0.02\"");
	assert_true(fabs(json_number_value(json_object_get(res0, "mean")) - 0.022) < 1e-12);
	assert_int_equal(json_array_size(json_object_get(res0, "times")), 5);
	assert_int_equal(json_integer_value(json_object_get(root, "kiln_format")), 1);
	json_decref(root);
	/* and loads back as a baseline */
	char *path = write_tmp("base.json", sb.buf);
	assert_int_equal(kb_baseline_load(path, &b), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.kiln_format, 1);
	const struct kb_baseline_entry *e = kb_baseline_find(&b, "sleep 0.04");
	assert_non_null(e);
	assert_int_equal(e->n, 5);
	assert_true(fabs(e->mean - 0.042) < 1e-12);
	assert_null(kb_baseline_find(&b, "sleep 0.03"));
	kb_baseline_release(&b);
	free(path);
	strbuf_release(&sb);
	kb_result_release(&r[0]);
	kb_result_release(&r[1]);
}

static void test_baseline_errors(void **state)
{
	static const char *const bad[] = {
		"",                                                   /* empty */
		"{\"results\": [",                                    /* truncated */
		"[1, 2]",                                             /* not an object */
		"{\"kiln_format\": 2, \"results\": []}",              /* newer format */
		"{\"kiln_format\": \"x\", \"results\": []}",          /* bad format field */
		"{\"foo\": 1}",                                       /* no results */
		"{\"results\": []}",                                  /* empty results */
		"{\"results\": [{\"mean\": 1}]}",                     /* no command */
		"{\"results\": [{\"command\": \"a\"}]}",              /* no times */
		"{\"results\": [{\"command\": \"a\", \"times\": []}]}",
		"{\"results\": [{\"command\": \"a\", \"times\": [1, -2]}]}",
		"{\"results\": [{\"command\": \"a\", \"times\": [1, null]}]}",
		"{\"results\": [{\"command\": \"a\", \"times\": [1]}, {\"command\": \"a\", \"times\": [1]}]}",
		"{\"results\": [{\"command\": \"a\", \"times\": [1]}], \"results\": []}", /* duplicate key */
	};
	struct kb_baseline b;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = write_tmp("bad.json", bad[i]);
		if (kb_baseline_load(path, &b) != -1) {
			print_error("case %zu loaded: %s\n", i, bad[i]);
			fail();
		}
		assert_int_equal(b.n, 0);
		free(path);
	}
	char *missing = xasprintf("%s/missing.json", tmpdir);
	assert_int_equal(kb_baseline_load(missing, &b), -1);
	free(missing);
	assert_int_equal(kb_baseline_load(tmpdir, &b), -1); /* a directory */
	/* hyperfine's export (no kiln_format) is accepted */
	char *hf = write_tmp("hf.json", "{\"results\": [{\"command\": \"true\", \"mean\": 0.001, "
					"\"times\": [0.001, 0.0012], \"exit_codes\": [0, 0]}]}");
	assert_int_equal(kb_baseline_load(hf, &b), 0);
	assert_int_equal(b.kiln_format, 0);
	assert_int_equal(b.e[0].n, 2);
	kb_baseline_release(&b);
	free(hf);
}

static void test_csv_markdown(void **state)
{
	struct kb_result r[2];
	struct strbuf sb = STRBUF_INIT;
	make_result(&r[0], "a,\"b\"", 0.010);
	make_result(&r[1], "x | y", 0.020);
	kb_write_csv(&sb, r, 2);
	assert_non_null(strstr(sb.buf, "command,mean,stddev,median,user,system,min,max,p95,p99,runs\n"));
	assert_non_null(strstr(sb.buf, "\n\"a,\"\"b\"\"\",0.012"));
	strbuf_reset(&sb);
	kb_write_markdown(&sb, r, 2, 0);
	assert_non_null(strstr(sb.buf, "| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |\n"));
	assert_non_null(strstr(sb.buf, "| `x \\| y` | 22.0 ± 1.6 | 20.0 | 24.0 | 1.83 ± "));
	assert_non_null(strstr(sb.buf, "| 1.00 |\n"));
	strbuf_release(&sb);
	kb_result_release(&r[0]);
	kb_result_release(&r[1]);
}

static void test_result_summary(void **state)
{
	struct kb_result r;
	make_result(&r, "x", 0.1);
	assert_int_equal(r.n, 5);
	assert_true(fabs(r.s.mean - 0.102) < 1e-12);
	assert_true(fabs(r.s.median - 0.102) < 1e-12);
	assert_true(r.ci.bounded && r.ci.lo < 0.102 && r.ci.hi > 0.102);
	assert_true(fabs(r.max_rss - 1048576) < 1e-9);
	assert_int_equal(r.outliers, 0);
	kb_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_baseline_errors),
		cmocka_unit_test(test_csv_markdown),
		cmocka_unit_test(test_result_summary),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
