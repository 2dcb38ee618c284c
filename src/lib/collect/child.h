/* child.h: starting a target command held before its exec, so that events can be opened
 * on it first (record, latency): fork, wait for a go, exec; the exec's failure comes back
 * through a pipe. */
#ifndef KILN_COLLECT_CHILD_H
#define KILN_COLLECT_CHILD_H
#include <signal.h>
#include <sys/types.h>

struct kc_child {
	pid_t pid;
	int go_fd;   /* write a byte to let it exec */
	int err_fd;  /* EOF at a successful exec, else the exec errno */
};

/* Finds cmd as execvp would; returns 0 with the path known to be runnable, or the exit
 * status after printing why not (127 not found, 126 not executable). */
int kc_check_command(const char *cmd);
/* Forks the target, stopped before its exec until kc_child_release(); the child gets
 * orig_mask as its signal mask and SIGPIPE's default action. Returns 0 or -1 (printed). */
int kc_child_spawn(struct kc_child *ch, char **argv, const sigset_t *orig_mask);
/* Kills and reaps a child not released yet (or released). */
void kc_child_kill(struct kc_child *ch);
/* Lets the child exec; returns 0, or the exec errno (the child has exited and is reaped). */
int kc_child_release(struct kc_child *ch);

#endif
