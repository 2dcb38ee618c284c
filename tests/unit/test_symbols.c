/* test_symbols.c: the symbols library: address spaces, ELF symbols, demangling, DWARF
 * lines and inlining, kernel symbols, [vdso], JIT maps and the caches, against real
 * programs (tests/workloads/sym_*.c, this process, libc). Unwinding is tested in
 * test_symbols_unwind.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/perf_regs.h>
#include "profile/profile.h"
#include "symbols/symbols.h"
#include "symbols/sym_internal.h"
#include "util/error.h"

#include "unit.h"

/* ---- helpers ---- */
static const char *build_dir(void)
{
	const char *b = getenv("BUILD");
	return b && *b ? b : "build";
}

static int workload_path(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/workloads/%s", build_dir(), name);
	return access(out, X_OK);
}

struct child {
	pid_t pid;
	FILE *out;
	int in_fd;
	char lines[64][256];
	int nlines;
};

/* Starts prog with argv, reads its lines up to "ready". */
static int spawn_ready(const char *prog, const char *arg, struct child *c)
{
	int inp[2], outp[2];
	if (pipe(inp) != 0 || pipe(outp) != 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		close(inp[1]);
		close(outp[0]);
		execl(prog, prog, arg, (char *)NULL);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	c->in_fd = inp[1];
	c->out = fdopen(outp[0], "r");
	c->nlines = 0;
	char line[256];
	while (fgets(line, sizeof(line), c->out)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "ready") == 0)
			return 0;
		if (c->nlines < 64)
			snprintf(c->lines[c->nlines++], sizeof(c->lines[0]), "%s", line);
	}
	return -1;
}

static void child_finish(struct child *c)
{
	close(c->in_fd);
	fclose(c->out);
	int st;
	waitpid(c->pid, &st, 0);
}

static const struct kp_frame *fr(const struct kp_profile *p, kp_frame_t id)
{
	assert_true(id > 0 && id < p->nframes);
	return &p->frames[id];
}

static const char *fname(const struct kp_profile *p, kp_frame_t id)
{
	return kp_str_get(p, fr(p, id)->name);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static uint64_t child_sym(const struct child *c, const char *name);
static const char *resolve_name(struct ks_session *s, struct kp_profile *p, int pid,
				uint64_t addr, uint32_t *flags, uint32_t *line);

/* ---- ELF symbols and demangling, in a real process ---- */
static void test_workload_symbols(void **state)
{
	char prog[PATH_MAX];
	if (workload_path("sym_basic", prog, sizeof(prog)) != 0)
		skip();
	struct child c;
	assert_int_equal(spawn_ready(prog, NULL, &c), 0);
	char real[PATH_MAX];
	assert_non_null(realpath(prog, real));

	struct ks_session *s = ks_session_new(NULL);
	struct ks_options raw_opts = { .no_demangle = 1 };
	struct ks_session *raw = ks_session_new(&raw_opts);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	assert_int_equal(ks_load_proc_maps(raw, c.pid), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	int checked = 0;
	for (int i = 0; i < c.nlines; i++) {
		char name[128];
		void *addr;
		kp_frame_t out[8];
		const char *last = strrchr(c.lines[i], ' ');
		if (strncmp(c.lines[i], "sym ", 4) == 0 && last &&
		    sscanf(last + 1, "%p", &addr) == 1) {
			/* "sym NAME ADDR": NAME may contain spaces */
			snprintf(name, sizeof(name), "%.*s", (int)(last - (c.lines[i] + 4)),
				 c.lines[i] + 4);
			int n = ks_resolve(s, &p, c.pid, (uint64_t)(uintptr_t)addr + 1, 0, out, 8);
			assert_true(n >= 1);
			const struct kp_frame *f = fr(&p, out[n - 1]);
			assert_string_equal(kp_str_get(&p, f->name), name);
			assert_string_equal(kp_str_get(&p, f->module), real);
			assert_int_equal(f->flags & KP_FRAME_UNKNOWN, 0);
			/* with line data a named frame keeps its module address (kiln annotate --asm) */
			assert_true(f->addr != 0);
			checked++;
		} else if (sscanf(c.lines[i], "raw %127s %p", name, &addr) == 2) {
			int n = ks_resolve(raw, &p, c.pid, (uint64_t)(uintptr_t)addr, 0, out, 8);
			assert_string_equal(fname(&p, out[n - 1]), name);
			checked++;
		}
	}
	assert_int_equal(checked, 7);
	kp_profile_release(&p);
	ks_session_free(s);
	ks_session_free(raw);
	child_finish(&c);
}

/* ---- PLT entries: "name@plt", and no function swallowing the PLT ---- */
static uint64_t tool_addr(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	unsigned long long v = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llx", &v) != 1)
		v = 0;
	pclose(f);
	return v;
}

static void test_plt(void **state)
{
	char prog[PATH_MAX], cmd[PATH_MAX + 200];
	if (workload_path("sym_basic", prog, sizeof(prog)) != 0 ||
	    system("command -v objdump >/dev/null && command -v nm >/dev/null") != 0)
		skip();
	snprintf(cmd, sizeof(cmd), "objdump -d '%s' | sed -n 's/^\\([0-9a-f]*\\) <printf@plt>:/\\1/p'",
		 prog);
	uint64_t plt_printf = tool_addr(cmd);
	snprintf(cmd, sizeof(cmd), "objdump -h '%s' | awk '$2 == \".plt\" { print $4 }'", prog);
	uint64_t plt0 = tool_addr(cmd);
	snprintf(cmd, sizeof(cmd), "nm '%s' | awk '$3 == \"main\" { print $1 }'", prog);
	uint64_t main_va = tool_addr(cmd);
	if (!plt_printf || !plt0 || !main_va)
		skip();
	struct child c;
	assert_int_equal(spawn_ready(prog, NULL, &c), 0);
	uint64_t bias = child_sym(&c, "main") - main_va;
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	uint32_t flags;
	assert_string_equal(resolve_name(s, &p, c.pid, bias + plt_printf + 6, &flags, NULL),
			    "printf@plt");
	assert_int_equal(flags, 0);
	/* the PLT header belongs to no symbol (not to _init, which precedes it): the PLT's
	 * own unwind-table entry names it by its start */
	char plt_name[64];
	snprintf(plt_name, sizeof(plt_name), "sym_basic+0x%llx", (unsigned long long)plt0);
	assert_string_equal(resolve_name(s, &p, c.pid, bias + plt0 + 2, &flags, NULL), plt_name);
	assert_true(flags & KP_FRAME_NOSYM);
	kp_profile_release(&p);
	ks_session_free(s);
	child_finish(&c);
}

/* ---- DWARF: file:line and inlined functions ---- */
static void check_inline(const char *prog, const char *debug_path, int expect_lines)
{
	struct child c;
	assert_int_equal(spawn_ready(prog, NULL, &c), 0);
	void *ra = NULL;
	int l0 = 0, l1 = 0, l2 = 0;
	for (int i = 0; i < c.nlines; i++)
		sscanf(c.lines[i], "inl %p %d %d %d", &ra, &l0, &l1, &l2);
	assert_non_null(ra);

	struct ks_session *s = ks_session_new(NULL);
	if (debug_path)
		ks_session_set_debug_path(s, debug_path);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[8];
	/* a return address: look up the call instruction */
	int n = ks_resolve(s, &p, c.pid, (uint64_t)(uintptr_t)ra - 1, 0, out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(fname(&p, out[0]), "inner");
	assert_string_equal(fname(&p, out[1]), "outer");
	assert_string_equal(fname(&p, out[2]), "real_function");
	assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_INLINE);
	assert_int_equal(fr(&p, out[1])->flags, KP_FRAME_INLINE);
	assert_int_equal(fr(&p, out[2])->flags, 0);
	if (expect_lines) {
		assert_int_equal(fr(&p, out[0])->line, l0);
		assert_int_equal(fr(&p, out[1])->line, l1);
		assert_int_equal(fr(&p, out[2])->line, l2);
		for (int k = 0; k < 3; k++)
			assert_true(ends_with(kp_str_get(&p, fr(&p, out[k])->file), "sym_basic.c"));
	}
	/* max smaller than the expansion keeps the outermost (real) frames */
	kp_frame_t two[2];
	assert_int_equal(ks_resolve(s, &p, c.pid, (uint64_t)(uintptr_t)ra - 1, 0, two, 2), 2);
	assert_int_equal(two[0], out[1]);
	assert_int_equal(two[1], out[2]);
	ks_session_free(s);

	/* without inlining: the real function, at the line of the address itself */
	struct ks_options o = { .no_inline = 1 };
	s = ks_session_new(&o);
	if (debug_path)
		ks_session_set_debug_path(s, debug_path);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	n = ks_resolve(s, &p, c.pid, (uint64_t)(uintptr_t)ra - 1, 0, out, 8);
	assert_int_equal(n, 1);
	assert_string_equal(fname(&p, out[0]), "real_function");
	if (expect_lines)
		assert_int_equal(fr(&p, out[0])->line, l0);
	ks_session_free(s);

	/* without lines: no file, no line */
	struct ks_options o2 = { .no_lines = 1 };
	s = ks_session_new(&o2);
	if (debug_path)
		ks_session_set_debug_path(s, debug_path);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	n = ks_resolve(s, &p, c.pid, (uint64_t)(uintptr_t)ra - 1, 0, out, 8);
	assert_int_equal(n, 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(fr(&p, out[k])->line, 0);
		assert_int_equal(fr(&p, out[k])->file, 0);
	}
	ks_session_free(s);
	kp_profile_release(&p);
	child_finish(&c);
}

static void test_inline_and_lines(void **state)
{
	char prog[PATH_MAX];
	if (workload_path("sym_basic", prog, sizeof(prog)) != 0)
		skip();
	check_inline(prog, NULL, 1);
}

/* ---- this process and libc ---- */
/* libc's own qsort (under ASan, &qsort is the sanitizer's interceptor) */
static uint64_t libc_qsort(void)
{
	void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	assert_non_null(h);
	void *f = dlsym(h, "qsort");
	assert_non_null(f);
	dlclose(h);
	return (uint64_t)(uintptr_t)f;
}

/* Modules of the session, and how many of them were opened. */
static int count_modules(struct ks_session *s, const char *path_part, int *opened)
{
	int n = 0;
	*opened = 0;
	for (uint32_t i = 0; i < s->mods_size; i++)
		for (struct ks_module *m = s->mods[i]; m; m = m->next_hash) {
			if (path_part && !strstr(m->path, path_part))
				continue;
			n++;
			*opened += m->state == KS_MOD_OPEN;
		}
	return n;
}

static void test_libc_symbols(void **state)
{
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	int opened;
	assert_true(count_modules(s, NULL, &opened) >= 3); /* this test, libc, libdw, ... */
	assert_int_equal(opened, 0); /* nothing opened before an address needs it */
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[8];
	int n = ks_resolve(s, &p, getpid(), libc_qsort() + 2, 0, out, 8);
	assert_true(n >= 1);
	assert_string_equal(fname(&p, out[n - 1]), "qsort");
	assert_non_null(strstr(kp_str_get(&p, fr(&p, out[n - 1])->module), "libc.so"));
	count_modules(s, NULL, &opened);
	assert_int_equal(opened, 1); /* libc only */
	/* another process mapping the same libc shares the module: one open */
	char prog[PATH_MAX];
	if (workload_path("sym_basic", prog, sizeof(prog)) == 0) {
		struct child c;
		assert_int_equal(spawn_ready(prog, NULL, &c), 0);
		assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
		char maps[64], line[1024];
		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)c.pid);
		FILE *f = fopen(maps, "r");
		uint64_t start = 0, end, off;
		char perm[8];
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "/libc.so") &&
			    sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64, &start, &end, perm,
				   &off) == 4 && perm[2] == 'x')
				break;
		if (f)
			fclose(f);
		assert_true(start != 0);
		n = ks_resolve(s, &p, c.pid, start + 0x100, 0, out, 8);
		assert_true(n >= 1);
		assert_int_equal(count_modules(s, "/libc.so", &opened), 1);
		assert_int_equal(opened, 1);
		child_finish(&c);
	}
	n = ks_resolve(s, &p, getpid(), (uint64_t)(uintptr_t)&test_libc_symbols + 1, 0, out, 8);
	assert_string_equal(fname(&p, out[n - 1]), "test_libc_symbols");
	assert_true(ends_with(kp_str_get(&p, fr(&p, out[n - 1])->file), "test_symbols.c"));
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- a stripped system binary: /bin/true has no symbols for its code ---- */
static void test_stripped_system_binary(void **state)
{
	const char *bin = "/bin/true";
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "readelf -h %s | awk '/Entry point/ { print $4 }'", bin);
	uint64_t entry = tool_addr(cmd);
	if (!entry || access(bin, R_OK) != 0)
		skip();
	/* map its segments as the loader would, at a base of our choosing */
	snprintf(cmd, sizeof(cmd), "readelf -lW %s | awk '$1 == \"LOAD\" { print $2, $3, $6, $7 }'",
		 bin);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	struct ks_session *s = ks_session_new(NULL);
	const uint64_t base = 0x555500000000ull;
	unsigned long long off, va, memsz;
	char flags[8];
	int segs = 0;
	while (fscanf(f, "%llx %llx %llx %7s", &off, &va, &memsz, flags) == 4) {
		uint64_t pstart = (base + va) & ~0xfffull, poff = off & ~0xfffull;
		int prot = PROT_READ | (strchr(flags, 'E') ? PROT_EXEC : 0);
		ks_mmap(s, 4321, pstart, base + va + memsz - pstart, poff, bin, NULL, 0, prot);
		segs++;
	}
	pclose(f);
	assert_true(segs >= 1);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[4];
	assert_int_equal(ks_resolve(s, &p, 4321, base + entry, 0, out, 4), 1);
	const char *name = fname(&p, out[0]);
	if (strcmp(name, "_start") != 0) { /* unless a debug file for it is installed */
		/* stripped: the unwind tables say where _start begins (the entry point) */
		char want[64];
		snprintf(want, sizeof(want), "true+0x%llx", (unsigned long long)entry);
		assert_string_equal(name, want);
		assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_NOSYM);
		/* with line data (the default) the frame keeps its ELF address, for annotate --asm */
		assert_int_equal(fr(&p, out[0])->addr, entry);
	}
	assert_string_equal(kp_str_get(&p, fr(&p, out[0])->module), bin);
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- unknown addresses and address-space events ---- */
static void test_unknown_and_maps(void **state)
{
	struct ks_session *s = ks_session_new(NULL);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[4];
	/* nothing mapped */
	assert_int_equal(ks_resolve(s, &p, 4242, 0x1234, 0, out, 4), 1);
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_UNKNOWN);
	assert_int_equal(fr(&p, out[0])->addr, 0x1234);
	assert_int_equal(fr(&p, out[0])->module, 0);

	/* a file that does not exist: [basename], file offset */
	ks_mmap(s, 4242, 0x10000, 0x5000, 0x2000, "/nonexistent/libnope.so.1", NULL, 0,
		PROT_READ | PROT_EXEC);
	assert_int_equal(ks_resolve(s, &p, 4242, 0x10010, 0, out, 4), 1);
	assert_string_equal(fname(&p, out[0]), "[libnope.so.1]");
	assert_string_equal(kp_str_get(&p, fr(&p, out[0])->module), "/nonexistent/libnope.so.1");
	assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_UNKNOWN);
	assert_int_equal(fr(&p, out[0])->addr, 0x2010);

	/* a mapping in the middle splits the old one; pgoff follows */
	ks_mmap(s, 4242, 0x12000, 0x1000, 0, "/nonexistent/other.so", NULL, 0, PROT_EXEC);
	ks_resolve(s, &p, 4242, 0x12010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[other.so]");
	assert_int_equal(fr(&p, out[0])->addr, 0x10);
	ks_resolve(s, &p, 4242, 0x11ff0, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[libnope.so.1]");
	assert_int_equal(fr(&p, out[0])->addr, 0x3ff0);
	ks_resolve(s, &p, 4242, 0x13010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[libnope.so.1]");
	assert_int_equal(fr(&p, out[0])->addr, 0x5010);
	ks_resolve(s, &p, 4242, 0x15000, 0, out, 4); /* just past the end */
	assert_string_equal(fname(&p, out[0]), "[unknown]");

	/* special mappings name themselves */
	ks_mmap(s, 4242, 0x40000, 0x1000, 0, "[heap]", NULL, 0, PROT_READ | PROT_WRITE);
	ks_resolve(s, &p, 4242, 0x40010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[heap]");
	assert_true(fr(&p, out[0])->flags & KP_FRAME_UNKNOWN);

	/* fork copies, exec drops, the parent keeps its maps */
	ks_fork(s, 4242, 4243);
	ks_resolve(s, &p, 4243, 0x12010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[other.so]");
	ks_exec(s, 4243);
	ks_resolve(s, &p, 4243, 0x12010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	ks_resolve(s, &p, 4242, 0x12010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[other.so]");
	/* a thread "fork" of its own process changes nothing */
	ks_fork(s, 4242, 4242);
	ks_resolve(s, &p, 4242, 0x12010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[other.so]");
	/* fork of an unknown parent: an empty child */
	ks_fork(s, 999999, 4244);
	ks_resolve(s, &p, 4244, 0x12010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	/* many processes (forces the process table to grow) keep their maps */
	for (int pid = 10000; pid < 10300; pid++)
		ks_fork(s, 4242, pid);
	for (int pid = 10000; pid < 10300; pid += 37) {
		ks_resolve(s, &p, pid, 0x12010, 0, out, 4);
		assert_string_equal(fname(&p, out[0]), "[other.so]");
	}

	/* a process that does not exist */
	assert_int_equal(ks_load_proc_maps(s, 0x7ffffff0), -1);
	/* max < 1 writes nothing */
	assert_int_equal(ks_resolve(s, &p, 4242, 0x12010, 0, out, 0), 0);
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- the caches: same ids for the same address; a new profile gets its own ---- */
static void test_cache_and_profiles(void **state)
{
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t a[8], b[8];
	uint64_t addr = libc_qsort() + 2;
	int n1 = ks_resolve(s, &p, getpid(), addr, 0, a, 8);
	int n2 = ks_resolve(s, &p, getpid(), addr, 0, b, 8);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, (size_t)n1 * sizeof(a[0]));
	/* a second profile: ids valid there, and the first one still works */
	struct kp_profile q;
	kp_profile_init(&q);
	kp_strz(&q, "something else first");
	kp_frame_named(&q, "x", 1, 0);
	kp_frame_named(&q, "y", 1, 0);
	int n3 = ks_resolve(s, &q, getpid(), addr, 0, b, 8);
	assert_int_equal(n3, n1);
	assert_string_equal(fname(&q, b[n3 - 1]), "qsort");
	n3 = ks_resolve(s, &p, getpid(), addr, 0, b, 8);
	assert_string_equal(fname(&p, b[n3 - 1]), "qsort");
	kp_profile_release(&q);
	/* a profile released and initialized again at the same address */
	kp_profile_release(&p);
	kp_profile_init(&p);
	n3 = ks_resolve(s, &p, getpid(), addr, 0, b, 8);
	assert_string_equal(fname(&p, b[n3 - 1]), "qsort");
	/* the address space changes: cached answers for it must not survive */
	ks_mmap(s, getpid(), addr & ~0xfffull, 0x1000, 0, "/nonexistent/over.so", NULL, 0,
		PROT_EXEC);
	n3 = ks_resolve(s, &p, getpid(), addr, 0, b, 8);
	assert_string_equal(fname(&p, b[n3 - 1]), "[over.so]");
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	n3 = ks_resolve(s, &p, getpid(), addr, 0, b, 8);
	assert_string_equal(fname(&p, b[n3 - 1]), "qsort");
	ks_exec(s, getpid());
	n3 = ks_resolve(s, &p, getpid(), addr, 0, b, 8);
	assert_string_equal(fname(&p, b[n3 - 1]), "[unknown]");
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- kernel ---- */
static int kallsyms_pick(uint64_t *addr, char *name, size_t n)
{
	/* a text symbol whose address no other symbol shares, well inside the kernel */
	FILE *f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -1;
	char line[512], prev[256] = "";
	uint64_t paddr = 0, pprev = 0;
	char ptype = 0;
	int found = -1, count = 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t a;
		char t, nm[256];
		if (sscanf(line, "%" SCNx64 " %c %255s", &a, &t, nm) != 3)
			continue;
		if (strchr(line, '['))
			break; /* modules follow */
		/* prev is unique if its address differs from both neighbours */
		if ((ptype == 'T' || ptype == 't') && paddr && paddr != a && paddr != pprev &&
		    a > paddr + 16 && ++count > 2000) {
			*addr = paddr;
			snprintf(name, n, "%s", prev);
			found = 0;
			break;
		}
		pprev = paddr;
		paddr = a;
		ptype = t;
		snprintf(prev, sizeof(prev), "%s", nm);
	}
	fclose(f);
	return found;
}

static void test_kernel(void **state)
{
	uint64_t kaddr = 0;
	char kname[256];
	if (kallsyms_pick(&kaddr, kname, sizeof(kname)) != 0 || kaddr == 0)
		skip();
	struct ks_session *s = ks_session_new(NULL);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[4];
	assert_int_equal(ks_resolve(s, &p, 1, kaddr + 4, 1, out, 4), 1);
	assert_string_equal(fname(&p, out[0]), kname);
	assert_string_equal(kp_str_get(&p, fr(&p, out[0])->module), "[kernel.kallsyms]");
	assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_KERNEL);
	/* an address below any kernel symbol */
	assert_int_equal(ks_resolve(s, &p, 1, 0x1000, 1, out, 4), 1);
	assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_KERNEL | KP_FRAME_UNKNOWN);
	assert_string_equal(fname(&p, out[0]), "[kernel.kallsyms]");
	ks_session_free(s);

	struct ks_options o = { .no_kernel = 1 };
	s = ks_session_new(&o);
	assert_int_equal(ks_resolve(s, &p, 1, kaddr + 4, 1, out, 4), 1);
	assert_string_equal(fname(&p, out[0]), "[kernel.kallsyms]");
	assert_true(fr(&p, out[0])->flags & KP_FRAME_KERNEL);
	kp_frame_t other;
	ks_resolve(s, &p, 1, kaddr + 64, 1, &other, 1);
	assert_int_equal(other, out[0]); /* one frame for all kernel addresses */
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- vdso ---- */
static void test_vdso(void **state)
{
	void *h = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
	void *fn = h ? dlsym(h, "__vdso_clock_gettime") : NULL;
	if (!fn)
		skip();
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[4];
	int n = ks_resolve(s, &p, getpid(), (uint64_t)(uintptr_t)fn + 3, 0, out, 4);
	assert_int_equal(n, 1);
	assert_string_equal(fname(&p, out[0]), "__vdso_clock_gettime");
	assert_string_equal(kp_str_get(&p, fr(&p, out[0])->module), "[vdso]");
	/* the same for a child process mapping the vdso elsewhere (from MMAP2-like events) */
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	ks_mmap(s, 777, 0x7000000, 0x2000, 0, "[vdso]", NULL, 0, PROT_READ | PROT_EXEC);
	n = ks_resolve(s, &p, 777, 0x7000000 + ((uintptr_t)fn - base) + 3, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "__vdso_clock_gettime");
	kp_profile_release(&p);
	ks_session_free(s);
	dlclose(h);
}

/* ---- JIT maps ---- */
static void write_file(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_jit_map(void **state)
{
	struct ks_session *s = ks_session_new(NULL);
	ks_session_set_jit_dir(s, tmpdir);
	char path[512];
	snprintf(path, sizeof(path), "%s/perf-%d.map", tmpdir, 31337);
	write_file(path, "w", "7f0000001000 100 LazyCompile:*fib /tmp/x.js:3\n"
			      "7f0000001200 40 Builtin: ArgumentsAdaptor\n"
			      "garbage line\n"
			      "7f0000002000 zz bad size\n");
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[4];
	ks_mmap(s, 31337, 0x7f0000000000, 0x100000, 0, "//anon", NULL, 0, PROT_EXEC);
	assert_int_equal(ks_resolve(s, &p, 31337, 0x7f0000001010, 0, out, 4), 1);
	assert_string_equal(fname(&p, out[0]), "LazyCompile:*fib /tmp/x.js:3");
	assert_int_equal(fr(&p, out[0])->flags, KP_FRAME_JIT);
	assert_string_equal(kp_str_get(&p, fr(&p, out[0])->module), path);
	ks_resolve(s, &p, 31337, 0x7f000000123f, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "Builtin: ArgumentsAdaptor");
	ks_resolve(s, &p, 31337, 0x7f0000001240, 0, out, 4); /* past its end */
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	/* the file grows (the JIT compiled more): new entries are found, an overlapping
	 * newer entry wins */
	write_file(path, "a", "7f0000003000 80 LazyCompile:*later\n"
			      "7f0000001000 20 LazyCompile:*replaced\n");
	usleep(2000); /* misses re-check the file at most once a millisecond */
	ks_resolve(s, &p, 31337, 0x7f0000003010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "LazyCompile:*later");
	ks_resolve(s, &p, 31337, 0x7f0000001010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "LazyCompile:*replaced");
	ks_resolve(s, &p, 31337, 0x7f0000001030, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "LazyCompile:*fib /tmp/x.js:3");
	/* a line still being written is read once complete */
	write_file(path, "a", "7f0000004000 10 Partial");
	usleep(2000);
	ks_resolve(s, &p, 31337, 0x7f0000004004, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	write_file(path, "a", "Name\n");
	usleep(2000);
	ks_resolve(s, &p, 31337, 0x7f0000004004, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "PartialName");
	/* a process without a map file */
	ks_mmap(s, 31338, 0x7f0000000000, 0x100000, 0, "//anon", NULL, 0, PROT_EXEC);
	ks_resolve(s, &p, 31338, 0x7f0000001010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- separate debug files, MiniDebugInfo, replaced binaries ---- */
static int have_tools(void)
{
	return system("(command -v objcopy && command -v strip && command -v nm && "
		      "command -v xz && command -v readelf) >/dev/null 2>&1") == 0;
}

/* Builds in tmpdir: sym_stripped (no symbols), debug/.build-id/xx/yyy.debug (its debug
 * file), sym_mini (stripped, with a .gnu_debugdata MiniDebugInfo section), empty/. */
static int make_debug_variants(const char *prog)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; cp '%s' sym_full; "
		 "B=$(readelf -n sym_full | sed -n 's/.*Build ID: //p'); test -n \"$B\"; "
		 "D=debug/.build-id/$(echo $B | cut -c1-2); mkdir -p $D empty; "
		 "F=$D/$(echo $B | cut -c3-).debug; "
		 "objcopy --only-keep-debug sym_full $F; "
		 "strip --strip-all -R .comment -o sym_stripped sym_full; "
		 "nm -D sym_full --format=posix --defined-only | awk '{print $1}' | sort > dynsyms; "
		 "nm sym_full --format=posix --defined-only | "
		 "  awk '{ if ($2 == \"T\" || $2 == \"t\") print $1 }' | sort > funcsyms; "
		 "comm -13 dynsyms funcsyms > keep; "
		 "objcopy -S --remove-section .gdb_index --remove-section .comment "
		 "  --keep-symbols=keep $F mini; "
		 "xz mini; cp sym_stripped sym_mini; "
		 "objcopy --add-section .gnu_debugdata=mini.xz sym_mini; "
		 "echo $B > buildid",
		 tmpdir, prog);
	return system(cmd);
}

static const char *resolve_name(struct ks_session *s, struct kp_profile *p, int pid,
				uint64_t addr, uint32_t *flags, uint32_t *line)
{
	kp_frame_t out[8];
	int n = ks_resolve(s, p, pid, addr, 0, out, 8);
	assert_true(n >= 1);
	if (flags)
		*flags = fr(p, out[n - 1])->flags;
	if (line)
		*line = fr(p, out[n - 1])->line;
	return fname(p, out[n - 1]);
}

static uint64_t child_sym(const struct child *c, const char *name)
{
	for (int i = 0; i < c->nlines; i++) {
		char nm[128];
		void *addr;
		if (sscanf(c->lines[i], "sym %127s %p", nm, &addr) == 2 && strcmp(nm, name) == 0)
			return (uint64_t)(uintptr_t)addr;
	}
	fail_msg("no address for %s", name);
	return 0;
}

static void test_debug_files(void **state)
{
	char prog[PATH_MAX], real[PATH_MAX], path[PATH_MAX + 300], dbg[600], empty[600];
	if (workload_path("sym_basic", prog, sizeof(prog)) != 0 || !have_tools())
		skip();
	assert_non_null(realpath(prog, real));
	assert_int_equal(make_debug_variants(real), 0);
	snprintf(dbg, sizeof(dbg), "%s/debug", tmpdir);
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	struct kp_profile p;
	kp_profile_init(&p);
	uint32_t flags, line;

	/* stripped, with its debug file found by build-id: names, lines and inlining */
	snprintf(path, sizeof(path), "%s/sym_stripped", tmpdir);
	check_inline(path, dbg, 1);
	struct child c;
	assert_int_equal(spawn_ready(path, NULL, &c), 0);
	struct ks_session *s = ks_session_new(NULL);
	ks_session_set_debug_path(s, dbg);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	assert_string_equal(resolve_name(s, &p, c.pid, child_sym(&c, "static_function") + 1,
					 &flags, &line), "static_function");
	assert_true(line > 0);
	ks_session_free(s);
	/* the same without the debug file: nothing names it */
	s = ks_session_new(NULL);
	ks_session_set_debug_path(s, empty);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	/* ... but its unwind-table entry: MODULE+0xSTART, the same name for every address
	 * of the function */
	const char *n1 = resolve_name(s, &p, c.pid, child_sym(&c, "static_function") + 1, &flags, NULL);
	assert_true(!strncmp(n1, "sym_stripped+0x", 15));
	assert_true(flags & KP_FRAME_NOSYM);
	assert_string_equal(resolve_name(s, &p, c.pid, child_sym(&c, "static_function") + 2, &flags, NULL),
			    n1);
	ks_session_free(s);

	/* the binary is gone (deleted or replaced since it was mapped): its build-id still
	 * finds the debug file */
	unsigned char bid[20];
	char hex[64] = "";
	snprintf(path, sizeof(path), "%s/buildid", tmpdir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(hex, sizeof(hex), f));
	fclose(f);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &bid[i]), 1);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)c.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	s = ks_session_new(NULL);
	ks_session_set_debug_path(s, dbg);
	struct ks_session *wrong = ks_session_new(NULL);
	char ln[1024];
	unsigned char badbid[20];
	memset(badbid, 0xab, sizeof(badbid));
	while (fgets(ln, sizeof(ln), f)) {
		uint64_t a, b, off;
		char perm[8];
		if (!strstr(ln, "/sym_stripped") ||
		    sscanf(ln, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64, &a, &b, perm, &off) != 4)
			continue;
		int prot = (perm[0] == 'r' ? PROT_READ : 0) | (perm[2] == 'x' ? PROT_EXEC : 0);
		ks_mmap(s, 555, a, b - a, off, "/nonexistent/sym_stripped", bid, 20, prot);
		char mapped[PATH_MAX];
		snprintf(mapped, sizeof(mapped), "%s", strchr(ln, '/'));
		mapped[strcspn(mapped, "\n")] = '\0';
		ks_mmap(wrong, 556, a, b - a, off, mapped, badbid, 20, prot);
	}
	fclose(f);
	assert_string_equal(resolve_name(s, &p, 555, child_sym(&c, "static_function") + 1,
					 &flags, NULL), "static_function");
	/* a file whose build-id is not the one mapped: left unnamed, not misnamed */
	assert_string_equal(resolve_name(wrong, &p, 556, child_sym(&c, "static_function") + 1,
					 &flags, NULL), "[sym_stripped]");
	assert_true(flags & KP_FRAME_UNKNOWN);
	ks_session_free(s);
	ks_session_free(wrong);
	child_finish(&c);

	/* MiniDebugInfo: function symbols from the xz-compressed .gnu_debugdata */
	snprintf(path, sizeof(path), "%s/sym_mini", tmpdir);
	assert_int_equal(spawn_ready(path, NULL, &c), 0);
	s = ks_session_new(NULL);
	ks_session_set_debug_path(s, empty);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	assert_string_equal(resolve_name(s, &p, c.pid, child_sym(&c, "static_function") + 1,
					 &flags, &line), "static_function");
	assert_int_equal(flags, 0);
	assert_int_equal(line, 0); /* MiniDebugInfo has no DWARF */
	assert_string_equal(resolve_name(s, &p, c.pid, child_sym(&c, "plain_function") + 1,
					 &flags, NULL), "plain_function");
	ks_session_free(s);
	child_finish(&c);
	kp_profile_release(&p);
}

/* ---- kallsyms parsing (from a file in its format) ---- */
static void test_kallsyms_file(void **state)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/kallsyms", tmpdir);
	write_file(path, "w",
		   "ffffffff81000000 T _text\n"
		   "ffffffff81000000 T _stext\n"
		   "ffffffff81000100 t helper\n"
		   "ffffffff81000200 T do_work\n"
		   "ffffffff81000300 D some_data\n"
		   "ffffffff81001000 T _etext\n"
		   "garbage without fields\n"
		   "ffffffff81000400\n"
		   "zzzz T bad_address\n"
		   "ffffffffc0000000 t mod_fn\t[mymod]\n"
		   "ffffffffc0000100 t mod_fn2\t[mymod]\n"
		   "ffffffffc0000000 t ");
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_kernel_load_file(s, path), 0);
	struct kp_profile p;
	kp_profile_init(&p);
	kp_frame_t out[2];
	static const struct {
		uint64_t addr;
		const char *name, *module;
		uint32_t flags;
		uint64_t rel;
	} cases[] = {
		{ 0xffffffff81000010, "_stext", "[kernel.kallsyms]", KP_FRAME_KERNEL, 0 },
		{ 0xffffffff81000150, "helper", "[kernel.kallsyms]", KP_FRAME_KERNEL, 0 },
		{ 0xffffffff81000350, "do_work", "[kernel.kallsyms]", KP_FRAME_KERNEL, 0 },
		{ 0xffffffff81002000, "[kernel.kallsyms]", "[kernel.kallsyms]",
		  KP_FRAME_KERNEL | KP_FRAME_UNKNOWN, 0x2000 },
		{ 0xffffffffc0000050, "mod_fn", "[mymod]", KP_FRAME_KERNEL, 0 },
		{ 0xffffffffc0000150, "mod_fn2", "[mymod]", KP_FRAME_KERNEL, 0 },
		{ 0xffffffffc8000000, "[kernel.kallsyms]", "[kernel.kallsyms]",
		  KP_FRAME_KERNEL | KP_FRAME_UNKNOWN, 0xffffffffc8000000 - 0xffffffff81000000 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ks_resolve(s, &p, 0, cases[i].addr, 1, out, 2), 1);
		assert_string_equal(fname(&p, out[0]), cases[i].name);
		assert_string_equal(kp_str_get(&p, fr(&p, out[0])->module), cases[i].module);
		assert_int_equal(fr(&p, out[0])->flags, cases[i].flags);
		assert_int_equal(fr(&p, out[0])->addr, cases[i].rel);
	}
	kp_profile_release(&p);
	ks_session_free(s);

	/* hidden addresses (kptr_restrict): all zero, nothing named */
	write_file(path, "w", "0000000000000000 T _text\n0000000000000000 T schedule\n");
	s = ks_session_new(NULL);
	assert_int_equal(ks_kernel_load_file(s, path), -1);
	kp_profile_init(&p);
	ks_resolve(s, &p, 0, 0xffffffff81000010, 1, out, 2);
	assert_string_equal(fname(&p, out[0]), "[kernel.kallsyms]");
	assert_true(fr(&p, out[0])->flags & KP_FRAME_UNKNOWN);
	kp_profile_release(&p);
	ks_session_free(s);
}

/* ---- files that are not ELF, truncated, or not files ---- */
static void test_bad_modules(void **state)
{
	char prog[PATH_MAX], path[6][600];
	const char *names[6] = { "empty.so", "garbage.so", "truncated.so", "dir.so", "null", "" };
	snprintf(path[0], sizeof(path[0]), "%s/empty.so", tmpdir);
	write_file(path[0], "w", "");
	snprintf(path[1], sizeof(path[1]), "%s/garbage.so", tmpdir);
	FILE *f = fopen(path[1], "w");
	assert_non_null(f);
	fputs("\177ELF", f); /* an ELF magic, then noise */
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	snprintf(path[2], sizeof(path[2]), "%s/truncated.so", tmpdir);
	if (workload_path("sym_basic", prog, sizeof(prog)) == 0) {
		char cmd[PATH_MAX + 700];
		snprintf(cmd, sizeof(cmd), "head -c 3000 '%s' > '%s'", prog, path[2]);
		assert_int_equal(system(cmd), 0);
	} else {
		write_file(path[2], "w", "\177ELF\2\1\1");
	}
	snprintf(path[3], sizeof(path[3]), "%s/dir.so", tmpdir);
	assert_int_equal(mkdir(path[3], 0755), 0);
	snprintf(path[4], sizeof(path[4]), "/dev/null");
	snprintf(path[5], sizeof(path[5]), "%s/missing.so", tmpdir);
	names[5] = "missing.so";

	struct ks_session *s = ks_session_new(NULL);
	struct kp_profile p;
	kp_profile_init(&p);
	for (int i = 0; i < 6; i++)
		ks_mmap(s, 99, 0x100000 * (uint64_t)(i + 1), 0x10000, 0x1000, path[i], NULL, 0,
			PROT_READ | PROT_EXEC);
	for (int i = 0; i < 6; i++) {
		kp_frame_t out[4];
		char want[64];
		snprintf(want, sizeof(want), "[%s]", names[i]);
		for (int rep = 0; rep < 2; rep++) { /* the failed open is remembered */
			assert_int_equal(ks_resolve(s, &p, 99, 0x100000 * (uint64_t)(i + 1) + 0x20, 0,
						    out, 4), 1);
			assert_string_equal(fname(&p, out[0]), want);
			assert_true(fr(&p, out[0])->flags & KP_FRAME_UNKNOWN);
			assert_int_equal(fr(&p, out[0])->addr, 0x1020);
		}
		/* unwinding there: no CFI, frame pointers that lead nowhere */
		struct ks_regs regs = { .mask = (1ull << 6) | (1ull << 7) | (1ull << 8) };
		uint64_t stack[8] = { 0 };
		regs.regs[8] = 0x100000 * (uint64_t)(i + 1) + 0x20;
		regs.regs[7] = 0x7ff000;
		regs.regs[6] = 0x7ff010;
		uint64_t ips[8], ra;
		int complete;
		int n = ks_unwind(s, 99, &regs, stack, sizeof(stack), ips, 8, &complete);
		assert_true(n >= 1 && n <= 8);
		assert_int_equal(ks_unwind_leaf(s, 99, &regs, stack, sizeof(stack), &ra), -1);
	}
	/* zero-length and wrapping mappings are ignored */
	ks_mmap(s, 99, 0x5000, 0, 0, path[0], NULL, 0, PROT_EXEC);
	ks_mmap(s, 99, UINT64_MAX - 10, 100, 0, path[0], NULL, 0, PROT_EXEC);
	kp_frame_t out[4];
	ks_resolve(s, &p, 99, 0x5000, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[unknown]");
	/* a FIFO named by a mapping is not opened (opening would block) */
	char fifo[600];
	snprintf(fifo, sizeof(fifo), "%s/fifo.so", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	ks_mmap(s, 99, 0x900000, 0x1000, 0, fifo, NULL, 0, PROT_EXEC);
	ks_resolve(s, &p, 99, 0x900010, 0, out, 4);
	assert_string_equal(fname(&p, out[0]), "[fifo.so]");
	kp_profile_release(&p);
	ks_session_free(s);
	/* no file descriptor of the files the session opened outlives it */
	int fds = 0;
	char fdpath[64], target[PATH_MAX];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(fdpath, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			fds += strstr(target, tmpdir) != NULL;
		}
	}
	assert_int_equal(fds, 0);
}

/* ---- the unwinder on garbage: always terminates, never reads outside the copy ---- */
static void test_unwind_garbage(void **state)
{
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	uint64_t text = libc_qsort();
	enum { WORDS = 512 };
	uint64_t *stack = malloc(WORDS * 8);
	uint64_t ips[64];
	unsigned seed = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		uint64_t sp = 0x7ffd00000000ull + (uint64_t)(rand_r(&seed) % 4096) * 8;
		for (int w = 0; w < WORDS; w++) {
			int kind = rand_r(&seed) % 4;
			uint64_t v = (uint64_t)rand_r(&seed) << 32 | (uint64_t)rand_r(&seed);
			/* a mix of noise, pointers into the copy and code addresses */
			stack[w] = kind == 0 ? v : kind == 1 ? sp + (v % (WORDS * 8)) :
				   kind == 2 ? text + (v % 65536) - 32768 : 0;
		}
		struct ks_regs regs = { .mask = ~0ull };
		for (int r = 0; r < 24; r++)
			regs.regs[r] = stack[rand_r(&seed) % WORDS];
		regs.regs[PERF_REG_X86_SP] = sp;
		regs.regs[PERF_REG_X86_IP] = text + (uint64_t)(rand_r(&seed) % 200000) - 100000;
		int complete = -1;
		int n = ks_unwind(s, getpid(), &regs, stack, WORDS * 8, ips, 64, &complete);
		assert_true(n >= 1 && n <= 64);
		assert_true(complete == 0 || complete == 1);
		uint64_t ra;
		ks_unwind_leaf(s, getpid(), &regs, stack, WORDS * 8, &ra);
	}
	free(stack);
	ks_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workload_symbols),
		cmocka_unit_test(test_inline_and_lines),
		cmocka_unit_test(test_plt),
		cmocka_unit_test(test_libc_symbols),
		cmocka_unit_test(test_stripped_system_binary),
		cmocka_unit_test(test_unknown_and_maps),
		cmocka_unit_test(test_cache_and_profiles),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_jit_map),
		cmocka_unit_test(test_debug_files),
		cmocka_unit_test(test_kallsyms_file),
		cmocka_unit_test(test_bad_modules),
		cmocka_unit_test(test_unwind_garbage),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
