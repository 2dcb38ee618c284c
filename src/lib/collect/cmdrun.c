/* cmdrun.c: run a command once and measure it (see cmdrun.h). */
#include "collect/cmdrun.h"
#include "collect/evcount.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int kc_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static int start_error(const char *prog, int e)
{
	if (e == ENOENT)
		return kiln_error("cannot run '%s': command not found", prog);
	if (e == EACCES)
		return kiln_error("cannot run '%s': permission denied", prog);
	return kiln_error("cannot run '%s': %s", prog, strerror(e));
}

/* Signals whose disposition the child resets to default: kiln ignores SIGPIPE and
 * catches the terminating signals to remove temporary files. */
static void default_sigs(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGPIPE);
	sigaddset(s, SIGINT);
	sigaddset(s, SIGTERM);
	sigaddset(s, SIGHUP);
	sigaddset(s, SIGQUIT);
	sigaddset(s, SIGCHLD);
}

static int spawn_fast(const struct kc_run_opts *o, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t defs, empty;
	short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	int fds[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd }, rc;
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	posix_spawnattr_init(&at);
	default_sigs(&defs);
	sigemptyset(&empty);
	posix_spawnattr_setsigdefault(&at, &defs);
	posix_spawnattr_setsigmask(&at, &empty);
	if (o->timeout > 0) {
		flags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&at, 0);
	}
	posix_spawnattr_setflags(&at, flags);
	rc = posix_spawnp(pid, o->argv[0], &fa, &at, o->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* fork, hold the child before exec until the counters are attached, then let it go.
 * Returns 0 or an errno (the child's exec error, reported through a CLOEXEC pipe). */
static int spawn_counted(const struct kc_run_opts *o, pid_t *pid, double *t0)
{
	int go[2], err[2], e = 0;
	ssize_t n;
	if (pipe2(go, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		e = errno;
		close(go[0]);
		close(go[1]);
		return e;
	}
	*pid = fork();
	if (*pid < 0) {
		e = errno;
		close(go[0]), close(go[1]), close(err[0]), close(err[1]);
		return e;
	}
	if (*pid == 0) {
		sigset_t defs, empty;
		char c;
		int fds[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd };
		default_sigs(&defs);
		for (int s = 1; s < NSIG; s++)
			if (sigismember(&defs, s) == 1)
				signal(s, SIG_DFL);
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		if (o->timeout > 0)
			setpgid(0, 0);
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0 && dup2(fds[i], i) < 0)
				goto fail;
		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		execvp(o->argv[0], o->argv);
	fail:
		e = errno;
		while (write(err[1], &e, sizeof(e)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	if (o->counters)
		kc_counters_open(o->counters, *pid);
	*t0 = now();
	close(go[1]); /* the child execs */
	do
		n = read(err[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(err[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		return e ? e : ENOEXEC;
	}
	return 0;
}

/* Reads the run delay (ns, second field of /proc/PID/schedstat) of an exited, not yet
 * reaped process; -1 when unavailable. */
static double read_run_delay(pid_t pid)
{
	char path[64], buf[128];
	unsigned long long exec_ns, delay_ns;
	int fd;
	ssize_t n;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &exec_ns, &delay_ns) != 2)
		return -1;
	return (double)delay_ns * 1e-9;
}

/* With want_delay, waits for pid to exit without reaping it (WNOWAIT) and reads its run
 * delay first. */
static void peek_delay(pid_t pid, int want_delay, double *delay)
{
	siginfo_t si;
	if (!want_delay)
		return;
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return;
	*delay = read_run_delay(pid);
}

/* Waits for pid; with a timeout, kills its process group when it expires. */
static int wait_child(pid_t pid, double timeout, int *status, struct rusage *ru, int *timed_out,
		      int want_delay, double *delay)
{
	*timed_out = 0;
	if (timeout <= 0) {
		peek_delay(pid, want_delay, delay);
		while (wait4(pid, status, 0, ru) < 0)
			if (errno != EINTR)
				return -1;
		return 0;
	}
	double deadline = now() + timeout;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t w;
		double left;
		struct timespec ts;
		if (want_delay) {
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid == pid) {
				*delay = read_run_delay(pid);
				want_delay = 0;
			}
		}
		w = wait4(pid, status, WNOHANG, ru);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		left = deadline - now();
		if (left <= 0)
			break;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		if (sigtimedwait(&chld, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	*timed_out = 1;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (wait4(pid, status, 0, ru) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int kc_run(const struct kc_run_opts *o, struct kc_run_result *r)
{
	sigset_t chld, old;
	struct rusage ru;
	pid_t pid = -1;
	double t0 = 0, t1;
	long self_rss;
	int e, ret = 0;
	memset(r, 0, sizeof(*r));
	r->run_delay = -1;
	if (!o->argv || !o->argv[0])
		return kiln_error("no command to run");
	if (o->timeout > 0) {
		/* SIGCHLD stays pending for sigtimedwait rather than being delivered */
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, &old);
	}
	{
		struct rusage self;
		self_rss = getrusage(RUSAGE_SELF, &self) == 0 ? self.ru_maxrss : 0;
	}
	if (o->counters) {
		e = spawn_counted(o, &pid, &t0);
	} else {
		t0 = now();
		e = spawn_fast(o, &pid);
	}
	if (e) {
		if (o->counters)
			kc_counters_close(o->counters);
		ret = start_error(o->argv[0], e);
		r->start_status = (e == ENOENT || e == ENOTDIR) ? 127 : 126;
		goto out;
	}
	memset(&ru, 0, sizeof(ru));
	r->run_delay = -1;
	if (wait_child(pid, o->timeout, &r->status, &ru, &r->timed_out, o->sched, &r->run_delay) < 0) {
		ret = kiln_error("cannot wait for '%s': %s", o->argv[0], strerror(errno));
		if (o->counters)
			kc_counters_close(o->counters);
		goto out;
	}
	t1 = now();
	if (o->counters)
		kc_counters_read_close(o->counters);
	r->wall = t1 - t0;
	r->user = tv_sec(ru.ru_utime);
	r->sys = tv_sec(ru.ru_stime);
	r->max_rss_kb = ru.ru_maxrss;
	r->rss_upper_bound = ru.ru_maxrss <= self_rss;
	r->minflt = ru.ru_minflt;
	r->majflt = ru.ru_majflt;
	r->nvcsw = ru.ru_nvcsw;
	r->nivcsw = ru.ru_nivcsw;
out:
	if (o->timeout > 0) {
		/* drop a SIGCHLD left pending by this child before restoring the mask */
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&chld, NULL, &zero) > 0)
			;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return ret;
}

/* ---- word splitting ---- */

void kc_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

char **kc_split_words(const char *line)
{
	char **argv = NULL;
	size_t n = 0, alloc = 0;
	struct strbuf w = STRBUF_INIT;
	const char *p = line;
	for (;;) {
		int in_word = 0;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		strbuf_reset(&w);
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n')) {
			in_word = 1;
			if (*p == '\'') {
				const char *q = strchr(p + 1, '\'');
				if (!q)
					goto unterminated;
				strbuf_add(&w, p + 1, (size_t)(q - p - 1));
				p = q + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
						if (p[1] != '\n')
							strbuf_addch(&w, p[1]);
						p += 2;
					} else {
						strbuf_addch(&w, *p++);
					}
				}
				if (*p != '"')
					goto unterminated;
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					p++;
					break;
				}
				if (p[1] != '\n')
					strbuf_addch(&w, p[1]);
				p += 2;
			} else {
				strbuf_addch(&w, *p++);
			}
		}
		if (in_word) {
			ALLOC_GROW(argv, n + 2, alloc);
			argv[n++] = xstrndup(w.buf, w.len);
			argv[n] = NULL;
		}
	}
	strbuf_release(&w);
	if (!n) {
		kiln_error("empty command '%s'", line);
		return NULL;
	}
	return argv;
unterminated:
	strbuf_release(&w);
	if (argv)
		argv[n] = NULL;
	kc_argv_free(argv);
	kiln_error("unterminated quote in command '%s'", line);
	return NULL;
}

/* ---- a target that dies with kiln (see cmdrun.h) ---- */
void kc_child_tie(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* kiln may have died between the fork and the prctl */
	if (getppid() != parent)
		_exit(127);
}

/* Removes the regular files of dir and dir itself with system calls only (the guard is
 * a fork of a process that may have threads: no malloc, no opendir). */
static void guard_remove_dir(const char *dir)
{
	char buf[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	long n;
	if (fd < 0)
		return;
	/* a few passes: files made while listing (the program still running) */
	for (int pass = 0, removed = 1; pass < 4 && removed; pass++) {
		removed = 0;
		lseek(fd, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < n;) {
				struct {
					uint64_t ino;
					int64_t off;
					unsigned short reclen;
					unsigned char type;
					char name[];
				} *de = (void *)(buf + off);
				if (strcmp(de->name, ".") && strcmp(de->name, "..") && unlinkat(fd, de->name, 0) == 0)
					removed = 1;
				off += de->reclen;
			}
		}
	}
	close(fd);
	rmdir(dir);
}

/* The guard: waits for kiln's end on fd; see cmdrun.h. Never returns. */
static void __attribute__((noreturn)) guard_main(int fd, pid_t child, int pidfd, const char *dir)
{
	struct sigaction sa;
	unsigned int lo = (unsigned int)(fd < pidfd ? fd : pidfd), hi = (unsigned int)(fd < pidfd ? pidfd : fd);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* a session of its own: a signal to kiln's process group or the terminal's
	 * hang-up does not take the guard away with kiln */
	setsid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
			sigaction(s, &sa, NULL);
	if (null >= 0) {
		/* no descriptor of kiln's stays open: a pipe reading kiln's output must see
		 * its end when kiln ends, not when the guard does */
		for (int i = 0; i < 3; i++)
			if (i != fd && i != pidfd)
				dup2(null, i);
		if (null > 2 && null != fd && null != pidfd)
			close(null);
	}
	if (pidfd < 0)
		lo = hi = (unsigned int)fd;
	if (lo > 3)
		syscall(SYS_close_range, 3u, lo - 1, 0u);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0u);
	syscall(SYS_close_range, hi + 1, ~0u, 0u);
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && c == 'r') {
			child = -1; /* reaped: its pid may be someone else's now */
			continue;
		}
		if (n == 1 && c == 'q')
			_exit(0);
		break; /* EOF (or an error): kiln is gone */
	}
	/* through the pidfd only: a bare pid may be another process's by now (without
	 * pidfds, before Linux 5.3, PR_SET_PDEATHSIG alone kills the target) */
	if (child > 0 && pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	if (dir)
		guard_remove_dir(dir);
	_exit(0);
}

void kc_tie_start(struct kc_tie *t, pid_t child, const char *cleanup_dir)
{
	int p[2], pidfd;
	pid_t g;
	t->guard = -1;
	t->fd = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return;
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	g = fork();
	if (g == 0) {
		close(p[1]);
		guard_main(p[0], child, pidfd, cleanup_dir);
	}
	close(p[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (g < 0) {
		close(p[1]);
		return;
	}
	t->guard = g;
	t->fd = p[1];
}

static void tie_send(struct kc_tie *t, char c)
{
	if (t->fd >= 0 && write(t->fd, &c, 1) != 1) {
		/* the guard is gone: nothing to tell */
	}
}

void kc_tie_reaped(struct kc_tie *t)
{
	tie_send(t, 'r');
}

void kc_tie_stop(struct kc_tie *t)
{
	int st;
	if (t->guard <= 0)
		return;
	tie_send(t, 'q');
	close(t->fd);
	t->fd = -1;
	while (waitpid(t->guard, &st, 0) < 0 && errno == EINTR)
		;
	t->guard = -1;
}
