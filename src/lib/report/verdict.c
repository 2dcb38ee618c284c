/* verdict.c: the report's first line and the off-CPU time split (see verdict.h). */
#include "report/verdict.h"
#include "collect/offcpu.h"
#include "profile/folded.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

int kr_is_offcpu(const struct kp_profile *p)
{
	return kp_find_value_type(p, "off_cpu_ns") >= 0 && kp_find_value_type(p, "wall_ns") >= 0 &&
	       kp_find_value_type(p, "cpu_ns") >= 0;
}

/* The off-CPU marker of stack s (its leaf): 0 none, 1 blocked, 2 runnable. */
static int marker_of(const struct kp_profile *p, kp_stack_t s)
{
	const struct kp_frame *f;
	if (!s)
		return 0;
	f = &p->frames[p->stacks[s].frame];
	if (!(f->flags & KP_FRAME_OFFCPU))
		return 0;
	return strcmp(kp_str_get(p, f->name), KC_OFFCPU_RUNNABLE) ? 1 : 2;
}

void kr_split_sum(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct kr_split *s)
{
	int vc = kp_find_value_type(p, "cpu_ns"), vo = kp_find_value_type(p, "off_cpu_ns");
	memset(s, 0, sizeof(*s));
	if (!kr_is_offcpu(p))
		return;
	for (size_t i = 0; i < p->nsamples; i++) {
		if ((o->keep && !o->keep[i]) || (thread != (uint32_t)-1 && p->sample_thread[i] != thread))
			continue;
		double off = kp_sample_value(p, i, (uint32_t)vo);
		s->running += kp_sample_value(p, i, (uint32_t)vc);
		if (off > 0) {
			if (marker_of(p, p->sample_stack[i]) == 2)
				s->runnable += off;
			else
				s->blocked += off;
		}
	}
	s->wall = s->running + s->runnable + s->blocked;
}

static double pct(double v, double total)
{
	return total > 0 ? v * 100.0 / total : 0;
}

/* The innermost frame of s that is neither a marker nor kernel code (the user code that
 * waited or ran), or s's innermost real frame when it has only kernel frames. */
static kp_stack_t user_point(const struct kp_profile *p, kp_stack_t s)
{
	kp_stack_t first = 0;
	for (kp_stack_t x = s; x; x = p->stacks[x].parent) {
		uint32_t fl = p->frames[p->stacks[x].frame].flags;
		if (fl & (KP_FRAME_OFFCPU | KP_FRAME_ROOT | KP_FRAME_TRUNCATED))
			continue;
		if (!first)
			first = x;
		if (!(fl & KP_FRAME_KERNEL))
			return x;
	}
	return first;
}

/* A path key: the names of up to three frames from a stack point outward. */
struct path_acc {
	kp_str_t name[3];
	kp_stack_t example;
	double sum;
};

static void path_key(const struct kp_profile *p, kp_stack_t s, struct path_acc *k)
{
	int n = 0;
	memset(k, 0, sizeof(*k));
	k->example = s;
	for (kp_stack_t x = s; x && n < 3; x = p->stacks[x].parent) {
		const struct kp_frame *f = &p->frames[p->stacks[x].frame];
		if (f->flags & KP_FRAME_ROOT)
			break;
		k->name[n++] = f->name;
	}
}

static int cmp_path(const void *a, const void *b)
{
	const struct path_acc *x = a, *y = b;
	for (int i = 0; i < 3; i++)
		if (x->name[i] != y->name[i])
			return x->name[i] < y->name[i] ? -1 : 1;
	return 0;
}

/* The call path (three function names from the stack point of user_point outward)
 * holding most of value v over the samples that pass want (-1 any, else the marker_of
 * value); *sum gets its value. Frames are per source line, so this merges the stacks
 * that differ only in lines. Returns a stack with that path, or 0. */
static kp_stack_t hottest(const struct kp_profile *p, const struct kr_opts *o, uint32_t v, int want, double *sum)
{
	double *acc = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(double));
	struct path_acc *paths;
	size_t n = 0;
	kp_stack_t best = 0;
	*sum = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (o->keep && !o->keep[i])
			continue;
		kp_stack_t s = p->sample_stack[i];
		if (want >= 0 && marker_of(p, s) != want)
			continue;
		acc[user_point(p, s)] += kp_sample_value(p, i, v);
	}
	paths = xmalloc((p->nstacks ? p->nstacks : 1) * sizeof(*paths));
	for (kp_stack_t s = 0; s < p->nstacks; s++) {
		if (acc[s] <= 0)
			continue;
		path_key(p, s, &paths[n]);
		paths[n++].sum = acc[s];
	}
	qsort(paths, n, sizeof(*paths), cmp_path);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double t = 0;
		while (j < n && !cmp_path(&paths[i], &paths[j]))
			t += paths[j++].sum;
		if (t > *sum) {
			*sum = t;
			best = paths[i].example;
		}
		i = j;
	}
	free(paths);
	free(acc);
	return best;
}

/* "read <- consume <- main": up to three frames from s outward. */
static void describe(const struct kp_profile *p, kp_stack_t s, struct strbuf *out)
{
	struct path_acc k;
	if (!s) {
		strbuf_addstr(out, "[no stack]");
		return;
	}
	path_key(p, s, &k);
	for (int i = 0; i < 3 && k.name[i]; i++) {
		strbuf_addstr(out, i ? " <- " : "");
		strbuf_addstr(out, kp_str_get(p, k.name[i]));
	}
}

void kr_verdict(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *out)
{
	double sum;
	kp_stack_t s;
	if (kr_is_offcpu(p)) {
		struct kr_split sp;
		int vo = kp_find_value_type(p, "off_cpu_ns"), vc = kp_find_value_type(p, "cpu_ns");
		kr_split_sum(p, o, (uint32_t)-1, &sp);
		if (sp.wall <= 0) {
			strbuf_addstr(out, "no time recorded");
			return;
		}
		if (sp.blocked + sp.runnable > sp.running) {
			int runq = sp.runnable > sp.blocked;
			s = hottest(p, o, (uint32_t)vo, runq ? 2 : 1, &sum);
			strbuf_addf(out, "waiting: %.0f%% of wall time %s, mostly in ",
				    pct(runq ? sp.runnable : sp.blocked, sp.wall),
				    runq ? "runnable but waiting for a CPU" : "blocked");
			describe(p, s, out);
			strbuf_addf(out, " (%.0f%%); %.0f%% on the CPU", pct(sum, sp.wall), pct(sp.running, sp.wall));
		} else {
			s = hottest(p, o, (uint32_t)vc, 0, &sum);
			strbuf_addf(out, "CPU-bound: %.0f%% of wall time on the CPU, mostly in ", pct(sp.running, sp.wall));
			describe(p, s, out);
			strbuf_addf(out, " (%.0f%%); %.0f%% blocked, %.0f%% waiting for a CPU", pct(sum, sp.wall),
				    pct(sp.blocked, sp.wall), pct(sp.runnable, sp.wall));
		}
		return;
	}
	double total = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (!o->keep || o->keep[i])
			total += kp_sample_value(p, i, o->value);
	const char *kind = kp_meta_get(p, "kind");
	const char *what = kp_str_get(p, p->value_types[o->value].name);
	if (total <= 0) {
		strbuf_addstr(out, "no samples");
		return;
	}
	s = hottest(p, o, o->value, -1, &sum);
	if (!kind || !strcmp(kind, "cpu"))
		strbuf_addstr(out, "on-CPU profile (waiting not recorded; see --off-cpu): hottest path ");
	else
		strbuf_addf(out, "%s profile: most %s in ", kind, what);
	describe(p, s, out);
	strbuf_addf(out, " (%.1f%% of %s)", pct(sum, total), what);
}

void kr_print_verdict(const struct kp_profile *p, const struct kr_opts *o, FILE *out)
{
	struct strbuf v = STRBUF_INIT;
	kr_verdict(p, o, &v);
	fprintf(out, "%s\n", v.buf);
	strbuf_release(&v);
}

static void fmt_secs(double ns, char *buf, size_t size)
{
	double s = ns / 1e9;
	if (s >= 1 || s == 0)
		snprintf(buf, size, "%.2f s", s);
	else
		snprintf(buf, size, "%.1f ms", s * 1e3);
}

void kr_print_split(const struct kp_profile *p, const struct kr_opts *o, FILE *out)
{
	const char *trunc = kp_meta_get(p, "truncated_stacks");
	if (trunc && strcmp(trunc, "0"))
		fprintf(out, "note: %s stacks could not be unwound to their root (shown under [truncated]; "
			"record with a larger --call-graph dwarf,SIZE)\n", trunc);
	if (!kr_is_offcpu(p))
		return;
	struct kr_split all;
	char w[32], r[32], q[32], b[32];
	kr_split_sum(p, o, (uint32_t)-1, &all);
	fmt_secs(all.wall, w, sizeof(w));
	fmt_secs(all.running, r, sizeof(r));
	fmt_secs(all.runnable, q, sizeof(q));
	fmt_secs(all.blocked, b, sizeof(b));
	size_t intervals = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		intervals += (!o->keep || o->keep[i]) && marker_of(p, p->sample_stack[i]) != 0;
	fprintf(out, "wall time %s (all threads): running %s (%.1f%%), runnable %s (%.1f%%), blocked %s (%.1f%%); "
		"%zu of the samples are off-CPU intervals\n",
		w, r, pct(all.running, all.wall), q, pct(all.runnable, all.wall), b, pct(all.blocked, all.wall),
		intervals);
	fprintf(out, "\n%10s %8s %9s %8s %8s %8s  %s\n", "Wall", "Running", "Runnable", "Blocked", "PID", "TID", "Name");
	uint32_t shown = 0, more = 0;
	for (uint32_t t = 1; t < p->nthreads; t++) {
		struct kr_split s;
		kr_split_sum(p, o, t, &s);
		if (s.wall <= 0)
			continue;
		if (shown >= 20) {
			more++;
			continue;
		}
		fmt_secs(s.wall, w, sizeof(w));
		fprintf(out, "%10s %7.1f%% %8.1f%% %7.1f%% %8d %8d  %s\n", w, pct(s.running, s.wall),
			pct(s.runnable, s.wall), pct(s.blocked, s.wall), p->threads[t].pid, p->threads[t].tid,
			kp_str_get(p, p->threads[t].comm));
		shown++;
	}
	if (more)
		fprintf(out, "(%u more threads)\n", more);
}

void kr_json_verdict(const struct kp_profile *p, const struct kr_opts *o, struct strbuf *sb)
{
	struct strbuf v = STRBUF_INIT;
	kr_verdict(p, o, &v);
	strbuf_addstr(sb, ",\"verdict\":\"");
	strbuf_add_json(sb, v.buf, v.len);
	strbuf_addch(sb, '"');
	strbuf_release(&v);
}

void kr_json_thread_split(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct strbuf *sb)
{
	struct kr_split s;
	if (!kr_is_offcpu(p))
		return;
	kr_split_sum(p, o, thread, &s);
	strbuf_addf(sb, ",\"running_ns\":%.0f,\"runnable_ns\":%.0f,\"blocked_ns\":%.0f", s.running, s.runnable,
		    s.blocked);
}
