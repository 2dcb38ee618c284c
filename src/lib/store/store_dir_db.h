/* store_dir_db.h: what the local store's two files share (store_dir.c: open, write,
 * retention, the backend table; store_dir_read.c: queries, series, labels, gaps). Not
 * for use outside src/lib/store. */
#ifndef KILN_STORE_STORE_DIR_DB_H
#define KILN_STORE_STORE_DIR_DB_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct strbuf;
struct kp_profile;

/* The prepared statements (store_dir.c's stmt_sql holds their SQL) */
enum {
	ST_STR_FIND,
	ST_STR_INS,
	ST_FRAME_FIND,
	ST_FRAME_INS,
	ST_STACK_FIND,
	ST_STACK_INS,
	ST_LS_FIND,
	ST_LS_INS,
	ST_WIN_FIND,
	ST_WIN_INS,
	ST_SAMPLE_INS,
	ST_MAXWIN_GET,
	ST_MAXWIN_SET,
	ST_STR_GET,
	ST_FRAME_GET,
	ST_STACK_GET,
	ST_LS_GET,
	ST_N
};

struct dir_store {
	sqlite3 *db;
	char *dir, *path;
	int mode;
	sqlite3_stmt *st[ST_N];
};

/* One line "cannot WHAT store 'DIR': why" in err, from the database's last error; -1. */
int sd_fail(struct dir_store *s, const char *what, struct strbuf *err);
/* Statement which, prepared once, reset with no bindings; NULL when it cannot be. */
sqlite3_stmt *sd_stmt(struct dir_store *s, int which);
/* Steps a statement that returns no row (or whose row is not wanted): 0 or -1. */
int sd_step_done(sqlite3_stmt *st);
int sd_exec(struct dir_store *s, const char *sql);
/* The single integer a query returns (0 when no row); -1 on error. */
int sd_query_int(struct dir_store *s, const char *sql, int64_t *out);
/* A stack's frame ids are LEB128 varints: one of them, advancing *p; -1 when damaged. */
int sd_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v);

/* Reads see one snapshot: a read transaction around them. */
int sd_begin_read(struct dir_store *s, struct strbuf *err);
void sd_end_read(struct dir_store *s);

/* The backend's read operations (store.h's struct kst_backend) */
int sd_query(void *h, const struct kst_query *q, struct kp_profile *out, struct strbuf *err);
int sd_series(void *h, const struct kst_query *q, const char *group_key, uint64_t step_ns,
	      struct kst_series *out, struct strbuf *err);
int sd_label_values(void *h, const struct kst_query *q, const char *key, struct kst_strlist *out,
		    struct strbuf *err);
int sd_range(void *h, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err);

#endif
