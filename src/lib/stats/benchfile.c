/* benchfile.c: kiln bench's result model, JSON/CSV/Markdown exports, baseline loading. */
#include "stats/benchfile.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

void kb_result_add(struct kb_result *r, double wall, double user, double sys, double rss,
		   int exit_code, const double *counter_values)
{
	if (r->n + 1 > r->alloc) {
		size_t na = r->alloc * 2 + 16;
		r->times = xreallocarray(r->times, na, sizeof(double));
		r->user = xreallocarray(r->user, na, sizeof(double));
		r->sys = xreallocarray(r->sys, na, sizeof(double));
		r->rss = xreallocarray(r->rss, na, sizeof(double));
		r->exit_codes = xreallocarray(r->exit_codes, na, sizeof(int));
		for (size_t i = 0; i < r->ncounters; i++)
			r->counters[i].v = xreallocarray(r->counters[i].v, na, sizeof(double));
		r->alloc = na;
	}
	r->times[r->n] = wall;
	r->user[r->n] = user;
	r->sys[r->n] = sys;
	r->rss[r->n] = rss;
	r->exit_codes[r->n] = exit_code;
	for (size_t i = 0; i < r->ncounters; i++)
		r->counters[i].v[r->n] = counter_values ? counter_values[i] : NAN;
	r->n++;
}

void kb_result_finish(struct kb_result *r)
{
	ks_summarize(r->times, r->n, &r->s);
	r->ci = ks_mean_ci_from(r->s.mean, r->s.stddev, r->n, 0.95);
	if (r->n) {
		double *sorted = xmalloc(r->n * sizeof(double));
		memcpy(sorted, r->times, r->n * sizeof(double));
		ks_sort(sorted, r->n);
		r->median_ci = ks_median_ci_sorted(sorted, r->n, 0.95);
		free(sorted);
	}
	r->outliers = ks_outliers_mad(r->times, r->n, KS_OUTLIER_Z, NULL);
	r->mean_user = ks_mean(r->user, r->n);
	r->mean_sys = ks_mean(r->sys, r->n);
	r->max_rss = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->rss[i] > r->max_rss)
			r->max_rss = r->rss[i];
}

void kb_result_release(struct kb_result *r)
{
	free(r->name);
	free(r->command);
	for (size_t i = 0; i < r->nparams; i++) {
		free(r->param_names[i]);
		free(r->param_values[i]);
	}
	free(r->param_names);
	free(r->param_values);
	free(r->times);
	free(r->user);
	free(r->sys);
	free(r->rss);
	free(r->exit_codes);
	for (size_t i = 0; i < r->ncounters; i++) {
		free(r->counters[i].name);
		free(r->counters[i].reason);
		free(r->counters[i].v);
	}
	free(r->counters);
	memset(r, 0, sizeof(*r));
}

const char *kb_stop_id(int stop)
{
	switch (stop) {
	case KB_STOP_RUNS:
		return "runs";
	case KB_STOP_SETTLED:
		return "settled";
	case KB_STOP_PRECISION:
		return "precision";
	case KB_STOP_MAX_RUNS:
		return "max-runs";
	case KB_STOP_MAX_TIME:
		return "max-time";
	}
	return "";
}

/* ---- JSON ---- */

static void jnum(struct strbuf *sb, double v)
{
	if (!isfinite(v))
		strbuf_addstr(sb, "null");
	else
		strbuf_addf(sb, "%.17g", v);
}

static void jinterval(struct strbuf *sb, const struct ks_interval *ci)
{
	if (!ci || !ci->bounded) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_addch(sb, '[');
	jnum(sb, ci->lo);
	strbuf_addstr(sb, ", ");
	jnum(sb, ci->hi);
	strbuf_addch(sb, ']');
}

static void jstr(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s, strlen(s));
	strbuf_addch(sb, '"');
}

static void jarray(struct strbuf *sb, const double *v, size_t n, const char *indent)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(sb, "%s\n%s  ", i ? "," : "", indent);
		jnum(sb, v[i]);
	}
	if (n)
		strbuf_addf(sb, "\n%s", indent);
	strbuf_addch(sb, ']');
}

static void jfield(struct strbuf *sb, const char *key, double v)
{
	strbuf_addf(sb, ",\n      \"%s\": ", key);
	jnum(sb, v);
}

static void write_result(struct strbuf *sb, const struct kb_result *r)
{
	strbuf_addstr(sb, "    {\n      \"command\": ");
	jstr(sb, r->name);
	jfield(sb, "mean", r->s.mean);
	jfield(sb, "stddev", r->s.stddev);
	jfield(sb, "median", r->s.median);
	jfield(sb, "user", r->mean_user);
	jfield(sb, "system", r->mean_sys);
	jfield(sb, "min", r->s.min);
	jfield(sb, "max", r->s.max);
	strbuf_addstr(sb, ",\n      \"times\": ");
	jarray(sb, r->times, r->n, "      ");
	strbuf_addstr(sb, ",\n      \"exit_codes\": [");
	for (size_t i = 0; i < r->n; i++)
		strbuf_addf(sb, "%s%d", i ? ", " : "", r->exit_codes[i]);
	strbuf_addch(sb, ']');
	if (r->nparams) {
		strbuf_addstr(sb, ",\n      \"parameters\": {");
		for (size_t i = 0; i < r->nparams; i++) {
			strbuf_addstr(sb, i ? ", " : " ");
			jstr(sb, r->param_names[i]);
			strbuf_addstr(sb, ": ");
			jstr(sb, r->param_values[i]);
		}
		strbuf_addstr(sb, " }");
	}
	/* kiln's additions */
	strbuf_addstr(sb, ",\n      \"command_line\": ");
	jstr(sb, r->command);
	strbuf_addf(sb, ",\n      \"runs\": %zu", r->n);
	jfield(sb, "p95", r->s.p95);
	jfield(sb, "p99", r->s.p99);
	jfield(sb, "mad", r->s.mad);
	strbuf_addstr(sb, ",\n      \"ci95\": ");
	if (r->ci.bounded) {
		strbuf_addch(sb, '[');
		jnum(sb, r->ci.lo);
		strbuf_addstr(sb, ", ");
		jnum(sb, r->ci.hi);
		strbuf_addch(sb, ']');
	} else {
		strbuf_addstr(sb, "null");
	}
	strbuf_addstr(sb, ",\n      \"median_ci95\": ");
	jinterval(sb, &r->median_ci);
	strbuf_addf(sb, ",\n      \"outliers\": %zu", r->outliers);
	if (r->stop)
		strbuf_addf(sb, ",\n      \"stopped_by\": \"%s\"", kb_stop_id(r->stop));
	jfield(sb, "max_rss", r->max_rss);
	strbuf_addf(sb, ",\n      \"max_rss_upper_bound\": %s", r->rss_upper_bound ? "true" : "false");
	strbuf_addstr(sb, ",\n      \"memory_usage_byte\": [");
	for (size_t i = 0; i < r->n; i++) {
		strbuf_addstr(sb, i ? ", " : "");
		jnum(sb, r->rss[i]);
	}
	strbuf_addstr(sb, "],\n      \"user_times\": ");
	jarray(sb, r->user, r->n, "      ");
	strbuf_addstr(sb, ",\n      \"system_times\": ");
	jarray(sb, r->sys, r->n, "      ");
	strbuf_addstr(sb, ",\n      \"counters\": {");
	for (size_t i = 0; i < r->ncounters; i++) {
		const struct kb_counter_series *c = &r->counters[i];
		strbuf_addf(sb, "%s\n        ", i ? "," : "");
		jstr(sb, c->name);
		if (!c->supported) {
			strbuf_addstr(sb, ": { \"supported\": false, \"reason\": ");
			jstr(sb, c->reason ? c->reason : "not supported");
			strbuf_addstr(sb, " }");
			continue;
		}
		size_t counted = 0;
		double sum = 0;
		for (size_t k = 0; k < r->n; k++)
			if (!isnan(c->v[k]))
				counted++, sum += c->v[k];
		strbuf_addf(sb, ": { \"supported\": true, \"unit\": \"%s\", \"scaled\": %s, \"mean\": ",
			    c->unit, c->scaled ? "true" : "false");
		jnum(sb, counted ? sum / (double)counted : NAN);
		strbuf_addstr(sb, ", \"values\": [");
		for (size_t k = 0; k < r->n; k++) {
			strbuf_addstr(sb, k ? ", " : "");
			jnum(sb, c->v[k]);
		}
		strbuf_addstr(sb, "] }");
	}
	strbuf_addstr(sb, r->ncounters ? "\n      }\n    }" : "}\n    }");
}

void kb_write_json(struct strbuf *sb, const struct kb_settings *set, const struct kb_result *r,
		   size_t n, const struct kb_comparison *cmp, size_t ncmp)
{
	strbuf_addf(sb, "{\n  \"kiln_format\": %d,\n  \"kiln_version\": \"%s\",\n", KB_FORMAT,
#ifdef KILN_VERSION
		    KILN_VERSION
#else
		    "unknown"
#endif
	);
	strbuf_addstr(sb, "  \"settings\": {\n    \"shell\": ");
	if (set->shell)
		jstr(sb, set->shell);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ",\n    \"shell_spawn_time\": ");
	jnum(sb, set->shell_spawn);
	strbuf_addstr(sb, ",\n    \"alpha\": ");
	jnum(sb, set->alpha);
	strbuf_addstr(sb, ",\n    \"precision\": ");
	jnum(sb, set->precision);
	strbuf_addf(sb, ",\n    \"interleaved\": %s,\n    \"warmup\": %ld,\n    \"order_seed\": %llu\n  },\n  \"results\": [\n",
		    set->interleaved ? "true" : "false", set->warmup, set->seed);
	for (size_t i = 0; i < n; i++) {
		write_result(sb, &r[i]);
		strbuf_addstr(sb, i + 1 < n ? ",\n" : "\n");
	}
	strbuf_addstr(sb, "  ],\n  \"comparisons\": [");
	for (size_t i = 0; i < ncmp; i++) {
		const struct kb_comparison *c = &cmp[i];
		strbuf_addf(sb, "%s\n    { \"command\": ", i ? "," : "");
		jstr(sb, r[c->result].name);
		strbuf_addstr(sb, ", \"reference\": ");
		jstr(sb, c->reference);
		strbuf_addstr(sb, ", \"ratio\": ");
		jnum(sb, c->valid ? c->mean_ratio : NAN);
		strbuf_addstr(sb, ", \"ratio_ci\": ");
		jinterval(sb, c->valid && c->test == KB_TEST_WELCH ? &c->ci : NULL);
		strbuf_addstr(sb, ", \"p_value\": ");
		jnum(sb, c->valid ? c->p : NAN);
		strbuf_addf(sb, ", \"p_exact\": false, \"verdict\": \"%s\",\n      \"test\": \"%s\", \"alpha\": ",
			    !c->valid ? "unknown" : c->verdict > 0 ? "slower" : c->verdict < 0 ? "faster" : "same",
			    c->test == KB_TEST_SEQUENTIAL ? "anytime-valid-sign" : "welch");
		jnum(sb, c->alpha);
		strbuf_addf(sb, ", \"estimate\": { \"kind\": \"%s\", \"value\": ",
			    c->test == KB_TEST_SEQUENTIAL ? "median-round-ratio" : "ratio-of-means");
		jnum(sb, c->valid ? c->ratio : NAN);
		strbuf_addstr(sb, ", \"ci\": ");
		jinterval(sb, c->valid ? &c->ci : NULL);
		strbuf_addstr(sb, ", \"resolution\": ");
		jnum(sb, c->valid ? c->resolution : NAN);
		strbuf_addstr(sb, " } }");
	}
	strbuf_addstr(sb, ncmp ? "\n  ]\n}\n" : "]\n}\n");
}

/* ---- CSV and Markdown ---- */

static void csv_field(struct strbuf *sb, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

void kb_write_csv(struct strbuf *sb, const struct kb_result *r, size_t n)
{
	strbuf_addstr(sb, "command,mean,stddev,median,user,system,min,max,p95,p99,runs");
	if (n)
		for (size_t i = 0; i < r[0].nparams; i++) {
			strbuf_addstr(sb, ",parameter_");
			strbuf_addstr(sb, r[0].param_names[i]);
		}
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < n; i++) {
		csv_field(sb, r[i].name);
		strbuf_addf(sb, ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%zu", r[i].s.mean,
			    r[i].s.stddev, r[i].s.median, r[i].mean_user, r[i].mean_sys, r[i].s.min,
			    r[i].s.max, r[i].s.p95, r[i].s.p99, r[i].n);
		for (size_t k = 0; k < r[i].nparams && k < r[0].nparams; k++) {
			strbuf_addch(sb, ',');
			csv_field(sb, r[i].param_values[k]);
		}
		strbuf_addch(sb, '\n');
	}
}

static void md_cell(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '`');
	for (; *s; s++) {
		if (*s == '|')
			strbuf_addstr(sb, "\\|");
		else if (*s == '\n')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '`');
}

void kb_write_markdown(struct strbuf *sb, const struct kb_result *r, size_t n, size_t ref)
{
	double maxmean = 0, mul;
	const char *unit;
	for (size_t i = 0; i < n; i++)
		if (r[i].s.mean > maxmean)
			maxmean = r[i].s.mean;
	if (maxmean >= 1)
		mul = 1, unit = "s";
	else
		mul = 1e3, unit = "ms";
	strbuf_addf(sb, "| Command | Mean [%s] | Min [%s] | Max [%s] | Relative |\n", unit, unit, unit);
	strbuf_addstr(sb, "|:---|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < n; i++) {
		const struct kb_result *a = &r[i], *b = &r[ref < n ? ref : 0];
		strbuf_addstr(sb, "| ");
		md_cell(sb, a->name);
		strbuf_addf(sb, " | %.1f ± %.1f | %.1f | %.1f | ", a->s.mean * mul, a->s.stddev * mul,
			    a->s.min * mul, a->s.max * mul);
		if (a == b || b->s.mean <= 0) {
			strbuf_addstr(sb, "1.00 |\n");
		} else {
			double ratio = a->s.mean / b->s.mean;
			/* error propagation for the relative stddev, as hyperfine reports it */
			double rel = a->s.mean > 0 ? sqrt(pow(a->s.stddev / a->s.mean, 2) +
							  pow(b->s.stddev / b->s.mean, 2)) : 0;
			strbuf_addf(sb, "%.2f ± %.2f |\n", ratio, ratio * rel);
		}
	}
}

/* ---- baselines ---- */

static int bad(const char *path, const char *what)
{
	return kiln_error("baseline '%s' %s; write one with 'kiln bench --save-baseline FILE'", path, what);
}

int kb_baseline_load(const char *path, struct kb_baseline *b)
{
	json_error_t jerr;
	json_t *root, *results, *fmt;
	struct stat st;
	int ret = -1;
	memset(b, 0, sizeof(*b));
	if (stat(path, &st) < 0)
		return kiln_error("cannot open baseline '%s': %s", path,
				  errno == ENOENT ? "no such file" : strerror(errno));
	if (S_ISDIR(st.st_mode))
		return kiln_error("cannot read baseline '%s': it is a directory", path);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (jerr.line <= 0 && strstr(jerr.text, "unable to open"))
			return kiln_error("cannot open baseline '%s': %s", path, strerror(errno ? errno : EACCES));
		return kiln_error("baseline '%s' is not valid JSON (line %d, column %d: %s)", path, jerr.line,
				  jerr.column, jerr.text);
	}
	if (!json_is_object(root)) {
		bad(path, "is not a kiln bench or hyperfine JSON export (no top-level object)");
		goto out;
	}
	fmt = json_object_get(root, "kiln_format");
	if (fmt) {
		if (!json_is_integer(fmt) || json_integer_value(fmt) < 1) {
			bad(path, "has an invalid \"kiln_format\"");
			goto out;
		}
		if (json_integer_value(fmt) > KB_FORMAT) {
			kiln_error("baseline '%s' has kiln_format %lld; this kiln reads format %d: update kiln",
				   path, (long long)json_integer_value(fmt), KB_FORMAT);
			goto out;
		}
		b->kiln_format = (int)json_integer_value(fmt);
	}
	results = json_object_get(root, "results");
	if (!json_is_array(results)) {
		bad(path, "has no \"results\" array");
		goto out;
	}
	if (!json_array_size(results)) {
		bad(path, "has no results");
		goto out;
	}
	b->n = json_array_size(results);
	b->e = xcalloc(b->n, sizeof(*b->e));
	for (size_t i = 0; i < b->n; i++) {
		json_t *r = json_array_get(results, i), *cmd, *times;
		struct kb_baseline_entry *e = &b->e[i];
		char what[160];
		cmd = json_is_object(r) ? json_object_get(r, "command") : NULL;
		if (!json_is_string(cmd)) {
			snprintf(what, sizeof(what), "has a result (number %zu) without a \"command\"", i + 1);
			bad(path, what);
			goto out;
		}
		e->name = xstrdup(json_string_value(cmd));
		for (size_t k = 0; k < i; k++)
			if (!strcmp(b->e[k].name, e->name)) {
				kiln_error("baseline '%s' has two results for '%s'", path, e->name);
				goto out;
			}
		times = json_object_get(r, "times");
		if (!json_is_array(times) || !json_array_size(times)) {
			kiln_error("baseline '%s' has no run times for '%s'; re-save it with --save-baseline",
				   path, e->name);
			goto out;
		}
		e->n = json_array_size(times);
		e->times = xcalloc(e->n, sizeof(double));
		for (size_t k = 0; k < e->n; k++) {
			json_t *t = json_array_get(times, k);
			double v = json_is_number(t) ? json_number_value(t) : NAN;
			if (!isfinite(v) || v < 0) {
				kiln_error("baseline '%s' has a bad run time for '%s' (number %zu)", path,
					   e->name, k + 1);
				goto out;
			}
			e->times[k] = v;
		}
		e->mean = ks_mean(e->times, e->n);
	}
	b->path = xstrdup(path);
	ret = 0;
out:
	json_decref(root);
	if (ret < 0)
		kb_baseline_release(b);
	return ret;
}

const struct kb_baseline_entry *kb_baseline_find(const struct kb_baseline *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->e[i].name, name))
			return &b->e[i];
	return NULL;
}

void kb_baseline_release(struct kb_baseline *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].name);
		free(b->e[i].times);
	}
	free(b->e);
	free(b->path);
	memset(b, 0, sizeof(*b));
}
