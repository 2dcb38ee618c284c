/* perfscript.c: `perf script` text -> profile model (rules in perfscript.h).
 *
 * Speed comes from three things: lines are split by the input layer with memchr; a frame
 * line's text after its address is looked up in a cache (hash -> the frames it made
 * before), so symbol clean-up runs once per distinct line; and a sample's stack is
 * interned whole from a cache of paths, or else starting from the longest prefix it shares
 * with the previous sample of the same thread. Threads are kept apart from stacks, so
 * threads running the same code share one trie. */
#include "collect/perfscript.h"
#include "util/input.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <string.h>

#define CACHE_MAX_KEY 1024          /* longer frame lines are not cached */
#define CACHE_MAX_BYTES (256u << 20) /* cache keys stop growing here */
#define LONG_LINE (1u << 20)
#define MAX_DEPTH (1u << 20)        /* frames kept per sample; deeper ones are dropped */

struct fc_slot {
	uint64_t hash; /* 0: empty */
	uint32_t key_off, key_len;
	uint32_t frames_off, nframes;
};

struct kp_perfscript {
	struct kp_profile *p;
	struct kp_perfscript_opts o;
	struct kp_perfscript_stats st;
	uint32_t vidx;

	/* the sample being read */
	int in_sample;
	int java;
	uint32_t thread;
	double period;
	kp_frame_t *frames; /* leaf first */
	size_t nframes, frames_alloc;

	/* the event filter: the first event seen */
	int have_event;
	char *event;
	size_t event_len;

	/* threads: (pid, tid, comm) -> thread index, and the last one looked up */
	struct th_slot {
		int32_t pid, tid;
		kp_str_t comm;
		uint32_t thread; /* 0: empty */
	} *th;
	size_t th_size;
	struct strbuf scratch;

	/* the sample's path, caller first */
	kp_frame_t *cur;
	size_t cur_alloc;
	/* per thread, the last path interned and its stack ids, to share prefixes */
	struct last_path {
		kp_frame_t *frames;
		kp_stack_t *ids;
		size_t n, alloc;
	} *lp;
	size_t lp_alloc;

	/* whole-stack cache: hash of a sample's frame ids -> its stack id */
	struct sc_slot {
		uint64_t hash; /* 0: empty */
		kp_stack_t stack;
		uint32_t depth;
	} *sc;
	size_t sc_size, sc_used;

	/* (thread, stack) -> sample index */
	struct agg_slot {
		uint64_t key; /* thread << 32 | stack; UINT64_MAX: empty */
		size_t sample;
	} *agg;
	size_t agg_size, agg_used;

	/* frame-line cache */
	struct fc_slot *fc;
	size_t fc_size, fc_used;
	char *fc_keys;
	size_t fc_keys_len, fc_keys_alloc;
	kp_frame_t *fc_frames;
	size_t fc_nframes, fc_frames_alloc;
	kp_frame_t *pieces;
	size_t npieces, pieces_alloc;
};

/* Character classes as Perl's \\s and \\w see bytes (ASCII only). */
enum { C_WS = 1, C_WORD = 2, C_DIGIT = 4 };
static const uint8_t cclass[256] = {
	[' '] = C_WS, ['\t'] = C_WS, ['\n'] = C_WS, ['\r'] = C_WS, ['\f'] = C_WS, ['\v'] = C_WS,
	['0' ... '9'] = C_WORD | C_DIGIT, ['a' ... 'z'] = C_WORD, ['A' ... 'Z'] = C_WORD,
	['_'] = C_WORD,
};
static inline int is_ws(unsigned char c)
{
	return cclass[c] & C_WS;
}
static inline int is_digit(unsigned char c)
{
	return cclass[c] & C_DIGIT;
}
static inline int is_word(unsigned char c)
{
	return cclass[c] & C_WORD;
}
#ifdef __SSE2__
#include <emmintrin.h>
/* Bit i set when p[i] is a blank / a word character (16 bytes at p). */
static inline unsigned ws_mask16(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i sp = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
	__m128i ctl = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('\t' - 1)),
				    _mm_cmplt_epi8(v, _mm_set1_epi8('\r' + 1)));
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(sp, ctl));
}
static inline unsigned word_mask16(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i lo = _mm_or_si128(v, _mm_set1_epi8(0x20));
	__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lo, _mm_set1_epi8('a' - 1)),
				       _mm_cmplt_epi8(lo, _mm_set1_epi8('z' + 1)));
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
				      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
	__m128i us = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), us));
}
#endif

/* The end of the run of blanks / word characters starting at s[i] (s has n bytes). */
static inline size_t skip_ws(const char *s, size_t i, size_t n)
{
#ifdef __SSE2__
	for (; i + 16 <= n; i += 16) {
		unsigned m = ~ws_mask16(s + i) & 0xffffu;
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < n && is_ws((unsigned char)s[i]))
		i++;
	return i;
}
static inline size_t skip_word(const char *s, size_t i, size_t n)
{
#ifdef __SSE2__
	for (; i + 16 <= n; i += 16) {
		unsigned m = ~word_mask16(s + i) & 0xffffu;
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < n && is_word((unsigned char)s[i]))
		i++;
	return i;
}

static inline int is_lhex(unsigned char c)
{
	return is_digit(c) || (unsigned)(c - 'a') < 6u;
}

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* A fast 64-bit hash of a short byte string (never 0): two independent multiply-rotate
 * lanes over 16-byte blocks, then a strong final mix. Hash hits are always verified. */
static inline uint64_t hash_mem(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *s = data, *end = s + n;
	uint64_t a = seed ^ (n * 0x9e3779b97f4a7c15ull), b = 0x2545f4914f6cdd1dull;
	if (n >= 8 && (n & 7)) {
		/* the last, partial word: read as the 8 bytes that end the key */
		uint64_t w;
		memcpy(&w, end - 8, 8);
		b = rotl64((b ^ w) * 0x94d049bb133111ebull, 29);
		n &= ~(size_t)7;
	}
	while (n >= 16) {
		uint64_t w0, w1;
		memcpy(&w0, s, 8);
		memcpy(&w1, s + 8, 8);
		a = rotl64((a ^ w0) * 0xbf58476d1ce4e5b9ull, 31);
		b = rotl64((b ^ w1) * 0x94d049bb133111ebull, 29);
		s += 16;
		n -= 16;
	}
	if (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		a = rotl64((a ^ w) * 0xbf58476d1ce4e5b9ull, 31);
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, s, n);
		b = rotl64((b ^ w) * 0x94d049bb133111ebull, 29);
	}
	uint64_t h = (a ^ rotl64(b, 17)) * 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1;
}

struct kp_perfscript *kp_perfscript_new(struct kp_profile *p, const struct kp_perfscript_opts *o)
{
	struct kp_perfscript *ps = xcalloc(1, sizeof(*ps));
	int v;
	ps->p = p;
	if (o)
		ps->o = *o;
	v = kp_find_value_type(p, "period");
	if (v < 0)
		v = kp_add_value_type(p, "period", "count");
	if (v < 0)
		v = 0; /* all value slots in use: count into the first */
	ps->vidx = (uint32_t)v;
	ps->th_size = 64;
	ps->th = xcalloc(ps->th_size, sizeof(*ps->th));
	ps->agg_size = 1024;
	ps->agg = xmalloc(ps->agg_size * sizeof(*ps->agg));
	memset(ps->agg, 0xff, ps->agg_size * sizeof(*ps->agg));
	strbuf_init(&ps->scratch, 256);
	ps->sc_size = 4096;
	ps->sc = xcalloc(ps->sc_size, sizeof(*ps->sc));
	ps->fc_size = 4096;
	ps->fc = xcalloc(ps->fc_size, sizeof(*ps->fc));
	/* never NULL: an entry with an empty key or no frames points at offset 0 of them */
	ALLOC_GROW(ps->fc_keys, 4096, ps->fc_keys_alloc);
	ALLOC_GROW(ps->fc_frames, 256, ps->fc_frames_alloc);
	return ps;
}

void kp_perfscript_free(struct kp_perfscript *ps)
{
	if (!ps)
		return;
	free(ps->frames);
	free(ps->event);
	free(ps->th);
	free(ps->agg);
	strbuf_release(&ps->scratch);
	free(ps->cur);
	for (size_t i = 0; i < ps->lp_alloc; i++) {
		free(ps->lp[i].frames);
		free(ps->lp[i].ids);
	}
	free(ps->lp);
	free(ps->sc);
	free(ps->fc);
	free(ps->fc_keys);
	free(ps->fc_frames);
	free(ps->pieces);
	free(ps);
}

const struct kp_perfscript_stats *kp_perfscript_stats(const struct kp_perfscript *ps)
{
	return &ps->st;
}

static void bad_line(struct kp_perfscript *ps)
{
	ps->st.bad_lines++;
	if (!ps->st.first_bad)
		ps->st.first_bad = ps->st.lines;
}

/* ---- samples ---- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Adds v to the sample of (thread, stack s), creating it the first time. */
static void add_value(struct kp_perfscript *ps, uint32_t thread, kp_stack_t s, double v)
{
	struct kp_profile *p = ps->p;
	uint64_t key = ((uint64_t)thread << 32) | s;
	size_t mask = ps->agg_size - 1, j = (size_t)mix64(key) & mask;
	while (ps->agg[j].key != UINT64_MAX) {
		if (ps->agg[j].key == key) {
			p->sample_values[ps->agg[j].sample * p->nvalues + ps->vidx] += v;
			return;
		}
		j = (j + 1) & mask;
	}
	double vals[KP_MAX_VALUES] = { 0 };
	vals[ps->vidx] = v;
	kp_add_sample(p, s, thread, 0, vals);
	ps->agg[j].key = key;
	ps->agg[j].sample = p->nsamples - 1;
	if (++ps->agg_used * 2 > ps->agg_size) {
		size_t size = ps->agg_size * 2;
		struct agg_slot *t = xmalloc(size * sizeof(*t));
		memset(t, 0xff, size * sizeof(*t));
		for (size_t i = 0; i < ps->agg_size; i++) {
			if (ps->agg[i].key == UINT64_MAX)
				continue;
			size_t k = (size_t)mix64(ps->agg[i].key) & (size - 1);
			while (t[k].key != UINT64_MAX)
				k = (k + 1) & (size - 1);
			t[k] = ps->agg[i];
		}
		free(ps->agg);
		ps->agg = t;
		ps->agg_size = size;
	}
}

/* 1 if stack s is exactly the path f[0..depth) (root first). */
static int stack_is(const struct kp_profile *p, kp_stack_t s, const kp_frame_t *f, size_t depth)
{
	for (size_t d = depth; d-- > 0;) {
		if (!s || p->stacks[s].frame != f[d])
			return 0;
		s = p->stacks[s].parent;
	}
	return s == 0;
}

static void sc_grow(struct kp_perfscript *ps)
{
	size_t size = ps->sc_size * 2, mask = size - 1;
	struct sc_slot *t = xcalloc(size, sizeof(*t));
	for (size_t i = 0; i < ps->sc_size; i++) {
		if (!ps->sc[i].hash)
			continue;
		size_t j = (size_t)ps->sc[i].hash & mask;
		while (t[j].hash)
			j = (j + 1) & mask;
		t[j] = ps->sc[i];
	}
	free(ps->sc);
	ps->sc = t;
	ps->sc_size = size;
}

static struct last_path *last_path_of(struct kp_perfscript *ps, uint32_t thread)
{
	if (thread >= ps->lp_alloc) {
		size_t n = ps->lp_alloc ? ps->lp_alloc : 64;
		while (n <= thread)
			n *= 2;
		ps->lp = xreallocarray(ps->lp, n, sizeof(*ps->lp));
		memset(ps->lp + ps->lp_alloc, 0, (n - ps->lp_alloc) * sizeof(*ps->lp));
		ps->lp_alloc = n;
	}
	return &ps->lp[thread];
}

/* Interns the path cur[0..depth): from the whole-stack cache, else from the longest prefix
 * shared with the last path of the same thread, else from the root. */
static kp_stack_t intern_path(struct kp_perfscript *ps, size_t depth)
{
	struct kp_profile *p = ps->p;
	const kp_frame_t *cur = ps->cur;
	if (!depth)
		return 0;
	uint64_t h = hash_mem(cur, depth * sizeof(*cur), 0x3c6ef372u);
	size_t mask = ps->sc_size - 1, j = (size_t)h & mask, c = 0;
	kp_stack_t s = 0;
	while (ps->sc[j].hash) {
		if (ps->sc[j].hash == h && ps->sc[j].depth == depth &&
		    stack_is(p, ps->sc[j].stack, cur, depth))
			return ps->sc[j].stack;
		j = (j + 1) & mask;
	}
	struct last_path *lp = last_path_of(ps, ps->thread);
	while (c < depth && c < lp->n && cur[c] == lp->frames[c])
		c++;
	if (c)
		s = lp->ids[c - 1];
	if (depth > lp->alloc) {
		size_t a = depth + depth / 2 + 8;
		lp->frames = xreallocarray(lp->frames, a, sizeof(*lp->frames));
		lp->ids = xreallocarray(lp->ids, a, sizeof(*lp->ids));
		lp->alloc = a;
	}
	for (size_t d = c; d < depth; d++) {
		s = kp_stack_push(p, s, cur[d]);
		lp->frames[d] = cur[d];
		lp->ids[d] = s;
	}
	lp->n = depth;
	if ((ps->sc_used + 1) * 2 > ps->sc_size) {
		sc_grow(ps);
		mask = ps->sc_size - 1;
		j = (size_t)h & mask;
		while (ps->sc[j].hash)
			j = (j + 1) & mask;
	}
	ps->sc[j].hash = h;
	ps->sc[j].stack = s;
	ps->sc[j].depth = (uint32_t)depth;
	ps->sc_used++;
	return s;
}

static void end_sample(struct kp_perfscript *ps)
{
	size_t depth;
	if (!ps->in_sample)
		return;
	depth = ps->nframes;
	ALLOC_GROW(ps->cur, depth + 1, ps->cur_alloc);
	for (size_t i = 0; i < depth; i++)
		ps->cur[i] = ps->frames[depth - 1 - i];
	add_value(ps, ps->thread, intern_path(ps, depth), ps->period);
	ps->st.samples++;
	ps->in_sample = 0;
	ps->nframes = 0;
}

void kp_perfscript_finish(struct kp_perfscript *ps)
{
	end_sample(ps);
	ps->nframes = 0;
}

/* ---- sample headers ---- */

struct header {
	size_t comm_len;
	const char *pid, *tid;
	size_t pid_len, tid_len;
	const char *event, *period;
	size_t event_len, period_len;
};

/* "comm PID[/TID] ..." : comm is the shortest prefix followed by blanks, a number,
 * optionally slashes and a number, and a blank. Returns 1 on a match.
 * (stackcollapse-perf.pl wants 2 characters or more, which turns a one-letter comm such
 * as "a 123 1.0: ..." into "a_123_1.0:"; kiln takes the one letter.) */
static int match_header(const char *s, size_t n, struct header *h)
{
	size_t i = 1;
	while (i < n) {
		if (!is_ws((unsigned char)s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && is_ws((unsigned char)s[j]))
			j++;
		size_t pid = j;
		while (j < n && is_digit((unsigned char)s[j]))
			j++;
		size_t pid_end = j, tid = j, tid_end = j;
		if (pid_end > pid) {
			if (j < n && s[j] == '/') {
				while (j < n && s[j] == '/')
					j++;
				tid = j;
				while (j < n && is_digit((unsigned char)s[j]))
					j++;
				tid_end = j;
			}
			if (j < n && is_ws((unsigned char)s[j])) {
				h->comm_len = i;
				h->pid = s + pid;
				h->pid_len = pid_end - pid;
				h->tid = s + tid;
				h->tid_len = tid_end - tid;
				return 1;
			}
		}
		i = pid > i ? pid : i + 1;
	}
	return 0;
}

/* "...: [PERIOD] EVENT:" at the end of the line (then blanks). Returns 1 on a match. */
static int match_event(const char *s, size_t n, struct header *h)
{
	size_t e_end, t, w;
	while (n && is_ws((unsigned char)s[n - 1]))
		n--;
	if (n < 2 || s[n - 1] != ':')
		return 0;
	e_end = n - 1;
	t = e_end;
	while (t > 0 && !is_ws((unsigned char)s[t - 1]))
		t--;
	if (t == e_end || t == 0)
		return 0;
	w = t;
	while (w > 0 && is_ws((unsigned char)s[w - 1]))
		w--;
	if (w == 0)
		return 0;
	h->event = s + t;
	h->event_len = e_end - t;
	h->period = s + w;
	h->period_len = 0;
	if (s[w - 1] == ':')
		return 1;
	if (!is_digit((unsigned char)s[w - 1]))
		return 0;
	size_t d = w, c;
	while (d > 0 && is_digit((unsigned char)s[d - 1]))
		d--;
	c = d;
	while (c > 0 && is_ws((unsigned char)s[c - 1]))
		c--;
	if (c == 0 || s[c - 1] != ':')
		return 0;
	h->period = s + d;
	h->period_len = w - d;
	return 1;
}

static void copy_name(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int32_t parse_id(const char *s, size_t n)
{
	int64_t v = 0;
	for (size_t i = 0; i < n && v <= INT32_MAX; i++)
		v = v * 10 + (s[i] - '0');
	return v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* The profile's thread for (pid, tid, comm), added the first time. */
static uint32_t thread_of(struct kp_perfscript *ps, int32_t pid, int32_t tid, const char *comm,
			  size_t comm_len)
{
	struct kp_profile *p = ps->p;
	const struct kp_thread *last = ps->thread ? &p->threads[ps->thread] : NULL;
	if (last && last->pid == pid && last->tid == tid && kp_str_len(p, last->comm) == comm_len &&
	    !memcmp(kp_str_get(p, last->comm), comm, comm_len))
		return ps->thread;
	kp_str_t c = kp_str(p, comm, comm_len);
	uint64_t key = ((uint64_t)(uint32_t)pid << 32 | (uint32_t)tid) ^ ((uint64_t)c << 17);
	size_t mask = ps->th_size - 1, j = (size_t)mix64(key) & mask;
	while (ps->th[j].thread) {
		if (ps->th[j].pid == pid && ps->th[j].tid == tid && ps->th[j].comm == c)
			return ps->th[j].thread;
		j = (j + 1) & mask;
	}
	/* kp_add_thread wants a C string; comm may hold NUL bytes, so intern it directly */
	uint32_t t = kp_add_thread(p, pid, tid, NULL);
	p->threads[t].comm = c;
	ps->th[j].pid = pid;
	ps->th[j].tid = tid;
	ps->th[j].comm = c;
	ps->th[j].thread = t;
	if ((p->nthreads) * 2 > ps->th_size) {
		size_t size = ps->th_size * 2;
		struct th_slot *n = xcalloc(size, sizeof(*n));
		for (size_t i = 0; i < ps->th_size; i++) {
			if (!ps->th[i].thread)
				continue;
			uint64_t k = ((uint64_t)(uint32_t)ps->th[i].pid << 32 | (uint32_t)ps->th[i].tid) ^
				     ((uint64_t)ps->th[i].comm << 17);
			size_t q = (size_t)mix64(k) & (size - 1);
			while (n[q].thread)
				q = (q + 1) & (size - 1);
			n[q] = ps->th[i];
		}
		free(ps->th);
		ps->th = n;
		ps->th_size = size;
	}
	return t;
}

/* Handles a line that starts with a non-blank; returns 1 if it was a sample header. */
static int header_line(struct kp_perfscript *ps, const char *s, size_t n)
{
	struct header h;
	double period = 1;
	if (!match_header(s, n, &h))
		return 0;
	if (match_event(s, n, &h)) {
		if (!ps->have_event) {
			/* the name may hold NUL bytes: keep all event_len of them, as compared below */
			ps->event = xmemdupz(h.event, h.event_len);
			ps->event_len = h.event_len;
			ps->have_event = 1;
			copy_name(ps->st.event, sizeof(ps->st.event), h.event, h.event_len);
			kp_meta_set(ps->p, "event", ps->event);
		} else if (h.event_len != ps->event_len || memcmp(h.event, ps->event, h.event_len)) {
			if (!ps->st.filtered)
				copy_name(ps->st.other_event, sizeof(ps->st.other_event), h.event,
					  h.event_len);
			ps->st.filtered++;
			return 1; /* the previous sample's state is left as it is */
		}
		if (h.period_len && !(h.period_len == 1 && h.period[0] == '0')) {
			period = 0;
			for (size_t i = 0; i < h.period_len; i++)
				period = period * 10 + (h.period[i] - '0');
		}
	}
	/* the thread, as fine as the root option asks: the PID is -1 where perf printed one
	 * number (that is the TID) or the TID is 0 */
	int32_t pid = -1, tid = 0;
	if (h.tid_len && !(h.tid_len == 1 && h.tid[0] == '0')) {
		pid = parse_id(h.pid, h.pid_len);
		tid = parse_id(h.tid, h.tid_len);
	} else {
		tid = parse_id(h.pid, h.pid_len);
	}
	if (ps->o.root == KP_PS_ROOT_COMM)
		pid = tid = 0;
	else if (ps->o.root == KP_PS_ROOT_PID)
		tid = 0;
	ps->thread = thread_of(ps, pid, tid, s, h.comm_len);
	ps->period = period;
	ps->java = h.comm_len == 4 && !memcmp(s, "java", 4);
	ps->in_sample = 1;
	return 1;
}

/* ---- frame lines ---- */

/* Finds the last " (" whose following non-blank run holds a ')'. Returns the position of
 * the blank (or -1) and sets *mod_end to that run's last ')'. */
static long find_module(const char *s, size_t n, size_t *mod_end)
{
	size_t q = n;
	while (q > 1) {
		const char *par = memrchr(s, '(', q);
		if (!par)
			return -1;
		size_t k = (size_t)(par - s);
		q = k;
		if (k == 0 || s[k - 1] != ' ')
			continue;
		size_t r = k + 1, last = 0;
		while (r < n && !is_ws((unsigned char)s[r])) {
			if (s[r] == ')')
				last = r;
			r++;
		}
		if (last) {
			*mod_end = last;
			return (long)k - 1;
		}
	}
	return -1;
}

static int has_sub(const char *s, size_t n, const char *sub)
{
	size_t m = strlen(sub);
	return n >= m && memmem(s, n, sub, m) != NULL;
}

static int is_jit_module(const char *m, size_t n)
{
	const char *q = m, *end = m + n;
	while ((q = memmem(q, (size_t)(end - q), "/tmp/perf-", 10)) != NULL) {
		const char *d = q + 10, *e = d;
		while (e < end && is_digit((unsigned char)*e))
			e++;
		if (e > d && end - e >= 4 && !memcmp(e, ".map", 4))
			return 1;
		q++;
	}
	return 0;
}

/* Cleans one symbol (a piece of a frame line) into sb; returns frame flags. */
static uint32_t clean_name(struct kp_perfscript *ps, struct strbuf *sb, const char *f, size_t fl,
			   const char *mod, size_t ml, const char *pc, size_t pl)
{
	uint32_t flags = 0;
	strbuf_reset(sb);
	if (fl == 9 && !memcmp(f, "[unknown]", 9)) {
		strbuf_addch(sb, '[');
		if (!(ml == 9 && !memcmp(mod, "[unknown]", 9))) {
			const char *slash = memrchr(mod, '/', ml);
			const char *base = slash ? slash + 1 : mod;
			strbuf_add(sb, base, (size_t)(mod + ml - base));
		} else {
			strbuf_addstr(sb, "unknown");
		}
		if (ps->o.addrs) {
			strbuf_addstr(sb, " <");
			strbuf_add(sb, pc, pl);
			strbuf_addch(sb, '>');
		}
		strbuf_addch(sb, ']');
		flags |= KP_FRAME_UNKNOWN;
	} else {
		strbuf_add(sb, f, fl);
	}
	char *b = sb->buf;
	size_t n = sb->len;
	for (size_t i = 0; i < n; i++)
		if (b[i] == ';')
			b[i] = ':';
	/* Go method names ("pkg.(*T).M") keep their parentheses */
	int go = 0;
	const char *dp = memmem(b, n, ".(", 2);
	if (dp && memmem(dp + 2, n - (size_t)(dp + 2 - b), ").", 2))
		go = 1;
	if (!go) {
		for (size_t i = 0; i < n; i++) {
			if (b[i] != '(')
				continue;
			if (n - i - 1 >= 20 && !memcmp(b + i + 1, "anonymous namespace)", 20))
				continue;
			n = i;
			break;
		}
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (b[i] != '"' && b[i] != '\'')
			b[o++] = b[i];
	n = o;
	if (ps->java && n && b[0] == 'L' && memchr(b, '/', n)) {
		memmove(b, b + 1, n - 1);
		n--;
	}
	strbuf_setlen(sb, n);
	if ((ml && mod[0] == '[') || (ml >= 7 && !memcmp(mod + ml - 7, "vmlinux", 7)))
		if (!has_sub(mod, ml, "unknown"))
			flags |= KP_FRAME_KERNEL;
	if (is_jit_module(mod, ml))
		flags |= KP_FRAME_JIT;
	return flags;
}

static inline void push_frames(struct kp_perfscript *ps, const kp_frame_t *f, size_t n)
{
	if (n == 1 && ps->nframes < ps->frames_alloc && ps->nframes < MAX_DEPTH) {
		ps->frames[ps->nframes++] = f[0];
		return;
	}
	if (ps->nframes + n > MAX_DEPTH)
		return;
	ALLOC_GROW(ps->frames, ps->nframes + n, ps->frames_alloc);
	/* pieces are root-side first; the sample's list is leaf first */
	for (size_t i = n; i-- > 0;)
		ps->frames[ps->nframes++] = f[i];
}

static void cache_grow(struct kp_perfscript *ps)
{
	size_t size = ps->fc_size * 2, mask = size - 1;
	struct fc_slot *t = xcalloc(size, sizeof(*t));
	for (size_t i = 0; i < ps->fc_size; i++) {
		if (!ps->fc[i].hash)
			continue;
		size_t j = (size_t)ps->fc[i].hash & mask;
		while (t[j].hash)
			j = (j + 1) & mask;
		t[j] = ps->fc[i];
	}
	free(ps->fc);
	ps->fc = t;
	ps->fc_size = size;
}

static void cache_put(struct kp_perfscript *ps, uint64_t hash, const char *key, size_t klen,
		      const kp_frame_t *f, size_t n)
{
	if (ps->fc_keys_len + klen > CACHE_MAX_BYTES)
		return;
	if ((ps->fc_used + 1) * 2 > ps->fc_size)
		cache_grow(ps);
	size_t mask = ps->fc_size - 1, j = (size_t)hash & mask;
	while (ps->fc[j].hash)
		j = (j + 1) & mask;
	ALLOC_GROW(ps->fc_keys, ps->fc_keys_len + klen, ps->fc_keys_alloc);
	memcpy(ps->fc_keys + ps->fc_keys_len, key, klen);
	if (n) {
		ALLOC_GROW(ps->fc_frames, ps->fc_nframes + n, ps->fc_frames_alloc);
		memcpy(ps->fc_frames + ps->fc_nframes, f, n * sizeof(*f));
	}
	ps->fc[j].hash = hash;
	ps->fc[j].key_off = (uint32_t)ps->fc_keys_len;
	ps->fc[j].key_len = (uint32_t)klen;
	ps->fc[j].frames_off = (uint32_t)ps->fc_nframes;
	ps->fc[j].nframes = (uint32_t)n;
	ps->fc_keys_len += klen;
	ps->fc_nframes += n;
	ps->fc_used++;
}

/* Handles a frame line; returns 0 if the line is not one. */
static int frame_line(struct kp_perfscript *ps, const char *s, size_t n)
{
	size_t i = 0, pc, a, b0, b, pc_end, mod_end = 0;
	uint64_t hash = 0;
	const char *key = NULL;
	size_t klen = 0;
	int cacheable;
	pc = i = skip_ws(s, 0, n);
	a = i = skip_word(s, i, n);
	if (a == pc)
		return 0;
	if (ps->in_sample) {
		/* The result depends on the text after the address (and on the address itself
		 * with --addrs), and on whether the process is java. */
		key = ps->o.addrs ? s + pc : s + a;
		klen = (size_t)(s + n - key);
		if (klen <= CACHE_MAX_KEY) {
			hash = hash_mem(key, klen, ps->java ? 0x5bd1e995u : 0x2545f491u);
			size_t mask = ps->fc_size - 1, j = (size_t)hash & mask;
			while (ps->fc[j].hash) {
				const struct fc_slot *e = &ps->fc[j];
				if (e->hash == hash && e->key_len == klen &&
				    !memcmp(ps->fc_keys + e->key_off, key, klen)) {
					push_frames(ps, ps->fc_frames + e->frames_off, e->nframes);
					return 1;
				}
				j = (j + 1) & mask;
			}
		}
	}
	long K = find_module(s, n, &mod_end);
	if (K < 0)
		return 0;
	b0 = skip_ws(s, a, n);
	pc_end = a;
	cacheable = 1;
	if ((long)b0 + 1 <= K) {
		b = b0;
	} else if ((long)a + 1 <= K) {
		b = (size_t)K - 1;
	} else if ((long)pc + 2 <= K) {
		/* the symbol is the address's last character (a regex backtracking corner) */
		b = (size_t)K - 1;
		pc_end = b;
		cacheable = ps->o.addrs;
	} else {
		return 0;
	}
	if (!ps->in_sample)
		return 1; /* a frame of a skipped sample */

	const char *raw = s + b, *mod = s + K + 2;
	size_t rl = (size_t)K - b, ml = mod_end - ((size_t)K + 2);
	size_t e = rl;
	while (e > 0 && is_lhex((unsigned char)raw[e - 1]))
		e--;
	if (e < rl && e >= 3 && raw[e - 3] == '+' && raw[e - 2] == '0' && raw[e - 1] == 'x')
		rl = e - 3;

	ps->npieces = 0;
	if (!(rl && raw[0] == '(')) {
		/* split at "->": inlined frames; trailing empty pieces are dropped */
		size_t start = 0, last_nonempty = 0;
		struct kp_profile *p = ps->p;
		kp_str_t modid = kp_str(p, mod, ml);
		size_t np = 0;
		for (size_t k = 0; k <= rl; k++) {
			int cut = k == rl || (k + 1 < rl && raw[k] == '-' && raw[k + 1] == '>');
			if (!cut)
				continue;
			ALLOC_GROW(ps->pieces, np + 1, ps->pieces_alloc);
			if (k > start)
				last_nonempty = np + 1;
			struct kp_frame fr = { 0 };
			fr.flags = clean_name(ps, &ps->scratch, raw + start, k - start, mod, ml, s + pc,
					      pc_end - pc);
			if (np)
				fr.flags |= KP_FRAME_INLINE;
			fr.name = kp_str(p, ps->scratch.buf, ps->scratch.len);
			fr.module = modid;
			ps->pieces[np++] = kp_frame(p, &fr);
			if (k < rl)
				k++;
			start = k + 1;
		}
		ps->npieces = last_nonempty;
	}
	push_frames(ps, ps->pieces, ps->npieces);
	if (cacheable && key && klen <= CACHE_MAX_KEY)
		cache_put(ps, hash, key, klen, ps->pieces, ps->npieces);
	return 1;
}

void kp_perfscript_line(struct kp_perfscript *ps, const char *s, size_t n)
{
	ps->st.lines++;
	if (n > LONG_LINE)
		ps->st.long_lines++;
	if (!n) {
		end_sample(ps);
		return;
	}
	if (s[0] == '#')
		return;
	if (!is_ws((unsigned char)s[0]) && header_line(ps, s, n)) {
		ps->st.headers++;
		return;
	}
	if (frame_line(ps, s, n))
		ps->st.frame_lines++;
	else
		bad_line(ps);
}

int kp_perfscript_read(struct kp_profile *p, struct kiln_input *in,
		       const struct kp_perfscript_opts *o, struct kp_perfscript_stats *st)
{
	struct kp_perfscript *ps = kp_perfscript_new(p, o);
	char *line;
	size_t len;
	int rc;
	unsigned long long total = kiln_input_size(in);
	while ((rc = kiln_input_getline(in, &line, &len)) > 0) {
		kp_perfscript_line(ps, line, len);
		if (ps->o.progress && !(ps->st.lines & 0x3ffff))
			ps->o.progress(ps->o.progress_arg, kiln_input_offset(in), total);
	}
	kp_perfscript_finish(ps);
	if (ps->o.progress)
		ps->o.progress(ps->o.progress_arg, kiln_input_offset(in), total);
	if (st)
		*st = ps->st;
	kp_perfscript_free(ps);
	return rc < 0 ? -1 : 0;
}
