/* build: -O1 -g -static -pthread */
/* lock_static.c: a statically linked program taking a mutex every millisecond for
 * SECONDS (default 10): it maps no libc, so `kiln lock -p` has nothing to probe. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
	int ms = (argc > 1 ? atoi(argv[1]) : 10) * 1000;
	for (int i = 0; i < ms; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return 0;
}
