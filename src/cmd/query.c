/* query.c: kiln query: one merged profile from a store (kiln agent's windows) for a time
 * range and labels; --list shows what a store holds; --import stores a recording. */
#include "cmd.h"
#include "profile/folded.h"
#include "profile/load.h"
#include "profile/profile.h"
#include "profile/profile_io.h"
#include "report/report.h"
#include "store/store.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln query (--store DIR | --source URL) [--from T] [--to T] [--where K=V]...\n"
		"                  [--comm NAME] [--folded | --json | -o FILE]\n"
		"       kiln query (--store DIR | --source URL) --list [--json]\n"
		"       kiln query --store DIR --import FILE [--label K=V]... [--at T] [--window D]\n"
		"\n"
		"Merges the profiles kiln agent stored (every window overlapping [--from, --to) whose\n"
		"labels match) into one profile and shows it as 'kiln report' does, or writes it as\n"
		"a kiln.prof that report, flame, diff and export read.\n"
		"\n"
		"where from:\n"
		"      --store DIR         a local store directory (kiln agent --store DIR)\n"
		"      --source URL        a store by URL: a directory or clickhouse://HOST:PORT/DB\n"
		"what:\n"
		"      --from T            the start of the range (default: the first window)\n"
		"      --to T              the end of the range, not included (default: now)\n"
		"                          T: 2026-12-06T05:00:00Z or '2026-12-06 05:00' (UTC),\n"
		"                          unix seconds, now, now-90m, -2h, -1d, -1w\n"
		"      --where K=V         only processes whose label K is V (repeat: all must match);\n"
		"                          labels: host, pid, comm, exe, build_id, cgroup, service\n"
		"                          and the agent's own --label keys (see --list)\n"
		"      --comm NAME         only processes named NAME (the same as --where comm=NAME)\n"
		"output (default: the table of functions, as kiln report prints it):\n"
		"      --folded            folded stacks, one line per stack (root = process name)\n"
		"      --json              the table as JSON (docs/kiln-report.md describes it)\n"
		"  -o, --output FILE       write the profile as a kiln.prof file instead\n"
		"      --top N             show at most N functions (table and JSON)\n"
		"      --list              the store's time range and its labels with their values\n"
		"storing a recording:\n"
		"      --import FILE       cut a recorded profile (kiln record's kiln.prof) into\n"
		"                          windows by sample time and store them in --store DIR\n"
		"      --label K=V         a label for every imported window (repeat)\n"
		"      --at T              when the recording started (default: its own start time)\n"
		"      --window D          the window length (default 10s; 500ms, 1m, ...)\n"
		"  -h, --help              show this help\n"
		"\n"
		"examples:\n"
		"  kiln query --store /var/lib/kiln --from -1h                 the last hour\n"
		"  kiln query --store /var/lib/kiln --from -1h --comm nginx --folded | kiln flame > h.svg\n"
		"  kiln query --store st --from -1h -o now.prof\n"
		"  kiln query --store st --from -25h --to -24h -o yesterday.prof\n"
		"  kiln diff yesterday.prof now.prof                            what changed\n"
		"  kiln query --store st --list                                 labels and range\n"
		"  kiln query --store st --import kiln.prof --label service=api\n");
}

enum { OPT_STORE = 256, OPT_SOURCE, OPT_FROM, OPT_TO, OPT_WHERE, OPT_COMM, OPT_FOLDED, OPT_JSON, OPT_TOP, OPT_LIST,
       OPT_IMPORT, OPT_LABEL, OPT_AT, OPT_WINDOW };

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The query's description for headers and messages: "store 'DIR', FROM to TO, K=V ...". */
static void describe(const char *spec, const struct kst_query *q, struct strbuf *sb)
{
	char a[40], b[40];
	kst_format_time(q->from_ns, a, sizeof(a));
	kst_format_time(q->to_ns, b, sizeof(b));
	if (q->to_ns == UINT64_MAX)
		strbuf_addf(sb, "%s, from %s", spec, a);
	else
		strbuf_addf(sb, "%s, %s to %s", spec, a, b);
	for (uint32_t i = 0; i < q->where.n; i++)
		strbuf_addf(sb, ", %s=%s", q->where.v[i].key, q->where.v[i].value);
	if (q->comm)
		strbuf_addf(sb, ", comm=%s", q->comm);
}

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s, strlen(s));
	strbuf_addch(sb, '"');
}

/* "3d4h", "23h59m", "5m10s", "12.5s" */
static void format_span(uint64_t ns, struct strbuf *sb)
{
	uint64_t s = ns / 1000000000ull;
	if (s >= 86400)
		strbuf_addf(sb, "%" PRIu64 "d%" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		strbuf_addf(sb, "%" PRIu64 "h%" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		strbuf_addf(sb, "%" PRIu64 "m%" PRIu64 "s", s / 60, s % 60);
	else
		strbuf_addf(sb, "%.1fs", (double)ns / 1e9);
}

/* The local store's gaps (windows missing: an agent stopped or killed), as text or JSON. */
static int list_gaps(struct kst *s, const struct kst_query *q, int json, struct strbuf *out, struct strbuf *err)
{
	struct kst_gaps g = { 0 };
	if (s->be != &kst_backend_dir)
		return 0;
	if (kst_dir_gaps(s->h, q->from_ns, q->to_ns, &g, err))
		return -1;
	if (json)
		strbuf_addstr(out, ",\"gaps\":[");
	else if (g.n)
		strbuf_addstr(out, "gaps (no window):\n");
	for (size_t i = 0; i < g.n; i++) {
		if (json) {
			strbuf_addf(out, "%s{\"host\":", i ? "," : "");
			json_str(out, g.v[i].host);
			strbuf_addf(out, ",\"from_ns\":%" PRIu64 ",\"to_ns\":%" PRIu64 "}", g.v[i].from_ns, g.v[i].to_ns);
		} else if (i < 20) {
			char a[40], b[40];
			kst_format_time(g.v[i].from_ns, a, sizeof(a));
			kst_format_time(g.v[i].to_ns, b, sizeof(b));
			strbuf_addf(out, "  %-10s %s to %s (", g.v[i].host, a, b);
			format_span(g.v[i].to_ns - g.v[i].from_ns, out);
			strbuf_addstr(out, ")\n");
		} else if (i == 20) {
			strbuf_addf(out, "  ... %zu more (--list --json lists them all)\n", g.n - 20);
		}
	}
	if (json)
		strbuf_addch(out, ']');
	kst_gaps_release(&g);
	return 0;
}

static int do_list(struct kst *s, const char *spec, const struct kst_query *q, int json)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct kst_strlist keys = { 0 };
	uint64_t first, last;
	int rc = 1;
	if (kst_range(s, &first, &last, &err) || kst_label_keys(s, q, &keys, &err)) {
		kiln_error("%s", err.buf);
		goto out;
	}
	char a[40], b[40];
	kst_format_time(first, a, sizeof(a));
	kst_format_time(last, b, sizeof(b));
	if (json) {
		strbuf_addstr(&out, "{\"format\":\"kiln-query-list\",\"version\":1,\"source\":");
		json_str(&out, spec);
		strbuf_addf(&out, ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"labels\":{", first, last);
	} else if (!first && !last) {
		strbuf_addf(&out, "%s: no windows\n", spec);
	} else {
		strbuf_addf(&out, "%s: windows from %s to %s\n", spec, a, b);
		if (keys.n)
			strbuf_addstr(&out, "labels (--where KEY=VALUE):\n");
	}
	for (size_t k = 0; k < keys.n; k++) {
		struct kst_strlist v = { 0 };
		if (kst_label_values(s, q, keys.v[k], &v, &err)) {
			kiln_error("%s", err.buf);
			goto out;
		}
		if (json) {
			if (k)
				strbuf_addch(&out, ',');
			json_str(&out, keys.v[k]);
			strbuf_addstr(&out, ":[");
			for (size_t i = 0; i < v.n; i++) {
				if (i)
					strbuf_addch(&out, ',');
				json_str(&out, v.v[i]);
			}
			strbuf_addch(&out, ']');
		} else {
			strbuf_addf(&out, "  %-10s", keys.v[k]);
			size_t shown = v.n > 20 ? 20 : v.n;
			for (size_t i = 0; i < shown; i++)
				strbuf_addf(&out, "%s%s", i ? ", " : " ", v.v[i]);
			if (shown < v.n)
				strbuf_addf(&out, ", ... (%zu values)", v.n);
			strbuf_addch(&out, '\n');
		}
		kst_strlist_release(&v);
	}
	if (json)
		strbuf_addch(&out, '}');
	if (list_gaps(s, q, json, &out, &err)) {
		kiln_error("%s", err.buf);
		goto out;
	}
	if (json)
		strbuf_addstr(&out, "}\n");
	fwrite(out.buf, 1, out.len, stdout);
	rc = 0;
out:
	kst_strlist_release(&keys);
	strbuf_release(&err);
	strbuf_release(&out);
	return rc;
}

static int do_import(struct kst *s, const char *spec, const char *file, const struct kst_labels *labels,
		     const char *at, double window_s)
{
	struct kp_profile p;
	struct kp_auto_info info;
	struct strbuf err = STRBUF_INIT;
	int rc = 1;
	if (kp_load_auto(&p, file, &info) < 0)
		return 1;
	uint64_t base;
	if (at) {
		if (kst_parse_time(at, now_ns(), &base, &err)) {
			kiln_error("%s", err.buf);
			goto out;
		}
	} else if (kst_profile_start(&p, &base)) {
		kiln_error("'%s' does not say when it was recorded: give --at T", file);
		goto out;
	}
	const char *kind = kp_meta_get(&p, "kind");
	if (kind && strcmp(kind, "cpu")) {
		kiln_error("'%s' is a %s profile: the store keeps CPU profiles", file, kind);
		goto out;
	}
	uint64_t nwin, nsamples;
	if (kst_import_profile(s, &p, base, (uint64_t)(window_s * 1e9), NULL, labels, &nwin, &nsamples, &err)) {
		kiln_error("%s (%" PRIu64 " windows of '%s' stored before)", err.buf, nwin, file);
		goto out;
	}
	char a[40];
	kst_format_time(base, a, sizeof(a));
	fprintf(stderr, "kiln: stored %" PRIu64 " samples of '%s' in %s as %" PRIu64 " windows from %s\n", nsamples,
		file, spec, nwin, a);
	rc = 0;
out:
	kp_profile_release(&p);
	strbuf_release(&err);
	return rc;
}

static int do_query(struct kst *s, const char *spec, struct kst_query *q, int folded, int json, long top,
		    const char *output)
{
	struct strbuf err = STRBUF_INIT, desc = STRBUF_INIT;
	struct kp_profile p;
	int rc = 1;
	kp_profile_init(&p);
	uint64_t first, last;
	if (kst_range(s, &first, &last, &err)) {
		kiln_error("%s", err.buf);
		goto out;
	}
	if (!q->from_ns) /* from the first window: sample times count from it */
		q->from_ns = first;
	describe(spec, q, &desc);
	if (kst_query(s, q, &p, &err)) {
		kiln_error("%s", err.buf);
		goto out;
	}
	if (!p.nsamples) {
		kiln_error("no samples in %s: see 'kiln query --list' for the store's range and labels", desc.buf);
		goto out;
	}
	char b[40];
	snprintf(b, sizeof(b), "%" PRIu64, q->from_ns);
	kp_meta_set(&p, KST_META_START_NS, b);
	kst_format_time(q->from_ns - q->from_ns % 1000000000ull, b, sizeof(b));
	kp_meta_set(&p, "start_time", b);
	/* the data's span: to the end of the last window selected */
	const char *ql = kp_meta_get(&p, "query_last_ns");
	if (ql)
		last = strtoull(ql, NULL, 10);
	uint64_t end = q->to_ns < last ? q->to_ns : last;
	if (end > q->from_ns) {
		snprintf(b, sizeof(b), "%" PRIu64, end - q->from_ns);
		kp_meta_set(&p, "duration_ns", b);
	}
	kp_meta_set(&p, "source", desc.buf);
	if (output) {
		rc = kp_profile_save(&p, output) < 0 ? 1 : 0;
		goto out;
	}
	uint32_t vi = p.default_value < p.nvalues ? p.default_value : 0;
	if (folded) {
		struct kp_folded_opts fo = { vi, KP_ROOT_COMM, 1, NULL };
		rc = kp_folded_write(&p, &fo, stdout) < 0 ? 1 : 0;
		goto out;
	}
	struct kr_opts o;
	memset(&o, 0, sizeof(o));
	o.value = vi;
	o.count_value = kp_find_value_type(&p, "samples");
	o.top = (unsigned)top;
	o.percent_limit = json ? 0 : 0.5;
	o.source = desc.buf;
	rc = json ? kr_print_json(&p, &o, 0, stdout) : kr_print_table(&p, &o, stdout);
	if (rc < 0)
		kiln_write_failed(stdout, "to standard output");
	rc = rc < 0 ? 1 : 0;
out:
	kp_profile_release(&p);
	strbuf_release(&err);
	strbuf_release(&desc);
	return rc;
}

int cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "where", required_argument, NULL, OPT_WHERE },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "import", required_argument, NULL, OPT_IMPORT },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "at", required_argument, NULL, OPT_AT },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "o:h";
	const char *store = NULL, *source = NULL, *from = NULL, *to = NULL, *output = NULL, *import = NULL,
		   *at = NULL;
	int folded = 0, json = 0, list = 0, c, rc = 2;
	long top = 0;
	double window_s = 10;
	struct kst_query q;
	struct kst_labels labels = KST_LABELS_INIT;
	struct strbuf err = STRBUF_INIT;
	struct kst s;
	memset(&q, 0, sizeof(q));
	memset(&s, 0, sizeof(s));

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STORE:
			store = optarg;
			break;
		case OPT_SOURCE:
			source = optarg;
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_WHERE:
		case OPT_LABEL:
			strbuf_reset(&err);
			if (kst_label_parse(optarg, c == OPT_WHERE ? &q.where : &labels, &err)) {
				rc = usage_error("query", "%s: give --%s KEY=VALUE", err.buf,
						 c == OPT_WHERE ? "where" : "label");
				goto out;
			}
			break;
		case OPT_COMM:
			q.comm = optarg;
			break;
		case OPT_FOLDED:
			folded = 1;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_TOP:
			if (kiln_parse_long(optarg, 1, 100000000, &top) < 0) {
				rc = usage_error("query", "--top needs a positive number, not '%s'", optarg);
				goto out;
			}
			break;
		case OPT_LIST:
			list = 1;
			break;
		case OPT_IMPORT:
			import = optarg;
			break;
		case OPT_AT:
			at = optarg;
			break;
		case OPT_WINDOW:
			if (kiln_parse_duration(optarg, &window_s) < 0 || window_s < 0.001 || window_s > 86400) {
				rc = usage_error("query", "--window needs a duration from 1ms to 1d such as 10s, not '%s'",
						 optarg);
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = bad_option("query", argv, optstring);
			goto out;
		}
	}
	if (optind < argc) {
		rc = usage_error("query", "unexpected argument '%s' (the store is given with --store DIR)", argv[optind]);
		goto out;
	}
	if (!!store + !!source != 1) {
		rc = usage_error("query", "give the store: --store DIR or --source URL (one of them)");
		goto out;
	}
	if (store && strstr(store, "://")) {
		rc = usage_error("query", "--store takes a directory; give a URL such as '%s' with --source", store);
		goto out;
	}
	if (folded + json + !!output > 1) {
		rc = usage_error("query", "give one of --folded, --json and -o");
		goto out;
	}
	if (import && (list || folded || json || output || from || to || q.where.n || q.comm)) {
		rc = usage_error("query", "--import takes only --label, --at and --window");
		goto out;
	}
	if (!import && (labels.n || at)) {
		rc = usage_error("query", "--label and --at go with --import FILE");
		goto out;
	}
	if (list && (folded || output || top)) {
		rc = usage_error("query", "--list shows labels and the range: it takes --json, not --folded, -o or --top");
		goto out;
	}
	uint64_t now = now_ns();
	q.to_ns = now;
	strbuf_reset(&err);
	if ((from && kst_parse_time(from, now, &q.from_ns, &err)) || (to && kst_parse_time(to, now, &q.to_ns, &err))) {
		rc = usage_error("query", "%s", err.buf);
		goto out;
	}
	if (q.to_ns <= q.from_ns) {
		rc = usage_error("query", "--to must come after --from");
		goto out;
	}
	if (!to)
		q.to_ns = UINT64_MAX; /* up to now, and the windows being written */
	if (output && kiln_output_check(output) < 0) {
		rc = 1;
		goto out;
	}
	const char *spec = store ? store : source;
	rc = 1;
	if (kst_open(&s, spec, import ? KST_WRITE : KST_READ, &err)) {
		kiln_error("%s", err.buf);
		goto out;
	}
	if (import)
		rc = do_import(&s, spec, import, &labels, at, window_s);
	else if (list)
		rc = do_list(&s, spec, &q, json);
	else
		rc = do_query(&s, spec, &q, folded, json, top, output);
out:
	kst_close(&s);
	kst_labels_release(&q.where);
	kst_labels_release(&labels);
	strbuf_release(&err);
	return rc;
}
