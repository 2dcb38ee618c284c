/* annotate.h: `kiln annotate FUNC`: one function's samples per source line and per
 * instruction address.
 *
 * A function is a (name, module) pair, as in the report table (report/callers.h finds it).
 * For every sample with the function on its stack: self goes to the file:line (and address)
 * of the leaf frame when the leaf is the function; total goes to the file:line (and address)
 * of each of the function's frames on the stack, counted once per line (and address) per
 * sample even when it recurses. Inlined functions are functions of their own with their own
 * frames, so their code counts on their own lines; in the function they are inlined into,
 * it counts (total) on the line of the call. Sums over lines of self equal the function's
 * self in `kiln report`; total per line is at most its total there. */
#ifndef KILN_REPORT_ANNOTATE_H
#define KILN_REPORT_ANNOTATE_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>

struct ka_line {
	kp_str_t file;  /* 0 when the frame had no file */
	uint32_t line;  /* 0: no line data */
	double self, total;
};

struct ka_insn {
	uint64_t addr;  /* module address (ELF virtual address) */
	kp_str_t file;
	uint32_t line;
	double self, total;
};

struct ka_result {
	kp_str_t name, module;
	kp_str_t file;           /* the file most of the function's total is in (0: none) */
	double self, total;      /* the function's */
	double grand_total;      /* all samples' value */
	struct ka_line *lines;   /* by file (the main file first), then line */
	uint32_t nlines;
	struct ka_insn *insns;   /* by address; only frames that carry an address */
	uint32_t ninsns;
	double noline_total;     /* total of samples whose frames of the function have no line */
	double noaddr_total;     /* ... no address */
};

/* Builds the annotation of (name, module) for value v over all samples. */
void ka_build(const struct kp_profile *p, uint32_t v, kp_str_t name, kp_str_t module, struct ka_result *out);
void ka_release(struct ka_result *r);

/* What the profile's meta recorded about path (keys source_files / module_files, see
 * record.c): returns 1 and fills hash/mtime and size when the file is listed, else 0. */
int ka_recorded_source(const struct kp_profile *p, const char *path, uint64_t *hash, uint64_t *size);
int ka_recorded_module(const struct kp_profile *p, const char *path, uint64_t *mtime_ns, uint64_t *size);
/* The recorded GNU build-id (hex) of module path (key module_build_ids) into out; 1 when
 * listed, else 0. */
int ka_recorded_build_id(const struct kp_profile *p, const char *path, char *out, size_t outsz);

#endif

/* One disassembled instruction of objdump -d output. */
struct ka_asm {
	uint64_t addr;
	char *text;     /* "mov %rax,%rdx" (objdump's AT&T syntax, symbols demangled) */
	char *file;     /* its source file:line (ka_asm_lines), NULL if none */
	uint32_t line;
	int in_func;    /* ka_asm_lines: the symbolizer names the function annotated here */
};

/* Disassembles [lo, hi) of the ELF file module with `objdump -d -C`. Returns the number
 * of instructions (*out, caller frees with ka_asm_free), or -1 with err set to one line
 * when objdump cannot run or gives nothing. */
struct strbuf;
long ka_disasm(const char *module, uint64_t lo, uint64_t hi, struct ka_asm **out, struct strbuf *err);
void ka_asm_free(struct ka_asm *a, long n);

/* Gives each of a[0..n) (sorted by address) the file:line (in place of objdump -l) that
 * kiln's symbolizer gives (as kiln record did for the sampled addresses): the position in
 * the frame of function func (inlined code on the line of its call), else in the real
 * function. objdump 2.40 misnumbers the files of DWARF 5 line tables (gcc 12's default):
 * code from an included file was shown under the including file's name. Sets in_func. */
void ka_asm_lines(const char *module, const char *func, struct ka_asm *a, long n);

/* The bounds [*lo, *hi) of the function symbol (.symtab, else .dynsym) of the ELF file
 * module that holds vaddr; returns 0, or -1 when the file has none. */
int ka_func_bounds(const char *module, uint64_t vaddr, uint64_t *lo, uint64_t *hi);
