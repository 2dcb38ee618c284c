/* lat_bpf.bpf.c: the in-kernel half of kiln latency's fast mode (see latency.h):
 * attached to the entry and return uprobe events of each function (the attach cookie
 * is the function's index, times two, plus one for the return), it pairs entries and
 * returns per thread and stack pointer, and sums durations into log-linear histograms
 * per (process, function), so that no per-call record leaves the kernel. Calls at
 * least as slow as `slow_ns` (kept by kiln at its current slowest-N threshold) go to a
 * ring buffer. Returning 0 tells the kernel not to write the event's own sample.
 *
 * An entry that finds an open call at its thread and stack pointer counts that call as
 * never returned (a longjmp went past it); calls still open at the end are read by kiln.
 * Buckets are stats/hdr.h's: value v < 64 is bucket v; else with e = floor(log2 v),
 * (e - 4) * 32 + (v >> (e - 5)) - 32. Built with clang -target bpf; the user half
 * (latency_bpf.c) loads it from the skeleton bpftool generates. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define HDR_SUB_BITS 5

struct start_key {
	__u64 sp;       /* stack pointer at the entry */
	__u32 tid;
	__u32 pad;
};
struct start_val {
	__u64 t;
	__u32 func;
	__u32 tgid;
};
struct hist_key {
	__u32 tgid;
	__u32 func;
	__u32 bucket;
	__u32 pad;
};
struct stat_key {
	__u32 tgid;
	__u32 func;
};
struct stat_val {
	__u64 count, sum, min, max, unmatched, never;
};
struct slow_rec {
	__u64 start, dur, ret_ip;
	__u32 tgid, tid, func, pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct start_key);
	__type(value, struct start_val);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, struct hist_key);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct stat_key);
	__type(value, struct stat_val);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} slow SEC(".maps");

/* written by kiln: calls at least this long are sent to the ring */
__u64 slow_ns = ~0ull;
__u64 dropped = 0;

static __always_inline __u32 bucket_of(__u64 v)
{
	__u32 e = 0;
	__u64 x = v;
	if (v < (1u << HDR_SUB_BITS))
		return (__u32)v;
	if (x >> 32) { e += 32; x >>= 32; }
	if (x >> 16) { e += 16; x >>= 16; }
	if (x >> 8) { e += 8; x >>= 8; }
	if (x >> 4) { e += 4; x >>= 4; }
	if (x >> 2) { e += 2; x >>= 2; }
	if (x >> 1) { e += 1; }
	return (e - HDR_SUB_BITS + 1) * (1u << HDR_SUB_BITS) + (__u32)((v >> (e - HDR_SUB_BITS)) - (1u << HDR_SUB_BITS));
}

static __always_inline struct stat_val *stat_get(__u32 tgid, __u32 func)
{
	struct stat_key k = { tgid, func };
	struct stat_val *s = bpf_map_lookup_elem(&stats, &k);
	if (s)
		return s;
	struct stat_val z = { 0, 0, ~0ull, 0, 0, 0 };
	bpf_map_update_elem(&stats, &k, &z, BPF_NOEXIST);
	return bpf_map_lookup_elem(&stats, &k);
}

SEC("uprobe")
int lat_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct start_key k = { PT_REGS_SP(ctx), (__u32)id, 0 };
	struct start_val v = { bpf_ktime_get_ns(), (__u32)(bpf_get_attach_cookie(ctx) >> 1), (__u32)(id >> 32) };
	if (bpf_map_update_elem(&starts, &k, &v, BPF_NOEXIST) == 0)
		return 0;
	/* a call at this stack pointer is still open: it never returned (the stack was
	 * unwound past it, by longjmp or an exception) */
	struct start_val *old = bpf_map_lookup_elem(&starts, &k);
	if (old) {
		struct stat_val *s = stat_get(old->tgid, old->func);
		if (s)
			__sync_fetch_and_add(&s->never, 1);
	}
	if (bpf_map_update_elem(&starts, &k, &v, BPF_ANY))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("uprobe")
int lat_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();
	__u32 func = (__u32)(bpf_get_attach_cookie(ctx) >> 1), tgid = (__u32)(id >> 32);
	struct start_key k = { PT_REGS_SP(ctx) - 8, (__u32)id, 0 };
	struct start_val *v = bpf_map_lookup_elem(&starts, &k);
	struct stat_val *s = stat_get(tgid, func);
	if (!s)
		return 0;
	if (!v || v->func != func) {
		__sync_fetch_and_add(&s->unmatched, 1);
		return 0;
	}
	__u64 start = v->t, dur = now > start ? now - start : 0;
	bpf_map_delete_elem(&starts, &k);
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->sum, dur);
	if (dur < s->min)
		s->min = dur; /* racy between CPUs only when two calls end at once: kiln's hist keeps the truth */
	if (dur > s->max)
		s->max = dur;
	struct hist_key hk = { tgid, func, bucket_of(dur), 0 };
	__u64 *c = bpf_map_lookup_elem(&hist, &hk);
	if (c) {
		__sync_fetch_and_add(c, 1);
	} else {
		__u64 one = 1;
		if (bpf_map_update_elem(&hist, &hk, &one, BPF_NOEXIST)) {
			c = bpf_map_lookup_elem(&hist, &hk);
			if (c)
				__sync_fetch_and_add(c, 1);
			else
				__sync_fetch_and_add(&dropped, 1);
		}
	}
	if (dur >= slow_ns) {
		struct slow_rec *r = bpf_ringbuf_reserve(&slow, sizeof(*r), 0);
		if (r) {
			r->start = start;
			r->dur = dur;
			r->ret_ip = PT_REGS_IP(ctx);
			r->tgid = tgid;
			r->tid = (__u32)id;
			r->func = func;
			r->pad = 0;
			bpf_ringbuf_submit(r, 0);
		}
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
