/* fuzz_clickhouse.c: libFuzzer harness for the readers of ClickHouse's answers
 * (src/lib/store/ch_answers.c): kst_ch_build_profile over the three answers of a
 * query, and kst_ch_rows with the row shapes of range, series and label values.
 * Input: the frames, stacks and samples answers separated by a 0x1e byte (a missing
 * part is empty); the whole input also goes to kst_ch_rows as each other shape. */
#include "fuzz.h"
#include "store/clickhouse.h"

static int count_row(void *arg, const struct kst_ch_field *f, struct strbuf *err)
{
	(void)f;
	(void)err;
	(*(size_t *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[3] = { "", "", "" };
	size_t len[3] = { 0, 0, 0 };
	const char *p = (const char *)data, *end = p + size;
	for (int k = 0; k < 3 && p <= end; k++) {
		const char *sep = memchr(p, 0x1e, (size_t)(end - p));
		part[k] = p;
		len[k] = sep ? (size_t)(sep - p) : (size_t)(end - p);
		p += len[k] + 1;
		if (!sep)
			break;
	}
	struct kp_profile prof;
	struct strbuf err = STRBUF_INIT;
	kp_profile_init(&prof);
	if (!kst_ch_build_profile(part[0], len[0], part[1], len[1], part[2], len[2], 0, &prof, &err) &&
	    prof.nsamples) {
		/* what loaded is a whole profile: the views run on it */
		struct kp_folded_opts o;
		memset(&o, 0, sizeof(o));
		o.root = KP_ROOT_PID;
		kp_folded_write(&prof, &o, fuzz_sink());
	}
	kp_profile_release(&prof);
	static const char *const shapes[] = { "uu", "suu", "s", "u", "uisa", "usssuuu", "ua" };
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		size_t n = 0;
		strbuf_reset(&err);
		kst_ch_rows((const char *)data, size, shapes[k], count_row, &n, &err);
	}
	strbuf_release(&err);
	return 0;
}
