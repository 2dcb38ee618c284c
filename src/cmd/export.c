/* export.c: kiln export: write a profile in another tool's format. */
#include "cmd.h"
#include "formats/formats.h"
#include "profile/folded.h"
#include "profile/load.h"
#include "util/output.h"
#include "util/strbuf.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln export -f FORMAT [-o FILE] [options] [PROFILE]\n"
		"\n"
		"Writes a profile (default kiln.prof; any profile kiln reads: a kiln profile, folded\n"
		"stacks, pprof, .cpuprofile, speedscope, perf.data) in another tool's format, keeping\n"
		"every value and thread the format can hold (docs/formats.md says what each keeps).\n"
		"\n"
		"formats:\n"
		"  pprof       gzipped profile.proto: go tool pprof, Pyroscope, Parca, ...\n"
		"  speedscope  speedscope's JSON: one profile per thread and value\n"
		"  firefox     the Firefox Profiler's (gecko) format: threads over time\n"
		"  chrome      .cpuprofile of Chrome DevTools and node --cpu-prof\n"
		"  folded      folded stacks for FlameGraph tools (as kiln report --folded)\n"
		"  json        kiln's own JSON: the whole profile model\n"
		"\n"
		"options:\n"
		"  -f, --format FORMAT   the format to write (required)\n"
		"  -o, --output FILE     write to FILE (written whole or not at all); default\n"
		"                        standard output\n"
		"  -i, --input FILE      the profile to read (or give it as PROFILE)\n"
		"      --value NAME      the value to write where the format holds one (chrome,\n"
		"                        firefox: a count; folded: any; default samples, or the\n"
		"                        profile's default for folded)\n"
		"      --no-gzip         pprof: write the protobuf uncompressed\n"
		"  -h, --help            show this help\n"
		"\n"
		"examples:\n"
		"  kiln export -f pprof -o cpu.pb.gz          then: go tool pprof -top cpu.pb.gz\n"
		"  kiln export -f speedscope -o run.speedscope.json run.prof\n"
		"  kiln export -f firefox -o ff.json          open in profiler.firefox.com\n"
		"  kiln export -f chrome -o app.cpuprofile    DevTools: Performance > Load profile\n"
		"  kiln export -f pprof -o kiln.pb.gz go-cpu.pprof   (round trip a Go profile)\n");
}

enum { OPT_VALUE = 256, OPT_NO_GZIP };

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "value", required_argument, NULL, OPT_VALUE },
		{ "no-gzip", no_argument, NULL, OPT_NO_GZIP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "f:o:i:h";
	const char *format = NULL, *output = NULL, *input = NULL, *value = NULL;
	int gzip = 1, c, rc = 1;
	enum kf_format fmt;
	struct kp_profile p;
	struct kp_auto_info info;
	struct kiln_output out;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'i':
			input = optarg;
			break;
		case OPT_VALUE:
			value = optarg;
			break;
		case OPT_NO_GZIP:
			gzip = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return bad_option("export", argv, optstring);
		}
	}
	if (optind < argc) {
		if (input || optind + 1 < argc)
			return usage_error("export", "give one profile (as PROFILE or -i FILE)");
		input = argv[optind];
	}
	if (!format)
		return usage_error("export", "say which format to write with -f (pprof, speedscope, firefox, chrome, folded, json)");
	fmt = kf_format_from_name(format);
	if (fmt == KF_NONE || fmt == KF_PERFDATA)
		return usage_error("export", "'%s' is not a format kiln writes; choose pprof, speedscope, firefox, chrome, folded or json",
				   format);
	if (!input)
		input = "kiln.prof";
	if ((!output || !strcmp(output, "-")) && fmt == KF_PPROF && isatty(1))
		return usage_error("export", "pprof is binary: give -o FILE rather than writing to a terminal");

	if (kp_load_auto(&p, input, &info) < 0) {
		kp_profile_release(&p);
		return 1;
	}
	struct kf_write_opts wo = { input, -1, 0, gzip };
	if (value) {
		int v = kp_find_value_type(&p, value);
		if (v < 0) {
			struct strbuf sb = STRBUF_INIT;
			for (uint32_t i = 0; i < p.nvalues; i++)
				strbuf_addf(&sb, "%s%s", i ? ", " : "", kp_str_get(&p, p.value_types[i].name));
			kiln_error("'%s' has no value '%s'; it has: %s", input, value, sb.buf);
			strbuf_release(&sb);
			goto out;
		}
		wo.value = v;
		wo.value_given = 1;
	}
	if (!p.nvalues || !p.nsamples) {
		kiln_error("'%s' holds no samples to export", input);
		goto out;
	}
	if (kiln_output_open(&out, output) < 0)
		goto out;
	errno = 0;
	int wr;
	switch (fmt) {
	case KF_PPROF:
		wr = kf_pprof_write(&p, &wo, out.fp);
		break;
	case KF_SPEEDSCOPE:
		wr = kf_speedscope_write(&p, &wo, out.fp);
		break;
	case KF_FIREFOX:
		wr = kf_firefox_write(&p, &wo, out.fp);
		break;
	case KF_CHROME:
		wr = kf_chrome_write(&p, &wo, out.fp);
		break;
	case KF_JSON:
		wr = kf_json_write(&p, &wo, out.fp);
		break;
	default: {
		struct kp_folded_opts fo = { wo.value_given ? (uint32_t)wo.value : p.default_value, KP_ROOT_COMM, 1, NULL };
		/* one value per line: say which values the file leaves out */
		struct strbuf left = STRBUF_INIT;
		for (uint32_t i = 0; i < p.nvalues; i++)
			if (i != fo.value)
				strbuf_addf(&left, "%s%s", left.len ? ", " : "", kp_str_get(&p, p.value_types[i].name));
		if (left.len)
			kiln_note("folded stacks keep one value, '%s'; not written: %s (--value picks another)",
				  kp_str_get(&p, p.value_types[fo.value].name), left.buf);
		strbuf_release(&left);
		wr = kp_folded_write(&p, &fo, out.fp);
		break;
	}
	}
	if (wr < 0) {
		int e = errno, to_stdout = out.fp == stdout;
		kiln_output_abort(&out);
		/* a writer that refused the profile (-2) has said why; a write error has not
		 * (once: for stdout through kiln_write_failed, so that the final check of stdout
		 * does not say it again) */
		if (wr == -1) {
			errno = e ? e : EIO;
			if (to_stdout)
				kiln_write_failed(stdout, "to standard output");
			else
				kiln_error("cannot write '%s': %s", output, strerror(errno));
		}
		goto out;
	}
	if (kiln_output_commit(&out) < 0)
		goto out;
	rc = 0;
out:
	kp_profile_release(&p);
	return rc;
}
