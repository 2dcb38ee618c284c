/* benchfile.h: kiln bench's results: the model, its JSON export (a superset of
 * hyperfine's --export-json, also the baseline format), CSV and Markdown exports, and
 * loading a saved file back as a baseline.
 *
 * The JSON format ("kiln_format": 1) is documented in docs/kiln-bench.md. Stability
 * promise: within format 1, fields are only ever added; none is removed, renamed or
 * changes meaning. A reader must ignore fields it does not know. */
#ifndef KILN_STATS_BENCHFILE_H
#define KILN_STATS_BENCHFILE_H
#include "stats/stats.h"
#include <stddef.h>

#define KB_FORMAT 1

struct strbuf;

struct kb_counter_series {
	char *name;               /* perf event name */
	int supported;            /* 0: reason says why */
	char *reason;
	const char *unit;         /* "ns" or "count" */
	int scaled;               /* multiplexed in some run */
	double *v;                /* per run; NaN where not counted */
};

struct kb_result {
	char *name;               /* "command" in JSON: the -n name or the command line */
	char *command;            /* the command line run (parameters substituted) */
	char **param_names, **param_values;
	size_t nparams;
	size_t n, alloc;          /* runs */
	double *times;            /* wall seconds per run, shell start-up subtracted */
	double *user, *sys;       /* seconds per run, shell start-up subtracted */
	double *rss;              /* peak RSS per run, bytes */
	int *exit_codes;
	struct kb_counter_series *counters;
	size_t ncounters;
	/* filled by kb_result_finish */
	struct ks_summary s;
	struct ks_interval ci;    /* 95% CI of the mean */
	size_t outliers;          /* by the modified z-score (KS_OUTLIER_Z) */
	double mean_user, mean_sys, max_rss;
	int rss_upper_bound;      /* some run's peak RSS was only an upper bound (cmdrun.h) */
};

/* A comparison of one result against a reference (another command or a baseline). */
struct kb_comparison {
	size_t result;            /* index into the results */
	const char *reference;    /* name of the reference */
	struct ks_comparison c;   /* ratio = mean(result) / mean(reference) */
	int valid;                /* 0 when the test could not be made */
};

struct kb_settings {
	const char *shell;        /* NULL: no shell */
	double shell_spawn;       /* mean seconds subtracted from each run */
	double alpha;
	double precision;         /* target relative half-width of the 95% CI */
	int interleaved;
	long warmup;
};

/* Appends one run to r (grows the arrays). ncounters values in counter_values (NaN where
 * not counted), may be NULL when r->ncounters is 0. */
void kb_result_add(struct kb_result *r, double wall, double user, double sys, double rss,
		   int exit_code, const double *counter_values);
/* Computes summary, CI and outliers from the runs. */
void kb_result_finish(struct kb_result *r);
void kb_result_release(struct kb_result *r);

/* Writes the JSON document: { kiln_format, kiln_version, settings, results: [...],
 * comparisons: [...] } (comparisons may be NULL/0). */
void kb_write_json(struct strbuf *sb, const struct kb_settings *set, const struct kb_result *r,
		   size_t n, const struct kb_comparison *cmp, size_t ncmp);
/* hyperfine's CSV columns: command,mean,stddev,median,user,system,min,max (seconds),
 * then kiln's: p95,p99,runs, then parameter_<name> columns if any. */
void kb_write_csv(struct strbuf *sb, const struct kb_result *r, size_t n);
/* hyperfine's Markdown table: Command | Mean [unit] | Min | Max | Relative, relative to
 * the result at index ref. */
void kb_write_markdown(struct strbuf *sb, const struct kb_result *r, size_t n, size_t ref);

/* A baseline loaded from a JSON file: kiln's format, or hyperfine's --export-json
 * (no kiln_format field; results with command and times). */
struct kb_baseline_entry {
	char *name;
	double *times;
	size_t n;
	double mean;
};
struct kb_baseline {
	char *path;
	int kiln_format;          /* 0 for a hyperfine file */
	struct kb_baseline_entry *e;
	size_t n;
};
/* Loads and validates path. Returns 0, or -1 with a one-line error: missing, unreadable,
 * not JSON (with line and column), a newer kiln_format, no results, an entry without
 * "command" or without a non-empty "times" array of non-negative finite numbers. */
int kb_baseline_load(const char *path, struct kb_baseline *b);
/* The entry named name, or NULL. */
const struct kb_baseline_entry *kb_baseline_find(const struct kb_baseline *b, const char *name);
void kb_baseline_release(struct kb_baseline *b);

#endif
