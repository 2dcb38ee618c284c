/* heap_py.h: Python frames of heap stacks (see HP_C_PYCODE and HP_C_PYSTACK in
 * heap_proto.h): line numbers from a CPython 3.11 location table, and the merge of
 * Python frames into a native stack. Pure functions, no state. */
#ifndef KILN_HEAP_PY_H
#define KILN_HEAP_PY_H
#include <stddef.h>
#include <stdint.h>

/* The source line of the instruction at index lasti (code units) of a code object
 * whose co_firstlineno is first and co_linetable is lt[0..n) (CPython 3.11's format,
 * Objects/locations.md); first for lasti < 0, 0 when the table says no line or ends
 * before lasti. */
int heap_py_line(const uint8_t *lt, size_t n, int first, int64_t lasti);

/* The whole table at once, for many lookups: ranges[k] covers code units
 * [ranges[k].start, ranges[k + 1].start) (the last up to .end), in order. Returns the
 * number of ranges (a malloc'd array in *out, NULL when 0). */
struct heap_py_range {
	uint32_t start, end;
	int32_t line; /* 0: no line */
};
size_t heap_py_ranges(const uint8_t *lt, size_t n, int first, struct heap_py_range **out);
/* heap_py_line over the ranges: first for lasti < 0, 0 past the end. */
int heap_py_range_line(const struct heap_py_range *r, size_t nr, int first, int64_t lasti);

/* Merge plan of one stack. nat[0..nn) are the native frames root first, with is_eval
 * set where the frame is _PyEval_EvalFrameDefault and is_interp where it belongs to
 * the interpreter (its module is the one _PyEval_EvalFrameDefault is in); entry[0..np)
 * the is_entry bits of the Python frames, innermost first. Each evaluation loop runs
 * the Python frames up to and including one marked is_entry (a segment); the
 * innermost loop runs the innermost segment. The plan lists what to emit root first:
 * out[k] >= 0 is native frame out[k], out[k] < 0 is Python frame -out[k]-1. With
 * hide, interpreter frames are left out, and rootward of the outermost Python frame
 * system library frames too (what starts a process or thread); a program's own frames
 * there (one that embeds Python) stay. Returns the number of entries (at most nn + np). */
struct heap_py_nat {
	uint8_t is_eval, is_interp;
	uint8_t is_sys; /* in a system library (libc: _start, start_thread, ...) */
};
size_t heap_py_merge(const struct heap_py_nat *nat, size_t nn, const uint8_t *entry, size_t np, int hide,
		     int32_t *out);

#endif
