/* build: -O2 -g -fno-omit-frame-pointer */
/* sym_basic.c: a program with known symbols for the symbols library's tests.
 *
 * Prints one line per probe address, then "ready", then waits until its standard input
 * closes (so the test can read /proc/PID/maps while it is alive):
 *   sym NAME ADDR             the entry of function NAME (plus 1 when "+1" follows)
 *   inl ADDR L0 L1 L2         a return address inside inner() inlined into outer()
 *                             inlined into real_function(): the call lines of each
 *   spin                      with "spin" as argv[1]: loop forever in hot_loop() instead */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile int sink;
static uintptr_t inl_ra;
static int inl_lines[3];

__attribute__((noinline)) void plain_function(int x)
{
	for (int i = 0; i < x; i++)
		sink += i;
}

static __attribute__((noinline)) void static_function(int x)
{
	for (int i = 0; i < x; i++)
		sink ^= i;
}

/* C++ and Rust names, given to C functions through assembler labels */
__attribute__((noinline)) void cxx_function(int x) __asm__("_ZN4kiln7symbols4testEi");
__attribute__((noinline)) void cxx_function(int x)
{
	sink += x * 3;
}

__attribute__((noinline)) void rust_legacy(void) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");
__attribute__((noinline)) void rust_legacy(void)
{
	sink += 5;
}

__attribute__((noinline)) void rust_v0(void) __asm__("_RNvNtCs1234_7mycrate3foo3bar");
__attribute__((noinline)) void rust_v0(void)
{
	sink += 7;
}

__attribute__((noinline)) void record(int l0, int l1, int l2)
{
	inl_ra = (uintptr_t)__builtin_return_address(0);
	inl_lines[0] = l0;
	inl_lines[1] = l1;
	inl_lines[2] = l2;
	__asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) void inner(int l1, int l2)
{
	record(__LINE__, l1, l2);
	sink++;
}

static inline __attribute__((always_inline)) void outer(int l2)
{
	inner(__LINE__, l2);
	sink++;
}

__attribute__((noinline)) void real_function(void)
{
	outer(__LINE__);
	sink++;
}

__attribute__((noinline)) void hot_loop(void)
{
	for (;;)
		sink++;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "spin") == 0)
		hot_loop();
	real_function();
	plain_function(3);
	static_function(3);
	cxx_function(1);
	rust_legacy();
	rust_v0();
	printf("sym plain_function %p\n", (void *)plain_function);
	printf("sym static_function %p\n", (void *)static_function);
	printf("sym main %p\n", (void *)main);
	printf("sym kiln::symbols::test(int) %p\n", (void *)cxx_function);
	printf("sym core::fmt::write %p\n", (void *)rust_legacy);
	printf("sym mycrate::foo::bar %p\n", (void *)rust_v0);
	printf("raw _ZN4kiln7symbols4testEi %p\n", (void *)cxx_function);
	printf("inl %p %d %d %d\n", (void *)inl_ra, inl_lines[0], inl_lines[1], inl_lines[2]);
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
