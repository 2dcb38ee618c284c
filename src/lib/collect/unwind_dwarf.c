/* unwind_dwarf.c: DWARF (CFI) unwinding of sampled user stacks, with the frame-pointer
 * chain as continuation in auto mode (see unwind_dwarf.h). */
#include "collect/unwind_dwarf.h"
#include "util/parse.h"
#include <asm/perf_regs.h>
#include <stdlib.h>
#include <string.h>

uint64_t kc_dwarf_regs_mask(void)
{
	uint64_t all = (1ull << PERF_REG_X86_64_MAX) - 1;
	/* the segment registers are not sampled on x86_64 (the kernel rejects them) */
	return all & ~((1ull << PERF_REG_X86_DS) | (1ull << PERF_REG_X86_ES) | (1ull << PERF_REG_X86_FS) |
		       (1ull << PERF_REG_X86_GS));
}

int kc_call_graph_parse(const char *s, int *mode, uint32_t *size)
{
	const char *comma = strchr(s, ',');
	size_t len = comma ? (size_t)(comma - s) : strlen(s);
	*size = 0;
	if (len == 2 && !strncmp(s, "fp", 2))
		*mode = KC_CG_FP;
	else if (len == 5 && !strncmp(s, "dwarf", 5))
		*mode = KC_CG_DWARF;
	else if (len == 4 && !strncmp(s, "auto", 4))
		*mode = KC_CG_AUTO;
	else
		return -1;
	if (comma) {
		uint64_t v;
		if (*mode == KC_CG_FP || kiln_parse_size(comma + 1, &v) < 0 || v < 8 || v > KC_DWARF_STACK_MAX)
			return -1;
		*size = ((uint32_t)v + 7) & ~7u;
	}
	return 0;
}

int kc_splice_fp(uint64_t *out, int n, const uint64_t *fp, size_t nfp, int max)
{
	/* the outermost unwound frames (the last may be a guess the copy could not
	 * confirm) are looked for among the chain's return addresses */
	for (int k = n - 1; k >= 1 && k >= n - 3; k--) {
		for (size_t j = 1; j < nfp; j++) {
			if (fp[j] != out[k])
				continue;
			int m = k + 1;
			for (size_t i = j + 1; i < nfp && m < max; i++)
				out[m++] = fp[i];
			return m > n || (k < n - 1 && m > k + 1) ? m : -1;
		}
	}
	return -1;
}

int kc_unwind_user(struct ks_session *sym, int mode, const struct kc_sample *s, const uint64_t *fp,
		   size_t nfp, uint64_t *out, int max, struct kc_unwind_result *res)
{
	struct ks_regs regs;
	int n;
	memset(res, 0, sizeof(*res));
	if (!s->regs_abi || !s->stack || !s->stack_size || !(s->regs_mask & (1ull << PERF_REG_X86_IP)) ||
	    !(s->regs_mask & (1ull << PERF_REG_X86_SP)) || max < 1)
		return -1;
	memset(&regs, 0, sizeof(regs));
	for (int i = 0; i < 24; i++)
		regs.regs[i] = s->regs[i];
	regs.mask = s->regs_mask & ((1ull << 24) - 1);
	n = ks_unwind(sym, (int)s->pid, &regs, s->stack, (size_t)s->stack_size, out, max, &res->complete);
	if (n < 1)
		return -1;
	res->dwarf = 1;
	if (res->complete || mode != KC_CG_AUTO || nfp < 2)
		return n;
	int m = kc_splice_fp(out, n, fp, nfp, max);
	if (m > 0) {
		res->spliced = 1;
		res->complete = 1;
		return m;
	}
	return n;
}
