/* fuzz_pprof.c: libFuzzer harness for the pprof reader (src/lib/formats/pprof_read.c).
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_pprof.c <library sources> */
#include "formats/formats.h"
#include "util/error.h"
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_profile p;
	static FILE *devnull;
	if (!devnull) {
		kiln_set_quiet(1);
		devnull = fopen("/dev/null", "w");
	}
	kp_profile_init(&p);
	if (kf_pprof_read(&p, data, size, "fuzz") == 0 && p.nsamples) {
		/* what loaded must be whole enough to be written again */
		struct kf_write_opts o = { "fuzz", -1, 0, 0 };
		kf_pprof_write(&p, &o, devnull);
	}
	kp_profile_release(&p);
	return 0;
}
