/* folded.h: the folded-stack text format ("root;child;leaf COUNT" a line) to and from
 * the profile model. This is the format of FlameGraph's stackcollapse-*.pl and flamegraph.pl. */
#ifndef KILN_PROFILE_FOLDED_H
#define KILN_PROFILE_FOLDED_H
#include "profile/profile.h"
#include <stdio.h>

struct kiln_input;

struct kp_folded_stats {
	size_t lines;       /* lines read */
	size_t samples;     /* lines that became samples */
	size_t bad_lines;   /* malformed lines skipped (no count, bad count, empty stack) */
	size_t first_bad;   /* line number of the first malformed line, 0 if none */
	int negative;       /* a negative count was seen (and skipped) */
};

/* Reads folded text into p (which must be initialized). Each good line becomes one sample
 * of value type "samples" (added if p has no value types), in input order, time = line
 * number. Counts may be fractional. Frames are names only (an "_[k]", "_[i]" or "_[j]"
 * suffix sets the matching flag and is kept in the name). Returns 0, or -1 on an I/O error. */
int kp_folded_read(struct kp_profile *p, struct kiln_input *in, struct kp_folded_stats *st);

enum kp_folded_root {
	KP_ROOT_NONE,  /* stacks as they are */
	KP_ROOT_COMM,  /* process name first, as stackcollapse-perf.pl does */
	KP_ROOT_PID,   /* comm-PID */
	KP_ROOT_TID,   /* comm-PID/TID */
};

struct kp_folded_opts {
	uint32_t value;            /* value type index to print */
	enum kp_folded_root root;
	int annotate;              /* add _[k] / _[j] suffixes (inline _[i] is always added):
	                            * 1 both, or KP_ANNOTATE_KERNEL / KP_ANNOTATE_JIT bits */
	const uint8_t *keep;       /* when not NULL, only samples i with keep[i] count */
};

/* Writes one line per distinct (root, stack) with the summed value, sorted by byte order
 * of the stack text; zero sums are left out. Returns 0, or -1 on a write error (errno set). */
int kp_folded_write(const struct kp_profile *p, const struct kp_folded_opts *o, FILE *out);

/* Formats a count as folded output does: integers without a fraction, else up to 17
 * significant digits. Returns the length written (buf of at least 32 bytes). */
int kp_format_count(double v, char *buf, size_t size);

#endif
