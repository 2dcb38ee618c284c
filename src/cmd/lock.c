/* lock.c: kiln lock: lock contention of a program, with the heap library in lock mode,
 * or of a running process through uprobes and BPF:
 *   kiln lock [options] [--] CMD [ARGS...]
 *   kiln lock [options] -p PID */
#include "cmd.h"
#include "collect/cmdrun.h"
#include "heap/heap_run.h"
#include "lock/lock.h"
#include "lock/lock_attach.h"
#include "lock/lock_report.h"
#include "profile/profile_io.h"
#include "util/output.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum { OPT_JSON = 256, OPT_HOLD, OPT_STACKS, OPT_TOP };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln lock [options] [--] CMD [ARGS...]\n"
		"       kiln lock [options] -p PID\n"
		"\n"
		"Runs CMD with kiln's preload library in lock mode and profiles lock contention\n"
		"in user space: pthread mutexes (and C++ std::mutex, which uses them), rwlocks,\n"
		"spinlocks, and condition-variable waits (kept apart from contention). Per lock,\n"
		"named by the code that created or first took it: acquisitions, how many were\n"
		"contended, total and longest wait and hold, and the stacks that waited and held\n"
		"longest. Every thread and child process is followed. With -p, a running process\n"
		"is traced instead, through uprobes on its libc's pthread functions and a BPF\n"
		"program (root), every thread of it, until Ctrl-C, --duration or its end.\n"
		"\n"
		"options:\n"
		"  -p, --pid PID       trace this running process (all its threads)\n"
		"  -d, --duration DURATION\n"
		"                      with -p: stop after this long (default: Ctrl-C or its end)\n"
		"  -o, --output FILE   also write a profile (wait_ns, hold_ns, contended,\n"
		"                      cond_wait_ns per stack) for report, flame and diff\n"
		"      --json          JSON output (docs/kiln-lock.md)\n"
		"      --top N         locks to show (default 10, 0: all)\n"
		"      --stacks N      stacks per lock and kind (default 3)\n"
		"      --hold-stacks DURATION\n"
		"                      keep the stack of holds at least this long (default 10us)\n"
		"  -q, --quiet         no summary line on stderr\n"
		"  -h, --help          this help\n"
		"\n"
		"examples:\n"
		"  kiln lock -- ./server --threads 8\n"
		"  kiln lock -p $(pidof server) -d 10s\n"
		"  kiln lock -o lock.prof -- ./app && kiln flame lock.prof > waits.svg\n");
}

int cmd_lock(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "stacks", required_argument, NULL, OPT_STACKS },
		{ "hold-stacks", required_argument, NULL, OPT_HOLD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "+o:p:d:qh";
	const char *output = NULL;
	struct lock_opts o;
	struct lock_result r;
	int c, json = 0, quiet = 0, rc = 0, pid = 0;
	long top = 10, nstacks = 3, v;
	double duration = 0;
	struct lock_probes *probes = NULL;
	char *resolved = NULL;
	double hold = 10e-6;

	memset(&o, 0, sizeof(o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case OPT_JSON: json = 1; break;
		case OPT_TOP:
			if (kiln_parse_long(optarg, 0, 1000000, &top) < 0)
				return usage_error("lock", "'--top' needs a count, not '%s'", optarg);
			break;
		case OPT_STACKS:
			if (kiln_parse_long(optarg, 0, 1000, &nstacks) < 0)
				return usage_error("lock", "'--stacks' needs a count, not '%s'", optarg);
			break;
		case OPT_HOLD:
			if (kiln_parse_duration(optarg, &hold) < 0 || hold < 0)
				return usage_error("lock", "'--hold-stacks' needs a duration such as 50us, not '%s'", optarg);
			break;
		case 'q': quiet = 1; break;
		case 'p':
			if (kiln_parse_long(optarg, 1, 0x7fffffff, &v) < 0)
				return usage_error("lock", "'-p' needs a process id, not '%s'", optarg);
			pid = (int)v;
			break;
		case 'd':
			if (kiln_parse_duration(optarg, &duration) < 0 || duration <= 0)
				return usage_error("lock", "'--duration' needs a duration such as 10s, not '%s'", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("lock", argv, optstring);
		}
	}
	if (pid && optind < argc)
		return usage_error("lock", "give either '-p PID' or a command, not both");
	if (duration > 0 && !pid)
		return usage_error("lock", "'--duration' goes with '-p PID'; a command is traced until it ends");
	if (!pid && optind >= argc)
		return usage_error("lock", "no command to run; give one after the options, as in 'kiln lock -- ./prog'");
	/* an unwritable -o is found now, not after the program ran */
	if (output && kiln_output_check(output) < 0)
		return 1;
	o.hold_ns = (uint64_t)(hold * 1e9);
	if (pid) {
		struct lock_attach_opts ao = { pid, o.hold_ns, duration, &probes };
		if (lock_attach(&ao, &r) < 0) {
			lock_probes_free(probes);
			lock_result_release(&r);
			return 1;
		}
	} else {
		o.argv = argv + optind;
		c = heap_run_check(o.argv[0], &resolved);
		if (c < 0)
			return c == -2 ? 127 : 1;
		free(resolved);
		o.preload = heap_find_preload();
		if (!o.preload)
			return 1;
		if (lock_run(&o, &r) < 0) {
			free((char *)o.preload);
			rc = r.exec_failed ? 127 : 1;
			lock_result_release(&r);
			return rc;
		}
		free((char *)o.preload);
	}
	{
		struct strbuf sb = STRBUF_INIT;
		if (json)
			lock_report_json(&r, &sb);
		else
			lock_report_text(&r, (size_t)top, (size_t)nstacks, &sb);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	}
	if (output) {
		struct strbuf cmd = STRBUF_INIT;
		for (char **a = o.argv; a && *a; a++)
			strbuf_addf(&cmd, "%s%s", cmd.len ? " " : "", *a);
		if (cmd.len)
			kp_meta_set(&r.prof, "command", cmd.buf);
		strbuf_release(&cmd);
		if (kp_profile_save(&r.prof, output) < 0)
			rc = 1;
	}
	if (!r.nlocks && pid) {
		kiln_error("no lock was recorded: process %d took no pthread lock while kiln watched (%.1f s)", pid,
			   r.seconds);
		if (!rc)
			rc = 1;
	} else if (!r.nlocks) {
		kiln_error("no lock was recorded: '%s' took no pthread lock through kiln's library "
			   "(it exited at once, cleared LD_PRELOAD, or uses no pthread locks)", o.argv[0]);
		if (!rc)
			rc = 1;
	} else if (!quiet && r.dropped) {
		kiln_warn("%llu lock operations could not be counted (tables full)", (unsigned long long)r.dropped);
	}
	if (WIFEXITED(r.status) || WIFSIGNALED(r.status)) {
		int code = kc_exit_code(r.status);
		if (code)
			rc = code;
	}
	lock_result_release(&r);
	fflush(stdout);
	lock_probes_free(probes);
	return rc;
}
