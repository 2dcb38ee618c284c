/* test_sym_fde.c: function boundaries from unwind tables (sym_fde.c) for a stripped
 * program, and the DW_AT_producer test for unoptimised code. callers3_strip and
 * callers3_O2 are the same code (-s and -g change no instruction), so callers3_O2's
 * symbols say where callers3_strip's functions start. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "profile/profile.h"
#include "symbols/symbols.h"
#include "symbols/sym_internal.h"
#include "util/strbuf.h"

#include "unit.h"

static const char *build_dir(void)
{
	const char *b = getenv("BUILD");
	return b && *b ? b : "build";
}

/* The absolute path of a workload (mappings name files by absolute path). */
static int workload(const char *name, char *out)
{
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s/workloads/%s", build_dir(), name);
	return realpath(rel, out) ? 0 : -1;
}

/* The address of symbol name in the ELF file prog (from nm), or 0. */
static uint64_t nm_addr(const char *prog, const char *name)
{
	char cmd[PATH_MAX + 64], line[512];
	uint64_t found = 0;
	snprintf(cmd, sizeof(cmd), "nm '%s'", prog);
	FILE *f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, sym[400];
		if (sscanf(line, "%llx %c %399s", &a, &type, sym) == 3 && !strcmp(sym, name))
			found = a;
	}
	pclose(f);
	return found;
}

/* Where the tests map the stripped program, as one mapping from its start. */
#define STRIP_BIAS 0x40000000ull

/* A session (with or without line data) where pid maps the stripped program strip at
 * STRIP_BIAS, and an empty profile p for its frames. */
static struct ks_session *strip_session(int no_lines, int pid, const char *strip, struct kp_profile *p)
{
	struct ks_options o = { .no_lines = no_lines };
	struct ks_session *s = ks_session_new(&o);
	kp_profile_init(p);
	ks_mmap_elf(s, pid, STRIP_BIAS, 0x100000, STRIP_BIAS, strip, NULL, 0, PROT_READ | PROT_EXEC);
	return s;
}

/* Resolves byte off of function fn (its address from nm of named) in the stripped
 * program mapped at bias for pid: one frame, named "callers3_strip+0xSTART" (START
 * being fn's address), flagged NOSYM; its id. */
static kp_frame_t expect_fde_named(struct ks_session *s, struct kp_profile *p, int pid, uint64_t bias,
				   const char *named, const char *fn, uint64_t off)
{
	uint64_t a = nm_addr(named, fn);
	assert_true(a != 0);
	kp_frame_t out[8];
	assert_int_equal(ks_resolve(s, p, pid, bias + a + off, 0, out, 8), 1);
	const struct kp_frame *f = &p->frames[out[0]];
	char want[64];
	snprintf(want, sizeof(want), "callers3_strip+0x%llx", (unsigned long long)a);
	assert_string_equal(kp_str_get(p, f->name), want);
	assert_true(f->flags & KP_FRAME_NOSYM);
	assert_false(f->flags & KP_FRAME_UNKNOWN);
	return out[0];
}

static void test_stripped_functions_stay_apart(void **state)
{
	(void)state;
	char strip[PATH_MAX], named[PATH_MAX];
	if (workload("callers3_strip", strip) != 0 || workload("callers3_O2", named) != 0)
		skip();
	static const char *const fns[] = { "leaf", "from_a", "from_b", "from_c", "drive" };
	/* without line data (as the heap profiler resolves): one frame per function */
	struct kp_profile p;
	struct ks_session *s = strip_session(1, 4242, strip, &p);
	const uint64_t bias = STRIP_BIAS;
	kp_frame_t ids[5];
	for (int i = 0; i < 5; i++) {
		/* an address inside the function (its second byte), then another one: the
		 * same frame, whose address is 0 (one frame per function, not per address) */
		ids[i] = expect_fde_named(s, &p, 4242, bias, named, fns[i], 1);
		assert_int_equal(p.frames[ids[i]].addr, 0);
		assert_int_equal(expect_fde_named(s, &p, 4242, bias, named, fns[i], 3), ids[i]);
	}
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			assert_int_not_equal(ids[i], ids[j]);
	kp_profile_release(&p);
	ks_session_free(s);

	/* with line data (kiln record's default): the same names, each frame keeping its
	 * address in the ELF (kiln annotate --asm shows the instructions of stripped code) */
	s = strip_session(0, 4242, strip, &p);
	for (int i = 0; i < 5; i++) {
		kp_frame_t id = expect_fde_named(s, &p, 4242, bias, named, fns[i], 1);
		assert_int_equal(p.frames[id].addr, nm_addr(named, fns[i]) + 1);
	}
	kp_profile_release(&p);
	ks_session_free(s);
}

static void test_bounds_and_no_fde(void **state)
{
	(void)state;
	char strip[PATH_MAX], named[PATH_MAX];
	if (workload("callers3_strip", strip) != 0 || workload("callers3_O2", named) != 0)
		skip();
	struct kp_profile p;
	struct ks_session *s = strip_session(0, 7, strip, &p);
	kp_frame_t out[4];
	uint64_t a = nm_addr(named, "leaf"), b = nm_addr(named, "from_a");
	assert_true(a && b);
	ks_resolve(s, &p, 7, STRIP_BIAS + a, 0, out, 4);
	/* the module is open now: its FDE range is the function's */
	struct ks_module *m = NULL;
	for (uint32_t i = 0; i < s->mods_size && !m; i++)
		for (struct ks_module *x = s->mods[i]; x; x = x->next_hash)
			if (strstr(x->path, "callers3_strip"))
				m = x;
	assert_non_null(m);
	uint64_t start, end;
	assert_int_equal(ks_fde_bounds(m, a + 2, &start, &end), 0);
	assert_int_equal(start, a);
	assert_true(end > a + 2 && end <= (a < b ? b : UINT64_MAX));
	/* the ELF header is no function: no FDE, no name */
	assert_int_equal(ks_fde_bounds(m, 0x10, &start, &end), -1);
	assert_null(ks_fde_name(s, m, 0x10));
	kp_profile_release(&p);
	ks_session_free(s);
}

/* crt's functions have no FDE (crtbegin.o is built without unwind tables), and every
 * program runs __do_global_dtors_aux at exit (a sample in __cxa_finalize below it was
 * named "[callers3_strip]"): each is named after its own start, which the ELF gives
 * (the fini and init arrays, DT_INIT, DT_FINI) or the end of the function before it. */
static void test_functions_without_fde(void **state)
{
	(void)state;
	char strip[PATH_MAX], named[PATH_MAX];
	if (workload("callers3_strip", strip) != 0 || workload("callers3_O2", named) != 0)
		skip();
	struct kp_profile p;
	struct ks_session *s = strip_session(1, 9, strip, &p);
	const uint64_t bias = STRIP_BIAS;
	static const char *const fns[] = { "__do_global_dtors_aux", "frame_dummy", "_init", "_fini",
					   "deregister_tm_clones" };
	kp_frame_t ids[5];
	for (int i = 0; i < 5; i++) /* an address inside each (its fifth byte) */
		ids[i] = expect_fde_named(s, &p, 9, bias, named, fns[i], 4);
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			assert_int_not_equal(ids[i], ids[j]);
	kp_profile_release(&p);
	ks_session_free(s);
}

static void test_producer(void **state)
{
	(void)state;
	assert_true(ks_producer_unoptimized("GNU C17 12.2.0 -mtune=generic -march=x86-64 -g -O0"));
	assert_true(ks_producer_unoptimized("GNU C17 12.2.0 -mtune=generic -march=x86-64 -g"));
	assert_true(ks_producer_unoptimized("GNU C17 12.2.0 -O2 -g -O0"));
	assert_false(ks_producer_unoptimized("GNU C17 12.2.0 -mtune=generic -march=x86-64 -g -O2"));
	assert_false(ks_producer_unoptimized("GNU C17 12.2.0 -O0 -O2"));
	assert_false(ks_producer_unoptimized("GNU C++17 12.2.0 -g -Os"));
	assert_false(ks_producer_unoptimized("GNU C17 12.2.0 -g -Og"));
	assert_false(ks_producer_unoptimized("GNU C17 12.2.0 -O0foo -O3"));
	/* no flags recorded: unknown, never called unoptimised */
	assert_false(ks_producer_unoptimized("Debian clang version 14.0.6"));
	assert_false(ks_producer_unoptimized("clang LLVM (rustc version 1.63.0)"));
	assert_false(ks_producer_unoptimized("GNU AS 2.40")); /* assembly: libc's memcmp */
	assert_true(ks_producer_unoptimized("GNU C++17 12.2.0 -mtune=generic -g"));
	assert_true(ks_producer_unoptimized("GNU Fortran2008 12.2.0 -O0"));
	assert_false(ks_producer_unoptimized(NULL));
	assert_false(ks_producer_unoptimized(""));
}

/* the package of a file, from dpkg's file lists (symbols/sym_pkg.c) */
static void test_dpkg_packages(void **state)
{
	(void)state;
	if (access("/var/lib/dpkg/info/xz-utils.list", R_OK) != 0)
		skip();
	const char *paths[] = { "/usr/bin/xz", "/nonexistent/xz", "/usr/bin/no-such-program" };
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(ks_dpkg_packages(paths, 3, &sb), 1);
	assert_string_equal(sb.buf, "xz-utils /usr/bin/xz\n");
	strbuf_release(&sb);
	assert_int_equal(ks_dpkg_packages(paths + 1, 2, &sb), 0);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stripped_functions_stay_apart),
		cmocka_unit_test(test_bounds_and_no_fde),
		cmocka_unit_test(test_functions_without_fde),
		cmocka_unit_test(test_producer),
		cmocka_unit_test(test_dpkg_packages),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
