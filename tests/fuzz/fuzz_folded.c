/* fuzz_folded: the folded-stacks reader (folded.c), then every view of what it read. */
#include "fuzz.h"
#include "util/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_profile p;
	struct kp_folded_stats st;
	struct kiln_input *in = kiln_input_open(fuzz_file(data, size));
	if (!in)
		return 0;
	kp_profile_init(&p);
	if (kp_folded_read(&p, in, &st) == 0)
		fuzz_views(&p);
	kp_profile_release(&p);
	kiln_input_close(in);
	return 0;
}
