/* lock.c: kiln lock (placeholder until the lock profiler lands). */
#include "cmd.h"
int cmd_lock(int argc, char **argv)
{
	return usage_error("lock", "not built yet");
}
