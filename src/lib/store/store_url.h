/* store_url.h: the URLs of the HTTP backends (store_clickhouse.c, store_pyroscope.c):
 *   SCHEME://HOST[:PORT][/PATH][?timeout=S&connect_timeout=S]
 * HOST is a name ([A-Za-z0-9._-]+) or [IPv6]; PORT 1..65535; PATH one word
 * ([A-Za-z0-9_]*, what a database name may be); S whole seconds, 1..86400. */
#ifndef KILN_STORE_STORE_URL_H
#define KILN_STORE_STORE_URL_H
#include <stddef.h>

struct kst_url {
	char *hostport;          /* "HOST:PORT" (owned: free it) */
	const char *path;        /* into the spec; path_len bytes, 0 when absent */
	size_t path_len;
	long connect_ms, total_ms;
};

/* Parses spec, which starts with scheme ("clickhouse://"); the defaults fill what the
 * URL leaves out. Returns 0, or -1 when spec is not such a URL (nothing allocated). */
int kst_url_parse(const char *spec, const char *scheme, unsigned default_port, long default_total_ms,
		  struct kst_url *u);

/* A libcurl easy handle for the HTTP backends: http only, no signals, the timeouts
 * (a kst_url's connect_ms and total_ms), kiln's user agent, errors into errbuf (CURL_ERROR_SIZE bytes, which must
 * outlive the handle). libcurl is loaded (util/netlibs.h) and set up once. NULL when libcurl
 * cannot be loaded or cannot start one (err says so). The handle is the caller's:
 * dl_curl_easy_cleanup. */
struct strbuf;
void *kst_http_open(long connect_ms, long total_ms, char *errbuf, struct strbuf *err);

#endif
