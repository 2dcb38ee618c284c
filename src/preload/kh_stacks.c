/* kh_stacks.c: the process's table of distinct call stacks. Each new stack gets the
 * next id and its return addresses are sent once (HP_C_STACK); events then carry only
 * the id. Lookups are lock-free (an insert-only open-addressing table of pointers to
 * immutable nodes); inserts take kh_stack_lock. A grown table replaces the old one,
 * which stays readable for threads still holding it. */
#include "preload/kh.h"
#include <string.h>

struct kstack {
	uint64_t hash;
	uint32_t id;
	uint32_t depth;
	uint64_t ips[];
};

static struct kh_ptab *stab;
static uint32_t next_id = 1;
/* native stacks by id (kh_stack_ips; grown under kh_stack_lock, never shrunk) */
static struct kstack **byid;
static uint32_t byid_cap;

static void byid_put(struct kstack *k)
{
	if (k->id >= byid_cap) {
		uint32_t cap = byid_cap ? byid_cap * 2 : 4096;
		struct kstack **g;
		while (cap <= k->id)
			cap *= 2;
		g = kh_map_anon((size_t)cap * sizeof(*g));
		if (!g)
			return;
		if (byid)
			memcpy(g, byid, (size_t)byid_cap * sizeof(*g));
		byid = g; /* the old array stays mapped: readers hold kh_stack_lock anyway */
		byid_cap = cap;
	}
	byid[k->id] = k;
}

const uint64_t *kh_stack_ips(uint32_t id, uint32_t *depth)
{
	if (id >= byid_cap || !byid[id])
		return NULL;
	*depth = byid[id]->depth;
	return byid[id]->ips;
}

uint32_t kh_stack_next_id(void)
{
	return next_id++;
}

static struct kstack *find(const struct kh_ptab *s, const uint64_t *ips, int n, uint64_t hash)
{
	uint32_t mask = s->cap - 1, i = (uint32_t)hash & mask;
	for (;;) {
		struct kstack *k = kh_ptab_at(s, i, hash);
		if (k == (void *)1)
			return NULL;
		if (k && k->depth == (uint32_t)n && !memcmp(k->ips, ips, (size_t)n * 8))
			return k;
		i = (i + 1) & mask;
	}
}

static uint32_t insert(struct kh_thread *t, const uint64_t *ips, int n, uint64_t hash, int nested);

struct kh_ptab *kh_ptab_grow(const struct kh_ptab *old, uint32_t cap)
{
	struct kh_ptab *s;
	if (old)
		cap = old->cap * 2;
	s = kh_map_anon_now(sizeof(*s) + (size_t)cap * sizeof(s->slot[0]));
	if (!s)
		return NULL;
	s->cap = cap;
	for (uint32_t i = 0; old && i < old->cap; i++) {
		if (old->slot[i]) {
			/* the node's hash, its first word */
			uint32_t j = (uint32_t)*(const uint64_t *)(uintptr_t)(old->slot[i] & KH_PTAB_PTR) & (cap - 1);
			while (s->slot[j])
				j = (j + 1) & (cap - 1);
			s->slot[j] = old->slot[i];
			s->count++;
		}
	}
	return s;
}

void kh_ptab_put(struct kh_ptab *s, void *node)
{
	uint64_t hash = *(const uint64_t *)node;
	uint32_t mask = s->cap - 1, i = (uint32_t)hash & mask;
	while (s->slot[i])
		i = (i + 1) & mask;
	__atomic_store_n(&s->slot[i], (uint64_t)(uintptr_t)node | (hash >> 48) << 48, __ATOMIC_RELEASE);
	s->count++;
}

uint32_t kh_stack_id(struct kh_thread *t, const uint64_t *ips, int n, uint64_t hash, int nested)
{
	struct kh_ptab *s = __atomic_load_n(&stab, __ATOMIC_ACQUIRE);
	struct kstack *k;
	uint32_t id;
	if (KH_LIKELY(s != NULL)) {
		k = find(s, ips, n, hash);
		if (KH_LIKELY(k != NULL))
			return k->id;
	}
	/* a new stack: from here on, locks; a signal handler must not record. A nested
	 * recording (from a handler) can lock too: the interrupted code holds none of our
	 * locks outside its critical parts, so only other threads can, and they finish. */
	KH_CRIT_BEGIN(t);
	id = insert(t, ips, n, hash, nested);
	KH_CRIT_END(t);
	return id;
}

static uint32_t insert(struct kh_thread *t, const uint64_t *ips, int n, uint64_t hash, int nested)
{
	struct kh_ptab *s;
	struct kstack *k;
	uint32_t id;
	(void)t;
	/* make sure the reader knows every module the stack touches (no lock held); not
	 * from a signal handler: dl_iterate_phdr is not async-signal-safe */
	for (int i = 0; i < n && !nested; i++)
		kh_modules_ensure(ips[i]);
	kh_lock(&kh_stack_lock);
	s = stab;
	if (s && (k = find(s, ips, n, hash)) != NULL) {
		kh_unlock(&kh_stack_lock);
		return k->id;
	}
	if (!s || (s->count + 1) * 4 > s->cap * 3) {
		struct kh_ptab *g = kh_ptab_grow(s, KH_PTAB_FIRST);
		if (!g) {
			kh_unlock(&kh_stack_lock);
			return 0;
		}
		__atomic_store_n(&stab, g, __ATOMIC_RELEASE);
		s = g;
	}
	k = kh_arena_alloc(sizeof(*k) + (size_t)n * 8);
	if (!k) {
		kh_unlock(&kh_stack_lock);
		return 0;
	}
	k->hash = hash;
	k->depth = (uint32_t)n;
	memcpy(k->ips, ips, (size_t)n * 8);
	id = k->id = next_id++;
	byid_put(k);
	{
		uint64_t w[HP_MAX_DEPTH + 3];
		w[0] = HP_C_STACK | (uint64_t)(n + 3) << 8;
		w[1] = id;
		w[2] = (uint64_t)n;
		memcpy(&w[3], ips, (size_t)n * 8);
		kh_control_write(w, (size_t)n + 3);
	}
	kh_ptab_put(s, k);
	kh_unlock(&kh_stack_lock);
	return id;
}

uint64_t kh_stack_count(void)
{
	return next_id;
}

void kh_stacks_reset(void)
{
	kh_lock(&kh_stack_lock);
	__atomic_store_n(&stab, NULL, __ATOMIC_RELEASE);
	kh_unlock(&kh_stack_lock);
}
