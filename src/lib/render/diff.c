/* diff.c: two profiles compared as text: difffolded's three columns, and the table of
 * functions whose share changed most. */
#include "render/diff.h"
#include "profile/folded.h"
#include "profile/functions.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- folded */

struct fline {
	const char *text; /* stack text (not NUL-terminated) */
	size_t len;
	double value;
};

static int has_thread_names(const struct kp_profile *p)
{
	for (uint32_t t = 1; t < p->nthreads; t++)
		if (p->threads[t].comm)
			return 1;
	return 0;
}

/* The side's folded lines (sorted, merged), parsed back from kp_folded_write; *total
 * gets the sum of their values, in line order (as difffolded.pl adds them). */
static int side_lines(const struct kd_side *s, char **mem, struct fline **lines, size_t *n, double *total)
{
	size_t size = 0;
	FILE *f = open_memstream(mem, &size);
	struct kp_folded_opts o = { 0 };
	*lines = NULL;
	*n = 0;
	*total = 0;
	if (!f)
		return -1;
	o.value = s->v;
	o.root = has_thread_names(s->p) ? KP_ROOT_COMM : KP_ROOT_NONE;
	o.annotate = 1;
	int rc = kp_folded_write(s->p, &o, f);
	if (fclose(f) != 0 || rc < 0)
		return -1;
	size_t alloc = 0;
	char *p = *mem, *end = *mem + size;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		char *sp = nl;
		while (sp > p && sp[-1] != ' ')
			sp--;
		if (sp > p) {
			ALLOC_GROW(*lines, *n + 1, alloc);
			(*lines)[*n].text = p;
			(*lines)[*n].len = (size_t)(sp - 1 - p);
			*nl = '\0';
			(*lines)[*n].value = strtod(sp, NULL);
			*total += (*lines)[*n].value;
			(*n)++;
		}
		p = nl + 1;
	}
	return 0;
}

static int cmp_text(const struct fline *a, const struct fline *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->text, b->text, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

int kd_folded_write(const struct kd_side *before, const struct kd_side *after, int normalize, FILE *out)
{
	char *mb = NULL, *ma = NULL;
	struct fline *lb = NULL, *la = NULL;
	size_t nb = 0, na = 0;
	double tb, ta;
	int rc = -1;
	if (side_lines(before, &mb, &lb, &nb, &tb) < 0 || side_lines(after, &ma, &la, &na, &ta) < 0)
		goto out;
	/* difffolded.pl -n: int($count1 * $total2 / $total1) when the totals differ */
	int scale = normalize && tb != ta && tb > 0;
	size_t i = 0, j = 0;
	char num[40];
	while (i < nb || j < na) {
		int c = i == nb ? 1 : j == na ? -1 : cmp_text(&lb[i], &la[j]);
		const struct fline *l = c <= 0 ? &lb[i] : &la[j];
		double b = c <= 0 ? lb[i].value : 0;
		double a = c >= 0 ? la[j].value : 0;
		if (scale)
			b = trunc(b * ta / tb);
		fwrite(l->text, 1, l->len, out);
		fputc(' ', out);
		kp_format_count(b, num, sizeof(num));
		fputs(num, out);
		fputc(' ', out);
		kp_format_count(a, num, sizeof(num));
		fputs(num, out);
		fputc('\n', out);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	rc = ferror(out) ? -1 : 0;
out:
	free(mb);
	free(ma);
	free(lb);
	free(la);
	return rc;
}

/* ---------------------------------------------------------------- matching programs */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The comm holding most of value v (a string id of p), 0 when none. */
static kp_str_t main_comm(const struct kp_profile *p, uint32_t v)
{
	double *acc = xcalloc(p->strings.nr ? p->strings.nr : 1, sizeof(double));
	kp_str_t best = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		uint32_t t = p->sample_thread[i];
		if (t && p->threads[t].comm)
			acc[p->threads[t].comm] += kp_sample_value(p, i, v);
	}
	for (kp_str_t s = 1; s < p->strings.nr; s++)
		if (acc[s] > acc[best])
			best = s;
	free(acc);
	return best;
}

/* The module of the outermost user frame holding most of value v, 0 when none. */
static kp_str_t main_module(const struct kp_profile *p, uint32_t v)
{
	double *self = NULL;
	double *acc = xcalloc(p->strings.nr ? p->strings.nr : 1, sizeof(double));
	kp_str_t best = 0;
	kp_stack_sums(p, v, NULL, &self, NULL);
	for (kp_stack_t s = 1; s < p->nstacks; s++) {
		kp_str_t m = 0;
		if (self[s] <= 0)
			continue;
		for (kp_stack_t x = s; x; x = p->stacks[x].parent) {
			const struct kp_frame *f = &p->frames[p->stacks[x].frame];
			if (f->module && !(f->flags & (KP_FRAME_KERNEL | KP_FRAME_ROOT | KP_FRAME_TRUNCATED | KP_FRAME_OFFCPU)))
				m = f->module;
		}
		acc[m] += self[s];
	}
	acc[0] = 0; /* stacks without a user module do not count */
	for (kp_str_t s = 1; s < p->strings.nr; s++)
		if (acc[s] > acc[best])
			best = s;
	free(self);
	free(acc);
	return best;
}

static int has_comm(const struct kp_profile *p, const char *comm)
{
	for (uint32_t t = 1; t < p->nthreads; t++)
		if (p->threads[t].comm && !strcmp(kp_str_get(p, p->threads[t].comm), comm))
			return 1;
	return 0;
}

static int has_module_base(const struct kp_profile *p, const char *base)
{
	for (kp_frame_t f = 1; f < p->nframes; f++)
		if (p->frames[f].module && !strcmp(base_name(kp_str_get(p, p->frames[f].module)), base))
			return 1;
	return 0;
}

int kd_match_programs(struct kp_profile *before, uint32_t vb, const struct kp_profile *after, uint32_t va,
		      struct kd_match *m)
{
	memset(m, 0, sizeof(*m));
	kp_str_t cb = main_comm(before, vb), ca = main_comm(after, va);
	if (cb && ca) {
		const char *from = kp_str_get(before, cb), *to = kp_str_get(after, ca);
		if (strcmp(from, to) && !has_comm(after, from) && !has_comm(before, to)) {
			kp_str_t id = kp_strz(before, to);
			for (uint32_t t = 1; t < before->nthreads; t++)
				if (before->threads[t].comm == cb)
					before->threads[t].comm = id;
			m->comm_from = kp_str_get(before, cb);
			m->comm_to = to;
		}
	}
	kp_str_t mb = main_module(before, vb), ma = main_module(after, va);
	if (mb && ma) {
		const char *from = base_name(kp_str_get(before, mb)), *to = base_name(kp_str_get(after, ma));
		if (strcmp(from, to) && !has_module_base(after, from) && !has_module_base(before, to)) {
			m->module_from = from;
			m->module_to = to;
		}
	}
	return m->comm_from || m->module_from;
}

/* ---------------------------------------------------------------- top table */

/* The kind a function's flags give, as the table shows it. */
static const char *kind_of(uint32_t flags)
{
	if (flags & KP_FRAME_OFFCPU)
		return "off-cpu";
	if (flags & KP_FRAME_KERNEL)
		return "kernel";
	if (flags & KP_FRAME_INLINE)
		return "inlined";
	if (flags & KP_FRAME_JIT)
		return "jit";
	return "";
}

/* A module as the table shows it: its base name, "[ext4]" as "ext4", the kernel image as
 * "kernel"; a side's module_from as its module_to. */
static void module_display(const struct kd_side *s, const char *path, struct strbuf *out)
{
	const char *b = base_name(path);
	size_t n = strlen(b);
	if (s->module_from && !strcmp(b, s->module_from)) {
		strbuf_addstr(out, s->module_to);
		return;
	}
	if (!strcmp(b, "[kernel.kallsyms]") || !strncmp(b, "[kernel.kallsyms]", 17)) {
		strbuf_addstr(out, "kernel");
		return;
	}
	if (n > 2 && b[0] == '[' && b[n - 1] == ']')
		strbuf_add(out, b + 1, n - 2);
	else
		strbuf_add(out, b, n);
}

/* Adds one profile's functions to the table: keys "name\0kind\0module" interned in
 * `names`, shares (in percent) into column before/after of rows indexed by key id. */
static void add_side(const struct kd_side *s, int after, int modules, struct kp_profile *names,
		     struct kd_row **rows, size_t *alloc, double *total)
{
	struct kp_func_table ft;
	struct strbuf sb = STRBUF_INIT;
	const struct kp_profile *p = s->p;
	kp_func_table_build(p, s->v, NULL, &ft);
	*total = ft.grand_total;
	double g = ft.grand_total > 0 ? 100.0 / ft.grand_total : 0;
	for (uint32_t i = 0; i < ft.nfuncs; i++) {
		const struct kp_func *fn = &ft.funcs[i];
		if (fn->self == 0 && fn->total == 0)
			continue;
		strbuf_reset(&sb);
		/* the clean name: folded text keeps its _[k]/_[i]/_[j] suffix in the name */
		const char *name = kp_str_get(p, fn->name);
		size_t len = kp_str_len(p, fn->name);
		if (len > 4 && (fn->flags & (KP_FRAME_KERNEL | KP_FRAME_INLINE | KP_FRAME_JIT)) &&
		    (!memcmp(name + len - 4, "_[k]", 4) || !memcmp(name + len - 4, "_[i]", 4) ||
		     !memcmp(name + len - 4, "_[j]", 4)))
			len -= 4;
		strbuf_add(&sb, name, len);
		strbuf_addch(&sb, '\0');
		strbuf_addstr(&sb, kind_of(fn->flags));
		strbuf_addch(&sb, '\0');
		if (modules && fn->module)
			module_display(s, kp_str_get(p, fn->module), &sb);
		kp_str_t id = kp_str(names, sb.buf, sb.len);
		if (id >= *alloc) {
			size_t old = *alloc;
			ALLOC_GROW(*rows, id + 1, *alloc);
			memset(*rows + old, 0, (*alloc - old) * sizeof(**rows));
		}
		struct kd_row *r = &(*rows)[id];
		/* two functions of one key (modules of one base name): add them up */
		if (after) {
			r->self_after += fn->self * g;
			r->total_after += fn->total * g;
		} else {
			r->self_before += fn->self * g;
			r->total_before += fn->total * g;
		}
	}
	strbuf_release(&sb);
	kp_func_table_release(&ft);
}

static double change(const struct kd_row *r)
{
	double ds = fabs(r->self_after - r->self_before), dt = fabs(r->total_after - r->total_before);
	return ds > dt ? ds : dt;
}

static int cmp_row(const void *a, const void *b)
{
	const struct kd_row *x = a, *y = b;
	double cx = change(x), cy = change(y);
	if (cx != cy)
		return cx > cy ? -1 : 1;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = strcmp(x->kind, y->kind);
	if (c)
		return c;
	return strcmp(x->module ? x->module : "", y->module ? y->module : "");
}

static int has_modules(const struct kp_profile *p)
{
	for (kp_frame_t f = 1; f < p->nframes; f++)
		if (p->frames[f].module)
			return 1;
	return 0;
}

void kd_table_build(const struct kd_side *before, const struct kd_side *after, struct kd_table *t)
{
	struct kp_profile names;
	struct kd_row *rows = NULL;
	size_t alloc = 0;
	/* functions match by name, and by module too when both sides know modules (a
	 * profile compared with folded text matches by name) */
	int modules = has_modules(before->p) && has_modules(after->p);
	memset(t, 0, sizeof(*t));
	kp_profile_init(&names);
	add_side(before, 0, modules, &names, &rows, &alloc, &t->total_before);
	add_side(after, 1, modules, &names, &rows, &alloc, &t->total_after);
	size_t n = names.strings.nr;
	t->rows = xcalloc(n ? n : 1, sizeof(*t->rows));
	for (kp_str_t id = 1; id < n; id++) {
		struct kd_row *r = &t->rows[t->nrows++];
		const char *key = kp_str_get(&names, id), *kind = key + strlen(key) + 1;
		const char *mod = kind + strlen(kind) + 1;
		*r = rows[id];
		r->name = xstrdup(key);
		r->kind = kind_of(!strcmp(kind, "kernel") ? KP_FRAME_KERNEL : !strcmp(kind, "inlined") ? KP_FRAME_INLINE
				  : !strcmp(kind, "jit") ? KP_FRAME_JIT : !strcmp(kind, "off-cpu") ? KP_FRAME_OFFCPU : 0);
		r->module = modules ? xstrdup(mod) : NULL;
	}
	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_row);
	free(rows);
	kp_profile_release(&names);
}

void kd_table_release(struct kd_table *t)
{
	for (size_t i = 0; i < t->nrows; i++) {
		free(t->rows[i].name);
		free(t->rows[i].module);
	}
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static void add_count(struct strbuf *sb, double v)
{
	char num[40];
	kp_format_count(v, num, sizeof(num));
	strbuf_addstr(sb, num);
}

/* A change in percentage points: signed, or a plain 0.00 (never -0.00). */
static void add_points(struct strbuf *sb, double d)
{
	if (fabs(d) < 0.005)
		strbuf_addf(sb, "%8s", "0.00");
	else
		strbuf_addf(sb, "%+8.2f", d);
}

int kd_table_print(const struct kd_table *t, size_t n, const char *before_name, const char *after_name,
		   const char *countname, FILE *out)
{
	struct strbuf sb = STRBUF_INIT;
	int modw = 0, kindw = 0;
	if (!n || n > t->nrows)
		n = t->nrows;
	/* the kind and module columns appear when a shown row has one */
	for (size_t i = 0; i < n; i++) {
		int k = (int)strlen(t->rows[i].kind), m = t->rows[i].module ? (int)strlen(t->rows[i].module) : 0;
		if (k > kindw)
			kindw = k;
		if (m > modw)
			modw = m > 24 ? 24 : m;
	}
	if (kindw && kindw < 4)
		kindw = 4;
	if (modw && modw < 6)
		modw = 6;
	strbuf_addf(&sb, "before: %s (", before_name);
	add_count(&sb, t->total_before);
	strbuf_addf(&sb, " %s)\nafter:  %s (", countname, after_name);
	add_count(&sb, t->total_after);
	strbuf_addf(&sb, " %s)\n", countname);
	if (t->note)
		strbuf_addf(&sb, "%s\n", t->note);
	strbuf_addch(&sb, '\n');
	strbuf_addf(&sb, "%-17s  %-17s  %-17s\n", "      before", "      after", "  change (points)");
	strbuf_addf(&sb, "%8s %8s  %8s %8s  %8s %8s  ", "self%", "total%", "self%", "total%", "self", "total");
	if (modw)
		strbuf_addf(&sb, "%-*s  ", modw, "module");
	if (kindw)
		strbuf_addf(&sb, "%-*s  ", kindw, "kind");
	strbuf_addstr(&sb, "function\n");
	for (size_t i = 0; i < n; i++) {
		const struct kd_row *r = &t->rows[i];
		strbuf_addf(&sb, "%8.2f %8.2f  %8.2f %8.2f  ", r->self_before, r->total_before, r->self_after,
			    r->total_after);
		add_points(&sb, r->self_after - r->self_before);
		strbuf_addch(&sb, ' ');
		add_points(&sb, r->total_after - r->total_before);
		strbuf_addstr(&sb, "  ");
		if (modw)
			strbuf_addf(&sb, "%-*s  ", modw, r->module && *r->module ? r->module : "-");
		if (kindw)
			strbuf_addf(&sb, "%-*s  ", kindw, *r->kind ? r->kind : "-");
		strbuf_addf(&sb, "%s\n", r->name);
	}
	if (!n)
		strbuf_addstr(&sb, "(no functions)\n");
	fwrite(sb.buf, 1, sb.len, out);
	strbuf_release(&sb);
	return ferror(out) ? -1 : 0;
}
