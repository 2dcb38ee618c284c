/* test_functions.c: self/total per function, recursion counted once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "profile/functions.h"

static const struct kp_func *find(const struct kp_profile *p, const struct kp_func_table *t, const char *name)
{
	for (uint32_t i = 0; i < t->nfuncs; i++)
		if (!strcmp(kp_str_get(p, t->funcs[i].name), name))
			return &t->funcs[i];
	return NULL;
}

static kp_stack_t stack_of(struct kp_profile *p, const char *const *names, int n)
{
	kp_frame_t f[16];
	for (int i = 0; i < n; i++)
		f[i] = kp_frame_named(p, names[i], strlen(names[i]), 0);
	return kp_stack_from_frames(p, f, (size_t)n);
}

static void test_self_total_recursion(void **state)
{
	struct kp_profile p;
	struct kp_func_table t;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	const char *a[] = { "main", "work", "hot" };
	const char *b[] = { "main", "rec", "rec", "rec" };
	const char *c[] = { "main", "work" };
	double v6 = 6, v3 = 3, v1 = 1;
	kp_add_sample(&p, stack_of(&p, a, 3), 0, 0, &v6);
	kp_add_sample(&p, stack_of(&p, b, 4), 0, 0, &v3);
	kp_add_sample(&p, stack_of(&p, c, 2), 0, 0, &v1);
	kp_func_table_build(&p, 0, NULL, &t);
	assert_true(t.grand_total == 10);
	assert_true(find(&p, &t, "main")->total == 10);
	assert_true(find(&p, &t, "main")->self == 0);
	assert_true(find(&p, &t, "work")->total == 7);
	assert_true(find(&p, &t, "work")->self == 1);
	assert_true(find(&p, &t, "hot")->self == 6);
	assert_true(find(&p, &t, "rec")->total == 3); /* not 9: once per sample */
	assert_true(find(&p, &t, "rec")->self == 3);
	kp_func_table_sort(&p, &t, 0);
	assert_string_equal(kp_str_get(&p, t.funcs[0].name), "hot");
	/* frame_func still maps frames to the right (moved) entries */
	kp_frame_t hot = kp_frame_named(&p, "hot", 3, 0);
	assert_string_equal(kp_str_get(&p, t.funcs[t.frame_func[hot]].name), "hot");
	kp_func_table_sort(&p, &t, 1);
	assert_string_equal(kp_str_get(&p, t.funcs[0].name), "main");
	assert_string_equal(kp_str_get(&p, t.funcs[t.frame_func[hot]].name), "hot");
	/* a filter keeps only the second sample */
	uint8_t keep[3] = { 0, 1, 0 };
	kp_func_table_release(&t);
	kp_func_table_build(&p, 0, keep, &t);
	assert_true(t.grand_total == 3);
	assert_true(find(&p, &t, "work")->total == 0);
	kp_func_table_release(&t);
	kp_profile_release(&p);
}

static void test_lines_merge_into_function(void **state)
{
	struct kp_profile p;
	struct kp_func_table t;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	struct kp_frame f1 = { 0 }, f2 = { 0 };
	f1.name = f2.name = kp_strz(&p, "fn");
	f1.module = f2.module = kp_strz(&p, "/bin/x");
	f1.line = 10;
	f2.line = 20;
	double one = 1;
	kp_add_sample(&p, kp_stack_push(&p, 0, kp_frame(&p, &f1)), 0, 0, &one);
	kp_add_sample(&p, kp_stack_push(&p, 0, kp_frame(&p, &f2)), 0, 0, &one);
	kp_func_table_build(&p, 0, NULL, &t);
	assert_int_equal(t.nfuncs, 1);
	assert_true(t.funcs[0].self == 2 && t.funcs[0].total == 2);
	kp_func_table_release(&t);
	kp_profile_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_total_recursion),
		cmocka_unit_test(test_lines_merge_into_function),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
