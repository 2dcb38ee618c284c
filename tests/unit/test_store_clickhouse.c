/* test_store_clickhouse.c: the parts of the clickhouse:// and pyroscope:// backends that
 * need no server: reading ClickHouse's TSV answers (kst_ch_rows), building a query's
 * profile from them (kst_ch_build_profile), and the URLs. The backends against a real
 * clickhouse-server and a fake Pyroscope are tests/e2e/t2201 and t2202. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "profile/profile.h"
#include "store/clickhouse.h"
#include "store/store.h"
#include "util/strbuf.h"

struct rows {
	int n;
	uint64_t u[8];
	int64_t i[8];
	char s[8][64];
	size_t alen[8];
	uint64_t a0[8];
};

static int take(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	struct rows *r = arg;
	if (r->n >= 8)
		return 0;
	r->u[r->n] = f[0].u;
	r->i[r->n] = f[1].i;
	memcpy(r->s[r->n], f[2].s, f[2].len < 63 ? f[2].len : 63);
	r->alen[r->n] = f[3].n;
	r->a0[r->n] = f[3].n ? f[3].a[f[3].n - 1] : 0;
	r->n++;
	return 0;
}

static int parse(const char *text, struct rows *r, struct strbuf *err)
{
	memset(r, 0, sizeof(*r));
	strbuf_reset(err);
	return kst_ch_rows(text, strlen(text), "uisa", take, r, err);
}

static void test_rows(void **state)
{
	(void)state;
	struct rows r;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(parse("18446744073709551615\t-9223372036854775808\ta\\tb\\\\c\\'d\\n\t[1,2,3]\n"
			       "0\t5\t\t[]\n", &r, &err), 0);
	assert_int_equal(r.n, 2);
	assert_true(r.u[0] == UINT64_MAX);
	assert_true(r.i[0] == INT64_MIN);
	assert_string_equal(r.s[0], "a\tb\\c'd\n");
	assert_int_equal(r.alen[0], 3);
	assert_int_equal(r.a0[0], 3);
	assert_int_equal(r.alen[1], 0);
	assert_string_equal(r.s[1], "");
	/* no final newline is fine; an empty answer has no rows */
	assert_int_equal(parse("1\t2\tx\t[4]", &r, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(parse("", &r, &err), 0);
	assert_int_equal(r.n, 0);

	static const char *const bad[] = {
		"1\t2\tx\n",                       /* a field missing */
		"1\t2\tx\t[1]\textra\n",           /* one too many */
		"18446744073709551616\t2\tx\t[]\n", /* past 2^64 */
		"-1\t2\tx\t[]\n",                  /* negative unsigned */
		"1\t9223372036854775808\tx\t[]\n", /* past INT64_MAX */
		"1\t2\tx\\\t[]\n",                 /* a backslash at the end of a field */
		"1\t2\tx\t[1,,2]\n",
		"1\t2\tx\t[1,2\n",
		"1\t2\tx\t1,2]\n",
		"\n",
		"Code: 47, e.displayText() = DB::Exception: Unknown identifier\n",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(parse(bad[k], &r, &err), -1);
		assert_non_null(strstr(err.buf, "not what kiln asked for"));
		assert_null(strchr(err.buf, '\n'));
		assert_null(strchr(err.buf, '\t'));
	}
	/* a row after a bad one is not read */
	assert_int_equal(parse("1\t2\tx\t[]\nbad\n3\t4\ty\t[]\n", &r, &err), -1);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(err.buf, "row 2"));
	strbuf_release(&err);
}

static void test_build(void **state)
{
	(void)state;
	const char *frames = "11\tmain\t/bin/app\tapp.c\t3\t0\t0\n"
			     "12\twork\\ta\t/bin/app\t\t0\t0\t4096\n"
			     "13\tschedule\t[kernel.kallsyms]\t\t0\t1\t0\n";
	const char *stacks = "21\t[11,12]\n22\t[11,12,13]\n23\t[11,99]\n";
	const char *samples = "h1\t42\tapp\t21\t5000\t7\t700\n"
			      "h1\t42\tapp\t22\t3000\t2\t200\n"
			      "h2\t42\tapp\t21\t4000\t1\t100\n"
			      "h2\t43\tother\t77\t4000\t1\t100\n"
			      "h2\t43\tother\t23\t4000\t1\t100\n";
	struct kp_profile p;
	struct strbuf err = STRBUF_INIT;
	kp_profile_init(&p);
	assert_int_equal(kst_ch_build_profile(frames, strlen(frames), stacks, strlen(stacks), samples,
					      strlen(samples), 0, &p, &err), 0);
	assert_int_equal(p.nsamples, 5);
	assert_int_equal(p.nvalues, 2);
	assert_string_equal(kp_str_get(&p, p.value_types[0].name), "samples");
	assert_string_equal(kp_str_get(&p, p.value_types[1].name), "cpu_ns");
	assert_true(kp_total(&p, 0) == 12 && kp_total(&p, 1) == 1200);
	/* base = the first start (3000) */
	assert_true(p.sample_time[0] == 2000 && p.sample_time[1] == 0);
	/* one thread per (host, pid, comm): pid 42 on two hosts is two threads */
	assert_int_equal(p.nthreads, 1 + 3);
	assert_int_equal(p.sample_thread[0], p.sample_thread[1]);
	assert_int_not_equal(p.sample_thread[0], p.sample_thread[2]);
	assert_string_equal(kp_str_get(&p, p.threads[p.sample_thread[3]].comm), "other");
	/* stacks root first, frames whole */
	kp_frame_t fr[8];
	assert_int_equal(kp_stack_frames(&p, p.sample_stack[1], fr, 8), 3);
	assert_string_equal(kp_str_get(&p, p.frames[fr[0]].name), "main");
	assert_string_equal(kp_str_get(&p, p.frames[fr[0]].file), "app.c");
	assert_int_equal(p.frames[fr[0]].line, 3);
	assert_string_equal(kp_str_get(&p, p.frames[fr[1]].name), "work\ta");
	assert_true(p.frames[fr[1]].addr == 4096);
	assert_int_equal(p.frames[fr[2]].flags, KP_FRAME_KERNEL);
	/* an unknown stack or frame is named, not an error */
	assert_int_equal(kp_stack_frames(&p, p.sample_stack[3], fr, 8), 1);
	assert_string_equal(kp_str_get(&p, p.frames[fr[0]].name), "[missing stack]");
	assert_int_equal(kp_stack_frames(&p, p.sample_stack[4], fr, 8), 2);
	assert_string_equal(kp_str_get(&p, p.frames[fr[1]].name), "[missing frame]");
	kp_profile_release(&p);

	/* with a base: times from it; a window that began before it is at 0 */
	kp_profile_init(&p);
	assert_int_equal(kst_ch_build_profile(frames, strlen(frames), stacks, strlen(stacks), samples,
					      strlen(samples), 4000, &p, &err), 0);
	assert_true(p.sample_time[0] == 1000 && p.sample_time[1] == 0);
	kp_profile_release(&p);

	/* garbage in any of the three: -1, one line */
	kp_profile_init(&p);
	assert_int_equal(kst_ch_build_profile(frames, strlen(frames), "21\t[11;12]\n", 11, samples,
					      strlen(samples), 0, &p, &err), -1);
	assert_non_null(strstr(err.buf, "not what kiln asked for"));
	kp_profile_release(&p);
	strbuf_release(&err);
}

static void test_urls(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"clickhouse://",
		"clickhouse://host:0/db",
		"clickhouse://host:65536/db",
		"clickhouse://host:8123/9db",
		"clickhouse://host:8123/db;drop",
		"clickhouse://host:8123/db?timeout=0",
		"clickhouse://host:8123/db?user=x",
		"clickhouse://ho st:8123/db",
		"pyroscope://",
		"pyroscope://host:4040/x",
		"pyroscope://host:4040?timeout=abc",
	};
	struct strbuf err = STRBUF_INIT;
	struct kst s;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		strbuf_reset(&err);
		assert_int_equal(kst_open(&s, bad[k], KST_WRITE, &err), -1);
		assert_non_null(strstr(err.buf, "is not a"));
		assert_non_null(strstr(err.buf, bad[k]));
	}
	/* nothing listens on port 1: refused at once, one line */
	strbuf_reset(&err);
	assert_int_equal(kst_open(&s, "clickhouse://127.0.0.1:1/db?connect_timeout=2", KST_READ, &err), -1);
	assert_non_null(strstr(err.buf, "cannot reach clickhouse at '127.0.0.1:1'"));
	assert_null(strchr(err.buf, '\n'));
	/* pyroscope is a sink only */
	strbuf_reset(&err);
	assert_int_equal(kst_open(&s, "pyroscope://127.0.0.1:4040", KST_READ, &err), -1);
	assert_non_null(strstr(err.buf, "sink only"));
	strbuf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
