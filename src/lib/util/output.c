/* output.c: output files that are never half-written (write-then-rename for regular
 * files, in place for devices and FIFOs), signal-safe temp file cleanup, and the final
 * check of stdout. */
#include "util/output.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEMPS 16
static char *volatile temps[MAX_TEMPS];
static int handlers_installed;
static int stdout_reported; /* kiln_output_commit() already handled a stdout failure */

/* Whether a write error on standard output is its reader having gone (kiln report |
 * head): errno says EPIPE when it is still the write's, and a pipe or socket with no
 * reader polls as POLLERR whatever errno became since. That ends output quietly. */
static int stdout_reader_gone(int e)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
	if (e == EPIPE)
		return 1;
	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static void cleanup_signal(int sig)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i])
			unlink(temps[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

int kiln_tempfile_register(const char *path)
{
	if (!handlers_installed) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			struct sigaction sa, old;
			if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_DFL)
				continue; /* respect ignored or handled signals */
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = cleanup_signal;
			sigaction(sigs[i], &sa, NULL);
		}
		handlers_installed = 1;
	}
	for (int i = 0; i < MAX_TEMPS; i++)
		if (!temps[i]) {
			temps[i] = xstrdup(path);
			return i;
		}
	return -1;
}

void kiln_tempfile_unregister(int slot)
{
	if (slot >= 0 && slot < MAX_TEMPS && temps[slot]) {
		char *p = temps[slot];
		temps[slot] = NULL;
		free(p);
	}
}

/* The directory a new file at dest goes into, for messages. */
static char *dir_of(const char *dest)
{
	const char *slash = strrchr(dest, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == dest)
		return xstrdup("/");
	return xstrndup(dest, (size_t)(slash - dest));
}

/* One line for a failure to create a file at dest (shown as path). Returns -1. */
static int create_error(const char *path, const char *dest, int e)
{
	char *dir = dir_of(dest);
	switch (e) {
	case ENOENT:
		kiln_error("cannot write '%s': directory '%s' does not exist", path, dir);
		break;
	case EACCES:
	case EPERM:
		kiln_error("cannot write '%s': no permission to create files in '%s'; choose another path",
			   path, dir);
		break;
	case EROFS:
		kiln_error("cannot write '%s': '%s' is on a read-only file system", path, dir);
		break;
	case ENOTDIR:
		kiln_error("cannot write '%s': a part of that path is not a directory", path);
		break;
	default:
		kiln_error("cannot write '%s': %s", path, strerror(e));
	}
	free(dir);
	return -1;
}

enum out_kind { OUT_RENAME, OUT_INPLACE };

/* Decides how path is written. For OUT_RENAME, *dest is the file to rename onto (path,
 * or the file a symbolic link points to) and *st its stat, or st->st_mode 0 when it does
 * not exist yet. Returns the kind, or -1 with a one-line error. */
static int classify(const char *path, char **dest, struct stat *st)
{
	struct stat lst;
	*dest = NULL;
	memset(st, 0, sizeof(*st));
	if (lstat(path, &lst) != 0) {
		if (errno == ENOENT) {
			*dest = xstrdup(path);
			return OUT_RENAME;
		}
		return create_error(path, path, errno);
	}
	if (S_ISLNK(lst.st_mode)) {
		char *real = realpath(path, NULL);
		if (!real) {
			if (errno == ENOENT)
				return kiln_error("cannot write '%s': it is a symbolic link to a file that does "
						  "not exist; give the file's own path", path);
			return kiln_error("cannot write '%s': %s", path, strerror(errno));
		}
		if (stat(real, st) != 0) {
			int e = errno;
			free(real);
			return kiln_error("cannot write '%s': %s", path, strerror(e));
		}
		*dest = xstrdup(real);
		free(real);
	} else {
		*st = lst;
		*dest = xstrdup(path);
	}
	if (S_ISDIR(st->st_mode)) {
		free(*dest);
		*dest = NULL;
		return kiln_error("cannot write '%s': it is a directory", path);
	}
	if (S_ISREG(st->st_mode))
		return OUT_RENAME;
	free(*dest);
	*dest = NULL;
	return OUT_INPLACE;
}

static char *temp_name(const char *dest)
{
	return xasprintf("%s.tmp.%ld", dest, (long)getpid());
}

static void output_reset(struct kiln_output *out)
{
	free(out->path);
	free(out->tmp);
	free(out->dest);
	memset(out, 0, sizeof(*out));
	out->slot = -1;
}

int kiln_output_open(struct kiln_output *out, const char *path)
{
	struct stat st;
	char *dest;
	int fd, kind;
	memset(out, 0, sizeof(*out));
	out->slot = -1;
	if (!path || !strcmp(path, "-")) {
		out->fp = stdout;
		return 0;
	}
	kind = classify(path, &dest, &st);
	if (kind < 0)
		return -1;
	out->path = xstrdup(path);
	if (kind == OUT_INPLACE) {
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			kiln_error("cannot write '%s': %s", path, strerror(errno));
			output_reset(out);
			return -1;
		}
	} else {
		out->dest = dest;
		out->tmp = temp_name(dest);
		fd = open(out->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			create_error(path, dest, errno);
			output_reset(out);
			return -1;
		}
		out->slot = kiln_tempfile_register(out->tmp);
		if (S_ISREG(st.st_mode))
			(void)fchmod(fd, st.st_mode & 07777); /* keep the file's permissions */
	}
	out->fp = fdopen(fd, "w");
	if (!out->fp) {
		int e = errno;
		close(fd);
		kiln_output_abort(out);
		return kiln_error("cannot write '%s': %s", path, strerror(e));
	}
	setvbuf(out->fp, NULL, _IOFBF, 1 << 16);
	return 0;
}

int kiln_output_check(const char *path)
{
	struct stat st;
	char *dest, *tmp;
	int fd, kind;
	if (!path || !strcmp(path, "-"))
		return 0;
	kind = classify(path, &dest, &st);
	if (kind < 0)
		return -1;
	if (kind == OUT_INPLACE) {
		/* opening a FIFO would wait for a reader, opening a device can do things */
		if (access(path, W_OK) != 0)
			return kiln_error("cannot write '%s': %s", path, strerror(errno));
		return 0;
	}
	tmp = temp_name(dest);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EEXIST) {
		create_error(path, dest, errno);
		free(tmp);
		free(dest);
		return -1;
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(dest);
	return 0;
}

int kiln_output_commit(struct kiln_output *out)
{
	int err = 0;
	if (!out->fp)
		return -1;
	if (!out->path) {
		if (fflush(stdout) != 0 || ferror(stdout)) {
			int e = errno;
			stdout_reported = 1;
			if (!stdout_reader_gone(e))
				kiln_error("cannot write to standard output: %s", e ? strerror(e) : "write error");
			return -1;
		}
		return 0;
	}
	errno = 0;
	if (fflush(out->fp) != 0 || ferror(out->fp) || (out->tmp && fsync(fileno(out->fp)) != 0))
		err = errno ? errno : EIO;
	if (fclose(out->fp) != 0 && !err)
		err = errno;
	out->fp = NULL;
	if (out->tmp) {
		if (!err && rename(out->tmp, out->dest) != 0)
			err = errno;
		if (err)
			unlink(out->tmp);
		kiln_tempfile_unregister(out->slot);
	}
	if (err && err != EPIPE)
		kiln_error("cannot write '%s': %s", out->path, strerror(err));
	output_reset(out);
	return err ? -1 : 0;
}

void kiln_output_abort(struct kiln_output *out)
{
	if (out->path) {
		if (out->fp)
			fclose(out->fp);
		if (out->tmp) {
			unlink(out->tmp);
			kiln_tempfile_unregister(out->slot);
		}
		output_reset(out);
		return;
	}
	memset(out, 0, sizeof(*out));
	out->slot = -1;
}

int kiln_write_failed(FILE *f, const char *what)
{
	int e = errno;
	if (f == stdout)
		stdout_reported = 1;
	if (e == EPIPE || (f == stdout && stdout_reader_gone(e)))
		return -1;
	return kiln_error("cannot write %s: %s", what, e ? strerror(e) : "write error");
}

int kiln_stdout_finish(int status)
{
	int bad = 0, e = 0;
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		bad = 1;
		e = errno;
	} else if (fclose(stdout) != 0) {
		bad = 1;
		e = errno;
	}
	if (!bad)
		return status;
	if (!stdout_reported && !stdout_reader_gone(e))
		kiln_error("cannot write to standard output: %s", e ? strerror(e) : "write error");
	return status ? status : 1;
}
