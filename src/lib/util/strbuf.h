/* strbuf.h: a growable, always NUL-terminated byte buffer.
 *
 * struct strbuf sb = STRBUF_INIT; strbuf_addf(&sb, "%d", n); ... strbuf_release(&sb);
 * buf is never NULL after init; strbuf_detach() is the one way to take the buffer out. */
#ifndef KILN_UTIL_STRBUF_H
#define KILN_UTIL_STRBUF_H
#include <stddef.h>
#include <stdarg.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
extern char strbuf_empty[];
#define STRBUF_INIT { strbuf_empty, 0, 0 }

void strbuf_init(struct strbuf *sb, size_t hint);
/* Frees the buffer and re-initializes sb. */
void strbuf_release(struct strbuf *sb);
/* Returns the buffer (caller frees) and re-initializes sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s with XML/HTML special characters (&<>"') escaped; invalid UTF-8 bytes become U+FFFD. */
void strbuf_add_xml(struct strbuf *sb, const char *s, size_t len);
/* Appends s as the body of a JSON string (no quotes), escaped; invalid UTF-8 becomes U+FFFD. */
void strbuf_add_json(struct strbuf *sb, const char *s, size_t len);
static inline void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}
void strbuf_setlen(struct strbuf *sb, size_t len);

#endif
