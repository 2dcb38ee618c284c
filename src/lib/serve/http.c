/* http.c: kiln serve's HTTP side on libmicrohttpd: the listening socket, the checks every
 * request passes (method, Host, path), routing to the compiled-in page and the endpoints,
 * and the answers' headers. One thread answers every request in turn, so the source is
 * never read by two at once. */
#include "serve/serve.h"
#include "serve/serve_int.h"

#include "util/netlibs.h"
#include "util/xalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Per connection, headers and URL together (a larger request gets 431 or 414). */
#define CONN_MEMORY (64 * 1024)
#define MAX_CONNECTIONS 64
#define CONN_TIMEOUT_S 30

struct ksv_server {
	struct MHD_Daemon *d;
	struct sv_source src;
	int log;
	int loopback;
	unsigned port;
	char host[INET6_ADDRSTRLEN + 2]; /* the address listened on, as a Host header names it */
};

/* ---- listening ---- */

int ksv_parse_listen(const char *text, struct ksv_listen *out, struct strbuf *err)
{
	char host[64];
	const char *port_s;
	memset(out, 0, sizeof(*out));
	if (!text)
		text = "127.0.0.1";
	if (text[0] == '[') { /* [v6]:port */
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		port_s = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon) { /* a port alone, or an address alone */
			if (strspn(text, "0123456789") == strlen(text) && *text) {
				snprintf(host, sizeof(host), "127.0.0.1");
				port_s = text;
			} else {
				if (strlen(text) >= sizeof(host))
					goto bad;
				snprintf(host, sizeof(host), "%s", text);
				port_s = NULL;
			}
		} else {
			if ((size_t)(colon - text) >= sizeof(host) || colon == text || strchr(text, ':') != colon)
				goto bad;
			memcpy(host, text, (size_t)(colon - text));
			host[colon - text] = '\0';
			port_s = colon + 1;
		}
	}
	unsigned long port = KSV_DEFAULT_PORT;
	if (port_s) {
		char *end;
		errno = 0;
		port = strtoul(port_s, &end, 10);
		if (!*port_s || *end || errno || port > 65535 || *port_s == '-' || *port_s == '+')
			goto bad;
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *a4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*a4);
		out->loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*a6);
		out->loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
	} else {
		goto bad;
	}
	return 0;
bad:
	strbuf_addf(err, "'%s' is not an address to listen on: give ADDR:PORT with a numeric address "
		    "(127.0.0.1:8377, [::1]:8377, 0.0.0.0:8377) or a port alone", text);
	return -1;
}

static int open_listener(const struct ksv_listen *l, const char *text, unsigned *port, struct strbuf *err)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0) {
		strbuf_addf(err, "cannot listen on '%s': %s", text, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len) < 0 || listen(fd, 64) < 0) {
		strbuf_addf(err, "cannot listen on '%s': %s%s", text, strerror(errno),
			    errno == EADDRINUSE ? " (pick another port with --listen)" : "");
		close(fd);
		return -1;
	}
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	if (getsockname(fd, (struct sockaddr *)&got, &glen) < 0) {
		strbuf_addf(err, "cannot listen on '%s': %s", text, strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
						: ((struct sockaddr_in *)&got)->sin_port);
	return fd;
}

/* ---- requests ---- */

struct conn_args {
	struct MHD_Connection *c;
};

static const char *get_arg(void *ctx, const char *name)
{
	return dl_MHD_lookup_connection_value(((struct conn_args *)ctx)->c, MHD_GET_ARGUMENT_KIND, name);
}

struct collect {
	const char *name;
	const char **out;
	size_t n, max;
};

static enum MHD_Result collect_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct collect *c = cls;
	if (strcmp(key, c->name))
		return MHD_YES;
	if (c->n < c->max)
		c->out[c->n] = value;
	c->n++;
	return MHD_YES;
}

static size_t get_args(void *ctx, const char *name, const char **out, size_t max)
{
	struct collect c = { name, out, 0, max };
	dl_MHD_get_connection_values(((struct conn_args *)ctx)->c, MHD_GET_ARGUMENT_KIND, collect_one, &c);
	return c.n < max ? c.n : max;
}

static enum MHD_Result send_answer(struct MHD_Connection *c, int status, const char *ctype, const char *csp,
				   void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = dl_MHD_create_response_from_buffer(len, body, mode);
	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	dl_MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	dl_MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	dl_MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	dl_MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	dl_MHD_add_response_header(resp, "Content-Security-Policy", csp);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		dl_MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result rc = dl_MHD_queue_response(c, (unsigned)status, resp);
	dl_MHD_destroy_response(resp);
	return rc;
}

/* Page and JSON: scripts and styles of this server only. The SVGs carry their own viewer
 * script inline and are shown in a frame of the page. */
static const char csp_page[] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'";
static const char csp_svg[] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
			      "frame-ancestors 'self'";

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "{\"error\":\"");
	strbuf_add_json(&sb, msg, strlen(msg));
	strbuf_addstr(&sb, "\"}\n");
	size_t len;
	char *body = strbuf_detach(&sb, &len);
	return send_answer(c, status, "application/json", csp_page, body, len, MHD_RESPMEM_MUST_FREE);
}

/* The Host header of a request to a loopback listener must name this machine: a page
 * elsewhere that points a name of its own at 127.0.0.1 (DNS rebinding) is refused. */
static int host_ok(const struct ksv_server *s, const char *host)
{
	if (!s->loopback || !host)
		return 1;
	const char *const names[] = { "127.0.0.1", "localhost", "[::1]", s->host };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (strncmp(host, names[i], n))
			continue;
		if (!host[n])
			return 1;
		char port[16];
		snprintf(port, sizeof(port), ":%u", s->port);
		if (!strcmp(host + n, port))
			return 1;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum MHD_Result route(struct ksv_server *s, struct MHD_Connection *c, const char *url, int *status)
{
	if (url[0] != '/') {
		*status = 400;
		return send_error(c, 400, "the path must start with '/'");
	}
	/* nothing is read from disk, but a path with '..' (also as %2e%2e, which arrives
	 * decoded) is refused outright */
	if (strstr(url, "..")) {
		*status = 400;
		return send_error(c, 400, "the path must not contain '..'");
	}
	const char *path = !strcmp(url, "/") ? "/index.html" : url;
	for (size_t i = 0; i < sv_nassets; i++)
		if (!strcmp(sv_assets[i].path, path)) {
			*status = 200;
			return send_answer(c, 200, sv_assets[i].ctype, csp_page, (void *)sv_assets[i].data,
					   strlen(sv_assets[i].data), MHD_RESPMEM_PERSISTENT);
		}
	sv_handler h = sv_api_find(url);
	if (!h) {
		*status = 404;
		return send_error(c, 404, "no such page: see / for the UI and /api/info for the source");
	}
	struct conn_args ca = { c };
	struct sv_req r;
	memset(&r, 0, sizeof(r));
	r.path = url;
	r.arg = get_arg;
	r.args = get_args;
	r.ctx = &ca;
	r.now_ns = now_ns();
	strbuf_init(&r.body, 0);
	h(&s->src, &r);
	*status = r.status ? r.status : 500;
	size_t len;
	char *body = strbuf_detach(&r.body, &len);
	const char *ctype = r.ctype ? r.ctype : "application/json";
	return send_answer(c, *status, ctype, strcmp(ctype, "image/svg+xml") ? csp_page : csp_svg, body, len,
			   MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **state)
{
	static int seen;
	struct ksv_server *s = cls;
	int status = 0;
	enum MHD_Result rc;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* answered at once; a body it came with is never read */
		status = 405;
		rc = send_error(c, 405, "only GET and HEAD are answered here");
		goto out;
	}
	if (!*state) { /* the headers: wait for the end of the request */
		*state = &seen;
		return MHD_YES;
	}
	if (*upload_size) { /* a GET with a body: ignored */
		*upload_size = 0;
		return MHD_YES;
	}
	if (!host_ok(s, dl_MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
		status = 421;
		rc = send_error(c, 421, "the Host header does not name this machine (use http://127.0.0.1:PORT/)");
		goto out;
	}
	rc = route(s, c, url, &status);
out:
	if (s->log)
		fprintf(stderr, "kiln serve: %s %.200s %d\n", method, url, status);
	return rc;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fprintf(stderr, "kiln serve: http: ");
	vfprintf(stderr, fmt, ap);
}

/* ---- the server ---- */

int ksv_start(const struct ksv_opts *o, struct ksv_server **out, struct strbuf *url, struct strbuf *err)
{
	struct ksv_listen l;
	const char *ltext = o->listen ? o->listen : "127.0.0.1";
	*out = NULL;
	if (ksv_parse_listen(o->listen, &l, err) < 0 || netlibs_load_mhd(err) < 0)
		return -1;
	struct ksv_server *s = xcalloc(1, sizeof(*s));
	s->log = o->log;
	s->loopback = l.loopback;
	if ((o->file ? sv_source_open_file(&s->src, o->file, err) : sv_source_open_store(&s->src, o->spec, err)) < 0) {
		free(s);
		return -1;
	}
	int fd = open_listener(&l, ltext, &s->port, err);
	if (fd < 0) {
		sv_source_close(&s->src);
		free(s);
		return -1;
	}
	char host[INET6_ADDRSTRLEN];
	if (l.addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&l.addr)->sin6_addr, host, sizeof(host));
		snprintf(s->host, sizeof(s->host), "[%s]", host);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&l.addr)->sin_addr, host, sizeof(host));
		snprintf(s->host, sizeof(s->host), "%s", host);
	}
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | (s->log ? MHD_USE_ERROR_LOG : 0);
	s->d = dl_MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_END);
	if (!s->d) {
		strbuf_addf(err, "cannot start the HTTP server on '%s'", ltext);
		close(fd);
		sv_source_close(&s->src);
		free(s);
		return -1;
	}
	strbuf_addf(url, "http://%s:%u/", s->host, s->port);
	*out = s;
	return 0;
}

void ksv_stop(struct ksv_server *s)
{
	if (!s)
		return;
	dl_MHD_stop_daemon(s->d);
	sv_source_close(&s->src);
	free(s);
}
