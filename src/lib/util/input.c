/* input.c: buffered reading of plain, gzip and zstd input with a fast line splitter. */
#include "util/input.h"
#include "util/error.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define RAW_SIZE (1u << 20)
#define BUF_SIZE (1u << 20)
#define PLAIN_READ (128u << 10)

struct kiln_input {
	int fd;
	char *name;
	enum kiln_compression comp;
	unsigned long long offset, size;
	/* raw (compressed) buffer */
	unsigned char *raw;
	size_t raw_pos, raw_len;
	int raw_eof;
	/* decompressed buffer; [pos, len) unread */
	char *buf;
	size_t pos, len, alloc;
	int eof;
	size_t max_line;
	int unterminated;
	int comp_truncated;
	int in_stream; /* inside a compressed frame/member */
	z_stream zs;
	ZSTD_DStream *zd;
};

static int fill_raw(struct kiln_input *in)
{
	if (in->raw_pos < in->raw_len || in->raw_eof)
		return 0;
	for (;;) {
		ssize_t n = read(in->fd, in->raw, RAW_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kiln_error("cannot read '%s': %s", in->name, strerror(errno));
		in->raw_pos = 0;
		in->raw_len = (size_t)n;
		in->offset += (unsigned long long)n;
		if (n == 0)
			in->raw_eof = 1;
		return 0;
	}
}

/* Decompresses (or copies) into dst; returns bytes produced, 0 at end, -1 on error. */
static ssize_t produce(struct kiln_input *in, char *dst, size_t cap)
{
	if (in->comp == KILN_COMP_NONE && in->raw_pos == in->raw_len && !in->raw_eof) {
		/* Plain input: read straight into dst, in pieces small enough that the caller
		 * parses them while they are still in the CPU cache. */
		if (cap > PLAIN_READ)
			cap = PLAIN_READ;
		for (;;) {
			ssize_t n = read(in->fd, dst, cap);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return kiln_error("cannot read '%s': %s", in->name, strerror(errno));
			in->offset += (unsigned long long)n;
			if (n == 0)
				in->raw_eof = 1;
			return n;
		}
	}
	for (;;) {
		if (fill_raw(in) < 0)
			return -1;
		if (in->raw_pos == in->raw_len) {
			if (in->comp != KILN_COMP_NONE && in->in_stream)
				in->comp_truncated = 1;
			return 0;
		}
		if (in->comp == KILN_COMP_NONE) {
			size_t n = in->raw_len - in->raw_pos;
			if (n > cap)
				n = cap;
			memcpy(dst, in->raw + in->raw_pos, n);
			in->raw_pos += n;
			return (ssize_t)n;
		}
		if (in->comp == KILN_COMP_GZIP) {
			int rc;
			if (!in->in_stream) {
				/* a new gzip member (concatenated .gz files are valid) */
				if (inflateReset2(&in->zs, 16 + MAX_WBITS) != Z_OK)
					return kiln_error("'%s': cannot start gzip decoder", in->name);
				in->in_stream = 1;
			}
			in->zs.next_in = in->raw + in->raw_pos;
			in->zs.avail_in = (uInt)(in->raw_len - in->raw_pos);
			in->zs.next_out = (Bytef *)dst;
			in->zs.avail_out = (uInt)cap;
			rc = inflate(&in->zs, Z_NO_FLUSH);
			in->raw_pos = in->raw_len - in->zs.avail_in;
			if (rc == Z_STREAM_END)
				in->in_stream = 0;
			else if (rc != Z_OK && rc != Z_BUF_ERROR)
				return kiln_error("'%s' is not valid gzip data (%s); check the file",
						  in->name, in->zs.msg ? in->zs.msg : "corrupt");
			if (cap - in->zs.avail_out)
				return (ssize_t)(cap - in->zs.avail_out);
			continue;
		}
		/* zstd */
		ZSTD_inBuffer ib = { in->raw, in->raw_len, in->raw_pos };
		ZSTD_outBuffer ob = { dst, cap, 0 };
		size_t r = ZSTD_decompressStream(in->zd, &ob, &ib);
		in->raw_pos = ib.pos;
		if (ZSTD_isError(r))
			return kiln_error("'%s' is not valid zstd data (%s); check the file", in->name,
					  ZSTD_getErrorName(r));
		in->in_stream = r != 0;
		if (ob.pos)
			return (ssize_t)ob.pos;
	}
}

struct kiln_input *kiln_input_open(const char *path)
{
	struct kiln_input *in;
	struct stat st;
	int fd;
	if (!path || !strcmp(path, "-")) {
		fd = 0;
		path = NULL;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				kiln_error("cannot open '%s': no such file", path);
			else if (errno == EACCES)
				kiln_error("cannot open '%s': permission denied", path);
			else
				kiln_error("cannot open '%s': %s", path, strerror(errno));
			return NULL;
		}
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		kiln_error("'%s' is a directory; give a file", path ? path : "standard input");
		if (fd)
			close(fd);
		return NULL;
	}
	in = xcalloc(1, sizeof(*in));
	in->fd = fd;
	in->name = xstrdup(path ? path : "standard input");
	in->size = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ? (unsigned long long)st.st_size : 0;
	in->raw = xmalloc(RAW_SIZE);
	in->alloc = BUF_SIZE;
	in->buf = xmalloc(in->alloc + 1);
	in->max_line = (size_t)256 << 20;
	if (fill_raw(in) < 0) {
		kiln_input_close(in);
		return NULL;
	}
	if (in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
		in->comp = KILN_COMP_GZIP;
		if (inflateInit2(&in->zs, 16 + MAX_WBITS) != Z_OK) {
			kiln_error("cannot start gzip decoder");
			kiln_input_close(in);
			return NULL;
		}
		in->in_stream = 1;
	} else if (in->raw_len >= 4 && in->raw[0] == 0x28 && in->raw[1] == 0xb5 &&
		   in->raw[2] == 0x2f && in->raw[3] == 0xfd) {
		in->comp = KILN_COMP_ZSTD;
		in->zd = ZSTD_createDStream();
		if (!in->zd || ZSTD_isError(ZSTD_initDStream(in->zd))) {
			kiln_error("cannot start zstd decoder");
			kiln_input_close(in);
			return NULL;
		}
		in->in_stream = 1;
	}
	return in;
}

/* Makes at least one more byte available in buf after len, compacting or growing. */
static int fill_buf(struct kiln_input *in)
{
	ssize_t n;
	if (in->eof)
		return 0;
	if (in->pos > 0 && in->pos == in->len) {
		in->pos = in->len = 0;
	} else if (in->len == in->alloc) {
		if (in->pos > 0) {
			memmove(in->buf, in->buf + in->pos, in->len - in->pos);
			in->len -= in->pos;
			in->pos = 0;
		} else {
			if (in->alloc >= in->max_line)
				return kiln_error("'%s': a line is longer than %zu MiB; is this the right file?",
						  in->name, in->max_line >> 20);
			in->alloc *= 2;
			in->buf = xrealloc(in->buf, in->alloc + 1);
		}
	}
	n = produce(in, in->buf + in->len, in->alloc - in->len);
	if (n < 0)
		return -1;
	if (n == 0) {
		in->eof = 1;
		return 0;
	}
	in->len += (size_t)n;
	return 1;
}

int kiln_input_getline(struct kiln_input *in, char **line, size_t *len)
{
	size_t scan = in->pos;
	for (;;) {
		char *nl = memchr(in->buf + scan, '\n', in->len - scan);
		if (nl) {
			char *s = in->buf + in->pos;
			size_t l = (size_t)(nl - s);
			in->pos = (size_t)(nl - in->buf) + 1;
			if (l && s[l - 1] == '\r')
				l--;
			s[l] = '\0';
			*line = s;
			*len = l;
			in->unterminated = 0;
			return 1;
		}
		size_t off = scan - in->pos;
		size_t had = in->len - in->pos;
		int r = fill_buf(in);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (in->len == in->pos)
				return 0;
			/* last line without newline */
			char *s = in->buf + in->pos;
			size_t l = in->len - in->pos;
			if (l && s[l - 1] == '\r')
				l--;
			s[l] = '\0'; /* buf has alloc+1 bytes */
			in->pos = in->len;
			*line = s;
			*len = l;
			in->unterminated = 1;
			return 1;
		}
		(void)off;
		scan = in->pos + had;
	}
}

ssize_t kiln_input_read(struct kiln_input *in, void *dst, size_t n)
{
	if (in->pos < in->len) {
		size_t k = in->len - in->pos;
		if (k > n)
			k = n;
		memcpy(dst, in->buf + in->pos, k);
		in->pos += k;
		return (ssize_t)k;
	}
	if (in->eof)
		return 0;
	ssize_t r = produce(in, dst, n);
	if (r == 0)
		in->eof = 1;
	return r;
}

size_t kiln_input_peek(struct kiln_input *in, const void **data, size_t n)
{
	while (in->len - in->pos < n && !in->eof) {
		if (in->len == in->alloc && in->pos == 0)
			break;
		if (fill_buf(in) <= 0)
			break;
	}
	*data = in->buf + in->pos;
	return in->len - in->pos < n ? in->len - in->pos : n;
}

void kiln_input_set_max_line(struct kiln_input *in, size_t max)
{
	in->max_line = max < BUF_SIZE ? BUF_SIZE : max;
}

const char *kiln_input_name(const struct kiln_input *in) { return in->name; }
enum kiln_compression kiln_input_compression(const struct kiln_input *in) { return in->comp; }
unsigned long long kiln_input_offset(const struct kiln_input *in) { return in->offset; }
unsigned long long kiln_input_size(const struct kiln_input *in) { return in->size; }
int kiln_input_last_line_unterminated(const struct kiln_input *in) { return in->unterminated; }
int kiln_input_compressed_truncated(const struct kiln_input *in) { return in->comp_truncated; }

void kiln_input_close(struct kiln_input *in)
{
	if (!in)
		return;
	if (in->comp == KILN_COMP_GZIP)
		inflateEnd(&in->zs);
	if (in->zd)
		ZSTD_freeDStream(in->zd);
	if (in->fd > 0)
		close(in->fd);
	free(in->raw);
	free(in->buf);
	free(in->name);
	free(in);
}

int kiln_input_slurp(const char *path, char **data, size_t *len, size_t max)
{
	struct kiln_input *in = kiln_input_open(path);
	size_t n = 0, cap = 1 << 16;
	char *buf;
	if (!in)
		return -1;
	buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				kiln_error("'%s' is larger than %zu bytes", kiln_input_name(in), max);
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = kiln_input_read(in, buf + n, cap - n);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	kiln_input_close(in);
	*data = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	kiln_input_close(in);
	return -1;
}
