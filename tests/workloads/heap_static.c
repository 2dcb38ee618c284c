/* build: -O1 -static */
/* heap_static.c: a statically linked program (LD_PRELOAD cannot work for it). Creates
 * the file named by argv[1] if given, so a test can tell whether it ran. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	void *p = malloc(100);
	if (argc > 1) {
		FILE *f = fopen(argv[1], "w");
		if (f)
			fclose(f);
	}
	free(p);
	return 0;
}
