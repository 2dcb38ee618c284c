/* sampler.c: records to profile samples (sampler.h), the loop's middle that `kiln record`
 * and `kiln agent` share. */
#include "collect/sampler.h"
#include "collect/offcpu.h"
#include "collect/pyframes.h"
#include "collect/unwind_dwarf.h"
#include "util/xalloc.h"
#include <asm/perf_regs.h>
#include <dirent.h>
#include <malloc.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STACK_COPY 2048           /* user stack bytes per sample for the leaf fix */
#define MAX_FRAMES 1024                   /* addresses of one call chain (the kernel gives at most 127 of each kind + 1) */
#define MAX_INLINE 64                     /* frames one address may expand into */
#define MEMO_MAX (1u << 19)               /* entries of the stack memo (24 MiB of table at most) */
/* The bound on the symbol session in kc_sampler_new_window: past this many modules or
 * resolved addresses it starts afresh (the live processes' modules are read again); the
 * agent adds an age and a heap bound (sampler.h). */
#define SYM_MAX_MODULES 2048
#define SYM_MAX_CACHE (1u << 18)

/* The slot of key in m, or the empty slot where it would go (m has room). */
static uint32_t task_slot(const struct kc_task_map *m, int32_t key)
{
	uint32_t i = ((uint32_t)key * 2654435761u) & (m->cap - 1);
	while (m->slots[i].used && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

struct kc_task *kc_task_find(struct kc_task_map *m, int32_t key, int create)
{
	if (m->cap == 0) {
		if (!create)
			return NULL;
		m->cap = 64;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
	}
	uint32_t i = task_slot(m, key);
	if (m->slots[i].used)
		return &m->slots[i];
	if (!create)
		return NULL;
	if ((m->n + 1) * 2 > m->cap) {
		/* grow: every entry moves to its slot in a table twice the size */
		struct kc_task_map bigger = { xcalloc(m->cap * 2, sizeof(*m->slots)), m->cap * 2, m->n };
		for (uint32_t k = 0; k < m->cap; k++)
			if (m->slots[k].used)
				bigger.slots[task_slot(&bigger, m->slots[k].key)] = m->slots[k];
		free(m->slots);
		*m = bigger;
		i = task_slot(m, key);
	}
	m->slots[i].used = 1;
	m->slots[i].key = key;
	m->n++;
	return &m->slots[i];
}

static inline uint32_t memo_hash(uint64_t addr, uint32_t parent, uint32_t space)
{
	uint64_t h = (addr ^ ((uint64_t)parent << 32 | space)) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static struct kc_memo_ent *memo_slot(struct kc_memo *m, uint64_t addr, uint32_t parent, uint32_t space)
{
	uint32_t i = memo_hash(addr, parent, space) & (m->cap - 1);
	while (m->e[i].stack &&
	       (m->e[i].addr != addr || m->e[i].parent != parent || m->e[i].space != space))
		i = (i + 1) & (m->cap - 1);
	return &m->e[i];
}

static void memo_grow(struct kc_memo *m)
{
	struct kc_memo big = { xcalloc(m->cap ? m->cap * 2 : 4096, sizeof(struct kc_memo_ent)),
			    m->cap ? m->cap * 2 : 4096, m->n };
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->e[i].stack)
			*memo_slot(&big, m->e[i].addr, m->e[i].parent, m->e[i].space) = m->e[i];
	free(m->e);
	*m = big;
}

void kc_read_comm(int pid, int tid, char *out, size_t size)
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

static struct kc_task *thread_get(struct kc_sampler *r, int32_t pid, int32_t tid)
{
	struct kc_task *t = kc_task_find(&r->threads, tid, 0);
	if (!t) {
		t = kc_task_find(&r->threads, tid, 1);
		t->pid = pid;
		kc_read_comm(pid, tid, t->comm, sizeof(t->comm));
	}
	kc_task_find(&r->procs, pid, 1);
	return t;
}

/* The current address-space id of process pid. */
static uint32_t space_of(struct kc_sampler *r, int32_t pid)
{
	struct kc_task *pr = kc_task_find(&r->procs, pid, 1);
	if (!pr->space)
		pr->space = ++r->next_space;
	return pr->space;
}

/* The maps of pid changed: what the memo knows about its addresses no longer holds. */
void kc_sampler_space_changed(struct kc_sampler *r, int32_t pid)
{
	kc_task_find(&r->procs, pid, 1)->space = 0;
}

static void set_comm(struct kc_task *t, const char *comm)
{
	if (strcmp(t->comm, comm)) {
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
		t->pthread = 0; /* a new profile thread at the next sample */
	}
}

static void on_comm(struct kc_sampler *r, const struct kc_sideband *sb)
{
	int32_t pid = (int32_t)sb->u.comm.pid, tid = (int32_t)sb->u.comm.tid;
	struct kc_task *t = kc_task_find(&r->threads, tid, 0);
	if (sb->u.comm.exec) {
		struct kc_task *pr = kc_task_find(&r->procs, pid, 1);
		pr->told = 0;
		pr->exited = 0;
		if (r->on_proc)
			r->on_proc(r->on_proc_ctx, pid, KC_PROC_EXEC);
		ks_exec(r->sym, pid);
		kc_py_exec(r->py, pid);
		kc_sampler_space_changed(r, pid);
	}
	if (!t) {
		t = kc_task_find(&r->threads, tid, 1);
		t->pid = pid;
		snprintf(t->comm, sizeof(t->comm), "%s", sb->u.comm.comm ? sb->u.comm.comm : "");
	} else {
		t->pid = pid;
		set_comm(t, sb->u.comm.comm ? sb->u.comm.comm : "");
	}
	t->in_exec = sb->u.comm.exec;
	kc_task_find(&r->procs, pid, 1);
}

static void on_fork(struct kc_sampler *r, const struct kc_sideband *sb)
{
	int32_t pid = (int32_t)sb->u.task.pid, ppid = (int32_t)sb->u.task.ppid;
	int32_t tid = (int32_t)sb->u.task.tid, ptid = (int32_t)sb->u.task.ptid;
	struct kc_task *parent = kc_task_find(&r->threads, ptid, 0);
	char comm[32];
	if (parent)
		snprintf(comm, sizeof(comm), "%s", parent->comm);
	else
		kc_read_comm(pid, tid, comm, sizeof(comm));
	if (pid != ppid) {
		ks_fork(r->sym, ppid, pid);
		kc_py_fork(r->py, ppid, pid);
		kc_sampler_space_changed(r, pid);
		struct kc_task *np = kc_task_find(&r->procs, pid, 1);
		np->maps_known = 1;
		np->exited = np->told = 0;
	}
	struct kc_task *t = kc_task_find(&r->threads, tid, 1);
	t->pid = pid;
	t->pthread = 0;
	t->exited = 0;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	kc_task_find(&r->procs, pid, 1);
}

/* A thread ended (the process, when tid is its pid): kept to the window's end (its
 * samples are in it), dropped at the next (kc_sampler_new_window). */
static void on_exit_task(struct kc_sampler *r, int32_t pid, int32_t tid)
{
	struct kc_task *t = kc_task_find(&r->threads, tid, 0);
	if (t)
		t->exited = 1;
	if (pid == tid) {
		struct kc_task *pr = kc_task_find(&r->procs, pid, 0);
		if (pr)
			pr->exited = 1;
		if (r->on_proc)
			r->on_proc(r->on_proc_ctx, pid, KC_PROC_EXIT);
	}
}

static void on_mmap(struct kc_sampler *r, const struct kc_sideband *sb)
{
	const char *path = sb->u.mmap2.filename;
	if ((int32_t)sb->u.mmap2.pid == -1 || !path)
		return; /* kernel maps: the symbolizer reads /proc/kallsyms */
	ks_mmap(r->sym, (int)sb->u.mmap2.pid, sb->u.mmap2.addr, sb->u.mmap2.len, sb->u.mmap2.pgoff, path,
		sb->u.mmap2.build_id, sb->u.mmap2.build_id_size, (int)sb->u.mmap2.prot);
	kc_py_mmap(r->py, (int)sb->u.mmap2.pid, sb->u.mmap2.addr, sb->u.mmap2.pgoff, path);
	kc_sampler_space_changed(r, (int32_t)sb->u.mmap2.pid);
}

/* The stack of parent extended by the frames of addr (inlined functions expanded):
 * from the memo, or resolved and remembered. */
static kp_stack_t push_addr(struct kc_sampler *r, kp_stack_t parent, uint32_t space, int pid, uint64_t addr,
			    int kernel)
{
	kp_frame_t tmp[MAX_INLINE];
	struct kc_memo_ent *e;
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

static void on_sample(struct kc_sampler *r, const void *rec, size_t len)
{
	struct kc_sample s;
	size_t nk = 0, nu = 0;
	uint64_t ctx = PERF_CONTEXT_USER;
	if (kc_parse_sample(r->layout, rec, len, &s) < 0)
		return;
	struct kc_task *t = thread_get(r, (int32_t)s.pid, (int32_t)s.tid);
	if (r->lazy_maps && (int32_t)s.pid > 0) {
		/* a process that was running before the recording: its maps from /proc */
		struct kc_task *pr = kc_task_find(&r->procs, (int32_t)s.pid, 1);
		if (!pr->maps_known) {
			pr->maps_known = 1;
			ks_load_proc_maps(r->sym, (int)s.pid);
			kc_sampler_space_changed(r, (int32_t)s.pid);
		}
	}
	if (!t->pthread)
		t->pthread = kp_add_thread(&r->prof, t->pid, (int32_t)s.tid, t->comm);
	if (!t->sampled && r->lazy_maps) {
		t->sampled = 1;
		kc_task_find(&r->procs, t->pid, 1)->sampled = 1;
	}
	if (r->on_proc) {
		struct kc_task *pr = kc_task_find(&r->procs, t->pid, 1);
		if (!pr->told) {
			pr->told = 1;
			r->on_proc(r->on_proc_ctx, t->pid, KC_PROC_SAMPLED);
		}
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

	/* A sample taken while exec loads the new program (the counters start at exec, the
	 * program's segments are mapped after) has the old program's user registers and a
	 * stack in the new address space: no user stack at all, not a truncated one. The
	 * first sample at a known address (or taken in user mode) ends that window. */
	int stale_user = 0;
	if (t->in_exec) {
		if ((s.misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_USER ||
		    (nu && ks_addr_mapped(r->sym, (int)s.pid, r->uaddr[0])))
			t->in_exec = 0;
		else if (nk)
			stale_user = 1, nu = 0;
	}

	/* --call-graph dwarf/auto: the user stack from CFI (issue 6) */
	int truncated = 0, unwound = 0;
	if (r->call_graph != KC_CG_FP && !stale_user) {
		struct kc_unwind_result ur;
		int n = kc_unwind_user(r->sym, r->call_graph, &s, r->uaddr, nu, r->dwaddr, MAX_FRAMES - 1, &ur);
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
static void on_switch(struct kc_sampler *r, const struct kc_sideband *sb)
{
	uint64_t when = sb->sid.time > r->t0 ? sb->sid.time - r->t0 : 0;
	int32_t tid = (int32_t)sb->sid.tid;
	if (sb->u.sw.out) {
		struct kc_task *t = kc_task_find(&r->threads, tid, 0);
		kc_offcpu_out(r->oc, tid, t ? t->pthread : 0, when, sb->u.sw.preempt);
	} else {
		kc_offcpu_in(r->oc, tid, when);
	}
}

void kc_sampler_record(void *ctx, const void *rec, size_t len)
{
	struct kc_sampler *r = ctx;
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
		on_exit_task(r, (int32_t)sb.u.task.pid, (int32_t)sb.u.task.tid);
		break;
	default:
		break; /* EXIT, LOST (counted by the collector), THROTTLE, ... */
	}
}

/* System-wide: names every thread running now from /proc (as perf synthesizes COMM
 * records), so that a thread that ends before its samples are read keeps its name. */
void kc_sampler_snapshot_comms(struct kc_sampler *r)
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
			if (*end || tid <= 0 || kc_task_find(&r->threads, (int32_t)tid, 0))
				continue;
			struct kc_task *t = kc_task_find(&r->threads, (int32_t)tid, 1);
			t->pid = (int32_t)pid;
			kc_read_comm((int)pid, (int)tid, t->comm, sizeof(t->comm));
		}
		closedir(td);
	}
	closedir(d);
}

void kc_sampler_collector_config(int call_graph, uint32_t stack_user_size, unsigned freq, struct kc_config *cfg)
{
	if (call_graph == KC_CG_FP) {
		cfg->regs_user_mask = (1ull << PERF_REG_X86_IP) | (1ull << PERF_REG_X86_SP) | (1ull << PERF_REG_X86_BP);
		cfg->stack_user_size = stack_user_size ? stack_user_size : DEFAULT_STACK_COPY;
		cfg->buffer_bytes = 1u << 20;
	} else {
		/* DWARF: every register, a large stack copy, rings that hold ~250 ms of it */
		cfg->regs_user_mask = kc_dwarf_regs_mask();
		cfg->stack_user_size = stack_user_size ? stack_user_size : KC_DWARF_STACK_DEFAULT;
		/* auto at high rates: half the copy, so the kernel's rings and kiln keep up
		 * (stacks the copy cannot hold are continued with frame pointers or counted) */
		if (!stack_user_size && call_graph == KC_CG_AUTO && freq > KC_DWARF_HIGH_FREQ)
			cfg->stack_user_size = KC_DWARF_STACK_DEFAULT / 2;
		cfg->buffer_bytes = 8u << 20;
	}
}

void kc_sampler_init(struct kc_sampler *s, struct kc_collector *col, const struct ks_options *so, int call_graph,
		     int python_internals, int lazy_maps)
{
	kp_profile_init(&s->prof);
	s->col = col;
	s->layout = kc_collector_layout(col);
	s->uaddr = xmalloc(MAX_FRAMES * sizeof(uint64_t));
	s->kaddr = xmalloc(MAX_FRAMES * sizeof(uint64_t));
	s->dwaddr = xmalloc(MAX_FRAMES * sizeof(uint64_t));
	s->symopts = *so;
	s->sym = ks_session_new(so);
	s->py = kc_py_new(&s->prof, python_internals);
	s->call_graph = call_graph;
	s->lazy_maps = lazy_maps;
	s->v_cpu = s->v_off = s->v_wall = -1;
}

void kc_sampler_release(struct kc_sampler *s)
{
	kc_collector_free(s->col);
	s->col = NULL;
	if (s->sym)
		ks_session_free(s->sym);
	s->sym = NULL;
	kp_profile_release(&s->prof);
	free(s->threads.slots);
	for (uint32_t i = 0; i < s->procs.cap; i++)
		if (s->procs.slots[i].used && s->procs.slots[i].user && s->free_user)
			s->free_user(s->procs.slots[i].user);
	free(s->procs.slots);
	free(s->memo.e);
	free(s->uaddr);
	free(s->kaddr);
	free(s->dwaddr);
	kc_offcpu_free(s->oc);
	kc_py_free(s->py);
	memset(s, 0, sizeof(*s));
}

/* m without the tasks that exited; live threads lose their profile thread index (the
 * next window's profile has its own). */
static void task_map_prune(struct kc_task_map *m, struct ks_session *sym, int is_procs, void (*free_user)(void *))
{
	struct kc_task_map kept = { NULL, 0, 0 };
	for (uint32_t i = 0; i < m->cap; i++) {
		struct kc_task *t = &m->slots[i];
		if (!t->used)
			continue;
		if (t->exited) {
			if (is_procs && sym)
				ks_exit(sym, t->key);
			if (t->user && free_user)
				free_user(t->user);
			continue;
		}
		t->pthread = 0;
		*kc_task_find(&kept, t->key, 1) = *t;
	}
	free(m->slots);
	*m = kept;
}

void kc_sampler_new_window(struct kc_sampler *s)
{
	struct kp_profile *p = &s->prof;
	char names[KP_MAX_VALUES][64], units[KP_MAX_VALUES][64];
	uint32_t nv = p->nvalues, dv = p->default_value;
	for (uint32_t i = 0; i < nv; i++) {
		snprintf(names[i], sizeof(names[i]), "%s", kp_str_get(p, p->value_types[i].name));
		snprintf(units[i], sizeof(units[i]), "%s", kp_str_get(p, p->value_types[i].unit));
	}
	kp_profile_release(p);
	kp_profile_init(p);
	for (uint32_t i = 0; i < nv; i++)
		kp_add_value_type(p, names[i], units[i]);
	p->default_value = dv;
	s->trunc_frame = 0;
	if (s->memo.e)
		memset(s->memo.e, 0, s->memo.cap * sizeof(*s->memo.e));
	s->memo.n = 0;

	size_t mods = 0, cache = 0;
	ks_session_size(s->sym, &mods, &cache);
	s->since_renew++;
	int fresh = mods > SYM_MAX_MODULES || cache > SYM_MAX_CACHE ||
		    (s->renew_windows && s->since_renew >= s->renew_windows);
	if (!fresh && s->heap_max && s->since_renew >= s->renew_min) {
		struct mallinfo2 mi = mallinfo2();
		fresh = mi.uordblks + mi.hblkhd > s->heap_max;
	}
	task_map_prune(&s->threads, NULL, 0, NULL);
	task_map_prune(&s->procs, fresh ? NULL : s->sym, 1, s->free_user);
	if (fresh) {
		/* a cache bound, not a record: every live process reads its maps again */
		ks_session_free(s->sym);
		s->sym = ks_session_new(&s->symopts);
		ks_session_preload_kernel(s->sym);
		for (uint32_t i = 0; i < s->procs.cap; i++)
			s->procs.slots[i].maps_known = 0;
		s->since_renew = 0;
		s->renewals++;
	}
	for (uint32_t i = 0; i < s->procs.cap; i++)
		s->procs.slots[i].space = 0;
	ks_session_forget_profile(s->sym);
	kc_py_new_profile(s->py);
	if (fresh)
		malloc_trim(0); /* give what the old session held back to the system */
	s->windows++;
}
