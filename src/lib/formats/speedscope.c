/* speedscope.c: speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json)
 * to and from the profile model.
 *
 * Writing: every function goes to shared.frames (speedscope groups by frame entry, so the
 * frames of one function at different lines are one entry, as in kiln report); one "sampled"
 * profile per (value type, thread), named "THREAD: VALUE", its samples in time order with
 * their weights (samples whose value is 0 are left out). Reading: "sampled" and "evented"
 * profiles; a profile is a thread, its unit a value type (a name "THREAD: VALUE" as kiln
 * writes it gives both back). */
#include "formats/formats.h"
#include "formats/jsonw.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/u64map.h"
#include "formats/jsonr.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *unit_of(const char *kiln_unit)
{
	if (!strcmp(kiln_unit, "nanoseconds"))
		return "nanoseconds";
	if (!strcmp(kiln_unit, "bytes"))
		return "bytes";
	return "none";
}

/* Frame index lists of a stack ("a,b,c", root first), built once per stack. */
struct stack_text {
	struct strbuf text;
	uint64_t *off; /* off[s] = 1 + offset, 0 when not yet built */
	uint32_t *len;
	kp_frame_t *tmp;
	uint32_t tmp_alloc;
	const uint32_t *func; /* frame id -> index in shared.frames */
};

static void stack_text_get(struct stack_text *st, const struct kp_profile *p, kp_stack_t s,
			   const char **text, uint32_t *len)
{
	if (!st->off[s]) {
		uint32_t d = kp_stack_depth(p, s);
		if (d > st->tmp_alloc) {
			st->tmp = xreallocarray(st->tmp, d, sizeof(*st->tmp));
			st->tmp_alloc = d;
		}
		kp_stack_frames(p, s, st->tmp, d);
		size_t start = st->text.len;
		for (uint32_t i = 0; i < d; i++) {
			char buf[16];
			int n = snprintf(buf, sizeof(buf), "%s%u", i ? "," : "", st->func[st->tmp[i]]);
			strbuf_add(&st->text, buf, (size_t)n);
		}
		st->off[s] = start + 1;
		st->len[s] = (uint32_t)(st->text.len - start);
	}
	*len = st->len[s];
	/* an empty stack's text may be in no buffer yet (no arithmetic on a null pointer) */
	*text = *len ? st->text.buf + (st->off[s] - 1) : "";
}

int kf_speedscope_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out)
{
	struct jsonw j;
	struct stack_text st;
	struct kf_funcs fx;
	struct strbuf sb = STRBUF_INIT;
	size_t *order;
	int first = 1;
	if (!p->nvalues) {
		kiln_error("'%s' has no values to export", o->name);
		return -2;
	}
	order = kf_sample_order(p);
	memset(&st, 0, sizeof(st));
	st.off = xcalloc(p->nstacks, sizeof(*st.off));
	st.len = xcalloc(p->nstacks, sizeof(*st.len));
	kf_funcs_build(p, &fx);
	st.func = fx.func;
	jsonw_init(&j, out);
	jsonw_raw(&j, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"kiln " KILN_VERSION "\",\"name\":");
	jsonw_strz(&j, kf_basename(o->name));
	jsonw_raw(&j, ",\"activeProfileIndex\":0,\"shared\":{\"frames\":[");
	for (uint32_t k = 0; k < fx.nfuncs; k++) {
		kp_frame_t f = fx.rep[k];
		const struct kp_frame *fr = &p->frames[f];
		if (k)
			jsonw_ch(&j, ',');
		jsonw_raw(&j, "{\"name\":");
		strbuf_reset(&sb);
		kp_frame_folded_name(p, f, 1, &sb);
		jsonw_str(&j, sb.buf, sb.len);
		if (fr->file) {
			jsonw_raw(&j, ",\"file\":");
			jsonw_strz(&j, kp_str_get(p, fr->file));
		} else if (fr->module) {
			jsonw_raw(&j, ",\"file\":");
			jsonw_strz(&j, kp_str_get(p, fr->module));
		}
		if (fx.line[k]) {
			jsonw_raw(&j, ",\"line\":");
			jsonw_u64(&j, fx.line[k]);
		}
		jsonw_ch(&j, '}');
	}
	jsonw_raw(&j, "]},\"profiles\":[");
	/* the default value first, so speedscope opens on it */
	for (uint32_t k = 0; k < p->nvalues; k++) {
		uint32_t v = k == 0 ? p->default_value : (k <= p->default_value ? k - 1 : k);
		const char *vname = kp_str_get(p, p->value_types[v].name);
		const char *unit = unit_of(kp_str_get(p, p->value_types[v].unit));
		size_t i = 0;
		while (i < p->nsamples) {
			uint32_t t = p->sample_thread[order[i]];
			size_t end = i;
			double total = 0;
			uint64_t t0 = p->sample_time[order[i]];
			while (end < p->nsamples && p->sample_thread[order[end]] == t)
				total += kp_sample_value(p, order[end++], v);
			if (total == 0) {
				i = end;
				continue;
			}
			if (!first)
				jsonw_ch(&j, ',');
			first = 0;
			strbuf_reset(&sb);
			kf_thread_label(p, t, &sb);
			strbuf_addf(&sb, ": %s", vname);
			jsonw_raw(&j, "{\"type\":\"sampled\",\"name\":");
			jsonw_str(&j, sb.buf, sb.len);
			jsonw_raw(&j, ",\"unit\":\"");
			jsonw_raw(&j, unit);
			/* a time unit starts at the thread's first sample (ns from the profile's start) */
			double start = !strcmp(unit, "nanoseconds") ? (double)t0 : 0;
			jsonw_raw(&j, "\",\"startValue\":");
			jsonw_num(&j, start);
			jsonw_raw(&j, ",\"endValue\":");
			jsonw_num(&j, start + total);
			jsonw_raw(&j, ",\"samples\":[");
			int sfirst = 1;
			for (size_t x = i; x < end; x++) {
				size_t si = order[x];
				if (kp_sample_value(p, si, v) == 0)
					continue;
				const char *text;
				uint32_t len;
				stack_text_get(&st, p, p->sample_stack[si], &text, &len);
				if (!sfirst)
					jsonw_ch(&j, ',');
				sfirst = 0;
				jsonw_ch(&j, '[');
				strbuf_add(&j.sb, text, len);
				jsonw_ch(&j, ']');
				jsonw_maybe_flush(&j);
			}
			jsonw_raw(&j, "],\"weights\":[");
			sfirst = 1;
			for (size_t x = i; x < end; x++) {
				double w = kp_sample_value(p, order[x], v);
				if (w == 0)
					continue;
				if (!sfirst)
					jsonw_ch(&j, ',');
				sfirst = 0;
				jsonw_num(&j, w);
				jsonw_maybe_flush(&j);
			}
			jsonw_raw(&j, "]}");
			i = end;
		}
	}
	jsonw_raw(&j, "]}\n");
	free(order);
	free(st.off);
	free(st.len);
	free(st.tmp);
	kf_funcs_free(&fx);
	strbuf_release(&st.text);
	strbuf_release(&sb);
	return jsonw_finish(&j);
}

/* ---- reading ---- */

#define sbad(name, ...) kf_invalid(name, "speedscope file", __VA_ARGS__)


/* The value type for a profile: (name, unit, scale to kiln's unit). */
static int value_for(struct kp_profile *p, const char *unit, const char *vname, double *scale)
{
	const char *kname, *kunit;
	*scale = 1;
	if (!strcmp(unit, "nanoseconds") || !strcmp(unit, "microseconds") || !strcmp(unit, "milliseconds") ||
	    !strcmp(unit, "seconds")) {
		kname = "time_ns";
		kunit = "nanoseconds";
		*scale = !strcmp(unit, "nanoseconds") ? 1 : !strcmp(unit, "microseconds") ? 1e3 :
			 !strcmp(unit, "milliseconds") ? 1e6 : 1e9;
	} else if (!strcmp(unit, "bytes")) {
		kname = "bytes";
		kunit = "bytes";
	} else {
		kname = "samples";
		kunit = "count";
	}
	if (vname && *vname)
		kname = vname;
	int v = kp_find_value_type(p, kname);
	if (v < 0)
		v = kp_add_value_type(p, kname, kunit);
	return v;
}

/* Parses "LABEL (PID/TID)" or "LABEL (TID)" for the thread. */
static uint32_t thread_for(struct kp_profile *p, const char *label, size_t len)
{
	char *s = xstrndup(label, len);
	int pid = -1, tid = -1;
	char *paren = strrchr(s, '(');
	if (paren && paren > s && paren[-1] == ' ' && len && s[len - 1] == ')') {
		int a, b, n = 0;
		if (sscanf(paren, "(%d/%d)%n", &a, &b, &n) == 2 && paren[n] == '\0') {
			pid = a;
			tid = b;
			paren[-1] = '\0';
		} else if (sscanf(paren, "(%d)%n", &a, &n) == 1 && paren[n] == '\0') {
			pid = tid = a;
			paren[-1] = '\0';
		}
	}
	for (uint32_t t = 1; t < p->nthreads; t++)
		if (p->threads[t].pid == pid && p->threads[t].tid == tid && !strcmp(kp_str_get(p, p->threads[t].comm), s)) {
			free(s);
			return t;
		}
	uint32_t t = kp_add_thread(p, pid, tid, s);
	free(s);
	return t;
}

struct ss {
	struct kp_profile *p;
	const char *name;
	kp_frame_t *frames;
	size_t nframes, frames_alloc;
	/* stacks by the text of their frame list (many samples repeat one) */
	struct u64map by_text;
	const char **text;
	uint32_t *text_len;
	kp_stack_t *text_stack;
	size_t ntext, text_alloc;
	kp_frame_t *stack;
	size_t stack_alloc;
	/* the current profile's samples and weights, read in either order */
	kp_stack_t *st;
	size_t nst, st_alloc;
	double *w;
	size_t nw, w_alloc;
};

/* Reads one sample's frame list (r at its '['); *st gets the stack. A flat list of
 * numbers (the usual case) is found and hashed in one pass; a stack seen before (by its
 * text) is not parsed again. */
static int read_stack(struct ss *s, struct jsonr *r, size_t pi, size_t i, kp_stack_t *st)
{
	const char *start, *p;
	uint64_t key = 0xcbf29ce484222325ull;
	uint32_t ti;
	if (jsonr_peek(r) != JSONR_ARRAY)
		return sbad(s->name, "profile %zu, sample %zu is not a list of frame indexes", pi + 1, i + 1);
	start = p = r->p;
	for (p++; p < r->end && *p != ']'; p++) {
		if (*p == '[' || *p == '{' || *p == '"')
			return sbad(s->name, "profile %zu, sample %zu is not a list of frame indexes", pi + 1, i + 1);
		key = (key ^ (unsigned char)*p) * 0x100000001b3ull;
	}
	if (p >= r->end)
		return jsonr_fail(r, "the document ends early") < 0 ? kf_json_invalid(s->name, r) : -1;
	r->p = ++p;
	size_t len = (size_t)(p - start);
	key |= 1;
	while (u64map_get(&s->by_text, key, &ti)) {
		if (s->text_len[ti] == len && !memcmp(s->text[ti], start, len)) {
			*st = s->text_stack[ti];
			return 0;
		}
		key += 2;
	}
	struct jsonr one;
	jsonr_init(&one, start, len);
	if (jsonr_enter_array(&one) != 1)
		return sbad(s->name, "profile %zu, sample %zu is not a list of frame indexes", pi + 1, i + 1);
	size_t d = 0;
	int k;
	while ((k = jsonr_next_elem(&one)) == 1) {
		double x;
		if (jsonr_number(&one, &x) < 0 || x < 0 || x >= (double)s->nframes || x != (double)(size_t)x)
			return sbad(s->name, "profile %zu, sample %zu refers to frame %g of %zu", pi + 1, i + 1,
				    one.err ? -1.0 : x, s->nframes);
		ALLOC_GROW(s->stack, d + 1, s->stack_alloc);
		s->stack[d++] = s->frames[(size_t)x];
	}
	if (k < 0)
		return kf_json_invalid(s->name, &one);
	*st = kp_stack_from_frames(s->p, s->stack, d);
	ALLOC_GROW(s->text, s->ntext + 1, s->text_alloc);
	s->text_len = xreallocarray(s->text_len, s->text_alloc, sizeof(*s->text_len));
	s->text_stack = xreallocarray(s->text_stack, s->text_alloc, sizeof(*s->text_stack));
	s->text[s->ntext] = start;
	s->text_len[s->ntext] = (uint32_t)len;
	s->text_stack[s->ntext] = *st;
	u64map_put(&s->by_text, key, (uint32_t)s->ntext++);
	return 0;
}

/* Reads a profile's samples list into s->st (one stack each). */
static int read_samples(struct ss *s, struct jsonr *r, size_t pi)
{
	int k;
	s->nst = 0;
	if (jsonr_enter_array(r) != 1)
		return r->err ? kf_json_invalid(s->name, r) : sbad(s->name, "profile %zu: samples is not a list", pi + 1);
	while ((k = jsonr_next_elem(r)) == 1) {
		kp_stack_t st = 0;
		if (read_stack(s, r, pi, s->nst, &st) < 0)
			return -1;
		ALLOC_GROW(s->st, s->nst + 1, s->st_alloc);
		s->st[s->nst++] = st;
	}
	return k < 0 ? kf_json_invalid(s->name, r) : 0;
}

/* Reads a profile's weights list into s->w. */
static int read_weights(struct ss *s, struct jsonr *r, size_t pi)
{
	int k;
	s->nw = 0;
	if (jsonr_enter_array(r) != 1)
		return r->err ? kf_json_invalid(s->name, r) : sbad(s->name, "profile %zu: weights is not a list", pi + 1);
	while ((k = jsonr_next_elem(r)) == 1) {
		double w;
		if (jsonr_number(r, &w) < 0)
			return sbad(s->name, "profile %zu, weight %zu is not a number", pi + 1, s->nw + 1);
		ALLOC_GROW(s->w, s->nw + 1, s->w_alloc);
		s->w[s->nw++] = w;
	}
	return k < 0 ? kf_json_invalid(s->name, r) : 0;
}

static int add_sampled(struct ss *s, uint32_t v, double scale, double start, uint32_t thread, size_t pi)
{
	struct kp_profile *p = s->p;
	double vals[KP_MAX_VALUES], tm = start * scale;
	int timed = scale != 1 || !strcmp(kp_str_get(p, p->value_types[v].unit), "nanoseconds");
	if (s->nst != s->nw)
		return sbad(s->name, "profile %zu has %zu samples but %zu weights", pi + 1, s->nst, s->nw);
	memset(vals, 0, sizeof(vals));
	for (size_t i = 0; i < s->nst; i++) {
		vals[v] = s->w[i] * scale;
		kp_add_sample(p, s->st[i], thread, jsonr_u64_clamp(tm), vals);
		if (timed)
			tm += s->w[i] * scale;
	}
	return 0;
}

static int read_evented(struct ss *s, struct jsonr *ce, uint32_t v, double scale, double start,
			uint32_t thread, size_t pi)
{
	struct kp_profile *p = s->p;
	struct strbuf type = STRBUF_INIT;
	double vals[KP_MAX_VALUES], last = start;
	size_t depth = 0, i = 0;
	int k, rc = -1;
	if (jsonr_enter_array(ce) != 1)
		return sbad(s->name, "evented profile %zu has no events list", pi + 1);
	while ((k = jsonr_next_elem(ce)) == 1) {
		const char *key;
		size_t klen;
		double at = -1, fr = -1;
		int kk;
		strbuf_reset(&type);
		if (jsonr_enter_object(ce) != 1)
			goto bad_event;
		while ((kk = jsonr_next_key(ce, &key, &klen)) == 1) {
			if (jsonr_key_is(key, klen, "type")) {
				if (jsonr_string(ce, &type) < 0)
					goto bad_event;
			} else if (jsonr_key_is(key, klen, "at")) {
				if (jsonr_number(ce, &at) < 0)
					goto bad_event;
			} else if (jsonr_key_is(key, klen, "frame")) {
				if (jsonr_number(ce, &fr) < 0)
					goto bad_event;
			} else if (jsonr_skip(ce) < 0) {
				goto bad_json;
			}
		}
		if (kk < 0)
			goto bad_json;
		if (fr < 0 || fr >= (double)s->nframes || fr != (double)(size_t)fr || at < 0 ||
		    (strcmp(type.buf, "O") && strcmp(type.buf, "C")))
			goto bad_event;
		if (at < last) {
			sbad(s->name, "profile %zu, event %zu goes back in time", pi + 1, i + 1);
			goto out;
		}
		if (depth && at > last) {
			memset(vals, 0, sizeof(vals));
			vals[v] = (at - last) * scale;
			kp_add_sample(p, kp_stack_from_frames(p, s->stack, depth), thread, jsonr_u64_clamp(last * scale), vals);
		}
		last = at;
		if (type.buf[0] == 'O') {
			ALLOC_GROW(s->stack, depth + 1, s->stack_alloc);
			s->stack[depth++] = s->frames[(size_t)fr];
		} else {
			if (!depth || s->stack[depth - 1] != s->frames[(size_t)fr]) {
				sbad(s->name, "profile %zu, event %zu closes a frame that is not open", pi + 1, i + 1);
				goto out;
			}
			depth--;
		}
		i++;
	}
	if (k < 0)
		goto bad_json;
	if (depth) {
		sbad(s->name, "profile %zu leaves %zu frames open", pi + 1, depth);
		goto out;
	}
	rc = 0;
	goto out;
bad_event:
	if (ce->err)
		goto bad_json;
	sbad(s->name, "profile %zu, event %zu is not an O or C event on a known frame", pi + 1, i + 1);
	goto out;
bad_json:
	kf_json_invalid(s->name, ce);
out:
	strbuf_release(&type);
	return rc;
}

static int read_frames(struct ss *s, struct jsonr *r)
{
	struct strbuf name = STRBUF_INIT, file = STRBUF_INIT;
	int k, rc = -1;
	if (jsonr_enter_array(r) != 1) {
		sbad(s->name, "shared.frames is not a list");
		goto out;
	}
	while ((k = jsonr_next_elem(r)) == 1) {
		const char *key;
		size_t klen;
		double line = 0;
		int has_name = 0, kk;
		strbuf_reset(&file);
		if (jsonr_enter_object(r) != 1) {
			sbad(s->name, "frame %zu is not an object", s->nframes);
			goto out;
		}
		while ((kk = jsonr_next_key(r, &key, &klen)) == 1) {
			if (jsonr_key_is(key, klen, "name") && jsonr_peek(r) == JSONR_STRING) {
				if (jsonr_string(r, &name) < 0)
					goto bad_json;
				has_name = 1;
			} else if (jsonr_key_is(key, klen, "file") && jsonr_peek(r) == JSONR_STRING) {
				if (jsonr_string(r, &file) < 0)
					goto bad_json;
			} else if (jsonr_key_is(key, klen, "line") && jsonr_peek(r) == JSONR_NUMBER) {
				if (jsonr_number(r, &line) < 0)
					goto bad_json;
			} else if (jsonr_skip(r) < 0) {
				goto bad_json;
			}
		}
		if (kk < 0)
			goto bad_json;
		if (!has_name) {
			sbad(s->name, "frame %zu has no name", s->nframes);
			goto out;
		}
		uint32_t ln = line > 0 && line <= UINT32_MAX ? (uint32_t)line : 0;
		ALLOC_GROW(s->frames, s->nframes + 1, s->frames_alloc);
		s->frames[s->nframes++] = kf_frame_from_name(s->p, name.buf, name.len, file.len ? kp_str(s->p, file.buf, file.len) : 0, ln, 0);
	}
	if (k < 0)
		goto bad_json;
	rc = 0;
	goto out;
bad_json:
	kf_json_invalid(s->name, r);
out:
	strbuf_release(&name);
	strbuf_release(&file);
	return rc;
}

/* One profile object (r at its '{'): its scalars first, then its lists through saved
 * cursors (keys may come in any order). */
static int read_profile(struct ss *s, struct jsonr *r, size_t pi, double active, int *defv)
{
	struct strbuf type = STRBUF_INIT, unit = STRBUF_INIT, pname = STRBUF_INIT;
	struct jsonr ce = { 0 };
	int has_s = 0, has_w = 0, has_e = 0, kk, rc = -1;
	double start = 0;
	const char *key;
	size_t klen;
	if (jsonr_enter_object(r) != 1) {
		sbad(s->name, "profile %zu is not an object", pi + 1);
		goto out;
	}
	while ((kk = jsonr_next_key(r, &key, &klen)) == 1) {
		if (jsonr_key_is(key, klen, "type") && jsonr_peek(r) == JSONR_STRING) {
			kk = jsonr_string(r, &type);
		} else if (jsonr_key_is(key, klen, "unit") && jsonr_peek(r) == JSONR_STRING) {
			kk = jsonr_string(r, &unit);
		} else if (jsonr_key_is(key, klen, "name") && jsonr_peek(r) == JSONR_STRING) {
			kk = jsonr_string(r, &pname);
		} else if (jsonr_key_is(key, klen, "startValue") && jsonr_peek(r) == JSONR_NUMBER) {
			kk = jsonr_number(r, &start);
		} else if (jsonr_key_is(key, klen, "samples")) {
			has_s = 1;
			if (read_samples(s, r, pi) < 0)
				goto out;
		} else if (jsonr_key_is(key, klen, "weights")) {
			has_w = 1;
			if (read_weights(s, r, pi) < 0)
				goto out;
		} else {
			if (jsonr_key_is(key, klen, "events")) {
				has_e = 1;
				ce = *r;
			}
			kk = jsonr_skip(r);
		}
		if (kk < 0)
			goto bad_json;
	}
	if (kk < 0)
		goto bad_json;
	if (!type.len || !unit.len) {
		sbad(s->name, "profile %zu has no type or unit", pi + 1);
		goto out;
	}
	/* "THREAD: VALUE" (as kiln writes) names the thread and the value */
	const char *last = NULL, *c = pname.buf;
	while ((c = strstr(c, ": "))) {
		last = c;
		c += 2;
	}
	char *vname = NULL;
	size_t tlen = pname.len;
	if (last && last[2] && !strchr(last + 2, ' ')) {
		vname = xstrdup(last + 2);
		tlen = (size_t)(last - pname.buf);
	}
	double scale;
	int v = value_for(s->p, unit.buf, vname, &scale);
	free(vname);
	if (v < 0) {
		kiln_error("'%s' has more than %d kinds of values", s->name, KP_MAX_VALUES);
		goto out;
	}
	if ((double)pi == active || *defv < 0)
		*defv = v;
	uint32_t t = thread_for(s->p, pname.len ? pname.buf : "profile", pname.len ? tlen : 7);
	if (!strcmp(type.buf, "sampled")) {
		if (!has_s || !has_w) {
			sbad(s->name, "sampled profile %zu needs samples and weights lists", pi + 1);
			goto out;
		}
		rc = add_sampled(s, (uint32_t)v, scale, start, t, pi);
	} else if (!strcmp(type.buf, "evented")) {
		if (!has_e) {
			sbad(s->name, "evented profile %zu has no events list", pi + 1);
			goto out;
		}
		rc = read_evented(s, &ce, (uint32_t)v, scale, start, t, pi);
	} else {
		sbad(s->name, "profile %zu has unknown type '%s'", pi + 1, type.buf);
	}
	goto out;
bad_json:
	kf_json_invalid(s->name, r);
out:
	strbuf_release(&type);
	strbuf_release(&unit);
	strbuf_release(&pname);
	return rc;
}

static int read_profiles(struct ss *s, struct jsonr *r, double active, int *defv)
{
	size_t pi = 0;
	int k;
	if (jsonr_enter_array(r) != 1)
		return sbad(s->name, "profiles is not a list");
	while ((k = jsonr_next_elem(r)) == 1)
		if (read_profile(s, r, pi++, active, defv) < 0)
			return -1;
	return k < 0 ? kf_json_invalid(s->name, r) : 0;
}

int kf_speedscope_read_checked(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	struct jsonr r, profiles = { 0 };
	struct ss s;
	const char *key;
	size_t klen;
	int k, rc = -1, has_frames = 0, has_profiles = 0, defv = -1;
	double active = 0;
	memset(&s, 0, sizeof(s));
	s.p = p;
	s.name = name;
	/* one pass: what is read is checked as it is read, what is skipped by jsonr_skip */
	jsonr_init(&r, json, len);
	if (jsonr_enter_object(&r) != 1)
		return sbad(name, "it is not a JSON object");
	while ((k = jsonr_next_key(&r, &key, &klen)) == 1) {
		if (jsonr_key_is(key, klen, "shared") && jsonr_enter_object(&r) == 1) {
			int kk;
			while ((kk = jsonr_next_key(&r, &key, &klen)) == 1) {
				if (jsonr_key_is(key, klen, "frames")) {
					if (read_frames(&s, &r) < 0)
						goto out;
					has_frames = 1;
				} else if (jsonr_skip(&r) < 0) {
					break;
				}
			}
			if (kk < 0 || r.err) {
				kf_json_invalid(name, &r);
				goto out;
			}
		} else if (jsonr_key_is(key, klen, "profiles")) {
			profiles = r;
			has_profiles = 1;
			if (has_frames) {
				/* the usual order: read them now, in one pass */
				if (read_profiles(&s, &r, active, &defv) < 0)
					goto out;
				has_profiles = 2;
			} else if (jsonr_skip(&r) < 0) {
				break;
			}
		} else if (jsonr_key_is(key, klen, "activeProfileIndex") && jsonr_peek(&r) == JSONR_NUMBER) {
			if (jsonr_number(&r, &active) < 0)
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
		sbad(name, "text after the JSON document");
		goto out;
	}
	if (!has_frames || !has_profiles) {
		sbad(name, "it needs shared.frames and profiles lists");
		goto out;
	}
	if (has_profiles == 1 && read_profiles(&s, &profiles, active, &defv) < 0)
		goto out;
	if (defv >= 0)
		p->default_value = (uint32_t)defv;
	kp_meta_set(p, "source_format", "speedscope");
	kp_meta_set(p, "kind", "speedscope");
	rc = 0;
out:
	free(s.frames);
	u64map_release(&s.by_text);
	free(s.text);
	free(s.text_len);
	free(s.text_stack);
	free(s.stack);
	free(s.st);
	free(s.w);
	return rc;
}

int kf_speedscope_read(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	struct jsonr r;
	jsonr_init(&r, json, len);
	if (jsonr_skip(&r) < 0 || jsonr_peek(&r) != JSONR_END) {
		if (!r.err)
			jsonr_fail(&r, "text after the JSON document");
		return kf_json_invalid(name, &r);
	}
	return kf_speedscope_read_checked(p, json, len, name);
}
