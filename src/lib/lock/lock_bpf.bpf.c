/* lock_bpf.bpf.c: the in-kernel half of `kiln lock -p` (see lock_attach.h): attached to
 * uprobes on the entry (cookie LKB_F_*) and uretprobes on the return (| LKB_RET) of the
 * pthread lock functions of the libc a running process maps, it counts per lock address
 * the acquisitions, the contended ones and their wait, the holds, condition waits and
 * time-outs, and per (lock, user stack, what) the waits, long holds and condition waits,
 * in maps kiln reads when tracing stops. Nothing leaves the kernel per call.
 *
 * Contended: the lock was seen held by another thread when the call began (its lock
 * word, read at the entry probe: a mutex's __lock non-zero and __owner not the caller, a
 * spinlock not 1, a rwlock write-locked, or for a writer, read-locked), or the caller
 * blocked before the call returned (its voluntary context switch count, task_struct
 * nvcsw, moved: a futex sleep). The wait is then the call's time, entry to return. A
 * hold runs from an acquisition's return to the release's entry, per thread.
 *
 * Only the process target_tgid counts (its threads, those it starts included: a uprobe
 * event bound to a task fires for every task of its mm), and only while armed: kiln
 * arms after every probe is in place and disarms before reading, so a call is counted
 * only when both its entry and its return were seen. Built with clang -target bpf; the
 * user half (lock_attach.c) loads it from the skeleton bpftool generates. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lock/lock_bpf_abi.h"

#define ETIMEDOUT 110

/* CO-RE: only the field read; relocated against the running kernel's BTF at load */
struct task_struct {
	unsigned long nvcsw;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LKB_MAX_LOCKS);
	__type(key, __u64);
	__type(value, struct lkb_lock);
} locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LKB_MAX_SITES);
	__type(key, struct lkb_site_key);
	__type(value, struct lkb_site);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct lkb_call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LKB_MAX_HOLDS);
	__type(key, struct lkb_hold_key);
	__type(value, struct lkb_hold);
} holds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, LKB_MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LKB_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* written by kiln */
__u32 target_tgid = 0;
__u32 armed = 0;
__u64 hold_threshold_ns = 10000;
/* read by kiln: what the maps had no room for */
__u64 dropped_locks = 0;
__u64 dropped_sites = 0;
__u64 dropped_holds = 0;

static __always_inline int role_of(__u32 f)
{
	switch (f) {
	case LKB_F_MUTEX_LOCK: case LKB_F_RW_RDLOCK: case LKB_F_RW_WRLOCK: case LKB_F_SPIN_LOCK:
		return LKB_ACQUIRE;
	case LKB_F_MUTEX_TRYLOCK: case LKB_F_RW_TRYRDLOCK: case LKB_F_RW_TRYWRLOCK: case LKB_F_SPIN_TRYLOCK:
		return LKB_TRY;
	case LKB_F_MUTEX_TIMEDLOCK: case LKB_F_RW_TIMEDRDLOCK: case LKB_F_RW_TIMEDWRLOCK:
		return LKB_TIMED;
	case LKB_F_MUTEX_UNLOCK: case LKB_F_RW_UNLOCK: case LKB_F_SPIN_UNLOCK:
		return LKB_RELEASE;
	case LKB_F_MUTEX_INIT: case LKB_F_RW_INIT:
		return LKB_INIT;
	default:
		return LKB_COND;
	}
}

static __always_inline __u32 kind_of(__u32 f)
{
	if (f >= LKB_F_RW_RDLOCK && f <= LKB_F_RW_INIT)
		return LKB_RWLOCK;
	if (f >= LKB_F_SPIN_LOCK && f <= LKB_F_SPIN_UNLOCK)
		return LKB_SPIN;
	return LKB_MUTEX;
}

static __always_inline int shared_of(__u32 f)
{
	return f == LKB_F_RW_RDLOCK || f == LKB_F_RW_TRYRDLOCK || f == LKB_F_RW_TIMEDRDLOCK;
}

static __always_inline __u64 nvcsw_now(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(t, nvcsw);
}

/* Is lock a of kind k held by another thread now (glibc x86-64 layouts)? */
static __always_inline __u32 busy_now(__u64 a, __u32 k, int shared, __u32 tid)
{
	__u32 w[3] = { 0, 0, 0 };
	if (bpf_probe_read_user(w, sizeof(w), (const void *)a))
		return 0;
	if (k == LKB_MUTEX)      /* __lock, __count, __owner */
		return w[0] != 0 && w[2] != tid;
	if (k == LKB_SPIN)       /* 1 is free */
		return w[0] != 1;
	/* __readers: bit 1 write-locked, readers from bit 3 */
	return shared ? (w[0] & 2) != 0 : (w[0] & 2) != 0 || (w[0] >> 3) != 0;
}

static __always_inline __s32 stack_id(struct pt_regs *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	return id < 0 ? -1 : (__s32)id;
}

static __always_inline void max_put(__u64 *p, __u64 v)
{
	if (v > *p)
		*p = v; /* racy only between two holders at once (shared rwlock holds) */
}

/* At a function's entry: the return address (0 at a return probe). */
static __always_inline __u64 ret_addr(struct pt_regs *ctx, int at_entry)
{
	__u64 r = 0;
	if (at_entry && bpf_probe_read_user(&r, sizeof(r), (const void *)PT_REGS_SP(ctx)))
		r = 0;
	return r;
}

/* The lock's entry, made with the stack naming it at its first sight. */
static __always_inline struct lkb_lock *lock_get(struct pt_regs *ctx, __u64 a, __u32 kind, int at_entry)
{
	struct lkb_lock *l = bpf_map_lookup_elem(&locks, &a);
	if (l)
		return l;
	struct lkb_lock z = {};
	z.kind = kind;
	z.first_stack = stack_id(ctx);
	z.first_ret = ret_addr(ctx, at_entry);
	if (bpf_map_update_elem(&locks, &a, &z, BPF_NOEXIST) && bpf_map_lookup_elem(&locks, &a) == NULL) {
		__sync_fetch_and_add(&dropped_locks, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&locks, &a);
}

static __always_inline void site_add(struct pt_regs *ctx, __u64 a, __u32 what, __u64 ns, int at_entry)
{
	struct lkb_site_key k = { a, ret_addr(ctx, at_entry), stack_id(ctx), what };
	struct lkb_site *s = bpf_map_lookup_elem(&sites, &k);
	if (!s) {
		struct lkb_site z = {};
		if (bpf_map_update_elem(&sites, &k, &z, BPF_NOEXIST))
			;
		s = bpf_map_lookup_elem(&sites, &k);
		if (!s) {
			__sync_fetch_and_add(&dropped_sites, 1);
			return;
		}
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, ns);
	max_put(&s->max_ns, ns);
}

static __always_inline void hold_start(__u64 a, __u32 tid, __u64 now, int shared)
{
	struct lkb_hold_key k = { a, tid, 0 };
	struct lkb_hold h = { now, (__u32)shared, 0 };
	if (bpf_map_update_elem(&holds, &k, &h, BPF_ANY))
		__sync_fetch_and_add(&dropped_holds, 1);
}

/* A release of a by tid (at the release's entry): ends the hold taken in view. */
static __always_inline void hold_end(struct pt_regs *ctx, __u64 a, __u32 tid, __u64 now)
{
	struct lkb_hold_key k = { a, tid, 0 };
	struct lkb_hold *h = bpf_map_lookup_elem(&holds, &k);
	if (!h)
		return;
	__u64 d = now > h->t ? now - h->t : 0;
	bpf_map_delete_elem(&holds, &k);
	struct lkb_lock *l = bpf_map_lookup_elem(&locks, &a);
	if (!l)
		return;
	__sync_fetch_and_add(&l->hold_ns, d);
	__sync_fetch_and_add(&l->hold_timed, 1);
	max_put(&l->hold_max, d);
	if (d >= hold_threshold_ns)
		site_add(ctx, a, LKB_HOLD, d, 1);
}

SEC("uprobe")
int lk_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	if (!armed || (__u32)(id >> 32) != target_tgid)
		return 0;
	__u32 f = (__u32)bpf_get_attach_cookie(ctx);
	__u64 a = PT_REGS_PARM1(ctx), now = bpf_ktime_get_ns();
	int role = role_of(f);
	struct lkb_call c = {};
	if (role == LKB_RELEASE) {
		hold_end(ctx, a, tid, now);
		return 0;
	}
	if (role == LKB_INIT) {
		lock_get(ctx, a, kind_of(f), 1);
		return 0;
	}
	if (role == LKB_COND) {
		/* the wait releases the mutex: its hold ends here */
		a = PT_REGS_PARM2(ctx);
		hold_end(ctx, a, tid, now);
	} else if (role != LKB_TRY) {
		c.busy = busy_now(a, kind_of(f), shared_of(f), tid);
		c.nvcsw = nvcsw_now();
	}
	c.addr = a;
	c.func = f;
	c.t0 = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

SEC("uprobe")
int lk_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, f = (__u32)bpf_get_attach_cookie(ctx) & ~LKB_RET;
	if (!armed || (__u32)(id >> 32) != target_tgid)
		return 0;
	struct lkb_call *cp = bpf_map_lookup_elem(&calls, &tid);
	if (!cp)
		return 0;
	struct lkb_call c = *cp;
	bpf_map_delete_elem(&calls, &tid);
	if (c.func != f)
		return 0;
	int role = role_of(f), rc = (int)PT_REGS_RC(ctx);
	__u64 d = now > c.t0 ? now - c.t0 : 0;
	struct lkb_lock *l;
	if (role == LKB_COND) {
		/* the mutex is held again, also after a time-out */
		l = lock_get(ctx, c.addr, LKB_MUTEX, 0);
		if (!l)
			return 0;
		__sync_fetch_and_add(&l->cond_waits, 1);
		__sync_fetch_and_add(&l->cond_wait_ns, d);
		site_add(ctx, c.addr, LKB_COND_WAIT, d, 0);
		hold_start(c.addr, tid, bpf_ktime_get_ns(), 0);
		return 0;
	}
	if (rc != 0 && rc != ETIMEDOUT)
		return 0;
	l = lock_get(ctx, c.addr, kind_of(f), 0);
	if (!l)
		return 0;
	if (rc == ETIMEDOUT) {
		__sync_fetch_and_add(&l->timeouts, 1);
		return 0;
	}
	int shared = shared_of(f);
	__sync_fetch_and_add(&l->acquisitions, 1);
	if (shared)
		__sync_fetch_and_add(&l->read_acquisitions, 1);
	if (role != LKB_TRY && (c.busy || nvcsw_now() != c.nvcsw)) {
		__sync_fetch_and_add(&l->contended, 1);
		__sync_fetch_and_add(&l->wait_ns, d);
		max_put(&l->wait_max, d);
		site_add(ctx, c.addr, LKB_WAIT, d, 0);
	}
	hold_start(c.addr, tid, bpf_ktime_get_ns(), shared);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
