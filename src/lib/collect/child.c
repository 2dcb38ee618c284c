/* child.c: a target command held before its exec (see child.h). */
#include "collect/child.h"
#include "collect/cmdrun.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
int kc_check_command(const char *cmd)
{
	struct stat st;
	if (!*cmd)
		return kiln_error("cannot run '': empty command name"), 127;
	if (strchr(cmd, '/')) {
		if (stat(cmd, &st) != 0)
			return kiln_error("cannot run '%s': %s", cmd, strerror(errno)), 127;
		if (S_ISDIR(st.st_mode))
			return kiln_error("cannot run '%s': it is a directory", cmd), 126;
		if (access(cmd, X_OK) != 0)
			return kiln_error("cannot run '%s': not executable (%s)", cmd, strerror(errno)), 126;
		return 0;
	}
	const char *path = getenv("PATH");
	int found_noexec = 0;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t dl = colon ? (size_t)(colon - path) : strlen(path);
		char *full = dl ? xasprintf("%.*s/%s", (int)dl, path, cmd) : xasprintf("./%s", cmd);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(full, X_OK) == 0) {
				free(full);
				return 0;
			}
			found_noexec = 1;
		}
		free(full);
		if (!colon)
			break;
		path = colon + 1;
	}
	if (found_noexec)
		return kiln_error("cannot run '%s': permission denied", cmd), 126;
	return kiln_error("cannot run '%s': command not found", cmd), 127;
}


int kc_child_spawn(struct kc_child *ch, char **argv, const sigset_t *orig_mask)
{
	int go[2], err[2];
	pid_t parent = getpid();
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		return kiln_error("cannot create a pipe: %s", strerror(errno));
	ch->pid = fork();
	if (ch->pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return kiln_error("cannot start '%s': %s", argv[0], strerror(e));
	}
	if (ch->pid == 0) {
		char c;
		ssize_t n;
		close(go[1]);
		close(err[0]);
		/* the target gets the signal state kiln was started with */
		kc_child_tie(parent); /* dies with kiln (cmdrun.h) */
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		do
			n = read(go[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(127);
		execvp(argv[0], argv);
		int e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	ch->go_fd = go[1];
	ch->err_fd = err[0];
	return 0;
}

void kc_child_kill(struct kc_child *ch)
{
	int st;
	close(ch->go_fd);
	close(ch->err_fd);
	kill(ch->pid, SIGKILL);
	while (waitpid(ch->pid, &st, 0) < 0 && errno == EINTR)
		;
}

int kc_child_release(struct kc_child *ch)
{
	int e = 0;
	ssize_t n;
	char c = 'g';
	if (write(ch->go_fd, &c, 1) != 1)
		e = errno ? errno : EPIPE;
	close(ch->go_fd);
	if (!e) {
		do
			n = read(ch->err_fd, &e, sizeof(e));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(e))
			e = 0;
	}
	close(ch->err_fd);
	if (e) {
		int st;
		while (waitpid(ch->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	return e;
}

