/* build: -O2 -g -fno-omit-frame-pointer */
/* calls_bench.c: a loop calling a small function N times, for the per-call cost of
 * call tracers (bench/latency.sh).
 *   calls_bench [N] [framed|leaf]
 * N calls (default 1000000) of framed_call (its first instruction is push %rbp, which
 * the kernel's uprobe emulates) or leaf_call (first instruction lea, which a uprobe
 * has to single-step out of line: far dearer in a virtual machine). Prints on stderr
 * "loop_ns T" (wall time of the loop) and "calls N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noinline, optimize("O0"))) int framed_call(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) int leaf_call(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int leaf = argc > 2 && !strcmp(argv[2], "leaf");
	int acc = 0;
	unsigned long long t0 = now_ns();
	if (leaf)
		for (long i = 0; i < n; i++)
			acc = leaf_call(acc);
	else
		for (long i = 0; i < n; i++)
			acc = framed_call(acc);
	unsigned long long t1 = now_ns();
	fprintf(stderr, "loop_ns %llu\ncalls %ld\nacc %d\n", t1 - t0, n, acc);
	return 0;
}
