/* lock_contend.c: lock contention with known figures.
 *   lock_contend [ITERS] [HOLD_US]
 * Four threads each take the shared mutex `hot` ITERS times (default 50) and hold it
 * HOLD_US microseconds (default 1000, spun on CLOCK_MONOTONIC), sleeping 50 us between
 * holds, and measures its own waits (printed as hot_wait_ns, hot_hold_ns); one thread also takes its own mutex `cold` 1000 times (never contended). A
 * condition variable is waited on 10 times by the main thread (signalled by a helper
 * after 2 ms each). Then the main thread takes a rwlock 100 times shared and 10 times
 * exclusive, and a spinlock 100 times. Prints the known counts on stderr.
 *
 * With LOCK_CONTEND_ATTACH=1 in the environment (for `kiln lock -p`), the workers are
 * started and wait; main waits until uprobes are in place on the pthread functions it
 * uses (the first byte of each, read through dlsym, is int3: 0xcc), then 0.3 s more
 * (kiln arms its program after the last probe), and only then lets the work begin: all
 * of it happens while kiln traces. It prints "attached" on stderr at that point. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cold;
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static int cv_flag;
static int iters = 50, hold_us = 1000;
static unsigned long long hot_wait_ns; /* the workload's own measure of its waits */
static unsigned long long hot_hold_ns; /* and of its holds (acquired to released) */
static int go = 1;                     /* the workers may start */

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void spin_us(int us)
{
	unsigned long long end = now_ns() + (unsigned long long)us * 1000ull;
	while (now_ns() < end)
		;
}

__attribute__((noinline)) static void hot_section(void)
{
	unsigned long long t0 = now_ns();
	pthread_mutex_lock(&hot);
	unsigned long long t1 = now_ns();
	hot_wait_ns += t1 - t0; /* under the lock */
	spin_us(hold_us);
	hot_hold_ns += now_ns() - t1;
	pthread_mutex_unlock(&hot);
}

__attribute__((noinline)) static void cold_section(void)
{
	pthread_mutex_lock(&cold);
	spin_us(1);
	pthread_mutex_unlock(&cold);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	struct timespec gap = { 0, 50000 };
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	for (int i = 0; i < iters; i++) {
		hot_section();
		nanosleep(&gap, NULL);
	}
	if (id == 0)
		for (int i = 0; i < 1000; i++)
			cold_section();
	return NULL;
}

static void *signaller(void *arg)
{
	for (int i = 0; i < 10; i++) {
		struct timespec d = { 0, 2000000 };
		nanosleep(&d, NULL);
		pthread_mutex_lock(&cv_lock);
		cv_flag = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&cv_lock);
		while (__atomic_load_n(&cv_flag, __ATOMIC_ACQUIRE))
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	return arg;
}

/* Waits until every pthread function used here starts with int3 (a uprobe). */
static void wait_for_probes(void)
{
	static const char *const fns[] = { "pthread_mutex_lock", "pthread_mutex_unlock", "pthread_cond_wait",
					   "pthread_rwlock_rdlock", "pthread_rwlock_wrlock", "pthread_rwlock_unlock",
					   "pthread_cond_timedwait" };
	for (int tries = 0; tries < 12000; tries++) {
		int all = 1;
		for (unsigned i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
			const unsigned char *f = dlsym(RTLD_DEFAULT, fns[i]);
			if (!f || *(const volatile unsigned char *)f != 0xcc)
				all = 0;
		}
		if (all) {
			nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
			fprintf(stderr, "attached\n");
			return;
		}
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	fprintf(stderr, "no uprobes appeared in 120 s\n");
	exit(3);
}

int main(int argc, char **argv)
{
	pthread_t t[4], s;
	const char *attach = getenv("LOCK_CONTEND_ATTACH");
	if (attach && attach[0] == '1')
		go = 0;
	if (argc > 1)
		iters = atoi(argv[1]);
	if (argc > 2)
		hold_us = atoi(argv[2]);
	pthread_mutex_init(&cold, NULL);
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	if (!go) {
		/* the workers exist before kiln attaches; the signaller starts after */
		wait_for_probes();
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	}
	pthread_create(&s, NULL, signaller, NULL);
	for (int i = 0; i < 10; i++) {
		pthread_mutex_lock(&cv_lock);
		while (!cv_flag)
			pthread_cond_wait(&cv, &cv_lock);
		__atomic_store_n(&cv_flag, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&cv_lock);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_join(s, NULL);
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	for (int i = 0; i < 100; i++) {
		pthread_rwlock_rdlock(&rw);
		pthread_rwlock_unlock(&rw);
		pthread_spin_lock(&spin);
		pthread_spin_unlock(&spin);
	}
	for (int i = 0; i < 10; i++) {
		pthread_rwlock_wrlock(&rw);
		pthread_rwlock_unlock(&rw);
	}
	fprintf(stderr, "hot %d acquisitions held %d us, cold 1000, cond waits 10, hot_wait_ns %llu hot_hold_ns %llu\n",
		4 * iters, hold_us, hot_wait_ns, hot_hold_ns);
	return 0;
}
