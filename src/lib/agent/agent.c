/* agent.c: `kiln agent`'s loop: the sampler over a system-wide collector, windows, labels,
 * the sink and the spool (agent.h). */
#include "agent/agent.h"
#include "agent/labels.h"
#include "agent/spool.h"
#include "collect/collector.h"
#include "collect/evcount.h"
#include "collect/pyframes.h"
#include "collect/sampler.h"
#include "collect/unwind_dwarf.h"
#include "profile/profile_io.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_NS 250000000ull      /* symbolize what was read four times a second */
#define HOLD_NS 200000000ull      /* a window closes this long after its end when no later
				   * sample closed it (the rings' stragglers are in) */
#define RING_BYTES (256u << 10)   /* per CPU, at least: 19 Hz fills little */
#define RING_MAX (8u << 20)
#define BACKOFF_MAX 32            /* windows between attempts at a failing sink, at most */
#define REPLAY_MAX 60             /* spooled windows sent per window (so a long spool does not
				   * hold up the rings' reader), except at start */
#define SYM_HEAP_MAX (128u << 20) /* bytes of heap in use that renew the symbol session */
#define RENEW_S 300               /* the symbol session's age at most */
#define RENEW_MIN_S 60
#define RETAIN_WINDOWS 60         /* retention of the local store every this many windows */
#define CAP_PERFMON_BIT 38
#define CAP_SYS_ADMIN_BIT 21

uint64_t ka_window_end(uint64_t t, uint64_t window_ns)
{
	return (t / window_ns + 1) * window_ns;
}

unsigned ka_backoff_next(unsigned cur)
{
	return cur == 0 ? 1 : cur >= BACKOFF_MAX ? BACKOFF_MAX : cur * 2;
}

struct agent {
	const struct ka_opts *o;
	struct ka_result *res;
	struct kc_sampler s;
	const struct kc_event_def *ev;
	struct kst sink;
	int sink_open;
	struct ka_spool spool;
	int spool_ok;
	uint64_t window_ns;
	uint64_t start_real, start_mono; /* the open window */
	uint64_t end_real, end_mono;
	uint64_t lost_seen;              /* the collector's lost count at the last window */
	char host[256];
	struct strbuf own;               /* the agent's labels, "k=v\n" each */
	const char *service;             /* --label service=X */
	unsigned backoff, wait;          /* windows between attempts, windows left to wait */
	int sink_failing;
	uint64_t dropped_told;
};

static uint64_t now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "2026-12-06T05:00:10Z" for log lines (a window's start, unix ns). */
struct tbuf {
	char s[40];
};
static struct tbuf when(uint64_t ns)
{
	struct tbuf b;
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(b.s, sizeof(b.s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return b;
}

/* ---- process labels ---- */

static const char *thread_comm(struct kc_sampler *s, int32_t pid)
{
	struct kc_task *t = kc_task_find(&s->threads, pid, 0);
	return t ? t->comm : NULL;
}

/* The sampler's hook: a process's labels (its kc_task's user data) are read at its first
 * sample, while /proc still has it, and kept until the window it exited in is closed
 * (the sampler then frees them with free_labels). After an exec, the labels of before
 * stay until its first sample after. */
static void on_proc(void *ctx, int32_t pid, int what)
{
	struct agent *a = ctx;
	if (what != KC_PROC_SAMPLED)
		return;
	struct kc_task *pr = kc_task_find(&a->s.procs, pid, 1);
	struct kst_labels *l = pr->user;
	if (!l) {
		l = xcalloc(1, sizeof(*l));
		pr->user = l;
	}
	kst_labels_release(l);
	ka_proc_labels(pid, a->service, thread_comm(&a->s, pid), l);
}

static void free_labels(void *user)
{
	kst_labels_release(user);
	free(user);
}

/* ---- delivery ---- */

static int sink_try_open(struct agent *a)
{
	struct strbuf err = STRBUF_INIT;
	if (a->sink_open)
		return 0;
	if (kst_open(&a->sink, a->o->sink, KST_WRITE, &err) == 0) {
		a->sink_open = 1;
		strbuf_release(&err);
		return 0;
	}
	kiln_warn("agent: sink '%s' is not available: %s", a->o->sink, err.buf);
	strbuf_release(&err);
	return -1;
}

static void sink_failed(struct agent *a)
{
	a->sink_failing = 1;
	a->backoff = ka_backoff_next(a->backoff);
	a->wait = a->backoff;
	if (a->spool_ok)
		kiln_warn("agent: windows wait in the spool '%s'; the sink is tried again in %u window%s", a->spool.dir,
			  a->wait, a->wait == 1 ? "" : "s");
	if (a->sink_open) {
		kst_close(&a->sink); /* opened again at the next attempt */
		a->sink_open = 0;
	}
}

static int sink_write(struct agent *a, const struct kp_profile *w, const char *what)
{
	struct strbuf err = STRBUF_INIT;
	if (sink_try_open(a) < 0) {
		sink_failed(a);
		return -1;
	}
	if (kst_write(&a->sink, w, &err) < 0) {
		kiln_warn("agent: sink '%s' refused %s: %s", a->o->sink, what, err.buf);
		strbuf_release(&err);
		sink_failed(a);
		return -1;
	}
	strbuf_release(&err);
	if (a->sink_failing) {
		kiln_note("agent: sink '%s' takes windows again", a->o->sink);
		a->sink_failing = 0;
	}
	a->backoff = a->wait = 0;
	return 0;
}

/* Sends the spooled windows, oldest first, until one fails or max are sent. Returns 0
 * when the spool is empty afterwards. */
static int replay(struct agent *a, size_t max)
{
	char **v;
	if (!a->spool_ok)
		return 0;
	size_t n = ka_spool_list(&a->spool, &v, NULL), i, sent = 0;
	int rc = 0;
	for (i = 0; i < n && rc == 0 && sent < max; i++) {
		struct kp_profile w;
		struct kp_load_info info;
		int q = kiln_set_quiet(1);
		int lrc = kp_profile_load(&w, v[i], &info);
		kiln_set_quiet(q);
		if (lrc < 0 || !info.complete) {
			/* never a window we wrote whole (write-then-rename): not ours to send */
			kiln_warn("agent: spooled '%s' is not a whole profile; moved aside as .bad", v[i]);
			char *bad = xasprintf("%s.bad", v[i]);
			rename(v[i], bad);
			free(bad);
			if (lrc == 0)
				kp_profile_release(&w);
			continue;
		}
		rc = sink_write(a, &w, v[i]);
		kp_profile_release(&w);
		if (rc == 0) {
			unlink(v[i]);
			sent++;
			a->res->delivered++;
		}
	}
	if (sent && (a->o->verbose || rc == 0))
		kiln_note("agent: sent %zu spooled window%s to '%s'%s", sent, sent == 1 ? "" : "s", a->o->sink,
			  rc ? "; the sink failed on the next" : "");
	for (size_t k = 0; k < n; k++)
		free(v[k]);
	free(v);
	return rc == 0 && i == n ? 0 : -1;
}

static void spool_put(struct agent *a, struct kp_profile *w)
{
	struct strbuf err = STRBUF_INIT;
	unsigned dropped = 0;
	if (!a->spool_ok || ka_spool_put(&a->spool, w, a->start_real, &dropped, &err) < 0) {
		a->res->dropped++;
		kiln_warn("agent: the window at %s is lost: %s", when(a->start_real).s,
			  a->spool_ok ? err.buf : "no spool directory");
		strbuf_release(&err);
		return;
	}
	a->res->spooled++;
	if (dropped) {
		a->res->dropped += dropped;
		kiln_warn("agent: spool '%s' over %" PRIu64 " bytes: dropped the %u oldest window%s (%" PRIu64
			  " dropped in all)",
			  a->spool.dir, a->spool.max_bytes, dropped, dropped == 1 ? "" : "s", a->spool.dropped);
	} else if (a->o->verbose) {
		kiln_note("agent: the window at %s waits in the spool '%s'", when(a->start_real).s, a->spool.dir);
	}
	strbuf_release(&err);
}

/* --retain-age, --retain-size: the local store's retention (store_dir.c). */
static void retain(struct agent *a)
{
	const struct ka_opts *o = a->o;
	struct strbuf err = STRBUF_INIT;
	uint64_t removed = 0;
	if (!o->store_dir || (!o->retain_age_ns && !o->retain_bytes))
		return;
	if (kst_dir_retain(o->store_dir, o->retain_age_ns, o->retain_bytes, &removed, &err) < 0)
		kiln_warn("agent: retention in '%s' failed: %s", o->store_dir, err.buf);
	else if (removed && o->verbose)
		kiln_note("agent: retention removed %" PRIu64 " window%s from '%s'", removed, removed == 1 ? "" : "s",
			  o->store_dir);
	strbuf_release(&err);
}

/* ---- windows ---- */

static void set_window_meta(struct agent *a, uint64_t end_real, uint64_t lost)
{
	struct kp_profile *p = &a->s.prof;
	char buf[64];
	kp_meta_set(p, "kind", "cpu");
	kp_meta_set(p, "event", a->ev->name);
	snprintf(buf, sizeof(buf), "%u", a->o->freq);
	kp_meta_set(p, "frequency", buf);
	kp_meta_set(p, "system_wide", "1");
	kp_meta_set(p, "call_graph", a->o->call_graph == KC_CG_FP ? "fp" : a->o->call_graph == KC_CG_DWARF ? "dwarf" : "auto");
	kp_meta_set(p, "recorder", "kiln agent " KILN_VERSION);
	kst_window_set_range(p, a->start_real, end_real);
	snprintf(buf, sizeof(buf), "%" PRIu64, end_real - a->start_real);
	kp_meta_set(p, "duration_ns", buf);
	kp_meta_set(p, KST_META_HOST, a->host);
	kp_meta_set(p, KST_META_LABELS, a->own.buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, lost);
	kp_meta_set(p, KST_META_LOST, buf);
	kp_meta_set(p, "lost_samples", buf);
	/* proc.PID for every process with samples in the window */
	for (uint32_t t = 1; t < p->nthreads; t++) {
		int32_t pid = p->threads[t].pid;
		char key[32];
		snprintf(key, sizeof(key), KST_META_PROC "%" PRId32, pid);
		if (kp_meta_get(p, key))
			continue;
		struct kc_task *pr = kc_task_find(&a->s.procs, pid, 0);
		if (pr && pr->user) {
			kst_window_set_proc(p, pid, pr->user);
		} else {
			struct kst_labels l = KST_LABELS_INIT;
			ka_proc_labels(pid, a->service, kp_str_get(p, p->threads[t].comm), &l);
			kst_window_set_proc(p, pid, &l);
			kst_labels_release(&l);
		}
	}
}

/* Closes the open window at end_real (unix ns) and delivers or spools it. */
static void close_window(struct agent *a, uint64_t end_real)
{
	struct kp_profile *p = &a->s.prof;
	const struct kc_stats *cs = kc_collector_stats(a->s.col);
	uint64_t lost = cs->lost - a->lost_seen;
	a->lost_seen = cs->lost;
	if (!p->nsamples && !lost) {
		/* every CPU is sampled, idle ones too: a window without samples is time the
		 * agent was not sampling (stopped), and stays a gap, not an empty window */
		kiln_warn("agent: no samples in the window at %s (was the agent stopped?); it is left out",
			  when(a->start_real).s);
		return;
	}
	set_window_meta(a, end_real, lost);
	a->res->windows++;
	a->res->samples += p->nsamples;
	a->res->lost += lost;
	if (lost)
		kiln_warn("agent: %" PRIu64 " sample%s lost in the window at %s (the kernel's ring was full; "
			  "counted in the window's 'lost')",
			  lost, lost == 1 ? "" : "s", when(a->start_real).s);
	if (a->o->verbose)
		kiln_note("agent: window at %s, %.1f s: %zu samples, %u threads", when(a->start_real).s,
			  (double)(end_real - a->start_real) / 1e9, p->nsamples, p->nthreads ? p->nthreads - 1 : 0);
	/* in time order: the spool goes first; while it cannot, the window joins it */
	if (!a->wait && replay(a, REPLAY_MAX) == 0 && sink_write(a, p, "a window") == 0)
		a->res->delivered++;
	else
		spool_put(a, p);
}

/* Opens the window that starts at start_real (unix ns), start_mono (CLOCK_MONOTONIC). */
static void open_window(struct agent *a, uint64_t start_real, uint64_t start_mono)
{
	a->start_real = start_real;
	a->start_mono = start_mono;
	a->end_real = ka_window_end(start_real, a->window_ns);
	a->end_mono = start_mono + (a->end_real - start_real);
	a->s.t0 = start_mono;
}

/* The open window ends; the next starts where it ended, or, when time jumped past it
 * (the agent was stopped), at the window holding monotonic time t: the windows between
 * are missing, not made up. */
static void rotate(struct agent *a, uint64_t t)
{
	uint64_t end_real = a->end_real, end_mono = a->end_mono;
	close_window(a, end_real);
	if (a->res->windows % RETAIN_WINDOWS == 0 && a->sink_open)
		retain(a);
	uint64_t renewals = a->s.renewals;
	kc_sampler_new_window(&a->s);
	if (a->o->verbose && a->s.renewals != renewals)
		kiln_note("agent: symbol caches started afresh (they are read again as samples need them)");
	if (a->wait)
		a->wait--;
	if (t < end_mono + a->window_ns) {
		open_window(a, end_real, end_mono);
	} else {
		uint64_t real = now_real(), mono = kc_now_ns();
		uint64_t t_real = real - (mono > t ? mono - t : 0);
		uint64_t start = t_real / a->window_ns * a->window_ns;
		open_window(a, start, t - (t_real - start));
		struct tbuf from = when(end_real);
		kiln_warn("agent: no samples from %s to %s (the agent was stopped); those windows are missing", from.s,
			  when(start).s);
	}
}

static void on_rec(void *ctx, const void *rec, size_t len)
{
	struct agent *a = ctx;
	const struct perf_event_header *h = rec;
	if (h->type == PERF_RECORD_SAMPLE) {
		struct kc_sample smp;
		if (kc_parse_sample(a->s.layout, rec, len, &smp) == 0 && smp.time >= a->end_mono)
			rotate(a, smp.time);
	}
	kc_sampler_record(&a->s, rec, len);
}

/* ---- start ---- */

static int has_cap(int bit)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long eff = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> bit) & 1;
}

static int check_permission(void)
{
	int lvl = kc_perf_paranoid();
	if (geteuid() == 0 || lvl <= 0 || has_cap(CAP_PERFMON_BIT) || has_cap(CAP_SYS_ADMIN_BIT))
		return 0;
	return kiln_error("agent: not allowed to sample every process (kernel.perf_event_paranoid is %d): run as "
			  "root or with CAP_PERFMON (AmbientCapabilities=CAP_PERFMON in a systemd unit), or "
			  "'sysctl kernel.perf_event_paranoid=0'",
			  lvl);
}

static void fill_result(struct agent *a)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		a->res->self_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
				   ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
		a->res->max_rss_kb = ru.ru_maxrss;
	}
}

int ka_run(const struct ka_opts *o, struct ka_result *res)
{
	struct agent a;
	struct kc_config cfg;
	struct strbuf err = STRBUF_INIT;
	sigset_t block, orig;
	int rc = -1, sfd = -1;

	memset(res, 0, sizeof(*res));
	memset(&a, 0, sizeof(a));
	a.o = o;
	a.res = res;
	a.window_ns = (uint64_t)(o->window_s * 1e9);
	strbuf_init(&a.own, 0);
	if (o->labels) {
		kst_labels_format(o->labels, &a.own);
		a.service = kst_labels_get(o->labels, "service");
	}
	if (gethostname(a.host, sizeof(a.host) - 1) < 0)
		snprintf(a.host, sizeof(a.host), "localhost");
	if (check_permission() < 0)
		goto out_early;

	/* the spool first: a restarted agent sends what it kept before anything new */
	const char *spool_dir = o->spool_dir ? o->spool_dir : KA_DEFAULT_SPOOL;
	if (ka_spool_open(&a.spool, spool_dir, o->spool_size, &err) < 0) {
		kiln_warn("agent: %s; windows the sink refuses will be dropped", err.buf);
		strbuf_reset(&err);
	} else {
		a.spool_ok = 1;
	}
	if (sink_try_open(&a) < 0)
		sink_failed(&a);
	else if (replay(&a, SIZE_MAX) < 0)
		kiln_warn("agent: the spool in '%s' is kept for later", spool_dir);
	if (a.sink_open)
		retain(&a);

	a.ev = kc_event_lookup("cpu-clock");
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = a.ev;
	cfg.freq = o->freq;
	kc_sampler_collector_config(o->call_graph, o->stack_size, o->freq, &cfg);
	/* rings for about half a second of samples (the reader drains them as they fill) */
	uint64_t ring = (uint64_t)(cfg.stack_user_size + 512) * o->freq / 2;
	cfg.buffer_bytes = ring < RING_BYTES ? RING_BYTES : ring > RING_MAX ? RING_MAX : (size_t)ring;
	/* functions only by default: names come from symbol tables, and no program's DWARF
	 * (line tables, inline trees) is read: that is most of a symbolizer's memory and time
	 * on a machine that runs many programs */
	struct ks_options so = { 0, 0, 0, 0 };
	so.no_inline = so.no_lines = !o->lines;
	kc_sampler_init(&a.s, kc_collector_new(&cfg), &so, o->call_graph, 0, 1);
	a.s.on_proc = on_proc;
	a.s.on_proc_ctx = &a;
	a.s.free_user = free_labels;
	/* the symbol session is started afresh every 5 minutes, or past SYM_HEAP_MAX of heap
	 * (at most every minute): what the programs that came and went left in it (their
	 * modules' symbols, resolved addresses, mapped files) is dropped, and what the live
	 * ones need is read again (well under a second of CPU on a busy machine) */
	a.s.renew_windows = (uint32_t)(RENEW_S / o->window_s);
	a.s.renew_min = (uint32_t)(RENEW_MIN_S / o->window_s);
	if (!a.s.renew_windows)
		a.s.renew_windows = 1;
	a.s.heap_max = SYM_HEAP_MAX;
	kp_add_value_type(&a.s.prof, "samples", "count");
	kp_add_value_type(&a.s.prof, "cpu_ns", "nanoseconds");
	a.s.prof.default_value = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	signal(SIGPIPE, SIG_IGN); /* a sink's closed connection is an error, not an end */
	sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		kiln_error("agent: cannot create a signalfd: %s", strerror(errno));
		goto out;
	}
	if (kc_collector_add_task(a.s.col, -1) < 0)
		goto out;
	kc_sampler_snapshot_comms(&a.s);
	if (kc_py_attach(a.s.py, a.s.col) == 0) {
		kc_py_set_poll(a.s.py, 200); /* records are also taken before each read (kc_py_sync) */
		kc_py_start(a.s.py);
	}
	if (kc_collector_start(a.s.col) < 0)
		goto out;
	ks_session_preload_kernel(a.s.sym);
	uint64_t t0 = kc_now_ns();
	open_window(&a, now_real(), t0);
	if (kc_collector_enable(a.s.col) < 0)
		goto out;
	if (o->verbose)
		kiln_note("agent: sampling every CPU at %u Hz, windows of %g s, to '%s'", o->freq, o->window_s, o->sink);
	uint64_t deadline = o->duration > 0 ? t0 + (uint64_t)(o->duration * 1e9) : 0;
	int stop = 0;
	while (!stop) {
		struct pollfd fd[2] = { { sfd, POLLIN, 0 }, { kc_collector_ready_fd(a.s.col), POLLIN, 0 } };
		uint64_t now = kc_now_ns();
		uint64_t until = a.end_mono + HOLD_NS;
		if (deadline && deadline < until)
			until = deadline;
		int64_t wait_ns = (int64_t)(until - now);
		if (wait_ns > (int64_t)LOOP_NS)
			wait_ns = LOOP_NS;
		if (wait_ns < 0)
			wait_ns = 0;
		if (poll(fd, 2, (int)(wait_ns / 1000000) + 1) < 0 && errno != EINTR) {
			kiln_error("agent: poll failed: %s", strerror(errno));
			break;
		}
		if (fd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				stop = 1;
				if (o->verbose)
					kiln_note("agent: %s: flushing the last window", strsignal((int)si.ssi_signo));
			}
		}
		/* what this read hands out: every record older than the reader's last pass
		 * (at most 100 ms ago) less 20 ms, so a window that ended HOLD_NS before the
		 * read started has all its records in after it, and closes on time even when
		 * no later sample closed it (a read that takes longer than real time, on a
		 * slow machine, only delays windows: its samples close them in order) */
		uint64_t before = kc_now_ns();
		kc_py_sync(a.s.py);
		kc_collector_read(a.s.col, 0, on_rec, &a);
		while (before >= a.end_mono + HOLD_NS)
			rotate(&a, a.end_mono);
		now = kc_now_ns();
		if (deadline && now >= deadline)
			stop = 1;
	}
	/* the partial last window: everything in the rings, up to now */
	uint64_t end_real = now_real();
	kc_collector_disable(a.s.col);
	kc_py_sync(a.s.py);
	kc_collector_read(a.s.col, 1, on_rec, &a);
	if (end_real > a.end_real)
		end_real = a.end_real;
	if (end_real < a.start_real)
		end_real = a.start_real;
	a.wait = 0; /* one last attempt at the sink; what it refuses stays for the next start */
	close_window(&a, end_real);
	kc_py_finish(a.s.py);
	rc = 0;
out:
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	fill_result(&a);
	kc_sampler_release(&a.s);
	if (a.sink_open)
		kst_close(&a.sink);
	ka_spool_close(&a.spool);
out_early:
	strbuf_release(&a.own);
	strbuf_release(&err);
	return rc;
}
