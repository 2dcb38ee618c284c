/* output.h: write a file the user keeps so that it is never half-written.
 *
 * kiln_output_open() writes to a temporary name beside the target; _commit() flushes,
 * checks every write, fsyncs and renames it into place; _abort() removes it. A process
 * killed by SIGINT/SIGTERM/SIGHUP/SIGPIPE removes its open temporary files first.
 * With path NULL or "-", output goes to stdout and commit only checks for write errors;
 * a path that exists and is not a regular file (a device, a FIFO) is written in place. */
#ifndef KILN_UTIL_OUTPUT_H
#define KILN_UTIL_OUTPUT_H
#include <stdio.h>

struct kiln_output {
	FILE *fp;
	char *path;   /* target, NULL for stdout */
	char *tmp;    /* temporary file, NULL for stdout */
	int slot;
};

/* Returns 0, or -1 with a one-line error (unwritable directory, path is a directory). */
int kiln_output_open(struct kiln_output *out, const char *path);
/* Returns 0, or -1 with a one-line error (disk full, closed pipe); the target is untouched on error. */
int kiln_output_commit(struct kiln_output *out);
void kiln_output_abort(struct kiln_output *out);

/* Registers/unregisters a path to unlink if the process dies of a catchable signal. */
int kiln_tempfile_register(const char *path);
void kiln_tempfile_unregister(int slot);

#endif
