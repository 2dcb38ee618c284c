/* store_pyroscope.c: the Pyroscope sink of store.h (pyroscope://HOST:PORT), a sink only.
 * Each window goes to Pyroscope's ingest endpoint as pprof, one request per label set:
 *
 *   POST /ingest?name=SERVICE.cpu{k=v,...}&from=UNIX_S&until=UNIX_S&format=pprof&sampleRate=HZ
 *   Content-Type: multipart/form-data, the gzipped pprof in the field "profile"
 *
 * A label set is a process's labels (kst_window_labels) without pid, so the processes of
 * one service on one host share a series; SERVICE is the service label, else the process
 * name. docs/store-clickhouse.md (its Pyroscope section) says what is sent and why. */
#include "store/store.h"
#include "store/store_url.h"
#include "util/parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "profile/profile.h"
#include "util/netlibs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define PY_SENT_MAX 4096

struct pyro {
	CURL *curl;
	char *hostport, *url;
	long connect_ms, total_ms;
	uint64_t *sent; /* (window, label set) hashes sent: a retried window skips them */
	size_t nsent;
	char curl_err[CURL_ERROR_SIZE];
};

static int match_pyroscope(const char *spec)
{
	return !strncmp(spec, "pyroscope://", 12);
}

/* pyroscope://HOST[:PORT][/][?timeout=S&connect_timeout=S] */
static int parse_spec(struct pyro *c, const char *spec, struct strbuf *err)
{
	struct kst_url u;
	if (kst_url_parse(spec, "pyroscope://", 4040, 30000, &u) == 0) {
		if (!u.path_len) {
			c->hostport = u.hostport;
			c->connect_ms = u.connect_ms;
			c->total_ms = u.total_ms;
			c->url = xasprintf("http://%s/ingest", c->hostport);
			return 0;
		}
		free(u.hostport);
	}
	strbuf_addf(err, "'%s' is not a pyroscope URL: use pyroscope://HOST:PORT "
		    "(optionally ?timeout=SECONDS&connect_timeout=SECONDS)", spec);
	return -1;
}

static void py_close(void *h)
{
	struct pyro *c = h;
	if (!c)
		return;
	if (c->curl)
		dl_curl_easy_cleanup(c->curl);
	free(c->hostport);
	free(c->url);
	free(c->sent);
	free(c);
}

static void *py_open(const char *spec, int mode, struct strbuf *err)
{
	struct pyro *c = xcalloc(1, sizeof(*c));
	if (parse_spec(c, spec, err))
		goto fail;
	c->curl = kst_http_open(c->connect_ms, c->total_ms, c->curl_err, err);
	if (!c->curl)
		goto fail;
	return c;
fail:
	py_close(c);
	return NULL;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct strbuf *sb = arg;
	size_t n = size * nmemb;
	if (sb->len < 4096) /* only the start of an answer is shown */
		strbuf_add(sb, ptr, n < 4096 ? n : 4096);
	return n;
}

/* Pyroscope's name syntax: APP{k=v,...}; characters that would end a part become '_'. */
static void add_name_part(struct strbuf *sb, const char *s, int is_app)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int ok = isalnum(ch) || ch == '_' || ch == '-' || ch == '.' || (!is_app && ch >= 0x80) ||
			 (!is_app && ch > ' ' && ch < 0x7f && !strchr(",{}=\"", ch));
		strbuf_addch(sb, ok ? (char)ch : '_');
	}
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	h ^= 0xff;
	h *= 0x100000001b3ull;
	return h;
}

static int sent_has(const struct pyro *c, uint64_t h)
{
	for (size_t k = 0; k < c->nsent; k++)
		if (c->sent[k] == h)
			return 1;
	return 0;
}

/* One label set's samples as their own profile (frames, stacks and threads copied). */
struct sub {
	struct kp_profile p;
	kp_frame_t *fmap; /* window frame -> sub frame, 0 = not yet */
	kp_stack_t *smap; /* window stack -> sub stack, 0 = not yet (root maps to root) */
};

static kp_stack_t sub_stack(struct sub *s, const struct kp_profile *w, kp_stack_t st, kp_frame_t *path,
			    uint32_t max)
{
	if (!st || s->smap[st])
		return s->smap[st];
	uint32_t depth = kp_stack_frames(w, st, path, max);
	if (depth > max)
		depth = max;
	for (uint32_t d = 0; d < depth; d++) {
		kp_frame_t f = path[d];
		if (!s->fmap[f]) {
			struct kp_frame fr = w->frames[f];
			fr.name = kp_strz(&s->p, kp_str_get(w, fr.name));
			fr.module = kp_strz(&s->p, kp_str_get(w, fr.module));
			fr.file = kp_strz(&s->p, kp_str_get(w, fr.file));
			s->fmap[f] = kp_frame(&s->p, &fr);
		}
		path[d] = s->fmap[f];
	}
	return s->smap[st] = kp_stack_from_frames(&s->p, path, depth);
}

static int post(struct pyro *c, const char *query, const void *pb, size_t pblen, struct strbuf *err)
{
	struct strbuf url = STRBUF_INIT, ans = STRBUF_INIT;
	strbuf_addf(&url, "%s?%s", c->url, query);
	curl_mime *mime = dl_curl_mime_init(c->curl);
	curl_mimepart *part = dl_curl_mime_addpart(mime);
	dl_curl_mime_name(part, "profile");
	dl_curl_mime_filename(part, "profile.pprof");
	dl_curl_mime_type(part, "application/octet-stream");
	dl_curl_mime_data(part, pb, pblen);
	c->curl_err[0] = '\0';
	dl_curl_easy_setopt(c->curl, CURLOPT_URL, url.buf);
	dl_curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
	dl_curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	dl_curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &ans);
	CURLcode cc = dl_curl_easy_perform(c->curl);
	int rc = -1;
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		strbuf_addf(err, "pyroscope at '%s' did not answer within %ld s", c->hostport, c->total_ms / 1000);
	} else if (cc != CURLE_OK) {
		strbuf_addf(err, "cannot reach pyroscope at '%s': %s", c->hostport,
			    c->curl_err[0] ? c->curl_err : dl_curl_easy_strerror(cc));
	} else {
		long status = 0;
		dl_curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			rc = 0;
		} else {
			size_t n = strcspn(ans.buf, "\n");
			if (n > 200)
				n = 200;
			strbuf_addf(err, "pyroscope at '%s' answered HTTP %ld: ", c->hostport, status);
			size_t st = err->len;
			strbuf_add(err, ans.buf, n);
			if (!n)
				strbuf_addstr(err, "(no message)");
			for (size_t k = st; k < err->len; k++)
				if ((unsigned char)err->buf[k] < 0x20 || (unsigned char)err->buf[k] == 0x7f)
					err->buf[k] = '?';
		}
	}
	dl_curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, NULL);
	dl_curl_mime_free(mime);
	strbuf_release(&url);
	strbuf_release(&ans);
	return rc;
}

static int py_write(void *hp, const struct kp_profile *w, struct strbuf *err)
{
	struct pyro *c = hp;
	uint64_t start, end;
	if (kst_window_range(w, &start, &end, err))
		return -1;
	if (!w->nvalues) {
		strbuf_addstr(err, "the window has no values to send");
		return -1;
	}
	/* each sample's group: the label set without pid, as text */
	uint32_t nt = w->nthreads ? w->nthreads : 1;
	uint32_t *tgroup = xcalloc(nt, sizeof(*tgroup)); /* thread -> group + 1 */
	char **gkey = NULL;
	uint32_t ng = 0;
	struct kst_labels l = KST_LABELS_INIT;
	struct strbuf sb = STRBUF_INIT, q = STRBUF_INIT;
	int rc = 0;
	for (uint32_t t = 0; t < nt; t++) {
		int32_t pid = t < w->nthreads ? w->threads[t].pid : -1;
		kst_window_labels(w, pid, &l);
		const char *comm = kst_labels_get(&l, "comm");
		if (!comm && t && t < w->nthreads) {
			kst_labels_set(&l, "comm", kp_str_get(w, w->threads[t].comm));
			comm = kst_labels_get(&l, "comm");
		}
		const char *svc = kst_labels_get(&l, "service");
		strbuf_reset(&sb);
		add_name_part(&sb, svc && *svc ? svc : comm && *comm ? comm : "kiln", 1);
		strbuf_addstr(&sb, ".cpu{");
		int first = 1;
		for (uint32_t k = 0; k < l.n; k++) {
			if (!strcmp(l.v[k].key, "pid"))
				continue;
			if (!first)
				strbuf_addch(&sb, ',');
			add_name_part(&sb, l.v[k].key, 1);
			strbuf_addch(&sb, '=');
			add_name_part(&sb, l.v[k].value, 0);
			first = 0;
		}
		strbuf_addch(&sb, '}');
		uint32_t g;
		for (g = 0; g < ng; g++)
			if (!strcmp(gkey[g], sb.buf))
				break;
		if (g == ng) {
			gkey = xreallocarray(gkey, ng + 1, sizeof(*gkey));
			gkey[ng++] = xstrdup(sb.buf);
		}
		tgroup[t] = g;
	}
	const char *freq = kp_meta_get(w, "frequency");
	long rate = 0;
	if (!freq || kiln_parse_long(freq, 1, 1000000, &rate) < 0)
		rate = 100;
	uint64_t wh = fnv(fnv(0xcbf29ce484222325ull, kp_meta_get(w, KST_META_HOST) ? kp_meta_get(w, KST_META_HOST) : ""),
			  kp_meta_get(w, KST_META_LABELS) ? kp_meta_get(w, KST_META_LABELS) : "");
	wh ^= start * 0x9e3779b97f4a7c15ull ^ end;
	kp_frame_t path[4096];
	for (uint32_t g = 0; g < ng && !rc; g++) {
		uint64_t gh = fnv(wh, gkey[g]);
		if (sent_has(c, gh))
			continue; /* sent before this window failed part-way: not again */
		struct sub s;
		kp_profile_init(&s.p);
		s.fmap = xcalloc(w->nframes + 1, sizeof(*s.fmap));
		s.smap = xcalloc(w->nstacks, sizeof(*s.smap));
		for (uint32_t v = 0; v < w->nvalues; v++)
			kp_add_value_type(&s.p, kp_str_get(w, w->value_types[v].name), kp_str_get(w, w->value_types[v].unit));
		s.p.default_value = w->default_value;
		if (freq)
			kp_meta_set(&s.p, "frequency", freq);
		uint32_t *tmap = xcalloc(nt, sizeof(*tmap));
		for (size_t i = 0; i < w->nsamples; i++) {
			uint32_t t = w->sample_thread[i] < nt ? w->sample_thread[i] : 0;
			if (tgroup[t] != g)
				continue;
			if (t && !tmap[t])
				tmap[t] = kp_add_thread(&s.p, w->threads[t].pid, w->threads[t].tid,
							kp_str_get(w, w->threads[t].comm));
			kp_add_sample(&s.p, sub_stack(&s, w, w->sample_stack[i], path, 4096), tmap[t],
				      w->sample_time[i], &w->sample_values[i * w->nvalues]);
		}
		free(tmap);
		char *pb = NULL;
		size_t pblen = 0;
		FILE *mem = open_memstream(&pb, &pblen);
		struct kf_write_opts o = { "window", -1, 0, 1 };
		int wr = mem ? kf_pprof_write(&s.p, &o, mem) : -1;
		if (mem && fclose(mem))
			wr = -1;
		if (wr) {
			strbuf_addf(err, "cannot turn the window into pprof for pyroscope at '%s'", c->hostport);
			rc = -1;
		} else if (s.p.nsamples) {
			char *name = dl_curl_easy_escape(c->curl, gkey[g], 0);
			strbuf_reset(&q);
			strbuf_addf(&q, "name=%s&from=%" PRIu64 "&until=%" PRIu64 "&format=pprof&sampleRate=%ld",
				    name ? name : "kiln", (uint64_t)(start / 1000000000u), (uint64_t)((end + 999999999u) / 1000000000u),
				    rate);
			dl_curl_free(name);
			rc = post(c, q.buf, pb, pblen, err);
			if (!rc) {
				if (c->nsent == PY_SENT_MAX)
					c->nsent = 0;
				c->sent = xreallocarray(c->sent, c->nsent + 1, sizeof(*c->sent));
				c->sent[c->nsent++] = gh;
			}
		}
		free(pb);
		free(s.fmap);
		free(s.smap);
		kp_profile_release(&s.p);
	}
	for (uint32_t g = 0; g < ng; g++)
		free(gkey[g]);
	free(gkey);
	free(tgroup);
	kst_labels_release(&l);
	strbuf_release(&sb);
	strbuf_release(&q);
	return rc;
}

const struct kst_backend kst_backend_pyroscope = {
	.name = "pyroscope",
	.match = match_pyroscope,
	.open = py_open,
	.write = py_write,
	.close = py_close,
};
