/* spool.c: windows on disk until a sink takes them (spool.h). */
#include "agent/spool.h"
#include "profile/profile_io.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX ".kiln.prof"

static int mkdir_p(const char *dir)
{
	char *p = xstrdup(dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(p, 0750) < 0 && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

/* NAME is START_NS.kiln.prof (a spooled window) */
static int is_window(const char *name)
{
	size_t n = strspn(name, "0123456789");
	return n > 0 && !strcmp(name + n, SUFFIX);
}

int ka_spool_open(struct ka_spool *sp, const char *dir, uint64_t max_bytes, struct strbuf *err)
{
	struct stat st;
	memset(sp, 0, sizeof(*sp));
	if (mkdir_p(dir) < 0 || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "cannot create the spool directory '%s': %s", dir, strerror(errno ? errno : ENOTDIR));
		return -1;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		strbuf_addf(err, "cannot write to the spool directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	sp->dir = xstrdup(dir);
	sp->max_bytes = max_bytes;
	/* a temporary file an agent killed while writing left behind: never a window */
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strspn(de->d_name, "0123456789");
		if (n && !strncmp(de->d_name + n, SUFFIX ".tmp.", strlen(SUFFIX) + 5)) {
			char *path = xasprintf("%s/%s", dir, de->d_name);
			unlink(path);
			free(path);
		}
	}
	if (d)
		closedir(d);
	return 0;
}

void ka_spool_close(struct ka_spool *sp)
{
	free(sp->dir);
	sp->dir = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ka_spool_list(const struct ka_spool *sp, char ***paths, uint64_t *bytes)
{
	size_t n = 0, alloc = 0;
	char **v = NULL;
	uint64_t total = 0;
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!is_window(de->d_name))
			continue;
		ALLOC_GROW(v, n + 1, alloc);
		v[n++] = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	/* equal-length zero-padded names: name order is time order */
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *full = xasprintf("%s/%s", sp->dir, v[i]);
		struct stat st;
		if (stat(full, &st) == 0)
			total += (uint64_t)st.st_size;
		free(v[i]);
		v[i] = full;
	}
	*paths = v;
	if (bytes)
		*bytes = total;
	return n;
}

int ka_spool_put(struct ka_spool *sp, struct kp_profile *w, uint64_t start_ns, unsigned *dropped,
		 struct strbuf *err)
{
	char *path = xasprintf("%s/%020" PRIu64 SUFFIX, sp->dir, start_ns);
	unsigned ndrop = 0;
	if (dropped)
		*dropped = 0;
	/* kp_profile_save prints its own line; the caller's line says what it meant */
	int quiet = kiln_set_quiet(2);
	int rc = kp_profile_save(w, path);
	kiln_set_quiet(quiet);
	if (rc < 0) {
		strbuf_addf(err, "cannot write '%s' (disk full or not writable?)", path);
		free(path);
		return -1;
	}
	char **v;
	uint64_t total;
	size_t n = ka_spool_list(sp, &v, &total);
	for (size_t i = 0; i < n; i++) {
		if (total > sp->max_bytes && strcmp(v[i], path)) {
			struct stat st;
			if (stat(v[i], &st) == 0 && unlink(v[i]) == 0) {
				total -= (uint64_t)st.st_size;
				ndrop++;
			}
		}
		free(v[i]);
	}
	free(v);
	free(path);
	sp->dropped += ndrop;
	if (dropped)
		*dropped = ndrop;
	return 0;
}
