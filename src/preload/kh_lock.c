/* kh_lock.c: lock mode of the preload library (`kiln lock`, see heap_proto.h): the
 * pthread mutex, rwlock, spinlock and condition-variable entry points, timed the way
 * mutrace does (try first: EBUSY means contended, then the blocking call is timed;
 * hold from acquisition to release), counted per lock in the shared table file, with
 * the stacks of contended waits, long holds and condition waits from the library's
 * unwinder (kh_capture). Outside lock mode every entry point goes straight through.
 *
 * Figures of one lock are updated while the lock is held (after the acquisition,
 * before the release), so the lock itself serializes them; shared (reader) holds of
 * rwlocks and the per-stack sites use atomic adds. */
#include "preload/kh.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cpuid.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define EXPORT __attribute__((visibility("default")))
#define FA ((const uint64_t *)__builtin_frame_address(0))
#define HELD_MAX 32


/* The real functions, per lock operand: a mutex, a rwlock taken shared (rd) or
 * exclusive (wr: the same unlock and init), a spinlock. Called through pointers of one
 * signature (void *: the lock), as dlsym gives them. */
enum { KL_MUTEX, KL_RD, KL_WR, KL_SPIN, KL_NOPS };
struct kl_ops {
	int (*lock)(void *);
	int (*trylock)(void *);
	int (*timedlock)(void *, const struct timespec *);   /* NULL for spinlocks */
	int (*unlock)(void *);
	int (*init)(void *, const void *);                    /* for spinlocks unused */
};
static struct kl_ops R[KL_NOPS];
static int (*R_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*R_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static const uint32_t kl_kind[KL_NOPS] = { HP_LK_MUTEX, HP_LK_RWLOCK, HP_LK_RWLOCK, HP_LK_SPIN };
static int resolved;

struct kl_held {
	const void *addr;
	uint64_t t;
	struct hp_lock_entry *e;
	int shared;
};

struct kl_thread {
	int n;
	uint32_t tick;            /* picks the holds of hot short locks that are timed */
	struct kl_held held[HELD_MAX];
};
static __thread struct kl_thread kl_tls __attribute__((tls_model("initial-exec")));

static struct {
	int on;                   /* KILN_LOCK set and the library records */
	int failed;               /* the table could not be made: stay off */
	struct hp_lock_header *hdr;
	struct hp_lock_entry *locks;
	struct hp_lock_site *sites;
	uint64_t created;         /* the .kh file the table belongs to */
	uint64_t hold_ns;
	int file_lock;
	uint64_t tsc_mult;        /* ns per TSC tick << 32; 0: use clock_gettime */
} kl;

/* Timestamps: an invariant TSC read (a few ns) scaled to ns, else CLOCK_MONOTONIC (a
 * vDSO call, several times dearer in a virtual machine: two per lock/unlock pair). */
static inline uint64_t kl_now(void)
{
	if (KH_LIKELY(kl.tsc_mult))
		return (uint64_t)(((unsigned __int128)__rdtsc() * kl.tsc_mult) >> 32);
	return kh_now_ns();
}

/* One (tsc, ns) pair read as close together as possible: the tightest of three. */
static void tsc_pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t a = __rdtsc(), n = kh_now_ns(), b = __rdtsc();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = n;
		}
	}
}

/* Measures the TSC against CLOCK_MONOTONIC over 50 us when the CPU says its TSC is
 * invariant (CPUID 0x80000007 EDX bit 8): 0.2% at worst, once per process image. */
static void tsc_calibrate(void)
{
	unsigned a, b, c, d;
	uint64_t t0 = 0, n0 = 0, t1 = 0, n1 = 0;
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return;
	tsc_pair(&t0, &n0);
	do
		tsc_pair(&t1, &n1);
	while (n1 - n0 < 50000);
	if (t1 <= t0)
		return;
	kl.tsc_mult = (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (t1 - t0));
}

static void resolve_real(void)
{
	if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
		return;
#define SYM(k, field, name) R[k].field = (__typeof__(R[k].field))dlsym(RTLD_NEXT, name)
	SYM(KL_MUTEX, lock, "pthread_mutex_lock");
	SYM(KL_MUTEX, trylock, "pthread_mutex_trylock");
	SYM(KL_MUTEX, timedlock, "pthread_mutex_timedlock");
	SYM(KL_MUTEX, unlock, "pthread_mutex_unlock");
	SYM(KL_MUTEX, init, "pthread_mutex_init");
	SYM(KL_RD, lock, "pthread_rwlock_rdlock");
	SYM(KL_RD, trylock, "pthread_rwlock_tryrdlock");
	SYM(KL_RD, timedlock, "pthread_rwlock_timedrdlock");
	SYM(KL_WR, lock, "pthread_rwlock_wrlock");
	SYM(KL_WR, trylock, "pthread_rwlock_trywrlock");
	SYM(KL_WR, timedlock, "pthread_rwlock_timedwrlock");
	SYM(KL_RD, unlock, "pthread_rwlock_unlock");
	SYM(KL_RD, init, "pthread_rwlock_init");
	SYM(KL_SPIN, lock, "pthread_spin_lock");
	SYM(KL_SPIN, trylock, "pthread_spin_trylock");
	SYM(KL_SPIN, unlock, "pthread_spin_unlock");
	R[KL_WR].unlock = R[KL_RD].unlock;
	R[KL_WR].init = R[KL_RD].init;
	R_cond_wait = (__typeof__(R_cond_wait))dlsym(RTLD_NEXT, "pthread_cond_wait");
	R_cond_timedwait = (__typeof__(R_cond_timedwait))dlsym(RTLD_NEXT, "pthread_cond_timedwait");
#undef SYM
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

static uint64_t parse_u64(const char *s)
{
	uint64_t v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

/* From configure(): the environment is there. */
void kh_lock_configure(void)
{
	extern char **environ;
	const char *v = NULL, *h = NULL;
	resolve_real();
	for (char **e = environ; e && *e; e++) {
		if (!strncmp(*e, HP_ENV_LOCK "=", sizeof(HP_ENV_LOCK)))
			v = *e + sizeof(HP_ENV_LOCK);
		else if (!strncmp(*e, HP_ENV_LOCK_HOLD "=", sizeof(HP_ENV_LOCK_HOLD)))
			h = *e + sizeof(HP_ENV_LOCK_HOLD);
	}
	kl.hold_ns = h ? parse_u64(h) : HP_LOCK_HOLD_NS_DEFAULT;
	if (v && v[0] == '1' && kh_p.enabled) {
		tsc_calibrate();
		__atomic_store_n(&kl.on, 1, __ATOMIC_RELEASE);
	}
}

/* A fork child: the parent's table is not ours; a new one comes with the new .kh file. */
void kh_lock_fork_child(void)
{
	if (kl.hdr)
		munmap(kl.hdr, hp_lock_file_size());
	kl.hdr = NULL;
	kl.locks = NULL;
	kl.sites = NULL;
	kl.created = 0;
	kl.file_lock = 0;
	kl_tls.n = 0; /* the locks the forking thread held stay held, untracked */
}

static int table_create(void)
{
	char path[1200], tmp[1220];
	size_t n, k;
	int fd;
	void *m;
	struct hp_header *kh = kh_p.hdr;
	if (!kh)
		return -1;
	/* "<pid>-<created>.kl" beside the .kh file: its path with the suffix changed */
	n = kh_strlen(kh_p.path);
	if (n < 4 || n + 8 > sizeof(path))
		return -1;
	memcpy(path, kh_p.path, n - 3);
	memcpy(path + n - 3, HP_LOCK_SUFFIX, sizeof(HP_LOCK_SUFFIX));
	k = kh_strlen(path);
	memcpy(tmp, path, k);
	memcpy(tmp + k, ".tmp", 5);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)hp_lock_file_size()) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	m = mmap(NULL, hp_lock_file_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		unlink(tmp);
		return -1;
	}
	struct hp_lock_header *h = m;
	h->version = HP_LOCK_VERSION;
	h->header_size = 4096;
	h->pid = kh->pid;
	h->max_locks = HP_LOCK_MAX;
	h->max_sites = HP_LOCK_SITES;
	h->created_ns = kh->created_ns;
	h->entry_size = sizeof(struct hp_lock_entry);
	h->site_size = sizeof(struct hp_lock_site);
	h->hold_threshold_ns = kl.hold_ns;
	memcpy(h->magic, HP_LOCK_MAGIC, 8);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (rename(tmp, path) != 0) {
		munmap(m, hp_lock_file_size());
		unlink(tmp);
		return -1;
	}
	kl.locks = (struct hp_lock_entry *)((char *)m + 4096);
	kl.sites = (struct hp_lock_site *)((char *)kl.locks + HP_LOCK_MAX * sizeof(struct hp_lock_entry));
	kl.created = kh->created_ns;
	__atomic_store_n(&kl.hdr, h, __ATOMIC_RELEASE);
	return 0;
}

/* The table, made at the first use in this process image (the thread attaches to the
 * heap session first: the .kh file and the stack table come with it). NULL: off. */
static struct hp_lock_header *table(struct kh_thread *t)
{
	struct hp_lock_header *h = __atomic_load_n(&kl.hdr, __ATOMIC_ACQUIRE);
	if (KH_LIKELY(h != NULL))
		return h;
	if (kl.failed)
		return NULL;
	if (t->state != KH_T_ON && kh_attach_for_lock(t) != 0)
		return NULL;
	KH_CRIT_BEGIN(t);
	kh_lock(&kl.file_lock);
	if (!kl.hdr && !kl.failed && table_create() < 0)
		kl.failed = 1;
	kh_unlock(&kl.file_lock);
	KH_CRIT_END(t);
	return kl.hdr;
}

/* The stack of the interposed function's caller (0 when it cannot be taken). */
static uint32_t stack_here(struct kh_thread *t, const uint64_t *fa)
{
	uint32_t id;
	if (t->busy)
		return 0;
	if (t->state == KH_T_NEW && kh_attach_for_lock(t) != 0)
		return 0;
	if (t->state != KH_T_ON)
		return 0;
	t->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	id = kh_capture_fast(t, fa[1], (uint64_t)(uintptr_t)(fa + 2), fa[0]);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->busy = 0;
	return id;
}

static inline uint64_t hash_addr(const void *a)
{
	return ((uint64_t)(uintptr_t)a >> 3) * 0x9E3779B97F4A7C15ull;
}

/* The entry of lock a, claimed (with the stack naming it) at its first use. */
static struct hp_lock_entry *entry_of(struct kh_thread *t, const void *a, uint32_t kind, const uint64_t *fa)
{
	struct hp_lock_header *h = table(t);
	uint64_t addr = (uint64_t)(uintptr_t)a;
	if (!h)
		return NULL;
	uint32_t i = (uint32_t)(hash_addr(a) >> 40) & (HP_LOCK_MAX - 1);
	for (uint32_t probes = 0; probes < HP_LOCK_MAX; probes++, i = (i + 1) & (HP_LOCK_MAX - 1)) {
		struct hp_lock_entry *e = &kl.locks[i];
		uint64_t cur = __atomic_load_n(&e->addr, __ATOMIC_ACQUIRE);
		if (cur == addr)
			return e;
		if (cur)
			continue;
		if (__atomic_compare_exchange_n(&e->addr, &cur, addr, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			e->first_stack = stack_here(t, fa);
			__atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
			return e;
		}
		if (cur == addr)
			return e;
	}
	__atomic_add_fetch(&h->dropped_locks, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void site_add(struct kh_thread *t, struct hp_lock_entry *e, uint32_t what, uint64_t ns, const uint64_t *fa)
{
	uint32_t id = stack_here(t, fa);
	uint64_t key = ((uint64_t)(e - kl.locks) + 1) << 34 | (uint64_t)what << 32 | id;
	uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (HP_LOCK_SITES - 1);
	for (uint32_t probes = 0; probes < HP_LOCK_SITES; probes++, i = (i + 1) & (HP_LOCK_SITES - 1)) {
		struct hp_lock_site *s = &kl.sites[i];
		uint64_t cur = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (cur != key) {
			if (cur)
				continue;
			if (!__atomic_compare_exchange_n(&s->key, &cur, key, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
			    cur != key)
				continue;
		}
		__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->total_ns, ns, __ATOMIC_RELAXED);
		uint64_t m = __atomic_load_n(&s->max_ns, __ATOMIC_RELAXED);
		while (ns > m && !__atomic_compare_exchange_n(&s->max_ns, &m, ns, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		return;
	}
	__atomic_add_fetch(&kl.hdr->dropped_sites, 1, __ATOMIC_RELAXED);
}

static inline void max_store(uint64_t *p, uint64_t v, int shared)
{
	if (!shared) {
		if (v > *p)
			*p = v;
		return;
	}
	uint64_t m = __atomic_load_n(p, __ATOMIC_RELAXED);
	while (v > m && !__atomic_compare_exchange_n(p, &m, v, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static inline void add(uint64_t *p, uint64_t v, int shared)
{
	if (shared)
		__atomic_add_fetch(p, v, __ATOMIC_RELAXED);
	else
		*p += v;
}

/* Holds of a lock taken more than HOT_AFTER times, held under HOT_HOLD_NS on average
 * and never contended, are timed one in HOT_SAMPLE (their total is estimated from
 * those): the two TSC reads of a timed hold (some 30 ns each in a virtual machine) cost
 * more than such a lock itself, and are 1% of a 5 us hold. */
#define HOT_AFTER 4096
#define HOT_HOLD_NS 5000
#define HOT_SAMPLE 8

/* An acquisition happened (at now, after waiting wait ns, when contended; now is 0 for
 * an uncontended one, which takes its timestamp here only when its hold is timed). */
static void acquired(struct kh_thread *t, const void *a, uint32_t kind, int shared, int contended, uint64_t wait,
		     uint64_t now, const uint64_t *fa)
{
	struct kl_thread *k = &kl_tls;
	struct hp_lock_entry *e = entry_of(t, a, kind, fa);
	if (!e)
		return;
	add(&e->acquisitions, 1, shared);
	if (shared)
		add(&e->read_acquisitions, 1, 1);
	if (contended) {
		add(&e->contended, 1, shared);
		add(&e->wait_ns, wait, shared);
		max_store(&e->wait_max, wait, shared);
		site_add(t, e, HP_LW_WAIT, wait, fa);
	} else if (e->acquisitions > HOT_AFTER && !e->contended && e->hold_ns < HOT_HOLD_NS * e->hold_timed &&
		   (++k->tick % HOT_SAMPLE) != 0) {
		return; /* a hot short hold, not timed */
	}
	if (k->n >= HELD_MAX) {
		__atomic_add_fetch(&kl.hdr->untracked_holds, 1, __ATOMIC_RELAXED);
		return;
	}
	struct kl_held *hd = &k->held[k->n++];
	hd->addr = a;
	hd->t = now ? now : kl_now();
	hd->e = e;
	hd->shared = shared;
}

/* A release of a: ends its hold (the latest timed hold of a by this thread). */
static void releasing(struct kh_thread *t, const void *a, const uint64_t *fa)
{
	struct kl_thread *k = &kl_tls;
	for (int i = k->n; i-- > 0;) {
		struct kl_held hd = k->held[i];
		if (hd.addr != a)
			continue;
		if (i != k->n - 1)
			memmove(&k->held[i], &k->held[i + 1], (size_t)(k->n - i - 1) * sizeof(k->held[0]));
		k->n--;
		uint64_t hold = kl_now() - hd.t;
		add(&hd.e->hold_ns, hold, hd.shared);
		add(&hd.e->hold_timed, 1, hd.shared);
		max_store(&hd.e->hold_max, hold, hd.shared);
		if (hold >= kl.hold_ns)
			site_add(t, hd.e, HP_LW_HOLD, hold, fa);
		return;
	}
	/* not timed (a sampled-out hot hold), or taken before tracing: nothing to do */
}

static inline int active(const struct kh_thread *t)
{
	return __atomic_load_n(&kl.on, __ATOMIC_RELAXED) && !t->busy && t->state != KH_T_OFF;
}

#define ENSURE(p) do { if (KH_UNLIKELY(!(p))) resolve_real(); } while (0)

static void timed_out(struct kh_thread *t, const void *l, int k, const uint64_t *fa)
{
	struct hp_lock_entry *e = entry_of(t, l, kl_kind[k], fa);
	if (e)
		__atomic_add_fetch(&e->timeouts, 1, __ATOMIC_RELAXED);
}

/* A blocking acquisition of l (operand k; timed when ts), traced the mutrace way: try
 * first; EBUSY means contended, and the blocking call is timed. A plain mutex (kind 0:
 * the default, std::mutex's) is free when its lock word is 0: a load instead of a
 * try-lock call, then the plain lock (the fastest path of all); one taken between the
 * load and the lock is a contention not counted. */
static inline __attribute__((always_inline)) int acquire(int k, void *l, const struct timespec *ts,
							   const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	pthread_mutex_t *m = l;
	int rc, contended = 0;
	uint64_t t0 = 0, wait = 0;
	if (k == KL_MUTEX && !ts && m->__data.__kind == 0 && __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 0)
		rc = R[k].lock(l);
	else
		rc = R[k].trylock(l);
	if (rc == EBUSY) {
		contended = 1;
		t0 = kl_now();
		rc = ts ? R[k].timedlock(l, ts) : R[k].lock(l);
		uint64_t t1 = kl_now();
		wait = t1 - t0;
		t0 = t1;
		if (rc == ETIMEDOUT)
			timed_out(t, l, k, fa);
	}
	if (rc == 0)
		acquired(t, l, kl_kind[k], k == KL_RD, contended, wait, t0, fa);
	return rc;
}

/* acquire() made for each operand, k a constant in each (out of line: the exported
 * functions' path outside lock mode stays a check and a jump) */
static __attribute__((noinline)) int acquire_mutex(void *l, const struct timespec *ts, const uint64_t *fa) { return acquire(KL_MUTEX, l, ts, fa); }
static __attribute__((noinline)) int acquire_rd(void *l, const struct timespec *ts, const uint64_t *fa) { return acquire(KL_RD, l, ts, fa); }
static __attribute__((noinline)) int acquire_wr(void *l, const struct timespec *ts, const uint64_t *fa) { return acquire(KL_WR, l, ts, fa); }
static __attribute__((noinline)) int acquire_spin(void *l, const struct timespec *ts, const uint64_t *fa) { return acquire(KL_SPIN, l, ts, fa); }

/* The entry points of one operand k, inlined into each exported function (k is a
 * constant there, and FA, the frame address, is the exported function's: an
 * always_inline function has no frame of its own); outside lock mode each goes
 * straight to libc's. */
static inline __attribute__((always_inline)) int lock_op(int k, void *l, const struct timespec *ts)
{
	ENSURE(ts ? (void *)R[k].timedlock : (void *)R[k].lock);
	if (KH_LIKELY(!active(&kh_tls)))
		return ts ? R[k].timedlock(l, ts) : R[k].lock(l);
	return k == KL_MUTEX ? acquire_mutex(l, ts, FA) : k == KL_RD ? acquire_rd(l, ts, FA)
	       : k == KL_WR ? acquire_wr(l, ts, FA) : acquire_spin(l, ts, FA);
}

static inline __attribute__((always_inline)) int trylock_op(int k, void *l)
{
	ENSURE(R[k].trylock);
	int rc = R[k].trylock(l);
	if (rc == 0 && active(&kh_tls))
		acquired(&kh_tls, l, kl_kind[k], k == KL_RD, 0, 0, 0, FA);
	return rc;
}

static inline __attribute__((always_inline)) int unlock_op(int k, void *l)
{
	ENSURE(R[k].unlock);
	if (KH_UNLIKELY(active(&kh_tls)) && kl.hdr)
		releasing(&kh_tls, l, FA);
	return R[k].unlock(l);
}

static inline __attribute__((always_inline)) int init_op(int k, void *l, const void *attr)
{
	ENSURE(R[k].init);
	int rc = R[k].init(l, attr);
	if (rc == 0 && active(&kh_tls))
		entry_of(&kh_tls, l, kl_kind[k], FA);
	return rc;
}

/* ---- mutexes ---- */
EXPORT int pthread_mutex_lock(pthread_mutex_t *m) { return lock_op(KL_MUTEX, m, NULL); }
EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts) { return lock_op(KL_MUTEX, m, ts); }
EXPORT int pthread_mutex_trylock(pthread_mutex_t *m) { return trylock_op(KL_MUTEX, m); }
EXPORT int pthread_mutex_unlock(pthread_mutex_t *m) { return unlock_op(KL_MUTEX, m); }
EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a) { return init_op(KL_MUTEX, m, a); }

/* ---- rwlocks ---- */
EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l) { return lock_op(KL_RD, l, NULL); }
EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l) { return lock_op(KL_WR, l, NULL); }
EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts) { return lock_op(KL_RD, l, ts); }
EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts) { return lock_op(KL_WR, l, ts); }
EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l) { return trylock_op(KL_RD, l); }
EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l) { return trylock_op(KL_WR, l); }
EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l) { return unlock_op(KL_RD, l); }
EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a) { return init_op(KL_RD, l, a); }

/* ---- spinlocks ---- */
EXPORT int pthread_spin_lock(pthread_spinlock_t *l) { return lock_op(KL_SPIN, (void *)l, NULL); }
EXPORT int pthread_spin_trylock(pthread_spinlock_t *l) { return trylock_op(KL_SPIN, (void *)l); }
EXPORT int pthread_spin_unlock(pthread_spinlock_t *l) { return unlock_op(KL_SPIN, (void *)l); }

/* ---- condition variables: the wait releases the mutex (its hold ends) and takes it
 * back (a new hold starts); the time is a condition wait, not contention ---- */
static int cond_common(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	if (!active(t))
		return ts ? R_cond_timedwait(c, m, ts) : R_cond_wait(c, m);
	releasing(t, m, fa);
	uint64_t t0 = kl_now();
	int rc = ts ? R_cond_timedwait(c, m, ts) : R_cond_wait(c, m);
	uint64_t t1 = kl_now();
	struct hp_lock_entry *e = entry_of(t, m, HP_LK_MUTEX, fa);
	if (e) {
		/* the mutex is held again (also after a timeout) */
		e->cond_waits++;
		e->cond_wait_ns += t1 - t0;
		site_add(t, e, HP_LW_COND, t1 - t0, fa);
		struct kl_thread *k = &kl_tls;
		if (k->n < HELD_MAX) {
			struct kl_held *hd = &k->held[k->n++];
			hd->addr = m;
			hd->t = t1;
			hd->e = e;
			hd->shared = 0;
		}
	}
	return rc;
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	ENSURE(R_cond_wait);
	return cond_common(c, m, NULL, FA);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts)
{
	ENSURE(R_cond_timedwait);
	return cond_common(c, m, ts, FA);
}
