/* collector.h: a perf_event_open sampling collector that follows tasks and everything
 * they start.
 *
 * Design: for every followed task, one sampling event per online CPU, with inherit=1,
 * so that every thread and child process the task creates later is sampled too (their
 * events write into the parent's ring). Each CPU has one ring buffer (the first task's
 * event on that CPU owns it; others are redirected with PERF_EVENT_IOC_SET_OUTPUT), so
 * records of a CPU arrive in time order and no two CPUs contend for a ring.
 * The events also deliver the side-band records a symbolizer needs (COMM with exec
 * flag, FORK, EXIT, MMAP2 with build ids where the kernel has them), stamped with
 * sample_id_all and CLOCK_MONOTONIC so records of all CPUs can be merged in time order
 * (kc_collector_read does the merge, holding back the last few milliseconds that a slower
 * CPU may still be writing).
 *
 * Optional per-sample data for unwinding: user registers (PERF_SAMPLE_REGS_USER) and a
 * copy of the top of the user stack (PERF_SAMPLE_STACK_USER): a small copy fixes the
 * innermost frame of frame-pointer chains; a large one allows full DWARF unwinding.
 * Optional PERF_RECORD_SWITCH records give the times a thread leaves and re-enters the
 * CPU (off-CPU time).
 *
 * Errors from the kernel become one line saying what to change (perf_event_paranoid,
 * ulimit -n, perf_event_mlock_kb, the event name). */
#ifndef KILN_COLLECT_COLLECTOR_H
#define KILN_COLLECT_COLLECTOR_H
#include "collect/evcount.h"
#include "collect/perf_record.h"
#include <stddef.h>
#include <stdint.h>

/* An extra event opened on every CPU for all tasks (kc_collector_add_probes), writing
 * into the same rings with the same sample fields, every occurrence a sample (period 1):
 * uprobes. CPU-wide rather than per task with inherit, because a uprobe event cannot be
 * inherited (the kernel reads its path from the forking task's memory); the caller
 * keeps the samples of the processes it follows (their FORK records tell which). */
struct kc_probe {
	const char *name;         /* for messages */
	uint32_t type;            /* PMU type (e.g. the uprobe PMU's) */
	uint64_t config, config1, config2;
};

struct kc_config {
	const struct kc_event_def *event; /* what to sample (evcount.h's table) */
	unsigned freq;            /* samples per second (frequency mode) when period is 0 */
	uint64_t period;          /* a fixed sampling period, or 0 */
	int exclude_kernel;       /* user mode only (works with perf_event_paranoid 2) */
	uint64_t regs_user_mask;  /* sample these user registers (PERF_REG_X86_*), 0 = none */
	uint32_t stack_user_size; /* bytes of user stack to copy per sample, 0 = none */
	int context_switch;       /* ask for PERF_RECORD_SWITCH records */
	size_t buffer_bytes;      /* ring data size per CPU (rounded up to a power of two) */
	int enable_on_exec;       /* events start when the first task calls exec */
	int switch_samples;       /* also sample every switch-out (a software context-switch
				   * event, period 1, same sample fields, same rings): the stacks
				   * where threads leave the CPU, for off-CPU time */
	uint64_t sample_type;     /* PERF_SAMPLE_* bits instead of the default set, 0: default
				   * (IDENTIFIER|IP|TID|TIME|CPU|PERIOD|CALLCHAIN, plus REGS_USER
				   * and STACK_USER as asked); IDENTIFIER is always added */
	const struct kc_probe *probes; /* extra events (see struct kc_probe), or NULL */
	unsigned nprobes;
	const int *cpu_list;      /* open events on these CPUs only (must be online), NULL: all */
	unsigned ncpu_list;
	int no_inherit;           /* events follow the task alone, not the threads and
				   * processes it starts later (perf record -t) */
};

struct kc_stats {
	uint64_t records;         /* records handed out */
	uint64_t samples;         /* of them, PERF_RECORD_SAMPLE */
	uint64_t lost;            /* records the kernel could not write (LOST, LOST_SAMPLES) */
	uint64_t bad;             /* malformed records dropped */
	uint64_t bytes;           /* bytes read from the rings */
	unsigned events;          /* event file descriptors open */
	unsigned cpus;
	size_t ring_bytes;        /* data size of each ring */
};

struct kc_collector;

/* A new collector (opens nothing yet). */
struct kc_collector *kc_collector_new(const struct kc_config *cfg);
void kc_collector_free(struct kc_collector *c);

/* Starts following task tid (a process or one thread of it) and its future children on
 * every online CPU (tid -1: every task on those CPUs, system-wide; never inherited nor
 * enabled on exec). Events start disabled (see kc_collector_enable and enable_on_exec).
 * Returns 0; -2 (nothing printed) when the task no longer exists; -1 after a one-line
 * error saying what to change. On error nothing stays open for this task. */
int kc_collector_add_task(struct kc_collector *c, int tid);

/* Attaches BPF program prog_fd (BPF_PROG_TYPE_PERF_EVENT) to every event open so far
 * (PERF_EVENT_IOC_SET_BPF); the events of threads and children created later inherit
 * it. Returns 0, or -1 with errno set (nothing printed). */
int kc_collector_set_bpf(struct kc_collector *c, int prog_fd);
/* Opens the probes (kc_config.probes), enabled, for every task, on count CPUs from the
 * first-th online CPU (0, UINT_MAX: all), into their rings; call after the first
 * kc_collector_add_task. Every hit runs the probe of every CPU's event (each is a
 * consumer of the uprobe; only the current CPU's writes a sample), so a BPF program
 * that sees every hit needs one CPU's. Returns 0 or -1 (printed). */
int kc_collector_add_probes(struct kc_collector *c, unsigned first, unsigned count);

/* Checks a CPU list such as "0-2,5" against the online CPUs: returns how many CPUs were
 * put in *out (malloc'd, sorted, unique), or -1 after a one-line error. */
int kc_parse_cpu_list(const char *s, int **out);

/* Enables or disables every event. Returns 0 or -1 (printed). */
int kc_collector_enable(struct kc_collector *c);
int kc_collector_disable(struct kc_collector *c);

/* Starts the reader thread that drains the rings into memory as they fill (call after
 * the tasks are added; signals stay with the calling thread). Returns 0 or -1 (printed). */
int kc_collector_start(struct kc_collector *c);

/* A descriptor that becomes readable (POLLIN) when the reader has collected a lot (a
 * few MiB): the caller should call kc_collector_read soon. -1 when unavailable. */
int kc_collector_ready_fd(const struct kc_collector *c);

/* Called for each record in time order: rec is 8-byte aligned, len bytes, valid only
 * during the call; PERF_RECORD_LOST/LOST_SAMPLES are counted before being passed on. */
typedef void (*kc_handler_fn)(void *ctx, const void *rec, size_t len);

/* Passes the records read so far to fn in time order. Without final, records newer
 * than a few milliseconds before the reader's last pass are kept back for the next call
 * (a CPU may still be writing older ones); with final, the reader stops and everything
 * left in the rings is passed. Returns the number of records passed. */
long kc_collector_read(struct kc_collector *c, int final, kc_handler_fn fn, void *ctx);

const struct kc_layout *kc_collector_layout(const struct kc_collector *c);

/* Whether a sample with this id (kc_sample.id) comes from the switch-out event
 * (kc_config.switch_samples) rather than the sampling event. */
int kc_collector_is_switch_sample(const struct kc_collector *c, uint64_t id);
/* The probe events opened so far: fds[i] is an event of probe probe[i]. Returns how
 * many (up to max are written). */
size_t kc_collector_probe_fds(const struct kc_collector *c, int *fds, int *probe, size_t max);
/* The index in kc_config.probes of the probe whose samples carry this id, or -1. */
int kc_collector_probe_of(const struct kc_collector *c, uint64_t id);
const struct kc_stats *kc_collector_stats(const struct kc_collector *c);

/* kernel.perf_event_paranoid (2, the default, when it cannot be read). */
int kc_perf_paranoid(void);

/* CLOCK_MONOTONIC now in ns: the clock of record times. */
uint64_t kc_now_ns(void);

#endif
