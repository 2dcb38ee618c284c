/* store_import.c: cut a recorded profile into agent windows (store.h:
 * kst_window_from_profile), so a recording can be stored and queried by time. */
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile/profile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct cut {
	const struct kp_profile *p;
	struct kp_profile *w;
	kp_str_t *strmap;   /* source string -> window string (0: not yet, or "") */
	kp_frame_t *framemap;
	kp_stack_t *stackmap;
	uint8_t *stack_done;
	uint32_t *threadmap;
};

static kp_str_t cut_str(struct cut *c, kp_str_t s)
{
	if (s && !c->strmap[s])
		c->strmap[s] = kp_str(c->w, kp_str_get(c->p, s), kp_str_len(c->p, s));
	return s ? c->strmap[s] : 0;
}

static kp_frame_t cut_frame(struct cut *c, kp_frame_t f)
{
	if (!c->framemap[f]) {
		struct kp_frame fr = c->p->frames[f];
		fr.name = cut_str(c, fr.name);
		fr.module = cut_str(c, fr.module);
		fr.file = cut_str(c, fr.file);
		c->framemap[f] = kp_frame(c->w, &fr);
	}
	return c->framemap[f];
}

/* The window's stack for source stack s: its unmapped ancestors are walked up first
 * (a loop, not recursion), then mapped root-first. */
static kp_stack_t cut_stack(struct cut *c, kp_stack_t s, kp_stack_t **path, size_t *alloc)
{
	size_t n = 0;
	kp_stack_t x = s;
	while (x && !c->stack_done[x]) {
		ALLOC_GROW(*path, n + 1, *alloc);
		(*path)[n++] = x;
		x = c->p->stacks[x].parent;
	}
	kp_stack_t parent = x ? c->stackmap[x] : 0;
	while (n--) {
		kp_stack_t y = (*path)[n];
		parent = kp_stack_push(c->w, parent, cut_frame(c, c->p->stacks[y].frame));
		c->stackmap[y] = parent;
		c->stack_done[y] = 1;
	}
	return parent;
}

struct order {
	uint64_t win;
	size_t i;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	if (x->win != y->win)
		return x->win < y->win ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The process name of pid: its main thread's (tid == pid), else its first thread's. */
static kp_str_t proc_comm(const struct kp_profile *p, int32_t pid)
{
	kp_str_t first = 0;
	for (uint32_t t = 1; t < p->nthreads; t++) {
		if (p->threads[t].pid != pid)
			continue;
		if (p->threads[t].tid == pid)
			return p->threads[t].comm;
		if (!first)
			first = p->threads[t].comm;
	}
	return first;
}

int kst_window_from_profile(const struct kp_profile *p, uint64_t base_ns, uint64_t window_ns, const char *host,
			    const struct kst_labels *labels, int (*fn)(void *ctx, struct kp_profile *w), void *ctx,
			    struct strbuf *err)
{
	if (!window_ns) {
		strbuf_addstr(err, "the window length must be more than 0");
		return -1;
	}
	int vs = kp_find_value_type(p, "samples"), vc = kp_find_value_type(p, "cpu_ns");
	if (vs < 0) {
		strbuf_addstr(err, "the profile has no 'samples' value: the store keeps CPU sample profiles");
		return -1;
	}
	struct order *ord = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(*ord));
	for (size_t i = 0; i < p->nsamples; i++) {
		ord[i].win = p->sample_time[i] / window_ns;
		ord[i].i = i;
	}
	qsort(ord, p->nsamples, sizeof(*ord), order_cmp);
	struct cut c = { .p = p };
	c.strmap = xmalloc((p->strings.nr + 1) * sizeof(*c.strmap));
	c.framemap = xmalloc((p->nframes + 1) * sizeof(*c.framemap));
	c.stackmap = xmalloc((p->nstacks + 1) * sizeof(*c.stackmap));
	c.stack_done = xmalloc(p->nstacks + 1);
	c.threadmap = xmalloc((p->nthreads + 1) * sizeof(*c.threadmap));
	kp_stack_t *path = NULL;
	size_t path_alloc = 0;
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;
	if (!host)
		host = kp_meta_get(p, "hostname");
	for (size_t i = 0; i < p->nsamples && !rc;) {
		uint64_t k = ord[i].win;
		if (k > (UINT64_MAX - base_ns) / window_ns - 1) {
			strbuf_addstr(err, "the profile's sample times run past the year 2262");
			rc = -1;
			break;
		}
		struct kp_profile w;
		kp_profile_init(&w);
		c.w = &w;
		memset(c.strmap, 0, (p->strings.nr + 1) * sizeof(*c.strmap));
		memset(c.framemap, 0, (p->nframes + 1) * sizeof(*c.framemap));
		memset(c.stack_done, 0, p->nstacks + 1);
		memset(c.threadmap, 0, (p->nthreads + 1) * sizeof(*c.threadmap));
		kp_add_value_type(&w, "samples", "count");
		kp_add_value_type(&w, "cpu_ns", "nanoseconds");
		kp_meta_set(&w, "kind", "cpu");
		uint64_t start = base_ns + k * window_ns;
		kst_window_set_range(&w, start, start + window_ns);
		if (host)
			kp_meta_set(&w, KST_META_HOST, host);
		if (labels && labels->n) {
			strbuf_reset(&sb);
			kst_labels_format(labels, &sb);
			kp_meta_set(&w, KST_META_LABELS, sb.buf);
		}
		for (; i < p->nsamples && ord[i].win == k; i++) {
			size_t s = ord[i].i;
			uint32_t t = p->sample_thread[s] < p->nthreads ? p->sample_thread[s] : 0;
			if (t && !c.threadmap[t]) {
				const struct kp_thread *th = &p->threads[t];
				c.threadmap[t] = kp_add_thread(&w, th->pid, th->tid, kp_str_get(p, th->comm));
				char key[32];
				snprintf(key, sizeof(key), KST_META_PROC "%" PRId32, th->pid);
				if (!kp_meta_get(&w, key)) {
					struct kst_labels pl = KST_LABELS_INIT;
					kst_labels_set(&pl, "comm", kp_str_get(p, proc_comm(p, th->pid)));
					kst_window_set_proc(&w, th->pid, &pl);
					kst_labels_release(&pl);
				}
			}
			double v[2] = { kp_sample_value(p, s, (uint32_t)vs), vc >= 0 ? kp_sample_value(p, s, (uint32_t)vc) : 0 };
			kp_add_sample(&w, cut_stack(&c, p->sample_stack[s], &path, &path_alloc), c.threadmap[t],
				      p->sample_time[s] - k * window_ns, v);
		}
		if (fn(ctx, &w))
			rc = -1;
		kp_profile_release(&w);
	}
	strbuf_release(&sb);
	free(path);
	free(ord);
	free(c.strmap);
	free(c.framemap);
	free(c.stackmap);
	free(c.stack_done);
	free(c.threadmap);
	return rc;
}

/* ---- storing a recording ---- */

struct import_ctx {
	struct kst *s;
	struct strbuf *err;
	uint64_t windows, samples;
};

static int import_one(void *ctx, struct kp_profile *w)
{
	struct import_ctx *ic = ctx;
	if (kst_write(ic->s, w, ic->err))
		return -1;
	ic->windows++;
	ic->samples += (uint64_t)kp_total(w, 0);
	return 0;
}

int kst_import_profile(struct kst *s, const struct kp_profile *p, uint64_t base_ns, uint64_t window_ns,
		       const char *host, const struct kst_labels *labels, uint64_t *windows, uint64_t *samples,
		       struct strbuf *err)
{
	struct import_ctx ic = { s, err, 0, 0 };
	int rc = kst_window_from_profile(p, base_ns, window_ns, host, labels, import_one, &ic, err);
	if (windows)
		*windows = ic.windows;
	if (samples)
		*samples = ic.samples;
	return rc;
}

int kst_profile_start(const struct kp_profile *p, uint64_t *start_ns)
{
	const char *ns = kp_meta_get(p, KST_META_START_NS);
	struct strbuf err = STRBUF_INIT;
	int rc = -1;
	if (ns && *ns >= '0' && *ns <= '9') {
		char *end;
		unsigned long long v = strtoull(ns, &end, 10);
		if (!*end) {
			*start_ns = v;
			rc = 0;
		}
	}
	const char *iso = kp_meta_get(p, "start_time");
	if (rc && iso && !kst_parse_time(iso, 0, start_ns, &err))
		rc = 0;
	strbuf_release(&err);
	return rc;
}

/* ---- label keys ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kst_label_keys(struct kst *s, const struct kst_query *q, struct kst_strlist *out, struct strbuf *err)
{
	static const char *const known[] = { "build_id", "cgroup", "comm", "exe", "host", "pid", "service" };
	memset(out, 0, sizeof(out[0]));
	if (s->be == &kst_backend_dir)
		return kst_dir_label_keys(s->h, q, out, err);
	/* other backends: the keys kiln's agent sets that have a value */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct kst_strlist v;
		if (kst_label_values(s, q, known[i], &v, err)) {
			kst_strlist_release(out);
			return -1;
		}
		if (v.n) {
			out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
			out->v[out->n++] = xstrdup(known[i]);
		}
		kst_strlist_release(&v);
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return 0;
}

void kst_format_time(uint64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	uint64_t frac = ns % 1000000000ull;
	if (frac && n < size)
		n += (size_t)snprintf(buf + n, size - n, ".%03u", (unsigned)(frac / 1000000u));
	if (n < size)
		snprintf(buf + n, size - n, "Z");
}
