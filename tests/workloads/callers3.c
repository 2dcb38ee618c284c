/* build: -O2 -g -fno-omit-frame-pointer */
/* callers3.c: one hot leaf reached from three callers with known shares, 50/30/20:
 *   main -> drive -> from_a -> leaf   50%
 *   main -> drive -> from_b -> leaf   30%
 *   main -> drive -> from_c -> leaf   20%
 * Work is counted in loop iterations, so the shares hold on any machine. Built three
 * more ways by files that include this one: callers3_strip (stripped, no frame
 * pointers: its functions have no names at all), callers3_O0 (-O0: a debug build) and
 * callers3_O2 (-O2 without frame pointers). Usage: callers3 [MILLIONS] (default 600). */
#include <stdio.h>
#include <stdlib.h>

#define FN __attribute__((noipa, noinline))

static volatile unsigned long sink;

FN unsigned long leaf(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	return x;
}

FN void from_a(unsigned long n) { sink += leaf(n); }
FN void from_b(unsigned long n) { sink += leaf(n); }
FN void from_c(unsigned long n) { sink += leaf(n); }

FN void drive(unsigned long unit)
{
	for (int r = 0; r < 40; r++) {
		from_a(5 * unit);
		from_b(3 * unit);
		from_c(2 * unit);
	}
}

int main(int argc, char **argv)
{
	unsigned long millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 600;
	drive(millions * 1000000ul / 10 / 40);
	printf("%lu\n", (unsigned long)sink & 1);
	return 0;
}
