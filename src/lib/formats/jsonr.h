/* jsonr.h: a pull reader over a JSON document in memory, for the format readers.
 *
 * The readers of speedscope and .cpuprofile files go through their big arrays (millions of
 * numbers) once, without building a document tree: jansson's tree of a 200 MB speedscope
 * file takes 2.4 GB and half a minute, this reader a fraction of a second and no memory of
 * its own. Values are visited in order; a cursor can be copied to come back to a value
 * (two cursors walk "samples" and "weights" side by side). Nothing recurses: nesting is
 * followed with a counter.
 *
 *   struct jsonr r; jsonr_init(&r, text, len);
 *   if (jsonr_enter_object(&r)) while (jsonr_next_key(&r, &k, &klen) == 1) { ... a value ... }
 *
 * Every call returns -1 on malformed input; jsonr_error() then says what and where. */
#ifndef KILN_FORMATS_JSONR_H
#define KILN_FORMATS_JSONR_H
#include "util/strbuf.h"
#include <stddef.h>
#include <stdint.h>

enum jsonr_type { JSONR_END, JSONR_OBJECT, JSONR_ARRAY, JSONR_STRING, JSONR_NUMBER, JSONR_TRUE,
		  JSONR_FALSE, JSONR_NULL, JSONR_BAD };

struct jsonr {
	const char *start, *p, *end;
	int trusted;         /* the document was checked: skip without checking again */
	const char *err;     /* first error, or NULL */
	size_t err_at;       /* its byte offset */
};

void jsonr_init(struct jsonr *r, const char *text, size_t len);
/* The type of the next value (after blanks), without consuming it. */
enum jsonr_type jsonr_peek(struct jsonr *r);
/* Skips one value of any type, checking its syntax (unless r->trusted: then only brackets
 * and strings are followed, which is safe on any input but finds no error). Returns 0 or -1. */
int jsonr_skip(struct jsonr *r);
/* Consumes '{' / '['. Return 1, or 0 when the next value is of another type (not
 * consumed), or -1. */
int jsonr_enter_object(struct jsonr *r);
int jsonr_enter_array(struct jsonr *r);
/* Inside an object: reads the next key and its ':' (key points into the text, raw: escapes
 * are left as they are). Returns 1, 0 at the closing '}' (consumed), or -1. */
int jsonr_next_key(struct jsonr *r, const char **key, size_t *len);
/* Inside an array: 1 when another element follows (positioned at it), 0 at the closing
 * ']' (consumed), or -1. */
int jsonr_next_elem(struct jsonr *r);
/* Reads a number (0 or -1; -1 if the value is not a number). */
int jsonr_number(struct jsonr *r, double *v);
/* Reads a string into out (reset first), escapes decoded (0 or -1). */
int jsonr_string(struct jsonr *r, struct strbuf *out);
/* 1 if key (as jsonr_next_key returned it) is the plain string s. */
int jsonr_key_is(const char *key, size_t len, const char *s);
/* Sets the error (first one wins) and returns -1. */
int jsonr_fail(struct jsonr *r, const char *what);
/* "WHAT at byte N" for messages. */
const char *jsonr_error(const struct jsonr *r, struct strbuf *out);

/* The conversions of JSON numbers (doubles) to integers, without the undefined behaviour
 * of converting a value out of range: jsonr_is_id() is 1 for a whole number in [1, 2^53],
 * and jsonr_u64_clamp() gives 0 for a value below 1 (or NaN) and UINT64_MAX for one at or
 * past 2^64. */
static inline int jsonr_is_id(double d)
{
	return d >= 1 && d <= 9007199254740992.0 && d == (double)(uint64_t)d;
}
static inline uint64_t jsonr_u64_clamp(double d)
{
	if (!(d >= 1))
		return 0;
	return d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
}

#endif
