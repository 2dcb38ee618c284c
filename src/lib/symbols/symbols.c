/* symbols.c: the symbolization session: per-process address spaces (maps, fork, exec,
 * /proc/PID/maps), the module registry, and ks_resolve with its (module, address) cache
 * and the per-profile cache of interned frame ids. */
#include "symbols/sym_internal.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- hashing ---- */
uint64_t ks_hash_u64(uint64_t x)
{
	return hash_mix64(x);
}

uint64_t ks_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	while (len--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return ks_hash_u64(h);
}

/* ---- string pool: interned, NUL-terminated, freed with the session ---- */
struct ks_chunk {
	struct ks_chunk *next;
	size_t used, size;
	char data[];
};

static char *pool_alloc(struct ks_strpool *sp, size_t n)
{
	struct ks_chunk *c = sp->chunks;
	if (!c || c->size - c->used < n) {
		size_t size = n > 65536 ? n : 65536;
		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = sp->chunks;
		sp->chunks = c;
	}
	char *r = c->data + c->used;
	c->used += n;
	return r;
}

static void pool_rehash(struct ks_strpool *sp)
{
	uint32_t size = sp->size ? sp->size * 2 : 1024;
	const char **slots = xcalloc(size, sizeof(*slots));
	for (uint32_t i = 0; i < sp->size; i++) {
		const char *str = sp->slots[i];
		if (!str)
			continue;
		uint32_t j = (uint32_t)ks_hash_bytes(str, strlen(str)) & (size - 1);
		while (slots[j])
			j = (j + 1) & (size - 1);
		slots[j] = str;
	}
	free(sp->slots);
	sp->slots = slots;
	sp->size = size;
}

const char *ks_intern(struct ks_strpool *sp, const char *str, size_t len)
{
	if ((sp->nr + 1) * 2 > sp->size)
		pool_rehash(sp);
	uint32_t mask = sp->size - 1;
	uint32_t i = (uint32_t)ks_hash_bytes(str, len) & mask;
	while (sp->slots[i]) {
		const char *cur = sp->slots[i];
		if (strncmp(cur, str, len) == 0 && cur[len] == '\0')
			return cur;
		i = (i + 1) & mask;
	}
	char *copy = pool_alloc(sp, len + 1);
	memcpy(copy, str, len);
	copy[len] = '\0';
	sp->slots[i] = copy;
	sp->nr++;
	return copy;
}

void ks_strpool_release(struct ks_strpool *sp)
{
	struct ks_chunk *c = sp->chunks;
	while (c) {
		struct ks_chunk *n = c->next;
		free(c);
		c = n;
	}
	free(sp->slots);
	memset(sp, 0, sizeof(*sp));
}

/* ---- session ---- */
struct ks_session *ks_session_new(const struct ks_options *opts)
{
	struct ks_session *s = xcalloc(1, sizeof(*s));
	if (opts)
		s->opts = *opts;
	s->jit_dir = xstrdup("/tmp");
	s->maps_epoch = 1;
	s->fast = xcalloc(KS_FAST_SIZE, sizeof(*s->fast));
	return s;
}

void ks_session_free(struct ks_session *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->procs_size; i++) {
		struct ks_proc *pr = &s->procs[i];
		if (!pr->used)
			continue;
		free(pr->maps);
		ks_jit_free(pr->jit);
	}
	free(s->procs);
	ks_unwind_free(s);
	for (uint32_t i = 0; i < s->mods_size; i++) {
		struct ks_module *m = s->mods[i];
		while (m) {
			struct ks_module *n = m->next_hash;
			ks_module_free(m);
			m = n;
		}
	}
	free(s->mods);
	if (s->vdso)
		ks_module_free(s->vdso);
	free(s->kernel.syms);
	free(s->kernel.text);
	free(s->fast);
	free(s->centries);
	free(s->chash);
	free(s->cframes);
	free(s->cids);
	free(s->jit_dir);
	free(s->dwfl_debuginfo_path);
	ks_strpool_release(&s->pool);
	free(s);
}

void ks_session_set_jit_dir(struct ks_session *s, const char *dir)
{
	free(s->jit_dir);
	s->jit_dir = xstrdup(dir);
}

void ks_session_set_debug_path(struct ks_session *s, const char *path)
{
	free(s->dwfl_debuginfo_path);
	s->dwfl_debuginfo_path = path ? xstrdup(path) : NULL;
}

void ks_session_preload_kernel(struct ks_session *s)
{
	if (!s->opts.no_kernel)
		ks_kernel_load(s); /* a failure is remembered and reported at the first lookup */
}

/* ---- processes ---- */
static void procs_rehash(struct ks_session *s)
{
	uint32_t size = s->procs_size ? s->procs_size * 2 : 64;
	struct ks_proc *np = xcalloc(size, sizeof(*np));
	for (uint32_t i = 0; i < s->procs_size; i++) {
		struct ks_proc *pr = &s->procs[i];
		if (!pr->used)
			continue;
		uint32_t j = (uint32_t)ks_hash_u64((uint64_t)(uint32_t)pr->pid) & (size - 1);
		while (np[j].used)
			j = (j + 1) & (size - 1);
		np[j] = *pr;
	}
	free(s->procs);
	s->procs = np;
	s->procs_size = size;
}

struct ks_proc *ks_proc_get(struct ks_session *s, int pid, int create)
{
	if (s->procs_size) {
		uint32_t mask = s->procs_size - 1;
		uint32_t i = (uint32_t)ks_hash_u64((uint64_t)(uint32_t)pid) & mask;
		while (s->procs[i].used) {
			if (s->procs[i].pid == pid)
				return &s->procs[i];
			i = (i + 1) & mask;
		}
	}
	if (!create)
		return NULL;
	if ((s->procs_nr + 1) * 2 > s->procs_size)
		procs_rehash(s);
	uint32_t mask = s->procs_size - 1;
	uint32_t i = (uint32_t)ks_hash_u64((uint64_t)(uint32_t)pid) & mask;
	while (s->procs[i].used)
		i = (i + 1) & mask;
	memset(&s->procs[i], 0, sizeof(s->procs[i]));
	s->procs[i].used = 1;
	s->procs[i].pid = pid;
	s->procs_nr++;
	return &s->procs[i];
}

int ks_addr_mapped(struct ks_session *s, int pid, uint64_t addr)
{
	struct ks_proc *pr = ks_proc_get(s, pid, 0);
	return pr && ks_proc_find(pr, addr) != NULL;
}

struct ks_map *ks_proc_find(struct ks_proc *pr, uint64_t addr)
{
	if (!pr->nr)
		return NULL;
	if (pr->last < pr->nr) {
		struct ks_map *m = &pr->maps[pr->last];
		if (addr >= m->start && addr < m->end)
			return m;
	}
	size_t lo = 0, hi = pr->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pr->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < pr->nr && pr->maps[lo].start <= addr) {
		pr->last = lo;
		return &pr->maps[lo];
	}
	return NULL;
}

/* ---- modules ---- */
static uint64_t module_hash(const char *path, const unsigned char *bid, size_t bid_len)
{
	return ks_hash_bytes(path, strlen(path)) ^ (bid_len ? ks_hash_bytes(bid, bid_len) : 0);
}

static struct ks_module *module_get(struct ks_session *s, const char *path,
				    const unsigned char *bid, size_t bid_len, int pid)
{
	if (bid_len > KS_MAX_BUILD_ID)
		bid_len = KS_MAX_BUILD_ID;
	if (!bid)
		bid_len = 0;
	if (s->mods_size) {
		uint32_t i = (uint32_t)module_hash(path, bid, bid_len) & (s->mods_size - 1);
		for (struct ks_module *m = s->mods[i]; m; m = m->next_hash)
			if (m->build_id_len == bid_len && strcmp(m->path, path) == 0 &&
			    (!bid_len || memcmp(m->build_id, bid, bid_len) == 0))
				return m;
	}
	if ((s->mods_nr + 1) > s->mods_size) {
		uint32_t size = s->mods_size ? s->mods_size * 2 : 64;
		struct ks_module **nm = xcalloc(size, sizeof(*nm));
		for (uint32_t i = 0; i < s->mods_size; i++) {
			struct ks_module *m = s->mods[i];
			while (m) {
				struct ks_module *n = m->next_hash;
				uint32_t j = (uint32_t)module_hash(m->path, m->build_id,
								   m->build_id_len) & (size - 1);
				m->next_hash = nm[j];
				nm[j] = m;
				m = n;
			}
		}
		free(s->mods);
		s->mods = nm;
		s->mods_size = size;
	}
	struct ks_module *m = xcalloc(1, sizeof(*m));
	m->path = ks_internz(&s->pool, path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *un = xasprintf("[%s]", base);
	m->unknown_name = ks_internz(&s->pool, un);
	free(un);
	if (bid_len)
		memcpy(m->build_id, bid, bid_len);
	m->build_id_len = bid_len;
	m->kind = KS_MOD_FILE;
	m->pid_hint = pid;
	uint32_t i = (uint32_t)module_hash(path, bid, bid_len) & (s->mods_size - 1);
	m->next_hash = s->mods[i];
	s->mods[i] = m;
	s->mods_nr++;
	return m;
}

static struct ks_module *vdso_module(struct ks_session *s)
{
	if (!s->vdso) {
		struct ks_module *m = xcalloc(1, sizeof(*m));
		m->path = ks_internz(&s->pool, "[vdso]");
		m->unknown_name = m->path;
		m->kind = KS_MOD_VDSO;
		s->vdso = m;
	}
	return s->vdso;
}

/* ---- mappings ---- */
static int map_kind(const char *path)
{
	if (!path[0] || strcmp(path, "//anon") == 0 || strncmp(path, "[anon:", 6) == 0 ||
	    strncmp(path, "/memfd:", 7) == 0 || strncmp(path, "/dev/zero", 9) == 0 ||
	    strncmp(path, "/SYSV", 5) == 0 || strncmp(path, "anon_inode:", 11) == 0)
		return KS_MAP_ANON;
	if (strcmp(path, "[vdso]") == 0)
		return KS_MAP_VDSO;
	if (path[0] == '[')
		return KS_MAP_SPECIAL;
	if (path[0] != '/')
		return KS_MAP_ANON;
	return KS_MAP_FILE;
}

/* Inserts nm into pr's sorted, non-overlapping maps; what it overlaps is cut away. */
static void proc_insert(struct ks_proc *pr, const struct ks_map *nm)
{
	size_t lo = 0, hi = pr->nr;
	while (lo < hi) { /* first map that ends after nm starts */
		size_t mid = lo + (hi - lo) / 2;
		if (pr->maps[mid].end <= nm->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t first = lo, last = lo; /* [first, last) overlap nm */
	while (last < pr->nr && pr->maps[last].start < nm->end)
		last++;
	struct ks_map rem[2];
	int nrem = 0;
	if (first < last) {
		struct ks_map *a = &pr->maps[first], *b = &pr->maps[last - 1];
		if (a->start < nm->start) {
			rem[nrem] = *a;
			rem[nrem].end = nm->start;
			nrem++;
		}
		if (b->end > nm->end) {
			rem[nrem] = *b;
			rem[nrem].pgoff += nm->end - b->start;
			rem[nrem].start = nm->end;
			nrem++;
		}
	}
	size_t removed = last - first, added = 1 + (size_t)nrem;
	size_t newnr = pr->nr - removed + added;
	ALLOC_GROW(pr->maps, newnr, pr->alloc);
	memmove(&pr->maps[first + added], &pr->maps[last], (pr->nr - last) * sizeof(*pr->maps));
	size_t k = first;
	if (nrem && rem[0].start < nm->start)
		pr->maps[k++] = rem[0];
	pr->maps[k++] = *nm;
	if (nrem && rem[nrem - 1].start >= nm->end)
		pr->maps[k++] = rem[nrem - 1];
	pr->nr = newnr;
	pr->last = 0;
}

static void add_map(struct ks_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *path, const unsigned char *build_id, size_t build_id_len, int prot,
		    int by_bias, uint64_t bias);

void ks_mmap(struct ks_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
	     const char *path, const unsigned char *build_id, size_t build_id_len, int prot)
{
	add_map(s, pid, start, len, pgoff, path, build_id, build_id_len, prot, 0, 0);
}

void ks_mmap_elf(struct ks_session *s, int pid, uint64_t start, uint64_t len, uint64_t bias,
		 const char *path, const unsigned char *build_id, size_t build_id_len, int prot)
{
	add_map(s, pid, start, len, 0, path, build_id, build_id_len, prot, 1, bias);
}

int ks_map_vaddr(struct ks_session *s, const struct ks_map *m, uint64_t addr, uint64_t *va)
{
	if (!m->mod || ks_module_open(s, m->mod) != 0)
		return -1;
	if (m->by_bias) {
		*va = addr - m->bias;
		return 0;
	}
	return ks_module_off_to_vaddr(m->mod, addr - m->start + m->pgoff, va);
}

static void add_map(struct ks_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *path, const unsigned char *build_id, size_t build_id_len, int prot,
		    int by_bias, uint64_t bias)
{
	if (!len || start + len < start)
		return;
	if (!path)
		path = "";
	struct ks_proc *pr = ks_proc_get(s, pid, 1);
	struct ks_map m = { .start = start, .end = start + len, .pgoff = pgoff, .prot = prot,
			    .by_bias = by_bias, .bias = bias };
	m.kind = map_kind(path);
	size_t plen = strlen(path);
	static const char deleted[] = " (deleted)";
	if (m.kind == KS_MAP_FILE && plen > sizeof(deleted) - 1 &&
	    strcmp(path + plen - (sizeof(deleted) - 1), deleted) == 0)
		plen -= sizeof(deleted) - 1;
	m.name = ks_intern(&s->pool, path, plen);
	s->maps_epoch++;
	if (m.kind == KS_MAP_FILE)
		m.mod = module_get(s, m.name, build_id, build_id_len, pid);
	else if (m.kind == KS_MAP_VDSO)
		m.mod = vdso_module(s);
	proc_insert(pr, &m);
}

void ks_fork(struct ks_session *s, int ppid, int pid)
{
	if (ppid == pid)
		return;
	s->maps_epoch++;
	/* create the child first: creating may move the table and the parent with it */
	struct ks_proc *child = ks_proc_get(s, pid, 1);
	struct ks_proc *parent = ks_proc_get(s, ppid, 0);
	child->nr = 0;
	child->last = 0;
	ks_jit_free(child->jit);
	child->jit = NULL;
	if (!parent)
		return;
	ALLOC_GROW(child->maps, parent->nr, child->alloc);
	if (parent->nr)
		memcpy(child->maps, parent->maps, parent->nr * sizeof(*parent->maps));
	child->nr = parent->nr;
}

void ks_exec(struct ks_session *s, int pid)
{
	struct ks_proc *pr = ks_proc_get(s, pid, 0);
	if (!pr)
		return;
	s->maps_epoch++;
	pr->nr = 0;
	pr->last = 0;
	ks_jit_free(pr->jit);
	pr->jit = NULL;
}

void ks_exit(struct ks_session *s, int pid)
{
	struct ks_proc *pr = ks_proc_get(s, pid, 0);
	if (!pr)
		return;
	ks_exec(s, pid);
	free(pr->maps);
	pr->maps = NULL;
	pr->alloc = 0;
}

int ks_load_proc_maps(struct ks_session *s, int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	struct ks_proc *pr = ks_proc_get(s, pid, 1);
	/* a snapshot replaces what the session knew of this process */
	s->maps_epoch++;
	pr->nr = 0;
	pr->last = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lines = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		uint64_t start, end, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s%n", &start, &end,
			   perms, &off, &pos) < 4 || !pos)
			continue;
		const char *p = line + pos;
		while (*p == ' ' || *p == '\t')
			p++;
		int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			   (perms[2] == 'x' ? PROT_EXEC : 0);
		if (end <= start)
			continue;
		ks_mmap(s, pid, start, end - start, off, p, NULL, 0, prot);
		lines++;
	}
	free(line);
	int err = ferror(f);
	fclose(f);
	if (err || lines == 0) /* a process that exited leaves an empty file */
		return -1;
	return 0;
}

/* ---- resolve cache ---- */
static uint32_t cache_slot(const void *key, uint64_t addr, uint32_t mask)
{
	return (uint32_t)ks_hash_u64((uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull ^ addr) & mask;
}

static void cache_rehash(struct ks_session *s)
{
	uint32_t size = s->chash_size ? s->chash_size * 2 : 4096;
	uint32_t *h = xcalloc(size, sizeof(*h));
	for (uint32_t e = 0; e < s->cnr; e++) {
		uint32_t i = cache_slot(s->centries[e].key, s->centries[e].addr, size - 1);
		while (h[i])
			i = (i + 1) & (size - 1);
		h[i] = e + 1;
	}
	free(s->chash);
	s->chash = h;
	s->chash_size = size;
}

static struct ks_centry *cache_find(struct ks_session *s, const void *key, uint64_t addr)
{
	if (!s->chash_size)
		return NULL;
	uint32_t mask = s->chash_size - 1;
	uint32_t i = cache_slot(key, addr, mask);
	while (s->chash[i]) {
		struct ks_centry *e = &s->centries[s->chash[i] - 1];
		if (e->key == key && e->addr == addr)
			return e;
		i = (i + 1) & mask;
	}
	return NULL;
}

static struct ks_centry *cache_add(struct ks_session *s, const void *key, uint64_t addr,
				   const struct ks_sframe *frames, int n)
{
	if ((s->cnr + 1) * 2 > s->chash_size)
		cache_rehash(s);
	uint32_t mask = s->chash_size - 1;
	uint32_t i = cache_slot(key, addr, mask);
	while (s->chash[i])
		i = (i + 1) & mask;
	ALLOC_GROW(s->centries, s->cnr + 1, s->calloc);
	struct ks_centry *e = &s->centries[s->cnr];
	e->key = key;
	e->addr = addr;
	e->n = (uint32_t)n;
	e->first = (uint32_t)s->ncframes;
	e->ids_first = (uint32_t)s->ncids;
	e->gen = 0; /* generations start at 1: ids not yet interned */
	ALLOC_GROW(s->cframes, s->ncframes + (size_t)n, s->acframes);
	memcpy(&s->cframes[s->ncframes], frames, (size_t)n * sizeof(*frames));
	s->ncframes += (size_t)n;
	ALLOC_GROW(s->cids, s->ncids + (size_t)n, s->acids);
	s->ncids += (size_t)n;
	s->chash[i] = ++s->cnr;
	return e;
}

/* ---- interning into the profile ---- */
static void check_profile(struct ks_session *s, struct kp_profile *p)
{
	/* Frame ids are never removed from a profile, so a profile that has fewer frames
	 * than the largest id handed out is not the one the cached ids belong to. */
	if (p != s->prof || p->nframes <= s->prof_max_id) {
		s->prof = p;
		s->prof_gen++;
		if (!s->prof_gen)
			s->prof_gen = 1;
		s->prof_max_id = 0;
	}
}

void ks_session_forget_profile(struct ks_session *s)
{
	s->prof = NULL;
	s->prof_gen++;
	if (!s->prof_gen)
		s->prof_gen = 1;
	s->prof_max_id = 0;
}

void ks_session_size(const struct ks_session *s, size_t *modules, size_t *cached)
{
	*modules = s->mods_nr;
	*cached = s->cnr;
}

static kp_frame_t intern_frame(struct ks_session *s, struct kp_profile *p,
			       const struct ks_sframe *sf)
{
	struct kp_frame f = {
		.name = kp_strz(p, sf->name),
		.module = sf->module ? kp_strz(p, sf->module) : 0,
		.file = sf->file ? kp_strz(p, sf->file) : 0,
		.line = sf->line,
		.flags = sf->flags,
		.addr = sf->addr,
	};
	kp_frame_t id = kp_frame(p, &f);
	if (id > s->prof_max_id)
		s->prof_max_id = id;
	return id;
}

/* Writes the frames of a cache entry, dropping the innermost when max is too small. */
static int emit_entry(struct ks_session *s, struct kp_profile *p, struct ks_centry *e,
		      kp_frame_t *out, int max)
{
	kp_frame_t *ids = &s->cids[e->ids_first];
	if (e->gen != s->prof_gen) {
		for (uint32_t k = 0; k < e->n; k++)
			ids[k] = intern_frame(s, p, &s->cframes[e->first + k]);
		e->gen = s->prof_gen;
	}
	int n = (int)e->n, skip = n > max ? n - max : 0;
	for (int k = skip; k < n; k++)
		out[k - skip] = ids[k];
	return n - skip;
}

static int emit_one(struct ks_session *s, struct kp_profile *p, const struct ks_sframe *sf,
		    kp_frame_t *out)
{
	out[0] = intern_frame(s, p, sf);
	return 1;
}

static int resolve_kernel(struct ks_session *s, struct kp_profile *p, uint64_t addr,
			  kp_frame_t *out, int max)
{
	if (s->opts.no_kernel) {
		struct ks_sframe sf = { .name = ks_internz(&s->pool, "[kernel.kallsyms]"),
					.module = ks_internz(&s->pool, "[kernel.kallsyms]"),
					.flags = KP_FRAME_KERNEL | KP_FRAME_UNKNOWN };
		return emit_one(s, p, &sf, out);
	}
	struct ks_centry *e = cache_find(s, &s->kernel, addr);
	if (!e) {
		struct ks_sframe sf;
		ks_kernel_symbolize(s, addr, &sf);
		e = cache_add(s, &s->kernel, addr, &sf, 1);
	}
	return emit_entry(s, p, e, out, max);
}

int ks_resolve(struct ks_session *s, struct kp_profile *p, int pid, uint64_t addr, int kernel,
	       kp_frame_t *out, int max)
{
	if (max < 1)
		return 0;
	check_profile(s, p);
	if (kernel)
		return resolve_kernel(s, p, addr, out, max);

	/* the front cache: a repeated (pid, address) in unchanged address spaces */
	struct ks_fast *fe = &s->fast[(uint32_t)ks_hash_u64(addr ^ ((uint64_t)(uint32_t)pid << 47)) &
				      (KS_FAST_SIZE - 1)];
	if (fe->epoch == s->maps_epoch && fe->addr == addr && fe->pid == pid)
		return emit_entry(s, p, &s->centries[fe->entry], out, max);

	struct ks_proc *pr = ks_proc_get(s, pid, 0);
	struct ks_map *m = pr ? ks_proc_find(pr, addr) : NULL;
	if (m && m->mod) {
		struct ks_module *mod = m->mod;
		uint64_t off = m->by_bias ? addr - m->bias : addr - m->start + m->pgoff, va;
		if (ks_map_vaddr(s, m, addr, &va) == 0) {
			struct ks_centry *e = cache_find(s, mod, va);
			if (!e) {
				struct ks_sframe fr[KS_MAX_INLINE];
				int n = ks_module_symbolize(s, mod, va, fr, KS_MAX_INLINE);
				e = cache_add(s, mod, va, fr, n);
			}
			fe->epoch = s->maps_epoch;
			fe->addr = addr;
			fe->pid = pid;
			fe->entry = (uint32_t)(e - s->centries);
			return emit_entry(s, p, e, out, max);
		}
		struct ks_sframe sf = { .name = mod->unknown_name, .module = mod->path,
					.flags = KP_FRAME_UNKNOWN, .addr = off };
		return emit_one(s, p, &sf, out);
	}
	if (pr && (!m || m->kind == KS_MAP_ANON || m->kind == KS_MAP_SPECIAL)) {
		struct ks_jit_sym *js = ks_jit_lookup(s, pr, addr);
		if (js) {
			if (js->gen != s->prof_gen) {
				struct ks_sframe sf = { .name = js->name, .module = pr->jit->path,
							.flags = KP_FRAME_JIT };
				js->id = intern_frame(s, p, &sf);
				js->gen = s->prof_gen;
			}
			out[0] = js->id;
			return 1;
		}
	}
	if (m && m->kind == KS_MAP_SPECIAL) {
		struct ks_sframe sf = { .name = m->name, .module = m->name,
					.flags = KP_FRAME_UNKNOWN, .addr = addr - m->start };
		return emit_one(s, p, &sf, out);
	}
	struct ks_sframe sf = { .name = ks_internz(&s->pool, "[unknown]"),
				.module = m ? m->name : NULL,
				.flags = KP_FRAME_UNKNOWN, .addr = addr };
	if (sf.module && !sf.module[0])
		sf.module = NULL;
	return emit_one(s, p, &sf, out);
}
