/* runner.c: kiln bench's measurement loop and stopping rule (see runner.h). */
#include "bench/runner.h"
#include "bench/compare.h"
#include "collect/cmdrun.h"
#include "stats/units.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SHELL_CALIBRATION_RUNS 50

const char *const kb_counter_events[KB_NCOUNTERS] = {
	"cycles", "instructions", "cache-references", "cache-misses", "branches", "branch-misses",
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void kb_runner_init(struct kb_runner *r, const struct kb_run_config *cfg, struct kb_bench *b, size_t nb)
{
	const struct kc_event_def *defs[KB_NCOUNTERS];
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->b = b;
	r->nb = nb;
	r->seed = cfg->seed;
	if (!r->seed && getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != (ssize_t)sizeof(r->seed))
		r->seed = (unsigned long long)(now() * 1e9) ^ ((unsigned long long)getpid() << 32);
	r->seed &= (1ULL << 53) - 1; /* exact in a double: every JSON reader keeps it */
	if (!r->seed)
		r->seed = 1;
	if (!cfg->counters)
		return;
	for (size_t i = 0; i < KB_NCOUNTERS; i++)
		defs[i] = kc_event_lookup(kb_counter_events[i]);
	for (size_t i = 0; i < nb; i++) {
		struct kb_result *res = &b[i].r;
		kc_counters_init(&b[i].cs, defs, KB_NCOUNTERS);
		res->ncounters = KB_NCOUNTERS;
		res->counters = xcalloc(KB_NCOUNTERS, sizeof(*res->counters));
		for (size_t k = 0; k < KB_NCOUNTERS; k++) {
			res->counters[k].name = xstrdup(kb_counter_events[k]);
			res->counters[k].unit = "count";
			res->counters[k].supported = 1;
		}
	}
}

static void run_opts(const struct kb_runner *r, struct kc_run_opts *ro, char **argv, int stdin_fd)
{
	ro->argv = argv;
	ro->stdin_fd = stdin_fd;
	ro->stdout_fd = r->cfg->show_output ? -1 : r->cfg->devnull;
	ro->stderr_fd = r->cfg->show_output ? -1 : r->cfg->devnull;
	ro->timeout = r->cfg->timeout;
	ro->counters = NULL;
	ro->sched = 0;
}

static int run_helper(struct kb_runner *r, const char *what, const char *line)
{
	struct kc_run_opts ro;
	struct kc_run_result res;
	char **argv;
	int rc;
	if (!line)
		return 0;
	argv = kb_command_argv(r->cfg->shell_words, line);
	if (!argv)
		return -1;
	run_opts(r, &ro, argv, r->cfg->devnull);
	rc = kc_run(&ro, &res);
	kc_argv_free(argv);
	if (rc < 0)
		return -1;
	if (res.timed_out)
		return kiln_error("the %s command '%s' did not finish within the timeout", what, line);
	if (kc_exit_code(res.status) != 0)
		return kiln_error("the %s command '%s' failed with exit code %d", what, line,
				  kc_exit_code(res.status));
	return 0;
}

/* One run of b. measured: add it to the results. Returns 0 or -1 (printed). */
static int run_bench(struct kb_runner *r, struct kb_bench *b, int measured, long run_no)
{
	const struct kb_run_config *cfg = r->cfg;
	struct kc_run_opts ro;
	struct kc_run_result res;
	double cv[KB_NCOUNTERS];
	int code;
	if (run_helper(r, "--prepare", b->prepare) < 0)
		return -1;
	if (cfg->input_fd >= 0 && lseek(cfg->input_fd, 0, SEEK_SET) < 0)
		return kiln_error("cannot rewind input '%s': %s", cfg->input_path, strerror(errno));
	run_opts(r, &ro, b->argv, cfg->input_fd >= 0 ? cfg->input_fd : cfg->devnull);
	ro.counters = cfg->counters ? &b->cs : NULL;
	if (kc_run(&ro, &res) < 0)
		return -1;
	if (res.timed_out) {
		char t[32];
		ks_fmt_duration(t, sizeof(t), cfg->timeout);
		return kiln_error("'%s' did not finish within %s (%s run %ld); it was killed; "
				  "raise --timeout or shorten the command", b->r.name, t,
				  measured ? "measured" : "check/warm-up", run_no);
	}
	code = kc_exit_code(res.status);
	if (code != 0 && !cfg->ignore_failure) {
		const char *hint = code == 127 ? " (command not found?)" : "";
		return kiln_error("'%s' failed with exit code %d%s%s; fix it or use -i/--ignore-failure to "
				  "benchmark it anyway", b->r.name, code, hint,
				  measured ? "" : " before any measurement");
	}
	if (run_helper(r, "--conclude", b->conclude) < 0)
		return -1;
	if (!measured)
		return 0;
	for (size_t i = 0; i < b->r.ncounters; i++) {
		const struct kc_counter *k = &b->cs.c[i];
		cv[i] = k->state == KC_COUNTER_COUNTED ? fmax(0, k->value - r->shell_counters[i]) : NAN;
		if (k->scaled)
			b->r.counters[i].scaled = 1;
	}
	kb_result_add(&b->r, fmax(0, res.wall - r->shell_wall), fmax(0, res.user - r->shell_user),
		      fmax(0, res.sys - r->shell_sys), (double)res.max_rss_kb * 1024, code,
		      b->r.ncounters ? cv : NULL);
	b->r.rss_upper_bound |= res.rss_upper_bound;
	return 0;
}

int kb_runner_calibrate_shell(struct kb_runner *r)
{
	const struct kb_run_config *cfg = r->cfg;
	struct kc_counters cs;
	struct kc_run_opts ro;
	char **argv = kb_command_argv(cfg->shell_words, "");
	double w = 0, u = 0, s = 0;
	int n = 0, ret = 0;
	size_t ncs = 0;
	const struct kc_event_def *defs[KB_NCOUNTERS];
	if (!argv)
		return -1;
	if (cfg->counters) {
		for (size_t i = 0; i < KB_NCOUNTERS; i++)
			defs[i] = kc_event_lookup(kb_counter_events[i]);
		ncs = KB_NCOUNTERS;
	}
	kc_counters_init(&cs, defs, ncs);
	run_opts(r, &ro, argv, cfg->devnull);
	ro.stdout_fd = ro.stderr_fd = cfg->devnull;
	ro.counters = ncs ? &cs : NULL;
	for (int i = 0; i < 5 + SHELL_CALIBRATION_RUNS; i++) {
		struct kc_run_result res;
		if (kc_run(&ro, &res) < 0) {
			ret = kiln_error("cannot start the shell '%s'; choose another with -S or use -N",
					 cfg->shell_name ? cfg->shell_name : "sh");
			break;
		}
		if (res.timed_out || kc_exit_code(res.status) != 0) {
			ret = kiln_error("the shell '%s' fails to run an empty command (exit code %d); "
					 "choose another with -S or use -N", argv[0], kc_exit_code(res.status));
			break;
		}
		if (i < 5)
			continue;
		w += res.wall;
		u += res.user;
		s += res.sys;
		for (size_t k = 0; k < ncs; k++)
			if (cs.c[k].state == KC_COUNTER_COUNTED)
				r->shell_counters[k] += cs.c[k].value;
		n++;
	}
	if (n) {
		r->shell_wall = w / n;
		r->shell_user = u / n;
		r->shell_sys = s / n;
		for (size_t k = 0; k < ncs; k++)
			r->shell_counters[k] /= n;
	}
	kc_counters_release(&cs);
	kc_argv_free(argv);
	return ret;
}

static double median_halfwidth(double median, struct ks_interval ci)
{
	if (!ci.bounded)
		return INFINITY;
	if (median <= 0)
		return 0;
	return fmax(ci.hi - median, median - ci.lo) / median;
}

double kb_rel_halfwidth(const struct kb_result *r)
{
	return median_halfwidth(r->s.median, r->median_ci);
}

/* The same while measuring (r is not finished): sorts a copy of the times. */
static double current_halfwidth(const struct kb_result *r)
{
	double *x, med, hw;
	if (r->n < 2)
		return INFINITY;
	x = xmalloc(r->n * sizeof(*x));
	memcpy(x, r->times, r->n * sizeof(*x));
	ks_sort(x, r->n);
	med = ks_quantile_sorted(x, r->n, 0.5);
	hw = median_halfwidth(med, ks_median_ci_sorted(x, r->n, 0.95));
	free(x);
	return hw;
}

int kb_stop_decide(const struct kb_run_config *cfg, long rounds, double elapsed, double budget,
		   int precise, int settled)
{
	if (cfg->runs)
		return rounds >= cfg->runs ? KB_STOP_RUNS : KB_STOP_NONE;
	if (rounds < cfg->min_runs)
		return KB_STOP_NONE;
	if (settled)
		return KB_STOP_SETTLED;
	if (precise)
		return KB_STOP_PRECISION;
	if (cfg->max_runs && rounds >= cfg->max_runs)
		return KB_STOP_MAX_RUNS;
	if (elapsed >= budget)
		return KB_STOP_MAX_TIME;
	return KB_STOP_NONE;
}

/* Running mean and sum of squares per result (Welford), for the progress line at every
 * run without going over all runs again. */
struct running {
	size_t n;
	double mean, m2;
};

static void running_add(struct running *w, double x)
{
	double d = x - w->mean;
	w->n++;
	w->mean += d / (double)w->n;
	w->m2 += d * (x - w->mean);
}

static double running_halfwidth(const struct running *w)
{
	if (w->n < 2)
		return INFINITY;
	if (w->mean <= 0)
		return 0;
	return ks_t_quantile(0.975, (double)(w->n - 1)) * sqrt(w->m2 / (double)(w->n - 1) / (double)w->n) / w->mean;
}

/* Estimated rounds for the target precision (at least n), for the progress line. */
static double runs_needed(const struct running *w, double precision)
{
	double s;
	if (w->n < 2)
		return (double)w->n + 10;
	if (w->mean <= 0)
		return (double)w->n;
	s = sqrt(w->m2 / (double)(w->n - 1));
	return fmax((double)w->n, pow(1.96 * s / (precision * w->mean), 2));
}

static void progress(struct kb_runner *r, const struct running *w, size_t first, size_t n, long round,
		     double elapsed, const struct kb_bench *b, const struct running *wb)
{
	const struct kb_run_config *cfg = r->cfg;
	struct kb_progress p;
	double per_round;
	if (!cfg->progress)
		return;
	if (cfg->runs) {
		p.target_rounds = (double)cfg->runs;
	} else {
		p.target_rounds = (double)cfg->min_runs;
		for (size_t k = 0; k < n; k++)
			p.target_rounds = fmax(p.target_rounds, runs_needed(&w[first + k], cfg->precision));
		if (cfg->max_runs)
			p.target_rounds = fmin(p.target_rounds, (double)cfg->max_runs);
	}
	per_round = round > 0 ? elapsed / (double)round : 0;
	p.round = round;
	p.remaining = fmax(0, p.target_rounds - (double)round) * per_round;
	if (!cfg->runs)
		p.remaining = fmin(p.remaining, fmax(0, cfg->max_time * (double)n - elapsed));
	p.last = &b->r;
	p.halfwidth = running_halfwidth(wb);
	cfg->progress(cfg->progress_arg, &p);
}

/* Measures b[first .. first+n-1] in rounds until the stopping rule ends them. */
static int measure_group(struct kb_runner *r, struct running *w, size_t first, size_t n, double budget)
{
	const struct kb_run_config *cfg = r->cfg;
	struct ks_rng rng;
	size_t *order = xcalloc(n, sizeof(size_t));
	struct kb_result *view = xcalloc(n, sizeof(*view));
	double t0 = now(), elapsed = 0;
	long round = 0, next_look = 0;
	int ret = 0, stop;
	ks_rng_seed(&rng, r->seed + first); /* fresh orders: see runner.h */
	for (;;) {
		int precise = 0, settled = 0;
		/* The tests may be looked at after every round; past 64 rounds they are looked at
		 * when the rounds have grown by 1/32 (so that the cost stays O(n log n)). The
		 * sequential test is valid at any look (seqtest.h). */
		if (!cfg->runs && round >= cfg->min_runs && round >= next_look) {
			if (n == 1 || !cfg->interleave) {
				precise = 1;
				for (size_t i = 0; i < n; i++)
					if (current_halfwidth(&r->b[first + i].r) > cfg->precision)
						precise = 0;
			} else {
				/* several interleaved commands: the comparisons decide */
				for (size_t i = 0; i < n; i++)
					view[i] = r->b[first + i].r; /* shallow: the results side by side */
				kb_compare_state(view, n, cfg->fixed_reference, cfg->alpha, cfg->precision,
						 &settled, &precise);
			}
			next_look = round < 64 ? round + 1 : round + round / 32;
		}
		stop = kb_stop_decide(cfg, round, elapsed, budget, precise, settled);
		if (stop)
			break;
		/* this round's order: a shuffle, so no command is always first after another */
		for (size_t i = 0; i < n; i++)
			order[i] = first + i;
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(ks_rng_next(&rng) % i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < n; i++) {
			struct kb_bench *b = &r->b[order[i]];
			if (run_bench(r, b, 1, round + 1) < 0) {
				ret = -1;
				goto out;
			}
			running_add(&w[order[i]], b->r.times[b->r.n - 1]);
			elapsed = now() - t0;
			progress(r, w, first, n, round + (i + 1 == n), elapsed, b, &w[order[i]]);
		}
		round++;
	}
	for (size_t i = 0; i < n; i++) {
		r->b[first + i].r.stop = stop;
		r->b[first + i].r.seconds = elapsed;
	}
out:
	free(view);
	free(order);
	return ret;
}

static int measure_interleaved(struct kb_runner *r, struct running *w)
{
	const struct kb_run_config *cfg = r->cfg;
	for (size_t i = 0; i < r->nb; i++)
		if (run_helper(r, "--setup", r->b[i].setup) < 0)
			return -1;
	/* the check run (every command once, unmeasured) and warm-up, interleaved too */
	for (long k = 0; k < (cfg->warmup > 1 ? cfg->warmup : 1); k++)
		for (size_t i = 0; i < r->nb; i++)
			if (run_bench(r, &r->b[i], 0, k + 1) < 0)
				return -1;
	if (measure_group(r, w, 0, r->nb, cfg->max_time * (double)r->nb) < 0)
		return -1;
	for (size_t i = 0; i < r->nb; i++)
		if (run_helper(r, "--cleanup", r->b[i].cleanup) < 0)
			return -1;
	return 0;
}

static int measure_one_by_one(struct kb_runner *r, struct running *w)
{
	const struct kb_run_config *cfg = r->cfg;
	/* check every command before measuring any (setup and cleanup bracket the check run
	 * too, so that each command's runs keep hyperfine's setup/cleanup order) */
	for (size_t i = 0; i < r->nb; i++)
		if (run_helper(r, "--setup", r->b[i].setup) < 0 || run_bench(r, &r->b[i], 0, 1) < 0 ||
		    run_helper(r, "--cleanup", r->b[i].cleanup) < 0)
			return -1;
	for (size_t i = 0; i < r->nb; i++) {
		if (run_helper(r, "--setup", r->b[i].setup) < 0)
			return -1;
		for (long k = 1; k < cfg->warmup; k++)
			if (run_bench(r, &r->b[i], 0, k + 1) < 0)
				return -1;
		if (measure_group(r, w, i, 1, cfg->max_time) < 0)
			return -1;
		if (run_helper(r, "--cleanup", r->b[i].cleanup) < 0)
			return -1;
	}
	return 0;
}

int kb_runner_measure(struct kb_runner *r)
{
	struct running *w = xcalloc(r->nb ? r->nb : 1, sizeof(*w));
	int ret = r->cfg->interleave ? measure_interleaved(r, w) : measure_one_by_one(r, w);
	free(w);
	if (ret < 0)
		return -1;
	for (size_t i = 0; i < r->nb; i++) {
		struct kb_result *res = &r->b[i].r;
		for (size_t k = 0; k < res->ncounters; k++) {
			const struct kc_counter *kc = &r->b[i].cs.c[k];
			if (kc->state == KC_COUNTER_UNSUPPORTED) {
				res->counters[k].supported = 0;
				free(res->counters[k].reason);
				res->counters[k].reason = xstrdup(kc_counter_reason(kc));
			}
		}
		kb_result_finish(res);
	}
	return 0;
}
