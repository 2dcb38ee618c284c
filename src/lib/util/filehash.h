/* filehash.h: a content hash of a file (64-bit FNV-1a), recorded with profiles so that a
 * source file changed since recording can be told from the same file copied elsewhere. */
#ifndef KILN_UTIL_FILEHASH_H
#define KILN_UTIL_FILEHASH_H
#include <stdint.h>

/* Hashes the file at path into *out; returns 0, or -1 (errno set) when it cannot be read. */
int kp_file_hash(const char *path, uint64_t *out);

#endif
