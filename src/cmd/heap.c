/* heap.c: kiln heap (not written yet). */
#include "cmd.h"

int cmd_heap(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln heap' is not available yet");
	return 1;
}
