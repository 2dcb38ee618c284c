/* text.h: kiln bench's human output, formatted into a strbuf (the command prints it).
 *
 * Every benchmark has a label, "#1", "#2", ... in the order they ran. The tables show each
 * name in full next to its label when every name fits (KB_TEXT_NAME_COLS columns, printable);
 * otherwise they show labels only and a legend lists every label with its full command, so
 * that two long commands never look alike and the columns stay aligned at any length.
 * Control characters in a name are shown escaped (\n, \t, \xNN). */
#ifndef KILN_BENCH_TEXT_H
#define KILN_BENCH_TEXT_H
#include "bench/runner.h"
#include "stats/benchfile.h"
#include <stddef.h>

#define KB_TEXT_NAME_COLS 40

struct strbuf;

/* 1 when every name is at most KB_TEXT_NAME_COLS columns and has no control character. */
int kb_text_names_fit(const struct kb_result *r, size_t n);
/* Columns s takes on a terminal (UTF-8 code points; control characters as escaped). */
size_t kb_text_width(const char *s);
/* Appends s with control characters escaped. */
void kb_text_add_name(struct strbuf *sb, const char *s);
/* Appends s and pads it with spaces to width columns (left-aligned). */
void kb_text_pad(struct strbuf *sb, const char *s, size_t width);

/* The block of one result: "Benchmark #N: NAME", time, range, quantiles, CI, RSS, counters. */
void kb_text_result(struct strbuf *sb, const struct kb_result *r, size_t index);
/* The comparison table, its sentences and (when names do not fit) the legend.
 * base == NULL: cmp against the reference r[ref]; else against the baseline base. */
void kb_text_comparisons(struct strbuf *sb, const struct kb_result *r, size_t n,
			 const struct kb_comparison *cmp, size_t ncmp, size_t ref, int fixed_ref,
			 const struct kb_baseline *base);
/* The line that says what ended the run ("Ended: settled: ...", "Ended: precision met",
 * "Ended: stopped by --max-time", "Ended: stopped by --max-runs", "Ended: --runs N made").
 * cmp: the comparisons with the reference (for the settled sentence). */
void kb_text_ending(struct strbuf *sb, const struct kb_run_config *cfg, const struct kb_result *r,
		    size_t n, const struct kb_comparison *cmp, size_t ncmp);
/* "< 0.0001" or "0.0123". */
char *kb_text_p(char *buf, size_t len, double p);

#endif
