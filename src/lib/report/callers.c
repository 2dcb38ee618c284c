/* callers.c: caller and callee views of one function, and reshaping a profile for
 * report-time inline merging and --sort module/command (see callers.h). */
#include "report/callers.h"
#include "profile/folded.h"
#include "profile/functions.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- finding the function ---- */

struct cand {
	kp_str_t name, module;
};

static int add_cand(struct cand **c, uint32_t *n, uint32_t *alloc, kp_str_t name, kp_str_t module)
{
	for (uint32_t i = 0; i < *n; i++)
		if ((*c)[i].name == name && (*c)[i].module == module)
			return 0;
	ALLOC_GROW(*c, *n + 1, *alloc);
	(*c)[*n].name = name;
	(*c)[*n].module = module;
	(*n)++;
	return 1;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return path[0] != '[' && s ? s + 1 : path;
}

int kr_find_function(const struct kp_profile *p, const char *name, kp_str_t *out_name,
		     kp_str_t *out_module, struct strbuf *err)
{
	struct cand *c = NULL;
	uint32_t n = 0, alloc = 0;
	/* pass 0: the exact name; 1: NAME@MODULE (module basename); 2: a part of the name */
	const char *at = strrchr(name, '@');
	for (int pass = 0; pass < 3 && !n; pass++)
		for (uint32_t f = 1; f < p->nframes; f++) {
			const struct kp_frame *fr = &p->frames[f];
			if (fr->flags & (KP_FRAME_ROOT | KP_FRAME_OFFCPU | KP_FRAME_TRUNCATED))
				continue;
			const char *fn = kp_str_get(p, fr->name);
			int hit;
			if (pass == 0)
				hit = !strcmp(fn, name);
			else if (pass == 1)
				hit = at && strlen(fn) == (size_t)(at - name) && !strncmp(fn, name, (size_t)(at - name)) &&
				      fr->module && !strcmp(base_of(kp_str_get(p, fr->module)), at + 1);
			else
				hit = strstr(fn, name) != NULL;
			if (hit)
				add_cand(&c, &n, &alloc, fr->name, fr->module);
		}
	int rc = 0;
	if (n == 1) {
		*out_name = c[0].name;
		*out_module = c[0].module;
	} else if (!n) {
		strbuf_addf(err, "no function matches '%s'; 'kiln report --percent-limit 0' lists them all", name);
		rc = -1;
	} else {
		strbuf_addf(err, "'%s' matches %u functions; give the full name (module too, as NAME@MODULE): ", name, n);
		for (uint32_t i = 0; i < n && i < 8; i++)
			strbuf_addf(err, "%s%s@%s", i ? ", " : "", kp_str_get(p, c[i].name),
				    c[i].module ? base_of(kp_str_get(p, c[i].module)) : "?");
		if (n > 8)
			strbuf_addf(err, " and %u more", n - 8);
		rc = -2;
	}
	free(c);
	return rc;
}

/* ---- the view ---- */

void kr_peek_build(const struct kp_profile *p, const struct kr_opts *o, kp_str_t name, kp_str_t module,
		   int callees, struct kr_peek *out)
{
	struct kp_func_table t;
	double *self = NULL, *selfn = NULL;
	uint32_t ealloc = 0;
	memset(out, 0, sizeof(*out));
	out->name = name;
	out->module = module;
	kp_func_table_build(p, o->value, o->keep, &t);
	kp_stack_sums(p, o->value, o->keep, &self, NULL);
	if (o->count_value >= 0)
		kp_stack_sums(p, (uint32_t)o->count_value, o->keep, &selfn, NULL);
	out->grand_total = t.grand_total;
	/* edge index per function (+1), stamped per stack so an edge counts once */
	uint32_t *edge_of = xcalloc(t.nfuncs + 1, sizeof(uint32_t));
	uint32_t *stamp = xcalloc(t.nfuncs + 2, sizeof(uint32_t));
	uint32_t self_edge = 0, root_edge = 0, self_stamp = 0;
	for (kp_stack_t s = 1; s < p->nstacks; s++) {
		double v = self[s], n = selfn ? selfn[s] : 0;
		if (v == 0 && n == 0)
			continue;
		int on = 0;
		kp_stack_t below = 0; /* the node one level further from the root */
		for (kp_stack_t a = s; a; below = a, a = p->stacks[a].parent) {
			const struct kp_func *f = &t.funcs[t.frame_func[p->stacks[a].frame]];
			if (f->name != name || f->module != module)
				continue;
			on = 1;
			kp_str_t en = 0, em = 0;
			uint32_t key; /* function index + 1; 0 for self / the root */
			if (callees) {
				if (!below) {
					key = 0;
				} else {
					uint32_t fi = t.frame_func[p->stacks[below].frame];
					key = fi + 1;
					en = t.funcs[fi].name;
					em = t.funcs[fi].module;
				}
			} else {
				kp_stack_t par = p->stacks[a].parent;
				if (!par) {
					key = 0;
				} else {
					uint32_t fi = t.frame_func[p->stacks[par].frame];
					key = fi + 1;
					en = t.funcs[fi].name;
					em = t.funcs[fi].module;
				}
			}
			uint32_t *slot = key ? &edge_of[key - 1] : callees ? &self_edge : &root_edge;
			if (key ? stamp[key] == s : self_stamp == s)
				continue;
			if (key)
				stamp[key] = s;
			else
				self_stamp = s;
			if (!*slot) {
				ALLOC_GROW(out->edges, out->nedges + 1, ealloc);
				memset(&out->edges[out->nedges], 0, sizeof(out->edges[0]));
				out->edges[out->nedges].name = en;
				out->edges[out->nedges].module = em;
				*slot = ++out->nedges;
			}
			out->edges[*slot - 1].value += v;
			out->edges[*slot - 1].n += n;
		}
		if (on) {
			out->total += v;
			out->total_n += n;
			const struct kp_func *leaf = &t.funcs[t.frame_func[p->stacks[s].frame]];
			if (leaf->name == name && leaf->module == module) {
				out->self += v;
				out->self_n += n;
			}
		}
	}
	/* by decreasing value, ties by name */
	for (uint32_t i = 1; i < out->nedges; i++)
		for (uint32_t j = i; j > 0 && (out->edges[j].value > out->edges[j - 1].value ||
					       (out->edges[j].value == out->edges[j - 1].value &&
						strcmp(kp_str_get(p, out->edges[j].name),
						       kp_str_get(p, out->edges[j - 1].name)) < 0));
		     j--) {
			struct kr_edge tmp = out->edges[j];
			out->edges[j] = out->edges[j - 1];
			out->edges[j - 1] = tmp;
		}
	free(edge_of);
	free(stamp);
	free(self);
	free(selfn);
	kp_func_table_release(&t);
}

void kr_peek_release(struct kr_peek *pk)
{
	free(pk->edges);
	memset(pk, 0, sizeof(*pk));
}

static double pct(double v, double total)
{
	return total > 0 ? v * 100.0 / total : 0;
}

static const char *edge_name(const struct kp_profile *p, const struct kr_edge *e, int callees)
{
	if (e->name)
		return kp_str_get(p, e->name);
	return callees ? "(self)" : "(process start: no caller)";
}

int kr_print_peek(const struct kp_profile *p, const struct kr_opts *o, const struct kr_peek *pk, int callees,
		  FILE *out)
{
	char num[40];
	const char *mod = pk->module ? base_of(kp_str_get(p, pk->module)) : "";
	/* a module named in brackets already ("[python]", "[kernel.kallsyms]") keeps its own */
	fprintf(out, mod[0] == '[' ? "%s  %s: %.2f%% of the total on the stack, %.2f%% in its own code\n"
				   : "%s  [%s]: %.2f%% of the total on the stack, %.2f%% in its own code\n",
		kp_str_get(p, pk->name), mod, pct(pk->total, pk->grand_total), pct(pk->self, pk->grand_total));
	fprintf(out, "\n%9s %8s %9s  %s\n", callees ? "Of func" : "Of func", "Of all",
		o->count_value >= 0 ? "Samples" : "Value", callees ? "Callee (what it calls)" : "Caller (who calls it)");
	uint32_t hidden = 0;
	for (uint32_t i = 0; i < pk->nedges; i++) {
		const struct kr_edge *e = &pk->edges[i];
		if (o->percent_limit > 0 && pct(e->value, pk->grand_total) < o->percent_limit) {
			hidden++;
			continue;
		}
		kp_format_count(o->count_value >= 0 ? e->n : e->value, num, sizeof(num));
		fprintf(out, "%8.2f%% %7.2f%% %9s  %s", pct(e->value, pk->total), pct(e->value, pk->grand_total), num,
			edge_name(p, e, callees));
		if (e->module) {
			const char *m = base_of(kp_str_get(p, e->module));
			fprintf(out, m[0] == '[' ? "  %s" : "  [%s]", m);
		}
		fputc('\n', out);
	}
	if (hidden)
		fprintf(out, "(%u more below %.4g%%; --percent-limit 0 shows all)\n", hidden, o->percent_limit);
	return ferror(out) ? -1 : 0;
}

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s, strlen(s));
	strbuf_addch(sb, '"');
}

int kr_print_peek_json(const struct kp_profile *p, const struct kr_opts *o, const struct kr_peek *pk,
		       int callees, FILE *out)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "{\"format\":\"kiln-report-callers\",\"version\":1,\"view\":");
	json_str(&sb, callees ? "callees" : "callers");
	strbuf_addstr(&sb, ",\"function\":");
	json_str(&sb, kp_str_get(p, pk->name));
	strbuf_addstr(&sb, ",\"module\":");
	json_str(&sb, kp_str_get(p, pk->module));
	strbuf_addf(&sb, ",\"total\":%.17g,\"self\":%.17g,\"total_percent\":%.4f,\"self_percent\":%.4f,"
		    "\"total_samples\":%.17g,\"edges\":[",
		    pk->total, pk->self, pct(pk->total, pk->grand_total), pct(pk->self, pk->grand_total),
		    pk->total_n);
	for (uint32_t i = 0; i < pk->nedges; i++) {
		const struct kr_edge *e = &pk->edges[i];
		strbuf_addf(&sb, "%s{\"name\":", i ? "," : "");
		json_str(&sb, e->name ? kp_str_get(p, e->name) : "");
		strbuf_addstr(&sb, ",\"module\":");
		json_str(&sb, kp_str_get(p, e->module));
		strbuf_addf(&sb, ",\"self\":%s,\"value\":%.17g,\"samples\":%.17g,\"percent_of_function\":%.4f,"
			    "\"percent\":%.4f}",
			    !e->name && callees ? "true" : "false", e->value, e->n, pct(e->value, pk->total),
			    pct(e->value, pk->grand_total));
	}
	strbuf_addstr(&sb, "]}\n");
	fwrite(sb.buf, 1, sb.len, out);
	strbuf_release(&sb);
	(void)o;
	return ferror(out) ? -1 : 0;
}

/* ---- reshaping ---- */

static kp_str_t copy_str(struct kp_profile *dst, const struct kp_profile *src, kp_str_t id)
{
	return id ? kp_str(dst, kp_str_get(src, id), kp_str_len(src, id)) : 0;
}

static kp_frame_t copy_frame(struct kp_profile *dst, const struct kp_profile *src, kp_frame_t f, int mode)
{
	const struct kp_frame *sf = &src->frames[f];
	struct kp_frame nf;
	memset(&nf, 0, sizeof(nf));
	nf.flags = sf->flags;
	nf.module = copy_str(dst, src, sf->module);
	if (mode == KR_RESHAPE_MODULE &&
	    !(sf->flags & (KP_FRAME_ROOT | KP_FRAME_OFFCPU | KP_FRAME_TRUNCATED))) {
		const char *m = sf->module ? base_of(kp_str_get(src, sf->module)) : "[unknown]";
		nf.name = kp_strz(dst, m);
		nf.flags &= KP_FRAME_KERNEL | KP_FRAME_JIT;
		return kp_frame(dst, &nf);
	}
	nf.name = copy_str(dst, src, sf->name);
	nf.file = copy_str(dst, src, sf->file);
	nf.line = sf->line;
	nf.addr = sf->addr;
	return kp_frame(dst, &nf);
}

void kr_reshape(const struct kp_profile *src, int mode, struct kp_profile *dst)
{
	kp_profile_init(dst);
	for (uint32_t v = 0; v < src->nvalues; v++)
		kp_add_value_type(dst, kp_str_get(src, src->value_types[v].name),
				  kp_str_get(src, src->value_types[v].unit));
	dst->default_value = src->default_value;
	for (uint32_t i = 0; i < src->nmeta; i++)
		kp_meta_set(dst, kp_str_get(src, src->meta[i].key), kp_str_get(src, src->meta[i].value));
	uint32_t *tmap = xcalloc(src->nthreads ? src->nthreads : 1, sizeof(uint32_t));
	kp_frame_t *tframe = xcalloc(src->nthreads ? src->nthreads : 1, sizeof(kp_frame_t));
	for (uint32_t t = 1; t < src->nthreads; t++) {
		const struct kp_thread *th = &src->threads[t];
		tmap[t] = kp_add_thread(dst, th->pid, th->tid, kp_str_get(src, th->comm));
		const char *comm = kp_str_get(src, th->comm);
		tframe[t] = kp_frame_named(dst, comm[0] ? comm : "[unknown]", comm[0] ? strlen(comm) : 9, 0);
	}
	kp_stack_t *smap = xcalloc(src->nstacks ? src->nstacks : 1, sizeof(kp_stack_t));
	kp_frame_t *fmap = xcalloc(src->nframes ? src->nframes : 1, sizeof(kp_frame_t));
	if (mode != KR_RESHAPE_COMMAND)
		for (kp_stack_t s = 1; s < src->nstacks; s++) {
			kp_stack_t par = smap[src->stacks[s].parent];
			kp_frame_t f = src->stacks[s].frame;
			if (mode == KR_RESHAPE_NO_INLINE && (src->frames[f].flags & KP_FRAME_INLINE)) {
				smap[s] = par; /* its samples go to the function it was inlined in */
				continue;
			}
			if (!fmap[f])
				fmap[f] = copy_frame(dst, src, f, mode);
			if (mode == KR_RESHAPE_MODULE && par && dst->stacks[par].frame == fmap[f]) {
				smap[s] = par; /* still in the same module */
				continue;
			}
			smap[s] = kp_stack_push(dst, par, fmap[f]);
		}
	for (size_t i = 0; i < src->nsamples; i++) {
		uint32_t th = src->sample_thread[i];
		kp_stack_t s = src->sample_stack[i];
		if (mode == KR_RESHAPE_COMMAND)
			s = th ? kp_stack_push(dst, 0, tframe[th]) : 0;
		else
			s = smap[s];
		kp_add_sample(dst, s, tmap[th], src->sample_time[i], &src->sample_values[i * src->nvalues]);
	}
	free(tmap);
	free(tframe);
	free(smap);
	free(fmap);
}
