/* kh_main.c: libkiln-heap.so's interposed allocator entry points, start-up, and exit.
 *
 * Every entry point checks the thread's state first: a thread that is inside the
 * library already (busy: our own allocations, or a signal handler interrupting us) or
 * that does not record goes straight to the real allocator. The real functions come
 * from dlsym(RTLD_NEXT); dlsym's own calloc is served by a small static arena. */
#include "preload/kh.h"
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

__thread struct kh_thread kh_tls __attribute__((tls_model("initial-exec")));
struct kh_real kh_real;
void kh_thread_keys_init(void);

/* ---- bootstrap arena: allocations made while the real functions are resolved ---- */
#define BOOT_SIZE (128u * 1024)
static char boot_arena[BOOT_SIZE] __attribute__((aligned(64)));
static size_t boot_used;
/* the blocks handed out, so that sampling mode's free filter keeps seeing them */
#define BOOT_MAX 256
static uint64_t boot_blocks[BOOT_MAX];
static size_t boot_n;

static void *boot_alloc(size_t n, size_t align)
{
	size_t start, end;
	if (align < 16)
		align = 16;
	start = (boot_used + 16 + align - 1) & ~(align - 1);
	if (n > BOOT_SIZE || start + n > BOOT_SIZE)
		return NULL;
	end = start + n;
	memcpy(boot_arena + start - 8, &n, 8);
	boot_used = end;
	if (boot_n < BOOT_MAX)
		boot_blocks[boot_n] = (uint64_t)(uintptr_t)(boot_arena + start);
	boot_n++;
	return boot_arena + start; /* zeroed: static storage, never reused */
}

static inline int is_boot(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + BOOT_SIZE;
}

static size_t boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - 8, 8);
	return n;
}

/* ---- start-up ---- */
static int init_state; /* 0 not started, 1 resolving, 2 resolved */
int kh_config_lock;
static int configured;

static void resolve(void)
{
	int expect = 0;
	if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2)
		return;
	if (!__atomic_compare_exchange_n(&init_state, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (kh_tls.busy)
			return; /* dlsym is calling us: the boot arena serves it */
		while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
			sched_yield();
		return;
	}
	KH_CRIT_BEGIN(&kh_tls);
	kh_real.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	kh_real.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	kh_real.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	kh_real.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	kh_real.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	kh_real.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	kh_real.aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	kh_real.valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
	kh_real.pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
	kh_real.malloc_usable_size = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	kh_real.dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
	kh_real.pthread_create = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(
		RTLD_NEXT, "pthread_create");
	KH_CRIT_END(&kh_tls);
	__atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
}

static uint64_t parse_u64(const char *s)
{
	uint64_t v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

/* Reads the environment once it exists (an allocation can come before libc set it). */
static void configure(void)
{
	extern char **environ;
	const char *dir;
#define lock kh_config_lock
	if (__atomic_load_n(&configured, __ATOMIC_ACQUIRE) || !environ)
		return;
	kh_lock(&lock);
	if (configured) {
		kh_unlock(&lock);
		return;
	}
	dir = getenv(HP_ENV_DIR);
	if (dir && dir[0] == '/' && kh_strlen(dir) < sizeof(kh_p.dir)) {
		uint64_t ring = parse_u64(getenv(HP_ENV_RING));
		memcpy(kh_p.dir, dir, kh_strlen(dir) + 1);
		kh_p.sample_bytes = parse_u64(getenv(HP_ENV_SAMPLE));
		kh_p.ring_bytes = HP_RING_BYTES_DEFAULT;
		if (ring >= 65536 && ring <= (256u << 20) && !(ring & (ring - 1)))
			kh_p.ring_bytes = ring;
		kh_thread_keys_init();
		pthread_atfork(kh_fork_prepare, kh_fork_parent, kh_fork_child);
		kh_p.need_file = 1;
		kh_p.enabled = 1;
	}
	kh_lock_configure();
	kh_p.nopend = !kh_p.enabled || kh_p.sample_bytes != 0;
	/* full mode keeps the free filter all ones: every free is looked at */
	if ((!kh_p.enabled || kh_p.sample_bytes) && boot_n <= BOOT_MAX)
		kh_sample_filter_init(boot_blocks, boot_n);
	__atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
	kh_unlock(&lock);
#undef lock
}

int kh_file_lock;
#define file_lock kh_file_lock

/* A thread's first event: make the process's file if needed and claim a ring. */
static int attach(struct kh_thread *t)
{
	if (t->state == KH_T_OFF) {
		t->sample_left = KH_LEFT_NEVER;
		return -1;
	}
	KH_CRIT_BEGIN(t);
	if (!configured)
		configure();
	if (!configured) {
		KH_CRIT_END(t);
		return -1; /* too early: try again at the next call */
	}
	if (kh_p.enabled && kh_p.need_file) {
		kh_lock(&file_lock);
		if (kh_p.need_file && kh_file_create() < 0)
			kh_p.enabled = 0;
		kh_unlock(&file_lock);
	}
	if (!kh_p.enabled || kh_thread_attach(t) < 0) {
		t->state = KH_T_OFF;
		t->sample_left = KH_LEFT_NEVER;
		KH_CRIT_END(t);
		return -1;
	}
	t->sample_left = kh_p.sample_bytes ? kh_sample_next(t) : 0;
	KH_CRIT_END(t);
	return 0;
}

static void stack_size_init(void);

/* Lock mode (kh_lock.c) attaches a thread that takes a lock before it allocates. */
int kh_attach_for_lock(struct kh_thread *t)
{
	if (t->busy || !kh_real.malloc)
		return -1;
	return attach(t);
}

__attribute__((constructor)) static void kh_start(void)
{
	resolve();
	KH_CRIT_BEGIN(&kh_tls);
	stack_size_init();
	configure();
	if (kh_p.enabled && kh_p.need_file) {
		kh_lock(&file_lock);
		if (kh_p.need_file && kh_file_create() < 0)
			kh_p.enabled = 0;
		kh_unlock(&file_lock);
	}
	if (kh_p.enabled)
		kh_py_init();
	KH_CRIT_END(&kh_tls);
}

__attribute__((destructor)) static void kh_stop(void)
{
	if (kh_p.hdr) {
		kh_p.hdr->exit_ns = kh_now_ns();
		__atomic_or_fetch(&kh_p.hdr->flags, HP_F_EXITING, __ATOMIC_RELEASE);
	}
}

/* ---- recording ---- */
/* Makes room for need words in the thread's ring (taking its pages on the first
 * pass, waiting for the reader when full); 0, or -1: the event is dropped. */
static inline __attribute__((always_inline)) int ring_room(struct kh_thread *t, uint64_t head, unsigned need)
{
	uint64_t mask = t->mask;
	if (KH_UNLIKELY(t->reserved <= mask) && (head + need > t->reserved || head >= mask + 1) &&
	    kh_ring_reserve(t, head >= mask + 1 ? mask + 1 : head + need) < 0)
		return -1;
	if (KH_UNLIKELY(head + need - t->tail_cache > mask + 1)) {
		t->tail_cache = __atomic_load_n(&t->ctl->tail, __ATOMIC_ACQUIRE);
		if (head + need - t->tail_cache > mask + 1 && kh_ring_wait(t, need) < 0)
			return -1;
	}
	return 0;
}

/* Appends n words dated by epoch e (an EPOCH record first when the ring's latest
 * epoch differs) and publishes them. For held-back events e is their own epoch. The
 * head is kept in a local so that the stores into the ring, which the compiler cannot
 * tell apart from the thread state, do not force reloads. */
static inline __attribute__((always_inline)) void ring_put_(struct kh_thread *t, uint64_t e, const uint64_t *w,
							    unsigned n)
{
	uint64_t head = t->head, mask = t->mask, *ring = t->ring;
	unsigned need = n + (e != t->epoch);
	if (ring_room(t, head, need) < 0)
		return;
	if (KH_UNLIKELY(e != t->epoch)) {
		t->epoch = e;
		ring[head++ & mask] = e << 4 | HP_EPOCH;
	}
	for (unsigned i = 0; i < n; i++)
		ring[head++ & mask] = w[i];
	t->head = head;
	__atomic_store_n(&t->ctl->head, head, __ATOMIC_RELEASE);
}

static void ring_put(struct kh_thread *t, uint64_t e, const uint64_t *w, unsigned n)
{
	ring_put_(t, e, w, n);
}

static inline void pend_clear_window(struct hp_pend *q)
{
	uint64_t m = q->win_mask;
	while (m) {
		q->hist[__builtin_ctzll(m)] = 0;
		m &= m - 1;
	}
	for (int i = 0; i < HP_PEND_RUNS; i++)
		q->run[i].id_count = q->run[i].bytes = q->run[i].max = 0;
	q->win_mask = 0;
	q->win_pairs = 0;
}

/* Writes the held temporary pairs; inside the seq-odd section. */
static void pend_flush_window(struct kh_thread *t, struct hp_pend *q)
{
	uint64_t w[HP_PEND_WORDS];
	unsigned n = hp_pend_window(q, w);
	if (n)
		ring_put(t, q->win_epoch, w, n);
	pend_clear_window(q);
}

/* Writes everything held (the pairs, then the allocation); inside the seq-odd section. */
static inline void pend_flush_all(struct kh_thread *t, struct hp_pend *q)
{
	if (q->win_pairs)
		pend_flush_window(t, q);
	if (q->alloc_w0) {
		uint64_t w[2] = { q->alloc_w0, q->alloc_w1 };
		ring_put(t, q->alloc_epoch, w, 2);
		q->alloc_w0 = 0;
	}
}

#define PEND_BEGIN(q) do { (q)->seq++; __atomic_signal_fence(__ATOMIC_SEQ_CST); } while (0)
#define PEND_END(q) do { __atomic_signal_fence(__ATOMIC_SEQ_CST); (q)->seq++; } while (0)

void kh_pend_flush(struct kh_thread *t)
{
	struct hp_pend *q = t->pend;
	if (!q || t->state != KH_T_ON || (!q->alloc_w0 && !q->win_pairs))
		return;
	PEND_BEGIN(q);
	pend_flush_all(t, q);
	PEND_END(q);
}

/* Appends n (1 to 3) words of an event happening now and publishes them, after
 * anything held back. */
static inline __attribute__((always_inline)) void ring_write_(struct kh_thread *t, uint64_t w0, uint64_t w1,
							      uint64_t w2, unsigned n)
{
	struct hp_pend *q = t->pend;
	if (q->alloc_w0 && !q->win_pairs && n == 1 && !__atomic_load_n(&kh_p.mt, __ATOMIC_RELAXED) &&
	    q->alloc_epoch == __atomic_load_n(t->epoch_src, __ATOMIC_RELAXED) && t->state == KH_T_ON) {
		/* the common case of a free after an allocation that was not its block: both
		 * go in at once (the allocation first) */
		uint64_t w[3] = { q->alloc_w0, q->alloc_w1, w0 };
		PEND_BEGIN(q);
		ring_put_(t, q->alloc_epoch, w, 3);
		q->alloc_w0 = 0;
		PEND_END(q);
		return;
	}
	if (KH_UNLIKELY(q->alloc_w0 | q->win_pairs))
		kh_pend_flush(t);
	/* acquire: kiln sees HP_F_MT, set before mt, with any event written after this */
	if (KH_UNLIKELY(__atomic_load_n(&kh_p.mt, __ATOMIC_ACQUIRE))) {
		uint64_t seq = __atomic_add_fetch(&kh_p.seq, 1, __ATOMIC_SEQ_CST) & 0xffffffffu;
		if (n == 3) {
			w2 |= seq << 32;
		} else if (n == 1) {
			w0 = (w0 & ~(uint64_t)HP_TYPE_MASK) | HP_FREE_SEQ;
			w1 = seq;
			n = 2;
		} /* an ALLOC2 decided just before the process became multithreaded: no seq */
	}
	uint64_t w[3] = { w0, w1, w2 };
	ring_put_(t, __atomic_load_n(t->epoch_src, __ATOMIC_RELAXED), w, n);
}

static inline __attribute__((always_inline)) void ring_write(struct kh_thread *t, uint64_t w0, uint64_t w1,
							     uint64_t w2, unsigned n)
{
	t->crit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ring_write_(t, w0, w1, w2, n);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->crit = 0;
}

/* Events may be held back: full mode, one thread, a plain (not nested) recording. */
static inline int pend_ok(const struct kh_thread *t)
{
	return !__atomic_load_n(&kh_p.nopend, __ATOMIC_RELAXED) && !t->nested;
}

/* Holds the allocation (an ALLOC2 record) back until the next event shows whether it
 * is temporary; an allocation held before it was not: it goes in, after the pairs
 * held before it. */
static inline __attribute__((always_inline)) void pend_hold(struct kh_thread *t, uint64_t w0, uint64_t w1)
{
	struct hp_pend *q = t->pend;
	t->crit = 1;
	PEND_BEGIN(q);
	if (KH_UNLIKELY(q->alloc_w0))
		pend_flush_all(t, q);
	q->alloc_w0 = w0;
	q->alloc_w1 = w1;
	q->alloc_epoch = __atomic_load_n(t->epoch_src, __ATOMIC_RELAXED);
	PEND_END(q);
	t->crit = 0;
}

/* fa: frame address of the interposed entry point (its caller is the allocation site).
 * A signal handler may interrupt this and record its own allocation, except in the
 * critical parts (t->crit): ring writes, sampling bookkeeping, new stacks. */
static void record_alloc(struct kh_thread *t, void *p, size_t size, const uint64_t *fa)
{
	uint32_t id;
	if (KH_UNLIKELY(t->nested)) {
		id = kh_capture_nested(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0]);
		if (!id)
			return;
	} else {
		if (KH_UNLIKELY(!kh_py_hooks_checked) && !kh_py_on)
			kh_py_check_hooks(t);
		id = kh_py_on ? kh_py_capture(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0])
			      : kh_capture_fast(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0]);
	}
	if (KH_UNLIKELY(t->state != KH_T_ON))
		return;
	if (KH_LIKELY(size < (1ull << 40) && id < (1u << 24))) {
		uint64_t w0 = (uint64_t)(uintptr_t)p << 4 | HP_ALLOC2, w1 = (uint64_t)size | (uint64_t)id << 40;
		if (KH_LIKELY(pend_ok(t))) {
			pend_hold(t, w0, w1);
			return;
		}
		if (!__atomic_load_n(&kh_p.mt, __ATOMIC_RELAXED)) {
			ring_write(t, w0, w1, 0, 2);
			return;
		}
	}
	ring_write(t, (uint64_t)(uintptr_t)p << 4 | HP_ALLOC, (uint64_t)size, id, 3);
}

static inline void on_alloc(struct kh_thread *t, void *p, size_t size, const uint64_t *fa)
{
	if (kh_p.sample_bytes) {
		t->last_alloc = 0;
		if (KH_LIKELY((t->sample_left -= (int64_t)size) > 0))
			return;
		t->sample_left = kh_sample_next(t);
		KH_CRIT_BEGIN(t);
		kh_sample_insert((uint64_t)(uintptr_t)p);
		KH_CRIT_END(t);
	}
	record_alloc(t, p, size, fa);
	t->last_alloc = (uint64_t)(uintptr_t)p;
	t->last_left = t->sample_left;
}

/* The run a temporary pair of stack id joins when it is not run[0] of this epoch:
 * writes the held pairs out at a new epoch or a limit, then finds the stack's run or
 * starts one (writing the pairs out when all runs are taken). */
static __attribute__((noinline)) struct hp_pend_run *pend_run(struct kh_thread *t, struct hp_pend *q, uint64_t a,
							     uint64_t id, uint64_t e)
{
	struct hp_pend_run *r = NULL;
	if (q->win_pairs && (q->win_epoch != e || q->win_pairs >= (1u << 30)))
		pend_flush_window(t, q);
	for (int i = 0; i < HP_PEND_RUNS; i++) {
		struct hp_pend_run *x = &q->run[i];
		if ((x->id_count & 0xffffffffu) == id && x->id_count) {
			r = x;
			break;
		}
		if (!x->id_count && !r)
			r = x;
	}
	if (!r || r->bytes >= (1ull << 62)) {
		pend_flush_window(t, q);
		r = &q->run[0];
	}
	if (!r->id_count)
		r->id_count = id;
	if (!q->win_pairs) {
		q->win_epoch = e;
		q->win_addr = a;
	}
	return r;
}

/* A temporary pair joins the held window (a was the held allocation); inside the
 * seq-odd section. The common case, one more pair of run[0]'s stack, is inline. */
static inline __attribute__((always_inline)) void pend_temp(struct kh_thread *t, struct hp_pend *q, uint64_t a)
{
	uint64_t w1 = q->alloc_w1, size = w1 & ((1ull << 40) - 1), id = w1 >> 40;
	uint64_t e = __atomic_load_n(t->epoch_src, __ATOMIC_RELAXED);
	struct hp_pend_run *r = &q->run[0];
	int b = hp_hist_bucket(size);
	if (KH_UNLIKELY(!(r->id_count && (r->id_count & 0xffffffffu) == id && q->win_epoch == e &&
			  q->win_pairs < (1u << 30) && r->bytes < (1ull << 62))))
		r = pend_run(t, q, a, id, e);
	r->id_count += 1ull << 32;
	r->bytes += size;
	if (size > r->max)
		r->max = size;
	q->win_pairs++;
	q->hist[b]++;
	q->win_mask |= 1ull << b;
	q->alloc_w0 = 0;
}

/* A free of the block at a: when it is the held allocation, the pair joins the held
 * temporary pairs and 1 is returned. Critical first, then the check: a signal handler
 * recording in between would write the held allocation out. */
static inline __attribute__((always_inline)) int pend_try_temp(struct kh_thread *t, uint64_t a)
{
	struct hp_pend *q = t->pend;
	t->crit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (KH_UNLIKELY(q->alloc_w0 != (a << 4 | HP_ALLOC2))) {
		t->crit = 0;
		return 0;
	}
	PEND_BEGIN(q);
	pend_temp(t, q, a);
	PEND_END(q);
	t->crit = 0;
	return 1;
}

static inline void on_free(struct kh_thread *t, void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p, w;
	if (kh_p.sample_bytes && KH_LIKELY(!kh_sample_remove(t, a)))
		return;
	w = a << 4 | HP_FREE;
	if (a == t->last_alloc && (!kh_p.sample_bytes || t->sample_left == t->last_left)) {
		t->last_alloc = 0;
		if (pend_ok(t) && t->state == KH_T_ON && pend_try_temp(t, a))
			return;
		w |= HP_FREE_TEMP;
	}
	ring_write(t, w, 0, 0, 1);
}

/* Returns 1 when this call should be recorded, 2 when it comes from a signal handler
 * that interrupted a stack capture (recorded as well, one level deep), 0 to pass it
 * through. busy is set only while the library's own code runs, not during the real
 * allocator call, so that a handler interrupting the allocator is recorded too. */
static inline int recording(struct kh_thread *t)
{
	if (KH_LIKELY(!t->busy && t->state == KH_T_ON))
		return 1;
	if (t->busy == 1 && !t->crit && !t->nested && t->state == KH_T_ON)
		return 2;
	if (t->busy || t->state == KH_T_OFF || !kh_real.malloc)
		return 0;
	return attach(t) == 0;
}

static inline void rec_begin(struct kh_thread *t, int how)
{
	if (how == 2) {
		t->nested = 1;
		t->busy = 2;
	} else {
		t->busy = 1;
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void rec_end(struct kh_thread *t, int how)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (how == 2) {
		t->busy = 1;
		t->nested = 0;
	} else {
		t->busy = 0;
	}
}

static inline void rec_alloc(struct kh_thread *t, int how, void *p, size_t n, const uint64_t *fa)
{
	/* sampling: most allocations only move the countdown */
	if (kh_p.sample_bytes && how == 1) {
		t->last_alloc = 0;
		if (KH_LIKELY((t->sample_left -= (int64_t)n) > 0))
			return;
		t->sample_left += (int64_t)n; /* on_alloc counts it down again */
	}
	rec_begin(t, how);
	on_alloc(t, p, n, fa);
	rec_end(t, how);
}

static inline void rec_free(struct kh_thread *t, int how, void *p)
{
	rec_begin(t, how);
	on_free(t, p);
	rec_end(t, how);
}

#define FA ((const uint64_t *)__builtin_frame_address(0))

/* ---- the interposed functions ----
 * Each first takes the fast path: while the thread's countdown (sample_left) stays
 * above the size, and (free) while the filter says the block is certainly not a
 * sampled one, the call goes straight to the real allocator. The countdown is 0 in
 * full mode and the filter all ones, so every call there takes the recording path. */
static inline __attribute__((always_inline)) int left_ok(struct kh_thread *t, size_t n)
{
	int64_t l = t->sample_left;
	if (KH_LIKELY((uint64_t)l > n)) {
		t->sample_left = l - (int64_t)n;
		return 1;
	}
	return 0;
}

/* Full mode with events held back (one thread), outside the library: the common case
 * of the recording path, straight-line. */
static inline int full_fast(const struct kh_thread *t)
{
	return KH_LIKELY(!t->busy && t->state == KH_T_ON && !__atomic_load_n(&kh_p.nopend, __ATOMIC_RELAXED));
}

static inline __attribute__((always_inline)) void full_alloc(struct kh_thread *t, void *p, size_t n,
							     const uint64_t *fa)
{
	uint32_t id;
	t->busy = 1; /* a signal handler allocating during the capture records one level deep */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (KH_UNLIKELY(!kh_py_hooks_checked) && !kh_py_on)
		kh_py_check_hooks(t);
	id = kh_py_on ? kh_py_capture(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0])
		      : kh_capture_fast(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0]);
	if (KH_LIKELY(n < (1ull << 40) && id < (1u << 24) && t->state == KH_T_ON))
		pend_hold(t, (uint64_t)(uintptr_t)p << 4 | HP_ALLOC2, (uint64_t)n | (uint64_t)id << 40);
	else if (t->state == KH_T_ON) {
		ring_write(t, (uint64_t)(uintptr_t)p << 4 | HP_ALLOC, (uint64_t)n, id, 3);
	}
	t->last_alloc = (uint64_t)(uintptr_t)p;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->busy = 0;
}

/* A free in full mode with events held back, outside the library (on_free's case of
 * full_fast): the held allocation's pair, or a record. */
static inline __attribute__((always_inline)) void full_free(struct kh_thread *t, void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p, w = a << 4 | HP_FREE;
	t->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (a == t->last_alloc) {
		t->last_alloc = 0;
		if (pend_try_temp(t, a))
			goto out;
		w |= HP_FREE_TEMP;
	}
	ring_write(t, w, 0, 0, 1);
out:
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->busy = 0;
}

static __attribute__((noinline)) void *malloc_slow(size_t n, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	void *p;
	if (full_fast(t)) {
		p = kh_real.malloc(n);
		if (KH_LIKELY(p != NULL))
			full_alloc(t, p, n, fa);
		return p;
	}
	if (KH_UNLIKELY(!kh_real.malloc)) {
		resolve();
		if (!kh_real.malloc)
			return boot_alloc(n, 16);
	}
	int how = recording(t);
	if (!how)
		return kh_real.malloc(n);
	p = kh_real.malloc(n);
	if (KH_LIKELY(p != NULL))
		rec_alloc(t, how, p, n, fa);
	return p;
}

static inline __attribute__((always_inline)) void *do_malloc(size_t n, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	if (left_ok(t, n))
		return kh_real.malloc(n);
	return malloc_slow(n, fa);
}

EXPORT void *malloc(size_t n)
{
	return do_malloc(n, FA);
}

static __attribute__((noinline)) void free_slow(void *p)
{
	struct kh_thread *t = &kh_tls;
	if (full_fast(t) && p && !is_boot(p)) {
		full_free(t, p);
		kh_real.free(p);
		return;
	}
	if (!p)
		return;
	if (KH_UNLIKELY(is_boot(p)))
		return;
	if (KH_UNLIKELY(!kh_real.free)) {
		resolve();
		if (!kh_real.free)
			return;
	}
	/* sampling: a block that is certainly not sampled goes straight through */
	if (kh_p.sample_bytes && KH_LIKELY(!kh_sample_maybe((uint64_t)(uintptr_t)p))) {
		kh_real.free(p);
		return;
	}
	int how = recording(t);
	if (how)
		rec_free(t, how, p);
	kh_real.free(p);
}

EXPORT void free(void *p)
{
	if (KH_LIKELY(!kh_free_look((uint64_t)(uintptr_t)p))) {
		kh_real.free(p);
		return;
	}
	free_slow(p);
}

static __attribute__((noinline)) void *calloc_slow(size_t n, size_t m, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	void *p;
	if (KH_UNLIKELY(!kh_real.calloc)) {
		resolve();
		if (!kh_real.calloc) {
			if (m && n > SIZE_MAX / m)
				return NULL;
			return boot_alloc(n * m, 16);
		}
	}
	int how = recording(t);
	if (!how)
		return kh_real.calloc(n, m);
	p = kh_real.calloc(n, m);
	if (KH_LIKELY(p != NULL))
		rec_alloc(t, how, p, n * m, fa);
	return p;
}

EXPORT void *calloc(size_t n, size_t m)
{
	struct kh_thread *t = &kh_tls;
	size_t b;
	if (!__builtin_mul_overflow(n, m, &b) && left_ok(t, b))
		return kh_real.calloc(n, m);
	return calloc_slow(n, m, FA);
}

static __attribute__((noinline)) void *realloc_slow(void *old, size_t n, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	void *p;
	if (!old)
		return malloc_slow(n, fa);
	if (KH_UNLIKELY(is_boot(old))) {
		size_t have = boot_size(old);
		p = malloc_slow(n ? n : 1, fa);
		if (p)
			memcpy(p, old, have < n ? have : n);
		return p;
	}
	if (KH_UNLIKELY(!kh_real.realloc)) {
		resolve();
		if (!kh_real.realloc)
			return NULL;
	}
	int how = recording(t);
	if (!how)
		return kh_real.realloc(old, n);
	p = kh_real.realloc(old, n);
	if (p || n == 0)
		rec_free(t, how, old);
	if (p)
		rec_alloc(t, how, p, n, fa);
	return p;
}

static inline __attribute__((always_inline)) void *do_realloc(void *old, size_t n, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	if (KH_LIKELY(!kh_free_look((uint64_t)(uintptr_t)old)) && left_ok(t, n))
		return kh_real.realloc(old, n);
	return realloc_slow(old, n, fa);
}

EXPORT void *realloc(void *old, size_t n)
{
	return do_realloc(old, n, FA);
}

EXPORT void *reallocarray(void *old, size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(old, n * m, FA);
}

enum { AL_MEMALIGN, AL_ALIGNED, AL_VALLOC, AL_PVALLOC };

static inline __attribute__((always_inline)) void *do_aligned(int kind, size_t align, size_t n,
								const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	void *p;
	int rec;
	if (KH_UNLIKELY(!kh_real.memalign)) {
		resolve();
		if (!kh_real.memalign)
			return boot_alloc(n, kind >= AL_VALLOC ? 4096 : align);
	}
	rec = recording(t);
	switch (kind) {
	case AL_MEMALIGN: p = kh_real.memalign(align, n); break;
	case AL_ALIGNED: p = kh_real.aligned_alloc(align, n); break;
	case AL_VALLOC: p = kh_real.valloc(n); break;
	default: p = kh_real.pvalloc(n); break;
	}
	if (rec && p)
		rec_alloc(t, rec, p, n, fa);
	return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
	return do_aligned(AL_MEMALIGN, align, n, FA);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return do_aligned(AL_ALIGNED, align, n, FA);
}

EXPORT void *valloc(size_t n)
{
	return do_aligned(AL_VALLOC, 0, n, FA);
}

EXPORT void *pvalloc(size_t n)
{
	return do_aligned(AL_PVALLOC, 0, n, FA);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	struct kh_thread *t = &kh_tls;
	int rc, rec;
	if (KH_UNLIKELY(!kh_real.posix_memalign)) {
		resolve();
		if (!kh_real.posix_memalign) {
			*out = boot_alloc(n, align);
			return *out ? 0 : ENOMEM;
		}
	}
	rec = recording(t);
	rc = kh_real.posix_memalign(out, align, n);
	if (rec && rc == 0)
		rec_alloc(t, rec, *out, n, FA);
	return rc;
}

/* ---- threads: their stack bounds without /proc/self/maps ----
 * A new thread's first allocation needs its stack's bounds (kh_thread_stack_bounds
 * reads /proc/self/maps, whose cost grows with the number of mappings: milliseconds in
 * a program with thousands). For threads made through pthread_create they are known
 * at no cost: glibc puts the thread's descriptor (the thread pointer, %fs:0) at the top
 * of its stack block, user-supplied stacks included, and the stack's size is the
 * attribute's (or glibc's default, read once at start-up). The new thread starts in
 * thread_start, which sets them and tail-calls the thread's function (so no frame of
 * the library stays under it). */
static uint64_t default_stack_size; /* glibc's default thread stack size, 0: unknown */

struct kh_tstart {
	void *(*fn)(void *);
	void *arg;
	uint64_t lo_from_top; /* stack size: lo = top - this */
	uint64_t user_lo;     /* a user-supplied stack's start, else 0 */
};

static void *thread_start(void *p)
{
	struct kh_tstart st;
	uint64_t top, lo, sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	memcpy(&st, p, sizeof(st));
	kh_real.free(p);
	__asm__("mov %%fs:0, %0" : "=r"(top));
	lo = st.user_lo ? st.user_lo : top - st.lo_from_top;
	if (sp >= lo && sp < top && !kh_tls.stack_hi) {
		kh_tls.stack_lo = lo;
		kh_tls.stack_hi = top;
	}
	return st.fn(st.arg);
}

static void stack_size_init(void)
{
	pthread_attr_t a;
	size_t sz;
	if (pthread_getattr_default_np(&a) != 0)
		return;
	if (pthread_attr_getstacksize(&a, &sz) == 0)
		default_stack_size = sz;
	pthread_attr_destroy(&a);
}

/* ---- CPython's allocator domains (PYMEM_DOMAIN_MEM and _OBJ; kh_python.c installs
 * these over the originals with PyMem_SetAllocator) ----
 * Small objects come from pymalloc's arenas, out of malloc's sight; recording them
 * here keeps pymalloc (much faster than forcing PYTHONMALLOC=malloc). The original
 * runs inside a critical part, so that the malloc it calls for a large block passes
 * straight through (one allocation, recorded once, here); the sampling countdown it
 * moved there is put back. The free is recorded before the block goes back, as in
 * free(). */
struct kh_pyalloc kh_py_mem, kh_py_obj;

/* The fast path of these hooks: full mode, one recording thread (kh_pyfast), this
 * thread recording and not inside the library. CPython's allocators run with the GIL
 * held, and events are then never held back (kh_pyfast_update), so each event goes
 * into the ring at once: the common case inline, a new epoch, the ring's first pass
 * or a full ring through ring_put. A signal handler that interrupts the capture
 * records one level deep, as elsewhere; the ring write is critical. */
int kh_pyfast;

void kh_pyfast_update(void)
{
	struct kh_thread *t = &kh_tls;
	if (!kh_p.enabled || kh_p.sample_bytes || __atomic_load_n(&kh_p.mt, __ATOMIC_RELAXED) || !kh_py_obj.malloc)
		return;
	__atomic_store_n(&kh_p.nopend, 1, __ATOMIC_SEQ_CST);
	if (t->state == KH_T_ON) {
		KH_CRIT_BEGIN(t);
		kh_pend_flush(t);
		KH_CRIT_END(t);
	}
	__atomic_store_n(&kh_pyfast, 1, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) int pyfast(const struct kh_thread *t)
{
	return KH_LIKELY(__atomic_load_n(&kh_pyfast, __ATOMIC_RELAXED) && !t->busy && t->state == KH_T_ON);
}

/* Appends the n (1 or 2) words of an event happening now (pyfast). */
static inline __attribute__((always_inline)) void ring_fast(struct kh_thread *t, uint64_t w0, uint64_t w1, unsigned n)
{
	uint64_t head, e;
	t->crit = 1; /* first: a signal handler recording one level deep moves the head */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	head = t->head;
	e = __atomic_load_n(t->epoch_src, __ATOMIC_RELAXED);
	if (KH_LIKELY(e == t->epoch && (t->reserved > t->mask || (head + n <= t->reserved && head <= t->mask)) &&
		      head + n - t->tail_cache <= t->mask + 1)) {
		t->ring[head & t->mask] = w0;
		if (n == 2)
			t->ring[(head + 1) & t->mask] = w1;
		t->head = head + n;
		__atomic_store_n(&t->ctl->head, head + n, __ATOMIC_RELEASE);
	} else {
		uint64_t w[2] = { w0, w1 };
		ring_put(t, e, w, n);
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->crit = 0;
}

/* Records allocation p of n bytes (pyfast; busy set by the caller). */
static inline __attribute__((always_inline)) void fast_alloc(struct kh_thread *t, void *p, size_t n, const uint64_t *fa)
{
	uint32_t id;
	if (KH_UNLIKELY(!kh_py_hooks_checked) && !kh_py_on)
		kh_py_check_hooks(t);
	id = kh_py_on ? kh_py_capture(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0])
		      : kh_capture_fast(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0]);
	if (KH_LIKELY(n < (1ull << 40) && id < (1u << 24)))
		ring_fast(t, (uint64_t)(uintptr_t)p << 4 | HP_ALLOC2, (uint64_t)n | (uint64_t)id << 40, 2);
	else
		ring_write(t, (uint64_t)(uintptr_t)p << 4 | HP_ALLOC, (uint64_t)n, id, 3);
	t->last_alloc = (uint64_t)(uintptr_t)p;
}

/* The fast path around CPython's own allocator: the thread is in the library (busy)
 * and, while the allocator runs, in a critical part (a malloc it makes for a large
 * block passes through: recorded once, by the hook); then the stack capture may be
 * interrupted by a signal handler that records (one level deep). */
static inline __attribute__((always_inline)) void fast_enter(struct kh_thread *t)
{
	t->busy = 1;
	t->crit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline __attribute__((always_inline)) void fast_called(struct kh_thread *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->crit = 0;
}

static inline __attribute__((always_inline)) void fast_leave(struct kh_thread *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->busy = 0;
}

/* Records the free of block p (pyfast; busy set by the caller): temporary when it was
 * this thread's latest allocation. */
static inline __attribute__((always_inline)) void fast_free(struct kh_thread *t, void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p, w = a << 4 | HP_FREE;
	if (a == t->last_alloc) {
		t->last_alloc = 0;
		w |= HP_FREE_TEMP;
	}
	ring_fast(t, w, 0, 1);
}

static inline __attribute__((always_inline)) void py_rec_alloc(struct kh_thread *t, void *p, size_t n,
							       const uint64_t *fa)
{
	int how;
	if (left_ok(t, n))
		return;
	if (full_fast(t)) {
		full_alloc(t, p, n, fa);
		return;
	}
	how = recording(t);
	if (how)
		rec_alloc(t, how, p, n, fa);
}

static inline __attribute__((always_inline)) void py_rec_free(struct kh_thread *t, void *p)
{
	int how;
	if (!p || KH_LIKELY(!kh_free_look((uint64_t)(uintptr_t)p)))
		return;
	if (full_fast(t)) {
		full_free(t, p);
		return;
	}
	how = recording(t);
	if (how)
		rec_free(t, how, p);
}

/* The hooks' other paths (sampling, several threads, set-up, nested calls), apart so
 * that the fast path needs few registers. fa: the hook's frame address. */
static __attribute__((noinline)) void *pyh_malloc_slow(const struct kh_pyalloc *o, size_t n, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	int64_t left = t->sample_left;
	void *p;
	KH_CRIT_BEGIN(t);
	p = o->malloc(o->ctx, n);
	KH_CRIT_END(t);
	t->sample_left = left;
	if (KH_LIKELY(p != NULL))
		py_rec_alloc(t, p, n, fa);
	return p;
}

void *kh_pyh_malloc(void *ctx, size_t n)
{
	const struct kh_pyalloc *o = ctx;
	struct kh_thread *t = &kh_tls;
	void *p;
	if (!pyfast(t))
		return pyh_malloc_slow(o, n, FA);
	fast_enter(t);
	p = o->malloc(o->ctx, n);
	fast_called(t);
	if (KH_LIKELY(p != NULL))
		fast_alloc(t, p, n, FA);
	fast_leave(t);
	return p;
}

void *kh_pyh_calloc(void *ctx, size_t n, size_t m)
{
	const struct kh_pyalloc *o = ctx;
	struct kh_thread *t = &kh_tls;
	int64_t left = t->sample_left;
	void *p;
	if (pyfast(t)) {
		fast_enter(t);
		p = o->calloc(o->ctx, n, m);
		fast_called(t);
		if (KH_LIKELY(p != NULL))
			fast_alloc(t, p, n * m, FA); /* no overflow: the allocation succeeded */
		fast_leave(t);
		return p;
	}
	KH_CRIT_BEGIN(t);
	p = o->calloc(o->ctx, n, m);
	KH_CRIT_END(t);
	t->sample_left = left;
	if (KH_LIKELY(p != NULL))
		py_rec_alloc(t, p, n * m, FA); /* no overflow: the allocation succeeded */
	return p;
}

void *kh_pyh_realloc(void *ctx, void *old, size_t n)
{
	const struct kh_pyalloc *o = ctx;
	struct kh_thread *t = &kh_tls;
	int64_t left = t->sample_left;
	void *p;
	int how;
	if (pyfast(t)) {
		fast_enter(t);
		p = o->realloc(o->ctx, old, n);
		fast_called(t);
		/* CPython's realloc of n = 0 gives a block: on failure the old one stays */
		if (p) {
			if (old)
				fast_free(t, old);
			fast_alloc(t, p, n, FA);
		}
		fast_leave(t);
		return p;
	}
	KH_CRIT_BEGIN(t);
	p = o->realloc(o->ctx, old, n);
	KH_CRIT_END(t);
	t->sample_left = left;
	if (!old) {
		if (p)
			py_rec_alloc(t, p, n, FA);
		return p;
	}
	if (!p)
		return p; /* CPython's realloc of n = 0 gives a block: the old one stays or moves */
	if (KH_LIKELY(!kh_free_look((uint64_t)(uintptr_t)old)) && left_ok(t, n))
		return p;
	how = recording(t);
	if (how) {
		rec_free(t, how, old);
		rec_alloc(t, how, p, n, FA);
	}
	return p;
}

static __attribute__((noinline)) void pyh_free_slow(const struct kh_pyalloc *o, void *p)
{
	struct kh_thread *t = &kh_tls;
	py_rec_free(t, p);
	KH_CRIT_BEGIN(t);
	o->free(o->ctx, p);
	KH_CRIT_END(t);
}

void kh_pyh_free(void *ctx, void *p)
{
	const struct kh_pyalloc *o = ctx;
	struct kh_thread *t = &kh_tls;
	if (o == &kh_py_obj && KH_LIKELY(p != NULL)) /* objects: code objects among them */
		kh_py_code_freed(p);
	if (!pyfast(t) || KH_UNLIKELY(p == NULL)) {
		pyh_free_slow(o, p);
		return;
	}
	/* recorded before the block goes back, as in free() */
	t->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	fast_free(t, p);
	t->crit = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	o->free(o->ctx, p);
	fast_called(t);
	fast_leave(t);
}

/* A second thread is coming: from now on events are not held back (the new thread
 * might free this one's held allocation before this one writes it). */
EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	struct kh_thread *t = &kh_tls;
	struct kh_tstart *st = NULL;
	int rc;
	if (KH_UNLIKELY(!kh_real.pthread_create)) {
		resolve();
		if (!kh_real.pthread_create)
			return EAGAIN;
	}
	if (!__atomic_load_n(&kh_p.nopend, __ATOMIC_RELAXED)) {
		__atomic_store_n(&kh_p.nopend, 1, __ATOMIC_SEQ_CST);
		if (!t->busy) {
			KH_CRIT_BEGIN(t);
			kh_pend_flush(t);
			KH_CRIT_END(t);
		}
	}
	if (kh_p.enabled && kh_real.malloc) {
		void *addr = NULL;
		size_t size = 0;
		uint64_t user_lo = 0, span = default_stack_size;
		if (attr && pthread_attr_getstack(attr, &addr, &size) == 0 && (uintptr_t)addr + size != 0)
			user_lo = (uint64_t)(uintptr_t)addr; /* a stack of the program's */
		else if (attr && pthread_attr_getstacksize(attr, &size) == 0 && size)
			span = size;
		if (user_lo || span) {
			KH_CRIT_BEGIN(t);
			st = kh_real.malloc(sizeof(*st));
			KH_CRIT_END(t);
		}
		if (st) {
			st->fn = fn;
			st->arg = arg;
			st->lo_from_top = span;
			st->user_lo = user_lo;
		}
	}
	if (!st)
		return kh_real.pthread_create(th, attr, fn, arg);
	rc = kh_real.pthread_create(th, attr, thread_start, st);
	if (rc != 0)
		kh_real.free(st);
	return rc;
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (is_boot(p))
		return boot_size(p);
	if (!kh_real.malloc_usable_size)
		resolve();
	return kh_real.malloc_usable_size ? kh_real.malloc_usable_size(p) : 0;
}

EXPORT int dlclose(void *h)
{
	int rc;
	if (!kh_real.dlclose)
		resolve();
	rc = kh_real.dlclose(h);
	KH_CRIT_BEGIN(&kh_tls);
	kh_unwind_reset();
	kh_stacks_reset();
	kh_modules_reset();
	KH_CRIT_END(&kh_tls);
	return rc;
}

/* ---- C++ operator new and delete (Itanium ABI names, size_t = unsigned long) ----
 * new calls the allocator directly; only when that fails does it hand over to the real
 * operator (new_handler, std::bad_alloc), which allocates through malloc above. */
static void *real_operator(const char *name)
{
	void *f;
	KH_CRIT_BEGIN(&kh_tls);
	f = dlsym(RTLD_NEXT, name);
	KH_CRIT_END(&kh_tls);
	return f;
}

#define NEW_FAILED(type, name, ...)                    \
	do {                                           \
		type f_ = (type)real_operator(name);   \
		if (!f_)                               \
			abort();                       \
		return f_(__VA_ARGS__);                \
	} while (0)
typedef void *(*new_fn)(size_t);
typedef void *(*new_nt_fn)(size_t, const void *);
typedef void *(*new_al_fn)(size_t, size_t);
typedef void *(*new_al_nt_fn)(size_t, size_t, const void *);

typedef struct {
	int unused;
} nothrow_t;

EXPORT void *_Znwm(size_t n);
EXPORT void *_Znam(size_t n);
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const nothrow_t *nt);
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const nothrow_t *nt);
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al);
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al);
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *nt);
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *nt);
EXPORT void _ZdlPv(void *p);
EXPORT void _ZdaPv(void *p);
EXPORT void _ZdlPvm(void *p, size_t n);
EXPORT void _ZdaPvm(void *p, size_t n);
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const nothrow_t *nt);
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const nothrow_t *nt);
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al);
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al);
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al);
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al);
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const nothrow_t *nt);
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const nothrow_t *nt);

EXPORT void *_Znwm(size_t n)
{
	void *p = do_malloc(n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_fn, "_Znwm", n);
	return p;
}

EXPORT void *_Znam(size_t n)
{
	void *p = do_malloc(n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_fn, "_Znam", n);
	return p;
}

EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const nothrow_t *nt)
{
	void *p = do_malloc(n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_nt_fn, "_ZnwmRKSt9nothrow_t", n, nt);
	return p;
}

EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const nothrow_t *nt)
{
	void *p = do_malloc(n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_nt_fn, "_ZnamRKSt9nothrow_t", n, nt);
	return p;
}

EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al)
{
	void *p = do_aligned(AL_MEMALIGN, al, n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_al_fn, "_ZnwmSt11align_val_t", n, al);
	return p;
}

EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al)
{
	void *p = do_aligned(AL_MEMALIGN, al, n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_al_fn, "_ZnamSt11align_val_t", n, al);
	return p;
}

EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *nt)
{
	void *p = do_aligned(AL_MEMALIGN, al, n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_al_nt_fn, "_ZnwmSt11align_val_tRKSt9nothrow_t", n, al, nt);
	return p;
}

EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *nt)
{
	void *p = do_aligned(AL_MEMALIGN, al, n ? n : 1, FA);
	if (KH_UNLIKELY(!p))
		NEW_FAILED(new_al_nt_fn, "_ZnamSt11align_val_tRKSt9nothrow_t", n, al, nt);
	return p;
}

#define DELETE(name, ...)                     \
	EXPORT void name(void *p, ##__VA_ARGS__) \
	{                                     \
		free(p);                      \
	}

DELETE(_ZdlPv)
DELETE(_ZdaPv)
DELETE(_ZdlPvm, size_t n)
DELETE(_ZdaPvm, size_t n)
DELETE(_ZdlPvRKSt9nothrow_t, const nothrow_t *nt)
DELETE(_ZdaPvRKSt9nothrow_t, const nothrow_t *nt)
DELETE(_ZdlPvSt11align_val_t, size_t al)
DELETE(_ZdaPvSt11align_val_t, size_t al)
DELETE(_ZdlPvmSt11align_val_t, size_t n, size_t al)
DELETE(_ZdaPvmSt11align_val_t, size_t n, size_t al)
DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, size_t al, const nothrow_t *nt)
DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, size_t al, const nothrow_t *nt)
