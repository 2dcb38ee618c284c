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


struct kl_real {
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_trylock)(pthread_mutex_t *);
	int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
	int (*mutex_unlock)(pthread_mutex_t *);
	int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
	int (*rw_rdlock)(pthread_rwlock_t *);
	int (*rw_tryrdlock)(pthread_rwlock_t *);
	int (*rw_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rw_wrlock)(pthread_rwlock_t *);
	int (*rw_trywrlock)(pthread_rwlock_t *);
	int (*rw_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rw_unlock)(pthread_rwlock_t *);
	int (*rw_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
	int (*spin_lock)(pthread_spinlock_t *);
	int (*spin_trylock)(pthread_spinlock_t *);
	int (*spin_unlock)(pthread_spinlock_t *);
	int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
};
static struct kl_real R;
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
#define SYM(field, name) R.field = (__typeof__(R.field))dlsym(RTLD_NEXT, name)
	SYM(mutex_lock, "pthread_mutex_lock");
	SYM(mutex_trylock, "pthread_mutex_trylock");
	SYM(mutex_timedlock, "pthread_mutex_timedlock");
	SYM(mutex_unlock, "pthread_mutex_unlock");
	SYM(mutex_init, "pthread_mutex_init");
	SYM(rw_rdlock, "pthread_rwlock_rdlock");
	SYM(rw_tryrdlock, "pthread_rwlock_tryrdlock");
	SYM(rw_timedrdlock, "pthread_rwlock_timedrdlock");
	SYM(rw_wrlock, "pthread_rwlock_wrlock");
	SYM(rw_trywrlock, "pthread_rwlock_trywrlock");
	SYM(rw_timedwrlock, "pthread_rwlock_timedwrlock");
	SYM(rw_unlock, "pthread_rwlock_unlock");
	SYM(rw_init, "pthread_rwlock_init");
	SYM(spin_lock, "pthread_spin_lock");
	SYM(spin_trylock, "pthread_spin_trylock");
	SYM(spin_unlock, "pthread_spin_unlock");
	SYM(cond_wait, "pthread_cond_wait");
	SYM(cond_timedwait, "pthread_cond_timedwait");
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

#define ENSURE(fn) do { if (KH_UNLIKELY(!R.fn)) resolve_real(); } while (0)

/* ---- mutexes ---- */
static __attribute__((noinline)) int mutex_lock_slow(pthread_mutex_t *m, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	int rc, contended = 0;
	uint64_t t0 = 0, wait = 0;
	/* A plain mutex (kind 0: the default, std::mutex's) is free when its lock word is 0:
	 * a load instead of a try-lock call, then the plain lock (the fastest path of all).
	 * One taken between the load and the lock is a contention not counted. */
	if (m->__data.__kind == 0 && __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 0)
		rc = R.mutex_lock(m);
	else
		rc = R.mutex_trylock(m);
	if (rc == EBUSY) {
		contended = 1;
		t0 = kl_now();
		rc = R.mutex_lock(m);
		uint64_t t1 = kl_now();
		wait = t1 - t0;
		t0 = t1;
	}
	if (rc == 0)
		acquired(t, m, HP_LK_MUTEX, 0, contended, wait, t0, fa);
	return rc;
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	ENSURE(mutex_lock);
	if (KH_LIKELY(!active(&kh_tls)))
		return R.mutex_lock(m);
	return mutex_lock_slow(m, FA);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	ENSURE(mutex_trylock);
	int rc = R.mutex_trylock(m);
	if (rc == 0 && active(&kh_tls))
		acquired(&kh_tls, m, HP_LK_MUTEX, 0, 0, 0, 0, FA);
	return rc;
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts)
{
	struct kh_thread *t = &kh_tls;
	ENSURE(mutex_timedlock);
	if (!active(t))
		return R.mutex_timedlock(m, ts);
	int rc = R.mutex_trylock(m);
	uint64_t t0 = 0, wait = 0;
	int contended = 0;
	if (rc == EBUSY) {
		contended = 1;
		t0 = kl_now();
		rc = R.mutex_timedlock(m, ts);
		uint64_t t1 = kl_now();
		wait = t1 - t0;
		t0 = t1;
		if (rc == ETIMEDOUT) {
			struct hp_lock_entry *e = entry_of(t, m, HP_LK_MUTEX, FA);
			if (e)
				__atomic_add_fetch(&e->timeouts, 1, __ATOMIC_RELAXED);
		}
	}
	if (rc == 0)
		acquired(t, m, HP_LK_MUTEX, 0, contended, wait, t0, FA);
	return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	ENSURE(mutex_unlock);
	if (KH_LIKELY(!active(&kh_tls)) || !kl.hdr)
		return R.mutex_unlock(m);
	releasing(&kh_tls, m, FA);
	return R.mutex_unlock(m);
}

EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	ENSURE(mutex_init);
	int rc = R.mutex_init(m, attr);
	if (rc == 0 && active(&kh_tls))
		entry_of(&kh_tls, m, HP_LK_MUTEX, FA);
	return rc;
}

/* ---- condition variables: the wait releases the mutex (its hold ends) and takes it
 * back (a new hold starts); the time is a condition wait, not contention ---- */
static int cond_common(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	if (!active(t))
		return ts ? R.cond_timedwait(c, m, ts) : R.cond_wait(c, m);
	releasing(t, m, fa);
	uint64_t t0 = kl_now();
	int rc = ts ? R.cond_timedwait(c, m, ts) : R.cond_wait(c, m);
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
	ENSURE(cond_wait);
	return cond_common(c, m, NULL, FA);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts)
{
	ENSURE(cond_timedwait);
	return cond_common(c, m, ts, FA);
}

/* ---- rwlocks ---- */
static int rw_acquire(pthread_rwlock_t *l, int shared, const struct timespec *ts, const uint64_t *fa)
{
	struct kh_thread *t = &kh_tls;
	int (*try_)(pthread_rwlock_t *) = shared ? R.rw_tryrdlock : R.rw_trywrlock;
	int rc, contended = 0;
	uint64_t t0, wait = 0;
	if (!active(t)) {
		if (ts)
			return shared ? R.rw_timedrdlock(l, ts) : R.rw_timedwrlock(l, ts);
		return shared ? R.rw_rdlock(l) : R.rw_wrlock(l);
	}
	rc = try_(l);
	t0 = 0;
	if (rc == EBUSY) {
		contended = 1;
		t0 = kl_now();
		if (ts)
			rc = shared ? R.rw_timedrdlock(l, ts) : R.rw_timedwrlock(l, ts);
		else
			rc = shared ? R.rw_rdlock(l) : R.rw_wrlock(l);
		uint64_t t1 = kl_now();
		wait = t1 - t0;
		t0 = t1;
		if (rc == ETIMEDOUT) {
			struct hp_lock_entry *e = entry_of(t, l, HP_LK_RWLOCK, fa);
			if (e)
				__atomic_add_fetch(&e->timeouts, 1, __ATOMIC_RELAXED);
		}
	}
	if (rc == 0)
		acquired(t, l, HP_LK_RWLOCK, shared, contended, wait, t0, fa);
	return rc;
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	ENSURE(rw_rdlock);
	return rw_acquire(l, 1, NULL, FA);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	ENSURE(rw_wrlock);
	return rw_acquire(l, 0, NULL, FA);
}

EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	ENSURE(rw_timedrdlock);
	return rw_acquire(l, 1, ts, FA);
}

EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	ENSURE(rw_timedwrlock);
	return rw_acquire(l, 0, ts, FA);
}

EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	ENSURE(rw_tryrdlock);
	int rc = R.rw_tryrdlock(l);
	if (rc == 0 && active(&kh_tls))
		acquired(&kh_tls, l, HP_LK_RWLOCK, 1, 0, 0, 0, FA);
	return rc;
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	ENSURE(rw_trywrlock);
	int rc = R.rw_trywrlock(l);
	if (rc == 0 && active(&kh_tls))
		acquired(&kh_tls, l, HP_LK_RWLOCK, 0, 0, 0, 0, FA);
	return rc;
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	ENSURE(rw_unlock);
	if (active(&kh_tls) && kl.hdr)
		releasing(&kh_tls, l, FA);
	return R.rw_unlock(l);
}

EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
	ENSURE(rw_init);
	int rc = R.rw_init(l, attr);
	if (rc == 0 && active(&kh_tls))
		entry_of(&kh_tls, l, HP_LK_RWLOCK, FA);
	return rc;
}

/* ---- spinlocks ---- */
EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
	struct kh_thread *t = &kh_tls;
	ENSURE(spin_lock);
	if (!active(t))
		return R.spin_lock(l);
	int rc = R.spin_trylock(l), contended = 0;
	uint64_t t0 = 0, wait = 0;
	if (rc == EBUSY) {
		contended = 1;
		t0 = kl_now();
		rc = R.spin_lock(l);
		uint64_t t1 = kl_now();
		wait = t1 - t0;
		t0 = t1;
	}
	if (rc == 0)
		acquired(t, (const void *)l, HP_LK_SPIN, 0, contended, wait, t0, FA);
	return rc;
}

EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
	ENSURE(spin_trylock);
	int rc = R.spin_trylock(l);
	if (rc == 0 && active(&kh_tls))
		acquired(&kh_tls, (const void *)l, HP_LK_SPIN, 0, 0, 0, 0, FA);
	return rc;
}

EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
	ENSURE(spin_unlock);
	if (active(&kh_tls) && kl.hdr)
		releasing(&kh_tls, (const void *)l, FA);
	return R.spin_unlock(l);
}
