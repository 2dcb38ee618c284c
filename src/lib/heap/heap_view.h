/* heap_view.h: views of a heap profile (meta "kind" = "heap") besides the report:
 * the summary figures, memory over time as an SVG chart, and the histogram of
 * allocation sizes. heap_report.h prints the report itself. */
#ifndef KILN_HEAP_VIEW_H
#define KILN_HEAP_VIEW_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* 1 if p was written by kiln heap. */
int heap_is_profile(const struct kp_profile *p);

struct heap_summary {
	const char *command;
	int sampled;
	double sample_bytes;
	double allocs, bytes, temps;        /* from the samples (keep applies) */
	double leaked_count, leaked_bytes;
	double peak_bytes;                  /* sum of the stacks' peak bytes */
	double peak_time_s;                 /* -1 when unknown */
	double peak_rss;                    /* -1 when unknown */
	double duration_s;                  /* -1 when unknown */
	double processes;
	double recorder_rss;                /* kiln heap's own peak RSS, -1 when unknown */
	double recorder_cpu;                /* kiln heap's own CPU seconds, -1 when unknown */
	const char *exit;                   /* "exit 0", "signal 9 (SIGKILL)", or NULL */
	double suppressed_count, suppressed_bytes; /* leaks hidden by suppressions (the
					     * report sets them; leaked_* exclude them) */
	int complete;                       /* summary meta present (recording finished) */
};

/* Fills s from p's samples (those with keep[i] when keep is not NULL) and metadata. */
void heap_summary_get(const struct kp_profile *p, const uint8_t *keep, struct heap_summary *s);

/* "512 B", "1.5 KiB", "12.3 MiB" */
void heap_fmt_bytes(double b, char *buf, size_t n);
/* "1,234,567" (rounded) */
void heap_fmt_count(double v, char *buf, size_t n);

struct heap_chart_opts {
	int top;            /* contributors drawn separately (default 8) */
	int width, height;  /* default 1200 x 600 */
	const char *title;  /* default: "Heap memory over time: COMMAND" */
	const uint8_t *keep;
};
/* Writes a self-contained SVG of live heap bytes over time, the largest allocation
 * sites stacked, the rest as "other", with the peak marked. Returns 0, or -1 on a write
 * error. */
int heap_chart_svg(const struct kp_profile *p, const struct heap_chart_opts *o, FILE *out);

/* Prints the histogram of allocation sizes (power-of-two buckets), as text or JSON.
 * Returns 0, -1 on a write error, or 1 when the profile holds no histogram. */
int heap_histogram_print(const struct kp_profile *p, int json, FILE *out);

#endif
