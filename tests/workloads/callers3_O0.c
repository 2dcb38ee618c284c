/* build: -O0 -g */
/* callers3_O0.c: callers3.c as a debug build (-O0): kiln report says so. */
#include "callers3.c"
