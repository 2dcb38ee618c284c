/* diff.c: kiln diff (not written yet). */
#include "cmd.h"

int cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln diff' is not available yet");
	return 1;
}
