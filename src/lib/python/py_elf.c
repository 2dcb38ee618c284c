/* py_elf.c: recognising a CPython interpreter by its ELF symbols (see python.h). */
#include "python/python.h"
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int kpy_path_candidate(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "python", 6) || !strncmp(base, "libpython", 9);
}

/* 0xMMmm from a name like python3.11, libpython3.12.so.1.0 (0 when none). */
static unsigned version_from_name(const char *path)
{
	const char *base = strrchr(path, '/');
	unsigned maj, min;
	base = base ? base + 1 : path;
	if (!strncmp(base, "lib", 3))
		base += 3;
	if (sscanf(base, "python%u.%u", &maj, &min) == 2 && maj < 256 && min < 256)
		return maj << 8 | min;
	return 0;
}

static Elf *open_elf(const char *path, int *fd)
{
	elf_version(EV_CURRENT);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	Elf *e = elf_begin(*fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		return NULL;
	}
	return e;
}

/* Reads 4 bytes at ELF virtual address va from the section holding it. */
static int read_u32_at(Elf *e, uint64_t va, uint32_t *out)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (va < sh.sh_addr || va + 4 > sh.sh_addr + sh.sh_size)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || va - sh.sh_addr + 4 > d->d_size)
			return -1;
		memcpy(out, (const char *)d->d_buf + (va - sh.sh_addr), 4);
		return 0;
	}
	return -1;
}

int kpy_elf_inspect(const char *path, struct kpy_elf *info)
{
	int fd;
	memset(info, 0, sizeof(*info));
	Elf *e = open_elf(path, &fd);
	if (!e)
		return -1;
	uint64_t version_va = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || (name[0] != '_' && name[0] != 'P'))
				continue;
			if (!strcmp(name, "_PyRuntime"))
				info->runtime_vaddr = sym.st_value;
			else if (!strcmp(name, "Py_Version"))
				version_va = sym.st_value;
		}
	}
	info->is_python = info->runtime_vaddr != 0;
	uint32_t hex;
	if (version_va && read_u32_at(e, version_va, &hex) == 0 && (hex >> 24) == 3) {
		info->version = hex >> 16;
		info->micro = (hex >> 8) & 0xff;
	} else {
		info->version = version_from_name(path);
	}
	elf_end(e);
	close(fd);
	return 0;
}

int kpy_elf_off_to_vaddr(const char *path, uint64_t pgoff, uint64_t *vaddr)
{
	int fd, rc = -1;
	size_t n;
	Elf *e = open_elf(path, &fd);
	if (!e)
		return -1;
	if (elf_getphdrnum(e, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			uint64_t off0 = ph.p_offset & ~(uint64_t)(ph.p_align > 1 ? ph.p_align - 1 : 0);
			uint64_t end = ph.p_offset + ph.p_filesz;
			if (pgoff >= off0 && pgoff < end) {
				*vaddr = ph.p_vaddr - (ph.p_offset - pgoff);
				rc = 0;
				break;
			}
		}
	}
	elf_end(e);
	close(fd);
	return rc;
}
