/* collapse.c: kiln collapse (not written yet). */
#include "cmd.h"

int cmd_collapse(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln collapse' is not available yet");
	return 1;
}
