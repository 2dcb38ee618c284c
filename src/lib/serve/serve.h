/* serve.h: `kiln serve`, a local web UI over a store or one profile file (issue 15).
 *
 *   struct ksv_opts o = { .spec = "/var/lib/kiln", .listen = "127.0.0.1:8377" };
 *   struct ksv_server *s;
 *   if (ksv_start(&o, &s, &url, &err) == 0) { ...wait for a signal...; ksv_stop(s); }
 *
 * The server answers GET (and HEAD) only, from one thread, with the page and its assets
 * (compiled in: no file is ever opened on a client's behalf) and the JSON/SVG endpoints
 * of docs/kiln-serve.md. It listens where o->listen says; anything but a loopback
 * address must be asked for. */
#ifndef KILN_SERVE_SERVE_H
#define KILN_SERVE_SERVE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct strbuf;

#define KSV_DEFAULT_PORT 8377

struct ksv_opts {
	const char *spec;   /* a store or source (kst_open's spec), or NULL */
	const char *file;   /* a profile file (any format kiln reads), or NULL; one of the two */
	const char *listen; /* "ADDR:PORT", "[ADDR]:PORT", ":PORT" or "PORT"; NULL: 127.0.0.1:8377 */
	int log;            /* one line per request on stderr */
};

/* An address to listen on. */
struct ksv_listen {
	struct sockaddr_storage addr;
	socklen_t len;
	int loopback; /* 127.0.0.0/8 or ::1 */
};
/* Parses o->listen's forms (numeric addresses only; "localhost" is 127.0.0.1; port 0:
 * any free port). Returns 0, or -1 after one line in err. */
int ksv_parse_listen(const char *text, struct ksv_listen *out, struct strbuf *err);

struct ksv_server;
/* Opens the source, listens and starts answering in a thread of its own. url gets
 * "http://ADDR:PORT/" (the port actually bound). Returns 0, or -1 after one line in err
 * (nothing left running; also when libmicrohttpd cannot be loaded); err is empty when a FILE that does not load was already
 * reported on stderr by the profile loader. */
int ksv_start(const struct ksv_opts *o, struct ksv_server **out, struct strbuf *url, struct strbuf *err);
/* Stops answering (requests in progress finish first) and frees everything. */
void ksv_stop(struct ksv_server *s);

#endif
