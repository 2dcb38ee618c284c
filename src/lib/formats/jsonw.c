/* jsonw.c: streaming JSON output (see jsonw.h). */
#include "formats/jsonw.h"
#include "profile/folded.h"
#include <errno.h>
#include <string.h>

#define BLOCK (1u << 20)

void jsonw_init(struct jsonw *j, FILE *out)
{
	strbuf_init(&j->sb, BLOCK + 4096);
	j->out = out;
	j->err = 0;
}

static void flush(struct jsonw *j)
{
	if (j->sb.len && !j->err && fwrite(j->sb.buf, 1, j->sb.len, j->out) != j->sb.len)
		j->err = errno ? errno : EIO;
	strbuf_reset(&j->sb);
}

void jsonw_maybe_flush(struct jsonw *j)
{
	if (j->sb.len >= BLOCK)
		flush(j);
}

void jsonw_raw(struct jsonw *j, const char *s)
{
	strbuf_addstr(&j->sb, s);
}

void jsonw_str(struct jsonw *j, const char *s, size_t len)
{
	strbuf_addch(&j->sb, '"');
	strbuf_add_json(&j->sb, s, len);
	strbuf_addch(&j->sb, '"');
	jsonw_maybe_flush(j);
}

void jsonw_strz(struct jsonw *j, const char *s)
{
	jsonw_str(j, s, strlen(s));
}

void jsonw_u64(struct jsonw *j, uint64_t v)
{
	char buf[24];
	int n = 0;
	do {
		buf[sizeof(buf) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	strbuf_add(&j->sb, buf + sizeof(buf) - n, (size_t)n);
}

void jsonw_i64(struct jsonw *j, int64_t v)
{
	if (v < 0) {
		strbuf_addch(&j->sb, '-');
		jsonw_u64(j, (uint64_t)0 - (uint64_t)v);
	} else {
		jsonw_u64(j, (uint64_t)v);
	}
}

void jsonw_num(struct jsonw *j, double v)
{
	char buf[40];
	if (v != v || v > 1e300 || v < -1e300) {
		strbuf_addch(&j->sb, '0');
		return;
	}
	if (v >= 0 && v < 1e18 && v == (double)(uint64_t)v) {
		jsonw_u64(j, (uint64_t)v);
		return;
	}
	int n = kp_format_count(v, buf, sizeof(buf));
	strbuf_add(&j->sb, buf, (size_t)n);
}

int jsonw_finish(struct jsonw *j)
{
	flush(j);
	strbuf_release(&j->sb);
	if (j->err) {
		errno = j->err;
		return -1;
	}
	return 0;
}
