/* build: -O2 -s -fomit-frame-pointer */
/* callers3_strip.c: callers3.c stripped (no .symtab, no DWARF) and without frame
 * pointers, as distribution binaries often are: only the unwind tables remain. */
#include "callers3.c"
