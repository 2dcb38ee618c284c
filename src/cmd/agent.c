/* agent.c: kiln agent: profile the whole machine all the time, a window every few seconds
 * to a store or a sink (src/lib/agent/agent.h does the work). */
#include "cmd.h"
#include "agent/agent.h"
#include "collect/unwind_dwarf.h"
#include "store/store.h"
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
		"usage: kiln agent (--store DIR [--retain-age TIME] [--retain-size SIZE] | --sink URL) [options]\n"
		"\n"
		"Samples every CPU and every process (kernel and user stacks, Python functions)\n"
		"at a low rate, all the time, and writes one profile per window to a store or a\n"
		"sink, labelled with the host, each process's pid, name, executable, build id,\n"
		"cgroup and service. A sink that fails gets its windows later from a bounded\n"
		"spool on disk. Runs as root or with CAP_PERFMON; SIGTERM writes the last window.\n"
		"\n"
		"options:\n"
		"      --store DIR        the local store directory ('kiln query --store DIR'\n"
		"                         reads it)\n"
		"      --sink URL         clickhouse://HOST:PORT/DB or pyroscope://HOST:PORT\n"
		"  -F, --freq HZ          samples per second per CPU (default %d)\n"
		"  -w, --window SECONDS   window length (default %d; windows start at multiples of\n"
		"                         it on the wall clock)\n"
		"  -l, --label KEY=VALUE  a label on every window (repeatable); service=NAME names\n"
		"                         the service of every process (else it comes from the\n"
		"                         process's cgroup: nginx.service -> nginx)\n"
		"      --spool DIR        where windows wait while the sink fails (default\n"
		"                         DIR/spool with --store, %s with --sink)\n"
		"      --spool-size BYTES the spool's bound (default 256M; K, M, G suffixes): the\n"
		"                         oldest windows are dropped past it, and counted\n"
		"      --retain-age TIME  --store: remove windows older than this (7d, 48h)\n"
		"      --retain-size SIZE --store: keep the store under this size (10G), the oldest\n"
		"                         windows removed first (both: at start and every 60 windows)\n"
		"      --duration SEC     stop after this long (default: until SIGTERM or SIGINT)\n"
		"  -g, --call-graph MODE  auto (the default: DWARF unwinding of a 16 KiB stack copy,\n"
		"                         continued with frame pointers), dwarf[,SIZE], or fp\n"
		"                         (frame pointers only: cheapest, but code built without\n"
		"                         them loses its callers)\n"
		"      --lines            also source lines and inlined functions (reads each\n"
		"                         program's DWARF: more memory and CPU; default: functions)\n"
		"  -v, --verbose          a line per window, not only problems\n"
		"  -h, --help             show this help\n"
		"\n"
		"examples:\n"
		"  kiln agent --store /var/lib/kiln/store              the systemd unit's command\n"
		"  kiln agent --store st --label env=prod --duration 60 a minute, then query it:\n"
		"  kiln query --store st --from -5m --comm nginx --folded\n"
		"  kiln agent --sink clickhouse://db:8123/kiln --spool /var/tmp/kiln-spool\n",
		KA_DEFAULT_FREQ, KA_DEFAULT_WINDOW_S, KA_DEFAULT_SPOOL);
}

/* A duration as kiln_parse_duration takes it, or days and weeks: "7d", "2w". */
static int parse_age(const char *s, double *secs)
{
	size_t n = strlen(s);
	if (n > 1 && (s[n - 1] == 'd' || s[n - 1] == 'w')) {
		char *num = xstrndup(s, n - 1);
		long v;
		int rc = kiln_parse_long(num, 1, 100000, &v);
		free(num);
		*secs = (double)v * (s[n - 1] == 'd' ? 86400 : 7 * 86400);
		return rc;
	}
	return kiln_parse_duration(s, secs);
}

int cmd_agent(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "sink", required_argument, NULL, 'S' },
		{ "freq", required_argument, NULL, 'F' },
		{ "window", required_argument, NULL, 'w' },
		{ "label", required_argument, NULL, 'l' },
		{ "spool", required_argument, NULL, 'P' },
		{ "spool-size", required_argument, NULL, 'Z' },
		{ "duration", required_argument, NULL, 'D' },
		{ "retain-age", required_argument, NULL, 'A' },
		{ "retain-size", required_argument, NULL, 'R' },
		{ "call-graph", required_argument, NULL, 'g' },
		{ "lines", no_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "F:w:l:g:vh";
	struct ka_opts o;
	struct ka_result res;
	struct kst_labels labels = KST_LABELS_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *store = NULL, *sink = NULL;
	char *spool_default = NULL;
	int c, rc = 2;
	long v;

	memset(&o, 0, sizeof(o));
	o.freq = KA_DEFAULT_FREQ;
	o.window_s = KA_DEFAULT_WINDOW_S;
	o.spool_size = KA_DEFAULT_SPOOL_SIZE;
	o.call_graph = KC_CG_AUTO;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg || strstr(optarg, "://")) {
				usage_error("agent", "--store needs a directory, not '%s' (URLs go to --sink)", optarg);
				goto out;
			}
			store = optarg;
			break;
		case 'S':
			if (strncmp(optarg, "clickhouse://", 13) && strncmp(optarg, "pyroscope://", 12)) {
				usage_error("agent", "--sink needs clickhouse://HOST:PORT/DB or pyroscope://HOST:PORT, not '%s'",
					    optarg);
				goto out;
			}
			sink = optarg;
			break;
		case 'F':
			if (kiln_parse_long(optarg, 1, 10000, &v) < 0) {
				usage_error("agent", "-F needs a rate in Hz from 1 to 10000, not '%s'", optarg);
				goto out;
			}
			o.freq = (unsigned)v;
			break;
		case 'w':
			if (kiln_parse_duration(optarg, &o.window_s) < 0 || o.window_s < 1 || o.window_s > 3600) {
				usage_error("agent", "--window needs a length from 1 s to 1 h like 10 or 1m, not '%s'", optarg);
				goto out;
			}
			break;
		case 'l':
			if (kst_label_parse(optarg, &labels, &err) < 0) {
				usage_error("agent", "%s", err.buf);
				goto out;
			}
			if (!strcmp(optarg, "host") || !strncmp(optarg, "host=", 5) || !strncmp(optarg, "pid=", 4)) {
				usage_error("agent", "label '%s': host and pid are set by the agent", optarg);
				goto out;
			}
			break;
		case 'P':
			if (!*optarg) {
				usage_error("agent", "--spool needs a directory");
				goto out;
			}
			o.spool_dir = optarg;
			break;
		case 'Z':
			if (kiln_parse_size(optarg, &o.spool_size) < 0 || o.spool_size < 4096) {
				usage_error("agent", "--spool-size needs a size of 4K or more like 64M, not '%s'", optarg);
				goto out;
			}
			break;
		case 'D':
			if (kiln_parse_duration(optarg, &o.duration) < 0 || o.duration <= 0) {
				usage_error("agent", "--duration needs a positive time like 60, 90s or 2h, not '%s'", optarg);
				goto out;
			}
			break;
		case 'A': {
			double secs;
			if (parse_age(optarg, &secs) < 0 || secs < 60) {
				usage_error("agent", "--retain-age needs a time of a minute or more like 7d, 48h or 90m, not '%s'",
					    optarg);
				goto out;
			}
			o.retain_age_ns = (uint64_t)(secs * 1e9);
			break;
		}
		case 'R':
			if (kiln_parse_size(optarg, &o.retain_bytes) < 0 || o.retain_bytes < (1u << 20)) {
				usage_error("agent", "--retain-size needs a size of 1M or more like 10G, not '%s'", optarg);
				goto out;
			}
			break;
		case 'g':
			if (kc_call_graph_parse(optarg, &o.call_graph, &o.stack_size) < 0) {
				usage_error("agent", "-g needs fp, dwarf or auto (dwarf,SIZE and auto,SIZE too), not '%s'", optarg);
				goto out;
			}
			break;
		case 'L':
			o.lines = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = bad_option("agent", argv, optstring);
			goto out;
		}
	}
	if (optind < argc) {
		usage_error("agent", "unexpected argument '%s' (the agent samples every process; no command)", argv[optind]);
		goto out;
	}
	if (!!store + !!sink != 1) {
		usage_error("agent", store ? "--store and --sink exclude each other" : "say where windows go: --store DIR or --sink URL");
		goto out;
	}
	if (sink && (o.retain_age_ns || o.retain_bytes)) {
		usage_error("agent", "--retain-age and --retain-size are for --store (a sink keeps its own retention)");
		goto out;
	}
	o.sink = store ? store : sink;
	o.store_dir = store;
	if (store && !o.spool_dir) {
		spool_default = xasprintf("%s/spool", store);
		o.spool_dir = spool_default;
	}
	o.labels = &labels;
	rc = ka_run(&o, &res) == 0 ? 0 : 1;
	if (rc == 0 && o.verbose)
		kiln_note("agent: %llu windows (%llu delivered, %llu spooled, %llu dropped), %llu samples, %llu lost, "
			  "%.2f s CPU, %ld KiB peak memory",
			  (unsigned long long)res.windows, (unsigned long long)res.delivered,
			  (unsigned long long)res.spooled, (unsigned long long)res.dropped, (unsigned long long)res.samples,
			  (unsigned long long)res.lost, res.self_cpu, res.max_rss_kb);
out:
	free(spool_default);
	kst_labels_release(&labels);
	strbuf_release(&err);
	return rc;
}
