/* chrome.c: the .cpuprofile format of Chrome DevTools and node --cpu-prof, to and from
 * the profile model.
 *
 *   {"nodes":[{"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"",
 *              "lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2,...]}, ...],
 *    "startTime":T0,"endTime":T1,"samples":[node id, ...],"timeDeltas":[us, ...]}
 *
 * Times are microseconds; lineNumber and columnNumber are 0-based. The format holds one
 * thread and one sample count: writing merges threads in time order and writes a sample
 * of count n as n samples. */
#include "formats/formats.h"
#include "formats/idmap.h"
#include "formats/jsonw.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
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
	/* children lists (CSR) and hit counts per stack node */
	uint32_t *nchild = xcalloc(p->nstacks + 1, sizeof(*nchild));
	uint32_t *child = xmalloc((p->nstacks ? p->nstacks : 1) * sizeof(*child));
	double *hits = xcalloc(p->nstacks, sizeof(*hits));
	for (kp_stack_t s = 1; s < p->nstacks; s++)
		nchild[p->stacks[s].parent + 1]++;
	for (uint32_t s = 0; s < p->nstacks; s++)
		nchild[s + 1] += nchild[s];
	uint32_t *fill = xmalloc((p->nstacks ? p->nstacks : 1) * sizeof(*fill));
	memcpy(fill, nchild, p->nstacks * sizeof(*fill));
	for (kp_stack_t s = 1; s < p->nstacks; s++)
		child[fill[p->stacks[s].parent]++] = s;
	free(fill);
	for (size_t i = 0; i < n; i++)
		hits[p->sample_stack[i]] += kp_sample_value(p, i, (uint32_t)v);

	const char *freq = kp_meta_get(p, "frequency");
	double interval_us = freq && atof(freq) > 0 ? 1e6 / atof(freq) : 1000;
	double t0 = n ? (double)p->sample_time[order[0]] / 1000 : 0;

	jsonw_init(&j, out);
	jsonw_raw(&j, "{\"nodes\":[");
	for (kp_stack_t s = 0; s < p->nstacks; s++) {
		if (s)
			jsonw_ch(&j, ',');
		jsonw_raw(&j, "{\"id\":");
		jsonw_u64(&j, (uint64_t)s + 1);
		jsonw_raw(&j, ",\"callFrame\":{\"functionName\":");
		if (!s) {
			jsonw_raw(&j, "\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1");
		} else {
			const struct kp_frame *fr = &p->frames[p->stacks[s].frame];
			strbuf_reset(&sb);
			kp_frame_folded_name(p, p->stacks[s].frame, 1, &sb);
			jsonw_str(&j, sb.buf, sb.len);
			jsonw_raw(&j, ",\"scriptId\":\"0\",\"url\":");
			jsonw_strz(&j, kp_str_get(p, fr->file ? fr->file : fr->module));
			jsonw_raw(&j, ",\"lineNumber\":");
			jsonw_i64(&j, (int64_t)fr->line - 1);
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
		uint64_t c = (uint64_t)kp_sample_value(p, i, (uint32_t)v);
		for (uint64_t k = 0; k < c; k++) {
			if (!first)
				jsonw_ch(&j, ',');
			first = 0;
			jsonw_u64(&j, (uint64_t)p->sample_stack[i] + 1);
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
		uint64_t c = (uint64_t)kp_sample_value(p, i, (uint32_t)v);
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
	strbuf_release(&sb);
	return jsonw_finish(&j);
}

/* ---- reading ---- */

static int cbad(const char *name, const char *fmt, ...) KILN_PRINTF(2, 3);
static int cbad(const char *name, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	kiln_error("'%s' is not a valid .cpuprofile: %s", name, sb.buf);
	strbuf_release(&sb);
	return -1;
}

int kf_chrome_from(struct kp_profile *p, json_t *root, const char *name)
{
	json_t *nodes = json_object_get(root, "nodes"), *samples = json_object_get(root, "samples");
	json_t *deltas = json_object_get(root, "timeDeltas");
	struct idmap ids;
	size_t nn;
	uint32_t *parent = NULL, *queue = NULL;
	kp_stack_t *stack = NULL;
	int rc = -1;
	memset(&ids, 0, sizeof(ids));
	if (!json_is_array(nodes) || !json_is_array(samples))
		return cbad(name, "it needs nodes and samples lists");
	if (deltas && (!json_is_array(deltas) || json_array_size(deltas) != json_array_size(samples)))
		return cbad(name, "it has %zu samples but %zu time deltas", json_array_size(samples),
			    json_array_size(deltas));
	nn = json_array_size(nodes);
	if (nn >= UINT32_MAX)
		return cbad(name, "too many nodes");
	for (size_t i = 0; i < nn; i++) {
		json_t *id = json_object_get(json_array_get(nodes, i), "id");
		if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
		    idmap_put(&ids, (uint64_t)json_integer_value(id), (uint32_t)i))
			goto bad_id;
	}
	/* parents from children lists (or from "parent" fields) */
	parent = xmalloc((nn ? nn : 1) * sizeof(*parent));
	memset(parent, 0xff, (nn ? nn : 1) * sizeof(*parent));
	for (size_t i = 0; i < nn; i++) {
		json_t *nd = json_array_get(nodes, i), *ch = json_object_get(nd, "children");
		json_t *par = json_object_get(nd, "parent");
		uint32_t ci;
		for (size_t k = 0; json_is_array(ch) && k < json_array_size(ch); k++) {
			json_t *c = json_array_get(ch, k);
			if (!json_is_integer(c) || !idmap_get(&ids, (uint64_t)json_integer_value(c), &ci)) {
				cbad(name, "node %zu has a child that is not a node", i + 1);
				goto out;
			}
			if (parent[ci] != UINT32_MAX && parent[ci] != i) {
				cbad(name, "a node has two parents");
				goto out;
			}
			parent[ci] = (uint32_t)i;
		}
		if (json_is_integer(par)) {
			if (!idmap_get(&ids, (uint64_t)json_integer_value(par), &ci)) {
				cbad(name, "node %zu has a parent that is not a node", i + 1);
				goto out;
			}
			parent[i] = ci;
		}
	}
	/* stacks, parents first: breadth first from the roots (no recursion) */
	stack = xmalloc((nn ? nn : 1) * sizeof(*stack));
	queue = xmalloc((nn ? nn : 1) * sizeof(*queue));
	uint32_t *first_child = xmalloc((nn ? nn : 1) * sizeof(*first_child));
	uint32_t *next = xmalloc((nn ? nn : 1) * sizeof(*next));
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
		json_t *cf = json_object_get(json_array_get(nodes, i), "callFrame");
		const char *fn = json_string_value(json_object_get(cf, "functionName"));
		const char *url = json_string_value(json_object_get(cf, "url"));
		json_int_t line = json_integer_value(json_object_get(cf, "lineNumber"));
		if (!json_is_object(cf) || !fn) {
			free(first_child);
			free(next);
			cbad(name, "node %u has no callFrame with a functionName", i + 1);
			goto out;
		}
		kp_stack_t base = parent[i] == UINT32_MAX ? 0 : stack[parent[i]];
		if (parent[i] == UINT32_MAX && !strcmp(fn, "(root)")) {
			stack[i] = 0;
		} else {
			const char *nm = *fn ? fn : "(anonymous)";
			kp_str_t file = url && *url ? kp_strz(p, url) : 0;
			uint32_t ln = line >= 0 && line < UINT32_MAX ? (uint32_t)line + 1 : 0;
			stack[i] = kp_stack_push(p, base, kf_frame_from_name(p, nm, strlen(nm), file, ln, file));
		}
		for (uint32_t c = first_child[i]; c != UINT32_MAX; c = next[c])
			queue[qn++] = c;
	}
	free(first_child);
	free(next);
	if (qn != nn) {
		cbad(name, "its nodes form a cycle");
		goto out;
	}
	kp_add_value_type(p, "samples", "count");
	uint32_t thread = kp_add_thread(p, -1, -1, "main");
	double t = json_number_value(json_object_get(root, "startTime")), t0 = t;
	double one = 1;
	for (size_t i = 0; i < json_array_size(samples); i++) {
		json_t *s = json_array_get(samples, i);
		uint32_t ni;
		if (!json_is_integer(s) || !idmap_get(&ids, (uint64_t)json_integer_value(s), &ni)) {
			cbad(name, "sample %zu refers to no node", i + 1);
			goto out;
		}
		if (deltas) {
			json_t *d = json_array_get(deltas, i);
			if (!json_is_number(d)) {
				cbad(name, "time delta %zu is not a number", i + 1);
				goto out;
			}
			t += json_number_value(d);
		}
		double rel = (t - t0) * 1000;
		kp_add_sample(p, stack[ni], thread, rel > 0 ? (uint64_t)rel : 0, &one);
	}
	kp_meta_set(p, "source_format", "chrome");
	kp_meta_set(p, "kind", "cpu");
	rc = 0;
	goto out;
bad_id:
	cbad(name, "a node has a missing, repeated or non-positive id");
out:
	idmap_free(&ids);
	free(parent);
	free(queue);
	free(stack);
	return rc;
}

int kf_chrome_read(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, 0, &err);
	int rc;
	if (!root)
		return kiln_error("'%s' is not valid JSON: %s at line %d", name, err.text, err.line);
	rc = kf_chrome_from(p, root, name);
	json_decref(root);
	return rc;
}
