/* verdict.h: the parts of `kiln report` that answer "CPU-bound or waiting, and where":
 * the one-line verdict that opens the report, the time split of off-CPU profiles
 * (`kiln record --off-cpu`: running, runnable-but-waiting, blocked, per thread), and the
 * note about stacks that could not be unwound to their root. */
#ifndef KILN_REPORT_VERDICT_H
#define KILN_REPORT_VERDICT_H
#include "report/report.h"
#include "util/strbuf.h"
#include <stdio.h>

/* Time split of the kept samples of an off-CPU profile, in ns (all 0 otherwise). */
struct kr_split {
	double running, runnable, blocked, wall;
};

/* Whether p is an off-CPU profile (it has cpu_ns, off_cpu_ns and wall_ns values). */
int kr_is_offcpu(const struct kp_profile *p);

/* Sums the time split over the kept samples (o->keep), for thread index `thread`, or for
 * all threads when thread is (uint32_t)-1. */
void kr_split_sum(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct kr_split *s);

/* The verdict, one line without newline, into out. For off-CPU profiles: "waiting: 52%
 * of wall time blocked, mostly in read <- consume <- main (48%)" or "CPU-bound: 70% of
 * wall time on the CPU, mostly in ..."; for CPU profiles: "on-CPU profile (waiting not
 * recorded; see --off-cpu): hottest path
 * spin <- hot_a <- work_a (60.1% of samples)". */
void kr_verdict(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *out);

/* Prints the verdict as one line (the report's first). */
void kr_print_verdict(const struct kp_profile *p, const struct kr_opts *o, FILE *out);

/* The lines that follow the header: for off-CPU profiles the time split of the whole
 * profile and of each thread; for any profile the count of truncated stacks. */
void kr_print_split(const struct kp_profile *p, const struct kr_opts *o, FILE *out);

/* JSON hooks: kr_json_verdict appends ,"verdict":"..." (always); kr_json_thread_split
 * appends ,"running_ns":N,"runnable_ns":N,"blocked_ns":N for thread index `thread` of an
 * off-CPU profile (nothing otherwise). */
void kr_json_verdict(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *sb);
void kr_json_thread_split(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct strbuf *sb);

#endif
