/* test_bench_plan.c: expanding kiln bench's commands over parameters (bench/plan.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/plan.h"
#include "collect/cmdrun.h"
#include "util/error.h"

static void test_scan_and_list(void **state)
{
	struct kb_param p;
	char err[256];
	assert_int_equal(kb_param_scan("x", "1", "3", NULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.values[2], "3");
	kb_param_release(&p);
	assert_int_equal(kb_param_scan("d", "0.001", "0.002", "0.0005", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.values[1], "0.0015");
	kb_param_release(&p);
	assert_int_equal(kb_param_scan("x", "-1", "1", NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.values[1], "0"); /* never "-0" */
	kb_param_release(&p);
	assert_int_equal(kb_param_scan("x", "5", "1", NULL, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty range"));
	kb_param_release(&p);
	assert_int_equal(kb_param_scan("x", "0.1", "0.5", NULL, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "need a step"));
	kb_param_release(&p);
	assert_int_equal(kb_param_scan("x", "0", "1000000000", NULL, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	kb_param_release(&p);
	assert_int_equal(kb_param_split("v", "a,bb,c", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.values[1], "bb");
	kb_param_release(&p);
	assert_int_equal(kb_param_split("v", "a,,c", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty value"));
	kb_param_release(&p);
}

static void test_substitute(void **state)
{
	struct kb_param ps[2] = { { (char *)"n", (char *[]){ (char *)"1", (char *)"2" }, 2 },
				  { (char *)"opt", (char *[]){ (char *)"-O2" }, 1 } };
	size_t idx[2] = { 1, 0 };
	char *s = kb_substitute("gcc {opt} -j{n} {nope} {n}{", ps, 2, idx);
	assert_string_equal(s, "gcc -O2 -j2 {nope} 2{");
	free(s);
}

static void test_build(void **state)
{
	const char *cmds[] = { "sleep 0.{x}", "true {x}" };
	const char *names[] = { "nap {x}" };
	struct kb_param list;
	struct kb_plan_spec spec;
	struct kb_bench *b;
	size_t n;
	char err[256];
	char *sh[] = { (char *)"sh", NULL };
	assert_int_equal(kb_param_split("x", "1,2", &list, err, sizeof(err)), 0);
	memset(&spec, 0, sizeof(spec));
	spec.commands = cmds;
	spec.ncommands = 2;
	spec.names = names;
	spec.nnames = 1;
	spec.lists = &list;
	spec.nlists = 1;
	spec.reference = "true";
	spec.shell_words = sh;
	assert_int_equal(kb_plan_build(&spec, &b, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);             /* the reference, then 2 commands x 2 values */
	assert_string_equal(b[0].r.name, "true");
	assert_int_equal(b[0].r.nparams, 0);
	assert_string_equal(b[1].r.name, "nap 1");
	assert_string_equal(b[1].r.command, "sleep 0.1");
	assert_string_equal(b[2].r.name, "nap 2");
	assert_string_equal(b[3].r.name, "true 1");
	assert_string_equal(b[3].r.param_values[0], "1");
	assert_string_equal(b[1].argv[0], "sh");
	assert_string_equal(b[1].argv[1], "-c");
	assert_string_equal(b[1].argv[2], "sleep 0.1");
	kb_benches_free(b, n);
	/* the same command twice gets a unique name */
	const char *twice[] = { "true", "true" };
	memset(&spec, 0, sizeof(spec));
	spec.commands = twice;
	spec.ncommands = 2;
	assert_int_equal(kb_plan_build(&spec, &b, &n, err, sizeof(err)), 0);
	assert_string_equal(b[1].r.name, "true (2)");
	assert_string_equal(b[1].argv[0], "true");   /* no shell: split into words */
	kb_benches_free(b, n);
	/* usage errors */
	spec.nnames = 3;
	spec.names = names;
	assert_int_equal(kb_plan_build(&spec, &b, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "3 command names for 2 commands");
	spec.nnames = 0;
	spec.scan_step = "1";
	assert_int_equal(kb_plan_build(&spec, &b, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs '-P'"));
	spec.scan_step = NULL;
	/* a command that cannot be split: printed, err empty */
	const char *bad[] = { "echo 'open" };
	spec.commands = bad;
	spec.ncommands = 1;
	kiln_set_quiet(1);
	assert_int_equal(kb_plan_build(&spec, &b, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "");
	kb_param_release(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_and_list),
		cmocka_unit_test(test_substitute),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
