/* heap_run.h: run a program under the heap preload library and write its heap profile
 * as it runs (the engine of `kiln heap CMD`).
 *
 * Before running, heap_run_check() says whether LD_PRELOAD can work for the program
 * (not statically linked, not setuid to another user). heap_run() then starts it with
 * LD_PRELOAD and KILN_HEAP_* set, reads its events until it and every process it
 * started have exited, and writes the profile incrementally with kp_writer (a profile
 * cut short by a crash of kiln still loads). The program's exit status is returned
 * through the result. */
#ifndef KILN_HEAP_RUN_H
#define KILN_HEAP_RUN_H
#include "heap/heap_agg.h"
#include "heap/heap_session.h"
#include <stdint.h>

struct heap_run_opts {
	char **argv;              /* program and arguments */
	const char *output;       /* profile path */
	uint64_t sample_bytes;    /* 0: record every allocation */
	const char *preload;      /* path of libkiln-heap.so */
	double linger;            /* seconds to wait for descendants after the program exits */
	int python_internals;     /* keep CPython's own native frames around Python frames */
	const char *suppressions; /* leak suppressions (text of a file in LeakSanitizer's
				   * format, already checked) kept in the profile, or NULL */
	const char *suppressions_file; /* its name */
	/* called while kiln names the last call stacks after the program ended (or NULL) */
	void (*progress)(void *ctx, size_t stacks_left);
	void *progress_ctx;
	/* kiln lock: output may be NULL (no heap profile); env adds NAME=VALUE strings to
	 * the program's environment; finish, when set, is called once every process
	 * ended and every stack is named, before the session files are removed */
	const char *const *env;
	void (*finish)(void *ctx, struct heap_session *s, struct kp_profile *p, const char *dir);
	void *finish_ctx;
};

struct heap_run_result {
	int status;               /* wait status of the program (as waitpid gives it) */
	int killed_after;         /* kiln was sent this signal three times and killed the
				   * program (its exit code is then 128 + this) */
	int started;              /* the program was started */
	int exec_failed;          /* exec failed (heap_run returned -1) */
	int write_failed;         /* the profile could not be written in full (printed) */
	double seconds;           /* wall time */
	unsigned processes;       /* process images recorded */
	unsigned still_running;   /* descendants still running when recording ended */
	unsigned gave_up;         /* images whose library stopped recording */
	unsigned bad_files;
	struct heap_proc_stats total;
	unsigned long long profile_bytes;
	unsigned long long peak_rss;  /* of the program (ru_maxrss of its process tree) */
	unsigned long long kiln_rss;  /* kiln's own peak RSS */
	double kiln_cpu;              /* kiln's own CPU time (user + system), seconds */
	unsigned long long samples;   /* profile samples written */
	char python[16];              /* CPython version seen in the program ("" none) */
	int python_native_only;       /* a CPython whose frames kiln does not read */
	double suppressed_count, suppressed_bytes; /* leaks matched by a suppression (total.
						    * live_* include them) */
};

/* Returns 0 when LD_PRELOAD can work for prog (resolved with PATH like execvp), or
 * after a one-line error saying why not: -2 when it is not found, -1 otherwise (not
 * executable, a directory, statically linked, setuid, not x86-64). */
int heap_run_check(const char *prog, char **resolved);
/* Finds libkiln-heap.so next to the running kiln (or KILN_HEAP_LIB). Returns a
 * malloc'd path, or NULL after a one-line error. */
char *heap_find_preload(void);
/* Runs and records. Returns 0 (res filled, whatever the program's exit), or -1 after a
 * one-line error when nothing could be recorded (output unwritable, fork failed). */
int heap_run(const struct heap_run_opts *o, struct heap_run_result *res);

#endif
