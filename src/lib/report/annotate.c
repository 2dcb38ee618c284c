/* annotate.c: one function's samples per source line and instruction (see annotate.h). */
#include "report/annotate.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <gelf.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* sort keys for the function's frames */
struct fref {
	kp_frame_t f;
	kp_str_t file;
	uint32_t line;
	uint64_t addr;
};

static int by_line(const void *a, const void *b)
{
	const struct fref *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct fref *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

void ka_build(const struct kp_profile *p, uint32_t v, kp_str_t name, kp_str_t module, struct ka_result *out)
{
	memset(out, 0, sizeof(*out));
	out->name = name;
	out->module = module;
	/* the function's frames, and for each its line slot and address slot (+1; 0 = none) */
	uint32_t *line_of = xcalloc(p->nframes + 1, sizeof(uint32_t));
	uint32_t *insn_of = xcalloc(p->nframes + 1, sizeof(uint32_t));
	struct fref *fr = NULL;
	uint32_t nf = 0, af = 0;
	for (kp_frame_t f = 1; f < p->nframes; f++) {
		const struct kp_frame *x = &p->frames[f];
		if (x->name != name || x->module != module)
			continue;
		ALLOC_GROW(fr, nf + 1, af);
		fr[nf].f = f;
		fr[nf].file = x->file;
		fr[nf].line = x->line;
		fr[nf].addr = x->addr;
		nf++;
	}
	uint32_t alines = 0, ainsns = 0;
	if (nf) {
		qsort(fr, nf, sizeof(*fr), by_line);
		for (uint32_t i = 0; i < nf; i++) {
			if (!fr[i].line) {
				continue;
			}
			if (!out->nlines || out->lines[out->nlines - 1].file != fr[i].file ||
			    out->lines[out->nlines - 1].line != fr[i].line) {
				ALLOC_GROW(out->lines, out->nlines + 1, alines);
				memset(&out->lines[out->nlines], 0, sizeof(out->lines[0]));
				out->lines[out->nlines].file = fr[i].file;
				out->lines[out->nlines].line = fr[i].line;
				out->nlines++;
			}
			line_of[fr[i].f] = out->nlines;
		}
		qsort(fr, nf, sizeof(*fr), by_addr);
		for (uint32_t i = 0; i < nf; i++) {
			if (!fr[i].addr)
				continue;
			if (!out->ninsns || out->insns[out->ninsns - 1].addr != fr[i].addr) {
				ALLOC_GROW(out->insns, out->ninsns + 1, ainsns);
				memset(&out->insns[out->ninsns], 0, sizeof(out->insns[0]));
				out->insns[out->ninsns].addr = fr[i].addr;
				out->insns[out->ninsns].file = fr[i].file;
				out->insns[out->ninsns].line = fr[i].line;
				out->ninsns++;
			}
			insn_of[fr[i].f] = out->ninsns;
		}
	}
	free(fr);

	double *self = NULL;
	kp_stack_sums(p, v, NULL, &self, NULL);
	/* stamps: a line, address or the function counts once per stack */
	uint32_t *lstamp = xcalloc(out->nlines + 1, sizeof(uint32_t));
	uint32_t *istamp = xcalloc(out->ninsns + 1, sizeof(uint32_t));
	for (kp_stack_t s = 1; s < p->nstacks; s++)
		out->grand_total += self[s];
	for (kp_stack_t s = 1; s < p->nstacks && nf; s++) {
		double val = self[s];
		if (val == 0)
			continue;
		int on = 0, online = 0, onaddr = 0;
		for (kp_stack_t a = s; a; a = p->stacks[a].parent) {
			kp_frame_t f = p->stacks[a].frame;
			const struct kp_frame *x = &p->frames[f];
			if (x->name != name || x->module != module)
				continue;
			on = 1;
			uint32_t li = line_of[f], ii = insn_of[f];
			if (li) {
				online = 1;
				if (a == s)
					out->lines[li - 1].self += val;
				if (lstamp[li] != s) {
					lstamp[li] = s;
					out->lines[li - 1].total += val;
				}
			}
			if (ii) {
				onaddr = 1;
				if (a == s)
					out->insns[ii - 1].self += val;
				if (istamp[ii] != s) {
					istamp[ii] = s;
					out->insns[ii - 1].total += val;
				}
			}
			if (a == s)
				out->self += val;
		}
		if (on) {
			out->total += val;
			if (!online)
				out->noline_total += val;
			if (!onaddr)
				out->noaddr_total += val;
		}
	}
	free(lstamp);
	free(istamp);
	free(self);
	free(line_of);
	free(insn_of);

	/* the main file: the one with the largest total; its lines first */
	double best = -1;
	for (uint32_t i = 0; i < out->nlines; i++) {
		double t = 0;
		kp_str_t file = out->lines[i].file;
		if (i && out->lines[i - 1].file == file)
			continue;
		for (uint32_t j = i; j < out->nlines && out->lines[j].file == file; j++)
			t += out->lines[j].total;
		if (t > best) {
			best = t;
			out->file = file;
		}
	}
	if (out->nlines && out->file != out->lines[0].file) {
		/* stable move of the main file's block to the front */
		struct ka_line *tmp = xmalloc(out->nlines * sizeof(*tmp));
		uint32_t k = 0;
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t i = 0; i < out->nlines; i++)
				if ((out->lines[i].file == out->file) == !pass)
					tmp[k++] = out->lines[i];
		free(out->lines);
		out->lines = tmp;
	}
}

void ka_release(struct ka_result *r)
{
	free(r->lines);
	free(r->insns);
	memset(r, 0, sizeof(*r));
}

/* Finds "A B PATH" in the meta value of key; A parsed in base (16 or 10). */
static int recorded(const struct kp_profile *p, const char *key, int base, const char *path, uint64_t *a,
		    uint64_t *b)
{
	const char *v = kp_meta_get(p, key);
	size_t plen = strlen(path);
	while (v && *v) {
		const char *nl = strchr(v, '\n');
		size_t len = nl ? (size_t)(nl - v) : strlen(v);
		char *end;
		unsigned long long x = strtoull(v, &end, base);
		if (*end == ' ') {
			unsigned long long y = strtoull(end + 1, &end, 10);
			if (*end == ' ' && (size_t)(v + len - (end + 1)) == plen && !memcmp(end + 1, path, plen)) {
				*a = x;
				*b = y;
				return 1;
			}
		}
		v = nl ? nl + 1 : NULL;
	}
	return 0;
}

int ka_recorded_source(const struct kp_profile *p, const char *path, uint64_t *hash, uint64_t *size)
{
	return recorded(p, "source_files", 16, path, hash, size);
}

int ka_recorded_module(const struct kp_profile *p, const char *path, uint64_t *mtime_ns, uint64_t *size)
{
	return recorded(p, "module_files", 10, path, mtime_ns, size);
}

int ka_recorded_build_id(const struct kp_profile *p, const char *path, char *out, size_t outsz)
{
	const char *v = kp_meta_get(p, "module_build_ids");
	size_t plen = strlen(path);
	while (v && *v) {
		const char *nl = strchr(v, '\n');
		size_t len = nl ? (size_t)(nl - v) : strlen(v);
		const char *sp = memchr(v, ' ', len);
		if (sp && (size_t)(v + len - (sp + 1)) == plen && !memcmp(sp + 1, path, plen) &&
		    (size_t)(sp - v) < outsz) {
			memcpy(out, v, (size_t)(sp - v));
			out[sp - v] = '\0';
			return 1;
		}
		v = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* ---- disassembly: objdump -d ---- */

void ka_asm_free(struct ka_asm *a, long n)
{
	for (long i = 0; i < n; i++) {
		free(a[i].text);
		free(a[i].file);
	}
	free(a);
}

/* "/path/x.c:18" or "/path/x.c:18 (discriminator 3)": a source position line */
static int parse_pos(const char *s, char **file, uint32_t *line)
{
	const char *end = strstr(s, " (discriminator");
	size_t len = end ? (size_t)(end - s) : strlen(s);
	const char *colon = NULL;
	for (size_t i = len; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (!colon || colon == s || colon + 1 == s + len)
		return 0;
	for (const char *q = colon + 1; q < s + len; q++)
		if (*q < '0' || *q > '9')
			return 0;
	free(*file);
	*file = xstrndup(s, (size_t)(colon - s));
	*line = (uint32_t)strtoul(colon + 1, NULL, 10);
	return 1;
}

long ka_disasm(const char *module, uint64_t lo, uint64_t hi, struct ka_asm **out, struct strbuf *err)
{
	char a1[64], a2[64];
	snprintf(a1, sizeof(a1), "--start-address=0x%llx", (unsigned long long)lo);
	snprintf(a2, sizeof(a2), "--stop-address=0x%llx", (unsigned long long)hi);
	/* no -l: ka_asm_lines gives the lines (objdump 2.40's are wrong for DWARF 5) */
	char *argv[] = { (char *)"objdump", (char *)"-d", (char *)"-C", (char *)"-w",
			 (char *)"--no-show-raw-insn", a1, a2, (char *)module, NULL };
	int pfd[2];
	*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		strbuf_addf(err, "cannot run objdump: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, "objdump", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		strbuf_addf(err, "cannot run objdump (%s); install binutils for --asm", strerror(rc));
		return -1;
	}
	FILE *f = fdopen(pfd[0], "r");
	struct ka_asm *a = NULL;
	size_t n = 0, alloc = 0;
	char *line = NULL, *file = NULL;
	size_t cap = 0;
	uint32_t ln = 0;
	ssize_t len;
	while (f && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		char *s = line;
		while (*s == ' ')
			s++;
		char *end;
		unsigned long long addr = strtoull(s, &end, 16);
		if (s != line && end != s && *end == ':' && end[1] == '\t') {
			char *t = end + 2;
			ALLOC_GROW(a, n + 1, alloc);
			a[n].addr = addr;
			a[n].text = xstrdup(t);
			for (char *q = a[n].text; *q; q++)
				if (*q == '\t')
					*q = ' ';
			a[n].file = file ? xstrdup(file) : NULL;
			a[n].line = ln;
			a[n].in_func = 0;
			n++;
		} else if (s == line && line[0] == '/') {
			parse_pos(line, &file, &ln);
		}
	}
	free(line);
	free(file);
	if (f)
		fclose(f);
	else
		close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!n) {
		free(a);
		strbuf_addf(err, "objdump found no instructions in '%s' at 0x%llx-0x%llx", module,
			    (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	*out = a;
	return (long)n;
}

void ka_asm_lines(const char *module, const char *func, struct ka_asm *a, long n)
{
	if (n <= 0)
		return;
	struct ks_options so = { 0 };
	struct ks_session *s = ks_session_new(&so);
	struct kp_profile scratch;
	kp_profile_init(&scratch);
	uint64_t lo = a[0].addr, hi = a[n - 1].addr + 1;
	/* one process (pid 1 of this session) mapping the file at its ELF addresses */
	ks_mmap_elf(s, 1, lo, hi - lo, 0, module, NULL, 0, PROT_READ | PROT_EXEC);
	for (long i = 0; i < n; i++) {
		kp_frame_t fr[64];
		int k = ks_resolve(s, &scratch, 1, a[i].addr, 0, fr, 64);
		/* the frame of the annotated function (the outermost one so named: recursion
		 * through inlining keeps the real function), else the real function (last) */
		int pick = k - 1;
		a[i].in_func = 0;
		for (int j = k - 1; j >= 0; j--)
			if (!strcmp(kp_str_get(&scratch, scratch.frames[fr[j]].name), func)) {
				pick = j;
				a[i].in_func = 1;
				break;
			}
		const struct kp_frame *x = &scratch.frames[fr[pick]];
		free(a[i].file);
		a[i].file = x->file && x->line ? xstrdup(kp_str_get(&scratch, x->file)) : NULL;
		a[i].line = x->file ? x->line : 0;
	}
	kp_profile_release(&scratch);
	ks_session_free(s);
}

int ka_func_bounds(const char *module, uint64_t vaddr, uint64_t *lo, uint64_t *hi)
{
	int fd = open(module, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int found = 0;
	for (int want = SHT_SYMTAB; e && !found; want = SHT_DYNSYM) {
		Elf_Scn *scn = NULL;
		while (!found && (scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (GElf_Word)want || !sh.sh_entsize)
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
			for (size_t i = 0; i < n; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size ||
				    sym.st_shndx == SHN_UNDEF)
					continue;
				if (sym.st_value <= vaddr && vaddr < sym.st_value + sym.st_size) {
					*lo = sym.st_value;
					*hi = sym.st_value + sym.st_size;
					found = 1;
					break;
				}
			}
		}
		if (want == SHT_DYNSYM)
			break;
	}
	if (e)
		elf_end(e);
	close(fd);
	return found ? 0 : -1;
}
