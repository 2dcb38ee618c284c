/* heap_py.c: see heap_py.h. */
#include "heap/heap_py.h"
#include "util/xalloc.h"
#include <stdlib.h>

static uint32_t varint(const uint8_t *lt, size_t n, size_t *i)
{
	uint32_t v = 0;
	unsigned shift = 0;
	while (*i < n) {
		uint8_t b = lt[(*i)++];
		if (shift < 30)
			v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return v;
}

static int32_t svarint(const uint8_t *lt, size_t n, size_t *i)
{
	uint32_t v = varint(lt, n, i);
	return v & 1 ? -(int32_t)(v >> 1) : (int32_t)(v >> 1);
}

int heap_py_line(const uint8_t *lt, size_t n, int first, int64_t lasti)
{
	size_t i = 0;
	int64_t addr = 0;
	int line = first;
	if (lasti < 0)
		return first;
	while (i < n) {
		uint8_t b = lt[i++];
		unsigned code = b >> 3 & 15, len = (b & 7) + 1;
		int none = 0;
		if (!(b & 128))
			continue; /* not the start of an entry: resynchronize */
		switch (code) {
		case 15:
			none = 1;
			break;
		case 14:
			line += svarint(lt, n, &i);
			varint(lt, n, &i);
			varint(lt, n, &i);
			varint(lt, n, &i);
			break;
		case 13:
			line += svarint(lt, n, &i);
			break;
		case 10:
		case 11:
		case 12:
			line += (int)code - 10;
			i += 2;
			break;
		default:
			i += 1;
			break;
		}
		if (lasti < addr + len)
			return none || line < 0 ? 0 : line;
		addr += len;
	}
	return 0;
}

size_t heap_py_merge(const struct heap_py_nat *nat, size_t nn, const uint8_t *entry, size_t np, int hide,
		     int32_t *out)
{
	size_t nseg = 0, neval = 0, k = 0, *seg_end, e, first_eval = nn;
	/* segments innermost first: seg s is Python frames [seg_end[s-1], seg_end[s]) */
	seg_end = xcalloc(np + 1, sizeof(*seg_end));
	for (size_t i = 0; i < np; i++)
		if (entry[i] || i + 1 == np)
			seg_end[nseg++] = i + 1;
	for (size_t i = 0; i < nn; i++) {
		if (nat[i].is_eval) {
			if (first_eval == nn)
				first_eval = i;
			neval++;
		}
	}
	/* segments no loop of the native stack runs (a cut native stack): at the root */
	for (size_t s = nseg; s-- > neval;) {
		size_t lo = s ? seg_end[s - 1] : 0;
		for (size_t j = seg_end[s]; j-- > lo;)
			out[k++] = -(int32_t)j - 1;
	}
	e = neval; /* loops left, counting from the innermost (the last root first) */
	for (size_t i = 0; i < nn; i++) {
		if (nat[i].is_eval) {
			size_t s = --e; /* innermost loop: segment 0 */
			if (s < nseg) {
				size_t lo = s ? seg_end[s - 1] : 0;
				if (!hide)
					out[k++] = (int32_t)i;
				for (size_t j = seg_end[s]; j-- > lo;)
					out[k++] = -(int32_t)j - 1;
				continue;
			}
		}
		if (hide && np && (nat[i].is_interp || (neval && i < first_eval)))
			continue;
		out[k++] = (int32_t)i;
	}
	free(seg_end);
	return k;
}
