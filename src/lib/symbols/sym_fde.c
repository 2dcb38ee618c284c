/* sym_fde.c: function boundaries for addresses a module has no symbol for.
 *
 * Stripped programs and libraries keep their unwind tables: every function the
 * compiler emitted has an FDE in .eh_frame, and .eh_frame_hdr (PT_GNU_EH_FRAME) holds a
 * table of their start addresses sorted for binary search, because exceptions and
 * backtraces need them. When neither the symbol tables (.symtab, .dynsym, MiniDebugInfo,
 * a debug file) nor DWARF name an address, the FDE that covers it gives the function's
 * start and end, and the frame is named "MODULE+0xSTART" (the module's basename and the
 * function's start address in the ELF): every function of a stripped program stays a
 * row of its own in every view, and the name is the same in every run of the same build.
 *
 * The table is used in place (it is in the file libelf already mapped), so a module
 * costs nothing until an address without a symbol needs it, and then one binary search
 * per distinct address (the resolve cache keeps each answer). The FDE's own pc_begin and
 * pc_range give the end; where its encoding is not the usual pc-relative sdata4, the
 * next function's start bounds it.
 *
 * A few functions have no FDE: crt's start-up and exit code (frame_dummy,
 * __do_global_dtors_aux, which every program runs), _init and _fini, assembly written
 * without CFI. An address between FDEs is named after the entry point the ELF itself
 * gives there (e_entry, DT_INIT, DT_FINI, the init and fini arrays), else after the
 * end of the function before it: a stable name for that stretch of code, never the
 * bare module. */
#include "symbols/sym_internal.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_datarel_sdata4 0x3b

static int32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return (int32_t)v;
}

/* The size of a value in DW_EH_PE encoding enc (low nibble), 0 when unsupported. */
static size_t enc_size(unsigned enc)
{
	switch (enc & 0x0f) {
	case 0x00: return 8; /* absptr on 64-bit */
	case 0x02: case 0x0a: return 2;
	case 0x03: case 0x0b: return 4;
	case 0x04: case 0x0c: return 8;
	}
	return 0;
}

static void read_table(struct ks_module *m)
{
	m->fde_state = 1;
	size_t nph, size;
	if (m->from_debug || !m->elf || elf_getphdrnum(m->elf, &nph) != 0)
		return;
	const unsigned char *raw = (const unsigned char *)elf_rawfile(m->elf, &size);
	if (!raw)
		return;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(m->elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset || ph.p_filesz < 12)
			return;
		const unsigned char *h = raw + ph.p_offset;
		size_t ptr_sz = enc_size(h[1]), cnt_sz = enc_size(h[2]);
		if (h[0] != 1 || h[2] == DW_EH_PE_omit || h[3] != DW_EH_PE_datarel_sdata4 || !ptr_sz ||
		    (cnt_sz != 4 && cnt_sz != 8))
			return;
		size_t off = 4 + ptr_sz;
		if (off + cnt_sz > ph.p_filesz)
			return;
		uint64_t count;
		if (cnt_sz == 4) {
			uint32_t c;
			memcpy(&c, h + off, 4);
			count = c;
		} else {
			memcpy(&count, h + off, 8);
		}
		off += cnt_sz;
		if (count > (ph.p_filesz - off) / 8)
			return;
		m->fde_tab = h + off;
		m->fde_n = (size_t)count;
		m->fde_hdr = ph.p_vaddr;
		return;
	}
}

static uint64_t entry_start(const struct ks_module *m, size_t i)
{
	return m->fde_hdr + (uint64_t)(int64_t)rd32(m->fde_tab + 8 * i);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Keeps entry point a (0: none). */
static void add_entry(struct ks_module *m, size_t *cap, uint64_t a)
{
	if (!a)
		return;
	ALLOC_GROW(m->entries, m->nentries + 1, *cap);
	m->entries[m->nentries++] = a;
}

/* The entries of the init and fini arrays (arr: address and size of each) that the
 * linker left 0 for the loader (lld does; GNU ld writes the value too): the addends of
 * the RELATIVE relocations that fill them, in one pass over the relocations. */
static void relocated_slots(struct ks_module *m, const uint64_t arr[2][2], unsigned rel_type,
			    size_t *cap)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(m->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			if (!gelf_getrela(d, (int)i, &r) || GELF_R_TYPE(r.r_info) != rel_type)
				continue;
			for (int k = 0; k < 2; k++)
				if (arr[k][0] && r.r_offset >= arr[k][0] && r.r_offset - arr[k][0] < arr[k][1])
					add_entry(m, cap, (uint64_t)r.r_addend);
		}
	}
}

/* The executable sections and the entry points the ELF names (see sym_internal.h). */
static void read_gap_info(struct ks_module *m)
{
	m->gap_state = 1;
	GElf_Ehdr eh;
	if (m->from_debug || !m->elf || !gelf_getehdr(m->elf, &eh))
		return;
	int wide = gelf_getclass(m->elf) == ELFCLASS64;
	unsigned rel_type = eh.e_machine == EM_X86_64 ? 8 /* R_X86_64_RELATIVE */
			    : eh.e_machine == EM_AARCH64 ? 1027 /* R_AARCH64_RELATIVE */ : 0;
	size_t cap = 0, xcap = 0;
	uint64_t arr[2][2] = { { 0, 0 }, { 0, 0 } }; /* init and fini arrays: address, size */
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(m->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_EXECINSTR) && sh.sh_size) {
			ALLOC_GROW(m->xsecs, m->nxsecs + 1, xcap);
			m->xsecs[m->nxsecs][0] = sh.sh_addr;
			m->xsecs[m->nxsecs][1] = sh.sh_addr + sh.sh_size;
			m->nxsecs++;
		} else if (sh.sh_type == SHT_DYNAMIC && sh.sh_entsize) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
			for (size_t i = 0; i < n; i++) {
				GElf_Dyn dyn;
				if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
					break;
				switch (dyn.d_tag) {
				case DT_INIT:
				case DT_FINI:
					add_entry(m, &cap, dyn.d_un.d_ptr);
					break;
				case DT_INIT_ARRAY: arr[0][0] = dyn.d_un.d_ptr; break;
				case DT_INIT_ARRAYSZ: arr[0][1] = dyn.d_un.d_val; break;
				case DT_FINI_ARRAY: arr[1][0] = dyn.d_un.d_ptr; break;
				case DT_FINI_ARRAYSZ: arr[1][1] = dyn.d_un.d_val; break;
				}
			}
		}
	}
	add_entry(m, &cap, eh.e_entry);
	size_t w = wide ? 8 : 4;
	int zeros = 0;
	for (int k = 0; k < 2; k++)
		for (uint64_t i = 0; arr[k][0] && i < arr[k][1] / w && i < 65536; i++) {
			uint64_t v = 0;
			uint32_t v32 = 0;
			if (wide ? ks_module_read(m, arr[k][0] + i * w, &v, 8) != 0
				 : ks_module_read(m, arr[k][0] + i * w, &v32, 4) != 0)
				break;
			v = wide ? v : v32;
			zeros += !v;
			add_entry(m, &cap, v);
		}
	if (zeros && rel_type)
		relocated_slots(m, arr, rel_type, &cap);
	if (m->nentries)
		qsort(m->entries, m->nentries, sizeof(*m->entries), cmp_u64);
}

/* vaddr lies between the functions the unwind tables cover: after the one ending at
 * prev_end (0: none before it) and before the one starting at next (UINT64_MAX: none).
 * Such code (crt's start-up and exit functions, _init and _fini, assembly without CFI)
 * starts at the last entry point the ELF names in the gap before vaddr; without one,
 * right after the function before it (at the next 16-byte boundary, past the padding
 * compilers put there, when vaddr is beyond it), or at its section's start. Outside an
 * executable section the address is no function's. */
static int gap_bounds(struct ks_module *m, uint64_t vaddr, uint64_t prev_end, uint64_t next,
		      uint64_t *start, uint64_t *end)
{
	if (!m->gap_state)
		read_gap_info(m);
	const uint64_t(*x)[2] = NULL;
	for (size_t i = 0; i < m->nxsecs && !x; i++)
		if (vaddr >= m->xsecs[i][0] && vaddr < m->xsecs[i][1])
			x = &m->xsecs[i];
	if (!x)
		return -1;
	uint64_t lo = prev_end > (*x)[0] ? prev_end : (*x)[0];
	uint64_t hi = next < (*x)[1] ? next : (*x)[1];
	if (vaddr < lo || vaddr >= hi)
		return -1;
	uint64_t s = lo, al = (lo + 15) & ~(uint64_t)15;
	if (al <= vaddr)
		s = al; /* a guess, for the first function of the gap */
	uint64_t e = hi;
	size_t l = 0, h = m->nentries; /* the first entry point after vaddr */
	while (l < h) {
		size_t mid = l + (h - l) / 2;
		if (m->entries[mid] <= vaddr)
			l = mid + 1;
		else
			h = mid;
	}
	if (l < m->nentries && m->entries[l] < e)
		e = m->entries[l];
	if (l && m->entries[l - 1] >= lo)
		s = m->entries[l - 1]; /* an entry point the ELF names wins over the guess */
	*start = s;
	*end = e;
	return 0;
}

int ks_fde_bounds(struct ks_module *m, uint64_t vaddr, uint64_t *start, uint64_t *end)
{
	if (m->state != KS_MOD_OPEN)
		return -1;
	if (!m->fde_state)
		read_table(m);
	if (!m->fde_n)
		return -1;
	size_t lo = 0, hi = m->fde_n; /* the first entry starting after vaddr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (entry_start(m, mid) <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t next = lo < m->fde_n ? entry_start(m, lo) : UINT64_MAX;
	if (!lo)
		return gap_bounds(m, vaddr, 0, next, start, end);
	size_t i = lo - 1;
	uint64_t s = entry_start(m, i);
	uint64_t e = next;
	/* the FDE itself: length, CIE pointer, pc_begin, pc_range (pc-relative sdata4) */
	uint64_t fde = m->fde_hdr + (uint64_t)(int64_t)rd32(m->fde_tab + 8 * i + 4);
	unsigned char b[16];
	if (ks_module_read(m, fde, b, sizeof(b)) == 0) {
		uint32_t len, range;
		memcpy(&len, b, 4);
		memcpy(&range, b + 12, 4);
		if (len != 0xffffffffu && fde + 8 + (uint64_t)(int64_t)rd32(b + 8) == s && range &&
		    s + range <= e)
			e = s + range;
	}
	if (vaddr >= e) /* past its function: padding, or code the tables leave out */
		return gap_bounds(m, vaddr, e, next, start, end);
	*start = s;
	*end = e;
	return 0;
}

const char *ks_fde_name(struct ks_session *s, struct ks_module *m, uint64_t vaddr)
{
	uint64_t start, end;
	if (ks_fde_bounds(m, vaddr, &start, &end) != 0)
		return NULL;
	const char *base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s+0x%llx", base, (unsigned long long)start);
	return ks_internz(&s->pool, buf);
}
