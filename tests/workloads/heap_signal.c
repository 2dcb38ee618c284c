/* build: -O1 -g -fno-omit-frame-pointer */
/* heap_signal.c: a signal handler that allocates while the main loop allocates too.
 * SIGALRM every 200 us; the handler mallocs and frees HANDLER_SIZE bytes (a size the
 * main loop never uses, warmed up first, so that glibc serves it from its per-thread
 * cache without locks and the program is correct without kiln too). The main loop
 * does LOOPS malloc+free pairs of 24 bytes. Prints the loop checksum only. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define HANDLER_SIZE 200
#define LOOPS 2000000

void *volatile sink;
static volatile sig_atomic_t handled;

__attribute__((noinline)) static void in_handler(void)
{
	char *p = malloc(HANDLER_SIZE);
	p[0] = 1;
	sink = p;
	free(p);
}

static void on_alarm(int sig)
{
	(void)sig;
	in_handler();
	handled++;
}

__attribute__((noinline)) static unsigned long main_loop(void)
{
	unsigned long sum = 0;
	for (long i = 0; i < LOOPS; i++) {
		char *p = malloc(24);
		p[0] = (char)i;
		sum += (unsigned char)p[0];
		sink = p;
		free(p);
	}
	return sum;
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	unsigned long sum;
	free(malloc(HANDLER_SIZE)); /* warm the handler's size class */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	sum = main_loop();
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("%lu\n", sum);
	fprintf(stderr, "handled %d\n", (int)handled);
	return 0;
}
