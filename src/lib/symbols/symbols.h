/* symbols.h: addresses to frames, and stack unwinding, for every collector.
 *
 * A ks_session holds the address spaces (memory maps) of every process one recording
 * saw, the modules (ELF files) they map, and caches. Collectors feed it map events
 * (from perf_event_open's MMAP2/FORK/COMM records, from /proc/PID/maps, or from the heap
 * preload library's module list) and ask it to resolve addresses into profile frames.
 *
 * Symbols come from ELF .symtab/.dynsym, separate debug files found by build-id under
 * /usr/lib/debug/.build-id, MiniDebugInfo (.gnu_debugdata), DWARF for inlined functions
 * and file:line (elfutils libdw/libdwfl), /proc/kallsyms for the kernel, the [vdso], and
 * /tmp/perf-PID.map for JIT code. C++ and Rust names are demangled (libiberty).
 * An address that cannot be named becomes "[module basename]" (with the module known)
 * or "[unknown]", flagged KP_FRAME_UNKNOWN, as FlameGraph does.
 *
 * All strings returned live until ks_session_free(). Not thread-safe: one thread uses
 * a session at a time. */
#ifndef KILN_SYMBOLS_SYMBOLS_H
#define KILN_SYMBOLS_SYMBOLS_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>

struct ks_session;

struct ks_options {
	int no_inline;    /* do not expand inlined functions into their own frames */
	int no_lines;     /* do not look up file:line */
	int no_demangle;  /* keep mangled names */
	int no_kernel;    /* kernel addresses resolve to "[kernel.kallsyms]" without a symbol */
};

struct ks_session *ks_session_new(const struct ks_options *opts);
void ks_session_free(struct ks_session *s);
/* Where perf-PID.map files are looked for (default "/tmp"; for tests). */
void ks_session_set_jit_dir(struct ks_session *s, const char *dir);
/* Where separate debug files are looked for, in libdwfl's debuginfo_path syntax
 * (default ":.debug:/usr/lib/debug"); call before the first resolve. */
void ks_session_set_debug_path(struct ks_session *s, const char *path);
/* Reads the kernel's symbols now rather than at the first kernel address (a recorder
 * calls it before its target starts, so the first samples are not held up by it).
 * Nothing with opts.no_kernel or when kallsyms cannot be read. */
void ks_session_preload_kernel(struct ks_session *s);

/* ---- address-space events ---- */

/* Adds a file mapping of process pid: [start, start+len) maps path at file offset pgoff.
 * build_id may be NULL. prot uses PROT_* (only executable mappings matter for symbols,
 * but pass all: the unwinder reads data too). A mapping replaces what it overlaps. */
void ks_mmap(struct ks_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
	     const char *path, const unsigned char *build_id, size_t build_id_len, int prot);
/* Adds an ELF file loaded with load bias `bias` (module address = address - bias), for
 * collectors that know modules as dl_iterate_phdr() gives them (dlpi_addr) rather than
 * as file mappings: [start, start+len) is the part of the address space it covers
 * (e.g. from its lowest to its highest PT_LOAD). Otherwise like ks_mmap. */
void ks_mmap_elf(struct ks_session *s, int pid, uint64_t start, uint64_t len, uint64_t bias,
		 const char *path, const unsigned char *build_id, size_t build_id_len, int prot);
/* Reads /proc/PID/maps into the session (for attaching to running processes, and for a
 * process's state at the start). Returns 0, or -1 when the process is gone (nothing printed). */
int ks_load_proc_maps(struct ks_session *s, int pid);
/* pid is a fork of ppid: it starts with a copy of ppid's maps. */
void ks_fork(struct ks_session *s, int ppid, int pid);
/* pid called exec: its maps so far are dropped (new ones follow). */
void ks_exec(struct ks_session *s, int pid);
/* pid ended: its maps are dropped and their memory freed. */
void ks_exit(struct ks_session *s, int pid);
/* 1 when addr lies in a mapping of pid the session knows. */
int ks_addr_mapped(struct ks_session *s, int pid, uint64_t addr);

/* ---- resolving ---- */

/* Resolves addr (a user address of pid, or a kernel address when kernel is set) into
 * profile frames interned in p: with inlining, the innermost inlined function first and
 * the real (outer) function last. Writes at most max ids to out and returns how many
 * (always >= 1). Frames carry name, module (path), file and line of addr where DWARF has
 * them, and flags (KP_FRAME_KERNEL, KP_FRAME_INLINE for all but the last, KP_FRAME_JIT,
 * KP_FRAME_UNKNOWN); addr is the module-relative address for unknown frames, else 0.
 * Results are cached per (module, address), so repeated addresses are cheap.
 * For return addresses (every frame but a sample's first), pass addr - 1 so that the
 * call instruction, not the next one, is looked up.
 * Details: pid is the process id (threads share its maps). When max is smaller than the
 * expansion, the innermost inlined frames are dropped (the real function stays). The
 * addr of an unknown frame is the ELF virtual address in its module (the file offset
 * when the file could not be read; the raw address when no mapping covers it). With
 * no_kernel, all kernel addresses give one frame "[kernel.kallsyms]" with addr 0.
 * Frame ids are cached for the profile last passed; passing another profile works (its
 * ids are interned on demand) but alternating profiles costs re-interning. */
int ks_resolve(struct ks_session *s, struct kp_profile *p, int pid, uint64_t addr, int kernel,
	       kp_frame_t *out, int max);

/* The profile last passed to ks_resolve was emptied and started again (kp_profile_release
 * and kp_profile_init at the same address): the frame ids cached for it no longer hold. */
void ks_session_forget_profile(struct ks_session *s);
/* How big the session has grown: modules known and addresses resolved (cache entries). */
void ks_session_size(const struct ks_session *s, size_t *modules, size_t *cached);

/* ---- unwinding (x86_64) ----
 * Registers use perf_event_open's order (asm/perf_regs.h: PERF_REG_X86_AX ...
 * PERF_REG_X86_R15), with mask telling which are present, as PERF_SAMPLE_REGS_USER
 * gives them. The stack copy starts at regs[PERF_REG_X86_SP] (PERF_SAMPLE_STACK_USER). */
struct ks_regs {
	uint64_t regs[24];
	uint64_t mask;
};

/* The return address of the innermost user frame, from the CFI (.eh_frame/.debug_frame)
 * of the function containing the sampled ip. Frame-pointer call chains lose the caller
 * when the sample lands in a function that sets up no frame, or in a prologue or
 * epilogue; the collector compares this address with the chain's second entry and
 * inserts it when they differ. Returns 0 with *ret_addr set, or -1 when there is no CFI
 * for ip or the stack copy is too short. */
int ks_unwind_leaf(struct ks_session *s, int pid, const struct ks_regs *regs,
		   const void *stack, size_t stack_len, uint64_t *ret_addr);

/* Unwinds a whole user stack with DWARF CFI (for code built without frame pointers),
 * falling back to frame pointers where a module has no CFI. Writes up to max addresses,
 * innermost first (ips[0] = the sampled ip; later entries are return addresses as they
 * are, not minus 1). *complete is set to 1 when the walk reached the outermost frame
 * (a frame with an undefined return address, such as _start, or a null frame),
 * 0 when it stopped early (stack copy exhausted, no CFI, bad memory). Returns the count.
 * Frames without CFI (JIT code, unreadable modules) are walked with frame pointers.
 * Signal frames are followed (the entry after a signal trampoline is the interrupted pc,
 * exact; subtracting 1 from it still names the right function in practice). */
int ks_unwind(struct ks_session *s, int pid, const struct ks_regs *regs, const void *stack,
	      size_t stack_len, uint64_t *ips, int max, int *complete);

/* ---- packages ---- */
struct strbuf;
/* Which Debian packages ship the files paths[0..n) (absolute): appends "PKG PATH\n" to
 * out for each one found in the dpkg file list of a package named like the file's
 * basename (up to its first '.'; see sym_pkg.c). Returns how many were found. */
int ks_dpkg_packages(const char *const *paths, size_t n, struct strbuf *out);

#endif
