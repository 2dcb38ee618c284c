/* test_output.c: the output helper (util/output.c): write-then-rename for regular files and
 * symbolic links to them, in place for devices and FIFOs, refusals, the early check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util/output.h"
#include "util/xalloc.h"

#include "unit.h"

static char *path_of(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Files in tmpdir whose name holds ".tmp." (left-over temporary files). */
static int temps_left(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;
	assert_non_null(d);
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static int write_all(const char *path, const char *text)
{
	struct kiln_output out;
	if (kiln_output_open(&out, path) < 0)
		return -1;
	fputs(text, out.fp);
	return kiln_output_commit(&out);
}

static void test_regular(void **state)
{
	(void)state;
	char *p = path_of("reg");
	put(p, "old");
	chmod(p, 0600);
	struct kiln_output out;
	assert_int_equal(kiln_output_open(&out, p), 0);
	fputs("new", out.fp);
	assert_string_equal(get(p), "old"); /* untouched until the commit */
	assert_int_equal(temps_left(), 1);
	assert_int_equal(kiln_output_commit(&out), 0);
	assert_string_equal(get(p), "new");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(temps_left(), 0);

	/* an abort leaves the file as it was and no temporary file */
	assert_int_equal(kiln_output_open(&out, p), 0);
	fputs("discarded", out.fp);
	kiln_output_abort(&out);
	kiln_output_abort(&out); /* twice is harmless */
	assert_string_equal(get(p), "new");
	assert_int_equal(temps_left(), 0);

	/* a new file */
	char *q = path_of("fresh");
	assert_int_equal(write_all(q, "hello"), 0);
	assert_string_equal(get(q), "hello");
	free(p);
	free(q);
}

static void test_symlink(void **state)
{
	(void)state;
	char *target = path_of("target"), *link = path_of("link"), *dang = path_of("dangling");
	put(target, "old");
	assert_int_equal(symlink("target", link), 0);
	assert_int_equal(write_all(link, "through the link"), 0);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(get(target), "through the link");
	assert_int_equal(temps_left(), 0);

	assert_int_equal(symlink("nowhere", dang), 0);
	assert_int_equal(write_all(dang, "x"), -1);
	assert_int_equal(kiln_output_check(dang), -1);
	char *nowhere = path_of("nowhere");
	assert_int_not_equal(access(nowhere, F_OK), 0);
	free(target);
	free(link);
	free(dang);
	free(nowhere);
}

static void test_device(void **state)
{
	(void)state;
	char *p = path_of("null");
	if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) != 0) {
		free(p);
		skip();
	}
	assert_int_equal(kiln_output_check(p), 0);
	assert_int_equal(write_all(p, "into the void"), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(temps_left(), 0);
	/* an abort on a device does not remove it */
	struct kiln_output out;
	assert_int_equal(kiln_output_open(&out, p), 0);
	kiln_output_abort(&out);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	free(p);
}

static void test_fifo(void **state)
{
	(void)state;
	char *p = path_of("fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(kiln_output_check(p), 0); /* no reader yet: the check must not wait */
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[64];
		int fd = open(p, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (n > 0 && write(pipefd[1], buf, (size_t)n) != n)
			_exit(2);
		_exit(n > 0 ? 0 : 1);
	}
	close(pipefd[1]);
	assert_int_equal(write_all(p, "through the fifo"), 0);
	char got[64] = { 0 };
	assert_true(read(pipefd[0], got, sizeof(got) - 1) > 0);
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_string_equal(got, "through the fifo");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	free(p);
}

static void test_refusals_and_check(void **state)
{
	(void)state;
	char *missing = path_of("no/such/dir/out"), *dir = path_of("adir");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(write_all(missing, "x"), -1);
	assert_int_equal(kiln_output_check(missing), -1);
	assert_int_equal(write_all(dir, "x"), -1);
	assert_int_equal(kiln_output_check(dir), -1);
	/* a good path passes the check and the check leaves nothing behind */
	char *fine = path_of("later");
	assert_int_equal(kiln_output_check(fine), 0);
	assert_int_not_equal(access(fine, F_OK), 0);
	assert_int_equal(temps_left(), 0);
	/* stdout always passes */
	assert_int_equal(kiln_output_check(NULL), 0);
	assert_int_equal(kiln_output_check("-"), 0);
	free(missing);
	free(dir);
	free(fine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular),
		cmocka_unit_test(test_symlink),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_refusals_and_check),
	};
	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
