/* sym_internal.h: data structures shared by the files of the symbols library
 * (session and address spaces, modules, kernel symbols, JIT maps, unwinding).
 * Not part of the public API: collectors include symbols/symbols.h only. */
#ifndef KILN_SYMBOLS_SYM_INTERNAL_H
#define KILN_SYMBOLS_SYM_INTERNAL_H
#include "symbols/symbols.h"
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KS_MAX_BUILD_ID 64
/* Most frames one address can expand to (inlining depth + the real function). */
#define KS_MAX_INLINE 64

/* ---- interned strings owned by the session ---- */
struct ks_chunk;
struct ks_strpool {
	const char **slots; /* open addressing */
	uint32_t size, nr;
	struct ks_chunk *chunks;
};
const char *ks_intern(struct ks_strpool *sp, const char *str, size_t len);
static inline const char *ks_internz(struct ks_strpool *sp, const char *str)
{
	return ks_intern(sp, str, __builtin_strlen(str));
}
void ks_strpool_release(struct ks_strpool *sp);

/* ---- one symbolized frame before it is interned into a profile ---- */
struct ks_sframe {
	const char *name;   /* interned in the session pool */
	const char *module; /* interned; NULL for none */
	const char *file;   /* interned; NULL for none */
	uint32_t line;
	uint32_t flags;
	uint64_t addr;
};

/* ---- ELF symbols of a module, sorted by address ---- */
struct ks_sym {
	uint64_t addr;
	uint64_t end;       /* exclusive; for size-0 symbols, the next symbol's address */
	const char *name;   /* raw (mangled) name: in the module's symbol table, or interned */
	const char *dname;  /* demangled name, computed on first use */
	int unsized;        /* size 0 in the symbol table: end is where the next begins */
};

enum ks_module_state { KS_MOD_NEW = 0, KS_MOD_OPEN = 1, KS_MOD_FAILED = -1 };
enum ks_module_kind { KS_MOD_FILE = 0, KS_MOD_VDSO = 1 };

/* A module: one ELF file (path + build-id), shared by every process that maps it and
 * opened lazily, the first time an address in it is resolved or unwound. */
struct ks_module {
	struct ks_module *next_hash;
	const char *path;       /* interned */
	const char *unknown_name; /* "[basename]", interned */
	unsigned char build_id[KS_MAX_BUILD_ID];
	size_t build_id_len;    /* expected build-id (0: none given) */
	int kind;
	int state;
	int pid_hint;           /* a process that maps it, to try /proc/PID/root/path */

	Dwfl *dwfl;             /* one Dwfl per module: addresses are ELF virtual addresses */
	Dwfl_Module *dmod;
	Elf *elf;               /* main ELF (owned by dwfl) */
	GElf_Phdr *loads;       /* PT_LOAD headers, for file offset -> virtual address */
	size_t nloads;
	int from_debug;         /* opened from its debug file: no code or data contents */

	struct ks_sym *syms;
	size_t nsyms;
	int syms_state;         /* 0 not loaded, 1 loaded */

	int dwarf_state;        /* 0 not tried, 1 has DWARF, -1 none */
	struct ks_cuidx **cuidx; /* per-CU scope indexes, open addressing on CU offset */
	uint32_t cuidx_size, cuidx_nr;
	int cfi_state;          /* 0 not tried, 1 tried */
	Dwarf_CFI *eh_cfi, *dw_cfi;
	Dwarf_Addr eh_bias, dw_bias;
	int dw_cfi_tried;
	/* .eh_frame_hdr's sorted table of FDE starts (sym_fde.c); points into the file */
	int fde_state;          /* 0 not read, 1 read (fde_n may be 0) */
	const unsigned char *fde_tab;
	size_t fde_n;
	uint64_t fde_hdr;       /* ELF address of .eh_frame_hdr: the table's base */
	/* code the unwind tables leave out (crt's start-up and exit functions, _init,
	 * _fini): the executable sections' ranges and the entry points the ELF itself
	 * names (e_entry, DT_INIT, DT_FINI, the init and fini arrays), sorted */
	int gap_state;          /* 0 not read, 1 read */
	uint64_t (*xsecs)[2];   /* [start, end) of each SHF_EXECINSTR section */
	size_t nxsecs;
	uint64_t *entries;
	size_t nentries;
};

struct ks_cuidx;

/* Opens a module (idempotent); returns 0 when its ELF could be read. */
int ks_module_open(struct ks_session *s, struct ks_module *m);
/* File offset -> ELF virtual address (the address space of the module's Dwfl). */
int ks_module_off_to_vaddr(const struct ks_module *m, uint64_t off, uint64_t *vaddr);
/* Reads len bytes at ELF virtual address vaddr from the file's contents. */
int ks_module_read(struct ks_module *m, uint64_t vaddr, void *buf, size_t len);
/* Symbolizes vaddr of an opened module into frames (innermost first); returns count. */
int ks_module_symbolize(struct ks_session *s, struct ks_module *m, uint64_t vaddr,
			struct ks_sframe *out, int max);
void ks_module_free(struct ks_module *m);
/* Function boundaries from the unwind tables (sym_fde.c), for addresses no symbol
 * covers: [*start, *end) is the FDE's range around vaddr; returns 0, or -1 when no FDE
 * covers it. ks_fde_name gives the frame name "BASENAME+0xSTART" (interned), or NULL. */
int ks_fde_bounds(struct ks_module *m, uint64_t vaddr, uint64_t *start, uint64_t *end);
const char *ks_fde_name(struct ks_session *s, struct ks_module *m, uint64_t vaddr);
/* 1 when a CU's DW_AT_producer says it was compiled without optimisation (GCC -O0). */
int ks_producer_unoptimized(const char *producer);
/* Demangles name when it looks mangled and the session allows; returns an interned string. */
const char *ks_demangle(struct ks_session *s, const char *name);

/* ---- address spaces ---- */
enum ks_map_kind { KS_MAP_FILE = 0, KS_MAP_ANON = 1, KS_MAP_VDSO = 2, KS_MAP_SPECIAL = 3 };

struct ks_map {
	uint64_t start, end, pgoff;
	struct ks_module *mod; /* NULL for anonymous and special mappings */
	const char *name;      /* interned path or pseudo-name ("[heap]", "//anon") */
	int prot;
	int kind;
	int by_bias;           /* ks_mmap_elf: module address = address - bias */
	uint64_t bias;
};

struct ks_jit_sym {
	uint64_t start, end;
	const char *name;
	uint32_t seq;
	uint32_t gen;
	kp_frame_t id;
};

struct ks_jit {
	const char *path;      /* interned "/tmp/perf-PID.map" */
	off_t read_size;       /* bytes consumed so far (complete lines) */
	uint64_t last_check_ns; /* when the file was last checked for growth */
	int missing;
	struct ks_jit_sym *syms;
	size_t nr, alloc;
	uint32_t seq;
};

struct ks_proc {
	int pid;
	int used;
	struct ks_map *maps; /* sorted by start, non-overlapping */
	size_t nr, alloc;
	size_t last;         /* index of the last map found */
	struct ks_jit *jit;
};

/* ---- kernel symbols ---- */
struct ks_ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* "[kernel.kallsyms]" or "[modname]" */
};

struct ks_kernel {
	int state; /* 0 not loaded, 1 loaded, -1 unavailable */
	struct ks_ksym *syms;
	size_t nr;
	uint64_t text_start, text_end;
	char *text;  /* the kallsyms text; symbol names point into it */
};
int ks_kernel_load(struct ks_session *s);
/* The same from a kallsyms-format file (tests); only the first load counts. */
int ks_kernel_load_file(struct ks_session *s, const char *path);
/* Fills one frame for a kernel address. */
void ks_kernel_symbolize(struct ks_session *s, uint64_t addr, struct ks_sframe *out);

/* ---- JIT maps ---- */
/* Finds addr in /tmp/perf-PID.map (loaded lazily, re-read when it grew); NULL if absent. */
struct ks_jit_sym *ks_jit_lookup(struct ks_session *s, struct ks_proc *pr, uint64_t addr);
void ks_jit_free(struct ks_jit *j);

/* ---- the resolve cache: (module, address) -> frames ---- */
struct ks_centry {
	const void *key;   /* module, or a per-session tag for kernel addresses */
	uint64_t addr;
	uint32_t first;    /* index into s->cframes */
	uint32_t n;
	uint32_t gen;      /* profile generation the ids belong to */
	uint32_t ids_first; /* index into s->cids */
};

#define KS_FAST_SIZE 8192
struct ks_fast {
	uint64_t addr;
	uint64_t epoch;  /* 0: empty */
	int32_t pid;
	uint32_t entry;  /* index into s->centries */
};

/* ---- cached unwind rows (per module and pc) ---- */
struct ks_urow;

struct ks_session {
	struct ks_options opts;
	struct ks_strpool pool;
	char *jit_dir; /* directory of perf-PID.map files ("/tmp"; tests may change it) */

	/* processes: open addressing on pid */
	struct ks_proc *procs;
	uint32_t procs_size, procs_nr;

	/* modules: chained hash on path */
	struct ks_module **mods;
	uint32_t mods_size, mods_nr;
	struct ks_module *vdso;

	struct ks_kernel kernel;

	/* resolve cache */
	struct ks_centry *centries;
	uint32_t *chash;        /* values are entry index + 1 */
	uint32_t chash_size, cnr, calloc;
	struct ks_sframe *cframes;
	size_t ncframes, acframes;
	kp_frame_t *cids;
	size_t ncids, acids;

	/* front cache: (pid, address) -> resolve cache entry, valid for one maps epoch */
	struct ks_fast *fast;
	uint64_t maps_epoch;      /* bumped by every change to any address space */

	/* which profile the cached frame ids belong to */
	struct kp_profile *prof;
	uint32_t prof_gen;
	uint32_t prof_max_id;

	/* unwinder */
	struct ks_urow **urows; /* chained hash on (module, pc) */
	uint32_t urows_size, urows_nr;
	int unwind_interpret;   /* tests: never compile CFI rows, always interpret */
	struct ks_tramp *tramp; /* code without CFI recognised as a frameless trampoline (unwind.c) */

	/* libdwfl callbacks shared by every module's Dwfl (they must outlive them) */
	Dwfl_Callbacks dwfl_cb;
	char *dwfl_debuginfo_path;
};

struct ks_proc *ks_proc_get(struct ks_session *s, int pid, int create);
/* The module address of addr in mapping m (opening the module); -1 when unreadable. */
int ks_map_vaddr(struct ks_session *s, const struct ks_map *m, uint64_t addr, uint64_t *va);
/* The mapping of pr that contains addr, or NULL. */
struct ks_map *ks_proc_find(struct ks_proc *pr, uint64_t addr);
void ks_unwind_free(struct ks_session *s);

uint64_t ks_hash_u64(uint64_t x);
uint64_t ks_hash_bytes(const void *data, size_t len);

#endif
