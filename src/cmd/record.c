/* record.c: kiln record (not written yet). */
#include "cmd.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kiln_error("'kiln record' is not available yet");
	return 1;
}
