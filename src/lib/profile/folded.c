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
	if (len <= 15) {
		/* whole numbers, the usual case, exactly and without strtod */
		uint64_t v = 0;
		size_t i = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			v = v * 10 + (uint64_t)(s[i++] - '0');
		if (i == len) {
			*out = (double)v;
			return 0;
		}
	}
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

/* Frame of string s (interned from name[0..len)). */
static kp_frame_t fold_frame(struct kp_profile *p, struct fold_prev *st, kp_str_t s, const char *name, size_t len)
{
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
	/* the other frames, a batch of names at a time */
	const char *names[KP_STR_BATCH];
	uint32_t lens[KP_STR_BATCH];
	uint32_t ends[KP_STR_BATCH];
	kp_str_t ids[KP_STR_BATCH];
	while (start <= slen) {
		size_t nb = 0;
		while (nb < KP_STR_BATCH && start <= slen) {
			const char *semi = start < slen ? memchr(line + start, ';', slen - start) : NULL;
			size_t i = semi ? (size_t)(semi - line) : slen;
			if (i > start) {
				names[nb] = line + start;
				lens[nb] = (uint32_t)(i - start);
				ends[nb] = (uint32_t)i;
				nb++;
			}
			start = i + 1;
		}
		kp_str_batch(p, names, lens, ids, nb);
		for (size_t b = 0; b < nb; b++) {
			s = kp_stack_push(p, s, fold_frame(p, st, ids[b], names[b], lens[b]));
			if (st->n == st->nalloc) {
				ALLOC_GROW(st->end, st->n + 1, st->nalloc);
				st->stack = xreallocarray(st->stack, st->nalloc, sizeof(kp_stack_t));
			}
			st->end[st->n] = ends[b];
			st->stack[st->n] = s;
			st->n++;
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

static void root_text(const struct kp_profile *p, uint32_t t, enum kp_folded_root mode, struct strbuf *sb)
{
	const struct kp_thread *th = &p->threads[t];
	size_t start = sb->len;
	const char *comm = th->comm ? kp_str_get(p, th->comm) : "[unknown]";
	strbuf_addstr(sb, comm);
	for (size_t i = start; i < sb->len; i++)
		if (sb->buf[i] == ' ' || sb->buf[i] == ';')
			sb->buf[i] = sb->buf[i] == ' ' ? '_' : ':';
	/* an unknown (negative) PID shows as '?', as stackcollapse-perf.pl has it */
	if (mode == KP_ROOT_PID || mode == KP_ROOT_TID) {
		if (th->pid < 0)
			strbuf_addstr(sb, "-?");
		else
			strbuf_addf(sb, "-%d", th->pid);
	}
	if (mode == KP_ROOT_TID)
		strbuf_addf(sb, "/%d", th->tid);
}

/* Writing. Lines are sorted by the byte order of their stack text without building and
 * comparing whole texts: every distinct frame (and root) text gets two ranks in one byte
 * order, one as an inner frame (text followed by ';') and one as the last frame (text
 * alone). A line's key is the sequence of its frames' ranks, and since texts hold no ';'
 * (it is turned into ':'), keys compare exactly as the texts do; equal texts get equal
 * keys and their lines merge. */

struct rank_item {
	uint32_t off, len; /* in the text buffer */
	uint32_t slot;     /* 2 * text id + (1 if last) */
};

static int cmp_rank_item(const void *a, const void *b, void *arg)
{
	const struct rank_item *x = a, *y = b;
	const char *buf = arg;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(buf + x->off, buf + y->off, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

struct fold_entry {
	uint32_t key_off, key_len; /* ranks in the key buffer */
	double value;
};

static int cmp_entry(const void *a, const void *b, void *arg)
{
	const struct fold_entry *x = a, *y = b;
	const uint32_t *keys = arg;
	const uint32_t *kx = keys + x->key_off, *ky = keys + y->key_off;
	uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	for (uint32_t i = 0; i < n; i++)
		if (kx[i] != ky[i])
			return kx[i] < ky[i] ? -1 : 1;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Distinct root texts, with a hash for lookup. */
struct root_set {
	struct strbuf text; /* all root texts, each followed by ';' */
	uint32_t *off, *len;
	size_t n, alloc;
	uint32_t *hash; /* id + 1 */
	size_t hash_size;
};

static uint32_t root_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static uint32_t root_intern(struct root_set *rs, const char *s, size_t n)
{
	if ((rs->n + 1) * 2 > rs->hash_size) {
		size_t size = rs->hash_size ? rs->hash_size * 2 : 64;
		uint32_t *h = xcalloc(size, sizeof(*h));
		for (size_t id = 0; id < rs->n; id++) {
			size_t j = root_hash(rs->text.buf + rs->off[id], rs->len[id]) & (size - 1);
			while (h[j])
				j = (j + 1) & (size - 1);
			h[j] = (uint32_t)id + 1;
		}
		free(rs->hash);
		rs->hash = h;
		rs->hash_size = size;
	}
	size_t j = root_hash(s, n) & (rs->hash_size - 1);
	while (rs->hash[j]) {
		uint32_t id = rs->hash[j] - 1;
		if (rs->len[id] == n && !memcmp(rs->text.buf + rs->off[id], s, n))
			return id;
		j = (j + 1) & (rs->hash_size - 1);
	}
	if (rs->n == rs->alloc) {
		size_t a = rs->alloc;
		ALLOC_GROW(rs->off, rs->n + 1, a);
		rs->len = xreallocarray(rs->len, a, sizeof(*rs->len));
		rs->alloc = a;
	}
	rs->off[rs->n] = (uint32_t)rs->text.len;
	rs->len[rs->n] = (uint32_t)n;
	strbuf_add(&rs->text, s, n);
	strbuf_addch(&rs->text, ';');
	rs->hash[j] = (uint32_t)rs->n + 1;
	return (uint32_t)rs->n++;
}

/* Writes stack s root first into *buf (grown as needed) with one walk; returns its depth. */
static uint32_t stack_path(const struct kp_profile *p, kp_stack_t s, kp_frame_t **buf, size_t *alloc)
{
	uint32_t d = 0;
	for (; s; s = p->stacks[s].parent) {
		ALLOC_GROW(*buf, d + 1, *alloc);
		(*buf)[d++] = p->stacks[s].frame;
	}
	for (uint32_t i = 0; i < d / 2; i++) {
		kp_frame_t t = (*buf)[i];
		(*buf)[i] = (*buf)[d - 1 - i];
		(*buf)[d - 1 - i] = t;
	}
	return d;
}

/* Without a root, frames with empty text at the start of a stack are left out. */
static uint32_t leading_empty(const kp_frame_t *fr, uint32_t depth, const uint32_t *tlen, int use_root)
{
	uint32_t i = 0;
	if (!use_root)
		while (i < depth && !tlen[fr[i]])
			i++;
	return i;
}

int kp_folded_write(const struct kp_profile *p, const struct kp_folded_opts *o, FILE *out)
{
	int use_root = o->root != KP_ROOT_NONE;
	uint32_t *thread_root = xcalloc(p->nthreads ? p->nthreads : 1, sizeof(uint32_t));
	struct root_set rs = { STRBUF_INIT, NULL, NULL, 0, 0, NULL, 0 };
	struct strbuf sb = STRBUF_INIT, text = STRBUF_INIT;
	int err = 0;

	/* 1. root texts per thread */
	if (use_root) {
		for (uint32_t t = 0; t < p->nthreads; t++) {
			strbuf_reset(&sb);
			root_text(p, t, o->root, &sb);
			thread_root[t] = root_intern(&rs, sb.buf, sb.len);
		}
	}

	/* 2. sums per (root, stack) */
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

	/* 3. frame texts (frames 1..nframes-1) then root texts; each followed by ';' */
	size_t nf = p->nframes, ntexts = nf + rs.n;
	uint32_t *toff = xmalloc((ntexts ? ntexts : 1) * sizeof(uint32_t));
	uint32_t *tlen = xmalloc((ntexts ? ntexts : 1) * sizeof(uint32_t));
	for (size_t f = 1; f < nf; f++) {
		toff[f] = (uint32_t)text.len;
		kp_frame_folded_name(p, (kp_frame_t)f, o->annotate, &text);
		tlen[f] = (uint32_t)(text.len - toff[f]);
		strbuf_addch(&text, ';');
	}
	for (size_t r = 0; r < rs.n; r++) {
		toff[nf + r] = (uint32_t)text.len;
		tlen[nf + r] = rs.len[r];
		strbuf_add(&text, rs.text.buf + rs.off[r], rs.len[r] + 1);
	}

	/* 4. ranks: rank[2 * t] as an inner frame, rank[2 * t + 1] as the last one */
	struct rank_item *items = xmalloc((2 * ntexts + 1) * sizeof(*items));
	size_t nitems = 0;
	for (size_t t = 1; t < ntexts; t++) {
		if (t == nf && !rs.n)
			break;
		items[nitems++] = (struct rank_item){ toff[t], tlen[t] + 1, (uint32_t)(2 * t) };
		items[nitems++] = (struct rank_item){ toff[t], tlen[t], (uint32_t)(2 * t + 1) };
	}
	qsort_r(items, nitems, sizeof(*items), cmp_rank_item, text.buf);
	uint32_t *rank = xcalloc(2 * ntexts + 2, sizeof(uint32_t));
	/* a rank stands for one string: where to print it from */
	uint32_t *rank_off = xmalloc((nitems + 1) * sizeof(uint32_t));
	uint32_t *rank_len = xmalloc((nitems + 1) * sizeof(uint32_t));
	uint32_t rk = 0;
	for (size_t i = 0; i < nitems; i++) {
		if (i && cmp_rank_item(&items[i - 1], &items[i], text.buf))
			rk++;
		rank[items[i].slot] = rk;
		rank_off[rk] = items[i].off;
		rank_len[rk] = items[i].len;
	}
	free(items);

	/* 5. one entry per (root, stack) with a non-zero sum, keyed by ranks */
	struct fold_entry *ents = xmalloc((used ? used : 1) * sizeof(*ents));
	size_t nents = 0;
	uint32_t *kbuf = NULL;
	size_t klen = 0, kalloc = 0;
	kp_frame_t *fr = NULL;
	size_t fr_alloc = 0;
	for (size_t j = 0; j < cap; j++) {
		if (keys[j] == UINT64_MAX || sums[j] == 0)
			continue;
		kp_stack_t s = (kp_stack_t)(keys[j] & 0xffffffffu);
		uint32_t root = (uint32_t)(keys[j] >> 32);
		uint32_t depth = stack_path(p, s, &fr, &fr_alloc), skip;
		skip = leading_empty(fr, depth, tlen, use_root);
		size_t n = depth - skip + (use_root ? 1 : 0);
		if (!n)
			continue; /* nothing to print */
		ALLOC_GROW(kbuf, klen + n, kalloc);
		uint32_t *k = kbuf + klen;
		size_t d = 0;
		if (use_root)
			k[d++] = rank[2 * (nf + root) + (depth == 0)];
		for (uint32_t i = skip; i < depth; i++)
			k[d++] = rank[2 * (size_t)fr[i] + (i + 1 == depth)];
		ents[nents].key_off = (uint32_t)klen;
		ents[nents].key_len = (uint32_t)n;
		ents[nents].value = sums[j];
		nents++;
		klen += n;
	}
	qsort_r(ents, nents, sizeof(*ents), cmp_entry, kbuf);

	/* 6. print, merging lines with equal text */
	for (size_t i = 0; i < nents;) {
		size_t k = i + 1;
		double v = ents[i].value;
		while (k < nents && !cmp_entry(&ents[i], &ents[k], kbuf))
			v += ents[k++].value;
		const uint32_t *key = kbuf + ents[i].key_off;
		strbuf_reset(&sb);
		for (uint32_t d = 0; d < ents[i].key_len; d++)
			strbuf_add(&sb, text.buf + rank_off[key[d]], rank_len[key[d]]);
		char num[40];
		int nl = kp_format_count(v, num, sizeof(num));
		strbuf_addch(&sb, ' ');
		strbuf_add(&sb, num, (size_t)nl);
		strbuf_addch(&sb, '\n');
		if (fwrite(sb.buf, 1, sb.len, out) != sb.len)
			err = 1;
		i = k;
	}
	free(ents);
	free(kbuf);
	free(fr);
	free(rank);
	free(rank_off);
	free(rank_len);
	free(toff);
	free(tlen);
	free(keys);
	free(sums);
	free(thread_root);
	free(rs.off);
	free(rs.len);
	free(rs.hash);
	strbuf_release(&rs.text);
	strbuf_release(&text);
	strbuf_release(&sb);
	return err || ferror(out) ? -1 : 0;
}
