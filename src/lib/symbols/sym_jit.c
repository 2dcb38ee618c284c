/* sym_jit.c: JIT symbols from /tmp/perf-PID.map ("START SIZE name" lines, hex numbers),
 * the format node --perf-basic-prof, the JVM's perf-map-agent and others write.
 * Loaded on the first address of a process that no file mapping covers, and read
 * again (only the new lines) when the file has grown. When entries overlap, the one
 * written last wins: JIT engines reuse code memory. */
#include "symbols/sym_internal.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* How far back a lookup looks for an older, longer entry that covers the address. */
#define JIT_BACKSCAN 32
/* Misses re-check the file for growth at most this often (a stat per unknown address
 * would dominate a profile full of unnamed JIT code). */
#define JIT_RECHECK_NS 1000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int jit_cmp(const void *a, const void *b)
{
	const struct ks_jit_sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void ks_jit_free(struct ks_jit *j)
{
	if (!j)
		return;
	free(j->syms);
	free(j);
}

static void jit_parse_line(struct ks_session *s, struct ks_jit *j, char *line, size_t len)
{
	line[len] = '\0';
	char *p = line, *end;
	unsigned long long start = strtoull(p, &end, 16);
	if (end == p || (*end != ' ' && *end != '\t'))
		return;
	p = end;
	unsigned long long size = strtoull(p, &end, 16);
	if (end == p || (*end != ' ' && *end != '\t') || size == 0 || start + size < start)
		return;
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t nl = strlen(p);
	while (nl && (p[nl - 1] == '\r' || p[nl - 1] == ' '))
		nl--;
	if (!nl)
		return;
	ALLOC_GROW(j->syms, j->nr + 1, j->alloc);
	struct ks_jit_sym *e = &j->syms[j->nr++];
	e->start = start;
	e->end = start + size;
	e->name = ks_intern(&s->pool, p, nl);
	e->seq = j->seq++;
	e->gen = 0;
	e->id = 0;
}

/* Reads what was appended since the last read; returns 1 when entries were added. */
static int jit_refresh(struct ks_session *s, struct ks_jit *j)
{
	struct stat st;
	if (stat(j->path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if (st.st_size == j->read_size)
		return 0;
	if (st.st_size < j->read_size) { /* rewritten: start over */
		j->nr = 0;
		j->read_size = 0;
	}
	FILE *f = fopen(j->path, "re");
	if (!f)
		return 0;
	if (fseeko(f, j->read_size, SEEK_SET) != 0) {
		fclose(f);
		return 0;
	}
	size_t before = j->nr;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* a line still being written: read it next time */
		j->read_size += n;
		jit_parse_line(s, j, line, (size_t)n - 1);
	}
	free(line);
	fclose(f);
	if (j->nr == before)
		return 0;
	qsort(j->syms, j->nr, sizeof(*j->syms), jit_cmp);
	return 1;
}

static struct ks_jit_sym *jit_search(struct ks_jit *j, uint64_t addr)
{
	size_t lo = 0, hi = j->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct ks_jit_sym *best = NULL;
	for (size_t k = 0; k < JIT_BACKSCAN && lo > k; k++) {
		struct ks_jit_sym *e = &j->syms[lo - 1 - k];
		if (addr < e->end && (!best || e->seq > best->seq))
			best = e;
	}
	return best;
}

struct ks_jit_sym *ks_jit_lookup(struct ks_session *s, struct ks_proc *pr, uint64_t addr)
{
	if (!pr->jit) {
		pr->jit = xcalloc(1, sizeof(*pr->jit));
		char *path = xasprintf("%s/perf-%d.map", s->jit_dir, pr->pid);
		pr->jit->path = ks_internz(&s->pool, path);
		free(path);
	}
	struct ks_jit *j = pr->jit;
	struct ks_jit_sym *e = jit_search(j, addr);
	if (!e) {
		uint64_t t = mono_ns();
		if (!j->last_check_ns || t - j->last_check_ns >= JIT_RECHECK_NS) {
			j->last_check_ns = t;
			if (jit_refresh(s, j))
				e = jit_search(j, addr);
		}
	}
	return e;
}
