/* jsonw.h: streaming JSON output for the exporters: text gathers in a strbuf and goes to
 * the FILE in blocks, so a million samples never become a document tree in memory.
 *
 *   struct jsonw j; jsonw_init(&j, out); jsonw_raw(&j, "{\"a\":"); jsonw_u64(&j, 1); ...
 *   return jsonw_finish(&j);   // 0, or -1 with errno set on a write error */
#ifndef KILN_FORMATS_JSONW_H
#define KILN_FORMATS_JSONW_H
#include "util/strbuf.h"
#include <stdint.h>
#include <stdio.h>

struct jsonw {
	struct strbuf sb;
	FILE *out;
	int err; /* errno of the first write error */
};

void jsonw_init(struct jsonw *j, FILE *out);
/* Writes the buffer out once it holds more than a block. */
void jsonw_maybe_flush(struct jsonw *j);
void jsonw_raw(struct jsonw *j, const char *s);
/* A JSON string, quoted and escaped. */
void jsonw_str(struct jsonw *j, const char *s, size_t len);
void jsonw_strz(struct jsonw *j, const char *s);
void jsonw_u64(struct jsonw *j, uint64_t v);
void jsonw_i64(struct jsonw *j, int64_t v);
/* A number: integers without a fraction, else up to 17 significant digits. */
void jsonw_num(struct jsonw *j, double v);
static inline void jsonw_ch(struct jsonw *j, char c)
{
	strbuf_addch(&j->sb, c);
}
/* Flushes and releases; returns 0 or -1 (errno set). */
int jsonw_finish(struct jsonw *j);

#endif
