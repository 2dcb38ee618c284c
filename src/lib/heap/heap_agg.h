/* heap_agg.h: turns allocation events into heap profile values, per process image.
 *
 * The reader (heap_session.c) feeds events in the order it can establish: within one
 * thread ring exactly, across the rings of a process epoch by epoch (within an epoch,
 * ring after ring). heap_agg keeps the live blocks (address -> stack, size), and per
 * stack: allocations (count, bytes), temporaries, live count and bytes, and the bytes
 * live at the process's peak. heap_agg_emit() appends to the profile one sample per
 * (stack, process) whose values changed since the last call, holding the change, so
 * that summing all samples of a profile gives the values at the time of the last emit
 * and the samples' times give memory over time.
 *
 * Values (in this order, HEAP_V_*): alloc_count, alloc_bytes, peak_bytes, leaked_count,
 * leaked_bytes, temp_count. leaked_* are the blocks live at the end of a process (while
 * it runs: live now). peak_bytes is, per stack, the bytes live at the moment the
 * session's heap was largest: the heap of every process running then, together (a
 * process that ended gives its memory back). Summed, they give that peak. Events of
 * different processes are ordered as the reader takes them (one process after the
 * other within one of its read rounds, a few milliseconds), so the moment is exact to
 * that resolution. Each process's own peak is in its heap_proc_stats.
 *
 * Events of different rings of one epoch are not ordered; heap_agg resolves the one
 * ambiguity that matters: a block freed in one ring and allocated in another (so its
 * FREE can be processed before its ALLOC, or an ALLOC land on an address still live).
 * In sampling mode (sample_bytes > 0) a block of n bytes stands for
 * 1 / (1 - exp(-n / sample_bytes)) blocks. */
#ifndef KILN_HEAP_AGG_H
#define KILN_HEAP_AGG_H
#include "profile/profile.h"
#include <stdint.h>

enum {
	HEAP_V_ALLOC_COUNT,
	HEAP_V_ALLOC_BYTES,
	HEAP_V_PEAK_BYTES,
	HEAP_V_LEAKED_COUNT,
	HEAP_V_LEAKED_BYTES,
	HEAP_V_TEMP_COUNT,
	HEAP_NV
};

#define HEAP_HIST_BUCKETS 65 /* bucket 0: size 0; bucket k: sizes in [2^(k-1), 2^k) */

struct heap_agg;
struct heap_proc;

struct heap_proc_stats {
	int32_t pid;
	double allocs, bytes, frees, temps;
	double live_count, live_bytes;
	double peak_bytes;       /* a process: its own peak; totals: the session's peak, the
				  * memory live in all processes at one moment (as the report's
				  * "peak heap" and the sum of the peak_bytes values) */
	uint64_t peak_time_ns;   /* since the session start */
	double proc_peak_bytes;  /* totals: the largest peak of one process (pid) */
	uint64_t proc_peak_time_ns;
	uint64_t start_ns, end_ns;
	unsigned long long unknown_frees; /* frees of blocks never seen allocated */
	unsigned long long missed_frees;  /* allocations at an address still live */
	unsigned long long events;
};

/* Adds the heap value types to p (which must have none) and sets its default value
 * (peak_bytes). Returns NULL after an error if p already has value types. */
struct heap_agg *heap_agg_new(struct kp_profile *p, uint64_t sample_bytes);
void heap_agg_free(struct heap_agg *a);

/* A new process image. thread is its profile thread index. When parent is not NULL
 * (a fork child), the child's stack ids below inherited map as the parent's do. */
struct heap_proc *heap_agg_proc(struct heap_agg *a, uint32_t thread, int32_t pid, uint64_t start_ns,
				const struct heap_proc *parent, uint32_t inherited);
/* Defines stack id (as the library numbered it) of process pr as profile stack ks;
 * fork children that inherited id and still wait for it get it too. */
void heap_agg_define_stack(struct heap_proc *pr, uint32_t id, kp_stack_t ks);
/* Declares stack id whose profile stack is not known yet (being symbolized): events
 * count on it, and heap_agg_emit leaves it out until heap_agg_define_stack. */
void heap_agg_pend_stack(struct heap_proc *pr, uint32_t id);
/* The profile stack of id once defined, else 0. */
kp_stack_t heap_agg_stack(const struct heap_proc *pr, uint32_t id);
/* 1 if id was defined or declared (or inherited). */
int heap_agg_has_stack(const struct heap_proc *pr, uint32_t id);

/* Events; ring tells which thread ring the event came from; t_ns is its time. */
void heap_agg_alloc(struct heap_proc *pr, uint32_t ring, uint64_t addr, uint64_t size, uint32_t stack,
		    uint64_t t_ns);
void heap_agg_free_ev(struct heap_proc *pr, uint32_t ring, uint64_t addr, int temp, uint64_t t_ns);
/* A hint: an event about the block at addr comes soon (its live-block slot is loaded
 * into the cache while the events before it are processed). */
void heap_agg_prefetch(const struct heap_proc *pr, uint64_t addr);
/* An allocation immediately freed by the same thread (an ALLOC followed by its FREE
 * with the temporary flag in one ring): counted without touching the live blocks. */
void heap_agg_temp_pair(struct heap_proc *pr, uint64_t size, uint32_t stack, uint64_t t_ns);
/* count temporary pairs of one stack (full mode) summing bytes, the largest max
 * bytes; their sizes go to the histogram with heap_agg_hist_add. */
void heap_agg_temp_run(struct heap_proc *pr, uint64_t count, uint64_t bytes, uint64_t max, uint32_t stack,
		       uint64_t t_ns);
void heap_agg_hist_add(struct heap_agg *a, unsigned bucket, uint64_t count);
/* Every ring's events of the current epoch have been given: settles the leftovers. */
void heap_agg_end_epoch(struct heap_proc *pr);
/* The process ended at t_ns: what is live now is leaked. */
void heap_agg_proc_end(struct heap_proc *pr, uint64_t t_ns);

/* Appends change samples at time t_ns for every stack that changed (and is defined).
 * Returns how many. */
size_t heap_agg_emit(struct heap_agg *a, uint64_t t_ns);

void heap_agg_proc_stats(const struct heap_proc *pr, struct heap_proc_stats *st);
/* Session totals (sums over processes; peak_bytes the session's peak; pid and
 * proc_peak_* those of the process with the largest own peak; start_ns is the first
 * process's). */
void heap_agg_stats(const struct heap_agg *a, struct heap_proc_stats *st);
/* The process images so far, in the order they appeared, and the stats of the i-th. */
size_t heap_agg_nprocs(const struct heap_agg *a);
void heap_agg_proc_stats_at(const struct heap_agg *a, size_t i, struct heap_proc_stats *st);
/* Adds every named stack's blocks still live (its leaked values) to count[ks] and
 * bytes[ks], arrays of n entries by profile stack. */
void heap_agg_leaked(const struct heap_agg *a, double *count, double *bytes, size_t n);
/* Allocation sizes: counts per power-of-two bucket (HEAP_HIST_BUCKETS entries). */
const double *heap_agg_histogram(const struct heap_agg *a);
/* Weight of a sampled block of size bytes (1 in full mode). */
double heap_agg_weight(const struct heap_agg *a, uint64_t size);
/* Bytes of memory the aggregation uses (for the memory-bound check). */
size_t heap_agg_memory(const struct heap_agg *a);

/* The names of the value types, in HEAP_V_* order. */
extern const char *const heap_value_names[HEAP_NV];
extern const char *const heap_value_units[HEAP_NV];

#endif
