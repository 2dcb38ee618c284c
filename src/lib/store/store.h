/* store.h: the always-on pipeline's one interface (issue 15). `kiln agent` cuts the
 * machine's samples into windows and writes each to a sink; `kiln query` and `kiln serve`
 * read them back from a source. Sinks and sources are backends chosen by the spec:
 *
 *   DIR                        the local store (store_dir.c: SQLite in DIR/kiln-store.db)
 *   clickhouse://HOST:PORT/DB  ClickHouse over HTTP (store_clickhouse.c)
 *   pyroscope://HOST:PORT      Pyroscope's /ingest with pprof; a sink only (store_pyroscope.c)
 *
 * A window is a plain struct kp_profile (the one profile model) whose meta says what the
 * samples were and whose threads say which process each sample belongs to:
 *   kind            "cpu" (value types "samples" count, "cpu_ns" nanoseconds)
 *   window_start_ns window_end_ns   the window, unix time in ns, decimal
 *   host            the host name
 *   labels          the agent's own labels (--label k=v), "k=v\n" each
 *   lost            samples the kernel dropped in the window (decimal)
 *   proc.PID        the process's labels, "k=v\n" each: comm, exe, build_id, cgroup,
 *                   service (from --label service=..., else the cgroup's unit)
 * A sample's label set (kst_window_labels) is host + the agent's labels + pid + its
 * process's labels; keys are sorted, a process's own key wins over the agent's.
 * Sample times are ns since window_start_ns. A window is a valid kiln.prof, so a spooled
 * window is a file `kiln report` reads.
 *
 * Every call returns 0 on success or -1 after writing one line to err (no newline, no
 * "kiln:" prefix: the caller adds its own context). */
#ifndef KILN_STORE_STORE_H
#define KILN_STORE_STORE_H
#include <stddef.h>
#include <stdint.h>

struct kp_profile;
struct strbuf;
struct kst;

#define KST_META_START "window_start_ns"
#define KST_META_END "window_end_ns"
#define KST_META_HOST "host"
#define KST_META_LABELS "labels"
#define KST_META_LOST "lost"
#define KST_META_PROC "proc." /* + decimal pid */

/* ---- labels: a set of key=value pairs, sorted by key, keys unique ---- */
struct kst_label {
	char *key, *value; /* owned */
};
struct kst_labels {
	struct kst_label *v;
	uint32_t n, alloc;
};
#define KST_LABELS_INIT { NULL, 0, 0 }
void kst_labels_release(struct kst_labels *l);
/* Sets key to value (replacing a value the key had). */
void kst_labels_set(struct kst_labels *l, const char *key, const char *value);
/* The value of key, or NULL. */
const char *kst_labels_get(const struct kst_labels *l, const char *key);
/* Parses "k=v" (one label, the form of --label and --where): keys are [A-Za-z_][A-Za-z0-9_.]*,
 * at most 64 bytes; values any bytes but newline, at most 1024. Adds it to l. */
int kst_label_parse(const char *text, struct kst_labels *l, struct strbuf *err);
/* Writes "k=v\n" per label to out; kst_labels_read reads that form back (adding to l). */
void kst_labels_format(const struct kst_labels *l, struct strbuf *out);
int kst_labels_read(const char *text, struct kst_labels *l, struct strbuf *err);
/* 1 when every label of want is in have with the same value. */
int kst_labels_match(const struct kst_labels *have, const struct kst_labels *want);

/* ---- windows ---- */
void kst_window_set_range(struct kp_profile *w, uint64_t start_ns, uint64_t end_ns);
/* The window's range; -1 (err says so) when p is not a window (no window meta). */
int kst_window_range(const struct kp_profile *w, uint64_t *start_ns, uint64_t *end_ns, struct strbuf *err);
void kst_window_set_proc(struct kp_profile *w, int32_t pid, const struct kst_labels *l);
/* The full label set of process pid's samples in window w (out is reset first). */
void kst_window_labels(const struct kp_profile *w, int32_t pid, struct kst_labels *out);

/* Cuts a recorded profile (value "samples", and "cpu_ns" when it has one) into windows of
 * window_ns: window k holds the samples whose time is in [k, k + 1) * window_ns, and spans
 * base_ns + that (base_ns: the recording's start, unix ns). Each window is labelled with
 * host (NULL: the profile's "hostname"), labels (the agent's own, may be NULL) and, per
 * process, comm (its main thread's name). fn gets each window that has samples, in time
 * order (it may keep nothing of it: the window is released after the call); a non-zero
 * return stops the cut, and the call returns -1 (fn has written err). */
int kst_window_from_profile(const struct kp_profile *p, uint64_t base_ns, uint64_t window_ns, const char *host,
			    const struct kst_labels *labels, int (*fn)(void *ctx, struct kp_profile *w), void *ctx,
			    struct strbuf *err);

/* Stores p cut into windows (kst_window_from_profile) through sink s; *windows and
 * *samples (may be NULL) get what was written. A failed window stops the import: the
 * windows before it stay stored, it and the rest are not. */
int kst_import_profile(struct kst *s, const struct kp_profile *p, uint64_t base_ns, uint64_t window_ns,
		       const char *host, const struct kst_labels *labels, uint64_t *windows, uint64_t *samples,
		       struct strbuf *err);
/* A recording's start in unix ns: its meta start_time_ns (kiln query -o writes it), else
 * start_time (kiln record's "2026-12-06T05:00:00Z"). -1 when it has neither. */
#define KST_META_START_NS "start_time_ns"
int kst_profile_start(const struct kp_profile *p, uint64_t *start_ns);

/* ---- time: "2026-12-06T05:00:00Z", "2026-12-06 05:00", "now", "now-1h", "-90m",
 * "1765000000" (unix seconds), "@1765000000123456789" (unix ns). Relative to now_ns. */
int kst_parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns, struct strbuf *err);

/* Formats unix ns as "2026-12-06T05:00:00Z" (".123" milliseconds added when not whole
 * seconds); buf of at least 32 bytes. */
void kst_format_time(uint64_t ns, char *buf, size_t size);

/* ---- queries ---- */
struct kst_query {
	uint64_t from_ns, to_ns;   /* windows that overlap [from, to); 0 and UINT64_MAX: all */
	struct kst_labels where;   /* every label must match */
	const char *comm;          /* only this process name (label comm), NULL: any */
};

/* A time series per value of one label (serve's "CPU over time per service"). */
struct kst_series {
	uint64_t from_ns, step_ns;
	uint32_t nsteps, ngroups;
	char **groups;             /* ngroups label values (owned); "" gathers the processes
				    * without the label (local store) */
	double *samples;           /* [group * nsteps + step]: samples in that step */
};
void kst_series_release(struct kst_series *s);

struct kst_strlist {
	char **v;
	size_t n;
};
void kst_strlist_release(struct kst_strlist *l);

/* ---- backends ---- */
enum kst_mode { KST_READ = 1, KST_WRITE = 2 };

struct kst_backend {
	const char *name;                       /* "store", "clickhouse", "pyroscope" */
	int (*match)(const char *spec);         /* 1 when spec is this backend's */
	void *(*open)(const char *spec, int mode, struct strbuf *err);
	/* Writes one window. Failure means nothing of it was stored (the agent keeps it in its
	 * spool and tries again later), so a write must be all-or-nothing (or idempotent). */
	int (*write)(void *h, const struct kp_profile *window, struct strbuf *err);
	/* Merges every sample of the windows the query selects into out (initialized, empty):
	 * value types samples and cpu_ns, one thread per process (pid, tid = pid, comm), a
	 * sample's time = its window's start - q->from_ns (or - the first window's start). */
	int (*query)(void *h, const struct kst_query *q, struct kp_profile *out, struct strbuf *err);
	int (*series)(void *h, const struct kst_query *q, const char *group_key, uint64_t step_ns,
		      struct kst_series *out, struct strbuf *err);
	/* The distinct values of a label key among the selected windows, sorted. */
	int (*label_values)(void *h, const struct kst_query *q, const char *key, struct kst_strlist *out,
			    struct strbuf *err);
	/* The first window's start and the last one's end; both 0 when empty. */
	int (*range)(void *h, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err);
	void (*close)(void *h);
};

/* An opened sink or source. */
struct kst {
	const struct kst_backend *be;
	void *h;
};

/* Opens spec as a sink (KST_WRITE) or source (KST_READ); a spec no backend takes, or a
 * backend that is not that kind, is an error naming the spec. */
int kst_open(struct kst *s, const char *spec, int mode, struct strbuf *err);
int kst_write(struct kst *s, const struct kp_profile *window, struct strbuf *err);
int kst_query(struct kst *s, const struct kst_query *q, struct kp_profile *out, struct strbuf *err);
int kst_series(struct kst *s, const struct kst_query *q, const char *group_key, uint64_t step_ns,
	       struct kst_series *out, struct strbuf *err);
int kst_label_values(struct kst *s, const struct kst_query *q, const char *key, struct kst_strlist *out,
		     struct strbuf *err);
int kst_range(struct kst *s, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err);
void kst_close(struct kst *s);
/* The label keys of the windows q selects, sorted: every key in a local store; for other
 * backends the keys kiln's agent sets (build_id cgroup comm exe host pid service) that
 * have a value there. */
int kst_label_keys(struct kst *s, const struct kst_query *q, struct kst_strlist *out, struct strbuf *err);

/* Helpers for backends: the query's filter applied to one process's labels. */
int kst_query_match(const struct kst_query *q, const struct kst_labels *labels);

/* ---- the local store (store_dir.c; format: docs/store-format.md) ---- */
#define KST_DIR_DB "kiln-store.db" /* the database file in the store directory */
#define KST_DIR_VERSION 1          /* the format version this kiln writes and reads */
extern const struct kst_backend kst_backend_dir;
/* Gaps in a local store (h: its backend handle): per host, the times within
 * [from_ns, to_ns) that no window covers, where the time between two windows is longer
 * than the longer of them (an agent stopped, killed, or its machine down). Sorted by
 * host, then time. */
struct kst_gap {
	char *host;
	uint64_t from_ns, to_ns;
};
struct kst_gaps {
	struct kst_gap *v;
	size_t n;
};
int kst_dir_gaps(void *h, uint64_t from_ns, uint64_t to_ns, struct kst_gaps *out, struct strbuf *err);
void kst_gaps_release(struct kst_gaps *g);
/* kst_label_keys for a local store (h: its backend handle). */
int kst_dir_label_keys(void *h, const struct kst_query *q, struct kst_strlist *out, struct strbuf *err);
/* Retention: removes the windows that ended more than max_age_ns ago (0: no age limit),
 * then the oldest windows until the store uses at most max_bytes (0: no size limit), then
 * the stacks, frames, strings and label sets no window uses any more; gives the freed
 * space back to the file system when it is worth it (a tenth of the file, or 1 MiB).
 * *removed (may be NULL) gets the number of windows removed. A store being written by
 * another process is fine (SQLite locks); the newest window is never removed. */
int kst_dir_retain(const char *dir, uint64_t max_age_ns, uint64_t max_bytes, uint64_t *removed,
		   struct strbuf *err);

#endif
