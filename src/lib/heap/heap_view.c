/* heap_view.c: memory over time (SVG) and the allocation size histogram of a heap
 * profile (see heap_view.h). Memory over time is rebuilt from the samples: each holds
 * the change of a stack's live bytes (leaked_bytes) since the previous sample of that
 * stack, at the time kiln heap wrote it. */
#include "heap/heap_view.h"
#include "heap/heap_agg.h"
#include "util/error.h"
#include "util/output.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t *sort_times;
static int cmp_time(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (sort_times[x] != sort_times[y])
		return sort_times[x] < sort_times[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static const double *sort_max;
static int cmp_group(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (sort_max[x] != sort_max[y])
		return sort_max[x] > sort_max[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static double meta_d(const struct kp_profile *p, const char *key, double def)
{
	const char *s = kp_meta_get(p, key);
	char *end;
	double v;
	if (!s)
		return def;
	v = strtod(s, &end);
	return *end ? def : v;
}

/* The run's length: its duration when known, else the last sample's time (seconds). */
static double tmax_hint(const struct kp_profile *p, uint64_t last_ns)
{
	double d = meta_d(p, "heap.duration_ns", -1) / 1e9;
	return d > 0 ? d : (double)last_ns / 1e9;
}

static double nice_step(double range, int ticks)
{
	double raw = range / ticks, mag, f;
	if (raw <= 0)
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static const char *const palette[] = {
	"#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4",
	"#b2df8a", "#fb9a99", "#cab2d6", "#fdbf6f",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

int heap_chart_svg(const struct kp_profile *p, const struct heap_chart_opts *o, FILE *out)
{
	int vi = kp_find_value_type(p, "leaked_bytes"), pvi = kp_find_value_type(p, "peak_bytes");
	int top = o && o->top > 0 ? o->top : 8;
	int W = o && o->width > 0 ? o->width : 1200, H = o && o->height > 0 ? o->height : 600;
	const uint8_t *keep = o ? o->keep : NULL;
	size_t *order, n = 0, nt = 0;
	uint32_t *group_of_str, ngroups = 0, *gname, *ranked, shown;
	double *live, *gmax, *series, tmax, ymax = 0, peak_b, peak_t;
	uint64_t *times;
	struct strbuf sb = STRBUF_INIT;
	const double ml = 90, mr = 330, mt = 60, mb = 50;
	double pw = W - ml - mr, ph = H - mt - mb;

	if (vi < 0)
		return kiln_error("the profile has no 'leaked_bytes' values: not a kiln heap profile");
	if (W < 600)
		W = 600, pw = W - ml - mr;
	if (H < 300)
		H = 300, ph = H - mt - mb;
	order = xmalloc((p->nsamples + 1) * sizeof(*order));
	for (size_t i = 0; i < p->nsamples; i++)
		if (!keep || keep[i])
			order[n++] = i;
	sort_times = p->sample_time;
	qsort(order, n, sizeof(*order), cmp_time);

	/* groups: allocation sites (the leaf frame's function name) */
	group_of_str = xmalloc((p->strings.nr + 1) * sizeof(*group_of_str));
	memset(group_of_str, 0xff, (p->strings.nr + 1) * sizeof(*group_of_str));
	gname = xmalloc((p->nstacks + 1) * sizeof(*gname));
	uint32_t *stack_group = xmalloc((p->nstacks + 1) * sizeof(*stack_group));
	for (uint32_t s = 0; s < p->nstacks; s++) {
		kp_str_t name = s ? p->frames[p->stacks[s].frame].name : 0;
		if (group_of_str[name] == UINT32_MAX) {
			group_of_str[name] = ngroups;
			gname[ngroups++] = name;
		}
		stack_group[s] = group_of_str[name];
	}
	/* The samples give live bytes at the times kiln wrote them; a spike between two
	 * writes only shows in the peak snapshot (peak_bytes), which is drawn as one more
	 * point at the peak's time when the profile is of one process. */
	peak_b = meta_d(p, "heap.peak_bytes", -1);
	peak_t = meta_d(p, "heap.peak_time_ns", -1) / 1e9;
	int use_peak = !keep && pvi >= 0 && peak_t >= 0 && meta_d(p, "heap.processes", 0) == 1;
	uint64_t peak_ns = use_peak ? (uint64_t)llround(peak_t * 1e9) : 0;
	size_t peak_ti = SIZE_MAX;
	/* time points: 0, each distinct sample time, and the peak */
	times = xmalloc((n + 4) * sizeof(*times));
	times[nt++] = 0;
	for (size_t k = 0; k < n; k++) {
		uint64_t t = p->sample_time[order[k]];
		if (use_peak && peak_ti == SIZE_MAX && peak_ns <= t) {
			peak_ti = nt;
			times[nt++] = peak_ns;
		}
		if (t > times[nt - 1] || (peak_ti != SIZE_MAX && peak_ti == nt - 1))
			times[nt++] = t;
	}
	if (use_peak && peak_ti == SIZE_MAX) {
		peak_ti = nt;
		times[nt++] = peak_ns;
	}
	/* The peak is a moment: right after it, draw the next known state (a spike), not
	 * the peak held until the next sample, which would overstate it. */
	size_t after_ti = SIZE_MAX;
	if (peak_ti != SIZE_MAX && peak_ti + 1 < nt) {
		uint64_t eps = (uint64_t)(tmax_hint(p, times[nt - 1]) * 1e9 * 0.003) + 1;
		if (peak_ns + eps < times[peak_ti + 1]) {
			memmove(times + peak_ti + 2, times + peak_ti + 1, (nt - peak_ti - 1) * sizeof(*times));
			times[peak_ti + 1] = peak_ns + eps;
			after_ti = peak_ti + 1;
			nt++;
		}
	}
	/* values per group at each time point */
	double *gv = xcalloc((size_t)(ngroups + 1) * nt, sizeof(*gv));
	live = xcalloc(ngroups + 1, sizeof(*live));
	gmax = xcalloc(ngroups + 1, sizeof(*gmax));
	{
		size_t k = 0;
		for (size_t ti = 0; ti < nt; ti++) {
			if (ti == after_ti)
				continue; /* filled below, from the next point */
			if (ti == peak_ti) {
				for (size_t j = 0; j < n; j++) {
					size_t i = order[j];
					gv[(size_t)stack_group[p->sample_stack[i]] * nt + ti] += kp_sample_value(p, i, (uint32_t)pvi);
				}
			} else {
				for (; k < n && p->sample_time[order[k]] <= times[ti]; k++) {
					size_t i = order[k];
					live[stack_group[p->sample_stack[i]]] += kp_sample_value(p, i, (uint32_t)vi);
				}
				for (uint32_t g = 0; g < ngroups; g++)
					gv[(size_t)g * nt + ti] = live[g];
			}
			for (uint32_t g = 0; g < ngroups; g++) {
				double v = gv[(size_t)g * nt + ti];
				if (v > gmax[g])
					gmax[g] = v;
			}
		}
		if (after_ti != SIZE_MAX)
			for (uint32_t g = 0; g < ngroups; g++)
				gv[(size_t)g * nt + after_ti] = gv[(size_t)g * nt + after_ti + 1];
	}
	ranked = xmalloc((ngroups + 1) * sizeof(*ranked));
	for (uint32_t g = 0; g < ngroups; g++)
		ranked[g] = g;
	sort_max = gmax;
	qsort(ranked, ngroups, sizeof(*ranked), cmp_group);
	shown = 0;
	while (shown < ngroups && shown < (uint32_t)top && gmax[ranked[shown]] > 0)
		shown++;
	/* series[layer][time]: the shown groups, then "other" */
	{
		uint32_t *layer = xmalloc((ngroups + 1) * sizeof(*layer));
		for (uint32_t g = 0; g < ngroups; g++)
			layer[g] = shown;
		for (uint32_t r = 0; r < shown; r++)
			layer[ranked[r]] = r;
		series = xcalloc((size_t)(shown + 1) * nt, sizeof(*series));
		for (uint32_t g = 0; g < ngroups; g++)
			for (size_t ti = 0; ti < nt; ti++) {
				double v = gv[(size_t)g * nt + ti];
				if (v > 0)
					series[(size_t)layer[g] * nt + ti] += v;
			}
		for (size_t t = 0; t < nt; t++) {
			double sum = 0;
			for (uint32_t l = 0; l <= shown; l++)
				sum += series[(size_t)l * nt + t];
			if (sum > ymax)
				ymax = sum;
		}
		free(layer);
	}
	free(gv);
	if (!keep && peak_b > ymax)
		ymax = peak_b;
	tmax = nt ? (double)times[nt - 1] / 1e9 : 0;
	{
		double d = meta_d(p, "heap.duration_ns", -1) / 1e9;
		if (d > tmax)
			tmax = d;
	}
	if (tmax <= 0)
		tmax = 1e-3;
	if (ymax <= 0)
		ymax = 1;
	/* byte ticks at round numbers of the unit the axis shows (5 MiB, not 4.77 MiB) */
	double unit = 1;
	while (ymax / unit >= 1024 && unit < 1099511627776.0)
		unit *= 1024;
	double ystep = nice_step(ymax / unit, 5) * unit, xstep = nice_step(tmax, 8);
	ymax = ceil(ymax / ystep) * ystep;

	/* ---- SVG ---- */
	const char *cmd = kp_meta_get(p, "command");
	struct strbuf title = STRBUF_INIT;
	if (o && o->title)
		strbuf_addstr(&title, o->title);
	else
		strbuf_addf(&title, "Heap memory over time%s%s", cmd ? ": " : "", cmd ? cmd : "");
	strbuf_addf(&sb,
		    "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		    "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		    "xmlns=\"http://www.w3.org/2000/svg\">\n"
		    "<style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#222}"
		    ".t{font-size:16px}.ax{stroke:#444;stroke-width:1}.g{stroke:#ddd;stroke-width:1}"
		    "path.l:hover{opacity:0.75}</style>\n"
		    "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
		    W, H, W, H, W, H);
	strbuf_addf(&sb, "<text class=\"t\" x=\"%.1f\" y=\"28\">", ml);
	strbuf_add_xml(&sb, title.buf, title.len);
	strbuf_addstr(&sb, "</text>\n");
	strbuf_release(&title);
	/* grid and axes */
	for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
		char lab[64];
		double py = mt + ph - y / ymax * ph;
		heap_fmt_bytes(y, lab, sizeof(lab));
		strbuf_addf(&sb, "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", ml, py, ml + pw, py);
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", ml - 6, py + 4, lab);
	}
	for (double x = 0; x <= tmax + xstep / 2 && xstep > 0; x += xstep) {
		double px = ml + x / tmax * pw;
		if (px > ml + pw + 0.5)
			break;
		strbuf_addf(&sb, "<line class=\"g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px, mt, px, mt + ph);
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.4g s</text>\n", px, mt + ph + 18, x);
	}
	strbuf_addf(&sb, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", ml, mt + ph, ml + pw, mt + ph);
	strbuf_addf(&sb, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", ml, mt, ml, mt + ph);
	/* layers, bottom up: the largest site first */
	{
		double *base = xcalloc(nt, sizeof(*base));
		for (uint32_t l = 0; l <= shown; l++) {
			const char *color = l < shown ? palette[l % NPALETTE] : "#bbbbbb";
			const char *label = l < shown ? kp_str_get(p, gname[ranked[l]]) : "other";
			double lmax = 0;
			char mx[64];
			if (l < shown && !*label)
				label = "[no stack]";
			for (size_t t = 0; t < nt; t++)
				if (series[(size_t)l * nt + t] > lmax)
					lmax = series[(size_t)l * nt + t];
			if (l == shown && lmax <= 0)
				break;
			heap_fmt_bytes(lmax, mx, sizeof(mx));
			strbuf_addf(&sb, "<path class=\"l\" fill=\"%s\" stroke=\"%s\" stroke-width=\"0.5\" d=\"", color, color);
			/* steps: a value holds from its time to the next point's */
			for (size_t t = 0; t < nt; t++) {
				double x = ml + (double)times[t] / 1e9 / tmax * pw;
				double top_v = base[t] + series[(size_t)l * nt + t];
				if (t) {
					double prev = base[t - 1] + series[(size_t)l * nt + t - 1];
					strbuf_addf(&sb, " L%.1f,%.1f", x, mt + ph - prev / ymax * ph);
				}
				strbuf_addf(&sb, "%s%.1f,%.1f", t ? " L" : "M", x, mt + ph - top_v / ymax * ph);
			}
			strbuf_addf(&sb, " L%.1f,%.1f", ml + pw,
				    mt + ph - (base[nt - 1] + series[(size_t)l * nt + nt - 1]) / ymax * ph);
			strbuf_addf(&sb, " L%.1f,%.1f", ml + pw, mt + ph - base[nt - 1] / ymax * ph);
			for (size_t t = nt; t-- > 0;) {
				double x = ml + (double)times[t] / 1e9 / tmax * pw;
				strbuf_addf(&sb, " L%.1f,%.1f", x, mt + ph - base[t] / ymax * ph);
				if (t)
					strbuf_addf(&sb, " L%.1f,%.1f", x, mt + ph - base[t - 1] / ymax * ph);
			}
			strbuf_addstr(&sb, " Z\"><title>");
			strbuf_add_xml(&sb, label, strlen(label));
			strbuf_addf(&sb, ": up to %s live</title></path>\n", mx);
			for (size_t t = 0; t < nt; t++)
				base[t] += series[(size_t)l * nt + t];
			/* legend */
			double ly = mt + 8 + l * 22.0;
			strbuf_addf(&sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>", ml + pw + 20, ly,
				    color);
			strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\">", ml + pw + 40, ly + 12);
			{
				char cut[60];
				size_t ll = strlen(label);
				if (ll > 34) {
					snprintf(cut, sizeof(cut), "%.31s...", label);
					label = cut;
					ll = strlen(cut);
				}
				strbuf_add_xml(&sb, label, ll);
			}
			strbuf_addf(&sb, " (%s)</text>\n", mx);
		}
		free(base);
	}
	if (!keep && peak_b > 0 && peak_t >= 0) {
		char lab[64];
		double px = ml + peak_t / tmax * pw, py = mt + ph - peak_b / ymax * ph;
		heap_fmt_bytes(peak_b, lab, sizeof(lab));
		strbuf_addf(&sb,
			    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" stroke-dasharray=\"4,3\"/>"
			    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#c00\"/>"
			    "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\">peak %s at %.3f s</text>\n",
			    px, mt, px, mt + ph, px, py, px + 6, mt + 14, lab, peak_t);
	}
	strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time</text>\n", ml + pw / 2, (double)H - 8);
	strbuf_addstr(&sb, "</svg>\n");
	fwrite(sb.buf, 1, sb.len, out);
	strbuf_release(&sb);
	free(order);
	free(group_of_str);
	free(gname);
	free(stack_group);
	free(live);
	free(gmax);
	free(times);
	free(ranked);
	free(series);
	if (fflush(out) != 0 || ferror(out))
		return kiln_write_failed(out, "the chart");
	return 0;
}

int heap_histogram_print(const struct kp_profile *p, int json, FILE *out)
{
	const char *h = kp_meta_get(p, "heap.size_histogram");
	double counts[HEAP_HIST_BUCKETS] = { 0 }, total = 0, max = 0;
	int lo = -1, hi = -1;
	if (!h)
		return 1;
	while (*h) {
		char *end;
		long b = strtol(h, &end, 10);
		double c;
		if (end == h || *end != ':' || b < 0 || b >= HEAP_HIST_BUCKETS)
			return kiln_error("the profile's size histogram is damaged");
		c = strtod(end + 1, &end);
		if (!(c >= 0) || (*end && *end != ' '))
			return kiln_error("the profile's size histogram is damaged");
		counts[b] += c;
		h = *end ? end + 1 : end;
	}
	for (int b = 0; b < HEAP_HIST_BUCKETS; b++) {
		total += counts[b];
		if (counts[b] > max)
			max = counts[b];
		if (counts[b] > 0) {
			if (lo < 0)
				lo = b;
			hi = b;
		}
	}
	if (json) {
		fprintf(out, "{\"total\":%.0f,\"buckets\":[", total);
		for (int b = lo, first = 1; b >= 0 && b <= hi; b++) {
			if (counts[b] <= 0)
				continue;
			fprintf(out, "%s{\"min\":%.0f,\"max\":%.0f,\"count\":%.0f}", first ? "" : ",",
				b ? ldexp(1, b - 1) : 0, b ? ldexp(1, b) - 1 : 0, counts[b]);
			first = 0;
		}
		fprintf(out, "]}\n");
	} else {
		char t[64];
		heap_fmt_count(total, t, sizeof(t));
		fprintf(out, "allocation sizes (%s allocations)\n", t);
		fprintf(out, "  %-21s %13s %6s\n", "size", "allocations", "%");
		for (int b = lo; b >= 0 && b <= hi; b++) {
			char range[96], a[32], z[32], c[64];
			int bar = max > 0 ? (int)lround(40.0 * counts[b] / max) : 0;
			if (b == 0) {
				snprintf(range, sizeof(range), "0 B");
			} else {
				heap_fmt_bytes(ldexp(1, b - 1), a, sizeof(a));
				heap_fmt_bytes(ldexp(1, b), z, sizeof(z));
				snprintf(range, sizeof(range), "%s .. <%s", a, z);
			}
			heap_fmt_count(counts[b], c, sizeof(c));
			fprintf(out, "  %-21s %13s %5.1f%%  ", range, c, total > 0 ? 100.0 * counts[b] / total : 0.0);
			for (int i = 0; i < bar; i++)
				fputc('#', out);
			if (!bar && counts[b] > 0)
				fputc('.', out);
			fputc('\n', out);
		}
	}
	if (fflush(out) != 0 || ferror(out))
		return kiln_write_failed(out, "the histogram");
	return 0;
}
