/* offcpu.c: off-CPU intervals from switch-out stacks and switch records (see offcpu.h). */
#include "collect/offcpu.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

struct oc_thread {
	int32_t tid;
	int used;
	int out;            /* off the CPU since out_time */
	int preempt;
	int has_stack;
	uint32_t pthread;
	uint64_t out_time;
	kp_stack_t stack;
};

struct kc_offcpu {
	struct kp_profile *p;
	struct kc_offcpu_values v;
	struct oc_thread *slots;
	uint32_t cap, n;
	double *vals;
	kp_frame_t blocked, runnable, lock, cond;
	uint64_t count;
};

static struct oc_thread *find(struct kc_offcpu *o, int32_t tid, int create)
{
	if ((o->n + 1) * 2 > o->cap) {
		uint32_t cap = o->cap ? o->cap * 2 : 64;
		struct oc_thread *old = o->slots;
		uint32_t oldcap = o->cap;
		o->slots = xcalloc(cap, sizeof(*o->slots));
		o->cap = cap;
		o->n = 0;
		for (uint32_t i = 0; i < oldcap; i++)
			if (old[i].used)
				*find(o, old[i].tid, 1) = old[i];
		free(old);
	}
	uint32_t i = ((uint32_t)tid * 2654435761u) & (o->cap - 1);
	while (o->slots[i].used) {
		if (o->slots[i].tid == tid)
			return &o->slots[i];
		i = (i + 1) & (o->cap - 1);
	}
	if (!create)
		return NULL;
	memset(&o->slots[i], 0, sizeof(o->slots[i]));
	o->slots[i].used = 1;
	o->slots[i].tid = tid;
	o->n++;
	return &o->slots[i];
}

struct kc_offcpu *kc_offcpu_new(struct kp_profile *p, const struct kc_offcpu_values *v)
{
	struct kc_offcpu *o = xcalloc(1, sizeof(*o));
	o->p = p;
	o->v = *v;
	o->vals = xcalloc(KP_MAX_VALUES, sizeof(double));
	o->blocked = kp_frame_named(p, KC_OFFCPU_BLOCKED, strlen(KC_OFFCPU_BLOCKED), KP_FRAME_OFFCPU);
	o->runnable = kp_frame_named(p, KC_OFFCPU_RUNNABLE, strlen(KC_OFFCPU_RUNNABLE), KP_FRAME_OFFCPU);
	o->lock = kp_frame_named(p, KC_OFFCPU_LOCK, strlen(KC_OFFCPU_LOCK), KP_FRAME_OFFCPU);
	o->cond = kp_frame_named(p, KC_OFFCPU_COND, strlen(KC_OFFCPU_COND), KP_FRAME_OFFCPU);
	return o;
}

void kc_offcpu_free(struct kc_offcpu *o)
{
	if (!o)
		return;
	free(o->slots);
	free(o->vals);
	free(o);
}

void kc_offcpu_out_stack(struct kc_offcpu *o, int32_t tid, uint32_t pthread, uint64_t time, kp_stack_t stack)
{
	struct oc_thread *t = find(o, tid, 1);
	if (!t->out) {
		t->out = 1;
		t->out_time = time;
		t->preempt = 0;
	}
	t->pthread = pthread;
	t->stack = stack;
	t->has_stack = 1;
}

void kc_offcpu_out(struct kc_offcpu *o, int32_t tid, uint32_t pthread, uint64_t time, int preempt)
{
	struct oc_thread *t = find(o, tid, 1);
	if (!t->out) {
		t->out = 1;
		t->out_time = time;
		t->has_stack = 0;
	}
	if (pthread)
		t->pthread = pthread;
	t->preempt = preempt;
}

/* 1: a lock function, 2: a condition wait, 0: neither (glibc's names, and libstdc++'s
 * for code that calls the futex itself). */
static int wait_kind(const char *name)
{
	static const char *const locks[] = { "__lll_lock_wait", "pthread_mutex_lock", "___pthread_mutex_lock",
					     "__pthread_mutex_lock", "pthread_mutex_timedlock", "pthread_mutex_clocklock",
					     "__pthread_mutex_clocklock", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
					     "___pthread_rwlock", "__pthread_rwlock", "pthread_rwlock_timed",
					     "pthread_rwlock_clock", "pthread_spin_lock", "std::mutex::lock",
					     "std::shared_mutex::lock", "std::timed_mutex", "std::recursive_mutex::lock" };
	static const char *const conds[] = { "pthread_cond_wait", "___pthread_cond_wait", "__pthread_cond_wait",
					     "pthread_cond_timedwait", "___pthread_cond_timedwait",
					     "__pthread_cond_timedwait", "pthread_cond_clockwait",
					     "std::condition_variable::wait" };
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		if (!strncmp(name, conds[i], strlen(conds[i])))
			return 2;
	for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++)
		if (!strncmp(name, locks[i], strlen(locks[i])))
			return 1;
	return 0;
}

/* The leaf frame of a blocked interval with stack s: a lock or condition wait when one
 * of the innermost user frames is a lock function, else blocked. */
static kp_frame_t blocked_frame(struct kc_offcpu *o, kp_stack_t s)
{
	const struct kp_profile *p = o->p;
	int user = 0;
	for (; s && user < 6; s = p->stacks[s].parent) {
		const struct kp_frame *f = &p->frames[p->stacks[s].frame];
		if (f->flags & KP_FRAME_KERNEL)
			continue;
		user++;
		int k = wait_kind(kp_str_get(p, f->name));
		if (k)
			return k == 2 ? o->cond : o->lock;
	}
	return o->blocked;
}

static void close_interval(struct kc_offcpu *o, struct oc_thread *t, uint64_t time)
{
	if (t->out && t->pthread && time >= t->out_time) {
		double ns = (double)(time - t->out_time);
		kp_stack_t base = t->has_stack ? t->stack : 0;
		kp_stack_t s = kp_stack_push(o->p, base, t->preempt ? o->runnable : blocked_frame(o, base));
		memset(o->vals, 0, o->p->nvalues * sizeof(double));
		if (o->v.samples >= 0)
			o->vals[o->v.samples] = 1;
		if (o->v.off_cpu_ns >= 0)
			o->vals[o->v.off_cpu_ns] = ns;
		if (o->v.wall_ns >= 0)
			o->vals[o->v.wall_ns] = ns;
		kp_add_sample(o->p, s, t->pthread, t->out_time, o->vals);
		o->count++;
	}
	t->out = 0;
	t->has_stack = 0;
	t->preempt = 0;
}

void kc_offcpu_in(struct kc_offcpu *o, int32_t tid, uint64_t time)
{
	struct oc_thread *t = find(o, tid, 0);
	if (t)
		close_interval(o, t, time);
}

void kc_offcpu_exit(struct kc_offcpu *o, int32_t tid)
{
	struct oc_thread *t = find(o, tid, 0);
	if (t) {
		t->out = 0;
		t->has_stack = 0;
	}
}

void kc_offcpu_finish(struct kc_offcpu *o, uint64_t time)
{
	for (uint32_t i = 0; i < o->cap; i++)
		if (o->slots[i].used && o->slots[i].out)
			close_interval(o, &o->slots[i], time);
}

uint64_t kc_offcpu_count(const struct kc_offcpu *o)
{
	return o ? o->count : 0;
}
