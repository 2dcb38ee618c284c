/* fuzz_baseline: kiln bench's baseline reader (benchfile.c: kiln's or hyperfine's JSON,
 * through jansson), then a lookup of every entry by name. */
#include "fuzz.h"
#include "stats/benchfile.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kb_baseline b;
	memset(&b, 0, sizeof(b));
	if (kb_baseline_load(fuzz_file(data, size), &b) == 0) {
		for (size_t i = 0; i < b.n; i++)
			if (!kb_baseline_find(&b, b.e[i].name))
				abort();
	}
	kb_baseline_release(&b);
	return 0;
}
