/* build: -O2 -g -fno-omit-frame-pointer */
/* heap_bench.c: an allocation-bound program for bench/heap.sh: N malloc+free pairs
 * (default 20 million) of sizes 16..1039 bytes, from one call site, with a little work
 * between them. Prints a checksum so that nothing is optimized away.
 *   heap_bench [N [WINDOW]]  WINDOW > 0: each block is freed WINDOW allocations later
 *                            (no pair is temporary), from one of two call sites
 * With KILN_BENCH_TIME set it also prints the loop's own CPU time to stderr
 * ("loop_ns N"), which leaves out start-up and the tool's own work at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *volatile sink;

__attribute__((noinline)) static unsigned long work(long n)
{
	unsigned long sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t size = 16 + (x & 1023);
		char *p = malloc(size);
		p[0] = (char)x;
		sum += (unsigned char)p[0];
		sink = p;
		free(p);
	}
	return sum;
}

__attribute__((noinline)) static char *site_a(size_t size)
{
	return malloc(size);
}

__attribute__((noinline)) static char *site_b(size_t size)
{
	return malloc(size);
}

/* Blocks live for window allocations: every free is of an older block. */
__attribute__((noinline)) static unsigned long work_window(long n, long window)
{
	unsigned long sum = 0, x = 88172645463325252ull;
	char **ring = calloc((size_t)window, sizeof(*ring));
	if (!ring)
		return 0;
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t size = 16 + (x & 1023);
		char *p = (x & 1024) ? site_a(size) : site_b(size);
		p[0] = (char)x;
		sum += (unsigned char)p[0];
		free(ring[i % window]);
		ring[i % window] = p;
	}
	for (long i = 0; i < window; i++)
		free(ring[i]);
	free(ring);
	return sum;
}

static long long cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000000;
	long window = argc > 2 ? atol(argv[2]) : 0;
	long long t0 = cpu_ns();
	unsigned long sum = window > 0 ? work_window(n, window) : work(n);
	long long t1 = cpu_ns();
	printf("%lu\n", sum);
	if (getenv("KILN_BENCH_TIME"))
		fprintf(stderr, "loop_ns %lld\n", t1 - t0);
	return 0;
}
