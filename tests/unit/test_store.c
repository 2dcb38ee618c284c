/* test_store.c: labels, windows, times and the backend dispatch of store/store.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "profile/profile.h"
#include "store/store.h"
#include "store/store_url.h"
#include "util/strbuf.h"

static void test_labels(void **state)
{
	(void)state;
	struct kst_labels l = KST_LABELS_INIT;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(kst_label_parse("service=api", &l, &err), 0);
	assert_int_equal(kst_label_parse("env=prod=1", &l, &err), 0); /* the first '=' splits */
	assert_int_equal(kst_label_parse("service=web", &l, &err), 0); /* replaces */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].key, "env"); /* sorted */
	assert_string_equal(kst_labels_get(&l, "env"), "prod=1");
	assert_string_equal(kst_labels_get(&l, "service"), "web");
	assert_null(kst_labels_get(&l, "host"));
	assert_int_equal(kst_label_parse("noequals", &l, &err), -1);
	assert_non_null(strstr(err.buf, "'noequals'"));
	strbuf_reset(&err);
	assert_int_equal(kst_label_parse("9bad=x", &l, &err), -1);
	assert_int_equal(kst_label_parse("=x", &l, &err), -1);
	assert_int_equal(l.n, 2);

	struct strbuf sb = STRBUF_INIT;
	kst_labels_format(&l, &sb);
	assert_string_equal(sb.buf, "env=prod=1\nservice=web\n");
	struct kst_labels back = KST_LABELS_INIT, want = KST_LABELS_INIT;
	assert_int_equal(kst_labels_read(sb.buf, &back, &err), 0);
	assert_int_equal(back.n, 2);
	assert_true(kst_labels_match(&back, &want)); /* empty filter matches */
	kst_labels_set(&want, "service", "web");
	assert_true(kst_labels_match(&back, &want));
	kst_labels_set(&want, "service", "api");
	assert_false(kst_labels_match(&back, &want));
	kst_labels_release(&want);
	kst_labels_release(&back);
	kst_labels_release(&l);
	strbuf_release(&sb);
	strbuf_release(&err);
}

static void test_window(void **state)
{
	(void)state;
	struct kp_profile w;
	kp_profile_init(&w);
	struct strbuf err = STRBUF_INIT;
	uint64_t a, b;
	assert_int_equal(kst_window_range(&w, &a, &b, &err), -1);
	kst_window_set_range(&w, 1765000000000000000ull, 1765000010000000000ull);
	assert_int_equal(kst_window_range(&w, &a, &b, &err), 0);
	assert_true(a == 1765000000000000000ull && b == 1765000010000000000ull);
	kp_meta_set(&w, KST_META_HOST, "h1");
	kp_meta_set(&w, KST_META_LABELS, "service=agentwide\nzone=z1\n");
	struct kst_labels p = KST_LABELS_INIT, out = KST_LABELS_INIT;
	kst_labels_set(&p, "comm", "python3");
	kst_labels_set(&p, "service", "api"); /* the process's own wins */
	kst_window_set_proc(&w, 42, &p);
	kst_window_labels(&w, 42, &out);
	assert_string_equal(kst_labels_get(&out, "host"), "h1");
	assert_string_equal(kst_labels_get(&out, "pid"), "42");
	assert_string_equal(kst_labels_get(&out, "comm"), "python3");
	assert_string_equal(kst_labels_get(&out, "service"), "api");
	assert_string_equal(kst_labels_get(&out, "zone"), "z1");
	kst_window_labels(&w, 7, &out); /* a process without labels of its own */
	assert_string_equal(kst_labels_get(&out, "service"), "agentwide");
	assert_null(kst_labels_get(&out, "comm"));

	struct kst_query q;
	memset(&q, 0, sizeof(q));
	q.comm = "python3";
	assert_false(kst_query_match(&q, &out));
	kst_window_labels(&w, 42, &out);
	assert_true(kst_query_match(&q, &out));
	kst_labels_release(&p);
	kst_labels_release(&out);
	kp_profile_release(&w);
	strbuf_release(&err);
}

static void test_time(void **state)
{
	(void)state;
	struct strbuf err = STRBUF_INIT;
	uint64_t now = 1765000000ull * 1000000000ull, t;
	assert_int_equal(kst_parse_time("now", now, &t, &err), 0);
	assert_true(t == now);
	assert_int_equal(kst_parse_time("now-90m", now, &t, &err), 0);
	assert_true(t == now - 90ull * 60 * 1000000000ull);
	assert_int_equal(kst_parse_time("-1d", now, &t, &err), 0);
	assert_true(t == now - 86400ull * 1000000000ull);
	assert_int_equal(kst_parse_time("1765000000", now, &t, &err), 0);
	assert_true(t == now);
	assert_int_equal(kst_parse_time("@123", now, &t, &err), 0);
	assert_true(t == 123);
	assert_int_equal(kst_parse_time("2025-12-06T05:46:40Z", now, &t, &err), 0);
	assert_true(t == now);
	assert_int_equal(kst_parse_time("2025-12-06 05:46", now, &t, &err), 0);
	assert_true(t == now - 40ull * 1000000000ull);
	assert_int_equal(kst_parse_time("2025-12-06", now, &t, &err), 0);
	const char *bad[] = { "", "yesterday", "now-", "now-5", "-5x", "2025-13-40", "2025-12-06T25:00",
			      "12abc", "@", "@x", "now+1h", "-99999999999999999999d", "-100000000w" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strbuf_reset(&err);
		assert_int_equal(kst_parse_time(bad[i], now, &t, &err), -1);
		assert_non_null(strstr(err.buf, "is not understood"));
	}
	strbuf_release(&err);
}

static void test_open_unknown(void **state)
{
	(void)state;
	struct kst s;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(kst_open(&s, "gopher://x", KST_READ, &err), -1);
	assert_non_null(strstr(err.buf, "'gopher://x'"));
	strbuf_release(&err);
}

static void test_url(void **state)
{
	(void)state;
	struct kst_url u;
	assert_int_equal(kst_url_parse("clickhouse://db.example-1:9123/prof_2?timeout=5&connect_timeout=2",
				       "clickhouse://", 8123, 60000, &u), 0);
	assert_string_equal(u.hostport, "db.example-1:9123");
	assert_int_equal(u.path_len, 6);
	assert_memory_equal(u.path, "prof_2", 6);
	assert_int_equal(u.total_ms, 5000);
	assert_int_equal(u.connect_ms, 2000);
	free(u.hostport);
	assert_int_equal(kst_url_parse("pyroscope://[::1]", "pyroscope://", 4040, 30000, &u), 0);
	assert_string_equal(u.hostport, "[::1]:4040");
	assert_int_equal(u.path_len, 0);
	assert_int_equal(u.total_ms, 30000);
	assert_int_equal(u.connect_ms, 5000);
	free(u.hostport);
	assert_int_equal(kst_url_parse("pyroscope://h/", "pyroscope://", 4040, 30000, &u), 0);
	free(u.hostport);
	const char *bad[] = { "pyroscope://", "pyroscope://h:0", "pyroscope://h:65536", "pyroscope://h:",
			      "pyroscope://h/a/b", "pyroscope://h?timeout=0", "pyroscope://h?timeout=86401",
			      "pyroscope://h?retries=1", "pyroscope://h?timeout", "pyroscope://[::1",
			      "pyroscope://h x", "clickhouse://h" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kst_url_parse(bad[i], "pyroscope://", 4040, 30000, &u), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_open_unknown),
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
