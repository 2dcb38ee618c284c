/* heap_agg.c: live blocks, per-stack heap values, peak snapshots (see heap_agg.h).
 *
 * The peak snapshot is kept lazily: peak_ver counts the moments the session's heap (all
 * running processes together) set a new maximum. A stack's peak value is its live bytes
 * at the latest such moment; it is saved (peak_val, tagged with peak_ver) just before
 * the stack's live bytes first change after that moment, so each event costs O(1) and
 * no array is ever copied. A process that ended before that moment counts nothing. */
#include "heap/heap_agg.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define UNLIKELY(x) __builtin_expect(!!(x), 0)

const char *const heap_value_names[HEAP_NV] = {
	"alloc_count", "alloc_bytes", "peak_bytes", "leaked_count", "leaked_bytes", "temp_count",
};
const char *const heap_value_units[HEAP_NV] = {
	"count", "bytes", "bytes", "count", "bytes", "count",
};

/* ---- address map: open addressing, linear probing, backward-shift deletion ---- */
struct ha_ent {
	uint64_t addr; /* 0 = empty */
	uint64_t size;
	uint32_t stack;
	uint32_t ring;
};

struct ha_map {
	struct ha_ent *e;
	size_t cap, n; /* cap is a power of two (or 0) */
};

/* The home slot of a block: a page of the address space (4 KiB) has a run of 512
 * slots (from a hash of the page number), in which its blocks keep their order, two
 * slots per 16 bytes. Programs allocate and free neighbouring blocks one after the
 * other (an allocator carves blocks from a page in order; CPython frees a tree of
 * objects made together), so the slots of consecutive events share cache lines,
 * where a hash of the whole address sent every event to a cache miss in a table of
 * megabytes: 17% less CPU for the reader on bench/python-heap.sh. Two slots per 16
 * bytes keep a page full of 16-byte blocks from making a run of 256 taken slots. */
static inline size_t map_slot(const struct ha_map *m, uint64_t addr)
{
	return (size_t)((((addr >> 12) * 0x9E3779B97F4A7C15ull) >> 20) + ((addr >> 3) & 510)) & (m->cap - 1);
}

static struct ha_ent *map_find(const struct ha_map *m, uint64_t addr)
{
	if (!m->n)
		return NULL;
	for (size_t i = map_slot(m, addr);; i = (i + 1) & (m->cap - 1)) {
		struct ha_ent *e = &m->e[i];
		if (e->addr == addr)
			return e;
		if (!e->addr)
			return NULL;
	}
}

static void map_grow(struct ha_map *m)
{
	struct ha_map g;
	g.cap = m->cap ? m->cap * 2 : 1024;
	g.n = 0;
	g.e = xcalloc(g.cap, sizeof(*g.e));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->e[i].addr) {
			size_t j = map_slot(&g, m->e[i].addr);
			while (g.e[j].addr)
				j = (j + 1) & (g.cap - 1);
			g.e[j] = m->e[i];
			g.n++;
		}
	}
	free(m->e);
	*m = g;
}

/* The entry of addr, or (its addr 0) the empty slot where addr goes: one probe for a
 * lookup that may be followed by an insert (the table is grown first). */
static struct ha_ent *map_probe(struct ha_map *m, uint64_t addr)
{
	size_t i;
	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	for (i = map_slot(m, addr); m->e[i].addr && m->e[i].addr != addr; i = (i + 1) & (m->cap - 1))
		;
	return &m->e[i];
}

/* Inserts addr (must be absent); returns the entry to fill. */
static struct ha_ent *map_insert(struct ha_map *m, uint64_t addr)
{
	size_t i;
	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	for (i = map_slot(m, addr); m->e[i].addr; i = (i + 1) & (m->cap - 1))
		;
	m->e[i].addr = addr;
	m->n++;
	return &m->e[i];
}

static void map_remove(struct ha_map *m, struct ha_ent *e)
{
	size_t i = (size_t)(e - m->e), j = i, mask = m->cap - 1;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->e[j].addr)
			break;
		size_t home = map_slot(m, m->e[j].addr);
		/* move e[j] into the hole at i if its home is not in (i, j] cyclically */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->e[i] = m->e[j];
			i = j;
		}
	}
	m->e[i].addr = 0;
	m->n--;
}

static void map_clear(struct ha_map *m)
{
	if (m->n) {
		memset(m->e, 0, m->cap * sizeof(*m->e));
		m->n = 0;
	}
}

static void map_release(struct ha_map *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* ---- model ---- */
struct ha_stack {
	kp_stack_t ks;
	uint16_t defined;  /* the id is known */
	uint16_t ready;    /* ks is its profile stack (not being symbolized) */
	uint32_t queued;   /* in its process's changed list */
	uint64_t peak_ver;
	double alloc_count, alloc_bytes, temp_count, live_count, live_bytes, peak_val;
	double emitted[HEAP_NV];
	kp_stack_t emitted_ks;     /* the profile stack emitted[] went to (0: none yet) */
};

struct heap_proc {
	struct heap_agg *agg;
	const struct heap_proc *parent;
	uint32_t inherited;
	uint32_t thread;
	struct ha_stack *stacks;
	size_t nstacks, stacks_alloc;
	struct ha_map live;
	struct ha_map pend_free;   /* frees of unknown blocks in this epoch (ring) */
	struct ha_map pend_alloc;  /* allocations at a live address in this epoch */
	double live_total, peak_total; /* this process's heap now and at its own peak */
	double live_blocks;        /* its blocks live now (the sum of its stacks' live_count) */
	uint64_t end_ver;          /* the session's peak_ver when the process ended */
	uint64_t last_t;
	int dirty;
	int ended;
	/* the stacks heap_agg_emit looks at (each once: ha_stack.queued): those changed
	 * since it last ran, and those whose values can change without an event of
	 * theirs (still unnamed, or with a saved peak value unlike their live bytes) */
	uint32_t *changed;
	size_t nchanged, changed_alloc;
	struct heap_proc_stats st;
};

struct heap_agg {
	struct kp_profile *p;
	uint64_t sample_bytes;
	struct heap_proc **procs;
	size_t nprocs, procs_alloc;
	double hist[HEAP_HIST_BUCKETS];
	/* the session's heap: the sum over running processes, now and at its peak */
	double live_total, peak_total;
	uint64_t peak_ver, peak_time_ns;
	uint64_t emitted_ver;      /* peak_ver at the latest emit */
	uint64_t now_ns;           /* the latest event time seen */
	kp_stack_t unnamed;        /* "[call stack not yet named]", made on first use */
};

struct heap_agg *heap_agg_new(struct kp_profile *p, uint64_t sample_bytes)
{
	struct heap_agg *a;
	if (p->nvalues) {
		kiln_error("internal: heap profile already has value types");
		return NULL;
	}
	for (int v = 0; v < HEAP_NV; v++)
		kp_add_value_type(p, heap_value_names[v], heap_value_units[v]);
	p->default_value = HEAP_V_PEAK_BYTES;
	a = xcalloc(1, sizeof(*a));
	a->p = p;
	a->sample_bytes = sample_bytes;
	return a;
}

void heap_agg_free(struct heap_agg *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nprocs; i++) {
		struct heap_proc *pr = a->procs[i];
		map_release(&pr->live);
		map_release(&pr->pend_free);
		map_release(&pr->pend_alloc);
		free(pr->stacks);
		free(pr->changed);
		free(pr);
	}
	free(a->procs);
	free(a);
}

static double weight_sampled(const struct heap_agg *a, uint64_t size)
{
	double x;
	if (!size)
		return 0;
	x = (double)size / (double)a->sample_bytes;
	if (x > 40)
		return 1;
	return 1.0 / -expm1(-x);
}

static inline double weight(const struct heap_agg *a, uint64_t size)
{
	return a->sample_bytes ? weight_sampled(a, size) : 1;
}

double heap_agg_weight(const struct heap_agg *a, uint64_t size)
{
	return weight(a, size);
}

struct heap_proc *heap_agg_proc(struct heap_agg *a, uint32_t thread, int32_t pid, uint64_t start_ns,
				const struct heap_proc *parent, uint32_t inherited)
{
	struct heap_proc *pr = xcalloc(1, sizeof(*pr));
	pr->agg = a;
	pr->thread = thread;
	pr->st.pid = pid;
	pr->st.start_ns = start_ns;
	if (parent && inherited && parent->nstacks) {
		size_t n = inherited < parent->nstacks ? inherited : parent->nstacks;
		ALLOC_GROW(pr->stacks, n, pr->stacks_alloc);
		if (pr->stacks) /* none when the parent had defined no stack */
			memset(pr->stacks, 0, pr->stacks_alloc * sizeof(*pr->stacks));
		for (size_t i = 0; i < n; i++) {
			pr->stacks[i].ks = parent->stacks[i].ks;
			pr->stacks[i].defined = parent->stacks[i].defined;
			pr->stacks[i].ready = parent->stacks[i].ready;
		}
		pr->nstacks = n;
		pr->parent = parent;
		pr->inherited = inherited;
	}
	ALLOC_GROW(a->procs, a->nprocs + 1, a->procs_alloc);
	a->procs[a->nprocs++] = pr;
	return pr;
}

static struct ha_stack *get_stack_slow(struct heap_proc *pr, uint32_t id)
{
	if (id >= pr->nstacks) {
		size_t old = pr->stacks_alloc;
		ALLOC_GROW(pr->stacks, (size_t)id + 1, pr->stacks_alloc);
		memset(pr->stacks + old, 0, (pr->stacks_alloc - old) * sizeof(*pr->stacks));
		pr->nstacks = (size_t)id + 1;
	}
	return &pr->stacks[id];
}

static inline struct ha_stack *get_stack(struct heap_proc *pr, uint32_t id)
{
	return UNLIKELY(id >= pr->nstacks) ? get_stack_slow(pr, id) : &pr->stacks[id];
}

/* s's values changed: heap_agg_emit looks at it next time. */
static inline void mark(struct heap_proc *pr, struct ha_stack *s)
{
	pr->dirty = 1;
	if (!s->queued) {
		s->queued = 1;
		ALLOC_GROW(pr->changed, pr->nchanged + 1, pr->changed_alloc);
		pr->changed[pr->nchanged++] = (uint32_t)(s - pr->stacks);
	}
}

void heap_agg_define_stack(struct heap_proc *pr, uint32_t id, kp_stack_t ks)
{
	/* pr, then the children forked while it was being symbolized, and theirs: a work
	 * list rather than recursion, as a chain of forks can be long */
	struct heap_proc *local[16], **work = local;
	size_t n = 0, alloc = sizeof(local) / sizeof(local[0]);
	work[n++] = pr;
	while (n) {
		struct heap_proc *q = work[--n];
		struct ha_stack *s = get_stack(q, id);
		s->ks = ks;
		s->defined = 1;
		s->ready = 1;
		mark(q, s);
		for (size_t i = 0; i < q->agg->nprocs; i++) {
			struct heap_proc *c = q->agg->procs[i];
			if (c->parent != q || id >= c->inherited || id >= c->nstacks || c->stacks[id].ready)
				continue;
			if (n == alloc) {
				struct heap_proc **bigger = xcalloc(alloc * 2, sizeof(*bigger));
				memcpy(bigger, work, n * sizeof(*work));
				if (work != local)
					free(work);
				work = bigger;
				alloc *= 2;
			}
			work[n++] = c;
		}
	}
	if (work != local)
		free(work);
}

void heap_agg_pend_stack(struct heap_proc *pr, uint32_t id)
{
	struct ha_stack *s = get_stack(pr, id);
	s->defined = 1;
	mark(pr, s);
}

kp_stack_t heap_agg_stack(const struct heap_proc *pr, uint32_t id)
{
	return id < pr->nstacks && pr->stacks[id].ready ? pr->stacks[id].ks : 0;
}

int heap_agg_has_stack(const struct heap_proc *pr, uint32_t id)
{
	return id < pr->nstacks && pr->stacks[id].defined;
}

static inline void touch(struct heap_proc *pr, struct ha_stack *s)
{
	if (s->peak_ver != pr->agg->peak_ver) {
		s->peak_val = s->live_bytes;
		s->peak_ver = pr->agg->peak_ver;
	}
}

/* The session's heap reached live + extra (extra: a temporary block living now): a new
 * peak moment when that is larger than any before. s is the stack whose change made
 * it; its peak value is its live bytes plus extra. */
static inline void session_peak(struct heap_proc *pr, struct ha_stack *s, double extra, uint64_t t_ns)
{
	struct heap_agg *a = pr->agg;
	if (t_ns > a->now_ns)
		a->now_ns = t_ns;
	if (a->live_total + extra > a->peak_total) {
		a->peak_total = a->live_total + extra;
		a->peak_time_ns = a->now_ns; /* processes are taken one after the other */
		a->peak_ver++;
		s->peak_val = s->live_bytes + extra;
		s->peak_ver = a->peak_ver;
	}
}

static int hist_bucket(uint64_t size)
{
	return size ? 64 - __builtin_clzll(size) : 0;
}

/* Accounts an allocation that is now live. */
static inline void account_alloc(struct heap_proc *pr, uint64_t size, uint32_t stack, uint64_t t_ns)
{
	struct heap_agg *a = pr->agg;
	double w = weight(a, size), b = w * (double)size;
	struct ha_stack *s = get_stack(pr, stack);
	touch(pr, s);
	s->alloc_count += w;
	s->alloc_bytes += b;
	s->live_count += w;
	s->live_bytes += b;
	pr->live_blocks += w;
	pr->live_total += b;
	a->live_total += b;
	pr->st.allocs += w;
	pr->st.bytes += b;
	a->hist[hist_bucket(size)] += w;
	if (pr->live_total > pr->peak_total) {
		pr->peak_total = pr->live_total;
		pr->st.peak_time_ns = t_ns;
	}
	session_peak(pr, s, 0, t_ns);
	mark(pr, s);
}

static inline void account_free(struct heap_proc *pr, uint64_t size, uint32_t stack, int temp)
{
	double w = weight(pr->agg, size), b = w * (double)size;
	struct ha_stack *s = get_stack(pr, stack);
	touch(pr, s);
	s->live_count -= w;
	s->live_bytes -= b;
	pr->live_blocks -= w;
	if (temp) {
		s->temp_count += w;
		pr->st.temps += w;
	}
	pr->live_total -= b;
	pr->agg->live_total -= b;
	pr->st.frees += w;
	mark(pr, s);
}

static void insert_live(struct heap_proc *pr, uint32_t ring, uint64_t addr, uint64_t size, uint32_t stack)
{
	struct ha_ent *e = map_insert(&pr->live, addr);
	e->size = size;
	e->stack = stack;
	e->ring = ring;
}

void heap_agg_alloc(struct heap_proc *pr, uint32_t ring, uint64_t addr, uint64_t size, uint32_t stack,
		    uint64_t t_ns)
{
	struct ha_ent *e;
	pr->st.events++;
	pr->last_t = t_ns;
	if (pr->agg->sample_bytes && !size)
		return;
	if (UNLIKELY(pr->pend_free.n) && (e = map_find(&pr->pend_free, addr)) && e->ring != ring) {
		/* freed in another ring, processed earlier: this allocation came first */
		map_remove(&pr->pend_free, e);
		account_alloc(pr, size, stack, t_ns);
		account_free(pr, size, stack, 0);
		return;
	}
	e = map_probe(&pr->live, addr);
	if (e->addr) {
		/* still live: its free may come later in this epoch from another ring, so
		 * the allocation waits for it (or for the end of the epoch) */
		struct ha_ent *d = map_find(&pr->pend_alloc, addr);
		if (d) {
			/* a second one: the first replaces the live block, unfreed */
			pr->st.missed_frees++;
			account_free(pr, e->size, e->stack, 0);
			e->size = d->size;
			e->stack = d->stack;
			e->ring = d->ring;
			account_alloc(pr, d->size, d->stack, t_ns);
		} else {
			d = map_insert(&pr->pend_alloc, addr);
		}
		d->size = size;
		d->stack = stack;
		d->ring = ring;
		return;
	}
	account_alloc(pr, size, stack, t_ns);
	e->addr = addr; /* the empty slot map_probe found */
	e->size = size;
	e->stack = stack;
	e->ring = ring;
	pr->live.n++;
}

/* c temporary pairs of one stack, b bytes in all, the largest top bytes: counted
 * without touching the live blocks. The live heap is the same for all of them, so the
 * heap peaked during them if it did while the largest lived. */
static inline void account_temps(struct heap_proc *pr, uint32_t stack, double c, double b, double top,
				 uint64_t t_ns)
{
	struct ha_stack *s = get_stack(pr, stack);
	pr->last_t = t_ns;
	s->alloc_count += c;
	s->alloc_bytes += b;
	s->temp_count += c;
	pr->st.allocs += c;
	pr->st.bytes += b;
	pr->st.frees += c;
	pr->st.temps += c;
	if (UNLIKELY(pr->live_total + top > pr->peak_total)) {
		pr->peak_total = pr->live_total + top;
		pr->st.peak_time_ns = t_ns;
	}
	if (UNLIKELY(pr->agg->live_total + top > pr->agg->peak_total)) {
		touch(pr, s);
		session_peak(pr, s, top, t_ns);
	}
	mark(pr, s);
}

void heap_agg_temp_pair(struct heap_proc *pr, uint64_t size, uint32_t stack, uint64_t t_ns)
{
	struct heap_agg *a = pr->agg;
	double w = weight(a, size), b = w * (double)size;
	pr->st.events += 2;
	a->hist[hist_bucket(size)] += w;
	account_temps(pr, stack, w, b, b, t_ns);
}

void heap_agg_temp_run(struct heap_proc *pr, uint64_t count, uint64_t bytes, uint64_t max, uint32_t stack,
		       uint64_t t_ns)
{
	pr->st.events += 2 * count;
	account_temps(pr, stack, (double)count, (double)bytes, (double)max, t_ns);
}

void heap_agg_hist_add(struct heap_agg *a, unsigned bucket, uint64_t count)
{
	if (bucket < sizeof(a->hist) / sizeof(a->hist[0]))
		a->hist[bucket] += (double)count;
}

void heap_agg_prefetch(const struct heap_proc *pr, uint64_t addr)
{
	if (pr->live.cap)
		__builtin_prefetch(&pr->live.e[map_slot(&pr->live, addr)], 1);
}

void heap_agg_free_ev(struct heap_proc *pr, uint32_t ring, uint64_t addr, int temp, uint64_t t_ns)
{
	struct ha_ent *e = map_find(&pr->live, addr);
	pr->st.events++;
	pr->last_t = t_ns;
	if (!e) {
		/* unknown now: maybe allocated in a ring not yet processed for this epoch */
		struct ha_ent *f = map_find(&pr->pend_free, addr);
		if (!f) {
			f = map_insert(&pr->pend_free, addr);
			f->ring = ring;
			f->size = 0;
			f->stack = 0;
		} else {
			pr->st.unknown_frees++;
		}
		return;
	}
	/* a temporary only when freed by the thread that allocated it */
	account_free(pr, e->size, e->stack, temp && e->ring == ring);
	map_remove(&pr->live, e);
	if (UNLIKELY(pr->pend_alloc.n) && (e = map_find(&pr->pend_alloc, addr))) {
		uint64_t size = e->size;
		uint32_t stack = e->stack, r = e->ring;
		map_remove(&pr->pend_alloc, e);
		account_alloc(pr, size, stack, t_ns);
		insert_live(pr, r, addr, size, stack);
	}
}

void heap_agg_end_epoch(struct heap_proc *pr)
{
	if (pr->pend_free.n) {
		pr->st.unknown_frees += pr->pend_free.n;
		map_clear(&pr->pend_free);
	}
	if (pr->pend_alloc.n) {
		for (size_t i = 0; i < pr->pend_alloc.cap; i++) {
			struct ha_ent d = pr->pend_alloc.e[i];
			struct ha_ent *e;
			if (!d.addr)
				continue;
			e = map_find(&pr->live, d.addr);
			if (e) {
				pr->st.missed_frees++;
				account_free(pr, e->size, e->stack, 0);
				map_remove(&pr->live, e);
			}
			account_alloc(pr, d.size, d.stack, pr->last_t);
			insert_live(pr, d.ring, d.addr, d.size, d.stack);
		}
		map_clear(&pr->pend_alloc);
	}
}

void heap_agg_proc_end(struct heap_proc *pr, uint64_t t_ns)
{
	heap_agg_end_epoch(pr);
	pr->st.end_ns = t_ns;
	pr->ended = 1;
	/* its memory goes back to the system: no part of a later session peak */
	pr->agg->live_total -= pr->live_total;
	pr->end_ver = pr->agg->peak_ver;
	map_release(&pr->live);
	map_release(&pr->pend_free);
	map_release(&pr->pend_alloc);
}

static void stack_values(const struct heap_proc *pr, const struct ha_stack *s, double *v)
{
	v[HEAP_V_ALLOC_COUNT] = s->alloc_count;
	v[HEAP_V_ALLOC_BYTES] = s->alloc_bytes;
	/* at the session's peak: saved when the stack changed after it, nothing when the
	 * process had ended before it, else what is live now */
	uint64_t ver = pr->agg->peak_ver;
	v[HEAP_V_PEAK_BYTES] = s->peak_ver == ver ? s->peak_val : pr->ended && ver > pr->end_ver ? 0 : s->live_bytes;
	v[HEAP_V_LEAKED_COUNT] = s->live_count;
	v[HEAP_V_LEAKED_BYTES] = s->live_bytes;
	v[HEAP_V_TEMP_COUNT] = s->temp_count;
}

/* Values of stacks still being symbolized go to one stand-in stack, so that a profile
 * cut short early (kiln killed in the first second, while the first stacks are being
 * named) still holds them; once a stack is named they move to it (a sample taking
 * them off the stand-in, one putting them on the stack), so that sums over a finished
 * profile leave the stand-in at zero. */
static kp_stack_t unnamed_stack(struct heap_agg *a)
{
	static const char name[] = "[call stack not yet named]";
	if (!a->unnamed)
		a->unnamed = kp_stack_push(a->p, 0, kp_frame_named(a->p, name, sizeof(name) - 1, 0));
	return a->unnamed;
}

/* Emits the change of s's values since it was last emitted (n counts the samples
 * added); returns 1 when its values may change again without an event of its own:
 * unnamed (to be moved once named), or its peak value saved and unlike its live
 * bytes (a new session peak makes it its live bytes). */
static int emit_stack(struct heap_agg *a, struct heap_proc *pr, struct ha_stack *s, uint64_t t_ns, size_t *n)
{
	double v[HEAP_NV], d[HEAP_NV];
	int changed = 0;
	kp_stack_t to;
	if (!s->defined && !s->ready)
		return 0; /* defining it marks it */
	if (s->ready) {
		to = s->ks;
	} else {
		to = unnamed_stack(a);
		pr->dirty = 1; /* to be moved once named */
	}
	if (s->emitted_ks && s->emitted_ks != to) {
		/* named now: off the stand-in */
		double neg[HEAP_NV];
		int any = 0;
		for (int j = 0; j < HEAP_NV; j++) {
			neg[j] = -s->emitted[j];
			any |= neg[j] != 0;
		}
		if (any) {
			kp_add_sample(a->p, s->emitted_ks, pr->thread, t_ns, neg);
			(*n)++;
		}
		memset(s->emitted, 0, sizeof(s->emitted));
	}
	s->emitted_ks = to;
	stack_values(pr, s, v);
	for (int j = 0; j < HEAP_NV; j++) {
		d[j] = v[j] - s->emitted[j];
		if (d[j] != 0)
			changed = 1;
	}
	if (changed) {
		memcpy(s->emitted, v, sizeof(v));
		kp_add_sample(a->p, to, pr->thread, t_ns, d);
		(*n)++;
	}
	return !s->ready || s->emitted[HEAP_V_PEAK_BYTES] != s->live_bytes;
}

size_t heap_agg_emit(struct heap_agg *a, uint64_t t_ns)
{
	size_t n = 0;
	/* a new session peak changes the peak values of processes without events */
	int all = a->peak_ver != a->emitted_ver;
	a->emitted_ver = a->peak_ver;
	for (size_t i = 0; i < a->nprocs; i++) {
		struct heap_proc *pr = a->procs[i];
		size_t kept = 0;
		if (!pr->dirty && !all)
			continue;
		pr->dirty = 0;
		if (all && pr->ended) {
			/* every stack: those of an ended process fall to 0 at a new peak */
			pr->nchanged = 0;
			for (size_t k = 0; k < pr->nstacks; k++) {
				struct ha_stack *s = &pr->stacks[k];
				s->queued = (uint32_t)emit_stack(a, pr, s, t_ns, &n);
				if (s->queued) {
					ALLOC_GROW(pr->changed, pr->nchanged + 1, pr->changed_alloc);
					pr->changed[pr->nchanged++] = (uint32_t)k;
				}
			}
			continue;
		}
		/* the others only change with events of their own (see mark): unchanged
		 * since their last emission, their peak value is their live bytes, as
		 * emitted */
		for (size_t k = 0; k < pr->nchanged; k++) {
			struct ha_stack *s = &pr->stacks[pr->changed[k]];
			if (emit_stack(a, pr, s, t_ns, &n))
				pr->changed[kept++] = pr->changed[k];
			else
				s->queued = 0;
		}
		pr->nchanged = kept;
	}
	return n;
}

void heap_agg_proc_stats(const struct heap_proc *pr, struct heap_proc_stats *st)
{
	*st = pr->st;
	if (!pr->agg->sample_bytes) {
		st->live_count = pr->live_blocks; /* whole counts: the same sum */
	} else {
		/* weights: summed per stack, as the profile's values are */
		st->live_count = 0;
		for (size_t k = 0; k < pr->nstacks; k++)
			st->live_count += pr->stacks[k].live_count;
	}
	st->live_bytes = pr->live_total;
	st->peak_bytes = pr->peak_total;
}

void heap_agg_stats(const struct heap_agg *a, struct heap_proc_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < a->nprocs; i++) {
		struct heap_proc_stats s;
		heap_agg_proc_stats(a->procs[i], &s);
		if (i == 0) {
			st->pid = s.pid;
			st->start_ns = s.start_ns;
		}
		st->allocs += s.allocs;
		st->bytes += s.bytes;
		st->frees += s.frees;
		st->temps += s.temps;
		st->live_count += s.live_count;
		st->live_bytes += s.live_bytes;
		st->unknown_frees += s.unknown_frees;
		st->missed_frees += s.missed_frees;
		st->events += s.events;
		if (s.peak_bytes > st->proc_peak_bytes) {
			st->proc_peak_bytes = s.peak_bytes;
			st->proc_peak_time_ns = s.peak_time_ns;
			st->pid = s.pid;
		}
		if (s.end_ns > st->end_ns)
			st->end_ns = s.end_ns;
	}
	st->peak_bytes = a->peak_total;
	st->peak_time_ns = a->peak_time_ns;
	if (a->nprocs == 1) {
		st->proc_peak_bytes = st->peak_bytes;
		st->proc_peak_time_ns = st->peak_time_ns;
	}
}

void heap_agg_leaked(const struct heap_agg *a, double *count, double *bytes, size_t n)
{
	for (size_t i = 0; i < a->nprocs; i++) {
		const struct heap_proc *pr = a->procs[i];
		for (size_t j = 0; j < pr->nstacks; j++) {
			const struct ha_stack *s = &pr->stacks[j];
			if (s->ready && s->ks < n && (s->live_count != 0 || s->live_bytes != 0)) {
				count[s->ks] += s->live_count;
				bytes[s->ks] += s->live_bytes;
			}
		}
	}
}

size_t heap_agg_nprocs(const struct heap_agg *a)
{
	return a->nprocs;
}

void heap_agg_proc_stats_at(const struct heap_agg *a, size_t i, struct heap_proc_stats *st)
{
	heap_agg_proc_stats(a->procs[i], st);
}

const double *heap_agg_histogram(const struct heap_agg *a)
{
	return a->hist;
}

size_t heap_agg_memory(const struct heap_agg *a)
{
	size_t m = sizeof(*a) + a->procs_alloc * sizeof(*a->procs);
	for (size_t i = 0; i < a->nprocs; i++) {
		const struct heap_proc *pr = a->procs[i];
		m += sizeof(*pr) + pr->stacks_alloc * sizeof(*pr->stacks) + pr->changed_alloc * sizeof(*pr->changed) +
		     (pr->live.cap + pr->pend_free.cap + pr->pend_alloc.cap) * sizeof(struct ha_ent);
	}
	return m;
}
