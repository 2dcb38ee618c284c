/* common.c: option-error helpers shared by the commands. */
#include "cmd.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "kiln %s: error: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'kiln %s --help'\n", cmd);
	return 2;
}

int bad_option(const char *cmd, char **argv, const char *optstring)
{
	extern int optind, optopt;
	const char *arg = optind >= 1 ? argv[optind - 1] : "?";
	if (optopt > 0 && optopt < 256 && optopt != ':' && strchr(optstring, optopt)) {
		const char *o = strchr(optstring, optopt);
		if (o[1] == ':')
			return usage_error(cmd, "option '-%c' needs a value", optopt);
	}
	if (optopt > 0 && optopt < 256 && !strchr(optstring, optopt))
		return usage_error(cmd, "unknown option '-%c'", optopt);
	if (!strncmp(arg, "--", 2)) {
		const char *eq = strchr(arg, '=');
		int len = eq ? (int)(eq - arg) : (int)strlen(arg);
		if (optopt)
			return usage_error(cmd, "option '%.*s' needs a value", len, arg);
		return usage_error(cmd, "unknown option '%.*s'", len, arg);
	}
	return usage_error(cmd, "unknown option '%s'", arg);
}

int progress_allowed(void)
{
	const char *e = getenv("KILN_NO_PROGRESS");
	return isatty(2) && !(e && *e && strcmp(e, "0"));
}
