/* fuzz_pylinetable.c: CPython line tables (python/py_code.c: kpy_line) read from a
 * target's memory, so untrusted: input = 1 byte version selector, 1 byte first line,
 * 2 bytes code unit index, then the table. Any input must decode without reading past
 * the table. */
#include "python/python.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned versions[] = { 0x0309, 0x030a, 0x030b, 0x030c, 0x030d };
	if (size < 4)
		return 0;
	unsigned version = versions[data[0] % 5];
	int first = data[1];
	int64_t lasti = (int64_t)(data[2] | data[3] << 8);
	(void)kpy_line(version, data + 4, size - 4, first, lasti);
	for (int64_t i = 0; i < 64; i++)
		(void)kpy_line(version, data + 4, size - 4, first, i);
	return 0;
}
