/* plan.c: expanding kiln bench's command templates over parameters (see plan.h). */
#include "bench/plan.h"
#include "collect/cmdrun.h"
#include "util/error.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) KILN_PRINTF(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void kb_param_release(struct kb_param *p)
{
	for (size_t k = 0; k < p->n; k++)
		free(p->values[k]);
	free(p->values);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

int kb_param_split(const char *var, const char *list, struct kb_param *p, char *err, size_t errlen)
{
	const char *s = list;
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(var);
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (!len)
			return fail(err, errlen, "'-L %s' has an empty value in '%s'", var, list);
		if (p->n >= KB_MAX_PARAM_VALUES)
			return fail(err, errlen, "'-L %s' has more than %d values", var, KB_MAX_PARAM_VALUES);
		p->values = xreallocarray(p->values, p->n + 1, sizeof(char *));
		p->values[p->n++] = xstrndup(s, len);
		if (!comma)
			break;
		s = comma + 1;
	}
	return 0;
}

static int decimals_of(const char *s)
{
	const char *dot = strchr(s, '.');
	int n = 0;
	if (!dot)
		return 0;
	for (dot++; *dot >= '0' && *dot <= '9'; dot++)
		n++;
	return n;
}

int kb_param_scan(const char *var, const char *min, const char *max, const char *step_s,
		  struct kb_param *p, char *err, size_t errlen)
{
	double lo, hi, step = 1;
	long l;
	int dec;
	size_t count;
	memset(p, 0, sizeof(*p));
	if (kiln_parse_double(min, &lo) < 0)
		return fail(err, errlen, "'-P %s': the minimum '%s' is not a number", var, min);
	if (kiln_parse_double(max, &hi) < 0)
		return fail(err, errlen, "'-P %s': the maximum '%s' is not a number", var, max);
	if (step_s) {
		if (kiln_parse_double(step_s, &step) < 0 || step <= 0)
			return fail(err, errlen, "'-D' needs a positive step, not '%s'", step_s);
	} else if (kiln_parse_long(min, -1000000000L, 1000000000L, &l) < 0 ||
		   kiln_parse_long(max, -1000000000L, 1000000000L, &l) < 0) {
		return fail(err, errlen, "'-P %s %s %s': decimal bounds need a step: add '-D DELTA'",
			    var, min, max);
	}
	if (lo > hi)
		return fail(err, errlen, "'-P %s %s %s' is an empty range: the minimum is above the maximum",
			    var, min, max);
	if ((hi - lo) / step + 1 > KB_MAX_PARAM_VALUES)
		return fail(err, errlen, "'-P %s %s %s' gives more than %d values; use a larger step (-D)",
			    var, min, max, KB_MAX_PARAM_VALUES);
	count = (size_t)floor((hi - lo) / step + 1e-9) + 1;
	dec = decimals_of(min);
	if (step_s && decimals_of(step_s) > dec)
		dec = decimals_of(step_s);
	if (decimals_of(max) > dec)
		dec = decimals_of(max);
	p->name = xstrdup(var);
	p->values = xcalloc(count, sizeof(char *));
	for (size_t i = 0; i < count; i++) {
		double v = lo + (double)i * step;
		if (dec == 0 && fabs(v) < 0.5)
			v = 0; /* no "-0" */
		p->values[i] = xasprintf("%.*f", dec, v);
	}
	p->n = count;
	return 0;
}

char *kb_substitute(const char *tmpl, const struct kb_param *ps, size_t np, const size_t *idx)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = tmpl;
	while (*s) {
		int done = 0;
		if (*s == '{') {
			for (size_t k = 0; k < np; k++) {
				size_t len = strlen(ps[k].name);
				if (!strncmp(s + 1, ps[k].name, len) && s[1 + len] == '}') {
					strbuf_addstr(&sb, ps[k].values[idx[k]]);
					s += len + 2;
					done = 1;
					break;
				}
			}
		}
		if (!done)
			strbuf_addch(&sb, *s++);
	}
	return strbuf_detach(&sb, NULL);
}

char **kb_command_argv(char *const *shell_words, const char *line)
{
	char **argv;
	size_t n = 0;
	if (!shell_words)
		return kc_split_words(line);
	while (shell_words[n])
		n++;
	argv = xcalloc(n + 3, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		argv[i] = xstrdup(shell_words[i]);
	argv[n] = xstrdup("-c");
	argv[n + 1] = xstrdup(line);
	return argv;
}

void kb_benches_free(struct kb_bench *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kb_result_release(&b[i].r);
		kc_argv_free(b[i].argv);
		free(b[i].prepare);
		free(b[i].conclude);
		free(b[i].setup);
		free(b[i].cleanup);
		kc_counters_release(&b[i].cs);
	}
	free(b);
}

static int check_spec(const struct kb_plan_spec *s, const struct kb_param *ps, size_t np,
		      size_t *combos, char *err, size_t errlen)
{
	*combos = 1;
	for (size_t k = 0; k < np; k++) {
		for (size_t j = 0; j < k; j++)
			if (!strcmp(ps[j].name, ps[k].name))
				return fail(err, errlen, "parameter '%s' is given twice", ps[k].name);
		if (*combos * ps[k].n > KB_MAX_PARAM_VALUES)
			return fail(err, errlen, "the parameters give more than %d combinations", KB_MAX_PARAM_VALUES);
		*combos *= ps[k].n;
	}
	if (s->nnames > s->ncommands)
		return fail(err, errlen, "%zu command names for %zu commands", s->nnames, s->ncommands);
	if (s->nprepare > 1 && s->nprepare != s->ncommands)
		return fail(err, errlen, "'--prepare' given %zu times for %zu commands: give it once, or once per command",
			    s->nprepare, s->ncommands);
	if (s->nconclude > 1 && s->nconclude != s->ncommands)
		return fail(err, errlen, "'--conclude' given %zu times for %zu commands: give it once, or once per command",
			    s->nconclude, s->ncommands);
	for (size_t k = 0; k < np; k++) {
		char *tok = xasprintf("{%s}", ps[k].name);
		int used = 0;
		for (size_t t = 0; t < s->ncommands; t++)
			used |= strstr(s->commands[t], tok) != NULL;
		if (!used)
			kiln_warn("parameter '%s' does not appear as '%s' in any command", ps[k].name, tok);
		free(tok);
	}
	return 0;
}

/* Fills b for template t (is_ref: the --reference command) at parameter combination idx. */
static int fill_bench(const struct kb_plan_spec *s, struct kb_bench *b, int is_ref, size_t ti,
		      const struct kb_param *ps, size_t npar, const size_t *idx)
{
	const char *tmpl = is_ref ? s->reference : s->commands[ti];
	const char *name_t = !is_ref && ti < s->nnames ? s->names[ti] : NULL;
	const char *prep = !is_ref && s->nprepare ? s->prepare[s->nprepare > 1 ? ti : 0] :
			   is_ref && s->nprepare == 1 ? s->prepare[0] : NULL;
	const char *conc = !is_ref && s->nconclude ? s->conclude[s->nconclude > 1 ? ti : 0] :
			   is_ref && s->nconclude == 1 ? s->conclude[0] : NULL;
	b->r.command = kb_substitute(tmpl, ps, npar, idx);
	b->r.name = name_t ? kb_substitute(name_t, ps, npar, idx) : xstrdup(b->r.command);
	b->prepare = prep ? kb_substitute(prep, ps, npar, idx) : NULL;
	b->conclude = conc ? kb_substitute(conc, ps, npar, idx) : NULL;
	b->setup = s->setup ? kb_substitute(s->setup, ps, npar, idx) : NULL;
	b->cleanup = s->cleanup ? kb_substitute(s->cleanup, ps, npar, idx) : NULL;
	if (npar) {
		b->r.nparams = npar;
		b->r.param_names = xcalloc(npar, sizeof(char *));
		b->r.param_values = xcalloc(npar, sizeof(char *));
		for (size_t q = 0; q < npar; q++) {
			b->r.param_names[q] = xstrdup(ps[q].name);
			b->r.param_values[q] = xstrdup(ps[q].values[idx[q]]);
		}
	}
	b->argv = kb_command_argv(s->shell_words, b->r.command);
	return b->argv ? 0 : -1;
}

int kb_plan_build(const struct kb_plan_spec *s, struct kb_bench **out, size_t *nout,
		  char *err, size_t errlen)
{
	struct kb_param scan;
	const struct kb_param *ps = NULL;
	size_t np = 0, combos = 1, nb, bi = 0, *idx = NULL;
	struct kb_bench *b = NULL;
	int ret = -1, have_scan = 0;
	*out = NULL;
	*nout = 0;
	err[0] = '\0';
	memset(&scan, 0, sizeof(scan));
	if (s->scan_step && !s->scan_var)
		return fail(err, errlen, "'-D' needs '-P' (a parameter scan)");
	if (s->scan_var && s->nlists)
		return fail(err, errlen, "'-P' and '-L' cannot be combined");
	if (s->scan_var) {
		if (kb_param_scan(s->scan_var, s->scan_min, s->scan_max, s->scan_step, &scan, err, errlen) < 0)
			goto out;
		have_scan = 1;
		ps = &scan;
		np = 1;
	} else if (s->nlists) {
		ps = s->lists;
		np = s->nlists;
	}
	if (check_spec(s, ps, np, &combos, err, errlen) < 0)
		goto out;
	nb = (s->reference ? 1 : 0) + s->ncommands * combos;
	b = xcalloc(nb, sizeof(*b));
	idx = xcalloc(np ? np : 1, sizeof(size_t));
	for (size_t t = 0; t < s->ncommands + (s->reference ? 1 : 0); t++) {
		int is_ref = s->reference && t == 0;
		size_t ti = s->reference ? t - 1 : t, npar = is_ref ? 0 : np;
		memset(idx, 0, (np ? np : 1) * sizeof(size_t));
		for (size_t k = 0; k < (is_ref ? 1 : combos); k++) {
			if (fill_bench(s, &b[bi++], is_ref, ti, ps, npar, idx) < 0)
				goto out; /* printed */
			for (size_t q = npar; q-- > 0;) { /* next combination: last parameter fastest */
				if (++idx[q] < ps[q].n)
					break;
				idx[q] = 0;
			}
		}
	}
	/* results are matched by name (baselines, exports): keep names unique */
	for (size_t i = 0; i < nb; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(b[i].r.name, b[j].r.name) && b[i].r.nparams == 0) {
				char *nm = xasprintf("%s (%zu)", b[i].r.name, i + 1);
				free(b[i].r.name);
				b[i].r.name = nm;
				break;
			}
	*out = b;
	*nout = nb;
	b = NULL;
	ret = 0;
out:
	if (b)
		kb_benches_free(b, bi);
	free(idx);
	if (have_scan)
		kb_param_release(&scan);
	return ret;
}
