/* build: -O1 -g */
/* stat_busy.c: a CPU-bound loop in user space: N million iterations of integer
 * arithmetic (default 50), no system calls. For kiln stat's verdict and counters. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = (argc > 1 ? atol(argv[1]) : 50) * 1000000L;
	volatile unsigned long x = 1;
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return (int)(x & 0) ;
}
