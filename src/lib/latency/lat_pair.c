/* lat_pair.c: per-thread shadow stacks (see lat_pair.h). */
#include "latency/lat_pair.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

/* A thread's stack grows to this depth at most; deeper entries are counted as never
 * returned at once (a runaway recursion must not take all memory). */
#define MAX_DEPTH 65536

struct pthread_ {
	int32_t tid;
	int used;
	struct lat_frame *st;
	size_t n, alloc;
};

struct lat_pairer {
	struct lat_pair_ops ops;
	void *ctx;
	struct pthread_ *t;       /* open addressing on tid */
	size_t size, used;
	size_t open;
};

struct lat_pairer *lat_pairer_new(const struct lat_pair_ops *ops, void *ctx)
{
	struct lat_pairer *p = xcalloc(1, sizeof(*p));
	p->ops = *ops;
	p->ctx = ctx;
	p->size = 64;
	p->t = xcalloc(p->size, sizeof(*p->t));
	return p;
}

void lat_pairer_free(struct lat_pairer *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->size; i++)
		free(p->t[i].st);
	free(p->t);
	free(p);
}

static size_t slot_of(const struct lat_pairer *p, int32_t tid)
{
	size_t i = ((uint32_t)tid * 2654435761u) & (p->size - 1);
	while (p->t[i].used && p->t[i].tid != tid)
		i = (i + 1) & (p->size - 1);
	return i;
}

static struct pthread_ *thread_get(struct lat_pairer *p, int32_t tid)
{
	size_t i = slot_of(p, tid);
	if (p->t[i].used)
		return &p->t[i];
	if ((p->used + 1) * 2 > p->size) {
		struct pthread_ *old = p->t;
		size_t osize = p->size;
		p->size *= 2;
		p->t = xcalloc(p->size, sizeof(*p->t));
		for (size_t k = 0; k < osize; k++)
			if (old[k].used)
				p->t[slot_of(p, old[k].tid)] = old[k];
		free(old);
		i = slot_of(p, tid);
	}
	p->t[i].used = 1;
	p->t[i].tid = tid;
	p->used++;
	return &p->t[i];
}

static void abandon(struct lat_pairer *p, struct pthread_ *th, const struct lat_frame *f, int why)
{
	p->open--;
	if (p->ops.abandon)
		p->ops.abandon(p->ctx, th->tid, f, why);
}

void lat_pair_entry(struct lat_pairer *p, int32_t tid, uint32_t func, uint64_t sp, uint64_t t, uint64_t data)
{
	struct pthread_ *th = thread_get(p, tid);
	struct lat_frame f = { func, sp, t, data };
	/* a frame at or below this stack pointer that is still open was left without a
	 * return we saw (the stack is being reused): it never returned */
	while (th->n && th->st[th->n - 1].sp < sp) {
		th->n--;
		abandon(p, th, &th->st[th->n], LAT_NEVER_RETURNED);
	}
	p->open++;
	if (th->n >= MAX_DEPTH) {
		abandon(p, th, &f, LAT_NEVER_RETURNED);
		return;
	}
	ALLOC_GROW(th->st, th->n + 1, th->alloc);
	th->st[th->n++] = f;
}

int lat_pair_return(struct lat_pairer *p, int32_t tid, uint32_t func, uint64_t sp_ret, struct lat_frame *out)
{
	struct pthread_ *th = thread_get(p, tid);
	uint64_t sp = sp_ret - 8;
	while (th->n && th->st[th->n - 1].sp < sp) {
		th->n--;
		abandon(p, th, &th->st[th->n], LAT_NEVER_RETURNED);
	}
	if (th->n && th->st[th->n - 1].sp == sp && th->st[th->n - 1].func == func) {
		*out = th->st[--th->n];
		p->open--;
		return 1;
	}
	return 0;
}

void lat_pair_thread_end(struct lat_pairer *p, int32_t tid)
{
	size_t i = slot_of(p, tid);
	struct pthread_ *th = &p->t[i];
	if (!th->used)
		return;
	while (th->n) {
		th->n--;
		abandon(p, th, &th->st[th->n], LAT_NEVER_RETURNED);
	}
}

void lat_pair_finish(struct lat_pairer *p, int ended)
{
	for (size_t i = 0; i < p->size; i++) {
		struct pthread_ *th = &p->t[i];
		if (!th->used)
			continue;
		while (th->n) {
			th->n--;
			abandon(p, th, &th->st[th->n], ended ? LAT_NEVER_RETURNED : LAT_IN_PROGRESS);
		}
	}
}

size_t lat_pair_open(const struct lat_pairer *p)
{
	return p->open;
}
