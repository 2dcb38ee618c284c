/* lock_attach.h: `kiln lock -p PID`: the lock contention of a running process, which
 * cannot load the preload library. Uprobes and uretprobes (perf_event_open's uprobe
 * PMU, through libbpf) on the pthread lock functions of the libc the process maps
 * (/proc/PID/maps) carry a BPF program (lock_bpf.bpf.c) that counts per lock and per
 * (lock, user stack) in the kernel, for every thread of the process, those it starts
 * included, until a signal, the duration or the process's end. The result is the model
 * lock.h fills from the preload's tables (the same report, JSON and profile), with
 * contention defined as lock_bpf.bpf.c says; stacks are frame-pointer walks
 * (bpf_get_stackid), named with the symbols session. */
#ifndef KILN_LOCK_LOCK_ATTACH_H
#define KILN_LOCK_LOCK_ATTACH_H
#include "lock/lock.h"

struct lock_probes;

struct lock_attach_opts {
	int pid;
	uint64_t hold_ns;          /* holds at least this long keep their stack */
	double duration;           /* seconds; 0: until the process ends or a signal */
	struct lock_probes **keep; /* non-NULL: the (disarmed) probes are handed over here,
				    * to be removed with lock_probes_free once the result
				    * is shown; else removed before lock_attach returns */
};

/* Attaches, traces, reads. Returns 0 (r filled; r->nlocks may be 0), or -1 after a
 * one-line error (no such process, no libc mapped: a static binary, not permitted,
 * BPF or uprobes unavailable). Call lock_result_release after either. */
int lock_attach(const struct lock_attach_opts *o, struct lock_result *r);
/* Removes the probes. It takes a while: the kernel removes uprobes one at a time, each
 * after an RCU grace period (some 0.1 s on a loaded machine, 2-3 s for the 29 probes),
 * which is why a command shows its result first. NULL is fine. */
void lock_probes_free(struct lock_probes *p);

#endif
