/* kh_util.c: locks, the library's own memory, and libc-free helpers for libkiln-heap.so. */
#include "preload/kh.h"
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

int kh_stack_lock, kh_module_lock, kh_control_lock, kh_sample_lock, kh_arena_lock;

void kh_lock(int *l)
{
	unsigned spins = 0;
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			if (++spins < 64)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
}

void kh_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

void *kh_map_anon(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *kh_map_anon_now(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

#define ARENA_CHUNK (1u << 20)
static char *arena_cur, *arena_end;

void *kh_arena_alloc(size_t n)
{
	void *r;
	n = (n + 15) & ~(size_t)15;
	kh_lock(&kh_arena_lock);
	if ((size_t)(arena_end - arena_cur) < n) {
		size_t sz = n > ARENA_CHUNK ? (n + 4095) & ~(size_t)4095 : ARENA_CHUNK;
		char *c = kh_map_anon(sz);
		if (!c) {
			kh_unlock(&kh_arena_lock);
			return NULL;
		}
		arena_cur = c;
		arena_end = c + sz;
	}
	r = arena_cur;
	arena_cur += n;
	kh_unlock(&kh_arena_lock);
	return r;
}

uint64_t kh_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t kh_fmt_u64(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

size_t kh_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
