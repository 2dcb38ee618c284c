/* build: -O1 -g -fno-omit-frame-pointer -pthread */
/* heap_threads.c: 8 threads allocate blocks and hand them to the next thread, which
 * frees them (allocation and free in different threads). Each thread allocates
 * PER_THREAD blocks of 32 + (i % 64) * 8 bytes from thread_alloc() and keeps the last
 * KEEP of them (leaked). Hand-over is a locked list threaded through the blocks, so
 * no thread ever waits for another. Prints the number of blocks freed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define PER_THREAD 20000
#define KEEP 5

struct node {
	struct node *next;
};

struct queue {
	pthread_mutex_t lock;
	struct node *head;
};

static struct queue queues[THREADS];
static long freed[THREADS];
static void *kept[THREADS][KEEP];
static int producing = THREADS;

__attribute__((noinline)) static void *thread_alloc(int i)
{
	size_t size = 32 + (size_t)(i % 64) * 8;
	char *p = malloc(size);
	memset(p, i, size);
	return p;
}

static void push(struct queue *q, void *p)
{
	struct node *n = p;
	pthread_mutex_lock(&q->lock);
	n->next = q->head;
	q->head = n;
	pthread_mutex_unlock(&q->lock);
}

static void drain(struct queue *q, long *count)
{
	struct node *n;
	pthread_mutex_lock(&q->lock);
	n = q->head;
	q->head = NULL;
	pthread_mutex_unlock(&q->lock);
	while (n) {
		struct node *next = n->next;
		free(n);
		(*count)++;
		n = next;
	}
}

static void *run(void *arg)
{
	int id = (int)(long)arg;
	struct queue *next = &queues[(id + 1) % THREADS], *mine = &queues[id];
	for (int i = 0; i < PER_THREAD; i++) {
		void *p = thread_alloc(i);
		if (i >= PER_THREAD - KEEP)
			kept[id][i - (PER_THREAD - KEEP)] = p;
		else
			push(next, p);
		if (i % 64 == 0)
			drain(mine, &freed[id]);
	}
	__atomic_sub_fetch(&producing, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&producing, __ATOMIC_SEQ_CST))
		drain(mine, &freed[id]);
	drain(mine, &freed[id]);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	long total = 0;
	for (int i = 0; i < THREADS; i++)
		pthread_mutex_init(&queues[i].lock, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, run, (void *)(long)i);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += freed[i];
	}
	printf("freed %ld\n", total);
	return 0;
}
