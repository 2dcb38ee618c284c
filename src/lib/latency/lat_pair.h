/* lat_pair.h: pairing function entries with their returns, per thread.
 *
 * Every thread has a shadow stack of the calls it entered and has not left. An entry
 * pushes (function, stack pointer at the entry, time, caller data). A return of function
 * f with stack pointer sp_ret (after the return instruction popped the return address,
 * so the call's entry had sp_ret - 8) first abandons every frame entered deeper than
 * that (sp < sp_ret - 8): those calls never returned (longjmp, a C++ exception, or a
 * return probe the kernel did not place); then it matches the top frame when that frame
 * is f entered at sp_ret - 8. A return that matches nothing (its entry was lost, or
 * happened before tracing began) is "unmatched" and leaves the stack as it was.
 * Recursion nests naturally: each level has its own stack pointer.
 *
 * Calls still on a thread's stack when the thread ends (exit(), pthread_exit, a
 * signal) never returned; calls still there when tracing stops are "in progress". */
#ifndef KILN_LATENCY_LAT_PAIR_H
#define KILN_LATENCY_LAT_PAIR_H
#include <stddef.h>
#include <stdint.h>

struct lat_frame {
	uint32_t func;
	uint64_t sp;          /* stack pointer at the entry (it points at the return address) */
	uint64_t t;           /* entry time, ns */
	uint64_t data;        /* the caller's cookie (e.g. a saved call chain) */
};

enum lat_abandon {
	LAT_NEVER_RETURNED,   /* unwound past (longjmp) or the thread ended inside it */
	LAT_IN_PROGRESS,      /* still running when tracing stopped */
};

struct lat_pair_ops {
	/* a call that will get no return; why: enum lat_abandon */
	void (*abandon)(void *ctx, int32_t tid, const struct lat_frame *f, int why);
};

struct lat_pairer;

struct lat_pairer *lat_pairer_new(const struct lat_pair_ops *ops, void *ctx);
void lat_pairer_free(struct lat_pairer *p);

void lat_pair_entry(struct lat_pairer *p, int32_t tid, uint32_t func, uint64_t sp, uint64_t t, uint64_t data);
/* Returns 1 with *out the matched entry (copied), or 0 for an unmatched return. */
int lat_pair_return(struct lat_pairer *p, int32_t tid, uint32_t func, uint64_t sp_ret, struct lat_frame *out);
/* The thread ended: what it still had entered never returned. */
void lat_pair_thread_end(struct lat_pairer *p, int32_t tid);
/* Tracing stopped: what is left is in progress (why = LAT_IN_PROGRESS), or, with
 * ended set (the target has exited), never returned. */
void lat_pair_finish(struct lat_pairer *p, int ended);
/* Frames currently open, over all threads. */
size_t lat_pair_open(const struct lat_pairer *p);

#endif
