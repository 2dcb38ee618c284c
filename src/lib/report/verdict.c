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

/* Frames that mean "waiting for a child process": the wait system calls (kernel side)
 * and their libc wrappers. A thread blocked in one of them waits for its own children
 * (wait4, waitid and waitpid only wait for children), whose own time is recorded. */
static const char *const child_wait_names[] = {
	"do_wait", "kernel_wait4", "kernel_waitid", "__do_sys_wait4", "__do_sys_waitid", "__x64_sys_wait4",
	"__x64_sys_waitid", "__se_sys_wait4", "__se_sys_waitid", "__ia32_sys_wait4", "__arm64_sys_wait4",
	"wait4", "__wait4", "waitpid", "__waitpid", "__libc_waitpid", "waitid", "__waitid", "wait", "__wait",
	"__libc_wait",
};

/* Whether stack s (a blocked interval's) waits for children: a wait frame among its
 * kernel frames or its two innermost user frames (the libc wrapper and its caller, so a
 * user function named "wait" far up the stack does not count). memo has nstacks
 * entries: 0 unknown, 1 no, 2 yes. */
static int in_child_wait(const struct kp_profile *p, kp_stack_t s, uint8_t *memo)
{
	int yes = 0, user = 0;
	if (memo[s])
		return memo[s] == 2;
	for (kp_stack_t x = s; x && !yes && user < 2; x = p->stacks[x].parent) {
		const struct kp_frame *f = &p->frames[p->stacks[x].frame];
		if (f->flags & (KP_FRAME_OFFCPU | KP_FRAME_ROOT | KP_FRAME_TRUNCATED))
			continue;
		if (!(f->flags & KP_FRAME_KERNEL))
			user++;
		const char *name = kp_str_get(p, f->name);
		for (size_t i = 0; i < sizeof(child_wait_names) / sizeof(child_wait_names[0]) && !yes; i++)
			yes = !strcmp(name, child_wait_names[i]);
	}
	memo[s] = yes ? 2 : 1;
	return yes;
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
	uint8_t *memo;
	memset(s, 0, sizeof(*s));
	if (!kr_is_offcpu(p))
		return;
	memo = xcalloc(p->nstacks ? p->nstacks : 1, 1);
	for (size_t i = 0; i < p->nsamples; i++) {
		if ((o->keep && !o->keep[i]) || (thread != (uint32_t)-1 && p->sample_thread[i] != thread))
			continue;
		double off = kp_sample_value(p, i, (uint32_t)vo);
		s->running += kp_sample_value(p, i, (uint32_t)vc);
		if (off > 0) {
			int m = marker_of(p, p->sample_stack[i]);
			if (m == 2) {
				s->runnable += off;
			} else {
				s->blocked += off;
				if (m == 1 && in_child_wait(p, p->sample_stack[i], memo))
					s->child_wait += off;
			}
		}
	}
	free(memo);
	s->wall = s->running + s->runnable + s->blocked;
}

/* ---- the run's timeline ---- */

enum { ST_RUN, ST_RUNQ, ST_BLOCK, ST_CHILD };

struct span {
	uint64_t start, end;
	uint32_t thread;
	uint8_t state;
	size_t sample;
	size_t ev_open, ev_close; /* indexes of its events once sorted */
};

struct event {
	uint64_t t;
	uint32_t span;
	uint8_t open;
};

static int cmp_span_thread(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* at one start, the off-CPU interval first (it clips the running span) */
	return (x->state == ST_RUN) - (y->state == ST_RUN);
}

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (int)x->open - (int)y->open; /* closes first */
}

/* The spans of the kept samples: on-CPU samples cover their cpu_ns before their time,
 * clipped to after the thread's last off-CPU interval (a timer period counts CPU time
 * only, so one that ends after a wait began before it); off-CPU ones their length. */
static struct span *make_spans(const struct kp_profile *p, const struct kr_opts *o, size_t *n)
{
	int vc = kp_find_value_type(p, "cpu_ns"), vo = kp_find_value_type(p, "off_cpu_ns");
	struct span *sp = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(*sp));
	uint8_t *memo = xcalloc(p->nstacks ? p->nstacks : 1, 1);
	size_t k = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (o->keep && !o->keep[i])
			continue;
		double cpu = kp_sample_value(p, i, (uint32_t)vc), off = kp_sample_value(p, i, (uint32_t)vo);
		uint64_t t = p->sample_time[i];
		int m = marker_of(p, p->sample_stack[i]);
		struct span *x = &sp[k];
		x->thread = p->sample_thread[i];
		x->sample = i;
		if (m && off > 0) {
			x->start = t;
			x->end = t + (uint64_t)off;
			x->state = m == 2 ? ST_RUNQ : in_child_wait(p, p->sample_stack[i], memo) ? ST_CHILD : ST_BLOCK;
		} else if (!m && cpu > 0) {
			x->end = t;
			x->start = (double)t > cpu ? t - (uint64_t)cpu : 0;
			x->state = ST_RUN;
		} else {
			continue;
		}
		k++;
	}
	free(memo);
	qsort(sp, k, sizeof(*sp), cmp_span_thread);
	uint64_t off_end = 0;
	for (size_t i = 0; i < k; i++) {
		if (i == 0 || sp[i].thread != sp[i - 1].thread)
			off_end = 0;
		if (sp[i].state != ST_RUN) {
			if (sp[i].end > off_end)
				off_end = sp[i].end;
		} else if (sp[i].start < off_end) {
			sp[i].start = off_end < sp[i].end ? off_end : sp[i].end;
		}
	}
	/* drop what clipping emptied (an empty span would close before it opens) */
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (sp[i].end > sp[i].start)
			sp[w++] = sp[i];
	*n = w;
	return sp;
}

void kr_run_timeline(const struct kp_profile *p, const struct kr_opts *o, struct kr_run *r, double *share)
{
	size_t n = 0, ne;
	struct span *sp;
	struct event *ev;
	double *fq, *fb, *fc;
	size_t cnt[4] = { 0, 0, 0, 0 };
	memset(r, 0, sizeof(*r));
	if (share)
		memset(share, 0, p->nsamples * sizeof(*share));
	if (!kr_is_offcpu(p))
		return;
	sp = make_spans(p, o, &n);
	ne = 2 * n;
	ev = xmalloc((ne ? ne : 1) * sizeof(*ev));
	for (size_t i = 0; i < n; i++) {
		ev[2 * i] = (struct event){ sp[i].start, (uint32_t)i, 1 };
		ev[2 * i + 1] = (struct event){ sp[i].end, (uint32_t)i, 0 };
		if (sp[i].state == ST_CHILD)
			r->child_wait += (double)(sp[i].end - sp[i].start);
	}
	qsort(ev, ne, sizeof(*ev), cmp_event);
	/* f*[k]: the integral up to event k's time of 1/(threads waiting alike) over the
	 * moments the run was in that state; a span's share is f[close] - f[open] */
	fq = xcalloc(ne + 1, sizeof(double));
	fb = xcalloc(ne + 1, sizeof(double));
	fc = xcalloc(ne + 1, sizeof(double));
	for (size_t k = 0; k < ne; k++) {
		struct span *x = &sp[ev[k].span];
		if (ev[k].open) {
			x->ev_open = k;
			cnt[x->state]++;
		} else {
			x->ev_close = k;
			cnt[x->state]--;
		}
		fq[k + 1] = fq[k];
		fb[k + 1] = fb[k];
		fc[k + 1] = fc[k];
		if (k + 1 == ne)
			break;
		double d = (double)(ev[k + 1].t - ev[k].t);
		if (d <= 0)
			continue;
		if (cnt[ST_RUN]) {
			r->running += d;
		} else if (cnt[ST_RUNQ]) {
			r->runnable += d;
			fq[k + 1] += d / (double)cnt[ST_RUNQ];
		} else if (cnt[ST_BLOCK]) {
			r->blocked += d;
			fb[k + 1] += d / (double)cnt[ST_BLOCK];
		} else if (cnt[ST_CHILD]) {
			r->child += d;
			fc[k + 1] += d / (double)cnt[ST_CHILD];
		}
	}
	r->wall = r->running + r->runnable + r->blocked + r->child;
	if (share) {
		for (size_t i = 0; i < n; i++) {
			const double *f = sp[i].state == ST_RUNQ ? fq : sp[i].state == ST_BLOCK ? fb :
					  sp[i].state == ST_CHILD ? fc : NULL;
			if (f)
				share[sp[i].sample] = f[sp[i].ev_close] - f[sp[i].ev_open];
		}
	}
	free(fq);
	free(fb);
	free(fc);
	free(ev);
	free(sp);
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
 * holding most of the samples' weight: weight[i] when weight is given, else value v of
 * the samples that pass want (-1 any, else the marker_of value). *sum gets its weight and
 * *comm the process name holding most of it. Frames are per source line, so this merges
 * the stacks that differ only in lines. Returns a stack with that path, or 0. */
static kp_stack_t hottest(const struct kp_profile *p, const struct kr_opts *o, uint32_t v, int want,
			  const double *weight, double *sum, kp_str_t *comm)
{
	double *acc = xcalloc(p->nstacks ? p->nstacks : 1, sizeof(double));
	struct path_acc *paths;
	size_t n = 0;
	kp_stack_t best = 0;
	*sum = 0;
	if (comm)
		*comm = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (o->keep && !o->keep[i])
			continue;
		kp_stack_t s = p->sample_stack[i];
		if (!weight && want >= 0 && marker_of(p, s) != want)
			continue;
		acc[user_point(p, s)] += weight ? weight[i] : kp_sample_value(p, i, v);
	}
	paths = xmalloc((p->nstacks ? p->nstacks : 1) * sizeof(*paths));
	for (kp_stack_t s = 0; s < p->nstacks; s++) {
		if (acc[s] <= 0)
			continue;
		path_key(p, s, &paths[n]);
		paths[n++].sum = acc[s];
	}
	qsort(paths, n, sizeof(*paths), cmp_path);
	struct path_acc bestkey;
	memset(&bestkey, 0, sizeof(bestkey));
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double t = 0;
		while (j < n && !cmp_path(&paths[i], &paths[j]))
			t += paths[j++].sum;
		if (t > *sum) {
			*sum = t;
			best = paths[i].example;
			bestkey = paths[i];
		}
		i = j;
	}
	if (best && comm) {
		/* the process name holding most of the best path */
		double *bycomm = xcalloc(p->strings.nr ? p->strings.nr : 1, sizeof(double));
		for (size_t i = 0; i < p->nsamples; i++) {
			if (o->keep && !o->keep[i])
				continue;
			kp_stack_t s = p->sample_stack[i];
			uint32_t t = p->sample_thread[i];
			if ((!weight && want >= 0 && marker_of(p, s) != want) || !t || !p->threads[t].comm)
				continue;
			struct path_acc k;
			path_key(p, user_point(p, s), &k);
			if (!cmp_path(&k, &bestkey))
				bycomm[p->threads[t].comm] += weight ? weight[i] : kp_sample_value(p, i, v);
		}
		for (kp_str_t c = 1; c < p->strings.nr; c++)
			if (bycomm[c] > bycomm[*comm])
				*comm = c;
		free(bycomm);
	}
	free(paths);
	free(acc);
	return best;
}

/* Whether the kept samples come from threads of more than one name. */
static int several_comms(const struct kp_profile *p, const struct kr_opts *o)
{
	kp_str_t first = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		uint32_t t = p->sample_thread[i];
		if ((o->keep && !o->keep[i]) || !t)
			continue;
		if (!first)
			first = p->threads[t].comm;
		else if (p->threads[t].comm != first)
			return 1;
	}
	return 0;
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
	kp_str_t comm = 0;
	if (kr_is_offcpu(p)) {
		struct kr_run run;
		double *share = xmalloc((p->nsamples ? p->nsamples : 1) * sizeof(double));
		int vc = kp_find_value_type(p, "cpu_ns");
		int named = several_comms(p, o);
		kr_run_timeline(p, o, &run, share);
		if (run.wall <= 0) {
			strbuf_addstr(out, "no time recorded");
			free(share);
			return;
		}
		if (run.blocked + run.runnable + run.child > run.running) {
			/* the run waited: name the largest kind of waiting and its path */
			const char *what = "blocked";
			double t = run.blocked;
			int kind = ST_BLOCK;
			if (run.runnable > t)
				what = "runnable but waiting for a CPU", t = run.runnable, kind = ST_RUNQ;
			if (run.child > t)
				what = "waiting for child processes that were not recorded", t = run.child, kind = ST_CHILD;
			/* the path is the one holding most of that kind of waiting */
			uint8_t *memo = xcalloc(p->nstacks ? p->nstacks : 1, 1);
			for (size_t i = 0; i < p->nsamples; i++) {
				int m = share[i] > 0 ? marker_of(p, p->sample_stack[i]) : 0;
				int k = m == 2 ? ST_RUNQ : m != 1 ? -1 : in_child_wait(p, p->sample_stack[i], memo) ? ST_CHILD : ST_BLOCK;
				if (k != kind)
					share[i] = 0;
			}
			free(memo);
			s = hottest(p, o, 0, -1, share, &sum, &comm);
			strbuf_addf(out, "waiting: %.0f%% of wall time %s, mostly in ", pct(t, run.wall), what);
			describe(p, s, out);
			strbuf_addstr(out, " (");
			if (named && comm)
				strbuf_addf(out, "%s, ", kp_str_get(p, comm));
			strbuf_addf(out, "%.0f%%); %.0f%% on the CPU", pct(sum, run.wall), pct(run.running, run.wall));
		} else {
			struct kr_split sp;
			kr_split_sum(p, o, (uint32_t)-1, &sp);
			s = hottest(p, o, (uint32_t)vc, 0, NULL, &sum, &comm);
			strbuf_addf(out, "CPU-bound: %.0f%% of wall time on the CPU, mostly in ", pct(run.running, run.wall));
			describe(p, s, out);
			strbuf_addstr(out, " (");
			if (named && comm)
				strbuf_addf(out, "%s, ", kp_str_get(p, comm));
			strbuf_addf(out, "%.0f%% of the CPU time); %.0f%% blocked, %.0f%% waiting for a CPU",
				    pct(sum, sp.running), pct(run.blocked + run.child, run.wall), pct(run.runnable, run.wall));
		}
		free(share);
		return;
	}
	double total = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (!o->keep || o->keep[i])
			total += kp_sample_value(p, i, o->value);
	const char *kind = kp_meta_get(p, "kind");
	const struct kp_value_type *vt = &p->value_types[o->value];
	const char *unit = kp_str_get(p, vt->unit);
	/* "samples" only for values that are sample counts */
	const char *what = *unit && strcmp(unit, "count") ? unit : kp_str_get(p, vt->name);
	if (!strcmp(what, "count"))
		what = "the counts"; /* folded text of no stated unit */
	if (total <= 0) {
		strbuf_addf(out, "no %s", !strcmp(what, "samples") ? "samples" : "values");
		return;
	}
	s = hottest(p, o, o->value, -1, NULL, &sum, NULL);
	if (kind && !strcmp(kind, "cpu"))
		strbuf_addstr(out, "on-CPU profile (waiting not recorded; see --off-cpu): hottest path ");
	else if (kind)
		strbuf_addf(out, "%s profile: most %s in ", kind, kp_str_get(p, vt->name));
	else
		strbuf_addstr(out, "hottest path ");
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
		fprintf(out, "note: %s %s could not be unwound to %s root (shown under [truncated]; "
			"record with a larger --call-graph dwarf,SIZE)\n", trunc, strcmp(trunc, "1") ? "stacks" : "stack",
			strcmp(trunc, "1") ? "their" : "its");
	if (!kr_is_offcpu(p))
		return;
	struct kr_split all;
	struct kr_run run;
	char w[32], r[32], q[32], b[32], c[32];
	kr_split_sum(p, o, (uint32_t)-1, &all);
	kr_run_timeline(p, o, &run, NULL);
	fmt_secs(all.wall, w, sizeof(w));
	fmt_secs(all.running, r, sizeof(r));
	fmt_secs(all.runnable, q, sizeof(q));
	fmt_secs(all.blocked - all.child_wait, b, sizeof(b));
	fmt_secs(all.child_wait, c, sizeof(c));
	size_t intervals = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		intervals += (!o->keep || o->keep[i]) && marker_of(p, p->sample_stack[i]) != 0;
	fprintf(out, "wall time %s (all threads): running %s (%.1f%%), runnable %s (%.1f%%), blocked %s (%.1f%%)",
		w, r, pct(all.running, all.wall), q, pct(all.runnable, all.wall), b,
		pct(all.blocked - all.child_wait, all.wall));
	if (all.child_wait > 0)
		fprintf(out, ", waiting for child processes %s (%.1f%%)", c, pct(all.child_wait, all.wall));
	fprintf(out, "; %zu of the samples are off-CPU intervals\n", intervals);
	fmt_secs(run.wall, w, sizeof(w));
	fprintf(out, "the run over %s of wall time: something on the CPU %.1f%%, else waiting for a CPU %.1f%%, "
		"else all blocked %.1f%%", w, pct(run.running, run.wall), pct(run.runnable, run.wall),
		pct(run.blocked, run.wall));
	if (run.child > 0)
		fprintf(out, ", else waiting for unrecorded children %.1f%%", pct(run.child, run.wall));
	fputc('\n', out);
	fprintf(out, "\n%10s %8s %9s %8s %9s %8s %8s  %s\n", "Wall", "Running", "Runnable", "Blocked", "Children", "PID",
		"TID", "Name");
	uint32_t shown = 0, more = 0;
	for (uint32_t t = 1; t < p->nthreads; t++) {
		struct kr_split sp;
		kr_split_sum(p, o, t, &sp);
		if (sp.wall <= 0)
			continue;
		if (shown >= 20) {
			more++;
			continue;
		}
		fmt_secs(sp.wall, w, sizeof(w));
		fprintf(out, "%10s %7.1f%% %8.1f%% %7.1f%% %8.1f%% %8d %8d  %s\n", w, pct(sp.running, sp.wall),
			pct(sp.runnable, sp.wall), pct(sp.blocked - sp.child_wait, sp.wall), pct(sp.child_wait, sp.wall),
			p->threads[t].pid, p->threads[t].tid, kp_str_get(p, p->threads[t].comm));
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
	if (kr_is_offcpu(p)) {
		struct kr_run r;
		kr_run_timeline(p, o, &r, NULL);
		strbuf_addf(sb, ",\"run\":{\"wall_ns\":%.0f,\"running_ns\":%.0f,\"runnable_ns\":%.0f,\"blocked_ns\":%.0f,"
			    "\"child_ns\":%.0f,\"child_wait_ns\":%.0f}", r.wall, r.running, r.runnable, r.blocked, r.child,
			    r.child_wait);
	}
}

void kr_json_thread_split(const struct kp_profile *p, const struct kr_opts *o, uint32_t thread, struct strbuf *sb)
{
	struct kr_split s;
	if (!kr_is_offcpu(p))
		return;
	kr_split_sum(p, o, thread, &s);
	strbuf_addf(sb, ",\"running_ns\":%.0f,\"runnable_ns\":%.0f,\"blocked_ns\":%.0f,\"child_wait_ns\":%.0f",
		    s.running, s.runnable, s.blocked, s.child_wait);
}
