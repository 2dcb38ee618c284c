/* test_annotate.c: kiln annotate's aggregation (report/annotate.c): self per line and per
 * address from the leaf frame, total once per line (and address) per sample even when the
 * function recurses, other functions (inlined ones too) kept apart, the recorded-file
 * lookup in the meta. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "profile/functions.h"
#include "report/annotate.h"

#include "unit.h"

static kp_frame_t fr(struct kp_profile *p, const char *name, const char *file, uint32_t line, uint64_t addr,
		     uint32_t flags)
{
	struct kp_frame f = { .name = kp_strz(p, name), .module = kp_strz(p, "/bin/app"),
			      .file = file ? kp_strz(p, file) : 0, .line = line, .flags = flags, .addr = addr };
	return kp_frame(p, &f);
}

static void add(struct kp_profile *p, const kp_frame_t *fs, size_t n, double v)
{
	kp_add_sample(p, kp_stack_from_frames(p, fs, n), 0, 0, &v);
}

static const struct ka_line *find_line(const struct ka_result *r, uint32_t line)
{
	for (uint32_t i = 0; i < r->nlines; i++)
		if (r->lines[i].line == line)
			return &r->lines[i];
	return NULL;
}

static void test_lines_and_addresses(void **state)
{
	(void)state;
	struct kp_profile p;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	kp_frame_t m = fr(&p, "main", "/s/app.c", 40, 0x400, 0);
	kp_frame_t f10 = fr(&p, "f", "/s/app.c", 10, 0x100, 0);
	kp_frame_t f11a = fr(&p, "f", "/s/app.c", 11, 0x104, 0);
	kp_frame_t f11b = fr(&p, "f", "/s/app.c", 11, 0x108, 0);
	kp_frame_t f12 = fr(&p, "f", "/s/app.c", 12, 0x10c, 0); /* a call to g */
	kp_frame_t g = fr(&p, "g", "/s/app.c", 30, 0x300, 0);
	kp_frame_t inl = fr(&p, "helper", "/s/app.h", 5, 0x110, KP_FRAME_INLINE); /* inlined into f */
	kp_frame_t f13 = fr(&p, "f", "/s/app.c", 13, 0x110, 0);                    /* its call site */
	add(&p, (kp_frame_t[]){ m, f10 }, 2, 1);
	add(&p, (kp_frame_t[]){ m, f11a }, 2, 5);
	add(&p, (kp_frame_t[]){ m, f11b }, 2, 3);
	add(&p, (kp_frame_t[]){ m, f12, g }, 3, 7);
	add(&p, (kp_frame_t[]){ m, f13, inl }, 3, 2);
	/* recursion: f at line 12 twice on one stack, then f at 11: line 12 counts once */
	add(&p, (kp_frame_t[]){ m, f12, f12, f11a }, 4, 4);
	add(&p, (kp_frame_t[]){ m }, 1, 10); /* not in f */

	struct ka_result r;
	ka_build(&p, 0, p.frames[f10].name, p.frames[f10].module, &r);
	assert_true(r.self == 1 + 5 + 3 + 4);
	assert_true(r.total == 1 + 5 + 3 + 7 + 2 + 4);
	assert_true(r.grand_total == 32);
	assert_int_equal(r.nlines, 4);
	assert_string_equal(kp_str_get(&p, r.file), "/s/app.c");
	const struct ka_line *l;
	assert_non_null(l = find_line(&r, 10));
	assert_true(l->self == 1 && l->total == 1);
	assert_non_null(l = find_line(&r, 11));
	assert_true(l->self == 12 && l->total == 12);
	assert_non_null(l = find_line(&r, 12));
	assert_true(l->self == 0 && l->total == 11); /* 7 in g, 4 in the recursion, once */
	assert_non_null(l = find_line(&r, 13));
	assert_true(l->self == 0 && l->total == 2); /* the inlined helper's time, on its call line */
	double ssum = 0;
	for (uint32_t i = 0; i < r.nlines; i++)
		ssum += r.lines[i].self;
	assert_true(ssum == r.self);
	/* addresses: sorted, self by the leaf's */
	assert_int_equal(r.ninsns, 5);
	assert_true(r.insns[0].addr == 0x100 && r.insns[1].addr == 0x104 && r.insns[1].self == 9);
	assert_true(r.insns[3].addr == 0x10c && r.insns[3].total == 11 && r.insns[3].self == 0);
	/* the same as kiln report's table */
	struct kp_func_table t;
	kp_func_table_build(&p, 0, NULL, &t);
	for (uint32_t i = 0; i < t.nfuncs; i++)
		if (t.funcs[i].name == r.name && t.funcs[i].module == r.module)
			assert_true(t.funcs[i].self == r.self && t.funcs[i].total == r.total);
	kp_func_table_release(&t);
	ka_release(&r);

	/* the inlined helper is its own function, with its own file and line */
	ka_build(&p, 0, p.frames[inl].name, p.frames[inl].module, &r);
	assert_true(r.self == 2 && r.total == 2 && r.nlines == 1 && r.lines[0].line == 5);
	assert_string_equal(kp_str_get(&p, r.file), "/s/app.h");
	ka_release(&r);
	kp_profile_release(&p);
}

static void test_no_lines(void **state)
{
	(void)state;
	struct kp_profile p;
	kp_profile_init(&p);
	kp_add_value_type(&p, "samples", "count");
	kp_frame_t f = fr(&p, "f", NULL, 0, 0, 0);
	add(&p, (kp_frame_t[]){ f }, 1, 3);
	struct ka_result r;
	ka_build(&p, 0, p.frames[f].name, p.frames[f].module, &r);
	assert_true(r.self == 3 && r.total == 3 && r.noline_total == 3 && r.noaddr_total == 3);
	assert_int_equal(r.nlines, 0);
	assert_int_equal(r.ninsns, 0);
	ka_release(&r);
	kp_profile_release(&p);
}

static void test_recorded_files(void **state)
{
	(void)state;
	struct kp_profile p;
	kp_profile_init(&p);
	kp_meta_set(&p, "source_files", "00000000000000ff 12 /s/a b.c\n0123456789abcdef 7 /s/x.c\n");
	kp_meta_set(&p, "module_files", "1700000000000000001 9000 /bin/app\n");
	uint64_t a, b;
	assert_int_equal(ka_recorded_source(&p, "/s/x.c", &a, &b), 1);
	assert_true(a == 0x0123456789abcdefull && b == 7);
	assert_int_equal(ka_recorded_source(&p, "/s/a b.c", &a, &b), 1);
	assert_true(a == 0xff && b == 12);
	assert_int_equal(ka_recorded_source(&p, "/s/a", &a, &b), 0);
	assert_int_equal(ka_recorded_source(&p, "/s/x.cc", &a, &b), 0);
	assert_int_equal(ka_recorded_module(&p, "/bin/app", &a, &b), 1);
	assert_true(a == 1700000000000000001ull && b == 9000);
	assert_int_equal(ka_recorded_module(&p, "/bin/ap", &a, &b), 0);
	char id[64];
	kp_meta_set(&p, "module_build_ids", "aa01 /bin/a\n89f265a9 /bin/app\n");
	assert_int_equal(ka_recorded_build_id(&p, "/bin/app", id, sizeof(id)), 1);
	assert_string_equal(id, "89f265a9");
	assert_int_equal(ka_recorded_build_id(&p, "/bin/ap", id, sizeof(id)), 0);
	assert_int_equal(ka_recorded_build_id(&p, "/bin/app", id, 4), 0); /* does not fit */
	kp_profile_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_addresses),
		cmocka_unit_test(test_no_lines),
		cmocka_unit_test(test_recorded_files),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
