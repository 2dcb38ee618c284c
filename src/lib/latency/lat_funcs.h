/* lat_funcs.h: finding the functions `kiln latency` probes.
 *
 * A spec names one or more functions, comma-separated (commas inside (), <> or [] belong
 * to a C++ name):
 *   name          a symbol of the program or, when the program has none of that name,
 *                 of a library it links (DT_NEEDED; for -p, any module it maps)
 *   module:name   a symbol of one module: a path, or a library name such as "libc" or
 *                 "c" (matched against the start of the file name)
 * name is the symbol as the ELF file has it (mangled), the demangled name with or
 * without its parameter list ("ns::Foo::bar" or "ns::Foo::bar(int)"; Rust paths
 * without the hash suffix), or a glob pattern (* ? [...]) over either.
 * Functions come from .symtab and .dynsym (FUNC and IFUNC symbols with an address);
 * aliases at one address are probed once. Each result is a (module path, file offset)
 * pair, which is what a uprobe is placed on. */
#ifndef KILN_LATENCY_LAT_FUNCS_H
#define KILN_LATENCY_LAT_FUNCS_H
#include <stddef.h>
#include <stdint.h>

struct lat_fn {
	char *name;          /* display name: demangled, without parameters */
	char *path;          /* module path */
	uint64_t vaddr;      /* ELF virtual address of the entry */
	uint64_t offset;     /* file offset of the entry (the uprobe's config2) */
	uint64_t size;       /* st_size */
};

#define LAT_MAX_FUNCS 256

/* Resolves spec for the program exe (a path; for -p, /proc/PID/exe) and, when pid > 0,
 * the modules process pid maps. Appends to *fns (n entries, alloc capacity). Returns
 * 0, or -1 after a one-line error: a function that does not exist (with the closest
 * names), a stripped module without the symbol, a module not found, too many matches. */
int lat_funcs_resolve(const char *spec, const char *exe, int pid, struct lat_fn **fns, size_t *n, size_t *alloc);
void lat_funcs_free(struct lat_fn *fns, size_t n);

/* The Levenshtein distance between a and b, capped at cap + 1 (for suggestions). */
unsigned lat_edit_distance(const char *a, const char *b, unsigned cap);
/* Splits spec at the commas that are not inside brackets; returns a NULL-terminated
 * malloc'd array of malloc'd strings (free each, then the array). */
char **lat_split_spec(const char *spec);

#endif
