/* lock_report.c: views of a lock result (see lock_report.h). */
#include "lock/lock_report.h"
#include "stats/units.h"
#include "util/strbuf.h"
#include <string.h>

static const char *dur(char *b, size_t n, double ns)
{
	return ks_fmt_duration(b, n, ns / 1e9);
}

static const char *cnt(char *b, size_t n, double v)
{
	return ks_fmt_count(b, n, v);
}

static const char *what_name(int what)
{
	return what == LOCK_WAIT ? "wait" : what == LOCK_HOLD ? "hold" : "cond_wait";
}

static void text_stack(const struct kp_profile *p, kp_stack_t s, const char *indent, struct strbuf *out)
{
	kp_frame_t fr[128];
	uint32_t d = kp_stack_frames(p, s, fr, 128);
	if (!s) {
		strbuf_addf(out, "%s[unknown stack]\n", indent);
		return;
	}
	if (d > 128)
		d = 128;
	for (uint32_t k = d; k-- > 0;) {
		const struct kp_frame *f = &p->frames[fr[k]];
		strbuf_addf(out, "%s%s", indent, kp_str_get(p, f->name));
		if (f->file && f->line) {
			const char *file = kp_str_get(p, f->file), *b = strrchr(file, '/');
			strbuf_addf(out, " (%s:%u)", b ? b + 1 : file, f->line);
		}
		strbuf_addch(out, '\n');
	}
}

void lock_report_text(const struct lock_result *r, size_t top, size_t nstacks, struct strbuf *out)
{
	char a[32], b[32], c[32], d[32];
	uint64_t acq = 0, cont = 0, wait = 0;
	for (size_t i = 0; i < r->nlocks; i++) {
		acq += r->locks[i].acquisitions;
		cont += r->locks[i].contended;
		wait += r->locks[i].wait_ns;
	}
	strbuf_addf(out, "%zu lock%s, %s acquisitions, %s contended (%.1f%%), total wait %s, in %.2f s\n", r->nlocks,
		    r->nlocks == 1 ? "" : "s", cnt(a, sizeof(a), (double)acq), cnt(b, sizeof(b), (double)cont),
		    acq ? 100.0 * (double)cont / (double)acq : 0.0, dur(c, sizeof(c), (double)wait), r->seconds);
	if (r->dropped)
		strbuf_addf(out, "warning: %s operations on more locks or stacks than the tables hold were not counted\n",
			    cnt(a, sizeof(a), (double)r->dropped));
	for (size_t i = 0; i < r->nlocks && (!top || i < top); i++) {
		const struct lock_info *l = &r->locks[i];
		strbuf_addf(out, "\n%s  [pid %d, 0x%llx]\n", l->name, l->pid, (unsigned long long)l->addr);
		strbuf_addf(out, "  acquisitions %s", cnt(a, sizeof(a), (double)l->acquisitions));
		if (l->read_acquisitions)
			strbuf_addf(out, " (%s shared)", cnt(b, sizeof(b), (double)l->read_acquisitions));
		if (l->contended)
			strbuf_addf(out, "   contended %s (%.1f%%)   wait %s (max %s)\n", cnt(b, sizeof(b), (double)l->contended),
				    100.0 * (double)l->contended / (double)(l->acquisitions ? l->acquisitions : 1),
				    dur(c, sizeof(c), (double)l->wait_ns), dur(d, sizeof(d), (double)l->wait_max));
		else
			strbuf_addstr(out, "   never contended\n");
		strbuf_addf(out, "  hold %s%s (max %s, mean %s)", l->hold_timed < l->acquisitions ? "~" : "",
			    dur(a, sizeof(a), (double)l->hold_ns),
			    dur(b, sizeof(b), (double)l->hold_max),
			    dur(c, sizeof(c), l->acquisitions ? (double)l->hold_ns / (double)l->acquisitions : 0));
		if (l->cond_waits)
			strbuf_addf(out, "   condition waits %s (%s)", cnt(d, sizeof(d), (double)l->cond_waits),
				    dur(a, sizeof(a), (double)l->cond_wait_ns));
		if (l->timeouts)
			strbuf_addf(out, "   timed out %s", cnt(d, sizeof(d), (double)l->timeouts));
		strbuf_addch(out, '\n');
		for (int what = LOCK_WAIT; what <= LOCK_COND; what++) {
			size_t shown = 0;
			for (size_t k = 0; k < l->nsites && shown < nstacks; k++) {
				const struct lock_site *s = &l->sites[k];
				if (s->what != what)
					continue;
				if (!shown)
					strbuf_addf(out, "  %s:\n", what == LOCK_WAIT   ? "waited longest"
								    : what == LOCK_HOLD ? "held longest"
											: "condition waits");
				strbuf_addf(out, "    %s in %s (max %s)\n", dur(a, sizeof(a), (double)s->total_ns),
					    cnt(b, sizeof(b), (double)s->count), dur(c, sizeof(c), (double)s->max_ns));
				text_stack(&r->prof, s->stack, "      ", out);
				shown++;
			}
		}
	}
}

static void json_str(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	strbuf_add_json(out, s, strlen(s));
	strbuf_addch(out, '"');
}

static void json_stack(const struct kp_profile *p, kp_stack_t s, struct strbuf *out)
{
	kp_frame_t fr[128];
	uint32_t d = s ? kp_stack_frames(p, s, fr, 128) : 0;
	if (d > 128)
		d = 128;
	strbuf_addch(out, '[');
	for (uint32_t k = d; k-- > 0;) {
		json_str(out, kp_str_get(p, p->frames[fr[k]].name));
		if (k)
			strbuf_addstr(out, ", ");
	}
	strbuf_addch(out, ']');
}

void lock_report_json(const struct lock_result *r, struct strbuf *out)
{
	strbuf_addstr(out, "{\"locks\": [");
	for (size_t i = 0; i < r->nlocks; i++) {
		const struct lock_info *l = &r->locks[i];
		strbuf_addstr(out, i ? ",\n  {\"lock\": " : "\n  {\"lock\": ");
		json_str(out, l->name);
		strbuf_addf(out,
			    ", \"kind\": \"%s\", \"pid\": %d, \"address\": \"0x%llx\", \"acquisitions\": %llu, "
			    "\"read_acquisitions\": %llu, \"contended\": %llu, \"wait_ns\": %llu, \"wait_max_ns\": %llu, "
			    "\"hold_ns\": %llu, \"hold_max_ns\": %llu, \"cond_waits\": %llu, \"cond_wait_ns\": %llu, "
			    "\"timeouts\": %llu, \"hold_timed\": %llu, \"created\": ",
			    lock_kind_name(l->kind), l->pid, (unsigned long long)l->addr,
			    (unsigned long long)l->acquisitions, (unsigned long long)l->read_acquisitions,
			    (unsigned long long)l->contended, (unsigned long long)l->wait_ns,
			    (unsigned long long)l->wait_max, (unsigned long long)l->hold_ns,
			    (unsigned long long)l->hold_max, (unsigned long long)l->cond_waits,
			    (unsigned long long)l->cond_wait_ns, (unsigned long long)l->timeouts,
			    (unsigned long long)l->hold_timed);
		json_stack(&r->prof, l->created, out);
		strbuf_addstr(out, ", \"stacks\": [");
		for (size_t k = 0; k < l->nsites; k++) {
			const struct lock_site *s = &l->sites[k];
			strbuf_addf(out, "%s{\"what\": \"%s\", \"count\": %llu, \"%s\": %llu, \"max_ns\": %llu, \"stack\": ",
				    k ? ", " : "", what_name(s->what), (unsigned long long)s->count,
				    s->what == LOCK_WAIT ? "wait_ns" : s->what == LOCK_HOLD ? "hold_ns" : "cond_wait_ns",
				    (unsigned long long)s->total_ns, (unsigned long long)s->max_ns);
			json_stack(&r->prof, s->stack, out);
			strbuf_addch(out, '}');
		}
		strbuf_addstr(out, "]}");
	}
	strbuf_addf(out, "\n], \"seconds\": %.6f, \"processes\": %u, \"dropped\": %llu, \"hold_threshold_ns\": %llu}\n",
		    r->seconds, r->processes, (unsigned long long)r->dropped, (unsigned long long)r->hold_threshold_ns);
}
