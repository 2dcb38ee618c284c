/* source.c: what kiln serve reads: a store through store.h, or one profile file whose
 * threads' comm and pid serve as its labels. */
#include "serve/serve_int.h"

#include "profile/load.h"
#include "util/xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sv_sel_release(struct sv_sel *s)
{
	kst_labels_release(&s->where);
}

int sv_source_open_store(struct sv_source *s, const char *spec, struct strbuf *err)
{
	memset(s, 0, sizeof(*s)); /* prof stays unused (all zero) */
	if (kst_open(&s->st, spec, KST_READ, err) < 0)
		return -1;
	s->name = xstrdup(spec);
	return 0;
}

int sv_source_open_file(struct sv_source *s, const char *path, struct strbuf *err)
{
	struct kp_auto_info info;
	memset(s, 0, sizeof(*s));
	if (kp_load_auto(&s->prof, path, &info) < 0) {
		kp_profile_release(&s->prof); /* initialized by the call, also on failure */
		return -1; /* kp_load_auto said why on stderr; err stays empty */
	}
	if (!s->prof.nvalues || s->prof.default_value >= s->prof.nvalues) {
		strbuf_addf(err, "'%s' holds no values to show", path);
		kp_profile_release(&s->prof);
		return -1;
	}
	s->is_file = 1;
	s->name = xstrdup(path);
	return 0;
}

void sv_source_close(struct sv_source *s)
{
	if (s->is_file)
		kp_profile_release(&s->prof);
	else
		kst_close(&s->st);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

static const char *const file_keys[] = { "comm", "pid" };

int sv_source_check_sel(const struct sv_source *s, const struct sv_sel *sel, struct strbuf *err)
{
	if (!s->is_file)
		return 0;
	if (sel->has_range) {
		strbuf_addf(err, "'%s' is one profile: it has no time range (from/to are for a store)", s->name);
		return -1;
	}
	for (uint32_t i = 0; i < sel->where.n; i++)
		if (strcmp(sel->where.v[i].key, "comm") && strcmp(sel->where.v[i].key, "pid")) {
			strbuf_addf(err, "label '%s' is not in '%s' (a profile file has comm and pid)",
				    sel->where.v[i].key, s->name);
			return -1;
		}
	return 0;
}

static struct kst_query to_query(const struct sv_sel *sel)
{
	struct kst_query q;
	memset(&q, 0, sizeof(q));
	q.from_ns = sel->from_ns;
	q.to_ns = sel->to_ns;
	q.where = sel->where; /* borrowed: never released through q */
	return q;
}

/* The labels of a file's thread t. */
static void thread_labels(const struct kp_profile *p, uint32_t t, struct kst_labels *l)
{
	char pid[16];
	kst_labels_release(l);
	kst_labels_set(l, "comm", kp_str_get(p, p->threads[t].comm));
	snprintf(pid, sizeof(pid), "%" PRId32, p->threads[t].pid);
	kst_labels_set(l, "pid", pid);
}

/* keep[] for a file's samples whose thread matches sel (NULL: every sample). */
static uint8_t *file_keep(const struct kp_profile *p, const struct sv_sel *sel)
{
	if (!sel->where.n)
		return NULL;
	uint8_t *tmatch = xcalloc(p->nthreads ? p->nthreads : 1, 1);
	struct kst_labels l = KST_LABELS_INIT;
	for (uint32_t t = 1; t < p->nthreads; t++) {
		thread_labels(p, t, &l);
		tmatch[t] = (uint8_t)kst_labels_match(&l, &sel->where);
	}
	kst_labels_release(&l);
	uint8_t *keep = xcalloc(p->nsamples ? p->nsamples : 1, 1);
	for (size_t i = 0; i < p->nsamples; i++) {
		uint32_t t = p->sample_thread[i];
		keep[i] = t < p->nthreads && tmatch[t];
	}
	free(tmatch);
	return keep;
}

int sv_source_query(struct sv_source *s, const struct sv_sel *sel, struct kp_profile *out, struct strbuf *err)
{
	if (s->is_file) {
		if (sv_source_check_sel(s, sel, err) < 0) {
			kp_profile_init(out);
			return -1;
		}
		uint8_t *keep = file_keep(&s->prof, sel);
		sv_profile_subset(&s->prof, keep, out);
		free(keep);
		return 0;
	}
	kp_profile_init(out);
	struct kst_query q = to_query(sel);
	if (kst_query(&s->st, &q, out, err) < 0) {
		kp_profile_release(out);
		kp_profile_init(out);
		return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sv_source_label_values(struct sv_source *s, const struct sv_sel *sel, const char *key,
			   struct kst_strlist *out, struct strbuf *err)
{
	memset(out, 0, sizeof(*out));
	if (!s->is_file) {
		struct kst_query q = to_query(sel);
		return kst_label_values(&s->st, &q, key, out, err);
	}
	if (sv_source_check_sel(s, sel, err) < 0)
		return -1;
	if (strcmp(key, "comm") && strcmp(key, "pid"))
		return 0; /* a file has no such label: no values */
	const struct kp_profile *p = &s->prof;
	uint8_t *used = xcalloc(p->nthreads ? p->nthreads : 1, 1);
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->sample_thread[i] < p->nthreads)
			used[p->sample_thread[i]] = 1;
	struct kst_labels l = KST_LABELS_INIT;
	size_t alloc = 0;
	for (uint32_t t = 1; t < p->nthreads; t++) {
		if (!used[t])
			continue;
		thread_labels(p, t, &l);
		if (!kst_labels_match(&l, &sel->where))
			continue;
		ALLOC_GROW(out->v, out->n + 1, alloc);
		out->v[out->n++] = xstrdup(kst_labels_get(&l, key));
	}
	kst_labels_release(&l);
	free(used);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	size_t k = 0; /* distinct */
	for (size_t i = 0; i < out->n; i++) {
		if (k && !strcmp(out->v[k - 1], out->v[i])) {
			free(out->v[i]);
			continue;
		}
		out->v[k++] = out->v[i];
	}
	out->n = k;
	return 0;
}

/* Label keys a store's windows carry (store.h): the ones the UI offers when they have values. */
static const char *const store_keys[] = { "service", "host", "comm", "cgroup", "exe", "pid", "build_id" };

int sv_source_label_keys(struct sv_source *s, struct kst_strlist *out, struct strbuf *err)
{
	size_t n = s->is_file ? 2 : sizeof(store_keys) / sizeof(store_keys[0]);
	const char *const *keys = s->is_file ? file_keys : store_keys;
	struct sv_sel all = SV_SEL_INIT;
	memset(out, 0, sizeof(*out));
	out->v = xcalloc(n, sizeof(*out->v));
	for (size_t i = 0; i < n; i++) {
		struct kst_strlist vals;
		if (sv_source_label_values(s, &all, keys[i], &vals, err) < 0) {
			kst_strlist_release(out);
			return -1;
		}
		if (vals.n)
			out->v[out->n++] = xstrdup(keys[i]);
		kst_strlist_release(&vals);
	}
	return 0;
}

int sv_source_series(struct sv_source *s, const struct sv_sel *sel, const char *key, uint64_t step_ns,
		     struct kst_series *out, struct strbuf *err)
{
	memset(out, 0, sizeof(*out));
	if (s->is_file) {
		strbuf_addf(err, "'%s' is one profile: CPU over time needs a store", s->name);
		return -1;
	}
	struct kst_query q = to_query(sel);
	return kst_series(&s->st, &q, key, step_ns, out, err);
}

int sv_source_range(struct sv_source *s, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err)
{
	*first_ns = *last_ns = 0;
	if (s->is_file)
		return 0;
	return kst_range(&s->st, first_ns, last_ns, err);
}

/* ---- subsets ---- */

static kp_str_t copy_str(struct kp_profile *out, const struct kp_profile *p, kp_str_t s)
{
	return s ? kp_str(out, kp_str_get(p, s), kp_str_len(p, s)) : 0;
}

void sv_profile_subset(const struct kp_profile *p, const uint8_t *keep, struct kp_profile *out)
{
	kp_profile_init(out);
	for (uint32_t v = 0; v < p->nvalues; v++)
		kp_add_value_type(out, kp_str_get(p, p->value_types[v].name), kp_str_get(p, p->value_types[v].unit));
	out->default_value = p->default_value;
	for (uint32_t m = 0; m < p->nmeta; m++)
		kp_meta_set(out, kp_str_get(p, p->meta[m].key), kp_str_get(p, p->meta[m].value));
	/* ids + 1 in out, 0 = not copied yet */
	uint32_t *fmap = xcalloc(p->nframes + 1, sizeof(*fmap));
	uint32_t *smap = xcalloc(p->nstacks + 1, sizeof(*smap));
	uint32_t *tmap = xcalloc(p->nthreads + 1, sizeof(*tmap));
	kp_stack_t *path = NULL;
	size_t path_alloc = 0;
	smap[0] = 1; /* the root */
	for (size_t i = 0; i < p->nsamples; i++) {
		if (keep && !keep[i])
			continue;
		kp_stack_t s = p->sample_stack[i];
		size_t n = 0;
		/* the stack's ancestors not copied yet, leaf first */
		while (s < p->nstacks && !smap[s]) {
			ALLOC_GROW(path, n + 1, path_alloc);
			path[n++] = s;
			s = p->stacks[s].parent;
		}
		while (n) {
			kp_stack_t c = path[--n];
			kp_frame_t f = p->stacks[c].frame;
			if (f < p->nframes && !fmap[f]) {
				struct kp_frame fr = p->frames[f];
				fr.name = copy_str(out, p, fr.name);
				fr.module = copy_str(out, p, fr.module);
				fr.file = copy_str(out, p, fr.file);
				fmap[f] = kp_frame(out, &fr) + 1;
			}
			smap[c] = kp_stack_push(out, smap[p->stacks[c].parent] - 1, f < p->nframes ? fmap[f] - 1 : 0) + 1;
		}
		uint32_t t = p->sample_thread[i], nt = 0;
		if (t && t < p->nthreads) {
			if (!tmap[t])
				tmap[t] = kp_add_thread(out, p->threads[t].pid, p->threads[t].tid,
							kp_str_get(p, p->threads[t].comm)) + 1;
			nt = tmap[t] - 1;
		}
		kp_stack_t ss = p->sample_stack[i] < p->nstacks ? smap[p->sample_stack[i]] - 1 : 0;
		kp_add_sample(out, ss, nt, p->sample_time[i], p->sample_values + i * p->nvalues);
	}
	free(path);
	free(fmap);
	free(smap);
	free(tmap);
}
