/* test_bench_runner.c: kiln bench's measurement (bench/runner.h): the stopping rule as a
 * table, and real runs of small commands (no timing is asserted: the machine is shared). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/runner.h"
#include "util/error.h"

static void test_stop_decide(void **state)
{
	struct kb_run_config c;
	memset(&c, 0, sizeof(c));
	c.min_runs = 10;
	c.max_time = 10;
	/* before --min-runs nothing stops the run, not even a settled test */
	assert_int_equal(kb_stop_decide(&c, 9, 100, 10, 1, 1), KB_STOP_NONE);
	/* settled wins over precision, precision over the limits */
	assert_int_equal(kb_stop_decide(&c, 10, 100, 10, 1, 1), KB_STOP_SETTLED);
	assert_int_equal(kb_stop_decide(&c, 10, 100, 10, 1, 0), KB_STOP_PRECISION);
	assert_int_equal(kb_stop_decide(&c, 10, 1, 10, 0, 0), KB_STOP_NONE);
	assert_int_equal(kb_stop_decide(&c, 10, 10, 10, 0, 0), KB_STOP_MAX_TIME);
	c.max_runs = 20;
	assert_int_equal(kb_stop_decide(&c, 19, 1, 10, 0, 0), KB_STOP_NONE);
	assert_int_equal(kb_stop_decide(&c, 20, 100, 10, 0, 0), KB_STOP_MAX_RUNS);
	/* --runs: exactly that many, whatever the test says */
	c.runs = 5;
	assert_int_equal(kb_stop_decide(&c, 4, 100, 10, 1, 1), KB_STOP_NONE);
	assert_int_equal(kb_stop_decide(&c, 5, 0, 10, 0, 0), KB_STOP_RUNS);
}

static int setup_cfg(struct kb_run_config *c)
{
	memset(c, 0, sizeof(*c));
	c->min_runs = 10;
	c->max_time = 10;
	c->precision = 0.01;
	c->alpha = 0.05;
	c->interleave = 1;
	c->input_fd = -1;
	c->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	return c->devnull;
}

static void test_runs_and_settled(void **state)
{
	struct kb_run_config c;
	struct kb_runner run;
	struct kb_bench b[2];
	char *fast[] = { (char *)"sleep", (char *)"0.001", NULL };
	char *slow[] = { (char *)"sleep", (char *)"0.03", NULL };
	assert_true(setup_cfg(&c) >= 0);
	memset(b, 0, sizeof(b));
	b[0].r.name = (char *)"slow";
	b[0].argv = slow;
	b[1].r.name = (char *)"fast";
	b[1].argv = fast;
	/* exactly --runs */
	c.runs = 3;
	kb_runner_init(&run, &c, b, 2);
	assert_int_equal(kb_runner_measure(&run), 0);
	assert_int_equal(b[0].r.n, 3);
	assert_int_equal(b[1].r.n, 3);
	assert_int_equal(b[0].r.stop, KB_STOP_RUNS);
	assert_true(b[0].r.s.mean > b[1].r.s.mean);
	free(b[0].r.times), free(b[0].r.user), free(b[0].r.sys), free(b[0].r.rss), free(b[0].r.exit_codes);
	free(b[1].r.times), free(b[1].r.user), free(b[1].r.sys), free(b[1].r.rss), free(b[1].r.exit_codes);
	memset(&b[0].r, 0, sizeof(b[0].r));
	memset(&b[1].r, 0, sizeof(b[1].r));
	b[0].r.name = (char *)"slow";
	b[1].r.name = (char *)"fast";
	/* 30x apart: the sequential test settles; the runs stay paired (equal counts) */
	c.runs = 0;
	kb_runner_init(&run, &c, b, 2);
	assert_int_equal(kb_runner_measure(&run), 0);
	assert_int_equal(b[0].r.stop, KB_STOP_SETTLED);
	assert_int_equal(b[1].r.stop, KB_STOP_SETTLED);
	assert_int_equal(b[0].r.n, b[1].r.n);
	assert_true(b[0].r.n >= 10);
	free(b[0].r.times), free(b[0].r.user), free(b[0].r.sys), free(b[0].r.rss), free(b[0].r.exit_codes);
	free(b[1].r.times), free(b[1].r.user), free(b[1].r.sys), free(b[1].r.rss), free(b[1].r.exit_codes);
	/* a failing command is an error (printed), before any measurement */
	char *bad[] = { (char *)"false", NULL };
	memset(b, 0, sizeof(b));
	b[0].r.name = (char *)"false";
	b[0].argv = bad;
	kiln_set_quiet(1);
	kb_runner_init(&run, &c, b, 1);
	fprintf(stderr, "(an error about 'false' is expected here)\n");
	assert_int_equal(kb_runner_measure(&run), -1);
	assert_int_equal(b[0].r.n, 0);
	close(c.devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_decide),
		cmocka_unit_test(test_runs_and_settled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
