/* test_serve.c: kiln serve's parts without HTTP: listen addresses, selections from request
 * arguments, profile subsets, a file source's labels, and the endpoints over a test
 * backend (a struct kst whose functions answer from memory). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "profile/profile.h"
#include "serve/serve.h"
#include "serve/serve_int.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void test_listen(void **state)
{
	(void)state;
	struct ksv_listen l;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(ksv_parse_listen(NULL, &l, &err), 0);
	assert_true(l.loopback);
	assert_int_equal(ntohs(((struct sockaddr_in *)&l.addr)->sin_port), KSV_DEFAULT_PORT);
	assert_int_equal(ksv_parse_listen("9000", &l, &err), 0); /* a port alone stays on loopback */
	assert_true(l.loopback);
	assert_int_equal(ntohs(((struct sockaddr_in *)&l.addr)->sin_port), 9000);
	assert_int_equal(ksv_parse_listen("localhost:0", &l, &err), 0);
	assert_true(l.loopback);
	assert_int_equal(ksv_parse_listen("127.1.2.3:80", &l, &err), 0);
	assert_true(l.loopback);
	assert_int_equal(ksv_parse_listen("[::1]:8080", &l, &err), 0);
	assert_true(l.loopback);
	assert_int_equal(l.addr.ss_family, AF_INET6);
	assert_int_equal(ksv_parse_listen("0.0.0.0:8080", &l, &err), 0);
	assert_false(l.loopback);
	assert_int_equal(ksv_parse_listen("[::]:8080", &l, &err), 0);
	assert_false(l.loopback);
	assert_int_equal(ksv_parse_listen("192.168.1.2:1", &l, &err), 0);
	assert_false(l.loopback);
	static const char *const bad[] = { "", ":", ":80", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "host.example:80",
					   "[::1]", "[::1]80", "::1:80", "1.2.3.4:80x", "99999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strbuf_reset(&err);
		assert_int_equal(ksv_parse_listen(bad[i], &l, &err), -1);
		assert_non_null(strstr(err.buf, "not an address"));
	}
	strbuf_release(&err);
}

/* ---- requests from a table of arguments ---- */

struct fake_args {
	const char *const *kv; /* name, value, name, value, ..., NULL */
};

static const char *fake_arg(void *ctx, const char *name)
{
	const struct fake_args *a = ctx;
	for (size_t i = 0; a->kv[i]; i += 2)
		if (!strcmp(a->kv[i], name))
			return a->kv[i + 1];
	return NULL;
}

static size_t fake_args_all(void *ctx, const char *name, const char **out, size_t max)
{
	const struct fake_args *a = ctx;
	size_t n = 0;
	for (size_t i = 0; a->kv[i]; i += 2)
		if (!strcmp(a->kv[i], name)) {
			if (n < max)
				out[n] = a->kv[i + 1];
			n++;
		}
	return n < max ? n : max;
}

static void req_init(struct sv_req *r, struct fake_args *a, const char *const *kv)
{
	memset(r, 0, sizeof(*r));
	a->kv = kv;
	r->arg = fake_arg;
	r->args = fake_args_all;
	r->ctx = a;
	r->now_ns = 2000000000000000000ull;
	strbuf_init(&r->body, 0);
}

static void test_selection(void **state)
{
	(void)state;
	struct sv_req r;
	struct fake_args a;
	struct strbuf err = STRBUF_INIT;
	struct sv_sel sel = SV_SEL_INIT;
	const char *const ok[] = { "from", "1765000000", "to", "now", "where", "service=api", "a.where", "host=x",
				   "where", "comm=w", NULL };
	req_init(&r, &a, ok);
	assert_int_equal(sv_sel_parse(&r, "", &sel, &err), 0);
	assert_int_equal(sel.from_ns, 1765000000000000000ull);
	assert_int_equal(sel.to_ns, r.now_ns);
	assert_true(sel.has_range);
	assert_int_equal(sel.where.n, 2);
	assert_string_equal(kst_labels_get(&sel.where, "service"), "api");
	sv_sel_release(&sel);
	/* a prefixed selection takes its own where and the shared one */
	struct sv_sel sa = SV_SEL_INIT;
	assert_int_equal(sv_sel_parse(&r, "a.", &sa, &err), 0);
	assert_false(sa.has_range);
	assert_int_equal(sa.where.n, 3);
	assert_string_equal(kst_labels_get(&sa.where, "host"), "x");
	sv_sel_release(&sa);
	strbuf_release(&r.body);

	const char *const *const bad[] = {
		(const char *const[]){ "from", "yesterday", NULL },
		(const char *const[]){ "to", "2026-13-45", NULL },
		(const char *const[]){ "from", "", NULL },
		(const char *const[]){ "from", "now", "to", "now-1h", NULL }, /* empty range */
		(const char *const[]){ "where", "nokey", NULL },
		(const char *const[]){ "where", "9x=1", NULL },
		(const char *const[]){ "where", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sv_sel s = SV_SEL_INIT;
		strbuf_reset(&err);
		req_init(&r, &a, bad[i]);
		assert_int_equal(sv_sel_parse(&r, "", &s, &err), -1);
		assert_true(err.len > 0);
		sv_sel_release(&s);
		strbuf_release(&r.body);
	}
	strbuf_release(&err);
}

/* a profile with two processes: "a" (pid 1) main;f 3 samples, "b" (pid 2) main;g 1 */
static void two_procs(struct kp_profile *p)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_add_value_type(p, "cpu_ns", "nanoseconds");
	kp_frame_t fm = kp_frame_named(p, "main", 4, 0), ff = kp_frame_named(p, "f", 1, 0), fg = kp_frame_named(p, "g", 1, 0);
	kp_frame_t sf[] = { fm, ff }, sg[] = { fm, fg };
	kp_stack_t s1 = kp_stack_from_frames(p, sf, 2), s2 = kp_stack_from_frames(p, sg, 2);
	uint32_t ta = kp_add_thread(p, 1, 1, "a"), tb = kp_add_thread(p, 2, 2, "b");
	double v[2] = { 1, 1000 };
	for (int i = 0; i < 3; i++)
		kp_add_sample(p, s1, ta, (uint64_t)i, v);
	kp_add_sample(p, s2, tb, 5, v);
	kp_meta_set(p, "kind", "cpu");
}

static void test_subset(void **state)
{
	(void)state;
	struct kp_profile p, q, all;
	two_procs(&p);
	uint8_t keep[4] = { 1, 0, 1, 1 };
	sv_profile_subset(&p, keep, &q);
	assert_int_equal(q.nsamples, 3);
	assert_int_equal(q.nvalues, 2);
	assert_true(kp_total(&q, 1) == 3000);
	assert_string_equal(kp_meta_get(&q, "kind"), "cpu");
	assert_int_equal(q.nthreads, 3); /* none, a, b */
	/* the stacks keep their frames */
	kp_frame_t fr[4];
	assert_int_equal(kp_stack_frames(&q, q.sample_stack[2], fr, 4), 2);
	assert_string_equal(kp_str_get(&q, q.frames[fr[0]].name), "main");
	assert_string_equal(kp_str_get(&q, q.frames[fr[1]].name), "g");
	assert_string_equal(kp_str_get(&q, q.threads[q.sample_thread[2]].comm), "b");
	sv_profile_subset(&p, NULL, &all);
	assert_int_equal(all.nsamples, 4);
	assert_true(kp_total(&all, 0) == 4);
	kp_profile_release(&all);
	kp_profile_release(&q);
	kp_profile_release(&p);
}

static void test_file_source(void **state)
{
	(void)state;
	struct sv_source s;
	memset(&s, 0, sizeof(s));
	two_procs(&s.prof);
	s.is_file = 1;
	s.name = xstrdup("t.prof");
	struct strbuf err = STRBUF_INIT;
	struct kst_strlist l;
	assert_int_equal(sv_source_label_keys(&s, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "comm");
	kst_strlist_release(&l);
	struct sv_sel sel = SV_SEL_INIT;
	assert_int_equal(sv_source_label_values(&s, &sel, "comm", &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "a");
	assert_string_equal(l.v[1], "b");
	kst_strlist_release(&l);
	kst_labels_set(&sel.where, "pid", "2");
	assert_int_equal(sv_source_label_values(&s, &sel, "comm", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "b");
	kst_strlist_release(&l);
	struct kp_profile q;
	assert_int_equal(sv_source_query(&s, &sel, &q, &err), 0);
	assert_int_equal(q.nsamples, 1);
	kp_profile_release(&q);
	/* a file has no time range and no other labels */
	sel.has_range = 1;
	assert_int_equal(sv_source_query(&s, &sel, &q, &err), -1);
	assert_non_null(strstr(err.buf, "no time range"));
	kp_profile_release(&q);
	sel.has_range = 0;
	kst_labels_set(&sel.where, "service", "x");
	strbuf_reset(&err);
	assert_int_equal(sv_source_check_sel(&s, &sel, &err), -1);
	assert_non_null(strstr(err.buf, "'service'"));
	sv_sel_release(&sel);
	struct kst_series ser;
	assert_int_equal(sv_source_series(&s, &sel, "comm", 1000000000ull, &ser, &err), -1);
	strbuf_release(&err);
	sv_source_close(&s);
}

/* ---- a test backend: two windows, services api (pid 1) and db (pid 2) ---- */

struct fake_store {
	int queries;
	uint64_t last_from, last_to;
	char last_where[64];
};

static int fake_query(void *h, const struct kst_query *q, struct kp_profile *out, struct strbuf *err)
{
	struct fake_store *fs = h;
	fs->queries++;
	fs->last_from = q->from_ns;
	fs->last_to = q->to_ns;
	const char *svc = kst_labels_get(&q->where, "service");
	snprintf(fs->last_where, sizeof(fs->last_where), "%s", svc ? svc : "");
	struct kp_profile p;
	two_procs(&p);
	uint8_t keep[4];
	for (int i = 0; i < 4; i++)
		keep[i] = !svc || !strcmp(svc, i < 3 ? "api" : "db");
	kp_profile_release(out);
	sv_profile_subset(&p, keep, out);
	kp_profile_release(&p);
	return 0;
}

static int fake_series(void *h, const struct kst_query *q, const char *key, uint64_t step, struct kst_series *out,
		       struct strbuf *err)
{
	out->from_ns = q->from_ns;
	out->step_ns = step;
	out->nsteps = 2;
	out->ngroups = 2;
	out->groups = xcalloc(2, sizeof(char *));
	out->groups[0] = xstrdup("api");
	out->groups[1] = xstrdup("db");
	out->samples = xcalloc(4, sizeof(double));
	out->samples[0] = 3;
	out->samples[3] = 1;
	return 0;
}

static int fake_values(void *h, const struct kst_query *q, const char *key, struct kst_strlist *out,
		       struct strbuf *err)
{
	if (strcmp(key, "service"))
		return 0;
	out->v = xcalloc(2, sizeof(char *));
	out->v[0] = xstrdup("api");
	out->v[1] = xstrdup("db");
	out->n = 2;
	return 0;
}

static int fake_range(void *h, uint64_t *a, uint64_t *b, struct strbuf *err)
{
	*a = 1000000000000000000ull;
	*b = *a + 20000000000ull;
	return 0;
}

static void fake_close(void *h)
{
}

static const struct kst_backend fake_be = {
	"fake", NULL, NULL, NULL, fake_query, fake_series, fake_values, fake_range, fake_close,
};

static void call(struct sv_source *s, const char *path, const char *const *kv, struct sv_req *r)
{
	static struct fake_args a;
	req_init(r, &a, kv);
	r->path = path;
	sv_handler h = sv_api_find(path);
	assert_non_null(h);
	h(s, r);
}

static void test_api_store(void **state)
{
	(void)state;
	struct fake_store fs;
	memset(&fs, 0, sizeof(fs));
	struct sv_source s;
	memset(&s, 0, sizeof(s));
	s.st.be = &fake_be;
	s.st.h = &fs;
	s.name = xstrdup("fake");
	struct sv_req r;

	call(&s, "/api/info", (const char *const[]){ NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.buf, "\"mode\":\"store\""));
	assert_non_null(strstr(r.body.buf, "\"label_keys\":[\"service\"]"));
	assert_non_null(strstr(r.body.buf, "\"first_ns\":1000000000000000000,"));
	strbuf_release(&r.body);

	call(&s, "/api/top", (const char *const[]){ "where", "service=api", "from", "@5", "to", "@9", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(fs.last_from, 5);
	assert_int_equal(fs.last_to, 9);
	assert_string_equal(fs.last_where, "api");
	assert_non_null(strstr(r.body.buf, "\"total\":3,"));
	assert_non_null(strstr(r.body.buf, "\"name\":\"f\""));
	assert_null(strstr(r.body.buf, "\"name\":\"g\""));
	strbuf_release(&r.body);

	call(&s, "/api/top", (const char *const[]){ "value", "cpu_ns", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.buf, "\"total\":4000,"));
	strbuf_release(&r.body);

	const char *const *const bad[] = {
		(const char *const[]){ "from", "tomorrow", NULL },
		(const char *const[]){ "where", "x", NULL },
		(const char *const[]){ "value", "bytes", NULL },
		(const char *const[]){ "n", "0", NULL },
		(const char *const[]){ "n", "lots", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int before = fs.queries;
		call(&s, "/api/top", bad[i], &r);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(r.body.buf, "{\"error\":\""));
		if (i < 2)
			assert_int_equal(fs.queries, before); /* refused before the store is asked */
		strbuf_release(&r.body);
	}

	call(&s, "/api/flame.svg", (const char *const[]){ "where", "service=db", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "image/svg+xml");
	assert_non_null(strstr(r.body.buf, "<svg"));
	assert_non_null(strstr(r.body.buf, ">g ("));
	strbuf_release(&r.body);

	call(&s, "/api/series", (const char *const[]){ "key", "service", "step", "10", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.buf, "\"step_ns\":10000000000,\"nsteps\":2"));
	assert_non_null(strstr(r.body.buf, "{\"name\":\"api\",\"samples\":[3,0]}"));
	strbuf_release(&r.body);
	call(&s, "/api/series", (const char *const[]){ "step", "0", NULL }, &r);
	assert_int_equal(r.status, 400);
	strbuf_release(&r.body);
	call(&s, "/api/series", (const char *const[]){ "key", "a b", NULL }, &r);
	assert_int_equal(r.status, 400);
	strbuf_release(&r.body);

	call(&s, "/api/labels", (const char *const[]){ "key", "service", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.buf, "{\"key\":\"service\",\"values\":[\"api\",\"db\"]}\n");
	strbuf_release(&r.body);
	call(&s, "/api/labels", (const char *const[]){ NULL }, &r);
	assert_int_equal(r.status, 400);
	strbuf_release(&r.body);

	/* compare api (a) with db (b): f went from 100% to 0, g from 0 to 100% */
	call(&s, "/api/diff", (const char *const[]){ "a.where", "service=api", "b.where", "service=db", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.buf, "\"total_a\":3,\"total_b\":1,"));
	assert_non_null(strstr(r.body.buf, "{\"name\":\"f\",\"module\":\"\",\"kind\":\"\",\"self_a\":100.0000,\"self_b\":0.0000"));
	strbuf_release(&r.body);
	call(&s, "/api/diff.svg", (const char *const[]){ "a.where", "service=api", "b.where", "service=db", NULL }, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.buf, "<svg"));
	strbuf_release(&r.body);
	call(&s, "/api/diff", (const char *const[]){ "a.from", "x", NULL }, &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.buf, "a.from"));
	strbuf_release(&r.body);
	/* an empty side */
	call(&s, "/api/diff.svg", (const char *const[]){ "b.where", "service=none", NULL }, &r);
	assert_int_equal(r.status, 404);
	strbuf_release(&r.body);

	assert_null(sv_api_find("/api/nope"));
	assert_null(sv_api_find("/api/top/"));
	free(s.name);
}

static void test_assets(void **state)
{
	(void)state;
	int page = 0, js = 0;
	for (size_t i = 0; i < sv_nassets; i++) {
		assert_true(sv_assets[i].path[0] == '/');
		assert_null(strstr(sv_assets[i].path, ".."));
		page |= !strcmp(sv_assets[i].path, "/index.html") && strstr(sv_assets[i].data, "<iframe id=\"flame\"");
		js |= !strcmp(sv_assets[i].path, "/app.js") && strstr(sv_assets[i].data, "/api/flame.svg");
	}
	assert_true(page && js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_subset),
		cmocka_unit_test(test_file_source),
		cmocka_unit_test(test_api_store),
		cmocka_unit_test(test_assets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
