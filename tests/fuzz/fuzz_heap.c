/* fuzz_heap: heap profiles as the heap views read them from disk (a kiln.prof of kind
 * "heap"): kiln heap report (every value, text and JSON), chart and histogram. The input
 * is a mode byte (bit 0: fix the chunk CRCs, see fuzz.h), then the file. */
#include "fuzz.h"
#include "heap/heap_report.h"
#include "heap/heap_view.h"
#include "profile/profile_io.h"

static const char *const values[] = { NULL, "alloc_count", "alloc_bytes", "peak_bytes",
				      "leaked_count", "leaked_bytes", "temp_count" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	data = fuzz_prof_input(data, &size, &copy);
	struct kp_profile p;
	struct kp_load_info info;
	FILE *out = fuzz_sink();
	if (kp_profile_load(&p, fuzz_file(data, size), &info) == 0 && heap_is_profile(&p)) {
		struct heap_summary s;
		heap_summary_get(&p, NULL, &s);
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			for (int json = 0; json < 2; json++) {
				struct heap_report_opts o = { .value = values[i], .top = 3, .json = json };
				heap_report_print(&p, &o, out);
			}
		struct heap_chart_opts co = { 0 };
		heap_chart_svg(&p, &co, out);
		heap_histogram_print(&p, 0, out);
		heap_histogram_print(&p, 1, out);
	}
	kp_profile_release(&p);
	free(copy);
	return 0;
}
