/* build: -O2 -g -fno-omit-frame-pointer */
/* heap_bench.c: an allocation-bound program for bench/heap.sh: N malloc+free pairs
 * (default 20 million) of sizes 16..1039 bytes, from one call site, with a little work
 * between them. Prints a checksum so that nothing is optimized away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000000;
	printf("%lu\n", work(n));
	return 0;
}
