/* error.h: one-line diagnostics. Library code reports and returns; only commands exit.
 *
 *   return kiln_error("cannot open '%s': %s", path, strerror(errno));
 *
 * Messages are lowercase, without a full stop, name the object in quotes and,
 * where the user can fix it, say how. */
#ifndef KILN_UTIL_ERROR_H
#define KILN_UTIL_ERROR_H

#define KILN_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Prints "kiln: error: MSG" to stderr and returns -1. */
int kiln_error(const char *fmt, ...) KILN_PRINTF(1, 2);
/* Prints "kiln: warning: MSG" to stderr. */
void kiln_warn(const char *fmt, ...) KILN_PRINTF(1, 2);
/* Prints "kiln: MSG" (for notes such as fallbacks) to stderr. */
void kiln_note(const char *fmt, ...) KILN_PRINTF(1, 2);
/* 1 silences kiln_warn and kiln_note (not errors); 2 silences errors too (fuzzing
 * harnesses, which feed millions of bad inputs). Returns the previous setting. */
int kiln_set_quiet(int quiet);

#endif
