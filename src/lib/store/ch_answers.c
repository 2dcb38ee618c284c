/* ch_answers.c: the ClickHouse backend's reading of the server's answers
 * (clickhouse.h): TabSeparated rows parsed strictly, and a query's profile built from
 * its three answers (frames, stacks, samples). No network here: the fuzz harness and
 * the unit tests drive it with any bytes. */
#include "store/clickhouse.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "util/hash.h"
#include "util/strbuf.h"
#include "util/u64map.h"
#include "util/xalloc.h"

/* ---- TSV answers ---- */

int kst_ch_parse_dec(const char *s, size_t len, int sign_ok, uint64_t *u, int64_t *i)
{
	int neg = 0;
	if (sign_ok && len && s[0] == '-') {
		neg = 1;
		s++;
		len--;
	}
	if (!len || len > 20)
		return -1;
	uint64_t v = 0;
	for (size_t k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		unsigned d = (unsigned)(s[k] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (sign_ok) {
		if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
			return -1;
		*i = neg ? (int64_t)(0 - v) : (int64_t)v;
	}
	*u = v;
	return 0;
}

/* TSV's escapes: \b \f \r \n \t \0 \' \\ and a backslash before any other byte. */
static int unescape(const char *s, size_t len, struct strbuf *out)
{
	strbuf_reset(out);
	for (size_t k = 0; k < len; k++) {
		char c = s[k];
		if (c != '\\') {
			strbuf_addch(out, c);
			continue;
		}
		if (++k == len)
			return -1;
		switch (s[k]) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'r': c = '\r'; break;
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case '0': c = '\0'; break;
		default: c = s[k]; break;
		}
		strbuf_addch(out, c);
	}
	return 0;
}

static int parse_array(const char *s, size_t len, uint64_t **a, size_t *n, size_t *alloc)
{
	*n = 0;
	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return -1;
	s++;
	len -= 2;
	if (!len)
		return 0;
	for (size_t k = 0; k <= len;) {
		size_t e = k;
		while (e < len && s[e] != ',')
			e++;
		uint64_t v;
		int64_t dummy;
		if (*n >= KST_CH_MAX_ARRAY || kst_ch_parse_dec(s + k, e - k, 0, &v, &dummy))
			return -1;
		ALLOC_GROW(*a, *n + 1, *alloc);
		(*a)[(*n)++] = v;
		k = e + 1;
	}
	return 0;
}

int kst_ch_rows(const char *data, size_t len, const char *types,
		int (*row)(void *arg, const struct kst_ch_field *f, struct strbuf *err), void *arg,
		struct strbuf *err)
{
	size_t nf = strlen(types);
	struct kst_ch_field f[KST_CH_MAX_FIELDS];
	struct strbuf str[KST_CH_MAX_FIELDS];
	uint64_t *arr[KST_CH_MAX_FIELDS];
	size_t arr_alloc[KST_CH_MAX_FIELDS];
	int rc = 0;
	size_t line = 0;

	if (nf == 0 || nf > KST_CH_MAX_FIELDS) {
		strbuf_addstr(err, "internal error: bad row type");
		return -1;
	}
	for (size_t k = 0; k < nf; k++) {
		strbuf_init(&str[k], 0);
		arr[k] = NULL;
		arr_alloc[k] = 0;
	}
	for (size_t pos = 0; pos < len && !rc;) {
		const char *l = data + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		pos += ll + 1;
		line++;
		size_t start = 0;
		for (size_t k = 0; k < nf && !rc; k++) {
			size_t e = start;
			while (e < ll && l[e] != '\t')
				e++;
			if ((k + 1 < nf) != (e < ll)) { /* too few or too many fields */
				rc = -1;
				break;
			}
			const char *fs = l + start;
			size_t fl = e - start;
			memset(&f[k], 0, sizeof(f[k]));
			switch (types[k]) {
			case 'u': rc = kst_ch_parse_dec(fs, fl, 0, &f[k].u, &f[k].i); break;
			case 'i': rc = kst_ch_parse_dec(fs, fl, 1, &f[k].u, &f[k].i); break;
			case 's':
				rc = unescape(fs, fl, &str[k]);
				f[k].s = str[k].buf;
				f[k].len = str[k].len;
				break;
			case 'a':
				rc = parse_array(fs, fl, &arr[k], &f[k].n, &arr_alloc[k]);
				f[k].a = arr[k];
				break;
			default: rc = -1; break;
			}
			start = e + 1;
		}
		if (rc) {
			strbuf_addf(err, "clickhouse's answer is not what kiln asked for (row %zu: '%.*s')", line,
				    (int)(ll > 60 ? 60 : ll), l);
			/* keep the line printable */
			for (size_t k = 0; k < err->len; k++)
				if ((unsigned char)err->buf[k] < 0x20 || (unsigned char)err->buf[k] == 0x7f)
					err->buf[k] = '?';
			break;
		}
		rc = row(arg, f, err);
	}
	for (size_t k = 0; k < nf; k++) {
		strbuf_release(&str[k]);
		free(arr[k]);
	}
	return rc;
}

/* ---- building a profile from a query's answers ---- */
struct build {
	struct kp_profile *p;
	struct u64map frames, stacks, threads;
	uint64_t base_ns;
	int vs, vc;
	kp_frame_t *tmp;
	size_t tmp_alloc;
};

static int frame_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	struct build *b = arg;
	struct kp_frame fr;
	memset(&fr, 0, sizeof(fr));
	fr.name = kp_str(b->p, f[1].s, f[1].len);
	fr.module = kp_str(b->p, f[2].s, f[2].len);
	fr.file = kp_str(b->p, f[3].s, f[3].len);
	fr.line = (uint32_t)f[4].u;
	fr.flags = (uint32_t)f[5].u;
	fr.addr = f[6].u;
	int found;
	*u64map_slot(&b->frames, f[0].u, &found) = kp_frame(b->p, &fr);
	return 0;
}

static int stack_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	struct build *b = arg;
	ALLOC_GROW(b->tmp, f[1].n + 1, b->tmp_alloc);
	for (size_t k = 0; k < f[1].n; k++) {
		uint32_t id;
		if (!u64map_get(&b->frames, f[1].a[k], &id))
			id = kp_frame_named(b->p, "[missing frame]", 15, KP_FRAME_UNKNOWN);
		b->tmp[k] = id;
	}
	int found;
	*u64map_slot(&b->stacks, f[0].u, &found) = kp_stack_from_frames(b->p, b->tmp, f[1].n);
	return 0;
}

static int sample_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	struct build *b = arg;
	/* host, pid, comm, stack, first start, samples, cpu_ns */
	uint64_t th = hash_fnv1a(HASH_FNV1A_INIT, f[0].s, f[0].len + 1);
	th = hash_fnv1a(th, &f[1].i, sizeof(f[1].i));
	th = hash_mix64(hash_fnv1a(th, f[2].s, f[2].len + 1));
	int found;
	uint32_t *t = u64map_slot(&b->threads, th, &found);
	if (!found)
		*t = kp_add_thread(b->p, (int32_t)f[1].i, (int32_t)f[1].i, f[2].s);
	uint32_t st;
	if (!u64map_get(&b->stacks, f[3].u, &st)) {
		kp_frame_t m = kp_frame_named(b->p, "[missing stack]", 15, KP_FRAME_UNKNOWN);
		st = kp_stack_from_frames(b->p, &m, 1);
	}
	double v[2];
	v[b->vs] = (double)f[5].u;
	v[b->vc] = (double)f[6].u;
	kp_add_sample(b->p, st, *t, f[4].u > b->base_ns ? f[4].u - b->base_ns : 0, v);
	return 0;
}

static int min_start_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	uint64_t *m = arg;
	if (f[4].u < *m)
		*m = f[4].u;
	return 0;
}

int kst_ch_build_profile(const char *frames, size_t frames_len, const char *stacks, size_t stacks_len,
			 const char *samples, size_t samples_len, uint64_t base_ns, struct kp_profile *out,
			 struct strbuf *err)
{
	static const char sample_types[] = "uisuuuu";
	struct build b;
	memset(&b, 0, sizeof(b));
	b.p = out;
	b.vs = kp_add_value_type(out, "samples", "count");
	b.vc = kp_add_value_type(out, "cpu_ns", "nanoseconds");
	out->default_value = (uint32_t)b.vs;
	/* host is a string: "s" first */
	char types[8];
	memcpy(types, sample_types, sizeof(types));
	types[0] = 's';
	types[2] = 's';
	if (!base_ns) {
		base_ns = UINT64_MAX;
		if (kst_ch_rows(samples, samples_len, types, min_start_row, &base_ns, err))
			goto fail;
		if (base_ns == UINT64_MAX)
			base_ns = 0;
	}
	b.base_ns = base_ns;
	int rc = kst_ch_rows(frames, frames_len, "usssuuu", frame_row, &b, err);
	if (!rc)
		rc = kst_ch_rows(stacks, stacks_len, "ua", stack_row, &b, err);
	if (!rc)
		rc = kst_ch_rows(samples, samples_len, types, sample_row, &b, err);
	if (rc)
		goto fail;
	u64map_release(&b.frames);
	u64map_release(&b.stacks);
	u64map_release(&b.threads);
	free(b.tmp);
	return 0;
fail:
	u64map_release(&b.frames);
	u64map_release(&b.stacks);
	u64map_release(&b.threads);
	free(b.tmp);
	return -1;
}
