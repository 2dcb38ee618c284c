/* kh.h: internals of the heap preload library (libkiln-heap.so), shared by its files.
 * Everything here is hidden (-fvisibility=hidden); only the interposed allocator entry
 * points are exported (exports.map). See src/lib/heap/heap_proto.h for the protocol.
 *
 * Rules for code in this library: it runs inside someone else's program, possibly
 * before main, inside signal handlers, in fork children. It never calls the program's
 * allocator for its own data (kh_arena uses mmap), never writes to the program's
 * stdout/stderr, keeps no file descriptor open, and every path that can be entered
 * from an allocation is guarded by the per-thread busy flag (kh_thread.busy) so that a
 * reentrant call passes straight through to the real allocator. */
#ifndef KILN_PRELOAD_KH_H
#define KILN_PRELOAD_KH_H
#include "lib/heap/heap_proto.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define KH_LIKELY(x) __builtin_expect(!!(x), 1)
#define KH_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- per-thread state (initial-exec TLS: no allocation on access) ---- */
enum kh_tstate { KH_T_NEW = 0, KH_T_ON = 1, KH_T_OFF = 2 };

struct kh_thread {
	/* busy and state are apart on purpose: a compiler that merges their loads into one
	 * 64-bit load defeats store forwarding from the 32-bit store to busy */
	int busy;             /* inside the library: nested calls pass through... */
	uint32_t slot;
	uint64_t *ring;
	int state;            /* enum kh_tstate */
	int nested;           /* a nested recording (from a signal handler) is running */
	uint64_t *pad_;       /* keeps crit away from busy (see above) */
	int crit;             /* while 0 during a recording, a signal handler may record one
			       * level deep (crit: ring writes, locks, set-up) */
	struct hp_slot_ctl *ctl;
	uint64_t mask;        /* ring words - 1 */
	uint64_t head, tail_cache;
	uint64_t reserved;    /* ring words whose pages are taken (see kh_ring_reserve) */
	uint64_t epoch;
	const uint64_t *epoch_src; /* the reader's epoch in the header */
	uint64_t last_alloc;  /* address of this thread's latest allocation, 0 after another */
	/* Bytes until the next allocation that takes the recording path. Every entry
	 * point counts it down first and goes straight to the real allocator while it
	 * stays above 0: sampling mode keeps it at the bytes to the next sample, full mode
	 * at 0 (every call records), a thread that does not record at KH_LEFT_NEVER. */
	int64_t sample_left;
	int64_t last_left;    /* sampling: sample_left right after the latest sampled allocation */
	struct hp_pend *pend; /* this thread's pending events (in its slot's control page) */
	uint64_t rng;
	uint64_t stack_lo, stack_hi; /* this thread's stack, for checked unwinding */
	struct kh_tblock *blk;   /* per-slot scratch: the stack being captured, memos */
	uint32_t py_cut;      /* the capture under way may stop at the innermost Python
			       * eval loop (this thread holds the GIL: its Python frames
			       * describe the rest) */
};

/* A memo of a recent stack walk: the walk is a function of (ip, sp), of the caller's
 * rbp when a rule used it, and of the stack words it used, so when those are unchanged
 * the stack id can be reused. (Code without frame pointers keeps anything in rbp.)
 * Walks cut at the innermost Python eval loop (py_cut) have a bank of their own: they
 * are short (a few C frames above the interpreter, 32 stack words at most for 95% of
 * them) and many (one Python line allocates from several C paths), so that bank has
 * more sets of smaller memos. A walk needing more words than its memo holds is not
 * kept. */
#define KH_MEMO_SETS 16
#define KH_MEMO_WAYS 4 /* one function called from several places at one depth: one way each */
#define KH_MEMO (KH_MEMO_SETS * KH_MEMO_WAYS)
#define KH_MEMO_READS (2 * HP_MAX_DEPTH + 8)
#define KH_PMEMO_SETS 64
#define KH_PMEMO (KH_PMEMO_SETS * KH_MEMO_WAYS)
#define KH_PMEMO_READS 32
struct kh_memo_rd {
	uint64_t addr, val;
};
struct kh_memo {
	uint64_t ip, sp, bp;
	uint32_t gen, id;     /* gen: kh_unwind_gen when made; 0: not usable */
	uint32_t nreads;
	uint16_t valid;       /* while being made: 0 when the reads overflowed */
	uint8_t bp_used;      /* the walk used the caller's rbp: it is part of the key */
	uint8_t pad8_;
	uint32_t cap;         /* rd's length: KH_MEMO_READS, or KH_PMEMO_READS in the py_cut bank */
	uint32_t pad_;
	struct kh_memo_rd rd[];
};
#define KH_MEMO_BYTES (sizeof(struct kh_memo) + KH_MEMO_READS * sizeof(struct kh_memo_rd))
#define KH_PMEMO_BYTES (sizeof(struct kh_memo) + KH_PMEMO_READS * sizeof(struct kh_memo_rd))

/* A memo of a recent Python frame chain (kh_python.c): a chain whose frames, at these
 * addresses, are at these instructions (which name their code objects), its node, and
 * the stack ids it has made over the native stacks seen under it (one Python line
 * allocates from several places in C: a list, its items, a string). A chain is
 * compared whole: frame memory is reused, so no part of it says the rest is unchanged.
 * gen: kh_py_code_gen when made (a code object freed since may have left its address
 * to another one). A set's ways keep the chains of one place reached from several
 * callers. */
#define KH_PYMEMO_SETS 128
#define KH_PYMEMO_WAYS 4
#define KH_PYMEMO_DEPTH 48
#define KH_PYMEMO_NATIVE_BITS 4
#define KH_PYMEMO_NATIVE (1 << KH_PYMEMO_NATIVE_BITS)
struct kh_pymemo {
	uint32_t leaf;        /* the chain's innermost node (kh_python.c); 0: empty */
	uint32_t n, gen, pad_;
	uint64_t fr[2 * KH_PYMEMO_DEPTH]; /* per frame: its address, prev_instr | is_entry */
	/* stack ids by native stack id (direct-mapped by its hash; native id 0: unused) */
	struct {
		uint32_t native, id;
	} slot[KH_PYMEMO_NATIVE];
};

/* The last Python chain read whole (kh_python.c), outermost frame first, with the node
 * of each frame: the next read keeps the nodes of the outer frames the two share
 * (compared as the memos are: address and instruction, no code object freed since).
 * Imports nest deep, and from one allocation to the next only their inner frames
 * change. n: frames kept (every one of them sent); gen as in a memo. */
struct kh_pylast {
	uint32_t n, gen;
	uint32_t node[HP_PY_MAX_DEPTH];
	uint64_t fr[2 * HP_PY_MAX_DEPTH]; /* per frame: its address, prev_instr | is_entry */
};

struct kh_tblock {
	struct kh_pymemo pymemo[KH_PYMEMO_SETS * KH_PYMEMO_WAYS];
	struct kh_pylast pylast;
	uint64_t pycode[HP_PY_MAX_DEPTH]; /* scratch of a chain read: its code objects */
	uint8_t pyvictim[KH_PYMEMO_SETS]; /* the way of each set replaced next */
	uint64_t ips[HP_MAX_DEPTH];
	uint64_t nested_ips[HP_MAX_DEPTH];
	/* memos of KH_MEMO_BYTES, of KH_PMEMO_BYTES (the py_cut bank), and the scratch one
	 * of a nested capture (written, never used to skip a walk) */
	uint64_t memo[KH_MEMO * KH_MEMO_BYTES / 8];
	uint64_t pmemo[KH_PMEMO * KH_PMEMO_BYTES / 8];
	uint64_t nested_memo[KH_MEMO_BYTES / 8];
	uint8_t victim[KH_MEMO_SETS]; /* the way each set replaces next */
	uint8_t pvictim[KH_PMEMO_SETS];
};

/* The set of (ip, sp) in the bank of walks cut (1) or not (0). */
static inline uint32_t kh_memo_index(uint64_t ip, uint64_t sp, uint32_t cut)
{
	return (uint32_t)((ip >> 2) ^ (sp >> 4)) & (cut ? KH_PMEMO_SETS - 1 : KH_MEMO_SETS - 1);
}

/* Way w of set in the bank of walks cut (1) or not (0). */
static inline struct kh_memo *kh_memo_way(struct kh_tblock *b, uint32_t cut, uint32_t set, uint32_t w)
{
	size_t i = (size_t)set * KH_MEMO_WAYS + w;
	return cut ? (struct kh_memo *)(void *)((char *)b->pmemo + i * KH_PMEMO_BYTES)
		   : (struct kh_memo *)(void *)((char *)b->memo + i * KH_MEMO_BYTES);
}

extern __thread struct kh_thread kh_tls;
#define KH_LEFT_NEVER (INT64_MAX / 4)

/* Library code that must not be re-entered at all (set-up, locks, ring writes). */
#define KH_CRIT_BEGIN(t) do { (t)->busy++; (t)->crit++; __atomic_signal_fence(__ATOMIC_SEQ_CST); } while (0)
#define KH_CRIT_END(t) do { __atomic_signal_fence(__ATOMIC_SEQ_CST); (t)->crit--; (t)->busy--; } while (0)

/* ---- process state ---- */
struct kh_proc {
	int enabled;            /* KILN_HEAP_DIR set and recording not given up */
	int need_file;          /* no session file yet (start, or fork child) */
	struct hp_header *hdr;
	uint64_t *control;      /* slot 0 ring */
	struct hp_slot_ctl *control_ctl;
	uint64_t control_head, control_tail;
	char dir[1024];
	char path[1100];
	uint64_t sample_bytes;
	uint64_t ring_bytes;
	/* fork child: what it inherits from the parent image */
	uint64_t inh_created, inh_stacks, inh_control;
	int32_t inh_ppid;
	void *slot_map[HP_MAX_SLOTS];
	struct kh_tblock *slot_block[HP_MAX_SLOTS];
	uint64_t slot_reserved[HP_MAX_SLOTS];
	int slot_hint;
	int mt;                 /* a second thread records: events carry sequence numbers */
	int nopend;             /* events are not held back (sampling, or more than one thread) */
	uint32_t attached;      /* threads that ever recorded */
	uint64_t seq;           /* the process-wide event sequence (mt only) */
};
extern struct kh_proc kh_p;

/* ---- real allocator (resolved with dlsym(RTLD_NEXT)) ---- */
struct kh_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	int (*dlclose)(void *);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
};
extern struct kh_real kh_real;

/* ---- locks: spinlocks that yield; never taken from a reentrant (busy) path ---- */
void kh_lock(int *l);
void kh_unlock(int *l);
extern int kh_stack_lock, kh_module_lock, kh_control_lock, kh_sample_lock, kh_arena_lock;
/* taken only at set-up; a fork child resets them like the others */
extern int kh_file_lock, kh_config_lock, kh_cache_lock;

/* ---- memory for the library itself (mmap'd, never returned) ---- */
void *kh_arena_alloc(size_t n);  /* zeroed, 16-byte aligned; NULL when mmap fails */
void *kh_map_anon(size_t n);     /* zeroed pages; NULL on failure */
void *kh_map_anon_now(size_t n); /* the same, its pages taken now (fewer faults when all are used) */

/* ---- small libc-free helpers (usable in a fork child) ---- */
uint64_t kh_now_ns(void);
size_t kh_fmt_u64(char *buf, uint64_t v); /* decimal, no NUL; returns length */
size_t kh_strlen(const char *s);

/* ---- session file and rings (kh_shm.c) ---- */
int kh_file_create(void);         /* 0, or -1: recording off */
int kh_thread_attach(struct kh_thread *t); /* claims a slot; 0 or -1 */
void kh_thread_detach(struct kh_thread *t);
int kh_ring_wait(struct kh_thread *t, unsigned n); /* 0 when n words fit, -1 gave up */
int kh_ring_reserve(struct kh_thread *t, uint64_t upto); /* first pass: take pages */
void kh_give_up(void);
/* Appends one control record (w0 built by the caller) under kh_control_lock. */
int kh_control_write(const uint64_t *words, size_t n);
void kh_fork_prepare(void);
void kh_fork_parent(void);
void kh_fork_child(void);

/* ---- lock mode (kh_lock.c) ---- */
void kh_lock_configure(void);     /* from configure(): reads KILN_LOCK */
void kh_lock_fork_child(void);    /* from kh_fork_child() */
int kh_attach_for_lock(struct kh_thread *t); /* attach() for a thread's first lock event */

/* Writes the thread's pending events (hp_pend) into its ring; call inside KH_CRIT. */
void kh_pend_flush(struct kh_thread *t);

/* ---- modules (kh_modules.c) ---- */
/* Makes sure the module containing addr has been sent (refreshing the list with
 * dl_iterate_phdr when addr is in none known). Must be called with no lock held. */
void kh_modules_ensure(uint64_t addr);
void kh_modules_reset(void); /* after dlclose: forget and resend */

/* ---- unwinding (kh_unwind.c) ---- */
/* The stack id of the caller at (ip, sp, bp): ip is a return address, sp the CFA of
 * the interposed function, bp the caller's rbp. Walks the stack (up to HP_MAX_DEPTH
 * return addresses into t->blk->ips) and keeps the walk as a memo; callers use
 * kh_capture_fast, which first looks for a memo showing the stack unchanged. */
uint32_t kh_capture(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp);
extern uint32_t kh_unwind_gen; /* memos of older generations are invalid (dlclose) */
/* kh_capture's common case inline: the memo shows the stack unchanged. */
static inline __attribute__((always_inline)) uint32_t kh_capture_fast(struct kh_thread *t, uint64_t ip,
								       uint64_t sp, uint64_t bp)
{
	uint32_t cut = t->py_cut, set = kh_memo_index(ip, sp, cut);
	uint32_t gen = __atomic_load_n(&kh_unwind_gen, __ATOMIC_ACQUIRE);
	for (uint32_t w = 0; w < KH_MEMO_WAYS; w++) {
		const struct kh_memo *m = kh_memo_way(t->blk, cut, set, w);
		if (m->ip == ip && m->sp == sp && (m->bp == bp || !m->bp_used) && m->gen == gen) {
			uint64_t d = 0;
			uint32_t i = 0, n = m->nreads;
			for (; i + 2 <= n; i += 2)
				d |= (*(const volatile uint64_t *)(uintptr_t)m->rd[i].addr ^ m->rd[i].val) |
				     (*(const volatile uint64_t *)(uintptr_t)m->rd[i + 1].addr ^ m->rd[i + 1].val);
			if (i < n)
				d |= *(const volatile uint64_t *)(uintptr_t)m->rd[i].addr ^ m->rd[i].val;
			if (KH_LIKELY(!d))
				return m->id;
		}
	}
	return kh_capture(t, ip, sp, bp);
}
/* The same from a signal handler that interrupted a recording outside its critical
 * parts: no memo, its own buffer. */
uint32_t kh_capture_nested(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp);
void kh_unwind_reset(void);  /* after dlclose */
/* [kh_eval_lo, kh_eval_lo + kh_eval_len): _PyEval_EvalFrameDefault, where a walk with
 * py_cut stops (len 0: never) */
extern uint64_t kh_eval_lo, kh_eval_len;
void kh_thread_stack_bounds(struct kh_thread *t);

/* ---- insert-only pointer tables (kh_stacks.c): stacks by hash ----
 * Open addressing over pointers to immutable nodes whose first member is their hash
 * (uint64_t). A slot is one word: the node's address (below 2^47 in a user address
 * space) with the hash's top 16 bits above it, so that a probe compares those without
 * reading the node, and a table is 8 bytes a slot (its pages cost more than its
 * probes: each first touch of a page is a fault). Lookups are lock-free (an acquire
 * load of the slot; the node's fields were written before it); the caller compares
 * its own keys; inserts and growth happen under the owner's lock. A grown table
 * replaces the old one, which stays mapped for threads still reading it. */
#define KH_PTAB_PTR ((1ull << 48) - 1)
struct kh_ptab {
	uint32_t cap, count;
	uint64_t slot[];
};
/* The node in slot i of s whose hash is hash (the caller compares its keys), NULL
 * when the slot holds another, and (void *)1 when it is empty: the probe ends. */
static inline void *kh_ptab_at(const struct kh_ptab *s, uint32_t i, uint64_t hash)
{
	uint64_t v = __atomic_load_n(&s->slot[i], __ATOMIC_ACQUIRE);
	if (!v)
		return (void *)1;
	return (v ^ hash) >> 48 ? NULL : (void *)(uintptr_t)(v & KH_PTAB_PTR);
}
/* A table twice old's size (cap when old is NULL) holding old's nodes; NULL when mmap
 * fails. Its pages are taken at once (kh_map_anon_now): hashing touches every one of
 * them soon, and a page first read and then written faults twice. Tables start at
 * KH_PTAB_FIRST slots (128 KiB): a Python program's imports make some 40,000 stacks,
 * which a smaller start would rehash several times over. */
#define KH_PTAB_FIRST 16384
struct kh_ptab *kh_ptab_grow(const struct kh_ptab *old, uint32_t cap);
/* Publishes node (hash: its first word) in the first free slot from its hash. */
void kh_ptab_put(struct kh_ptab *s, void *node);

/* ---- stack table (kh_stacks.c) ---- */
/* Returns the id of the stack ips[0..n), sending its definition the first time (with
 * nested, from a signal handler, without refreshing the module list). */
uint32_t kh_stack_id(struct kh_thread *t, const uint64_t *ips, int n, uint64_t hash, int nested);
uint64_t kh_stack_count(void); /* next id to be assigned */
/* With kh_stack_lock held: the return addresses of native stack id (NULL: unknown),
 * and a new id for a stack defined elsewhere (Python stacks, kh_python.c). */
const uint64_t *kh_stack_ips(uint32_t id, uint32_t *depth);
uint32_t kh_stack_next_id(void);
void kh_stacks_reset(void);    /* after dlclose: ids continue, definitions are resent */

/* ---- Python frames (kh_python.c) ---- */
/* Nonzero when this process runs a CPython whose frames the library reads. */
extern int kh_py_on;
void kh_py_init(void); /* from the constructor, once the symbols are there */
void kh_py_memo_pages(struct kh_tblock *b); /* kh_shm.c: b's Python memos' pages taken now */
void kh_py_fork_child(void); /* from kh_fork_child() */
/* The stack id of an allocation made at (ip, sp, bp) in a Python process: its native
 * stack (cut at the innermost eval loop when the thread runs Python code) with its
 * Python frames. */
uint32_t kh_py_capture(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp);
/* 0 while the hooks over CPython's allocators may still have been replaced by CPython
 * itself (PYTHONMALLOC, -X dev); kh_py_check_hooks puts them back once it is up. */
extern int kh_py_hooks_checked;
/* &PyCode_Type (1 when unknown: no block holds that), and the count of code objects
 * freed (kh_pyh_free looks at each block's type field, where a code object has it) */
extern uint64_t kh_py_code_type;
extern uint32_t kh_py_code_gen;
void kh_py_code_dead(uint64_t addr); /* a code object is freed (with the GIL held; takes kh_stack_lock) */
static inline void kh_py_code_freed(const void *p)
{
	if (KH_UNLIKELY(((const uint64_t *)p)[1] == kh_py_code_type))
		kh_py_code_dead((uint64_t)(uintptr_t)p);
}
void kh_py_check_hooks(struct kh_thread *t);

/* CPython's PyMemAllocatorEx (the same since 3.5): the original allocator of a domain,
 * and the hooks kh_python.c installs in its place (kh_main.c), ctx = &kh_py_mem or
 * &kh_py_obj. */
struct kh_pyalloc {
	void *ctx;
	void *(*malloc)(void *ctx, size_t n);
	void *(*calloc)(void *ctx, size_t n, size_t m);
	void *(*realloc)(void *ctx, void *p, size_t n);
	void (*free)(void *ctx, void *p);
};
extern struct kh_pyalloc kh_py_mem, kh_py_obj;
extern int kh_pyfast; /* the hooks' fast path may be taken (kh_main.c) */
void kh_pyfast_update(void); /* turns it on where it can be: after the hooks go on, in a fork child */
void *kh_pyh_malloc(void *ctx, size_t n);
void *kh_pyh_calloc(void *ctx, size_t n, size_t m);
void *kh_pyh_realloc(void *ctx, void *p, size_t n);
void kh_pyh_free(void *ctx, void *p);

/* ---- sampling (kh_sample.c) ---- */
#define KH_FILTER_BITS 16
/* All ones until configure() knows the mode: every free takes the recording path. In
 * sampling mode a bit is set for buckets holding sampled live blocks and, for good,
 * for NULL and the blocks of the start-up arena (sticky: free must see those). */
extern uint64_t kh_sample_filter[(1u << KH_FILTER_BITS) / 64];
void kh_sample_filter_init(const uint64_t *sticky_addrs, size_t n); /* sampling or off */
static inline uint32_t kh_sample_bucket(uint64_t addr)
{
	return (uint32_t)(((addr >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - KH_FILTER_BITS));
}
/* 0 when addr is certainly not a sampled live block (the common, lock-free case). */
static inline int kh_sample_maybe(uint64_t addr)
{
	uint32_t b = kh_sample_bucket(addr);
	return (__atomic_load_n(&kh_sample_filter[b / 64], __ATOMIC_RELAXED) >> (b % 64)) & 1;
}
/* 1 while every free is looked at (full mode, and until configure() knows the mode):
 * then the filter is all ones and need not be read; 0 once it holds the sampled
 * blocks (set after the filter, so a free that reads 1 looks, as it would have). */
extern int kh_free_all;
/* 0 when the block at addr certainly needs no recording at its free. */
static inline int kh_free_look(uint64_t addr)
{
	return __atomic_load_n(&kh_free_all, __ATOMIC_RELAXED) || kh_sample_maybe(addr);
}
void kh_sample_insert(uint64_t addr);
int kh_sample_remove(struct kh_thread *t, uint64_t addr); /* 1 when addr was a sampled live block */
int64_t kh_sample_next(struct kh_thread *t);

#endif
