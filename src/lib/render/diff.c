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

static int whole_counts(const struct kd_side *s)
{
	const struct kp_profile *p = s->p;
	for (size_t i = 0; i < p->nsamples; i++) {
		double x = kp_sample_value(p, i, s->v);
		if (x != floor(x))
			return 0;
	}
	return 1;
}

static int has_thread_names(const struct kp_profile *p)
{
	for (uint32_t t = 1; t < p->nthreads; t++)
		if (p->threads[t].comm)
			return 1;
	return 0;
}

/* The side's folded lines (sorted, merged), parsed back from kp_folded_write. */
static int side_lines(const struct kd_side *s, char **mem, struct fline **lines, size_t *n)
{
	size_t size = 0;
	FILE *f = open_memstream(mem, &size);
	struct kp_folded_opts o = { 0 };
	*lines = NULL;
	*n = 0;
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

int kd_folded_write(const struct kd_side *before, const struct kd_side *after, double scale, FILE *out)
{
	char *mb = NULL, *ma = NULL;
	struct fline *lb = NULL, *la = NULL;
	size_t nb = 0, na = 0;
	int rc = -1;
	if (side_lines(before, &mb, &lb, &nb) < 0 || side_lines(after, &ma, &la, &na) < 0)
		goto out;
	int round_before = scale != 1 && whole_counts(before) && whole_counts(after);
	size_t i = 0, j = 0;
	char num[40];
	while (i < nb || j < na) {
		int c = i == nb ? 1 : j == na ? -1 : cmp_text(&lb[i], &la[j]);
		const struct fline *l = c <= 0 ? &lb[i] : &la[j];
		double b = c <= 0 ? lb[i].value * scale : 0;
		double a = c >= 0 ? la[j].value : 0;
		if (round_before)
			b = floor(b + 0.5);
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

/* ---------------------------------------------------------------- top table */

/* Adds one profile's functions to the table: names interned in `names`, shares (in
 * percent) into column before/after of rows indexed by name id. */
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
		/* the function's folded name */
		strbuf_add(&sb, kp_str_get(p, fn->name), kp_str_len(p, fn->name));
		if ((fn->flags & KP_FRAME_INLINE) && !(sb.len >= 4 && !memcmp(sb.buf + sb.len - 4, "_[i]", 4)))
			strbuf_addstr(&sb, "_[i]");
		else if ((fn->flags & KP_FRAME_KERNEL) && !(sb.len >= 4 && !memcmp(sb.buf + sb.len - 4, "_[k]", 4)))
			strbuf_addstr(&sb, "_[k]");
		if (modules && fn->module) {
			const char *m = kp_str_get(p, fn->module);
			const char *base = strrchr(m, '/');
			strbuf_addf(&sb, " [%s]", base ? base + 1 : m);
		}
		kp_str_t id = kp_str(names, sb.buf, sb.len);
		if (id >= *alloc) {
			size_t old = *alloc;
			ALLOC_GROW(*rows, id + 1, *alloc);
			memset(*rows + old, 0, (*alloc - old) * sizeof(**rows));
		}
		struct kd_row *r = &(*rows)[id];
		/* two functions of one display name (modules without paths): add them up */
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
	return strcmp(x->name, y->name);
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
		*r = rows[id];
		r->name = xstrdup(kp_str_get(&names, id));
	}
	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_row);
	free(rows);
	kp_profile_release(&names);
}

void kd_table_release(struct kd_table *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		free(t->rows[i].name);
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
	if (!n || n > t->nrows)
		n = t->nrows;
	strbuf_addf(&sb, "before: %s (", before_name);
	add_count(&sb, t->total_before);
	strbuf_addf(&sb, " %s)\nafter:  %s (", countname, after_name);
	add_count(&sb, t->total_after);
	strbuf_addf(&sb, " %s)\n\n", countname);
	strbuf_addf(&sb, "%-17s  %-17s  %-17s\n", "      before", "      after", "  change (points)");
	strbuf_addf(&sb, "%8s %8s  %8s %8s  %8s %8s  %s\n", "self%", "total%", "self%", "total%", "self", "total",
		    "function");
	for (size_t i = 0; i < n; i++) {
		const struct kd_row *r = &t->rows[i];
		strbuf_addf(&sb, "%8.2f %8.2f  %8.2f %8.2f  ", r->self_before, r->total_before, r->self_after,
			    r->total_after);
		add_points(&sb, r->self_after - r->self_before);
		strbuf_addch(&sb, ' ');
		add_points(&sb, r->total_after - r->total_before);
		strbuf_addf(&sb, "  %s\n", r->name);
	}
	if (!n)
		strbuf_addstr(&sb, "(no functions)\n");
	fwrite(sb.buf, 1, sb.len, out);
	strbuf_release(&sb);
	return ferror(out) ? -1 : 0;
}
