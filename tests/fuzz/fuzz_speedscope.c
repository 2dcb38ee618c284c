/* fuzz_speedscope.c: libFuzzer harness for the speedscope reader (src/lib/formats/speedscope.c).
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_speedscope.c <library sources> */
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
	if (kf_speedscope_read(&p, (const char *)data, size, "fuzz") == 0 && p.nsamples) {
		/* what loaded must be whole enough to be written again */
		struct kf_write_opts o = { "fuzz", -1, 0, 0 };
		kf_speedscope_write(&p, &o, devnull);
	}
	kp_profile_release(&p);
	return 0;
}
