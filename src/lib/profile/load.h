/* load.h: open "a profile" whatever its form: a kiln.prof file or folded text (plain,
 * gzip or zstd), recognised by content. Used by flame, diff and report. */
#ifndef KILN_PROFILE_LOAD_H
#define KILN_PROFILE_LOAD_H
#include "profile/folded.h"
#include "profile/profile_io.h"

struct kp_auto_info {
	int is_profile;                /* 1: kiln profile, 0: folded text */
	struct kp_load_info load;      /* for profiles */
	struct kp_folded_stats folded; /* for folded text */
};

/* Loads path ("-" for stdin) into p (initialized by the call). Prints warnings for a
 * damaged profile (what loaded is kept) and for skipped malformed folded lines (one line
 * with the count). Returns 0, or -1 after a one-line error (missing, unreadable, not a
 * profile and not folded text, or nothing usable in it). */
int kp_load_auto(struct kp_profile *p, const char *path, struct kp_auto_info *info);

#endif
