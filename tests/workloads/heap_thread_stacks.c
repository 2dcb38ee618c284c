/* build: -O1 -g -fno-omit-frame-pointer */
/* heap_thread_stacks.c: one allocation from leaf() < mid() < thread_main() in threads on
 * each kind of stack: one the program supplies (pthread_attr_setstack), one of a size
 * it asks for (pthread_attr_setstacksize), glibc's default; then N more default ones
 * (argv[1], default 0), one after the other. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile sink;

__attribute__((noinline)) static void leaf(void)
{
	sink = malloc(77);
}

__attribute__((noinline)) static void mid(void)
{
	leaf();
	__asm__ volatile("" ::: "memory");
}

static void *thread_main(void *a)
{
	mid();
	return a;
}

int main(int argc, char **argv)
{
	pthread_attr_t user, sized;
	pthread_t t;
	size_t sz = 1u << 20;
	void *stack = aligned_alloc(4096, sz);
	int n = argc > 1 ? atoi(argv[1]) : 0;
	if (!stack)
		return 1;
	pthread_attr_init(&user);
	pthread_attr_setstack(&user, stack, sz);
	pthread_attr_init(&sized);
	pthread_attr_setstacksize(&sized, 256u << 10);
	if (pthread_create(&t, &user, thread_main, NULL) || pthread_join(t, NULL) ||
	    pthread_create(&t, &sized, thread_main, NULL) || pthread_join(t, NULL) ||
	    pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
		return 1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
			return 1;
	printf("%d threads\n", 3 + n);
	return 0;
}
