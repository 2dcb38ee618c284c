/* labels.c: a process's labels for the agent's windows (labels.h). */
#include "agent/labels.h"
#include "store/store.h"
#include "util/filehash.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A run of at least 32 hex digits at p (a container id is 64), its length or 0. */
static size_t hex_run(const char *p)
{
	size_t n = 0;
	while (isxdigit((unsigned char)p[n]))
		n++;
	return n >= 32 ? n : 0;
}

int ka_service_from_cgroup(const char *cgroup, char *out, size_t size)
{
	out[0] = '\0';
	if (!cgroup || !size)
		return -1;
	/* a container id anywhere: docker-ID.scope, /docker/ID, cri-containerd-ID.scope,
	 * crio-ID.scope, libpod-ID.scope, /kubepods/.../ID */
	for (const char *p = cgroup; *p; p++) {
		if (p != cgroup && (isxdigit((unsigned char)p[-1])))
			continue;
		size_t n = hex_run(p);
		if (n && (p[n] == '\0' || p[n] == '/' || p[n] == '.')) {
			snprintf(out, size, "container:%.12s", p);
			for (char *c = out; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			return 0;
		}
	}
	/* the innermost unit: the last path component ending in .service or .scope */
	const char *best = NULL;
	size_t best_len = 0;
	for (const char *p = cgroup; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		static const char *const suf[] = { ".service", ".scope" };
		for (int k = 0; k < 2; k++) {
			size_t sl = strlen(suf[k]);
			if (len > sl && !memcmp(p + len - sl, suf[k], sl)) {
				best = p;
				best_len = len - sl;
			}
		}
		p += len;
	}
	if (!best || best_len >= size)
		return -1;
	memcpy(out, best, best_len);
	out[best_len] = '\0';
	return 0;
}

int ka_cgroup_from_proc_text(const char *text, char *out, size_t size)
{
	const char *v2 = NULL, *sysd = NULL, *first = NULL;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		const char *c1 = memchr(p, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
		if (c2) {
			if (!first)
				first = p;
			if (!strncmp(p, "0::", 3))
				v2 = p;
			else if (!strncmp(c1 + 1, "name=systemd:", 13))
				sysd = p;
		}
		p += len + (p[len] == '\n');
	}
	/* v2's path; on a hybrid machine, where the unified tree may leave a process at its
	 * root, systemd's own hierarchy names its unit */
	const char *line = v2 && strncmp(v2, "0::/\n", 5) && strcmp(v2, "0::/") ? v2 : sysd ? sysd : v2 ? v2 : first;
	out[0] = '\0';
	if (!line)
		return -1;
	const char *path = strchr(strchr(line, ':') + 1, ':') + 1;
	size_t len = strcspn(path, "\n");
	if (!len || len >= size)
		return -1;
	memcpy(out, path, len);
	out[len] = '\0';
	return 0;
}

static int read_small(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

int ka_proc_labels(int pid, const char *service, const char *comm_fallback, struct kst_labels *out)
{
	char path[64], buf[4096], cg[1024], svc[256];
	int alive = 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, buf, sizeof(buf)) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		alive = 1;
	} else {
		snprintf(buf, sizeof(buf), "%s", comm_fallback ? comm_fallback : "");
	}
	if (buf[0])
		kst_labels_set(out, "comm", buf);
	if (alive) {
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			kst_labels_set(out, "exe", buf);
			char bid[160];
			/* through /proc: the file the process runs, even in another mount namespace */
			if (kp_file_build_id(path, bid, sizeof(bid)) == 0)
				kst_labels_set(out, "build_id", bid);
		}
		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
		if (read_small(path, buf, sizeof(buf)) == 0 && ka_cgroup_from_proc_text(buf, cg, sizeof(cg)) == 0) {
			kst_labels_set(out, "cgroup", cg);
			if (!service && ka_service_from_cgroup(cg, svc, sizeof(svc)) == 0)
				kst_labels_set(out, "service", svc);
		}
	}
	if (service)
		kst_labels_set(out, "service", service);
	return alive ? 0 : -1;
}
