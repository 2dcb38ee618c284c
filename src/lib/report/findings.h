/* findings.h: what `kiln report` says to do next. Each finding is a fact checked on this
 * profile (a share, a count, a flag recorded with the frames), never generic advice:
 *
 *   hotspot           a function with more than 5% of the samples' self value: its share,
 *                     the 95% confidence interval of that share from the sample count
 *                     (Wilson score interval), and the Amdahl ceiling 1/(1-share); and a
 *                     path (leaf <- caller <- caller) above 5% whose leaf has other paths
 *                     (with 10% of the leaf's time or more)
 *   debug_build       5% or more of the samples land in code compiled without
 *                     optimisation (DWARF producer -O0, flagged KP_FRAME_UNOPT at record)
 *   truncated_stacks  5% or more of the stacks could not be unwound to their root
 *   no_frame_pointers a frame-pointer recording where 20% or more of the stacks do not
 *                     reach the program's entry (code built without frame pointers)
 *   few_samples       the top function's share is known to worse than +-2 points
 *   waiting           wall time far above CPU time (a CPU profile's samples cover less
 *                     than half the wall time of its threads)
 *   io_bound          an off-CPU profile whose threads spent most of their time blocked
 *   no_symbols        10% or more of the samples land in code without symbols
 *
 * Build computes; print and JSON format. docs/kiln-report.md documents them. */
#ifndef KILN_REPORT_FINDINGS_H
#define KILN_REPORT_FINDINGS_H
#include "report/report.h"
#include "util/strbuf.h"
#include <stdio.h>

#define KR_HOTSPOT_SHARE 0.05
#define KR_MAX_HOTSPOTS 5

struct kr_finding {
	const char *kind;     /* static string: "hotspot", "debug_build", ... */
	char *message;        /* one sentence, owned */
	double share;         /* the share of samples (0..1) it is about; -1 when none */
	double ci_lo, ci_hi;  /* hotspot: 95% interval of share; -1 otherwise */
	double max_speedup;   /* hotspot: 1/(1-share); 0 otherwise */
	char *name;           /* hotspot: function name; others: NULL (owned) */
	char *modules;        /* debug_build, no_symbols: comma-separated basenames (owned) */
	char *path;           /* hotspot of a path: "leaf <- caller <- caller" (owned), else NULL */
};

struct kr_findings {
	struct kr_finding *f;
	uint32_t n, alloc;
};

/* Computes the findings of the kept samples of p in value o->value. */
void kr_findings_build(const struct kp_profile *p, const struct kr_opts *o, struct kr_findings *out);
void kr_findings_release(struct kr_findings *f);

/* The 95% Wilson score interval of k successes in n trials. */
void kr_wilson(double k, double n, double *lo, double *hi);

/* Text: "what to do next:" and one line per finding (nothing when there is none). */
void kr_print_findings(const struct kp_profile *p, const struct kr_opts *o, FILE *out);
/* JSON: appends ,"findings":[...] (always, possibly empty). */
void kr_json_findings(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *sb);

#endif
