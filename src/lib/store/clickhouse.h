/* clickhouse.h: the parts of the ClickHouse backend (store_clickhouse.c) that read the
 * server's answers, exposed for the fuzz harness (tests/fuzz/fuzz_clickhouse.c) and the
 * unit tests. Answers are TabSeparated (TSV): one row a line, fields split by tabs,
 * strings with backslash escapes, arrays of numbers as [1,2,3]. */
#ifndef KILN_STORE_CLICKHOUSE_H
#define KILN_STORE_CLICKHOUSE_H
#include <stddef.h>
#include <stdint.h>

struct kp_profile;
struct strbuf;

/* One field of a row, as the row's type string asked:
 *   'u' unsigned decimal (u), 'i' signed decimal (i), 's' string (s, len: unescaped,
 *   valid until the next row), 'a' array of unsigned decimals (a, n: valid until the
 *   next row). */
struct kst_ch_field {
	uint64_t u;
	int64_t i;
	const char *s;
	size_t len;
	const uint64_t *a;
	size_t n;
};

#define KST_CH_MAX_FIELDS 16
#define KST_CH_MAX_ARRAY 65536

/* Calls row(arg, fields) for each line of data (len bytes), each line holding
 * strlen(types) fields of those types. A line of another shape, a number out of range or
 * a bad escape stops with -1 and one line in err naming the row; row() returning -1
 * stops too (its err). */
int kst_ch_rows(const char *data, size_t len, const char *types,
		int (*row)(void *arg, const struct kst_ch_field *f, struct strbuf *err), void *arg,
		struct strbuf *err);

/* A decimal of len bytes (no sign unless sign_ok) in *u, and *i when signed: 0, or -1
 * when it is not one or out of range. */
int kst_ch_parse_dec(const char *s, size_t len, int sign_ok, uint64_t *u, int64_t *i);

/* Builds a query's result profile from the three answers of store_clickhouse.c's query:
 *   frames:  hash, name, module, file, line, flags, addr          ("ussssuuu" without the first s)
 *   stacks:  hash, [frame hashes root first]
 *   samples: host, pid, comm, stack hash, first window start, samples, cpu_ns
 * out is initialized and empty; base_ns is subtracted from window starts (0: the first
 * start among the samples). Unknown hashes become "[missing ...]" frames, not errors. */
int kst_ch_build_profile(const char *frames, size_t frames_len, const char *stacks, size_t stacks_len,
			 const char *samples, size_t samples_len, uint64_t base_ns, struct kp_profile *out,
			 struct strbuf *err);

/* Writes n windows to an opened clickhouse sink (the h of a struct kst whose backend is
 * kst_backend_clickhouse) in as few INSERTs as it can: how a spool is flushed, or a fleet
 * simulated. Windows already stored are skipped; each INSERT holds whole windows. */
int kst_ch_write_batch(void *h, const struct kp_profile *const *w, size_t n, struct strbuf *err);
extern const struct kst_backend kst_backend_clickhouse;

#endif
