/* profile_io.c: reading and writing kiln.prof (see profile_io.h and docs/profile-format.md). */
#include "profile/profile_io.h"
#include "util/error.h"
#include "util/input.h"
#include "util/output.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum chunk_type {
	CH_META = 1,
	CH_STRINGS = 2,
	CH_VALUE_TYPES = 3,
	CH_FRAMES = 4,
	CH_STACKS = 5,
	CH_THREADS = 6,
	CH_SAMPLES = 7,
	CH_END = 8,
};
#define CHF_OPTIONAL 1   /* a reader that does not know the type may skip it */
#define CHF_ZSTD 2
#define CHUNK_MAGIC 0x4b48434bu /* "KCHK" little endian */
#define CHUNK_HDR 20
#define MAX_CHUNK (256u << 20)

/* ---- varint encoding ----
 * The encoders write at o, which has room (10 bytes a varint, 9 a value), and return
 * the end; put_* reserve the room in a strbuf, and the columns of a samples chunk
 * reserve a whole column's at once (a heap profile has 100,000s of values to write
 * when the program ends). */
static inline unsigned char *uv_at(unsigned char *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*o++ = (unsigned char)v;
	return o;
}

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* A value: an exact integer below 2^53 as zigzag<<1, else tag 1 and the raw double. */
static inline unsigned char *value_at(unsigned char *o, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return uv_at(o, zigzag((int64_t)v) << 1);
	{
		uint64_t bits;
		memcpy(&bits, &v, 8);
		*o++ = 1;
		for (int i = 0; i < 8; i++)
			*o++ = (unsigned char)(bits >> (8 * i));
		return o;
	}
}

/* Room for n more encodings of at most 10 bytes at the end of b: where to write. */
static unsigned char *room(struct strbuf *b, size_t n)
{
	strbuf_grow(b, n * 10);
	return (unsigned char *)b->buf + b->len;
}

/* b ends at o (written since room()). */
static void room_done(struct strbuf *b, const unsigned char *o)
{
	strbuf_setlen(b, (size_t)(o - (const unsigned char *)b->buf));
}

static void put_uv(struct strbuf *b, uint64_t v)
{
	room_done(b, uv_at(room(b, 1), v));
}

static void put_bytes(struct strbuf *b, const char *s, size_t len)
{
	put_uv(b, len);
	strbuf_add(b, s, len);
}

struct rd {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t get_uv(struct rd *r)
{
	uint64_t v = 0;
	int shift = 0;
	while (r->p < r->end && shift < 64) {
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
	r->bad = 1;
	return 0;
}

static const char *get_bytes(struct rd *r, size_t *len)
{
	uint64_t n = get_uv(r);
	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		*len = 0;
		return "";
	}
	const char *s = (const char *)r->p;
	r->p += n;
	*len = (size_t)n;
	return s;
}

static double get_value(struct rd *r)
{
	uint64_t v = get_uv(r);
	if (!(v & 1))
		return (double)unzigzag(v >> 1);
	if (v != 1 || r->end - r->p < 8) {
		r->bad = 1;
		return 0;
	}
	uint64_t bits = 0;
	for (int i = 0; i < 8; i++)
		bits |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	double d;
	memcpy(&d, &bits, 8);
	return d;
}

static void put_u32le(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32le(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* ---- writer ---- */
struct kp_writer {
	int fd;
	int regular;  /* path is a regular file (abort removes it; never a device or FIFO) */
	char *path;
	unsigned long long size;
	uint32_t strings_done, frames_done, stacks_done, threads_done, values_done;
	uint32_t meta_done;
	kp_str_t meta_sig;
	unsigned chunks;
	unsigned long long samples_total;
	struct strbuf payload;
	void *zbuf;
	size_t zcap;
	ZSTD_CCtx *zc;
};

static int write_all(struct kp_writer *w, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kiln_error("cannot write '%s': %s", w->path, strerror(errno));
		p += n;
		len -= (size_t)n;
		w->size += (unsigned long long)n;
	}
	return 0;
}

static int write_chunk(struct kp_writer *w, unsigned type, unsigned flags)
{
	unsigned char hdr[CHUNK_HDR];
	const void *data = w->payload.buf;
	size_t stored = w->payload.len;
	size_t bound = ZSTD_compressBound(w->payload.len);
	if (w->payload.len > MAX_CHUNK)
		return kiln_error("internal: chunk of %zu bytes is too large", w->payload.len);
	if (w->payload.len >= 64) {
		if (bound > w->zcap) {
			free(w->zbuf);
			w->zbuf = xmalloc(bound);
			w->zcap = bound;
		}
		size_t z = ZSTD_compressCCtx(w->zc, w->zbuf, w->zcap, w->payload.buf, w->payload.len, 1);
		if (!ZSTD_isError(z) && z < w->payload.len) {
			data = w->zbuf;
			stored = z;
			flags |= CHF_ZSTD;
		}
	}
	put_u32le(hdr, CHUNK_MAGIC);
	hdr[4] = (unsigned char)type;
	hdr[5] = (unsigned char)(type >> 8);
	hdr[6] = (unsigned char)flags;
	hdr[7] = (unsigned char)(flags >> 8);
	put_u32le(hdr + 8, (uint32_t)stored);
	put_u32le(hdr + 12, (uint32_t)w->payload.len);
	put_u32le(hdr + 16, (uint32_t)crc32(0, data, (uInt)stored));
	int rc = (write_all(w, hdr, sizeof(hdr)) < 0 || write_all(w, data, stored) < 0) ? -1 : 0;
	strbuf_reset(&w->payload);
	if (rc)
		return -1;
	w->chunks++;
	return 0;
}

static struct kp_writer *writer_start(int fd, const char *path, int regular);

struct kp_writer *kp_writer_open(const char *path)
{
	struct stat st;
	int fd;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			kiln_error("cannot write '%s': it is a directory", path);
			return NULL;
		}
		if (S_ISREG(st.st_mode) && st.st_size > 0) {
			char *old = xasprintf("%s.old", path);
			if (rename(path, old) != 0) {
				kiln_error("cannot keep the previous '%s' as '%s': %s", path, old, strerror(errno));
				free(old);
				return NULL;
			}
			free(old);
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		kiln_error("cannot write '%s': %s", path, errno == ENOENT ? "no such directory" : strerror(errno));
		return NULL;
	}
	return writer_start(fd, path, fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
}

/* A writer on the open descriptor fd (which it owns and closes), named path in messages;
 * regular: kp_writer_abort may remove path. Writes the header. */
static struct kp_writer *writer_start(int fd, const char *path, int regular)
{
	struct kp_writer *w;
	unsigned char hdr[16];
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->regular = regular;
	w->path = xstrdup(path);
	strbuf_init(&w->payload, 1 << 16);
	w->zc = ZSTD_createCCtx();
	w->strings_done = 1; /* string 0 is implicit */
	w->frames_done = 1;
	w->stacks_done = 1;
	w->threads_done = 1;
	memcpy(hdr, KP_MAGIC, 8);
	hdr[8] = KP_FORMAT_MAJOR;
	hdr[9] = 0;
	hdr[10] = KP_FORMAT_MINOR;
	hdr[11] = 0;
	put_u32le(hdr + 12, 0);
	if (write_all(w, hdr, sizeof(hdr)) < 0) {
		kp_writer_abort(w);
		return NULL;
	}
	return w;
}

unsigned long long kp_writer_size(const struct kp_writer *w)
{
	return w->size;
}

#define SAMPLES_PER_CHUNK 65536

static int flush_samples(struct kp_writer *w, struct kp_profile *p)
{
	struct strbuf *b = &w->payload;
	size_t start = 0;
	while (start < p->nsamples) {
		size_t n = p->nsamples - start, i;
		if (n > SAMPLES_PER_CHUNK)
			n = SAMPLES_PER_CHUNK;
		/* columns: times (delta, zigzag), threads, stacks, then each value */
		put_uv(b, n);
		put_uv(b, p->nvalues);
		uint64_t prev = 0;
		unsigned char *o = room(b, n);
		for (i = start; i < start + n; i++) {
			o = uv_at(o, zigzag((int64_t)(p->sample_time[i] - prev)));
			prev = p->sample_time[i];
		}
		room_done(b, o);
		o = room(b, n);
		for (i = start; i < start + n; i++)
			o = uv_at(o, p->sample_thread[i]);
		room_done(b, o);
		uint32_t prev_stack = 0;
		o = room(b, n);
		for (i = start; i < start + n; i++) {
			o = uv_at(o, zigzag((int64_t)p->sample_stack[i] - (int64_t)prev_stack));
			prev_stack = p->sample_stack[i];
		}
		room_done(b, o);
		for (uint32_t v = 0; v < p->nvalues; v++) {
			o = room(b, n);
			for (i = start; i < start + n; i++)
				o = value_at(o, p->sample_values[i * p->nvalues + v]);
			room_done(b, o);
		}
		if (write_chunk(w, CH_SAMPLES, 0) < 0)
			return -1;
		w->samples_total += n;
		start += n;
	}
	return 0;
}

int kp_writer_flush(struct kp_writer *w, struct kp_profile *p, int drop_samples)
{
	struct strbuf *b = &w->payload;
	uint32_t i;
	if (p->strings.nr > w->strings_done) {
		put_uv(b, w->strings_done);
		put_uv(b, p->strings.nr - w->strings_done);
		for (i = w->strings_done; i < p->strings.nr; i++)
			put_bytes(b, p->strings.strs[i], p->strings.lens[i]);
		if (write_chunk(w, CH_STRINGS, 0) < 0)
			return -1;
		w->strings_done = p->strings.nr;
	}
	/* metadata: string ids, after the strings; rewritten whole whenever it
	 * changed (the reader keeps the last) */
	kp_str_t sig = 0;
	for (i = 0; i < p->nmeta; i++)
		sig = sig * 31 + p->meta[i].key * 7 + p->meta[i].value;
	if (p->nmeta != w->meta_done || sig != w->meta_sig) {
		put_uv(b, p->nmeta);
		for (i = 0; i < p->nmeta; i++) {
			put_uv(b, p->meta[i].key);
			put_uv(b, p->meta[i].value);
		}
		if (write_chunk(w, CH_META, 0) < 0)
			return -1;
		w->meta_done = p->nmeta;
		w->meta_sig = sig;
	}
	if (p->nvalues != w->values_done) {
		if (w->samples_total && p->nvalues != w->values_done && w->values_done)
			return kiln_error("internal: value types changed after samples were written");
		put_uv(b, p->nvalues);
		for (i = 0; i < p->nvalues; i++) {
			put_uv(b, p->value_types[i].name);
			put_uv(b, p->value_types[i].unit);
		}
		put_uv(b, p->default_value);
		if (write_chunk(w, CH_VALUE_TYPES, 0) < 0)
			return -1;
		w->values_done = p->nvalues;
	}
	if (p->nframes > w->frames_done) {
		put_uv(b, w->frames_done);
		put_uv(b, p->nframes - w->frames_done);
		for (i = w->frames_done; i < p->nframes; i++) {
			const struct kp_frame *f = &p->frames[i];
			put_uv(b, f->name);
			put_uv(b, f->module);
			put_uv(b, f->file);
			put_uv(b, f->line);
			put_uv(b, f->flags);
			put_uv(b, f->addr);
		}
		if (write_chunk(w, CH_FRAMES, 0) < 0)
			return -1;
		w->frames_done = p->nframes;
	}
	if (p->nstacks > w->stacks_done) {
		put_uv(b, w->stacks_done);
		put_uv(b, p->nstacks - w->stacks_done);
		for (i = w->stacks_done; i < p->nstacks; i++) {
			put_uv(b, i - p->stacks[i].parent);
			put_uv(b, p->stacks[i].frame);
		}
		if (write_chunk(w, CH_STACKS, 0) < 0)
			return -1;
		w->stacks_done = p->nstacks;
	}
	if (p->nthreads > w->threads_done) {
		put_uv(b, w->threads_done);
		put_uv(b, p->nthreads - w->threads_done);
		for (i = w->threads_done; i < p->nthreads; i++) {
			put_uv(b, zigzag(p->threads[i].pid));
			put_uv(b, zigzag(p->threads[i].tid));
			put_uv(b, p->threads[i].comm);
		}
		if (write_chunk(w, CH_THREADS, 0) < 0)
			return -1;
		w->threads_done = p->nthreads;
	}
	if (p->nsamples) {
		if (flush_samples(w, p) < 0)
			return -1;
		if (drop_samples)
			p->nsamples = 0;
	}
	return 0;
}

int kp_writer_close(struct kp_writer *w, struct kp_profile *p)
{
	int rc = kp_writer_flush(w, p, 0);
	if (rc == 0) {
		put_uv(&w->payload, w->samples_total);
		put_uv(&w->payload, w->chunks);
		rc = write_chunk(w, CH_END, 0);
	}
	if (rc == 0 && fsync(w->fd) != 0 && errno != EINVAL)
		rc = kiln_error("cannot write '%s': %s", w->path, strerror(errno));
	if (close(w->fd) != 0 && rc == 0)
		rc = kiln_error("cannot write '%s': %s", w->path, strerror(errno));
	strbuf_release(&w->payload);
	ZSTD_freeCCtx(w->zc);
	free(w->zbuf);
	free(w->path);
	free(w);
	return rc;
}

void kp_writer_abort(struct kp_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	if (w->regular)
		unlink(w->path);
	strbuf_release(&w->payload);
	ZSTD_freeCCtx(w->zc);
	free(w->zbuf);
	free(w->path);
	free(w);
}

int kp_profile_save(struct kp_profile *p, const char *path)
{
	/* the output helper decides how path is written: a regular file (or a link to one)
	 * through a temporary file and a rename, a device or FIFO in place, never replaced */
	struct kiln_output out;
	struct kp_writer *w;
	int fd;
	if (kiln_output_open(&out, path) < 0)
		return -1;
	fd = dup(fileno(out.fp));
	if (fd < 0) {
		kiln_error("cannot write '%s': %s", path, strerror(errno));
		kiln_output_abort(&out);
		return -1;
	}
	/* not regular for the writer: the helper removes its temporary file, never path */
	w = writer_start(fd, path, 0);
	if (!w || kp_writer_close(w, p) < 0) {
		kiln_output_abort(&out);
		return -1;
	}
	return kiln_output_commit(&out);
}

/* ---- reader ---- */
int kp_is_profile(const void *data, size_t n)
{
	return n >= 8 && !memcmp(data, KP_MAGIC, 8);
}

static int read_full(struct kiln_input *in, void *buf, size_t n, size_t *got)
{
	size_t have = 0;
	while (have < n) {
		ssize_t r = kiln_input_read(in, (char *)buf + have, n - have);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		have += (size_t)r;
	}
	*got = have;
	return 0;
}

/* Decodes one chunk payload into p. Returns 0, or -1 when it is invalid. */
static int load_chunk(struct kp_profile *p, unsigned type, struct rd *r, struct kp_load_info *info)
{
	uint64_t first, n, i;
	switch (type) {
	case CH_META:
		n = get_uv(r);
		for (i = 0; i < n && !r->bad; i++) {
			uint64_t k = get_uv(r), v = get_uv(r);
			if (r->bad || k == 0 || k >= p->strings.nr || v >= p->strings.nr)
				return -1;
			kp_meta_set(p, kp_str_get(p, (kp_str_t)k), kp_str_get(p, (kp_str_t)v));
		}
		break;
	case CH_STRINGS:
		first = get_uv(r);
		n = get_uv(r);
		if (first != p->strings.nr)
			return -1;
		for (i = 0; i < n && !r->bad; i++) {
			size_t len;
			const char *s = get_bytes(r, &len);
			if (r->bad || !len || kp_str(p, s, len) != first + i)
				return -1;
		}
		break;
	case CH_VALUE_TYPES: {
		n = get_uv(r);
		if (n > KP_MAX_VALUES || (p->nsamples && n != p->nvalues))
			return -1;
		for (i = 0; i < n; i++) {
			uint64_t name = get_uv(r), unit = get_uv(r);
			if (r->bad || name >= p->strings.nr || unit >= p->strings.nr)
				return -1;
			if (i < p->nvalues) {
				p->value_types[i].name = (kp_str_t)name;
				p->value_types[i].unit = (kp_str_t)unit;
			} else {
				kp_add_value_type(p, kp_str_get(p, (kp_str_t)name), kp_str_get(p, (kp_str_t)unit));
			}
		}
		uint64_t def = get_uv(r);
		p->default_value = def < n ? (uint32_t)def : 0;
		break;
	}
	case CH_FRAMES:
		first = get_uv(r);
		n = get_uv(r);
		if (first != p->nframes)
			return -1;
		for (i = 0; i < n; i++) {
			struct kp_frame f;
			uint64_t name = get_uv(r), module = get_uv(r), file = get_uv(r);
			f.line = (uint32_t)get_uv(r);
			f.flags = (uint32_t)get_uv(r);
			f.addr = get_uv(r);
			if (r->bad || name >= p->strings.nr || module >= p->strings.nr || file >= p->strings.nr)
				return -1;
			f.name = (kp_str_t)name;
			f.module = (kp_str_t)module;
			f.file = (kp_str_t)file;
			if (kp_frame(p, &f) != first + i)
				return -1;
		}
		break;
	case CH_STACKS:
		first = get_uv(r);
		n = get_uv(r);
		if (first != p->nstacks)
			return -1;
		for (i = 0; i < n; i++) {
			uint64_t id = first + i, delta = get_uv(r), frame = get_uv(r);
			if (r->bad || delta == 0 || delta > id || frame == 0 || frame >= p->nframes)
				return -1;
			if (kp_stack_push(p, (kp_stack_t)(id - delta), (kp_frame_t)frame) != id)
				return -1;
		}
		break;
	case CH_THREADS:
		first = get_uv(r);
		n = get_uv(r);
		if (first != p->nthreads)
			return -1;
		for (i = 0; i < n; i++) {
			int64_t pid = unzigzag(get_uv(r)), tid = unzigzag(get_uv(r));
			uint64_t comm = get_uv(r);
			if (r->bad || comm >= p->strings.nr)
				return -1;
			uint32_t t = kp_add_thread(p, (int32_t)pid, (int32_t)tid, NULL);
			p->threads[t].comm = (kp_str_t)comm;
		}
		break;
	case CH_SAMPLES: {
		n = get_uv(r);
		uint64_t nv = get_uv(r);
		if (r->bad || nv != p->nvalues || n > (uint64_t)(r->end - r->p))
			return -1;
		size_t base = p->nsamples;
		double zeros[KP_MAX_VALUES] = { 0 };
		uint64_t t = 0;
		for (i = 0; i < n; i++) {
			t += (uint64_t)unzigzag(get_uv(r));
			kp_add_sample(p, 0, 0, t, zeros);
		}
		for (i = 0; i < n; i++) {
			uint64_t th = get_uv(r);
			if (th >= p->nthreads)
				r->bad = 1;
			p->sample_thread[base + i] = (uint32_t)th;
		}
		/* unsigned arithmetic: a crafted delta cannot overflow, and any sum outside
		 * 0..nstacks-1 (a negative one wraps to a huge one) is damage */
		uint64_t st = 0;
		for (i = 0; i < n && !r->bad; i++) {
			st += (uint64_t)unzigzag(get_uv(r));
			if (st >= p->nstacks)
				r->bad = 1;
			p->sample_stack[base + i] = r->bad ? 0 : (kp_stack_t)st;
		}
		for (uint32_t v = 0; v < nv; v++)
			for (i = 0; i < n; i++)
				p->sample_values[(base + i) * nv + v] = get_value(r);
		if (r->bad) {
			p->nsamples = base;
			return -1;
		}
		break;
	}
	case CH_END:
		info->complete = 1;
		break;
	default:
		break;
	}
	return r->bad ? -1 : 0;
}

int kp_profile_read(struct kp_profile *p, struct kiln_input *in, struct kp_load_info *info)
{
	unsigned char hdr[16];
	size_t got;
	void *stored, *raw;
	size_t stored_cap, raw_cap;
	const char *name = kiln_input_name(in);
	memset(info, 0, sizeof(*info));
	kp_profile_init(p);
	if (read_full(in, hdr, sizeof(hdr), &got) < 0)
		return -1;
	if (got == 0)
		return kiln_error("'%s' is empty; record a profile first", name);
	if (got < 8 || memcmp(hdr, KP_MAGIC, 8))
		return kiln_error("'%s' is not a kiln profile", name);
	if (got < sizeof(hdr))
		return kiln_error("'%s' is truncated inside its header; record it again", name);
	info->major = hdr[8] | (unsigned)hdr[9] << 8;
	info->minor = hdr[10] | (unsigned)hdr[11] << 8;
	if (info->major > KP_FORMAT_MAJOR)
		return kiln_error("'%s' is profile format %u.%u, newer than this kiln reads (%u.x); upgrade kiln",
				  name, info->major, info->minor, KP_FORMAT_MAJOR);
	if (info->major == 0)
		return kiln_error("'%s' has an invalid format version 0", name);
	/* never NULL, so that an empty chunk's payload is an empty range, not NULL + 0 */
	stored_cap = raw_cap = 4096;
	stored = xmalloc(stored_cap);
	raw = xmalloc(raw_cap);
	for (;;) {
		unsigned char ch[CHUNK_HDR];
		if (read_full(in, ch, sizeof(ch), &got) < 0)
			break;
		if (got == 0)
			break;
		if (got < sizeof(ch)) {
			info->truncated = 1;
			info->bytes_lost += got;
			break;
		}
		uint32_t magic = get_u32le(ch);
		unsigned type = ch[4] | (unsigned)ch[5] << 8;
		unsigned flags = ch[6] | (unsigned)ch[7] << 8;
		uint32_t slen = get_u32le(ch + 8), rlen = get_u32le(ch + 12), crc = get_u32le(ch + 16);
		if (magic != CHUNK_MAGIC || slen > MAX_CHUNK || rlen > MAX_CHUNK) {
			info->corrupt = 1;
			info->bytes_lost += got;
			break;
		}
		if (slen > stored_cap) {
			free(stored);
			stored = xmalloc(slen);
			stored_cap = slen;
		}
		if (read_full(in, stored, slen, &got) < 0)
			break;
		if (got < slen) {
			info->truncated = 1;
			info->bytes_lost += CHUNK_HDR + got;
			break;
		}
		if ((uint32_t)crc32(0, stored, slen) != crc) {
			info->corrupt = 1;
			info->bytes_lost += CHUNK_HDR + slen;
			break;
		}
		struct rd r;
		if (flags & CHF_ZSTD) {
			if (rlen > raw_cap) {
				free(raw);
				raw = xmalloc(rlen ? rlen : 1);
				raw_cap = rlen;
			}
			size_t z = ZSTD_decompress(raw, raw_cap, stored, slen);
			if (ZSTD_isError(z) || z != rlen) {
				info->corrupt = 1;
				info->bytes_lost += CHUNK_HDR + slen;
				break;
			}
			r.p = raw;
			r.end = (unsigned char *)raw + rlen;
		} else {
			r.p = stored;
			r.end = (unsigned char *)stored + slen;
		}
		r.bad = 0;
		if (type > CH_END && !(flags & CHF_OPTIONAL) && info->major == KP_FORMAT_MAJOR &&
		    info->minor <= KP_FORMAT_MINOR) {
			info->corrupt = 1;
			break;
		}
		if (load_chunk(p, type, &r, info) < 0) {
			info->corrupt = 1;
			info->bytes_lost += CHUNK_HDR + slen;
			break;
		}
		info->chunks++;
		if (info->complete)
			break;
	}
	free(stored);
	free(raw);
	if (info->corrupt || info->truncated) {
		/* count what follows the damage as lost too */
		char buf[65536];
		ssize_t n;
		while ((n = kiln_input_read(in, buf, sizeof(buf))) > 0)
			info->bytes_lost += (unsigned long long)n;
	}
	return 0;
}

int kp_profile_load(struct kp_profile *p, const char *path, struct kp_load_info *info)
{
	struct kiln_input *in = kiln_input_open(path);
	int rc;
	if (!in) {
		kp_profile_init(p);
		return -1;
	}
	rc = kp_profile_read(p, in, info);
	kiln_input_close(in);
	return rc;
}

void kp_load_info_warn(const struct kp_load_info *info, const char *name, const struct kp_profile *p)
{
	if (info->corrupt)
		kiln_warn("'%s' is damaged after %u chunks (%llu bytes lost); showing the %zu samples before the damage",
			  name, info->chunks, info->bytes_lost, p->nsamples);
	else if (info->truncated)
		kiln_warn("'%s' is cut short (%llu bytes of a partial chunk lost; the recorder was interrupted); showing %zu samples",
			  name, info->bytes_lost, p->nsamples);
	else if (!info->complete)
		kiln_warn("'%s' has no end marker (the recorder was interrupted); showing the %zu samples it holds",
			  name, p->nsamples);
}
