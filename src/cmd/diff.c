/* diff.c: kiln diff: two profiles (folded stacks or kiln profiles) compared as a
 * differential flame graph, difffolded's three columns, or a table of changed functions. */
#include "cmd.h"
#include "flame_opts.h"
#include "profile/load.h"
#include "render/diff.h"
#include "render/flame.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln diff [options] BEFORE AFTER > diff.svg\n"
		"\n"
		"Compares two profiles: folded stacks (plain, gzip or zstd), kiln profiles, or\n"
		"pprof, .cpuprofile, speedscope or perf.data (e.g. two Go CPU profiles).\n"
		"By default draws a differential flame graph: the shape of AFTER, each frame red\n"
		"where its own time (self) grew and blue where it shrank, the deeper the colour\n"
		"the larger the change; tooltips show both counts, the change and the change in\n"
		"percent. Frames found only in BEFORE are not drawn (swap the inputs and use\n"
		"--negate to see them).\n"
		"\n"
		"options:\n"
		"  -n, --normalize    scale BEFORE's counts so that its total equals AFTER's\n"
		"                     (--folded: int(count * total2 / total1), as difffolded.pl)\n"
		"  --folded           print 'STACK BEFORE AFTER' lines (difffolded.pl's format)\n"
		"                     for every stack of either input, sorted\n"
		"  --top N            print a table of the N functions whose share (self and\n"
		"                     total, in percent of each profile) changed most\n"
		"  --negate           swap the colours: blue for growth, red for shrinking\n"
		"  --value NAME       which value of kiln profiles to compare (their default);\n"
		"                     inputs of different values (heap bytes, CPU samples,\n"
		"                     off-CPU ns) are refused unless it names one both hold\n"
		"  -o, --output FILE  write to FILE (all or nothing) instead of stdout\n"
		"  -h, --help         this help\n"
		"\n"
		"flame graph options (as for kiln flame; --colors and --hash have no effect:\n"
		"the colours show the change):\n"
		"%s"
		"\n"
		"examples:\n"
		"  kiln diff before.folded after.folded > diff.svg\n"
		"  kiln diff --normalize --folded old.folded new.folded > diff.folded\n"
		"  kiln diff --top 20 base.prof new.prof\n"
		"  kiln diff --top 20 --value samples oncpu.prof offcpu.prof\n"
		"  kiln diff go-before.pprof go-after.pprof > diff.svg\n",
		flame_opts_help);
}

struct side {
	const char *path, *name;
	struct kp_profile p;
	uint32_t v;
	int folded;
};

static const char *value_name(const struct side *s)
{
	return kp_str_get(&s->p, s->p.value_types[s->v].name);
}

static const char *value_unit(const struct side *s)
{
	return kp_str_get(&s->p, s->p.value_types[s->v].unit);
}

/* Whether the two sides' values can be compared without the user's word: the same value
 * name and unit, and for kiln profiles the same kind (cpu, offcpu, heap). */
static int same_values(const struct side *b, const struct side *a)
{
	const char *kb = kp_meta_get(&b->p, "kind"), *ka = kp_meta_get(&a->p, "kind");
	if (strcmp(value_unit(b), value_unit(a)))
		return 0;
	if (b->folded || a->folded)
		return b->folded && a->folded ? 1 : !strcmp(value_name(b), value_name(a));
	if (kb && ka && strcmp(kb, ka))
		return 0;
	return !strcmp(value_name(b), value_name(a));
}

static int load_side(struct side *s, const char *value)
{
	struct kp_auto_info info;
	s->name = strcmp(s->path, "-") ? s->path : "standard input";
	if (kp_load_auto(&s->p, s->path, &info) < 0)
		return -1;
	s->folded = !info.is_profile;
	s->v = s->p.default_value;
	/* folded text has one value of no recorded kind: --value names what it is */
	if (value && !s->folded) {
		int v = flame_value_index(&s->p, value, s->name);
		if (v < 0)
			return -1;
		s->v = (uint32_t)v;
	}
	if (s->v >= s->p.nvalues)
		return kiln_error("'%s' holds no values to compare", s->name);
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	enum { OPT_NORMALIZE = FLAME_OPT_END, OPT_FOLDED, OPT_TOP, OPT_NEGATE, OPT_VALUE };
	struct option longopts[FLAME_NLONGOPTS + 8];
	memcpy(longopts, flame_longopts, FLAME_NLONGOPTS * sizeof(struct option));
	int k = FLAME_NLONGOPTS;
	longopts[k++] = (struct option){ "normalize", no_argument, NULL, OPT_NORMALIZE };
	longopts[k++] = (struct option){ "folded", no_argument, NULL, OPT_FOLDED };
	longopts[k++] = (struct option){ "top", required_argument, NULL, OPT_TOP };
	longopts[k++] = (struct option){ "negate", no_argument, NULL, OPT_NEGATE };
	longopts[k++] = (struct option){ "value", required_argument, NULL, OPT_VALUE };
	longopts[k++] = (struct option){ "output", required_argument, NULL, 'o' };
	longopts[k++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[k++] = (struct option){ NULL, 0, NULL, 0 };
	const char *optstring = "no:h";
	const char *outpath = NULL, *value = NULL;
	int normalize = 0, folded = 0, c, rc;
	long top = 0;
	struct kf_opts o;

	kf_opts_init(&o);
	o.diff = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c >= FLAME_OPT_BASE && c < FLAME_OPT_END) {
			if (c == FO_FLAMECHART)
				return usage_error("diff", "--flamechart does not apply to a comparison");
			if ((rc = flame_opt("diff", c, optarg, &o)))
				return rc;
			continue;
		}
		switch (c) {
		case 'n':
		case OPT_NORMALIZE: normalize = 1; break;
		case OPT_FOLDED: folded = 1; break;
		case OPT_NEGATE: o.negate = 1; break;
		case OPT_VALUE: value = optarg; break;
		case OPT_TOP:
			if (kiln_parse_long(optarg, 1, 1000000000, &top) < 0)
				return usage_error("diff", "--top wants a number of functions (1 or more), not '%s'", optarg);
			break;
		case 'o': outpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("diff", argv, optstring);
		}
	}
	if (argc - optind != 2)
		return usage_error("diff", "give two inputs: BEFORE and AFTER");
	if (folded && top)
		return usage_error("diff", "choose one of --folded and --top");
	struct side sb = { 0 }, sa = { 0 };
	sb.path = argv[optind];
	sa.path = argv[optind + 1];
	if (!strcmp(sb.path, "-") && !strcmp(sa.path, "-"))
		return usage_error("diff", "only one input can be standard input");

	struct kiln_output out;
	if (kiln_output_open(&out, outpath) < 0)
		return 1;
	rc = 1;
	struct strbuf buf = STRBUF_INIT, note = STRBUF_INIT;
	struct kf_tree *t = NULL;
	if (load_side(&sb, value) < 0 || load_side(&sa, value) < 0)
		goto out;
	if (!value && !same_values(&sb, &sa)) {
		const char *kb = kp_meta_get(&sb.p, "kind"), *ka = kp_meta_get(&sa.p, "kind");
		kiln_error("cannot compare '%s' (%s%s%s, %s) with '%s' (%s%s%s, %s); pick a value both hold with --value NAME",
			   sb.name, kb ? kb : "", kb ? " " : "", value_name(&sb), value_unit(&sb), sa.name,
			   ka ? ka : "", ka ? " " : "", value_name(&sa), value_unit(&sa));
		goto out;
	}
	double tb = kp_total(&sb.p, sb.v), ta = kp_total(&sa.p, sa.v);
	double scale = normalize && tb > 0 ? ta / tb : 1;
	/* builds of one program under different names still pair */
	struct kd_match match;
	if (kd_match_programs(&sb.p, sb.v, &sa.p, sa.v, &match)) {
		strbuf_addstr(&note, "matched as one program:");
		if (match.comm_from)
			strbuf_addf(&note, " process '%s' (before) with '%s' (after)", match.comm_from, match.comm_to);
		if (match.module_from)
			strbuf_addf(&note, "%s module '%s' with '%s'", match.comm_from ? ";" : "", match.module_from,
				    match.module_to);
	}
	if (note.len && !top)
		fprintf(stderr, "kiln diff: %s\n", note.buf); /* --top prints it in its header */
	struct kd_side before = { &sb.p, sb.v, match.module_from, match.module_to }, after = { &sa.p, sa.v, NULL, NULL };
	if (!o.countname)
		o.countname = flame_countname(&sa.p, sa.v);

	if (!folded && !top) {
		t = kf_tree_new(&o, 2);
		kf_tree_add(t, &sa.p, sa.v, 0, 1);
		kf_tree_add(t, &sb.p, sb.v, 1, scale);
		if (flame_render(t, &o, sa.name, &buf) < 0)
			goto out;
	}
	if (folded) {
		/* a write error leaves the stream in error; the commit reports it, once */
		if (kd_folded_write(&before, &after, normalize, out.fp) < 0 && !ferror(out.fp)) {
			kiln_error("cannot write the comparison: %s", strerror(errno));
			goto out;
		}
	} else if (top) {
		struct kd_table table;
		kd_table_build(&before, &after, &table);
		table.note = note.len ? note.buf : NULL;
		kd_table_print(&table, (size_t)top, sb.name, sa.name, o.countname, out.fp);
		kd_table_release(&table);
	} else {
		fwrite(buf.buf, 1, buf.len, out.fp);
	}
	if (kiln_output_commit(&out) < 0)
		goto out;
	rc = 0;
out:
	strbuf_release(&note);
	kiln_output_abort(&out); /* nothing left to do after a commit */
	strbuf_release(&buf);
	kf_tree_free(t);
	kp_profile_release(&sb.p); /* initialized by kp_load_auto, or all zero: both safe */
	kp_profile_release(&sa.p);
	return rc;
}
