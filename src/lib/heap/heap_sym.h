/* heap_sym.h: return addresses from the heap library into profile stacks.
 *
 * Modules arrive per process (HP_C_MODULE records); stacks are turned into profile
 * stacks root first, each return address looked up at address - 1 (the call) and
 * expanded into its inlined frames, through the symbols library (ks_*). Results are
 * cached per address space and address. */
#ifndef KILN_HEAP_SYM_H
#define KILN_HEAP_SYM_H
#include "profile/profile.h"
#include <stddef.h>
#include <stdint.h>

struct heap_sym;

struct heap_sym *heap_sym_new(struct kp_profile *p);
void heap_sym_free(struct heap_sym *hs);

void heap_sym_module(struct heap_sym *hs, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		     const char *path, const unsigned char *build_id, size_t build_id_len, int prot);
/* pid is a fork of ppid (same maps); pid exec'd (maps dropped). */
void heap_sym_fork(struct heap_sym *hs, int ppid, int pid);
void heap_sym_exec(struct heap_sym *hs, int pid);

/* The profile stack for return addresses ips[0..n) of pid, innermost first. */
kp_stack_t heap_sym_stack(struct heap_sym *hs, int pid, const uint64_t *ips, size_t n);

#endif
