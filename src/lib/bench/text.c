/* text.c: kiln bench's human output (see text.h). */
#include "bench/text.h"
#include "stats/units.h"
#include "util/strbuf.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

size_t kb_text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_ctl(*p))
			w += *p == '\n' || *p == '\t' || *p == '\r' ? 2 : 4;
		else if ((*p & 0xC0) != 0x80)
			w++;
	}
	return w;
}

void kb_text_add_name(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			strbuf_addstr(sb, "\\n");
		else if (*p == '\t')
			strbuf_addstr(sb, "\\t");
		else if (*p == '\r')
			strbuf_addstr(sb, "\\r");
		else if (is_ctl(*p))
			strbuf_addf(sb, "\\x%02x", *p);
		else
			strbuf_addch(sb, (char)*p);
	}
}

void kb_text_pad(struct strbuf *sb, const char *s, size_t width)
{
	size_t w = kb_text_width(s);
	kb_text_add_name(sb, s);
	for (; w < width; w++)
		strbuf_addch(sb, ' ');
}

/* right-aligned */
static void rpad(struct strbuf *sb, const char *s, size_t width)
{
	for (size_t w = kb_text_width(s); w < width; w++)
		strbuf_addch(sb, ' ');
	strbuf_addstr(sb, s);
}

int kb_text_names_fit(const struct kb_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (kb_text_width(r[i].name) > KB_TEXT_NAME_COLS)
			return 0;
		for (const unsigned char *p = (const unsigned char *)r[i].name; *p; p++)
			if (is_ctl(*p))
				return 0;
	}
	return 1;
}

char *kb_text_p(char *buf, size_t len, double p)
{
	if (p < 0.0001)
		snprintf(buf, len, "< 0.0001");
	else
		snprintf(buf, len, "%.4f", p);
	return buf;
}

void kb_text_result(struct strbuf *sb, const struct kb_result *r, size_t index)
{
	char a[32], b[32], d[32], e[32], f[32];
	strbuf_addf(sb, "Benchmark #%zu: ", index + 1);
	kb_text_add_name(sb, r->name);
	strbuf_addch(sb, '\n');
	ks_fmt_duration(a, sizeof(a), r->s.mean);
	ks_fmt_duration_as(b, sizeof(b), r->s.stddev, r->s.mean);
	ks_fmt_duration(d, sizeof(d), r->mean_user);
	ks_fmt_duration(e, sizeof(e), r->mean_sys);
	strbuf_addf(sb, "  Time (mean ± σ):     %10s ± %9s    [User: %s, System: %s]\n", a, b, d, e);
	ks_fmt_duration_as(a, sizeof(a), r->s.min, r->s.mean);
	ks_fmt_duration_as(b, sizeof(b), r->s.max, r->s.mean);
	strbuf_addf(sb, "  Range (min … max):   %10s … %9s    %zu runs", a, b, r->n);
	if (r->outliers)
		strbuf_addf(sb, ", %zu outlier%s", r->outliers, r->outliers > 1 ? "s" : "");
	strbuf_addch(sb, '\n');
	ks_fmt_duration_as(a, sizeof(a), r->s.median, r->s.mean);
	ks_fmt_duration_as(b, sizeof(b), r->s.p95, r->s.mean);
	ks_fmt_duration_as(d, sizeof(d), r->s.p99, r->s.mean);
	strbuf_addf(sb, "  Median, p95, p99:    %10s, %s, %s\n", a, b, d);
	if (r->ci.bounded) {
		ks_fmt_duration_as(a, sizeof(a), r->ci.lo, r->s.mean);
		ks_fmt_duration_as(b, sizeof(b), r->ci.hi, r->s.mean);
		strbuf_addf(sb, "  95%% CI of the mean:  %10s … %9s    (± %.2f%%)\n", a, b,
			    r->s.mean > 0 ? 100 * (r->ci.hi - r->s.mean) / r->s.mean : 0.0);
	}
	if (r->median_ci.bounded) {
		ks_fmt_duration_as(a, sizeof(a), r->median_ci.lo, r->s.mean);
		ks_fmt_duration_as(b, sizeof(b), r->median_ci.hi, r->s.mean);
		strbuf_addf(sb, "  95%% CI of the median: %9s … %9s    (± %.2f%%)\n", a, b,
			    r->s.median > 0 ? 100 * fmax(r->median_ci.hi - r->s.median,
							 r->s.median - r->median_ci.lo) / r->s.median : 0.0);
	}
	ks_fmt_bytes(f, sizeof(f), r->max_rss);
	if (r->rss_upper_bound)
		strbuf_addf(sb, "  Peak RSS:          ≤ %8s    (no larger than kiln itself: not measurable exactly)\n", f);
	else
		strbuf_addf(sb, "  Peak RSS:            %10s\n", f);
	for (size_t k = 0; k < r->ncounters; k++) {
		const struct kb_counter_series *s = &r->counters[k];
		size_t cnt = 0;
		double sum = 0;
		if (!s->supported) {
			strbuf_addf(sb, "  %-20s %10s\n", s->name, "not supported");
			continue;
		}
		for (size_t j = 0; j < r->n; j++)
			if (!isnan(s->v[j]))
				cnt++, sum += s->v[j];
		if (!cnt) {
			strbuf_addf(sb, "  %-20s %10s\n", s->name, "not counted");
			continue;
		}
		ks_fmt_count(a, sizeof(a), sum / (double)cnt);
		strbuf_addf(sb, "  %-20s %10s%s\n", s->name, a, s->scaled ? "   (scaled: multiplexed)" : "");
	}
	strbuf_addstr(sb, " \n");
}

/* "lo … hi" (sep between) with 3 decimals, more when a bound other than 1 would print as
 * 1.000: an interval that excludes 1 must not look as if it touched it. */
static void fmt_ci(char *buf, size_t len, const struct ks_interval *ci, const char *sep)
{
	int d = 3;
	char one[32], lo[32], hi[32];
	for (;; d++) {
		snprintf(one, sizeof(one), "%.*f", d, 1.0);
		snprintf(lo, sizeof(lo), "%.*f", d, ci->lo);
		snprintf(hi, sizeof(hi), "%.*f", d, ci->hi);
		if (d >= 6 || ((ci->lo == 1 || strcmp(lo, one)) && (ci->hi == 1 || strcmp(hi, one))))
			break;
	}
	snprintf(buf, len, "%s%s%s", lo, sep, hi);
}

static const char *verdict_text(const struct kb_comparison *c)
{
	if (!c->valid)
		return "cannot tell";
	return c->verdict > 0 ? "slower" : c->verdict < 0 ? "faster" : "no significant difference";
}

/* "#2" or "#2 'name'" (names that fit) into buf. */
static void who(struct strbuf *sb, const struct kb_result *r, size_t i, int names)
{
	strbuf_addf(sb, "#%zu", i + 1);
	if (names) {
		strbuf_addstr(sb, " '");
		kb_text_add_name(sb, r[i].name);
		strbuf_addch(sb, '\'');
	}
}

static void fmt_level(char *buf, size_t len, double alpha)
{
	snprintf(buf, len, "%.4g%%", 100 * (1 - alpha));
}

static void sentence(struct strbuf *sb, const struct kb_result *r, const struct kb_comparison *x,
		     int names, const struct kb_baseline *base)
{
	char p[32], lv[16];
	const struct kb_result *a = &r[x->result];
	kb_text_p(p, sizeof(p), x->p);
	fmt_level(lv, sizeof(lv), x->alpha);
	strbuf_addstr(sb, "  ");
	who(sb, r, x->result, names);
	if (x->verdict) {
		strbuf_addf(sb, " is %.2f× %s than ", x->verdict > 0 ? x->ratio : 1 / x->ratio,
			    x->verdict > 0 ? "slower" : "faster");
	} else {
		strbuf_addstr(sb, " vs ");
	}
	if (base) {
		strbuf_addstr(sb, "its baseline '");
		kb_text_add_name(sb, base->path);
		strbuf_addch(sb, '\'');
	} else {
		who(sb, r, x->ref_result, names);
	}
	if (!x->verdict)
		strbuf_addf(sb, ": no significant difference (ratio %.3f, ", x->ratio);
	else
		strbuf_addstr(sb, " (");
	if (x->ci.bounded) {
		char ci[80];
		fmt_ci(ci, sizeof(ci), &x->ci, "–");
		strbuf_addf(sb, "%s CI %s, ", lv, ci);
	} else
		strbuf_addf(sb, "%s CI unbounded, ", lv);
	strbuf_addf(sb, "p %s%s)", x->p < 0.0001 ? "" : "= ", p);
	if (!x->verdict) {
		size_t nb = base ? 0 : r[x->ref_result].n;
		if (base) {
			const struct kb_baseline_entry *e = kb_baseline_find(base, a->name);
			nb = e ? e->n : 0;
		}
		if (isfinite(x->resolution))
			strbuf_addf(sb, ": with %zu and %zu runs only a difference beyond ±%.1f%% could show",
				    a->n, nb, 100 * x->resolution);
		else
			strbuf_addf(sb, ": %zu and %zu runs are too few or too noisy to show any difference",
				    a->n, nb);
		if (a->n < 30 && (!isfinite(x->resolution) || x->resolution > 0.05))
			strbuf_addstr(sb, "; more runs (-m) would narrow it");
	}
	strbuf_addch(sb, '\n');
}

void kb_text_comparisons(struct strbuf *sb, const struct kb_result *r, size_t n,
			 const struct kb_comparison *cmp, size_t ncmp, size_t ref, int fixed_ref,
			 const struct kb_baseline *base)
{
	int names = kb_text_names_fit(r, n);
	size_t lw = 1, nw = 7, cw = 15;
	char a[32], b[32], p[32], ci[80], lbl[32], lv[16];
	double alpha = ncmp ? cmp[0].alpha : 0.05;
	int seq = ncmp && cmp[0].test == KB_TEST_SEQUENTIAL;
	if (!ncmp)
		return;
	fmt_level(lv, sizeof(lv), alpha);
	for (size_t k = 0; k < ncmp; k++) {
		if (cmp[k].valid && cmp[k].ci.bounded) {
			fmt_ci(ci, sizeof(ci), &cmp[k].ci, " … ");
			if (kb_text_width(ci) > cw)
				cw = kb_text_width(ci);
		}
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(lbl, sizeof(lbl), "#%zu", i + 1);
		if (strlen(lbl) > lw)
			lw = strlen(lbl);
		if (names && kb_text_width(r[i].name) > nw)
			nw = kb_text_width(r[i].name);
	}
	if (base) {
		strbuf_addstr(sb, "Against baseline '");
		kb_text_add_name(sb, base->path);
		strbuf_addf(sb, "' (ratio of means now / baseline, %s CI, Welch's t-test):\n", lv);
	} else {
		strbuf_addf(sb, "Comparison (reference: %s", fixed_ref ? "" : "the fastest, ");
		who(sb, r, ref, names);
		strbuf_addf(sb, "; %s, %s CI, %s", seq ? "ratio: median over the rounds" : "ratio of means", lv,
			    seq ? "anytime-valid sign test" : "Welch's t-test");
		if (ncmp > 1)
			strbuf_addf(sb, ", level shared by %s",
				    fixed_ref ? "the comparisons" : "all pairs");
		strbuf_addstr(sb, "):\n");
	}
	/* header */
	strbuf_addstr(sb, "  ");
	kb_text_pad(sb, "#", lw);
	if (names) {
		strbuf_addstr(sb, "  ");
		kb_text_pad(sb, "Command", nw);
	}
	if (base)
		strbuf_addf(sb, "  %10s  %10s", "Baseline", "Now");
	else
		strbuf_addf(sb, "  %10s", "Mean");
	snprintf(ci, sizeof(ci), "%s CI", lv);
	strbuf_addf(sb, "  %6s  ", "Ratio");
	kb_text_pad(sb, ci, cw);
	strbuf_addf(sb, "  %-9s  %s\n", "p", "Verdict");
	if (!base) {
		snprintf(lbl, sizeof(lbl), "#%zu", ref + 1);
		strbuf_addstr(sb, "  ");
		kb_text_pad(sb, lbl, lw);
		if (names) {
			strbuf_addstr(sb, "  ");
			kb_text_pad(sb, r[ref].name, nw);
		}
		ks_fmt_duration(a, sizeof(a), r[ref].s.mean);
		strbuf_addstr(sb, "  ");
		rpad(sb, a, 10);
		strbuf_addf(sb, "  %6s  %s\n", "1.000", "reference");
	}
	for (size_t k = 0; k < ncmp; k++) {
		const struct kb_comparison *x = &cmp[k];
		const struct kb_result *res = &r[x->result];
		snprintf(lbl, sizeof(lbl), "#%zu", x->result + 1);
		strbuf_addstr(sb, "  ");
		kb_text_pad(sb, lbl, lw);
		if (names) {
			strbuf_addstr(sb, "  ");
			kb_text_pad(sb, res->name, nw);
		}
		if (base) {
			const struct kb_baseline_entry *e = kb_baseline_find(base, res->name);
			ks_fmt_duration(b, sizeof(b), e ? e->mean : 0);
			strbuf_addstr(sb, "  ");
			rpad(sb, b, 10);
		}
		ks_fmt_duration(a, sizeof(a), res->s.mean);
		strbuf_addstr(sb, "  ");
		rpad(sb, a, 10);
		if (x->valid && x->ci.bounded)
			fmt_ci(ci, sizeof(ci), &x->ci, " … ");
		else
			snprintf(ci, sizeof(ci), "unbounded");
		kb_text_p(p, sizeof(p), x->valid ? x->p : 1);
		if (x->valid)
			strbuf_addf(sb, "  %6.*f  ", x->ratio < 10 ? 3 : x->ratio < 100 ? 2 : x->ratio < 1000 ? 1 : 0,
				    x->ratio);
		else
			strbuf_addf(sb, "  %6s  ", "-");
		kb_text_pad(sb, ci, cw);
		strbuf_addf(sb, "  %-9s  %s\n", p, verdict_text(x));
	}
	/* the sentences a reader takes away */
	for (size_t k = 0; k < ncmp; k++)
		if (cmp[k].valid)
			sentence(sb, r, &cmp[k], names, base);
	if (!names) {
		for (size_t i = 0; i < n; i++) {
			snprintf(lbl, sizeof(lbl), "#%zu:", i + 1);
			strbuf_addstr(sb, "  ");
			kb_text_pad(sb, lbl, lw + 1);
			strbuf_addch(sb, ' ');
			kb_text_add_name(sb, r[i].name);
			strbuf_addch(sb, '\n');
		}
	}
	strbuf_addstr(sb, " \n");
}

static void add_duration(struct strbuf *sb, double s)
{
	char d[32];
	strbuf_addstr(sb, ks_fmt_duration(d, sizeof(d), s));
}

static double worst_halfwidth(const struct kb_result *r, size_t n)
{
	double w = 0;
	for (size_t i = 0; i < n; i++)
		w = fmax(w, kb_rel_halfwidth(&r[i]));
	return w;
}

/* What ended one group of results that stopped together. */
static void ending(struct strbuf *sb, const struct kb_run_config *cfg, const struct kb_result *r,
		   size_t n, const struct kb_comparison *cmp, size_t ncmp, int names)
{
	int stop = r[0].stop;
	double hw;
	switch (stop) {
	case KB_STOP_SETTLED:
		strbuf_addstr(sb, "settled: ");
		if (ncmp == 1 && cmp[0].valid && cmp[0].verdict) {
			char p[32], a[32];
			who(sb, r - 0, cmp[0].result, names);
			strbuf_addf(sb, " is %.2f× %s than ", cmp[0].verdict > 0 ? cmp[0].ratio : 1 / cmp[0].ratio,
				    cmp[0].verdict > 0 ? "slower" : "faster");
			who(sb, r, cmp[0].ref_result, names);
			kb_text_p(p, sizeof(p), cmp[0].p);
			snprintf(a, sizeof(a), "%g", cmp[0].alpha);
			strbuf_addf(sb, " (p %s%s ≤ %s)", cmp[0].p < 0.0001 ? "" : "= ", p, a);
		} else {
			strbuf_addf(sb, "all %zu comparisons are significant (each at level %.3g)", ncmp,
				    ncmp ? cmp[0].alpha : cfg->alpha);
		}
		break;
	case KB_STOP_PRECISION:
		if (n > 1 && cfg->interleave)
			strbuf_addf(sb, "precision met: every comparison%s within ±%g%%",
				    ncmp > 1 ? " settled or its CI" : "'s CI", 100 * cfg->precision);
		else
			strbuf_addf(sb, "precision met: the median's 95%% CI within ±%g%%", 100 * cfg->precision);
		break;
	case KB_STOP_MAX_TIME:
		strbuf_addstr(sb, "stopped by --max-time (");
		add_duration(sb, cfg->max_time);
		strbuf_addstr(sb, n > 1 ? " per command)" : ")");
		break;
	case KB_STOP_MAX_RUNS:
		strbuf_addf(sb, "stopped by --max-runs (%ld)", cfg->max_runs);
		break;
	case KB_STOP_RUNS:
		strbuf_addf(sb, "--runs %ld made", cfg->runs);
		break;
	default:
		strbuf_addstr(sb, "not measured");
		return;
	}
	strbuf_addf(sb, ", after %zu run%s%s in ", r[0].n, r[0].n == 1 ? "" : "s", n > 1 ? " each" : "");
	add_duration(sb, r[0].seconds);
	if (n > 1 && cfg->interleave) {
		hw = 0;
		for (size_t k = 0; k < ncmp; k++)
			hw = fmax(hw, cmp[k].valid ? cmp[k].resolution : INFINITY);
	} else {
		hw = worst_halfwidth(r, n);
	}
	if ((stop == KB_STOP_MAX_TIME || stop == KB_STOP_MAX_RUNS) && !isnan(hw)) {
		if (isinf(hw))
			strbuf_addstr(sb, "; too few runs to know the precision");
		else
			strbuf_addf(sb, "; precision ±%.2f%%", 100 * hw);
		strbuf_addf(sb, ", not the ±%g%% target", 100 * cfg->precision);
		if (n > 1 && cfg->interleave)
			strbuf_addstr(sb, ", and not settled");
	} else if (stop == KB_STOP_PRECISION && n > 1 && cfg->interleave && ncmp == 1) {
		strbuf_addstr(sb, "; not settled: no significant difference at that precision");
	}
}

void kb_text_ending(struct strbuf *sb, const struct kb_run_config *cfg, const struct kb_result *r,
		    size_t n, const struct kb_comparison *cmp, size_t ncmp)
{
	int names = kb_text_names_fit(r, n);
	if (!n)
		return;
	strbuf_addstr(sb, "Ended: ");
	if (cfg->interleave || n == 1) {
		ending(sb, cfg, r, n, cmp, ncmp, names);
	} else {
		for (size_t i = 0; i < n; i++) {
			strbuf_addstr(sb, i ? "; #" : "#");
			strbuf_addf(sb, "%zu ", i + 1);
			ending(sb, cfg, &r[i], 1, NULL, 0, 0);
		}
	}
	strbuf_addch(sb, '\n');
}
