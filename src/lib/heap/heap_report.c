/* heap_report.c: `kiln report` for heap profiles: the summary, then the top call
 * stacks for each question (peak, leaks, most calls, temporaries), or one table for
 * --value NAME; as text or JSON (docs/kiln-heap.md describes both). */
#include "heap/heap_report.h"
#include "heap/heap_agg.h"
#include "heap/heap_suppress.h"
#include "heap/heap_view.h"
#include "util/error.h"
#include "util/output.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TOP 10
#define SHOW_FRAMES 6

struct question {
	const char *key;     /* JSON key */
	const char *title;
	const char *what;    /* explanation after the title */
	int value;           /* HEAP_V_* sorted by */
	int extra;           /* second column, HEAP_V_* or -1 */
	const char *extra_name;
};

static const struct question questions[] = {
	{ "peak", "PEAK", "memory live when the heap was largest", HEAP_V_PEAK_BYTES, HEAP_V_ALLOC_COUNT, "calls" },
	{ "leaks", "LEAKS", "memory still allocated at exit", HEAP_V_LEAKED_BYTES, HEAP_V_LEAKED_COUNT, "blocks" },
	{ "calls", "MOST CALLS", "allocation calls", HEAP_V_ALLOC_COUNT, HEAP_V_ALLOC_BYTES, "bytes" },
	{ "temporary", "TEMPORARY", "blocks freed before any other allocation", HEAP_V_TEMP_COUNT,
	  HEAP_V_ALLOC_COUNT, "of calls" },
};

struct sums {
	double *self[HEAP_NV]; /* per stack id, or NULL when the profile lacks the value */
	int idx[HEAP_NV];      /* value index in the profile */
};

/* The per-stack sums of the values in mask (bit v: value v; the others NULL). */
static void sums_of(const struct kp_profile *p, const uint8_t *keep, unsigned mask, struct sums *s)
{
	for (int v = 0; v < HEAP_NV; v++) {
		s->idx[v] = mask & 1u << v ? kp_find_value_type(p, heap_value_names[v]) : -1;
		s->self[v] = NULL;
		if (s->idx[v] >= 0)
			kp_stack_sums(p, (uint32_t)s->idx[v], keep, &s->self[v], NULL);
	}
}

static void sums_get(const struct kp_profile *p, const uint8_t *keep, struct sums *s)
{
	sums_of(p, keep, ~0u, s);
}

static void sums_release(struct sums *s)
{
	for (int v = 0; v < HEAP_NV; v++)
		free(s->self[v]);
}

static int is_bytes(const struct kp_profile *p, int vi)
{
	return vi >= 0 && !strcmp(kp_str_get(p, p->value_types[vi].unit), "bytes");
}

/* ---- formatting ---- */
void heap_fmt_bytes(double b, char *buf, size_t n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;
	double a = fabs(b);
	if (a < 1024) {
		snprintf(buf, n, "%.0f B", b);
		return;
	}
	while (a >= 1024 && u < 5) {
		a /= 1024;
		b /= 1024;
		u++;
	}
	snprintf(buf, n, a >= 100 ? "%.0f %s" : a >= 10 ? "%.1f %s" : "%.2f %s", b, units[u]);
}

void heap_fmt_count(double v, char *buf, size_t n)
{
	char tmp[64];
	int len, neg = v < 0, k = 0;
	size_t o = 0;
	snprintf(tmp, sizeof(tmp), "%.0f", fabs(v));
	len = (int)strlen(tmp);
	if (neg && o + 1 < n)
		buf[o++] = '-';
	for (int i = 0; i < len && o + 1 < n; i++) {
		buf[o++] = tmp[i];
		k = len - i - 1;
		if (k && k % 3 == 0 && o + 1 < n)
			buf[o++] = ',';
	}
	buf[o] = '\0';
}

static void fmt_value(const struct kp_profile *p, int vi, double v, char *buf, size_t n)
{
	if (is_bytes(p, vi))
		heap_fmt_bytes(v, buf, n);
	else
		heap_fmt_count(v, buf, n);
}

/* ---- the summary ---- */
int heap_is_profile(const struct kp_profile *p)
{
	const char *k = kp_meta_get(p, "kind");
	return k && !strcmp(k, "heap");
}

static double meta_num(const struct kp_profile *p, const char *key, double def)
{
	const char *s = kp_meta_get(p, key);
	char *end;
	double v;
	if (!s || !*s)
		return def;
	errno = 0;
	v = strtod(s, &end);
	return (errno || *end) ? def : v;
}

void heap_summary_get(const struct kp_profile *p, const uint8_t *keep, struct heap_summary *s)
{
	int idx[HEAP_NV];
	double tot[HEAP_NV] = { 0 };
	memset(s, 0, sizeof(*s));
	for (int v = 0; v < HEAP_NV; v++)
		idx[v] = kp_find_value_type(p, heap_value_names[v]);
	for (size_t i = 0; i < p->nsamples; i++) {
		if (keep && !keep[i])
			continue;
		for (int v = 0; v < HEAP_NV; v++)
			if (idx[v] >= 0)
				tot[v] += kp_sample_value(p, i, (uint32_t)idx[v]);
	}
	s->command = kp_meta_get(p, "command");
	s->sampled = kp_meta_get(p, "heap.mode") && !strcmp(kp_meta_get(p, "heap.mode"), "sampled");
	s->sample_bytes = meta_num(p, "heap.sample_bytes", 0);
	s->allocs = tot[HEAP_V_ALLOC_COUNT];
	s->bytes = tot[HEAP_V_ALLOC_BYTES];
	s->temps = tot[HEAP_V_TEMP_COUNT];
	s->leaked_count = tot[HEAP_V_LEAKED_COUNT];
	s->leaked_bytes = tot[HEAP_V_LEAKED_BYTES];
	s->peak_bytes = tot[HEAP_V_PEAK_BYTES];
	s->peak_time_s = meta_num(p, "heap.peak_time_ns", -1e9) / 1e9;
	s->peak_rss = meta_num(p, "heap.peak_rss_bytes", -1);
	s->duration_s = meta_num(p, "heap.duration_ns", -1e9) / 1e9;
	s->processes = meta_num(p, "heap.processes", 0);
	s->recorder_rss = meta_num(p, "heap.kiln_rss_bytes", -1);
	s->recorder_cpu = meta_num(p, "heap.kiln_cpu_ns", -1e9) / 1e9;
	if (s->recorder_cpu < 0)
		s->recorder_cpu = -1;
	s->exit = kp_meta_get(p, "heap.exit");
	s->complete = s->exit != NULL;
	if (s->peak_time_s < 0)
		s->peak_time_s = -1;
	if (s->duration_s < 0)
		s->duration_s = -1;
}

/* Each process's own peak, from the meta "heap.process_peaks" ("pid:bytes:time_ns"
 * separated by spaces), largest first. Returns how many (*out malloc'd). */
struct proc_peak {
	int pid;
	double bytes, time_s;
	const char *comm;
};

static int cmp_proc_peak(const void *a, const void *b)
{
	const struct proc_peak *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->pid - y->pid;
}

static size_t proc_peaks(const struct kp_profile *p, struct proc_peak **out)
{
	const char *m = kp_meta_get(p, "heap.process_peaks");
	struct proc_peak *v = NULL;
	size_t n = 0, alloc = 0;
	while (m && *m) {
		char *end;
		long pid = strtol(m, &end, 10);
		double b, t;
		if (end == m || *end != ':')
			break;
		b = strtod(end + 1, &end);
		if (*end != ':')
			break;
		t = strtod(end + 1, &end);
		ALLOC_GROW(v, n + 1, alloc);
		v[n].pid = (int)pid;
		v[n].bytes = b;
		v[n].time_s = t / 1e9;
		v[n].comm = NULL;
		for (uint32_t i = 1; i < p->nthreads; i++)
			if (p->threads[i].pid == (int32_t)pid && p->threads[i].comm)
				v[n].comm = kp_str_get(p, p->threads[i].comm);
		n++;
		while (*end == ' ')
			end++;
		m = end;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_proc_peak);
	*out = v;
	return n;
}

static void print_summary(const struct kp_profile *p, const struct heap_summary *s, int top, FILE *out)
{
	char a[64], b[64], c[64];
	if (s->command)
		fprintf(out, "%-13s %s\n", "command", s->command);
	heap_fmt_count(s->allocs, a, sizeof(a));
	heap_fmt_bytes(s->bytes, b, sizeof(b));
	fprintf(out, "%-13s %s (%s)", "allocations", a, b);
	if (s->duration_s > 0) {
		heap_fmt_count(s->allocs / s->duration_s, c, sizeof(c));
		fprintf(out, ", %s per second over %.3g s", c, s->duration_s);
	}
	fputc('\n', out);
	heap_fmt_count(s->temps, a, sizeof(a));
	fprintf(out, "%-13s %s (%.1f%% of allocations)\n", "temporary", a, s->allocs > 0 ? 100.0 * s->temps / s->allocs : 0.0);
	heap_fmt_bytes(s->peak_bytes, a, sizeof(a));
	fprintf(out, "%-13s %s", "peak heap", a);
	if (s->peak_time_s >= 0)
		fprintf(out, " at %.3f s", s->peak_time_s);
	if (s->processes > 1)
		fprintf(out, " (%.0f processes together)", s->processes);
	fputc('\n', out);
	if (s->processes > 1) {
		struct proc_peak *pp;
		size_t n = proc_peaks(p, &pp);
		for (size_t i = 0; i < n && i < (size_t)top; i++) {
			heap_fmt_bytes(pp[i].bytes, a, sizeof(a));
			fprintf(out, "%-13s %s at %.3f s: %s (pid %d)\n", i ? "" : "own peaks", a, pp[i].time_s,
				pp[i].comm ? pp[i].comm : "?", pp[i].pid);
		}
		if (n > (size_t)top)
			fprintf(out, "%-13s ... %zu more processes\n", "", n - (size_t)top);
		free(pp);
	}
	if (s->peak_rss > 0) {
		heap_fmt_bytes(s->peak_rss, a, sizeof(a));
		fprintf(out, "%-13s %s\n", "peak RSS", a);
	}
	heap_fmt_bytes(s->leaked_bytes, a, sizeof(a));
	heap_fmt_count(s->leaked_count, b, sizeof(b));
	fprintf(out, "%-13s %s in %s blocks", "leaked", a, b);
	if (s->suppressed_count > 0) {
		heap_fmt_bytes(s->suppressed_bytes, a, sizeof(a));
		heap_fmt_count(s->suppressed_count, b, sizeof(b));
		fprintf(out, " (and %s blocks, %s, suppressed)", b, a);
	}
	fputc('\n', out);
	if (s->exit)
		fprintf(out, "%-13s %s\n", "ended", s->exit);
	else
		fprintf(out, "%-13s %s\n", "ended", "unknown: the recording was cut short (figures up to then)");
	if (s->sampled) {
		heap_fmt_bytes(s->sample_bytes, a, sizeof(a));
		fprintf(out, "%-13s one allocation per %s on average; counts are estimates\n", "sampled", a);
	}
	(void)p;
}

/* ---- stacks ---- */
static void stack_text(const struct kp_profile *p, kp_stack_t st, int max, struct strbuf *sb)
{
	kp_frame_t fr[256];
	uint32_t depth = kp_stack_frames(p, st, fr, 256);
	int shown = 0;
	if (depth > 256)
		depth = 256;
	if (!depth) {
		strbuf_addstr(sb, "[no stack]");
		return;
	}
	for (uint32_t i = depth; i-- > 0 && shown < max; shown++) {
		const struct kp_frame *f = &p->frames[fr[i]];
		if (shown)
			strbuf_addstr(sb, " < ");
		strbuf_addstr(sb, kp_str_get(p, f->name));
		if (shown == 0 && (f->flags & KP_FRAME_PY)) {
			if (f->line) /* the name has the file and first line already */
				strbuf_addf(sb, " line %u", f->line);
		} else if (shown == 0 && f->file) {
			const char *file = kp_str_get(p, f->file), *base = strrchr(file, '/');
			strbuf_addf(sb, " (%s:%u)", base ? base + 1 : file, f->line);
		}
	}
	if (depth > (uint32_t)max)
		strbuf_addstr(sb, " < ...");
}

static void json_stack(const struct kp_profile *p, kp_stack_t st, struct strbuf *sb)
{
	kp_frame_t fr[256];
	uint32_t depth = kp_stack_frames(p, st, fr, 256);
	if (depth > 256)
		depth = 256;
	strbuf_addch(sb, '[');
	for (uint32_t i = depth; i-- > 0;) { /* allocation site first */
		const struct kp_frame *f = &p->frames[fr[i]];
		const char *s = kp_str_get(p, f->name);
		strbuf_addstr(sb, "{\"name\":\"");
		strbuf_add_json(sb, s, strlen(s));
		strbuf_addch(sb, '"');
		if (f->module) {
			s = kp_str_get(p, f->module);
			strbuf_addstr(sb, ",\"module\":\"");
			strbuf_add_json(sb, s, strlen(s));
			strbuf_addch(sb, '"');
		}
		if (f->file) {
			s = kp_str_get(p, f->file);
			strbuf_addstr(sb, ",\"file\":\"");
			strbuf_add_json(sb, s, strlen(s));
			strbuf_addf(sb, "\",\"line\":%u", f->line);
		}
		strbuf_addch(sb, '}');
		if (i)
			strbuf_addch(sb, ',');
	}
	strbuf_addch(sb, ']');
}

static const double *sort_key;
static int cmp_desc(const void *a, const void *b)
{
	kp_stack_t x = *(const kp_stack_t *)a, y = *(const kp_stack_t *)b;
	if (sort_key[x] != sort_key[y])
		return sort_key[x] > sort_key[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Stacks with a positive value, largest first; returns the count (all of them). */
static size_t top_stacks(const struct kp_profile *p, const double *v, kp_stack_t **out)
{
	size_t n = 0;
	kp_stack_t *ids = xmalloc((p->nstacks ? p->nstacks : 1) * sizeof(*ids));
	for (uint32_t s = 0; s < p->nstacks; s++)
		if (v[s] > 0.5e-9)
			ids[n++] = s;
	sort_key = v;
	qsort(ids, n, sizeof(*ids), cmp_desc);
	*out = ids;
	return n;
}

static double total_of(const struct kp_profile *p, const double *v)
{
	double t = 0;
	for (uint32_t s = 0; s < p->nstacks; s++)
		t += v[s];
	return t;
}

static void print_table(const struct kp_profile *p, const struct sums *sm, const char *title, const char *what,
			int value, int extra, const char *extra_name, int top, FILE *out)
{
	kp_stack_t *ids;
	char a[64], b[64], tot[64];
	const double *v = sm->self[value];
	size_t n = top_stacks(p, v, &ids), shown = n < (size_t)top ? n : (size_t)top;
	double total = total_of(p, v);
	struct strbuf sb = STRBUF_INIT;
	fmt_value(p, sm->idx[value], total, tot, sizeof(tot));
	fprintf(out, "\n%s: %s (%s)\n", title, what, tot);
	if (!n) {
		fprintf(out, "  none\n");
		free(ids);
		return;
	}
	fprintf(out, "  %10s %6s %12s  %s\n", heap_value_names[value], "%", extra >= 0 ? extra_name : "",
		"call stack (allocation site first)");
	for (size_t i = 0; i < shown; i++) {
		kp_stack_t s = ids[i];
		fmt_value(p, sm->idx[value], v[s], a, sizeof(a));
		b[0] = '\0';
		if (extra >= 0 && sm->self[extra]) {
			if (value == HEAP_V_TEMP_COUNT && extra == HEAP_V_ALLOC_COUNT)
				snprintf(b, sizeof(b), "%.1f%%",
					 sm->self[extra][s] > 0 ? 100.0 * v[s] / sm->self[extra][s] : 0.0);
			else
				fmt_value(p, sm->idx[extra], sm->self[extra][s], b, sizeof(b));
		}
		strbuf_reset(&sb);
		stack_text(p, s, SHOW_FRAMES, &sb);
		fprintf(out, "  %10s %5.1f%% %12s  %s\n", a, total > 0 ? 100.0 * v[s] / total : 0.0, b, sb.buf);
	}
	if (n > shown)
		fprintf(out, "  ... %zu more stacks\n", n - shown);
	strbuf_release(&sb);
	free(ids);
}

static void json_num(struct strbuf *sb, const char *key, double v)
{
	strbuf_addf(sb, "\"%s\":", key);
	if (v == floor(v) && fabs(v) < 9e15)
		strbuf_addf(sb, "%.0f", v);
	else
		strbuf_addf(sb, "%.6g", v);
}

static void json_table(const struct kp_profile *p, const struct sums *sm, int value, int top, struct strbuf *sb)
{
	kp_stack_t *ids;
	size_t n = top_stacks(p, sm->self[value], &ids);
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n && i < (size_t)top; i++) {
		kp_stack_t s = ids[i];
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, '{');
		for (int v = 0; v < HEAP_NV; v++) {
			if (!sm->self[v])
				continue;
			json_num(sb, heap_value_names[v], sm->self[v][s]);
			strbuf_addch(sb, ',');
		}
		strbuf_addstr(sb, "\"stack\":");
		json_stack(p, s, sb);
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
	free(ids);
}

static void json_summary(const struct kp_profile *p, const struct heap_summary *s, struct strbuf *sb)
{
	strbuf_addstr(sb, "\"summary\":{");
	if (s->command) {
		strbuf_addstr(sb, "\"command\":\"");
		strbuf_add_json(sb, s->command, strlen(s->command));
		strbuf_addstr(sb, "\",");
	}
	strbuf_addf(sb, "\"mode\":\"%s\",", s->sampled ? "sampled" : "full");
	json_num(sb, "sample_bytes", s->sample_bytes);
	strbuf_addch(sb, ',');
	json_num(sb, "allocations", s->allocs);
	strbuf_addch(sb, ',');
	json_num(sb, "bytes", s->bytes);
	strbuf_addch(sb, ',');
	json_num(sb, "temporary", s->temps);
	strbuf_addch(sb, ',');
	json_num(sb, "peak_bytes", s->peak_bytes);
	strbuf_addch(sb, ',');
	json_num(sb, "peak_time_s", s->peak_time_s);
	strbuf_addch(sb, ',');
	json_num(sb, "peak_rss_bytes", s->peak_rss);
	strbuf_addch(sb, ',');
	json_num(sb, "leaked_count", s->leaked_count);
	strbuf_addch(sb, ',');
	json_num(sb, "leaked_bytes", s->leaked_bytes);
	strbuf_addch(sb, ',');
	json_num(sb, "suppressed_count", s->suppressed_count);
	strbuf_addch(sb, ',');
	json_num(sb, "suppressed_bytes", s->suppressed_bytes);
	strbuf_addch(sb, ',');
	json_num(sb, "duration_s", s->duration_s);
	strbuf_addch(sb, ',');
	json_num(sb, "processes", s->processes);
	strbuf_addstr(sb, ",\"process_peaks\":[");
	{
		struct proc_peak *pp;
		size_t n = proc_peaks(p, &pp);
		for (size_t i = 0; i < n; i++) {
			strbuf_addf(sb, "%s{\"pid\":%d,\"comm\":\"", i ? "," : "", pp[i].pid);
			if (pp[i].comm)
				strbuf_add_json(sb, pp[i].comm, strlen(pp[i].comm));
			strbuf_addstr(sb, "\",");
			json_num(sb, "peak_bytes", pp[i].bytes);
			strbuf_addch(sb, ',');
			json_num(sb, "peak_time_s", pp[i].time_s);
			strbuf_addch(sb, '}');
		}
		free(pp);
	}
	strbuf_addstr(sb, "],");
	json_num(sb, "recorder_rss_bytes", s->recorder_rss);
	strbuf_addch(sb, ',');
	json_num(sb, "recorder_cpu_s", s->recorder_cpu);
	strbuf_addstr(sb, ",\"exit\":");
	if (s->exit) {
		strbuf_addch(sb, '"');
		strbuf_add_json(sb, s->exit, strlen(s->exit));
		strbuf_addch(sb, '"');
	} else {
		strbuf_addstr(sb, "null");
	}
	strbuf_addch(sb, '}');
}

/* ---- suppressions ---- */
/* The rules for p: built-in, the profile's own (kiln heap --suppressions), file. */
static int supp_load(const struct kp_profile *p, const char *file, struct heap_supp *sp)
{
	const char *own = kp_meta_get(p, HEAP_SUPP_META);
	heap_supp_init(sp);
	if (own && *own) {
		const char *from = kp_meta_get(p, HEAP_SUPP_META "_file");
		if (heap_supp_add_text(sp, own, from && *from ? from : "the profile's suppressions") < 0) {
			heap_supp_release(sp);
			return -1;
		}
	}
	if (file && heap_supp_add_file(sp, file, NULL) < 0) {
		heap_supp_release(sp);
		return -1;
	}
	return 0;
}

int heap_leak_keep(const struct kp_profile *p, int value, const char *supp_file, const uint8_t *base,
		   uint8_t **keep)
{
	struct heap_supp sp;
	uint8_t *hit;
	*keep = NULL;
	if (value != kp_find_value_type(p, "leaked_count") && value != kp_find_value_type(p, "leaked_bytes"))
		return 0;
	if (supp_load(p, supp_file, &sp) < 0)
		return -1;
	hit = xcalloc(p->nstacks ? p->nstacks : 1, 2);
	*keep = xmalloc(p->nsamples ? p->nsamples : 1);
	for (size_t i = 0; i < p->nsamples; i++) {
		kp_stack_t st = p->sample_stack[i];
		if (!hit[2 * st]) {
			hit[2 * st] = 1;
			hit[2 * st + 1] = heap_supp_match(&sp, p, st) >= 0;
		}
		(*keep)[i] = !hit[2 * st + 1] && (!base || base[i]);
	}
	free(hit);
	heap_supp_release(&sp);
	return 0;
}

int heap_leaks_suppressed(const struct kp_profile *p, const char *supp_file, double *leaked_count,
			  double *leaked_bytes, double *count, double *bytes)
{
	struct heap_supp sp;
	*count = *bytes = 0;
	if (supp_load(p, supp_file, &sp) < 0)
		return -1;
	heap_supp_apply(&sp, p, leaked_count, leaked_bytes, count, bytes);
	heap_supp_release(&sp);
	return 0;
}

static void print_suppressed(const struct heap_supp *sp, FILE *out)
{
	char a[64], b[64];
	double total = 0;
	for (size_t i = 0; i < sp->n; i++)
		total += sp->rules[i].count;
	if (total <= 0)
		return;
	heap_fmt_count(total, a, sizeof(a));
	fprintf(out, "\nSUPPRESSED: leaks hidden by suppressions (%s blocks)\n", a);
	fprintf(out, "  %12s %12s  %s\n", "blocks", "bytes", "rule (where it comes from)");
	for (size_t i = 0; i < sp->n; i++) {
		const struct heap_supp_rule *r = &sp->rules[i];
		if (r->count <= 0)
			continue;
		heap_fmt_count(r->count, a, sizeof(a));
		heap_fmt_bytes(r->bytes, b, sizeof(b));
		if (r->builtin)
			fprintf(out, "  %12s %12s  %s (built-in)\n", a, b, r->desc);
		else
			fprintf(out, "  %12s %12s  leak:%s (%s)\n", a, b, r->pattern, r->origin);
	}
}

static void json_suppressed(const struct heap_supp *sp, struct strbuf *sb)
{
	int first = 1;
	strbuf_addstr(sb, ",\"suppressions\":[");
	for (size_t i = 0; i < sp->n; i++) {
		const struct heap_supp_rule *r = &sp->rules[i];
		if (r->count <= 0)
			continue;
		strbuf_addstr(sb, first ? "{\"rule\":\"" : ",{\"rule\":\"");
		first = 0;
		if (r->builtin) {
			strbuf_add_json(sb, r->desc, strlen(r->desc));
		} else {
			strbuf_addstr(sb, "leak:");
			strbuf_add_json(sb, r->pattern, strlen(r->pattern));
		}
		strbuf_addstr(sb, "\",\"origin\":\"");
		strbuf_add_json(sb, r->origin, strlen(r->origin));
		strbuf_addstr(sb, "\",");
		json_num(sb, "count", r->count);
		strbuf_addch(sb, ',');
		json_num(sb, "bytes", r->bytes);
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
}

int heap_report_print(const struct kp_profile *p, const struct heap_report_opts *o, FILE *out)
{
	struct heap_summary s;
	struct sums sm;
	struct heap_supp sp;
	int top = o && o->top > 0 ? o->top : DEFAULT_TOP;
	int only = -1;
	const uint8_t *keep = o ? o->keep : NULL;
	if (!heap_is_profile(p))
		return KILN_HEAP_REPORT_UNHANDLED;
	if (o && o->value) {
		for (int v = 0; v < HEAP_NV; v++)
			if (!strcmp(o->value, heap_value_names[v]))
				only = v;
		if (only < 0)
			return kiln_error("'%s' is not a value of this heap profile; use one of alloc_count, "
					  "alloc_bytes, peak_bytes, leaked_count, leaked_bytes, temp_count",
					  o->value);
	}
	if (supp_load(p, o ? o->suppressions : NULL, &sp) < 0)
		return -1;
	sums_get(p, keep, &sm);
	for (int v = 0; v < HEAP_NV; v++)
		if (!sm.self[v]) {
			sums_release(&sm);
			heap_supp_release(&sp);
			return kiln_error("this heap profile lacks the value '%s'; record it again", heap_value_names[v]);
		}
	heap_summary_get(p, keep, &s);
	heap_supp_apply(&sp, p, sm.self[HEAP_V_LEAKED_COUNT], sm.self[HEAP_V_LEAKED_BYTES], &s.suppressed_count,
			&s.suppressed_bytes);
	s.leaked_count -= s.suppressed_count;
	s.leaked_bytes -= s.suppressed_bytes;
	if (o && o->json) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addch(&sb, '{');
		json_summary(p, &s, &sb);
		if (only >= 0) {
			strbuf_addf(&sb, ",\"value\":\"%s\",\"top\":", heap_value_names[only]);
			json_table(p, &sm, only, top, &sb);
		} else {
			for (size_t q = 0; q < sizeof(questions) / sizeof(questions[0]); q++) {
				strbuf_addf(&sb, ",\"%s\":", questions[q].key);
				json_table(p, &sm, questions[q].value, top, &sb);
			}
		}
		json_suppressed(&sp, &sb);
		strbuf_addstr(&sb, "}\n");
		fwrite(sb.buf, 1, sb.len, out);
		strbuf_release(&sb);
	} else {
		print_summary(p, &s, top, out);
		if (only >= 0) {
			print_table(p, &sm, heap_value_names[only], "by call stack", only,
				    only == HEAP_V_ALLOC_COUNT ? HEAP_V_ALLOC_BYTES : HEAP_V_ALLOC_COUNT,
				    only == HEAP_V_ALLOC_COUNT ? "bytes" : only == HEAP_V_TEMP_COUNT ? "of calls" : "calls",
				    top, out);
		} else {
			for (size_t q = 0; q < sizeof(questions) / sizeof(questions[0]); q++)
				print_table(p, &sm, questions[q].title, questions[q].what, questions[q].value,
					    questions[q].extra, questions[q].extra_name, top, out);
			print_suppressed(&sp, out);
		}
	}
	sums_release(&sm);
	heap_supp_release(&sp);
	if (fflush(out) != 0 || ferror(out))
		return kiln_write_failed(out, "the report");
	return 0;
}
