/* lat_funcs.c: function specs to (module, file offset) pairs (see lat_funcs.h). */
#include "latency/lat_funcs.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct msym {
	const char *name;   /* as in the file */
	char *full;         /* demangled with parameters (NULL: same as name) */
	char *base;         /* demangled without parameters (NULL: same as name) */
	uint64_t vaddr, size;
};

struct mod {
	char *path;
	int has_symtab;
	Elf *elf;
	int fd;
	struct msym *syms;
	size_t nsyms, alloc;
	GElf_Phdr *ph;
	size_t nph;
	char **needed;      /* DT_NEEDED names */
	size_t nneeded;
};

static const char *msym_base(const struct msym *s)
{
	return s->base ? s->base : s->name;
}

/* Drops a Rust legacy hash suffix "::h0123456789abcdef". */
static void strip_rust_hash(char *s)
{
	size_t n = strlen(s);
	if (n > 19 && !strncmp(s + n - 19, "::h", 3)) {
		for (size_t i = n - 16; i < n; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
				return;
		s[n - 19] = '\0';
	}
}

static void mod_close(struct mod *m)
{
	for (size_t i = 0; i < m->nsyms; i++) {
		free(m->syms[i].full);
		free(m->syms[i].base);
	}
	free(m->syms);
	free(m->ph);
	for (size_t i = 0; i < m->nneeded; i++)
		free(m->needed[i]);
	free(m->needed);
	if (m->elf)
		elf_end(m->elf);
	if (m->fd >= 0)
		close(m->fd);
	free(m->path);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

static int cmp_vaddr(const void *a, const void *b)
{
	const struct msym *x = a, *y = b;
	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	/* prefer a global name over a local alias, then the shorter */
	return (int)strlen(x->name) - (int)strlen(y->name);
}

/* Opens path and reads its function symbols. Returns 0 or -1 (printed). */
static int mod_open(struct mod *m, const char *path)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->path = xstrdup(path);
	elf_version(EV_CURRENT);
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return kiln_error("cannot open '%s': %s", path, strerror(errno));
	m->elf = elf_begin(m->fd, ELF_C_READ_MMAP, NULL);
	if (!m->elf || elf_kind(m->elf) != ELF_K_ELF)
		return kiln_error("'%s' is not an ELF file: kiln latency probes compiled programs and libraries", path);
	if (elf_getphdrnum(m->elf, &m->nph) == 0 && m->nph) {
		m->ph = xcalloc(m->nph, sizeof(*m->ph));
		for (size_t i = 0; i < m->nph; i++)
			gelf_getphdr(m->elf, (int)i, &m->ph[i]);
	}
	if (elf_getshdrstrndx(m->elf, &shstrndx) != 0)
		shstrndx = 0;
	while ((scn = elf_nextscn(m->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNAMIC) {
			d = elf_getdata(scn, NULL);
			for (size_t i = 0; d && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Dyn dyn;
				if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
					continue;
				const char *nm = elf_strptr(m->elf, sh.sh_link, dyn.d_un.d_val);
				if (nm) {
					m->needed = xreallocarray(m->needed, m->nneeded + 1, sizeof(char *));
					m->needed[m->nneeded++] = xstrdup(nm);
				}
			}
			continue;
		}
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			m->has_symtab = 1;
		d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *nm;
			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			nm = elf_strptr(m->elf, sh.sh_link, sym.st_name);
			if (!nm || !*nm)
				continue;
			ALLOC_GROW(m->syms, m->nsyms + 1, m->alloc);
			struct msym *s = &m->syms[m->nsyms++];
			memset(s, 0, sizeof(*s));
			s->name = nm;
			s->vaddr = sym.st_value;
			s->size = sym.st_size;
			if (nm[0] == '_' && (nm[1] == 'Z' || nm[1] == 'R')) {
				s->full = cplus_demangle(nm, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
				s->base = cplus_demangle(nm, DMGL_ANSI | DMGL_AUTO);
				if (s->base)
					strip_rust_hash(s->base);
				if (s->full)
					strip_rust_hash(s->full);
			}
		}
	}
	/* one entry per address */
	if (m->nsyms > 1)
		qsort(m->syms, m->nsyms, sizeof(*m->syms), cmp_vaddr);
	size_t k = 0;
	for (size_t i = 0; i < m->nsyms; i++) {
		if (k && m->syms[k - 1].vaddr == m->syms[i].vaddr) {
			free(m->syms[i].full);
			free(m->syms[i].base);
			continue;
		}
		m->syms[k++] = m->syms[i];
	}
	m->nsyms = k;
	return 0;
}

static int vaddr_to_offset(const struct mod *m, uint64_t v, uint64_t *off)
{
	for (size_t i = 0; i < m->nph; i++) {
		const GElf_Phdr *p = &m->ph[i];
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && v >= p->p_vaddr && v < p->p_vaddr + p->p_filesz) {
			*off = v - p->p_vaddr + p->p_offset;
			return 0;
		}
	}
	return -1;
}

static int is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int sym_matches(const struct msym *s, const char *pat, int glob)
{
	if (glob)
		return !fnmatch(pat, s->name, 0) || (s->full && !fnmatch(pat, s->full, 0)) ||
		       (s->base && !fnmatch(pat, s->base, 0));
	return !strcmp(pat, s->name) || (s->full && !strcmp(pat, s->full)) || (s->base && !strcmp(pat, s->base));
}

/* Adds the matches of pat in m; returns how many. */
static size_t add_matches(const struct mod *m, const char *pat, struct lat_fn **fns, size_t *n, size_t *alloc)
{
	int glob = is_glob(pat);
	size_t found = 0;
	for (size_t i = 0; i < m->nsyms; i++) {
		const struct msym *s = &m->syms[i];
		uint64_t off;
		if (!sym_matches(s, pat, glob) || vaddr_to_offset(m, s->vaddr, &off) < 0)
			continue;
		int dup = 0;
		for (size_t k = 0; k < *n; k++)
			if ((*fns)[k].offset == off && !strcmp((*fns)[k].path, m->path))
				dup = 1;
		found++;
		if (dup)
			continue;
		ALLOC_GROW(*fns, *n + 1, *alloc);
		struct lat_fn *f = &(*fns)[(*n)++];
		f->name = xstrdup(msym_base(s));
		f->path = xstrdup(m->path);
		f->vaddr = s->vaddr;
		f->offset = off;
		f->size = s->size;
	}
	return found;
}

unsigned lat_edit_distance(const char *a, const char *b, unsigned cap)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned *row, best, res;
	if (la > 256 || lb > 256)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	row = xcalloc(lb + 1, sizeof(unsigned));
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap) {
			free(row);
			return cap + 1;
		}
	}
	res = row[lb];
	free(row);
	return res > cap ? cap + 1 : res;
}

char **lat_split_spec(const char *spec)
{
	char **out = NULL;
	size_t n = 0, alloc = 0;
	int depth = 0;
	const char *start = spec;
	for (const char *p = spec;; p++) {
		if (*p == '(' || *p == '<' || *p == '[')
			depth++;
		else if ((*p == ')' || *p == '>' || *p == ']') && depth > 0)
			depth--;
		if (*p == '\0' || (*p == ',' && depth == 0)) {
			const char *a = start, *b = p;
			while (a < b && (*a == ' ' || *a == '\t'))
				a++;
			while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b > a) {
				ALLOC_GROW(out, n + 2, alloc);
				out[n++] = xstrndup(a, (size_t)(b - a));
			}
			start = p + 1;
			if (!*p)
				break;
		}
	}
	ALLOC_GROW(out, n + 1, alloc);
	out[n] = NULL;
	return out;
}

/* ---- modules ---- */

static int name_matches_module(const char *want, const char *path)
{
	const char *b = strrchr(path, '/');
	size_t wl = strlen(want);
	b = b ? b + 1 : path;
	if (!strcmp(b, want))
		return 1;
	if (!strncmp(b, want, wl) && (b[wl] == '.' || b[wl] == '-'))
		return 1;
	if (!strncmp(b, "lib", 3) && !strncmp(b + 3, want, wl) && (b[3 + wl] == '.' || b[3 + wl] == '-'))
		return 1;
	return 0;
}

static char *find_library(const char *needed)
{
	static const char *const dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
					    "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib" };
	const char *llp = getenv("LD_LIBRARY_PATH");
	while (llp && *llp) {
		const char *c = strchr(llp, ':');
		size_t l = c ? (size_t)(c - llp) : strlen(llp);
		if (l) {
			char *cand = xasprintf("%.*s/%s", (int)l, llp, needed);
			if (access(cand, R_OK) == 0)
				return cand;
			free(cand);
		}
		if (!c)
			break;
		llp = c + 1;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *cand = xasprintf("%s/%s", dirs[i], needed);
		if (access(cand, R_OK) == 0)
			return cand;
		free(cand);
	}
	return NULL;
}

/* The executable file-backed mappings of pid (unique paths). */
static size_t proc_modules(int pid, char ***out)
{
	char path[64], line[4608];
	FILE *f;
	size_t n = 0, alloc = 0;
	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char perms[8];
		int off = 0;
		if (sscanf(line, "%*x-%*x %7s %*x %*s %*u %n", perms, &off) < 1 || !off || perms[2] != 'x')
			continue;
		char *p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (p[0] != '/')
			continue;
		int dup = 0;
		for (size_t i = 0; i < n; i++)
			if (!strcmp((*out)[i], p))
				dup = 1;
		if (dup)
			continue;
		ALLOC_GROW(*out, n + 1, alloc);
		(*out)[n++] = xstrdup(p);
	}
	fclose(f);
	return n;
}

/* The libraries to search after the program: for pid, what it maps; else the
 * program's DT_NEEDED libraries found on disk. */
static size_t library_list(const struct mod *exe, int pid, char ***out)
{
	size_t n = 0, alloc = 0;
	if (pid > 0) {
		n = proc_modules(pid, out);
		/* the program itself comes first elsewhere */
		for (size_t i = 0; i < n; i++) {
			struct stat a, b;
			if (stat((*out)[i], &a) == 0 && stat(exe->path, &b) == 0 && a.st_ino == b.st_ino &&
			    a.st_dev == b.st_dev) {
				free((*out)[i]);
				memmove(&(*out)[i], &(*out)[i + 1], (n - i - 1) * sizeof(char *));
				n--;
				break;
			}
		}
		return n;
	}
	*out = NULL;
	for (size_t i = 0; i < exe->nneeded; i++) {
		char *p = find_library(exe->needed[i]);
		if (!p)
			continue;
		ALLOC_GROW(*out, n + 1, alloc);
		(*out)[n++] = p;
	}
	return n;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* Closest names to want among the modules' symbols, into sb ("'a', 'b'"). */
static void suggest(const struct mod *mods, size_t nmods, const char *want, struct strbuf *sb)
{
	const char *best[3] = { NULL, NULL, NULL };
	unsigned bestd[3] = { ~0u, ~0u, ~0u };
	size_t wl = strlen(want);
	unsigned cap = wl < 6 ? 2 : (unsigned)(wl / 3);
	for (size_t mi = 0; mi < nmods; mi++) {
		for (size_t i = 0; i < mods[mi].nsyms; i++) {
			const char *nm = msym_base(&mods[mi].syms[i]);
			unsigned d = lat_edit_distance(want, nm, cap);
			if (d > cap && wl >= 4 && strstr(nm, want) && strlen(nm) < wl + 12)
				d = cap; /* a longer name containing it */
			if (d > cap)
				continue;
			int dup = 0;
			for (int k = 0; k < 3; k++)
				if (best[k] && !strcmp(best[k], nm))
					dup = 1;
			if (dup)
				continue;
			for (int k = 0; k < 3; k++) {
				if (d < bestd[k]) {
					for (int j = 2; j > k; j--) {
						best[j] = best[j - 1];
						bestd[j] = bestd[j - 1];
					}
					best[k] = nm;
					bestd[k] = d;
					break;
				}
			}
		}
	}
	for (int k = 0; k < 3 && best[k]; k++)
		strbuf_addf(sb, "%s'%s'", k ? ", " : "", best[k]);
}

static int resolve_one(const char *item, const char *exe_path, int pid, struct lat_fn **fns, size_t *n,
		       size_t *alloc)
{
	const char *colon = NULL, *name = item;
	struct mod *mods = NULL;
	size_t nmods = 0, found = 0;
	char **libs = NULL;
	size_t nlibs = 0;
	int rc = -1;
	/* module:name, where the module part has no '(' or ':' (C++ names have "::") */
	for (const char *p = item; *p && *p != '(' && *p != '<'; p++) {
		if (*p == ':' && p[1] == ':') {
			p++;
			continue;
		}
		if (*p == ':') {
			colon = p;
			break;
		}
	}
	mods = xcalloc(1, sizeof(*mods));
	mods[0].fd = -1;
	if (colon) {
		char *modname = xstrndup(item, (size_t)(colon - item));
		char *path = NULL;
		name = colon + 1;
		if (strchr(modname, '/')) {
			path = xstrdup(modname);
		} else {
			struct mod exe;
			if (mod_open(&exe, exe_path) < 0) {
				mod_close(&exe);
				free(modname);
				goto out;
			}
			if (name_matches_module(modname, exe_path))
				path = xstrdup(exe_path);
			nlibs = library_list(&exe, pid, &libs);
			for (size_t i = 0; !path && i < nlibs; i++)
				if (name_matches_module(modname, libs[i]))
					path = xstrdup(libs[i]);
			mod_close(&exe);
		}
		if (!path) {
			kiln_error("no module '%s' in '%s'%s; give its path, as in '/usr/lib/x86_64-linux-gnu/libc.so.6:%s'",
				   modname, exe_path, pid > 0 ? " (nor mapped by the process)" : " or the libraries it links",
				   name);
			free(modname);
			goto out;
		}
		free(modname);
		if (!*name) {
			kiln_error("'%s' names no function after the module; write MODULE:FUNCTION", item);
			free(path);
			goto out;
		}
		if (mod_open(&mods[0], path) < 0) {
			free(path);
			goto out;
		}
		free(path);
		nmods = 1;
		found = add_matches(&mods[0], name, fns, n, alloc);
	} else {
		if (mod_open(&mods[0], exe_path) < 0)
			goto out;
		nmods = 1;
		found = add_matches(&mods[0], name, fns, n, alloc);
		if (!found) {
			nlibs = library_list(&mods[0], pid, &libs);
			mods = xreallocarray(mods, 1 + nlibs, sizeof(*mods));
			for (size_t i = 0; i < nlibs; i++) {
				if (mod_open(&mods[nmods], libs[i]) < 0) {
					mod_close(&mods[nmods]);
					continue; /* a library we cannot read: not where it is */
				}
				found += add_matches(&mods[nmods], name, fns, n, alloc);
				nmods++;
				if (found && !is_glob(name))
					break;
			}
		}
	}
	if (!found) {
		struct strbuf sb = STRBUF_INIT;
		suggest(mods, nmods, name, &sb);
		if (!mods[0].has_symtab && !colon)
			kiln_error("no function '%s' in '%s': it is stripped (no symbol table), so only its exported "
				   "functions can be probed; use an unstripped build or install its debug symbols%s%s",
				   name, mods[0].path, sb.len ? "; close names: " : "", sb.buf);
		else if (sb.len)
			kiln_error("no function '%s' in '%s'%s; did you mean %s?", name, mods[0].path,
				   colon ? "" : " or its libraries", sb.buf);
		else
			kiln_error("no function '%s' in '%s'%s; list its functions with 'nm -C %s'", name,
				   mods[0].path, colon ? "" : " or its libraries", mods[0].path);
		strbuf_release(&sb);
		goto out;
	}
	if (*n > LAT_MAX_FUNCS) {
		kiln_error("'%s' matches more than %d functions; name fewer", item, LAT_MAX_FUNCS);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < (nmods ? nmods : 1); i++)
		mod_close(&mods[i]);
	free(mods);
	free_list(libs, nlibs);
	return rc;
}

int lat_funcs_resolve(const char *spec, const char *exe, int pid, struct lat_fn **fns, size_t *n, size_t *alloc)
{
	char **items = lat_split_spec(spec);
	int rc = 0;
	if (!items[0])
		rc = kiln_error("no function named: give FUNC[,FUNC...]");
	for (size_t i = 0; items[i]; i++) {
		if (!rc && resolve_one(items[i], exe, pid, fns, n, alloc) < 0)
			rc = -1;
		free(items[i]);
	}
	free(items);
	return rc;
}

void lat_funcs_free(struct lat_fn *fns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(fns[i].name);
		free(fns[i].path);
	}
	free(fns);
}
