/* profile.h: the one profile model. Every collector (record, heap, collapse of perf
 * script text, folded text) fills a struct kp_profile; every report, graph and export
 * reads one.
 *
 * The model:
 *  - strings: interned; id 0 is the empty string.
 *  - frames:  a function (or address) in a module, with optional file:line and flags;
 *             interned, ids from 1 (0 = none).
 *  - stacks:  a trie of (parent stack, frame) nodes. Node 0 is the empty stack (the root);
 *             a stack id names the path root→...→leaf. Invariant: parent id < node id,
 *             so a pass over ids in decreasing order visits children before parents.
 *  - value types: what each sample carries (e.g. "samples"/"count", "cpu_ns"/"nanoseconds",
 *             "alloc_bytes"/"bytes"); a profile has 1..KP_MAX_VALUES of them.
 *  - threads: (pid, tid, comm); index 0 is "no thread" (folded input has none).
 *  - samples: (stack, thread, time in ns since the profile's start, values[nvalues]).
 *             Samples can also be pre-aggregated (time 0, counts > 1).
 *  - meta:    key/value strings (command, event, frequency, hostname, start time, ...).
 *
 * Values are doubles: integral counts are exact up to 2^53, and fractional counts from
 * folded input work. Everything a profile holds lives as long as the profile. */
#ifndef KILN_PROFILE_PROFILE_H
#define KILN_PROFILE_PROFILE_H
#include <stddef.h>
#include <stdint.h>

#define KP_MAX_VALUES 16

struct strbuf;
struct kp_arena;

typedef uint32_t kp_str_t;
typedef uint32_t kp_frame_t;
typedef uint32_t kp_stack_t;

enum kp_frame_flags {
	KP_FRAME_KERNEL = 1 << 0,  /* kernel code: folded output adds _[k] */
	KP_FRAME_INLINE = 1 << 1,  /* inlined into its parent frame: _[i] */
	KP_FRAME_JIT = 1 << 2,     /* JIT code (perf-PID.map): _[j] */
	KP_FRAME_UNKNOWN = 1 << 3, /* could not be symbolized (name is [module] or [unknown]) */
	KP_FRAME_OFFCPU = 1 << 4,  /* a frame that stands for time off the CPU */
	KP_FRAME_ROOT = 1 << 5,    /* a synthetic root such as a process name */
	KP_FRAME_TRUNCATED = 1 << 6, /* marks a stack that could not be fully unwound */
	KP_FRAME_PY = 1 << 7,      /* a Python frame: name "QUALNAME (FILE:FIRSTLINE)", module "[python]" */
	KP_FRAME_NOSYM = 1 << 8,   /* no symbol: named "module+0xSTART" from its unwind-table
				    * (FDE) boundaries */
	KP_FRAME_UNOPT = 1 << 9,   /* code compiled without optimisation (DWARF producer -O0) */
};

struct kp_frame {
	kp_str_t name;   /* function name (demangled) or "[unknown]" */
	kp_str_t module; /* module path or "[kernel.kallsyms]"; 0 if unknown */
	kp_str_t file;   /* source file, 0 if unknown */
	uint32_t line;   /* source line, 0 if unknown */
	uint32_t flags;  /* enum kp_frame_flags */
	uint64_t addr;   /* address (module-relative where known), 0 when frames are per function */
};

struct kp_stack_node {
	kp_stack_t parent;
	kp_frame_t frame;
};

struct kp_thread {
	int32_t pid;     /* -1 when unknown (folded output shows '?') */
	int32_t tid;
	kp_str_t comm;
};

struct kp_value_type {
	kp_str_t name;
	kp_str_t unit;
};

struct kp_meta {
	kp_str_t key;
	kp_str_t value;
};

struct kp_strtab {
	char **strs;      /* strs[id], NUL-terminated */
	uint32_t *lens;
	uint32_t nr, alloc;
	uint32_t *hash;   /* open addressing, values are id+1 */
	uint32_t hash_size;
	struct kp_arena *arena;
};

struct kp_profile {
	struct kp_strtab strings;

	struct kp_frame *frames; /* frames[0] is unused */
	uint32_t nframes, frames_alloc;
	uint32_t *frame_hash, frame_hash_size;

	struct kp_stack_node *stacks; /* stacks[0] is the root */
	uint32_t nstacks, stacks_alloc;
	/* Child index (internal to profile.c): each node's children form a list (newest
	 * first) while they are few; a node with many children has them in stack_hash. */
	uint32_t *stack_child, *stack_next;
	uint32_t *stack_hash, stack_hash_size, stack_hash_used;

	struct kp_thread *threads; /* threads[0] is "no thread" */
	uint32_t nthreads, threads_alloc;

	struct kp_value_type value_types[KP_MAX_VALUES];
	uint32_t nvalues;
	/* Index of the value reports show by default. */
	uint32_t default_value;

	/* samples, as columns */
	kp_stack_t *sample_stack;
	uint32_t *sample_thread;
	uint64_t *sample_time;
	double *sample_values; /* nsamples * nvalues */
	size_t nsamples, samples_alloc;

	struct kp_meta *meta;
	uint32_t nmeta, meta_alloc;
};

/* Initializes an empty profile (root stack, no thread, no value types). */
void kp_profile_init(struct kp_profile *p);
/* Frees everything the profile holds; kp_profile_init() it again before reuse. */
void kp_profile_release(struct kp_profile *p);

/* Interns a string; returns its id (0 for ""). */
kp_str_t kp_str(struct kp_profile *p, const char *s, size_t len);
kp_str_t kp_strz(struct kp_profile *p, const char *s);
/* Interns n strings s[k] of len[k] bytes into out[k], as kp_str would, but faster for
 * many: the memory lookups of up to KP_STR_BATCH strings overlap. */
#define KP_STR_BATCH 32
void kp_str_batch(struct kp_profile *p, const char *const *s, const uint32_t *len, kp_str_t *out, size_t n);
/* Returns the string for an id (never NULL). */
static inline const char *kp_str_get(const struct kp_profile *p, kp_str_t id)
{
	return p->strings.strs[id];
}
static inline uint32_t kp_str_len(const struct kp_profile *p, kp_str_t id)
{
	return p->strings.lens[id];
}
/* Looks up a string without interning it; returns 0 when absent (or for ""). */
kp_str_t kp_str_find(const struct kp_profile *p, const char *s, size_t len);

/* Adds a value type; returns its index, or -1 when KP_MAX_VALUES are in use. */
int kp_add_value_type(struct kp_profile *p, const char *name, const char *unit);
/* Returns the index of the value type named name, or -1. */
int kp_find_value_type(const struct kp_profile *p, const char *name);

/* Interns a frame (all fields compared). */
kp_frame_t kp_frame(struct kp_profile *p, const struct kp_frame *f);
/* Convenience: a frame with only a name (and flags). */
kp_frame_t kp_frame_named(struct kp_profile *p, const char *name, size_t len, uint32_t flags);
/* Interns the child of parent with frame; returns its stack id. */
kp_stack_t kp_stack_push(struct kp_profile *p, kp_stack_t parent, kp_frame_t frame);
/* Interns a whole stack given root-first frames. */
kp_stack_t kp_stack_from_frames(struct kp_profile *p, const kp_frame_t *frames, size_t n);
/* Depth of a stack (0 for the root). */
uint32_t kp_stack_depth(const struct kp_profile *p, kp_stack_t s);
/* Writes up to max frames of stack s root-first into out; returns the depth. */
uint32_t kp_stack_frames(const struct kp_profile *p, kp_stack_t s, kp_frame_t *out, uint32_t max);

/* Adds a thread; returns its index (>= 1). Threads are not interned: a collector that
 * sees the same tid with a new comm (after exec) adds a new one. */
uint32_t kp_add_thread(struct kp_profile *p, int32_t pid, int32_t tid, const char *comm);

/* Adds a sample; values has p->nvalues entries. */
void kp_add_sample(struct kp_profile *p, kp_stack_t stack, uint32_t thread, uint64_t time_ns,
		   const double *values);
static inline double kp_sample_value(const struct kp_profile *p, size_t i, uint32_t v)
{
	return p->sample_values[i * p->nvalues + v];
}

/* Sets (replaces) a metadata value; kp_meta_get returns NULL when absent. */
void kp_meta_set(struct kp_profile *p, const char *key, const char *value);
const char *kp_meta_get(const struct kp_profile *p, const char *key);

/* Sum of value v over all samples. */
double kp_total(const struct kp_profile *p, uint32_t v);

/* Per-stack-node sums of value v: self[s] for samples whose stack is exactly s, and
 * total[s] for s and all its descendants. Either output may be NULL. Arrays have
 * p->nstacks entries and are allocated by the call (caller frees). When keep is not
 * NULL, only samples i with keep[i] != 0 count. */
void kp_stack_sums(const struct kp_profile *p, uint32_t v, const uint8_t *keep,
		   double **self, double **total);

/* Formats frame f as folded stacks print it: name plus _[k]/_[i]/_[j] suffix as flags
 * say, ';' in names turned into ':'. _[i] is always added; _[k] and _[j] as annotate
 * says: 0 neither, 1 (any odd value) both, or KP_ANNOTATE_KERNEL and/or KP_ANNOTATE_JIT.
 * A name that already ends with its suffix (names read from folded text) keeps just one. */
#define KP_ANNOTATE_KERNEL 2
#define KP_ANNOTATE_JIT 4
void kp_frame_folded_name(const struct kp_profile *p, kp_frame_t f, int annotate,
			  struct strbuf *out);

#endif
