/* heap_run.c: start the program under libkiln-heap.so and record it (see heap_run.h). */
#include "heap/heap_run.h"
#include "collect/cmdrun.h"
#include "heap/heap_proto.h"
#include "heap/heap_report.h"
#include "heap/heap_suppress.h"
#include "heap/heap_session.h"
#include "profile/profile_io.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TMPFS_MAGIC_ 0x01021994

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- what LD_PRELOAD can work for ---- */
static char *search_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (strchr(prog, '/'))
		return xstrdup(prog);
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		char *cand = xasprintf("%.*s%s%s", (int)len, path, len ? "/" : "", prog);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!colon)
			break;
		path = colon + 1;
	}
	return NULL;
}

static int check_file(const char *prog, const char *path, int depth)
{
	struct stat st;
	unsigned char buf[256];
	ssize_t n;
	int fd;
	if (stat(path, &st) != 0) {
		int e = errno;
		kiln_error("cannot run '%s': %s", prog, e == ENOENT ? "no such file" : strerror(e));
		return e == ENOENT && depth == 0 ? -2 : -1;
	}
	if (S_ISDIR(st.st_mode))
		return kiln_error("cannot run '%s': it is a directory", prog);
	if (access(path, X_OK) != 0 && depth == 0)
		return kiln_error("cannot run '%s': %s", prog, errno == EACCES ? "permission denied" : strerror(errno));
	if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
		return kiln_error("'%s' is set-user-ID or set-group-ID: the dynamic loader ignores LD_PRELOAD "
				  "for it, so kiln heap cannot see its allocations; run a copy without the setuid bit",
				  prog);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* execute-only: let exec decide */
	n = read(fd, buf, sizeof(buf));
	if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
		char interp[256];
		size_t i = 2, k = 0;
		close(fd);
		while (i < (size_t)n && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		while (i < (size_t)n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && k < sizeof(interp) - 1)
			interp[k++] = (char)buf[i++];
		interp[k] = '\0';
		if (!k || depth > 2)
			return 0;
		return check_file(prog, interp, depth + 1) < 0 ? -1 : 0;
	}
	if (n >= (ssize_t)sizeof(Elf64_Ehdr) && !memcmp(buf, ELFMAG, SELFMAG)) {
		Elf64_Ehdr eh;
		int dynamic = 0;
		memcpy(&eh, buf, sizeof(eh));
		if (buf[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
			close(fd);
			return kiln_error("'%s' is not an x86-64 program: kiln heap's library cannot be loaded into it",
					  prog);
		}
		for (unsigned i = 0; i < eh.e_phnum && i < 512; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != sizeof(ph))
				break;
			if (ph.p_type == PT_INTERP)
				dynamic = 1;
		}
		close(fd);
		if (!dynamic)
			return kiln_error("'%s' is statically linked: LD_PRELOAD cannot intercept its allocations; "
					  "build it dynamically linked (without -static) to use kiln heap",
					  prog);
		return 0;
	}
	close(fd);
	return 0;
}

int heap_run_check(const char *prog, char **resolved)
{
	char *path = search_path(prog);
	*resolved = NULL;
	if (!path) {
		kiln_error("cannot run '%s': command not found", prog);
		return -2;
	}
	int rc = check_file(prog, path, 0);
	if (rc < 0) {
		free(path);
		return rc;
	}
	*resolved = path;
	return 0;
}

char *heap_find_preload(void)
{
	const char *env = getenv("KILN_HEAP_LIB");
	char exe[PATH_MAX], *slash;
	ssize_t n;
	if (env && *env) {
		if (access(env, R_OK) != 0) {
			kiln_error("cannot use KILN_HEAP_LIB='%s': %s", env, strerror(errno));
			return NULL;
		}
		return realpath(env, NULL);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			const char *cands[] = { "/libkiln-heap.so", "/../lib/kiln/libkiln-heap.so" };
			for (size_t i = 0; i < 2; i++) {
				char *c = xasprintf("%s%s", exe, cands[i]);
				char *r = realpath(c, NULL);
				free(c);
				if (r && access(r, R_OK) == 0)
					return r;
				free(r);
			}
		}
	}
	kiln_error("cannot find libkiln-heap.so next to kiln; set KILN_HEAP_LIB to its path");
	return NULL;
}

/* ---- the session directory ---- */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Sessions of kiln processes that died without cleaning up (SIGKILL) hold memory in
 * /dev/shm: remove those whose owner is gone. */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		long pid;
		char *end;
		if (strncmp(de->d_name, "kiln-heap-", 10))
			continue;
		pid = strtol(de->d_name + 10, &end, 10);
		if (end == de->d_name + 10 || *end != '-' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char *p = xasprintf("%s/%s", base, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
			remove_tree(p);
		free(p);
	}
	closedir(d);
}

static char *make_session_dir(void)
{
	const char *bases[3] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
	for (int i = 0; i < 3; i++) {
		struct statfs sf;
		const char *b = bases[i];
		if (!b || !*b || access(b, W_OK) != 0)
			continue;
		if (i == 0 && (statfs(b, &sf) != 0 || sf.f_type != TMPFS_MAGIC_))
			continue;
		remove_stale(b);
		char *tmpl = xasprintf("%s/kiln-heap-%ld-XXXXXX", b, (long)getpid());
		if (mkdtemp(tmpl)) {
			char *abs = realpath(tmpl, NULL);
			if (abs) {
				free(tmpl);
				return abs;
			}
			return tmpl;
		}
		free(tmpl);
	}
	kiln_error("cannot create a session directory in /dev/shm, $TMPDIR or /tmp: %s", strerror(errno));
	return NULL;
}

/* ---- signals ----
 * A signal from the terminal (SIGINT, SIGQUIT, a hang-up) reaches the program's process
 * group, the program included: kiln lets it end the program and records to its end. A
 * signal sent to kiln alone (kill PID, si_code not SI_KERNEL) is passed on to the
 * program. When the program has not ended by the third signal kiln is sent, kiln kills
 * it (SIGKILL), writes the profile and exits 128 + the number of that signal. */
static volatile sig_atomic_t forward_sig, last_sig, nsigs;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_sig = sig;
	nsigs++;
	if (si->si_code != SI_KERNEL)
		forward_sig = sig;
}

struct saved_sigs {
	struct sigaction intr, quit, term, hup;
};

static void signals_setup(struct saved_sigs *s)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	forward_sig = last_sig = nsigs = 0;
	sigaction(SIGINT, &sa, &s->intr);
	sigaction(SIGQUIT, &sa, &s->quit);
	sigaction(SIGTERM, &sa, &s->term);
	sigaction(SIGHUP, &sa, &s->hup);
}

static void signals_restore(const struct saved_sigs *s)
{
	sigaction(SIGINT, &s->intr, NULL);
	sigaction(SIGQUIT, &s->quit, NULL);
	sigaction(SIGTERM, &s->term, NULL);
	sigaction(SIGHUP, &s->hup, NULL);
}

/* ---- meta ---- */
static void meta_num(struct kp_profile *p, const char *key, double v)
{
	char buf[64];
	if (v == (double)(long long)v)
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else
		snprintf(buf, sizeof(buf), "%.6g", v);
	kp_meta_set(p, key, buf);
}

static void meta_summary(struct kp_profile *p, struct heap_session *s, uint64_t elapsed_ns)
{
	struct heap_proc_stats st;
	struct heap_session_info info;
	const double *h = heap_agg_histogram(heap_session_agg(s));
	struct strbuf sb = STRBUF_INIT;
	heap_agg_stats(heap_session_agg(s), &st);
	heap_session_get_info(s, &info);
	meta_num(p, "heap.duration_ns", (double)elapsed_ns);
	meta_num(p, "heap.allocations", st.allocs);
	meta_num(p, "heap.bytes", st.bytes);
	meta_num(p, "heap.frees", st.frees);
	meta_num(p, "heap.temporary", st.temps);
	meta_num(p, "heap.peak_bytes", st.peak_bytes);
	meta_num(p, "heap.peak_time_ns", (double)st.peak_time_ns);
	meta_num(p, "heap.peak_pid", st.pid); /* the process with the largest own peak */
	meta_num(p, "heap.live_count", st.live_count);
	meta_num(p, "heap.live_bytes", st.live_bytes);
	meta_num(p, "heap.processes", info.processes);
	meta_num(p, "heap.unknown_frees", (double)st.unknown_frees);
	meta_num(p, "heap.missed_frees", (double)st.missed_frees);
	/* each process's own peak: "pid:bytes:time_ns" separated by spaces */
	{
		struct heap_agg *a = heap_session_agg(s);
		struct strbuf pp = STRBUF_INIT;
		for (size_t i = 0; i < heap_agg_nprocs(a); i++) {
			struct heap_proc_stats ps;
			heap_agg_proc_stats_at(a, i, &ps);
			strbuf_addf(&pp, "%s%d:%.0f:%llu", pp.len ? " " : "", (int)ps.pid, ps.peak_bytes,
				    (unsigned long long)ps.peak_time_ns);
		}
		kp_meta_set(p, "heap.process_peaks", pp.buf);
		strbuf_release(&pp);
	}
	for (int b = 0; b < HEAP_HIST_BUCKETS; b++) {
		if (h[b] <= 0)
			continue;
		if (sb.len)
			strbuf_addch(&sb, ' ');
		strbuf_addf(&sb, "%d:%.0f", b, h[b]);
	}
	kp_meta_set(p, "heap.size_histogram", sb.buf);
	strbuf_release(&sb);
}

static void peak_process(struct heap_session *s, struct heap_proc_stats *st)
{
	heap_agg_stats(heap_session_agg(s), st);
}

/* ---- running ---- */
static char *env_prepend(const char *name, const char *value, char sep)
{
	const char *old = getenv(name);
	if (old && *old)
		return xasprintf("%s%c%s", value, sep, old);
	return xstrdup(value);
}

static void child_exec(const struct heap_run_opts *o, const char *dir, int errfd, pid_t parent)
{
	char num[32];
	char *pre = env_prepend("LD_PRELOAD", o->preload, ':');
	int e;
	struct sigaction sa;
	sigset_t none;
	kc_child_tie(parent);
	/* the program starts with the signal state kiln was given, not kiln's own */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setenv("LD_PRELOAD", pre, 1);
	setenv(HP_ENV_DIR, dir, 1);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)o->sample_bytes);
	setenv(HP_ENV_SAMPLE, num, 1);
	setenv(HP_ENV_PYTHON_INTERNALS, o->python_internals ? "1" : "0", 1);
	/* PYTHONMALLOC is left as it is: the library hooks CPython's allocators itself
	 * (docs/kiln-heap.md, "Python"). */
	for (const char *const *ev = o->env; ev && *ev; ev++)
		putenv((char *)*ev);
	execvp(o->argv[0], o->argv);
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* nothing else to do */
	}
	_exit(127);
}

static void set_meta_start(struct kp_profile *p, const struct heap_run_opts *o)
{
	struct strbuf cmd = STRBUF_INIT;
	char host[256], when[64];
	time_t now = time(NULL);
	struct tm tm;
	for (char **a = o->argv; *a; a++) {
		if (cmd.len)
			strbuf_addch(&cmd, ' ');
		strbuf_addstr(&cmd, *a);
	}
	kp_meta_set(p, "kind", "heap");
	kp_meta_set(p, "command", cmd.buf);
	kp_meta_set(p, "heap.mode", o->sample_bytes ? "sampled" : "full");
	if (o->suppressions) {
		kp_meta_set(p, HEAP_SUPP_META, o->suppressions);
		kp_meta_set(p, HEAP_SUPP_META "_file", o->suppressions_file ? o->suppressions_file : "");
	}
	meta_num(p, "heap.sample_bytes", (double)o->sample_bytes);
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		kp_meta_set(p, "hostname", host);
	}
	if (localtime_r(&now, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm))
		kp_meta_set(p, "start_time", when);
	strbuf_release(&cmd);
}

static const char *signame(int sig)
{
	const char *d = sigabbrev_np(sig);
	return d ? d : "?";
}

int heap_run(const struct heap_run_opts *o, struct heap_run_result *res)
{
	struct kp_profile p;
	struct kp_writer *w;
	struct heap_session *s;
	struct saved_sigs saved;
	char *dir;
	int errpipe[2], pidfd = -1, status = 0, child_done = 0;
	pid_t child, parent;
	struct kc_tie tie = { -1, -1 };
	int gave_up_sig = 0;
	uint64_t start = mono_ns(), last_emit = start, last_meta = start, child_end = 0, now;
	uint64_t interval = 20000000ull;
	int sleep_us = 500;
	uint64_t last_round = mono_ns();
	struct rusage ru;

	memset(res, 0, sizeof(*res));
	kp_profile_init(&p);
	w = o->output ? kp_writer_open(o->output) : NULL;
	if (!w && o->output) {
		kp_profile_release(&p);
		return -1;
	}
	dir = make_session_dir();
	if (!dir) {
		kp_writer_abort(w);
		kp_profile_release(&p);
		return -1;
	}
	s = heap_session_new(dir, &p, o->sample_bytes, start);
	if (s)
		heap_session_py_internals(s, o->python_internals);
	if (!s)
		goto fail_dir;
	set_meta_start(&p, o);
	if (w && kp_writer_flush(w, &p, 1) < 0)
		goto fail_session;
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		kiln_error("cannot create a pipe: %s", strerror(errno));
		goto fail_session;
	}
	fflush(NULL);
	signals_setup(&saved);
	parent = getpid();
	child = fork();
	if (child < 0) {
		kiln_error("cannot start '%s': %s", o->argv[0], strerror(errno));
		signals_restore(&saved);
		close(errpipe[0]);
		close(errpipe[1]);
		goto fail_session;
	}
	if (child == 0) {
		close(errpipe[0]);
		signals_restore(&saved);
		child_exec(o, dir, errpipe[1], parent);
	}
	close(errpipe[1]);
	kc_tie_start(&tie, child, dir);
	{
		int e = 0;
		ssize_t n;
		do
			n = read(errpipe[0], &e, sizeof(e));
		while (n < 0 && errno == EINTR);
		close(errpipe[0]);
		if (n == (ssize_t)sizeof(e)) {
			waitpid(child, NULL, 0);
			kc_tie_reaped(&tie);
			signals_restore(&saved);
			kiln_error("cannot run '%s': %s", o->argv[0], e == ENOENT ? "command not found" : strerror(e));
			res->exec_failed = 1;
			goto fail_session;
		}
	}
	res->started = 1;
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
#endif
	for (;;) {
		unsigned long long n;
		struct heap_session_info info;
		now = mono_ns();
		n = heap_session_poll(s, now);
		if (forward_sig) {
			int sig = forward_sig;
			forward_sig = 0;
			if (!child_done)
				kill(child, sig);
		}
		if (nsigs >= 3 && !child_done && !gave_up_sig) {
			/* the program does not end: kill it, keep what was recorded */
			gave_up_sig = last_sig;
			kill(child, SIGKILL);
		}
		if (!child_done) {
			pid_t r = wait4(child, &status, WNOHANG, &ru);
			if (r == child) {
				child_done = 1;
				child_end = mono_ns();
				kc_tie_reaped(&tie);
				res->peak_rss = (unsigned long long)ru.ru_maxrss * 1024ull;
				/* one more round to see files made at the last moment */
				continue;
			}
		}
		heap_session_get_info(s, &info);
		if (child_done && (info.running == 0 || now - child_end > (uint64_t)(o->linger * 1e9)))
			break;
		if (now - last_emit >= interval) {
			res->samples += heap_agg_emit(heap_session_agg(s), now - start);
			if (now - last_meta >= 2000000000ull) {
				meta_summary(&p, s, now - start);
				last_meta = now;
			}
			if (!res->write_failed && w && kp_writer_flush(w, &p, 1) < 0)
				res->write_failed = 1; /* printed; the program runs on to its end */
			if (res->write_failed || !w)
				p.nsamples = 0;
			last_emit = now;
			/* about 500 points over the run, at least 20 ms and at most 2 s apart */
			interval = (now - start) / 500;
			if (interval < 20000000ull)
				interval = 20000000ull;
			if (interval > 2000000000ull)
				interval = 2000000000ull;
		}
		/* busy program: poll again at once so that its rings never fill */
		if (n > 20000)
			continue;
		/* Otherwise sleep a quarter of the time the rings would take to fill at the
		 * rate just seen (two words an event), from 200 us to 10 ms: every wake-up
		 * costs the program on a machine whose CPUs share a core, and the epochs
		 * that date events need no finer steps than the chart's 20 ms. A thread
		 * that starts a burst (a 4 MiB ring fills in some 5 ms at full speed) waits
		 * for at most one such sleep. */
		if (n) {
			double per_us = (double)n / ((double)(now - last_round) / 1000.0 + 1.0);
			double fill_us = (double)HP_RING_BYTES_DEFAULT / 16.0 / (per_us > 1e-9 ? per_us : 1e-9);
			sleep_us = fill_us / 4 > 10000 ? 10000 : fill_us / 4 < 200 ? 200 : (int)(fill_us / 4);
		} else {
			sleep_us = sleep_us < 5000 ? sleep_us * 2 : 10000;
		}
		last_round = now;
		if (!child_done && pidfd >= 0) {
			struct pollfd pfd = { pidfd, POLLIN, 0 };
			struct timespec ts = { 0, (long)sleep_us * 1000 };
			ppoll(&pfd, 1, &ts, NULL);
		} else {
			struct timespec ts = { 0, (long)sleep_us * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	signals_restore(&saved);
	if (pidfd >= 0)
		close(pidfd);
	now = mono_ns();
	{
		struct heap_session_info info;
		heap_session_get_info(s, &info);
		res->still_running = info.running;
	}
	heap_session_set_progress(s, o->progress, o->progress_ctx);
	heap_session_finish(s, now);
	{
		/* the program's end: when it ran exit(), else when kiln saw it end; the last
		 * samples are dated then (or later, for processes it left running) */
		uint64_t end = heap_session_exit_time(s, child), last = end;
		if (!end)
			end = last = (child_end ? child_end : now) - start;
		if (last < last_emit - start || res->still_running)
			last = now - start;
		res->samples += heap_agg_emit(heap_session_agg(s), last);
		res->seconds = (double)end / 1e9;
		meta_summary(&p, s, end);
	}
	{
		struct rusage self;
		getrusage(RUSAGE_SELF, &self);
		res->kiln_rss = (unsigned long long)self.ru_maxrss * 1024ull;
		res->kiln_cpu = (double)self.ru_utime.tv_sec + (double)self.ru_utime.tv_usec / 1e6 +
				(double)self.ru_stime.tv_sec + (double)self.ru_stime.tv_usec / 1e6;
	}
	meta_num(&p, "heap.peak_rss_bytes", (double)res->peak_rss);
	meta_num(&p, "heap.kiln_cpu_ns", floor(res->kiln_cpu * 1e9));
	meta_num(&p, "heap.kiln_rss_bytes", (double)res->kiln_rss);
	if (WIFEXITED(status)) {
		char b[32];
		snprintf(b, sizeof(b), "exit %d", WEXITSTATUS(status));
		kp_meta_set(&p, "heap.exit", b);
	} else if (WIFSIGNALED(status)) {
		char b[64];
		snprintf(b, sizeof(b), "signal %d (SIG%s)", WTERMSIG(status), signame(WTERMSIG(status)));
		kp_meta_set(&p, "heap.exit", b);
	}
	{
		struct heap_session_info info;
		heap_session_get_info(s, &info);
		res->processes = info.processes;
		res->gave_up = info.gave_up;
		res->bad_files = info.bad;
	}
	peak_process(s, &res->total);
	{
		/* the recording's final leaks (p holds only the samples since its last write) */
		size_t n = p.nstacks ? p.nstacks : 1;
		double *lc = xcalloc(n, sizeof(double)), *lb = xcalloc(n, sizeof(double));
		heap_agg_leaked(heap_session_agg(s), lc, lb, p.nstacks);
		if (heap_leaks_suppressed(&p, NULL, lc, lb, &res->suppressed_count, &res->suppressed_bytes) < 0)
			res->suppressed_count = res->suppressed_bytes = 0;
		free(lc);
		free(lb);
	}
	res->status = status;
	{
		const char *pv = kp_meta_get(&p, "heap.python"), *pf = kp_meta_get(&p, "heap.python_frames");
		if (pv) {
			snprintf(res->python, sizeof(res->python), "%s", pv);
			res->python_native_only = pf && !strcmp(pf, "no");
		}
	}
	res->killed_after = gave_up_sig;
	if (o->finish)
		o->finish(o->finish_ctx, s, &p, dir);
	if (!w) {
		/* no heap profile wanted */
	} else if (res->write_failed) {
		kp_writer_close(w, &p); /* keeps what was written; the error was printed */
	} else if (kp_writer_close(w, &p) == 0) {
		struct stat st;
		if (stat(o->output, &st) == 0)
			res->profile_bytes = (unsigned long long)st.st_size;
	} else {
		res->write_failed = 1;
	}
	heap_session_cleanup(s);
	kc_tie_stop(&tie);
	heap_session_free(s);
	free(dir);
	kp_profile_release(&p);
	return 0;

fail_session:
	heap_session_free(s);
fail_dir:
	remove_tree(dir);
	kc_tie_stop(&tie);
	free(dir);
	if (w)
		kp_writer_abort(w);
	kp_profile_release(&p);
	return -1;
}
