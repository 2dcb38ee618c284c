/* chrome.c: the .cpuprofile format of Chrome DevTools and node --cpu-prof, to and from
 * the profile model.
 *
 *   {"nodes":[{"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"",
 *              "lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2,...]}, ...],
 *    "startTime":T0,"endTime":T1,"samples":[node id, ...],"timeDeltas":[us, ...]}
 *
 * Times are microseconds; lineNumber and columnNumber are 0-based. The format holds one
 * thread and one sample count: writing merges threads in time order and writes a sample
 * of count n as n samples. A callFrame is a function (DevTools groups nodes by name, url
 * and start line), so the stacks that differ only in the lines of their frames are one
 * node. */
#include "formats/formats.h"
#include "util/u64map.h"
#include "formats/jsonw.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "formats/jsonr.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_time(const void *a, const void *b, void *arg)
{
	const struct kp_profile *p = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (p->sample_time[i] != p->sample_time[j])
		return p->sample_time[i] < p->sample_time[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

int kf_chrome_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out)
{
	struct jsonw j;
	struct strbuf sb = STRBUF_INIT;
	int v = kf_pick_count_value(p, o, "chrome's .cpuprofile", 1);
	if (v < 0)
		return -2;
	if (p->nthreads > 2)
		kiln_note("chrome's .cpuprofile holds one thread: the samples of %u threads are merged in time order",
			  p->nthreads - 1);
	size_t n = p->nsamples;
	size_t *order = xmalloc((n ? n : 1) * sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_time, (void *)p);
	/* nodes: paths of functions; node[s] for each stack (a parent's id is below its
	 * children's, so one pass in id order) */
	struct kf_funcs fx;
	struct u64map nm = { 0 };
	kf_funcs_build(p, &fx);
	size_t ns = p->nstacks ? p->nstacks : 1;
	uint32_t *node = xcalloc(ns, sizeof(*node));
	uint32_t *nparent = xcalloc(ns, sizeof(*nparent));
	uint32_t *nfunc = xcalloc(ns, sizeof(*nfunc));
	uint32_t nnodes = 1;
	for (kp_stack_t s = 1; s < p->nstacks; s++) {
		uint32_t par = node[p->stacks[s].parent], f = fx.func[p->stacks[s].frame];
		int found;
		uint32_t *id = u64map_slot(&nm, ((uint64_t)par << 32 | f) + 1, &found);
		if (!found) {
			*id = nnodes++;
			nparent[*id] = par;
			nfunc[*id] = f;
		}
		node[s] = *id;
	}
	u64map_release(&nm);
	/* children lists (CSR) and hit counts per node */
	uint32_t *nchild = xcalloc((size_t)nnodes + 1, sizeof(*nchild));
	uint32_t *child = xmalloc(nnodes * sizeof(*child));
	double *hits = xcalloc(nnodes, sizeof(*hits));
	for (uint32_t s = 1; s < nnodes; s++)
		nchild[nparent[s] + 1]++;
	for (uint32_t s = 0; s < nnodes; s++)
		nchild[s + 1] += nchild[s];
	uint32_t *fill = xmalloc(nnodes * sizeof(*fill));
	memcpy(fill, nchild, nnodes * sizeof(*fill));
	for (uint32_t s = 1; s < nnodes; s++)
		child[fill[nparent[s]]++] = s;
	free(fill);
	for (size_t i = 0; i < n; i++)
		hits[node[p->sample_stack[i]]] += kp_sample_value(p, i, (uint32_t)v);

	const char *freq = kp_meta_get(p, "frequency");
	double interval_us = freq && atof(freq) > 0 ? 1e6 / atof(freq) : 1000;
	double t0 = n ? (double)p->sample_time[order[0]] / 1000 : 0;

	jsonw_init(&j, out);
	jsonw_raw(&j, "{\"nodes\":[");
	for (uint32_t s = 0; s < nnodes; s++) {
		if (s)
			jsonw_ch(&j, ',');
		jsonw_raw(&j, "{\"id\":");
		jsonw_u64(&j, (uint64_t)s + 1);
		jsonw_raw(&j, ",\"callFrame\":{\"functionName\":");
		if (!s) {
			jsonw_raw(&j, "\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1");
		} else {
			kp_frame_t f = fx.rep[nfunc[s]];
			const struct kp_frame *fr = &p->frames[f];
			strbuf_reset(&sb);
			kp_frame_folded_name(p, f, 1, &sb);
			jsonw_str(&j, sb.buf, sb.len);
			jsonw_raw(&j, ",\"scriptId\":\"0\",\"url\":");
			jsonw_strz(&j, kp_str_get(p, fr->file ? fr->file : fr->module));
			jsonw_raw(&j, ",\"lineNumber\":");
			jsonw_i64(&j, (int64_t)fx.line[nfunc[s]] - 1);
			jsonw_raw(&j, ",\"columnNumber\":-1");
		}
		jsonw_raw(&j, "},\"hitCount\":");
		jsonw_num(&j, hits[s]);
		jsonw_raw(&j, ",\"children\":[");
		for (uint32_t c = nchild[s]; c < nchild[s + 1]; c++) {
			if (c > nchild[s])
				jsonw_ch(&j, ',');
			jsonw_u64(&j, (uint64_t)child[c] + 1);
		}
		jsonw_raw(&j, "]}");
		jsonw_maybe_flush(&j);
	}
	jsonw_raw(&j, "],\"startTime\":");
	jsonw_num(&j, floor(t0));
	/* samples: a count of c is c samples, interval apart */
	double cur = floor(t0), prev = floor(t0);
	jsonw_raw(&j, ",\"samples\":[");
	int first = 1;
	for (size_t x = 0; x < n; x++) {
		size_t i = order[x];
		uint64_t c = jsonr_u64_clamp(kp_sample_value(p, i, (uint32_t)v));
		for (uint64_t k = 0; k < c; k++) {
			if (!first)
				jsonw_ch(&j, ',');
			first = 0;
			jsonw_u64(&j, (uint64_t)node[p->sample_stack[i]] + 1);
			jsonw_maybe_flush(&j);
		}
	}
	jsonw_raw(&j, "],\"timeDeltas\":[");
	/* each sample at its time (its copies interval apart), never going back; a profile
	 * without times (aggregated input) gets one sample every interval */
	int has_times = n && p->sample_time[order[n - 1]] > 0;
	uint64_t seq = 0;
	first = 1;
	for (size_t x = 0; x < n; x++) {
		size_t i = order[x];
		uint64_t c = jsonr_u64_clamp(kp_sample_value(p, i, (uint32_t)v));
		double t = floor((double)p->sample_time[i] / 1000);
		for (uint64_t k = 0; k < c; k++, seq++) {
			double at = has_times ? floor(t + (double)k * interval_us) : floor(t0 + (double)seq * interval_us);
			if (at < prev)
				at = prev;
			if (!first)
				jsonw_ch(&j, ',');
			first = 0;
			jsonw_num(&j, at - prev);
			prev = cur = at;
			jsonw_maybe_flush(&j);
		}
	}
	jsonw_raw(&j, "],\"endTime\":");
	jsonw_num(&j, floor(cur + interval_us));
	jsonw_raw(&j, "}\n");
	free(order);
	free(nchild);
	free(child);
	free(hits);
	free(node);
	free(nparent);
	free(nfunc);
	kf_funcs_free(&fx);
	strbuf_release(&sb);
	return jsonw_finish(&j);
}

/* ---- reading ---- */

#define cbad(name, ...) kf_invalid(name, ".cpuprofile", __VA_ARGS__)

struct cnodes {
	uint64_t *id;
	kp_frame_t *frame;     /* 0 for "(root)" nodes without a parent */
	uint64_t *parent_id;   /* from a "parent" field, 0 if none */
	size_t n, alloc;
	/* (parent node index, child id) from "children" lists */
	uint32_t *cp;
	uint64_t *cid;
	size_t nc, calloc_;
};

/* One node object (r at its '{'). */
static int read_node(struct kp_profile *p, struct cnodes *c, struct jsonr *r, const char *name,
		     struct strbuf *fn, struct strbuf *url)
{
	const char *key;
	size_t klen;
	double id = -1, parent = 0, line = -1;
	int kk, has_cf = 0;
	size_t me = c->n;
	strbuf_reset(fn);
	strbuf_reset(url);
	if (jsonr_enter_object(r) != 1)
		return r->err ? kf_json_invalid(name, r) : cbad(name, "node %zu is not an object", me + 1);
	while ((kk = jsonr_next_key(r, &key, &klen)) == 1) {
		if (jsonr_key_is(key, klen, "id")) {
			kk = jsonr_number(r, &id);
		} else if (jsonr_key_is(key, klen, "parent") && jsonr_peek(r) == JSONR_NUMBER) {
			kk = jsonr_number(r, &parent);
		} else if (jsonr_key_is(key, klen, "callFrame") && jsonr_enter_object(r) == 1) {
			int k2;
			has_cf = 1;
			while ((k2 = jsonr_next_key(r, &key, &klen)) == 1) {
				if (jsonr_key_is(key, klen, "functionName") && jsonr_peek(r) == JSONR_STRING) {
					k2 = jsonr_string(r, fn);
					has_cf = 2;
				} else if (jsonr_key_is(key, klen, "url") && jsonr_peek(r) == JSONR_STRING) {
					k2 = jsonr_string(r, url);
				} else if (jsonr_key_is(key, klen, "lineNumber") && jsonr_peek(r) == JSONR_NUMBER) {
					k2 = jsonr_number(r, &line);
				} else {
					k2 = jsonr_skip(r);
				}
				if (k2 < 0)
					return kf_json_invalid(name, r);
			}
			if (k2 < 0)
				return kf_json_invalid(name, r);
		} else if (jsonr_key_is(key, klen, "children") && jsonr_enter_array(r) == 1) {
			int k2;
			while ((k2 = jsonr_next_elem(r)) == 1) {
				double ch;
				if (jsonr_number(r, &ch) < 0 || !jsonr_is_id(ch))
					return r->err && strcmp(r->err, "a number was expected") ? kf_json_invalid(name, r) :
						cbad(name, "node %zu has a child that is not a node id", me + 1);
				ALLOC_GROW(c->cp, c->nc + 1, c->calloc_);
				c->cid = xreallocarray(c->cid, c->calloc_, sizeof(*c->cid));
				c->cp[c->nc] = (uint32_t)me;
				c->cid[c->nc++] = (uint64_t)ch;
			}
			kk = k2;
		} else {
			kk = jsonr_skip(r);
		}
		if (kk < 0)
			return r->err && strcmp(r->err, "a number was expected") ? kf_json_invalid(name, r) :
				cbad(name, "node %zu has a field of the wrong type", me + 1);
	}
	if (kk < 0)
		return kf_json_invalid(name, r);
	if (!jsonr_is_id(id))
		return cbad(name, "a node has a missing, repeated or non-positive id");
	if (has_cf != 2)
		return cbad(name, "node %zu has no callFrame with a functionName", me + 1);
	ALLOC_GROW(c->id, c->n + 1, c->alloc);
	c->frame = xreallocarray(c->frame, c->alloc, sizeof(*c->frame));
	c->parent_id = xreallocarray(c->parent_id, c->alloc, sizeof(*c->parent_id));
	c->id[me] = (uint64_t)id;
	c->parent_id[me] = jsonr_is_id(parent) ? (uint64_t)parent : 0;
	if (!strcmp(fn->buf, "(root)")) {
		c->frame[me] = 0;
	} else {
		const char *nm = fn->len ? fn->buf : "(anonymous)";
		kp_str_t file = url->len ? kp_str(p, url->buf, url->len) : 0;
		uint32_t ln = line >= 0 && line < UINT32_MAX ? (uint32_t)line + 1 : 0;
		c->frame[me] = kf_frame_from_name(p, nm, strlen(nm), file, ln, file);
	}
	c->n++;
	return 0;
}

int kf_chrome_read_checked(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	struct jsonr r, cn = { 0 }, cs = { 0 }, cd = { 0 };
	struct cnodes c;
	struct u64map ids;
	struct strbuf fn = STRBUF_INIT, url = STRBUF_INIT;
	uint32_t *parent = NULL, *queue = NULL, *first_child = NULL, *next = NULL;
	kp_stack_t *stack = NULL;
	const char *key;
	size_t klen;
	int k, rc = -1, has_n = 0, has_s = 0, has_d = 0;
	double start = 0;
	memset(&c, 0, sizeof(c));
	memset(&ids, 0, sizeof(ids));
	/* one pass: what is read is checked as it is read, what is skipped by jsonr_skip */
	jsonr_init(&r, json, len);
	if (jsonr_enter_object(&r) != 1)
		return cbad(name, "it is not a JSON object");
	while ((k = jsonr_next_key(&r, &key, &klen)) == 1) {
		struct jsonr *cur = jsonr_key_is(key, klen, "nodes") ? (has_n = 1, &cn) :
				    jsonr_key_is(key, klen, "samples") ? (has_s = 1, &cs) :
				    jsonr_key_is(key, klen, "timeDeltas") ? (has_d = 1, &cd) : NULL;
		if (cur)
			*cur = r;
		if (jsonr_key_is(key, klen, "startTime") && jsonr_peek(&r) == JSONR_NUMBER) {
			if (jsonr_number(&r, &start) < 0)
				break;
		} else if (jsonr_skip(&r) < 0) {
			break;
		}
	}
	if (k < 0 || r.err) {
		kf_json_invalid(name, &r);
		goto out;
	}
	if (jsonr_peek(&r) != JSONR_END) {
		cbad(name, "text after the JSON document");
		goto out;
	}
	if (!has_n || !has_s || jsonr_enter_array(&cn) != 1 || jsonr_peek(&cs) != JSONR_ARRAY) {
		cbad(name, "it needs nodes and samples lists");
		goto out;
	}
	while ((k = jsonr_next_elem(&cn)) == 1) {
		if (c.n >= UINT32_MAX - 1) {
			cbad(name, "too many nodes");
			goto out;
		}
		if (read_node(p, &c, &cn, name, &fn, &url) < 0)
			goto out;
	}
	if (k < 0) {
		kf_json_invalid(name, &cn);
		goto out;
	}
	size_t nn = c.n;
	for (size_t i = 0; i < nn; i++)
		if (u64map_put(&ids, c.id[i], (uint32_t)i)) {
			cbad(name, "a node has a missing, repeated or non-positive id");
			goto out;
		}
	/* parents from children lists (or from "parent" fields) */
	parent = xmalloc((nn ? nn : 1) * sizeof(*parent));
	memset(parent, 0xff, (nn ? nn : 1) * sizeof(*parent));
	for (size_t j = 0; j < c.nc; j++) {
		uint32_t ci;
		if (!u64map_get(&ids, c.cid[j], &ci)) {
			cbad(name, "node %u has a child that is not a node", c.cp[j] + 1);
			goto out;
		}
		if (parent[ci] != UINT32_MAX && parent[ci] != c.cp[j]) {
			cbad(name, "a node has two parents");
			goto out;
		}
		parent[ci] = c.cp[j];
	}
	for (size_t i = 0; i < nn; i++) {
		uint32_t pi;
		if (!c.parent_id[i])
			continue;
		if (!u64map_get(&ids, c.parent_id[i], &pi)) {
			cbad(name, "node %zu has a parent that is not a node", i + 1);
			goto out;
		}
		if (parent[i] != UINT32_MAX && parent[i] != pi) {
			cbad(name, "a node has two parents");
			goto out;
		}
		parent[i] = pi;
	}
	/* stacks, parents first: breadth first from the roots (no recursion) */
	stack = xmalloc((nn ? nn : 1) * sizeof(*stack));
	queue = xmalloc((nn ? nn : 1) * sizeof(*queue));
	first_child = xmalloc((nn ? nn : 1) * sizeof(*first_child));
	next = xmalloc((nn ? nn : 1) * sizeof(*next));
	memset(first_child, 0xff, (nn ? nn : 1) * sizeof(*first_child));
	size_t qn = 0;
	for (size_t i = nn; i-- > 0;) {
		if (parent[i] == UINT32_MAX) {
			queue[qn++] = (uint32_t)i;
		} else {
			next[i] = first_child[parent[i]];
			first_child[parent[i]] = (uint32_t)i;
		}
	}
	for (size_t q = 0; q < qn; q++) {
		uint32_t i = queue[q];
		kp_stack_t base = parent[i] == UINT32_MAX ? 0 : stack[parent[i]];
		stack[i] = c.frame[i] ? kp_stack_push(p, base, c.frame[i]) : base;
		for (uint32_t ch = first_child[i]; ch != UINT32_MAX; ch = next[ch])
			queue[qn++] = ch;
	}
	if (qn != nn) {
		cbad(name, "its nodes form a cycle");
		goto out;
	}
	kp_add_value_type(p, "samples", "count");
	uint32_t thread = kp_add_thread(p, -1, -1, "main");
	double t = start, one = 1;
	if (has_d && jsonr_enter_array(&cd) != 1) {
		cbad(name, "timeDeltas is not a list");
		goto out;
	}
	jsonr_enter_array(&cs);
	for (size_t i = 0;; i++) {
		int ks = jsonr_next_elem(&cs), kd = has_d ? jsonr_next_elem(&cd) : ks;
		double id, d = 0;
		uint32_t ni;
		if (ks < 0 || kd < 0) {
			kf_json_invalid(name, ks < 0 ? &cs : &cd);
			goto out;
		}
		if (ks != kd) {
			cbad(name, "it has %s samples than time deltas", ks ? "more" : "fewer");
			goto out;
		}
		if (!ks)
			break;
		if (jsonr_number(&cs, &id) < 0 || !jsonr_is_id(id) || !u64map_get(&ids, (uint64_t)id, &ni)) {
			cbad(name, "sample %zu refers to no node", i + 1);
			goto out;
		}
		if (has_d && jsonr_number(&cd, &d) < 0) {
			cbad(name, "time delta %zu is not a number", i + 1);
			goto out;
		}
		t += d;
		double rel = (t - start) * 1000;
		kp_add_sample(p, stack[ni], thread, jsonr_u64_clamp(rel), &one);
	}
	kp_meta_set(p, "source_format", "chrome");
	kp_meta_set(p, "kind", "cpu");
	rc = 0;
out:
	u64map_release(&ids);
	free(c.id);
	free(c.frame);
	free(c.parent_id);
	free(c.cp);
	free(c.cid);
	free(parent);
	free(queue);
	free(first_child);
	free(next);
	free(stack);
	strbuf_release(&fn);
	strbuf_release(&url);
	return rc;
}

int kf_chrome_read(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	struct jsonr r;
	jsonr_init(&r, json, len);
	if (jsonr_skip(&r) < 0 || jsonr_peek(&r) != JSONR_END) {
		if (!r.err)
			jsonr_fail(&r, "text after the JSON document");
		return kf_json_invalid(name, &r);
	}
	return kf_chrome_read_checked(p, json, len, name);
}
