/* sym_pkg.c: which Debian package ships a file, for advice about debug symbols
 * ("install liblzma5-dbgsym"). `dpkg-query -S` reads the whole package database (0.2 s);
 * instead only the file lists of packages named like the file are read: a package
 * shipping liblzma.so.5.4.1 is looked for among /var/lib/dpkg/info/liblzma*.list, and
 * a list counts only when it holds the path (so the answer is checked, never guessed).
 * A file whose package is named otherwise (cc1 in cpp-12) is not found. */
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_DPKG_INFO "/var/lib/dpkg/info"

/* Debian 12 merges /usr: the lists may name /lib for /usr/lib, /bin for /usr/bin */
static int same_file(const char *line, const char *path)
{
	return !strcmp(line, path) || (!strncmp(path, "/usr/", 5) && !strcmp(line, path + 4));
}

int ks_dpkg_packages(const char *const *paths, size_t n, struct strbuf *out)
{
	int found = 0;
	char *done = calloc(n ? n : 1, 1);
	DIR *d = done ? opendir(KS_DPKG_INFO) : NULL;
	if (!d) {
		free(done);
		return 0;
	}
	struct dirent *e;
	while ((size_t)found < n && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".list"))
			continue;
		int want = 0;
		for (size_t i = 0; i < n && !want; i++) {
			const char *base = strrchr(paths[i], '/');
			base = base ? base + 1 : paths[i];
			size_t stem = strcspn(base, ".");
			want = !done[i] && paths[i][0] == '/' && stem >= 2 && !strncmp(e->d_name, base, stem);
		}
		if (!want)
			continue;
		char lp[600], line[4200];
		snprintf(lp, sizeof(lp), KS_DPKG_INFO "/%s", e->d_name);
		FILE *f = fopen(lp, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			for (size_t i = 0; i < n; i++) {
				if (done[i] || !same_file(line, paths[i]))
					continue;
				size_t pn = strcspn(e->d_name, ":");
				if (pn > len - 5)
					pn = len - 5;
				strbuf_addf(out, "%.*s %s\n", (int)pn, e->d_name, paths[i]);
				done[i] = 1;
				found++;
			}
		}
		fclose(f);
	}
	closedir(d);
	free(done);
	return found;
}
