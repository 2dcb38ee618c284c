/* heap_suppress.c: leak suppressions (see heap_suppress.h). */
#include "heap/heap_suppress.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built-in rules. "@site:" rules are kiln's own, narrower than LeakSanitizer's: the
 * pattern must match the allocation site (the first frame) and, after '|', another
 * pattern some frame of the stack. */
static const struct {
	const char *rule, *desc;
} builtin[] = {
	/* glibc's stdio: the buffer of stdout, stderr or a stream, kept until exit */
	{ "@site:_IO_file_doallocate", "stdio stream buffers" },
	/* libstdc++'s emergency exception-handling pool, made by its initializer */
	{ "@site:libstdc++.so|^_dl_init$", "libstdc++ emergency exception pool" },
};

static void add_rule(struct heap_supp *s, const char *pat, size_t len, const char *origin, int builtin_rule)
{
	struct heap_supp_rule *r;
	ALLOC_GROW(s->rules, s->n + 1, s->alloc);
	r = &s->rules[s->n++];
	memset(r, 0, sizeof(*r));
	r->pattern = xstrndup(pat, len);
	r->origin = xstrdup(origin);
	r->builtin = builtin_rule;
}

void heap_supp_init(struct heap_supp *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		add_rule(s, builtin[i].rule, strlen(builtin[i].rule), "built-in", 1);
		s->rules[s->n - 1].desc = builtin[i].desc;
	}
}

void heap_supp_release(struct heap_supp *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rules[i].pattern);
		free(s->rules[i].origin);
	}
	free(s->rules);
	free(s->memo);
	memset(s, 0, sizeof(*s));
}

int heap_supp_add_text(struct heap_supp *s, const char *text, const char *origin)
{
	unsigned line = 0;
	const char *p = text;
	while (*p) {
		const char *end = strchr(p, '\n'), *a = p, *b;
		if (!end)
			end = p + strlen(p);
		line++;
		b = end;
		while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (a < b && *a != '#') {
			const char *colon = memchr(a, ':', (size_t)(b - a));
			char where[512];
			snprintf(where, sizeof(where), "%s:%u", origin, line);
			if (!colon || colon - a != 4 || memcmp(a, "leak", 4))
				return kiln_error("%s: '%.*s' is not a leak suppression; write 'leak:PATTERN' "
						  "(LeakSanitizer's format)",
						  where, (int)(b - a), a);
			if (colon + 1 == b)
				return kiln_error("%s: 'leak:' needs a pattern, as in 'leak:my_pool_alloc'", where);
			add_rule(s, colon + 1, (size_t)(b - colon - 1), where, 0);
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int heap_supp_add_file(struct heap_supp *s, const char *path, char **text_out)
{
	FILE *f = fopen(path, "r");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	int rc;
	if (text_out)
		*text_out = NULL;
	if (!f)
		return kiln_error("cannot read suppressions '%s': %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		strbuf_release(&sb);
		return kiln_error("cannot read suppressions '%s': %s", path, strerror(e));
	}
	fclose(f);
	if (memchr(sb.buf, '\0', sb.len)) {
		strbuf_release(&sb);
		return kiln_error("'%s' is not a suppressions file (it holds binary data); write 'leak:PATTERN' lines",
				  path);
	}
	rc = heap_supp_add_text(s, sb.buf, path);
	if (rc == 0 && text_out)
		*text_out = strbuf_detach(&sb, NULL);
	strbuf_release(&sb);
	return rc;
}

/* Does the piece pat[0..len) occur in the rest of the name, *from on? Moves *from past it. */
static int find_piece(const char **from, const char *pat, size_t len, int at_start, int at_end)
{
	size_t nl = strlen(*from);
	if (at_end) {
		if (nl < len || memcmp(*from + nl - len, pat, len))
			return 0;
		if (at_start && nl != len)
			return 0;
		*from += nl;
		return 1;
	}
	if (at_start) {
		if (nl < len || memcmp(*from, pat, len))
			return 0;
		*from += len;
		return 1;
	}
	{
		const char *q = memmem(*from, nl, pat, len);
		if (!q)
			return 0;
		*from = q + len;
		return 1;
	}
}

int heap_supp_template_match(const char *pattern, const char *name)
{
	const char *p = pattern, *from = name;
	size_t plen = strlen(pattern);
	int anchor_start = 0, anchor_end = 0;
	if (!name)
		return 0;
	if (plen && p[0] == '^') {
		anchor_start = 1;
		p++;
		plen--;
	}
	if (plen && p[plen - 1] == '$') {
		anchor_end = 1;
		plen--;
	}
	/* pieces between '*': each found in order, the first at the start when anchored,
	 * the last at the end when anchored */
	for (int first = 1;; first = 0) {
		const char *star = memchr(p, '*', plen);
		size_t len = star ? (size_t)(star - p) : plen;
		int last = !star;
		if (len && !find_piece(&from, p, len, first && anchor_start, last && anchor_end))
			return 0;
		if (!len && last && first && anchor_start && anchor_end && *from)
			return 0; /* "^$": only the empty name */
		if (last)
			return 1;
		plen -= len + 1;
		p = star + 1;
	}
}

static const char *str_of(const struct kp_profile *p, kp_str_t s)
{
	return s ? kp_str_get(p, s) : NULL;
}

static int frame_matches(const struct kp_profile *p, kp_frame_t f, const char *pat)
{
	const struct kp_frame *fr = &p->frames[f];
	return heap_supp_template_match(pat, str_of(p, fr->name)) ||
	       heap_supp_template_match(pat, str_of(p, fr->module)) || heap_supp_template_match(pat, str_of(p, fr->file));
}

/* frame_matches through the memo m (NULL: none) of one pattern. */
static int frame_matches_m(const struct kp_profile *p, kp_frame_t f, const char *pat, unsigned char *m)
{
	int r;
	if (m && m[f])
		return m[f] - 1;
	r = frame_matches(p, f, pat);
	if (m)
		m[f] = (unsigned char)(r + 1);
	return r;
}

/* Does rule r suppress stack st? The stack is walked from its allocation site (the
 * innermost frame) out to the root, however deep: no frame is left out. m: the
 * rule's two memos (its site pattern's, then its other pattern's), or NULL. */
static int rule_matches(const struct heap_supp_rule *r, const struct kp_profile *p, kp_stack_t st, unsigned char *m)
{
	unsigned char *m_site = m, *m_any = m ? m + p->nframes : NULL;
	if (!st)
		return 0;
	if (!strncmp(r->pattern, "@site:", 6)) {
		/* kiln's built-in form: the allocation site (innermost frame), then '|' and a
		 * pattern any frame must match */
		char site[256];
		const char *bar = strchr(r->pattern + 6, '|');
		size_t n = bar ? (size_t)(bar - r->pattern - 6) : strlen(r->pattern + 6);
		if (n >= sizeof(site))
			return 0;
		memcpy(site, r->pattern + 6, n);
		site[n] = '\0';
		if (!frame_matches_m(p, p->stacks[st].frame, site, m_site))
			return 0;
		if (!bar)
			return 1;
		for (kp_stack_t s = st; s; s = p->stacks[s].parent)
			if (frame_matches_m(p, p->stacks[s].frame, bar + 1, m_any))
				return 1;
		return 0;
	}
	for (kp_stack_t s = st; s; s = p->stacks[s].parent)
		if (frame_matches_m(p, p->stacks[s].frame, r->pattern, m_any))
			return 1;
	return 0;
}

int heap_supp_match(struct heap_supp *s, const struct kp_profile *p, kp_stack_t st)
{
	if (s->memo_p != p || s->memo_rules != s->n || s->memo_frames != p->nframes ||
	    s->memo_strings != p->strings.nr) {
		free(s->memo);
		s->memo = xcalloc(s->n ? s->n : 1, 2 * (size_t)(p->nframes ? p->nframes : 1));
		s->memo_p = p;
		s->memo_rules = s->n;
		s->memo_frames = p->nframes;
		s->memo_strings = p->strings.nr;
	}
	for (size_t i = 0; i < s->n; i++)
		if (rule_matches(&s->rules[i], p, st, s->memo + i * 2 * (size_t)p->nframes))
			return (int)i;
	return -1;
}

void heap_supp_apply(struct heap_supp *s, const struct kp_profile *p, double *leaked_count, double *leaked_bytes,
		     double *count, double *bytes)
{
	*count = *bytes = 0;
	for (kp_stack_t st = 1; st < p->nstacks; st++) {
		int r;
		if (leaked_count[st] == 0 && leaked_bytes[st] == 0)
			continue;
		r = heap_supp_match(s, p, st);
		if (r < 0)
			continue;
		s->rules[r].count += leaked_count[st];
		s->rules[r].bytes += leaked_bytes[st];
		*count += leaked_count[st];
		*bytes += leaked_bytes[st];
		leaked_count[st] = 0;
		leaked_bytes[st] = 0;
	}
}
