/* heap_py.c: see heap_py.h. */
#include "heap/heap_py.h"
#include "python/py_decode.h"
#include "util/xalloc.h"
#include <stdlib.h>

/* Calls fn for each entry of the table: its code units [start, start + len) and line
 * (0 when none); stops when fn returns nonzero, or where the table is damaged. */
static void walk_table(const uint8_t *lt, size_t n, int first, int (*fn)(void *, uint32_t, uint32_t, int),
		       void *ctx)
{
	struct py_lt it;
	uint32_t start, len;
	int line;
	py_lt_init(&it, lt, n, first);
	while (py_lt_next(&it, &start, &len, &line))
		if (fn(ctx, start, len, line))
			return;
}

struct line_at {
	int64_t lasti;
	int line;
};

static int line_at_fn(void *ctx, uint32_t start, uint32_t len, int line)
{
	struct line_at *a = ctx;
	if (a->lasti < (int64_t)start + len) {
		a->line = line;
		return 1;
	}
	return 0;
}

int heap_py_line(const uint8_t *lt, size_t n, int first, int64_t lasti)
{
	struct line_at a = { lasti, 0 };
	if (lasti < 0)
		return first;
	walk_table(lt, n, first, line_at_fn, &a);
	return a.line;
}

struct ranges {
	struct heap_py_range *r;
	size_t n, alloc;
};

static int ranges_fn(void *ctx, uint32_t start, uint32_t len, int line)
{
	struct ranges *x = ctx;
	if (x->n && x->r[x->n - 1].line == line && x->r[x->n - 1].end == start) {
		x->r[x->n - 1].end = start + len;
		return 0;
	}
	ALLOC_GROW(x->r, x->n + 1, x->alloc);
	x->r[x->n].start = start;
	x->r[x->n].end = start + len;
	x->r[x->n].line = line;
	x->n++;
	return 0;
}

size_t heap_py_ranges(const uint8_t *lt, size_t n, int first, struct heap_py_range **out)
{
	struct ranges x = { NULL, 0, 0 };
	walk_table(lt, n, first, ranges_fn, &x);
	*out = x.r;
	return x.n;
}

int heap_py_range_line(const struct heap_py_range *r, size_t nr, int first, int64_t lasti)
{
	size_t lo = 0, hi = nr;
	if (lasti < 0)
		return first;
	while (lo < hi) { /* the first range that ends after lasti */
		size_t mid = lo + (hi - lo) / 2;
		if ((int64_t)r[mid].end <= lasti)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr ? r[lo].line : 0;
}

size_t heap_py_merge(const struct heap_py_nat *nat, size_t nn, const uint8_t *entry, size_t np, int hide,
		     int32_t *out)
{
	size_t nseg = 0, neval = 0, k = 0, *seg_end, e, first_eval = nn;
	/* segments innermost first: seg s is Python frames [seg_end[s-1], seg_end[s]) */
	seg_end = xcalloc(np + 1, sizeof(*seg_end));
	for (size_t i = 0; i < np; i++)
		if (entry[i] || i + 1 == np)
			seg_end[nseg++] = i + 1;
	for (size_t i = 0; i < nn; i++) {
		if (nat[i].is_eval) {
			if (first_eval == nn)
				first_eval = i;
			neval++;
		}
	}
	/* segments no loop of the native stack runs (a cut native stack): at the root */
	for (size_t s = nseg; s-- > neval;) {
		size_t lo = s ? seg_end[s - 1] : 0;
		for (size_t j = seg_end[s]; j-- > lo;)
			out[k++] = -(int32_t)j - 1;
	}
	e = neval; /* loops left, counting from the innermost (the last root first) */
	for (size_t i = 0; i < nn; i++) {
		if (nat[i].is_eval) {
			size_t s = --e; /* innermost loop: segment 0 */
			if (s < nseg) {
				size_t lo = s ? seg_end[s - 1] : 0;
				if (!hide)
					out[k++] = (int32_t)i;
				for (size_t j = seg_end[s]; j-- > lo;)
					out[k++] = -(int32_t)j - 1;
				continue;
			}
		}
		if (hide && np && (nat[i].is_interp || (neval && i < first_eval && nat[i].is_sys)))
			continue;
		out[k++] = (int32_t)i;
	}
	free(seg_end);
	return k;
}
