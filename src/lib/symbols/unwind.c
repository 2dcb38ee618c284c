/* unwind.c: x86_64 user stack unwinding from sampled registers and a copy of the stack.
 *
 * The CFI rules come from libdw (dwarf_cfi_addrframe on the module's .eh_frame, then
 * .debug_frame); this file evaluates them: the CFA and register rules are small DWARF
 * expressions, evaluated against the register state and the stack copy. We do not use
 * libdwfl's dwfl_attach_state/dwfl_getthread_frames: that needs a Dwfl per process with
 * every module reported at its load address (perf builds one per sample), while our
 * modules are opened once, at their ELF addresses, and shared by all processes. The
 * Dwarf_Frame found for each (module, pc) is cached, so repeated pcs cost one hash
 * lookup and a few register rules. Modules without CFI fall back to frame pointers. */
#include "symbols/sym_internal.h"
#include "util/xalloc.h"
#include <asm/perf_regs.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#define NREG 17   /* DWARF x86_64: 0-15 general registers, 16 the return address (rip) */
#define REG_BP 6
#define REG_SP 7
#define REG_RA 16

/* DWARF register number -> perf_event_open register index */
static const int dwarf_to_perf[NREG] = {
	PERF_REG_X86_AX, PERF_REG_X86_DX, PERF_REG_X86_CX, PERF_REG_X86_BX,
	PERF_REG_X86_SI, PERF_REG_X86_DI, PERF_REG_X86_BP, PERF_REG_X86_SP,
	PERF_REG_X86_R8, PERF_REG_X86_R9, PERF_REG_X86_R10, PERF_REG_X86_R11,
	PERF_REG_X86_R12, PERF_REG_X86_R13, PERF_REG_X86_R14, PERF_REG_X86_R15,
	PERF_REG_X86_IP,
};

struct ustate {
	uint64_t r[NREG];
	uint32_t valid; /* bit per register */
};

struct umem {
	struct ks_session *s;
	struct ks_proc *pr;
	uint64_t sp;
	const unsigned char *stack;
	size_t len;
	int out_of_stack; /* a read fell outside the copy */
};

/* A register rule of a CFI row in compact form (the common cases). */
enum { RULE_UNDEF, RULE_SAME, RULE_AT_CFA, RULE_VAL_CFA, RULE_REG };
struct urule {
	uint8_t kind;
	uint8_t reg;  /* RULE_REG */
	int64_t off;  /* RULE_AT_CFA, RULE_VAL_CFA */
};

/* One cached CFI row for a (module, pc): compiled into compact rules when every rule
 * has a simple form (almost always), else the Dwarf_Frame is kept and interpreted. */
struct ks_urow {
	struct ks_urow *next;
	const struct ks_module *mod;
	uint64_t pc;
	int has_cfi;
	Dwarf_Frame *frame; /* only when not compiled */
	int compiled;
	int signal;
	int ra;             /* return address column */
	uint8_t cfa_reg;
	int64_t cfa_off;
	struct urule rules[NREG];
};

/* ---- frameless trampolines ----
 * CPython 3.12's perf trampoline (-X perf, Python/asm_trampoline.S) is JIT code without
 * CFI that keeps no frame pointer: `sub $8,%rsp; call *%rcx; add $8,%rsp; ret`. A return
 * address right after such a call is recognised by the code around it (read from the
 * process once per address) and stepped over: CFA = rsp + 16, every other register
 * unchanged. */
#define TRAMP_CACHE 4096
struct ks_tramp {
	uint64_t pc;
	int32_t pid;
	int8_t is; /* 1 trampoline, 0 not, -1 empty */
};

static const unsigned char tramp_code[11] = { 0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0x48, 0x83, 0xc4, 0x08, 0xc3 };
#define TRAMP_RET_OFF 6 /* the return address is after the call */

static int is_trampoline(struct ks_session *s, struct ks_proc *pr, uint64_t pc)
{
	if (!s->tramp) {
		s->tramp = xmalloc(TRAMP_CACHE * sizeof(*s->tramp));
		for (int i = 0; i < TRAMP_CACHE; i++)
			s->tramp[i].is = -1;
	}
	struct ks_tramp *t = &s->tramp[ks_hash_u64(pc ^ (uint64_t)pr->pid) & (TRAMP_CACHE - 1)];
	if (t->is >= 0 && t->pc == pc && t->pid == pr->pid)
		return t->is;
	/* the code itself while the process lives; its perf map entry (11 bytes, "py::")
	 * when it is gone (samples are often unwound after the target exited) */
	unsigned char code[sizeof(tramp_code)];
	struct iovec local = { code, sizeof(code) };
	struct iovec remote = { (void *)(uintptr_t)(pc - TRAMP_RET_OFF), sizeof(code) };
	int is;
	if (pc > TRAMP_RET_OFF && process_vm_readv(pr->pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(code)) {
		is = !memcmp(code, tramp_code, sizeof(code));
	} else {
		struct ks_jit_sym *js = ks_jit_lookup(s, pr, pc);
		is = js && js->end - js->start == sizeof(tramp_code) && pc - js->start == TRAMP_RET_OFF &&
		     !strncmp(js->name, "py::", 4);
	}
	t->pc = pc;
	t->pid = pr->pid;
	t->is = (int8_t)is;
	return is;
}

void ks_unwind_free(struct ks_session *s)
{
	free(s->tramp);
	s->tramp = NULL;
	for (uint32_t i = 0; i < s->urows_size; i++) {
		struct ks_urow *r = s->urows[i];
		while (r) {
			struct ks_urow *n = r->next;
			free(r->frame);
			free(r);
			r = n;
		}
	}
	free(s->urows);
	s->urows = NULL;
	s->urows_size = s->urows_nr = 0;
}

static uint32_t urow_slot(const struct ks_module *m, uint64_t pc, uint32_t size)
{
	return (uint32_t)ks_hash_u64((uint64_t)(uintptr_t)m * 0x9e3779b97f4a7c15ull ^ pc) &
	       (size - 1);
}

static void urows_grow(struct ks_session *s)
{
	uint32_t size = s->urows_size ? s->urows_size * 2 : 1024;
	struct ks_urow **h = xcalloc(size, sizeof(*h));
	for (uint32_t i = 0; i < s->urows_size; i++) {
		struct ks_urow *r = s->urows[i];
		while (r) {
			struct ks_urow *n = r->next;
			uint32_t j = urow_slot(r->mod, r->pc, size);
			r->next = h[j];
			h[j] = r;
			r = n;
		}
	}
	free(s->urows);
	s->urows = h;
	s->urows_size = size;
}

/* Compiles the rules of fr into r; -1 when one of them needs the interpreter. */
static int compile_row(Dwarf_Frame *fr, struct ks_urow *r)
{
	Dwarf_Op *ops;
	size_t nops;
	bool sig = false;
	r->ra = dwarf_frame_info(fr, NULL, NULL, &sig);
	r->signal = sig;
	if (r->ra < 0 || r->ra >= NREG)
		return -1;
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops != 1)
		return -1;
	if (ops[0].atom == DW_OP_bregx && ops[0].number < NREG) {
		r->cfa_reg = (uint8_t)ops[0].number;
		r->cfa_off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom < DW_OP_breg0 + NREG) {
		r->cfa_reg = (uint8_t)(ops[0].atom - DW_OP_breg0);
		r->cfa_off = (int64_t)ops[0].number;
	} else {
		return -1;
	}
	for (int regno = 0; regno < NREG; regno++) {
		Dwarf_Op mem[3];
		struct urule *u = &r->rules[regno];
		if (dwarf_frame_register(fr, regno, mem, &ops, &nops) != 0) {
			u->kind = RULE_UNDEF;
			continue;
		}
		if (nops == 0) { /* a null ops means same_value; ops == mem means undefined */
			u->kind = ops ? RULE_UNDEF : RULE_SAME;
			continue;
		}
		int value = ops[nops - 1].atom == DW_OP_stack_value;
		size_t n = nops - (size_t)value;
		if (n >= 1 && n <= 2 && ops[0].atom == DW_OP_call_frame_cfa) {
			int64_t off = 0;
			if (n == 2) {
				if (ops[1].atom != DW_OP_plus_uconst)
					return -1;
				off = (int64_t)ops[1].number;
			}
			u->kind = value ? RULE_VAL_CFA : RULE_AT_CFA;
			u->off = off;
		} else if (n == 1 && value && ops[0].atom == DW_OP_bregx && ops[0].number < NREG &&
			   ops[0].number2 == 0) {
			u->kind = RULE_REG;
			u->reg = (uint8_t)ops[0].number;
		} else {
			return -1;
		}
	}
	return 0;
}

/* The CFI row of module m at ELF address pc (cached); NULL when no CFI covers it. */
static struct ks_urow *cfi_row(struct ks_session *s, struct ks_module *m, uint64_t pc)
{
	if (s->urows_size) {
		for (struct ks_urow *r = s->urows[urow_slot(m, pc, s->urows_size)]; r; r = r->next)
			if (r->mod == m && r->pc == pc)
				return r;
	}
	if (!m->cfi_state) {
		m->cfi_state = 1;
		m->eh_cfi = dwfl_module_eh_cfi(m->dmod, &m->eh_bias);
	}
	/* .eh_frame first (always in the loaded file), then .debug_frame (often only in
	 * the debug file). The rules are register-relative: the bias only places pc. */
	Dwarf_Frame *fr = NULL;
	if (!m->eh_cfi || dwarf_cfi_addrframe(m->eh_cfi, pc - m->eh_bias, &fr) != 0) {
		fr = NULL;
		if (!m->dw_cfi_tried) {
			m->dw_cfi_tried = 1;
			m->dw_cfi = dwfl_module_dwarf_cfi(m->dmod, &m->dw_bias);
		}
		if (!m->dw_cfi || dwarf_cfi_addrframe(m->dw_cfi, pc - m->dw_bias, &fr) != 0)
			fr = NULL;
	}
	if ((s->urows_nr + 1) > s->urows_size)
		urows_grow(s);
	struct ks_urow *r = xcalloc(1, sizeof(*r));
	r->mod = m;
	r->pc = pc;
	r->has_cfi = fr != NULL;
	r->frame = fr;
	if (fr && !s->unwind_interpret && compile_row(fr, r) == 0) {
		free(fr);
		r->frame = NULL;
		r->compiled = 1;
	}
	uint32_t j = urow_slot(m, pc, s->urows_size);
	r->next = s->urows[j];
	s->urows[j] = r;
	s->urows_nr++;
	return r;
}

/* ---- memory ---- */
static int mem_read(struct umem *mm, uint64_t addr, void *buf, size_t n)
{
	if (addr >= mm->sp && addr - mm->sp <= mm->len && mm->len - (addr - mm->sp) >= n) {
		memcpy(buf, mm->stack + (addr - mm->sp), n);
		return 0;
	}
	/* read-only file-backed memory (constants, code) can be read from the file */
	struct ks_map *map = mm->pr ? ks_proc_find(mm->pr, addr) : NULL;
	if (map && map->mod && !(map->prot & PROT_WRITE) && addr + n <= map->end) {
		uint64_t va;
		if (ks_map_vaddr(mm->s, map, addr, &va) == 0 &&
		    ks_module_read(map->mod, va, buf, n) == 0)
			return 0;
	}
	if (addr >= mm->sp - 65536 && addr < mm->sp + mm->len + 65536)
		mm->out_of_stack = 1;
	return -1;
}

static int mem_read8(struct umem *mm, uint64_t addr, uint64_t *v)
{
	return mem_read(mm, addr, v, 8);
}

/* ---- DWARF expressions (the subset CFI uses) ---- */
#define ESTACK 64

static int find_op(const Dwarf_Op *ops, size_t nops, Dwarf_Word offset, size_t *idx)
{
	for (size_t j = 0; j < nops; j++)
		if (ops[j].offset == offset) {
			*idx = j;
			return 0;
		}
	if (nops && offset > ops[nops - 1].offset) { /* a jump to the end */
		*idx = nops;
		return 0;
	}
	return -1;
}

static int eval(struct umem *mm, const struct ustate *st, const uint64_t *cfa,
		const Dwarf_Op *ops, size_t nops, uint64_t *result, int *is_value)
{
	uint64_t stk[ESTACK];
	int sp = 0;
	int steps = 0;
	*is_value = 0;
#define NEED(k) do { if (sp < (k)) return -1; } while (0)
#define PUSH(v) do { uint64_t pv_ = (v); if (sp >= ESTACK) return -1; stk[sp] = pv_; sp++; } while (0)
	for (size_t i = 0; i < nops; i++) {
		if (++steps > 1000)
			return -1;
		const Dwarf_Op *op = &ops[i];
		uint8_t a = op->atom;
		uint64_t x, y;
		if (a >= DW_OP_lit0 && a <= DW_OP_lit31) {
			PUSH((uint64_t)(a - DW_OP_lit0));
			continue;
		}
		if (a >= DW_OP_breg0 && a <= DW_OP_breg31) {
			unsigned r = a - DW_OP_breg0;
			if (r >= NREG || !(st->valid & (1u << r)))
				return -1;
			PUSH(st->r[r] + op->number);
			continue;
		}
		switch (a) {
		case DW_OP_addr:
		case DW_OP_const1u: case DW_OP_const1s:
		case DW_OP_const2u: case DW_OP_const2s:
		case DW_OP_const4u: case DW_OP_const4s:
		case DW_OP_const8u: case DW_OP_const8s:
		case DW_OP_constu: case DW_OP_consts:
			PUSH(op->number);
			break;
		case DW_OP_bregx:
			if (op->number >= NREG || !(st->valid & (1u << op->number)))
				return -1;
			PUSH(st->r[op->number] + op->number2);
			break;
		case DW_OP_dup: NEED(1); PUSH(stk[sp - 1]); break;
		case DW_OP_drop: NEED(1); sp--; break;
		case DW_OP_over: NEED(2); PUSH(stk[sp - 2]); break;
		case DW_OP_pick:
			if (op->number >= (Dwarf_Word)sp)
				return -1;
			PUSH(stk[sp - 1 - (int)op->number]);
			break;
		case DW_OP_swap: NEED(2); x = stk[sp - 1]; stk[sp - 1] = stk[sp - 2]; stk[sp - 2] = x; break;
		case DW_OP_rot:
			NEED(3);
			x = stk[sp - 1];
			stk[sp - 1] = stk[sp - 2];
			stk[sp - 2] = stk[sp - 3];
			stk[sp - 3] = x;
			break;
		case DW_OP_deref:
			NEED(1);
			if (mem_read8(mm, stk[sp - 1], &x) != 0)
				return -1;
			stk[sp - 1] = x;
			break;
		case DW_OP_deref_size: {
			NEED(1);
			size_t n = (size_t)op->number;
			if (n == 0 || n > 8)
				return -1;
			x = 0;
			if (mem_read(mm, stk[sp - 1], &x, n) != 0) /* little-endian */
				return -1;
			stk[sp - 1] = x;
			break;
		}
		case DW_OP_abs: NEED(1); if ((int64_t)stk[sp - 1] < 0) stk[sp - 1] = -stk[sp - 1]; break;
		case DW_OP_neg: NEED(1); stk[sp - 1] = -stk[sp - 1]; break;
		case DW_OP_not: NEED(1); stk[sp - 1] = ~stk[sp - 1]; break;
		case DW_OP_plus_uconst: NEED(1); stk[sp - 1] += op->number; break;
		case DW_OP_and: case DW_OP_or: case DW_OP_xor: case DW_OP_plus: case DW_OP_minus:
		case DW_OP_mul: case DW_OP_div: case DW_OP_mod: case DW_OP_shl: case DW_OP_shr:
		case DW_OP_shra: case DW_OP_eq: case DW_OP_ne: case DW_OP_lt: case DW_OP_le:
		case DW_OP_gt: case DW_OP_ge:
			NEED(2);
			y = stk[--sp];
			x = stk[sp - 1];
			switch (a) {
			case DW_OP_and: x &= y; break;
			case DW_OP_or: x |= y; break;
			case DW_OP_xor: x ^= y; break;
			case DW_OP_plus: x += y; break;
			case DW_OP_minus: x -= y; break;
			case DW_OP_mul: x *= y; break;
			case DW_OP_div:
				if (!y || ((int64_t)x == INT64_MIN && (int64_t)y == -1))
					return -1;
				x = (uint64_t)((int64_t)x / (int64_t)y);
				break;
			case DW_OP_mod: if (!y) return -1; x %= y; break;
			case DW_OP_shl: x = y >= 64 ? 0 : x << y; break;
			case DW_OP_shr: x = y >= 64 ? 0 : x >> y; break;
			case DW_OP_shra:
				x = (uint64_t)((int64_t)x >> (y >= 63 ? 63 : y));
				break;
			case DW_OP_eq: x = x == y; break;
			case DW_OP_ne: x = x != y; break;
			case DW_OP_lt: x = (int64_t)x < (int64_t)y; break;
			case DW_OP_le: x = (int64_t)x <= (int64_t)y; break;
			case DW_OP_gt: x = (int64_t)x > (int64_t)y; break;
			case DW_OP_ge: x = (int64_t)x >= (int64_t)y; break;
			}
			stk[sp - 1] = x;
			break;
		case DW_OP_skip:
		case DW_OP_bra: {
			if (a == DW_OP_bra) {
				NEED(1);
				if (stk[--sp] == 0)
					break;
			}
			/* the operand is relative to the end of this 3-byte operation */
			Dwarf_Word target = op->offset + 3 + (Dwarf_Word)(int16_t)op->number;
			size_t j;
			if (find_op(ops, nops, target, &j) != 0)
				return -1;
			i = j - 1; /* the loop's i++ lands on j */
			break;
		}
		case DW_OP_call_frame_cfa:
			if (!cfa)
				return -1;
			PUSH(*cfa);
			break;
		case DW_OP_stack_value:
			*is_value = 1;
			break;
		case DW_OP_nop:
			break;
		default:
			return -1;
		}
	}
	NEED(1);
	*result = stk[sp - 1];
	return 0;
#undef NEED
#undef PUSH
}

/* ---- one step ---- */
enum { STEP_OK = 0, STEP_END = 1, STEP_FAIL = -1 };

/* Computes the caller's registers from cur with the CFI row fr. */
static int step_cfi(struct umem *mm, Dwarf_Frame *fr, const struct ustate *cur,
		    struct ustate *caller, int *signal)
{
	Dwarf_Op *ops;
	size_t nops;
	uint64_t cfa;
	int isv;
	bool sig = false;
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops == 0)
		return STEP_FAIL;
	if (eval(mm, cur, NULL, ops, nops, &cfa, &isv) != 0)
		return STEP_FAIL;
	int ra = dwarf_frame_info(fr, NULL, NULL, &sig);
	*signal = sig;
	if (ra < 0 || ra >= NREG)
		return STEP_FAIL;
	caller->valid = 0;
	int ra_defined = 0;
	for (int regno = 0; regno < NREG; regno++) {
		Dwarf_Op mem[3];
		if (dwarf_frame_register(fr, regno, mem, &ops, &nops) != 0)
			continue;
		if (nops == 0) {
			/* libdw: a null ops means same_value; ops == mem means undefined */
			if (!ops && (cur->valid & (1u << regno))) {
				caller->r[regno] = cur->r[regno];
				caller->valid |= 1u << regno;
				if (regno == ra)
					ra_defined = 1;
			}
			continue;
		}
		uint64_t v;
		if (eval(mm, cur, &cfa, ops, nops, &v, &isv) != 0) {
			if (regno == ra)
				return STEP_FAIL;
			continue;
		}
		if (!isv && mem_read8(mm, v, &v) != 0) {
			if (regno == ra)
				return STEP_FAIL;
			continue;
		}
		caller->r[regno] = v;
		caller->valid |= 1u << regno;
		if (regno == ra)
			ra_defined = 1;
	}
	if (!ra_defined)
		return STEP_END; /* the return address is undefined: the outermost frame */
	if (ra != REG_RA)
		caller->r[REG_RA] = caller->r[ra];
	caller->valid |= 1u << REG_RA;
	if (!(caller->valid & (1u << REG_SP))) {
		caller->r[REG_SP] = cfa; /* the x86_64 ABI: the caller's rsp is the CFA */
		caller->valid |= 1u << REG_SP;
	}
	return STEP_OK;
}

/* step_cfi for a compiled row. */
static int step_compiled(struct umem *mm, const struct ks_urow *row, const struct ustate *cur,
			 struct ustate *caller, int *signal)
{
	*signal = row->signal;
	if (!(cur->valid & (1u << row->cfa_reg)))
		return STEP_FAIL;
	uint64_t cfa = cur->r[row->cfa_reg] + (uint64_t)row->cfa_off;
	caller->valid = 0;
	for (int regno = 0; regno < NREG; regno++) {
		const struct urule *u = &row->rules[regno];
		uint64_t v;
		switch (u->kind) {
		case RULE_SAME:
			if (!(cur->valid & (1u << regno)))
				continue;
			v = cur->r[regno];
			break;
		case RULE_AT_CFA:
			if (mem_read8(mm, cfa + (uint64_t)u->off, &v) != 0) {
				if (regno == row->ra)
					return STEP_FAIL;
				continue;
			}
			break;
		case RULE_VAL_CFA:
			v = cfa + (uint64_t)u->off;
			break;
		case RULE_REG:
			if (!(cur->valid & (1u << u->reg)))
				continue;
			v = cur->r[u->reg];
			break;
		default:
			continue;
		}
		caller->r[regno] = v;
		caller->valid |= 1u << regno;
	}
	if (!(caller->valid & (1u << row->ra))) /* undefined: the outermost frame */
		return row->rules[row->ra].kind == RULE_UNDEF ? STEP_END : STEP_FAIL;
	if (row->ra != REG_RA)
		caller->r[REG_RA] = caller->r[row->ra];
	caller->valid |= 1u << REG_RA;
	if (!(caller->valid & (1u << REG_SP))) {
		caller->r[REG_SP] = cfa;
		caller->valid |= 1u << REG_SP;
	}
	return STEP_OK;
}

static int step_row(struct umem *mm, const struct ks_urow *row, const struct ustate *cur,
		    struct ustate *caller, int *signal)
{
	if (row->compiled)
		return step_compiled(mm, row, cur, caller, signal);
	return step_cfi(mm, row->frame, cur, caller, signal);
}

/* Frame-pointer step: [rbp] is the caller's rbp, [rbp+8] the return address. */
static int step_fp(struct umem *mm, const struct ustate *cur, struct ustate *caller)
{
	if (!(cur->valid & (1u << REG_BP)))
		return STEP_FAIL;
	uint64_t bp = cur->r[REG_BP], nbp, ret;
	if (bp == 0)
		return STEP_END;
	if ((cur->valid & (1u << REG_SP)) && bp < cur->r[REG_SP])
		return STEP_FAIL;
	if (bp & 7)
		return STEP_FAIL;
	if (mem_read8(mm, bp, &nbp) != 0 || mem_read8(mm, bp + 8, &ret) != 0)
		return STEP_FAIL;
	caller->valid = (1u << REG_BP) | (1u << REG_SP) | (1u << REG_RA);
	caller->r[REG_BP] = nbp;
	caller->r[REG_SP] = bp + 16;
	caller->r[REG_RA] = ret;
	/* callee-saved registers other than rbp are unknown after a frame-pointer step */
	return STEP_OK;
}

/* The module and ELF address of a pc in pr, opened; NULL when none. */
static struct ks_module *pc_module(struct ks_session *s, struct ks_proc *pr, uint64_t pc,
				   uint64_t *va)
{
	struct ks_map *map = pr ? ks_proc_find(pr, pc) : NULL;
	if (!map || ks_map_vaddr(s, map, pc, va) != 0)
		return NULL;
	return map->mod;
}

/* One step from cur; exact says pc is the exact instruction (first frame, or a frame
 * interrupted by a signal) rather than a return address. */
static int step(struct umem *mm, const struct ustate *cur, int exact, struct ustate *caller,
		int *signal, int *used_cfi)
{
	uint64_t pc = cur->r[REG_RA];
	uint64_t lookup = exact ? pc : pc - 1, va;
	*signal = 0;
	*used_cfi = 0;
	struct ks_module *m = pc_module(mm->s, mm->pr, lookup, &va);
	if (m) {
		struct ks_urow *row = cfi_row(mm->s, m, va);
		if (row->has_cfi) {
			*used_cfi = 1;
			return step_row(mm, row, cur, caller, signal);
		}
	} else if (!exact && mm->pr && (cur->valid & (1u << REG_SP)) && is_trampoline(mm->s, mm->pr, pc)) {
		uint64_t ra;
		if (mem_read8(mm, cur->r[REG_SP] + 8, &ra) != 0)
			return STEP_FAIL;
		*caller = *cur;
		caller->r[REG_SP] = cur->r[REG_SP] + 16;
		caller->r[REG_RA] = ra;
		return STEP_OK;
	}
	return step_fp(mm, cur, caller);
}

static int init_state(const struct ks_regs *regs, struct ustate *st)
{
	memset(st, 0, sizeof(*st));
	for (int d = 0; d < NREG; d++) {
		int p = dwarf_to_perf[d];
		if (regs->mask & (1ull << p)) {
			st->r[d] = regs->regs[p];
			st->valid |= 1u << d;
		}
	}
	const uint32_t need = (1u << REG_SP) | (1u << REG_RA);
	return (st->valid & need) == need ? 0 : -1;
}

int ks_unwind_leaf(struct ks_session *s, int pid, const struct ks_regs *regs,
		   const void *stack, size_t stack_len, uint64_t *ret_addr)
{
	struct ustate cur, caller;
	if (init_state(regs, &cur) != 0)
		return -1;
	struct umem mm = { .s = s, .pr = ks_proc_get(s, pid, 0), .sp = cur.r[REG_SP],
			   .stack = stack, .len = stack ? stack_len : 0 };
	uint64_t va;
	struct ks_module *m = pc_module(s, mm.pr, cur.r[REG_RA], &va);
	if (!m)
		return -1;
	struct ks_urow *row = cfi_row(s, m, va);
	int sig;
	if (!row->has_cfi || step_row(&mm, row, &cur, &caller, &sig) != STEP_OK)
		return -1;
	*ret_addr = caller.r[REG_RA];
	return 0;
}

int ks_unwind(struct ks_session *s, int pid, const struct ks_regs *regs, const void *stack,
	      size_t stack_len, uint64_t *ips, int max, int *complete)
{
	struct ustate cur, caller;
	*complete = 0;
	if (max < 1 || init_state(regs, &cur) != 0)
		return 0;
	struct umem mm = { .s = s, .pr = ks_proc_get(s, pid, 0), .sp = cur.r[REG_SP],
			   .stack = stack, .len = stack ? stack_len : 0 };
	int n = 0;
	ips[n++] = cur.r[REG_RA];
	int exact = 1;
	while (n < max) {
		int sig, cfi;
		int r = step(&mm, &cur, exact, &caller, &sig, &cfi);
		if (r == STEP_END) {
			*complete = 1;
			break;
		}
		if (r != STEP_OK)
			break;
		uint64_t pc = caller.r[REG_RA];
		if (pc == 0) { /* a null return address ends the chain (thread start) */
			*complete = 1;
			break;
		}
		/* the stack grows down: a caller's frame lies above its callee's, except
		 * across a signal frame (the handler may run on an alternate stack) */
		if (!sig && caller.r[REG_SP] <= cur.r[REG_SP])
			break;
		ips[n++] = pc;
		cur = caller;
		exact = sig;
	}
	return n;
}
