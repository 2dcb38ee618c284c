/* stat.c: kiln stat (not written yet). */
#include "cmd.h"

int cmd_stat(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln stat' is not available yet");
	return 1;
}
