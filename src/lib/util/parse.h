/* parse.h: strict parsing of numbers from option arguments and text. */
#ifndef KILN_UTIL_PARSE_H
#define KILN_UTIL_PARSE_H
#include <stdint.h>

/* Each returns 0 when the whole string is a valid number in range, else -1 (nothing printed). */
int kiln_parse_long(const char *s, long min, long max, long *out);
int kiln_parse_double(const char *s, double *out);
/* Durations: "1.5" seconds, or with a unit: "250ms", "2s", "1m", "100us", "10ns". */
int kiln_parse_duration(const char *s, double *seconds);
/* Sizes: "4096", "512K", "512KiB", "8M", "1G" (binary multiples). */
int kiln_parse_size(const char *s, uint64_t *bytes);

#endif
