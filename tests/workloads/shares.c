/* build: -O1 -g -fno-omit-frame-pointer */
/* shares.c: burns CPU in three call paths with known shares, 60/30/10:
 *   main -> work_a -> hot_a -> spin   60%
 *   main -> work_b -> hot_b -> spin   30%
 *   main -> work_c -> hot_c -> spin   10%
 * Work is counted in loop iterations, not time: the shares are exact whatever the
 * machine's speed or load. Usage: shares [MILLIONS] (total iterations, default 800,
 * about a second). shares_leaf.c builds the same program with a leaf function that
 * sets up no frame (the frame-pointer leaf problem). */
#include <stdio.h>
#include <stdlib.h>

/* GCC omits the frame of a leaf function that needs no stack even with
 * -fno-omit-frame-pointer; taking the frame address forces one. */
#ifdef LEAF_NO_FRAME
#define LEAF __attribute__((noipa, optimize("omit-frame-pointer")))
#define FORCE_FRAME() ((void)0)
#else
#define LEAF __attribute__((noipa))
#define FORCE_FRAME() __asm__ volatile("" : : "r"(__builtin_frame_address(0)))
#endif
#define FN __attribute__((noipa))

static volatile unsigned long sink;

/* a dependent multiply-add chain: the same cost per iteration everywhere */
LEAF unsigned long spin(unsigned long n)
{
	unsigned long x = n;
	FORCE_FRAME();
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	return x;
}

FN void hot_a(unsigned long n) { sink += spin(n); }
FN void hot_b(unsigned long n) { sink += spin(n); }
FN void hot_c(unsigned long n) { sink += spin(n); }
FN void work_a(unsigned long n) { hot_a(n); sink++; }
FN void work_b(unsigned long n) { hot_b(n); sink++; }
FN void work_c(unsigned long n) { hot_c(n); sink++; }

int main(int argc, char **argv)
{
	unsigned long millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 800;
	const int rounds = 50;
	unsigned long unit = millions * 1000000ul / 10 / rounds;
	for (int r = 0; r < rounds; r++) {
		work_a(6 * unit);
		work_b(3 * unit);
		work_c(1 * unit);
	}
	printf("%lu\n", (unsigned long)sink & 1);
	return 0;
}
