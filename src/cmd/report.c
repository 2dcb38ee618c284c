/* report.c: kiln report: where the time (or memory) went in a profile. */
#include "cmd.h"
#include "heap/heap_report.h"
#include "profile/folded.h"
#include "profile/load.h"
#include "report/callers.h"
#include "report/report.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln report [options] [FILE]\n"
		"\n"
		"Shows where a profile's time (or other value) went: a table of functions with\n"
		"self and total shares, a call tree, folded stacks or JSON. FILE (or -i FILE) is a\n"
		"kiln profile, folded stacks, pprof (Go's runtime/pprof, go test -cpuprofile),\n"
		"a Chrome or node .cpuprofile, speedscope JSON or perf.data, recognised by\n"
		"content (default kiln.prof).\n"
		"\n"
		"options:\n"
		"  -i, --input FILE        profile to read (default kiln.prof; - for stdin)\n"
		"      --sort KEY          self or total: order of the table (default self);\n"
		"                          module (dso) or command (comm): rows per module or\n"
		"                          per command instead of per function (every view)\n"
		"      --callers FUNC      who calls FUNC, each caller's share of its time\n"
		"      --callees FUNC      what FUNC calls, and its own code's share\n"
		"                          (FUNC: a name, NAME@MODULE, or a unique part of a name)\n"
		"      --no-findings       leave out \"what to do next\" (and JSON \"findings\")\n"
		"      --no-inline         merge inlined functions into the function they were\n"
		"                          inlined in (every view)\n"
		"      --top N             show at most N functions\n"
		"      --percent-limit P   hide functions (and tree branches) below P percent\n"
		"                          (default 0.5 for text, 0 for --json)\n"
		"      --tree              print the call tree, callers above callees, rooted at\n"
		"                          the process name\n"
		"      --folded            print folded stacks (root = process name, kernel frames\n"
		"                          marked _[k], inlined _[i]) for any FlameGraph tool\n"
		"      --json              print the table (or with --tree the tree) as JSON\n"
		"                          (docs/kiln-report.md describes it)\n"
		"      --value NAME        the value to show (default: the profile's own default;\n"
		"                          e.g. samples, cpu_ns)\n"
		"      --unit UNIT         what the counts of folded input are: samples, count,\n"
		"                          ns, us, ms, s, bytes, or an event name such as cycles\n"
		"                          (folded text does not record it; without --unit they\n"
		"                          are shown as counts, never as samples)\n"
		"      --pid P[,P...]      only samples of these processes\n"
		"      --tid T[,T...]      only samples of these threads\n"
		"      --comm NAME[,...]   only samples of threads with these names\n"
		"  -h, --help              show this help\n"
		"\n"
		"examples:\n"
		"  kiln report                          functions of kiln.prof by self time\n"
		"  kiln report --sort total --top 20    the 20 functions with the most total time\n"
		"  kiln report --tree --percent-limit 2 run.prof\n"
		"  kiln report --folded > out.folded    for flamegraph.pl or 'kiln flame'\n"
		"  kiln report --tid 4242 --json        one thread, as JSON\n"
		"  kiln report --unit ns offcpu.folded  folded off-CPU time from perf script\n"

		"  kiln report --callers memcpy         who calls memcpy, with shares\n"
		"  kiln report --sort module            time per library\n");
}

static int parse_ints(const char *s, int **out, size_t *n)
{
	size_t alloc = *n;
	char *dup = xstrdup(s), *p = dup;
	for (;;) {
		char *comma = strchr(p, ',');
		long v;
		if (comma)
			*comma = '\0';
		if (kiln_parse_long(p, 0, 0x7fffffff, &v) < 0) {
			free(dup);
			return -1;
		}
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = (int)v;
		if (!comma)
			break;
		p = comma + 1;
	}
	free(dup);
	return 0;
}

static void split_names(const char *s, char ***out, size_t *n)
{
	size_t alloc = *n;
	const char *p = s;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = xstrndup(p, len);
		if (!comma)
			break;
		p = comma + 1;
	}
}

static void value_names(const struct kp_profile *p, struct strbuf *sb)
{
	for (uint32_t i = 0; i < p->nvalues; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		strbuf_addstr(sb, kp_str_get(p, p->value_types[i].name));
	}
}

enum { OPT_SORT = 256, OPT_TOP, OPT_LIMIT, OPT_TREE, OPT_FOLDED, OPT_JSON, OPT_VALUE, OPT_PID, OPT_TID, OPT_COMM,
       OPT_UNIT, OPT_CALLERS, OPT_CALLEES, OPT_NO_INLINE, OPT_NO_FINDINGS };

/* The value type folded counts get for --unit UNIT: (name, unit), or -1 for a word that
 * is not a name (a name is letters, digits, '_', '-', '.'; up to 32 bytes). Without
 * UNIT: ("count", "count"), since folded text does not say what it counted. */
static int folded_unit(const char *u, const char **name, const char **unit)
{
	static const struct { const char *word, *name, *unit; } known[] = {
		{ "samples", "samples", "count" },     { "sample", "samples", "count" },
		{ "count", "count", "count" },         { "counts", "count", "count" },
		{ "ns", "time_ns", "nanoseconds" },    { "nanoseconds", "time_ns", "nanoseconds" },
		{ "us", "time_us", "microseconds" },   { "microseconds", "time_us", "microseconds" },
		{ "ms", "time_ms", "milliseconds" },   { "milliseconds", "time_ms", "milliseconds" },
		{ "s", "time_s", "seconds" },          { "seconds", "time_s", "seconds" },
		{ "bytes", "bytes", "bytes" },         { "byte", "bytes", "bytes" },
	};
	size_t n = u ? strlen(u) : 0;
	if (!u) {
		*name = *unit = "count";
		return 0;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(u, known[i].word)) {
			*name = known[i].name;
			*unit = known[i].unit;
			return 0;
		}
	if (!n || n > 32)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(u[i] >= 'a' && u[i] <= 'z') && !(u[i] >= 'A' && u[i] <= 'Z') && !(u[i] >= '0' && u[i] <= '9') &&
		    u[i] != '_' && u[i] != '-' && u[i] != '.')
			return -1;
	*name = u; /* an event: a count of it */
	*unit = "count";
	return 0;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "percent-limit", required_argument, NULL, OPT_LIMIT },
		{ "tree", no_argument, NULL, OPT_TREE },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "value", required_argument, NULL, OPT_VALUE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "tid", required_argument, NULL, OPT_TID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "unit", required_argument, NULL, OPT_UNIT },
		{ "callers", required_argument, NULL, OPT_CALLERS },
		{ "callees", required_argument, NULL, OPT_CALLEES },
		{ "no-inline", no_argument, NULL, OPT_NO_INLINE },
		{ "no-findings", no_argument, NULL, OPT_NO_FINDINGS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "i:h";
	const char *input = NULL, *value = NULL, *unit = NULL, *uname, *uunit;
	int sort_total = 0, tree = 0, folded = 0, json = 0, limit_set = 0, c, rc = 1;
	long top = 0;
	double limit = 0.5;
	int *pids = NULL, *tids = NULL;
	size_t npids = 0, ntids = 0, ncomms = 0, kept;
	char **comms = NULL;
	uint8_t *keep = NULL;
	struct kp_profile p;
	struct kp_auto_info info;
	int loaded = 0;
	const char *peek = NULL;
	int callees = 0, no_inline = 0, reshape = 0, no_findings = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case OPT_SORT:
			if (!strcmp(optarg, "self"))
				sort_total = 0;
			else if (!strcmp(optarg, "total") || !strcmp(optarg, "children"))
				sort_total = 1;
			else if (!strcmp(optarg, "module") || !strcmp(optarg, "dso"))
				reshape = KR_RESHAPE_MODULE;
			else if (!strcmp(optarg, "command") || !strcmp(optarg, "comm"))
				reshape = KR_RESHAPE_COMMAND;
			else {
				rc = usage_error("report", "--sort takes self or total (or module, command), not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_TOP:
			if (kiln_parse_long(optarg, 1, 100000000, &top) < 0) {
				rc = usage_error("report", "--top needs a positive number, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_LIMIT:
			if (kiln_parse_double(optarg, &limit) < 0 || limit < 0 || limit > 100) {
				rc = usage_error("report", "--percent-limit needs a percentage from 0 to 100, not '%s'", optarg);
				goto out;
			}
			limit_set = 1;
			break;
		case OPT_TREE:
			tree = 1;
			break;
		case OPT_FOLDED:
			folded = 1;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_VALUE:
			value = optarg;
			break;
		case OPT_PID:
			if (parse_ints(optarg, &pids, &npids) < 0) {
				rc = usage_error("report", "--pid needs process ids like 1234 or 1234,5678, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_TID:
			if (parse_ints(optarg, &tids, &ntids) < 0) {
				rc = usage_error("report", "--tid needs thread ids like 1234 or 1234,5678, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_COMM:
			split_names(optarg, &comms, &ncomms);
			break;
		case OPT_UNIT:
			if (folded_unit(optarg, &uname, &uunit) < 0) {
				rc = usage_error("report", "--unit takes samples, count, ns, us, ms, s, bytes or an event "
						 "name, not '%s'", optarg);
				goto out;
			}
			unit = optarg;
			break;
		case OPT_CALLERS:
		case OPT_CALLEES:
			if (peek) {
				rc = usage_error("report", "give one of --callers and --callees, once");
				goto out;
			}
			peek = optarg;
			callees = c == OPT_CALLEES;
			break;
		case OPT_NO_INLINE:
			no_inline = 1;
			break;
		case OPT_NO_FINDINGS:
			no_findings = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = bad_option("report", argv, optstring);
			goto out;
		}
	}
	if (optind < argc) {
		if (input || optind + 1 < argc) {
			rc = usage_error("report", "give one profile (as FILE or -i FILE)");
			goto out;
		}
		input = argv[optind];
	}
	if (folded + json > 1) {
		rc = usage_error("report", "--folded and --json cannot be combined");
		goto out;
	}
	if (folded && tree) {
		rc = usage_error("report", "--folded and --tree cannot be combined");
		goto out;
	}
	if (peek && (folded || tree)) {
		rc = usage_error("report", "--%s cannot be combined with --folded or --tree", callees ? "callees" : "callers");
		goto out;
	}
	if (!input)
		input = "kiln.prof";

	if (kp_load_auto(&p, input, &info) < 0) {
		loaded = 1;
		goto out;
	}
	loaded = 1;
	if (!p.nvalues) {
		kiln_error("'%s' holds no values to report", input);
		goto out;
	}
	if (info.is_profile && unit) {
		kiln_error("'%s' is a kiln profile, whose values carry their units; --unit is for folded text "
			   "(pick a value with --value)", input);
		goto out;
	}
	if (!info.is_profile && p.nvalues == 1) {
		/* folded text does not record what its counts are: the user says, or "count" */
		folded_unit(unit, &uname, &uunit);
		p.value_types[0].name = kp_strz(&p, uname);
		p.value_types[0].unit = kp_strz(&p, uunit);
		if (value && !strcmp(value, "samples") && strcmp(uname, "samples"))
			value = NULL; /* --value samples on folded text: its one value */
	}
	int vi = (int)p.default_value;
	if (value) {
		vi = kp_find_value_type(&p, value);
		if (vi < 0) {
			const char *kind = kp_meta_get(&p, "kind");
			/* heap profiles take their own value names (see kiln heap) */
			if (!kind || strcmp(kind, "heap")) {
				struct strbuf sb = STRBUF_INIT;
				value_names(&p, &sb);
				kiln_error("'%s' has no value '%s'; it has: %s", input, value, sb.buf);
				strbuf_release(&sb);
				goto out;
			}
			vi = (int)p.default_value;
		}
	}
	if (vi >= (int)p.nvalues)
		vi = 0;
	/* report-time reshaping: every view below sees the rewritten stacks */
	if (no_inline && reshape != KR_RESHAPE_MODULE && reshape != KR_RESHAPE_COMMAND) {
		struct kp_profile q;
		kr_reshape(&p, KR_RESHAPE_NO_INLINE, &q);
		kp_profile_release(&p);
		p = q;
	}
	if (reshape) {
		struct kp_profile q;
		kr_reshape(&p, reshape, &q);
		kp_profile_release(&p);
		p = q;
	}
	keep = kr_filter(&p, pids, npids, tids, ntids, comms, ncomms, &kept);

	const char *kind = kp_meta_get(&p, "kind");
	if (kind && !strcmp(kind, "heap") && !folded && !tree) {
		struct heap_report_opts ho = { value, (int)top, json, keep, NULL };
		int hr = heap_report_print(&p, &ho, stdout);
		if (hr != KILN_HEAP_REPORT_UNHANDLED) {
			rc = hr < 0 ? 1 : 0;
			goto out;
		}
	}

	if (folded) {
		struct kp_folded_opts fo = { (uint32_t)vi, KP_ROOT_COMM, 1, keep };
		if (kp_folded_write(&p, &fo, stdout) < 0)
			goto out; /* the command runner reports the write error */
		rc = 0;
		goto out;
	}
	struct kr_opts o;
	memset(&o, 0, sizeof(o));
	o.value = (uint32_t)vi;
	o.count_value = kp_find_value_type(&p, "samples");
	o.sort_total = sort_total;
	o.top = (unsigned)top;
	o.percent_limit = json && !limit_set ? 0 : limit;
	o.keep = keep;
	o.source = input;
	o.no_findings = no_findings;
	if (keep && !kept && !json)
		kiln_warn("no samples in '%s' match the filter", input);
	if (peek) {
		kp_str_t fname, fmod;
		struct strbuf err = STRBUF_INIT;
		if (kr_find_function(&p, peek, &fname, &fmod, &err) < 0) {
			kiln_error("%s", err.buf);
			strbuf_release(&err);
			goto out;
		}
		strbuf_release(&err);
		struct kr_peek pk;
		kr_peek_build(&p, &o, fname, fmod, callees, &pk);
		rc = json ? kr_print_peek_json(&p, &o, &pk, callees, stdout) : kr_print_peek(&p, &o, &pk, callees, stdout);
		kr_peek_release(&pk);
		rc = rc < 0 ? 1 : 0;
		goto out;
	}
	if (json)
		rc = kr_print_json(&p, &o, tree, stdout);
	else if (tree)
		rc = kr_print_tree(&p, &o, stdout);
	else
		rc = kr_print_table(&p, &o, stdout);
	if (rc < 0) /* a write error, reported now while errno still tells which */
		kiln_write_failed(stdout, "to standard output");
	rc = rc < 0 ? 1 : 0;
out:
	if (loaded)
		kp_profile_release(&p);
	free(keep);
	free(pids);
	free(tids);
	for (size_t i = 0; i < ncomms; i++)
		free(comms[i]);
	free(comms);
	return rc;
}
