/* heap_sym.h: return addresses from the heap library into profile stacks, on a
 * thread of its own.
 *
 * Symbolizing can take long (the first address in libc loads its DWARF), and the
 * reader must keep draining the program's rings meanwhile, or the program waits. So
 * the reader only queues work here (modules, fork, exec, stacks: in order), and
 * collects finished stacks later. The symbolizer owns the symbols session and a
 * private profile for interning; finished frames are copied into the real profile by
 * the thread that collects them, which is the only one touching it.
 *
 * Stacks are built root first, each return address looked up at address - 1 (the
 * call) and expanded into its inlined frames with file:line; in system libraries
 * (/lib, /usr/lib) by name only. Results are cached per address space and address. */
#ifndef KILN_HEAP_SYM_H
#define KILN_HEAP_SYM_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>

struct heap_sym;

/* p: the profile collected stacks go into (touched only by heap_sym_collect). */
struct heap_sym *heap_sym_new(struct kp_profile *p);
/* Finishes the queued work and frees everything. */
void heap_sym_free(struct heap_sym *hs);

void heap_sym_module(struct heap_sym *hs, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		     const char *path, const unsigned char *build_id, size_t build_id_len, int prot);
/* pid is a fork of ppid (same maps); pid exec'd (maps dropped). */
void heap_sym_fork(struct heap_sym *hs, int ppid, int pid);
void heap_sym_exec(struct heap_sym *hs, int pid);

/* Queues the stack of return addresses ips[0..n) of pid (innermost first); its
 * profile stack is handed to heap_sym_collect's callback with owner and id. */
void heap_sym_stack(struct heap_sym *hs, void *owner, uint32_t id, int pid, const uint64_t *ips, size_t n);

/* Python (HP_C_PYCODE, HP_C_PYSTACK): a code object of pid, and a stack of native
 * return addresses ips[0..n) and Python frames py[0..2 np) (code address, lasti |
 * is_entry << 32; innermost first), merged as heap_py_merge says. */
void heap_sym_pycode(struct heap_sym *hs, int pid, uint64_t addr, int first, const char *qualname, size_t nq,
		     const char *file, size_t nf, const uint8_t *lt, size_t nl);
void heap_sym_pystack(struct heap_sym *hs, void *owner, uint32_t id, int pid, const uint64_t *ips, size_t n,
		      const uint64_t *py, size_t np);
/* pid runs CPython from the module at path: its frames are named like a system
 * library's, without file:line (they are hidden around Python frames anyway, and its
 * debug information can take a second to load), unless interpreter frames are kept. */
void heap_sym_pyinfo(struct heap_sym *hs, int pid, const char *path, size_t len);
/* Keep the interpreter's own native frames around Python frames (default: hidden). */
void heap_sym_py_internals(struct heap_sym *hs, int keep);

typedef void (*heap_sym_done_fn)(void *ctx, void *owner, uint32_t id, kp_stack_t stack);
/* Interns the finished stacks into the profile and calls done for each, in queue
 * order. With wait, first waits until everything queued so far is finished. Returns
 * the number of stacks still queued. */
size_t heap_sym_collect(struct heap_sym *hs, int wait, heap_sym_done_fn done, void *ctx);
/* Waits up to ms milliseconds for the symbolizer to finish a batch. */
void heap_sym_wait(struct heap_sym *hs, int ms);

#endif
