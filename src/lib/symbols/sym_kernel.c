/* sym_kernel.c: kernel symbols from /proc/kallsyms (read once, on the first kernel
 * address), looked up by binary search. */
#include "symbols/sym_internal.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Reads a whole file (kallsyms: several MiB, no size in stat) into k->text. */
static int slurp_kallsyms(struct ks_kernel *k, const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t alloc = 8u << 20, n = 0;
	if (fd < 0)
		return -1;
	k->text = xmalloc(alloc);
	for (;;) {
		if (alloc - n < (1u << 20)) {
			alloc *= 2;
			k->text = xrealloc(k->text, alloc);
		}
		ssize_t r = read(fd, k->text + n, alloc - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	k->text[n] = '\0';
	*len = n;
	return 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses kallsyms text ("ADDR TYPE NAME [\t[MODULE]]" lines) in k->text, in place:
 * names are terminated where they end and point into the text (one read and no copy
 * per symbol: the file has over 100,000 lines). */
static void parse_kallsyms(struct ks_session *s, size_t len)
{
	struct ks_kernel *k = &s->kernel;
	size_t alloc = 0;
	char *p = k->text, *end = k->text + len;
	const char *core = ks_internz(&s->pool, "[kernel.kallsyms]");
	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		*eol = '\0';
		char *line = p;
		p = eol + 1;
		unsigned long long addr = 0;
		char *q = line;
		int d;
		while ((d = hexval((unsigned char)*q)) >= 0 && q - line < 16) {
			addr = addr << 4 | (unsigned)d;
			q++;
		}
		if (q == line || *q != ' ' || !q[1] || q[2] != ' ')
			continue;
		char type = q[1];
		char *name = q + 3;
		char *tab = strchr(name, '\t');
		if (tab)
			*tab = '\0';
		if (strcmp(name, "_text") == 0 && !k->text_start)
			k->text_start = addr;
		if (strcmp(name, "_etext") == 0)
			k->text_end = addr;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		const char *module = core;
		if (tab) {
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
		k->syms[k->nr].name = name;
		k->syms[k->nr].module = module;
		k->nr++;
	}
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
	size_t len;
	if (slurp_kallsyms(k, path, &len) < 0)
		return -1;
	parse_kallsyms(s, len);
	if (k->nr) /* k->syms is NULL when nothing was read */
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
