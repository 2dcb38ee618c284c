/* output.c: write-then-rename output files and signal-safe temp file cleanup. */
#include "util/output.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEMPS 16
static char *volatile temps[MAX_TEMPS];
static int handlers_installed;

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

int kiln_output_open(struct kiln_output *out, const char *path)
{
	struct stat st;
	int fd;
	memset(out, 0, sizeof(*out));
	out->slot = -1;
	if (!path || !strcmp(path, "-")) {
		out->fp = stdout;
		return 0;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return kiln_error("cannot write '%s': it is a directory", path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a device or a pipe (/dev/null, a FIFO): written in place, never renamed over */
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || !(out->fp = fdopen(fd, "w"))) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return kiln_error("cannot write '%s': %s", path, strerror(e));
		}
		out->path = xstrdup(path);
		return 0;
	}
	out->path = xstrdup(path);
	out->tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(out->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		kiln_error("cannot write '%s': %s", path,
			   e == ENOENT ? "no such directory" : strerror(e));
		free(out->path);
		free(out->tmp);
		out->path = out->tmp = NULL;
		return -1;
	}
	out->slot = kiln_tempfile_register(out->tmp);
	out->fp = fdopen(fd, "w");
	if (!out->fp) {
		close(fd);
		kiln_output_abort(out);
		return kiln_error("cannot write '%s': %s", path, strerror(errno));
	}
	setvbuf(out->fp, NULL, _IOFBF, 1 << 16);
	return 0;
}

int kiln_output_commit(struct kiln_output *out)
{
	int err = 0;
	if (!out->fp)
		return -1;
	if (!out->path) {
		if (fflush(stdout) != 0 || ferror(stdout)) {
			if (errno != EPIPE)
				kiln_error("cannot write to standard output: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (fflush(out->fp) != 0 || ferror(out->fp) || (out->tmp && fsync(fileno(out->fp)) != 0))
		err = errno ? errno : EIO;
	if (fclose(out->fp) != 0 && !err)
		err = errno;
	out->fp = NULL;
	if (!out->tmp) {
		if (err)
			kiln_error("cannot write '%s': %s", out->path, strerror(err));
		free(out->path);
		out->path = NULL;
		return err ? -1 : 0;
	}
	if (!err && rename(out->tmp, out->path) != 0)
		err = errno;
	if (err) {
		unlink(out->tmp);
		kiln_error("cannot write '%s': %s", out->path, strerror(err));
	}
	kiln_tempfile_unregister(out->slot);
	free(out->path);
	free(out->tmp);
	out->path = out->tmp = NULL;
	return err ? -1 : 0;
}

void kiln_output_abort(struct kiln_output *out)
{
	if (out->path) {
		if (out->fp)
			fclose(out->fp);
		if (out->tmp)
			unlink(out->tmp);
		kiln_tempfile_unregister(out->slot);
		free(out->path);
		free(out->tmp);
	}
	memset(out, 0, sizeof(*out));
	out->slot = -1;
}
