/* sym_kernel.c: kernel symbols from /proc/kallsyms (read once, on the first kernel
 * address), looked up by binary search. */
#include "symbols/sym_internal.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ksym_cmp(const void *a, const void *b)
{
	const struct ks_ksym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* among aliases, prefer fewer leading underscores, then the shorter name */
	int ux = 0, uy = 0;
	while (x->name[ux] == '_')
		ux++;
	while (y->name[uy] == '_')
		uy++;
	if (ux != uy)
		return ux - uy;
	return strcmp(x->name, y->name);
}

/* Parses kallsyms text ("ADDR TYPE NAME [\t[MODULE]]" lines) from f. */
static void parse_kallsyms(struct ks_session *s, FILE *f)
{
	struct ks_kernel *k = &s->kernel;
	size_t alloc = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	const char *core = ks_internz(&s->pool, "[kernel.kallsyms]");
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		char *end;
		unsigned long long addr = strtoull(line, &end, 16);
		if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
			continue;
		char type = end[1];
		char *name = end + 3;
		if (strcmp(name, "_text") == 0 && !k->text_start)
			k->text_start = addr;
		if (strcmp(name, "_etext") == 0)
			k->text_end = addr;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		const char *module = core;
		char *tab = strchr(name, '\t');
		if (tab) {
			*tab = '\0';
			char *mod = tab + 1;
			while (*mod == ' ' || *mod == '\t')
				mod++;
			if (*mod == '[')
				module = ks_internz(&s->pool, mod);
		}
		if (!name[0])
			continue;
		ALLOC_GROW(k->syms, k->nr + 1, alloc);
		k->syms[k->nr].addr = addr;
		k->syms[k->nr].name = ks_internz(&s->pool, name);
		k->syms[k->nr].module = module;
		k->nr++;
	}
	free(line);
}

int ks_kernel_load(struct ks_session *s)
{
	return ks_kernel_load_file(s, "/proc/kallsyms");
}

int ks_kernel_load_file(struct ks_session *s, const char *path)
{
	struct ks_kernel *k = &s->kernel;
	if (k->state)
		return k->state > 0 ? 0 : -1;
	k->state = -1;
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	parse_kallsyms(s, f);
	fclose(f);
	qsort(k->syms, k->nr, sizeof(*k->syms), ksym_cmp);
	/* drop aliases (keep the first, the preferred one) */
	size_t w = 0;
	for (size_t i = 0; i < k->nr; i++)
		if (!w || k->syms[w - 1].addr != k->syms[i].addr)
			k->syms[w++] = k->syms[i];
	k->nr = w;
	/* all addresses zero: kptr_restrict hides them from us */
	if (!k->nr || k->syms[k->nr - 1].addr == 0) {
		k->nr = 0;
		return -1;
	}
	k->state = 1;
	return 0;
}

void ks_kernel_symbolize(struct ks_session *s, uint64_t addr, struct ks_sframe *out)
{
	struct ks_kernel *k = &s->kernel;
	const char *core = ks_internz(&s->pool, "[kernel.kallsyms]");
	memset(out, 0, sizeof(*out));
	out->flags = KP_FRAME_KERNEL;
	out->module = core;
	if (ks_kernel_load(s) == 0) {
		size_t lo = 0, hi = k->nr;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (k->syms[mid].addr <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0) {
			const struct ks_ksym *sym = &k->syms[lo - 1];
			/* core kernel text ends at _etext; past it only module symbols count,
			 * and the last symbol covers at most a page-sized tail */
			int in_core = sym->module == core;
			int ok = !in_core || !k->text_end || addr < k->text_end;
			if (ok && lo == k->nr && addr - sym->addr > 65536)
				ok = 0;
			if (ok) {
				out->name = sym->name;
				out->module = sym->module;
				return;
			}
		}
	}
	out->name = core;
	out->flags |= KP_FRAME_UNKNOWN;
	out->addr = k->text_start && addr >= k->text_start ? addr - k->text_start : addr;
}
