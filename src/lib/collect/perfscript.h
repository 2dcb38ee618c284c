/* perfscript.h: `perf script` text -> the profile model, by the rules of FlameGraph's
 * stackcollapse-perf.pl (so that folded output is byte-identical to it).
 *
 * Input is the text `perf script` prints for samples with call chains:
 *
 *     comm PID[/TID] [CPU] TIME: [PERIOD] EVENT:      one sample header (fields vary)
 *     <ws>ADDR SYMBOL[+0xOFF] (MODULE)                one frame a line, leaf first
 *     (blank line)                                    end of the sample
 *
 * Lines starting with '#' are comments. The rules, one by one:
 *  - header: comm is the shortest text (not starting with a blank; one character is
 *    enough, where stackcollapse-perf.pl wants two) followed by blanks and a number (PID, or PID/TID); with one number it is the TID
 *    and the PID is "?" (a TID of 0 counts as absent, so "swapper 0/0" is "swapper-?/0").
 *    When the header ends in ": [PERIOD] EVENT:", the sample counts PERIOD (1 when absent
 *    or 0) and only samples of the first event seen are counted; others are skipped.
 *  - thread: each sample's thread is (PID, TID, comm), as fine as opts.root asks: comm
 *    alone (PID = TID = 0), comm and PID (TID = 0), or all three; an unknown PID is -1.
 *    kp_folded_write with KP_ROOT_COMM / _PID / _TID then prints the root frame of
 *    stackcollapse-perf.pl: comm with spaces turned into '_', "comm-PID", "comm-PID/TID".
 *    Stacks do not include the process, so threads running the same code share them.
 *  - frame line: ADDR is a word, MODULE the last " (...)" group on the line. A "+0x<hex>"
 *    at the end of SYMBOL is dropped; a SYMBOL starting with '(' is skipped. "a->b" are
 *    inlined frames: b becomes a child of a, flagged KP_FRAME_INLINE.
 *  - names: "[unknown]" becomes "[<module basename>]" ("[unknown]" without a module; with
 *    addrs "[<module basename> <ADDR>]" / "[unknown <ADDR>]"), flagged KP_FRAME_UNKNOWN;
 *    ';' becomes ':'; the argument list from the first '(' is cut, except in Go names
 *    ("pkg.(*T).M") and "(anonymous namespace)"; quotes are removed; in a process named
 *    "java", a leading 'L' of a name containing '/' is dropped.
 *  - flags: MODULE starting with '[' or ending in "vmlinux" (and not "[unknown]") is
 *    KP_FRAME_KERNEL; MODULE containing "/tmp/perf-<N>.map" is KP_FRAME_JIT.
 *  - a sample ends at a blank line or at the end of input (then it still counts).
 *
 * Samples are aggregated while reading: the profile gets one sample per distinct (thread,
 * stack), at time 0, of value type "period" (unit "count"), so memory grows with the
 * number of distinct stacks, not with the input. Frames keep their module path. */
#ifndef KILN_COLLECT_PERFSCRIPT_H
#define KILN_COLLECT_PERFSCRIPT_H
#include "profile/profile.h"
#include <stddef.h>

struct kiln_input;

enum kp_ps_root {
	KP_PS_ROOT_COMM, /* threads by comm: "comm" */
	KP_PS_ROOT_PID,  /* by comm and PID: "comm-PID" */
	KP_PS_ROOT_TID,  /* by comm, PID and TID: "comm-PID/TID" */
};

struct kp_perfscript_opts {
	enum kp_ps_root root;
	int addrs; /* unknown symbols as "[module <addr>]" */
	/* Called now and then by kp_perfscript_read with the input bytes consumed so far and
	 * the input's size (0 when unknown). May be NULL. */
	void (*progress)(void *arg, unsigned long long done, unsigned long long total);
	void *progress_arg;
};

struct kp_perfscript_stats {
	size_t lines;         /* lines read */
	size_t samples;       /* samples counted */
	size_t headers;       /* sample header lines (counted or not) */
	size_t frame_lines;   /* frame lines (counted or not) */
	size_t filtered;      /* sample headers of another event than the first, skipped */
	size_t bad_lines;     /* lines that are none of: comment, blank, header, frame */
	size_t first_bad;     /* line number of the first such line, 0 if none */
	size_t long_lines;    /* lines longer than 1 MiB (kept, but worth a word) */
	char event[64];       /* the first event seen ("" if headers had none), truncated */
	char other_event[64]; /* the first event skipped for not being the first ("" if none) */
};

struct kp_perfscript;

/* A streaming parser adding to p (initialized by the caller; the parser adds the value
 * type "period" if p lacks it). p must outlive the parser. */
struct kp_perfscript *kp_perfscript_new(struct kp_profile *p, const struct kp_perfscript_opts *o);
/* Feeds one line, without its '\n' (need not be NUL-terminated). */
void kp_perfscript_line(struct kp_perfscript *ps, const char *line, size_t len);
/* Ends the input: a sample not yet closed by a blank line is counted. Further lines start
 * afresh. */
void kp_perfscript_finish(struct kp_perfscript *ps);
const struct kp_perfscript_stats *kp_perfscript_stats(const struct kp_perfscript *ps);
void kp_perfscript_free(struct kp_perfscript *ps);

/* Reads all of in into p. Fills st (may be NULL). Returns 0, or -1 on a read or
 * decompression error (printed); p then holds what was read before the error. */
int kp_perfscript_read(struct kp_profile *p, struct kiln_input *in,
		       const struct kp_perfscript_opts *o, struct kp_perfscript_stats *st);

#endif
