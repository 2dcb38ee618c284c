/* flame.c: kiln flame: folded stacks or a kiln profile -> interactive flame graph SVG. */
#include "cmd.h"
#include "flame_opts.h"
#include "profile/load.h"
#include "render/flame.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln flame [options] [FILE|-] > out.svg\n"
		"\n"
		"Draws an interactive flame graph (a self-contained SVG: open it in a browser)\n"
		"from folded stacks ('a;b;c COUNT' lines, as 'kiln collapse' and FlameGraph's\n"
		"stackcollapse scripts write; plain, gzip or zstd) or from a profile: kiln's,\n"
		"pprof, .cpuprofile, speedscope or perf.data (recognised by content).\n"
		"Hover a frame for its count and share, click to zoom, Ctrl-F to search.\n"
		"\n"
		"options:\n"
		"%s"
		"  --flamechart       flame chart: samples in input order, x is time\n"
		"  --factor F         multiply every count by F\n"
		"  --value NAME       which value of a kiln profile to draw (its default)\n"
		"  -o, --output FILE  write to FILE (all or nothing) instead of stdout\n"
		"  -h, --help         this help\n"
		"\n"
		"examples:\n"
		"  perf script | kiln collapse | kiln flame > cpu.svg\n"
		"  kiln flame --title 'myprog, cpu' --minwidth 0.5 prog.folded -o prog.svg\n"
		"  kiln flame --inverted --colors java --hash app.folded.gz > icicle.svg\n"
		"  kiln flame --value cpu_ns kiln.prof > cpu.svg\n",
		flame_opts_help);
}

int cmd_flame(int argc, char **argv)
{
	enum { OPT_VALUE = FLAME_OPT_END, OPT_FACTOR };
	struct option longopts[FLAME_NLONGOPTS + 5];
	memcpy(longopts, flame_longopts, FLAME_NLONGOPTS * sizeof(struct option));
	longopts[FLAME_NLONGOPTS + 0] = (struct option){ "value", required_argument, NULL, OPT_VALUE };
	longopts[FLAME_NLONGOPTS + 1] = (struct option){ "factor", required_argument, NULL, OPT_FACTOR };
	longopts[FLAME_NLONGOPTS + 2] = (struct option){ "output", required_argument, NULL, 'o' };
	longopts[FLAME_NLONGOPTS + 3] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[FLAME_NLONGOPTS + 4] = (struct option){ NULL, 0, NULL, 0 };
	const char *optstring = "o:h";
	const char *outpath = NULL, *path = "-", *value = NULL;
	double factor = 1;
	struct kf_opts o;
	int c, rc;

	kf_opts_init(&o);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c >= FLAME_OPT_BASE && c < FLAME_OPT_END) {
			if ((rc = flame_opt("flame", c, optarg, &o)))
				return rc;
			continue;
		}
		switch (c) {
		case OPT_VALUE: value = optarg; break;
		case OPT_FACTOR:
			if (kiln_parse_double(optarg, &factor) < 0 || !(factor > 0) || factor > 1e15)
				return usage_error("flame", "--factor wants a positive number, not '%s'", optarg);
			break;
		case 'o': outpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("flame", argv, optstring);
		}
	}
	if (argc - optind > 1)
		return usage_error("flame", "give one input file (or '-' for standard input)");
	if (optind < argc)
		path = argv[optind];
	else if (isatty(0))
		return usage_error("flame", "no input: give a file of folded stacks or a profile, or pipe one in");

	struct kiln_output out;
	if (kiln_output_open(&out, outpath) < 0)
		return 1;
	struct kp_profile p;
	struct kp_auto_info info;
	if (kp_load_auto(&p, path, &info) < 0) {
		kp_profile_release(&p);
		kiln_output_abort(&out);
		return 1;
	}
	const char *name = strcmp(path, "-") ? path : "standard input";
	uint32_t v = p.default_value;
	if (value) {
		int vi = flame_value_index(&p, value, name);
		if (vi < 0) {
			kp_profile_release(&p);
			kiln_output_abort(&out);
			return 1;
		}
		v = (uint32_t)vi;
	}
	if (v >= p.nvalues) {
		kiln_error("'%s' holds no values to draw", name);
		kp_profile_release(&p);
		kiln_output_abort(&out);
		return 1;
	}
	if (!o.countname)
		o.countname = flame_countname(&p, v);

	struct kf_tree *t = kf_tree_new(&o, 1);
	kf_tree_add(t, &p, v, 0, factor);
	struct strbuf svg = STRBUF_INIT;
	rc = 1;
	if (flame_render(t, &o, name, &svg) < 0)
		goto out;
	fwrite(svg.buf, 1, svg.len, out.fp);
	if (kiln_output_commit(&out) < 0)
		goto out;
	rc = 0;
out:
	kiln_output_abort(&out); /* nothing left to do after a commit */
	strbuf_release(&svg);
	kf_tree_free(t);
	kp_profile_release(&p);
	return rc;
}
