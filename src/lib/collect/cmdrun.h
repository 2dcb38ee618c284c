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

/* ---- a target that dies with kiln ----
 * kiln record and kiln heap fork their target. When kiln is killed (SIGKILL, OOM) the
 * target must not run on as an orphan, and what kiln keeps in /dev/shm for it must go.
 * Two mechanisms, because neither covers every case alone:
 *  - kc_child_tie(), in the forked child before exec: PR_SET_PDEATHSIG(SIGKILL). The
 *    kernel sends it when the *thread* that forked exits, so the fork must come from
 *    kiln's main thread (it does; kiln never ends its main thread before exiting); and
 *    it is cleared when the target changes credentials (execs a set-user-ID program,
 *    setuid(), setpriv --reuid ...).
 *  - kc_tie_start(), in kiln after the fork: a small guard process (a fork of kiln in a
 *    session of its own, holding a pidfd of the target and the read end of a pipe whose
 *    only write end kiln holds). When kiln dies the pipe reads EOF: the guard kills the
 *    target through the pidfd (never a reused pid) and removes the session directory.
 *    kc_tie_reaped() tells it the target is gone; kc_tie_stop() ends it quietly.
 * Only the target itself is killed, not processes it started (as with a shell's job). */
struct kc_tie {
	pid_t guard;                /* -1: none */
	int fd;                     /* write end of the pipe to the guard, -1 when none */
};

/* In the child after fork, before exec: die with SIGKILL when the parent (pid parent,
 * from getpid() before the fork) ends; _exit(127) if it has already gone.
 * Async-signal-safe. */
void kc_child_tie(pid_t parent);
/* In kiln, after forking child: starts the guard. cleanup_dir (or NULL) is a flat
 * directory the guard removes when kiln dies. Failure is silent (PDEATHSIG remains). */
void kc_tie_start(struct kc_tie *t, pid_t child, const char *cleanup_dir);
/* The target was reaped: the guard must not signal its pid any more. */
void kc_tie_reaped(struct kc_tie *t);
/* kiln is done (the session directory removed): the guard exits; reaps it. */
void kc_tie_stop(struct kc_tie *t);

#endif
