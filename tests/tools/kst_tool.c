/* kst_tool.c: drives store.h's backends from the command line, for the t22xx tests and
 * bench/fleet.sh, until `kiln agent` and `kiln query` land on main.
 *
 *   kst_tool write SPEC REC [--host H] [--label k=v]... [--service S] [--start-ns NS]
 *                           [--window-ms MS]
 *       cuts recording REC (a kiln.prof) into windows of MS (default 1000) starting at NS
 *       (default: now, rounded down to the window) and writes each to SPEC.
 *   kst_tool fleet SPEC REC... --hosts N --windows M [--start-ns NS] [--window-ms MS]
 *                           [--batch B] [--seed S] [--scale F]
 *       N hosts x M windows, each window every recording's samples with the counts
 *       scaled by F and jittered (x0.75..1.25, rounded at random, zeros dropped); B
 *       windows per INSERT (clickhouse:// only).
 *   kst_tool query SPEC [--from T] [--to T] [--where k=v]... [--comm C] [-o FILE]
 *       the merged profile as folded stacks (value "samples") on stdout, a summary line
 *       "samples=N processes=P rows=R first_ns=F pid1=PID seconds=S" on stderr (PID: the
 *       first process's; -1 when merged by name); -o saves it as kiln.prof.
 *   kst_tool series SPEC KEY STEP_S [query options]    one line per group: name then counts
 *   kst_tool values SPEC KEY [query options]           the label's values, one a line
 *   kst_tool range SPEC                                "FIRST_NS LAST_NS"
 * Errors: one line "kst_tool: error: ..." and exit 1 (2 for usage). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile/folded.h"
#include "profile/load.h"
#include "profile/profile.h"
#include "profile/profile_io.h"
#include "store/clickhouse.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static int usage(void)
{
	fprintf(stderr, "usage: kst_tool write|fleet|query|series|values|range SPEC ... (see tests/tools/kst_tool.c)\n");
	return 2;
}

static int fail(const char *what, struct strbuf *err)
{
	fprintf(stderr, "kst_tool: error: %s%s%s\n", what, *what ? ": " : "", err->buf);
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copies what window w needs of recording r: frames, stacks and threads, lazily. */
struct copier {
	const struct kp_profile *r;
	struct kp_profile *w;
	kp_frame_t *fmap;
	kp_stack_t *smap;
	uint32_t *tmap;
};

static void copier_init(struct copier *c, const struct kp_profile *r, struct kp_profile *w)
{
	c->r = r;
	c->w = w;
	c->fmap = xcalloc(r->nframes + 1, sizeof(*c->fmap));
	c->smap = xcalloc(r->nstacks, sizeof(*c->smap));
	c->tmap = xcalloc(r->nthreads + 1, sizeof(*c->tmap));
	for (uint32_t v = 0; v < r->nvalues; v++)
		kp_add_value_type(w, kp_str_get(r, r->value_types[v].name), kp_str_get(r, r->value_types[v].unit));
	w->default_value = r->default_value;
	const char *freq = kp_meta_get(r, "frequency");
	if (freq)
		kp_meta_set(w, "frequency", freq);
}

static void copier_release(struct copier *c)
{
	free(c->fmap);
	free(c->smap);
	free(c->tmap);
}

static kp_stack_t copy_stack(struct copier *c, kp_stack_t s)
{
	static kp_frame_t path[4096];
	if (!s || c->smap[s])
		return c->smap[s];
	uint32_t d = kp_stack_frames(c->r, s, path, 4096);
	if (d > 4096)
		d = 4096;
	for (uint32_t k = 0; k < d; k++) {
		kp_frame_t f = path[k];
		if (!c->fmap[f]) {
			struct kp_frame fr = c->r->frames[f];
			fr.name = kp_strz(c->w, kp_str_get(c->r, fr.name));
			fr.module = kp_strz(c->w, kp_str_get(c->r, fr.module));
			fr.file = kp_strz(c->w, kp_str_get(c->r, fr.file));
			c->fmap[f] = kp_frame(c->w, &fr);
		}
		path[k] = c->fmap[f];
	}
	return c->smap[s] = kp_stack_from_frames(c->w, path, d);
}

static uint32_t copy_thread(struct copier *c, uint32_t t, int32_t pid_add)
{
	if (!t || t >= c->r->nthreads)
		return 0;
	if (!c->tmap[t])
		c->tmap[t] = kp_add_thread(c->w, c->r->threads[t].pid + pid_add, c->r->threads[t].tid + pid_add,
					   kp_str_get(c->r, c->r->threads[t].comm));
	return c->tmap[t];
}

/* The window's meta: host, agent labels, range, each process's labels. */
static void window_meta(struct kp_profile *w, const char *host, const struct kst_labels *agent,
			const char *service, uint64_t start, uint64_t end)
{
	struct strbuf sb = STRBUF_INIT;
	kst_window_set_range(w, start, end);
	if (host)
		kp_meta_set(w, KST_META_HOST, host);
	kst_labels_format(agent, &sb);
	if (sb.len)
		kp_meta_set(w, KST_META_LABELS, sb.buf);
	kp_meta_set(w, "kind", "cpu");
	kp_meta_set(w, KST_META_LOST, "0");
	for (uint32_t t = 1; t < w->nthreads; t++) {
		int32_t pid = w->threads[t].pid;
		int dup = 0;
		for (uint32_t u = 1; u < t; u++)
			dup |= w->threads[u].pid == pid;
		if (dup)
			continue;
		struct kst_labels p = KST_LABELS_INIT;
		const char *comm = kp_str_get(w, w->threads[t].comm);
		kst_labels_set(&p, "comm", comm);
		kst_labels_set(&p, "service", service ? service : comm);
		kst_window_set_proc(w, pid, &p);
		kst_labels_release(&p);
	}
	strbuf_release(&sb);
}

struct opts {
	const char *host, *service;
	struct kst_labels labels;
	uint64_t start_ns, window_ns;
	unsigned hosts, windows, batch, seed;
	double scale;
	struct kst_query q;
	const char *out;
	const char **pos;
	int npos;
};

static int parse_opts(int argc, char **argv, struct opts *o, struct strbuf *err)
{
	uint64_t now = now_ns();
	memset(o, 0, sizeof(*o));
	o->window_ns = 1000000000ull;
	o->batch = 1;
	o->seed = 1;
	o->scale = 1;
	o->q.to_ns = UINT64_MAX;
	o->pos = xcalloc((size_t)argc + 1, sizeof(*o->pos));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = a[0] == '-' && a[1] == '-';
		if (!strcmp(a, "-o"))
			takes = 1;
		if (!takes) {
			o->pos[o->npos++] = a;
			continue;
		}
		if (!v) {
			strbuf_addf(err, "option '%s' needs a value", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--host"))
			o->host = v;
		else if (!strcmp(a, "--service"))
			o->service = v;
		else if (!strcmp(a, "--label")) {
			if (kst_label_parse(v, &o->labels, err))
				return -1;
		} else if (!strcmp(a, "--start-ns"))
			o->start_ns = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--window-ms"))
			o->window_ns = strtoull(v, NULL, 10) * 1000000ull;
		else if (!strcmp(a, "--hosts"))
			o->hosts = (unsigned)atoi(v);
		else if (!strcmp(a, "--windows"))
			o->windows = (unsigned)atoi(v);
		else if (!strcmp(a, "--batch"))
			o->batch = (unsigned)atoi(v);
		else if (!strcmp(a, "--scale"))
			o->scale = strtod(v, NULL);
		else if (!strcmp(a, "--seed"))
			o->seed = (unsigned)atoi(v);
		else if (!strcmp(a, "--from")) {
			if (kst_parse_time(v, now, &o->q.from_ns, err))
				return -1;
		} else if (!strcmp(a, "--to")) {
			if (kst_parse_time(v, now, &o->q.to_ns, err))
				return -1;
		} else if (!strcmp(a, "--where")) {
			if (kst_label_parse(v, &o->q.where, err))
				return -1;
		} else if (!strcmp(a, "--comm"))
			o->q.comm = v;
		else if (!strcmp(a, "-o"))
			o->out = v;
		else {
			strbuf_addf(err, "unknown option '%s'", a);
			return -1;
		}
	}
	if (!o->window_ns || !o->batch)
		return strbuf_addstr(err, "--window-ms and --batch must be more than 0"), -1;
	if (!o->start_ns)
		o->start_ns = now / o->window_ns * o->window_ns;
	return 0;
}

static int cmd_write(struct kst *s, struct opts *o, struct strbuf *err)
{
	if (o->npos != 1)
		return usage();
	struct kp_profile r;
	struct kp_auto_info info;
	if (kp_load_auto(&r, o->pos[0], &info))
		return 1;
	uint64_t last = 0;
	for (size_t i = 0; i < r.nsamples; i++)
		last = r.sample_time[i] > last ? r.sample_time[i] : last;
	uint64_t n = last / o->window_ns + 1, total = 0;
	int rc = 0;
	for (uint64_t k = 0; k < n && !rc; k++) {
		struct kp_profile w;
		struct copier c;
		kp_profile_init(&w);
		copier_init(&c, &r, &w);
		for (size_t i = 0; i < r.nsamples; i++) {
			if (r.sample_time[i] / o->window_ns != k)
				continue;
			kp_add_sample(&w, copy_stack(&c, r.sample_stack[i]), copy_thread(&c, r.sample_thread[i], 0),
				      r.sample_time[i] - k * o->window_ns, &r.sample_values[i * r.nvalues]);
		}
		total += w.nsamples;
		window_meta(&w, o->host, &o->labels, o->service, o->start_ns + k * o->window_ns,
			    o->start_ns + (k + 1) * o->window_ns);
		rc = kst_write(s, &w, err);
		copier_release(&c);
		kp_profile_release(&w);
	}
	kp_profile_release(&r);
	if (rc)
		return fail("write", err);
	printf("windows=%" PRIu64 " samples=%" PRIu64 "\n", n, total);
	return 0;
}

static uint64_t rng_state;
static double rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static int cmd_fleet(struct kst *s, struct opts *o, struct strbuf *err)
{
	if (o->npos < 1 || !o->hosts || !o->windows)
		return usage();
	int nrec = o->npos;
	struct kp_profile *rec = xcalloc((size_t)nrec, sizeof(*rec));
	for (int k = 0; k < nrec; k++) {
		struct kp_auto_info info;
		if (kp_load_auto(&rec[k], o->pos[k], &info))
			return 1;
	}
	rng_state = 0x9e3779b97f4a7c15ull * (o->seed + 1);
	int batch = s->be == &kst_backend_clickhouse && o->batch > 1;
	struct kp_profile *ws = xcalloc(o->batch, sizeof(*ws));
	const struct kp_profile **wp = xcalloc(o->batch, sizeof(*wp));
	unsigned nb = 0;
	uint64_t samples = 0, windows = 0;
	double t0 = mono();
	int rc = 0;
	char host[64];
	/* window by window, all hosts at each time, as a fleet sends them */
	for (unsigned j = 0; j < o->windows && !rc; j++) {
		for (unsigned h = 0; h < o->hosts && !rc; h++) {
			struct kp_profile *w = &ws[nb];
			kp_profile_init(w);
			for (int k = 0; k < nrec; k++) {
				struct copier c;
				struct kp_profile *r = &rec[k];
				if (k == 0)
					copier_init(&c, r, w);
				else {
					c.r = r;
					c.w = w;
					c.fmap = xcalloc(r->nframes + 1, sizeof(*c.fmap));
					c.smap = xcalloc(r->nstacks, sizeof(*c.smap));
					c.tmap = xcalloc(r->nthreads + 1, sizeof(*c.tmap));
				}
				double f = (0.75 + 0.5 * rnd()) * o->scale;
				double v[KP_MAX_VALUES];
				for (size_t i = 0; i < r->nsamples; i++) {
					for (uint32_t x = 0; x < w->nvalues; x++)
						v[x] = x < r->nvalues ? (double)(uint64_t)(r->sample_values[i * r->nvalues + x] * f + rnd()) : 0;
					if (v[0] <= 0)
						continue;
					kp_add_sample(w, copy_stack(&c, r->sample_stack[i]),
						      copy_thread(&c, r->sample_thread[i], (int32_t)(1000 * k)), 0, v);
					samples += (uint64_t)v[0];
				}
				copier_release(&c);
			}
			snprintf(host, sizeof(host), "host-%04u", h);
			window_meta(w, host, &o->labels, NULL, o->start_ns + j * o->window_ns,
				    o->start_ns + (j + 1) * o->window_ns);
			wp[nb++] = w;
			windows++;
			if (nb == o->batch || (j + 1 == o->windows && h + 1 == o->hosts)) {
				rc = batch ? kst_ch_write_batch(s->h, wp, nb, err) : kst_write(s, w, err);
				for (unsigned k = 0; k < nb; k++)
					kp_profile_release(&ws[k]);
				nb = 0;
			}
		}
	}
	double dt = mono() - t0;
	for (int k = 0; k < nrec; k++)
		kp_profile_release(&rec[k]);
	free(rec);
	free(ws);
	free(wp);
	if (rc)
		return fail("fleet", err);
	printf("windows=%" PRIu64 " samples=%" PRIu64 " seconds=%.2f samples_per_s=%.0f windows_per_s=%.0f\n",
	       windows, samples, dt, (double)samples / dt, (double)windows / dt);
	return 0;
}

static int cmd_query(struct kst *s, struct opts *o, struct strbuf *err)
{
	struct kp_profile p;
	kp_profile_init(&p);
	double t0 = mono();
	if (kst_query(s, &o->q, &p, err)) {
		kp_profile_release(&p);
		return fail("query", err);
	}
	double dt = mono() - t0;
	int vs = kp_find_value_type(&p, "samples");
	uint64_t first = UINT64_MAX;
	for (size_t i = 0; i < p.nsamples; i++)
		first = p.sample_time[i] < first ? p.sample_time[i] : first;
	fprintf(stderr, "samples=%.0f processes=%u rows=%zu first_ns=%" PRIu64 " pid1=%d seconds=%.3f\n",
		vs >= 0 ? kp_total(&p, (uint32_t)vs) : 0, p.nthreads ? p.nthreads - 1 : 0, p.nsamples,
		p.nsamples ? first : 0, p.nthreads > 1 ? p.threads[1].pid : 0, dt);
	int rc = 0;
	if (o->out) {
		rc = kp_profile_save(&p, o->out) ? 1 : 0;
	} else {
		struct kp_folded_opts fo;
		memset(&fo, 0, sizeof(fo));
		fo.value = vs >= 0 ? (uint32_t)vs : 0;
		fo.root = KP_ROOT_COMM;
		rc = kp_folded_write(&p, &fo, stdout) ? 1 : 0;
	}
	kp_profile_release(&p);
	return rc;
}

static int cmd_series(struct kst *s, struct opts *o, struct strbuf *err)
{
	if (o->npos != 2)
		return usage();
	struct kst_series se;
	if (kst_series(s, &o->q, o->pos[0], strtoull(o->pos[1], NULL, 10) * 1000000000ull, &se, err))
		return fail("series", err);
	for (uint32_t g = 0; g < se.ngroups; g++) {
		printf("%s", se.groups[g]);
		for (uint32_t k = 0; k < se.nsteps; k++)
			printf(" %.0f", se.samples[(size_t)g * se.nsteps + k]);
		printf("\n");
	}
	kst_series_release(&se);
	return 0;
}

static int cmd_values(struct kst *s, struct opts *o, struct strbuf *err)
{
	if (o->npos != 1)
		return usage();
	struct kst_strlist l;
	if (kst_label_values(s, &o->q, o->pos[0], &l, err))
		return fail("values", err);
	for (size_t k = 0; k < l.n; k++)
		printf("%s\n", l.v[k]);
	kst_strlist_release(&l);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	const char *cmd = argv[1], *spec = argv[2];
	struct strbuf err = STRBUF_INIT;
	struct opts o;
	int write = !strcmp(cmd, "write") || !strcmp(cmd, "fleet");
	struct kst s;
	int rc;
	memset(&s, 0, sizeof(s));
	if (parse_opts(argc - 3, argv + 3, &o, &err))
		rc = fail("", &err) + 1;
	else if (kst_open(&s, spec, write ? KST_WRITE : KST_READ, &err))
		rc = fail("", &err);
	else if (!strcmp(cmd, "write"))
		rc = cmd_write(&s, &o, &err);
	else if (!strcmp(cmd, "fleet"))
		rc = cmd_fleet(&s, &o, &err);
	else if (!strcmp(cmd, "query"))
		rc = cmd_query(&s, &o, &err);
	else if (!strcmp(cmd, "series"))
		rc = cmd_series(&s, &o, &err);
	else if (!strcmp(cmd, "values"))
		rc = cmd_values(&s, &o, &err);
	else if (!strcmp(cmd, "range")) {
		uint64_t a, b;
		rc = kst_range(&s, &a, &b, &err) ? fail("range", &err) : 0;
		if (!rc)
			printf("%" PRIu64 " %" PRIu64 "\n", a, b);
	} else
		rc = usage();
	kst_close(&s);
	kst_labels_release(&o.labels);
	kst_labels_release(&o.q.where);
	free(o.pos);
	strbuf_release(&err);
	return rc;
}
