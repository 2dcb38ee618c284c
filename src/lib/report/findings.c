/* findings.c: what to do next, from checked facts about one profile (see findings.h). */
#include "report/findings.h"
#include "report/verdict.h"
#include "symbols/symbols.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void kr_wilson(double k, double n, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	double ph = k / n, z2 = z * z;
	double den = 1 + z2 / n;
	double mid = (ph + z2 / (2 * n)) / den;
	double half = z * sqrt(ph * (1 - ph) / n + z2 / (4 * n * n)) / den;
	*lo = mid - half < 0 ? 0 : mid - half;
	*hi = mid + half > 1 ? 1 : mid + half;
}

static struct kr_finding *add(struct kr_findings *fs, const char *kind, double share, struct strbuf *msg)
{
	ALLOC_GROW(fs->f, fs->n + 1, fs->alloc);
	struct kr_finding *f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->share = share;
	f->ci_lo = f->ci_hi = -1;
	f->message = strbuf_detach(msg, NULL);
	return f;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return path[0] != '[' && s ? s + 1 : path;
}

/* ---- per-module shares ---- */
struct modshare {
	kp_str_t module;
	double v;
};

static void modshare_add(struct modshare **m, uint32_t *n, uint32_t *alloc, kp_str_t module, double v)
{
	for (uint32_t i = 0; i < *n; i++)
		if ((*m)[i].module == module) {
			(*m)[i].v += v;
			return;
		}
	ALLOC_GROW(*m, *n + 1, *alloc);
	(*m)[*n].module = module;
	(*m)[*n].v = v;
	(*n)++;
}

static int cmp_modshare(const void *a, const void *b)
{
	const struct modshare *x = a, *y = b;
	return x->v < y->v ? 1 : x->v > y->v ? -1 : (x->module > y->module) - (x->module < y->module);
}

/* "name (12.3%), name (4.5%)" of the modules in m (sorted by the call) with their share
 * of total; *list gets the names alone. At most 4 named. */
static void modshare_text(const struct kp_profile *p, struct modshare *m, uint32_t n, double total,
			  struct strbuf *msg, struct strbuf *list)
{
	qsort(m, n, sizeof(*m), cmp_modshare);
	/* The modules that matter: the largest, and the others with 1% of the samples or more
	 * (a stray sample in a loader or the vDSO is noise, not a module to rebuild). */
	uint32_t shown = 0, minor = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i && m[i].v < 0.01 * total) {
			minor++;
			continue;
		}
		if (shown == 4) {
			minor++;
			continue;
		}
		const char *b = m[i].module ? base_of(kp_str_get(p, m[i].module)) : "[unknown]";
		strbuf_addf(msg, "%s%s (%.1f%%)", shown ? ", " : "", b, 100.0 * m[i].v / total);
		strbuf_addf(list, "%s%s", shown ? "," : "", b);
		shown++;
	}
	if (minor)
		strbuf_addf(msg, " and %u more", minor);
}

/* The Debian package that ships path, or NULL (caller frees): from the profile's
 * "packages" meta (recorded by kiln record on the machine that ran the program), else,
 * for profiles without it, from this machine's dpkg file lists (symbols/sym_pkg.c). */
static char *package_of(const struct kp_profile *p, const char *path)
{
	const char *rec = kp_meta_get(p, "packages");
	if (rec) {
		size_t plen = strlen(path);
		for (const char *l = rec; *l;) {
			size_t len = strcspn(l, "\n");
			const char *sp = memchr(l, ' ', len);
			if (sp && (size_t)(l + len - sp - 1) == plen && !memcmp(sp + 1, path, plen))
				return xstrndup(l, (size_t)(sp - l));
			l += len;
			if (*l)
				l++;
		}
		return NULL;
	}
	struct strbuf sb = STRBUF_INIT;
	char *pkg = NULL;
	if (ks_dpkg_packages(&path, 1, &sb) == 1)
		pkg = xstrndup(sb.buf, strcspn(sb.buf, " "));
	strbuf_release(&sb);
	return pkg;
}

/* What gives the modules names (the first n of m, sorted by share): the -dbgsym
 * packages of the packages found to ship them, dpkg -S for other system files, and a
 * build with -g for the rest (the user's own programs). */
static void no_symbols_advice(const struct kp_profile *p, const struct modshare *m, uint32_t n, double total,
			      struct strbuf *msg)
{
	struct strbuf pkgs = STRBUF_INIT, sys = STRBUF_INIT, own = STRBUF_INIT;
	for (uint32_t i = 0; i < n; i++) {
		const char *path = m[i].module ? kp_str_get(p, m[i].module) : "";
		if (path[0] != '/' || (i && m[i].v < 0.02 * total))
			continue; /* advice for the modules that matter */
		char *pkg = package_of(p, path);
		if (pkg)
			strbuf_addf(&pkgs, "%s%s-dbgsym", pkgs.len ? ", " : "", pkg);
		else if (!strncmp(path, "/usr/", 5) || !strncmp(path, "/lib", 4))
			strbuf_addf(&sys, "%s%s", sys.len ? " " : "", path);
		else
			strbuf_addf(&own, "%s%s", own.len ? ", " : "", base_of(path));
		free(pkg);
	}
	int parts = 0;
	if (pkgs.len)
		strbuf_addf(msg, "install %s (Debian's debug archive) or set DEBUGINFOD_URLS", pkgs.buf), parts++;
	if (sys.len)
		strbuf_addf(msg, "%sinstall the -dbgsym package of the package that ships %s (dpkg -S %s)%s",
			    parts ? "; " : "", strchr(sys.buf, ' ') ? "them" : "it", sys.buf,
			    pkgs.len ? "" : " or set DEBUGINFOD_URLS"), parts++;
	if (own.len || !parts)
		strbuf_addf(msg, "%sbuild %s with -g and do not strip, or keep a debug file "
			    "(objcopy --only-keep-debug) under /usr/lib/debug", parts ? "; " : "",
			    own.len ? own.buf : "it");
	strbuf_release(&pkgs);
	strbuf_release(&sys);
	strbuf_release(&own);
}

/* ---- the facts ---- */

struct facts {
	double total, n;           /* value and sample count over kept samples */
	double unopt, nosym, trunc, noentry, user;
	struct modshare *unopt_m, *nosym_m;
	uint32_t unopt_n, unopt_a, nosym_n, nosym_a;
	double *self;              /* per stack node: the value of samples ending there */
};

static int is_entry(const char *name)
{
	static const char *const entries[] = { "_start", "__libc_start_main", "__libc_start_call_main",
					       "start_thread", "clone", "clone3", "__clone", "__clone3",
					       "_dl_start_user", "_dl_start", NULL };
	for (int i = 0; entries[i]; i++)
		if (!strcmp(name, entries[i]))
			return 1;
	return 0;
}

static void gather(const struct kp_profile *p, const struct kr_opts *o, struct facts *fc)
{
	double *self = NULL, *selfn = NULL;
	kp_stack_sums(p, o->value, o->keep, &self, NULL);
	fc->self = self;
	if (o->count_value >= 0 && (uint32_t)o->count_value != o->value)
		kp_stack_sums(p, (uint32_t)o->count_value, o->keep, &selfn, NULL);
	/* per stack node: the innermost and outermost user (non-kernel) frames, and
	 * whether the stack is marked truncated (parents come before children) */
	const char *cg = kp_meta_get(p, "call_graph");
	int fp = cg && !strcmp(cg, "fp"); /* the entry check is for frame-pointer stacks only */
	int has_trunc = 0;
	for (uint32_t f = 1; f < p->nframes && !has_trunc; f++)
		has_trunc = (p->frames[f].flags & KP_FRAME_TRUNCATED) != 0;
	/* Without truncation marks and frame-pointer stacks, only the innermost user frame
	 * of stacks with samples is needed: a short walk up from each (past kernel frames)
	 * costs less than a pass over every stack node of a large profile. */
	int full = has_trunc || fp;
	size_t nn = full ? (p->nstacks ? p->nstacks : 1) : 1;
	kp_frame_t *inner = xmalloc(nn * sizeof(*inner));
	kp_frame_t *outer = fp ? xmalloc(nn * sizeof(*outer)) : NULL;
	uint8_t *trunc = xmalloc(nn);
	inner[0] = 0;
	trunc[0] = 0;
	if (outer)
		outer[0] = 0;
	for (kp_stack_t s = 1; full && s < p->nstacks; s++) {
		kp_stack_t par = p->stacks[s].parent;
		kp_frame_t f = p->stacks[s].frame;
		uint32_t fl = p->frames[f].flags;
		int user = !(fl & (KP_FRAME_KERNEL | KP_FRAME_ROOT | KP_FRAME_OFFCPU | KP_FRAME_TRUNCATED));
		trunc[s] = trunc[par] | ((fl & KP_FRAME_TRUNCATED) != 0);
		inner[s] = user ? f : inner[par];
		if (outer)
			outer[s] = outer[par] ? outer[par] : user ? f : 0;
	}
	for (kp_stack_t s = 0; s < p->nstacks; s++) {
		double v = self[s];
		if (v == 0)
			continue;
		fc->total += v;
		fc->n += selfn ? selfn[s] : v;
		kp_frame_t in = 0;
		if (full) {
			if (trunc[s])
				fc->trunc += v;
			in = inner[s];
		} else {
			for (kp_stack_t a = s; a && !in; a = p->stacks[a].parent) {
				kp_frame_t f = p->stacks[a].frame;
				if (!(p->frames[f].flags & (KP_FRAME_KERNEL | KP_FRAME_ROOT | KP_FRAME_OFFCPU)))
					in = f;
			}
		}
		if (!in)
			continue;
		fc->user += v;
		const struct kp_frame *fr = &p->frames[in];
		if (fr->flags & KP_FRAME_UNOPT) {
			fc->unopt += v;
			modshare_add(&fc->unopt_m, &fc->unopt_n, &fc->unopt_a, fr->module, v);
		}
		if ((fr->flags & (KP_FRAME_UNKNOWN | KP_FRAME_NOSYM)) && !(fr->flags & KP_FRAME_JIT)) {
			fc->nosym += v;
			modshare_add(&fc->nosym_m, &fc->nosym_n, &fc->nosym_a, fr->module, v);
		}
		if (outer && !trunc[s] && outer[s] && !is_entry(kp_str_get(p, p->frames[outer[s]].name)))
			fc->noentry += v;
	}
	free(inner);
	free(outer);
	free(trunc);
	free(selfn);
}

static void fmt_dur(double secs, struct strbuf *sb)
{
	if (secs >= 120)
		strbuf_addf(sb, "%.0f min", ceil(secs / 60));
	else if (secs >= 10)
		strbuf_addf(sb, "%.0f s", ceil(secs));
	else
		strbuf_addf(sb, "%.1f s", secs);
}

/* ---- functions by self value ----
 * Only self values are needed (not totals, whose walk to the root per stack is the
 * table's main cost), so functions are grouped here and the stack sums of gather() are
 * reused: the findings stay a small part of the report's time. */
struct ftab {
	uint32_t *frame_func;      /* frame id -> function index */
	struct { kp_str_t name, module; uint32_t flags; double self; } *f;
	uint32_t n;
};

static void ftab_build(const struct kp_profile *p, const double *self, struct ftab *t)
{
	uint32_t cap = 1024, alloc = 0;
	memset(t, 0, sizeof(*t));
	while (cap < p->nframes * 2)
		cap *= 2;
	uint32_t *slots = xcalloc(cap, sizeof(uint32_t));
	t->frame_func = xcalloc(p->nframes ? p->nframes : 1, sizeof(uint32_t));
	for (uint32_t fr = 1; fr < p->nframes; fr++) {
		const struct kp_frame *x = &p->frames[fr];
		uint64_t key = ((uint64_t)x->name << 32) | x->module;
		uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & (cap - 1);
		while (slots[i] && !(t->f[slots[i] - 1].name == x->name && t->f[slots[i] - 1].module == x->module))
			i = (i + 1) & (cap - 1);
		if (!slots[i]) {
			ALLOC_GROW(t->f, t->n + 1, alloc);
			t->f[t->n].name = x->name;
			t->f[t->n].module = x->module;
			t->f[t->n].flags = x->flags;
			t->f[t->n].self = 0;
			slots[i] = ++t->n;
		}
		t->frame_func[fr] = slots[i] - 1;
	}
	free(slots);
	for (kp_stack_t st = 1; st < p->nstacks; st++)
		if (self[st] != 0)
			t->f[t->frame_func[p->stacks[st].frame]].self += self[st];
}

static void ftab_release(struct ftab *t)
{
	free(t->frame_func);
	free(t->f);
}

static int hot_eligible(const struct ftab *t, uint32_t fi)
{
	return !(t->f[fi].flags & (KP_FRAME_ROOT | KP_FRAME_OFFCPU | KP_FRAME_TRUNCATED));
}

static void add_hotspot(struct kr_findings *out, const struct facts *fc, double share, const char *name,
			char *path, struct strbuf *m)
{
	double lo, hi;
	kr_wilson(share * fc->n, fc->n, &lo, &hi);
	strbuf_addf(m, " (95%% interval %.1f-%.1f%%): ", 100 * lo, 100 * hi);
	if (share < 0.999)
		strbuf_addf(m, "making %s take no time at all would speed the whole run up at most %.2fx",
			    path ? "this call" : "it", 1 / (1 - share));
	else
		strbuf_addstr(m, "it is nearly all of the time: a faster algorithm there is the whole gain");
	struct kr_finding *k = add(out, "hotspot", share, m);
	k->ci_lo = lo;
	k->ci_hi = hi;
	k->max_speedup = share < 1 ? 1 / (1 - share) : 0;
	k->name = xstrdup(name);
	k->path = path;
}

/* ---- hot paths: the leaf function and its two callers ---- */
struct path3 {
	uint32_t fn[3]; /* function indexes + 1, leaf first; 0 past the root */
	double v;
};

static int cmp_path3(const void *a, const void *b)
{
	const struct path3 *x = a, *y = b;
	return memcmp(x->fn, y->fn, sizeof(x->fn));
}

static int cmp_path3_v(const void *a, const void *b)
{
	const struct path3 *x = a, *y = b;
	return x->v < y->v ? 1 : x->v > y->v ? -1 : memcmp(x->fn, y->fn, sizeof(x->fn));
}

/* Paths (leaf <- caller <- caller's caller) above 5% whose leaf function has more than
 * one path (the others with 10% of its time or more): which caller matters is news the
 * function row does not give. Only stacks
 * whose leaf function is above 5% can hold such a path, so only those are walked. */
static void hot_paths(const struct kp_profile *p, const struct facts *fc, const struct ftab *t,
		      struct kr_findings *out)
{
	struct path3 *ps = NULL;
	size_t n = 0, alloc = 0;
	for (kp_stack_t s = 1; s < p->nstacks; s++) {
		if (fc->self[s] == 0)
			continue;
		uint32_t leaf = t->frame_func[p->stacks[s].frame];
		if (t->f[leaf].self <= KR_HOTSPOT_SHARE * fc->total || !hot_eligible(t, leaf))
			continue;
		struct path3 k;
		memset(&k, 0, sizeof(k));
		int d = 0;
		for (kp_stack_t a = s; a && d < 3; a = p->stacks[a].parent) {
			uint32_t fi = t->frame_func[p->stacks[a].frame];
			if (!hot_eligible(t, fi))
				break;
			if (d && k.fn[d - 1] == fi + 1)
				continue; /* direct recursion: one step */
			k.fn[d++] = fi + 1;
		}
		k.v = fc->self[s];
		ALLOC_GROW(ps, n + 1, alloc);
		ps[n++] = k;
	}
	if (n)
		qsort(ps, n, sizeof(*ps), cmp_path3);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && !memcmp(ps[m - 1].fn, ps[i].fn, sizeof(ps[i].fn)))
			ps[m - 1].v += ps[i].v;
		else
			ps[m++] = ps[i];
	}
	if (m)
		qsort(ps, m, sizeof(*ps), cmp_path3_v);
	uint32_t shown = 0;
	for (size_t i = 0; i < m && shown < KR_MAX_HOTSPOTS; i++) {
		double share = ps[i].v / fc->total;
		if (share <= KR_HOTSPOT_SHARE)
			break;
		/* news only when the leaf's other paths hold a tenth of its time or more: a path
		 * with nearly all of it (the rest a stray or broken stack) restates its row */
		double leaf_self = t->f[ps[i].fn[0] - 1].self;
		if (leaf_self - ps[i].v < 0.1 * leaf_self)
			continue;
		struct strbuf msg = STRBUF_INIT, path = STRBUF_INIT;
		for (int d = 0; d < 3 && ps[i].fn[d]; d++)
			strbuf_addf(&path, "%s%s", d ? " <- " : "", kp_str_get(p, t->f[ps[i].fn[d] - 1].name));
		strbuf_addf(&msg, "the path %s has %.1f%% of the time", path.buf, 100 * share);
		add_hotspot(out, fc, share, kp_str_get(p, t->f[ps[i].fn[0] - 1].name), strbuf_detach(&path, NULL),
			    &msg);
		strbuf_release(&msg);
		shown++;
	}
	free(ps);
}

static int cmp_fself(const void *a, const void *b, void *arg)
{
	const struct ftab *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (t->f[x].self != t->f[y].self)
		return t->f[x].self < t->f[y].self ? 1 : -1;
	return x < y ? -1 : x > y;
}

/* Functions above 5% of the self value, then hot paths; *top_share gets the largest
 * function share (for few_samples). */
static void hotspots(const struct kp_profile *p, const struct facts *fc, struct kr_findings *out,
		     double *top_share)
{
	struct ftab t;
	ftab_build(p, fc->self, &t);
	uint32_t *hot = NULL, nhot = 0, alloc = 0;
	*top_share = 0;
	for (uint32_t i = 0; i < t.n; i++) {
		if (!hot_eligible(&t, i))
			continue;
		double share = t.f[i].self / fc->total;
		if (share > *top_share)
			*top_share = share;
		if (share > KR_HOTSPOT_SHARE) {
			ALLOC_GROW(hot, nhot + 1, alloc);
			hot[nhot++] = i;
		}
	}
	if (nhot)
		qsort_r(hot, nhot, sizeof(*hot), cmp_fself, &t);
	else
		goto out; /* no function above 5%: no path above it either */
	for (uint32_t k = 0; k < nhot && k < KR_MAX_HOTSPOTS; k++) {
		uint32_t i = hot[k];
		double share = t.f[i].self / fc->total;
		struct strbuf m = STRBUF_INIT;
		const char *name = kp_str_get(p, t.f[i].name);
		kp_str_t mod = t.f[i].module;
		/* a module named in brackets already ("[python]", "[kernel.kallsyms]") keeps its own */
		int bare = mod && kp_str_get(p, mod)[0] == '[';
		strbuf_addf(&m, "%s%s%s%s spends %.1f%% of the time in its own code", name,
			    mod ? (bare ? " " : " [") : "", mod ? base_of(kp_str_get(p, mod)) : "",
			    mod && !bare ? "]" : "", 100 * share);
		add_hotspot(out, fc, share, name, NULL, &m);
		strbuf_release(&m);
	}
	hot_paths(p, fc, &t, out);
out:
	free(hot);
	ftab_release(&t);
}

void kr_findings_build(const struct kp_profile *p, const struct kr_opts *o, struct kr_findings *out)
{
	struct facts fc;
	memset(out, 0, sizeof(*out));
	memset(&fc, 0, sizeof(fc));
	const char *kind = kp_meta_get(p, "kind");
	if (kind && !strcmp(kind, "heap"))
		return;
	gather(p, o, &fc);
	if (fc.total <= 0) {
		free(fc.self);
		free(fc.unopt_m);
		free(fc.nosym_m);
		return;
	}
	int counted = o->count_value >= 0;
	double top = 0;
	hotspots(p, &fc, out, &top);

	struct strbuf m = STRBUF_INIT, list = STRBUF_INIT;
	if (fc.unopt >= 0.05 * fc.total) {
		strbuf_addf(&m, "%.1f%% of the samples land in code compiled without optimisation (-O0): ",
			    100 * fc.unopt / fc.total);
		modshare_text(p, fc.unopt_m, fc.unopt_n, fc.total, &m, &list);
		strbuf_addstr(&m, "; profile an optimised build (-O2 -g) before tuning it");
		struct kr_finding *k = add(out, "debug_build", fc.unopt / fc.total, &m);
		k->modules = strbuf_detach(&list, NULL);
	}

	const char *cg = kp_meta_get(p, "call_graph");
	if (fc.trunc >= 0.05 * fc.total) {
		strbuf_addf(&m, "%.1f%% of the stacks could not be unwound to their root (they show under "
			    "[truncated]): the stack copy ended first; record with a larger "
			    "--call-graph dwarf,SIZE (e.g. dwarf,32K)", 100 * fc.trunc / fc.total);
		add(out, "truncated_stacks", fc.trunc / fc.total, &m);
	}
	if (cg && !strcmp(cg, "fp") && fc.user > 0 && fc.noentry >= 0.2 * fc.user) {
		strbuf_addf(&m, "%.1f%% of the stacks stop before reaching the program's entry: code built "
			    "without frame pointers; record with --call-graph dwarf, or build with "
			    "-fno-omit-frame-pointer", 100 * fc.noentry / fc.user);
		add(out, "no_frame_pointers", fc.noentry / fc.user, &m);
	}

	/* few samples: the top function's share, to +-2 points at 95% */
	if (counted && top > 0) {
		double lo, hi;
		kr_wilson(top * fc.n, fc.n, &lo, &hi);
		double half = (hi - lo) / 2;
		if (half > 0.02) {
			double need = fc.n * (half / 0.01) * (half / 0.01);
			const char *dur = kp_meta_get(p, "duration_ns");
			strbuf_addf(&m, "only %.0f samples: the top function's %.1f%% is known to +-%.1f points; "
				    "for +-1 point record about %.0f samples", fc.n, 100 * top, 100 * half, need);
			if (dur && strtod(dur, NULL) > 0 && !o->keep) {
				strbuf_addstr(&m, " (about ");
				fmt_dur(strtod(dur, NULL) / 1e9 * need / fc.n, &m);
				strbuf_addstr(&m, " at this rate, or a higher --frequency)");
			}
			add(out, "few_samples", -1, &m);
		}
	}

	/* waiting: CPU time (the target's rusage, else samples / frequency) against wall time */
	const char *freq = kp_meta_get(p, "frequency"), *dur = kp_meta_get(p, "duration_ns");
	const char *event = kp_meta_get(p, "event"), *lost = kp_meta_get(p, "lost_samples");
	const char *tcpu = kp_meta_get(p, "target_cpu_ns");
	if (kind && !strcmp(kind, "cpu") && counted && !o->keep && freq && dur && event &&
	    (!strcmp(event, "cpu-clock") || !strcmp(event, "task-clock"))) {
		double hz = strtod(freq, NULL), wall = strtod(dur, NULL) / 1e9;
		double cpu = tcpu ? strtod(tcpu, NULL) / 1e9
				  : (fc.n + (lost ? strtod(lost, NULL) : 0)) / (hz > 0 ? hz : 1);
		if (hz > 0 && wall >= 0.05 && cpu < 0.5 * wall) {
			const char *la = kp_meta_get(p, "loadavg"), *nc = kp_meta_get(p, "online_cpus");
			double load = la ? strtod(la, NULL) : 0, ncpu = nc ? strtod(nc, NULL) : 0;
			strbuf_addf(&m, "the run took %.2f s but was on the CPU for only %.2f s (%.0f%%): ", wall, cpu,
				    100 * cpu / wall);
			if (ncpu > 0 && load > ncpu)
				strbuf_addf(&m, "the machine was busy (load %.1f on %.0f CPUs), so much of the rest "
					    "was waiting for a CPU; record on a quieter machine, or with --off-cpu to "
					    "see where it also waits", load, ncpu);
			else
				strbuf_addstr(&m, "it mostly waits (I/O, locks, sleep, child processes); record with "
						  "--off-cpu to see where");
			add(out, "waiting", cpu / wall, &m);
		}
	}
	if (kr_is_offcpu(p)) {
		struct kr_split sp;
		kr_split_sum(p, o, (uint32_t)-1, &sp);
		if (sp.wall > 0 && sp.blocked > 0.5 * sp.wall) {
			strbuf_addf(&m, "threads spent %.0f%% of their wall time blocked (I/O, locks, sleep) and "
				    "%.0f%% running: speeding up the code itself would gain at most %.2fx; the "
				    "tree under [blocked] shows where they wait",
				    100 * sp.blocked / sp.wall, 100 * sp.running / sp.wall,
				    sp.wall / (sp.wall - sp.running > 0 ? sp.wall - sp.running : sp.wall));
			add(out, "io_bound", sp.blocked / sp.wall, &m);
		}
	}

	if (fc.nosym >= 0.1 * fc.total) {
		strbuf_addf(&m, "%.1f%% of the samples land in code without symbols: ", 100 * fc.nosym / fc.total);
		modshare_text(p, fc.nosym_m, fc.nosym_n, fc.total, &m, &list);
		strbuf_addstr(&m, " (named MODULE+0xSTART from their unwind tables); for names, ");
		no_symbols_advice(p, fc.nosym_m, fc.nosym_n < 3 ? fc.nosym_n : 3, fc.total, &m);
		struct kr_finding *k = add(out, "no_symbols", fc.nosym / fc.total, &m);
		k->modules = strbuf_detach(&list, NULL);
	}
	strbuf_release(&m);
	strbuf_release(&list);
	free(fc.unopt_m);
	free(fc.nosym_m);
	free(fc.self);
}

void kr_findings_release(struct kr_findings *fs)
{
	for (uint32_t i = 0; i < fs->n; i++) {
		free(fs->f[i].message);
		free(fs->f[i].name);
		free(fs->f[i].modules);
		free(fs->f[i].path);
	}
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

void kr_print_findings(const struct kp_profile *p, const struct kr_opts *o, FILE *out)
{
	struct kr_findings fs;
	if (o->no_findings)
		return;
	kr_findings_build(p, o, &fs);
	if (fs.n) {
		fputs("\nwhat to do next:\n", out);
		for (uint32_t i = 0; i < fs.n; i++)
			fprintf(out, "  %-17s %s\n", fs.f[i].kind, fs.f[i].message);
	}
	kr_findings_release(&fs);
}

void kr_json_findings(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *sb)
{
	struct kr_findings fs;
	if (o->no_findings)
		return;
	kr_findings_build(p, o, &fs);
	strbuf_addstr(sb, ",\"findings\":[");
	for (uint32_t i = 0; i < fs.n; i++) {
		const struct kr_finding *f = &fs.f[i];
		strbuf_addf(sb, "%s{\"kind\":\"%s\",\"message\":\"", i ? "," : "", f->kind);
		strbuf_add_json(sb, f->message, strlen(f->message));
		strbuf_addch(sb, '"');
		if (f->share >= 0)
			strbuf_addf(sb, ",\"share\":%.4f", f->share);
		if (f->name) {
			strbuf_addstr(sb, ",\"function\":\"");
			strbuf_add_json(sb, f->name, strlen(f->name));
			strbuf_addch(sb, '"');
		}
		if (f->path) {
			strbuf_addstr(sb, ",\"path\":\"");
			strbuf_add_json(sb, f->path, strlen(f->path));
			strbuf_addch(sb, '"');
		}
		if (f->ci_lo >= 0)
			strbuf_addf(sb, ",\"ci95\":[%.4f,%.4f]", f->ci_lo, f->ci_hi);
		if (f->max_speedup > 0)
			strbuf_addf(sb, ",\"max_speedup\":%.3f", f->max_speedup);
		if (f->modules) {
			strbuf_addstr(sb, ",\"modules\":[");
			const char *s = f->modules;
			int first = 1;
			while (*s) {
				size_t len = strcspn(s, ",");
				strbuf_addf(sb, "%s\"", first ? "" : ",");
				strbuf_add_json(sb, s, len);
				strbuf_addch(sb, '"');
				first = 0;
				s += len;
				if (*s == ',')
					s++;
			}
			strbuf_addch(sb, ']');
		}
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
	kr_findings_release(&fs);
}
