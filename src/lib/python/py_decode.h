/* py_decode.h: decoders of CPython data, header-only so that both libkiln
 * (src/lib/python/py_code.c, src/lib/heap/heap_py.c) and the heap preload library
 * (src/preload/kh_python.c, which must not link libkiln) use the same code. No
 * allocation, no libc beyond string.h.
 *
 * - the location table of a code object, CPython 3.11 and later (Objects/locations.md):
 *   entries of a first byte 1CCCCLLL (code C, L+1 code units) and a code-dependent
 *   tail; walked entry by entry with py_lt_next.
 * - a code point as UTF-8 (the text of str objects, whose kinds hold 1, 2 or 4 bytes
 *   a character). */
#ifndef KILN_PYTHON_PY_DECODE_H
#define KILN_PYTHON_PY_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct py_lt {
	const uint8_t *p, *end;
	int64_t line; /* 64 bits: damaged deltas cannot overflow it */
	uint32_t addr;
};

static inline void py_lt_init(struct py_lt *it, const uint8_t *tab, size_t len, int firstlineno)
{
	it->p = tab;
	it->end = tab ? tab + len : tab;
	it->line = firstlineno;
	it->addr = 0;
}

/* A varint of the table (6 bits a byte, bit 6: more follow); -1 at the table's end or
 * past 30 bits (damaged). */
static inline int py_lt_varint(struct py_lt *it, uint32_t *v)
{
	unsigned shift = 0;
	uint8_t b;
	*v = 0;
	do {
		if (it->p >= it->end || shift > 24)
			return -1;
		b = *it->p++;
		*v |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return 0;
}

static inline int py_lt_svarint(struct py_lt *it, int32_t *v)
{
	uint32_t u;
	if (py_lt_varint(it, &u) != 0)
		return -1;
	*v = u & 1 ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
	return 0;
}

/* The next entry: code units [*start, *start + *len) on line *line (0: no line).
 * Returns 1, or 0 at the table's end or where it is damaged (a byte that does not
 * start an entry, a tail cut short, a line out of range): the rest is not read. */
static inline int py_lt_next(struct py_lt *it, uint32_t *start, uint32_t *len, int *line)
{
	uint8_t b;
	unsigned code;
	int32_t delta = 0;
	uint32_t u;
	int has_line = 1;
	if (it->p >= it->end)
		return 0;
	b = *it->p++;
	if (!(b & 0x80))
		return 0;
	code = (b >> 3) & 15;
	switch (code) {
	case 15: /* no location */
		has_line = 0;
		break;
	case 14: /* long form: line delta, end line, columns */
		if (py_lt_svarint(it, &delta) != 0 || py_lt_varint(it, &u) != 0 || py_lt_varint(it, &u) != 0 ||
		    py_lt_varint(it, &u) != 0)
			return 0;
		break;
	case 13: /* no columns */
		if (py_lt_svarint(it, &delta) != 0)
			return 0;
		break;
	case 10: case 11: case 12: /* one line form: delta code - 10, two column bytes */
		delta = (int32_t)code - 10;
		if (it->end - it->p < 2)
			return 0;
		it->p += 2;
		break;
	default: /* 0-9: short form, the same line, one column byte */
		if (it->p >= it->end)
			return 0;
		it->p++;
		break;
	}
	it->line += delta;
	if (it->line < INT32_MIN || it->line > INT32_MAX)
		return 0; /* damaged: no real line is that far */
	*start = it->addr;
	*len = (b & 7) + 1;
	*line = has_line && it->line > 0 ? (int)it->line : 0;
	it->addr += *len;
	return 1;
}

/* Appends code point c as UTF-8 to out[at..cap); returns the new length (at when it
 * does not fit). */
static inline size_t py_put_utf8(char *out, size_t at, size_t cap, uint32_t c)
{
	char b[4];
	size_t k;
	if (c < 0x80) {
		b[0] = (char)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 63));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 63));
		b[2] = (char)(0x80 | (c & 63));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18 & 7));
		b[1] = (char)(0x80 | ((c >> 12) & 63));
		b[2] = (char)(0x80 | ((c >> 6) & 63));
		b[3] = (char)(0x80 | (c & 63));
		k = 4;
	}
	if (at + k > cap)
		return at;
	memcpy(out + at, b, k);
	return at + k;
}

/* n characters of kind (1, 2 or 4 bytes each) at raw as UTF-8 into out[at..cap);
 * returns the new length (stops at the first that does not fit). */
static inline size_t py_str_utf8(const void *raw, size_t n, unsigned kind, char *out, size_t at, size_t cap)
{
	const unsigned char *r = raw;
	for (size_t i = 0; i < n; i++) {
		uint32_t c;
		size_t was = at;
		if (kind == 1) {
			c = r[i];
		} else if (kind == 2) {
			uint16_t h;
			memcpy(&h, r + 2 * i, 2);
			c = h;
		} else {
			memcpy(&c, r + 4 * i, 4);
		}
		at = py_put_utf8(out, at, cap, c);
		if (at == was)
			break;
	}
	return at;
}

#endif
