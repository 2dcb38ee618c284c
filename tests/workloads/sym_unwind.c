/* build: -O2 -g -fomit-frame-pointer */
/* sym_unwind.c: register and stack snapshots for the unwinder's tests, taken in code
 * built without frame pointers.
 *
 *   sym_unwind FULL LEAF
 * writes two snapshots, then prints "ready" and waits until standard input closes (so
 * the test can read /proc/PID/maps):
 *   FULL: main -> level1 -> level2 -> level3 -> qsort (libc) -> compare -> capture,
 *         registers at capture and the whole stack up to its top;
 *   LEAF: main -> leaf_caller -> leaf, a function that sets up no frame: registers at
 *         a point inside it, 512 bytes of stack, and its true return address.
 * Snapshot file: struct snap, then len bytes of stack (from regs[SP]). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct snap {
	uint64_t regs[24]; /* perf_event_open order (asm/perf_regs.h) */
	uint64_t mask;
	uint64_t len;
	uint64_t expected_ra; /* LEAF only */
};

enum { R_BX = 1, R_BP = 6, R_SP = 7, R_IP = 8, R_R12 = 20, R_R13, R_R14, R_R15 };

volatile long sink;
static const char *full_path, *leaf_path;

static void write_snap(const char *path, const struct snap *s, const void *stack)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s, sizeof(*s), 1, f) != 1 || fwrite(stack, 1, s->len, f) != s->len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static uint64_t stack_top(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t a, b, top = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &a, &b) == 2)
			top = b;
	if (f)
		fclose(f);
	return top;
}

__attribute__((noinline)) void capture(void)
{
	static struct snap s;
	uint64_t *r = s.regs;
	__asm__ volatile("leaq 0(%%rip), %%rax\n\t"
			 "movq %%rax, 64(%0)\n\t"   /* IP */
			 "movq %%rsp, 56(%0)\n\t"   /* SP */
			 "movq %%rbp, 48(%0)\n\t"   /* BP */
			 "movq %%rbx, 8(%0)\n\t"    /* BX */
			 "movq %%r12, 160(%0)\n\t"
			 "movq %%r13, 168(%0)\n\t"
			 "movq %%r14, 176(%0)\n\t"
			 "movq %%r15, 184(%0)\n\t"
			 :
			 : "r"(r)
			 : "rax", "memory");
	s.mask = (1ull << R_IP) | (1ull << R_SP) | (1ull << R_BP) | (1ull << R_BX) |
		 (1ull << R_R12) | (1ull << R_R13) | (1ull << R_R14) | (1ull << R_R15);
	uint64_t top = stack_top();
	s.len = top - s.regs[R_SP];
	write_snap(full_path, &s, (const void *)(uintptr_t)s.regs[R_SP]);
}

static int captured;

__attribute__((noinline)) int compare(const void *a, const void *b)
{
	if (!captured) {
		captured = 1;
		capture();
	}
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline)) int level3(int n)
{
	int v[8];
	for (int i = 0; i < 8; i++)
		v[i] = (i * 7 + n) % 8;
	qsort(v, 8, sizeof(int), compare);
	sink += v[0];
	return v[1] + 1;
}

__attribute__((noinline)) int level2(int n)
{
	int r = level3(n + 1);
	sink += r;
	return r * 2;
}

__attribute__((noinline)) int level1(int n)
{
	int r = level2(n + 1);
	sink += r;
	return r * 3;
}

/* ---- the leaf ---- */
static uint64_t leaf_regs[3], leaf_ra; /* ip, sp, bp */
static unsigned char leaf_stack[512];

__attribute__((noinline)) long leaf(long n)
{
	long s = 0;
	for (long i = 0; i < n; i++)
		s += i * i;
	/* a snapshot without a call: this function stays a leaf with no frame */
	uint64_t *out = leaf_regs;
	__asm__ volatile("leaq 0(%%rip), %%rax\n\t"
			 "movq %%rax, 0(%0)\n\t"    /* ip */
			 "movq %%rsp, 8(%0)\n\t"    /* sp */
			 "movq %%rbp, 16(%0)\n\t"   /* bp */
			 "movq %%rsp, %%rsi\n\t"
			 "movq %1, %%rdi\n\t"
			 "movl $64, %%ecx\n\t"
			 "rep movsq\n\t"
			 :
			 : "r"(out), "r"(leaf_stack)
			 : "rax", "rcx", "rsi", "rdi", "memory");
	leaf_ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
	return s;
}

__attribute__((noinline)) long leaf_caller(long n)
{
	long r = leaf(n);
	sink += r;
	return r + 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sym_unwind FULL LEAF\n");
		return 2;
	}
	full_path = argv[1];
	leaf_path = argv[2];
	sink += level1(argc);
	sink += leaf_caller(100);
	struct snap s = { .len = sizeof(leaf_stack), .expected_ra = leaf_ra };
	s.regs[R_IP] = leaf_regs[0];
	s.regs[R_SP] = leaf_regs[1];
	s.regs[R_BP] = leaf_regs[2];
	s.mask = (1ull << R_IP) | (1ull << R_SP) | (1ull << R_BP);
	write_snap(leaf_path, &s, leaf_stack);
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
