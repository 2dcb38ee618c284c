/* fuzz_serve.c: kiln serve's endpoints with arbitrary request arguments. The input is
 * "PATH\nNAME=VALUE&NAME=VALUE..." (as libmicrohttpd hands them over, decoded); the
 * request goes to the endpoint of PATH over a profile file source and over a test store
 * that answers every query with the same windows. Also: the input as a --listen address. */
#include "fuzz.h"
#include "serve/serve.h"
#include "serve/serve_int.h"
#include "util/xalloc.h"

#define MAX_ARGS 64

struct args {
	char *name[MAX_ARGS], *value[MAX_ARGS];
	size_t n;
};

static const char *arg1(void *ctx, const char *name)
{
	struct args *a = ctx;
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->name[i], name))
			return a->value[i];
	return NULL;
}

static size_t argn(void *ctx, const char *name, const char **out, size_t max)
{
	struct args *a = ctx;
	size_t n = 0;
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->name[i], name)) {
			if (n < max)
				out[n] = a->value[i];
			n++;
		}
	return n < max ? n : max;
}

static void sample_profile(struct kp_profile *p)
{
	kp_profile_init(p);
	kp_add_value_type(p, "samples", "count");
	kp_add_value_type(p, "cpu_ns", "nanoseconds");
	kp_frame_t fm = kp_frame_named(p, "main", 4, 0), ff = kp_frame_named(p, "f", 1, 0);
	kp_frame_t fk = kp_frame_named(p, "sys", 3, KP_FRAME_KERNEL);
	kp_frame_t s1[] = { fm, ff }, s2[] = { fm, ff, fk };
	uint32_t ta = kp_add_thread(p, 1, 1, "a"), tb = kp_add_thread(p, 2, 2, "b");
	double v[2] = { 1, 1000 };
	kp_add_sample(p, kp_stack_from_frames(p, s1, 2), ta, 0, v);
	kp_add_sample(p, kp_stack_from_frames(p, s2, 3), tb, 1, v);
	kp_add_sample(p, kp_stack_from_frames(p, s1, 1), tb, 2, v);
}

static int fq(void *h, const struct kst_query *q, struct kp_profile *out, struct strbuf *err)
{
	struct kp_profile p;
	sample_profile(&p);
	kp_profile_release(out);
	const char *c = kst_labels_get(&q->where, "comm");
	uint8_t keep[3] = { !c || !strcmp(c, "a"), !c || !strcmp(c, "b"), !c || !strcmp(c, "b") };
	sv_profile_subset(&p, keep, out);
	kp_profile_release(&p);
	return 0;
}

static int fs(void *h, const struct kst_query *q, const char *key, uint64_t step, struct kst_series *out,
	      struct strbuf *err)
{
	out->from_ns = q->from_ns;
	out->step_ns = step;
	out->nsteps = 1;
	out->ngroups = 1;
	out->groups = xcalloc(1, sizeof(char *));
	out->groups[0] = xstrdup("x\"\n\x01");
	out->samples = xcalloc(1, sizeof(double));
	return 0;
}

static int fv(void *h, const struct kst_query *q, const char *key, struct kst_strlist *out, struct strbuf *err)
{
	out->v = xcalloc(1, sizeof(char *));
	out->v[0] = xstrdup(key);
	out->n = 1;
	return 0;
}

static int fr(void *h, uint64_t *a, uint64_t *b, struct strbuf *err)
{
	*a = 1000000000000000000ull;
	*b = *a + 3600000000000ull;
	return 0;
}

static void fc(void *h)
{
}

static const struct kst_backend fake = { "fuzz", NULL, NULL, NULL, fq, fs, fv, fr, fc };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sv_source file, store;
	static int ready;
	if (!ready) {
		kiln_set_quiet(2);
		sample_profile(&file.prof);
		file.is_file = 1;
		file.name = xstrdup("fuzz.prof");
		store.st.be = &fake;
		store.name = xstrdup("fuzz-store");
		ready = 1;
	}
	char *text = xstrndup((const char *)data, size); /* stops at a NUL, as C strings do */
	struct strbuf err = STRBUF_INIT;
	struct ksv_listen l;
	ksv_parse_listen(text, &l, &err);
	strbuf_release(&err);

	char *nl = strchr(text, '\n');
	const char *path = text;
	struct args a = { { NULL }, { NULL }, 0 };
	if (nl) {
		*nl = '\0';
		for (char *p = nl + 1; *p && a.n < MAX_ARGS;) {
			size_t len = strcspn(p, "&");
			char *next = p + len + (p[len] == '&');
			p[len] = '\0';
			char *eq = strchr(p, '=');
			if (eq)
				*eq = '\0';
			a.name[a.n] = p;
			a.value[a.n] = eq ? eq + 1 : NULL; /* "name" without "=": no value */
			a.n++;
			p = next;
		}
	}
	sv_handler h = sv_api_find(path);
	if (!h)
		h = sv_api_find("/api/top");
	for (int k = 0; k < 2; k++) {
		struct sv_req r;
		memset(&r, 0, sizeof(r));
		r.path = path;
		r.arg = arg1;
		r.args = argn;
		r.ctx = &a;
		r.now_ns = 1000000000000000000ull + 1800000000000ull;
		strbuf_init(&r.body, 0);
		h(k ? &store : &file, &r);
		if (r.status < 200 || r.status > 599 || !r.body.len)
			abort();
		strbuf_release(&r.body);
	}
	free(text);
	return 0;
}
