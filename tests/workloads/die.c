/* build: -O1 -g -fno-omit-frame-pointer */
/* die.c: burns CPU in crunch(), then ends as asked:
 *   die segv [MILLIONS]     dereferences NULL (SIGSEGV, exit 139 under a shell)
 *   die kill [MILLIONS]     raise(SIGKILL) (137)
 *   die exit:N [MILLIONS]   exit(N)
 *   die forever             burns in crunch() until a signal ends it */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define FN __attribute__((noipa))
static volatile unsigned long sink;

FN static unsigned long crunch(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	return x;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "exit:0";
	unsigned long n = (argc > 2 ? strtoul(argv[2], NULL, 10) : 300) * 1000000ul;
	if (!strcmp(mode, "forever"))
		for (;;)
			sink += crunch(10000000);
	sink += crunch(n);
	if (!strcmp(mode, "segv"))
		*(volatile int *)(sink & 0) = 1;
	if (!strcmp(mode, "kill"))
		raise(SIGKILL);
	if (!strncmp(mode, "exit:", 5))
		return atoi(mode + 5);
	return 2;
}
