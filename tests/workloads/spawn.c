/* build: -O1 -g -fno-omit-frame-pointer */
/* spawn.c: a parent that runs child programs one after another and waits for each:
 *   spawn PROG [ARGS...] [-- PROG [ARGS...]]...
 * Exits 0 when every child exited 0, else 1. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int i = 1, rc = 0;
	while (i < argc) {
		int j = i;
		while (j < argc && strcmp(argv[j], "--"))
			j++;
		argv[j < argc ? j : argc] = NULL;
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[i], argv + i);
			perror(argv[i]);
			_exit(127);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			rc = 1;
		i = j + 1;
	}
	return rc;
}
