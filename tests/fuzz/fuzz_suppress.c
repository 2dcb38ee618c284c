/* fuzz_suppress: leak suppressions files in LeakSanitizer's format (heap/heap_suppress.c,
 * as kiln heap --suppressions and kiln report --suppressions read them), then every rule
 * matched against names taken from the input and against a small profile. Each match is
 * checked against a plain glob matcher: '*' any run of characters, the pattern found
 * anywhere unless '^' anchors its start or '$' its end. */
#include "fuzz.h"
#include "heap/heap_suppress.h"

/* Does glob g[0..gl) ('*' only) match all of s? Iterative, with one backtrack point. */
static int glob_full(const char *g, size_t gl, const char *s)
{
	size_t gi = 0, si = 0, star = (size_t)-1, mark = 0, sl = strlen(s);
	while (si < sl) {
		if (gi < gl && g[gi] == '*') {
			star = gi++;
			mark = si;
		} else if (gi < gl && g[gi] == s[si]) {
			gi++;
			si++;
		} else if (star != (size_t)-1) {
			gi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (gi < gl && g[gi] == '*')
		gi++;
	return gi == gl;
}

/* LeakSanitizer's template match, by the glob: "*" + core + "*" without the anchors. */
static int reference(const char *pat, const char *name)
{
	size_t pl = strlen(pat);
	int start = 0, end = 0;
	if (pl && pat[0] == '^') {
		start = 1;
		pat++;
		pl--;
	}
	if (pl && pat[pl - 1] == '$') {
		end = 1;
		pl--;
	}
	char *g = malloc(pl + 3);
	size_t n = 0;
	if (!g)
		abort();
	if (!start)
		g[n++] = '*';
	memcpy(g + n, pat, pl);
	n += pl;
	if (!end)
		g[n++] = '*';
	int m = glob_full(g, n, name);
	free(g);
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct heap_supp s;
	struct kp_profile p;
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	heap_supp_init(&s);
	size_t builtin = s.n;
	if (heap_supp_add_file(&s, fuzz_file(data, size), NULL) == 0) {
		/* names: every line of the input (the patterns themselves among them) */
		kp_profile_init(&p);
		kp_stack_t st = 0;
		for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			char *name = strndup(line, len > 200 ? 200 : len);
			if (!name)
				abort();
			for (size_t r = builtin; r < s.n; r++)
				if (heap_supp_template_match(s.rules[r].pattern, name) !=
				    reference(s.rules[r].pattern, name))
					abort();
			if (st < 400) /* a stack of the names, each frame a name */
				st = kp_stack_push(&p, st, kp_frame_named(&p, name, strlen(name), 0));
			free(name);
		}
		for (kp_stack_t i = 0; i < p.nstacks; i++) {
			int r = heap_supp_match(&s, &p, i);
			if (r < -1 || r >= (int)s.n)
				abort();
		}
		kp_profile_release(&p);
	}
	heap_supp_release(&s);
	free(text);
	return 0;
}
