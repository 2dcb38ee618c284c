/* build: -O1 -g -fno-omit-frame-pointer */
/* offcpu_half.c: half the wall time computing, half waiting, by the clock (so the shares
 * hold on a loaded machine): each round computes in compute_part() for HALF ms, then
 * waits HALF ms in wait_part(): nanosleep (mode "sleep") or a blocking read from a pipe
 * that a helper thread writes to after HALF ms (mode "pipe").
 *   main -> run -> compute_part -> spin          ~50% of wall time, on the CPU
 *   main -> run -> wait_part -> nanosleep/read   ~50% of wall time, off the CPU
 * The writer thread is named "writer" (report --comm offcpu_half leaves it out).
 * Usage: offcpu_half [sleep|pipe] [ROUNDS] [HALF_MS] [WAIT_MS] (defaults sleep 10 50: ~1 s);
 * WAIT_MS (default HALF_MS) makes the wait longer than the computation, for tests whose
 * verdict must not be a tie. At exit it prints where its wall time went by its own clock,
 * "offcpu_half: compute_ms=C wait_ms=W", the truth a profiler's shares are checked against. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static int pipefd[2], gofd[2]; /* data pipe; the reader's "now waiting" pipe */
static long half_ms = 50;
static long wait_ms = -1; /* -1: same as half_ms */
static double compute_total_ms, wait_total_ms; /* by the clock, in the main thread */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

__attribute__((noipa)) static void spin(void)
{
	unsigned long x = sink;
	for (int i = 0; i < 100000; i++)
		x = x * 6364136223846793005ul + (unsigned long)i;
	sink = x;
}

__attribute__((noipa)) static void compute_part(void)
{
	double end = now_ms() + (double)half_ms;
	while (now_ms() < end)
		spin();
}

static void *writer(void *arg)
{
	int rounds = *(int *)arg;
	pthread_setname_np(pthread_self(), "writer");
	for (int r = 0; r < rounds; r++) {
		char c = 'x';
		/* wait for the reader to start waiting, then HALF ms more */
		if (read(gofd[0], &c, 1) != 1)
			return NULL;
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (write(pipefd[1], &c, 1) != 1)
			return NULL;
	}
	return NULL;
}

__attribute__((noipa)) static void wait_part(int use_pipe, int go_fd)
{
	if (use_pipe) {
		char c = 'g';
		if (write(go_fd, &c, 1) != 1 || read(pipefd[0], &c, 1) != 1)
			exit(1);
	} else {
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

__attribute__((noipa)) static void run(int use_pipe, int rounds, int go_fd)
{
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ms();
		compute_part();
		double t1 = now_ms();
		wait_part(use_pipe, go_fd);
		compute_total_ms += t1 - t0;
		wait_total_ms += now_ms() - t1;
	}
}

int main(int argc, char **argv)
{
	int use_pipe = argc > 1 && !strcmp(argv[1], "pipe");
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	pthread_t th;
	if (argc > 3)
		half_ms = atol(argv[3]);
	wait_ms = argc > 4 ? atol(argv[4]) : half_ms;
	if (use_pipe) {
		if (pipe(pipefd) != 0 || pipe(gofd) != 0)
			return 1;
		if (pthread_create(&th, NULL, writer, &rounds) != 0)
			return 1;
		run(1, rounds, gofd[1]);
		pthread_join(th, NULL);
	} else {
		run(0, rounds, -1);
	}
	printf("%lu\noffcpu_half: compute_ms=%.1f wait_ms=%.1f\n", sink & 1, compute_total_ms, wait_total_ms);
	return 0;
}
