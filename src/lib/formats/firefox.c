/* firefox.c: the Firefox Profiler's gecko profile format (written only).
 *
 * One gecko thread per kiln thread, each with its own string, frame and stack tables
 * (only what its samples use) and its samples over time, so the profiler's timeline,
 * call tree and flame graph all work. The profiler upgrades the gecko format (version
 * GECKO_VERSION here) and processes it on load. The format holds sample counts: a sample
 * of count n becomes n samples, an interval apart; other values are not written (a note
 * says which). */
#include "formats/formats.h"
#include "formats/jsonw.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GECKO_VERSION 28

struct thread_tables {
	uint32_t *stack_idx; /* kiln stack -> index + 1 in this thread's stack table */
	uint32_t *frame_idx; /* kiln frame -> index + 1 in the frame table */
	uint32_t *str_idx;   /* kiln string -> index + 1 in the string table */
	kp_stack_t *stacks;  /* used stacks, in increasing id order */
	uint32_t nstacks;
	kp_frame_t *frames;
	uint32_t nframes;
	kp_str_t *strs;
	uint32_t nstrs;
};

static uint32_t tstr(struct thread_tables *tt, kp_str_t s)
{
	if (!tt->str_idx[s]) {
		tt->strs[tt->nstrs++] = s;
		tt->str_idx[s] = tt->nstrs;
	}
	return tt->str_idx[s] - 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void write_thread(struct jsonw *j, const struct kp_profile *p, const size_t *order, size_t from,
			 size_t to, uint32_t v, double interval_ms, double t0_ns, struct thread_tables *tt)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t t = p->sample_thread[order[from]];
	tt->nstacks = tt->nframes = tt->nstrs = 0;
	/* the stacks (with their ancestors) and frames this thread uses */
	for (size_t x = from; x < to; x++) {
		for (kp_stack_t s = p->sample_stack[order[x]]; s && !tt->stack_idx[s]; s = p->stacks[s].parent) {
			tt->stack_idx[s] = 1;
			tt->stacks[tt->nstacks++] = s;
		}
	}
	qsort(tt->stacks, tt->nstacks, sizeof(*tt->stacks), cmp_u32);
	for (uint32_t i = 0; i < tt->nstacks; i++) {
		kp_stack_t s = tt->stacks[i];
		kp_frame_t f = p->stacks[s].frame;
		tt->stack_idx[s] = i + 1;
		if (!tt->frame_idx[f]) {
			tt->frames[tt->nframes++] = f;
			tt->frame_idx[f] = tt->nframes;
		}
	}
	const struct kp_thread *th = t && t < p->nthreads ? &p->threads[t] : NULL;
	strbuf_reset(&sb);
	kf_thread_label(p, t, &sb);
	jsonw_raw(j, "{\"name\":");
	jsonw_str(j, sb.buf, sb.len);
	jsonw_raw(j, ",\"isMainThread\":");
	jsonw_raw(j, th && th->pid == th->tid ? "true" : "false");
	/* the process is named after its main thread (tid = pid) */
	kp_str_t pname = th ? th->comm : 0;
	for (uint32_t k = 1; th && k < p->nthreads; k++)
		if (p->threads[k].pid == th->pid && p->threads[k].tid == th->pid)
			pname = p->threads[k].comm;
	jsonw_raw(j, ",\"processType\":\"default\",\"processName\":");
	jsonw_strz(j, pname ? kp_str_get(p, pname) : "profile");
	jsonw_raw(j, ",\"processStartupTime\":0,\"processShutdownTime\":null,\"registerTime\":0,"
		     "\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":");
	jsonw_i64(j, th && th->pid >= 0 ? th->pid : 0);
	jsonw_raw(j, ",\"tid\":");
	jsonw_i64(j, th && th->tid >= 0 ? th->tid : (int64_t)t);
	/* frames: location, relevantForJS, innerWindowID, implementation, optimizations, line,
	 * column, category, subcategory */
	jsonw_raw(j, ",\"frameTable\":{\"schema\":{\"location\":0,\"relevantForJS\":1,\"innerWindowID\":2,"
		     "\"implementation\":3,\"optimizations\":4,\"line\":5,\"column\":6,\"category\":7,\"subcategory\":8},\"data\":[");
	for (uint32_t i = 0; i < tt->nframes; i++) {
		const struct kp_frame *fr = &p->frames[tt->frames[i]];
		if (i)
			jsonw_ch(j, ',');
		jsonw_ch(j, '[');
		jsonw_u64(j, tstr(tt, fr->name));
		jsonw_raw(j, ",false,0,null,null,");
		if (fr->line)
			jsonw_u64(j, fr->line);
		else
			jsonw_raw(j, "null");
		jsonw_raw(j, fr->flags & KP_FRAME_KERNEL ? ",null,1,0]" : ",null,0,0]");
		jsonw_maybe_flush(j);
	}
	jsonw_raw(j, "]},\"stackTable\":{\"schema\":{\"prefix\":0,\"frame\":1},\"data\":[");
	for (uint32_t i = 0; i < tt->nstacks; i++) {
		kp_stack_t s = tt->stacks[i];
		if (i)
			jsonw_ch(j, ',');
		jsonw_ch(j, '[');
		if (p->stacks[s].parent)
			jsonw_u64(j, tt->stack_idx[p->stacks[s].parent] - 1);
		else
			jsonw_raw(j, "null");
		jsonw_ch(j, ',');
		jsonw_u64(j, tt->frame_idx[p->stacks[s].frame] - 1);
		jsonw_ch(j, ']');
		jsonw_maybe_flush(j);
	}
	/* samples: stack, time (ms since meta.startTime), eventDelay */
	jsonw_raw(j, "]},\"samples\":{\"schema\":{\"stack\":0,\"time\":1,\"eventDelay\":2},\"data\":[");
	int first = 1, has_times = p->sample_time[order[to - 1]] > 0;
	double prev = -1;
	uint64_t seq = 0;
	for (size_t x = from; x < to; x++) {
		size_t i = order[x];
		uint64_t c = (uint64_t)kp_sample_value(p, i, v);
		double base = has_times ? ((double)p->sample_time[i] - t0_ns) / 1e6 : 0;
		for (uint64_t k = 0; k < c; k++, seq++) {
			double at = has_times ? base + (double)k * interval_ms : (double)seq * interval_ms;
			if (at < prev)
				at = prev;
			prev = at;
			if (!first)
				jsonw_ch(j, ',');
			first = 0;
			jsonw_ch(j, '[');
			kp_stack_t s = p->sample_stack[i];
			if (s)
				jsonw_u64(j, tt->stack_idx[s] - 1);
			else
				jsonw_raw(j, "null");
			jsonw_ch(j, ',');
			jsonw_num(j, floor(at * 1000) / 1000);
			jsonw_raw(j, ",0]");
			jsonw_maybe_flush(j);
		}
	}
	jsonw_raw(j, "]},\"markers\":{\"schema\":{\"name\":0,\"startTime\":1,\"endTime\":2,\"phase\":3,\"category\":4,\"data\":5},\"data\":[]},\"stringTable\":[");
	/* the string table last: frames above added to it */
	for (uint32_t i = 0; i < tt->nstrs; i++) {
		if (i)
			jsonw_ch(j, ',');
		jsonw_strz(j, kp_str_get(p, tt->strs[i]));
		jsonw_maybe_flush(j);
	}
	jsonw_raw(j, "]}");
	/* reset the per-thread maps for the next thread */
	for (uint32_t i = 0; i < tt->nstacks; i++)
		tt->stack_idx[tt->stacks[i]] = 0;
	for (uint32_t i = 0; i < tt->nframes; i++)
		tt->frame_idx[tt->frames[i]] = 0;
	for (uint32_t i = 0; i < tt->nstrs; i++)
		tt->str_idx[tt->strs[i]] = 0;
	strbuf_release(&sb);
}

int kf_firefox_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out)
{
	struct jsonw j;
	struct thread_tables tt;
	int v = kf_pick_count_value(p, o, "the Firefox Profiler's format", 1);
	if (v < 0)
		return -2;
	size_t *order = kf_sample_order(p);
	const char *freq = kp_meta_get(p, "frequency");
	double interval_ms = freq && atof(freq) > 0 ? 1000 / atof(freq) : 1;
	double t0_ns = 0;
	int have_t0 = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->sample_time[i] && (!have_t0 || (double)p->sample_time[i] < t0_ns)) {
			t0_ns = (double)p->sample_time[i];
			have_t0 = 1;
		}
	memset(&tt, 0, sizeof(tt));
	tt.stack_idx = xcalloc(p->nstacks + 1, sizeof(*tt.stack_idx));
	tt.frame_idx = xcalloc(p->nframes + 1, sizeof(*tt.frame_idx));
	tt.str_idx = xcalloc(p->strings.nr + 1, sizeof(*tt.str_idx));
	tt.stacks = xmalloc((p->nstacks + 1) * sizeof(*tt.stacks));
	tt.frames = xmalloc((p->nframes + 1) * sizeof(*tt.frames));
	tt.strs = xmalloc((p->strings.nr + 1) * sizeof(*tt.strs));

	jsonw_init(&j, out);
	jsonw_raw(&j, "{\"meta\":{\"version\":" );
	jsonw_u64(&j, GECKO_VERSION);
	jsonw_raw(&j, ",\"startTime\":");
	jsonw_num(&j, (double)kf_start_time_s(p) * 1000);
	jsonw_raw(&j, ",\"shutdownTime\":null,\"interval\":");
	jsonw_num(&j, interval_ms);
	jsonw_raw(&j, ",\"stackwalk\":1,\"debug\":0,\"gcpoison\":0,\"asyncstack\":0,\"processType\":0,"
		      "\"presymbolicated\":true,\"product\":");
	const char *cmd = kp_meta_get(p, "command");
	jsonw_strz(&j, cmd ? cmd : kf_basename(o->name));
	jsonw_raw(&j, ",\"platform\":\"Linux\",\"misc\":\"kiln " KILN_VERSION "\",\"categories\":["
		      "{\"name\":\"User\",\"color\":\"yellow\",\"subcategories\":[\"Other\"]},"
		      "{\"name\":\"Kernel\",\"color\":\"orange\",\"subcategories\":[\"Other\"]}],"
		      "\"markerSchema\":[]},\"libs\":[],\"pages\":[],\"pausedRanges\":[],\"processes\":[],\"threads\":[");
	size_t i = 0;
	int first = 1;
	while (i < p->nsamples) {
		uint32_t t = p->sample_thread[order[i]];
		size_t end = i;
		double total = 0;
		while (end < p->nsamples && p->sample_thread[order[end]] == t)
			total += kp_sample_value(p, order[end++], (uint32_t)v);
		if (total > 0) {
			if (!first)
				jsonw_ch(&j, ',');
			first = 0;
			write_thread(&j, p, order, i, end, (uint32_t)v, interval_ms, t0_ns, &tt);
		}
		i = end;
	}
	jsonw_raw(&j, "]}\n");
	free(order);
	free(tt.stack_idx);
	free(tt.frame_idx);
	free(tt.str_idx);
	free(tt.stacks);
	free(tt.frames);
	free(tt.strs);
	return jsonw_finish(&j);
}
