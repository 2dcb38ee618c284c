/* fuzz_perfscript: 'perf script' text (perfscript.c, as kiln collapse reads it), with each
 * root option and --addrs chosen by the first byte, then the folded output. */
#include "fuzz.h"
#include "collect/perfscript.h"
#include "util/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_profile p;
	struct kp_perfscript_opts o = { 0 };
	struct kp_perfscript_stats st;
	if (size < 1)
		return 0;
	o.root = (enum kp_ps_root)(data[0] % 3);
	o.addrs = (data[0] >> 2) & 1;
	struct kiln_input *in = kiln_input_open(fuzz_file(data + 1, size - 1));
	if (!in)
		return 0;
	kp_profile_init(&p);
	if (kp_perfscript_read(&p, in, &o, &st) == 0) {
		int v = kp_find_value_type(&p, "period");
		struct kp_folded_opts fo = { v < 0 ? 0 : (uint32_t)v, (enum kp_folded_root)(o.root + 1), 0, NULL };
		if (p.nvalues)
			kp_folded_write(&p, &fo, fuzz_sink());
	}
	kp_profile_release(&p);
	kiln_input_close(in);
	return 0;
}
