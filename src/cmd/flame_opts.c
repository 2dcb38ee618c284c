/* flame_opts.c: parsing of the visual options shared by `kiln flame` and `kiln diff`. */
#include "cmd.h"
#include "flame_opts.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include <string.h>

const struct option flame_longopts[] = {
	{ "title", required_argument, NULL, FO_TITLE },
	{ "subtitle", required_argument, NULL, FO_SUBTITLE },
	{ "width", required_argument, NULL, FO_WIDTH },
	{ "height", required_argument, NULL, FO_HEIGHT },
	{ "minwidth", required_argument, NULL, FO_MINWIDTH },
	{ "inverted", no_argument, NULL, FO_INVERTED },
	{ "colors", required_argument, NULL, FO_COLORS },
	{ "hash", no_argument, NULL, FO_HASH },
	{ "countname", required_argument, NULL, FO_COUNTNAME },
	{ "nametype", required_argument, NULL, FO_NAMETYPE },
	{ "fonttype", required_argument, NULL, FO_FONTTYPE },
	{ "fontsize", required_argument, NULL, FO_FONTSIZE },
	{ "fontwidth", required_argument, NULL, FO_FONTWIDTH },
	{ "notes", required_argument, NULL, FO_NOTES },
	{ "max-size", required_argument, NULL, FO_MAXSIZE },
	{ "reverse", no_argument, NULL, FO_REVERSE },
	{ "flamechart", no_argument, NULL, FO_FLAMECHART },
	{ NULL, 0, NULL, 0 },
};

const char flame_opts_help[] =
	"  --title TEXT       title (default: Flame Graph, Icicle Graph, ...)\n"
	"  --subtitle TEXT    second line under the title\n"
	"  --width PX         image width in pixels (1200)\n"
	"  --height PX        height of one frame in pixels (16)\n"
	"  --minwidth PX|N%   leave out frames narrower than PX pixels or N% of the total\n"
	"                     (0.1); their time stays in their parent\n"
	"  --max-size SIZE    keep the SVG within SIZE bytes (2M; 0: no limit) by leaving\n"
	"                     out the narrowest frames\n"
	"  --inverted         icicle graph: roots at the top\n"
	"  --reverse          reverse each stack (leaf first) before merging\n"
	"  --colors PALETTE   hot (default), mem, io, wakeup, red, green, blue, aqua,\n"
	"                     yellow, purple, orange; java or js colour by kind of code\n"
	"  --hash             colour by name: the same function, the same colour\n"
	"  --countname TEXT   what a count is (samples, or the profile's unit)\n"
	"  --nametype TEXT    label before a frame's name in the details line (Function:)\n"
	"  --fonttype FONT    font family (Verdana)\n"
	"  --fontsize PX      font size (12)\n"
	"  --fontwidth F      average character width / font size, to fit labels (0.59)\n"
	"  --notes TEXT       text kept in the SVG's <desc> element\n";

int flame_opt(const char *cmd, int c, const char *arg, struct kf_opts *o)
{
	long l;
	double d;
	uint64_t sz;
	switch (c) {
	case FO_TITLE: o->title = arg; break;
	case FO_SUBTITLE: o->subtitle = arg; break;
	case FO_COUNTNAME: o->countname = arg; break;
	case FO_NAMETYPE: o->nametype = arg; break;
	case FO_FONTTYPE: o->fonttype = arg; break;
	case FO_NOTES: o->notes = arg; break;
	case FO_INVERTED: o->inverted = 1; break;
	case FO_HASH: o->hash = 1; break;
	case FO_REVERSE: o->reverse = 1; break;
	case FO_FLAMECHART: o->flamechart = 1; break;
	case FO_WIDTH:
		if (kiln_parse_long(arg, 100, 1000000, &l) < 0)
			return usage_error(cmd, "--width wants pixels from 100 to 1000000, not '%s'", arg);
		o->width = (int)l;
		break;
	case FO_HEIGHT:
		if (kiln_parse_long(arg, 4, 1000, &l) < 0)
			return usage_error(cmd, "--height wants a frame height in pixels from 4 to 1000, not '%s'", arg);
		o->frame_height = (int)l;
		break;
	case FO_FONTSIZE:
		if (kiln_parse_double(arg, &d) < 0 || !(d >= 1 && d <= 500))
			return usage_error(cmd, "--fontsize wants pixels from 1 to 500, not '%s'", arg);
		o->fontsize = d;
		break;
	case FO_FONTWIDTH:
		if (kiln_parse_double(arg, &d) < 0 || !(d >= 0.05 && d <= 5))
			return usage_error(cmd, "--fontwidth wants a ratio from 0.05 to 5, not '%s'", arg);
		o->fontwidth = d;
		break;
	case FO_MINWIDTH: {
		size_t n = strlen(arg);
		char num[64];
		int pct = n && arg[n - 1] == '%';
		if (pct)
			n--;
		if (n == 0 || n >= sizeof(num))
			return usage_error(cmd, "--minwidth wants pixels (0.1) or a percentage (0.5%%), not '%s'", arg);
		memcpy(num, arg, n);
		num[n] = '\0';
		if (kiln_parse_double(num, &d) < 0 || !(d >= 0) || (pct && d > 100) || d > 1e9)
			return usage_error(cmd, "--minwidth wants pixels (0.1) or a percentage (0.5%%), not '%s'", arg);
		o->minwidth = d;
		o->minwidth_percent = pct;
		break;
	}
	case FO_MAXSIZE:
		if (kiln_parse_size(arg, &sz) < 0 || (sz && sz < 65536))
			return usage_error(cmd, "--max-size wants a size of at least 64K (or 0 for no limit), not '%s'", arg);
		o->max_size = (size_t)sz;
		break;
	case FO_COLORS: {
		int p = kf_palette_parse(arg);
		if (p < 0)
			return usage_error(cmd, "unknown palette '%s': use hot, mem, io, wakeup, red, green, blue, aqua, yellow, purple, orange, java or js", arg);
		o->palette = (enum kf_palette)p;
		break;
	}
	default:
		return usage_error(cmd, "internal: option %d not handled", c);
	}
	return 0;
}

/* What a count is called: the profile's unit, unless it is a plain count. */
const char *flame_countname(const struct kp_profile *p, uint32_t v)
{
	const char *unit = kp_str_get(p, p->value_types[v].unit);
	const char *name = kp_str_get(p, p->value_types[v].name);
	if (*unit && strcmp(unit, "count"))
		return unit;
	return *name ? name : "samples";
}

/* Index of value NAME in p, or -1 after an error listing the values there are. */
int flame_value_index(const struct kp_profile *p, const char *name, const char *path)
{
	int v = kp_find_value_type(p, name);
	if (v >= 0)
		return v;
	struct strbuf sb = STRBUF_INIT;
	for (uint32_t i = 0; i < p->nvalues; i++)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", kp_str_get(p, p->value_types[i].name));
	kiln_error("'%s' has no value '%s'; it has: %s", path, name, sb.buf);
	strbuf_release(&sb);
	return -1;
}


int flame_render(struct kf_tree *t, const struct kf_opts *o, const char *name, struct strbuf *svg)
{
	struct kf_layout st;
	if (!(kf_tree_total(t, 0) > 0))
		return kiln_error("'%s' has nothing to draw: every count is zero", name);
	if (kf_render_svg(t, o, svg, &st) < 0)
		return -1;
	if (st.dropped_for_size)
		kiln_note("drew the widest %zu of %zu frames to keep the SVG within %zu KiB; "
			  "use --minwidth or --max-size 0 to change that",
			  st.candidates - st.dropped_for_size, st.candidates, o->max_size >> 10);
	return 0;
}
