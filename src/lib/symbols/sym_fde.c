/* sym_fde.c: function boundaries for addresses a module has no symbol for.
 *
 * Stripped programs and libraries keep their unwind tables: every function the
 * compiler emitted has an FDE in .eh_frame (and .eh_frame_hdr holds a sorted table of
 * their start addresses), because exceptions and backtraces need them. When neither the
 * symbol tables (.symtab, .dynsym, MiniDebugInfo, a debug file) nor DWARF name an
 * address, the FDE that covers it gives the function's start and end, and the frame is
 * named "MODULE+0xSTART" (the module's basename and the function's start address in the
 * ELF): every function of a stripped program stays a row of its own in every view, and
 * the name is the same in every run of the same build.
 *
 * libdw finds the FDE (dwarf_cfi_addrframe: a binary search of .eh_frame_hdr's table,
 * or of its own index of .debug_frame). The CFI handles are the ones the unwinder uses
 * (struct ks_module's eh_cfi/dw_cfi), so a module's unwind tables are parsed once; the
 * resolve cache above keeps each address's answer, so this runs once per distinct
 * address. */
#include "symbols/sym_internal.h"
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CFI handles of m, opened on first use (shared with unwind.c). */
static void fde_cfi(struct ks_module *m)
{
	if (!m->cfi_state) {
		m->cfi_state = 1;
		m->eh_cfi = dwfl_module_eh_cfi(m->dmod, &m->eh_bias);
	}
	if (!m->dw_cfi_tried) {
		m->dw_cfi_tried = 1;
		m->dw_cfi = dwfl_module_dwarf_cfi(m->dmod, &m->dw_bias);
	}
}

static int fde_lookup(Dwarf_CFI *cfi, Dwarf_Addr bias, uint64_t vaddr, uint64_t *start,
		      uint64_t *end)
{
	Dwarf_Frame *fr = NULL;
	if (!cfi || vaddr < bias || dwarf_cfi_addrframe(cfi, vaddr - bias, &fr) != 0)
		return -1;
	Dwarf_Addr s, e;
	bool signalp;
	int rc = dwarf_frame_info(fr, &s, &e, &signalp) < 0 ? -1 : 0;
	free(fr);
	if (rc == 0) {
		*start = s + bias;
		*end = e + bias;
	}
	return rc;
}

int ks_fde_bounds(struct ks_module *m, uint64_t vaddr, uint64_t *start, uint64_t *end)
{
	if (m->state != KS_MOD_OPEN)
		return -1;
	fde_cfi(m);
	if (fde_lookup(m->eh_cfi, m->eh_bias, vaddr, start, end) == 0 ||
	    fde_lookup(m->dw_cfi, m->dw_bias, vaddr, start, end) == 0)
		return *start <= vaddr && vaddr < *end ? 0 : -1;
	return -1;
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
