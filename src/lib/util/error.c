/* error.c: diagnostics to stderr in kiln's one-line format. */
#include "util/error.h"
#include <stdarg.h>
#include <stdio.h>

static int quiet;

int kiln_set_quiet(int q)
{
	int old = quiet;
	quiet = q;
	return old;
}

static void KILN_PRINTF(2, 0) report(const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fflush(stdout);
	fprintf(stderr, "kiln: %s%s\n", prefix, msg);
}

int kiln_error(const char *fmt, ...)
{
	va_list ap;
	if (quiet > 1)
		return -1;
	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void kiln_warn(const char *fmt, ...)
{
	va_list ap;
	if (quiet)
		return;
	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void kiln_note(const char *fmt, ...)
{
	va_list ap;
	if (quiet)
		return;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}
