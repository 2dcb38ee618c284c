/* xalloc.h: allocation that never returns NULL (out of memory prints and aborts). */
#ifndef KILN_UTIL_XALLOC_H
#define KILN_UTIL_XALLOC_H
#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Reallocates p to hold nmemb elements of size, checking the product for overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copies exactly n bytes (NUL bytes included) and adds a terminating NUL. */
char *xmemdupz(const void *data, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows array x (with alloc elements allocated) to hold at least nr elements. */
#define ALLOC_GROW(x, nr, alloc)                                                 \
	do {                                                                     \
		if ((size_t)(nr) > (size_t)(alloc)) {                            \
			size_t alloc_grow_n_ = (size_t)(alloc) * 3 / 2 + 16;     \
			if (alloc_grow_n_ < (size_t)(nr))                        \
				alloc_grow_n_ = (size_t)(nr);                    \
			(x) = xreallocarray((x), alloc_grow_n_, sizeof(*(x)));  \
			(alloc) = alloc_grow_n_;                                 \
		}                                                                \
	} while (0)

#endif
