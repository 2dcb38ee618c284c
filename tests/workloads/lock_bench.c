/* lock_bench.c: a lock-heavy program for bench/lock.sh.
 *   lock_bench uncontended N     one thread: N lock/unlock pairs of one mutex, nothing
 *                                between (the cost of a pair)
 *   lock_bench work N T WORK     T threads, each N times: its own mutex around WORK
 *                                iterations of arithmetic (about WORK ns), and every
 *                                16th time a shared mutex around the same work
 * Prints on stderr "loop_ns T" (wall time of the measured part) and "pairs N".
 * With LOCK_BENCH_GO=FILE in the environment, the measured part waits until FILE
 * exists (bench/lock.sh attaches `kiln lock -p` first). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static long n_iter, work;
static volatile unsigned long sink;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void do_work(void)
{
	unsigned long x = sink;
	for (long i = 0; i < work; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	sink = x;
}

static void *worker(void *arg)
{
	pthread_mutex_t own;
	pthread_mutex_init(&own, NULL);
	for (long i = 0; i < n_iter; i++) {
		pthread_mutex_t *m = (i & 15) == 15 ? &shared : &own;
		pthread_mutex_lock(m);
		do_work();
		pthread_mutex_unlock(m);
	}
	pthread_mutex_destroy(&own);
	return arg;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "uncontended";
	long n = argc > 2 ? atol(argv[2]) : 10000000;
	unsigned long long t0, t1;
	const char *go = getenv("LOCK_BENCH_GO");
	while (go && access(go, F_OK) != 0)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	if (!strcmp(mode, "uncontended")) {
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(&m);
			__asm__ volatile("" ::: "memory");
			pthread_mutex_unlock(&m);
		}
		t1 = now_ns();
		fprintf(stderr, "loop_ns %llu\npairs %ld\n", t1 - t0, n);
		return 0;
	}
	int nt = argc > 3 ? atoi(argv[3]) : 2;
	pthread_t t[64];
	if (nt < 1 || nt > 64)
		return 2;
	work = argc > 4 ? atol(argv[4]) : 100;
	n_iter = n;
	t0 = now_ns();
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	t1 = now_ns();
	fprintf(stderr, "loop_ns %llu\npairs %ld\n", t1 - t0, n * nt);
	return 0;
}
