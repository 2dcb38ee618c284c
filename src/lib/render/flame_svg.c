/* flame_svg.c: the flame graph as one self-contained interactive SVG: numbers, labels,
 * the frames, the header with the viewer script (flame.js) and the footer. */
#include "render/flame_int.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- numbers */

static void add_grouped(struct strbuf *out, unsigned long long v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%llu", v);
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			strbuf_addch(out, ',');
		strbuf_addch(out, digits[i]);
	}
}

void kf_format_count(double v, struct strbuf *out)
{
	if (!isfinite(v)) {
		strbuf_addstr(out, "0");
		return;
	}
	if (v < 0) {
		strbuf_addch(out, '-');
		v = -v;
	}
	if (v >= 1e15) {
		strbuf_addf(out, "%.6g", v);
		return;
	}
	if (v > 0 && v < 0.001) {
		strbuf_addf(out, "%.3g", v);
		return;
	}
	double ip = floor(v);
	double frac = v - ip;
	if (frac < 0.0005 || frac > 0.9995) {
		add_grouped(out, (unsigned long long)llround(v));
		return;
	}
	char buf[16];
	snprintf(buf, sizeof(buf), "%.3f", frac);
	size_t n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0')
		n--;
	add_grouped(out, (unsigned long long)ip);
	strbuf_add(out, buf + 1, n - 1); /* ".5" */
}

static void add_pct(struct strbuf *out, double part, double whole)
{
	double pct = whole > 0 ? 100.0 * part / whole : 0;
	strbuf_addf(out, "%.2f%%", pct);
}

/* Signed count and percent change, for differential tooltips. */
static void add_delta(struct strbuf *out, double after, double before)
{
	double d = after - before;
	strbuf_addch(out, d > 0 ? '+' : d < 0 ? '-' : '+');
	kf_format_count(fabs(d), out);
	if (before > 0)
		strbuf_addf(out, ", %+.2f%%", 100.0 * d / before);
	else if (after > 0)
		strbuf_addstr(out, ", new");
}

/* ---------------------------------------------------------------- SVG */

struct geom {
	double xpad, usable, top, bottom, height, fh, fs, cw;
	double px; /* pixels per value unit */
};

static void geometry(const struct kf_opts *o, const struct kf_layout *l, struct geom *g)
{
	g->xpad = 10;
	g->usable = o->width - 2 * g->xpad;
	if (g->usable < 1)
		g->usable = 1;
	g->fh = o->frame_height;
	g->fs = o->fontsize;
	g->cw = o->fontsize * o->fontwidth;
	g->top = round(g->fs * 3) + (o->subtitle ? round(g->fs * 2) : 0);
	g->bottom = round(g->fs * 2 + 10);
	g->height = (l->max_depth + 1) * g->fh + g->top + g->bottom;
	g->px = l->total > 0 ? g->usable / l->total : 0;
}

static double box_y(const struct kf_opts *o, const struct geom *g, uint32_t depth)
{
	if (o->inverted)
		return g->top + depth * g->fh;
	return g->height - g->bottom - (depth + 1) * g->fh;
}

/* Appends number v with up to `decimals` decimals, trailing zeros dropped. */
static void add_num(struct strbuf *out, double v, int decimals)
{
	static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7 };
	char buf[48];
	int n;
	if (decimals >= 0 && decimals <= 7 && fabs(v) < 1e12) {
		/* fixed point by hand: SVGs have many numbers and printf is slow at this */
		unsigned long long scaled = (unsigned long long)llround(fabs(v) * pow10[decimals]);
		unsigned long long unit = (unsigned long long)pow10[decimals];
		unsigned long long ip = scaled / unit, frac = scaled % unit;
		char *p = buf + sizeof(buf);
		int d = decimals;
		/* fraction digits, trailing zeros dropped */
		while (d > 0 && frac % 10 == 0) {
			frac /= 10;
			d--;
		}
		if (d > 0) {
			for (int k = 0; k < d; k++) {
				*--p = (char)('0' + frac % 10);
				frac /= 10;
			}
			*--p = '.';
		}
		do {
			*--p = (char)('0' + ip % 10);
			ip /= 10;
		} while (ip);
		if (v < 0 && scaled)
			*--p = '-';
		strbuf_add(out, p, (size_t)(buf + sizeof(buf) - p));
		return;
	}
	n = snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	if (n <= 0 || (size_t)n >= sizeof(buf)) {
		strbuf_addch(out, '0');
		return;
	}
	if (memchr(buf, '.', (size_t)n)) {
		while (n > 1 && buf[n - 1] == '0')
			n--;
		if (buf[n - 1] == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0')
		n = 1, buf[0] = '0';
	strbuf_add(out, buf, (size_t)n);
}

/* Widths keep four significant digits, so that zooming far in stays exact. */
static void add_width(struct strbuf *out, double w)
{
	int decimals = w >= 1000 ? 1 : w >= 100 ? 2 : w >= 10 ? 3 : w >= 1 ? 4 : 5;
	if (w < 0.01)
		decimals = 7;
	add_num(out, w, decimals);
}

/* Number of characters (UTF-8 code points) in s. */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* Byte length of the first `chars` characters of s. */
static size_t utf8_prefix(const char *s, size_t len, size_t chars)
{
	size_t i = 0, n = 0;
	while (i < len) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == chars)
				break;
			n++;
		}
		i++;
	}
	return i;
}


/* Label text that fits w pixels: the name, or its start and "..", or nothing. */
static void add_label(struct strbuf *out, const char *name, size_t len, double w, double cw)
{
	double fit = floor((w - 3) / cw);
	if (fit < 3)
		return;
	size_t chars = utf8_chars(name, len);
	if ((double)chars <= fit) {
		strbuf_add_xml(out, name, len);
		return;
	}
	strbuf_add_xml(out, name, utf8_prefix(name, len, (size_t)fit - 2));
	strbuf_addstr(out, "..");
}

static const char *default_title(const struct kf_opts *o)
{
	if (o->diff)
		return o->inverted ? "Differential Icicle Graph" : "Differential Flame Graph";
	if (o->flamechart)
		return "Flame Chart";
	return o->inverted ? "Icicle Graph" : "Flame Graph";
}

/* JSON-ish string for the script: quotes, escapes, and no "<" or ">" (CDATA-safe). */
static void add_js_string(struct strbuf *out, const char *s)
{
	struct strbuf tmp = STRBUF_INIT;
	strbuf_add_json(&tmp, s, strlen(s));
	strbuf_addch(out, '"');
	for (size_t i = 0; i < tmp.len; i++) {
		if (tmp.buf[i] == '<')
			strbuf_addstr(out, "\\u003c");
		else if (tmp.buf[i] == '>')
			strbuf_addstr(out, "\\u003e");
		else
			strbuf_addch(out, tmp.buf[i]);
	}
	strbuf_addch(out, '"');
	strbuf_release(&tmp);
}

static const char *background(const struct kf_opts *o)
{
	if (o->diff)
		return "#e8e8e8";
	switch (o->palette) {
	case KF_MEM:
		return "#e0f0e0";
	case KF_IO:
	case KF_WAKEUP:
	case KF_BLUE:
	case KF_AQUA:
		return "#e0e0ff";
	default:
		return "#eeeeb0";
	}
}

extern const char kf_script[]; /* flame_js.c */

static void svg_header(const struct kf_opts *o, const struct geom *g, struct strbuf *out)
{
	const char *font = o->fonttype ? o->fonttype : "Verdana";
	strbuf_addf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
			 "<svg version=\"1.1\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
			 "xmlns=\"http://www.w3.org/2000/svg\">\n",
		    o->width, g->height, o->width, g->height);
	if (o->notes) {
		strbuf_addstr(out, "<desc id=\"notes\">");
		strbuf_add_xml(out, o->notes, strlen(o->notes));
		strbuf_addstr(out, "</desc>\n");
	}
	strbuf_addstr(out, "<style>\ntext{font-family:");
	/* a font name goes into CSS: keep it to characters that cannot end the rule */
	for (const char *c = font; *c; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == ' ' || *c == '-' || *c == '_' || *c == ',')
			strbuf_addch(out, *c);
	strbuf_addf(out, ",sans-serif;font-size:%gpx;fill:#000}\n", g->fs);
	strbuf_addf(out,
		    "#title{text-anchor:middle;font-size:%gpx}\n"
		    "#subtitle{text-anchor:middle;fill:#a0a0a0}\n"
		    "#matched{text-anchor:end}\n"
		    "#frames rect{rx:2px;ry:2px}\n"
		    "#frames g{cursor:pointer}\n"
		    "#frames g:hover rect{stroke:#000;stroke-width:0.5}\n"
		    "#frames text{pointer-events:none}\n"
		    "#frames g.parent{opacity:0.5}\n"
		    ".hide{display:none}\n"
		    "#unzoom,#search{cursor:pointer}\n"
		    "#sbox{fill:#fff;stroke:#999}\n"
		    "#search.on #sbox{stroke:#000;stroke-width:1.5}\n"
		    "%s"
		    "</style>\n",
		    g->fs + 5, o->diff ? "#frames rect{stroke:#d0d0d0;stroke-width:0.5}\n" : "");
	strbuf_addf(out,
		    "<defs><linearGradient id=\"bg\" x1=\"0\" x2=\"0\" y1=\"0\" y2=\"1\">"
		    "<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
		    "</linearGradient></defs>\n"
		    "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%.0f\" fill=\"url(#bg)\"/>\n",
		    background(o), o->width, g->height);
	strbuf_addf(out, "<text id=\"title\" x=\"%g\" y=\"%g\">", o->width / 2.0, g->fs * 2);
	const char *title = o->title ? o->title : default_title(o);
	strbuf_add_xml(out, title, strlen(title));
	strbuf_addstr(out, "</text>\n");
	if (o->subtitle) {
		strbuf_addf(out, "<text id=\"subtitle\" x=\"%g\" y=\"%g\">", o->width / 2.0, g->fs * 4);
		strbuf_add_xml(out, o->subtitle, strlen(o->subtitle));
		strbuf_addstr(out, "</text>\n");
	}
	strbuf_addf(out, "<text id=\"details\" x=\"%g\" y=\"%g\"> </text>\n", g->xpad, g->height - g->fs / 2 - 2);
	strbuf_addf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%g\" y=\"%g\">Reset Zoom</text>\n",
		    g->xpad, g->fs * 2);
	double sw = 200, sx = o->width - g->xpad - sw;
	strbuf_addf(out,
		    "<g id=\"search\"><rect id=\"sbox\" x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" rx=\"3\"/>"
		    "<text id=\"stext\" x=\"%g\" y=\"%g\" fill=\"#888\">Search (regex, Ctrl-F)</text></g>\n",
		    sx, g->fs * 2 - g->fs - 3, sw, g->fs + 8, sx + 4, g->fs * 2);
	strbuf_addf(out, "<text id=\"matched\" x=\"%g\" y=\"%g\"> </text>\n", o->width - g->xpad,
		    g->height - g->fs / 2 - 2);
}

static void svg_footer(const struct kf_opts *o, const struct geom *g, const struct kf_layout *l,
		       struct strbuf *out)
{
	strbuf_addf(out, "</g>\n<script><![CDATA[\nvar C={xpad:%g,W:%g,fh:%g,fs:%g,cw:%g,inv:%d,chart:%d,nametype:",
		    g->xpad, g->usable, g->fh, g->fs, g->cw, o->inverted ? 1 : 0, o->flamechart ? 1 : 0);
	add_js_string(out, o->nametype ? o->nametype : "Function:");
	strbuf_addstr(out, "};\n");
	strbuf_addstr(out, kf_script);
	strbuf_addstr(out, "]]></script>\n</svg>\n");
	(void)l;
}

/* Appends the frames; returns how many. */
static void svg_frames(struct kf_tree *t, const struct kf_opts *o, const struct geom *g,
		       const struct kf_layout *l, struct strbuf *out)
{
	struct strbuf name = STRBUF_INIT;
	const char *countname = o->countname ? o->countname : "samples";
	double maxd = 0;
	if (o->diff)
		for (uint32_t i = 0; i < l->nboxes; i++) {
			double d = fabs(l->boxes[i].self - l->boxes[i].self_before);
			if (d > maxd)
				maxd = d;
		}
	strbuf_addstr(out, "<g id=\"frames\">\n");
	for (uint32_t i = 0; i < l->nboxes; i++) {
		const struct kf_box *b = &l->boxes[i];
		strbuf_reset(&name);
		kf_tree_name(t, b->key, &name);
		double x = g->xpad + b->x * g->px, w = b->w * g->px;
		double y = box_y(o, g, b->depth);
		size_t tl = name.len > TITLE_MAX ? utf8_prefix(name.buf, TITLE_MAX, TITLE_MAX) : name.len;
		strbuf_addstr(out, "<g><title>");
		strbuf_add_xml(out, name.buf, tl);
		if (tl < name.len)
			strbuf_addstr(out, "...");
		strbuf_addstr(out, " (");
		kf_format_count(b->w, out);
		strbuf_addch(out, ' ');
		strbuf_add_xml(out, countname, strlen(countname));
		strbuf_addstr(out, ", ");
		add_pct(out, b->w, l->total);
		if (o->diff) {
			strbuf_addstr(out, "; before ");
			kf_format_count(b->w_before, out);
			strbuf_addstr(out, ", ");
			add_delta(out, b->w, b->w_before);
			if (b->self != b->self_before) {
				strbuf_addstr(out, "; self ");
				add_delta(out, b->self, b->self_before);
			}
		}
		strbuf_addstr(out, ")</title><rect x=\"");
		add_num(out, x, 2);
		strbuf_addstr(out, "\" y=\"");
		add_num(out, y, 1);
		strbuf_addstr(out, "\" width=\"");
		add_width(out, w);
		strbuf_addstr(out, "\" height=\"");
		add_num(out, g->fh - 1, 1);
		uint32_t col;
		if (o->diff)
			col = kf_diff_color((o->negate ? -1 : 1) * (b->self - b->self_before), maxd);
		else
			col = kf_color(o, name.buf, name.len, b->flags, (uint64_t)b->node * 0x9e3779b97f4a7c15ull);
		strbuf_addf(out, "\" fill=\"#%06x\"/>", col);
		size_t before = out->len;
		strbuf_addstr(out, "<text x=\"");
		add_num(out, x + 3, 2);
		strbuf_addstr(out, "\" y=\"");
		add_num(out, y + (g->fh - 1) / 2 + g->fs / 3, 1);
		strbuf_addstr(out, "\">");
		size_t mark = out->len;
		add_label(out, name.buf, name.len, w, g->cw);
		if (out->len == mark)
			strbuf_setlen(out, before); /* nothing fits: no <text>; the viewer adds it on zoom */
		else
			strbuf_addstr(out, "</text>");
		strbuf_addstr(out, "</g>\n");
	}
	strbuf_release(&name);
}

int kf_render_svg(struct kf_tree *t, const struct kf_opts *o, struct strbuf *out, struct kf_layout *st)
{
	struct kf_layout l;
	struct geom g;
	size_t base = out->len, budget = 0;
	if (o->max_size) {
		/* what the page takes besides the frames (its height hardly matters) */
		struct strbuf fixed = STRBUF_INIT;
		struct kf_layout none = { 0 };
		geometry(o, &none, &g);
		svg_header(o, &g, &fixed);
		svg_footer(o, &g, &none, &fixed);
		size_t fixed_len = fixed.len + 64;
		strbuf_release(&fixed);
		budget = o->max_size > fixed_len + 1024 ? o->max_size - fixed_len : 1024;
	}
	for (int attempt = 0;; attempt++) {
		if (kf_layout_fit(t, o, 0, budget, &l) < 0)
			return -1;
		geometry(o, &l, &g);
		strbuf_setlen(out, base);
		svg_header(o, &g, out);
		svg_frames(t, o, &g, &l, out);
		svg_footer(o, &g, &l, out);
		size_t len = out->len - base;
		if (!o->max_size || len <= o->max_size || l.nboxes <= 1 || attempt >= 8)
			break;
		/* the estimate was short (escaped or long names): shrink the budget */
		double ratio = (double)o->max_size / (double)len;
		budget = (size_t)((double)budget * ratio * 0.97);
		kf_layout_release(&l);
	}
	if (st) {
		*st = l;
		st->boxes = NULL;
	}
	kf_layout_release(&l);
	return 0;
}
