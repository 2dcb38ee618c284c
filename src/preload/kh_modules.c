/* kh_modules.c: the loaded ELF modules of this process, sent to the reader as
 * HP_C_MODULE records so that it can symbolize return addresses. The list is read with
 * dl_iterate_phdr when an address falls in no module seen so far (a library loaded with
 * dlopen), and again from scratch after dlclose. dl_iterate_phdr is never called with
 * one of the library's locks held (it takes the loader's lock, and a thread holding
 * that one may be allocating). */
#include "preload/kh.h"
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct kh_module {
	uint64_t lo, hi;   /* the span of its PT_LOAD segments */
	uint64_t base;
};

struct kh_modtab {
	uint32_t n, cap;
	struct kh_module m[];
};

static struct kh_modtab *modtab; /* published with release; append-only until reset */

struct scan_seg {
	uint64_t start, len, pgoff;
	uint32_t prot, mod;
};
struct scan_mod {
	uint64_t base, lo, hi;
	uint32_t name_off, name_len, bid_off, bid_len;
};
struct scan {
	struct scan_mod *mods;
	struct scan_seg *segs;
	char *strs;
	uint32_t nmods, nsegs, nstrs;
	uint32_t max_mods, max_segs, max_strs;
};

#define SCAN_BYTES (512u * 1024)

static char exe_path[4096];
static int exe_len = -1;

static void add_str(struct scan *s, const void *p, uint32_t len, uint32_t *off)
{
	if (s->nstrs + len > s->max_strs)
		len = 0;
	memcpy(s->strs + s->nstrs, p, len);
	*off = s->nstrs;
	s->nstrs += len;
}

static int scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct scan *s = data;
	struct scan_mod *m;
	const char *name = info->dlpi_name;
	uint64_t pagesz = 4096;
	(void)size;
	if (s->nmods >= s->max_mods)
		return 1;
	m = &s->mods[s->nmods];
	memset(m, 0, sizeof(*m));
	m->base = info->dlpi_addr;
	m->lo = UINT64_MAX;
	if (!name || !*name) {
		if (exe_len < 0) {
			ssize_t l = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
			exe_len = l > 0 ? (int)l : 0;
		}
		add_str(s, exe_path, (uint32_t)exe_len, &m->name_off);
		m->name_len = (uint32_t)exe_len;
	} else {
		uint32_t l = (uint32_t)kh_strlen(name);
		if (!strcmp(name, "linux-vdso.so.1") || !strcmp(name, "linux-gate.so.1")) {
			name = "[vdso]";
			l = 6;
		}
		add_str(s, name, l, &m->name_off);
		m->name_len = l;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && s->nsegs < s->max_segs) {
			struct scan_seg *g = &s->segs[s->nsegs++];
			uint64_t start = info->dlpi_addr + ph->p_vaddr;
			uint64_t end = start + ph->p_memsz;
			g->start = start & ~(pagesz - 1);
			g->len = ((end + pagesz - 1) & ~(pagesz - 1)) - g->start;
			g->pgoff = ph->p_offset & ~(pagesz - 1);
			g->prot = ((ph->p_flags & PF_R) ? PROT_READ : 0) | ((ph->p_flags & PF_W) ? PROT_WRITE : 0) |
				  ((ph->p_flags & PF_X) ? PROT_EXEC : 0);
			g->mod = s->nmods;
			if (g->start < m->lo)
				m->lo = g->start;
			if (g->start + g->len > m->hi)
				m->hi = g->start + g->len;
		} else if (ph->p_type == PT_NOTE && !m->bid_len) {
			const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
			const char *end = p + ph->p_memsz;
			while (p + sizeof(ElfW(Nhdr)) <= end) {
				const ElfW(Nhdr) *nh = (const void *)p;
				const char *desc = p + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
				if (desc + nh->n_descsz > end)
					break;
				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(p + sizeof(*nh), "GNU", 4) &&
				    nh->n_descsz <= 64) {
					add_str(s, desc, nh->n_descsz, &m->bid_off);
					m->bid_len = nh->n_descsz;
					break;
				}
				p = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	if (m->lo == UINT64_MAX)
		return 0; /* nothing loaded */
	s->nmods++;
	return 0;
}

static int known(const struct kh_modtab *t, uint64_t base, uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; t && i < t->n; i++)
		if (t->m[i].base == base && t->m[i].lo == lo && t->m[i].hi == hi)
			return 1;
	return 0;
}

static void send_module(const struct scan *s, const struct scan_mod *m, uint32_t mi)
{
	uint64_t w[8 + (4096 + 64) / 8 + 2];
	for (uint32_t g = 0; g < s->nsegs; g++) {
		const struct scan_seg *sg = &s->segs[g];
		uint32_t nl = m->name_len, bl = m->bid_len, bytes, nw;
		if (sg->mod != mi)
			continue;
		if (nl > 4096)
			nl = 4096;
		bytes = bl + nl;
		nw = 7 + (bytes + 7) / 8;
		w[1] = sg->start;
		w[2] = sg->len;
		w[3] = sg->pgoff;
		w[4] = sg->prot;
		w[5] = bl;
		w[6] = nl;
		w[nw - 1] = 0;
		memcpy(&w[7], s->strs + m->bid_off, bl);
		memcpy((char *)&w[7] + bl, s->strs + m->name_off, nl);
		w[0] = HP_C_MODULE | (uint64_t)nw << 8;
		kh_control_write(w, nw);
	}
}

static void refresh(void)
{
	struct scan s;
	char *mem = kh_map_anon(SCAN_BYTES);
	struct kh_modtab *t, *nt;
	if (!mem)
		return;
	memset(&s, 0, sizeof(s));
	s.max_mods = 1024;
	s.max_segs = 4096;
	s.mods = (struct scan_mod *)mem;
	s.segs = (struct scan_seg *)(mem + s.max_mods * sizeof(struct scan_mod));
	s.strs = (char *)(s.segs + s.max_segs);
	s.max_strs = (uint32_t)(SCAN_BYTES - (size_t)(s.strs - mem));
	dl_iterate_phdr(scan_cb, &s);

	kh_lock(&kh_module_lock);
	t = __atomic_load_n(&modtab, __ATOMIC_ACQUIRE);
	nt = t;
	for (uint32_t i = 0; i < s.nmods; i++) {
		struct scan_mod *m = &s.mods[i];
		if (known(nt, m->base, m->lo, m->hi))
			continue;
		if (!nt || nt->n == nt->cap) {
			uint32_t cap = nt ? nt->cap * 2 : 256;
			struct kh_modtab *g = kh_arena_alloc(sizeof(*g) + cap * sizeof(struct kh_module));
			if (!g)
				break;
			g->cap = cap;
			if (nt) {
				memcpy(g->m, nt->m, nt->n * sizeof(struct kh_module));
				g->n = nt->n;
			}
			__atomic_store_n(&modtab, g, __ATOMIC_RELEASE);
			nt = g;
		}
		send_module(&s, m, i);
		nt->m[nt->n].lo = m->lo;
		nt->m[nt->n].hi = m->hi;
		nt->m[nt->n].base = m->base;
		__atomic_store_n(&nt->n, nt->n + 1, __ATOMIC_RELEASE);
	}
	kh_unlock(&kh_module_lock);
	munmap(mem, SCAN_BYTES);
}

/* Pages known to be in no module (JIT code, anonymous memory), so that a program with
 * such code does not rescan the module list for every new stack. */
#define NEG_SLOTS 256
static uint64_t neg_pages[NEG_SLOTS];

static int in_table(uint64_t addr)
{
	const struct kh_modtab *t = __atomic_load_n(&modtab, __ATOMIC_ACQUIRE);
	uint32_t n = t ? __atomic_load_n(&t->n, __ATOMIC_ACQUIRE) : 0;
	for (uint32_t i = 0; i < n; i++)
		if (addr >= t->m[i].lo && addr < t->m[i].hi)
			return 1;
	return 0;
}

void kh_modules_ensure(uint64_t addr)
{
	uint64_t page = (addr >> 12) + 1;
	uint32_t h = (uint32_t)((page * 0x9E3779B97F4A7C15ull) >> 56) % NEG_SLOTS;
	if (in_table(addr) || __atomic_load_n(&neg_pages[h], __ATOMIC_RELAXED) == page)
		return;
	refresh();
	if (!in_table(addr))
		__atomic_store_n(&neg_pages[h], page, __ATOMIC_RELAXED);
}

void kh_modules_reset(void)
{
	kh_lock(&kh_module_lock);
	__atomic_store_n(&modtab, NULL, __ATOMIC_RELEASE);
	memset(neg_pages, 0, sizeof(neg_pages));
	kh_unlock(&kh_module_lock);
}
