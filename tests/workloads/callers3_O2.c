/* build: -O2 -g -fomit-frame-pointer */
/* callers3_O2.c: callers3.c optimised (-O2): no debug_build finding. */
#include "callers3.c"
