/* verdict.h: the parts of `kiln report` that answer "CPU-bound or waiting, and where":
 * the one-line verdict that opens the report, the time split of off-CPU profiles
 * (`kiln record --off-cpu`: running, runnable-but-waiting, blocked, per thread), and the
 * note about stacks that could not be unwound to their root.
 *
 * The off-CPU verdict is about the run, not the sum of its threads: a thread waiting
 * while another thread or process of the run computes is not what the run waits for.
 * The run's timeline (kr_run_timeline) lays every kept sample on the clock: an on-CPU
 * sample covers its period before its time, an off-CPU interval its length. At each
 * moment the run is running (some thread on the CPU), else runnable (some thread waiting
 * for a CPU), else blocked (every thread it has there waits for something). A thread
 * blocked in wait4/waitid/waitpid waits for its own children, whose time is recorded
 * themselves: such a wait makes the run neither blocked nor running; only when nothing
 * else of the run is known at that moment (children not recorded) is it counted, as
 * waiting for children. So a shell running `tar | gzip` is not "waiting" while gzip
 * computes, and a pipe reader is only "waiting" when nothing of the run feeds it. */
#ifndef KILN_REPORT_VERDICT_H
#define KILN_REPORT_VERDICT_H
#include "report/report.h"
#include "util/strbuf.h"
#include <stdio.h>

/* Time split of the kept samples of an off-CPU profile, in ns (all 0 otherwise), summed
 * over threads; child_wait is the part of blocked spent waiting for child processes. */
struct kr_split {
	double running, runnable, blocked, wall;
	double child_wait;
};

/* The run's timeline (see the top of this file), in ns of wall-clock time: running +
 * runnable + blocked + child = wall, the recorded span of the run (moments of which
 * nothing is known are left out). */
struct kr_run {
	double running;     /* some kept thread on the CPU */
	double runnable;    /* none on the CPU, some waiting for a CPU */
	double blocked;     /* all blocked, waits for children aside */
	double child;       /* only waits for children known (the children not recorded) */
	double wall;
	double child_wait;  /* thread time spent waiting for children (not on the timeline) */
};

/* Lays the kept samples on the clock. When share is not NULL (nsamples entries) it gets,
 * for each off-CPU sample, its part of the run's runnable, blocked or child time (the
 * moments it counts for, each shared evenly among the threads waiting alike then), and 0
 * for other samples. All zero for profiles that are not off-CPU profiles. */
void kr_run_timeline(const struct kp_profile *p, const struct kr_opts *o, struct kr_run *r, double *share);

/* Whether p is an off-CPU profile (it has cpu_ns, off_cpu_ns and wall_ns values). */
int kr_is_offcpu(const struct kp_profile *p);

/* Sums the time split over the kept samples (o->keep), for thread index `thread`, or for
 * all threads when thread is (uint32_t)-1. */
void kr_split_sum(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct kr_split *s);

/* The verdict, one line without newline, into out. For off-CPU profiles, by the run's
 * timeline: "waiting: 52% of wall time blocked, mostly in read <- consume <- main (cat,
 * 48%); 30% on the CPU" (the path's share of the run's wall time; the process name when
 * the profile has more than one) or "CPU-bound: 97% of wall time on the CPU, mostly in
 * deflate <- zip <- main (gzip, 61% of the CPU time); 2% blocked, 1% waiting for a CPU";
 * for CPU profiles: "on-CPU profile (waiting not recorded; see --off-cpu): hottest path
 * spin <- hot_a <- work_a (60.1% of samples)"; for other profiles and folded text, the
 * value's own name or unit ("... (40.0% of nanoseconds)"). */
void kr_verdict(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *out);

/* Prints the verdict as one line (the report's first). */
void kr_print_verdict(const struct kp_profile *p, const struct kr_opts *o, FILE *out);

/* The lines that follow the header: for off-CPU profiles the time split of the whole
 * profile and of each thread; for any profile the count of truncated stacks. */
void kr_print_split(const struct kp_profile *p, const struct kr_opts *o, FILE *out);

/* JSON hooks: kr_json_verdict appends ,"verdict":"..." (always) and for off-CPU profiles
 * ,"run":{"wall_ns":N,"running_ns":N,"runnable_ns":N,"blocked_ns":N,"child_ns":N,
 * "child_wait_ns":N} (struct kr_run); kr_json_thread_split appends
 * ,"running_ns":N,"runnable_ns":N,"blocked_ns":N,"child_wait_ns":N for thread index
 * `thread` of an off-CPU profile (nothing otherwise; child_wait_ns is part of blocked_ns). */
void kr_json_verdict(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *sb);
void kr_json_thread_split(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct strbuf *sb);

#endif
