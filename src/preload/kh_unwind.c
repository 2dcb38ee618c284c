/* kh_unwind.c: a fast x86-64 stack walker driven by the programs' own CFI
 * (.eh_frame), for code built with or without frame pointers.
 *
 * For each return address it needs one rule: where the caller's CFA is (rsp + n,
 * rbp + n, or *(rbp + n) for realigned frames), whether rbp was saved (at CFA + n or at
 * rbp + n), or that this is the outermost frame, or a signal trampoline. The rule is
 * computed once per address from the FDE found with _dl_find_object and the
 * .eh_frame_hdr search table, then kept in a lock-free table, so a walk is a few loads
 * per frame. Every stack read is checked against the thread's stack bounds; a frame
 * without CFI falls back to the frame-pointer chain when rbp looks like one, else the
 * walk stops there. */
#include "preload/kh.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

enum { K_EMPTY = 0, K_RSP, K_RBP, K_DEREF_RBP, K_END, K_SIGNAL, K_NONE };
enum { RBP_SAME = 0, RBP_AT_CFA, RBP_AT_RBP };

struct cfi_ent {
	uint64_t key;     /* 0 empty, 1 being filled, else ip (bit 63: exact ip) */
	int32_t cfa_off;
	int16_t rbp_off;
	uint8_t kind;
	uint8_t rbp_kind;
};

/* The rules found, by ip: a table that starts small (a short program walks a few
 * thousand places) and grows fourfold when half full, up to 2^CACHE_MAX_BITS entries;
 * its pages are taken at once, as hashing touches them all. A table grown or reset
 * replaces the old one, which stays mapped for walks still reading it. */
#define CACHE_FIRST_BITS 12
#define CACHE_MAX_BITS 16
#define CACHE_PROBES 16
struct cfi_cache {
	uint32_t bits, used;
	uint64_t pad_;
	struct cfi_ent e[];
};
static struct cfi_cache *cache;
int kh_cache_lock;
#define cache_lock kh_cache_lock

static struct cfi_cache *cache_new(uint32_t bits)
{
	struct cfi_cache *c = kh_map_anon_now(sizeof(*c) + ((size_t)1 << bits) * sizeof(struct cfi_ent));
	if (c)
		c->bits = bits;
	return c;
}

static struct cfi_cache *cache_get(void)
{
	struct cfi_cache *c = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);
	if (KH_LIKELY(c))
		return c;
	kh_lock(&cache_lock);
	c = cache;
	if (!c) {
		c = cache_new(CACHE_FIRST_BITS);
		__atomic_store_n(&cache, c, __ATOMIC_RELEASE);
	}
	kh_unlock(&cache_lock);
	return c;
}

/* Replaces c (half full) by a table four times larger holding its rules. The lock is
 * only tried: a walk from a signal handler may have interrupted its holder, and the
 * next insert tries again. */
static void cache_grow(struct cfi_cache *c)
{
	struct cfi_cache *g;
	uint32_t mask;
	if (__atomic_exchange_n(&cache_lock, 1, __ATOMIC_ACQUIRE))
		return;
	if (__atomic_load_n(&cache, __ATOMIC_RELAXED) == c && (g = cache_new(c->bits + 2)) != NULL) {
		mask = (1u << g->bits) - 1;
		for (uint32_t i = 0; i < 1u << c->bits; i++) {
			uint64_t k = __atomic_load_n(&c->e[i].key, __ATOMIC_ACQUIRE);
			uint32_t h;
			if (k <= 1)
				continue; /* empty, or being filled: it will be found again */
			h = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> (64 - g->bits));
			for (int p = 0; p < CACHE_PROBES; p++, h = (h + 1) & mask)
				if (!g->e[h].key) {
					g->e[h] = c->e[i];
					g->e[h].key = k;
					g->used++;
					break;
				}
		}
		__atomic_store_n(&cache, g, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&cache_lock, 0, __ATOMIC_RELEASE);
}

uint32_t kh_unwind_gen = 1;
#define unwind_gen kh_unwind_gen

void kh_unwind_reset(void)
{
	struct cfi_cache *c = cache_new(CACHE_FIRST_BITS);
	/* under the lock: a growth under way does not publish the old rules after this */
	kh_lock(&cache_lock);
	if (c)
		__atomic_store_n(&cache, c, __ATOMIC_RELEASE);
	kh_unlock(&cache_lock);
	__atomic_add_fetch(&unwind_gen, 1, __ATOMIC_RELEASE);
}

/* ---- DWARF CFI decoding ---- */
struct rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t uleb(struct rd *r)
{
	uint64_t v = 0;
	int shift = 0;
	while (r->p < r->end) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static int64_t sleb(struct rd *r)
{
	int64_t v = 0;
	int shift = 0;
	uint8_t b = 0;
	while (r->p < r->end) {
		b = *r->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= -((int64_t)1 << shift);
			return v;
		}
	}
	r->bad = 1;
	return 0;
}

static uint64_t rd_fixed(struct rd *r, int n)
{
	uint64_t v = 0;
	if (r->end - r->p < n) {
		r->bad = 1;
		return 0;
	}
	memcpy(&v, r->p, (size_t)n);
	r->p += n;
	return v;
}

#define PE_OMIT 0xff
/* Reads a pointer in DW_EH_PE encoding enc; datarel is relative to dbase. */
static uint64_t rd_enc(struct rd *r, uint8_t enc, uint64_t dbase)
{
	uint64_t base = 0, v;
	const uint8_t *at = r->p;
	if (enc == PE_OMIT)
		return 0;
	switch (enc & 0x70) {
	case 0x00: base = 0; break;
	case 0x10: base = (uint64_t)(uintptr_t)at; break;
	case 0x30: base = dbase; break;
	default: r->bad = 1; return 0;
	}
	switch (enc & 0x0f) {
	case 0x00: v = rd_fixed(r, 8); break;
	case 0x01: v = uleb(r); break;
	case 0x02: v = rd_fixed(r, 2); break;
	case 0x03: v = rd_fixed(r, 4); break;
	case 0x04: v = rd_fixed(r, 8); break;
	case 0x09: v = (uint64_t)sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;
	case 0x0c: v = rd_fixed(r, 8); break;
	default: r->bad = 1; return 0;
	}
	v += base;
	if (enc & 0x80) { /* indirect */
		if (!v) {
			r->bad = 1;
			return 0;
		}
		v = *(const uint64_t *)(uintptr_t)v;
	}
	return v;
}

struct cfi_row {
	int cfa_kind;  /* K_RSP, K_RBP, K_DEREF_RBP, or K_NONE (unsupported) */
	int64_t cfa_off;
	int cfa_reg;
	int rbp_kind;
	int64_t rbp_off;
	int ra_ok;     /* return address at CFA - 8 */
	int ra_undef;  /* outermost frame */
};

struct cie_info {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	int signal;
	int has_z;
	const uint8_t *insns, *insns_end;
};

static int parse_cie(const uint8_t *cie, struct cie_info *ci, uint64_t dbase)
{
	struct rd r;
	uint64_t len = *(const uint32_t *)cie;
	const uint8_t *p = cie + 4;
	const char *aug;
	int has_z = 0;
	if (len == 0xffffffffu) {
		len = *(const uint64_t *)(cie + 4);
		p = cie + 12;
	}
	r.p = p;
	r.end = p + len;
	r.bad = 0;
	memset(ci, 0, sizeof(*ci));
	ci->fde_enc = 0;
	r.p += (p == cie + 4) ? 4 : 8; /* CIE id */
	uint8_t version = (uint8_t)rd_fixed(&r, 1);
	aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	r.p++;
	if (r.p > r.end)
		return -1;
	if (version >= 4)
		r.p += 2; /* address_size, segment_size */
	ci->code_align = uleb(&r);
	ci->data_align = sleb(&r);
	ci->ra_reg = version == 1 ? rd_fixed(&r, 1) : uleb(&r);
	for (const char *a = aug; *a; a++) {
		if (*a == 'z' && a == aug) {
			uleb(&r);
			has_z = 1;
			ci->has_z = 1;
		} else if (*a == 'R') {
			ci->fde_enc = (uint8_t)rd_fixed(&r, 1);
		} else if (*a == 'P') {
			uint8_t enc = (uint8_t)rd_fixed(&r, 1);
			rd_enc(&r, enc & 0x7f, dbase); /* skip the personality, do not follow it */
		} else if (*a == 'L') {
			rd_fixed(&r, 1);
		} else if (*a == 'S') {
			ci->signal = 1;
		} else if (*a == 'B' || *a == 'G') {
			/* no data */
		} else if (!has_z) {
			return -1;
		} else {
			break; /* unknown, but 'z' tells us where the instructions start: not kept */
		}
	}
	if (r.bad)
		return -1;
	ci->insns = r.p;
	ci->insns_end = r.end;
	return 0;
}

#define MAX_REMEMBER 8

/* Runs CFI instructions up to (and including) the row for pc. */
static int run_cfi(const struct cie_info *ci, const uint8_t *p, const uint8_t *end, uint64_t loc,
		   uint64_t pc, struct cfi_row *row, const struct cfi_row *init, uint64_t dbase)
{
	struct rd r = { p, end, 0 };
	struct cfi_row stack[MAX_REMEMBER];
	int depth = 0;
	while (r.p < r.end && !r.bad) {
		uint8_t op = *r.p++;
		uint64_t reg, delta = 0;
		int64_t off;
		switch (op >> 6) {
		case 1:
			delta = (op & 0x3f) * ci->code_align;
			goto advance;
		case 2:
			reg = op & 0x3f;
			off = (int64_t)uleb(&r) * ci->data_align;
			goto set_offset;
		case 3:
			reg = op & 0x3f;
			goto restore;
		default:
			break;
		}
		switch (op) {
		case 0x00: break; /* nop */
		case 0x01: {      /* set_loc */
			uint64_t nl = rd_enc(&r, ci->fde_enc, dbase);
			if (nl > pc)
				return 0;
			loc = nl;
			break;
		}
		case 0x02: delta = rd_fixed(&r, 1) * ci->code_align; goto advance;
		case 0x03: delta = rd_fixed(&r, 2) * ci->code_align; goto advance;
		case 0x04: delta = rd_fixed(&r, 4) * ci->code_align; goto advance;
		case 0x05: reg = uleb(&r); off = (int64_t)uleb(&r) * ci->data_align; goto set_offset;
		case 0x06: reg = uleb(&r); goto restore;
		case 0x07: /* undefined */
			reg = uleb(&r);
			if (reg == ci->ra_reg)
				row->ra_undef = 1;
			else if (reg == 6)
				row->rbp_kind = RBP_SAME;
			break;
		case 0x08: /* same_value */
			reg = uleb(&r);
			if (reg == 6)
				row->rbp_kind = RBP_SAME;
			break;
		case 0x09: /* register */
			reg = uleb(&r);
			uleb(&r);
			if (reg == ci->ra_reg)
				row->ra_ok = 0;
			else if (reg == 6)
				row->rbp_kind = -1;
			break;
		case 0x0a:
			if (depth >= MAX_REMEMBER)
				return -1;
			stack[depth++] = *row;
			break;
		case 0x0b:
			if (depth <= 0)
				return -1;
			*row = stack[--depth];
			break;
		case 0x0c: /* def_cfa */
			row->cfa_reg = (int)uleb(&r);
			row->cfa_off = (int64_t)uleb(&r);
			row->cfa_kind = row->cfa_reg == 7 ? K_RSP : row->cfa_reg == 6 ? K_RBP : K_NONE;
			break;
		case 0x0d: /* def_cfa_register */
			row->cfa_reg = (int)uleb(&r);
			row->cfa_kind = row->cfa_reg == 7 ? K_RSP : row->cfa_reg == 6 ? K_RBP : K_NONE;
			break;
		case 0x0e: /* def_cfa_offset */
			row->cfa_off = (int64_t)uleb(&r);
			break;
		case 0x0f: { /* def_cfa_expression */
			uint64_t n = uleb(&r);
			const uint8_t *e = r.p;
			if (n > (uint64_t)(r.end - r.p))
				return -1;
			r.p += n;
			row->cfa_kind = K_NONE;
			if (n >= 3 && e[0] == 0x76 && e[n - 1] == 0x06) { /* breg6 N; deref */
				struct rd er = { e + 1, e + n - 1, 0 };
				int64_t o = sleb(&er);
				if (!er.bad && er.p == e + n - 1) {
					row->cfa_kind = K_DEREF_RBP;
					row->cfa_off = o;
				}
			}
			break;
		}
		case 0x10: { /* expression */
			reg = uleb(&r);
			uint64_t n = uleb(&r);
			const uint8_t *e = r.p;
			if (n > (uint64_t)(r.end - r.p))
				return -1;
			r.p += n;
			if (reg == 6) {
				row->rbp_kind = -1;
				if (n >= 2 && e[0] == 0x76) { /* breg6 N */
					struct rd er = { e + 1, e + n, 0 };
					int64_t o = sleb(&er);
					if (!er.bad && er.p == e + n) {
						row->rbp_kind = RBP_AT_RBP;
						row->rbp_off = o;
					}
				}
			} else if (reg == ci->ra_reg) {
				row->ra_ok = 0;
			}
			break;
		}
		case 0x11: reg = uleb(&r); off = sleb(&r) * ci->data_align; goto set_offset;
		case 0x12: /* def_cfa_sf */
			row->cfa_reg = (int)uleb(&r);
			row->cfa_off = sleb(&r) * ci->data_align;
			row->cfa_kind = row->cfa_reg == 7 ? K_RSP : row->cfa_reg == 6 ? K_RBP : K_NONE;
			break;
		case 0x13: row->cfa_off = sleb(&r) * ci->data_align; break;
		case 0x14: /* val_offset */
		case 0x15:
			reg = uleb(&r);
			if (op == 0x14)
				uleb(&r);
			else
				sleb(&r);
			if (reg == 6)
				row->rbp_kind = -1;
			else if (reg == ci->ra_reg)
				row->ra_ok = 0;
			break;
		case 0x16: { /* val_expression */
			reg = uleb(&r);
			uint64_t n = uleb(&r);
			if (n > (uint64_t)(r.end - r.p))
				return -1;
			r.p += n;
			if (reg == 6)
				row->rbp_kind = -1;
			else if (reg == ci->ra_reg)
				row->ra_ok = 0;
			break;
		}
		case 0x2e: uleb(&r); break; /* GNU_args_size */
		case 0x2f: /* GNU_negative_offset_extended */
			reg = uleb(&r);
			off = -(int64_t)uleb(&r) * ci->data_align;
			goto set_offset;
		default:
			return -1;
		}
		continue;
advance:
		if (loc + delta > pc)
			return 0;
		loc += delta;
		continue;
set_offset:
		if (reg == 6) {
			row->rbp_kind = RBP_AT_CFA;
			row->rbp_off = off;
		} else if (reg == ci->ra_reg) {
			row->ra_ok = off == -8;
			row->ra_undef = 0;
		}
		continue;
restore:
		if (!init)
			return -1;
		if (reg == 6) {
			row->rbp_kind = init->rbp_kind;
			row->rbp_off = init->rbp_off;
		} else if (reg == ci->ra_reg) {
			row->ra_ok = init->ra_ok;
			row->ra_undef = init->ra_undef;
		}
	}
	return r.bad ? -1 : 0;
}

/* Finds the rule for code address pc (the call instruction before a return address,
 * or an interrupted instruction). */
static void compute_rule(uint64_t pc, struct cfi_ent *e)
{
	struct dl_find_object fo;
	const uint8_t *hdr;
	struct rd r;
	uint64_t dbase, fde_count, fde = 0;
	e->kind = K_NONE;
	e->rbp_kind = RBP_SAME;
	e->cfa_off = 0;
	e->rbp_off = 0;
	if (_dl_find_object((void *)(uintptr_t)pc, &fo) != 0 || !fo.dlfo_eh_frame)
		return;
	hdr = fo.dlfo_eh_frame;
	dbase = (uint64_t)(uintptr_t)hdr;
	if (hdr[0] != 1)
		return;
	r.p = hdr + 4;
	r.end = hdr + 4 + 16;
	r.bad = 0;
	rd_enc(&r, hdr[1], dbase); /* eh_frame_ptr */
	fde_count = rd_enc(&r, hdr[2], dbase);
	if (r.bad || hdr[3] != 0x3b || !fde_count)
		return;
	{
		const int32_t *tab = (const int32_t *)r.p;
		uint64_t lo = 0, hi = fde_count;
		while (hi - lo > 1) {
			uint64_t mid = (lo + hi) / 2;
			if (dbase + (uint64_t)(int64_t)tab[2 * mid] <= pc)
				lo = mid;
			else
				hi = mid;
		}
		if (dbase + (uint64_t)(int64_t)tab[2 * lo] > pc)
			return;
		fde = dbase + (uint64_t)(int64_t)tab[2 * lo + 1];
	}
	{
		const uint8_t *f = (const uint8_t *)(uintptr_t)fde;
		uint64_t len = *(const uint32_t *)f;
		const uint8_t *body = f + 4, *fend;
		struct cie_info ci;
		struct cfi_row init, row;
		uint64_t start, range;
		if (len == 0xffffffffu) {
			len = *(const uint64_t *)(f + 4);
			body = f + 12;
		}
		if (len < 8)
			return;
		fend = body + len;
		uint32_t cie_off = *(const uint32_t *)body;
		if (!cie_off)
			return; /* a CIE, not an FDE */
		if (parse_cie(body - cie_off, &ci, dbase) < 0)
			return;
		r.p = body + 4;
		r.end = fend;
		r.bad = 0;
		start = rd_enc(&r, ci.fde_enc, dbase);
		range = rd_enc(&r, ci.fde_enc & 0x0f, dbase);
		if (r.bad || pc < start || pc >= start + range)
			return;
		if (ci.has_z) {
			/* 'z' augmentation data of the FDE */
			uint64_t alen = uleb(&r);
			if (alen > (uint64_t)(r.end - r.p))
				return;
			r.p += alen;
		}
		if (ci.signal) {
			e->kind = K_SIGNAL;
			return;
		}
		memset(&init, 0, sizeof(init));
		init.cfa_kind = K_NONE;
		if (run_cfi(&ci, ci.insns, ci.insns_end, 0, UINT64_MAX, &init, NULL, dbase) < 0)
			return;
		row = init;
		if (run_cfi(&ci, r.p, fend, start, pc, &row, &init, dbase) < 0)
			return;
		if (row.ra_undef) {
			e->kind = K_END;
			return;
		}
		if (!row.ra_ok || row.cfa_kind == K_NONE || row.rbp_kind < 0 || row.cfa_off > INT32_MAX ||
		    row.cfa_off < INT32_MIN || row.rbp_off > INT16_MAX || row.rbp_off < INT16_MIN)
			return;
		e->kind = (uint8_t)row.cfa_kind;
		e->cfa_off = (int32_t)row.cfa_off;
		e->rbp_kind = (uint8_t)row.rbp_kind;
		e->rbp_off = (int16_t)row.rbp_off;
	}
}

static inline void lookup(uint64_t ip, int exact, struct cfi_ent *out)
{
	struct cfi_cache *c = cache_get();
	uint64_t key = exact ? ip | (1ull << 63) : ip;
	uint32_t h, mask;
	if (KH_UNLIKELY(!c)) {
		compute_rule(exact ? ip : ip - 1, out);
		return;
	}
	h = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - c->bits));
	mask = (1u << c->bits) - 1;
	for (int i = 0; i < CACHE_PROBES; i++) {
		struct cfi_ent *e = &c->e[(h + (uint32_t)i) & mask];
		uint64_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
		if (KH_LIKELY(k == key)) {
			*out = *e;
			return;
		}
		if (k == 0) {
			uint64_t zero = 0;
			compute_rule(exact ? ip : ip - 1, out);
			if (__atomic_compare_exchange_n(&e->key, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
				e->cfa_off = out->cfa_off;
				e->rbp_off = out->rbp_off;
				e->kind = out->kind;
				e->rbp_kind = out->rbp_kind;
				__atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
				if ((__atomic_add_fetch(&c->used, 1, __ATOMIC_RELAXED) << 1) > mask + 1 &&
				    c->bits < CACHE_MAX_BITS)
					cache_grow(c);
			}
			return;
		}
	}
	compute_rule(exact ? ip : ip - 1, out);
}

/* The bounds of the stack the thread runs on, found without pthread_getattr_np: that
 * one takes the thread's descriptor lock and then allocates (the affinity mask; for the
 * main thread fopen of /proc/self/maps), so a program that calls it (every Rust program
 * does at start-up and in every thread) would enter this library holding the lock, and
 * a second call here would wait for it forever. Instead: the mapping holding the stack
 * pointer, read from /proc/self/maps with plain system calls into a buffer on the
 * stack. The main thread's stack grows down: its low bound is where it may grow to,
 * hi - RLIMIT_STACK, but not below the end of the mapping under it. Left at 0 (only
 * the first frame of each stack is taken) when /proc is not mounted. */
#define MAPS_BUF 2048

static uint64_t parse_hex(const char **p, const char *end)
{
	uint64_t v = 0;
	for (; *p < end; (*p)++) {
		char c = **p;
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			break;
		v = v << 4 | d;
	}
	return v;
}

/* One line of /proc/self/maps (without its newline): its range, whether it is
 * "[stack]". 0 when it does not parse. */
static int maps_line(const char *s, const char *end, uint64_t *lo, uint64_t *hi, int *is_stack)
{
	const char *p = s;
	*lo = parse_hex(&p, end);
	if (p >= end || *p != '-')
		return 0;
	p++;
	*hi = parse_hex(&p, end);
	*is_stack = end - s >= 7 && !memcmp(end - 7, "[stack]", 7);
	return *hi > *lo;
}

void kh_thread_stack_bounds(struct kh_thread *t)
{
	char buf[MAPS_BUF];
	uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0), prev_end = 0;
	size_t have = 0;
	int eof = 0, skipping = 0;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (!eof) {
		long n = syscall(SYS_read, fd, buf + have, sizeof(buf) - have);
		char *s = buf, *end;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			eof = 1;
		else
			have += (size_t)n;
		end = buf + have;
		for (;;) {
			char *nl = memchr(s, '\n', (size_t)(end - s));
			uint64_t lo, hi;
			int is_stack;
			if (!nl) {
				if (!eof || s == end)
					break;
				nl = end; /* the last line has no newline */
			}
			if (!skipping && maps_line(s, nl, &lo, &hi, &is_stack)) {
				if (sp >= lo && sp < hi) {
					if (is_stack) {
						struct rlimit rl;
						uint64_t grow = 8ull << 20;
						if (syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl) == 0)
							grow = rl.rlim_cur;
						lo = hi - prev_end > grow ? hi - grow : prev_end;
						if (lo > sp)
							lo = sp & ~4095ull;
					}
					t->stack_lo = lo;
					t->stack_hi = hi;
					eof = 1;
					break;
				}
				if (lo > sp) {
					eof = 1; /* the lines are in address order: not found */
					break;
				}
				prev_end = hi;
			}
			skipping = 0;
			s = nl < end ? nl + 1 : end;
		}
		have = (size_t)(end - s);
		memmove(buf, s, have);
		if (have == sizeof(buf)) {
			have = 0; /* a line longer than the buffer (a long path: no stack) */
			skipping = 1;
		}
	}
	syscall(SYS_close, fd);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* Logs a stack word the walk depends on in the memo being built (m->valid = 0 on
 * overflow). */
static inline void rd_log(struct kh_memo *m, uint64_t a, uint64_t v)
{
	if (KH_LIKELY(m->nreads < m->cap)) {
		m->rd[m->nreads].addr = a;
		m->rd[m->nreads++].val = v;
	} else {
		m->valid = 0;
	}
}

/* Reads a stack word and logs it. */
static inline uint64_t rd_stack(struct kh_memo *m, uint64_t a)
{
	uint64_t v = *(const uint64_t *)(uintptr_t)a;
	rd_log(m, a, v);
	return v;
}

uint64_t kh_eval_lo, kh_eval_len;

static int walk(struct kh_thread *t, struct kh_memo *m, uint64_t *ips, uint64_t ip, uint64_t sp, uint64_t bp,
		uint64_t *hash, int cut)
{
	uint64_t lo = t->stack_lo, hi = t->stack_hi, h = 0xcbf29ce484222325ull;
	uint64_t eval_lo = kh_eval_lo, eval_len = cut ? kh_eval_len : 0;
	uint64_t bp_at = 0, bp_val = 0; /* where bp was last read from: logged only once used */
	int n = 0, exact = 0, bp_initial = 1; /* bp is still the caller's: a memo key once used */
	struct cfi_ent e;
#define BP_USED()                                          \
	do {                                               \
		if (bp_at) {                               \
			rd_log(m, bp_at, bp_val);          \
			bp_at = 0;                         \
		} else if (bp_initial) {                   \
			m->bp_used = 1;                    \
			bp_initial = 0;                    \
		}                                          \
	} while (0)
	if (KH_UNLIKELY(sp < lo || sp >= hi)) {
		stack_t ss;
		if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) &&
		    sp >= (uint64_t)(uintptr_t)ss.ss_sp && sp < (uint64_t)(uintptr_t)ss.ss_sp + ss.ss_size) {
			lo = (uint64_t)(uintptr_t)ss.ss_sp;
			hi = lo + ss.ss_size;
		} else {
			lo = hi = 0; /* unknown stack: only the first frame */
		}
	}
	while (n < HP_MAX_DEPTH) {
		uint64_t cfa, ra;
		ips[n++] = ip;
		h = mix(h, ip);
		if (hi <= lo || ip - 1 - eval_lo < eval_len)
			break; /* the innermost eval loop: its Python frames tell the rest */
		lookup(ip, exact, &e);
		exact = 0;
		switch (e.kind) {
		case K_RSP:
			cfa = sp + (uint64_t)(int64_t)e.cfa_off;
			break;
		case K_RBP:
			BP_USED();
			cfa = bp + (uint64_t)(int64_t)e.cfa_off;
			break;
		case K_DEREF_RBP: {
			BP_USED();
			uint64_t a = bp + (uint64_t)(int64_t)e.cfa_off;
			if (a < sp || a + 8 > hi || (a & 7))
				goto done;
			cfa = rd_stack(m, a);
			break;
		}
		case K_SIGNAL: {
			/* __restore_rt: the ucontext_t is at sp */
			const ucontext_t *uc = (const ucontext_t *)(uintptr_t)sp;
			uint64_t nip, nsp, nbp;
			if (sp < lo || sp + sizeof(*uc) > hi)
				goto done;
			nip = rd_stack(m, (uint64_t)(uintptr_t)&uc->uc_mcontext.gregs[REG_RIP]);
			nsp = rd_stack(m, (uint64_t)(uintptr_t)&uc->uc_mcontext.gregs[REG_RSP]);
			nbp = rd_stack(m, (uint64_t)(uintptr_t)&uc->uc_mcontext.gregs[REG_RBP]);
			bp_at = 0; /* replaced by the interrupted context's */
			bp_initial = 0;
			if (nsp < t->stack_lo || nsp >= t->stack_hi) {
				if (nsp < lo || nsp >= hi)
					goto done;
			} else {
				lo = t->stack_lo;
				hi = t->stack_hi;
			}
			ip = nip;
			sp = nsp;
			bp = nbp;
			exact = 1;
			if (ip < 4096)
				goto done;
			continue;
		}
		case K_NONE:
			/* no CFI: trust rbp if it looks like a frame pointer */
			BP_USED();
			if (bp < sp || bp + 16 > hi || (bp & 7))
				goto done;
			cfa = bp + 16;
			e.rbp_kind = RBP_AT_CFA;
			e.rbp_off = -16;
			break;
		default: /* K_END */
			goto done;
		}
		if (cfa <= sp || cfa > hi || (cfa & 7))
			break;
		ra = rd_stack(m, cfa - 8);
		/* the caller's rbp: its read counts for the memo only if a later frame
		 * uses rbp before another frame restores it */
		if (e.rbp_kind == RBP_AT_CFA) {
			uint64_t a = cfa + (uint64_t)(int64_t)e.rbp_off;
			if (a < sp || a + 8 > hi)
				break;
			bp_at = a;
			bp_initial = 0;
			bp = bp_val = *(const uint64_t *)(uintptr_t)a;
		} else if (e.rbp_kind == RBP_AT_RBP) {
			BP_USED();
			uint64_t a = bp + (uint64_t)(int64_t)e.rbp_off;
			if (a < sp || a + 8 > hi)
				break;
			bp_at = a;
			bp_initial = 0;
			bp = bp_val = *(const uint64_t *)(uintptr_t)a;
		}
		sp = cfa;
		ip = ra;
		if (ip < 4096)
			break;
	}
done:
#undef BP_USED
	*hash = h ^ (uint64_t)n;
	return n;
}

/* The slow part of kh_capture_fast (which found no memo to reuse): walks the stack and
 * keeps the walk in the set's next way. */
uint32_t kh_capture(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp)
{
	uint32_t cut = t->py_cut, set = kh_memo_index(ip, sp, cut);
	uint8_t *victim = cut ? &t->blk->pvictim[set] : &t->blk->victim[set];
	struct kh_memo *m = kh_memo_way(t->blk, cut, set, *victim);
	uint32_t gen = __atomic_load_n(&unwind_gen, __ATOMIC_ACQUIRE), id;
	uint64_t hash;
	int n;
	*victim = (uint8_t)((*victim + 1) % KH_MEMO_WAYS);
	m->gen = 0;
	m->valid = 1;
	m->bp_used = 0;
	m->nreads = 0;
	n = walk(t, m, t->blk->ips, ip, sp, bp, &hash, (int)t->py_cut);
	id = kh_stack_id(t, t->blk->ips, n, hash, 0);
	if (!id)
		m->valid = 0;
	m->ip = ip;
	m->sp = sp;
	m->bp = bp;
	m->id = id;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	m->gen = m->valid ? gen : 0;
	return id;
}

uint32_t kh_capture_nested(struct kh_thread *t, uint64_t ip, uint64_t sp, uint64_t bp)
{
	struct kh_memo *m = (struct kh_memo *)(void *)t->blk->nested_memo;
	uint64_t hash;
	int n;
	m->nreads = 0;
	n = walk(t, m, t->blk->nested_ips, ip, sp, bp, &hash, 0);
	return kh_stack_id(t, t->blk->nested_ips, n, hash, 1);
}
