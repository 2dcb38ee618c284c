/* test_u64map.c: the 64-bit hash set and map (util/u64map.h) and the hashes
 * (util/hash.h): membership through growth, key 0, values kept across growth, FNV-1a's
 * published test vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "util/hash.h"
#include "util/u64map.h"

/* keys that are not a simple sequence, and collide in the low bits */
static uint64_t key(uint64_t i)
{
	return i << 20 | 7;
}

static void test_set(void **state)
{
	(void)state;
	struct u64set s = { 0 };
	assert_false(u64set_has(&s, 5)); /* empty, never allocated */
	for (uint64_t i = 0; i < 5000; i++)
		u64set_add(&s, key(i));
	for (uint64_t i = 0; i < 5000; i++)
		u64set_add(&s, key(i)); /* again: no duplicates */
	assert_int_equal(s.n, 5000);
	assert_true(s.size >= 2 * s.n);
	for (uint64_t i = 0; i < 5000; i++)
		assert_true(u64set_has(&s, key(i)));
	assert_false(u64set_has(&s, key(5000)));
	assert_false(u64set_has(&s, 8));
	/* 0 is stored as 1: the two are one key */
	u64set_add(&s, 0);
	assert_true(u64set_has(&s, 0));
	assert_true(u64set_has(&s, 1));
	assert_int_equal(s.n, 5001);
	u64set_release(&s);
	assert_int_equal(s.n, 0);
	assert_false(u64set_has(&s, key(1)));
}

static void test_map(void **state)
{
	(void)state;
	struct u64map m = { 0 };
	uint32_t v = 99;
	int found = -1;
	assert_false(u64map_get(&m, 3, &v));
	assert_int_equal(v, 99);
	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t *slot = u64map_slot(&m, key(i), &found);
		assert_false(found);
		assert_int_equal(*slot, 0);
		*slot = i + 1;
	}
	*u64map_slot(&m, key(17), &found) += 1000; /* an existing key: the same slot */
	assert_true(found);
	assert_int_equal(m.n, 3000);
	for (uint32_t i = 0; i < 3000; i++) {
		assert_true(u64map_get(&m, key(i), &v));
		assert_int_equal(v, i == 17 ? 1018 : i + 1);
	}
	assert_false(u64map_get(&m, key(3000), &v));
	/* put: adds, or says the key is there and keeps its value */
	assert_int_equal(u64map_put(&m, key(3000), 7), 0);
	assert_int_equal(u64map_put(&m, key(3000), 8), 1);
	assert_true(u64map_get(&m, key(3000), &v));
	assert_int_equal(v, 7);
	assert_int_equal(m.n, 3001);
	*u64map_slot(&m, 0, &found) = 42;
	assert_true(u64map_get(&m, 1, &v));
	assert_int_equal(v, 42);
	u64map_release(&m);
	assert_false(u64map_get(&m, key(1), &v));
}

static void test_hash(void **state)
{
	(void)state;
	/* FNV-1a 64 test vectors (the FNV authors' published table) */
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ull);
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "foobar", 6) == 0x85944171f73967e8ull);
	/* in pieces: the same as at once */
	assert_true(hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ull);
	/* the mix is a bijection fixing 0 and spreading neighbours apart */
	assert_true(hash_mix64(0) == 0);
	assert_true(hash_mix64(1) != hash_mix64(2));
	assert_true(__builtin_popcountll(hash_mix64(1) ^ hash_mix64(2)) > 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
