/* store_dir.c: the local store (store.h's DIR backend): one SQLite database,
 * DIR/kiln-store.db, in WAL mode. The format is docs/store-format.md:
 *
 *   meta(key, value)                 format facts (max_window_ns)
 *   str(id, s)                       every string once (id 0 is "", never stored)
 *   frame(id, name, module, file, line, flags)          every frame once
 *   stack(id, hash, frames)          every stack once: frames is its root-first frame
 *                                    ids as LEB128 varints, hash a 64-bit hash of them
 *   labelset(id, labels)             every label set once, "k=v\n" sorted by key
 *   win(id, start_ns, end_ns, host, labels, lost, samples)   one row per window
 *   sample(win, labelset, stack, samples, cpu_ns)            per window, aggregated
 *
 * A window is written in one transaction: all of it or nothing. The same window
 * written again (same host, agent labels, start, end and content) is a no-op, so a sink
 * that retries a window it is unsure about never counts it twice.
 *
 * This file opens the store, writes windows and applies retention; store_dir_read.c
 * answers queries. store_dir_db.h is what they share. */
#include "store/store.h"
#include "store/store_dir_db.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "profile/profile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DIR_APPID 0x6b696c6e /* "kiln" */

static const char schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"CREATE TABLE str(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, s TEXT NOT NULL);"
	"CREATE INDEX str_hash ON str(hash);"
	"CREATE TABLE frame(id INTEGER PRIMARY KEY, name INTEGER NOT NULL, module INTEGER NOT NULL,"
	" file INTEGER NOT NULL, line INTEGER NOT NULL, flags INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX frame_key ON frame(name, module, file, line, flags);"
	"CREATE TABLE stack(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, frames BLOB NOT NULL);"
	"CREATE INDEX stack_hash ON stack(hash);"
	"CREATE TABLE labelset(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, labels TEXT NOT NULL);"
	"CREATE INDEX labelset_hash ON labelset(hash);"
	"CREATE TABLE win(id INTEGER PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,"
	" host TEXT NOT NULL, labels TEXT NOT NULL, lost INTEGER NOT NULL, samples NOT NULL, digest INTEGER NOT NULL);"
	"CREATE INDEX win_start ON win(start_ns);"
	"CREATE UNIQUE INDEX win_key ON win(host, labels, start_ns, end_ns, digest);"
	"CREATE TABLE sample(win INTEGER NOT NULL, labelset INTEGER NOT NULL, stack INTEGER NOT NULL,"
	" samples NOT NULL, cpu_ns NOT NULL, PRIMARY KEY(win, labelset, stack)) WITHOUT ROWID;";

static const char *const stmt_sql[ST_N] = {
	[ST_STR_FIND] = "SELECT id, s FROM str WHERE hash = ?2",
	[ST_STR_INS] = "INSERT INTO str(s, hash) VALUES (?1, ?2)",
	[ST_FRAME_FIND] = "SELECT id FROM frame WHERE name = ?1 AND module = ?2 AND file = ?3 AND line = ?4 AND flags = ?5",
	[ST_FRAME_INS] = "INSERT INTO frame(name, module, file, line, flags) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_STACK_FIND] = "SELECT id, frames FROM stack WHERE hash = ?1",
	[ST_STACK_INS] = "INSERT INTO stack(hash, frames) VALUES (?1, ?2)",
	[ST_LS_FIND] = "SELECT id, labels FROM labelset WHERE hash = ?2",
	[ST_LS_INS] = "INSERT INTO labelset(labels, hash) VALUES (?1, ?2)",
	[ST_WIN_FIND] = "SELECT id FROM win WHERE host = ?1 AND labels = ?2 AND start_ns = ?3 AND end_ns = ?4"
			" AND digest = ?5",
	[ST_WIN_INS] = "INSERT INTO win(start_ns, end_ns, host, labels, lost, samples, digest)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_SAMPLE_INS] = "INSERT INTO sample(win, labelset, stack, samples, cpu_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_MAXWIN_GET] = "SELECT value FROM meta WHERE key = 'max_window_ns'",
	[ST_MAXWIN_SET] = ("INSERT INTO meta(key, value) VALUES ('max_window_ns', ?1)"
			   " ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)"),
	[ST_STR_GET] = "SELECT s FROM str WHERE id = ?1",
	[ST_FRAME_GET] = "SELECT name, module, file, line, flags FROM frame WHERE id = ?1",
	[ST_STACK_GET] = "SELECT frames FROM stack WHERE id = ?1",
	[ST_LS_GET] = "SELECT labels FROM labelset WHERE id = ?1",
};

/* ---- errors ---- */

int sd_fail(struct dir_store *s, const char *what, struct strbuf *err)
{
	int rc = sqlite3_errcode(s->db);
	const char *why = sqlite3_errmsg(s->db);
	if (rc == SQLITE_FULL)
		why = "the disk is full";
	else if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		why = "the database is damaged (restore it from a backup or move it away)";
	else if (rc == SQLITE_READONLY)
		why = "the store is read-only";
	strbuf_addf(err, "cannot %s store '%s': %s", what, s->dir, why);
	return -1;
}

/* ---- statements ---- */

sqlite3_stmt *sd_stmt(struct dir_store *s, int which)
{
	sqlite3_stmt *st = s->st[which];
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s->st[which], NULL) !=
	    SQLITE_OK)
		return NULL;
	return s->st[which];
}

/* Steps a statement that returns no row (or whose row is not wanted). */
int sd_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int sd_exec(struct dir_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* The single integer a query returns (0 when no row); -1 on error. */
int sd_query_int(struct dir_store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* ---- open and close ---- */

static void dir_close(void *h)
{
	struct dir_store *s = h;
	if (!s)
		return;
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->dir);
	free(s->path);
	free(s);
}

static int dir_match(const char *spec)
{
	return spec && *spec && !strstr(spec, "://");
}

/* mkdir -p dir */
static int make_dirs(const char *dir, struct strbuf *err)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *q = p + 1;; q++) {
		if (*q != '/' && *q)
			continue;
		char c = *q;
		*q = 0;
		if (mkdir(p, 0755) && errno != EEXIST) {
			strbuf_addf(err, "cannot create store directory '%s': %s", p, strerror(errno));
			rc = -1;
			break;
		}
		*q = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

/* Checks the database is a kiln store this kiln reads, creating the schema in an
 * empty one opened for writing. */
static int check_format(struct dir_store *s, struct strbuf *err)
{
	int64_t appid, version, ntables;
	int created = 0;
again:
	if (sd_query_int(s, "PRAGMA application_id", &appid) || sd_query_int(s, "PRAGMA user_version", &version) ||
	    sd_query_int(s, "SELECT count(*) FROM sqlite_master", &ntables)) {
		int rc = sqlite3_errcode(s->db);
		if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
			strbuf_addf(err, "'%s' is not a kiln store (not an SQLite database, or damaged): move it away "
				    "or give another directory", s->path);
		else
			sd_fail(s, "read", err);
		return -1;
	}
	if (!ntables && !version && !appid && !created) {
		if (!(s->mode & KST_WRITE)) {
			strbuf_addf(err, "store '%s' is empty: no window was written to it yet", s->dir);
			return -1;
		}
		char sql[128];
		if (sd_exec(s, "PRAGMA page_size = 1024") || sd_exec(s, "PRAGMA auto_vacuum = INCREMENTAL") || sd_exec(s, "PRAGMA journal_mode = WAL") ||
		    sd_exec(s, "BEGIN IMMEDIATE"))
			return sd_fail(s, "create", err);
		/* another writer may have created it meanwhile */
		if (sd_query_int(s, "SELECT count(*) FROM sqlite_master", &ntables) ||
		    (!ntables && sd_exec(s, schema))) {
			sd_exec(s, "ROLLBACK");
			return sd_fail(s, "create", err);
		}
		if (!ntables) {
			snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d", DIR_APPID,
				 KST_DIR_VERSION);
			if (sd_exec(s, sql)) {
				sd_exec(s, "ROLLBACK");
				return sd_fail(s, "create", err);
			}
		}
		if (sd_exec(s, "COMMIT")) {
			sd_exec(s, "ROLLBACK");
			return sd_fail(s, "create", err);
		}
		created = 1;
		goto again; /* and check what is there now */
	}
	if (appid != DIR_APPID) {
		strbuf_addf(err, "'%s' is an SQLite database but not a kiln store: move it away or give another directory",
			    s->path);
		return -1;
	}
	if (version > KST_DIR_VERSION) {
		strbuf_addf(err, "store '%s' has format version %" PRId64 ", newer than this kiln reads (%d): use a newer kiln",
			    s->dir, version, KST_DIR_VERSION);
		return -1;
	}
	if (version < 1) {
		strbuf_addf(err, "store '%s' has no format version: it is not a kiln store", s->dir);
		return -1;
	}
	return 0;
}

static void *dir_open(const char *spec, int mode, struct strbuf *err)
{
	struct stat st;
	if (stat(spec, &st)) {
		if (errno != ENOENT || !(mode & KST_WRITE)) {
			strbuf_addf(err, "store directory '%s': %s", spec,
				    errno == ENOENT ? "no such directory (give the directory kiln agent writes to)"
						    : strerror(errno));
			return NULL;
		}
		if (make_dirs(spec, err))
			return NULL;
	} else if (!S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "store '%s' is not a directory: give the directory that holds %s", spec, KST_DIR_DB);
		return NULL;
	}
	struct dir_store *s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(spec);
	s->path = xasprintf("%s/%s", spec, KST_DIR_DB);
	s->mode = mode;
	if (stat(s->path, &st)) {
		if (errno == EACCES) {
			strbuf_addf(err, "cannot %s store '%s': permission denied (run as the user that owns it, or root)",
				    (mode & KST_WRITE) ? "write to" : "read", spec);
			goto fail;
		}
		if (!(mode & KST_WRITE)) {
			strbuf_addf(err, "store directory '%s' holds no store (%s: %s)", spec, KST_DIR_DB, strerror(errno));
			goto fail;
		}
	}
	if (access((mode & KST_WRITE) ? spec : s->path, (mode & KST_WRITE) ? W_OK : R_OK) ||
	    access(s->path, (mode & KST_WRITE) ? W_OK : R_OK)) {
		if (errno == EACCES || errno == EROFS) {
			strbuf_addf(err, "cannot %s store '%s': %s (run as the user that owns it, or root)",
				    (mode & KST_WRITE) ? "write to" : "read", spec,
				    errno == EROFS ? "read-only file system" : "permission denied");
			goto fail;
		}
	}
	int flags = (mode & KST_WRITE) ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
	int rc = sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		strbuf_addf(err, "cannot open store '%s': %s", s->path,
			    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	sqlite3_extended_result_codes(s->db, 0);
	int64_t probe;
	if (!(mode & KST_WRITE) && sd_query_int(s, "PRAGMA user_version", &probe) &&
	    (sqlite3_errcode(s->db) == SQLITE_READONLY || sqlite3_errcode(s->db) == SQLITE_CANTOPEN)) {
		/* A store in WAL mode whose directory we cannot write, with no -shm file: no
		 * writer has it open (a writer keeps the -shm file), so it is read as it is. */
		sqlite3_close(s->db);
		s->db = NULL;
		struct strbuf uri = STRBUF_INIT;
		strbuf_addstr(&uri, "file:");
		for (const char *p = s->path; *p; p++) {
			if (*p == '%' || *p == '?' || *p == '#')
				strbuf_addf(&uri, "%%%02X", (unsigned char)*p);
			else
				strbuf_addch(&uri, *p);
		}
		strbuf_addstr(&uri, "?immutable=1");
		rc = sqlite3_open_v2(uri.buf, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
		strbuf_release(&uri);
		if (rc != SQLITE_OK) {
			strbuf_addf(err, "cannot open store '%s': %s", s->path,
				    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
			goto fail;
		}
	}
	if (check_format(s, err))
		goto fail;
	if ((mode & KST_WRITE) && sd_exec(s, "PRAGMA synchronous = NORMAL")) {
		sd_fail(s, "open", err);
		goto fail;
	}
	return s;
fail:
	dir_close(s);
	return NULL;
}

/* ---- writing ---- */

/* Lookup hashes (str, labelset, stack) keep 31 bits: SQLite stores them in 4 bytes, and
 * a lookup compares the bytes too, so a collision costs a row read, never a wrong match. */
#define KEY_HASH_MASK 0x7fffffffull

static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static void put_varint(struct strbuf *b, uint64_t v)
{
	unsigned char c[10];
	size_t n = 0;
	do {
		c[n] = v & 0x7f;
		v >>= 7;
		if (v)
			c[n] |= 0x80;
		n++;
	} while (v);
	strbuf_add(b, c, n);
}

/* Reads one varint from [*p, end); -1 when malformed. */
int sd_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

struct wctx {
	struct dir_store *s;
	const struct kp_profile *w;
	int64_t *strmap;   /* window string id -> store id (0: "", -1: not yet) */
	int64_t *framemap; /* window frame id -> store id (0: not yet) */
	int64_t *stackmap; /* window stack id -> store id (0: not yet) */
	int64_t *lsmap;    /* window thread index -> labelset id (0: not yet) */
	struct strbuf buf;
};

/* Finds text with the find statement or inserts it; the row's id. */
static int64_t find_or_insert_text(struct dir_store *s, int find, int ins, const char *text, size_t len)
{
	/* looked up by a hash of the text (its index is far smaller than one on the text) */
	int64_t h = (int64_t)(hash_bytes((const unsigned char *)text, len) & KEY_HASH_MASK);
	sqlite3_stmt *st = sd_stmt(s, find);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 2, h);
	int rc;
	int64_t id = -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(st, 1) == len &&
		    (!len || !memcmp(sqlite3_column_blob(st, 1), text, len))) {
			id = sqlite3_column_int64(st, 0);
			break;
		}
	}
	sqlite3_reset(st);
	if (id > 0)
		return id;
	if ((rc != SQLITE_DONE && rc != SQLITE_ROW) || !(st = sd_stmt(s, ins)))
		return -1;
	sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, h);
	if (sd_step_done(st))
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

static int64_t map_str(struct wctx *c, kp_str_t id)
{
	if (!id)
		return 0;
	if (c->strmap[id] < 0)
		c->strmap[id] = find_or_insert_text(c->s, ST_STR_FIND, ST_STR_INS, kp_str_get(c->w, id),
						    kp_str_len(c->w, id));
	return c->strmap[id];
}

static int64_t map_frame(struct wctx *c, kp_frame_t f)
{
	if (c->framemap[f])
		return c->framemap[f];
	const struct kp_frame *fr = &c->w->frames[f];
	int64_t v[5] = { map_str(c, fr->name), map_str(c, fr->module), map_str(c, fr->file), fr->line, fr->flags };
	if (v[0] < 0 || v[1] < 0 || v[2] < 0)
		return -1;
	sqlite3_stmt *st = sd_stmt(c->s, ST_FRAME_FIND);
	if (!st)
		return -1;
	for (int i = 0; i < 5; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		if (!(st = sd_stmt(c->s, ST_FRAME_INS)))
			return -1;
		for (int i = 0; i < 5; i++)
			sqlite3_bind_int64(st, i + 1, v[i]);
		if (sd_step_done(st))
			return -1;
		id = sqlite3_last_insert_rowid(c->s->db);
	}
	if (id > 0)
		c->framemap[f] = id;
	return id;
}

static int64_t map_stack(struct wctx *c, kp_stack_t sid)
{
	if (c->stackmap[sid])
		return c->stackmap[sid];
	uint32_t depth = kp_stack_depth(c->w, sid);
	kp_frame_t *fr = xmalloc((depth + 1) * sizeof(*fr));
	kp_stack_frames(c->w, sid, fr, depth);
	strbuf_reset(&c->buf);
	int64_t id = -1;
	for (uint32_t i = 0; i < depth; i++) {
		int64_t f = map_frame(c, fr[i]);
		if (f < 0)
			goto out;
		put_varint(&c->buf, (uint64_t)f);
	}
	uint64_t h = hash_bytes((const unsigned char *)c->buf.buf, c->buf.len) & KEY_HASH_MASK;
	sqlite3_stmt *st = sd_stmt(c->s, ST_STACK_FIND);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)h);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if ((size_t)n == c->buf.len && (!n || !memcmp(b, c->buf.buf, c->buf.len))) {
			id = sqlite3_column_int64(st, 0);
			break;
		}
	}
	sqlite3_reset(st);
	if (id < 0 && (rc == SQLITE_DONE)) {
		if (!(st = sd_stmt(c->s, ST_STACK_INS)))
			goto out;
		sqlite3_bind_int64(st, 1, (int64_t)h);
		sqlite3_bind_blob(st, 2, c->buf.len ? c->buf.buf : "", (int)c->buf.len, SQLITE_STATIC);
		if (sd_step_done(st))
			goto out;
		id = sqlite3_last_insert_rowid(c->s->db);
	}
	if (id > 0)
		c->stackmap[sid] = id;
out:
	free(fr);
	return id;
}

static int64_t map_labelset(struct wctx *c, uint32_t thread)
{
	if (c->lsmap[thread])
		return c->lsmap[thread];
	struct kst_labels l = KST_LABELS_INIT;
	int32_t pid = thread ? c->w->threads[thread].pid : -1;
	kst_window_labels(c->w, pid, &l);
	/* a process the window names no labels for still has its comm */
	if (thread && !kst_labels_get(&l, "comm") && c->w->threads[thread].comm)
		kst_labels_set(&l, "comm", kp_str_get(c->w, c->w->threads[thread].comm));
	strbuf_reset(&c->buf);
	kst_labels_format(&l, &c->buf);
	kst_labels_release(&l);
	int64_t id = find_or_insert_text(c->s, ST_LS_FIND, ST_LS_INS, c->buf.buf, c->buf.len);
	if (id > 0)
		c->lsmap[thread] = id;
	return id;
}

struct row {
	int64_t ls, stack;
	double samples, cpu;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->ls != y->ls)
		return x->ls < y->ls ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return 0;
}

static void bind_value(sqlite3_stmt *st, int i, double v)
{
	if (v == (double)(int64_t)v)
		sqlite3_bind_int64(st, i, (int64_t)v);
	else
		sqlite3_bind_double(st, i, v);
}

/* Inserts the window's rows; 1 when the window was there already (the same host,
 * agent labels, range and content: a retry). */
static int write_window(struct wctx *c, uint64_t start, uint64_t end, struct strbuf *err)
{
	struct dir_store *s = c->s;
	const struct kp_profile *w = c->w;
	const char *host = kp_meta_get(w, KST_META_HOST);
	const char *labels = kp_meta_get(w, KST_META_LABELS);
	const char *lost = kp_meta_get(w, KST_META_LOST);
	host = host ? host : "";
	labels = labels ? labels : "";
	int vs = kp_find_value_type(w, "samples");
	int vc = kp_find_value_type(w, "cpu_ns");
	if (vs < 0)
		vs = (int)w->default_value;
	struct row *rows = xcalloc(w->nsamples ? w->nsamples : 1, sizeof(*rows));
	size_t n = 0;
	int ret = -1;
	/* the rows, merged per (label set, stack) */
	for (size_t i = 0; i < w->nsamples; i++) {
		uint32_t t = w->sample_thread[i];
		int64_t ls = map_labelset(c, t < w->nthreads ? t : 0);
		int64_t sk = map_stack(c, w->sample_stack[i]);
		if (ls < 0 || sk < 0)
			goto out;
		rows[n].ls = ls;
		rows[n].stack = sk;
		rows[n].samples = w->nvalues ? kp_sample_value(w, i, (uint32_t)vs) : 1;
		rows[n].cpu = vc >= 0 ? kp_sample_value(w, i, (uint32_t)vc) : 0;
		n++;
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	size_t m = 0;
	double total = 0;
	struct strbuf dig = STRBUF_INIT;
	for (size_t i = 0; i < n;) {
		struct row r = rows[i++];
		while (i < n && !row_cmp(&r, &rows[i])) {
			r.samples += rows[i].samples;
			r.cpu += rows[i].cpu;
			i++;
		}
		total += r.samples;
		rows[m++] = r;
		strbuf_add(&dig, &r, sizeof(r));
	}
	int64_t digest = (int64_t)hash_bytes((const unsigned char *)dig.buf, dig.len);
	strbuf_release(&dig);

	sqlite3_stmt *st = sd_stmt(s, ST_WIN_FIND);
	if (!st)
		goto out;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)start);
	sqlite3_bind_int64(st, 4, (int64_t)end);
	sqlite3_bind_int64(st, 5, digest);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_DONE || !(st = sd_stmt(s, ST_WIN_INS)))
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)start);
	sqlite3_bind_int64(st, 2, (int64_t)end);
	sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, labels, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, lost ? strtoll(lost, NULL, 10) : 0);
	bind_value(st, 6, total);
	sqlite3_bind_int64(st, 7, digest);
	if (sd_step_done(st))
		goto out;
	int64_t win = sqlite3_last_insert_rowid(s->db);
	for (size_t i = 0; i < m; i++) {
		if (!(st = sd_stmt(s, ST_SAMPLE_INS)))
			goto out;
		sqlite3_bind_int64(st, 1, win);
		sqlite3_bind_int64(st, 2, rows[i].ls);
		sqlite3_bind_int64(st, 3, rows[i].stack);
		bind_value(st, 4, rows[i].samples);
		bind_value(st, 5, rows[i].cpu);
		if (sd_step_done(st))
			goto out;
	}
	if (!(st = sd_stmt(s, ST_MAXWIN_SET)))
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)(end - start));
	if (sd_step_done(st))
		goto out;
	ret = 0;
out:
	free(rows);
	(void)err;
	return ret;
}

static int dir_write(void *h, const struct kp_profile *w, struct strbuf *err)
{
	struct dir_store *s = h;
	uint64_t start, end;
	if (kst_window_range(w, &start, &end, err))
		return -1;
	if (start > INT64_MAX || end > INT64_MAX) {
		strbuf_addf(err, "window time %" PRIu64 " is past the year 2262", end);
		return -1;
	}
	struct wctx c = { .s = s, .w = w, .buf = STRBUF_INIT };
	c.strmap = xmalloc((w->strings.nr + 1) * sizeof(*c.strmap));
	memset(c.strmap, 0xff, (w->strings.nr + 1) * sizeof(*c.strmap));
	c.framemap = xcalloc(w->nframes + 1, sizeof(*c.framemap));
	c.stackmap = xcalloc(w->nstacks + 1, sizeof(*c.stackmap));
	c.lsmap = xcalloc(w->nthreads + 1, sizeof(*c.lsmap));
	int rc = -1;
	if (sd_exec(s, "BEGIN IMMEDIATE")) {
		sd_fail(s, "write to", err);
		goto out;
	}
	int r = write_window(&c, start, end, err);
	if (r < 0 || sd_exec(s, "COMMIT")) {
		sd_fail(s, "write to", err);
		for (int i = 0; i < ST_N; i++)
			if (s->st[i])
				sqlite3_reset(s->st[i]);
		sd_exec(s, "ROLLBACK");
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&c.buf);
	free(c.strmap);
	free(c.framemap);
	free(c.stackmap);
	free(c.lsmap);
	return rc;
}


/* ---- retention ---- */

/* Bytes of the database in use (pages not on the free list). */
static int used_bytes(struct dir_store *s, int64_t *used, int64_t *free_bytes)
{
	int64_t pages, freel, psize;
	if (sd_query_int(s, "PRAGMA page_count", &pages) || sd_query_int(s, "PRAGMA freelist_count", &freel) ||
	    sd_query_int(s, "PRAGMA page_size", &psize))
		return -1;
	*used = (pages - freel) * psize;
	*free_bytes = freel * psize;
	return 0;
}

/* Removes the stacks, frames, strings and label sets no sample uses (in a transaction). */
static int collect_garbage(struct dir_store *s)
{
	if (sd_exec(s, "DELETE FROM labelset WHERE id NOT IN (SELECT labelset FROM sample);"
		    "DELETE FROM stack WHERE id NOT IN (SELECT stack FROM sample);"
		    "CREATE TEMP TABLE IF NOT EXISTS used_frame(id INTEGER PRIMARY KEY);"
		    "DELETE FROM used_frame;"))
		return -1;
	sqlite3_stmt *st, *ins;
	if (sqlite3_prepare_v2(s->db, "SELECT frames FROM stack", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO used_frame(id) VALUES (?1)", -1, &ins, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *p = sqlite3_column_blob(st, 0);
		const unsigned char *end = p + sqlite3_column_bytes(st, 0);
		uint64_t f;
		while (p && p < end && !sd_get_varint(&p, end, &f)) {
			sqlite3_bind_int64(ins, 1, (int64_t)f);
			if (sd_step_done(ins))
				break;
		}
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sd_exec(s, "DELETE FROM frame WHERE id NOT IN (SELECT id FROM used_frame);"
		       "DELETE FROM used_frame;"
		       "DELETE FROM str WHERE id NOT IN (SELECT name FROM frame UNION SELECT module FROM frame"
		       " UNION SELECT file FROM frame);");
}

/* Removes the windows the WHERE clause (on win, the newest window excluded) selects,
 * with their samples, and what only they used. */
static int drop_windows(struct dir_store *s, const char *where, int64_t arg, uint64_t *removed)
{
	char *sql = xasprintf("CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY); DELETE FROM doomed;"
			      "INSERT INTO doomed SELECT id FROM win WHERE id != (SELECT id FROM win ORDER BY start_ns DESC,"
			      " id DESC LIMIT 1) AND %s",
			      where);
	sqlite3_stmt *st;
	int rc = -1;
	if (sd_exec(s, "BEGIN IMMEDIATE"))
		goto out;
	/* the statement with the parameter is the last of sql: run the others first */
	char *last = strrchr(sql, ';');
	*last = 0;
	if (sd_exec(s, sql) || sqlite3_prepare_v2(s->db, last + 1, -1, &st, NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_bind_int64(st, 1, arg);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		goto rollback;
	int64_t n;
	if (sd_query_int(s, "SELECT count(*) FROM doomed", &n))
		goto rollback;
	if (n && (sd_exec(s, "DELETE FROM sample WHERE win IN (SELECT id FROM doomed);"
			  "DELETE FROM win WHERE id IN (SELECT id FROM doomed);") ||
		  collect_garbage(s)))
		goto rollback;
	if (sd_exec(s, "COMMIT"))
		goto rollback;
	*removed += (uint64_t)n;
	rc = (int)(n > 0);
	goto out;
rollback:
	sd_exec(s, "ROLLBACK");
out:
	free(sql);
	return rc;
}

int kst_dir_retain(const char *dir, uint64_t max_age_ns, uint64_t max_bytes, uint64_t *removed,
		   struct strbuf *err)
{
	uint64_t n = 0;
	struct stat st;
	if (removed)
		*removed = 0;
	if (stat(dir, &st) && errno == ENOENT)
		return 0; /* nothing stored yet */
	struct dir_store *s = dir_open(dir, KST_WRITE, err);
	if (!s)
		return -1;
	int rc = -1;
	if (max_age_ns) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		if (now > max_age_ns && drop_windows(s, "end_ns <= ?1", (int64_t)(now - max_age_ns), &n) < 0)
			goto fail;
	}
	for (int round = 0; max_bytes && round < 64; round++) {
		int64_t used, freeb, nwin;
		if (used_bytes(s, &used, &freeb) || sd_query_int(s, "SELECT count(*) FROM win", &nwin))
			goto fail;
		if ((uint64_t)used <= max_bytes || nwin <= 1)
			break;
		/* the share of the windows that holds the excess, at least one */
		int64_t drop = (int64_t)((double)nwin * (double)((uint64_t)used - max_bytes) / (double)used) + 1;
		int r = drop_windows(s, "id IN (SELECT id FROM win ORDER BY start_ns, id LIMIT ?1)", drop, &n);
		if (r < 0)
			goto fail;
		if (!r)
			break;
	}
	int64_t used, freeb;
	if (used_bytes(s, &used, &freeb))
		goto fail;
	if (freeb >= (1 << 20) || (freeb > 0 && freeb >= (used + freeb) / 10))
		if (sd_exec(s, "PRAGMA incremental_vacuum"))
			goto fail;
	if (sd_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)"))
		goto fail;
	rc = 0;
	if (removed)
		*removed = n;
	dir_close(s);
	return rc;
fail:
	sd_fail(s, "apply retention to", err);
	dir_close(s);
	return -1;
}

const struct kst_backend kst_backend_dir = {
	.name = "store",
	.match = dir_match,
	.open = dir_open,
	.write = dir_write,
	.query = sd_query,
	.series = sd_series,
	.label_values = sd_label_values,
	.range = sd_range,
	.close = dir_close,
};
