/* evcount.h: counting events (perf_event_open) over one run of a command, the way
 * `perf stat` does: hardware events in one group (split into more groups only when the
 * PMU cannot hold them together), software events on their own, all enabled when the
 * command calls exec and inherited by its children (threads, processes it starts).
 *
 * Machines without a PMU (virtual machines, containers) refuse hardware events: those
 * counters are marked not supported and never make a run fail. Counts of a multiplexed
 * counter (it ran for only part of the time it was enabled) are scaled by
 * time_enabled / time_running and marked as scaled. */
#ifndef KILN_COLLECT_EVCOUNT_H
#define KILN_COLLECT_EVCOUNT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;

struct kc_event_def {
	const char *name;         /* perf's name: "cycles", "task-clock" */
	const char *alias;        /* another name perf accepts ("cpu-cycles"), or NULL */
	uint32_t type;            /* PERF_TYPE_HARDWARE or PERF_TYPE_SOFTWARE */
	uint64_t config;
	const char *unit;         /* "" for counts, "ns" for clocks */
};

/* The event named name (or alias); NULL when unknown. */
const struct kc_event_def *kc_event_lookup(const char *name);
/* Appends the known names, comma-separated, to sb (for messages and --help). */
void kc_event_list(struct strbuf *sb);
/* The default event set of kiln stat (perf stat's): task-clock, context-switches,
 * cpu-migrations, page-faults, cycles, instructions, branches, branch-misses,
 * cache-references, cache-misses. Returns the count; *defs points to a static array. */
size_t kc_event_defaults(const struct kc_event_def *const **defs);

enum kc_counter_state {
	KC_COUNTER_UNOPENED = 0,
	KC_COUNTER_OPEN,
	KC_COUNTER_COUNTED,       /* read after the run: value is valid */
	KC_COUNTER_NOT_COUNTED,   /* opened but never scheduled (time_running 0) */
	KC_COUNTER_UNSUPPORTED,   /* the machine or kernel lacks this event */
};

struct kc_counter {
	const struct kc_event_def *def;
	int fd;
	enum kc_counter_state state;
	int err;                  /* errno of perf_event_open when unsupported */
	int user_only;            /* kernel counting was refused: counts exclude the kernel */
	int scaled;               /* multiplexed: value was scaled */
	uint64_t raw, enabled, running;
	double value;             /* raw * enabled / running when scaled, else raw */
	int *more;                /* kc_counters_attach: the other events summed into this
				   * counter (one per thread or CPU) */
	size_t nmore;
};

struct kc_counters {
	struct kc_counter *c;
	size_t n;
};

/* Sets up counters for defs[0..n-1] (nothing is opened). */
void kc_counters_init(struct kc_counters *cs, const struct kc_event_def *const *defs, size_t n);
void kc_counters_release(struct kc_counters *cs);
/* Opens the counters on task pid, which must not have called exec yet: they start
 * counting at its exec. Counters the machine lacks are marked KC_COUNTER_UNSUPPORTED
 * (and stay so for later runs without asking the kernel again). Never fails. */
void kc_counters_open(struct kc_counters *cs, pid_t pid);
/* After the task has exited (and was reaped): reads every open counter and closes it. */
void kc_counters_read_close(struct kc_counters *cs);
/* Opens the counters on a running target, counting at once: pid > 0 counts every thread
 * of process pid (those it starts later too, by inheritance); pid -1 counts every task
 * on every online CPU (system-wide, like perf stat -a). Counters the machine lacks are
 * marked unsupported. Returns 0, or -1 after a one-line error (no such process, not
 * allowed); then nothing stays open. */
int kc_counters_attach(struct kc_counters *cs, pid_t pid);
/* Reads every open counter (the sum of its events) without closing it: raw, enabled,
 * running, value and state as kc_counters_read_close sets them. */
void kc_counters_read(struct kc_counters *cs);
/* Closes open counters without reading (a run that could not start). */
void kc_counters_close(struct kc_counters *cs);
/* The estimate perf stat makes of a counter that was multiplexed: raw * enabled / running
 * when it ran for only part of the time it was enabled (*scaled = 1), else raw
 * (*scaled = 0). Returns NaN when it never ran (running 0, enabled > 0): "not counted". */
double kc_scale(uint64_t raw, uint64_t enabled, uint64_t running, int *scaled);
/* Number of counters that are not unsupported. */
size_t kc_counters_supported(const struct kc_counters *cs);
/* A short reason for an unsupported counter: "not supported" (no PMU / no such event),
 * "no permission (kernel.perf_event_paranoid)", or strerror. */
const char *kc_counter_reason(const struct kc_counter *c);

#endif
