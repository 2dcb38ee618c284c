/* annotate.c: kiln annotate FUNC: one function's source lines (and instructions) with the
 * share of its samples each holds. The work is in report/annotate.c. */
#include "cmd.h"
#include "profile/load.h"
#include "report/annotate.h"
#include "report/callers.h"
#include "util/filehash.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kiln annotate FUNC [-i PROFILE] [--asm] [--json] [--source-dir DIR]\n"
		"\n"
		"Shows the source lines of one function with the share of its samples each holds:\n"
		"self (samples stopped in the function at that line) and total (samples with the\n"
		"function on the stack at that line: for a call, the time in what it calls).\n"
		"Percentages are of the function's total. FUNC is a name, NAME@MODULE, or a unique\n"
		"part of a name (as for kiln report --callers). Inlined functions are functions of\n"
		"their own: annotate one by its name to see its lines; in its caller it counts on\n"
		"the line of the call. Needs a profile with line data (kiln record keeps it unless\n"
		"--no-lines; pprof from Go has it; folded stacks have none), or for code without\n"
		"DWARF (a stripped module's MODULE+0xSTART functions), --asm.\n"
		"\n"
		"options:\n"
		"  -i, --input FILE     profile to read (default kiln.prof; - for stdin)\n"
		"      --asm            also the instructions (objdump -d of the module file), each\n"
		"                       with its share, under the source line they belong to\n"
		"      --json           {\"function\",\"file\",\"lines\":[{\"line\",\"self\",\"total\"}...]}\n"
		"                       with counts (docs/kiln-annotate.md)\n"
		"      --source-dir DIR look for the source file under DIR (the recorded path, then\n"
		"                       shorter and shorter tails of it, down to its base name)\n"
		"      --no-source      do not show or check the source text\n"
		"  -h, --help           this help\n"
		"\n"
		"examples:\n"
		"  kiln record -- ./app && kiln annotate hot_loop\n"
		"  kiln annotate parse@libfoo.so --asm -i app.prof\n"
		"  kiln annotate hot_loop --source-dir ~/src/app --json\n");
}

enum { OPT_ASM = 256, OPT_JSON, OPT_SRCDIR, OPT_NOSRC };

struct src {
	char *path;   /* where it was found, NULL if not */
	char *data;
	char **lines; /* lines[k] is line k+1, NUL-terminated */
	uint32_t nlines;
};

static char *find_source(const char *rec, const char *dir)
{
	struct stat st;
	if (!dir)
		return stat(rec, &st) == 0 && S_ISREG(st.st_mode) ? xstrdup(rec) : NULL;
	struct strbuf sb = STRBUF_INIT;
	for (const char *t = rec; t; t = strchr(t + 1, '/')) {
		const char *tail = t;
		while (*tail == '/')
			tail++;
		if (!*tail)
			break;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s/%s", dir, tail);
		if (stat(sb.buf, &st) == 0 && S_ISREG(st.st_mode))
			return strbuf_detach(&sb, NULL);
	}
	strbuf_release(&sb);
	return NULL;
}

static int load_source(struct src *s, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	s->data = strbuf_detach(&sb, &n);
	uint32_t alloc = 0;
	char *p = s->data;
	while (*p) {
		ALLOC_GROW(s->lines, s->nlines + 1, alloc);
		s->lines[s->nlines++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	for (uint32_t i = 0; i < s->nlines; i++)
		for (char *q = s->lines[i]; *q; q++)
			if (*q == '\t' || *q == '\r')
				*q = ' ';
	return 0;
}

static double pct(double v, double t)
{
	return t > 0 ? v * 100.0 / t : 0;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return path[0] != '[' && s ? s + 1 : path;
}

static void json_str(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s, strlen(s));
	strbuf_addch(sb, '"');
}

static void print_cell(FILE *out, double v, double t)
{
	if (v > 0)
		fprintf(out, "%7.2f", pct(v, t));
	else
		fprintf(out, "%7s", "");
}

int cmd_annotate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "asm", no_argument, NULL, OPT_ASM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "source-dir", required_argument, NULL, OPT_SRCDIR },
		{ "no-source", no_argument, NULL, OPT_NOSRC },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *optstring = "+i:h";
	const char *input = "kiln.prof", *srcdir = NULL, *func = NULL;
	int want_asm = 0, json = 0, nosrc = 0, c, rc = 1;
	opterr = 0;
	optind = 1;
	while (optind < argc) {
		c = getopt_long(argc, argv, optstring, longopts, NULL);
		if (c == -1) {
			if (func)
				return usage_error("annotate", "give one function, not '%s' and '%s'", func, argv[optind]);
			func = argv[optind++];
			continue;
		}
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case OPT_ASM:
			want_asm = 1;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_SRCDIR:
			srcdir = optarg;
			break;
		case OPT_NOSRC:
			nosrc = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return bad_option("annotate", argv, optstring);
		}
	}
	if (!func)
		return usage_error("annotate", "give the function to annotate (kiln annotate FUNC)");

	struct kp_profile p;
	struct kp_auto_info info;
	struct strbuf err = STRBUF_INIT;
	struct ka_result r = { 0 };
	struct src src = { 0 };
	struct ka_asm *as = NULL;
	long nas = 0;
	struct { double self, total; int hit; uint32_t line; kp_str_t file; } *cells = NULL;
	uint64_t asm_lo = 0, asm_hi = 0;
	if (kp_load_auto(&p, input, &info) < 0)
		goto out;
	if (!p.nvalues) {
		kiln_error("'%s' holds no values to annotate", input);
		goto out;
	}
	kp_str_t name, module;
	if (kr_find_function(&p, func, &name, &module, &err) < 0) {
		kiln_error("%s", err.buf);
		goto out;
	}
	uint32_t v = p.default_value;
	ka_build(&p, v, name, module, &r);
	const char *fname = kp_str_get(&p, name), *mname = module ? kp_str_get(&p, module) : "";
	if (!r.total) {
		kiln_error("'%s' has no samples in '%s' (only in samples that were filtered out)", fname, input);
		goto out;
	}
	if (want_asm && mname[0] != '/') {
		kiln_error("cannot disassemble '%s': its module '%s' is not a file", fname, mname);
		goto out;
	}
	if (!r.nlines && !(want_asm && r.ninsns)) {
		if (r.ninsns) /* addresses without lines: a module without DWARF (stripped) */
			kiln_error("'%s' has no line data for '%s' (its module has no DWARF: build it with -g, or "
				   "install its -dbgsym package); --asm shows its instructions",
				   input, fname);
		else
			kiln_error("'%s' has no line data for '%s' (%s); record it with kiln record (without "
				   "--no-lines) from a binary built with -g",
				   input, fname,
				   info.is_profile ? "its frames carry no file:line" : "folded stacks carry none");
		goto out;
	}
	const char *file = r.file ? kp_str_get(&p, r.file) : "";
	/* the source text: found, and unchanged since recording when the profile says */
	if (!nosrc && !json && file[0]) { /* JSON has no text: nothing to find or check */
		src.path = find_source(file, srcdir);
		if (src.path) {
			uint64_t hash, size, h2;
			struct stat st;
			if (ka_recorded_source(&p, file, &hash, &size)) {
				if (kp_file_hash(src.path, &h2) < 0 || stat(src.path, &st) < 0) {
					kiln_error("cannot read '%s': %s", src.path, strerror(errno));
					goto out;
				}
				if (h2 != hash || (uint64_t)st.st_size != size) {
					kiln_error("source '%s' changed since recording (its content differs from the "
						   "hash in '%s'); give the recorded version with --source-dir DIR, or "
						   "--no-source to annotate without the text",
						   src.path, input);
					goto out;
				}
			} else if (!json) {
				kiln_note("'%s' recorded no hash of '%s': the text shown may differ from what ran",
					  input, file);
			}
			if (load_source(&src, src.path) < 0) {
				kiln_error("cannot read '%s': %s", src.path, strerror(errno));
				goto out;
			}
		} else if (!json) {
			kiln_note("source '%s' not found; --source-dir DIR says where to look (lines shown "
				  "without their text)",
				  file);
		}
	}
	if (want_asm) {
		if (!r.ninsns) {
			kiln_error("'%s' has no instruction addresses for '%s' (recorded with --no-lines, or not "
				   "by kiln record); run without --asm",
				   input, fname);
			goto out;
		}
		struct stat st;
		if (stat(mname, &st) < 0) {
			kiln_error("cannot disassemble '%s': module '%s' is missing on this machine (%s); --asm needs "
				   "the file that was profiled",
				   fname, mname, strerror(errno));
			goto out;
		}
		uint64_t mt, size;
		char want[160], have[160];
		if (ka_recorded_build_id(&p, mname, want, sizeof(want))) {
			/* the build-id says it all: a copy (other time) is the same, a rebuild is not */
			if (kp_file_build_id(mname, have, sizeof(have)) < 0 || strcmp(want, have)) {
				kiln_error("cannot disassemble '%s': module '%s' is not the one profiled (build-id %s, "
					   "recorded %s); --asm needs the file that was profiled",
					   fname, mname, kp_file_build_id(mname, have, sizeof(have)) < 0 ? "none" : have,
					   want);
				goto out;
			}
		} else if (ka_recorded_module(&p, mname, &mt, &size)) {
			uint64_t now = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
			if ((uint64_t)st.st_size != size || now != mt) {
				kiln_error("cannot disassemble '%s': module '%s' changed since recording (its size or "
					   "modification time differs from '%s'); --asm needs the file that was profiled",
					   fname, mname, input);
				goto out;
			}
		} else if (!json) {
			kiln_note("'%s' recorded no size or time of '%s': the instructions shown may differ "
				  "from what ran", input, mname);
		}
		/* the whole function when its symbol is in the file, else the sampled range */
		uint64_t lo = r.insns[0].addr, hi = r.insns[r.ninsns - 1].addr + 1, flo, fhi;
		uint64_t last = r.insns[r.ninsns - 1].addr;
		int bounded = 0;
		if (ka_func_bounds(mname, lo, &flo, &fhi) == 0 && flo <= lo && hi <= fhi) {
			lo = flo;
			hi = fhi;
			bounded = 1;
		} else {
			/* no symbol: from the start in a MODULE+0xSTART name (unwind tables), else the
			 * first sampled address, to past the last one; cut to the function below */
			size_t bl = strlen(base_of(mname));
			unsigned long long start;
			char tail;
			if (!strncmp(fname, base_of(mname), bl) && sscanf(fname + bl, "+0x%llx%c", &start, &tail) == 1 &&
			    start <= lo && lo - start < (1u << 20))
				lo = start;
			hi = last + 256;
		}
		nas = ka_disasm(mname, lo, hi, &as, &err);
		if (nas < 0) {
			kiln_error("cannot disassemble '%s': %s", fname, err.buf);
			goto out;
		}
		ka_asm_lines(mname, fname, as, nas); /* kiln's lines for every address, not objdump's */
		if (!bounded) {
			/* keep what the symbolizer names the function (the unwind tables' bounds), or
			 * when it names none of it, up to the last sampled instruction */
			long first = -1, keep = 0;
			for (long j = 0; j < nas; j++)
				if (as[j].in_func || as[j].addr == last) {
					if (first < 0)
						first = j;
					keep = j + 1;
				}
			if (first < 0) { /* (objdump's boundaries missed the last sampled address) */
				first = 0;
				keep = 1;
				while (keep < nas && as[keep].addr <= last)
					keep++;
			}
			for (long j = 0; j < nas; j++)
				if (j < first || j >= keep) {
					free(as[j].text);
					free(as[j].file);
				}
			if (first > 0)
				memmove(as, as + first, (size_t)(keep - first) * sizeof(*as));
			nas = keep - first;
			lo = as[0].addr;
			hi = last + 1;
			for (long j = 0; j < nas; j++)
				if (as[j].addr + 1 > hi)
					hi = as[j].addr + 1;
		}
		asm_lo = lo;
		asm_hi = hi;
		/* each sampled address to the instruction holding it: a return address minus 1
		 * (a caller's frame) is inside its call instruction, not at its start */
		cells = xcalloc((size_t)nas, sizeof(*cells));
		long j = 0;
		for (uint32_t k = 0; k < r.ninsns; k++) {
			uint64_t a = r.insns[k].addr;
			while (j + 1 < nas && as[j + 1].addr <= a)
				j++;
			if (a < as[j].addr || (j + 1 == nas && a >= as[j].addr + 16))
				continue; /* outside what is shown */
			if (!cells[j].hit) {
				cells[j].hit = 1;
				cells[j].line = r.insns[k].line;
				cells[j].file = r.insns[k].file;
			}
			cells[j].self += r.insns[k].self;
			cells[j].total += r.insns[k].total;
		}
	}

	const char *vname = kp_str_get(&p, p.value_types[v].name), *vunit = kp_str_get(&p, p.value_types[v].unit);
	if (json) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, "{\"format\":\"kiln-annotate\",\"version\":1,\"function\":");
		json_str(&sb, fname);
		strbuf_addstr(&sb, ",\"module\":");
		json_str(&sb, mname);
		strbuf_addstr(&sb, ",\"file\":");
		json_str(&sb, file);
		strbuf_addstr(&sb, ",\"value\":");
		json_str(&sb, vname);
		strbuf_addstr(&sb, ",\"unit\":");
		json_str(&sb, vunit);
		strbuf_addf(&sb, ",\"self\":%.17g,\"total\":%.17g,\"grand_total\":%.17g,\"no_line_total\":%.17g,"
			    "\"lines\":[",
			    r.self, r.total, r.grand_total, r.noline_total);
		for (uint32_t i = 0; i < r.nlines; i++) {
			strbuf_addf(&sb, "%s{\"line\":%u,\"self\":%.17g,\"total\":%.17g", i ? "," : "", r.lines[i].line,
				    r.lines[i].self, r.lines[i].total);
			if (r.lines[i].file != r.file) {
				strbuf_addstr(&sb, ",\"file\":");
				json_str(&sb, kp_str_get(&p, r.lines[i].file));
			}
			strbuf_addch(&sb, '}');
		}
		strbuf_addch(&sb, ']');
		if (want_asm) {
			strbuf_addstr(&sb, ",\"instructions\":[");
			for (long i = 0; i < nas; i++) {
				strbuf_addf(&sb, "%s{\"addr\":\"0x%llx\",\"line\":%u,\"self\":%.17g,\"total\":%.17g,\"asm\":",
					    i ? "," : "", (unsigned long long)as[i].addr,
					    cells[i].hit ? cells[i].line : as[i].line, cells[i].self, cells[i].total);
				json_str(&sb, as[i].text);
				strbuf_addch(&sb, '}');
			}
			strbuf_addch(&sb, ']');
		}
		strbuf_addstr(&sb, "}\n");
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
		rc = ferror(stdout) ? 1 : 0;
		goto out;
	}

	const char *mb = base_of(mname);
	printf(mb[0] == '[' ? "%s  %s" : "%s  [%s]", fname, mb); /* "[python]" is bracketed once */
	printf(file[0] ? "  %s\n" : "\n", file);
	printf("%.2f%% of all %s in its own code (%.17g), %.2f%% with what it calls (%.17g); "
	       "percentages below are of its total\n\n",
	       pct(r.self, r.grand_total), vname, r.self, pct(r.total, r.grand_total), r.total);
	if (r.nlines)
		printf("  self%%  total%%    line  %s\n", src.nlines ? "source" : "");
	else
		printf("(no line data: the module has no DWARF; instructions only)\n");
	/* the main file: every line from the first to the last with samples, with text when
	 * found; lines of other files (code from headers, macros) after it */
	uint32_t first = 0, last = 0, i = 0;
	for (; i < r.nlines && r.lines[i].file == r.file; i++) {
		if (!first)
			first = r.lines[i].line;
		last = r.lines[i].line;
	}
	uint32_t nmain = i;
	if (src.nlines) {
		uint32_t from = first > 2 ? first - 2 : 1, to = last + 1 < src.nlines ? last + 1 : src.nlines;
		uint32_t k = 0;
		for (uint32_t ln = from; ln <= to; ln++) {
			while (k < nmain && r.lines[k].line < ln)
				k++;
			double s = k < nmain && r.lines[k].line == ln ? r.lines[k].self : 0;
			double t = k < nmain && r.lines[k].line == ln ? r.lines[k].total : 0;
			print_cell(stdout, s, r.total);
			print_cell(stdout, t, r.total);
			printf("  %6u  %s\n", ln, ln <= src.nlines ? src.lines[ln - 1] : "");
		}
		if (last > src.nlines)
			kiln_warn("'%s' has %u lines, the profile has samples at line %u: it is not the file that "
				  "was compiled", src.path, src.nlines, last);
	} else {
		for (uint32_t k = 0; k < nmain; k++) {
			print_cell(stdout, r.lines[k].self, r.total);
			print_cell(stdout, r.lines[k].total, r.total);
			printf("  %6u\n", r.lines[k].line);
		}
	}
	for (uint32_t k = nmain; k < r.nlines; k++) {
		if (k == nmain || r.lines[k].file != r.lines[k - 1].file)
			printf("\n  in %s:\n", r.lines[k].file ? kp_str_get(&p, r.lines[k].file) : "(no file)");
		print_cell(stdout, r.lines[k].self, r.total);
		print_cell(stdout, r.lines[k].total, r.total);
		printf("  %6u\n", r.lines[k].line);
	}
	if (r.noline_total > 0 && r.nlines)
		printf("\n%.2f%% of its total has no line data\n", pct(r.noline_total, r.total));
	if (want_asm) {
		printf("\ninstructions (objdump -d of %s, 0x%llx-0x%llx):\n", mname, (unsigned long long)asm_lo,
		       (unsigned long long)asm_hi);
		uint32_t cur = 0;
		const char *curfile = NULL;
		for (long j = 0; j < nas; j++) {
			int hit = cells[j].hit;
			/* the line from the profile where it sampled the address, else the symbolizer's */
			uint32_t ln = hit ? cells[j].line : as[j].line;
			const char *lf = hit ? (cells[j].file ? kp_str_get(&p, cells[j].file) : NULL) : as[j].file;
			if (!ln && !lf) {
				/* no line data here (a module without DWARF): no heading */
			} else if (ln != cur || (lf && curfile && strcmp(lf, curfile)) || j == 0) {
				cur = ln;
				curfile = lf;
				const char *text = lf && src.nlines && !strcmp(lf, file) && ln && ln <= src.nlines
							   ? src.lines[ln - 1]
							   : "";
				if (lf && strcmp(lf, file))
					printf("%16s%s:%u  %s\n", "", base_of(lf), ln, text);
				else
					printf("%16s%u  %s\n", "", ln, text);
			}
			print_cell(stdout, cells[j].self, r.total);
			print_cell(stdout, cells[j].total, r.total);
			printf("    %8llx:  %s\n", (unsigned long long)as[j].addr, as[j].text);
		}
		if (r.noaddr_total > 0)
			printf("\n%.2f%% of its total has no instruction address\n", pct(r.noaddr_total, r.total));
	}
	fflush(stdout);
	rc = ferror(stdout) ? 1 : 0;
out:
	kp_profile_release(&p);
	ka_asm_free(as, nas > 0 ? nas : 0);
	free(cells);
	ka_release(&r);
	free(src.path);
	free(src.data);
	free(src.lines);
	strbuf_release(&err);
	return rc;
}
