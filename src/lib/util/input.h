/* input.h: read a file or standard input, plain, gzip or zstd (detected by magic),
 * as bytes or as lines.
 *
 * Lines are returned without their '\n' (and without a trailing '\r'), NUL-terminated,
 * pointing into an internal buffer valid until the next call. A last line without '\n'
 * is returned like any other (in->truncated_last_line tells). Lines longer than
 * max_line (default 256 MiB) are an error. */
#ifndef KILN_UTIL_INPUT_H
#define KILN_UTIL_INPUT_H
#include <stddef.h>
#include <sys/types.h>

enum kiln_compression { KILN_COMP_NONE, KILN_COMP_GZIP, KILN_COMP_ZSTD };

struct kiln_input;

/* Opens path ("-" or NULL for stdin). Prints a one-line error and returns NULL when
 * the file is missing, a directory, unreadable, or its compressed header is bad. */
struct kiln_input *kiln_input_open(const char *path);
/* Reads up to n decompressed bytes; returns the count, 0 at end, -1 after printing an error. */
ssize_t kiln_input_read(struct kiln_input *in, void *buf, size_t n);
/* Reads one line. Returns 1 with line and len set, 0 at end of input, -1 on error (printed). */
int kiln_input_getline(struct kiln_input *in, char **line, size_t *len);
/* Peeks at up to n leading decompressed bytes without consuming them; returns the count. */
size_t kiln_input_peek(struct kiln_input *in, const void **data, size_t n);
void kiln_input_set_max_line(struct kiln_input *in, size_t max);
/* The name for messages: the path, or "standard input". */
const char *kiln_input_name(const struct kiln_input *in);
enum kiln_compression kiln_input_compression(const struct kiln_input *in);
/* Compressed or plain bytes consumed from the file so far (for progress). */
unsigned long long kiln_input_offset(const struct kiln_input *in);
/* Total size of the underlying file if it is a regular file, else 0. */
unsigned long long kiln_input_size(const struct kiln_input *in);
/* 1 if the last line returned had no terminating newline. */
int kiln_input_last_line_unterminated(const struct kiln_input *in);
/* 1 if the input ended inside a compressed stream (truncated .gz/.zst). */
int kiln_input_compressed_truncated(const struct kiln_input *in);
void kiln_input_close(struct kiln_input *in);

/* Reads the whole input into a malloc'd buffer (NUL-terminated). Returns 0 or -1 (printed). */
int kiln_input_slurp(const char *path, char **data, size_t *len, size_t max);

#endif
