/* fuzz_labels: the store's text parsers (src/lib/store/store.c): kst_labels_read over the
 * input as "k=v" lines (a window's labels meta, a label set from the store), every line
 * also as one --where/--label, and the input as a --from/--to time. What parses must
 * format and read back to the same set, and a time must not wrap. */
#include "fuzz.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0; /* the parsers take C strings: a NUL ends the text early */
	struct kst_labels l = KST_LABELS_INIT, back = KST_LABELS_INIT;
	struct strbuf err = STRBUF_INIT, sb = STRBUF_INIT;
	if (kst_labels_read(text, &l, &err) == 0) {
		kst_labels_format(&l, &sb);
		if (kst_labels_read(sb.buf, &back, &err) || back.n != l.n || !kst_labels_match(&back, &l) ||
		    !kst_labels_match(&l, &back))
			abort();
		for (uint32_t i = 1; i < l.n; i++)
			if (strcmp(l.v[i - 1].key, l.v[i].key) >= 0)
				abort(); /* sorted, unique */
	} else if (!err.len || strchr(err.buf, '\n')) {
		abort(); /* an error is one line */
	}
	kst_labels_release(&l);
	strbuf_reset(&err);
	if (kst_label_parse(text, &l, &err) == 0 && (l.n != 1 || !kst_labels_get(&l, l.v[0].key)))
		abort();
	uint64_t now = 1765000000ull * 1000000000ull, t = 0;
	strbuf_reset(&err);
	if (kst_parse_time(text, now, &t, &err) == 0) {
		if (!strncmp(text, "now", 3) || text[0] == '-')
			if (t > now)
				abort(); /* relative times are in the past */
	} else if (!strstr(err.buf, "is not understood")) {
		abort();
	}
	char b[40];
	kst_format_time(t, b, sizeof(b));
	kst_labels_release(&l);
	kst_labels_release(&back);
	strbuf_release(&err);
	strbuf_release(&sb);
	free(text);
	return 0;
}
