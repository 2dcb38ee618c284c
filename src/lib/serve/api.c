/* api.c: kiln serve's endpoints (docs/kiln-serve.md): the source's labels and range, the
 * function table (report.h's JSON, as `kiln report --json`), the flame graph and the
 * differential one (render/flame.h), the changed functions (render/diff.h), and samples
 * over time per label value (store.h's series). */
#include "serve/serve_int.h"

#include "render/diff.h"
#include "render/flame.h"
#include "report/report.h"
#include "util/error.h"
#include "util/parse.h"
#include "util/xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WHERE 16
#define MAX_STEPS 2000

void sv_req_error(struct sv_req *r, int status, const char *msg)
{
	r->status = status;
	r->ctype = "application/json";
	strbuf_reset(&r->body);
	strbuf_addstr(&r->body, "{\"error\":\"");
	strbuf_add_json(&r->body, msg, strlen(msg));
	strbuf_addstr(&r->body, "\"}\n");
}

static void json_strz(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s, strlen(s));
	strbuf_addch(sb, '"');
}

static void json_num(struct strbuf *sb, double v)
{
	if (v == (double)(int64_t)v && v > -9e15 && v < 9e15)
		strbuf_addf(sb, "%" PRId64, (int64_t)v);
	else
		strbuf_addf(sb, "%.17g", v);
}

static int parse_time_arg(struct sv_req *r, const char *name, const char *text, uint64_t *out, struct strbuf *err)
{
	struct strbuf e = STRBUF_INIT;
	int rc = kst_parse_time(text, r->now_ns, out, &e);
	if (rc < 0)
		strbuf_addf(err, "%s: %s", name, e.buf);
	strbuf_release(&e);
	return rc;
}

int sv_sel_parse(struct sv_req *r, const char *prefix, struct sv_sel *sel, struct strbuf *err)
{
	char name[32];
	const char *v, *wh[MAX_WHERE + 1];
	sel->from_ns = 0;
	sel->to_ns = UINT64_MAX;
	sel->has_range = 0;
	snprintf(name, sizeof(name), "%sfrom", prefix);
	if ((v = r->arg(r->ctx, name))) {
		if (parse_time_arg(r, name, v, &sel->from_ns, err) < 0)
			return -1;
		sel->has_range = 1;
	}
	snprintf(name, sizeof(name), "%sto", prefix);
	if ((v = r->arg(r->ctx, name))) {
		if (parse_time_arg(r, name, v, &sel->to_ns, err) < 0)
			return -1;
		sel->has_range = 1;
	}
	if (sel->from_ns >= sel->to_ns) {
		strbuf_addf(err, "the range %sfrom..%sto is empty: from must come before to", prefix, prefix);
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass && !*prefix)
			break;
		snprintf(name, sizeof(name), "%swhere", pass ? "" : prefix);
		size_t n = r->args(r->ctx, name, wh, MAX_WHERE + 1);
		if (n > MAX_WHERE) {
			strbuf_addf(err, "too many '%s' labels (at most %d)", name, MAX_WHERE);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (kst_label_parse(wh[i] ? wh[i] : "", &sel->where, err) < 0)
				return -1;
	}
	return 0;
}

/* The value to show: the "value" argument, else the profile's default. -1: bad name. */
static int pick_value(struct sv_req *r, const struct kp_profile *p)
{
	const char *name = r->arg(r->ctx, "value");
	if (!name)
		return p->default_value < p->nvalues ? (int)p->default_value : -1;
	int v = kp_find_value_type(p, name);
	if (v < 0) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "value '%s' is not in the selection; it has:", name);
		for (uint32_t i = 0; i < p->nvalues; i++)
			strbuf_addf(&sb, "%s %s", i ? "," : "", kp_str_get(p, p->value_types[i].name));
		sv_req_error(r, 400, sb.buf);
		strbuf_release(&sb);
	}
	return v;
}

/* Parses the selection (prefix) and queries it into p (initialized by the call, also on
 * failure); on failure the answer is set. */
static void add_time(struct strbuf *sb, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char buf[32];
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		strbuf_addstr(sb, buf);
}

/* "FROM to TO, k=v, k=v": what a graph shows, for its subtitle. */
static void describe(const struct sv_sel *sel, struct strbuf *out)
{
	if (sel->from_ns || sel->to_ns != UINT64_MAX) {
		if (sel->from_ns)
			add_time(out, sel->from_ns);
		strbuf_addstr(out, sel->from_ns ? " to " : "to ");
		if (sel->to_ns != UINT64_MAX)
			add_time(out, sel->to_ns);
		else
			strbuf_addstr(out, "the end");
	}
	for (uint32_t i = 0; i < sel->where.n; i++)
		strbuf_addf(out, "%s%s=%s", out->len ? ", " : "", sel->where.v[i].key, sel->where.v[i].value);
}

static int select_profile_desc(struct sv_source *src, struct sv_req *r, const char *prefix, struct kp_profile *p,
			       struct strbuf *desc)
{
	struct sv_sel sel = SV_SEL_INIT;
	struct strbuf err = STRBUF_INIT;
	int rc = -1;
	kp_profile_init(p);
	if (sv_sel_parse(r, prefix, &sel, &err) < 0 || sv_source_check_sel(src, &sel, &err) < 0) {
		sv_req_error(r, 400, err.buf);
		goto out;
	}
	if (desc)
		describe(&sel, desc);
	kp_profile_release(p);
	if (sv_source_query(src, &sel, p, &err) < 0) {
		sv_req_error(r, 500, err.buf);
		goto out;
	}
	rc = 0;
out:
	sv_sel_release(&sel);
	strbuf_release(&err);
	return rc;
}

static int select_profile(struct sv_source *src, struct sv_req *r, const char *prefix, struct kp_profile *p)
{
	return select_profile_desc(src, r, prefix, p, NULL);
}

static int parse_count(struct sv_req *r, const char *name, long def, long max, long *out)
{
	const char *v = r->arg(r->ctx, name);
	*out = def;
	if (v && kiln_parse_long(v, 1, max, out) < 0) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "'%s' wants a number from 1 to %ld", name, max);
		sv_req_error(r, 400, sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	return 0;
}

static int check_key(struct sv_req *r, const char *key)
{
	struct kst_labels l = KST_LABELS_INIT;
	struct strbuf t = STRBUF_INIT, err = STRBUF_INIT;
	strbuf_addf(&t, "%s=", key ? key : "");
	int rc = key ? kst_label_parse(t.buf, &l, &err) : -1;
	if (rc < 0)
		sv_req_error(r, 400, key ? err.buf : "'key' is missing: say which label (key=service)");
	kst_labels_release(&l);
	strbuf_release(&t);
	strbuf_release(&err);
	return rc;
}

static void ok_json(struct sv_req *r)
{
	r->status = 200;
	r->ctype = "application/json";
}

/* GET /api/info */
static void api_info(struct sv_source *src, struct sv_req *r)
{
	struct strbuf err = STRBUF_INIT;
	struct kst_strlist keys;
	uint64_t first, last;
	if (sv_source_range(src, &first, &last, &err) < 0 || sv_source_label_keys(src, &keys, &err) < 0) {
		sv_req_error(r, 500, err.buf);
		strbuf_release(&err);
		return;
	}
	struct strbuf *b = &r->body;
	strbuf_addf(b, "{\"format\":\"kiln-serve-info\",\"version\":1,\"mode\":\"%s\",\"source\":",
		    src->is_file ? "file" : "store");
	json_strz(b, src->name);
	strbuf_addf(b, ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"now_ns\":%" PRIu64 ",\"label_keys\":[",
		    first, last, r->now_ns);
	for (size_t i = 0; i < keys.n; i++) {
		if (i)
			strbuf_addch(b, ',');
		json_strz(b, keys.v[i]);
	}
	strbuf_addstr(b, "]}\n");
	kst_strlist_release(&keys);
	strbuf_release(&err);
	ok_json(r);
}

/* GET /api/labels?key=K&from&to&where */
static void api_labels(struct sv_source *src, struct sv_req *r)
{
	const char *key = r->arg(r->ctx, "key");
	struct sv_sel sel = SV_SEL_INIT;
	struct strbuf err = STRBUF_INIT;
	struct kst_strlist vals = { NULL, 0 };
	if (check_key(r, key) < 0)
		goto out;
	if (sv_sel_parse(r, "", &sel, &err) < 0 || sv_source_check_sel(src, &sel, &err) < 0) {
		sv_req_error(r, 400, err.buf);
		goto out;
	}
	if (sv_source_label_values(src, &sel, key, &vals, &err) < 0) {
		sv_req_error(r, 500, err.buf);
		goto out;
	}
	strbuf_addstr(&r->body, "{\"key\":");
	json_strz(&r->body, key);
	strbuf_addstr(&r->body, ",\"values\":[");
	for (size_t i = 0; i < vals.n; i++) {
		if (i)
			strbuf_addch(&r->body, ',');
		json_strz(&r->body, vals.v[i]);
	}
	strbuf_addstr(&r->body, "]}\n");
	ok_json(r);
out:
	kst_strlist_release(&vals);
	sv_sel_release(&sel);
	strbuf_release(&err);
}

/* GET /api/top?from&to&where&value&n: the function table as `kiln report --json --no-findings`. */
static void api_top(struct sv_source *src, struct sv_req *r)
{
	struct kp_profile p;
	long n;
	if (select_profile(src, r, "", &p) < 0 || parse_count(r, "n", 100, 100000, &n) < 0)
		goto out;
	int v = p.nvalues ? pick_value(r, &p) : -1;
	if (v < 0 && p.nvalues)
		goto out;
	if (!p.nvalues) { /* nothing selected: an empty table of samples */
		kp_add_value_type(&p, "samples", "count");
		v = 0;
	}
	struct kr_opts o;
	memset(&o, 0, sizeof(o));
	o.value = (uint32_t)v;
	o.count_value = kp_find_value_type(&p, "samples");
	o.top = (unsigned)n;
	o.source = src->name;
	o.no_findings = 1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		sv_req_error(r, 500, "out of memory");
		goto out;
	}
	int rc = kr_print_json(&p, &o, 0, f);
	if (fclose(f) || rc < 0) {
		sv_req_error(r, 500, "cannot write the table");
		free(buf);
		goto out;
	}
	strbuf_add(&r->body, buf, len);
	free(buf);
	ok_json(r);
out:
	kp_profile_release(&p);
}

static void render_opts(struct sv_req *r, struct kf_opts *o)
{
	kf_opts_init(o);
	const char *inv = r->arg(r->ctx, "inverted");
	o->inverted = inv && !strcmp(inv, "1");
	o->max_size = 4u << 20;
}

/* Draws t into the answer; an empty selection is a 404 saying so. */
static void answer_svg(struct sv_req *r, struct kf_tree *t, const struct kf_opts *o)
{
	if (!(kf_tree_total(t, 0) > 0)) {
		sv_req_error(r, 404, "no samples in the selection");
		return;
	}
	int quiet = kiln_set_quiet(1);
	int rc = kf_render_svg(t, o, &r->body, NULL);
	kiln_set_quiet(quiet);
	if (rc < 0) {
		sv_req_error(r, 500, "nothing to draw in the selection");
		return;
	}
	r->status = 200;
	r->ctype = "image/svg+xml";
}

static const char *countname(const struct kp_profile *p, uint32_t v)
{
	const char *unit = kp_str_get(p, p->value_types[v].unit);
	const char *name = kp_str_get(p, p->value_types[v].name);
	if (*unit && strcmp(unit, "count"))
		return unit;
	return *name ? name : "samples";
}

/* GET /api/flame.svg?from&to&where&value&inverted */
static void api_flame(struct sv_source *src, struct sv_req *r)
{
	struct kp_profile p;
	struct strbuf desc = STRBUF_INIT;
	if (select_profile_desc(src, r, "", &p, &desc) < 0)
		goto out;
	if (!p.nvalues) {
		sv_req_error(r, 404, "no samples in the selection");
		goto out;
	}
	int v = pick_value(r, &p);
	if (v < 0)
		goto out;
	struct kf_opts o;
	render_opts(r, &o);
	o.title = "kiln serve";
	o.subtitle = desc.len ? desc.buf : NULL;
	o.countname = countname(&p, (uint32_t)v);
	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, (uint32_t)v, 0, 1.0);
	answer_svg(r, t, &o);
	kf_tree_free(t);
out:
	strbuf_release(&desc);
	kp_profile_release(&p);
}

/* The two selections of a comparison: a.* (before) and b.* (after). */
struct cmp {
	struct kp_profile a, b;
	int va, vb;
	double scale; /* applied to a's counts: 1, or b's total / a's with normalize */
	struct strbuf desc; /* "a: ...; b: ..." */
};

static int load_cmp(struct sv_source *src, struct sv_req *r, struct cmp *c)
{
	struct strbuf da = STRBUF_INIT, db = STRBUF_INIT;
	c->va = c->vb = -1;
	strbuf_init(&c->desc, 0);
	if (select_profile_desc(src, r, "a.", &c->a, &da) < 0) {
		kp_profile_init(&c->b);
		strbuf_release(&da);
		return -1;
	}
	int rc = select_profile_desc(src, r, "b.", &c->b, &db);
	strbuf_addf(&c->desc, "a: %s; b: %s", da.len ? da.buf : "all", db.len ? db.buf : "all");
	strbuf_release(&da);
	strbuf_release(&db);
	if (rc < 0)
		return -1;
	if (!c->a.nvalues || !c->b.nvalues) {
		sv_req_error(r, 404, c->a.nvalues ? "no samples in selection b (after)" : "no samples in selection a (before)");
		return -1;
	}
	if ((c->va = pick_value(r, &c->a)) < 0 || (c->vb = pick_value(r, &c->b)) < 0)
		return -1;
	if (strcmp(kp_str_get(&c->a, c->a.value_types[c->va].name), kp_str_get(&c->b, c->b.value_types[c->vb].name))) {
		sv_req_error(r, 400, "the two selections hold different values: pick one with value=NAME");
		return -1;
	}
	const char *norm = r->arg(r->ctx, "normalize");
	double ta = kp_total(&c->a, (uint32_t)c->va), tb = kp_total(&c->b, (uint32_t)c->vb);
	c->scale = (!norm || strcmp(norm, "0")) && ta > 0 ? tb / ta : 1;
	return 0;
}

static void release_cmp(struct cmp *c)
{
	kp_profile_release(&c->a);
	kp_profile_release(&c->b);
	strbuf_release(&c->desc);
}

/* GET /api/diff.svg?a.from&a.to&a.where&b.from&b.to&b.where&where&value&normalize */
static void api_diff_svg(struct sv_source *src, struct sv_req *r)
{
	struct cmp c;
	if (load_cmp(src, r, &c) == 0) {
		struct kf_opts o;
		render_opts(r, &o);
		o.diff = 1;
		o.title = "kiln serve: b against a";
		o.subtitle = c.desc.buf;
		o.countname = countname(&c.b, (uint32_t)c.vb);
		struct kf_tree *t = kf_tree_new(&o, 2);
		kf_tree_add(t, &c.b, (uint32_t)c.vb, 0, 1.0);
		kf_tree_add(t, &c.a, (uint32_t)c.va, 1, c.scale);
		answer_svg(r, t, &o);
		kf_tree_free(t);
	}
	release_cmp(&c);
}

/* GET /api/diff?...&n: the functions whose share changed most. */
static void api_diff(struct sv_source *src, struct sv_req *r)
{
	struct cmp c;
	long n;
	if (parse_count(r, "n", 50, 100000, &n) < 0) {
		return;
	}
	if (load_cmp(src, r, &c) == 0) {
		struct kd_side before = { &c.a, (uint32_t)c.va, NULL, NULL }, after = { &c.b, (uint32_t)c.vb, NULL, NULL };
		struct kd_table t;
		kd_table_build(&before, &after, &t);
		struct strbuf *b = &r->body;
		strbuf_addstr(b, "{\"format\":\"kiln-serve-diff\",\"version\":1,\"value\":");
		json_strz(b, kp_str_get(&c.b, c.b.value_types[c.vb].name));
		strbuf_addstr(b, ",\"total_a\":");
		json_num(b, t.total_before);
		strbuf_addstr(b, ",\"total_b\":");
		json_num(b, t.total_after);
		strbuf_addstr(b, ",\"functions\":[");
		for (size_t i = 0; i < t.nrows && i < (size_t)n; i++) {
			const struct kd_row *row = &t.rows[i];
			strbuf_addstr(b, i ? ",\n{\"name\":" : "\n{\"name\":");
			json_strz(b, row->name);
			strbuf_addstr(b, ",\"module\":");
			json_strz(b, row->module ? row->module : "");
			strbuf_addstr(b, ",\"kind\":");
			json_strz(b, row->kind ? row->kind : "");
			strbuf_addf(b, ",\"self_a\":%.4f,\"self_b\":%.4f,\"total_a\":%.4f,\"total_b\":%.4f}",
				    row->self_before, row->self_after, row->total_before, row->total_after);
		}
		strbuf_addf(b, "],\"more_functions\":%zu}\n", t.nrows > (size_t)n ? t.nrows - (size_t)n : 0);
		kd_table_release(&t);
		ok_json(r);
	}
	release_cmp(&c);
}

/* GET /api/series?key=service&from&to&where&step=SECONDS */
static void api_series(struct sv_source *src, struct sv_req *r)
{
	const char *key = r->arg(r->ctx, "key");
	struct sv_sel sel = SV_SEL_INIT;
	struct strbuf err = STRBUF_INIT;
	struct kst_series s;
	memset(&s, 0, sizeof(s));
	if (!key)
		key = "service";
	if (check_key(r, key) < 0)
		goto out;
	if (sv_sel_parse(r, "", &sel, &err) < 0 || sv_source_check_sel(src, &sel, &err) < 0) {
		sv_req_error(r, 400, err.buf);
		goto out;
	}
	if (src->is_file) {
		sv_req_error(r, 400, "a profile file has no time series: CPU over time needs a store");
		goto out;
	}
	uint64_t first, last;
	if (sv_source_range(src, &first, &last, &err) < 0) {
		sv_req_error(r, 500, err.buf);
		goto out;
	}
	if (sel.from_ns < first)
		sel.from_ns = first;
	if (sel.to_ns > last)
		sel.to_ns = last;
	uint64_t span = sel.to_ns > sel.from_ns ? sel.to_ns - sel.from_ns : 0;
	uint64_t step = 0;
	const char *sv = r->arg(r->ctx, "step");
	if (sv) {
		long secs;
		if (kiln_parse_long(sv, 1, 86400 * 366, &secs) < 0) {
			sv_req_error(r, 400, "'step' wants whole seconds from 1 to 31622400");
			goto out;
		}
		step = (uint64_t)secs * 1000000000ull;
	} else { /* about 100 steps of whole seconds */
		step = (span / 100 + 999999999ull) / 1000000000ull * 1000000000ull;
		if (!step)
			step = 1000000000ull;
	}
	if (span / step >= MAX_STEPS) {
		sv_req_error(r, 400, "too many steps: pick a larger step or a shorter range (at most 2000 steps)");
		goto out;
	}
	if (span && sv_source_series(src, &sel, key, step, &s, &err) < 0) {
		sv_req_error(r, 500, err.buf);
		goto out;
	}
	struct strbuf *b = &r->body;
	strbuf_addstr(b, "{\"format\":\"kiln-serve-series\",\"version\":1,\"key\":");
	json_strz(b, key);
	strbuf_addf(b, ",\"from_ns\":%" PRIu64 ",\"step_ns\":%" PRIu64 ",\"nsteps\":%" PRIu32 ",\"groups\":[",
		    span ? s.from_ns : sel.from_ns, span ? s.step_ns : step, s.nsteps);
	for (uint32_t g = 0; g < s.ngroups; g++) {
		strbuf_addstr(b, g ? ",\n{\"name\":" : "\n{\"name\":");
		json_strz(b, s.groups[g]);
		strbuf_addstr(b, ",\"samples\":[");
		for (uint32_t k = 0; k < s.nsteps; k++) {
			if (k)
				strbuf_addch(b, ',');
			json_num(b, s.samples[(size_t)g * s.nsteps + k]);
		}
		strbuf_addstr(b, "]}");
	}
	strbuf_addstr(b, "]}\n");
	ok_json(r);
out:
	kst_series_release(&s);
	sv_sel_release(&sel);
	strbuf_release(&err);
}

static const struct {
	const char *path;
	sv_handler fn;
} routes[] = {
	{ "/api/info", api_info },
	{ "/api/labels", api_labels },
	{ "/api/top", api_top },
	{ "/api/flame.svg", api_flame },
	{ "/api/diff.svg", api_diff_svg },
	{ "/api/diff", api_diff },
	{ "/api/series", api_series },
};

sv_handler sv_api_find(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(routes[i].path, path))
			return routes[i].fn;
	return NULL;
}
