/* heap_sym.c: the symbolizer thread of kiln heap (see heap_sym.h).
 *
 * Work goes through two byte queues under one mutex: commands (reader -> symbolizer)
 * and results (symbolizer -> reader). Each side swaps a whole queue out and works on
 * it unlocked. Results are frame definitions (sent once: the symbolizer's private
 * profile numbers frames in order, so "every frame from id k on" is what is new) and
 * stacks as lists of those frame ids, root first. */
#include "heap/heap_sym.h"
#include "heap/heap_py.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INLINE 32

enum { CMD_MODULE = 1, CMD_FORK, CMD_EXEC, CMD_STACK, CMD_PYCODE, CMD_PYSTACK, CMD_PYINFO };
enum { RES_FRAME = 1, RES_STACK };

struct hs_space {
	int pid;
	uint32_t gen; /* address-space instance: changes at fork into and exec of pid */
	uint32_t pygen; /* Python code table instance: changes at fork into and exec of pid */
	char *py_path;  /* the module running CPython (named as a system library) */
};

/* A Python code object of one process (HP_C_PYCODE). */
struct hs_pycode {
	int pid;
	uint32_t pygen;
	uint64_t addr;
	int first;
	kp_str_t name, file; /* private strings: "QUALNAME (BASENAME:FIRST)", co_filename */
	uint8_t *lt;
	size_t nlt;
	struct heap_py_range *ranges; /* the line table decoded, at the first lookup */
	size_t nranges;
	int decoded;
};

struct hs_map {
	int pid;
	int sys;
	uint64_t start, end;
};

struct hs_cache_ent {
	uint64_t key;   /* ip */
	uint32_t gen;
	uint32_t first; /* index in frames */
	uint32_t n;
	uint32_t sys;   /* is_sys of the address (the maps change with gen too) */
};

struct heap_sym {
	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct strbuf cmds, results;
	struct strbuf scratch; /* the command being built (the reader's thread only) */
	size_t queued;     /* stacks queued and not yet collected */
	int busy;          /* the symbolizer is working on a swapped-out batch */
	int stop;
	pthread_t thread;
	int threaded;

	/* the symbolizer's own */
	struct kp_profile priv;
	/* Two sessions: system libraries are named without file:line or inlined frames
	 * (loading libc's DWARF costs a tenth of a second and says little about a
	 * program's allocations); everything else with them. */
	struct ks_session *ks, *ks_sys;
	struct hs_map *maps;
	size_t nmaps, maps_alloc;
	struct hs_space *spaces;
	size_t nspaces, spaces_alloc;
	uint32_t next_gen;
	struct hs_cache_ent *cache;
	size_t cache_cap, cache_n;
	kp_frame_t *frames;       /* cached frame lists (private ids), innermost first */
	size_t nframes, frames_alloc;
	uint32_t frames_sent;     /* private frames [1, frames_sent) were sent */
	kp_frame_t *path;
	size_t path_alloc;
	/* Python code objects, and a hash of (pid, pygen, addr) -> index + 1 */
	struct hs_pycode *pycodes;
	size_t npycodes, pycodes_alloc;
	uint32_t *pyidx;
	size_t pyidx_cap;
	kp_str_t eval_name, py_module;
	int py_internals; /* keep the interpreter's own frames */
	struct heap_py_nat *nat;
	size_t nat_alloc;
	int32_t *plan;
	size_t plan_alloc;
	kp_frame_t *path2;
	size_t path2_alloc;

	/* the collector's own */
	struct kp_profile *p;
	kp_frame_t *map;          /* private frame id -> profile frame id */
	size_t map_alloc;
	struct strbuf batch;
};

/* ---- encoding helpers ---- */
static void put_u64(struct strbuf *b, uint64_t v)
{
	strbuf_add(b, &v, sizeof(v));
}

static void put_u32(struct strbuf *b, uint32_t v)
{
	strbuf_add(b, &v, sizeof(v));
}

static void put_str(struct strbuf *b, const char *s, uint32_t len)
{
	put_u32(b, len);
	strbuf_add(b, s, len);
}

struct rd {
	const char *p, *end;
};

static uint64_t get_u64(struct rd *r)
{
	uint64_t v;
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	return v;
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v;
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	return v;
}

static const char *get_str(struct rd *r, uint32_t *len)
{
	const char *s;
	*len = get_u32(r);
	s = r->p;
	r->p += *len;
	return s;
}

/* ---- the symbolizer side ---- */
static struct hs_space *space(struct heap_sym *hs, int pid)
{
	for (size_t i = 0; i < hs->nspaces; i++)
		if (hs->spaces[i].pid == pid)
			return &hs->spaces[i];
	ALLOC_GROW(hs->spaces, hs->nspaces + 1, hs->spaces_alloc);
	hs->spaces[hs->nspaces].pid = pid;
	hs->spaces[hs->nspaces].gen = hs->next_gen++;
	hs->spaces[hs->nspaces].pygen = hs->next_gen++;
	hs->spaces[hs->nspaces].py_path = NULL;
	return &hs->spaces[hs->nspaces++];
}

static void cache_grow(struct heap_sym *hs)
{
	size_t cap = hs->cache_cap ? hs->cache_cap * 2 : 4096;
	struct hs_cache_ent *c = xcalloc(cap, sizeof(*c));
	for (size_t i = 0; i < hs->cache_cap; i++) {
		struct hs_cache_ent *e = &hs->cache[i];
		if (!e->gen)
			continue;
		size_t j = (size_t)((e->key * 0x9E3779B97F4A7C15ull) ^ e->gen) & (cap - 1);
		while (c[j].gen)
			j = (j + 1) & (cap - 1);
		c[j] = *e;
	}
	free(hs->cache);
	hs->cache = c;
	hs->cache_cap = cap;
}

static int sys_path(const char *path, size_t len)
{
	static const char *const prefixes[] = { "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "[vdso]" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		if (len >= pl && !memcmp(path, prefixes[i], pl))
			return 1;
	}
	return 0;
}

/* The module runs pid's CPython, or is its launcher (an executable python* whose
 * interpreter is in libpython): named as a system library unless its frames are kept. */
static int py_module(struct heap_sym *hs, int pid, const char *path, size_t len)
{
	const char *py = space(hs, pid)->py_path;
	size_t b = len;
	if (!py || hs->py_internals)
		return 0;
	while (b > 0 && path[b - 1] != '/')
		b--;
	return (strlen(py) == len && !memcmp(py, path, len)) || (len - b >= 6 && !memcmp(path + b, "python", 6));
}

static int is_sys(const struct heap_sym *hs, int pid, uint64_t addr)
{
	for (size_t i = hs->nmaps; i-- > 0;)
		if (hs->maps[i].pid == pid && addr >= hs->maps[i].start && addr < hs->maps[i].end)
			return hs->maps[i].sys;
	return 0;
}

static void maps_drop(struct heap_sym *hs, int pid)
{
	size_t k = 0;
	for (size_t i = 0; i < hs->nmaps; i++)
		if (hs->maps[i].pid != pid)
			hs->maps[k++] = hs->maps[i];
	hs->nmaps = k;
}

/* Frames of one address (innermost inlined first, private ids); returns the count,
 * and in *sys (when not NULL) whether the address is in a system module. */
static uint32_t resolve(struct heap_sym *hs, int pid, uint32_t gen, uint64_t ip, const kp_frame_t **out,
			uint8_t *sys)
{
	struct hs_cache_ent *e;
	size_t j;
	kp_frame_t buf[MAX_INLINE];
	int n, is;
	if ((hs->cache_n + 1) * 2 > hs->cache_cap)
		cache_grow(hs);
	for (j = (size_t)((ip * 0x9E3779B97F4A7C15ull) ^ gen) & (hs->cache_cap - 1);; j = (j + 1) & (hs->cache_cap - 1)) {
		e = &hs->cache[j];
		if (!e->gen)
			break;
		if (e->key == ip && e->gen == gen) {
			*out = hs->frames + e->first;
			if (sys)
				*sys = (uint8_t)e->sys;
			return e->n;
		}
	}
	is = is_sys(hs, pid, ip - 1);
	n = ks_resolve(is ? hs->ks_sys : hs->ks, &hs->priv, pid, ip - 1, 0, buf, MAX_INLINE);
	if (n < 1) {
		buf[0] = kp_frame_named(&hs->priv, "[unknown]", 9, KP_FRAME_UNKNOWN);
		n = 1;
	}
	ALLOC_GROW(hs->frames, hs->nframes + (size_t)n, hs->frames_alloc);
	memcpy(hs->frames + hs->nframes, buf, (size_t)n * sizeof(buf[0]));
	e->key = ip;
	e->gen = gen;
	e->first = (uint32_t)hs->nframes;
	e->n = (uint32_t)n;
	e->sys = (uint32_t)is;
	if (sys)
		*sys = (uint8_t)is;
	hs->nframes += (size_t)n;
	hs->cache_n++;
	*out = hs->frames + e->first;
	return (uint32_t)n;
}


/* ---- Python code objects ---- */
static size_t pyhash(int pid, uint32_t pygen, uint64_t addr, size_t cap)
{
	return (size_t)(((addr >> 4) ^ (uint64_t)(uint32_t)pid << 40 ^ (uint64_t)pygen << 20) * 0x9E3779B97F4A7C15ull >>
			20) & (cap - 1);
}

static struct hs_pycode *pycode_find(struct heap_sym *hs, int pid, uint32_t pygen, uint64_t addr)
{
	if (!hs->pyidx_cap)
		return NULL;
	for (size_t j = pyhash(pid, pygen, addr, hs->pyidx_cap);; j = (j + 1) & (hs->pyidx_cap - 1)) {
		uint32_t v = hs->pyidx[j];
		struct hs_pycode *c;
		if (!v)
			return NULL;
		c = &hs->pycodes[v - 1];
		if (c->addr == addr && c->pid == pid && c->pygen == pygen)
			return c;
	}
}

/* The entry for (pid, pygen, addr), made empty when new. */
static struct hs_pycode *pycode_put(struct heap_sym *hs, int pid, uint32_t pygen, uint64_t addr)
{
	struct hs_pycode *c = pycode_find(hs, pid, pygen, addr);
	size_t j;
	if (c) {
		free(c->lt);
		free(c->ranges);
		c->lt = NULL;
		c->nlt = 0;
		c->ranges = NULL;
		c->nranges = 0;
		c->decoded = 0;
		return c;
	}
	if ((hs->npycodes + 1) * 2 > hs->pyidx_cap) {
		size_t cap = hs->pyidx_cap ? hs->pyidx_cap * 2 : 1024;
		free(hs->pyidx);
		hs->pyidx = xcalloc(cap, sizeof(*hs->pyidx));
		hs->pyidx_cap = cap;
		for (size_t i = 0; i < hs->npycodes; i++) {
			const struct hs_pycode *o = &hs->pycodes[i];
			for (j = pyhash(o->pid, o->pygen, o->addr, cap); hs->pyidx[j]; j = (j + 1) & (cap - 1))
				;
			hs->pyidx[j] = (uint32_t)i + 1;
		}
	}
	ALLOC_GROW(hs->pycodes, hs->npycodes + 1, hs->pycodes_alloc);
	c = &hs->pycodes[hs->npycodes++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->pygen = pygen;
	c->addr = addr;
	for (j = pyhash(pid, pygen, addr, hs->pyidx_cap); hs->pyidx[j]; j = (j + 1) & (hs->pyidx_cap - 1))
		;
	hs->pyidx[j] = (uint32_t)hs->npycodes;
	return c;
}

static void do_pycode(struct heap_sym *hs, struct rd *r)
{
	int pid = (int)get_u32(r);
	uint64_t addr = get_u64(r);
	int first = (int)get_u32(r);
	uint32_t nq, nf, nl;
	const char *q = get_str(r, &nq), *f = get_str(r, &nf), *lt = get_str(r, &nl);
	struct hs_space *sp = space(hs, pid);
	struct hs_pycode *c = pycode_put(hs, pid, sp->pygen, addr);
	struct strbuf b = STRBUF_INIT;
	const char *base = f;
	for (uint32_t i = 0; i < nf; i++)
		if (f[i] == '/')
			base = f + i + 1;
	strbuf_add(&b, q, nq);
	strbuf_addf(&b, " (%.*s:%d)", (int)(nf - (uint32_t)(base - f)), base, first);
	c->first = first;
	c->name = kp_str(&hs->priv, b.buf, b.len);
	c->file = kp_str(&hs->priv, f, nf);
	c->lt = nl ? xmalloc(nl) : NULL;
	if (nl)
		memcpy(c->lt, lt, nl);
	c->nlt = nl;
	strbuf_release(&b);
}

/* A fork child starts with its parent's code objects. */
static void pycode_fork(struct heap_sym *hs, int ppid, int pid)
{
	struct hs_space *ps = space(hs, ppid);
	uint32_t pg = ps->pygen, cg = space(hs, pid)->pygen;
	for (size_t i = 0, n = hs->npycodes; i < n; i++) {
		struct hs_pycode o = hs->pycodes[i];
		struct hs_pycode *c;
		if (o.pid != ppid || o.pygen != pg)
			continue;
		c = pycode_put(hs, pid, cg, o.addr);
		c->first = o.first;
		c->name = o.name;
		c->file = o.file;
		c->lt = o.nlt ? xmalloc(o.nlt) : NULL;
		if (o.nlt)
			memcpy(c->lt, o.lt, o.nlt);
		c->nlt = o.nlt;
		c->ranges = NULL;
		c->nranges = 0;
		c->decoded = 0;
	}
}

static kp_frame_t py_frame(struct heap_sym *hs, int pid, uint64_t code, uint64_t w)
{
	struct hs_pycode *c = pycode_find(hs, pid, space(hs, pid)->pygen, code);
	struct kp_frame f;
	memset(&f, 0, sizeof(f));
	f.module = hs->py_module;
	f.flags = KP_FRAME_PY;
	if (!c) {
		f.name = kp_strz(&hs->priv, "[unknown]");
		f.flags |= KP_FRAME_UNKNOWN;
		return kp_frame(&hs->priv, &f);
	}
	f.name = c->name;
	f.file = c->file;
	if (!c->decoded) {
		c->nranges = heap_py_ranges(c->lt, c->nlt, c->first, &c->ranges);
		c->decoded = 1;
	}
	f.line = (uint32_t)heap_py_range_line(c->ranges, c->nranges, c->first, (int64_t)(int32_t)(uint32_t)w);
	return kp_frame(&hs->priv, &f);
}

static void send_new_frames(struct heap_sym *hs, struct strbuf *out)
{
	const struct kp_profile *q = &hs->priv;
	for (uint32_t f = hs->frames_sent; f < q->nframes; f++) {
		const struct kp_frame *fr = &q->frames[f];
		put_u32(out, RES_FRAME);
		put_u32(out, f);
		put_u32(out, fr->line);
		put_u32(out, fr->flags);
		put_u64(out, fr->addr);
		put_str(out, kp_str_get(q, fr->name), kp_str_len(q, fr->name));
		put_str(out, kp_str_get(q, fr->module), kp_str_len(q, fr->module));
		put_str(out, kp_str_get(q, fr->file), kp_str_len(q, fr->file));
	}
	hs->frames_sent = q->nframes;
}

static void do_stack(struct heap_sym *hs, struct rd *r, struct strbuf *out)
{
	uint64_t owner = get_u64(r);
	uint32_t id = get_u32(r);
	int pid = (int)get_u32(r);
	uint32_t n = get_u32(r);
	struct hs_space *sp = space(hs, pid);
	const uint64_t *ips = (const uint64_t *)r->p;
	size_t depth = 0;
	r->p += (size_t)n * 8;
	/* outermost first: walk ips from the end, each address's frames outer to inner */
	for (size_t i = n; i-- > 0;) {
		const kp_frame_t *f;
		uint64_t ip;
		memcpy(&ip, ips + i, 8);
		uint32_t k = resolve(hs, pid, sp->gen, ip, &f, NULL);
		ALLOC_GROW(hs->path, depth + k, hs->path_alloc);
		while (k-- > 0)
			hs->path[depth++] = f[k];
	}
	send_new_frames(hs, out);
	put_u32(out, RES_STACK);
	put_u64(out, owner);
	put_u32(out, id);
	put_u32(out, (uint32_t)depth);
	strbuf_add(out, hs->path, depth * sizeof(*hs->path));
}


/* A stack with Python frames: the native stack, each evaluation loop replaced by the
 * Python frames it runs (heap_py_merge). */
static void do_pystack(struct heap_sym *hs, struct rd *r, struct strbuf *out)
{
	uint64_t owner = get_u64(r);
	uint32_t id = get_u32(r);
	int pid = (int)get_u32(r);
	uint32_t n = get_u32(r), np = get_u32(r);
	struct hs_space *sp = space(hs, pid);
	const char *ips = r->p, *py = r->p + (size_t)n * 8;
	size_t depth = 0, k;
	kp_str_t interp = 0;
	uint8_t *entry;
	r->p += (size_t)n * 8 + (size_t)np * 16;
	for (size_t i = n; i-- > 0;) {
		const kp_frame_t *f;
		uint64_t ip;
		memcpy(&ip, ips + i * 8, 8);
		uint8_t sys;
		uint32_t m = resolve(hs, pid, sp->gen, ip, &f, &sys);
		ALLOC_GROW(hs->path, depth + m, hs->path_alloc);
		ALLOC_GROW(hs->nat, depth + m + 1, hs->nat_alloc);
		while (m-- > 0) {
			hs->nat[depth].is_sys = sys;
			hs->path[depth++] = f[m];
		}
	}
	ALLOC_GROW(hs->nat, depth + 1, hs->nat_alloc);
	for (size_t i = 0; i < depth; i++) {
		const struct kp_frame *fr = &hs->priv.frames[hs->path[i]];
		hs->nat[i].is_eval = fr->name == hs->eval_name;
		if (hs->nat[i].is_eval && !interp)
			interp = fr->module;
	}
	for (size_t i = 0; i < depth; i++)
		hs->nat[i].is_interp = interp && hs->priv.frames[hs->path[i]].module == interp && !hs->py_internals;
	entry = xcalloc(np + 1, 1);
	for (uint32_t j = 0; j < np; j++) {
		uint64_t w;
		memcpy(&w, py + (size_t)j * 16 + 8, 8);
		entry[j] = (uint8_t)(w >> 32 & 1);
	}
	ALLOC_GROW(hs->plan, depth + np + 1, hs->plan_alloc);
	k = heap_py_merge(hs->nat, depth, entry, np, !hs->py_internals, hs->plan);
	free(entry);
	ALLOC_GROW(hs->path2, k + 1, hs->path2_alloc);
	for (size_t i = 0; i < k; i++) {
		int32_t x = hs->plan[i];
		if (x >= 0) {
			hs->path2[i] = hs->path[x];
		} else {
			uint64_t code, w;
			memcpy(&code, py + (size_t)(-x - 1) * 16, 8);
			memcpy(&w, py + (size_t)(-x - 1) * 16 + 8, 8);
			hs->path2[i] = py_frame(hs, pid, code, w);
		}
	}
	send_new_frames(hs, out);
	put_u32(out, RES_STACK);
	put_u64(out, owner);
	put_u32(out, id);
	put_u32(out, (uint32_t)k);
	strbuf_add(out, hs->path2, k * sizeof(*hs->path2));
}

static void run_commands(struct heap_sym *hs, const struct strbuf *cmds, struct strbuf *out)
{
	struct rd r = { cmds->buf, cmds->buf + cmds->len };
	while (r.p < r.end) {
		uint32_t type = get_u32(&r);
		switch (type) {
		case CMD_MODULE: {
			int pid = (int)get_u32(&r);
			int prot = (int)get_u32(&r);
			uint64_t start = get_u64(&r), len = get_u64(&r), pgoff = get_u64(&r);
			uint32_t pl, bl;
			const char *path = get_str(&r, &pl);
			const char *bid = get_str(&r, &bl);
			char *pz = xstrndup(path, pl);
			space(hs, pid)->gen = hs->next_gen++;
			ks_mmap(hs->ks, pid, start, len, pgoff, pz, (const unsigned char *)bid, bl, prot);
			ks_mmap(hs->ks_sys, pid, start, len, pgoff, pz, (const unsigned char *)bid, bl, prot);
			ALLOC_GROW(hs->maps, hs->nmaps + 1, hs->maps_alloc);
			hs->maps[hs->nmaps].pid = pid;
			hs->maps[hs->nmaps].sys = sys_path(path, pl) || py_module(hs, pid, path, pl);
			hs->maps[hs->nmaps].start = start;
			hs->maps[hs->nmaps].end = start + len;
			hs->nmaps++;
			free(pz);
			break;
		}
		case CMD_FORK: {
			int ppid = (int)get_u32(&r), pid = (int)get_u32(&r);
			space(hs, pid)->gen = hs->next_gen++;
			space(hs, pid)->pygen = hs->next_gen++;
			pycode_fork(hs, ppid, pid);
			free(space(hs, pid)->py_path);
			space(hs, pid)->py_path = space(hs, ppid)->py_path ? xstrdup(space(hs, ppid)->py_path) : NULL;
			ks_exec(hs->ks, pid);
			ks_fork(hs->ks, ppid, pid);
			ks_exec(hs->ks_sys, pid);
			ks_fork(hs->ks_sys, ppid, pid);
			maps_drop(hs, pid);
			for (size_t i = 0, n = hs->nmaps; i < n; i++) {
				if (hs->maps[i].pid != ppid)
					continue;
				ALLOC_GROW(hs->maps, hs->nmaps + 1, hs->maps_alloc);
				hs->maps[hs->nmaps] = hs->maps[i];
				hs->maps[hs->nmaps++].pid = pid;
			}
			break;
		}
		case CMD_EXEC: {
			int pid = (int)get_u32(&r);
			space(hs, pid)->gen = hs->next_gen++;
			space(hs, pid)->pygen = hs->next_gen++;
			free(space(hs, pid)->py_path);
			space(hs, pid)->py_path = NULL;
			ks_exec(hs->ks, pid);
			ks_exec(hs->ks_sys, pid);
			maps_drop(hs, pid);
			break;
		}
		case CMD_STACK:
			do_stack(hs, &r, out);
			break;
		case CMD_PYCODE:
			do_pycode(hs, &r);
			break;
		case CMD_PYSTACK:
			do_pystack(hs, &r, out);
			break;
		case CMD_PYINFO: {
			int pid = (int)get_u32(&r);
			uint32_t pl;
			const char *path = get_str(&r, &pl);
			struct hs_space *sp = space(hs, pid);
			free(sp->py_path);
			sp->py_path = xstrndup(path, pl);
			break;
		}
		default:
			return; /* cannot happen: we wrote them */
		}
	}
}

static void *symbolizer_main(void *arg)
{
	struct heap_sym *hs = arg;
	struct strbuf work = STRBUF_INIT, out = STRBUF_INIT;
	pthread_mutex_lock(&hs->lock);
	for (;;) {
		while (!hs->cmds.len && !hs->stop)
			pthread_cond_wait(&hs->work, &hs->lock);
		if (!hs->cmds.len && hs->stop)
			break;
		/* take the whole queue */
		struct strbuf t = hs->cmds;
		hs->cmds = work;
		work = t;
		hs->busy = 1;
		pthread_mutex_unlock(&hs->lock);
		run_commands(hs, &work, &out);
		strbuf_reset(&work);
		pthread_mutex_lock(&hs->lock);
		strbuf_add(&hs->results, out.buf, out.len);
		strbuf_reset(&out);
		hs->busy = 0;
		pthread_cond_broadcast(&hs->done);
	}
	pthread_mutex_unlock(&hs->lock);
	strbuf_release(&work);
	strbuf_release(&out);
	return NULL;
}

/* ---- the reader side ---- */
struct heap_sym *heap_sym_new(struct kp_profile *p)
{
	struct heap_sym *hs = xcalloc(1, sizeof(*hs));
	struct ks_options o;
	sigset_t all, old;
	hs->p = p;
	hs->next_gen = 1;
	kp_profile_init(&hs->priv);
	hs->frames_sent = 1;
	hs->eval_name = kp_strz(&hs->priv, "_PyEval_EvalFrameDefault");
	hs->py_module = kp_strz(&hs->priv, "[python]");
	memset(&o, 0, sizeof(o));
	o.no_kernel = 1;
	hs->ks = ks_session_new(&o);
	o.no_lines = o.no_inline = 1;
	hs->ks_sys = ks_session_new(&o);
	strbuf_init(&hs->cmds, 0);
	strbuf_init(&hs->results, 0);
	strbuf_init(&hs->batch, 0);
	pthread_mutex_init(&hs->lock, NULL);
	pthread_cond_init(&hs->work, NULL);
	pthread_cond_init(&hs->done, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the main thread */
	hs->threaded = pthread_create(&hs->thread, NULL, symbolizer_main, hs) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return hs;
}

/* The reader's buffer for a new command (reused: no allocation per command). */
static struct strbuf *cmd_start(struct heap_sym *hs)
{
	strbuf_reset(&hs->scratch);
	return &hs->scratch;
}

/* Hands the command built in hs->scratch to the symbolizer (runs it at once when there
 * is no thread); a stack (counted) is one more result the reader waits for. */
static void queue(struct heap_sym *hs, int counted)
{
	const struct strbuf *cmd = &hs->scratch;
	if (!hs->threaded) {
		struct strbuf out = STRBUF_INIT;
		hs->queued += (size_t)counted;
		run_commands(hs, cmd, &out);
		strbuf_add(&hs->results, out.buf, out.len);
		strbuf_release(&out);
		return;
	}
	pthread_mutex_lock(&hs->lock);
	hs->queued += (size_t)counted;
	strbuf_add(&hs->cmds, cmd->buf, cmd->len);
	pthread_cond_signal(&hs->work);
	pthread_mutex_unlock(&hs->lock);
}

void heap_sym_module(struct heap_sym *hs, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		     const char *path, const unsigned char *build_id, size_t build_id_len, int prot)
{
	struct strbuf *c = cmd_start(hs);
	put_u32(c, CMD_MODULE);
	put_u32(c, (uint32_t)pid);
	put_u32(c, (uint32_t)prot);
	put_u64(c, start);
	put_u64(c, len);
	put_u64(c, pgoff);
	put_str(c, path, (uint32_t)strlen(path));
	put_str(c, (const char *)build_id, (uint32_t)build_id_len);
	queue(hs, 0);
}

void heap_sym_fork(struct heap_sym *hs, int ppid, int pid)
{
	struct strbuf *c = cmd_start(hs);
	put_u32(c, CMD_FORK);
	put_u32(c, (uint32_t)ppid);
	put_u32(c, (uint32_t)pid);
	queue(hs, 0);
}

void heap_sym_exec(struct heap_sym *hs, int pid)
{
	struct strbuf *c = cmd_start(hs);
	put_u32(c, CMD_EXEC);
	put_u32(c, (uint32_t)pid);
	queue(hs, 0);
}

/* A stack command's start: what it is, whose stack id, the process, the native depth. */
static struct strbuf *stack_cmd(struct heap_sym *hs, uint32_t type, void *owner, uint32_t id, int pid, size_t n)
{
	struct strbuf *c = cmd_start(hs);
	put_u32(c, type);
	put_u64(c, (uint64_t)(uintptr_t)owner);
	put_u32(c, id);
	put_u32(c, (uint32_t)pid);
	put_u32(c, (uint32_t)n);
	return c;
}

void heap_sym_stack(struct heap_sym *hs, void *owner, uint32_t id, int pid, const uint64_t *ips, size_t n)
{
	struct strbuf *c = stack_cmd(hs, CMD_STACK, owner, id, pid, n);
	strbuf_add(c, ips, n * 8);
	queue(hs, 1);
}


void heap_sym_py_internals(struct heap_sym *hs, int keep)
{
	hs->py_internals = keep;
}

void heap_sym_pyinfo(struct heap_sym *hs, int pid, const char *path, size_t len)
{
	struct strbuf *c = cmd_start(hs);
	put_u32(c, CMD_PYINFO);
	put_u32(c, (uint32_t)pid);
	put_str(c, path, (uint32_t)len);
	queue(hs, 0);
}

void heap_sym_pycode(struct heap_sym *hs, int pid, uint64_t addr, int first, const char *qualname, size_t nq,
		     const char *file, size_t nf, const uint8_t *lt, size_t nl)
{
	struct strbuf *c = cmd_start(hs);
	put_u32(c, CMD_PYCODE);
	put_u32(c, (uint32_t)pid);
	put_u64(c, addr);
	put_u32(c, (uint32_t)first);
	put_str(c, qualname, (uint32_t)nq);
	put_str(c, file, (uint32_t)nf);
	put_str(c, (const char *)lt, (uint32_t)nl);
	queue(hs, 0);
}

void heap_sym_pystack(struct heap_sym *hs, void *owner, uint32_t id, int pid, const uint64_t *ips, size_t n,
		      const uint64_t *py, size_t np)
{
	struct strbuf *c = stack_cmd(hs, CMD_PYSTACK, owner, id, pid, n);
	put_u32(c, (uint32_t)np);
	strbuf_add(c, ips, n * 8);
	strbuf_add(c, py, np * 16);
	queue(hs, 1);
}

size_t heap_sym_collect(struct heap_sym *hs, int wait, heap_sym_done_fn done, void *ctx)
{
	struct rd r;
	size_t left, got = 0;
	if (hs->threaded) {
		pthread_mutex_lock(&hs->lock);
		while (wait && (hs->cmds.len || hs->busy))
			pthread_cond_wait(&hs->done, &hs->lock);
		struct strbuf t = hs->results;
		hs->results = hs->batch;
		hs->batch = t;
		pthread_mutex_unlock(&hs->lock);
	} else {
		struct strbuf t = hs->results;
		hs->results = hs->batch;
		hs->batch = t;
	}
	r.p = hs->batch.buf;
	r.end = hs->batch.buf + hs->batch.len;
	while (r.p < r.end) {
		uint32_t type = get_u32(&r);
		if (type == RES_FRAME) {
			struct kp_frame f;
			uint32_t id = get_u32(&r), l;
			const char *s;
			memset(&f, 0, sizeof(f));
			f.line = get_u32(&r);
			f.flags = get_u32(&r);
			f.addr = get_u64(&r);
			s = get_str(&r, &l);
			f.name = kp_str(hs->p, s, l);
			s = get_str(&r, &l);
			f.module = kp_str(hs->p, s, l);
			s = get_str(&r, &l);
			f.file = kp_str(hs->p, s, l);
			ALLOC_GROW(hs->map, (size_t)id + 1, hs->map_alloc);
			hs->map[id] = kp_frame(hs->p, &f);
		} else {
			void *owner = (void *)(uintptr_t)get_u64(&r);
			uint32_t id = get_u32(&r), depth = get_u32(&r);
			kp_stack_t st = 0;
			for (uint32_t i = 0; i < depth; i++) {
				uint32_t f = get_u32(&r);
				st = kp_stack_push(hs->p, st, hs->map[f]);
			}
			done(ctx, owner, id, st);
			got++;
		}
	}
	strbuf_reset(&hs->batch);
	if (hs->threaded)
		pthread_mutex_lock(&hs->lock);
	hs->queued -= got;
	left = hs->queued;
	if (hs->threaded)
		pthread_mutex_unlock(&hs->lock);
	return left;
}

void heap_sym_wait(struct heap_sym *hs, int ms)
{
	struct timespec ts;
	if (!hs->threaded)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&hs->lock);
	if (hs->cmds.len || hs->busy)
		pthread_cond_timedwait(&hs->done, &hs->lock, &ts);
	pthread_mutex_unlock(&hs->lock);
}

void heap_sym_free(struct heap_sym *hs)
{
	if (!hs)
		return;
	if (hs->threaded) {
		pthread_mutex_lock(&hs->lock);
		hs->stop = 1;
		pthread_cond_signal(&hs->work);
		pthread_mutex_unlock(&hs->lock);
		pthread_join(hs->thread, NULL);
	}
	pthread_mutex_destroy(&hs->lock);
	pthread_cond_destroy(&hs->work);
	pthread_cond_destroy(&hs->done);
	ks_session_free(hs->ks);
	ks_session_free(hs->ks_sys);
	kp_profile_release(&hs->priv);
	free(hs->maps);
	strbuf_release(&hs->cmds);
	strbuf_release(&hs->scratch);
	strbuf_release(&hs->results);
	strbuf_release(&hs->batch);
	for (size_t i = 0; i < hs->nspaces; i++)
		free(hs->spaces[i].py_path);
	free(hs->spaces);
	free(hs->cache);
	free(hs->frames);
	free(hs->path);
	free(hs->map);
	for (size_t i = 0; i < hs->npycodes; i++) {
		free(hs->pycodes[i].lt);
		free(hs->pycodes[i].ranges);
	}
	free(hs->pycodes);
	free(hs->pyidx);
	free(hs->nat);
	free(hs->plan);
	free(hs->path2);
	free(hs);
}
