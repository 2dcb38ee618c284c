/* build: -O1 -g -fno-omit-frame-pointer -fno-inline */
/* heap_known.c: a program whose heap behaviour is known exactly, for kiln heap's tests.
 *   leaky()      LEAK_N blocks of LEAK_SIZE bytes, never freed
 *   make_big()   one block of BIG_SIZE bytes: the heap peaks while it is live
 *   churn()      CHURN_N temporary blocks of CHURN_SIZE (each freed at once)
 *   grow()       a realloc chain: malloc(16), then realloc to 32, 64, ... 16384, free
 *   aligned()    posix_memalign, aligned_alloc, memalign, calloc: ALIGNED_N each, freed
 * Prints nothing; exits 0. Arguments: [scale] multiplies CHURN_N (default 1). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_N 10
#define LEAK_SIZE 1000
#define BIG_SIZE (8 << 20)
#define CHURN_N 5000
#define CHURN_SIZE 64
#define ALIGNED_N 7

void *volatile sink;
static void *leaks[LEAK_N];

__attribute__((noinline)) static void leaky(void)
{
	for (int i = 0; i < LEAK_N; i++) {
		leaks[i] = malloc(LEAK_SIZE);
		memset(leaks[i], i, LEAK_SIZE);
	}
}

__attribute__((noinline)) static void *make_big(void)
{
	char *p = malloc(BIG_SIZE);
	memset(p, 1, 4096);
	return p;
}

__attribute__((noinline)) static void churn(long n)
{
	for (long i = 0; i < n; i++) {
		char *p = malloc(CHURN_SIZE);
		p[0] = (char)i;
		sink = p;
		free(p);
	}
}

__attribute__((noinline)) static void grow(void)
{
	char *p = malloc(16);
	for (size_t n = 32; n <= 16384; n *= 2) {
		p = realloc(p, n);
		p[n - 1] = 1;
	}
	free(p);
}

__attribute__((noinline)) static void aligned(void)
{
	for (int i = 0; i < ALIGNED_N; i++) {
		void *a = NULL, *b, *c, *d;
		if (posix_memalign(&a, 64, 100) != 0)
			abort();
		b = aligned_alloc(128, 256);
		c = memalign(32, 48);
		d = calloc(10, 10);
		sink = a;
		sink = b;
		sink = c;
		sink = d;
		free(a);
		free(b);
		free(c);
		free(d);
	}
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	void *big;
	leaky();
	big = make_big();
	sink = big;
	free(big);
	churn(CHURN_N * (scale > 0 ? scale : 1));
	grow();
	aligned();
	return 0;
}
