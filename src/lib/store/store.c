/* store.c: labels, windows, times and the backend table (store.h). */
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile/profile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* One line per backend; the first whose match() takes the spec opens it. The local
 * store, which takes any other spec (a directory), comes last. */
static const struct kst_backend *const backends[] = {
	NULL,
	&kst_backend_dir,
};

/* ---- labels ---- */

void kst_labels_release(struct kst_labels *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

/* The index of key, or of where it would go (*found = 0). */
static uint32_t label_pos(const struct kst_labels *l, const char *key, int *found)
{
	uint32_t lo = 0, hi = l->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].key, key);
		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

void kst_labels_set(struct kst_labels *l, const char *key, const char *value)
{
	int found;
	uint32_t i = label_pos(l, key, &found);
	if (found) {
		free(l->v[i].value);
		l->v[i].value = xstrdup(value);
		return;
	}
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof(*l->v));
	l->v[i].key = xstrdup(key);
	l->v[i].value = xstrdup(value);
	l->n++;
}

const char *kst_labels_get(const struct kst_labels *l, const char *key)
{
	int found;
	uint32_t i = label_pos(l, key, &found);
	return found ? l->v[i].value : NULL;
}

static int key_ok(const char *k, size_t len)
{
	if (!len || len > 64 || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)k[i]) || k[i] == '_' || k[i] == '.'))
			return 0;
	return 1;
}

int kst_label_parse(const char *text, struct kst_labels *l, struct strbuf *err)
{
	const char *eq = strchr(text, '=');
	if (!eq) {
		strbuf_addf(err, "label '%s' is not KEY=VALUE", text);
		return -1;
	}
	size_t klen = (size_t)(eq - text);
	if (!key_ok(text, klen)) {
		strbuf_addf(err, "label key '%.*s' is not a name (letters, digits, '_' and '.', up to 64 bytes)",
			    (int)(klen > 80 ? 80 : klen), text);
		return -1;
	}
	const char *v = eq + 1;
	if (strlen(v) > 1024 || strchr(v, '\n')) {
		strbuf_addf(err, "label '%.*s': the value is longer than 1024 bytes or has a newline", (int)klen, text);
		return -1;
	}
	char *key = xstrndup(text, klen);
	kst_labels_set(l, key, v);
	free(key);
	return 0;
}

void kst_labels_format(const struct kst_labels *l, struct strbuf *out)
{
	for (uint32_t i = 0; i < l->n; i++)
		strbuf_addf(out, "%s=%s\n", l->v[i].key, l->v[i].value);
}

int kst_labels_read(const char *text, struct kst_labels *l, struct strbuf *err)
{
	struct strbuf line = STRBUF_INIT;
	int rc = 0;
	for (const char *p = text; *p && !rc;) {
		size_t len = strcspn(p, "\n");
		strbuf_reset(&line);
		strbuf_add(&line, p, len);
		if (len)
			rc = kst_label_parse(line.buf, l, err);
		p += len + (p[len] == '\n');
	}
	strbuf_release(&line);
	return rc;
}

int kst_labels_match(const struct kst_labels *have, const struct kst_labels *want)
{
	for (uint32_t i = 0; i < want->n; i++) {
		const char *v = kst_labels_get(have, want->v[i].key);
		if (!v || strcmp(v, want->v[i].value))
			return 0;
	}
	return 1;
}

/* ---- windows ---- */

void kst_window_set_range(struct kp_profile *w, uint64_t start_ns, uint64_t end_ns)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRIu64, start_ns);
	kp_meta_set(w, KST_META_START, b);
	snprintf(b, sizeof(b), "%" PRIu64, end_ns);
	kp_meta_set(w, KST_META_END, b);
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int kst_window_range(const struct kp_profile *w, uint64_t *start_ns, uint64_t *end_ns, struct strbuf *err)
{
	if (parse_u64(kp_meta_get(w, KST_META_START), start_ns) ||
	    parse_u64(kp_meta_get(w, KST_META_END), end_ns) || *end_ns < *start_ns) {
		strbuf_addstr(err, "the profile is not an agent window (no valid " KST_META_START "/" KST_META_END ")");
		return -1;
	}
	return 0;
}

void kst_window_set_proc(struct kp_profile *w, int32_t pid, const struct kst_labels *l)
{
	char key[32];
	snprintf(key, sizeof(key), KST_META_PROC "%" PRId32, pid);
	struct strbuf sb = STRBUF_INIT;
	kst_labels_format(l, &sb);
	kp_meta_set(w, key, sb.buf);
	strbuf_release(&sb);
}

void kst_window_labels(const struct kp_profile *w, int32_t pid, struct kst_labels *out)
{
	struct strbuf err = STRBUF_INIT;
	kst_labels_release(out);
	const char *host = kp_meta_get(w, KST_META_HOST);
	if (host)
		kst_labels_set(out, "host", host);
	const char *own = kp_meta_get(w, KST_META_LABELS);
	if (own)
		kst_labels_read(own, out, &err); /* a bad line is skipped, not fatal */
	char key[32];
	snprintf(key, sizeof(key), "%" PRId32, pid);
	kst_labels_set(out, "pid", key);
	snprintf(key, sizeof(key), KST_META_PROC "%" PRId32, pid);
	const char *proc = kp_meta_get(w, key);
	if (proc) {
		strbuf_reset(&err);
		kst_labels_read(proc, out, &err);
	}
	strbuf_release(&err);
}

/* ---- times ---- */

static int unit_ns(char u, uint64_t *ns)
{
	switch (u) {
	case 's': *ns = 1000000000ull; return 0;
	case 'm': *ns = 60ull * 1000000000ull; return 0;
	case 'h': *ns = 3600ull * 1000000000ull; return 0;
	case 'd': *ns = 86400ull * 1000000000ull; return 0;
	case 'w': *ns = 7 * 86400ull * 1000000000ull; return 0;
	}
	return -1;
}

int kst_parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns, struct strbuf *err)
{
	const char *p = s;
	if (!strncmp(p, "now", 3)) {
		p += 3;
		if (!*p) {
			*out_ns = now_ns;
			return 0;
		}
	}
	if (*p == '-' && p[1]) { /* now-90m, -90m */
		char *end;
		errno = 0;
		unsigned long long n = strtoull(p + 1, &end, 10);
		uint64_t u;
		if (!errno && end != p + 1 && !unit_ns(end[0], &u) && !end[1] && n <= UINT64_MAX / u &&
		    n * u <= now_ns) {
			*out_ns = now_ns - n * u;
			return 0;
		}
		goto bad;
	}
	if (p != s)
		goto bad;
	if (*s == '@') { /* unix ns */
		if (!parse_u64(s + 1, out_ns))
			return 0;
		goto bad;
	}
	uint64_t secs;
	if (!parse_u64(s, &secs)) { /* unix seconds */
		if (secs > UINT64_MAX / 1000000000ull)
			goto bad;
		*out_ns = secs * 1000000000ull;
		return 0;
	}
	/* YYYY-MM-DD[(T| )HH:MM[:SS]][Z]: UTC */
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%d", &tm);
	if (!rest)
		goto bad;
	if (*rest == 'T' || *rest == ' ') {
		const char *r = strptime(rest + 1, "%H:%M:%S", &tm);
		if (!r)
			r = strptime(rest + 1, "%H:%M", &tm);
		if (!r)
			goto bad;
		rest = r;
	}
	if (*rest == 'Z')
		rest++;
	if (*rest)
		goto bad;
	time_t t = timegm(&tm);
	if (t < 0)
		goto bad;
	*out_ns = (uint64_t)t * 1000000000ull;
	return 0;
bad:
	strbuf_addf(err, "time '%s' is not understood: use 2026-12-06T05:00:00Z (UTC), unix seconds, "
		    "now, or now-90m / -2h / -1d", s);
	return -1;
}

/* ---- results ---- */

void kst_series_release(struct kst_series *s)
{
	for (uint32_t i = 0; i < s->ngroups; i++)
		free(s->groups[i]);
	free(s->groups);
	free(s->samples);
	memset(s, 0, sizeof(*s));
}

void kst_strlist_release(struct kst_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int kst_query_match(const struct kst_query *q, const struct kst_labels *labels)
{
	if (q->comm) {
		const char *c = kst_labels_get(labels, "comm");
		if (!c || strcmp(c, q->comm))
			return 0;
	}
	return kst_labels_match(labels, &q->where);
}

/* ---- dispatch ---- */

int kst_open(struct kst *s, const char *spec, int mode, struct strbuf *err)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const struct kst_backend *be = backends[i];
		if (!be || !be->match(spec))
			continue;
		if ((mode & KST_WRITE) && !be->write) {
			strbuf_addf(err, "'%s' is a %s source, not a sink", spec, be->name);
			return -1;
		}
		if ((mode & KST_READ) && !be->query) {
			strbuf_addf(err, "'%s' is a %s sink only: it cannot be read back", spec, be->name);
			return -1;
		}
		s->h = be->open(spec, mode, err);
		if (!s->h)
			return -1;
		s->be = be;
		return 0;
	}
	strbuf_addf(err, "'%s' is not a store directory or a clickhouse:// or pyroscope:// URL", spec);
	return -1;
}

int kst_write(struct kst *s, const struct kp_profile *window, struct strbuf *err)
{
	return s->be->write(s->h, window, err);
}

int kst_query(struct kst *s, const struct kst_query *q, struct kp_profile *out, struct strbuf *err)
{
	return s->be->query(s->h, q, out, err);
}

int kst_series(struct kst *s, const struct kst_query *q, const char *group_key, uint64_t step_ns,
	       struct kst_series *out, struct strbuf *err)
{
	if (!s->be->series) {
		strbuf_addf(err, "the %s backend has no time series", s->be->name);
		return -1;
	}
	return s->be->series(s->h, q, group_key, step_ns, out, err);
}

int kst_label_values(struct kst *s, const struct kst_query *q, const char *key, struct kst_strlist *out,
		     struct strbuf *err)
{
	if (!s->be->label_values) {
		strbuf_addf(err, "the %s backend cannot list label values", s->be->name);
		return -1;
	}
	return s->be->label_values(s->h, q, key, out, err);
}

int kst_range(struct kst *s, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err)
{
	if (!s->be->range) {
		strbuf_addf(err, "the %s backend cannot tell its time range", s->be->name);
		return -1;
	}
	return s->be->range(s->h, first_ns, last_ns, err);
}

void kst_close(struct kst *s)
{
	if (s->be)
		s->be->close(s->h);
	memset(s, 0, sizeof(*s));
}
