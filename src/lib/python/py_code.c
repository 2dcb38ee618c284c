/* py_code.c: code objects read from a process, line tables, and the merge of Python
 * frames into native stacks (see python.h). */
#include "python/python.h"
#include "python/py_decode.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define MAX_STR 1024          /* longest name or file name read */
#define MAX_LINETABLE (1u << 20)

static int rd(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static int rd64(pid_t pid, uint64_t addr, uint64_t *v)
{
	return rd(pid, addr, v, 8);
}

/* A str object (compact PyUnicode) as UTF-8; NULL when it cannot be read. */
static char *read_str(pid_t pid, const struct kpy_offsets *off, uint64_t addr)
{
	uint64_t len;
	uint32_t state;
	if (!addr || rd64(pid, addr + 16, &len) != 0 || rd(pid, addr + 32, &state, 4) != 0)
		return NULL;
	unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	if (!compact || (kind != 1 && kind != 2 && kind != 4))
		return NULL;
	if (len > MAX_STR)
		len = MAX_STR;
	uint64_t data = addr + (ascii ? off->ascii_size : off->compact_size);
	unsigned char *raw = xmalloc(len * kind + 1);
	if (rd(pid, data, raw, len * kind) != 0) {
		free(raw);
		return NULL;
	}
	if (kind == 1 && ascii) {
		raw[len] = 0;
		return (char *)raw;
	}
	size_t cap = len * 4 + 1, n;
	char *out = xmalloc(cap);
	n = py_str_utf8(raw, (size_t)len, kind, out, 0, cap - 1);
	out[n] = 0;
	free(raw);
	return out;
}

void kpy_code_release(struct kpy_code *c)
{
	free(c->qualname);
	free(c->filename);
	free(c->linetable);
	memset(c, 0, sizeof(*c));
}

int kpy_code_ids(pid_t pid, const struct kpy_offsets *off, uint64_t addr, uint64_t *name_ptr,
		 uint64_t *file_ptr)
{
	if (rd64(pid, addr + off->co_name, name_ptr) != 0 || rd64(pid, addr + off->co_filename, file_ptr) != 0)
		return -1;
	return 0;
}

int kpy_code_read(pid_t pid, const struct kpy_offsets *off, uint64_t addr, uint64_t code_type,
		  struct kpy_code *c)
{
	uint64_t qn = 0, lt = 0, ltlen = 0, type = 0;
	int32_t first = 0;
	memset(c, 0, sizeof(*c));
	/* 3.13's frames may hold other executables; a freed address may hold anything */
	if (code_type && (rd64(pid, addr + off->ob_type, &type) != 0 || type != code_type))
		return -1;
	if (!addr || kpy_code_ids(pid, off, addr, &c->name_ptr, &c->file_ptr) != 0 ||
	    rd(pid, addr + off->co_firstlineno, &first, 4) != 0)
		return -1;
	if (off->co_qualname != PYB_NONE && rd64(pid, addr + off->co_qualname, &qn) != 0)
		return -1;
	c->firstlineno = first;
	c->qualname = read_str(pid, off, qn ? qn : c->name_ptr);
	c->filename = read_str(pid, off, c->file_ptr);
	if (!c->qualname || !c->filename) {
		kpy_code_release(c);
		return -1;
	}
	if (off->code_inline)
		c->code_start = addr + off->co_code;
	if (rd64(pid, addr + off->co_linetable, &lt) == 0 && lt && rd64(pid, lt + off->var_size, &ltlen) == 0 &&
	    ltlen <= MAX_LINETABLE) {
		c->linetable = xmalloc(ltlen ? ltlen : 1);
		if (rd(pid, lt + off->bytes_sval, c->linetable, ltlen) == 0) {
			c->linetable_len = ltlen;
		} else {
			free(c->linetable);
			c->linetable = NULL;
		}
	}
	return 0;
}

int64_t kpy_lasti(const struct kpy_offsets *off, const struct kpy_code *c, uint64_t instr)
{
	if (off->instr_size == 4)
		return (int64_t)instr; /* f_lasti as the frame holds it */
	if (!c->code_start || instr < c->code_start)
		return -1;
	return (int64_t)((instr - c->code_start) / 2);
}

/* ---- line tables ---- */

/* 3.11+: the location table (py_decode.h) */
static int line_locations(const unsigned char *tab, size_t len, int firstlineno, int64_t lasti)
{
	struct py_lt it;
	uint32_t start, units;
	int line;
	py_lt_init(&it, tab, len, firstlineno);
	while (py_lt_next(&it, &start, &units, &line))
		if (lasti >= start && lasti < (int64_t)start + units)
			return line;
	return 0;
}

/* 3.10: Objects/lnotab_notes.txt: (start delta, line delta) byte pairs, addresses in
 * bytes, -128 = no line. */
static int line_310(const unsigned char *tab, size_t len, int firstlineno, int64_t lasti)
{
	int line = firstlineno;
	int64_t end = 0, target = lasti * 2;
	for (size_t i = 0; i + 1 < len; i += 2) {
		int64_t start = end;
		int ld = (signed char)tab[i + 1];
		end = start + tab[i];
		if (ld == -128) {
			if (target >= start && target < end)
				return 0;
			continue;
		}
		line += ld;
		if (target >= start && target < end)
			return line;
	}
	return 0;
}

/* 3.9: the lnotab (address increment, line increment) pairs, addresses in bytes. */
static int line_39(const unsigned char *tab, size_t len, int firstlineno, int64_t lasti)
{
	int line = firstlineno;
	int64_t addr = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > lasti)
			break;
		line += (signed char)tab[i + 1];
	}
	return line;
}

int kpy_line(unsigned version, const unsigned char *tab, size_t len, int firstlineno, int64_t lasti)
{
	if (!tab || lasti < 0)
		return 0;
	if (version >= 0x030b)
		return line_locations(tab, len, firstlineno, lasti);
	if (version == 0x030a)
		return line_310(tab, len, firstlineno, lasti);
	return line_39(tab, len, firstlineno, lasti);
}

/* ---- merging ---- */

int kpy_segments(unsigned char entry_kind, const unsigned char *fflags, int n, unsigned char *keep,
		 int *seg_end, int max)
{
	int nseg = 0, open = 0;
	for (int i = 0; i < n && nseg < max; i++) {
		keep[i] = 1;
		switch (entry_kind) {
		case PYB_ENTRY_OWNER:
			if (fflags[i] == 3) { /* FRAME_OWNED_BY_CSTACK: the shim under one eval call */
				keep[i] = 0;
				seg_end[nseg++] = i + 1;
				open = 0;
				continue;
			}
			open = 1;
			break;
		case PYB_ENTRY_IS_ENTRY:
			if (fflags[i]) {
				seg_end[nseg++] = i + 1;
				open = 0;
				continue;
			}
			open = 1;
			break;
		default: /* every frame is an eval call of its own */
			seg_end[nseg++] = i + 1;
			break;
		}
	}
	if (open && nseg < max)
		seg_end[nseg++] = n; /* frames above the last boundary the walk saw */
	return nseg;
}

/* How many of the outermost runs no eval frame of the native stack stands for: when the
 * native walk was cut before the root, those runs still belong at the root. */
static long unmatched_root_runs(size_t neval, int nseg, int truncated)
{
	return (truncated & KPY_CUT_NATIVE) && neval < (size_t)nseg ? (long)((size_t)nseg - neval) : 0;
}

/* The Python run (index into seg_end) that the j-th eval frame from the root executes,
 * or -1. Runs are innermost first, so the root's run is nseg - 1. */
static long run_of(size_t j, size_t neval, int nseg, int truncated)
{
	long run = (long)nseg - 1 - (long)j - unmatched_root_runs(neval, nseg, truncated);
	if ((truncated & KPY_CUT_PYTHON) && !(truncated & KPY_CUT_NATIVE))
		run = (long)neval - 1 - (long)j; /* the Python walk lost its root: match from the leaf */
	return run >= 0 && run < nseg ? run : -1;
}

static int run_shows(long run, const unsigned char *keep, const int *seg_end)
{
	if (run < 0)
		return 0;
	for (int f = run ? seg_end[run - 1] : 0; f < seg_end[run]; f++)
		if (keep[f])
			return 1;
	return 0;
}

static size_t put_run(long run, const uint32_t *pyf, const unsigned char *keep, int np, const int *seg_end,
		      uint32_t *out, size_t k, size_t max)
{
	for (int f = seg_end[run] - 1, lo = run ? seg_end[run - 1] : 0; f >= lo && k < max; f--)
		if (f < np && keep[f])
			out[k++] = pyf[f];
	return k;
}

size_t kpy_merge(const uint32_t *native, const unsigned char *kind, size_t n, const uint32_t *pyf,
		 const unsigned char *keep, int np, const int *seg_end, int nseg, int truncated,
		 int internals, uint32_t *out, size_t max)
{
	size_t neval = 0, k = 0, j = 0, first_py = n, i = 0;
	for (i = 0; i < n; i++)
		neval += kind[i] == KPY_EVAL;
	long pre = unmatched_root_runs(neval, nseg, truncated);
	int pre_shows = 0;
	for (long r = nseg - 1; r >= nseg - pre; r--)
		pre_shows |= run_shows(r, keep, seg_end);
	for (i = 0; i < n && first_py == n; i++)
		if (kind[i] == KPY_EVAL && run_shows(run_of(j++, neval, nseg, truncated), keep, seg_end))
			first_py = i;
	/* the Python view: some Python frame shows, and internals are not asked for */
	int pyview = !internals && (first_py < n || pre_shows);
	if (pre_shows)
		first_py = 0; /* the outermost Python frame is at the root */
	i = 0;
	if (internals && n > 0 && kind[0] == KPY_MARK)
		out[k++] = native[i++];
	for (long r = nseg - 1; r >= nseg - pre; r--)
		k = put_run(r, pyf, keep, np, seg_end, out, k, max);
	for (j = 0; i < n && k < max; i++) {
		/* the Python view has nothing native below the outermost Python frame, and
		 * nothing of the interpreter itself above it (kernel frames always stay) */
		int hide = pyview && kind[i] != KPY_KERNEL && (i < first_py || kind[i] != KPY_NATIVE);
		if (kind[i] != KPY_EVAL) {
			if (!hide)
				out[k++] = native[i];
			continue;
		}
		long run = run_of(j++, neval, nseg, truncated);
		if (!pyview)
			out[k++] = native[i];
		if (run >= 0 && k < max)
			k = put_run(run, pyf, keep, np, seg_end, out, k, max);
	}
	return k;
}
