/* hash.h: the small hashes kiln uses to find things by content (not for security):
 * FNV-1a over bytes, and a 64-bit finalizer (MurmurHash3's fmix64 constants) that spreads
 * a hash's bits before it indexes a table. */
#ifndef KILN_UTIL_HASH_H
#define KILN_UTIL_HASH_H
#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT 0xcbf29ce484222325ull

/* h extended by len bytes at data (start with HASH_FNV1A_INIT). */
static inline uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

#endif
