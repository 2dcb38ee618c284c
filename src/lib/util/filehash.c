/* filehash.c: see filehash.h. */
#include "util/filehash.h"
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <libelf.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

int kp_file_hash(const char *path, uint64_t *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			h ^= buf[i];
			h *= 0x100000001b3ull;
		}
	}
	close(fd);
	*out = h;
	return 0;
}

int kp_file_build_id(const char *path, char *out, size_t outsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	const void *id = NULL;
	ssize_t n = e ? dwelf_elf_gnu_build_id(e, &id) : -1;
	int rc = -1;
	if (n > 0 && (size_t)n * 2 + 1 <= outsz) {
		const unsigned char *b = id;
		for (ssize_t i = 0; i < n; i++)
			snprintf(out + 2 * i, 3, "%02x", b[i]);
		rc = 0;
	}
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}
