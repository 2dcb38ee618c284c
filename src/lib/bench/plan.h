/* plan.h: the list of benchmarks kiln bench runs: command templates expanded over the
 * parameters (-P scans, -L lists; {VAR} replaced in commands, names and helper commands),
 * the argv of each (through the shell, or split into words), unique names.
 *
 * Errors that are the user's (bad ranges, counts that do not match) return -1 with a
 * one-line message in err (no "kiln:" prefix; the command adds it and exits 2). */
#ifndef KILN_BENCH_PLAN_H
#define KILN_BENCH_PLAN_H
#include "collect/evcount.h"
#include "stats/benchfile.h"
#include <stddef.h>

#define KB_MAX_PARAM_VALUES 100000

struct kb_param {
	char *name;
	char **values;
	size_t n;
};

/* What the user asked for, before expansion. Strings are borrowed. */
struct kb_plan_spec {
	const char **commands, **names, **prepare, **conclude;
	size_t ncommands, nnames, nprepare, nconclude;
	const char *setup, *cleanup;
	const char *reference;       /* benchmarked first when set */
	const char *scan_var, *scan_min, *scan_max, *scan_step;   /* -P, -D */
	const struct kb_param *lists;                             /* -L */
	size_t nlists;
	char *const *shell_words;    /* NULL: no shell, commands are split into words */
};

/* One benchmark: its result, what runs, its helper commands (NULL when none). */
struct kb_bench {
	struct kb_result r;
	char **argv;
	char *prepare, *conclude, *setup, *cleanup;
	struct kc_counters cs;
};

/* Splits "a,b,c" into p (caller releases with kb_param_release). Returns 0 or -1 (err). */
int kb_param_split(const char *var, const char *list, struct kb_param *p, char *err, size_t errlen);
/* The values of -P VAR MIN MAX [-D STEP]: integers, or decimals with a step, printed with
 * as many decimals as the bounds and step. Returns 0 or -1 (err). */
int kb_param_scan(const char *var, const char *min, const char *max, const char *step,
		  struct kb_param *p, char *err, size_t errlen);
void kb_param_release(struct kb_param *p);
/* tmpl with every {NAME} of ps[k] replaced by ps[k].values[idx[k]]. Caller frees. */
char *kb_substitute(const char *tmpl, const struct kb_param *ps, size_t np, const size_t *idx);
/* The argv to run line: shell_words + "-c" + line, or line split into words. NULL (error
 * printed) for an unterminated quote or an empty command. Free with kc_argv_free. */
char **kb_command_argv(char *const *shell_words, const char *line);

/* Expands spec into *out (n benchmarks; the reference first when set). Returns 0; -1 with
 * err set for a usage error; -1 with err empty when a command line cannot be split (the
 * error is printed). Warns about a parameter no command uses. */
int kb_plan_build(const struct kb_plan_spec *spec, struct kb_bench **out, size_t *n,
		  char *err, size_t errlen);
void kb_benches_free(struct kb_bench *b, size_t n);

#endif
