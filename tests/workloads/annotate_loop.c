/* build: -O2 -g -fno-omit-frame-pointer */
/* annotate_loop.c: a leaf whose hot loop is one known source line (HOT_LINE below is
 * checked by t1950: keep the loop body on the line after the marker comment), called
 * from main through a caller that also inlines a small helper. Work is counted in loop
 * iterations. Usage: annotate_loop [MILLIONS] (default 300). */
#include <stdio.h>
#include <stdlib.h>

#define FN __attribute__((noipa, noinline))

static volatile unsigned long sink;

FN unsigned long hot_leaf(unsigned long n)
{
	unsigned long x = n, y = 1;
	for (unsigned long i = 0; i < n; i++) {
		/* HOT_LINE: the next line */
		x = x * 6364136223846793005ul + 1442695040888963407ul + (x >> 29) * (y ^ i); y += x >> 61;
	}
	return x + y;
}

static inline unsigned long twice(unsigned long v)
{
	return v * 2 + (v >> 3);
}

FN unsigned long drive(unsigned long millions)
{
	unsigned long s = 0;
	for (unsigned long k = 0; k < millions; k++)
		s += twice(hot_leaf(1000000));
	return s;
}

int main(int argc, char **argv)
{
	unsigned long m = argc > 1 ? strtoul(argv[1], NULL, 10) : 300;
	sink = drive(m);
	printf("%lu\n", sink);
	return 0;
}
