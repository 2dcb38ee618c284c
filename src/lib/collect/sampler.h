/* sampler.h: the sampling loop's middle, shared by `kiln record` and `kiln agent`: the
 * collector's records (COMM, FORK, MMAP2, EXIT, SAMPLE, SWITCH) in time order turned into
 * the profile model: threads named, stacks unwound (frame pointers with the leaf fix, or
 * DWARF), symbolized through a ks_session with a memo of (caller stack, address, address
 * space) -> stack, Python frames merged in (pyframes.h), off-CPU intervals (offcpu.h).
 *
 * The caller owns the collector and the loop around it: it creates the collector with a
 * configuration from kc_sampler_collector_config, calls kc_sampler_init, adds tasks,
 * then passes kc_sampler_record to kc_collector_read. record.c writes the one growing
 * profile; the agent (agent/agent.c) cuts it into windows with kc_sampler_new_window,
 * which also forgets the processes that exited, so a sampler that runs for weeks holds
 * only what the live processes need. */
#ifndef KILN_COLLECT_SAMPLER_H
#define KILN_COLLECT_SAMPLER_H
#include "collect/collector.h"
#include "profile/profile.h"
#include "symbols/symbols.h"
#include <stddef.h>
#include <stdint.h>

struct kc_offcpu;
struct kc_py;

enum { KC_PROC_SAMPLED = 1, KC_PROC_EXEC = 2, KC_PROC_EXIT = 3 };

/* ---- a small map from int keys (pids, tids) to records ---- */
struct kc_task {
	int32_t key;       /* tid (threads) or pid (processes); slot used when set */
	int used;
	int32_t pid;       /* threads: their process */
	uint32_t pthread;  /* threads: profile thread index, 0 until first sampled */
	uint32_t space;    /* processes: address-space id for the memo, 0 = none yet */
	int maps_known;    /* processes: maps read from /proc or born while recording */
	int sampled;       /* has samples (what -a's summary counts) */
	int exited;        /* its EXIT record was seen (dropped at the next window) */
	int told;          /* processes: on_proc heard of its first sample */
	int in_exec;       /* threads: exec'd, its new program's code not seen running yet */
	void *user;        /* processes: the on_proc caller's data (freed with free_user
			    * when the process is dropped) */
	char comm[32];     /* threads: current name */
};

struct kc_task_map {
	struct kc_task *slots;
	uint32_t cap, n;
};

/* ---- the stack memo ----
 * Resolving every address of every sample (symbol lookup, inline expansion, interning
 * frames and stack nodes) is the main per-sample cost. The same (caller stack, address)
 * in the same address space always gives the same stack, so the memo maps that triple
 * to the resulting stack id. An address space is a process between two changes of its
 * maps (exec, mmap, fork); the kernel is space 0. */
struct kc_memo_ent {
	uint64_t addr;
	uint32_t parent, space;
	kp_stack_t stack;  /* 0 = empty slot (a pushed address always gives a node >= 1) */
};

struct kc_memo {
	struct kc_memo_ent *e;
	uint32_t cap, n;
};

/* ---- the sampler: records in, profile samples out ---- */
struct kc_sampler {
	struct kp_profile prof;   /* what the samples go into */
	struct ks_session *sym;
	struct kc_collector *col;
	const struct kc_layout *layout;
	struct kc_task_map threads, procs;
	struct kc_memo memo;
	uint32_t next_space;
	uint64_t t0;              /* CLOCK_MONOTONIC ns when recording started */
	double vals[KP_MAX_VALUES];
	uint64_t samples, leaf_fixed;
	uint64_t *uaddr, *kaddr;  /* a sample's user and kernel addresses, innermost first */
	/* issue 6: DWARF unwinding and off-CPU time */
	uint64_t *dwaddr;         /* the DWARF-unwound user addresses of a sample */
	uint64_t truncated, spliced, dwarf_stacks;
	uint64_t stacks;          /* stacks built (samples and switch-out samples) */
	kp_frame_t trunc_frame;   /* "[truncated]" at the root of stacks that end early */
	struct kc_offcpu *oc;     /* --off-cpu: intervals off the CPU */
	int v_cpu, v_off, v_wall; /* value indexes (-1 when absent) */
	struct kc_py *py;         /* issue 10: Python frames (pyframes.h) */
	int lazy_maps;            /* -a, -C, -t: read the maps of a process kiln did not start
				   * from /proc at its first sample */
	int call_graph;           /* enum kc_call_graph */
	struct ks_options symopts;
	/* the agent: told of a process's first sample (KC_PROC_SAMPLED), exec (KC_PROC_EXEC,
	 * before its maps change) and exit (KC_PROC_EXIT), NULL: nobody */
	void (*on_proc)(void *ctx, int32_t pid, int what);
	void *on_proc_ctx;
	void (*free_user)(void *user);
	uint64_t windows;         /* kc_sampler_new_window calls */
	/* the agent's bounds on the symbol session, checked at each new window (0: none):
	 * renewed after renew_windows windows, or when the heap in use passes heap_max
	 * bytes (at most once per renew_min windows) */
	uint32_t renew_windows, renew_min;
	size_t heap_max;
	uint32_t since_renew;     /* windows since the session was last started */
	uint64_t renewals;        /* times the session was started afresh */
};

/* The task with key (a tid or a pid), created empty when create is set, else NULL. */
struct kc_task *kc_task_find(struct kc_task_map *m, int32_t key, int create);
/* Thread tid of process pid's name from /proc ("swapper" for tid 0, ":TID" when gone). */
void kc_read_comm(int pid, int tid, char *out, size_t size);

/* Fills cfg's unwinding part for call_graph (enum kc_call_graph): the user registers, the
 * stack copy (stack_user_size bytes, 0: the mode's default) and the ring size. */
void kc_sampler_collector_config(int call_graph, uint32_t stack_user_size, unsigned freq, struct kc_config *cfg);

/* Sets s up over collector col (s->prof initialized, the symbol session and the Python
 * tracker created). lazy_maps: processes kiln did not see start get their maps from /proc
 * at their first sample (-a, -C, -t, the agent). */
void kc_sampler_init(struct kc_sampler *s, struct kc_collector *col, const struct ks_options *so, int call_graph,
		     int python_internals, int lazy_maps);
void kc_sampler_release(struct kc_sampler *s);

/* A kc_handler_fn: ctx is the sampler. */
void kc_sampler_record(void *ctx, const void *rec, size_t len);

/* The maps of pid changed (or were read from /proc): the memo forgets its addresses. */
void kc_sampler_space_changed(struct kc_sampler *s, int32_t pid);
/* System-wide: names every thread running now from /proc (as perf synthesizes COMM). */
void kc_sampler_snapshot_comms(struct kc_sampler *s);

/* Starts a new, empty profile in s->prof (its value types and default value kept, meta,
 * frames, stacks, strings, threads and samples dropped) for the next window: the memo,
 * the symbol session's and the Python tracker's frame ids are forgotten, the processes
 * and threads that exited are dropped (with their maps in the symbol session), and the
 * symbol session is started afresh when its caches grew past their bound (modules are
 * then read again as samples need them). */
void kc_sampler_new_window(struct kc_sampler *s);

#endif
