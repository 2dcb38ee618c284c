/* build: -O1 -g -fno-omit-frame-pointer -pthread */
#define _GNU_SOURCE
/* threads.c: three threads with different, known amounts of work:
 *   thread "worker-a" in burn_a: 50%, thread "worker-b" in burn_b: 30%,
 *   the main thread in burn_main: 20%.
 * Work is counted in iterations. Prints "NAME TID" for each thread at the end so tests
 * can filter by thread id. Usage: threads [MILLIONS] (default 800). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#define FN __attribute__((noipa))
static volatile unsigned long sink;
static unsigned long unit;

FN static unsigned long spin(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	return x;
}

FN static void burn_a(void) { sink += spin(5 * unit); }
FN static void burn_b(void) { sink += spin(3 * unit); }
FN static void burn_main(void) { sink += spin(2 * unit); }

struct arg { const char *name; void (*fn)(void); long tid; };

static void *run(void *p)
{
	struct arg *a = p;
	pthread_setname_np(pthread_self(), a->name);
	a->tid = (long)syscall(SYS_gettid);
	a->fn();
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 800;
	struct arg a = { "worker-a", burn_a, 0 }, b = { "worker-b", burn_b, 0 };
	pthread_t ta, tb;
	unit = millions * 1000000ul / 10;
	pthread_create(&ta, NULL, run, &a);
	pthread_create(&tb, NULL, run, &b);
	burn_main();
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	printf("main %ld\n%s %ld\n%s %ld\n", (long)getpid(), a.name, a.tid, b.name, b.tid);
	return 0;
}
