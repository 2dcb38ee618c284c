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
 * next function's start bounds it. */
#include "symbols/sym_internal.h"
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
	if (!lo)
		return -1;
	size_t i = lo - 1;
	uint64_t s = entry_start(m, i);
	uint64_t e = lo < m->fde_n ? entry_start(m, lo) : UINT64_MAX;
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
	if (vaddr >= e)
		return -1; /* in a gap between functions (padding, data) */
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
