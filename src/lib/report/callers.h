/* callers.h: `kiln report --callers FUNC` and `--callees FUNC` (perf report's caller and
 * callee views, pprof's peek): who calls one function, and what it calls, with each
 * edge's share of the function's total. A function is a (name, module) pair as in the
 * table. Recursion counts once per sample: a caller (or callee) that appears twice around
 * the function in one stack counts that sample once. */
#ifndef KILN_REPORT_CALLERS_H
#define KILN_REPORT_CALLERS_H
#include "report/report.h"
#include "util/strbuf.h"
#include <stdio.h>

struct kr_edge {
	kp_str_t name, module; /* the caller or callee; name 0 for "(self)" in the callee view,
				* for the process itself (stack root) in the caller view */
	double value, n;       /* value and sample count of the samples with this edge */
};

struct kr_peek {
	kp_str_t name, module; /* the function */
	double total, total_n; /* samples with the function on the stack */
	double self, self_n;   /* samples with the function as the leaf */
	double grand_total;
	struct kr_edge *edges; /* by decreasing value */
	uint32_t nedges;
};

/* Finds the function called name: the frames whose name equals it, else those whose name
 * contains it. Returns 0 with *out_name / *out_module set when exactly one function
 * matches; -1 when none does, -2 when several do, with err holding the message (one
 * line: for several, the candidates). */
int kr_find_function(const struct kp_profile *p, const char *name, kp_str_t *out_name,
		     kp_str_t *out_module, struct strbuf *err);

/* Builds the caller (callees = 0) or callee (callees = 1) view of the function. */
void kr_peek_build(const struct kp_profile *p, const struct kr_opts *o, kp_str_t name, kp_str_t module,
		   int callees, struct kr_peek *out);
void kr_peek_release(struct kr_peek *pk);

/* Text and JSON ({"format":"kiln-report-callers",...}, docs/kiln-report.md). */
int kr_print_peek(const struct kp_profile *p, const struct kr_opts *o, const struct kr_peek *pk, int callees,
		  FILE *out);
int kr_print_peek_json(const struct kp_profile *p, const struct kr_opts *o, const struct kr_peek *pk,
		       int callees, FILE *out);

/* ---- reshaping a profile before any view ---- */
enum kr_reshape_mode {
	KR_RESHAPE_NO_INLINE = 1, /* inlined frames merge into the function they were inlined in */
	KR_RESHAPE_MODULE = 2,    /* each frame becomes its module; adjacent equal ones merge */
	KR_RESHAPE_COMMAND = 3,   /* each sample's stack becomes its thread's command name */
};

/* Fills dst (kp_profile_init'ed by the call) with src's samples, threads, values and meta,
 * stacks rewritten as mode says. Release dst with kp_profile_release. */
void kr_reshape(const struct kp_profile *src, int mode, struct kp_profile *dst);

#endif
