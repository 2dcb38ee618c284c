/* report.c: the function table, call tree and thread summary of a profile, as text and
 * JSON (see report.h). */
#include "report/report.h"
#include "report/verdict.h"
#include "report/findings.h"
#include "profile/folded.h"
#include "profile/functions.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- filters ---- */

uint8_t *kr_filter(const struct kp_profile *p, const int *pids, size_t npids, const int *tids,
		   size_t ntids, char *const *comms, size_t ncomms, size_t *kept)
{
	uint8_t *tmatch, *keep;
	size_t k = 0;
	if (!npids && !ntids && !ncomms) {
		*kept = p->nsamples;
		return NULL;
	}
	tmatch = xcalloc(p->nthreads ? p->nthreads : 1, 1);
	for (uint32_t t = 0; t < p->nthreads; t++) {
		const struct kp_thread *th = &p->threads[t];
		int ok = 1;
		if (npids) {
			int m = 0;
			for (size_t i = 0; i < npids && !m; i++)
				m = t && th->pid == pids[i];
			ok &= m;
		}
		if (ntids) {
			int m = 0;
			for (size_t i = 0; i < ntids && !m; i++)
				m = t && th->tid == tids[i];
			ok &= m;
		}
		if (ncomms) {
			int m = 0;
			for (size_t i = 0; i < ncomms && !m; i++)
				m = t && !strcmp(kp_str_get(p, th->comm), comms[i]);
			ok &= m;
		}
		tmatch[t] = (uint8_t)ok;
	}
	keep = xmalloc(p->nsamples ? p->nsamples : 1);
	for (size_t i = 0; i < p->nsamples; i++) {
		keep[i] = tmatch[p->sample_thread[i]];
		k += keep[i];
	}
	free(tmatch);
	*kept = k;
	return keep;
}

static double count_of(const struct kp_profile *p, const struct kr_opts *o)
{
	double n = 0;
	if (o->count_value < 0)
		return 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (!o->keep || o->keep[i])
			n += kp_sample_value(p, i, (uint32_t)o->count_value);
	return n;
}

/* ---- table ---- */

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct kr_row *x = a, *y = b;
	const struct kp_profile *p = ((const void **)arg)[0];
	int by_total = *(const int *)((const void **)arg)[1];
	double kx = by_total ? x->total : x->self, ky = by_total ? y->total : y->self;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	kx = by_total ? x->self : x->total;
	ky = by_total ? y->self : y->total;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	int c = strcmp(kp_str_get(p, x->name), kp_str_get(p, y->name));
	if (c)
		return c;
	return strcmp(kp_str_get(p, x->module), kp_str_get(p, y->module));
}

void kr_table_build(const struct kp_profile *p, const struct kr_opts *o, struct kr_table *t)
{
	struct kp_func_table a, b;
	int have_count = o->count_value >= 0;
	int own_b = have_count && (uint32_t)o->count_value != o->value;
	memset(t, 0, sizeof(*t));
	kp_func_table_build(p, o->value, o->keep, &a);
	if (own_b)
		kp_func_table_build(p, (uint32_t)o->count_value, o->keep, &b);
	else
		b = a;
	t->grand_total = a.grand_total;
	t->grand_n = have_count ? b.grand_total : 0;
	t->rows = xmalloc((a.nfuncs ? a.nfuncs : 1) * sizeof(*t->rows));
	for (uint32_t i = 0; i < a.nfuncs; i++) {
		const struct kp_func *f = &a.funcs[i];
		if (f->self == 0 && f->total == 0 && b.funcs[i].total == 0)
			continue;
		struct kr_row *r = &t->rows[t->nrows++];
		r->name = f->name;
		r->module = f->module;
		r->flags = f->flags;
		r->self = f->self;
		r->total = f->total;
		r->self_n = have_count ? b.funcs[i].self : 0;
		r->total_n = have_count ? b.funcs[i].total : 0;
	}
	const void *arg[2] = { p, &o->sort_total };
	qsort_r(t->rows, t->nrows, sizeof(*t->rows), cmp_rows, (void *)arg);
	/* the limit hides functions whose total (the larger share) is below it, so callers
	 * stay in a table sorted by self; rows keep their order */
	uint32_t keep = 0;
	for (uint32_t i = 0; i < t->nrows; i++) {
		if (o->percent_limit > 0 && t->grand_total > 0 &&
		    t->rows[i].total * 100.0 / t->grand_total < o->percent_limit)
			continue;
		if (o->top && keep >= o->top)
			continue;
		t->rows[keep++] = t->rows[i];
	}
	t->hidden = t->nrows - keep;
	t->nrows = keep;
	if (own_b) /* (comparing the funcs pointers missed two empty tables) */
		kp_func_table_release(&b);
	kp_func_table_release(&a);
}

void kr_table_release(struct kr_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* ---- tree ---- */

/* open addressing: 64-bit keys -> node index + 1 */
struct u64map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

static void map_init(struct u64map *m, size_t hint)
{
	m->cap = 1024;
	while (m->cap < hint * 2)
		m->cap *= 2;
	m->keys = xmalloc(m->cap * sizeof(uint64_t));
	m->vals = xcalloc(m->cap, sizeof(uint32_t));
	m->n = 0;
}

/* The slot of key in a table with room for it: its value, or 0 where it would go. */
static size_t map_find(const struct u64map *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void map_grow(struct u64map *m)
{
	struct u64map big;
	big.cap = m->cap * 2;
	big.keys = xmalloc(big.cap * sizeof(uint64_t));
	big.vals = xcalloc(big.cap, sizeof(uint32_t));
	big.n = m->n;
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i]) {
			size_t j = map_find(&big, m->keys[i]);
			big.keys[j] = m->keys[i];
			big.vals[j] = m->vals[i];
		}
	free(m->keys);
	free(m->vals);
	*m = big;
}

/* The value slot for key (0 when new; the caller sets it). */
static uint32_t *map_slot(struct u64map *m, uint64_t key)
{
	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	size_t i = map_find(m, key);
	if (!m->vals[i]) {
		m->keys[i] = key;
		m->n++;
	}
	return &m->vals[i];
}

static uint32_t map_get(const struct u64map *m, uint64_t key)
{
	return m->vals[map_find(m, key)];
}

static void map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

struct tree_build {
	const struct kp_profile *p;
	struct kr_tree *t;
	uint32_t nodes_alloc;
	struct u64map child;  /* (parent node, function or comm) -> node */
	struct u64map memo;   /* (comm, stack) -> node */
	struct kp_func_table funcs;
	uint32_t *path;
	uint32_t path_alloc;
};

static uint32_t tree_child(struct tree_build *b, uint32_t parent, uint32_t key, kp_str_t name,
			   kp_str_t module, uint32_t flags)
{
	uint32_t *slot = map_slot(&b->child, ((uint64_t)parent << 32) | key);
	if (*slot)
		return *slot - 1;
	struct kr_tree *t = b->t;
	ALLOC_GROW(t->nodes, t->nnodes + 1, b->nodes_alloc);
	struct kr_node *n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->name = name;
	n->module = module;
	n->flags = flags;
	*slot = ++t->nnodes;
	return t->nnodes - 1;
}

/* The node for stack s of a process named comm (created with its ancestors). */
static uint32_t tree_node(struct tree_build *b, kp_str_t comm, kp_stack_t s)
{
	const struct kp_profile *p = b->p;
	uint32_t depth = 0, node;
	kp_stack_t a = s;
	/* climb to the deepest ancestor already known */
	for (;;) {
		if (a == 0) {
			node = tree_child(b, 0, 0x80000000u | comm, comm, 0, KP_FRAME_ROOT);
			break;
		}
		uint32_t known = map_get(&b->memo, ((uint64_t)comm << 32) | a);
		if (known) {
			node = known - 1;
			break;
		}
		ALLOC_GROW(b->path, depth + 1, b->path_alloc);
		b->path[depth++] = a;
		a = p->stacks[a].parent;
	}
	while (depth) {
		kp_stack_t cur = b->path[--depth];
		uint32_t fn = b->funcs.frame_func[p->stacks[cur].frame];
		const struct kp_func *f = &b->funcs.funcs[fn];
		node = tree_child(b, node, fn, f->name, f->module, f->flags & ~KP_FRAME_ROOT);
		*map_slot(&b->memo, ((uint64_t)comm << 32) | cur) = node + 1;
	}
	return node;
}

static int cmp_children(const void *a, const void *b, void *arg)
{
	const struct kr_tree *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (t->nodes[x].parent != t->nodes[y].parent)
		return t->nodes[x].parent < t->nodes[y].parent ? -1 : 1;
	if (t->nodes[x].total != t->nodes[y].total)
		return t->nodes[x].total < t->nodes[y].total ? 1 : -1;
	return x < y ? -1 : x > y;
}

void kr_tree_build(const struct kp_profile *p, const struct kr_opts *o, struct kr_tree *t)
{
	struct tree_build b;
	memset(t, 0, sizeof(*t));
	memset(&b, 0, sizeof(b));
	b.p = p;
	b.t = t;
	ALLOC_GROW(t->nodes, 1, b.nodes_alloc);
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nnodes = 1;
	map_init(&b.child, p->nstacks);
	map_init(&b.memo, p->nstacks);
	kp_func_table_build(p, o->value, NULL, &b.funcs);
	/* sum per (comm, stack) first: few distinct pairs, many samples */
	struct u64map pairs;
	double *pv = NULL, *pn = NULL;
	size_t pv_alloc = 0, pn_alloc = 0;
	map_init(&pairs, 1024);
	for (size_t i = 0; i < p->nsamples; i++) {
		if (o->keep && !o->keep[i])
			continue;
		kp_str_t comm = p->threads[p->sample_thread[i]].comm;
		uint32_t *slot = map_slot(&pairs, ((uint64_t)comm << 32) | p->sample_stack[i]);
		if (!*slot) {
			*slot = (uint32_t)pairs.n;
			ALLOC_GROW(pv, pairs.n, pv_alloc);
			ALLOC_GROW(pn, pairs.n, pn_alloc);
			pv[*slot - 1] = 0;
			pn[*slot - 1] = 0;
		}
		pv[*slot - 1] += kp_sample_value(p, i, o->value);
		if (o->count_value >= 0)
			pn[*slot - 1] += kp_sample_value(p, i, (uint32_t)o->count_value);
	}
	/* nodes per pair; pairs are visited in hash order, so sort them for a stable tree */
	for (size_t i = 0; i < pairs.cap; i++) {
		if (!pairs.vals[i])
			continue;
		uint32_t k = pairs.vals[i] - 1;
		kp_str_t comm = (kp_str_t)(pairs.keys[i] >> 32);
		kp_stack_t s = (kp_stack_t)(pairs.keys[i] & 0xffffffffu);
		uint32_t node = tree_node(&b, comm, s);
		t->nodes[node].self += pv[k];
		t->nodes[node].total += pv[k];
		t->nodes[node].total_n += pn[k];
		t->grand_total += pv[k];
	}
	map_free(&pairs);
	free(pv);
	free(pn);
	/* totals: children were created after their parents */
	for (uint32_t n = t->nnodes - 1; n > 0; n--) {
		t->nodes[t->nodes[n].parent].total += t->nodes[n].total;
		t->nodes[t->nodes[n].parent].total_n += t->nodes[n].total_n;
	}
	t->nodes[0].total = t->grand_total;
	/* child lists by decreasing total */
	if (t->nnodes > 1) {
		uint32_t *order = xmalloc((t->nnodes - 1) * sizeof(uint32_t));
		for (uint32_t n = 1; n < t->nnodes; n++)
			order[n - 1] = n;
		qsort_r(order, t->nnodes - 1, sizeof(uint32_t), cmp_children, t);
		for (uint32_t i = t->nnodes - 1; i > 0; i--) {
			uint32_t n = order[i - 1];
			struct kr_node *par = &t->nodes[t->nodes[n].parent];
			t->nodes[n].next_sibling = par->first_child;
			par->first_child = n;
		}
		free(order);
	}
	map_free(&b.child);
	map_free(&b.memo);
	kp_func_table_release(&b.funcs);
	free(b.path);
}

void kr_tree_release(struct kr_tree *t)
{
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

/* ---- threads ---- */

static int cmp_threads(const void *a, const void *b)
{
	const struct kr_thread_row *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

uint32_t kr_threads(const struct kp_profile *p, const struct kr_opts *o, struct kr_thread_row **rows)
{
	struct kr_thread_row *r = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(*r));
	uint32_t n = 0;
	for (uint32_t t = 0; t < p->nthreads; t++)
		r[t].thread = t;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (o->keep && !o->keep[i])
			continue;
		struct kr_thread_row *x = &r[p->sample_thread[i]];
		x->value += kp_sample_value(p, i, o->value);
		if (o->count_value >= 0)
			x->n += kp_sample_value(p, i, (uint32_t)o->count_value);
	}
	for (uint32_t t = 0; t < p->nthreads; t++)
		if (r[t].value != 0 || r[t].n != 0)
			r[n++] = r[t];
	qsort(r, n, sizeof(*r), cmp_threads);
	*rows = r;
	return n;
}

/* ---- text output ---- */

static const char *basename_of(const char *path)
{
	const char *s;
	if (path[0] == '[')
		return path; /* [kernel.kallsyms], [vdso], ... */
	s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static double pct(double v, double total)
{
	return total > 0 ? v * 100.0 / total : 0;
}

static void print_header(const struct kp_profile *p, const struct kr_opts *o, double grand_n,
			 double grand_total, FILE *out)
{
	const char *event = kp_meta_get(p, "event");
	const char *freq = kp_meta_get(p, "frequency");
	const char *dur = kp_meta_get(p, "duration_ns");
	const char *cmd = kp_meta_get(p, "command");
	const char *pids = kp_meta_get(p, "pids");
	const char *lost = kp_meta_get(p, "lost_samples");
	const struct kp_value_type *vt = &p->value_types[o->value];
	char num[40];
	fprintf(out, "%s:", o->source ? o->source : "profile");
	if (o->count_value >= 0) {
		kp_format_count(grand_n, num, sizeof(num));
		fprintf(out, " %s samples", num);
	} else {
		/* the unit when it is one (nanoseconds, bytes), else what is counted */
		const char *unit = kp_str_get(p, vt->unit), *name = kp_str_get(p, vt->name);
		kp_format_count(grand_total, num, sizeof(num));
		if (*unit && strcmp(unit, "count"))
			fprintf(out, " %s %s", num, unit);
		else
			fprintf(out, " %s %s", num, !strcmp(name, "count") ? "counts" : name);
	}
	if (event)
		fprintf(out, " of %s", event);
	if (freq)
		fprintf(out, " at %s Hz", freq);
	if (dur)
		fprintf(out, " over %.2f s", strtod(dur, NULL) / 1e9);
	if (o->keep)
		fprintf(out, " (filtered)");
	fputc('\n', out);
	if (cmd)
		fprintf(out, "command: %s\n", cmd);
	else if (pids)
		fprintf(out, "attached to: %s\n", pids);
	if (lost && strcmp(lost, "0"))
		fprintf(out, "warning: %s samples were lost while recording (the shares may be off)\n", lost);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Number of distinct pids (by_pid) or tids among the rows' threads. */
static uint32_t count_distinct_ids(const struct kp_profile *p, const struct kr_thread_row *rows, uint32_t n,
				   int by_pid)
{
	int32_t *ids = xmalloc((n ? n : 1) * sizeof(*ids));
	uint32_t distinct = 0;
	for (uint32_t i = 0; i < n; i++)
		ids[i] = by_pid ? p->threads[rows[i].thread].pid : p->threads[rows[i].thread].tid;
	qsort(ids, n, sizeof(*ids), cmp_i32);
	for (uint32_t i = 0; i < n; i++)
		distinct += i == 0 || ids[i] != ids[i - 1];
	free(ids);
	return distinct;
}

static void print_threads(const struct kp_profile *p, const struct kr_opts *o, FILE *out)
{
	struct kr_thread_row *rows;
	uint32_t n = kr_threads(p, o, &rows);
	double total = 0;
	uint32_t procs = 0;
	char num[40];
	for (uint32_t i = 0; i < n; i++)
		total += rows[i].value;
	/* distinct threads and processes among them: a row is a thread under one name, and
	 * a thread that called exec has a row per program */
	uint32_t tids = count_distinct_ids(p, rows, n, 0);
	procs = count_distinct_ids(p, rows, n, 1);
	if (n > 1) {
		fprintf(out, "\n%u thread%s in %u process%s", tids, tids == 1 ? "" : "s", procs,
			procs == 1 ? "" : "es");
		if (n != tids)
			fprintf(out, " (%u rows: a program run by exec gets its own)", n);
		fputs(":\n", out);
		fprintf(out, "%8s %9s %8s %8s  %s\n", "Share", o->count_value >= 0 ? "Samples" : "Value", "PID", "TID",
			"Name");
		for (uint32_t i = 0; i < n && i < 20; i++) {
			const struct kp_thread *th = &p->threads[rows[i].thread];
			kp_format_count(o->count_value >= 0 ? rows[i].n : rows[i].value, num, sizeof(num));
			fprintf(out, "%7.2f%% %9s %8d %8d  %s\n", pct(rows[i].value, total), num, th->pid, th->tid,
				kp_str_get(p, th->comm));
		}
		if (n > 20)
			fprintf(out, "(%u more threads)\n", n - 20);
	}
	free(rows);
}

int kr_print_table(const struct kp_profile *p, const struct kr_opts *o, FILE *out)
{
	struct kr_table t;
	char a[40];
	int modw = 6;
	kr_table_build(p, o, &t);
	kr_print_verdict(p, o, out); /* issue 6: "CPU-bound or waiting, and where" */
	print_header(p, o, t.grand_n, t.grand_total, out);
	kr_print_split(p, o, out);
	kr_print_findings(p, o, out); /* issue 12: what to do next */
	if (!kr_is_offcpu(p))
		print_threads(p, o, out);
	if (t.grand_total == 0) {
		fprintf(out, "\nno samples%s\n", o->keep ? " match the filter" : "");
		kr_table_release(&t);
		return ferror(out) ? -1 : 0;
	}
	for (uint32_t i = 0; i < t.nrows; i++) {
		int w = (int)strlen(basename_of(kp_str_get(p, t.rows[i].module)));
		if (w > modw)
			modw = w > 32 ? 32 : w;
	}
	fprintf(out, "\n%7s %7s %9s  %-*s  %s\n", "Self%", "Total%",
		o->count_value >= 0 ? "Samples" : "Self", modw, "Module", "Function");
	for (uint32_t i = 0; i < t.nrows; i++) {
		const struct kr_row *r = &t.rows[i];
		const char *mod = r->module ? basename_of(kp_str_get(p, r->module)) : "";
		kp_format_count(o->count_value >= 0 ? r->self_n : r->self, a, sizeof(a));
		fprintf(out, "%6.2f%% %6.2f%% %9s  %-*s  %s%s\n", pct(r->self, t.grand_total),
			pct(r->total, t.grand_total), a, modw, mod, kp_str_get(p, r->name),
			(r->flags & KP_FRAME_INLINE) ? " (inlined)" : "");
	}
	if (t.hidden)
		fprintf(out, "(%u more function%s below the limits; --percent-limit 0 shows all)\n", t.hidden,
			t.hidden == 1 ? "" : "s");
	kr_table_release(&t);
	return ferror(out) ? -1 : 0;
}

struct tree_print {
	const struct kp_profile *p;
	const struct kr_opts *o;
	const struct kr_tree *t;
	FILE *out;
	struct strbuf prefix;
	size_t plen[KR_TREE_INDENT_MAX + 1]; /* prefix length before depth d's segment */
	uint32_t hidden;
};

static int visible(const struct tree_print *tp, uint32_t n)
{
	return pct(tp->t->nodes[n].total, tp->t->grand_total) >= tp->o->percent_limit &&
	       tp->t->nodes[n].total != 0;
}

/* The first visible node of the sibling list from n on (0: none); counts the hidden ones. */
static uint32_t next_visible(struct tree_print *tp, uint32_t n)
{
	while (n && !visible(tp, n)) {
		tp->hidden++;
		n = tp->t->nodes[n].next_sibling;
	}
	return n;
}

/* Prints node n's line and, up to KR_TREE_INDENT_MAX, adds its segment to the prefix. */
static void print_line(struct tree_print *tp, uint32_t n, uint32_t depth)
{
	const struct kr_node *nd = &tp->t->nodes[n];
	const struct kp_profile *p = tp->p;
	fprintf(tp->out, "%6.2f%% %6.2f%%  %s", pct(nd->total, tp->t->grand_total),
		pct(nd->self, tp->t->grand_total), tp->prefix.buf);
	if (depth > 0) {
		int last = 1;
		for (uint32_t s = nd->next_sibling; s; s = tp->t->nodes[s].next_sibling)
			if (visible(tp, s)) {
				last = 0;
				break;
			}
		fputs(last ? "└─ " : "├─ ", tp->out);
		if (depth <= KR_TREE_INDENT_MAX) {
			tp->plen[depth] = tp->prefix.len;
			strbuf_addstr(&tp->prefix, last ? "   " : "│  ");
		} else {
			fprintf(tp->out, "[%u] ", depth);
		}
	}
	fputs(kp_str_get(p, nd->name), tp->out);
	if (nd->module) {
		const char *m = basename_of(kp_str_get(p, nd->module));
		fprintf(tp->out, m[0] == '[' ? "  %s" : "  [%s]", m); /* "[python]" is bracketed once */
	}
	if (nd->flags & KP_FRAME_INLINE)
		fputs(" (inlined)", tp->out);
	fputc('\n', tp->out);
}

/* Takes depth's segment off the prefix as the walk leaves a node at that depth. */
static void leave_line(struct tree_print *tp, uint32_t depth)
{
	if (depth > 0 && depth <= KR_TREE_INDENT_MAX)
		strbuf_setlen(&tp->prefix, tp->plen[depth]);
}

/* Prints the visible part of the subtree of top (a process node, depth 0), depth first.
 * A loop over the parent links rather than recursion: a stack can be deeper than the
 * C stack. */
static void print_subtree(struct tree_print *tp, uint32_t top)
{
	const struct kr_node *nodes = tp->t->nodes;
	uint32_t n = top, depth = 0;
	print_line(tp, n, depth);
	for (;;) {
		uint32_t c = next_visible(tp, nodes[n].first_child);
		if (c) {
			n = c;
			print_line(tp, n, ++depth);
			continue;
		}
		for (;;) {
			leave_line(tp, depth);
			if (n == top)
				return;
			uint32_t s = next_visible(tp, nodes[n].next_sibling);
			if (s) {
				n = s;
				print_line(tp, n, depth);
				break;
			}
			n = nodes[n].parent;
			depth--;
		}
	}
}

int kr_print_tree(const struct kp_profile *p, const struct kr_opts *o, FILE *out)
{
	struct kr_tree t;
	struct tree_print tp;
	double n = count_of(p, o);
	kr_tree_build(p, o, &t);
	kr_print_verdict(p, o, out);
	print_header(p, o, n, t.grand_total, out);
	kr_print_split(p, o, out);
	kr_print_findings(p, o, out);
	if (t.grand_total == 0) {
		fprintf(out, "\nno samples%s\n", o->keep ? " match the filter" : "");
		kr_tree_release(&t);
		return ferror(out) ? -1 : 0;
	}
	memset(&tp, 0, sizeof(tp));
	tp.p = p;
	tp.o = o;
	tp.t = &t;
	tp.out = out;
	strbuf_init(&tp.prefix, 256);
	fprintf(out, "\n%7s %7s  %s\n", "Total", "Self", "Call tree (callers above callees)");
	for (uint32_t c = t.nodes[0].first_child; c; c = t.nodes[c].next_sibling) {
		if (visible(&tp, c))
			print_subtree(&tp, c);
		else
			tp.hidden++;
	}
	if (tp.hidden)
		fprintf(out, "(%u branch%s below %.4g%% not shown; --percent-limit 0 shows all)\n", tp.hidden,
			tp.hidden == 1 ? "" : "es", o->percent_limit);
	strbuf_release(&tp.prefix);
	kr_tree_release(&t);
	return ferror(out) ? -1 : 0;
}

/* ---- JSON ---- */

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s, strlen(s));
	strbuf_addch(sb, '"');
}

static void json_num(struct strbuf *sb, double v)
{
	char buf[40];
	if (!isfinite(v))
		v = 0;
	kp_format_count(v, buf, sizeof(buf));
	strbuf_addstr(sb, buf);
}

static void json_pct(struct strbuf *sb, double v, double total)
{
	strbuf_addf(sb, "%.4f", pct(v, total));
}

static int json_visible(const struct kr_opts *o, const struct kr_tree *t, uint32_t n)
{
	return t->nodes[n].total != 0 && pct(t->nodes[n].total, t->grand_total) >= o->percent_limit;
}

/* The first node of the sibling list from n on that the JSON tree shows (0: none). */
static uint32_t json_next(const struct kr_opts *o, const struct kr_tree *t, uint32_t n)
{
	while (n && !json_visible(o, t, n))
		n = t->nodes[n].next_sibling;
	return n;
}

/* Node n's fields up to the opening of its "children" list. */
static void json_tree_open(struct strbuf *sb, const struct kp_profile *p, const struct kr_tree *t, uint32_t n)
{
	const struct kr_node *nd = &t->nodes[n];
	strbuf_addstr(sb, "{\"name\":");
	json_str(sb, kp_str_get(p, nd->name));
	strbuf_addstr(sb, ",\"module\":");
	json_str(sb, kp_str_get(p, nd->module));
	strbuf_addstr(sb, ",\"process\":");
	strbuf_addstr(sb, (nd->flags & KP_FRAME_ROOT) ? "true" : "false");
	strbuf_addstr(sb, ",\"self\":");
	json_num(sb, nd->self);
	strbuf_addstr(sb, ",\"total\":");
	json_num(sb, nd->total);
	strbuf_addstr(sb, ",\"self_percent\":");
	json_pct(sb, nd->self, t->grand_total);
	strbuf_addstr(sb, ",\"total_percent\":");
	json_pct(sb, nd->total, t->grand_total);
	strbuf_addstr(sb, ",\"children\":[");
}

/* The subtree of top as nested JSON objects, written out a megabyte at a time. A loop
 * over the parent links rather than recursion: a stack can be deeper than the C stack. */
static void json_tree(struct strbuf *sb, const struct kp_profile *p, const struct kr_opts *o,
		      const struct kr_tree *t, uint32_t top, FILE *out)
{
	uint32_t n = top;
	json_tree_open(sb, p, t, n);
	for (;;) {
		uint32_t c = json_next(o, t, t->nodes[n].first_child);
		if (c) {
			n = c;
			json_tree_open(sb, p, t, n);
			continue;
		}
		for (;;) {
			strbuf_addstr(sb, "]}");
			if (sb->len > (1u << 20)) {
				fwrite(sb->buf, 1, sb->len, out);
				strbuf_reset(sb);
			}
			if (n == top)
				return;
			uint32_t s = json_next(o, t, t->nodes[n].next_sibling);
			if (s) {
				strbuf_addch(sb, ',');
				n = s;
				json_tree_open(sb, p, t, n);
				break;
			}
			n = t->nodes[n].parent;
		}
	}
}

int kr_print_json(const struct kp_profile *p, const struct kr_opts *o, int tree, FILE *out)
{
	struct strbuf sb = STRBUF_INIT;
	struct kr_table t;
	struct kr_thread_row *th;
	uint32_t nth;
	const struct kp_value_type *vt = &p->value_types[o->value];
	kr_table_build(p, o, &t);
	strbuf_addstr(&sb, "{\"format\":\"kiln-report\",\"version\":1,\"source\":");
	json_str(&sb, o->source ? o->source : "");
	strbuf_addstr(&sb, ",\"value\":{\"name\":");
	json_str(&sb, kp_str_get(p, vt->name));
	strbuf_addstr(&sb, ",\"unit\":");
	json_str(&sb, kp_str_get(p, vt->unit));
	strbuf_addstr(&sb, "},\"total\":");
	json_num(&sb, t.grand_total);
	strbuf_addstr(&sb, ",\"samples\":");
	size_t kept = p->nsamples;
	if (o->keep) {
		kept = 0;
		for (size_t i = 0; i < p->nsamples; i++)
			kept += o->keep[i] != 0;
	}
	json_num(&sb, o->count_value >= 0 ? t.grand_n : (double)kept);
	strbuf_addstr(&sb, ",\"filtered\":");
	strbuf_addstr(&sb, o->keep ? "true" : "false");
	kr_json_verdict(p, o, &sb);
	kr_json_findings(p, o, &sb);
	strbuf_addstr(&sb, ",\"meta\":{");
	for (uint32_t i = 0; i < p->nmeta; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		json_str(&sb, kp_str_get(p, p->meta[i].key));
		strbuf_addch(&sb, ':');
		json_str(&sb, kp_str_get(p, p->meta[i].value));
	}
	strbuf_addstr(&sb, "},\"threads\":[");
	nth = kr_threads(p, o, &th);
	for (uint32_t i = 0; i < nth; i++) {
		const struct kp_thread *x = &p->threads[th[i].thread];
		if (i)
			strbuf_addch(&sb, ',');
		strbuf_addf(&sb, "{\"pid\":%d,\"tid\":%d,\"comm\":", x->pid, x->tid);
		json_str(&sb, kp_str_get(p, x->comm));
		strbuf_addstr(&sb, ",\"value\":");
		json_num(&sb, th[i].value);
		strbuf_addstr(&sb, ",\"samples\":");
		json_num(&sb, th[i].n);
		strbuf_addstr(&sb, ",\"percent\":");
		json_pct(&sb, th[i].value, t.grand_total);
		kr_json_thread_split(p, o, th[i].thread, &sb);
		strbuf_addch(&sb, '}');
	}
	free(th);
	strbuf_addch(&sb, ']');
	if (!tree) {
		strbuf_addstr(&sb, ",\"functions\":[");
		for (uint32_t i = 0; i < t.nrows; i++) {
			const struct kr_row *r = &t.rows[i];
			if (i)
				strbuf_addch(&sb, ',');
			strbuf_addstr(&sb, "{\"name\":");
			json_str(&sb, kp_str_get(p, r->name));
			strbuf_addstr(&sb, ",\"module\":");
			json_str(&sb, kp_str_get(p, r->module));
			strbuf_addstr(&sb, ",\"self\":");
			json_num(&sb, r->self);
			strbuf_addstr(&sb, ",\"total\":");
			json_num(&sb, r->total);
			strbuf_addstr(&sb, ",\"self_percent\":");
			json_pct(&sb, r->self, t.grand_total);
			strbuf_addstr(&sb, ",\"total_percent\":");
			json_pct(&sb, r->total, t.grand_total);
			strbuf_addstr(&sb, ",\"self_samples\":");
			json_num(&sb, r->self_n);
			strbuf_addstr(&sb, ",\"total_samples\":");
			json_num(&sb, r->total_n);
			strbuf_addf(&sb, ",\"kernel\":%s,\"inline\":%s,\"jit\":%s,\"python\":%s}",
				    (r->flags & KP_FRAME_KERNEL) ? "true" : "false",
				    (r->flags & KP_FRAME_INLINE) ? "true" : "false",
				    (r->flags & KP_FRAME_JIT) ? "true" : "false",
				    (r->flags & KP_FRAME_PY) ? "true" : "false");
			if (sb.len > (1u << 20)) {
				fwrite(sb.buf, 1, sb.len, out);
				strbuf_reset(&sb);
			}
		}
		strbuf_addf(&sb, "],\"hidden_functions\":%u}\n", t.hidden);
	} else {
		struct kr_tree tr;
		int first = 1;
		kr_tree_build(p, o, &tr);
		strbuf_addstr(&sb, ",\"tree\":[");
		for (uint32_t c = tr.nodes[0].first_child; c; c = tr.nodes[c].next_sibling) {
			if (tr.nodes[c].total == 0 || pct(tr.nodes[c].total, tr.grand_total) < o->percent_limit)
				continue;
			if (!first)
				strbuf_addch(&sb, ',');
			first = 0;
			json_tree(&sb, p, o, &tr, c, out);
		}
		strbuf_addstr(&sb, "]}\n");
		kr_tree_release(&tr);
	}
	fwrite(sb.buf, 1, sb.len, out);
	strbuf_release(&sb);
	kr_table_release(&t);
	return ferror(out) ? -1 : 0;
}
