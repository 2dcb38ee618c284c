/* stat.c: kiln stat: run a command (N times) and report its wall, user and system time,
 * peak RSS, page faults, context switches, event counters and a one-line verdict. */
#include "cmd.h"
#include "collect/child.h"
#include "collect/cmdrun.h"
#include "collect/evcount.h"
#include "stats/stats.h"
#include "stats/units.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/perf_event.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum metric { M_WALL, M_USER, M_SYS, M_DELAY, M_RSS, M_MINFLT, M_MAJFLT, M_NVCSW, M_NIVCSW, NMETRICS };

static const struct {
	const char *label, *json, *unit;
} metrics[NMETRICS] = {
	{ "wall time", "wall_time", "s" },
	{ "user time", "user_time", "s" },
	{ "system time", "system_time", "s" },
	{ "waiting for a CPU", "run_delay", "s" },
	{ "peak RSS", "peak_rss", "bytes" },
	{ "minor faults", "minor_faults", "" },
	{ "major faults", "major_faults", "" },
	{ "voluntary switches", "voluntary_context_switches", "" },
	{ "involuntary switches", "involuntary_context_switches", "" },
};

struct counter_series {
	double *v;              /* one value per run */
	size_t counted;         /* runs where it counted */
	int scaled;             /* multiplexed in some run */
	double min_running;     /* smallest time_running / time_enabled */
	int user_only;
};

struct stat_state {
	char **argv;
	long runs;
	int json;
	double *m[NMETRICS];    /* [metric][run] */
	struct kc_counters cs;
	struct counter_series *cser;
	int exit_code;          /* last non-zero exit code of a run, else 0 */
	int start_status;       /* 127/126 when the command could not be started, else 0 */
	int rss_upper_bound;    /* peak RSS is only an upper bound (cmdrun.h) */
	int failed_runs;
};

/* The known event names, wrapped to lines of about 78 columns after "events: ". */
static void wrapped_events(struct strbuf *out)
{
	struct strbuf ev = STRBUF_INIT;
	size_t col = 8;
	const char *p;
	kc_event_list(&ev);
	p = ev.buf;
	while (*p) {
		const char *end = strstr(p, ", ");
		size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
		if (col + len + 1 > 78) {
			strbuf_addstr(out, "\n        ");
			col = 8;
		} else if (p != ev.buf) {
			strbuf_addch(out, ' ');
			col++;
		}
		strbuf_add(out, p, len);
		col += len;
		p += len;
		while (*p == ' ')
			p++;
	}
	strbuf_release(&ev);
}

static void usage(FILE *out)
{
	struct strbuf ev = STRBUF_INIT;
	wrapped_events(&ev);
	fprintf(out,
		"usage: kiln stat [options] [--] CMD [ARGS...]\n"
		"       kiln stat [options] -p PID | -a [-- CMD [ARGS...]]\n"
		"\n"
		"Runs CMD and reports its wall, user and system time, peak RSS, page faults,\n"
		"context switches and event counters (cycles, instructions, IPC, cache and branch\n"
		"misses where the machine has them, \"not supported\" otherwise), then a verdict:\n"
		"CPU-bound in user space, kernel-heavy, or waiting. The report goes to standard\n"
		"error (as perf stat's); CMD's own output is left alone.\n"
		"\n"
		"options:\n"
		"  -r, --repeat N       run N times; report mean ± stddev and min … max (default 1)\n"
		"  -e, --event LIST     comma-separated events (default: perf stat's set)\n"
		"      --json           write the report as JSON (to standard output, or -o FILE)\n"
		"  -o, --output FILE    write the report to FILE instead\n"
		"      --timeout T      kill a run after T (\"2s\", \"500ms\") and fail\n"
		"      --input FILE     CMD's standard input (default: kiln's)\n"
		"  -p, --pid PID        count an existing process (all its threads) until it\n"
		"                       exits, Ctrl-C or --duration\n"
		"  -a, --all-cpus       count every process on every CPU (system-wide): while\n"
		"                       CMD runs, or without CMD until Ctrl-C or --duration\n"
		"                       (needs root or kernel.perf_event_paranoid <= 0)\n"
		"  -I, --interval-print MS\n"
		"                       print the counts of every MS milliseconds as they pass\n"
		"                       (perf's interval lines: time, counts, unit, event)\n"
		"  -x, --field-separator SEP\n"
		"                       print perf's CSV lines instead of the report: value,\n"
		"                       unit, event, run time (ns), percentage of time counted,\n"
		"                       metric value, metric unit (with -I the time first)\n"
		"      --duration T     with -p or -a: stop counting after T (\"10s\")\n"
		"  -h, --help           show this help\n"
		"\n"
		"events: %s\n"
		"\n"
		"examples:\n"
		"  kiln stat -- ./myprog input.txt\n"
		"  kiln stat -r 10 -e task-clock,page-faults,cycles,instructions -- make -j2\n"
		"  kiln stat --json -o stat.json -- gzip -k big.log\n"
		"  kiln stat -p 1234 --duration 5     count process 1234 for 5 seconds\n"
		"  kiln stat -a -I 1000               the whole machine, a line set per second\n"
		"  kiln stat -x, -e task-clock -- ./myprog   CSV for a script\n",
		ev.buf);
	strbuf_release(&ev);
}

static int parse_events(const char *list, const struct kc_event_def ***defs, size_t *n)
{
	char *copy = xstrdup(list), *p = copy, *comma;
	size_t alloc = 0;
	*defs = NULL;
	*n = 0;
	do {
		const struct kc_event_def *d;
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		d = kc_event_lookup(p);
		if (!d) {
			struct strbuf ev = STRBUF_INIT;
			kc_event_list(&ev);
			usage_error("stat", "unknown event '%s'; known events: %s", p, ev.buf);
			strbuf_release(&ev);
			free(copy);
			free(*defs);
			return -1;
		}
		for (size_t i = 0; i < *n; i++)
			if ((*defs)[i] == d)
				d = NULL;
		if (d) {
			ALLOC_GROW(*defs, *n + 1, alloc);
			(*defs)[(*n)++] = d;
		}
		p = comma + 1;
	} while (comma);
	free(copy);
	return 0;
}

static const struct counter_series *find_series(const struct stat_state *st, const char *name,
						 const struct kc_counter **c)
{
	for (size_t i = 0; i < st->cs.n; i++)
		if (!strcmp(st->cs.c[i].def->name, name)) {
			*c = &st->cs.c[i];
			return &st->cser[i];
		}
	return NULL;
}

static double series_mean(const struct counter_series *s, size_t runs)
{
	return s->counted == runs ? ks_mean(s->v, runs) : NAN;
}

/* ---- human report ---- */

static void fmt_metric(char *buf, size_t n, enum metric m, double v, double scale_of)
{
	if (!strcmp(metrics[m].unit, "s"))
		ks_fmt_duration_as(buf, n, v, scale_of);
	else if (!strcmp(metrics[m].unit, "bytes"))
		ks_fmt_bytes(buf, n, v);
	else
		ks_fmt_count(buf, n, v);
}

static void print_row(FILE *out, const char *label, const char *value, const char *extra)
{
	fprintf(out, "  %-22s %16s%s%s\n", label, value, extra && *extra ? "   " : "", extra ? extra : "");
}

static void human_metric(FILE *out, const struct stat_state *st, enum metric m)
{
	struct ks_summary s;
	char v[48], a[48], b[48], c[48], extra[160];
	ks_summarize(st->m[m], (size_t)st->runs, &s);
	if (isnan(s.mean))
		return; /* not measurable here (run delay without schedstat) */
	fmt_metric(v, sizeof(v), m, s.mean, s.mean);
	extra[0] = '\0';
	if (m == M_RSS && st->rss_upper_bound) {
		char le[80];
		snprintf(le, sizeof(le), "≤ %s", v);
		/* "≤" is 3 bytes for one column: widen the field by 2 */
		fprintf(out, "  %-22s %18s   (no larger than kiln itself: not measurable exactly)\n",
			metrics[m].label, le);
		return;
	}
	if (st->runs > 1) {
		fmt_metric(a, sizeof(a), m, s.stddev, s.mean);
		fmt_metric(b, sizeof(b), m, s.min, s.mean);
		fmt_metric(c, sizeof(c), m, s.max, s.mean);
		snprintf(extra, sizeof(extra), "± %s   (%s … %s)", a, b, c);
	}
	print_row(out, metrics[m].label, v, extra);
}

static void human_counter(FILE *out, const struct stat_state *st, size_t i)
{
	const struct kc_counter *c = &st->cs.c[i], *other;
	const struct counter_series *s = &st->cser[i], *o;
	char v[48], extra[200], d[48], e[48], f[48];
	size_t runs = (size_t)st->runs;
	struct ks_summary sum;
	size_t len = 0;
	if (c->state == KC_COUNTER_UNSUPPORTED) {
		print_row(out, c->def->name, "<not supported>", kc_counter_reason(c) && strcmp(kc_counter_reason(c), "not supported") ? kc_counter_reason(c) : NULL);
		return;
	}
	if (s->counted < runs) {
		print_row(out, c->def->name, "<not counted>", NULL);
		return;
	}
	ks_summarize(s->v, runs, &sum);
	extra[0] = '\0';
	if (!strcmp(c->def->unit, "ns")) {
		ks_fmt_duration(v, sizeof(v), sum.mean * 1e-9);
		double wall = ks_mean(st->m[M_WALL], runs);
		if (wall > 0)
			len += (size_t)snprintf(extra + len, sizeof(extra) - len, "# %.3f CPUs utilized",
						sum.mean * 1e-9 / wall);
	} else {
		ks_fmt_count(v, sizeof(v), sum.mean);
	}
	if (!strcmp(c->def->name, "instructions") && (o = find_series(st, "cycles", &other)) &&
	    other->state != KC_COUNTER_UNSUPPORTED && o->counted == runs && series_mean(o, runs) > 0)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len, "# %.2f insn per cycle",
					sum.mean / series_mean(o, runs));
	if (!strcmp(c->def->name, "branch-misses") && (o = find_series(st, "branches", &other)) &&
	    other->state != KC_COUNTER_UNSUPPORTED && o->counted == runs && series_mean(o, runs) > 0)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len, "# %.2f%% of all branches",
					100 * sum.mean / series_mean(o, runs));
	if (!strcmp(c->def->name, "cache-misses") &&
	    (o = find_series(st, "cache-references", &other)) &&
	    other->state != KC_COUNTER_UNSUPPORTED && o->counted == runs && series_mean(o, runs) > 0)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len, "# %.2f%% of all cache refs",
					100 * sum.mean / series_mean(o, runs));
	if (runs > 1) {
		if (!strcmp(c->def->unit, "ns")) {
			ks_fmt_duration_as(d, sizeof(d), sum.stddev * 1e-9, sum.mean * 1e-9);
			ks_fmt_duration_as(e, sizeof(e), sum.min * 1e-9, sum.mean * 1e-9);
			ks_fmt_duration_as(f, sizeof(f), sum.max * 1e-9, sum.mean * 1e-9);
		} else {
			ks_fmt_count(d, sizeof(d), sum.stddev);
			ks_fmt_count(e, sizeof(e), sum.min);
			ks_fmt_count(f, sizeof(f), sum.max);
		}
		len += (size_t)snprintf(extra + len, sizeof(extra) - len, "%s± %s (%s … %s)",
					len ? "  " : "", d, e, f);
	}
	if (s->scaled)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len,
					"%s(scaled: counted %.1f%% of the time)", len ? "  " : "",
					100 * s->min_running);
	if (s->user_only)
		snprintf(extra + len, sizeof(extra) - len, "%s(user space only)", len ? "  " : "");
	print_row(out, c->def->name, v, extra);
}

static void verdict_of(const struct stat_state *st, struct ks_verdict *v, double *w, double *u,
		       double *s, double *d)
{
	size_t runs = (size_t)st->runs;
	*w = ks_mean(st->m[M_WALL], runs);
	*u = ks_mean(st->m[M_USER], runs);
	*s = ks_mean(st->m[M_SYS], runs);
	*d = ks_mean(st->m[M_DELAY], runs); /* NaN when unknown */
	ks_classify(*w, *u, *s, isnan(*d) ? -1 : *d, v);
}

static void command_text(struct strbuf *sb, char **argv)
{
	for (char **p = argv; *p; p++) {
		if (p != argv)
			strbuf_addch(sb, ' ');
		strbuf_addstr(sb, *p);
	}
}

static void report_human(FILE *out, const struct stat_state *st)
{
	struct strbuf cmd = STRBUF_INIT;
	struct ks_verdict v;
	char line[512];
	double w, u, s, d;
	int has_cycles = 0, has_insn = 0;
	command_text(&cmd, st->argv);
	fprintf(out, "\n Performance counter stats for '%s'", cmd.buf);
	if (st->runs > 1)
		fprintf(out, " (%ld runs)", st->runs);
	fprintf(out, ":\n\n");
	for (int m = 0; m < NMETRICS; m++)
		human_metric(out, st, (enum metric)m);
	if (st->cs.n)
		fprintf(out, "\n");
	for (size_t i = 0; i < st->cs.n; i++) {
		human_counter(out, st, i);
		has_cycles |= !strcmp(st->cs.c[i].def->name, "cycles");
		has_insn |= !strcmp(st->cs.c[i].def->name, "instructions");
	}
	if (has_cycles && has_insn) {
		const struct kc_counter *c1 = NULL, *c2 = NULL;
		const struct counter_series *s1 = find_series(st, "cycles", &c1);
		const struct counter_series *s2 = find_series(st, "instructions", &c2);
		double cyc = series_mean(s1, (size_t)st->runs), ins = series_mean(s2, (size_t)st->runs);
		if (c1->state == KC_COUNTER_UNSUPPORTED || c2->state == KC_COUNTER_UNSUPPORTED)
			print_row(out, "IPC", "<not supported>", NULL);
		else if (isnan(cyc) || isnan(ins) || cyc <= 0)
			print_row(out, "IPC", "<not counted>", NULL);
		else {
			char b[32];
			snprintf(b, sizeof(b), "%.2f", ins / cyc);
			print_row(out, "IPC", b, "instructions per cycle");
		}
	}
	verdict_of(st, &v, &w, &u, &s, &d);
	ks_fmt_verdict(line, sizeof(line), &v, w, u, s, d);
	fprintf(out, "\n  verdict: %s\n", line);
	if (st->failed_runs)
		fprintf(out, "  note: %d of %ld runs exited with a non-zero status (last: %d)\n",
			st->failed_runs, st->runs, st->exit_code);
	fprintf(out, "\n");
	strbuf_release(&cmd);
}

/* ---- JSON report ---- */

static void json_num(struct strbuf *sb, double v)
{
	if (!isfinite(v))
		strbuf_addstr(sb, "null");
	else
		strbuf_addf(sb, "%.17g", v);
}

static void json_stats(struct strbuf *sb, const double *x, size_t n)
{
	struct ks_summary s;
	ks_summarize(x, n, &s);
	strbuf_addstr(sb, "\"mean\": ");
	json_num(sb, s.mean);
	strbuf_addstr(sb, ", \"stddev\": ");
	json_num(sb, s.stddev);
	strbuf_addstr(sb, ", \"median\": ");
	json_num(sb, s.median);
	strbuf_addstr(sb, ", \"min\": ");
	json_num(sb, s.min);
	strbuf_addstr(sb, ", \"max\": ");
	json_num(sb, s.max);
	strbuf_addstr(sb, ", \"values\": [");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		json_num(sb, x[i]);
	}
	strbuf_addstr(sb, "]");
}

static void report_json(struct strbuf *sb, const struct stat_state *st)
{
	size_t runs = (size_t)st->runs;
	struct ks_verdict v;
	char line[512];
	double w, u, s, d;
	strbuf_addf(sb, "{\n  \"kiln_format\": 1,\n  \"kiln_version\": \"%s\",\n  \"command\": [", KILN_VERSION);
	for (char **p = st->argv; *p; p++) {
		strbuf_addf(sb, "%s\"", p == st->argv ? "" : ", ");
		strbuf_add_json(sb, *p, strlen(*p));
		strbuf_addch(sb, '"');
	}
	strbuf_addf(sb, "],\n  \"runs\": %zu,\n  \"exit_code\": %d,\n  \"failed_runs\": %d,\n  \"metrics\": {\n",
		    runs, st->exit_code, st->failed_runs);
	for (int m = 0; m < NMETRICS; m++) {
		strbuf_addf(sb, "    \"%s\": { \"unit\": \"%s\", ", metrics[m].json, metrics[m].unit);
		if (m == M_RSS)
			strbuf_addf(sb, "\"upper_bound\": %s, ", st->rss_upper_bound ? "true" : "false");
		json_stats(sb, st->m[m], runs);
		strbuf_addf(sb, " }%s\n", m + 1 < NMETRICS ? "," : "");
	}
	strbuf_addstr(sb, "  },\n  \"counters\": {");
	for (size_t i = 0; i < st->cs.n; i++) {
		const struct kc_counter *c = &st->cs.c[i];
		const struct counter_series *cs = &st->cser[i];
		strbuf_addf(sb, "%s\n    \"%s\": { ", i ? "," : "", c->def->name);
		if (c->state == KC_COUNTER_UNSUPPORTED) {
			strbuf_addf(sb, "\"supported\": false, \"reason\": \"%s\" }", kc_counter_reason(c));
			continue;
		}
		if (cs->counted < runs) {
			strbuf_addstr(sb, "\"supported\": true, \"counted\": false }");
			continue;
		}
		strbuf_addf(sb, "\"supported\": true, \"counted\": true, \"unit\": \"%s\", \"scaled\": %s, "
			    "\"running_fraction\": ", *c->def->unit ? c->def->unit : "count",
			    cs->scaled ? "true" : "false");
		json_num(sb, cs->min_running);
		strbuf_addf(sb, ", \"user_only\": %s, ", cs->user_only ? "true" : "false");
		json_stats(sb, cs->v, runs);
		strbuf_addstr(sb, " }");
	}
	strbuf_addstr(sb, st->cs.n ? "\n  },\n" : "},\n");
	{
		const struct kc_counter *c1 = NULL, *c2 = NULL;
		const struct counter_series *s1 = find_series(st, "cycles", &c1);
		const struct counter_series *s2 = find_series(st, "instructions", &c2);
		double ipc = NAN;
		if (s1 && s2 && series_mean(s1, runs) > 0)
			ipc = series_mean(s2, runs) / series_mean(s1, runs);
		strbuf_addstr(sb, "  \"ipc\": ");
		json_num(sb, ipc);
		strbuf_addstr(sb, ",\n");
	}
	verdict_of(st, &v, &w, &u, &s, &d);
	ks_fmt_verdict(line, sizeof(line), &v, w, u, s, d);
	strbuf_addf(sb, "  \"verdict\": { \"class\": \"%s\", \"cpu_fraction\": ", ks_run_class_id(v.cls));
	json_num(sb, v.cpu_fraction);
	strbuf_addstr(sb, ", \"system_fraction\": ");
	json_num(sb, v.sys_fraction);
	strbuf_addstr(sb, ", \"cpu_wait_fraction\": ");
	json_num(sb, v.delay_fraction);
	strbuf_addf(sb, ", \"approximate\": %s, \"text\": \"", v.approximate ? "true" : "false");
	strbuf_add_json(sb, line, strlen(line));
	strbuf_addstr(sb, "\" }\n}\n");
}


/* ---- -p, -a, -I: counting a running target, with counts as they pass ---- */

struct live {
	char **argv;            /* the command, or NULL */
	pid_t pid;              /* -p, else 0 */
	int system_wide;        /* -a */
	double interval;        /* -I, seconds (0: none) */
	double duration;        /* --duration (0: none) */
	const char *sep;        /* -x, or NULL */
	FILE *out;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One counter's line in perf's forms: CSV (with -x: [time,]value,unit,event,run time,
 * percentage,metric value,metric unit) or the interval / final text line. The value is
 * the count over `secs` seconds: delta raw, enabled and running. */
static void counter_line(FILE *out, const char *sep, double ts, const struct kc_counter *c, uint64_t raw,
			 uint64_t enabled, uint64_t running, double secs)
{
	int ns = !strcmp(c->def->unit, "ns");
	char val[48], metric[48] = "", munit[32] = "";
	double v = NAN, pct = enabled ? 100.0 * (double)running / (double)enabled : 100.0;
	const char *unit = ns ? "msec" : "";
	if (c->state == KC_COUNTER_UNSUPPORTED) {
		snprintf(val, sizeof(val), "<not supported>");
		running = 0;
		pct = 100.0;
	} else if (c->state != KC_COUNTER_COUNTED || (enabled && !running)) {
		snprintf(val, sizeof(val), "<not counted>");
	} else {
		int scaled;
		v = kc_scale(raw, enabled, running, &scaled);
		if (ns)
			snprintf(val, sizeof(val), "%.2f", v / 1e6);
		else
			snprintf(val, sizeof(val), "%.0f", v);
		if (ns && secs > 0) {
			snprintf(metric, sizeof(metric), "%.3f", v / 1e9 / secs);
			snprintf(munit, sizeof(munit), "CPUs utilized");
		} else if (secs > 0) {
			snprintf(metric, sizeof(metric), "%.3f", v / secs);
			snprintf(munit, sizeof(munit), "/sec");
		}
	}
	if (sep) {
		if (ts >= 0)
			fprintf(out, "%.9f%s", ts, sep);
		fprintf(out, "%s%s%s%s%s%s%llu%s%.2f%s%s%s%s\n", val, sep, unit, sep, c->def->name, sep,
			(unsigned long long)running, sep, pct, sep, metric, sep, munit);
		return;
	}
	if (ts >= 0)
		fprintf(out, "%16.9f ", ts);
	else
		fprintf(out, "  ");
	if (*metric)
		fprintf(out, "%18s %-5s %-24s # %8s %s", val, unit, c->def->name, metric, munit);
	else
		fprintf(out, "%18s %-5s %s", val, unit, c->def->name);
	if (pct < 99.995 && running)
		fprintf(out, "  (%.2f%%)", pct);
	fprintf(out, "\n");
}

static void live_print(const struct live *L, const struct kc_counters *cs, uint64_t (*prev)[3], double ts,
		       double secs)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct kc_counter *c = &cs->c[i];
		uint64_t r = c->raw - prev[i][0], e = c->enabled - prev[i][1], u = c->running - prev[i][2];
		counter_line(L->out, L->sep, ts, c, r, e, u, secs);
		prev[i][0] = c->raw;
		prev[i][1] = c->enabled;
		prev[i][2] = c->running;
	}
}

/* Counts until the command ends (or -p's process does, or the duration passes, or a
 * signal says so), printing intervals as they pass, then the totals. Returns the exit
 * status kiln should give. */
static int live_run(struct live *L, struct kc_counters *cs)
{
	struct kc_child ch = { -1, -1, -1 };
	sigset_t block, orig;
	int sfd, status = 0, done = 0, stop = 0, reaped = 0, ret = 0, rc;
	uint64_t (*prev)[3] = xcalloc(cs->n ? cs->n : 1, sizeof(*prev));
	double t0, next, deadline, last;

	if (L->argv) {
		int e = kc_check_command(L->argv[0]);
		if (e) {
			free(prev);
			return e;
		}
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		kiln_error("cannot create a signalfd: %s", strerror(errno));
		ret = 1;
		goto out;
	}
	if (L->argv && kc_child_spawn(&ch, L->argv, &orig) < 0) {
		ret = 1;
		goto out;
	}
	if (L->system_wide)
		rc = kc_counters_attach(cs, -1);
	else if (L->pid > 0)
		rc = kc_counters_attach(cs, L->pid);
	else {
		kc_counters_open(cs, ch.pid);
		rc = 0;
	}
	if (rc < 0) {
		if (ch.pid > 0)
			kc_child_kill(&ch);
		ret = 1;
		goto out;
	}
	t0 = last = now_s();
	if (ch.pid > 0) {
		int e = kc_child_release(&ch);
		if (e) {
			kiln_error("cannot run '%s': %s", L->argv[0], strerror(e));
			ret = e == ENOENT ? 127 : 126;
			ch.pid = -1;
			goto out;
		}
	}
	if (L->interval > 0 && !L->sep)
		fprintf(L->out, "#           time             counts unit  events\n");
	next = L->interval > 0 ? t0 + L->interval : 0;
	deadline = L->duration > 0 ? t0 + L->duration : 0;
	while (!done && !stop) {
		double now = now_s(), wake = now + 0.1;
		struct pollfd pfd = { sfd, POLLIN, 0 };
		struct signalfd_siginfo si;
		if (next && next < wake)
			wake = next;
		if (deadline && deadline < wake)
			wake = deadline;
		if (wake > now)
			poll(&pfd, 1, (int)((wake - now) * 1000) + 1);
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int sig = (int)si.ssi_signo;
			if (sig == SIGCHLD)
				continue;
			if (ch.pid > 0 && !reaped) {
				/* a signal for kiln alone is passed on; the command decides */
				if (si.ssi_code != SI_KERNEL)
					kill(ch.pid, sig);
			} else {
				stop = 1;
			}
		}
		if (ch.pid > 0 && !reaped && waitpid(ch.pid, &status, WNOHANG) == ch.pid)
			reaped = done = 1;
		if (L->pid > 0 && kill(L->pid, 0) < 0 && errno == ESRCH)
			done = 1;
		now = now_s();
		if (next && now >= next && !done) {
			kc_counters_read(cs);
			live_print(L, cs, prev, now - t0, now - last);
			fflush(L->out);
			last = now;
			next += L->interval;
			if (next < now)
				next = now + L->interval;
		}
		if (deadline && now >= deadline) {
			if (ch.pid > 0 && !reaped) {
				kill(ch.pid, SIGTERM); /* like timeout(1) */
				deadline = 0;
			} else {
				stop = 1;
			}
		}
	}
	{
		double end = now_s();
		kc_counters_read(cs);
		if (L->interval > 0) {
			/* the last, partial interval (perf prints it too) */
			if (end - last > 0.001)
				live_print(L, cs, prev, end - t0, end - last);
		} else {
			if (!L->sep) {
				struct strbuf cmd = STRBUF_INIT;
				if (L->argv)
					command_text(&cmd, L->argv);
				fprintf(L->out, "\n Performance counter stats for ");
				if (L->system_wide)
					fprintf(L->out, "'system wide'");
				else if (L->pid > 0)
					fprintf(L->out, "process id '%d'", (int)L->pid);
				else
					fprintf(L->out, "'%s'", cmd.buf);
				fprintf(L->out, ":\n\n");
				strbuf_release(&cmd);
			}
			for (size_t i = 0; i < cs->n; i++)
				counter_line(L->out, L->sep, -1, &cs->c[i], cs->c[i].raw, cs->c[i].enabled,
					     cs->c[i].running, end - t0);
			if (!L->sep)
				fprintf(L->out, "\n %16.9f seconds time elapsed\n\n", end - t0);
		}
	}
	if (ch.pid > 0) {
		if (!reaped)
			while (waitpid(ch.pid, &status, 0) < 0 && errno == EINTR)
				;
		ret = kc_exit_code(status);
	}
out:
	kc_counters_close(cs);
	if (sfd >= 0) {
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		close(sfd);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	free(prev);
	return ret;
}

/* -x without -p, -a or -I: the counters of the runs (their mean) as perf's CSV lines. */
static void report_csv(FILE *out, const struct stat_state *st, const char *sep)
{
	size_t runs = (size_t)st->runs;
	double wall = ks_mean(st->m[M_WALL], runs);
	for (size_t i = 0; i < st->cs.n; i++) {
		struct kc_counter c = st->cs.c[i];
		const struct counter_series *s = &st->cser[i];
		double v = s->counted == runs ? ks_mean(s->v, runs) : NAN;
		if (c.state != KC_COUNTER_UNSUPPORTED)
			c.state = isnan(v) ? KC_COUNTER_NOT_COUNTED : KC_COUNTER_COUNTED;
		/* the mean count; the run time (ns) of the last run, and the smallest share of
		 * its time a counter was scheduled in any run */
		uint64_t running = c.running ? c.running : 1;
		double frac = s->min_running > 0 ? s->min_running : 1;
		uint64_t enabled = (uint64_t)llround((double)running / frac);
		uint64_t raw = isnan(v) ? 0 : (uint64_t)llround(v * (double)running / (double)enabled);
		if (frac >= 1)
			raw = isnan(v) ? 0 : (uint64_t)llround(v);
		counter_line(out, sep, -1, &c, raw, enabled, c.state == KC_COUNTER_COUNTED ? running : 0, wall);
	}
}

/* ---- running ---- */

static int do_runs(struct stat_state *st, double timeout, int input_fd)
{
	struct kc_run_opts o = { st->argv, input_fd, -1, -1, timeout, st->cs.n ? &st->cs : NULL, 1 };
	for (long r = 0; r < st->runs; r++) {
		struct kc_run_result res;
		int code;
		if (kc_run(&o, &res) < 0) {
			/* as a shell: 127 not found, 126 not runnable */
			st->start_status = res.start_status;
			return -1;
		}
		if (res.timed_out) {
			char b[32];
			ks_fmt_duration(b, sizeof(b), timeout);
			return kiln_error("'%s' did not finish within %s (run %ld of %ld); it was killed",
					  st->argv[0], b, r + 1, st->runs);
		}
		code = kc_exit_code(res.status);
		if (code != 0) {
			st->exit_code = code;
			st->failed_runs++;
		}
		st->m[M_WALL][r] = res.wall;
		st->m[M_USER][r] = res.user;
		st->m[M_SYS][r] = res.sys;
		st->m[M_DELAY][r] = res.run_delay >= 0 ? res.run_delay : NAN;
		st->m[M_RSS][r] = (double)res.max_rss_kb * 1024;
		st->rss_upper_bound |= res.rss_upper_bound;
		st->m[M_MINFLT][r] = (double)res.minflt;
		st->m[M_MAJFLT][r] = (double)res.majflt;
		st->m[M_NVCSW][r] = (double)res.nvcsw;
		st->m[M_NIVCSW][r] = (double)res.nivcsw;
		for (size_t i = 0; i < st->cs.n; i++) {
			const struct kc_counter *c = &st->cs.c[i];
			struct counter_series *s = &st->cser[i];
			if (c->state != KC_COUNTER_COUNTED)
				continue;
			double frac = c->enabled ? (double)c->running / (double)c->enabled : 1;
			s->v[r] = c->value;
			s->counted++;
			s->scaled |= c->scaled;
			s->user_only |= c->user_only;
			if (frac < s->min_running)
				s->min_running = frac;
		}
	}
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_TIMEOUT, OPT_INPUT, OPT_DURATION };
	static const struct option longopts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "event", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "pid", required_argument, NULL, 'p' },
		{ "all-cpus", no_argument, NULL, 'a' },
		{ "interval-print", required_argument, NULL, 'I' },
		{ "field-separator", required_argument, NULL, 'x' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "+r:e:o:p:aI:x:h";
	struct live L;
	int repeat_given = 0;
	long lv;
	struct stat_state st;
	const struct kc_event_def **defs = NULL;
	const char *events = NULL, *output = NULL, *input = NULL;
	double timeout = 0;
	int c, ret = 1, input_fd = -1;
	memset(&st, 0, sizeof(st));
	memset(&L, 0, sizeof(L));
	st.runs = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (kiln_parse_long(optarg, 1, 1000000, &st.runs) < 0)
				return usage_error("stat", "'-r' needs a number of runs from 1 to 1000000, not '%s'", optarg);
			repeat_given = 1;
			break;
		case 'p':
			if (kiln_parse_long(optarg, 1, 0x7fffffff, &lv) < 0)
				return usage_error("stat", "'-p' needs a process id like 1234, not '%s'", optarg);
			L.pid = (pid_t)lv;
			break;
		case 'a':
			L.system_wide = 1;
			break;
		case 'I':
			if (kiln_parse_long(optarg, 10, 86400000, &lv) < 0)
				return usage_error("stat", "'-I' needs an interval in milliseconds from 10 to 86400000, not '%s'", optarg);
			L.interval = (double)lv / 1000;
			break;
		case 'x':
			if (!*optarg)
				return usage_error("stat", "'-x' needs a separator such as , or ';'");
			L.sep = optarg;
			break;
		case OPT_DURATION:
			if (kiln_parse_duration(optarg, &L.duration) < 0 || L.duration <= 0)
				return usage_error("stat", "'--duration' needs a duration such as 10s or 500ms, not '%s'", optarg);
			break;
		case 'e':
			events = optarg;
			break;
		case OPT_JSON:
			st.json = 1;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_TIMEOUT:
			if (kiln_parse_duration(optarg, &timeout) < 0 || timeout <= 0)
				return usage_error("stat", "'--timeout' needs a duration such as 2s or 500ms, not '%s'", optarg);
			break;
		case OPT_INPUT:
			input = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return bad_option("stat", argv, optstring);
		}
	}
	int live_mode = L.pid > 0 || L.system_wide || L.interval > 0;
	if (L.pid > 0 && L.system_wide)
		return usage_error("stat", "-p counts one process and -a every process; give one");
	if (L.pid > 0 && optind < argc)
		return usage_error("stat", "give either a command or -p PID, not both");
	if (live_mode && repeat_given)
		return usage_error("stat", "-r repeats a command's runs; it does not go with -p, -a or -I");
	if (live_mode && st.json)
		return usage_error("stat", "--json reports a command's runs; with -p, -a or -I use -x for CSV");
	if (L.sep && st.json)
		return usage_error("stat", "-x (CSV) and --json exclude each other; give one");
	if (L.duration > 0 && !L.pid && !L.system_wide)
		return usage_error("stat", "--duration is for -p and -a; to stop a command use --timeout");
	if (optind >= argc && !L.pid && !L.system_wide)
		return usage_error("stat", "no command given; try 'kiln stat -- ./myprog', -p PID or -a");
	if (L.pid > 0 && kill(L.pid, 0) < 0 && errno == ESRCH) {
		kiln_error("no process with pid %d; check the number with 'ps'", (int)L.pid);
		return 1;
	}
	st.argv = optind < argc ? argv + optind : NULL;
	if (kiln_output_check(output) < 0)
		return 1;
	if (events) {
		size_t n;
		if (parse_events(events, &defs, &n) < 0)
			return 2;
		kc_counters_init(&st.cs, defs, n);
	} else {
		const struct kc_event_def *const *d;
		size_t n = kc_event_defaults(&d);
		kc_counters_init(&st.cs, d, n);
	}
	if (input) {
		input_fd = open(input, O_RDONLY | O_CLOEXEC);
		if (input_fd < 0) {
			kiln_error("cannot open input '%s': %s", input,
				   errno == ENOENT ? "no such file" : strerror(errno));
			goto out;
		}
	}
	if (live_mode) {
		struct kiln_output out;
		L.argv = st.argv;
		if (input_fd >= 0) {
			kiln_error("--input is for a command's runs; it does not go with -p, -a or -I");
			ret = 2;
			goto out;
		}
		if (output) {
			if (kiln_output_open(&out, output) < 0)
				goto out;
			L.out = out.fp;
		} else {
			L.out = stderr;
		}
		ret = live_run(&L, &st.cs);
		if (output && kiln_output_commit(&out) < 0 && !ret)
			ret = 1;
		goto out;
	}
	for (int m = 0; m < NMETRICS; m++)
		st.m[m] = xcalloc((size_t)st.runs, sizeof(double));
	st.cser = xcalloc(st.cs.n ? st.cs.n : 1, sizeof(*st.cser));
	for (size_t i = 0; i < st.cs.n; i++) {
		st.cser[i].v = xcalloc((size_t)st.runs, sizeof(double));
		st.cser[i].min_running = 1;
	}
	if (do_runs(&st, timeout, input_fd) < 0) {
		if (st.start_status)
			ret = st.start_status;
		goto out;
	}
	{
		struct kiln_output out;
		struct strbuf sb = STRBUF_INIT;
		if (L.sep) {
			if (output) {
				if (kiln_output_open(&out, output) < 0)
					goto out;
				report_csv(out.fp, &st, L.sep);
				if (kiln_output_commit(&out) < 0)
					goto out;
			} else {
				report_csv(stderr, &st, L.sep);
			}
		} else if (st.json) {
			report_json(&sb, &st);
			if (kiln_output_open(&out, output) < 0)
				goto out;
			fwrite(sb.buf, 1, sb.len, out.fp);
			if (kiln_output_commit(&out) < 0) {
				strbuf_release(&sb);
				goto out;
			}
		} else if (output) {
			if (kiln_output_open(&out, output) < 0)
				goto out;
			report_human(out.fp, &st);
			if (kiln_output_commit(&out) < 0)
				goto out;
		} else {
			report_human(stderr, &st);
		}
		strbuf_release(&sb);
	}
	/* like time(1) and perf stat: the command's own exit status */
	ret = st.exit_code;
out:
	if (input_fd >= 0)
		close(input_fd);
	for (int m = 0; m < NMETRICS; m++)
		free(st.m[m]);
	for (size_t i = 0; st.cser && i < st.cs.n; i++)
		free(st.cser[i].v);
	free(st.cser);
	kc_counters_release(&st.cs);
	free(defs);
	return ret;
}
