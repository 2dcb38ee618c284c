/* collapse.c: kiln collapse: `perf script` text -> folded stacks (stackcollapse-perf.pl). */
#include "cmd.h"
#include "collect/perfscript.h"
#include "profile/folded.h"
#include "util/input.h"
#include "util/output.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln collapse [options] [FILE|-]\n"
		"\n"
		"Turns 'perf script' output (plain, gzip or zstd) into folded stacks, one line per\n"
		"distinct stack: 'comm;caller;...;leaf COUNT', sorted. COUNT sums the event period\n"
		"where perf shows one, else the samples. The output is byte-identical to\n"
		"FlameGraph's stackcollapse-perf.pl given the same options.\n"
		"\n"
		"options:\n"
		"  --pid            root frame is comm-PID\n"
		"  --tid            root frame is comm-PID/TID\n"
		"  --kernel         mark kernel frames with _[k]\n"
		"  --jit            mark JIT frames (/tmp/perf-PID.map) with _[j]\n"
		"  --all            --kernel and --jit\n"
		"  --addrs          unknown symbols as [module <address>] instead of [module]\n"
		"  -o, --output F   write to F (atomically: all or nothing) instead of stdout\n"
		"  -h, --help       this help\n"
		"\n"
		"Inlined frames (perf's 'a->b') are marked _[i]. Only samples of the first event\n"
		"in the input are counted.\n"
		"\n"
		"examples:\n"
		"  perf record -g -- ./prog && perf script | kiln collapse > prog.folded\n"
		"  kiln collapse --pid --all perf.txt.gz -o out.folded\n"
		"  perf script | kiln collapse | kiln flame > cpu.svg\n");
}

struct progress {
	int shown;
};

static void show_progress(void *arg, unsigned long long done, unsigned long long total)
{
	struct progress *pr = arg;
	if (total)
		fprintf(stderr, "\rkiln collapse: %llu / %llu MiB", done >> 20, total >> 20);
	else
		fprintf(stderr, "\rkiln collapse: %llu MiB", done >> 20);
	pr->shown = 1;
}

int cmd_collapse(int argc, char **argv)
{
	enum { OPT_PID = 256, OPT_TID, OPT_KERNEL, OPT_JIT, OPT_ALL, OPT_ADDRS };
	static const struct option longopts[] = {
		{ "pid", no_argument, NULL, OPT_PID },
		{ "tid", no_argument, NULL, OPT_TID },
		{ "kernel", no_argument, NULL, OPT_KERNEL },
		{ "jit", no_argument, NULL, OPT_JIT },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "addrs", no_argument, NULL, OPT_ADDRS },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "o:h";
	struct kp_perfscript_opts po = { 0 };
	struct kp_perfscript_stats st;
	struct kp_folded_opts fo = { 0 };
	struct progress pr = { 0 };
	const char *outpath = NULL, *path = NULL;
	int annotate = 0, pid = 0, tid = 0, c, rc = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PID: pid = 1; break;
		case OPT_TID: tid = 1; break;
		case OPT_KERNEL: annotate |= KP_ANNOTATE_KERNEL; break;
		case OPT_JIT: annotate |= KP_ANNOTATE_JIT; break;
		case OPT_ALL: annotate |= KP_ANNOTATE_KERNEL | KP_ANNOTATE_JIT; break;
		case OPT_ADDRS: po.addrs = 1; break;
		case 'o': outpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("collapse", argv, optstring);
		}
	}
	if (argc - optind > 1)
		return usage_error("collapse", "give one input file (or '-' for standard input)");
	if (optind < argc)
		path = argv[optind];
	po.root = tid ? KP_PS_ROOT_TID : pid ? KP_PS_ROOT_PID : KP_PS_ROOT_COMM;
	if (progress_allowed()) {
		po.progress = show_progress;
		po.progress_arg = &pr;
	}

	struct kiln_input *in = kiln_input_open(path);
	if (!in)
		return 1;
	const char *name = kiln_input_name(in);
	struct kiln_output out;
	if (kiln_output_open(&out, outpath) < 0) {
		kiln_input_close(in);
		return 1;
	}
	struct kp_profile p;
	kp_profile_init(&p);
	int read_rc = kp_perfscript_read(&p, in, &po, &st);
	if (pr.shown)
		fprintf(stderr, "\r\033[K");
	if (read_rc < 0)
		goto fail;
	if (kiln_input_compressed_truncated(in))
		kiln_warn("'%s' ends inside its compressed data (truncated?); collapsed what it holds",
			  name);
	/* Real perf script text has (almost) no lines it cannot place; when most lines are
	 * junk, whatever "samples" were found are accidents. */
	if (st.bad_lines && (!st.samples || st.bad_lines > st.headers + st.frame_lines)) {
		kiln_error("'%s' does not look like 'perf script' output: %zu of its %zu lines are "
			   "neither samples nor frames (first: line %zu); make it with 'perf script'",
			   name, st.bad_lines, st.lines, st.first_bad);
		goto fail;
	}
	if (st.bad_lines)
		kiln_warn("skipped %zu line%s of '%s' that are not 'perf script' text (first: line %zu)",
			  st.bad_lines, st.bad_lines == 1 ? "" : "s", name, st.first_bad);
	if (st.filtered)
		kiln_note("counted only '%s' samples; skipped %zu of other events (first: '%s')",
			  st.event, st.filtered, st.other_event);
	if (!st.samples && st.lines)
		kiln_warn("no samples in '%s'", name);

	fo.value = (uint32_t)kp_find_value_type(&p, "period");
	fo.root = tid ? KP_ROOT_TID : pid ? KP_ROOT_PID : KP_ROOT_COMM;
	fo.annotate = annotate;
	/* a write error leaves the stream in error; the commit reports it */
	(void)kp_folded_write(&p, &fo, out.fp);
	if (kiln_output_commit(&out) < 0) {
		rc = 1;
		goto done;
	}
	rc = 0;
	goto done;
fail:
	kiln_output_abort(&out);
	rc = 1;
done:
	kp_profile_release(&p);
	kiln_input_close(in);
	return rc;
}
