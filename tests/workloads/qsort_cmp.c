/* build: -O1 -g -fomit-frame-pointer */
/* qsort_cmp.c: CPU time spent in a comparator that libc's qsort calls back:
 * main -> sort_many -> qsort (libc, no frame pointers) -> ... -> cmp_slow. The stack
 * must pass through libc into cmp_slow and out to main.
 * Usage: qsort_cmp [ROUNDS] (default 40, about a second). */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noipa)) static int cmp_slow(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	unsigned long h = x;
	for (int i = 0; i < 40; i++)
		h = h * 6364136223846793005ul + (unsigned long)i;
	sink += h;
	return (x > y) - (x < y);
}

__attribute__((noipa)) static void sort_many(unsigned *v, size_t n, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		unsigned s = 12345u + (unsigned)r;
		for (size_t i = 0; i < n; i++) {
			s = s * 1103515245u + 12345u;
			v[i] = s >> 8;
		}
		qsort(v, n, sizeof(*v), cmp_slow);
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 40;
	size_t n = 20000;
	unsigned *v = malloc(n * sizeof(*v));
	if (!v)
		return 1;
	sort_many(v, n, rounds);
	printf("%u\n", v[0] & 1);
	free(v);
	return 0;
}
