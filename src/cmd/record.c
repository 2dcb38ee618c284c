/* record.c: kiln record: sample a program's CPU time with call stacks into kiln.prof. */
#include "cmd.h"
#include "collect/collector.h"
#include "collect/evcount.h"
#include "collect/record.h"
#include "collect/unwind_dwarf.h"
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
		"usage: kiln record [options] [--] COMMAND [ARGS...]\n"
		"       kiln record [options] -p PID[,PID...]\n"
		"       kiln record [options] -t TID[,TID...]\n"
		"       kiln record [options] -a [-C CPUS] [--duration SEC] [-- COMMAND...]\n"
		"\n"
		"Samples where COMMAND (and every thread and child process it starts) spends its\n"
		"CPU time, with user and kernel call stacks, and writes a self-contained profile\n"
		"(symbols included) for 'kiln report', 'kiln flame' and 'kiln diff'.\n"
		"Counting starts at the command's exec; kiln exits with the command's exit status.\n"
		"\n"
		"options:\n"
		"  -F, --freq HZ          samples per second (default 999)\n"
		"  -c, --count N          one sample every N events instead (a fixed period; for\n"
		"                         cpu-clock and task-clock N is in nanoseconds); not with -F\n"
		"  -e, --event EVENT      event to sample: cycles (default; cpu-clock where the\n"
		"                         machine has no hardware counters), cpu-clock, task-clock,\n"
		"                         instructions, cache-misses, branch-misses, page-faults, ...\n"
		"  -o, --output FILE      profile to write (default kiln.prof; an existing one is\n"
		"                         kept as FILE.old)\n"
		"  -p, --pid PID[,PID..]  attach to running processes (all their threads) until\n"
		"                         Ctrl-C, --duration, or until they exit\n"
		"  -t, --tid TID[,TID..]  attach to these threads only (not the other threads of\n"
		"                         their process, nor threads they start)\n"
		"  -a, --all-cpus         system-wide: every process on every CPU; with a command,\n"
		"                         while it runs, else until Ctrl-C or --duration (needs\n"
		"                         root or kernel.perf_event_paranoid <= 0)\n"
		"  -C, --cpu CPUS         only on these CPUs (0, 0-3, 0,2); alone or with -a:\n"
		"                         every process on them; with a command, -p or -t: those\n"
		"                         tasks while they run there\n"
		"      --duration SEC     stop after SEC seconds (250ms, 2s, 1m); with a command,\n"
		"                         send it SIGTERM then (like timeout(1))\n"
		"      --no-kernel        sample user mode only (no kernel stacks; works with\n"
		"                         kernel.perf_event_paranoid=2 without root)\n"
		"      --no-inline        do not expand inlined functions into frames\n"
		"      --no-lines         do not look up file:line nor keep frame addresses (a\n"
		"                         smaller profile; kiln annotate has nothing to show)\n"
		"  -g, --call-graph MODE[,SIZE]\n"
		"                         how user stacks are unwound: auto (default: DWARF CFI\n"
		"                         from a copy of the stack, continued with frame pointers),\n"
		"                         dwarf (CFI only), fp (frame pointers); SIZE = stack bytes\n"
		"                         copied per sample (default 16K, 8K for auto above\n"
		"                         4999 Hz; fp copies 2K)\n"
		"      --stack-size SIZE  the same as the SIZE of --call-graph\n"
		"      --off-cpu          also record where and how long threads wait off the CPU\n"
		"                         (sleep, I/O, locks, preemption): values cpu_ns,\n"
		"                         off_cpu_ns and wall_ns\n"
		"      --python-internals keep the interpreter's own frames in Python stacks\n"
		"                         (by default a Python program's stacks show its Python\n"
		"                         functions, as 'name (file.py:firstline)', and the native\n"
		"                         code they call; see docs/kiln-record.md)\n"
		"  -q, --quiet            no summary line\n"
		"  -v, --verbose          also print kiln's own CPU time and the target's\n"
		"  -h, --help             show this help\n"
		"\n"
		"examples:\n"
		"  kiln record -- ./myprog arg        profile ./myprog into kiln.prof\n"
		"  kiln record -F 4999 -o run.prof make -j2\n"
		"  kiln record -p 1234 --duration 10  attach to process 1234 for 10 seconds\n"
		"  kiln record -a --duration 5        the whole machine for 5 seconds\n"
		"  kiln record -C 0 --duration 2      whatever runs on CPU 0 for 2 seconds\n"
		"  kiln record -t 4321 --duration 3   one thread of a process\n"
		"  kiln record -c 100000 -- ./myprog  a sample every 100 us of CPU time\n"
		"  kiln record --off-cpu -- ./server  where it computes and where it waits\n"
		"  kiln record -- node app.js         JavaScript functions named (kiln sets\n"
		"                                     NODE_OPTIONS for node's perf map)\n"
		"  kiln record -- python3 app.py      Python functions and the C code they call\n"
		"  kiln report                        then: where did the time go\n");
}

static int parse_pids(const char *s, int **pids, size_t *n)
{
	size_t alloc = 0;
	char *dup = xstrdup(s), *p = dup;
	for (;;) {
		char *comma = strchr(p, ',');
		long v;
		if (comma)
			*comma = '\0';
		if (kiln_parse_long(p, 1, 0x7fffffff, &v) < 0) {
			free(dup);
			return -1;
		}
		ALLOC_GROW(*pids, *n + 1, alloc);
		(*pids)[(*n)++] = (int)v;
		if (!comma)
			break;
		p = comma + 1;
	}
	free(dup);
	return 0;
}

static void human_size(unsigned long long b, char *buf, size_t size)
{
	if (b < 1024)
		snprintf(buf, size, "%llu bytes", b);
	else if (b < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", (double)b / 1024);
	else
		snprintf(buf, size, "%.1f MiB", (double)b / (1024 * 1024));
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "freq", required_argument, NULL, 'F' },
		{ "count", required_argument, NULL, 'c' },
		{ "all-cpus", no_argument, NULL, 'a' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "tid", required_argument, NULL, 't' },
		{ "event", required_argument, NULL, 'e' },
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'D' },
		{ "no-kernel", no_argument, NULL, 'K' },
		{ "no-inline", no_argument, NULL, 'I' },
		{ "no-lines", no_argument, NULL, 'L' },
		{ "call-graph", required_argument, NULL, 'g' },
		{ "stack-size", required_argument, NULL, 'S' },
		{ "off-cpu", no_argument, NULL, 'O' },
		{ "python-internals", no_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "+F:c:aC:t:e:o:p:g:qvh";
	struct kc_record_opts o;
	struct kc_record_result res;
	int *pids = NULL, *tids = NULL, *cpus = NULL, quiet = 0, verbose = 0, c, rc;
	size_t npids = 0, ntids = 0;
	int ncpus = 0;
	long v;

	memset(&o, 0, sizeof(o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (kiln_parse_long(optarg, 1, 1000000, &v) < 0)
				return usage_error("record", "-F needs a rate in Hz from 1 to 1000000, not '%s'", optarg);
			o.freq = (unsigned)v;
			break;
		case 'c':
			if (kiln_parse_long(optarg, 1, 0x7fffffffffffffffL, &v) < 0) {
				rc = usage_error("record", "-c needs a sampling period (events per sample) of 1 or more, not '%s'", optarg);
				goto out;
			}
			o.period = (uint64_t)v;
			break;
		case 'a':
			o.system_wide = 1;
			break;
		case 'C':
			free(cpus);
			ncpus = kc_parse_cpu_list(optarg, &cpus);
			if (ncpus < 0) {
				rc = 2;
				goto out;
			}
			break;
		case 't':
			if (parse_pids(optarg, &tids, &ntids) < 0) {
				rc = usage_error("record", "-t needs thread ids like 1234 or 1234,1235, not '%s'", optarg);
				goto out;
			}
			break;
		case 'e':
			o.event = optarg;
			break;
		case 'o':
			if (!*optarg)
				return usage_error("record", "-o needs a file name");
			o.output = optarg;
			break;
		case 'p':
			if (parse_pids(optarg, &pids, &npids) < 0) {
				free(pids);
				return usage_error("record", "-p needs process ids like 1234 or 1234,5678, not '%s'", optarg);
			}
			break;
		case 'D':
			if (kiln_parse_duration(optarg, &o.duration) < 0 || o.duration <= 0) {
				free(pids);
				return usage_error("record", "--duration needs a positive time like 5, 250ms or 2m, not '%s'", optarg);
			}
			break;
		case 'K':
			o.no_kernel = 1;
			break;
		case 'I':
			o.no_inline = 1;
			break;
		case 'L':
			o.no_lines = 1;
			break;
		case 'g': {
			uint32_t size;
			if (kc_call_graph_parse(optarg, &o.call_graph, &size) < 0) {
				free(pids);
				return usage_error("record", "--call-graph takes fp, dwarf[,SIZE] or auto[,SIZE] "
					"(SIZE from 8 to %d bytes), not '%s'", KC_DWARF_STACK_MAX, optarg);
			}
			if (size)
				o.stack_user_size = size;
			break;
		}
		case 'S': {
			uint64_t size;
			if (kiln_parse_size(optarg, &size) < 0 || size < 8 || size > KC_DWARF_STACK_MAX) {
				free(pids);
				return usage_error("record", "--stack-size needs a size from 8 to %d bytes, not '%s'",
						   KC_DWARF_STACK_MAX, optarg);
			}
			o.stack_user_size = (uint32_t)((size + 7) & ~7ull);
			break;
		}
		case 'O':
			o.off_cpu = 1;
			break;
		case 'P':
			o.python_internals = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			free(pids);
			return 0;
		default:
			free(pids);
			return bad_option("record", argv, optstring);
		}
	}
	if (o.event && !kc_event_lookup(o.event)) {
		struct strbuf sb = STRBUF_INIT;
		kc_event_list(&sb);
		usage_error("record", "unknown event '%s'; known events: %s", o.event, sb.buf);
		strbuf_release(&sb);
		free(pids);
		return 2;
	}
	if (o.off_cpu && o.event) {
		const struct kc_event_def *ev = kc_event_lookup(o.event);
		if (strcmp(ev->unit, "ns")) {
			free(pids);
			return usage_error("record", "--off-cpu needs a timer event (cpu-clock or task-clock), not '%s'", o.event);
		}
	}
	if (o.period && o.freq) {
		rc = usage_error("record", "-c (a fixed period) and -F (a frequency) exclude each other; give one");
		goto out;
	}
	if ((optind < argc) + (npids > 0) + (ntids > 0) > 1) {
		rc = usage_error("record", "give one of a command, -p PID and -t TID, not several");
		goto out;
	}
	if (o.system_wide && (npids || ntids)) {
		rc = usage_error("record", "-a records every process; it does not go with -p or -t");
		goto out;
	}
	if (optind >= argc && !npids && !ntids && !o.system_wide && !ncpus) {
		rc = usage_error("record", "no command to record; try 'kiln record -- ./myprog', -p PID or -a");
		goto out;
	}
	o.pids = pids;
	o.npids = npids;
	o.tids = tids;
	o.ntids = ntids;
	o.cpus = cpus;
	o.ncpus = (size_t)ncpus;
	o.argv = optind < argc ? argv + optind : NULL;

	rc = kc_record(&o, &res);
	free(pids);
	free(tids);
	free(cpus);
	pids = tids = cpus = NULL;
	if (rc < 0)
		return res.exit_status ? res.exit_status : 1;
	if (!quiet) {
		char size[32];
		human_size(res.file_bytes, size, sizeof(size));
		fprintf(stderr,
			"kiln record: %llu samples of %s in %.2f s, %u thread%s, %u process%s, %llu lost, "
			"'%s' %s (%.1f bytes/sample)\n",
			(unsigned long long)res.samples, res.event, res.seconds, res.threads,
			res.threads == 1 ? "" : "s", res.processes, res.processes == 1 ? "" : "es",
			(unsigned long long)res.lost, o.output ? o.output : "kiln.prof", size,
			res.samples ? (double)res.file_bytes / (double)res.samples : 0.0);
		if (res.truncated)
			fprintf(stderr, "kiln record: %llu of %llu stacks (%.1f%%) could not be unwound to their root "
				"(marked [truncated]); try --call-graph dwarf,SIZE with a larger SIZE\n",
				(unsigned long long)res.truncated, (unsigned long long)res.stacks,
				res.stacks ? 100.0 * (double)res.truncated / (double)res.stacks : 0.0);
		if (o.off_cpu)
			fprintf(stderr, "kiln record: %llu off-CPU intervals\n", (unsigned long long)res.offcpu_intervals);
		if (res.python_merged)
			fprintf(stderr, "kiln record: %llu stacks with Python frames\n", (unsigned long long)res.python_merged);
	}
	if (verbose)
		fprintf(stderr,
			"kiln record: kiln used %.3f s of CPU, the target %.3f s (%.2f%%); kiln's peak memory %.1f MiB; "
			"%.1f MiB read from the kernel; %llu leaf frames recovered; %llu stacks spliced with frame pointers\n",
			res.self_cpu, res.target_cpu, res.target_cpu > 0 ? res.self_cpu * 100 / res.target_cpu : 0.0,
			(double)res.max_rss_kb / 1024, (double)res.ring_bytes / (1024 * 1024),
			(unsigned long long)res.leaf_fixed, (unsigned long long)res.spliced);
	return res.exit_status;
out:
	free(pids);
	free(tids);
	free(cpus);
	return rc;
}
