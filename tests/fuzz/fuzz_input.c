/* fuzz_input: the input layer (util/input.c): plain, gzip and zstd (one or several
 * members/frames, truncated, corrupt), read as lines (with a small line limit when the
 * first byte says so) or as blocks of the size the first byte gives, after a peek. */
#include "fuzz.h"
#include "util/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	struct kiln_input *in = kiln_input_open(fuzz_file(data + 1, size - 1));
	if (!in)
		return 0;
	const void *head;
	kiln_input_peek(in, &head, (mode >> 4) + 1);
	if (mode & 1) {
		char *line;
		size_t len;
		if (mode & 2)
			kiln_input_set_max_line(in, 64);
		while (kiln_input_getline(in, &line, &len) > 0)
			if (line[len] != '\0')
				abort(); /* lines are NUL-terminated */
	} else {
		char buf[4096];
		size_t block = ((mode >> 1) & 7) * 500 + 1;
		while (kiln_input_read(in, buf, block) > 0)
			;
	}
	kiln_input_compressed_truncated(in);
	kiln_input_close(in);
	return 0;
}
