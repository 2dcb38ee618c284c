/* latency.c: kiln latency: time every call of chosen functions with uprobes:
 *   kiln latency FUNC[,FUNC...] [options] (-p PID | [--] CMD [ARGS...]) */
#include "cmd.h"
#include "collect/cmdrun.h"
#include "latency/lat_report.h"
#include "latency/latency.h"
#include "profile/profile_io.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum { OPT_STACKS = 256, OPT_BY_CALLER, OPT_JSON, OPT_SVG, OPT_SLOWEST };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln latency FUNC[,FUNC...] [options] [--] CMD [ARGS...]\n"
		"       kiln latency FUNC[,FUNC...] [options] -p PID\n"
		"\n"
		"Times every call of the named functions with uprobes (perf_event_open; needs\n"
		"root), in every thread and child process of the target, and shows per function\n"
		"the calls, total, mean, min, p50, p90, p99, p99.9 and max with a log-linear\n"
		"histogram, and the slowest calls. Calls that never returned (longjmp, exit)\n"
		"and returns without an entry are counted apart.\n"
		"\n"
		"FUNC is a symbol (name, demangled C++/Rust name, with or without parameters),\n"
		"MODULE:NAME (MODULE a path or a library name such as libc), or a glob pattern.\n"
		"\n"
		"options:\n"
		"  -p, --pid PID       trace a running process (all its threads)\n"
		"  -d, --duration SECS stop after SECS (the command gets SIGTERM)\n"
		"      --stacks        keep call stacks (frame pointers) of the slowest calls\n"
		"                      and of every call in the profile\n"
		"      --by-caller     split each distribution by calling function\n"
		"      --slowest N     slowest calls to show (default 10, 0: none)\n"
		"      --json          JSON output (docs/kiln-latency.md)\n"
		"      --svg FILE      write a latency histogram picture\n"
		"  -o, --output FILE   write a profile (calls, latency_ns per stack) that report,\n"
		"                      flame and diff read\n"
		"  -q, --quiet         no summary line on stderr\n"
		"  -h, --help          this help\n"
		"\n"
		"examples:\n"
		"  kiln latency parse_request -- ./server --port 8080\n"
		"  kiln latency 'libc:malloc,libc:free' --by-caller -p 1234 -d 10\n"
		"  kiln latency 'db::*::query' --stacks -o lat.prof -- ./app && kiln flame lat.prof > lat.svg\n");
}

static int write_text(const char *path, const struct strbuf *sb)
{
	struct kiln_output out;
	if (kiln_output_open(&out, path) < 0)
		return -1;
	fwrite(sb->buf, 1, sb->len, out.fp);
	if (kiln_output_commit(&out) < 0)
		return -1;
	return 0;
}

int cmd_latency(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stacks", no_argument, NULL, OPT_STACKS },
		{ "by-caller", no_argument, NULL, OPT_BY_CALLER },
		{ "slowest", required_argument, NULL, OPT_SLOWEST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "+p:d:o:qh";
	struct lat_opts o;
	struct lat_result r;
	const char *svg = NULL, *output = NULL;
	int c, json = 0, quiet = 0, rc;
	long v;

	memset(&o, 0, sizeof(o));
	o.slowest = 10;
	/* FUNC may come first, options after it: take it out of the way of getopt */
	if (argc >= 2 && argv[1][0] != '-') {
		o.spec = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (kiln_parse_long(optarg, 1, 0x7fffffff, &v) < 0)
				return usage_error("latency", "'-p' needs a process id, not '%s'", optarg);
			o.pid = (int)v;
			break;
		case 'd':
			if (kiln_parse_duration(optarg, &o.duration) < 0 || o.duration <= 0)
				return usage_error("latency", "'--duration' needs a duration such as 10s, not '%s'", optarg);
			break;
		case OPT_STACKS: o.stacks = 1; break;
		case OPT_BY_CALLER: o.by_caller = 1; break;
		case OPT_SLOWEST:
			if (kiln_parse_long(optarg, 0, 10000, &v) < 0)
				return usage_error("latency", "'--slowest' needs a count from 0 to 10000, not '%s'", optarg);
			o.slowest = (unsigned)v;
			break;
		case OPT_JSON: json = 1; break;
		case OPT_SVG: svg = optarg; break;
		case 'o': output = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("latency", argv, optstring);
		}
	}
	if (!o.spec) {
		if (optind >= argc || !strcmp(argv[optind], "--"))
			return usage_error("latency", "no function named; give FUNC[,FUNC...] first, as in 'kiln latency my_func -- ./prog'");
		o.spec = argv[optind++];
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (o.pid && optind < argc)
		return usage_error("latency", "give either -p PID or a command, not both");
	if (!o.pid && optind >= argc)
		return usage_error("latency", "no command to run and no -p PID; as in 'kiln latency %s -- ./prog'", o.spec);
	if (!o.pid)
		o.argv = argv + optind;

	/* unwritable output paths are found now, not after the program ran */
	if ((output && kiln_output_check(output) < 0) || (svg && kiln_output_check(svg) < 0))
		return 1;
	o.profile = output != NULL;
	if (lat_run(&o, &r) < 0) {
		rc = r.exit_code ? r.exit_code : 1;
		lat_result_release(&r);
		return rc;
	}
	rc = 0;
	{
		struct strbuf sb = STRBUF_INIT;
		if (json)
			lat_report_json(&r, &sb);
		else
			lat_report_text(&r, &sb);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	}
	if (svg) {
		struct strbuf sb = STRBUF_INIT;
		lat_report_svg(&r, &sb);
		if (write_text(svg, &sb) < 0)
			rc = 1;
		strbuf_release(&sb);
	}
	if (output) {
		char **a = o.argv;
		struct strbuf cmdline = STRBUF_INIT;
		for (; a && *a; a++)
			strbuf_addf(&cmdline, "%s%s", cmdline.len ? " " : "", *a);
		if (cmdline.len)
			kp_meta_set(&r.prof, "command", cmdline.buf);
		kp_meta_set(&r.prof, "latency.functions", o.spec);
		strbuf_release(&cmdline);
		if (kp_profile_save(&r.prof, output) < 0)
			rc = 1;
	}
	uint64_t calls = 0;
	for (size_t i = 0; i < r.nfuncs; i++)
		calls += r.funcs[i].h.count + r.funcs[i].never_returned + r.funcs[i].in_progress;
	if (!calls) {
		if (r.target_ran)
			kiln_error("no call of '%s' was seen: '%s' ended after %.3f s (%s %d) without calling it",
				   o.spec, o.argv[0], r.seconds, WIFEXITED(r.status) ? "exit status" : "signal",
				   WIFEXITED(r.status) ? WEXITSTATUS(r.status) : WTERMSIG(r.status));
		else
			kiln_error("no call of '%s' was seen in process %d in %.3f s", o.spec, o.pid, r.seconds);
		if (!rc)
			rc = 1;
	} else if (!quiet && r.lost) {
		kiln_warn("the kernel dropped %llu events: the counts are low", (unsigned long long)r.lost);
	}
	if (r.target_ran) {
		int code = kc_exit_code(r.status);
		if (code)
			rc = code;
	}
	lat_result_release(&r);
	return rc;
}
