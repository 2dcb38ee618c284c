/* json.c: the JSON formats: recognising which one a document is (for reading), and kiln's
 * own JSON dump of the profile model (for writing; docs/formats.md describes it). */
#include "formats/formats.h"
#include "formats/jsonw.h"
#include "util/error.h"
#include "formats/jsonr.h"
#include <string.h>

int kf_json_read(struct kp_profile *p, const char *json, size_t len, const char *name)
{
	struct jsonr r;
	const char *key;
	size_t klen;
	int k, shared = 0, profiles = 0, nodes = 0, samples = 0, meta = 0, threads = 0, trace = 0;
	/* which format: by the top-level keys; values are skipped fast (brackets and strings
	 * only): the format's reader checks the syntax of everything as it reads */
	jsonr_init(&r, json, len);
	r.trusted = 1;
	if (jsonr_enter_object(&r) != 1) {
		jsonr_fail(&r, "not an object");
		goto bad;
	}
	while ((k = jsonr_next_key(&r, &key, &klen)) == 1) {
		/* a key only one format has decides at once (no pass over the rest) */
		if (jsonr_key_is(key, klen, "shared") || jsonr_key_is(key, klen, "profiles"))
			return kf_speedscope_read_checked(p, json, len, name);
		if (jsonr_key_is(key, klen, "nodes") || jsonr_key_is(key, klen, "timeDeltas"))
			return kf_chrome_read_checked(p, json, len, name);
		shared |= jsonr_key_is(key, klen, "shared");
		profiles |= jsonr_key_is(key, klen, "profiles");
		nodes |= jsonr_key_is(key, klen, "nodes");
		samples |= jsonr_key_is(key, klen, "samples");
		meta |= jsonr_key_is(key, klen, "meta");
		threads |= jsonr_key_is(key, klen, "threads");
		trace |= jsonr_key_is(key, klen, "traceEvents");
		if (jsonr_skip(&r) < 0)
			break;
	}
	if (k < 0 || r.err)
		goto bad;
	if (jsonr_peek(&r) != JSONR_END) {
		jsonr_fail(&r, "text after the JSON document");
		goto bad;
	}
	if (shared && profiles)
		return kf_speedscope_read_checked(p, json, len, name);
	if (nodes && samples)
		return kf_chrome_read_checked(p, json, len, name);
	if (meta && threads)
		return kiln_error("'%s' is a Firefox Profiler profile: kiln writes that format but does not read it", name);
	if (trace)
		return kiln_error("'%s' is a Chrome trace; save the profile as a .cpuprofile (DevTools, or node --cpu-prof) to read it", name);
	return kiln_error("'%s' is JSON but no profile format kiln reads (speedscope, .cpuprofile; see docs/formats.md)", name);
bad:
	return kf_json_invalid(name, &r);
}

static const char *const flag_names[] = { "kernel", "inline", "jit", "unknown", "offcpu", "root", "truncated", "python" };

int kf_json_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out)
{
	struct jsonw j;
	jsonw_init(&j, out);
	jsonw_raw(&j, "{\"format\":\"kiln-profile\",\"version\":1,\"meta\":{");
	for (uint32_t i = 0; i < p->nmeta; i++) {
		if (i)
			jsonw_ch(&j, ',');
		jsonw_strz(&j, kp_str_get(p, p->meta[i].key));
		jsonw_ch(&j, ':');
		jsonw_strz(&j, kp_str_get(p, p->meta[i].value));
	}
	jsonw_raw(&j, "},\"value_types\":[");
	for (uint32_t v = 0; v < p->nvalues; v++) {
		jsonw_raw(&j, v ? ",{\"name\":" : "{\"name\":");
		jsonw_strz(&j, kp_str_get(p, p->value_types[v].name));
		jsonw_raw(&j, ",\"unit\":");
		jsonw_strz(&j, kp_str_get(p, p->value_types[v].unit));
		jsonw_ch(&j, '}');
	}
	jsonw_raw(&j, "],\"default_value\":");
	jsonw_u64(&j, p->default_value);
	jsonw_raw(&j, ",\"threads\":[");
	for (uint32_t t = 1; t < p->nthreads; t++) {
		jsonw_raw(&j, t > 1 ? ",{\"pid\":" : "{\"pid\":");
		jsonw_i64(&j, p->threads[t].pid);
		jsonw_raw(&j, ",\"tid\":");
		jsonw_i64(&j, p->threads[t].tid);
		jsonw_raw(&j, ",\"comm\":");
		jsonw_strz(&j, kp_str_get(p, p->threads[t].comm));
		jsonw_ch(&j, '}');
	}
	jsonw_raw(&j, "],\"frames\":[");
	for (uint32_t f = 1; f < p->nframes; f++) {
		const struct kp_frame *fr = &p->frames[f];
		jsonw_raw(&j, f > 1 ? ",{\"name\":" : "{\"name\":");
		jsonw_strz(&j, kp_str_get(p, fr->name));
		jsonw_raw(&j, ",\"module\":");
		jsonw_strz(&j, kp_str_get(p, fr->module));
		jsonw_raw(&j, ",\"file\":");
		jsonw_strz(&j, kp_str_get(p, fr->file));
		jsonw_raw(&j, ",\"line\":");
		jsonw_u64(&j, fr->line);
		jsonw_raw(&j, ",\"addr\":");
		jsonw_u64(&j, fr->addr);
		jsonw_raw(&j, ",\"flags\":[");
		int first = 1;
		for (unsigned b = 0; b < sizeof(flag_names) / sizeof(flag_names[0]); b++) {
			if (!(fr->flags & (1u << b)))
				continue;
			if (!first)
				jsonw_ch(&j, ',');
			first = 0;
			jsonw_ch(&j, '"');
			jsonw_raw(&j, flag_names[b]);
			jsonw_ch(&j, '"');
		}
		jsonw_raw(&j, "]}");
		jsonw_maybe_flush(&j);
	}
	/* stacks as [parent, frame] pairs: stack id k is stacks[k-1]; 0 is the empty stack */
	jsonw_raw(&j, "],\"stacks\":[");
	for (kp_stack_t s = 1; s < p->nstacks; s++) {
		jsonw_raw(&j, s > 1 ? ",[" : "[");
		jsonw_u64(&j, p->stacks[s].parent);
		jsonw_ch(&j, ',');
		jsonw_u64(&j, p->stacks[s].frame);
		jsonw_ch(&j, ']');
		jsonw_maybe_flush(&j);
	}
	/* samples as columns; thread 0 is "no thread", k is threads[k-1] */
	jsonw_raw(&j, "],\"samples\":{\"stack\":[");
	for (size_t i = 0; i < p->nsamples; i++) {
		if (i)
			jsonw_ch(&j, ',');
		jsonw_u64(&j, p->sample_stack[i]);
		jsonw_maybe_flush(&j);
	}
	jsonw_raw(&j, "],\"thread\":[");
	for (size_t i = 0; i < p->nsamples; i++) {
		if (i)
			jsonw_ch(&j, ',');
		jsonw_u64(&j, p->sample_thread[i]);
		jsonw_maybe_flush(&j);
	}
	jsonw_raw(&j, "],\"time_ns\":[");
	for (size_t i = 0; i < p->nsamples; i++) {
		if (i)
			jsonw_ch(&j, ',');
		jsonw_u64(&j, p->sample_time[i]);
		jsonw_maybe_flush(&j);
	}
	jsonw_raw(&j, "],\"values\":[");
	for (uint32_t v = 0; v < p->nvalues; v++) {
		jsonw_raw(&j, v ? ",[" : "[");
		for (size_t i = 0; i < p->nsamples; i++) {
			if (i)
				jsonw_ch(&j, ',');
			jsonw_num(&j, kp_sample_value(p, i, v));
			jsonw_maybe_flush(&j);
		}
		jsonw_ch(&j, ']');
	}
	jsonw_raw(&j, "]}}\n");
	(void)o;
	return jsonw_finish(&j);
}
