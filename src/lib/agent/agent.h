/* agent.h: `kiln agent` as a library call: sample the whole machine (every CPU, every
 * process, kernel and user stacks, Python frames where pyframes.c reads them) at a low
 * rate, cut the samples into windows aligned to the wall clock, label every process
 * (labels.h) and hand each window to a sink (store.h); a window the sink does not take
 * goes to a bounded spool on disk (spool.h) and is sent again, oldest first, with a
 * backoff that doubles from one window up to 32. The spool is sent first at start
 * (a restarted agent resumes). SIGTERM, SIGINT and SIGHUP end the run after the partial
 * last window is delivered or spooled.
 *
 * Logs are one line per event on stderr ("kiln: agent: ..."): problems always (a sink
 * that fails, windows spooled or dropped, samples lost); every window with verbose. */
#ifndef KILN_AGENT_AGENT_H
#define KILN_AGENT_AGENT_H
#include "store/store.h"
#include <stdint.h>

#define KA_DEFAULT_FREQ 19
#define KA_DEFAULT_WINDOW_S 10
#define KA_DEFAULT_SPOOL "/var/lib/kiln/spool"
#define KA_DEFAULT_SPOOL_SIZE (256ull << 20)

struct ka_opts {
	const char *sink;            /* store directory or URL (kst_open) */
	unsigned freq;               /* samples per second per CPU */
	double window_s;             /* window length */
	const struct kst_labels *labels; /* --label k=v (a service label names every process's service) */
	const char *spool_dir;       /* NULL: KA_DEFAULT_SPOOL */
	uint64_t spool_size;         /* bytes */
	double duration;             /* stop after this many seconds, 0: until a signal */
	int call_graph;              /* enum kc_call_graph (auto by default, as record) */
	uint32_t stack_size;         /* user stack bytes per sample for dwarf/auto, 0: default */
	int verbose;
	int lines;                   /* also source lines and inlined functions (reads every
				      * program's DWARF: more memory and CPU); default: functions */
	/* local store only: retention at start and every RETAIN windows (0: none) */
	uint64_t retain_age_ns, retain_bytes;
	const char *store_dir;       /* the --store directory, NULL for --sink */
};

struct ka_result {
	uint64_t windows;            /* windows closed */
	uint64_t delivered;          /* windows the sink took (spooled ones included) */
	uint64_t spooled;            /* windows put in the spool */
	uint64_t dropped;            /* windows dropped (spool full, or not writable) */
	uint64_t samples, lost;
	double self_cpu;             /* the agent's CPU seconds */
	long max_rss_kb;
};

/* Runs until a signal or the duration. Returns 0 after a clean stop, -1 after a one-line
 * error when sampling could not start (no permission: the line names
 * kernel.perf_event_paranoid and CAP_PERFMON). */
int ka_run(const struct ka_opts *o, struct ka_result *res);

/* ---- pieces, exposed for tests ---- */
/* The end of the window that holds real-time t: the next multiple of window_ns after t. */
uint64_t ka_window_end(uint64_t t, uint64_t window_ns);
/* The next backoff, in windows: 1, 2, 4, ... 32. */
unsigned ka_backoff_next(unsigned cur);

#endif
