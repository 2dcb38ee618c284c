/* output.h: write a file the user keeps so that it is never half-written, and never
 * destroy what the path names.
 *
 * kiln_output_open() looks at what PATH is:
 *  - a regular file, or nothing yet: written to a temporary name beside it; _commit()
 *    flushes, checks every write, fsyncs and renames it into place (the previous file's
 *    permission bits are kept); _abort() removes the temporary file. A process killed by
 *    SIGINT/SIGTERM/SIGHUP/SIGPIPE removes its open temporary files first.
 *  - a symbolic link to a regular file: the same, on the file the link points to, so the
 *    link stays a link and shows the new content. A dangling link is refused.
 *  - anything else that is not a directory (a character device such as /dev/null, a FIFO,
 *    a socket): opened and written in place, with no temporary file and no rename; a FIFO
 *    blocks until it has a reader, as a shell redirection does.
 *  - a directory: refused.
 * With path NULL or "-", output goes to stdout and commit only checks for write errors.
 *
 * Commands open (or at least _check()) their output before any long work, so that an
 * unwritable path is reported before the work rather than after it. */
#ifndef KILN_UTIL_OUTPUT_H
#define KILN_UTIL_OUTPUT_H
#include <stdio.h>

struct kiln_output {
	FILE *fp;
	char *path;   /* target as the user gave it, NULL for stdout */
	char *tmp;    /* temporary file, NULL for stdout and for in-place output */
	char *dest;   /* what the temporary file is renamed to (a symlink's target), or NULL */
	int slot;
};

/* Returns 0, or -1 with a one-line error (missing or unwritable directory, a directory,
 * a dangling symbolic link). */
int kiln_output_open(struct kiln_output *out, const char *path);
/* Returns 0, or -1 with a one-line error (disk full, closed pipe); the target is untouched
 * on error (in-place output to a device or FIFO cannot be undone). */
int kiln_output_commit(struct kiln_output *out);
/* Drops the output; safe on an output that was committed, aborted or never opened. */
void kiln_output_abort(struct kiln_output *out);

/* Checks now, without writing anything the user could see, that kiln_output_open(path)
 * would succeed later: for commands that produce the output only after a long run.
 * NULL and "-" (stdout) always pass. Returns 0, or -1 with the same one-line error. */
int kiln_output_check(const char *path);

/* For library code whose writes to f failed (ferror(f), or a failed fflush, errno
 * still set): reports "cannot write WHAT: REASON" once (not again at the end for
 * stdout), nothing for a closed pipe. Returns -1. */
int kiln_write_failed(FILE *f, const char *what);

/* The end of every command (main.c): flushes and closes stdout and returns status, or 1
 * when a write to stdout failed. The failure is reported in one line, unless
 * kiln_output_commit() or kiln_write_failed() already reported it, or it is a closed
 * pipe (EPIPE). */
int kiln_stdout_finish(int status);

/* Registers/unregisters a path to unlink if the process dies of a catchable signal. */
int kiln_tempfile_register(const char *path);
void kiln_tempfile_unregister(int slot);

#endif
