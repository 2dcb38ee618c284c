/* latency.c: uprobe/uretprobe tracing of function calls (see latency.h). */
#include "latency/latency.h"
#include "collect/child.h"
#include "collect/cmdrun.h"
#include "collect/collector.h"
#include "latency/lat_pair.h"
#include "latency/latency_bpf.h"
#include "symbols/symbols.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <asm/perf_regs.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHAIN 128
#define PROCESS_INTERVAL_MS 100

static const struct kc_event_def dummy_event = { "dummy", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY, "" };

/* A saved entry call chain (with stacks): user return addresses, innermost first. */
struct chain {
	uint32_t n;
	uint64_t ips[];
};

struct tracer {
	const struct lat_opts *o;
	struct lat_result *r;
	struct kc_collector *col;
	const struct kc_layout *layout;
	struct ks_session *sym;
	struct lat_pairer *pair;
	struct kc_probe *probes;
	uint64_t t0;
	/* per profile stack: calls and nanoseconds (the profile's samples at the end) */
	double *stack_calls, *stack_ns;
	size_t stack_alloc;
	size_t slow_cap;
	int target_pid;
	int root_exec_seen;       /* command mode: the root process has called exec */
	int32_t *pids;            /* the processes followed (open addressing, 0 = free) */
	size_t pids_size, pids_used;
	struct lat_fast *fast;    /* the in-kernel aggregation, or NULL */
	double *ex_sum;           /* fast mode: exact sums, minima and maxima per function */
	uint64_t *ex_min, *ex_max;
};

/* ---- the followed processes: probes fire in every process, only these count ---- */
static size_t pid_slot(const struct tracer *x, int32_t pid)
{
	size_t i = ((uint32_t)pid * 2654435761u) & (x->pids_size - 1);
	while (x->pids[i] && x->pids[i] != pid)
		i = (i + 1) & (x->pids_size - 1);
	return i;
}

static int pid_followed(const struct tracer *x, int32_t pid)
{
	return pid > 0 && x->pids_size && x->pids[pid_slot(x, pid)] == pid;
}

static void pid_follow(struct tracer *x, int32_t pid)
{
	if (pid <= 0 || pid_followed(x, pid))
		return;
	if ((x->pids_used + 1) * 2 > x->pids_size) {
		int32_t *old = x->pids;
		size_t osize = x->pids_size;
		x->pids_size = osize ? osize * 2 : 64;
		x->pids = xcalloc(x->pids_size, sizeof(int32_t));
		for (size_t i = 0; i < osize; i++)
			if (old[i])
				x->pids[pid_slot(x, old[i])] = old[i];
		free(old);
	}
	x->pids[pid_slot(x, pid)] = pid;
	x->pids_used++;
	x->r->processes = (unsigned)x->pids_used;
}

static int read_uprobe_type(uint32_t *type)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	unsigned v;
	if (!f)
		return kiln_error("this kernel has no uprobe event source (/sys/bus/event_source/devices/uprobe): "
				  "it needs CONFIG_UPROBE_EVENTS");
	if (fscanf(f, "%u", &v) != 1) {
		fclose(f);
		return kiln_error("cannot read /sys/bus/event_source/devices/uprobe/type");
	}
	fclose(f);
	*type = v;
	return 0;
}

/* ---- slowest calls: a min-heap on duration ---- */
static int slow_less(const struct lat_slow *a, const struct lat_slow *b)
{
	return a->dur_ns < b->dur_ns;
}

static void slow_down(struct lat_slow *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && slow_less(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && slow_less(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct lat_slow t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void slow_up(struct lat_slow *h, size_t i)
{
	while (i) {
		size_t p = (i - 1) / 2;
		if (!slow_less(&h[i], &h[p]))
			return;
		struct lat_slow t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

/* 1 when a call of dur would be among the slowest kept. */
static int slow_wants(const struct tracer *x, uint64_t dur)
{
	return x->slow_cap && (x->r->nslow < x->slow_cap || dur > x->r->slow[0].dur_ns);
}

static void slow_add(struct tracer *x, const struct lat_slow *s)
{
	struct lat_result *r = x->r;
	if (r->nslow < x->slow_cap) {
		r->slow[r->nslow] = *s;
		slow_up(r->slow, r->nslow++);
	} else {
		r->slow[0] = *s;
		slow_down(r->slow, r->nslow, 0);
	}
}

/* ---- symbols ---- */

/* The function containing addr (a return address: addr - 1 is looked up). */
static kp_frame_t frame_of(struct tracer *x, int pid, uint64_t addr)
{
	kp_frame_t out[8];
	int k = ks_resolve(x->sym, &x->r->prof, pid, addr - 1, 0, out, 8);
	return k > 0 ? out[0] : 0;
}

/* The profile stack of a call: root-first frames of the entry chain beyond the caller,
 * the caller, then the function itself. */
static kp_stack_t call_stack(struct tracer *x, int pid, uint32_t func, uint64_t ret_ip, const struct chain *ch)
{
	kp_frame_t tmp[8];
	kp_stack_t s = 0;
	struct kp_profile *p = &x->r->prof;
	/* ch->ips[0] is the function's entry; the chain misses the caller (the function
	 * has not pushed its frame pointer yet), which ret_ip gives */
	if (ch) {
		for (uint32_t i = ch->n; i-- > 1;) {
			int k = ks_resolve(x->sym, p, pid, ch->ips[i] - 1, 0, tmp, 8);
			while (k-- > 0)
				s = kp_stack_push(p, s, tmp[k]);
		}
	}
	/* kernels from 6.12 add the return address at a function's entry themselves */
	if (ret_ip && !(ch && ch->n >= 2 && ch->ips[1] == ret_ip)) {
		int k = ks_resolve(x->sym, p, pid, ret_ip - 1, 0, tmp, 8);
		while (k-- > 0)
			s = kp_stack_push(p, s, tmp[k]);
	}
	struct lat_fn *fn = &x->r->funcs[func].fn;
	struct kp_frame f = { 0 };
	f.name = kp_strz(p, fn->name);
	f.module = kp_strz(p, fn->path);
	return kp_stack_push(p, s, kp_frame(p, &f));
}

static void stack_account(struct tracer *x, kp_stack_t s, uint64_t dur)
{
	if (s >= x->stack_alloc) {
		size_t old = x->stack_alloc, n = old ? old : 1024;
		while (n <= s)
			n *= 2;
		x->stack_calls = xreallocarray(x->stack_calls, n, sizeof(double));
		x->stack_ns = xreallocarray(x->stack_ns, n, sizeof(double));
		memset(x->stack_calls + old, 0, (n - old) * sizeof(double));
		memset(x->stack_ns + old, 0, (n - old) * sizeof(double));
		x->stack_alloc = n;
	}
	x->stack_calls[s] += 1;
	x->stack_ns[s] += (double)dur;
}

static struct lat_caller *caller_get(struct lat_func_result *fr, kp_frame_t f)
{
	for (size_t i = 0; i < fr->ncallers; i++)
		if (fr->callers[i].frame == f)
			return &fr->callers[i];
	ALLOC_GROW(fr->callers, fr->ncallers + 1, fr->callers_alloc);
	struct lat_caller *c = &fr->callers[fr->ncallers++];
	c->frame = f;
	hdr_init(&c->h);
	return c;
}

/* ---- records ---- */

static void on_abandon(void *ctx, int32_t tid, const struct lat_frame *f, int why)
{
	struct tracer *x = ctx;
	struct lat_func_result *fr = &x->r->funcs[f->func];
	if (why == LAT_IN_PROGRESS)
		fr->in_progress++;
	else
		fr->never_returned++;
	free((void *)(uintptr_t)f->data);
}

static void on_return(struct tracer *x, const struct kc_sample *s, uint32_t func)
{
	struct lat_frame f;
	struct lat_func_result *fr = &x->r->funcs[func];
	uint64_t sp = s->regs[PERF_REG_X86_SP], ip = s->regs[PERF_REG_X86_IP];
	if (!lat_pair_return(x->pair, (int32_t)s->tid, func, sp, &f)) {
		fr->unmatched++;
		return;
	}
	uint64_t dur = s->time > f.t ? s->time - f.t : 0;
	struct chain *ch = (struct chain *)(uintptr_t)f.data;
	hdr_add(&fr->h, dur);
	kp_frame_t caller = 0;
	if (x->o->by_caller || slow_wants(x, dur))
		caller = frame_of(x, (int)s->pid, ip);
	if (x->o->by_caller)
		hdr_add(&caller_get(fr, caller)->h, dur);
	kp_stack_t st = 0;
	if (x->o->profile || (x->o->stacks && slow_wants(x, dur))) {
		st = call_stack(x, (int)s->pid, func, ip, ch);
		if (x->o->profile)
			stack_account(x, st, dur);
	}
	if (slow_wants(x, dur)) {
		struct lat_slow sl = { func, (int32_t)s->pid, (int32_t)s->tid,
				       f.t > x->t0 ? f.t - x->t0 : 0, dur, caller, x->o->stacks ? st : 0, ip };
		slow_add(x, &sl);
	}
	free(ch);
}

static void on_entry(struct tracer *x, const struct kc_sample *s, uint32_t func)
{
	struct chain *ch = NULL;
	if (x->o->stacks && s->nr) {
		uint32_t n = 0;
		ch = xmalloc(sizeof(*ch) + MAX_CHAIN * sizeof(uint64_t));
		for (uint64_t i = 0; i < s->nr && n < MAX_CHAIN; i++) {
			if (s->ips[i] >= PERF_CONTEXT_MAX)
				continue; /* context markers */
			ch->ips[n++] = s->ips[i];
		}
		ch->n = n;
	}
	lat_pair_entry(x->pair, (int32_t)s->tid, func, s->regs[PERF_REG_X86_SP], s->time, (uint64_t)(uintptr_t)ch);
}

static void on_record(void *ctx, const void *rec, size_t len)
{
	struct tracer *x = ctx;
	const struct perf_event_header *h = rec;
	if (h->type == PERF_RECORD_SAMPLE) {
		struct kc_sample s;
		int probe;
		if (kc_parse_sample(x->layout, rec, len, &s) < 0)
			return;
		probe = kc_collector_probe_of(x->col, s.id);
		if (probe < 0 || !(s.regs_mask & (1ull << PERF_REG_X86_SP)) || !pid_followed(x, (int32_t)s.pid))
			return;
		if ((int32_t)s.pid == x->target_pid && x->o->argv && !x->root_exec_seen)
			return; /* kiln's own copy before the exec */
		if (probe & 1)
			on_return(x, &s, (uint32_t)probe / 2);
		else
			on_entry(x, &s, (uint32_t)probe / 2);
		return;
	}
	struct kc_sideband sb;
	if (kc_parse_sideband(x->layout, rec, len, &sb) != 0)
		return;
	switch (sb.type) {
	case PERF_RECORD_MMAP2:
		if ((int32_t)sb.u.mmap2.pid != -1 && sb.u.mmap2.filename)
			ks_mmap(x->sym, (int)sb.u.mmap2.pid, sb.u.mmap2.addr, sb.u.mmap2.len, sb.u.mmap2.pgoff,
				sb.u.mmap2.filename, sb.u.mmap2.build_id, sb.u.mmap2.build_id_size,
				(int)sb.u.mmap2.prot);
		break;
	case PERF_RECORD_COMM:
		if (sb.u.comm.exec) {
			ks_exec(x->sym, (int)sb.u.comm.pid);
			if ((int32_t)sb.u.comm.pid == x->target_pid)
				x->root_exec_seen = 1;
		}
		break;
	case PERF_RECORD_FORK:
		if (!pid_followed(x, (int32_t)sb.u.task.ppid))
			break;
		if (sb.u.task.pid != sb.u.task.ppid) {
			ks_fork(x->sym, (int)sb.u.task.ppid, (int)sb.u.task.pid);
			pid_follow(x, (int32_t)sb.u.task.pid);
		}
		x->r->threads++;
		break;
	case PERF_RECORD_EXIT:
		lat_pair_thread_end(x->pair, (int32_t)sb.u.task.tid);
		break;
	default:
		break;
	}
}

/* ---- fast mode (BPF) ---- */

static void on_fast_slow(void *ctx, const struct lat_fast_slow *fs)
{
	struct tracer *x = ctx;
	if (!pid_followed(x, (int32_t)fs->tgid) || fs->func >= x->r->nfuncs || !slow_wants(x, fs->dur_ns))
		return;
	struct lat_slow sl = { fs->func, (int32_t)fs->tgid, (int32_t)fs->tid,
			       fs->start_ns > x->t0 ? fs->start_ns - x->t0 : 0, fs->dur_ns, 0, 0, fs->ret_ip };
	slow_add(x, &sl);
	if (x->r->nslow == x->slow_cap)
		lat_fast_set_slow(x->fast, x->r->slow[0].dur_ns + 1);
}

static void on_fast_stat(void *ctx, uint32_t tgid, uint32_t func, uint64_t count, uint64_t sum, uint64_t min,
			 uint64_t max, uint64_t unmatched, uint64_t never)
{
	struct tracer *x = ctx;
	if (!pid_followed(x, (int32_t)tgid) || func >= x->r->nfuncs)
		return;
	x->r->funcs[func].unmatched += unmatched;
	x->r->funcs[func].never_returned += never;
	if (!count)
		return;
	x->ex_sum[func] += (double)sum;
	if (min < x->ex_min[func])
		x->ex_min[func] = min;
	if (max > x->ex_max[func])
		x->ex_max[func] = max;
}

static void on_fast_bucket(void *ctx, uint32_t tgid, uint32_t func, uint32_t bucket, uint64_t n)
{
	struct tracer *x = ctx;
	if (pid_followed(x, (int32_t)tgid) && func < x->r->nfuncs)
		hdr_add_bucket(&x->r->funcs[func].h, bucket, n);
}

static void on_fast_open(void *ctx, uint32_t tgid, uint32_t tid, uint32_t func)
{
	struct tracer *x = ctx;
	char path[64];
	if (!pid_followed(x, (int32_t)tgid) || func >= x->r->nfuncs)
		return;
	snprintf(path, sizeof(path), "/proc/%u/task/%u", tgid, tid);
	if (!x->o->argv && access(path, F_OK) == 0)
		x->r->funcs[func].in_progress++;
	else
		x->r->funcs[func].never_returned++;
}

/* Loads the program unless per-call detail is wanted; r->fast_off says why not. */
static void fast_start(struct tracer *x)
{
	const char *why = NULL;
	if (x->o->stacks || x->o->by_caller || x->o->profile) {
		x->r->fast_off = "per-call detail asked for";
		return;
	}
	if (getenv("KILN_LATENCY_NO_BPF")) {
		x->r->fast_off = "KILN_LATENCY_NO_BPF is set";
		return;
	}
	x->fast = lat_fast_new(&why);
	if (!x->fast)
		x->r->fast_off = why;
}

/* Attaches the program to the probe events; -1 (plain mode from now) on failure. */
static int fast_attach(struct tracer *x)
{
	size_t n = kc_collector_probe_fds(x->col, NULL, NULL, 0);
	int *fds, *probe;
	fds = xcalloc(n ? n : 1, sizeof(int));
	probe = xcalloc(n ? n : 1, sizeof(int));
	kc_collector_probe_fds(x->col, fds, probe, n);
	for (size_t i = 0; i < n; i++) {
		if (lat_fast_attach(x->fast, fds[i], probe[i]) < 0) {
			lat_fast_free(x->fast);
			x->fast = NULL;
			x->r->fast_off = "the BPF program could not be attached to the probes";
			break;
		}
	}
	free(fds);
	free(probe);
	if (!x->fast)
		return -1;
	lat_fast_set_slow(x->fast, x->slow_cap ? 0 : UINT64_MAX);
	x->r->in_kernel = 1;
	x->ex_sum = xcalloc(x->r->nfuncs, sizeof(double));
	x->ex_min = xcalloc(x->r->nfuncs, sizeof(uint64_t));
	x->ex_max = xcalloc(x->r->nfuncs, sizeof(uint64_t));
	for (size_t i = 0; i < x->r->nfuncs; i++)
		x->ex_min[i] = UINT64_MAX;
	return 0;
}

static void fast_finish(struct tracer *x)
{
	struct lat_result *r = x->r;
	lat_fast_poll(x->fast, on_fast_slow, x);
	lat_fast_read(x->fast, on_fast_stat, on_fast_bucket, on_fast_open, x);
	r->lost += lat_fast_dropped(x->fast);
	for (size_t i = 0; i < r->nfuncs; i++) {
		struct hdr_hist *h = &r->funcs[i].h;
		if (!h->count || x->ex_min[i] == UINT64_MAX)
			continue;
		h->sum = x->ex_sum[i];
		h->min = x->ex_min[i];
		h->max = x->ex_max[i];
	}
}

/* ---- attaching ---- */

static int attach_process(struct tracer *x, int pid)
{
	char path[64];
	int rounds = 0, added, any = 0;
	int *seen = NULL;
	size_t nseen = 0, seen_alloc = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	do {
		DIR *d = opendir(path);
		struct dirent *de;
		added = 0;
		if (!d)
			break;
		while ((de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			int dup = 0;
			if (*end || tid <= 0)
				continue;
			for (size_t i = 0; i < nseen; i++)
				if (seen[i] == (int)tid)
					dup = 1;
			if (dup)
				continue;
			int rc = kc_collector_add_task(x->col, (int)tid);
			if (rc == -2)
				continue;
			if (rc < 0) {
				closedir(d);
				free(seen);
				return -1;
			}
			ALLOC_GROW(seen, nseen + 1, seen_alloc);
			seen[nseen++] = (int)tid;
			added++;
			any = 1;
		}
		closedir(d);
	} while (added && ++rounds < 10);
	free(seen);
	x->r->threads = (unsigned)nseen;
	if (!any)
		return kiln_error("process %d exited before kiln could attach to it", pid);
	return 0;
}

/* ---- the run ---- */

static int open_funcs(const struct lat_opts *o, struct lat_result *r, char **exe_out)
{
	struct lat_fn *fns = NULL;
	size_t n = 0, alloc = 0;
	char *exe = NULL;
	if (o->argv) {
		const char *cmd = o->argv[0];
		if (strchr(cmd, '/')) {
			exe = realpath(cmd, NULL);
		} else {
			const char *path = getenv("PATH");
			if (!path)
				path = "/usr/local/bin:/usr/bin:/bin";
			while (*path && !exe) {
				const char *c = strchr(path, ':');
				size_t l = c ? (size_t)(c - path) : strlen(path);
				char *cand = xasprintf("%.*s%s%s", (int)l, path, l ? "/" : "./", cmd);
				struct stat st;
				if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
					exe = realpath(cand, NULL);
				free(cand);
				if (!c)
					break;
				path = c + 1;
			}
		}
		if (!exe)
			return kiln_error("cannot find '%s'", cmd);
	} else {
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/exe", o->pid);
		exe = realpath(link, NULL);
		if (!exe)
			return kiln_error("cannot read the program of process %d (%s): is it running, and are you root?",
					  o->pid, strerror(errno));
	}
	/* a script: probe its interpreter? no: say so */
	if (lat_funcs_resolve(o->spec, exe, o->argv ? 0 : o->pid, &fns, &n, &alloc) < 0) {
		lat_funcs_free(fns, n);
		free(exe);
		return -1;
	}
	r->funcs = xcalloc(n, sizeof(*r->funcs));
	for (size_t i = 0; i < n; i++) {
		r->funcs[i].fn = fns[i];
		hdr_init(&r->funcs[i].h);
	}
	r->nfuncs = n;
	free(fns);
	*exe_out = exe;
	return 0;
}

static void make_profile(struct tracer *x)
{
	struct kp_profile *p = &x->r->prof;
	for (size_t s = 0; s < x->stack_alloc; s++) {
		if (!x->stack_calls[s])
			continue;
		double v[2] = { x->stack_calls[s], x->stack_ns[s] };
		kp_add_sample(p, (kp_stack_t)s, 0, 0, v);
	}
}

int lat_run(const struct lat_opts *o, struct lat_result *r)
{
	struct tracer x;
	struct kc_config cfg;
	struct kc_child ch = { -1, -1, -1 };
	sigset_t block, orig;
	int sfd = -1, rc = -1, done = 0;
	char *exe = NULL;
	uint32_t utype = 0;
	uint64_t deadline = 0;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	kp_profile_init(&r->prof);
	kp_add_value_type(&r->prof, "calls", "count");
	kp_add_value_type(&r->prof, "latency_ns", "nanoseconds");
	r->prof.default_value = 1;
	kp_meta_set(&r->prof, "kind", "latency");
	r->exit_code = 1;
	x.o = o;
	x.r = r;
	x.slow_cap = o->slowest;
	if (x.slow_cap)
		r->slow = xcalloc(x.slow_cap, sizeof(*r->slow));
	if (o->argv) {
		int e = kc_check_command(o->argv[0]);
		if (e) {
			r->exit_code = e;
			return -1;
		}
	} else {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d", o->pid);
		if (access(path, F_OK) != 0)
			return kiln_error("no process with pid %d; check the number with 'ps'", o->pid);
	}
	if (read_uprobe_type(&utype) < 0)
		return -1;
	if (open_funcs(o, r, &exe) < 0)
		return -1;
	free(exe);
	x.probes = xcalloc(2 * r->nfuncs, sizeof(*x.probes));
	for (size_t i = 0; i < r->nfuncs; i++) {
		for (int ret = 0; ret < 2; ret++) {
			struct kc_probe *pb = &x.probes[2 * i + (size_t)ret];
			pb->name = r->funcs[i].fn.name;
			pb->type = utype;
			pb->config = (uint64_t)ret; /* bit 0: retprobe */
			pb->config1 = (uint64_t)(uintptr_t)r->funcs[i].fn.path;
			pb->config2 = r->funcs[i].fn.offset;
		}
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = &dummy_event;
	cfg.period = 1;
	cfg.exclude_kernel = 1;
	cfg.regs_user_mask = (1ull << PERF_REG_X86_IP) | (1ull << PERF_REG_X86_SP);
	cfg.buffer_bytes = 16u << 20;
	cfg.enable_on_exec = o->argv != NULL;
	cfg.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_REGS_USER |
			  (o->stacks ? PERF_SAMPLE_CALLCHAIN : 0);
	cfg.probes = x.probes;
	cfg.nprobes = (unsigned)(2 * r->nfuncs);
	x.col = kc_collector_new(&cfg);
	x.layout = kc_collector_layout(x.col);
	struct ks_options so = { 0, 1, 0, 1 };
	x.sym = ks_session_new(&so);
	struct lat_pair_ops ops = { on_abandon };
	x.pair = lat_pairer_new(&ops, &x);

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		kiln_error("cannot create a signalfd: %s", strerror(errno));
		goto out;
	}
	if (o->argv) {
		if (kc_child_spawn(&ch, o->argv, &orig) < 0)
			goto out;
		int arc = kc_collector_add_task(x.col, ch.pid);
		if (arc < 0) {
			if (arc == -2)
				kiln_error("cannot start '%s': it exited before it could run", o->argv[0]);
			kc_child_kill(&ch);
			ch.pid = -1;
			goto out;
		}
		r->threads = 1;
		x.target_pid = ch.pid;
		pid_follow(&x, ch.pid);
	} else {
		if (attach_process(&x, o->pid) < 0)
			goto out;
		x.target_pid = o->pid;
		pid_follow(&x, o->pid);
	}
	/* fast mode: one CPU's probe events carry the BPF program (it sees every hit);
	 * else, or when it cannot be attached, every CPU's write samples */
	fast_start(&x);
	if (x.fast ? kc_collector_add_probes(x.col, 0, 1) < 0 : kc_collector_add_probes(x.col, 0, UINT_MAX) < 0) {
		if (ch.pid > 0) {
			kc_child_kill(&ch);
			ch.pid = -1;
		}
		goto out;
	}
	if (x.fast && fast_attach(&x) < 0 && kc_collector_add_probes(x.col, 1, UINT_MAX) < 0) {
		if (ch.pid > 0) {
			kc_child_kill(&ch);
			ch.pid = -1;
		}
		goto out;
	}
	r->events = kc_collector_stats(x.col)->events;
	if (kc_collector_start(x.col) < 0) {
		if (ch.pid > 0) {
			kc_child_kill(&ch);
			ch.pid = -1;
		}
		goto out;
	}
	x.t0 = kc_now_ns();
	if (o->argv) {
		int e = kc_child_release(&ch);
		if (e) {
			kiln_error("cannot run '%s': %s", o->argv[0], strerror(e));
			r->exit_code = e == ENOENT ? 127 : 126;
			ch.pid = -1;
			goto out;
		}
		r->target_ran = 1;
	} else {
		ks_load_proc_maps(x.sym, o->pid);
		if (kc_collector_enable(x.col) < 0)
			goto out;
	}
	if (o->duration > 0)
		deadline = x.t0 + (uint64_t)(o->duration * 1e9);
	while (!done) {
		struct pollfd fd[2] = { { sfd, POLLIN, 0 }, { kc_collector_ready_fd(x.col), POLLIN, 0 } };
		if (poll(fd, 2, PROCESS_INTERVAL_MS) < 0 && errno != EINTR)
			break;
		if (fd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD) {
					if (ch.pid > 0 && waitpid(ch.pid, &r->status, WNOHANG) == ch.pid) {
						ch.pid = -1;
						done = 1;
					}
					continue;
				}
				if (!o->argv)
					done = 1;
				else if (ch.pid > 0 && si.ssi_code != SI_KERNEL)
					kill(ch.pid, sig); /* sent to kiln alone: pass it on */
			}
		}
		if (o->stop && *o->stop)
			done = 1;
		if (!o->argv && kill(o->pid, 0) != 0 && errno == ESRCH)
			done = 1;
		if (deadline && kc_now_ns() >= deadline) {
			if (ch.pid > 0)
				kill(ch.pid, SIGTERM);
			else
				done = 1;
			deadline = 0;
		}
		kc_collector_read(x.col, 0, on_record, &x);
		if (x.fast)
			lat_fast_poll(x.fast, on_fast_slow, &x);
	}
	r->seconds = (double)(kc_now_ns() - x.t0) / 1e9;
	kc_collector_disable(x.col);
	kc_collector_read(x.col, 1, on_record, &x);
	if (ch.pid > 0) {
		while (waitpid(ch.pid, &r->status, 0) < 0 && errno == EINTR)
			;
		ch.pid = -1;
	}
	/* the command has exited: what is open never returned; attached: in progress */
	lat_pair_finish(x.pair, o->argv != NULL || kill(o->pid, 0) != 0);
	r->lost = kc_collector_stats(x.col)->lost;
	if (x.fast)
		fast_finish(&x);
	/* callers of the slowest calls, now that every mapping is known */
	for (size_t i = 0; i < r->nslow; i++)
		if (!r->slow[i].caller && r->slow[i].ret_ip)
			r->slow[i].caller = frame_of(&x, r->slow[i].pid, r->slow[i].ret_ip);
	make_profile(&x);
	/* slowest first */
	for (size_t n = r->nslow; n > 1; n--) {
		struct lat_slow t = r->slow[0];
		r->slow[0] = r->slow[n - 1];
		r->slow[n - 1] = t;
		slow_down(r->slow, n - 1, 0);
	}
	rc = 0;
out:
	if (ch.pid > 0)
		kc_child_kill(&ch);
	if (sfd >= 0) {
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		close(sfd);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	lat_pairer_free(x.pair);
	lat_fast_free(x.fast);
	free(x.ex_sum);
	free(x.ex_min);
	free(x.ex_max);
	if (x.col)
		kc_collector_free(x.col);
	if (x.sym)
		ks_session_free(x.sym);
	free(x.probes);
	free(x.pids);
	free(x.stack_calls);
	free(x.stack_ns);
	return rc;
}

void lat_result_release(struct lat_result *r)
{
	for (size_t i = 0; i < r->nfuncs; i++) {
		struct lat_func_result *f = &r->funcs[i];
		free(f->fn.name);
		free(f->fn.path);
		hdr_release(&f->h);
		for (size_t k = 0; k < f->ncallers; k++)
			hdr_release(&f->callers[k].h);
		free(f->callers);
	}
	free(r->funcs);
	free(r->slow);
	kp_profile_release(&r->prof);
	memset(r, 0, sizeof(*r));
}
