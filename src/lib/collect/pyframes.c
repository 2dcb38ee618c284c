/* pyframes.c: Python frames in kiln record's samples, read by a BPF program at each
 * sample (see pyframes.h). */
#include "collect/pyframes.h"
#include "python/python.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "kiln_py.skel.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MERGE_MAX 2048         /* frames of one merged stack */
#define VALIDATE_NS 100000000ull /* a cached code object is re-checked at most this often */

/* A code object of one process, read once. Never freed before the tracker: queued
 * records point to it. */
struct code_ent {
	struct code_ent *next_hash, *next_all;
	int pid;
	uint64_t addr;
	uint64_t checked;        /* when it was last found to be the same object */
	struct kpy_code c;
	const struct kpy_offsets *off;
	kp_str_t label, file;    /* interned by the main thread on first use, 0 before */
	/* main thread: frames per line, a small list */
	struct { int64_t lasti; kp_frame_t id; } *lines;
	size_t nlines, alines;
};

/* A BPF record as queued for its sample. */
struct qrec {
	uint64_t time;
	int n;
	uint16_t flags;
	const struct kpy_offsets *off;
	unsigned char *fflags;       /* n */
	struct code_ent **code;      /* n (NULL: unreadable) */
	uint64_t *instr;             /* n */
};

struct tq {
	int tid, used;
	struct qrec **v;
	size_t head, n, alloc;
};

struct proc_ent {
	int pid, used;
	int counted;             /* in st.processes */
	char *nopy;              /* a python-named file it maps that has no _PyRuntime */
	const struct kpy_offsets *off;
	uint64_t runtime;
	uint64_t code_type;      /* PyCode_Type in the process (0: unknown) */
	unsigned version;
};

/* What one file is, as kpy_elf_inspect said. */
struct file_ent {
	struct file_ent *next;
	char *path;
	int ok;
	struct kpy_elf info;
};

struct kc_py {
	struct kp_profile *prof;
	int internals;
	int poll_ms;                 /* the ring thread's wait when no record comes */
	struct kiln_py *skel;
	struct ring_buffer *rb;
	int bpf_ok;                  /* loaded and attached */
	char why[256];               /* why not, for the one line */
	int told;                    /* the one line was printed */
	unsigned told_versions[8];
	int ntold;
	pthread_mutex_t lock;
	pthread_t thread;
	int running, stop;
	/* under lock */
	struct proc_ent *procs;
	uint32_t procs_cap, procs_n;
	struct code_ent **code_hash;
	uint32_t code_cap, code_n;
	struct code_ent *code_all;
	struct tq *tqs;
	uint32_t tq_cap, tq_n;
	struct kc_py_stats st;
	/* main thread */
	struct file_ent *files;
	kp_str_t s_eval, s_python;
	unsigned char *kinds;        /* per frame id: kpy_frame_kind + 1, 0 unknown */
	uint32_t nkinds;
	uint32_t *nat, *pyf, *out;
	unsigned char *nkind, *keep;
};

/* ---- small open-addressing maps on int keys ---- */
static uint32_t ihash(int k)
{
	return (uint32_t)k * 2654435761u;
}

static struct proc_ent *proc_find(struct kc_py *py, int pid, int create)
{
	if (!py->procs_cap) {
		if (!create)
			return NULL;
		py->procs_cap = 64;
		py->procs = xcalloc(py->procs_cap, sizeof(*py->procs));
	}
	if (create && (py->procs_n + 1) * 2 > py->procs_cap) {
		struct proc_ent *old = py->procs;
		uint32_t cap = py->procs_cap;
		py->procs_cap *= 2;
		py->procs = xcalloc(py->procs_cap, sizeof(*py->procs));
		py->procs_n = 0;
		for (uint32_t i = 0; i < cap; i++)
			if (old[i].used)
				*proc_find(py, old[i].pid, 1) = old[i];
		free(old);
	}
	uint32_t i = ihash(pid) & (py->procs_cap - 1);
	while (py->procs[i].used) {
		if (py->procs[i].pid == pid)
			return &py->procs[i];
		i = (i + 1) & (py->procs_cap - 1);
	}
	if (!create)
		return NULL;
	memset(&py->procs[i], 0, sizeof(py->procs[i]));
	py->procs[i].used = 1;
	py->procs[i].pid = pid;
	py->procs_n++;
	return &py->procs[i];
}

static struct tq *tq_find(struct kc_py *py, int tid, int create)
{
	if (!py->tq_cap) {
		if (!create)
			return NULL;
		py->tq_cap = 64;
		py->tqs = xcalloc(py->tq_cap, sizeof(*py->tqs));
	}
	if (create && (py->tq_n + 1) * 2 > py->tq_cap) {
		struct tq *old = py->tqs;
		uint32_t cap = py->tq_cap;
		py->tq_cap *= 2;
		py->tqs = xcalloc(py->tq_cap, sizeof(*py->tqs));
		py->tq_n = 0;
		for (uint32_t i = 0; i < cap; i++)
			if (old[i].used)
				*tq_find(py, old[i].tid, 1) = old[i];
		free(old);
	}
	uint32_t i = ihash(tid) & (py->tq_cap - 1);
	while (py->tqs[i].used) {
		if (py->tqs[i].tid == tid)
			return &py->tqs[i];
		i = (i + 1) & (py->tq_cap - 1);
	}
	if (!create)
		return NULL;
	memset(&py->tqs[i], 0, sizeof(py->tqs[i]));
	py->tqs[i].used = 1;
	py->tqs[i].tid = tid;
	py->tq_n++;
	return &py->tqs[i];
}

static void qrec_free(struct qrec *q)
{
	if (!q)
		return;
	free(q->fflags);
	free(q->code);
	free(q->instr);
	free(q);
}

/* ---- code objects (ring thread, lock held) ---- */
static uint32_t code_slot(int pid, uint64_t addr, uint32_t cap)
{
	uint64_t h = (addr ^ ((uint64_t)(uint32_t)pid << 40)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32) & (cap - 1);
}

static struct code_ent *code_get(struct kc_py *py, const struct proc_ent *p, uint64_t addr, uint64_t now)
{
	int pid = p->pid;
	const struct kpy_offsets *off = p->off;
	if (!addr)
		return NULL;
	if ((py->code_n + 1) * 2 > py->code_cap) {
		uint32_t cap = py->code_cap ? py->code_cap * 2 : 1024;
		struct code_ent **h = xcalloc(cap, sizeof(*h));
		for (uint32_t i = 0; i < py->code_cap; i++)
			for (struct code_ent *e = py->code_hash[i], *nx; e; e = nx) {
				nx = e->next_hash;
				uint32_t j = code_slot(e->pid, e->addr, cap);
				e->next_hash = h[j];
				h[j] = e;
			}
		free(py->code_hash);
		py->code_hash = h;
		py->code_cap = cap;
	}
	uint32_t j = code_slot(pid, addr, py->code_cap);
	struct code_ent **pp = &py->code_hash[j];
	for (struct code_ent *e = *pp; e; pp = &e->next_hash, e = e->next_hash) {
		if (e->pid != pid || e->addr != addr)
			continue;
		if (now - e->checked < VALIDATE_NS)
			return e;
		uint64_t np, fp;
		if (kpy_code_ids(pid, off, addr, &np, &fp) != 0)
			return e; /* the process is gone: what we read stays the best answer */
		if (np == e->c.name_ptr && fp == e->c.file_ptr) {
			e->checked = now;
			return e;
		}
		*pp = e->next_hash; /* another object at that address now: read it anew */
		py->code_n--;
		break;
	}
	struct kpy_code c;
	if (kpy_code_read(pid, off, addr, p->code_type, &c) != 0)
		return NULL;
	struct code_ent *e = xcalloc(1, sizeof(*e));
	e->pid = pid;
	e->addr = addr;
	e->checked = now;
	e->c = c;
	e->off = off;
	e->next_hash = py->code_hash[j];
	py->code_hash[j] = e;
	e->next_all = py->code_all;
	py->code_all = e;
	py->code_n++;
	return e;
}

static void scan_maps(struct kc_py *py, int pid);

/* Whether pid's executable is named like python: the cheap test before reading its maps
 * on a notice (a build starts thousands of other programs). A program that embeds
 * libpython is found from its mmap records instead, a little later. */
static int exe_candidate(int pid)
{
	char link[64], path[4096];
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = 0;
	return kpy_path_candidate(path);
}

/* The ring buffer's callback (lock held). */
static int on_record(void *ctx, void *data, size_t size)
{
	struct kc_py *py = ctx;
	const struct pyb_record *r = data;
	if (size == sizeof(struct pyb_notice)) {
		const struct pyb_notice *nt = data;
		struct proc_ent *p = proc_find(py, (int)nt->pid, 0);
		py->st.notices++;
		if ((!p || !p->runtime) && exe_candidate((int)nt->pid))
			scan_maps(py, (int)nt->pid);
		return 0;
	}
	if (size < PYB_RECORD_SIZE(0))
		return 0;
	py->st.records++;
	struct proc_ent *p = proc_find(py, (int)r->pid, 0);
	if (!p || !p->off)
		return 0;
	int n = r->nframes > PYB_MAX_FRAMES ? PYB_MAX_FRAMES : r->nframes;
	if (size < PYB_RECORD_SIZE((size_t)n))
		return 0; /* shorter than its frames: not a record this reader knows */
	struct qrec *q = xcalloc(1, sizeof(*q));
	q->time = r->time;
	q->n = n;
	q->flags = r->flags;
	q->off = p->off;
	q->fflags = xmalloc((size_t)n + 1);
	q->code = xcalloc((size_t)n + 1, sizeof(*q->code));
	q->instr = xcalloc((size_t)n + 1, sizeof(*q->instr));
	uint64_t now = kc_now_ns();
	for (int i = 0; i < n; i++) {
		q->fflags[i] = r->fflags[i];
		q->instr[i] = r->frames[i].instr;
		/* 3.12+ shim frames hold no user code: not worth a read */
		if (!(p->off->entry_kind == PYB_ENTRY_OWNER && r->fflags[i] == 3))
			q->code[i] = code_get(py, p, r->frames[i].code, now);
	}
	struct tq *t = tq_find(py, (int)r->tid, 1);
	if (t->head > 0 && t->head * 2 >= t->n) {
		memmove(t->v, t->v + t->head, (t->n - t->head) * sizeof(*t->v));
		t->n -= t->head;
		t->head = 0;
	}
	ALLOC_GROW(t->v, t->n + 1, t->alloc);
	t->v[t->n++] = q;
	return 0;
}

static void consume(struct kc_py *py)
{
	pthread_mutex_lock(&py->lock);
	if (py->rb)
		ring_buffer__consume(py->rb);
	pthread_mutex_unlock(&py->lock);
}

static void *ring_thread(void *arg)
{
	struct kc_py *py = arg;
	int efd = ring_buffer__epoll_fd(py->rb);
	while (!__atomic_load_n(&py->stop, __ATOMIC_ACQUIRE)) {
		struct epoll_event ev;
		epoll_wait(efd, &ev, 1, py->poll_ms);
		consume(py);
	}
	return NULL;
}

/* ---- setting up ---- */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

struct kc_py *kc_py_new(struct kp_profile *prof, int internals)
{
	struct kc_py *py = xcalloc(1, sizeof(*py));
	py->prof = prof;
	py->internals = internals;
	py->poll_ms = 10;
	pthread_mutex_init(&py->lock, NULL);
	py->nat = xmalloc(MERGE_MAX * sizeof(uint32_t));
	py->pyf = xmalloc(PYB_MAX_FRAMES * sizeof(uint32_t));
	py->out = xmalloc(MERGE_MAX * sizeof(uint32_t));
	py->nkind = xmalloc(MERGE_MAX);
	py->keep = xmalloc(PYB_MAX_FRAMES);
	const char *no = getenv("KILN_NO_BPF");
	if (no && *no && strcmp(no, "0")) {
		snprintf(py->why, sizeof(py->why), "BPF is turned off (KILN_NO_BPF is set)");
		return py;
	}
	libbpf_set_print(quiet_libbpf);
	py->skel = kiln_py__open_and_load();
	if (!py->skel) {
		int e = errno;
		snprintf(py->why, sizeof(py->why), "cannot load kiln's BPF program (%s); run as root, or allow BPF "
			 "(kernel.unprivileged_bpf_disabled, lockdown)", strerror(e));
		return py;
	}
	py->rb = ring_buffer__new(bpf_map__fd(py->skel->maps.records), on_record, py, NULL);
	if (!py->rb) {
		snprintf(py->why, sizeof(py->why), "cannot open the BPF ring buffer (%s)", strerror(errno));
		kiln_py__destroy(py->skel);
		py->skel = NULL;
	}
	return py;
}

int kc_py_attach(struct kc_py *py, struct kc_collector *col)
{
	if (!py->skel)
		return -1;
	int prog = bpf_program__fd(py->skel->progs.kiln_py_sample);
	if (kc_collector_set_bpf(col, prog) < 0) {
		snprintf(py->why, sizeof(py->why), "cannot attach kiln's BPF program to the sampling events (%s)",
			 strerror(errno));
		return -1;
	}
	py->bpf_ok = 1;
	return 0;
}

void kc_py_start(struct kc_py *py)
{
	if (!py->bpf_ok || py->running)
		return;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&py->thread, NULL, ring_thread, py) == 0)
		py->running = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void kc_py_free(struct kc_py *py)
{
	if (!py)
		return;
	if (py->running) {
		__atomic_store_n(&py->stop, 1, __ATOMIC_RELEASE);
		pthread_join(py->thread, NULL);
	}
	if (py->rb)
		ring_buffer__free(py->rb);
	if (py->skel)
		kiln_py__destroy(py->skel);
	for (uint32_t i = 0; i < py->tq_cap; i++) {
		struct tq *t = &py->tqs[i];
		for (size_t k = t->head; k < t->n; k++)
			qrec_free(t->v[k]);
		free(t->v);
	}
	free(py->tqs);
	for (struct code_ent *e = py->code_all, *nx; e; e = nx) {
		nx = e->next_all;
		kpy_code_release(&e->c);
		free(e->lines);
		free(e);
	}
	free(py->code_hash);
	for (uint32_t i = 0; i < py->procs_cap; i++)
		free(py->procs[i].nopy);
	free(py->procs);
	for (struct file_ent *f = py->files, *nx; f; f = nx) {
		nx = f->next;
		free(f->path);
		free(f);
	}
	free(py->kinds);
	free(py->nat);
	free(py->pyf);
	free(py->out);
	free(py->nkind);
	free(py->keep);
	pthread_mutex_destroy(&py->lock);
	free(py);
}

/* ---- processes ---- */
static const struct kpy_elf *inspect(struct kc_py *py, const char *path)
{
	for (struct file_ent *f = py->files; f; f = f->next)
		if (!strcmp(f->path, path))
			return f->ok ? &f->info : NULL;
	struct file_ent *f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->ok = kpy_elf_inspect(path, &f->info) == 0;
	f->next = py->files;
	py->files = f;
	return f->ok ? &f->info : NULL;
}

static void tell_version(struct kc_py *py, unsigned version, int differs)
{
	for (int i = 0; i < py->ntold; i++)
		if (py->told_versions[i] == version)
			return;
	if (py->ntold < 8)
		py->told_versions[py->ntold++] = version;
	if (differs)
		kiln_warn("python %u.%u: frames not supported (its _Py_DebugOffsets differ from kiln's table: "
			  "a free-threaded or modified build), native stacks only", version >> 8, version & 0xff);
	else if (version)
		kiln_warn("python %u.%u: frames not supported, native stacks only", version >> 8, version & 0xff);
	else
		kiln_warn("python of unknown version: frames not supported, native stacks only");
}

/* Writes the process's entry to the BPF map (lock held). */
static void publish(struct kc_py *py, const struct proc_ent *p)
{
	if (!py->bpf_ok || !p->off)
		return;
	const struct kpy_offsets *o = p->off;
	struct pyb_proc v;
	memset(&v, 0, sizeof(v));
	v.runtime = p->runtime;
	v.rt_interp_head = o->rt_interp_head;
	v.interp_threads_head = o->interp_threads_head;
	v.ts_next = o->ts_next;
	v.ts_tid = o->ts_tid;
	v.ts_frame = o->ts_frame;
	v.cframe_current = o->cframe_current;
	v.fr_code = o->fr_code;
	v.fr_prev = o->fr_prev;
	v.fr_instr = o->fr_instr;
	v.fr_flag = o->fr_flag;
	v.tid_kind = o->tid_kind;
	v.entry_kind = o->entry_kind;
	v.instr_size = o->instr_size;
	unsigned lo = o->fr_code, hi = 0;
	const unsigned short offs[4] = { o->fr_code, o->fr_prev, o->fr_instr, o->fr_flag };
	const unsigned sizes[4] = { 8, 8, o->instr_size, 1 };
	for (int i = 0; i < 4; i++) {
		if (offs[i] == PYB_NONE)
			continue;
		if (offs[i] < lo)
			lo = offs[i];
		if (offs[i] + sizes[i] > hi)
			hi = offs[i] + sizes[i];
	}
	v.fr_lo = (unsigned char)lo;
	v.fr_len = (unsigned char)(hi - lo);
	uint32_t key = (uint32_t)p->pid;
	bpf_map_update_elem(bpf_map__fd(py->skel->maps.procs), &key, &v, BPF_ANY);
}

static void unpublish(struct kc_py *py, int pid)
{
	struct proc_ent *p = proc_find(py, pid, 0);
	if (!p || !p->off)
		return;
	if (py->bpf_ok) {
		uint32_t key = (uint32_t)pid;
		bpf_map_delete_elem(bpf_map__fd(py->skel->maps.procs), &key);
	}
	p->off = NULL;
	p->runtime = 0;
}

/* A mapping of pid (lock held): registers pid when path is a CPython. */
static void mmap_locked(struct kc_py *py, int pid, uint64_t start, uint64_t pgoff, const char *path)
{
	if (!path || path[0] != '/' || !kpy_path_candidate(path))
		return;
	struct proc_ent *p = proc_find(py, pid, 0);
	if (p && p->runtime)
		return;
	const struct kpy_elf *info = inspect(py, path);
	uint64_t va;
	if (info && !info->is_python) {
		p = proc_find(py, pid, 1);
		if (!p->nopy)
			p->nopy = xstrdup(path);
		return;
	}
	if (!info || kpy_elf_off_to_vaddr(path, pgoff, &va) != 0)
		return;
	const struct kpy_offsets *off = kpy_offsets_find(info->version);
	int differs = off && kpy_check_debug_offsets(off, info) < 0;
	if (differs)
		off = NULL;
	p = proc_find(py, pid, 1);
	p->version = info->version;
	p->runtime = info->runtime_vaddr + (start - va);
	p->code_type = info->code_type_vaddr ? info->code_type_vaddr + (start - va) : 0;
	p->off = off;
	if (!p->counted)
		py->st.processes++;
	p->counted = 1;
	publish(py, p);
	if (!off) {
		tell_version(py, info->version, differs);
	} else if (!py->bpf_ok && !py->told) {
		py->told = 1;
		kiln_warn("python process %d: no python frames, native stacks only: %s", pid, py->why);
	}
}

void kc_py_mmap(struct kc_py *py, int pid, uint64_t start, uint64_t pgoff, const char *path)
{
	pthread_mutex_lock(&py->lock);
	mmap_locked(py, pid, start, pgoff, path);
	pthread_mutex_unlock(&py->lock);
}

void kc_py_fork(struct kc_py *py, int ppid, int pid)
{
	pthread_mutex_lock(&py->lock);
	struct proc_ent *pp = proc_find(py, ppid, 0);
	if (pp && pp->runtime) {
		struct proc_ent copy = *pp;
		struct proc_ent *p = proc_find(py, pid, 1);
		copy.pid = pid;
		copy.counted = 1;
		copy.nopy = p->nopy;
		if (!p->counted)
			py->st.processes++;
		*p = copy;
		publish(py, p);
	}
	pthread_mutex_unlock(&py->lock);
}

void kc_py_exec(struct kc_py *py, int pid)
{
	pthread_mutex_lock(&py->lock);
	unpublish(py, pid);
	struct proc_ent *p = proc_find(py, pid, 0);
	if (p)
		p->runtime = 0;
	pthread_mutex_unlock(&py->lock);
}

void kc_py_exit(struct kc_py *py, int pid)
{
	pthread_mutex_lock(&py->lock);
	unpublish(py, pid);
	pthread_mutex_unlock(&py->lock);
}

/* Registers pid from its current mappings (lock held). */
static void scan_maps(struct kc_py *py, int pid)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end, &off, &name_at) < 3 || !name_at)
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = 0;
		if (name[0] == '/')
			mmap_locked(py, pid, start, off, name);
	}
	fclose(f);
}

void kc_py_attach_pid(struct kc_py *py, int pid)
{
	pthread_mutex_lock(&py->lock);
	scan_maps(py, pid);
	pthread_mutex_unlock(&py->lock);
}

void kc_py_sync(struct kc_py *py)
{
	consume(py);
}

void kc_py_set_poll(struct kc_py *py, int ms)
{
	if (py && !py->running)
		py->poll_ms = ms;
}

void kc_py_new_profile(struct kc_py *py)
{
	if (!py)
		return;
	pthread_mutex_lock(&py->lock);
	for (struct code_ent *e = py->code_all; e; e = e->next_all) {
		e->label = e->file = 0;
		e->nlines = 0;
	}
	pthread_mutex_unlock(&py->lock);
	py->s_eval = py->s_python = 0;
	if (py->kinds)
		memset(py->kinds, 0, py->nkinds);
}

/* ---- merging (main thread) ---- */
static unsigned char frame_kind(struct kc_py *py, kp_frame_t id)
{
	if (id >= py->nkinds) {
		uint32_t n = py->nkinds ? py->nkinds : 1024;
		while (n <= id)
			n *= 2;
		py->kinds = xrealloc(py->kinds, n);
		memset(py->kinds + py->nkinds, 0, n - py->nkinds);
		py->nkinds = n;
	}
	if (py->kinds[id])
		return py->kinds[id] - 1;
	const struct kp_frame *f = &py->prof->frames[id];
	unsigned char k = KPY_NATIVE;
	if (!py->s_eval)
		py->s_eval = kp_strz(py->prof, "_PyEval_EvalFrameDefault");
	if (f->flags & KP_FRAME_KERNEL)
		k = KPY_KERNEL;
	else if (f->flags & KP_FRAME_TRUNCATED)
		k = KPY_MARK;
	else if (f->flags & KP_FRAME_PY)
		k = KPY_NATIVE;
	else if (f->name == py->s_eval && !(f->flags & KP_FRAME_INLINE))
		k = KPY_EVAL;
	else if ((f->flags & KP_FRAME_JIT) && !strncmp(kp_str_get(py->prof, f->name), "py::", 4))
		k = KPY_INTERP; /* 3.12+ -X perf trampolines: the Python frame says the same */
	else if (f->module && kpy_path_candidate(kp_str_get(py->prof, f->module)))
		k = KPY_INTERP;
	py->kinds[id] = (unsigned char)(k + 1);
	return k;
}

/* The profile frame of code object e at instruction instr. */
static kp_frame_t py_frame(struct kc_py *py, struct code_ent *e, uint64_t instr)
{
	int64_t lasti = kpy_lasti(e->off, &e->c, instr);
	for (size_t i = 0; i < e->nlines; i++)
		if (e->lines[i].lasti == lasti)
			return e->lines[i].id;
	if (!e->label) {
		const char *base = strrchr(e->c.filename, '/');
		char *label = xasprintf("%s (%s:%d)", e->c.qualname, base ? base + 1 : e->c.filename, e->c.firstlineno);
		e->label = kp_strz(py->prof, label);
		free(label);
		e->file = kp_strz(py->prof, e->c.filename);
	}
	if (!py->s_python)
		py->s_python = kp_strz(py->prof, "[python]");
	struct kp_frame f;
	memset(&f, 0, sizeof(f));
	f.name = e->label;
	f.module = py->s_python;
	f.file = e->file;
	int line = kpy_line(e->off->version, e->c.linetable, e->c.linetable_len, e->c.firstlineno, lasti);
	f.line = line > 0 ? (uint32_t)line : 0;
	f.flags = KP_FRAME_PY;
	kp_frame_t id = kp_frame(py->prof, &f);
	if (e->nlines < 256) { /* a cache: a huge function keeps only its first lines */
		ALLOC_GROW(e->lines, e->nlines + 1, e->alines);
		e->lines[e->nlines].lasti = lasti;
		e->lines[e->nlines].id = id;
		e->nlines++;
	}
	return id;
}

static kp_frame_t unknown_py_frame(struct kc_py *py)
{
	return kp_frame_named(py->prof, "[python: unreadable code object]", 32, KP_FRAME_PY | KP_FRAME_UNKNOWN);
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* The record for a sample of tid at time, taken off the queue, or NULL (lock held).
 * The program runs in the same overflow as the sample, a few microseconds from the time
 * the kernel gives the sample (after it on kernels that prepare the sample data before
 * calling the program, as 6.x does; before it on older ones): the record closest in
 * time within KC_PY_MATCH_NS is the one; records older than that are dropped (their
 * samples were lost, or belonged to a process no longer followed). */
static struct qrec *take(struct kc_py *py, int tid, uint64_t time)
{
	struct tq *t = tq_find(py, tid, 0);
	if (!t)
		return NULL;
	while (t->head < t->n && t->v[t->head]->time + KC_PY_MATCH_NS < time)
		qrec_free(t->v[t->head++]);
	if (t->head >= t->n || absdiff(t->v[t->head]->time, time) > KC_PY_MATCH_NS)
		return NULL;
	if (t->head + 1 < t->n && absdiff(t->v[t->head + 1]->time, time) < absdiff(t->v[t->head]->time, time))
		qrec_free(t->v[t->head++]);
	struct qrec *q = t->v[t->head++];
	uint64_t gap = absdiff(q->time, time);
	if (gap > py->st.max_gap_ns)
		py->st.max_gap_ns = gap;
	return q;
}

kp_stack_t kc_py_stack(struct kc_py *py, int pid, int tid, uint64_t time, kp_stack_t stack, int truncated)
{
	if (!py->bpf_ok)
		return stack;
	pthread_mutex_lock(&py->lock);
	struct proc_ent *p = proc_find(py, pid, 0);
	if (!p || !p->off) {
		pthread_mutex_unlock(&py->lock);
		return stack;
	}
	struct qrec *q = take(py, tid, time);
	if (!q)
		py->st.unmatched++;
	else
		py->st.matched++;
	pthread_mutex_unlock(&py->lock);
	if (!q)
		return stack;
	kp_stack_t result = stack;
	if (q->n > 0) {
		int seg_end[PYB_MAX_FRAMES + 1];
		int nseg = kpy_segments(q->off->entry_kind, q->fflags, q->n, py->keep, seg_end, PYB_MAX_FRAMES + 1);
		for (int i = 0; i < q->n; i++)
			py->pyf[i] = py->keep[i] ? (q->code[i] ? py_frame(py, q->code[i], q->instr[i]) : unknown_py_frame(py)) : 0;
		uint32_t n = kp_stack_frames(py->prof, stack, py->nat, MERGE_MAX);
		if (n > MERGE_MAX)
			n = MERGE_MAX;
		for (uint32_t i = 0; i < n; i++)
			py->nkind[i] = frame_kind(py, py->nat[i]);
		int cut = (truncated ? KPY_CUT_NATIVE : 0) | (q->flags & (PYB_F_CUT | PYB_F_FAULT) ? KPY_CUT_PYTHON : 0);
		size_t k = kpy_merge(py->nat, py->nkind, n, py->pyf, py->keep, q->n, seg_end, nseg, cut,
				     py->internals, py->out, MERGE_MAX);
		if ((q->flags & (PYB_F_CUT | PYB_F_FAULT)) && k < MERGE_MAX &&
		    !(k && (py->prof->frames[py->out[0]].flags & KP_FRAME_TRUNCATED))) {
			/* the outer Python frames are missing: never silently, as record.c marks
			 * native stacks that end early */
			memmove(py->out + 1, py->out, k * sizeof(*py->out));
			py->out[0] = kp_frame_named(py->prof, "[truncated]", 11, KP_FRAME_TRUNCATED);
			k++;
		}
		result = kp_stack_from_frames(py->prof, py->out, k);
		py->st.merged++;
	}
	qrec_free(q);
	return result;
}

void kc_py_stats(struct kc_py *py, struct kc_py_stats *st)
{
	pthread_mutex_lock(&py->lock);
	*st = py->st;
	pthread_mutex_unlock(&py->lock);
	st->bpf = py->bpf_ok;
	if (py->skel) {
		uint32_t k = 0;
		uint64_t d = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(py->skel->maps.dropped), &k, &d) == 0)
			st->dropped = d;
	}
}

void kc_py_finish(struct kc_py *py)
{
	pthread_mutex_lock(&py->lock);
	for (uint32_t i = 0; i < py->procs_cap; i++) {
		const struct proc_ent *p = &py->procs[i];
		if (p->used && p->nopy && !p->counted) {
			kiln_warn("'%s' has no _PyRuntime symbol (a stripped or static python?): "
				  "no python frames, native stacks only", p->nopy);
			break;
		}
	}
	pthread_mutex_unlock(&py->lock);
}

void kc_py_meta(struct kc_py *py, struct kp_profile *prof)
{
	struct kc_py_stats st;
	char buf[64];
	kc_py_stats(py, &st);
	if (!st.processes)
		return;
	kp_meta_set(prof, "python_frames", st.bpf ? "bpf" : "none");
	if (!st.bpf)
		kp_meta_set(prof, "python_frames_why", py->why);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.processes);
	kp_meta_set(prof, "python_processes", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.merged);
	kp_meta_set(prof, "python_samples", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.matched);
	kp_meta_set(prof, "python_records_matched", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.unmatched);
	kp_meta_set(prof, "python_samples_unmatched", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.records);
	kp_meta_set(prof, "python_records", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.dropped);
	kp_meta_set(prof, "python_records_dropped", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.max_gap_ns);
	kp_meta_set(prof, "python_max_gap_ns", buf);
}
