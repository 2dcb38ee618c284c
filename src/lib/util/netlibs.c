/* netlibs.c: see netlibs.h. */
#include "util/netlibs.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"

__typeof__(curl_global_init) *dl_curl_global_init;
__typeof__(curl_easy_init) *dl_curl_easy_init;
__typeof__(curl_easy_setopt) *dl_curl_easy_setopt;
__typeof__(curl_easy_perform) *dl_curl_easy_perform;
__typeof__(curl_easy_getinfo) *dl_curl_easy_getinfo;
__typeof__(curl_easy_strerror) *dl_curl_easy_strerror;
__typeof__(curl_easy_escape) *dl_curl_easy_escape;
__typeof__(curl_easy_cleanup) *dl_curl_easy_cleanup;
__typeof__(curl_free) *dl_curl_free;
__typeof__(curl_mime_init) *dl_curl_mime_init;
__typeof__(curl_mime_addpart) *dl_curl_mime_addpart;
__typeof__(curl_mime_name) *dl_curl_mime_name;
__typeof__(curl_mime_filename) *dl_curl_mime_filename;
__typeof__(curl_mime_type) *dl_curl_mime_type;
__typeof__(curl_mime_data) *dl_curl_mime_data;
__typeof__(curl_mime_free) *dl_curl_mime_free;

__typeof__(MHD_start_daemon) *dl_MHD_start_daemon;
__typeof__(MHD_stop_daemon) *dl_MHD_stop_daemon;
__typeof__(MHD_lookup_connection_value) *dl_MHD_lookup_connection_value;
__typeof__(MHD_get_connection_values) *dl_MHD_get_connection_values;
__typeof__(MHD_create_response_from_buffer) *dl_MHD_create_response_from_buffer;
__typeof__(MHD_add_response_header) *dl_MHD_add_response_header;
__typeof__(MHD_queue_response) *dl_MHD_queue_response;
__typeof__(MHD_destroy_response) *dl_MHD_destroy_response;

/* A function to look up: its name and the address of its dl_ pointer. */
struct sym {
	const char *name;
	void *ptr;
};
#define SYM(f) { #f, &dl_##f }

/* dlsym's answer is stored as the function pointer it stands for (POSIX requires the two
 * to be the same size and representation) */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function pointers are not data pointers here");

static const struct sym curl_syms[] = {
	SYM(curl_global_init), SYM(curl_easy_init), SYM(curl_easy_setopt), SYM(curl_easy_perform),
	SYM(curl_easy_getinfo), SYM(curl_easy_strerror), SYM(curl_easy_escape), SYM(curl_easy_cleanup),
	SYM(curl_free), SYM(curl_mime_init), SYM(curl_mime_addpart), SYM(curl_mime_name),
	SYM(curl_mime_filename), SYM(curl_mime_type), SYM(curl_mime_data), SYM(curl_mime_free),
};

static const struct sym mhd_syms[] = {
	SYM(MHD_start_daemon), SYM(MHD_stop_daemon), SYM(MHD_lookup_connection_value),
	SYM(MHD_get_connection_values), SYM(MHD_create_response_from_buffer), SYM(MHD_add_response_header),
	SYM(MHD_queue_response), SYM(MHD_destroy_response),
};

struct netlib {
	const char *soname;  /* what dlopen is asked for */
	const char *package; /* the Debian package that has it */
	const char *users;   /* what needs it, for the message */
	const struct sym *syms;
	size_t nsyms;
	int loaded;
};

static struct netlib curl_lib = {
	"libcurl.so.4", "libcurl4", "clickhouse:// and pyroscope:// URLs need",
	curl_syms, sizeof(curl_syms) / sizeof(curl_syms[0]), 0,
};
static struct netlib mhd_lib = {
	"libmicrohttpd.so.12", "libmicrohttpd12", "kiln serve needs",
	mhd_syms, sizeof(mhd_syms) / sizeof(mhd_syms[0]), 0,
};

/* One load at a time; a thread that finds a library loaded reads its pointers after the
 * unlock of the thread that set them. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Every function or none: a library without one of them is closed again and leaves all
 * the pointers NULL. A loaded library stays for the life of the process. */
static int load(struct netlib *l, struct strbuf *err)
{
	int rc = 0;
	pthread_mutex_lock(&lock);
	if (l->loaded)
		goto out;
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	size_t i = 0;
	if (h) {
		for (; i < l->nsyms; i++) {
			void *f = dlsym(h, l->syms[i].name);
			if (!f)
				break;
			memcpy(l->syms[i].ptr, &f, sizeof(f));
		}
	}
	if (h && i == l->nsyms) {
		l->loaded = 1;
		goto out;
	}
	const char *why = dlerror();
	strbuf_addf(err, "cannot load %s, which %s (%s): install the %s package", l->soname, l->users,
		    why ? why : "unknown error", l->package);
	for (size_t k = 0; k < i; k++)
		memset(l->syms[k].ptr, 0, sizeof(void *));
	if (h)
		dlclose(h);
	rc = -1;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int netlibs_load_curl(struct strbuf *err)
{
	return load(&curl_lib, err);
}

int netlibs_load_mhd(struct strbuf *err)
{
	return load(&mhd_lib, err);
}
