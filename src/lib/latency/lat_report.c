/* lat_report.c: text, JSON and SVG views of a latency result (see lat_report.h). */
#include "latency/lat_report.h"
#include "stats/units.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lat_bins(const struct hdr_hist *h, lat_bin_fn fn, void *ctx)
{
	if (!h->count || !h->buckets)
		return;
	for (unsigned b = 0; b < HDR_BUCKETS; b += LAT_BIN_MERGE) {
		uint64_t c = 0;
		for (unsigned k = 0; k < LAT_BIN_MERGE && b + k < HDR_BUCKETS; k++)
			c += h->buckets[b + k];
		if (c) {
			unsigned last = b + LAT_BIN_MERGE - 1 < HDR_BUCKETS ? b + LAT_BIN_MERGE - 1 : HDR_BUCKETS - 1;
			fn(ctx, hdr_bucket_low(b), hdr_bucket_high(last), c);
		}
	}
}

static const char *dur(char *buf, size_t n, double ns)
{
	return ks_fmt_duration(buf, n, ns / 1e9);
}

static const char *cnt(char *buf, size_t n, double v)
{
	return ks_fmt_count(buf, n, v);
}

/* ---- text ---- */
struct text_bins {
	struct strbuf *out;
	uint64_t max;
	uint64_t total;
};

static void bin_max(void *ctx, uint64_t lo, uint64_t hi, uint64_t c)
{
	struct text_bins *t = ctx;
	if (c > t->max)
		t->max = c;
}

static void bin_row(void *ctx, uint64_t lo, uint64_t hi, uint64_t c)
{
	struct text_bins *t = ctx;
	char a[32], b[32], n[32];
	int w = t->max ? (int)((double)c * 40.0 / (double)t->max + 0.5) : 0;
	if (w == 0 && c)
		w = 1;
	strbuf_addf(t->out, "    %10s .. %-10s %12s %5.1f%% |", dur(a, sizeof(a), (double)lo),
		    dur(b, sizeof(b), (double)hi + 1), cnt(n, sizeof(n), (double)c), 100.0 * (double)c / (double)t->total);
	for (int i = 0; i < w; i++)
		strbuf_addch(t->out, '#');
	strbuf_addch(t->out, '\n');
}

static void text_stats(struct strbuf *out, const struct hdr_hist *h, const char *indent)
{
	char a[32], b[32], c[32], d[32], e[32];
	strbuf_addf(out, "%scalls %s   total %s   mean %s   min %s   max %s\n", indent,
		    cnt(a, sizeof(a), (double)h->count), dur(b, sizeof(b), h->sum), dur(c, sizeof(c), hdr_mean(h)),
		    dur(d, sizeof(d), (double)h->min), dur(e, sizeof(e), (double)h->max));
	strbuf_addf(out, "%sp50 %s   p90 %s   p99 %s   p99.9 %s\n", indent,
		    dur(a, sizeof(a), (double)hdr_quantile(h, 0.5)), dur(b, sizeof(b), (double)hdr_quantile(h, 0.9)),
		    dur(c, sizeof(c), (double)hdr_quantile(h, 0.99)), dur(d, sizeof(d), (double)hdr_quantile(h, 0.999)));
}

static void frame_name(const struct kp_profile *p, kp_frame_t f, struct strbuf *out)
{
	if (!f) {
		strbuf_addstr(out, "[unknown]");
		return;
	}
	strbuf_addstr(out, kp_str_get(p, p->frames[f].name));
}

void lat_report_text(const struct lat_result *r, struct strbuf *out)
{
	char a[32], b[32];
	uint64_t calls = 0;
	for (size_t i = 0; i < r->nfuncs; i++)
		calls += r->funcs[i].h.count;
	strbuf_addf(out, "%zu function%s, %s calls in %.2f s (%u process%s, %u thread%s)\n", r->nfuncs,
		    r->nfuncs == 1 ? "" : "s", cnt(a, sizeof(a), (double)calls), r->seconds, r->processes,
		    r->processes == 1 ? "" : "es", r->threads, r->threads == 1 ? "" : "s");
	if (r->lost)
		strbuf_addf(out, "warning: the kernel dropped %s events (rings full): some calls are missing or unmatched\n",
			    cnt(a, sizeof(a), (double)r->lost));
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lat_func_result *f = &r->funcs[i];
		struct text_bins tb = { out, 0, f->h.count };
		strbuf_addf(out, "\n%s  (%s)\n", f->fn.name, f->fn.path);
		if (!f->h.count)
			strbuf_addstr(out, "  no completed call\n");
		else
			text_stats(out, &f->h, "  ");
		if (f->never_returned || f->unmatched || f->in_progress)
			strbuf_addf(out, "  never returned %llu (longjmp, exit, thread end)   unmatched returns %llu   "
					 "in progress %llu\n",
				    (unsigned long long)f->never_returned, (unsigned long long)f->unmatched,
				    (unsigned long long)f->in_progress);
		if (f->h.count) {
			strbuf_addstr(out, "\n");
			lat_bins(&f->h, bin_max, &tb);
			lat_bins(&f->h, bin_row, &tb);
		}
		if (f->ncallers) {
			strbuf_addstr(out, "\n  by caller:\n");
			for (size_t k = 0; k < f->ncallers; k++) {
				const struct lat_caller *c = &f->callers[k];
				struct strbuf nm = STRBUF_INIT;
				frame_name(&r->prof, c->frame, &nm);
				strbuf_addf(out, "  %s\n", nm.buf);
				text_stats(out, &c->h, "    ");
				strbuf_release(&nm);
			}
		}
	}
	if (r->nslow) {
		strbuf_addstr(out, "\nslowest calls:\n");
		for (size_t i = 0; i < r->nslow; i++) {
			const struct lat_slow *s = &r->slow[i];
			struct strbuf nm = STRBUF_INIT;
			frame_name(&r->prof, s->caller, &nm);
			strbuf_addf(out, "  %10s  %s  at %s  pid %d tid %d  from %s\n", dur(a, sizeof(a), (double)s->dur_ns),
				    r->funcs[s->func].fn.name, dur(b, sizeof(b), (double)s->start_ns), s->pid, s->tid,
				    nm.buf);
			strbuf_release(&nm);
			if (s->stack) {
				kp_frame_t fr[128];
				uint32_t d = kp_stack_frames(&r->prof, s->stack, fr, 128);
				if (d > 128)
					d = 128;
				for (uint32_t k = d; k-- > 0;) {
					struct strbuf fn = STRBUF_INIT;
					frame_name(&r->prof, fr[k], &fn);
					strbuf_addf(out, "      %s\n", fn.buf);
					strbuf_release(&fn);
				}
			}
		}
	}
}

/* ---- JSON ---- */
struct json_bins {
	struct strbuf *out;
	int first;
};

static void bin_json(void *ctx, uint64_t lo, uint64_t hi, uint64_t c)
{
	struct json_bins *j = ctx;
	strbuf_addf(j->out, "%s{\"low_ns\": %llu, \"high_ns\": %llu, \"count\": %llu}", j->first ? "" : ", ",
		    (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)c);
	j->first = 0;
}

static void json_stats(struct strbuf *out, const struct hdr_hist *h)
{
	strbuf_addf(out,
		    "\"count\": %llu, \"total_ns\": %.0f, \"mean_ns\": %.1f, \"min_ns\": %llu, \"p50_ns\": %llu, "
		    "\"p90_ns\": %llu, \"p99_ns\": %llu, \"p999_ns\": %llu, \"max_ns\": %llu",
		    (unsigned long long)h->count, h->sum, hdr_mean(h), (unsigned long long)(h->count ? h->min : 0),
		    (unsigned long long)hdr_quantile(h, 0.5), (unsigned long long)hdr_quantile(h, 0.9),
		    (unsigned long long)hdr_quantile(h, 0.99), (unsigned long long)hdr_quantile(h, 0.999),
		    (unsigned long long)h->max);
}

static void json_str(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	strbuf_add_json(out, s, strlen(s));
	strbuf_addch(out, '"');
}

static void json_frame(struct strbuf *out, const struct kp_profile *p, kp_frame_t f)
{
	json_str(out, f ? kp_str_get(p, p->frames[f].name) : "[unknown]");
}

void lat_report_json(const struct lat_result *r, struct strbuf *out)
{
	strbuf_addstr(out, "{\"functions\": [");
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lat_func_result *f = &r->funcs[i];
		struct json_bins jb = { out, 1 };
		strbuf_addstr(out, i ? ",\n  {\"function\": " : "\n  {\"function\": ");
		json_str(out, f->fn.name);
		strbuf_addstr(out, ", \"module\": ");
		json_str(out, f->fn.path);
		strbuf_addstr(out, ", ");
		json_stats(out, &f->h);
		strbuf_addf(out, ", \"never_returned\": %llu, \"unmatched\": %llu, \"in_progress\": %llu, \"histogram\": [",
			    (unsigned long long)f->never_returned, (unsigned long long)f->unmatched,
			    (unsigned long long)f->in_progress);
		lat_bins(&f->h, bin_json, &jb);
		strbuf_addstr(out, "]");
		if (f->ncallers) {
			strbuf_addstr(out, ", \"callers\": [");
			for (size_t k = 0; k < f->ncallers; k++) {
				strbuf_addstr(out, k ? ", {\"caller\": " : "{\"caller\": ");
				json_frame(out, &r->prof, f->callers[k].frame);
				strbuf_addstr(out, ", ");
				json_stats(out, &f->callers[k].h);
				strbuf_addstr(out, "}");
			}
			strbuf_addstr(out, "]");
		}
		strbuf_addstr(out, "}");
	}
	strbuf_addstr(out, "\n], \"slowest\": [");
	for (size_t i = 0; i < r->nslow; i++) {
		const struct lat_slow *s = &r->slow[i];
		strbuf_addstr(out, i ? ",\n  {\"function\": " : "\n  {\"function\": ");
		json_str(out, r->funcs[s->func].fn.name);
		strbuf_addf(out, ", \"duration_ns\": %llu, \"start_ns\": %llu, \"pid\": %d, \"tid\": %d, \"caller\": ",
			    (unsigned long long)s->dur_ns, (unsigned long long)s->start_ns, s->pid, s->tid);
		json_frame(out, &r->prof, s->caller);
		if (s->stack) {
			kp_frame_t fr[128];
			uint32_t d = kp_stack_frames(&r->prof, s->stack, fr, 128);
			if (d > 128)
				d = 128;
			strbuf_addstr(out, ", \"stack\": [");
			for (uint32_t k = d; k-- > 0;) {
				json_frame(out, &r->prof, fr[k]);
				if (k)
					strbuf_addstr(out, ", ");
			}
			strbuf_addstr(out, "]");
		}
		strbuf_addstr(out, "}");
	}
	strbuf_addf(out, "\n], \"seconds\": %.6f, \"lost\": %llu, \"processes\": %u, \"threads\": %u, \"in_kernel\": %s}\n",
		    r->seconds, (unsigned long long)r->lost, r->processes, r->threads, r->in_kernel ? "true" : "false");
}

/* ---- SVG ---- */
struct svg_bins {
	struct strbuf *out;
	double x0, w, y0, h;
	double lmin, lmax;
	uint64_t max;
};

static double svg_x(const struct svg_bins *s, double v)
{
	double l = log10(v < 1 ? 1 : v);
	return s->x0 + (l - s->lmin) / (s->lmax - s->lmin) * s->w;
}

static void bin_svg(void *ctx, uint64_t lo, uint64_t hi, uint64_t c)
{
	struct svg_bins *s = ctx;
	char a[32], b[32], n[32];
	double x1 = svg_x(s, (double)lo), x2 = svg_x(s, (double)hi + 1);
	double bh = s->max ? (double)c / (double)s->max * s->h : 0;
	if (x2 - x1 < 1)
		x2 = x1 + 1;
	strbuf_addf(s->out,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d9661f\"><title>%s .. %s: %s calls</title></rect>\n",
		    x1, s->y0 + s->h - bh, x2 - x1, bh, dur(a, sizeof(a), (double)lo), dur(b, sizeof(b), (double)hi + 1),
		    cnt(n, sizeof(n), (double)c));
}

static void bin_svg_max(void *ctx, uint64_t lo, uint64_t hi, uint64_t c)
{
	struct svg_bins *s = ctx;
	if (c > s->max)
		s->max = c;
}

void lat_report_svg(const struct lat_result *r, struct strbuf *out)
{
	const double W = 900, PH = 220;
	double H = 40 + PH * (double)(r->nfuncs ? r->nfuncs : 1);
	strbuf_addf(out,
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		    "font-family=\"Verdana, sans-serif\" font-size=\"12\">\n"
		    "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
		    "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">Latency histogram</text>\n",
		    W, H, W, H, W / 2);
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lat_func_result *f = &r->funcs[i];
		struct svg_bins s = { out, 70, W - 100, 40 + PH * (double)i + 30, PH - 80, 0, 0, 0 };
		char a[32], b[32], c[32];
		double lo = f->h.count ? (double)f->h.min : 1, hi = f->h.count ? (double)f->h.max + 1 : 10;
		s.lmin = floor(log10(lo < 1 ? 1 : lo));
		s.lmax = ceil(log10(hi < 10 ? 10 : hi));
		if (s.lmax <= s.lmin)
			s.lmax = s.lmin + 1;
		strbuf_addstr(out, "<text x=\"70\" y=\"");
		strbuf_addf(out, "%.0f\" font-size=\"13\">", s.y0 - 10);
		strbuf_add_xml(out, f->fn.name, strlen(f->fn.name));
		strbuf_addf(out, " — %s calls, p50 %s, p99 %s</text>\n", cnt(a, sizeof(a), (double)f->h.count),
			    dur(b, sizeof(b), (double)hdr_quantile(&f->h, 0.5)),
			    dur(c, sizeof(c), (double)hdr_quantile(&f->h, 0.99)));
		strbuf_addf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", s.x0,
			    s.y0 + s.h, s.x0 + s.w, s.y0 + s.h);
		for (double d = s.lmin; d <= s.lmax + 1e-9; d += 1) {
			double x = s.x0 + (d - s.lmin) / (s.lmax - s.lmin) * s.w;
			strbuf_addf(out,
				    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
				    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				    x, s.y0, x, s.y0 + s.h + 4, x, s.y0 + s.h + 18, dur(a, sizeof(a), pow(10, d)));
		}
		lat_bins(&f->h, bin_svg_max, &s);
		lat_bins(&f->h, bin_svg, &s);
		strbuf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", s.x0 - 6, s.y0 + 10,
			    cnt(a, sizeof(a), (double)s.max));
	}
	strbuf_addstr(out, "</svg>\n");
}
