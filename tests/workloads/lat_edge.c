/* build: -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls */
/* lat_edge.c: calls that test pairing, with known counts.
 *   lat_edge recurse   rec(5) 20 times: 120 calls of rec, all returning
 *   lat_edge longjmp   jumper() called 30 times, every third longjmps out of
 *                      leaf_jump() to main: 10 calls of jumper and 10 of leaf_jump never
 *                      return; 20 + 20 return
 *   lat_edge exit      work() 5 times, then a sixth call runs exit(3) inside it
 *   lat_edge threads   4 threads call work() 25 times each, and a forked child calls it
 *                      50 times: 150 calls
 * Prints what it did. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static jmp_buf env;
static volatile int sink;

__attribute__((noinline)) int rec(int n)
{
	if (n == 0)
		return 1;
	return rec(n - 1) + 1;
}

__attribute__((noinline)) void leaf_jump(int i)
{
	sink += i;
	if (i % 3 == 2)
		longjmp(env, 1);
}

__attribute__((noinline)) void jumper(int i)
{
	leaf_jump(i);
	sink++;
}

__attribute__((noinline)) void work(int do_exit)
{
	struct timespec ts = { 0, 100000 };
	nanosleep(&ts, NULL);
	if (do_exit)
		exit(3);
}

static void *thread_main(void *arg)
{
	for (int i = 0; i < 25; i++)
		work(0);
	return arg;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "recurse";
	if (!strcmp(mode, "recurse")) {
		int s = 0;
		for (int i = 0; i < 20; i++)
			s += rec(5);
		fprintf(stderr, "rec calls 120 sum %d\n", s);
	} else if (!strcmp(mode, "longjmp")) {
		volatile int i = 0;
		setjmp(env);
		while (i < 30) {
			int k = i++;
			jumper(k);
		}
		fprintf(stderr, "jumper calls 30 (10 jumped)\n");
	} else if (!strcmp(mode, "exit")) {
		for (int i = 0; i < 5; i++)
			work(0);
		fprintf(stderr, "work calls 6, the last exits\n");
		fflush(stdout);
		work(1);
	} else if (!strcmp(mode, "threads")) {
		pthread_t t[4];
		pid_t pid = fork();
		if (pid == 0) {
			for (int i = 0; i < 50; i++)
				work(0);
			_exit(0);
		}
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, thread_main, NULL);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		waitpid(pid, NULL, 0);
		fprintf(stderr, "work calls 150 in 4 threads and a child\n");
	}
	return 0;
}
