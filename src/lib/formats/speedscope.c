/* speedscope.c: speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json)
 * to and from the profile model.
 *
 * Writing: every frame goes to shared.frames (index = kiln frame id - 1); one "sampled"
 * profile per (value type, thread), named "THREAD: VALUE", its samples in time order with
 * their weights (samples whose value is 0 are left out). Reading: "sampled" and "evented"
 * profiles; a profile is a thread, its unit a value type (a name "THREAD: VALUE" as kiln
 * writes it gives both back). */
#include "formats/formats.h"
#include "formats/jsonw.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
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
			int n = snprintf(buf, sizeof(buf), "%s%u", i ? "," : "", st->tmp[i] - 1);
			strbuf_add(&st->text, buf, (size_t)n);
		}
		st->off[s] = start + 1;
		st->len[s] = (uint32_t)(st->text.len - start);
	}
	*text = st->text.buf + st->off[s] - 1;
	*len = st->len[s];
}

int kf_speedscope_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out)
{
	struct jsonw j;
	struct stack_text st;
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
	jsonw_init(&j, out);
	jsonw_raw(&j, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"kiln " KILN_VERSION "\",\"name\":");
	jsonw_strz(&j, kf_basename(o->name));
	jsonw_raw(&j, ",\"activeProfileIndex\":0,\"shared\":{\"frames\":[");
	for (uint32_t f = 1; f < p->nframes; f++) {
		const struct kp_frame *fr = &p->frames[f];
		if (f > 1)
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
		if (fr->line) {
			jsonw_raw(&j, ",\"line\":");
			jsonw_u64(&j, fr->line);
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
	strbuf_release(&st.text);
	strbuf_release(&sb);
	return jsonw_finish(&j);
}

/* ---- reading ---- */

static int sbad(const char *name, const char *fmt, ...) KILN_PRINTF(2, 3);
static int sbad(const char *name, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	kiln_error("'%s' is not a valid speedscope file: %s", name, sb.buf);
	strbuf_release(&sb);
	return -1;
}

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
	if (paren && paren > s && paren[-1] == ' ' && s[len - 1] == ')') {
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

static int read_sampled(struct kp_profile *p, json_t *prof, const kp_frame_t *frames, size_t nframes,
			uint32_t v, double scale, uint32_t thread, const char *name, size_t pi)
{
	json_t *samples = json_object_get(prof, "samples"), *weights = json_object_get(prof, "weights");
	double vals[KP_MAX_VALUES];
	double tm = json_number_value(json_object_get(prof, "startValue")) * scale;
	kp_frame_t *stack = NULL;
	size_t alloc = 0;
	if (!json_is_array(samples) || !json_is_array(weights))
		return sbad(name, "sampled profile %zu lacks its samples or weights", pi + 1);
	if (json_array_size(samples) != json_array_size(weights))
		return sbad(name, "profile %zu has %zu samples but %zu weights", pi + 1, json_array_size(samples),
			    json_array_size(weights));
	for (size_t i = 0; i < json_array_size(samples); i++) {
		json_t *s = json_array_get(samples, i), *w = json_array_get(weights, i);
		if (!json_is_array(s) || !json_is_number(w)) {
			free(stack);
			return sbad(name, "profile %zu, sample %zu is not a list of frame indexes with a weight", pi + 1, i + 1);
		}
		size_t d = json_array_size(s);
		ALLOC_GROW(stack, d + 1, alloc);
		for (size_t k = 0; k < d; k++) {
			json_t *fi = json_array_get(s, k);
			json_int_t x = json_is_integer(fi) ? json_integer_value(fi) : -1;
			if (x < 0 || (size_t)x >= nframes) {
				free(stack);
				return sbad(name, "profile %zu, sample %zu refers to frame %lld of %zu", pi + 1, i + 1,
					    (long long)x, nframes);
			}
			stack[k] = frames[x];
		}
		memset(vals, 0, sizeof(vals));
		double wv = json_number_value(w) * scale;
		vals[v] = wv;
		kp_add_sample(p, kp_stack_from_frames(p, stack, d), thread, tm > 0 ? (uint64_t)tm : 0, vals);
		if (scale != 1 || !strcmp(kp_str_get(p, p->value_types[v].unit), "nanoseconds"))
			tm += wv;
	}
	free(stack);
	return 0;
}

static int read_evented(struct kp_profile *p, json_t *prof, const kp_frame_t *frames, size_t nframes,
			uint32_t v, double scale, uint32_t thread, const char *name, size_t pi)
{
	json_t *events = json_object_get(prof, "events");
	double vals[KP_MAX_VALUES], last = json_number_value(json_object_get(prof, "startValue"));
	kp_frame_t *stack = NULL;
	size_t depth = 0, alloc = 0;
	if (!json_is_array(events))
		return sbad(name, "evented profile %zu has no events", pi + 1);
	for (size_t i = 0; i < json_array_size(events); i++) {
		json_t *e = json_array_get(events, i);
		const char *type = json_string_value(json_object_get(e, "type"));
		json_t *at = json_object_get(e, "at"), *fr = json_object_get(e, "frame");
		json_int_t x = json_is_integer(fr) ? json_integer_value(fr) : -1;
		if (!type || !json_is_number(at) || x < 0 || (size_t)x >= nframes || (strcmp(type, "O") && strcmp(type, "C"))) {
			free(stack);
			return sbad(name, "profile %zu, event %zu is not an O or C event on a known frame", pi + 1, i + 1);
		}
		double t = json_number_value(at);
		if (t < last) {
			free(stack);
			return sbad(name, "profile %zu, event %zu goes back in time", pi + 1, i + 1);
		}
		if (depth && t > last) {
			memset(vals, 0, sizeof(vals));
			vals[v] = (t - last) * scale;
			kp_add_sample(p, kp_stack_from_frames(p, stack, depth), thread, (uint64_t)(last * scale), vals);
		}
		last = t;
		if (type[0] == 'O') {
			ALLOC_GROW(stack, depth + 1, alloc);
			stack[depth++] = frames[x];
		} else {
			if (!depth || stack[depth - 1] != frames[x]) {
				free(stack);
				return sbad(name, "profile %zu, event %zu closes a frame that is not open", pi + 1, i + 1);
			}
			depth--;
		}
	}
	free(stack);
	if (depth)
		return sbad(name, "profile %zu leaves %zu frames open", pi + 1, depth);
	return 0;
}

int kf_speedscope_from(struct kp_profile *p, json_t *root, const char *name)
{
	json_t *shared = json_object_get(root, "shared"), *profiles = json_object_get(root, "profiles");
	json_t *jframes = json_object_get(shared, "frames");
	kp_frame_t *frames;
	size_t nframes;
	int rc = 0;
	if (!json_is_array(jframes) || !json_is_array(profiles))
		return sbad(name, "it needs shared.frames and profiles lists");
	nframes = json_array_size(jframes);
	frames = xmalloc((nframes ? nframes : 1) * sizeof(*frames));
	for (size_t i = 0; i < nframes; i++) {
		json_t *f = json_array_get(jframes, i);
		const char *fname = json_string_value(json_object_get(f, "name"));
		const char *file = json_string_value(json_object_get(f, "file"));
		json_t *line = json_object_get(f, "line");
		if (!fname) {
			free(frames);
			return sbad(name, "frame %zu has no name", i);
		}
		uint32_t ln = 0;
		if (json_is_integer(line) && json_integer_value(line) > 0 && json_integer_value(line) <= UINT32_MAX)
			ln = (uint32_t)json_integer_value(line);
		frames[i] = kf_frame_from_name(p, fname, strlen(fname), file ? kp_strz(p, file) : 0, ln, 0);
	}
	json_int_t active = json_integer_value(json_object_get(root, "activeProfileIndex"));
	for (size_t i = 0; i < json_array_size(profiles) && rc == 0; i++) {
		json_t *prof = json_array_get(profiles, i);
		const char *type = json_string_value(json_object_get(prof, "type"));
		const char *unit = json_string_value(json_object_get(prof, "unit"));
		const char *pname = json_string_value(json_object_get(prof, "name"));
		if (!type || !unit) {
			rc = sbad(name, "profile %zu has no type or unit", i + 1);
			break;
		}
		/* "THREAD: VALUE" (as kiln writes) names the thread and the value */
		const char *colon = pname ? strstr(pname, ": ") : NULL;
		const char *last = colon;
		while (last && (colon = strstr(last + 2, ": ")))
			last = colon;
		char *vname = NULL;
		size_t tlen = pname ? strlen(pname) : 0;
		if (last && !strchr(last + 2, ' ') && last[2]) {
			vname = xstrdup(last + 2);
			tlen = (size_t)(last - pname);
		}
		double scale;
		int v = value_for(p, unit, vname, &scale);
		free(vname);
		if (v < 0) {
			rc = kiln_error("'%s' has more than %d kinds of values", name, KP_MAX_VALUES);
			break;
		}
		if ((json_int_t)i == active)
			p->default_value = (uint32_t)v;
		uint32_t t = thread_for(p, pname ? pname : "profile", pname ? tlen : 7);
		if (!strcmp(type, "sampled"))
			rc = read_sampled(p, prof, frames, nframes, (uint32_t)v, scale, t, name, i);
		else if (!strcmp(type, "evented"))
			rc = read_evented(p, prof, frames, nframes, (uint32_t)v, scale, t, name, i);
		else
			rc = sbad(name, "profile %zu has unknown type '%s'", i + 1, type);
	}
	free(frames);
	if (rc == 0)
	{
		kp_meta_set(p, "source_format", "speedscope");
		kp_meta_set(p, "kind", "speedscope");
	}
	return rc;
}

/* Profiles with different units have different value types; each sample carries its own
 * profile's value and zero in the others. */
int kf_speedscope_read(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, 0, &err);
	int rc;
	if (!root)
		return kiln_error("'%s' is not valid JSON: %s at line %d", name, err.text, err.line);
	rc = kf_speedscope_from(p, root, name);
	json_decref(root);
	return rc;
}
