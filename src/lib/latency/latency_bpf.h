/* latency_bpf.h: kiln latency's fast mode: a BPF program (lat_bpf.bpf.c) attached to
 * the uprobe events pairs entries with returns and fills the histograms in the kernel,
 * so no per-call record is written; only calls as slow as the current slowest-N come
 * out, through a ring buffer. Used when no per-call detail is asked for (no --stacks,
 * --by-caller or -o); kiln falls back to reading every event when BPF is unavailable. */
#ifndef KILN_LATENCY_LATENCY_BPF_H
#define KILN_LATENCY_LATENCY_BPF_H
#include <stddef.h>
#include <stdint.h>

struct lat_fast;

struct lat_fast_slow {
	uint32_t func, tgid, tid;
	uint64_t start_ns;        /* CLOCK_MONOTONIC */
	uint64_t dur_ns;
	uint64_t ret_ip;
};

/* Loads the program; NULL (nothing printed, *why says why) when BPF is unavailable. */
struct lat_fast *lat_fast_new(const char **why);
/* Attaches to the perf event fd of probe index probe (function probe / 2, return when
 * odd). Returns 0 or -1 (nothing printed). */
int lat_fast_attach(struct lat_fast *f, int fd, int probe);
/* Calls at least ns long are passed to lat_fast_poll's callback. */
void lat_fast_set_slow(struct lat_fast *f, uint64_t ns);
typedef void (*lat_fast_slow_fn)(void *ctx, const struct lat_fast_slow *s);
void lat_fast_poll(struct lat_fast *f, lat_fast_slow_fn fn, void *ctx);

/* The aggregates, for reading once tracing stopped: */
typedef void (*lat_fast_stat_fn)(void *ctx, uint32_t tgid, uint32_t func, uint64_t count, uint64_t sum,
				 uint64_t min, uint64_t max, uint64_t unmatched, uint64_t never);
typedef void (*lat_fast_bucket_fn)(void *ctx, uint32_t tgid, uint32_t func, uint32_t bucket, uint64_t n);
/* an entry still open: its call never returned or is in progress */
typedef void (*lat_fast_open_fn)(void *ctx, uint32_t tgid, uint32_t tid, uint32_t func);
void lat_fast_read(struct lat_fast *f, lat_fast_stat_fn st, lat_fast_bucket_fn bk, lat_fast_open_fn op, void *ctx);
/* Events the program could not record (a map full). */
uint64_t lat_fast_dropped(const struct lat_fast *f);
void lat_fast_free(struct lat_fast *f);

#endif
