/* formats.h: other tools' profile formats, to and from the profile model.
 *
 * Readers take the whole (decompressed) input as bytes; kf_load() is the content-sniffing
 * entry that kp_load_auto() calls for anything that is neither a kiln profile nor folded
 * text. Writers take a whole profile and write to a stream; the command layer opens the
 * stream with kiln_output_open() so that a failed export never leaves a half-written file.
 * docs/formats.md says what each format keeps and drops. */
#ifndef KILN_FORMATS_FORMATS_H
#define KILN_FORMATS_FORMATS_H
#include "profile/profile.h"
#include "util/error.h"
#include <stdio.h>

struct kiln_input;

enum kf_format {
	KF_NONE = 0,
	KF_PPROF,      /* profile.proto, gzipped or not */
	KF_SPEEDSCOPE, /* speedscope's JSON file format */
	KF_CHROME,     /* Chrome DevTools / node --cpu-prof .cpuprofile */
	KF_FIREFOX,    /* the Firefox Profiler's gecko format (written only) */
	KF_PERFDATA,   /* perf.data (read through `perf script`) */
	KF_JSON,       /* kiln's own JSON dump of the model (written only) */
	KF_FOLDED,     /* folded stacks (written; read by profile/folded.c) */
};

/* The format's name as the command line spells it ("pprof", ...), and back (KF_NONE
 * when unknown). */
const char *kf_format_name(enum kf_format f);
enum kf_format kf_format_from_name(const char *name);

/* Recognises a format from the first n decompressed bytes of a file (n up to 4096 helps).
 * JSON is told apart by kf_load after parsing. Returns KF_NONE for anything else. */
enum kf_format kf_sniff(const void *head, size_t n);

/* 1 if head (n bytes) starts like a pprof Profile message (not gzipped). */
int kf_pprof_sniff(const void *head, size_t n);

/* Inputs larger than this after decompression are refused (a zip bomb, or not a profile). */
#define KF_MAX_INPUT (4ULL << 30)

/* Loads in (already opened; kf_sniff said fmt) into p, initialized by the call. Returns 0,
 * or -1 after one line on stderr naming the file and what is wrong; p is then empty but
 * initialized (release it either way). */
int kf_load(struct kp_profile *p, struct kiln_input *in, enum kf_format fmt);

/* Readers over whole buffers (for kf_load, the unit tests and the fuzzers). name is for
 * messages. p must be initialized and empty. Return 0 or -1 (printed). */
int kf_pprof_read(struct kp_profile *p, const void *data, size_t len, const char *name);
int kf_speedscope_read(struct kp_profile *p, const char *json, size_t len, const char *name);
int kf_chrome_read(struct kp_profile *p, const char *json, size_t len, const char *name);
/* The same without a separate pass over the whole document first (kf_json_read's way):
 * the syntax is checked while reading. */
int kf_speedscope_read_checked(struct kp_profile *p, const char *json, size_t len, const char *name);
int kf_chrome_read_checked(struct kp_profile *p, const char *json, size_t len, const char *name);
/* Any of the JSON formats, told apart by their keys. */
int kf_json_read(struct kp_profile *p, const char *json, size_t len, const char *name);
/* perf.data at path, through `perf script` (path must be a regular file). */
int kf_perfdata_read(struct kp_profile *p, const char *path);

struct kf_write_opts {
	const char *name;     /* the profile's name, for messages */
	int value;            /* value index for the formats that hold one (-1: choose) */
	int value_given;      /* the user chose value (--value) */
	int gzip;             /* pprof: gzip the output (default 1) */
};

/* Writers. Each checks first that p fits the format and returns -2 after one line
 * (naming the values it cannot hold) before writing anything; -1 means a write error
 * (errno set, not printed: the caller reports it with the file's name). */
int kf_pprof_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out);
int kf_speedscope_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out);
int kf_chrome_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out);
int kf_firefox_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out);
int kf_json_write(const struct kp_profile *p, const struct kf_write_opts *o, FILE *out);

/* ---- helpers shared by the modules (formats_util.c) ---- */

/* The value a one-value format writes: o->value when the user chose one, else the value
 * "samples" (unit count) when there is one, else -1 after an error naming the values the
 * format cannot hold. what names the format ("chrome .cpuprofile"). With counts_only, the
 * value must have integral non-negative counts. Prints a note naming the other values,
 * which are not written. */
int kf_pick_count_value(const struct kp_profile *p, const struct kf_write_opts *o,
			const char *what, int counts_only);
/* A thread's display name: "comm (pid/tid)", "comm", or "all" for thread 0. */
void kf_thread_label(const struct kp_profile *p, uint32_t t, struct strbuf *out);

struct jsonr;
/* Says that name is not a valid file of format ("pprof profile"): "'NAME' is not a
 * valid FORMAT: " and the message; returns -1. */
int kf_invalid(const char *name, const char *format, const char *fmt, ...) KILN_PRINTF(3, 4);
/* Says that name is not valid JSON, where and why (r's error); returns -1. */
int kf_json_invalid(const char *name, const struct jsonr *r);

/* The profile's start_time (meta, "YYYY-MM-DDTHH:MM:SSZ" as kiln writes it) in seconds
 * since the epoch; 0 when absent, of another form, or not after 1970. */
int64_t kf_start_time_s(const struct kp_profile *p);
/* Frame name as the JSON formats show it: the name, with " [module basename]" for
 * kernel, JIT and unknown frames left as they are. */
const char *kf_basename(const char *path);
/* Interns a frame named name (len bytes), turning a trailing _[k], _[i] or _[j] (as kiln's
 * folded names have them) back into its flag. */
uint32_t kf_frame_from_name(struct kp_profile *p, const char *name, size_t len, kp_str_t file, uint32_t line,
			    kp_str_t module);
/* Sample order by (thread, time, index): fills order[nsamples] (caller frees). */
size_t *kf_sample_order(const struct kp_profile *p);

/* kiln's frames grouped into functions, for the viewers that group by their frame entries
 * (speedscope's frames, a .cpuprofile's callFrame, whose line is where the function
 * starts): a function is a name, a module and the kind its name's suffix says (_[k],
 * _[i], _[j]), as in kiln report, so the frames of one function at different lines are one
 * entry there too, and an inlined copy of a function is an entry of its own. */
struct kf_funcs {
	uint32_t *func;  /* frame id -> function index (nframes entries; [0] unused) */
	kp_frame_t *rep; /* function -> its first frame (the name and file written) */
	uint32_t *line;  /* function -> the line all its frames share, 0 when they differ */
	uint32_t nfuncs;
};
void kf_funcs_build(const struct kp_profile *p, struct kf_funcs *fx);
void kf_funcs_free(struct kf_funcs *fx);

#endif
