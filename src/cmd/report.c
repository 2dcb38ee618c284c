/* report.c: kiln report (not written yet). */
#include "cmd.h"

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln report' is not available yet");
	return 1;
}
