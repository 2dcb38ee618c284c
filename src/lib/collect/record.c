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
#define DEFAULT_STACK_COPY 2048           /* user stack bytes per sample for the leaf fix */
#define MAX_FRAMES 1024                   /* addresses of one call chain (the kernel gives at most 127 of each kind + 1) */
#define MAX_INLINE 64                     /* frames one address may expand into */
#define MEMO_MAX (1u << 19)               /* entries of the stack memo (24 MiB of table at most) */

/* ---- a small map from int keys (pids, tids) to records ---- */
struct task {
	int32_t key;       /* tid (threads) or pid (processes); slot used when set */
	int used;
	int32_t pid;       /* threads: their process */
	uint32_t pthread;  /* threads: profile thread index, 0 until first sampled */
	uint32_t space;    /* processes: address-space id for the memo, 0 = none yet */
	int maps_known;    /* processes: maps read from /proc or born while recording */
	int sampled;       /* has samples (what -a's summary counts) */
	char comm[32];     /* threads: current name */
};

struct task_map {
	struct task *slots;
	uint32_t cap, n;
};

static struct task *task_find(struct task_map *m, int32_t key, int create)
{
	if (m->cap == 0) {
		if (!create)
			return NULL;
		m->cap = 64;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
	}
	uint32_t i = ((uint32_t)key * 2654435761u) & (m->cap - 1);
	while (m->slots[i].used) {
		if (m->slots[i].key == key)
			return &m->slots[i];
		i = (i + 1) & (m->cap - 1);
	}
	if (!create)
		return NULL;
	if ((m->n + 1) * 2 > m->cap) {
		struct task_map bigger = { xcalloc(m->cap * 2, sizeof(*m->slots)), m->cap * 2, 0 };
		for (uint32_t k = 0; k < m->cap; k++)
			if (m->slots[k].used)
				*task_find(&bigger, m->slots[k].key, 1) = m->slots[k];
		free(m->slots);
		*m = bigger;
		return task_find(m, key, 1);
	}
	m->slots[i].used = 1;
	m->slots[i].key = key;
	m->n++;
	return &m->slots[i];
}

/* ---- the stack memo ----
 * Resolving every address of every sample (symbol lookup, inline expansion, interning
 * frames and stack nodes) is the main per-sample cost. The same (caller stack, address)
 * in the same address space always gives the same stack, so the memo maps that triple
 * to the resulting stack id. An address space is a process between two changes of its
 * maps (exec, mmap, fork); the kernel is space 0. */
struct memo_ent {
	uint64_t addr;
	uint32_t parent, space;
	kp_stack_t stack;  /* 0 = empty slot (a pushed address always gives a node >= 1) */
};

struct memo {
	struct memo_ent *e;
	uint32_t cap, n;
};

static inline uint32_t memo_hash(uint64_t addr, uint32_t parent, uint32_t space)
{
	uint64_t h = (addr ^ ((uint64_t)parent << 32 | space)) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static struct memo_ent *memo_slot(struct memo *m, uint64_t addr, uint32_t parent, uint32_t space)
{
	uint32_t i = memo_hash(addr, parent, space) & (m->cap - 1);
	while (m->e[i].stack &&
	       (m->e[i].addr != addr || m->e[i].parent != parent || m->e[i].space != space))
		i = (i + 1) & (m->cap - 1);
	return &m->e[i];
}

static void memo_grow(struct memo *m)
{
	struct memo big = { xcalloc(m->cap ? m->cap * 2 : 4096, sizeof(struct memo_ent)),
			    m->cap ? m->cap * 2 : 4096, m->n };
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->e[i].stack)
			*memo_slot(&big, m->e[i].addr, m->e[i].parent, m->e[i].space) = m->e[i];
	free(m->e);
	*m = big;
}

/* ---- recording state ---- */
struct recorder {
	const struct kc_record_opts *o;
	struct kp_profile prof;
	struct ks_session *sym;
	struct kp_writer *w;
	struct kc_collector *col;
	const struct kc_layout *layout;
	struct task_map threads, procs;
	struct memo memo;
	uint32_t next_space;
	uint64_t t0;              /* CLOCK_MONOTONIC ns when recording started */
	double vals[KP_MAX_VALUES];
	uint64_t samples, leaf_fixed;
	uint64_t *uaddr, *kaddr;  /* a sample's user and kernel addresses, innermost first */
	/* issue 6: DWARF unwinding and off-CPU time */
	uint64_t *dwaddr;         /* the DWARF-unwound user addresses of a sample */
	uint64_t truncated, spliced, dwarf_stacks;
	uint64_t stacks;          /* stacks built (samples and switch-out samples) */
	kp_frame_t trunc_frame;   /* "[truncated]" at the root of stacks that end early */
	struct kc_offcpu *oc;     /* --off-cpu: intervals off the CPU */
	int v_cpu, v_off, v_wall; /* value indexes (-1 when absent) */
	struct kc_py *py;         /* issue 10: Python frames (pyframes.h) */
	int lazy_maps;            /* -a, -C, -t: read the maps of a process kiln did not start
				   * from /proc at its first sample */
};

static void read_comm(int pid, int tid, char *out, size_t size)
{
	char path[64];
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	f = fopen(path, "re");
	out[0] = '\0';
	if (f) {
		if (fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
	if (!out[0] && tid == 0)
		snprintf(out, size, "swapper"); /* the idle task, as perf names it */
	if (!out[0])
		snprintf(out, size, ":%d", tid);
}

static struct task *thread_get(struct recorder *r, int32_t pid, int32_t tid)
{
	struct task *t = task_find(&r->threads, tid, 0);
	if (!t) {
		t = task_find(&r->threads, tid, 1);
		t->pid = pid;
		read_comm(pid, tid, t->comm, sizeof(t->comm));
	}
	task_find(&r->procs, pid, 1);
	return t;
}

/* The current address-space id of process pid. */
static uint32_t space_of(struct recorder *r, int32_t pid)
{
	struct task *pr = task_find(&r->procs, pid, 1);
	if (!pr->space)
		pr->space = ++r->next_space;
	return pr->space;
}

/* The maps of pid changed: what the memo knows about its addresses no longer holds. */
static void space_changed(struct recorder *r, int32_t pid)
{
	task_find(&r->procs, pid, 1)->space = 0;
}

static void set_comm(struct task *t, const char *comm)
{
	if (strcmp(t->comm, comm)) {
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
		t->pthread = 0; /* a new profile thread at the next sample */
	}
}

static void on_comm(struct recorder *r, const struct kc_sideband *sb)
{
	int32_t pid = (int32_t)sb->u.comm.pid, tid = (int32_t)sb->u.comm.tid;
	struct task *t = task_find(&r->threads, tid, 0);
	if (sb->u.comm.exec) {
		ks_exec(r->sym, pid);
		kc_py_exec(r->py, pid);
		space_changed(r, pid);
	}
	if (!t) {
		t = task_find(&r->threads, tid, 1);
		t->pid = pid;
		snprintf(t->comm, sizeof(t->comm), "%s", sb->u.comm.comm ? sb->u.comm.comm : "");
	} else {
		t->pid = pid;
		set_comm(t, sb->u.comm.comm ? sb->u.comm.comm : "");
	}
	task_find(&r->procs, pid, 1);
}

static void on_fork(struct recorder *r, const struct kc_sideband *sb)
{
	int32_t pid = (int32_t)sb->u.task.pid, ppid = (int32_t)sb->u.task.ppid;
	int32_t tid = (int32_t)sb->u.task.tid, ptid = (int32_t)sb->u.task.ptid;
	struct task *parent = task_find(&r->threads, ptid, 0);
	char comm[32];
	if (parent)
		snprintf(comm, sizeof(comm), "%s", parent->comm);
	else
		read_comm(pid, tid, comm, sizeof(comm));
	if (pid != ppid) {
		ks_fork(r->sym, ppid, pid);
		kc_py_fork(r->py, ppid, pid);
		space_changed(r, pid);
		task_find(&r->procs, pid, 1)->maps_known = 1;
	}
	struct task *t = task_find(&r->threads, tid, 1);
	t->pid = pid;
	t->pthread = 0;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	task_find(&r->procs, pid, 1);
}

static void on_mmap(struct recorder *r, const struct kc_sideband *sb)
{
	const char *path = sb->u.mmap2.filename;
	if ((int32_t)sb->u.mmap2.pid == -1 || !path)
		return; /* kernel maps: the symbolizer reads /proc/kallsyms */
	ks_mmap(r->sym, (int)sb->u.mmap2.pid, sb->u.mmap2.addr, sb->u.mmap2.len, sb->u.mmap2.pgoff, path,
		sb->u.mmap2.build_id, sb->u.mmap2.build_id_size, (int)sb->u.mmap2.prot);
	kc_py_mmap(r->py, (int)sb->u.mmap2.pid, sb->u.mmap2.addr, sb->u.mmap2.pgoff, path);
	space_changed(r, (int32_t)sb->u.mmap2.pid);
}

/* The stack of parent extended by the frames of addr (inlined functions expanded):
 * from the memo, or resolved and remembered. */
static kp_stack_t push_addr(struct recorder *r, kp_stack_t parent, uint32_t space, int pid, uint64_t addr,
			    int kernel)
{
	kp_frame_t tmp[MAX_INLINE];
	struct memo_ent *e;
	if (r->memo.n >= MEMO_MAX) {
		/* a cache, not a record: start again rather than grow without bound */
		memset(r->memo.e, 0, r->memo.cap * sizeof(*r->memo.e));
		r->memo.n = 0;
	}
	if ((r->memo.n + 1) * 2 > r->memo.cap)
		memo_grow(&r->memo);
	e = memo_slot(&r->memo, addr, parent, space);
	if (e->stack)
		return e->stack;
	int k = ks_resolve(r->sym, &r->prof, pid, addr, kernel, tmp, MAX_INLINE);
	/* an address that has no name becomes one frame per module ("[cc1]"), as in
	 * FlameGraph: keeping each address would make a frame and a stack node per
	 * instruction of a stripped binary (memory and file size grow with the samples) */
	for (int i = 0; i < k; i++) {
		const struct kp_frame *f = &r->prof.frames[tmp[i]];
		if ((f->flags & KP_FRAME_UNKNOWN) && f->addr) {
			struct kp_frame g = *f;
			g.addr = 0;
			tmp[i] = kp_frame(&r->prof, &g);
		}
	}
	kp_stack_t s = parent;
	for (int i = k; i-- > 0;)
		s = kp_stack_push(&r->prof, s, tmp[i]);
	/* an address outside any file may be named later (a JIT writes its map as it
	 * goes): remember only what came from a file */
	if (s == parent || k < 1)
		return s;
	const struct kp_frame *f0 = &r->prof.frames[tmp[0]];
	if ((f0->flags & KP_FRAME_UNKNOWN) && !kernel && kp_str_get(&r->prof, f0->module)[0] != '/')
		return s;
	e->addr = addr;
	e->parent = parent;
	e->space = space;
	e->stack = s;
	r->memo.n++;
	return s;
}

static void on_sample(struct recorder *r, const void *rec, size_t len)
{
	struct kc_sample s;
	size_t nk = 0, nu = 0;
	uint64_t ctx = PERF_CONTEXT_USER;
	if (kc_parse_sample(r->layout, rec, len, &s) < 0)
		return;
	struct task *t = thread_get(r, (int32_t)s.pid, (int32_t)s.tid);
	if (r->lazy_maps && (int32_t)s.pid > 0) {
		/* a process that was running before the recording: its maps from /proc */
		struct task *pr = task_find(&r->procs, (int32_t)s.pid, 1);
		if (!pr->maps_known) {
			pr->maps_known = 1;
			ks_load_proc_maps(r->sym, (int)s.pid);
			space_changed(r, (int32_t)s.pid);
		}
	}
	if (!t->pthread)
		t->pthread = kp_add_thread(&r->prof, t->pid, (int32_t)s.tid, t->comm);
	if (!t->sampled && r->lazy_maps) {
		t->sampled = 1;
		task_find(&r->procs, t->pid, 1)->sampled = 1;
	}

	/* split the call chain into kernel and user addresses, innermost first */
	if (!s.nr) {
		if (s.misc & PERF_RECORD_MISC_KERNEL)
			r->kaddr[nk++] = s.ip;
		else
			r->uaddr[nu++] = s.ip;
	}
	for (uint64_t i = 0; i < s.nr; i++) {
		uint64_t ip = s.ips[i];
		if (ip >= (uint64_t)PERF_CONTEXT_MAX) {
			ctx = ip;
			continue;
		}
		if (ctx == PERF_CONTEXT_KERNEL) {
			if (nk < MAX_FRAMES)
				r->kaddr[nk++] = ip;
		} else if (ctx == PERF_CONTEXT_USER) {
			if (nu < MAX_FRAMES - 1)
				r->uaddr[nu++] = ip;
		}
	}

	/* --call-graph dwarf/auto: the user stack from CFI (issue 6) */
	int truncated = 0, unwound = 0;
	if (r->o->call_graph != KC_CG_FP) {
		struct kc_unwind_result ur;
		int n = kc_unwind_user(r->sym, r->o->call_graph, &s, r->uaddr, nu, r->dwaddr, MAX_FRAMES - 1, &ur);
		if (n > 0) {
			memcpy(r->uaddr, r->dwaddr, (size_t)n * sizeof(uint64_t));
			nu = (size_t)n;
			unwound = 1;
			truncated = !ur.complete;
			r->spliced += (uint64_t)ur.spliced;
			r->dwarf_stacks++;
		} else if (nu) {
			truncated = 1; /* user frames but no registers or stack copy to unwind them */
		}
	}

	/* the leaf-frame fix: a frame-pointer walk misses the caller of a function that
	 * sets up no frame (or is in its prologue/epilogue); the CFI of the innermost frame
	 * names the true return address */
	if (!unwound && nu && s.stack && s.stack_size && (s.regs_mask & (1ull << PERF_REG_X86_IP)) &&
	    s.regs[PERF_REG_X86_IP] == r->uaddr[0]) {
		struct ks_regs regs;
		uint64_t ret = 0;
		memset(&regs, 0, sizeof(regs));
		for (int i = 0; i < 24; i++)
			regs.regs[i] = s.regs[i];
		regs.mask = s.regs_mask & ((1ull << 24) - 1);
		if (ks_unwind_leaf(r->sym, (int)s.pid, &regs, s.stack, s.stack_size, &ret) == 0 && ret &&
		    (nu < 2 || ret != r->uaddr[1])) {
			memmove(r->uaddr + 2, r->uaddr + 1, (nu - 1) * sizeof(uint64_t));
			r->uaddr[1] = ret;
			nu++;
			r->leaf_fixed++;
		}
	}

	/* the stack root first: user frames from the outermost, then kernel frames; return
	 * addresses (all but a chain's first) look up addr - 1, the call instruction */
	kp_stack_t stack = 0;
	uint32_t space = nu ? space_of(r, (int32_t)s.pid) : 0;
	r->stacks++;
	if (truncated) {
		/* never silently cut: the stack hangs under a root that says so */
		if (!r->trunc_frame)
			r->trunc_frame = kp_frame_named(&r->prof, "[truncated]", 11, KP_FRAME_TRUNCATED);
		stack = kp_stack_push(&r->prof, 0, r->trunc_frame);
		r->truncated++;
	}
	for (size_t i = nu; i-- > 0;)
		stack = push_addr(r, stack, space, (int)s.pid, i ? r->uaddr[i] - 1 : r->uaddr[i], 0);
	for (size_t i = nk; i-- > 0;)
		stack = push_addr(r, stack, 0, (int)s.pid, i ? r->kaddr[i] - 1 : r->kaddr[i], 1);

	stack = kc_py_stack(r->py, (int)s.pid, (int)s.tid, s.time, stack, truncated);
	uint64_t when = s.time > r->t0 ? s.time - r->t0 : 0;
	if (r->oc && kc_collector_is_switch_sample(r->col, s.id)) {
		kc_offcpu_out_stack(r->oc, (int32_t)s.tid, t->pthread, when, stack);
		return;
	}
	r->vals[0] = 1;
	r->vals[1] = (double)s.period;
	if (r->oc) {
		r->vals[r->v_off] = 0;
		r->vals[r->v_wall] = (double)s.period;
	}
	kp_add_sample(&r->prof, stack, t->pthread, when, r->vals);
	r->samples++;
}

/* --off-cpu: a thread leaves the CPU (preempted or blocked) or comes back. */
static void on_switch(struct recorder *r, const struct kc_sideband *sb)
{
	uint64_t when = sb->sid.time > r->t0 ? sb->sid.time - r->t0 : 0;
	int32_t tid = (int32_t)sb->sid.tid;
	if (sb->u.sw.out) {
		struct task *t = task_find(&r->threads, tid, 0);
		kc_offcpu_out(r->oc, tid, t ? t->pthread : 0, when, sb->u.sw.preempt);
	} else {
		kc_offcpu_in(r->oc, tid, when);
	}
}

static void on_record(void *ctx, const void *rec, size_t len)
{
	struct recorder *r = ctx;
	const struct perf_event_header *h = rec;
	struct kc_sideband sb;
	if (h->type == PERF_RECORD_SAMPLE) {
		on_sample(r, rec, len);
		return;
	}
	if (kc_parse_sideband(r->layout, rec, len, &sb) != 0)
		return;
	switch (sb.type) {
	case PERF_RECORD_COMM:
		on_comm(r, &sb);
		break;
	case PERF_RECORD_FORK:
		on_fork(r, &sb);
		break;
	case PERF_RECORD_MMAP2:
		on_mmap(r, &sb);
		break;
	case PERF_RECORD_SWITCH:
		if (r->oc)
			on_switch(r, &sb);
		break;
	case PERF_RECORD_EXIT:
		if (sb.u.task.pid == sb.u.task.tid)
			kc_py_exit(r->py, (int)sb.u.task.pid);
		if (r->oc)
			kc_offcpu_exit(r->oc, (int32_t)sb.u.task.tid);
		break;
	default:
		break; /* EXIT, LOST (counted by the collector), THROTTLE, ... */
	}
}

/* ---- starting the target ---- */

static double tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* ---- attaching ---- */

static int attach_process(struct recorder *r, int pid)
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
			if (task_find(&r->threads, (int32_t)tid, 0))
				continue;
			int rc = kc_collector_add_task(r->col, (int)tid);
			if (rc == -2)
				continue; /* the thread ended meanwhile */
			if (rc < 0) {
				closedir(d);
				return -1;
			}
			struct task *t = task_find(&r->threads, (int32_t)tid, 1);
			t->pid = pid;
			read_comm(pid, (int)tid, t->comm, sizeof(t->comm));
			added++;
		}
		closedir(d);
	} while (added && ++rounds < 10);
	if (!task_find(&r->threads, pid, 0))
		return kiln_error("no process with pid %d; check the number with 'ps'", pid);
	task_find(&r->procs, pid, 1);
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
static int attach_thread(struct recorder *r, int tid)
{
	int pid = tgid_of(tid);
	if (pid <= 0)
		return kiln_error("no thread with id %d; list a process's threads with 'ps -T -p PID'", tid);
	int rc = kc_collector_add_task(r->col, tid);
	if (rc == -2)
		return kiln_error("no thread with id %d; list a process's threads with 'ps -T -p PID'", tid);
	if (rc < 0)
		return -1;
	struct task *t = task_find(&r->threads, tid, 1);
	t->pid = pid;
	read_comm(pid, tid, t->comm, sizeof(t->comm));
	task_find(&r->procs, pid, 1);
	return 0;
}

/* System-wide: names every thread running now from /proc (as perf synthesizes COMM
 * records), so that a thread that ends before its samples are read keeps its name. */
static void snapshot_comms(struct recorder *r)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end, path[64];
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task", pid);
		DIR *td = opendir(path);
		struct dirent *te;
		if (!td)
			continue;
		while ((te = readdir(td))) {
			long tid = strtol(te->d_name, &end, 10);
			if (*end || tid <= 0 || task_find(&r->threads, (int32_t)tid, 0))
				continue;
			struct task *t = task_find(&r->threads, (int32_t)tid, 1);
			t->pid = (int32_t)pid;
			read_comm((int)pid, (int)tid, t->comm, sizeof(t->comm));
		}
		closedir(td);
	}
	closedir(d);
}

/* Whether the recording takes every process on its CPUs (-a; -C without a target). */
static int is_system_wide(const struct kc_record_opts *o)
{
	return o->system_wide || (o->ncpus && !o->argv && !o->npids && !o->ntids);
}

/* ---- metadata ---- */

static void set_meta(struct recorder *r, const struct kc_event_def *ev, unsigned freq)
{
	struct kp_profile *p = &r->prof;
	struct strbuf sb = STRBUF_INIT;
	struct utsname u;
	char buf[128];
	time_t now = time(NULL);
	struct tm tm;
	kp_meta_set(p, "kind", "cpu");
	kp_meta_set(p, "event", ev->name);
	if (r->o->period) {
		/* a fixed period: the rate it makes for a timer event */
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->o->period);
		kp_meta_set(p, "period", buf);
		if (!strcmp(ev->unit, "ns")) {
			snprintf(buf, sizeof(buf), "%.0f", 1e9 / (double)r->o->period);
			kp_meta_set(p, "frequency", buf);
		}
	} else {
		snprintf(buf, sizeof(buf), "%u", freq);
		kp_meta_set(p, "frequency", buf);
	}
	if (is_system_wide(r->o))
		kp_meta_set(p, "system_wide", "1");
	if (r->o->ncpus) {
		for (size_t i = 0; i < r->o->ncpus; i++)
			strbuf_addf(&sb, "%s%d", i ? "," : "", r->o->cpus[i]);
		kp_meta_set(p, "cpus", sb.buf);
		strbuf_reset(&sb);
	}
	if (r->o->ntids) {
		for (size_t i = 0; i < r->o->ntids; i++)
			strbuf_addf(&sb, "%s%d", i ? "," : "", r->o->tids[i]);
		kp_meta_set(p, "tids", sb.buf);
		strbuf_reset(&sb);
	}
	if (r->o->argv) {
		for (char **a = r->o->argv; *a; a++) {
			if (a != r->o->argv)
				strbuf_addch(&sb, ' ');
			strbuf_addstr(&sb, *a);
		}
		kp_meta_set(p, "command", sb.buf);
	} else if (r->o->npids) {
		for (size_t i = 0; i < r->o->npids; i++)
			strbuf_addf(&sb, "%s%d", i ? "," : "", r->o->pids[i]);
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
static void set_load_meta(struct recorder *r, int target_reaped)
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
static void set_package_meta(struct recorder *r)
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
static void set_file_meta(struct recorder *r)
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

static void set_end_meta(struct recorder *r, uint64_t ns, uint64_t lost)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ns);
	kp_meta_set(&r->prof, "duration_ns", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lost);
	kp_meta_set(&r->prof, "lost_samples", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->leaf_fixed);
	kp_meta_set(&r->prof, "leaf_frames_recovered", buf);
	kp_meta_set(&r->prof, "call_graph", r->o->call_graph == KC_CG_FP ? "fp" :
			  r->o->call_graph == KC_CG_DWARF ? "dwarf" : "auto");
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

static void recorder_release(struct recorder *r)
{
	kc_collector_free(r->col);
	if (r->sym)
		ks_session_free(r->sym);
	kp_profile_release(&r->prof);
	free(r->threads.slots);
	free(r->procs.slots);
	free(r->memo.e);
	free(r->uaddr);
	free(r->kaddr);
	free(r->dwaddr);
	kc_offcpu_free(r->oc);
	kc_py_free(r->py);
}

/* The state of one recording beyond the profile: the target, signals, the output. */
struct run {
	struct recorder r;
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
	if (o->call_graph == KC_CG_FP) {
		cfg->regs_user_mask = (1ull << PERF_REG_X86_IP) | (1ull << PERF_REG_X86_SP) | (1ull << PERF_REG_X86_BP);
		cfg->stack_user_size = o->stack_user_size ? o->stack_user_size : DEFAULT_STACK_COPY;
		cfg->buffer_bytes = 1u << 20;
	} else {
		/* DWARF: every register, a large stack copy, rings that hold ~250 ms of it */
		cfg->regs_user_mask = kc_dwarf_regs_mask();
		cfg->stack_user_size = o->stack_user_size ? o->stack_user_size : KC_DWARF_STACK_DEFAULT;
		/* auto at high rates: half the copy, so the kernel's rings and kiln keep up
		 * (stacks the copy cannot hold are continued with frame pointers or counted) */
		if (!o->stack_user_size && o->call_graph == KC_CG_AUTO && cfg->freq > KC_DWARF_HIGH_FREQ)
			cfg->stack_user_size = KC_DWARF_STACK_DEFAULT / 2;
		cfg->buffer_bytes = 8u << 20;
	}
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
	struct recorder *r = &x->r;
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
		struct task *t = task_find(&r->threads, x->ch.pid, 1);
		t->pid = x->ch.pid;
		snprintf(t->comm, sizeof(t->comm), "%s", o->argv[0]);
		task_find(&r->procs, x->ch.pid, 1);
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
		snapshot_comms(r);
	if (kc_py_attach(r->py, r->col) == 0)
		kc_py_start(r->py);
	for (size_t i = 0; !o->argv && i < o->npids; i++)
		kc_py_attach_pid(r->py, o->pids[i]);
	if (kc_collector_start(r->col) < 0) {
		kill_target(x);
		return -1;
	}
	x->had_old = stat(x->out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	r->w = kp_writer_open(x->out);
	if (!r->w) {
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
	set_meta(r, ev, o->freq ? o->freq : 999);
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
			if (pid > 0 && !task_find(&r->procs, pid, 1)->maps_known) {
				task_find(&r->procs, pid, 1)->maps_known = 1;
				ks_load_proc_maps(r->sym, pid);
				space_changed(r, pid);
			}
		}
		for (size_t i = 0; i < o->npids; i++) {
			ks_load_proc_maps(r->sym, o->pids[i]);
			space_changed(r, o->pids[i]);
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
	struct recorder *r = &x->r;
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
		kc_collector_read(r->col, 0, on_record, r);
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
			if (kp_writer_flush(r->w, &r->prof, 1) < 0) {
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
	struct recorder *r = &x->r;
	struct rusage ru;
	int rc = -1;
	uint64_t t_end = kc_now_ns();
	kc_collector_disable(r->col);
	kc_py_sync(r->py);
	kc_collector_read(r->col, 1, on_record, r);
	if (r->oc)
		kc_offcpu_finish(r->oc, t_end - r->t0);
	const struct kc_stats *cs = kc_collector_stats(r->col);
	set_end_meta(r, t_end - r->t0, cs->lost);
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
	if (kp_writer_close(r->w, &r->prof) == 0 && !x->write_failed) {
		struct stat st;
		if (stat(x->out, &st) == 0)
			res->file_bytes = (unsigned long long)st.st_size;
		rc = 0;
	}
	r->w = NULL;
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
	x.r.o = o;
	kp_profile_init(&x.r.prof);
	make_config(o, ev, &cfg);
	x.r.col = kc_collector_new(&cfg);
	x.r.layout = kc_collector_layout(x.r.col);
	x.r.uaddr = xmalloc(MAX_FRAMES * sizeof(uint64_t));
	x.r.kaddr = xmalloc(MAX_FRAMES * sizeof(uint64_t));
	x.r.dwaddr = xmalloc(MAX_FRAMES * sizeof(uint64_t));
	struct ks_options so = { o->no_inline, o->no_lines, o->no_demangle, o->no_kernel };
	x.r.sym = ks_session_new(&so);
	x.r.py = kc_py_new(&x.r.prof, o->python_internals);
	x.r.lazy_maps = is_system_wide(o) || o->ntids;

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

	if (x.r.w) {
		/* the recording never started: no file, and the previous one back */
		kp_writer_abort(x.r.w);
		x.r.w = NULL;
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
	recorder_release(&x.r);
	if (x.node_map) /* the profile holds the names: what node wrote for kiln is kiln's to remove */
		kc_jit_node_cleanup(x.node_map, ".");
	return rc;
}
