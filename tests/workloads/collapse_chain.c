/* build: -O0 -g -fno-omit-frame-pointer */
/* collapse_chain.c: a known call chain main -> chain_outer -> chain_middle -> chain_inner
 * that burns CPU in chain_inner, for `perf record -g` + `kiln collapse` tests.
 * Usage: collapse_chain [MILLISECONDS]  (default 300) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;
static volatile int work_n = 200000; /* volatile: the calls cannot be hoisted */

__attribute__((noinline, noclone)) static double chain_inner(int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += i * 0.5;
	return s;
}

__attribute__((noinline, noclone)) static double chain_middle(int n)
{
	return chain_inner(n) + 1;
}

__attribute__((noinline, noclone)) static void chain_outer(double ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		sink += chain_middle(work_n);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6 >= ms)
			break;
	}
}

int main(int argc, char **argv)
{
	double ms = argc > 1 ? atof(argv[1]) : 300;
	chain_outer(ms);
	return sink < 0;
}
