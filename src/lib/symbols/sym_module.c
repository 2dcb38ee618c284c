/* sym_module.c: one ELF module: opening it through libdwfl, its sorted symbol table,
 * DWARF file:line and inlined frames, demangling, and reads of its file contents.
 *
 * Why libdwfl rather than libelf alone: libdwfl already implements everything around the
 * ELF file that kiln would otherwise rewrite: finding separate debug files by build-id
 * and .gnu_debuglink (dwfl_standard_find_debuginfo), MiniDebugInfo (.gnu_debugdata,
 * decompressed with liblzma, merged as an auxiliary symbol table), compressed sections,
 * .eh_frame/.debug_frame parsing (dwfl_module_eh_cfi / dwfl_module_dwarf_cfi) and DWARF
 * access with the right bias. Each module gets its own Dwfl with the one ELF reported so
 * that module addresses are the ELF's own virtual addresses, independent of where each
 * process loaded it: one open per file, shared by every process.
 *
 * We do not use dwfl_module_addrinfo for the symbol lookup itself: it scans the symbol
 * table linearly on every call. Instead the symbols are read once with
 * dwfl_module_getsym_info (which sees the same tables: main, debug file, MiniDebugInfo)
 * into a sorted array, and looked up by binary search with a deterministic choice among
 * aliases. */
#include "symbols/sym_internal.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- demangling ---- */
const char *ks_demangle(struct ks_session *s, const char *name)
{
	if (s->opts.no_demangle || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return name;
	/* DMGL_AUTO tries Rust (legacy and v0) first, then the C++ (GNU v3) ABI */
	char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	if (!d)
		return name;
	const char *r = ks_internz(&s->pool, d);
	free(d);
	return r;
}

static void free_cuidx(struct ks_module *m);

/* ---- opening ---- */
static int vdso_fd(void)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return -1;
	/* The vdso's size: its mapping in our own maps (the same kernel maps the same image
	 * into every 64-bit process). */
	size_t size = 0;
	FILE *f = fopen("/proc/self/maps", "re");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			unsigned long a, b;
			if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &a, &b) == 2 &&
			    a == base) {
				size = b - a;
				break;
			}
		}
		fclose(f);
	}
	if (!size)
		return -1;
	int fd = memfd_create("kiln-vdso", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	const char *p = (const char *)base;
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, p + done, size - done);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	return fd;
}

static void init_callbacks(struct ks_session *s)
{
	if (s->dwfl_cb.find_debuginfo)
		return;
	s->dwfl_cb.find_elf = dwfl_build_id_find_elf;
	s->dwfl_cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->dwfl_cb.section_address = dwfl_offline_section_address;
	s->dwfl_cb.debuginfo_path = s->dwfl_debuginfo_path ? &s->dwfl_debuginfo_path : NULL;
}

/* Reports the ELF file behind fd as the only module of a new Dwfl. Consumes fd. */
static int report(struct ks_session *s, struct ks_module *m, const char *file, int fd)
{
	init_callbacks(s);
	m->dwfl = dwfl_begin(&s->dwfl_cb);
	if (!m->dwfl) {
		close(fd);
		return -1;
	}
	dwfl_report_begin(m->dwfl);
	m->dmod = dwfl_report_elf(m->dwfl, m->path, file, fd, 0, true);
	if (!m->dmod) {
		close(fd);
		goto fail;
	}
	if (dwfl_report_end(m->dwfl, NULL, NULL) != 0)
		goto fail;
	Dwarf_Addr bias;
	m->elf = dwfl_module_getelf(m->dmod, &bias);
	if (!m->elf)
		goto fail;
	return 0;
fail:
	dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->dmod = NULL;
	m->elf = NULL;
	return -1;
}

static int build_id_matches(struct ks_module *m)
{
	if (!m->build_id_len)
		return 1;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(m->dmod, &bits, &vaddr);
	if (len <= 0) /* the file has no build-id: nothing to compare */
		return 1;
	return (size_t)len == m->build_id_len && memcmp(bits, m->build_id, m->build_id_len) == 0;
}

/* Opens a regular file only: never a device or FIFO a mapping might name. */
static int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int open_fd(struct ks_module *m, char *used, size_t usedsz)
{
	int fd = open_regular(m->path);
	snprintf(used, usedsz, "%s", m->path);
	if (fd < 0 && m->pid_hint > 0) {
		/* a process in another mount namespace: its files are under /proc/PID/root */
		snprintf(used, usedsz, "/proc/%d/root%s", m->pid_hint, m->path);
		fd = open_regular(used);
	}
	return fd;
}

/* The debug file of a build-id, for a binary replaced on disk since it was mapped: it
 * has the same symbols and addresses. */
static int open_debug_by_build_id(struct ks_session *s, struct ks_module *m, char *used,
				  size_t usedsz)
{
	if (m->build_id_len < 2)
		return -1;
	char hex[2 * KS_MAX_BUILD_ID + 1];
	for (size_t i = 0; i < m->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
	/* the absolute directories of the debug path, as libdwfl searches them */
	const char *path = s->dwfl_debuginfo_path ? s->dwfl_debuginfo_path : "/usr/lib/debug";
	while (*path) {
		size_t len = strcspn(path, ":");
		if (len && path[0] == '/') {
			snprintf(used, usedsz, "%.*s/.build-id/%.2s/%s.debug", (int)len, path, hex,
				 hex + 2);
			int fd = open_regular(used);
			if (fd >= 0)
				return fd;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return -1;
}

static int read_loads(struct ks_module *m, int from_debug)
{
	size_t n;
	if (elf_getphdrnum(m->elf, &n) != 0)
		return -1;
	m->loads = xcalloc(n ? n : 1, sizeof(*m->loads));
	m->nloads = 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(m->elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->loads[m->nloads++] = ph;
	}
	if (!m->nloads)
		return -1;
	if (from_debug) {
		/* A debug file keeps the segments' addresses but not their file offsets
		 * (objcopy --only-keep-debug zeroes them). Assume the usual layout, where
		 * the first segment maps file offset 0 and the code segments keep the
		 * address-offset distance of the first: exact for the code of PIEs, shared
		 * libraries and classic executables built by GNU ld and lld. */
		uint64_t base = m->loads[0].p_vaddr & ~(uint64_t)0xfff;
		for (size_t i = 0; i < m->nloads; i++) {
			m->loads[i].p_offset = m->loads[i].p_vaddr - base;
			m->loads[i].p_filesz = m->loads[i].p_memsz;
		}
	}
	return 0;
}

int ks_module_open(struct ks_session *s, struct ks_module *m)
{
	if (m->state != KS_MOD_NEW)
		return m->state == KS_MOD_OPEN ? 0 : -1;
	m->state = KS_MOD_FAILED;
	char used[4200];
	int fd;
	if (m->kind == KS_MOD_VDSO) {
		fd = vdso_fd();
		snprintf(used, sizeof(used), "[vdso]");
	} else {
		fd = open_fd(m, used, sizeof(used));
	}
	int ok = fd >= 0 && report(s, m, used, fd) == 0, mismatch = 0, from_debug = 0;
	if (ok && !build_id_matches(m)) {
		dwfl_end(m->dwfl);
		m->dwfl = NULL;
		ok = 0;
		mismatch = 1;
	}
	if (!ok && m->build_id_len && m->kind == KS_MOD_FILE) {
		/* replaced or deleted since it was mapped: its debug file has the same
		 * symbols at the same addresses */
		fd = open_debug_by_build_id(s, m, used, sizeof(used));
		ok = fd >= 0 && report(s, m, used, fd) == 0;
		from_debug = 1;
		if (ok && !build_id_matches(m)) {
			dwfl_end(m->dwfl);
			m->dwfl = NULL;
			ok = 0;
		}
	}
	if (!ok) {
		if (mismatch)
			kiln_warn("'%s' changed since it was mapped (its build-id differs); its "
				  "frames stay unnamed", m->path);
		return -1;
	}
	m->from_debug = from_debug;
	if (read_loads(m, from_debug) != 0) {
		dwfl_end(m->dwfl);
		m->dwfl = NULL;
		return -1;
	}
	m->state = KS_MOD_OPEN;
	return 0;
}

void ks_module_free(struct ks_module *m)
{
	free_cuidx(m);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m->loads);
	free(m->syms);
	free(m->xsecs);
	free(m->entries);
	free(m);
}

int ks_module_off_to_vaddr(const struct ks_module *m, uint64_t off, uint64_t *vaddr)
{
	const GElf_Phdr *best = NULL;
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];
		if (off >= ph->p_offset && off - ph->p_offset < ph->p_filesz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return 0;
		}
		if (ph->p_offset <= off && (!best || ph->p_offset > best->p_offset))
			best = ph;
	}
	if (!best)
		best = &m->loads[0];
	*vaddr = off - best->p_offset + best->p_vaddr;
	return 0;
}

int ks_module_read(struct ks_module *m, uint64_t vaddr, void *buf, size_t len)
{
	if (m->state != KS_MOD_OPEN || m->from_debug)
		return -1;
	size_t size;
	const char *raw = elf_rawfile(m->elf, &size);
	if (!raw)
		return -1;
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];
		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_filesz &&
		    len <= ph->p_filesz - (vaddr - ph->p_vaddr)) {
			uint64_t off = vaddr - ph->p_vaddr + ph->p_offset;
			if (off > size || len > size - off)
				return -1;
			memcpy(buf, raw + off, len);
			return 0;
		}
	}
	return -1;
}

/* ---- symbol table ---- */
struct sym_tmp {
	uint64_t addr, size;
	uint64_t sec_end; /* end of the symbol's section (module addresses), 0 if unknown */
	const char *name;
	int rank; /* higher is preferred among symbols at one address */
};

static int sym_rank(const GElf_Sym *sym, const char *name)
{
	int type = GELF_ST_TYPE(sym->st_info), bind = GELF_ST_BIND(sym->st_info);
	int r = 0;
	if (type == STT_FUNC || type == STT_GNU_IFUNC)
		r += 1000;
	if (sym->st_size)
		r += 500;
	r += bind == STB_GLOBAL ? 200 : bind == STB_WEAK ? 100 : 0;
	int us = 0;
	while (name[us] == '_')
		us++;
	r -= us * 10;
	return r;
}

static int sym_tmp_cmp(const void *a, const void *b)
{
	const struct sym_tmp *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return y->rank - x->rank; /* best first */
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The section of a symbol: 1 when it is executable; *end gets its end address. */
static int symbol_section(Elf *elf, GElf_Word shndx, uint64_t *start, uint64_t *end)
{
	*start = *end = 0;
	if (!elf || shndx == SHN_UNDEF || shndx >= SHN_LORESERVE)
		return 0;
	Elf_Scn *scn = elf_getscn(elf, shndx);
	GElf_Shdr sh;
	if (!scn || !gelf_getshdr(scn, &sh))
		return 0;
	*start = sh.sh_addr;
	*end = sh.sh_addr + sh.sh_size;
	return (sh.sh_flags & SHF_EXECINSTR) != 0;
}

/* Synthesizes "name@plt" symbols for the PLT entries of the main file: entry i of
 * .plt.sec (IBT), or entry i + 1 of .plt (after its header), calls the function of the
 * i-th relocation of .rela.plt. */
static void plt_symbols(struct ks_session *s, struct ks_module *m, struct sym_tmp **tmp,
			size_t *nt, size_t *alloc)
{
	Elf *elf = m->elf;
	size_t shstrndx;
	if (m->from_debug || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	Elf_Scn *scn = NULL, *rela = NULL;
	GElf_Shdr plt = { 0 }, plt_sec = { 0 }, rsh = { 0 };
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (strcmp(name, ".plt") == 0)
			plt = sh;
		else if (strcmp(name, ".plt.sec") == 0)
			plt_sec = sh;
		else if (strcmp(name, ".rela.plt") == 0 && sh.sh_type == SHT_RELA) {
			rela = scn;
			rsh = sh;
		}
	}
	if (!rela || !plt.sh_size || !rsh.sh_entsize)
		return;
	Elf_Scn *symscn = elf_getscn(elf, rsh.sh_link);
	GElf_Shdr symsh;
	Elf_Data *rdata = elf_getdata(rela, NULL);
	Elf_Data *sdata = symscn ? elf_getdata(symscn, NULL) : NULL;
	if (!rdata || !sdata || !gelf_getshdr(symscn, &symsh) || !rdata->d_buf)
		return;
	uint64_t base = plt_sec.sh_size ? plt_sec.sh_addr : plt.sh_addr + 16;
	uint64_t limit = plt_sec.sh_size ? plt_sec.sh_addr + plt_sec.sh_size
					 : plt.sh_addr + plt.sh_size;
	size_t n = rsh.sh_size / rsh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Rela r;
		GElf_Sym sym;
		if (!gelf_getrela(rdata, (int)i, &r) ||
		    !gelf_getsym(sdata, (int)GELF_R_SYM(r.r_info), &sym))
			continue;
		uint64_t at = base + 16 * i;
		if (at + 16 > limit)
			break;
		const char *name = elf_strptr(elf, symsh.sh_link, sym.st_name);
		if (!name || !name[0])
			continue;
		char buf[512];
		snprintf(buf, sizeof(buf), "%s@plt", name);
		ALLOC_GROW(*tmp, *nt + 1, *alloc);
		struct sym_tmp *t = &(*tmp)[(*nt)++];
		t->addr = at;
		t->size = 16;
		t->sec_end = limit;
		t->name = ks_internz(&s->pool, buf);
		t->rank = 0;
	}
}

static uint64_t exec_segment_end(const struct ks_module *m, uint64_t addr)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];
		if (addr >= ph->p_vaddr && addr - ph->p_vaddr < ph->p_memsz)
			return ph->p_vaddr + ph->p_memsz;
	}
	return addr + 1;
}

static void load_symbols(struct ks_session *s, struct ks_module *m)
{
	m->syms_state = 1;
	int n = dwfl_module_getsymtab(m->dmod);
	if (n <= 0)
		return;
	size_t alloc = (size_t)n, nt = 0;
	struct sym_tmp *tmp = xcalloc(alloc, sizeof(*tmp));
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf = NULL;
		Dwarf_Addr bias;
		const char *name = dwfl_module_getsym_info(m->dmod, i, &sym, &addr, &shndx, &elf,
							   &bias);
		if (!name || !name[0] || name[0] == '$' || sym.st_shndx == SHN_UNDEF)
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		uint64_t sec_start, sec_end;
		int exec = symbol_section(elf, shndx, &sec_start, &sec_end);
		if (type != STT_FUNC && type != STT_GNU_IFUNC && !(type == STT_NOTYPE && exec))
			continue;
		/* "name@@VERSION" / "name@VERSION" from symbol versioning: the name alone */
		const char *at = strchr(name, '@');
		if (at && at > name)
			name = ks_intern(&s->pool, name, (size_t)(at - name));
		tmp[nt].addr = addr;
		tmp[nt].size = sym.st_size;
		/* section addresses are the file's own; addr may carry a bias */
		tmp[nt].sec_end = sec_end > sec_start && sym.st_value >= sec_start &&
					  sym.st_value < sec_end
				  ? sec_end + (addr - sym.st_value) : 0;
		tmp[nt].name = name;
		tmp[nt].rank = sym_rank(&sym, name);
		nt++;
	}
	plt_symbols(s, m, &tmp, &nt, &alloc);
	qsort(tmp, nt, sizeof(*tmp), sym_tmp_cmp);
	m->syms = xcalloc(nt ? nt : 1, sizeof(*m->syms));
	size_t ns = 0;
	for (size_t i = 0; i < nt; i++) {
		if (ns && m->syms[ns - 1].addr == tmp[i].addr) {
			/* an alias: keep the best-ranked name but the largest extent */
			if (tmp[i].size && (m->syms[ns - 1].unsized ||
					    m->syms[ns - 1].end < tmp[i].addr + tmp[i].size)) {
				m->syms[ns - 1].end = tmp[i].addr + tmp[i].size;
				m->syms[ns - 1].unsized = 0;
			}
			continue;
		}
		m->syms[ns].addr = tmp[i].addr;
		/* size-0 symbols (assembly labels) extend to the next symbol, within their
		 * section: for now, the end of the section */
		m->syms[ns].end = tmp[i].size ? tmp[i].addr + tmp[i].size :
				  tmp[i].sec_end > tmp[i].addr ? tmp[i].sec_end :
								 exec_segment_end(m, tmp[i].addr);
		m->syms[ns].unsized = !tmp[i].size;
		/* the symbol table's own string (libdwfl keeps it while the module is
		 * open, which is until the session ends): only names asked for get copied,
		 * when they become frames */
		m->syms[ns].name = tmp[i].name;
		ns++;
	}
	for (size_t i = 0; i + 1 < ns; i++)
		if (m->syms[i].unsized && m->syms[i + 1].addr < m->syms[i].end)
			m->syms[i].end = m->syms[i + 1].addr;
	m->nsyms = ns;
	free(tmp);
}

static struct ks_sym *find_symbol(struct ks_session *s, struct ks_module *m, uint64_t addr)
{
	if (!m->syms_state)
		load_symbols(s, m);
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) { /* first symbol after addr */
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the closest symbol at or below addr; a few more back for nested symbols */
	for (size_t k = 0; k < 4 && lo > k; k++) {
		struct ks_sym *sym = &m->syms[lo - 1 - k];
		if (addr < sym->end)
			return sym;
	}
	/* A return address minus 1 that falls just before a function: the return address
	 * was the function's first byte, which only a signal frame's trampoline (such as
	 * __restore_rt) is "returned" to. */
	if (lo < m->nsyms && m->syms[lo].addr == addr + 1)
		return &m->syms[lo];
	return NULL;
}

/* ---- DWARF: an index of each CU's code scopes ----
 * Finding the inlined functions at an address with dwarf_getscopes walks the CU's
 * whole DIE tree for every address (~100 us per address in libc). Instead each CU is
 * walked once: every range of every subprogram and inlined subroutine becomes an
 * interval with the index of its enclosing interval; a lookup is a binary search and
 * a walk up the enclosing intervals. */
struct ks_scope {
	uint64_t lo, hi;
	int32_t parent;   /* enclosing interval, -1 for none */
	int32_t depth;
	int is_inline;    /* DW_TAG_inlined_subroutine, else DW_TAG_subprogram */
	Dwarf_Die die;
};

struct ks_cuidx {
	Dwarf_Off cu_off;
	struct ks_scope *sc; /* sorted by lo, then outer first */
	size_t n, alloc;
};

static int is_type_tag(int tag)
{
	switch (tag) {
	case DW_TAG_base_type: case DW_TAG_pointer_type: case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: case DW_TAG_const_type: case DW_TAG_volatile_type:
	case DW_TAG_typedef: case DW_TAG_array_type: case DW_TAG_subrange_type:
	case DW_TAG_enumeration_type: case DW_TAG_enumerator: case DW_TAG_subroutine_type:
	case DW_TAG_variable: case DW_TAG_formal_parameter: case DW_TAG_member:
	case DW_TAG_restrict_type: case DW_TAG_label: case DW_TAG_unspecified_parameters:
	case DW_TAG_GNU_call_site: case DW_TAG_call_site: case DW_TAG_call_site_parameter:
	case DW_TAG_GNU_call_site_parameter: case DW_TAG_template_type_parameter:
	case DW_TAG_template_value_parameter: case DW_TAG_imported_unit:
		return 1;
	}
	return 0;
}

#define MAX_DIE_DEPTH 256

/* Adds die's code ranges when it is a function or an inlined call. Returns 0 when nothing
 * below it can hold code (a declaration or an abstract instance), else 1. */
static int index_one(struct ks_cuidx *ix, Dwarf_Die *die, int depth)
{
	int tag = dwarf_tag(die);
	if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		int any = 0;
		while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
			any = 1;
			if (hi <= lo)
				continue;
			ALLOC_GROW(ix->sc, ix->n + 1, ix->alloc);
			struct ks_scope *e = &ix->sc[ix->n++];
			e->lo = lo;
			e->hi = hi;
			e->parent = -1;
			e->depth = depth;
			e->is_inline = tag == DW_TAG_inlined_subroutine;
			e->die = *die;
		}
		if (!any)
			return 0;
	}
	return 1;
}

/* Indexes the functions and inlined calls of a compile unit, depth first down to
 * MAX_DIE_DEPTH, skipping type and variable subtrees. A loop with its own stack of the
 * current DIE at each level rather than recursion: the nesting comes from the file. */
static void index_dies(struct ks_cuidx *ix, Dwarf_Die *cu)
{
	Dwarf_Die *st = NULL; /* st[k]: the DIE being visited at depth k + 1 */
	size_t n = 0, alloc = 0;
	Dwarf_Die child;
	if (!index_one(ix, cu, 0) || !dwarf_haschildren(cu) || dwarf_child(cu, &child) != 0)
		return;
	ALLOC_GROW(st, 1, alloc);
	st[n++] = child;
	while (n) {
		Dwarf_Die *d = &st[n - 1];
		int depth = (int)n;
		if (depth <= MAX_DIE_DEPTH && !is_type_tag(dwarf_tag(d)) && index_one(ix, d, depth) &&
		    dwarf_haschildren(d) && dwarf_child(d, &child) == 0) {
			ALLOC_GROW(st, n + 1, alloc);
			st[n++] = child;
			continue;
		}
		/* on to the next sibling, here or in the levels above */
		while (n && dwarf_siblingof(&st[n - 1], &st[n - 1]) != 0)
			n--;
	}
	free(st);
}

static int scope_cmp(const void *a, const void *b)
{
	const struct ks_scope *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth - y->depth; /* the outer one first */
}

static struct ks_cuidx *build_cuidx(Dwarf_Die *cu)
{
	struct ks_cuidx *ix = xcalloc(1, sizeof(*ix));
	ix->cu_off = dwarf_dieoffset(cu);
	index_dies(ix, cu);
	if (ix->n) /* ix->sc is NULL for a unit without code */
		qsort(ix->sc, ix->n, sizeof(*ix->sc), scope_cmp);
	/* enclosing intervals: a sweep with a stack of open intervals */
	int32_t *stack = xcalloc(ix->n ? ix->n : 1, sizeof(*stack));
	size_t sp = 0;
	for (size_t i = 0; i < ix->n; i++) {
		struct ks_scope *e = &ix->sc[i];
		while (sp && !(ix->sc[stack[sp - 1]].lo <= e->lo && e->lo < ix->sc[stack[sp - 1]].hi &&
			       ix->sc[stack[sp - 1]].depth < e->depth))
			sp--;
		e->parent = sp ? stack[sp - 1] : -1;
		stack[sp++] = (int32_t)i;
	}
	free(stack);
	return ix;
}

static struct ks_cuidx *cu_index(struct ks_module *m, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	if (m->cuidx_size) {
		uint32_t mask = m->cuidx_size - 1;
		for (uint32_t i = (uint32_t)ks_hash_u64(off) & mask; m->cuidx[i]; i = (i + 1) & mask)
			if (m->cuidx[i]->cu_off == off)
				return m->cuidx[i];
	}
	if ((m->cuidx_nr + 1) * 2 > m->cuidx_size) {
		uint32_t size = m->cuidx_size ? m->cuidx_size * 2 : 64;
		struct ks_cuidx **h = xcalloc(size, sizeof(*h));
		for (uint32_t i = 0; i < m->cuidx_size; i++) {
			struct ks_cuidx *x = m->cuidx[i];
			if (!x)
				continue;
			uint32_t j = (uint32_t)ks_hash_u64(x->cu_off) & (size - 1);
			while (h[j])
				j = (j + 1) & (size - 1);
			h[j] = x;
		}
		free(m->cuidx);
		m->cuidx = h;
		m->cuidx_size = size;
	}
	struct ks_cuidx *ix = build_cuidx(cu);
	uint32_t j = (uint32_t)ks_hash_u64(off) & (m->cuidx_size - 1);
	while (m->cuidx[j])
		j = (j + 1) & (m->cuidx_size - 1);
	m->cuidx[j] = ix;
	m->cuidx_nr++;
	return ix;
}

/* The innermost interval containing a, or -1. */
static int32_t cuidx_find(const struct ks_cuidx *ix, uint64_t a)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->sc[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* among intervals starting at the same address the last is the innermost; walk
	 * up from the last one starting at or before a */
	int32_t i = (int32_t)lo - 1;
	while (i >= 0 && !(a < ix->sc[i].hi))
		i = ix->sc[i].parent;
	return i;
}

static void free_cuidx(struct ks_module *m)
{
	for (uint32_t i = 0; i < m->cuidx_size; i++)
		if (m->cuidx[i]) {
			free(m->cuidx[i]->sc);
			free(m->cuidx[i]);
		}
	free(m->cuidx);
}

/* ---- DWARF: file:line and inlined functions ---- */
static const char *die_name(struct ks_session *s, Dwarf_Die *die)
{
	Dwarf_Attribute am;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &am));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &am));
	if (name)
		return ks_demangle(s, ks_internz(&s->pool, name));
	name = dwarf_diename(die);
	return name ? ks_internz(&s->pool, name) : NULL;
}

/* A source path as the line table gives it, made absolute with the CU's DW_AT_comp_dir
 * when it is relative (GCC records "src/x.c" for `cc src/x.c`), so that the file can be
 * found (and checked, kiln annotate) from any directory; interned. */
static const char *abs_src(struct ks_session *s, Dwarf_Die *cu, const char *f)
{
	if (!f || f[0] == '/')
		return f ? ks_internz(&s->pool, f) : NULL;
	Dwarf_Attribute am;
	const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &am));
	if (!dir || dir[0] != '/')
		return ks_internz(&s->pool, f);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", dir, f);
	const char *r = ks_internz(&s->pool, sb.buf);
	strbuf_release(&sb);
	return r;
}

/* The call site of an inlined instance: DW_AT_call_file / DW_AT_call_line. */
static void call_site(struct ks_session *s, Dwarf_Die *die, const char **file, uint32_t *line)
{
	Dwarf_Attribute am;
	Dwarf_Word fidx = 0, ln = 0;
	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &am), &ln) == 0)
		*line = (uint32_t)ln;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &am), &fidx) != 0)
		return;
	Dwarf_Die cu;
	if (!dwarf_diecu(die, &cu, NULL, NULL))
		return;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 || fidx >= nfiles)
		return;
	const char *f = dwarf_filesrc(files, fidx, NULL, NULL);
	if (f)
		*file = abs_src(s, &cu, f);
}

/* Whether the CU was compiled without optimisation, from its DW_AT_producer: GCC
 * records the -O flags there (-grecord-gcc-switches, its default); the last one counts,
 * and a GCC producer without any means the default, -O0. Producers that record no flags
 * (clang, rustc, the GNU assembler) give 0: unknown is not reported as unoptimised. */
int ks_producer_unoptimized(const char *producer)
{
	/* a GCC compiler front end: "GNU C17 ...", "GNU C++17 ...", "GNU Fortran2008 ...";
	 * not the assembler ("GNU AS 2.40": hand-written code has no -O to record) */
	static const char *const gcc[] = { "GNU C", "GNU Fortran", "GNU Objective-C", "GNU D", "GNU Go",
					   "GNU Ada", "GNU Modula-2", NULL };
	int is_gcc = 0;
	for (int i = 0; producer && gcc[i] && !is_gcc; i++)
		is_gcc = !strncmp(producer, gcc[i], strlen(gcc[i]));
	if (!is_gcc)
		return 0;
	const char *last = NULL;
	for (const char *q = strstr(producer, " -O"); q; q = strstr(q + 3, " -O"))
		last = q;
	if (!last)
		return 1;
	return last[3] == '0' && (last[4] == ' ' || last[4] == '\0');
}

static uint32_t cu_unopt_flag(Dwarf_Die *cu)
{
	Dwarf_Attribute am;
	const char *prod = dwarf_formstring(dwarf_attr(cu, DW_AT_producer, &am));
	return ks_producer_unoptimized(prod) ? KP_FRAME_UNOPT : 0;
}

static int dwarf_frames(struct ks_session *s, struct ks_module *m, uint64_t vaddr,
			const char *fname, struct ks_sframe *out, int max)
{
	if (m->dwarf_state < 0)
		return 0;
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->dmod, vaddr, &bias);
	if (!cu) {
		/* no DWARF at all: remember, so later addresses skip the search */
		if (m->dwarf_state == 0 && !dwfl_module_getdwarf(m->dmod, &bias))
			m->dwarf_state = -1;
		return 0;
	}
	m->dwarf_state = 1;
	Dwarf_Addr a = vaddr - bias;
	const char *file = NULL;
	uint32_t line = 0;
	if (!s->opts.no_lines) {
		Dwarf_Line *l = dwarf_getsrc_die(cu, a);
		int ln = 0;
		if (l && dwarf_lineno(l, &ln) == 0) {
			const char *f = dwarf_linesrc(l, NULL, NULL);
			file = abs_src(s, cu, f);
			line = ln > 0 ? (uint32_t)ln : 0;
		}
	}
	int n = 0;
	const char *sub_name = NULL;
	if (!s->opts.no_inline) {
		struct ks_cuidx *ix = cu_index(m, cu);
		for (int32_t i = cuidx_find(ix, a); i >= 0; i = ix->sc[i].parent) {
			struct ks_scope *e = &ix->sc[i];
			if (!(e->lo <= a && a < e->hi))
				continue; /* a partial overlap in odd DWARF: not a real container */
			if (e->is_inline) {
				const char *nm = die_name(s, &e->die);
				if (n < max - 1 && n < KS_MAX_INLINE - 1) {
					out[n].name = nm ? nm : ks_internz(&s->pool, "[inlined]");
					out[n].module = m->path;
					out[n].file = s->opts.no_lines ? NULL : file;
					out[n].line = s->opts.no_lines ? 0 : line;
					out[n].flags = KP_FRAME_INLINE;
					out[n].addr = s->opts.no_lines ? 0 : vaddr;
					n++;
				}
				call_site(s, &e->die, &file, &line);
			} else {
				sub_name = die_name(s, &e->die);
				break;
			}
		}
	}
	const char *name = fname ? fname : sub_name;
	if (!name && !n)
		return 0; /* nothing named: the caller makes an unknown frame */
	out[n].name = name ? name : m->unknown_name;
	out[n].module = m->path;
	out[n].file = s->opts.no_lines ? NULL : file;
	out[n].line = s->opts.no_lines ? 0 : line;
	out[n].flags = name ? 0 : KP_FRAME_UNKNOWN;
	/* with line data, named frames keep their address too (kiln annotate --asm) */
	out[n].addr = name && s->opts.no_lines ? 0 : vaddr;
	uint32_t unopt = cu_unopt_flag(cu);
	for (int k = 0; k <= n; k++)
		out[k].flags |= unopt;
	return n + 1;
}

int ks_module_symbolize(struct ks_session *s, struct ks_module *m, uint64_t vaddr,
			struct ks_sframe *out, int max)
{
	struct ks_sym *sym = find_symbol(s, m, vaddr);
	const char *fname = NULL;
	uint64_t fs, fe;
	/* A size-0 symbol (an assembly label, or the last exported name before static
	 * functions of a stripped file) reaches to the next symbol; a function starting
	 * after it in the unwind tables ends that reach. */
	if (sym && sym->unsized && m->kind == KS_MOD_FILE && ks_fde_bounds(m, vaddr, &fs, &fe) == 0 &&
	    fs > sym->addr)
		sym = NULL;
	if (sym) {
		if (!sym->dname)
			sym->dname = ks_demangle(s, sym->name);
		fname = sym->dname;
	}
	int n = 0;
	if (m->kind == KS_MOD_FILE && (!s->opts.no_inline || !s->opts.no_lines))
		n = dwarf_frames(s, m, vaddr, fname, out, max);
	if (n > 0) {
		if (out[n - 1].flags & KP_FRAME_UNKNOWN) {
			/* no symbol and no DWARF name: the unwind tables' boundaries */
			const char *fde = ks_fde_name(s, m, vaddr);
			if (fde) {
				out[n - 1].name = fde;
				out[n - 1].flags = (out[n - 1].flags & ~KP_FRAME_UNKNOWN) | KP_FRAME_NOSYM;
				/* the address stays with line data, as for named frames (annotate --asm) */
				out[n - 1].addr = s->opts.no_lines ? 0 : vaddr;
			}
		}
		return n;
	}
	if (!fname) {
		const char *fde = ks_fde_name(s, m, vaddr);
		if (fde) {
			out[0].name = fde;
			out[0].module = m->path;
			out[0].file = NULL;
			out[0].line = 0;
			out[0].flags = KP_FRAME_NOSYM;
			out[0].addr = s->opts.no_lines ? 0 : vaddr;
			return 1;
		}
	}
	out[0].name = fname ? fname : m->unknown_name;
	out[0].module = m->path;
	out[0].file = NULL;
	out[0].line = 0;
	out[0].flags = fname ? 0 : KP_FRAME_UNKNOWN;
	out[0].addr = fname && s->opts.no_lines ? 0 : vaddr;
	return 1;
}
