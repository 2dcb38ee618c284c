/* unwind_dwarf.h: the user part of a sample's call stack, for `kiln record --call-graph`.
 *
 * Modes: fp (the kernel's frame-pointer chain, with the innermost caller fixed from CFI),
 * dwarf (unwind the sampled user registers and stack copy with the modules' CFI, frame
 * pointers only where a module has no CFI), auto (dwarf, and where the stack copy runs
 * out before the root, the walk is continued with the frame-pointer chain from the
 * frame where both agree). A stack that reaches no root is reported as truncated. */
#ifndef KILN_COLLECT_UNWIND_DWARF_H
#define KILN_COLLECT_UNWIND_DWARF_H
#include "collect/perf_record.h"
#include "symbols/symbols.h"
#include <stddef.h>
#include <stdint.h>

enum kc_call_graph {
	KC_CG_AUTO = 0,
	KC_CG_FP = 1,
	KC_CG_DWARF = 2,
};

/* User stack bytes copied per sample in dwarf and auto mode (perf's default is 8192;
 * python3's eval loop needs more to reach main: see docs/kiln-record.md). */
#define KC_DWARF_STACK_DEFAULT 16384
/* Above this rate (Hz), auto mode copies half as much by default. */
#define KC_DWARF_HIGH_FREQ 4999
/* The largest copy the kernel accepts (the record size is 16 bits). */
#define KC_DWARF_STACK_MAX 65000

/* The user registers DWARF unwinding needs (PERF_SAMPLE_REGS_USER mask): all general
 * purpose registers, ip, sp and flags. */
uint64_t kc_dwarf_regs_mask(void);

/* Parses perf's "--call-graph MODE[,SIZE]" syntax: MODE fp, dwarf or auto, SIZE (dwarf
 * and auto only) bytes of user stack, rounded up to 8, at most KC_DWARF_STACK_MAX.
 * Returns 0 with *mode and *size (0 when not given) set, or -1 (nothing printed). */
int kc_call_graph_parse(const char *s, int *mode, uint32_t *size);

struct kc_unwind_result {
	int complete;     /* the walk reached the outermost frame */
	int spliced;      /* auto: frames beyond the copy came from the frame-pointer chain */
	int dwarf;        /* the stack came from CFI unwinding (else the FP chain as given) */
};

/* Auto mode's continuation: out[0..n) is an incomplete CFI walk, fp[0..nfp) the
 * frame-pointer chain of the same sample. When one of the last three return addresses
 * of out (not out[0]) is in fp (at j >= 1), the chain's frames after j replace what
 * follows it in out. Returns the new count (at most max) when that adds frames, else -1
 * (out unchanged). */
int kc_splice_fp(uint64_t *out, int n, const uint64_t *fp, size_t nfp, int max);

/* Unwinds the user stack of sample s (pid = s->pid) in DWARF mode: out gets up to max
 * addresses innermost first (out[0] the sampled user ip, the rest return addresses).
 * fp/nfp is the user part of the kernel's frame-pointer chain (innermost first), used
 * in auto mode to continue a walk that ran out of stack copy. Returns the count, or -1
 * when the sample has no user registers or stack copy (the caller keeps the FP chain). */
int kc_unwind_user(struct ks_session *sym, int mode, const struct kc_sample *s, const uint64_t *fp,
		   size_t nfp, uint64_t *out, int max, struct kc_unwind_result *res);

#endif
