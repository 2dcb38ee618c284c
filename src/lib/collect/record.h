/* record.h: `kiln record` as a library call: run (or attach to) a program, sample it with
 * the collector, symbolize while recording, and write a self-contained kiln.prof.
 *
 * The profile (meta "kind" = "cpu") has value types "samples" (count) and the event's
 * period: "cpu_ns" (nanoseconds) for cpu-clock/task-clock, else the event's name (count,
 * e.g. "cycles"). The default value is "samples" for the timer events (their period is
 * fixed, so both give the same shares) and the event count for hardware events (their
 * period varies in frequency mode, so only the count weighs samples right).
 * Each sample keeps its time (ns since recording started) and thread; stacks are frames
 * per function and source line, inlined functions expanded, kernel frames flagged.
 * The file is written in chunks so a recorder killed with SIGKILL leaves a loadable
 * file: the first 50 ms after the start, then at gaps doubling up to one second. */
#ifndef KILN_COLLECT_RECORD_H
#define KILN_COLLECT_RECORD_H
#include <stddef.h>
#include <stdint.h>

struct kc_record_opts {
	const char *output;      /* profile path (default "kiln.prof") */
	const char *event;       /* event name; NULL: cycles, or cpu-clock without a PMU */
	unsigned freq;           /* samples per second (default 999) */
	int no_kernel;           /* user mode only */
	const int *pids;         /* attach to these processes (all their threads) ... */
	size_t npids;
	char **argv;             /* ... or run this command (NULL-terminated) */
	double duration;         /* stop after this many seconds (0: no limit) */
	int no_inline;           /* symbol options (see symbols.h) */
	int no_lines;
	int no_demangle;
	uint32_t stack_user_size; /* user stack bytes copied per sample (0: the default of the
				   * call-graph mode: 2 KiB for fp, KC_DWARF_STACK_DEFAULT else) */
	int call_graph;          /* enum kc_call_graph (unwind_dwarf.h); 0 = auto */
	int off_cpu;             /* also record off-CPU time (offcpu.h) */
	int python_internals;    /* keep the interpreter's own frames in Python stacks (pyframes.h) */
	/* issue 12 (perf record's -c, -a, -C, -t) */
	uint64_t period;         /* a fixed sampling period (-c; events per sample, ns for the
				  * timer events) instead of freq */
	int system_wide;         /* every process on the CPUs (-a; with argv: while it runs) */
	const int *cpus;         /* sample only on these CPUs (-C), NULL: every online CPU;
				  * without argv, pids or tids: system-wide on them */
	size_t ncpus;
	const int *tids;         /* attach to these threads only (-t; not their siblings, not
				  * threads they start) */
	size_t ntids;
};

struct kc_record_result {
	int exit_status;         /* the target's status (code, or 128+signal), 0 in attach mode;
				  * on failure, the status the command should exit with */
	uint64_t samples;        /* samples written */
	uint64_t lost;           /* samples (records) the kernel dropped */
	unsigned threads;        /* threads seen */
	unsigned processes;      /* processes seen */
	unsigned long long file_bytes;
	double seconds;          /* recording time */
	const char *event;       /* the event sampled (static string) */
	uint64_t leaf_fixed;     /* samples whose innermost caller was recovered from CFI */
	uint64_t stacks;         /* stacks unwound (samples, and switch-outs with --off-cpu) */
	uint64_t truncated;      /* of them, stacks that could not be unwound to their root */
	uint64_t spliced;        /* auto mode: DWARF stacks completed with the frame-pointer chain */
	uint64_t offcpu_intervals; /* off-CPU intervals recorded (--off-cpu) */
	double self_cpu;         /* kiln's own CPU seconds (user + system) */
	double target_cpu;       /* the command's CPU seconds, with its waited-for children */
	uint64_t ring_bytes;     /* bytes read from the kernel's rings */
	long max_rss_kb;         /* kiln's own peak resident memory */
	uint64_t python_merged;  /* samples given Python frames */
};

/* Records. Returns 0 when the profile was written (res says how it went and the target's
 * exit status), -1 after a one-line error: then no profile was written (or an existing
 * one kept), and res->exit_status is 127 (command not found), 126 (not executable) or 1. */
int kc_record(const struct kc_record_opts *o, struct kc_record_result *res);

#endif
