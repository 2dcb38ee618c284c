/* build: -O1 -g -fno-omit-frame-pointer */
/* heap_peaks.c: two child processes whose heaps peak at different moments, or at the
 * same moment, for the session peak of kiln heap.
 *   heap_peaks apart      child one holds 8 MiB and exits; then child two holds 4 MiB
 *   heap_peaks together   child one holds 8 MiB while child two holds 4 MiB (0.4 s)
 * Each child touches its block, so the memory is real, and then allocates 16 bytes: the
 * library holds a thread's latest allocation back until its next event (to see whether
 * it is temporary), so a block that is a thread's last allocation for a while reaches
 * kiln only with its free (docs/kiln-heap.md, "several processes"). Exits 0. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *volatile sink, *volatile small;

__attribute__((noinline)) static void *hold_eight(void)
{
	return memset(malloc(8u << 20), 1, 8u << 20);
}

__attribute__((noinline)) static void *hold_four(void)
{
	return memset(malloc(4u << 20), 2, 4u << 20);
}

static void pause_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int together = argc > 1 && !strcmp(argv[1], "together");
	int up[2], go[2];
	char c = 0;
	pid_t one, two;
	if (pipe(up) || pipe(go))
		return 1;
	one = fork();
	if (one == 0) {
		close(up[0]);
		close(go[1]); /* an orphaned child one must see EOF, not wait forever */
		sink = hold_eight();
		small = malloc(16);
		if (write(up[1], "1", 1) != 1)
			_exit(1);
		if (together && read(go[0], &c, 1) != 1) /* until child two holds its block */
			_exit(1);
		pause_s(0.1);
		free(sink);
		_exit(0);
	}
	if (read(up[0], &c, 1) != 1)
		return 1;
	if (!together)
		waitpid(one, NULL, 0);
	two = fork();
	if (two == 0) {
		sink = hold_four();
		small = malloc(16);
		pause_s(together ? 0.4 : 0.1);
		if (together && write(go[1], "2", 1) != 1)
			_exit(1);
		pause_s(0.1);
		free(sink);
		_exit(0);
	}
	waitpid(two, NULL, 0);
	if (together)
		waitpid(one, NULL, 0);
	return 0;
}
