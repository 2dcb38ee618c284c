/* test_store_dir.c: the local store (store_dir.c): windows built in code round-trip
 * exactly; label filters, time ranges, series, label values; stores it must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "profile/profile.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "unit.h"

#define S 1000000000ull
#define T0 (1765000000ull * S)

/* A window [start, start + 10 s) of host h with two processes. */
static void window_init(struct kp_profile *w, uint64_t start, const char *host)
{
	kp_profile_init(w);
	kp_add_value_type(w, "samples", "count");
	kp_add_value_type(w, "cpu_ns", "nanoseconds");
	kp_meta_set(w, "kind", "cpu");
	kst_window_set_range(w, start, start + 10 * S);
	kp_meta_set(w, KST_META_HOST, host);
	kp_meta_set(w, KST_META_LABELS, "zone=z1\n");
	struct kst_labels l = KST_LABELS_INIT;
	kst_labels_set(&l, "comm", "app");
	kst_labels_set(&l, "service", "api");
	kst_window_set_proc(w, 100, &l);
	kst_labels_release(&l);
	kst_labels_set(&l, "comm", "db");
	kst_labels_set(&l, "service", "storage");
	kst_window_set_proc(w, 200, &l);
	kst_labels_release(&l);
}

/* Adds n samples of stack "a;b;c" (root first) in process pid, as separate samples. */
static void add(struct kp_profile *w, int32_t pid, const char *stack, int n, double cpu_each)
{
	uint32_t th = 0;
	for (uint32_t t = 1; t < w->nthreads; t++)
		if (w->threads[t].pid == pid)
			th = t;
	if (!th)
		th = kp_add_thread(w, pid, pid + 1, pid == 100 ? "app" : "db");
	kp_stack_t s = 0;
	char *copy = strdup(stack);
	char *save = NULL;
	for (char *f = strtok_r(copy, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
		struct kp_frame fr = { 0 };
		fr.name = kp_strz(w, f);
		fr.module = kp_strz(w, f[0] == 'k' ? "[kernel.kallsyms]" : "/usr/bin/app");
		fr.file = kp_strz(w, "app.c");
		fr.line = (uint32_t)strlen(f) * 7;
		fr.flags = f[0] == 'k' ? KP_FRAME_KERNEL : (f[0] == 'p' ? KP_FRAME_PY : 0);
		fr.addr = 0x1000 + (uint64_t)n; /* not kept: frames are per function */
		s = kp_stack_push(w, s, kp_frame(w, &fr));
	}
	free(copy);
	for (int i = 0; i < n; i++) {
		double v[2] = { 1, cpu_each };
		kp_add_sample(w, s, th, (uint64_t)i * 1000, v);
	}
}

struct line {
	char *key;
	double s, c;
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->key, ((const struct line *)b)->key);
}

/* "comm|frame;frame;...|samples|cpu_ns" per distinct (process, stack), each frame as
 * name@module:file:line:flags, sorted: a profile's content, whatever its sample order. */
static char *content(const struct kp_profile *p)
{
	int vs = kp_find_value_type(p, "samples"), vc = kp_find_value_type(p, "cpu_ns");
	struct line *lines = calloc(p->nsamples + 1, sizeof(*lines));
	for (size_t i = 0; i < p->nsamples; i++) {
		struct strbuf sb = STRBUF_INIT;
		const struct kp_thread *t = &p->threads[p->sample_thread[i]];
		strbuf_addf(&sb, "%s|", kp_str_get(p, t->comm));
		kp_frame_t fr[64];
		uint32_t d = kp_stack_frames(p, p->sample_stack[i], fr, 64);
		for (uint32_t k = 0; k < d; k++) {
			const struct kp_frame *f = &p->frames[fr[k]];
			strbuf_addf(&sb, "%s%s@%s:%s:%u:%u", k ? ";" : "", kp_str_get(p, f->name),
				    kp_str_get(p, f->module), kp_str_get(p, f->file), f->line, f->flags);
		}
		lines[i].key = strbuf_detach(&sb, NULL);
		lines[i].s = kp_sample_value(p, i, (uint32_t)vs);
		lines[i].c = kp_sample_value(p, i, (uint32_t)vc);
	}
	qsort(lines, p->nsamples, sizeof(*lines), line_cmp);
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < p->nsamples;) {
		size_t j = i + 1;
		double s = lines[i].s, c = lines[i].c;
		for (; j < p->nsamples && !strcmp(lines[j].key, lines[i].key); j++) {
			s += lines[j].s;
			c += lines[j].c;
		}
		strbuf_addf(&out, "%s|%.17g|%.17g\n", lines[i].key, s, c);
		i = j;
	}
	for (size_t i = 0; i < p->nsamples; i++)
		free(lines[i].key);
	free(lines);
	return strbuf_detach(&out, NULL);
}

static void open_store(struct kst *s, const char *sub, int mode, char *dir, size_t dlen)
{
	struct strbuf err = STRBUF_INIT;
	snprintf(dir, dlen, "%s/%s", tmpdir, sub);
	int rc = kst_open(s, dir, mode, &err);
	if (rc)
		fail_msg("open %s: %s", dir, err.buf);
	assert_string_equal(s->be->name, "store");
	strbuf_release(&err);
}

/* The number of windows, or -1 while the store is still being created. */
static int64_t windows_now(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, KST_DIR_DB);
	sqlite3 *db;
	int64_t n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 10000);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM win", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				n = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
	return n;
}

static int64_t count(const char *dir, const char *sql)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, KST_DIR_DB);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000); /* a writer may hold the lock for a moment */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct kst s;
	char dir[300];
	struct strbuf err = STRBUF_INIT;
	open_store(&s, "rt", KST_WRITE, dir, sizeof(dir));
	struct kp_profile w[3];
	for (int i = 0; i < 3; i++) {
		window_init(&w[i], T0 + (uint64_t)i * 10 * S, "h1");
		add(&w[i], 100, "main;work;hot", 60 + i, 52631578);
		add(&w[i], 100, "main;work;warm", 30, 52631578);
		add(&w[i], 100, "main;py_run (x.py:3);kfunc", 10, 52631578.5); /* fractional cpu */
		add(&w[i], 200, "main;work;hot", 5, 1000);                    /* same stack, other process */
		if (i == 2)
			add(&w[i], 200, "main;only_last", 3, 7);
		assert_int_equal(kst_write(&s, &w[i], &err), 0);
	}
	/* the same window again is a no-op */
	assert_int_equal(kst_write(&s, &w[1], &err), 0);
	kst_close(&s);
	/* stacks, frames, strings and label sets stored once */
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), 3);
	assert_int_equal(count(dir, "SELECT count(*) FROM stack"), 4);
	assert_int_equal(count(dir, "SELECT count(*) FROM labelset"), 2);
	assert_int_equal(count(dir, "SELECT count(*) FROM frame"), 7);
	assert_int_equal(count(dir, "SELECT count(*) FROM sample"), 4 * 3 + 1);
	assert_int_equal(count(dir, "PRAGMA user_version"), KST_DIR_VERSION);
	assert_int_equal(count(dir, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);

	/* everything back: the merge of the three windows */
	struct kp_profile all, got;
	kp_profile_init(&all);
	kp_profile_init(&got);
	/* expected: the windows' samples concatenated */
	kp_add_value_type(&all, "samples", "count");
	kp_add_value_type(&all, "cpu_ns", "nanoseconds");
	for (int i = 0; i < 3; i++) {
		add(&all, 100, "main;work;hot", 60 + i, 52631578);
		add(&all, 100, "main;work;warm", 30, 52631578);
		add(&all, 100, "main;py_run (x.py:3);kfunc", 10, 52631578.5);
		add(&all, 200, "main;work;hot", 5, 1000);
	}
	add(&all, 200, "main;only_last", 3, 7);
	assert_int_equal(kst_open(&s, dir, KST_READ, &err), 0);
	struct kst_query q;
	memset(&q, 0, sizeof(q));
	q.to_ns = UINT64_MAX;
	assert_int_equal(kst_query(&s, &q, &got, &err), 0);
	char *a = content(&all), *b = content(&got);
	assert_string_equal(a, b);
	/* frames keep name, module, file, line and flags; values add up exactly */
	assert_non_null(strstr(b, "app|main@/usr/bin/app:app.c:28:0;py_run (x.py:3)@/usr/bin/app:app.c:105:128;"
				  "kfunc@[kernel.kallsyms]:app.c:35:1|30|1578947355\n"));
	assert_non_null(strstr(b, "db|main@/usr/bin/app:app.c:28:0;work@/usr/bin/app:app.c:28:0;"
				  "hot@/usr/bin/app:app.c:21:0|15|15000\n"));
	free(a);
	free(b);
	/* one thread per process, tid = pid; times are the windows' starts from the first */
	assert_int_equal(got.nthreads, 3);
	for (uint32_t t = 1; t < got.nthreads; t++)
		assert_int_equal(got.threads[t].tid, got.threads[t].pid);
	int saw20 = 0;
	for (size_t i = 0; i < got.nsamples; i++) {
		assert_true(got.sample_time[i] == 0 || got.sample_time[i] == 10 * S || got.sample_time[i] == 20 * S);
		saw20 |= got.sample_time[i] == 20 * S;
	}
	assert_true(saw20);
	assert_int_equal((int)kp_total(&got, 0), (60 + 61 + 62) + 90 + 30 + 15 + 3);

	/* range, label values */
	uint64_t first, last;
	assert_int_equal(kst_range(&s, &first, &last, &err), 0);
	assert_true(first == T0 && last == T0 + 30 * S);
	struct kst_strlist lv = { 0 };
	assert_int_equal(kst_label_values(&s, &q, "comm", &lv, &err), 0);
	assert_int_equal(lv.n, 2);
	assert_string_equal(lv.v[0], "app");
	assert_string_equal(lv.v[1], "db");
	kst_strlist_release(&lv);
	assert_int_equal(kst_label_values(&s, &q, "zone", &lv, &err), 0);
	assert_int_equal(lv.n, 1);
	assert_string_equal(lv.v[0], "z1");
	kst_strlist_release(&lv);

	kst_close(&s);
	for (int i = 0; i < 3; i++)
		kp_profile_release(&w[i]);
	kp_profile_release(&all);
	kp_profile_release(&got);
	strbuf_release(&err);
}

/* Writes windows at T0, T0+10s, ..., one per i < n, process 100 "hot" i+1 samples and
 * process 200 "cold" 1 sample each. */
static void fill(const char *sub, int n, char *dir, size_t dlen)
{
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	open_store(&s, sub, KST_WRITE, dir, dlen);
	for (int i = 0; i < n; i++) {
		struct kp_profile w;
		window_init(&w, T0 + (uint64_t)i * 10 * S, i % 2 ? "h2" : "h1");
		add(&w, 100, "main;hot", i + 1, 1e6);
		add(&w, 200, "main;cold", 1, 1e6);
		if (kst_write(&s, &w, &err))
			fail_msg("write: %s", err.buf);
		kp_profile_release(&w);
	}
	kst_close(&s);
	strbuf_release(&err);
}

static double query_total(const char *dir, uint64_t from, uint64_t to, const char *where, const char *comm)
{
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(kst_open(&s, dir, KST_READ, &err), 0);
	struct kst_query q;
	memset(&q, 0, sizeof(q));
	q.from_ns = from;
	q.to_ns = to;
	q.comm = comm;
	if (where)
		assert_int_equal(kst_label_parse(where, &q.where, &err), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	assert_int_equal(kst_query(&s, &q, &p, &err), 0);
	double t = kp_total(&p, 0);
	kp_profile_release(&p);
	kst_labels_release(&q.where);
	kst_close(&s);
	strbuf_release(&err);
	return t;
}

static void test_filters(void **state)
{
	(void)state;
	char dir[300];
	fill("filt", 6, dir, sizeof(dir)); /* hot: 1..6, cold: 1 each */
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, NULL) == 21 + 6);
	assert_true(query_total(dir, 0, UINT64_MAX, "service=api", NULL) == 21);
	assert_true(query_total(dir, 0, UINT64_MAX, "service=storage", NULL) == 6);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, "db") == 6);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, "nosuch") == 0);
	assert_true(query_total(dir, 0, UINT64_MAX, "host=h2", "app") == 2 + 4 + 6);
	assert_true(query_total(dir, 0, UINT64_MAX, "pid=200", NULL) == 6);
	assert_true(query_total(dir, 0, UINT64_MAX, "zone=z1", NULL) == 27);
	assert_true(query_total(dir, 0, UINT64_MAX, "zone=z2", NULL) == 0);
	/* time: windows overlapping [from, to) */
	assert_true(query_total(dir, T0, T0 + 10 * S, NULL, "app") == 1);
	assert_true(query_total(dir, T0 + 10 * S, T0 + 30 * S, NULL, "app") == 2 + 3);
	assert_true(query_total(dir, T0 + 15 * S, T0 + 25 * S, NULL, "app") == 2 + 3); /* partly covered */
	assert_true(query_total(dir, T0 + 50 * S, UINT64_MAX, NULL, "app") == 6);
	assert_true(query_total(dir, T0 + 60 * S, UINT64_MAX, NULL, NULL) == 0);
	assert_true(query_total(dir, 0, T0, NULL, NULL) == 0);
	assert_true(query_total(dir, 0, T0 + 1, NULL, NULL) == 2);
}

static void test_series(void **state)
{
	(void)state;
	char dir[300];
	fill("ser", 6, dir, sizeof(dir));
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(kst_open(&s, dir, KST_READ, &err), 0);
	struct kst_query q;
	memset(&q, 0, sizeof(q));
	q.to_ns = UINT64_MAX;
	struct kst_series ser;
	assert_int_equal(kst_series(&s, &q, "comm", 20 * S, &ser, &err), 0);
	assert_true(ser.from_ns == T0 && ser.step_ns == 20 * S);
	assert_int_equal(ser.nsteps, 3);
	assert_int_equal(ser.ngroups, 2);
	for (uint32_t g = 0; g < 2; g++) {
		double *v = ser.samples + g * ser.nsteps;
		if (!strcmp(ser.groups[g], "app"))
			assert_true(v[0] == 1 + 2 && v[1] == 3 + 4 && v[2] == 5 + 6);
		else
			assert_true(!strcmp(ser.groups[g], "db") && v[0] == 2 && v[1] == 2 && v[2] == 2);
	}
	kst_series_release(&ser);
	/* a range and a filter */
	q.from_ns = T0 + 20 * S;
	q.to_ns = T0 + 40 * S;
	q.comm = "app";
	assert_int_equal(kst_series(&s, &q, "host", 10 * S, &ser, &err), 0);
	assert_int_equal(ser.nsteps, 2);
	assert_int_equal(ser.ngroups, 2);
	for (uint32_t g = 0; g < 2; g++) {
		double *v = ser.samples + g * ser.nsteps;
		if (!strcmp(ser.groups[g], "h1"))
			assert_true(v[0] == 3 && v[1] == 0);
		else
			assert_true(!strcmp(ser.groups[g], "h2") && v[0] == 0 && v[1] == 4);
	}
	kst_series_release(&ser);
	kst_close(&s);
	strbuf_release(&err);
}

static void test_refused(void **state)
{
	(void)state;
	char dir[300], path[400];
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	/* a missing directory, to read */
	snprintf(dir, sizeof(dir), "%s/nosuch", tmpdir);
	assert_int_equal(kst_open(&s, dir, KST_READ, &err), -1);
	assert_non_null(strstr(err.buf, "no such directory"));
	assert_null(strchr(err.buf, '\n'));
	struct stat st;
	assert_int_equal(stat(dir, &st), -1); /* not created by a read */
	/* a directory without a store */
	strbuf_reset(&err);
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	assert_int_equal(kst_open(&s, dir, KST_READ, &err), -1);
	assert_non_null(strstr(err.buf, "holds no store"));

	/* a store from a newer kiln */
	fill("newer", 1, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, KST_DIR_DB);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int mode = KST_READ; mode <= KST_WRITE; mode++) {
		strbuf_reset(&err);
		assert_int_equal(kst_open(&s, dir, mode, &err), -1);
		assert_non_null(strstr(err.buf, "format version 7, newer than this kiln reads (1)"));
		assert_non_null(strstr(err.buf, dir));
		assert_null(strchr(err.buf, '\n'));
	}

	/* garbage as the database: refused, not overwritten */
	snprintf(dir, sizeof(dir), "%s/garbage", tmpdir);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, KST_DIR_DB);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 300; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	for (int mode = KST_READ; mode <= KST_WRITE; mode++) {
		strbuf_reset(&err);
		assert_int_equal(kst_open(&s, dir, mode, &err), -1);
		assert_non_null(strstr(err.buf, "is not a kiln store"));
		assert_null(strchr(err.buf, '\n'));
	}
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 300 * 30);

	/* another program's SQLite database */
	snprintf(dir, sizeof(dir), "%s/foreign", tmpdir);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, KST_DIR_DB);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	strbuf_reset(&err);
	assert_int_equal(kst_open(&s, dir, KST_WRITE, &err), -1);
	assert_non_null(strstr(err.buf, "not a kiln store"));

	/* a file where the directory should be */
	strbuf_reset(&err);
	assert_int_equal(kst_open(&s, path, KST_WRITE, &err), -1);
	assert_non_null(strstr(err.buf, "is not a directory"));
	strbuf_release(&err);
}

static void test_bad_window(void **state)
{
	(void)state;
	char dir[300];
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	open_store(&s, "badwin", KST_WRITE, dir, sizeof(dir));
	struct kp_profile w;
	kp_profile_init(&w);
	kp_add_value_type(&w, "samples", "count");
	add(&w, 100, "main;x", 3, 0);
	assert_int_equal(kst_write(&s, &w, &err), -1); /* no window range */
	assert_non_null(strstr(err.buf, "not an agent window"));
	kst_window_set_range(&w, 1ull << 63, (1ull << 63) + 1);
	strbuf_reset(&err);
	assert_int_equal(kst_write(&s, &w, &err), -1);
	kst_close(&s);
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), 0);
	assert_int_equal(count(dir, "SELECT count(*) FROM stack"), 0);
	kp_profile_release(&w);
	strbuf_release(&err);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec;
}

/* A window at start with n samples of a stack unique to tag in process 100. */
static int write_tagged(struct kst *s, uint64_t start, int n, const char *tag, struct strbuf *err)
{
	struct kp_profile w;
	window_init(&w, start, "h1");
	char stack[128];
	snprintf(stack, sizeof(stack), "main;%s;leaf_%s", tag, tag);
	add(&w, 100, stack, n, 1e6);
	add(&w, 200, "main;shared", 1, 1e6);
	int rc = kst_write(s, &w, err);
	kp_profile_release(&w);
	return rc;
}

/* Two windows of one range, host and labels but other samples (two recordings of the
 * same time imported, an agent restarted in the middle of a window): both are kept. */
static void test_same_range(void **state)
{
	(void)state;
	char dir[300];
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	open_store(&s, "same", KST_WRITE, dir, sizeof(dir));
	assert_int_equal(write_tagged(&s, T0, 5, "one", &err), 0);
	assert_int_equal(write_tagged(&s, T0, 7, "two", &err), 0);
	assert_int_equal(write_tagged(&s, T0, 7, "two", &err), 0); /* a retry */
	kst_close(&s);
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), 2);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, "app") == 12);
	strbuf_release(&err);
}

static void test_retain_age(void **state)
{
	(void)state;
	char dir[300];
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	open_store(&s, "age", KST_WRITE, dir, sizeof(dir));
	uint64_t now = wall_ns();
	for (int i = 0; i < 20; i++) { /* two days old */
		char tag[32];
		snprintf(tag, sizeof(tag), "old%d", i);
		assert_int_equal(write_tagged(&s, now - 2 * 86400 * S + (uint64_t)i * 10 * S, 3, tag, &err), 0);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(write_tagged(&s, now - 600 * S + (uint64_t)i * 10 * S, 2, "new", &err), 0);
	kst_close(&s);
	int64_t frames_before = count(dir, "SELECT count(*) FROM frame");
	uint64_t removed;
	assert_int_equal(kst_dir_retain(dir, 86400 * S, 0, &removed, &err), 0);
	assert_int_equal(removed, 20);
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), 5);
	/* what only the old windows used is gone; what the new ones use stays */
	assert_int_equal(count(dir, "SELECT count(*) FROM stack"), 2);
	assert_int_equal(count(dir, "SELECT count(*) FROM frame"), frames_before - 2 * 20);
	assert_int_equal(count(dir, "SELECT count(*) FROM str WHERE s LIKE '%old%'"), 0);
	assert_int_equal(count(dir, "SELECT count(*) FROM str WHERE s = 'leaf_new'"), 1);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, NULL) == 5 * 3);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, "app") == 5 * 2);
	/* again: nothing more to remove */
	assert_int_equal(kst_dir_retain(dir, 86400 * S, 0, &removed, &err), 0);
	assert_int_equal(removed, 0);
	/* a missing store is not an error */
	snprintf(dir, sizeof(dir), "%s/none", tmpdir);
	assert_int_equal(kst_dir_retain(dir, 1, 1, &removed, &err), 0);
	strbuf_release(&err);
}

static void test_retain_size(void **state)
{
	(void)state;
	char dir[300], path[400];
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	open_store(&s, "size", KST_WRITE, dir, sizeof(dir));
	for (int i = 0; i < 300; i++) {
		char tag[64];
		snprintf(tag, sizeof(tag), "function_with_a_long_name_number_%d", i);
		assert_int_equal(write_tagged(&s, T0 + (uint64_t)i * 10 * S, 5, tag, &err), 0);
	}
	kst_close(&s);
	snprintf(path, sizeof(path), "%s/%s", dir, KST_DIR_DB);
	int64_t pages = count(dir, "PRAGMA page_count") - count(dir, "PRAGMA freelist_count");
	int64_t used = pages * count(dir, "PRAGMA page_size");
	uint64_t removed;
	assert_int_equal(kst_dir_retain(dir, 0, (uint64_t)used / 2, &removed, &err), 0);
	assert_true(removed > 100 && removed < 300);
	int64_t left = count(dir, "SELECT count(*) FROM win");
	assert_int_equal(left, 300 - (int64_t)removed);
	/* the newest windows are kept */
	assert_true(count(dir, "SELECT min(start_ns) FROM win") == (int64_t)(T0 + (300 - left) * 10 * S));
	int64_t now_used = (count(dir, "PRAGMA page_count") - count(dir, "PRAGMA freelist_count")) *
			   count(dir, "PRAGMA page_size");
	assert_true(now_used <= used / 2);
	/* the file itself shrank (incremental vacuum), the WAL was emptied */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= used * 3 / 4);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, "app") == 5 * left);
	/* a limit below one window keeps the newest one */
	assert_int_equal(kst_dir_retain(dir, 0, 1, &removed, &err), 0);
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), 1);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, "app") == 5);
	strbuf_release(&err);
}

/* samples at 0..24.9 s, 10 a second, in process 7 "imp", stack by second parity */
static void test_import(void **state)
{
	(void)state;
	char dir[300];
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	struct kp_profile p;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	kp_add_value_type(&p, "cpu_ns", "nanoseconds");
	kp_meta_set(&p, "start_time", "2025-12-06T05:46:40Z");
	kp_meta_set(&p, "hostname", "rec-host");
	uint32_t th = kp_add_thread(&p, 7, 7, "imp");
	uint32_t th2 = kp_add_thread(&p, 7, 8, "imp-worker");
	kp_frame_t fa = kp_frame_named(&p, "even", 4, 0), fb = kp_frame_named(&p, "odd", 3, 0);
	kp_stack_t sa = kp_stack_push(&p, 0, fa), sb = kp_stack_push(&p, 0, fb);
	for (int i = 0; i < 250; i++) {
		double v[2] = { 1, 1e8 };
		kp_add_sample(&p, (i / 10) % 2 ? sb : sa, i % 3 ? th : th2, (uint64_t)i * S / 10, v);
	}
	uint64_t base;
	assert_int_equal(kst_profile_start(&p, &base), 0);
	assert_true(base == T0);
	open_store(&s, "imp", KST_WRITE, dir, sizeof(dir));
	struct kst_labels l = KST_LABELS_INIT;
	kst_labels_set(&l, "service", "batch");
	uint64_t nw, ns;
	assert_int_equal(kst_import_profile(&s, &p, base, 10 * S, NULL, &l, &nw, &ns, &err), 0);
	assert_int_equal(nw, 3);
	assert_int_equal(ns, 250);
	kst_close(&s);
	assert_int_equal(count(dir, "SELECT count(*) FROM win WHERE host = 'rec-host'"), 3);
	assert_int_equal(count(dir, "SELECT max(end_ns) FROM win"), (int64_t)(T0 + 30 * S));
	/* per window: 100, 100, 50 samples; "even" seconds 0-9 in window 0 */
	assert_true(query_total(dir, T0, T0 + 10 * S, NULL, NULL) == 100);
	assert_true(query_total(dir, T0 + 20 * S, T0 + 30 * S, NULL, NULL) == 50);
	assert_true(query_total(dir, 0, UINT64_MAX, "service=batch", "imp") == 250);
	assert_true(query_total(dir, 0, UINT64_MAX, "host=rec-host", NULL) == 250);
	/* the same import again is not counted twice */
	assert_int_equal(kst_open(&s, dir, KST_WRITE, &err), 0);
	assert_int_equal(kst_import_profile(&s, &p, base, 10 * S, NULL, &l, &nw, &ns, &err), 0);
	kst_close(&s);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, NULL) == 250);
	/* a profile without samples values is refused */
	struct kp_profile h;
	kp_profile_init(&h);
	kp_add_value_type(&h, "alloc_bytes", "bytes");
	assert_int_equal(kst_window_from_profile(&h, base, 10 * S, NULL, NULL, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.buf, "'samples'"));
	kp_profile_release(&h);
	kst_labels_release(&l);
	kp_profile_release(&p);
	strbuf_release(&err);
}

/* A child writes windows of exactly 100 samples in a loop; it is killed with SIGKILL at
 * some point; every window in the store must be whole, and the store must take more. */
static void test_kill9(void **state)
{
	(void)state;
	char dir[300];
	struct strbuf err = STRBUF_INIT;
	snprintf(dir, sizeof(dir), "%s/kill9", tmpdir);
	int64_t before = 0;
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			struct kst s;
			struct strbuf e = STRBUF_INIT;
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
			if (kst_open(&s, dir, KST_WRITE, &e))
				_exit(3);
			for (uint64_t i = 0;; i++) {
				char tag[32];
				snprintf(tag, sizeof(tag), "r%dw%d", round, (int)(i % 50));
				if (write_tagged(&s, T0 + ((uint64_t)round * 100000 + i) * 10 * S, 99, tag, &e))
					_exit(4);
			}
		}
		/* let it write a while: until it has stored some windows, then a bit more */
		for (int i = 0; i < 500; i++) {
			usleep(10000);
			if (windows_now(dir) > before + 3)
				break;
		}
		usleep(1000u * (unsigned)(round * 7 % 20));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* every window whole: 99 + 1 samples each, and the window's own total agrees */
		int64_t nwin = count(dir, "SELECT count(*) FROM win");
		assert_true(nwin > before);
		assert_int_equal(count(dir, "SELECT count(*) FROM win WHERE samples != 100"), 0);
		assert_true(query_total(dir, 0, UINT64_MAX, NULL, NULL) == 100.0 * (double)nwin);
		assert_int_equal(count(dir, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"),
				 0);
		before = nwin;
	}
	/* and it takes more windows after that */
	struct kst s;
	assert_int_equal(kst_open(&s, dir, KST_WRITE, &err), 0);
	assert_int_equal(write_tagged(&s, T0 + 999999 * 10 * S, 99, "after", &err), 0);
	kst_close(&s);
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), before + 1);
	strbuf_release(&err);
}

/* A write the file system refuses (here: the file size limit) fails with the reason and
 * leaves the store as it was: the windows before it whole, readable. */
static void test_write_fails(void **state)
{
	(void)state;
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/full", tmpdir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct kst s;
		struct strbuf e = STRBUF_INIT;
		signal(SIGXFSZ, SIG_IGN);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct rlimit rl = { 1024 * 1024, 1024 * 1024 };
		setrlimit(RLIMIT_FSIZE, &rl);
		if (kst_open(&s, dir, KST_WRITE, &e))
			_exit(3);
		for (int i = 0; i < 100000; i++) {
			char tag[96];
			snprintf(tag, sizeof(tag), "a_function_name_that_takes_room_in_the_store_%d", i);
			if (write_tagged(&s, T0 + (uint64_t)i * 10 * S, 99, tag, &e)) {
				/* one line with the reason */
				int ok = strstr(e.buf, "cannot write to store") && !strchr(e.buf, '\n');
				fprintf(stderr, "write %d failed: %s\n", i, e.buf);
				kst_close(&s);
				_exit(ok && i > 10 ? 0 : 5);
			}
		}
		_exit(6);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	int64_t nwin = count(dir, "SELECT count(*) FROM win");
	assert_true(nwin > 10);
	assert_int_equal(count(dir, "SELECT count(*) FROM win WHERE samples != 100"), 0);
	assert_true(query_total(dir, 0, UINT64_MAX, NULL, NULL) == 100.0 * (double)nwin);
	/* with room again, writing goes on */
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(kst_open(&s, dir, KST_WRITE, &err), 0);
	assert_int_equal(write_tagged(&s, T0 + 200000 * 10 * S, 99, "after", &err), 0);
	kst_close(&s);
	assert_int_equal(count(dir, "SELECT count(*) FROM win"), nwin + 1);
	strbuf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bad_window),
		cmocka_unit_test(test_same_range),
		cmocka_unit_test(test_retain_age),
		cmocka_unit_test(test_retain_size),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_write_fails),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
