/* filehash.h: a content hash of a file (64-bit FNV-1a), recorded with profiles so that a
 * source file changed since recording can be told from the same file copied elsewhere. */
#ifndef KILN_UTIL_FILEHASH_H
#define KILN_UTIL_FILEHASH_H
#include <stddef.h>
#include <stdint.h>

/* Hashes the file at path into *out; returns 0, or -1 (errno set) when it cannot be read. */
int kp_file_hash(const char *path, uint64_t *out);


/* The GNU build-id of the ELF file at path, as lowercase hex in out (at least 2*64+1 bytes);
 * returns 0, or -1 when the file cannot be read or has none. */
int kp_file_build_id(const char *path, char *out, size_t outsz);

#endif
