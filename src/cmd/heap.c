/* heap.c: kiln heap: record a program's allocations (peak, leaks, temporaries, memory
 * over time) with the LD_PRELOAD library, and the heap-only views of the profile:
 *   kiln heap [-o FILE] [--sample BYTES] [--] CMD [ARGS...]
 *   kiln heap report [FILE]      (the same report as kiln report -i FILE)
 *   kiln heap chart [FILE]       memory over time, SVG
 *   kiln heap histogram [FILE]   allocation sizes */
#include "cmd.h"
#include "heap/heap_report.h"
#include "heap/heap_run.h"
#include "heap/heap_suppress.h"
#include "heap/heap_view.h"
#include "profile/folded.h"
#include "profile/load.h"
#include "util/output.h"
#include "util/parse.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_OUTPUT "heap.prof"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln heap [-o FILE] [--sample BYTES] [--suppressions FILE] [-q] [--] CMD [ARGS...]\n"
		"       kiln heap report [FILE] [--value NAME] [--top N] [--json | --folded]\n"
		"                        [--suppressions FILE]\n"
		"       kiln heap chart [FILE] [-o OUT.svg] [--top N] [--title TEXT]\n"
		"       kiln heap histogram [FILE] [--json]\n"
		"\n"
		"Runs CMD with kiln's heap library preloaded and records every allocation\n"
		"(malloc, calloc, realloc, posix_memalign, C++ new, ...) with its call stack, in\n"
		"every thread and in every process CMD forks or execs. The profile is written\n"
		"as the program runs; 'kiln report' and 'kiln flame' read it.\n"
		"\n"
		"options:\n"
		"  -o, --output FILE   profile to write (default " DEFAULT_OUTPUT "; an existing one\n"
		"                      is kept as FILE.old)\n"
		"      --sample BYTES  record one allocation per BYTES allocated on average\n"
		"                      (e.g. 512K) instead of all: little overhead, estimates\n"
		"      --linger SECS   after CMD exits, wait this long for processes it left\n"
		"                      running (default 0.5)\n"
		"      --python-internals  keep CPython's own C frames around Python frames\n"
		"                      (hidden by default; Python 3.11 programs show their\n"
		"                      functions and lines)\n"
		"      --suppressions FILE\n"
		"                      leaks not to report, in LeakSanitizer's format: lines\n"
		"                      'leak:PATTERN' matching a function, module or source\n"
		"                      file of the stack ('*' wildcards, '^' '$' anchors); kept\n"
		"                      in the profile. stdio buffers and libstdc++'s exception\n"
		"                      pool are suppressed always\n"
		"  -q, --quiet         no summary at the end\n"
		"  -h, --help          this help\n"
		"\n"
		"report, chart and histogram read FILE (default " DEFAULT_OUTPUT "):\n"
		"  --value NAME        one table of NAME: alloc_count, alloc_bytes, peak_bytes,\n"
		"                      leaked_count, leaked_bytes, temp_count\n"
		"  --top N             rows per table / contributors in the chart (default 10 / 8)\n"
		"  --json              machine-readable output (docs/kiln-heap.md)\n"
		"  --folded            folded stacks of --value (default peak_bytes)\n"
		"\n"
		"examples:\n"
		"  kiln heap -- ./myprog input.txt     record into " DEFAULT_OUTPUT "\n"
		"  kiln report -i " DEFAULT_OUTPUT "              summary, peak, leaks, calls, temporaries\n"
		"  kiln heap chart > memory.svg        memory over time\n"
		"  kiln flame " DEFAULT_OUTPUT " > peak.svg        flame graph of the peak\n"
		"  kiln heap -- python3 app.py         Python functions and lines (3.11)\n"
		"  kiln heap --sample 512K -- ./server long-running, almost no overhead\n"
		"  kiln heap --suppressions lsan.supp -- ./prog   leaks listed there hidden\n");
}

static int load_heap_profile(const char *path, struct kp_profile *p)
{
	struct kp_auto_info info;
	if (kp_load_auto(p, path, &info) < 0) {
		kp_profile_release(p); /* initialized even when loading failed */
		return -1;
	}
	if (!info.is_profile || !heap_is_profile(p)) {
		kp_profile_release(p);
		return kiln_error("'%s' is not a heap profile; record one with 'kiln heap -- CMD'", path);
	}
	return 0;
}

enum { OPT_SAMPLE = 256, OPT_LINGER, OPT_PYINT, OPT_VALUE, OPT_TOP, OPT_JSON, OPT_FOLDED, OPT_TITLE, OPT_SUPP };

static int parse_view_opts(const char *sub, int argc, char **argv, const char **file, const char **value, int *top,
			   int *json, int *folded, const char **output, const char **title, const char **supp)
{
	static const struct option longopts[] = {
		{ "value", required_argument, NULL, OPT_VALUE },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "suppressions", required_argument, NULL, OPT_SUPP },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "o:i:h";
	int c;
	long n;
	char name[32];
	snprintf(name, sizeof(name), "heap %s", sub);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VALUE: *value = optarg; break;
		case OPT_TOP:
			if (kiln_parse_long(optarg, 1, 1000000, &n) < 0)
				return usage_error(name, "'--top' needs a positive number, not '%s'", optarg);
			*top = (int)n;
			break;
		case OPT_JSON: *json = 1; break;
		case OPT_FOLDED: *folded = 1; break;
		case OPT_TITLE: *title = optarg; break;
		case OPT_SUPP: *supp = optarg; break;
		case 'o': *output = optarg; break;
		case 'i': *file = optarg; break;
		case 'h': usage(stdout); return -1;
		default: return bad_option(name, argv, optstring);
		}
	}
	if (optind < argc)
		*file = argv[optind++];
	if (optind < argc)
		return usage_error(name, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static int cmd_heap_view(const char *sub, int argc, char **argv)
{
	const char *file = DEFAULT_OUTPUT, *value = NULL, *output = NULL, *title = NULL, *supp = NULL;
	int top = 0, json = 0, folded = 0, rc;
	struct kp_profile p;
	rc = parse_view_opts(sub, argc, argv, &file, &value, &top, &json, &folded, &output, &title, &supp);
	if (rc == -1)
		return 0; /* --help */
	if (rc)
		return rc;
	if (json && folded)
		return usage_error("heap report", "'--json' and '--folded' do not go together");
	if (!strcmp(sub, "report")) {
		if (load_heap_profile(file, &p) < 0)
			return 1;
		if (folded) {
			struct kp_folded_opts fo;
			int v = kp_find_value_type(&p, value ? value : "peak_bytes");
			if (v < 0) {
				kp_profile_release(&p);
				return usage_error("heap report", "'%s' is not a value of this profile", value);
			}
			memset(&fo, 0, sizeof(fo));
			fo.value = (uint32_t)v;
			uint8_t *keep = NULL;
			if (heap_leak_keep(&p, v, supp, NULL, &keep) < 0) {
				kp_profile_release(&p);
				return 1;
			}
			fo.keep = keep;
			rc = kp_folded_write(&p, &fo, stdout) < 0 ? 1 : 0;
			free(keep);
		} else {
			struct heap_report_opts ro;
			memset(&ro, 0, sizeof(ro));
			ro.value = value;
			ro.top = top;
			ro.json = json;
			ro.suppressions = supp;
			rc = heap_report_print(&p, &ro, stdout) == 0 ? 0 : 1;
		}
		kp_profile_release(&p);
		return rc;
	}
	if (!strcmp(sub, "chart")) {
		struct kiln_output out;
		struct heap_chart_opts co;
		if (kiln_output_open(&out, output) < 0)
			return 1;
		if (load_heap_profile(file, &p) < 0) {
			kiln_output_abort(&out);
			return 1;
		}
		memset(&co, 0, sizeof(co));
		co.top = top;
		co.title = title;
		rc = heap_chart_svg(&p, &co, out.fp);
		if (rc == 0)
			rc = kiln_output_commit(&out);
		else
			kiln_output_abort(&out);
		kp_profile_release(&p);
		return rc ? 1 : 0;
	}
	/* histogram */
	if (load_heap_profile(file, &p) < 0)
		return 1;
	rc = heap_histogram_print(&p, json, stdout);
	if (rc == 1)
		kiln_error("'%s' holds no size histogram: the recording was cut short before its end", file);
	kp_profile_release(&p);
	return rc ? 1 : 0;
}

struct progress {
	int shown;
	struct timespec start;
};

/* On a terminal, once naming the last stacks takes a moment, says how many are left. */
static void show_progress(void *ctx, size_t left)
{
	struct progress *pg = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!pg->start.tv_sec && !pg->start.tv_nsec) {
		pg->start = now;
		return;
	}
	if ((double)(now.tv_sec - pg->start.tv_sec) + (double)(now.tv_nsec - pg->start.tv_nsec) / 1e9 < 0.5)
		return;
	fprintf(stderr, "\rkiln heap: naming call stacks, %zu left   ", left);
	pg->shown = 1;
}

static void print_result(const struct heap_run_opts *o, const struct heap_run_result *r)
{
	char a[64], b[64], c[64], d[64];
	const struct heap_proc_stats *t = &r->total;
	if (!r->processes) {
		kiln_warn("no allocation was recorded: '%s' did not load kiln's heap library "
			  "(it cleared LD_PRELOAD, or ran only statically linked or setuid programs)",
			  o->argv[0]);
		return;
	}
	heap_fmt_count(t->allocs, a, sizeof(a));
	heap_fmt_bytes(t->bytes, b, sizeof(b));
	heap_fmt_count(t->temps, c, sizeof(c));
	fprintf(stderr, "kiln heap: %s allocations (%s) in %.3g s, %s temporary%s\n", a, b, r->seconds, c,
		o->sample_bytes ? " (estimated from samples)" : "");
	heap_fmt_bytes((double)r->peak_rss, b, sizeof(b));
	/* as the report: suppressed leaks apart */
	heap_fmt_bytes(t->live_bytes - r->suppressed_bytes, c, sizeof(c));
	heap_fmt_count(t->live_count - r->suppressed_count, d, sizeof(d));
	if (r->processes > 1) {
		/* as the report's summary: memory live in all processes at one moment, then
		 * the largest peak of one process */
		char e[64];
		heap_fmt_bytes(t->peak_bytes, a, sizeof(a));
		heap_fmt_bytes(t->proc_peak_bytes, e, sizeof(e));
		fprintf(stderr, "kiln heap: peak heap %s at %.3f s (%u processes together; the largest process "
				"alone %s, pid %d), peak RSS %s, leaked %s in %s blocks\n",
			a, (double)t->peak_time_ns / 1e9, r->processes, e, (int)t->pid, b, c, d);
		fprintf(stderr, "kiln heap: %u processes recorded\n", r->processes);
	} else {
		heap_fmt_bytes(t->peak_bytes, a, sizeof(a));
		fprintf(stderr, "kiln heap: peak heap %s at %.3f s, peak RSS %s, leaked %s in %s blocks\n", a,
			(double)t->peak_time_ns / 1e9, b, c, d);
	}
	if (r->suppressed_count > 0) {
		heap_fmt_count(r->suppressed_count, a, sizeof(a));
		heap_fmt_bytes(r->suppressed_bytes, b, sizeof(b));
		fprintf(stderr, "kiln heap: %s leaked blocks (%s) suppressed (see the report's SUPPRESSED table)\n", a, b);
	}
	if (r->still_running)
		kiln_note("heap: %u process%s still running when recording ended; recorded up to then",
			  r->still_running, r->still_running > 1 ? "es were" : " was");
	if (r->gave_up)
		kiln_warn("recording stopped early in %u process%s (kiln could not keep up or went away)",
			  r->gave_up, r->gave_up > 1 ? "es" : "");
	if (r->bad_files)
		kiln_warn("%u event stream%s could not be read and %s skipped", r->bad_files,
			  r->bad_files > 1 ? "s" : "", r->bad_files > 1 ? "were" : "was");
	if (r->write_failed)
		return;
	heap_fmt_bytes((double)r->profile_bytes, a, sizeof(a));
	fprintf(stderr, "kiln heap: wrote '%s' (%s); see 'kiln report -i %s'\n", o->output, a, o->output);
}

int cmd_heap(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "linger", required_argument, NULL, OPT_LINGER },
		{ "python-internals", no_argument, NULL, OPT_PYINT },
		{ "suppressions", required_argument, NULL, OPT_SUPP },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "+o:qh";
	struct heap_run_opts o;
	struct heap_run_result r;
	char *resolved = NULL, *supp_text = NULL;
	const char *supp_file = NULL;
	int c, quiet = 0;
	struct progress pg;
	double linger = 0.5;

	if (argc >= 2 && (!strcmp(argv[1], "report") || !strcmp(argv[1], "chart") || !strcmp(argv[1], "histogram")))
		return cmd_heap_view(argv[1], argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	memset(&pg, 0, sizeof(pg));
	o.output = DEFAULT_OUTPUT;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case OPT_SAMPLE:
			if (kiln_parse_size(optarg, &o.sample_bytes) < 0 || !o.sample_bytes)
				return usage_error("heap", "'--sample' needs a size in bytes such as 512K, not '%s'", optarg);
			break;
		case OPT_LINGER:
			if (kiln_parse_duration(optarg, &linger) < 0)
				return usage_error("heap", "'--linger' needs a duration such as 2s, not '%s'", optarg);
			break;
		case OPT_PYINT: o.python_internals = 1; break;
		case 'q': quiet = 1; break;
		case OPT_SUPP: supp_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("heap", argv, optstring);
		}
	}
	if (optind >= argc)
		return usage_error("heap", "no command to run; give one after the options, as in 'kiln heap -- ./prog'");
	o.argv = argv + optind;
	o.linger = linger;

	if (progress_allowed()) {
		o.progress = show_progress;
		o.progress_ctx = &pg;
	}
	c = heap_run_check(o.argv[0], &resolved);
	if (c < 0)
		return c == -2 ? 127 : 1;
	free(resolved);
	if (supp_file) {
		/* checked before the program runs: a bad file is an error now, not later */
		struct heap_supp sp;
		heap_supp_init(&sp);
		c = heap_supp_add_file(&sp, supp_file, &supp_text);
		heap_supp_release(&sp);
		if (c < 0)
			return 1;
		o.suppressions = supp_text;
		o.suppressions_file = supp_file;
	}
	o.preload = heap_find_preload();
	if (!o.preload) {
		free(supp_text);
		return 1;
	}
	c = heap_run(&o, &r);
	free((char *)o.preload);
	free(supp_text);
	if (c < 0)
		return r.exec_failed ? 127 : 1;
	if (pg.shown)
		fprintf(stderr, "\r%60s\r", "");
	if (r.killed_after)
		kiln_warn("'%s' did not end after three signals; kiln killed it (SIGKILL)", o.argv[0]);
	if (!quiet) {
		if (WIFSIGNALED(r.status) && !r.killed_after)
			kiln_note("heap: '%s' was killed by signal %d (SIG%s); the profile holds everything up to then",
				  o.argv[0], WTERMSIG(r.status), sigabbrev_np(WTERMSIG(r.status)) ? sigabbrev_np(WTERMSIG(r.status)) : "?");
		print_result(&o, &r);
	}
	if (r.python_native_only)
		kiln_note("heap: Python %s: kiln reads the frames of Python 3.11 only; the stacks are native", r.python);
	if (r.write_failed) {
		kiln_error("'%s' is incomplete: it could not be written in full (see above)", o.output);
		return 1;
	}
	if (r.killed_after)
		return 128 + r.killed_after;
	if (WIFEXITED(r.status))
		return WEXITSTATUS(r.status);
	if (WIFSIGNALED(r.status))
		return 128 + WTERMSIG(r.status);
	return 1;
}
