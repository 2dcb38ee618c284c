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

/* What ended the measurement of a command (its "stopped_by" in JSON). */
enum kb_stop {
	KB_STOP_NONE = 0,         /* not measured (yet) */
	KB_STOP_RUNS,             /* --runs N were made */
	KB_STOP_SETTLED,          /* every comparison became significant (sequential test) */
	KB_STOP_PRECISION,        /* every mean reached the --precision target */
	KB_STOP_MAX_RUNS,         /* --max-runs reached first */
	KB_STOP_MAX_TIME,         /* the --max-time budget ran out first */
};
/* "runs", "settled", "precision", "max-runs", "max-time" ("" for KB_STOP_NONE). */
const char *kb_stop_id(int stop);

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
	struct ks_interval median_ci; /* 95% CI of the median (distribution-free) */
	size_t outliers;          /* by the modified z-score (KS_OUTLIER_Z) */
	double mean_user, mean_sys, max_rss;
	int rss_upper_bound;      /* some run's peak RSS was only an upper bound (cmdrun.h) */
	int stop;                 /* enum kb_stop: what ended the runs */
	double seconds;           /* time spent measuring (a round's time for interleaved runs) */
};

/* The test behind a comparison. */
enum kb_test {
	KB_TEST_SEQUENTIAL = 1,   /* anytime-valid paired sign test (stats/seqtest.h): interleaved */
	KB_TEST_WELCH,            /* Welch's t-test with Fieller's interval (ks_compare) */
};

/* A comparison of one result against a reference (another command or a baseline). The
 * verdict, p and the interval come from one test and agree: verdict != 0 exactly when
 * p <= alpha, exactly when 1 is outside ci. */
struct kb_comparison {
	size_t result;            /* index into the results */
	const char *reference;    /* name of the reference (a result's name or a baseline path) */
	size_t ref_result;        /* index of the reference result; KB_NO_RESULT for a baseline */
	int valid;                /* 0 when the test could not be made (too few runs) */
	int test;                 /* enum kb_test */
	double alpha;             /* the level it was tested at (alpha / comparisons: Bonferroni) */
	double mean_ratio;        /* mean(result) / mean(reference), as hyperfine's "relative" */
	double ratio;             /* the test's estimate: the median of the per-round ratios
				   * (KB_TEST_SEQUENTIAL), or mean_ratio (KB_TEST_WELCH) */
	struct ks_interval ci;    /* of ratio, at 1 - alpha above */
	double p;                 /* the test's p-value */
	double resolution;        /* half-width of ci relative to ratio; INFINITY: unbounded */
	int verdict;              /* +1 slower, -1 faster, 0 no significant difference */
};
#define KB_NO_RESULT ((size_t)-1)

struct kb_settings {
	const char *shell;        /* NULL: no shell */
	double shell_spawn;       /* mean seconds subtracted from each run */
	double alpha;
	double precision;         /* target relative half-width of the 95% CI */
	int interleaved;
	long warmup;
	unsigned long long seed;  /* of the round orders */
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
