/* fuzz.h: what the libFuzzer harnesses share (docs/internals-fuzzing.md).
 *
 * fuzz_file() puts the input in a memory file and returns a path to it, so that harnesses
 * go through the same kiln_input_open() as the commands; fuzz_sink() is a FILE for the
 * output views write (discarded); fuzz_views() runs every view of a profile on it. */
#ifndef KILN_TESTS_FUZZ_H
#define KILN_TESTS_FUZZ_H
#include "profile/folded.h"
#include "profile/profile.h"
#include "render/flame.h"
#include "report/report.h"
#include "util/error.h"
#include "util/strbuf.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static __attribute__((unused)) const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("kiln-fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		kiln_set_quiet(2);
	}
	if (ftruncate(fd, 0) != 0)
		abort();
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	return path;
}

static __attribute__((unused)) FILE *fuzz_sink(void)
{
	static FILE *f;
	if (!f) {
		f = fopen("/dev/null", "w");
		if (!f)
			abort();
	}
	return f;
}

/* For the kiln.prof harnesses: the input is a mode byte, then the file. With bit 0 of the
 * mode set, every chunk's CRC is made right (into a copy, freed by the caller), so that
 * mutations reach the chunk decoder rather than stop at the checksum. Returns the file's
 * bytes and sets *size. */
static __attribute__((unused)) const uint8_t *fuzz_prof_input(const uint8_t *data, size_t *size,
							     uint8_t **copy)
{
	*copy = NULL;
	if (*size < 1)
		return data;
	int fix = data[0] & 1;
	data++;
	(*size)--;
	if (!fix || *size < 16)
		return data;
	uint8_t *c = malloc(*size);
	if (!c)
		abort();
	memcpy(c, data, *size);
	for (size_t pos = 16; pos + 20 <= *size;) {
		uint32_t slen = (uint32_t)c[pos + 8] | (uint32_t)c[pos + 9] << 8 |
				(uint32_t)c[pos + 10] << 16 | (uint32_t)c[pos + 11] << 24;
		if (slen > *size - pos - 20)
			break;
		uint32_t crc = (uint32_t)crc32(0, c + pos + 20, (uInt)slen);
		for (int i = 0; i < 4; i++)
			c[pos + 16 + i] = (uint8_t)(crc >> (8 * i));
		pos += 20 + slen;
	}
	*copy = c;
	return c;
}

/* The report table, tree and JSON, folded stacks and a flame graph of every value. */
static __attribute__((unused)) void fuzz_views(const struct kp_profile *p)
{
	FILE *out = fuzz_sink();
	for (uint32_t v = 0; v < p->nvalues && v < 4; v++) {
		struct kr_opts o = { 0 };
		o.value = v;
		o.count_value = kp_find_value_type(p, "samples");
		o.percent_limit = 0;
		o.source = "fuzz";
		kr_print_table(p, &o, out);
		kr_print_tree(p, &o, out);
		kr_print_json(p, &o, 0, out);
		kr_print_json(p, &o, 1, out);

		struct kp_folded_opts fo = { v, KP_ROOT_COMM, 1, NULL };
		kp_folded_write(p, &fo, out);

		struct kf_opts fl;
		kf_opts_init(&fl);
		struct kf_tree *t = kf_tree_new(&fl, 1);
		kf_tree_add(t, p, v, 0, 1);
		if (kf_tree_total(t, 0) > 0) {
			struct strbuf svg = STRBUF_INIT;
			kf_render_svg(t, &fl, &svg, NULL);
			strbuf_release(&svg);
		}
		kf_tree_free(t);
	}
}

#endif
