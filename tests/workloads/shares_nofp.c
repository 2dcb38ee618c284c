/* build: -O1 -g -fomit-frame-pointer */
/* shares_nofp.c: shares.c (60/30/10 in main -> work_x -> hot_x -> spin) built without
 * frame pointers anywhere, as most distribution binaries are: a frame-pointer walk gets
 * nothing right here; --call-graph dwarf must give complete stacks through main. */
#define LEAF_NO_FRAME
#include "shares.c"
