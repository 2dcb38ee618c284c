/* offcpu.h: off-CPU intervals for `kiln record --off-cpu`.
 *
 * For each thread the recorder reports where it left the CPU (the stack of its
 * context-switch sample) and when (PERF_RECORD_SWITCH out, with the kernel's "preempted"
 * flag), then when it came back (PERF_RECORD_SWITCH in). Each interval becomes one
 * profile sample: the switch-out stack plus a leaf frame "[off-cpu: blocked]" (the thread
 * waited for something: sleep, I/O, a lock) or "[off-cpu: runnable]" (it was preempted
 * and waited for a CPU), flagged KP_FRAME_OFFCPU, valued off_cpu_ns = wall_ns = the
 * interval's length. Times are ns since the recording started. */
#ifndef KILN_COLLECT_OFFCPU_H
#define KILN_COLLECT_OFFCPU_H
#include "profile/profile.h"
#include <stdint.h>

#define KC_OFFCPU_BLOCKED "[off-cpu: blocked]"
#define KC_OFFCPU_RUNNABLE "[off-cpu: runnable]"
/* A blocked interval whose stack waits inside a pthread lock function (the futex wait
 * of a contended mutex, rwlock or spinlock, std::mutex) or a condition-variable wait
 * gets one of these leaf frames instead of "blocked"; the frames below it name the
 * code that took the lock. */
#define KC_OFFCPU_LOCK "[off-cpu: lock wait]"
#define KC_OFFCPU_COND "[off-cpu: condition wait]"

struct kc_offcpu;

/* Value indexes of p the intervals fill (samples gets 1, -1 for an absent value). */
struct kc_offcpu_values {
	int samples, off_cpu_ns, wall_ns;
};

/* A tracker adding samples to p (which must outlive it). */
struct kc_offcpu *kc_offcpu_new(struct kp_profile *p, const struct kc_offcpu_values *v);
void kc_offcpu_free(struct kc_offcpu *o);

/* The context-switch sample of thread tid (profile thread pthread) leaving the CPU at
 * time, in stack. */
void kc_offcpu_out_stack(struct kc_offcpu *o, int32_t tid, uint32_t pthread, uint64_t time, kp_stack_t stack);
/* The switch-out record of tid: preempt says it was still runnable. */
void kc_offcpu_out(struct kc_offcpu *o, int32_t tid, uint32_t pthread, uint64_t time, int preempt);
/* tid runs again at time: the interval since its switch-out becomes a sample. */
void kc_offcpu_in(struct kc_offcpu *o, int32_t tid, uint64_t time);
/* tid exited: an open interval is dropped (a dead thread does not wait). */
void kc_offcpu_exit(struct kc_offcpu *o, int32_t tid);
/* The recording ends at time: threads still off the CPU waited until then. */
void kc_offcpu_finish(struct kc_offcpu *o, uint64_t time);
/* Intervals added so far. */
uint64_t kc_offcpu_count(const struct kc_offcpu *o);

#endif
