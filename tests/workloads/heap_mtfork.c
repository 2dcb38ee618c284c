/* build: -O1 -g -fno-omit-frame-pointer -pthread */
/* heap_mtfork.c: fork while other threads allocate. 4 threads malloc and free without
 * pause; the main thread forks FORKS children, each of which allocates CHILD_N blocks
 * from in_child() (keeping them) and exits. Nothing may deadlock, in the program or
 * in a child. Prints "ok" and the number of children that exited 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKS 40
#define CHILD_N 3

void *volatile sink;
static volatile int stop;

static void *churn(void *arg)
{
	(void)arg;
	while (!stop) {
		char *p = malloc(48);
		p[0] = 1;
		sink = p;
		free(p);
	}
	return NULL;
}

__attribute__((noinline)) static void in_child(void)
{
	for (int i = 0; i < CHILD_N; i++)
		sink = memset(malloc(333), 4, 333);
}

int main(void)
{
	pthread_t t[4];
	int good = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (int i = 0; i < FORKS; i++) {
		int status;
		pid_t pid = fork();
		if (pid == 0) {
			in_child();
			_exit(0);
		}
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			good++;
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("ok %d\n", good);
	return 0;
}
