/* build: -O1 -g -fno-omit-frame-pointer */
/* heap_temps.c: temporary pairs from six call sites in turn (more sites than kiln sums
 * at once), between blocks that stay live. Each round, site k (k = 0..5) allocates
 * 100 * (k + 1) bytes and frees them at once; every 10th round keeper() allocates 64
 * bytes kept until the end. Exact in full mode: each site 1000 allocations, all
 * temporary; keeper 100 blocks, none temporary; peak 6400 + 600 bytes (keeper's 100
 * blocks and site 5's block). Prints a checksum. */
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 1000
#define SITES 6

void *volatile sink;

#define SITE(k)                                                      \
	__attribute__((noinline)) static void site##k(void)           \
	{                                                             \
		char *p = malloc(100 * (k + 1));                      \
		p[0] = (char)k;                                       \
		sink = p;                                             \
		free(p);                                              \
	}
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)

__attribute__((noinline)) static void *keeper(void)
{
	return malloc(64);
}

int main(void)
{
	static void (*const sites[SITES])(void) = { site0, site1, site2, site3, site4, site5 };
	void *kept[ROUNDS / 10];
	int nk = 0;
	for (int r = 0; r < ROUNDS; r++) {
		if (r % 10 == 0)
			kept[nk++] = keeper();
		for (int k = 0; k < SITES; k++)
			sites[k]();
	}
	for (int i = nk; i-- > 0;)
		free(kept[i]);
	printf("%d\n", nk);
	return 0;
}
