/* serve.c: kiln serve: a local web UI over a store or a profile file. */
#include "cmd.h"
#include "serve/serve.h"
#include "util/strbuf.h"
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln serve [--store DIR | --source URL | FILE] [--listen ADDR:PORT] [--open]\n"
		"\n"
		"A web UI in the browser: pick a time range and labels, see the flame graph, the\n"
		"top functions, CPU over time per service, and compare two ranges. It reads a\n"
		"store (as 'kiln query' does) or one profile (FILE: any profile kiln reads; its\n"
		"labels are the processes' comm and pid, and it has no time range). It listens on\n"
		"127.0.0.1 only unless --listen names another address, answers GET only, and\n"
		"shows nothing but the store or FILE. Prints the URL, then runs until Ctrl-C.\n"
		"\n"
		"options:\n"
		"      --store DIR         the local store the agent writes\n"
		"      --source URL        another source: clickhouse://HOST:8123/DB\n"
		"      --listen ADDR:PORT  where to listen (default 127.0.0.1:%d; a port alone\n"
		"                          stays on 127.0.0.1; port 0: any free port);\n"
		"                          0.0.0.0:PORT makes the profiles reachable from other\n"
		"                          machines, without access control\n"
		"      --open              open the page in the desktop's browser (xdg-open)\n"
		"  -v, --verbose           one line per request on stderr\n"
		"  -h, --help              this help\n"
		"\n"
		"examples:\n"
		"  kiln serve --store /var/lib/kiln        then open http://127.0.0.1:%d/\n"
		"  kiln serve kiln.prof --open             one profile, in the browser\n"
		"  kiln serve --source clickhouse://db:8123/kiln --listen 127.0.0.1:9000\n",
		KSV_DEFAULT_PORT, KSV_DEFAULT_PORT);
}

static void open_browser(const char *url)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "kiln serve: warning: could not open a browser (xdg-open); open %s yourself\n", url);
}

int cmd_serve(int argc, char **argv)
{
	enum { OPT_STORE = 256, OPT_SOURCE, OPT_LISTEN, OPT_OPEN };
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "open", no_argument, NULL, OPT_OPEN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "vh";
	struct ksv_opts o;
	int c, open_it = 0, verbose = 0;
	memset(&o, 0, sizeof(o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STORE:
		case OPT_SOURCE:
			if (o.spec)
				return usage_error("serve", "give one --store or --source");
			o.spec = optarg;
			break;
		case OPT_LISTEN: o.listen = optarg; break;
		case OPT_OPEN: open_it = 1; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option("serve", argv, optstring);
		}
	}
	if (argc - optind > 1)
		return usage_error("serve", "give one profile FILE");
	if (optind < argc)
		o.file = argv[optind];
	if (!o.file == !o.spec)
		return usage_error("serve", o.file ? "give a store (--store/--source) or a FILE, not both"
						   : "nothing to serve: give --store DIR, --source URL or a profile FILE");
	struct strbuf err = STRBUF_INIT, url = STRBUF_INIT;
	struct ksv_listen l;
	if (ksv_parse_listen(o.listen, &l, &err) < 0) {
		int rc = usage_error("serve", "%s", err.buf);
		strbuf_release(&err);
		return rc;
	}
	o.log = verbose || progress_allowed();
	if (!l.loopback)
		fprintf(stderr, "kiln serve: warning: listening on '%s', beyond this machine: anyone who can reach "
				"it can read the profiles (there is no access control)\n", o.listen);

	/* the server's thread inherits the mask: only this thread takes the signals */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	struct ksv_server *s;
	if (ksv_start(&o, &s, &url, &err) < 0) {
		if (err.len)
			kiln_error("%s", err.buf);
		strbuf_release(&err);
		strbuf_release(&url);
		return 1;
	}
	printf("%s\n", url.buf);
	fflush(stdout);
	if (o.log)
		fprintf(stderr, "kiln serve: serving '%s' at %s; Ctrl-C stops\n", o.file ? o.file : o.spec, url.buf);
	if (open_it)
		open_browser(url.buf);
	int sig = 0;
	sigwait(&stop, &sig);
	ksv_stop(s);
	if (o.log)
		fprintf(stderr, "kiln serve: stopped\n");
	strbuf_release(&err);
	strbuf_release(&url);
	return 0;
}
