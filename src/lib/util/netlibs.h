/* netlibs.h: libcurl (the clickhouse:// and pyroscope:// stores) and libmicrohttpd
 * (kiln serve), loaded with dlopen when first needed rather than linked: with their own
 * dependencies (TLS, Kerberos, LDAP...) they made every command start 4-5 ms slower.
 *
 *   if (netlibs_load_curl(err) < 0)
 *           return NULL;                  // err: "cannot load libcurl.so.4 (...): install ..."
 *   CURL *curl = dl_curl_easy_init();
 *
 * Each function used is a pointer dl_NAME of the library function NAME's own type (from
 * its header, so the two cannot disagree), set by the load; call none before it succeeded.
 * Any thread may ask; the first success loads the library for the life of the process,
 * and later calls return at once. A library that cannot be loaded, or lacks one of the
 * functions, is tried again at the next call (kiln agent retries its sink: the package
 * may have been installed since).
 *
 * dl_curl_easy_setopt and dl_curl_easy_getinfo take their value through "...", like the
 * functions themselves, but without the type checks curl.h's macros add to calls of the
 * functions under GCC: pass a long, a pointer or a curl_off_t, whichever the option takes. */
#ifndef KILN_UTIL_NETLIBS_H
#define KILN_UTIL_NETLIBS_H
#include <curl/curl.h>
#include <microhttpd.h>

struct strbuf;

/* Loads libcurl.so.4 unless it is loaded. Returns 0, or -1 after one line in err naming
 * the library, dlerror's reason and the package that provides it. */
int netlibs_load_curl(struct strbuf *err);
/* The same for libmicrohttpd.so.12. */
int netlibs_load_mhd(struct strbuf *err);

/* libcurl, set by netlibs_load_curl */
extern __typeof__(curl_global_init) *dl_curl_global_init;
extern __typeof__(curl_easy_init) *dl_curl_easy_init;
extern __typeof__(curl_easy_setopt) *dl_curl_easy_setopt;
extern __typeof__(curl_easy_perform) *dl_curl_easy_perform;
extern __typeof__(curl_easy_getinfo) *dl_curl_easy_getinfo;
extern __typeof__(curl_easy_strerror) *dl_curl_easy_strerror;
extern __typeof__(curl_easy_escape) *dl_curl_easy_escape;
extern __typeof__(curl_easy_cleanup) *dl_curl_easy_cleanup;
extern __typeof__(curl_free) *dl_curl_free;
extern __typeof__(curl_mime_init) *dl_curl_mime_init;
extern __typeof__(curl_mime_addpart) *dl_curl_mime_addpart;
extern __typeof__(curl_mime_name) *dl_curl_mime_name;
extern __typeof__(curl_mime_filename) *dl_curl_mime_filename;
extern __typeof__(curl_mime_type) *dl_curl_mime_type;
extern __typeof__(curl_mime_data) *dl_curl_mime_data;
extern __typeof__(curl_mime_free) *dl_curl_mime_free;

/* libmicrohttpd, set by netlibs_load_mhd */
extern __typeof__(MHD_start_daemon) *dl_MHD_start_daemon;
extern __typeof__(MHD_stop_daemon) *dl_MHD_stop_daemon;
extern __typeof__(MHD_lookup_connection_value) *dl_MHD_lookup_connection_value;
extern __typeof__(MHD_get_connection_values) *dl_MHD_get_connection_values;
extern __typeof__(MHD_create_response_from_buffer) *dl_MHD_create_response_from_buffer;
extern __typeof__(MHD_add_response_header) *dl_MHD_add_response_header;
extern __typeof__(MHD_queue_response) *dl_MHD_queue_response;
extern __typeof__(MHD_destroy_response) *dl_MHD_destroy_response;

#endif
