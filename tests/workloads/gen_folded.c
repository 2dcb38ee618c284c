/* build: -O2 */
/* gen_folded.c: writes a deterministic synthetic folded-stacks file (for kiln flame's
 * size test and bench/flame.sh).
 *
 *   gen_folded [STACKS [SEED]] > out.folded
 *
 * STACKS unique stacks (default 200000) of depth 3 to 40, random walks through a call
 * tree whose branching is skewed (a few hot children, many cold ones), with function
 * names of realistic length (6000 of them) and skewed counts, sorted like the output
 * of stackcollapse. The default is about 66 MB. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

struct line {
	char *text;
	size_t len;
};

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->text, y->text, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* hash set of stack texts, for uniqueness */
static uint64_t *seen;
static size_t seen_cap;

static int insert_hash(uint64_t h)
{
	size_t i = (size_t)(h & (seen_cap - 1));
	if (!h)
		h = 1;
	while (seen[i]) {
		if (seen[i] == h)
			return 0;
		i = (i + 1) & (seen_cap - 1);
	}
	seen[i] = h;
	return 1;
}

int main(int argc, char **argv)
{
	static const char *words[] = { "alloc", "buffer", "cache", "dispatch", "encode", "flush", "get", "hash",
				       "insert", "json", "key", "lookup", "merge", "node", "open", "parse",
				       "query", "read", "send", "table", "update", "value", "write", "index",
				       "render", "layout", "stream", "socket", "event", "loop", "task", "queue" };
	static const char *spaces[] = { "std::", "net::", "db::", "io::", "", "", "" };
	long stacks = argc > 1 ? atol(argv[1]) : 200000;
	rng_state = argc > 2 ? (uint64_t)atoll(argv[2]) : 42;
	if (stacks < 1 || stacks > 100000000) {
		fprintf(stderr, "usage: gen_folded [STACKS [SEED]]\n");
		return 2;
	}
	enum { NNAMES = 6000 };
	char *names[NNAMES];
	for (int i = 0; i < NNAMES; i++) {
		char buf[128];
		int n = snprintf(buf, sizeof(buf), "%s%s", spaces[rnd() % 7], words[rnd() % 32]);
		if (unit() >= 0.78)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "_%s", words[rnd() % 32]);
		snprintf(buf + n, sizeof(buf) - (size_t)n, "_%d", i);
		names[i] = strdup(buf);
	}
	seen_cap = 1;
	while (seen_cap < (size_t)stacks * 2)
		seen_cap *= 2;
	seen = calloc(seen_cap, sizeof(uint64_t));
	struct line *lines = malloc((size_t)stacks * sizeof(*lines));
	char *buf = malloc(1 << 16);
	if (!seen || !lines || !buf)
		return 1;
	long n = 0;
	while (n < stacks) {
		int depth = 3 + (int)(rnd() % 38);
		uint64_t node = 0, h = 0xcbf29ce484222325ull;
		size_t len = 0;
		for (int d = 0; d < depth; d++) {
			/* skewed choice of child: mostly the first few */
			double e = -2.857 * __builtin_log(1 - unit());
			uint64_t c = e > 400 ? 400 : (uint64_t)e;
			node = (node * 1000003 + c * 7919 + (uint64_t)d + 1) % 1000000007;
			const char *nm = names[node % NNAMES];
			size_t l = strlen(nm);
			if (d)
				buf[len++] = ';';
			memcpy(buf + len, nm, l);
			len += l;
			h = (h ^ node) * 0x100000001b3ull;
		}
		if (!insert_hash(h ^ (uint64_t)depth))
			continue;
		uint64_t count = unit() < 0.9 ? (uint64_t)(1.0 / __builtin_pow(1 - unit(), 1 / 1.2)) : 1 + rnd() % 5000;
		len += (size_t)snprintf(buf + len, 32, " %llu", (unsigned long long)count);
		lines[n].text = malloc(len);
		memcpy(lines[n].text, buf, len);
		lines[n].len = len;
		n++;
	}
	qsort(lines, (size_t)n, sizeof(*lines), cmp_line);
	for (long i = 0; i < n; i++) {
		fwrite(lines[i].text, 1, lines[i].len, stdout);
		putchar('\n');
	}
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
