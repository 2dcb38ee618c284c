/* heap_suppress.h: leak suppressions for heap profiles, in LeakSanitizer's format, plus
 * kiln's built-in ones for allocator pools every program has.
 *
 * A suppressions file holds one rule a line: "leak:PATTERN". Blank lines and lines
 * starting with '#' are ignored; leading and trailing blanks are trimmed. A stack is
 * suppressed when PATTERN matches the function name, the module path or the source
 * file of any of its frames. PATTERN is matched as LeakSanitizer does: as a substring,
 * where '*' stands for any run of characters, a leading '^' anchors it at the start
 * of the name and a trailing '$' at its end.
 *
 * Built-in rules (always on, first in the list, with a description): glibc's stdio
 * stream buffers (allocated in _IO_file_doallocate, kept until exit) and the block
 * libstdc++'s initializer allocates, run by the dynamic loader's _dl_init (its
 * emergency exception-handling pool). They are narrower than a LeakSanitizer rule can
 * say: the first must match the allocation site itself, the second the allocation site's
 * module and, elsewhere in the stack, _dl_init. */
#ifndef KILN_HEAP_SUPPRESS_H
#define KILN_HEAP_SUPPRESS_H
#include "profile/profile.h"
#include <stddef.h>

struct heap_supp_rule {
	char *pattern;       /* after "leak:" */
	char *origin;        /* "built-in", or FILE:LINE */
	const char *desc;    /* a built-in rule's description, else NULL */
	double count, bytes; /* what it suppressed (heap_supp_apply) */
	int builtin;
};

struct heap_supp {
	struct heap_supp_rule *rules;
	size_t n, alloc;
	/* what each rule's patterns gave on each frame of the profile last matched (many
	 * stacks share their frames): 0 not known, 1 no, 2 yes; kept while that profile
	 * (address, frame and string counts) is the one matched and no rule was added */
	unsigned char *memo;
	const struct kp_profile *memo_p;
	size_t memo_rules;
	uint32_t memo_frames, memo_strings;
};

/* Starts with the built-in rules. */
void heap_supp_init(struct heap_supp *s);
void heap_supp_release(struct heap_supp *s);
/* Adds the rules of text (a suppressions file's contents; origin names it in errors).
 * Returns 0, or -1 after a one-line error naming the line. */
int heap_supp_add_text(struct heap_supp *s, const char *text, const char *origin);
/* Reads and adds a file. Returns 0, or -1 after a one-line error. */
int heap_supp_add_file(struct heap_supp *s, const char *path, char **text_out);
/* The index of the first rule that suppresses stack st of p, or -1. */
int heap_supp_match(struct heap_supp *s, const struct kp_profile *p, kp_stack_t st);
/* LeakSanitizer's template match of pattern against name (exposed for tests). */
int heap_supp_template_match(const char *pattern, const char *name);

/* Moves the leaked values of suppressed stacks out of leaked_count[] and
 * leaked_bytes[] (per stack id, p->nstacks entries, as kp_stack_sums gives them) into
 * the rules' counters; returns the totals suppressed through *count and *bytes. */
void heap_supp_apply(struct heap_supp *s, const struct kp_profile *p, double *leaked_count, double *leaked_bytes,
		     double *count, double *bytes);

/* The meta key under which kiln heap stores the user's rules in the profile. */
#define HEAP_SUPP_META "heap.suppressions"

#endif
