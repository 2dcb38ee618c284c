/* fuzz_profile: the kiln.prof reader (profile_io.c), then every view of what it read.
 * The input is a mode byte (bit 0: fix the chunk CRCs, see fuzz.h), then the file. */
#include "fuzz.h"
#include "profile/profile_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	data = fuzz_prof_input(data, &size, &copy);
	struct kp_profile p;
	struct kp_load_info info;
	if (kp_profile_load(&p, fuzz_file(data, size), &info) == 0)
		fuzz_views(&p);
	kp_profile_release(&p);
	free(copy);
	return 0;
}
