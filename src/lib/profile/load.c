/* load.c: load a kiln profile, another tool's profile or folded text, recognised by content. */
#include "profile/load.h"
#include "formats/formats.h"
#include "util/error.h"
#include "util/input.h"
#include <string.h>

int kp_load_auto(struct kp_profile *p, const char *path, struct kp_auto_info *info)
{
	struct kiln_input *in;
	const void *head;
	size_t n;
	int rc;
	memset(info, 0, sizeof(*info));
	in = kiln_input_open(path);
	if (!in) {
		kp_profile_init(p);
		return -1;
	}
	const char *name = kiln_input_name(in);
	n = kiln_input_peek(in, &head, 8);
	if (kp_is_profile(head, n)) {
		info->is_profile = 1;
		rc = kp_profile_read(p, in, &info->load);
		if (rc == 0) {
			kp_load_info_warn(&info->load, name, p);
			if (!p->nsamples && (info->load.corrupt || info->load.truncated))
				rc = kiln_error("'%s' holds no intact samples", name);
		}
		kiln_input_close(in);
		return rc;
	}
	n = kiln_input_peek(in, &head, 4096);
	enum kf_format fmt = kf_sniff(head, n);
	if (fmt != KF_NONE) {
		info->is_profile = 1;
		info->format = (int)fmt;
		rc = kf_load(p, in, fmt);
		kiln_input_close(in);
		return rc;
	}
	kp_profile_init(p);
	rc = kp_folded_read(p, in, &info->folded);
	if (rc == 0 && kiln_input_compressed_truncated(in))
		kiln_warn("'%s' ends inside its compressed data (truncated file); using what was read", name);
	if (rc == 0) {
		const struct kp_folded_stats *st = &info->folded;
		if (!st->samples) {
			if (st->bad_lines)
				rc = kiln_error("'%s' is neither a kiln profile nor folded stacks (no line of the form 'a;b;c COUNT'; first bad line %zu)",
						name, st->first_bad);
			else
				rc = kiln_error("'%s' is empty: no stacks to show", name);
		} else if (st->bad_lines) {
			kiln_warn("'%s': skipped %zu malformed line%s (first at line %zu)%s", name, st->bad_lines,
				  st->bad_lines == 1 ? "" : "s", st->first_bad,
				  st->negative ? "; negative counts are not allowed" : "");
		}
	}
	kiln_input_close(in);
	return rc;
}
