/* test_netlibs.c: libcurl and libmicrohttpd loaded on first use (util/netlibs.h): neither is
 * in the process before, threads asking at once all get the one load, and calls through
 * the dl_ pointers work: curl's variadic setopt and getinfo with each kind of value, and
 * a request from libcurl answered by a libmicrohttpd server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "util/netlibs.h"
#include "util/strbuf.h"

/* Whether a library is in the process (RTLD_NOLOAD loads nothing). */
static int in_process(const char *soname)
{
	void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	dlclose(h);
	return 1;
}

#define NTHREADS 8
struct seen {
	pthread_barrier_t *start;
	int curl_rc, mhd_rc;
	void *easy_init, *start_daemon;
};

static void *first_use(void *arg)
{
	struct seen *s = arg;
	struct strbuf err = STRBUF_INIT;
	pthread_barrier_wait(s->start);
	s->curl_rc = netlibs_load_curl(&err);
	s->mhd_rc = netlibs_load_mhd(&err);
	memcpy(&s->easy_init, &dl_curl_easy_init, sizeof(s->easy_init));
	memcpy(&s->start_daemon, &dl_MHD_start_daemon, sizeof(s->start_daemon));
	strbuf_release(&err);
	return NULL;
}

/* First: nothing is loaded until asked for, then every thread sees the same functions. */
static void test_first_use_from_threads(void **state)
{
	(void)state;
	assert_false(in_process("libcurl.so.4"));
	assert_false(in_process("libmicrohttpd.so.12"));
	assert_null(dl_curl_easy_init);
	assert_null(dl_MHD_start_daemon);

	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, NTHREADS);
	pthread_t th[NTHREADS];
	struct seen seen[NTHREADS];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < NTHREADS; i++) {
		seen[i].start = &start;
		assert_int_equal(pthread_create(&th[i], NULL, first_use, &seen[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(seen[i].curl_rc, 0);
		assert_int_equal(seen[i].mhd_rc, 0);
		assert_non_null(seen[i].easy_init);
		assert_non_null(seen[i].start_daemon);
		assert_ptr_equal(seen[i].easy_init, seen[0].easy_init);
		assert_ptr_equal(seen[i].start_daemon, seen[0].start_daemon);
	}
	assert_true(in_process("libcurl.so.4"));
	assert_true(in_process("libmicrohttpd.so.12"));
	/* the pointers are the libraries' own functions */
	void *h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD);
	assert_non_null(h);
	assert_ptr_equal(dlsym(h, "curl_easy_init"), seen[0].easy_init);
	dlclose(h);
	/* asked again: the same answer, nothing added to err */
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(netlibs_load_curl(&err), 0);
	assert_int_equal(netlibs_load_mhd(&err), 0);
	assert_int_equal(err.len, 0);
	strbuf_release(&err);
}

/* curl_easy_setopt and curl_easy_getinfo through their pointers, a value of each type. */
static void test_curl_varargs(void **state)
{
	(void)state;
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(netlibs_load_curl(&err), 0);
	CURL *c = dl_curl_easy_init();
	assert_non_null(c);
	/* values curl checks, so a refusal shows how the value arrived: a long, a curl_off_t */
	assert_int_equal(dl_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L), CURLE_OK);
	assert_int_equal(dl_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, -1L), CURLE_BAD_FUNCTION_ARGUMENT);
	assert_int_equal(dl_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
	assert_int_equal(dl_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-2), CURLE_BAD_FUNCTION_ARGUMENT);
	/* a pointer */
	assert_int_equal(dl_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http"), CURLE_OK);
	assert_int_equal(dl_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "no-such-protocol"), CURLE_UNSUPPORTED_PROTOCOL);
	long status = -1;
	assert_int_equal(dl_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
	assert_int_equal(status, 0); /* no transfer yet */
	char *e = dl_curl_easy_escape(c, "a b&c=d", 0);
	assert_string_equal(e, "a%20b%26c%3Dd");
	dl_curl_free(e);
	assert_non_null(strstr(dl_curl_easy_strerror(CURLE_OPERATION_TIMEDOUT), "imeout"));
	dl_curl_easy_cleanup(c);
	strbuf_release(&err);
}

/* ---- a request from libcurl to a libmicrohttpd server ---- */

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **req)
{
	static int seen;
	if (!*req) {
		*req = &seen;
		return MHD_YES;
	}
	const char *who = dl_MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "who");
	char body[128];
	snprintf(body, sizeof(body), "hello %s at %s", who ? who : "?", url);
	struct MHD_Response *r = dl_MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	dl_MHD_add_response_header(r, "X-Kiln-Test", "yes");
	enum MHD_Result rc = dl_MHD_queue_response(c, 203, r);
	dl_MHD_destroy_response(r);
	return rc;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	strbuf_add(arg, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	if (size * n >= 11 && !strncasecmp(p, "X-Kiln-Test", 11))
		*(int *)arg = 1;
	return size * n;
}

static void test_http_roundtrip(void **state)
{
	(void)state;
	struct strbuf err = STRBUF_INIT, body = STRBUF_INIT;
	assert_int_equal(netlibs_load_curl(&err), 0);
	assert_int_equal(netlibs_load_mhd(&err), 0);

	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	struct MHD_Daemon *d = dl_MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
						   answer, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
						   MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	assert_non_null(d);

	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/path?who=kiln", ntohs(a.sin_port));
	CURL *c = dl_curl_easy_init();
	int header_seen = 0;
	assert_non_null(c);
	dl_curl_easy_setopt(c, CURLOPT_URL, url);
	dl_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	dl_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	dl_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	dl_curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	dl_curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	dl_curl_easy_setopt(c, CURLOPT_HEADERDATA, &header_seen);
	assert_int_equal(dl_curl_easy_perform(c), CURLE_OK);
	long status = 0;
	dl_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 203);
	assert_string_equal(body.buf, "hello kiln at /path");
	assert_true(header_seen);
	dl_curl_easy_cleanup(c);
	dl_MHD_stop_daemon(d); /* (which closes fd) */
	strbuf_release(&body);
	strbuf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_use_from_threads), /* first: nothing loaded yet */
		cmocka_unit_test(test_curl_varargs),
		cmocka_unit_test(test_http_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
