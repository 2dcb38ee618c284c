/* jit.c: see jit.h. */
#include "collect/jit.h"
#include "util/xalloc.h"
#include <dirent.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int elf_exports(const char *path, const char *sym)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	Elf *e;
	Elf_Scn *scn = NULL;
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (e && !found && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, sym)) {
				found = 1;
				break;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

enum kc_jit_kind kc_jit_kind_of(const char *exe_path)
{
	char real[PATH_MAX];
	const char *base;
	if (!exe_path || !realpath(exe_path, real))
		return KC_JIT_NONE;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (!strcmp(base, "node") || !strcmp(base, "nodejs"))
		return KC_JIT_NODE;
	if (!strcmp(base, "java"))
		return KC_JIT_JAVA;
	if (!strcmp(base, "dotnet"))
		return KC_JIT_DOTNET;
	if (elf_exports(real, "node_module_register"))
		return KC_JIT_NODE;
	return KC_JIT_NONE;
}

enum kc_jit_kind kc_jit_kind_of_command(const char *cmd)
{
	const char *path = getenv("PATH");
	enum kc_jit_kind k = KC_JIT_NONE;
	if (!cmd || !*cmd)
		return KC_JIT_NONE;
	if (strchr(cmd, '/'))
		return kc_jit_kind_of(cmd);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t dl = colon ? (size_t)(colon - path) : strlen(path);
		char *full = dl ? xasprintf("%.*s/%s", (int)dl, path, cmd) : xasprintf("./%s", cmd);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
			k = kc_jit_kind_of(full);
			free(full);
			return k;
		}
		free(full);
		if (!colon)
			break;
		path = colon + 1;
	}
	return k;
}

char *kc_jit_node_options(const char *current)
{
	if (current && (strstr(current, "--perf-basic-prof") || strstr(current, "--perf-prof")))
		return NULL;
	/* --interpreted-frames-native-stack names the frames node still interprets (else
	 * they all are Builtins_InterpreterEntryTrampoline) */
	if (current && strstr(current, "--interpreted-frames-native-stack"))
		return xasprintf("%s --perf-basic-prof", current);
	return xasprintf("%s%s--perf-basic-prof --interpreted-frames-native-stack", current ? current : "",
			 current && *current ? " " : "");
}

const char *kc_jit_attach_hint(int pid, char *buf, size_t size)
{
	char exe[64], map[64];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", pid);
	if (access(map, F_OK) == 0)
		return NULL;
	switch (kc_jit_kind_of(exe)) {
	case KC_JIT_NODE:
		snprintf(buf, size,
			 "pid %d is node without a perf map: its JavaScript functions show as [unknown]; restart it "
			 "with NODE_OPTIONS='--perf-basic-prof --interpreted-frames-native-stack' (kiln record -- node "
			 "... does that itself)",
			 pid);
		return buf;
	case KC_JIT_JAVA:
		snprintf(buf, size,
			 "pid %d is java without a perf map: its Java methods show as [unknown]; run 'jcmd %d "
			 "Compiler.perfmap' (JDK 17+) before recording, or restart it with -XX:+UnlockDiagnosticVMOptions "
			 "-XX:+DumpPerfMapAtExit",
			 pid, pid);
		return buf;
	case KC_JIT_DOTNET:
		snprintf(buf, size,
			 "pid %d is dotnet without a perf map: its .NET methods show as [unknown]; restart it with "
			 "DOTNET_PerfMapEnabled=1",
			 pid);
		return buf;
	default:
		return NULL;
	}
}

void kc_jit_node_cleanup(int pid, const char *dir)
{
	char path[64], tail[32];
	DIR *d;
	struct dirent *e;
	size_t tl;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", pid);
	unlink(path);
	snprintf(tail, sizeof(tail), "-%d-v8.log", pid);
	tl = strlen(tail);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), i;
		if (n <= 11 + tl || strncmp(e->d_name, "isolate-0x", 10) || strcmp(e->d_name + n - tl, tail))
			continue;
		for (i = 10; i < n - tl; i++)
			if (!((e->d_name[i] >= '0' && e->d_name[i] <= '9') || (e->d_name[i] >= 'a' && e->d_name[i] <= 'f')))
				break;
		if (i == n - tl)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}
