/* build: -O1 -g -fno-omit-frame-pointer -DLEAF_NO_FRAME */
/* shares_leaf.c: shares.c with spin() built without a frame (omit-frame-pointer), so a
 * frame-pointer walk from inside spin skips hot_a/hot_b/hot_c: perf record -g reports
 * main -> work_a -> spin. kiln must recover the true chain. */
#include "shares.c"
