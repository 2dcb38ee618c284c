/* bench.c: kiln bench (not written yet). */
#include "cmd.h"

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln bench' is not available yet");
	return 1;
}
