/* build: -O1 -g -fno-omit-frame-pointer */
/* heap_hostile.c: a program that makes life hard for a profiler, then leaks known
 * blocks. It closes every file descriptor, changes to /, then:
 *   mode "exit":   leaks 3 x 5000 bytes from after_close() and exits 0
 *   mode "_exit":  leaks, then _exit(3)
 *   mode "abort":  leaks, then abort()
 *   mode "kill":   leaks, then kills itself with SIGKILL
 *   mode "segv":   leaks, then dereferences NULL */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;

__attribute__((noinline)) static void after_close(void)
{
	for (int i = 0; i < 3; i++)
		sink = memset(malloc(5000), 3, 5000);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "exit";
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	if (chdir("/") != 0)
		return 9;
	after_close();
	if (!strcmp(mode, "_exit"))
		_exit(3);
	if (!strcmp(mode, "abort"))
		abort();
	if (!strcmp(mode, "kill"))
		kill(getpid(), SIGKILL);
	if (!strcmp(mode, "segv")) {
		volatile int *volatile np = NULL;
		*np = 1;
	}
	return 0;
}
