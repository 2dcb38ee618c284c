/* fuzz_heap_py.c: libFuzzer harness for the Python-frame decoding of heap profiles
 * (src/lib/heap/heap_py.c): CPython 3.11 location tables from the traced program's
 * memory (HP_C_PYCODE records) and the merge plan of a stack.
 *
 * Input: byte 0 = first line, byte 1 = how many lasti values to look up (each from
 * the next two bytes, -1 included), then the table. The line of every lasti must be
 * the same by the one-pass decoder and by the decoded ranges; the merge plan of the
 * table's bytes used as is_eval / is_interp / is_entry bits must stay within bounds. */
#include "heap/heap_py.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct heap_py_range *r = NULL;
	size_t nr, nq, n;
	int first;
	if (size < 2)
		return 0;
	first = data[0];
	nq = data[1];
	data += 2;
	size -= 2;
	if (size < nq * 2)
		return 0;
	n = size - nq * 2;
	nr = heap_py_ranges(data + nq * 2, n, first, &r);
	for (size_t i = 0; i < nq; i++) {
		int64_t lasti = (int64_t)(data[2 * i] | data[2 * i + 1] << 8) - 1;
		if (heap_py_line(data + nq * 2, n, first, lasti) != heap_py_range_line(r, nr, first, lasti))
			abort();
	}
	free(r);
	/* merge: natives from the table's bytes, entries from the lookup bytes */
	{
		size_t nn = n > 64 ? 64 : n, np = nq * 2 > 64 ? 64 : nq * 2;
		struct heap_py_nat nat[64];
		uint8_t entry[64];
		int32_t out[128];
		for (size_t i = 0; i < nn; i++) {
			nat[i].is_eval = data[nq * 2 + i] & 1;
			nat[i].is_interp = data[nq * 2 + i] >> 1 & 1;
		}
		for (size_t i = 0; i < np; i++)
			entry[i] = data[i] & 1;
		for (int hide = 0; hide < 2; hide++) {
			size_t k = heap_py_merge(nat, nn, entry, np, hide, out);
			if (k > nn + np)
				abort();
			for (size_t i = 0; i < k; i++)
				if (out[i] >= (int32_t)nn || out[i] < -(int32_t)np)
					abort();
		}
	}
	return 0;
}
