/* cmdrun.h: run a command once and measure it: wall time (CLOCK_MONOTONIC, from just
 * before the process is created to just after it is reaped), user and system time, peak
 * RSS, page faults and context switches (wait4's rusage, which covers the command and
 * every descendant it waited for), optionally event counters (evcount.h).
 *
 * Without counters the command is started with posix_spawn (clone with CLONE_VFORK:
 * the cheapest way, as a benchmark harness must be). With counters it is forked and held
 * before exec until the counters are attached, so they count from its exec.
 *
 * Shells are the caller's business: pass { "sh", "-c", line, NULL } to run one. */
#ifndef KILN_COLLECT_CMDRUN_H
#define KILN_COLLECT_CMDRUN_H
#include <sys/types.h>

struct kc_counters;

struct kc_run_opts {
	char *const *argv;          /* argv[0] is looked up in PATH unless it has a '/' */
	int stdin_fd;               /* fds for the child's 0, 1, 2; -1 inherits kiln's */
	int stdout_fd;
	int stderr_fd;
	double timeout;             /* seconds; > 0 kills the command's process group then */
	struct kc_counters *counters; /* NULL: no counters */
	int sched;                  /* read the scheduler's run delay of the command's main
				     * process (/proc/PID/schedstat, before reaping it) */
};

struct kc_run_result {
	double wall, user, sys;     /* seconds */
	long max_rss_kb;            /* peak resident set size, KiB */
	int rss_upper_bound;        /* 1: max_rss_kb is only an upper bound. The kernel takes
				     * the larger of the command's peak and the RSS of the
				     * process that called exec (kiln's copy, or kiln itself
				     * with vfork): when the figure is not above kiln's own
				     * peak, the command's true peak is smaller or equal. */
	long minflt, majflt;        /* page faults */
	long nvcsw, nivcsw;         /* voluntary and involuntary context switches */
	int status;                 /* wait status (WIFEXITED ...) */
	int timed_out;              /* killed by the timeout */
	double run_delay;           /* seconds the main process was runnable but waiting for a
				     * CPU (with opts.sched); -1 when unknown */
	int start_status;           /* when kc_run failed to start the command: the status a
				     * shell gives, 127 (not found) or 126 (found, not runnable);
				     * else 0 */
};

/* Runs the command once and fills r. Returns 0 when it ran, whatever its exit status
 * (see r->status, r->timed_out); -1 with a one-line error when it could not be started
 * ("command not found", "permission denied"; r->start_status says 127 or 126). The caller's signal mask and SIGCHLD
 * handling are left as they were; the child starts with default signal dispositions
 * and an empty mask. */
int kc_run(const struct kc_run_opts *o, struct kc_run_result *r);

/* The exit code a shell would report: the exit status, or 128 + the signal. */
int kc_exit_code(int status);

/* Splits a command line into words as a POSIX shell would without expanding anything:
 * blanks separate words; '...' quotes literally; "..." quotes with \ escaping " \ $ `
 * and newline; \ outside quotes escapes the next character. Returns a NULL-terminated
 * malloc'd array of malloc'd strings (free with kc_argv_free), or NULL with a one-line
 * error for an unterminated quote or an empty command. */
char **kc_split_words(const char *line);
void kc_argv_free(char **argv);

#endif
