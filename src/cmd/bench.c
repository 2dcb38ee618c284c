/* bench.c: kiln bench: argv -> options -> the bench library (src/lib/bench: plan, runner,
 * compare, text) -> output. hyperfine's options, interleaved runs, a run that stops as soon
 * as the comparison is settled or the precision met, baselines and a CI guard. */
#include "cmd.h"
#include "bench/compare.h"
#include "bench/plan.h"
#include "bench/runner.h"
#include "bench/text.h"
#include "collect/cmdrun.h"
#include "stats/benchfile.h"
#include "stats/units.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct opts {
	long warmup, min_runs, max_runs, runs;
	const char *setup, *cleanup;
	const char **prepare, **conclude, **names, **commands;
	size_t nprepare, nconclude, nnames, ncommands;
	const char *shell_arg;      /* -S value; "none" for no shell */
	int no_shell;
	const char *scan_var, *scan_min, *scan_max, *scan_step;
	struct kb_param *lists;     /* -L */
	size_t nlists;
	int ignore_failure, show_output, counters, no_interleave;
	const char *input, *export_json, *export_csv, *export_md;
	const char *save_baseline, *baseline, *reference;
	double fail_if_slower;      /* percent; < 0: not given */
	double timeout, max_time, precision, alpha;
	int have_max_time;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln bench [options] CMD...\n"
		"\n"
		"Benchmarks one or more commands (hyperfine's options and JSON), interleaving their\n"
		"runs in rounds. Stops as soon as every comparison is settled (an anytime-valid\n"
		"sequential test that keeps its error rate however often it looks), or the precision\n"
		"is met (--precision), or at --max-runs / --max-time, and says which.\n"
		"Compares every command with the reference (the fastest, or --reference): ratio of\n"
		"means with its CI and p-value, from one test. Commands are labelled #1, #2, ...\n"
		"\n"
		"hyperfine's options:\n"
		"  -w, --warmup N             N unmeasured runs of each command first (default 0;\n"
		"                             every command also runs once, unmeasured, as a check)\n"
		"  -m, --min-runs N           at least N runs of each command (default 10)\n"
		"  -M, --max-runs N           at most N runs of each command (default: no limit)\n"
		"  -r, --runs N               exactly N runs of each command\n"
		"  -s, --setup CMD            run CMD once before the runs of each command\n"
		"  -p, --prepare CMD          run CMD before every run (once, or once per command)\n"
		"  -C, --conclude CMD         run CMD after every run (once, or once per command)\n"
		"  -c, --cleanup CMD          run CMD once after the runs of each command\n"
		"  -S, --shell SHELL          shell for the commands (default sh; \"none\": no shell);\n"
		"                             its start-up time is measured and subtracted\n"
		"  -N                         same as --shell=none: run the commands directly\n"
		"  -P, --parameter-scan VAR MIN MAX   one benchmark per value MIN..MAX of {VAR}\n"
		"  -D, --parameter-step-size DELTA    step of -P (default 1; needed for decimals)\n"
		"  -L, --parameter-list VAR V1,V2,...  one benchmark per value of {VAR} (repeatable)\n"
		"  -i, --ignore-failure       measure commands that exit non-zero\n"
		"  -n, --command-name NAME    name a command (once per command, {VAR} allowed)\n"
		"      --reference CMD        compare the others with CMD (default: the fastest)\n"
		"      --show-output          show the commands' output (default: discarded)\n"
		"      --input FILE           the commands' standard input (default: /dev/null)\n"
		"      --export-json FILE     results with every run time (hyperfine's fields + kiln's)\n"
		"      --export-csv FILE      summary as CSV\n"
		"      --export-markdown FILE summary as a Markdown table\n"
		"\n"
		"kiln's options:\n"
		"      --max-time T           stop after T per command if not settled (default 3s)\n"
		"      --precision PCT        target half-width of the 95%% CI of the median, or of\n"
		"                             each comparison's ratio (default 1)\n"
		"      --alpha A              significance level of the comparisons (default 0.05)\n"
		"      --timeout T            kill a run after T (\"5s\", \"500ms\") and stop\n"
		"      --counters             also count cycles, instructions, cache and branch misses\n"
		"      --no-interleave        run each command's runs together (hyperfine's order)\n"
		"      --save-baseline FILE   save the results (the --export-json format)\n"
		"      --baseline FILE        compare with saved results (kiln's or hyperfine's JSON)\n"
		"      --fail-if-slower PCT   with --baseline: exit 1 if a command is slower than its\n"
		"                             baseline by more than PCT%% with significance\n"
		"  -h, --help                 show this help\n"
		"\n"
		"examples:\n"
		"  kiln bench 'sleep 0.02' 'sleep 0.04'\n"
		"  kiln bench -N -w 3 './old input' './new input'\n"
		"  kiln bench -N -n old -n new './old --with-a-long-list-of-options' './new ...'\n"
		"  kiln bench -P n 1 4 'xz -T{n} -k -c big.tar'\n"
		"  kiln bench --save-baseline base.json './prog data'\n"
		"  kiln bench --baseline base.json --fail-if-slower 5 './prog data'\n");
}

/* ---- option parsing (hyperfine's syntax: options and commands in any order) ---- */

enum {
	O_WARMUP = 1, O_MIN, O_MAX, O_RUNS, O_SETUP, O_PREPARE, O_CONCLUDE, O_CLEANUP, O_SHELL,
	O_NOSHELL, O_SCAN, O_STEP, O_LIST, O_IGNORE, O_NAME, O_REFERENCE, O_SHOW, O_INPUT,
	O_JSON, O_CSV, O_MD, O_MAXTIME, O_PRECISION, O_ALPHA, O_TIMEOUT, O_COUNTERS,
	O_NOINTERLEAVE, O_SAVE, O_BASELINE, O_FAIL, O_HELP,
};

static const struct optdef {
	const char *lng;
	char shrt;
	int nargs;
	int id;
} optdefs[] = {
	{ "warmup", 'w', 1, O_WARMUP },
	{ "min-runs", 'm', 1, O_MIN },
	{ "max-runs", 'M', 1, O_MAX },
	{ "runs", 'r', 1, O_RUNS },
	{ "setup", 's', 1, O_SETUP },
	{ "prepare", 'p', 1, O_PREPARE },
	{ "conclude", 'C', 1, O_CONCLUDE },
	{ "cleanup", 'c', 1, O_CLEANUP },
	{ "shell", 'S', 1, O_SHELL },
	{ NULL, 'N', 0, O_NOSHELL },
	{ "parameter-scan", 'P', 3, O_SCAN },
	{ "parameter-step-size", 'D', 1, O_STEP },
	{ "parameter-list", 'L', 2, O_LIST },
	{ "ignore-failure", 'i', 0, O_IGNORE },
	{ "command-name", 'n', 1, O_NAME },
	{ "reference", 0, 1, O_REFERENCE },
	{ "show-output", 0, 0, O_SHOW },
	{ "input", 0, 1, O_INPUT },
	{ "export-json", 0, 1, O_JSON },
	{ "export-csv", 0, 1, O_CSV },
	{ "export-markdown", 0, 1, O_MD },
	{ "max-time", 0, 1, O_MAXTIME },
	{ "precision", 0, 1, O_PRECISION },
	{ "alpha", 0, 1, O_ALPHA },
	{ "timeout", 0, 1, O_TIMEOUT },
	{ "counters", 0, 0, O_COUNTERS },
	{ "no-interleave", 0, 0, O_NOINTERLEAVE },
	{ "save-baseline", 0, 1, O_SAVE },
	{ "baseline", 0, 1, O_BASELINE },
	{ "fail-if-slower", 0, 1, O_FAIL },
	{ "help", 'h', 0, O_HELP },
};
#define NOPTDEFS (sizeof(optdefs) / sizeof(optdefs[0]))

static void push(const char ***arr, size_t *n, const char *v)
{
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = v;
}

static int parse_count(const char *opt, const char *v, long min, long *out)
{
	if (kiln_parse_long(v, min, 100000000, out) < 0)
		return usage_error("bench", "'%s' needs a whole number of at least %ld, not '%s'", opt, min, v);
	return 0;
}

static int parse_time_opt(const char *opt, const char *v, double *out)
{
	if (kiln_parse_duration(v, out) < 0 || *out <= 0)
		return usage_error("bench", "'%s' needs a duration such as 10s or 500ms, not '%s'", opt, v);
	return 0;
}

static int apply_option(struct opts *o, const struct optdef *d, const char *name, char **v)
{
	char err[256];
	switch (d->id) {
	case O_WARMUP:
		return parse_count(name, v[0], 0, &o->warmup);
	case O_MIN:
		return parse_count(name, v[0], 1, &o->min_runs);
	case O_MAX:
		return parse_count(name, v[0], 1, &o->max_runs);
	case O_RUNS:
		return parse_count(name, v[0], 1, &o->runs);
	case O_SETUP:
		o->setup = v[0];
		return 0;
	case O_CLEANUP:
		o->cleanup = v[0];
		return 0;
	case O_PREPARE:
		push(&o->prepare, &o->nprepare, v[0]);
		return 0;
	case O_CONCLUDE:
		push(&o->conclude, &o->nconclude, v[0]);
		return 0;
	case O_SHELL:
		o->shell_arg = v[0];
		o->no_shell = !strcmp(v[0], "none");
		return 0;
	case O_NOSHELL:
		o->no_shell = 1;
		o->shell_arg = "none";
		return 0;
	case O_SCAN:
		if (o->scan_var)
			return usage_error("bench", "'-P' can be given only once");
		o->scan_var = v[0];
		o->scan_min = v[1];
		o->scan_max = v[2];
		return 0;
	case O_STEP:
		o->scan_step = v[0];
		return 0;
	case O_LIST:
		o->lists = xreallocarray(o->lists, o->nlists + 1, sizeof(*o->lists));
		o->nlists++;
		if (kb_param_split(v[0], v[1], &o->lists[o->nlists - 1], err, sizeof(err)) < 0)
			return usage_error("bench", "%s", err);
		return 0;
	case O_IGNORE:
		o->ignore_failure = 1;
		return 0;
	case O_NAME:
		push(&o->names, &o->nnames, v[0]);
		return 0;
	case O_REFERENCE:
		o->reference = v[0];
		return 0;
	case O_SHOW:
		o->show_output = 1;
		return 0;
	case O_INPUT:
		o->input = v[0];
		return 0;
	case O_JSON:
		o->export_json = v[0];
		return 0;
	case O_CSV:
		o->export_csv = v[0];
		return 0;
	case O_MD:
		o->export_md = v[0];
		return 0;
	case O_MAXTIME:
		o->have_max_time = 1;
		return parse_time_opt(name, v[0], &o->max_time);
	case O_TIMEOUT:
		return parse_time_opt(name, v[0], &o->timeout);
	case O_PRECISION:
		if (kiln_parse_double(v[0], &o->precision) < 0 || o->precision <= 0 || o->precision >= 100)
			return usage_error("bench", "'--precision' needs a percentage between 0 and 100, not '%s'", v[0]);
		o->precision /= 100;
		return 0;
	case O_ALPHA:
		if (kiln_parse_double(v[0], &o->alpha) < 0 || o->alpha <= 0 || o->alpha >= 0.5)
			return usage_error("bench", "'--alpha' needs a level between 0 and 0.5 such as 0.05, not '%s'", v[0]);
		return 0;
	case O_COUNTERS:
		o->counters = 1;
		return 0;
	case O_NOINTERLEAVE:
		o->no_interleave = 1;
		return 0;
	case O_SAVE:
		o->save_baseline = v[0];
		return 0;
	case O_BASELINE:
		o->baseline = v[0];
		return 0;
	case O_FAIL:
		if (kiln_parse_double(v[0], &o->fail_if_slower) < 0 || o->fail_if_slower < 0)
			return usage_error("bench", "'--fail-if-slower' needs a percentage such as 5, not '%s'", v[0]);
		return 0;
	case O_HELP:
		usage(stdout);
		return -1;
	}
	return 0;
}

/* Returns 0, 2 (usage error, printed) or -1 (--help shown). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int i = 1;
	while (i < argc) {
		char *a = argv[i];
		const struct optdef *d = NULL;
		char *vals[3] = { NULL, NULL, NULL };
		char name[64];
		int rc;
		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				push(&o->commands, &o->ncommands, argv[i]);
			break;
		}
		if (a[0] != '-' || !a[1]) {
			push(&o->commands, &o->ncommands, a);
			i++;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			for (size_t k = 0; k < NOPTDEFS; k++)
				if (optdefs[k].lng && strlen(optdefs[k].lng) == len &&
				    !strncmp(optdefs[k].lng, a + 2, len))
					d = &optdefs[k];
			snprintf(name, sizeof(name), "--%.*s", (int)(len < 50 ? len : 50), a + 2);
			if (!d)
				return usage_error("bench", "unknown option '%s'", name);
			if (eq && d->nargs == 0)
				return usage_error("bench", "option '%s' takes no value", name);
			i++;
			int k = 0;
			if (eq)
				vals[k++] = (char *)eq + 1;
			for (; k < d->nargs; k++) {
				if (i >= argc)
					return usage_error("bench", "option '%s' needs %d value%s", name, d->nargs,
							   d->nargs > 1 ? "s" : "");
				vals[k] = argv[i++];
			}
			rc = apply_option(o, d, name, vals);
			if (rc)
				return rc;
			continue;
		}
		/* short options, possibly clustered: -iN, -r5 */
		i++;
		for (char *p = a + 1; *p; p++) {
			d = NULL;
			for (size_t k = 0; k < NOPTDEFS; k++)
				if (optdefs[k].shrt == *p)
					d = &optdefs[k];
			snprintf(name, sizeof(name), "-%c", *p);
			if (!d)
				return usage_error("bench", "unknown option '%s'", name);
			int k = 0;
			if (d->nargs && p[1]) {
				vals[k++] = p + 1;
			}
			for (; k < d->nargs; k++) {
				if (i >= argc)
					return usage_error("bench", "option '%s' needs %d value%s", name, d->nargs,
							   d->nargs > 1 ? "s" : "");
				vals[k] = argv[i++];
			}
			rc = apply_option(o, d, name, vals);
			if (rc)
				return rc;
			if (d->nargs)
				break;
		}
	}
	return 0;
}


static void free_opts(struct opts *o)
{
	free(o->prepare);
	free(o->conclude);
	free(o->names);
	free(o->commands);
	for (size_t i = 0; i < o->nlists; i++)
		kb_param_release(&o->lists[i]);
	free(o->lists);
}

static int check_options(struct opts *o)
{
	if (!o->ncommands)
		return usage_error("bench", "no command to benchmark; try 'kiln bench \"sleep 0.1\"'");
	if (o->runs && (o->min_runs || o->max_runs))
		return usage_error("bench", "'--runs' cannot be combined with '--min-runs' or '--max-runs'");
	if (o->min_runs && o->max_runs && o->min_runs > o->max_runs)
		return usage_error("bench", "'--min-runs' (%ld) is above '--max-runs' (%ld)", o->min_runs, o->max_runs);
	if (o->fail_if_slower >= 0 && !o->baseline)
		return usage_error("bench", "'--fail-if-slower' needs '--baseline FILE' to compare with");
	if (!o->min_runs)
		o->min_runs = o->max_runs && o->max_runs < 10 ? o->max_runs : 10;
	if (!o->have_max_time)
		o->max_time = 3;
	return 0;
}

/* ---- progress (standard error, a terminal only) ---- */

struct progress_state {
	int shown;
};

static void show_progress(void *arg, const struct kb_progress *p)
{
	struct progress_state *ps = arg;
	char mean[32], left[32];
	double frac = p->target_rounds > 0 ? fmin(1, (double)p->round / p->target_rounds) : 0;
	int width = 20, filled = (int)(frac * width);
	ks_fmt_duration(mean, sizeof(mean), p->last->n ? ks_mean(p->last->times, p->last->n) : 0);
	ks_fmt_duration(left, sizeof(left), p->remaining);
	fprintf(stderr, "\r\033[K  [");
	for (int i = 0; i < width; i++)
		fputs(i < filled ? "#" : "-", stderr);
	fprintf(stderr, "] run %ld  %.40s: %s ± %.1f%%  ~%s left", p->round, p->last->name, mean,
		isinf(p->halfwidth) ? 0.0 : 100 * p->halfwidth, left);
	fflush(stderr);
	ps->shown = 1;
}

static void clear_progress(struct progress_state *ps)
{
	if (ps->shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

/* ---- output ---- */

static void print_sb(struct strbuf *sb)
{
	fwrite(sb->buf, 1, sb->len, stdout);
	strbuf_reset(sb);
}

static void warn_result(const struct opts *o, const struct kb_result *r, int shell)
{
	size_t severe = ks_outliers_mad(r->times, r->n, 10, NULL);
	if (r->n >= 10 && r->outliers && (severe || (double)r->outliers > 0.05 * (double)r->n))
		kiln_warn("'%s': %zu of %zu runs are outliers (more than 3.5 scaled MADs from the median): "
			  "the machine was noisy; close other programs, use --warmup, or run again",
			  r->name, r->outliers, r->n);
	if (shell && r->s.mean < 0.005)
		kiln_warn("'%s' took less than 5 ms: the shell start-up subtracted from it is of the same "
			  "size; use -N (--shell=none) for exact figures", r->name);
	if ((r->stop == KB_STOP_MAX_TIME || r->stop == KB_STOP_MAX_RUNS) && kb_rel_halfwidth(r) > o->precision) {
		const char *by = r->stop == KB_STOP_MAX_RUNS ? "--max-runs" : "--max-time";
		if (isinf(kb_rel_halfwidth(r)))
			kiln_warn("'%s': %zu runs are too few to bound the 95%% CI of the median (it takes 6); "
				  "stopped by %s", r->name, r->n, by);
		else
			kiln_warn("'%s': the 95%% CI of the median is ± %.1f%% after %zu runs, wider than the "
				  "± %g%% target (stopped by %s)", r->name, 100 * kb_rel_halfwidth(r), r->n,
				  100 * o->precision, by);
	}
	for (size_t k = 0; k < r->n; k++)
		if (r->exit_codes[k]) {
			kiln_warn("'%s' exited non-zero in some runs (ignored with -i)", r->name);
			break;
		}
}

static int write_export(const char *path, const struct strbuf *sb)
{
	struct kiln_output out;
	if (kiln_output_open(&out, path) < 0)
		return -1;
	fwrite(sb->buf, 1, sb->len, out.fp);
	return kiln_output_commit(&out);
}

static int write_exports(const struct opts *o, const struct kb_settings *set, const struct kb_result *r,
			 size_t n, size_t ref, const struct kb_comparison *all, size_t nall)
{
	struct strbuf sb = STRBUF_INIT;
	int bad = 0;
	if (o->export_json || o->save_baseline) {
		kb_write_json(&sb, set, r, n, all, nall);
		if (o->export_json && write_export(o->export_json, &sb) < 0)
			bad = 1;
		if (o->save_baseline && write_export(o->save_baseline, &sb) < 0)
			bad = 1;
	}
	if (o->export_csv) {
		strbuf_reset(&sb);
		kb_write_csv(&sb, r, n);
		if (write_export(o->export_csv, &sb) < 0)
			bad = 1;
	}
	if (o->export_md) {
		strbuf_reset(&sb);
		kb_write_markdown(&sb, r, n, ref);
		if (write_export(o->export_md, &sb) < 0)
			bad = 1;
	}
	strbuf_release(&sb);
	return bad ? -1 : 0;
}

/* --fail-if-slower: 1 when some command is significantly slower than its baseline by more
 * than the limit (printed), else 0. */
static int guard(const struct opts *o, const struct kb_result *r, const struct kb_comparison *bcmp,
		 size_t nbcmp, const char *path)
{
	int ret = 0;
	for (size_t k = 0; k < nbcmp; k++) {
		const struct kb_comparison *x = &bcmp[k];
		const char *name = r[x->result].name;
		double pct = 100 * (x->ratio - 1);
		if (!x->valid)
			continue;
		if (x->verdict > 0 && pct > o->fail_if_slower) {
			char conf[32];
			if (x->p < 0.0001)
				snprintf(conf, sizeof(conf), "> 99.99%%");
			else
				snprintf(conf, sizeof(conf), "%.2f%%", 100 * (1 - x->p));
			kiln_error("'%s' is %.1f%% slower than its baseline in '%s' (ratio %.3f, %.0f%% CI "
				   "%.3f–%.3f; Welch's t-test p = %.2g: %s confidence); the limit is %g%%",
				   name, pct, path, x->ratio, 100 * (1 - x->alpha), x->ci.lo, x->ci.hi, x->p,
				   conf, o->fail_if_slower);
			ret = 1;
		} else if (x->verdict > 0) {
			kiln_note("'%s' is %.1f%% slower than its baseline, within the %g%% limit", name,
				  pct, o->fail_if_slower);
		} else if (pct > o->fail_if_slower) {
			kiln_note("'%s' measured %.1f%% slower than its baseline, but not significantly "
				  "(p = %.2g): not a failure", name, pct, x->p);
		}
	}
	return ret;
}

/* Every result has an entry in the baseline; else one error naming what it has. */
static int check_baseline(const struct kb_baseline *base, const struct kb_bench *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		if (!kb_baseline_find(base, b[i].r.name)) {
			struct strbuf names = STRBUF_INIT;
			for (size_t k = 0; k < base->n && k < 5; k++)
				strbuf_addf(&names, "%s'%s'", k ? ", " : "", base->e[k].name);
			if (base->n > 5)
				strbuf_addstr(&names, ", ...");
			kiln_error("baseline '%s' has no result for '%s' (it has %s); benchmark the same "
				   "commands, or name them alike with -n", base->path, b[i].r.name, names.buf);
			strbuf_release(&names);
			return -1;
		}
	return 0;
}

static int open_inputs(const struct opts *o, struct kb_run_config *cfg)
{
	struct stat st;
	cfg->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (cfg->devnull < 0)
		return kiln_error("cannot open '/dev/null': %s", strerror(errno));
	if (!o->input)
		return 0;
	cfg->input_fd = open(o->input, O_RDONLY | O_CLOEXEC);
	if (cfg->input_fd < 0)
		return kiln_error("cannot open input '%s': %s", o->input, errno == ENOENT ? "no such file" : strerror(errno));
	if (fstat(cfg->input_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return kiln_error("input '%s' is not a regular file (every run reads it from the start)", o->input);
	return 0;
}

static void config_from(const struct opts *o, char **shell_words, struct kb_run_config *cfg)
{
	cfg->warmup = o->warmup;
	cfg->min_runs = o->min_runs;
	cfg->max_runs = o->max_runs;
	cfg->runs = o->runs;
	cfg->max_time = o->max_time;
	cfg->precision = o->precision;
	cfg->alpha = o->alpha;
	cfg->timeout = o->timeout;
	cfg->interleave = !o->no_interleave;
	cfg->show_output = o->show_output;
	cfg->ignore_failure = o->ignore_failure;
	cfg->counters = o->counters;
	cfg->fixed_reference = o->reference != NULL;
	cfg->shell_words = shell_words;
	cfg->shell_name = o->shell_arg ? o->shell_arg : "sh";
	cfg->input_path = o->input;
}

int cmd_bench(int argc, char **argv)
{
	struct opts o;
	struct kb_run_config cfg;
	struct kb_runner run;
	struct kb_plan_spec spec;
	struct kb_bench *b = NULL;
	struct kb_result *res = NULL;
	struct kb_baseline base;
	struct kb_comparison *all = NULL;
	struct kb_settings set;
	struct progress_state ps = { 0 };
	struct strbuf out = STRBUF_INIT;
	char **shell_words = NULL, err[512];
	size_t nb = 0, ncmp = 0, nbcmp = 0, ref = 0;
	int ret = 1, rc;
	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	memset(&base, 0, sizeof(base));
	cfg.devnull = cfg.input_fd = -1;
	o.fail_if_slower = -1;
	o.precision = 0.01;
	o.alpha = 0.05;
	rc = parse_args(argc, argv, &o);
	if (rc < 0) {
		free_opts(&o);
		return 0;
	}
	if (rc || (rc = check_options(&o))) {
		free_opts(&o);
		return 2;
	}
	if (!o.no_shell) {
		const char *sh = !o.shell_arg || !strcmp(o.shell_arg, "default") ? "sh" : o.shell_arg;
		shell_words = kc_split_words(sh);
		if (!shell_words) {
			ret = 2;
			goto out;
		}
	}
	memset(&spec, 0, sizeof(spec));
	spec.commands = o.commands;
	spec.ncommands = o.ncommands;
	spec.names = o.names;
	spec.nnames = o.nnames;
	spec.prepare = o.prepare;
	spec.nprepare = o.nprepare;
	spec.conclude = o.conclude;
	spec.nconclude = o.nconclude;
	spec.setup = o.setup;
	spec.cleanup = o.cleanup;
	spec.reference = o.reference;
	spec.scan_var = o.scan_var;
	spec.scan_min = o.scan_min;
	spec.scan_max = o.scan_max;
	spec.scan_step = o.scan_step;
	spec.lists = o.lists;
	spec.nlists = o.nlists;
	spec.shell_words = shell_words;
	if (kb_plan_build(&spec, &b, &nb, err, sizeof(err)) < 0) {
		if (err[0])
			usage_error("bench", "%s", err);
		ret = 2;
		goto out;
	}
	/* everything that can fail without running anything, first */
	if (kiln_output_check(o.export_json) || kiln_output_check(o.save_baseline) ||
	    kiln_output_check(o.export_csv) || kiln_output_check(o.export_md))
		goto out;
	if (o.baseline && (kb_baseline_load(o.baseline, &base) < 0 || check_baseline(&base, b, nb) < 0))
		goto out;
	config_from(&o, shell_words, &cfg);
	if (open_inputs(&o, &cfg) < 0)
		goto out;
	if (progress_allowed() && !o.show_output) {
		cfg.progress = show_progress;
		cfg.progress_arg = &ps;
	}
	kb_runner_init(&run, &cfg, b, nb);
	if (shell_words && kb_runner_calibrate_shell(&run) < 0)
		goto out;
	rc = kb_runner_measure(&run);
	clear_progress(&ps);
	if (rc < 0)
		goto out;

	/* results side by side, then the comparisons */
	res = xcalloc(nb, sizeof(*res));
	for (size_t i = 0; i < nb; i++)
		res[i] = b[i].r;    /* a shallow view: b keeps ownership */
	all = xcalloc(2 * nb + 1, sizeof(*all));
	ref = kb_reference_index(res, nb, o.reference != NULL);
	ncmp = kb_compare_all(res, nb, ref, o.reference != NULL, cfg.interleave, o.alpha, all);
	if (o.baseline)
		for (size_t i = 0; i < nb; i++) {
			struct kb_comparison *x = &all[ncmp + nbcmp++];
			kb_compare_baseline(&res[i], kb_baseline_find(&base, res[i].name), base.path, o.alpha, x);
			x->result = i;
		}

	for (size_t i = 0; i < nb; i++) {
		kb_text_result(&out, &res[i], i);
		print_sb(&out);
		warn_result(&o, &res[i], shell_words != NULL);
	}
	kb_text_comparisons(&out, res, nb, all, ncmp, ref, o.reference != NULL, NULL);
	kb_text_comparisons(&out, res, nb, all + ncmp, nbcmp, 0, 0, &base);
	kb_text_ending(&out, &cfg, res, nb, all, ncmp);
	print_sb(&out);
	fflush(stdout);

	memset(&set, 0, sizeof(set));
	set.shell = shell_words ? (o.shell_arg && strcmp(o.shell_arg, "default") ? o.shell_arg : "sh") : NULL;
	set.shell_spawn = run.shell_wall;
	set.alpha = o.alpha;
	set.precision = o.precision;
	set.interleaved = cfg.interleave;
	set.warmup = o.warmup;
	set.seed = run.seed;
	if (write_exports(&o, &set, res, nb, ref, all, ncmp + nbcmp) < 0)
		goto out;
	ret = o.fail_if_slower >= 0 ? guard(&o, res, all + ncmp, nbcmp, base.path) : 0;
out:
	if (cfg.devnull >= 0)
		close(cfg.devnull);
	if (cfg.input_fd >= 0)
		close(cfg.input_fd);
	strbuf_release(&out);
	free(res);
	free(all);
	kb_benches_free(b, nb);
	kc_argv_free(shell_words);
	kb_baseline_release(&base);
	free_opts(&o);
	return ret;
}
