/* folded.c: folded stacks <-> profile model. */
#include "profile/folded.h"
#include "util/input.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t suffix_flags(const char *s, size_t len)
{
	if (len >= 4 && s[len - 4] == '_' && s[len - 3] == '[' && s[len - 1] == ']') {
		switch (s[len - 2]) {
		case 'k': return KP_FRAME_KERNEL;
		case 'i': return KP_FRAME_INLINE;
		case 'j': return KP_FRAME_JIT;
		}
	}
	return 0;
}

/* Parses the count at the end of a line; returns 0 on success. */
static int parse_count(const char *s, size_t len, double *out)
{
	char buf[64];
	char *end;
	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-' || buf[0] == '.' || buf[0] == '+'))
		return -1;
	errno = 0;
	*out = strtod(buf, &end);
	if (*end || errno || !isfinite(*out))
		return -1;
	return 0;
}

/* Length of the common prefix of a and b (n bytes each at most). */
static size_t common_prefix(const char *a, const char *b, size_t n)
{
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (size_t)(__builtin_ctzll(x ^ y) >> 3);
		i += 8;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* State kept from one line to the next: folded files are usually sorted, so a line
 * shares its first frames with the previous one and those need no interning. */
struct fold_prev {
	char *text;         /* previous stack text */
	size_t len, alloc;
	uint32_t *end;      /* end[k]: offset just past frame k's name in text */
	kp_stack_t *stack;  /* stack[k]: stack id after frames 0..k */
	size_t n, nalloc;
	kp_frame_t *str_frame; /* string id -> frame id (0: not seen yet) */
	size_t str_frame_alloc;
};

static kp_frame_t fold_frame(struct kp_profile *p, struct fold_prev *st, const char *name, size_t len)
{
	kp_str_t s = kp_str(p, name, len);
	if (s >= st->str_frame_alloc) {
		size_t old = st->str_frame_alloc;
		ALLOC_GROW(st->str_frame, s + 1, st->str_frame_alloc);
		memset(st->str_frame + old, 0, (st->str_frame_alloc - old) * sizeof(kp_frame_t));
	}
	if (!st->str_frame[s]) {
		struct kp_frame f = { 0 };
		f.name = s;
		f.flags = suffix_flags(name, len);
		st->str_frame[s] = kp_frame(p, &f);
	}
	return st->str_frame[s];
}

/* Interns the stack text line[0..slen) (frames separated by ';', empty ones skipped);
 * returns 0 when it holds no frame. */
static kp_stack_t fold_stack(struct kp_profile *p, struct fold_prev *st, const char *line, size_t slen,
			     kp_stack_t *out)
{
	size_t lcp = common_prefix(line, st->text ? st->text : "", slen < st->len ? slen : st->len);
	size_t k = 0, start = 0;
	kp_stack_t s = 0;
	/* frames wholly inside the common prefix (and followed by the same byte) are known */
	while (k < st->n && st->end[k] < lcp) {
		s = st->stack[k];
		start = st->end[k] + 1;
		k++;
	}
	st->n = k;
	for (size_t i = start; i <= slen; i++) {
		if (i == slen || line[i] == ';') {
			if (i > start) {
				s = kp_stack_push(p, s, fold_frame(p, st, line + start, i - start));
				if (st->n == st->nalloc) {
					ALLOC_GROW(st->end, st->n + 1, st->nalloc);
					st->stack = xreallocarray(st->stack, st->nalloc, sizeof(kp_stack_t));
				}
				st->end[st->n] = (uint32_t)i;
				st->stack[st->n] = s;
				st->n++;
			}
			start = i + 1;
		}
	}
	if (slen > UINT32_MAX - 1) {
		st->n = 0; /* offsets would not fit: do not reuse this line */
		st->len = 0;
	} else {
		ALLOC_GROW(st->text, slen + 1, st->alloc);
		memcpy(st->text, line, slen);
		st->len = slen;
	}
	*out = s;
	return s;
}

int kp_folded_read(struct kp_profile *p, struct kiln_input *in, struct kp_folded_stats *st)
{
	char *line;
	size_t len;
	int rc;
	struct fold_prev prev = { 0 };
	uint32_t v;
	memset(st, 0, sizeof(*st));
	if (!p->nvalues) {
		kp_add_value_type(p, "samples", "count");
	}
	v = p->default_value;
	double vals[KP_MAX_VALUES] = { 0 };
	while ((rc = kiln_input_getline(in, &line, &len)) > 0) {
		st->lines++;
		/* trim trailing blanks */
		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (!len)
			continue;
		char *sp = line + len;
		while (sp > line && sp[-1] != ' ' && sp[-1] != '\t')
			sp--;
		double count;
		if (sp == line || parse_count(sp, (size_t)(line + len - sp), &count) < 0 || count < 0) {
			if (sp != line && parse_count(sp, (size_t)(line + len - sp), &count) == 0 && count < 0)
				st->negative = 1;
			st->bad_lines++;
			if (!st->first_bad)
				st->first_bad = st->lines;
			continue;
		}
		size_t slen = (size_t)(sp - line);
		while (slen && (line[slen - 1] == ' ' || line[slen - 1] == '\t'))
			slen--;
		kp_stack_t stack = 0;
		if (!slen || !fold_stack(p, &prev, line, slen, &stack)) {
			st->bad_lines++;
			if (!st->first_bad)
				st->first_bad = st->lines;
			continue;
		}
		vals[v] = count;
		kp_add_sample(p, stack, 0, st->lines, vals);
		st->samples++;
	}
	free(prev.text);
	free(prev.end);
	free(prev.stack);
	free(prev.str_frame);
	return rc < 0 ? -1 : 0;
}

int kp_format_count(double v, char *buf, size_t size)
{
	if (v == floor(v) && fabs(v) < 1e18)
		return snprintf(buf, size, "%lld", (long long)v);
	int n = snprintf(buf, size, "%.15g", v);
	/* keep the shortest form that reads back exactly, up to 17 digits */
	if (strtod(buf, NULL) != v)
		n = snprintf(buf, size, "%.17g", v);
	return n;
}

struct fold_line {
	char *text;
	uint32_t len;
	double value;
};

static int cmp_line(const void *a, const void *b)
{
	const struct fold_line *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->text, y->text, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static void root_text(const struct kp_profile *p, uint32_t t, enum kp_folded_root mode, struct strbuf *sb)
{
	const struct kp_thread *th = &p->threads[t];
	size_t start = sb->len;
	const char *comm = th->comm ? kp_str_get(p, th->comm) : "[unknown]";
	strbuf_addstr(sb, comm);
	for (size_t i = start; i < sb->len; i++)
		if (sb->buf[i] == ' ' || sb->buf[i] == ';')
			sb->buf[i] = sb->buf[i] == ' ' ? '_' : ':';
	if (mode == KP_ROOT_PID)
		strbuf_addf(sb, "-%d", th->pid);
	else if (mode == KP_ROOT_TID)
		strbuf_addf(sb, "-%d/%d", th->pid, th->tid);
}

int kp_folded_write(const struct kp_profile *p, const struct kp_folded_opts *o, FILE *out)
{
	/* Sum per (root text, stack). Roots are few: map thread -> root id first. */
	uint32_t *thread_root = xcalloc(p->nthreads, sizeof(uint32_t));
	char **roots = NULL;
	size_t nroots = 0, roots_alloc = 0;
	struct strbuf sb = STRBUF_INIT;
	int use_root = o->root != KP_ROOT_NONE;
	if (use_root) {
		for (uint32_t t = 0; t < p->nthreads; t++) {
			strbuf_reset(&sb);
			root_text(p, t, o->root, &sb);
			size_t r;
			for (r = 0; r < nroots; r++)
				if (!strcmp(roots[r], sb.buf))
					break;
			if (r == nroots) {
				ALLOC_GROW(roots, nroots + 1, roots_alloc);
				roots[nroots++] = xstrdup(sb.buf);
			}
			thread_root[t] = (uint32_t)r;
		}
	}
	size_t nr = use_root ? nroots : 1;
	/* sums[root * nstacks + stack] could be large; use a hash of (root, stack) instead */
	size_t cap = 1024;
	while (cap < p->nsamples * 2 && cap < ((size_t)1 << 30))
		cap *= 2;
	uint64_t *keys = xmalloc(cap * sizeof(uint64_t));
	double *sums = xcalloc(cap, sizeof(double));
	memset(keys, 0xff, cap * sizeof(uint64_t));
	size_t used = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (o->keep && !o->keep[i])
			continue;
		uint64_t key = ((uint64_t)(use_root ? thread_root[p->sample_thread[i]] : 0) << 32) |
			       p->sample_stack[i];
		uint64_t h = key * 0x9e3779b97f4a7c15ull;
		size_t j = (size_t)(h >> 20) & (cap - 1);
		while (keys[j] != UINT64_MAX && keys[j] != key)
			j = (j + 1) & (cap - 1);
		if (keys[j] == UINT64_MAX) {
			keys[j] = key;
			used++;
		}
		sums[j] += p->sample_values[i * p->nvalues + o->value];
	}
	(void)nr;
	struct fold_line *lines = xmalloc((used ? used : 1) * sizeof(*lines));
	size_t nlines = 0;
	kp_frame_t *fr = NULL;
	size_t fr_alloc = 0;
	for (size_t j = 0; j < cap; j++) {
		if (keys[j] == UINT64_MAX || sums[j] == 0)
			continue;
		kp_stack_t s = (kp_stack_t)(keys[j] & 0xffffffffu);
		uint32_t root = (uint32_t)(keys[j] >> 32);
		uint32_t depth = kp_stack_depth(p, s);
		ALLOC_GROW(fr, depth + 1, fr_alloc);
		kp_stack_frames(p, s, fr, depth);
		strbuf_reset(&sb);
		if (use_root) {
			strbuf_addstr(&sb, roots[root]);
		}
		for (uint32_t d = 0; d < depth; d++) {
			if (sb.len)
				strbuf_addch(&sb, ';');
			kp_frame_folded_name(p, fr[d], o->annotate, &sb);
		}
		if (!sb.len)
			continue;
		lines[nlines].len = (uint32_t)sb.len;
		lines[nlines].text = strbuf_detach(&sb, NULL);
		lines[nlines].value = sums[j];
		nlines++;
	}
	qsort(lines, nlines, sizeof(*lines), cmp_line);
	/* equal texts (same names, different frames) merge */
	int err = 0;
	for (size_t i = 0; i < nlines;) {
		size_t k = i + 1;
		double v = lines[i].value;
		while (k < nlines && !cmp_line(&lines[i], &lines[k]))
			v += lines[k++].value;
		char num[40];
		kp_format_count(v, num, sizeof(num));
		fwrite(lines[i].text, 1, lines[i].len, out);
		fputc(' ', out);
		fputs(num, out);
		if (fputc('\n', out) == EOF)
			err = 1;
		i = k;
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i].text);
	for (size_t r = 0; r < nroots; r++)
		free(roots[r]);
	free(roots);
	free(lines);
	free(fr);
	free(keys);
	free(sums);
	free(thread_root);
	strbuf_release(&sb);
	return err || ferror(out) ? -1 : 0;
}
