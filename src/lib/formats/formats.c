/* formats.c: format names, content sniffing, the loading entry and helpers shared by the
 * format modules. */
#include "formats/formats.h"
#include "formats/jsonr.h"
#include "util/error.h"
#include "util/input.h"
#include "util/strbuf.h"
#include "util/u64map.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const format_names[] = {
	[KF_NONE] = "", [KF_PPROF] = "pprof", [KF_SPEEDSCOPE] = "speedscope", [KF_CHROME] = "chrome",
	[KF_FIREFOX] = "firefox", [KF_PERFDATA] = "perf.data", [KF_JSON] = "json", [KF_FOLDED] = "folded",
};

const char *kf_format_name(enum kf_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "";
}

enum kf_format kf_format_from_name(const char *name)
{
	for (unsigned i = 1; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (!strcmp(name, format_names[i]))
			return (enum kf_format)i;
	if (!strcmp(name, "cpuprofile"))
		return KF_CHROME;
	if (!strcmp(name, "gecko"))
		return KF_FIREFOX;
	return KF_NONE;
}

enum kf_format kf_sniff(const void *head, size_t n)
{
	const unsigned char *s = head;
	if (n >= 8 && !memcmp(s, "PERFILE2", 8))
		return KF_PERFDATA;
	if (kf_pprof_sniff(head, n))
		return KF_PPROF;
	size_t i = 0;
	if (n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		i = 3; /* a UTF-8 byte order mark */
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	if (i < n && s[i] == '{') {
		i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			i++;
		if (i < n && s[i] == '"')
			return KF_JSON;
	}
	return KF_NONE;
}

/* Reads all of in, refusing more than a limit that grows with the compressed size. */
static int read_all(struct kiln_input *in, char **data, size_t *len)
{
	const char *name = kiln_input_name(in);
	unsigned long long limit = KF_MAX_INPUT, size = kiln_input_size(in);
	size_t n = 0, cap = 1 << 16;
	char *buf;
	if (kiln_input_compression(in) != KILN_COMP_NONE && size) {
		unsigned long long l = size * 100 + (64ULL << 20);
		if (l < limit)
			limit = l;
	}
	if (size && kiln_input_compression(in) == KILN_COMP_NONE && size < limit)
		cap = (size_t)size + 1;
	buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= limit) {
				if (kiln_input_compression(in) != KILN_COMP_NONE)
					kiln_error("'%s' decompresses to more than %llu MiB, %llu times its size: refusing it as a zip bomb",
						   name, limit >> 20, size ? limit / size : 0);
				else
					kiln_error("'%s' is larger than %llu MiB: too large to read as a profile", name, limit >> 20);
				free(buf);
				return -1;
			}
			cap = cap * 2 > limit ? (size_t)limit : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = kiln_input_read(in, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (kiln_input_compressed_truncated(in)) {
		free(buf);
		return kiln_error("'%s' ends inside its compressed data (truncated file)", name);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int kf_load(struct kp_profile *p, struct kiln_input *in, enum kf_format fmt)
{
	const char *name = kiln_input_name(in);
	char *data = NULL;
	size_t len = 0;
	int rc;
	kp_profile_init(p);
	if (fmt == KF_PERFDATA) {
		if (kiln_input_size(in) == 0 || !strcmp(name, "standard input"))
			return kiln_error("'%s' is perf.data; give it as a file (perf script reads it by path)", name);
		return kf_perfdata_read(p, name);
	}
	if (read_all(in, &data, &len) < 0)
		return -1;
	if (fmt == KF_PPROF)
		rc = kf_pprof_read(p, data, len, name);
	else
		rc = kf_json_read(p, data, len, name);
	free(data);
	if (rc == 0 && !p->nsamples) {
		rc = kiln_error("'%s' holds no samples", name);
		kp_profile_release(p);
		kp_profile_init(p);
	}
	return rc;
}

int kf_pick_count_value(const struct kp_profile *p, const struct kf_write_opts *o, const char *what,
			int counts_only)
{
	int v = -1;
	struct strbuf sb = STRBUF_INIT;
	if (o->value_given) {
		v = o->value;
	} else {
		for (uint32_t i = 0; i < p->nvalues; i++)
			if (!strcmp(kp_str_get(p, p->value_types[i].name), "samples") &&
			    !strcmp(kp_str_get(p, p->value_types[i].unit), "count"))
				v = (int)i;
	}
	for (uint32_t i = 0; i < p->nvalues; i++) {
		if ((int)i == v)
			continue;
		strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", kp_str_get(p, p->value_types[i].name));
	}
	if (v < 0) {
		kiln_error("%s holds sample counts only, and '%s' has none: its values %s would be lost; "
			   "export to pprof or speedscope, or pick one count with --value", what, o->name, sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	if (counts_only) {
		for (size_t i = 0; i < p->nsamples; i++) {
			double x = kp_sample_value(p, i, (uint32_t)v);
			if (x < 0 || x != floor(x) || x > 1e9) {
				kiln_error("%s holds whole sample counts only, and '%s' has %s value %g in '%s'; "
					   "export to pprof or speedscope instead", what, o->name,
					   x < 0 ? "a negative" : x > 1e9 ? "a huge" : "a fractional", x,
					   kp_str_get(p, p->value_types[v].name));
				strbuf_release(&sb);
				return -1;
			}
		}
	}
	if (sb.len)
		kiln_note("%s keeps '%s' (one sample each); not written: %s", what,
			  kp_str_get(p, p->value_types[v].name), sb.buf);
	strbuf_release(&sb);
	return v;
}

void kf_thread_label(const struct kp_profile *p, uint32_t t, struct strbuf *out)
{
	if (!t || t >= p->nthreads) {
		strbuf_addstr(out, "all");
		return;
	}
	const struct kp_thread *th = &p->threads[t];
	const char *comm = kp_str_get(p, th->comm);
	strbuf_addstr(out, *comm ? comm : "thread");
	if (th->pid >= 0 && th->tid >= 0 && th->pid != th->tid)
		strbuf_addf(out, " (%d/%d)", th->pid, th->tid);
	else if (th->tid > 0)
		strbuf_addf(out, " (%d)", th->tid);
}

const char *kf_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

static int order_cmp(const void *a, const void *b, void *arg)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct kp_profile *p = arg;
	if (p->sample_thread[i] != p->sample_thread[j])
		return p->sample_thread[i] < p->sample_thread[j] ? -1 : 1;
	if (p->sample_time[i] != p->sample_time[j])
		return p->sample_time[i] < p->sample_time[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

size_t *kf_sample_order(const struct kp_profile *p)
{
	size_t *order = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(*order));
	int sorted = 1;
	for (size_t i = 0; i < p->nsamples; i++) {
		order[i] = i;
		if (i && (p->sample_thread[i] < p->sample_thread[i - 1] ||
			  (p->sample_thread[i] == p->sample_thread[i - 1] && p->sample_time[i] < p->sample_time[i - 1])))
			sorted = 0;
	}
	if (!sorted) {
		qsort_r(order, p->nsamples, sizeof(*order), order_cmp, (void *)p);
	}
	return order;
}

/* The suffix a frame's name is written with (_[k], _[i], _[j], kf_frame_from_name's
 * reading): 0 for none, else 1 to 3. */
static unsigned name_suffix(const struct kp_frame *fr)
{
	return fr->flags & KP_FRAME_KERNEL ? 1 : fr->flags & KP_FRAME_INLINE ? 2 : fr->flags & KP_FRAME_JIT ? 3 : 0;
}

void kf_funcs_build(const struct kp_profile *p, struct kf_funcs *fx)
{
	/* one map per name suffix: a function and a same-named inlined copy (call_init and
	 * call_init_[i]) stay two entries, so that a reader gets each back */
	struct u64map m[4];
	uint32_t n = p->nframes ? p->nframes : 1;
	memset(m, 0, sizeof(m));
	fx->func = xcalloc(n, sizeof(*fx->func));
	fx->rep = xmalloc(n * sizeof(*fx->rep));
	fx->line = xmalloc(n * sizeof(*fx->line));
	fx->nfuncs = 0;
	for (kp_frame_t f = 1; f < p->nframes; f++) {
		const struct kp_frame *fr = &p->frames[f];
		struct u64map *mm = &m[name_suffix(fr)];
		/* (name, module) + 1: never 0, which u64map stores as 1 (the key of name 0, module 0) */
		uint64_t key = ((uint64_t)fr->name << 32 | fr->module) + 1;
		int found;
		uint32_t *k = u64map_slot(mm, key, &found);
		if (found) {
			if (fx->line[*k] != fr->line)
				fx->line[*k] = 0;
		} else {
			*k = fx->nfuncs++;
			fx->rep[*k] = f;
			fx->line[*k] = fr->line;
		}
		fx->func[f] = *k;
	}
	for (int i = 0; i < 4; i++)
		u64map_release(&m[i]);
}

void kf_funcs_free(struct kf_funcs *fx)
{
	free(fx->func);
	free(fx->rep);
	free(fx->line);
	memset(fx, 0, sizeof(*fx));
}

uint32_t kf_frame_from_name(struct kp_profile *p, const char *name, size_t len, kp_str_t file, uint32_t line,
			    kp_str_t module)
{
	struct kp_frame fr = { 0 };
	if (len > 4 && name[len - 4] == '_' && name[len - 3] == '[' && name[len - 1] == ']') {
		char c = name[len - 2];
		fr.flags = c == 'k' ? KP_FRAME_KERNEL : c == 'i' ? KP_FRAME_INLINE : c == 'j' ? KP_FRAME_JIT : 0;
		if (fr.flags)
			len -= 4;
	}
	fr.name = kp_str(p, name, len);
	fr.file = file;
	fr.line = line;
	fr.module = module;
	return kp_frame(p, &fr);
}

int64_t kf_start_time_s(const struct kp_profile *p)
{
	const char *s = kp_meta_get(p, "start_time"), *end;
	struct tm tm;
	time_t t;
	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return 0;
	t = timegm(&tm);
	return t > 0 ? (int64_t)t : 0;
}

int kf_invalid(const char *name, const char *format, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	kiln_error("'%s' is not a valid %s: %s", name, format, sb.buf);
	strbuf_release(&sb);
	return -1;
}

int kf_json_invalid(const char *name, const struct jsonr *r)
{
	struct strbuf sb = STRBUF_INIT;
	kiln_error("'%s' is not valid JSON: %s", name, jsonr_error(r, &sb));
	strbuf_release(&sb);
	return -1;
}
