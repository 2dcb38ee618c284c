/* record.c: `kiln record`: start or attach to the target, run the collector, turn its
 * records into the profile model (threads, symbolized stacks) and write kiln.prof in
 * chunks while recording (see record.h). */
#include "collect/record.h"
#include "collect/child.h"
#include "collect/cmdrun.h"
#include "collect/jit.h"
#include "collect/collector.h"
#include "collect/offcpu.h"
#include "collect/pyframes.h"
#include "collect/sampler.h"
#include "collect/unwind_dwarf.h"
#include "profile/profile_io.h"
#include "util/filehash.h"
#include "symbols/symbols.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <asm/perf_regs.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_INTERVAL_NS 1000000000ull  /* write a chunk about once a second ... */
#define FLUSH_FIRST_NS 50000000ull        /* ... the first after 50 ms, the gap doubling up to
					   * that, and the first samples as soon as they are
					   * symbolized, so a short run killed early keeps its start */
#define PROCESS_INTERVAL_NS 250000000ll /* symbolize what was read four times a second */

/* ---- starting the target ---- */

static double tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* ---- attaching ---- */

static int attach_process(struct kc_sampler *r, int pid)
{
	char path[64];
	int rounds = 0, added;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	/* threads started while we attach: list again until nothing is new */
	do {
		DIR *d = opendir(path);
		struct dirent *de;
		added = 0;
		if (!d) {
			if (rounds == 0)
				return kiln_error("no process with pid %d; check the number with 'ps'", pid);
			break;
		}
		while ((de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			if (*end || tid <= 0)
				continue;
			if (kc_task_find(&r->threads, (int32_t)tid, 0))
				continue;
			int rc = kc_collector_add_task(r->col, (int)tid);
			if (rc == -2)
				continue; /* the thread ended meanwhile */
			if (rc < 0) {
				closedir(d);
				return -1;
			}
			struct kc_task *t = kc_task_find(&r->threads, (int32_t)tid, 1);
			t->pid = pid;
			kc_read_comm(pid, (int)tid, t->comm, sizeof(t->comm));
			added++;
		}
		closedir(d);
	} while (added && ++rounds < 10);
	if (!kc_task_find(&r->threads, pid, 0))
		return kiln_error("no process with pid %d; check the number with 'ps'", pid);
	kc_task_find(&r->procs, pid, 1);
	return 0;
}

static int any_alive(const struct kc_record_opts *o)
{
	for (size_t i = 0; i < o->npids; i++)
		if (kill(o->pids[i], 0) == 0 || errno == EPERM)
			return 1;
	for (size_t i = 0; i < o->ntids; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d/stat", o->tids[i]);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

/* The process of thread tid (Tgid in /proc/TID/status), or -1. */
static int tgid_of(int tid)
{
	char path[64], line[256];
	int tgid = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* -t: follows thread tid alone. */
static int attach_thread(struct kc_sampler *r, int tid)
{
	int pid = tgid_of(tid);
	if (pid <= 0)
		return kiln_error("no thread with id %d; list a process's threads with 'ps -T -p PID'", tid);
	int rc = kc_collector_add_task(r->col, tid);
	if (rc == -2)
		return kiln_error("no thread with id %d; list a process's threads with 'ps -T -p PID'", tid);
	if (rc < 0)
		return -1;
	struct kc_task *t = kc_task_find(&r->threads, tid, 1);
	t->pid = pid;
	kc_read_comm(pid, tid, t->comm, sizeof(t->comm));
	kc_task_find(&r->procs, pid, 1);
	return 0;
}


/* Whether the recording takes every process on its CPUs (-a; -C without a target). */
static int is_system_wide(const struct kc_record_opts *o)
{
	return o->system_wide || (o->ncpus && !o->argv && !o->npids && !o->ntids);
}

/* ---- metadata ---- */

static void set_meta(struct kc_sampler *r, const struct kc_record_opts *o, const struct kc_event_def *ev, unsigned freq)
{
	struct kp_profile *p = &r->prof;
	struct strbuf sb = STRBUF_INIT;
	struct utsname u;
	char buf[128];
	time_t now = time(NULL);
	struct tm tm;
	kp_meta_set(p, "kind", "cpu");
	kp_meta_set(p, "event", ev->name);
	if (o->period) {
		/* a fixed period: the rate it makes for a timer event */
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->period);
		kp_meta_set(p, "period", buf);
		if (!strcmp(ev->unit, "ns")) {
			snprintf(buf, sizeof(buf), "%.0f", 1e9 / (double)o->period);
			kp_meta_set(p, "frequency", buf);
		}
	} else {
		snprintf(buf, sizeof(buf), "%u", freq);
		kp_meta_set(p, "frequency", buf);
	}
	if (is_system_wide(o))
		kp_meta_set(p, "system_wide", "1");
	if (o->ncpus) {
		for (size_t i = 0; i < o->ncpus; i++)
			strbuf_addf(&sb, "%s%d", i ? "," : "", o->cpus[i]);
		kp_meta_set(p, "cpus", sb.buf);
		strbuf_reset(&sb);
	}
	if (o->ntids) {
		for (size_t i = 0; i < o->ntids; i++)
			strbuf_addf(&sb, "%s%d", i ? "," : "", o->tids[i]);
		kp_meta_set(p, "tids", sb.buf);
		strbuf_reset(&sb);
	}
	if (o->argv) {
		for (char **a = o->argv; *a; a++) {
			if (a != o->argv)
				strbuf_addch(&sb, ' ');
			strbuf_addstr(&sb, *a);
		}
		kp_meta_set(p, "command", sb.buf);
	} else if (o->npids) {
		for (size_t i = 0; i < o->npids; i++)
			strbuf_addf(&sb, "%s%d", i ? "," : "", o->pids[i]);
		kp_meta_set(p, "pids", sb.buf);
	}
	strbuf_release(&sb);
	if (uname(&u) == 0) {
		kp_meta_set(p, "hostname", u.nodename);
		kp_meta_set(p, "kernel", u.release);
		kp_meta_set(p, "arch", u.machine);
	}
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	kp_meta_set(p, "start_time", buf);
	kp_meta_set(p, "recorder", "kiln record " KILN_VERSION);
}

/* For the report's waiting finding (report/findings.c): the target's own CPU time when
 * it has ended (its rusage: exact, where samples / frequency is an estimate), and how
 * busy the machine was (1-minute load average against online CPUs): a run on a busy
 * machine waits for a CPU, not only for I/O. */
static void set_load_meta(struct kc_sampler *r, int target_reaped)
{
	char buf[64];
	struct rusage ru;
	if (target_reaped && getrusage(RUSAGE_CHILDREN, &ru) == 0) {
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
			     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
		snprintf(buf, sizeof(buf), "%.0f", cpu * 1e9);
		kp_meta_set(&r->prof, "target_cpu_ns", buf);
	}
	FILE *f = fopen("/proc/loadavg", "re");
	double load;
	if (f) {
		if (fscanf(f, "%lf", &load) == 1) {
			snprintf(buf, sizeof(buf), "%.2f", load);
			kp_meta_set(&r->prof, "loadavg", buf);
		}
		fclose(f);
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 0) {
		snprintf(buf, sizeof(buf), "%ld", cpus);
		kp_meta_set(&r->prof, "online_cpus", buf);
	}
}

/* The packages that ship the modules of symbol-less frames ("PKG PATH" lines, possibly
 * none), so that `kiln report` can say which debug package gives names, on any machine,
 * without searching: its no_symbols finding reads this key. */
static void set_package_meta(struct kc_sampler *r)
{
	const char *paths[64];
	kp_str_t ids[64];
	size_t n = 0;
	for (uint32_t f = 1; f < r->prof.nframes && n < 64; f++) {
		const struct kp_frame *fr = &r->prof.frames[f];
		if (!(fr->flags & (KP_FRAME_NOSYM | KP_FRAME_UNKNOWN)) || (fr->flags & (KP_FRAME_KERNEL | KP_FRAME_JIT)) ||
		    !fr->module)
			continue;
		size_t i = 0;
		while (i < n && ids[i] != fr->module)
			i++;
		if (i < n || kp_str_get(&r->prof, fr->module)[0] != '/')
			continue;
		ids[n] = fr->module;
		paths[n++] = kp_str_get(&r->prof, fr->module);
	}
	struct strbuf sb = STRBUF_INIT;
	if (n)
		ks_dpkg_packages(paths, n, &sb);
	kp_meta_set(&r->prof, "packages", sb.buf);
	strbuf_release(&sb);
}

/* What `kiln annotate` checks on any machine: "HASH SIZE PATH" lines for every source file
 * the frames name (key source_files; HASH = kp_file_hash), "MTIME_NS SIZE PATH" for
 * every module file (key module_files) and "BUILDID PATH" for those with a GNU build-id
 * (key module_build_ids), so that a file changed since recording is said to be, not
 * silently shown. */
static void set_file_meta(struct kc_sampler *r)
{
	struct kp_profile *p = &r->prof;
	uint8_t *seen = xcalloc(p->strings.nr + 1, 1);
	struct strbuf src = STRBUF_INIT, mod = STRBUF_INIT, bid = STRBUF_INIT;
	for (uint32_t f = 1; f < p->nframes; f++) {
		const struct kp_frame *fr = &p->frames[f];
		if (fr->flags & (KP_FRAME_KERNEL | KP_FRAME_JIT))
			continue;
		kp_str_t ids[2] = { fr->file, fr->module };
		for (int k = 0; k < 2; k++) {
			kp_str_t id = ids[k];
			struct stat st;
			if (!id || id >= p->strings.nr || seen[id])
				continue;
			seen[id] = 1;
			const char *path = kp_str_get(p, id);
			if (path[0] != '/' || strchr(path, '\n') || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (k) {
				char bidhex[160];
				if (kp_file_build_id(path, bidhex, sizeof(bidhex)) == 0)
					strbuf_addf(&bid, "%s %s\n", bidhex, path);
				strbuf_addf(&mod, "%llu %llu %s\n",
					    (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
						    (unsigned long long)st.st_mtim.tv_nsec,
					    (unsigned long long)st.st_size, path);
			} else {
				uint64_t h;
				if (kp_file_hash(path, &h) == 0)
					strbuf_addf(&src, "%016llx %llu %s\n", (unsigned long long)h,
						    (unsigned long long)st.st_size, path);
			}
		}
	}
	kp_meta_set(p, "source_files", src.buf);
	kp_meta_set(p, "module_files", mod.buf);
	kp_meta_set(p, "module_build_ids", bid.buf);
	strbuf_release(&bid);
	strbuf_release(&src);
	strbuf_release(&mod);
	free(seen);
}

static void set_end_meta(struct kc_sampler *r, const struct kc_record_opts *o, uint64_t ns, uint64_t lost)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ns);
	kp_meta_set(&r->prof, "duration_ns", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lost);
	kp_meta_set(&r->prof, "lost_samples", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->leaf_fixed);
	kp_meta_set(&r->prof, "leaf_frames_recovered", buf);
	kp_meta_set(&r->prof, "call_graph", o->call_graph == KC_CG_FP ? "fp" :
			  o->call_graph == KC_CG_DWARF ? "dwarf" : "auto");
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->truncated);
	kp_meta_set(&r->prof, "truncated_stacks", buf);
	if (r->oc) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)kc_offcpu_count(r->oc));
		kp_meta_set(&r->prof, "offcpu_intervals", buf);
	}
	kc_py_meta(r->py, &r->prof);
}

/* ---- the recording ---- */

/* Probes whether the kernel can sample event ev here (opening it on ourselves). */
static int event_supported(const struct kc_event_def *ev)
{
	struct perf_event_attr a;
	int fd;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = ev->type;
	a.config = ev->config;
	a.disabled = 1;
	a.freq = 1;
	a.sample_freq = 99;
	/* user mode only: a permission problem (perf_event_paranoid) is not a missing
	 * counter, and gets its own message when the real events open */
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return !(errno == ENOENT || errno == EOPNOTSUPP || errno == ENODEV);
}

static int is_time_event(const struct kc_event_def *ev)
{
	return !strcmp(ev->unit, "ns");
}

static const struct kc_event_def *choose_event(const struct kc_record_opts *o)
{
	const struct kc_event_def *ev;
	if (o->off_cpu) {
		/* on-CPU time must be in nanoseconds to add up with off-CPU time */
		ev = kc_event_lookup(o->event ? o->event : "cpu-clock");
		if (ev && !is_time_event(ev)) {
			kiln_error("--off-cpu needs a timer event (cpu-clock or task-clock), not '%s'", o->event);
			return NULL;
		}
		if (ev)
			return ev;
	}
	if (o->event) {
		ev = kc_event_lookup(o->event);
		if (!ev) {
			struct strbuf sb = STRBUF_INIT;
			kc_event_list(&sb);
			kiln_error("unknown event '%s'; known events: %s", o->event, sb.buf);
			strbuf_release(&sb);
		}
		return ev;
	}
	ev = kc_event_lookup("cycles");
	if (!event_supported(ev)) {
		ev = kc_event_lookup("cpu-clock");
		kiln_note("no hardware cycle counter on this machine; sampling the cpu-clock timer instead");
	}
	return ev;
}

/* When kp_writer_open kept an existing profile as PATH.old and the recording then failed,
 * puts it back. */
static void restore_old(const char *path, int had_old)
{
	if (had_old) {
		char *old = xasprintf("%s.old", path);
		rename(old, path);
		free(old);
	}
}

/* The state of one recording beyond the profile: the target, signals, the output. */
struct run {
	struct kc_sampler r;
	struct kp_writer *w;     /* the profile being written */
	const struct kc_record_opts *o;
	const char *out;
	int had_old;             /* kp_writer_open moved an existing profile to OUT.old */
	struct kc_child ch;      /* command mode: the target (pid -1 when none) */
	struct kc_tie tie;       /* kills the target if kiln dies (cmdrun.h) */
	sigset_t orig;           /* the signal mask kiln started with */
	int sfd;                 /* signalfd for SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD */
	int status;              /* the target's wait status, once target_done */
	int target_done;
	int interrupts;          /* signals passed on to the target */
	int last_signal;         /* the last terminating signal kiln received, 0 none */
	int write_failed;
	int node_map;            /* pid of the node kiln started and asked for /tmp/perf-PID.map (0: none) */
};

/* The collector's configuration for the options: frame-pointer call chains plus the
 * user registers and stack top that the leaf-frame fix needs. */
static void make_config(const struct kc_record_opts *o, const struct kc_event_def *ev, struct kc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->event = ev;
	cfg->freq = o->freq ? o->freq : 999;
	cfg->period = o->period;
	cfg->cpu_list = o->cpus;
	cfg->ncpu_list = (unsigned)o->ncpus;
	cfg->no_inherit = o->ntids > 0;
	cfg->exclude_kernel = o->no_kernel;
	kc_sampler_collector_config(o->call_graph, o->stack_user_size, cfg->freq, cfg);
	cfg->context_switch = o->off_cpu;
	cfg->switch_samples = o->off_cpu;
	/* system-wide events have no task to wait for the exec of: enabled at the release */
	cfg->enable_on_exec = o->argv != NULL && !is_system_wide(o);
}

static void kill_target(struct run *x)
{
	if (x->ch.pid > 0) {
		kc_child_kill(&x->ch);
		x->ch.pid = -1;
	}
}

/* Opens the events (spawning the command, stopped before its exec, or attaching), then
 * the output, then lets the target run: a refusal leaves no file behind. */
static int start(struct run *x, const struct kc_event_def *ev, struct kc_record_result *res)
{
	struct kc_sampler *r = &x->r;
	const struct kc_record_opts *o = x->o;
	struct stat st;
	if (o->argv) {
		/* node names its JavaScript functions in a perf map only when asked: ask it
		 * for the child (kiln's own environment is put back at once) */
		char *node_opts = NULL, *old_opts = NULL;
		int spawned;
		if (kc_jit_kind_of_command(o->argv[0]) == KC_JIT_NODE) {
			const char *cur = getenv("NODE_OPTIONS");
			old_opts = cur ? xstrdup(cur) : NULL;
			node_opts = kc_jit_node_options(cur);
			if (node_opts)
				setenv("NODE_OPTIONS", node_opts, 1);
		}
		spawned = kc_child_spawn(&x->ch, o->argv, &x->orig);
		if (node_opts) {
			char map[64];
			if (old_opts)
				setenv("NODE_OPTIONS", old_opts, 1);
			else
				unsetenv("NODE_OPTIONS");
			snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)x->ch.pid);
			x->node_map = spawned == 0 && access(map, F_OK) != 0 ? (int)x->ch.pid : 0;
		}
		free(node_opts);
		free(old_opts);
		if (spawned < 0)
			return -1;
		kc_tie_start(&x->tie, x->ch.pid, NULL);
		int arc = kc_collector_add_task(r->col, is_system_wide(o) ? -1 : x->ch.pid);
		if (arc < 0) {
			if (arc == -2)
				kiln_error("cannot start '%s': it exited before it could run", o->argv[0]);
			kill_target(x);
			return -1;
		}
		struct kc_task *t = kc_task_find(&r->threads, x->ch.pid, 1);
		t->pid = x->ch.pid;
		snprintf(t->comm, sizeof(t->comm), "%s", o->argv[0]);
		kc_task_find(&r->procs, x->ch.pid, 1);
	} else if (is_system_wide(o)) {
		if (kc_collector_add_task(r->col, -1) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < o->ntids; i++)
			if (attach_thread(r, o->tids[i]) < 0)
				return -1;
		for (size_t i = 0; i < o->npids; i++) {
			char hint[400];
			if (attach_process(r, o->pids[i]) < 0)
				return -1;
			if (kc_jit_attach_hint(o->pids[i], hint, sizeof(hint)))
				kiln_note("record: %s", hint);
		}
	}
	if (is_system_wide(o))
		kc_sampler_snapshot_comms(r);
	if (kc_py_attach(r->py, r->col) == 0)
		kc_py_start(r->py);
	for (size_t i = 0; !o->argv && i < o->npids; i++)
		kc_py_attach_pid(r->py, o->pids[i]);
	if (kc_collector_start(r->col) < 0) {
		kill_target(x);
		return -1;
	}
	x->had_old = stat(x->out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	x->w = kp_writer_open(x->out);
	if (!x->w) {
		x->had_old = 0;
		kill_target(x);
		return -1;
	}
	kp_add_value_type(&r->prof, "samples", "count");
	if (is_time_event(ev))
		kp_add_value_type(&r->prof, "cpu_ns", "nanoseconds");
	else
		kp_add_value_type(&r->prof, ev->name, "count");
	r->prof.default_value = is_time_event(ev) ? 0 : 1;
	r->v_cpu = r->v_off = r->v_wall = -1;
	if (o->off_cpu) {
		/* samples, cpu_ns, off_cpu_ns, wall_ns (= cpu_ns + off_cpu_ns); wall by default */
		r->v_cpu = 1;
		r->v_off = kp_add_value_type(&r->prof, "off_cpu_ns", "nanoseconds");
		r->v_wall = kp_add_value_type(&r->prof, "wall_ns", "nanoseconds");
		r->prof.default_value = (uint32_t)r->v_wall;
		struct kc_offcpu_values ov = { 0, r->v_off, r->v_wall };
		r->oc = kc_offcpu_new(&r->prof, &ov);
	}
	set_meta(r, o, ev, o->freq ? o->freq : 999);
	if (r->oc)
		kp_meta_set(&r->prof, "kind", "offcpu");

	/* kernel symbols now, not with the first samples: they then reach the file sooner */
	ks_session_preload_kernel(r->sym);
	r->t0 = kc_now_ns();
	if (o->argv) {
		/* system-wide: counting from before the exec, so its COMM record names it */
		if (is_system_wide(o) && kc_collector_enable(r->col) < 0) {
			kill_target(x);
			return -1;
		}
		int e = kc_child_release(&x->ch);
		if (e) {
			kiln_error("cannot run '%s': %s", o->argv[0], strerror(e));
			res->exit_status = (e == ENOENT) ? 127 : 126;
			x->ch.pid = -1;
			return -1;
		}
	} else {
		if (kc_collector_enable(r->col) < 0)
			return -1;
		for (size_t i = 0; i < o->ntids; i++) {
			int pid = tgid_of(o->tids[i]);
			if (pid > 0 && !kc_task_find(&r->procs, pid, 1)->maps_known) {
				kc_task_find(&r->procs, pid, 1)->maps_known = 1;
				ks_load_proc_maps(r->sym, pid);
				kc_sampler_space_changed(r, pid);
			}
		}
		for (size_t i = 0; i < o->npids; i++) {
			ks_load_proc_maps(r->sym, o->pids[i]);
			kc_sampler_space_changed(r, o->pids[i]);
		}
	}
	return 0;
}

/* Reads the signalfd: SIGCHLD reaps the target; other signals end an attached recording,
 * or are passed on to the target when they were sent to kiln alone (a signal from the
 * terminal reached the target's process group too). Sets *stop to end the recording. */
static void handle_signals(struct run *x, int *stop)
{
	struct signalfd_siginfo si;
	while (read(x->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD) {
			if (x->ch.pid > 0 && !x->target_done && waitpid(x->ch.pid, &x->status, WNOHANG) == x->ch.pid)
				x->target_done = 1;
			continue;
		}
		x->last_signal = sig;
		if (!x->o->argv) {
			*stop = 1;
			continue;
		}
		if (si.ssi_code != SI_KERNEL && !x->target_done)
			kill(x->ch.pid, sig);
		if (++x->interrupts >= 3) {
			kiln_warn("target '%s' does not stop; ending the recording and leaving it running",
				  x->o->argv[0]);
			*stop = 1;
		}
	}
}

/* Records until the target exits (or the duration passes, or a signal says so):
 * symbolizes what the reader collected a few times a second, writes chunks (see FLUSH_FIRST_NS). */
static void record_loop(struct run *x)
{
	struct kc_sampler *r = &x->r;
	const struct kc_record_opts *o = x->o;
	uint64_t flush_gap = FLUSH_FIRST_NS;
	int first_out = 0; /* a chunk with samples was written */
	uint64_t next_flush = r->t0 + flush_gap;
	uint64_t deadline = o->duration > 0 ? r->t0 + (uint64_t)(o->duration * 1e9) : 0;
	int stop = 0;
	while (!stop) {
		struct pollfd fd[2] = { { x->sfd, POLLIN, 0 }, { kc_collector_ready_fd(r->col), POLLIN, 0 } };
		uint64_t now = kc_now_ns();
		int64_t wait_ns = (int64_t)(next_flush - now);
		if (deadline && (int64_t)(deadline - now) < wait_ns)
			wait_ns = (int64_t)(deadline - now);
		if (wait_ns > PROCESS_INTERVAL_NS)
			wait_ns = PROCESS_INTERVAL_NS;
		if (wait_ns < 0)
			wait_ns = 0;
		if (poll(fd, 2, (int)(wait_ns / 1000000) + 1) < 0 && errno != EINTR) {
			kiln_error("poll failed: %s", strerror(errno));
			break;
		}
		if (fd[0].revents & POLLIN)
			handle_signals(x, &stop);
		if (x->target_done)
			stop = 1;
		kc_py_sync(r->py);
		kc_collector_read(r->col, 0, kc_sampler_record, r);
		now = kc_now_ns();
		if (deadline && now >= deadline) {
			if (o->argv && !x->target_done) {
				/* like timeout(1): ask the target to end, then wait for it */
				kill(x->ch.pid, SIGTERM);
				deadline = 0;
			} else {
				stop = 1;
			}
		}
		if (!o->argv && !is_system_wide(o) && !stop && !any_alive(o))
			stop = 1;
		/* the first samples go out as soon as they are symbolized, then on schedule */
		if (now >= next_flush || (!first_out && r->prof.nsamples > 0)) {
			first_out = r->prof.nsamples > 0;
			if (kp_writer_flush(x->w, &r->prof, 1) < 0) {
				x->write_failed = 1;
				break;
			}
			if (flush_gap < FLUSH_INTERVAL_NS)
				flush_gap = flush_gap * 2 < FLUSH_INTERVAL_NS ? flush_gap * 2 : FLUSH_INTERVAL_NS;
			next_flush = now + flush_gap;
		}
	}
}

/* Stops the events, passes the last records, closes the profile and waits for the
 * target. Returns 0 when the profile was written. */
static int finish(struct run *x, struct kc_record_result *res)
{
	struct kc_sampler *r = &x->r;
	struct rusage ru;
	int rc = -1;
	uint64_t t_end = kc_now_ns();
	kc_collector_disable(r->col);
	kc_py_sync(r->py);
	kc_collector_read(r->col, 1, kc_sampler_record, r);
	if (r->oc)
		kc_offcpu_finish(r->oc, t_end - r->t0);
	const struct kc_stats *cs = kc_collector_stats(r->col);
	set_end_meta(r, x->o, t_end - r->t0, cs->lost);
	set_load_meta(r, x->o->argv && x->target_done);
	set_package_meta(r);
	if (!x->o->no_lines)
		set_file_meta(r);
	res->samples = r->samples;
	res->lost = cs->lost;
	res->threads = r->threads.n;
	res->processes = r->procs.n;
	if (r->lazy_maps) {
		/* -a knows every task of the machine: count those sampled */
		res->threads = res->processes = 0;
		for (uint32_t i = 0; i < r->threads.cap; i++)
			res->threads += r->threads.slots[i].used && r->threads.slots[i].sampled;
		for (uint32_t i = 0; i < r->procs.cap; i++)
			res->processes += r->procs.slots[i].used && r->procs.slots[i].sampled;
	}
	res->seconds = (double)(t_end - r->t0) / 1e9;
	res->leaf_fixed = r->leaf_fixed;
	res->truncated = r->truncated;
	res->stacks = r->stacks;
	res->spliced = r->spliced;
	res->offcpu_intervals = kc_offcpu_count(r->oc);
	res->ring_bytes = cs->bytes;
	struct kc_py_stats ps;
	kc_py_finish(r->py);
	kc_py_stats(r->py, &ps);
	res->python_merged = ps.merged;
	/* after a failed write, closing keeps what was written (the error is printed) */
	if (kp_writer_close(x->w, &r->prof) == 0 && !x->write_failed) {
		struct stat st;
		if (stat(x->out, &st) == 0)
			res->file_bytes = (unsigned long long)st.st_size;
		rc = 0;
	}
	x->w = NULL;
	if (x->o->argv) {
		if (!x->target_done && x->interrupts < 3) {
			while (waitpid(x->ch.pid, &x->status, 0) < 0 && errno == EINTR)
				;
			x->target_done = 1;
		}
		if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
			res->target_cpu = tv_seconds(&ru.ru_utime) + tv_seconds(&ru.ru_stime);
		/* the target's own status when it ended (on its own or of the signal kiln
		 * passed on); 128 + the signal kiln received when it was left running */
		if (x->target_done)
			res->exit_status = kc_exit_code(x->status);
		else
			res->exit_status = 128 + (x->last_signal ? x->last_signal : SIGINT);
		x->ch.pid = -1;
	} else {
		res->exit_status = 0;
	}
	if (rc < 0 && res->exit_status == 0)
		res->exit_status = 1;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		res->self_cpu = tv_seconds(&ru.ru_utime) + tv_seconds(&ru.ru_stime);
		res->max_rss_kb = ru.ru_maxrss;
	}
	return rc;
}

/* Checks what can be checked before anything starts: the command can be run, the
 * processes exist. Returns 0, or -1 with res->exit_status set. */
static int precheck(const struct kc_record_opts *o, struct kc_record_result *res)
{
	if (o->argv) {
		int e = kc_check_command(o->argv[0]);
		if (e) {
			res->exit_status = e;
			return -1;
		}
	}
	for (size_t i = 0; i < o->npids; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d", o->pids[i]);
		if (access(path, F_OK) != 0)
			return kiln_error("no process with pid %d; check the number with 'ps'", o->pids[i]);
	}
	for (size_t i = 0; i < o->ntids; i++)
		if (tgid_of(o->tids[i]) <= 0)
			return kiln_error("no thread with id %d; list a process's threads with 'ps -T -p PID'",
					  o->tids[i]);
	return 0;
}

int kc_record(const struct kc_record_opts *o, struct kc_record_result *res)
{
	struct run x;
	const struct kc_event_def *ev;
	struct kc_config cfg;
	sigset_t block;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->exit_status = 1;
	if (precheck(o, res) < 0)
		return -1;
	ev = choose_event(o);
	if (!ev)
		return -1;
	res->event = ev->name;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.out = o->output ? o->output : "kiln.prof";
	x.ch.pid = -1;
	x.tie.guard = x.tie.fd = -1;
	make_config(o, ev, &cfg);
	struct ks_options so = { o->no_inline, o->no_lines, o->no_demangle, o->no_kernel };
	kc_sampler_init(&x.r, kc_collector_new(&cfg), &so, o->call_graph, o->python_internals,
			is_system_wide(o) || o->ntids);

	/* signals arrive through a signalfd; the target gets the original mask back */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &x.orig);
	x.sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
	if (x.sfd < 0)
		kiln_error("cannot create a signalfd: %s", strerror(errno));
	else if (start(&x, ev, res) == 0) {
		record_loop(&x);
		rc = finish(&x, res);
	}

	if (x.w) {
		/* the recording never started: no file, and the previous one back */
		kp_writer_abort(x.w);
		x.w = NULL;
		restore_old(x.out, x.had_old);
	}
	if (x.sfd >= 0) {
		struct signalfd_siginfo si;
		while (read(x.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		close(x.sfd);
	}
	kc_tie_stop(&x.tie);
	sigprocmask(SIG_SETMASK, &x.orig, NULL);
	kc_sampler_release(&x.r);
	if (x.node_map) /* the profile holds the names: what node wrote for kiln is kiln's to remove */
		kc_jit_node_cleanup(x.node_map, ".");
	return rc;
}
