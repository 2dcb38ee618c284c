/* test_cmdrun.c: running and measuring a command; event counters; word splitting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "collect/cmdrun.h"
#include "collect/evcount.h"
#include "util/error.h"

static int devnull = -1;

static int setup(void **state)
{
	kiln_set_quiet(1);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	return devnull < 0;
}

static int teardown(void **state)
{
	close(devnull);
	return 0;
}

static int run(char *const *argv, double timeout, struct kc_counters *cs, struct kc_run_result *r)
{
	struct kc_run_opts o = { argv, devnull, devnull, devnull, timeout, cs, 0 };
	return kc_run(&o, r);
}

static void test_run_sleep(void **state)
{
	char *argv[] = { (char *)"sleep", (char *)"0.05", NULL };
	struct kc_run_result r;
	assert_int_equal(run(argv, 0, NULL, &r), 0);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	assert_true(r.wall >= 0.05 && r.wall < 1.0);
	assert_true(r.user + r.sys < 0.04); /* sleeping costs (almost) no CPU */
	assert_true(r.max_rss_kb > 0);
	assert_false(r.timed_out);
}

static void test_exit_status_and_signal(void **state)
{
	char *fail[] = { (char *)"sh", (char *)"-c", (char *)"exit 3", NULL };
	char *kill_self[] = { (char *)"sh", (char *)"-c", (char *)"kill -9 $$", NULL };
	char *pipe_cmd[] = { (char *)"sh", (char *)"-c", (char *)"yes | head -1 >/dev/null", NULL };
	struct kc_run_result r;
	assert_int_equal(run(fail, 0, NULL, &r), 0);
	assert_int_equal(kc_exit_code(r.status), 3);
	assert_int_equal(run(kill_self, 0, NULL, &r), 0);
	assert_int_equal(kc_exit_code(r.status), 128 + 9);
	/* kiln ignores SIGPIPE; the child must not inherit that (yes would spin forever) */
	assert_int_equal(run(pipe_cmd, 5, NULL, &r), 0);
	assert_false(r.timed_out);
	assert_int_equal(kc_exit_code(r.status), 0);
}

static void test_not_found(void **state)
{
	char *argv[] = { (char *)"kiln-no-such-command-xyz", NULL };
	char *perm[] = { (char *)"/etc/passwd", NULL };
	struct kc_run_result r;
	assert_int_equal(run(argv, 0, NULL, &r), -1);
	assert_int_equal(run(perm, 0, NULL, &r), -1);
	/* the counted (fork) path reports it the same way */
	const struct kc_event_def *defs[] = { kc_event_lookup("task-clock") };
	struct kc_counters cs;
	kc_counters_init(&cs, defs, 1);
	assert_int_equal(run(argv, 0, &cs, &r), -1);
	kc_counters_release(&cs);
}

static void test_timeout(void **state)
{
	/* the shell's child (sleep) is in the same process group and dies too */
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"sleep 30; true", NULL };
	struct kc_run_result r;
	assert_int_equal(run(argv, 0.2, NULL, &r), 0);
	assert_true(r.timed_out);
	assert_true(r.wall >= 0.2 && r.wall < 2);
	assert_true(WIFSIGNALED(r.status));
	/* a command finishing in time is not marked */
	char *quick[] = { (char *)"true", NULL };
	assert_int_equal(run(quick, 5, NULL, &r), 0);
	assert_false(r.timed_out);
}

static void test_counters(void **state)
{
	const struct kc_event_def *const *defs;
	size_t n = kc_event_defaults(&defs);
	struct kc_counters cs;
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done", NULL };
	struct kc_run_result r;
	kc_counters_init(&cs, defs, n);
	assert_int_equal(run(argv, 0, &cs, &r), 0);
	for (size_t i = 0; i < cs.n; i++) {
		struct kc_counter *c = &cs.c[i];
		if (!strcmp(c->def->name, "task-clock")) {
			/* software counters work everywhere; task-clock ~ user + sys */
			assert_int_equal(c->state, KC_COUNTER_COUNTED);
			assert_true(c->value > 0);
			assert_true(c->value * 1e-9 <= r.wall * 1.05 + 0.002);
		} else if (!strcmp(c->def->name, "page-faults")) {
			assert_int_equal(c->state, KC_COUNTER_COUNTED);
			assert_true(c->value > 10);
		} else if (c->state == KC_COUNTER_UNSUPPORTED) {
			/* no PMU here: a hardware counter is "not supported", never a failure */
			assert_string_equal(kc_counter_reason(c), "not supported");
		} else {
			assert_int_equal(c->state, KC_COUNTER_COUNTED);
		}
	}
	/* a second run reuses the knowledge of what is unsupported */
	assert_int_equal(run(argv, 0, &cs, &r), 0);
	kc_counters_release(&cs);
}

static void test_run_delay_and_rss(void **state)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"i=0; while [ $i -lt 300 ]; do i=$((i+1)); done", NULL };
	struct kc_run_opts o = { argv, devnull, devnull, devnull, 0, NULL, 1 };
	struct kc_run_result r;
	assert_int_equal(kc_run(&o, &r), 0);
	if (access("/proc/self/schedstat", R_OK) == 0) {
		/* read from the zombie before reaping: known, and no more than the wall time */
		assert_true(r.run_delay >= 0);
		assert_true(r.run_delay <= r.wall);
	}
	/* the same with a timeout (the polling wait) */
	o.timeout = 10;
	assert_int_equal(kc_run(&o, &r), 0);
	if (access("/proc/self/schedstat", R_OK) == 0)
		assert_true(r.run_delay >= 0 && r.run_delay <= r.wall);
	/* without sched the delay is unknown */
	o.sched = 0;
	assert_int_equal(kc_run(&o, &r), 0);
	assert_true(r.run_delay < 0);
	/* a program far larger than kiln: its peak RSS is exact, not an upper bound */
	char *big[] = { (char *)"sh", (char *)"-c", (char *)"x=$(head -c 20000000 /dev/zero | tr \"\\0\" a); echo ${#x}", NULL };
	o.argv = big;
	assert_int_equal(kc_run(&o, &r), 0);
	assert_true(r.max_rss_kb > 19000);
	struct rusage self;
	getrusage(RUSAGE_SELF, &self);
	if (self.ru_maxrss < 19000) /* not under a sanitizer's large footprint */
		assert_false(r.rss_upper_bound);
}

static void test_scaling(void **state)
{
	int scaled;
	/* counted the whole time: exact */
	assert_true(kc_scale(1000, 500, 500, &scaled) == 1000);
	assert_int_equal(scaled, 0);
	/* multiplexed: ran a quarter of the time, estimate four times the count */
	assert_true(kc_scale(1000, 400, 100, &scaled) == 4000);
	assert_int_equal(scaled, 1);
	/* never scheduled: not counted */
	assert_true(isnan(kc_scale(0, 400, 0, &scaled)));
	/* never enabled (the command exited before exec finished): zero, not an error */
	assert_true(kc_scale(0, 0, 0, &scaled) == 0);
	assert_int_equal(scaled, 0);
}

static void test_event_names(void **state)
{
	assert_non_null(kc_event_lookup("cycles"));
	assert_ptr_equal(kc_event_lookup("cpu-cycles"), kc_event_lookup("cycles"));
	assert_ptr_equal(kc_event_lookup("cs"), kc_event_lookup("context-switches"));
	assert_non_null(kc_event_lookup("Task-Clock"));
	assert_null(kc_event_lookup("frobs"));
	assert_null(kc_event_lookup(""));
}

static void test_split_words(void **state)
{
	char **a = kc_split_words("  grep -i 'two words' \"a \\\"q\\\" b\" back\\ slash x''y  ");
	assert_non_null(a);
	assert_string_equal(a[0], "grep");
	assert_string_equal(a[1], "-i");
	assert_string_equal(a[2], "two words");
	assert_string_equal(a[3], "a \"q\" b");
	assert_string_equal(a[4], "back slash");
	assert_string_equal(a[5], "xy");
	assert_null(a[6]);
	kc_argv_free(a);
	a = kc_split_words("''");
	assert_non_null(a);
	assert_string_equal(a[0], "");
	kc_argv_free(a);
	assert_null(kc_split_words("echo 'open"));
	assert_null(kc_split_words("echo \"open"));
	assert_null(kc_split_words("   "));
	assert_null(kc_split_words(""));
}

/* A target tied to its parent: when the parent goes away without stopping the guard
 * (here: the pipe closed without 'q', as when kiln is killed), the guard kills the
 * target and removes the session directory; after kc_tie_stop it does neither. */
static pid_t tied_sleeper(void)
{
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		kc_child_tie(parent);
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void test_tie_guard(void **state)
{
	char dir[] = "/tmp/kiln-tie-XXXXXX", file[64];
	struct kc_tie t;
	int st = 0, fd;
	pid_t pid;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/x.kh", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	pid = tied_sleeper();
	assert_true(pid > 0);
	kc_tie_start(&t, pid, dir);
	assert_true(t.guard > 0 && t.fd >= 0);
	close(t.fd); /* "kiln died" */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(waitpid(t.guard, &st, 0), t.guard);
	assert_true(access(dir, F_OK) != 0); /* removed */

	/* a normal end: the target runs on until reaped, the guard exits quietly */
	memcpy(dir, "/tmp/kiln-tie-XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	pid = tied_sleeper();
	kc_tie_start(&t, pid, dir);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	kc_tie_reaped(&t);
	kc_tie_stop(&t);
	assert_int_equal(t.guard, -1);
	assert_true(access(dir, F_OK) == 0); /* kiln's to remove, not the guard's */
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_sleep),
		cmocka_unit_test(test_tie_guard),
		cmocka_unit_test(test_exit_status_and_signal),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_run_delay_and_rss),
		cmocka_unit_test(test_scaling),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_split_words),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
