/* functions.c: self and total per function. */
#include "profile/functions.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

void kp_func_table_build(const struct kp_profile *p, uint32_t v, const uint8_t *keep,
			 struct kp_func_table *t)
{
	memset(t, 0, sizeof(*t));
	t->frame_func = xcalloc(p->nframes ? p->nframes : 1, sizeof(uint32_t));
	/* group frames by (name, module): hash on the pair */
	uint32_t cap = 1024;
	while (cap < p->nframes * 2)
		cap *= 2;
	uint32_t *slots = xcalloc(cap, sizeof(uint32_t)); /* func index + 1 */
	uint32_t alloc = 0;
	for (uint32_t f = 1; f < p->nframes; f++) {
		const struct kp_frame *fr = &p->frames[f];
		uint64_t key = ((uint64_t)fr->name << 32) | fr->module;
		uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & (cap - 1);
		while (slots[i]) {
			const struct kp_func *fn = &t->funcs[slots[i] - 1];
			if (fn->name == fr->name && fn->module == fr->module)
				break;
			i = (i + 1) & (cap - 1);
		}
		if (!slots[i]) {
			ALLOC_GROW(t->funcs, t->nfuncs + 1, alloc);
			memset(&t->funcs[t->nfuncs], 0, sizeof(t->funcs[0]));
			t->funcs[t->nfuncs].name = fr->name;
			t->funcs[t->nfuncs].module = fr->module;
			t->funcs[t->nfuncs].flags = fr->flags;
			slots[i] = ++t->nfuncs;
		}
		t->frame_func[f] = slots[i] - 1;
	}
	free(slots);

	/* self per stack node, then walk each node with a value up to the root once,
	 * stamping functions so recursion counts once per stack */
	double *self;
	kp_stack_sums(p, v, keep, &self, NULL);
	uint32_t *stamp = xcalloc(t->nfuncs ? t->nfuncs : 1, sizeof(uint32_t));
	for (kp_stack_t s = 1; s < p->nstacks; s++) {
		double val = self[s];
		if (val == 0)
			continue;
		t->grand_total += val;
		t->funcs[t->frame_func[p->stacks[s].frame]].self += val;
		for (kp_stack_t a = s; a; a = p->stacks[a].parent) {
			uint32_t fn = t->frame_func[p->stacks[a].frame];
			if (stamp[fn] == s)
				continue;
			stamp[fn] = s;
			t->funcs[fn].total += val;
		}
	}
	t->grand_total += self[0]; /* samples with an empty stack */
	free(stamp);
	free(self);
}

static const struct kp_profile *sort_profile;
static int sort_by_total;

static int cmp_func(const void *a, const void *b)
{
	const struct kp_func *x = a, *y = b;
	double kx = sort_by_total ? x->total : x->self, ky = sort_by_total ? y->total : y->self;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	double sx = sort_by_total ? x->self : x->total, sy = sort_by_total ? y->self : y->total;
	if (sx != sy)
		return sx < sy ? 1 : -1;
	return strcmp(kp_str_get(sort_profile, x->name), kp_str_get(sort_profile, y->name));
}

struct func_pair {
	struct kp_func f; /* first member: cmp_func reads it through the pair pointer */
	uint32_t index;
};

void kp_func_table_sort(const struct kp_profile *p, struct kp_func_table *t, int by_total)
{
	size_t n = t->nfuncs ? t->nfuncs : 1;
	struct func_pair *pairs = xmalloc(n * sizeof(*pairs));
	uint32_t *where = xmalloc(n * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->nfuncs; i++) {
		pairs[i].f = t->funcs[i];
		pairs[i].index = i;
	}
	sort_profile = p;
	sort_by_total = by_total;
	qsort(pairs, t->nfuncs, sizeof(*pairs), cmp_func);
	for (uint32_t i = 0; i < t->nfuncs; i++) {
		t->funcs[i] = pairs[i].f;
		where[pairs[i].index] = i;
	}
	for (uint32_t f = 1; f < p->nframes; f++)
		t->frame_func[f] = where[t->frame_func[f]];
	free(pairs);
	free(where);
}

void kp_func_table_release(struct kp_func_table *t)
{
	free(t->funcs);
	free(t->frame_func);
	memset(t, 0, sizeof(*t));
}
