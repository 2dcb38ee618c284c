/* store_url.c: the URLs of the HTTP backends (store_url.h). */
#include "store/store_url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "util/netlibs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* A decimal of len digits from 1 to max. */
static int num(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!len || len > 6)
		return -1;
	for (size_t k = 0; k < len; k++) {
		if (!isdigit((unsigned char)s[k]))
			return -1;
		v = v * 10 + (unsigned long)(s[k] - '0');
	}
	if (!v || v > max)
		return -1;
	*out = v;
	return 0;
}

int kst_url_parse(const char *spec, const char *scheme, unsigned default_port, long default_total_ms,
		  struct kst_url *u)
{
	size_t sl = strlen(scheme);
	if (strncmp(spec, scheme, sl))
		return -1;
	const char *p = spec + sl, *host = p;
	if (*p == '[') { /* [IPv6] */
		const char *e = strchr(p, ']');
		if (!e)
			return -1;
		p = e + 1;
	} else {
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')
			p++;
	}
	size_t hl = (size_t)(p - host);
	if (!hl)
		return -1;
	unsigned long port = default_port;
	if (*p == ':') {
		const char *ps = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		if (num(ps, (size_t)(p - ps), 65535, &port))
			return -1;
	}
	u->path = NULL;
	u->path_len = 0;
	if (*p == '/') {
		const char *ps = ++p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (p != ps) {
			u->path = ps;
			u->path_len = (size_t)(p - ps);
		}
	}
	u->connect_ms = 5000;
	u->total_ms = default_total_ms;
	if (*p == '?') {
		p++;
		while (*p) {
			size_t n = strcspn(p, "&");
			const char *eq = memchr(p, '=', n);
			unsigned long v;
			if (!eq || num(eq + 1, n - (size_t)(eq - p) - 1, 86400, &v))
				return -1;
			size_t kl = (size_t)(eq - p);
			if (kl == 7 && !memcmp(p, "timeout", 7))
				u->total_ms = (long)v * 1000;
			else if (kl == 15 && !memcmp(p, "connect_timeout", 15))
				u->connect_ms = (long)v * 1000;
			else
				return -1;
			p += n + (p[n] == '&');
		}
	}
	if (*p)
		return -1;
	u->hostport = xasprintf("%.*s:%lu", (int)hl, host, port);
	return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	dl_curl_global_init(CURL_GLOBAL_DEFAULT);
}

void *kst_http_open(long connect_ms, long total_ms, char *errbuf, struct strbuf *err)
{
	CURL *curl;
	if (netlibs_load_curl(err) < 0)
		return NULL;
	pthread_once(&curl_once, curl_init_once);
	curl = dl_curl_easy_init();
	if (!curl) {
		strbuf_addstr(err, "cannot start libcurl");
		return NULL;
	}
	dl_curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	dl_curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	dl_curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
	dl_curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	dl_curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	dl_curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln/" KILN_VERSION);
	return curl;
}
