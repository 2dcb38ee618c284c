/* store_clickhouse.c: the ClickHouse backend of store.h (clickhouse://HOST:PORT/DB), over
 * ClickHouse's HTTP interface with libcurl. docs/store-clickhouse.md describes the schema
 * (kiln creates it) and why writes are idempotent:
 *
 *   kiln_schema   (version)                             the schema version, refused when newer
 *   kiln_frames   (hash, name, module, file, line, ...) each frame once (ReplacingMergeTree)
 *   kiln_stacks   (hash, frames: Array(UInt64))         each stack once, root first
 *   kiln_samples  (host, start_ns, end_ns, window_id, pid, comm, service, lk, lv,
 *                  stack, samples, cpu_ns)              one row per (window, process, stack)
 *
 * Queries aggregate on the server (GROUP BY) and come back as TSV, read by kst_ch_rows
 * (ch_answers.c, which also builds the query's profile from them). */
#include "store/clickhouse.h"
#include "store/store.h"
#include "store/store_url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "util/hash.h"
#include "util/netlibs.h"
#include "util/strbuf.h"
#include "util/u64map.h"
#include "util/xalloc.h"

#define CH_SCHEMA_VERSION 1
#define CH_MAX_ANSWER (1024ull << 20) /* an answer larger than this is refused */
#define CH_SENT_MAX (1u << 20)         /* hashes remembered as stored, per kind */

/* ---- hashing (FNV-1a, then mixed): frames by content, stacks by their frames ---- */
static uint64_t fnv_str(uint64_t h, const char *s)
{
	return hash_fnv1a(h, s, strlen(s) + 1); /* the NUL separates fields */
}

static uint64_t frame_hash(const struct kp_profile *p, kp_frame_t f)
{
	const struct kp_frame *fr = &p->frames[f];
	uint64_t h = HASH_FNV1A_INIT;
	h = fnv_str(h, kp_str_get(p, fr->name));
	h = fnv_str(h, kp_str_get(p, fr->module));
	h = fnv_str(h, kp_str_get(p, fr->file));
	uint64_t nums[3] = { fr->line, fr->flags, fr->addr };
	h = hash_fnv1a(h, nums, sizeof(nums));
	return hash_mix64(h);
}

/* ---- the connection ---- */
struct ch {
	CURL *curl;
	char *hostport;        /* for messages */
	char *url;             /* http://HOST:PORT/ */
	char *db;
	long connect_ms, total_ms;
	struct u64set sent_frames, sent_stacks; /* known to be stored */
	char curl_err[CURL_ERROR_SIZE];
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct strbuf *sb = arg;
	size_t n = size * nmemb;
	if (sb->len + n > CH_MAX_ANSWER)
		return 0; /* curl stops with a write error */
	strbuf_add(sb, ptr, n);
	return n;
}

/* The first line of a server's error answer, printable, without ClickHouse's repetition. */
static void add_server_message(struct strbuf *err, const char *body, size_t len)
{
	size_t n = 0;
	while (n < len && body[n] != '\n' && n < 300)
		n++;
	const char *what = memmem(body, n, ", e.what() = ", 13);
	if (what)
		n = (size_t)(what - body);
	size_t start = err->len;
	strbuf_add(err, body, n);
	for (size_t k = start; k < err->len; k++)
		if ((unsigned char)err->buf[k] < 0x20 || (unsigned char)err->buf[k] >= 0x7f)
			err->buf[k] = '?';
}

/* POSTs body to the server, with insert (an INSERT statement) in the URL when not NULL.
 * The answer goes to out; anything but 200 is an error naming the server. */
static int ch_post(struct ch *c, const char *insert, const char *body, size_t len, struct strbuf *out,
		   struct strbuf *err)
{
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s?wait_end_of_query=1", c->url);
	if (insert) {
		char *e = dl_curl_easy_escape(c->curl, insert, 0);
		if (!e) {
			strbuf_release(&url);
			strbuf_addstr(err, "out of memory");
			return -1;
		}
		strbuf_addf(&url, "&query=%s", e);
		dl_curl_free(e);
	}
	strbuf_reset(out);
	c->curl_err[0] = '\0';
	dl_curl_easy_setopt(c->curl, CURLOPT_URL, url.buf);
	dl_curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	dl_curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	dl_curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	dl_curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	dl_curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
	CURLcode cc = dl_curl_easy_perform(c->curl);
	strbuf_release(&url);
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR && out->len + 1 > CH_MAX_ANSWER / 2)
			strbuf_addf(err, "clickhouse at '%s' answered more than %llu MiB; narrow the query", c->hostport,
				    CH_MAX_ANSWER >> 20);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			strbuf_addf(err, "clickhouse at '%s' did not answer within %ld s (%s)", c->hostport,
				    c->total_ms / 1000, c->curl_err[0] ? c->curl_err : dl_curl_easy_strerror(cc));
		else
			strbuf_addf(err, "cannot reach clickhouse at '%s': %s", c->hostport,
				    c->curl_err[0] ? c->curl_err : dl_curl_easy_strerror(cc));
		return -1;
	}
	long status = 0;
	dl_curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		strbuf_addf(err, "clickhouse at '%s' answered HTTP %ld: ", c->hostport, status);
		if (out->len)
			add_server_message(err, out->buf, out->len);
		else
			strbuf_addstr(err, "(no message)");
		return -1;
	}
	return 0;
}

static int ch_sql(struct ch *c, const char *sql, struct strbuf *out, struct strbuf *err)
{
	return ch_post(c, NULL, sql, strlen(sql), out, err);
}

/* Appends s as the inside of a quoted SQL string or a TSV field: backslash escapes for
 * the backslash, quotes, tab, newline, CR and NUL (both forms read them back). */
static void add_escaped(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		char c = s[k];
		switch (c) {
		case '\\': strbuf_add(sb, "\\\\", 2); break;
		case '\'': strbuf_add(sb, "\\'", 2); break;
		case '\t': strbuf_add(sb, "\\t", 2); break;
		case '\n': strbuf_add(sb, "\\n", 2); break;
		case '\r': strbuf_add(sb, "\\r", 2); break;
		case '\0': strbuf_add(sb, "\\0", 2); break;
		default: strbuf_addch(sb, c); break;
		}
	}
}

static void add_escaped_z(struct strbuf *sb, const char *s)
{
	add_escaped(sb, s, strlen(s));
}

/* ---- the spec: clickhouse://HOST[:PORT]/DB[?timeout=S&connect_timeout=S] ---- */
static int match_clickhouse(const char *spec)
{
	return !strncmp(spec, "clickhouse://", 13);
}

static int parse_spec(struct ch *c, const char *spec, struct strbuf *err)
{
	struct kst_url u;
	int rc = kst_url_parse(spec, "clickhouse://", 8123, 60000, &u);
	if (!rc && u.path_len && isdigit((unsigned char)u.path[0])) { /* not a database name */
		free(u.hostport);
		rc = -1;
	}
	if (rc) {
		strbuf_addf(err, "'%s' is not a clickhouse URL: use clickhouse://HOST:PORT/DB "
			    "(optionally ?timeout=SECONDS&connect_timeout=SECONDS)", spec);
		return -1;
	}
	c->hostport = u.hostport;
	c->connect_ms = u.connect_ms;
	c->total_ms = u.total_ms;
	c->url = xasprintf("http://%s/", c->hostport);
	c->db = u.path_len ? xstrndup(u.path, u.path_len) : xstrdup("kiln");
	return 0;
}

static void ch_close(void *h)
{
	struct ch *c = h;
	if (!c)
		return;
	if (c->curl)
		dl_curl_easy_cleanup(c->curl);
	free(c->hostport);
	free(c->url);
	free(c->db);
	u64set_release(&c->sent_frames);
	u64set_release(&c->sent_stacks);
	free(c);
}

/* The schema, version CH_SCHEMA_VERSION. docs/store-clickhouse.md explains each table. */
static const char *const schema_sql[] = {
	"kiln_schema (version UInt32, kiln String) ENGINE = TinyLog",
	"kiln_frames (hash UInt64, name String, module String, file String, "
	"line UInt32, flags UInt32, addr UInt64) ENGINE = ReplacingMergeTree ORDER BY hash",
	"kiln_stacks (hash UInt64, frames Array(UInt64)) "
	"ENGINE = ReplacingMergeTree ORDER BY hash",
	"kiln_samples (host String, start_ns UInt64, end_ns UInt64, "
	"window_id UInt64, pid Int32, comm String, service String, lk Array(String), lv Array(String), "
	"stack UInt64, samples UInt64, cpu_ns UInt64) ENGINE = MergeTree "
	"PARTITION BY toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000))) "
	"ORDER BY (host, start_ns, pid, stack)",
	/* the fleet's rollup: every host's samples per minute, service, process name and
	 * stack, summed as ClickHouse merges; fed by the view below on each insert */
	"kiln_rollup (minute UInt64, service String, comm String, stack UInt64, samples UInt64, "
	"cpu_ns UInt64) ENGINE = SummingMergeTree "
	"PARTITION BY toYYYYMMDD(toDateTime(intDiv(minute, 1000000000))) "
	"ORDER BY (minute, service, comm, stack)",
};
#define CH_MINUTE 60000000000ull
static const char rollup_view[] =
	"CREATE MATERIALIZED VIEW IF NOT EXISTS %s.kiln_rollup_mv TO %s.kiln_rollup AS "
	"SELECT intDiv(start_ns, 60000000000) * 60000000000 AS minute, service, comm, stack, "
	"sum(samples) AS samples, sum(cpu_ns) AS cpu_ns FROM %s.kiln_samples "
	"GROUP BY minute, service, comm, stack";

static int one_u64(struct ch *c, const char *sql, uint64_t *v, struct strbuf *err)
{
	struct strbuf out = STRBUF_INIT;
	int rc = ch_sql(c, sql, &out, err);
	if (!rc) {
		size_t n = out.len;
		while (n && out.buf[n - 1] == '\n')
			n--;
		int64_t d;
		if (kst_ch_parse_dec(out.buf, n, 0, v, &d)) {
			strbuf_addf(err, "clickhouse at '%s' answered '%.*s' where kiln expected a number", c->hostport,
				    (int)(n > 40 ? 40 : n), out.buf);
			for (size_t k = 0; k < err->len; k++)
				if ((unsigned char)err->buf[k] < 0x20)
					err->buf[k] = '?';
			rc = -1;
		}
	}
	strbuf_release(&out);
	return rc;
}

static void *ch_open(const char *spec, int mode, struct strbuf *err)
{
	struct ch *c = xcalloc(1, sizeof(*c));
	struct strbuf sql = STRBUF_INIT, out = STRBUF_INIT;
	if (parse_spec(c, spec, err))
		goto fail;
	c->curl = kst_http_open(c->connect_ms, c->total_ms, c->curl_err, err);
	if (!c->curl)
		goto fail;
	dl_curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);

	if (mode & KST_WRITE) {
		strbuf_addf(&sql, "CREATE DATABASE IF NOT EXISTS %s", c->db);
		if (ch_sql(c, sql.buf, &out, err))
			goto fail;
		for (size_t k = 0; k < sizeof(schema_sql) / sizeof(schema_sql[0]); k++) {
			strbuf_reset(&sql);
			strbuf_addf(&sql, "CREATE TABLE IF NOT EXISTS %s.%s", c->db, schema_sql[k]);
			if (ch_sql(c, sql.buf, &out, err))
				goto fail;
		}
		strbuf_reset(&sql);
		strbuf_addf(&sql, rollup_view, c->db, c->db, c->db);
		if (ch_sql(c, sql.buf, &out, err))
			goto fail;
	}
	uint64_t version;
	strbuf_reset(&sql);
	strbuf_addf(&sql, "SELECT max(version) FROM %s.kiln_schema", c->db);
	struct strbuf e2 = STRBUF_INIT;
	if (one_u64(c, sql.buf, &version, &e2)) {
		if (strstr(e2.buf, "Code: 60,") || strstr(e2.buf, "Code: 81,"))
			strbuf_addf(err, "clickhouse database '%s' at '%s' holds no kiln data (a sink creates it: "
				    "kiln agent --sink %s)", c->db, c->hostport, spec);
		else
			strbuf_addstr(err, e2.buf);
		strbuf_release(&e2);
		goto fail;
	}
	strbuf_release(&e2);
	if (version > CH_SCHEMA_VERSION) {
		strbuf_addf(err, "clickhouse database '%s' at '%s' has kiln schema version %" PRIu64
			    ", newer than this kiln's %d: use a newer kiln", c->db, c->hostport, version,
			    CH_SCHEMA_VERSION);
		goto fail;
	}
	if (version < CH_SCHEMA_VERSION && (mode & KST_WRITE)) {
		strbuf_reset(&sql);
		strbuf_addf(&sql, "%d\tkiln %s\n", CH_SCHEMA_VERSION, KILN_VERSION);
		struct strbuf ins = STRBUF_INIT;
		strbuf_addf(&ins, "INSERT INTO %s.kiln_schema FORMAT TabSeparated", c->db);
		int rc = ch_post(c, ins.buf, sql.buf, sql.len, &out, err);
		strbuf_release(&ins);
		if (rc)
			goto fail;
	}
	strbuf_release(&sql);
	strbuf_release(&out);
	return c;
fail:
	strbuf_release(&sql);
	strbuf_release(&out);
	ch_close(c);
	return NULL;
}

/* ---- write ---- */

/* A window's rows, aggregated per (process, stack). */
struct agg {
	struct u64map idx; /* (pid, stack) -> row */
	int32_t *pid;
	kp_stack_t *stack;
	double *samples, *cpu_ns;
	size_t n, alloc;
};

static void agg_release(struct agg *a)
{
	u64map_release(&a->idx);
	free(a->pid);
	free(a->stack);
	free(a->samples);
	free(a->cpu_ns);
	memset(a, 0, sizeof(*a));
}

static uint64_t window_id(const struct kp_profile *w, uint64_t start, uint64_t end)
{
	uint64_t h = HASH_FNV1A_INIT;
	const char *host = kp_meta_get(w, KST_META_HOST), *labels = kp_meta_get(w, KST_META_LABELS);
	h = fnv_str(h, host ? host : "");
	h = fnv_str(h, labels ? labels : "");
	uint64_t t[2] = { start, end };
	h = hash_fnv1a(h, t, sizeof(t));
	h = hash_mix64(h);
	return h ? h : 1;
}

/* What a write sends, gathered over one or more windows. */
struct wbuf {
	struct strbuf frames, stacks, rows;
	size_t nrows;
	struct u64set new_frames, new_stacks; /* in frames/stacks, not yet stored */
};

static void wbuf_release(struct wbuf *b)
{
	strbuf_release(&b->frames);
	strbuf_release(&b->stacks);
	strbuf_release(&b->rows);
	u64set_release(&b->new_frames);
	u64set_release(&b->new_stacks);
}

/* Sends frames, then stacks, then the samples that name them: a failure leaves at most
 * frames and stacks no sample uses yet, which a retry sends again (deduplicated). The
 * samples go in one INSERT, one block, which ClickHouse stores whole or not at all. */
static int wbuf_flush(struct ch *c, struct wbuf *b, struct strbuf *err)
{
	struct strbuf ins = STRBUF_INIT, out = STRBUF_INIT;
	int rc = -1;
	if (b->frames.len) {
		strbuf_addf(&ins, "INSERT INTO %s.kiln_frames FORMAT TabSeparated", c->db);
		if (ch_post(c, ins.buf, b->frames.buf, b->frames.len, &out, err))
			goto out;
	}
	if (b->stacks.len) {
		strbuf_reset(&ins);
		strbuf_addf(&ins, "INSERT INTO %s.kiln_stacks FORMAT TabSeparated", c->db);
		if (ch_post(c, ins.buf, b->stacks.buf, b->stacks.len, &out, err))
			goto out;
	}
	if (b->rows.len) {
		strbuf_reset(&ins);
		strbuf_addf(&ins, "INSERT INTO %s.kiln_samples FORMAT TabSeparated", c->db);
		if (ch_post(c, ins.buf, b->rows.buf, b->rows.len, &out, err))
			goto out;
	}
	if (c->sent_frames.n > CH_SENT_MAX)
		u64set_release(&c->sent_frames);
	if (c->sent_stacks.n > CH_SENT_MAX)
		u64set_release(&c->sent_stacks);
	for (size_t k = 0; k < b->new_frames.size; k++)
		if (b->new_frames.v[k])
			u64set_add(&c->sent_frames, b->new_frames.v[k]);
	for (size_t k = 0; k < b->new_stacks.size; k++)
		if (b->new_stacks.v[k])
			u64set_add(&c->sent_stacks, b->new_stacks.v[k]);
	rc = 0;
out:
	wbuf_release(b);
	strbuf_release(&ins);
	strbuf_release(&out);
	return rc;
}

/* Appends window w's rows (and the frames and stacks the server may lack) to b. */
static void add_window(struct ch *c, const struct kp_profile *w, uint64_t start, uint64_t end, uint64_t wid,
		       struct wbuf *b)
{
	const char *host = kp_meta_get(w, KST_META_HOST);
	if (!host)
		host = "";
	struct agg a;
	struct kst_labels l = KST_LABELS_INIT;
	memset(&a, 0, sizeof(a));

	int vs = kp_find_value_type(w, "samples"), vc = kp_find_value_type(w, "cpu_ns");
	if (vs < 0 && w->nvalues)
		vs = 0;
	for (size_t i = 0; i < w->nsamples; i++) {
		int32_t pid = w->sample_thread[i] < w->nthreads ? w->threads[w->sample_thread[i]].pid : -1;
		kp_stack_t s = w->sample_stack[i];
		if (!s)
			continue;
		int found; /* the key holds (pid, stack) exactly */
		uint32_t *r = u64map_slot(&a.idx, ((uint64_t)(uint32_t)pid << 32) | s, &found);
		if (!found) {
			ALLOC_GROW(a.pid, a.n + 1, a.alloc);
			a.stack = xreallocarray(a.stack, a.alloc, sizeof(*a.stack));
			a.samples = xreallocarray(a.samples, a.alloc, sizeof(*a.samples));
			a.cpu_ns = xreallocarray(a.cpu_ns, a.alloc, sizeof(*a.cpu_ns));
			a.pid[a.n] = pid;
			a.stack[a.n] = s;
			a.samples[a.n] = a.cpu_ns[a.n] = 0;
			*r = (uint32_t)a.n++;
		}
		a.samples[*r] += vs >= 0 ? kp_sample_value(w, i, (uint32_t)vs) : 1;
		a.cpu_ns[*r] += vc >= 0 ? kp_sample_value(w, i, (uint32_t)vc) : 0;
	}

	/* hashes of every frame and stack (a stack's parent has a smaller id) */
	uint64_t *fh = xcalloc(w->nframes + 1, sizeof(*fh));
	for (uint32_t f = 1; f < w->nframes; f++)
		fh[f] = frame_hash(w, f);
	uint64_t *sh = xcalloc(w->nstacks, sizeof(*sh));
	for (uint32_t s = 1; s < w->nstacks; s++) {
		uint64_t pair[2] = { sh[w->stacks[s].parent], fh[w->stacks[s].frame] };
		sh[s] = hash_mix64(hash_fnv1a(HASH_FNV1A_INIT, pair, sizeof(pair)));
	}

	int32_t last_pid = 0;
	int have_labels = 0;
	kp_frame_t path[4096];
	for (size_t r = 0; r < a.n; r++) {
		kp_stack_t s = a.stack[r];
		if (!u64set_has(&c->sent_stacks, sh[s]) && !u64set_has(&b->new_stacks, sh[s])) {
			u64set_add(&b->new_stacks, sh[s]);
			uint32_t depth = kp_stack_frames(w, s, path, 4096);
			if (depth > 4096)
				depth = 4096;
			strbuf_addf(&b->stacks, "%" PRIu64 "\t[", sh[s]);
			for (uint32_t d = 0; d < depth; d++) {
				kp_frame_t f = path[d];
				strbuf_addf(&b->stacks, "%s%" PRIu64, d ? "," : "", fh[f]);
				if (u64set_has(&c->sent_frames, fh[f]) || u64set_has(&b->new_frames, fh[f]))
					continue;
				u64set_add(&b->new_frames, fh[f]);
				const struct kp_frame *fr = &w->frames[f];
				strbuf_addf(&b->frames, "%" PRIu64 "\t", fh[f]);
				add_escaped_z(&b->frames, kp_str_get(w, fr->name));
				strbuf_addch(&b->frames, '\t');
				add_escaped_z(&b->frames, kp_str_get(w, fr->module));
				strbuf_addch(&b->frames, '\t');
				add_escaped_z(&b->frames, kp_str_get(w, fr->file));
				strbuf_addf(&b->frames, "\t%u\t%u\t%" PRIu64 "\n", fr->line, fr->flags, fr->addr);
			}
			strbuf_addstr(&b->stacks, "]\n");
		}
		if (!have_labels || a.pid[r] != last_pid) {
			kst_window_labels(w, a.pid[r], &l);
			last_pid = a.pid[r];
			have_labels = 1;
		}
		const char *comm = kst_labels_get(&l, "comm"), *service = kst_labels_get(&l, "service");
		if (!comm && a.pid[r] >= 0) {
			for (uint32_t t = 1; t < w->nthreads; t++)
				if (w->threads[t].pid == a.pid[r]) {
					comm = kp_str_get(w, w->threads[t].comm);
					break;
				}
		}
		struct strbuf *rows = &b->rows;
		add_escaped_z(rows, host);
		strbuf_addf(rows, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRId32 "\t", start, end, wid, a.pid[r]);
		add_escaped_z(rows, comm ? comm : "");
		strbuf_addch(rows, '\t');
		add_escaped_z(rows, service ? service : "");
		/* the other labels, as two arrays of keys and values */
		for (int pass = 0; pass < 2; pass++) {
			strbuf_addstr(rows, "\t[");
			int first = 1;
			for (uint32_t k = 0; k < l.n; k++) {
				const char *key = l.v[k].key;
				if (!strcmp(key, "host") || !strcmp(key, "pid") || !strcmp(key, "comm") ||
				    !strcmp(key, "service"))
					continue;
				strbuf_addstr(rows, first ? "'" : ",'");
				add_escaped_z(rows, pass ? l.v[k].value : key);
				strbuf_addch(rows, '\'');
				first = 0;
			}
			strbuf_addch(rows, ']');
		}
		strbuf_addf(rows, "\t%" PRIu64 "\t%.0f\t%.0f\n", sh[s], a.samples[r] > 0 ? a.samples[r] : 0,
			    a.cpu_ns[r] > 0 ? a.cpu_ns[r] : 0);
		b->nrows++;
	}
	agg_release(&a);
	kst_labels_release(&l);
	free(fh);
	free(sh);
}

static int present_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	u64set_add(arg, f[0].u);
	return 0;
}

/* Rows per INSERT at most: under ClickHouse's max_insert_block_size (1048576), so each
 * INSERT is one block. */
#define CH_MAX_ROWS 500000

int kst_ch_write_batch(void *hp, const struct kp_profile *const *ws, size_t n, struct strbuf *err)
{
	struct ch *c = hp;
	uint64_t *start = xcalloc(n ? n : 1, sizeof(*start)), *end = xcalloc(n ? n : 1, sizeof(*end)),
		 *wid = xcalloc(n ? n : 1, sizeof(*wid));
	struct strbuf sql = STRBUF_INIT, out = STRBUF_INIT;
	struct u64set present = { 0 };
	struct wbuf b;
	memset(&b, 0, sizeof(b));
	int rc = -1;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t k = 0; k < n; k++) {
		if (kst_window_range(ws[k], &start[k], &end[k], err))
			goto out;
		wid[k] = window_id(ws[k], start[k], end[k]);
		lo = start[k] < lo ? start[k] : lo;
		hi = start[k] > hi ? start[k] : hi;
	}
	if (!n) {
		rc = 0;
		goto out;
	}
	/* windows stored before (the answer was lost, the agent retried) are not stored
	 * again: an INSERT of one block is atomic, so any row of a window means all of it */
	strbuf_addf(&sql, "SELECT DISTINCT window_id FROM %s.kiln_samples WHERE ", c->db);
	if (n == 1) {
		const char *host = kp_meta_get(ws[0], KST_META_HOST);
		strbuf_addstr(&sql, "host = '");
		add_escaped_z(&sql, host ? host : "");
		strbuf_addstr(&sql, "' AND ");
	}
	strbuf_addf(&sql, "start_ns >= %" PRIu64 " AND start_ns <= %" PRIu64 " AND window_id IN (", lo, hi);
	for (size_t k = 0; k < n; k++)
		strbuf_addf(&sql, "%s%" PRIu64, k ? "," : "", wid[k]);
	strbuf_addstr(&sql, ") FORMAT TabSeparated");
	if (ch_sql(c, sql.buf, &out, err) || kst_ch_rows(out.buf, out.len, "u", present_row, &present, err))
		goto out;
	for (size_t k = 0; k < n; k++) {
		if (u64set_has(&present, wid[k]))
			continue;
		u64set_add(&present, wid[k]); /* the same window twice in one batch: once */
		add_window(c, ws[k], start[k], end[k], wid[k], &b);
		if (b.nrows >= CH_MAX_ROWS && wbuf_flush(c, &b, err))
			goto out;
	}
	rc = wbuf_flush(c, &b, err);
out:
	wbuf_release(&b);
	u64set_release(&present);
	strbuf_release(&sql);
	strbuf_release(&out);
	free(start);
	free(end);
	free(wid);
	return rc;
}

static int ch_write(void *hp, const struct kp_profile *w, struct strbuf *err)
{
	return kst_ch_write_batch(hp, &w, 1, err);
}

/* ---- queries ---- */

/* The SQL expression of a label's value in kiln_samples. */
static void label_expr(struct strbuf *sql, const char *key)
{
	if (!strcmp(key, "host") || !strcmp(key, "comm") || !strcmp(key, "service"))
		strbuf_addstr(sql, key);
	else if (!strcmp(key, "pid"))
		strbuf_addstr(sql, "toString(pid)");
	else {
		strbuf_addstr(sql, "lv[indexOf(lk, '");
		add_escaped_z(sql, key);
		strbuf_addstr(sql, "')]");
	}
}

static void where_sql(const struct kst_query *q, struct strbuf *sql)
{
	strbuf_addstr(sql, " WHERE 1");
	if (q->from_ns)
		strbuf_addf(sql, " AND end_ns > %" PRIu64, q->from_ns);
	if (q->to_ns != UINT64_MAX)
		strbuf_addf(sql, " AND start_ns < %" PRIu64, q->to_ns);
	for (uint32_t k = 0; k < q->where.n; k++) {
		strbuf_addstr(sql, " AND ");
		label_expr(sql, q->where.v[k].key);
		strbuf_addstr(sql, " = '");
		add_escaped_z(sql, q->where.v[k].value);
		strbuf_addch(sql, '\'');
	}
	if (q->comm) {
		strbuf_addstr(sql, " AND comm = '");
		add_escaped_z(sql, q->comm);
		strbuf_addch(sql, '\'');
	}
}

/* 1 when the rollup answers query q: a fleet query, naming no host or process (only
 * service and comm), over whole minutes. */
static int use_rollup(const struct kst_query *q)
{
	for (uint32_t k = 0; k < q->where.n; k++)
		if (strcmp(q->where.v[k].key, "service") && strcmp(q->where.v[k].key, "comm"))
			return 0;
	return q->from_ns % CH_MINUTE == 0 && (q->to_ns == UINT64_MAX || q->to_ns % CH_MINUTE == 0);
}

static void rollup_where_sql(const struct kst_query *q, struct strbuf *sql)
{
	strbuf_addstr(sql, " WHERE 1");
	if (q->from_ns)
		strbuf_addf(sql, " AND minute >= %" PRIu64, q->from_ns);
	if (q->to_ns != UINT64_MAX)
		strbuf_addf(sql, " AND minute < %" PRIu64, q->to_ns);
	for (uint32_t k = 0; k < q->where.n; k++) {
		strbuf_addf(sql, " AND %s = '", q->where.v[k].key); /* service or comm (use_rollup) */
		add_escaped_z(sql, q->where.v[k].value);
		strbuf_addch(sql, '\'');
	}
	if (q->comm) {
		strbuf_addstr(sql, " AND comm = '");
		add_escaped_z(sql, q->comm);
		strbuf_addch(sql, '\'');
	}
}

static int ch_query(void *hp, const struct kst_query *q, struct kp_profile *out, struct strbuf *err)
{
	struct ch *c = hp;
	struct strbuf sql = STRBUF_INIT, where = STRBUF_INIT, fr = STRBUF_INIT, st = STRBUF_INIT,
		      sa = STRBUF_INIT, from = STRBUF_INIT;
	int rc = -1;
	/* the samples first: stacks are stored before the samples that name them */
	if (use_rollup(q)) {
		rollup_where_sql(q, &where);
		strbuf_addf(&from, "%s.kiln_rollup%s", c->db, where.buf);
		strbuf_addf(&sql, "SELECT '', toInt32(-1), comm, stack, min(minute), sum(samples), sum(cpu_ns) "
				  "FROM %s GROUP BY comm, stack FORMAT TabSeparated", from.buf);
	} else {
		where_sql(q, &where);
		strbuf_addf(&from, "%s.kiln_samples%s", c->db, where.buf);
		strbuf_addf(&sql, "SELECT host, pid, comm, stack, min(start_ns), sum(samples), sum(cpu_ns) "
				  "FROM %s GROUP BY host, pid, comm, stack FORMAT TabSeparated", from.buf);
	}
	if (ch_sql(c, sql.buf, &sa, err))
		goto out;
	strbuf_reset(&sql);
	strbuf_addf(&sql, "SELECT hash, any(frames) FROM %s.kiln_stacks WHERE hash IN "
			  "(SELECT DISTINCT stack FROM %s) GROUP BY hash FORMAT TabSeparated",
		    c->db, from.buf);
	if (ch_sql(c, sql.buf, &st, err))
		goto out;
	strbuf_reset(&sql);
	strbuf_addf(&sql, "SELECT hash, any(name), any(module), any(file), any(line), any(flags), any(addr) "
			  "FROM %s.kiln_frames WHERE hash IN (SELECT arrayJoin(frames) FROM %s.kiln_stacks "
			  "WHERE hash IN (SELECT DISTINCT stack FROM %s)) GROUP BY hash "
			  "FORMAT TabSeparated",
		    c->db, c->db, from.buf);
	if (ch_sql(c, sql.buf, &fr, err))
		goto out;
	rc = kst_ch_build_profile(fr.buf, fr.len, st.buf, st.len, sa.buf, sa.len, q->from_ns, out, err);
out:
	strbuf_release(&sql);
	strbuf_release(&where);
	strbuf_release(&from);
	strbuf_release(&fr);
	strbuf_release(&st);
	strbuf_release(&sa);
	return rc;
}

static int range_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	uint64_t *r = arg;
	r[0] = f[0].u;
	r[1] = f[1].u;
	return 0;
}

static int ch_range_where(struct ch *c, const char *where, uint64_t *first, uint64_t *last, struct strbuf *err)
{
	struct strbuf sql = STRBUF_INIT, out = STRBUF_INIT;
	uint64_t r[2] = { 0, 0 };
	strbuf_addf(&sql, "SELECT min(start_ns), max(end_ns) FROM %s.kiln_samples%s FORMAT TabSeparated", c->db,
		    where);
	int rc = ch_sql(c, sql.buf, &out, err);
	if (!rc)
		rc = kst_ch_rows(out.buf, out.len, "uu", range_row, r, err);
	*first = r[0];
	*last = r[1];
	strbuf_release(&sql);
	strbuf_release(&out);
	return rc;
}

static int ch_range(void *hp, uint64_t *first, uint64_t *last, struct strbuf *err)
{
	return ch_range_where(hp, "", first, last, err);
}

static int series_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	struct kst_series *s = arg;
	if (!s->ngroups || strcmp(s->groups[s->ngroups - 1], f[0].s)) {
		s->groups = xreallocarray(s->groups, s->ngroups + 1, sizeof(*s->groups));
		s->samples = xreallocarray(s->samples, (size_t)(s->ngroups + 1) * s->nsteps, sizeof(*s->samples));
		memset(s->samples + (size_t)s->ngroups * s->nsteps, 0, s->nsteps * sizeof(*s->samples));
		s->groups[s->ngroups++] = xmemdupz(f[0].s, f[0].len);
	}
	if (f[1].u < s->nsteps)
		s->samples[(size_t)(s->ngroups - 1) * s->nsteps + f[1].u] += (double)f[2].u;
	return 0;
}

static int ch_series(void *hp, const struct kst_query *q, const char *group_key, uint64_t step_ns,
		     struct kst_series *out, struct strbuf *err)
{
	struct ch *c = hp;
	struct strbuf sql = STRBUF_INIT, where = STRBUF_INIT, ans = STRBUF_INIT;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (!step_ns) {
		strbuf_addstr(err, "the series step must be more than 0");
		return -1;
	}
	where_sql(q, &where);
	uint64_t from = q->from_ns, to = q->to_ns;
	if (!from || to == UINT64_MAX) {
		uint64_t f, l;
		if (ch_range_where(c, where.buf, &f, &l, err))
			goto out;
		if (!from)
			from = f;
		if (to == UINT64_MAX)
			to = l;
	}
	out->from_ns = from;
	out->step_ns = step_ns;
	if (to > from) {
		uint64_t n = (to - from) / step_ns + ((to - from) % step_ns != 0);
		if (n > 1000000) {
			strbuf_addf(err, "the series would have %" PRIu64 " steps: choose a larger step", n);
			goto out;
		}
		out->nsteps = (uint32_t)n;
	}
	if (!out->nsteps) {
		rc = 0;
		goto out;
	}
	struct kst_query rq = *q;
	rq.from_ns = from;
	if ((!strcmp(group_key, "service") || !strcmp(group_key, "comm")) && step_ns % CH_MINUTE == 0 &&
	    use_rollup(&rq)) { /* the fleet's CPU per service: the rollup has it per minute */
		strbuf_reset(&where);
		rollup_where_sql(&rq, &where);
		strbuf_addf(&sql, "SELECT %s AS g, intDiv(minute - %" PRIu64 ", %" PRIu64 ") AS b, sum(samples) "
				  "FROM %s.kiln_rollup%s GROUP BY g, b ORDER BY g, b FORMAT TabSeparated",
			    group_key, from, step_ns, c->db, where.buf);
	} else {
		strbuf_addstr(&sql, "SELECT ");
		label_expr(&sql, group_key);
		strbuf_addf(&sql, " AS g, intDiv(greatest(start_ns, %" PRIu64 ") - %" PRIu64 ", %" PRIu64
				  ") AS b, sum(samples) FROM %s.kiln_samples%s GROUP BY g, b ORDER BY g, b "
				  "FORMAT TabSeparated",
			    from, from, step_ns, c->db, where.buf);
	}
	if (ch_sql(c, sql.buf, &ans, err))
		goto out;
	rc = kst_ch_rows(ans.buf, ans.len, "suu", series_row, out, err);
out:
	if (rc)
		kst_series_release(out);
	strbuf_release(&sql);
	strbuf_release(&where);
	strbuf_release(&ans);
	return rc;
}

static int value_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	struct kst_strlist *l = arg;
	if (!f[0].len) /* the label is absent there */
		return 0;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xmemdupz(f[0].s, f[0].len);
	return 0;
}

static int ch_label_values(void *hp, const struct kst_query *q, const char *key, struct kst_strlist *out,
			   struct strbuf *err)
{
	struct ch *c = hp;
	struct strbuf sql = STRBUF_INIT, where = STRBUF_INIT, ans = STRBUF_INIT;
	memset(out, 0, sizeof(*out));
	where_sql(q, &where);
	strbuf_addstr(&sql, "SELECT DISTINCT ");
	label_expr(&sql, key);
	strbuf_addf(&sql, " AS v FROM %s.kiln_samples%s ORDER BY v FORMAT TabSeparated", c->db, where.buf);
	int rc = ch_sql(c, sql.buf, &ans, err);
	if (!rc)
		rc = kst_ch_rows(ans.buf, ans.len, "s", value_row, out, err);
	if (rc)
		kst_strlist_release(out);
	strbuf_release(&sql);
	strbuf_release(&where);
	strbuf_release(&ans);
	return rc;
}

const struct kst_backend kst_backend_clickhouse = {
	.name = "clickhouse",
	.match = match_clickhouse,
	.open = ch_open,
	.write = ch_write,
	.query = ch_query,
	.series = ch_series,
	.label_values = ch_label_values,
	.range = ch_range,
	.close = ch_close,
};
