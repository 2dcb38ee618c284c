/* main.c: the command table and the code that runs one entry. */
#include "cmd/cmd.h"
#include "util/output.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmd_struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd_struct commands[] = {
	{ "record", cmd_record, "sample a program's CPU time with call stacks" },
	{ "report", cmd_report, "show where the time (or memory) went in a profile" },
	{ "flame", cmd_flame, "draw an interactive flame graph (SVG)" },
	{ "diff", cmd_diff, "compare two profiles: differential flame graph and table" },
	{ "collapse", cmd_collapse, "turn 'perf script' output into folded stacks" },
	{ "heap", cmd_heap, "track a program's allocations: peak, leaks, temporaries" },
	{ "stat", cmd_stat, "run a command and read its time, memory and hardware counters" },
	{ "bench", cmd_bench, "benchmark commands with sound statistics and baselines" },
	{ "latency", cmd_latency, "time every call of chosen functions: percentiles, histogram" },
	{ "lock", cmd_lock, "profile lock contention: waits and holds per lock, with stacks" },
	{ "export", cmd_export, "write a profile for pprof, speedscope, Firefox Profiler, Chrome" },
	{ "annotate", cmd_annotate, "show one function's source lines (and instructions) with their samples" },
	{ "agent", cmd_agent, "profile the whole machine all the time, a window at a time, to a store" },
	{ "query", cmd_query, "one profile from a store of kiln agent's windows, by time and label" },
	{ "serve", cmd_serve, "a local web UI: flame graphs, top functions, CPU over time, compare" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kiln <command> [options] [args]\n"
		"       kiln --help | --version | help <command>\n"
		"\n"
		"kiln is a Linux performance toolkit: profile, locate, measure, prove.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"examples:\n"
		"  kiln record -- ./myprog arg      profile ./myprog into kiln.prof\n"
		"  kiln report                      where did the time go\n"
		"  kiln flame kiln.prof > cpu.svg   flame graph\n"
		"  perf script | kiln collapse | kiln flame > perf.svg\n"
		"  kiln export -f pprof -o cpu.pb.gz  for go tool pprof (also speedscope, firefox, chrome)\n"
		"\n"
		"'kiln <command> --help' shows a command's options; docs/ has the manual.\n");
}

static const struct cmd_struct *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Checks that everything written to stdout reached it (disk full, closed pipe). */
static int finish_stdout(int status)
{
	return kiln_stdout_finish(status);
}

static int run_command(const struct cmd_struct *c, int argc, char **argv)
{
	return finish_stdout(c->fn(argc, argv));
}

int main(int argc, char **argv)
{
	const struct cmd_struct *c;
	/* A closed pipe (kiln report | head) ends output quietly rather than with a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_help(stdout);
		return finish_stdout(0);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("kiln %s\n", KILN_VERSION);
		return finish_stdout(0);
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			print_help(stdout);
			return finish_stdout(0);
		}
		c = find_command(argv[2]);
		if (!c) {
			fprintf(stderr, "kiln: error: '%s' is not a kiln command; see 'kiln --help'\n", argv[2]);
			return 2;
		}
		char *hargv[] = { argv[2], (char *)"--help", NULL };
		return run_command(c, 2, hargv);
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "kiln: error: unknown option '%s'; see 'kiln --help'\n", argv[1]);
		return 2;
	}
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "kiln: error: '%s' is not a kiln command; see 'kiln --help'\n", argv[1]);
		return 2;
	}
	return run_command(c, argc - 1, argv + 1);
}
