/* build: -O1 -g -fno-omit-frame-pointer -pthread */
/* heap_handoff.c: blocks handed to new threads. Each round the main thread allocates
 * one block (its latest allocation, which kiln holds back) and starts a thread whose
 * first allocator call frees it; a second block per round stays allocated (leaked).
 * The main thread then waits 30 ms without allocating, longer than kiln's reader
 * takes between rounds. Prints the number of rounds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 10

static void *worker(void *arg)
{
	free(arg);
	return NULL;
}

__attribute__((noinline)) static void *handed(void)
{
	return malloc(4000);
}

__attribute__((noinline)) static void *kept(void)
{
	return malloc(300);
}

void *volatile sink[ROUNDS];

int main(void)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_t th;
		sink[i] = kept();
		void *p = handed();
		if (pthread_create(&th, NULL, worker, p) != 0)
			return 1;
		pthread_join(th, NULL);
		struct timespec ts = { 0, 30 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	printf("%d\n", ROUNDS);
	return 0;
}
