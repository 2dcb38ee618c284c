/* store_dir_read.c: queries over the local store (store_dir.c; docs/store-format.md):
 * a query's samples merged into a profile, time series, label values, the time range
 * and the gaps between windows. Each read is one snapshot (a read transaction). */
#include "store/store.h"
#include "store/store_dir_db.h"

#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* What a read keeps for the store's labelsets, stacks, frames and strings it met. */
struct rctx {
	struct dir_store *s;
	const struct kst_query *q;
	struct kp_profile *out;
	int64_t nls, nstacks, nframes, nstrs;  /* max ids + 1 */
	uint8_t *ls_state;    /* 0 not read, 1 matches, 2 does not */
	uint32_t *ls_thread;  /* its thread in out */
	struct kst_labels *ls_labels; /* kept for label_values/series (when keep_labels) */
	int keep_labels;
	kp_stack_t *stackmap; /* store stack -> out stack (0: not read; stacks never map to the root but
			       * the empty stack, which is read each time it is met) */
	uint8_t *stack_read;
	kp_frame_t *framemap;
	kp_str_t *strmap;
	uint8_t *str_read;
	/* (pid, comm) -> thread */
	uint32_t *th_hash, th_size, th_used;
};

static void rctx_release(struct rctx *r)
{
	free(r->ls_state);
	free(r->ls_thread);
	if (r->ls_labels)
		for (int64_t i = 0; i < r->nls; i++)
			kst_labels_release(&r->ls_labels[i]);
	free(r->ls_labels);
	free(r->stackmap);
	free(r->stack_read);
	free(r->framemap);
	free(r->strmap);
	free(r->str_read);
	free(r->th_hash);
}

static int rctx_init(struct rctx *r, struct dir_store *s, const struct kst_query *q, struct kp_profile *out,
		     int keep_labels)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->q = q;
	r->out = out;
	r->keep_labels = keep_labels;
	if (sd_query_int(s, "SELECT max(id) FROM labelset", &r->nls) ||
	    sd_query_int(s, "SELECT max(id) FROM stack", &r->nstacks) ||
	    sd_query_int(s, "SELECT max(id) FROM frame", &r->nframes) || sd_query_int(s, "SELECT max(id) FROM str", &r->nstrs))
		return -1;
	r->nls++, r->nstacks++, r->nframes++, r->nstrs++;
	r->ls_state = xcalloc((size_t)r->nls, 1);
	r->ls_thread = xcalloc((size_t)r->nls, sizeof(*r->ls_thread));
	if (keep_labels)
		r->ls_labels = xcalloc((size_t)r->nls, sizeof(*r->ls_labels));
	if (out) {
		r->stackmap = xcalloc((size_t)r->nstacks, sizeof(*r->stackmap));
		r->stack_read = xcalloc((size_t)r->nstacks, 1);
		r->framemap = xcalloc((size_t)r->nframes, sizeof(*r->framemap));
		r->strmap = xcalloc((size_t)r->nstrs, sizeof(*r->strmap));
		r->str_read = xcalloc((size_t)r->nstrs, 1);
	}
	return 0;
}

static uint32_t thread_for(struct rctx *r, int32_t pid, const char *comm)
{
	struct kp_profile *p = r->out;
	kp_str_t c = kp_strz(p, comm);
	if ((r->th_used + 1) * 2 > r->th_size) {
		uint32_t nsize = r->th_size ? r->th_size * 2 : 64;
		uint32_t *nh = xcalloc(nsize, sizeof(*nh));
		for (uint32_t i = 0; i < r->th_size; i++) {
			uint32_t t = r->th_hash[i];
			if (!t)
				continue;
			uint32_t j = ((uint32_t)p->threads[t].pid * 2654435761u ^ p->threads[t].comm) & (nsize - 1);
			while (nh[j])
				j = (j + 1) & (nsize - 1);
			nh[j] = t;
		}
		free(r->th_hash);
		r->th_hash = nh;
		r->th_size = nsize;
	}
	uint32_t j = ((uint32_t)pid * 2654435761u ^ c) & (r->th_size - 1);
	while (r->th_hash[j]) {
		uint32_t t = r->th_hash[j];
		if (p->threads[t].pid == pid && p->threads[t].comm == c)
			return t;
		j = (j + 1) & (r->th_size - 1);
	}
	uint32_t t = kp_add_thread(p, pid, pid, comm);
	r->th_hash[j] = t;
	r->th_used++;
	return t;
}

/* 1 when labelset ls passes the query's filter, 0 when not, -1 on error. */
static int labelset_ok(struct rctx *r, int64_t ls, struct strbuf *err)
{
	if (ls <= 0 || ls >= r->nls) {
		strbuf_addf(err, "store '%s' is damaged: a sample names labelset %" PRId64 ", which it does not hold",
			    r->s->dir, ls);
		return -1;
	}
	if (r->ls_state[ls])
		return r->ls_state[ls] == 1;
	sqlite3_stmt *st = sd_stmt(r->s, ST_LS_GET);
	if (!st)
		return sd_fail(r->s, "read", err);
	sqlite3_bind_int64(st, 1, ls);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE) {
			strbuf_addf(err, "store '%s' is damaged: labelset %" PRId64 " is missing", r->s->dir, ls);
			return -1;
		}
		return sd_fail(r->s, "read", err);
	}
	struct kst_labels l = KST_LABELS_INIT;
	struct strbuf e = STRBUF_INIT;
	kst_labels_read((const char *)sqlite3_column_text(st, 0), &l, &e); /* a bad line is skipped */
	strbuf_release(&e);
	sqlite3_reset(st);
	int ok = kst_query_match(r->q, &l);
	r->ls_state[ls] = ok ? 1 : 2;
	if (ok && r->out) {
		const char *pid = kst_labels_get(&l, "pid");
		const char *comm = kst_labels_get(&l, "comm");
		r->ls_thread[ls] = thread_for(r, pid ? (int32_t)strtol(pid, NULL, 10) : -1, comm ? comm : "");
	}
	if (ok && r->keep_labels)
		r->ls_labels[ls] = l;
	else
		kst_labels_release(&l);
	return ok;
}

/* Steps statement which (one row by id): 1 with the row in *st (the caller reads it, then
 * resets st), 0 when there is no such row, -1 after an error in err. */
static int row_get(struct rctx *r, int which, int64_t id, sqlite3_stmt **out, struct strbuf *err)
{
	sqlite3_stmt *st = sd_stmt(r->s, which);
	if (!st)
		return sd_fail(r->s, "read", err);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = st;
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sd_fail(r->s, "read", err);
}

static int read_str(struct rctx *r, int64_t id, kp_str_t *out, struct strbuf *err)
{
	if (!id) {
		*out = 0;
		return 0;
	}
	if (id < 0 || id >= r->nstrs)
		goto damaged;
	if (!r->str_read[id]) {
		sqlite3_stmt *st;
		int rc = row_get(r, ST_STR_GET, id, &st, err);
		if (rc <= 0) {
			if (rc < 0)
				return -1;
			goto damaged;
		}
		r->strmap[id] = kp_str(r->out, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		r->str_read[id] = 1;
		sqlite3_reset(st);
	}
	*out = r->strmap[id];
	return 0;
damaged:
	strbuf_addf(err, "store '%s' is damaged: string %" PRId64 " is missing", r->s->dir, id);
	return -1;
}

static int read_frame(struct rctx *r, int64_t id, kp_frame_t *out, struct strbuf *err)
{
	if (id <= 0 || id >= r->nframes)
		goto damaged;
	if (!r->framemap[id]) {
		sqlite3_stmt *st;
		int rc = row_get(r, ST_FRAME_GET, id, &st, err);
		if (rc <= 0) {
			if (rc < 0)
				return -1;
			goto damaged;
		}
		int64_t v[5];
		for (int i = 0; i < 5; i++)
			v[i] = sqlite3_column_int64(st, i);
		sqlite3_reset(st);
		struct kp_frame f = { 0 };
		if (read_str(r, v[0], &f.name, err) || read_str(r, v[1], &f.module, err) ||
		    read_str(r, v[2], &f.file, err))
			return -1;
		f.line = (uint32_t)v[3];
		f.flags = (uint32_t)v[4];
		r->framemap[id] = kp_frame(r->out, &f);
	}
	*out = r->framemap[id];
	return 0;
damaged:
	strbuf_addf(err, "store '%s' is damaged: frame %" PRId64 " is missing", r->s->dir, id);
	return -1;
}

static int read_stack(struct rctx *r, int64_t id, kp_stack_t *out, struct strbuf *err)
{
	if (id <= 0 || id >= r->nstacks)
		goto damaged;
	if (!r->stack_read[id]) {
		sqlite3_stmt *st;
		int rc = row_get(r, ST_STACK_GET, id, &st, err);
		if (rc <= 0) {
			if (rc < 0)
				return -1;
			goto damaged;
		}
		const unsigned char *p = sqlite3_column_blob(st, 0);
		const unsigned char *end = p + sqlite3_column_bytes(st, 0);
		kp_stack_t sid = 0;
		int bad = 0;
		while (p && p < end) {
			uint64_t f;
			kp_frame_t fr = 0;
			if (sd_get_varint(&p, end, &f) || f > INT64_MAX) {
				bad = 1;
				break;
			}
			/* the blob stays valid: read_frame uses other statements */
			if (read_frame(r, (int64_t)f, &fr, err)) {
				sqlite3_reset(st);
				return -1;
			}
			sid = kp_stack_push(r->out, sid, fr);
		}
		sqlite3_reset(st);
		if (bad)
			goto damaged;
		r->stackmap[id] = sid;
		r->stack_read[id] = 1;
	}
	*out = r->stackmap[id];
	return 0;
damaged:
	strbuf_addf(err, "store '%s' is damaged: stack %" PRId64 " is missing or malformed", r->s->dir, id);
	return -1;
}

/* The rows of the windows q selects: (start_ns, labelset, stack, samples, cpu_ns). */
static sqlite3_stmt *select_rows(struct dir_store *s, const struct kst_query *q, const char *cols, const char *tail,
				 int join)
{
	int64_t maxwin = 0;
	sqlite3_stmt *st = sd_stmt(s, ST_MAXWIN_GET);
	if (!st)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		maxwin = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	int64_t from = q->from_ns > INT64_MAX ? INT64_MAX : (int64_t)q->from_ns;
	int64_t to = q->to_ns > INT64_MAX ? INT64_MAX : (int64_t)q->to_ns;
	int64_t lo = from - (maxwin < 0 ? 0 : maxwin) - 1;
	char *sql = xasprintf("SELECT %s FROM win w%s"
			      " WHERE w.start_ns >= ?3 AND w.start_ns < ?2 AND (w.end_ns > ?1 OR w.start_ns >= ?1) %s",
			      cols, join ? " JOIN sample s ON s.win = w.id" : "", tail);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		st = NULL;
	free(sql);
	if (st) {
		sqlite3_bind_int64(st, 1, from);
		sqlite3_bind_int64(st, 2, to);
		sqlite3_bind_int64(st, 3, lo);
	}
	return st;
}

int sd_begin_read(struct dir_store *s, struct strbuf *err)
{
	/* a snapshot: every statement of the call sees the same windows */
	if (sd_exec(s, "BEGIN") || sd_exec(s, "SELECT 1 FROM win LIMIT 1"))
		return sd_fail(s, "read", err);
	return 0;
}

void sd_end_read(struct dir_store *s)
{
	for (int i = 0; i < ST_N; i++)
		if (s->st[i])
			sqlite3_reset(s->st[i]);
	sd_exec(s, "COMMIT");
}

int sd_query(void *h, const struct kst_query *q, struct kp_profile *out, struct strbuf *err)
{
	struct dir_store *s = h;
	struct rctx r;
	sqlite3_stmt *st = NULL;
	int ret = -1;
	if (sd_begin_read(s, err))
		return -1;
	if (rctx_init(&r, s, q, out, 0)) {
		sd_fail(s, "read", err);
		goto out;
	}
	if (!out->nvalues) {
		kp_add_value_type(out, "samples", "count");
		kp_add_value_type(out, "cpu_ns", "nanoseconds");
		out->default_value = 0;
	}
	int vs = kp_find_value_type(out, "samples"), vc = kp_find_value_type(out, "cpu_ns");
	st = select_rows(s, q, "w.start_ns, w.end_ns, s.labelset, s.stack, s.samples, s.cpu_ns", "ORDER BY w.start_ns", 1);
	if (!st) {
		sd_fail(s, "read", err);
		goto out;
	}
	double *vals = xcalloc(out->nvalues, sizeof(*vals));
	uint64_t base = q->from_ns, first = UINT64_MAX, last = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t ws = (uint64_t)sqlite3_column_int64(st, 0), we = (uint64_t)sqlite3_column_int64(st, 1);
		if (first == UINT64_MAX) {
			first = ws;
			if (!base)
				base = ws;
		}
		if (we > last)
			last = we;
		int ok = labelset_ok(&r, sqlite3_column_int64(st, 2), err);
		if (ok < 0)
			break;
		if (!ok)
			continue;
		kp_stack_t sid = 0;
		if (read_stack(&r, sqlite3_column_int64(st, 3), &sid, err)) {
			ok = -1;
			break;
		}
		if (vs >= 0)
			vals[vs] = sqlite3_column_double(st, 4);
		if (vc >= 0)
			vals[vc] = sqlite3_column_double(st, 5);
		kp_add_sample(out, sid, r.ls_thread[sqlite3_column_int64(st, 2)], ws > base ? ws - base : 0, vals);
	}
	free(vals);
	if (rc == SQLITE_ROW) /* labelset_ok or read_stack said why */
		goto out;
	if (rc != SQLITE_DONE) {
		sd_fail(s, "read", err);
		goto out;
	}
	if (!kp_meta_get(out, "kind"))
		kp_meta_set(out, "kind", "cpu");
	sqlite3_finalize(st);
	st = select_rows(s, q, "sum(w.lost)", "", 0);
	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
		char b[32];
		snprintf(b, sizeof(b), "%" PRId64, (int64_t)sqlite3_column_int64(st, 0));
		kp_meta_set(out, "lost_samples", b);
	}
	if (first != UINT64_MAX) {
		char b[32];
		snprintf(b, sizeof(b), "%" PRIu64, base);
		kp_meta_set(out, "query_base_ns", b);
		snprintf(b, sizeof(b), "%" PRIu64, first);
		kp_meta_set(out, "query_first_ns", b);
		snprintf(b, sizeof(b), "%" PRIu64, last);
		kp_meta_set(out, "query_last_ns", b);
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	rctx_release(&r);
	sd_end_read(s);
	return ret;
}

int sd_series(void *h, const struct kst_query *q, const char *group_key, uint64_t step_ns,
		      struct kst_series *out, struct strbuf *err)
{
	struct dir_store *s = h;
	struct rctx r;
	sqlite3_stmt *st = NULL;
	int ret = -1;
	memset(out, 0, sizeof(*out));
	if (!step_ns) {
		strbuf_addstr(err, "the series step must be more than 0");
		return -1;
	}
	if (sd_begin_read(s, err))
		return -1;
	if (rctx_init(&r, s, q, NULL, 1)) {
		sd_fail(s, "read", err);
		goto out;
	}
	/* the range: the query's, or the selected windows' */
	uint64_t from = q->from_ns, to = q->to_ns;
	if (!from || to == UINT64_MAX) {
		st = select_rows(s, q, "min(w.start_ns), max(w.end_ns)", "", 0);
		if (!st || sqlite3_step(st) != SQLITE_ROW) {
			sd_fail(s, "read", err);
			goto out;
		}
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) { /* no window */
			ret = 0;
			goto out;
		}
		if (!from)
			from = (uint64_t)sqlite3_column_int64(st, 0);
		if (to == UINT64_MAX)
			to = (uint64_t)sqlite3_column_int64(st, 1);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (to <= from)
		to = from + 1;
	uint64_t nsteps = (to - from - 1) / step_ns + 1;
	if (nsteps > 1000000) {
		strbuf_addf(err, "a series of %" PRIu64 " steps is too long: use a longer step", nsteps);
		goto out;
	}
	out->from_ns = from;
	out->step_ns = step_ns;
	out->nsteps = (uint32_t)nsteps;
	st = select_rows(s, q, "w.start_ns, s.labelset, sum(s.samples)", "GROUP BY w.id, s.labelset", 1);
	if (!st) {
		sd_fail(s, "read", err);
		goto out;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t ws = (uint64_t)sqlite3_column_int64(st, 0);
		int64_t ls = sqlite3_column_int64(st, 1);
		int ok = labelset_ok(&r, ls, err);
		if (ok < 0)
			goto out;
		if (!ok)
			continue;
		uint64_t step = ws < from ? 0 : (ws - from) / step_ns;
		if (step >= nsteps)
			step = nsteps - 1;
		const char *v = group_key ? kst_labels_get(&r.ls_labels[ls], group_key) : NULL;
		v = v ? v : "";
		uint32_t g;
		for (g = 0; g < out->ngroups && strcmp(out->groups[g], v); g++)
			;
		if (g == out->ngroups) {
			out->groups = xreallocarray(out->groups, g + 1, sizeof(*out->groups));
			out->groups[g] = xstrdup(v);
			out->samples = xreallocarray(out->samples, (size_t)(g + 1) * nsteps, sizeof(*out->samples));
			memset(out->samples + (size_t)g * nsteps, 0, nsteps * sizeof(*out->samples));
			out->ngroups++;
		}
		out->samples[(size_t)g * nsteps + step] += sqlite3_column_double(st, 2);
	}
	if (rc != SQLITE_DONE) {
		sd_fail(s, "read", err);
		goto out;
	}
	ret = 0;
out:
	if (ret)
		kst_series_release(out);
	sqlite3_finalize(st);
	rctx_release(&r);
	sd_end_read(s);
	return ret;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct values of key (NULL: the distinct keys) among the label sets q selects. */
static int label_scan(void *h, const struct kst_query *q, const char *key, struct kst_strlist *out,
		      struct strbuf *err)
{
	struct dir_store *s = h;
	struct rctx r;
	sqlite3_stmt *st = NULL;
	int ret = -1;
	memset(out, 0, sizeof(*out));
	if (sd_begin_read(s, err))
		return -1;
	if (rctx_init(&r, s, q, NULL, 1)) {
		sd_fail(s, "read", err);
		goto out;
	}
	st = select_rows(s, q, "DISTINCT s.labelset", "", 1);
	if (!st) {
		sd_fail(s, "read", err);
		goto out;
	}
	int rc;
	size_t alloc = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ls = sqlite3_column_int64(st, 0);
		int ok = labelset_ok(&r, ls, err);
		if (ok < 0)
			goto out;
		if (!ok)
			continue;
		const struct kst_labels *l = &r.ls_labels[ls];
		for (uint32_t i = 0; i < l->n; i++) {
			if (key && strcmp(l->v[i].key, key))
				continue;
			ALLOC_GROW(out->v, out->n + 1, alloc);
			out->v[out->n++] = xstrdup(key ? l->v[i].value : l->v[i].key);
		}
	}
	if (rc != SQLITE_DONE) {
		sd_fail(s, "read", err);
		goto out;
	}
	if (out->n > 1) /* (no list at all when nothing matched) */
		qsort(out->v, out->n, sizeof(*out->v), str_cmp);
	size_t n = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (n && !strcmp(out->v[n - 1], out->v[i]))
			free(out->v[i]);
		else
			out->v[n++] = out->v[i];
	}
	out->n = n;
	ret = 0;
out:
	if (ret)
		kst_strlist_release(out);
	sqlite3_finalize(st);
	rctx_release(&r);
	sd_end_read(s);
	return ret;
}

int sd_label_values(void *h, const struct kst_query *q, const char *key, struct kst_strlist *out,
			    struct strbuf *err)
{
	if (!key) {
		memset(out, 0, sizeof(*out));
		strbuf_addstr(err, "no label key given");
		return -1;
	}
	return label_scan(h, q, key, out, err);
}

int kst_dir_label_keys(void *h, const struct kst_query *q, struct kst_strlist *out, struct strbuf *err)
{
	return label_scan(h, q, NULL, out, err);
}

int sd_range(void *h, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err)
{
	struct dir_store *s = h;
	int64_t a, b;
	*first_ns = *last_ns = 0;
	if (sd_begin_read(s, err))
		return -1;
	int rc = sd_query_int(s, "SELECT min(start_ns) FROM win", &a) || sd_query_int(s, "SELECT max(end_ns) FROM win", &b);
	if (rc)
		sd_fail(s, "read", err);
	sd_end_read(s);
	if (rc)
		return -1;
	*first_ns = (uint64_t)a;
	*last_ns = (uint64_t)b;
	return 0;
}

/* ---- gaps ---- */

void kst_gaps_release(struct kst_gaps *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].host);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

int kst_dir_gaps(void *h, uint64_t from_ns, uint64_t to_ns, struct kst_gaps *out, struct strbuf *err)
{
	struct dir_store *s = h;
	sqlite3_stmt *st = NULL;
	size_t alloc = 0;
	int ret = -1;
	memset(out, 0, sizeof(*out));
	if (sd_begin_read(s, err))
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT host, start_ns, end_ns FROM win WHERE start_ns < ?2 AND end_ns > ?1"
				      " ORDER BY host, start_ns", -1, &st, NULL) != SQLITE_OK) {
		sd_fail(s, "read", err);
		goto out;
	}
	sqlite3_bind_int64(st, 1, from_ns > INT64_MAX ? INT64_MAX : (int64_t)from_ns);
	sqlite3_bind_int64(st, 2, to_ns > INT64_MAX ? INT64_MAX : (int64_t)to_ns);
	char *host = NULL;
	uint64_t reach = 0, last_len = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *hname = (const char *)sqlite3_column_text(st, 0);
		uint64_t a = (uint64_t)sqlite3_column_int64(st, 1), b = (uint64_t)sqlite3_column_int64(st, 2);
		uint64_t len = b - a;
		if (!host || strcmp(host, hname)) {
			free(host);
			host = xstrdup(hname);
			reach = b;
			last_len = len;
			continue;
		}
		/* a gap: more time between the windows than the longer of the two lasts */
		if (a > reach && a - reach > (len > last_len ? len : last_len)) {
			ALLOC_GROW(out->v, out->n + 1, alloc);
			out->v[out->n].host = xstrdup(host);
			out->v[out->n].from_ns = reach;
			out->v[out->n].to_ns = a;
			out->n++;
		}
		if (b > reach)
			reach = b;
		last_len = len;
	}
	free(host);
	if (rc != SQLITE_DONE) {
		sd_fail(s, "read", err);
		kst_gaps_release(out);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	sd_end_read(s);
	return ret;
}
