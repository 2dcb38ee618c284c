/* fuzz_perfmap: a JIT's perf map (/tmp/perf-PID.map: "START SIZE NAME" lines, sym_jit.c),
 * as the symbolizer reads it, then lookups at the start, the last byte and the end of
 * every entry. */
#include "fuzz.h"
#include "symbols/sym_internal.h"
#include "symbols/symbols.h"
#include <stdio.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64], path[96];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/kiln-fuzz-perfmap.%d", (int)getpid());
		mkdir(dir, 0700);
		snprintf(path, sizeof(path), "%s/perf-4242.map", dir);
		kiln_set_quiet(2);
	}
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	struct ks_session *s = ks_session_new(NULL);
	ks_session_set_jit_dir(s, dir);
	struct ks_proc *pr = ks_proc_get(s, 4242, 1);
	ks_jit_lookup(s, pr, 0);
	if (pr->jit)
		for (size_t i = 0; i < pr->jit->nr && i < 64; i++) {
			const struct ks_jit_sym e = pr->jit->syms[i];
			ks_jit_lookup(s, pr, e.start);
			ks_jit_lookup(s, pr, e.end - 1);
			ks_jit_lookup(s, pr, e.end);
		}
	ks_session_free(s);
	return 0;
}
