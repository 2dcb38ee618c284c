/* unit.h: what the cmocka unit tests share: a scratch directory per test group.
 *
 *   return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
 *
 * unit_setup makes tmpdir (a fresh directory under /tmp) and silences kiln's warnings;
 * unit_teardown removes tmpdir and everything in it. */
#ifndef KILN_TESTS_UNIT_H
#define KILN_TESTS_UNIT_H
#include <stdio.h>
#include <stdlib.h>
#include "util/error.h"

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

#endif
