/* unit.h: what the cmocka unit tests share: a scratch directory per test group.
 *
 *   return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
 *
 * unit_setup makes tmpdir (a fresh directory under /tmp) and silences kiln's warnings;
 * unit_teardown removes tmpdir and everything in it; unit_folded loads folded text into a
 * profile through a file in tmpdir. Include after cmocka.h. */
#ifndef KILN_TESTS_UNIT_H
#define KILN_TESTS_UNIT_H
#include <stdio.h>
#include <stdlib.h>
#include "util/error.h"
#include "util/input.h"
#include "profile/folded.h"

static char tmpdir[256];

static __attribute__((unused)) int unit_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kiln-unit-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	kiln_set_quiet(1);
	return 0;
}

static __attribute__((unused)) int unit_teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* Initializes p and reads text (folded stacks) into it, as a file would be read. */
static __attribute__((unused)) void unit_folded(struct kp_profile *p, const char *text)
{
	char path[300];
	struct kp_folded_stats st;
	snprintf(path, sizeof(path), "%s/in.folded", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	struct kiln_input *in = kiln_input_open(path);
	assert_non_null(in);
	kp_profile_init(p);
	assert_int_equal(kp_folded_read(p, in, &st), 0);
	kiln_input_close(in);
}

#endif
