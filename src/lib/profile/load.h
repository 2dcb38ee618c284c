/* load.h: open "a profile" whatever its form: a kiln.prof file, folded text, or another
 * tool's profile (pprof, Chrome .cpuprofile, speedscope, perf.data: formats/formats.h),
 * plain, gzip or zstd, recognised by content. Used by flame, diff, report and export. */
#ifndef KILN_PROFILE_LOAD_H
#define KILN_PROFILE_LOAD_H
#include "profile/folded.h"
#include "profile/profile_io.h"

struct kp_auto_info {
	int is_profile;                /* 1: kiln profile (or another tool's), 0: folded text */
	int format;                    /* enum kf_format of another tool's profile, else 0 */
	struct kp_load_info load;      /* for profiles */
	struct kp_folded_stats folded; /* for folded text */
};

/* Loads path ("-" for stdin) into p (initialized by the call). Prints warnings for a
 * damaged profile (what loaded is kept) and for skipped malformed folded lines (one line
 * with the count). Returns 0, or -1 after a one-line error (missing, unreadable, not a
 * profile and not folded text, or nothing usable in it). Another tool's profile loads whole
 * or not at all (-1 after a line saying what is wrong with it). */
int kp_load_auto(struct kp_profile *p, const char *path, struct kp_auto_info *info);

#endif
