/* formats_gen.c: writes a synthetic kiln profile for bench/formats.sh: N samples (default
 * 1,000,000) of 4 threads over 20,000 distinct stacks of depth 5 to 40 through a skewed call
 * tree of 5,000 functions in 8 modules, with times 1 ms apart per thread and two values
 * (samples, cpu_ns), like a long kiln record. Deterministic.
 *
 *   formats_gen OUT.prof [N [STACKS [THREADS]]]
 *
 * With many STACKS and THREADS most (stack, thread) pairs differ, so a pprof export keeps
 * nearly every sample (bench/formats.sh uses it for a ~100 MB pprof). */
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

int main(int argc, char **argv)
{
	struct kp_profile p;
	size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	enum { NFUNC = 5000 };
	unsigned NSTACK = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 20000;
	unsigned NTHREAD = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 4;
	int hot = argc <= 3;
	kp_frame_t *funcs = malloc(NFUNC * sizeof(*funcs));
	kp_stack_t *stacks = malloc(NSTACK * sizeof(*stacks));
	uint32_t *threads = malloc(NTHREAD * sizeof(*threads));
	char name[64], mod[64];
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	kp_add_value_type(&p, "cpu_ns", "nanoseconds");
	kp_meta_set(&p, "kind", "cpu");
	kp_meta_set(&p, "frequency", "1000");
	for (unsigned i = 0; i < NFUNC; i++) {
		struct kp_frame f = { 0 };
		snprintf(name, sizeof(name), "ns%u::Component%u::method_%u", i % 37, i % 211, i);
		snprintf(mod, sizeof(mod), "/usr/lib/x86_64-linux-gnu/libmod%u.so", i % 8);
		f.name = kp_strz(&p, name);
		f.module = kp_strz(&p, mod);
		f.file = kp_strz(&p, "src/component.cc");
		f.line = 10 + i % 900;
		f.addr = 0x1000 + (uint64_t)i * 64;
		funcs[i] = kp_frame(&p, &f);
	}
	for (unsigned s = 0; s < NSTACK; s++) {
		unsigned depth = 5 + rnd(36);
		kp_stack_t st = 0;
		unsigned f = rnd(4);
		for (unsigned d = 0; d < depth; d++) {
			/* a call tree with skewed branching: each function calls one of a few
			 * children mostly, of many rarely; stacks share their outer frames */
			f = (f * 31 + (rnd(4) ? rnd(3) : rnd(24)) * 7 + d) % NFUNC;
			st = kp_stack_push(&p, st, funcs[f]);
		}
		stacks[s] = st;
	}
	for (unsigned t = 0; t < NTHREAD; t++) {
		snprintf(name, sizeof(name), "worker-%u", t);
		threads[t] = kp_add_thread(&p, 1000, 1000 + (int)t, name);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned s = hot && rnd(8) ? rnd(NSTACK / 50) : rnd(NSTACK); /* hot stacks */
		double v[2] = { 1, 1000000 };
		kp_add_sample(&p, stacks[s], threads[rnd(NTHREAD)], (uint64_t)(i / NTHREAD) * 1000000, v);
	}
	int rc = kp_profile_save(&p, argv[1]);
	kp_profile_release(&p);
	free(funcs);
	free(stacks);
	free(threads);
	return rc ? 1 : 0;
}
