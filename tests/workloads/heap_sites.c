/* build: -O1 -g -fomit-frame-pointer -fno-inline */
/* heap_sites.c: 4096 functions (site_000 .. site_fff), each making one block of its own
 * size (its number + 1 bytes), all run twice, and kept: more distinct call sites than
 * the heap library's unwind-rule table starts with, so that it grows while the program
 * runs. Built without frame pointers: each site is unwound by its CFI rule. */
#include <stdlib.h>

static void *blocks[2][4096];

#define SITE(h) \
	__attribute__((noinline)) static void site_##h(int r) { blocks[r][0x##h] = malloc(0x##h + 1); }
#define SITES16(p) SITE(p##0) SITE(p##1) SITE(p##2) SITE(p##3) SITE(p##4) SITE(p##5) SITE(p##6) \
	SITE(p##7) SITE(p##8) SITE(p##9) SITE(p##a) SITE(p##b) SITE(p##c) SITE(p##d) SITE(p##e) SITE(p##f)
#define SITES256(p) SITES16(p##0) SITES16(p##1) SITES16(p##2) SITES16(p##3) SITES16(p##4) \
	SITES16(p##5) SITES16(p##6) SITES16(p##7) SITES16(p##8) SITES16(p##9) SITES16(p##a) \
	SITES16(p##b) SITES16(p##c) SITES16(p##d) SITES16(p##e) SITES16(p##f)
SITES256(0) SITES256(1) SITES256(2) SITES256(3) SITES256(4) SITES256(5) SITES256(6) SITES256(7)
SITES256(8) SITES256(9) SITES256(a) SITES256(b) SITES256(c) SITES256(d) SITES256(e) SITES256(f)

#define REF(h) site_##h,
#define REFS16(p) REF(p##0) REF(p##1) REF(p##2) REF(p##3) REF(p##4) REF(p##5) REF(p##6) REF(p##7) \
	REF(p##8) REF(p##9) REF(p##a) REF(p##b) REF(p##c) REF(p##d) REF(p##e) REF(p##f)
#define REFS256(p) REFS16(p##0) REFS16(p##1) REFS16(p##2) REFS16(p##3) REFS16(p##4) REFS16(p##5) \
	REFS16(p##6) REFS16(p##7) REFS16(p##8) REFS16(p##9) REFS16(p##a) REFS16(p##b) \
	REFS16(p##c) REFS16(p##d) REFS16(p##e) REFS16(p##f)
static void (*const sites[4096])(int) = {
	REFS256(0) REFS256(1) REFS256(2) REFS256(3) REFS256(4) REFS256(5) REFS256(6) REFS256(7)
	REFS256(8) REFS256(9) REFS256(a) REFS256(b) REFS256(c) REFS256(d) REFS256(e) REFS256(f)
};

int main(void)
{
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < 4096; i++)
			sites[i](r);
	return blocks[1][4095] ? 0 : 1;
}
