/* flame.c: kiln flame (not written yet). */
#include "cmd.h"

int cmd_flame(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln flame' is not available yet");
	return 1;
}
