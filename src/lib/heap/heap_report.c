/* heap_report.c: placeholder until the heap profiler lands; report uses its generic table. */
#include "heap/heap_report.h"

int heap_report_print(const struct kp_profile *p, const struct heap_report_opts *o, FILE *out)
{
	(void)p;
	(void)o;
	(void)out;
	return KILN_HEAP_REPORT_UNHANDLED;
}
