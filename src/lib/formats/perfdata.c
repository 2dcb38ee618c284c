/* perfdata.c: perf.data, read through `perf script` (perf's own reader: symbols, build
 * ids and unwinding as perf resolves them) into the perf script parser of
 * collect/perfscript.c, threads kept apart by PID and TID. */
#include "collect/perfscript.h"
#include "formats/formats.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* 1 if an executable perf is on PATH (KILN_PERF names another). */
static const char *find_perf(void)
{
	const char *e = getenv("KILN_PERF");
	if (e && *e)
		return e;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		char *full = xasprintf("%.*s/perf", (int)n, path);
		int ok = access(full, X_OK) == 0;
		free(full);
		if (ok)
			return "perf";
		if (!colon)
			break;
		path = colon + 1;
	}
	return NULL;
}

int kf_perfdata_read(struct kp_profile *p, const char *path)
{
	const char *perf = find_perf();
	int fds[2], rc = -1, status;
	pid_t pid;
	char errpath[] = "/tmp/kiln-perf-err.XXXXXX";
	int errfd;
	if (!perf)
		return kiln_error("'%s' is a perf.data file; reading it needs perf (apt-get install linux-perf), "
				  "or convert it where perf is: perf script -i '%s' | kiln collapse", path, path);
	errfd = mkstemp(errpath);
	if (errfd < 0)
		return kiln_error("cannot create a temporary file: %s", strerror(errno));
	unlink(errpath);
	if (pipe(fds) < 0) {
		close(errfd);
		return kiln_error("cannot create a pipe: %s", strerror(errno));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	/* the fields of the default output, with the PID (kiln keeps threads apart) */
	char *argv[] = { (char *)perf, (char *)"script", (char *)"-F", (char *)"comm,pid,tid,time,period,event,ip,sym,dso",
			 (char *)"-i", (char *)path, NULL };
	int e = posix_spawnp(&pid, perf, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (e) {
		close(fds[0]);
		close(errfd);
		return kiln_error("cannot run '%s': %s", perf, strerror(e));
	}
	FILE *in = fdopen(fds[0], "r");
	struct kp_perfscript_opts o = { KP_PS_ROOT_TID, 0, NULL, NULL };
	struct kp_perfscript *ps = kp_perfscript_new(p, &o);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) >= 0) {
		if (n && line[n - 1] == '\n')
			n--;
		kp_perfscript_line(ps, line, (size_t)n);
	}
	kp_perfscript_finish(ps);
	size_t nsamples = kp_perfscript_stats(ps)->samples;
	kp_perfscript_free(ps);
	free(line);
	fclose(in);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char msg[256] = "";
		ssize_t m = pread(errfd, msg, sizeof(msg) - 1, 0);
		if (m > 0) {
			msg[m] = '\0';
			msg[strcspn(msg, "\n")] = '\0';
		}
		kiln_error("'perf script' could not read '%s'%s%s", path, *msg ? ": " : "", msg);
	} else if (!nsamples) {
		kiln_error("'%s' holds no samples with call stacks that perf script shows", path);
	} else {
		kp_meta_set(p, "source_format", "perf.data");
		rc = 0;
	}
	close(errfd);
	return rc;
}
