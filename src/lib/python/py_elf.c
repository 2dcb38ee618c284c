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

/* Reads n bytes at ELF virtual address va from the section holding them. */
static int read_at(Elf *e, uint64_t va, void *out, size_t n)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (va < sh.sh_addr || va + n > sh.sh_addr + sh.sh_size)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || va - sh.sh_addr + n > d->d_size)
			return -1;
		memcpy(out, (const char *)d->d_buf + (va - sh.sh_addr), n);
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
			else if (!strcmp(name, "PyCode_Type"))
				info->code_type_vaddr = sym.st_value;
		}
	}
	info->is_python = info->runtime_vaddr != 0;
	uint32_t hex;
	if (version_va && read_at(e, version_va, &hex, 4) == 0 && (hex >> 24) == 3) {
		info->version = hex >> 16;
		info->micro = (hex >> 8) & 0xff;
	} else {
		info->version = version_from_name(path);
	}
	/* 3.13+: _PyRuntime starts with _Py_DebugOffsets, initialised data in the file */
	if (info->runtime_vaddr && info->version >= 0x030d &&
	    read_at(e, info->runtime_vaddr, info->debug, sizeof(info->debug)) == 0)
		info->debug_len = sizeof(info->debug);
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

/* Where 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h) keeps the fields
 * kiln uses (offsetof, computed from 3.13.0's header with Py_BUILD_CORE). */
enum {
	DBG_VERSION = 8, DBG_FREE_THREADED = 16, DBG_INTERP_HEAD = 40, DBG_THREADS_HEAD = 72,
	DBG_TS_NEXT = 168, DBG_TS_FRAME = 184, DBG_TS_NATIVE_TID = 200,
	DBG_FR_PREVIOUS = 232, DBG_FR_EXECUTABLE = 240, DBG_FR_INSTR = 248, DBG_FR_OWNER = 264,
	DBG_CO_FILENAME = 280, DBG_CO_NAME = 288, DBG_CO_QUALNAME = 296, DBG_CO_LINETABLE = 304,
	DBG_CO_FIRSTLINENO = 312, DBG_CO_CODE = 344,
};

static uint64_t dbg_u64(const unsigned char *b, size_t at)
{
	uint64_t v;
	memcpy(&v, b + at, 8);
	return v;
}

int kpy_check_debug_offsets(const struct kpy_offsets *o, const struct kpy_elf *info)
{
	if (info->version < 0x030d || info->debug_len < DBG_CO_CODE + 8)
		return 1;
	const unsigned char *b = info->debug;
	if (memcmp(b, "xdebugpy", 8) || (dbg_u64(b, DBG_VERSION) >> 16) != info->version ||
	    dbg_u64(b, DBG_FREE_THREADED))
		return -1;
	const struct { size_t at; unsigned want; } f[] = {
		{ DBG_INTERP_HEAD, o->rt_interp_head }, { DBG_THREADS_HEAD, o->interp_threads_head },
		{ DBG_TS_NEXT, o->ts_next }, { DBG_TS_FRAME, o->ts_frame }, { DBG_TS_NATIVE_TID, o->ts_tid },
		{ DBG_FR_PREVIOUS, o->fr_prev }, { DBG_FR_EXECUTABLE, o->fr_code }, { DBG_FR_INSTR, o->fr_instr },
		{ DBG_FR_OWNER, o->fr_flag }, { DBG_CO_FILENAME, o->co_filename }, { DBG_CO_NAME, o->co_name },
		{ DBG_CO_QUALNAME, o->co_qualname }, { DBG_CO_LINETABLE, o->co_linetable },
		{ DBG_CO_FIRSTLINENO, o->co_firstlineno }, { DBG_CO_CODE, o->co_code },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (dbg_u64(b, f[i].at) != f[i].want)
			return -1;
	return 0;
}
