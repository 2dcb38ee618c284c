/* jsonr.c: a pull reader over a JSON document in memory (see jsonr.h). */
#include "formats/jsonr.h"
#include <stdlib.h>
#include <string.h>

void jsonr_init(struct jsonr *r, const char *text, size_t len)
{
	r->start = r->p = text;
	r->end = text + len;
	r->err = NULL;
	r->err_at = 0;
	r->trusted = 0;
	/* a UTF-8 byte order mark */
	if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb && (unsigned char)text[2] == 0xbf)
		r->p += 3;
}

int jsonr_fail(struct jsonr *r, const char *what)
{
	if (!r->err) {
		r->err = what;
		r->err_at = (size_t)(r->p - r->start);
	}
	r->p = r->end;
	return -1;
}

const char *jsonr_error(const struct jsonr *r, struct strbuf *out)
{
	strbuf_addf(out, "%s at byte %zu", r->err ? r->err : "unexpected end", r->err_at);
	return out->buf;
}

static inline void blanks(struct jsonr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

enum jsonr_type jsonr_peek(struct jsonr *r)
{
	blanks(r);
	if (r->err || r->p >= r->end)
		return JSONR_END;
	switch (*r->p) {
	case '{':
		return JSONR_OBJECT;
	case '[':
		return JSONR_ARRAY;
	case '"':
		return JSONR_STRING;
	case 't':
		return JSONR_TRUE;
	case 'f':
		return JSONR_FALSE;
	case 'n':
		return JSONR_NULL;
	default:
		return (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) ? JSONR_NUMBER : JSONR_BAD;
	}
}

/* Moves past a string (at its opening quote), checking escapes. */
static int skip_string(struct jsonr *r)
{
	const char *p = r->p + 1;
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(r->end - p));
		if (!q)
			return jsonr_fail(r, "a string is not closed");
		/* count the backslashes before the quote */
		const char *b = q;
		while (b > p && b[-1] == '\\')
			b--;
		for (const char *c = p; c < q; c++)
			if ((unsigned char)*c < 0x20)
				return jsonr_fail(r, "a control character in a string");
		if ((q - b) % 2 == 0) {
			r->p = q + 1;
			return 0;
		}
		p = q + 1;
	}
}

static int skip_number(struct jsonr *r)
{
	const char *p = r->p;
	if (p < r->end && *p == '-')
		p++;
	if (p >= r->end || *p < '0' || *p > '9')
		return jsonr_fail(r, "a bad number");
	while (p < r->end && *p >= '0' && *p <= '9')
		p++;
	if (p < r->end && *p == '.') {
		p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return jsonr_fail(r, "a bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return jsonr_fail(r, "a bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	r->p = p;
	return 0;
}

static int literal(struct jsonr *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return jsonr_fail(r, "an unknown word");
	r->p += n;
	return 0;
}

/* Skips a value of a checked document: strings and brackets are followed, nothing else is
 * looked at. */
static int skip_trusted(struct jsonr *r)
{
	size_t depth = 0;
	const char *p, *end = r->end;
	blanks(r);
	p = r->p;
	if (p >= end)
		return jsonr_fail(r, "the document ends early");
	if (*p != '[' && *p != '{' && *p != '"') {
		/* a scalar: up to a delimiter */
		while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
			p++;
		r->p = p;
		return 0;
	}
	do {
		char c = *p;
		if (c == '"') {
			r->p = p;
			if (skip_string(r) < 0)
				return -1;
			p = r->p;
			continue;
		}
		if (c == '[' || c == '{')
			depth++;
		else if (c == ']' || c == '}')
			depth--;
		p++;
	} while (depth && p < end);
	if (depth)
		return jsonr_fail(r, "the document ends early");
	r->p = p;
	return 0;
}

/* Skips one value; nesting by a stack of bits (objects 1, arrays 0), no recursion. */
int jsonr_skip(struct jsonr *r)
{
	if (r->trusted)
		return skip_trusted(r);
	unsigned char *stack = NULL;
	size_t depth = 0, alloc = 0;
	int rc = 0;
	for (;;) {
		enum jsonr_type t = jsonr_peek(r);
		switch (t) {
		case JSONR_OBJECT:
		case JSONR_ARRAY:
			if (depth == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				stack = realloc(stack, alloc);
				if (!stack)
					abort();
			}
			stack[depth++] = t == JSONR_OBJECT;
			r->p++;
			blanks(r);
			if (r->p < r->end && *r->p == (t == JSONR_OBJECT ? '}' : ']')) {
				r->p++;
				depth--;
				break;
			}
			if (t == JSONR_OBJECT) {
				if (r->p >= r->end || *r->p != '"' || skip_string(r) < 0) {
					rc = jsonr_fail(r, "an object key is not a string");
					goto out;
				}
				blanks(r);
				if (r->p >= r->end || *r->p != ':') {
					rc = jsonr_fail(r, "':' missing after a key");
					goto out;
				}
				r->p++;
			}
			continue;
		case JSONR_STRING:
			rc = skip_string(r);
			break;
		case JSONR_NUMBER: {
			/* the common case, a plain integer, without the general number syntax */
			const char *p = r->p;
			while (p < r->end && *p >= '0' && *p <= '9')
				p++;
			if (p > r->p && p < r->end && (*p == ',' || *p == ']' || *p == '}') && (p - r->p == 1 || *r->p != '0'))
				r->p = p;
			else
				rc = skip_number(r);
			break;
		}
		case JSONR_TRUE:
			rc = literal(r, "true");
			break;
		case JSONR_FALSE:
			rc = literal(r, "false");
			break;
		case JSONR_NULL:
			rc = literal(r, "null");
			break;
		default:
			rc = jsonr_fail(r, t == JSONR_END ? "the document ends early" : "an unexpected character");
			break;
		}
		if (rc < 0)
			goto out;
		/* after a value: ',' then the next element or key, or close containers */
		for (;;) {
			if (!depth)
				goto out;
			blanks(r);
			if (r->p >= r->end) {
				rc = jsonr_fail(r, "the document ends early");
				goto out;
			}
			char close = stack[depth - 1] ? '}' : ']';
			if (*r->p == close) {
				r->p++;
				depth--;
				continue;
			}
			if (*r->p != ',') {
				rc = jsonr_fail(r, "',' missing between values");
				goto out;
			}
			r->p++;
			if (stack[depth - 1]) {
				blanks(r);
				if (r->p >= r->end || *r->p != '"' || skip_string(r) < 0) {
					rc = jsonr_fail(r, "an object key is not a string");
					goto out;
				}
				blanks(r);
				if (r->p >= r->end || *r->p != ':') {
					rc = jsonr_fail(r, "':' missing after a key");
					goto out;
				}
				r->p++;
			}
			break;
		}
	}
out:
	free(stack);
	return rc;
}

int jsonr_enter_object(struct jsonr *r)
{
	enum jsonr_type t = jsonr_peek(r);
	if (t != JSONR_OBJECT)
		return t == JSONR_BAD ? jsonr_fail(r, "an unexpected character") : 0;
	r->p++;
	blanks(r);
	/* mark "first key" by leaving p at '"' or '}' */
	return 1;
}

int jsonr_enter_array(struct jsonr *r)
{
	enum jsonr_type t = jsonr_peek(r);
	if (t != JSONR_ARRAY)
		return t == JSONR_BAD ? jsonr_fail(r, "an unexpected character") : 0;
	r->p++;
	blanks(r);
	return 1;
}

/* After a value inside a container: skips a ',' (or finds the closing char). Returns 1
 * when an element/key follows, 0 when close was consumed, -1 on error. The first call
 * after entering sees no ',' (p[-1] is the opening bracket). */
static int next_in(struct jsonr *r, char open, char close)
{
	blanks(r);
	if (r->p >= r->end)
		return jsonr_fail(r, "the document ends early");
	if (*r->p == close) {
		r->p++;
		return 0;
	}
	/* the previous non-blank character tells whether this is the first element */
	const char *q = r->p;
	while (q > r->start && (q[-1] == ' ' || q[-1] == '\n' || q[-1] == '\r' || q[-1] == '\t'))
		q--;
	if (q > r->start && q[-1] == open)
		return 1;
	if (*r->p != ',')
		return jsonr_fail(r, "',' missing between values");
	r->p++;
	blanks(r);
	return 1;
}

int jsonr_next_key(struct jsonr *r, const char **key, size_t *len)
{
	int k = next_in(r, '{', '}');
	if (k <= 0)
		return k;
	if (r->p >= r->end || *r->p != '"')
		return jsonr_fail(r, "an object key is not a string");
	const char *s = r->p + 1;
	if (skip_string(r) < 0)
		return -1;
	*key = s;
	*len = (size_t)(r->p - 1 - s);
	blanks(r);
	if (r->p >= r->end || *r->p != ':')
		return jsonr_fail(r, "':' missing after a key");
	r->p++;
	return 1;
}

int jsonr_next_elem(struct jsonr *r)
{
	return next_in(r, '[', ']');
}

int jsonr_number(struct jsonr *r, double *v)
{
	if (jsonr_peek(r) != JSONR_NUMBER)
		return jsonr_fail(r, "a number was expected");
	const char *p = r->p;
	int neg = 0;
	uint64_t n = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	const char *d = p;
	while (p < r->end && *p >= '0' && *p <= '9' && p - d < 18)
		n = n * 10 + (uint64_t)(*p++ - '0');
	if (p > d && (p >= r->end || (*p != '.' && *p != 'e' && *p != 'E' && (*p < '0' || *p > '9')))) {
		/* the common case: a short integer */
		r->p = p;
		*v = neg ? -(double)n : (double)n;
		return 0;
	}
	const char *start = r->p;
	if (skip_number(r) < 0)
		return -1;
	char buf[64];
	size_t len = (size_t)(r->p - start);
	if (len >= sizeof(buf))
		return jsonr_fail(r, "a number is too long");
	memcpy(buf, start, len);
	buf[len] = '\0';
	*v = strtod(buf, NULL);
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void add_utf8(struct strbuf *out, uint32_t c)
{
	char b[4];
	if (c < 0x80) {
		strbuf_addch(out, (char)c);
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		strbuf_add(out, b, 2);
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		strbuf_add(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		strbuf_add(out, b, 4);
	}
}

int jsonr_string(struct jsonr *r, struct strbuf *out)
{
	strbuf_reset(out);
	if (jsonr_peek(r) != JSONR_STRING)
		return jsonr_fail(r, "a string was expected");
	const char *s = r->p + 1;
	if (skip_string(r) < 0)
		return -1;
	const char *e = r->p - 1;
	while (s < e) {
		const char *bs = memchr(s, '\\', (size_t)(e - s));
		if (!bs) {
			strbuf_add(out, s, (size_t)(e - s));
			break;
		}
		strbuf_add(out, s, (size_t)(bs - s));
		if (bs + 1 >= e)
			return jsonr_fail(r, "a bad escape in a string");
		char c = bs[1];
		s = bs + 2;
		switch (c) {
		case '"': case '\\': case '/':
			strbuf_addch(out, c);
			break;
		case 'b': strbuf_addch(out, '\b'); break;
		case 'f': strbuf_addch(out, '\f'); break;
		case 'n': strbuf_addch(out, '\n'); break;
		case 'r': strbuf_addch(out, '\r'); break;
		case 't': strbuf_addch(out, '\t'); break;
		case 'u': {
			uint32_t u = 0;
			if (e - s < 4)
				return jsonr_fail(r, "a bad \\u escape");
			for (int i = 0; i < 4; i++) {
				int h = hexval(s[i]);
				if (h < 0)
					return jsonr_fail(r, "a bad \\u escape");
				u = u << 4 | (uint32_t)h;
			}
			s += 4;
			if (u >= 0xd800 && u < 0xdc00 && e - s >= 6 && s[0] == '\\' && s[1] == 'u') {
				uint32_t lo = 0;
				int ok = 1;
				for (int i = 0; i < 4; i++) {
					int h = hexval(s[2 + i]);
					if (h < 0)
						ok = 0;
					lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
				}
				if (ok && lo >= 0xdc00 && lo < 0xe000) {
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
					s += 6;
				}
			}
			if (u >= 0xd800 && u < 0xe000)
				u = 0xfffd;
			add_utf8(out, u);
			break;
		}
		default:
			return jsonr_fail(r, "a bad escape in a string");
		}
	}
	return 0;
}

int jsonr_key_is(const char *key, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(key, s, len);
}
