/* build: -O1 -g -fno-omit-frame-pointer */
/* heap_fork.c: allocations in a parent, a fork child and an exec'd program.
 *   parent_leak()  PARENT_N blocks of 300 bytes, leaked, before and after the fork
 *   child_leak()   CHILD_N blocks of 700 bytes in the fork child, leaked; it _exits(0)
 *   then a second child execs argv[1] (default: nothing) with the argument "1".
 * Exits with the exec'd child's status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PARENT_N 6
#define CHILD_N 4

void *volatile sink;

__attribute__((noinline)) static void parent_leak(int n)
{
	for (int i = 0; i < n; i++)
		sink = memset(malloc(300), 1, 300);
}

__attribute__((noinline)) static void child_leak(void)
{
	for (int i = 0; i < CHILD_N; i++)
		sink = memset(malloc(700), 2, 700);
}

int main(int argc, char **argv)
{
	int status = 0;
	pid_t pid;
	parent_leak(PARENT_N / 2);
	pid = fork();
	if (pid == 0) {
		child_leak();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	parent_leak(PARENT_N - PARENT_N / 2);
	if (argc > 1) {
		pid = fork();
		if (pid == 0) {
			execl(argv[1], argv[1], "1", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	return 0;
}
