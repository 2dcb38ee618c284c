/* annotate_gen.c: writes a synthetic kiln profile for bench/annotate.sh: N samples
 * (default 1,000,000) of 4 threads over 20,000 stacks of depth 5 to 40 through 2,000
 * functions in 4 modules, each function's frames at 16 lines of 4 addresses each (as kiln
 * record stores them: one frame per sampled address, with its file:line), and the function
 * "hot_kernel" on about a third of the stacks, at several depths. Deterministic.
 *
 *   annotate_gen OUT.prof [N] */
#include "profile/profile.h"
#include "profile/profile_io.h"
#include <stdio.h>
#include <stdlib.h>

static unsigned long long rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

enum { NFUNC = 2000, NLINE = 16, NADDR = 4, NSTACK = 20000, NTHREAD = 4 };

int main(int argc, char **argv)
{
	struct kp_profile p;
	size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	kp_frame_t *frames = malloc((size_t)NFUNC * NLINE * NADDR * sizeof(*frames));
	kp_stack_t *stacks = malloc(NSTACK * sizeof(*stacks));
	uint32_t threads[NTHREAD];
	char name[64], mod[64], file[64];
	if (argc < 2 || !frames || !stacks)
		return 2;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	kp_meta_set(&p, "kind", "cpu");
	for (unsigned i = 0; i < NFUNC; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "hot_kernel");
		else
			snprintf(name, sizeof(name), "ns%u::Part%u::step_%u", i % 37, i % 211, i);
		snprintf(mod, sizeof(mod), "/usr/lib/x86_64-linux-gnu/libpart%u.so", i % 4);
		snprintf(file, sizeof(file), "/src/part%u.cc", i % 50);
		for (unsigned l = 0; l < NLINE; l++)
			for (unsigned a = 0; a < NADDR; a++) {
				struct kp_frame f = { 0 };
				f.name = kp_strz(&p, name);
				f.module = kp_strz(&p, mod);
				f.file = kp_strz(&p, file);
				f.line = 100 + (i % 40) * 30 + l;
				f.addr = 0x10000 + (uint64_t)i * 1024 + l * 32 + a * 4;
				frames[(i * NLINE + l) * NADDR + a] = kp_frame(&p, &f);
			}
	}
	for (unsigned s = 0; s < NSTACK; s++) {
		unsigned depth = 5 + rnd(36);
		kp_stack_t st = 0;
		unsigned f = rnd(4);
		for (unsigned d = 0; d < depth; d++) {
			f = (f * 31 + (rnd(4) ? rnd(3) : rnd(24)) * 7 + d) % NFUNC;
			unsigned fn = (s % 3 == 0 && (d == depth - 1 || d == depth / 2)) ? 0 : f;
			/* the hot line of a function is its 4th; the rest spread */
			unsigned l = rnd(3) ? 3 : rnd(NLINE), a = rnd(NADDR);
			st = kp_stack_push(&p, st, frames[(fn * NLINE + l) * NADDR + a]);
		}
		stacks[s] = st;
	}
	for (unsigned t = 0; t < NTHREAD; t++) {
		snprintf(name, sizeof(name), "worker-%u", t);
		threads[t] = kp_add_thread(&p, 1000, 1000 + (int)t, name);
	}
	for (size_t i = 0; i < n; i++) {
		double v = 1;
		unsigned s = rnd(8) ? rnd(NSTACK / 50) : rnd(NSTACK);
		kp_add_sample(&p, stacks[s], threads[rnd(NTHREAD)], (uint64_t)(i / NTHREAD) * 1000000, &v);
	}
	int rc = kp_profile_save(&p, argv[1]);
	kp_profile_release(&p);
	free(frames);
	free(stacks);
	return rc ? 1 : 0;
}
