/* pprof_read.c: pprof's profile.proto (gzipped or not) into the profile model;
 * pprof_write.c writes it.
 *
 * Reading walks the top-level fields of the Profile message over the wire format and
 * hands each element (one sample, one location, ...) to protobuf-c's unpack on its own,
 * freeing it once converted: protobuf-c's whole-message unpack would hold a C struct
 * and two or three allocations for every sample and location at once, several times the
 * file's size, while this way peak memory is the file's bytes plus the profile model
 * (docs/formats.md has the measurements). Samples are read in a second pass because
 * writers put the string table last. */
#include "formats/formats.h"
#include "util/hash.h"
#include "util/u64map.h"
#include "formats/pprof_pb.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <time.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- the wire format, top level only ---- */
static int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = r;
			return 0;
		}
	}
	return -1;
}

struct field {
	uint32_t num;
	uint32_t wire;
	uint64_t v;            /* varint value, or length */
	const uint8_t *data;   /* length-delimited payload */
};

/* Reads one field at *pp; returns 1, 0 at end, -1 when malformed (what says why). */
static int next_field(const uint8_t **pp, const uint8_t *end, struct field *f, const char **what)
{
	uint64_t key;
	if (*pp >= end)
		return 0;
	if (get_varint(pp, end, &key) < 0) {
		*what = "a field key is a bad varint (or the file is truncated)";
		return -1;
	}
	f->num = (uint32_t)(key >> 3);
	f->wire = (uint32_t)(key & 7);
	if (key >> 3 == 0 || key >> 32) {
		*what = "a field number is out of range";
		return -1;
	}
	switch (f->wire) {
	case 0:
		if (get_varint(pp, end, &f->v) < 0) {
			*what = "a bad varint (too long, or cut by the end of the file)";
			return -1;
		}
		return 1;
	case 1:
		if (end - *pp < 8) {
			*what = "a fixed64 runs past the end";
			return -1;
		}
		*pp += 8;
		return 1;
	case 5:
		if (end - *pp < 4) {
			*what = "a fixed32 runs past the end";
			return -1;
		}
		*pp += 4;
		return 1;
	case 2:
		if (get_varint(pp, end, &f->v) < 0 || f->v > (uint64_t)(end - *pp)) {
			*what = "a length runs past the end (truncated file?)";
			return -1;
		}
		f->data = *pp;
		*pp += f->v;
		return 1;
	default:
		*what = "a field has an unknown wire type";
		return -1;
	}
}

/* The wire type each Profile field must have (2 = length-delimited; repeated int64
 * comment may also come unpacked as 0). */
static int profile_field_ok(uint32_t num, uint32_t wire)
{
	switch (num) {
	case 1: case 2: case 3: case 4: case 5: case 6: case 11:
		return wire == 2;
	case 13:
		return wire == 2 || wire == 0;
	case 7: case 8: case 9: case 10: case 12: case 14: case 15:
		return wire == 0;
	default:
		return 1; /* unknown fields are skipped */
	}
}

/* Checks that head (n bytes) starts like a Profile: the first fields have the right wire
 * types and lengths that fit, and a leading sample_type holds only varint fields 1-2. */
int kf_pprof_sniff(const void *head, size_t n)
{
	const uint8_t *p = head, *end = p + n;
	const char *what;
	struct field f;
	int seen = 0;
	if (n < 2)
		return 0;
	/* the first bytes must be field keys of Profile with the right wire types (Go
	 * writes time_nanos first, others sample_type), and lengths that fit */
	while (seen < 4 && p < end) {
		const uint8_t *start = p;
		int r = next_field(&p, end, &f, &what);
		if (r < 0)
			return seen >= 2 || (seen > 0 && n >= 4096 && start + 16 > end); /* cut by the window */
		if (r == 0 || f.num > 15 || !profile_field_ok(f.num, f.wire) || f.wire == 1 || f.wire == 5)
			return seen >= 2; /* damage after a good start is the reader's to report */
		if (f.num == 1 || f.num == 11) {
			const uint8_t *q = f.data, *qe = f.data + f.v;
			struct field g;
			int k;
			while ((k = next_field(&q, qe, &g, &what)) == 1)
				if (g.wire != 0 || g.num > 2)
					return seen >= 2;
			if (k < 0)
				return seen >= 2;
		}
		seen++;
	}
	return seen >= 2 || (seen == 1 && p == end);
}

/* ---- reading ---- */
struct rd {
	struct kp_profile *p;
	const char *name;
	const uint8_t *data;
	size_t len;
	/* string table: pointers into data */
	const uint8_t **str;
	uint32_t *slen;
	kp_str_t *sid; /* interned id, or UINT32_MAX before first use */
	size_t nstr, str_alloc;
	/* functions */
	struct u64map fmap;
	struct { int64_t name, file, start_line; } *funcs;
	size_t nfuncs, funcs_alloc;
	/* mappings */
	struct u64map mmap;
	int64_t *map_file;
	size_t nmaps, maps_alloc;
	/* locations: frames root-first (caller, then what was inlined into it) */
	struct u64map lmap;
	uint32_t *loc_start, *loc_n;
	size_t nlocs, locs_alloc;
	kp_frame_t *loc_frames;
	size_t nlf, lf_alloc;
	/* the rest of the Profile */
	PValueType **types;
	size_t ntypes, types_alloc;
	int64_t default_type, time_nanos, duration_nanos, period;
	PValueType *period_type;
	int64_t *comments;
	size_t ncomments, comments_alloc;
	/* threads by (pid, tid, comm id) */
	struct u64map tmap;
	size_t dropped_labels;
	char dropped_label[64];
};

#define bad(r, ...) kf_invalid((r)->name, "pprof profile", __VA_ARGS__)

static int str_ok(struct rd *r, int64_t i, const char *what)
{
	if (i < 0 || (uint64_t)i >= r->nstr)
		return bad(r, "%s refers to string %lld of %zu", what, (long long)i, r->nstr);
	return 0;
}

static kp_str_t str_id(struct rd *r, int64_t i)
{
	if (r->sid[i] == UINT32_MAX)
		r->sid[i] = kp_str(r->p, (const char *)r->str[i], r->slen[i]);
	return r->sid[i];
}

static const char *str_c(struct rd *r, int64_t i)
{
	return kp_str_get(r->p, str_id(r, i));
}

/* First pass: everything but samples. */
static int read_tables(struct rd *r)
{
	const uint8_t *p = r->data, *end = r->data + r->len;
	const char *what;
	struct field f;
	int k;
	r->default_type = r->time_nanos = r->duration_nanos = r->period = 0;
	while ((k = next_field(&p, end, &f, &what)) == 1) {
		if (!profile_field_ok(f.num, f.wire))
			return bad(r, "field %u has the wrong wire type %u", f.num, f.wire);
		switch (f.num) {
		case 1: {
			PValueType *vt = perftools__profiles__value_type__unpack(NULL, f.v, f.data);
			if (!vt)
				return bad(r, "a sample type does not decode");
			ALLOC_GROW(r->types, r->ntypes + 1, r->types_alloc);
			r->types[r->ntypes++] = vt;
			break;
		}
		case 3: {
			PMapping *m = perftools__profiles__mapping__unpack(NULL, f.v, f.data);
			if (!m)
				return bad(r, "a mapping does not decode");
			ALLOC_GROW(r->map_file, r->nmaps + 1, r->maps_alloc);
			r->map_file[r->nmaps] = m->filename;
			int dup = m->id == 0 || u64map_put(&r->mmap, m->id, (uint32_t)r->nmaps);
			uint64_t id = m->id;
			perftools__profiles__mapping__free_unpacked(m, NULL);
			if (dup)
				return bad(r, "mapping id %llu is %s", (unsigned long long)id, id ? "used twice" : "zero");
			r->nmaps++;
			break;
		}
		case 5: {
			PFunction *fn = perftools__profiles__function__unpack(NULL, f.v, f.data);
			if (!fn)
				return bad(r, "a function does not decode");
			ALLOC_GROW(r->funcs, r->nfuncs + 1, r->funcs_alloc);
			r->funcs[r->nfuncs].name = fn->name ? fn->name : fn->system_name;
			r->funcs[r->nfuncs].file = fn->filename;
			r->funcs[r->nfuncs].start_line = fn->start_line;
			int dup = fn->id == 0 || u64map_put(&r->fmap, fn->id, (uint32_t)r->nfuncs);
			uint64_t id = fn->id;
			perftools__profiles__function__free_unpacked(fn, NULL);
			if (dup)
				return bad(r, "function id %llu is %s", (unsigned long long)id, id ? "used twice" : "zero");
			r->nfuncs++;
			break;
		}
		case 6:
			ALLOC_GROW(r->str, r->nstr + 1, r->str_alloc);
			r->slen = xreallocarray(r->slen, r->str_alloc, sizeof(*r->slen));
			if (f.v > UINT32_MAX / 2)
				return bad(r, "a string is longer than 2 GiB");
			r->str[r->nstr] = f.data;
			r->slen[r->nstr++] = (uint32_t)f.v;
			break;
		case 9:
			r->time_nanos = (int64_t)f.v;
			break;
		case 10:
			r->duration_nanos = (int64_t)f.v;
			break;
		case 11:
			if (r->period_type)
				perftools__profiles__value_type__free_unpacked(r->period_type, NULL);
			r->period_type = perftools__profiles__value_type__unpack(NULL, f.v, f.data);
			if (!r->period_type)
				return bad(r, "the period type does not decode");
			break;
		case 12:
			r->period = (int64_t)f.v;
			break;
		case 13:
			if (f.wire == 0) {
				ALLOC_GROW(r->comments, r->ncomments + 1, r->comments_alloc);
				r->comments[r->ncomments++] = (int64_t)f.v;
			} else {
				const uint8_t *q = f.data, *qe = f.data + f.v;
				uint64_t v;
				while (q < qe) {
					if (get_varint(&q, qe, &v) < 0)
						return bad(r, "a comment index is a bad varint");
					ALLOC_GROW(r->comments, r->ncomments + 1, r->comments_alloc);
					r->comments[r->ncomments++] = (int64_t)v;
				}
			}
			break;
		case 14:
			r->default_type = (int64_t)f.v;
			break;
		default:
			break; /* samples and locations: next; drop/keep_frames, doc_url: unused */
		}
	}
	if (k < 0)
		return bad(r, "%s", what);
	if (r->nstr == 0 || r->slen[0] != 0)
		return bad(r, r->nstr ? "the first string is not empty" : "it has no string table");
	r->sid = xmalloc(r->nstr * sizeof(*r->sid));
	memset(r->sid, 0xff, r->nstr * sizeof(*r->sid));
	r->sid[0] = 0;
	return 0;
}

static void set_frame_flags(struct kp_frame *fr, const char *module, const char *name)
{
	if (module[0] == '[' || (strlen(module) >= 7 && !strcmp(module + strlen(module) - 7, "vmlinux")))
		fr->flags |= KP_FRAME_KERNEL;
	if (strstr(module, "/perf-") && strstr(module, ".map"))
		fr->flags |= KP_FRAME_JIT;
	if (!strncmp(name, "[unknown", 8))
		fr->flags |= KP_FRAME_UNKNOWN;
}

static int read_locations(struct rd *r)
{
	const uint8_t *p = r->data, *end = r->data + r->len;
	const char *what;
	struct field f;
	int k;
	struct strbuf sb = STRBUF_INIT;
	while ((k = next_field(&p, end, &f, &what)) == 1) {
		if (f.num != 4)
			continue;
		PLocation *l = perftools__profiles__location__unpack(NULL, f.v, f.data);
		if (!l) {
			strbuf_release(&sb);
			return bad(r, "a location does not decode");
		}
		int rc = 0;
		kp_str_t module = 0;
		uint32_t mi;
		if (l->mapping_id) {
			if (!u64map_get(&r->mmap, l->mapping_id, &mi)) {
				rc = bad(r, "location %llu refers to mapping %llu, which the profile does not define",
					 (unsigned long long)l->id, (unsigned long long)l->mapping_id);
				goto next;
			}
			if ((rc = str_ok(r, r->map_file[mi], "a mapping's file name")) < 0)
				goto next;
			module = str_id(r, r->map_file[mi]);
		}
		if (!l->id || u64map_put(&r->lmap, l->id, (uint32_t)r->nlocs)) {
			rc = bad(r, "location id %llu is %s", (unsigned long long)l->id, l->id ? "used twice" : "zero");
			goto next;
		}
		ALLOC_GROW(r->loc_start, r->nlocs + 1, r->locs_alloc);
		r->loc_n = xreallocarray(r->loc_n, r->locs_alloc, sizeof(*r->loc_n));
		r->loc_start[r->nlocs] = (uint32_t)r->nlf;
		if (!l->n_line) {
			/* not symbolized: one frame named after the module, told apart by address */
			struct kp_frame fr = { 0 };
			const char *mod = kp_str_get(r->p, module);
			strbuf_reset(&sb);
			if (*mod)
				strbuf_addf(&sb, "[%s]", kf_basename(mod));
			else
				strbuf_addstr(&sb, "[unknown]");
			fr.name = kp_str(r->p, sb.buf, sb.len);
			fr.module = module;
			fr.addr = l->address;
			fr.flags = KP_FRAME_UNKNOWN;
			set_frame_flags(&fr, mod, "");
			ALLOC_GROW(r->loc_frames, r->nlf + 1, r->lf_alloc);
			r->loc_frames[r->nlf++] = kp_frame(r->p, &fr);
		}
		/* lines are innermost first; frames go caller first */
		for (size_t i = l->n_line; i-- > 0;) {
			PLine *ln = l->line[i];
			uint32_t fi;
			if (!u64map_get(&r->fmap, ln->function_id, &fi)) {
				rc = bad(r, "location %llu refers to function %llu, which the profile does not define",
					 (unsigned long long)l->id, (unsigned long long)ln->function_id);
				goto next;
			}
			if ((rc = str_ok(r, r->funcs[fi].name, "a function name")) < 0 ||
			    (rc = str_ok(r, r->funcs[fi].file, "a function's file name")) < 0)
				goto next;
			struct kp_frame fr = { 0 };
			fr.name = str_id(r, r->funcs[fi].name);
			uint32_t nlen = kp_str_len(r->p, fr.name);
			const char *nm = kp_str_get(r->p, fr.name);
			if (nlen > 4 && nm[nlen - 4] == '_' && nm[nlen - 3] == '[' && nm[nlen - 1] == ']' &&
			    (nm[nlen - 2] == 'k' || nm[nlen - 2] == 'j')) {
				fr.flags |= nm[nlen - 2] == 'k' ? KP_FRAME_KERNEL : KP_FRAME_JIT;
				fr.name = kp_str(r->p, nm, nlen - 4);
			}
			if (!fr.name) {
				strbuf_reset(&sb);
				strbuf_addf(&sb, "[unknown 0x%llx]", (unsigned long long)l->address);
				fr.name = kp_str(r->p, sb.buf, sb.len);
			}
			fr.module = module;
			fr.file = str_id(r, r->funcs[fi].file);
			fr.line = ln->line > 0 && ln->line <= UINT32_MAX ? (uint32_t)ln->line : 0;
			fr.flags |= i + 1 < l->n_line ? KP_FRAME_INLINE : 0;
			set_frame_flags(&fr, kp_str_get(r->p, module), kp_str_get(r->p, fr.name));
			ALLOC_GROW(r->loc_frames, r->nlf + 1, r->lf_alloc);
			r->loc_frames[r->nlf++] = kp_frame(r->p, &fr);
		}
		r->loc_n[r->nlocs] = (uint32_t)(r->nlf - r->loc_start[r->nlocs]);
		r->nlocs++;
next:
		perftools__profiles__location__free_unpacked(l, NULL);
		if (rc < 0) {
			strbuf_release(&sb);
			return -1;
		}
	}
	strbuf_release(&sb);
	return k < 0 ? bad(r, "%s", what) : 0;
}

static uint32_t thread_of(struct rd *r, PSample *s)
{
	int64_t pid = -1, tid = -1;
	int64_t comm = 0;
	int have = 0;
	for (size_t i = 0; i < s->n_label; i++) {
		PLabel *lb = s->label[i];
		if (lb->key < 0 || (uint64_t)lb->key >= r->nstr)
			continue;
		const char *key = str_c(r, lb->key);
		if (!strcmp(key, "pid") && !lb->str) {
			pid = lb->num;
			have = 1;
		} else if ((!strcmp(key, "tid") || !strcmp(key, "thread_id")) && !lb->str) {
			tid = lb->num;
			have = 1;
		} else if ((!strcmp(key, "thread") || !strcmp(key, "comm") || !strcmp(key, "thread_name")) &&
			   lb->str > 0 && (uint64_t)lb->str < r->nstr) {
			comm = lb->str;
			have = 1;
		} else if (lb->str) {
			if (!r->dropped_labels++)
				snprintf(r->dropped_label, sizeof(r->dropped_label), "%s", key);
		}
	}
	if (!have)
		return 0;
	if (pid < INT32_MIN || pid > INT32_MAX)
		pid = -1;
	if (tid < INT32_MIN || tid > INT32_MAX)
		tid = -1;
	uint64_t key = ((uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)tid << 20) ^
		       ((uint64_t)comm * 0xc2b2ae3d27d4eb4full);
	key |= 1; /* never 0 */
	uint32_t t;
	/* a key collision between two threads is possible in theory; check the thread */
	for (;;) {
		if (!u64map_get(&r->tmap, key, &t))
			break;
		const struct kp_thread *th = &r->p->threads[t];
		if (th->pid == (int32_t)pid && th->tid == (int32_t)tid && th->comm == str_id(r, comm))
			return t;
		key += 2;
	}
	t = kp_add_thread(r->p, (int32_t)pid, (int32_t)tid, str_c(r, comm));
	u64map_put(&r->tmap, key, t);
	return t;
}

/* The packed location_id field of a sample message (its bytes in the file), or NULL. */
static const uint8_t *loc_span(const uint8_t *data, size_t len, size_t *n)
{
	const uint8_t *p = data, *end = data + len;
	const char *what;
	struct field f;
	while (next_field(&p, end, &f, &what) == 1)
		if (f.num == 1) {
			if (f.wire != 2)
				return NULL;
			*n = f.v;
			return f.data;
		}
	*n = 0;
	return data; /* no locations: the empty stack */
}

static int read_samples(struct rd *r)
{
	const uint8_t *p = r->data, *end = r->data + r->len;
	const char *what;
	struct field f;
	int k;
	size_t n = 0;
	double vals[KP_MAX_VALUES];
	/* stacks by the bytes of their location ids: samples of one stack in many threads
	 * (or with different labels) build it once */
	struct u64map by_span;
	const uint8_t **span = NULL;
	uint32_t *span_len = NULL;
	kp_stack_t *span_stack = NULL;
	size_t nspan = 0, span_alloc = 0, hits = 0;
	memset(&by_span, 0, sizeof(by_span));
	int rc = 0;
	while ((k = next_field(&p, end, &f, &what)) == 1) {
		if (f.num != 2)
			continue;
		PSample *s = perftools__profiles__sample__unpack(NULL, f.v, f.data);
		if (!s) {
			rc = bad(r, "sample %zu does not decode", n + 1);
			break;
		}
		if (s->n_value != r->ntypes) {
			rc = bad(r, "sample %zu has %zu values for %zu sample types", n + 1, s->n_value, r->ntypes);
			goto next;
		}
		size_t slen = 0;
		const uint8_t *sp = loc_span(f.data, f.v, &slen);
		uint64_t key = 0;
		kp_stack_t st = 0;
		int cached = 0;
		if (sp) {
			key = 0xcbf29ce484222325ull ^ slen;
			for (size_t i = 0; i < slen; i++)
				key = (key ^ sp[i]) * 0x100000001b3ull;
			key |= 1;
			uint32_t si;
			while (u64map_get(&by_span, key, &si)) {
				if (span_len[si] == slen && !memcmp(span[si], sp, slen)) {
					st = span_stack[si];
					cached = 1;
					hits++;
					break;
				}
				key += 2;
			}
		}
		if (!cached) {
			for (size_t i = s->n_location_id; i-- > 0;) {
				uint32_t li;
				if (!u64map_get(&r->lmap, s->location_id[i], &li)) {
					rc = bad(r, "sample %zu refers to location %llu, which the profile does not define",
						 n + 1, (unsigned long long)s->location_id[i]);
					goto next;
				}
				for (uint32_t j = 0; j < r->loc_n[li]; j++)
					st = kp_stack_push(r->p, st, r->loc_frames[r->loc_start[li] + j]);
			}
			/* a profile whose stacks hardly repeat gets no cache: it would only cost memory */
			if (sp && slen <= UINT32_MAX && (nspan < 65536 || hits * 4 > nspan)) {
				ALLOC_GROW(span, nspan + 1, span_alloc);
				span_len = xreallocarray(span_len, span_alloc, sizeof(*span_len));
				span_stack = xreallocarray(span_stack, span_alloc, sizeof(*span_stack));
				span[nspan] = sp;
				span_len[nspan] = (uint32_t)slen;
				span_stack[nspan] = st;
				u64map_put(&by_span, key, (uint32_t)nspan++);
			}
		}
		for (size_t i = 0; i < s->n_value; i++)
			vals[i] = (double)s->value[i];
		kp_add_sample(r->p, st, thread_of(r, s), 0, vals);
		n++;
next:
		perftools__profiles__sample__free_unpacked(s, NULL);
		if (rc < 0)
			break;
	}
	u64map_release(&by_span);
	free(span);
	free(span_len);
	free(span_stack);
	if (rc < 0)
		return -1;
	return k < 0 ? bad(r, "%s", what) : 0;
}

static void read_meta(struct rd *r)
{
	struct kp_profile *p = r->p;
	char buf[64];
	kp_meta_set(p, "source_format", "pprof");
	for (size_t i = 0; i < r->ncomments; i++) {
		if (r->comments[i] <= 0 || (uint64_t)r->comments[i] >= r->nstr)
			continue;
		const char *c = str_c(r, r->comments[i]);
		const char *eq = strchr(c, '=');
		/* kiln writes its metadata as "key=value" comments */
		if (eq && eq > c && !memchr(c, ' ', (size_t)(eq - c))) {
			char *key = xstrndup(c, (size_t)(eq - c));
			/* a kiln heap profile's reports need what only kiln.prof holds */
			if (strcmp(key, "source_format") && !(!strcmp(key, "kind") && !strcmp(eq + 1, "heap")))
				kp_meta_set(p, key, eq + 1);
			free(key);
		}
	}
	if (r->duration_nanos > 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)r->duration_nanos);
		kp_meta_set(p, "duration_ns", buf);
	}
	if (r->period > 0 && r->period_type && r->period_type->type >= 0 &&
	    (uint64_t)r->period_type->type < r->nstr && r->period_type->unit >= 0 &&
	    (uint64_t)r->period_type->unit < r->nstr) {
		snprintf(buf, sizeof(buf), "%lld", (long long)r->period);
		kp_meta_set(p, "pprof.period", buf);
		kp_meta_set(p, "pprof.period_type", str_c(r, r->period_type->type));
		kp_meta_set(p, "pprof.period_unit", str_c(r, r->period_type->unit));
		if (!kp_meta_get(p, "kind"))
			kp_meta_set(p, "kind", str_c(r, r->period_type->type));
		if (!strcmp(str_c(r, r->period_type->type), "cpu") &&
		    !strcmp(str_c(r, r->period_type->unit), "nanoseconds")) {
			snprintf(buf, sizeof(buf), "%lld", (long long)(1000000000 / r->period));
			if (!kp_meta_get(p, "frequency"))
				kp_meta_set(p, "frequency", buf);
		}
	}
	if (!kp_meta_get(p, "kind"))
		kp_meta_set(p, "kind", "pprof");
}

static void rd_release(struct rd *r)
{
	free(r->str);
	free(r->slen);
	free(r->sid);
	u64map_release(&r->fmap);
	free(r->funcs);
	u64map_release(&r->mmap);
	free(r->map_file);
	u64map_release(&r->lmap);
	free(r->loc_start);
	free(r->loc_n);
	free(r->loc_frames);
	for (size_t i = 0; i < r->ntypes; i++)
		perftools__profiles__value_type__free_unpacked(r->types[i], NULL);
	free(r->types);
	if (r->period_type)
		perftools__profiles__value_type__free_unpacked(r->period_type, NULL);
	free(r->comments);
	u64map_release(&r->tmap);
}

int kf_pprof_read(struct kp_profile *p, const void *data, size_t len, const char *name)
{
	struct rd r;
	int rc = -1;
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.name = name;
	r.data = data;
	r.len = len;
	if (read_tables(&r) < 0)
		goto out;
	if (!r.ntypes) {
		bad(&r, "it has no sample types");
		goto out;
	}
	if (r.ntypes > KP_MAX_VALUES) {
		kiln_error("'%s' has %zu sample types; kiln holds at most %d", name, r.ntypes, KP_MAX_VALUES);
		goto out;
	}
	for (size_t i = 0; i < r.ntypes; i++) {
		if (str_ok(&r, r.types[i]->type, "a sample type") < 0 || str_ok(&r, r.types[i]->unit, "a sample unit") < 0)
			goto out;
		const char *tn = str_c(&r, r.types[i]->type);
		if (kp_find_value_type(p, tn) >= 0) {
			bad(&r, "sample type '%s' appears twice", tn);
			goto out;
		}
		kp_add_value_type(p, tn, str_c(&r, r.types[i]->unit));
	}
	/* pprof shows the default sample type, or else the last one */
	p->default_value = (uint32_t)r.ntypes - 1;
	if (r.default_type > 0 && (uint64_t)r.default_type < r.nstr) {
		int v = kp_find_value_type(p, str_c(&r, r.default_type));
		if (v >= 0)
			p->default_value = (uint32_t)v;
	}
	if (read_locations(&r) < 0 || read_samples(&r) < 0)
		goto out;
	read_meta(&r);
	if (r.dropped_labels)
		kiln_note("'%s': %zu sample label%s not kept (kiln keeps pid, tid and thread), e.g. '%s'", name,
			  r.dropped_labels, r.dropped_labels == 1 ? " is" : "s are", r.dropped_label);
	rc = 0;
out:
	rd_release(&r);
	if (rc < 0) {
		kp_profile_release(p);
		kp_profile_init(p);
	}
	return rc;
}
