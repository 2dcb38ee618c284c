/* build: -O1 -g -fno-omit-frame-pointer -fno-inline */
/* lat_modes.c: a function whose calls take three known durations in known proportions,
 * and a microsecond-scale function called ten times as often.
 *   lat_modes [N]   N calls of slow_op (default 400): of every 200, 195 take 1 ms,
 *                   4 take 10 ms, 1 takes 50 ms (97.5%, 2%, 0.5%); fast_op is called
 *                   10 * N times and spins about 2 us.
 * Durations are spun on CLOCK_MONOTONIC (not slept), so they hold on a busy machine
 * up to preemption, which only lengthens a call. Prints the counts it made. With
 * LAT_TRUTH=FILE in the environment it also writes the duration of every slow_op call
 * as it measured it (ns, one a line): the truth to compare percentiles with on a busy
 * machine, where preemption stretches some calls. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void spin(unsigned long long ns)
{
	unsigned long long end = now_ns() + ns;
	while (now_ns() < end)
		;
}

__attribute__((noinline)) void slow_op(int kind)
{
	spin(kind == 2 ? 50000000ull : kind == 1 ? 10000000ull : 1000000ull);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void fast_op(void)
{
	spin(2000);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400;
	long fast = 0;
	const char *truth = getenv("LAT_TRUTH");
	FILE *tf = truth ? fopen(truth, "w") : NULL;
	for (int i = 0; i < n; i++) {
		int r = i % 200;
		unsigned long long t0 = now_ns();
		slow_op(r == 199 ? 2 : r >= 195 ? 1 : 0);
		if (tf)
			fprintf(tf, "%llu\n", now_ns() - t0);
		for (int k = 0; k < 10; k++, fast++)
			fast_op();
	}
	if (tf)
		fclose(tf);
	fprintf(stderr, "slow_op %d fast_op %ld\n", n, fast);
	return 0;
}
