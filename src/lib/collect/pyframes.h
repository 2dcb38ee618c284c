/* pyframes.h: Python frames in `kiln record` samples.
 *
 * A BPF program (src/bpf/python.bpf.c) attached to the collector's sampling and
 * context-switch events reads, at each sample of a process marked as CPython, the frame
 * chain of the sampled thread and writes it to a ring buffer just before the kernel
 * writes the sample. A thread of this module drains that ring as it fills and reads
 * the code objects it names from the process right away (so a process that exits soon
 * after still gets names). The recorder then asks, per sample, for the record of the
 * same thread stamped at the same overflow (the closest in time, at most KC_PY_MATCH_NS
 * away), and merges its frames into the native stack
 * (python.h: kpy_merge).
 *
 * Processes are recognised from their mappings (an executable or libpython that defines
 * _PyRuntime); fork children inherit their parent's entry; exec and exit remove it.
 * When BPF is unavailable (not root, a locked-down kernel, KILN_NO_BPF=1 in the
 * environment) or the version is not supported, the first Python process seen gets one
 * line on stderr and its stacks stay native. */
#ifndef KILN_COLLECT_PYFRAMES_H
#define KILN_COLLECT_PYFRAMES_H
#include "collect/collector.h"
#include "profile/profile.h"
#include <stdint.h>

#define KC_PY_MATCH_NS 200000ull

struct kc_py;

/* A tracker interning frames into prof (which must outlive it). internals: keep the
 * interpreter's own frames (--python-internals). Loads the BPF program unless disabled;
 * never fails (without BPF it only explains, once, why Python frames are missing). */
struct kc_py *kc_py_new(struct kp_profile *prof, int internals);
void kc_py_free(struct kc_py *py);

/* Attaches the program to every event the collector has open (call after adding the
 * tasks, before enabling them). Returns 0, or -1 (then stacks stay native; the reason
 * is printed when a Python process shows up). */
int kc_py_attach(struct kc_py *py, struct kc_collector *col);

/* How long the thread that drains the ring waits when no record arrives, before it looks
 * again (default 10 ms: the stop of a recording waits for it). Call before kc_py_start.
 * The agent, which runs for weeks at 19 Hz, waits longer: fewer idle wakeups. */
void kc_py_set_poll(struct kc_py *py, int ms);

/* Starts the thread that drains the BPF ring buffer. */
void kc_py_start(struct kc_py *py);

/* Address-space events, as the recorder sees them. */
void kc_py_mmap(struct kc_py *py, int pid, uint64_t start, uint64_t pgoff, const char *path);
void kc_py_fork(struct kc_py *py, int ppid, int pid);
void kc_py_exec(struct kc_py *py, int pid);
void kc_py_exit(struct kc_py *py, int pid);
/* A running process (kiln record -p): its current mappings. */
void kc_py_attach_pid(struct kc_py *py, int pid);

/* Takes in what the BPF program wrote so far: call before passing the collector's
 * records, so that every sample has its record. */
void kc_py_sync(struct kc_py *py);

/* The stack of a sample of (pid, tid) at time (CLOCK_MONOTONIC ns): the native stack
 * with the Python frames merged in, or stack itself when there are none. truncated: the
 * native stack did not reach its root. */
kp_stack_t kc_py_stack(struct kc_py *py, int pid, int tid, uint64_t time, kp_stack_t stack, int truncated);

/* The profile was emptied and started again (the agent's next window): the frame ids
 * the tracker remembers no longer hold. */
void kc_py_new_profile(struct kc_py *py);

/* The recording ended: a process that mapped a python-named executable or library
 * without _PyRuntime (and no CPython otherwise) gets one line. */
void kc_py_finish(struct kc_py *py);

/* Statistics for the profile's meta data. */
struct kc_py_stats {
	uint64_t processes;      /* Python processes recognised */
	uint64_t records;        /* BPF records read */
	uint64_t matched;        /* samples given a record */
	uint64_t merged;         /* samples that got Python frames */
	uint64_t unmatched;      /* samples of a followed Python process without a record */
	uint64_t dropped;        /* records the ring buffer had no room for */
	uint64_t max_gap_ns;     /* the largest time from a record to its sample */
	uint64_t notices;        /* samples of processes not followed yet, told by the program */
	int bpf;                 /* 1 when the program is loaded and attached */
};
void kc_py_stats(struct kc_py *py, struct kc_py_stats *st);
/* Writes the statistics into prof's meta data (python_*), when a Python process was seen. */
void kc_py_meta(struct kc_py *py, struct kp_profile *prof);

#endif
