/* flame_opts.h: the visual options `kiln flame` and `kiln diff` share (flamegraph.pl's names). */
#ifndef KILN_CMD_FLAME_OPTS_H
#define KILN_CMD_FLAME_OPTS_H
#include "render/flame.h"
#include "util/strbuf.h"
#include <getopt.h>

/* getopt_long values of the shared options, from FLAME_OPT_BASE up. */
enum {
	FLAME_OPT_BASE = 300,
	FO_TITLE = FLAME_OPT_BASE, FO_SUBTITLE, FO_WIDTH, FO_HEIGHT, FO_MINWIDTH, FO_INVERTED,
	FO_COLORS, FO_HASH, FO_COUNTNAME, FO_NAMETYPE, FO_FONTTYPE, FO_FONTSIZE, FO_FONTWIDTH,
	FO_NOTES, FO_MAXSIZE, FO_REVERSE, FO_FLAMECHART,
	FLAME_OPT_END
};

/* The long options both commands take (terminated by a zero entry). */
extern const struct option flame_longopts[];
#define FLAME_NLONGOPTS 17

/* Applies option c with argument arg; returns 0, or an exit status (2) after a usage error. */
int flame_opt(const char *cmd, int c, const char *arg, struct kf_opts *o);

/* Renders t into svg (appended) after checking there is something to draw; says so in a
 * note when frames were dropped to keep within --max-size. Returns 0, or -1 after an
 * error naming the input called name. */
int flame_render(struct kf_tree *t, const struct kf_opts *o, const char *name, struct strbuf *svg);

/* The help lines for the shared options. */
extern const char flame_opts_help[];

/* What a count of value v is called: the profile's unit, unless it is a plain count. */
const char *flame_countname(const struct kp_profile *p, uint32_t v);
/* Index of the value named name in p, or -1 after an error listing the values it has. */
int flame_value_index(const struct kp_profile *p, const char *name, const char *path);

#endif
