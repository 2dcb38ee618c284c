/* latency.h: `kiln latency` as a library call: time every call of chosen functions of a
 * program (started, or running with -p) with uprobes and uretprobes opened through
 * perf_event_open (the uprobe PMU: no tracefs), and aggregate the durations.
 *
 * Each probed function has an entry event and a return event on every CPU for every
 * followed task, with inherit so that threads and child processes created later are
 * traced too; all write into the collector's per-CPU rings (collector.h), whose merge
 * gives the records in time order. Entries and returns are paired per thread by
 * lat_pair.h (stack pointers tell recursion levels apart and show frames unwound by
 * longjmp). Calls that never returned and returns without an entry are counted apart.
 *
 * Fast mode: when no per-call detail is wanted (no stacks, by_caller or profile), a BPF
 * program attached to the probe events (latency_bpf.h) pairs and aggregates in the
 * kernel, and only the slowest calls come out; otherwise, or when BPF is unavailable,
 * every entry and return is read as above (set KILN_LATENCY_NO_BPF=1 to force that).
 *
 * Results: per function an HDR histogram (stats/hdr.h) of the durations, per calling
 * function with by_caller; the slowest calls (time, thread, caller, and with stacks the
 * call stack); and a profile (value types "calls" and "latency_ns", stacks root-first
 * ending in the probed function) that report, flame and diff read. */
#ifndef KILN_LATENCY_LATENCY_H
#define KILN_LATENCY_LATENCY_H
#include "latency/lat_funcs.h"
#include "profile/profile.h"
#include "stats/hdr.h"
#include <stddef.h>
#include <stdint.h>

struct lat_opts {
	const char *spec;        /* FUNC[,FUNC...] (lat_funcs.h) */
	char **argv;             /* run this command ... */
	int pid;                 /* ... or trace this process (all its threads) */
	int stacks;              /* record call stacks (frame pointers) */
	int by_caller;           /* split the distributions by calling function */
	int profile;             /* fill lat_result.prof's samples (calls and time per stack) */
	unsigned slowest;        /* how many slowest calls to keep (default 10) */
	double duration;         /* stop after this many seconds (0: when the target ends) */
	const volatile int *stop; /* set by the caller (a signal handler) to stop, or NULL */
};

struct lat_caller {
	kp_frame_t frame;        /* the calling function (in lat_result.prof) */
	struct hdr_hist h;
};

struct lat_func_result {
	struct lat_fn fn;
	struct hdr_hist h;
	uint64_t unmatched;      /* returns without their entry */
	uint64_t never_returned; /* entries without a return: longjmp, exit(), thread end */
	uint64_t in_progress;    /* entered and still running when tracing stopped */
	struct lat_caller *callers;
	size_t ncallers, callers_alloc;
};

struct lat_slow {
	uint32_t func;
	int32_t pid, tid;
	uint64_t start_ns;       /* since tracing started */
	uint64_t dur_ns;
	kp_frame_t caller;       /* 0 when unknown */
	kp_stack_t stack;        /* with stacks: root-first, ending in the function; else 0 */
	uint64_t ret_ip;         /* the return address (caller named from it) */
};

struct lat_result {
	struct lat_func_result *funcs;
	size_t nfuncs;
	struct lat_slow *slow;   /* slowest first */
	size_t nslow;
	struct kp_profile prof;  /* frames and stacks; samples per stack (calls, latency_ns) */
	int status;              /* the command's wait status (command mode) */
	int target_ran;          /* the command was started (its status is meaningful) */
	int exit_code;           /* on failure: the exit code to use (127 not found, ...) */
	uint64_t lost;           /* records the kernel dropped (rings full) */
	double seconds;          /* tracing time */
	unsigned threads;        /* threads seen (the first included) */
	unsigned processes;
	unsigned events;         /* perf event descriptors opened */
	int in_kernel;           /* the fast mode aggregated in the kernel (BPF) */
	const char *fast_off;    /* why the fast mode was not used (static string), or NULL */
};

/* Runs and traces. Returns 0 (r filled, whatever the target's exit), or -1 after a
 * one-line error (r->exit_code says how to exit). Call lat_result_release after. */
int lat_run(const struct lat_opts *o, struct lat_result *r);
void lat_result_release(struct lat_result *r);

#endif
