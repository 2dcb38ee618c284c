/* build: -O1 -g */
/* stat_syscalls.c: a kernel-heavy loop: N thousand reads of 64 KiB from /dev/zero
 * (default 20): the kernel clears the buffer, user space does almost nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char buf[65536];

int main(int argc, char **argv)
{
	long n = (argc > 1 ? atol(argv[1]) : 20) * 1000L;
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		perror("/dev/zero");
		return 1;
	}
	for (long i = 0; i < n; i++)
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 1;
	close(fd);
	return 0;
}
