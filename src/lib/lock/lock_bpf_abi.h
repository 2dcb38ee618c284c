/* lock_bpf_abi.h: what `kiln lock -p`'s BPF program (lock_bpf.bpf.c) and user space
 * (lock_attach.c) share: the probed functions (the attach cookie), and the map layouts.
 * Plain fixed-width types only: this header is compiled for both targets. */
#ifndef KILN_LOCK_LOCK_BPF_ABI_H
#define KILN_LOCK_LOCK_BPF_ABI_H

/* The probed libc functions; a probe's cookie is LKB_F_* (entry) or LKB_F_* | LKB_RET. */
enum {
	LKB_F_MUTEX_LOCK,
	LKB_F_MUTEX_TRYLOCK,
	LKB_F_MUTEX_TIMEDLOCK,
	LKB_F_MUTEX_UNLOCK,
	LKB_F_MUTEX_INIT,
	LKB_F_RW_RDLOCK,
	LKB_F_RW_TRYRDLOCK,
	LKB_F_RW_TIMEDRDLOCK,
	LKB_F_RW_WRLOCK,
	LKB_F_RW_TRYWRLOCK,
	LKB_F_RW_TIMEDWRLOCK,
	LKB_F_RW_UNLOCK,
	LKB_F_RW_INIT,
	LKB_F_SPIN_LOCK,
	LKB_F_SPIN_TRYLOCK,
	LKB_F_SPIN_UNLOCK,
	LKB_F_COND_WAIT,
	LKB_F_COND_TIMEDWAIT,
	LKB_NFUNCS
};
#define LKB_RET 0x100

/* What a function does (lkb_role). */
enum { LKB_ACQUIRE = 1, LKB_TRY, LKB_TIMED, LKB_RELEASE, LKB_INIT, LKB_COND };
/* Lock kinds: heap_proto.h's HP_LK_* values. */
enum { LKB_MUTEX = 1, LKB_RWLOCK = 2, LKB_SPIN = 3 };
/* Site kinds: heap_proto.h's HP_LW_* values. */
enum { LKB_WAIT = 1, LKB_HOLD = 2, LKB_COND_WAIT = 3 };

#define LKB_MAX_LOCKS 16384
#define LKB_MAX_SITES 16384
#define LKB_MAX_STACKS 16384
#define LKB_MAX_HOLDS 65536
#define LKB_STACK_DEPTH 127

/* per lock (key: its address): heap_proto.h's struct hp_lock_entry (the preload's
 * table entry, so that one reader serves both; lock_attach.c checks the offsets), then
 * what only the BPF side has */
struct lkb_lock {
	unsigned long long addr;       /* unused in the map (it is the key) */
	unsigned int kind;             /* LKB_MUTEX, ... */
	int first_stack;               /* stack map id of the code that first took (or
					* initialized) it; <0 none */
	unsigned long long acquisitions, contended, wait_ns, wait_max, hold_ns, hold_max;
	unsigned long long cond_waits, cond_wait_ns, timeouts, read_acquisitions, hold_timed;
	unsigned long long first_ret;  /* with first_stack taken at a function's entry: the return address */
};

/* per (lock, stack, what). A stack taken at a function's entry starts with that entry,
 * and a frame-pointer walk from there misses the caller (kernels add it only when the
 * function begins with push %rbp or endbr64): ret is then the return address, read at
 * the stack pointer; 0 for stacks taken at a return (they start in the caller). */
struct lkb_site_key {
	unsigned long long addr;
	unsigned long long ret;
	int stack;             /* stack map id, <0 none */
	unsigned int what;     /* LKB_WAIT, LKB_HOLD, LKB_COND_WAIT */
};
struct lkb_site {
	unsigned long long count, total_ns, max_ns;
};

/* a lock call in progress (key: thread id) */
struct lkb_call {
	unsigned long long addr, t0, nvcsw;
	unsigned int func, busy;
};

/* a hold in progress (key: lock address and thread) */
struct lkb_hold_key {
	unsigned long long addr;
	unsigned int tid, pad;
};
struct lkb_hold {
	unsigned long long t;
	unsigned int shared, pad;
};

#endif
