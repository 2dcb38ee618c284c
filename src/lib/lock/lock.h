/* lock.h: `kiln lock` as a library call: run a program with the heap preload library in
 * lock mode (KILN_LOCK=1, heap recording off) and read back, per process image, the lock
 * table it keeps (heap_proto.h "lock mode"): per lock the acquisitions, how many were
 * contended, total and longest wait and hold, condition-variable waits (apart from
 * contention), and the stacks that waited and held longest. The library's stack ids are
 * named through the heap session (heap_session_stack), so the same unwinder and
 * symbolizer serve both commands.
 *
 * The profile (meta kind "lock") has value types wait_ns (default), hold_ns,
 * contended (count) and cond_wait_ns: one sample per (lock, stack, what) whose stack
 * is the code that waited or held, ending in a frame "lock NAME"; report, flame and
 * diff read it like any profile. */
#ifndef KILN_LOCK_LOCK_H
#define KILN_LOCK_LOCK_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>

struct lock_opts {
	char **argv;
	const char *preload;       /* libkiln-heap.so */
	uint64_t hold_ns;          /* holds at least this long keep their stack */
};

enum lock_what { LOCK_WAIT = 1, LOCK_HOLD = 2, LOCK_COND = 3 };

struct lock_site {
	int what;                  /* enum lock_what */
	kp_stack_t stack;          /* root-first, the caller of the lock function last; 0 unknown */
	uint64_t count, total_ns, max_ns;
};

struct lock_info {
	int32_t pid;
	uint64_t addr;
	uint32_t kind;             /* enum hp_lock_kind */
	char *name;                /* "mutex worker_init (file.c:12)" */
	kp_stack_t created;        /* where initialized or first taken */
	uint64_t acquisitions, contended, wait_ns, wait_max, hold_ns, hold_max;
	uint64_t cond_waits, cond_wait_ns, timeouts, read_acquisitions;
	uint64_t hold_timed;       /* holds timed; fewer than acquisitions: hold_ns is
				    * estimated from them (hot short locks are sampled) */
	struct lock_site *sites;   /* longest total first */
	size_t nsites;
};

struct lock_result {
	struct lock_info *locks;   /* most waited-for first */
	size_t nlocks;
	struct kp_profile prof;
	int status;                /* the program's wait status */
	int started;
	int exec_failed;
	double seconds;
	unsigned processes;        /* process images with a lock table */
	uint64_t dropped;          /* operations on locks or stacks the tables had no room for */
	uint64_t hold_threshold_ns;
};

/* Runs and reads. Returns 0 (r filled whatever the program's exit), or -1 after a
 * one-line error. Call lock_result_release after either. */
int lock_run(const struct lock_opts *o, struct lock_result *r);
void lock_result_release(struct lock_result *r);
const char *lock_kind_name(uint32_t kind);

struct hp_lock_entry;
/* Appends to r the lock e (heap_proto.h's table entry, the layout lock -p's BPF map
 * shares) of process pid: its counters, hold_ns estimated from the timed holds when
 * fewer than the acquisitions. The caller sets created and name. */
struct lock_info *lock_result_add(struct lock_result *r, int32_t pid, const struct hp_lock_entry *e);
/* An empty result: the profile with its value types and meta kind "lock" (for other
 * collectors of the same model, such as lock_attach). */
void lock_result_init(struct lock_result *r);
/* Once every lock and site is in: sorts sites (longest total first, per what) and locks
 * (most waited-for first), and adds the profile's samples. */
void lock_result_finish(struct lock_result *r);
/* "mutex worker_init (lock.c:12)" from the innermost frame of the naming stack s of p
 * ("mutex at 0xADDR" without one); malloc'd. */
char *lock_name(const struct kp_profile *p, uint32_t kind, kp_stack_t s, uint64_t addr);

/* Copies stack s of profile from (frames root-first) into profile to; returns its id. */
kp_stack_t lock_copy_stack(struct kp_profile *to, const struct kp_profile *from, kp_stack_t s);

#endif
