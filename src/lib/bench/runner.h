/* runner.h: kiln bench's measurement: the shell's start-up calibration, the check and
 * warm-up runs, the measured runs in interleaved rounds (or one command after another),
 * and the stopping rule:
 *
 *   after --min-runs rounds, stop at the first round where
 *     1. "settled":   two or more interleaved commands, and every comparison with the
 *                     reference is significant by the anytime-valid test (compare.h);
 *     2. "precision": one command (or --no-interleave): the 95% CI of its median is
 *                     within +-precision of the median (a sequential fixed-width interval,
 *                     distribution-free, so that a few delayed runs do not hold it up);
 *                     interleaved commands: every comparison is settled or has its
 *                     interval within +-precision of its estimate (a larger difference
 *                     would have shown);
 *     3. "max-runs":  --max-runs rounds were made;
 *     4. "max-time":  the budget (max_time per command) is spent;
 *   or, with --runs N, after exactly N rounds ("runs").
 *
 * The order within each round is a random shuffle from a fresh seed (recorded in r->seed):
 * the sequential test relies on it, since under "the same command twice" it is what makes
 * either command equally likely to be the slower of a round, whatever the order effects.
 *
 * Errors (a command failed, timed out, a helper failed) are printed and return -1.
 * Progress, if wanted, goes through a callback: the library does not draw. */
#ifndef KILN_BENCH_RUNNER_H
#define KILN_BENCH_RUNNER_H
#include "bench/plan.h"
#include <stddef.h>

#define KB_NCOUNTERS 6   /* cycles, instructions, cache-references/-misses, branches/-misses */

struct kb_progress {
	long round;                 /* rounds done */
	double target_rounds;       /* estimated rounds to the end */
	double remaining;           /* estimated seconds left */
	const struct kb_result *last; /* the result just measured */
	double halfwidth;           /* its mean's 95% CI half-width relative to the mean (INFINITY: n < 2) */
};

struct kb_run_config {
	long warmup, min_runs, max_runs, runs;   /* max_runs, runs: 0 for none */
	double max_time, precision, alpha, timeout;
	int interleave, show_output, ignore_failure, counters;
	int fixed_reference;        /* the first benchmark is --reference */
	char *const *shell_words;   /* NULL: no shell */
	const char *shell_name;     /* for messages */
	const char *input_path;     /* NULL: /dev/null */
	int input_fd;               /* open on input_path, or -1 */
	int devnull;                /* open on /dev/null */
	unsigned long long seed;    /* of the round orders, < 2^53; 0: a fresh one (getrandom) */
	void (*progress)(void *arg, const struct kb_progress *p);
	void *progress_arg;
};

struct kb_runner {
	const struct kb_run_config *cfg;
	struct kb_bench *b;
	size_t nb;
	double shell_wall, shell_user, shell_sys;
	double shell_counters[KB_NCOUNTERS];
	unsigned long long seed;    /* the seed the round orders came from */
};

/* The perf event names of the counters (KB_NCOUNTERS of them). */
extern const char *const kb_counter_events[KB_NCOUNTERS];

/* Sets up r over b[0..nb-1] (borrowed) and, with cfg->counters, their counter series. */
void kb_runner_init(struct kb_runner *r, const struct kb_run_config *cfg, struct kb_bench *b, size_t nb);
/* Measures SHELL -c "" (5 warm-up + 50 runs) to subtract it from every run. */
int kb_runner_calibrate_shell(struct kb_runner *r);
/* Setup, check and warm-up runs, the measured runs, cleanup; then finishes every result
 * (kb_result_finish) and records what stopped it. Returns 0 or -1 (printed). */
int kb_runner_measure(struct kb_runner *r);
/* Relative half-width of the 95% CI of r's median: the larger distance from the median to
 * an end of r->median_ci, over the median (INFINITY when unbounded, 0 for a zero median).
 * r must be finished (kb_result_finish). */
double kb_rel_halfwidth(const struct kb_result *r);

/* The stopping rule of one round (pure): rounds made, seconds spent of budget, and whether
 * every mean is precise enough / every comparison settled. Returns a KB_STOP_* or
 * KB_STOP_NONE to go on. */
int kb_stop_decide(const struct kb_run_config *cfg, long rounds, double elapsed, double budget,
		   int precise, int settled);

#endif
