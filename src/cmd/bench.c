/* bench.c: kiln bench: benchmark commands with hyperfine's options, interleaved runs,
 * an adaptive run count (95% CI of the mean within 1%), outlier warnings, a comparison
 * table (ratio, its CI, Mann-Whitney p), baselines and a CI guard (--fail-if-slower). */
#include "cmd.h"
#include "collect/cmdrun.h"
#include "collect/evcount.h"
#include "stats/benchfile.h"
#include "stats/stats.h"
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
#include <time.h>
#include <unistd.h>

#define SHELL_CALIBRATION_RUNS 50
#define MAX_PARAM_VALUES 100000

struct param {
	char *name;
	char **values;
	size_t n;
};

struct opts {
	long warmup, min_runs, max_runs, runs;
	const char *setup, *cleanup;
	const char **prepare, **conclude, **names, **commands;
	size_t nprepare, nconclude, nnames, ncommands;
	const char *shell_arg;      /* -S value; "none" for no shell */
	int no_shell;
	const char *scan_var, *scan_min, *scan_max, *scan_step;
	struct param *lists;        /* -L */
	size_t nlists;
	int ignore_failure, show_output, counters, no_interleave;
	const char *input, *export_json, *export_csv, *export_md;
	const char *save_baseline, *baseline, *reference;
	double fail_if_slower;      /* percent; < 0: not given */
	double timeout, max_time, precision, alpha;
	int have_max_time;
};

struct bench {
	struct kb_result r;
	char **argv;                /* what runs */
	char *prepare, *conclude;   /* substituted helper commands, or NULL */
	char *setup, *cleanup;
	struct kc_counters cs;
};

struct ctx {
	struct opts *o;
	char **shell_words;         /* NULL: no shell */
	struct bench *b;
	size_t nb;
	int devnull, input_fd;
	double shell_wall, shell_user, shell_sys;
	double *shell_counters;     /* per counter index (same set for every bench) */
	int progress;
	double t_start;
};

static const char *const counter_events[] = {
	"cycles", "instructions", "cache-references", "cache-misses", "branches", "branch-misses",
};
#define NCOUNTER_EVENTS (sizeof(counter_events) / sizeof(counter_events[0]))

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln bench [options] CMD...\n"
		"\n"
		"Benchmarks one or more commands (hyperfine's options and JSON), interleaving their\n"
		"runs, and by default adding runs until the 95%% confidence interval of each mean is\n"
		"within 1%% (or --max-time). Compares every command with the reference (the fastest,\n"
		"or --reference): ratio of means with its 95%% CI and a Mann-Whitney U test.\n"
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
		"      --max-time T           stop adding runs after T per command (default 10s)\n"
		"      --precision PCT        target half-width of the 95%% CI of the mean (default 1)\n"
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

/* Splits "a,b,c" into values; "" or an empty item is an error. */
static int split_list(const char *var, const char *list, struct param *p)
{
	const char *s = list;
	p->name = xstrdup(var);
	p->values = NULL;
	p->n = 0;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (!len)
			return usage_error("bench", "'-L %s' has an empty value in '%s'", var, list);
		p->values = xreallocarray(p->values, p->n + 1, sizeof(char *));
		p->values[p->n++] = xstrndup(s, len);
		if (!comma)
			break;
		s = comma + 1;
	}
	return 0;
}

static int apply_option(struct opts *o, const struct optdef *d, const char *name, char **v)
{
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
		memset(&o->lists[o->nlists], 0, sizeof(*o->lists));
		o->nlists++;
		return split_list(v[0], v[1], &o->lists[o->nlists - 1]) ? 2 : 0;
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

/* ---- parameters ---- */

static int decimals_of(const char *s)
{
	const char *dot = strchr(s, '.');
	int n = 0;
	if (!dot)
		return 0;
	for (dot++; *dot >= '0' && *dot <= '9'; dot++)
		n++;
	return n;
}

static int build_scan(const struct opts *o, struct param *p)
{
	double lo, hi, step = 1;
	long l;
	int dec;
	size_t count;
	memset(p, 0, sizeof(*p));
	if (kiln_parse_double(o->scan_min, &lo) < 0)
		return usage_error("bench", "'-P %s': the minimum '%s' is not a number", o->scan_var, o->scan_min);
	if (kiln_parse_double(o->scan_max, &hi) < 0)
		return usage_error("bench", "'-P %s': the maximum '%s' is not a number", o->scan_var, o->scan_max);
	if (o->scan_step) {
		if (kiln_parse_double(o->scan_step, &step) < 0 || step <= 0)
			return usage_error("bench", "'-D' needs a positive step, not '%s'", o->scan_step);
	} else if (kiln_parse_long(o->scan_min, -1000000000L, 1000000000L, &l) < 0 ||
		   kiln_parse_long(o->scan_max, -1000000000L, 1000000000L, &l) < 0) {
		return usage_error("bench", "'-P %s %s %s': decimal bounds need a step: add '-D DELTA'",
				   o->scan_var, o->scan_min, o->scan_max);
	}
	if (lo > hi)
		return usage_error("bench", "'-P %s %s %s' is an empty range: the minimum is above the maximum",
				   o->scan_var, o->scan_min, o->scan_max);
	if ((hi - lo) / step + 1 > MAX_PARAM_VALUES)
		return usage_error("bench", "'-P %s %s %s' gives more than %d values; use a larger step (-D)",
				   o->scan_var, o->scan_min, o->scan_max, MAX_PARAM_VALUES);
	count = (size_t)floor((hi - lo) / step + 1e-9) + 1;
	dec = decimals_of(o->scan_min);
	if (o->scan_step && decimals_of(o->scan_step) > dec)
		dec = decimals_of(o->scan_step);
	if (decimals_of(o->scan_max) > dec)
		dec = decimals_of(o->scan_max);
	p->name = xstrdup(o->scan_var);
	p->values = xcalloc(count, sizeof(char *));
	for (size_t i = 0; i < count; i++) {
		double v = lo + (double)i * step;
		if (dec == 0 && fabs(v) < 0.5)
			v = 0; /* no "-0" */
		p->values[i] = xasprintf("%.*f", dec, v);
	}
	p->n = count;
	return 0;
}

static char *substitute(const char *tmpl, const struct param *ps, size_t np, const size_t *idx)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = tmpl;
	while (*s) {
		int done = 0;
		if (*s == '{') {
			for (size_t k = 0; k < np; k++) {
				size_t len = strlen(ps[k].name);
				if (!strncmp(s + 1, ps[k].name, len) && s[1 + len] == '}') {
					strbuf_addstr(&sb, ps[k].values[idx[k]]);
					s += len + 2;
					done = 1;
					break;
				}
			}
		}
		if (!done)
			strbuf_addch(&sb, *s++);
	}
	return strbuf_detach(&sb, NULL);
}

/* ---- running helpers ---- */

static char **command_argv(struct ctx *c, const char *line)
{
	char **argv;
	size_t n = 0;
	if (!c->shell_words)
		return kc_split_words(line);
	while (c->shell_words[n])
		n++;
	argv = xcalloc(n + 3, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		argv[i] = xstrdup(c->shell_words[i]);
	argv[n] = xstrdup("-c");
	argv[n + 1] = xstrdup(line);
	return argv;
}

static int run_helper(struct ctx *c, const char *what, const char *line)
{
	struct kc_run_opts ro;
	struct kc_run_result res;
	char **argv;
	int rc;
	if (!line)
		return 0;
	argv = command_argv(c, line);
	if (!argv)
		return -1;
	ro.argv = argv;
	ro.stdin_fd = c->devnull;
	ro.stdout_fd = c->o->show_output ? -1 : c->devnull;
	ro.stderr_fd = c->o->show_output ? -1 : c->devnull;
	ro.timeout = c->o->timeout;
	ro.counters = NULL;
	ro.sched = 0;
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

/* One run of bench b. measured: add it to the results. Returns 0 or -1 (printed). */
static int run_bench(struct ctx *c, struct bench *b, int measured, long run_no)
{
	struct kc_run_opts ro;
	struct kc_run_result res;
	double cv[NCOUNTER_EVENTS];
	int code;
	if (run_helper(c, "--prepare", b->prepare) < 0)
		return -1;
	if (c->input_fd >= 0 && lseek(c->input_fd, 0, SEEK_SET) < 0)
		return kiln_error("cannot rewind input '%s': %s", c->o->input, strerror(errno));
	ro.argv = b->argv;
	ro.stdin_fd = c->input_fd >= 0 ? c->input_fd : c->devnull;
	ro.stdout_fd = c->o->show_output ? -1 : c->devnull;
	ro.stderr_fd = c->o->show_output ? -1 : c->devnull;
	ro.timeout = c->o->timeout;
	ro.counters = c->o->counters ? &b->cs : NULL;
	ro.sched = 0;
	if (kc_run(&ro, &res) < 0)
		return -1;
	if (res.timed_out) {
		char t[32];
		ks_fmt_duration(t, sizeof(t), c->o->timeout);
		return kiln_error("'%s' did not finish within %s (%s run %ld); it was killed; "
				  "raise --timeout or shorten the command", b->r.name, t,
				  measured ? "measured" : "check/warm-up", run_no);
	}
	code = kc_exit_code(res.status);
	if (code != 0 && !c->o->ignore_failure) {
		const char *hint = code == 127 ? " (command not found?)" : "";
		return kiln_error("'%s' failed with exit code %d%s%s; fix it or use -i/--ignore-failure to "
				  "benchmark it anyway", b->r.name, code, hint,
				  measured ? "" : " before any measurement");
	}
	if (run_helper(c, "--conclude", b->conclude) < 0)
		return -1;
	if (!measured)
		return 0;
	for (size_t i = 0; i < b->r.ncounters; i++) {
		const struct kc_counter *k = &b->cs.c[i];
		cv[i] = k->state == KC_COUNTER_COUNTED ? fmax(0, k->value - c->shell_counters[i]) : NAN;
		if (k->scaled)
			b->r.counters[i].scaled = 1;
	}
	kb_result_add(&b->r, fmax(0, res.wall - c->shell_wall), fmax(0, res.user - c->shell_user),
		      fmax(0, res.sys - c->shell_sys), (double)res.max_rss_kb * 1024, code,
		      b->r.ncounters ? cv : NULL);
	b->r.rss_upper_bound |= res.rss_upper_bound;
	return 0;
}

/* Measures the shell's own start-up (SHELL -c ""), as hyperfine does, to subtract it. */
static int calibrate_shell(struct ctx *c)
{
	struct kc_counters cs;
	struct kc_run_opts ro;
	char **argv = command_argv(c, "");
	double w = 0, u = 0, s = 0;
	int n = 0, ret = 0;
	size_t ncs = 0;
	const struct kc_event_def *defs[NCOUNTER_EVENTS];
	if (c->o->counters) {
		for (size_t i = 0; i < NCOUNTER_EVENTS; i++)
			defs[i] = kc_event_lookup(counter_events[i]);
		ncs = NCOUNTER_EVENTS;
	}
	kc_counters_init(&cs, defs, ncs);
	ro.argv = argv;
	ro.stdin_fd = ro.stdout_fd = ro.stderr_fd = c->devnull;
	ro.timeout = c->o->timeout;
	ro.counters = ncs ? &cs : NULL;
	ro.sched = 0;
	for (int i = 0; i < 5 + SHELL_CALIBRATION_RUNS; i++) {
		struct kc_run_result res;
		if (kc_run(&ro, &res) < 0) {
			kiln_error("cannot start the shell '%s'; choose another with -S or use -N", c->o->shell_arg ? c->o->shell_arg : "sh");
			ret = -1;
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
				c->shell_counters[k] += cs.c[k].value;
		n++;
	}
	if (n) {
		c->shell_wall = w / n;
		c->shell_user = u / n;
		c->shell_sys = s / n;
		for (size_t k = 0; k < ncs; k++)
			c->shell_counters[k] /= n;
	}
	kc_counters_release(&cs);
	kc_argv_free(argv);
	return ret;
}

/* ---- progress ---- */

static double rel_halfwidth(const struct kb_result *r)
{
	double m, s, t;
	if (r->n < 2)
		return INFINITY;
	m = ks_mean(r->times, r->n);
	s = ks_stddev(r->times, r->n);
	if (m <= 0)
		return 0;
	t = ks_t_quantile(0.975, (double)(r->n - 1));
	return t * s / sqrt((double)r->n) / m;
}

/* Estimated runs each command needs for the target precision (at least n). */
static double runs_needed(const struct kb_result *r, double precision)
{
	double m, s;
	if (r->n < 2)
		return r->n + 10;
	m = ks_mean(r->times, r->n);
	s = ks_stddev(r->times, r->n);
	if (m <= 0)
		return (double)r->n;
	return fmax((double)r->n, pow(1.96 * s / (precision * m), 2));
}

static void show_progress(struct ctx *c, long round, double target_rounds, const struct bench *b)
{
	char mean[32], left[32];
	double elapsed = now() - c->t_start, per_round, remain;
	double frac = target_rounds > 0 ? fmin(1, (double)round / target_rounds) : 0;
	int width = 20, filled = (int)(frac * width);
	per_round = round > 0 ? elapsed / (double)round : 0;
	remain = fmax(0, target_rounds - (double)round) * per_round;
	if (c->o->have_max_time || !c->o->runs)
		remain = fmin(remain, fmax(0, c->o->max_time - elapsed));
	ks_fmt_duration(mean, sizeof(mean), b->r.n ? ks_mean(b->r.times, b->r.n) : 0);
	ks_fmt_duration(left, sizeof(left), remain);
	fprintf(stderr, "\r\033[K  [");
	for (int i = 0; i < width; i++)
		fputs(i < filled ? "#" : "-", stderr);
	fprintf(stderr, "] run %ld  %.40s: %s ± %.1f%%  ~%s left", round, b->r.name, mean,
		isinf(rel_halfwidth(&b->r)) ? 0.0 : 100 * rel_halfwidth(&b->r), left);
	fflush(stderr);
}

static void clear_progress(struct ctx *c)
{
	if (c->progress) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

/* ---- measuring ---- */

static int measure_group(struct ctx *c, size_t *idx, size_t n, double budget)
{
	struct opts *o = c->o;
	struct ks_rng rng;
	size_t *order = xcalloc(n, sizeof(size_t));
	double t0 = now();
	long round = 0;
	int ret = 0;
	ks_rng_seed(&rng, 0x6b696c6eULL); /* "kiln": a fixed seed, reproducible orders */
	for (;;) {
		int converged = 1;
		double target = 0;
		if (o->runs) {
			if (round >= o->runs)
				break;
		} else if (round >= o->min_runs) {
			for (size_t i = 0; i < n; i++)
				if (rel_halfwidth(&c->b[idx[i]].r) > o->precision)
					converged = 0;
			if (converged || (o->max_runs && round >= o->max_runs) || now() - t0 >= budget)
				break;
		}
		/* this round's order: a shuffle, so no command is always first after another */
		for (size_t i = 0; i < n; i++)
			order[i] = idx[i];
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(ks_rng_next(&rng) % i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < n; i++) {
			struct bench *b = &c->b[order[i]];
			if (run_bench(c, b, 1, round + 1) < 0) {
				ret = -1;
				goto out;
			}
			if (c->progress) {
				if (o->runs) {
					target = (double)o->runs;
				} else {
					target = (double)o->min_runs;
					for (size_t k = 0; k < n; k++)
						target = fmax(target, runs_needed(&c->b[idx[k]].r, o->precision));
					if (o->max_runs)
						target = fmin(target, (double)o->max_runs);
				}
				show_progress(c, round + (i + 1 == n), target, b);
			}
		}
		round++;
	}
out:
	free(order);
	return ret;
}

static int measure_all(struct ctx *c)
{
	struct opts *o = c->o;
	size_t *idx = xcalloc(c->nb, sizeof(size_t));
	int ret = -1;
	c->t_start = now();
	if (!o->no_interleave) {
		for (size_t i = 0; i < c->nb; i++)
			if (run_helper(c, "--setup", c->b[i].setup) < 0)
				goto out;
		/* the check run (every command once, unmeasured) and warm-up, interleaved too */
		for (long w = 0; w < (o->warmup > 1 ? o->warmup : 1); w++)
			for (size_t i = 0; i < c->nb; i++)
				if (run_bench(c, &c->b[i], 0, w + 1) < 0)
					goto out;
		for (size_t i = 0; i < c->nb; i++)
			idx[i] = i;
		if (measure_group(c, idx, c->nb, o->max_time * (double)c->nb) < 0)
			goto out;
		clear_progress(c);
		for (size_t i = 0; i < c->nb; i++)
			if (run_helper(c, "--cleanup", c->b[i].cleanup) < 0)
				goto out;
	} else {
		/* check every command before measuring any (setup and cleanup bracket the check
		 * run too, so that each command's runs keep hyperfine's setup/cleanup order) */
		for (size_t i = 0; i < c->nb; i++)
			if (run_helper(c, "--setup", c->b[i].setup) < 0 || run_bench(c, &c->b[i], 0, 1) < 0 ||
			    run_helper(c, "--cleanup", c->b[i].cleanup) < 0)
				goto out;
		for (size_t i = 0; i < c->nb; i++) {
			if (run_helper(c, "--setup", c->b[i].setup) < 0)
				goto out;
			for (long w = 1; w < o->warmup; w++)
				if (run_bench(c, &c->b[i], 0, w + 1) < 0)
					goto out;
			idx[0] = i;
			if (measure_group(c, idx, 1, o->max_time) < 0)
				goto out;
			clear_progress(c);
			if (run_helper(c, "--cleanup", c->b[i].cleanup) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	clear_progress(c);
	free(idx);
	return ret;
}

/* ---- output ---- */

static void fmt_p(char *buf, size_t n, double p)
{
	if (p < 0.0001)
		snprintf(buf, n, "< 0.0001");
	else
		snprintf(buf, n, "%.4f", p);
}

static void print_result(struct ctx *c, size_t i)
{
	const struct kb_result *r = &c->b[i].r;
	char a[32], b[32], d[32], e[32], f[32];
	printf("Benchmark %zu: %s\n", i + 1, r->name);
	ks_fmt_duration(a, sizeof(a), r->s.mean);
	ks_fmt_duration_as(b, sizeof(b), r->s.stddev, r->s.mean);
	ks_fmt_duration(d, sizeof(d), r->mean_user);
	ks_fmt_duration(e, sizeof(e), r->mean_sys);
	printf("  Time (mean ± σ):     %10s ± %9s    [User: %s, System: %s]\n", a, b, d, e);
	ks_fmt_duration_as(a, sizeof(a), r->s.min, r->s.mean);
	ks_fmt_duration_as(b, sizeof(b), r->s.max, r->s.mean);
	printf("  Range (min … max):   %10s … %9s    %zu runs", a, b, r->n);
	if (r->outliers)
		printf(", %zu outlier%s", r->outliers, r->outliers > 1 ? "s" : "");
	printf("\n");
	ks_fmt_duration_as(a, sizeof(a), r->s.median, r->s.mean);
	ks_fmt_duration_as(b, sizeof(b), r->s.p95, r->s.mean);
	ks_fmt_duration_as(d, sizeof(d), r->s.p99, r->s.mean);
	printf("  Median, p95, p99:    %10s, %s, %s\n", a, b, d);
	if (r->ci.bounded) {
		ks_fmt_duration_as(a, sizeof(a), r->ci.lo, r->s.mean);
		ks_fmt_duration_as(b, sizeof(b), r->ci.hi, r->s.mean);
		printf("  95%% CI of the mean:  %10s … %9s    (± %.2f%%)\n", a, b,
		       r->s.mean > 0 ? 100 * (r->ci.hi - r->s.mean) / r->s.mean : 0.0);
	}
	ks_fmt_bytes(f, sizeof(f), r->max_rss);
	if (r->rss_upper_bound)
		printf("  Peak RSS:          ≤ %8s    (no larger than kiln itself: not measurable exactly)\n", f);
	else
		printf("  Peak RSS:            %10s\n", f);
	for (size_t k = 0; k < r->ncounters; k++) {
		const struct kb_counter_series *s = &r->counters[k];
		size_t cnt = 0;
		double sum = 0;
		if (!s->supported) {
			printf("  %-20s %10s\n", s->name, "not supported");
			continue;
		}
		for (size_t j = 0; j < r->n; j++)
			if (!isnan(s->v[j]))
				cnt++, sum += s->v[j];
		if (!cnt) {
			printf("  %-20s %10s\n", s->name, "not counted");
			continue;
		}
		ks_fmt_count(a, sizeof(a), sum / (double)cnt);
		printf("  %-20s %10s%s\n", s->name, a, s->scaled ? "   (scaled: multiplexed)" : "");
	}
	printf(" \n");
}

static void warn_result(struct ctx *c, size_t i)
{
	const struct kb_result *r = &c->b[i].r;
	size_t severe = ks_outliers_mad(r->times, r->n, 10, NULL);
	if (r->n >= 10 && r->outliers && (severe || (double)r->outliers > 0.05 * (double)r->n))
		kiln_warn("'%s': %zu of %zu runs are outliers (more than 3.5 scaled MADs from the median): "
			  "the machine was noisy; close other programs, use --warmup, or run again",
			  r->name, r->outliers, r->n);
	if (c->shell_words && r->s.mean < 0.005)
		kiln_warn("'%s' took less than 5 ms: the shell start-up subtracted from it is of the same "
			  "size; use -N (--shell=none) for exact figures", r->name);
	if (!c->o->runs && r->n >= 2 && rel_halfwidth(r) > c->o->precision)
		kiln_warn("'%s': the 95%% CI of the mean is ± %.1f%% after %zu runs, wider than the ± %g%% "
			  "target (stopped by %s)", r->name, 100 * rel_halfwidth(r), r->n,
			  100 * c->o->precision, c->o->max_runs && (long)r->n >= c->o->max_runs ? "--max-runs" : "--max-time");
	for (size_t k = 0; k < r->n; k++)
		if (r->exit_codes[k]) {
			kiln_warn("'%s' exited non-zero in some runs (ignored with -i)", r->name);
			break;
		}
}

static const char *verdict_text(const struct kb_comparison *cmp)
{
	if (!cmp->valid)
		return "cannot tell";
	return cmp->c.verdict > 0 ? "slower" : cmp->c.verdict < 0 ? "faster" : "no significant difference";
}

static void print_comparisons(struct ctx *c, const struct kb_comparison *cmp, size_t n, size_t ref,
			      const char *title, const struct kb_baseline *base)
{
	size_t w = 7;
	char a[32], b[32], p[32], ci[64];
	for (size_t i = 0; i < c->nb; i++)
		if (strlen(c->b[i].r.name) > w)
			w = strlen(c->b[i].r.name);
	if (w > 40)
		w = 40;
	printf("%s\n", title);
	if (base)
		printf("  %-*s  %10s  %10s  %6s  %-15s  %-9s  %s\n", (int)w, "Command", "Baseline", "Now",
		       "Ratio", "95% CI", "p (MWU)", "Verdict");
	else
		printf("  %-*s  %10s  %6s  %-15s  %-9s  %s\n", (int)w, "Command", "Mean", "Ratio", "95% CI",
		       "p (MWU)", "Verdict");
	if (!base) {
		ks_fmt_duration(a, sizeof(a), c->b[ref].r.s.mean);
		printf("  %-*.*s  %10s  %6s  %s\n", (int)w, (int)w, c->b[ref].r.name, a, "1.000", "reference");
	}
	for (size_t k = 0; k < n; k++) {
		const struct kb_comparison *x = &cmp[k];
		const struct kb_result *r = &c->b[x->result].r;
		ks_fmt_duration(a, sizeof(a), r->s.mean);
		if (x->valid && x->c.ci.bounded)
			snprintf(ci, sizeof(ci), "%.3f … %.3f", x->c.ci.lo, x->c.ci.hi);
		else
			snprintf(ci, sizeof(ci), "unbounded");
		fmt_p(p, sizeof(p), x->valid ? x->c.mw.p : 1);
		if (base) {
			const struct kb_baseline_entry *e = kb_baseline_find(base, r->name);
			ks_fmt_duration(b, sizeof(b), e ? e->mean : 0);
			printf("  %-*.*s  %10s  %10s  %6.3f  %-15s  %-9s  %s\n", (int)w, (int)w, r->name, b, a,
			       x->valid ? x->c.ratio : NAN, ci, p, verdict_text(x));
		} else {
			printf("  %-*.*s  %10s  %6.3f  %-15s  %-9s  %s\n", (int)w, (int)w, r->name, a,
			       x->valid ? x->c.ratio : NAN, ci, p, verdict_text(x));
		}
	}
	/* the sentence a reader takes away */
	for (size_t k = 0; k < n; k++) {
		const struct kb_comparison *x = &cmp[k];
		const struct kb_result *r = &c->b[x->result].r;
		if (!x->valid)
			continue;
		fmt_p(p, sizeof(p), x->c.mw.p);
		if (x->c.ci.bounded)
			snprintf(ci, sizeof(ci), "95%% CI %.3f–%.3f", x->c.ci.lo, x->c.ci.hi);
		else
			snprintf(ci, sizeof(ci), "CI unbounded");
		if (x->c.verdict > 0)
			printf("  '%s' is %.2f× slower than %s'%s' (%s, p %s%s)\n", r->name, x->c.ratio,
			       base ? "its baseline " : "", base ? base->path : x->reference, ci,
			       x->c.mw.p < 0.0001 ? "" : "= ", p);
		else if (x->c.verdict < 0)
			printf("  '%s' is %.2f× faster than %s'%s' (%s, p %s%s)\n", r->name, 1 / x->c.ratio,
			       base ? "its baseline " : "", base ? base->path : x->reference, ci,
			       x->c.mw.p < 0.0001 ? "" : "= ", p);
		else
			printf("  '%s' vs %s'%s': no significant difference (ratio %.3f, %s, p %s%s)\n", r->name,
			       base ? "its baseline " : "", base ? base->path : x->reference, x->c.ratio, ci,
			       x->c.mw.p < 0.0001 ? "" : "= ", p);
	}
	printf(" \n");
}

static int write_export(const char *path, const struct strbuf *sb)
{
	struct kiln_output out;
	if (kiln_output_open(&out, path) < 0)
		return -1;
	fwrite(sb->buf, 1, sb->len, out.fp);
	return kiln_output_commit(&out);
}

/* ---- setup of the benchmark list ---- */

static int build_benches(struct ctx *c)
{
	struct opts *o = c->o;
	struct param *ps = NULL;
	size_t np = 0, combos = 1, ntemplates = o->ncommands;
	int ret = 2;
	if (o->scan_step && !o->scan_var)
		return usage_error("bench", "'-D' needs '-P' (a parameter scan)");
	if (o->scan_var && o->nlists)
		return usage_error("bench", "'-P' and '-L' cannot be combined");
	if (o->scan_var) {
		ps = xcalloc(1, sizeof(*ps));
		np = 1;
		if (build_scan(o, ps))
			goto out;
	} else if (o->nlists) {
		ps = o->lists;
		np = o->nlists;
	}
	for (size_t k = 0; k < np; k++) {
		for (size_t j = 0; j < k; j++)
			if (!strcmp(ps[j].name, ps[k].name)) {
				usage_error("bench", "parameter '%s' is given twice", ps[k].name);
				goto out;
			}
		if (combos * ps[k].n > MAX_PARAM_VALUES) {
			usage_error("bench", "the parameters give more than %d combinations", MAX_PARAM_VALUES);
			goto out;
		}
		combos *= ps[k].n;
	}
	if (o->nnames > ntemplates) {
		usage_error("bench", "%zu command names for %zu commands", o->nnames, ntemplates);
		goto out;
	}
	if (o->nprepare > 1 && o->nprepare != ntemplates) {
		usage_error("bench", "'--prepare' given %zu times for %zu commands: give it once, or once per command",
			    o->nprepare, ntemplates);
		goto out;
	}
	if (o->nconclude > 1 && o->nconclude != ntemplates) {
		usage_error("bench", "'--conclude' given %zu times for %zu commands: give it once, or once per command",
			    o->nconclude, ntemplates);
		goto out;
	}
	for (size_t k = 0; k < np; k++) {
		char *tok = xasprintf("{%s}", ps[k].name);
		int used = 0;
		for (size_t t = 0; t < ntemplates; t++)
			used |= strstr(o->commands[t], tok) != NULL;
		if (!used)
			kiln_warn("parameter '%s' does not appear as '%s' in any command", ps[k].name, tok);
		free(tok);
	}
	c->nb = (o->reference ? 1 : 0) + ntemplates * combos;
	c->b = xcalloc(c->nb, sizeof(*c->b));
	size_t bi = 0;
	size_t *idx = xcalloc(np ? np : 1, sizeof(size_t));
	for (size_t t = 0; t < ntemplates + (o->reference ? 1 : 0); t++) {
		int is_ref = o->reference && t == 0;
		size_t ti = o->reference ? t - 1 : t;
		const char *tmpl = is_ref ? o->reference : o->commands[ti];
		size_t ncombo = is_ref ? 1 : combos;
		memset(idx, 0, (np ? np : 1) * sizeof(size_t));
		for (size_t k = 0; k < ncombo; k++) {
			struct bench *b = &c->b[bi++];
			size_t npar = is_ref ? 0 : np;
			const char *name_t = !is_ref && ti < o->nnames ? o->names[ti] : NULL;
			const char *prep = !is_ref && o->nprepare ? o->prepare[o->nprepare > 1 ? ti : 0] :
					   is_ref && o->nprepare == 1 ? o->prepare[0] : NULL;
			const char *conc = !is_ref && o->nconclude ? o->conclude[o->nconclude > 1 ? ti : 0] :
					   is_ref && o->nconclude == 1 ? o->conclude[0] : NULL;
			b->r.command = substitute(tmpl, ps, npar, idx);
			b->r.name = name_t ? substitute(name_t, ps, npar, idx) : xstrdup(b->r.command);
			b->prepare = prep ? substitute(prep, ps, npar, idx) : NULL;
			b->conclude = conc ? substitute(conc, ps, npar, idx) : NULL;
			b->setup = o->setup ? substitute(o->setup, ps, npar, idx) : NULL;
			b->cleanup = o->cleanup ? substitute(o->cleanup, ps, npar, idx) : NULL;
			if (npar) {
				b->r.nparams = npar;
				b->r.param_names = xcalloc(npar, sizeof(char *));
				b->r.param_values = xcalloc(npar, sizeof(char *));
				for (size_t q = 0; q < npar; q++) {
					b->r.param_names[q] = xstrdup(ps[q].name);
					b->r.param_values[q] = xstrdup(ps[q].values[idx[q]]);
				}
			}
			b->argv = command_argv(c, b->r.command);
			if (!b->argv) { /* unterminated quote or empty command (printed) */
				free(idx);
				ret = 2;
				goto out;
			}
			/* next combination (last parameter fastest) */
			for (size_t q = npar; q-- > 0;) {
				if (++idx[q] < ps[q].n)
					break;
				idx[q] = 0;
			}
		}
	}
	free(idx);
	for (size_t i = 0; i < c->nb; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->b[i].r.name, c->b[j].r.name) && c->b[i].r.nparams == 0) {
				/* results are matched by name (baselines, exports): keep names unique */
				char *n = xasprintf("%s (%zu)", c->b[i].r.name, i + 1);
				free(c->b[i].r.name);
				c->b[i].r.name = n;
				break;
			}
	ret = 0;
out:
	if (o->scan_var && ps) {
		for (size_t k = 0; k < ps->n; k++)
			free(ps->values[k]);
		free(ps->values);
		free(ps->name);
		free(ps);
	}
	return ret;
}

static void setup_counters(struct ctx *c)
{
	const struct kc_event_def *defs[NCOUNTER_EVENTS];
	if (!c->o->counters)
		return;
	for (size_t i = 0; i < NCOUNTER_EVENTS; i++)
		defs[i] = kc_event_lookup(counter_events[i]);
	for (size_t i = 0; i < c->nb; i++) {
		struct kb_result *r = &c->b[i].r;
		kc_counters_init(&c->b[i].cs, defs, NCOUNTER_EVENTS);
		r->ncounters = NCOUNTER_EVENTS;
		r->counters = xcalloc(NCOUNTER_EVENTS, sizeof(*r->counters));
		for (size_t k = 0; k < NCOUNTER_EVENTS; k++) {
			r->counters[k].name = xstrdup(counter_events[k]);
			r->counters[k].unit = "count";
			r->counters[k].supported = 1;
		}
	}
}

static void finish_counters(struct ctx *c)
{
	for (size_t i = 0; i < c->nb && c->o->counters; i++)
		for (size_t k = 0; k < c->b[i].r.ncounters; k++) {
			const struct kc_counter *kc = &c->b[i].cs.c[k];
			if (kc->state == KC_COUNTER_UNSUPPORTED) {
				c->b[i].r.counters[k].supported = 0;
				c->b[i].r.counters[k].reason = xstrdup(kc_counter_reason(kc));
			}
		}
}

static void free_opts(struct opts *o)
{
	free(o->prepare);
	free(o->conclude);
	free(o->names);
	free(o->commands);
	for (size_t i = 0; i < o->nlists; i++) {
		for (size_t k = 0; k < o->lists[i].n; k++)
			free(o->lists[i].values[k]);
		free(o->lists[i].values);
		free(o->lists[i].name);
	}
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
		o->max_time = 10;
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct opts o;
	struct ctx c;
	struct kb_baseline base;
	struct kb_comparison *cmp = NULL, *bcmp = NULL;
	size_t ncmp = 0, nbcmp = 0, ref = 0;
	struct kb_settings set;
	int ret = 1, rc;
	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	memset(&base, 0, sizeof(base));
	o.fail_if_slower = -1;
	o.precision = 0.01;
	o.alpha = 0.05;
	c.devnull = c.input_fd = -1;
	rc = parse_args(argc, argv, &o);
	if (rc < 0) {
		free_opts(&o);
		return 0;
	}
	if (rc || (rc = check_options(&o))) {
		free_opts(&o);
		return 2;
	}
	c.o = &o;
	if (!o.no_shell) {
		const char *sh = !o.shell_arg || !strcmp(o.shell_arg, "default") ? "sh" : o.shell_arg;
		c.shell_words = kc_split_words(sh);
		if (!c.shell_words) {
			ret = 2;
			goto out;
		}
	}
	rc = build_benches(&c);
	if (rc) {
		ret = rc;
		goto out;
	}
	/* everything that can fail without running anything, first */
	if (kiln_output_check(o.export_json) || kiln_output_check(o.save_baseline) ||
	    kiln_output_check(o.export_csv) || kiln_output_check(o.export_md))
		goto out;
	if (o.baseline) {
		if (kb_baseline_load(o.baseline, &base) < 0)
			goto out;
		for (size_t i = 0; i < c.nb; i++)
			if (!kb_baseline_find(&base, c.b[i].r.name)) {
				struct strbuf names = STRBUF_INIT;
				for (size_t k = 0; k < base.n && k < 5; k++)
					strbuf_addf(&names, "%s'%s'", k ? ", " : "", base.e[k].name);
				if (base.n > 5)
					strbuf_addstr(&names, ", ...");
				kiln_error("baseline '%s' has no result for '%s' (it has %s); benchmark the same "
					   "commands, or name them alike with -n", o.baseline, c.b[i].r.name, names.buf);
				strbuf_release(&names);
				goto out;
			}
	}
	c.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (c.devnull < 0) {
		kiln_error("cannot open '/dev/null': %s", strerror(errno));
		goto out;
	}
	if (o.input) {
		struct stat st;
		c.input_fd = open(o.input, O_RDONLY | O_CLOEXEC);
		if (c.input_fd < 0) {
			kiln_error("cannot open input '%s': %s", o.input, errno == ENOENT ? "no such file" : strerror(errno));
			goto out;
		}
		if (fstat(c.input_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			kiln_error("input '%s' is not a regular file (every run reads it from the start)", o.input);
			goto out;
		}
	}
	setup_counters(&c);
	c.shell_counters = xcalloc(NCOUNTER_EVENTS, sizeof(double));
	c.progress = progress_allowed() && !o.show_output;
	if (c.shell_words && calibrate_shell(&c) < 0)
		goto out;
	if (measure_all(&c) < 0)
		goto out;
	finish_counters(&c);
	for (size_t i = 0; i < c.nb; i++)
		kb_result_finish(&c.b[i].r);

	/* the reference: --reference (benchmarked first), else the fastest */
	if (!o.reference)
		for (size_t i = 1; i < c.nb; i++)
			if (c.b[i].r.s.mean < c.b[ref].r.s.mean)
				ref = i;
	if (c.nb > 1) {
		cmp = xcalloc(c.nb, sizeof(*cmp));
		for (size_t i = 0; i < c.nb; i++) {
			if (i == ref)
				continue;
			cmp[ncmp].result = i;
			cmp[ncmp].reference = c.b[ref].r.name;
			cmp[ncmp].valid = ks_compare(c.b[i].r.times, c.b[i].r.n, c.b[ref].r.times,
						     c.b[ref].r.n, o.alpha, &cmp[ncmp].c) == 0;
			ncmp++;
		}
	}
	if (o.baseline) {
		bcmp = xcalloc(c.nb, sizeof(*bcmp));
		for (size_t i = 0; i < c.nb; i++) {
			const struct kb_baseline_entry *e = kb_baseline_find(&base, c.b[i].r.name);
			bcmp[nbcmp].result = i;
			bcmp[nbcmp].reference = base.path;
			bcmp[nbcmp].valid = ks_compare(c.b[i].r.times, c.b[i].r.n, e->times, e->n, o.alpha,
						       &bcmp[nbcmp].c) == 0;
			nbcmp++;
		}
	}

	for (size_t i = 0; i < c.nb; i++) {
		print_result(&c, i);
		warn_result(&c, i);
	}
	if (ncmp) {
		char title[160];
		snprintf(title, sizeof(title), "Comparison (reference: %s'%.80s'; ratio of means, %.0f%% CI, Mann-Whitney U):",
			 o.reference ? "" : "the fastest, ", c.b[ref].r.name, 100 * (1 - o.alpha));
		print_comparisons(&c, cmp, ncmp, ref, title, NULL);
	}
	if (nbcmp) {
		char title[300];
		snprintf(title, sizeof(title), "Against baseline '%.200s' (ratio now / baseline, %.0f%% CI, Mann-Whitney U):",
			 base.path, 100 * (1 - o.alpha));
		print_comparisons(&c, bcmp, nbcmp, 0, title, &base);
	}
	fflush(stdout);

	memset(&set, 0, sizeof(set));
	set.shell = c.shell_words ? (o.shell_arg && strcmp(o.shell_arg, "default") ? o.shell_arg : "sh") : NULL;
	set.shell_spawn = c.shell_wall;
	set.alpha = o.alpha;
	set.precision = o.precision;
	set.interleaved = !o.no_interleave;
	set.warmup = o.warmup;
	{
		struct strbuf sb = STRBUF_INIT;
		struct kb_results_flat {
			struct kb_result *r;
		} flat;
		struct kb_comparison *all = xcalloc(ncmp + nbcmp + 1, sizeof(*all));
		int bad_write = 0;
		flat.r = xcalloc(c.nb, sizeof(struct kb_result));
		for (size_t i = 0; i < c.nb; i++)
			flat.r[i] = c.b[i].r;
		if (ncmp)
			memcpy(all, cmp, ncmp * sizeof(*all));
		if (nbcmp)
			memcpy(all + ncmp, bcmp, nbcmp * sizeof(*all));
		if (o.export_json || o.save_baseline) {
			kb_write_json(&sb, &set, flat.r, c.nb, all, ncmp + nbcmp);
			if (o.export_json && write_export(o.export_json, &sb) < 0)
				bad_write = 1;
			if (o.save_baseline && write_export(o.save_baseline, &sb) < 0)
				bad_write = 1;
		}
		if (o.export_csv) {
			strbuf_reset(&sb);
			kb_write_csv(&sb, flat.r, c.nb);
			if (write_export(o.export_csv, &sb) < 0)
				bad_write = 1;
		}
		if (o.export_md) {
			strbuf_reset(&sb);
			kb_write_markdown(&sb, flat.r, c.nb, ref);
			if (write_export(o.export_md, &sb) < 0)
				bad_write = 1;
		}
		strbuf_release(&sb);
		free(flat.r);
		free(all);
		if (bad_write)
			goto out;
	}

	ret = 0;
	if (o.fail_if_slower >= 0) {
		for (size_t k = 0; k < nbcmp; k++) {
			const struct kb_comparison *x = &bcmp[k];
			const char *name = c.b[x->result].r.name;
			double pct = 100 * (x->c.ratio - 1);
			if (!x->valid)
				continue;
			if (x->c.verdict > 0 && pct > o.fail_if_slower) {
				char conf[32];
				if (x->c.mw.p < 0.0001)
					snprintf(conf, sizeof(conf), "> 99.99%%");
				else
					snprintf(conf, sizeof(conf), "%.2f%%", 100 * (1 - x->c.mw.p));
				kiln_error("'%s' is %.1f%% slower than its baseline in '%s' (ratio %.3f, %.0f%% CI "
					   "%.3f–%.3f; Mann-Whitney p = %.2g: %s confidence); the limit is %g%%",
					   name, pct, base.path, x->c.ratio, 100 * (1 - o.alpha), x->c.ci.lo,
					   x->c.ci.hi, x->c.mw.p, conf, o.fail_if_slower);
				ret = 1;
			} else if (x->c.verdict > 0) {
				kiln_note("'%s' is %.1f%% slower than its baseline, within the %g%% limit", name,
					  pct, o.fail_if_slower);
			} else if (pct > o.fail_if_slower) {
				kiln_note("'%s' measured %.1f%% slower than its baseline, but not significantly "
					  "(p = %.2g): not a failure", name, pct, x->c.mw.p);
			}
		}
	}
out:
	if (c.devnull >= 0)
		close(c.devnull);
	if (c.input_fd >= 0)
		close(c.input_fd);
	for (size_t i = 0; i < c.nb; i++) {
		kb_result_release(&c.b[i].r);
		kc_argv_free(c.b[i].argv);
		free(c.b[i].prepare);
		free(c.b[i].conclude);
		free(c.b[i].setup);
		free(c.b[i].cleanup);
		kc_counters_release(&c.b[i].cs);
	}
	free(c.b);
	free(c.shell_counters);
	kc_argv_free(c.shell_words);
	kb_baseline_release(&base);
	free(cmp);
	free(bcmp);
	free_opts(&o);
	return ret;
}
