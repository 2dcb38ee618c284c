/* test_symbols_unwind.c: the unwinder (ks_unwind, ks_unwind_leaf) on real register and
 * stack snapshots: this process through libc's qsort, and tests/workloads/sym_unwind
 * (built without frame pointers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <asm/perf_regs.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "profile/profile.h"
#include "symbols/symbols.h"
#include "symbols/sym_internal.h"
#include "util/error.h"

#include "unit.h"

#define MAXF 128

/* Resolves an unwound chain into the names of the real (outermost) frames. */
static int chain_names(struct ks_session *s, struct kp_profile *p, int pid, const uint64_t *ips,
		       int n, const char **names, const char **modules)
{
	for (int k = 0; k < n; k++) {
		kp_frame_t out[16];
		int m = ks_resolve(s, p, pid, k ? ips[k] - 1 : ips[k], 0, out, 16);
		assert_true(m >= 1);
		names[k] = kp_str_get(p, p->frames[out[m - 1]].name);
		modules[k] = kp_str_get(p, p->frames[out[m - 1]].module);
	}
	return n;
}

/* Index of name in names[from..n), or -1. */
static int find_name(const char **names, int n, int from, const char *name)
{
	for (int k = from; k < n; k++)
		if (strcmp(names[k], name) == 0)
			return k;
	return -1;
}

static void print_chain(const char **names, const char **modules, int n)
{
	for (int k = 0; k < n; k++)
		print_message("  #%d %s (%s)\n", k, names[k], modules[k]);
}

/* ---- this process: capture registers and the stack inside a qsort comparator ---- */
static uint64_t stack_top(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long a, b;
	uint64_t top = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &a, &b) == 2)
			top = b;
	if (f)
		fclose(f);
	return top;
}

/* The top of the calling thread's stack (the main thread's, or a pthread's). */
static uint64_t thread_stack_top(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return stack_top();
	pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	uint64_t top = (uint64_t)(uintptr_t)addr + size, main_top = stack_top();
	/* for the main thread, the [stack] mapping's end is exact */
	return main_top && main_top - 1 - (uint64_t)(uintptr_t)addr < size + 65536 ? main_top : top;
}

static struct ks_regs snap_regs;
static unsigned char *snap_stack;
static size_t snap_len;
static int snap_taken;

/* Copies live stack memory; not checked by ASan (its redzones are in the stack). */
__attribute__((no_sanitize_address, noinline)) static void copy_stack(unsigned char *dst,
								     uint64_t src, size_t n)
{
	const volatile unsigned char *p = (const volatile unsigned char *)(uintptr_t)src;
	for (size_t i = 0; i < n; i++)
		dst[i] = p[i];
}

__attribute__((noinline, noipa)) static void capture_in(void)
{
	uint64_t *r = snap_regs.regs;
	__asm__ volatile("leaq 0(%%rip), %%rax\n\t"
			 "movq %%rax, 64(%0)\n\t"
			 "movq %%rsp, 56(%0)\n\t"
			 "movq %%rbp, 48(%0)\n\t"
			 "movq %%rbx, 8(%0)\n\t"
			 "movq %%r12, 160(%0)\n\t"
			 "movq %%r13, 168(%0)\n\t"
			 "movq %%r14, 176(%0)\n\t"
			 "movq %%r15, 184(%0)\n\t"
			 :
			 : "r"(r)
			 : "rax", "memory");
	snap_regs.mask = (1ull << PERF_REG_X86_IP) | (1ull << PERF_REG_X86_SP) |
			 (1ull << PERF_REG_X86_BP) | (1ull << PERF_REG_X86_BX) |
			 (1ull << PERF_REG_X86_R12) | (1ull << PERF_REG_X86_R13) |
			 (1ull << PERF_REG_X86_R14) | (1ull << PERF_REG_X86_R15);
	uint64_t sp = snap_regs.regs[PERF_REG_X86_SP];
	snap_len = thread_stack_top() - sp;
	snap_stack = malloc(snap_len);
	copy_stack(snap_stack, sp, snap_len);
}

__attribute__((noinline, noipa)) static int cmp_in(const void *a, const void *b)
{
	if (!snap_taken) {
		snap_taken = 1;
		capture_in();
	}
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static volatile int sink;

__attribute__((noinline, noipa)) static int in_level2(int n)
{
	int v[6] = { 5, 3, n, 1, 4, 2 };
	qsort(v, 6, sizeof(int), cmp_in);
	sink += v[0];
	return v[2] + 1;
}

__attribute__((noinline, noipa)) static int in_level1(int n)
{
	int r = in_level2(n + 1);
	sink += r;
	return r * 2;
}

/* A session that knows this process's modules as dl_iterate_phdr reports them. */
static int add_phdr_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ks_session *s = arg;
	char exe[PATH_MAX];
	const char *path = info->dlpi_name;
	if (!path[0]) { /* the main program */
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return 0;
		exe[n] = '\0';
		path = exe;
	}
	if (path[0] != '/')
		return 0; /* the vdso */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (hi > lo)
		ks_mmap_elf(s, getpid(), lo, hi - lo, info->dlpi_addr, path, NULL, 0,
			    PROT_READ | PROT_EXEC);
	return 0;
}

static void test_unwind_in_process(void **state)
{
	snap_taken = 0;
	sink += in_level1(7);
	assert_non_null(snap_stack);
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	uint64_t ips[MAXF];
	int complete = -1;
	int n = ks_unwind(s, getpid(), &snap_regs, snap_stack, snap_len, ips, MAXF, &complete);
	struct kp_profile p;
	kp_profile_init(&p);
	const char *names[MAXF], *mods[MAXF];
	chain_names(s, &p, getpid(), ips, n, names, mods);
	print_chain(names, mods, n);
	int a = find_name(names, n, 0, "capture_in");
	int b = find_name(names, n, a + 1, "cmp_in");
	int c = find_name(names, n, b + 1, "in_level2");
	int d = find_name(names, n, c + 1, "in_level1");
	int e = find_name(names, n, d + 1, "test_unwind_in_process");
	int f = find_name(names, n, e + 1, "main");
	assert_int_equal(a, 0);
	assert_true(b == 1 && c > b && d == c + 1 && e == d + 1 && f > e);
	/* between the comparator and its caller: the library's sort (libc's, or the
	 * sanitizer's qsort interceptor under ASan), built without frame pointers */
	int lib = 0;
	for (int k = b + 1; k < c; k++)
		lib += strstr(mods[k], "libc.so") || strstr(mods[k], "libasan.so");
	assert_true(lib >= 1 && lib == c - b - 1);
	assert_int_equal(complete, 1);
	assert_string_equal(names[n - 1], "_start");

	/* the same with modules given as dl_iterate_phdr reports them (the heap profiler's
	 * view): same walk, same names */
	struct ks_session *ph = ks_session_new(NULL);
	dl_iterate_phdr(add_phdr_module, ph);
	uint64_t ips2[MAXF];
	int complete2 = -1;
	int n2 = ks_unwind(ph, getpid(), &snap_regs, snap_stack, snap_len, ips2, MAXF, &complete2);
	assert_int_equal(n2, n);
	assert_memory_equal(ips2, ips, (size_t)n * sizeof(ips[0]));
	assert_int_equal(complete2, 1);
	const char *names2[MAXF], *mods2[MAXF];
	chain_names(ph, &p, getpid(), ips2, n2, names2, mods2);
	for (int k = 0; k < n; k++) /* (unnamed frames, and those named MODULE+0xSTART
				     * from unwind tables, say the path as given: a symlink) */
		if (names[k][0] != '[' && !strstr(names[k], "+0x"))
			assert_string_equal(names2[k], names[k]);
	ks_session_free(ph);

	/* a stack copy cut short: the walk stops early and says so */
	n = ks_unwind(s, getpid(), &snap_regs, snap_stack, 256, ips, MAXF, &complete);
	assert_true(n >= 1 && n < f);
	assert_int_equal(complete, 0);
	/* max bounds the count */
	n = ks_unwind(s, getpid(), &snap_regs, snap_stack, snap_len, ips, 3, &complete);
	assert_int_equal(n, 3);
	assert_int_equal(complete, 0);
	/* no registers: nothing */
	struct ks_regs none = { .mask = 0 };
	assert_int_equal(ks_unwind(s, getpid(), &none, snap_stack, snap_len, ips, MAXF, &complete), 0);
	assert_int_equal(complete, 0);

	kp_profile_release(&p);
	ks_session_free(s);
	free(snap_stack);
	snap_stack = NULL;
}

/* ---- through a signal frame (libc's __restore_rt: CFI with DWARF expressions) ---- */
static void on_usr1(int sig)
{
	capture_in();
	sink++; /* not a tail call: the handler keeps its frame */
}

__attribute__((noinline, noipa)) static void sig_level(void)
{
	raise(SIGUSR1);
	sink++;
}

static void test_unwind_signal_frame(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	sig_level();
	sigaction(SIGUSR1, &old, NULL);
	assert_non_null(snap_stack);
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	uint64_t ips[MAXF];
	int complete = -1;
	int n = ks_unwind(s, getpid(), &snap_regs, snap_stack, snap_len, ips, MAXF, &complete);
	struct kp_profile p;
	kp_profile_init(&p);
	const char *names[MAXF], *mods[MAXF];
	chain_names(s, &p, getpid(), ips, n, names, mods);
	print_chain(names, mods, n);
	assert_string_equal(names[0], "capture_in");
	int h = find_name(names, n, 1, "on_usr1");
	int l = find_name(names, n, h + 1, "sig_level");
	int t = find_name(names, n, l + 1, "test_unwind_signal_frame");
	int m = find_name(names, n, t + 1, "main");
	assert_true(h == 1 && l > h + 1 && t == l + 1 && m > t);
	/* the signal trampoline: named by libc's debug file (libc6-dbg), which
	 * scripts/deps.sh installs; unnamed without it */
	if (strcmp(names[2], "[libc.so.6]") != 0)
		assert_string_equal(names[2], "__restore_rt");
	for (int k = 2; k < l; k++) /* then the interrupted code in libc (raise) */
		assert_non_null(strstr(mods[k], "libc.so"));
	assert_int_equal(complete, 1);
	assert_string_equal(names[n - 1], "_start");
	kp_profile_release(&p);
	ks_session_free(s);
	free(snap_stack);
	snap_stack = NULL;
}

/* ---- a thread: the walk ends at the thread's entry (clone3), complete ---- */
__attribute__((noinline, noipa)) static void *thread_body(void *arg)
{
	snap_taken = 0;
	sink += in_level1(3);
	return NULL;
}

static void test_unwind_thread(void **state)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, thread_body, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(snap_stack);
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, getpid()), 0);
	uint64_t ips[MAXF];
	int complete = -1;
	int n = ks_unwind(s, getpid(), &snap_regs, snap_stack, snap_len, ips, MAXF, &complete);
	struct kp_profile p;
	kp_profile_init(&p);
	const char *names[MAXF], *mods[MAXF];
	chain_names(s, &p, getpid(), ips, n, names, mods);
	print_chain(names, mods, n);
	int b = find_name(names, n, 0, "in_level1");
	int t2 = find_name(names, n, b + 1, "thread_body");
	assert_true(b > 0 && t2 == b + 1);
	assert_int_equal(complete, 1);
	/* then the C library's thread start, in libc */
	assert_true(n > t2 + 1);
	for (int k = t2 + 1; k < n; k++)
		assert_true(strstr(mods[k], "libc.so") || strstr(mods[k], "libasan.so"));
	kp_profile_release(&p);
	ks_session_free(s);
	free(snap_stack);
	snap_stack = NULL;
}

/* ---- the workload built with -fomit-frame-pointer ---- */
struct snap {
	uint64_t regs[24];
	uint64_t mask;
	uint64_t len;
	uint64_t expected_ra;
};

static unsigned char *read_snap(const char *path, struct snap *sn)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(sn, sizeof(*sn), 1, f), 1);
	unsigned char *stack = malloc(sn->len ? sn->len : 1);
	assert_int_equal(fread(stack, 1, sn->len, f), sn->len);
	fclose(f);
	return stack;
}

static void to_regs(const struct snap *sn, struct ks_regs *r)
{
	memcpy(r->regs, sn->regs, sizeof(r->regs));
	r->mask = sn->mask;
}

struct child {
	pid_t pid;
	int in_fd;
	FILE *out;
};

static int spawn_workload(struct child *c, const char *full, const char *leaf)
{
	const char *b = getenv("BUILD");
	char prog[PATH_MAX];
	snprintf(prog, sizeof(prog), "%s/workloads/sym_unwind", b && *b ? b : "build");
	if (access(prog, X_OK) != 0)
		return -1;
	int inp[2], outp[2];
	assert_int_equal(pipe(inp), 0);
	assert_int_equal(pipe(outp), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		close(inp[1]);
		close(outp[0]);
		execl(prog, prog, full, leaf, (char *)NULL);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	c->in_fd = inp[1];
	c->out = fdopen(outp[0], "r");
	char line[64];
	assert_non_null(fgets(line, sizeof(line), c->out));
	assert_string_equal(line, "ready\n");
	return 0;
}

static void child_finish(struct child *c)
{
	close(c->in_fd);
	fclose(c->out);
	int st;
	waitpid(c->pid, &st, 0);
}

static void test_unwind_no_frame_pointers(void **state)
{
	char full[512], leaf[512];
	snprintf(full, sizeof(full), "%s/full.snap", tmpdir);
	snprintf(leaf, sizeof(leaf), "%s/leaf.snap", tmpdir);
	struct child c = { 0 };
	if (spawn_workload(&c, full, leaf) != 0)
		skip();
	struct ks_session *s = ks_session_new(NULL);
	assert_int_equal(ks_load_proc_maps(s, c.pid), 0);
	struct kp_profile p;
	kp_profile_init(&p);

	struct snap sn;
	struct ks_regs regs;
	unsigned char *stack = read_snap(full, &sn);
	to_regs(&sn, &regs);
	uint64_t ips[MAXF];
	int complete = -1;
	int n = ks_unwind(s, c.pid, &regs, stack, sn.len, ips, MAXF, &complete);
	const char *names[MAXF], *mods[MAXF];
	chain_names(s, &p, c.pid, ips, n, names, mods);
	print_chain(names, mods, n);
	static const char *const want[] = { "capture", "compare" };
	for (int k = 0; k < 2; k++)
		assert_string_equal(names[k], want[k]);
	int l3 = find_name(names, n, 2, "level3");
	assert_true(l3 > 2);
	for (int k = 2; k < l3; k++) /* qsort's internals, in libc */
		assert_non_null(strstr(mods[k], "libc.so"));
	assert_string_equal(names[l3 + 1], "level2");
	assert_string_equal(names[l3 + 2], "level1");
	assert_string_equal(names[l3 + 3], "main");
	assert_string_equal(names[n - 1], "_start");
	assert_int_equal(complete, 1);
	/* the CFI interpreter (used for rows with expressions) gives the same walk as the
	 * compiled rows */
	struct ks_session *interp = ks_session_new(NULL);
	interp->unwind_interpret = 1;
	assert_int_equal(ks_load_proc_maps(interp, c.pid), 0);
	uint64_t ips2[MAXF];
	int complete2 = -1;
	int n2 = ks_unwind(interp, c.pid, &regs, stack, sn.len, ips2, MAXF, &complete2);
	assert_int_equal(n2, n);
	assert_memory_equal(ips2, ips, (size_t)n * sizeof(ips[0]));
	assert_int_equal(complete2, 1);
	ks_session_free(interp);
	free(stack);

	/* the leaf: its CFI gives the caller that a frame-pointer walk would miss */
	stack = read_snap(leaf, &sn);
	to_regs(&sn, &regs);
	uint64_t ra = 0;
	assert_int_equal(ks_unwind_leaf(s, c.pid, &regs, stack, sn.len, &ra), 0);
	assert_int_equal(ra, sn.expected_ra);
	kp_frame_t out[8];
	int m = ks_resolve(s, &p, c.pid, ra - 1, 0, out, 8);
	assert_string_equal(kp_str_get(&p, p.frames[out[m - 1]].name), "leaf_caller");
	m = ks_resolve(s, &p, c.pid, regs.regs[PERF_REG_X86_IP], 0, out, 8);
	assert_string_equal(kp_str_get(&p, p.frames[out[m - 1]].name), "leaf");
	/* the full walk from the leaf: leaf, leaf_caller, main, then the copy (512 bytes)
	 * runs out before _start */
	n = ks_unwind(s, c.pid, &regs, stack, sn.len, ips, MAXF, &complete);
	assert_true(n >= 2);
	assert_int_equal(ips[1], sn.expected_ra);
	assert_int_equal(complete, 0);
	/* a stack copy too short to hold the return address */
	assert_int_equal(ks_unwind_leaf(s, c.pid, &regs, stack, 0, &ra), -1);
	/* an ip with no CFI (no module there) */
	struct ks_regs bad = regs;
	bad.regs[PERF_REG_X86_IP] = 0x10;
	assert_int_equal(ks_unwind_leaf(s, c.pid, &bad, stack, sn.len, &ra), -1);
	free(stack);

	kp_profile_release(&p);
	ks_session_free(s);
	child_finish(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_in_process),
		cmocka_unit_test(test_unwind_signal_frame),
		cmocka_unit_test(test_unwind_thread),
		cmocka_unit_test(test_unwind_no_frame_pointers),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
